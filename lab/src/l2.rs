//! The Layer 2 lab of the lb-arp and lb-ndp integration tests: a client and two nodes on one
//! bridge, built from Linux network namespaces.
//!
//! ```text
//!        <prefix>-sw: bridge br0 (multicast snooping off)
//!          | p-client            | p-node1             | p-node2
//!        eth0 .10 / ::a        eth0 .11 / ::b        eth0 .12 / ::c
//!        <prefix>-client       <prefix>-node1        <prefix>-node2
//! ```
//!
//! LAN 192.0.2.0/24 and 2001:db8:1::/64 (documentation ranges), MACs 02:00:00:00:00:0a/0b/0c.
//! Nothing is attached to the root namespace, so no packet can leave the lab. Dropping a [`Lab`]
//! kills every process left in its namespaces and deletes them, also when a test panics.
//!
//! Needs root and `ip`. Without them a test skips with a message, unless `LB_LAB=required`,
//! in which case it fails. The mechanics (commands, namespaces, bridge and veths, teardown) are
//! the crate root's; this module holds the topology.

use std::net::IpAddr;
use std::process::Output;

use crate::{run, run_ok};
use std::time::Duration;

/// The lab's hosts: a client and two nodes.
pub const HOSTS: [&str; 3] = ["client", "node1", "node2"];

/// The last octet of `host`'s addresses and MAC (10, 11, 12).
///
/// # Panics
/// On a host name that is not one of [`HOSTS`].
pub fn host_index(host: &str) -> u8 {
    match host {
        "client" => 10,
        "node1" => 11,
        "node2" => 12,
        other => panic!("unknown lab host {other}"),
    }
}
/// `host`'s MAC address.
pub fn mac(host: &str) -> String {
    format!("02:00:00:00:00:{:02x}", host_index(host))
}
/// `host`'s IPv4 address.
pub fn ip4(host: &str) -> String {
    format!("192.0.2.{}", host_index(host))
}
/// `host`'s IPv6 address.
pub fn ip6(host: &str) -> String {
    format!("2001:db8:1::{:x}", host_index(host))
}

/// A lab of four namespaces; deleted on drop.
pub struct Lab {
    net: crate::Namespaces,
}

impl Lab {
    /// Builds the lab, or returns `None` (after printing why) when this machine cannot, which
    /// is a test failure when `LB_LAB=required`. `tag` must be unique among concurrent tests.
    pub fn up(tag: &str, tools: &[&str]) -> Option<Lab> {
        let prefix = format!("lbl2{}{tag}", std::process::id());
        let net = match crate::Namespaces::create(prefix, &HOSTS, tools) {
            Ok(net) => net,
            Err(why) => return crate::skip_or_fail(&why),
        };
        let lab = Lab { net };
        lab.build();
        Some(lab)
    }

    /// The name of `host`'s namespace.
    pub fn ns(&self, host: &str) -> String {
        self.net.ns(host)
    }

    /// The path of `host`'s namespace (`/run/netns/...`).
    pub fn netns_path(&self, host: &str) -> String {
        self.net.netns_path(host)
    }

    fn build(&self) {
        self.net.switch();
        for host in HOSTS {
            let ns = self.ns(host);
            let a4 = format!("{}/24", ip4(host));
            let a6 = format!("{}/64", ip6(host));
            self.net.add_host(host, &mac(host), &a4, &a6);
            if host != "client" {
                // The kernel must not answer ARP for VIPs it accepts: that is our job.
                run_ok(&[
                    "ip",
                    "netns",
                    "exec",
                    &ns,
                    "sysctl",
                    "-qw",
                    "net.ipv4.conf.all.arp_ignore=1",
                    "net.ipv4.conf.all.arp_announce=2",
                ]);
            }
        }
    }

    /// Runs a command in `host`'s namespace.
    pub fn exec(&self, host: &str, args: &[&str]) -> Output {
        self.net.exec(host, args)
    }

