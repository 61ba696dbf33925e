//! Byte strings decoded into scripts of responder operations, with the responder's promises
//! checked after every step (the script runner is [`lb_l2::testing::run_script`]; this is
//! NDP's part). Shared by the `ndp_responder` fuzz target and a property test; it panics only
//! when a promise is broken.
//!
//! NDP's promises, on top of the runner's (which also checks that the solicited-node groups
//! to join are exactly those of the announced addresses):
//! - an advertisement answers only a valid solicitation, from someone else; it carries the
//!   interface's MAC, S=1 O=0 to the asker, or S=0 O=1 to all-nodes when defending against DAD;
//! - every frame emitted on a timer parses (checksum included), comes from the interface's
//!   MAC, and is an unsolicited NA for an announced address or a DAD probe for a probed one.

use std::net::Ipv6Addr;

use lb_l2::testing::{Script, Sent, run_script};

use crate::responder::{ALL_NODES, ALL_NODES_MAC, Ndp};
use crate::wire::{
    EtherType, EthernetRepr, MacAddress, NdiscRepr, NdpFrameRepr, NeighborFlags, solicited_node,
    solicited_node_mac,
};

/// Runs the script in `data`.
pub fn run(data: &[u8]) {
    run_script::<Ndp>(data, 100);
}

impl Script for Ndp {
    /// Eight addresses in two /64s; all share one solicited-node group, which exercises the
    /// group refcount.
    fn addr(b: u8) -> Ipv6Addr {
        let low = u128::from(b % 8);
        let high = if b.is_multiple_of(2) { 0 } else { 1u128 << 64 };
        Ipv6Addr::from(
            0x2001_0db8_0001_0000_0000_0000_0000_0100u128 + high + (low >> 1) * 0x1_0000_0000,
        )
    }

    fn frame(arg: u8, sender: MacAddress, _ours: MacAddress) -> Vec<u8> {
        let target = Self::addr(arg >> 2);
        let frame = match arg & 0x3 {
            0 => NdpFrameRepr {
                ethernet: EthernetRepr::new(sender, solicited_node_mac(target), EtherType::Ipv6),
                src_addr: "2001:db8:1::a".parse().expect("literal"),
                dst_addr: solicited_node(target),
                message: NdiscRepr::NeighborSolicit {
                    target_addr: target,
                    lladdr: Some(sender),
                },
            },
            1 => NdpFrameRepr {
                ethernet: EthernetRepr::new(sender, solicited_node_mac(target), EtherType::Ipv6),
                src_addr: Ipv6Addr::UNSPECIFIED,
                dst_addr: solicited_node(target),
                message: NdiscRepr::NeighborSolicit {
                    target_addr: target,
                    lladdr: None,
                },
            },
            _ => NdpFrameRepr {
                ethernet: EthernetRepr::new(sender, ALL_NODES_MAC, EtherType::Ipv6),
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
        let mut buf = vec![0u8; frame.buffer_len()];
        frame.emit(&mut buf).expect("fits");
        buf
    }

    fn check_reply(sent: Sent<'_, Ipv6Addr>, request: &[u8]) {
        let (announced, ours) = (sent.announced, sent.ours);
        let req = NdpFrameRepr::parse(request).expect("a reply answers a valid frame");
        let rep = NdpFrameRepr::parse(sent.frame).expect("replies parse and validate");
        let NdiscRepr::NeighborSolicit { target_addr, .. } = req.message else {
            panic!("answered an advertisement")
        };
        assert!(
            announced(target_addr),
            "answered for an address not announced"
        );
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
            (target_addr, Some(ours), target_addr)
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

    fn check_timer_frame(frame: Sent<'_, Ipv6Addr>, probed: &dyn Fn(Ipv6Addr) -> bool) {
        let f = NdpFrameRepr::parse(frame.frame).expect("emitted frames parse and validate");
        let (announced, ours) = (frame.announced, frame.ours);
        match f.message {
            NdiscRepr::NeighborAdvert {
                flags,
                target_addr,
                lladdr,
            } => {
                assert!(announced(target_addr), "NA for an address not announced");
                assert_eq!(
                    flags,
                    NeighborFlags {
                        router: false,
                        solicited: false,
                        override_: true
                    }
                );
                assert_eq!((f.dst_addr, lladdr), (ALL_NODES, Some(ours)));
            }
            NdiscRepr::NeighborSolicit { target_addr, .. } => {
                assert!(probed(target_addr), "probe for an address not probed");
                assert!(f.src_addr.is_unspecified());
            }
        }
    }
}
