//! The tokio driver (Linux): AF_PACKET sockets on each eligible interface, found over netlink,
//! feeding the sans-IO [`NdpResponder`].
//!
//! ```text
//!   reader thread per CPU & interface ─▶ ┌──────────────────────┐ ──reply──▶ same socket
//!   (AsyncFd, BPF: NS/NA only)           │ Mutex<NdpResponder>  │
//!   timer task (sleep_until deadline) ──▶│                      │ ──unsolicited NA/probes──▶ sockets
//!   Handle (announce/withdraw/probe) ──▶ └──────────────────────┘ ──Event──▶ mpsc receiver
//!        └─ join/leave solicited-node groups (PACKET_ADD_MEMBERSHIP) on the sockets
//!   link watcher (netlink link + IPv6 address groups, periodic rescan) ── opens/closes sockets
//! ```
//!
//! Replies are sent from the reader thread that received the request, without a channel hop
//! or an event-loop wake-up: a plain thread blocked in `recv` is the shortest path from the
//! NIC to the reply. Each CPU has its own reader, pinned to it and (by default) at real-time
//! priority, fed by a `PACKET_FANOUT_CPU` group, so a request is handled on the CPU that
//! received it without waiting for a wake-up elsewhere. Timers, link changes and events run on
//! the tokio runtime.

use lb_l2::{netlink, sys};

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::net::Ipv6Addr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

pub use lb_l2::netlink::{InterfaceFilter, Link, NamePattern, link_local_interfaces, links};
use sys::{BpfInsn, PacketSocket};

use crate::error::{Error, Result};
use crate::responder::{Config, Counters, Event, Interface, NdpResponder};
use crate::wire::MacAddress;

const ETH_P_IPV6: u16 = 0x86dd;
const PACKET_OUTGOING: u8 = 4;
const THREAD_PREFIX: &str = "ndp-rx-";

/// Classic BPF: accept untagged IPv6 frames carrying ICMPv6 (no extension header) of type 135
/// (NS) or 136 (NA; the watcher and the probes need advertisements); drop everything else in
/// the kernel.
const NDP_FILTER: [BpfInsn; 9] = [
    insn(0x28, 0, 0, 12),     // ldh [12]              EtherType
    insn(0x15, 0, 6, 0x86dd), // jeq IPv6, else drop
    insn(0x30, 0, 0, 20),     // ldb [20]              IPv6 next header
    insn(0x15, 0, 4, 58),     // jeq ICMPv6, else drop
    insn(0x30, 0, 0, 54),     // ldb [54]              ICMPv6 type
    insn(0x15, 1, 0, 135),    // jeq NS -> accept
    insn(0x15, 0, 1, 136),    // jeq NA -> accept, else drop
    insn(0x06, 0, 0, 0xffff), // accept
    insn(0x06, 0, 0, 0),      // drop
];

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> BpfInsn {
    BpfInsn { code, jt, jf, k }
}

/// Moves the calling thread into a network namespace (for example `/run/netns/NAME`): sockets
/// the driver opens afterwards on this thread, and the interfaces it discovers, are that
/// namespace's. Run a current-thread tokio runtime on that thread.
pub fn enter_netns(path: impl AsRef<Path>) -> Result<()> {
    let f = File::open(path).map_err(|source| Error::Io {
        context: "open netns",
        source,
    })?;
    sys::enter_netns(&f).map_err(|source| Error::Io {
        context: "setns",
        source,
    })
}

/// Driver settings.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// The responder core's settings.
    pub responder: Config,
    /// Which interfaces to use.
    pub interfaces: InterfaceFilter,
    /// Rescan interfaces this often even without a netlink notification.
    pub rescan_interval: Duration,
    /// Events buffered for the receiver; more are dropped.
    pub event_capacity: usize,
    /// Run the reader threads at real-time priority (SCHED_FIFO 1; needs CAP_SYS_NICE, and is
    /// skipped without it). With it, a request preempts ordinary work on the CPU that received
    /// it and the reply leaves in about the time the kernel takes for its own addresses; without
    /// it, the reader may wait for the current task to yield, which on a busy or virtualised
    /// host adds tens of microseconds. The cost: under a flood of requests the readers can take
    /// up to the kernel's real-time share of each CPU (95% by default), much as the kernel's own
    /// neighbour discovery handling would.
    pub realtime_readers: bool,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            responder: Config::default(),
            interfaces: InterfaceFilter::default(),
            rescan_interval: Duration::from_secs(10),
            event_capacity: 1024,
            realtime_readers: true,
        }
    }
}

