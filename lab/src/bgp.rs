//! The BGP lab (feature `bgp`): a throw-away network built from Linux network namespaces, with
//! real BIRD 2, FRR (zebra + bgpd) and GoBGP daemons, for lb-bgp's interop tests and the
//! `bgp_lab` bench.
//!
//! ```text
//!                         <prefix>-sw: bridge br0
//!       | p-router         | p-client          | p-node1           | p-node2
//!     eth0 .1 / ::1      eth0 .10 / ::a      eth0 .11 / ::b      eth0 .12 / ::c
//!     <prefix>-router    <prefix>-client     <prefix>-node1      <prefix>-node2
//!     (a daemon)         (reaches VIPs       (our speaker or     (our speaker or
//!                         via the router)     a daemon)           a daemon)
//! ```
//!
//! LAN 192.0.2.0/24 and 2001:db8:1::/64 (documentation ranges). Nothing is attached to the root
//! namespace, so no packet can leave the lab. Each daemon gets its config, control socket and
//! log in the lab's own directory under the system temp dir. [`Lab`]'s `Drop` kills every
//! process left in its namespaces, deletes them and removes the directory, also when a test
//! panics; a [`Daemon`]'s `Drop` stops its processes first.
//!
//! Needs root, `ip` and the daemons' binaries. Without them a test skips with a message, unless
//! `LB_LAB=required`, in which case it fails. The mechanics (commands, namespaces, bridge and
//! veths, teardown) are the crate root's; this module holds the topology and the daemons.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::{run, run_ok};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ipnet::IpNet;

/// The hosts of every lab.
pub const HOSTS: [&str; 4] = ["router", "client", "node1", "node2"];

/// The last octet (IPv4) and last group (IPv6) of `host`'s LAN address.
pub fn host_index(host: &str) -> u8 {
    match host {
        "router" => 1,
        "client" => 10,
        "node1" => 11,
        "node2" => 12,
        other => panic!("unknown lab host {other}"),
    }
}
/// `host`'s IPv4 LAN address.
pub fn ip4(host: &str) -> IpAddr {
    format!("192.0.2.{}", host_index(host)).parse().unwrap()
}
/// `host`'s IPv6 LAN address.
pub fn ip6(host: &str) -> IpAddr {
    format!("2001:db8:1::{:x}", host_index(host))
        .parse()
        .unwrap()
}
/// `host`'s LAN address of the family of `v6`.
pub fn ip(host: &str, v6: bool) -> IpAddr {
    if v6 { ip6(host) } else { ip4(host) }
}
fn mac(host: &str) -> String {
    format!("02:00:00:00:01:{:02x}", host_index(host))
}

/// Polls `f` every 50 ms until it returns true or `timeout` passes.
pub fn wait_for(timeout: Duration, f: impl FnMut() -> bool) -> bool {
    crate::poll_until(timeout, Duration::from_millis(50), f)
}

