//! The tokio driver: a thin shell that gives each [`Session`] its TCP connections and its
//! timers, for many peers in one process.
//!
//! A [`Speaker`] owns one listening socket (by default `[::]:179`, dual stack) and one task per
//! peer. The peer task feeds its [`Session`] what happens (connections, octets, closes, timer
//! expiries, the caller's route changes) with the current time and carries out what the session
//! asks ([`Output`]): connect, send, close. Inbound connections are handed to the peer whose
//! address they come from; collisions are the session's business (RFC 4271 §6.8). Connections
//! from unknown addresses are closed at once.
//!
//! Outgoing sockets are built with socket2: bound to the configured source address, TTL (IPv4)
//! or hop limit (IPv6) set for eBGP (1 unless multihop is configured), `TCP_NODELAY`, and the
//! RFC 2385 MD5 key set before `connect` so the SYN is signed. The listener carries one MD5 key
//! per peer that has a password. The only `unsafe` code is in the private `sys` module.
//!
//! State changes and session events go out on a broadcast channel ([`Speaker::events`]);
//! counters are a [`PeerStats`] snapshot ([`Speaker::stats`]). Every state change is traced.
//!
//! ```no_run
//! use lb_bgp::driver::{PeerConfig, Speaker, SpeakerConfig};
//! use lb_bgp::{SessionConfig, Route};
//!
//! # async fn run() -> Result<(), lb_bgp::driver::Error> {
//! let speaker = lb_bgp::driver::spawn(SpeakerConfig::default()).await?;
//! let config = SessionConfig::new(64512, 64500, "192.0.2.11".parse().unwrap());
//! let peer = "192.0.2.1".parse().unwrap();
//! speaker.add_peer(PeerConfig::new(peer, config))?;
//! speaker.set_routes(peer, [Route::new("198.51.100.7/32".parse().unwrap())])?;
//! # Ok(()) }
//! ```

mod sys;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ipnet::IpNet;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::session::{ConnId, Direction, Notice, Output, PeerStats, Route, Session, SessionConfig};

pub use crate::Error;

fn io_err(context: &'static str) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Io { context, source }
}

/// Moves the calling thread into the network namespace at `path` (such as `/run/netns/NAME`).
/// Sockets the thread opens afterwards belong to that namespace, so a current-thread tokio
/// runtime started on it runs a [`Speaker`] there.
pub fn enter_netns(path: impl AsRef<Path>) -> Result<(), Error> {
    let f = std::fs::File::open(path).map_err(io_err("open netns"))?;
    sys::enter_netns(&f).map_err(io_err("setns"))
}

/// Settings of a [`Speaker`].
#[derive(Debug, Clone)]
pub struct SpeakerConfig {
    /// Where to accept connections; `None` for no listener (every peer active). The default,
    /// `[::]:179`, is dual stack.
    pub listen: Option<SocketAddr>,
    /// How many events [`Speaker::events`] buffers per subscriber before it lags.
    pub event_capacity: usize,
}

impl Default for SpeakerConfig {
    fn default() -> Self {
        SpeakerConfig {
            listen: Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 179)),
            event_capacity: 1024,
        }
    }
}

/// One peer: where it is, how to reach it, and the session's configuration.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// The peer's address; inbound connections from it are this peer's.
    pub address: IpAddr,
    /// The peer's TCP port (179).
    pub port: u16,
    /// Our source address for outgoing connections; `None` lets the kernel choose.
    pub source: Option<IpAddr>,
    /// The session's configuration (ASNs, router ID, timers, passive, families, ...).
    pub session: SessionConfig,
    /// eBGP multihop: the TTL (IPv4) or hop limit (IPv6) of our packets to an eBGP peer.
    /// `None` means 1 (directly connected). iBGP sessions keep the system default.
    pub ebgp_multihop: Option<u8>,
    /// RFC 2385 TCP MD5 password (at most 80 octets).
    pub md5_password: Option<String>,
    /// Seed of the session's connect-retry jitter; `None` derives one from the address.
    pub seed: Option<u64>,
}

impl PeerConfig {
    /// A peer at `address`, port 179, with `session`'s configuration and no MD5.
    pub fn new(address: IpAddr, session: SessionConfig) -> Self {
        PeerConfig {
            address,
            port: 179,
            source: None,
            session,
            ebgp_multihop: None,
            md5_password: None,
            seed: None,
        }
    }

