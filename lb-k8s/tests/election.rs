//! The L2 election (spec §4.4): golden vectors for the SHA-256 ordering computed by Go, and
//! properties of `plan` over random clusters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use lb_ipam::ServiceKey;
use lb_k8s::config::{Objects, Options, assemble};
use lb_k8s::plan::{
    EXCLUDE_LABEL, Endpoint, Inputs, Membership, NodeState, Reason, ServiceState, election_key,
    go_ip_string, plan,
};
use proptest::prelude::*;

/// (address as parsed by Go, Go's `net.IP.String()`, SHA-256 of `"node-a#" + text`, the six
/// node names sorted by their key). Produced by a ten-line Go 1.26 program calling
/// `net.ParseIP(..).String()` and `sha256.Sum256([]byte(node + "#" + text))`, sorting with
/// `bytes.Compare`, exactly as `speaker/layer2_controller.go` does.
const GO_VECTORS: &[(&str, &str, &str, [&str; 6])] = &[
    (
        "192.0.2.10",
        "192.0.2.10",
        "d4b84135501a6622f43f01422f65d768d1a4637914be8add4e31f107336b8068",
        [
            "worker-2",
            "node-c",
            "node-b",
            "control-plane",
            "node-a",
            "worker-1",
        ],
    ),
    (
        "198.51.100.255",
        "198.51.100.255",
        "71b33a3eb5db623632eb11f90f269b13030b45e41619d58f1ed8edf0061428ef",
        [
            "worker-2",
            "node-a",
            "worker-1",
            "control-plane",
            "node-c",
            "node-b",
        ],
    ),
    (
        "2001:db8::1",
        "2001:db8::1",
        "3c9f88a7e2ef52a1c015be314124ea3ab99785b842ce9ee37afdf6470837efbe",
        [
            "control-plane",
            "node-b",
            "node-a",
            "worker-2",
            "worker-1",
            "node-c",
        ],
    ),
    (
        "2001:db8:0:0:1:0:0:1",
        "2001:db8::1:0:0:1",
        "714f24695e207d7e37431e22e421563eeca9062122196b58a8cb86f321dcbf6f",
        [
            "worker-1",
            "node-a",
            "worker-2",
            "node-c",
            "control-plane",
            "node-b",
        ],
    ),
    (
        "2001:db8::ffff:0:1",
        "2001:db8::ffff:0:1",
        "bb1922a4a812f6e51cd4babafd4f6127c170807ee091d18fc97ef1d9ac1f1411",
        [
            "node-b",
            "worker-1",
            "control-plane",
            "worker-2",
            "node-a",
            "node-c",
        ],
    ),
    (
        "::ffff:192.0.2.10",
        "192.0.2.10",
        "d4b84135501a6622f43f01422f65d768d1a4637914be8add4e31f107336b8068",
        [
            "worker-2",
            "node-c",
            "node-b",
            "control-plane",
            "node-a",
            "worker-1",
        ],
    ),
    (
        "2001:db8:1::",
        "2001:db8:1::",
        "52977d6482f66753c7bdb9a9fdbb38f15b82cccceed58b8cb378ec5e9a4b2f92",
        [
            "node-c",
            "node-a",
            "worker-2",
            "control-plane",
            "worker-1",
            "node-b",
        ],
    ),
    (
        "fe80::1:0:0:0",
        "fe80::1:0:0:0",
        "78aad2b45bf5c1a8480e8bfd895970f6a18cf089826b73b9bdd22be3bede5d29",
        [
            "worker-1",
            "control-plane",
            "node-b",
            "worker-2",
            "node-a",
            "node-c",
        ],
    ),
    (
        "2001:db8:0:1:1:1:1:1",
        "2001:db8:0:1:1:1:1:1",
        "9b61bb23c6c4a2ebbca0a6efd696253d10581d5937db6daf61204f86b28342e0",
        [
            "control-plane",
            "node-c",
            "worker-1",
            "node-b",
            "worker-2",
            "node-a",
        ],
    ),
    (
        "2001:0:0:1:0:0:1:1",
        "2001::1:0:0:1:1",
        "4b9813af00bc1adef9de4aea5d79ef44431cbe094ce9673ae9c06b368d304a8c",
        [
            "node-a",
            "control-plane",
            "node-c",
            "worker-2",
            "worker-1",
            "node-b",
        ],
    ),
    (
        "::",
        "::",
        "3790e8036b39f480963b3b9352cbc19d03468a7cd1866350d8cf3b8188dffb9e",
        [
            "control-plane",
            "worker-2",
            "node-a",
            "node-c",
            "worker-1",
            "node-b",
        ],
    ),
    (
        "::1.2.3.4",
        "::102:304",
        "ccbebf420530217531c347641cecfb0af5d9c5f4c82879ff72b8c8c82ff8c2d6",
        [
            "node-c",
            "worker-2",
            "control-plane",
            "node-b",
            "node-a",
            "worker-1",
        ],
    ),
];

