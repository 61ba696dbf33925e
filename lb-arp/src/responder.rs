//! ARP's part of the shared responder core ([`lb_l2::responder`]): the frames of a gratuitous
//! round (request and reply form), a defence and an RFC 5227 probe, and how a received ARP
//! frame reads. [`ArpResponder`] is the core with this protocol; the schedule, probes,
//! conflicts, counters and events are the core's.

use std::net::Ipv4Addr;
use std::time::Duration;

pub use lb_l2::responder::{
    Announced, Counters, DEFEND_INTERVAL, Interface, ProbeConfig, ProbeOutcome, Transmit, Withdrawn,
};
use lb_l2::responder::{Foreign, Incoming, Protocol, Received};

use crate::wire::{ArpFrameRepr, ArpKind, ArpRepr, EtherType, EthernetRepr, MacAddress};

/// ARP, as the [`lb_l2::responder::Protocol`] of [`ArpResponder`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Arp;

/// The ARP responder core for any number of interfaces and addresses.
///
/// ```
/// use std::time::Instant;
/// use lb_arp::{ArpFrameRepr, ArpRepr, ArpResponder, Config, EtherType, EthernetRepr, Interface, MacAddress};
///
/// let mac: MacAddress = "02:00:00:00:00:0b".parse()?;
/// let mut responder = ArpResponder::new(Config::default());
/// responder.add_interface(Interface { index: 2, name: "eth0".into(), mac });
/// let now = Instant::now();
/// responder.announce(now, 2, "192.0.2.100".parse()?)?;
///
/// // Gratuitous ARP goes out at once, in both forms.
/// let first = responder.poll_transmit(now).expect("request form");
/// let second = responder.poll_transmit(now).expect("reply form");
/// assert!(responder.poll_transmit(now).is_none());
/// assert!(responder.poll_timeout() > Some(now));
/// # let _ = (first, second);
///
/// // A client asks; we answer with the interface's MAC.
/// let client: MacAddress = "02:00:00:00:00:0a".parse()?;
/// let ask = ArpFrameRepr {
///     ethernet: EthernetRepr::new(client, MacAddress::BROADCAST, EtherType::Arp),
///     arp: ArpRepr::request(client, "192.0.2.10".parse()?, "192.0.2.100".parse()?),
/// };
/// let mut buf = [0u8; 60];
/// let n = ask.emit(&mut buf)?;
/// let reply = responder.handle_frame(now, 2, &buf[..n]).expect("a reply");
/// let reply = ArpFrameRepr::parse(reply.bytes())?;
/// assert_eq!(reply.arp.source_hardware_addr, mac);
/// assert_eq!(reply.ethernet.dst_addr, client);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type ArpResponder = lb_l2::responder::Responder<Arp>;

/// Responder settings; `schedule` is the [`GratuitousSchedule`].
pub type Config = lb_l2::responder::Config<Arp>;

/// Something the caller should know about: a conflict (with the claiming packet's
/// [`ArpKind`]) or a probe's outcome.
pub type Event = lb_l2::responder::Event<Ipv4Addr, ArpKind>;

/// When gratuitous ARP rounds go out after an announcement (see
/// [`lb_l2::responder::Schedule`]).
pub type GratuitousSchedule = lb_l2::responder::Schedule;

/// Largest frame the responder emits: ARP with one 802.1Q tag.
pub const MAX_FRAME_LEN: usize = 46;

#[inline]
fn transmit(ifindex: u32, frame: &ArpFrameRepr) -> Transmit {
    // The frame's length is 42 or 46 bytes, so emit cannot fail here.
    Transmit::emit(ifindex, |buf| frame.emit(buf))
}

fn broadcast(mac: MacAddress, arp: ArpRepr) -> ArpFrameRepr {
    ArpFrameRepr {
        ethernet: EthernetRepr::new(mac, MacAddress::BROADCAST, EtherType::Arp),
        arp,
    }
}

impl Protocol for Arp {
    type Addr = Ipv4Addr;
    type ClaimKind = ArpKind;
    type Reply = ArpFrameRepr;
    type Hasher = rustc_hash::FxBuildHasher;

    const NAME: &'static str = "ARP";
    /// RFC 5227's numbers without the random jitter: 3 probes 1 s apart (PROBE_MIN), then 2 s
    /// (ANNOUNCE_WAIT).
    const PROBE: ProbeConfig = ProbeConfig {
        count: 3,
        interval: Duration::from_secs(1),
        wait: Duration::from_secs(2),
    };

