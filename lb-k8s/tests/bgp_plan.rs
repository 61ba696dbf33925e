//! BGP planning (spec §4.6): sessions by node selectors, advertisement filters, aggregation,
//! community aliases, LOCAL_PREF merging, family filters and the should-announce reasons.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use lb_ipam::ServiceKey;
use lb_k8s::config::{CommunityValue, Config, Objects, Options, assemble};
use lb_k8s::plan::{
    EXCLUDE_LABEL, Endpoint, Inputs, Membership, NodeState, Plan, Reason, Route, ServiceState, plan,
};

const BASE: &str = "
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: blue, labels: {color: blue}}
spec: {addresses: [192.0.2.0/24, '2001:db8::/64']}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: red}
spec: {addresses: [198.51.100.0/24]}
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: aliases}
spec: {communities: [{name: no-export, value: '65535:65281'}, {name: big, value: 'large:1:2:3'}]}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: tor-a}
spec: {myASN: 64500, peerASN: 64500, peerAddress: 192.0.2.254, nodeSelectors: [{matchLabels: {rack: a}}]}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: tor-b}
spec: {myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.253}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: tor-v6}
spec: {myASN: 64500, peerASN: 64501, peerAddress: '2001:db8::fe'}
";

fn config(ads: &str) -> Config {
    let mut objects = Objects::default();
    objects
        .parse_yaml(&format!("{BASE}\n---\n{ads}"), "test")
        .unwrap();
    assemble(&objects, &Options::default()).unwrap()
}

fn nodes() -> BTreeMap<String, NodeState> {
    [("n1", "a"), ("n2", "b")]
        .iter()
        .map(|(n, rack)| {
            (
                n.to_string(),
                NodeState {
                    name: n.to_string(),
                    labels: [("rack".to_string(), rack.to_string())].into(),
                    network_unavailable: false,
                },
            )
        })
        .collect()
}

fn svc(name: &str, ips: &[&str]) -> ServiceState {
    ServiceState {
        key: ServiceKey::new("default", name),
        labels: [("app".to_string(), name.to_string())].into(),
        ips: ips.iter().map(|i| i.parse().unwrap()).collect(),
        local: false,
        shared: false,
        endpoints: vec![Endpoint {
            node: Some("n2".into()),
            serving: true,
            has_addresses: true,
        }],
    }
}

fn run(
    config: &Config,
    nodes: &BTreeMap<String, NodeState>,
    services: &[ServiceState],
    me: &str,
) -> Plan {
    plan(&Inputs {
        config,
        services,
        nodes,
        membership: &Membership::Disabled,
        me,
        ignore_exclude_lb: false,
    })
}

fn prefixes(p: &Plan, peer: &str) -> Vec<String> {
    p.desired.routes[peer]
        .iter()
        .map(|r| r.prefix.to_string())
        .collect()
}

fn ad(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {{name: {name}}}\nspec: {spec}\n"
    )
}

#[test]
fn sessions_follow_peer_node_selectors() {
    let c = config(&ad("all", "{}"));
    let services = [svc("web", &["192.0.2.1"])];
    let on_a = run(&c, &nodes(), &services, "n1");
    let on_b = run(&c, &nodes(), &services, "n2");
    assert_eq!(
        on_a.desired.sessions.keys().collect::<Vec<_>>(),
        ["tor-a", "tor-b", "tor-v6"]
    );
    assert_eq!(
        on_b.desired.sessions.keys().collect::<Vec<_>>(),
        ["tor-b", "tor-v6"]
    );
}

#[test]
fn routes_go_to_sessions_of_their_family() {
    let c = config(&ad("all", "{}"));
    let services = [svc("web", &["192.0.2.1", "2001:db8::1"])];
    let p = run(&c, &nodes(), &services, "n1");
    assert_eq!(prefixes(&p, "tor-a"), ["192.0.2.1/32"]);
    assert_eq!(prefixes(&p, "tor-v6"), ["2001:db8::1/128"]);
    let d = &p.services[&services[0].key];
    assert_eq!(d.bgp, Ok(()));
    assert_eq!(
        d.bgp_peers.iter().collect::<Vec<_>>(),
        ["tor-a", "tor-b", "tor-v6"]
    );
    assert_eq!(p.bgp_statuses[0].items, ["tor-a", "tor-b", "tor-v6"]);
}