    fn ttl(&self) -> Option<u32> {
        if self.session.is_ibgp() {
            None
        } else {
            Some(u32::from(self.ebgp_multihop.unwrap_or(1)))
        }
    }
}

/// A session event of one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEvent {
    /// The peer's address.
    pub peer: IpAddr,
    /// What happened.
    pub kind: Notice,
}

/// What the caller and the I/O tasks tell a peer task.
enum Cmd {
    Inbound(TcpStream),
    ConnectDone {
        attempt: u64,
        result: io::Result<TcpStream>,
    },
    Data {
        conn: ConnId,
        bytes: Bytes,
    },
    Closed {
        conn: ConnId,
    },
    SetRoutes(Vec<Route>),
    Announce(Route),
    Withdraw(IpNet),
    Drain(Duration),
    CancelDrain,
    Start,
    Stop(String),
    HoldDown,
    Release,
    Shutdown {
        message: String,
        done: oneshot::Sender<()>,
    },
}

struct PeerEntry {
    tx: mpsc::UnboundedSender<Cmd>,
    stats: watch::Receiver<PeerStats>,
    md5: bool,
}

struct Shared {
    peers: Mutex<HashMap<IpAddr, PeerEntry>>,
    events: broadcast::Sender<PeerEvent>,
    listener: Option<Arc<TcpListener>>,
    listener_v6: bool,
    accept_task: Mutex<Option<JoinHandle<()>>>,
    /// The runtime the speaker was created in: peer tasks run there, whichever thread adds
    /// the peer.
    runtime: tokio::runtime::Handle,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The accept task holds only a weak reference; without this it would keep the
        // listening socket open until the next connection arrives.
        let task = self
            .accept_task
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(t) = task {
            t.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A BGP speaker: a listener and many peers. Cheap to clone; every clone drives the same
/// speaker. Dropping the last clone closes the listener and stops every session (Cease /
/// Administrative Shutdown without a message); [`Speaker::shutdown`] does it with a message
/// and waits for the NOTIFICATIONs to be written.
#[derive(Clone)]
pub struct Speaker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Speaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Speaker")
            .field(
                "peers",
                &lock(&self.shared.peers).keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// Binds the listener (if any) and starts accepting. Call inside a tokio runtime; sockets
/// belong to the calling thread's network namespace.
pub async fn spawn(config: SpeakerConfig) -> Result<Speaker, Error> {
    Speaker::spawn(config).await
}

impl Speaker {
    async fn spawn(config: SpeakerConfig) -> Result<Speaker, Error> {
        let (events, _) = broadcast::channel(config.event_capacity.max(1));
        let (listener, listener_v6) = match config.listen {
            Some(addr) => {
                let l = listen(addr)?;
                (Some(Arc::new(l)), addr.is_ipv6())
            }
            None => (None, false),
        };
        let shared = Arc::new(Shared {
            peers: Mutex::new(HashMap::new()),
            events,
            listener: listener.clone(),
            listener_v6,
            accept_task: Mutex::new(None),
            runtime: tokio::runtime::Handle::current(),
        });
        if let Some(l) = listener {
            let task = tokio::spawn(accept_loop(l, Arc::downgrade(&shared)));
            *lock(&shared.accept_task) = Some(task);
        }
        Ok(Speaker { shared })
    }

    /// The listener's address, if there is one.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.shared.listener.as_ref()?.local_addr().ok()
    }

    /// Adds a peer and starts its session (ManualStart; passive peers wait for the peer). May be
    /// called from any thread.
    pub fn add_peer(&self, settings: PeerConfig) -> Result<(), Error> {
        let address = settings.address;
        let mut peers = lock(&self.shared.peers);
        if peers.contains_key(&address) {
            return Err(Error::PeerExists(address));
        }
        let md5 = settings.md5_password.is_some();
        if let (Some(pw), Some(l)) = (&settings.md5_password, &self.shared.listener) {
            if pw.len() > sys::MD5_MAX_KEY_LEN {
                return Err(Error::PasswordTooLong);
            }
            sys::set_tcp_md5(l.as_fd(), self.shared.listener_v6, address, pw.as_bytes())
                .map_err(io_err("TCP_MD5SIG on the listener"))?;
        }
        let now = Instant::now();
        let seed = settings.seed.unwrap_or_else(|| seed_from(address));
        let session = Session::new(settings.session.clone(), seed, now);
        let (stats_tx, stats) = watch::channel(session.stats());
        let (tx, rx) = mpsc::unbounded_channel();
        let task = PeerTask {
            settings,
            session,
            rx,
            tx: tx.downgrade(),
            conns: HashMap::new(),
            next_conn: 0,
            attempt: 0,
            connecting: None,
            stats: stats_tx,
            events: self.shared.events.clone(),
        };
        let _ = tx.send(Cmd::Start);
        self.shared.runtime.spawn(task.run());
        peers.insert(address, PeerEntry { tx, stats, md5 });
        Ok(())
    }

    /// Stops a peer's session with an administrative shutdown NOTIFICATION carrying `message`
    /// (may be empty), waits briefly for it to be written, and forgets the peer.
    pub async fn remove_peer(&self, peer: IpAddr, message: &str) -> Result<(), Error> {
        let entry = lock(&self.shared.peers)
            .remove(&peer)
            .ok_or(Error::UnknownPeer(peer))?;
        if let (true, Some(l)) = (entry.md5, &self.shared.listener) {
            let _ = sys::set_tcp_md5(l.as_fd(), self.shared.listener_v6, peer, b"");
        }
        let (done, wait) = oneshot::channel();
        let _ = entry.tx.send(Cmd::Shutdown {
            message: message.to_string(),
            done,
        });
        let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
        Ok(())
    }

    /// The peers' addresses.
    pub fn peers(&self) -> Vec<IpAddr> {
        lock(&self.shared.peers).keys().copied().collect()
    }

    fn send(&self, peer: IpAddr, cmd: Cmd) -> Result<(), Error> {
        let peers = lock(&self.shared.peers);
        let entry = peers.get(&peer).ok_or(Error::UnknownPeer(peer))?;
        entry.tx.send(cmd).map_err(|_| Error::UnknownPeer(peer))
    }

    /// Replaces the routes `peer` should have; only the difference is sent.
    pub fn set_routes(
        &self,
        peer: IpAddr,
        routes: impl IntoIterator<Item = Route>,
    ) -> Result<(), Error> {
        self.send(peer, Cmd::SetRoutes(routes.into_iter().collect()))
    }

    /// Adds or changes one route for `peer`.
    pub fn announce(&self, peer: IpAddr, route: Route) -> Result<(), Error> {
        self.send(peer, Cmd::Announce(route))
    }

    /// Removes one route for `peer`.
    pub fn withdraw(&self, peer: IpAddr, prefix: IpNet) -> Result<(), Error> {
        self.send(peer, Cmd::Withdraw(prefix))
    }

    /// Planned drain of `peer` (RFC 8326): re-advertise with GRACEFUL_SHUTDOWN, withdraw after
    /// `delay` ([`Notice::DrainComplete`]).
    pub fn drain(&self, peer: IpAddr, delay: Duration) -> Result<(), Error> {
        self.send(peer, Cmd::Drain(delay))
    }

    /// Drains every peer.
    pub fn drain_all(&self, delay: Duration) {
        for entry in lock(&self.shared.peers).values() {
            let _ = entry.tx.send(Cmd::Drain(delay));
        }
    }

    /// Ends a drain of `peer`: its routes are advertised normally again.
    pub fn cancel_drain(&self, peer: IpAddr) -> Result<(), Error> {
        self.send(peer, Cmd::CancelDrain)
    }

    /// ManualStop of `peer`: NOTIFICATION Cease / Administrative Shutdown with `message`; the
    /// session stays Idle until [`Speaker::start`].
    pub fn stop(&self, peer: IpAddr, message: &str) -> Result<(), Error> {
        self.send(peer, Cmd::Stop(message.to_string()))
    }

    /// ManualStart of `peer` after [`Speaker::stop`].
    pub fn start(&self, peer: IpAddr) -> Result<(), Error> {
        self.send(peer, Cmd::Start)
    }

    /// Holds `peer`'s session down: the coupling to BFD, called when the peer's BFD session
    /// leaves Up. An Established session ends with NOTIFICATION Cease / BFD Down (RFC 9384)
    /// and its routes with it; it stays Idle, neither connecting nor accepting, until
    /// [`Speaker::release`]. A ManualStop ([`Speaker::stop`]) is independent of it.
    pub fn hold_down(&self, peer: IpAddr) -> Result<(), Error> {
        self.send(peer, Cmd::HoldDown)
    }

    /// Releases a session held down by [`Speaker::hold_down`] (the peer's BFD session is Up
    /// again): it reconnects, unless stopped with [`Speaker::stop`].
    pub fn release(&self, peer: IpAddr) -> Result<(), Error> {
        self.send(peer, Cmd::Release)
    }

    /// A snapshot of `peer`'s counters and state.
    pub fn stats(&self, peer: IpAddr) -> Result<PeerStats, Error> {
        let peers = lock(&self.shared.peers);
        let entry = peers.get(&peer).ok_or(Error::UnknownPeer(peer))?;
        Ok(entry.stats.borrow().clone())
    }

    /// Watches `peer`'s stats: the receiver sees every update (state changes included).
    pub fn watch_stats(&self, peer: IpAddr) -> Result<watch::Receiver<PeerStats>, Error> {
        let peers = lock(&self.shared.peers);
        let entry = peers.get(&peer).ok_or(Error::UnknownPeer(peer))?;
        Ok(entry.stats.clone())
    }

    /// Subscribes to every peer's session events.
    pub fn events(&self) -> broadcast::Receiver<PeerEvent> {
        self.shared.events.subscribe()
    }

    /// Stops every session (administrative shutdown), waits briefly for the NOTIFICATIONs to
    /// be written, and closes the listener.
    pub async fn shutdown(&self) {
        self.shutdown_with("").await;
    }

    /// As [`Speaker::shutdown`], with an RFC 9003 shutdown communication (`message`, at most
    /// 255 octets) in each NOTIFICATION.
    pub async fn shutdown_with(&self, message: &str) {
        let peers: Vec<IpAddr> = self.peers();
        for p in peers {
            let _ = self.remove_peer(p, message).await;
        }
        if let Some(t) = lock(&self.shared.accept_task).take() {
            t.abort();
        }
    }
}

fn seed_from(address: IpAddr) -> u64 {
    let bits = match address {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    (bits as u64) ^ ((bits >> 64) as u64) ^ 0x6c62_2d62_6770_u64
}

fn listen(addr: SocketAddr) -> Result<TcpListener, Error> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(io_err("listener socket"))?;
    socket
        .set_reuse_address(true)
        .map_err(io_err("SO_REUSEADDR"))?;
    if addr.is_ipv6() {
        // Dual stack: IPv4 peers arrive as v4-mapped addresses.
        socket.set_only_v6(false).map_err(io_err("IPV6_V6ONLY"))?;
    }
    socket.set_nonblocking(true).map_err(io_err("O_NONBLOCK"))?;
    socket.bind(&addr.into()).map_err(io_err("bind listener"))?;
    socket.listen(128).map_err(io_err("listen"))?;
    TcpListener::from_std(socket.into()).map_err(io_err("register listener"))
}

async fn accept_loop(listener: Arc<TcpListener>, shared: std::sync::Weak<Shared>) {
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "bgp accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let ip = remote.ip().to_canonical();
        let peers = lock(&shared.peers);
        match peers.get(&ip) {
            Some(entry) => {
                let _ = entry.tx.send(Cmd::Inbound(stream));
            }
            None => {
                tracing::debug!(%remote, "bgp connection from an unknown address closed");
            }
        }
    }
}

async fn connect(settings: PeerConfig) -> io::Result<TcpStream> {
    let remote = SocketAddr::new(settings.address, settings.port);
    let socket = Socket::new(
        Domain::for_address(remote),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    if let Some(pw) = &settings.md5_password {
        sys::set_tcp_md5(
            socket.as_fd(),
            remote.is_ipv6(),
            settings.address,
            pw.as_bytes(),
        )?;
    }
    set_ttl(&SockRef::from(&socket), remote.is_ipv6(), settings.ttl())?;
    if let Some(src) = settings.source {
        socket.bind(&SocketAddr::new(src, 0).into())?;
    }
    let socket = TcpSocket::from_std_stream(socket.into());
    tokio::time::timeout(Duration::from_secs(30), socket.connect(remote))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))?
}

