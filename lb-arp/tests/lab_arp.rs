//! ARP in a network-namespace lab (`lb_lab::l2`): real `arping`, the client's kernel and
//! TCP against our driver running in the node namespaces.
//!
//! These need root, `ip`, `arping` (Debian package `arping`) and `ping`; they skip with a
//! message otherwise, and fail instead when `LB_LAB=required` (as `.ci/run` sets). The
//! scenarios both protocols pass are `lb_lab::l2_scenarios`; the rest are ARP's own.

use lb_lab::l2 as lab;

use std::net::Ipv4Addr;
use std::time::Duration;

use lab::{Lab, ip4, mac};
use lb_arp::driver::{DriverConfig, Handle, InterfaceFilter};
use lb_arp::{Event, MacAddress};

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

lb_lab::l2_scenario_tests!(lb_arp::Arp, ARP);

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
