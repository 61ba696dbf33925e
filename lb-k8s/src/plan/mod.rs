//! Speaker planning: what this node should announce, computed from plain inputs — no
//! Kubernetes client, no async runtime, no clock.
//!
//! [`plan`] takes the configuration, the Services with their addresses and endpoints, the
//! Nodes, the membership view and this node's name, and returns a [`Plan`]: the [`Desired`]
//! announcements (per IP the L2 interfaces; per BGP peer the routes), a decision with its
//! upstream reason for every Service, and the `ServiceL2Status` / `ServiceBGPStatus` contents
//! this node should have written. An [`Announcer`] makes the wire match a [`Desired`].

mod bgp;
mod election;
mod l2;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use lb_ipam::{Labels, ServiceKey};

pub use election::{election_key, go_ip_string};

use crate::config::{CommunityValue, Config, Peer};

/// The label that keeps a node from announcing (unless `--ignore-exclude-lb`).
pub const EXCLUDE_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// What the plan needs to know about a Node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeState {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Labels,
    /// The `NetworkUnavailable` condition is `True`.
    pub network_unavailable: bool,
}

/// One endpoint of a Service, from its EndpointSlices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// `nodeName`.
    pub node: Option<String>,
    /// Ready (or readiness unknown), or serving while terminating.
    pub serving: bool,
    /// Whether it has at least one address.
    pub has_addresses: bool,
}

/// What the plan needs to know about a `LoadBalancer` Service of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    /// `namespace/name`.
    pub key: ServiceKey,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `status.loadBalancer.ingress[].ip`, in status order (`ips[0]` is what the L2 election
    /// hashes).
    pub ips: Vec<IpAddr>,
    /// `externalTrafficPolicy: Local`.
    pub local: bool,
    /// Carries an `allow-shared-ip` annotation (either prefix, any value).
    pub shared: bool,
    /// Its endpoints.
    pub endpoints: Vec<Endpoint>,
}

/// The membership view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// Memberlist is off: every Node is a candidate.
    Disabled,
    /// The members that are neither dead nor left (suspect members count).
    Live(BTreeSet<String>),
}

/// Everything [`plan`] reads.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// The Services of ours (deleted and non-`LoadBalancer` ones left out).
    pub services: &'a [ServiceState],
    /// Nodes by name.
    pub nodes: &'a BTreeMap<String, NodeState>,
    /// The membership view.
    pub membership: &'a Membership,
    /// This node's name.
    pub me: &'a str,
    /// `--ignore-exclude-lb`.
    pub ignore_exclude_lb: bool,
}

/// Where an IP is answered for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Interfaces {
    /// Every eligible interface.
    All,
    /// Only these interface names.
    Only(BTreeSet<String>),
}

/// One BGP route for a session.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// The prefix (the address masked to the aggregation length).
    pub prefix: IpNet,
    /// LOCAL_PREF; 0 means unset (lb-bgp then sends its iBGP default, 100).
    pub local_pref: u32,
    /// Communities, sorted, without repeats (standard → `COMMUNITIES`, large →
    /// `LARGE_COMMUNITY`).
    pub communities: Vec<CommunityValue>,
}

/// What this node should announce: the input of an [`Announcer`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// IPs this node answers ARP/NDP for, with their interfaces.
    pub l2: BTreeMap<IpAddr, Interfaces>,
    /// The BGP sessions this node runs (peers whose node selectors match it), by peer name.
    pub sessions: BTreeMap<String, Peer>,
    /// Per peer name, its routes (sorted by prefix).
    pub routes: BTreeMap<String, Vec<Route>>,
}

/// Why a protocol does not announce a Service from this node (upstream's log reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// No address in the status.
    NoIpAllocated,
    /// The addresses are in no configured pool.
    IpNotAllowed,
    /// Another node wins (L2), or no advertisement of the pool includes this node (BGP), or
    /// no endpoint can serve (L2).
    NotOwner,
    /// No advertisement applies to this node and Service.
    NoMatchingAdvertisement,
    /// An L2 advertisement with service selectors applies to a Service that shares its IP.
    SharedIpWithServiceSelector,
    /// Two BGP advertisements disagree on LOCAL_PREF.
    ConflictingAdvertisements,
    /// This node's `NetworkUnavailable` is `True`.
    NodeNetworkUnavailable,
    /// This node carries the exclusion label.
    NodeLabeledExcludeBalancers,
    /// `Local` policy and no serving endpoint with an address here.
    NoLocalEndpoints,
    /// No serving endpoint with an address anywhere.
    NoEndpoints,
}

