//! The sans-IO responder core: which solicitations to answer, when to send unsolicited
//! advertisements, which solicited-node groups to join, what counts as a conflict. No sockets,
//! no clock: every input carries `now`, outputs are frames to send ([`Transmit`]), events
//! ([`Event`]) and the next deadline ([`NdpResponder::poll_timeout`]).
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
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::wire::{
    EtherType, EthernetRepr, MacAddress, NdiscRepr, NdpFrame, NeighborFlags, solicited_node,
    solicited_node_mac,
};

/// The all-nodes multicast address, `ff02::1`.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Its Ethernet address, `33:33:00:00:00:01`.
pub const ALL_NODES_MAC: MacAddress = MacAddress([0x33, 0x33, 0, 0, 0, 1]);

/// A network interface the responder works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Kernel interface index.
    pub index: u32,
    /// Name, for logs.
    pub name: String,
    /// The interface's MAC: the address advertisements carry.
    pub mac: MacAddress,
}

/// When unsolicited advertisements go out after an announcement, as offsets from `announce`.
///
/// The default is a fast burst in the first second (0, 100, 250, 500 ms, 1 s), then one per
/// second until 5 s. [`AdvertSchedule::metallb`] gives MetalLB's 0, 1.1, 2.2, 3.3, 4.4 s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertSchedule {
    offsets: Vec<Duration>,
}

impl AdvertSchedule {
    /// At most this many rounds per announcement.
    pub const MAX_ROUNDS: usize = 64;

    /// A schedule from offsets: at least one, at most [`Self::MAX_ROUNDS`], non-decreasing.
    pub fn new(offsets: impl IntoIterator<Item = Duration>) -> Result<Self> {
        let offsets: Vec<Duration> = offsets.into_iter().take(Self::MAX_ROUNDS + 1).collect();
        if offsets.is_empty() || offsets.len() > Self::MAX_ROUNDS {
            return Err(Error::InvalidConfig(
                "advertisement schedule needs 1 to 64 rounds",
            ));
        }
        if offsets.windows(2).any(|w| w[1] < w[0]) {
            return Err(Error::InvalidConfig(
                "advertisement schedule offsets must not decrease",
            ));
        }
        Ok(AdvertSchedule { offsets })
    }
    /// MetalLB's schedule: immediately, then every 1.1 s for 5 s.
    pub fn metallb() -> Self {
        AdvertSchedule {
            offsets: (0..5).map(|i| Duration::from_millis(1100 * i)).collect(),
        }
    }
    /// The offsets.
    pub fn offsets(&self) -> &[Duration] {
        &self.offsets
    }
}

impl Default for AdvertSchedule {
    fn default() -> Self {
        let ms = [0, 100, 250, 500, 1000, 2000, 3000, 4000, 5000];
        AdvertSchedule {
            offsets: ms.iter().map(|&m| Duration::from_millis(m)).collect(),
        }
    }
}

/// How a DAD-style probe runs (RFC 4862 §5.4): `count` solicitations `interval` apart, then
/// `wait` for answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Solicitations sent (RFC 4862 DupAddrDetectTransmits, default 1).
    pub count: u32,
    /// Time between solicitations.
    pub interval: Duration,
    /// Time to listen after the last one (RFC 4861 RetransTimer, 1 s).
    pub wait: Duration,
}

impl Default for ProbeConfig {
    /// RFC 4862's defaults: one solicitation, then 1 s.
    fn default() -> Self {
        ProbeConfig {
            count: 1,
            interval: Duration::from_secs(1),
            wait: Duration::from_secs(1),
        }
    }
}

/// At most one defending advertisement per address this often (RFC 5227's DEFEND_INTERVAL,
/// applied to NDP).
pub const DEFEND_INTERVAL: Duration = Duration::from_secs(10);

/// Responder settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Unsolicited advertisement rounds after `announce`.
    pub adverts: AdvertSchedule,
    /// Conflict probes.
    pub probe: ProbeConfig,
    /// Events kept until polled; more are dropped and counted.
    pub max_events: usize,
    /// Conflicts are reported per interface and address at most once per window: the first
    /// foreign claim at once ([`Event::Conflict`]), later ones in the window as one
    /// [`Event::ConflictRepeated`] with their count when it ends. A storm of forged claims
    /// costs a hash lookup per frame, one log line and one event per window and address.
    pub conflict_window: Duration,
    /// Defend an announced address against a foreign claim, as RFC 5227 §2.4 (b) does for
    /// ARP: on seeing one, send one unsolicited advertisement (Override=1) to all-nodes, unless
    /// we already defended that address within this interval. So a host that claims an
    /// address after our advertisements have ended sees us too, and both sides report the
    /// conflict. `None`: never defend, only report.
    pub defend_interval: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            adverts: AdvertSchedule::default(),
            probe: ProbeConfig::default(),
            max_events: 1024,
            conflict_window: Duration::from_secs(10),
            defend_interval: Some(DEFEND_INTERVAL),
        }
    }
}

