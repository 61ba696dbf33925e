//! The sans-IO SWIM + Lifeguard state machine: one cluster member, fed received datagrams,
//! stream bytes, timer expiries and the current time, answering with datagrams and stream
//! operations to perform ([`Output`]), membership changes ([`Event`]) and the next instant it
//! wants to be woken at ([`Node::poll_timeout`]).
//!
//! It behaves as HashiCorp memberlist's `state.go` and `net.go` do:
//!
//! - **probing**: every `probe_interval` (scaled by the local health score) the next member of
//!   a shuffled round-robin list gets a ping; without an ack within `probe_timeout`,
//!   `indirect_checks` random members are asked to ping it (and nack when it stays silent), and
//!   a ping over a stream (TCP fallback) is tried at once for members speaking protocol ≥ 3;
//!   with no ack by the end of the (scaled) probe interval the member is suspected;
//! - **Lifeguard**: suspicion lasts between `suspicion_mult × max(1, log10 N) × probe_interval`
//!   and `suspicion_max_timeout_mult` times that, shrinking with independent confirmations
//!   ([`crate::Suspicion`]); local health awareness grows with missed nacks and refutations
//!   and shrinks with successful probes ([`crate::Awareness`]); a suspect is pinged together
//!   with the suspect message itself (the buddy system) so it can refute at once;
//! - **dissemination**: alive, suspect and dead messages are piggybacked on every ping, ack
//!   and indirect message, and gossiped to `gossip_nodes` random members (dead ones included
//!   for `gossip_to_the_dead_time`) every `gossip_interval`, each sent
//!   `retransmit_mult × ⌈log10(N + 1)⌉` times ([`crate::BroadcastQueue`]);
//! - **anti-entropy**: a push-pull state exchange over a stream with one random member every
//!   `push_pull_interval` (scaled above 32 members) and with each seed on [`Node::join`];
//! - **incarnations**: suspicion or death of the local node is refuted with a higher
//!   incarnation; a dead message from a node about itself is a graceful leave.
//!
//! # Driving it
//!
//! The driver owns the sockets and the clock. It calls the `handle_*` methods as things happen
//! (every input takes the current `Instant` as its first argument),
//! then drains [`Node::poll_output`] and [`Node::poll_event`], and sleeps until
//! [`Node::poll_timeout`] (calling [`Node::handle_timeout`] then) or the next input.
//!
//! Streams (TCP in the driver) are identified by [`StreamId`]s that the node allocates: for an
//! outbound stream in [`Output::StreamConnect`], for an inbound one when the driver reports it
//! with [`Node::handle_stream_open`]. Bytes queued with [`Output::StreamSend`] before the
//! connection is established are sent once it is; [`Output::StreamClose`] means "close after
//! sending everything queued". A connection that fails, ends or errors is reported with
//! [`Node::handle_stream_closed`]. The node enforces its own stream deadlines.
//!
//! Randomness (probe order, targets, and the nonces of encrypted packets) comes from the seed
//! in [`NodeConfig`]: with a keyring, seed it from the operating system's randomness, or two
//! runs would reuse AES-GCM nonces.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::config::push_pull_scale;
use crate::member::{ip_from_bytes, ip_to_bytes};
use crate::security::{Keyring, NONCE_LEN, OVERHEAD};
use crate::wire::{self, Ack, Alive, Dead, IndirectPing, Message, Nack, Ping, PushPull, Suspect};
use crate::{
    Awareness, BroadcastQueue, Config, Error, Member, Members, PacketCodec, Rng, State, Suspicion,
    Transition,
};

mod gossip;
mod membership;
mod messages;
mod probing;
mod streams;

/// The protocol versions this implementation understands (`Vsn[0]`, `Vsn[1]`).
pub const PROTOCOL_MIN: u8 = 1;
/// The highest protocol version understood.
pub const PROTOCOL_MAX: u8 = 5;

