//! The tokio driver: a thin shell that gives a [`Node`] a UDP socket, a TCP listener, a clock
//! and channels.
//!
//! [`spawn`] binds both sockets on the bind address (the same port; port 0 picks a
//! free one), creates the node with the advertise address, and spawns one task that owns the
//! node. The task feeds it datagrams, accepted connections and stream bytes, runs its timers
//! (`poll_timeout` with `tokio::time::sleep_until`), and carries out its outputs: datagrams
//! are sent at once, each stream (TCP connection) gets a small task of its own that connects
//! (within the node's deadline), writes what the node queues, reads into the node, and closes.
//!
//! The [`Driver`] handle gives the membership view: [`Driver::members`] (a snapshot, with
//! [`Driver::changes`] to wait for the next change) and [`Driver::events`] (a `broadcast`
//! of every [`Event`]: joined, updated, suspect, alive, dead, left, user messages, join
//! results). [`Driver::join`] tries the seeds with retries; [`Driver::leave`] leaves
//! gracefully and stops the node; dropping the handle stops the node at once, without a
//! leave, as a crash would. Received datagrams that do not open (wrong key or label, bad CRC)
//! or decode are dropped and logged at `debug` level with `tracing`.
//!
//! ```no_run
//! use lb_memberlist::driver::{self, DriverConfig};
//! use lb_memberlist::Config;
//! use lb_memberlist::node::Event;
//!
//! # async fn run() -> Result<(), lb_memberlist::Error> {
//! let bind = "127.0.0.1:7946".parse().unwrap();
//! let node = driver::spawn(DriverConfig::new("node-a", bind, Config::fast())).await?;
//! let mut changes = node.events();
//! node.join(&["127.0.0.1:7947".parse().unwrap()]).await?;
//! while let Ok(event) = changes.recv().await {
//!     if let Event::Dead(m) = event {
//!         println!("{} failed", m.name);
//!     }
//! }
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::node::{Event, Node, NodeConfig, Output, Stats, StreamId};
use crate::{Config, Error, Keyring, Member, State};

/// The largest datagram read (memberlist's packets stay under `udp_buffer_size`, but a peer
/// may be configured otherwise).
const MAX_DATAGRAM: usize = 65_536;
/// Bytes read from a stream at a time.
const STREAM_CHUNK: usize = 16 * 1024;

