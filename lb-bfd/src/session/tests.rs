//! The session in virtual time: every transition of the RFC 5880 §6.8.6 state table, the
//! timer rules of §6.8.2–§6.8.4 and §6.8.7, passive mode and authentication. Time is an
//! `Instant` advanced by hand; nothing here reads the clock.

#![allow(clippy::unwrap_used)]

use super::*;

const MS: Duration = Duration::from_millis(1);

fn config(tx_ms: u64, rx_ms: u64, mult: u8) -> SessionConfig {
    SessionConfig {
        desired_min_tx: MS * tx_ms as u32,
        required_min_rx: MS * rx_ms as u32,
        detect_mult: mult,
        passive: false,
        auth: None,
    }
}

const LOCAL: u32 = 0x0a0a_0a0a;
const REMOTE: u32 = 0x0b0b_0b0b;

/// A packet from the peer.
#[derive(Clone, Copy)]
struct From {
    state: State,
    your: u32,
    tx: u32,
    rx: u32,
    mult: u8,
    poll: bool,
    fin: bool,
}

fn from(state: State) -> From {
    From {
        state,
        your: LOCAL,
        tx: 100_000,
        rx: 100_000,
        mult: 3,
        poll: false,
        fin: false,
    }
}

impl From {
    fn repr(self) -> Repr {
        Repr {
            diagnostic: Diagnostic::None,
            state: self.state,
            poll: self.poll,
            final_: self.fin,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.mult,
            my_discriminator: REMOTE,
            your_discriminator: if matches!(self.state, State::Down | State::AdminDown) {
                0
            } else {
                self.your
            },
            desired_min_tx: self.tx,
            required_min_rx: self.rx,
            required_min_echo_rx: 0,
            auth: None,
        }
    }

    fn bytes(self) -> Vec<u8> {
        let (b, n) = self.repr().to_bytes();
        b[..n].to_vec()
    }
}

fn new(c: SessionConfig, t0: Instant) -> Session {
    Session::new(c, LOCAL, 42, t0).unwrap()
}

fn sent(s: &mut Session, now: Instant) -> Vec<Repr> {
    let mut out = Vec::new();
    while let Some(t) = s.poll_transmit(now) {
        out.push(Repr::parse_bytes(t.as_bytes()).unwrap());
    }
    out
}

fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// A session brought to `state` by the peer's packets at `t0`.
fn in_state(state: State, t0: Instant) -> Session {
    let mut s = new(config(100, 100, 3), t0);
    match state {
        State::Down => {}
        State::Init => s.handle_packet(t0, &from(State::Down).bytes()).unwrap(),
        State::Up => s.handle_packet(t0, &from(State::Init).bytes()).unwrap(),
        State::AdminDown => s.admin_down(t0),
    }
    assert_eq!(s.state(), state);
    sent(&mut s, t0);
    events(&mut s);
    s
}

// §6.8.6, the state table: (local, received) → new local, with the diagnostic.

#[test]
fn state_table() {
    use State::*;
    let d3 = Diagnostic::NeighborSignaledSessionDown;
    let cases = [
        (Down, Down, Init, None),
        (Down, Init, Up, None),
        (Down, Up, Down, None),
        (Down, AdminDown, Down, None),
        (Init, Down, Init, None),
        (Init, Init, Up, None),
        (Init, Up, Up, None),
        (Init, AdminDown, Down, Some(d3)),
        (Up, Down, Down, Some(d3)),
        (Up, Init, Up, None),
        (Up, Up, Up, None),
        (Up, AdminDown, Down, Some(d3)),
        (AdminDown, Down, AdminDown, None),
        (AdminDown, Init, AdminDown, None),
        (AdminDown, Up, AdminDown, None),
        (AdminDown, AdminDown, AdminDown, None),
    ];
    for (local, received, expected, diag) in cases {
        let t0 = Instant::now();
        let mut s = in_state(local, t0);
        s.handle_packet(t0 + MS, &from(received).bytes()).unwrap();
        assert_eq!(s.state(), expected, "{local:?} + {received:?}");
        let ev = events(&mut s);
        if local == expected {
            assert!(ev.is_empty(), "{local:?} + {received:?}: {ev:?}");
        } else {
            assert_eq!(
                ev,
                vec![Event::StateChanged {
                    from: local,
                    to: expected,
                    diagnostic: diag.unwrap_or(Diagnostic::None),
                }],
                "{local:?} + {received:?}"
            );
            assert_eq!(s.diagnostic(), diag.unwrap_or(Diagnostic::None));
            // A state change goes out at once, in the new state.
            let out = sent(&mut s, t0 + MS);
            assert_eq!(out.last().unwrap().state, expected);
        }
        assert_eq!(s.remote_state(), received);
        assert_eq!(s.remote_discriminator(), REMOTE);
    }
}

