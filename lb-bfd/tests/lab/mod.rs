//! A throw-away BFD lab of network namespaces with real BIRD 2 (`protocol bfd`) and FRR
//! (zebra + bfdd) daemons, for lb-bfd's interop tests.
//!
//! ```text
//!                          <prefix>-sw: bridge br0
//!        | p-router             | p-node                  | p-peer
//!      eth0 .1 / ::1          eth0 .11 / ::b            eth0 .2 / ::2
//!      <prefix>-router        <prefix>-node             <prefix>-peer
//!      (forwards)             (our driver)              (BIRD or FRR)
//!                             lo 198.51.100.11          lo 198.51.100.2
//!                                2001:db8:2::b             2001:db8:2::2
//! ```
//!
//! Single-hop sessions run between the LAN addresses (192.0.2.0/24, 2001:db8:1::/64);
//! multihop sessions between the loopback addresses, routed through `router`, so their packets
//! arrive with TTL 254. Documentation ranges only; nothing is attached to the root namespace.
//! Teardown (processes, namespaces, directory) is `lb-lab`'s, on drop, also on panic.
#![allow(dead_code, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lb_bfd::driver::{Bfd, DriverConfig};
use lb_lab::{run, run_ok};

pub const HOSTS: [&str; 3] = ["router", "node", "peer"];

/// LAN address of `host`.
pub fn lan(host: &str, v6: bool) -> IpAddr {
    let i = match host {
        "router" => 1,
        "node" => 11,
        "peer" => 2,
        h => panic!("unknown host {h}"),
    };
    if v6 {
        format!("2001:db8:1::{i:x}").parse().unwrap()
    } else {
        format!("192.0.2.{i}").parse().unwrap()
    }
}

/// Loopback (multihop) address of `node` or `peer`.
pub fn loopback(host: &str, v6: bool) -> IpAddr {
    let i = match host {
        "node" => 11,
        "peer" => 2,
        h => panic!("no loopback on {h}"),
    };
    if v6 {
        format!("2001:db8:2::{i:x}").parse().unwrap()
    } else {
        format!("198.51.100.{i}").parse().unwrap()
    }
}

/// The address `host` uses for a session of this kind.
pub fn addr(host: &str, v6: bool, multihop: bool) -> IpAddr {
    if multihop {
        loopback(host, v6)
    } else {
        lan(host, v6)
    }
}

