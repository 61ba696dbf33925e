//! End to end with lb-bgp and BIRD: our node (lb-bgp's speaker and lb-bfd's driver, coupled
//! as a speaker binary would couple them) announces 198.51.100.7/32 to BIRD over eBGP with a
//! 3 s hold time. With BFD at 100 ms × 3 on both sides, cutting our node's link makes BIRD
//! withdraw the route within its BFD detection time; without BFD it takes the hold time. Both
//! figures are printed; the assertions are the (under 1 s with BFD) and a generous
//! bound on the hold time.
//!
//! The coupling: when our BFD session leaves Up the BGP session is held down
//! (`Speaker::hold_down`), when it is Up again it is released.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod lab;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lab::{Daemon, Lab, lan, wait_for};
use lb_bfd::driver::{Bfd, DriverConfig, PeerConfig as BfdPeer};
use lb_bfd::wire::State as BfdState;
use lb_bgp::driver::{PeerConfig, Speaker, SpeakerConfig};
use lb_bgp::session::State;
use lb_bgp::{Route, SessionConfig};

const ROUTE: &str = "198.51.100.7/32";

fn bird_config(bfd: bool) -> String {
    let mut s =
        String::from("log stderr all;\nrouter id 192.0.2.2;\nprotocol device { scan time 10; }\n");
    if bfd {
        s.push_str(
            "protocol bfd { interface \"eth0\" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }\n",
        );
    }
    s.push_str(&format!(
        "protocol bgp node {{\n  local 192.0.2.2 as 64500;\n  neighbor 192.0.2.11 as 64512;\n  hold time 3;\n  keepalive time 1;\n  connect retry time 1;\n  error wait time 1, 2;\n{}  ipv4 {{ import all; export none; }};\n}}\n",
        if bfd { "  bfd yes;\n" } else { "" }
    ));
    s
}

/// Our node: a speaker and (with `bfd`) a BFD driver on a thread in the node namespace.
struct Node {
    speaker: Speaker,
    bfd: Option<Bfd>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start_node(lab: &Lab, bfd: bool) -> Node {
    let path = lab.netns_path("node");
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let peer: IpAddr = lan("peer", false);
    let thread = std::thread::spawn(move || {
        lb_lab::net::enter_netns(&path);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let speaker = lb_bgp::driver::spawn(SpeakerConfig {
                listen: None,
                ..SpeakerConfig::default()
            })
            .await
            .unwrap();
            let mut config = SessionConfig::new(64512, 64500, "192.0.2.11".parse().unwrap());
            config.hold_time = 3;
            config.connect_retry = Duration::from_millis(300);
            config.connect_retry_max = Duration::from_secs(1);
            let mut settings = PeerConfig::new(peer, config);
            settings.source = Some(lan("node", false));
            speaker.add_peer(settings).unwrap();
            speaker
                .set_routes(peer, [Route::new(ROUTE.parse().unwrap())])
                .unwrap();
            let driver = if bfd {
                let d = lb_bfd::driver::spawn(DriverConfig::default())
                    .await
                    .unwrap();
                let mut events = d.events();
                let s = speaker.clone();
                // The coupling a speaker binary carries.
                tokio::spawn(async move {
                    while let Ok(e) = events.recv().await {
                        if e.to == BfdState::Up {
                            let _ = s.release(e.peer);
                        } else if e.from == BfdState::Up {
                            let _ = s.hold_down(e.peer);
                        }
                    }
                });
                let mut p = BfdPeer::single_hop(
                    peer,
                    lb_bfd::session::SessionConfig {
                        desired_min_tx: Duration::from_millis(100),
                        required_min_rx: Duration::from_millis(100),
                        detect_mult: 3,
                        ..lb_bfd::session::SessionConfig::default()
                    },
                );
                p.local = Some(lan("node", false));
                d.add_peer(p).await.unwrap();
                Some(d)
            } else {
                None
            };
            tx.send((speaker.clone(), driver.clone())).unwrap();
            let _ = stopped.await;
            if let Some(d) = driver {
                d.shutdown().await;
            }
            speaker.shutdown().await;
        });
    });
    let (speaker, bfd) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    Node {
        speaker,
        bfd,
        stop: Some(stop),
        thread: Some(thread),
    }
}

