//! Interop with real HashiCorp Serf agents (Debian's `serf`, memberlist inside) on loopback:
//! our driver joins a cluster of two agents, each side sees the other alive, a killed agent is
//! declared dead by our node, our node dropped without a leave is marked failed by serf, and a
//! graceful leave shows as `left` on both sides — once in the clear, once with `-encrypt` and
//! the same key in our keyring; a node with the wrong key never gets in.
//!
//! Serf runs its LAN profile (failure detection takes several seconds); our node runs
//! `Config::fast()`. The scenarios are independent (each has its own agents on their own
//! loopback addresses), so they run in parallel threads to keep the wall time near the
//! slowest one. The waits are generous upper bounds, not measurements.
//!
//! Skips when `serf` is not installed, unless `LB_LAB=required`.

#![allow(clippy::unwrap_used, missing_docs)]

mod serf;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lb_memberlist::driver::{Driver, DriverConfig, JoinRetry};
use lb_memberlist::serf::{self as serf_compat, Clock};
use lb_memberlist::{Config, Event, Keyring, State};
use serf::{OTHER_KEY, SerfLab, TEST_KEY, TEST_KEY_B64, wait_until};
use tokio::runtime::Runtime;

/// Serf's LAN profile: probe every second, suspicion at least 4 s with three members.
const SERF_DETECT: Duration = Duration::from_secs(30);
/// Our side (`Config::fast()`).
const OUR_DETECT: Duration = Duration::from_secs(10);
/// Gossip reaching everyone.
const SPREAD: Duration = Duration::from_secs(10);

/// Our node, its runtime and the Lamport clock it keeps of Serf's intents.
struct Ours {
    rt: Runtime,
    node: Option<Driver>,
    clock: Arc<Mutex<Clock>>,
}

impl Ours {
    fn start(name: &str, ip: std::net::Ipv4Addr, key: Option<[u8; 32]>) -> Ours {
        Self::start_with(name, ip, key, Config::fast())
    }

    fn start_with(
        name: &str,
        ip: std::net::Ipv4Addr,
        key: Option<[u8; 32]>,
        config: Config,
    ) -> Ours {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let bind = SocketAddr::from((ip, serf::GOSSIP_PORT));
        let mut o = serf_compat::driver_options(name, bind, config, &[("role", "lb-rust")]);
        o.keyring = key.map(|k| Keyring::new(&k).unwrap());
        o.join_retry = JoinRetry {
            attempts: 3,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_millis(500),
        };
        let node = rt.block_on(lb_memberlist::driver::spawn(o)).unwrap();
        // Follow Serf's clock from the intents it gossips, so that our leave intent is newer.
        let clock = Arc::new(Mutex::new(Clock::default()));
        let mut events = node.events();
        let c = clock.clone();
        rt.spawn(async move {
            while let Ok(ev) = events.recv().await {
                if let Event::User(payload) = ev {
                    c.lock().unwrap().witness(&payload);
                }
            }
        });
        Ours {
            rt,
            node: Some(node),
            clock,
        }
    }

    fn node(&self) -> &Driver {
        self.node.as_ref().unwrap()
    }

    fn join(&self, seed: SocketAddr) -> Result<usize, lb_memberlist::Error> {
        self.rt.block_on(self.node().join(&[seed]))
    }

    fn state_of(&self, name: &str) -> Option<State> {
        self.node().member(name).map(|m| m.state)
    }

    fn wait_state(&self, name: &str, state: State, timeout: Duration) {
        let ok = wait_until(timeout, || self.state_of(name) == Some(state));
        assert!(
            ok,
            "our node never saw {name} {state:?} within {timeout:?}: {:?}",
            self.node().members()
        );
    }

    /// Leaves as a serf agent does: a leave intent first (so serf says `left`, not
    /// `failed`), then memberlist's leave.
    fn leave(&mut self) {
        let node = self.node.take().unwrap();
        let ltime = self.clock.lock().unwrap().tick();
        self.rt
            .block_on(serf_compat::leave(&node, ltime, Duration::from_secs(3)))
            .unwrap();
    }

