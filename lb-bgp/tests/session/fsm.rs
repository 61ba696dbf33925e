//! Two sessions against each other: transitions, collisions, timers, backoff, shutdown.

use std::time::Duration;

use lb_bgp::session::{DownReason, Event, Notice, Output, SessionConfig, State};
use lb_bgp::wire::Message;

use crate::harness::{A_ID, B_ID, Pair, Side};

const S: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn active_and_passive_reach_established_through_every_state() {
    let mut p = Pair::ebgp();
    p.start();
    assert!(p.established());
    use Event::*;
    use State::*;
    assert_eq!(
        p.transitions(Side::A),
        vec![
            (Idle, Connect, ManualStart),
            (Connect, OpenSent, Tcp_CR_Acked),
            (OpenSent, OpenConfirm, BGPOpen),
            (OpenConfirm, Established, KeepAliveMsg),
        ]
    );
    assert_eq!(
        p.transitions(Side::B),
        vec![
            (Idle, Active, ManualStart_with_PassiveTcpEstablishment),
            (Active, OpenSent, TcpConnectionConfirmed),
            (OpenSent, OpenConfirm, BGPOpen),
            (OpenConfirm, Established, KeepAliveMsg),
        ]
    );
    let n = p.a.negotiated().unwrap();
    assert_eq!(
        (n.peer_as, n.peer_id, n.hold_time, n.keepalive),
        (65002, B_ID, 90, 30)
    );
    assert!(n.four_octet_as && n.extended_message && n.route_refresh);
    assert!(n.ipv4_unicast && n.ipv6_unicast);
    let stats = p.a.stats();
    assert_eq!(stats.state, Established);
    assert_eq!(stats.established_count, 1);
    assert_eq!(stats.messages_sent.open, 1);
    assert_eq!(stats.messages_received.open, 1);
    assert_eq!(stats.messages_received.keepalive, 1);
    assert!(stats.established_since.is_some());
    // Nothing to advertise: End-of-RIB for both families.
    let eors = p
        .actions(Side::B)
        .into_iter()
        .filter(|a| matches!(a, Output::Notice(Notice::EndOfRib { .. })))
        .count();
    assert_eq!(eors, 2);
}

#[test]
fn keepalives_every_third_of_the_hold_time() {
    let mut p = Pair::ebgp();
    p.start();
    let before = p.a.stats().messages_sent.keepalive;
    p.run_until(S(300));
    assert!(p.established());
    // Hold 90 s, keepalive 30 s: at 30, 60, ..., 300.
    assert_eq!(p.a.stats().messages_sent.keepalive - before, 10);
    assert_eq!(p.b.stats().messages_sent.keepalive - before, 10);
    let times: Vec<Duration> = p
        .log
        .iter()
        .filter(|(_, s, a)| {
            *s == Side::A && matches!(a, Output::Send { bytes, .. } if bytes.len() == 19)
        })
        .map(|(t, _, _)| *t)
        .collect();
    assert_eq!(times.last(), Some(&S(300)));
    assert!(times.windows(2).skip(1).all(|w| w[1] - w[0] == S(30)));
}

#[test]
fn hold_time_is_the_smaller_and_keepalive_follows_it() {
    let mut a = SessionConfig::new(65001, 65002, A_ID);
    a.hold_time = 30;
    let mut b = SessionConfig::new(65002, 65001, B_ID);
    b.passive = true;
    b.keepalive = Some(20); // more than 30/3: clamped to 10
    let mut p = Pair::new(a, b);
    p.start();
    assert_eq!(p.a.negotiated().unwrap().hold_time, 30);
    assert_eq!(p.a.negotiated().unwrap().keepalive, 10);
    assert_eq!(p.b.negotiated().unwrap().keepalive, 10);
    p.run_until(S(100));
    assert!(p.established());
}

#[test]
fn hold_time_zero_means_no_keepalives_and_no_hold_timer() {
    let mut a = SessionConfig::new(65001, 65002, A_ID);
    a.hold_time = 0;
    let mut b = SessionConfig::new(65002, 65001, B_ID);
    b.passive = true;
    let mut p = Pair::new(a, b);
    p.start();
    assert_eq!(p.b.negotiated().unwrap().hold_time, 0);
    let ka = p.a.stats().messages_sent.keepalive;
    assert_eq!(p.a.poll_timeout(), None);
    p.run_until(S(10_000));
    assert!(p.established());
    assert_eq!(p.a.stats().messages_sent.keepalive, ka);
}

