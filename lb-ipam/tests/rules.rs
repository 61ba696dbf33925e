//! One test per allocation rule, written from upstream MetalLB's behaviour
//! (`internal/allocator`, `controller/service.go`), including its documented quirks.

use std::net::IpAddr;

use lb_ipam::{
    Allocator, ClearReason, Conflict, Error, Family, FamilyRequest, LabelSelector,
    LabelSelectorRequirement, Note, Operator, PoolSpec, Pools, Port, Service,
    ServiceAllocationSpec, ServiceKey,
};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| ip(s)).collect()
}

fn spec(addresses: &[&str]) -> PoolSpec {
    PoolSpec {
        addresses: addresses.iter().map(|s| s.to_string()).collect(),
        ..PoolSpec::default()
    }
}

fn allocator(pools: &[(&str, PoolSpec)]) -> Allocator {
    let pools = Pools::from_specs(pools.iter().map(|(n, s)| (*n, s))).expect("valid pools");
    Allocator::with_pools(pools)
}

fn svc(name: &str) -> Service {
    Service::new("default", name)
}

fn got(a: &mut Allocator, s: &Service) -> Vec<IpAddr> {
    let c = a.converge(s, &[]);
    c.outcome.expect("allocation").ips.to_vec()
}

fn consistent(a: &Allocator) {
    a.check_consistency().expect("consistent");
}

#[test]
fn network_address_is_first_unless_avoid_buggy() {
    let mut a = allocator(&[("p", spec(&["192.0.2.0/24"]))]);
    assert_eq!(got(&mut a, &svc("a")), ips(&["192.0.2.0"]));
    assert_eq!(got(&mut a, &svc("b")), ips(&["192.0.2.1"]));

    let mut s = spec(&["192.0.2.254-192.0.3.2"]);
    s.avoid_buggy_ips = true;
    let mut a = allocator(&[("p", s)]);
    let order: Vec<_> = (0..3)
        .map(|i| got(&mut a, &svc(&format!("s{i}")))[0])
        .collect();
    assert_eq!(order, ips(&["192.0.2.254", "192.0.3.1", "192.0.3.2"]));
    assert_eq!(
        a.converge(&svc("s9"), &[]).outcome,
        Err(Error::NoAvailableIps)
    );
    // Explicit requests for a skipped address fail: no pool hands it out, and the error says
    // why.
    let r = a.converge(&svc("t").with_requested([ip("192.0.2.255")]), &[]);
    assert_eq!(
        r.outcome,
        Err(Error::AvoidedBuggyIp {
            ip: ip("192.0.2.255"),
            pool: "p".into()
        })
    );
    consistent(&a);
}

#[test]
fn avoid_buggy_ips_has_no_effect_on_ipv6() {
    let mut s = spec(&["2001:db8::/126"]);
    s.avoid_buggy_ips = true;
    let mut a = allocator(&[("p", s)]);
    let v6 = svc("a").with_families(FamilyRequest::Single(Family::V6));
    assert_eq!(got(&mut a, &v6), ips(&["2001:db8::"]));
}

#[test]
fn ranges_in_spec_order_first_fit_within_each() {
    let mut a = allocator(&[("p", spec(&["198.51.100.10-198.51.100.11", "192.0.2.0/31"]))]);
    let seq: Vec<_> = (0..4)
        .map(|i| got(&mut a, &svc(&format!("s{i}")))[0])
        .collect();
    assert_eq!(
        seq,
        ips(&["198.51.100.10", "198.51.100.11", "192.0.2.0", "192.0.2.1"])
    );
    // A released address is handed out again before any later one.
    a.release(&svc("s1").key);
    assert_eq!(got(&mut a, &svc("again")), ips(&["198.51.100.11"]));
}

#[test]
fn auto_assign_false_only_for_explicit_requests() {
    let mut manual = spec(&["192.0.2.0/30"]);
    manual.auto_assign = Some(false);
    let mut a = allocator(&[("manual", manual)]);
    assert_eq!(
        a.converge(&svc("a"), &[]).outcome,
        Err(Error::NoAvailableIps)
    );
    let by_pool = svc("b").with_pool("manual");
    assert_eq!(got(&mut a, &by_pool), ips(&["192.0.2.0"]));
    let by_ip = svc("c").with_requested([ip("192.0.2.3")]);
    assert_eq!(got(&mut a, &by_ip), ips(&["192.0.2.3"]));
}

