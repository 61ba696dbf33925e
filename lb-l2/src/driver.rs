//! The tokio driver shared by lb-arp and lb-ndp (Linux): AF_PACKET sockets on each eligible
//! interface, found over netlink, feeding the sans-IO [`Responder`] core.
//!
//! ```text
//!   reader thread per CPU & interface ─▶ ┌──────────────────────┐ ──reply──▶ same socket
//!   (blocking recv, protocol's BPF)      │ Mutex<Responder<P>>  │
//!   timer task (sleep_until deadline) ──▶│                      │ ──announcements/probes──▶ sockets
//!   Handle (announce/withdraw/probe) ──▶ └──────────────────────┘ ──Event──▶ broadcast (Handle::events)
//!        └─ join/leave the multicast groups the responder names, on the sockets
//!   link watcher (netlink notifications + periodic rescan) ── opens/closes sockets
//! ```
//!
//! Replies are sent from the reader thread that received the request, without a channel hop
//! or an event-loop wake-up: a plain thread blocked in `recv` is the shortest path from the
//! NIC to the reply (the ARP lab measures it against the kernel's own replies). Each CPU has
//! its own reader, pinned to it and (by default) at real-time priority, fed by a
//! `PACKET_FANOUT_CPU` group, so a request is handled on the CPU that received it without
//! waiting for a wake-up elsewhere. Timers, link changes and events run on the tokio runtime.
//!
//! A protocol plugs in by implementing [`Sockets`] beside its [`Protocol`]: the EtherType and
//! BPF program its sockets read, and which interfaces are eligible.
//! `lb_arp::driver` and `lb_ndp::driver` are that and nothing else.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use crate::MacAddress;
use crate::error::Error;
use crate::netlink::{InterfaceFilter, Link};
use crate::responder::{Config, Counters, EventOf, Interface, Protocol, Responder};
use crate::sys::{self, BpfInsn, PacketSocket};

const PACKET_OTHERHOST: u8 = 3;
const PACKET_OUTGOING: u8 = 4;

/// What the driver needs to know of a protocol beyond its [`Protocol`]: the sockets it reads
/// and the interfaces it may serve.
pub trait Sockets: Protocol {
    /// The protocol crate's error, which every [`Error`] of this crate converts into.
    type Error: From<Error> + fmt::Display + fmt::Debug;

    /// The protocol number the packet sockets are opened for (`ETH_P_ARP`, `ETH_P_IPV6`...).
    const ETHERTYPE: u16;
    /// The classic BPF program that keeps only the protocol's frames, in the kernel.
    const FILTER: &'static [BpfInsn];
    /// The rtnetlink multicast groups whose notifications trigger a rescan.
    const NETLINK_GROUPS: u32;

    /// The interfaces the protocol may serve under `filter`, read over netlink now.
    fn eligible(filter: &InterfaceFilter) -> Result<Vec<Link>, Error>;
}