#[test]
fn detection_time_expiry_from_init_and_up() {
    for local in [State::Init, State::Up] {
        let t0 = Instant::now();
        let mut s = in_state(local, t0);
        // Remote: mult 3, tx 100 ms; ours rx 100 ms: 300 ms.
        assert_eq!(s.detection_time(), Some(MS * 300));
        let deadline = t0 + MS * 300;
        assert!(s.poll_timeout().unwrap() <= deadline);
        s.handle_timeout(deadline - Duration::from_micros(1));
        assert_eq!(s.state(), local);
        s.handle_timeout(deadline);
        assert_eq!(s.state(), State::Down);
        assert_eq!(s.diagnostic(), Diagnostic::ControlDetectionTimeExpired);
        assert_eq!(
            events(&mut s),
            vec![Event::StateChanged {
                from: local,
                to: State::Down,
                diagnostic: Diagnostic::ControlDetectionTimeExpired,
            }]
        );
        // What was known of the peer is forgotten.
        assert_eq!(s.remote_discriminator(), 0);
        assert_eq!(s.remote_min_rx(), Duration::from_micros(1));
        let out = sent(&mut s, deadline);
        assert_eq!(out[0].your_discriminator, 0);
        assert_eq!(out[0].diagnostic, Diagnostic::ControlDetectionTimeExpired);
        assert_eq!(out[0].desired_min_tx, 1_000_000);
    }
}

#[test]
fn detection_in_down_forgets_the_peer_without_an_event() {
    let t0 = Instant::now();
    let mut s = new(config(100, 100, 3), t0);
    s.handle_packet(t0, &from(State::Up).bytes()).unwrap(); // stays Down
    assert_eq!(s.remote_discriminator(), REMOTE);
    s.handle_timeout(t0 + MS * 300);
    assert_eq!(s.remote_discriminator(), 0);
    assert!(events(&mut s).is_empty());
}

#[test]
fn a_valid_packet_restarts_the_detection_timer() {
    let t0 = Instant::now();
    let mut s = in_state(State::Up, t0);
    for i in 1..=10u32 {
        s.handle_packet(t0 + MS * (250 * i), &from(State::Up).bytes())
            .unwrap();
    }
    s.handle_timeout(t0 + MS * 2700);
    assert_eq!(s.state(), State::Up);
    s.handle_timeout(t0 + MS * 2800);
    assert_eq!(s.state(), State::Down);
}

#[test]
fn detection_time_uses_the_larger_interval_and_remote_mult() {
    let t0 = Instant::now();
    let mut s = new(config(100, 200, 3), t0);
    let mut p = from(State::Down);
    p.tx = 50_000;
    p.mult = 5;
    s.handle_packet(t0, &p.bytes()).unwrap();
    // max(our rx 200, their tx 50) × their mult 5.
    assert_eq!(s.detection_time(), Some(MS * 1000));
    p.tx = 700_000;
    s.handle_packet(t0, &p.bytes()).unwrap();
    assert_eq!(s.detection_time(), Some(MS * 3500));
}

// §6.8.3: one second while not Up, the configured rate after, through a Poll Sequence.

