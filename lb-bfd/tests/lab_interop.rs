//! Interop with BIRD 2 (`protocol bfd`) and FRR (`bfdd`) in network namespaces: IPv4 and
//! IPv6, single hop and multihop (routed, TTL 254 on arrival), all four sessions at once per
//! daemon, the IPv6 multihop one passive on our side. Sessions come Up; the intervals each side uses are the ones both sides' numbers
//! give; SIGSTOP on the daemon brings ours Down with diagnostic 1 within the detection time
//! (asserted with a generous margin, printed as measured); after SIGCONT they come back.
//! BIRD also checks authentication: every type comes Up with the right key and never with a
//! wrong one (FRR's bfdd has no authentication).
//!
//! Root, `ip` and the daemons are needed; without them the tests skip, unless
//! `LB_LAB=required`.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod lab;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lab::{Daemon, Kind, Lab, Neighbor, Ours, addr, wait_for};
use lb_bfd::driver::PeerConfig;
use lb_bfd::session::{AuthConfig, SessionConfig};
use lb_bfd::wire::{AuthType, Diagnostic, State};

const COMBOS: [(bool, bool); 4] = [(false, false), (true, false), (false, true), (true, true)];

fn ours_config(tx: u64, rx: u64, mult: u8) -> SessionConfig {
    SessionConfig {
        desired_min_tx: Duration::from_millis(tx),
        required_min_rx: Duration::from_millis(rx),
        detect_mult: mult,
        ..SessionConfig::default()
    }
}

/// The smallest TTL our multihop sessions accept: BIRD sends its multihop packets with the
/// system's default TTL (64, seen in the captures), FRR with 255; one router in between.
fn min_ttl(kind: Kind) -> u8 {
    match kind {
        Kind::Bird => 63,
        Kind::Frr => 254,
    }
}

fn settings(kind: Kind, v6: bool, multihop: bool, session: SessionConfig) -> PeerConfig {
    let peer = addr("peer", v6, multihop);
    let mut s = if multihop {
        PeerConfig::multi_hop(peer, min_ttl(kind), session)
    } else {
        PeerConfig::single_hop(peer, session)
    };
    s.local = Some(addr("node", v6, multihop));
    s
}

fn states(ours: &Ours, peers: &[IpAddr]) -> Vec<State> {
    peers
        .iter()
        .map(|p| ours.bfd.status(*p).map_or(State::Down, |s| s.state))
        .collect()
}

fn interop(kind: Kind) {
    let mut tools = vec!["tcpdump"];
    tools.extend_from_slice(kind.tools());
    let Some(mut lab) = Lab::up(if kind == Kind::Bird { "b" } else { "f" }, &tools) else {
        return;
    };
    lab.maybe_capture(&format!("{kind:?}-interop").to_lowercase());
    // The daemon: tx 200 ms, rx 150 ms, multiplier 4. Ours: tx 100 ms, rx 300 ms, 3.
    let neighbors: Vec<Neighbor> = COMBOS
        .iter()
        .map(|&(v6, multihop)| Neighbor {
            addr: addr("node", v6, multihop),
            local: addr("peer", v6, multihop),
            multihop,
            tx_ms: 200,
            rx_ms: 150,
            mult: 4,
            auth: None,
            passive: false,
        })
        .collect();
    let daemon = Daemon::start(&lab, kind, &neighbors);
    let ours = Ours::start(&lab);
    let peers: Vec<IpAddr> = COMBOS.iter().map(|&(v6, m)| addr("peer", v6, m)).collect();
    for &(v6, m) in &COMBOS {
        // The IPv6 multihop session is passive on our side: it waits for the daemon's first
        // packet (MetalLB's passiveMode).
        let mut c = ours_config(100, 300, 3);
        c.passive = v6 && m;
        ours.block_on(ours.bfd.add_peer(settings(kind, v6, m, c)))
            .unwrap();
    }
    let up = wait_for(Duration::from_secs(20), || {
        states(&ours, &peers).iter().all(|s| *s == State::Up)
            && peers.iter().all(|_| true)
            && COMBOS.iter().all(|&(v6, m)| {
                daemon
                    .session(addr("node", v6, m))
                    .is_some_and(|v| v.state == "up")
            })
    });
    assert!(
        up,
        "{kind:?}: not all Up: ours {:?}, daemon {:?}\n{}",
        states(&ours, &peers),
        COMBOS
            .iter()
            .map(|&(v6, m)| daemon.session(addr("node", v6, m)))
            .collect::<Vec<_>>(),
        daemon.log()
    );
    // Let both Poll Sequences finish, then compare the numbers.
    std::thread::sleep(Duration::from_secs(2));
    for (i, &(v6, m)) in COMBOS.iter().enumerate() {
        let s = ours.bfd.status(peers[i]).unwrap();
        let what = format!("{kind:?} v6={v6} multihop={m}");
        // Ours: max(our tx 100, their rx 150); their mult 4 × max(our rx 300, their tx 200).
        assert_eq!(s.tx_interval, Duration::from_millis(150), "{what}");
        assert_eq!(
            s.detection_time,
            Some(Duration::from_millis(1200)),
            "{what}"
        );
        assert_eq!(
            s.remote_desired_min_tx,
            Duration::from_millis(200),
            "{what}"
        );
        assert_eq!(s.remote_min_rx, Duration::from_millis(150), "{what}");
        assert_eq!(s.remote_detect_mult, 4, "{what}");
        let v = daemon.session(addr("node", v6, m)).unwrap();
        match kind {
            // BIRD's: max(its tx 200, our rx 300); our mult 3 × max(its rx 150, our tx 100).
            Kind::Bird => {
                assert_eq!(v.tx_interval, Some(Duration::from_millis(300)), "{what}");
                assert_eq!(v.detection_time, Some(Duration::from_millis(450)), "{what}");
            }
            Kind::Frr => {
                assert_eq!(v.remote_tx, Some(Duration::from_millis(100)), "{what}");
                assert_eq!(v.remote_rx, Some(Duration::from_millis(300)), "{what}");
                assert_eq!(v.remote_mult, Some(3), "{what}");
            }
        }
        println!("{what}: ours {s:?}; daemon {v:?}");
    }
    // Freeze the daemon: every session of ours goes Down on its detection time (1.2 s).
    let mut events = ours.bfd.events();
    let frozen = Instant::now();
    daemon.freeze();
    let down = wait_for(Duration::from_secs(5), || {
        states(&ours, &peers).iter().all(|s| *s == State::Down)
    });
    let took = frozen.elapsed();
    daemon.thaw();
    assert!(
        down,
        "{kind:?}: still {:?} 5 s after SIGSTOP",
        states(&ours, &peers)
    );
    println!("{kind:?}: all four sessions Down {took:?} after SIGSTOP (detection time 1.2 s)");
    assert!(
        took < Duration::from_millis(1200 + 800),
        "{kind:?}: Down only after {took:?}"
    );
    let mut seen = 0;
    while let Ok(e) = events.try_recv() {
        if e.to == State::Down {
            assert_eq!(e.diagnostic, Diagnostic::ControlDetectionTimeExpired);
            seen += 1;
        }
    }
    assert_eq!(seen, 4);
    // Thawed: back Up.
    assert!(
        wait_for(Duration::from_secs(20), || {
            states(&ours, &peers).iter().all(|s| *s == State::Up)
        }),
        "{kind:?}: not Up again after SIGCONT: {:?}",
        states(&ours, &peers)
    );
}