/// Per-interface counters, plain numbers a caller can export as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Neighbor Solicitations received, for any target.
    pub requests_received: u64,
    /// Advertisements sent in answer to solicitations for announced addresses.
    pub replies_sent: u64,
    /// Unsolicited advertisements sent.
    pub gratuitous_sent: u64,
    /// Foreign packets claiming an announced or probed address.
    pub conflicts_seen: u64,
    /// Unsolicited advertisements sent to defend an announced address.
    pub defences_sent: u64,
    /// DAD-style probes sent.
    pub probes_sent: u64,
    /// Frames we sent ourselves, seen again.
    pub own_frames: u64,
    /// Frames tagged for a VLAN this interface does not terminate (an 802.1Q or 802.1ad tag
    /// on the wire, as the driver reports it), ignored as the kernel ignores them: a VLAN is
    /// served on its own (sub-)interface, whose frames arrive untagged.
    pub other_vlan: u64,
    /// Frames that are not valid NS/NA (RFC 4861 §7.1) or are malformed.
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

/// Something the caller should know about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A foreign host advertised, or used as its source, an address we announce.
    Conflict {
        /// Interface it arrived on.
        ifindex: u32,
        /// The address.
        ip: Ipv6Addr,
        /// The foreign MAC (the link-layer option, else the Ethernet source).
        foreign_mac: MacAddress,
    },
    /// More foreign claims for an address already reported by an [`Event::Conflict`], counted
    /// over one [`Config::conflict_window`] and reported when the window ends.
    ConflictRepeated {
        /// Interface they arrived on.
        ifindex: u32,
        /// The address.
        ip: Ipv6Addr,
        /// The foreign MAC of the last one.
        foreign_mac: MacAddress,
        /// How many arrived in the window after the last report.
        count: u64,
    },
    /// A probe started with [`NdpResponder::probe`] finished.
    ProbeDone {
        /// Interface.
        ifindex: u32,
        /// The probed address.
        ip: Ipv6Addr,
        /// What it found.
        outcome: ProbeOutcome,
    },
}

/// What `announce` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announced {
    /// The address was not announced on this interface before.
    pub new: bool,
    /// A solicited-node group (as its Ethernet address) the interface must now join: the first
    /// announced address that maps to it.
    pub join: Option<MacAddress>,
}

/// Largest frame the responder emits: an NA with a target link-layer option and one 802.1Q tag.
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
    fn new(ifindex: u32, frame: &NdpFrame) -> Transmit {
        let mut buf = [0u8; MAX_FRAME_LEN];
        // Every frame built here fits MAX_FRAME_LEN, so emit cannot fail.
        let len = frame.emit(&mut buf).unwrap_or(0);
        Transmit { ifindex, buf, len }
    }
    /// The frame's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Advert,
    Probe,
    Defend,
    ConflictWindow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Instant,
    generation: u64,
    ifindex: u32,
    ip: Ipv6Addr,
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

#[derive(Debug)]
struct InterfaceState {
    iface: Interface,
    // Std's SipHash, not FxHash: with FxHash, pools of consecutive IPv6 addresses (the usual
    // VIP pool) cluster, and a hit cost about 5x more in the 10k-address bench (536 ns against 98 ns).
    announced: HashMap<Ipv6Addr, Announcement>,
    probes: HashMap<Ipv6Addr, Probe>,
    /// Solicited-node groups joined, with the number of announced addresses in each.
    groups: FxHashMap<MacAddress, u32>,
    /// Addresses whose conflicts were reported within the current window; at most one entry
    /// per address claimed in the last window.
    conflicts: HashMap<Ipv6Addr, ConflictWindow>,
    counters: Counters,
}

/// The NDP responder core for any number of interfaces and addresses.
///
/// ```
/// use std::time::Instant;
/// use lb_ndp::{Config, EtherType, EthernetRepr, Interface, MacAddress, NdiscRepr, NdpFrame, NdpResponder};
///
/// let mac: MacAddress = "02:00:00:00:00:0b".parse()?;
/// let mut responder = NdpResponder::new(Config::default());
/// responder.add_interface(Interface { index: 2, name: "eth0".into(), mac });
/// let now = Instant::now();
/// let vip = "2001:db8:1::100".parse()?;
/// let done = responder.announce(now, 2, vip)?;
/// assert_eq!(done.join, Some(lb_ndp::solicited_node_mac(vip))); // join 33:33:ff:00:01:00
///
/// // An unsolicited NA to ff02::1 goes out at once.
/// let na = NdpFrame::parse(responder.poll_transmit(now).expect("NA").bytes())?;
/// assert_eq!(na.dst_addr, lb_ndp::ALL_NODES);
///
/// // A client asks; we answer with the interface's MAC, Solicited=1, Override=0.
/// let client: MacAddress = "02:00:00:00:00:0a".parse()?;
/// let ns = NdpFrame {
///     ethernet: EthernetRepr::new(client, lb_ndp::solicited_node_mac(vip), EtherType::Ipv6),
///     src_addr: "2001:db8:1::a".parse()?,
///     dst_addr: lb_ndp::solicited_node(vip),
///     message: NdiscRepr::NeighborSolicit { target_addr: vip, lladdr: Some(client) },
/// };
/// let mut buf = [0u8; 128];
/// let n = ns.emit(&mut buf)?;
/// let reply = NdpFrame::parse(responder.handle_frame(now, 2, &buf[..n]).expect("NA").bytes())?;
/// let NdiscRepr::NeighborAdvert { flags, lladdr, .. } = reply.message else { panic!() };
/// assert!(flags.solicited && !flags.override_);
/// assert_eq!(lladdr, Some(mac));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct NdpResponder {
    config: Config,
    interfaces: FxHashMap<u32, InterfaceState>,
    timers: BinaryHeap<Reverse<Timer>>,
    events: VecDeque<Event>,
    events_dropped: u64,
    next_generation: u64,
}