    /// A crash: the node stops without a word.
    fn kill(&mut self) {
        drop(self.node.take());
    }
}

/// Two serf agents `s1` and `s2`, joined; our node `rust` joins through `s1`, and both sides
/// see everyone alive.
fn cluster(lab: &mut SerfLab, key: Option<[u8; 32]>) -> (usize, usize, Ours) {
    cluster_with(lab, key, Config::fast())
}

fn cluster_with(lab: &mut SerfLab, key: Option<[u8; 32]>, config: Config) -> (usize, usize, Ours) {
    let b64 = key.map(|_| TEST_KEY_B64);
    let s1 = lab.start("s1", b64);
    let s2 = lab.start("s2", b64);
    lab.join(s2, lab.agent(s1).gossip());
    lab.wait_status(s1, "s2", "alive", SPREAD);

    let ours = Ours::start_with("rust", serf::loopback_addr(), key, config);
    assert_eq!(ours.join(lab.agent(s1).gossip()).unwrap(), 1);

    // Serf lists us, alive, with our tags; s2 learns of us by gossip.
    for s in [s1, s2] {
        lab.wait_status(s, "rust", "alive", SPREAD);
    }
    let me = lab
        .members(s1)
        .into_iter()
        .find(|m| m.name == "rust")
        .unwrap();
    assert_eq!(me.tags, vec![("role".to_string(), "lb-rust".to_string())]);
    assert_eq!(me.addr, ours.node().advertise_addr().to_string());

    // We see both agents alive, with serf's (empty) tags.
    for name in ["s1", "s2"] {
        ours.wait_state(name, State::Alive, SPREAD);
    }
    let m = ours.node().member("s1").unwrap();
    assert_eq!(serf_compat::decode_tags(&m.meta).unwrap(), vec![]);
    assert_eq!(m.socket_addr(), Some(lab.agent(s1).gossip()));
    assert!(
        !lab.log(s1).contains("Failed push/pull merge"),
        "serf refused our state:\n{}",
        lab.log_tail(s1, 30)
    );
    (s1, s2, ours)
}

/// Failures both ways: a killed agent is declared dead by us; our node killed is marked
/// failed by serf.
fn failures(key: Option<[u8; 32]>) {
    let tag = if key.is_some() { "fail-enc" } else { "fail" };
    let Some(mut lab) = SerfLab::new(tag) else {
        return;
    };
    let (s1, s2, mut ours) = cluster(&mut lab, key);

    let t = Instant::now();
    lab.kill(s2);
    ours.wait_state("s2", State::Dead, OUR_DETECT);
    eprintln!(
        "[{tag}] our node declared the killed agent dead after {:?}",
        t.elapsed()
    );
    lab.wait_status(s1, "s2", "failed", SERF_DETECT);

    let t = Instant::now();
    ours.kill();
    lab.wait_status(s1, "rust", "failed", SERF_DETECT);
    eprintln!(
        "[{tag}] serf marked our killed node failed after {:?}",
        t.elapsed()
    );
}

/// Graceful leaves both ways: `serf leave` is a leave in our view; our leave is `left` in
/// serf's.
fn leaves(key: Option<[u8; 32]>) {
    let tag = if key.is_some() { "leave-enc" } else { "leave" };
    let Some(mut lab) = SerfLab::new(tag) else {
        return;
    };
    let (s1, s2, mut ours) = cluster(&mut lab, key);

    lab.leave(s2);
    ours.wait_state("s2", State::Left, SPREAD);
    lab.wait_status(s1, "s2", "left", SPREAD);

    ours.leave();
    lab.wait_status(s1, "rust", "left", SPREAD);
    // And it stays a leave, not a failure, once serf's own probing would have noticed.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lab.status_of(s1, "rust").as_deref(), Some("left"));
}

