//! A deterministic simulator: many [`Node`]s in one process, virtual time, one event queue.
//!
//! The network delivers datagrams after a latency (plus uniform jitter), loses each with a
//! given probability, and can be partitioned into groups that cannot reach each other. Nodes
//! can crash (nothing in or out, forever; stream connects to them are refused), pause (a
//! stopped process: nothing is delivered and no timer runs; on resume overdue timers fire at
//! once), and restart (a fresh node with the same name and address, joining again). Streams
//! are simulated too: connect, data and close each take the connection's latency; they are
//! lost when the ends cannot reach each other.
//!
//! Everything random comes from the seed, so a run is reproducible. Time starts at an
//! arbitrary [`Instant`] and only moves when [`Sim::run_for`] or [`Sim::run_until`] is called.
//!
//! ```
//! use std::time::Duration;
//! use lb_memberlist::sim::{Sim, SimConfig};
//! use lb_memberlist::{Config, State};
//!
//! let mut sim = Sim::new(SimConfig::default());
//! for _ in 0..5 {
//!     sim.add_node(Config::fast());
//! }
//! sim.join_all(0);
//! sim.run_for(Duration::from_secs(5));
//! assert!((0..5).all(|i| sim.node(i).count(State::Alive) == 5));
//! sim.crash(4);
//! sim.run_for(Duration::from_secs(10));
//! assert!((0..4).all(|i| sim.node(i).member("n4").map(|m| m.state) == Some(State::Dead)));
//! ```

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::node::{Event, Node, NodeConfig, Output, StreamId};
use crate::wire::Alive;
use crate::{Config, Rng};

/// The simulated network.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// One-way latency of every datagram and stream operation.
    pub latency: Duration,
    /// Uniform extra latency in `[0, jitter)` per datagram (per connection for streams).
    pub jitter: Duration,
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Seed of the network's randomness; node `i` is seeded with `seed × 1000 + i`.
    pub seed: u64,
    /// Every node's keyring (encrypted gossip), if any.
    pub keyring: Option<crate::Keyring>,
    /// Every node's cluster label (empty for none).
    pub label: Vec<u8>,
}

impl Default for SimConfig {
    /// 1 ms latency, 200 µs jitter, no loss, seed 1, plain and unlabelled: a LAN.
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(1),
            jitter: Duration::from_micros(200),
            loss: 0.0,
            seed: 1,
            keyring: None,
            label: Vec::new(),
        }
    }
}

/// What a simulated process is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Running normally.
    Running,
    /// Stopped (SIGSTOP): state kept, nothing delivered, no timers.
    Paused,
    /// Gone for good (until restarted).
    Crashed,
}

struct SimNode {
    node: Node,
    config: Config,
    status: Status,
    /// The wake-up registered in the queue, if any.
    scheduled: Option<Instant>,
    /// Bytes sent (datagrams and streams) since the last [`Sim::reset_counters`].
    bytes_sent: u64,
    packets_sent: u64,
    restarts: u64,
}

/// One end of a simulated connection.
#[derive(Debug, Clone, Copy)]
struct End {
    node: usize,
    /// The node's id for it; `None` until the accept reached it.
    id: Option<StreamId>,
    open: bool,
}

struct Conn {
    ends: [End; 2],
    latency: Duration,
    /// Data sent by side 0 before side 1 accepted.
    pending: Vec<Vec<u8>>,
    /// The last delivery scheduled towards each side: TCP delivers in order.
    last: [Instant; 2],
}

enum Ev {
    Timer {
        node: usize,
    },
    Packet {
        to: usize,
        from: SocketAddr,
        bytes: Vec<u8>,
    },
    Accept {
        conn: usize,
    },
    Data {
        conn: usize,
        to_side: usize,
        bytes: Vec<u8>,
    },
    Closed {
        conn: usize,
        to_side: usize,
    },
    Refused {
        node: usize,
        id: StreamId,
    },
}

struct Entry {
    at: Instant,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// Called with (time since start, observing node, event) for every event a node emits.
pub type Observer = Box<dyn FnMut(Duration, usize, &Event)>;

/// N nodes, a network, virtual time.
pub struct Sim {
    cfg: SimConfig,
    start: Instant,
    now: Instant,
    seq: u64,
    queue: BinaryHeap<Reverse<Entry>>,
    rng: Rng,
    nodes: Vec<SimNode>,
    by_addr: HashMap<SocketAddr, usize>,
    /// Partition group of each node: nodes in different groups cannot talk.
    group: Vec<u32>,
    conns: Vec<Conn>,
    /// (node, its stream id) → (connection, side).
    conn_of: HashMap<(usize, StreamId), (usize, usize)>,
    observer: Option<Observer>,
    events: u64,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("nodes", &self.nodes.len())
            .field("now", &self.elapsed())
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// An empty simulation.
    pub fn new(cfg: SimConfig) -> Self {
        let now = Instant::now();
        Self {
            rng: Rng::new(cfg.seed ^ 0x5eed_5eed),
            cfg,
            start: now,
            now,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes: Vec::new(),
            by_addr: HashMap::new(),
            group: Vec::new(),
            conns: Vec::new(),
            conn_of: HashMap::new(),
            observer: None,
            events: 0,
        }
    }

