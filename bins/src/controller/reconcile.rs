//! The controller's decisions, with no Kubernetes client: a [`Snapshot`](lb_k8s::source::Snapshot)'s
//! objects in, a [`Plan`] of status writes, events and a configuration report out.
//!
//! Every pass looks at every Service (level-triggered, as upstream's "reprocess all"), so
//! there is no trigger bookkeeping to get wrong. Writes that were sent but are not yet visible
//! in the snapshot are remembered ([`Reconciler::written`]) so a stale snapshot neither
//! re-writes nor re-allocates them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{LoadBalancerStatus, Service};
use lb_ipam::{Allocator, Convergence, Labels, PoolCounters, ServiceKey};
use lb_k8s::config::{self, Config, Objects, Options};
use lb_k8s::service::{self, Event, Translation};

/// One status write: `PUT …/services/<name>/status` of `base` with `status` and `annotations`
/// (the pool annotation), conditional on `base`'s resourceVersion.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// The Service.
    pub key: ServiceKey,
    /// The live object the write is computed from (carries the resourceVersion).
    pub base: Service,
    /// The new `status.loadBalancer`.
    pub status: LoadBalancerStatus,
    /// The new annotations (the pool annotation set or removed).
    pub annotations: BTreeMap<String, String>,
}

impl Write {
    /// The object to send: `base` with the new status and annotations.
    pub fn object(&self) -> Service {
        let mut svc = self.base.clone();
        svc.metadata.annotations = Some(self.annotations.clone());
        svc.metadata.managed_fields = None;
        let mut st = svc.status.unwrap_or_default();
        st.load_balancer = Some(self.status.clone());
        svc.status = Some(st);
        svc
    }
}

/// An event to record on a Service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceEvent {
    /// The Service.
    pub key: ServiceKey,
    /// Its UID (for `involvedObject`).
    pub uid: Option<String>,
    /// The event.
    pub event: Event,
}

/// What the configuration reconciler concluded, when it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigReport {
    /// The pools parsed; they are in force.
    Valid,
    /// The pools did not parse; the last good ones stay in force.
    Invalid(String),
}

/// The side effects of one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Status writes.
    pub writes: Vec<Write>,
    /// Events.
    pub events: Vec<ServiceEvent>,
    /// A new configuration verdict, if it changed.
    pub config: Option<ConfigReport>,
    /// Services looked at in this pass (for `metallb_k8s_client_updates_total`).
    pub services: usize,
}

#[derive(Debug, Clone)]
struct Pending {
    base_rv: Option<String>,
    ips: Vec<IpAddr>,
    pool: Option<String>,
}

/// The controller's state between passes.
#[derive(Debug)]
pub struct Reconciler {
    lb_class: Option<String>,
    options: Options,
    allocator: Allocator,
    config: Option<Config>,
    verdict: Option<ConfigReport>,
    restored: bool,
    pending: HashMap<ServiceKey, Pending>,
    last_events: HashMap<ServiceKey, Vec<Event>>,
}

/// The addresses and pool annotation a Service shows.
fn live_state(svc: &Service) -> (Vec<IpAddr>, Option<String>) {
    let ips = service::ingress_ips(svc).unwrap_or_default();
    let pool = svc
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(lb_ipam::annotations::IP_ALLOCATED_FROM_POOL))
        .cloned();
    (ips, pool)
}

fn key_of(svc: &Service) -> ServiceKey {
    ServiceKey::new(
        svc.metadata.namespace.as_deref().unwrap_or_default(),
        svc.metadata.name.as_deref().unwrap_or_default(),
    )
}

fn ips_of(status: &LoadBalancerStatus) -> Vec<IpAddr> {
    status
        .ingress
        .iter()
        .flatten()
        .filter_map(|i| i.ip.as_deref()?.parse().ok())
        .collect()
}

impl Reconciler {
    /// A controller for the MetalLB namespace `namespace` and the load-balancer class
    /// `lb_class` (`None` or empty: Services without a class).
    pub fn new(namespace: &str, lb_class: Option<String>) -> Self {
        Reconciler {
            lb_class: lb_class.filter(|c| !c.is_empty()),
            options: Options {
                namespace: Some(namespace.to_owned()),
                ..Options::default()
            },
            allocator: Allocator::new(),
            config: None,
            verdict: None,
            restored: false,
            pending: HashMap::new(),
            last_events: HashMap::new(),
        }
    }

    /// Whether a configuration has been loaded and every Service restored (`/readyz`).
    pub fn ready(&self) -> bool {
        self.restored
    }