/// Polls `f` until it returns true or `timeout` passes.
pub fn wait_for(timeout: Duration, f: impl FnMut() -> bool) -> bool {
    lb_lab::poll_until(timeout, Duration::from_millis(20), f)
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct Lab {
    net: lb_lab::Namespaces,
    pub dir: PathBuf,
    capture: Option<Child>,
}

impl Lab {
    /// Builds the lab, or `None` (skip) / panic (`LB_LAB=required`) when it cannot be built.
    pub fn up(tag: &str, tools: &[&str]) -> Option<Lab> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("lbf{}{tag}{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("{prefix}-lab"));
        let net = match lb_lab::Namespaces::create(prefix, &HOSTS, tools) {
            Ok(net) => net,
            Err(why) => return lb_lab::skip_or_fail(&why),
        };
        let lab = Lab {
            net,
            dir,
            capture: None,
        };
        std::fs::create_dir_all(&lab.dir).unwrap();
        run_ok(&["chmod", "0755", lab.dir.to_str().unwrap()]);
        lab.build();
        Some(lab)
    }

    pub fn ns(&self, host: &str) -> String {
        self.net.ns(host)
    }

    pub fn netns_path(&self, host: &str) -> String {
        self.net.netns_path(host)
    }

    fn ip(&self, host: &str, args: &[&str]) {
        let ns = self.ns(host);
        let mut full = vec!["ip", "-n", ns.as_str()];
        full.extend_from_slice(args);
        run_ok(&full);
    }

    fn build(&self) {
        self.net.switch();
        for (i, host) in HOSTS.iter().enumerate() {
            let mac = format!("02:00:00:00:02:{:02x}", i + 1);
            self.net.add_host(
                host,
                &mac,
                &format!("{}/24", lan(host, false)),
                &format!("{}/64", lan(host, true)),
            );
        }
        run_ok(&[
            "ip",
            "netns",
            "exec",
            &self.ns("router"),
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
            "net.ipv4.conf.all.send_redirects=0",
            "net.ipv4.conf.eth0.send_redirects=0",
        ]);
        for (host, other) in [("node", "peer"), ("peer", "node")] {
            for v6 in [false, true] {
                let len = if v6 { 128 } else { 32 };
                let fam = if v6 { "-6" } else { "-4" };
                self.ip(
                    host,
                    &[
                        "addr",
                        "add",
                        &format!("{}/{len}", loopback(host, v6)),
                        "dev",
                        "lo",
                    ],
                );
                self.ip(
                    host,
                    &[
                        fam,
                        "route",
                        "add",
                        &loopback(other, v6).to_string(),
                        "via",
                        &lan("router", v6).to_string(),
                    ],
                );
                self.ip(
                    "router",
                    &[
                        fam,
                        "route",
                        "add",
                        &loopback(host, v6).to_string(),
                        "via",
                        &lan(host, v6).to_string(),
                    ],
                );
            }
        }
    }

    /// Spawns `args` in `host`'s namespace, output to `log`.
    pub fn spawn(&self, host: &str, args: &[&str], log: &Path) -> Child {
        use std::os::unix::process::CommandExt;
        let file = std::fs::File::create(log).unwrap();
        let err = file.try_clone().unwrap();
        Command::new("ip")
            .args(["netns", "exec", &self.ns(host)])
            .args(args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {args:?}: {e}"))
    }

    /// With `LB_BFD_CAPTURE=<dir>`, records every BFD packet on the peer's eth0 to
    /// `<dir>/<name>.pcap` (how the fixtures in `tests/fixtures.rs` were taken).
    pub fn maybe_capture(&mut self, name: &str) {
        let Ok(dir) = std::env::var("LB_BFD_CAPTURE") else {
            return;
        };
        let file = format!("{dir}/{name}.pcap");
        let log = self.dir.join("tcpdump.log");
        let child = self.spawn(
            "peer",
            &[
                "tcpdump", "-i", "eth0", "-U", "-w", &file, "udp", "port", "3784", "or", "udp",
                "port", "4784",
            ],
            &log,
        );
        self.capture = Some(child);
        std::thread::sleep(Duration::from_millis(500));
    }

    /// Blocks all traffic into and out of `host`'s eth0 (a frozen link, not a closed one).
    pub fn cut(&self, host: &str) {
        self.ip(host, &["link", "set", "eth0", "down"]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.capture.take() {
            let _ = run(&["kill", "-INT", &c.id().to_string()]);
            let _ = c.wait();
        }
        self.net.teardown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Our driver, running on a thread inside `node`'s namespace with its own runtime. The
/// handle is usable from the test thread; `block_on` runs its async calls there.
pub struct Ours {
    pub bfd: Bfd,
    rt: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ours {
    pub fn start(lab: &Lab) -> Ours {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let path = lab.netns_path("node");
        let thread = std::thread::spawn(move || {
            lb_lab::net::enter_netns(&path);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let bfd = lb_bfd::driver::spawn(DriverConfig::default())
                    .await
                    .unwrap();
                tx.send(bfd.clone()).unwrap();
                let _ = stopped.await;
                bfd.shutdown().await;
            });
        });
        let bfd = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Ours {
            bfd,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bird,
    Frr,
}

impl Kind {
    pub fn tools(self) -> &'static [&'static str] {
        match self {
            Kind::Bird => &["bird", "birdc"],
            Kind::Frr => &["vtysh", "/usr/lib/frr/bfdd", "/usr/lib/frr/zebra"],
        }
    }
}

/// One BFD neighbour of a daemon.
#[derive(Debug, Clone)]
pub struct Neighbor {
    pub addr: IpAddr,
    pub local: IpAddr,
    pub multihop: bool,
    pub tx_ms: u32,
    pub rx_ms: u32,
    pub mult: u8,
    /// BIRD only: (authentication keyword, password).
    pub auth: Option<(&'static str, &'static str)>,
    pub passive: bool,
}

/// What a daemon says of a session: BIRD shows its negotiated interval and timeout, FRR the
/// remote's advertised numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonView {
    pub state: String,
    pub tx_interval: Option<Duration>,
    pub detection_time: Option<Duration>,
    pub remote_tx: Option<Duration>,
    pub remote_rx: Option<Duration>,
    pub remote_mult: Option<u64>,
}

pub struct Daemon {
    pub kind: Kind,
    dir: PathBuf,
    children: Vec<Child>,
}

impl Daemon {
    pub fn start(lab: &Lab, kind: Kind, neighbors: &[Neighbor]) -> Daemon {
        let dir = lab.dir.join(format!("{kind:?}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut d = Daemon {
            kind,
            dir,
            children: Vec::new(),
        };
        d.write_config(neighbors);
        d.spawn(lab);
        d
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    /// BIRD with a config of the caller's.
    pub fn start_bird(lab: &Lab, name: &str, config: &str) -> Daemon {
        let dir = lab.dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bird.conf"), config).unwrap();
        let mut d = Daemon {
            kind: Kind::Bird,
            dir,
            children: Vec::new(),
        };
        d.spawn(lab);
        d
    }

    fn write_config(&self, neighbors: &[Neighbor]) {
        let mut s = String::new();
        match self.kind {
            Kind::Bird => {
                writeln!(s, "log stderr all;\nrouter id 192.0.2.2;").unwrap();
                writeln!(s, "protocol device {{ scan time 10; }}").unwrap();
                // One bfd protocol (several would share the port and steal each other's
                // packets); options per kind (interface or multihop) from its first neighbour.
                let opts = |n: &Neighbor| {
                    let mut o = format!(
                        "min rx interval {} ms; min tx interval {} ms; idle tx interval 1000 ms; multiplier {};",
                        n.rx_ms, n.tx_ms, n.mult
                    );
                    if n.passive {
                        o.push_str(" passive yes;");
                    }
                    if let Some((kind, pw)) = n.auth {
                        write!(o, " authentication {kind}; password \"{pw}\" {{ id 1; }};")
                            .unwrap();
                    }
                    o
                };
                writeln!(s, "protocol bfd {{").unwrap();
                if let Some(n) = neighbors.iter().find(|n| !n.multihop) {
                    writeln!(s, "  interface \"eth0\" {{ {} }};", opts(n)).unwrap();
                }
                if let Some(n) = neighbors.iter().find(|n| n.multihop) {
                    writeln!(s, "  multihop {{ {} }};", opts(n)).unwrap();
                }
                for n in neighbors {
                    if n.multihop {
                        writeln!(s, "  neighbor {} local {} multihop yes;", n.addr, n.local)
                            .unwrap();
                    } else {
                        writeln!(s, "  neighbor {} dev \"eth0\" local {};", n.addr, n.local)
                            .unwrap();
                    }
                }
                writeln!(s, "}}").unwrap();
                std::fs::write(self.dir.join("bird.conf"), s).unwrap();
            }
            Kind::Frr => {
                std::fs::write(
                    self.dir.join("zebra.conf"),
                    "hostname peer\nlog stdout informational\n",
                )
                .unwrap();
                writeln!(s, "hostname peer\nlog stdout informational\nbfd").unwrap();
                for n in neighbors {
                    if n.multihop {
                        writeln!(s, " peer {} multihop local-address {}", n.addr, n.local).unwrap();
                        writeln!(s, "  minimum-ttl 254").unwrap();
                    } else {
                        writeln!(
                            s,
                            " peer {} local-address {} interface eth0",
                            n.addr, n.local
                        )
                        .unwrap();
                    }
                    writeln!(s, "  receive-interval {}", n.rx_ms).unwrap();
                    writeln!(s, "  transmit-interval {}", n.tx_ms).unwrap();
                    writeln!(s, "  detect-multiplier {}", n.mult).unwrap();
                    if n.passive {
                        writeln!(s, "  passive-mode").unwrap();
                    }
                    writeln!(s, " !").unwrap();
                }
                writeln!(s, "!").unwrap();
                std::fs::write(self.dir.join("bfdd.conf"), s).unwrap();
                run_ok(&["chown", "-R", "frr:frr", self.dir.to_str().unwrap()]);
            }
        }
    }

    fn spawn(&mut self, lab: &Lab) {
        match self.kind {
            Kind::Bird => {
                let conf = self.path("bird.conf");
                let out = run(&["bird", "-p", "-c", &conf]);
                assert!(
                    out.status.success(),
                    "bird rejects {conf}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let ctl = self.path("bird.ctl");
                let c = lab.spawn(
                    "peer",
                    &["bird", "-f", "-c", &conf, "-s", &ctl],
                    &self.dir.join("bird.log"),
                );
                self.children.push(c);
            }
            Kind::Frr => {
                let zserv = self.path("zserv.api");
                let vty = self.path("");
                let zebra = lab.spawn(
                    "peer",
                    &[
                        "/usr/lib/frr/zebra",
                        "-f",
                        &self.path("zebra.conf"),
                        "-i",
                        &self.path("zebra.pid"),
                        "-z",
                        &zserv,
                        "--vty_socket",
                        &vty,
                        "-P",
                        "0",
                    ],
                    &self.dir.join("zebra.log"),
                );
                self.children.push(zebra);
                assert!(
                    wait_for(Duration::from_secs(10), || Path::new(&zserv).exists()),
                    "zebra did not come up"
                );
                let bfdd = lab.spawn(
                    "peer",
                    &[
                        "/usr/lib/frr/bfdd",
                        "-z",
                        &zserv,
                        "-f",
                        &self.path("bfdd.conf"),
                        "-i",
                        &self.path("bfdd.pid"),
                        "--vty_socket",
                        &vty,
                        "-P",
                        "0",
                        "--bfdctl",
                        &self.path("bfdd.sock"),
                    ],
                    &self.dir.join("bfdd.log"),
                );
                self.children.push(bfdd);
            }
        }
        let up = wait_for(Duration::from_secs(15), || match self.kind {
            Kind::Bird => self.birdc(&["show", "status"]).contains("Daemon is up"),
            Kind::Frr => self.vtysh("show bfd peers").contains("peer"),
        });
        assert!(
            up,
            "{:?} did not come up; see {}",
            self.kind,
            self.dir.display()
        );
    }

    pub fn birdc(&self, args: &[&str]) -> String {
        let ctl = self.path("bird.ctl");
        let mut full = vec!["birdc", "-s", ctl.as_str()];
        full.extend_from_slice(args);
        String::from_utf8_lossy(&run(&full).stdout).into_owned()
    }

    pub fn vtysh(&self, cmd: &str) -> String {
        let vty = self.path("");
        String::from_utf8_lossy(&run(&["vtysh", "--vty_socket", &vty, "-c", cmd]).stdout)
            .into_owned()
    }

    /// The daemon's view of its session with `peer`.
    pub fn session(&self, peer: IpAddr) -> Option<DaemonView> {
        match self.kind {
            Kind::Bird => {
                // IP address  Interface  State  Since  Interval  Timeout
                let out = self.birdc(&["show", "bfd", "sessions"]);
                let line = out
                    .lines()
                    .find(|l| l.split_whitespace().next() == Some(&peer.to_string()))?;
                let w: Vec<&str> = line.split_whitespace().collect();
                let n = w.len();
                let secs = |s: &str| s.parse::<f64>().ok().map(Duration::from_secs_f64);
                let state = w
                    .iter()
                    .find(|x| matches!(**x, "Up" | "Down" | "Init" | "AdminDown"))?;
                Some(DaemonView {
                    state: state.to_lowercase(),
                    tx_interval: secs(w[n - 2]),
                    detection_time: secs(w[n - 1]),
                    ..DaemonView::default()
                })
            }
            Kind::Frr => {
                let out = self.vtysh("show bfd peers json");
                let v: serde_json::Value = serde_json::from_str(&out).ok()?;
                let p = v
                    .as_array()?
                    .iter()
                    .find(|p| p.get("peer").and_then(|x| x.as_str()) == Some(&peer.to_string()))?;
                let ms = |k: &str| p.get(k).and_then(|x| x.as_u64()).map(Duration::from_millis);
                Some(DaemonView {
                    state: p.get("status")?.as_str()?.to_lowercase(),
                    remote_tx: ms("remote-transmit-interval"),
                    remote_rx: ms("remote-receive-interval"),
                    remote_mult: p.get("remote-detect-multiplier").and_then(|x| x.as_u64()),
                    ..DaemonView::default()
                })
            }
        }
    }

    /// The pid of the BFD process.
    pub fn pid(&self) -> u32 {
        self.children.last().map(Child::id).expect("running")
    }

    pub fn freeze(&self) {
        run_ok(&["kill", "-STOP", &self.pid().to_string()]);
    }

    pub fn thaw(&self) {
        run_ok(&["kill", "-CONT", &self.pid().to_string()]);
    }

    pub fn log(&self) -> String {
        let name = match self.kind {
            Kind::Bird => "bird.log",
            Kind::Frr => "bfdd.log",
        };
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        for mut c in self.children.drain(..).rev() {
            let pid = c.id();
            let _ = run(&["kill", "-CONT", &pid.to_string()]);
            let _ = c.kill();
            let _ = c.wait();
            if self.kind == Kind::Frr {
                for d in ["zebra", "bfdd"] {
                    let _ = std::fs::remove_dir_all(format!("/var/tmp/frr/{d}.{pid}"));
                }
            }
        }
    }
}