struct Port {
    socket: Arc<PacketSocket>,
    /// Tells the reader thread to stop (it notices within `sys::RECV_TIMEOUT`).
    stop: Arc<AtomicBool>,
}

impl Drop for Port {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

struct Shared {
    core: Mutex<NdpResponder>,
    ports: Mutex<FxHashMap<u32, Port>>,
    wanted: Mutex<BTreeSet<Ipv6Addr>>,
    wake: Notify,
    rescan: Notify,
    events: mpsc::Sender<Event>,
    filter: InterfaceFilter,
    realtime: bool,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn drain_events(&self, core: &mut NdpResponder) {
        while let Some(e) = core.poll_event() {
            if self.events.try_send(e).is_err() {
                tracing::warn!(?e, "event dropped: receiver full or gone");
            }
        }
    }

    fn send(&self, ifindex: u32, frame: &[u8]) {
        let socket = lock(&self.ports).get(&ifindex).map(|p| p.socket.clone());
        if let Some(s) = socket {
            if let Err(e) = s.send(frame) {
                tracing::warn!(ifindex, error = %e, "send failed");
            }
        }
    }
}

/// A running driver: announce, withdraw, probe and inspect at run time. Cheap to clone.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("announced", &self.announced())
            .finish()
    }
}

/// Starts the driver on the current tokio runtime: discovers interfaces, opens their sockets
/// and spawns its tasks and reader threads (one per CPU and interface). Events (conflicts, probe results)
/// arrive on the returned receiver. [`Handle::shutdown`] stops everything; so does dropping
/// the runtime (the reader threads notice within 100 ms).
///
/// Interfaces are discovered in the network namespace of the thread that runs the driver's
/// tasks: to serve another namespace, call [`enter_netns`] on a thread and run a
/// current-thread runtime there.
pub async fn spawn(config: DriverConfig) -> Result<(Handle, mpsc::Receiver<Event>)> {
    let (tx, rx) = mpsc::channel(config.event_capacity.max(1));
    let shared = Arc::new(Shared {
        core: Mutex::new(NdpResponder::new(config.responder)),
        ports: Mutex::new(FxHashMap::default()),
        wanted: Mutex::new(BTreeSet::new()),
        wake: Notify::new(),
        rescan: Notify::new(),
        events: tx,
        filter: config.interfaces,
        realtime: config.realtime_readers,
        tasks: Mutex::new(Vec::new()),
    });
    let handle = Handle {
        shared: shared.clone(),
    };
    rescan(&shared)?;
    let timer = tokio::spawn(timer_task(shared.clone()));
    let watcher = tokio::spawn(link_watcher(shared.clone(), config.rescan_interval));
    lock(&shared.tasks).extend([timer, watcher]);
    Ok((handle, rx))
}

fn reader_thread(
    shared: Weak<Shared>,
    ifindex: u32,
    socket: Arc<PacketSocket>,
    stop: Arc<AtomicBool>,
) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let (n, pkttype) = match socket.recv(&mut buf) {
            Ok(got) => got,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                // The driver is gone without a shutdown (its runtime was dropped): stop too.
                if shared.strong_count() == 0 {
                    return;
                }
                continue;
            }
            Err(e) => {
                tracing::error!(ifindex, error = %e, "packet socket failed");
                return;
            }
        };
        if pkttype == PACKET_OUTGOING {
            continue;
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let reply = {
            let mut core = lock(&shared.core);
            let reply = core.handle_frame(Instant::now(), ifindex, &buf[..n]);
            shared.drain_events(&mut core);
            reply
        };
        if let Some(t) = reply {
            if let Err(e) = socket.send(t.bytes()) {
                tracing::warn!(ifindex, error = %e, "reply send failed");
            }
        }
    }
}

