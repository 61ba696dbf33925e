//! The standalone end-to-end lab (no Kubernetes): three host namespaces `h1`..`h3`, a router
//! `r` running BIRD, and a client `c`, all on one switch (lan `192.0.2.0/24`,
//! `2001:db8:1::/64`). Every host runs the `speaker` on the same manifest folder; the router
//! peers (iBGP, AS 64512, passive) with every host and installs what it learns with ECMP; the
//! client reaches the Layer 2 pool on the lan and the BGP pools through the router.
//!
//! Every host takes the pools' addresses itself (any-IP local routes, as kube-proxy would on a
//! node) without answering ARP for them (`arp_ignore=1`; the kernel answers NS only for
//! addresses on the interface), and runs a TCP server on port 8080 (IPv4 and IPv6) answering
//! with the host's name, so only a speaker answers ARP/NDP and the client can tell which host
//! it reached. Dropping the lab stops every process and deletes the namespaces.
//!
//! The helpers shared with [`crate::cluster`] (a client loop timed on the wire, `arping` and
//! `ndisc6` from the client) live here.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::process::Process;
use crate::{Namespaces, net, skip_or_fail};

/// The host names (and namespaces).
pub const HOSTS: [&str; 3] = ["h1", "h2", "h3"];
/// The Layer 2 ranges (on the lan) the hosts accept traffic for.
pub const L2_POOLS: [&str; 2] = ["192.0.2.192/26", "2001:db8:1::100/120"];
/// The BGP ranges (routed by the router) the hosts accept traffic for.
pub const BGP_POOLS: [&str; 2] = ["198.51.100.0/26", "2001:db8:2::/120"];
/// Our AS (hosts and router, iBGP).
pub const ASN: u32 = 64512;
/// The router's addresses.
pub const ROUTER: [&str; 2] = ["192.0.2.1", "2001:db8:1::1"];

/// Host `i`'s IPv4 address (`192.0.2.11` + i).
pub fn host_ip(i: usize) -> IpAddr {
    IpAddr::from([192, 0, 2, 11 + u8::try_from(i).unwrap_or(0)])
}

/// Host `i`'s IPv6 address (`2001:db8:1::11` + i, hex digits as written).
pub fn host_ip6(i: usize) -> IpAddr {
    format!("2001:db8:1::{}", 11 + i)
        .parse()
        .unwrap_or(IpAddr::from([0u8; 16]))
}

/// Host `i`'s MAC address.
pub fn mac_of(i: usize) -> String {
    format!("02:00:00:00:00:{:02x}", 0x11 + i)
}

/// Adds host `i` (of [`HOSTS`]) to `net`: addresses, any-IP local routes for `pools`,
/// `arp_ignore`, no redirects, and the TCP server answering with its name.
pub fn add_server_host(net: &Namespaces, i: usize, pools: &[&str]) {
    let h = HOSTS[i];
    net.add_host(
        h,
        &mac_of(i),
        &format!("{}/24", host_ip(i)),
        &format!("{}/64", host_ip6(i)),
    );
    for pool in pools {
        let family = if pool.contains(':') { "-6" } else { "-4" };
        let out = net.exec(
            h,
            &["ip", family, "route", "add", "local", pool, "dev", "lo"],
        );
        assert!(out.status.success(), "{pool}: {out:?}");
    }
    let out = net.exec(h, &["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"]);
    assert!(out.status.success(), "{out:?}");
    net::tcp_server(net.netns_path(h), true, HOSTS[i], 3600);
}

/// The MACs that answer `arping` from `from` for `ip` (3 requests, 3 s).
pub fn arp_answers(net: &Namespaces, from: &str, ip: IpAddr) -> Vec<String> {
    let out = net.exec(
        from,
        &[
            "arping",
            "-c",
            "3",
            "-w",
            "3",
            "-I",
            "eth0",
            &ip.to_string(),
        ],
    );
    let mut macs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once(" from ")?;
            Some(rest.split_whitespace().next()?.to_lowercase())
        })
        .collect();
    macs.sort();
    macs.dedup();
    macs
}

