//! Byte strings decoded into scripts of responder operations, with the responder's promises
//! checked after every step. Shared by the `arp_responder` fuzz target and a property test; it
//! panics only when a promise is broken.
//!
//! Promises checked:
//! - a reply goes out only for a request whose target is announced on the receiving interface,
//!   sent to broadcast or to that interface, from someone else; it carries that interface's
//!   MAC and answers the asker;
//! - every frame the responder emits parses, comes from the interface's MAC, and is a
//!   gratuitous packet for an announced address or a probe for a probed one;
//! - deadlines never go backwards past `now`, and a finite script never makes the responder
//!   loop forever.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::responder::{ArpResponder, Config, Interface, ProbeConfig};
use crate::wire::{ArpFrame, ArpKind, ArpRepr, EtherType, EthernetRepr, MacAddress};

const IFACES: [u32; 2] = [1, 2];

fn mac_of(ifindex: u32) -> MacAddress {
    MacAddress([2, 0, 0, 0, 1, ifindex as u8])
}

fn ip(b: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 100 + (b % 8))
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
    let mut r = ArpResponder::new(config);
    for i in IFACES {
        r.add_interface(Interface {
            index: i,
            name: format!("if{i}"),
            mac: mac_of(i),
        });
    }
    let start = Instant::now();
    let mut now = start;
    let mut announced: HashSet<(u32, Ipv4Addr)> = HashSet::new();
    // Every address ever probed: a probe may end (answer, timeout) before its ProbeDone event
    // is polled, and a new probe for the same address may start meanwhile, so the script
    // only checks that probes go out for addresses it asked about.
    let mut probed: HashSet<(u32, Ipv4Addr)> = HashSet::new();
    let mut bytes = data.iter().copied();
    while let Some(op) = bytes.next() {
        let arg = bytes.next().unwrap_or(0);
        let ifindex = IFACES[usize::from(op >> 7)];
        match op & 0x7 {
            0 => {
                r.announce(now, ifindex, ip(arg)).expect("known interface");
                announced.insert((ifindex, ip(arg)));
            }
            1 => {
                assert_eq!(
                    r.withdraw(ifindex, ip(arg)).is_some(),
                    announced.remove(&(ifindex, ip(arg)))
                );
            }
            2 => {
                r.probe(now, ifindex, ip(arg)).expect("known interface");
                probed.insert((ifindex, ip(arg)));
            }
            3 => {
                // Raw bytes from the script as a frame.
                let len = usize::from(arg % 64);
                let frame: Vec<u8> = bytes.by_ref().take(len).collect();
                check_reply(
                    &r.handle_frame(now, ifindex, &frame)
                        .map(|t| t.bytes().to_vec()),
                    &frame,
                    ifindex,
                    &announced,
                );
            }
            4 | 5 => {
                // A well-formed ARP packet of some kind, from a foreign or our own MAC.
                let sender = if arg & 0x40 != 0 {
                    mac_of(ifindex)
                } else {
                    MacAddress([2, 0, 0, 0, 2, arg])
                };
                let dst = if arg & 0x20 != 0 {
                    mac_of(ifindex)
                } else {
                    MacAddress::BROADCAST
                };
                let arp = match arg & 0x3 {
                    0 => ArpRepr::request(sender, Ipv4Addr::new(192, 0, 2, 10), ip(arg >> 2)),
                    1 => ArpRepr::probe(sender, ip(arg >> 2)),
                    2 => ArpRepr::gratuitous_request(sender, ip(arg >> 2)),
                    _ => ArpRepr::gratuitous_reply(sender, ip(arg >> 2)),
                };
                let frame = ArpFrame {
                    ethernet: EthernetRepr::new(sender, dst, EtherType::Arp),
                    arp,
                };
                let mut buf = [0u8; 60];
                let n = frame.emit(&mut buf).expect("fits");
                let reply = r
                    .handle_frame(now, ifindex, &buf[..n])
                    .map(|t| t.bytes().to_vec());
                check_reply(&reply, &buf[..n], ifindex, &announced);
            }
            _ => {
                // Let time pass and send what is due.
                now += Duration::from_millis(u64::from(arg) * 10);
                let mut sent = 0;
                while let Some(t) = r.poll_transmit(now) {
                    sent += 1;
                    assert!(sent < 10_000, "poll_transmit does not run dry");
                    let f = ArpFrame::parse(t.bytes()).expect("emitted frames parse");
                    assert_eq!(f.ethernet.src_addr, mac_of(t.ifindex));
                    assert_eq!(f.arp.source_hardware_addr, mac_of(t.ifindex));
                    match f.arp.kind() {
                        ArpKind::GratuitousRequest | ArpKind::GratuitousReply => assert!(
                            announced.contains(&(t.ifindex, f.arp.target_protocol_addr)),
                            "gratuitous ARP for an address not announced"
                        ),
                        ArpKind::Probe => assert!(
                            probed.contains(&(t.ifindex, f.arp.target_protocol_addr)),
                            "probe for an address not probed"
                        ),
                        other => panic!("unexpected {other:?} emitted on a timer"),
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
        let listed: HashSet<(u32, Ipv4Addr)> = IFACES
            .iter()
            .flat_map(|&i| r.announced(i).map(move |a| (i, a)))
            .collect();
        assert_eq!(
            listed, announced,
            "announced() disagrees with announce/withdraw"
        );
    }
    let _ = start;
}

fn check_reply(
    reply: &Option<Vec<u8>>,
    request: &[u8],
    ifindex: u32,
    announced: &HashSet<(u32, Ipv4Addr)>,
) {
    let Some(reply) = reply else { return };
    let req = ArpFrame::parse(request).expect("a reply answers a parseable frame");
    let rep = ArpFrame::parse(reply).expect("replies parse");
    let mac = mac_of(ifindex);
    assert!(
        matches!(req.arp.kind(), ArpKind::Request | ArpKind::Probe),
        "replied to {:?}",
        req.arp.kind()
    );
    assert!(
        announced.contains(&(ifindex, req.arp.target_protocol_addr)),
        "replied for an address not announced"
    );
    assert!(req.ethernet.dst_addr.is_broadcast() || req.ethernet.dst_addr == mac);
    assert_ne!(req.ethernet.src_addr, mac, "answered our own frame");
    assert_ne!(req.arp.source_hardware_addr, mac, "answered our own frame");
    assert_eq!(rep.arp, ArpRepr::reply_to(&req.arp, mac));
    assert_eq!(
        (rep.ethernet.src_addr, rep.ethernet.dst_addr),
        (mac, req.arp.source_hardware_addr)
    );
}
