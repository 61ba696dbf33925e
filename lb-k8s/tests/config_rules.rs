//! One case per validation rule of the specification's §1: the configuration, and the error it
//! must produce (object, field, rule). Plus: assembly never panics and does not depend on the
//! order objects arrive in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lb_k8s::config::{Objects, Options, PeerAsn, assemble};
use lb_k8s::{Error, Problem};
use proptest::prelude::*;

fn objects(yaml: &str) -> Objects {
    let mut o = Objects::default();
    o.parse_yaml(yaml, "case").expect("the case parses");
    o
}

fn options() -> Options {
    Options {
        namespace: Some("metallb-system".into()),
        bfd: true,
        blank_transient: false,
    }
}

const POOL: &str = "
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p1, namespace: metallb-system}
spec: {addresses: [192.0.2.0/24]}
";

const NODES: &str = "
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {rack: a}}
---
apiVersion: v1
kind: Node
metadata: {name: n2, labels: {rack: b}}
";

fn peer(spec: &str) -> String {
    format!(
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {{name: r1, namespace: metallb-system}}\nspec: {spec}\n"
    )
}

fn bgp_ad(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {{name: {name}, namespace: metallb-system}}\nspec: {spec}\n"
    )
}

fn l2_ad(spec: &str) -> String {
    format!(
        "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {{name: l1, namespace: metallb-system}}\nspec: {spec}\n"
    )
}

/// (description, YAML documents, kind, name, field, expected problem).
type Case = (
    &'static str,
    String,
    &'static str,
    &'static str,
    &'static str,
    Problem,
);