impl Reason {
    /// Upstream's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoIpAllocated => "noIPAllocated",
            Reason::IpNotAllowed => "ipNotAllowed",
            Reason::NotOwner => "notOwner",
            Reason::NoMatchingAdvertisement => "noMatchingAdvertisement",
            Reason::SharedIpWithServiceSelector => "sharedIPWithServiceSelector",
            Reason::ConflictingAdvertisements => "conflictingAdvertisements",
            Reason::NodeNetworkUnavailable => "nodeNetworkUnavailable",
            Reason::NodeLabeledExcludeBalancers => "nodeLabeledExcludeBalancers",
            Reason::NoLocalEndpoints => "noLocalEndpoints",
            Reason::NoEndpoints => "noEndpoints",
        }
    }
}

/// The decision for one Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDecision {
    /// Its addresses, in status order.
    pub ips: Vec<IpAddr>,
    /// The pool holding all its addresses.
    pub pool: Option<String>,
    /// The L2 election's winner among the live eligible nodes, whoever it is.
    pub l2_owner: Option<String>,
    /// L2 from this node: `Ok` = announce (on these interfaces), else why not.
    pub l2: Result<Interfaces, Reason>,
    /// BGP from this node: `Ok` = advertise, else why not.
    pub bgp: Result<(), Reason>,
    /// The peers that receive a prefix of this Service from this node.
    pub bgp_peers: BTreeSet<String>,
    /// The L2 winner has none of the restricted interfaces present on this node (event
    /// `announceFailed`); the caller fills this from the node's interface list, see
    /// [`Plan::announce_failed`].
    pub interfaces_missing: bool,
}

/// The contents of a `ServiceL2Status` / `ServiceBGPStatus` this node should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusObject {
    /// The Service.
    pub service: ServiceKey,
    /// This node.
    pub node: String,
    /// L2: the interfaces, only when restricted. BGP: the peer names, sorted.
    pub items: Vec<String>,
}

/// The labels upstream puts on the status objects, to find them by Service and node.
pub mod status_labels {
    /// The node that wrote the object.
    pub const NODE: &str = "metallb.io/node";
    /// The Service's name.
    pub const SERVICE_NAME: &str = "metallb.io/service-name";
    /// The Service's namespace.
    pub const SERVICE_NAMESPACE: &str = "metallb.io/service-namespace";
}

impl StatusObject {
    fn meta(
        &self,
        namespace: &str,
        prefix: &str,
    ) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            generate_name: Some(prefix.into()),
            namespace: Some(namespace.into()),
            labels: Some(
                [
                    (status_labels::NODE.to_string(), self.node.clone()),
                    (
                        status_labels::SERVICE_NAME.to_string(),
                        self.service.name().to_owned(),
                    ),
                    (
                        status_labels::SERVICE_NAMESPACE.to_string(),
                        self.service.namespace().to_owned(),
                    ),
                ]
                .into(),
            ),
            ..Default::default()
        }
    }

    /// The `ServiceL2Status` to create (`generateName: l2-`) in the MetalLB `namespace`; the
    /// caller adds the owner reference (its pod).
    pub fn to_l2_status(&self, namespace: &str) -> crate::crd::ServiceL2Status {
        crate::crd::ServiceL2Status {
            metadata: self.meta(namespace, "l2-"),
            spec: crate::crd::status::ServiceL2StatusSpec {},
            status: Some(crate::crd::ServiceL2StatusStatus {
                node: self.node.clone(),
                service_name: self.service.name().to_owned(),
                service_namespace: self.service.namespace().to_owned(),
                interfaces: self
                    .items
                    .iter()
                    .map(|name| crate::crd::InterfaceInfo { name: name.clone() })
                    .collect(),
            }),
        }
    }

    /// The `ServiceBGPStatus` to create (`generateName: bgp-`).
    pub fn to_bgp_status(&self, namespace: &str) -> crate::crd::ServiceBGPStatus {
        crate::crd::ServiceBGPStatus {
            metadata: self.meta(namespace, "bgp-"),
            spec: crate::crd::status::ServiceBGPStatusSpec {},
            status: Some(crate::crd::ServiceBGPStatusStatus {
                node: self.node.clone(),
                service_name: self.service.name().to_owned(),
                service_namespace: self.service.namespace().to_owned(),
                peers: self.items.clone(),
            }),
        }
    }
}

/// The result of [`plan`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// What to announce.
    pub desired: Desired,
    /// Per Service, what was decided and why.
    pub services: BTreeMap<ServiceKey, ServiceDecision>,
    /// One `ServiceL2Status` per Service this node announces by L2.
    pub l2_statuses: Vec<StatusObject>,
    /// One `ServiceBGPStatus` per Service this node advertises to at least one peer.
    pub bgp_statuses: Vec<StatusObject>,
}