/// The sockets to read an interface from, each with the CPU its reader should run on: one per
/// CPU in a `PACKET_FANOUT_CPU` group (see [`lb_l2::fanout::cpu_readers`]), or `main` alone,
/// unpinned, if that fails.
fn readers(main: &Arc<PacketSocket>, ifindex: u32) -> Vec<(Arc<PacketSocket>, Option<usize>)> {
    lb_l2::fanout::cpu_readers(main, ifindex, ETH_P_IPV6, &NDP_FILTER).unwrap_or_else(|e| {
        // `main` may already be in the group; alone in it, it still gets every frame.
        tracing::debug!(ifindex, error = %e, "per-CPU readers unavailable");
        vec![(main.clone(), None)]
    })
}

async fn timer_task(shared: Arc<Shared>) {
    loop {
        let deadline = lock(&shared.core).poll_timeout();
        match deadline {
            Some(at) => {
                let at = tokio::time::Instant::from_std(at);
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = shared.wake.notified() => {}
                }
            }
            None => shared.wake.notified().await,
        }
        flush(&shared);
    }
}

/// Sends everything the core has due now.
/// Joins or leaves a solicited-node group, logging failures (the NS may still arrive on links
/// that do not filter multicast).
fn join(socket: &PacketSocket, group: Option<MacAddress>, join: bool) {
    if let Some(mac) = group {
        if let Err(e) = socket.set_membership(mac.0, join) {
            tracing::warn!(%mac, join, error = %e, "multicast membership change failed");
        }
    }
}

fn flush(shared: &Shared) {
    let now = Instant::now();
    loop {
        let next = {
            let mut core = lock(&shared.core);
            let t = core.poll_transmit(now);
            shared.drain_events(&mut core);
            t
        };
        match next {
            Some(t) => shared.send(t.ifindex, t.bytes()),
            None => break,
        }
    }
}

async fn link_watcher(shared: Arc<Shared>, every: Duration) {
    let notifications =
        sys::netlink_socket(netlink::RTMGRP_LINK | netlink::RTMGRP_IPV6_IFADDR, true)
            .ok()
            .and_then(|fd| sys::async_fd(fd).ok());
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match &notifications {
            Some(fd) => {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = shared.rescan.notified() => {}
                    guard = fd.readable() => {
                        if let Ok(mut g) = guard {
                            // Drain every pending notification, then rescan once.
                            while let Ok(Ok(_)) = g.try_io(|fd| sys::recv(fd.get_ref(), &mut buf)) {}
                        }
                    }
                }
            }
            None => {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = shared.rescan.notified() => {}
                }
            }
        }
        if let Err(e) = rescan(&shared) {
            tracing::warn!(error = %e, "interface rescan failed");
        }
    }
}

/// Re-reads the interfaces over netlink: opens sockets on newly eligible ones (announcing
/// every wanted address there) and closes those no longer eligible. Runs on the driver's
/// runtime, so netlink sees the namespace the driver was started in.
fn rescan(shared: &Arc<Shared>) -> Result<()> {
    {
        let link_local = link_local_interfaces()?;
        let eligible: Vec<Link> = links()?
            .into_iter()
            .filter(|l| shared.filter.ndp_eligible(l, link_local.contains(&l.index)))
            .collect();
        let now = Instant::now();
        let mut ports = lock(&shared.ports);
        let mut core = lock(&shared.core);
        let keep: BTreeSet<u32> = eligible.iter().map(|l| l.index).collect();
        ports.retain(|index, port| {
            let stays = keep.contains(index);
            if !stays {
                tracing::info!(ifindex = index, "interface gone or no longer eligible");
                port.stop.store(true, Ordering::Relaxed);
                core.remove_interface(*index);
            }
            stays
        });
        for link in eligible {
            let Some(mac) = link.mac else { continue };
            let iface = Interface {
                index: link.index,
                name: link.name.clone(),
                mac,
            };
            if ports.contains_key(&link.index) {
                core.add_interface(iface); // the MAC may have changed
                continue;
            }
            let socket =
                PacketSocket::open(link.index, ETH_P_IPV6, &NDP_FILTER).map_err(|source| {
                    Error::Io {
                        context: "open packet socket",
                        source,
                    }
                })?;
            let socket = Arc::new(socket);
            tracing::info!(iface = %link.name, ifindex = link.index, %mac, "NDP on interface");
            core.add_interface(iface);
            for ip in lock(&shared.wanted).iter() {
                let done = core.announce(now, link.index, *ip)?;
                join(&socket, done.join, true);
            }
            let stop = Arc::new(AtomicBool::new(false));
            for (member, cpu) in readers(&socket, link.index) {
                let (weak, flag, index) = (Arc::downgrade(shared), stop.clone(), link.index);
                let realtime = shared.realtime;
                std::thread::Builder::new()
                    .name(format!("{THREAD_PREFIX}{}", link.name))
                    .spawn(move || {
                        if let Some(cpu) = cpu {
                            if let Err(e) = sys::pin_current_thread(cpu) {
                                tracing::debug!(cpu, error = %e, "reader left unpinned");
                            }
                        }
                        if realtime {
                            if let Err(e) = sys::realtime_current_thread() {
                                tracing::debug!(error = %e, "reader left at normal priority");
                            }
                        }
                        reader_thread(weak, index, member, flag)
                    })
                    .map_err(|source| Error::Io {
                        context: "spawn reader thread",
                        source,
                    })?;
            }
            ports.insert(link.index, Port { socket, stop });
        }
        drop(core);
        drop(ports);
    }
    shared.wake.notify_one();
    Ok(())
}

