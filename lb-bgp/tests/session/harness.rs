//! Virtual-time harnesses: two sessions joined by an in-memory pipe ([`Pair`]), and one session
//! against a scripted peer ([`Scripted`]).

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use lb_bgp::session::{ConnId, Direction, Notice, Output, Session, SessionConfig, State};
use lb_bgp::wire::header::frame;
use lb_bgp::wire::{Capability, Context, Message, MessageRef, Notification, Open};

pub const A_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
pub const B_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
pub const A_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const B_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// The context to decode what a session sent in tests (everything negotiated).
pub fn wide() -> Context {
    Context {
        four_octet_as: true,
        extended_message: true,
        ..Context::default()
    }
}

/// Splits a byte stream into owned messages.
pub fn messages(bytes: &[u8]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Ok(Some((_, len))) = frame(rest, 65535) {
        let m = MessageRef::parse(&rest[..len], &wide()).expect("a valid message");
        out.push(Message::try_from(&m).expect("well-formed prefixes"));
        rest = &rest[len..];
    }
    assert!(rest.is_empty(), "trailing octets");
    out
}

/// Which side of a [`Pair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// Two sessions and the connections between them. Connection ids are the same on both sides.
pub struct Pair {
    pub a: Session,
    pub b: Session,
    pub base: Instant,
    pub now: Instant,
    pub next_id: u64,
    /// Open connections: (id, initiator).
    pub links: Vec<(u64, Side)>,
    /// Every action, with its side and the time.
    pub log: Vec<(Duration, Side, Output)>,
    /// Refuse connections (the peer is down): `Connect` gets `connect_failed`.
    pub refuse_a: bool,
    pub refuse_b: bool,
    /// Frozen sides get no input at all (SIGSTOP).
    pub frozen_b: bool,
    /// The addresses of A and B.
    pub addrs: (SocketAddr, SocketAddr),
}

impl Pair {
    pub fn new(a: SessionConfig, b: SessionConfig) -> Self {
        let base = Instant::now();
        Pair {
            a: Session::new(a, 1, base),
            b: Session::new(b, 2, base),
            base,
            now: base,
            next_id: 1,
            links: Vec::new(),
            log: Vec::new(),
            refuse_a: false,
            refuse_b: false,
            frozen_b: false,
            addrs: (SocketAddr::new(A_IP, 40000), SocketAddr::new(B_IP, 179)),
        }
    }

    /// A (AS 65001, active) and B (AS 65002, passive), eBGP.
    pub fn ebgp() -> Self {
        let a = SessionConfig::new(65001, 65002, A_ID);
        let mut b = SessionConfig::new(65002, 65001, B_ID);
        b.passive = true;
        Pair::new(a, b)
    }

    /// A and B in AS 65000 (iBGP), B passive.
    pub fn ibgp() -> Self {
        let a = SessionConfig::new(65000, 65000, A_ID);
        let mut b = SessionConfig::new(65000, 65000, B_ID);
        b.passive = true;
        Pair::new(a, b)
    }

    pub fn t(&self) -> Duration {
        self.now - self.base
    }

    pub fn start(&mut self) {
        self.a.start(self.now);
        self.b.start(self.now);
        self.pump();
    }

    fn addr(&self, side: Side) -> SocketAddr {
        match side {
            Side::A => self.addrs.0,
            Side::B => self.addrs.1,
        }
    }

