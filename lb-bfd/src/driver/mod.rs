//! The tokio driver: UDP sockets and timers for many [`Session`]s in one task.
//!
//! A [`Bfd`] listens on UDP port 3784 (single hop, RFC 5881) and 4784 (multihop, RFC 5883),
//! IPv4 and IPv6 (each family only where the system has it), and gives each peer its own
//! sending socket bound to a source port in 49152–65535 with TTL / hop limit 255. The TTL or
//! hop limit of every received packet is read from the socket's control messages
//! (`IP_RECVTTL`, `IPV6_RECVHOPLIMIT`): a single-hop packet must arrive with 255 (the GTSM
//! check of RFC 5881 §5), a multihop packet with at least the session's minimum TTL (RFC 5883
//! §2, MetalLB's `minimumTtl`).
//!
//! Packets are matched to a session by Your Discriminator, or, while it is zero, by source
//! address (and hop kind); a match must also come from the session's peer address. One task
//! owns every session: it feeds them packets and timer expiries with the current time,
//! sends what they produce and publishes state changes on a broadcast channel
//! ([`Bfd::events`]). The socket code is safe Rust (socket2 and nix); this crate has no
//! `unsafe`.
//!
//! ```no_run
//! use lb_bfd::driver::{DriverConfig, PeerConfig};
//! use lb_bfd::session::SessionConfig;
//!
//! # async fn run() -> Result<(), lb_bfd::Error> {
//! let bfd = lb_bfd::driver::spawn(DriverConfig::default()).await?;
//! let mut events = bfd.events();
//! bfd.add_peer(PeerConfig::single_hop("192.0.2.1".parse().unwrap(), SessionConfig::default()))
//!     .await?;
//! while let Ok(e) = events.recv().await {
//!     println!("{} is {:?} ({:?})", e.peer, e.to, e.diagnostic);
//! }
//! # Ok(()) }
//! ```

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket as StdUdpSocket};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::Error;
use crate::session::{Event, Session, SessionConfig, Stats};
use crate::wire::{Diagnostic, MAX_LEN, Packet, State};

/// UDP destination port of single-hop Control packets (RFC 5881 §4).
pub const SINGLE_HOP_PORT: u16 = 3784;
/// UDP destination port of multihop Control packets (RFC 5883 §5).
pub const MULTI_HOP_PORT: u16 = 4784;
/// Receive buffer asked for on each listening socket (4 MiB).
const RECV_BUFFER: usize = 4 << 20;

/// The source port range (RFC 5881 §4).
pub const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;

fn io_err(context: &'static str) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Io { context, source }
}

fn nix_err(context: &'static str) -> impl FnOnce(nix::Error) -> Error {
    move |e| Error::Io {
        context,
        source: io::Error::from(e),
    }
}

/// Settings of a [`Bfd`].
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// The single-hop listening port (3784; tests on one host use others).
    pub single_hop_port: u16,
    /// The multihop listening port (4784).
    pub multi_hop_port: u16,
    /// Events buffered per subscriber before it lags.
    pub event_capacity: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            single_hop_port: SINGLE_HOP_PORT,
            multi_hop_port: MULTI_HOP_PORT,
            event_capacity: 1024,
        }
    }
}

/// Single hop or multihop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hop {
    /// RFC 5881: port 3784, TTL 255 sent and required.
    Single,
    /// RFC 5883: port 4784, TTL 255 sent, at least `min_ttl` required.
    Multi {
        /// The smallest TTL / hop limit accepted (MetalLB `minimumTtl`, default 254).
        min_ttl: u8,
    },
}

/// One peer. A driver holds one session per peer address (as MetalLB runs one per BGP peer).
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// The peer's address; its packets must come from it.
    pub peer: IpAddr,
    /// Our source address; `None` lets the kernel choose.
    pub local: Option<IpAddr>,
    /// Single hop or multihop.
    pub hop: Hop,
    /// The peer's UDP port; `None` for the hop kind's standard port.
    pub remote_port: Option<u16>,
    /// The session's timers, role and authentication.
    pub session: SessionConfig,
    /// Seed of the session's jitter; `None` draws one.
    pub seed: Option<u64>,
}

impl PeerConfig {
    /// A single-hop peer with the kernel's choice of source address.
    pub fn single_hop(peer: IpAddr, session: SessionConfig) -> Self {
        PeerConfig {
            peer,
            local: None,
            hop: Hop::Single,
            remote_port: None,
            session,
            seed: None,
        }
    }

    /// A multihop peer accepting packets with at least `min_ttl`.
    pub fn multi_hop(peer: IpAddr, min_ttl: u8, session: SessionConfig) -> Self {
        PeerConfig {
            hop: Hop::Multi { min_ttl },
            ..PeerConfig::single_hop(peer, session)
        }
    }
}

