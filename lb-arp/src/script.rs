//! Byte strings decoded into scripts of responder operations, with the responder's promises
//! checked after every step (the script runner is [`lb_l2::testing::run_script`]; this is
//! ARP's part). Shared by the `arp_responder` fuzz target and a property test; it panics only
//! when a promise is broken.
//!
//! ARP's promises, on top of the runner's:
//! - a reply answers a request or probe sent to broadcast or to the interface, by someone else;
//!   it carries that interface's MAC and answers the asker;
//! - every frame sent on a timer comes from the interface's MAC and is a gratuitous packet (for
//!   an announced address) or a probe (for a probed one).

use std::net::Ipv4Addr;

use lb_l2::testing::{Script, Sent, run_script};

use crate::responder::Arp;
use crate::wire::{ArpFrameRepr, ArpKind, ArpRepr, EtherType, EthernetRepr, MacAddress};

/// Runs the script in `data`.
pub fn run(data: &[u8]) {
    run_script::<Arp>(data, 64);
}

impl Script for Arp {
    fn addr(b: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 0, 2, 100 + (b % 8))
    }

    fn frame(arg: u8, sender: MacAddress, ours: MacAddress) -> Vec<u8> {
        let dst = if arg & 0x20 == 0 {
            MacAddress::BROADCAST
        } else {
            ours
        };
        let target = Self::addr(arg >> 2);
        let arp = match arg & 0x3 {
            0 => ArpRepr::request(sender, Ipv4Addr::new(192, 0, 2, 10), target),
            1 => ArpRepr::probe(sender, target),
            2 => ArpRepr::gratuitous_request(sender, target),
            _ => ArpRepr::gratuitous_reply(sender, target),
        };
        let frame = ArpFrameRepr {
            ethernet: EthernetRepr::new(sender, dst, EtherType::Arp),
            arp,
        };
        let mut buf = vec![0u8; 60];
        let n = frame.emit(&mut buf).expect("fits");
        buf.truncate(n);
        buf
    }

    fn check_reply(sent: Sent<'_, Ipv4Addr>, request: &[u8]) {
        let Sent {
            frame: reply,
            ours,
            announced,
        } = sent;
        let rep = ArpFrameRepr::parse(reply).expect("replies parse");
        let req = ArpFrameRepr::parse(request).expect("a reply answers a parseable frame");
        assert!(
            matches!(req.arp.kind(), ArpKind::Request | ArpKind::Probe),
            "replied to {:?}",
            req.arp.kind()
        );
        assert!(
            announced(req.arp.target_protocol_addr),
            "replied for an address not announced"
        );
        assert!(req.ethernet.dst_addr.is_broadcast() || req.ethernet.dst_addr == ours);
        assert_ne!(req.arp.source_hardware_addr, ours, "answered our own frame");
        assert_eq!(rep.arp, ArpRepr::reply_to(&req.arp, ours));
        assert_eq!(
            (rep.ethernet.src_addr, rep.ethernet.dst_addr),
            (ours, req.arp.source_hardware_addr)
        );
    }

    fn check_timer_frame(sent: Sent<'_, Ipv4Addr>, probed: &dyn Fn(Ipv4Addr) -> bool) {
        let (announced, ours) = (sent.announced, sent.ours);
        let f = ArpFrameRepr::parse(sent.frame).expect("emitted frames parse");
        assert_eq!(f.arp.source_hardware_addr, ours);
        let target = f.arp.target_protocol_addr;
        match f.arp.kind() {
            ArpKind::GratuitousRequest | ArpKind::GratuitousReply => assert!(
                announced(target),
                "gratuitous ARP for an address not announced"
            ),
            ArpKind::Probe => assert!(probed(target), "probe for an address not probed"),
            other => panic!("unexpected {other:?} emitted on a timer"),
        }
    }
}
