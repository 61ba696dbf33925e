//! Scripted operation sequences with invariant checks, shared by the property tests, the
//! cargo-fuzz target (`fuzz/fuzz_targets/ipam_script.rs`) and the corpus replay test.
//!
//! [`run`] decodes arbitrary bytes into a sequence of operations on a small address universe
//! (documentation ranges only) — new configurations, converges with honest or hostile status,
//! releases, explicit assignments, pool requests, restores — applies them to an [`Allocator`]
//! and panics with a description if any invariant breaks:
//!
//! - the allocator's own [`Allocator::check_consistency`] (no address held by two services
//!   unless they are sharing-compatible, counters equal a recount, indexes agree);
//! - every assignment lies in a pool that admits its service, after the controller-style
//!   re-converge that follows a configuration change;
//! - a fresh allocation is first-fit: no earlier address of its pool was usable;
//! - a failed configuration or operation changes nothing it should not;
//! - restore is idempotent and keeps every valid assignment.
//!
//! Panicking is the point here: this module is a test oracle, and a panic is how libFuzzer and
//! proptest learn about a bug. The allocator itself never panics.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::{
    Allocator, Family, FamilyRequest, LabelSelector, Note, Pool, PoolSpec, Pools, Port, Service,
    ServiceAllocationSpec, ServiceKey,
};

/// At most this many operations are decoded from one input.
pub const MAX_OPS: usize = 200;

const SERVICES: usize = 12;

struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn below(&mut self, n: u8) -> u8 {
        self.u8() % n
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// An `addresses` entry of the universe: small ranges in 192.0.2.0/24, 198.51.100.0/24 and
/// 2001:db8::/32, plus a few huge IPv6 prefixes.
fn entry(b: &mut Bytes) -> String {
    let x = b.u8();
    match b.below(6) {
        0 => format!("192.0.2.{}/{}", x & 0xf8, 29 + b.below(4)),
        1 => {
            let len = b.below(8);
            format!("198.51.100.{} - 198.51.100.{}", x, x.saturating_add(len))
        }
        2 => format!("2001:db8::{:x}/{}", x & 0xf8, 125 + b.below(4)),
        3 => ["2001:db8:1::/64", "2001:db8:2::/48", "2001:db8:3::/120"][usize::from(x % 3)].into(),
        4 => format!("192.0.2.{}-192.0.2.{}", x, x.wrapping_sub(b.below(3))),
        _ => format!("192.0.2.{}", x), // invalid: no mask
    }
}

fn pool_spec(b: &mut Bytes) -> (String, PoolSpec) {
    let name = format!("p{}", b.below(4));
    let n = 1 + b.below(3);
    let addresses = (0..n).map(|_| entry(b)).collect();
    let flags = b.u8();
    let service_allocation = match b.below(5) {
        0 => Some(ServiceAllocationSpec {
            priority: i32::from(b.below(3)),
            ..Default::default()
        }),
        1 => Some(ServiceAllocationSpec {
            priority: i32::from(b.below(3)),
            namespaces: vec![format!("ns{}", b.below(2))],
            ..Default::default()
        }),
        2 => Some(ServiceAllocationSpec {
            priority: i32::from(b.below(3)),
            service_selectors: vec![LabelSelector::from_labels([("app", "a")])],
            namespace_selectors: vec![LabelSelector::from_labels([("team", "t")])],
            ..Default::default()
        }),
        _ => None,
    };
    let spec = PoolSpec {
        addresses,
        auto_assign: (flags & 1 == 0).then_some(flags & 2 == 0),
        avoid_buggy_ips: flags & 4 != 0,
        service_allocation,
    };
    (name, spec)
}

fn config(b: &mut Bytes) -> Result<Pools, crate::Error> {
    let n = 1 + b.below(3);
    let specs: Vec<(String, PoolSpec)> = (0..n).map(|_| pool_spec(b)).collect();
    let pools = specs
        .iter()
        .map(|(name, spec)| Pool::from_spec(name, spec))
        .collect::<Result<Vec<_>, _>>()?;
    Pools::new(pools)
}

fn some_ip(b: &mut Bytes) -> IpAddr {
    let x = b.u8();
    match b.below(4) {
        0 => ip(&format!("192.0.2.{x}")),
        1 => ip(&format!("198.51.100.{x}")),
        2 => ip(&format!("2001:db8::{x:x}")),
        _ => ip(&format!("2001:db8:1::{x:x}")),
    }
}

fn service(b: &mut Bytes, pool_names: &[String]) -> Service {
    let idx = b.below(SERVICES as u8);
    let mut svc = Service::new(&format!("ns{}", idx % 2), &format!("s{idx}"));
    svc.families = match b.below(6) {
        0 | 1 => FamilyRequest::Single(Family::V4),
        2 => FamilyRequest::Single(Family::V6),
        3 => FamilyRequest::PreferDual {
            primary: Family::V4,
        },
        4 => FamilyRequest::PreferDual {
            primary: Family::V6,
        },
        _ => FamilyRequest::RequireDual,
    };
    let portbits = b.u8();
    let menu = [Port::tcp(80), Port::udp(53), Port::tcp(443), Port::tcp(53)];
    svc.ports = menu
        .iter()
        .enumerate()
        .filter(|(i, _)| portbits & (1 << i) != 0)
        .map(|(_, p)| *p)
        .collect();
    let s = b.u8();
    svc = match s % 4 {
        0 => svc,
        1 | 2 => svc.with_sharing("a", if s & 8 != 0 { "x" } else { "" }),
        _ => svc.with_sharing("b", ""),
    };
    if s & 16 != 0 {
        svc.labels.insert("app".into(), "a".into());
    }
    if s & 32 != 0 {
        svc.namespace_labels.insert("team".into(), "t".into());
    }
    let r = b.u8();
    if r.is_multiple_of(5) {
        let name = pool_names
            .get(usize::from(r / 5) % pool_names.len().max(1))
            .cloned()
            .unwrap_or_else(|| "missing".into());
        svc.pool = Some(name);
    }
    if r.is_multiple_of(7) {
        svc.requested = vec![some_ip(b)];
        if r.is_multiple_of(2) {
            svc.requested.push(some_ip(b));
        }
    }
    svc
}

struct World {
    alloc: Allocator,
    /// The last service description applied successfully, per key.
    services: BTreeMap<ServiceKey, Service>,
}

impl World {
    fn pool_names(&self) -> Vec<String> {
        self.alloc
            .pools()
            .iter()
            .map(|p| p.name().to_owned())
            .collect()
    }

    fn current(&self, key: &ServiceKey) -> Vec<IpAddr> {
        self.alloc
            .assignment(key)
            .map(|a| a.ips.to_vec())
            .unwrap_or_default()
    }

    /// Records `svc` as the description in force, unless the operation failed and left the
    /// previous assignment in place.
    fn record(&mut self, svc: Service, ok: bool, had: bool) {
        let kept_old = !ok && had && self.alloc.assignment(&svc.key).is_some();
        if !kept_old {
            self.services.insert(svc.key.clone(), svc);
        }
    }

    fn check(&self, step: usize) {
        if let Err(e) = self.alloc.check_consistency() {
            panic!("step {step}: inconsistent state: {e}");
        }
        for (key, a) in self.alloc.assignments() {
            let Some(svc) = self.services.get(key) else {
                panic!(
                    "step {step}: {key} holds {:?} but was never described",
                    a.ips
                );
            };
            let Some(pool) = self.alloc.pools().get(&a.pool) else {
                panic!(
                    "step {step}: {key} holds {:?} from unknown pool {}",
                    a.ips, a.pool
                );
            };
            assert!(
                pool.admits(key.namespace(), &svc.namespace_labels, &svc.labels),
                "step {step}: {key} holds {:?} from pool {} which does not admit it",
                a.ips,
                a.pool
            );
        }
    }

    /// Every address of the new assignment was the first usable one of its pool's ranges.
    fn check_first_fit(before: &Allocator, after: &Allocator, svc: &Service, step: usize) {
        let Some(a) = after.assignment(&svc.key) else {
            return;
        };
        let Some(pool) = after.pools().get(&a.pool) else {
            return;
        };
        for got in &a.ips {
            'ranges: for (_, range) in pool.ranges() {
                if range.family() != Family::of(got) {
                    continue;
                }
                let (lo, hi) = range.bits();
                // Universe ranges are small, except huge IPv6 prefixes, which always have a
                // free address near their start.
                for bits in (lo..=hi).take(4096) {
                    let cand = crate::family::from_bits(range.family(), bits);
                    if cand == *got {
                        break 'ranges;
                    }
                    let usable = pool.contains(&cand) && before.check_sharing(svc, &cand).is_ok();
                    assert!(
                        !usable,
                        "step {step}: {} got {got} from {} but {cand} came first and was usable",
                        svc.key,
                        pool.name()
                    );
                }
            }
        }
    }

    fn reconverge_all(&mut self, step: usize) {
        let services: Vec<Service> = self.services.values().cloned().collect();
        for svc in services {
            let current = self.current(&svc.key);
            let _ = self.alloc.converge(&svc, &current);
        }
        self.check(step);
    }

    fn restore_check(&self, step: usize) {
        let snapshot: Vec<(Service, Vec<IpAddr>)> = self
            .services
            .values()
            .map(|s| (s.clone(), self.current(&s.key)))
            .collect();
        let mut fresh = Allocator::with_pools(self.alloc.pools().clone());
        fresh.restore(snapshot.clone());
        if let Err(e) = fresh.check_consistency() {
            panic!("step {step}: restore left an inconsistent state: {e}");
        }
        let first: BTreeMap<_, _> = fresh.assignments().map(|(k, a)| (k.clone(), a)).collect();
        for (svc, ips) in &snapshot {
            let Some(now) = first.get(&svc.key) else {
                // Only a service whose status is no longer valid (family or request changed
                // since it was assigned) may lose its addresses.
                assert!(
                    ips.is_empty() || !self.still_valid(svc, ips),
                    "step {step}: restore dropped {}",
                    svc.key
                );
                continue;
            };
            if self.still_valid(svc, ips) {
                assert!(
                    ips.iter().all(|ip| now.ips.contains(ip)),
                    "step {step}: restore moved {} from {ips:?} to {:?}",
                    svc.key,
                    now.ips
                );
            }
        }
        fresh.restore(snapshot);
        let second: BTreeMap<_, _> = fresh.assignments().map(|(k, a)| (k.clone(), a)).collect();
        assert_eq!(
            first, second,
            "step {step}: restoring twice changed the state"
        );
    }

    /// Whether `ips` is what a converge of `svc` would keep.
    fn still_valid(&self, svc: &Service, ips: &[IpAddr]) -> bool {
        let mut probe = self.alloc.clone();
        let c = probe.converge(svc, ips);
        !c.notes.iter().any(|n| matches!(n, Note::Cleared { .. }))
    }
}