fn set_ttl(socket: &SockRef<'_>, v6: bool, ttl: Option<u32>) -> io::Result<()> {
    match ttl {
        Some(t) if v6 => socket.set_unicast_hops_v6(t),
        Some(t) => socket.set_ttl_v4(t),
        None => Ok(()),
    }
}

struct Conn {
    /// Octets to write, in order; dropping it ends the writer after what it holds.
    out: mpsc::UnboundedSender<Bytes>,
    writer: JoinHandle<()>,
}

struct PeerTask {
    settings: PeerConfig,
    session: Session,
    rx: mpsc::UnboundedReceiver<Cmd>,
    tx: mpsc::WeakUnboundedSender<Cmd>,
    conns: HashMap<ConnId, Conn>,
    next_conn: u64,
    attempt: u64,
    connecting: Option<JoinHandle<()>>,
    stats: watch::Sender<PeerStats>,
    events: broadcast::Sender<PeerEvent>,
}

impl PeerTask {
    async fn run(mut self) {
        let mut shutdown: Option<oneshot::Sender<()>> = None;
        loop {
            self.drain_outputs();
            self.stats.send_replace(self.session.stats());
            if let Some(done) = shutdown.take() {
                self.finish().await;
                let _ = done.send(());
                return;
            }
            let deadline = self.session.poll_timeout();
            let cmd = tokio::select! {
                cmd = self.rx.recv() => cmd,
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.session.handle_timeout(Instant::now());
                    continue;
                }
            };
            let Some(cmd) = cmd else {
                // Every sender is gone: the speaker was dropped.
                self.session.stop(Instant::now(), "");
                self.drain_outputs();
                self.finish().await;
                return;
            };
            // Take what else is queued too, so a burst of reads or route changes is handled
            // before the session builds its messages.
            let mut next = Some(cmd);
            let mut budget = 256;
            while let Some(cmd) = next.take() {
                if let Some(done) = self.handle(cmd) {
                    shutdown = Some(done);
                    break;
                }
                budget -= 1;
                if budget == 0 {
                    break;
                }
                next = self.rx.try_recv().ok();
            }
        }
    }

    /// Closes every connection (after flushing what is queued, for at most a few seconds).
    async fn finish(&mut self) {
        if let Some(c) = self.connecting.take() {
            c.abort();
        }
        let writers: Vec<JoinHandle<()>> = self.conns.drain().map(|(_, c)| c.writer).collect();
        for mut w in writers {
            if tokio::time::timeout(Duration::from_secs(3), &mut w)
                .await
                .is_err()
            {
                w.abort();
            }
        }
    }

    fn handle(&mut self, cmd: Cmd) -> Option<oneshot::Sender<()>> {
        let now = Instant::now();
        match cmd {
            Cmd::Inbound(stream) => {
                let (Ok(local), Ok(remote)) = (stream.local_addr(), stream.peer_addr()) else {
                    return None;
                };
                let _ = stream.set_nodelay(true);
                let _ = set_ttl(
                    &SockRef::from(&stream),
                    local.is_ipv6(),
                    self.settings.ttl(),
                );
                let conn = self.add_conn(stream);
                self.session.connected(
                    now,
                    conn,
                    canonical(local),
                    canonical(remote),
                    Direction::Inbound,
                );
            }
            Cmd::ConnectDone { attempt, result } => {
                if attempt != self.attempt {
                    return None;
                }
                self.connecting = None;
                match result.and_then(|s| Ok((s.local_addr()?, s.peer_addr()?, s))) {
                    Ok((local, remote, stream)) => {
                        let conn = self.add_conn(stream);
                        self.session.connected(
                            now,
                            conn,
                            canonical(local),
                            canonical(remote),
                            Direction::Outbound,
                        );
                    }
                    Err(e) => {
                        tracing::debug!(peer = %self.settings.address, error = %e, "bgp connect failed");
                        self.session.connect_failed(now);
                    }
                }
            }
            Cmd::Data { conn, bytes } => {
                if self.conns.contains_key(&conn) {
                    self.session.received(now, conn, &bytes);
                }
            }
            Cmd::Closed { conn } => {
                if self.conns.remove(&conn).is_some() {
                    self.session.closed(now, conn);
                }
            }
            Cmd::SetRoutes(routes) => self.session.set_routes(now, routes),
            Cmd::Announce(route) => self.session.announce(now, route),
            Cmd::Withdraw(prefix) => self.session.withdraw(now, prefix),
            Cmd::Drain(delay) => self.session.drain(now, delay),
            Cmd::CancelDrain => self.session.cancel_drain(now),
            Cmd::Start => self.session.start(now),
            Cmd::HoldDown => self.session.hold_down(now),
            Cmd::Release => self.session.release(now),
            Cmd::Stop(message) => self.session.stop(now, &message),
            Cmd::Shutdown { message, done } => {
                self.session.stop(now, &message);
                return Some(done);
            }
        }
        None
    }

    fn add_conn(&mut self, stream: TcpStream) -> ConnId {
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        let (mut rd, mut wr) = stream.into_split();
        let tx = self.tx.clone();
        let reader = tokio::spawn(async move {
            let mut buf = BytesMut::with_capacity(64 * 1024);
            loop {
                buf.reserve(64 * 1024);
                match rd.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let Some(tx) = tx.upgrade() else { return };
                        let bytes = buf.split().freeze();
                        if tx.send(Cmd::Data { conn, bytes }).is_err() {
                            return;
                        }
                    }
                }
            }
            if let Some(tx) = tx.upgrade() {
                let _ = tx.send(Cmd::Closed { conn });
            }
        });
        let (out, mut queue) = mpsc::unbounded_channel::<Bytes>();
        let writer = tokio::spawn(async move {
            while let Some(b) = queue.recv().await {
                if wr.write_all(&b).await.is_err() {
                    break;
                }
            }
            let _ = wr.shutdown().await;
            // Dropping both halves closes the socket.
            reader.abort();
        });
        self.conns.insert(conn, Conn { out, writer });
        conn
    }

    fn drain_outputs(&mut self) {
        while let Some(output) = self.session.poll_output() {
            let peer = self.settings.address;
            let event = match output {
                Output::Connect => {
                    if let Some(c) = self.connecting.take() {
                        c.abort();
                    }
                    self.attempt += 1;
                    let attempt = self.attempt;
                    let tx = self.tx.clone();
                    let settings = self.settings.clone();
                    self.connecting = Some(tokio::spawn(async move {
                        let result = connect(settings).await;
                        if let Some(tx) = tx.upgrade() {
                            let _ = tx.send(Cmd::ConnectDone { attempt, result });
                        }
                    }));
                    None
                }
                Output::Send { conn, bytes } => {
                    if let Some(c) = self.conns.get(&conn) {
                        let _ = c.out.send(bytes);
                    }
                    None
                }
                Output::Close { conn } => {
                    if let Some(c) = self.conns.remove(&conn) {
                        // Let the writer flush what is queued (the NOTIFICATION), but not
                        // forever: a frozen peer may never read.
                        drop(c.out);
                        let mut w = c.writer;
                        tokio::spawn(async move {
                            if tokio::time::timeout(Duration::from_secs(3), &mut w)
                                .await
                                .is_err()
                            {
                                w.abort();
                            }
                        });
                    }
                    None
                }
                Output::RouteRefreshRequested { afi, safi } => {
                    tracing::debug!(%peer, ?afi, ?safi, "bgp route refresh requested");
                    None
                }
                Output::Notice(notice) => {
                    match &notice {
                        Notice::StateChanged { from, to, event } => {
                            tracing::info!(%peer, %from, %to, ?event, "bgp state change");
                        }
                        Notice::Established(n) => {
                            tracing::info!(%peer, local = %n.local, hold = n.hold_time, "bgp session established");
                        }
                        Notice::Down { reason } => {
                            tracing::warn!(%peer, %reason, "bgp session down");
                        }
                        Notice::DrainComplete => {
                            tracing::info!(%peer, "bgp drain complete");
                        }
                        Notice::RoutesReceived { .. } | Notice::EndOfRib { .. } => {}
                    }
                    Some(notice)
                }
            };
            if let Some(kind) = event {
                let _ = self.events.send(PeerEvent { peer, kind });
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}
