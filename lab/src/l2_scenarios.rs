//! The Layer 2 lab scenarios lb-arp and lb-ndp both pass, written once over the protocol:
//! a real tool (`arping`, `ndisc6`) and the client's kernel against our driver in the node
//! namespaces of [`crate::l2::Lab`]. Each crate's lab test calls them with its protocol and
//! keeps only what is its own.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use lb_l2::MacAddress;
use lb_l2::driver::{DriverConfig, Sockets};
use lb_l2::netlink::InterfaceFilter;
use lb_l2::responder::{Config, Event, ProbeOutcome};

use crate::l2::{self, Lab};
use crate::l2host::L2Host;

/// What the scenarios need of a protocol beyond its driver: its lab tool, addresses and tags.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// The commands the lab needs (the scenarios skip or fail without them).
    pub tools: &'static [&'static str],
    /// The first letter of the scenarios' lab tags (namespaces are named from it).
    pub tag: char,
    /// The address announced.
    pub vip: &'static str,
    /// An address the node accepts but does not announce.
    pub not_announced: &'static str,
    /// An address nobody uses.
    pub free: &'static str,
    /// How many probes the probe scenario sends.
    pub probes: u32,
    /// Asks from `host` who has `ip` (`arping`, `ndisc6`): the MAC that answered.
    pub ask: fn(&Lab, &str, &str) -> Option<String>,
    /// A lab host's own address in this family.
    pub host_addr: fn(&str) -> String,
}

/// ARP's: `arping`, IPv4 documentation addresses, RFC 5227's probe count.
pub const ARP: Family = Family {
    tools: &["arping", "ping"],
    tag: 'a',
    vip: "192.0.2.100",
    not_announced: "192.0.2.101",
    free: "192.0.2.200",
    probes: 2,
    ask: Lab::arping,
    host_addr: l2::ip4,
};

/// NDP's: `ndisc6`, IPv6 documentation addresses, one DAD solicitation.
pub const NDP: Family = Family {
    tools: &["ndisc6", "ping"],
    tag: 'n',
    vip: "2001:db8:1::100",
    not_announced: "2001:db8:1::101",
    free: "2001:db8:1::200",
    probes: 1,
    ask: Lab::ndisc6,
    host_addr: l2::ip6,
};

/// The driver configuration of the scenarios: `eth0` only.
pub fn config<P: Sockets>() -> DriverConfig<Config<P>> {
    DriverConfig {
        interfaces: InterfaceFilter::only(["eth0"]),
        ..DriverConfig::default()
    }
}

fn lab_mac(host: &str) -> MacAddress {
    l2::mac(host).parse().expect("lab MAC")
}

fn ip_of(text: &str) -> IpAddr {
    text.parse().expect("literal")
}

fn addr<A: FromStr>(text: &str) -> A {
    text.parse()
        .unwrap_or_else(|_| panic!("{text} is not an address"))
}

/// The tool gets our MAC for the VIP once announced, nothing for an address not announced
/// (the kernel does not answer for addresses it only accepts), and nothing after withdraw;
/// the multicast group the address needs, if any, is joined and left with it; `set_announced`
/// makes the set it is given answered, and nothing else.
pub fn the_tool_gets_our_mac_for_the_vip_and_nothing_else<P: Sockets>(f: &Family)
where
    P::Addr: FromStr,
{
    let Some(lab) = Lab::up(&format!("{}1", f.tag), f.tools) else {
        return;
    };
    lab.accept_vip("node1", f.vip);
    lab.accept_vip("node1", f.not_announced);
    assert_eq!((f.ask)(&lab, "client", f.vip), None, "kernel answered");

    let node1 = L2Host::<P>::start(lab.netns_path("node1"), config::<P>());
    let vip = addr(f.vip);
    node1.handle.announce(vip).expect("announce");
    // The socket joined the VIP's group, as a NIC with multicast filtering needs.
    let group = P::group(vip).map(|g| g.to_string());
    if let Some(group) = &group {
        assert!(
            lab.link_groups("node1").contains(group),
            "{group} not joined"
        );
    }
    assert_eq!((f.ask)(&lab, "client", f.vip), Some(l2::mac("node1")));
    assert_eq!(
        (f.ask)(&lab, "client", f.not_announced),
        None,
        "answered for an address not announced"
    );
    assert_eq!(node1.handle.announced(), vec![vip]);
    let (iface, counters) = node1.handle.interfaces().pop().expect("eth0");
    assert_eq!(iface.name, "eth0");
    assert!(
        counters.replies_sent >= 1
            && counters.requests_received >= 1
            && counters.gratuitous_sent >= 1,
        "{counters:?}"
    );

    assert!(node1.handle.withdraw(vip));
    assert_eq!(
        (f.ask)(&lab, "client", f.vip),
        None,
        "answered after withdraw"
    );
    if let Some(group) = &group {
        assert!(
            !lab.link_groups("node1").contains(group),
            "{group} still joined after withdraw"
        );
    }
    // The declarative door: the set given is what is answered.
    node1.handle.set_announced([vip]).expect("set_announced");
    assert_eq!((f.ask)(&lab, "client", f.vip), Some(l2::mac("node1")));
    assert_eq!(node1.handle.announced(), vec![vip]);
    node1.handle.set_announced([]).expect("set_announced");
    assert_eq!(
        (f.ask)(&lab, "client", f.vip),
        None,
        "answered after set_announced([])"
    );
}