#[test]
fn advertisement_filters() {
    let c = config(&[
        ad("only-b", "{ipAddressPools: [blue], peers: [tor-b]}"),
        ad("rack-b", "{ipAddressPoolSelectors: [{matchLabels: {color: blue}}], nodeSelectors: [{matchLabels: {rack: b}}], communities: [no-export]}"),
    ].join("---\n"));
    let services = [svc("web", &["192.0.2.1"]), svc("other", &["198.51.100.1"])];
    let p = run(&c, &nodes(), &services, "n1");
    assert_eq!(
        prefixes(&p, "tor-a"),
        Vec::<String>::new(),
        "peers: [tor-b] only"
    );
    assert_eq!(prefixes(&p, "tor-b"), ["192.0.2.1/32"]);
    assert!(
        p.desired.routes["tor-b"][0].communities.is_empty(),
        "rack-b is not for n1"
    );
    assert_eq!(
        p.services[&services[1].key].bgp,
        Err(Reason::NotOwner),
        "red has no ad"
    );
    let p = run(&c, &nodes(), &services, "n2");
    assert_eq!(
        p.desired.routes["tor-b"],
        vec![Route {
            prefix: "192.0.2.1/32".parse().unwrap(),
            local_pref: 0,
            communities: vec![CommunityValue::Standard(65535, 65281)],
        }],
        "both ads on n2: merged, communities unioned"
    );
}

