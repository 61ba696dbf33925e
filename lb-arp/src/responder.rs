//! ARP's part of the shared responder core ([`lb_l2::responder`]): the frames of a gratuitous
//! round (request and reply form), a defence and an RFC 5227 probe, and how a received ARP
//! frame reads. [`ArpResponder`] is the core with this protocol; the schedule, probes,
//! conflicts, counters and events are the core's.

use std::net::Ipv4Addr;
use std::time::Duration;

pub use lb_l2::responder::{
    Announced, Counters, DEFEND_INTERVAL, Interface, ProbeConfig, ProbeOutcome, Transmit, Withdrawn,
};
use lb_l2::responder::{Foreign, Protocol, Received};

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
    fn receive(
        ifindex: u32,
        mac: MacAddress,
        bytes: &[u8],
        announced: impl Fn(Ipv4Addr) -> bool,
    ) -> Received<Arp> {
        let frame = match ArpFrameRepr::parse(bytes) {
            Ok(f) => f,
            Err(e) => {
                tracing::trace!(error = %e, "not an ARP frame");
                return Received::Malformed;
            }
        };
        let arp = frame.arp;
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
                let answer = ArpFrameRepr {
                    ethernet: EthernetRepr::new(mac, arp.source_hardware_addr, EtherType::Arp),
                    arp: ArpRepr::reply_to(&arp, mac),
                };
                reply = Some(transmit(ifindex, &answer));
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

    use lb_l2::testing::{self, CLIENT, IF, OURS};

    use super::*;

    fn vip() -> Ipv4Addr {
        Ipv4Addr::new(192, 0, 2, 100)
    }
    fn client_ip() -> Ipv4Addr {
        Ipv4Addr::new(192, 0, 2, 10)
    }
    fn responder() -> ArpResponder {
        testing::default_responder()
    }
    fn bytes(frame: ArpFrameRepr) -> Vec<u8> {
        let mut buf = vec![0u8; 60];
        let n = frame.emit(&mut buf).unwrap();
        buf.truncate(n.max(60)); // padded like a real minimum-size frame
        buf
    }
    fn request(target: Ipv4Addr) -> Vec<u8> {
        bytes(ArpFrameRepr {
            ethernet: EthernetRepr::new(CLIENT, MacAddress::BROADCAST, EtherType::Arp),
            arp: ArpRepr::request(CLIENT, client_ip(), target),
        })
    }
    fn drain(r: &mut ArpResponder, now: Instant) -> Vec<ArpFrameRepr> {
        std::iter::from_fn(|| r.poll_transmit(now))
            .map(|t| ArpFrameRepr::parse(t.bytes()).unwrap())
            .collect()
    }

    #[test]
    fn answers_only_announced_addresses() {
        let mut r = responder();
        let now = Instant::now();
        assert!(r.handle_frame(now, IF, &request(vip())).is_none());
        r.announce(now, IF, vip()).unwrap();
        let reply =
            ArpFrameRepr::parse(r.handle_frame(now, IF, &request(vip())).unwrap().bytes()).unwrap();
        assert_eq!(reply.ethernet.src_addr, OURS);
        assert_eq!(reply.ethernet.dst_addr, CLIENT);
        assert_eq!(
            reply.arp,
            ArpRepr::reply_to(&ArpRepr::request(CLIENT, client_ip(), vip()), OURS)
        );
        assert!(
            r.handle_frame(now, IF, &request(Ipv4Addr::new(192, 0, 2, 101)))
                .is_none()
        );
        // Unknown interface: nothing.
        assert!(r.handle_frame(now, 9, &request(vip())).is_none());
        let c = r.counters(IF).unwrap();
        assert_eq!((c.requests_received, c.replies_sent), (3, 1));
        assert!(r.withdraw(IF, vip()).is_some());
        assert!(r.handle_frame(now, IF, &request(vip())).is_none());
    }

    #[test]
    fn ignores_own_frames_replies_and_unicast_to_others() {
        let mut r = responder();
        let now = Instant::now();
        r.announce(now, IF, vip()).unwrap();
        let own = bytes(ArpFrameRepr {
            ethernet: EthernetRepr::new(OURS, MacAddress::BROADCAST, EtherType::Arp),
            arp: ArpRepr::request(OURS, vip(), vip()),
        });
        assert!(r.handle_frame(now, IF, &own).is_none());
        assert_eq!(r.counters(IF).unwrap().own_frames, 1);
        let to_other = bytes(ArpFrameRepr {
            ethernet: EthernetRepr::new(CLIENT, MacAddress([2, 0, 0, 0, 0, 0x0c]), EtherType::Arp),
            arp: ArpRepr::request(CLIENT, client_ip(), vip()),
        });
        assert!(r.handle_frame(now, IF, &to_other).is_none());
        assert!(r.handle_frame(now, IF, &[0u8; 10]).is_none());
        assert_eq!(r.counters(IF).unwrap().malformed, 1);
        assert!(r.poll_event().is_none());
    }

    #[test]
    fn tagged_requests_are_ignored() {
        let mut r = responder();
        let now = Instant::now();
        r.announce(now, IF, vip()).unwrap();
        let tag = crate::VlanTag {
            pcp: 0,
            dei: false,
            vid: 42,
        };
        let tagged = bytes(ArpFrameRepr {
            ethernet: EthernetRepr::new(CLIENT, MacAddress::BROADCAST, EtherType::Arp)
                .with_vlan(Some(tag)),
            arp: ArpRepr::request(CLIENT, client_ip(), vip()),
        });
        // On the parent interface a tagged request is for a VLAN we do not serve here:
        // answering it untagged would put the reply on the native LAN.
        assert!(r.handle_frame(now, IF, &tagged).is_none());
        // QinQ: an 802.1ad outer tag in front of the 802.1Q one.
        let mut qinq = tagged[..12].to_vec();
        qinq.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64]);
        qinq.extend_from_slice(&tagged[12..]);
        assert!(r.handle_frame(now, IF, &qinq).is_none());
        // A claim on another VLAN is not a conflict here either.
        let claim = bytes(ArpFrameRepr {
            ethernet: EthernetRepr::new(CLIENT, MacAddress::BROADCAST, EtherType::Arp)
                .with_vlan(Some(tag)),
            arp: ArpRepr::gratuitous_reply(CLIENT, vip()),
        });
        assert!(r.handle_frame(now, IF, &claim).is_none());
        assert_eq!(r.poll_event(), None);
        let c = r.counters(IF).unwrap();
        assert_eq!((c.other_vlan, c.replies_sent, c.conflicts_seen), (3, 0, 0));
    }

    #[test]
    fn gratuitous_rounds_in_both_forms_on_the_schedule() {
        let mut r = responder();
        let t0 = Instant::now();
        r.announce(t0, IF, vip()).unwrap();
        let first = drain(&mut r, t0);
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].arp.kind(), ArpKind::GratuitousRequest);
        assert_eq!(first[1].arp.kind(), ArpKind::GratuitousReply);
        assert!(
            first
                .iter()
                .all(|f| f.ethernet.dst_addr.is_broadcast() && f.ethernet.src_addr == OURS)
        );
        testing::the_schedule_runs_and_stops::<Arp>(IF, OURS, vip(), 2, &request(vip()));
    }

    #[test]
    fn many_addresses_keep_the_timer_heap_bounded() {
        let mut r = responder();
        let t0 = Instant::now();
        for round in 0..20u32 {
            for i in 0..500u32 {
                let ip = Ipv4Addr::from(0xc633_6400 + i); // 198.51.100.0 + i
                r.announce(t0 + Duration::from_millis(round.into()), IF, ip)
                    .unwrap();
            }
        }
        assert!(
            r.timers_queued() <= 2 * 500 + 64 + 1,
            "{}",
            r.timers_queued()
        );
        assert_eq!(r.announced(IF).count(), 500);
    }

    #[test]
    fn watcher_reports_foreign_claims() {
        let mut r = responder();
        let now = Instant::now();
        r.announce(now, IF, vip()).unwrap();
        let other = MacAddress([2, 0, 0, 0, 0, 0x0c]);
        for arp in [
            ArpRepr::gratuitous_request(other, vip()),
            ArpRepr::gratuitous_reply(other, vip()),
        ] {
            let f = bytes(ArpFrameRepr {
                ethernet: EthernetRepr::new(other, MacAddress::BROADCAST, EtherType::Arp),
                arp,
            });
            assert!(r.handle_frame(now, IF, &f).is_none());
        }
        // The first claim at once, the second when its window ends.
        assert_eq!(
            r.poll_event(),
            Some(Event::Conflict {
                ifindex: IF,
                ip: vip(),
                foreign_mac: other,
                kind: ArpKind::GratuitousRequest,
            })
        );
        assert_eq!(r.poll_event(), None);
        let end = now + Config::default().conflict_window;
        drain(&mut r, end);
        assert_eq!(
            r.poll_event(),
            Some(Event::ConflictRepeated {
                ifindex: IF,
                ip: vip(),
                foreign_mac: other,
                count: 1,
            })
        );
        assert_eq!(r.counters(IF).unwrap().conflicts_seen, 2);
    }

    fn claim(from: MacAddress, ip: Ipv4Addr) -> Vec<u8> {
        bytes(ArpFrameRepr {
            ethernet: EthernetRepr::new(from, MacAddress::BROADCAST, EtherType::Arp),
            arp: ArpRepr::gratuitous_reply(from, ip),
        })
    }

    /// Runs a flood of `n` forged claims for the VIP, `gap` apart (see [`testing::flood`]).
    /// Returns the events and the defences sent.
    fn flood(n: u32, gap: Duration) -> (ArpResponder, Vec<Event>, Vec<ArpFrameRepr>) {
        let mut r = responder();
        let t0 = Instant::now();
        r.announce(t0, IF, vip()).unwrap();
        let forged = claim(MacAddress([2, 0, 0, 0, 0, 0x66]), vip());
        let (events, sent) = testing::flood(&mut r, IF, t0, &forged, n, gap);
        let defences = sent
            .iter()
            .map(|t| ArpFrameRepr::parse(t.bytes()).unwrap())
            .filter(|f| f.arp.kind() == ArpKind::GratuitousRequest)
            .collect();
        (r, events, defences)
    }

    #[test]
    fn a_conflict_storm_gives_one_report_per_window_with_every_claim_counted() {
        let foreign = MacAddress([2, 0, 0, 0, 0, 0x66]);
        testing::a_storm_is_summarised(responder(), IF, vip(), &claim(foreign, vip()), foreign);
    }

    #[test]
    fn a_long_storm_gives_one_summary_per_window() {
        // 100k claims over 35 s: windows end at 10, 20, 30 and 40 s.
        let (r, events, defences) = flood(100_000, Duration::from_micros(350));
        assert_eq!(events.len(), 5, "{events:?}");
        assert_eq!(testing::total_claims(&events), 100_000);
        assert_eq!(r.counters(IF).unwrap().defences_sent, 4);
        assert!(defences.len() >= 4, "{}", defences.len());
    }

    #[test]
    fn conflicts_are_limited_per_address() {
        let mut r = responder();
        let now = Instant::now();
        let other_vip = Ipv4Addr::new(192, 0, 2, 101);
        r.announce(now, IF, vip()).unwrap();
        r.announce(now, IF, other_vip).unwrap();
        let other = MacAddress([2, 0, 0, 0, 0, 0x0c]);
        for ip in [vip(), other_vip, vip(), other_vip] {
            r.handle_frame(now, IF, &claim(other, ip));
        }
        let reported: Vec<Ipv4Addr> = std::iter::from_fn(|| r.poll_event())
            .map(|e| match e {
                Event::Conflict { ip, .. } => ip,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(reported, vec![vip(), other_vip]);
    }

    #[test]
    fn split_brain_is_seen_from_both_sides_whichever_announced_first() {
        let macs = [OURS, MacAddress([2, 0, 0, 0, 0, 0x0c])];
        testing::split_brain::<Arp>(IF, macs, vip(), 0);
        testing::split_brain::<Arp>(IF, macs, vip(), 1);
    }

    #[test]
    fn defence_can_be_turned_off() {
        let mut r = ArpResponder::new(Config {
            defend_interval: None,
            ..Config::default()
        });
        r.add_interface(Interface {
            index: IF,
            name: "eth0".into(),
            mac: OURS,
        });
        let t0 = Instant::now();
        r.announce(t0, IF, vip()).unwrap();
        let t1 = t0 + Duration::from_secs(60);
        while r.poll_timeout().is_some_and(|at| at <= t1) {
            let at = r.poll_timeout().unwrap();
            drain(&mut r, at);
        }
        r.handle_frame(t1, IF, &claim(CLIENT, vip()));
        assert!(drain(&mut r, t1).is_empty());
        assert!(matches!(r.poll_event(), Some(Event::Conflict { .. })));
    }

    #[test]
    fn probes_find_nothing_then_free_or_a_host_that_answers() {
        // The kernel of the host owning the address answers the probe: reply to 0.0.0.0.
        let answer = bytes(ArpFrameRepr {
            ethernet: EthernetRepr::new(CLIENT, OURS, EtherType::Arp),
            arp: ArpRepr::reply_to(&ArpRepr::probe(OURS, client_ip()), CLIENT),
        });
        testing::probes_tell_free_from_used::<Arp>(
            vip(),
            client_ip(),
            |probe| {
                let f = ArpFrameRepr::parse(probe).unwrap();
                assert_eq!(f.arp, ArpRepr::probe(OURS, vip()));
                assert!(f.ethernet.dst_addr.is_broadcast());
            },
            &answer,
        );
    }

    #[test]
    fn events_are_bounded() {
        let mut r = ArpResponder::new(Config {
            max_events: 2,
            ..Config::default()
        });
        r.add_interface(Interface {
            index: IF,
            name: "eth0".into(),
            mac: OURS,
        });
        let now = Instant::now();
        let other = MacAddress([2, 0, 0, 0, 0, 0x0c]);
        for i in 0..5 {
            let ip = Ipv4Addr::new(192, 0, 2, 100 + i);
            r.announce(now, IF, ip).unwrap();
            r.handle_frame(now, IF, &claim(other, ip));
        }
        assert_eq!(r.events_dropped(), 3);
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
        assert!(r_unknown().is_err());
    }

    fn r_unknown() -> lb_l2::Result<Announced> {
        responder().announce(Instant::now(), 7, vip())
    }
}
