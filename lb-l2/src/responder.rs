//! The sans-IO announcement core shared by lb-arp and lb-ndp: which frames to answer, when to
//! send the announcement rounds (gratuitous ARP, unsolicited NA), probes and defences, what
//! counts as a conflict. No sockets, no clock: every input carries `now`, outputs are frames to
//! send ([`Transmit`]), events ([`Event`]) and the next deadline ([`Responder::poll_timeout`]).
//!
//! What differs between the protocols is a [`Protocol`]: the frames of an announcement round,
//! a defence and a probe, how a received frame reads (a request to answer, a claim on an
//! address, a probe's answer) and which link-layer multicast group an address needs.
//! Everything else lives here once: the per-interface state, the announcement schedule with its
//! generations, probes, conflict windows and defences, counters and the bounded event queue.
//!
//! The driver's loop is:
//!
//! 1. a frame arrives on interface `i`: `handle_frame(now, i, bytes)` and send the reply it
//!    returns, if any;
//! 2. the deadline from `poll_timeout()` passes (or `announce`/`probe` was called): send every
//!    frame `poll_transmit(now)` yields;
//! 3. drain `poll_event()` after either; join / leave the multicast groups that `announce` and
//!    `withdraw` return.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::ethernet::{EthernetFrame, MacAddress};
use crate::{Error, Result};

/// One protocol's part of a [`Responder`]: its frames and how it reads what it receives.
pub trait Protocol: Copy + fmt::Debug + Default + PartialEq + Eq + Send + Sync + 'static {
    /// The addresses it announces (`Ipv4Addr` for ARP, `Ipv6Addr` for NDP).
    type Addr: Copy + Eq + Ord + Hash + fmt::Debug + fmt::Display + Send + Sync + 'static;
    /// How a foreign host claimed an address, as [`Event::Conflict`] reports it.
    type ClaimKind: Copy + fmt::Debug + PartialEq + Eq + Send + Sync + 'static;
    /// The hasher of the per-interface address maps.
    type Hasher: BuildHasher + Default + Clone + Send + Sync + 'static;
    /// A reply to a received frame, as [`Protocol::receive`] decides it (its owned frame
    /// representation); the core writes it with [`Protocol::transmit`] only when it is sent.
    type Reply;

    /// The protocol's name, for logs ("ARP", "NDP").
    const NAME: &'static str;
    /// The default [`Config::probe`].
    const PROBE: ProbeConfig;

    /// The link-layer multicast group an interface must be a member of to hear requests for
    /// `addr`, if any.
    fn group(addr: Self::Addr) -> Option<MacAddress>;
    /// The frames of one announcement round for `addr` from `mac` on `ifindex`: one, or two
    /// sent back to back.
    fn announcement(
        ifindex: u32,
        mac: MacAddress,
        addr: Self::Addr,
    ) -> (Transmit, Option<Transmit>);
    /// The one frame that defends `addr` against a foreign claim.
    fn defence(ifindex: u32, mac: MacAddress, addr: Self::Addr) -> Transmit;
    /// One probe for `addr`.
    fn probe(ifindex: u32, mac: MacAddress, addr: Self::Addr) -> Transmit;
    /// The frame `reply`, written for `ifindex`.
    fn transmit(ifindex: u32, reply: &Self::Reply) -> Transmit;
    /// Reads a received frame. `announced` tells whether an address is announced on the
    /// interface it arrived on.
    fn receive(rx: Incoming<'_>, announced: impl Fn(Self::Addr) -> bool) -> Received<Self>;
}

/// A frame received on an interface, as [`Protocol::receive`] reads it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The interface it arrived on.
    pub ifindex: u32,
    /// That interface's MAC.
    pub mac: MacAddress,
    /// The frame, Ethernet header first (frames tagged for a VLAN are left out before).
    pub bytes: &'a [u8],
}