/// Like [`wait_for`], but panics with `what` (and the last value seen) on timeout.
pub fn wait_until<T: std::fmt::Debug>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> T,
    mut done: impl FnMut(&T) -> bool,
) -> T {
    let end = Instant::now() + timeout;
    loop {
        let v = probe();
        if done(&v) {
            return v;
        }
        if Instant::now() > end {
            panic!("timed out after {timeout:?} waiting for {what}; last seen: {v:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A lab of five namespaces (switch, router, client, node1, node2) and a state directory;
/// deleted on drop.
pub struct Lab {
    /// The namespaces (prefix unique per process and test).
    net: crate::Namespaces,
    /// Directory for configs, sockets and logs.
    pub dir: PathBuf,
}

impl Lab {
    /// Builds the lab, or returns `None` (after printing why) when this machine cannot, which is
    /// a test failure when `LB_LAB=required`. `tag` names the test (short, unique among
    /// concurrent tests of one process; a counter is appended anyway); `tools` are binaries the
    /// test needs besides `ip`.
    pub fn up(tag: &str, tools: &[&str]) -> Option<Lab> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("lbg{}{tag}{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("{prefix}-lab"));
        let net = match crate::Namespaces::create(prefix, &HOSTS, tools) {
            Ok(net) => net,
            Err(why) => return crate::skip_or_fail(&why),
        };
        let lab = Lab { net, dir };
        std::fs::create_dir_all(&lab.dir).unwrap();
        // FRR drops to its own user: it must be able to reach its directory.
        run_ok(&["chmod", "0755", lab.dir.to_str().unwrap()]);
        lab.build();
        Some(lab)
    }

    /// The prefix of every namespace name: unique per process and test.
    pub fn prefix(&self) -> &str {
        self.net.prefix()
    }

    /// The namespace name of `host`.
    pub fn ns(&self, host: &str) -> String {
        self.net.ns(host)
    }

    /// The namespace file of `host` (for `setns`).
    pub fn netns_path(&self, host: &str) -> String {
        self.net.netns_path(host)
    }

    fn build(&self) {
        self.net.switch();
        for host in HOSTS {
            let a4 = format!("{}/24", ip4(host));
            let a6 = format!("{}/64", ip6(host));
            self.net.add_host(host, &mac(host), &a4, &a6);
        }
        let router = self.ns("router");
        run_ok(&[
            "ip",
            "netns",
            "exec",
            &router,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
            "net.ipv4.conf.all.send_redirects=0",
            "net.ipv4.conf.eth0.send_redirects=0",
            "net.ipv4.fib_multipath_hash_policy=1",
            "net.ipv6.fib_multipath_hash_policy=1",
        ]);
        // The client reaches the VIP ranges through the router.
        let client = self.ns("client");
        run_ok(&[
            "ip",
            "-n",
            &client,
            "route",
            "add",
            "198.51.100.0/24",
            "via",
            "192.0.2.1",
        ]);
        run_ok(&[
            "ip",
            "-n",
            &client,
            "-6",
            "route",
            "add",
            "2001:db8:100::/48",
            "via",
            "2001:db8:1::1",
        ]);
    }

    /// Runs a command in `host`'s namespace.
    pub fn exec(&self, host: &str, args: &[&str]) -> Output {
        self.net.exec(host, args)
    }

    /// Makes `host` accept traffic to `vip` (an address on its `lo`).
    pub fn add_vip(&self, host: &str, vip: IpAddr) {
        let len = if vip.is_ipv6() { 128 } else { 32 };
        run_ok(&[
            "ip",
            "-n",
            &self.ns(host),
            "addr",
            "add",
            &format!("{vip}/{len}"),
            "dev",
            "lo",
        ]);
    }

    /// The kernel route of `host` for `dest` (`ip route show`), as text.
    pub fn kernel_route(&self, host: &str, dest: IpAddr) -> String {
        let fam = if dest.is_ipv6() { "-6" } else { "-4" };
        let out = run(&[
            "ip",
            "-n",
            &self.ns(host),
            fam,
            "route",
            "show",
            &dest.to_string(),
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A directory of its own for `name` inside the lab's directory.
    pub fn subdir(&self, name: &str) -> PathBuf {
        let d = self.dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Spawns `args` inside `host`'s namespace with output to `log`.
    pub fn spawn(&self, host: &str, args: &[&str], log: &Path) -> Child {
        use std::os::unix::process::CommandExt;
        let file = std::fs::File::create(log).unwrap();
        let err = file.try_clone().unwrap();
        // `ip netns exec` execs the program: the child's pid is the daemon's.
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
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Processes and namespaces first, then the directory they wrote into.
        self.net.teardown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ------------------------------------------------------------------------------- daemons

/// Which daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// BIRD 2 (`bird`, `birdc`).
    Bird,
    /// FRR: zebra and bgpd (`vtysh`).
    Frr,
    /// GoBGP (`gobgpd`, `gobgp`).
    Gobgp,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 3] = [Kind::Bird, Kind::Frr, Kind::Gobgp];

    /// The binaries this kind needs.
    pub fn tools(self) -> &'static [&'static str] {
        match self {
            Kind::Bird => &["bird", "birdc"],
            Kind::Frr => &["vtysh", "/usr/lib/frr/bgpd", "/usr/lib/frr/zebra"],
            Kind::Gobgp => &["gobgpd", "gobgp"],
        }
    }

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bird => "bird",
            Kind::Frr => "frr",
            Kind::Gobgp => "gobgp",
        }
    }
}

/// One neighbor of a daemon.
#[derive(Debug, Clone)]
pub struct Neighbor {
    /// Its address.
    pub addr: IpAddr,
    /// Its AS.
    pub asn: u32,
    /// Its TCP port (where the daemon connects to).
    pub port: u16,
    /// The daemon only listens for this neighbor.
    pub passive: bool,
    /// TCP MD5 password.
    pub password: Option<String>,
}

impl Neighbor {
    /// A neighbor at `addr` in `asn`, port 179, active, no password.
    pub fn new(addr: IpAddr, asn: u32) -> Neighbor {
        Neighbor {
            addr,
            asn,
            port: 179,
            passive: false,
            password: None,
        }
    }
    /// The daemon waits for this neighbor to connect.
    pub fn passive(mut self) -> Neighbor {
        self.passive = true;
        self
    }
    /// With a TCP MD5 password.
    pub fn password(mut self, p: &str) -> Neighbor {
        self.password = Some(p.to_string());
        self
    }
}

/// A daemon's settings.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Which daemon.
    pub kind: Kind,
    /// The lab host it runs on.
    pub host: String,
    /// Its AS.
    pub asn: u32,
    /// Its neighbors.
    pub neighbors: Vec<Neighbor>,
    /// Hold time it proposes (keepalive = hold / 3).
    pub hold: u16,
    /// Install BGP routes into the host's kernel (BIRD: kernel protocol with `merge paths`;
    /// FRR: through zebra).
    pub kernel: bool,
}

impl DaemonConfig {
    /// `kind` on `host` in `asn`, hold time 9 s, no neighbors.
    pub fn new(kind: Kind, host: &str, asn: u32) -> DaemonConfig {
        DaemonConfig {
            kind,
            host: host.to_string(),
            asn,
            neighbors: Vec::new(),
            hold: 9,
            kernel: false,
        }
    }
    /// Adds a neighbor.
    pub fn neighbor(mut self, n: Neighbor) -> DaemonConfig {
        self.neighbors.push(n);
        self
    }
}

/// One route of a daemon's RIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The prefix.
    pub prefix: IpNet,
    /// The BGP next hop (the global one for IPv6).
    pub next_hop: Option<IpAddr>,
    /// COMMUNITIES, as (AS, value).
    pub communities: Vec<(u16, u16)>,
    /// LARGE_COMMUNITY values.
    pub large_communities: Vec<(u32, u32, u32)>,
    /// LOCAL_PREF, when the daemon shows one (iBGP).
    pub local_pref: Option<u32>,
    /// The neighbor it came from (as the daemon names it), if shown.
    pub from: Option<String>,
}

/// A running daemon. Dropping it kills its processes.
pub struct Daemon {
    /// Its settings.
    pub config: DaemonConfig,
    /// Its directory (config, sockets, logs).
    pub dir: PathBuf,
    ns: String,
    children: Vec<Child>,
}

fn bird_proto(addr: IpAddr) -> String {
    let s: String = addr
        .to_string()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("p_{s}")
}

fn local_addr(host: &str, peer: IpAddr) -> IpAddr {
    ip(host, peer.is_ipv6())
}

impl Daemon {
    /// Writes the config and starts the daemon in its host's namespace; returns once its
    /// control socket answers.
    pub fn start(lab: &Lab, config: DaemonConfig) -> Daemon {
        let dir = lab.subdir(&format!("{}-{}", config.kind.name(), config.host));
        let mut d = Daemon {
            ns: lab.ns(&config.host),
            config,
            dir,
            children: Vec::new(),
        };
        d.write_config();
        d.spawn(lab);
        d
    }

    fn write_config(&self) {
        let c = &self.config;
        let rid = ip4(&c.host);
        let hold = c.hold;
        let keep = (hold / 3).max(1);
        let mut s = String::new();
        match c.kind {
            Kind::Bird => {
                writeln!(s, "log stderr all;\nrouter id {rid};").unwrap();
                writeln!(s, "protocol device {{ scan time 10; }}").unwrap();
                if c.kernel {
                    for v in ["4", "6"] {
                        writeln!(
                            s,
                            "protocol kernel k{v} {{ ipv{v} {{ import none; export where source = RTS_BGP; }}; merge paths on; }}"
                        )
                        .unwrap();
                    }
                }
                for n in &c.neighbors {
                    let af = if n.addr.is_ipv6() { "ipv6" } else { "ipv4" };
                    writeln!(s, "protocol bgp {} {{", bird_proto(n.addr)).unwrap();
                    writeln!(s, "  local {} as {};", local_addr(&c.host, n.addr), c.asn).unwrap();
                    writeln!(s, "  neighbor {} port {} as {};", n.addr, n.port, n.asn).unwrap();
                    writeln!(
                        s,
                        "  hold time {hold}; keepalive time {keep}; connect delay time 1; connect retry time 1; error wait time 1, 4;"
                    )
                    .unwrap();
                    // Every neighbor is on the LAN (iBGP would default to multihop).
                    writeln!(s, "  direct;").unwrap();
                    if n.passive {
                        writeln!(s, "  passive on;").unwrap();
                    }
                    if let Some(p) = &n.password {
                        writeln!(s, "  password \"{p}\";").unwrap();
                    }
                    writeln!(
                        s,
                        "  {af} {{ import all; export none; gateway direct; }};\n}}"
                    )
                    .unwrap();
                }
                std::fs::write(self.dir.join("bird.conf"), s).unwrap();
            }
            Kind::Frr => {
                std::fs::write(
                    self.dir.join("zebra.conf"),
                    format!("hostname {}\nlog stdout informational\n", c.host),
                )
                .unwrap();
                writeln!(s, "frr defaults traditional\nhostname {}", c.host).unwrap();
                writeln!(s, "log stdout informational\nrouter bgp {}", c.asn).unwrap();
                writeln!(s, " bgp router-id {rid}").unwrap();
                writeln!(s, " bgp log-neighbor-changes").unwrap();
                writeln!(s, " no bgp ebgp-requires-policy").unwrap();
                writeln!(s, " no bgp network import-check").unwrap();
                writeln!(s, " no bgp default ipv4-unicast").unwrap();
                writeln!(s, " bgp bestpath as-path multipath-relax").unwrap();
                writeln!(s, " timers bgp {keep} {hold}").unwrap();
                for n in &c.neighbors {
                    writeln!(s, " neighbor {} remote-as {}", n.addr, n.asn).unwrap();
                    writeln!(s, " neighbor {} port {}", n.addr, n.port).unwrap();
                    writeln!(s, " neighbor {} timers connect 1", n.addr).unwrap();
                    writeln!(s, " neighbor {} advertisement-interval 0", n.addr).unwrap();
                    if n.passive {
                        writeln!(s, " neighbor {} passive", n.addr).unwrap();
                    }
                    if let Some(p) = &n.password {
                        writeln!(s, " neighbor {} password {p}", n.addr).unwrap();
                    }
                }
                for v6 in [false, true] {
                    writeln!(
                        s,
                        " address-family ipv{} unicast\n  maximum-paths 16\n  maximum-paths ibgp 16",
                        if v6 { 6 } else { 4 }
                    )
                    .unwrap();
                    for n in c.neighbors.iter().filter(|n| n.addr.is_ipv6() == v6) {
                        writeln!(s, "  neighbor {} activate", n.addr).unwrap();
                    }
                    writeln!(s, " exit-address-family").unwrap();
                }
                std::fs::write(self.dir.join("bgpd.conf"), s).unwrap();
                run_ok(&["chown", "-R", "frr:frr", self.dir.to_str().unwrap()]);
            }
            Kind::Gobgp => {
                writeln!(
                    s,
                    "[global.config]\n  as = {}\n  router-id = \"{rid}\"\n  port = 179",
                    c.asn
                )
                .unwrap();
                writeln!(
                    s,
                    "  local-address-list = [\"{}\", \"{}\"]",
                    ip4(&c.host),
                    ip6(&c.host)
                )
                .unwrap();
                for n in &c.neighbors {
                    writeln!(
                        s,
                        "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}",
                        n.addr, n.asn
                    )
                    .unwrap();
                    if let Some(p) = &n.password {
                        writeln!(s, "    auth-password = \"{p}\"").unwrap();
                    }
                    writeln!(
                        s,
                        "  [neighbors.timers.config]\n    connect-retry = 1\n    hold-time = {hold}\n    keepalive-interval = {keep}"
                    )
                    .unwrap();
                    writeln!(
                        s,
                        "  [neighbors.transport.config]\n    local-address = \"{}\"\n    remote-port = {}",
                        local_addr(&c.host, n.addr),
                        n.port
                    )
                    .unwrap();
                    if n.passive {
                        writeln!(s, "    passive-mode = true").unwrap();
                    }
                    writeln!(
                        s,
                        "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv{}-unicast\"",
                        if n.addr.is_ipv6() { 6 } else { 4 }
                    )
                    .unwrap();
                }
                std::fs::write(self.dir.join("gobgpd.toml"), s).unwrap();
            }
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    fn spawn(&mut self, lab: &Lab) {
        let host = self.config.host.clone();
        match self.config.kind {
            Kind::Bird => {
                let conf = self.path("bird.conf");
                let out = run(&["bird", "-p", "-c", &conf]);
                assert!(
                    out.status.success(),
                    "bird rejects {conf}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let ctl = self.path("bird.ctl");
                let child = lab.spawn(
                    &host,
                    &["bird", "-f", "-c", &conf, "-s", &ctl],
                    &self.dir.join("bird.log"),
                );
                self.children.push(child);
            }
            Kind::Frr => {
                let zserv = self.path("zserv.api");
                let vty = self.path("");
                let _ = std::fs::remove_file(&zserv);
                let zebra = lab.spawn(
                    &host,
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
                    "zebra did not come up; see {}",
                    self.dir.join("zebra.log").display()
                );
                let mut args = vec!["/usr/lib/frr/bgpd"];
                if !self.config.kernel {
                    // Keep BGP routes out of the router's kernel: some are LAN-like /32s.
                    args.push("--no_kernel");
                }
                let (conf, pid) = (self.path("bgpd.conf"), self.path("bgpd.pid"));
                args.extend([
                    "-z",
                    zserv.as_str(),
                    "-f",
                    conf.as_str(),
                    "-i",
                    pid.as_str(),
                    "--vty_socket",
                    vty.as_str(),
                    "-P",
                    "0",
                ]);
                let bgpd = lab.spawn(&host, &args, &self.dir.join("bgpd.log"));
                self.children.push(bgpd);
            }
            Kind::Gobgp => {
                let conf = self.path("gobgpd.toml");
                let check = run(&["gobgpd", "-d", "-f", &conf]);
                assert!(check.status.success(), "gobgpd rejects {conf}");
                let child = lab.spawn(
                    &host,
                    &[
                        "gobgpd",
                        "-f",
                        &conf,
                        "-p",
                        "--api-hosts=127.0.0.1:50051",
                        "--pprof-disable",
                    ],
                    &self.dir.join("gobgpd.log"),
                );
                self.children.push(child);
            }
        }
        let up = wait_for(Duration::from_secs(15), || self.alive_check());
        assert!(
            up,
            "{} on {} did not come up; see {}",
            self.config.kind.name(),
            host,
            self.dir.display()
        );
    }

    fn alive_check(&self) -> bool {
        match self.config.kind {
            Kind::Bird => self.birdc(&["show", "status"]).contains("Daemon is up"),
            Kind::Frr => self.try_vtysh(&["show bgp summary"]).is_some(),
            Kind::Gobgp => self.gobgp(&["global"]).is_some(),
        }
    }

    /// Runs `birdc` on the control socket; its output.
    pub fn birdc(&self, args: &[&str]) -> String {
        let ctl = self.path("bird.ctl");
        let mut full = vec!["birdc", "-s", ctl.as_str()];
        full.extend_from_slice(args);
        String::from_utf8_lossy(&run(&full).stdout).into_owned()
    }

    fn try_vtysh(&self, cmds: &[&str]) -> Option<String> {
        let vty = self.path("");
        let mut full = vec!["vtysh", "--vty_socket", vty.as_str()];
        for c in cmds {
            full.push("-c");
            full.push(c);
        }
        let out = run(&full);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `vtysh -c ...` for each command; its output.
    pub fn vtysh(&self, cmds: &[&str]) -> String {
        self.try_vtysh(cmds).unwrap_or_default()
    }

    /// Runs the `gobgp` client in the daemon's namespace; its output if it succeeded.
    pub fn gobgp(&self, args: &[&str]) -> Option<String> {
        let mut full = vec![
            "ip",
            "netns",
            "exec",
            self.ns.as_str(),
            "gobgp",
            "-u",
            "127.0.0.1",
            "-p",
            "50051",
        ];
        full.extend_from_slice(args);
        let out = run(&full);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The pid of the BGP process (bird, bgpd, gobgpd).
    pub fn pid(&self) -> u32 {
        self.children.last().map(Child::id).expect("running")
    }

    fn signal(&self, sig: &str) {
        run_ok(&["kill", &format!("-{sig}"), &self.pid().to_string()]);
    }

    /// Freezes the BGP process (SIGSTOP).
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    /// Lets it run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    /// Kills its processes (SIGKILL) and reaps them.
    pub fn kill(&mut self) {
        for mut c in self.children.drain(..).rev() {
            let pid = c.id();
            let _ = c.kill();
            let _ = c.wait();
            if self.config.kind == Kind::Frr {
                // FRR keeps a crash-log directory per process that only a clean exit removes.
                for daemon in ["zebra", "bgpd"] {
                    let _ = std::fs::remove_dir_all(format!("/var/tmp/frr/{daemon}.{pid}"));
                }
            }
        }
    }

    /// Kills and starts it again with the same config.
    pub fn restart(&mut self, lab: &Lab) {
        self.kill();
        self.spawn(lab);
    }

    /// Everything the daemon logged so far.
    pub fn log(&self) -> String {
        let name = match self.config.kind {
            Kind::Bird => "bird.log",
            Kind::Frr => "bgpd.log",
            Kind::Gobgp => "gobgpd.log",
        };
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// The session state with `peer` as the daemon names it (`Established`, `Active`, ...).
    pub fn state(&self, peer: IpAddr) -> String {
        match self.config.kind {
            Kind::Bird => {
                let out = self.birdc(&["show", "protocols", &bird_proto(peer)]);
                let name = bird_proto(peer);
                out.lines()
                    .find(|l| l.starts_with(&name))
                    .map(|l| {
                        // Name Proto Table State Since Info
                        let w: Vec<&str> = l.split_whitespace().collect();
                        w.get(5).or(w.get(3)).unwrap_or(&"").to_string()
                    })
                    .unwrap_or_default()
            }
            Kind::Frr => {
                let out = self.vtysh(&[&format!("show bgp neighbors {peer} json")]);
                serde_json::from_str::<serde_json::Value>(&out)
                    .ok()
                    .and_then(|v| {
                        v.get(peer.to_string())?
                            .get("bgpState")?
                            .as_str()
                            .map(str::to_string)
                    })
                    .unwrap_or_default()
            }
            Kind::Gobgp => {
                let out = self
                    .gobgp(&["-j", "neighbor", &peer.to_string()])
                    .unwrap_or_default();
                let state = serde_json::from_str::<serde_json::Value>(&out)
                    .ok()
                    .and_then(|v| v.pointer("/state/session_state")?.as_u64());
                match state {
                    Some(1) => "Idle",
                    Some(2) => "Connect",
                    Some(3) => "Active",
                    Some(4) => "OpenSent",
                    Some(5) => "OpenConfirm",
                    Some(6) => "Established",
                    _ => "",
                }
                .to_string()
            }
        }
    }

    /// Whether the session with `peer` is Established.
    pub fn established(&self, peer: IpAddr) -> bool {
        self.state(peer).eq_ignore_ascii_case("established")
    }

    /// Waits until the session with `peer` is Established; panics after `timeout`.
    pub fn wait_established(&self, peer: IpAddr, timeout: Duration) {
        let what = format!(
            "{} session with {peer} Established",
            self.config.kind.name()
        );
        wait_until(
            &what,
            timeout,
            || self.state(peer),
            |s| s.eq_ignore_ascii_case("established"),
        );
    }

    /// The daemon's RIB (both families, every path).
    pub fn routes(&self) -> Vec<Route> {
        match self.config.kind {
            Kind::Bird => parse_bird_routes(&self.birdc(&["show", "route", "all"])),
            Kind::Frr => {
                let mut v = parse_frr_routes(&self.vtysh(&["show bgp ipv4 unicast json detail"]));
                v.extend(parse_frr_routes(
                    &self.vtysh(&["show bgp ipv6 unicast json detail"]),
                ));
                v
            }
            Kind::Gobgp => {
                let mut v = Vec::new();
                for af in ["ipv4", "ipv6"] {
                    let out = self
                        .gobgp(&["-j", "global", "rib", "-a", af])
                        .unwrap_or_default();
                    v.extend(parse_gobgp_routes(&out));
                }
                v
            }
        }
    }

    /// The daemon's RIB by prefix.
    pub fn rib(&self) -> BTreeMap<IpNet, Vec<Route>> {
        let mut m: BTreeMap<IpNet, Vec<Route>> = BTreeMap::new();
        for r in self.routes() {
            m.entry(r.prefix).or_default().push(r);
        }
        m
    }

    /// How many routes (paths) the daemon holds, both families; cheaper than [`Daemon::routes`].
    pub fn route_count(&self) -> usize {
        match self.config.kind {
            Kind::Bird => {
                let out = self.birdc(&["show", "route", "count"]);
                out.lines()
                    .find_map(|l| l.strip_prefix("Total: "))
                    .and_then(|l| l.split_whitespace().next()?.parse().ok())
                    .unwrap_or(0)
            }
            Kind::Frr => {
                let mut n = 0;
                for af in ["ipv4", "ipv6"] {
                    let out = self.vtysh(&[&format!("show bgp {af} unicast summary json")]);
                    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
                    // `{"ipv4Unicast": {"peers": ...}}`, or without the wrapper when one family
                    // is configured.
                    let table = v.get(format!("{af}Unicast")).unwrap_or(&v);
                    if let Some(peers) = table.get("peers").and_then(|p| p.as_object()) {
                        for p in peers.values() {
                            n += p.get("pfxRcd").and_then(|x| x.as_u64()).unwrap_or(0) as usize;
                        }
                    }
                }
                n
            }
            Kind::Gobgp => {
                let mut n = 0;
                for af in ["ipv4", "ipv6"] {
                    let out = self
                        .gobgp(&["global", "rib", "-a", af, "summary"])
                        .unwrap_or_default();
                    // "Table ipv4-unicast\nDestination: 3, Path: 3"
                    n += out
                        .split("Path: ")
                        .nth(1)
                        .and_then(|t| t.trim().split(|c: char| !c.is_ascii_digit()).next())
                        .and_then(|t| t.parse::<usize>().ok())
                        .unwrap_or(0);
                }
                n
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A frozen process would not die of SIGTERM; SIGKILL works on it.
        self.kill();
    }
}

// ------------------------------------------------------------------------------- parsers

fn parse_pair<T: std::str::FromStr>(s: &str) -> Vec<T> {
    s.split(|c: char| c == ',' || c == ':' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// Parses `birdc show route all`.
pub fn parse_bird_routes(text: &str) -> Vec<Route> {
    let mut out: Vec<Route> = Vec::new();
    let mut prefix: Option<IpNet> = None;
    for line in text.lines() {
        if line.starts_with("BIRD ") || line.starts_with("Table ") || line.trim().is_empty() {
            continue;
        }
        let starts_route = !line.starts_with(char::is_whitespace) || {
            let t = line.trim_start();
            (t.starts_with("unicast [") || t.starts_with("unreachable ["))
                && !line.starts_with('\t')
        };
        if starts_route {
            if !line.starts_with(char::is_whitespace) {
                prefix = line.split_whitespace().next().and_then(|p| p.parse().ok());
            }
            let Some(p) = prefix else { continue };
            let from = line
                .split_once('[')
                .and_then(|(_, r)| r.split_whitespace().next())
                .map(str::to_string);
            out.push(Route {
                prefix: p,
                next_hop: None,
                communities: Vec::new(),
                large_communities: Vec::new(),
                local_pref: None,
                from,
            });
            continue;
        }
        let Some(r) = out.last_mut() else { continue };
        let t = line.trim();
        if let Some(v) = t.strip_prefix("BGP.next_hop: ") {
            r.next_hop = v.split_whitespace().next().and_then(|a| a.parse().ok());
        } else if let Some(v) = t.strip_prefix("BGP.local_pref: ") {
            r.local_pref = v.trim().parse().ok();
        } else if let Some(v) = t.strip_prefix("BGP.community: ") {
            for c in v.split(')') {
                let n: Vec<u16> = parse_pair(c.trim().trim_start_matches('('));
                if let [a, b] = n[..] {
                    r.communities.push((a, b));
                }
            }
        } else if let Some(v) = t.strip_prefix("BGP.large_community: ") {
            for c in v.split(')') {
                let n: Vec<u32> = parse_pair(c.trim().trim_start_matches('('));
                if let [a, b, c] = n[..] {
                    r.large_communities.push((a, b, c));
                }
            }
        }
    }
    out
}

fn frr_community(name: &str) -> Option<(u16, u16)> {
    Some(match name {
        "gracefulShutdown" | "graceful-shutdown" => (65535, 0),
        "acceptOwn" | "accept-own" => (65535, 1),
        "blackhole" => (65535, 666),
        "noExport" | "no-export" => (65535, 65281),
        "noAdvertise" | "no-advertise" => (65535, 65282),
        "localAs" | "local-AS" => (65535, 65283),
        "noPeer" | "no-peer" => (65535, 65284),
        other => {
            let n: Vec<u16> = parse_pair(other);
            match n[..] {
                [a, b] => (a, b),
                _ => return None,
            }
        }
    })
}

/// Parses FRR's `show bgp ipv4|ipv6 unicast json detail`.
pub fn parse_frr_routes(text: &str) -> Vec<Route> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Some(routes) = v.get("routes").and_then(|r| r.as_object()) else {
        return out;
    };
    for (prefix, paths) in routes {
        let Ok(p) = prefix.parse::<IpNet>() else {
            continue;
        };
        for path in paths.as_array().into_iter().flatten() {
            let Some(nhs) = path.get("nexthops").and_then(|n| n.as_array()) else {
                continue;
            };
            let next_hop = nhs
                .iter()
                .find(|n| n.get("scope").and_then(|s| s.as_str()) != Some("link-local"))
                .and_then(|n| n.get("ip")?.as_str()?.parse().ok());
            let communities = path
                .pointer("/community/list")
                .and_then(|l| l.as_array())
                .into_iter()
                .flatten()
                .filter_map(|c| frr_community(c.as_str()?))
                .collect();
            let large_communities = path
                .pointer("/largeCommunity/list")
                .and_then(|l| l.as_array())
                .into_iter()
                .flatten()
                .filter_map(|c| match parse_pair::<u32>(c.as_str()?)[..] {
                    [a, b, c] => Some((a, b, c)),
                    _ => None,
                })
                .collect();
            let local_pref = path
                .get("locPrf")
                .and_then(|l| l.as_u64())
                .map(|l| l as u32);
            let from = path
                .pointer("/peer/peerId")
                .and_then(|p| p.as_str())
                .map(str::to_string);
            out.push(Route {
                prefix: p,
                next_hop,
                communities,
                large_communities,
                local_pref,
                from,
            });
        }
    }
    out
}

/// Parses `gobgp -j global rib -a ipv4|ipv6`.
pub fn parse_gobgp_routes(text: &str) -> Vec<Route> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Some(routes) = v.as_object() else {
        return out;
    };
    for (prefix, paths) in routes {
        let Ok(p) = prefix.parse::<IpNet>() else {
            continue;
        };
        for path in paths.as_array().into_iter().flatten() {
            let mut r = Route {
                prefix: p,
                next_hop: None,
                communities: Vec::new(),
                large_communities: Vec::new(),
                local_pref: None,
                from: path
                    .get("source-id")
                    .and_then(|s| s.as_str())
                    .map(str::to_string),
            };
            for a in path
                .get("attrs")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
            {
                match a.get("type").and_then(|t| t.as_u64()) {
                    Some(3) | Some(14) => {
                        if let Some(nh) = a.get("nexthop").and_then(|n| n.as_str()) {
                            r.next_hop = nh.parse().ok();
                        }
                    }
                    Some(5) => {
                        r.local_pref = a.get("value").and_then(|v| v.as_u64()).map(|v| v as u32);
                    }
                    Some(8) => {
                        for c in a
                            .get("communities")
                            .and_then(|c| c.as_array())
                            .into_iter()
                            .flatten()
                        {
                            if let Some(c) = c.as_u64() {
                                r.communities.push(((c >> 16) as u16, c as u16));
                            }
                        }
                    }
                    Some(32) => {
                        for c in a
                            .get("value")
                            .and_then(|c| c.as_array())
                            .into_iter()
                            .flatten()
                        {
                            let f = |k: &str| c.get(k).and_then(|x| x.as_u64()).unwrap_or(0) as u32;
                            r.large_communities
                                .push((f("ASN"), f("LocalData1"), f("LocalData2")));
                        }
                    }
                    _ => {}
                }
            }
            out.push(r);
        }
    }
    out
}

// ------------------------------------------------------------------------------- our speaker

/// `n` (at most 1,020) distinct IPv4 prefixes in documentation space: every /25 to /32 of
/// 198.51.100.0/24, then of 203.0.113.0/24, longest first. (There are only 768 /32s in the
/// three IPv4 documentation /24s, and 192.0.2.0/24 is the lab's LAN, so 1,000 IPv4 routes
/// mix lengths.)
pub fn v4_prefixes(n: usize) -> Vec<IpNet> {
    let mut out = Vec::with_capacity(n);
    for base in [[198u8, 51, 100, 0], [203, 0, 113, 0]] {
        for len in (25..=32u8).rev() {
            let step = 1u32 << (32 - len);
            let mut host = 0u32;
            while host < 256 {
                if out.len() == n {
                    return out;
                }
                let a = std::net::Ipv4Addr::new(base[0], base[1], base[2], host as u8);
                out.push(IpNet::new(IpAddr::V4(a), len).unwrap());
                host += step;
            }
        }
    }
    assert_eq!(out.len(), n, "at most 1,020 IPv4 documentation prefixes");
    out
}

/// `n` IPv6 /128s in 2001:db8:100::/64 (documentation space): ::1, ::2, ...
pub fn v6_prefixes(n: usize) -> Vec<IpNet> {
    (1..=n as u128)
        .map(|i| {
            let a = std::net::Ipv6Addr::from(0x2001_0db8_0100_0000_0000_0000_0000_0000u128 + i);
            IpNet::new(IpAddr::V6(a), 128).unwrap()
        })
        .collect()
}

/// A session configuration for our speaker on `host` with lab-friendly timers: hold `hold`
/// seconds, connect retry 1 s backing off to 2 s, only the family of `peer`.
pub fn peer_config(
    host: &str,
    local_as: u32,
    peer_as: u32,
    peer: IpAddr,
    hold: u16,
) -> lb_bgp::SessionConfig {
    let IpAddr::V4(rid) = ip4(host) else {
        unreachable!()
    };
    let mut c = lb_bgp::SessionConfig::new(local_as, peer_as, rid);
    c.hold_time = hold;
    c.connect_retry = Duration::from_secs(1);
    c.connect_retry_max = Duration::from_secs(2);
    c.ipv4_unicast = peer.is_ipv4();
    c.ipv6_unicast = peer.is_ipv6();
    c
}

/// Our [`lb_bgp::driver::Speaker`] running on its own thread (a current-thread runtime) inside
/// a lab host's namespace, listening on port 179 there. Its methods can be called from the
/// test thread. Dropping it shuts the speaker down (administrative shutdown NOTIFICATIONs).
pub struct Ours {
    /// The speaker.
    pub speaker: lb_bgp::driver::Speaker,
    /// Its host.
    pub host: String,
    /// `true`: shut down with NOTIFICATIONs; `false`: vanish (a crash: connections just close).
    stop: Option<std::sync::mpsc::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ours {
    /// Starts a speaker on `host`.
    pub fn start(lab: &Lab, host: &str) -> Ours {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = std::sync::mpsc::channel::<bool>();
        let path = lab.netns_path(host);
        let thread = std::thread::spawn(move || {
            lb_bgp::driver::enter_netns(&path).expect("setns");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let speaker = lb_bgp::driver::spawn(Default::default())
                    .await
                    .expect("speaker starts");
                ready_tx.send(speaker.clone()).expect("ready");
                let graceful = loop {
                    match stop_rx.try_recv() {
                        Err(std::sync::mpsc::TryRecvError::Empty) => {
                            tokio::time::sleep(Duration::from_millis(20)).await
                        }
                        Ok(graceful) => break graceful,
                        Err(std::sync::mpsc::TryRecvError::Disconnected) => break true,
                    }
                };
                if graceful {
                    speaker.shutdown_with("lab test over").await;
                }
                // Otherwise the runtime's end drops every task: sockets close, no NOTIFICATION.
            });
        });
        let speaker = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("speaker ready");
        Ours {
            speaker,
            host: host.to_string(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Adds a peer at `peer` (`passive`: wait for it to connect) with [`peer_config`]; returns
    /// the settings used.
    pub fn add(
        &self,
        peer: IpAddr,
        local_as: u32,
        peer_as: u32,
        passive: bool,
        hold: u16,
        password: Option<&str>,
    ) {
        let mut config = peer_config(&self.host, local_as, peer_as, peer, hold);
        config.passive = passive;
        let mut s = lb_bgp::driver::PeerConfig::new(peer, config);
        s.source = Some(ip(&self.host, peer.is_ipv6()));
        s.md5_password = password.map(str::to_string);
        self.speaker.add_peer(s).expect("add peer");
    }

    /// Adds a peer with an explicit session configuration (source address: `host`'s LAN address).
    pub fn add_config(&self, peer: IpAddr, config: lb_bgp::SessionConfig) {
        let mut s = lb_bgp::driver::PeerConfig::new(peer, config);
        s.source = Some(ip(&self.host, peer.is_ipv6()));
        self.speaker.add_peer(s).expect("add peer");
    }

    /// Ends the speaker as a crash would: no NOTIFICATION, the connections just close.
    pub fn crash(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(false);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// The state of our session with `peer`.
    pub fn state(&self, peer: IpAddr) -> lb_bgp::session::State {
        self.speaker.stats(peer).expect("peer").state
    }

    /// Waits until our session with `peer` is Established; panics after `timeout`.
    pub fn wait_established(&self, peer: IpAddr, timeout: Duration) {
        let what = format!("our session {} -> {peer} Established", self.host);
        wait_until(
            &what,
            timeout,
            || self.state(peer),
            |s| *s == lb_bgp::session::State::Established,
        );
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Attributes shared by the routes our speakers announce in the tests.
pub fn test_attributes(local_pref: Option<u32>) -> std::sync::Arc<lb_bgp::RouteAttributes> {
    std::sync::Arc::new(lb_bgp::RouteAttributes {
        communities: vec![lb_bgp::wire::Community::new(64500, 100)],
        large_communities: vec![lb_bgp::wire::LargeCommunity {
            global_admin: 64500,
            local1: 1,
            local2: 2,
        }],
        local_pref,
        ..Default::default()
    })
}

/// Routes of `prefixes` with `attributes`.
pub fn routes(
    prefixes: &[IpNet],
    attributes: &std::sync::Arc<lb_bgp::RouteAttributes>,
) -> Vec<lb_bgp::Route> {
    prefixes
        .iter()
        .map(|p| lb_bgp::Route::with_attributes(*p, attributes.clone()))
        .collect()
}

impl Ours {
    /// Removes `peer` (administrative shutdown) and waits for it, from a non-async thread.
    pub fn remove(&self, peer: IpAddr) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(self.speaker.remove_peer(peer, "lab: removed"))
            .expect("remove peer");
    }
}

/// A TCP server in `host`'s namespace on port 8080 of every address that answers every
/// connection with `reply`, for `secs` seconds (see [`crate::net::tcp_server`]).
pub fn tcp_server(lab: &Lab, host: &str, reply: &'static str, secs: u64) {
    crate::net::tcp_server(lab.netns_path(host), true, reply, secs);
}

/// Connects from `host` to `ip:8080` and returns what the server says.
pub fn tcp_get(lab: &Lab, host: &str, ip: IpAddr) -> Option<String> {
    crate::net::tcp_get(lab.netns_path(host), ip)
}

/// A packet capture (`tcpdump`) on a host's eth0; stopped and read with [`Capture::stop`].
pub struct Capture {
    child: Option<Child>,
    file: PathBuf,
}

impl Capture {
    /// Starts capturing `filter` on `host`'s eth0; returns once tcpdump listens.
    pub fn start(lab: &Lab, host: &str, name: &str, filter: &str) -> Capture {
        let file = lab.dir.join(format!("{name}.pcap"));
        let log = lab.dir.join(format!("{name}.log"));
        let f = file.to_str().unwrap().to_string();
        // -Z root: do not drop to user tcpdump, which could not write into the lab's directory.
        let child = lab.spawn(
            host,
            &[
                "tcpdump", "-i", "eth0", "-n", "-U", "-Z", "root", "-w", &f, filter,
            ],
            &log,
        );
        let ok = wait_for(Duration::from_secs(10), || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("listening on"))
        });
        assert!(ok, "tcpdump did not start");
        Capture {
            child: Some(child),
            file,
        }
    }

    /// The octets written so far (tcpdump runs with `-U`, so each packet is written as it is
    /// captured).
    pub fn so_far(&self) -> Vec<u8> {
        std::fs::read(&self.file).unwrap_or_default()
    }

    /// Stops the capture and returns the pcap file's octets.
    pub fn stop(&mut self) -> Vec<u8> {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-INT", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
        std::fs::read(&self.file).unwrap_or_default()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Whether `pcap` holds a BGP NOTIFICATION with this error code and subcode and no data
/// (its 21 octets: marker, length 21, type 3, code, subcode), anywhere in a TCP payload.
pub fn pcap_has_notification(pcap: &[u8], code: u8, subcode: u8) -> bool {
    let mut pattern = vec![0xffu8; 16];
    pattern.extend_from_slice(&[0, 21, 3, code, subcode]);
    pcap.windows(pattern.len()).any(|w| w == pattern)
}