    /// Whether a configuration has loaded at least once.
    pub fn config_loaded(&self) -> bool {
        self.config.is_some()
    }

    /// Whether the last configuration seen was refused (the previous one is in force).
    pub fn config_stale(&self) -> bool {
        matches!(self.verdict, Some(ConfigReport::Invalid(_)))
    }

    /// The allocator (for metrics and tests).
    pub fn allocator(&self) -> &Allocator {
        &self.allocator
    }

    /// Counters of every configured pool, in name order.
    pub fn counters(&self) -> Vec<(String, PoolCounters)> {
        self.allocator
            .pools()
            .iter()
            .filter_map(|p| Some((p.name().to_owned(), self.allocator.counters(p.name())?)))
            .collect()
    }

    /// A write was sent and accepted.
    pub fn written(&mut self, _key: &ServiceKey) {}

    /// A write failed (conflict or transport): forget it, so the next pass starts again from
    /// the live object.
    pub fn write_failed(&mut self, key: &ServiceKey) {
        self.pending.remove(key);
    }

    fn reconcile_config(&mut self, objects: &Objects, plan: &mut Plan) {
        // The controller reads pools, communities and namespaces only (spec §2.7).
        let input = Objects {
            pools: objects.pools.clone(),
            communities: objects.communities.clone(),
            namespaces: objects.namespaces.clone(),
            ..Objects::default()
        };
        let verdict = match config::assemble(&input, &self.options) {
            Ok(c) => {
                if self.config.as_ref().map(|old| &old.pools) != Some(&c.pools) {
                    let orphans = self.allocator.set_pools(c.pools.clone());
                    if !orphans.is_empty() {
                        tracing::info!(orphans = orphans.len(), "pools changed");
                    }
                }
                self.config = Some(c);
                ConfigReport::Valid
            }
            Err(e) => {
                tracing::error!(error = %e, "configuration refused, keeping the last good one");
                ConfigReport::Invalid(e.to_string())
            }
        };
        if self.verdict.as_ref() != Some(&verdict) {
            plan.config = Some(verdict.clone());
            self.verdict = Some(verdict);
        }
    }

