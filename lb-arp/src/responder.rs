//! The sans-IO responder core: which frames to answer, when to send gratuitous ARP, what
//! counts as a conflict. No sockets, no clock: every input carries `now`, outputs are frames to
//! send ([`Transmit`]), events ([`Event`]) and the next deadline ([`ArpResponder::poll_timeout`]).
//!
//! The driver's loop is:
//!
//! 1. a frame arrives on interface `i`: `handle_frame(now, i, bytes)` and send the reply it
//!    returns, if any;
//! 2. the deadline from `poll_timeout()` passes (or `announce`/`probe` was called): send every
//!    frame `poll_transmit(now)` yields;
//! 3. drain `poll_event()` after either.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::wire::{ArpFrame, ArpKind, ArpRepr, EtherType, EthernetRepr, MacAddress};

/// A network interface the responder works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Kernel interface index.
    pub index: u32,
    /// Name, for logs.
    pub name: String,
    /// The interface's MAC: the address replies carry.
    pub mac: MacAddress,
}

/// When gratuitous packets go out after an announcement, as offsets from the `announce` call.
///
/// The default is a fast burst in the first second (0, 100, 250, 500 ms, 1 s), then one per
/// second until 5 s. [`GratuitousSchedule::metallb`] gives MetalLB's 0, 1.1, 2.2, 3.3, 4.4 s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GratuitousSchedule {
    offsets: Vec<Duration>,
}

impl GratuitousSchedule {
    /// At most this many rounds per announcement.
    pub const MAX_ROUNDS: usize = 64;

    /// A schedule from offsets: at least one, at most [`Self::MAX_ROUNDS`], non-decreasing.
    pub fn new(offsets: impl IntoIterator<Item = Duration>) -> Result<Self> {
        let offsets: Vec<Duration> = offsets.into_iter().take(Self::MAX_ROUNDS + 1).collect();
        if offsets.is_empty() || offsets.len() > Self::MAX_ROUNDS {
            return Err(Error::InvalidConfig(
                "gratuitous schedule needs 1 to 64 rounds",
            ));
        }
        if offsets.windows(2).any(|w| w[1] < w[0]) {
            return Err(Error::InvalidConfig(
                "gratuitous schedule offsets must not decrease",
            ));
        }
        Ok(GratuitousSchedule { offsets })
    }
    /// MetalLB's schedule: immediately, then every 1.1 s for 5 s.
    pub fn metallb() -> Self {
        GratuitousSchedule {
            offsets: (0..5).map(|i| Duration::from_millis(1100 * i)).collect(),
        }
    }
    /// The offsets.
    pub fn offsets(&self) -> &[Duration] {
        &self.offsets
    }
}

impl Default for GratuitousSchedule {
    fn default() -> Self {
        let ms = [0, 100, 250, 500, 1000, 2000, 3000, 4000, 5000];
        GratuitousSchedule {
            offsets: ms.iter().map(|&m| Duration::from_millis(m)).collect(),
        }
    }
}

/// How an RFC 5227 probe runs: `count` probes `interval` apart, then `wait` for answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Probes sent (RFC 5227 PROBE_NUM = 3).
    pub count: u32,
    /// Time between probes (RFC 5227: PROBE_MIN 1 s to PROBE_MAX 2 s).
    pub interval: Duration,
    /// Time to listen after the last probe (RFC 5227 ANNOUNCE_WAIT = 2 s).
    pub wait: Duration,
}

impl Default for ProbeConfig {
    /// RFC 5227's numbers without the random jitter: 3 probes 1 s apart, then 2 s.
    fn default() -> Self {
        ProbeConfig {
            count: 3,
            interval: Duration::from_secs(1),
            wait: Duration::from_secs(2),
        }
    }
}

/// RFC 5227 DEFEND_INTERVAL: at most one defending announcement per address this often.
pub const DEFEND_INTERVAL: Duration = Duration::from_secs(10);