impl<'a> Incoming<'a> {
    /// The frame as `parse` reads it, or `None` when it does not parse (the error is logged
    /// at trace level, naming the protocol `what`).
    #[inline]
    pub fn parse<T, E: fmt::Display>(
        &self,
        what: &str,
        parse: impl FnOnce(&'a [u8]) -> std::result::Result<T, E>,
    ) -> Option<T> {
        parse(self.bytes)
            .inspect_err(|e| tracing::trace!(error = %e, "not a valid {what} frame"))
            .ok()
    }
}

/// What a [`Protocol`] read in a received frame.
pub enum Received<P: Protocol> {
    /// Not a valid frame of the protocol.
    Malformed,
    /// A frame this interface sent.
    Own,
    /// A frame from another host.
    Foreign(Foreign<P>),
}

/// A frame from another host, as a [`Protocol`] reads it.
pub struct Foreign<P: Protocol> {
    /// The sender's link-layer address.
    pub mac: MacAddress,
    /// The frame asks for an address (counted in [`Counters::requests_received`]).
    pub request: bool,
    /// An address the frame shows another host uses or wants: it ends our probe for it.
    pub in_use: Option<P::Addr>,
    /// An address the sender claims as its own: a conflict if we announce it.
    pub claim: Option<(P::Addr, P::ClaimKind)>,
    /// The answer to send, if the frame asks us for an announced address.
    pub reply: Option<P::Reply>,
}

/// A network interface the responder works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Kernel interface index.
    pub index: u32,
    /// Name, for logs.
    pub name: String,
    /// The interface's MAC: the address replies and announcements carry.
    pub mac: MacAddress,
}

/// When announcement rounds go out after an announcement, as offsets from the `announce` call.
///
/// The default is a fast burst in the first second (0, 100, 250, 500 ms, 1 s), then one per
/// second until 5 s. [`Schedule::metallb`] gives MetalLB's 0, 1.1, 2.2, 3.3, 4.4 s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    offsets: Vec<Duration>,
}

impl Schedule {
    /// At most this many rounds per announcement.
    pub const MAX_ROUNDS: usize = 64;

    /// A schedule from offsets: at least one, at most [`Self::MAX_ROUNDS`], non-decreasing.
    pub fn new(offsets: impl IntoIterator<Item = Duration>) -> Result<Self> {
        let offsets: Vec<Duration> = offsets.into_iter().take(Self::MAX_ROUNDS + 1).collect();
        if offsets.is_empty() || offsets.len() > Self::MAX_ROUNDS {
            return Err(Error::InvalidConfig(
                "announcement schedule needs 1 to 64 rounds",
            ));
        }
        if offsets.windows(2).any(|w| w[1] < w[0]) {
            return Err(Error::InvalidConfig(
                "announcement schedule offsets must not decrease",
            ));
        }
        Ok(Schedule { offsets })
    }
    /// MetalLB's schedule: immediately, then every 1.1 s for 5 s.
    pub fn metallb() -> Self {
        Schedule {
            offsets: (0..5).map(|i| Duration::from_millis(1100 * i)).collect(),
        }
    }
    /// The offsets.
    pub fn offsets(&self) -> &[Duration] {
        &self.offsets
    }
}

impl Default for Schedule {
    fn default() -> Self {
        let ms = [0, 100, 250, 500, 1000, 2000, 3000, 4000, 5000];
        Schedule {
            offsets: ms.iter().map(|&m| Duration::from_millis(m)).collect(),
        }
    }
}

/// How a probe runs: `count` probes `interval` apart, then `wait` for answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Probes sent.
    pub count: u32,
    /// Time between probes.
    pub interval: Duration,
    /// Time to listen after the last probe.
    pub wait: Duration,
}

/// RFC 5227 DEFEND_INTERVAL: at most one defending announcement per address this often (NDP
/// applies the same rule).
pub const DEFEND_INTERVAL: Duration = Duration::from_secs(10);

/// Responder settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config<P> {
    /// Announcement rounds (gratuitous ARP, unsolicited NA) after `announce`.
    pub schedule: Schedule,
    /// Conflict probes.
    pub probe: ProbeConfig,
    /// Events kept until polled; more are dropped and counted.
    pub max_events: usize,
    /// Conflicts are reported per interface and address at most once per window: the first
    /// claim at once ([`Event::Conflict`]), later ones in the window as one
    /// [`Event::ConflictRepeated`] with their count when it ends. A storm of forged claims
    /// costs a hash lookup per frame, one log line and one event per window and address.
    pub conflict_window: Duration,
    /// Defend an announced address against a foreign claim (RFC 5227 §2.4 (b), applied to NDP
    /// too): on seeing one, send one announcement, unless we already defended that address
    /// within this interval. So a host that claims an address after our schedule has ended
    /// sees us too, and both sides report the conflict. `None`: never defend, only report.
    pub defend_interval: Option<Duration>,
    /// The protocol.
    pub protocol: P,
}