fn cases() -> Vec<Case> {
    let p = POOL.to_string();
    let join = |parts: &[&str]| parts.join("\n---\n");
    vec![
        (
            "ad: repeated pool name",
            join(&[&p, &l2_ad("{ipAddressPools: [p1, p1]}")]),
            "L2Advertisement", "l1", "spec.ipAddressPools[1]",
            Problem::Repeated("p1".into()),
        ),
        (
            "selector: unknown operator",
            join(&[&p, &l2_ad("{nodeSelectors: [{matchExpressions: [{key: a, operator: Like, values: [x]}]}]}")]),
            "L2Advertisement", "l1", "spec.nodeSelectors[0]",
            Problem::InvalidSelector("unknown operator \"Like\"".into()),
        ),
        (
            "selector: In without values",
            join(&[&p, &l2_ad("{serviceSelectors: [{matchExpressions: [{key: a, operator: In}]}]}")]),
            "L2Advertisement", "l1", "spec.serviceSelectors[0]",
            Problem::InvalidSelector("matchExpressions[0].values: values must be given when the operator is In".into()),
        ),
        (
            "selector: value repeated in one expression",
            join(&[&p, &l2_ad("{nodeSelectors: [{matchExpressions: [{key: a, operator: In, values: [x, x]}]}]}")]),
            "L2Advertisement", "l1", "spec.nodeSelectors[0]",
            Problem::InvalidSelector("value \"x\" repeated for key \"a\"".into()),
        ),
        (
            "selector: expression repeated",
            join(&[&p, &l2_ad("{nodeSelectors: [{matchExpressions: [{key: a, operator: Exists}, {key: a, operator: Exists}]}]}")]),
            "L2Advertisement", "l1", "spec.nodeSelectors[0]",
            Problem::InvalidSelector("expression on key \"a\" repeated".into()),
        ),
        (
            "selector list: two equal selectors",
            join(&[&p, &l2_ad("{nodeSelectors: [{matchLabels: {a: b}}, {matchLabels: {a: b}}]}")]),
            "L2Advertisement", "l1", "spec.nodeSelectors[1]",
            Problem::DuplicateSelector("a=b".into()),
        ),
        (
            "L2: preference weight out of range",
            join(&[&p, &l2_ad("{preferredNodeSelectors: [{weight: 101, preference: {}}]}")]),
            "L2Advertisement", "l1", "spec.preferredNodeSelectors[0].weight",
            Problem::OutOfRange { value: 101, min: 1, max: 100 },
        ),
        (
            "BGP ad: aggregationLength above 32",
            join(&[&p, &bgp_ad("a1", "{aggregationLength: 33}")]),
            "BGPAdvertisement", "a1", "spec.aggregationLength",
            Problem::OutOfRange { value: 33, min: 1, max: 32 },
        ),
        (
            "BGP ad: aggregationLengthV6 above 128",
            join(&[&p, &bgp_ad("a1", "{aggregationLengthV6: 129}")]),
            "BGPAdvertisement", "a1", "spec.aggregationLengthV6",
            Problem::OutOfRange { value: 129, min: 0, max: 128 },
        ),
        (
            "BGP ad: aggregation shorter than the pool's CIDR",
            join(&[&p, &bgp_ad("a1", "{aggregationLength: 23}")]),
            "BGPAdvertisement", "a1", "spec.aggregationLength",
            Problem::AggregationTooShort { length: 23, pool: "p1".into(), entry: "192.0.2.0/24".into(), min: 24 },
        ),
        (
            "BGP ad: serviceSelectors with aggregation",
            join(&[&p, &bgp_ad("a1", "{aggregationLength: 30, serviceSelectors: [{matchLabels: {a: b}}]}")]),
            "BGPAdvertisement", "a1", "spec.serviceSelectors",
            Problem::SelectorsWithAggregation,
        ),
        (
            "BGP ad: repeated community",
            join(&[&p, &bgp_ad("a1", "{communities: ['1:1', '1:1']}")]),
            "BGPAdvertisement", "a1", "spec.communities[1]",
            Problem::Repeated("1:1".into()),
        ),
        (
            "BGP ad: community with bad numbers",
            join(&[&p, &bgp_ad("a1", "{communities: ['70000:1']}")]),
            "BGPAdvertisement", "a1", "spec.communities[0]",
            Problem::InvalidCommunity("70000:1".into()),
        ),
        (
            "BGP ad: unknown alias (transient)",
            join(&[&p, &bgp_ad("a1", "{communities: [no-export]}")]),
            "BGPAdvertisement", "a1", "spec.communities[0]",
            Problem::UnknownCommunity("no-export".into()),
        ),
        (
            "BGP ad: repeated peer",
            join(&[&p, &bgp_ad("a1", "{peers: [r1, r1]}")]),
            "BGPAdvertisement", "a1", "spec.peers[1]",
            Problem::Repeated("r1".into()),
        ),
        (
            "BGP ads: LOCAL_PREF conflict on one pool",
            join(&[&p, NODES, &bgp_ad("a1", "{localPref: 100}"), &bgp_ad("a2", "{localPref: 200}")]),
            "BGPAdvertisement", "a2", "spec.localPref",
            Problem::LocalPrefConflict { local_pref: 200, other: "a1".into(), other_local_pref: 100, pool: "p1".into() },
        ),
        (
            "Community: duplicate alias across objects",
            join(&[
                "apiVersion: metallb.io/v1beta1\nkind: Community\nmetadata: {name: c1, namespace: metallb-system}\nspec: {communities: [{name: x, value: '1:1'}]}",
                "apiVersion: metallb.io/v1beta1\nkind: Community\nmetadata: {name: c2, namespace: metallb-system}\nspec: {communities: [{name: x, value: '1:2'}]}",
            ]),
            "Community", "c2", "spec.communities[0].name",
            Problem::DuplicateName("x".into()),
        ),
        (
            "Community: unparsable value",
            "apiVersion: metallb.io/v1beta1\nkind: Community\nmetadata: {name: c1, namespace: metallb-system}\nspec: {communities: [{name: x, value: 'large:1:2'}]}".into(),
            "Community", "c1", "spec.communities[0].value",
            Problem::InvalidCommunity("large:1:2".into()),
        ),
        (
            "BFD: interval out of range",
            "apiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata: {name: b1, namespace: metallb-system}\nspec: {receiveInterval: 5}".into(),
            "BFDProfile", "b1", "spec.receiveInterval",
            Problem::OutOfRange { value: 5, min: 10, max: 60000 },
        ),
        (
            "BFD: multiplier out of range",
            "apiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata: {name: b1, namespace: metallb-system}\nspec: {detectMultiplier: 1}".into(),
            "BFDProfile", "b1", "spec.detectMultiplier",
            Problem::OutOfRange { value: 1, min: 2, max: 255 },
        ),
        (
            "peer: missing myASN",
            peer("{myASN: 0, peerASN: 1, peerAddress: 192.0.2.1}"),
            "BGPPeer", "r1", "spec.myASN", Problem::Missing("local ASN"),
        ),
        (
            "peer: neither peerASN nor dynamicASN",
            peer("{myASN: 1, peerAddress: 192.0.2.1}"),
            "BGPPeer", "r1", "spec.peerASN", Problem::ExactlyOne("peerASN", "dynamicASN"),
        ),
        (
            "peer: both peerASN and dynamicASN",
            peer("{myASN: 1, peerASN: 2, dynamicASN: external, peerAddress: 192.0.2.1}"),
            "BGPPeer", "r1", "spec.peerASN", Problem::ExactlyOne("peerASN", "dynamicASN"),
        ),
        (
            "peer: no address",
            peer("{myASN: 1, peerASN: 2}"),
            "BGPPeer", "r1", "spec.peerAddress", Problem::ExactlyOne("peerAddress", "interface"),
        ),
        (
            "peer: unnumbered is not supported",
            peer("{myASN: 1, peerASN: 2, interface: eth0}"),
            "BGPPeer", "r1", "spec.interface", Problem::Unsupported("BGP unnumbered (interface) in this release"),
        ),
        (
            "peer: VRF is not supported",
            peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, vrf: red}"),
            "BGPPeer", "r1", "spec.vrf", Problem::Unsupported("VRFs in this release"),
        ),
        (
            "peer: address does not parse",
            peer("{myASN: 1, peerASN: 2, peerAddress: router}"),
            "BGPPeer", "r1", "spec.peerAddress", Problem::InvalidAddress("router".into(), "IP address"),
        ),
        (
            "peer: source address does not parse",
            peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, sourceAddress: x}"),
            "BGPPeer", "r1", "spec.sourceAddress", Problem::InvalidAddress("x".into(), "IP address"),
        ),
        (
            "peer: IPv6 router ID",
            peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, routerID: '2001:db8::1'}"),
            "BGPPeer", "r1", "spec.routerID", Problem::InvalidAddress("2001:db8::1".into(), "IPv4 router ID"),
        ),
        (
            "peer: hold time below 3s",
            peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, holdTime: 2s}"),
            "BGPPeer", "r1", "spec.holdTime", Problem::InvalidTimers("hold time must be 0 or at least 3s"),
        ),
        (
            "peer: keepalive above hold",
            peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, holdTime: 9s, keepaliveTime: 10s}"),
            "BGPPeer", "r1", "spec.keepaliveTime", Problem::InvalidTimers("keepalive time must not exceed the hold time"),
        ),
        (
            "peer: hold time not a duration",
            peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, holdTime: soon}"),
            "BGPPeer", "r1", "spec.holdTime", Problem::InvalidValue("soon".into(), "a Go duration"),
        ),
        (
            "peer: connect time not whole seconds",
            peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, connectTime: 1500ms}"),
            "BGPPeer", "r1", "spec.connectTime", Problem::InvalidValue("1500ms".into(), "whole seconds between 1 and 65535"),
        ),
        (
            "peer: ebgpMultiHop on iBGP",
            peer("{myASN: 1, peerASN: 1, peerAddress: 192.0.2.1, ebgpMultiHop: true}"),
            "BGPPeer", "r1", "spec.ebgpMultiHop", Problem::MultiHopOnIbgp,
        ),
        (
            "peer: password and passwordSecret",
            peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, password: x, passwordSecret: {name: s}}"),
            "BGPPeer", "r1", "spec.passwordSecret", Problem::Exclusive("password", "passwordSecret"),
        ),
        (
            "peer: secret missing (transient)",
            peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, passwordSecret: {name: s}}"),
            "BGPPeer", "r1", "spec.passwordSecret", Problem::Secret("s".into(), "not found in the MetalLB namespace"),
        ),
        (
            "peer: secret of the wrong type",
            join(&[
                "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: metallb-system}\nstringData: {password: x}",
                &peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, passwordSecret: {name: s}}"),
            ]),
            "BGPPeer", "r1", "spec.passwordSecret", Problem::Secret("s".into(), "is not of type kubernetes.io/basic-auth"),
        ),
        (
            "peer: secret without the password key",
            join(&[
                "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: metallb-system}\ntype: kubernetes.io/basic-auth\nstringData: {username: x}",
                &peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, passwordSecret: {name: s}}"),
            ]),
            "BGPPeer", "r1", "spec.passwordSecret", Problem::Secret("s".into(), "has no key \"password\""),
        ),
        (
            "peer: unknown BFD profile (transient)",
            peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, bfdProfile: nope}"),
            "BGPPeer", "r1", "spec.bfdProfile", Problem::UnknownBfdProfile("nope".into()),
        ),
        (
            "peers: same address, port and VRF on a common node",
            join(&[
                &peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1}"),
                "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r2, namespace: metallb-system}\nspec: {myASN: 3, peerASN: 2, peerAddress: 192.0.2.1}",
            ]),
            "BGPPeer", "r2", "spec.peerAddress", Problem::DuplicatePeer { other: "r1".into() },
        ),
        (
            "BFD echo mode with a peer that receives IPv6",
            join(&[
                "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: v6, namespace: metallb-system}\nspec: {addresses: ['2001:db8::/120']}",
                "apiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata: {name: echo, namespace: metallb-system}\nspec: {echoMode: true}",
                &peer("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, bfdProfile: echo}"),
                &bgp_ad("a1", "{}"),
            ]),
            "BGPPeer", "r1", "spec.bfdProfile", Problem::EchoWithIpv6 { profile: "echo".into(), peer: "r1".into() },
        ),
        (
            "two objects of one kind with one name",
            join(&[&p, &p]),
            "IPAddressPool", "p1", "metadata.name", Problem::DuplicateName("p1".into()),
        ),
    ]
}