/// Bytes a compound message spends per part (its length field), Go's `compoundOverhead`.
const COMPOUND_OVERHEAD: usize = 2;
/// Bytes a compound message spends on its header, Go's `compoundHeaderOverhead`.
const COMPOUND_HEADER_OVERHEAD: usize = 2;
/// The most bytes buffered from one stream before it is dropped.
const MAX_STREAM_BUFFER: usize = wire::MAX_PUSH_STATE_BYTES as usize + 1024;

/// A stream (a TCP connection in the driver), named by the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u64);

/// Something the driver is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send one UDP datagram.
    Packet {
        /// Destination.
        to: SocketAddr,
        /// The whole datagram (label, encryption, CRC and compound already applied).
        bytes: Vec<u8>,
    },
    /// Open a stream (TCP connection) to `to`; give up at `deadline` (the node gives up then
    /// too). Report failure with [`Node::handle_stream_closed`].
    StreamConnect {
        /// The id the node will use for it.
        id: StreamId,
        /// The peer's address.
        to: SocketAddr,
        /// When the whole exchange must be over.
        deadline: Instant,
    },
    /// Write bytes to a stream (queue them until it is connected).
    StreamSend {
        /// Which stream.
        id: StreamId,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Close a stream once everything queued on it is written. The node forgets it: do not
    /// report it closed.
    StreamClose {
        /// Which stream.
        id: StreamId,
    },
}

/// A change of the membership view, or something delivered to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A member joined (first heard of, or alive again after being dead or having left).
    Joined(Member),
    /// A member's address or metadata changed.
    Updated(Member),
    /// A member is suspected of having failed.
    Suspect(Member),
    /// A suspected member refuted the suspicion: alive again.
    Alive(Member),
    /// A member was declared dead (failed).
    Dead(Member),
    /// A member left gracefully (the local node too, when [`Node::leave`] is called).
    Left(Member),
    /// A user message (serf's events and queries), passed through untouched.
    User(Vec<u8>),
    /// A join's state exchange with one seed ended.
    JoinCompleted {
        /// The seed.
        seed: SocketAddr,
        /// Whether the exchange succeeded (the node now knows the seed's members).
        ok: bool,
    },
}

/// Who the node is and how it talks, besides the timings in [`Config`].
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Its unique name in the cluster.
    pub name: String,
    /// The address others reach it at (its advertise address and gossip port).
    pub addr: SocketAddr,
    /// Metadata gossiped with it (Go caps it at 512 bytes).
    pub meta: Vec<u8>,
    /// The cluster label (empty for none): sent in a header, and required on receive.
    pub label: Vec<u8>,
    /// The keyring, when gossip is encrypted.
    pub keyring: Option<Keyring>,
    /// The delegate protocol versions announced in `Vsn` (min, max, current). memberlist
    /// checks them on join: MetalLB uses `[0, 0, 0]`, serf 0.8 `[2, 5, 4]`.
    pub delegate_versions: [u8; 3],
    /// Seed of every random choice (and of encryption nonces).
    pub seed: u64,
}

impl NodeConfig {
    /// A node called `name` at `addr`, no metadata, no label, no encryption, delegate versions
    /// `[0, 0, 0]`, seed 0.
    pub fn new(name: impl Into<String>, addr: SocketAddr) -> Self {
        Self {
            name: name.into(),
            addr,
            meta: Vec::new(),
            label: Vec::new(),
            keyring: None,
            delegate_versions: [0, 0, 0],
            seed: 0,
        }
    }
}

/// The probe in progress.
#[derive(Debug, Clone)]
struct Probe {
    target: String,
    incarnation: u32,
    seq_no: u32,
    /// When the direct ping is given up on and indirect probes start.
    direct_deadline: Instant,
    /// When, without any ack, the target is suspected.
    deadline: Instant,
    indirect_sent: bool,
    expected_nacks: u32,
    nacks: u32,
    fallback: Option<StreamId>,
    fallback_ok: bool,
}

