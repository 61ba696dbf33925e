//! `BGPPeer` and `BFDProfile` validation (§1.4, §1.5).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use lb_ipam::{Family, Labels, Pools};

use super::duration::parse_go_duration;
use super::selector::{any_matches, selectors};
use super::{BfdProfile, BgpAdvertisement, Options, Peer, PeerAsn, name_of};
use crate::crd::{self, DynamicAsn};
use crate::error::{Error, ObjectRef, Problem, SECRET_MISSING};

/// The longest TCP MD5 key lb-bgp accepts.
const MAX_PASSWORD: usize = 80;

pub(super) fn bfd_profiles(
    list: &[&crd::BFDProfile],
    options: &Options,
) -> Result<BTreeMap<String, BfdProfile>, Error> {
    let mut out = BTreeMap::new();
    for p in list {
        let name = name_of(*p);
        let object = ObjectRef::new("BFDProfile", name.clone());
        if !options.bfd {
            return Err(Error::invalid(
                &object,
                "metadata.name",
                Problem::Unsupported("BFD profiles (no BFD implementation in this build)"),
            ));
        }
        let s = &p.spec;
        let ranged = |field: &str, v: Option<u32>, default: u32, min: u32, max: u32| {
            let v = v.unwrap_or(default);
            if (min..=max).contains(&v) {
                Ok(v)
            } else {
                Err(Error::invalid(
                    &object,
                    field,
                    Problem::OutOfRange {
                        value: v.into(),
                        min: min.into(),
                        max: max.into(),
                    },
                ))
            }
        };
        let profile = BfdProfile {
            receive_interval: ranged("spec.receiveInterval", s.receive_interval, 300, 10, 60000)?,
            transmit_interval: ranged(
                "spec.transmitInterval",
                s.transmit_interval,
                300,
                10,
                60000,
            )?,
            detect_multiplier: ranged("spec.detectMultiplier", s.detect_multiplier, 3, 2, 255)?,
            echo_interval: ranged("spec.echoInterval", s.echo_interval, 50, 10, 60000)?,
            echo_mode: s.echo_mode.unwrap_or(false),
            passive_mode: s.passive_mode.unwrap_or(false),
            minimum_ttl: ranged("spec.minimumTtl", s.minimum_ttl, 254, 1, 254)?,
        };
        out.insert(name, profile);
    }
    Ok(out)
}

pub(super) fn peers(
    list: &[&crd::BGPPeer],
    bfd: &BTreeMap<String, BfdProfile>,
    secrets: &[Secret],
    options: &Options,
    nodes: &[(String, Labels)],
    warnings: &mut Vec<String>,
) -> Result<Vec<Peer>, Error> {
    let mut out: Vec<Peer> = Vec::with_capacity(list.len());
    let mut vrfs: Vec<String> = Vec::with_capacity(list.len());
    for p in list {
        let name = name_of(*p);
        let object = ObjectRef::new("BGPPeer", name.clone());
        let peer = peer(&object, &p.spec, bfd, secrets, options, warnings)?;
        // Two sessions from one node to one (address, port, vrf) are never intended, and
        // lb-bgp keys sessions by address.
        for (other, vrf) in out.iter().zip(&vrfs) {
            if other.address == peer.address
                && other.port == peer.port
                && *vrf == p.spec.vrf
                && select_common_node(&other.node_selectors, &peer.node_selectors, nodes)
            {
                return Err(Error::invalid(
                    &object,
                    "spec.peerAddress",
                    Problem::DuplicatePeer {
                        other: other.name.clone(),
                    },
                ));
            }
        }
        out.push(peer);
        vrfs.push(p.spec.vrf.clone());
    }
    Ok(out)
}

fn select_common_node(
    a: &[lb_ipam::LabelSelector],
    b: &[lb_ipam::LabelSelector],
    nodes: &[(String, Labels)],
) -> bool {
    (a.is_empty() && b.is_empty())
        || nodes
            .iter()
            .any(|(_, l)| any_matches(a, l) && any_matches(b, l))
}