#[test]
fn every_rule_has_its_error() {
    for (what, yaml, kind, name, field, problem) in cases() {
        let err = assemble(&objects(&yaml), &options()).expect_err(what);
        match err {
            Error::Invalid {
                object,
                field: f,
                problem: p,
            } => {
                assert_eq!(
                    (object.kind, object.name.as_str(), f.as_str()),
                    (kind, name, field),
                    "{what}"
                );
                assert_eq!(p, problem, "{what}");
            }
            other => panic!("{what}: unexpected {other}"),
        }
    }
}

#[test]
fn transient_errors_are_marked_and_blanked_for_webhooks() {
    let transient = [
        "BGP ad: unknown alias (transient)",
        "peer: secret missing (transient)",
        "peer: unknown BFD profile (transient)",
    ];
    for (what, yaml, ..) in cases() {
        let err = assemble(&objects(&yaml), &options()).expect_err(what);
        assert_eq!(err.is_transient(), transient.contains(&what), "{what}");
        if transient.contains(&what) {
            let webhook = Options {
                blank_transient: true,
                ..options()
            };
            assert!(assemble(&objects(&yaml), &webhook).is_ok(), "{what}");
        }
    }
}

#[test]
fn pool_rules_come_from_lb_ipam_with_the_pool_named() {
    let cases = [
        ("spec: {addresses: [192.0.2.1]}", "p1"),
        ("spec: {addresses: []}", "p1"),
        ("spec: {addresses: [192.0.2.9-192.0.2.1]}", "p1"),
        (
            "spec: {addresses: [192.0.2.0/24], serviceAllocation: {namespaces: [a, a]}}",
            "p1",
        ),
    ];
    for (spec, pool) in cases {
        let yaml = format!(
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: {pool}}}\n{spec}"
        );
        match assemble(&objects(&yaml), &options()) {
            Err(Error::Pool { object, .. }) => assert_eq!(object.name, pool, "{spec}"),
            other => panic!("{spec}: {other:?}"),
        }
    }
    // Overlap names the later pool in name order.
    let yaml = format!(
        "{POOL}\n---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: a0}}\nspec: {{addresses: [192.0.2.128/25]}}"
    );
    match assemble(&objects(&yaml), &options()) {
        Err(Error::Pool { object, source }) => {
            assert_eq!(object.name, "p1");
            assert!(matches!(source, lb_ipam::Error::Overlap { .. }));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn things_that_are_allowed() {
    let join = |parts: &[&str]| parts.join("\n---\n");
    let ok = [
        // LOCAL_PREF differs, but the node sets are disjoint / peers disjoint / lengths differ.
        join(&[
            POOL,
            NODES,
            &bgp_ad(
                "a1",
                "{localPref: 100, nodeSelectors: [{matchLabels: {rack: a}}]}",
            ),
            &bgp_ad(
                "a2",
                "{localPref: 200, nodeSelectors: [{matchLabels: {rack: b}}]}",
            ),
        ]),
        join(&[
            POOL,
            NODES,
            &bgp_ad("a1", "{localPref: 100, peers: [px]}"),
            &bgp_ad("a2", "{localPref: 200, peers: [py]}"),
        ]),
        join(&[
            POOL,
            NODES,
            &bgp_ad("a1", "{localPref: 100, aggregationLength: 24}"),
            &bgp_ad("a2", "{localPref: 200}"),
        ]),
        // With service selectors the check is left to the speaker.
        join(&[
            POOL,
            NODES,
            &bgp_ad("a1", "{localPref: 100, serviceSelectors: [{}]}"),
            &bgp_ad("a2", "{localPref: 200}"),
        ]),
        // Unknown pool names are ignored.
        join(&[POOL, &l2_ad("{ipAddressPools: [nope]}")]),
        // Large communities, IPv6 pools under BGP (lifted native restrictions).
        join(&[
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: v6}\nspec: {addresses: ['2001:db8::/64']}",
            &bgp_ad(
                "a1",
                "{communities: ['large:1:2:3'], aggregationLengthV6: 64}",
            ),
        ]),
        // A peer with the same address on disjoint nodes.
        join(&[
            NODES,
            &peer(
                "{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, nodeSelectors: [{matchLabels: {rack: a}}]}",
            ),
            "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r2}\nspec: {myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, nodeSelectors: [{matchLabels: {rack: b}}]}",
        ]),
        // No objects at all is a valid (empty) configuration.
        String::new(),
    ];
    for yaml in ok {
        assert!(assemble(&objects(&yaml), &options()).is_ok(), "{yaml}");
    }
}

#[test]
fn bfd_needs_an_implementation() {
    let yaml = "apiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata: {name: b1}\nspec: {}";
    let native = Options {
        bfd: false,
        ..options()
    };
    let err = assemble(&objects(yaml), &native).expect_err("native rejects BFD");
    assert!(matches!(
        err,
        Error::Invalid {
            problem: Problem::Unsupported(_),
            ..
        }
    ));
}

#[test]
fn other_namespaces_are_ignored() {
    let yaml = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p1, namespace: elsewhere}\nspec: {addresses: [nonsense]}";
    let config = assemble(&objects(yaml), &options()).expect("ignored");
    assert!(config.pools.is_empty());
}

