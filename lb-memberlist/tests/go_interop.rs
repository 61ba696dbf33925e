//! Interop with HashiCorp memberlist itself, as MetalLB's speaker runs it: `memberlist-peer`
//! (`lab/go/memberlist-peer`, built from the Go module proxy by `lab/go/build.sh`) is
//! memberlist v0.5.1 (MetalLB v0.15's pin) with `DefaultLANConfig()`, the node name, bind
//! address and port, the key MetalLB derives from its Secret and a `ChannelEventDelegate`
//! whose events it prints. Our nodes are configured as a MetalLB-compatible speaker would be:
//! `DriverConfig::new` (delegate versions `[0, 0, 0]`, no metadata, no label) and, when
//! encrypted, `metallb_secret_key(secret)` in the keyring.
//!
//! Scenarios, each on its own loopback addresses, in parallel threads:
//! - join both ways (ours through a Go seed, a Go peer through ours), in the clear and
//!   encrypted;
//! - crash detection both ways (SIGKILL of a Go peer, shutdown of our node without a leave),
//!   with our `lan()` preset and with `fast()`, beside Go detecting Go in the same cluster;
//!   the figures are printed with serf's from `serf_interop.rs` for comparison;
//! - graceful leave both ways;
//! - wrong keys kept out (another secret, the decoded secret as the key, no key at all);
//! - a mixed cluster of three Go peers and two of ours, encrypted, through a crash on each
//!   side and a rejoin of each;
//! - the same joins and crashes against memberlist v0.6.0 (MetalLB v0.16's pin).
//!
//! Loopback only, no root. Without Go (or the module proxy) the test skips, unless
//! `LB_LAB=required`, in which case it fails saying what is missing. The waits are generous
//! upper bounds, not measurements; the measured times are printed.

#![allow(clippy::unwrap_used, missing_docs)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use lb_lab::go::{self, GoPeer, PeerOptions, Profile, Release};
use lb_memberlist::driver::{Driver, DriverConfig, JoinRetry};
use lb_memberlist::{Config, Keyring, State, metallb_secret_key};
use tokio::runtime::Runtime;

/// The gossip port of every node, each on its own loopback address.
const PORT: u16 = 37946;
/// A Secret's `secretkey` as MetalLB's controller makes it: 16 random bytes (here
/// `a0 a1 .. af`), base64 without padding, 22 characters.
const SECRET: &str = "oKGio6SlpqeoqaqrrK2urw";
/// [`SECRET`] decoded: what a reader of the Secret might wrongly take as the AES key.
const SECRET_DECODED: [u8; 16] = [
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
];
/// Another cluster's secret.
const OTHER_SECRET: &str = "EBESExQVFhcYGRobHB0eHw";

/// LAN timings on both sides: probe every second, suspicion at least 4 s.
const LAN_DETECT: Duration = Duration::from_secs(30);
/// Joins and gossip reaching everyone.
const SPREAD: Duration = Duration::from_secs(10);
/// News of a member reaching a cluster of five. memberlist gossips a message a bounded
/// number of times (4 here: `RetransmitMult` x ceil(log10(n + 1))), each time to random
/// members, so a member may miss it now and then (CI saw it once; `tests/sim.rs`
/// `a_member_that_missed_the_gossip_learns_at_the_next_push_pull` counts how often); the next
/// push-pull (every 30 s in the LAN profile, ours and Go's) repairs that.
const CONVERGE: Duration = Duration::from_secs(45);
/// A graceful leave must be seen well before any failure detector could fire (LAN: the
/// first failed probe after up to 1 s, then at least 4 s of suspicion).
const LEAVE_SEEN: Duration = Duration::from_secs(3);

static NEXT_ADDR: AtomicU32 = AtomicU32::new(1);

/// A fresh loopback address `127.X.Y.Z` (X from the process id) for one node.
fn loopback() -> Ipv4Addr {
    let n = NEXT_ADDR.fetch_add(1, Ordering::Relaxed);
    let x = 100 + (std::process::id() % 128) as u8;
    Ipv4Addr::new(127, x, (n / 250) as u8, (n % 250 + 1) as u8)
}

/// Crash-detection figures collected by the scenarios, printed at the end.
static FIGURES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn figure(line: String) {
    eprintln!("{line}");
    FIGURES.lock().unwrap().push(line);
}

