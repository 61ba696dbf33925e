//! proptest round trips, owned → bytes → view → owned, for every message type; arbitrary bytes
//! never panic the decoder, and whatever decodes re-encodes to a message that decodes the same;
//! the splitting encoder keeps every prefix; the fuzz corpora are replayed.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use lb_bgp::wire::capability::{AddPathFamily, ExtendedNextHopFamily, GracefulRestartFamily};
use lb_bgp::wire::{
    Afi, AsPath, AsSegment, Attribute, AttributeData, Capability, Community, Context,
    ExtendedCommunity, LargeCommunity, Message, MessageRef, MpNextHop, MpReach, MpUnreach, Nlri,
    Notification, Open, Origin, PrefixList, RefreshSubtype, RouteRefresh, Safi, SegmentType,
    Update,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn v4() -> impl Strategy<Value = Nlri> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, l)| {
        Nlri::new(IpNet::V4(
            Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc(),
        ))
    })
}

fn v6() -> impl Strategy<Value = Nlri> {
    (any::<u128>(), 0u8..=128).prop_map(|(a, l)| {
        Nlri::new(IpNet::V6(
            Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc(),
        ))
    })
}

fn as_path() -> impl Strategy<Value = AsPath> {
    let kind = prop_oneof![
        Just(SegmentType::Set),
        Just(SegmentType::Sequence),
        Just(SegmentType::ConfedSequence),
        Just(SegmentType::ConfedSet)
    ];
    vec(
        (kind, vec(any::<u32>(), 1..8)).prop_map(|(kind, asns)| AsSegment { kind, asns }),
        0..4,
    )
    .prop_map(|segments| AsPath { segments })
}

fn next_hop() -> impl Strategy<Value = Ipv4Addr> {
    (1u8..=223, any::<[u8; 3]>()).prop_map(|(a, b)| Ipv4Addr::new(a, b[0], b[1], b[2]))
}

fn aggregator() -> impl Strategy<Value = lb_bgp::wire::attribute::Aggregator> {
    (any::<u32>(), any::<u32>()).prop_map(|(asn, a)| lb_bgp::wire::attribute::Aggregator {
        asn,
        address: a.into(),
    })
}

fn update() -> impl Strategy<Value = Update> {
    let optional = (
        (
            proptest::option::of(prop_oneof![
                Just(Origin::Igp),
                Just(Origin::Egp),
                Just(Origin::Incomplete)
            ]),
            proptest::option::of(as_path()),
            proptest::option::of(next_hop()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u32>()),
            any::<bool>(),
            proptest::option::of(aggregator()),
            proptest::option::of(vec(any::<u32>().prop_map(Community), 1..20)),
        ),
        (
            proptest::option::of(any::<u32>()),
            proptest::option::of(vec(any::<u32>().prop_map(Ipv4Addr::from), 1..10)),
            proptest::option::of((
                vec(v6(), 0..8),
                any::<u128>(),
                proptest::option::of(any::<u128>()),
            )),
            proptest::option::of(vec(v6(), 0..8)),
            proptest::option::of(vec(any::<[u8; 8]>().prop_map(ExtendedCommunity), 1..10)),
            proptest::option::of(as_path()),
            proptest::option::of(vec(
                any::<(u32, u32, u32)>().prop_map(|(a, b, c)| LargeCommunity {
                    global_admin: a,
                    local1: b,
                    local2: c,
                }),
                1..10,
            )),
            proptest::option::of((100u8..=200, any::<bool>(), vec(any::<u8>(), 0..40))),
        ),
    );
    (vec(v4(), 0..30), optional, vec(v4(), 0..30)).prop_map(|(withdrawn, (a, b), nlri)| {
        let (origin, path, nh, med, lp, atomic, agg, comms) = a;
        let (orig_id, clusters, reach, unreach, ext, as4, large, raw) = b;
        let mut attrs = Vec::new();
        let mut push = |d: Option<AttributeData>| attrs.extend(d.map(Attribute::new));
        push(origin.map(AttributeData::Origin));
        push(path.map(AttributeData::AsPath));
        push(nh.map(AttributeData::NextHop));
        push(med.map(AttributeData::MultiExitDisc));
        push(lp.map(AttributeData::LocalPref));
        push(atomic.then_some(AttributeData::AtomicAggregate));
        push(agg.map(AttributeData::Aggregator));
        push(comms.map(AttributeData::Communities));
        push(orig_id.map(|a| AttributeData::OriginatorId(a.into())));
        push(clusters.map(AttributeData::ClusterList));
        push(reach.map(|(nlri, g, ll)| {
            let next_hop = MpNextHop::Ipv6 {
                global: g.into(),
                link_local: ll.map(Ipv6Addr::from),
            };
            AttributeData::MpReach(Box::new(MpReach {
                afi: Afi::IPV6,
                safi: Safi::UNICAST,
                next_hop,
                nlri: nlri.into(),
            }))
        }));
        push(unreach.map(|withdrawn| {
            AttributeData::MpUnreach(MpUnreach {
                afi: Afi::IPV6,
                safi: Safi::UNICAST,
                withdrawn: withdrawn.into(),
            })
        }));
        push(ext.map(AttributeData::ExtendedCommunities));
        push(as4.map(AttributeData::As4Path));
        push(agg.map(AttributeData::As4Aggregator));
        push(large.map(AttributeData::LargeCommunities));
        attrs.extend(raw.map(|(type_code, transitive, data)| {
            let mut a = Attribute::new(AttributeData::Raw { type_code, data });
            if !transitive {
                a.flags.0 &= !lb_bgp::wire::AttributeFlags::TRANSITIVE;
            }
            a
        }));
        Update {
            withdrawn: withdrawn.into(),
            attributes: attrs,
            nlri: nlri.into(),
        }
    })
}