/// Moves the calling thread into a network namespace (for example `/run/netns/NAME`): sockets
/// the driver opens afterwards on this thread, and the interfaces it discovers, are that
/// namespace's. Run a current-thread tokio runtime on that thread.
pub fn enter_netns(path: impl AsRef<Path>) -> Result<(), Error> {
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
pub struct DriverConfig<C> {
    /// The responder core's settings.
    pub responder: C,
    /// Which interfaces to use.
    pub interfaces: InterfaceFilter,
    /// Rescan interfaces this often even without a netlink notification.
    pub rescan_interval: Duration,
    /// Events buffered for each [`Handle::events`] receiver; a receiver that falls further
    /// behind skips the oldest (it sees `RecvError::Lagged`).
    pub event_capacity: usize,
    /// Run the reader threads at real-time priority (SCHED_FIFO 1; needs CAP_SYS_NICE, and is
    /// skipped without it). With it, a request preempts ordinary work on the CPU that received
    /// it and the reply leaves in about the time the kernel takes for its own addresses; without
    /// it, the reader may wait for the current task to yield, which on a busy or virtualised
    /// host adds tens of microseconds. The cost: under a flood of requests the readers can take
    /// up to the kernel's real-time share of each CPU (95% by default), much as the kernel's own
    /// ARP and neighbour discovery handling would.
    pub realtime_readers: bool,
}

impl<C: Default> Default for DriverConfig<C> {
    fn default() -> Self {
        DriverConfig {
            responder: C::default(),
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

struct Shared<P: Sockets> {
    core: Mutex<Responder<P>>,
    ports: Mutex<HashMap<u32, Port>>,
    /// Each wanted address with the interface names it is limited to (`None`: every one).
    wanted: Mutex<BTreeMap<P::Addr, Option<BTreeSet<String>>>>,
    /// The name of each interface in use, by index.
    names: Mutex<HashMap<u32, String>>,
    wake: Notify,
    rescan: Notify,
    events: broadcast::Sender<EventOf<P>>,
    filter: InterfaceFilter,
    realtime: bool,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<P: Sockets> Shared<P> {
    fn drain_events(&self, core: &mut Responder<P>) {
        while let Some(e) = core.poll_event() {
            if let Err(e) = self.events.send(e) {
                tracing::debug!(event = ?e.0, "event unobserved: no receiver");
            }
        }
    }

    fn send(&self, ifindex: u32, frame: &[u8]) {
        let socket = lock(&self.ports).get(&ifindex).map(|p| p.socket.clone());
        if let Some(s) = socket
            && let Err(e) = s.send(frame)
        {
            tracing::warn!(ifindex, error = %e, "send failed");
        }
    }
}

/// A running driver: announce, withdraw, probe and inspect at run time. Cheap to clone.
pub struct Handle<P: Sockets> {
    shared: Arc<Shared<P>>,
}

impl<P: Sockets> Clone for Handle<P> {
    fn clone(&self) -> Self {
        Handle {
            shared: self.shared.clone(),
        }
    }
}

impl<P: Sockets> fmt::Debug for Handle<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("announced", &self.announced())
            .finish()
    }
}

/// The indexes of the interfaces `core` has.
fn interface_indexes<P: Protocol>(core: &Responder<P>) -> Vec<u32> {
    core.interfaces().map(|i| i.index).collect()
}

/// The core's view of `link`, whose MAC is `mac`.
fn interface(link: &Link, mac: MacAddress) -> Interface {
    Interface {
        index: link.index,
        name: link.name.clone(),
        mac,
    }
}

/// Whether interface `name` may carry an address limited to `only`.
fn allowed(only: Option<&BTreeSet<String>>, name: &str) -> bool {
    only.is_none_or(|set| set.contains(name))
}

/// Starts the driver on the current tokio runtime: discovers interfaces, opens their sockets
/// and spawns its tasks and reader threads (one per CPU and interface). Events (conflicts,
/// probe results) go to every [`Handle::events`] receiver. [`Handle::shutdown`] stops
/// everything; so does dropping the runtime (the reader threads notice within 100 ms).
///
/// Interfaces are discovered in the network namespace of the thread that runs the driver's
/// tasks: to serve another namespace, call [`enter_netns`] on a thread and run a
/// current-thread runtime there.
pub async fn spawn<P: Sockets>(config: DriverConfig<Config<P>>) -> Result<Handle<P>, P::Error> {
    let (tx, _) = broadcast::channel(config.event_capacity.max(1));
    let shared = Arc::new(Shared {
        core: Mutex::new(Responder::new(config.responder)),
        ports: Mutex::new(HashMap::new()),
        wanted: Mutex::new(BTreeMap::new()),
        names: Mutex::new(HashMap::new()),
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
    Ok(handle)
}

fn reader_thread<P: Sockets>(
    shared: Weak<Shared<P>>,
    ifindex: u32,
    socket: Arc<PacketSocket>,
    stop: Arc<AtomicBool>,
) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        // Four bytes spare at the end, to put back a tag the stack took out of the data.
        let got = match socket.recv(&mut buf[..2048 - 4]) {
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
        // PACKET_OTHERHOST: not for this host. Among them every frame that carried a VLAN tag
        // no sub-interface of this one terminates: a socket bound to one protocol (ETH_P_ARP,
        // ETH_P_IPV6) gets those after the stack has dropped the tag and marked them so, which
        // is also how the kernel's own ARP and NDP know to ignore them.
        if got.pkttype == PACKET_OUTGOING || got.pkttype == PACKET_OTHERHOST {
            continue;
        }
        // A frame that was tagged for a VLAN this interface does not terminate, as an
        // `ETH_P_ALL` socket sees it (the tag in PACKET_AUXDATA): give it to the core with its
        // tag, as it was on the wire, so that the core sees it is not for us.
        let n = match got.vlan {
            Some((tpid, tci)) => reinsert_vlan(&mut buf, got.len, tpid, tci),
            None => got.len,
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let (reply, sooner) = {
            let mut core = lock(&shared.core);
            let before = core.poll_timeout();
            let reply = core.handle_frame(Instant::now(), ifindex, &buf[..n]);
            let after = core.poll_timeout();
            shared.drain_events(&mut core);
            (reply, after.is_some_and(|a| before.is_none_or(|b| a < b)))
        };
        if let Some(t) = reply
            && let Err(e) = socket.send(t.bytes())
        {
            tracing::warn!(ifindex, error = %e, "reply send failed");
        }
        if sooner {
            // The frame gave the core something to do earlier than the timer task waits for
            // (a defence, the end of a conflict window): wake it.
            shared.wake.notify_one();
        }
    }
}

/// Puts the 802.1Q tag (`tpid`, `tci`) back after the MAC addresses of the `len`-byte frame at
/// the start of `buf`, as it was on the wire; returns the new length (`len` if `buf` has no
/// room or the frame has no MAC header).
fn reinsert_vlan(buf: &mut [u8], len: usize, tpid: u16, tci: u16) -> usize {
    if len < 12 || buf.len() < len + 4 {
        return len;
    }
    buf.copy_within(12..len, 16);
    buf[12..14].copy_from_slice(&tpid.to_be_bytes());
    buf[14..16].copy_from_slice(&tci.to_be_bytes());
    len + 4
}

/// The sockets to read an interface from, each with the CPU its reader should run on: one per
/// CPU in a `PACKET_FANOUT_CPU` group (see [`crate::fanout::cpu_readers`]), or `main` alone,
/// unpinned, if that fails.
fn readers<P: Sockets>(
    main: &Arc<PacketSocket>,
    ifindex: u32,
) -> Vec<(Arc<PacketSocket>, Option<usize>)> {
    crate::fanout::cpu_readers(main, ifindex, P::ETHERTYPE, P::FILTER).unwrap_or_else(|e| {
        // `main` may already be in the group; alone in it, it still gets every frame.
        tracing::debug!(ifindex, error = %e, "per-CPU readers unavailable");
        vec![(main.clone(), None)]
    })
}

/// Joins a multicast group, if the announcement needs one, logging a failure (the frames may
/// still arrive on links that do not filter multicast).
fn join_group(socket: &PacketSocket, group: Option<MacAddress>) {
    if let Some(mac) = group
        && let Err(e) = socket.join_multicast(mac.0)
    {
        tracing::warn!(%mac, error = %e, "joining a multicast group failed");
    }
}

/// Leaves a multicast group no announcement needs any more, logging a failure.
fn leave_group(socket: &PacketSocket, group: MacAddress) {
    if let Err(e) = socket.leave_multicast(group.0) {
        tracing::warn!(mac = %group, error = %e, "leaving a multicast group failed");
    }
}

async fn timer_task<P: Sockets>(shared: Arc<Shared<P>>) {
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
fn flush<P: Sockets>(shared: &Shared<P>) {
    let now = Instant::now();
    loop {
        let next = {
            let mut core = lock(&shared.core);
            let t = core.poll_transmit(now);
            shared.drain_events(&mut core);
            t
        };
        match next {
            Some(t) => {
                shared.send(t.ifindex, t.bytes());
            }
            None => break,
        }
    }
}

async fn link_watcher<P: Sockets>(shared: Arc<Shared<P>>, every: Duration) {
    let notifications = sys::netlink_listener(P::NETLINK_GROUPS)
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
fn rescan<P: Sockets>(shared: &Arc<Shared<P>>) -> Result<(), P::Error> {
    {
        let eligible = P::eligible(&shared.filter)?;
        let now = Instant::now();
        let mut ports = lock(&shared.ports);
        let mut core = lock(&shared.core);
        let keep: BTreeSet<u32> = eligible.iter().map(|l| l.index).collect();
        ports.retain(|index, port| {
            let stays = keep.contains(index);
            if !stays {
                tracing::info!(ifindex = index, "interface gone or no longer eligible");
                lock(&shared.names).remove(index);
                port.stop.store(true, Ordering::Relaxed);
                core.remove_interface(*index);
            }
            stays
        });
        for link in eligible {
            let Some(mac) = link.mac else { continue };
            if ports.contains_key(&link.index) {
                core.add_interface(interface(&link, mac)); // the MAC may have changed
                continue;
            }
            let socket =
                PacketSocket::open(link.index, P::ETHERTYPE, P::FILTER).map_err(|source| {
                    P::Error::from(Error::Io {
                        context: "open packet socket",
                        source,
                    })
                })?;
            let socket = Arc::new(socket);
            tracing::info!(
                iface = %link.name,
                ifindex = link.index,
                %mac,
                "{} on interface",
                P::NAME
            );
            core.add_interface(interface(&link, mac));
            lock(&shared.names).insert(link.index, link.name.clone());
            for (addr, only) in lock(&shared.wanted).iter() {
                if allowed(only.as_ref(), &link.name) {
                    let group = core.announce(now, link.index, *addr)?.join;
                    join_group(&socket, group);
                }
            }
            let stop = Arc::new(AtomicBool::new(false));
            for (member, cpu) in readers::<P>(&socket, link.index) {
                let (weak, flag, index) = (Arc::downgrade(shared), stop.clone(), link.index);
                let realtime = shared.realtime;
                std::thread::Builder::new()
                    .name(format!("{}-rx-{}", P::NAME.to_ascii_lowercase(), link.name))
                    .spawn(move || {
                        if let Some(cpu) = cpu
                            && let Err(e) = sys::pin_current_thread(cpu)
                        {
                            tracing::debug!(cpu, error = %e, "reader left unpinned");
                        }
                        if realtime && let Err(e) = sys::realtime_current_thread() {
                            tracing::debug!(error = %e, "reader left at normal priority");
                        }
                        reader_thread(weak, index, member, flag)
                    })
                    .map_err(|source| {
                        P::Error::from(Error::Io {
                            context: "spawn reader thread",
                            source,
                        })
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

impl<P: Sockets> Handle<P> {
    /// Asks the driver to re-read the interfaces now (it also does on netlink notifications and
    /// every `rescan_interval`).
    pub fn rescan(&self) {
        self.shared.rescan.notify_one();
    }

    /// Announces `addr` on every eligible interface, now and on interfaces found later: joins
    /// the multicast group the responder names, if any, and sends the first announcement at
    /// once. Announcing again restarts the announcement schedule (takeover).
    pub fn announce(&self, addr: P::Addr) -> Result<(), P::Error> {
        self.announce_on(addr, None)
    }

    /// As [`Handle::announce`], limited to the interfaces named in `only` (`None`: every
    /// eligible interface), now and on interfaces found later; a name that is not an eligible
    /// interface is ignored. Announcing an address again with another set moves it: it stops
    /// being answered on the interfaces left out.
    pub fn announce_on(
        &self,
        addr: P::Addr,
        only: Option<BTreeSet<String>>,
    ) -> Result<(), P::Error> {
        let now = Instant::now();
        {
            let names = lock(&self.shared.names).clone();
            // Ports before core, as `rescan` takes them.
            let ports = lock(&self.shared.ports);
            let mut core = lock(&self.shared.core);
            for index in interface_indexes(&core) {
                let name = names.get(&index).map(String::as_str).unwrap_or_default();
                let port = ports.get(&index);
                if allowed(only.as_ref(), name) {
                    let group = core.announce(now, index, addr)?.join;
                    if let Some(port) = port {
                        join_group(&port.socket, group);
                    }
                } else if let (Some(leave), Some(port)) =
                    (core.withdraw(index, addr).and_then(|w| w.leave), port)
                {
                    leave_group(&port.socket, leave);
                }
            }
            lock(&self.shared.wanted).insert(addr, only);
        }
        // Send the first round from the caller's thread: no wake-up latency on takeover.
        flush(&self.shared);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Makes the announced set exactly `addrs`, on every eligible interface: withdraws the
    /// addresses left out and announces the new ones (their schedules start); addresses kept
    /// are left as they are. The declarative twin of [`Handle::announce`] and
    /// [`Handle::withdraw`], as `lb_bgp::driver::Speaker::set_routes` is for routes.
    pub fn set_announced(&self, addrs: impl IntoIterator<Item = P::Addr>) -> Result<(), P::Error> {
        let want: BTreeSet<P::Addr> = addrs.into_iter().collect();
        let (gone, new): (Vec<P::Addr>, Vec<P::Addr>) = {
            let wanted = lock(&self.shared.wanted);
            let gone = wanted
                .keys()
                .filter(|a| !want.contains(a))
                .copied()
                .collect();
            let new = want
                .iter()
                .filter(|a| wanted.get(a).is_none_or(Option::is_some))
                .copied()
                .collect();
            (gone, new)
        };
        for addr in gone {
            self.withdraw(addr);
        }
        for addr in new {
            self.announce(addr)?;
        }
        Ok(())
    }

    /// The events (conflicts, probe results) from now on, for as long as the driver runs.
    /// Each receiver holds up to `event_capacity` of them.
    pub fn events(&self) -> broadcast::Receiver<EventOf<P>> {
        self.shared.events.subscribe()
    }

    /// Stops answering for `addr` everywhere; returns whether it was announced.
    pub fn withdraw(&self, addr: P::Addr) -> bool {
        let was = lock(&self.shared.wanted).remove(&addr).is_some();
        let ports = lock(&self.shared.ports);
        let mut core = lock(&self.shared.core);
        for index in interface_indexes(&core) {
            if let (Some(leave), Some(port)) = (
                core.withdraw(index, addr).and_then(|w| w.leave),
                ports.get(&index),
            ) {
                leave_group(&port.socket, leave);
            }
        }
        was
    }

    /// Ends every pending announcement schedule (gratuitous ARP, unsolicited NA) while every
    /// address stays announced and its requests answered: call it when this host leaves and
    /// another takes its addresses over, so no late round of ours pulls clients back.
    pub fn hand_over(&self) {
        lock(&self.shared.core).hand_over();
    }

    /// The addresses announced.
    pub fn announced(&self) -> Vec<P::Addr> {
        lock(&self.shared.wanted).keys().copied().collect()
    }

    /// Starts the protocol's probe for `addr` on every interface; the outcome arrives as an
    /// event per interface.
    pub fn probe(&self, addr: P::Addr) -> Result<(), P::Error> {
        let now = Instant::now();
        {
            let mut core = lock(&self.shared.core);
            for index in interface_indexes(&core) {
                core.probe(now, index, addr)?;
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

    /// Stops every task and closes the sockets (the reader threads notice within 100 ms).
    pub async fn shutdown(&self) {
        for t in lock(&self.shared.tasks).drain(..) {
            t.abort();
        }
        // Dropping the ports tells their reader threads to stop.
        lock(&self.shared.ports).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::reinsert_vlan;

    #[test]
    fn a_stripped_tag_goes_back_where_it_was() {
        let mut buf = [0u8; 24];
        let frame = [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x08, 0x06, 0xaa, 0xbb];
        buf[..16].copy_from_slice(&frame);
        assert_eq!(reinsert_vlan(&mut buf, 16, 0x8100, 0x0064), 20);
        assert_eq!(
            &buf[..20],
            &[
                1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x81, 0x00, 0x00, 0x64, 0x08, 0x06, 0xaa, 0xbb
            ]
        );
        assert_eq!(reinsert_vlan(&mut buf, 20, 0x8100, 1), 24);
        assert_eq!(reinsert_vlan(&mut buf, 24, 0x8100, 1), 24, "no room");
        assert_eq!(reinsert_vlan(&mut buf, 8, 0x8100, 1), 8, "runt");
    }
}