#[test]
fn the_example_folder_assembles() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/manifests");
    let objects = lb_k8s::source::ManifestSource::load(&dir).expect("loads");
    let config = assemble(&objects, &options()).expect("valid");
    let names: Vec<&str> = config.pools.iter().map(|p| p.name()).collect();
    assert_eq!(
        names,
        ["bgp-pool", "first-pool", "production"],
        "name order"
    );
    let legacy = config
        .peers
        .iter()
        .find(|p| p.name == "legacy-router")
        .expect("converted");
    assert_eq!(legacy.timers, None, "0s/0s from the conversion means unset");
    let b = config
        .peers
        .iter()
        .find(|p| p.name == "router-b")
        .expect("router-b");
    assert_eq!(b.peer_asn, PeerAsn::Internal);
    assert_eq!(b.local_asn, Some(64510));
    let a = config
        .peers
        .iter()
        .find(|p| p.name == "router-a")
        .expect("router-a");
    assert_eq!(a.password.as_deref(), Some("s3cret"));
    assert_eq!(config.warnings.len(), 1, "disableMP");
    let default_ad = &config.l2_advertisements[0];
    assert_eq!(default_ad.name, "default");
    assert_eq!(default_ad.pools.len(), 3, "no pools named: every pool");
}

// ---- properties ----