/// How [`Driver::join`] retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinRetry {
    /// Attempts in all (at least 1); each tries every seed.
    pub attempts: u32,
    /// The wait after the first failed attempt; doubled after each, up to `max_backoff`.
    pub backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for JoinRetry {
    /// Five attempts, 200 ms then doubling up to 2 s.
    fn default() -> Self {
        Self {
            attempts: 5,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// Everything [`spawn`] needs.
#[derive(Clone)]
pub struct DriverConfig {
    /// The node's unique name.
    pub name: String,
    /// Where the UDP socket and the TCP listener bind (same port; 0 picks a free one).
    pub bind: SocketAddr,
    /// The address announced to others; by default the bound address. Its port 0 means the
    /// bound port.
    pub advertise: Option<SocketAddr>,
    /// Timings.
    pub config: Config,
    /// Metadata gossiped with the node (serf: [`crate::serf::tags_meta`]).
    pub meta: Vec<u8>,
    /// The cluster label (empty for none).
    pub label: Vec<u8>,
    /// The keyring, when gossip is encrypted.
    pub keyring: Option<Keyring>,
    /// Delegate versions announced in `Vsn` (`[0, 0, 0]` for plain memberlist peers such as
    /// MetalLB; [`crate::serf::DELEGATE_VERSIONS`] in a serf cluster).
    pub delegate_versions: [u8; 3],
    /// The random seed; `None` draws one from the operating system (needed with a keyring:
    /// the encryption nonces come from it).
    pub seed: Option<u64>,
    /// How joins retry.
    pub join_retry: JoinRetry,
    /// Capacity of the event channel; a subscriber that falls further behind loses events
    /// (and is told so by `broadcast::error::RecvError::Lagged`).
    pub event_capacity: usize,
    /// Decides which received user messages the node passes on to every other alive member
    /// (memberlist itself never does; serf re-gossips its intents, see
    /// [`crate::serf::intent_relay`]). `None`: none.
    pub user_relay: Option<UserRelay>,
}

/// A filter over received user messages: `true` re-sends the message to every other alive
/// member. Called on the node's task; keep it quick.
pub type UserRelay = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

impl std::fmt::Debug for DriverConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverConfig")
            .field("name", &self.name)
            .field("bind", &self.bind)
            .field("advertise", &self.advertise)
            .field("config", &self.config)
            .field("meta", &self.meta)
            .field("label", &self.label)
            .field("keyring", &self.keyring)
            .field("delegate_versions", &self.delegate_versions)
            .field("seed", &self.seed)
            .field("join_retry", &self.join_retry)
            .field("event_capacity", &self.event_capacity)
            .field("user_relay", &self.user_relay.as_ref().map(|_| "…"))
            .finish()
    }
}

impl DriverConfig {
    /// Options for a node `name` bound to `bind`, with `config`'s timings, no metadata, no
    /// label, no encryption, delegate versions `[0, 0, 0]`.
    pub fn new(name: impl Into<String>, bind: SocketAddr, config: Config) -> Self {
        Self {
            name: name.into(),
            bind,
            advertise: None,
            config,
            meta: Vec::new(),
            label: Vec::new(),
            keyring: None,
            delegate_versions: [0, 0, 0],
            seed: None,
            join_retry: JoinRetry::default(),
            event_capacity: 1024,
            user_relay: None,
        }
    }
}

enum Command {
    Join {
        seeds: Vec<SocketAddr>,
        reply: oneshot::Sender<Result<usize, Error>>,
    },
    Leave {
        timeout: Duration,
        reply: oneshot::Sender<()>,
    },
    SendUser {
        to: Option<String>,
        payload: Vec<u8>,
        reply: oneshot::Sender<Result<usize, Error>>,
    },
    SetMeta(Vec<u8>),
    Stats(oneshot::Sender<Stats>),
    Key {
        op: KeyOp,
        key: Vec<u8>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
}

#[derive(Debug, Clone, Copy)]
enum KeyOp {
    Install,
    Use,
    Remove,
}

enum StreamEvent {
    Data(StreamId, Vec<u8>),
    Closed(StreamId),
}

enum StreamCmd {
    Send(Vec<u8>),
    Close,
}

/// A running node. Dropping it stops the node without leaving (as a crash would).
pub struct Driver {
    name: String,
    local: SocketAddr,
    advertise: SocketAddr,
    commands: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<Event>,
    view: Arc<RwLock<BTreeMap<String, Member>>>,
    changes: watch::Receiver<u64>,
    abort: tokio::task::AbortHandle,
    /// The node's task, taken by the first [`Driver::shutdown`].
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("name", &self.name)
            .field("local", &self.local)
            .field("advertise", &self.advertise)
            .finish_non_exhaustive()
    }
}

/// Binds the sockets, creates the node and starts its task (on the current runtime).
pub async fn spawn(options: DriverConfig) -> Result<Driver, Error> {
    Driver::spawn(options).await
}

impl Driver {
    async fn spawn(options: DriverConfig) -> Result<Driver, Error> {
        let (udp, tcp) = bind_pair(options.bind).await?;
        let local = udp.local_addr()?;
        let mut advertise = options.advertise.unwrap_or(local);
        if advertise.port() == 0 {
            advertise.set_port(local.port());
        }
        if advertise.ip().is_unspecified() {
            return Err(Error::NoAdvertiseAddress);
        }
        let seed = match options.seed {
            Some(s) => s,
            None => random_u64()?,
        };
        let node_options = NodeConfig {
            name: options.name.clone(),
            addr: advertise,
            meta: options.meta,
            label: options.label.clone(),
            keyring: options.keyring.clone(),
            delegate_versions: options.delegate_versions,
            seed,
        };
        let node = Node::new(options.config, node_options, Instant::now().into_std());
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(options.event_capacity.max(1));
        let view = Arc::new(RwLock::new(
            node.members()
                .map(|m| (m.name.clone(), m.clone()))
                .collect::<BTreeMap<_, _>>(),
        ));
        let (changes_tx, changes) = watch::channel(0u64);
        let (stream_tx, stream_rx) = mpsc::unbounded_channel();
        tracing::info!(name = %options.name, %local, %advertise, "memberlist node started");
        let task = Task {
            node,
            udp,
            tcp,
            events: events.clone(),
            view: view.clone(),
            changes: changes_tx,
            streams: HashMap::new(),
            stream_tx,
            join: None,
            join_retry: options.join_retry,
            leave: None,
            user_relay: options.user_relay,
        };
        let task = tokio::spawn(task.run(command_rx, stream_rx));
        Ok(Driver {
            name: options.name,
            local,
            advertise,
            commands,
            events,
            view,
            changes,
            abort: task.abort_handle(),
            task: std::sync::Mutex::new(Some(task)),
        })
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address the sockets are bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The address announced to the cluster.
    pub fn advertise_addr(&self) -> SocketAddr {
        self.advertise
    }

    /// Joins the cluster through `seeds` (push-pull with each), retrying as
    /// [`DriverConfig::join_retry`] says. Returns how many seeds answered in the attempt that
    /// succeeded.
    pub async fn join(&self, seeds: &[SocketAddr]) -> Result<usize, Error> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Join {
                seeds: seeds.to_vec(),
                reply,
            })
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Leaves gracefully: announces the leave, keeps gossiping until the announcement has been
    /// retransmitted enough (or `timeout` passes), then stops the node.
    pub async fn leave(&self, timeout: Duration) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Leave { timeout, reply })
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Sends a user message (memberlist's `userMsg`, e.g. a serf intent) in one datagram to
    /// the member `to`, or to every other alive member when `None` ([`Node::send_user`]).
    /// Returns how many members it was addressed to.
    pub async fn send_user(&self, to: Option<&str>, payload: Vec<u8>) -> Result<usize, Error> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::SendUser {
                to: to.map(str::to_string),
                payload,
                reply,
            })
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Installs `key` (16, 24 or 32 bytes) for decryption, beside the keys already there.
    pub async fn install_key(&self, key: &[u8]) -> Result<(), Error> {
        self.key_op(KeyOp::Install, key).await
    }

    /// Makes the installed `key` the primary, the one packets and streams are sealed with.
    pub async fn use_key(&self, key: &[u8]) -> Result<(), Error> {
        self.key_op(KeyOp::Use, key).await
    }

    /// Removes `key`; the primary cannot be removed.
    pub async fn remove_key(&self, key: &[u8]) -> Result<(), Error> {
        self.key_op(KeyOp::Remove, key).await
    }

    async fn key_op(&self, op: KeyOp, key: &[u8]) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Key {
                op,
                key: key.to_vec(),
                reply,
            })
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Changes the local node's metadata (announced with a new incarnation).
    pub fn set_meta(&self, meta: Vec<u8>) -> Result<(), Error> {
        self.commands
            .send(Command::SetMeta(meta))
            .map_err(|_| Error::Stopped)
    }

    /// The node's counters (datagrams and bytes sent, probes, refutations, bad packets).
    pub async fn stats(&self) -> Result<Stats, Error> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Stats(reply))
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Every known member (the local node, the dead and the left included), by name.
    pub fn members(&self) -> Vec<Member> {
        match self.view.read() {
            Ok(v) => v.values().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().values().cloned().collect(),
        }
    }

    /// The member called `name`, if known.
    pub fn member(&self, name: &str) -> Option<Member> {
        match self.view.read() {
            Ok(v) => v.get(name).cloned(),
            Err(poisoned) => poisoned.into_inner().get(name).cloned(),
        }
    }

    /// A counter that moves on every change of the membership view: `changed().await` on it
    /// to wake up when [`Driver::members`] has something new.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// Every event from now on.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Waits until `cond` holds for the membership view, or `timeout` passes (false).
    pub async fn wait_for(&self, timeout: Duration, cond: impl Fn(&[Member]) -> bool) -> bool {
        let mut rx = self.changes.clone();
        tokio::time::timeout(timeout, async {
            loop {
                rx.borrow_and_update();
                if cond(&self.members()) {
                    return true;
                }
                if rx.changed().await.is_err() {
                    return cond(&self.members());
                }
            }
        })
        .await
        .unwrap_or(false)
    }

    /// Waits until member `name` is in `state`, or `timeout` passes (false).
    pub async fn wait_state(&self, name: &str, state: State, timeout: Duration) -> bool {
        self.wait_for(timeout, |ms| {
            ms.iter().any(|m| m.name == name && m.state == state)
        })
        .await
    }

    /// Stops the node now, without a leave (the others will find it failed), and waits until
    /// its sockets are closed. [`Driver::leave`] first for a graceful exit.
    pub async fn shutdown(&self) {
        self.abort.abort();
        let task = self
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Whether the node's task still runs.
    pub fn is_running(&self) -> bool {
        !self.abort.is_finished()
    }
}