impl Plan {
    /// The Services the L2 winner (this node) cannot announce because none of their restricted
    /// interfaces is present here (`present` = interface names not excluded, any state). Their
    /// IPs are dropped from [`Desired::l2`]; the caller emits `announceFailed` for each.
    pub fn announce_failed(&mut self, present: &BTreeSet<String>) -> Vec<ServiceKey> {
        let mut failed = Vec::new();
        for (key, d) in &mut self.services {
            if let Ok(Interfaces::Only(names)) = &d.l2
                && names.is_disjoint(present)
            {
                d.interfaces_missing = true;
                failed.push(key.clone());
            }
        }
        if failed.is_empty() {
            return failed;
        }
        let mut l2 = BTreeMap::new();
        for d in self.services.values() {
            if let (Ok(interfaces), false) = (&d.l2, d.interfaces_missing) {
                for ip in &d.ips {
                    let entry = l2.entry(*ip).or_insert_with(|| interfaces.clone());
                    *entry = union(entry, interfaces);
                }
            }
        }
        self.desired.l2 = l2;
        self.l2_statuses.retain(|s| !failed.contains(&s.service));
        failed
    }
}

/// Makes what is on the wire equal a [`Desired`]. Implementations diff against what they
/// announce now, so calling `apply` twice with the same plan changes nothing. Synchronous:
/// every announcer door (`lb_l2::driver::Handle`, `lb_bgp::driver::Speaker::set_routes`) is
/// non-blocking.
pub trait Announcer {
    /// The announcer's error.
    type Error;

    /// Announces `desired` and withdraws everything else.
    fn apply(&mut self, desired: &Desired) -> Result<(), Self::Error>;
}

/// An [`Announcer`] that records every plan it is given, for tests.
#[derive(Debug, Clone, Default)]
pub struct RecordingAnnouncer {
    /// Every `apply` call, in order.
    pub applied: Vec<Desired>,
}

impl Announcer for RecordingAnnouncer {
    type Error = std::convert::Infallible;

    fn apply(&mut self, desired: &Desired) -> Result<(), Self::Error> {
        self.applied.push(desired.clone());
        Ok(())
    }
}

/// Plans this node's announcements (§4.3–§4.6, §4.9).
pub fn plan(inputs: &Inputs<'_>) -> Plan {
    let mut out = Plan::default();
    let me = inputs.nodes.get(inputs.me);
    let sessions = bgp::sessions(inputs.config, me);
    let index = l2::AdIndex::new(inputs.config, inputs.nodes);
    let mut pooled: Vec<(String, Route, ServiceKey)> = Vec::new();
    for svc in inputs.services {
        let mut decision = ServiceDecision {
            ips: svc.ips.clone(),
            pool: None,
            l2_owner: None,
            l2: Err(Reason::NoIpAllocated),
            bgp: Err(Reason::NoIpAllocated),
            bgp_peers: BTreeSet::new(),
            interfaces_missing: false,
        };
        if svc.ips.is_empty() {
            out.services.insert(svc.key.clone(), decision);
            continue;
        }
        let Some(pool) = inputs.config.pools.pool_for(&svc.ips) else {
            decision.l2 = Err(Reason::IpNotAllowed);
            decision.bgp = Err(Reason::IpNotAllowed);
            out.services.insert(svc.key.clone(), decision);
            continue;
        };
        decision.pool = Some(pool.name().to_owned());
        let (owner, l2) = l2::decide(inputs, &index, svc, pool.name());
        decision.l2_owner = owner;
        decision.l2 = l2;
        match bgp::decide(inputs, me, svc, pool.name()) {
            Ok(routes) => {
                decision.bgp = Ok(());
                for (ad_peers, route) in routes {
                    for peer in sessions.values() {
                        if bgp::session_takes(peer, &ad_peers, &route) {
                            decision.bgp_peers.insert(peer.name.clone());
                            pooled.push((peer.name.clone(), route.clone(), svc.key.clone()));
                        }
                    }
                }
            }
            Err(reason) => decision.bgp = Err(reason),
        }
        if let Ok(interfaces) = &decision.l2 {
            for ip in &svc.ips {
                let entry = out
                    .desired
                    .l2
                    .entry(*ip)
                    .or_insert_with(|| interfaces.clone());
                *entry = union(entry, interfaces);
            }
            out.l2_statuses.push(StatusObject {
                service: svc.key.clone(),
                node: inputs.me.to_owned(),
                items: match interfaces {
                    Interfaces::All => Vec::new(),
                    Interfaces::Only(names) => names.iter().cloned().collect(),
                },
            });
        }
        if !decision.bgp_peers.is_empty() {
            out.bgp_statuses.push(StatusObject {
                service: svc.key.clone(),
                node: inputs.me.to_owned(),
                items: decision.bgp_peers.iter().cloned().collect(),
            });
        }
        out.services.insert(svc.key.clone(), decision);
    }
    out.desired.routes = bgp::merge(pooled, &sessions);
    out.desired.sessions = sessions;
    out
}

fn union(a: &Interfaces, b: &Interfaces) -> Interfaces {
    match (a, b) {
        (Interfaces::Only(x), Interfaces::Only(y)) => {
            Interfaces::Only(x.union(y).cloned().collect())
        }
        _ => Interfaces::All,
    }
}