fn capability() -> impl Strategy<Value = Capability> {
    let afi = any::<u16>().prop_map(Afi);
    let safi = any::<u8>().prop_map(Safi);
    prop_oneof![
        (afi.clone(), safi.clone()).prop_map(|(afi, safi)| Capability::Multiprotocol { afi, safi }),
        Just(Capability::RouteRefresh),
        Just(Capability::ExtendedMessage),
        Just(Capability::EnhancedRouteRefresh),
        any::<u32>().prop_map(Capability::FourOctetAs),
        vec((afi.clone(), any::<u16>(), afi.clone()), 0..3).prop_map(|v| {
            Capability::ExtendedNextHop(
                v.into_iter()
                    .map(|(afi, safi, next_hop_afi)| ExtendedNextHopFamily {
                        afi,
                        safi,
                        next_hop_afi,
                    })
                    .collect(),
            )
        }),
        (
            0u8..16,
            0u16..4096,
            vec((afi.clone(), safi.clone(), any::<u8>()), 0..3)
        )
            .prop_map(|(flags, time, f)| {
                Capability::GracefulRestart {
                    flags,
                    time,
                    families: f
                        .into_iter()
                        .map(|(afi, safi, flags)| GracefulRestartFamily { afi, safi, flags })
                        .collect(),
                }
            }),
        vec((afi, safi, 1u8..=3), 0..3).prop_map(|v| Capability::AddPath(
            v.into_iter()
                .map(|(afi, safi, send_receive)| AddPathFamily {
                    afi,
                    safi,
                    send_receive
                })
                .collect()
        )),
        (vec(any::<u8>(), 0..10), vec(any::<u8>(), 0..10))
            .prop_map(|(hostname, domain)| Capability::Fqdn { hostname, domain }),
        (any::<u8>(), vec(any::<u8>(), 0..10))
            .prop_filter("unknown code", |(c, _)| !matches!(
                c,
                1 | 2 | 5 | 6 | 64 | 65 | 69 | 70 | 73
            ))
            .prop_map(|(code, data)| Capability::Unknown { code, data }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::Keepalive),
        update().prop_map(Message::Update),
        (
            any::<u16>(),
            prop_oneof![Just(0u16), 3u16..],
            1u32..,
            vec(vec(capability(), 0..3), 0..3),
            any::<bool>()
        )
            .prop_map(|(my_as, hold_time, id, parameters, extended_parameters)| {
                Message::Open(Open {
                    my_as,
                    hold_time,
                    bgp_id: id.into(),
                    parameters,
                    extended_parameters,
                })
            }),
        (any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..64)).prop_map(|(code, subcode, data)| {
            Message::Notification(Notification {
                code,
                subcode,
                data,
            })
        }),
        (
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            vec(any::<u8>(), 0..16)
        )
            .prop_map(|(afi, st, safi, orf)| {
                let subtype = RefreshSubtype::from(st);
                let orf = if subtype == RefreshSubtype::Request {
                    orf
                } else {
                    Vec::new()
                };
                Message::RouteRefresh(RouteRefresh {
                    afi: Afi(afi),
                    subtype,
                    safi: Safi(safi),
                    orf,
                })
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn owned_bytes_view_owned(m in message(), four in any::<bool>()) {
        let ctx = Context { four_octet_as: four, ..Context::default() };
        // Without 4-octet AS support the 2-octet fields carry AS_TRANS for large ASNs.
        prop_assume!(four || !has_large_asn(&m));
        let mut bytes = Vec::new();
        m.encode(&ctx, &mut bytes).unwrap();
        let view = MessageRef::parse(&bytes, &ctx).unwrap();
        prop_assert_eq!(Message::try_from(&view).unwrap(), m);
    }

    #[test]
    fn add_path_round_trip(mut u in update(), ids in vec(any::<u32>(), 60)) {
        let mut ctx = Context::four_octet();
        ctx.add_path.insert(Afi::IPV4, Safi::UNICAST);
        ctx.add_path.insert(Afi::IPV6, Safi::UNICAST);
        let mut k = 0;
        let mut tag = |l: &PrefixList| -> PrefixList {
            l.iter().map(|p| { let id = ids[k % ids.len()]; k += 1; Nlri { path_id: Some(id), ..p } }).collect()
        };
        u.withdrawn = tag(&u.withdrawn);
        u.nlri = tag(&u.nlri);
        for a in &mut u.attributes {
            match &mut a.data {
                AttributeData::MpReach(m) => m.nlri = tag(&m.nlri),
                AttributeData::MpUnreach(m) => m.withdrawn = tag(&m.withdrawn),
                _ => {}
            }
        }
        let mut bytes = Vec::new();
        u.encode(&ctx, &mut bytes).unwrap();
        let MessageRef::Update(v) = MessageRef::parse(&bytes, &ctx).unwrap() else { panic!() };
        prop_assert_eq!(Update::try_from(&v).unwrap(), u);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..600), kind in 0u8..7, four in any::<bool>()) {
        let mut input = vec![u8::from(four), kind];
        input.extend_from_slice(&data);
        lb_bgp::fuzzing::roundtrip(&input);
        lb_bgp::fuzzing::framing(&input);
        lb_bgp::fuzzing::update(&input);
        lb_bgp::fuzzing::open(&data);
    }

    #[test]
    fn split_keeps_every_prefix(n4 in 0usize..900, n6 in 0usize..400, w in 0usize..1500) {
        let ctx = Context::four_octet();
        let mut u = common::workload_update(0, true);
        let prefixes = |n: usize, v6: bool| (0..n as u32).map(move |i| if v6 {
            Nlri::new(IpNet::V6(Ipv6Net::new(Ipv6Addr::from(u128::from(i) << 8), 120).unwrap()))
        } else {
            Nlri::new(IpNet::V4(Ipv4Net::new(Ipv4Addr::from(i << 8), 24).unwrap()))
        });
        if let AttributeData::MpReach(m) = &mut u.attributes.last_mut().unwrap().data {
            m.nlri = prefixes(n6, true).collect();
        }
        u.attributes.push(Attribute::new(AttributeData::NextHop(Ipv4Addr::new(192, 0, 2, 1))));
        u.nlri = prefixes(n4, false).collect();
        u.withdrawn = prefixes(w, false).collect();
        let mut out = Vec::new();
        let count = u.encode_split(&ctx, &mut out).unwrap();
        let (mut got4, mut got6, mut gotw, mut seen) = (0, 0, 0, 0);
        let mut rest = &out[..];
        while let Some((_, len)) = lb_bgp::wire::frame(rest, 4096).unwrap() {
            let (m, r) = rest.split_at(len);
            rest = r;
            seen += 1;
            let MessageRef::Update(v) = MessageRef::parse(m, &ctx).unwrap() else { panic!() };
            prop_assert!(v.attribute_error().is_none());
            got4 += v.nlri().count();
            gotw += v.withdrawn_routes().count();
            got6 += v.mp_reach().map_or(0, |m| m.nlri().count());
        }
        prop_assert!(rest.is_empty());
        prop_assert_eq!((got4, got6, gotw, seen), (n4, n6, w, count));
    }
}

fn has_large_asn(m: &Message) -> bool {
    let Message::Update(u) = m else { return false };
    u.attributes.iter().any(|a| match &a.data {
        AttributeData::AsPath(p) => p.segments.iter().flat_map(|s| &s.asns).any(|&a| a > 0xffff),
        AttributeData::Aggregator(g) => g.asn > 0xffff,
        _ => false,
    })
}

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in [format!("corpus/{target}"), format!("regressions/{target}")] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            files.extend(
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_file()),
            );
        }
    }
    files.sort();
    files
}

#[test]
fn fuzz_corpora_replay() {
    for target in lb_bgp::fuzzing::TARGETS {
        let files = corpus_files(target.name);
        assert!(!files.is_empty(), "the {} corpus is missing", target.name);
        for f in files {
            (target.run)(&std::fs::read(&f).unwrap());
        }
    }
}
