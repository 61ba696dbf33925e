//! NDP's part of the shared responder core ([`lb_l2::responder`]): the unsolicited Neighbor
//! Advertisement of an announcement round and a defence, the DAD-style probe, how a received
//! NS or NA reads, and the solicited-node group each address needs. [`NdpResponder`] is the
//! core with this protocol; the schedule, probes, conflicts, counters and events are the core's.

use std::net::Ipv6Addr;
use std::time::Duration;

pub use lb_l2::responder::{
    Announced, Counters, DEFEND_INTERVAL, Interface, MAX_FRAME_LEN, ProbeConfig, ProbeOutcome,
    Transmit, Withdrawn,
};
use lb_l2::responder::{Foreign, Incoming, Protocol, Received};

use crate::wire::{
    EtherType, EthernetRepr, MacAddress, NdiscRepr, NdpFrameRepr, NeighborFlags, solicited_node,
    solicited_node_mac,
};

/// The all-nodes multicast address, `ff02::1`.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Its Ethernet address, `33:33:00:00:00:01`.
pub const ALL_NODES_MAC: MacAddress = MacAddress([0x33, 0x33, 0, 0, 0, 1]);

/// NDP, as the [`lb_l2::responder::Protocol`] of [`NdpResponder`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ndp;

/// How a foreign host claimed an address we announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// It advertised the address (a Neighbor Advertisement for it).
    NeighborAdvert,
    /// It used the address as the source of a Neighbor Solicitation.
    NeighborSolicit,
}

/// The NDP responder core for any number of interfaces and addresses.
///
/// ```
/// use std::time::Instant;
/// use lb_ndp::{Config, EtherType, EthernetRepr, Interface, MacAddress, NdiscRepr, NdpFrameRepr, NdpResponder};
///
/// let mac: MacAddress = "02:00:00:00:00:0b".parse()?;
/// let mut responder = NdpResponder::new(Config::default());
/// responder.add_interface(Interface { index: 2, name: "eth0".into(), mac });
/// let now = Instant::now();
/// let vip = "2001:db8:1::100".parse()?;
/// let done = responder.announce(now, 2, vip)?;
/// assert_eq!(done.join, Some(lb_ndp::solicited_node_mac(vip))); // join 33:33:ff:00:01:00
///
/// // An unsolicited NA to ff02::1 goes out at once.
/// let na = NdpFrameRepr::parse(responder.poll_transmit(now).expect("NA").bytes())?;
/// assert_eq!(na.dst_addr, lb_ndp::ALL_NODES);
///
/// // A client asks; we answer with the interface's MAC, Solicited=1, Override=0.
/// let client: MacAddress = "02:00:00:00:00:0a".parse()?;
/// let ns = NdpFrameRepr {
///     ethernet: EthernetRepr::new(client, lb_ndp::solicited_node_mac(vip), EtherType::Ipv6),
///     src_addr: "2001:db8:1::a".parse()?,
///     dst_addr: lb_ndp::solicited_node(vip),
///     message: NdiscRepr::NeighborSolicit { target_addr: vip, lladdr: Some(client) },
/// };
/// let mut buf = [0u8; 128];
/// let n = ns.emit(&mut buf)?;
/// let reply = NdpFrameRepr::parse(responder.handle_frame(now, 2, &buf[..n]).expect("NA").bytes())?;
/// let NdiscRepr::NeighborAdvert { flags, lladdr, .. } = reply.message else { panic!() };
/// assert!(flags.solicited && !flags.override_);
/// assert_eq!(lladdr, Some(mac));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type NdpResponder = lb_l2::responder::Responder<Ndp>;

/// Responder settings; `schedule` is the [`AdvertSchedule`].
pub type Config = lb_l2::responder::Config<Ndp>;

/// Something the caller should know about: a conflict (with how it was [`Claim`]ed) or a
/// probe's outcome.
pub type Event = lb_l2::responder::Event<Ipv6Addr, Claim>;

/// When unsolicited advertisements go out after an announcement (see
/// [`lb_l2::responder::Schedule`]).
pub type AdvertSchedule = lb_l2::responder::Schedule;