#[test]
fn slow_rate_until_up() {
    let t0 = Instant::now();
    let mut s = new(config(50, 50, 3), t0);
    let first = sent(&mut s, t0);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].state, State::Down);
    assert_eq!(first[0].desired_min_tx, 1_000_000);
    assert_eq!(first[0].required_min_rx, 50_000);
    assert_eq!(first[0].your_discriminator, 0);
    // The next periodic packet is 750 ms–1 s later, whatever the jitter.
    let mut now = t0;
    for _ in 0..20 {
        let next = s.poll_timeout().unwrap();
        let gap = next - now;
        assert!(gap >= MS * 750 && gap <= MS * 1000, "{gap:?}");
        assert!(sent(&mut s, next - Duration::from_micros(1)).is_empty());
        let out = sent(&mut s, next);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].desired_min_tx, 1_000_000);
        now = next;
    }
    // Init is still slow.
    s.handle_packet(now, &from(State::Down).bytes()).unwrap();
    let out = sent(&mut s, now);
    assert_eq!(out[0].state, State::Init);
    assert_eq!(out[0].desired_min_tx, 1_000_000);
    assert!(!out[0].poll);
    // Up: the configured 50 ms, announced with a Poll.
    s.handle_packet(now, &from(State::Up).bytes()).unwrap();
    let out = sent(&mut s, now);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].state, State::Up);
    assert_eq!(out[0].desired_min_tx, 50_000);
    assert!(out[0].poll);
    assert!(s.poll_active());
    // A decrease takes effect at once: max(50 ms, their rx 100 ms) = 100 ms.
    assert_eq!(s.tx_interval(), MS * 100);
    let next = s.poll_timeout().unwrap();
    assert!(next - now >= MS * 75 && next - now <= MS * 100);
    // Periodic packets keep the Poll bit until the Final.
    assert!(sent(&mut s, next)[0].poll);
    let mut f = from(State::Up);
    f.fin = true;
    s.handle_packet(next, &f.bytes()).unwrap();
    assert!(!s.poll_active());
    let next2 = s.poll_timeout().unwrap();
    assert!(!sent(&mut s, next2)[0].poll);
    // Down again: slow again.
    s.handle_packet(next2, &from(State::Down).bytes()).unwrap();
    let out = sent(&mut s, next2);
    assert_eq!(out[0].state, State::Down);
    assert_eq!(out[0].desired_min_tx, 1_000_000);
    assert_eq!(s.tx_interval(), MS * 1000);
}

#[test]
fn configured_interval_above_one_second_is_kept() {
    let t0 = Instant::now();
    let mut s = new(config(2000, 2000, 3), t0);
    assert_eq!(sent(&mut s, t0)[0].desired_min_tx, 2_000_000);
}

#[test]
fn poll_is_answered_with_final_at_once_and_never_with_poll() {
    let t0 = Instant::now();
    let mut s = in_state(State::Up, t0);
    // Our own Poll Sequence is running (we just went Up).
    assert!(s.poll_active());
    let mut p = from(State::Up);
    p.poll = true;
    s.handle_packet(t0 + MS, &p.bytes()).unwrap();
    let out = sent(&mut s, t0 + MS);
    assert_eq!(
        out.len(),
        1,
        "only the Final: the periodic packet is not due"
    );
    assert!(out[0].final_);
    assert!(!out[0].poll);
}

#[test]
fn increase_of_tx_waits_for_final_and_decrease_of_rx_too() {
    let t0 = Instant::now();
    let mut s = in_state(State::Up, t0);
    let mut f = from(State::Up);
    f.fin = true;
    f.rx = 10_000;
    s.handle_packet(t0, &f.bytes()).unwrap();
    assert!(!s.poll_active());
    assert_eq!(s.tx_interval(), MS * 100);
    // Up: raise tx to 400 ms and lower rx to 20 ms.
    s.set_intervals(t0, MS * 400, MS * 20).unwrap();
    assert!(s.poll_active());
    let out = sent(&mut s, t0);
    assert!(out[0].poll);
    assert_eq!(out[0].desired_min_tx, 400_000);
    assert_eq!(out[0].required_min_rx, 20_000);
    // Still the old values in use.
    assert_eq!(s.tx_interval(), MS * 100);
    assert_eq!(s.detection_time(), Some(MS * 300));
    let next = s.poll_timeout().unwrap();
    assert!(next - t0 <= MS * 100);
    // The Final: the new values apply.
    s.handle_packet(next, &f.bytes()).unwrap();
    assert_eq!(s.tx_interval(), MS * 400);
    // max(our 20 ms, their tx 100 ms) × 3.
    assert_eq!(s.detection_time(), Some(MS * 300));
    let mut slow = f;
    slow.tx = 5_000;
    s.handle_packet(next, &slow.bytes()).unwrap();
    assert_eq!(s.detection_time(), Some(MS * 60));
}