/// The Go peer binaries, built once.
fn peer_bin(release: Release) -> PathBuf {
    go::memberlist_peer_release(release).unwrap()
}

fn spawn_go(bin: &Path, opts: PeerOptions) -> GoPeer {
    GoPeer::spawn(bin, &opts).unwrap()
}

/// A Go peer `name` on a fresh address, with MetalLB's settings (LAN timings), keyed with
/// `secret` when given, joining `seed` when given (and waiting for that join to succeed).
fn go_peer(bin: &Path, name: &str, secret: Option<&str>, seed: Option<SocketAddr>) -> GoPeer {
    let mut o = PeerOptions::new(name, loopback().into(), PORT);
    if let Some(s) = secret {
        o = o.key(s);
    }
    if let Some(s) = seed {
        o = o.join(s);
    }
    let p = spawn_go(bin, o);
    if seed.is_some() {
        assert_eq!(
            p.wait_joined(SPREAD),
            Ok(1),
            "{name}: {}",
            p.stderr_tail(20)
        );
    }
    p
}

/// One of our nodes and its runtime.
struct Ours {
    rt: Runtime,
    node: Option<Driver>,
    addr: SocketAddr,
}

impl Ours {
    /// Our node `name`, configured as a MetalLB-compatible speaker: memberlist's default
    /// delegate versions, no metadata, MetalLB's key derivation for `secret`.
    fn start(name: &str, secret: Option<&str>, config: Config) -> Ours {
        Self::start_at(
            name,
            loopback(),
            secret.map(|s| metallb_secret_key(s.as_bytes()).to_vec()),
            config,
        )
    }

    /// Like [`Ours::start`] at `ip`, with `key` (raw AES key bytes) as given.
    fn start_at(name: &str, ip: Ipv4Addr, key: Option<Vec<u8>>, config: Config) -> Ours {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let addr = SocketAddr::from((ip, PORT));
        let mut o = DriverConfig::new(name, addr, config);
        o.keyring = key.map(|k| Keyring::new(&k).unwrap());
        o.join_retry = JoinRetry {
            attempts: 3,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_millis(500),
        };
        let node = rt.block_on(lb_memberlist::driver::spawn(o)).unwrap();
        Ours {
            rt,
            node: Some(node),
            addr,
        }
    }

    fn node(&self) -> &Driver {
        self.node.as_ref().unwrap()
    }

    fn name(&self) -> &str {
        self.node().name()
    }

    fn join(&self, seed: SocketAddr) -> Result<usize, lb_memberlist::Error> {
        self.rt.block_on(self.node().join(&[seed]))
    }

    /// Waits until `name` is in `state`; returns the instant it was seen.
    fn wait_state(&self, name: &str, state: State, timeout: Duration) -> Instant {
        let ok = self
            .rt
            .block_on(self.node().wait_state(name, state, timeout));
        let at = Instant::now();
        assert!(
            ok,
            "{} never saw {name} {state:?} within {timeout:?}: {:?}",
            self.name(),
            self.node().members()
        );
        at
    }

    /// Names of the members neither dead nor left (what MetalLB's `Members()` returns).
    fn live(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .node()
            .members()
            .into_iter()
            .filter(|m| matches!(m.state, State::Alive | State::Suspect))
            .map(|m| m.name)
            .collect();
        v.sort();
        v
    }

