//! Test support for the network-namespace labs of lb-arp, lb-ndp and lb-bgp (and their lab
//! benches): running commands, the `LB_LAB=required` skip-or-fail rule, building hosts (one
//! namespace each) on a bridge in a switch namespace, and tearing it all down again.
//!
//! [`l2host::L2Host`] runs an lb-arp or lb-ndp driver inside a host's namespace; [`net`] runs
//! threads, a TCP server and a TCP client there. [`go`] builds and runs real Go peers (a
//! HashiCorp memberlist node configured as MetalLB's speaker) for interop tests.
//!
//! The labs' topologies live here too, so no test reaches into another crate's files:
//! [`l2`] (a client and two nodes on one LAN, for lb-arp and lb-ndp) and `bgp` (feature `bgp`:
//! BIRD, FRR, GoBGP and our speaker around a router, for lb-bgp and the `bgp_lab` bench). Dev-dependency only: never used by non-test code
//! and never published.
//!
//! ```text
//!        <prefix>-sw: bridge br0 (multicast snooping off, no STP)
//!          | p-<host>            | p-<host>  ...
//!        eth0                  eth0
//!        <prefix>-<host>       <prefix>-<host>
//! ```

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Calls `f` every `every` until it returns true (true) or `timeout` has passed (false).
pub fn poll_until(timeout: Duration, every: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(every);
    }
}

#[cfg(all(target_os = "linux", feature = "bgp"))]
pub mod bgp;
#[cfg(all(target_os = "linux", feature = "kube"))]
pub mod cluster;
#[cfg(target_os = "linux")]
pub mod e2e;
pub mod fuzz;
pub mod go;
#[cfg(all(target_os = "linux", feature = "kube"))]
pub mod kube;
#[cfg(target_os = "linux")]
pub mod l2;
#[cfg(target_os = "linux")]
pub mod l2_scenarios;
#[cfg(target_os = "linux")]
pub mod l2host;
#[cfg(target_os = "linux")]
pub mod net;
pub mod process;

/// The bytes of a hex string as tcpdump writes it (pairs of digits; whitespace, as in fixtures
/// split over lines, is skipped); panics on anything else (fixtures are literals).
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Runs `args[0]` with the rest as arguments, stdin closed, and collects its output.
pub fn try_run(args: &[&str]) -> std::io::Result<Output> {
    Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
}

/// Like [`try_run`], but panics when the command cannot be started at all.
pub fn run(args: &[&str]) -> Output {
    try_run(args).unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"))
}