impl<P: Protocol> Default for Config<P> {
    fn default() -> Self {
        Config {
            schedule: Schedule::default(),
            probe: P::PROBE,
            max_events: 1024,
            conflict_window: Duration::from_secs(10),
            defend_interval: Some(DEFEND_INTERVAL),
            protocol: P::default(),
        }
    }
}

/// Per-interface counters, plain numbers a caller can export as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests (ARP requests and probes, Neighbor Solicitations) received, for any address.
    pub requests_received: u64,
    /// Replies sent for announced addresses.
    pub replies_sent: u64,
    /// Announcement frames sent (ARP sends two a round: request and reply form).
    pub gratuitous_sent: u64,
    /// Foreign packets claiming an announced or probed address.
    pub conflicts_seen: u64,
    /// Announcements sent to defend an announced address.
    pub defences_sent: u64,
    /// Probes sent.
    pub probes_sent: u64,
    /// Frames we sent ourselves, seen again.
    pub own_frames: u64,
    /// Frames tagged for a VLAN this interface does not terminate (an 802.1Q or 802.1ad tag
    /// on the wire, as the driver reports it), ignored as the kernel ignores them: a VLAN is
    /// served on its own (sub-)interface, whose frames arrive untagged.
    pub other_vlan: u64,
    /// Frames that are not of the protocol or are malformed.
    pub malformed: u64,
}

/// What a probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Nobody answered: the address looks free.
    Free,
    /// Another host claims it.
    InUse {
        /// That host's MAC.
        mac: MacAddress,
    },
}

/// Something the caller should know about (`A`: the address type, `K`: how a claim was made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<A, K> {
    /// A foreign host claims an address we announce.
    Conflict {
        /// Interface it arrived on.
        ifindex: u32,
        /// The address.
        ip: A,
        /// The foreign MAC.
        foreign_mac: MacAddress,
        /// How it was claimed.
        kind: K,
    },
    /// More foreign claims for an address already reported by an [`Event::Conflict`], counted
    /// over one [`Config::conflict_window`] and reported when the window ends.
    ConflictRepeated {
        /// Interface they arrived on.
        ifindex: u32,
        /// The address.
        ip: A,
        /// The foreign MAC of the last one.
        foreign_mac: MacAddress,
        /// How many arrived in the window after the last report.
        count: u64,
    },
    /// A probe started with [`Responder::probe`] finished.
    ProbeDone {
        /// Interface.
        ifindex: u32,
        /// The probed address.
        ip: A,
        /// What it found.
        outcome: ProbeOutcome,
    },
}

/// The event type of a responder for `P`.
pub type EventOf<P> = Event<<P as Protocol>::Addr, <P as Protocol>::ClaimKind>;

/// What `announce` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announced {
    /// The address was not announced on this interface before.
    pub new: bool,
    /// A multicast group (as its Ethernet address) the interface must now join: the first
    /// announced address that needs it.
    pub join: Option<MacAddress>,
}

/// What `withdraw` did, when the address was announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawn {
    /// A multicast group the interface may now leave: `ip` was the last address needing it.
    pub leave: Option<MacAddress>,
}

/// Largest frame a responder emits: an NA with a target link-layer option and one 802.1Q tag.
pub const MAX_FRAME_LEN: usize = 18 + 40 + 32;

/// A frame to send on an interface. Held inline: no allocation per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Interface to send on.
    pub ifindex: u32,
    buf: [u8; MAX_FRAME_LEN],
    len: usize,
}

