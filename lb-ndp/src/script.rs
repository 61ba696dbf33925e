//! Byte strings decoded into scripts of responder operations, with the responder's promises
//! checked after every step. Shared by the `ndp_responder` fuzz target and a property test; it
//! panics only when a promise is broken.
//!
//! Promises checked:
//! - an advertisement goes out only for a valid solicitation whose target is announced on the
//!   receiving interface, from someone else; it carries that interface's MAC, S=1 O=0 to the
//!   asker, or S=0 O=1 to all-nodes when defending against DAD;
//! - every frame emitted on a timer parses (checksum included), comes from the interface's
//!   MAC, and is an unsolicited NA for an announced address or a DAD probe for a probed one;
//! - the solicited-node groups to join are exactly those of the announced addresses.

use std::collections::HashSet;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use crate::responder::{ALL_NODES, Config, Interface, NdpResponder, ProbeConfig};
use crate::wire::{
    EtherType, EthernetRepr, MacAddress, NdiscRepr, NdpFrame, NeighborFlags, solicited_node,
    solicited_node_mac,
};

const IFACES: [u32; 2] = [1, 2];

fn mac_of(ifindex: u32) -> MacAddress {
    MacAddress([2, 0, 0, 0, 1, ifindex as u8])
}

/// Eight addresses in two /64s; all share one solicited-node group, which exercises the
/// group refcount.
fn ip(b: u8) -> Ipv6Addr {
    let low = u128::from(b % 8);
    let high = if b.is_multiple_of(2) { 0 } else { 1u128 << 64 };
    Ipv6Addr::from(
        0x2001_0db8_0001_0000_0000_0000_0000_0100u128 + high + (low >> 1) * 0x1_0000_0000,
    )
}