const NODES: [&str; 6] = [
    "node-a",
    "node-b",
    "node-c",
    "worker-1",
    "worker-2",
    "control-plane",
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn go_text_and_hash_match_go() {
    for (ip, text, hash, order) in GO_VECTORS {
        let addr: IpAddr = ip.parse().unwrap();
        assert_eq!(go_ip_string(&addr), *text, "{ip}");
        assert_eq!(hex(&election_key("node-a", &addr)), *hash, "{ip}");
        let mut nodes = NODES.to_vec();
        nodes.sort_by_key(|n| election_key(n, &addr));
        assert_eq!(nodes, order.to_vec(), "{ip}");
    }
}

#[test]
fn plan_elects_the_first_node_of_the_go_order() {
    let config = l2_config("");
    for (ip, _, _, order) in GO_VECTORS
        .iter()
        .filter(|v| !v.0.starts_with("fe80") && v.0 != "::")
    {
        let addr: IpAddr = ip.parse::<IpAddr>().unwrap().to_canonical();
        if config.pools.pool_for(&[addr]).is_none() {
            continue;
        }
        let nodes = node_map(&NODES);
        let svc = service("web", vec![addr], &NODES);
        let winner = owner(&config, &nodes, &Membership::Disabled, &svc);
        assert_eq!(winner.as_deref(), Some(order[0]), "{ip}");
    }
}

// ---- helpers ----

fn l2_config(ad_spec: &str) -> lb_k8s::config::Config {
    let yaml = format!(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: pool}}\nspec: {{addresses: [192.0.2.0/24, 198.51.100.0/24, '2001:db8::/32', '::2-::ffff:ffff']}}\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {{name: l2}}\nspec: {{{ad_spec}}}\n"
    );
    let mut objects = Objects::default();
    objects.parse_yaml(&yaml, "test").unwrap();
    assemble(&objects, &Options::default()).unwrap()
}

fn node_map(names: &[&str]) -> BTreeMap<String, NodeState> {
    names
        .iter()
        .map(|n| {
            (
                n.to_string(),
                NodeState {
                    name: n.to_string(),
                    labels: [("kubernetes.io/hostname".to_string(), n.to_string())].into(),
                    network_unavailable: false,
                },
            )
        })
        .collect()
}

fn service(name: &str, ips: Vec<IpAddr>, endpoint_nodes: &[&str]) -> ServiceState {
    ServiceState {
        key: ServiceKey::new("default", name),
        labels: Default::default(),
        ips,
        local: false,
        shared: false,
        endpoints: endpoint_nodes
            .iter()
            .map(|n| Endpoint {
                node: Some(n.to_string()),
                serving: true,
                has_addresses: true,
            })
            .collect(),
    }
}

fn owner(
    config: &lb_k8s::config::Config,
    nodes: &BTreeMap<String, NodeState>,
    membership: &Membership,
    svc: &ServiceState,
) -> Option<String> {
    let services = [svc.clone()];
    let p = plan(&Inputs {
        config,
        services: &services,
        nodes,
        membership,
        me: "nobody",
        ignore_exclude_lb: false,
    });
    p.services[&svc.key].l2_owner.clone()
}

/// Who announces each IP, asking every node.
fn announcers(
    config: &lb_k8s::config::Config,
    services: &[ServiceState],
    nodes: &BTreeMap<String, NodeState>,
    membership: &Membership,
) -> BTreeMap<IpAddr, BTreeSet<String>> {
    let mut out: BTreeMap<IpAddr, BTreeSet<String>> = BTreeMap::new();
    for me in nodes.keys() {
        let p = plan(&Inputs {
            config,
            services,
            nodes,
            membership,
            me,
            ignore_exclude_lb: false,
        });
        for ip in p.desired.l2.keys() {
            out.entry(*ip).or_default().insert(me.clone());
        }
    }
    out
}

#[test]
fn exclusion_label_network_unavailable_and_suspects() {
    let config = l2_config("");
    let ip: IpAddr = "192.0.2.10".parse().unwrap();
    // Go order for 192.0.2.10: worker-2, node-c, node-b, ...
    let mut nodes = node_map(&NODES);
    let svc = service("web", vec![ip], &NODES);
    assert_eq!(
        owner(&config, &nodes, &Membership::Disabled, &svc).as_deref(),
        Some("worker-2")
    );
    nodes
        .get_mut("worker-2")
        .unwrap()
        .labels
        .insert(EXCLUDE_LABEL.into(), String::new());
    assert_eq!(
        owner(&config, &nodes, &Membership::Disabled, &svc).as_deref(),
        Some("node-c")
    );
    nodes.get_mut("node-c").unwrap().network_unavailable = true;
    assert_eq!(
        owner(&config, &nodes, &Membership::Disabled, &svc).as_deref(),
        Some("node-b")
    );
    // Membership decides the base set; a member without a Node object is not eligible.
    let members: BTreeSet<String> = ["node-a", "worker-1", "ghost"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        owner(&config, &nodes, &Membership::Live(members), &svc).as_deref(),
        Some("node-a")
    );
}