/// An indirect ping we relay for another member.
#[derive(Debug, Clone)]
struct Relay {
    local_seq: u32,
    orig_seq: u32,
    reply_to: SocketAddr,
    reply_name: String,
    deadline: Instant,
    nack: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamKind {
    /// Accepted from a peer: we answer whatever it sends.
    Inbound,
    /// We pushed our state and wait for theirs.
    PushPull { join: bool },
    /// A TCP fallback ping waiting for its ack.
    Ping { seq_no: u32 },
}

#[derive(Debug, Clone)]
struct Stream {
    peer: SocketAddr,
    kind: StreamKind,
    buf: Vec<u8>,
    deadline: Instant,
}

/// Counters, for tests, benches and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams emitted.
    pub packets_sent: u64,
    /// Bytes of datagrams emitted.
    pub packet_bytes_sent: u64,
    /// Bytes written to streams.
    pub stream_bytes_sent: u64,
    /// Datagrams that did not open or decode.
    pub bad_packets: u64,
    /// Probes started.
    pub probes: u64,
    /// Probes that ended without an ack (the target was suspected).
    pub failed_probes: u64,
    /// Times the local node refuted a suspicion or death of itself.
    pub refutes: u64,
}

/// One cluster member's protocol state. See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Node {
    config: Config,
    name: String,
    addr: SocketAddr,
    codec: PacketCodec,
    rng: Rng,
    /// Draws the fixed field of the AES-GCM nonces.
    nonce_rng: Rng,
    /// The nonce's fixed field (8 octets) and invocation counter (4 octets), as NIST SP
    /// 800-38D §8.2.1 builds nonces: two nodes can only repeat a nonce if their fixed fields
    /// are equal, however many packets they seal.
    nonce_fixed: u64,
    nonce_counter: u32,
    members: Members,
    /// Probe order: every member but us, shuffled at each wrap.
    probe_list: Vec<String>,
    probe_index: usize,
    /// When each member entered its current dead or left state.
    dead_since: HashMap<String, Instant>,
    suspicions: BTreeMap<String, Suspicion>,
    broadcasts: BroadcastQueue,
    awareness: Awareness,
    seq_no: u32,
    probe: Option<Probe>,
    relays: Vec<Relay>,
    streams: BTreeMap<StreamId, Stream>,
    next_stream: u64,
    next_probe: Instant,
    /// Gossip ticks fall on `gossip_epoch + k × gossip_interval`; the timer is only armed
    /// while broadcasts wait (an idle tick sends nothing).
    gossip_epoch: Instant,
    next_gossip: Option<Instant>,
    next_push_pull: Instant,
    outputs: VecDeque<Output>,
    events: VecDeque<Event>,
    stats: Stats,
}

impl Node {
    /// A node alone in its cluster, alive at incarnation 1, its own alive message queued for
    /// gossip. Timers start staggered at random within their first interval.
    pub fn new(config: Config, options: NodeConfig, now: Instant) -> Self {
        let NodeConfig {
            name,
            addr,
            meta,
            label,
            keyring,
            delegate_versions,
            seed,
        } = options;
        let mut rng = Rng::new(seed);
        let mut nonce_rng = Rng::new(seed ^ 0x6e6f_6e63_655f_7365);
        let nonce_fixed = nonce_rng.next_u64();
        let [dmin, dmax, dcur] = delegate_versions;
        let me = Member {
            name: name.clone(),
            addr: ip_to_bytes(addr.ip()),
            port: addr.port(),
            meta,
            vsn: vec![
                PROTOCOL_MIN,
                PROTOCOL_MAX,
                config.protocol_version,
                dmin,
                dmax,
                dcur,
            ],
            incarnation: 1,
            state: State::Alive,
        };
        let codec = PacketCodec {
            label,
            keyring,
            ..PacketCodec::new()
        };
        let next_probe = now + rng.stagger(config.probe_interval);
        let gossip_epoch = now + rng.stagger(config.gossip_interval);
        let next_push_pull = now + rng.stagger(config.push_pull_interval);
        let mut node = Self {
            awareness: Awareness::new(config.awareness_max_multiplier),
            config,
            name,
            addr,
            codec,
            rng,
            nonce_rng,
            nonce_fixed,
            nonce_counter: 0,
            members: Members::new(me.clone()),
            probe_list: Vec::new(),
            probe_index: 0,
            dead_since: HashMap::new(),
            suspicions: BTreeMap::new(),
            broadcasts: BroadcastQueue::new(),
            seq_no: 0,
            probe: None,
            relays: Vec::new(),
            streams: BTreeMap::new(),
            next_stream: 0,
            next_probe,
            gossip_epoch,
            next_gossip: None,
            next_push_pull,
            outputs: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
        };
        node.broadcast(now, Message::Alive(me.to_alive()));
        node
    }