    /// ARP requests are broadcast: no group to join.
    fn group(_: Ipv4Addr) -> Option<MacAddress> {
        None
    }

    fn announcement(ifindex: u32, mac: MacAddress, ip: Ipv4Addr) -> (Transmit, Option<Transmit>) {
        let request = broadcast(mac, ArpRepr::gratuitous_request(mac, ip));
        let reply = broadcast(mac, ArpRepr::gratuitous_reply(mac, ip));
        (transmit(ifindex, &request), Some(transmit(ifindex, &reply)))
    }

    /// An ARP announcement (RFC 5227 §2.4 (b)).
    fn defence(ifindex: u32, mac: MacAddress, ip: Ipv4Addr) -> Transmit {
        transmit(
            ifindex,
            &broadcast(mac, ArpRepr::gratuitous_request(mac, ip)),
        )
    }

    fn probe(ifindex: u32, mac: MacAddress, ip: Ipv4Addr) -> Transmit {
        transmit(ifindex, &broadcast(mac, ArpRepr::probe(mac, ip)))
    }

    /// Answers a request (or probe) whose target is announced here, sent to the broadcast
    /// address or to this interface. A foreign packet claims its sender address (a probe, the
    /// address it probes: RFC 5227 §2.1.1, another host's probe is a conflict for ours).
    #[inline]
    fn transmit(ifindex: u32, reply: &ArpFrameRepr) -> Transmit {
        transmit(ifindex, reply)
    }

