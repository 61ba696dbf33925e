//! Test support for the responder core (compiled for tests, fuzzing and the `testing`
//! feature; not part of the stable API): scenarios every protocol's [`Responder`] must pass,
//! driven in virtual time with that protocol's own frames. lb-arp and lb-ndp run them with
//! their frames, so a rule of the core is checked once per protocol without a copy of the
//! scenario in each crate.

use std::time::{Duration, Instant};

use crate::MacAddress;
use crate::responder::{
    Config, Event, EventOf, Interface, ProbeOutcome, Protocol, Responder, Transmit,
};

/// The interface index the unit tests use.
pub const IF: u32 = 2;
/// Our interface's MAC in the unit tests.
pub const OURS: MacAddress = MacAddress([2, 0, 0, 0, 0, 0x0b]);
/// The client's MAC in the unit tests.
pub const CLIENT: MacAddress = MacAddress([2, 0, 0, 0, 0, 0x0a]);

/// A responder with the default configuration and one interface, [`IF`], whose MAC is
/// [`OURS`].
pub fn default_responder<P: Protocol>() -> Responder<P> {
    responder(Config::default(), IF, OURS)
}

/// A responder with `config` and one interface, `ifindex`, whose MAC is `mac`.
pub fn responder<P: Protocol>(config: Config<P>, ifindex: u32, mac: MacAddress) -> Responder<P> {
    let mut r = Responder::new(config);
    r.add_interface(Interface {
        index: ifindex,
        name: "eth0".into(),
        mac,
    });
    r
}

/// Every frame `r` has due at `now`.
pub fn drain<P: Protocol>(r: &mut Responder<P>, now: Instant) -> Vec<Transmit> {
    std::iter::from_fn(|| r.poll_transmit(now)).collect()
}

/// Every event `r` has.
pub fn events<P: Protocol>(r: &mut Responder<P>) -> Vec<EventOf<P>> {
    std::iter::from_fn(|| r.poll_event()).collect()
}

/// The claims an event list reports: one per `Conflict`, `count` per `ConflictRepeated`.
pub fn total_claims<A, K>(events: &[Event<A, K>]) -> u64 {
    events
        .iter()
        .map(|e| match e {
            Event::Conflict { .. } => 1,
            Event::ConflictRepeated { count, .. } => *count,
            Event::ProbeDone { .. } => 0,
        })
        .sum()
}

/// Runs `n` copies of `forged` (a foreign claim for an address `r` announces on `ifindex`),
/// `gap` apart from `t0`, through the driver's loop in virtual time, then lets every window
/// end. Returns the events and the frames sent meanwhile.
pub fn flood<P: Protocol>(
    r: &mut Responder<P>,
    ifindex: u32,
    t0: Instant,
    forged: &[u8],
    n: u32,
    gap: Duration,
) -> (Vec<EventOf<P>>, Vec<Transmit>) {
    let (mut seen, mut sent) = (vec![], vec![]);
    let mut now = t0;
    for i in 0..n {
        now = t0 + gap * i;
        sent.extend(drain(r, now));
        assert!(r.handle_frame(now, ifindex, forged).is_none());
        seen.extend(events(r));
    }
    while let Some(at) = r.poll_timeout() {
        assert!(at >= now && at < now + Duration::from_secs(3600), "{at:?}");
        sent.extend(drain(r, at));
        seen.extend(events(r));
    }
    (seen, sent)
}

/// 100k forged claims (`forged`, from `foreign`, for `ip`, announced on `ifindex`) in 2 s:
/// one report at once, one summary when the window ends, every claim counted, one defence,
/// and no memory left behind.
pub fn a_storm_is_summarised<P: Protocol>(
    mut r: Responder<P>,
    ifindex: u32,
    ip: P::Addr,
    forged: &[u8],
    foreign: MacAddress,
) {
    let t0 = Instant::now();
    r.announce(t0, ifindex, ip).expect("known interface");
    let (events, _) = flood(
        &mut r,
        ifindex,
        t0,
        forged,
        100_000,
        Duration::from_micros(20),
    );
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(events[0], Event::Conflict { ip: got, .. } if got == ip));
    assert!(
        matches!(events[1], Event::ConflictRepeated { count: 99_999, foreign_mac, .. } if foreign_mac == foreign)
    );
    assert_eq!(total_claims(&events), 100_000);
    let c = r.counters(ifindex).expect("interface");
    assert_eq!(c.conflicts_seen, 100_000);
    // One defence per DEFEND_INTERVAL, however many claims.
    assert_eq!(c.defences_sent, 1);
    assert_eq!(r.conflict_windows(ifindex), 0, "windows forgotten");
    assert!(r.timers_queued() <= 64 + 4, "{}", r.timers_queued());
}

