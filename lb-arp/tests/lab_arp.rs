//! ARP in a network-namespace lab (see `lab/mod.rs`): real `arping`, the client's kernel and
//! TCP against our driver running in the node namespaces.
//!
//! These need root, `ip`, `arping` (Debian package `arping`) and `ping`; they skip with a
//! message otherwise, and fail instead when `LB_LAB=required` (as `.ci/run` sets).

use lb_lab::l2 as lab;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lab::{Lab, ip4, mac};
use lb_arp::driver::{DriverConfig, Handle, InterfaceFilter};
use lb_arp::{Event, MacAddress, ProbeConfig, ProbeOutcome};

const VIP: &str = "192.0.2.100";
const TOOLS: &[&str] = &["arping", "ping"];

fn vip() -> Ipv4Addr {
    VIP.parse().expect("literal")
}

/// Our driver running on its own thread inside a node namespace.
type L2Host = lb_lab::l2host::L2Host<lb_arp::Arp>;

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
fn arping_gets_our_mac_for_the_vip_and_nothing_else() {
    let Some(lab) = Lab::up("a1", TOOLS) else {
        return;
    };
    lab.accept_vip("node1", VIP);
    lab.accept_vip("node1", "192.0.2.101");
    // arp_ignore=1: the node's kernel does not answer for addresses it only accepts.
    assert_eq!(
        lab.arping("client", VIP),
        None,
        "kernel answered for the VIP"
    );

    let node1 = L2Host::start(lab.netns_path("node1"), config());
    node1.handle.announce(vip()).expect("announce");
    assert_eq!(lab.arping("client", VIP), Some(mac("node1")));
    assert_eq!(
        lab.arping("client", "192.0.2.101"),
        None,
        "answered for an address not announced"
    );
    assert_eq!(node1.handle.announced(), vec![vip()]);
    let (iface, counters) = node1.handle.interfaces().pop().expect("eth0");
    assert_eq!(iface.name, "eth0");
    assert!(
        counters.replies_sent >= 1 && counters.requests_received >= 2,
        "{counters:?}"
    );
    assert!(counters.gratuitous_sent >= 2, "{counters:?}");

    assert!(node1.handle.withdraw(vip()));
    assert_eq!(lab.arping("client", VIP), None, "answered after withdraw");
}

#[test]
fn client_kernel_learns_the_mac_tcp_reaches_the_node_and_failover_moves_it() {
    let Some(lab) = Lab::up("a2", TOOLS) else {
        return;
    };
    for node in ["node1", "node2"] {
        lab.accept_vip(node, VIP);
        lab::tcp_server(
            &lab,
            node,
            false,
            if node == "node1" { "node1" } else { "node2" },
        );
    }
    let node1 = L2Host::start(lab.netns_path("node1"), config());
    let node2 = L2Host::start(lab.netns_path("node2"), config());
    node1.handle.announce(vip()).expect("announce");

    assert!(lab.ping("client", VIP), "ping to the VIP");
    assert_eq!(lab.neigh("client", VIP), Some(mac("node1")));
    assert_eq!(
        lab::tcp_get(&lab, "client", IpAddr::V4(vip())).as_deref(),
        Some("node1")
    );
    // The BPF filter kept the ICMP echo and TCP frames in the kernel: the core saw none.
    let (_, counters) = node1.handle.interfaces().pop().expect("eth0");
    assert_eq!(
        counters.malformed, 0,
        "non-ARP/NDP frames reached user space: {counters:?}"
    );

    // Takeover: node2 announces (gratuitous ARP), node1 withdraws silently.
    node2.handle.announce(vip()).expect("announce");
    node1.handle.withdraw(vip());
    assert!(
        Lab::wait_for(Duration::from_secs(2), || lab.neigh("client", VIP)
            == Some(mac("node2"))),
        "client's neighbour entry still {:?}",
        lab.neigh("client", VIP)
    );
    assert_eq!(
        lab::tcp_get(&lab, "client", IpAddr::V4(vip())).as_deref(),
        Some("node2")
    );
}

