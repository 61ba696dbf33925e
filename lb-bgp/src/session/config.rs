//! What the operator configures for one peer.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Graceful restart (RFC 4724) as this speaker advertises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestart {
    /// Restart Time: how long (seconds, at most 4095) the peer should keep our routes while we
    /// restart.
    pub restart_time: u16,
    /// Set the Restart State (R) bit: this speaker has just restarted. A driver sets it on the
    /// sessions it creates right after its own restart; the session clears it once
    /// Established, so later reconnections do not claim a restart.
    pub restarting: bool,
    /// Set the Forwarding State (F) bit for every family: our forwarding state (the addresses
    /// we announce) survived the restart, so the peer may keep forwarding to us.
    pub forwarding_preserved: bool,
}

impl Default for GracefulRestart {
    fn default() -> Self {
        GracefulRestart {
            restart_time: 120,
            restarting: false,
            forwarding_preserved: true,
        }
    }
}

/// One peer's configuration.
///
/// `SessionConfig::new(local_as, peer_as, router_id)` gives the defaults: hold time 90 s,
/// keepalive hold/3, connect retry 5 s doubling up to 120 s with jitter, active, IPv4 and IPv6
/// unicast, route refresh, extended message, no graceful restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our AS number (4 octets; AS_TRANS goes in the OPEN when it does not fit in 2).
    pub local_as: u32,
    /// The AS the peer must announce; equal to `local_as` for iBGP.
    pub peer_as: u32,
    /// Our BGP Identifier.
    pub router_id: Ipv4Addr,
    /// Hold Time we offer, in seconds (0, or at least 3). The session uses the smaller of ours
    /// and the peer's.
    pub hold_time: u16,
    /// Keepalive interval in seconds; `None` for a third of the negotiated hold time. Never
    /// more than a third of the negotiated hold time.
    pub keepalive: Option<u16>,
    /// First connect-retry delay; each failure doubles it, up to `connect_retry_max`, with
    /// jitter (a uniformly drawn 75 % to 100 % of the value, RFC 4271 §10).
    pub connect_retry: Duration,
    /// The largest connect-retry delay.
    pub connect_retry_max: Duration,
    /// Never open the connection: wait for the peer to connect (RFC 4271 PassiveTcpEstablishment).
    pub passive: bool,
    /// Negotiate IPv4 unicast.
    pub ipv4_unicast: bool,
    /// Negotiate IPv6 unicast.
    pub ipv6_unicast: bool,
    /// Send IPv4 routes in MP_REACH_NLRI / MP_UNREACH_NLRI instead of the plain NLRI and
    /// Withdrawn Routes fields, when the peer announced the multiprotocol capability for IPv4
    /// unicast (otherwise the plain fields are used).
    pub ipv4_over_mp: bool,
    /// Advertise the route refresh capability (and answer ROUTE-REFRESH).
    pub route_refresh: bool,
    /// Advertise the extended message capability (UPDATEs up to 65535 octets when both do).
    pub extended_message: bool,
    /// Advertise graceful restart.
    pub graceful_restart: Option<GracefulRestart>,
    /// IPv4 next hop for routes without their own; default: our address on the connection
    /// when it is IPv4.
    pub next_hop_v4: Option<Ipv4Addr>,
    /// IPv6 global next hop for routes without their own; default: our address on the
    /// connection when it is a global IPv6 address.
    pub next_hop_v6: Option<Ipv6Addr>,
    /// IPv6 link-local next hop sent beside the global one (RFC 2545 §3); default: our address
    /// on the connection when it is link-local.
    pub link_local_v6: Option<Ipv6Addr>,
    /// The most prefixes we keep from the peer; past it the session is closed with Cease /
    /// Maximum Number of Prefixes Reached (RFC 4486), so a peer cannot grow our memory without
    /// bound.
    pub max_received_prefixes: usize,
}

impl SessionConfig {
    /// The defaults for a peer (see the type's documentation).
    pub fn new(local_as: u32, peer_as: u32, router_id: Ipv4Addr) -> Self {
        SessionConfig {
            local_as,
            peer_as,
            router_id,
            hold_time: 90,
            keepalive: None,
            connect_retry: Duration::from_secs(5),
            connect_retry_max: Duration::from_secs(120),
            passive: false,
            ipv4_unicast: true,
            ipv6_unicast: true,
            ipv4_over_mp: false,
            route_refresh: true,
            extended_message: true,
            graceful_restart: None,
            next_hop_v4: None,
            next_hop_v6: None,
            link_local_v6: None,
            max_received_prefixes: 1_000_000,
        }
    }

    /// iBGP: the peer is in our AS.
    pub fn is_ibgp(&self) -> bool {
        self.local_as == self.peer_as
    }
}