fn peer(
    object: &ObjectRef,
    s: &crd::BGPPeerSpec,
    bfd: &BTreeMap<String, BfdProfile>,
    secrets: &[Secret],
    options: &Options,
    warnings: &mut Vec<String>,
) -> Result<Peer, Error> {
    let invalid = |field: &str, problem| Error::invalid(object, field, problem);
    if s.my_asn == 0 {
        return Err(invalid("spec.myASN", Problem::Missing("local ASN")));
    }
    let peer_asn = match (s.peer_asn, s.dynamic_asn) {
        (0, None) | (1.., Some(_)) => {
            return Err(invalid(
                "spec.peerASN",
                Problem::ExactlyOne("peerASN", "dynamicASN"),
            ));
        }
        (asn, None) => PeerAsn::Fixed(asn),
        (_, Some(DynamicAsn::Internal)) => PeerAsn::Internal,
        (_, Some(DynamicAsn::External)) => PeerAsn::External,
    };
    if !s.interface.is_empty() {
        if !s.peer_address.is_empty() {
            return Err(invalid(
                "spec.peerAddress",
                Problem::ExactlyOne("peerAddress", "interface"),
            ));
        }
        return Err(invalid(
            "spec.interface",
            Problem::Unsupported("BGP unnumbered (interface) in this release"),
        ));
    }
    if s.peer_address.is_empty() {
        return Err(invalid(
            "spec.peerAddress",
            Problem::ExactlyOne("peerAddress", "interface"),
        ));
    }
    if !s.vrf.is_empty() {
        return Err(invalid(
            "spec.vrf",
            Problem::Unsupported("VRFs in this release"),
        ));
    }
    let address = parse_ip(&s.peer_address).ok_or_else(|| {
        invalid(
            "spec.peerAddress",
            Problem::InvalidAddress(s.peer_address.clone(), "IP address"),
        )
    })?;
    let source = if s.source_address.is_empty() {
        None
    } else {
        Some(parse_ip(&s.source_address).ok_or_else(|| {
            invalid(
                "spec.sourceAddress",
                Problem::InvalidAddress(s.source_address.clone(), "IP address"),
            )
        })?)
    };
    let router_id = if s.router_id.is_empty() {
        None
    } else {
        Some(s.router_id.trim().parse::<Ipv4Addr>().map_err(|_| {
            invalid(
                "spec.routerID",
                Problem::InvalidAddress(s.router_id.clone(), "IPv4 router ID"),
            )
        })?)
    };
    let timers = timers(object, s)?;
    let connect_time = match &s.connect_time {
        None => None,
        Some(text) => {
            let d = parse_go_duration(text).ok_or_else(|| {
                invalid(
                    "spec.connectTime",
                    Problem::InvalidValue(text.clone(), "a Go duration"),
                )
            })?;
            if d.subsec_nanos() != 0 || !(1..=65535).contains(&d.as_secs()) {
                return Err(invalid(
                    "spec.connectTime",
                    Problem::InvalidValue(text.clone(), "whole seconds between 1 and 65535"),
                ));
            }
            Some(d)
        }
    };
    if s.ebgp_multi_hop && matches!(peer_asn, PeerAsn::Fixed(a) if a == s.my_asn) {
        return Err(invalid("spec.ebgpMultiHop", Problem::MultiHopOnIbgp));
    }
    let secret_name = s
        .password_secret
        .as_ref()
        .and_then(|r| r.name.clone())
        .filter(|n| !n.is_empty());
    let password = match (s.password.is_empty(), secret_name) {
        (false, Some(_)) => {
            return Err(invalid(
                "spec.passwordSecret",
                Problem::Exclusive("password", "passwordSecret"),
            ));
        }
        (false, None) => Some(s.password.clone()),
        (true, None) => None,
        (true, Some(secret)) => match secret_password(&secret, secrets, options) {
            Ok(p) => Some(p),
            Err(problem) if options.blank_transient && problem.is_transient() => None,
            Err(problem) => return Err(invalid("spec.passwordSecret", problem)),
        },
    };
    if let Some(p) = &password
        && p.len() > MAX_PASSWORD
    {
        return Err(invalid(
            "spec.password",
            Problem::InvalidValue("<hidden>".into(), "longer than 80 octets"),
        ));
    }
    let bfd_profile = if s.bfd_profile.is_empty() || options.blank_transient {
        None
    } else if !options.bfd {
        return Err(invalid(
            "spec.bfdProfile",
            Problem::Unsupported("BFD (no BFD implementation in this build)"),
        ));
    } else if bfd.contains_key(&s.bfd_profile) {
        Some(s.bfd_profile.clone())
    } else {
        return Err(invalid(
            "spec.bfdProfile",
            Problem::UnknownBfdProfile(s.bfd_profile.clone()),
        ));
    };
    if s.disable_mp {
        warnings.push(format!(
            "{object}: disableMP is deprecated and has no effect"
        ));
    }
    let local_asn = (s.local_asn != 0).then_some(s.local_asn);
    Ok(Peer {
        name: object.name.clone(),
        my_asn: s.my_asn,
        peer_asn,
        local_asn,
        address,
        port: if s.peer_port == 0 { 179 } else { s.peer_port },
        source,
        timers,
        connect_time,
        router_id,
        node_selectors: selectors(object, "spec.nodeSelectors", &s.node_selectors)?,
        password,
        bfd_profile,
        graceful_restart: s.enable_graceful_restart,
        ebgp_multi_hop: s.ebgp_multi_hop,
        dual_stack: s.dual_stack_address_family,
    })
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.trim().parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// Upstream's timer rules; `0s`/`0s` (what converted `v1beta1` objects carry) is unset.
fn timers(object: &ObjectRef, s: &crd::BGPPeerSpec) -> Result<Option<(Duration, Duration)>, Error> {
    let parse = |field: &str, v: &Option<String>| -> Result<Option<Duration>, Error> {
        v.as_ref()
            .map(|t| {
                parse_go_duration(t).ok_or_else(|| {
                    Error::invalid(
                        object,
                        field,
                        Problem::InvalidValue(t.clone(), "a Go duration"),
                    )
                })
            })
            .transpose()
    };
    let hold = parse("spec.holdTime", &s.hold_time)?;
    let keepalive = parse("spec.keepaliveTime", &s.keepalive_time)?;
    let (hold, keepalive) = match (hold, keepalive) {
        (None, None) => return Ok(None),
        (Some(h), Some(k)) if h.is_zero() && k.is_zero() => return Ok(None),
        (Some(h), None) => (h, h / 3),
        (None, Some(k)) => (k * 3, k),
        (Some(h), Some(k)) => (h, k),
    };
    let hold_secs = hold.as_secs();
    if hold_secs != 0 && hold_secs < 3 {
        return Err(Error::invalid(
            object,
            "spec.holdTime",
            Problem::InvalidTimers("hold time must be 0 or at least 3s"),
        ));
    }
    if keepalive > hold {
        return Err(Error::invalid(
            object,
            "spec.keepaliveTime",
            Problem::InvalidTimers("keepalive time must not exceed the hold time"),
        ));
    }
    Ok(Some((Duration::from_secs(hold_secs), keepalive)))
}

fn secret_password(name: &str, secrets: &[Secret], options: &Options) -> Result<String, Problem> {
    let secret = secrets
        .iter()
        .find(|s| {
            s.metadata.name.as_deref() == Some(name)
                && match (&options.namespace, &s.metadata.namespace) {
                    (Some(want), Some(got)) => want == got,
                    _ => true,
                }
        })
        .ok_or_else(|| Problem::Secret(name.into(), SECRET_MISSING))?;
    if secret.type_.as_deref() != Some("kubernetes.io/basic-auth") {
        return Err(Problem::Secret(
            name.into(),
            "is not of type kubernetes.io/basic-auth",
        ));
    }
    if let Some(p) = secret.data.as_ref().and_then(|d| d.get("password")) {
        return String::from_utf8(p.0.clone())
            .map_err(|_| Problem::Secret(name.into(), "password is not UTF-8"));
    }
    secret
        .string_data
        .as_ref()
        .and_then(|d| d.get("password"))
        .cloned()
        .ok_or_else(|| Problem::Secret(name.into(), "has no key \"password\""))
}

/// §1.5: a profile with echo mode may not serve a peer that receives IPv6 prefixes.
pub(super) fn check_echo(
    peers: &[Peer],
    bfd: &BTreeMap<String, BfdProfile>,
    ads: &[BgpAdvertisement],
    pools: &Pools,
) -> Result<(), Error> {
    for peer in peers {
        let Some(profile) = peer.bfd_profile.as_ref() else {
            continue;
        };
        if !bfd.get(profile).is_some_and(|p| p.echo_mode) {
            continue;
        }
        let gets_v6 = ads.iter().any(|ad| {
            (ad.peers.is_empty() || ad.peers.contains(&peer.name))
                && ad
                    .pools
                    .iter()
                    .any(|p| pools.get(p).is_some_and(|p| p.has_family(Family::V6)))
        });
        if gets_v6 {
            return Err(Error::invalid(
                &ObjectRef::new("BGPPeer", peer.name.clone()),
                "spec.bfdProfile",
                Problem::EchoWithIpv6 {
                    profile: profile.clone(),
                    peer: peer.name.clone(),
                },
            ));
        }
    }
    Ok(())
}