    /// The name of node `i`: `n{i}`.
    pub fn name(i: usize) -> String {
        format!("n{i}")
    }

    /// The address of node `i`: in 198.18.0.0/15 (RFC 2544's benchmarking range), port 7946.
    pub fn addr(i: usize) -> SocketAddr {
        let i = u32::try_from(i).unwrap_or(u32::MAX) + 1;
        let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + i);
        SocketAddr::new(IpAddr::V4(ip), 7946)
    }

    fn options(&self, i: usize, restarts: u64) -> NodeConfig {
        let mut o = NodeConfig::new(Self::name(i), Self::addr(i));
        o.keyring.clone_from(&self.cfg.keyring);
        o.label.clone_from(&self.cfg.label);
        o.seed = self
            .cfg
            .seed
            .wrapping_mul(1000)
            .wrapping_add(i as u64)
            .wrapping_add(restarts.wrapping_mul(0x1_0000_0000));
        o
    }

    /// Adds a node (alone in its cluster until it joins); returns its index.
    pub fn add_node(&mut self, config: Config) -> usize {
        let i = self.nodes.len();
        let node = Node::new(config.clone(), self.options(i, 0), self.now);
        self.nodes.push(SimNode {
            node,
            config,
            status: Status::Running,
            scheduled: None,
            bytes_sent: 0,
            packets_sent: 0,
            restarts: 0,
        });
        self.by_addr.insert(Self::addr(i), i);
        self.group.push(0);
        self.after(i);
        i
    }

    /// Every node but `seed` joins through node `seed`.
    pub fn join_all(&mut self, seed: usize) {
        let to = Self::addr(seed);
        for i in 0..self.nodes.len() {
            if i != seed {
                self.join(i, to);
            }
        }
    }

    /// Node `i` joins through `seed`.
    pub fn join(&mut self, i: usize, seed: SocketAddr) {
        let now = self.now;
        self.nodes[i].node.join(now, &[seed]);
        self.after(i);
    }

    /// Makes every node know every other as alive at its current incarnation, as if the
    /// cluster had converged long ago, without any gossip: a quiet start for measurements.
    pub fn converge(&mut self) {
        let all: Vec<Alive> = self
            .nodes
            .iter()
            .map(|n| n.node.local().to_alive())
            .collect();
        let now = self.now;
        for n in &mut self.nodes {
            n.node.learn_quietly(now, all.iter().cloned());
        }
        for i in 0..self.nodes.len() {
            self.after(i);
        }
    }