/// The client's kernel learns our MAC (ping), TCP reaches the node, the BPF program kept
/// every other frame in the kernel, and a takeover (the other node announces, the first
/// withdraws silently) moves the client's neighbour entry and its TCP.
pub fn the_client_follows_a_takeover<P: Sockets>(f: &Family)
where
    P::Addr: FromStr,
{
    let Some(lab) = Lab::up(&format!("{}2", f.tag), f.tools) else {
        return;
    };
    let v6 = ip_of(f.vip).is_ipv6();
    for node in ["node1", "node2"] {
        lab.accept_vip(node, f.vip);
        l2::tcp_server(
            &lab,
            node,
            v6,
            if node == "node1" { "node1" } else { "node2" },
        );
    }
    let node1 = L2Host::<P>::start(lab.netns_path("node1"), config::<P>());
    let node2 = L2Host::<P>::start(lab.netns_path("node2"), config::<P>());
    let vip = addr(f.vip);
    node1.handle.announce(vip).expect("announce");

    assert!(lab.ping("client", f.vip), "ping to the VIP");
    assert_eq!(lab.neigh("client", f.vip), Some(l2::mac("node1")));
    assert_eq!(
        l2::tcp_get(&lab, "client", ip_of(f.vip)).as_deref(),
        Some("node1")
    );
    let (_, counters) = node1.handle.interfaces().pop().expect("eth0");
    assert_eq!(
        counters.malformed, 0,
        "frames of other protocols reached user space: {counters:?}"
    );

    node2.handle.announce(vip).expect("announce");
    node1.handle.withdraw(vip);
    assert!(
        Lab::wait_for(Duration::from_secs(2), || lab.neigh("client", f.vip)
            == Some(l2::mac("node2"))),
        "client's neighbour entry still {:?}",
        lab.neigh("client", f.vip)
    );
    assert_eq!(
        l2::tcp_get(&lab, "client", ip_of(f.vip)).as_deref(),
        Some("node2")
    );
}

/// A probe for the client's own address finds it in use (the client's kernel answers or
/// defends it); one for a free address finds it free.
pub fn a_probe_tells_used_from_free<P: Sockets>(f: &Family)
where
    P::Addr: FromStr,
{
    let Some(lab) = Lab::up(&format!("{}3", f.tag), f.tools) else {
        return;
    };
    let mut cfg = config::<P>();
    cfg.responder.probe = lb_l2::responder::ProbeConfig {
        count: f.probes,
        interval: Duration::from_millis(200),
        wait: Duration::from_millis(500),
    };
    let node1 = L2Host::<P>::start(lab.netns_path("node1"), cfg);

    for (text, client) in [((f.host_addr)("client"), true), (f.free.to_string(), false)] {
        let ip = addr(&text);
        node1.handle.probe(ip).expect("probe");
        let done = node1.wait_event(
            Duration::from_secs(3),
            |e| matches!(e, Event::ProbeDone { ip: got, .. } if *got == ip),
        );
        let Some(Event::ProbeDone { outcome, .. }) = done else {
            panic!("no outcome for {text}: {done:?}");
        };
        let want = if client {
            ProbeOutcome::InUse {
                mac: lab_mac("client"),
            }
        } else {
            ProbeOutcome::Free
        };
        assert_eq!(outcome, want, "{text}");
    }
}

/// Both nodes announce the VIP at once: each reports the other's claim.
pub fn split_brain_each_reports_the_other<P: Sockets>(f: &Family)
where
    P::Addr: FromStr,
{
    let Some(lab) = Lab::up(&format!("{}4", f.tag), f.tools) else {
        return;
    };
    let node1 = L2Host::<P>::start(lab.netns_path("node1"), config::<P>());
    let node2 = L2Host::<P>::start(lab.netns_path("node2"), config::<P>());
    let vip = addr(f.vip);
    node1.handle.announce(vip).expect("announce");
    node2.handle.announce(vip).expect("announce");
    for (me, other) in [(&node1, "node2"), (&node2, "node1")] {
        let e = me.wait_event(Duration::from_secs(3), |e| {
            matches!(e, Event::Conflict { .. })
        });
        assert!(
            matches!(e, Some(Event::Conflict { ip, foreign_mac, .. }) if ip == vip && foreign_mac == lab_mac(other)),
            "{e:?}"
        );
    }
}

/// Defines, in the calling test crate, one `#[test]` per scenario of this module, run for the
/// protocol `$protocol` with the [`Family`] `$family` (`ARP` or `NDP`), so each protocol crate
/// states its lab suite in one line.
#[macro_export]
macro_rules! l2_scenario_tests {
    ($protocol:ty, $family:ident) => {
        #[test]
        fn the_tool_gets_our_mac_for_the_vip_and_nothing_else() {
            $crate::l2_scenarios::the_tool_gets_our_mac_for_the_vip_and_nothing_else::<$protocol>(
                &$crate::l2_scenarios::$family,
            );
        }

        #[test]
        fn client_kernel_learns_the_mac_tcp_reaches_the_node_and_failover_moves_it() {
            $crate::l2_scenarios::the_client_follows_a_takeover::<$protocol>(
                &$crate::l2_scenarios::$family,
            );
        }

        #[test]
        fn probe_finds_a_used_address_and_not_a_free_one() {
            $crate::l2_scenarios::a_probe_tells_used_from_free::<$protocol>(
                &$crate::l2_scenarios::$family,
            );
        }

        #[test]
        fn split_brain_each_watcher_reports_the_other() {
            $crate::l2_scenarios::split_brain_each_reports_the_other::<$protocol>(
                &$crate::l2_scenarios::$family,
            );
        }
    };
}