/// A node with another key never gets in: its join fails and serf never lists it.
fn wrong_key() {
    let Some(mut lab) = SerfLab::new("wrongkey") else {
        return;
    };
    let s1 = lab.start("s1", Some(TEST_KEY_B64));
    let ours = Ours::start("intruder", serf::loopback_addr(), Some(OTHER_KEY));
    assert!(ours.join(lab.agent(s1).gossip()).is_err());
    // Unsolicited gossip would not help either: watch for a while.
    let listed = serf::wait_until_every(Duration::from_secs(3), serf::SERF_POLL, || {
        lab.status_of(s1, "intruder").is_some()
    });
    assert!(!listed, "serf lists the intruder: {:?}", lab.members(s1));
    assert!(ours.node().member("s1").is_none());
    assert!(
        lab.log(s1)
            .contains("No installed keys could decrypt the message")
            || lab.log(s1).contains("decrypt"),
        "serf did not log a decryption failure:\n{}",
        lab.log_tail(s1, 30)
    );
}

/// Our node with the `lan()` preset (memberlist protocol 2, HashiCorp's LAN timings, like
/// serf's own): joins, detects a killed agent, leaves.
fn lan_preset() {
    let Some(mut lab) = SerfLab::new("lan") else {
        return;
    };
    let (s1, s2, mut ours) = cluster_with(&mut lab, None, Config::lan());
    let t = Instant::now();
    lab.kill(s2);
    ours.wait_state("s2", State::Dead, SERF_DETECT);
    eprintln!(
        "[lan] our node (lan preset) declared the killed agent dead after {:?}",
        t.elapsed()
    );
    ours.leave();
    lab.wait_status(s1, "rust", "left", SPREAD);
}

/// A mixed cluster, as in a rolling migration: two agents and two of our nodes, encrypted. A
/// killed node of ours is declared dead by our other node and failed by serf; a killed agent
/// is declared dead by our remaining node.
fn mixed() {
    let Some(mut lab) = SerfLab::new("mixed") else {
        return;
    };
    let (s1, s2, r1) = cluster(&mut lab, Some(TEST_KEY));
    let r2 = Ours::start("rust-2", serf::loopback_addr(), Some(TEST_KEY));
    assert_eq!(r2.join(lab.agent(s2).gossip()).unwrap(), 1);
    for s in [s1, s2] {
        lab.wait_status(s, "rust-2", "alive", SPREAD);
    }
    for name in ["s1", "s2", "rust"] {
        r2.wait_state(name, State::Alive, SPREAD);
    }
    r1.wait_state("rust-2", State::Alive, SPREAD);

    let mut r1 = r1;
    r1.kill();
    r2.wait_state("rust", State::Dead, SERF_DETECT);
    lab.wait_status(s1, "rust", "failed", SERF_DETECT);
    lab.wait_status(s2, "rust", "failed", SERF_DETECT);

    lab.kill(s2);
    r2.wait_state("s2", State::Dead, SERF_DETECT);
    lab.wait_status(s1, "s2", "failed", SERF_DETECT);
    lab.wait_status(s1, "rust-2", "alive", SPREAD);
}

/// Serf joins through our node: its push-pull arrives on our TCP listener. A serf user event
/// then reaches us as a user message, passed through untouched.
fn serf_joins_us() {
    let Some(mut lab) = SerfLab::new("inbound") else {
        return;
    };
    let s1 = lab.start("s1", Some(TEST_KEY_B64));
    let ours = Ours::start("rust", serf::loopback_addr(), Some(TEST_KEY));
    lab.join(s1, ours.node().advertise_addr());
    lab.wait_status(s1, "rust", "alive", SPREAD);
    ours.wait_state("s1", State::Alive, SPREAD);

    let user = Arc::new(Mutex::new(Vec::new()));
    let mut events = ours.node().events();
    let seen = user.clone();
    ours.rt.spawn(async move {
        while let Ok(ev) = events.recv().await {
            if let Event::User(p) = ev {
                seen.lock().unwrap().push(p);
            }
        }
    });
    lab.event(s1, "deploy", "v42");
    let got = wait_until(SPREAD, || {
        user.lock().unwrap().iter().any(|p| {
            p.first() == Some(&serf_compat::message_type::USER_EVENT)
                && p.windows(6).any(|w| w == b"deploy")
                && p.windows(3).any(|w| w == b"v42")
        })
    });
    assert!(got, "no user event reached us: {:?}", user.lock().unwrap());
}

