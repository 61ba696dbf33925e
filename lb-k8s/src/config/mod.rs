//! Configuration assembly: every configuration object → one validated [`Config`], or the
//! first rule it breaks, as a typed [`Error`] naming the object and the field.
//!
//! [`assemble`] is the whole-configuration parse of the specification (§1, §2.7): lists are
//! taken in `metadata.name` order, so "first wins" choices and the object an error names do
//! not depend on the order objects arrived in. A caller that gets an error keeps its previous
//! `Config` (upstream's "last good config"). The same function serves the validating webhooks:
//! [`Options::blank_transient`] skips the references that may resolve later.

mod advertisement;
mod community;
mod duration;
mod objects;
mod peer;
pub(crate) mod selector;
mod tracker;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lb_ipam::{LabelSelector, Labels, Pools};

pub(crate) use advertisement::local_pref_compatible;
pub use community::CommunityValue;
pub use duration::parse_go_duration;
pub use objects::{Object, Objects};
pub use tracker::{Tracker, Update};

use crate::error::{Error, ObjectRef, Problem};

/// How [`assemble`] reads the objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The MetalLB namespace: configuration objects in another namespace are ignored (objects
    /// with no namespace, as in a manifest folder, are always read). `None` reads all.
    pub namespace: Option<String>,
    /// Accept `BFDProfile`s and `bfdProfile` references (needs a BFD implementation). Without
    /// it any BFD profile is rejected, as upstream's native mode does.
    pub bfd: bool,
    /// Webhook mode: skip the transient references (`bfdProfile`, `passwordSecret`, community
    /// aliases not defined yet) so objects can be created in any order.
    pub blank_transient: bool,
}

/// A validated configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The pools, in name order (lb-ipam's configuration order).
    pub pools: Pools,
    /// Each pool's labels, for `ipAddressPoolSelectors`.
    pub pool_labels: BTreeMap<String, Labels>,
    /// L2 advertisements, in name order.
    pub l2_advertisements: Vec<L2Advertisement>,
    /// BGP advertisements, in name order.
    pub bgp_advertisements: Vec<BgpAdvertisement>,
    /// BGP peers, in name order.
    pub peers: Vec<Peer>,
    /// BFD profiles by name.
    pub bfd_profiles: BTreeMap<String, BfdProfile>,
    /// Community aliases by name.
    pub communities: BTreeMap<String, CommunityValue>,
    /// Accepted but noteworthy settings (deprecated fields), for webhook warnings and logs.
    pub warnings: Vec<String>,
}

/// A validated `L2Advertisement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2Advertisement {
    /// `metadata.name`.
    pub name: String,
    /// The pools it applies to (names and selectors resolved; unknown names dropped).
    pub pools: BTreeSet<String>,
    /// Nodes that may announce; empty means all.
    pub node_selectors: Vec<LabelSelector>,
    /// Interfaces to announce from; empty means all.
    pub interfaces: Vec<String>,
    /// Services it applies to; empty means all.
    pub service_selectors: Vec<LabelSelector>,
    /// Weighted preferences for the election.
    pub preferred_nodes: Vec<(u32, LabelSelector)>,
}

/// A validated `BGPAdvertisement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpAdvertisement {
    /// `metadata.name`.
    pub name: String,
    /// The pools it applies to.
    pub pools: BTreeSet<String>,
    /// IPv4 prefix length (1–32).
    pub aggregation_length: u8,
    /// IPv6 prefix length (0–128).
    pub aggregation_length_v6: u8,
    /// LOCAL_PREF; 0 means unset.
    pub local_pref: u32,
    /// Communities, aliases resolved, sorted, without repeats.
    pub communities: Vec<CommunityValue>,
    /// Peer names to send to; empty means all.
    pub peers: Vec<String>,
    /// Nodes that announce; empty means all.
    pub node_selectors: Vec<LabelSelector>,
    /// Services it applies to; empty means all.
    pub service_selectors: Vec<LabelSelector>,
}

/// How the peer's AS number is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerAsn {
    /// `peerASN`.
    Fixed(u32),
    /// `dynamicASN: internal`: any AS equal to ours.
    Internal,
    /// `dynamicASN: external`: any AS different from ours.
    External,
}