    fn wait_live(&self, names: &[&str], timeout: Duration) {
        let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        want.sort();
        let end = Instant::now() + timeout;
        while self.live() != want {
            assert!(
                Instant::now() < end,
                "{}: live members {:?}, want {want:?}; all: {:?}",
                self.name(),
                self.live(),
                self.node().members()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Memberlist's graceful leave (`Leave(1 s)`, as the speaker's `Stop`), then stop.
    fn leave(&mut self) {
        let node = self.node.take().unwrap();
        self.rt
            .block_on(node.leave(Duration::from_secs(1)))
            .unwrap();
        self.rt.block_on(node.shutdown());
    }

    /// A crash: stops without a word (sockets closed); returns the instant.
    fn kill(&mut self) -> Instant {
        if let Some(node) = self.node.take() {
            self.rt.block_on(node.shutdown());
        }
        Instant::now()
    }
}

/// Waits until Go peer `p` lists exactly `names` as members (itself included).
fn wait_go_members(p: &mut GoPeer, names: &[impl AsRef<str>], timeout: Duration) {
    let mut want: Vec<String> = names.iter().map(|s| s.as_ref().to_string()).collect();
    want.sort();
    let end = Instant::now() + timeout;
    loop {
        let got = p.member_names(Duration::from_secs(2));
        if got.as_ref() == Some(&want) {
            return;
        }
        assert!(
            Instant::now() < end,
            "{} lists {got:?}, want {want:?}\nstdout:\n{}\nlog:\n{}",
            p.name(),
            p.stdout_text(),
            p.stderr_tail(40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn go_event(p: &GoPeer, from: usize, kind: &str, node: &str, timeout: Duration) -> Instant {
    p.wait_event_since(from, kind, node, timeout)
        .unwrap_or_else(|| {
            panic!(
                "{} never reported event={kind} for {node} within {timeout:?}\nstdout:\n{}\nlog:\n{}",
                p.name(),
                p.stdout_text(),
                p.stderr_tail(40)
            )
        })
}

/// Join both ways: our node through a Go seed, then a Go peer through our node; each side
/// lists the other with the right address.
fn joins(bin: &Path, secret: Option<&str>, tag: &str) {
    // Ours joins Go.
    let mut g1 = go_peer(bin, &format!("{tag}-go-1"), secret, None);
    let ours = Ours::start(&format!("{tag}-rust-1"), secret, Config::lan());
    assert_eq!(ours.join(g1.addr()).unwrap(), 1);
    let at = go_event(&g1, 0, "join", ours.name(), SPREAD);
    let rec = g1
        .records()
        .into_iter()
        .find(|r| r.at == at && r.event() == Some(("join", ours.name())))
        .unwrap();
    assert_eq!(rec.socket_addr(), Some(ours.addr));
    ours.wait_state(g1.name(), State::Alive, SPREAD);
    assert_eq!(
        ours.node().member(g1.name()).unwrap().socket_addr(),
        Some(g1.addr())
    );
    let names = [g1.name().to_string(), ours.name().to_string()];
    wait_go_members(&mut g1, &names, SPREAD);

    // Go joins ours.
    let ours2 = Ours::start(&format!("{tag}-rust-2"), secret, Config::lan());
    let mut g2 = go_peer(bin, &format!("{tag}-go-2"), secret, Some(ours2.addr));
    ours2.wait_state(g2.name(), State::Alive, SPREAD);
    go_event(&g2, 0, "join", ours2.name(), SPREAD);
    let names = [g2.name().to_string(), ours2.name().to_string()];
    wait_go_members(&mut g2, &names, SPREAD);
    // No Go peer complained about what we sent.
    for g in [&g1, &g2] {
        let log = g.stderr_tail(400);
        assert!(!log.contains("[ERR]"), "{} logged errors:\n{log}", g.name());
    }
}

/// Crash detection both ways in a cluster of two Go peers and our node (serf_interop's
/// topology): a Go peer is SIGKILLed (our node and the other Go peer time their verdicts),
/// then our node stops without a leave (the Go peer times its verdict).
fn crashes(bin: &Path, config: Config, go_profile: Profile, tag: &str, release: Release) {
    let preset = if config == Config::lan() {
        "lan()"
    } else {
        "fast()"
    };
    let go_timings = match go_profile {
        Profile::Lan => "LAN",
        Profile::Wan => "WAN",
        Profile::Fast => "fast",
    };
    let start_go = |name: String, seed: Option<SocketAddr>| {
        let mut o = PeerOptions::new(&name, loopback().into(), PORT).profile(go_profile);
        if let Some(s) = seed {
            o = o.join(s);
        }
        let p = spawn_go(bin, o);
        if seed.is_some() {
            assert_eq!(
                p.wait_joined(SPREAD),
                Ok(1),
                "{name}: {}",
                p.stderr_tail(20)
            );
        }
        p
    };
    let g1 = start_go(format!("{tag}-go-1"), None);
    let mut g2 = start_go(format!("{tag}-go-2"), Some(g1.addr()));
    let rust = format!("{tag}-rust");
    let mut ours = Ours::start(&rust, None, config);
    assert_eq!(ours.join(g1.addr()).unwrap(), 1);
    for g in [&g1, &g2] {
        go_event(g, 0, "join", ours.name(), SPREAD);
    }
    ours.wait_live(&[g1.name(), g2.name(), ours.name()], SPREAD);

    let mark = g1.mark();
    let t = g2.kill();
    let ours_saw = ours.wait_state(g2.name(), State::Dead, LAN_DETECT) - t;
    let go_saw = go_event(&g1, mark, "leave", g2.name(), LAN_DETECT) - t;
    let mark = g1.mark();
    let t = ours.kill();
    let go_saw_ours = go_event(&g1, mark, "leave", &rust, LAN_DETECT) - t;
    assert!(
        g1.wait_event_since(mark, "failed", &rust, Duration::from_secs(1))
            .is_some(),
        "the Go peer did not log our node's failure:\n{}",
        g1.stdout_text()
    );
    figure(format!(
        "[{tag}] memberlist {}: killed Go peer declared dead by our node ({preset}) after \
         {ours_saw:.2?}, by the other Go peer ({go_timings}) after {go_saw:.2?}; our node \
         killed, declared dead by the Go peer ({go_timings}) after {go_saw_ours:.2?}",
        release.memberlist_version()
    ));
}

/// Graceful leaves both ways: a Go peer's `Leave(1 s)` is `Left` for us (not dead), promptly;
/// our leave is a leave for the Go peer, promptly and without it suspecting us first.
fn leaves(bin: &Path) {
    let mut g1 = go_peer(bin, "leave-go-1", Some(SECRET), None);
    let mut g2 = go_peer(bin, "leave-go-2", Some(SECRET), Some(g1.addr()));
    let mut ours = Ours::start("leave-rust", Some(SECRET), Config::lan());
    assert_eq!(ours.join(g1.addr()).unwrap(), 1);
    ours.wait_live(&["leave-go-1", "leave-go-2", "leave-rust"], SPREAD);
    wait_go_members(&mut g1, &["leave-go-1", "leave-go-2", "leave-rust"], SPREAD);

    let t = Instant::now();
    assert!(g2.leave(Duration::from_secs(5)), "{}", g2.stderr_tail(20));
    let seen = ours.wait_state("leave-go-2", State::Left, LEAVE_SEEN) - t;
    eprintln!("[leave] the Go peer's leave was Left for us after {seen:.2?}");

    let mark = g1.mark();
    let t = Instant::now();
    ours.leave();
    let seen = go_event(&g1, mark, "leave", "leave-rust", LEAVE_SEEN) - t;
    eprintln!("[leave] our leave reached the Go peer after {seen:.2?}");
    assert!(
        g1.wait_event_since(mark, "suspect", "leave-rust", Duration::ZERO)
            .is_none(),
        "the Go peer suspected us before our leave:\n{}",
        g1.stdout_text()
    );
    // It stays gone (a leave, not a failure being refuted), and nothing was logged as failed.
    std::thread::sleep(Duration::from_secs(2));
    wait_go_members(&mut g1, &["leave-go-1"], Duration::ZERO);
    assert!(
        g1.wait_event_since(mark, "failed", "leave-rust", Duration::ZERO)
            .is_none()
    );
}

/// Keys that are not MetalLB's derivation of the cluster's secret never get in, either way.
fn wrong_keys(bin: &Path) {
    let mut g1 = go_peer(bin, "key-go-1", Some(SECRET), None);
    let attempts: [(&str, Option<Vec<u8>>); 3] = [
        // Another cluster's secret, derived the right way.
        (
            "key-other",
            Some(metallb_secret_key(OTHER_SECRET.as_bytes()).to_vec()),
        ),
        // The right secret, base64-decoded and used as an AES-128 key: not MetalLB's way.
        ("key-decoded", Some(SECRET_DECODED.to_vec())),
        // No encryption at all (memberlist verifies incoming gossip is encrypted).
        ("key-none", None),
    ];
    let mut nodes = Vec::new();
    for (name, key) in attempts {
        let ours = Ours::start_at(name, loopback(), key, Config::lan());
        assert!(ours.join(g1.addr()).is_err(), "{name} got in");
        nodes.push(ours);
    }
    // A Go peer with another secret cannot join our (rightly keyed) node either.
    let ours = Ours::start("key-rust", Some(SECRET), Config::lan());
    let g2 = spawn_go(
        bin,
        PeerOptions::new("key-go-other", loopback().into(), PORT)
            .key(OTHER_SECRET)
            .join(ours.addr),
    );
    assert!(
        g2.wait_joined(SPREAD).is_err(),
        "the Go peer with another key joined us"
    );
    // Watch a while for unsolicited gossip letting anyone in.
    std::thread::sleep(Duration::from_secs(2));
    wait_go_members(&mut g1, &["key-go-1"], Duration::ZERO);
    assert!(ours.node().member("key-go-other").is_none());
    for n in &nodes {
        assert!(
            n.node().member("key-go-1").is_none(),
            "{} learnt of the Go peer",
            n.name()
        );
    }
    assert!(
        g1.stderr_tail(400).contains("decrypt") || g1.stderr_tail(400).contains("encrypt"),
        "the Go peer logged no decryption failure:\n{}",
        g1.stderr_tail(30)
    );
}

/// A mixed cluster, as in a rolling migration from MetalLB's speakers to ours: three Go peers
/// and two of our nodes, encrypted with MetalLB's key, LAN timings everywhere. A Go peer
/// crashes, then one of ours; both are declared dead by everyone; both come back under the
/// same name and address and are members again everywhere.
fn mixed(bin: &Path) {
    let s = Some(SECRET);
    let mut g1 = go_peer(bin, "mix-go-1", s, None);
    let mut g2 = go_peer(bin, "mix-go-2", s, Some(g1.addr()));
    let g3_ip = loopback();
    let g3_opts = PeerOptions::new("mix-go-3", g3_ip.into(), PORT)
        .key(SECRET)
        .join(g2.addr());
    let mut g3 = spawn_go(bin, g3_opts.clone());
    assert_eq!(g3.wait_joined(SPREAD), Ok(1));
    let r1_ip = loopback();
    let key = || Some(metallb_secret_key(SECRET.as_bytes()).to_vec());
    let mut r1 = Ours::start_at("mix-rust-1", r1_ip, key(), Config::lan());
    assert_eq!(r1.join(g2.addr()).unwrap(), 1);
    // Everyone knows our first node before the second joins, so that all five gossip the
    // newcomer to it (otherwise only the Go peers that already know it can).
    let four = ["mix-go-1", "mix-go-2", "mix-go-3", "mix-rust-1"];
    for g in [&mut g1, &mut g2, &mut g3] {
        wait_go_members(g, &four, CONVERGE);
    }
    // The second of ours is joined by a Go peer's seed list, as a speaker's periodic join does.
    let r2 = Ours::start("mix-rust-2", s, Config::lan());
    assert_eq!(g3.join(&[r2.addr], SPREAD), Ok(1));

    let all = [
        "mix-go-1",
        "mix-go-2",
        "mix-go-3",
        "mix-rust-1",
        "mix-rust-2",
    ];
    for g in [&mut g1, &mut g2, &mut g3] {
        wait_go_members(g, &all, CONVERGE);
    }
    for r in [&r1, &r2] {
        r.wait_live(&all, CONVERGE);
    }

    // A Go peer crashes: everyone declares it dead.
    let marks = [g1.mark(), g2.mark()];
    let t = g3.kill();
    let rust_saw = [
        r1.wait_state("mix-go-3", State::Dead, LAN_DETECT) - t,
        r2.wait_state("mix-go-3", State::Dead, LAN_DETECT) - t,
    ];
    let go_saw = [
        go_event(&g1, marks[0], "leave", "mix-go-3", LAN_DETECT) - t,
        go_event(&g2, marks[1], "leave", "mix-go-3", LAN_DETECT) - t,
    ];
    figure(format!(
        "[mixed] killed Go peer declared dead by our nodes after {:.2?} / {:.2?}, by the Go \
         peers after {:.2?} / {:.2?}",
        rust_saw[0], rust_saw[1], go_saw[0], go_saw[1]
    ));

    // One of ours crashes: everyone declares it dead.
    let marks = [g1.mark(), g2.mark()];
    let t = r1.kill();
    let go_saw = [
        go_event(&g1, marks[0], "leave", "mix-rust-1", LAN_DETECT) - t,
        go_event(&g2, marks[1], "leave", "mix-rust-1", LAN_DETECT) - t,
    ];
    let rust_saw = r2.wait_state("mix-rust-1", State::Dead, LAN_DETECT) - t;
    figure(format!(
        "[mixed] our killed node declared dead by the Go peers after {:.2?} / {:.2?}, by our \
         other node after {rust_saw:.2?}",
        go_saw[0], go_saw[1]
    ));
    let survivors = ["mix-go-1", "mix-go-2", "mix-rust-2"];
    for g in [&mut g1, &mut g2] {
        wait_go_members(g, &survivors, CONVERGE);
    }
    r2.wait_live(&survivors, CONVERGE);

    // Both come back, same names and addresses: ours through a Go seed, the Go peer through
    // our node.
    let marks = [g1.mark(), g2.mark()];
    let r1 = Ours::start_at("mix-rust-1", r1_ip, key(), Config::lan());
    assert_eq!(r1.join(g1.addr()).unwrap(), 1);
    go_event(&g1, marks[0], "join", "mix-rust-1", SPREAD);
    go_event(&g2, marks[1], "join", "mix-rust-1", CONVERGE);
    let mut g3 = spawn_go(bin, g3_opts.join(r2.addr));
    assert_eq!(g3.wait_joined(SPREAD).map(|n| n >= 1), Ok(true));
    for g in [&mut g1, &mut g2, &mut g3] {
        wait_go_members(g, &all, CONVERGE);
    }
    for r in [&r1, &r2] {
        r.wait_live(&all, CONVERGE);
    }
    // The restarted node refuted its recorded death with a newer incarnation.
    let me = r1.node().member("mix-rust-1").unwrap();
    assert!(me.incarnation > 1, "no refutation: {me:?}");
    // And it stays that way: nobody is suspected once the cluster has settled.
    std::thread::sleep(Duration::from_secs(3));
    for g in [&mut g1, &mut g2, &mut g3] {
        wait_go_members(g, &all, Duration::ZERO);
    }
    for r in [&r1, &r2] {
        assert_eq!(r.live(), all.map(str::to_string).to_vec());
        for m in r.node().members() {
            assert_eq!(m.state, State::Alive, "{}: {m:?}", r.name());
        }
    }
}

/// Memberlist v0.6.0 (MetalLB v0.16's pin): joins both ways, encrypted, and crashes both ways.
fn release_v016() {
    let bin = peer_bin(Release::V0_16);
    joins(&bin, Some(SECRET), "v016");
    crashes(
        &bin,
        Config::lan(),
        Profile::Lan,
        "v016-lan",
        Release::V0_16,
    );
}

/// A named scenario, run on its own thread.
type Scenario = (&'static str, Box<dyn FnOnce() + Send>);

#[test]
fn go_memberlist_interop() {
    let Some(bin) = go::memberlist_peer_or_skip() else {
        return;
    };
    // Build the v0.16 variant before the clocks start (it is used by one scenario).
    if let Err(why) = go::memberlist_peer_release(Release::V0_16) {
        lb_lab::skip_or_fail::<()>(&why);
        return;
    }
    // Every scenario runs on its own thread; the binary lives as long as the test.
    let bin: &'static Path = Box::leak(bin.into_boxed_path());
    let scenarios: Vec<Scenario> = vec![
        ("joins (plain)", Box::new(move || joins(bin, None, "join"))),
        (
            "joins (encrypted)",
            Box::new(move || joins(bin, Some(SECRET), "join-enc")),
        ),
        (
            "crashes (lan)",
            Box::new(move || {
                crashes(
                    bin,
                    Config::lan(),
                    Profile::Lan,
                    "crash-lan",
                    Release::V0_15,
                )
            }),
        ),
        (
            "crashes (ours fast, Go LAN)",
            Box::new(move || {
                crashes(
                    bin,
                    Config::fast(),
                    Profile::Lan,
                    "crash-fast",
                    Release::V0_15,
                )
            }),
        ),
        (
            "crashes (fast both)",
            Box::new(move || {
                crashes(
                    bin,
                    Config::fast(),
                    Profile::Fast,
                    "crash-fast2",
                    Release::V0_15,
                )
            }),
        ),
        ("leaves", Box::new(move || leaves(bin))),
        ("wrong keys", Box::new(move || wrong_keys(bin))),
        ("mixed cluster", Box::new(move || mixed(bin))),
        ("memberlist v0.6.0", Box::new(release_v016)),
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
    eprintln!("Go memberlist interop scenarios took {:?}", t.elapsed());
    eprintln!(
        "crash detection against memberlist (compare with the [fail] and [lan] lines of \
         serf_interop.rs, and lab/README.md):"
    );
    for line in FIGURES.lock().unwrap().iter() {
        eprintln!("  {line}");
    }
    assert!(failed.is_empty(), "failed scenarios: {failed:?}");
}