#[test]
fn local_policy_elects_among_endpoint_nodes_and_serving_terminating_counts() {
    let config = l2_config("");
    let ip: IpAddr = "192.0.2.10".parse().unwrap();
    let nodes = node_map(&NODES);
    let mut svc = service("web", vec![ip], &["worker-1"]);
    svc.local = true;
    svc.endpoints[0].serving = true; // ready=false, serving=true (terminating) still counts
    assert_eq!(
        owner(&config, &nodes, &Membership::Disabled, &svc).as_deref(),
        Some("worker-1")
    );
    svc.endpoints[0].serving = false;
    let services = [svc.clone()];
    let p = plan(&Inputs {
        config: &config,
        services: &services,
        nodes: &nodes,
        membership: &Membership::Disabled,
        me: "worker-1",
        ignore_exclude_lb: false,
    });
    assert_eq!(p.services[&svc.key].l2, Err(Reason::NotOwner));
}

#[test]
fn node_selectors_interfaces_and_preferences() {
    let config = l2_config(
        "nodeSelectors: [{matchLabels: {kubernetes.io/hostname: node-a}}, {matchLabels: {kubernetes.io/hostname: node-b}}], interfaces: [eth0], preferredNodeSelectors: [{weight: 10, preference: {matchLabels: {kubernetes.io/hostname: node-a}}}]",
    );
    let ip: IpAddr = "192.0.2.10".parse().unwrap(); // hash order prefers node-b over node-a
    let nodes = node_map(&NODES);
    let svc = service("web", vec![ip], &NODES);
    let services = [svc.clone()];
    let p = plan(&Inputs {
        config: &config,
        services: &services,
        nodes: &nodes,
        membership: &Membership::Disabled,
        me: "node-a",
        ignore_exclude_lb: false,
    });
    assert_eq!(
        p.services[&svc.key].l2_owner.as_deref(),
        Some("node-a"),
        "preference beats the hash"
    );
    assert_eq!(
        p.desired.l2[&ip],
        lb_k8s::plan::Interfaces::Only(["eth0".to_string()].into())
    );
    assert_eq!(p.l2_statuses[0].items, ["eth0"]);
    let obj = p.l2_statuses[0].to_l2_status("metallb-system");
    assert_eq!(obj.metadata.generate_name.as_deref(), Some("l2-"));
    let labels = obj.metadata.labels.unwrap();
    assert_eq!(labels["metallb.io/node"], "node-a");
    assert_eq!(labels["metallb.io/service-name"], "web");
    let status = obj.status.unwrap();
    assert_eq!(
        (status.node.as_str(), status.interfaces[0].name.as_str()),
        ("node-a", "eth0")
    );
    let p = plan(&Inputs {
        config: &config,
        services: &services,
        nodes: &nodes,
        membership: &Membership::Disabled,
        me: "worker-1",
        ignore_exclude_lb: false,
    });
    assert_eq!(
        p.services[&svc.key].l2,
        Err(Reason::NoMatchingAdvertisement)
    );
    // announceFailed: the winner lacks eth0.
    let mut p = plan(&Inputs {
        config: &config,
        services: &services,
        nodes: &nodes,
        membership: &Membership::Disabled,
        me: "node-a",
        ignore_exclude_lb: false,
    });
    let failed = p.announce_failed(&["eth1".to_string()].into());
    assert_eq!(failed, vec![svc.key.clone()]);
    assert!(p.desired.l2.is_empty() && p.l2_statuses.is_empty());
}

#[test]
fn shared_ip_with_service_selectors_is_not_announced() {
    let config = l2_config("serviceSelectors: [{matchLabels: {app: web}}]");
    let nodes = node_map(&NODES);
    let mut svc = service("web", vec!["192.0.2.10".parse().unwrap()], &NODES);
    svc.labels.insert("app".into(), "web".into());
    svc.shared = true;
    let services = [svc.clone()];
    let p = plan(&Inputs {
        config: &config,
        services: &services,
        nodes: &nodes,
        membership: &Membership::Disabled,
        me: "worker-2",
        ignore_exclude_lb: false,
    });
    assert_eq!(
        p.services[&svc.key].l2,
        Err(Reason::SharedIpWithServiceSelector)
    );
}

// ---- properties ----