#[test]
fn decrease_of_tx_and_increase_of_rx_apply_at_once() {
    let t0 = Instant::now();
    let mut s = in_state(State::Up, t0);
    let mut f = from(State::Up);
    f.fin = true;
    f.rx = 10_000;
    s.handle_packet(t0, &f.bytes()).unwrap();
    s.set_intervals(t0, MS * 40, MS * 500).unwrap();
    assert!(s.poll_active());
    assert_eq!(s.tx_interval(), MS * 40);
    assert_eq!(s.detection_time(), Some(MS * 1500));
}

#[test]
fn tx_interval_is_the_larger_of_ours_and_the_remote_rx() {
    let t0 = Instant::now();
    let mut s = in_state(State::Up, t0);
    let mut f = from(State::Up);
    f.fin = true;
    f.rx = 500_000;
    f.tx = 1_000_000;
    s.handle_packet(t0, &f.bytes()).unwrap();
    assert_eq!(s.tx_interval(), MS * 500);
    let mut now = t0;
    sent(&mut s, now);
    for _ in 0..50 {
        let next = s.poll_timeout().unwrap();
        let gap = next - now;
        assert!(gap >= MS * 375 && gap <= MS * 500, "{gap:?}");
        sent(&mut s, next);
        let mut keep = from(State::Up);
        keep.rx = 500_000;
        keep.tx = 1_000_000;
        s.handle_packet(next, &keep.bytes()).unwrap();
        now = next;
    }
}

#[test]
fn jitter_stays_within_75_to_90_percent_with_detect_mult_one() {
    let t0 = Instant::now();
    for (mult, high) in [(1u8, 900u64), (3, 1000)] {
        let mut s = Session::new(config(1000, 1000, mult), LOCAL, 7, t0).unwrap();
        let mut now = t0;
        sent(&mut s, now);
        let (mut min, mut max) = (Duration::MAX, Duration::ZERO);
        for _ in 0..500 {
            let next = s.poll_timeout().unwrap();
            let gap = next - now;
            min = min.min(gap);
            max = max.max(gap);
            assert!(
                gap >= MS * 750 && gap <= MS * high as u32,
                "mult {mult}: {gap:?}"
            );
            sent(&mut s, next);
            now = next;
        }
        // The draws spread over the range.
        assert!(
            min < MS * 760 && max > MS * (high as u32 - 10),
            "{min:?} {max:?}"
        );
    }
}

#[test]
fn jitter_is_reproducible_from_the_seed() {
    let t0 = Instant::now();
    let gaps = |seed| {
        let mut s = Session::new(config(1000, 1000, 3), LOCAL, seed, t0).unwrap();
        let mut v = Vec::new();
        sent(&mut s, t0);
        for _ in 0..10 {
            let n = s.poll_timeout().unwrap();
            v.push(n - t0);
            sent(&mut s, n);
        }
        v
    };
    assert_eq!(gaps(1), gaps(1));
    assert_ne!(gaps(1), gaps(2));
}

#[test]
fn remote_min_rx_zero_stops_periodic_packets_but_not_finals() {
    let t0 = Instant::now();
    let mut s = in_state(State::Up, t0);
    let mut p = from(State::Up);
    p.rx = 0;
    p.fin = true;
    s.handle_packet(t0, &p.bytes()).unwrap();
    assert!(sent(&mut s, t0 + MS * 5000).is_empty());
    p.fin = false;
    p.poll = true;
    s.handle_packet(t0 + MS * 100, &p.bytes()).unwrap();
    let out = sent(&mut s, t0 + MS * 100);
    assert_eq!(out.len(), 1);
    assert!(out[0].final_);
    // Allowed again: sending resumes at once.
    s.handle_packet(t0 + MS * 200, &from(State::Up).bytes())
        .unwrap();
    assert_eq!(sent(&mut s, t0 + MS * 200).len(), 1);
}

#[test]
fn passive_sends_nothing_until_the_peer_is_heard() {
    let t0 = Instant::now();
    let mut c = config(100, 100, 3);
    c.passive = true;
    let mut s = new(c, t0);
    assert!(sent(&mut s, t0 + MS * 10_000).is_empty());
    assert_eq!(s.poll_timeout(), None);
    s.handle_packet(t0 + MS * 10_000, &from(State::Down).bytes())
        .unwrap();
    let out = sent(&mut s, t0 + MS * 10_000);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].state, State::Init);
    assert_eq!(out[0].your_discriminator, REMOTE);
    // Silence for the detection time: the peer is forgotten and we fall silent again.
    s.handle_timeout(t0 + MS * 13_000);
    assert_eq!(s.state(), State::Down);
    sent(&mut s, t0 + MS * 13_000);
    assert!(sent(&mut s, t0 + MS * 20_000).is_empty());
}

