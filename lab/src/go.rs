//! Real Go peers for interop tests: programs under `lab/go/`, built from the Go module proxy by
//! `lab/go/build.sh` into a cache outside the repository, and run as child processes.
//!
//! [`memberlist_peer`] finds (building on first use) `memberlist-peer`, a HashiCorp memberlist
//! node at the version MetalLB pins, configured as MetalLB's speaker configures it;
//! [`GoPeer`] runs one, reads the records it prints on stdout on a thread (each stamped with
//! the [`Instant`] it was read), and kills it on drop.
//!
//! ```no_run
//! use std::time::Duration;
//! use lb_lab::go::{memberlist_peer_or_skip, GoPeer, PeerOptions};
//!
//! let Some(bin) = memberlist_peer_or_skip() else { return };
//! let a = GoPeer::spawn(&bin, &PeerOptions::new("a", "127.0.0.1".parse().unwrap(), 7946)).unwrap();
//! let b = GoPeer::spawn(
//!     &bin,
//!     &PeerOptions::new("b", "127.0.0.2".parse().unwrap(), 7946).join(a.addr()),
//! )
//! .unwrap();
//! assert!(a.wait_event("join", "b", Duration::from_secs(5)).is_some());
//! # drop(b);
//! ```
//!
//! Peers started with [`GoPeer::spawn`] read commands from a pipe and exit when it closes, so
//! a peer whose test process died (without running any `Drop`) exits with it.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The MetalLB release whose memberlist tree a peer is built with (`lab/go/memberlist-peer`'s
/// module files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Release {
    /// MetalLB v0.15.2: `github.com/hashicorp/memberlist v0.5.1` (`go.mod`).
    V0_15,
    /// MetalLB v0.16.2: `github.com/hashicorp/memberlist v0.6.0` (`go.metallb-v0.16.mod`).
    V0_16,
}

impl Release {
    /// The memberlist module version of this release.
    pub fn memberlist_version(self) -> &'static str {
        match self {
            Release::V0_15 => "v0.5.1",
            Release::V0_16 => "v0.6.0",
        }
    }

    fn variant(self) -> Option<&'static str> {
        match self {
            Release::V0_15 => None,
            Release::V0_16 => Some("metallb-v0.16"),
        }
    }
}

/// The build script, `lab/go/build.sh`.
pub fn build_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("go/build.sh")
}

/// Runs `lab/go/build.sh <program> [variant]` and returns the binary's path (the script's last
/// stdout line), or why not: Go missing, the module proxy unreachable, a compile error.
pub fn build(program: &str, variant: Option<&str>) -> Result<PathBuf, String> {
    if !crate::has_tool("go") {
        return Err(format!(
            "`go` is not installed: the Go peer `{program}` is built from the Go module proxy \
             with Go >= 1.24 (see lab/README.md)"
        ));
    }
    let script = build_script();
    let mut cmd = Command::new("bash");
    cmd.arg(&script).arg(program);
    if let Some(v) = variant {
        cmd.arg(v);
    }
    let t = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "building the Go peer `{program}` failed ({}; is the Go module proxy reachable? \
             `go env GOPROXY`):\n{}",
            out.status,
            tail.join("\n")
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout
        .lines()
        .last()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| format!("{} printed no path", script.display()))?;
    if t.elapsed() > Duration::from_secs(2) {
        eprint!("{stderr}");
    }
    Ok(path)
}

/// The `memberlist-peer` binary of `release`: `$LB_MEMBERLIST_PEER` if set (a prebuilt binary,
/// for machines without Go), else built (or found in the cache) by `lab/go/build.sh`. Built at
/// most once per test process and release.
pub fn memberlist_peer_release(release: Release) -> Result<PathBuf, String> {
    /// The result of each release's build in this process.
    type Builds = Vec<(Release, Result<PathBuf, String>)>;
    static BUILT: Mutex<Builds> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, r)) = built.iter().find(|(r, _)| *r == release) {
        return r.clone();
    }
    let env = match release {
        Release::V0_15 => "LB_MEMBERLIST_PEER",
        Release::V0_16 => "LB_MEMBERLIST_PEER_V0_16",
    };
    let r = match std::env::var_os(env) {
        Some(p) => {
            let p = PathBuf::from(p);
            if p.is_file() {
                Ok(p)
            } else {
                Err(format!("{env}={} is not a file", p.display()))
            }
        }
        None => build("memberlist-peer", release.variant()),
    };
    built.push((release, r.clone()));
    r
}

/// [`memberlist_peer_release`] of MetalLB v0.15 (memberlist v0.5.1).
pub fn memberlist_peer() -> Result<PathBuf, String> {
    memberlist_peer_release(Release::V0_15)
}