/// Delivers every frame either node has due at `now` to the other (and the other's reply
/// back), until both are quiet.
pub fn exchange<P: Protocol>(nodes: &mut [Responder<P>; 2], ifindex: u32, now: Instant) {
    loop {
        let mut quiet = true;
        for from in 0..2 {
            let to = 1 - from;
            while let Some(t) = nodes[from].poll_transmit(now) {
                quiet = false;
                if let Some(reply) = nodes[to].handle_frame(now, ifindex, t.bytes()) {
                    nodes[from].handle_frame(now, ifindex, reply.bytes());
                }
            }
        }
        if quiet {
            return;
        }
    }
}

/// Runs two nodes on one link until `until`, firing their timers in order.
pub fn run_until<P: Protocol>(nodes: &mut [Responder<P>; 2], ifindex: u32, until: Instant) {
    loop {
        let next = nodes.iter_mut().filter_map(|n| n.poll_timeout()).min();
        match next {
            Some(at) if at <= until => exchange(nodes, ifindex, at),
            _ => return,
        }
    }
}

/// The foreign MACs of the `Conflict` events `r` has.
pub fn conflicts<P: Protocol>(r: &mut Responder<P>) -> Vec<MacAddress> {
    events(r)
        .into_iter()
        .filter_map(|e| match e {
            Event::Conflict { foreign_mac, .. } => Some(foreign_mac),
            _ => None,
        })
        .collect()
}

/// Two nodes (MACs `macs`) on one link; node `first` announces `ip`, and a minute later, long
/// after its schedule ended, the other claims it too: both see the conflict (the first
/// defends once, so the later claimant learns of it).
pub fn split_brain<P: Protocol>(ifindex: u32, macs: [MacAddress; 2], ip: P::Addr, first: usize) {
    let mut nodes = macs.map(|mac| responder::<P>(Config::default(), ifindex, mac));
    let t0 = Instant::now();
    nodes[first]
        .announce(t0, ifindex, ip)
        .expect("known interface");
    exchange(&mut nodes, ifindex, t0);
    run_until(&mut nodes, ifindex, t0 + Duration::from_secs(60));
    assert_eq!(nodes[first].poll_timeout(), None, "schedule over");
    let t1 = t0 + Duration::from_secs(60);
    let second = 1 - first;
    nodes[second]
        .announce(t1, ifindex, ip)
        .expect("known interface");
    exchange(&mut nodes, ifindex, t1);
    run_until(&mut nodes, ifindex, t1 + Duration::from_secs(60));
    assert_eq!(conflicts(&mut nodes[first]), vec![macs[second]]);
    assert_eq!(
        conflicts(&mut nodes[second]),
        vec![macs[first]],
        "the later claimant learns of the first (it defended)"
    );
    assert_eq!(
        nodes[first]
            .counters(ifindex)
            .expect("interface")
            .defences_sent,
        1
    );
}