impl Transmit {
    /// A frame for `ifindex` written by `emit`, which returns its length (an error, or a
    /// frame longer than [`MAX_FRAME_LEN`], leaves it empty).
    #[inline]
    pub fn emit<E>(ifindex: u32, emit: impl FnOnce(&mut [u8]) -> Result<usize, E>) -> Transmit {
        let mut buf = [0u8; MAX_FRAME_LEN];
        let len = emit(&mut buf).unwrap_or(0).min(MAX_FRAME_LEN);
        Transmit { ifindex, buf, len }
    }
    /// The frame's bytes.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Announcement,
    Probe,
    Defend,
    ConflictWindow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Timer<A> {
    at: Instant,
    generation: u64,
    ifindex: u32,
    ip: A,
    kind: TimerKind,
}

#[derive(Debug)]
struct Announcement {
    started: Instant,
    round: usize,
    generation: u64,
    /// When we last defended it.
    defended: Option<Instant>,
}

/// The conflicts counted for one address since its last report.
#[derive(Debug)]
struct ConflictWindow {
    count: u64,
    foreign_mac: MacAddress,
    generation: u64,
}

#[derive(Debug)]
struct Probe {
    sent: u32,
    generation: u64,
}

struct InterfaceState<P: Protocol> {
    iface: Interface,
    announced: HashMap<P::Addr, Announcement, P::Hasher>,
    probes: HashMap<P::Addr, Probe, P::Hasher>,
    /// Multicast groups joined, with the number of announced addresses in each.
    groups: FxHashMap<MacAddress, u32>,
    /// Addresses whose conflicts were reported within the current window; at most one entry
    /// per address claimed in the last window.
    conflicts: HashMap<P::Addr, ConflictWindow, P::Hasher>,
    counters: Counters,
}

impl<P: Protocol> InterfaceState<P> {
    fn new(iface: Interface) -> Self {
        InterfaceState {
            iface,
            announced: HashMap::default(),
            probes: HashMap::default(),
            groups: FxHashMap::default(),
            conflicts: HashMap::default(),
            counters: Counters::default(),
        }
    }
}

/// The responder core for any number of interfaces and addresses (`lb_arp::ArpResponder` and
/// `lb_ndp::NdpResponder` are this with their [`Protocol`]).
pub struct Responder<P: Protocol> {
    config: Config<P>,
    interfaces: FxHashMap<u32, InterfaceState<P>>,
    timers: BinaryHeap<Reverse<Timer<P::Addr>>>,
    /// The second frame of an announcement round, due at the instant kept with it.
    pending: Option<(Instant, Transmit)>,
    events: VecDeque<EventOf<P>>,
    events_dropped: u64,
    next_generation: u64,
}

impl<P: Protocol> fmt::Debug for Responder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("protocol", &P::NAME)
            .field("interfaces", &self.interfaces.len())
            .field("timers", &self.timers.len())
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl<P: Protocol> Responder<P> {
    /// A responder with no interfaces.
    pub fn new(config: Config<P>) -> Self {
        Responder {
            config,
            interfaces: FxHashMap::default(),
            timers: BinaryHeap::new(),
            pending: None,
            events: VecDeque::new(),
            events_dropped: 0,
            next_generation: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config<P> {
        &self.config
    }

    /// Adds an interface, or updates its name and MAC; returns true if it is new.
    pub fn add_interface(&mut self, iface: Interface) -> bool {
        match self.interfaces.get_mut(&iface.index) {
            Some(state) => {
                state.iface = iface;
                false
            }
            None => {
                self.interfaces
                    .insert(iface.index, InterfaceState::new(iface));
                true
            }
        }
    }

    /// Forgets an interface with its announcements, probes and counters.
    pub fn remove_interface(&mut self, ifindex: u32) -> Option<Interface> {
        self.interfaces.remove(&ifindex).map(|s| s.iface)
    }

    /// The interfaces.
    pub fn interfaces(&self) -> impl Iterator<Item = &Interface> {
        self.interfaces.values().map(|s| &s.iface)
    }

    fn state(&mut self, ifindex: u32) -> Result<&mut InterfaceState<P>> {
        self.interfaces
            .get_mut(&ifindex)
            .ok_or(Error::UnknownInterface(ifindex))
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    fn push_timer(&mut self, timer: Timer<P::Addr>) {
        self.timers.push(Reverse(timer));
        // Restarted schedules leave stale timers behind; keep the heap proportional to the work.
        let live: usize = self
            .interfaces
            .values()
            .map(|s| 2 * s.announced.len() + s.probes.len() + s.conflicts.len())
            .sum();
        if self.timers.len() > 2 * live + 64 {
            let interfaces = &self.interfaces;
            self.timers
                .retain(|Reverse(t)| timer_is_live(interfaces, t));
        }
    }

    /// Starts answering for `ip` on `ifindex` and (re)starts its announcement schedule: call it
    /// on takeover.
    pub fn announce(&mut self, now: Instant, ifindex: u32, ip: P::Addr) -> Result<Announced> {
        let generation = self.generation();
        let state = self.state(ifindex)?;
        let new = state
            .announced
            .insert(
                ip,
                Announcement {
                    started: now,
                    round: 0,
                    generation,
                    defended: None,
                },
            )
            .is_none();
        let mut join = None;
        if new && let Some(group) = P::group(ip) {
            let n = state.groups.entry(group).or_insert(0);
            *n += 1;
            if *n == 1 {
                join = Some(group);
            }
        }
        tracing::debug!(iface = %state.iface.name, %ip, new, "announce");
        let at = now + self.config.schedule.offsets[0];
        self.push_timer(Timer {
            at,
            generation,
            ifindex,
            ip,
            kind: TimerKind::Announcement,
        });
        Ok(Announced { new, join })
    }

    /// Stops answering for `ip` on `ifindex` (silently: the new owner's announcements move
    /// clients). `None` if it was not announced there.
    pub fn withdraw(&mut self, ifindex: u32, ip: P::Addr) -> Option<Withdrawn> {
        let state = self.interfaces.get_mut(&ifindex)?;
        let was = state.announced.remove(&ip).is_some();
        tracing::debug!(iface = %state.iface.name, %ip, was, "withdraw");
        if !was {
            return None;
        }
        let mut leave = None;
        if let Some(group) = P::group(ip) {
            let n = state.groups.entry(group).or_insert(1);
            *n = n.saturating_sub(1);
            if *n == 0 {
                state.groups.remove(&group);
                leave = Some(group);
            }
        }
        Some(Withdrawn { leave })
    }

    /// Ends every pending announcement schedule (announcement rounds, defences) while the
    /// addresses stay announced and requests are still answered: for an owner handing its
    /// addresses over as it leaves, whose late rounds would pull clients back from the next
    /// owner. Announcing an address again starts a new schedule.
    pub fn hand_over(&mut self) {
        let generation = self.generation();
        for state in self.interfaces.values_mut() {
            for ann in state.announced.values_mut() {
                ann.generation = generation;
            }
        }
    }

    /// Whether `ip` is announced on `ifindex`.
    pub fn is_announced(&self, ifindex: u32, ip: P::Addr) -> bool {
        self.interfaces
            .get(&ifindex)
            .is_some_and(|s| s.announced.contains_key(&ip))
    }

    /// The addresses announced on `ifindex` (in no particular order).
    pub fn announced(&self, ifindex: u32) -> impl Iterator<Item = P::Addr> + '_ {
        self.interfaces
            .get(&ifindex)
            .into_iter()
            .flat_map(|s| s.announced.keys().copied())
    }

    /// The multicast groups `ifindex` should be a member of.
    pub fn groups(&self, ifindex: u32) -> impl Iterator<Item = MacAddress> + '_ {
        self.interfaces
            .get(&ifindex)
            .into_iter()
            .flat_map(|s| s.groups.keys().copied())
    }

    /// The counters of `ifindex`.
    pub fn counters(&self, ifindex: u32) -> Option<Counters> {
        self.interfaces.get(&ifindex).map(|s| s.counters)
    }

    /// Timers queued, live or stale: the heap is kept proportional to the live work (a
    /// memory bound tests check).
    pub fn timers_queued(&self) -> usize {
        self.timers.len()
    }

    /// Addresses of `ifindex` with an open conflict window (claimed within the last window).
    pub fn conflict_windows(&self, ifindex: u32) -> usize {
        self.interfaces
            .get(&ifindex)
            .map_or(0, |s| s.conflicts.len())
    }

    /// Events dropped because nobody polled them in time.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// Starts a probe for `ip` on `ifindex`: probes go out from `poll_transmit`, and an
    /// [`Event::ProbeDone`] tells the outcome. Restarts a probe already running.
    pub fn probe(&mut self, now: Instant, ifindex: u32, ip: P::Addr) -> Result<()> {
        let generation = self.generation();
        let state = self.state(ifindex)?;
        state.probes.insert(
            ip,
            Probe {
                sent: 0,
                generation,
            },
        );
        tracing::debug!(iface = %state.iface.name, %ip, "probe start");
        self.push_timer(Timer {
            at: now,
            generation,
            ifindex,
            ip,
            kind: TimerKind::Probe,
        });
        Ok(())
    }

    /// The next time `poll_transmit` has something to do, if any.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        if let Some((at, _)) = self.pending {
            return Some(at);
        }
        while let Some(Reverse(t)) = self.timers.peek() {
            if timer_is_live(&self.interfaces, t) {
                return Some(t.at);
            }
            self.timers.pop();
        }
        None
    }