#[test]
fn hold_timer_expiry_sends_notification_4_and_drops() {
    let mut p = Pair::ebgp();
    p.start();
    p.clear_log();
    // B stops (SIGSTOP): it neither sends nor reads.
    p.frozen_b = true;
    p.run_until(S(89));
    assert_eq!(p.a.state(), State::Established);
    p.run_until(S(91));
    assert_ne!(p.a.state(), State::Established);
    let sent = p.sent(Side::A);
    let n = sent
        .iter()
        .find_map(|m| match m {
            Message::Notification(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!((n.code, n.subcode), (4, 0));
    let acts = p.actions(Side::A);
    assert!(acts.contains(&Output::Notice(Notice::Down {
        reason: DownReason::HoldTimerExpired
    })));
    assert!(acts.iter().any(|a| matches!(a, Output::Close { .. })));
    assert!(p.transitions(Side::A).contains(&(
        State::Established,
        State::Idle,
        Event::HoldTimer_Expires
    )));
    assert_eq!(p.a.stats().last_error, Some(DownReason::HoldTimerExpired));
    assert_eq!(p.a.received_routes().count(), 0);
}

#[test]
fn hold_timer_in_opensent_is_large() {
    // The peer never answers our OPEN: the 4-minute hold timer of OpenSent expires.
    let mut s = crate::harness::Scripted::new(|_| {});
    assert_eq!(s.s.state(), State::OpenSent);
    let acts = s.advance(S(239));
    assert!(acts.is_empty());
    let acts = s.advance(S(1));
    let n = crate::harness::Scripted::notification(&acts).unwrap();
    assert_eq!((n.code, n.subcode), (4, 0));
    assert_eq!(s.s.state(), State::Idle);
}

#[test]
fn admin_shutdown_sends_cease_with_message_and_stays_down() {
    let mut p = Pair::ebgp();
    p.start();
    p.clear_log();
    p.a.stop(p.now, "maintenance window 42");
    p.pump();
    let n = p
        .sent(Side::A)
        .into_iter()
        .find_map(|m| match m {
            Message::Notification(n) => Some(n),
            _ => None,
        })
        .unwrap();
    assert_eq!((n.code, n.subcode), (6, 2));
    assert_eq!(n.shutdown_communication(), Some("maintenance window 42"));
    assert!(p.actions(Side::A).contains(&Output::Notice(Notice::Down {
        reason: DownReason::AdminShutdown
    })));
    let down_b = p
        .actions(Side::B)
        .into_iter()
        .find_map(|a| match a {
            Output::Notice(Notice::Down {
                reason: DownReason::NotificationReceived(n),
            }) => Some(n),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        down_b.shutdown_communication(),
        Some("maintenance window 42")
    );
    assert_eq!(p.a.state(), State::Idle);
    assert!(
        p.transitions(Side::A)
            .contains(&(State::Established, State::Idle, Event::ManualStop))
    );
    assert!(
        p.transitions(Side::B)
            .contains(&(State::Established, State::Idle, Event::NotifMsg))
    );
    // A stays down; B (passive) waits, and the session does not come back.
    assert_eq!(p.a.poll_timeout(), None);
    p.run_until(S(1000));
    assert_eq!(p.a.state(), State::Idle);
    assert_eq!(p.b.state(), State::Active);
    // A start brings it back.
    p.a.start(p.now);
    p.pump();
    assert!(p.established());
}

/// Both sides active and connecting at once: two connections, one survives.
fn collide(a_id: [u8; 4], b_id: [u8; 4]) -> Pair {
    let a = SessionConfig::new(65001, 65002, a_id.into());
    let b = SessionConfig::new(65002, 65001, b_id.into());
    let mut p = Pair::new(a, b);
    p.a.start(p.now);
    p.b.start(p.now);
    p.pump();
    p
}

fn collision_cease(p: &Pair, side: Side) -> usize {
    p.sent(side)
        .into_iter()
        .filter(|m| matches!(m, Message::Notification(n) if (n.code, n.subcode) == (6, 7)))
        .count()
}

#[test]
fn collision_keeps_the_connection_of_the_higher_identifier_b() {
    let p = collide([10, 0, 0, 1], [10, 0, 0, 2]);
    assert!(p.established());
    assert_eq!(p.links.len(), 1);
    // B has the higher identifier: the connection B opened survives.
    assert_eq!(p.links[0].1, Side::B);
    // Each side closes the losing connection with Cease / Connection Collision Resolution.
    assert_eq!(collision_cease(&p, Side::A), 1);
    assert_eq!(collision_cease(&p, Side::B), 1);
    let ev: Vec<Event> = p.transitions(Side::A).iter().map(|t| t.2).collect();
    assert!(!ev.contains(&Event::HoldTimer_Expires));
    assert_eq!(p.a.stats().established_count, 1);
    assert_eq!(p.b.stats().established_count, 1);
}

#[test]
fn collision_keeps_the_connection_of_the_higher_identifier_a() {
    let p = collide([10, 0, 0, 9], [10, 0, 0, 2]);
    assert!(p.established());
    assert_eq!(p.links.len(), 1);
    assert_eq!(p.links[0].1, Side::A);
    assert_eq!(collision_cease(&p, Side::A), 1);
    assert_eq!(collision_cease(&p, Side::B), 1);
}

#[test]
fn collisions_converge_for_every_seed_and_identifier_order() {
    // Whatever the order, both sides end with one Established connection (possibly after a
    // retry when one side was already Established on the other connection).
    for (a_id, b_id) in [
        ([10, 0, 0, 1], [10, 0, 0, 2]),
        ([10, 0, 0, 3], [10, 0, 0, 2]),
    ] {
        let mut p = collide(a_id, b_id);
        p.run_for(S(60));
        assert!(p.established());
        assert_eq!(p.links.len(), 1);
    }
}

#[test]
fn connection_against_an_established_session_is_dumped() {
    let mut p = Pair::ebgp();
    p.start();
    let first = p.links[0].0;
    // B (now also configured to connect) opens a second connection: it loses to the
    // Established one with Cease / Connection Collision Resolution.
    p.clear_log();
    let id = p.next_id;
    p.next_id += 1;
    p.links.push((id, Side::B));
    let (bl, al) = (
        std::net::SocketAddr::new(crate::harness::B_IP, 50001),
        std::net::SocketAddr::new(crate::harness::A_IP, 179),
    );
    p.a.connected(
        p.now,
        lb_bgp::session::ConnId(id),
        al,
        bl,
        lb_bgp::session::Direction::Inbound,
    );
    // B's side of this connection is scripted: it sends an OPEN.
    let open = crate::harness::encode(&Message::Open({
        let mut o = p.b.local_open().clone();
        o.hold_time = 90;
        o
    }));
    p.a.received(p.now, lb_bgp::session::ConnId(id), &open);
    let mut acts = Vec::new();
    while let Some(a) = p.a.poll_output() {
        acts.push(a);
    }
    let n = crate::harness::Scripted::notification(&acts).unwrap();
    assert_eq!((n.code, n.subcode), (6, 7));
    assert!(acts.contains(&Output::Close {
        conn: lb_bgp::session::ConnId(id)
    }));
    assert_eq!(p.a.state(), State::Established);
    assert_eq!(p.a.negotiated().unwrap().conn.0, first);
}

/// Connect times of A while the peer refuses.
fn connect_times(p: &Pair) -> Vec<Duration> {
    p.log
        .iter()
        .filter(|(_, s, a)| *s == Side::A && *a == Output::Connect)
        .map(|(t, _, _)| *t)
        .collect()
}

#[test]
fn connect_retry_backs_off_with_jitter_and_resets_on_success() {
    let mut p = Pair::ebgp();
    p.refuse_a = true;
    p.start();
    p.run_until(S(1200));
    let times = connect_times(&p);
    let gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect();
    assert!(gaps.len() >= 8, "{gaps:?}");
    // 5 s doubling to 120 s, each drawn in [75 %, 100 %].
    let nominal = [5.0, 10.0, 20.0, 40.0, 80.0, 120.0, 120.0, 120.0];
    for (g, n) in gaps.iter().zip(nominal) {
        assert!(
            *g >= 0.75 * n && *g <= n,
            "gap {g} for nominal {n}: {gaps:?}"
        );
    }
    // Jitter: not every delay is the nominal one.
    assert!(gaps.iter().zip(nominal).any(|(g, n)| (*g - n).abs() > 1e-3));
    assert_eq!(p.a.state(), State::Active);
    assert!(p.a.stats().connect_retry_count >= 8);
    // The transitions of the Connect/Active loop.
    let tr = p.transitions(Side::A);
    assert!(tr.contains(&(State::Connect, State::Active, Event::TcpConnectionFails)));
    assert!(tr.contains(&(
        State::Active,
        State::Connect,
        Event::ConnectRetryTimer_Expires
    )));

    // The peer comes back: Established, and the counter resets.
    p.refuse_a = false;
    p.run_for(S(121));
    assert!(p.established());
    assert_eq!(p.a.stats().connect_retry_count, 0);

    // After a drop, the first retry is again about 5 s away.
    p.clear_log();
    let t0 = p.t();
    p.b.stop(p.now, "");
    p.pump();
    p.refuse_a = true;
    p.run_for(S(60));
    let times = connect_times(&p);
    let first = (times[0] - t0).as_secs_f64();
    assert!((3.75..=5.0).contains(&first), "{times:?}");
}

#[test]
fn jitter_is_deterministic_per_seed_and_within_bounds() {
    let run = |seed_a: u64| {
        let a = SessionConfig::new(65001, 65002, A_ID);
        let b = SessionConfig::new(65002, 65001, B_ID);
        let mut p = Pair::new(a, b);
        p.a = lb_bgp::session::Session::new(p.a.config().clone(), seed_a, p.base);
        p.refuse_a = true;
        p.frozen_b = true;
        p.a.start(p.now);
        p.pump();
        p.run_until(S(600));
        connect_times(&p)
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
    for seed in 0..50 {
        let t = run(seed);
        let first = (t[1] - t[0]).as_secs_f64();
        assert!((3.75..=5.0).contains(&first), "seed {seed}: {first}");
    }
}

#[test]
fn connect_retry_timer_reissues_a_hanging_connect() {
    // The driver never reports on the attempt: after the retry delay the session asks again,
    // staying in Connect (RFC 4271 Connect state, ConnectRetryTimer_Expires).
    let a = SessionConfig::new(65001, 65002, A_ID);
    let now = std::time::Instant::now();
    let mut s = lb_bgp::session::Session::new(a, 3, now);
    s.start(now);
    let acts: Vec<Output> = std::iter::from_fn(|| s.poll_output()).collect();
    assert!(acts.contains(&Output::Connect));
    assert!(acts.contains(&Output::Notice(Notice::StateChanged {
        from: State::Idle,
        to: State::Connect,
        event: Event::ManualStart
    })));
    let d = s.poll_timeout().unwrap();
    assert!(d - now <= S(5) && d - now >= Duration::from_millis(3750));
    s.handle_timeout(d);
    assert_eq!(s.poll_output(), Some(Output::Connect));
    assert_eq!(s.state(), State::Connect);
}

#[test]
fn session_comes_back_after_the_peer_restarts() {
    let mut p = Pair::ebgp();
    p.start();
    // B restarts: its connection closes without NOTIFICATION.
    p.b.stop(p.now, "");
    p.b.start(p.now);
    p.pump();
    assert_eq!(p.a.stats().established_count, 1);
    p.run_for(S(10));
    assert!(p.established());
    assert_eq!(p.a.stats().established_count, 2);
    // A went Established -> Idle -> (AutomaticStart) Connect -> ... -> Established.
    let tr = p.transitions(Side::A);
    assert!(tr.contains(&(State::Established, State::Idle, Event::NotifMsg)));
    assert!(tr.contains(&(State::Idle, State::Connect, Event::AutomaticStart)));
}

#[test]
fn tcp_failure_in_each_state() {
    use crate::harness::Scripted;
    // OpenSent: back to Active with the connect-retry timer (RFC 4271: OpenSent, event 18).
    let mut s = Scripted::new(|_| {});
    s.s.closed(s.now, s.conn);
    s.drain();
    assert_eq!(s.s.state(), State::Active);
    // OpenConfirm: Idle.
    let mut s = Scripted::new(|_| {});
    s.feed(&crate::harness::encode(&Message::Open(
        crate::harness::peer_open(),
    )));
    assert_eq!(s.s.state(), State::OpenConfirm);
    s.s.closed(s.now, s.conn);
    let acts = s.drain();
    assert_eq!(s.s.state(), State::Idle);
    assert!(acts.contains(&Output::Notice(Notice::StateChanged {
        from: State::OpenConfirm,
        to: State::Idle,
        event: Event::TcpConnectionFails
    })));
    // Established: Idle, Down, then the automatic restart makes it Active (passive) again.
    let mut s = Scripted::new(|_| {});
    s.feed(&crate::harness::encode(&Message::Open(
        crate::harness::peer_open(),
    )));
    s.feed(&crate::harness::encode(&Message::Keepalive));
    assert_eq!(s.s.state(), State::Established);
    s.s.closed(s.now, s.conn);
    let acts = s.drain();
    assert!(acts.contains(&Output::Notice(Notice::Down {
        reason: DownReason::ConnectionClosed
    })));
    assert_eq!(s.s.state(), State::Idle);
    let acts = s.advance(S(5));
    assert!(acts.contains(&Output::Notice(Notice::StateChanged {
        from: State::Idle,
        to: State::Active,
        event: Event::AutomaticStart
    })));
}

#[test]
fn stop_in_every_state_returns_to_idle() {
    use crate::harness::Scripted;
    for step in 0..4 {
        let mut s = Scripted::new(|_| {});
        if step >= 1 {
            s.feed(&crate::harness::encode(&Message::Open(
                crate::harness::peer_open(),
            )));
        }
        if step >= 2 {
            s.feed(&crate::harness::encode(&Message::Keepalive));
        }
        if step == 3 {
            s.s.closed(s.now, s.conn);
            s.drain();
        }
        let from = s.s.state();
        s.s.stop(s.now, "bye");
        let acts = s.drain();
        assert_eq!(s.s.state(), State::Idle);
        if from != State::Idle {
            assert!(acts.contains(&Output::Notice(Notice::StateChanged {
                from,
                to: State::Idle,
                event: Event::ManualStop
            })));
        }
        if step < 3 {
            let n = Scripted::notification(&acts).unwrap();
            assert_eq!((n.code, n.subcode), (6, 2));
        }
        assert_eq!(s.s.poll_timeout(), None);
    }
    // Idle refuses connections.
    let mut s = Scripted::new(|_| {});
    s.s.stop(s.now, "");
    s.drain();
    s.s.connected(
        s.now,
        lb_bgp::session::ConnId(9),
        "192.0.2.1:179".parse().unwrap(),
        "192.0.2.2:5000".parse().unwrap(),
        lb_bgp::session::Direction::Inbound,
    );
    assert_eq!(
        s.drain(),
        vec![Output::Close {
            conn: lb_bgp::session::ConnId(9)
        }]
    );
}

#[test]
fn connect_and_active_states_with_stop_and_inbound_connections() {
    use lb_bgp::session::{ConnId, Direction, Session};
    let now = std::time::Instant::now();
    let (l, r): (std::net::SocketAddr, std::net::SocketAddr) = (
        "192.0.2.1:179".parse().unwrap(),
        "192.0.2.2:40000".parse().unwrap(),
    );
    let collect = |s: &mut Session| std::iter::from_fn(|| s.poll_output()).collect::<Vec<_>>();
    // ManualStop in Idle does nothing.
    let mut s = Session::new(SessionConfig::new(65001, 65002, A_ID), 1, now);
    s.stop(now, "");
    assert!(collect(&mut s).is_empty());
    // Connect + ManualStop -> Idle; a late outbound connection is closed.
    s.start(now);
    collect(&mut s);
    assert_eq!(s.state(), State::Connect);
    s.stop(now, "");
    assert!(
        collect(&mut s).contains(&Output::Notice(Notice::StateChanged {
            from: State::Connect,
            to: State::Idle,
            event: Event::ManualStop
        }))
    );
    s.connected(now, ConnId(1), l, r, Direction::Outbound);
    assert_eq!(collect(&mut s), vec![Output::Close { conn: ConnId(1) }]);
    // Connect + an inbound connection -> OpenSent (TcpConnectionConfirmed).
    s.start(now);
    collect(&mut s);
    s.connected(now, ConnId(2), l, r, Direction::Inbound);
    let acts = collect(&mut s);
    assert!(acts.contains(&Output::Notice(Notice::StateChanged {
        from: State::Connect,
        to: State::OpenSent,
        event: Event::TcpConnectionConfirmed
    })));
    assert!(matches!(
        crate::harness::Scripted::sent_in(&acts).as_slice(),
        [Message::Open(_)]
    ));
    // Active + ManualStop -> Idle.
    let mut s = Session::new(SessionConfig::new(65001, 65002, A_ID), 1, now);
    s.start(now);
    s.connect_failed(now);
    collect(&mut s);
    assert_eq!(s.state(), State::Active);
    s.stop(now, "");
    assert!(
        collect(&mut s).contains(&Output::Notice(Notice::StateChanged {
            from: State::Active,
            to: State::Idle,
            event: Event::ManualStop
        }))
    );
    // Active + an inbound connection -> OpenSent.
    s.start(now);
    s.connect_failed(now);
    collect(&mut s);
    s.connected(now, ConnId(3), l, r, Direction::Inbound);
    assert!(
        collect(&mut s).contains(&Output::Notice(Notice::StateChanged {
            from: State::Active,
            to: State::OpenSent,
            event: Event::TcpConnectionConfirmed
        }))
    );
    // An unsolicited outbound report (no Connect asked) is refused.
    let mut s = Session::new(SessionConfig::new(65001, 65002, A_ID), 1, now);
    let mut c = s.config().clone();
    c.passive = true;
    s = Session::new(c, 1, now);
    s.start(now);
    collect(&mut s);
    s.connected(now, ConnId(4), l, r, Direction::Outbound);
    assert_eq!(collect(&mut s), vec![Output::Close { conn: ConnId(4) }]);
}

#[test]
fn a_late_outbound_connection_after_establishment_is_closed() {
    use crate::harness::{Scripted, encode, peer_open};
    use lb_bgp::session::{ConnId, Direction};
    // Active session: its Connect is pending when the peer's inbound connection arrives and
    // becomes Established.
    let mut s = Scripted::new(|c| c.passive = false);
    assert!(s.actions.contains(&Output::Connect));
    s.feed(&encode(&Message::Open(peer_open())));
    s.feed(&encode(&Message::Keepalive));
    assert_eq!(s.s.state(), State::Established);
    s.s.connected(
        s.now,
        ConnId(2),
        "192.0.2.1:40000".parse().unwrap(),
        "192.0.2.2:179".parse().unwrap(),
        Direction::Outbound,
    );
    assert_eq!(s.drain(), vec![Output::Close { conn: ConnId(2) }]);
    assert_eq!(s.s.state(), State::Established);
}

/// BFD coupling: `hold_down` ends an Established session with Cease / BFD Down (RFC 9384),
/// the peer loses our routes, nothing reconnects (not us, and the peer's own attempts are
/// refused) however long it lasts, and `release` brings it back.
#[test]
fn hold_down_ends_the_session_until_release() {
    let a = SessionConfig::new(65001, 65002, A_ID);
    let b = SessionConfig::new(65002, 65001, B_ID);
    let mut p = Pair::new(a, b);
    p.start();
    assert!(p.established());
    p.a.announce(
        p.now,
        lb_bgp::Route::new("198.51.100.7/32".parse().unwrap()),
    );
    p.pump();
    assert_eq!(p.b.received_routes().count(), 1);
    p.clear_log();
    p.a.hold_down(p.now);
    assert!(p.a.is_held_down());
    p.pump();
    let n = p
        .sent(Side::A)
        .into_iter()
        .find_map(|m| match m {
            Message::Notification(n) => Some(n),
            _ => None,
        })
        .unwrap();
    assert_eq!((n.code, n.subcode), (6, 10));
    assert!(p.actions(Side::A).contains(&Output::Notice(Notice::Down {
        reason: DownReason::NotificationSent(n.clone())
    })));
    assert!(p.transitions(Side::A).contains(&(
        State::Established,
        State::Idle,
        Event::AutomaticStop
    )));
    assert_eq!(p.b.received_routes().count(), 0);
    // B is active and keeps trying; A refuses every connection and never connects itself.
    p.run_for(S(600));
    assert_eq!(p.a.state(), State::Idle);
    assert!(!p.established());
    assert!(
        !p.actions(Side::A)
            .iter()
            .any(|a| matches!(a, Output::Connect))
    );
    // A second hold_down changes nothing; release reconnects and the route comes back.
    p.a.hold_down(p.now);
    p.a.release(p.now);
    assert!(!p.a.is_held_down());
    p.pump();
    p.run_for(S(5));
    assert!(p.established());
    assert_eq!(p.b.received_routes().count(), 1);
}

/// Held down and ManualStop are independent: a stopped session is not started by release,
/// and a start while held down waits for the release.
#[test]
fn hold_down_and_manual_stop_are_independent() {
    let mut p = Pair::ebgp();
    p.start();
    p.a.hold_down(p.now);
    p.a.stop(p.now, "");
    p.a.release(p.now);
    p.pump();
    p.run_for(S(120));
    assert_eq!(p.a.state(), State::Idle);
    p.a.hold_down(p.now);
    p.a.start(p.now);
    p.pump();
    p.run_for(S(120));
    assert_eq!(p.a.state(), State::Idle);
    assert!(!p.established());
    p.a.release(p.now);
    p.pump();
    p.run_for(S(5));
    assert!(p.established());
}