/// The announcement schedule of `ip` on a fresh responder: rounds at the schedule's offsets,
/// each of `frames_per_round` frames; withdrawing stops it, announcing again restarts it with
/// one round, and `hand_over` ends it while requests (`request`, asking for `ip`) are still
/// answered.
pub fn the_schedule_runs_and_stops<P: Protocol>(
    ifindex: u32,
    mac: MacAddress,
    ip: P::Addr,
    frames_per_round: usize,
    request: &[u8],
) {
    let mut r = responder::<P>(Config::default(), ifindex, mac);
    let t0 = Instant::now();
    assert!(r.announce(t0, ifindex, ip).expect("known interface").new);
    assert_eq!(drain(&mut r, t0).len(), frames_per_round);
    let mut deadlines = vec![];
    while let Some(at) = r.poll_timeout() {
        deadlines.push(at - t0);
        assert_eq!(drain(&mut r, at).len(), frames_per_round);
    }
    let schedule = Config::<P>::default().schedule;
    assert_eq!(deadlines, schedule.offsets()[1..].to_vec());
    let rounds = u64::try_from(schedule.offsets().len()).unwrap_or(u64::MAX);
    let frames = u64::try_from(frames_per_round).unwrap_or(u64::MAX);
    assert_eq!(
        r.counters(ifindex).expect("interface").gratuitous_sent,
        rounds * frames
    );

    // Withdraw stops it; announcing again restarts it, one round however many calls.
    let t1 = t0 + Duration::from_secs(10);
    assert!(r.withdraw(ifindex, ip).is_some());
    assert_eq!(r.poll_timeout(), None);
    assert!(r.handle_frame(t1, ifindex, request).is_none(), "withdrawn");
    assert!(r.announce(t1, ifindex, ip).expect("known interface").new);
    assert!(!r.announce(t1, ifindex, ip).expect("known interface").new);
    assert_eq!(drain(&mut r, t1).len(), frames_per_round, "one round");
    assert_eq!(r.poll_timeout(), Some(t1 + schedule.offsets()[1]));
    assert_eq!(r.announced(ifindex).collect::<Vec<_>>(), vec![ip]);

    // Hand over: no more rounds, still answered; announcing again starts a new schedule.
    r.hand_over();
    assert_eq!(r.poll_timeout(), None);
    assert!(drain(&mut r, t1 + Duration::from_secs(10)).is_empty());
    assert!(r.handle_frame(t1, ifindex, request).is_some());
    assert!(r.is_announced(ifindex, ip));
    r.announce(t1, ifindex, ip).expect("known interface");
    assert_eq!(drain(&mut r, t1).len(), frames_per_round);
    assert!(r.poll_timeout().is_some());
}

