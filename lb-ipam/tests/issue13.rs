//! Regression tests for the lb-ipam defects of issue 13: IPv4-mapped CIDRs, label selector
//! validation, the `avoidBuggyIPs` message, `spec.loadBalancerIP` lists, and unspecified,
//! loopback and multicast addresses in pools. Each failed before its fix.

use std::collections::BTreeMap;
use std::net::IpAddr;

use lb_ipam::{
    AddressRange, Allocator, Annotations, Error, Family, FamilyRequest, LabelSelector,
    LabelSelectorRequirement, Operator, PoolSpec, Pools, RangeProblem, SelectorProblem, Service,
    ServiceAllocationSpec,
};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
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

// ---- 1. IPv4-mapped CIDRs are IPv4 ----

#[test]
fn mapped_cidr_is_the_ipv4_range_it_names() {
    let cidr: AddressRange = "::ffff:192.0.2.0/126".parse().expect("mapped cidr");
    let range: AddressRange = "::ffff:192.0.2.0-::ffff:192.0.2.3"
        .parse()
        .expect("mapped range");
    assert_eq!(cidr, range, "both forms canonicalise alike");
    assert_eq!(cidr.family(), Family::V4);
    assert_eq!(
        (cidr.first(), cidr.last()),
        (ip("192.0.2.0"), ip("192.0.2.3"))
    );
    // All of the mapped space is all of IPv4.
    let all: AddressRange = "::ffff:0.0.0.0/96".parse().expect("mapped /96");
    assert_eq!(
        (all.first(), all.last()),
        (ip("0.0.0.0"), ip("255.255.255.255"))
    );
}

#[test]
fn mapped_cidr_overlaps_the_ipv4_pool_over_the_same_addresses() {
    let err = Pools::from_specs([
        ("v4", &spec(&["192.0.2.0/30"])),
        ("mapped", &spec(&["::ffff:192.0.2.2/127"])),
    ])
    .expect_err("the same addresses twice");
    assert_eq!(
        err,
        Error::Overlap {
            pool: "mapped".into(),
            entry: "::ffff:192.0.2.2/127".into(),
            other_pool: "v4".into(),
            other_entry: "192.0.2.0/30".into(),
        }
    );
}

#[test]
fn an_address_from_a_mapped_cidr_is_kept_on_the_next_pass() {
    let mut a = allocator(&[("mapped", spec(&["::ffff:192.0.2.0/126"]))]);
    let web = Service::new("default", "web");
    let first = a.converge(&web, &[]).outcome.expect("allocation");
    assert_eq!(first.ips.to_vec(), vec![ip("192.0.2.0")]);
    // The controller passes back what it wrote to the status, in either spelling.
    for current in [ip("192.0.2.0"), ip("::ffff:192.0.2.0")] {
        let again = a.converge(&web, &[current]);
        assert_eq!(again.outcome, Ok(first.clone()), "{current}");
        assert!(again.notes.is_empty(), "{current}: {:?}", again.notes);
    }
    // An IPv6 service finds no IPv6 address there.
    let v6 = Service::new("default", "v6").with_families(FamilyRequest::Single(Family::V6));
    assert!(a.converge(&v6, &[]).outcome.is_err());
    a.check_consistency().expect("consistent");
}

#[test]
fn ipv6_ranges_partly_in_mapped_space_are_rejected() {
    for entry in [
        "::fffe:0:0/95",
        "::2-::ffff:192.0.2.1",
        "::ffff:192.0.2.1-::1:0:0:0",
        "::/64",
    ] {
        assert_eq!(
            entry.parse::<AddressRange>(),
            Err(RangeProblem::PartlyIpv4Mapped),
            "{entry}"
        );
    }
}

// ---- 2. label selectors validated as Kubernetes and MetalLB do ----