    /// The next frame due at `now` (announcements, probes, defences); call until it returns
    /// `None`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if let Some((_, t)) = self.pending.take() {
            return Some(t);
        }
        loop {
            let Reverse(timer) = *self.timers.peek()?;
            if timer.at > now {
                return None;
            }
            self.timers.pop();
            if !timer_is_live(&self.interfaces, &timer) {
                continue;
            }
            let sent = match timer.kind {
                TimerKind::Announcement => self.announcement_round(timer),
                TimerKind::Probe => self.probe_step(timer),
                TimerKind::Defend => self.defend(timer),
                TimerKind::ConflictWindow => self.conflict_window_end(timer),
            };
            if sent.is_some() {
                return sent;
            }
        }
    }

    fn announcement_round(&mut self, timer: Timer<P::Addr>) -> Option<Transmit> {
        let offsets = &self.config.schedule.offsets;
        let state = self.interfaces.get_mut(&timer.ifindex)?;
        let mac = state.iface.mac;
        let ann = state.announced.get_mut(&timer.ip)?;
        let round = ann.round;
        ann.round += 1;
        let next = offsets.get(ann.round).map(|off| ann.started + *off);
        let (first, second) = P::announcement(timer.ifindex, mac, timer.ip);
        state.counters.gratuitous_sent += if second.is_some() { 2 } else { 1 };
        tracing::trace!(iface = %state.iface.name, ip = %timer.ip, round, protocol = P::NAME, "announcement");
        self.pending = second.map(|t| (timer.at, t));
        if let Some(at) = next {
            self.push_timer(Timer { at, ..timer });
        }
        Some(first)
    }

    /// One announcement for an address a foreign host claimed.
    fn defend(&mut self, timer: Timer<P::Addr>) -> Option<Transmit> {
        let state = self.interfaces.get_mut(&timer.ifindex)?;
        state.counters.defences_sent += 1;
        tracing::debug!(iface = %state.iface.name, ip = %timer.ip, protocol = P::NAME, "defend");
        Some(P::defence(timer.ifindex, state.iface.mac, timer.ip))
    }

    /// The end of a conflict window: reports the claims counted in it, if any, and opens the
    /// next window; else forgets the address (its next claim is reported at once).
    fn conflict_window_end(&mut self, timer: Timer<P::Addr>) -> Option<Transmit> {
        let window = self.config.conflict_window;
        let generation = self.generation();
        let state = self.interfaces.get_mut(&timer.ifindex)?;
        let entry = state.conflicts.get_mut(&timer.ip)?;
        if entry.count == 0 {
            state.conflicts.remove(&timer.ip);
            return None;
        }
        let event = Event::ConflictRepeated {
            ifindex: timer.ifindex,
            ip: timer.ip,
            foreign_mac: entry.foreign_mac,
            count: entry.count,
        };
        tracing::warn!(iface = %state.iface.name, ip = %timer.ip, foreign = %entry.foreign_mac, count = entry.count, ?window, "conflict: foreign claims repeated");
        entry.count = 0;
        entry.generation = generation;
        self.push_event(event);
        self.push_timer(Timer {
            at: timer.at + window,
            generation,
            kind: TimerKind::ConflictWindow,
            ..timer
        });
        None
    }

    /// A foreign claim for `ip`, announced on `ifindex`: counts it, reports it (at once if it
    /// is the first in its window, else at the window's end) and defends the address if it
    /// was not defended within [`Config::defend_interval`].
    fn announced_claimed(
        &mut self,
        now: Instant,
        ifindex: u32,
        ip: P::Addr,
        foreign_mac: MacAddress,
        kind: P::ClaimKind,
    ) {
        let (window, defend_interval) = (self.config.conflict_window, self.config.defend_interval);
        let generation = self.generation();
        let Some(state) = self.interfaces.get_mut(&ifindex) else {
            return;
        };
        state.counters.conflicts_seen += 1;
        let mut timers: [Option<Timer<P::Addr>>; 2] = [None, None];
        if let Some(ann) = state.announced.get_mut(&ip)
            && let Some(every) = defend_interval
            && ann
                .defended
                .is_none_or(|t| now.saturating_duration_since(t) >= every)
        {
            ann.defended = Some(now);
            timers[0] = Some(Timer {
                at: now,
                generation: ann.generation,
                ifindex,
                ip,
                kind: TimerKind::Defend,
            });
        }
        let mut event = None;
        match state.conflicts.get_mut(&ip) {
            Some(entry) => {
                entry.count += 1;
                entry.foreign_mac = foreign_mac;
                tracing::trace!(%ip, foreign = %foreign_mac, ?kind, "conflict (reported in this window)");
            }
            None => {
                tracing::warn!(iface = %state.iface.name, %ip, foreign = %foreign_mac, ?kind, "conflict: foreign host claims announced address");
                state.conflicts.insert(
                    ip,
                    ConflictWindow {
                        count: 0,
                        foreign_mac,
                        generation,
                    },
                );
                timers[1] = Some(Timer {
                    at: now + window,
                    generation,
                    ifindex,
                    ip,
                    kind: TimerKind::ConflictWindow,
                });
                event = Some(Event::Conflict {
                    ifindex,
                    ip,
                    foreign_mac,
                    kind,
                });
            }
        }
        for t in timers.into_iter().flatten() {
            self.push_timer(t);
        }
        if let Some(e) = event {
            self.push_event(e);
        }
    }

    fn probe_step(&mut self, timer: Timer<P::Addr>) -> Option<Transmit> {
        let probe_cfg = self.config.probe;
        let state = self.interfaces.get_mut(&timer.ifindex)?;
        let mac = state.iface.mac;
        let probe = state.probes.get_mut(&timer.ip)?;
        if probe.sent >= probe_cfg.count {
            state.probes.remove(&timer.ip);
            tracing::debug!(iface = %state.iface.name, ip = %timer.ip, "probe: free");
            self.push_event(Event::ProbeDone {
                ifindex: timer.ifindex,
                ip: timer.ip,
                outcome: ProbeOutcome::Free,
            });
            return None;
        }
        probe.sent += 1;
        let wait = if probe.sent < probe_cfg.count {
            probe_cfg.interval
        } else {
            probe_cfg.wait
        };
        state.counters.probes_sent += 1;
        tracing::trace!(iface = %state.iface.name, ip = %timer.ip, n = probe.sent, protocol = P::NAME, "probe");
        self.push_timer(Timer {
            at: timer.at + wait,
            ..timer
        });
        Some(P::probe(timer.ifindex, mac, timer.ip))
    }

    fn push_event(&mut self, event: EventOf<P>) {
        if self.events.len() >= self.config.max_events {
            self.events_dropped += 1;
        } else {
            self.events.push_back(event);
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<EventOf<P>> {
        self.events.pop_front()
    }

    /// Handles a frame received on `ifindex`; returns the reply to send, if any.
    ///
    /// Answers a request whose target is announced on this interface with this interface's
    /// MAC; ignores frames from this interface's own MAC and invalid ones. A foreign frame
    /// showing an address we probe is in use ends that probe; one claiming an address we
    /// announce is a conflict.
    ///
    /// A foreign claim for an announced address is reported at most once per
    /// [`Config::conflict_window`] and address (later ones are counted), and is answered by one
    /// announcement from `poll_transmit` unless the address was defended within
    /// [`Config::defend_interval`]: `poll_timeout` may be earlier after this call. A frame
    /// tagged for a VLAN (the driver puts back a tag the stack took out of the data) is
    /// ignored: replies go out untagged on `ifindex`, so a VLAN is served on its own
    /// sub-interface, never on the parent.
    pub fn handle_frame(&mut self, now: Instant, ifindex: u32, bytes: &[u8]) -> Option<Transmit> {
        let state = self.interfaces.get_mut(&ifindex)?;
        let _span =
            tracing::trace_span!("l2", protocol = P::NAME, iface = %state.iface.name).entered();
        if EthernetFrame::new_checked(bytes).is_ok_and(|f| f.is_vlan_tagged()) {
            state.counters.other_vlan += 1;
            tracing::trace!("tagged for another VLAN: ignored");
            return None;
        }
        let announced = &state.announced;
        let rx = Incoming {
            ifindex,
            mac: state.iface.mac,
            bytes,
        };
        let foreign = match P::receive(rx, |ip| announced.contains_key(&ip)) {
            Received::Malformed => {
                state.counters.malformed += 1;
                return None;
            }
            Received::Own => {
                state.counters.own_frames += 1;
                return None;
            }
            Received::Foreign(f) => f,
        };
        if foreign.request {
            state.counters.requests_received += 1;
        }
        let mut probe_done = None;
        // Probes are rare and requests are not: look only when one runs.
        if let Some(ip) = foreign.in_use
            && !state.probes.is_empty()
            && state.probes.remove(&ip).is_some()
        {
            state.counters.conflicts_seen += 1;
            tracing::info!(%ip, foreign = %foreign.mac, "probe: address in use");
            probe_done = Some(Event::ProbeDone {
                ifindex,
                ip,
                outcome: ProbeOutcome::InUse { mac: foreign.mac },
            });
        }
        let claim = foreign
            .claim
            .filter(|(ip, _)| state.announced.contains_key(ip));
        if foreign.reply.is_some() {
            state.counters.replies_sent += 1;
        }
        if let Some(e) = probe_done {
            self.push_event(e);
        }
        if let Some((ip, kind)) = claim {
            self.announced_claimed(now, ifindex, ip, foreign.mac, kind);
        }
        foreign.reply.map(|r| P::transmit(ifindex, &r))
    }
}

fn timer_is_live<P: Protocol>(
    interfaces: &FxHashMap<u32, InterfaceState<P>>,
    t: &Timer<P::Addr>,
) -> bool {
    let Some(state) = interfaces.get(&t.ifindex) else {
        return false;
    };
    match t.kind {
        TimerKind::Announcement | TimerKind::Defend => state
            .announced
            .get(&t.ip)
            .is_some_and(|a| a.generation == t.generation),
        TimerKind::ConflictWindow => state
            .conflicts
            .get(&t.ip)
            .is_some_and(|c| c.generation == t.generation),
        TimerKind::Probe => state
            .probes
            .get(&t.ip)
            .is_some_and(|p| p.generation == t.generation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_needs_rounds_in_order() {
        assert!(Schedule::new([]).is_err());
        assert!(Schedule::new([Duration::from_secs(2), Duration::from_secs(1)]).is_err());
        assert!(Schedule::new((0..65).map(Duration::from_millis)).is_err());
        assert_eq!(
            Schedule::new([Duration::ZERO, Duration::from_secs(1)])
                .unwrap_or_default()
                .offsets()
                .len(),
            2
        );
        assert_eq!(
            Schedule::metallb().offsets()[1],
            Duration::from_millis(1100)
        );
    }

    #[test]
    fn a_transmit_that_does_not_fit_is_empty() {
        let t = Transmit::emit(1, |_| Err::<usize, ()>(()));
        assert!(t.bytes().is_empty());
        let t = Transmit::emit(1, |b| {
            b[..3].copy_from_slice(&[1, 2, 3]);
            Ok::<_, ()>(3)
        });
        assert_eq!(t.bytes(), &[1, 2, 3]);
    }
}