impl Handle {
    /// Asks the driver to re-read the interfaces now (it also does on netlink link
    /// notifications and every `rescan_interval`).
    pub fn rescan(&self) {
        self.shared.rescan.notify_one();
    }

    /// Announces `ip` on every eligible interface, now and on interfaces found later: joins
    /// its solicited-node group and sends the first unsolicited advertisement at once.
    /// Announcing again restarts the advertisement schedule (takeover).
    pub fn announce(&self, ip: Ipv6Addr) -> Result<()> {
        lock(&self.shared.wanted).insert(ip);
        let now = Instant::now();
        {
            let ports = lock(&self.shared.ports);
            let mut core = lock(&self.shared.core);
            let indexes: Vec<u32> = core.interfaces().map(|i| i.index).collect();
            for index in indexes {
                let done = core.announce(now, index, ip)?;
                if let Some(port) = ports.get(&index) {
                    join(&port.socket, done.join, true);
                }
            }
        }
        // Send the first round from the caller's thread: no wake-up latency on takeover.
        flush(&self.shared);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Stops answering for `ip` everywhere; returns whether it was announced.
    pub fn withdraw(&self, ip: Ipv6Addr) -> bool {
        let was = lock(&self.shared.wanted).remove(&ip);
        let ports = lock(&self.shared.ports);
        let mut core = lock(&self.shared.core);
        let indexes: Vec<u32> = core.interfaces().map(|i| i.index).collect();
        for index in indexes {
            if let (Some(leave), Some(port)) = (core.withdraw(index, ip), ports.get(&index)) {
                join(&port.socket, leave, false);
            }
        }
        was
    }

    /// The addresses announced.
    pub fn announced(&self) -> Vec<Ipv6Addr> {
        lock(&self.shared.wanted).iter().copied().collect()
    }

    /// Starts a DAD-style probe (RFC 4862) for `ip` on every interface; the outcome arrives as
    /// [`Event::ProbeDone`] per interface.
    pub fn probe(&self, ip: Ipv6Addr) -> Result<()> {
        let now = Instant::now();
        {
            let mut core = lock(&self.shared.core);
            let indexes: Vec<u32> = core.interfaces().map(|i| i.index).collect();
            for index in indexes {
                core.probe(now, index, ip)?;
            }
        }
        flush(&self.shared);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// The interfaces in use with their counters.
    pub fn interfaces(&self) -> Vec<(Interface, Counters)> {
        let core = lock(&self.shared.core);
        core.interfaces()
            .map(|i| (i.clone(), core.counters(i.index).unwrap_or_default()))
            .collect()
    }

    /// Stops every task and closes the sockets.
    pub fn shutdown(&self) {
        for t in lock(&self.shared.tasks).drain(..) {
            t.abort();
        }
        // Dropping the ports tells their reader threads to stop.
        lock(&self.shared.ports).clear();
    }
}
