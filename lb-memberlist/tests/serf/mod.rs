//! A lab of real `serf agent` processes (HashiCorp Serf, Debian package `serf`) on loopback, for
//! the interop tests of lb-memberlist.
//!
//! Every agent gets its own loopback address `127.X.Y.Z` (X from the process id, Y.Z from a
//! counter), gossips on port [`GOSSIP_PORT`] and answers RPC on [`RPC_PORT`] of that address
//! (not serf's defaults 7946 and 7373, which an agent installed as a service and bound to
//! 0.0.0.0 would hold), so concurrent scenarios never share a port and no packet leaves the
//! machine. Each lab has a temporary directory holding one log per agent; [`SerfLab`]'s `Drop`
//! kills every agent it started (SIGKILL to its process group, by id) and removes the
//! directory, also when a test panics. Each agent runs under `timeout`, so that one orphaned
//! by a killed test process still exits after [`MAX_AGENT_LIFE`].
//!
//! Serf needs no root. Without the `serf` binary a test skips with a message, unless
//! `LB_LAB=required`, in which case it fails.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The gossip (memberlist) port every agent binds on its own address.
pub const GOSSIP_PORT: u16 = 27946;
/// The RPC port every agent binds on its own address.
pub const RPC_PORT: u16 = 27373;
/// The longest an agent lives, whatever happens to the test process.
pub const MAX_AGENT_LIFE: Duration = Duration::from_secs(600);

static NEXT_ADDR: AtomicU32 = AtomicU32::new(1);
static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

fn required() -> bool {
    std::env::var("LB_LAB").is_ok_and(|v| v == "required")
}

/// A fresh loopback address for this process: `127.X.Y.Z` with `X` in 100..=227 derived from
/// the process id, so that concurrent test binaries do not collide either.
pub fn loopback_addr() -> Ipv4Addr {
    let n = NEXT_ADDR.fetch_add(1, Ordering::Relaxed);
    let x = 100 + (std::process::id() % 128) as u8;
    Ipv4Addr::new(127, x, (n / 250) as u8, (n % 250 + 1) as u8)
}

/// A member as `serf members -format json` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerfMember {
    /// Node name.
    pub name: String,
    /// `ip:port`.
    pub addr: String,
    /// `alive`, `leaving`, `left` or `failed`.
    pub status: String,
    /// Tags (serf's decoding of the node's memberlist meta).
    pub tags: Vec<(String, String)>,
}

/// One `serf agent` process.
pub struct Agent {
    /// Its node name.
    pub name: String,
    /// Its loopback address.
    pub ip: Ipv4Addr,
    /// Its log file (stdout and stderr).
    pub log: PathBuf,
    child: Option<Child>,
}

impl Agent {
    /// The gossip address (`ip:GOSSIP_PORT`).
    pub fn gossip(&self) -> SocketAddr {
        SocketAddr::from((self.ip, GOSSIP_PORT))
    }
    /// The RPC address (`ip:RPC_PORT`).
    pub fn rpc(&self) -> String {
        format!("{}:{RPC_PORT}", self.ip)
    }
}

/// A set of agents and their temporary directory; everything is killed and removed on drop.
pub struct SerfLab {
    /// The temporary directory (logs).
    pub dir: PathBuf,
    agents: Vec<Agent>,
}