    fn session(&mut self, side: Side) -> &mut Session {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    fn other(side: Side) -> Side {
        match side {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    fn frozen(&self, side: Side) -> bool {
        side == Side::B && self.frozen_b
    }

    /// Delivers every action until both sides are quiet, in rounds: what both sides emitted
    /// is collected first, then delivered, as if the two were sending at the same time.
    pub fn pump(&mut self) {
        loop {
            let mut round = Vec::new();
            for side in [Side::A, Side::B] {
                if self.frozen(side) {
                    continue;
                }
                while let Some(action) = self.session(side).poll_output() {
                    round.push((side, action));
                }
            }
            if round.is_empty() {
                break;
            }
            for (side, action) in round {
                self.log.push((self.t(), side, action.clone()));
                self.handle(side, action);
            }
        }
    }

    fn handle(&mut self, side: Side, action: Output) {
        let now = self.now;
        let other = Self::other(side);
        match action {
            Output::Connect => {
                let refused = match side {
                    Side::A => self.refuse_a,
                    Side::B => self.refuse_b,
                } || self.frozen(other);
                if refused {
                    self.session(side).connect_failed(now);
                    return;
                }
                let id = self.next_id;
                self.next_id += 1;
                self.links.push((id, side));
                let (l, r) = (self.addr(side), self.addr(other));
                self.session(side)
                    .connected(now, ConnId(id), l, r, Direction::Outbound);
                self.session(other)
                    .connected(now, ConnId(id), r, l, Direction::Inbound);
            }
            Output::Send { conn, bytes }
                if self.links.iter().any(|l| l.0 == conn.0) && !self.frozen(other) =>
            {
                self.session(other).received(now, conn, &bytes);
            }
            Output::Close { conn } => {
                if let Some(i) = self.links.iter().position(|l| l.0 == conn.0) {
                    self.links.remove(i);
                    if !self.frozen(other) {
                        self.session(other).closed(now, conn);
                    }
                }
            }
            _ => {}
        }
    }

    /// Advances virtual time to `until`, firing every deadline on the way.
    pub fn run_until(&mut self, until: Duration) {
        let end = self.base + until;
        self.pump();
        loop {
            let a = self.a.poll_timeout();
            let b = if self.frozen_b {
                None
            } else {
                self.b.poll_timeout()
            };
            let next = [a, b].into_iter().flatten().min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.a.handle_timeout(self.now);
                    if !self.frozen_b {
                        self.b.handle_timeout(self.now);
                    }
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = end.max(self.now);
    }

    /// Runs for `d` more.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.t() + d;
        self.run_until(until);
    }

    pub fn established(&self) -> bool {
        self.a.state() == State::Established && self.b.state() == State::Established
    }

    /// Actions of one side, in order.
    pub fn actions(&self, side: Side) -> Vec<Output> {
        self.log
            .iter()
            .filter(|(_, s, _)| *s == side)
            .map(|(_, _, a)| a.clone())
            .collect()
    }

    /// State changes of one side: (from, to, event).
    pub fn transitions(&self, side: Side) -> Vec<(State, State, lb_bgp::session::Event)> {
        self.actions(side)
            .into_iter()
            .filter_map(|a| match a {
                Output::Notice(Notice::StateChanged { from, to, event }) => Some((from, to, event)),
                _ => None,
            })
            .collect()
    }

    /// Messages one side sent, in order.
    pub fn sent(&self, side: Side) -> Vec<Message> {
        self.actions(side)
            .into_iter()
            .filter_map(|a| match a {
                Output::Send { bytes, .. } => Some(messages(&bytes)),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The UPDATEs one side sent, in order.
    pub fn updates(&self, side: Side) -> Vec<lb_bgp::wire::Update> {
        self.sent(side)
            .into_iter()
            .filter_map(|m| match m {
                Message::Update(u) => Some(u),
                _ => None,
            })
            .collect()
    }

    /// The sum of announced and withdrawn counts in one side's `RoutesReceived` actions.
    pub fn received_counts(&self, side: Side) -> (usize, usize) {
        self.actions(side).iter().fold((0, 0), |acc, a| match a {
            Output::Notice(Notice::RoutesReceived {
                announced,
                withdrawn,
            }) => (acc.0 + announced, acc.1 + withdrawn),
            _ => acc,
        })
    }

    pub fn clear_log(&mut self) {
        self.log.clear();
    }
}

/// A session and a scripted peer: the test writes the peer's octets and reads the session's.
pub struct Scripted {
    pub s: Session,
    pub base: Instant,
    pub now: Instant,
    pub actions: Vec<Output>,
    pub conn: ConnId,
}

impl Scripted {
    /// A session (AS 65001, router id A_ID) configured by `f`, started, with an inbound
    /// connection from the peer (AS 65002) already accepted.
    pub fn new(f: impl FnOnce(&mut SessionConfig)) -> Self {
        let mut c = SessionConfig::new(65001, 65002, A_ID);
        c.passive = true;
        f(&mut c);
        let base = Instant::now();
        let mut s = Scripted {
            s: Session::new(c, 7, base),
            base,
            now: base,
            actions: Vec::new(),
            conn: ConnId(1),
        };
        s.s.start(base);
        s.s.connected(
            base,
            ConnId(1),
            SocketAddr::new(A_IP, 179),
            SocketAddr::new(B_IP, 50000),
            Direction::Inbound,
        );
        s.drain();
        s
    }

    pub fn drain(&mut self) -> Vec<Output> {
        let mut v = Vec::new();
        while let Some(a) = self.s.poll_output() {
            v.push(a);
        }
        self.actions.extend(v.clone());
        v
    }

    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Output> {
        self.s.received(self.now, self.conn, bytes);
        self.drain()
    }

    pub fn advance(&mut self, d: Duration) -> Vec<Output> {
        self.now += d;
        self.s.handle_timeout(self.now);
        self.drain()
    }

    /// Messages sent in `actions`.
    pub fn sent_in(actions: &[Output]) -> Vec<Message> {
        actions
            .iter()
            .filter_map(|a| match a {
                Output::Send { bytes, .. } => Some(messages(bytes)),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The NOTIFICATION in `actions`, if any.
    pub fn notification(actions: &[Output]) -> Option<Notification> {
        Self::sent_in(actions).into_iter().find_map(|m| match m {
            Message::Notification(n) => Some(n),
            _ => None,
        })
    }

    /// Whether `actions` close the connection.
    pub fn closes(actions: &[Output]) -> bool {
        actions.iter().any(|a| matches!(a, Output::Close { .. }))
    }
}

/// The octets of an OPEN from the scripted peer (AS 65002, B_ID, hold 90, IPv4 + IPv6 unicast,
/// route refresh, 4-octet AS).
pub fn peer_open() -> Open {
    use lb_bgp::wire::{Afi, Safi};
    Open::new(
        65002,
        90,
        B_ID,
        vec![
            Capability::Multiprotocol {
                afi: Afi::IPV4,
                safi: Safi::UNICAST,
            },
            Capability::Multiprotocol {
                afi: Afi::IPV6,
                safi: Safi::UNICAST,
            },
            Capability::RouteRefresh,
        ],
    )
}

pub fn encode(m: &Message) -> Vec<u8> {
    let mut v = Vec::new();
    m.encode(&wide(), &mut v).expect("encodable");
    v
}
