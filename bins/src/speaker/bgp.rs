//! The BGP announcer: one `lb_bgp::driver::Speaker` whose peers and routes are made to match
//! [`Desired::sessions`] and [`Desired::routes`].

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use lb_bgp::driver::{PeerConfig, Speaker, SpeakerConfig};
use lb_bgp::session::GracefulRestart;
use lb_bgp::wire::{Community, LargeCommunity};
use lb_bgp::{Route, RouteAttributes, SessionConfig};
use lb_k8s::config::{CommunityValue, Config, Peer, PeerAsn};
use lb_k8s::plan::Desired;

use super::Error;

/// A running BGP speaker and the sessions it has.
#[derive(Debug)]
pub struct BgpAnnouncer {
    speaker: Speaker,
    node: String,
    /// By peer name: the configuration the session was made from.
    sessions: BTreeMap<String, Peer>,
    /// Whether sessions made now are the first since the process started (graceful restart's
    /// R bit).
    first: bool,
    /// The BFD driver, started when a peer first names a `bfdProfile`.
    bfd: Option<lb_bfd::driver::Bfd>,
}

/// lb-bfd's form of a validated `BFDProfile`.
fn bfd_profile(p: &lb_k8s::config::BfdProfile) -> lb_bfd::profile::BfdProfile {
    lb_bfd::profile::BfdProfile {
        receive_interval: Some(p.receive_interval),
        transmit_interval: Some(p.transmit_interval),
        detect_multiplier: Some(p.detect_multiplier),
        echo_interval: Some(p.echo_interval),
        echo_mode: Some(p.echo_mode),
        passive_mode: Some(p.passive_mode),
        minimum_ttl: Some(p.minimum_ttl),
    }
}

