//! Addresses without a controller: every host that reads the same manifest folder computes
//! the same assignments, because they are a pure function of the folder.
//!
//! The controller's own [`Reconciler`] does the work, started afresh for every snapshot, with
//! the Services in name order (`namespace/name`) and the pools in name order. Addresses a
//! Service asks for (`metallb.io/loadBalancerIPs`, `spec.loadBalancerIP`) or already shows in
//! a `status` written into its manifest are honoured first, so an operator who wants an address
//! never to move pins it; any other Service may move when a Service sorting before it is added
//! or removed.

use k8s_openapi::api::core::v1::Service;
use lb_k8s::config::Objects;

use crate::controller::reconcile::Reconciler;

/// The result of [`assign`].
#[derive(Debug, Clone, Default)]
pub struct Assigned {
    /// Every Service of the folder, in name order, with `status.loadBalancer` (and the pool
    /// annotation) as the controller would have written them.
    pub services: Vec<Service>,
    /// The events the controller would have recorded (assignments, allocation failures), as
    /// `(namespace/name, warning, reason, message)`.
    pub events: Vec<(String, bool, &'static str, String)>,
}

/// A Service read from a file has no cluster IPs, which the controller reads the families
/// from: give it placeholders of the families it asks for (`spec.ipFamilies`; else both for
/// a dual-stack policy; else those of the addresses it requests; else IPv4).
fn with_families(mut svc: Service) -> Service {
    let Some(spec) = svc.spec.as_mut() else {
        return svc;
    };
    let has = spec.cluster_ips.as_ref().is_some_and(|v| !v.is_empty())
        || spec.cluster_ip.as_ref().is_some_and(|ip| !ip.is_empty());
    if has {
        return svc;
    }
    let mut families: Vec<String> = spec.ip_families.clone().unwrap_or_default();
    if families.is_empty() {
        let policy = spec.ip_family_policy.as_deref().unwrap_or("SingleStack");
        if policy != "SingleStack" {
            families = vec!["IPv4".into(), "IPv6".into()];
        } else {
            let requested = svc
                .metadata
                .annotations
                .iter()
                .flatten()
                .filter(|(k, _)| k.ends_with("/loadBalancerIPs"))
                .flat_map(|(_, v)| {
                    v.split(',')
                        .map(str::trim)
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .chain(spec.load_balancer_ip.clone())
                .filter_map(|ip| ip.parse::<std::net::IpAddr>().ok())
                .map(|ip| if ip.is_ipv4() { "IPv4" } else { "IPv6" }.to_owned())
                .collect::<Vec<_>>();
            families = requested.into_iter().take(1).collect();
            if families.is_empty() {
                families = vec!["IPv4".into()];
            }
        }
    }
    let ips: Vec<String> = families
        .iter()
        .map(|f| if f == "IPv6" { "::" } else { "0.0.0.0" }.to_owned())
        .collect();
    spec.cluster_ip = ips.first().cloned();
    spec.cluster_ips = Some(ips);
    spec.ip_families = Some(families);
    svc
}

/// Whether a Service names the addresses it wants.
fn requests_address(svc: &Service) -> bool {
    svc.metadata
        .annotations
        .iter()
        .flatten()
        .any(|(k, _)| k.ends_with("/loadBalancerIPs"))
        || svc
            .spec
            .as_ref()
            .and_then(|s| s.load_balancer_ip.as_ref())
            .is_some_and(|ip| !ip.is_empty())
}

fn key(svc: &Service) -> (String, String) {
    (
        svc.metadata.namespace.clone().unwrap_or_default(),
        svc.metadata.name.clone().unwrap_or_default(),
    )
}

/// Assigns addresses to the `LoadBalancer` Services of `objects` (of load-balancer class
/// `lb_class`; `None`: Services without a class) from its pools. Without a valid
/// configuration the Services are returned as they are.
pub fn assign(objects: &Objects, lb_class: Option<&str>) -> Assigned {
    let mut sorted = objects.clone();
    sorted.services = std::mem::take(&mut sorted.services)
        .into_iter()
        .map(with_families)
        .collect();
    sorted.services.sort_by_key(key);
    let mut reconciler = Reconciler::new("", lb_class.map(str::to_owned));
    // First what the Services already hold, then the addresses Services ask for, then the
    // rest: each pass sees the Services in name order.
    let restored = reconciler.pass(&sorted);
    let mut early = sorted.clone();
    early.services.retain(|s| {
        requests_address(s) || lb_k8s::service::ingress_ips(s).is_some_and(|v| !v.is_empty())
    });
    let requested = reconciler.pass(&early);
    let plan = reconciler.pass(&sorted);
    let passes = [restored, requested, plan];
    let mut services = sorted.services;
    for write in passes.iter().flat_map(|p| &p.writes) {
        let target = services
            .iter_mut()
            .find(|s| key(s) == (write.key.namespace().into(), write.key.name().into()));
        if let Some(svc) = target {
            *svc = write.object();
        }
    }
    let mut events: Vec<(String, bool, &'static str, String)> = passes
        .iter()
        .flat_map(|p| &p.events)
        .map(|e| {
            (
                e.key.to_string(),
                e.event.type_ == lb_k8s::service::EventType::Warning,
                e.event.reason,
                e.event.message.clone(),
            )
        })
        .collect();
    events.sort();
    events.dedup();
    Assigned { services, events }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = "
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan}
spec:
  addresses: [192.0.2.200-192.0.2.203]
";

    fn service(name: &str, extra: &str) -> String {
        format!(
            "---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: default{extra}}}
spec:
  type: LoadBalancer
  ports: [{{port: 80}}]
"
        )
    }

    fn ips(a: &Assigned) -> Vec<(String, Vec<std::net::IpAddr>)> {
        a.services
            .iter()
            .map(|s| {
                (
                    s.metadata.name.clone().unwrap_or_default(),
                    lb_k8s::service::ingress_ips(s).unwrap_or_default(),
                )
            })
            .collect()
    }

    fn objects(docs: &[String]) -> Objects {
        let mut o = Objects::default();
        o.parse_yaml(&format!("{POOL}{}", docs.concat()), "test")
            .expect("parses");
        o
    }

    #[test]
    fn the_same_folder_in_any_order_gives_the_same_addresses() {
        let a = objects(&[service("a", ""), service("b", ""), service("c", "")]);
        let b = objects(&[service("c", ""), service("a", ""), service("b", "")]);
        let (x, y) = (assign(&a, None), assign(&b, None));
        assert_eq!(ips(&x), ips(&y));
        let got = ips(&x);
        assert_eq!(
            got[0].1,
            vec![
                "192.0.2.200"
                    .parse::<std::net::IpAddr>()
                    .expect("an address")
            ]
        );
        assert_eq!(
            got[2].1,
            vec![
                "192.0.2.202"
                    .parse::<std::net::IpAddr>()
                    .expect("an address")
            ]
        );
    }

    #[test]
    fn a_requested_address_is_honoured_before_the_others() {
        let pinned = ", annotations: {metallb.io/loadBalancerIPs: 192.0.2.200}";
        let o = objects(&[service("a", ""), service("z", pinned)]);
        let got = ips(&assign(&o, None));
        assert_eq!(
            got[1].1,
            vec![
                "192.0.2.200"
                    .parse::<std::net::IpAddr>()
                    .expect("an address")
            ]
        );
        assert_eq!(
            got[0].1,
            vec![
                "192.0.2.201"
                    .parse::<std::net::IpAddr>()
                    .expect("an address")
            ]
        );
    }

    #[test]
    fn an_exhausted_pool_is_an_event_not_a_panic() {
        let docs: Vec<String> = (0..6).map(|i| service(&format!("s{i}"), "")).collect();
        let a = assign(&objects(&docs), None);
        let assigned = ips(&a).iter().filter(|(_, v)| !v.is_empty()).count();
        assert_eq!(assigned, 4);
        assert!(!a.events.is_empty());
    }
}