/// Runs the script in `data`.
pub fn run(data: &[u8]) {
    let config = Config {
        probe: ProbeConfig {
            count: 2,
            interval: Duration::from_millis(100),
            wait: Duration::from_millis(200),
        },
        max_events: 16,
        ..Config::default()
    };
    let mut r = NdpResponder::new(config);
    for i in IFACES {
        r.add_interface(Interface {
            index: i,
            name: format!("if{i}"),
            mac: mac_of(i),
        });
    }
    let mut now = Instant::now();
    let mut announced: HashSet<(u32, Ipv6Addr)> = HashSet::new();
    // Every address ever probed: a probe may end (answer, timeout) before its ProbeDone event
    // is polled, and a new probe for the same address may start meanwhile, so the script
    // only checks that probes go out for addresses it asked about.
    let mut probed: HashSet<(u32, Ipv6Addr)> = HashSet::new();
    let mut bytes = data.iter().copied();
    while let Some(op) = bytes.next() {
        let arg = bytes.next().unwrap_or(0);
        let ifindex = IFACES[usize::from(op >> 7)];
        match op & 0x7 {
            0 => {
                let done = r.announce(now, ifindex, ip(arg)).expect("known interface");
                assert_eq!(done.new, announced.insert((ifindex, ip(arg))));
            }
            1 => {
                let was = announced.remove(&(ifindex, ip(arg)));
                assert_eq!(r.withdraw(ifindex, ip(arg)).is_some(), was);
            }
            2 => {
                r.probe(now, ifindex, ip(arg)).expect("known interface");
                probed.insert((ifindex, ip(arg)));
            }
            3 => {
                let len = usize::from(arg % 100);
                let frame: Vec<u8> = bytes.by_ref().take(len).collect();
                let reply = r
                    .handle_frame(now, ifindex, &frame)
                    .map(|t| t.bytes().to_vec());
                check_reply(&reply, &frame, ifindex, &announced);
            }
            4 | 5 => {
                let sender = if arg & 0x40 != 0 {
                    mac_of(ifindex)
                } else {
                    MacAddress([2, 0, 0, 0, 2, arg])
                };
                let target = ip(arg >> 2);
                let frame = match arg & 0x3 {
                    0 => NdpFrame {
                        ethernet: EthernetRepr::new(
                            sender,
                            solicited_node_mac(target),
                            EtherType::Ipv6,
                        ),
                        src_addr: "2001:db8:1::a".parse().expect("literal"),
                        dst_addr: solicited_node(target),
                        message: NdiscRepr::NeighborSolicit {
                            target_addr: target,
                            lladdr: Some(sender),
                        },
                    },
                    1 => NdpFrame {
                        ethernet: EthernetRepr::new(
                            sender,
                            solicited_node_mac(target),
                            EtherType::Ipv6,
                        ),
                        src_addr: Ipv6Addr::UNSPECIFIED,
                        dst_addr: solicited_node(target),
                        message: NdiscRepr::NeighborSolicit {
                            target_addr: target,
                            lladdr: None,
                        },
                    },
                    _ => NdpFrame {
                        ethernet: EthernetRepr::new(sender, crate::ALL_NODES_MAC, EtherType::Ipv6),
                        src_addr: target,
                        dst_addr: ALL_NODES,
                        message: NdiscRepr::NeighborAdvert {
                            flags: NeighborFlags {
                                override_: true,
                                ..NeighborFlags::default()
                            },
                            target_addr: target,
                            lladdr: Some(sender),
                        },
                    },
                };
                let mut buf = [0u8; 128];
                let n = frame.emit(&mut buf).expect("fits");
                let reply = r
                    .handle_frame(now, ifindex, &buf[..n])
                    .map(|t| t.bytes().to_vec());
                check_reply(&reply, &buf[..n], ifindex, &announced);
            }
            _ => {
                now += Duration::from_millis(u64::from(arg) * 10);
                let mut sent = 0;
                while let Some(t) = r.poll_transmit(now) {
                    sent += 1;
                    assert!(sent < 10_000, "poll_transmit does not run dry");
                    let f = NdpFrame::parse(t.bytes()).expect("emitted frames parse and validate");
                    assert_eq!(f.ethernet.src_addr, mac_of(t.ifindex));
                    match f.message {
                        NdiscRepr::NeighborAdvert {
                            flags,
                            target_addr,
                            lladdr,
                        } => {
                            assert!(
                                announced.contains(&(t.ifindex, target_addr)),
                                "NA for an address not announced"
                            );
                            assert_eq!(
                                flags,
                                NeighborFlags {
                                    router: false,
                                    solicited: false,
                                    override_: true
                                }
                            );
                            assert_eq!((f.dst_addr, lladdr), (ALL_NODES, Some(mac_of(t.ifindex))));
                        }
                        NdiscRepr::NeighborSolicit { target_addr, .. } => {
                            assert!(
                                probed.contains(&(t.ifindex, target_addr)),
                                "probe for an address not probed"
                            );
                            assert!(f.src_addr.is_unspecified());
                        }
                    }
                }
                if let Some(at) = r.poll_timeout() {
                    assert!(
                        at > now,
                        "a deadline at or before now survived poll_transmit"
                    );
                }
                while r.poll_event().is_some() {}
            }
        }
        for i in IFACES {
            let listed: HashSet<Ipv6Addr> = r.announced(i).collect();
            let expected: HashSet<Ipv6Addr> = announced
                .iter()
                .filter(|(j, _)| *j == i)
                .map(|(_, a)| *a)
                .collect();
            assert_eq!(
                listed, expected,
                "announced() disagrees with announce/withdraw"
            );
            let groups: HashSet<MacAddress> = r.groups(i).collect();
            let wanted: HashSet<MacAddress> =
                expected.iter().map(|a| solicited_node_mac(*a)).collect();
            assert_eq!(groups, wanted, "solicited-node groups out of step");
        }
    }
}

fn check_reply(
    reply: &Option<Vec<u8>>,
    request: &[u8],
    ifindex: u32,
    announced: &HashSet<(u32, Ipv6Addr)>,
) {
    let Some(reply) = reply else { return };
    let req = NdpFrame::parse(request).expect("a reply answers a valid frame");
    let rep = NdpFrame::parse(reply).expect("replies parse and validate");
    let mac = mac_of(ifindex);
    let NdiscRepr::NeighborSolicit { target_addr, .. } = req.message else {
        panic!("answered an advertisement")
    };
    assert!(
        announced.contains(&(ifindex, target_addr)),
        "answered for an address not announced"
    );
    assert_ne!(req.ethernet.src_addr, mac, "answered our own frame");
    assert_eq!(rep.ethernet.src_addr, mac);
    let NdiscRepr::NeighborAdvert {
        flags,
        target_addr: t,
        lladdr,
    } = rep.message
    else {
        panic!("reply is not an NA")
    };
    assert_eq!(
        (t, lladdr, rep.src_addr),
        (target_addr, Some(mac), target_addr)
    );
    if req.src_addr.is_unspecified() {
        assert_eq!(
            (rep.dst_addr, flags.solicited, flags.override_),
            (ALL_NODES, false, true)
        );
    } else {
        assert_eq!(
            (rep.dst_addr, flags.solicited, flags.override_),
            (req.src_addr, true, false)
        );
    }
}