/// A state change of one peer's session, from [`Bfd::events`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BfdEvent {
    /// The peer.
    pub peer: IpAddr,
    /// The old state.
    pub from: State,
    /// The new state.
    pub to: State,
    /// Why (bfd.LocalDiag).
    pub diagnostic: Diagnostic,
}

/// A snapshot of one peer's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerStatus {
    /// bfd.SessionState.
    pub state: State,
    /// bfd.RemoteSessionState.
    pub remote_state: State,
    /// bfd.LocalDiag.
    pub diagnostic: Diagnostic,
    /// bfd.LocalDiscr.
    pub local_discriminator: u32,
    /// bfd.RemoteDiscr.
    pub remote_discriminator: u32,
    /// The negotiated transmit interval.
    pub tx_interval: Duration,
    /// The detection time, once the peer is heard.
    pub detection_time: Option<Duration>,
    /// The peer's Desired Min TX Interval.
    pub remote_desired_min_tx: Duration,
    /// The peer's Required Min RX Interval.
    pub remote_min_rx: Duration,
    /// The peer's Detect Mult.
    pub remote_detect_mult: u8,
    /// Packets the driver dropped before the session saw them (TTL check, unknown
    /// discriminator or address) are not counted; these are the session's counters.
    pub stats: Stats,
}

impl PeerStatus {
    fn of(s: &Session) -> Self {
        PeerStatus {
            state: s.state(),
            remote_state: s.remote_state(),
            diagnostic: s.diagnostic(),
            local_discriminator: s.local_discriminator(),
            remote_discriminator: s.remote_discriminator(),
            tx_interval: s.tx_interval(),
            detection_time: s.detection_time(),
            remote_desired_min_tx: s.remote_desired_min_tx(),
            remote_min_rx: s.remote_min_rx(),
            remote_detect_mult: s.remote_detect_mult(),
            stats: s.stats(),
        }
    }
}

enum Cmd {
    Add(Box<PeerConfig>, oneshot::Sender<Result<(), Error>>),
    Remove(IpAddr, oneshot::Sender<Result<(), Error>>),
    Admin(IpAddr, Admin),
    Shutdown(oneshot::Sender<()>),
}

/// Which way an administrative change goes.
enum Admin {
    Down,
    Up,
}

/// A received datagram.
struct Datagram {
    from: IpAddr,
    ttl: Option<u8>,
    multi: bool,
    len: usize,
    buf: [u8; 64],
}

struct Shared {
    cmds: mpsc::UnboundedSender<Cmd>,
    events: broadcast::Sender<BfdEvent>,
    status: Mutex<HashMap<IpAddr, PeerStatus>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The BFD driver: listening sockets and every session. Cheap to clone; dropping the last
/// clone stops it without notice, [`Bfd::shutdown`] tells every peer AdminDown first.
#[derive(Clone)]
pub struct Bfd {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Bfd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bfd")
            .field(
                "peers",
                &lock(&self.shared.status).keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Random bits from the standard library's per-process hash keys (no extra dependency).
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}

fn listener(addr: SocketAddr) -> Result<UdpSocket, Error> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(io_err("listening socket"))?;
    socket
        .set_reuse_address(true)
        .map_err(io_err("SO_REUSEADDR"))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(io_err("IPV6_V6ONLY"))?;
        setsockopt(&socket, sockopt::Ipv6RecvHopLimit, &true)
            .map_err(nix_err("IPV6_RECVHOPLIMIT"))?;
    } else {
        setsockopt(&socket, sockopt::Ipv4RecvTtl, &true).map_err(nix_err("IP_RECVTTL"))?;
    }
    // Every session's packets arrive on this one socket: a large receive buffer rides out a
    // scheduling delay of the driver's thread (the kernel caps it at net.core.rmem_max).
    if let Err(e) = socket.set_recv_buffer_size(RECV_BUFFER) {
        tracing::debug!(error = %e, "bfd listener keeps the default receive buffer");
    }
    socket.set_nonblocking(true).map_err(io_err("O_NONBLOCK"))?;
    socket.bind(&addr.into()).map_err(io_err("bind BFD port"))?;
    UdpSocket::from_std(socket.into()).map_err(io_err("register listening socket"))
}

