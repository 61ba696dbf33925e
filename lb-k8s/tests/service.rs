//! Service translation (spec §2): which Services are ours, the request lb-ipam gets, the status
//! and the events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;
use lb_ipam::{Allocator, Family, FamilyRequest, Labels, PoolSpec, Pools};
use lb_k8s::service::{Translation, convergence_events, ingress_status, reason, translate};

fn service(yaml: &str) -> Service {
    let v: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
    serde_json::from_value(v).unwrap()
}

const WEB: &str = "
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: {tier: front}
  annotations:
    metallb.universe.tf/address-pool: old
    metallb.io/address-pool: new
    metallb.universe.tf/allow-shared-ip: key
spec:
  type: LoadBalancer
  ipFamilyPolicy: PreferDualStack
  clusterIPs: [10.96.0.1, 'fd00::1']
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 443}, {port: 53, protocol: UDP}]
status:
  loadBalancer:
    ingress: [{ip: '2001:db8::5'}, {ip: 192.0.2.5}]
";

#[test]
fn a_request_from_annotations_and_spec() {
    let Translation::Request {
        service,
        current,
        deprecated,
    } = translate(&service(WEB), None, &Labels::new())
    else {
        panic!("ours");
    };
    assert_eq!(service.pool.as_deref(), Some("new"), "metallb.io/ wins");
    assert_eq!(
        service.families,
        FamilyRequest::PreferDual {
            primary: Family::V4
        }
    );
    let sharing = service.sharing.unwrap();
    assert_eq!((sharing.key(), sharing.backend()), ("key", "app=web"));
    assert_eq!(service.ports.len(), 2);
    assert_eq!(current.len(), 2);
    assert_eq!(
        deprecated,
        [
            "metallb.universe.tf/address-pool",
            "metallb.universe.tf/allow-shared-ip"
        ]
    );
}

#[test]
fn class_type_and_cluster_ip_rules() {
    let svc = service(WEB);
    assert_eq!(
        translate(&svc, Some("other"), &Labels::new()),
        Translation::NotOurs
    );
    let mut classed = svc.clone();
    classed.spec.as_mut().unwrap().load_balancer_class = Some("other".into());
    assert_eq!(
        translate(&classed, None, &Labels::new()),
        Translation::NotOurs
    );
    assert!(matches!(
        translate(&classed, Some("other"), &Labels::new()),
        Translation::Request { .. }
    ));
    let mut cluster = svc.clone();
    cluster.spec.as_mut().unwrap().type_ = Some("ClusterIP".into());
    assert_eq!(
        translate(&cluster, None, &Labels::new()),
        Translation::Clear { event: None }
    );
    let mut headless = svc.clone();
    headless.spec.as_mut().unwrap().cluster_ips = Some(vec!["None".into()]);
    assert_eq!(
        translate(&headless, None, &Labels::new()),
        Translation::Clear { event: None }
    );
    let mut single = svc.clone();
    let spec = single.spec.as_mut().unwrap();
    spec.ip_family_policy = Some("RequireDualStack".into());
    spec.cluster_ips = Some(vec!["10.96.0.1".into()]);
    match translate(&single, None, &Labels::new()) {
        Translation::Clear { event: Some(e) } => {
            assert_eq!(e.reason, reason::NOT_ENOUGH_CLUSTER_IPS)
        }
        other => panic!("{other:?}"),
    }
    let mut bad = svc.clone();
    bad.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert("metallb.io/loadBalancerIPs".into(), "nonsense".into());
    match translate(&bad, None, &Labels::new()) {
        Translation::Invalid { event, current } => {
            assert_eq!(
                event.reason,
                reason::LOAD_BALANCER_FAILED,
                "it holds addresses"
            );
            assert_eq!(current.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    bad.status = None;
    match translate(&bad, None, &Labels::new()) {
        Translation::Invalid { event, .. } => assert_eq!(event.reason, reason::ALLOCATION_FAILED),
        other => panic!("{other:?}"),
    }
}

#[test]
fn allocation_to_status_and_events() {
    let spec = PoolSpec {
        addresses: vec!["192.0.2.0/24".into(), "2001:db8::/64".into()],
        ..Default::default()
    };
    let mut alloc = Allocator::with_pools(Pools::from_specs([("new", &spec)]).unwrap());
    let Translation::Request {
        service,
        current,
        deprecated,
    } = translate(&service(WEB), None, &Labels::new())
    else {
        panic!("ours");
    };
    let conv = alloc.converge(&service, &current);
    let got = conv.outcome.clone().unwrap();
    // The status keeps the order it had (the L2 election hashes ingress[0]).
    let status = ingress_status(&got.ips, &current, &service.requested);
    let ips: Vec<String> = status
        .ingress
        .unwrap()
        .iter()
        .map(|i| i.ip.clone().unwrap())
        .collect();
    assert_eq!(ips, ["2001:db8::5", "192.0.2.5"]);
    let events = convergence_events(&service.key, &conv, &deprecated, true);
    assert!(
        events
            .iter()
            .all(|e| e.reason == reason::DEPRECATED_ANNOTATION)
    );
    assert_eq!(events.len(), 2);
    assert!(convergence_events(&service.key, &conv, &deprecated, false).is_empty());
    // A new service: IPAllocated with Go's %q list.
    let fresh = lb_ipam::Service::new("shop", "api");
    let conv = alloc.converge(&fresh, &[]);
    let events = convergence_events(&fresh.key, &conv, &[], true);
    assert_eq!(events[0].reason, reason::IP_ALLOCATED);
    assert_eq!(events[0].message, "Assigned IP [\"192.0.2.0\"]");
    let _: Vec<IpAddr> = Vec::new();
}