#[test]
fn admin_down_tells_the_peer_then_goes_silent_and_comes_back() {
    let t0 = Instant::now();
    let mut s = in_state(State::Up, t0);
    s.admin_down(t0);
    assert_eq!(s.state(), State::AdminDown);
    assert_eq!(s.diagnostic(), Diagnostic::AdministrativelyDown);
    let mut n = 0;
    let mut now = t0;
    for _ in 0..20 {
        let out = sent(&mut s, now);
        for r in &out {
            assert_eq!(r.state, State::AdminDown);
            assert_eq!(r.diagnostic, Diagnostic::AdministrativelyDown);
        }
        n += out.len();
        match s.poll_timeout() {
            Some(t) => {
                now = t;
                s.handle_timeout(now);
            }
            None => break,
        }
    }
    assert_eq!(n, 3);
    // Packets are ignored in AdminDown (a Poll is not answered), timers do not bring it Down.
    let mut poll = from(State::Init);
    poll.poll = true;
    s.handle_packet(now, &poll.bytes()).unwrap();
    assert!(sent(&mut s, now).is_empty());
    s.handle_timeout(now + MS * 10_000);
    assert_eq!(s.state(), State::AdminDown);
    s.admin_up(now);
    assert_eq!(s.state(), State::Down);
    assert_eq!(s.diagnostic(), Diagnostic::None);
    assert_eq!(sent(&mut s, now)[0].state, State::Down);
}

#[test]
fn packets_for_another_discriminator_are_discarded() {
    let t0 = Instant::now();
    let mut s = in_state(State::Up, t0);
    let mut p = from(State::Up);
    p.your = 99;
    assert!(s.handle_packet(t0, &p.bytes()).is_err());
    assert_eq!(s.stats().packets_discarded, 1);
    assert!(s.handle_packet(t0, &[0u8; 10]).is_err());
    assert_eq!(s.stats().packets_discarded, 2);
    assert_eq!(s.state(), State::Up);
}

fn auth_config(t: AuthType, key: &[u8]) -> SessionConfig {
    let mut c = config(100, 100, 3);
    c.auth = Some(AuthConfig {
        auth_type: t,
        key_id: 1,
        key: key.to_vec(),
    });
    c
}

/// Two sessions wired back to back in virtual time with a 1 ms link.
struct Pair {
    a: Session,
    b: Session,
    now: Instant,
    /// Drop everything A sends.
    cut_a: bool,
}

impl Pair {
    fn new(a: SessionConfig, b: SessionConfig, t0: Instant) -> Pair {
        Pair {
            a: Session::new(a, 1, 1, t0).unwrap(),
            b: Session::new(b, 2, 2, t0).unwrap(),
            now: t0,
            cut_a: false,
        }
    }