    /// One pass over a snapshot.
    pub fn pass(&mut self, objects: &Objects) -> Plan {
        let mut plan = Plan::default();
        self.reconcile_config(objects, &mut plan);
        if self.config.is_none() {
            return plan;
        }
        let ns_labels: HashMap<&str, Labels> = objects
            .namespaces
            .iter()
            .filter_map(|n| {
                Some((
                    n.metadata.name.as_deref()?,
                    n.metadata.labels.clone().unwrap_or_default(),
                ))
            })
            .collect();
        let empty = Labels::default();
        let mut seen: HashSet<ServiceKey> = HashSet::with_capacity(objects.services.len());
        // (live object, request, effective current, deprecated keys)
        let mut requests: Vec<(&Service, lb_ipam::Service, Vec<IpAddr>, Vec<String>)> = Vec::new();
        for svc in &objects.services {
            let key = key_of(svc);
            seen.insert(key.clone());
            let ns = svc.metadata.namespace.as_deref().unwrap_or_default();
            let labels = ns_labels.get(ns).unwrap_or(&empty);
            let (live_ips, live_pool) = live_state(svc);
            // A write we sent that the snapshot does not show yet stands for the live state.
            let effective = match self.pending.get(&key) {
                Some(p) if p.base_rv == svc.metadata.resource_version => {
                    Some((p.ips.clone(), p.pool.clone()))
                }
                Some(_) => {
                    self.pending.remove(&key);
                    None
                }
                None => None,
            };
            let (eff_ips, eff_pool) = effective.unwrap_or((live_ips.clone(), live_pool));
            plan.services += 1;
            match service::translate(svc, self.lb_class.as_deref(), labels) {
                Translation::NotOurs => {}
                Translation::Clear { event } => {
                    if live_ips.is_empty() {
                        // Reused only once the status no longer shows them.
                        self.allocator.release(&key);
                    }
                    if !eff_ips.is_empty() || eff_pool.is_some() {
                        self.write(&mut plan, svc, &key, Vec::new(), None, &[]);
                        if let Some(event) = event {
                            self.emit(&mut plan, svc, &key, vec![event]);
                        }
                    }
                }
                Translation::Invalid { event, current } => {
                    // The Service keeps what it holds: make sure nobody else takes it (after a
                    // restart the allocator has not seen it yet).
                    if !current.is_empty() && self.allocator.assignment(&key).is_none() {
                        let families = match current.as_slice() {
                            [ip] => lb_ipam::FamilyRequest::Single(lb_ipam::Family::of(ip)),
                            _ => lb_ipam::FamilyRequest::RequireDual,
                        };
                        let hold = lb_ipam::Service::new(key.namespace(), key.name())
                            .with_families(families);
                        if let Err(e) = self.allocator.assign(&hold, &current) {
                            tracing::warn!(service = %key, error = %e, "cannot hold the addresses of an invalid request");
                        }
                    }
                    self.emit(&mut plan, svc, &key, vec![event]);
                }
                Translation::Request {
                    service,
                    deprecated,
                    ..
                } => requests.push((svc, service, eff_ips, deprecated)),
            }
        }
        // Deleted Services.
        let gone: Vec<ServiceKey> = self
            .allocator
            .assignments()
            .map(|(k, _)| k.clone())
            .filter(|k| !seen.contains(k))
            .collect();
        for k in &gone {
            self.allocator.release(k);
        }
        self.pending.retain(|k, _| seen.contains(k));
        self.last_events.retain(|k, _| seen.contains(k));

        let results: Vec<(usize, Convergence)> = if !self.restored {
            // First pass: every held address back before anything new (spec §2.8).
            let input: Vec<(lb_ipam::Service, Vec<IpAddr>)> = requests
                .iter()
                .map(|(_, s, cur, _)| (s.clone(), cur.clone()))
                .collect();
            let index: HashMap<ServiceKey, usize> = requests
                .iter()
                .enumerate()
                .map(|(i, (_, s, _, _))| (s.key.clone(), i))
                .collect();
            self.restored = true;
            self.allocator
                .restore(input)
                .into_iter()
                .filter_map(|(k, c)| Some((*index.get(&k)?, c)))
                .collect()
        } else {
            // Holders first, then pending Services, each in key order: a pass's result does
            // not depend on the order objects arrived in.
            let mut order: Vec<usize> = (0..requests.len()).collect();
            order.sort_by(|&a, &b| {
                let (ra, rb) = (&requests[a], &requests[b]);
                (ra.2.is_empty(), &ra.1.key).cmp(&(rb.2.is_empty(), &rb.1.key))
            });
            order
                .into_iter()
                .map(|i| {
                    let (_, s, cur, _) = &requests[i];
                    (i, self.allocator.converge(s, cur))
                })
                .collect()
        };
        for (i, c) in results {
            let (svc, request, current, deprecated) = &requests[i];
            let key = &request.key;
            let (ips, pool) = match &c.outcome {
                Ok(a) => {
                    let ordered = service::ingress_status(&a.ips, current, &request.requested);
                    (ips_of(&ordered), Some(a.pool.clone()))
                }
                Err(e) => {
                    tracing::debug!(service = %key, error = %e, "no address");
                    (Vec::new(), None)
                }
            };
            let (_, live_pool) = live_state(svc);
            let eff_pool = match self.pending.get(key) {
                Some(p) => p.pool.clone(),
                None => live_pool,
            };
            let writing = ips != *current || pool != eff_pool;
            if writing {
                self.write(&mut plan, svc, key, ips, pool, &request.requested);
            }
            let events = lb_k8s::service::convergence_events(key, &c, deprecated, writing);
            self.emit(&mut plan, svc, key, events);
        }
        plan
    }

    fn write(
        &mut self,
        plan: &mut Plan,
        svc: &Service,
        key: &ServiceKey,
        ips: Vec<IpAddr>,
        pool: Option<String>,
        requested: &[IpAddr],
    ) {
        let status = service::ingress_status(&ips, &ips, requested);
        let annotations =
            service::with_pool_annotation(svc.metadata.annotations.as_ref(), pool.as_deref());
        self.pending.insert(
            key.clone(),
            Pending {
                base_rv: svc.metadata.resource_version.clone(),
                ips,
                pool,
            },
        );
        plan.writes.push(Write {
            key: key.clone(),
            base: svc.clone(),
            status,
            annotations,
        });
    }