/// Decodes `data` into operations and runs them; panics if an invariant breaks.
pub fn run(data: &[u8]) {
    let mut b = Bytes { data, pos: 0 };
    let mut w = World {
        alloc: Allocator::new(),
        services: BTreeMap::new(),
    };
    if let Ok(pools) = config(&mut b) {
        w.alloc.set_pools(pools);
    }
    for step in 0..MAX_OPS {
        if b.done() {
            break;
        }
        let names = w.pool_names();
        match b.below(8) {
            0 => match config(&mut b) {
                Ok(pools) => {
                    let orphans = w.alloc.set_pools(pools);
                    for o in &orphans {
                        assert!(
                            w.alloc.pools().pool_for(&o.ips).is_none(),
                            "step {step}: orphaned {} although {:?} still fits a pool",
                            o.service,
                            o.ips
                        );
                        assert!(w.alloc.assignment(&o.service).is_none());
                    }
                    w.reconverge_all(step);
                }
                Err(_) => {
                    // A rejected configuration is never applied.
                    w.check(step);
                }
            },
            op @ (1 | 2) => {
                let svc = service(&mut b, &names);
                let had = w.alloc.assignment(&svc.key).is_some();
                let current = if op == 1 {
                    w.current(&svc.key)
                } else {
                    (0..b.below(3)).map(|_| some_ip(&mut b)).collect()
                };
                let before = w.alloc.clone();
                let c = w.alloc.converge(&svc, &current);
                if c.notes.iter().any(|n| matches!(n, Note::Allocated(_)))
                    && svc.requested.is_empty()
                    && svc.pool.is_none()
                {
                    let mut base = before;
                    base.release(&svc.key);
                    World::check_first_fit(&base, &w.alloc, &svc, step);
                }
                if c.outcome.is_err() {
                    assert!(
                        w.alloc.assignment(&svc.key).is_none(),
                        "step {step}: failed converge kept addresses"
                    );
                }
                w.record(svc, c.outcome.is_ok(), had);
            }
            3 => {
                let svc = service(&mut b, &names);
                w.alloc.release(&svc.key);
                w.services.remove(&svc.key);
            }
            4 => {
                let svc = service(&mut b, &names);
                let had = w.alloc.assignment(&svc.key).is_some();
                let before = w.alloc.clone();
                let r = w.alloc.allocate(&svc);
                if !had {
                    World::check_first_fit(&before, &w.alloc, &svc, step);
                }
                if r.is_err() && had {
                    assert_eq!(before.assignment(&svc.key), w.alloc.assignment(&svc.key));
                }
                w.record(svc, r.is_ok(), had);
            }
            5 => w.restore_check(step),
            6 => {
                let svc = service(&mut b, &names);
                let had = w.alloc.assignment(&svc.key).is_some();
                let pool = names
                    .get(usize::from(b.u8()) % names.len().max(1))
                    .cloned()
                    .unwrap_or_default();
                let r = w.alloc.allocate_from_pool(&svc, &pool);
                if let Ok(a) = &r {
                    assert!(
                        had || a.pool == pool,
                        "step {step}: asked {pool}, got {}",
                        a.pool
                    );
                }
                w.record(svc, r.is_ok(), had);
            }
            _ => {
                let svc = service(&mut b, &names);
                let had = w.alloc.assignment(&svc.key).is_some();
                let ips: Vec<IpAddr> = (0..1 + b.below(2)).map(|_| some_ip(&mut b)).collect();
                let before = w.alloc.clone();
                let r = w.alloc.assign(&svc, &ips);
                match &r {
                    Ok(a) => assert_eq!(a.ips, ips, "step {step}: assign changed the addresses"),
                    Err(_) => assert_eq!(
                        before.assignment(&svc.key),
                        w.alloc.assignment(&svc.key),
                        "step {step}: failed assign changed the assignment"
                    ),
                }
                w.record(svc, r.is_ok(), had);
            }
        }
        w.check(step);
    }
}