/// A sending socket: source port in 49152–65535, TTL / hop limit 255, non-blocking.
fn sender(peer: IpAddr, local: Option<IpAddr>) -> Result<StdUdpSocket, Error> {
    let v6 = peer.is_ipv6();
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let socket =
        Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(io_err("sending socket"))?;
    if v6 {
        socket
            .set_unicast_hops_v6(255)
            .map_err(io_err("IPV6_UNICAST_HOPS"))?;
    } else {
        socket.set_ttl_v4(255).map_err(io_err("IP_TTL"))?;
    }
    socket.set_nonblocking(true).map_err(io_err("O_NONBLOCK"))?;
    let ip = local.unwrap_or(if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    });
    let span = u64::from(SOURCE_PORTS.end() - SOURCE_PORTS.start()) + 1;
    let start = random_u64() % span;
    let mut last = None;
    for i in 0..64u64 {
        let port = *SOURCE_PORTS.start() + ((start + i * 7919) % span) as u16;
        match socket.bind(&SocketAddr::new(ip, port).into()) {
            Ok(()) => return Ok(socket.into()),
            Err(e) => last = Some(e),
        }
    }
    Err(Error::Io {
        context: "bind a source port in 49152-65535",
        source: last.unwrap_or_else(|| io::Error::other("no port")),
    })
}