/// [`memberlist_peer`], or `None` after [`crate::skip_or_fail`] (a panic under
/// `LB_LAB=required`, saying what is missing).
pub fn memberlist_peer_or_skip() -> Option<PathBuf> {
    memberlist_peer().map_or_else(|why| crate::skip_or_fail(&why), Some)
}

/// Timings of a peer (`-profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `memberlist.DefaultLANConfig()`, MetalLB's default.
    Lan,
    /// `memberlist.DefaultWANConfig()` (MetalLB's `--ml-wan-config`).
    Wan,
    /// Sub-second timings, those of lb-memberlist's `Config::fast()`; not a MetalLB setting.
    Fast,
}

impl Profile {
    fn flag(self) -> &'static str {
        match self {
            Profile::Lan => "lan",
            Profile::Wan => "wan",
            Profile::Fast => "fast",
        }
    }
}

/// How to start a peer.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// Node name (MetalLB: the Kubernetes node name).
    pub name: String,
    /// Bind address, also advertised.
    pub bind: IpAddr,
    /// Bind port (UDP and TCP), also advertised; 0 lets the kernel pick.
    pub port: u16,
    /// Seeds to join at start.
    pub join: Vec<SocketAddr>,
    /// The memberlist Secret's `secretkey` text; the peer derives the key as MetalLB does.
    pub key: Option<String>,
    /// Timings.
    pub profile: Profile,
}

impl PeerOptions {
    /// A peer `name` on `bind:port`, LAN timings, unencrypted, joining nobody.
    pub fn new(name: &str, bind: IpAddr, port: u16) -> Self {
        PeerOptions {
            name: name.to_string(),
            bind,
            port,
            join: Vec::new(),
            key: None,
            profile: Profile::Lan,
        }
    }

    /// Also joins `seed` at start.
    pub fn join(mut self, seed: SocketAddr) -> Self {
        self.join.push(seed);
        self
    }

    /// Encrypted with the key MetalLB derives from `secret`.
    pub fn key(mut self, secret: &str) -> Self {
        self.key = Some(secret.to_string());
        self
    }

    /// With `profile`'s timings.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }
}

/// One stdout line of a peer: `head key=value ...` (values may be Go-quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When the line was read.
    pub at: Instant,
    /// The whole line.
    pub line: String,
    /// The first word (`ready`, `joined`, `member`, `event=join`, ...).
    pub head: String,
    /// Every `key=value` word, in order, the head included when it is one.
    pub fields: Vec<(String, String)>,
}

impl Record {
    /// Parses one line read at `at`.
    pub fn parse(at: Instant, line: &str) -> Record {
        let mut fields = Vec::new();
        let mut rest = line.trim();
        while !rest.is_empty() {
            let (word, value, tail) = next_word(rest);
            if let Some(v) = value {
                fields.push((word.to_string(), v));
            }
            rest = tail.trim_start();
        }
        let head = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        Record {
            at,
            line: line.to_string(),
            head,
            fields,
        }
    }

    /// The value of `key`, if the line has it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The membership event (`join`, `leave`, `update`, `suspect`, `failed`) and the node it
    /// is about, if this is an event record.
    pub fn event(&self) -> Option<(&str, &str)> {
        Some((self.get("event")?, self.get("name")?))
    }

    /// `addr:port` of an event or member record.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        let ip: IpAddr = self.get("addr")?.parse().ok()?;
        let port: u16 = self.get("port")?.parse().ok()?;
        Some(SocketAddr::new(ip, port))
    }
}

/// Splits the first word off `s`: `(key, Some(value), rest)` for `key=value` (value unquoted
/// when Go quoted it), `(word, None, rest)` otherwise.
fn next_word(s: &str) -> (&str, Option<String>, &str) {
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    let Some(eq) = s[..end].find('=') else {
        return (&s[..end], None, &s[end..]);
    };
    let key = &s[..eq];
    let v = &s[eq + 1..];
    if !v.starts_with('"') {
        let vend = v.find(char::is_whitespace).unwrap_or(v.len());
        return (key, Some(v[..vend].to_string()), &v[vend..]);
    }
    let mut out = String::new();
    let mut chars = v.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (key, Some(out), &v[i + 1..]),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, c)) => out.push(c),
                None => break,
            },
            c => out.push(c),
        }
    }
    (key, Some(out), "")
}

/// What the reader threads collected.
#[derive(Debug, Default)]
struct Output {
    records: Vec<Record>,
    stderr: VecDeque<String>,
    stdout_closed: bool,
}