impl SerfLab {
    /// A new, empty lab, or `None` (after printing why) when `serf` is not installed, which is
    /// a failure when `LB_LAB=required`.
    pub fn new(tag: &str) -> Option<SerfLab> {
        let found = Command::new("serf")
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                !required(),
                "LB_LAB=required but the `serf` binary cannot be run"
            );
            eprintln!(
                "skipping serf interop test: `serf` is not installed (set LB_LAB=required to make \
                 this a failure)"
            );
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "lb-serf-{}-{}-{tag}",
            std::process::id(),
            NEXT_LAB.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the lab's temporary directory");
        Some(SerfLab {
            dir,
            agents: Vec::new(),
        })
    }

    /// Starts `serf agent -node <name>` on a fresh loopback address, with `-encrypt <key>`
    /// (base64) when given, and waits until its RPC answers. Returns the agent's index.
    pub fn start(&mut self, name: &str, key: Option<&str>) -> usize {
        let ip = loopback_addr();
        let log = self.dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("create an agent log");
        let err = out.try_clone().expect("clone the log handle");
        // Under `timeout`, in a process group of its own: an agent orphaned by a test process
        // that was itself killed (no `Drop`) still dies after `MAX_AGENT_LIFE`.
        let mut cmd = Command::new("timeout");
        cmd.args(["-s", "KILL", &MAX_AGENT_LIFE.as_secs().to_string(), "serf"])
            .process_group(0)
            .arg("agent")
            .arg(format!("-node={name}"))
            .arg(format!("-bind={ip}:{GOSSIP_PORT}"))
            .arg(format!("-rpc-addr={ip}:{RPC_PORT}"))
            .arg("-log-level=debug")
            .arg("-profile=lan");
        if let Some(key) = key {
            cmd.arg(format!("-encrypt={key}"));
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn serf agent");
        self.agents.push(Agent {
            name: name.to_string(),
            ip,
            log,
            child: Some(child),
        });
        let idx = self.agents.len() - 1;
        let rpc = self.agents[idx].rpc();
        let up = wait_until_every(Duration::from_secs(10), Duration::from_millis(100), || {
            Command::new("serf")
                .args(["members", &format!("-rpc-addr={rpc}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        assert!(up, "serf agent {name} did not come up:\n{}", self.log(idx));
        idx
    }

    /// The agent at `idx`.
    pub fn agent(&self, idx: usize) -> &Agent {
        &self.agents[idx]
    }

    /// `serf members -format json` as seen by agent `idx`; `None` when the command fails (the
    /// agent is dead or not up yet).
    pub fn try_members(&self, idx: usize) -> Option<Vec<SerfMember>> {
        let out = Command::new("serf")
            .args([
                "members",
                &format!("-rpc-addr={}", self.agents[idx].rpc()),
                "-format=json",
            ])
            .stdin(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        parse_members(&out.stdout)
    }

    /// Like [`Self::try_members`], but a failure panics.
    pub fn members(&self, idx: usize) -> Vec<SerfMember> {
        self.try_members(idx)
            .unwrap_or_else(|| panic!("serf members failed on {}", self.agents[idx].name))
    }

    /// The status agent `idx` reports for node `name`, if it lists it.
    pub fn status_of(&self, idx: usize, name: &str) -> Option<String> {
        self.try_members(idx)?
            .into_iter()
            .find(|m| m.name == name)
            .map(|m| m.status)
    }

    /// Waits until agent `idx` reports `name` with `status`; panics with the agent's view and
    /// log after `timeout`.
    pub fn wait_status(&self, idx: usize, name: &str, status: &str, timeout: Duration) {
        let ok = wait_until_every(timeout, SERF_POLL, || {
            self.status_of(idx, name).as_deref() == Some(status)
        });
        assert!(
            ok,
            "{} never reported {name} as {status} within {timeout:?}; it lists {:?}\nlog:\n{}",
            self.agents[idx].name,
            self.try_members(idx),
            self.log_tail(idx, 60)
        );
    }

    /// `serf join` agent `idx` to `addr`.
    pub fn join(&self, idx: usize, addr: SocketAddr) {
        let out = Command::new("serf")
            .args([
                "join",
                &format!("-rpc-addr={}", self.agents[idx].rpc()),
                &addr.to_string(),
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run serf join");
        assert!(
            out.status.success(),
            "serf join {addr} from {} failed: {}{}",
            self.agents[idx].name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `serf event <name> <payload>` from agent `idx` (a user event, gossiped as a user
    /// message).
    pub fn event(&self, idx: usize, name: &str, payload: &str) {
        let out = Command::new("serf")
            .args([
                "event",
                &format!("-rpc-addr={}", self.agents[idx].rpc()),
                name,
                payload,
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run serf event");
        assert!(
            out.status.success(),
            "serf event failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `serf leave` for agent `idx` (a graceful leave; the agent then exits).
    pub fn leave(&mut self, idx: usize) {
        let out = Command::new("serf")
            .args(["leave", &format!("-rpc-addr={}", self.agents[idx].rpc())])
            .stdin(Stdio::null())
            .output()
            .expect("run serf leave");
        assert!(
            out.status.success(),
            "serf leave on {} failed: {}",
            self.agents[idx].name,
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(mut child) = self.agents[idx].child.take() {
            // The agent exits by itself after a leave; give it a moment, then make sure.
            let exited = wait_until(Duration::from_secs(5), || {
                child.try_wait().ok().flatten().is_some()
            });
            if !exited {
                kill_group(&mut child);
            }
            let _ = child.wait();
        }
    }

    /// Kills agent `idx` with SIGKILL: no leave, its peers must detect the failure.
    pub fn kill(&mut self, idx: usize) {
        if let Some(mut child) = self.agents[idx].child.take() {
            kill_group(&mut child);
        }
    }

    /// The agent's whole log.
    pub fn log(&self, idx: usize) -> String {
        std::fs::read_to_string(&self.agents[idx].log).unwrap_or_default()
    }

    /// The last `lines` lines of the agent's log, without the RPC connections of our polling.
    pub fn log_tail(&self, idx: usize, lines: usize) -> String {
        let log = self.log(idx);
        let all: Vec<&str> = log
            .lines()
            .filter(|l| !l.contains("agent.ipc: Accepted client"))
            .collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for SerfLab {
    fn drop(&mut self) {
        for agent in &mut self.agents {
            if let Some(mut child) = agent.child.take() {
                kill_group(&mut child);
            }
        }
        if std::thread::panicking() {
            eprintln!(
                "serf lab logs kept for the failure report were in {:?}",
                self.dir
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// SIGKILL to the agent's process group (`timeout` and the `serf` under it), by its id, then
/// reaps it.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// Parses `serf members -format json`: `{"members": [{"name", "addr", "status", "tags"}, ..]}`.
pub fn parse_members(json: &[u8]) -> Option<Vec<SerfMember>> {
    let v: serde_json::Value = serde_json::from_slice(json).ok()?;
    let list = v.get("members")?.as_array()?;
    list.iter()
        .map(|m| {
            let s = |k: &str| m.get(k).and_then(|x| x.as_str()).map(str::to_string);
            let tags = m
                .get("tags")
                .and_then(|t| t.as_object())
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            Some(SerfMember {
                name: s("name")?,
                addr: s("addr")?,
                status: s("status")?,
                tags,
            })
        })
        .collect()
}

/// How often `serf members` is run while waiting (each run is a process and an RPC session).
pub const SERF_POLL: Duration = Duration::from_millis(150);

/// Polls `cond` every 50 ms until it holds (true) or `timeout` passes (false).
pub fn wait_until(timeout: Duration, cond: impl FnMut() -> bool) -> bool {
    wait_until_every(timeout, Duration::from_millis(50), cond)
}

/// Polls `cond` every `every` until it holds (true) or `timeout` passes (false).
pub fn wait_until_every(
    timeout: Duration,
    every: Duration,
    mut cond: impl FnMut() -> bool,
) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// A throwaway `-encrypt` key for the tests (32 bytes, base64), and its raw bytes.
pub const TEST_KEY_B64: &str = "zbRbIhaEqkbQtjM346CcptTm1G0Ba/FLh0bEI842iN4=";
/// [`TEST_KEY_B64`] decoded.
pub const TEST_KEY: [u8; 32] = [
    0xcd, 0xb4, 0x5b, 0x22, 0x16, 0x84, 0xaa, 0x46, 0xd0, 0xb6, 0x33, 0x37, 0xe3, 0xa0, 0x9c, 0xa6,
    0xd4, 0xe6, 0xd4, 0x6d, 0x01, 0x6b, 0xf1, 0x4b, 0x87, 0x46, 0xc4, 0x23, 0xce, 0x36, 0x88, 0xde,
];
/// Another key, for the wrong-key case.
pub const OTHER_KEY: [u8; 32] = [0x42; 32];