fn bird_has_route(bird: &Daemon) -> bool {
    bird.birdc(&["show", "route", ROUTE])
        .contains("198.51.100.7/32")
}

/// Time from cutting our node's link to BIRD's withdrawal of the route.
fn withdrawal_time(bfd: bool) -> Option<Duration> {
    let mut tools = vec!["bird", "birdc"];
    tools.push("tcpdump");
    let lab = Lab::up(if bfd { "eb" } else { "en" }, &tools)?;
    let bird = Daemon::start_bird(&lab, "bird", &bird_config(bfd));
    let node = start_node(&lab, bfd);
    let peer = lan("peer", false);
    assert!(
        wait_for(Duration::from_secs(30), || {
            node.speaker
                .stats(peer)
                .is_ok_and(|s| s.state == State::Established)
                && bird_has_route(&bird)
                && (!bfd
                    || node
                        .bfd
                        .as_ref()
                        .and_then(|b| b.status(peer).ok())
                        .is_some_and(|s| s.state == BfdState::Up))
        }),
        "no session: ours {:?}, bird:\n{}\n{}",
        node.speaker.stats(peer).map(|s| s.state),
        bird.birdc(&["show", "protocols", "all"]),
        bird.log()
    );
    if bfd {
        let s = bird.birdc(&["show", "bfd", "sessions"]);
        assert!(s.contains("Up"), "{s}");
        // Let the Poll Sequences settle on 100 ms.
        std::thread::sleep(Duration::from_secs(1));
    }
    let t0 = Instant::now();
    lab.cut("node");
    let gone = wait_for(Duration::from_secs(15), || !bird_has_route(&bird));
    let took = t0.elapsed();
    assert!(gone, "BIRD kept the route for 15 s: {}", bird.log());
    drop(node);
    Some(took)
}

#[test]
fn bird_withdraws_within_bfd_detection_not_hold_time() {
    let Some(with_bfd) = withdrawal_time(true) else {
        return;
    };
    let Some(without) = withdrawal_time(false) else {
        return;
    };
    println!(
        "BIRD withdrew {ROUTE} {with_bfd:?} after our link was cut with BFD 100 ms x 3, \
         {without:?} without BFD (hold time 3 s)"
    );
    assert!(with_bfd < Duration::from_secs(1), "with BFD: {with_bfd:?}");
    // The hold timer runs from the last KEEPALIVE (one a second): 2 to 3 s after the cut.
    assert!(
        without > Duration::from_millis(1500),
        "without BFD: {without:?}"
    );
}

/// The coupling itself against BIRD: when BIRD is frozen, our BFD goes Down and our BGP
/// session is held down at once (well before its 3 s hold time), and it comes back only
/// after BFD is Up again.
#[test]
fn our_bgp_session_follows_bfd() {
    let Some(lab) = Lab::up("c", &["bird", "birdc"]) else {
        return;
    };
    let bird = Daemon::start_bird(&lab, "bird", &bird_config(true));
    let node = start_node(&lab, true);
    let peer = lan("peer", false);
    let bfd = node.bfd.clone().unwrap();
    assert!(wait_for(Duration::from_secs(30), || {
        node.speaker
            .stats(peer)
            .is_ok_and(|s| s.state == State::Established)
            && bfd.status(peer).is_ok_and(|s| s.state == BfdState::Up)
    }));
    std::thread::sleep(Duration::from_secs(1));
    let t0 = Instant::now();
    bird.freeze();
    assert!(wait_for(Duration::from_secs(5), || {
        node.speaker
            .stats(peer)
            .is_ok_and(|s| s.state != State::Established)
    }));
    let took = t0.elapsed();
    println!("our BGP session left Established {took:?} after BIRD was frozen (hold time 3 s)");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert_eq!(bfd.status(peer).unwrap().state, BfdState::Down);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(node.speaker.stats(peer).unwrap().state, State::Idle);
    bird.thaw();
    assert!(wait_for(Duration::from_secs(30), || {
        node.speaker
            .stats(peer)
            .is_ok_and(|s| s.state == State::Established)
    }));
    assert_eq!(bfd.status(peer).unwrap().state, BfdState::Up);
}