/// Responder settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Gratuitous ARP rounds after `announce`.
    pub gratuitous: GratuitousSchedule,
    /// Conflict probes.
    pub probe: ProbeConfig,
    /// Events kept until polled; more are dropped and counted.
    pub max_events: usize,
    /// Conflicts are reported per interface and address at most once per window: the first
    /// claim at once ([`Event::Conflict`]), later ones in the window as one
    /// [`Event::ConflictRepeated`] with their count when it ends. A storm of forged claims
    /// costs a hash lookup per frame, one log line and one event per window and address.
    pub conflict_window: Duration,
    /// Defend an announced address against a foreign claim (RFC 5227 §2.4 (b)): on seeing one,
    /// broadcast one ARP announcement, unless we already defended that address within this
    /// interval. So a host that claims an address after our gratuitous schedule has ended sees
    /// us too, and both sides report the conflict. `None`: never defend, only report.
    pub defend_interval: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            gratuitous: GratuitousSchedule::default(),
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
    /// ARP requests (and probes) received, for any address.
    pub requests_received: u64,
    /// Replies sent for announced addresses.
    pub replies_sent: u64,
    /// Gratuitous packets sent (each round is two: request and reply form).
    pub gratuitous_sent: u64,
    /// Foreign packets claiming an announced or probed address.
    pub conflicts_seen: u64,
    /// ARP announcements sent to defend an announced address (RFC 5227 §2.4 (b)).
    pub defences_sent: u64,
    /// RFC 5227 probes sent.
    pub probes_sent: u64,
    /// Frames we sent ourselves, seen again.
    pub own_frames: u64,
    /// Frames tagged for a VLAN this interface does not terminate (an 802.1Q or 802.1ad tag
    /// on the wire, as the driver reports it), ignored as the kernel ignores them: a VLAN is
    /// served on its own (sub-)interface, whose frames arrive untagged.
    pub other_vlan: u64,
    /// Frames that are not Ethernet/IPv4 ARP or are malformed.
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
    /// A foreign host sent a reply or gratuitous packet claiming an address we announce.
    Conflict {
        /// Interface it arrived on.
        ifindex: u32,
        /// The address.
        ip: Ipv4Addr,
        /// The foreign MAC (ARP sender hardware address).
        foreign_mac: MacAddress,
        /// The packet's kind.
        kind: ArpKind,
    },
    /// More foreign claims for an address already reported by an [`Event::Conflict`], counted
    /// over one [`Config::conflict_window`] and reported when the window ends.
    ConflictRepeated {
        /// Interface they arrived on.
        ifindex: u32,
        /// The address.
        ip: Ipv4Addr,
        /// The foreign MAC of the last one.
        foreign_mac: MacAddress,
        /// How many arrived in the window after the last report.
        count: u64,
    },
    /// A probe started with [`ArpResponder::probe`] finished.
    ProbeDone {
        /// Interface.
        ifindex: u32,
        /// The probed address.
        ip: Ipv4Addr,
        /// What it found.
        outcome: ProbeOutcome,
    },
}

/// Largest frame the responder emits: ARP with one 802.1Q tag.
pub const MAX_FRAME_LEN: usize = 46;

/// A frame to send on an interface. Held inline: no allocation per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Interface to send on.
    pub ifindex: u32,
    buf: [u8; MAX_FRAME_LEN],
    len: usize,
}

impl Transmit {
    fn new(ifindex: u32, frame: &ArpFrame) -> Transmit {
        let mut buf = [0u8; MAX_FRAME_LEN];
        // The frame's length is 42 or 46 bytes, so emit cannot fail here.
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
    Gratuitous,
    Probe,
    Defend,
    ConflictWindow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Instant,
    generation: u64,
    ifindex: u32,
    ip: Ipv4Addr,
    kind: TimerKind,
}

#[derive(Debug)]
struct Announcement {
    started: Instant,
    round: usize,
    generation: u64,
    /// When we last defended it (RFC 5227 §2.4 (b)).
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
    announced: FxHashMap<Ipv4Addr, Announcement>,
    probes: FxHashMap<Ipv4Addr, Probe>,
    /// Addresses whose conflicts were reported within the current window; at most one entry
    /// per address claimed in the last window.
    conflicts: FxHashMap<Ipv4Addr, ConflictWindow>,
    counters: Counters,
}

/// The ARP responder core for any number of interfaces and addresses.
///
/// ```
/// use std::time::Instant;
/// use lb_arp::{ArpFrame, ArpRepr, ArpResponder, Config, EtherType, EthernetRepr, Interface, MacAddress};
///
/// let mac: MacAddress = "02:00:00:00:00:0b".parse()?;
/// let mut responder = ArpResponder::new(Config::default());
/// responder.add_interface(Interface { index: 2, name: "eth0".into(), mac });
/// let now = Instant::now();
/// responder.announce(now, 2, "192.0.2.100".parse()?)?;
///
/// // Gratuitous ARP goes out at once, in both forms.
/// let first = responder.poll_transmit(now).expect("request form");
/// let second = responder.poll_transmit(now).expect("reply form");
/// assert!(responder.poll_transmit(now).is_none());
/// assert!(responder.poll_timeout() > Some(now));
/// # let _ = (first, second);
///
/// // A client asks; we answer with the interface's MAC.
/// let client: MacAddress = "02:00:00:00:00:0a".parse()?;
/// let ask = ArpFrame {
///     ethernet: EthernetRepr::new(client, MacAddress::BROADCAST, EtherType::Arp),
///     arp: ArpRepr::request(client, "192.0.2.10".parse()?, "192.0.2.100".parse()?),
/// };
/// let mut buf = [0u8; 60];
/// let n = ask.emit(&mut buf)?;
/// let reply = responder.handle_frame(now, 2, &buf[..n]).expect("a reply");
/// let reply = ArpFrame::parse(reply.bytes())?;
/// assert_eq!(reply.arp.source_hardware_addr, mac);
/// assert_eq!(reply.ethernet.dst_addr, client);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ArpResponder {
    config: Config,
    interfaces: FxHashMap<u32, InterfaceState>,
    timers: BinaryHeap<Reverse<Timer>>,
    /// The reply form of a gratuitous round, due at the instant kept with it.
    pending: Option<(Instant, Transmit)>,
    events: VecDeque<Event>,
    events_dropped: u64,
    next_generation: u64,
}