/// Like [`run`], but also panics (with its stderr) when the command fails.
pub fn run_ok(args: &[&str]) {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `tool` is a command the shell can find (`command -v`).
pub fn has_tool(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `LB_LAB=required`: the lab must run, skipping is a failure.
pub fn required() -> bool {
    std::env::var("LB_LAB").is_ok_and(|v| v == "required")
}

/// Gives up on a lab test because the lab cannot be built (`why`): panics when
/// [`required`], otherwise prints that the test is skipped and returns `None`.
pub fn skip_or_fail<T>(why: &str) -> Option<T> {
    assert!(
        !required(),
        "LB_LAB=required but the lab cannot be built: {why}"
    );
    eprintln!("skipping lab test: {why} (set LB_LAB=required to make this a failure)");
    None
}

/// The namespaces of one lab: `<prefix>-sw` (the switch) and `<prefix>-<host>` for each host.
///
/// Dropping it (or [`Namespaces::teardown`]) kills every process left inside those namespaces
/// and deletes them, also when a test panics.
#[derive(Debug)]
pub struct Namespaces {
    prefix: String,
    hosts: Vec<String>,
    torn_down: bool,
}

impl Namespaces {
    /// Checks that `ip` and `tools` exist and creates the switch namespace `<prefix>-sw` (which
    /// also proves that this process may create namespaces). `hosts` are the names of the hosts
    /// the lab will add with [`Namespaces::add_host`]; all of them are torn down on drop.
    ///
    /// Returns why not when the lab cannot be built (after deleting what was made); pass that
    /// to [`skip_or_fail`].
    pub fn create(prefix: String, hosts: &[&str], tools: &[&str]) -> Result<Namespaces, String> {
        let missing: Vec<&str> = ["ip"]
            .iter()
            .chain(tools)
            .copied()
            .filter(|t| !has_tool(t))
            .collect();
        let why = if !missing.is_empty() {
            Some(format!("missing tools: {missing:?}"))
        } else {
            let probe = run(&["ip", "netns", "add", &format!("{prefix}-sw")]);
            (!probe.status.success()).then(|| {
                format!(
                    "cannot create a network namespace (root needed): {}",
                    String::from_utf8_lossy(&probe.stderr).trim()
                )
            })
        };
        let net = Namespaces {
            prefix,
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            torn_down: false,
        };
        match why {
            Some(why) => {
                drop(net);
                Err(why)
            }
            None => Ok(net),
        }
    }

    /// The prefix of every namespace name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The namespace name of `host` (`"sw"` for the switch).
    pub fn ns(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    /// The namespace file of `host` (for `setns`).
    pub fn netns_path(&self, host: &str) -> String {
        format!("/run/netns/{}", self.ns(host))
    }

    /// Runs a command in `host`'s namespace.
    pub fn exec(&self, host: &str, args: &[&str]) -> Output {
        let ns = self.ns(host);
        let mut full = vec!["ip", "netns", "exec", ns.as_str()];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Sets up the switch: IPv6 off in its namespace, and an up bridge `br0` with multicast
    /// snooping, STP and forwarding delay off.
    pub fn switch(&self) {
        let sw = self.ns("sw");
        run_ok(&[
            "ip",
            "netns",
            "exec",
            &sw,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]);
        run_ok(&[
            "ip",
            "-n",
            &sw,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ]);
        run_ok(&["ip", "-n", &sw, "link", "set", "br0", "up"]);
    }

    /// Adds `host`: its namespace (with no DAD, no router advertisements or solicitations, set
    /// before eth0 exists so it inherits them), a veth pair whose `eth0` end (MAC `mac`) is in
    /// the host and whose `p-<host>` end is a port of the switch's `br0`, `lo` and `eth0` up,
    /// and the addresses `addr4` and `addr6` (with prefix length; IPv6 `nodad`) on `eth0`.
    pub fn add_host(&self, host: &str, mac: &str, addr4: &str, addr6: &str) {
        let sw = self.ns("sw");
        let ns = self.ns(host);
        run_ok(&["ip", "netns", "add", &ns]);
        // Before eth0 exists, so it inherits them: no DAD delay (link-local usable at once),
        // no router advertisements or solicitations.
        run_ok(&[
            "ip",
            "netns",
            "exec",
            &ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
            "net.ipv6.conf.all.accept_ra=0",
            "net.ipv6.conf.default.accept_ra=0",
            "net.ipv6.conf.default.router_solicitations=0",
        ]);
        let port = format!("p-{host}");
        run_ok(&[
            "ip", "-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
            "address", mac, "netns", &ns,
        ]);
        run_ok(&["ip", "-n", &sw, "link", "set", &port, "master", "br0", "up"]);
        run_ok(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        run_ok(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
        run_ok(&["ip", "-n", &ns, "addr", "add", addr4, "dev", "eth0"]);
        run_ok(&[
            "ip", "-n", &ns, "addr", "add", addr6, "dev", "eth0", "nodad",
        ]);
    }

    /// Kills every process left in the lab's namespaces (and only those), then deletes the
    /// namespaces. Errors are ignored; a second call does nothing.
    pub fn teardown(&mut self) {
        if std::mem::replace(&mut self.torn_down, true) {
            return;
        }
        let ours: Vec<String> = std::iter::once("sw")
            .chain(self.hosts.iter().map(String::as_str))
            .map(|h| self.ns(h))
            .collect();
        for ns in &ours {
            // Only processes inside namespaces this lab created.
            let Ok(out) = try_run(&["ip", "netns", "pids", ns]) else {
                continue;
            };
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = try_run(&["kill", "-KILL", pid]);
            }
        }
        for ns in &ours {
            let _ = try_run(&["ip", "netns", "del", ns]);
        }
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        self.teardown();
    }
}
