//! Services: which are ours (§2.1), Service → lb-ipam request (§2.2–2.3), allocation result →
//! `status.loadBalancer.ingress` and events (§2.5–2.6), and Service + EndpointSlices → the
//! plain [`ServiceState`](crate::plan::ServiceState) the speaker's plan takes (§2.4).

mod events;
mod speaker;

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Service};
use lb_ipam::{
    Annotations, Family, FamilyRequest, Labels, Port, Protocol, SharingKey, TrafficPolicy,
};

pub use events::{Event, EventType, convergence_events, reason};
pub use speaker::{endpoints_by_service, node_state, service_state};

/// What the controller should do with a Service.
#[derive(Debug, Clone, PartialEq)]
pub enum Translation {
    /// Another load-balancer class: ignore it entirely (never clear it).
    NotOurs,
    /// Clear status, pool annotation and allocation; emit `event` if there is one (not a
    /// `LoadBalancer`, no cluster IP, `RequireDualStack` with one cluster IP…).
    Clear {
        /// The event to emit, if any.
        event: Option<Event>,
    },
    /// The request is invalid. With current addresses the Service keeps them
    /// (`LoadBalancerFailed`), without it is not allocated (`AllocationFailed`).
    Invalid {
        /// The addresses the Service holds now (kept).
        current: Vec<IpAddr>,
        /// The event to emit.
        event: Event,
    },
    /// Converge this request.
    Request {
        /// The request for `Allocator::converge`.
        service: lb_ipam::Service,
        /// Parsed `status.loadBalancer.ingress[].ip`, in status order.
        current: Vec<IpAddr>,
        /// Deprecated `metallb.universe.tf/` annotation keys present (one `deprecatedAnnotation`
        /// event each when the Service is written).
        deprecated: Vec<String>,
    },
}

/// The `--lb-class` rule: with no class configured only Services without
/// `spec.loadBalancerClass` are ours; with a class, only Services of exactly that class.
pub fn class_matches(svc: &Service, lb_class: Option<&str>) -> bool {
    let class = svc
        .spec
        .as_ref()
        .and_then(|s| s.load_balancer_class.as_deref());
    match (lb_class.filter(|c| !c.is_empty()), class) {
        (None, None) => true,
        (Some(want), Some(got)) => want == got,
        _ => false,
    }
}

/// Whether the Service is of `type: LoadBalancer`.
pub fn is_load_balancer(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer")
}

/// The addresses in `status.loadBalancer.ingress`, in order; `None` if one does not parse.
pub fn ingress_ips(svc: &Service) -> Option<Vec<IpAddr>> {
    svc.status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|ingress| {
            ingress
                .iter()
                .filter_map(|i| i.ip.as_deref())
                .map(|ip| ip.parse::<IpAddr>().ok().map(|ip| ip.to_canonical()))
                .collect::<Option<Vec<_>>>()
        })
        .unwrap_or(Some(Vec::new()))
}