/// Binds a UDP socket and a TCP listener on the same address; with port 0, retries until both
/// get the same free port.
async fn bind_pair(bind: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let mut last = None;
    for _ in 0..if bind.port() == 0 { 16 } else { 1 } {
        let udp = UdpSocket::bind(bind).await?;
        let addr = udp.local_addr()?;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(1024)) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free port")))
}

fn random_u64() -> Result<u64, Error> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(u64::from_le_bytes(b))
}

struct PendingJoin {
    seeds: Vec<SocketAddr>,
    attempt: u32,
    outstanding: usize,
    ok: usize,
    retry_at: Option<Instant>,
    backoff: Duration,
    reply: oneshot::Sender<Result<usize, Error>>,
}

struct PendingLeave {
    deadline: Instant,
    reply: oneshot::Sender<()>,
}

struct Task {
    node: Node,
    udp: UdpSocket,
    tcp: TcpListener,
    /// For user messages the driver sends itself.
    events: broadcast::Sender<Event>,
    /// The membership view the handle reads, kept up to date from the events.
    view: Arc<RwLock<BTreeMap<String, Member>>>,
    changes: watch::Sender<u64>,
    streams: HashMap<StreamId, mpsc::UnboundedSender<StreamCmd>>,
    stream_tx: mpsc::UnboundedSender<StreamEvent>,
    join: Option<PendingJoin>,
    join_retry: JoinRetry,
    leave: Option<PendingLeave>,
    user_relay: Option<UserRelay>,
}