fn req(key: &str, operator: Operator, values: &[&str]) -> LabelSelectorRequirement {
    LabelSelectorRequirement {
        key: key.into(),
        operator,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

fn with_expressions(exprs: Vec<LabelSelectorRequirement>) -> LabelSelector {
    LabelSelector {
        match_labels: BTreeMap::new(),
        match_expressions: exprs,
    }
}

fn pool_with_service_selectors(selectors: Vec<LabelSelector>) -> PoolSpec {
    let mut s = spec(&["192.0.2.0/24"]);
    s.service_allocation = Some(ServiceAllocationSpec {
        service_selectors: selectors,
        ..Default::default()
    });
    s
}

fn selector_error(selectors: Vec<LabelSelector>) -> (String, SelectorProblem) {
    match Pools::from_specs([("p", &pool_with_service_selectors(selectors))]) {
        Err(Error::InvalidSelector {
            pool,
            field,
            problem,
        }) => {
            assert_eq!(pool, "p");
            (field, problem)
        }
        other => panic!("expected InvalidSelector, got {other:?}"),
    }
}

#[test]
fn repeated_value_in_one_expression_is_rejected() {
    let (field, problem) = selector_error(vec![with_expressions(vec![req(
        "env",
        Operator::In,
        &["prod", "stage", "prod"],
    )])]);
    assert_eq!(field, "serviceSelectors[0].matchExpressions[0].values[2]");
    assert_eq!(problem, SelectorProblem::DuplicateValue("prod".into()));
}

#[test]
fn same_expression_twice_is_rejected() {
    let e = req("env", Operator::In, &["a", "b"]);
    let (field, problem) = selector_error(vec![with_expressions(vec![
        e.clone(),
        req("tier", Operator::Exists, &[]),
        req("env", Operator::In, &["b", "a"]),
    ])]);
    assert_eq!(field, "serviceSelectors[0].matchExpressions[2]");
    assert_eq!(problem, SelectorProblem::DuplicateExpression { index: 0 });
}

#[test]
fn selectors_that_differ_only_in_value_order_are_duplicates() {
    let (field, problem) = selector_error(vec![
        with_expressions(vec![req("env", Operator::In, &["a", "b"])]),
        with_expressions(vec![req("env", Operator::In, &["b", "a"])]),
    ]);
    assert_eq!(field, "serviceSelectors[1]");
    assert_eq!(problem, SelectorProblem::DuplicateSelector { index: 0 });
}

#[test]
fn label_keys_follow_kubernetes_qualified_names() {
    let long_name = "a".repeat(63);
    let too_long_name = "a".repeat(64);
    let long_prefix = format!(
        "{}.{}.{}.{}/x",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61)
    );
    assert_eq!(long_prefix.len(), 253 + 2);
    let too_long_prefix = format!(
        "{}.{}.{}.{}/x",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(62)
    );
    let good = [
        "app",
        "app.kubernetes.io/name",
        "example.com/a_b-c.d",
        "A9",
        "kubernetes.io/metadata.name",
        long_name.as_str(),
        long_prefix.as_str(),
    ];
    for key in good {
        let s = LabelSelector::from_labels([(key, "v")]);
        assert_eq!(s.validate(), Ok(()), "{key}");
        let s = with_expressions(vec![req(key, Operator::Exists, &[])]);
        assert_eq!(s.validate(), Ok(()), "{key}");
    }
    let bad = [
        "",
        "-app",
        "app-",
        "a b",
        "a/b/c",
        "/name",
        "Example.com/name",
        "example.com/",
        "exa_mple.com/name",
        "-example.com/name",
        "ünïcode",
        too_long_name.as_str(),
        too_long_prefix.as_str(),
    ];
    for key in bad {
        let s = LabelSelector::from_labels([(key, "v")]);
        let err = s.validate().expect_err(key);
        assert_eq!(err.field, format!("matchLabels[{key:?}]"), "{key}");
        assert!(
            matches!(err.problem, SelectorProblem::InvalidKey { .. }),
            "{key}: {err:?}"
        );
        let s = with_expressions(vec![req(key, Operator::Exists, &[])]);
        let err = s.validate().expect_err(key);
        assert_eq!(err.field, "matchExpressions[0].key", "{key}");
    }
}

#[test]
fn label_values_follow_kubernetes_rules() {
    let long = "v".repeat(63);
    let too_long = "v".repeat(64);
    for value in ["", "a", "A-b_c.d", "9", long.as_str()] {
        assert_eq!(
            LabelSelector::from_labels([("k", value)]).validate(),
            Ok(()),
            "{value}"
        );
        assert_eq!(
            with_expressions(vec![req("k", Operator::NotIn, &[value])]).validate(),
            Ok(()),
            "{value}"
        );
    }
    for value in ["-a", "a-", ".a", "a b", "a/b", "ü", too_long.as_str()] {
        let err = LabelSelector::from_labels([("k", value)])
            .validate()
            .expect_err(value);
        assert_eq!(err.field, "matchLabels[\"k\"]");
        assert!(
            matches!(err.problem, SelectorProblem::InvalidValue { .. }),
            "{value}: {err:?}"
        );
        let err = with_expressions(vec![req("k", Operator::In, &["ok", value])])
            .validate()
            .expect_err(value);
        assert_eq!(err.field, "matchExpressions[0].values[1]");
    }
}

#[test]
fn operator_rules_name_the_field() {
    let err = with_expressions(vec![
        req("a", Operator::Exists, &[]),
        req("b", Operator::NotIn, &[]),
    ])
    .validate()
    .expect_err("NotIn without values");
    assert_eq!(err.field, "matchExpressions[1].values");
    assert_eq!(
        err.problem,
        SelectorProblem::ValuesRequired(Operator::NotIn)
    );
    let err = with_expressions(vec![req("a", Operator::DoesNotExist, &["x"])])
        .validate()
        .expect_err("DoesNotExist with values");
    assert_eq!(err.field, "matchExpressions[0].values");
    assert_eq!(
        err.problem,
        SelectorProblem::ValuesForbidden(Operator::DoesNotExist)
    );
}

#[test]
fn selector_errors_name_the_field_in_the_message() {
    let mut s = spec(&["192.0.2.0/24"]);
    s.service_allocation = Some(ServiceAllocationSpec {
        namespace_selectors: vec![
            LabelSelector::default(),
            LabelSelector::from_labels([("a/b/c", "x")]),
        ],
        ..Default::default()
    });
    let err = Pools::from_specs([("p", &s)]).expect_err("bad key");
    let text = err.to_string();
    assert!(
        text.contains("namespaceSelectors[1].matchLabels[\"a/b/c\"]"),
        "{text}"
    );
}

// ---- 3. avoidBuggyIPs says why ----

#[test]
fn a_requested_buggy_address_fails_with_the_reason() {
    let mut s = spec(&["192.0.2.0/24"]);
    s.avoid_buggy_ips = true;
    let mut a = allocator(&[("p", s)]);
    for bad in ["192.0.2.0", "192.0.2.255"] {
        let r = a.converge(&Service::new("default", "t").with_requested([ip(bad)]), &[]);
        assert_eq!(
            r.outcome,
            Err(Error::AvoidedBuggyIp {
                ip: ip(bad),
                pool: "p".into()
            })
        );
        let text = r.outcome.expect_err("error").to_string();
        assert!(text.contains("avoidBuggyIPs"), "{text}");
        assert!(!text.contains("not allowed in config"), "{text}");
    }
    let ok = a.converge(
        &Service::new("default", "u").with_requested([ip("192.0.2.1")]),
        &[],
    );
    assert!(ok.outcome.is_ok());
}

// ---- 4. spec.loadBalancerIP holds one address ----

#[test]
fn spec_load_balancer_ip_with_a_list_is_rejected() {
    let none = BTreeMap::new();
    assert_eq!(
        Annotations::parse(&none, Some("192.0.2.1,2001:db8::1")),
        Err(Error::InvalidSpecLoadBalancerIp(
            "192.0.2.1,2001:db8::1".into()
        ))
    );
    assert_eq!(
        Annotations::parse(&none, Some("192.0.2.1,")),
        Err(Error::InvalidSpecLoadBalancerIp("192.0.2.1,".into()))
    );
    let one = Annotations::parse(&none, Some("192.0.2.1")).expect("one address");
    assert_eq!(one.requested, vec![ip("192.0.2.1")]);
    // The annotation still takes a list.
    let ann: BTreeMap<String, String> = [(
        "metallb.io/loadBalancerIPs".to_string(),
        "192.0.2.1,2001:db8::1".to_string(),
    )]
    .into_iter()
    .collect();
    assert_eq!(
        Annotations::parse(&ann, None).map(|a| a.requested.len()),
        Ok(2)
    );
}

// ---- 5. unspecified, loopback and multicast addresses ----

#[test]
fn the_unspecified_address_is_never_handed_out() {
    let mut a = allocator(&[("p", spec(&["0.0.0.0/30"]))]);
    let first = a
        .converge(&Service::new("default", "a"), &[])
        .outcome
        .expect("allocation");
    assert_eq!(first.ips.to_vec(), vec![ip("0.0.0.1")]);
    assert_eq!(a.counters("p").map(|c| c.v4.total), Some(3));
    let r = a.converge(
        &Service::new("default", "b").with_requested([ip("0.0.0.0")]),
        &[],
    );
    assert_eq!(r.outcome, Err(Error::UnspecifiedAddress(ip("0.0.0.0"))));
    // Pools whose only address is the unspecified one have none to give.
    let mut a = allocator(&[("v6", spec(&["::/128"]))]);
    let v6 = Service::new("default", "c").with_families(FamilyRequest::Single(Family::V6));
    assert_eq!(a.counters("v6").map(|c| c.v6.total), Some(0));
    assert!(a.converge(&v6, &[]).outcome.is_err());
    let r = a.converge(&v6.clone().with_requested([ip("::")]), &[]);
    assert_eq!(r.outcome, Err(Error::UnspecifiedAddress(ip("::"))));
}

#[test]
fn pools_in_loopback_or_multicast_space_are_rejected() {
    let cases = [
        ("::/0", RangeProblem::PartlyIpv4Mapped),
        ("0.0.0.0/0", RangeProblem::Loopback),
        ("127.0.0.1/32", RangeProblem::Loopback),
        ("126.255.255.250-127.0.0.1", RangeProblem::Loopback),
        ("::1/128", RangeProblem::Loopback),
        ("::ffff:127.0.0.0/120", RangeProblem::Loopback),
        ("224.0.0.0/24", RangeProblem::Multicast),
        ("239.255.255.255/32", RangeProblem::Multicast),
        ("192.0.2.0-224.0.0.0", RangeProblem::Multicast),
        ("ff02::/64", RangeProblem::Multicast),
        ("fe00::-ff00::", RangeProblem::Multicast),
        ("8000::/1", RangeProblem::Multicast),
    ];
    for (entry, problem) in cases {
        let err = Pools::from_specs([("p", &spec(&["198.51.100.0/24", entry]))]).expect_err(entry);
        assert_eq!(
            err,
            Error::InvalidAddresses {
                pool: "p".into(),
                entry: entry.into(),
                problem
            },
            "{entry}"
        );
    }
    // Right next to them is fine.
    for entry in [
        "126.0.0.0/8",
        "128.0.0.0/2",
        "192.0.2.0-223.255.255.255",
        "::2-::fffe:ffff:ffff",
        "8000::-feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ] {
        assert!(
            Pools::from_specs([("p", &spec(&[entry]))]).is_ok(),
            "{entry}"
        );
    }
}