#[inline]
fn transmit(ifindex: u32, frame: &NdpFrameRepr) -> Transmit {
    // Every frame built here fits MAX_FRAME_LEN, so emit cannot fail.
    Transmit::emit(ifindex, |buf| frame.emit(buf))
}

/// An unsolicited advertisement of `ip` with `mac` (Override=1) to all-nodes.
fn unsolicited_na(ifindex: u32, mac: MacAddress, ip: Ipv6Addr) -> Transmit {
    let frame = NdpFrameRepr {
        ethernet: EthernetRepr::new(mac, ALL_NODES_MAC, EtherType::Ipv6),
        src_addr: ip,
        dst_addr: ALL_NODES,
        message: NdiscRepr::NeighborAdvert {
            flags: NeighborFlags {
                router: false,
                solicited: false,
                override_: true,
            },
            target_addr: ip,
            lladdr: Some(mac),
        },
    };
    transmit(ifindex, &frame)
}

/// RFC 4861 §10 RETRANS_TIMER: 1 s between solicitations, and the wait after the last.
const RETRANS_TIMER: Duration = Duration::from_secs(1);

impl Protocol for Ndp {
    type Addr = Ipv6Addr;
    type ClaimKind = Claim;
    // Std's SipHash, not FxHash: with FxHash, pools of consecutive IPv6 addresses (the usual
    // VIP pool) cluster, and a hit cost about 5x more in the 10k-address bench (536 ns against
    // 98 ns).
    type Reply = NdpFrameRepr;
    type Hasher = std::hash::RandomState;

    const NAME: &'static str = "NDP";
    /// RFC 4862's defaults: one solicitation (DupAddrDetectTransmits), then RetransTimer.
    const PROBE: ProbeConfig = ProbeConfig {
        count: 1,
        interval: RETRANS_TIMER,
        wait: RETRANS_TIMER,
    };

    /// The address's solicited-node group (RFC 4291 §2.7.1), where its solicitations go.
    fn group(ip: Ipv6Addr) -> Option<MacAddress> {
        Some(solicited_node_mac(ip))
    }

    fn announcement(ifindex: u32, mac: MacAddress, ip: Ipv6Addr) -> (Transmit, Option<Transmit>) {
        (unsolicited_na(ifindex, mac, ip), None)
    }

    fn defence(ifindex: u32, mac: MacAddress, ip: Ipv6Addr) -> Transmit {
        unsolicited_na(ifindex, mac, ip)
    }

    /// An NS from `::` to the solicited-node group (RFC 4862 §5.4.2).
    fn probe(ifindex: u32, mac: MacAddress, ip: Ipv6Addr) -> Transmit {
        let frame = NdpFrameRepr {
            ethernet: EthernetRepr::new(mac, solicited_node_mac(ip), EtherType::Ipv6),
            src_addr: Ipv6Addr::UNSPECIFIED,
            dst_addr: solicited_node(ip),
            message: NdiscRepr::NeighborSolicit {
                target_addr: ip,
                lladdr: None,
            },
        };
        transmit(ifindex, &frame)
    }

    /// Answers a valid solicitation whose target is announced here with a unicast NA
    /// (Solicited=1, Override=0, target link-layer option = this interface's MAC); answers
    /// another host's DAD for it with an NA to all-nodes. An advertisement for an address, or
    /// another host's DAD solicitation for it, shows it in use; an advertisement claims its
    /// target, a solicitation its source.
    #[inline]
    fn transmit(ifindex: u32, reply: &NdpFrameRepr) -> Transmit {
        transmit(ifindex, reply)
    }