impl NdpResponder {
    /// A responder with no interfaces.
    pub fn new(config: Config) -> Self {
        NdpResponder {
            config,
            interfaces: FxHashMap::default(),
            timers: BinaryHeap::new(),
            events: VecDeque::new(),
            events_dropped: 0,
            next_generation: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
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
                let index = iface.index;
                let state = InterfaceState {
                    iface,
                    announced: HashMap::new(),
                    probes: HashMap::new(),
                    groups: FxHashMap::default(),
                    conflicts: HashMap::new(),
                    counters: Counters::default(),
                };
                self.interfaces.insert(index, state);
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

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    fn push_timer(&mut self, timer: Timer) {
        self.timers.push(Reverse(timer));
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

    /// Starts answering for `ip` on `ifindex` and (re)starts its unsolicited advertisements:
    /// call it on takeover.
    pub fn announce(&mut self, now: Instant, ifindex: u32, ip: Ipv6Addr) -> Result<Announced> {
        let generation = self.generation();
        let state = self
            .interfaces
            .get_mut(&ifindex)
            .ok_or(Error::UnknownInterface(ifindex))?;
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
        if new {
            let group = solicited_node_mac(ip);
            let n = state.groups.entry(group).or_insert(0);
            *n += 1;
            if *n == 1 {
                join = Some(group);
            }
        }
        tracing::debug!(iface = %state.iface.name, %ip, new, "announce");
        let at = now + self.config.adverts.offsets[0];
        self.push_timer(Timer {
            at,
            generation,
            ifindex,
            ip,
            kind: TimerKind::Advert,
        });
        Ok(Announced { new, join })
    }

    /// Stops answering for `ip` on `ifindex` (silently). Returns `None` if it was not announced,
    /// else the solicited-node group to leave, if `ip` was the last address in it.
    pub fn withdraw(&mut self, ifindex: u32, ip: Ipv6Addr) -> Option<Option<MacAddress>> {
        let state = self.interfaces.get_mut(&ifindex)?;
        state.announced.remove(&ip)?;
        tracing::debug!(iface = %state.iface.name, %ip, "withdraw");
        let group = solicited_node_mac(ip);
        let n = state.groups.entry(group).or_insert(1);
        *n = n.saturating_sub(1);
        if *n == 0 {
            state.groups.remove(&group);
            return Some(Some(group));
        }
        Some(None)
    }

    /// Ends every pending announcement schedule (unsolicited NA rounds, defences) while the
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
    pub fn is_announced(&self, ifindex: u32, ip: Ipv6Addr) -> bool {
        self.interfaces
            .get(&ifindex)
            .is_some_and(|s| s.announced.contains_key(&ip))
    }

    /// The addresses announced on `ifindex` (in no particular order).
    pub fn announced(&self, ifindex: u32) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.interfaces
            .get(&ifindex)
            .into_iter()
            .flat_map(|s| s.announced.keys().copied())
    }

    /// The solicited-node groups `ifindex` should be a member of.
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

    /// Events dropped because nobody polled them in time.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// Starts a DAD-style probe for `ip` on `ifindex` (NS from `::` to the solicited-node
    /// group, RFC 4862 §5.4.2): probes go out from `poll_transmit`, and an [`Event::ProbeDone`]
    /// tells the outcome. An advertisement for `ip`, or another host's DAD solicitation for it,
    /// from a foreign MAC means it is in use. Restarts a probe already running.
    pub fn probe(&mut self, now: Instant, ifindex: u32, ip: Ipv6Addr) -> Result<()> {
        let generation = self.generation();
        let state = self
            .interfaces
            .get_mut(&ifindex)
            .ok_or(Error::UnknownInterface(ifindex))?;
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
        while let Some(Reverse(t)) = self.timers.peek() {
            if timer_is_live(&self.interfaces, t) {
                return Some(t.at);
            }
            self.timers.pop();
        }
        None
    }

    /// The next frame due at `now` (unsolicited NA, probes); call until it returns `None`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
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
                TimerKind::Advert => self.advert_round(timer),
                TimerKind::Probe => self.probe_step(timer),
                TimerKind::Defend => self.defend(timer),
                TimerKind::ConflictWindow => self.conflict_window_end(timer),
            };
            if sent.is_some() {
                return sent;
            }
        }
    }

    fn advert_round(&mut self, timer: Timer) -> Option<Transmit> {
        let offsets = &self.config.adverts.offsets;
        let state = self.interfaces.get_mut(&timer.ifindex)?;
        let mac = state.iface.mac;
        let ann = state.announced.get_mut(&timer.ip)?;
        let round = ann.round;
        ann.round += 1;
        let next = offsets.get(ann.round).map(|off| ann.started + *off);
        state.counters.gratuitous_sent += 1;
        tracing::trace!(iface = %state.iface.name, ip = %timer.ip, round, "unsolicited NA");
        if let Some(at) = next {
            self.push_timer(Timer { at, ..timer });
        }
        Some(unsolicited_na(timer.ifindex, mac, timer.ip))
    }

    /// One unsolicited advertisement for an address a foreign host claimed.
    fn defend(&mut self, timer: Timer) -> Option<Transmit> {
        let state = self.interfaces.get_mut(&timer.ifindex)?;
        state.counters.defences_sent += 1;
        tracing::debug!(iface = %state.iface.name, ip = %timer.ip, "defend: unsolicited NA");
        Some(unsolicited_na(timer.ifindex, state.iface.mac, timer.ip))
    }

    /// The end of a conflict window: reports the claims counted in it, if any, and opens the
    /// next window; else forgets the address (its next claim is reported at once).
    fn conflict_window_end(&mut self, timer: Timer) -> Option<Transmit> {
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
        ip: Ipv6Addr,
        foreign_mac: MacAddress,
    ) {
        let (window, defend_interval) = (self.config.conflict_window, self.config.defend_interval);
        let generation = self.generation();
        let Some(state) = self.interfaces.get_mut(&ifindex) else {
            return;
        };
        state.counters.conflicts_seen += 1;
        let mut timers: [Option<Timer>; 2] = [None, None];
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
                tracing::trace!(%ip, foreign = %foreign_mac, "conflict (reported in this window)");
            }
            None => {
                tracing::warn!(iface = %state.iface.name, %ip, foreign = %foreign_mac, "conflict: foreign host claims announced address");
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

    fn probe_step(&mut self, timer: Timer) -> Option<Transmit> {
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
        tracing::trace!(iface = %state.iface.name, ip = %timer.ip, n = probe.sent, "DAD probe");
        let frame = NdpFrame {
            ethernet: EthernetRepr::new(mac, solicited_node_mac(timer.ip), EtherType::Ipv6),
            src_addr: Ipv6Addr::UNSPECIFIED,
            dst_addr: solicited_node(timer.ip),
            message: NdiscRepr::NeighborSolicit {
                target_addr: timer.ip,
                lladdr: None,
            },
        };
        self.push_timer(Timer {
            at: timer.at + wait,
            ..timer
        });
        Some(Transmit::new(timer.ifindex, &frame))
    }

    fn push_event(&mut self, event: Event) {
        if self.events.len() >= self.config.max_events {
            self.events_dropped += 1;
        } else {
            self.events.push_back(event);
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Handles a frame received on `ifindex`; returns the advertisement to send, if any.
    ///
    /// Answers a valid solicitation whose target is announced on this interface with a unicast
    /// NA (Solicited=1, Override=0, target link-layer option = this interface's MAC); defends
    /// an announced address against another host's DAD with an NA to all-nodes. Ignores frames
    /// from this interface's own MAC and invalid ones (RFC 4861 §7.1). Reports foreign
    /// advertisements for announced or probed addresses as events.
    ///
    /// A foreign claim for an announced address is reported at most once per
    /// [`Config::conflict_window`] and address (later ones are counted), and is answered by one
    /// unsolicited advertisement from `poll_transmit` unless the address was defended within
    /// [`Config::defend_interval`]: `poll_timeout` may be earlier after this call. A frame
    /// tagged for a VLAN (the driver puts back a tag the stack took out of the data) is
    /// ignored: replies go out untagged on `ifindex`, so a VLAN is served on its own
    /// sub-interface, never on the parent.
    pub fn handle_frame(&mut self, now: Instant, ifindex: u32, bytes: &[u8]) -> Option<Transmit> {
        let state = self.interfaces.get_mut(&ifindex)?;
        let _span = tracing::trace_span!("ndp", iface = %state.iface.name).entered();
        if lb_l2::EthernetFrame::new_checked(bytes).is_ok_and(|f| f.is_vlan_tagged()) {
            state.counters.other_vlan += 1;
            tracing::trace!("tagged for another VLAN: ignored");
            return None;
        }
        let frame = match NdpFrame::parse(bytes) {
            Ok(f) => f,
            Err(e) => {
                state.counters.malformed += 1;
                tracing::trace!(error = %e, "not a valid NS/NA");
                return None;
            }
        };
        let mac = state.iface.mac;
        let lladdr = frame.message.lladdr();
        if frame.ethernet.src_addr == mac || lladdr == Some(mac) {
            state.counters.own_frames += 1;
            return None;
        }
        let foreign = lladdr.unwrap_or(frame.ethernet.src_addr);
        let target = frame.message.target_addr();
        let mut probe_done = None;
        let mut claimed = None;
        let mut reply = None;
        match frame.message {
            NdiscRepr::NeighborAdvert { .. } => {
                if state.probes.remove(&target).is_some() {
                    state.counters.conflicts_seen += 1;
                    tracing::info!(ip = %target, %foreign, "probe: address in use");
                    probe_done = Some(Event::ProbeDone {
                        ifindex,
                        ip: target,
                        outcome: ProbeOutcome::InUse { mac: foreign },
                    });
                }
                if state.announced.contains_key(&target) {
                    claimed = Some(target);
                }
            }
            NdiscRepr::NeighborSolicit { .. } => {
                state.counters.requests_received += 1;
                let dad = frame.src_addr.is_unspecified();
                if dad && state.probes.remove(&target).is_some() {
                    state.counters.conflicts_seen += 1;
                    tracing::info!(ip = %target, %foreign, "probe: another host runs DAD for it");
                    probe_done = Some(Event::ProbeDone {
                        ifindex,
                        ip: target,
                        outcome: ProbeOutcome::InUse { mac: foreign },
                    });
                }
                if !dad && state.announced.contains_key(&frame.src_addr) {
                    claimed = Some(frame.src_addr);
                }
                let dst = frame.ethernet.dst_addr;
                let to_us = dst == mac || dst == solicited_node_mac(target) || dst.is_broadcast();
                if to_us && state.announced.contains_key(&target) {
                    state.counters.replies_sent += 1;
                    let (eth_dst, ip_dst, flags) = if dad {
                        tracing::info!(ip = %target, %foreign, "defend against DAD");
                        (
                            ALL_NODES_MAC,
                            ALL_NODES,
                            NeighborFlags {
                                override_: true,
                                ..NeighborFlags::default()
                            },
                        )
                    } else {
                        tracing::debug!(ip = %target, to = %frame.src_addr, "reply");
                        (
                            foreign,
                            frame.src_addr,
                            NeighborFlags {
                                solicited: true,
                                ..NeighborFlags::default()
                            },
                        )
                    };
                    let answer = NdpFrame {
                        ethernet: EthernetRepr::new(mac, eth_dst, EtherType::Ipv6),
                        src_addr: target,
                        dst_addr: ip_dst,
                        message: NdiscRepr::NeighborAdvert {
                            flags,
                            target_addr: target,
                            lladdr: Some(mac),
                        },
                    };
                    reply = Some(Transmit::new(ifindex, &answer));
                } else {
                    tracing::trace!(ip = %target, "not ours");
                }
            }
        }
        if let Some(e) = probe_done {
            self.push_event(e);
        }
        if let Some(ip) = claimed {
            self.announced_claimed(now, ifindex, ip, foreign);
        }
        reply
    }
}

/// An unsolicited advertisement of `ip` with `mac` (Override=1) to all-nodes.
fn unsolicited_na(ifindex: u32, mac: MacAddress, ip: Ipv6Addr) -> Transmit {
    let frame = NdpFrame {
        ethernet: EthernetRepr::new(mac, ALL_NODES_MAC, EtherType::Ipv6),
        src_addr: ip,
        dst_addr: ALL_NODES,
        message: NdiscRepr::NeighborAdvert {
            flags: NeighborFlags {
                router: false,
                solicited: false,
                override_: true,
            },
            target_addr: ip,
            lladdr: Some(mac),
        },
    };
    Transmit::new(ifindex, &frame)
}

fn timer_is_live(interfaces: &FxHashMap<u32, InterfaceState>, t: &Timer) -> bool {
    let Some(state) = interfaces.get(&t.ifindex) else {
        return false;
    };
    match t.kind {
        TimerKind::Advert | TimerKind::Defend => state
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const IF: u32 = 2;
    fn mac() -> MacAddress {
        MacAddress([2, 0, 0, 0, 0, 0x0b])
    }
    fn client() -> MacAddress {
        MacAddress([2, 0, 0, 0, 0, 0x0a])
    }
    fn vip() -> Ipv6Addr {
        "2001:db8:1::100".parse().unwrap()
    }
    fn client_ip() -> Ipv6Addr {
        "2001:db8:1::a".parse().unwrap()
    }
    fn responder() -> NdpResponder {
        let mut r = NdpResponder::new(Config::default());
        r.add_interface(Interface {
            index: IF,
            name: "eth0".into(),
            mac: mac(),
        });
        r
    }
    fn bytes(frame: NdpFrame) -> Vec<u8> {
        let mut buf = vec![0u8; frame.buffer_len()];
        frame.emit(&mut buf).unwrap();
        buf
    }
    fn ns(target: Ipv6Addr) -> Vec<u8> {
        bytes(NdpFrame {
            ethernet: EthernetRepr::new(client(), solicited_node_mac(target), EtherType::Ipv6),
            src_addr: client_ip(),
            dst_addr: solicited_node(target),
            message: NdiscRepr::NeighborSolicit {
                target_addr: target,
                lladdr: Some(client()),
            },
        })
    }
    fn drain(r: &mut NdpResponder, now: Instant) -> Vec<NdpFrame> {
        std::iter::from_fn(|| r.poll_transmit(now))
            .map(|t| NdpFrame::parse(t.bytes()).unwrap())
            .collect()
    }

    #[test]
    fn answers_only_announced_addresses_with_s1_o0() {
        let mut r = responder();
        let now = Instant::now();
        assert!(r.handle_frame(now, IF, &ns(vip())).is_none());
        r.announce(now, IF, vip()).unwrap();
        let na = NdpFrame::parse(r.handle_frame(now, IF, &ns(vip())).unwrap().bytes()).unwrap();
        assert_eq!(na.ethernet.src_addr, mac());
        assert_eq!(na.ethernet.dst_addr, client());
        assert_eq!((na.src_addr, na.dst_addr), (vip(), client_ip()));
        assert_eq!(
            na.message,
            NdiscRepr::NeighborAdvert {
                flags: NeighborFlags {
                    router: false,
                    solicited: true,
                    override_: false
                },
                target_addr: vip(),
                lladdr: Some(mac()),
            }
        );
        let other: Ipv6Addr = "2001:db8:1::101".parse().unwrap();
        assert!(r.handle_frame(now, IF, &ns(other)).is_none());
        let c = r.counters(IF).unwrap();
        assert_eq!((c.requests_received, c.replies_sent), (3, 1));
    }

    #[test]
    fn tagged_solicitations_are_ignored() {
        let mut r = responder();
        let now = Instant::now();
        r.announce(now, IF, vip()).unwrap();
        let plain = ns(vip());
        let mut tagged = plain[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
        tagged.extend_from_slice(&plain[12..]);
        assert!(r.handle_frame(now, IF, &tagged).is_none());
        let mut qinq = plain[..12].to_vec();
        qinq.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8]);
        qinq.extend_from_slice(&plain[12..]);
        assert!(r.handle_frame(now, IF, &qinq).is_none());
        assert!(
            r.handle_frame(now, IF, &plain).is_some(),
            "untagged is answered"
        );
        let c = r.counters(IF).unwrap();
        assert_eq!((c.other_vlan, c.replies_sent), (2, 1));
    }

    #[test]
    fn ignores_own_and_invalid_frames() {
        let mut r = responder();
        let now = Instant::now();
        r.announce(now, IF, vip()).unwrap();
        let mut bad = ns(vip());
        bad[14 + 7] = 64; // hop limit
        assert!(r.handle_frame(now, IF, &bad).is_none());
        let own = bytes(NdpFrame {
            ethernet: EthernetRepr::new(mac(), ALL_NODES_MAC, EtherType::Ipv6),
            src_addr: vip(),
            dst_addr: ALL_NODES,
            message: NdiscRepr::NeighborAdvert {
                flags: NeighborFlags {
                    override_: true,
                    ..NeighborFlags::default()
                },
                target_addr: vip(),
                lladdr: Some(mac()),
            },
        });
        assert!(r.handle_frame(now, IF, &own).is_none());
        let c = r.counters(IF).unwrap();
        assert_eq!((c.malformed, c.own_frames, c.conflicts_seen), (1, 1, 0));
    }

    #[test]
    fn unsolicited_adverts_on_schedule() {
        let mut r = responder();
        let t0 = Instant::now();
        r.announce(t0, IF, vip()).unwrap();
        let first = drain(&mut r, t0);
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].dst_addr, first[0].ethernet.dst_addr),
            (ALL_NODES, ALL_NODES_MAC)
        );
        let NdiscRepr::NeighborAdvert { flags, lladdr, .. } = first[0].message else {
            panic!()
        };
        assert_eq!(
            flags,
            NeighborFlags {
                router: false,
                solicited: false,
                override_: true
            }
        );
        assert_eq!(lladdr, Some(mac()));
        let mut deadlines = vec![];
        while let Some(at) = r.poll_timeout() {
            deadlines.push(at - t0);
            assert_eq!(drain(&mut r, at).len(), 1);
        }
        assert_eq!(deadlines, AdvertSchedule::default().offsets()[1..].to_vec());
        assert_eq!(r.counters(IF).unwrap().gratuitous_sent, 9);
    }

    #[test]
    fn hand_over_ends_the_schedule_but_keeps_answering() {
        let mut r = responder();
        let t0 = Instant::now();
        r.announce(t0, IF, vip()).unwrap();
        drain(&mut r, t0);
        r.hand_over();
        assert_eq!(r.poll_timeout(), None);
        assert!(drain(&mut r, t0 + Duration::from_secs(10)).is_empty());
        assert!(r.handle_frame(t0, IF, &ns(vip())).is_some());
        r.announce(t0, IF, vip()).unwrap();
        assert_eq!(drain(&mut r, t0).len(), 1);
        assert!(r.poll_timeout().is_some());
    }

    #[test]
    fn solicited_node_groups_are_refcounted() {
        let mut r = responder();
        let now = Instant::now();
        let a: Ipv6Addr = "2001:db8:1::1:100".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:2::1:100".parse().unwrap(); // same low 24 bits
        let group = solicited_node_mac(a);
        assert_eq!(
            r.announce(now, IF, a).unwrap(),
            Announced {
                new: true,
                join: Some(group)
            }
        );
        assert_eq!(
            r.announce(now, IF, b).unwrap(),
            Announced {
                new: true,
                join: None
            }
        );
        assert_eq!(
            r.announce(now, IF, b).unwrap(),
            Announced {
                new: false,
                join: None
            }
        );
        assert_eq!(r.groups(IF).collect::<Vec<_>>(), vec![group]);
        assert_eq!(r.withdraw(IF, a), Some(None));
        assert_eq!(r.withdraw(IF, a), None);
        assert_eq!(r.withdraw(IF, b), Some(Some(group)));
        assert_eq!(r.groups(IF).count(), 0);
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn defends_against_dad_and_reports_foreign_adverts() {
        let mut r = responder();
        let now = Instant::now();
        r.announce(now, IF, vip()).unwrap();
        let other = MacAddress([2, 0, 0, 0, 0, 0x0c]);
        let dad = bytes(NdpFrame {
            ethernet: EthernetRepr::new(other, solicited_node_mac(vip()), EtherType::Ipv6),
            src_addr: Ipv6Addr::UNSPECIFIED,
            dst_addr: solicited_node(vip()),
            message: NdiscRepr::NeighborSolicit {
                target_addr: vip(),
                lladdr: None,
            },
        });
        let defend = NdpFrame::parse(r.handle_frame(now, IF, &dad).unwrap().bytes()).unwrap();
        assert_eq!(defend.dst_addr, ALL_NODES);
        let foreign_na = bytes(NdpFrame {
            ethernet: EthernetRepr::new(other, ALL_NODES_MAC, EtherType::Ipv6),
            src_addr: vip(),
            dst_addr: ALL_NODES,
            message: NdiscRepr::NeighborAdvert {
                flags: NeighborFlags {
                    override_: true,
                    ..NeighborFlags::default()
                },
                target_addr: vip(),
                lladdr: Some(other),
            },
        });
        assert!(r.handle_frame(now, IF, &foreign_na).is_none());
        assert_eq!(
            r.poll_event(),
            Some(Event::Conflict {
                ifindex: IF,
                ip: vip(),
                foreign_mac: other
            })
        );
    }

    fn claim(from: MacAddress, ip: Ipv6Addr) -> Vec<u8> {
        bytes(NdpFrame {
            ethernet: EthernetRepr::new(from, ALL_NODES_MAC, EtherType::Ipv6),
            src_addr: ip,
            dst_addr: ALL_NODES,
            message: NdiscRepr::NeighborAdvert {
                flags: NeighborFlags {
                    override_: true,
                    ..NeighborFlags::default()
                },
                target_addr: ip,
                lladdr: Some(from),
            },
        })
    }

    fn total_claims(events: &[Event]) -> u64 {
        events
            .iter()
            .map(|e| match e {
                Event::Conflict { .. } => 1,
                Event::ConflictRepeated { count, .. } => *count,
                Event::ProbeDone { .. } => 0,
            })
            .sum()
    }

    #[test]
    fn a_conflict_storm_gives_one_report_per_window_with_every_claim_counted() {
        let mut r = responder();
        let t0 = Instant::now();
        r.announce(t0, IF, vip()).unwrap();
        let forged = claim(MacAddress([2, 0, 0, 0, 0, 0x66]), vip());
        let (mut events, mut defences) = (vec![], 0);
        let mut now = t0;
        // 100k forged advertisements in 2 s, through the driver's loop in virtual time.
        for i in 0..100_000u32 {
            now = t0 + Duration::from_micros(20) * i;
            let _ = drain(&mut r, now);
            assert!(r.handle_frame(now, IF, &forged).is_none());
            events.extend(std::iter::from_fn(|| r.poll_event()));
        }
        while let Some(at) = r.poll_timeout() {
            assert!(at >= now && at < now + Duration::from_secs(3600));
            defences += drain(&mut r, at).len();
            events.extend(std::iter::from_fn(|| r.poll_event()));
        }
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(matches!(events[0], Event::Conflict { ip, .. } if ip == vip()));
        assert!(matches!(
            events[1],
            Event::ConflictRepeated { count: 99_999, .. }
        ));
        assert_eq!(total_claims(&events), 100_000);
        let c = r.counters(IF).unwrap();
        assert_eq!((c.conflicts_seen, c.defences_sent), (100_000, 1));
        assert!(r.interfaces[&IF].conflicts.is_empty(), "windows forgotten");
        assert!(r.timers.len() <= 64 + 4, "{}", r.timers.len());
        let _ = defences;
    }

    /// Delivers every frame either node has due at `now` to the other (and the other's reply
    /// back), until both are quiet.
    fn exchange(nodes: &mut [NdpResponder; 2], now: Instant) {
        loop {
            let mut quiet = true;
            for from in 0..2 {
                let to = 1 - from;
                while let Some(t) = nodes[from].poll_transmit(now) {
                    quiet = false;
                    if let Some(reply) = nodes[to].handle_frame(now, IF, t.bytes()) {
                        nodes[from].handle_frame(now, IF, reply.bytes());
                    }
                }
            }
            if quiet {
                return;
            }
        }
    }

    fn run_until(nodes: &mut [NdpResponder; 2], until: Instant) {
        loop {
            let next = nodes.iter_mut().filter_map(|n| n.poll_timeout()).min();
            match next {
                Some(at) if at <= until => exchange(nodes, at),
                _ => return,
            }
        }
    }

    fn conflicts(r: &mut NdpResponder) -> Vec<MacAddress> {
        std::iter::from_fn(|| r.poll_event())
            .filter_map(|e| match e {
                Event::Conflict { foreign_mac, .. } => Some(foreign_mac),
                _ => None,
            })
            .collect()
    }

    fn split_brain(first: usize) {
        let macs = [mac(), MacAddress([2, 0, 0, 0, 0, 0x0c])];
        let mut nodes = macs.map(|mac| {
            let mut r = NdpResponder::new(Config::default());
            r.add_interface(Interface {
                index: IF,
                name: "eth0".into(),
                mac,
            });
            r
        });
        let t0 = Instant::now();
        nodes[first].announce(t0, IF, vip()).unwrap();
        exchange(&mut nodes, t0);
        run_until(&mut nodes, t0 + Duration::from_secs(60));
        assert_eq!(nodes[first].poll_timeout(), None, "advertisements over");
        let t1 = t0 + Duration::from_secs(60);
        let second = 1 - first;
        nodes[second].announce(t1, IF, vip()).unwrap();
        exchange(&mut nodes, t1);
        run_until(&mut nodes, t1 + Duration::from_secs(60));
        assert_eq!(conflicts(&mut nodes[first]), vec![macs[second]]);
        assert_eq!(
            conflicts(&mut nodes[second]),
            vec![macs[first]],
            "the later claimant learns of the first (it defended)"
        );
        assert_eq!(nodes[first].counters(IF).unwrap().defences_sent, 1);
    }

    #[test]
    fn split_brain_is_seen_from_both_sides_whichever_announced_first() {
        split_brain(0);
        split_brain(1);
    }

    #[test]
    fn probe_free_and_in_use() {
        let mut r = responder();
        let t0 = Instant::now();
        r.probe(t0, IF, vip()).unwrap();
        let sent = drain(&mut r, t0);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].src_addr, Ipv6Addr::UNSPECIFIED);
        assert_eq!(sent[0].dst_addr, solicited_node(vip()));
        let end = r.poll_timeout().unwrap();
        assert_eq!(end - t0, Duration::from_secs(1));
        assert!(drain(&mut r, end).is_empty());
        assert_eq!(
            r.poll_event(),
            Some(Event::ProbeDone {
                ifindex: IF,
                ip: vip(),
                outcome: ProbeOutcome::Free
            })
        );

        // The owner's kernel answers the DAD probe with an NA to all-nodes.
        r.probe(t0, IF, client_ip()).unwrap();
        drain(&mut r, t0);
        let answer = bytes(NdpFrame {
            ethernet: EthernetRepr::new(client(), ALL_NODES_MAC, EtherType::Ipv6),
            src_addr: client_ip(),
            dst_addr: ALL_NODES,
            message: NdiscRepr::NeighborAdvert {
                flags: NeighborFlags {
                    override_: true,
                    ..NeighborFlags::default()
                },
                target_addr: client_ip(),
                lladdr: Some(client()),
            },
        });
        assert!(r.handle_frame(t0, IF, &answer).is_none());
        assert_eq!(
            r.poll_event(),
            Some(Event::ProbeDone {
                ifindex: IF,
                ip: client_ip(),
                outcome: ProbeOutcome::InUse { mac: client() }
            })
        );
        assert_eq!(r.poll_timeout(), None);
    }
}