impl ArpResponder {
    /// A responder with no interfaces.
    pub fn new(config: Config) -> Self {
        ArpResponder {
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
                    announced: FxHashMap::default(),
                    probes: FxHashMap::default(),
                    conflicts: FxHashMap::default(),
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

    fn state(&mut self, ifindex: u32) -> Result<&mut InterfaceState> {
        self.interfaces
            .get_mut(&ifindex)
            .ok_or(Error::UnknownInterface(ifindex))
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    fn push_timer(&mut self, timer: Timer) {
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

    /// Starts answering for `ip` on `ifindex` and (re)starts its gratuitous schedule: call it on
    /// takeover. Returns true if the address was not announced there before.
    pub fn announce(&mut self, now: Instant, ifindex: u32, ip: Ipv4Addr) -> Result<bool> {
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
        tracing::debug!(iface = %state.iface.name, %ip, new, "announce");
        let at = now + self.config.gratuitous.offsets[0];
        self.push_timer(Timer {
            at,
            generation,
            ifindex,
            ip,
            kind: TimerKind::Gratuitous,
        });
        Ok(new)
    }

    /// Stops answering for `ip` on `ifindex` (silently: the new owner's gratuitous packets move
    /// clients). Returns true if it was announced.
    pub fn withdraw(&mut self, ifindex: u32, ip: Ipv4Addr) -> bool {
        let Some(state) = self.interfaces.get_mut(&ifindex) else {
            return false;
        };
        let was = state.announced.remove(&ip).is_some();
        tracing::debug!(iface = %state.iface.name, %ip, was, "withdraw");
        was
    }

    /// Ends every pending announcement schedule (gratuitous ARP rounds, defences) while the
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
    pub fn is_announced(&self, ifindex: u32, ip: Ipv4Addr) -> bool {
        self.interfaces
            .get(&ifindex)
            .is_some_and(|s| s.announced.contains_key(&ip))
    }

    /// The addresses announced on `ifindex` (in no particular order).
    pub fn announced(&self, ifindex: u32) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.interfaces
            .get(&ifindex)
            .into_iter()
            .flat_map(|s| s.announced.keys().copied())
    }

    /// The counters of `ifindex`.
    pub fn counters(&self, ifindex: u32) -> Option<Counters> {
        self.interfaces.get(&ifindex).map(|s| s.counters)
    }

    /// Events dropped because nobody polled them in time.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// Starts an RFC 5227 probe for `ip` on `ifindex`: probes go out from `poll_transmit`, and an
    /// [`Event::ProbeDone`] tells the outcome. Restarts a probe already running.
    pub fn probe(&mut self, now: Instant, ifindex: u32, ip: Ipv4Addr) -> Result<()> {
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

    /// The next frame due at `now` (gratuitous ARP, probes); call until it returns `None`.
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
                TimerKind::Gratuitous => self.gratuitous_round(timer),
                TimerKind::Probe => self.probe_step(timer),
                TimerKind::Defend => self.defend(timer),
                TimerKind::ConflictWindow => self.conflict_window_end(timer),
            };
            if sent.is_some() {
                return sent;
            }
        }
    }

    fn gratuitous_round(&mut self, timer: Timer) -> Option<Transmit> {
        let offsets = &self.config.gratuitous.offsets;
        let state = self.interfaces.get_mut(&timer.ifindex)?;
        let mac = state.iface.mac;
        let ann = state.announced.get_mut(&timer.ip)?;
        let round = ann.round;
        ann.round += 1;
        let next = offsets.get(ann.round).map(|off| ann.started + *off);
        state.counters.gratuitous_sent += 2;
        tracing::trace!(iface = %state.iface.name, ip = %timer.ip, round, "gratuitous ARP");
        let eth = EthernetRepr::new(mac, MacAddress::BROADCAST, EtherType::Arp);
        let request = ArpFrame {
            ethernet: eth,
            arp: ArpRepr::gratuitous_request(mac, timer.ip),
        };
        let reply = ArpFrame {
            ethernet: eth,
            arp: ArpRepr::gratuitous_reply(mac, timer.ip),
        };
        self.pending = Some((timer.at, Transmit::new(timer.ifindex, &reply)));
        if let Some(at) = next {
            self.push_timer(Timer { at, ..timer });
        }
        Some(Transmit::new(timer.ifindex, &request))
    }

    /// One ARP announcement for an address a foreign host claimed (RFC 5227 §2.4 (b)).
    fn defend(&mut self, timer: Timer) -> Option<Transmit> {
        let state = self.interfaces.get_mut(&timer.ifindex)?;
        let mac = state.iface.mac;
        state.counters.defences_sent += 1;
        tracing::debug!(iface = %state.iface.name, ip = %timer.ip, "defend: ARP announcement");
        let frame = ArpFrame {
            ethernet: EthernetRepr::new(mac, MacAddress::BROADCAST, EtherType::Arp),
            arp: ArpRepr::gratuitous_request(mac, timer.ip),
        };
        Some(Transmit::new(timer.ifindex, &frame))
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
        ip: Ipv4Addr,
        foreign_mac: MacAddress,
        kind: ArpKind,
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
        tracing::trace!(iface = %state.iface.name, ip = %timer.ip, n = probe.sent, "ARP probe");
        let frame = ArpFrame {
            ethernet: EthernetRepr::new(mac, MacAddress::BROADCAST, EtherType::Arp),
            arp: ArpRepr::probe(mac, timer.ip),
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

    /// Handles a frame received on `ifindex`; returns the reply to send, if any.
    ///
    /// Answers a request (or probe) whose target is announced on this interface, sent to the
    /// broadcast address or to this interface, with this interface's MAC. Ignores frames from
    /// this interface's own MAC. Reports foreign packets that claim an announced or probed
    /// address as events.
    ///
    /// A foreign claim for an announced address is reported at most once per
    /// [`Config::conflict_window`] and address (later ones are counted), and is answered by one
    /// ARP announcement from `poll_transmit` unless the address was defended within
    /// [`Config::defend_interval`]: `poll_timeout` may be earlier after this call. A frame
    /// tagged for a VLAN (the driver puts back a tag the stack took out of the data) is
    /// ignored: replies go out untagged on `ifindex`, so a VLAN is served on its own
    /// sub-interface, never on the parent.
    pub fn handle_frame(&mut self, now: Instant, ifindex: u32, bytes: &[u8]) -> Option<Transmit> {
        let state = self.interfaces.get_mut(&ifindex)?;
        let _span = tracing::trace_span!("arp", iface = %state.iface.name).entered();
        if lb_l2::EthernetFrame::new_checked(bytes).is_ok_and(|f| f.is_vlan_tagged()) {
            state.counters.other_vlan += 1;
            tracing::trace!("tagged for another VLAN: ignored");
            return None;
        }
        let frame = match ArpFrame::parse(bytes) {
            Ok(f) => f,
            Err(e) => {
                state.counters.malformed += 1;
                tracing::trace!(error = %e, "not an ARP frame");
                return None;
            }
        };
        let mac = state.iface.mac;
        let arp = frame.arp;
        if frame.ethernet.src_addr == mac || arp.source_hardware_addr == mac {
            state.counters.own_frames += 1;
            return None;
        }
        let kind = arp.kind();
        let foreign = arp.source_hardware_addr;
        let mut probe_done = None;
        // A foreign host claiming an address we probe: a conflict (RFC 5227 §2.1.1), including
        // another host's probe for the same address.
        let claimed = match kind {
            ArpKind::Probe => Some(arp.target_protocol_addr),
            ArpKind::Other => None,
            _ => Some(arp.source_protocol_addr),
        };
        if let Some(ip) = claimed.filter(|ip| state.probes.contains_key(ip)) {
            state.probes.remove(&ip);
            state.counters.conflicts_seen += 1;
            tracing::info!(%ip, %foreign, ?kind, "probe: address in use");
            probe_done = Some(Event::ProbeDone {
                ifindex,
                ip,
                outcome: ProbeOutcome::InUse { mac: foreign },
            });
        }
        // A foreign host claiming an address we announce (as sender of any ARP packet).
        let spa = arp.source_protocol_addr;
        let conflict =
            kind != ArpKind::Probe && kind != ArpKind::Other && state.announced.contains_key(&spa);
        let mut reply = None;
        if matches!(kind, ArpKind::Request | ArpKind::Probe) {
            state.counters.requests_received += 1;
            let tpa = arp.target_protocol_addr;
            let to_us = frame.ethernet.dst_addr.is_broadcast() || frame.ethernet.dst_addr == mac;
            if to_us && state.announced.contains_key(&tpa) {
                state.counters.replies_sent += 1;
                tracing::debug!(ip = %tpa, to = %arp.source_hardware_addr, "reply");
                let answer = ArpFrame {
                    ethernet: EthernetRepr::new(mac, arp.source_hardware_addr, EtherType::Arp),
                    arp: ArpRepr::reply_to(&arp, mac),
                };
                reply = Some(Transmit::new(ifindex, &answer));
            } else {
                tracing::trace!(ip = %tpa, "not ours");
            }
        }
        if let Some(e) = probe_done {
            self.push_event(e);
        }
        if conflict {
            self.announced_claimed(now, ifindex, spa, foreign, kind);
        }
        reply
    }
}

fn timer_is_live(interfaces: &FxHashMap<u32, InterfaceState>, t: &Timer) -> bool {
    let Some(state) = interfaces.get(&t.ifindex) else {
        return false;
    };
    match t.kind {
        TimerKind::Gratuitous | TimerKind::Defend => state
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
    fn vip() -> Ipv4Addr {
        Ipv4Addr::new(192, 0, 2, 100)
    }
    fn client_ip() -> Ipv4Addr {
        Ipv4Addr::new(192, 0, 2, 10)
    }
    fn responder() -> ArpResponder {
        let mut r = ArpResponder::new(Config::default());
        r.add_interface(Interface {
            index: IF,
            name: "eth0".into(),
            mac: mac(),
        });
        r
    }
    fn bytes(frame: ArpFrame) -> Vec<u8> {
        let mut buf = vec![0u8; 60];
        let n = frame.emit(&mut buf).unwrap();
        buf.truncate(n.max(60)); // padded like a real minimum-size frame
        buf
    }
    fn request(target: Ipv4Addr) -> Vec<u8> {
        bytes(ArpFrame {
            ethernet: EthernetRepr::new(client(), MacAddress::BROADCAST, EtherType::Arp),
            arp: ArpRepr::request(client(), client_ip(), target),
        })
    }
    fn drain(r: &mut ArpResponder, now: Instant) -> Vec<ArpFrame> {
        std::iter::from_fn(|| r.poll_transmit(now))
            .map(|t| ArpFrame::parse(t.bytes()).unwrap())
            .collect()
    }

    #[test]
    fn answers_only_announced_addresses() {
        let mut r = responder();
        let now = Instant::now();
        assert!(r.handle_frame(now, IF, &request(vip())).is_none());
        r.announce(now, IF, vip()).unwrap();
        let reply =
            ArpFrame::parse(r.handle_frame(now, IF, &request(vip())).unwrap().bytes()).unwrap();
        assert_eq!(reply.ethernet.src_addr, mac());
        assert_eq!(reply.ethernet.dst_addr, client());
        assert_eq!(
            reply.arp,
            ArpRepr::reply_to(&ArpRepr::request(client(), client_ip(), vip()), mac())
        );
        assert!(
            r.handle_frame(now, IF, &request(Ipv4Addr::new(192, 0, 2, 101)))
                .is_none()
        );
        // Unknown interface: nothing.
        assert!(r.handle_frame(now, 9, &request(vip())).is_none());
        let c = r.counters(IF).unwrap();
        assert_eq!((c.requests_received, c.replies_sent), (3, 1));
        assert!(r.withdraw(IF, vip()));
        assert!(r.handle_frame(now, IF, &request(vip())).is_none());
    }

    #[test]
    fn ignores_own_frames_replies_and_unicast_to_others() {
        let mut r = responder();
        let now = Instant::now();
        r.announce(now, IF, vip()).unwrap();
        let own = bytes(ArpFrame {
            ethernet: EthernetRepr::new(mac(), MacAddress::BROADCAST, EtherType::Arp),
            arp: ArpRepr::request(mac(), vip(), vip()),
        });
        assert!(r.handle_frame(now, IF, &own).is_none());
        assert_eq!(r.counters(IF).unwrap().own_frames, 1);
        let to_other = bytes(ArpFrame {
            ethernet: EthernetRepr::new(
                client(),
                MacAddress([2, 0, 0, 0, 0, 0x0c]),
                EtherType::Arp,
            ),
            arp: ArpRepr::request(client(), client_ip(), vip()),
        });
        assert!(r.handle_frame(now, IF, &to_other).is_none());
        assert!(r.handle_frame(now, IF, &[0u8; 10]).is_none());
        assert_eq!(r.counters(IF).unwrap().malformed, 1);
        assert!(r.poll_event().is_none());
    }

    #[test]
    fn tagged_requests_are_ignored() {
        let mut r = responder();
        let now = Instant::now();
        r.announce(now, IF, vip()).unwrap();
        let tag = crate::VlanTag {
            pcp: 0,
            dei: false,
            vid: 42,
        };
        let tagged = bytes(ArpFrame {
            ethernet: EthernetRepr::new(client(), MacAddress::BROADCAST, EtherType::Arp)
                .with_vlan(Some(tag)),
            arp: ArpRepr::request(client(), client_ip(), vip()),
        });
        // On the parent interface a tagged request is for a VLAN we do not serve here:
        // answering it untagged would put the reply on the native LAN.
        assert!(r.handle_frame(now, IF, &tagged).is_none());
        // QinQ: an 802.1ad outer tag in front of the 802.1Q one.
        let mut qinq = tagged[..12].to_vec();
        qinq.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64]);
        qinq.extend_from_slice(&tagged[12..]);
        assert!(r.handle_frame(now, IF, &qinq).is_none());
        // A claim on another VLAN is not a conflict here either.
        let claim = bytes(ArpFrame {
            ethernet: EthernetRepr::new(client(), MacAddress::BROADCAST, EtherType::Arp)
                .with_vlan(Some(tag)),
            arp: ArpRepr::gratuitous_reply(client(), vip()),
        });
        assert!(r.handle_frame(now, IF, &claim).is_none());
        assert_eq!(r.poll_event(), None);
        let c = r.counters(IF).unwrap();
        assert_eq!((c.other_vlan, c.replies_sent, c.conflicts_seen), (3, 0, 0));
    }

    #[test]
    fn gratuitous_schedule_both_forms() {
        let mut r = responder();
        let t0 = Instant::now();
        assert!(r.announce(t0, IF, vip()).unwrap());
        let first = drain(&mut r, t0);
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].arp.kind(), ArpKind::GratuitousRequest);
        assert_eq!(first[1].arp.kind(), ArpKind::GratuitousReply);
        assert!(
            first
                .iter()
                .all(|f| f.ethernet.dst_addr.is_broadcast() && f.ethernet.src_addr == mac())
        );
        let mut deadlines = vec![];
        while let Some(at) = r.poll_timeout() {
            deadlines.push(at - t0);
            assert_eq!(drain(&mut r, at).len(), 2);
        }
        let expected: Vec<Duration> = GratuitousSchedule::default().offsets()[1..].to_vec();
        assert_eq!(deadlines, expected);
        assert_eq!(r.counters(IF).unwrap().gratuitous_sent, 18);
    }

