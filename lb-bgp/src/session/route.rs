//! Routes as the caller declares them (to advertise) and as the peer sent them (observed only).

use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, LazyLock};

use ipnet::IpNet;

use crate::wire::{Community, LargeCommunity, Origin};

/// The path attributes the caller chooses for announced prefixes. Share one `Arc` between
/// every prefix with the same attributes: the advertiser groups prefixes by it and packs each
/// group into as few UPDATEs as possible.
///
/// What the advertiser adds itself: ORIGIN IGP, AS_PATH (empty on iBGP, our AS on eBGP),
/// NEXT_HOP / MP_REACH_NLRI next hop, LOCAL_PREF on iBGP only (100 unless set), and during a
/// drain the GRACEFUL_SHUTDOWN community.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RouteAttributes {
    /// The next hop; `None` for the session's own address (see
    /// [`SessionConfig`](super::SessionConfig) for the overrides). An IPv4 next hop for IPv4 prefixes,
    /// IPv6 for IPv6 prefixes; a route whose next hop has the other family is not sent.
    pub next_hop: Option<IpAddr>,
    /// COMMUNITIES (RFC 1997).
    pub communities: Vec<Community>,
    /// LARGE_COMMUNITY (RFC 8092).
    pub large_communities: Vec<LargeCommunity>,
    /// LOCAL_PREF, sent to iBGP peers only (default 100 there).
    pub local_pref: Option<u32>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
}

static DEFAULT_ATTRIBUTES: LazyLock<Arc<RouteAttributes>> =
    LazyLock::new(|| Arc::new(RouteAttributes::default()));

/// A prefix to advertise with its attributes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    /// The prefix (host bits are cleared when sent).
    pub prefix: IpNet,
    /// Its attributes.
    pub attributes: Arc<RouteAttributes>,
}

impl Route {
    /// A prefix with default attributes (the session's next hop, nothing else).
    pub fn new(prefix: IpNet) -> Self {
        Route {
            prefix,
            attributes: DEFAULT_ATTRIBUTES.clone(),
        }
    }

    /// A prefix with shared attributes.
    pub fn with_attributes(prefix: IpNet, attributes: Arc<RouteAttributes>) -> Self {
        Route { prefix, attributes }
    }
}

/// The attributes of a route the peer announced, as far as a load balancer cares to look.
/// Routes received are kept for observation (Adj-RIB-In), never installed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ReceivedAttributes {
    /// ORIGIN.
    pub origin: Option<Origin>,
    /// The AS numbers of the AS_PATH, segments flattened in order.
    pub as_path: Vec<u32>,
    /// NEXT_HOP, or the global next hop of MP_REACH_NLRI.
    pub next_hop: Option<IpAddr>,
    /// The link-local next hop of MP_REACH_NLRI.
    pub link_local_next_hop: Option<Ipv6Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// COMMUNITIES.
    pub communities: Vec<Community>,
    /// LARGE_COMMUNITY.
    pub large_communities: Vec<LargeCommunity>,
}