/// A validated `BGPPeer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// `metadata.name`.
    pub name: String,
    /// `myASN`.
    pub my_asn: u32,
    /// `peerASN` or `dynamicASN`.
    pub peer_asn: PeerAsn,
    /// `localASN`: the AS the peer sees, if set.
    pub local_asn: Option<u32>,
    /// `peerAddress`.
    pub address: IpAddr,
    /// `peerPort` (0 becomes 179).
    pub port: u16,
    /// `sourceAddress`.
    pub source: Option<IpAddr>,
    /// Hold time and keepalive after upstream's derivation; `None` means the defaults
    /// (90 s, 30 s).
    pub timers: Option<(Duration, Duration)>,
    /// `connectTime`.
    pub connect_time: Option<Duration>,
    /// `routerID`.
    pub router_id: Option<Ipv4Addr>,
    /// Nodes that open the session; empty means all.
    pub node_selectors: Vec<LabelSelector>,
    /// TCP MD5 password (from `password` or the secret).
    pub password: Option<String>,
    /// `bfdProfile`.
    pub bfd_profile: Option<String>,
    /// `enableGracefulRestart`.
    pub graceful_restart: bool,
    /// `ebgpMultiHop`.
    pub ebgp_multi_hop: bool,
    /// `dualStackAddressFamily`.
    pub dual_stack: bool,
}

impl Peer {
    /// Whether the session is iBGP (the peer's AS is ours).
    pub fn is_ibgp(&self) -> bool {
        let local = self.local_asn.unwrap_or(self.my_asn);
        match self.peer_asn {
            PeerAsn::Fixed(asn) => asn == local,
            PeerAsn::Internal => true,
            PeerAsn::External => false,
        }
    }
}

/// A validated `BFDProfile`, defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BfdProfile {
    /// Milliseconds.
    pub receive_interval: u32,
    /// Milliseconds.
    pub transmit_interval: u32,
    /// Detection multiplier.
    pub detect_multiplier: u32,
    /// Milliseconds.
    pub echo_interval: u32,
    /// Echo mode.
    pub echo_mode: bool,
    /// Passive mode.
    pub passive_mode: bool,
    /// Minimum TTL (multihop).
    pub minimum_ttl: u32,
}

/// Assembles and validates the configuration objects of `objects` (Services and
/// EndpointSlices are not looked at).
pub fn assemble(objects: &Objects, options: &Options) -> Result<Config, Error> {
    let ours = |ns: &Option<String>| match (&options.namespace, ns) {
        (Some(want), Some(got)) => want == got,
        _ => true,
    };
    let nodes: Vec<(String, Labels)> = objects
        .nodes
        .iter()
        .map(|n| {
            (
                n.metadata.name.clone().unwrap_or_default(),
                n.metadata.labels.clone().unwrap_or_default(),
            )
        })
        .collect();

    let communities = community::aliases(&sorted("Community", &objects.communities, &ours)?)?;
    let bfd_profiles = peer::bfd_profiles(
        &sorted("BFDProfile", &objects.bfd_profiles, &ours)?,
        options,
    )?;

    let pools_sorted = sorted("IPAddressPool", &objects.pools, &ours)?;
    let (pools, pool_labels) = advertisement::pools(&pools_sorted)?;

    let mut warnings = Vec::new();
    let peers = peer::peers(
        &sorted("BGPPeer", &objects.peers, &ours)?,
        &bfd_profiles,
        &objects.secrets,
        options,
        &nodes,
        &mut warnings,
    )?;
    let l2_advertisements = advertisement::l2(
        &sorted("L2Advertisement", &objects.l2_advertisements, &ours)?,
        &pools,
        &pool_labels,
    )?;
    let bgp_advertisements = advertisement::bgp(
        &sorted("BGPAdvertisement", &objects.bgp_advertisements, &ours)?,
        &pools,
        &pool_labels,
        &communities,
        &nodes,
        options,
    )?;
    peer::check_echo(&peers, &bfd_profiles, &bgp_advertisements, &pools)?;
    Ok(Config {
        pools,
        pool_labels,
        l2_advertisements,
        bgp_advertisements,
        peers,
        bfd_profiles,
        communities,
        warnings,
    })
}

/// Reads a multi-document YAML text and assembles it with default [`Options`]: a manifest
/// check in one call (and the fuzz target's entry point).
pub fn check_manifests(text: &str) -> Result<Config, Error> {
    let mut objects = Objects::default();
    objects.parse_yaml(text, "manifests")?;
    assemble(&objects, &Options::default())
}

/// The objects of one kind in our namespace, sorted by name; a repeated name is an error.
fn sorted<'a, K: kube::Resource>(
    kind: &'static str,
    list: &'a [K],
    ours: &impl Fn(&Option<String>) -> bool,
) -> Result<Vec<&'a K>, Error> {
    let mut v: Vec<&K> = list.iter().filter(|o| ours(&o.meta().namespace)).collect();
    v.sort_by(|a, b| a.meta().name.cmp(&b.meta().name));
    for w in v.windows(2) {
        if w[0].meta().name == w[1].meta().name {
            let name = w[1].meta().name.clone().unwrap_or_default();
            return Err(Error::invalid(
                &ObjectRef::new(kind, name.clone()),
                "metadata.name",
                Problem::DuplicateName(name),
            ));
        }
    }
    Ok(v)
}

pub(crate) fn name_of<K: kube::Resource>(o: &K) -> String {
    o.meta().name.clone().unwrap_or_default()
}
