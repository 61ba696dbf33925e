//! Kubernetes objects → the plain inputs of [`crate::plan`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use lb_ipam::ServiceKey;

use crate::plan::{Endpoint, NodeState, ServiceState};

/// The label EndpointSlices carry with their Service's name.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Endpoints grouped by Service (`namespace/name`), from slices labelled with
/// `kubernetes.io/service-name` (others are ignored). An endpoint can serve iff `ready` is
/// absent or true, or `serving` is true (§2.4).
pub fn endpoints_by_service(slices: &[EndpointSlice]) -> BTreeMap<ServiceKey, Vec<Endpoint>> {
    let mut out: BTreeMap<ServiceKey, Vec<Endpoint>> = BTreeMap::new();
    for slice in slices {
        let Some(service) = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))
        else {
            continue;
        };
        let namespace = slice.metadata.namespace.as_deref().unwrap_or_default();
        let list = out.entry(ServiceKey::new(namespace, service)).or_default();
        for e in slice.endpoints.iter().flatten() {
            let c = e.conditions.as_ref();
            let ready = c.and_then(|c| c.ready).unwrap_or(true);
            let serving = c.and_then(|c| c.serving).unwrap_or(false);
            list.push(Endpoint {
                node: e.node_name.clone(),
                serving: ready || serving,
                has_addresses: !e.addresses.is_empty(),
            });
        }
    }
    out
}

/// The plan's view of a Service, or `None` when the speaker withdraws it outright: another
/// load-balancer class, not a `LoadBalancer`, or an ingress IP that does not parse. A Service
/// without addresses is returned with empty `ips` (reason `noIPAllocated`).
pub fn service_state(
    svc: &Service,
    lb_class: Option<&str>,
    endpoints: &BTreeMap<ServiceKey, Vec<Endpoint>>,
) -> Option<ServiceState> {
    if !super::class_matches(svc, lb_class) || !super::is_load_balancer(svc) {
        return None;
    }
    let ips = super::ingress_ips(svc)?;
    let meta = &svc.metadata;
    let key = ServiceKey::new(
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
    );
    let shared = meta.annotations.as_ref().is_some_and(|a| {
        a.contains_key(lb_ipam::annotations::ALLOW_SHARED_IP)
            || a.contains_key("metallb.universe.tf/allow-shared-ip")
    });
    let policy = svc
        .spec
        .as_ref()
        .and_then(|s| s.external_traffic_policy.as_deref());
    let local = lb_ipam::TrafficPolicy::from_spec(policy) == lb_ipam::TrafficPolicy::Local;
    Some(ServiceState {
        endpoints: endpoints.get(&key).cloned().unwrap_or_default(),
        key,
        labels: meta.labels.clone().unwrap_or_default(),
        ips,
        local,
        shared,
    })
}

/// The plan's view of a Node.
pub fn node_state(node: &Node) -> NodeState {
    NodeState {
        name: node.metadata.name.clone().unwrap_or_default(),
        labels: node.metadata.labels.clone().unwrap_or_default(),
        network_unavailable: node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c.type_ == "NetworkUnavailable" && c.status == "True")
            }),
    }
}