/// What a protocol gives [`run_script`]: addresses and well-formed frames from script bytes,
/// and the checks of what its responder sends.
pub trait Script: Protocol {
    /// The address a script byte names (a handful, so that operations meet).
    fn addr(b: u8) -> Self::Addr;
    /// A well-formed frame of some kind chosen by `arg`, from `sender`, to interface `ifindex`
    /// whose MAC is `ours` (as bytes on the wire).
    fn frame(arg: u8, sender: MacAddress, ours: MacAddress) -> Vec<u8>;
    /// Panics unless `sent.frame` is a right answer to `request` (run_script has checked
    /// their Ethernet source addresses: the reply's is ours, the request's is not).
    fn check_reply(sent: Sent<'_, Self::Addr>, request: &[u8]);
    /// Panics unless `sent.frame`, sent on a timer (from our MAC: checked), is an announcement
    /// of an announced address or a probe of one `probed` holds.
    fn check_timer_frame(sent: Sent<'_, Self::Addr>, probed: &dyn Fn(Self::Addr) -> bool);
}

/// A frame a script's responder sent, for the [`Script`] checks.
pub struct Sent<'a, A> {
    /// The frame, as bytes on the wire.
    pub frame: &'a [u8],
    /// The MAC of the interface it was sent on.
    pub ours: MacAddress,
    /// Whether an address is announced on that interface.
    pub announced: &'a dyn Fn(A) -> bool,
}

/// The Ethernet source of `frame`.
fn ethernet_src(frame: &[u8]) -> MacAddress {
    crate::EthernetFrame::new_checked(frame)
        .expect("an Ethernet frame")
        .src_addr()
}

/// The MAC of a script's interface `ifindex`.
pub fn script_mac(ifindex: u32) -> MacAddress {
    MacAddress([2, 0, 0, 0, 1, u8::try_from(ifindex).unwrap_or(u8::MAX)])
}

/// Runs the responder script in `data` (two bytes an operation: what and on which interface,
/// then its argument), checking the responder's promises after every step; panics only when
/// one is broken. Promises: a reply answers a request for an address announced on that
/// interface (the protocol checks its form); every frame sent on a timer is an announcement
/// of an announced address or a probe of a probed one (the protocol checks its form);
/// deadlines never stay at or before `now` after `poll_transmit`, which runs dry;
/// `announced()` and `groups()` follow announce and withdraw.
pub fn run_script<P: Script>(data: &[u8], raw_frame_len: u8) {
    const IFACES: [u32; 2] = [1, 2];
    let config = Config {
        probe: crate::responder::ProbeConfig {
            count: 2,
            interval: Duration::from_millis(100),
            wait: Duration::from_millis(200),
        },
        max_events: 16,
        ..Config::<P>::default()
    };
    let mut r = Responder::new(config);
    for i in IFACES {
        r.add_interface(Interface {
            index: i,
            name: format!("if{i}"),
            mac: script_mac(i),
        });
    }
    let mut now = Instant::now();
    let mut announced = std::collections::HashSet::new();
    // Every address ever probed: a probe may end (answer, timeout) before its ProbeDone event
    // is polled, and a new probe for the same address may start meanwhile, so the script
    // only checks that probes go out for addresses it asked about.
    let mut probed = std::collections::HashSet::new();
    let mut bytes = data.iter().copied();
    while let Some(op) = bytes.next() {
        let arg = bytes.next().unwrap_or(0);
        let ifindex = IFACES[usize::from(op >> 7)];
        let ours = script_mac(ifindex);
        let ip = P::addr(arg);
        let mut received = None;
        match op & 0x7 {
            0 => {
                let done = r.announce(now, ifindex, ip).expect("known interface");
                assert_eq!(done.new, announced.insert((ifindex, ip)));
            }
            1 => {
                let was = announced.remove(&(ifindex, ip));
                assert_eq!(r.withdraw(ifindex, ip).is_some(), was);
            }
            2 => {
                r.probe(now, ifindex, ip).expect("known interface");
                probed.insert((ifindex, ip));
            }
            // Raw bytes from the script as a frame.
            3 => {
                received = Some(
                    bytes
                        .by_ref()
                        .take(usize::from(arg % raw_frame_len))
                        .collect(),
                )
            }
            // A well-formed packet of some kind, from a foreign host or our own MAC.
            4 | 5 => {
                let sender = if arg & 0x40 == 0 {
                    MacAddress([2, 0, 0, 0, 2, arg])
                } else {
                    ours
                };
                received = Some(P::frame(arg, sender, ours));
            }
            _ => {
                // Let time pass and send what is due.
                now += Duration::from_millis(u64::from(arg) * 10);
                let mut sent = 0;
                while let Some(t) = r.poll_transmit(now) {
                    sent += 1;
                    assert!(sent < 10_000, "poll_transmit does not run dry");
                    let ours = script_mac(t.ifindex);
                    assert_eq!(ethernet_src(t.bytes()), ours);
                    let sent = Sent {
                        frame: t.bytes(),
                        ours,
                        announced: &|a| announced.contains(&(t.ifindex, a)),
                    };
                    P::check_timer_frame(sent, &|a| probed.contains(&(t.ifindex, a)));
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
        if let Some(frame) = received
            && let Some(reply) = r.handle_frame(now, ifindex, &frame)
        {
            assert_eq!(ethernet_src(reply.bytes()), ours);
            assert_ne!(ethernet_src(&frame), ours, "answered our own frame");
            let sent = Sent {
                frame: reply.bytes(),
                ours,
                announced: &|a| announced.contains(&(ifindex, a)),
            };
            P::check_reply(sent, &frame);
        }
        for i in IFACES {
            let listed: std::collections::HashSet<P::Addr> = r.announced(i).collect();
            let expected: std::collections::HashSet<P::Addr> = announced
                .iter()
                .filter(|(j, _)| *j == i)
                .map(|(_, a)| *a)
                .collect();
            assert_eq!(
                listed, expected,
                "announced() disagrees with announce/withdraw"
            );
            let groups: std::collections::HashSet<MacAddress> = r.groups(i).collect();
            let wanted: std::collections::HashSet<MacAddress> =
                expected.iter().filter_map(|a| P::group(*a)).collect();
            assert_eq!(groups, wanted, "multicast groups out of step");
        }
    }
}

/// A probe of `free` (2 probes 100 ms apart, then 300 ms) ends `Free` when nobody answers, each
/// probe checked by `check_probe`; a probe of `used`, answered by `answer` (a frame from
/// [`CLIENT`] that shows the address in use), ends `InUse` at once and leaves no live timer.
pub fn probes_tell_free_from_used<P: Protocol>(
    free: P::Addr,
    used: P::Addr,
    check_probe: impl Fn(&[u8]),
    answer: &[u8],
) {
    let config = Config {
        probe: crate::responder::ProbeConfig {
            count: 2,
            interval: Duration::from_millis(100),
            wait: Duration::from_millis(300),
        },
        ..Config::<P>::default()
    };
    let mut r = responder(config, IF, OURS);
    let t0 = Instant::now();
    r.probe(t0, IF, free).expect("known interface");
    let sent = drain(&mut r, t0);
    assert_eq!(sent.len(), 1);
    check_probe(sent[0].bytes());
    let second = t0 + Duration::from_millis(100);
    assert_eq!(r.poll_timeout(), Some(second));
    let again = drain(&mut r, second);
    assert_eq!(again.len(), 1);
    check_probe(again[0].bytes());
    let end = t0 + Duration::from_millis(400);
    assert_eq!(r.poll_timeout(), Some(end));
    assert!(r.poll_event().is_none());
    assert!(drain(&mut r, end).is_empty());
    let done = |ip, outcome| Event::ProbeDone {
        ifindex: IF,
        ip,
        outcome,
    };
    assert_eq!(r.poll_event(), Some(done(free, ProbeOutcome::Free)));
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.counters(IF).expect("interface").probes_sent, 2);

    r.probe(t0, IF, used).expect("known interface");
    drain(&mut r, t0);
    assert!(r.handle_frame(t0, IF, answer).is_none());
    assert_eq!(
        r.poll_event(),
        Some(done(used, ProbeOutcome::InUse { mac: CLIENT }))
    );
    assert_eq!(r.poll_timeout(), None, "the probe's timer is stale");
}

/// What the shared scenarios below need of a protocol: test addresses and the frames a peer
/// sends, as bytes on the wire.
pub trait Frames: Protocol {
    /// The `i`-th test address: distinct for distinct `i` below 768, in documentation ranges.
    fn test_addr(i: u16) -> Self::Addr;
    /// A request from [`CLIENT`] (ARP request, Neighbor Solicitation) asking who has `addr`.
    fn request(addr: Self::Addr) -> Vec<u8>;
    /// A claim of `addr` by `from` (gratuitous ARP reply, unsolicited Neighbor Advertisement).
    fn claim(from: MacAddress, addr: Self::Addr) -> Vec<u8>;
}

/// `frame` with an 802.1Q tag (VLAN 100) after its MAC addresses, and with an 802.1ad outer
/// tag (VLAN 200) in front of that: QinQ.
fn tagged(frame: &[u8]) -> [Vec<u8>; 2] {
    let dot1q = [0x81, 0x00, 0x00, 0x64];
    let dot1ad = [0x88, 0xa8, 0x00, 0xc8];
    let one = [&frame[..12], &dot1q[..], &frame[12..]].concat();
    let two = [&frame[..12], &dot1ad[..], &dot1q[..], &frame[12..]].concat();
    [one, two]
}

/// Every scenario of this module that needs nothing of the protocol beyond [`Frames`]; each
/// protocol crate runs it once, with its frames. `check_reply` panics unless its argument is
/// the right answer from [`OURS`] to [`Frames::request`] for the address it is given.
pub fn shared_scenarios<P: Frames>(check_reply: impl Fn(&[u8], P::Addr)) {
    answers_only_announced_addresses::<P>(check_reply);
    ignores_own_tagged_and_malformed_frames::<P>();
    claims_are_reported_then_summarised::<P>();
    conflicts_are_limited_per_address::<P>();
    let foreign = MacAddress([2, 0, 0, 0, 0, 0x66]);
    let vip = P::test_addr(100);
    a_storm_is_summarised::<P>(
        default_responder(),
        IF,
        vip,
        &P::claim(foreign, vip),
        foreign,
    );
    a_long_storm_gives_one_summary_per_window::<P>();
    let macs = [OURS, MacAddress([2, 0, 0, 0, 0, 0x0c])];
    split_brain::<P>(IF, macs, vip, 0);
    split_brain::<P>(IF, macs, vip, 1);
    defence_can_be_turned_off::<P>();
    events_are_bounded::<P>();
    many_addresses_keep_the_timer_heap_bounded::<P>();
    assert!(
        default_responder::<P>()
            .announce(Instant::now(), IF + 5, vip)
            .is_err(),
        "unknown interface"
    );
}

/// Requests are answered (from [`OURS`] to [`CLIENT`], as `check_reply` wants) for announced
/// addresses only, on known
/// interfaces only, and no longer once withdrawn.
pub fn answers_only_announced_addresses<P: Frames>(check_reply: impl Fn(&[u8], P::Addr)) {
    let mut r = default_responder::<P>();
    let now = Instant::now();
    let (vip, other) = (P::test_addr(100), P::test_addr(101));
    assert!(r.handle_frame(now, IF, &P::request(vip)).is_none());
    r.announce(now, IF, vip).expect("known interface");
    let reply = r.handle_frame(now, IF, &P::request(vip)).expect("answered");
    let ethernet = crate::EthernetFrame::new_checked(reply.bytes()).expect("Ethernet");
    assert_eq!((ethernet.src_addr(), ethernet.dst_addr()), (OURS, CLIENT));
    check_reply(reply.bytes(), vip);
    assert!(r.handle_frame(now, IF, &P::request(other)).is_none());
    assert!(
        r.handle_frame(now, IF + 5, &P::request(vip)).is_none(),
        "unknown interface"
    );
    let c = r.counters(IF).expect("interface");
    assert_eq!((c.requests_received, c.replies_sent), (3, 1));
    assert!(r.withdraw(IF, vip).is_some());
    assert!(r.handle_frame(now, IF, &P::request(vip)).is_none());
}

/// Our own frames, frames tagged for a VLAN (802.1Q or QinQ: on the parent interface they are
/// for a VLAN not served there) and malformed frames are counted and otherwise ignored; a
/// tagged claim is no conflict here either.
pub fn ignores_own_tagged_and_malformed_frames<P: Frames>() {
    let mut r = default_responder::<P>();
    let now = Instant::now();
    let vip = P::test_addr(100);
    r.announce(now, IF, vip).expect("known interface");
    assert!(r.handle_frame(now, IF, &P::claim(OURS, vip)).is_none());
    let foreign = MacAddress([2, 0, 0, 0, 0, 0x0c]);
    for frame in tagged(&P::request(vip))
        .into_iter()
        .chain(tagged(&P::claim(foreign, vip)))
    {
        assert!(r.handle_frame(now, IF, &frame).is_none());
    }
    assert!(r.handle_frame(now, IF, &[0u8; 10]).is_none());
    assert!(
        r.handle_frame(now, IF, &P::request(vip)).is_some(),
        "untagged is answered"
    );
    assert_eq!(r.poll_event(), None);
    let c = r.counters(IF).expect("interface");
    assert_eq!(
        (
            c.own_frames,
            c.other_vlan,
            c.malformed,
            c.conflicts_seen,
            c.replies_sent
        ),
        (1, 4, 1, 0, 1)
    );
}

/// A foreign claim is reported at once; a second one in the same window is counted in a
/// summary when the window ends.
pub fn claims_are_reported_then_summarised<P: Frames>() {
    let mut r = default_responder::<P>();
    let now = Instant::now();
    let vip = P::test_addr(100);
    r.announce(now, IF, vip).expect("known interface");
    let other = MacAddress([2, 0, 0, 0, 0, 0x0c]);
    for _ in 0..2 {
        assert!(r.handle_frame(now, IF, &P::claim(other, vip)).is_none());
    }
    let first = events(&mut r);
    assert!(
        matches!(first[..], [Event::Conflict { ip, foreign_mac, .. }] if ip == vip && foreign_mac == other),
        "{first:?}"
    );
    drain(&mut r, now + Config::<P>::default().conflict_window);
    assert!(matches!(
        events(&mut r)[..],
        [Event::ConflictRepeated { count: 1, .. }]
    ));
    assert_eq!(r.counters(IF).expect("interface").conflicts_seen, 2);
}

/// Windows are per address: a claim on a second address is reported at once too.
pub fn conflicts_are_limited_per_address<P: Frames>() {
    let mut r = default_responder::<P>();
    let now = Instant::now();
    let ips = [P::test_addr(100), P::test_addr(101)];
    let other = MacAddress([2, 0, 0, 0, 0, 0x0c]);
    for ip in ips {
        r.announce(now, IF, ip).expect("known interface");
    }
    for ip in [ips[0], ips[1], ips[0], ips[1]] {
        r.handle_frame(now, IF, &P::claim(other, ip));
    }
    let reported: Vec<P::Addr> = events(&mut r)
        .into_iter()
        .map(|e| match e {
            Event::Conflict { ip, .. } => ip,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(reported, ips);
}

/// 100k claims over 35 s: one summary per window (windows end at 10, 20, 30 and 40 s) and one
/// defence per window.
pub fn a_long_storm_gives_one_summary_per_window<P: Frames>() {
    let mut r = default_responder::<P>();
    let t0 = Instant::now();
    let vip = P::test_addr(100);
    r.announce(t0, IF, vip).expect("known interface");
    let forged = P::claim(MacAddress([2, 0, 0, 0, 0, 0x66]), vip);
    let (events, _) = flood(&mut r, IF, t0, &forged, 100_000, Duration::from_micros(350));
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(total_claims(&events), 100_000);
    assert_eq!(r.counters(IF).expect("interface").defences_sent, 4);
}

/// With `defend_interval: None` a claim is reported and nothing is sent.
pub fn defence_can_be_turned_off<P: Frames>() {
    let config = Config {
        defend_interval: None,
        ..Config::<P>::default()
    };
    let mut r = responder(config, IF, OURS);
    let t0 = Instant::now();
    let vip = P::test_addr(100);
    r.announce(t0, IF, vip).expect("known interface");
    while let Some(at) = r.poll_timeout() {
        drain(&mut r, at);
    }
    let t1 = t0 + Duration::from_secs(60);
    r.handle_frame(t1, IF, &P::claim(CLIENT, vip));
    assert!(drain(&mut r, t1).is_empty());
    assert!(matches!(r.poll_event(), Some(Event::Conflict { .. })));
}

/// The event queue keeps `max_events` and counts what it drops.
pub fn events_are_bounded<P: Frames>() {
    let config = Config {
        max_events: 2,
        ..Config::<P>::default()
    };
    let mut r = responder(config, IF, OURS);
    let now = Instant::now();
    let other = MacAddress([2, 0, 0, 0, 0, 0x0c]);
    for i in 0..5 {
        let ip = P::test_addr(100 + i);
        r.announce(now, IF, ip).expect("known interface");
        r.handle_frame(now, IF, &P::claim(other, ip));
    }
    assert_eq!(r.events_dropped(), 3);
}

/// Announcing 500 addresses 20 times over leaves at most one live timer per address and
/// purpose, plus a small slack of stale ones.
pub fn many_addresses_keep_the_timer_heap_bounded<P: Frames>() {
    let mut r = default_responder::<P>();
    let t0 = Instant::now();
    for round in 0..20u64 {
        for i in 0..500 {
            r.announce(t0 + Duration::from_millis(round), IF, P::test_addr(i))
                .expect("known interface");
        }
    }
    assert!(
        r.timers_queued() <= 2 * 500 + 64 + 1,
        "{}",
        r.timers_queued()
    );
    assert_eq!(r.announced(IF).count(), 500);
}

/// A cargo-fuzz target's name and the check it runs on each input.
pub type FuzzTarget = (&'static str, fn(&[u8]));

/// A frame codec as its owned representation offers it (`parse`, `emit`, `buffer_len`), for
/// the round-trip checks below.
#[derive(Debug)]
pub struct Codec<F> {
    /// Reads a whole frame.
    pub parse: fn(&[u8]) -> crate::Result<F>,
    /// Writes it into a buffer; returns the length written.
    pub emit: fn(&F, &mut [u8]) -> crate::Result<usize>,
    /// The length `emit` writes.
    pub buffer_len: fn(&F) -> usize,
}

impl<F> Clone for Codec<F> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<F> Copy for Codec<F> {}

/// Any bytes: whatever `codec` parses must emit its `buffer_len` and parse back to itself (and
/// display); the Ethernet header, where one parses, likewise. Panics only when the codec
/// disagrees with itself, the bug the fuzzers look for.
pub fn round_trip<F: PartialEq + std::fmt::Debug + std::fmt::Display>(
    data: &[u8],
    codec: Codec<F>,
) {
    let _ = crate::EthernetFrame::new_checked(data).map(|f| f.to_string());
    if let Ok(frame) = (codec.parse)(data) {
        let mut buf = [0u8; crate::responder::MAX_FRAME_LEN];
        let len = (codec.emit)(&frame, &mut buf).expect("emit into a maximum-size frame");
        assert_eq!(len, (codec.buffer_len)(&frame));
        let again = (codec.parse)(&buf[..len]).expect("re-parse of emitted frame");
        assert_eq!(again, frame);
        let _ = frame.to_string();
    }
    if let Ok(f) = crate::EthernetFrame::new_checked(data)
        && let Ok(repr) = crate::EthernetRepr::parse(&f)
    {
        let mut buf = [0u8; 18];
        repr.emit(&mut crate::EthernetFrame::new_unchecked(&mut buf[..]))
            .expect("emit header");
        let header = &buf[..repr.buffer_len()];
        let again = crate::EthernetRepr::parse(&crate::EthernetFrame::new_unchecked(header))
            .expect("re-parse of emitted header");
        assert_eq!(again, repr);
    }
}

/// A valid `frame`: it emits `buffer_len` bytes that parse back to it, with or without zero
/// padding after them.
pub fn emits_and_parses_back<F: PartialEq + std::fmt::Debug>(frame: &F, codec: Codec<F>) {
    let mut buf = [0u8; 128];
    let len = (codec.emit)(frame, &mut buf).expect("emit");
    assert_eq!(len, (codec.buffer_len)(frame));
    assert_eq!(&(codec.parse)(&buf[..len]).expect("parse"), frame);
    let padded = &buf[..len.max(60) + 4];
    assert_eq!(&(codec.parse)(padded).expect("parse padded"), frame);
}

/// `frame`, emitted, with byte `at` set to `byte` and cut at `cut` (both taken modulo the
/// frame's length), through `checks[0]`; its part after the Ethernet header through
/// `checks[1]`. Neither may panic: the property tests' way of reaching the codecs' edges.
pub fn mutated_frames_never_panic<F>(
    frame: &F,
    codec: Codec<F>,
    (at, byte, cut): (usize, u8, usize),
    checks: [fn(&[u8]); 2],
) {
    let mut buf = [0u8; 128];
    let len = (codec.emit)(frame, &mut buf).expect("emit");
    let header = crate::EthernetFrame::new_checked(&buf[..len]).map_or(14, |f| f.header_len());
    buf[at % len] = byte;
    checks[0](&buf[..cut % (len + 1)]);
    checks[1](&buf[header..(cut % (len + 1)).max(header)]);
}

/// For each `(cut, needed)`: `check` of the first `cut` bytes of `bytes` is
/// [`Error::Truncated`](crate::Error::Truncated) with `needed` and `got: cut`.
pub fn truncations(
    check: impl Fn(&[u8]) -> crate::Result<()>,
    bytes: &[u8],
    cuts: &[(usize, usize)],
) {
    for &(cut, needed) in cuts {
        match check(&bytes[..cut]) {
            Err(crate::Error::Truncated { needed: n, got }) => {
                assert_eq!((n, got), (needed, cut), "cut at {cut}")
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}