/// Our node crashes and comes back under the same name and address: serf, which marked it
/// failed at its old incarnation, lists it alive again (the restarted node refutes the death
/// serf tells it about with a newer incarnation).
fn restart() {
    let Some(mut lab) = SerfLab::new("restart") else {
        return;
    };
    let s1 = lab.start("s1", None);
    let ip = serf::loopback_addr();
    let ours = Ours::start("rust", ip, None);
    ours.join(lab.agent(s1).gossip()).unwrap();
    lab.wait_status(s1, "rust", "alive", SPREAD);
    drop(ours);
    lab.wait_status(s1, "rust", "failed", SERF_DETECT);

    let ours = Ours::start("rust", ip, None);
    ours.join(lab.agent(s1).gossip()).unwrap();
    lab.wait_status(s1, "rust", "alive", SPREAD);
    ours.wait_state("s1", State::Alive, SPREAD);
    let me = ours.node().member("rust").unwrap();
    assert!(me.incarnation > 1, "no refutation: {me:?}");
}

/// Memberlist's default delegate versions (`0, 0, 0`, what MetalLB announces) get a node
/// listed through its alive gossip, but serf refuses every push-pull with it: why a node in a
/// serf cluster announces `serf::DELEGATE_VERSIONS`.
fn zero_delegate_versions() {
    let Some(mut lab) = SerfLab::new("dvsn") else {
        return;
    };
    let s1 = lab.start("s1", None);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let bind = SocketAddr::from((serf::loopback_addr(), serf::GOSSIP_PORT));
    let node = rt
        .block_on(lb_memberlist::driver::spawn(DriverConfig::new(
            "plain",
            bind,
            Config::fast(),
        )))
        .unwrap();
    // The seed answers with its own state before it checks ours, so the join itself succeeds.
    assert_eq!(
        rt.block_on(node.join(&[lab.agent(s1).gossip()])).unwrap(),
        1
    );
    let refused = wait_until(SPREAD, || {
        lab.log(s1).contains(
            "Failed push/pull merge: Node 'plain' delegate protocol version (0) is incompatible",
        )
    });
    assert!(
        refused,
        "serf accepted [0, 0, 0]:\n{}",
        lab.log_tail(s1, 30)
    );
}

#[test]
fn serf_interop() {
    if SerfLab::new("probe").is_none() {
        return;
    }
    let scenarios: Vec<(&str, fn())> = vec![
        ("failures (plain)", || failures(None)),
        ("failures (encrypted)", || failures(Some(TEST_KEY))),
        ("leaves (plain)", || leaves(None)),
        ("leaves (encrypted)", || leaves(Some(TEST_KEY))),
        ("wrong key", wrong_key),
        ("zero delegate versions", zero_delegate_versions),
        ("serf joins us", serf_joins_us),
        ("restart", restart),
        ("lan preset", lan_preset),
        ("mixed cluster", mixed),
    ];
    let t = Instant::now();
    let handles: Vec<_> = scenarios
        .into_iter()
        .map(|(name, f)| (name, std::thread::spawn(f)))
        .collect();
    let failed: Vec<&str> = handles
        .into_iter()
        .filter_map(|(name, h)| h.join().is_err().then_some(name))
        .collect();
    eprintln!("serf interop scenarios took {:?}", t.elapsed());
    assert!(failed.is_empty(), "failed scenarios: {failed:?}");
}