    /// The keyring, when gossip is encrypted, to install, use or remove keys on a running node
    /// (memberlist's key rotation: install the new key everywhere, make it primary everywhere,
    /// then remove the old one). Every key installed is tried on receive; the primary seals.
    /// A node started without a keyring stays unencrypted.
    pub fn keyring_mut(&mut self) -> Option<&mut Keyring> {
        self.codec.keyring.as_mut()
    }

    /// Joins a cluster: a push-pull state exchange over a stream with each seed. Each ends with
    /// an [`Event::JoinCompleted`]; call again (retry) if none succeeded.
    pub fn join(&mut self, now: Instant, seeds: &[SocketAddr]) {
        for &seed in seeds {
            self.start_push_pull(now, seed, true);
        }
    }

    /// Leaves gracefully: announces its own death (a leave), stops probing and state
    /// exchanges, and keeps gossiping until the announcement has been retransmitted
    /// ([`Node::leave_complete`]). The driver then stops the node.
    pub fn leave(&mut self, now: Instant) {
        if self.members.is_leaving() {
            return;
        }
        self.members.set_leaving();
        self.probe = None;
        let me = self.local().clone();
        let d = Dead {
            from: me.name.clone(),
            incarnation: me.incarnation,
            node: me.name.clone(),
        };
        self.apply_dead(now, &d);
    }

    /// Whether [`Node::leave`] was called.
    pub fn is_leaving(&self) -> bool {
        self.members.is_leaving()
    }

    /// Whether the leave announcement has been sent as often as the retransmit limit asks
    /// (or there is nobody to tell): the driver may stop now.
    pub fn leave_complete(&self) -> bool {
        self.members.is_leaving()
            && (!self.broadcasts.contains(&self.name)
                || !self
                    .members
                    .iter()
                    .any(|m| m.name != self.name && m.state == State::Alive))
    }