    #[inline]
    fn receive(rx: Incoming<'_>, announced: impl Fn(Ipv6Addr) -> bool) -> Received<Ndp> {
        let mac = rx.mac;
        let Some(frame) = rx.parse("NS/NA", NdpFrameRepr::parse) else {
            return Received::Malformed;
        };
        let lladdr = frame.message.lladdr();
        if frame.ethernet.src_addr == mac || lladdr == Some(mac) {
            return Received::Own;
        }
        let foreign = lladdr.unwrap_or(frame.ethernet.src_addr);
        let target = frame.message.target_addr();
        let mut seen = Foreign {
            mac: foreign,
            request: false,
            in_use: None,
            claim: None,
            reply: None,
        };
        match frame.message {
            NdiscRepr::NeighborAdvert { .. } => {
                seen.in_use = Some(target);
                seen.claim = Some((target, Claim::NeighborAdvert));
            }
            NdiscRepr::NeighborSolicit { .. } => {
                seen.request = true;
                let dad = frame.src_addr.is_unspecified();
                if dad {
                    seen.in_use = Some(target);
                } else {
                    seen.claim = Some((frame.src_addr, Claim::NeighborSolicit));
                }
                let dst = frame.ethernet.dst_addr;
                let to_us = dst == mac || dst == solicited_node_mac(target) || dst.is_broadcast();
                if to_us && announced(target) {
                    let (eth_dst, ip_dst, flags) = if dad {
                        tracing::info!(ip = %target, %foreign, "defend against DAD");
                        (
                            ALL_NODES_MAC,
                            ALL_NODES,
                            NeighborFlags {
                                override_: true,
                                ..NeighborFlags::default()
                            },
                        )
                    } else {
                        tracing::debug!(ip = %target, to = %frame.src_addr, "reply");
                        (
                            foreign,
                            frame.src_addr,
                            NeighborFlags {
                                solicited: true,
                                ..NeighborFlags::default()
                            },
                        )
                    };
                    seen.reply = Some(NdpFrameRepr {
                        ethernet: EthernetRepr::new(mac, eth_dst, EtherType::Ipv6),
                        src_addr: target,
                        dst_addr: ip_dst,
                        message: NdiscRepr::NeighborAdvert {
                            flags,
                            target_addr: target,
                            lladdr: Some(mac),
                        },
                    });
                } else {
                    tracing::trace!(ip = %target, "not ours");
                }
            }
        }
        Received::Foreign(seen)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Instant;

    use lb_l2::testing::{self, CLIENT, Frames, IF, OURS};

    use super::*;

    fn vip() -> Ipv6Addr {
        Ndp::test_addr(0x100)
    }
    fn client_ip() -> Ipv6Addr {
        "2001:db8:1::a".parse().unwrap()
    }
    fn responder() -> NdpResponder {
        testing::default_responder()
    }
    fn bytes(frame: NdpFrameRepr) -> Vec<u8> {
        let mut buf = vec![0u8; frame.buffer_len()];
        frame.emit(&mut buf).unwrap();
        buf
    }
    fn ns(target: Ipv6Addr) -> Vec<u8> {
        Ndp::request(target)
    }
    fn claim(from: MacAddress, ip: Ipv6Addr) -> Vec<u8> {
        Ndp::claim(from, ip)
    }
    fn drain(r: &mut NdpResponder, now: Instant) -> Vec<NdpFrameRepr> {
        testing::drain(r, now)
            .iter()
            .map(|t| NdpFrameRepr::parse(t.bytes()).unwrap())
            .collect()
    }

    impl Frames for Ndp {
        fn test_addr(i: u16) -> Ipv6Addr {
            Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, i)
        }
        fn request(target: Ipv6Addr) -> Vec<u8> {
            bytes(NdpFrameRepr {
                ethernet: EthernetRepr::new(CLIENT, solicited_node_mac(target), EtherType::Ipv6),
                src_addr: client_ip(),
                dst_addr: solicited_node(target),
                message: NdiscRepr::NeighborSolicit {
                    target_addr: target,
                    lladdr: Some(CLIENT),
                },
            })
        }
        fn claim(from: MacAddress, ip: Ipv6Addr) -> Vec<u8> {
            bytes(NdpFrameRepr {
                ethernet: EthernetRepr::new(from, ALL_NODES_MAC, EtherType::Ipv6),
                src_addr: ip,
                dst_addr: ALL_NODES,
                message: NdiscRepr::NeighborAdvert {
                    flags: NeighborFlags {
                        override_: true,
                        ..NeighborFlags::default()
                    },
                    target_addr: ip,
                    lladdr: Some(from),
                },
            })
        }
    }

    #[test]
    fn the_shared_responder_scenarios_with_s1_o0_replies() {
        testing::shared_scenarios::<Ndp>(|reply, vip| {
            let na = NdpFrameRepr::parse(reply).unwrap();
            assert_eq!((na.src_addr, na.dst_addr), (vip, client_ip()));
            assert_eq!(
                na.message,
                NdiscRepr::NeighborAdvert {
                    flags: NeighborFlags {
                        router: false,
                        solicited: true,
                        override_: false
                    },
                    target_addr: vip,
                    lladdr: Some(OURS),
                }
            );
        });
    }