/// Couples BFD to BGP as FRR does: a BFD session leaving Up holds the BGP session down
/// (Cease / BFD Down), Up again releases it.
fn couple(bfd: &lb_bfd::driver::Bfd, speaker: Speaker) {
    let mut events = bfd.events();
    tokio::spawn(async move {
        use lb_bfd::wire::State;
        loop {
            match events.recv().await {
                Ok(e) => {
                    let done = match (e.from, e.to) {
                        (State::Up, to) if to != State::Up => speaker.hold_down(e.peer),
                        (_, State::Up) => speaker.release(e.peer),
                        _ => continue,
                    };
                    tracing::info!(peer = %e.peer, from = ?e.from, to = ?e.to, diagnostic = ?e.diagnostic, "bfd");
                    if let Err(err) = done {
                        tracing::debug!(peer = %e.peer, error = %err, "bfd: no BGP session");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "bfd events lagged");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// CRC-32/IEEE, the router ID upstream derives from a node name when no IPv4 is at hand.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// Our router ID toward `peer` when the BGPPeer gives none: the IPv4 source address the kernel
/// would use for the session (no packet is sent), else CRC-32 of the node name as
/// little-endian bytes, as upstream.
pub fn derive_router_id(peer: &Peer, node: &str) -> Ipv4Addr {
    if let Some(IpAddr::V4(v4)) = peer.source {
        return v4;
    }
    if peer.address.is_ipv4() {
        let bind: SocketAddr = (Ipv4Addr::UNSPECIFIED, 0).into();
        let source = UdpSocket::bind(bind)
            .and_then(|s| s.connect((peer.address, peer.port)).map(|()| s))
            .and_then(|s| s.local_addr());
        if let Ok(SocketAddr::V4(a)) = source
            && !a.ip().is_unspecified()
        {
            return *a.ip();
        }
    }
    Ipv4Addr::from(crc32(node.as_bytes()).to_le_bytes())
}

/// The driver settings for a BGPPeer, or why it cannot be served.
pub fn peer_settings(peer: &Peer, node: &str, first: bool) -> Result<PeerConfig, String> {
    let local_as = peer.local_asn.unwrap_or(peer.my_asn);
    let peer_as = match peer.peer_asn {
        PeerAsn::Fixed(asn) => asn,
        PeerAsn::Internal => local_as,
        PeerAsn::External => {
            return Err("dynamicASN: external is not supported by the native speaker yet".into());
        }
    };
    let router_id = peer
        .router_id
        .unwrap_or_else(|| derive_router_id(peer, node));
    let mut session = SessionConfig::new(local_as, peer_as, router_id);
    if let Some((hold, keepalive)) = peer.timers {
        session.hold_time = u16::try_from(hold.as_secs()).unwrap_or(u16::MAX);
        session.keepalive = Some(u16::try_from(keepalive.as_secs()).unwrap_or(u16::MAX));
    }
    if let Some(t) = peer.connect_time {
        session.connect_retry = t;
        session.connect_retry_max = t;
    }
    session.ipv4_unicast = true;
    session.ipv6_unicast = true;
    if peer.graceful_restart {
        session.graceful_restart = Some(GracefulRestart {
            restart_time: 120,
            restarting: first,
            forwarding_preserved: true,
        });
    }
    let mut settings = PeerConfig::new(peer.address, session);
    settings.port = if peer.port == 0 { 179 } else { peer.port };
    settings.source = peer.source;
    settings.ebgp_multihop = peer.ebgp_multi_hop.then_some(255);
    settings.md5_password = peer.password.clone();
    Ok(settings)
}

/// lb-bgp routes for the plan's routes of one session, one shared attribute set per
/// distinct (LOCAL_PREF, communities).
pub fn routes(plan: &[lb_k8s::plan::Route]) -> Vec<Route> {
    let mut shared: HashMap<(u32, Vec<CommunityValue>), Arc<RouteAttributes>> = HashMap::new();
    plan.iter()
        .map(|r| {
            let attrs = shared
                .entry((r.local_pref, r.communities.clone()))
                .or_insert_with(|| {
                    let mut a = RouteAttributes {
                        local_pref: (r.local_pref != 0).then_some(r.local_pref),
                        ..RouteAttributes::default()
                    };
                    for c in &r.communities {
                        match *c {
                            CommunityValue::Standard(..) => {
                                a.communities.extend(c.as_u32().map(Community));
                            }
                            CommunityValue::Large(global_admin, local1, local2) => {
                                a.large_communities.push(LargeCommunity {
                                    global_admin,
                                    local1,
                                    local2,
                                });
                            }
                        }
                    }
                    Arc::new(a)
                })
                .clone();
            Route::with_attributes(r.prefix, attrs)
        })
        .collect()
}

impl BgpAnnouncer {
    /// Starts a speaker with no peers; `listen` is the optional listener (none by default:
    /// every session dials out, as upstream's speaker does).
    pub async fn start(node: &str, listen: Option<SocketAddr>) -> Result<BgpAnnouncer, Error> {
        let speaker = lb_bgp::driver::spawn(SpeakerConfig {
            listen,
            ..SpeakerConfig::default()
        })
        .await?;
        Ok(BgpAnnouncer {
            speaker,
            node: node.to_owned(),
            sessions: BTreeMap::new(),
            first: true,
            bfd: None,
        })
    }

    /// The driver (for stats and events).
    pub fn speaker(&self) -> &Speaker {
        &self.speaker
    }

    /// The sessions by peer name.
    pub fn sessions(&self) -> &BTreeMap<String, Peer> {
        &self.sessions
    }

    async fn bfd(&mut self) -> Option<lb_bfd::driver::Bfd> {
        if self.bfd.is_none() {
            match lb_bfd::driver::spawn(lb_bfd::driver::DriverConfig::default()).await {
                Ok(bfd) => {
                    couple(&bfd, self.speaker.clone());
                    self.bfd = Some(bfd);
                }
                Err(e) => tracing::error!(error = %e, "bfd: cannot start"),
            }
        }
        self.bfd.clone()
    }

    async fn start_bfd(&mut self, name: &str, peer: &Peer, config: &Config) {
        let Some(profile_name) = &peer.bfd_profile else {
            return;
        };
        let Some(profile) = config.bfd_profiles.get(profile_name) else {
            tracing::error!(peer = %name, profile = %profile_name, "bfd: no such profile");
            return;
        };
        let settings = match bfd_profile(profile).peer_settings(
            peer.address,
            peer.source,
            peer.ebgp_multi_hop,
        ) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(peer = %name, error = %e, "bfd: profile refused");
                return;
            }
        };
        if let Some(bfd) = self.bfd().await {
            match bfd.add_peer(settings).await {
                Ok(()) => {
                    tracing::info!(peer = %name, profile = %profile_name, "bfd: session added")
                }
                Err(e) => tracing::error!(peer = %name, error = %e, "bfd: add"),
            }
        }
    }

    /// Makes the sessions and their routes match `desired`: a removed or changed peer is
    /// closed (a changed one re-created), a new one added (with its BFD session when it names a
    /// profile of `config`), and every session's routes set (lb-bgp sends only the difference).
    pub async fn apply(&mut self, desired: &Desired, config: &Config) {
        let stale: Vec<String> = self
            .sessions
            .iter()
            .filter(|(name, peer)| desired.sessions.get(*name) != Some(*peer))
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            if let Some(peer) = self.sessions.remove(&name) {
                tracing::info!(peer = %name, address = %peer.address, "bgp: closing session");
                if let Err(e) = self
                    .speaker
                    .remove_peer(peer.address, "peer removed from the configuration")
                    .await
                {
                    tracing::warn!(peer = %name, error = %e, "bgp: remove");
                }
                if peer.bfd_profile.is_some()
                    && let Some(bfd) = &self.bfd
                    && let Err(e) = bfd.remove_peer(peer.address).await
                {
                    tracing::debug!(peer = %name, error = %e, "bfd: remove");
                }
            }
        }
        for (name, peer) in &desired.sessions {
            if self.sessions.contains_key(name) {
                continue;
            }
            if let Some((other, _)) = self
                .sessions
                .iter()
                .find(|(_, p)| p.address == peer.address)
            {
                tracing::error!(peer = %name, %other, address = %peer.address, "bgp: two peers at one address are not supported yet; skipped");
                continue;
            }
            let settings = match peer_settings(peer, &self.node, self.first) {
                Ok(s) => s,
                Err(why) => {
                    tracing::error!(peer = %name, "bgp: {why}");
                    continue;
                }
            };
            tracing::info!(peer = %name, address = %peer.address, router_id = %settings.session.router_id, "bgp: opening session");
            match self.speaker.add_peer(settings) {
                Ok(()) => {
                    self.start_bfd(name, peer, config).await;
                    self.sessions.insert(name.clone(), peer.clone());
                }
                Err(e) => tracing::error!(peer = %name, error = %e, "bgp: add"),
            }
        }
        self.first = false;
        for (name, peer) in &self.sessions {
            let wanted = desired.routes.get(name).map(Vec::as_slice).unwrap_or(&[]);
            if let Err(e) = self.speaker.set_routes(peer.address, routes(wanted)) {
                tracing::warn!(peer = %name, error = %e, "bgp: set routes");
            }
        }
    }

    /// Planned shutdown (RFC 8326): every route re-advertised with GRACEFUL_SHUTDOWN now,
    /// withdrawn after `delay`.
    pub fn drain(&self, delay: Duration) {
        self.speaker.drain_all(delay);
    }

    /// Closes every session (Cease / Administrative Shutdown).
    pub async fn shutdown(&mut self) {
        self.speaker.shutdown_with("speaker shutting down").await;
        if let Some(bfd) = self.bfd.take() {
            bfd.shutdown().await;
        }
        self.sessions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_ieee() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn routes_share_attributes_per_distinct_set() {
        let p = |s: &str, lp: u32, c: Vec<CommunityValue>| lb_k8s::plan::Route {
            prefix: s.parse().expect("a prefix"),
            local_pref: lp,
            communities: c,
        };
        let got = routes(&[
            p("198.51.100.1/32", 0, vec![]),
            p("198.51.100.2/32", 0, vec![]),
            p(
                "198.51.100.3/32",
                200,
                vec![
                    CommunityValue::Standard(64512, 7),
                    CommunityValue::Large(1, 2, 3),
                ],
            ),
        ]);
        assert!(Arc::ptr_eq(&got[0].attributes, &got[1].attributes));
        assert_eq!(got[0].attributes.local_pref, None);
        assert_eq!(got[2].attributes.local_pref, Some(200));
        assert_eq!(
            got[2].attributes.communities,
            vec![Community(64512 << 16 | 7)]
        );
        assert_eq!(got[2].attributes.large_communities.len(), 1);
    }
}
