//! NDP in a network-namespace lab (the lab is `lb_lab::l2`): real `ndisc6`, the
//! client's kernel and TCP against our driver running in the node namespaces.
//!
//! These need root, `ip`, `ndisc6` and `ping`; they skip with a message otherwise, and fail
//! instead when `LB_LAB=required` (as `.ci/run` sets).

use lb_lab::l2 as lab;

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use lab::{Lab, ip6, mac};
use lb_ndp::driver::{DriverConfig, InterfaceFilter};
use lb_ndp::{Event, MacAddress, ProbeConfig, ProbeOutcome};

const VIP: &str = "2001:db8:1::100";
const TOOLS: &[&str] = &["ndisc6", "ping"];

fn vip() -> Ipv6Addr {
    VIP.parse().expect("literal")
}

/// Our driver running on its own thread inside a node namespace.
type L2Host = lb_lab::l2host::L2Host<lb_ndp::Ndp>;

fn config() -> DriverConfig {
    DriverConfig {
        interfaces: InterfaceFilter::only(["eth0"]),
        ..DriverConfig::default()
    }
}

fn lab_mac(host: &str) -> MacAddress {
    mac(host).parse().expect("lab MAC")
}

#[test]
fn ndisc6_gets_our_mac_for_the_vip_and_nothing_else() {
    let Some(lab) = Lab::up("n1", TOOLS) else {
        return;
    };
    lab.accept_vip("node1", VIP);
    lab.accept_vip("node1", "2001:db8:1::101");
    assert_eq!(
        lab.ndisc6("client", VIP),
        None,
        "kernel answered for the VIP"
    );

    let node1 = L2Host::start(lab.netns_path("node1"), config());
    node1.handle.announce(vip()).expect("announce");
    // The socket joined the VIP's solicited-node group, as a NIC with multicast filtering needs.
    let group = lb_ndp::solicited_node_mac(vip()).to_string();
    assert!(
        lab.link_groups("node1").contains(&group),
        "{group} not joined"
    );
    assert_eq!(lab.ndisc6("client", VIP), Some(mac("node1")));
    assert_eq!(
        lab.ndisc6("client", "2001:db8:1::101"),
        None,
        "answered for an address not announced"
    );
    assert_eq!(node1.handle.announced(), vec![vip()]);
    let (_, counters) = node1.handle.interfaces().pop().expect("eth0");
    assert!(
        counters.replies_sent >= 1 && counters.gratuitous_sent >= 1,
        "{counters:?}"
    );

    assert!(node1.handle.withdraw(vip()));
    assert_eq!(lab.ndisc6("client", VIP), None, "answered after withdraw");
    assert!(
        !lab.link_groups("node1").contains(&group),
        "{group} still joined after withdraw"
    );
}

#[test]
fn client_kernel_learns_the_mac_tcp_reaches_the_node_and_failover_moves_it() {
    let Some(lab) = Lab::up("n2", TOOLS) else {
        return;
    };
    for node in ["node1", "node2"] {
        lab.accept_vip(node, VIP);
        lab::tcp_server(
            &lab,
            node,
            true,
            if node == "node1" { "node1" } else { "node2" },
        );
    }
    let node1 = L2Host::start(lab.netns_path("node1"), config());
    let node2 = L2Host::start(lab.netns_path("node2"), config());
    node1.handle.announce(vip()).expect("announce");

    assert!(lab.ping("client", VIP), "ping to the VIP");
    assert_eq!(lab.neigh("client", VIP), Some(mac("node1")));
    assert_eq!(
        lab::tcp_get(&lab, "client", IpAddr::V6(vip())).as_deref(),
        Some("node1")
    );
    // The BPF filter kept the ICMP echo and TCP frames in the kernel: the core saw none.
    let (_, counters) = node1.handle.interfaces().pop().expect("eth0");
    assert_eq!(
        counters.malformed, 0,
        "non-ARP/NDP frames reached user space: {counters:?}"
    );

    // Takeover: node2 announces (unsolicited NA, Override=1), node1 withdraws silently.
    node2.handle.announce(vip()).expect("announce");
    node1.handle.withdraw(vip());
    assert!(
        Lab::wait_for(Duration::from_secs(2), || lab.neigh("client", VIP)
            == Some(mac("node2"))),
        "client's neighbour entry still {:?}",
        lab.neigh("client", VIP)
    );
    assert_eq!(
        lab::tcp_get(&lab, "client", IpAddr::V6(vip())).as_deref(),
        Some("node2")
    );
}

#[test]
fn probe_finds_a_used_address_and_not_a_free_one() {
    let Some(lab) = Lab::up("n3", TOOLS) else {
        return;
    };
    let fast = ProbeConfig {
        count: 1,
        interval: Duration::from_millis(200),
        wait: Duration::from_millis(500),
    };
    let mut cfg = config();
    cfg.responder.probe = fast;
    let node1 = L2Host::start(lab.netns_path("node1"), cfg);

    // The client's kernel owns this address and defends it against our DAD probe.
    let used: Ipv6Addr = ip6("client").parse().expect("ip");
    node1.handle.probe(used).expect("probe");
    let done = node1.wait_event(
        Duration::from_secs(3),
        |e: &Event| matches!(e, Event::ProbeDone { ip, .. } if *ip == used),
    );
    assert!(
        matches!(done, Some(Event::ProbeDone { outcome: ProbeOutcome::InUse { mac }, .. }) if mac == lab_mac("client")),
        "{done:?}"
    );

    let free: Ipv6Addr = "2001:db8:1::200".parse().expect("ip");
    node1.handle.probe(free).expect("probe");
    let done = node1.wait_event(
        Duration::from_secs(3),
        |e: &Event| matches!(e, Event::ProbeDone { ip, .. } if *ip == free),
    );
    assert!(
        matches!(
            done,
            Some(Event::ProbeDone {
                outcome: ProbeOutcome::Free,
                ..
            })
        ),
        "{done:?}"
    );
}

#[test]
fn split_brain_each_watcher_reports_the_other() {
    let Some(lab) = Lab::up("n4", TOOLS) else {
        return;
    };
    let node1 = L2Host::start(lab.netns_path("node1"), config());
    let node2 = L2Host::start(lab.netns_path("node2"), config());
    node1.handle.announce(vip()).expect("announce");
    node2.handle.announce(vip()).expect("announce");
    for (me, other) in [(&node1, "node2"), (&node2, "node1")] {
        let e = me.wait_event(Duration::from_secs(3), |e: &Event| {
            matches!(e, Event::Conflict { .. })
        });
        assert!(
            matches!(e, Some(Event::Conflict { ip, foreign_mac, .. }) if ip == vip() && foreign_mac == lab_mac(other)),
            "{e:?}"
        );
    }
}