/// The link-layer addresses in the NAs `ndisc6` gets from `from` for `ip` (3 tries).
pub fn ndp_answers(net: &Namespaces, from: &str, ip: IpAddr) -> Vec<String> {
    let out = net.exec(
        from,
        &["ndisc6", "-m", "-n", "-r", "3", &ip.to_string(), "eth0"],
    );
    let mut macs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once("Target link-layer address:")?;
            Some(rest.trim().to_lowercase())
        })
        .collect();
    macs.sort();
    macs.dedup();
    macs
}

/// SIGTERM to `speaker` (taken); waits (at most 15 s) until it has exited.
pub fn terminate(speaker: &mut Option<Process>) {
    if let Some(mut p) = speaker.take() {
        if let Some(pid) = p.pid() {
            let _ = crate::try_run(&["kill", "-TERM", &pid.to_string()]);
        }
        let t0 = Instant::now();
        while p.exited().is_none() && t0.elapsed() < Duration::from_secs(15) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Host `host` dies: `speaker` is SIGKILLed (and taken) and the host's link goes down.
pub fn kill_host(net: &Namespaces, host: &str, speaker: &mut Option<Process>) {
    if let Some(mut p) = speaker.take() {
        p.kill();
    }
    set_link(net, host, "down");
}

/// Sets `host`'s `eth0` `up` or `down`.
pub fn set_link(net: &Namespaces, host: &str, state: &str) {
    let out = net.exec(host, &["ip", "link", "set", "eth0", state]);
    assert!(out.status.success(), "{out:?}");
}

/// The last `n` lines of each `(title, text)`, under a `--- title` line.
pub fn tails(logs: &[(String, String)], n: usize) -> String {
    let mut out = String::new();
    for (title, text) in logs {
        let tail: Vec<&str> = text.lines().rev().take(n).collect();
        out += &format!("--- {title}\n");
        for l in tail.into_iter().rev() {
            out += l;
            out.push('\n');
        }
    }
    out
}

/// Waits (at most 60 s, else panics with `logs()`) until the client `c` of `net` is served
/// `ip:8080` by a host satisfying `ok`; returns it.
pub fn wait_served(
    net: &Namespaces,
    ip: IpAddr,
    what: &str,
    ok: impl Fn(&str) -> bool,
    logs: impl Fn() -> String,
) -> String {
    let t0 = Instant::now();
    loop {
        if let Some(host) = net::tcp_get(net.netns_path("c"), ip)
            && ok(&host)
        {
            return host;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{what}: {ip} not served as expected\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The MACs answering ARP (IPv4) or NDP (IPv6) for `ip` from the client `c` of `net`.
pub fn l2_answers(net: &Namespaces, ip: IpAddr) -> Vec<String> {
    if ip.is_ipv4() {
        arp_answers(net, "c", ip)
    } else {
        ndp_answers(net, "c", ip)
    }
}

/// Every attempt of a [`ClientLoop`]: when it started, and which host answered (`None`:
/// failed).
pub type Attempts = Vec<(Instant, Option<String>)>;

/// The failed attempts of a [`ClientLoop`], with why: `ConnectionReset` when a host reset the
/// connection (a handover moved the address while it was open: the new owner's host has no
/// such connection), `TimedOut` / `WouldBlock` when nobody answered in time.
pub type Failures = Vec<(Instant, std::io::ErrorKind)>;

/// A client loop: a fresh TCP connection to `ip:8080` every 10 ms (100 ms to connect,
/// 200 ms to read the host's name) from a namespace, each outcome recorded with its time.
#[derive(Debug)]
pub struct ClientLoop {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(Attempts, Failures)>>,
}

impl ClientLoop {
    /// Starts the loop in the namespace at `netns_path`.
    pub fn start(netns_path: String, ip: IpAddr) -> ClientLoop {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = net::in_netns(netns_path, move || {
            use std::io::Read;
            let (mut out, mut failures) = (Vec::new(), Vec::new());
            while !flag.load(Ordering::Relaxed) {
                let at = Instant::now();
                let got = std::net::TcpStream::connect_timeout(
                    &(ip, 8080).into(),
                    Duration::from_millis(100),
                )
                .and_then(|mut s| {
                    s.set_read_timeout(Some(Duration::from_millis(200)))?;
                    let mut text = String::new();
                    s.read_to_string(&mut text)?;
                    Ok(text)
                });
                let got = got.and_then(|t| {
                    if t.is_empty() {
                        Err(std::io::ErrorKind::UnexpectedEof.into())
                    } else {
                        Ok(t)
                    }
                });
                if let Err(e) = &got {
                    failures.push((at, e.kind()));
                }
                out.push((at, got.ok()));
                std::thread::sleep(Duration::from_millis(10));
            }
            (out, failures)
        });
        ClientLoop {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the loop and returns its attempts.
    pub fn finish(self) -> Attempts {
        self.finish_with_failures().0
    }

    /// Stops the loop and returns its attempts and why those that failed did.
    pub fn finish_with_failures(mut self) -> (Attempts, Failures) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for ClientLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// From a client loop's record: the time from `since` until the first attempt that started
/// at or after it and succeeded (`None`: never).
pub fn served_again_after(
    record: &[(Instant, Option<String>)],
    since: Instant,
) -> Option<Duration> {
    record
        .iter()
        .find(|(at, got)| *at >= since && got.is_some())
        .map(|(at, _)| at.duration_since(since))
}

/// Median, 95th percentile and maximum of `v` (empty: zeros).
pub fn summary(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    if v.is_empty() {
        return Default::default();
    }
    v.sort();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.95), v[v.len() - 1])
}

/// One route of BIRD's table, as `birdc show route all` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BirdRoute {
    /// The prefix.
    pub prefix: String,
    /// The BGP protocol (neighbour) it came from.
    pub protocol: String,
    /// Its next hop.
    pub next_hop: String,
    /// `BGP.local_pref`.
    pub local_pref: Option<u32>,
    /// `BGP.community`, as printed (`(64512,100) ...`).
    pub communities: String,
    /// `BGP.large_community`, as printed.
    pub large_communities: String,
}

/// Parses `birdc show route all` (every route, the alternatives included).
pub fn parse_bird_routes(text: &str) -> Vec<BirdRoute> {
    let mut out: Vec<BirdRoute> = Vec::new();
    let mut prefix = String::new();
    for line in text.lines() {
        let starts_route = line.contains(" unicast [") || line.contains("unicast [");
        if starts_route {
            let first = line.split_whitespace().next().unwrap_or_default();
            if !line.starts_with(char::is_whitespace) {
                prefix = first.to_owned();
            }
            let protocol = line
                .split_once('[')
                .and_then(|(_, r)| r.split_whitespace().next())
                .unwrap_or_default()
                .to_owned();
            out.push(BirdRoute {
                prefix: prefix.clone(),
                protocol,
                ..BirdRoute::default()
            });
            continue;
        }
        let Some(route) = out.last_mut() else {
            continue;
        };
        let l = line.trim();
        if let Some(v) = l.strip_prefix("BGP.next_hop:") {
            route.next_hop = v.split_whitespace().next().unwrap_or_default().to_owned();
        } else if let Some(v) = l.strip_prefix("BGP.local_pref:") {
            route.local_pref = v.trim().parse().ok();
        } else if let Some(v) = l.strip_prefix("BGP.community:") {
            route.communities = v.trim().to_owned();
        } else if let Some(v) = l.strip_prefix("BGP.large_community:") {
            route.large_communities = v.trim().to_owned();
        }
    }
    out
}

/// Adds the router `r` to `net` (forwarding on, no redirects) and routes the client `c`
/// (added already) to the BGP pools through it.
pub fn add_router(net: &Namespaces) {
    net.add_host("r", "02:00:00:00:00:01", "192.0.2.1/24", "2001:db8:1::1/64");
    for (ns, cmd) in [
        (
            "r",
            vec![
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
                "net.ipv6.conf.all.forwarding=1",
            ],
        ),
        (
            "r",
            vec![
                "sysctl",
                "-qw",
                "net.ipv4.conf.all.send_redirects=0",
                "net.ipv4.conf.eth0.send_redirects=0",
            ],
        ),
        (
            "c",
            vec![
                "sysctl",
                "-qw",
                "net.ipv4.conf.all.accept_redirects=0",
                "net.ipv6.conf.all.accept_redirects=0",
                "net.ipv6.conf.eth0.accept_redirects=0",
            ],
        ),
        (
            "c",
            vec!["ip", "-4", "route", "add", BGP_POOLS[0], "via", ROUTER[0]],
        ),
        (
            "c",
            vec!["ip", "-6", "route", "add", BGP_POOLS[1], "via", ROUTER[1]],
        ),
    ] {
        let out = net.exec(ns, &cmd);
        assert!(out.status.success(), "{cmd:?}: {out:?}");
    }
}

/// Starts BIRD in the router's namespace (configuration, control socket and log in `dir`):
/// iBGP AS 64512, passive, one session per host and family, `merge paths` into the kernel
/// table. Returns once it is up.
pub fn start_bird(net: &Namespaces, dir: &Path) -> Process {
    let mut conf = String::new();
    let _ = writeln!(conf, "router id {};\nprotocol device {{}}", ROUTER[0]);
    let _ = writeln!(
        conf,
        "protocol direct {{ ipv4; ipv6; interface \"eth0\"; }}"
    );
    for family in ["ipv4", "ipv6"] {
        let _ = writeln!(
            conf,
            "protocol kernel {{ {family} {{ export where source = RTS_BGP; }}; merge paths on; }}"
        );
    }
    for (i, h) in HOSTS.iter().enumerate() {
        for (family, addr, local) in [
            ("ipv4", host_ip(i), ROUTER[0]),
            ("ipv6", host_ip6(i), ROUTER[1]),
        ] {
            let v = if family == "ipv4" { "v4" } else { "v6" };
            let _ = writeln!(
                conf,
                "protocol bgp {h}{v} {{ local {local} as {ASN}; neighbor {addr} as {ASN}; passive on; {family} {{ import all; export none; }}; }}"
            );
        }
    }
    let path = dir.join("bird.conf");
    std::fs::write(&path, conf).expect("bird.conf");
    let ctl = dir.join("bird.ctl");
    let args: Vec<String> = [
        "netns",
        "exec",
        &net.ns("r"),
        "bird",
        "-f",
        "-c",
        &path.display().to_string(),
        "-s",
        &ctl.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let bird = Process::spawn(Path::new("ip"), &args, &[], &dir.join("bird.log")).expect("bird");
    let t0 = Instant::now();
    while !birdc(dir, &["show", "status"]).contains("Daemon is up") {
        assert!(t0.elapsed() < Duration::from_secs(10), "BIRD did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    bird
}

/// `birdc` on the control socket of the BIRD started with [`start_bird`] in `dir`.
pub fn birdc(dir: &Path, args: &[&str]) -> String {
    let ctl = dir.join("bird.ctl").display().to_string();
    let mut full = vec!["birdc", "-s", ctl.as_str()];
    full.extend_from_slice(args);
    String::from_utf8_lossy(&crate::run(&full).stdout).into_owned()
}

/// The lab (see the module documentation).
#[derive(Debug)]
pub struct Lab {
    /// The namespaces (`h1`..`h3`, `r`, `c`).
    pub net: Namespaces,
    dir: PathBuf,
    bird: Option<Process>,
    speaker: Vec<String>,
    speakers: Vec<Option<Process>>,
}

impl Lab {
    /// Builds the lab. `tag` prefixes the namespace names (short, unique per test);
    /// `speaker` is the command that runs a speaker (program and leading arguments);
    /// `dir` receives the BIRD configuration and the logs. `None`: skipped.
    pub fn start(tag: &str, speaker: &[String], dir: &Path) -> Option<Lab> {
        let prefix = format!("{tag}{}", std::process::id() % 100_000);
        let names = ["h1", "h2", "h3", "r", "c"];
        let net = match Namespaces::create(prefix, &names, &["arping", "ndisc6", "bird", "birdc"]) {
            Ok(n) => n,
            Err(why) => return skip_or_fail(&why),
        };
        if let Err(e) = std::fs::create_dir_all(dir) {
            return skip_or_fail(&format!("{}: {e}", dir.display()));
        }
        net.switch();
        let pools: Vec<&str> = L2_POOLS.iter().chain(&BGP_POOLS).copied().collect();
        for i in 0..HOSTS.len() {
            add_server_host(&net, i, &pools);
        }
        net.add_host(
            "c",
            "02:00:00:00:00:99",
            "192.0.2.100/24",
            "2001:db8:1::99/64",
        );
        let mut lab = Lab {
            net,
            dir: dir.to_path_buf(),
            bird: None,
            speaker: speaker.to_vec(),
            speakers: (0..HOSTS.len()).map(|_| None).collect(),
        };
        add_router(&lab.net);
        lab.bird = Some(start_bird(&lab.net, dir));
        Some(lab)
    }

    /// `birdc` on the router's control socket; its output.
    pub fn birdc(&self, args: &[&str]) -> String {
        birdc(&self.dir, args)
    }

    /// Every route BIRD holds.
    pub fn bird_routes(&self) -> Vec<BirdRoute> {
        parse_bird_routes(&self.birdc(&["show", "route", "all"]))
    }

    /// Starts host `i`'s speaker on `manifests` with `extra` flags (memberlist among the three
    /// hosts, text logs).
    pub fn start_speaker(&mut self, i: usize, manifests: &Path, extra: &[&str]) {
        let host = HOSTS[i];
        let seeds: Vec<String> = (0..HOSTS.len()).map(|j| host_ip(j).to_string()).collect();
        let mut args: Vec<String> = vec!["netns".into(), "exec".into(), self.net.ns(host)];
        args.extend(self.speaker.iter().cloned());
        for a in [
            "--manifests",
            &manifests.display().to_string(),
            "--node-name",
            host,
            "--ml-bindaddr",
            &host_ip(i).to_string(),
            "--ml-join",
            &seeds.join(","),
            "--log-format",
            "text",
            "--reload-interval",
            "200ms",
        ] {
            args.push(a.to_owned());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let log = self.dir.join(format!("speaker-{host}.log"));
        self.speakers[i] =
            Some(Process::spawn(Path::new("ip"), &args, &[], &log).expect("speaker"));
    }

    /// SIGTERM to host `i`'s speaker; waits (at most 15 s) until it has exited.
    pub fn terminate(&mut self, i: usize) {
        terminate(&mut self.speakers[i]);
    }

    /// Host `i` dies: its speaker is SIGKILLed and its link goes down.
    pub fn kill_host(&mut self, i: usize) {
        kill_host(&self.net, HOSTS[i], &mut self.speakers[i]);
    }

    /// Host `i`'s link comes back (start its speaker again separately).
    pub fn revive_host(&mut self, i: usize) {
        set_link(&self.net, HOSTS[i], "up");
    }

    /// Host `i`'s speaker log.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("speaker-{}.log", HOSTS[i])))
            .unwrap_or_default()
    }

    /// The last lines of every speaker's log.
    pub fn logs(&self) -> String {
        let logs: Vec<(String, String)> = (0..HOSTS.len())
            .map(|i| (format!("speaker {}", HOSTS[i]), self.log(i)))
            .collect();
        tails(&logs, 30)
    }

    /// Which host serves `ip:8080` to the client, if any.
    pub fn served_by(&self, ip: IpAddr) -> Option<String> {
        net::tcp_get(self.net.netns_path("c"), ip)
    }

    /// Waits (at most 60 s, else panics with the logs) until the client is served by a host
    /// satisfying `ok`; returns it.
    pub fn wait_served(&self, ip: IpAddr, what: &str, ok: impl Fn(&str) -> bool) -> String {
        wait_served(&self.net, ip, what, ok, || self.logs())
    }

    /// The MACs answering ARP (IPv4) or NDP (IPv6) for `ip` from the client.
    pub fn l2_answers(&self, ip: IpAddr) -> Vec<String> {
        l2_answers(&self.net, ip)
    }

    /// Starts a client loop against `ip:8080`.
    pub fn client_loop(&self, ip: IpAddr) -> ClientLoop {
        ClientLoop::start(self.net.netns_path("c"), ip)
    }
}

/// What [`failover_trial`] needs of a lab (the standalone [`Lab`] and the Kubernetes
/// `cluster::Cluster`).
pub trait Hosts {
    /// Waits until the client is served `ip` by a host satisfying `ok`; returns it.
    fn served(&self, ip: IpAddr, what: &str, ok: &dyn Fn(&str) -> bool) -> String;
    /// Starts a client loop against `ip:8080`.
    fn probe(&self, ip: IpAddr) -> ClientLoop;
    /// Host `i` dies (speaker SIGKILLed, link down).
    fn kill(&mut self, i: usize);
    /// Host `i` comes back: link up, speaker started again.
    fn revive(&mut self, i: usize);
}

/// One failover trial for `ip`: with a client loop running, the host serving it dies;
/// returns who it was and the time until the client was served again, read from the loop's
/// record (on the wire). Then the host comes back and the trial waits until it serves `ip`
/// again (with every host alive the election names it again).
pub fn failover_trial(lab: &mut impl Hosts, ip: IpAddr) -> (String, Option<Duration>) {
    let owner = lab.served(ip, "before the trial", &|_| true);
    let i = HOSTS.iter().position(|h| *h == owner).unwrap_or(0);
    let probe = lab.probe(ip);
    std::thread::sleep(Duration::from_millis(100));
    lab.kill(i);
    let t0 = Instant::now();
    lab.served(ip, "failover", &|h| h != owner);
    std::thread::sleep(Duration::from_millis(100));
    let again = served_again_after(&probe.finish(), t0);
    lab.revive(i);
    lab.served(ip, "after the revival", &|h| h == owner);
    (owner, again)
}

/// The standalone lab with the manifests and flags its revived speakers get.
#[derive(Debug)]
pub struct Standalone<'a> {
    /// The lab.
    pub lab: &'a mut Lab,
    /// The manifest folder.
    pub manifests: &'a Path,
    /// Extra speaker flags.
    pub extra: &'a [&'a str],
}

impl Hosts for Standalone<'_> {
    fn served(&self, ip: IpAddr, what: &str, ok: &dyn Fn(&str) -> bool) -> String {
        self.lab.wait_served(ip, what, ok)
    }
    fn probe(&self, ip: IpAddr) -> ClientLoop {
        self.lab.client_loop(ip)
    }
    fn kill(&mut self, i: usize) {
        self.lab.kill_host(i);
    }
    fn revive(&mut self, i: usize) {
        self.lab.revive_host(i);
        self.lab.start_speaker(i, self.manifests, self.extra);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for s in &mut self.speakers {
            if let Some(p) = s.as_mut() {
                p.kill();
            }
        }
        self.net.teardown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bird_routes_parse_with_alternatives() {
        let text = "BIRD 2.0.12 ready.\nTable master4:\n198.51.100.0/32      unicast [h1v4 19:19:51.379] * (100) [i]\n\tvia 192.0.2.11 on eth0\n\tType: BGP univ\n\tBGP.next_hop: 192.0.2.11\n\tBGP.local_pref: 150\n\tBGP.community: (64512,100)\n                     unicast [h2v4 19:19:51.305] (100) [i]\n\tvia 192.0.2.12 on eth0\n\tBGP.next_hop: 192.0.2.12\n\tBGP.local_pref: 150\n";
        let routes = parse_bird_routes(text);
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[1].prefix, "198.51.100.0/32");
        assert_eq!(routes[1].protocol, "h2v4");
        assert_eq!(routes[0].next_hop, "192.0.2.11");
        assert_eq!(routes[0].local_pref, Some(150));
        assert_eq!(routes[0].communities, "(64512,100)");
    }
}