#[test]
fn probe_finds_a_used_address_and_not_a_free_one() {
    let Some(lab) = Lab::up("a3", TOOLS) else {
        return;
    };
    let fast = ProbeConfig {
        count: 2,
        interval: Duration::from_millis(200),
        wait: Duration::from_millis(500),
    };
    let mut cfg = config();
    cfg.responder.probe = fast;
    let node1 = L2Host::start(lab.netns_path("node1"), cfg);

    let used: Ipv4Addr = ip4("client").parse().expect("ip");
    node1.handle.probe(used).expect("probe");
    let done = node1.wait_event(
        Duration::from_secs(3),
        |e: &Event| matches!(e, Event::ProbeDone { ip, .. } if *ip == used),
    );
    assert!(
        matches!(done, Some(Event::ProbeDone { outcome: ProbeOutcome::InUse { mac }, .. }) if mac == lab_mac("client")),
        "{done:?}"
    );

    let free: Ipv4Addr = "192.0.2.200".parse().expect("ip");
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
    let Some(lab) = Lab::up("a4", TOOLS) else {
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

/// Split brain where the first node's gratuitous schedule ended long before the second node
/// claims the address: the first sees the second's gratuitous ARP and defends once (RFC 5227
/// §2.4), so the second learns of the first too.
#[test]
fn split_brain_after_the_schedule_ended_is_seen_from_both_sides() {
    let Some(lab) = Lab::up("a7", TOOLS) else {
        return;
    };
    let mut first = config();
    first.responder.schedule = lb_arp::GratuitousSchedule::new([Duration::ZERO]).expect("schedule");
    let node1 = L2Host::start(lab.netns_path("node1"), first);
    node1.handle.announce(vip()).expect("announce");
    std::thread::sleep(Duration::from_millis(500)); // node1's only round is long gone
    let node2 = L2Host::start(lab.netns_path("node2"), config());
    node2.handle.announce(vip()).expect("announce");
    for (me, other) in [(&node1, "node2"), (&node2, "node1")] {
        let e = me.wait_event(Duration::from_secs(3), |e: &Event| {
            matches!(e, Event::Conflict { .. })
        });
        assert!(
            matches!(e, Some(Event::Conflict { ip, foreign_mac, .. }) if ip == vip() && foreign_mac == lab_mac(other)),
            "{other} not reported: {e:?}"
        );
    }
    let (_, counters) = node1.handle.interfaces().pop().expect("eth0");
    assert_eq!(counters.defences_sent, 1, "{counters:?}");
}

/// `arping` keeps getting answers from us as it does from the node's kernel, request after
/// request. The timing comparison itself is a benchmark: `cargo bench -p lb-benches --bench
/// l2_lab`.
#[test]
fn lab_answers_every_request_like_the_kernel() {
    let Some(lab) = Lab::up("a5", TOOLS) else {
        return;
    };
    lab.accept_vip("node1", VIP);
    let node1 = L2Host::start(lab.netns_path("node1"), config());
    node1.handle.announce(vip()).expect("announce");
    let mut ours = vec![];
    let mut kernel = vec![];
    for _ in 0..20 {
        ours.extend(lab.arping_rtt_us("client", VIP));
        kernel.extend(lab.arping_rtt_us("client", &ip4("node1")));
    }
    assert!(
        ours.len() >= 15 && kernel.len() >= 15,
        "too few answers: {ours:?} {kernel:?}"
    );
}

/// Interface discovery follows the kernel: a link that appears (and comes up) after the driver
/// started is picked up from the netlink notification, gets the announced address, and one
/// enslaved to a bridge is not used.
#[test]
fn new_interfaces_are_discovered_over_netlink() {
    let Some(lab) = Lab::up("a6", TOOLS) else {
        return;
    };
    let cfg = DriverConfig {
        interfaces: InterfaceFilter::only(["eth0", "eth1", "br1"]),
        rescan_interval: Duration::from_secs(3600), // only netlink notifications count here
        ..DriverConfig::default()
    };
    let node1 = L2Host::start(lab.netns_path("node1"), cfg);
    node1.handle.announce(vip()).expect("announce");
    let names = |h: &Handle| {
        let mut v: Vec<String> = h.interfaces().into_iter().map(|(i, _)| i.name).collect();
        v.sort();
        v
    };
    assert_eq!(names(&node1.handle), vec!["eth0"]);

    let ns = lab.ns("node1");
    let ip = |args: &[&str]| {
        let mut full = vec!["-n", ns.as_str()];
        full.extend_from_slice(args);
        assert!(
            std::process::Command::new("ip")
                .args(&full)
                .status()
                .expect("ip")
                .success(),
            "ip {args:?}"
        );
    };
    ip(&[
        "link", "add", "eth1", "type", "veth", "peer", "name", "eth2",
    ]);
    ip(&["link", "set", "eth2", "up"]);
    ip(&["link", "set", "eth1", "up"]);
    assert!(
        Lab::wait_for(Duration::from_secs(3), || names(&node1.handle)
            == vec!["eth0", "eth1"]),
        "eth1 not picked up: {:?}",
        names(&node1.handle)
    );
    // The wanted address was announced on the new interface too. The timer task sends the
    // gratuitous ARPs right after the interface is added, so give it a moment.
    let sent_on_eth1 = || {
        node1
            .handle
            .interfaces()
            .into_iter()
            .find(|(i, _)| i.name == "eth1")
            .map(|(_, c)| c.gratuitous_sent)
    };
    assert!(
        Lab::wait_for(Duration::from_secs(3), || sent_on_eth1()
            .is_some_and(|n| n >= 2)),
        "gratuitous ARPs sent on eth1: {:?}",
        sent_on_eth1()
    );

    // Enslaved to a bridge: no longer eligible (the bridge itself would be, were it allowed).
    ip(&["link", "add", "br1", "type", "bridge"]);
    ip(&["link", "set", "eth1", "master", "br1"]);
    assert!(
        Lab::wait_for(Duration::from_secs(3), || names(&node1.handle)
            == vec!["eth0"]),
        "enslaved eth1 still used: {:?}",
        names(&node1.handle)
    );
    ip(&["link", "set", "br1", "up"]);
    assert!(
        Lab::wait_for(Duration::from_secs(3), || names(&node1.handle)
            == vec!["br1", "eth0"]),
        "bridge not picked up: {:?}",
        names(&node1.handle)
    );
}