    /// Records `events` unless they repeat the last ones emitted for this Service.
    fn emit(&mut self, plan: &mut Plan, svc: &Service, key: &ServiceKey, events: Vec<Event>) {
        if events.is_empty() {
            self.last_events.remove(key);
            return;
        }
        if self.last_events.get(key) == Some(&events) {
            return;
        }
        for event in &events {
            plan.events.push(ServiceEvent {
                key: key.clone(),
                uid: svc.metadata.uid.clone(),
                event: event.clone(),
            });
        }
        self.last_events.insert(key.clone(), events);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use lb_k8s::crd::IPAddressPool;
    use serde_json::json;

    const NS: &str = "metallb-system";

    fn pool(name: &str, addresses: &[&str]) -> IPAddressPool {
        serde_json::from_value(json!({
            "apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"addresses": addresses},
        }))
        .unwrap()
    }

    fn svc(name: &str, rv: &str, ingress: &[&str]) -> Service {
        let annotations = if ingress.is_empty() {
            json!({})
        } else {
            json!({"metallb.io/ip-allocated-from-pool": "p"})
        };
        let ingress: Vec<_> = ingress.iter().map(|ip| json!({"ip": ip})).collect();
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default", "resourceVersion": rv,
                         "annotations": annotations},
            "spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"],
                     "ports": [{"port": 80, "protocol": "TCP"}]},
            "status": {"loadBalancer": {"ingress": ingress}},
        }))
        .unwrap()
    }

    fn objects(pools: Vec<IPAddressPool>, services: Vec<Service>) -> Objects {
        Objects {
            pools,
            services,
            ..Objects::default()
        }
    }

    fn ips(w: &Write) -> Vec<IpAddr> {
        ips_of(&w.status)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn nothing_before_a_config() {
        let mut r = Reconciler::new(NS, None);
        let plan = r.pass(&objects(vec![], vec![svc("a", "1", &[])]));
        // No pools is a valid (empty) config: the Service gets nothing and no write.
        assert!(plan.writes.is_empty());
        assert_eq!(plan.config, Some(ConfigReport::Valid));
    }

    #[test]
    fn allocates_once_even_from_a_stale_snapshot() {
        let mut r = Reconciler::new(NS, None);
        let pools = vec![pool("p", &["192.0.2.10-192.0.2.12"])];
        let plan = r.pass(&objects(pools.clone(), vec![svc("a", "1", &[])]));
        assert_eq!(plan.writes.len(), 1);
        assert_eq!(ips(&plan.writes[0]), [ip("192.0.2.10")]);
        assert_eq!(
            plan.writes[0]
                .annotations
                .get(lb_ipam::annotations::IP_ALLOCATED_FROM_POOL)
                .map(String::as_str),
            Some("p")
        );
        assert!(plan.events.iter().any(|e| e.event.reason == "IPAllocated"));
        r.written(&plan.writes[0].key);
        // The snapshot does not show the write yet, and another Service arrives.
        let plan = r.pass(&objects(
            pools.clone(),
            vec![svc("a", "1", &[]), svc("b", "1", &[])],
        ));
        assert_eq!(plan.writes.len(), 1, "{plan:?}");
        assert_eq!(plan.writes[0].key.name(), "b");
        assert_eq!(ips(&plan.writes[0]), [ip("192.0.2.11")]);
        // Both writes visible: nothing to do.
        let plan = r.pass(&objects(
            pools,
            vec![
                svc("a", "2", &["192.0.2.10"]),
                svc("b", "2", &["192.0.2.11"]),
            ],
        ));
        assert!(plan.writes.is_empty());
        assert!(plan.events.is_empty());
    }

    #[test]
    fn restart_restores_before_allocating() {
        let pools = vec![pool("p", &["192.0.2.10-192.0.2.11"])];
        // A pending Service sorts before the holders: it must not take their addresses.
        let services = vec![
            svc("a-pending", "1", &[]),
            svc("b", "1", &["192.0.2.11"]),
            svc("c", "1", &["192.0.2.10"]),
        ];
        let mut r = Reconciler::new(NS, None);
        let plan = r.pass(&objects(pools, services));
        assert!(r.ready());
        assert!(plan.writes.is_empty(), "{:?}", plan.writes);
        assert!(
            plan.events
                .iter()
                .any(|e| e.key.name() == "a-pending" && e.event.reason == "AllocationFailed")
        );
    }

    #[test]
    fn a_failure_is_reported_once() {
        let pools = vec![pool("p", &["192.0.2.10/32"])];
        let services = vec![svc("a", "1", &["192.0.2.10"]), svc("b", "1", &[])];
        let mut r = Reconciler::new(NS, None);
        let first = r.pass(&objects(pools.clone(), services.clone()));
        assert_eq!(first.events.len(), 1);
        let again = r.pass(&objects(pools, services));
        assert!(again.events.is_empty());
    }

    #[test]
    fn invalid_config_keeps_the_last_good_one() {
        let good = vec![pool("p", &["192.0.2.10/31"])];
        let mut r = Reconciler::new(NS, None);
        r.pass(&objects(good.clone(), vec![svc("a", "1", &["192.0.2.10"])]));
        let mut bad = good.clone();
        bad.push(pool("q", &["192.0.2.10/32"]));
        let plan = r.pass(&objects(
            bad.clone(),
            vec![svc("a", "1", &["192.0.2.10"]), svc("b", "1", &[])],
        ));
        assert!(matches!(plan.config, Some(ConfigReport::Invalid(_))));
        assert!(r.config_stale() && r.config_loaded());
        // The old pools still allocate.
        assert_eq!(plan.writes.len(), 1);
        assert_eq!(ips(&plan.writes[0]), [ip("192.0.2.11")]);
        // Same bad config again: no new report.
        let plan = r.pass(&objects(
            bad,
            vec![
                svc("a", "1", &["192.0.2.10"]),
                svc("b", "2", &["192.0.2.11"]),
            ],
        ));
        assert_eq!(plan.config, None);
        let plan = r.pass(&objects(
            good,
            vec![
                svc("a", "1", &["192.0.2.10"]),
                svc("b", "2", &["192.0.2.11"]),
            ],
        ));
        assert_eq!(plan.config, Some(ConfigReport::Valid));
        assert!(!r.config_stale());
    }

    #[test]
    fn released_address_waits_for_the_status_to_drop_it() {
        let pools = vec![pool("p", &["192.0.2.10/32"])];
        let mut r = Reconciler::new(NS, None);
        r.pass(&objects(
            pools.clone(),
            vec![svc("a", "1", &["192.0.2.10"])],
        ));
        let mut cluster_ip = svc("a", "2", &["192.0.2.10"]);
        cluster_ip.spec.as_mut().unwrap().type_ = Some("ClusterIP".into());
        let plan = r.pass(&objects(
            pools.clone(),
            vec![cluster_ip.clone(), svc("b", "1", &[])],
        ));
        // a is cleared; b does not get the address while a's status still shows it.
        let a = plan.writes.iter().find(|w| w.key.name() == "a").unwrap();
        assert!(ips(a).is_empty());
        assert!(plan.writes.iter().all(|w| w.key.name() != "b"));
        // The write is visible: now b gets it.
        let mut cleared = cluster_ip;
        cleared.metadata.resource_version = Some("3".into());
        cleared.status = None;
        cleared.metadata.annotations = None;
        let plan = r.pass(&objects(pools, vec![cleared, svc("b", "1", &[])]));
        let b = plan.writes.iter().find(|w| w.key.name() == "b").unwrap();
        assert_eq!(ips(b), [ip("192.0.2.10")]);
    }

    #[test]
    fn deleted_service_frees_its_address() {
        let pools = vec![pool("p", &["192.0.2.10/32"])];
        let mut r = Reconciler::new(NS, None);
        r.pass(&objects(
            pools.clone(),
            vec![svc("a", "1", &["192.0.2.10"])],
        ));
        let plan = r.pass(&objects(pools, vec![svc("b", "1", &[])]));
        assert_eq!(ips(&plan.writes[0]), [ip("192.0.2.10")]);
        let c = r.counters();
        assert_eq!(c[0].1.v4.assigned, 1);
    }

    #[test]
    fn invalid_request_keeps_its_addresses_across_a_restart() {
        let pools = vec![pool("p", &["192.0.2.10/32"])];
        let mut bad = svc("a", "1", &["192.0.2.10"]);
        bad.spec.as_mut().unwrap().load_balancer_ip = Some("192.0.2.10".into());
        bad.metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert("metallb.io/loadBalancerIPs".into(), "192.0.2.10".into());
        let mut r = Reconciler::new(NS, None);
        let plan = r.pass(&objects(pools, vec![bad, svc("b", "1", &[])]));
        assert!(plan.writes.is_empty(), "{:?}", plan.writes);
        assert!(
            plan.events
                .iter()
                .any(|e| e.key.name() == "a" && e.event.reason == "LoadBalancerFailed")
        );
    }

    #[test]
    fn other_class_is_left_alone() {
        let pools = vec![pool("p", &["192.0.2.10/32"])];
        let mut s = svc("a", "1", &[]);
        s.spec.as_mut().unwrap().load_balancer_class = Some("example.com/x".into());
        let mut r = Reconciler::new(NS, None);
        let plan = r.pass(&objects(pools, vec![s]));
        assert!(plan.writes.is_empty() && plan.events.is_empty());
    }
}