    /// Makes `host` accept traffic to `vip` without owning it on an interface (as kube-proxy
    /// does): an AnyIP local route.
    pub fn accept_vip(&self, host: &str, vip: &str) {
        let ns = self.ns(host);
        let (fam, len) = if vip.contains(':') {
            ("-6", 128)
        } else {
            ("-4", 32)
        };
        run_ok(&[
            "ip",
            "-n",
            &ns,
            fam,
            "route",
            "replace",
            "local",
            &format!("{vip}/{len}"),
            "dev",
            "lo",
        ]);
    }

    /// The MAC that answers `arping` for `ip` from `host`, if any.
    pub fn arping(&self, host: &str, ip: &str) -> Option<String> {
        let out = self.exec(
            host,
            &["arping", "-c", "1", "-C", "1", "-w", "2", "-i", "eth0", ip],
        );
        find_mac(&String::from_utf8_lossy(&out.stdout))
    }

    /// The round-trip time arping reports for `ip` (Habets arping), in microseconds.
    pub fn arping_rtt_us(&self, host: &str, ip: &str) -> Option<f64> {
        let out = self.exec(
            host,
            &["arping", "-c", "1", "-C", "1", "-w", "2", "-i", "eth0", ip],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let t = text.split("time=").nth(1)?;
        let mut parts = t.split_whitespace();
        let v: f64 = parts.next()?.parse().ok()?;
        match parts.next()? {
            "usec" => Some(v),
            "msec" => Some(v * 1000.0),
            "sec" => Some(v * 1e6),
            _ => None,
        }
    }

    /// The MAC in `ndisc6`'s answer for `ip` from `host`, if any.
    pub fn ndisc6(&self, host: &str, ip: &str) -> Option<String> {
        let out = self.exec(host, &["ndisc6", "-1", "-r", "1", "-w", "1000", ip, "eth0"]);
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix("Target link-layer address: "))
            .map(|m| m.trim().to_ascii_lowercase())
    }

    /// `host`'s kernel neighbour entry for `ip` (MAC), if any.
    pub fn neigh(&self, host: &str, ip: &str) -> Option<String> {
        let out = run(&[
            "ip",
            "-n",
            &self.ns(host),
            "neigh",
            "show",
            ip,
            "dev",
            "eth0",
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        let mut words = text.split_whitespace();
        words.find(|w| *w == "lladdr")?;
        words.next().map(str::to_ascii_lowercase)
    }

    /// The link-layer multicast groups of `host`'s eth0 (`ip maddr`), as lower-case text.
    pub fn link_groups(&self, host: &str) -> String {
        let out = run(&["ip", "-n", &self.ns(host), "maddr", "show", "dev", "eth0"]);
        String::from_utf8_lossy(&out.stdout).to_ascii_lowercase()
    }

    /// Pings `ip` once from `host` (fills the kernel's neighbour table).
    pub fn ping(&self, host: &str, ip: &str) -> bool {
        let fam = if ip.contains(':') { "-6" } else { "-4" };
        self.exec(host, &["ping", fam, "-c", "1", "-W", "1", ip])
            .status
            .success()
    }

    /// Polls `f` every 20 ms until it returns true or `timeout` passes.
    pub fn wait_for(timeout: Duration, f: impl FnMut() -> bool) -> bool {
        crate::poll_until(timeout, Duration::from_millis(20), f)
    }
}

fn find_mac(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || c == '[' || c == ']' || c == '(' || c == ')')
        .find(|w| w.len() == 17 && w.matches(':').count() == 5)
        .map(str::to_ascii_lowercase)
}

/// A one-connection-at-a-time TCP server in `host`'s namespace that answers every connection
/// with `reply`, on port 8080 of every address, for 30 s (see [`crate::net::tcp_server`]).
pub fn tcp_server(lab: &Lab, host: &str, v6: bool, reply: &'static str) {
    crate::net::tcp_server(lab.netns_path(host), v6, reply, 30);
}

/// Connects from `host` to `ip:8080` and returns what the server says.
pub fn tcp_get(lab: &Lab, host: &str, ip: IpAddr) -> Option<String> {
    crate::net::tcp_get(lab.netns_path(host), ip)
}