#[test]
fn bird_v4_v6_single_and_multihop() {
    interop(Kind::Bird);
}

#[test]
fn frr_v4_v6_single_and_multihop() {
    interop(Kind::Frr);
}

#[test]
fn bird_authentication() {
    let mut tools = vec!["tcpdump"];
    tools.extend_from_slice(Kind::Bird.tools());
    let Some(mut lab) = Lab::up("a", &tools) else {
        return;
    };
    lab.maybe_capture("bird-auth");
    let cases = [
        ("simple", AuthType::SimplePassword),
        ("keyed md5", AuthType::KeyedMd5),
        ("meticulous keyed md5", AuthType::MeticulousKeyedMd5),
        ("keyed sha1", AuthType::KeyedSha1),
        ("meticulous keyed sha1", AuthType::MeticulousKeyedSha1),
    ];
    // One round per type, four sessions: the right key on IPv4, a wrong one on IPv6, single
    // hop and multihop.
    for (bird_kw, t) in cases {
        let mut neighbors = Vec::new();
        let mut ours_list = Vec::new();
        for (v6, m) in COMBOS {
            let right = !v6;
            neighbors.push(Neighbor {
                addr: addr("node", v6, m),
                local: addr("peer", v6, m),
                multihop: m,
                tx_ms: 100,
                rx_ms: 100,
                mult: 3,
                auth: Some((bird_kw, "s3cret")),
                passive: false,
            });
            let mut c = ours_config(100, 100, 3);
            c.auth = Some(AuthConfig {
                auth_type: t,
                key_id: 1,
                key: if right {
                    b"s3cret".to_vec()
                } else {
                    b"wrong".to_vec()
                },
            });
            ours_list.push((settings(Kind::Bird, v6, m, c), right, t));
        }
        let daemon = Daemon::start(&lab, Kind::Bird, &neighbors);
        let ours = Ours::start(&lab);
        for (s, _, _) in &ours_list {
            ours.block_on(ours.bfd.add_peer(s.clone())).unwrap();
        }
        let rights: Vec<IpAddr> = ours_list.iter().filter(|x| x.1).map(|x| x.0.peer).collect();
        let up = wait_for(Duration::from_secs(15), || {
            states(&ours, &rights).iter().all(|s| *s == State::Up)
        });
        assert!(
            up,
            "right keys not Up: {:?}\n{}",
            ours_list
                .iter()
                .map(|x| (x.2, ours.bfd.status(x.0.peer).ok()))
                .collect::<Vec<_>>(),
            daemon.log()
        );
        // Several detection times more: the wrong keys never came Up on either side.
        std::thread::sleep(Duration::from_secs(3));
        for (s, right, t) in &ours_list {
            let st = ours.bfd.status(s.peer).unwrap();
            if *right {
                assert_eq!(st.state, State::Up, "{t:?}");
                assert_eq!(st.stats.packets_discarded, 0, "{t:?}");
            } else {
                assert_eq!(st.stats.up_events, 0, "{t:?} came Up with a wrong key");
                assert!(st.stats.packets_discarded > 0, "{t:?}");
                let v = daemon.session(addr(
                    "node",
                    s.peer.is_ipv6(),
                    s.hop != lb_bfd::driver::Hop::Single,
                ));
                assert_ne!(v.map(|v| v.state), Some("up".to_string()), "{t:?}");
            }
        }
        drop(ours);
        drop(daemon);
    }
}