/// How many stderr lines (memberlist's log) a peer keeps for failure reports.
const STDERR_KEPT: usize = 400;

/// A running `memberlist-peer`: killed (SIGKILL) and reaped on drop.
pub struct GoPeer {
    name: String,
    addr: SocketAddr,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    output: Arc<(Mutex<Output>, Condvar)>,
}

impl std::fmt::Debug for GoPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoPeer")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .field("pid", &self.child.as_ref().map(Child::id))
            .finish()
    }
}

impl GoPeer {
    /// Starts `bin` (a `memberlist-peer`) with `opts` and waits (up to 10 s) for its `ready`
    /// record. The join, if any, runs after that: wait for [`GoPeer::wait_joined`].
    pub fn spawn(bin: &Path, opts: &PeerOptions) -> std::io::Result<GoPeer> {
        let mut cmd = Command::new(bin);
        cmd.arg(format!("-name={}", opts.name))
            .arg(format!("-bind={}", opts.bind))
            .arg(format!("-port={}", opts.port))
            .arg(format!("-profile={}", opts.profile.flag()))
            .arg("-stdin");
        if !opts.join.is_empty() {
            let seeds: Vec<String> = opts.join.iter().map(SocketAddr::to_string).collect();
            cmd.arg(format!("-join={}", seeds.join(",")));
        }
        if let Some(key) = &opts.key {
            cmd.arg(format!("-key={key}"));
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let output = Arc::new((Mutex::new(Output::default()), Condvar::new()));
        if let Some(stdout) = child.stdout.take() {
            let o = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let rec = Record::parse(Instant::now(), &line);
                    let (m, cv) = &*o;
                    m.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .records
                        .push(rec);
                    cv.notify_all();
                }
                let (m, cv) = &*o;
                m.lock().unwrap_or_else(|e| e.into_inner()).stdout_closed = true;
                cv.notify_all();
            });
        }
        if let Some(stderr) = child.stderr.take() {
            let o = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let mut g = o.0.lock().unwrap_or_else(|e| e.into_inner());
                    if g.stderr.len() == STDERR_KEPT {
                        g.stderr.pop_front();
                    }
                    g.stderr.push_back(line);
                }
            });
        }
        let stdin = child.stdin.take();
        let mut peer = GoPeer {
            name: opts.name.clone(),
            addr: SocketAddr::new(opts.bind, opts.port),
            child: Some(child),
            stdin,
            output,
        };
        let ready = peer.wait_record(Duration::from_secs(10), 0, |r| r.head == "ready");
        match ready.and_then(|r| r.socket_addr()) {
            Some(addr) => {
                peer.addr = addr;
                Ok(peer)
            }
            None => Err(std::io::Error::other(format!(
                "memberlist-peer {} did not start:\n{}",
                opts.name,
                peer.stderr_tail(30)
            ))),
        }
    }

    /// Its node name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its gossip address (as it reported it).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Every record so far.
    pub fn records(&self) -> Vec<Record> {
        self.output
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .records
            .clone()
    }

    /// How many records have been read so far (a mark for [`GoPeer::wait_record`]).
    pub fn mark(&self) -> usize {
        self.output
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .records
            .len()
    }

    /// Waits up to `timeout` for a record at index `from` or later that satisfies `pred`.
    pub fn wait_record(
        &self,
        timeout: Duration,
        from: usize,
        pred: impl Fn(&Record) -> bool,
    ) -> Option<Record> {
        let end = Instant::now() + timeout;
        let (m, cv) = &*self.output;
        let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = g.records.iter().skip(from).find(|r| pred(r)) {
                return Some(r.clone());
            }
            let now = Instant::now();
            if now >= end || g.stdout_closed {
                return None;
            }
            g = cv
                .wait_timeout(g, end - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits up to `timeout` for the membership event `kind` about `node` (any time since the
    /// start) and returns when it was read.
    pub fn wait_event(&self, kind: &str, node: &str, timeout: Duration) -> Option<Instant> {
        self.wait_event_since(0, kind, node, timeout)
    }

    /// Like [`GoPeer::wait_event`], counting only records from the mark `from` on.
    pub fn wait_event_since(
        &self,
        from: usize,
        kind: &str,
        node: &str,
        timeout: Duration,
    ) -> Option<Instant> {
        self.wait_record(timeout, from, |r| r.event() == Some((kind, node)))
            .map(|r| r.at)
    }

    /// Waits for the result of the start-up join: `Ok(n)` joined through `n` seeds, or the
    /// error the peer printed.
    pub fn wait_joined(&self, timeout: Duration) -> Result<usize, String> {
        match self.wait_record(timeout, 0, |r| r.head == "joined" || r.head == "join-error") {
            Some(r) if r.head == "joined" => {
                Ok(r.get("n").and_then(|n| n.parse().ok()).unwrap_or(0))
            }
            Some(r) => Err(r.get("err").unwrap_or_default().to_string()),
            None => Err(format!("no join result within {timeout:?}")),
        }
    }

    fn command(&mut self, line: &str) -> std::io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| std::io::Error::other("peer stopped"))?;
        writeln!(stdin, "{line}")?;
        stdin.flush()
    }

    /// The peer's live members (memberlist's `Members()`: neither dead nor left, suspects
    /// included; MetalLB's candidate set), itself included: `(name, address)`.
    pub fn members(&mut self, timeout: Duration) -> Option<Vec<(String, SocketAddr)>> {
        let from = self.mark();
        self.command("members").ok()?;
        let end = self.wait_record(timeout, from, |r| r.head == "members-end")?;
        let records = self.records();
        let members = records[from..]
            .iter()
            .take_while(|r| r.at <= end.at && r.head != "members-end")
            .filter(|r| r.head == "member")
            .filter_map(|r| Some((r.get("name")?.to_string(), r.socket_addr()?)))
            .collect();
        Some(members)
    }

    /// Names of [`GoPeer::members`], sorted.
    pub fn member_names(&mut self, timeout: Duration) -> Option<Vec<String>> {
        let mut names: Vec<String> = self.members(timeout)?.into_iter().map(|m| m.0).collect();
        names.sort();
        Some(names)
    }

    /// Joins `seeds` and waits for the result.
    pub fn join(&mut self, seeds: &[SocketAddr], timeout: Duration) -> Result<usize, String> {
        let from = self.mark();
        let list: Vec<String> = seeds.iter().map(SocketAddr::to_string).collect();
        self.command(&format!("join {}", list.join(",")))
            .map_err(|e| e.to_string())?;
        match self.wait_record(timeout, from, |r| {
            r.head == "joined" || r.head == "join-error"
        }) {
            Some(r) if r.head == "joined" => {
                Ok(r.get("n").and_then(|n| n.parse().ok()).unwrap_or(0))
            }
            Some(r) => Err(r.get("err").unwrap_or_default().to_string()),
            None => Err(format!("no join result within {timeout:?}")),
        }
    }

    /// A graceful leave as MetalLB's speaker stops: `Leave(1 s)`, `Shutdown()`, exit. Waits up
    /// to `timeout` for the process to end; true if it did after printing `left`.
    pub fn leave(&mut self, timeout: Duration) -> bool {
        let from = self.mark();
        if self.command("leave").is_err() {
            return false;
        }
        let left = self
            .wait_record(timeout, from, |r| r.head == "left")
            .is_some();
        self.stdin = None;
        if let Some(mut child) = self.child.take() {
            let end = Instant::now() + timeout;
            while Instant::now() < end {
                if let Ok(Some(_)) = child.try_wait() {
                    return left;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            return false;
        }
        left
    }

    /// SIGKILL: the peer stops without a word, its members must detect the failure. Returns
    /// the instant of the kill (after the process is gone).
    pub fn kill(&mut self) -> Instant {
        self.stdin = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        Instant::now()
    }

    /// The last `n` lines of its stderr (memberlist's log).
    pub fn stderr_tail(&self, n: usize) -> String {
        let g = self.output.0.lock().unwrap_or_else(|e| e.into_inner());
        let skip = g.stderr.len().saturating_sub(n);
        g.stderr
            .iter()
            .skip(skip)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Everything it printed on stdout so far, one line each.
    pub fn stdout_text(&self) -> String {
        self.records()
            .iter()
            .map(|r| r.line.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for GoPeer {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn records() {
        let now = Instant::now();
        let r = Record::parse(now, "event=join name=b addr=127.0.0.2 port=7946");
        assert_eq!(r.head, "event=join");
        assert_eq!(r.event(), Some(("join", "b")));
        assert_eq!(r.socket_addr(), Some("127.0.0.2:7946".parse().unwrap()));
        let r = Record::parse(
            now,
            r#"join-error n=0 err="1 error occurred:\n\t* \"x\" y""#,
        );
        assert_eq!(r.head, "join-error");
        assert_eq!(r.get("n"), Some("0"));
        assert_eq!(r.get("err"), Some("1 error occurred:\n\t* \"x\" y"));
        let r = Record::parse(now, "ready name=a addr=127.0.0.1 port=1");
        assert_eq!(r.head, "ready");
        assert_eq!(r.get("name"), Some("a"));
        assert_eq!(r.event(), None);
    }
}