/// Node names; per node (rack, excluded, network unavailable); per service (octet, dual stack).
type Cluster = (Vec<String>, Vec<(u8, bool, bool)>, Vec<(u8, bool)>);

fn arb_cluster() -> impl Strategy<Value = Cluster> {
    (
        prop::collection::btree_set("[a-z]{1,6}(-[0-9]{1,2})?", 1..8),
        // per node: (rack, excluded, network unavailable)
        prop::collection::vec(
            (
                0u8..3,
                prop::bool::weighted(0.15),
                prop::bool::weighted(0.15),
            ),
            8,
        ),
        // services: (host octet, dual stack)
        prop::collection::vec((1u8..250, any::<bool>()), 1..12),
    )
        .prop_map(|(names, flags, svcs)| (names.into_iter().collect(), flags, svcs))
}

fn build(
    names: &[String],
    flags: &[(u8, bool, bool)],
    svcs: &[(u8, bool)],
) -> (BTreeMap<String, NodeState>, Vec<ServiceState>) {
    let nodes = names
        .iter()
        .zip(flags)
        .map(|(n, (rack, excluded, unavailable))| {
            let mut labels: BTreeMap<String, String> =
                [("rack".to_string(), rack.to_string())].into();
            if *excluded {
                labels.insert(EXCLUDE_LABEL.into(), "true".into());
            }
            (
                n.clone(),
                NodeState {
                    name: n.clone(),
                    labels,
                    network_unavailable: *unavailable,
                },
            )
        })
        .collect();
    let mut seen = BTreeSet::new();
    let services = svcs
        .iter()
        .filter(|(octet, _)| seen.insert(*octet))
        .map(|(octet, dual)| {
            let mut ips: Vec<IpAddr> = vec![format!("192.0.2.{octet}").parse().unwrap()];
            if *dual {
                ips.push(format!("2001:db8::{octet:x}").parse().unwrap());
            }
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            service(&format!("s{octet}"), ips, &names)
        })
        .collect();
    (nodes, services)
}

fn eligible(nodes: &BTreeMap<String, NodeState>) -> BTreeSet<String> {
    nodes
        .values()
        .filter(|n| {
            !n.network_unavailable
                && !n.labels.contains_key(EXCLUDE_LABEL)
                && n.labels["rack"] != "2"
        })
        .map(|n| n.name.clone())
        .collect()
}

proptest! {
    #[test]
    fn exactly_one_announcer_per_ip_and_families_stay_together((names, flags, svcs) in arb_cluster()) {
        let config = l2_config("nodeSelectors: [{matchExpressions: [{key: rack, operator: In, values: ['0', '1']}]}]");
        let (nodes, services) = build(&names, &flags, &svcs);
        let who = announcers(&config, &services, &nodes, &Membership::Disabled);
        let live = eligible(&nodes);
        for svc in &services {
            let owners: Vec<&BTreeSet<String>> = svc.ips.iter().filter_map(|ip| who.get(ip)).collect();
            if live.is_empty() {
                prop_assert!(owners.is_empty());
                continue;
            }
            prop_assert_eq!(owners.len(), svc.ips.len(), "every IP announced");
            for o in &owners {
                prop_assert_eq!(o.len(), 1, "exactly one announcer");
                prop_assert!(live.contains(o.iter().next().unwrap()), "an eligible node");
            }
            prop_assert!(owners.windows(2).all(|w| w[0] == w[1]), "both families on one node");
        }
    }

    #[test]
    fn the_choice_does_not_depend_on_input_order((names, flags, svcs) in arb_cluster()) {
        let config = l2_config("");
        let (nodes, services) = build(&names, &flags, &svcs);
        let mut reversed = services.clone();
        reversed.reverse();
        let members: BTreeSet<String> = names.iter().cloned().collect();
        let m = Membership::Live(members);
        prop_assert_eq!(announcers(&config, &services, &nodes, &m), announcers(&config, &reversed, &nodes, &m));
    }

    #[test]
    fn removing_a_non_owner_never_moves_an_ip((names, flags, svcs) in arb_cluster(), victim in any::<prop::sample::Index>()) {
        let config = l2_config("");
        let (nodes, services) = build(&names, &flags, &svcs);
        let all: BTreeSet<String> = names.iter().cloned().collect();
        let before: BTreeMap<ServiceKey, Option<String>> = services
            .iter()
            .map(|s| (s.key.clone(), owner(&config, &nodes, &Membership::Live(all.clone()), s)))
            .collect();
        let gone = victim.get(&names).clone();
        let mut fewer = all.clone();
        fewer.remove(&gone);
        for s in &services {
            let was = &before[&s.key];
            if was.as_deref() == Some(gone.as_str()) {
                continue;
            }
            prop_assert_eq!(&owner(&config, &nodes, &Membership::Live(fewer.clone()), s), was);
        }
    }
}