#[test]
fn aggregation_and_merging() {
    let c = config(&[
        ad("agg", "{aggregationLength: 24, aggregationLengthV6: 64, localPref: 150, communities: ['64500:1', big]}"),
        ad("host", "{localPref: 150, communities: [no-export]}"),
    ].join("---\n"));
    let services = [
        svc("a", &["192.0.2.1", "2001:db8::1"]),
        svc("b", &["192.0.2.7"]),
    ];
    let p = run(&c, &nodes(), &services, "n2");
    let routes = &p.desired.routes["tor-b"];
    let want: Vec<(&str, u32, Vec<CommunityValue>)> = vec![
        (
            "192.0.2.0/24",
            150,
            vec![
                CommunityValue::Standard(64500, 1),
                CommunityValue::Large(1, 2, 3),
            ],
        ),
        (
            "192.0.2.1/32",
            150,
            vec![CommunityValue::Standard(65535, 65281)],
        ),
        (
            "192.0.2.7/32",
            150,
            vec![CommunityValue::Standard(65535, 65281)],
        ),
    ];
    let got: Vec<(String, u32, Vec<CommunityValue>)> = routes
        .iter()
        .map(|r| (r.prefix.to_string(), r.local_pref, r.communities.clone()))
        .collect();
    assert_eq!(
        got,
        want.iter()
            .map(|(p, l, c)| (p.to_string(), *l, c.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(prefixes(&p, "tor-v6"), ["2001:db8::/64", "2001:db8::1/128"]);
    // Both services produced the shared /24 aggregate: both list the peer.
    assert!(p.services[&services[1].key].bgp_peers.contains("tor-b"));
}

#[test]
fn local_pref_of_the_first_on_equal_prefixes() {
    // Different LOCAL_PREF on disjoint peer lists is a valid config; a dual-stack session
    // sees both.
    let yaml = [
        ad("ax", "{localPref: 100, peers: [tor-b], communities: ['1:1']}"),
        ad("ay", "{localPref: 300, peers: [tor-v6], communities: ['1:2']}"),
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: tor-v6}\nspec: {myASN: 64500, peerASN: 64501, peerAddress: '2001:db8::fe', dualStackAddressFamily: true}\n".to_string(),
    ];
    let mut objects = Objects::default();
    objects
        .parse_yaml(
            &BASE
                .replace("metadata: {name: tor-v6}", "metadata: {name: unused-v6}")
                .replace("2001:db8::fe", "2001:db8::fd"),
            "base",
        )
        .unwrap();
    objects.parse_yaml(&yaml.join("---\n"), "ads").unwrap();
    let c = assemble(&objects, &Options::default()).unwrap();
    let services = [svc("a", &["192.0.2.1"])];
    let p = run(&c, &nodes(), &services, "n2");
    assert_eq!(
        prefixes(&p, "tor-v6"),
        ["192.0.2.1/32"],
        "dualStackAddressFamily carries IPv4"
    );
    assert_eq!(p.desired.routes["tor-v6"][0].local_pref, 300);
    assert_eq!(p.desired.routes["tor-b"][0].local_pref, 100);
}

#[test]
fn should_announce_reasons() {
    let c = config(
        &[
            ad("plain", "{ipAddressPools: [blue]}"),
            ad(
                "picky",
                "{ipAddressPools: [red], serviceSelectors: [{matchLabels: {app: nobody}}]}",
            ),
        ]
        .join("---\n"),
    );
    let base = svc("web", &["192.0.2.1"]);
    let check = |s: ServiceState,
                 nodes: BTreeMap<String, NodeState>,
                 me: &str,
                 want: Result<(), Reason>| {
        let key = s.key.clone();
        let p = run(&c, &nodes, &[s], me);
        assert_eq!(p.services[&key].bgp, want, "{key}");
    };
    check(base.clone(), nodes(), "n1", Ok(()));
    check(
        svc("red", &["198.51.100.1"]),
        nodes(),
        "n1",
        Err(Reason::NoMatchingAdvertisement),
    );
    check(
        svc("none", &["203.0.113.1"]),
        nodes(),
        "n1",
        Err(Reason::IpNotAllowed),
    );
    check(svc("none", &[]), nodes(), "n1", Err(Reason::NoIpAllocated));
    let mut down = nodes();
    down.get_mut("n1").unwrap().network_unavailable = true;
    check(
        base.clone(),
        down,
        "n1",
        Err(Reason::NodeNetworkUnavailable),
    );
    let mut excluded = nodes();
    excluded
        .get_mut("n1")
        .unwrap()
        .labels
        .insert(EXCLUDE_LABEL.into(), String::new());
    check(
        base.clone(),
        excluded,
        "n1",
        Err(Reason::NodeLabeledExcludeBalancers),
    );
    let mut local = base.clone();
    local.local = true;
    check(local.clone(), nodes(), "n1", Err(Reason::NoLocalEndpoints));
    check(local, nodes(), "n2", Ok(()));
    let mut no_addr = base.clone();
    no_addr.endpoints[0].has_addresses = false;
    check(no_addr, nodes(), "n1", Err(Reason::NoEndpoints));
    check(base, nodes(), "ghost", Err(Reason::NotOwner));
}

#[test]
fn conflicting_local_pref_with_service_selectors_is_caught_per_service() {
    let c = config(
        &[
            ad(
                "ax",
                "{localPref: 100, serviceSelectors: [{matchLabels: {app: web}}]}",
            ),
            ad("ay", "{localPref: 200}"),
        ]
        .join("---\n"),
    );
    let services = [svc("web", &["192.0.2.1"]), svc("api", &["192.0.2.2"])];
    let p = run(&c, &nodes(), &services, "n1");
    assert_eq!(
        p.services[&services[0].key].bgp,
        Err(Reason::ConflictingAdvertisements)
    );
    assert_eq!(p.services[&services[1].key].bgp, Ok(()));
}

#[test]
fn sessions_get_an_entry_even_without_routes() {
    let c = config("");
    let p = run(&c, &nodes(), &[], "n1");
    assert!(p.desired.routes.values().all(Vec::is_empty));
    assert_eq!(p.desired.routes.len(), 3);
    let _: Option<IpAddr> = None;
}