async fn reader(socket: UdpSocket, multi: bool, out: mpsc::Sender<Datagram>) {
    // One TTL or hop limit control message (an int).
    let mut cmsg = nix::cmsg_space!(CInt);
    loop {
        if socket.readable().await.is_err() {
            return;
        }
        let fd = socket.as_raw_fd();
        let mut buf = [0u8; 64];
        let got = socket.try_io(Interest::READABLE, || {
            let mut iov = [io::IoSliceMut::new(&mut buf)];
            let msg = recvmsg::<SockaddrStorage>(
                fd,
                &mut iov,
                Some(&mut cmsg[..]),
                MsgFlags::MSG_DONTWAIT,
            )
            .map_err(io::Error::from)?;
            let mut ttl = None;
            if let Ok(cmsgs) = msg.cmsgs() {
                for c in cmsgs {
                    match c {
                        ControlMessageOwned::Ipv4Ttl(t) | ControlMessageOwned::Ipv6HopLimit(t) => {
                            ttl = u8::try_from(t).ok();
                        }
                        _ => {}
                    }
                }
            }
            let from = msg.address.and_then(|a: SockaddrStorage| {
                if let Some(a) = a.as_sockaddr_in() {
                    Some(IpAddr::V4(a.ip()))
                } else {
                    a.as_sockaddr_in6()
                        .map(|a| IpAddr::V6(a.ip()).to_canonical())
                }
            });
            Ok((msg.bytes, ttl, from))
        });
        match got {
            Ok((len, ttl, Some(from))) => {
                let d = Datagram {
                    from,
                    ttl,
                    multi,
                    len: len.min(64),
                    buf,
                };
                if out.send(d).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                tracing::debug!(error = %e, "bfd receive failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

type CInt = i32;

/// Binds the listening sockets and starts the driver task. Call inside a tokio runtime;
/// sockets belong to the calling thread's network namespace. A family the system lacks
/// (IPv6 disabled) is skipped; failing to bind any listener is an error.
pub async fn spawn(config: DriverConfig) -> Result<Bfd, Error> {
    Bfd::spawn(config).await
}

impl Bfd {
    async fn spawn(config: DriverConfig) -> Result<Bfd, Error> {
        let (events, _) = broadcast::channel(config.event_capacity.max(1));
        let (cmds, cmd_rx) = mpsc::unbounded_channel();
        let (pkt_tx, pkt_rx) = mpsc::channel(4096);
        let mut tasks = Vec::new();
        let mut bound = 0;
        let mut last_err = None;
        for (port, multi) in [
            (config.single_hop_port, false),
            (config.multi_hop_port, true),
        ] {
            for ip in [
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            ] {
                match listener(SocketAddr::new(ip, port)) {
                    Ok(s) => {
                        bound += 1;
                        tasks.push(tokio::spawn(reader(s, multi, pkt_tx.clone())));
                    }
                    Err(e) => {
                        tracing::warn!(%ip, port, error = %e, "bfd listener not bound");
                        last_err = Some(e);
                    }
                }
            }
        }
        if bound == 0 {
            for t in tasks {
                t.abort();
            }
            return Err(last_err.unwrap_or(Error::Shutdown));
        }
        let shared = Arc::new(Shared {
            cmds,
            events: events.clone(),
            status: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
        });
        let engine = Engine {
            peers: HashMap::new(),
            by_discr: HashMap::new(),
            timers: BTreeSet::new(),
            events,
            shared: Arc::downgrade(&shared),
        };
        tasks.push(tokio::spawn(engine.run(cmd_rx, pkt_rx)));
        *lock(&shared.tasks) = tasks;
        Ok(Bfd { shared })
    }

    async fn call(
        &self,
        f: impl FnOnce(oneshot::Sender<Result<(), Error>>) -> Cmd,
    ) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.send(f(tx))?;
        rx.await.map_err(|_| Error::Shutdown)?
    }

    /// Adds a peer and waits for the driver to have opened its socket; an active session
    /// starts sending at once.
    pub async fn add_peer(&self, settings: PeerConfig) -> Result<(), Error> {
        settings.session.validate()?;
        self.call(|tx| Cmd::Add(Box::new(settings), tx)).await
    }

    /// Removes a peer: it is told AdminDown once, then forgotten.
    pub async fn remove_peer(&self, peer: IpAddr) -> Result<(), Error> {
        self.call(|tx| Cmd::Remove(peer, tx)).await
    }

    /// Takes a peer's session AdminDown: the peer is told, then the session goes silent
    /// ([`Session::admin_down`](crate::session::Session::admin_down)).
    pub fn admin_down(&self, peer: IpAddr) -> Result<(), Error> {
        self.send(Cmd::Admin(peer, Admin::Down))
    }

    /// Brings a peer's session out of AdminDown, to Down, from where it comes up again
    /// ([`Session::admin_up`](crate::session::Session::admin_up)).
    pub fn admin_up(&self, peer: IpAddr) -> Result<(), Error> {
        self.send(Cmd::Admin(peer, Admin::Up))
    }

    fn send(&self, cmd: Cmd) -> Result<(), Error> {
        self.shared.cmds.send(cmd).map_err(|_| Error::Shutdown)
    }

    /// Subscribes to every peer's state changes.
    pub fn events(&self) -> broadcast::Receiver<BfdEvent> {
        self.shared.events.subscribe()
    }

    /// A snapshot of `peer`'s session.
    pub fn status(&self, peer: IpAddr) -> Result<PeerStatus, Error> {
        lock(&self.shared.status)
            .get(&peer)
            .copied()
            .ok_or(Error::UnknownSession(peer))
    }

    /// The peers.
    pub fn peers(&self) -> Vec<IpAddr> {
        lock(&self.shared.status).keys().copied().collect()
    }

    /// Tells every peer AdminDown, stops the driver task and closes the sockets.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.shared.cmds.send(Cmd::Shutdown(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
        }
        for t in lock(&self.shared.tasks).drain(..) {
            t.abort();
        }
        lock(&self.shared.status).clear();
    }
}

struct Peer {
    settings: PeerConfig,
    session: Session,
    socket: StdUdpSocket,
    remote: SocketAddr,
    /// The deadline this peer has in `timers`.
    scheduled: Option<Instant>,
}

struct Engine {
    peers: HashMap<IpAddr, Peer>,
    by_discr: HashMap<u32, IpAddr>,
    timers: BTreeSet<(Instant, IpAddr)>,
    events: broadcast::Sender<BfdEvent>,
    shared: std::sync::Weak<Shared>,
}

impl Engine {
    async fn run(
        mut self,
        mut cmds: mpsc::UnboundedReceiver<Cmd>,
        mut packets: mpsc::Receiver<Datagram>,
    ) {
        loop {
            let next = self.timers.first().map(|(t, _)| *t);
            let sleep = async {
                match next {
                    Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    None => return,
                    Some(Cmd::Shutdown(done)) => {
                        let now = Instant::now();
                        let peers: Vec<IpAddr> = self.peers.keys().copied().collect();
                        for p in peers {
                            if let Some(peer) = self.peers.get_mut(&p) {
                                peer.session.admin_down(now);
                            }
                            self.flush(p, now);
                        }
                        let _ = done.send(());
                        return;
                    }
                    Some(cmd) => self.command(cmd),
                },
                Some(d) = packets.recv() => self.packet(d),
                () = sleep => {
                    let now = Instant::now();
                    // The peers due now, each flushed once (whatever it schedules next).
                    let mut due = Vec::new();
                    while let Some(&(t, p)) = self.timers.first() {
                        if t > now {
                            break;
                        }
                        self.timers.pop_first();
                        if let Some(peer) = self.peers.get_mut(&p) {
                            peer.scheduled = None;
                        }
                        due.push(p);
                    }
                    for p in due {
                        self.flush(p, now);
                    }
                }
            }
        }
    }

    fn command(&mut self, cmd: Cmd) {
        let now = Instant::now();
        match cmd {
            Cmd::Add(settings, done) => {
                let r = self.add(*settings, now);
                let _ = done.send(r);
            }
            Cmd::Remove(peer, done) => {
                let r = match self.peers.get_mut(&peer) {
                    Some(p) => {
                        p.session.admin_down(now);
                        self.flush(peer, now);
                        self.forget(peer);
                        Ok(())
                    }
                    None => Err(Error::UnknownSession(peer)),
                };
                let _ = done.send(r);
            }
            Cmd::Admin(peer, admin) => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    match admin {
                        Admin::Down => p.session.admin_down(now),
                        Admin::Up => p.session.admin_up(now),
                    }
                    self.flush(peer, now);
                }
            }
            Cmd::Shutdown(_) => {}
        }
    }

    fn add(&mut self, settings: PeerConfig, now: Instant) -> Result<(), Error> {
        let peer = settings.peer;
        if self.peers.contains_key(&peer) {
            return Err(Error::SessionExists(peer));
        }
        let mut discr = (random_u64() as u32).max(1);
        while self.by_discr.contains_key(&discr) {
            discr = discr.wrapping_add(1).max(1);
        }
        let seed = settings.seed.unwrap_or_else(random_u64);
        let session = Session::new(settings.session.clone(), discr, seed, now)?;
        let socket = sender(peer, settings.local)?;
        let port = settings.remote_port.unwrap_or(match settings.hop {
            Hop::Single => SINGLE_HOP_PORT,
            Hop::Multi { .. } => MULTI_HOP_PORT,
        });
        self.peers.insert(
            peer,
            Peer {
                remote: SocketAddr::new(peer, port),
                settings,
                session,
                socket,
                scheduled: None,
            },
        );
        self.by_discr.insert(discr, peer);
        self.flush(peer, now);
        Ok(())
    }

    fn forget(&mut self, peer: IpAddr) {
        if let Some(p) = self.peers.remove(&peer) {
            self.by_discr.remove(&p.session.local_discriminator());
            if let Some(t) = p.scheduled {
                self.timers.remove(&(t, peer));
            }
        }
        if let Some(s) = self.shared.upgrade() {
            lock(&s.status).remove(&peer);
        }
    }

    fn packet(&mut self, d: Datagram) {
        let bytes = &d.buf[..d.len];
        let Ok(p) = Packet::new_checked(bytes) else {
            return;
        };
        let your = p.your_discriminator();
        let peer = if your != 0 {
            match self.by_discr.get(&your) {
                Some(&peer) if peer == d.from => peer,
                _ => {
                    tracing::trace!(from = %d.from, your, "bfd packet for no session");
                    return;
                }
            }
        } else if self.peers.contains_key(&d.from) {
            d.from
        } else {
            tracing::trace!(from = %d.from, "bfd packet from an unknown address");
            return;
        };
        let Some(entry) = self.peers.get_mut(&peer) else {
            return;
        };
        let ttl_ok = match (entry.settings.hop, d.multi) {
            (Hop::Single, false) => d.ttl == Some(255),
            (Hop::Multi { min_ttl }, true) => d.ttl.is_some_and(|t| t >= min_ttl),
            _ => false,
        };
        if !ttl_ok {
            tracing::debug!(from = %d.from, ttl = ?d.ttl, "bfd packet dropped: TTL or hop kind");
            return;
        }
        let now = Instant::now();
        if let Err(e) = entry.session.handle_packet(now, bytes) {
            tracing::debug!(from = %d.from, error = %e, "bfd packet discarded");
        }
        self.flush(peer, now);
    }

    /// Runs a peer's timers, sends its packets, publishes its events and reschedules it.
    fn flush(&mut self, peer: IpAddr, now: Instant) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.session.handle_timeout(now);
        let mut buf = [0u8; MAX_LEN];
        while let Some(t) = p.session.poll_transmit(now) {
            buf[..t.len()].copy_from_slice(t.as_bytes());
            if let Err(e) = p.socket.send_to(&buf[..t.len()], p.remote) {
                tracing::debug!(%peer, error = %e, "bfd send failed");
            }
        }
        while let Some(Event::StateChanged {
            from,
            to,
            diagnostic,
        }) = p.session.poll_event()
        {
            tracing::info!(%peer, ?from, ?to, ?diagnostic, "bfd session state");
            let _ = self.events.send(BfdEvent {
                peer,
                from,
                to,
                diagnostic,
            });
        }
        if let Some(s) = self.shared.upgrade() {
            lock(&s.status).insert(peer, PeerStatus::of(&p.session));
        }
        let next = p.session.poll_timeout();
        if next != p.scheduled {
            if let Some(old) = p.scheduled {
                self.timers.remove(&(old, peer));
            }
            if let Some(t) = next {
                self.timers.insert((t, peer));
            }
            p.scheduled = next;
        }
    }
}