/// Reads a Service the way the controller does (§3.3 step 2 b–d). `namespace_labels` are the
/// labels of the Service's namespace, for `namespaceSelectors`.
pub fn translate(svc: &Service, lb_class: Option<&str>, namespace_labels: &Labels) -> Translation {
    if !class_matches(svc, lb_class) {
        return Translation::NotOurs;
    }
    if !is_load_balancer(svc) {
        return Translation::Clear { event: None };
    }
    let Some(current) = ingress_ips(svc) else {
        return Translation::Clear {
            event: Some(Event::warning(
                reason::NO_LB_IPS_FAMILY,
                "Failed to parse the load-balancer IPs in the service status",
            )),
        };
    };
    let spec = svc.spec.clone().unwrap_or_default();
    let meta = &svc.metadata;
    let annotations = meta.annotations.clone().unwrap_or_default();
    let cluster_ips: Vec<String> = match &spec.cluster_ips {
        Some(ips) if !ips.is_empty() => ips.clone(),
        _ => spec.cluster_ip.clone().into_iter().collect(),
    };
    let cluster_ips: Vec<&String> = cluster_ips
        .iter()
        .filter(|ip| *ip != "None" && !ip.is_empty())
        .collect();
    if cluster_ips.is_empty() {
        return Translation::Clear { event: None };
    }
    let Some(families) = cluster_ips
        .iter()
        .map(|ip| {
            ip.parse::<IpAddr>()
                .ok()
                .map(|ip| Family::of(&ip.to_canonical()))
        })
        .collect::<Option<Vec<_>>>()
    else {
        return Translation::Clear {
            event: Some(Event::warning(
                reason::NO_CLUSTER_IPS_FAMILY,
                "Failed to parse the cluster IPs of the service",
            )),
        };
    };
    let families = match FamilyRequest::from_policy(spec.ip_family_policy.as_deref(), &families) {
        Ok(f) => f,
        Err(lb_ipam::Error::NotEnoughClusterIps) => {
            return Translation::Clear {
                event: Some(Event::warning(
                    reason::NOT_ENOUGH_CLUSTER_IPS,
                    "The service requires dual stack but has fewer than two cluster IPs",
                )),
            };
        }
        Err(e) => return invalid(current, &e),
    };
    let parsed = match Annotations::parse(&annotations, spec.load_balancer_ip.as_deref()) {
        Ok(a) => a,
        Err(e) => return invalid(current, &e),
    };
    let mut ports = Vec::new();
    for p in spec.ports.iter().flatten() {
        let protocol: Protocol = match p.protocol.as_deref().unwrap_or("TCP").parse() {
            Ok(proto) => proto,
            Err(e) => return invalid(current, &e),
        };
        let Ok(port) = u16::try_from(p.port) else {
            continue;
        };
        ports.push(Port { protocol, port });
    }
    let policy = TrafficPolicy::from_spec(spec.external_traffic_policy.as_deref());
    let selector: Labels = spec.selector.clone().unwrap_or_default();
    let name = meta.name.clone().unwrap_or_default();
    let namespace = meta.namespace.clone().unwrap_or_default();
    let mut service = lb_ipam::Service::new(&namespace, &name);
    service.labels = meta.labels.clone().unwrap_or_default();
    service.namespace_labels = namespace_labels.clone();
    service.families = families;
    service.ports = ports;
    service.sharing = SharingKey::new(
        &parsed.sharing_key,
        &SharingKey::backend_key(policy, &selector),
    );
    service.pool = parsed.pool;
    service.requested = parsed.requested;
    let deprecated = annotations
        .keys()
        .filter(|k| k.starts_with(lb_ipam::annotations::DEPRECATED_PREFIX))
        .cloned()
        .collect();
    Translation::Request {
        service,
        current,
        deprecated,
    }
}

fn invalid(current: Vec<IpAddr>, e: &lb_ipam::Error) -> Translation {
    let event = if current.is_empty() {
        Event::warning(
            reason::ALLOCATION_FAILED,
            format!("Failed to allocate IP: {e}"),
        )
    } else {
        Event::warning(
            reason::LOAD_BALANCER_FAILED,
            format!("Invalid load-balancer IP request, keeping the current addresses: {e}"),
        )
    };
    Translation::Invalid { current, event }
}

/// The status to write for an assignment: one ingress entry per address. The order of
/// `current` is kept when it holds the same addresses (the L2 election hashes `ingress[0]`),
/// else the order of `requested` when it does, else the assignment's (IPv4 first).
pub fn ingress_status(
    ips: &[IpAddr],
    current: &[IpAddr],
    requested: &[IpAddr],
) -> LoadBalancerStatus {
    let same = |a: &[IpAddr]| a.len() == ips.len() && a.iter().all(|ip| ips.contains(ip));
    let order: &[IpAddr] = if same(current) {
        current
    } else if same(requested) {
        requested
    } else {
        ips
    };
    LoadBalancerStatus {
        ingress: (!order.is_empty()).then(|| {
            order
                .iter()
                .map(|ip| LoadBalancerIngress {
                    ip: Some(ip.to_string()),
                    ..LoadBalancerIngress::default()
                })
                .collect()
        }),
    }
}

/// The Service's annotations with `metallb.io/ip-allocated-from-pool` set to `pool`, or
/// removed when `pool` is `None`.
pub fn with_pool_annotation(
    annotations: Option<&BTreeMap<String, String>>,
    pool: Option<&str>,
) -> BTreeMap<String, String> {
    let mut out = annotations.cloned().unwrap_or_default();
    match pool {
        Some(p) => {
            out.insert(
                lb_ipam::annotations::IP_ALLOCATED_FROM_POOL.to_owned(),
                p.to_owned(),
            );
        }
        None => {
            out.remove(lb_ipam::annotations::IP_ALLOCATED_FROM_POOL);
        }
    }
    out
}