    #[inline]
    fn receive(rx: Incoming<'_>, announced: impl Fn(Ipv4Addr) -> bool) -> Received<Arp> {
        let Some(frame) = rx.parse(Arp::NAME, ArpFrameRepr::parse) else {
            return Received::Malformed;
        };
        let mac = rx.mac;
        let arp = &frame.arp;
        if frame.ethernet.src_addr == mac || arp.source_hardware_addr == mac {
            return Received::Own;
        }
        let kind = arp.kind();
        let in_use = match kind {
            ArpKind::Probe => Some(arp.target_protocol_addr),
            ArpKind::Other => None,
            _ => Some(arp.source_protocol_addr),
        };
        let claim = (kind != ArpKind::Probe && kind != ArpKind::Other)
            .then_some((arp.source_protocol_addr, kind));
        let request = matches!(kind, ArpKind::Request | ArpKind::Probe);
        let mut reply = None;
        if request {
            let tpa = arp.target_protocol_addr;
            let to_us = frame.ethernet.dst_addr.is_broadcast() || frame.ethernet.dst_addr == mac;
            if to_us && announced(tpa) {
                tracing::debug!(ip = %tpa, to = %arp.source_hardware_addr, "reply");
                reply = Some(ArpFrameRepr {
                    ethernet: EthernetRepr::new(mac, arp.source_hardware_addr, EtherType::Arp),
                    arp: ArpRepr::reply_to(arp, mac),
                });
            } else {
                tracing::trace!(ip = %tpa, "not ours");
            }
        }
        Received::Foreign(Foreign {
            mac: arp.source_hardware_addr,
            request,
            in_use,
            claim,
            reply,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Instant;

    use lb_l2::testing::{self, CLIENT, Frames, IF, OURS};

    use super::*;

    /// The address announced, `Arp::test_addr(100)`, and the client's.
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
    const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    fn bytes(frame: ArpFrameRepr) -> Vec<u8> {
        let mut buf = vec![0u8; 60];
        let n = frame.emit(&mut buf).unwrap();
        buf.truncate(n.max(60)); // padded like a real minimum-size frame
        buf
    }

    impl Frames for Arp {
        fn test_addr(i: u16) -> Ipv4Addr {
            // 192.0.2.0/24, then 198.51.100.0/24, then 203.0.113.0/24 (RFC 5737).
            let [a, b, c] = match i / 256 {
                0 => [192, 0, 2],
                1 => [198, 51, 100],
                _ => [203, 0, 113],
            };
            Ipv4Addr::new(a, b, c, (i % 256) as u8)
        }
        fn request(target: Ipv4Addr) -> Vec<u8> {
            bytes(ArpFrameRepr {
                ethernet: EthernetRepr::new(CLIENT, MacAddress::BROADCAST, EtherType::Arp),
                arp: ArpRepr::request(CLIENT, CLIENT_IP, target),
            })
        }
        fn claim(from: MacAddress, ip: Ipv4Addr) -> Vec<u8> {
            bytes(ArpFrameRepr {
                ethernet: EthernetRepr::new(from, MacAddress::BROADCAST, EtherType::Arp),
                arp: ArpRepr::gratuitous_reply(from, ip),
            })
        }
    }

    #[test]
    fn the_shared_responder_scenarios() {
        testing::shared_scenarios::<Arp>(|reply, vip| {
            let reply = ArpFrameRepr::parse(reply).unwrap();
            assert_eq!(
                reply.arp,
                ArpRepr::reply_to(&ArpRepr::request(CLIENT, CLIENT_IP, vip), OURS)
            );
        });
    }

    #[test]
    fn unicast_requests_to_other_hosts_are_not_answered() {
        let mut r: ArpResponder = testing::default_responder();
        let now = Instant::now();
        r.announce(now, IF, VIP).unwrap();
        let to_other = bytes(ArpFrameRepr {
            ethernet: EthernetRepr::new(CLIENT, MacAddress([2, 0, 0, 0, 0, 0x0c]), EtherType::Arp),
            arp: ArpRepr::request(CLIENT, CLIENT_IP, VIP),
        });
        assert!(r.handle_frame(now, IF, &to_other).is_none());
    }

    #[test]
    fn gratuitous_rounds_in_both_forms_on_the_schedule() {
        let mut r: ArpResponder = testing::default_responder();
        let t0 = Instant::now();
        r.announce(t0, IF, VIP).unwrap();
        let first: Vec<ArpFrameRepr> = testing::drain(&mut r, t0)
            .iter()
            .map(|t| ArpFrameRepr::parse(t.bytes()).unwrap())
            .collect();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].arp.kind(), ArpKind::GratuitousRequest);
        assert_eq!(first[1].arp.kind(), ArpKind::GratuitousReply);
        assert!(
            first
                .iter()
                .all(|f| f.ethernet.dst_addr.is_broadcast() && f.ethernet.src_addr == OURS)
        );
        testing::the_schedule_runs_and_stops::<Arp>(IF, OURS, VIP, 2, &Arp::request(VIP));
    }

    #[test]
    fn a_claim_is_reported_with_its_kind() {
        let mut r: ArpResponder = testing::default_responder();
        let now = Instant::now();
        r.announce(now, IF, VIP).unwrap();
        let other = MacAddress([2, 0, 0, 0, 0, 0x0c]);
        let f = bytes(ArpFrameRepr {
            ethernet: EthernetRepr::new(other, MacAddress::BROADCAST, EtherType::Arp),
            arp: ArpRepr::gratuitous_request(other, VIP),
        });
        assert!(r.handle_frame(now, IF, &f).is_none());
        assert_eq!(
            r.poll_event(),
            Some(Event::Conflict {
                ifindex: IF,
                ip: VIP,
                foreign_mac: other,
                kind: ArpKind::GratuitousRequest,
            })
        );
    }

    #[test]
    fn probes_find_nothing_then_free_or_a_host_that_answers() {
        // The kernel of the host owning the address answers the probe: reply to 0.0.0.0.
        let answer = bytes(ArpFrameRepr {
            ethernet: EthernetRepr::new(CLIENT, OURS, EtherType::Arp),
            arp: ArpRepr::reply_to(&ArpRepr::probe(OURS, CLIENT_IP), CLIENT),
        });
        testing::probes_tell_free_from_used::<Arp>(
            VIP,
            CLIENT_IP,
            |probe| {
                let f = ArpFrameRepr::parse(probe).unwrap();
                assert_eq!(f.arp, ArpRepr::probe(OURS, VIP));
                assert!(f.ethernet.dst_addr.is_broadcast());
            },
            &answer,
        );
    }

    #[test]
    fn schedule_validation() {
        assert!(GratuitousSchedule::new([]).is_err());
        assert!(GratuitousSchedule::new([Duration::from_secs(1), Duration::ZERO]).is_err());
        assert!(GratuitousSchedule::new((0..65).map(Duration::from_millis)).is_err());
        assert_eq!(
            GratuitousSchedule::metallb().offsets().last(),
            Some(&Duration::from_millis(4400))
        );
    }
}