impl Task {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut stream_rx: mpsc::UnboundedReceiver<StreamEvent>,
    ) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            self.flush().await;
            if let Some(leave) = &self.leave
                && (self.node.leave_complete() || Instant::now() >= leave.deadline)
            {
                // Every datagram was handed to the kernel in `flush`: stop.
                if let Some(leave) = self.leave.take() {
                    tracing::info!(name = %self.node.name(), "left the cluster");
                    let _ = leave.reply.send(());
                }
                return;
            }
            let mut wake = self.node.poll_timeout().map(Instant::from_std);
            if let Some(t) = self.join.as_ref().and_then(|j| j.retry_at) {
                wake = Some(wake.map_or(t, |w| w.min(t)));
            }
            if let Some(l) = &self.leave {
                wake = Some(wake.map_or(l.deadline, |w| w.min(l.deadline)));
            }
            let sleep = async {
                match wake {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = self.udp.recv_from(&mut buf) => match r {
                    Ok((n, from)) => {
                        let now = Instant::now().into_std();
                        if let Err(e) = self.node.handle_packet(now, from, &buf[..n]) {
                            tracing::debug!(%from, error = %e, "dropped a datagram");
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "udp receive"),
                },
                r = self.tcp.accept() => match r {
                    Ok((stream, from)) => {
                        let id = self.node.handle_stream_open(Instant::now().into_std(), from);
                        tracing::trace!(?id, %from, "stream accepted");
                        self.spawn_stream(id, Connect::Accepted(stream));
                    }
                    Err(e) => tracing::debug!(error = %e, "tcp accept"),
                },
                Some(ev) = stream_rx.recv() => {
                    let now = Instant::now().into_std();
                    match ev {
                        StreamEvent::Data(id, bytes) => self.node.handle_stream_data(now, id, &bytes),
                        StreamEvent::Closed(id) => {
                            if self.streams.remove(&id).is_some() {
                                self.node.handle_stream_closed(now, id);
                            }
                        }
                    }
                }
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    // Every handle is gone: stop (the handle's drop aborts us anyway).
                    None => return,
                },
                () = sleep => {
                    let now = Instant::now();
                    self.node.handle_timeout(now.into_std());
                    self.retry_join(now);
                }
            }
        }
    }

    fn command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Join { seeds, reply } => {
                if seeds.is_empty() {
                    let _ = reply.send(Ok(0));
                    return;
                }
                if let Some(old) = self.join.take() {
                    let _ = old.reply.send(Err(Error::JoinFailed {
                        seeds: old.seeds.len(),
                        attempts: old.attempt,
                    }));
                }
                tracing::debug!(?seeds, "joining");
                self.node.join(now.into_std(), &seeds);
                self.join = Some(PendingJoin {
                    outstanding: seeds.len(),
                    seeds,
                    attempt: 1,
                    ok: 0,
                    retry_at: None,
                    backoff: self.join_retry.backoff,
                    reply,
                });
            }
            Command::Leave { timeout, reply } => {
                tracing::info!(name = %self.node.name(), "leaving");
                self.node.leave(now.into_std());
                self.leave = Some(PendingLeave {
                    deadline: now + timeout,
                    reply,
                });
            }
            Command::SendUser { to, payload, reply } => {
                let _ = reply.send(self.send_user(to.as_deref(), payload));
            }
            Command::SetMeta(meta) => self.node.set_meta(now.into_std(), meta),
            Command::Stats(reply) => {
                let _ = reply.send(self.node.stats());
            }
            Command::Key { op, key, reply } => {
                let _ = reply.send(self.change_key(op, &key));
            }
        }
    }

    /// Applies a key change to the node's keyring.
    fn change_key(&mut self, op: KeyOp, key: &[u8]) -> Result<(), Error> {
        let apply = |ring: &mut Keyring| match op {
            KeyOp::Install => ring.add(key),
            KeyOp::Use => ring.use_key(key),
            KeyOp::Remove => ring.remove(key),
        };
        let Some(ring) = self.node.keyring_mut() else {
            return Err(Error::NotEncrypted);
        };
        apply(ring)?;
        tracing::info!(name = %self.node.name(), ?op, "keyring changed");
        Ok(())
    }

    fn send_user(&mut self, to: Option<&str>, payload: Vec<u8>) -> Result<usize, Error> {
        self.node.send_user(to, payload)
    }

    fn retry_join(&mut self, now: Instant) {
        let Some(join) = &mut self.join else { return };
        if join.retry_at.is_some_and(|t| t <= now) {
            join.retry_at = None;
            join.attempt += 1;
            join.outstanding = join.seeds.len();
            join.ok = 0;
            tracing::debug!(attempt = join.attempt, "retrying join");
            let seeds = join.seeds.clone();
            self.node.join(now.into_std(), &seeds);
        }
    }

    fn join_completed(&mut self, seed: SocketAddr, ok: bool) {
        let Some(join) = &mut self.join else { return };
        if join.retry_at.is_some() || !join.seeds.contains(&seed) {
            return;
        }
        join.outstanding = join.outstanding.saturating_sub(1);
        if ok {
            join.ok += 1;
        }
        if join.outstanding > 0 {
            return;
        }
        if join.ok > 0 {
            if let Some(join) = self.join.take() {
                tracing::info!(seeds = join.ok, attempt = join.attempt, "joined");
                let _ = join.reply.send(Ok(join.ok));
            }
        } else if join.attempt >= self.join_retry.attempts.max(1) {
            if let Some(join) = self.join.take() {
                tracing::warn!(attempts = join.attempt, "join failed");
                let _ = join.reply.send(Err(Error::JoinFailed {
                    seeds: join.seeds.len(),
                    attempts: join.attempt,
                }));
            }
        } else {
            tracing::debug!(attempt = join.attempt, backoff = ?join.backoff, "join attempt failed");
            join.retry_at = Some(Instant::now() + join.backoff);
            join.backoff = (join.backoff * 2).min(self.join_retry.max_backoff);
        }
    }

    /// Carries out every output and publishes every event the node has.
    async fn flush(&mut self) {
        while let Some(out) = self.node.poll_output() {
            match out {
                Output::Packet { to, bytes } => {
                    // A full socket buffer drops the datagram, as UDP may anyway.
                    if let Err(e) = self.udp.try_send_to(&bytes, to) {
                        if e.kind() == io::ErrorKind::WouldBlock {
                            let _ = self.udp.send_to(&bytes, to).await;
                        } else {
                            tracing::debug!(%to, error = %e, "datagram not sent");
                        }
                    }
                }
                Output::StreamConnect { id, to, deadline } => {
                    self.spawn_stream(id, Connect::To(to, Instant::from_std(deadline)));
                }
                Output::StreamSend { id, bytes } => {
                    if let Some(tx) = self.streams.get(&id) {
                        let _ = tx.send(StreamCmd::Send(bytes));
                    }
                }
                Output::StreamClose { id } => {
                    if let Some(tx) = self.streams.remove(&id) {
                        let _ = tx.send(StreamCmd::Close);
                    }
                }
            }
        }
        let mut changed = false;
        while let Some(ev) = self.node.poll_event() {
            match &ev {
                Event::JoinCompleted { seed, ok } => self.join_completed(*seed, *ok),
                Event::User(payload) => {
                    if self.user_relay.as_ref().is_some_and(|relay| relay(payload)) {
                        match self.send_user(None, payload.clone()) {
                            Ok(n) => tracing::trace!(to = n, "relayed a user message"),
                            Err(e) => tracing::debug!(error = %e, "user message not relayed"),
                        }
                    }
                }
                Event::Joined(m)
                | Event::Updated(m)
                | Event::Suspect(m)
                | Event::Alive(m)
                | Event::Dead(m)
                | Event::Left(m) => {
                    tracing::debug!(event = ?ev, "membership");
                    self.write_view().insert(m.name.clone(), m.clone());
                    changed = true;
                }
            }
            let _ = self.events.send(ev);
        }
        if changed {
            // The local node changes without an event (refutations, new metadata); members
            // the node forgets (none today) would linger: resynchronise both, cheaply.
            let local = self.node.local();
            let mut view = self.write_view();
            if view.get(&local.name) != Some(local) {
                view.insert(local.name.clone(), local.clone());
            }
            if view.len() != self.node.members().count() {
                *view = self
                    .node
                    .members()
                    .map(|m| (m.name.clone(), m.clone()))
                    .collect();
            }
            drop(view);
            self.changes.send_modify(|v| *v = v.wrapping_add(1));
        }
    }

    fn write_view(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Member>> {
        match self.view.write() {
            Ok(v) => v,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn spawn_stream(&mut self, id: StreamId, connect: Connect) {
        let (tx, rx) = mpsc::unbounded_channel();
        self.streams.insert(id, tx);
        tokio::spawn(run_stream(id, connect, rx, self.stream_tx.clone()));
    }
}

enum Connect {
    Accepted(TcpStream),
    To(SocketAddr, Instant),
}

async fn run_stream(
    id: StreamId,
    connect: Connect,
    mut cmds: mpsc::UnboundedReceiver<StreamCmd>,
    events: mpsc::UnboundedSender<StreamEvent>,
) {
    let stream = match connect {
        Connect::Accepted(s) => s,
        Connect::To(to, deadline) => {
            match tokio::time::timeout_at(deadline, TcpStream::connect(to)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(?id, %to, error = %e, "stream connect failed");
                    let _ = events.send(StreamEvent::Closed(id));
                    return;
                }
                Err(_) => {
                    tracing::debug!(?id, %to, "stream connect timed out");
                    let _ = events.send(StreamEvent::Closed(id));
                    return;
                }
            }
        }
    };
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = vec![0u8; STREAM_CHUNK];
    // After the peer's end of file, answers the node still queues are written until it closes
    // the stream (or forgets it).
    let mut reading = true;
    loop {
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(StreamCmd::Send(bytes)) => {
                    if let Err(e) = wr.write_all(&bytes).await {
                        tracing::debug!(?id, error = %e, "stream write failed");
                        let _ = events.send(StreamEvent::Closed(id));
                        return;
                    }
                }
                // Closed by the node (or the node is gone): finish writing and go.
                Some(StreamCmd::Close) | None => {
                    let _ = wr.shutdown().await;
                    return;
                }
            },
            r = rd.read(&mut buf), if reading => match r {
                Ok(0) | Err(_) => {
                    reading = false;
                    if events.send(StreamEvent::Closed(id)).is_err() {
                        return;
                    }
                }
                Ok(n) => {
                    if events.send(StreamEvent::Data(id, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            },
        }
    }
}