    /// Handles one received UDP datagram, raw as it arrived from `from`. A datagram that does
    /// not open (label, key, CRC) or decode is dropped and the error returned for logging; the
    /// node is unaffected.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        from: SocketAddr,
        packet: &[u8],
    ) -> Result<(), Error> {
        let msgs = match self.codec.open(packet) {
            Ok(m) => m,
            Err(e) => {
                self.stats.bad_packets += 1;
                return Err(e);
            }
        };
        // Gossip first, requests last: an answer then carries what the same packet taught us
        // (a suspect pinged by the buddy system answers with its refutation piggybacked).
        let (requests, gossip): (Vec<Message>, Vec<Message>) = msgs
            .into_iter()
            .partition(|m| matches!(m, Message::Ping(_) | Message::IndirectPing(_)));
        for msg in gossip.into_iter().chain(requests) {
            self.handle_message(now, from, msg);
        }
        Ok(())
    }

    /// Reports an inbound stream (an accepted TCP connection) from `from`; returns the id the
    /// node knows it by.
    pub fn handle_stream_open(&mut self, now: Instant, from: SocketAddr) -> StreamId {
        let id = self.new_stream_id();
        self.streams.insert(
            id,
            Stream {
                peer: from,
                kind: StreamKind::Inbound,
                buf: Vec::new(),
                deadline: now + self.config.tcp_timeout,
            },
        );
        id
    }

    /// Bytes read from a stream. The node buffers them until one whole message has arrived
    /// (plain stream messages carry no length: it decodes what it has and waits for more
    /// while that is truncated), then answers and closes, or takes the answer it waited for.
    pub fn handle_stream_data(&mut self, now: Instant, id: StreamId, bytes: &[u8]) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if s.buf.len() + bytes.len() > MAX_STREAM_BUFFER {
            self.fail_stream(id, true);
            return;
        }
        s.buf.extend_from_slice(bytes);
        let buf = std::mem::take(&mut s.buf);
        let parsed = self.parse_stream(&buf);
        if let Some(s) = self.streams.get_mut(&id) {
            s.buf = buf;
        }
        match parsed {
            Ok(None) => {}
            Ok(Some(msg)) => self.stream_message(now, id, msg),
            Err(_) => self.fail_stream(id, true),
        }
    }

    /// A stream ended: connection refused or failed, end of file, or an error.
    pub fn handle_stream_closed(&mut self, _now: Instant, id: StreamId) {
        self.fail_stream(id, false);
    }

    /// Runs every timer due at `now`: probe phases, suspicion expiries, relayed probes, stream
    /// deadlines, gossip and push-pull rounds.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Relayed indirect pings.
        let mut i = 0;
        while i < self.relays.len() {
            if self.relays[i].deadline <= now {
                let r = self.relays.swap_remove(i);
                if r.nack {
                    let msg = Message::Nack(Nack { seq_no: r.orig_seq });
                    self.send_msg(now, r.reply_to, Some(&r.reply_name), &msg);
                }
            } else {
                i += 1;
            }
        }
        // Streams past their deadline.
        let late: Vec<StreamId> = self
            .streams
            .iter()
            .filter(|(_, s)| s.deadline <= now)
            .map(|(&id, _)| id)
            .collect();
        for id in late {
            self.fail_stream(id, true);
        }
        // Suspicions that ran out.
        let expired: Vec<String> = self
            .suspicions
            .iter()
            .filter(|(_, s)| s.expired(now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in expired {
            self.suspicions.remove(&name);
            if let Some(m) = self.members.get(&name)
                && m.state == State::Suspect
            {
                let d = Dead {
                    from: self.name.clone(),
                    incarnation: m.incarnation,
                    node: name.clone(),
                };
                self.apply_dead(now, &d);
            }
        }
        // The probe in progress.
        self.probe_phases(now);
        // The next probe.
        if !self.members.is_leaving() && self.probe.is_none() && self.next_probe <= now {
            self.next_probe = now + self.config.probe_interval;
            self.start_probe(now);
            self.probe_phases(now);
        }
        // Gossip.
        if let Some(t) = self.next_gossip
            && t <= now
        {
            self.gossip(now);
            self.next_gossip = None;
            self.arm_gossip(now + Duration::from_nanos(1));
        }
        // Push-pull.
        if self.next_push_pull <= now {
            let n = self.members.len();
            self.next_push_pull = now + push_pull_scale(self.config.push_pull_interval, n);
            if !self.members.is_leaving() {
                self.periodic_push_pull(now);
            }
        }
    }

    /// The next thing the driver has to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The next membership change, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Node::handle_timeout`] is next to be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.next_push_pull;
        if !self.members.is_leaving() {
            t = t.min(match &self.probe {
                Some(p) if !p.indirect_sent => p.direct_deadline,
                Some(p) => p.deadline,
                None => self.next_probe,
            });
        }
        if let Some(g) = self.next_gossip {
            t = t.min(g);
        }
        for r in &self.relays {
            t = t.min(r.deadline);
        }
        for s in self.streams.values() {
            t = t.min(s.deadline);
        }
        for s in self.suspicions.values() {
            t = t.min(s.deadline());
        }
        Some(t)
    }

    /// Every known member, the local node, the dead and the left included, by name.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.iter()
    }

    /// A member by name.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.get(name)
    }

    /// How many known members are in `state`.
    pub fn count(&self, state: State) -> usize {
        self.members.count(state)
    }

    /// The local node as it announces itself.
    pub fn local(&self) -> &Member {
        #[allow(clippy::expect_used)]
        self.members
            .local()
            .expect("the local node is never removed from its table")
    }

    /// The local node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address the local node advertises.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The timings in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Lifeguard's local health score (0 is healthy; probe interval and timeout are scaled by
    /// score + 1).
    pub fn health_score(&self) -> u32 {
        self.awareness.score()
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Sends a user message (memberlist's `userMsg`, e.g. a serf intent) in one datagram to the
    /// alive member `to`, or to every other alive member when `None`, sealed and labelled like
    /// all our packets. Returns how many members it was addressed to.
    pub fn send_user(&mut self, to: Option<&str>, payload: Vec<u8>) -> Result<usize, Error> {
        let part = Message::User(payload).encode()?;
        let targets: Vec<(SocketAddr, String)> = self
            .members
            .iter()
            .filter(|m| m.name != self.name && m.state == State::Alive)
            .filter(|m| to.is_none_or(|t| t == m.name))
            .filter_map(|m| Some((m.socket_addr()?, m.name.clone())))
            .collect();
        for (addr, name) in &targets {
            self.send_parts(*addr, Some(name), vec![part.clone()]);
        }
        Ok(targets.len())
    }

    /// Changes the local node's metadata: a new incarnation, announced to the cluster.
    pub fn set_meta(&mut self, now: Instant, meta: Vec<u8>) {
        let mut me = self.local().to_alive();
        me.meta = meta;
        me.incarnation = me.incarnation.wrapping_add(1);
        // Our own table takes it as a refutation of a different announcement of us.
        if let Transition::Refute { .. } = self.members.apply_alive(&me) {
            let a = self.local().to_alive();
            self.broadcast(now, Message::Alive(a));
        }
    }

    /// Learns `members` as alive without gossiping them or emitting events, and drops the
    /// broadcasts waiting: as if the cluster had converged long ago. For simulations and tests
    /// that start from a quiet, converged cluster.
    pub fn learn_quietly(&mut self, now: Instant, members: impl IntoIterator<Item = Alive>) {
        for a in members {
            if self.members.apply_alive(&a) == Transition::Joined {
                self.probe_list.push(a.node.clone());
            }
        }
        self.rng.shuffle(&mut self.probe_list);
        self.broadcasts = BroadcastQueue::new();
        self.next_gossip = None;
        // Long converged: the push-pull phase is anywhere in the interval scaled for N.
        let interval = push_pull_scale(self.config.push_pull_interval, self.members.len());
        self.next_push_pull = now + self.rng.stagger(interval);
    }
}

/// The address a ping or indirect ping asks the answer to go to, when it gives one.
fn source(addr: &[u8], port: u16) -> Option<SocketAddr> {
    if port == 0 {
        return None;
    }
    ip_from_bytes(addr).map(|ip| SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn nonces_are_a_fixed_field_and_a_counter() {
        let mut options = NodeConfig::new("a", "127.0.0.1:7946".parse().expect("addr"));
        options.keyring = Some(Keyring::new(&[7; 16]).expect("key"));
        options.seed = 42;
        let mut node = Node::new(Config::fast(), options, Instant::now());
        let first = node.nonce_if_keyed();
        let second = node.nonce_if_keyed();
        assert_eq!(first[..8], second[..8]);
        assert_eq!(first[8..], 1u32.to_be_bytes());
        assert_eq!(second[8..], 2u32.to_be_bytes());
        node.nonce_counter = u32::MAX;
        let renewed = node.nonce_if_keyed();
        assert_ne!(renewed[..8], first[..8]);
        assert_eq!(renewed[8..], 1u32.to_be_bytes());
    }
}