#[test]
fn generic_pools_in_configuration_order() {
    let mut a = allocator(&[
        ("first", spec(&["192.0.2.0/32"])),
        ("second", spec(&["198.51.100.0/30"])),
    ]);
    let c = a.converge(&svc("a"), &[]).outcome.expect("a");
    assert_eq!(c.pool.as_str(), "first");
    let c = a.converge(&svc("b"), &[]).outcome.expect("b");
    assert_eq!(
        (c.pool.as_str(), c.ips.to_vec()),
        ("second", ips(&["198.51.100.0"]))
    );
}

fn pinned(priority: i32, namespaces: &[&str]) -> ServiceAllocationSpec {
    ServiceAllocationSpec {
        priority,
        namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn service_allocation_priority_lower_first_zero_last() {
    let with = |addr: &str, p: i32| {
        let mut s = spec(&[addr]);
        s.service_allocation = Some(pinned(p, &["default"]));
        s
    };
    let mut a = allocator(&[
        ("unset", with("192.0.2.0/32", 0)),
        ("two", with("192.0.2.2/32", 2)),
        ("one", with("192.0.2.1/32", 1)),
        ("generic", spec(&["198.51.100.0/24"])),
    ]);
    let pools: Vec<String> = (0..4)
        .map(|i| {
            a.converge(&svc(&format!("s{i}")), &[])
                .outcome
                .expect("alloc")
                .pool
                .to_string()
        })
        .collect();
    // Pinned pools by priority, then the unprioritised one, then the generic fallback.
    assert_eq!(pools, ["one", "two", "unset", "generic"]);
}

#[test]
fn pinned_pool_is_never_a_generic_fallback() {
    let mut only_ns = spec(&["192.0.2.0/30"]);
    only_ns.service_allocation = Some(pinned(0, &["team-a"]));
    let mut a = allocator(&[("team-a", only_ns)]);
    let other = Service::new("team-b", "x");
    assert_eq!(a.converge(&other, &[]).outcome, Err(Error::NoAvailableIps));
    let mine = Service::new("team-a", "x");
    assert_eq!(got(&mut a, &mine), ips(&["192.0.2.0"]));
    // Asking for the pool does not bypass serviceAllocation.
    let r = a.converge(&other.clone().with_pool("team-a"), &[]);
    assert_eq!(
        r.outcome,
        Err(Error::PoolNotCompatible {
            pool: "team-a".into()
        })
    );
    // Nor does asking for an address in it.
    let r = a.converge(&other.with_requested([ip("192.0.2.3")]), &[]);
    assert_eq!(
        r.outcome,
        Err(Error::PoolNotCompatible {
            pool: "team-a".into()
        })
    );
}

#[test]
fn empty_service_allocation_matches_every_service() {
    let mut s = spec(&["192.0.2.0/30"]);
    s.service_allocation = Some(ServiceAllocationSpec::default());
    let mut a = allocator(&[("all", s)]);
    assert_eq!(
        got(&mut a, &Service::new("anything", "x")),
        ips(&["192.0.2.0"])
    );
}

#[test]
fn selectors_namespaces_and_services() {
    let mut s = spec(&["192.0.2.0/30"]);
    s.service_allocation = Some(ServiceAllocationSpec {
        namespace_selectors: vec![LabelSelector::from_labels([("team", "web")])],
        service_selectors: vec![
            LabelSelector {
                match_labels: Default::default(),
                match_expressions: vec![LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: Operator::In,
                    values: vec!["front".into(), "edge".into()],
                }],
            },
            LabelSelector::from_labels([("app", "special")]),
        ],
        ..Default::default()
    });
    let mut a = allocator(&[("web", s)]);
    let mut ok = Service::new("shop", "x").with_label("tier", "edge");
    ok.namespace_labels.insert("team".into(), "web".into());
    assert_eq!(got(&mut a, &ok), ips(&["192.0.2.0"]));
    // Any service selector may match (OR).
    let mut ok2 = Service::new("shop", "y").with_label("app", "special");
    ok2.namespace_labels.insert("team".into(), "web".into());
    assert_eq!(got(&mut a, &ok2), ips(&["192.0.2.1"]));
    // The namespace must match as well (AND).
    let wrong_ns = Service::new("shop", "z").with_label("tier", "edge");
    assert_eq!(
        a.converge(&wrong_ns, &[]).outcome,
        Err(Error::NoAvailableIps)
    );
    let mut wrong_label = Service::new("shop", "w").with_label("tier", "back");
    wrong_label
        .namespace_labels
        .insert("team".into(), "web".into());
    assert_eq!(
        a.converge(&wrong_label, &[]).outcome,
        Err(Error::NoAvailableIps)
    );
}

#[test]
fn single_stack_families() {
    let mut a = allocator(&[
        ("v4", spec(&["192.0.2.0/30"])),
        ("v6", spec(&["2001:db8::/64"])),
    ]);
    let v6 = svc("six").with_families(FamilyRequest::Single(Family::V6));
    let c = a.converge(&v6, &[]).outcome.expect("v6");
    assert_eq!(
        (c.pool.as_str(), c.ips.to_vec()),
        ("v6", ips(&["2001:db8::"]))
    );
}

#[test]
fn require_dual_stack_needs_one_pool_with_both() {
    let mut a = allocator(&[
        ("v4", spec(&["192.0.2.0/30"])),
        ("v6", spec(&["2001:db8::/64"])),
    ]);
    let dual = svc("d").with_families(FamilyRequest::RequireDual);
    assert_eq!(a.converge(&dual, &[]).outcome, Err(Error::NoAvailableIps));
    let mut a = allocator(&[
        ("v4", spec(&["192.0.2.0/30"])),
        ("both", spec(&["2001:db8::/64", "198.51.100.0/24"])),
    ]);
    let c = a.converge(&dual, &[]).outcome.expect("dual");
    // IPv4 first, as upstream writes the status.
    assert_eq!(
        (c.pool.as_str(), c.ips.to_vec()),
        ("both", ips(&["198.51.100.0", "2001:db8::"]))
    );
}

#[test]
fn prefer_dual_stack_falls_back_primary_then_secondary() {
    let prefer6 = svc("p").with_families(FamilyRequest::PreferDual {
        primary: Family::V6,
    });
    // Both from one pool when possible, even if an earlier pool has only one family.
    let mut a = allocator(&[
        ("v4", spec(&["192.0.2.0/30"])),
        ("both", spec(&["198.51.100.0/30", "2001:db8::/120"])),
    ]);
    let c = a.converge(&prefer6, &[]).outcome.expect("both");
    assert_eq!(c.pool.as_str(), "both");
    assert_eq!(c.ips.len(), 2);
    // Otherwise the first pool with the primary family...
    let mut a = allocator(&[
        ("v4", spec(&["192.0.2.0/30"])),
        ("v6", spec(&["2001:db8::/120"])),
    ]);
    let c = a.converge(&prefer6, &[]).outcome.expect("primary");
    assert_eq!(
        (c.pool.as_str(), c.ips.to_vec()),
        ("v6", ips(&["2001:db8::"]))
    );
    // ...and then the other family.
    let mut a = allocator(&[("v4", spec(&["192.0.2.0/30"]))]);
    let c = a.converge(&prefer6, &[]).outcome.expect("secondary");
    assert_eq!(c.ips, ips(&["192.0.2.0"]));
}

#[test]
fn prefer_dual_stack_gains_second_family_from_same_pool() {
    let mut a = allocator(&[("p", spec(&["192.0.2.0/30"]))]);
    let s = svc("p").with_families(FamilyRequest::PreferDual {
        primary: Family::V4,
    });
    let c = a.converge(&s, &[]);
    let first = c.outcome.expect("v4 only").ips;
    assert_eq!(first, ips(&["192.0.2.0"]));
    // The pool gains IPv6; the next converge adds an address from the same pool.
    let orphans = a.set_pools(
        Pools::from_specs([("p", &spec(&["192.0.2.0/30", "2001:db8::/64"]))]).expect("pools"),
    );
    assert!(orphans.is_empty());
    let c = a.converge(&s, &first);
    assert_eq!(c.notes, vec![Note::AddedFamily(ip("2001:db8::"))]);
    assert_eq!(
        c.outcome.expect("dual").ips,
        ips(&["192.0.2.0", "2001:db8::"])
    );
    // A single-stack service never grows.
    let single = svc("s");
    let held = got(&mut a, &single);
    assert!(a.converge(&single, &held).notes.is_empty());
}

#[test]
fn requested_addresses() {
    let mut a = allocator(&[
        ("p", spec(&["192.0.2.0/24", "2001:db8::/64"])),
        ("q", spec(&["198.51.100.0/24"])),
    ]);
    let one = svc("one").with_requested([ip("192.0.2.77")]);
    assert_eq!(got(&mut a, &one), ips(&["192.0.2.77"]));
    let dual = svc("dual")
        .with_families(FamilyRequest::RequireDual)
        .with_requested(ips(&["192.0.2.9", "2001:db8::9"]));
    assert_eq!(got(&mut a, &dual), ips(&["192.0.2.9", "2001:db8::9"]));
    // Family must match the service.
    let wrong = svc("w").with_requested([ip("2001:db8::1")]);
    assert!(matches!(
        a.converge(&wrong, &[]).outcome,
        Err(Error::RequestedFamilyMismatch { .. })
    ));
    // All in one pool.
    let split = svc("split")
        .with_families(FamilyRequest::RequireDual)
        .with_requested(ips(&["198.51.100.1", "2001:db8::1"]));
    assert!(matches!(
        a.converge(&split, &[]).outcome,
        Err(Error::NotInAnyPool { .. })
    ));
    // Outside every pool.
    let outside = svc("o").with_requested([ip("203.0.113.1")]);
    assert!(matches!(
        a.converge(&outside, &[]).outcome,
        Err(Error::NotInAnyPool { .. })
    ));
    // With a pool annotation, the address must be in that pool.
    let mismatch = svc("m").with_requested([ip("192.0.2.5")]).with_pool("q");
    assert_eq!(
        a.converge(&mismatch, &[]).outcome,
        Err(Error::RequestedIpsNotInPool {
            ips: ips(&["192.0.2.5"]),
            pool: "q".into()
        })
    );
    assert!(
        a.assignment(&mismatch.key).is_none(),
        "nothing held after the failure"
    );
    // Already taken, no sharing.
    let taken = svc("t").with_requested([ip("192.0.2.77")]);
    let r = a.converge(&taken, &[]).outcome;
    assert!(
        matches!(
            r,
            Err(Error::AddressInUse {
                conflict: Conflict::ExistingNotShared,
                ..
            })
        ),
        "{r:?}"
    );
    consistent(&a);
}

#[test]
fn changing_request_or_pool_reallocates() {
    let mut a = allocator(&[
        ("p", spec(&["192.0.2.0/24"])),
        ("q", spec(&["198.51.100.0/24"])),
    ]);
    let s = svc("s");
    let held = got(&mut a, &s);
    let moved = s.clone().with_pool("q");
    let c = a.converge(&moved, &held);
    assert_eq!(
        c.notes[0],
        Note::Cleared {
            ips: held.clone(),
            reason: ClearReason::DifferentPoolRequested
        }
    );
    let now = c.outcome.expect("q").ips;
    assert_eq!(now, ips(&["198.51.100.0"]));
    let pinned = moved.with_requested([ip("198.51.100.50")]);
    let c = a.converge(&pinned, &now);
    assert_eq!(
        c.notes[0],
        Note::Cleared {
            ips: now.to_vec(),
            reason: ClearReason::DifferentIpsRequested
        }
    );
    assert_eq!(c.outcome.expect("requested").ips, ips(&["198.51.100.50"]));
    // Converging again with the same inputs keeps everything.
    let c = a.converge(&pinned, &ips(&["198.51.100.50"]));
    assert!(c.notes.is_empty());
    assert_eq!(a.counters("q").map(|c| c.v4.assigned), Some(1));
}

#[test]
fn family_change_clears() {
    let mut a = allocator(&[("p", spec(&["192.0.2.0/24", "2001:db8::/64"]))]);
    let s = svc("s");
    let held = got(&mut a, &s);
    let now_v6 = s.with_families(FamilyRequest::Single(Family::V6));
    let c = a.converge(&now_v6, &held);
    assert_eq!(
        c.notes[0],
        Note::Cleared {
            ips: held,
            reason: ClearReason::FamilyChanged
        }
    );
    assert_eq!(c.outcome.expect("v6").ips, ips(&["2001:db8::"]));
}

#[test]
fn sharing_rules() {
    let mut a = allocator(&[("p", spec(&["192.0.2.0/30"]))]);
    let web = svc("web").with_sharing("k", "").with_ports([Port::tcp(80)]);
    let dns = svc("dns")
        .with_sharing("k", "")
        .with_ports([Port::udp(53), Port::tcp(53)]);
    let first = got(&mut a, &web);
    // Automatic allocation packs a compatible service onto the used address.
    assert_eq!(got(&mut a, &dns), first);
    assert_eq!(a.services_on(&first[0]).len(), 2);
    // Same port: next address.
    let web2 = svc("web2")
        .with_sharing("k", "")
        .with_ports([Port::tcp(80)]);
    assert_eq!(got(&mut a, &web2), ips(&["192.0.2.1"]));
    // Same protocol/port pair conflicts, same number on another protocol does not.
    let clash = svc("clash")
        .with_sharing("k", "")
        .with_requested(first.clone())
        .with_ports([Port::udp(53)]);
    let r = a.converge(&clash, &[]).outcome;
    assert!(
        matches!(r, Err(Error::AddressInUse { conflict: Conflict::Port(p), .. }) if p == Port::udp(53)),
        "{r:?}"
    );
    let udp80 = svc("udp80")
        .with_sharing("k", "")
        .with_requested(first.clone())
        .with_ports([Port::udp(80)]);
    assert_eq!(got(&mut a, &udp80), first);
    // Different key, different backend key, or no key: no sharing.
    for (other, conflict) in [
        (svc("o1").with_sharing("other", ""), "KeyMismatch"),
        (svc("o2").with_sharing("k", "app=x"), "BackendMismatch"),
        (svc("o3"), "NewNotShared"),
    ] {
        let r = a
            .converge(
                &other
                    .with_requested(first.clone())
                    .with_ports([Port::tcp(9)]),
                &[],
            )
            .outcome;
        let Err(Error::AddressInUse { conflict: c, .. }) = r else {
            panic!("{r:?}")
        };
        assert!(format!("{c:?}").starts_with(conflict), "{c:?}");
    }
    consistent(&a);
}

#[test]
fn local_policy_shares_only_with_identical_selectors() {
    let mut a = allocator(&[("p", spec(&["192.0.2.0/30"]))]);
    let sel = |app: &str| {
        let labels = [("app".to_string(), app.to_string())].into_iter().collect();
        lb_ipam::SharingKey::backend_key(lb_ipam::TrafficPolicy::Local, &labels)
    };
    let a1 = svc("a1")
        .with_sharing("k", &sel("x"))
        .with_ports([Port::tcp(80)]);
    let a2 = svc("a2")
        .with_sharing("k", &sel("x"))
        .with_ports([Port::tcp(81)]);
    let b = svc("b")
        .with_sharing("k", &sel("y"))
        .with_ports([Port::tcp(82)]);
    let cluster = svc("c").with_sharing("k", "").with_ports([Port::tcp(83)]);
    let x = got(&mut a, &a1);
    assert_eq!(got(&mut a, &a2), x);
    assert_ne!(got(&mut a, &b), x);
    assert_ne!(got(&mut a, &cluster), x);
}

#[test]
fn sole_owner_may_change_its_sharing_key() {
    let mut a = allocator(&[("p", spec(&["192.0.2.0/30"]))]);
    let s = svc("s").with_sharing("old", "");
    let held = got(&mut a, &s);
    let renamed = s.with_sharing("new", "");
    let c = a.converge(&renamed, &held);
    assert!(c.notes.is_empty(), "{:?}", c.notes);
    assert_eq!(c.outcome.expect("kept").ips, held);
    let joiner = svc("j").with_sharing("new", "").with_ports([Port::tcp(1)]);
    assert_eq!(got(&mut a, &joiner), held);
    // Now it is shared: a key change no longer fits.
    let c = a.converge(&renamed.with_sharing("third", ""), &held);
    assert!(matches!(
        &c.notes[0],
        Note::Cleared {
            reason: ClearReason::NotAllowed(_),
            ..
        }
    ));
    consistent(&a);
}

#[test]
fn release_frees_only_when_last_user_leaves() {
    let mut a = allocator(&[("p", spec(&["192.0.2.0/31"]))]);
    let s1 = svc("s1").with_sharing("k", "").with_ports([Port::tcp(1)]);
    let s2 = svc("s2").with_sharing("k", "").with_ports([Port::tcp(2)]);
    let x = got(&mut a, &s1);
    got(&mut a, &s2);
    assert_eq!(a.counters("p").map(|c| c.v4.assigned), Some(1));
    a.release(&s1.key);
    assert_eq!(a.counters("p").map(|c| c.v4.assigned), Some(1));
    assert_eq!(a.services_on(&x[0]), std::slice::from_ref(&s2.key));
    a.release(&s2.key);
    assert_eq!(a.counters("p").map(|c| c.v4.assigned), Some(0));
    assert!(a.release(&s2.key).is_none(), "release is idempotent");
    consistent(&a);
}

#[test]
fn no_pools_and_unknown_pool() {
    let mut a = Allocator::new();
    assert_eq!(a.converge(&svc("s"), &[]).outcome, Err(Error::NoPools));
    let mut a = allocator(&[("p", spec(&["192.0.2.0/31"]))]);
    assert_eq!(
        a.converge(&svc("s").with_pool("nope"), &[]).outcome,
        Err(Error::UnknownPool("nope".into()))
    );
    let full = svc("x").with_pool("p");
    got(&mut a, &full);
    got(&mut a, &svc("y").with_pool("p"));
    assert_eq!(
        a.converge(&svc("z").with_pool("p"), &[]).outcome,
        Err(Error::NoAvailableIpsInPool {
            pool: "p".into(),
            family: Family::V4
        })
    );
}

#[test]
fn config_reload_reports_orphans_and_rehomes() {
    let mut a = allocator(&[
        ("p", spec(&["192.0.2.0/24"])),
        ("q", spec(&["198.51.100.0/24"])),
    ]);
    let s1 = svc("s1");
    let s2 = svc("s2").with_pool("q");
    let h1 = got(&mut a, &s1);
    let h2 = got(&mut a, &s2);
    // p's range moves to a pool named r; q disappears.
    let orphans = a.set_pools(Pools::from_specs([("r", &spec(&["192.0.2.0/25"]))]).expect("pools"));
    assert_eq!(orphans.len(), 1);
    assert_eq!(
        (
            orphans[0].service.clone(),
            orphans[0].ips.clone(),
            orphans[0].pool.as_str()
        ),
        (s2.key.clone(), h2, "q")
    );
    assert_eq!(
        a.assignment(&s1.key)
            .map(|x| (x.pool.clone(), x.ips.to_vec())),
        Some(("r".into(), h1))
    );
    assert_eq!(a.counters("r").map(|c| c.v4.assigned), Some(1));
    consistent(&a);
    // avoidBuggyIPs turned on orphans the .0 address.
    let mut buggy = spec(&["192.0.2.0/24"]);
    buggy.avoid_buggy_ips = true;
    let orphans = a.set_pools(Pools::from_specs([("r", &buggy)]).expect("pools"));
    assert_eq!(orphans.len(), 1);
    // The controller converges the orphan again and it gets a new address.
    assert_eq!(got(&mut a, &s1), ips(&["192.0.2.1"]));
}

#[test]
fn restore_prefers_services_that_hold_addresses() {
    let pools = Pools::from_specs([("p", &spec(&["192.0.2.0/30"]))]).expect("pools");
    let mut a = Allocator::with_pools(pools);
    let pending = svc("pending");
    let holder = svc("holder");
    let dual = svc("dual").with_families(FamilyRequest::PreferDual {
        primary: Family::V6,
    });
    let results = a.restore(vec![
        (pending.clone(), vec![]),
        (dual.clone(), ips(&["192.0.2.1"])),
        (holder.clone(), ips(&["192.0.2.0"])),
    ]);
    // In processing order: those holding the most addresses first, ties as given.
    let order: Vec<&ServiceKey> = results.iter().map(|(k, _)| k).collect();
    assert_eq!(order, [&dual.key, &holder.key, &pending.key]);
    assert_eq!(
        a.assignment(&holder.key).expect("holder").ips,
        ips(&["192.0.2.0"])
    );
    assert_eq!(
        a.assignment(&dual.key).expect("dual").ips,
        ips(&["192.0.2.1"])
    );
    assert_eq!(
        a.assignment(&pending.key).expect("pending").ips,
        ips(&["192.0.2.2"])
    );
    let before: Vec<_> = {
        let mut v: Vec<_> = a.assignments().map(|(k, x)| (k.clone(), x)).collect();
        v.sort_by(|x, y| x.0.cmp(&y.0));
        v
    };
    a.restore(vec![
        (pending, vec![]),
        (dual, ips(&["192.0.2.1"])),
        (holder, ips(&["192.0.2.0"])),
    ]);
    let mut after: Vec<_> = a.assignments().map(|(k, x)| (k.clone(), x)).collect();
    after.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(before, after, "restoring twice changes nothing");
}

#[test]
fn restore_with_a_service_listed_twice_ends_where_its_last_entry_says() {
    let pools = Pools::from_specs([("p", &spec(&["192.0.2.0/30"]))]).expect("pools");
    let mut a = Allocator::with_pools(pools);
    let s = svc("twice");
    let results = a.restore(vec![
        (s.clone(), ips(&["192.0.2.1"])),
        (s.clone(), ips(&["192.0.2.2"])),
    ]);
    let got: Vec<Vec<IpAddr>> = results
        .iter()
        .map(|(_, c)| c.outcome.as_ref().expect("assigned").ips.to_vec())
        .collect();
    assert_eq!(got, [ips(&["192.0.2.1"]), ips(&["192.0.2.2"])]);
    assert_eq!(a.assignment(&s.key).expect("held").ips, ips(&["192.0.2.2"]));
    a.check_consistency().expect("consistent");
}

#[test]
fn counters_are_exact_and_never_overflow() {
    let mut buggy = spec(&["192.0.2.0/24", "198.51.100.10-198.51.100.20"]);
    buggy.avoid_buggy_ips = true;
    let a = allocator(&[
        ("huge", spec(&["2001:db8::/32", "2001:db9::/64"])),
        ("b", buggy),
    ]);
    let huge = a.counters("huge").expect("huge");
    assert_eq!(huge.v6.total, (1u128 << 96) + (1u128 << 64));
    assert_eq!(huge.v6.available, huge.v6.total);
    assert_eq!(huge.v4.total, 0);
    let b = a.counters("b").expect("b");
    assert_eq!(b.v4.total, 254 + 11);
    let all = allocator(&[("all", spec(&["::2-::fffe:ffff:ffff", "::1:0:0:0-feff::"]))]);
    assert_eq!(
        all.counters("all").map(|c| c.v6.total),
        Some((0xfffe_ffff_ffffu128 - 1) + (0xfeffu128 << 112) - (1u128 << 48) + 1)
    );
    assert_eq!(a.counters("missing"), None);
}

#[test]
fn huge_ipv6_pools_allocate_from_the_start() {
    let mut a = allocator(&[("p", spec(&["2001:db8::/48"]))]);
    let v6 = |n: &str| svc(n).with_families(FamilyRequest::Single(Family::V6));
    for i in 0..1000 {
        got(&mut a, &v6(&format!("s{i}")));
    }
    assert_eq!(got(&mut a, &v6("next")), ips(&["2001:db8::3e8"]));
    let c = a.counters("p").expect("p");
    assert_eq!(c.v6.assigned, 1001);
    assert_eq!(c.v6.available, (1u128 << 80) - 1001);
}

#[test]
fn assign_rejects_more_than_one_per_family() {
    let mut a = allocator(&[("p", spec(&["192.0.2.0/24", "2001:db8::/64"]))]);
    assert_eq!(
        a.assign(&svc("s"), &ips(&["192.0.2.1", "192.0.2.2"])),
        Err(Error::SameFamily(ip("192.0.2.1"), ip("192.0.2.2")))
    );
    assert_eq!(
        a.assign(&svc("s"), &ips(&["192.0.2.1", "2001:db8::1", "192.0.2.2"])),
        Err(Error::TooManyAddresses(3))
    );
}

#[test]
fn full_pinned_pools_fall_back_to_generic_ones() {
    let mut pinned = spec(&["192.0.2.0/32"]);
    pinned.service_allocation = Some(ServiceAllocationSpec {
        priority: 1,
        namespaces: vec!["default".into()],
        ..Default::default()
    });
    let mut a = allocator(&[("generic", spec(&["198.51.100.0/30"])), ("pinned", pinned)]);
    let first = a.converge(&svc("a"), &[]).outcome.expect("pinned first");
    assert_eq!(first.pool, "pinned");
    let second = a.converge(&svc("b"), &[]).outcome.expect("then generic");
    assert_eq!(
        (second.pool.as_str(), second.ips.to_vec()),
        ("generic", ips(&["198.51.100.0"]))
    );
}

#[test]
fn equal_priorities_tie_break_by_configuration_order() {
    let with = |addr: &str| {
        let mut s = spec(&[addr]);
        s.service_allocation = Some(ServiceAllocationSpec {
            priority: 5,
            ..Default::default()
        });
        s
    };
    let mut a = allocator(&[
        ("zeta", with("192.0.2.0/32")),
        ("alpha", with("198.51.100.0/32")),
    ]);
    assert_eq!(a.converge(&svc("a"), &[]).outcome.expect("a").pool, "zeta");
    assert_eq!(a.converge(&svc("b"), &[]).outcome.expect("b").pool, "alpha");
}

#[test]
fn pool_request_with_prefer_dual_takes_what_the_pool_has() {
    let mut a = allocator(&[("v6only", spec(&["2001:db8::/120"]))]);
    let s = svc("p")
        .with_families(FamilyRequest::PreferDual {
            primary: Family::V4,
        })
        .with_pool("v6only");
    assert_eq!(got(&mut a, &s), ips(&["2001:db8::"]));
    let require = svc("r")
        .with_families(FamilyRequest::RequireDual)
        .with_pool("v6only");
    assert_eq!(
        a.converge(&require, &[]).outcome,
        Err(Error::NoAvailableIpsInPool {
            pool: "v6only".into(),
            family: Family::V4
        })
    );
}

#[test]
fn ipv4_mapped_addresses_are_read_as_ipv4() {
    let mut a = allocator(&[("p", spec(&["192.0.2.0/24"]))]);
    let s = svc("m").with_requested([ip("::ffff:192.0.2.9")]);
    assert_eq!(got(&mut a, &s), ips(&["192.0.2.9"]));
    // And a status written in that form is recognised as the same address.
    let c = a.converge(&s, &ips(&["::ffff:192.0.2.9"]));
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

#[test]
fn failed_operations_change_nothing() {
    let mut a = allocator(&[("p", spec(&["192.0.2.0/30"]))]);
    let s = svc("s");
    let held = got(&mut a, &s);
    let before = a.assignment(&s.key);
    assert!(a.assign(&s, &ips(&["203.0.113.1"])).is_err());
    assert!(a.allocate_from_pool(&svc("x"), "missing").is_err());
    assert_eq!(a.assignment(&s.key), before);
    assert_eq!(a.counters("p").map(|c| c.v4.assigned), Some(1));
    assert_eq!(held.len(), 1);
    consistent(&a);
}

/// Thousands of services, enough for the allocator's per-service index to merge, grow and
/// rebuild its filter, with churn and sharing: every service keeps what it was given, the
/// lowest free addresses are reused first, and the state stays consistent throughout.
#[test]
fn thousands_of_services_with_churn_stay_consistent() {
    let mut a = allocator(&[("big", spec(&["10.0.0.0/18", "2001:db8::/112"]))]);
    let svc = |i: usize| {
        let s = Service::new(&format!("ns-{}", i % 7), &format!("svc-{i}"))
            .with_ports([Port::tcp(80 + (i % 3) as u16)]);
        match i % 5 {
            0 => s.with_families(FamilyRequest::Single(Family::V6)),
            1 => s.with_sharing("group", ""),
            _ => s,
        }
    };
    let mut held = std::collections::HashMap::new();
    for i in 0..6000 {
        held.insert(i, a.allocate(&svc(i)).expect("room").ips.to_vec());
    }
    a.check_consistency().expect("consistent after the fill");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..6000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x % 5 < 2 {
            let got = a.release(&svc(i).key).expect("held");
            assert_eq!(got.ips, held.remove(&i).expect("held"));
        }
    }
    a.check_consistency().expect("consistent after releases");
    for i in 6000..9000 {
        held.insert(i, a.allocate(&svc(i)).expect("room").ips.to_vec());
    }
    a.check_consistency().expect("consistent after refilling");
    assert_eq!(a.len(), held.len());
    for (i, ips) in &held {
        let got = a.assignment(&svc(*i).key).expect("assigned");
        assert_eq!(&got.ips, ips, "service {i}");
        // Allocating again keeps what the service holds.
        assert_eq!(&a.allocate(&svc(*i)).expect("kept").ips, ips);
    }
    // Released addresses were reused lowest first: nothing beyond what 9000 services could
    // need was ever handed out.
    let v4_max = held
        .values()
        .flatten()
        .filter(|ip| ip.is_ipv4())
        .max()
        .copied()
        .expect("some IPv4");
    assert!(v4_max < ip("10.0.28.0"), "{v4_max}");
}