    /// Node `i`.
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i].node
    }

    /// Node `i`, mutably (call [`Sim::poke`] afterwards if outputs or timers changed).
    pub fn node_mut(&mut self, i: usize) -> &mut Node {
        &mut self.nodes[i].node
    }

    /// Collects node `i`'s outputs and events and re-registers its timer, after a change made
    /// through [`Sim::node_mut`].
    pub fn poke(&mut self, i: usize) {
        self.after(i);
    }

    /// How many nodes (whatever their status).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `i`'s status.
    pub fn status(&self, i: usize) -> Status {
        self.nodes[i].status
    }

    /// Virtual time elapsed since the simulation started.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The current virtual instant.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Events processed so far (a measure of the simulation's work).
    pub fn steps(&self) -> u64 {
        self.events
    }

    /// Sets the function that sees every event of every node.
    pub fn set_observer(&mut self, f: impl FnMut(Duration, usize, &Event) + 'static) {
        self.observer = Some(Box::new(f));
    }

    /// Changes the datagram loss probability.
    pub fn set_loss(&mut self, loss: f64) {
        self.cfg.loss = loss;
    }

    /// Bytes node `i` sent (datagrams and stream writes) since the last reset.
    pub fn bytes_sent(&self, i: usize) -> u64 {
        self.nodes[i].bytes_sent
    }

    /// Datagrams node `i` sent since the last reset.
    pub fn packets_sent(&self, i: usize) -> u64 {
        self.nodes[i].packets_sent
    }

    /// Zeroes the byte and packet counters.
    pub fn reset_counters(&mut self) {
        for n in &mut self.nodes {
            n.bytes_sent = 0;
            n.packets_sent = 0;
        }
    }

    /// Node `i` stops for good: nothing in or out, connects refused.
    pub fn crash(&mut self, i: usize) {
        self.nodes[i].status = Status::Crashed;
    }

    /// Node `i` stops (a paused process): state kept, nothing delivered, no timers.
    pub fn pause(&mut self, i: usize) {
        if self.nodes[i].status == Status::Running {
            self.nodes[i].status = Status::Paused;
        }
    }

    /// A paused node `i` runs again; its overdue timers fire at once.
    pub fn resume(&mut self, i: usize) {
        if self.nodes[i].status == Status::Paused {
            self.nodes[i].status = Status::Running;
            self.nodes[i].scheduled = None;
            self.after(i);
        }
    }

    /// Node `i` restarts: a fresh node with the same name and address (and a new seed),
    /// joining through `seed`.
    pub fn restart(&mut self, i: usize, seed: usize) {
        let restarts = self.nodes[i].restarts + 1;
        let opts = self.options(i, restarts);
        let n = &mut self.nodes[i];
        n.restarts = restarts;
        n.node = Node::new(n.config.clone(), opts, self.now);
        n.status = Status::Running;
        n.scheduled = None;
        // Connections of the old process are gone.
        self.conn_of.retain(|(node, _), _| *node != i);
        self.join(i, Self::addr(seed));
    }

    /// Gracefully leaves node `i`.
    pub fn leave(&mut self, i: usize) {
        let now = self.now;
        self.nodes[i].node.leave(now);
        self.after(i);
    }

    /// Splits the network: the nodes in `side` can reach each other but not the others.
    pub fn partition(&mut self, side: &[usize]) {
        for g in &mut self.group {
            *g = 0;
        }
        for &i in side {
            self.group[i] = 1;
        }
    }

    /// Heals every partition.
    pub fn heal(&mut self) {
        for g in &mut self.group {
            *g = 0;
        }
    }

    fn reachable(&self, a: usize, b: usize) -> bool {
        self.group[a] == self.group[b]
            && self.nodes[a].status == Status::Running
            && self.nodes[b].status == Status::Running
    }

    /// Runs until `d` of virtual time has passed.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_to(until);
    }

    /// Runs until `elapsed()` reaches `t`.
    pub fn run_until(&mut self, t: Duration) {
        let until = self.start + t;
        self.run_to(until);
    }

    /// Runs until `pred` holds (checked after each event) or `limit` of virtual time passed;
    /// returns whether it held.
    pub fn run_while_not(&mut self, limit: Duration, mut pred: impl FnMut(&Sim) -> bool) -> bool {
        let until = self.now + limit;
        loop {
            if pred(self) {
                return true;
            }
            match self.queue.peek() {
                Some(Reverse(e)) if e.at <= until => {}
                _ => break,
            }
            self.step();
        }
        self.now = self.now.max(until);
        pred(self)
    }

    fn run_to(&mut self, until: Instant) {
        while let Some(Reverse(e)) = self.queue.peek() {
            if e.at > until {
                break;
            }
            self.step();
        }
        self.now = self.now.max(until);
    }

    fn step(&mut self) {
        let Some(Reverse(e)) = self.queue.pop() else {
            return;
        };
        self.now = self.now.max(e.at);
        self.events += 1;
        let now = self.now;
        match e.ev {
            Ev::Timer { node } => {
                let n = &mut self.nodes[node];
                if n.status != Status::Running || n.scheduled != Some(e.at) {
                    return;
                }
                n.scheduled = None;
                n.node.handle_timeout(now);
                self.after(node);
            }
            Ev::Packet { to, from, bytes } => {
                let n = &mut self.nodes[to];
                if n.status != Status::Running {
                    return;
                }
                let _ = n.node.handle_packet(now, from, &bytes);
                self.after(to);
            }
            Ev::Accept { conn } => {
                let c = &self.conns[conn];
                let (a, b) = (c.ends[0].node, c.ends[1].node);
                if !c.ends[0].open || !self.reachable(a, b) {
                    return;
                }
                let from = Self::addr(a);
                let id = self.nodes[b].node.handle_stream_open(now, from);
                self.conn_of.insert((b, id), (conn, 1));
                let c = &mut self.conns[conn];
                c.ends[1].id = Some(id);
                let pending = std::mem::take(&mut c.pending);
                for bytes in pending {
                    self.nodes[b].node.handle_stream_data(now, id, &bytes);
                }
                self.after(b);
            }
            Ev::Data {
                conn,
                to_side,
                bytes,
            } => {
                let c = &self.conns[conn];
                let end = c.ends[to_side];
                let other = c.ends[1 - to_side].node;
                if !end.open || !self.reachable(end.node, other) {
                    return;
                }
                match end.id {
                    Some(id) => {
                        self.nodes[end.node]
                            .node
                            .handle_stream_data(now, id, &bytes);
                        self.after(end.node);
                    }
                    None => self.conns[conn].pending.push(bytes),
                }
            }
            Ev::Closed { conn, to_side } => {
                let end = self.conns[conn].ends[to_side];
                if !end.open || self.nodes[end.node].status != Status::Running {
                    return;
                }
                self.conns[conn].ends[to_side].open = false;
                if let Some(id) = end.id {
                    self.nodes[end.node].node.handle_stream_closed(now, id);
                    self.after(end.node);
                }
            }
            Ev::Refused { node, id } => {
                if self.nodes[node].status != Status::Running {
                    return;
                }
                self.nodes[node].node.handle_stream_closed(now, id);
                self.after(node);
            }
        }
    }

    fn push(&mut self, at: Instant, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Entry {
            at,
            seq: self.seq,
            ev,
        }));
    }

    fn delay(&mut self) -> Duration {
        self.cfg.latency + self.rng.stagger(self.cfg.jitter)
    }

    /// The time TCP loses to retransmissions when a segment meets the datagram loss rate:
    /// each loss costs the retransmission timeout, doubling each time (Linux: 1 s for a SYN,
    /// at least 200 ms for data).
    fn tcp_retransmits(&mut self, rto: Duration) -> Duration {
        let mut extra = Duration::ZERO;
        let mut rto = rto;
        for _ in 0..6 {
            if !self.lost() {
                break;
            }
            extra += rto;
            rto *= 2;
        }
        extra
    }

    fn lost(&mut self) -> bool {
        self.cfg.loss > 0.0 && (self.rng.next_u64() as f64 / u64::MAX as f64) < self.cfg.loss
    }

    /// Drains node `i`'s outputs and events and registers its next wake-up.
    fn after(&mut self, i: usize) {
        if self.nodes[i].status != Status::Running {
            return;
        }
        while let Some(out) = self.nodes[i].node.poll_output() {
            self.output(i, out);
        }
        while let Some(ev) = self.nodes[i].node.poll_event() {
            if let Some(f) = &mut self.observer {
                f(self.now - self.start, i, &ev);
            }
        }
        if let Some(t) = self.nodes[i].node.poll_timeout() {
            let t = t.max(self.now);
            if self.nodes[i].scheduled != Some(t) {
                self.nodes[i].scheduled = Some(t);
                self.push(t, Ev::Timer { node: i });
            }
        }
    }

    fn output(&mut self, i: usize, out: Output) {
        let now = self.now;
        match out {
            Output::Packet { to, bytes } => {
                self.nodes[i].bytes_sent += bytes.len() as u64;
                self.nodes[i].packets_sent += 1;
                let Some(&j) = self.by_addr.get(&to) else {
                    return;
                };
                if self.lost() || self.group[i] != self.group[j] {
                    return;
                }
                let at = now + self.delay();
                self.push(
                    at,
                    Ev::Packet {
                        to: j,
                        from: Self::addr(i),
                        bytes,
                    },
                );
            }
            Output::StreamConnect { id, to, .. } => {
                let latency = self.delay();
                let Some(&j) = self.by_addr.get(&to) else {
                    self.push(now + latency, Ev::Refused { node: i, id });
                    return;
                };
                if self.nodes[j].status == Status::Crashed {
                    self.push(now + 2 * latency, Ev::Refused { node: i, id });
                    return;
                }
                // SYN and SYN-ACK may each be lost.
                let setup = latency
                    + self.tcp_retransmits(Duration::from_secs(1))
                    + self.tcp_retransmits(Duration::from_secs(1));
                let conn = self.conns.len();
                self.conns.push(Conn {
                    ends: [
                        End {
                            node: i,
                            id: Some(id),
                            open: true,
                        },
                        End {
                            node: j,
                            id: None,
                            open: true,
                        },
                    ],
                    latency,
                    pending: Vec::new(),
                    last: [now + setup; 2],
                });
                self.conn_of.insert((i, id), (conn, 0));
                self.push(now + setup, Ev::Accept { conn });
            }
            Output::StreamSend { id, bytes } => {
                self.nodes[i].bytes_sent += bytes.len() as u64;
                let Some(&(conn, side)) = self.conn_of.get(&(i, id)) else {
                    return;
                };
                let latency =
                    self.conns[conn].latency + self.tcp_retransmits(Duration::from_millis(200));
                let at = (now + latency).max(self.conns[conn].last[1 - side]);
                self.conns[conn].last[1 - side] = at;
                self.push(
                    at,
                    Ev::Data {
                        conn,
                        to_side: 1 - side,
                        bytes,
                    },
                );
            }
            Output::StreamClose { id } => {
                let Some((conn, side)) = self.conn_of.remove(&(i, id)) else {
                    return;
                };
                self.conns[conn].ends[side].open = false;
                let latency = self.conns[conn].latency;
                let at = (now + latency).max(self.conns[conn].last[1 - side]);
                self.push(
                    at,
                    Ev::Closed {
                        conn,
                        to_side: 1 - side,
                    },
                );
            }
        }
    }
}