    #[test]
    fn withdraw_stops_the_schedule_and_reannounce_restarts_it() {
        let mut r = responder();
        let t0 = Instant::now();
        r.announce(t0, IF, vip()).unwrap();
        drain(&mut r, t0);
        assert!(r.withdraw(IF, vip()));
        assert_eq!(r.poll_timeout(), None);
        let t1 = t0 + Duration::from_secs(10);
        assert!(r.announce(t1, IF, vip()).unwrap());
        assert!(!r.announce(t1, IF, vip()).unwrap());
        assert_eq!(
            drain(&mut r, t1).len(),
            2,
            "one round, not one per announce"
        );
        assert_eq!(r.poll_timeout(), Some(t1 + Duration::from_millis(100)));
        assert_eq!(r.announced(IF).collect::<Vec<_>>(), vec![vip()]);
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
        assert!(r.handle_frame(t0, IF, &request(vip())).is_some());
        assert!(r.is_announced(IF, vip()));
        // Announcing again starts a new schedule.
        r.announce(t0, IF, vip()).unwrap();
        assert_eq!(drain(&mut r, t0).len(), 2);
        assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_millis(100)));
    }

    #[test]
    fn many_addresses_keep_the_timer_heap_bounded() {
        let mut r = responder();
        let t0 = Instant::now();
        for round in 0..20u32 {
            for i in 0..500u32 {
                let ip = Ipv4Addr::from(0xc633_6400 + i); // 198.51.100.0 + i
                r.announce(t0 + Duration::from_millis(round.into()), IF, ip)
                    .unwrap();
            }
        }
        assert!(r.timers.len() <= 2 * 500 + 64 + 1, "{}", r.timers.len());
        assert_eq!(r.announced(IF).count(), 500);
    }

    #[test]
    fn watcher_reports_foreign_claims() {
        let mut r = responder();
        let now = Instant::now();
        r.announce(now, IF, vip()).unwrap();
        let other = MacAddress([2, 0, 0, 0, 0, 0x0c]);
        for arp in [
            ArpRepr::gratuitous_request(other, vip()),
            ArpRepr::gratuitous_reply(other, vip()),
        ] {
            let f = bytes(ArpFrame {
                ethernet: EthernetRepr::new(other, MacAddress::BROADCAST, EtherType::Arp),
                arp,
            });
            assert!(r.handle_frame(now, IF, &f).is_none());
        }
        // The first claim at once, the second when its window ends.
        assert_eq!(
            r.poll_event(),
            Some(Event::Conflict {
                ifindex: IF,
                ip: vip(),
                foreign_mac: other,
                kind: ArpKind::GratuitousRequest,
            })
        );
        assert_eq!(r.poll_event(), None);
        let end = now + Config::default().conflict_window;
        drain(&mut r, end);
        assert_eq!(
            r.poll_event(),
            Some(Event::ConflictRepeated {
                ifindex: IF,
                ip: vip(),
                foreign_mac: other,
                count: 1,
            })
        );
        assert_eq!(r.counters(IF).unwrap().conflicts_seen, 2);
    }

    fn claim(from: MacAddress, ip: Ipv4Addr) -> Vec<u8> {
        bytes(ArpFrame {
            ethernet: EthernetRepr::new(from, MacAddress::BROADCAST, EtherType::Arp),
            arp: ArpRepr::gratuitous_reply(from, ip),
        })
    }

    /// Runs a flood of `n` forged claims for the VIP, `gap` apart, through the driver's loop
    /// in virtual time, then lets every window end. Returns the events and the frames sent
    /// after the announcement's own schedule.
    fn flood(n: u64, gap: Duration) -> (ArpResponder, Vec<Event>, Vec<ArpFrame>) {
        let mut r = responder();
        let t0 = Instant::now();
        r.announce(t0, IF, vip()).unwrap();
        let forged = claim(MacAddress([2, 0, 0, 0, 0, 0x66]), vip());
        let (mut events, mut sent) = (vec![], vec![]);
        let mut now = t0;
        for i in 0..n {
            now = t0 + gap * u32::try_from(i).unwrap();
            sent.extend(drain(&mut r, now));
            assert!(r.handle_frame(now, IF, &forged).is_none());
            events.extend(std::iter::from_fn(|| r.poll_event()));
        }
        while let Some(at) = r.poll_timeout() {
            assert!(at >= now && at < now + Duration::from_secs(3600), "{at:?}");
            sent.extend(drain(&mut r, at));
            events.extend(std::iter::from_fn(|| r.poll_event()));
        }
        sent.retain(|f| f.arp.kind() == ArpKind::GratuitousRequest);
        (r, events, sent)
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
        // 100k forged claims in 2 s: one report at once, one summary when the window ends.
        let (r, events, _) = flood(100_000, Duration::from_micros(20));
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(matches!(events[0], Event::Conflict { ip, .. } if ip == vip()));
        assert!(
            matches!(events[1], Event::ConflictRepeated { count: 99_999, foreign_mac, .. } if foreign_mac == MacAddress([2, 0, 0, 0, 0, 0x66]))
        );
        assert_eq!(total_claims(&events), 100_000);
        let c = r.counters(IF).unwrap();
        assert_eq!(c.conflicts_seen, 100_000);
        // One defence per DEFEND_INTERVAL, however many claims.
        assert_eq!(c.defences_sent, 1);
        assert!(r.interfaces[&IF].conflicts.is_empty(), "windows forgotten");
        assert!(r.timers.len() <= 64 + 4, "{}", r.timers.len());
    }

    #[test]
    fn a_long_storm_gives_one_summary_per_window() {
        // 100k claims over 35 s: windows end at 10, 20, 30 and 40 s.
        let (r, events, defences) = flood(100_000, Duration::from_micros(350));
        assert_eq!(events.len(), 5, "{events:?}");
        assert_eq!(total_claims(&events), 100_000);
        assert_eq!(r.counters(IF).unwrap().defences_sent, 4);
        assert!(defences.len() >= 4, "{}", defences.len());
    }

    #[test]
    fn conflicts_are_limited_per_address() {
        let mut r = responder();
        let now = Instant::now();
        let other_vip = Ipv4Addr::new(192, 0, 2, 101);
        r.announce(now, IF, vip()).unwrap();
        r.announce(now, IF, other_vip).unwrap();
        let other = MacAddress([2, 0, 0, 0, 0, 0x0c]);
        for ip in [vip(), other_vip, vip(), other_vip] {
            r.handle_frame(now, IF, &claim(other, ip));
        }
        let reported: Vec<Ipv4Addr> = std::iter::from_fn(|| r.poll_event())
            .map(|e| match e {
                Event::Conflict { ip, .. } => ip,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(reported, vec![vip(), other_vip]);
    }

    /// Delivers every frame either node has due at `now` to the other (and the other's reply
    /// back), until both are quiet.
    fn exchange(nodes: &mut [ArpResponder; 2], now: Instant) {
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

    /// Runs two nodes on one link until `until`, firing their timers in order.
    fn run_until(nodes: &mut [ArpResponder; 2], until: Instant) {
        loop {
            let next = nodes.iter_mut().filter_map(|n| n.poll_timeout()).min();
            match next {
                Some(at) if at <= until => exchange(nodes, at),
                _ => return,
            }
        }
    }

    fn conflicts(r: &mut ArpResponder) -> Vec<MacAddress> {
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
            let mut r = ArpResponder::new(Config::default());
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
        assert_eq!(nodes[first].poll_timeout(), None, "schedule over");
        // Long after the first node's gratuitous schedule ended, the second claims the VIP.
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
    fn defence_can_be_turned_off() {
        let mut r = ArpResponder::new(Config {
            defend_interval: None,
            ..Config::default()
        });
        r.add_interface(Interface {
            index: IF,
            name: "eth0".into(),
            mac: mac(),
        });
        let t0 = Instant::now();
        r.announce(t0, IF, vip()).unwrap();
        let t1 = t0 + Duration::from_secs(60);
        while r.poll_timeout().is_some_and(|at| at <= t1) {
            let at = r.poll_timeout().unwrap();
            drain(&mut r, at);
        }
        r.handle_frame(t1, IF, &claim(client(), vip()));
        assert!(drain(&mut r, t1).is_empty());
        assert!(matches!(r.poll_event(), Some(Event::Conflict { .. })));
    }

    #[test]
    fn probe_finds_nothing_then_free() {
        let mut r = ArpResponder::new(Config {
            probe: ProbeConfig {
                count: 2,
                interval: Duration::from_millis(100),
                wait: Duration::from_millis(300),
            },
            ..Config::default()
        });
        r.add_interface(Interface {
            index: IF,
            name: "eth0".into(),
            mac: mac(),
        });
        let t0 = Instant::now();
        r.probe(t0, IF, vip()).unwrap();
        let sent = drain(&mut r, t0);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].arp, ArpRepr::probe(mac(), vip()));
        assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_millis(100)));
        assert_eq!(drain(&mut r, t0 + Duration::from_millis(100)).len(), 1);
        assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_millis(400)));
        assert!(r.poll_event().is_none());
        assert!(drain(&mut r, t0 + Duration::from_millis(400)).is_empty());
        assert_eq!(
            r.poll_event(),
            Some(Event::ProbeDone {
                ifindex: IF,
                ip: vip(),
                outcome: ProbeOutcome::Free
            })
        );
        assert_eq!(r.poll_timeout(), None);
        assert_eq!(r.counters(IF).unwrap().probes_sent, 2);
    }

    #[test]
    fn probe_finds_a_host_that_answers() {
        let mut r = responder();
        let t0 = Instant::now();
        r.probe(t0, IF, client_ip()).unwrap();
        drain(&mut r, t0);
        // The kernel of the host owning the address answers the probe: reply to 0.0.0.0.
        let answer = bytes(ArpFrame {
            ethernet: EthernetRepr::new(client(), mac(), EtherType::Arp),
            arp: ArpRepr::reply_to(&ArpRepr::probe(mac(), client_ip()), client()),
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
        assert_eq!(r.poll_timeout(), None, "the probe's timer is stale");
    }

    #[test]
    fn events_are_bounded() {
        let mut r = ArpResponder::new(Config {
            max_events: 2,
            ..Config::default()
        });
        r.add_interface(Interface {
            index: IF,
            name: "eth0".into(),
            mac: mac(),
        });
        let now = Instant::now();
        let other = MacAddress([2, 0, 0, 0, 0, 0x0c]);
        for i in 0..5 {
            let ip = Ipv4Addr::new(192, 0, 2, 100 + i);
            r.announce(now, IF, ip).unwrap();
            r.handle_frame(now, IF, &claim(other, ip));
        }
        assert_eq!(r.events_dropped(), 3);
    }

    #[test]
    fn schedule_validation() {
        assert!(GratuitousSchedule::new([]).is_err());
        assert!(GratuitousSchedule::new([Duration::from_secs(1), Duration::ZERO]).is_err());
        assert!(GratuitousSchedule::new((0..65).map(Duration::from_millis)).is_err());
        assert_eq!(
            GratuitousSchedule::metallb().offsets().last(),
            Some(&Duration::from_millis(4400))
        );
        assert!(r_unknown().is_err());
    }

    fn r_unknown() -> Result<bool> {
        responder().announce(Instant::now(), 7, vip())
    }
}