    #[test]
    fn a_bad_hop_limit_is_malformed() {
        let mut r = responder();
        let now = Instant::now();
        r.announce(now, IF, vip()).unwrap();
        let mut bad = ns(vip());
        bad[14 + 7] = 64; // hop limit
        assert!(r.handle_frame(now, IF, &bad).is_none());
        assert_eq!(r.counters(IF).unwrap().malformed, 1);
    }

    #[test]
    fn unsolicited_adverts_on_schedule() {
        let mut r = responder();
        let t0 = Instant::now();
        r.announce(t0, IF, vip()).unwrap();
        let first = drain(&mut r, t0);
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].dst_addr, first[0].ethernet.dst_addr),
            (ALL_NODES, ALL_NODES_MAC)
        );
        let NdiscRepr::NeighborAdvert { flags, lladdr, .. } = first[0].message else {
            panic!()
        };
        let unsolicited = NeighborFlags {
            override_: true,
            ..NeighborFlags::default()
        };
        assert_eq!((flags, lladdr), (unsolicited, Some(OURS)));
        testing::the_schedule_runs_and_stops::<Ndp>(IF, OURS, vip(), 1, &ns(vip()));
    }

    #[test]
    fn solicited_node_groups_are_refcounted() {
        let mut r = responder();
        let now = Instant::now();
        let a: Ipv6Addr = "2001:db8:1::1:100".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:2::1:100".parse().unwrap(); // same low 24 bits
        let group = solicited_node_mac(a);
        assert_eq!(
            r.announce(now, IF, a).unwrap(),
            Announced {
                new: true,
                join: Some(group)
            }
        );
        assert_eq!(
            r.announce(now, IF, b).unwrap(),
            Announced {
                new: true,
                join: None
            }
        );
        assert_eq!(
            r.announce(now, IF, b).unwrap(),
            Announced {
                new: false,
                join: None
            }
        );
        assert_eq!(r.groups(IF).collect::<Vec<_>>(), vec![group]);
        assert_eq!(r.withdraw(IF, a), Some(Withdrawn { leave: None }));
        assert_eq!(r.withdraw(IF, a), None);
        assert_eq!(r.withdraw(IF, b), Some(Withdrawn { leave: Some(group) }));
        assert_eq!(r.groups(IF).count(), 0);
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn defends_against_dad_and_reports_foreign_adverts() {
        let mut r = responder();
        let now = Instant::now();
        r.announce(now, IF, vip()).unwrap();
        let other = MacAddress([2, 0, 0, 0, 0, 0x0c]);
        let dad = bytes(NdpFrameRepr {
            ethernet: EthernetRepr::new(other, solicited_node_mac(vip()), EtherType::Ipv6),
            src_addr: Ipv6Addr::UNSPECIFIED,
            dst_addr: solicited_node(vip()),
            message: NdiscRepr::NeighborSolicit {
                target_addr: vip(),
                lladdr: None,
            },
        });
        let defend = NdpFrameRepr::parse(r.handle_frame(now, IF, &dad).unwrap().bytes()).unwrap();
        assert_eq!(defend.dst_addr, ALL_NODES);
        let foreign_na = claim(other, vip());
        assert!(r.handle_frame(now, IF, &foreign_na).is_none());
        assert_eq!(
            r.poll_event(),
            Some(Event::Conflict {
                ifindex: IF,
                ip: vip(),
                foreign_mac: other,
                kind: Claim::NeighborAdvert,
            })
        );
    }

    #[test]
    fn probes_find_nothing_then_free_or_the_owner() {
        // The owner's kernel answers the DAD probe with an NA to all-nodes.
        let answer = claim(CLIENT, client_ip());
        testing::probes_tell_free_from_used::<Ndp>(
            vip(),
            client_ip(),
            |probe| {
                let f = NdpFrameRepr::parse(probe).unwrap();
                assert_eq!(f.src_addr, Ipv6Addr::UNSPECIFIED);
                assert_eq!(f.dst_addr, solicited_node(vip()));
            },
            &answer,
        );
    }
}