fn arb_yaml_docs() -> impl Strategy<Value = Vec<String>> {
    let pool = (0u8..6, 0u8..4, 20u8..33).prop_map(|(n, net, len)| {
        format!("apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: p{n}}}\nspec: {{addresses: [192.0.{net}.0/{len}]}}")
    });
    let ad = (0u8..4, 0u8..3, 20u8..34, prop::sample::select(vec![0u32, 100, 200])).prop_map(
        |(n, pool, agg, lp)| {
            format!("apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {{name: a{n}}}\nspec: {{ipAddressPools: [p{pool}], aggregationLength: {agg}, localPref: {lp}}}")
        },
    );
    let l2 = (0u8..4, 0u8..3).prop_map(|(n, pool)| {
        format!("apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {{name: l{n}}}\nspec: {{ipAddressPools: [p{pool}]}}")
    });
    let peer = (0u8..4, 0u8..3, 0u32..3).prop_map(|(n, addr, asn)| {
        format!("apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {{name: r{n}}}\nspec: {{myASN: {asn}, peerASN: 65000, peerAddress: 192.0.2.{addr}}}")
    });
    prop::collection::vec(prop_oneof![pool, ad, l2, peer], 0..12)
}

proptest! {
    #[test]
    fn assembly_is_independent_of_object_order(docs in arb_yaml_docs(), seed in any::<u64>()) {
        let forward = objects(&docs.join("\n---\n"));
        let mut shuffled_docs = docs.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled_docs.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            let j = (s % (i as u64 + 1)) as usize;
            shuffled_docs.swap(i, j);
        }
        let shuffled = objects(&shuffled_docs.join("\n---\n"));
        let a = assemble(&forward, &options());
        let b = assemble(&shuffled, &options());
        match (a, b) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => prop_assert!(false, "{a:?} vs {b:?}"),
        }
    }

    #[test]
    fn assembly_never_panics_on_arbitrary_text(text in ".{0,400}") {
        let mut o = Objects::default();
        if o.parse_yaml(&text, "fuzz").is_ok() {
            let _ = assemble(&o, &options());
        }
    }
}