    fn run_until(&mut self, end: Instant) {
        let mut to_a: Vec<(Instant, Vec<u8>)> = Vec::new();
        let mut to_b: Vec<(Instant, Vec<u8>)> = Vec::new();
        loop {
            while let Some(t) = self.a.poll_transmit(self.now) {
                if !self.cut_a {
                    to_b.push((self.now + MS, t.as_bytes().to_vec()));
                }
            }
            while let Some(t) = self.b.poll_transmit(self.now) {
                to_a.push((self.now + MS, t.as_bytes().to_vec()));
            }
            let next = [
                self.a.poll_timeout(),
                self.b.poll_timeout(),
                to_a.iter().map(|x| x.0).min(),
                to_b.iter().map(|x| x.0).min(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|&n| n <= end) else {
                self.now = end;
                return;
            };
            self.now = next.max(self.now);
            for (at, bytes) in std::mem::take(&mut to_a) {
                if at <= self.now {
                    let _ = self.a.handle_packet(self.now, &bytes);
                } else {
                    to_a.push((at, bytes));
                }
            }
            for (at, bytes) in std::mem::take(&mut to_b) {
                if at <= self.now {
                    let _ = self.b.handle_packet(self.now, &bytes);
                } else {
                    to_b.push((at, bytes));
                }
            }
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
        }
    }
}

#[test]
fn pair_comes_up_and_negotiates() {
    let t0 = Instant::now();
    let mut p = Pair::new(config(50, 300, 3), config(200, 100, 5), t0);
    p.run_until(t0 + MS * 3000);
    events(&mut p.a);
    assert_eq!(p.a.state(), State::Up);
    assert_eq!(p.b.state(), State::Up);
    // A sends at max(50, B's rx 100); B at max(200, A's rx 300).
    assert_eq!(p.a.tx_interval(), MS * 100);
    assert_eq!(p.b.tx_interval(), MS * 300);
    // A detects with B's mult 5 × max(A's rx 300, B's tx 200); B with 3 × max(100, 50).
    assert_eq!(p.a.detection_time(), Some(MS * 1500));
    assert_eq!(p.b.detection_time(), Some(MS * 300));
    assert!(!p.a.poll_active() && !p.b.poll_active());
    // Held for a minute of virtual time without a false Down.
    p.run_until(t0 + MS * 63_000);
    assert_eq!(p.a.stats().down_events, 0);
    assert_eq!(p.b.stats().down_events, 0);
    assert_eq!(p.a.stats().up_events, 1);
    // A goes silent: B declares it Down after its detection time (300 ms from A's last
    // packet, which left at most one transmit interval, 100 ms, before the cut).
    p.cut_a = true;
    let cut = p.now;
    p.run_until(cut + MS * 199);
    assert_eq!(p.b.state(), State::Up);
    p.run_until(cut + MS * 302);
    assert_eq!(p.b.state(), State::Down);
    assert_eq!(p.b.diagnostic(), Diagnostic::ControlDetectionTimeExpired);
    // A hears B's Down and follows (diagnostic 3), then, still hearing Down, goes Init.
    p.run_until(cut + MS * 2000);
    let ev = events(&mut p.a);
    assert_eq!(
        ev[ev.len() - 2],
        Event::StateChanged {
            from: State::Up,
            to: State::Down,
            diagnostic: Diagnostic::NeighborSignaledSessionDown,
        }
    );
    assert_eq!(p.a.state(), State::Init);
    // Back: up again.
    p.cut_a = false;
    p.run_until(cut + MS * 6000);
    assert_eq!((p.a.state(), p.b.state()), (State::Up, State::Up));
}

#[test]
fn pair_with_passive_side() {
    let t0 = Instant::now();
    let mut b = config(100, 100, 3);
    b.passive = true;
    let mut p = Pair::new(config(100, 100, 3), b, t0);
    p.run_until(t0 + MS * 3000);
    assert_eq!((p.a.state(), p.b.state()), (State::Up, State::Up));
    // Two passive sides never meet.
    let mut a = config(100, 100, 3);
    a.passive = true;
    let mut p = Pair::new(a.clone(), a, t0);
    p.run_until(t0 + MS * 10_000);
    assert_eq!((p.a.state(), p.b.state()), (State::Down, State::Down));
    assert_eq!(p.a.stats().packets_out, 0);
}

#[test]
fn pair_with_every_authentication_type() {
    for (t, key) in [
        (AuthType::SimplePassword, &b"simple"[..]),
        (AuthType::KeyedMd5, b"md5"),
        (AuthType::MeticulousKeyedMd5, b"md5m"),
        (AuthType::KeyedSha1, b"sha"),
        (AuthType::MeticulousKeyedSha1, b"sham"),
    ] {
        let t0 = Instant::now();
        let mut p = Pair::new(auth_config(t, key), auth_config(t, key), t0);
        p.run_until(t0 + MS * 5000);
        assert_eq!((p.a.state(), p.b.state()), (State::Up, State::Up), "{t:?}");
        assert_eq!(p.a.stats().packets_discarded, 0, "{t:?}");
        // Wrong key: never Up, every packet discarded.
        let mut p = Pair::new(auth_config(t, key), auth_config(t, b"wrong"), t0);
        p.run_until(t0 + MS * 5000);
        assert_eq!(
            (p.a.state(), p.b.state()),
            (State::Down, State::Down),
            "{t:?}"
        );
        assert!(p.a.stats().packets_discarded > 0);
        // Authentication on one side only.
        let mut p = Pair::new(auth_config(t, key), config(100, 100, 3), t0);
        p.run_until(t0 + MS * 5000);
        assert_eq!(
            (p.a.state(), p.b.state()),
            (State::Down, State::Down),
            "{t:?}"
        );
    }
}

#[test]
fn sequence_numbers_replayed_or_far_ahead_are_discarded() {
    let t0 = Instant::now();
    for t in [AuthType::KeyedSha1, AuthType::MeticulousKeyedSha1] {
        let mut peer = Session::new(auth_config(t, b"k"), 2, 9, t0).unwrap();
        let mut s = Session::new(auth_config(t, b"k"), LOCAL, 1, t0).unwrap();
        let first = peer.poll_transmit(t0).unwrap();
        s.handle_packet(t0, first.as_bytes()).unwrap();
        // The same packet again: a meticulous session refuses it, a keyed one accepts it.
        let replay = s.handle_packet(t0, first.as_bytes());
        assert_eq!(replay.is_err(), t.is_meticulous(), "{t:?}");
        // Skip more than 3 × Detect Mult packets: refused.
        let mut last = first;
        for i in 0..10 {
            last = peer.poll_transmit(t0 + MS * 1000 * (i + 1)).unwrap();
        }
        assert!(s.handle_packet(t0 + MS, last.as_bytes()).is_err(), "{t:?}");
        // After twice the detection time of silence, any sequence number is accepted.
        assert!(s.handle_packet(t0 + MS * 7000, last.as_bytes()).is_ok());
    }
}

#[test]
fn configuration_is_checked() {
    let t0 = Instant::now();
    assert!(Session::new(config(100, 100, 0), 1, 0, t0).is_err());
    assert!(Session::new(config(0, 100, 3), 1, 0, t0).is_err());
    assert!(Session::new(config(100, 100, 3), 0, 0, t0).is_err());
    assert!(Session::new(auth_config(AuthType::KeyedMd5, &[1; 17]), 1, 0, t0).is_err());
    assert!(Session::new(auth_config(AuthType::SimplePassword, b""), 1, 0, t0).is_err());
    assert!(Session::new(auth_config(AuthType::Unknown(9), b"k"), 1, 0, t0).is_err());
    let mut big = config(100, 100, 3);
    big.desired_min_tx = Duration::from_secs(5000);
    assert!(Session::new(big, 1, 0, t0).is_err());
}

/// After everything due at `now` is handled and sent, the next deadline is later than `now`:
/// a driver never spins. Covers a passive session that forgot its peer with a state change
/// pending, a silent AdminDown session, and a 1 µs interval.
#[test]
fn nothing_is_ever_due_twice() {
    let t0 = Instant::now();
    let settle = |s: &mut Session, now: Instant| {
        s.handle_timeout(now);
        while s.poll_transmit(now).is_some() {}
        if let Some(d) = s.poll_timeout() {
            assert!(d > now, "{d:?} not after {now:?}");
        }
    };
    let mut c = config(100, 100, 3);
    c.passive = true;
    let mut s = new(c, t0);
    s.handle_packet(t0, &from(State::Init).bytes()).unwrap();
    assert_eq!(s.state(), State::Up);
    settle(&mut s, t0);
    // Silence: Down, the peer forgotten, a state change to announce but nobody to tell.
    let later = t0 + MS * 300;
    settle(&mut s, later);
    assert_eq!(s.state(), State::Down);
    assert_eq!(s.poll_timeout(), None);

    let mut s = in_state(State::Up, t0);
    s.admin_down(t0);
    let mut now = t0;
    for _ in 0..50 {
        settle(&mut s, now);
        match s.poll_timeout() {
            Some(t) => now = t,
            None => break,
        }
    }
    assert_eq!(s.poll_timeout(), None);

    let mut tiny = new(config(100, 100, 3), t0);
    tiny.set_intervals(t0, Duration::from_micros(1), Duration::from_micros(1))
        .unwrap();
    let mut p = from(State::Init);
    p.rx = 1;
    tiny.handle_packet(t0, &p.bytes()).unwrap();
    let mut now = t0;
    for _ in 0..100 {
        settle(&mut tiny, now);
        now = tiny.poll_timeout().unwrap();
    }
}
