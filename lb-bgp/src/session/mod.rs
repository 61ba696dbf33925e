//! The sans-IO BGP session: the RFC 4271 §8 state machine and the route advertiser.
//!
//! A [`Session`] owns no socket and reads no clock. The driver feeds it inputs — [`Session::start`],
//! [`Session::connected`], [`Session::received`] (raw stream octets), [`Session::closed`],
//! [`Session::handle_timeout`] — each with the current `Instant`, then drains
//! [`Session::poll_action`] (connect, send, close, state changes, routes received) and sleeps
//! until [`Session::next_deadline`].
//!
//! The driver's side of the contract:
//!
//! - It names each TCP connection with a [`ConnId`] of its choosing and reports it with
//!   [`Session::connected`]: [`Direction::Outbound`] after an [`Action::Connect`] (one attempt at
//!   a time; a new `Connect` replaces an attempt still under way), [`Direction::Inbound`] for a
//!   connection its listener accepted from the peer's address. The session holds at most one
//!   connection per direction, two during collision detection (RFC 4271 §6.8).
//! - [`Action::Send`] octets are written in order; [`Action::Close`] closes after writing what
//!   was queued, and the session forgets the connection at once.
//! - A read error, EOF or reset is [`Session::closed`]; a failed connect is
//!   [`Session::connect_failed`].
//!
//! The caller declares the routes it wants the peer to have ([`Session::set_routes`],
//! [`Session::announce`], [`Session::withdraw`]); the session sends only the difference once
//! Established, packing many prefixes per UPDATE, with End-of-RIB after the initial dump and a
//! full resend whenever the session comes back. The UPDATEs are built in
//! [`Session::poll_action`], so route changes made between two polls share messages.
//!
//! Errors never panic: every malformed input gets its RFC reaction (a NOTIFICATION and a
//! close, or RFC 7606 treat-as-withdraw), and every table is bounded (received prefixes by
//! [`PeerConfig::max_received_prefixes`]).

mod advertiser;
mod config;
mod hash;
mod rng;
mod route;
mod types;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ipnet::IpNet;

pub use config::{GracefulRestart, PeerConfig};
pub use route::{ReceivedAttributes, Route, RouteAttributes};
pub use types::{
    Action, ConnId, Direction, DownReason, Event, MessageCounts, Negotiated, PeerStats, State,
};

use advertiser::{Advertiser, Drain, Env};
use hash::PrefixMap;
use rng::Rng;

use crate::wire::capability::GracefulRestartFamily;
use crate::wire::header::{HEADER_LEN, MessageType, frame};
use crate::wire::{
    Afi, AttributeValue, Capability, CeaseSubcode, Confederation, Context, Message, MessageRef,
    MpNextHop, Notification, Open, OpenMessage, RefreshSubtype, RouteRefresh, Safi, UpdateMessage,
};

/// The hold timer while waiting for the peer's OPEN (RFC 4271 §8.2.2: "a large value", 4
/// minutes suggested).
pub const LARGE_HOLD_TIME: Duration = Duration::from_secs(240);

/// The longest any timer is set for; keeps `Instant` arithmetic from overflowing.
const MAX_DELAY: Duration = Duration::from_secs(86_400);

/// Where a connection stands in the per-connection part of the FSM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    OpenSent,
    OpenConfirm,
    Established,
}

/// One TCP connection and its side of the FSM.
#[derive(Debug)]
struct Conn {
    id: ConnId,
    direction: Direction,
    local: SocketAddr,
    remote: SocketAddr,
    phase: Phase,
    /// Octets of an incomplete message.
    rx: Vec<u8>,
    peer_open: Option<Open>,
    ctx_rx: Context,
    ctx_tx: Context,
    hold: Duration,
    hold_deadline: Option<Instant>,
    keepalive: Duration,
    keepalive_deadline: Option<Instant>,
    ipv4: bool,
    ipv6: bool,
    /// The peer sent the multiprotocol capability for IPv4 unicast (so IPv4 may go in
    /// MP_REACH_NLRI).
    mp_ipv4: bool,
}

/// An output waiting for [`Session::poll_action`]; sends to the same connection are coalesced.
#[derive(Debug)]
enum Out {
    Send(ConnId, Vec<u8>),
    Action(Action),
}

fn later(now: Instant, d: Duration) -> Instant {
    let d = d.min(MAX_DELAY);
    now.checked_add(d).unwrap_or(now)
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// One BGP peer: the state machine, its connections, the routes to advertise and the routes
/// received.
#[derive(Debug)]
pub struct Session {
    config: PeerConfig,
    rng: Rng,
    state: State,
    local_open: Open,
    /// ManualStart given and no ManualStop since.
    running: bool,
    /// Held down from outside ([`Session::hold_down`], BFD Down): Idle, no connections, until
    /// [`Session::release`].
    held: bool,
    /// An outbound connection attempt is under way.
    connecting: bool,
    connect_retry_deadline: Option<Instant>,
    /// The automatic restart after an error (Idle until then).
    idle_hold_deadline: Option<Instant>,
    retry_count: u32,
    conns: Vec<Conn>,
    out: VecDeque<Out>,
    negotiated: Option<Negotiated>,
    established_since: Option<Instant>,
    established_count: u64,
    sent: MessageCounts,
    received: MessageCounts,
    last_error: Option<DownReason>,
    adv: Advertiser,
    rib_in: PrefixMap<Arc<ReceivedAttributes>>,
}

fn count(c: &mut MessageCounts, kind: MessageType) {
    let n = match kind {
        MessageType::Open => &mut c.open,
        MessageType::Update => &mut c.update,
        MessageType::Notification => &mut c.notification,
        MessageType::Keepalive => &mut c.keepalive,
        MessageType::RouteRefresh => &mut c.route_refresh,
    };
    *n += 1;
}

fn fsm_error(phase: Phase) -> Notification {
    let subcode = match phase {
        Phase::OpenSent => 1,
        Phase::OpenConfirm => 2,
        Phase::Established => 3,
    };
    Notification {
        code: 5,
        subcode,
        data: vec![],
    }
}

fn cease(subcode: CeaseSubcode) -> Notification {
    Notification {
        code: 6,
        subcode: subcode.into(),
        data: vec![],
    }
}

impl Session {
    /// A session in Idle. `seed` fixes the connect-retry jitter.
    pub fn new(config: PeerConfig, seed: u64, now: Instant) -> Self {
        let _ = now;
        let local_open = local_open(&config);
        Session {
            config,
            rng: Rng::new(seed),
            state: State::Idle,
            local_open,
            running: false,
            held: false,
            connecting: false,
            connect_retry_deadline: None,
            idle_hold_deadline: None,
            retry_count: 0,
            conns: Vec::new(),
            out: VecDeque::new(),
            negotiated: None,
            established_since: None,
            established_count: 0,
            sent: MessageCounts::default(),
            received: MessageCounts::default(),
            last_error: None,
            adv: Advertiser::default(),
            rib_in: PrefixMap::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// The OPEN this session sends.
    pub fn local_open(&self) -> &Open {
        &self.local_open
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    // ----- inputs -----

    /// ManualStart: connect (or, passive, wait for the peer). Does nothing when started.
    pub fn start(&mut self, now: Instant) {
        if self.running {
            return;
        }
        self.running = true;
        self.idle_hold_deadline = None;
        let event = if self.config.passive {
            Event::ManualStart_with_PassiveTcpEstablishment
        } else {
            if !self.held {
                self.begin_connect(now);
            }
            Event::ManualStart
        };
        self.update_state(event);
    }

    /// ManualStop: send Cease / Administrative Shutdown with `message` (RFC 9003, may be
    /// empty) on every connection, close them, and stay Idle until [`Session::start`].
    pub fn stop(&mut self, now: Instant, message: &str) {
        let _ = now;
        let notification = Notification::shutdown(CeaseSubcode::AdministrativeShutdown, message);
        let was_established = self.conns.iter().any(|c| c.phase == Phase::Established);
        for c in std::mem::take(&mut self.conns) {
            self.send_message(
                c.id,
                &c.ctx_tx,
                &Message::Notification(notification.clone()),
            );
            self.out
                .push_back(Out::Action(Action::Close { conn: c.id }));
        }
        if was_established {
            self.went_down(DownReason::AdminShutdown);
        }
        if self.running || was_established {
            self.last_error = Some(DownReason::AdminShutdown);
        }
        self.running = false;
        self.connecting = false;
        self.connect_retry_deadline = None;
        self.idle_hold_deadline = None;
        self.update_state(Event::ManualStop);
    }

    /// AutomaticStop (RFC 4271 Event 8) on behalf of a liveness check outside BGP, such as a
    /// BFD session that went Down: NOTIFICATION Cease / BFD Down (RFC 9384) on every
    /// connection, close them (the routes advertised go with the session), and stay Idle,
    /// making no connection and refusing the peer's, until [`Session::release`]. Unlike
    /// [`Session::stop`] it does not undo a ManualStart: release reconnects. Does nothing when
    /// already held down.
    pub fn hold_down(&mut self, now: Instant) {
        let _ = now;
        if self.held {
            return;
        }
        self.held = true;
        let notification = cease(CeaseSubcode::BfdDown);
        let was_established = self.conns.iter().any(|c| c.phase == Phase::Established);
        for c in std::mem::take(&mut self.conns) {
            self.send_message(
                c.id,
                &c.ctx_tx,
                &Message::Notification(notification.clone()),
            );
            self.out
                .push_back(Out::Action(Action::Close { conn: c.id }));
        }
        if was_established {
            self.went_down(DownReason::NotificationSent(notification.clone()));
        }
        if self.running || was_established {
            self.last_error = Some(DownReason::NotificationSent(notification));
        }
        self.connecting = false;
        self.connect_retry_deadline = None;
        self.idle_hold_deadline = None;
        self.update_state(Event::AutomaticStop);
    }

    /// Ends a [`Session::hold_down`]: a started, active session connects at once
    /// (AutomaticStart); a passive one accepts the peer's connection again.
    pub fn release(&mut self, now: Instant) {
        if !std::mem::take(&mut self.held) {
            return;
        }
        if self.running && !self.config.passive {
            self.begin_connect(now);
        }
        self.update_state(Event::AutomaticStart);
    }

    /// Whether the session is held down ([`Session::hold_down`]).
    pub fn is_held_down(&self) -> bool {
        self.held
    }

    /// A TCP connection is up: ours after [`Action::Connect`], or one the peer opened to our
    /// listener. `local` is our address on it (the default next hop). A connection the session
    /// does not want is answered with [`Action::Close`].
    pub fn connected(
        &mut self,
        conn: ConnId,
        local: SocketAddr,
        remote: SocketAddr,
        direction: Direction,
        now: Instant,
    ) {
        if self.conns.iter().any(|c| c.id == conn) {
            return;
        }
        let refuse = !self.running
            || self.held
            || (direction == Direction::Outbound && !self.connecting)
            || self
                .conns
                .iter()
                .any(|c| c.direction == direction && c.phase == Phase::Established);
        if refuse {
            self.out.push_back(Out::Action(Action::Close { conn }));
            return;
        }
        // A newer connection in the same direction replaces one that never got established
        // (the peer restarted, or our retry timer fired).
        if let Some(i) = self.conns.iter().position(|c| c.direction == direction) {
            let old = self.conns.remove(i);
            self.out
                .push_back(Out::Action(Action::Close { conn: old.id }));
        }
        let event = match direction {
            Direction::Outbound => {
                self.connecting = false;
                self.connect_retry_deadline = None;
                Event::Tcp_CR_Acked
            }
            Direction::Inbound => Event::TcpConnectionConfirmed,
        };
        // An inbound connection during the automatic-restart delay restarts at once.
        self.idle_hold_deadline = None;
        let c = Conn {
            id: conn,
            direction,
            local,
            remote,
            phase: Phase::OpenSent,
            rx: Vec::new(),
            peer_open: None,
            ctx_rx: Context::default(),
            ctx_tx: Context::default(),
            hold: LARGE_HOLD_TIME,
            hold_deadline: Some(later(now, LARGE_HOLD_TIME)),
            keepalive: Duration::ZERO,
            keepalive_deadline: None,
            ipv4: false,
            ipv6: false,
            mp_ipv4: false,
        };
        let ctx = c.ctx_tx;
        self.conns.push(c);
        self.send_message(conn, &ctx, &Message::Open(self.local_open.clone()));
        self.update_state(event);
    }

    /// Our outbound connection attempt failed.
    pub fn connect_failed(&mut self, now: Instant) {
        if !self.connecting {
            return;
        }
        self.connecting = false;
        self.retry_count = self.retry_count.saturating_add(1);
        self.connect_retry_deadline = Some(later(now, self.backoff()));
        self.update_state(Event::TcpConnectionFails);
    }

    /// Octets read from a connection, in stream order, any split.
    pub fn received(&mut self, conn: ConnId, bytes: &[u8], now: Instant) {
        let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) else {
            return;
        };
        let mut buf = std::mem::take(&mut c.rx);
        if buf.is_empty() {
            if let Some(used) = self.process(conn, bytes, now) {
                buf.extend_from_slice(&bytes[used..]);
            }
        } else {
            buf.extend_from_slice(bytes);
            match self.process(conn, &buf, now) {
                Some(used) => {
                    buf.drain(..used);
                }
                None => buf.clear(),
            }
        }
        if let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) {
            c.rx = buf;
        }
    }

    /// The connection was closed by the peer or failed.
    pub fn closed(&mut self, conn: ConnId, now: Instant) {
        let Some(c) = self.conns.iter().find(|c| c.id == conn) else {
            return;
        };
        let to_active = c.phase == Phase::OpenSent;
        self.drop_conn(
            conn,
            None,
            DownReason::ConnectionClosed,
            Event::TcpConnectionFails,
            to_active,
            now,
        );
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.idle_hold_deadline.is_some_and(|d| d <= now) {
            self.idle_hold_deadline = None;
            if self.running && !self.held && self.conns.is_empty() && !self.config.passive {
                self.begin_connect(now);
            }
            self.update_state(Event::AutomaticStart);
        }
        if self.connect_retry_deadline.is_some_and(|d| d <= now) {
            self.connect_retry_deadline = None;
            if self.running && !self.held && self.conns.is_empty() && !self.config.passive {
                self.begin_connect(now);
                self.update_state(Event::ConnectRetryTimer_Expires);
            }
        }
        let expired: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|c| c.hold_deadline.is_some_and(|d| d <= now))
            .map(|c| c.id)
            .collect();
        for id in expired {
            let n = Notification {
                code: 4,
                subcode: 0,
                data: vec![],
            };
            self.drop_conn(
                id,
                Some(n),
                DownReason::HoldTimerExpired,
                Event::HoldTimer_Expires,
                false,
                now,
            );
        }
        let due: Vec<(ConnId, Context)> = self
            .conns
            .iter_mut()
            .filter(|c| c.keepalive_deadline.is_some_and(|d| d <= now))
            .map(|c| {
                c.keepalive_deadline = Some(later(now, c.keepalive));
                (c.id, c.ctx_tx)
            })
            .collect();
        for (id, ctx) in due {
            tracing::trace!(conn = id.0, event = ?Event::KeepaliveTimer_Expires, "sending KEEPALIVE");
            self.send_message(id, &ctx, &Message::Keepalive);
        }
        if let Drain::Draining(d) = self.adv.drain()
            && d <= now
        {
            self.adv.set_drain(Drain::Done);
            self.out.push_back(Out::Action(Action::DrainComplete));
        }
    }

    /// The earliest time [`Session::handle_timeout`] has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let drain = match self.adv.drain() {
            Drain::Draining(d) => Some(d),
            _ => None,
        };
        self.conns
            .iter()
            .flat_map(|c| [c.hold_deadline, c.keepalive_deadline])
            .chain([self.idle_hold_deadline, self.connect_retry_deadline, drain])
            .flatten()
            .min()
    }

    /// The next thing for the driver to do. UPDATEs for route changes are built here, so many
    /// [`Session::announce`] calls between two polls share UPDATEs.
    pub fn poll_action(&mut self) -> Option<Action> {
        if self.out.is_empty() {
            self.flush_routes();
        }
        self.out.pop_front().map(|o| match o {
            Out::Send(conn, bytes) => Action::Send {
                conn,
                bytes: Bytes::from(bytes),
            },
            Out::Action(a) => a,
        })
    }

    // ----- observation -----

    /// What the OPENs agreed, while Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Counters and state.
    pub fn stats(&self) -> PeerStats {
        PeerStats {
            state: self.state,
            established_since: self.established_since,
            established_count: self.established_count,
            messages_sent: self.sent,
            messages_received: self.received,
            prefixes_sent: self.adv.sent_len(),
            prefixes_received: self.rib_in.len(),
            prefixes_desired: self.adv.desired_len(),
            connect_retry_count: self.retry_count,
            last_error: self.last_error.clone(),
        }
    }

    /// The routes the peer announced (Adj-RIB-In), for observation; cleared when the session
    /// goes down.
    pub fn received_routes(&self) -> impl Iterator<Item = (IpNet, &ReceivedAttributes)> {
        self.rib_in.iter().map(|(p, a)| (*p, &**a))
    }

    // ----- the advertiser -----

    /// Replaces the set of routes the peer should have.
    pub fn set_routes(&mut self, routes: impl IntoIterator<Item = Route>, now: Instant) {
        let _ = now;
        self.adv.set_routes(routes);
    }

    /// Adds or changes one route.
    pub fn announce(&mut self, route: Route, now: Instant) {
        let _ = now;
        self.adv.announce(route);
    }

    /// Removes one route.
    pub fn withdraw(&mut self, prefix: IpNet, now: Instant) {
        let _ = now;
        self.adv.withdraw(prefix);
    }

    /// The routes the caller wants advertised.
    pub fn routes(&self) -> impl Iterator<Item = Route> + '_ {
        self.adv.routes()
    }

    /// Planned drain (RFC 8326): re-advertise every route with the GRACEFUL_SHUTDOWN community
    /// (and LOCAL_PREF 0 on iBGP), then withdraw them all once `delay` has passed
    /// ([`Action::DrainComplete`]). Routes stay withdrawn until [`Session::cancel_drain`].
    pub fn drain(&mut self, delay: Duration, now: Instant) {
        self.adv.set_drain(Drain::Draining(later(now, delay)));
    }

    /// Ends a drain: routes are advertised normally again.
    pub fn cancel_drain(&mut self, now: Instant) {
        let _ = now;
        if self.adv.drain() != Drain::Off {
            self.adv.set_drain(Drain::Off);
        }
    }

    /// Whether a drain is under way or done (and not cancelled).
    pub fn is_draining(&self) -> bool {
        self.adv.drain() != Drain::Off
    }

    /// Asks the peer to send its routes of a family again (ROUTE-REFRESH), if the session is
    /// Established and the peer supports it.
    pub fn request_refresh(&mut self, afi: Afi, safi: Safi, now: Instant) {
        let _ = now;
        let Some(n) = &self.negotiated else {
            return;
        };
        if !n.route_refresh {
            return;
        }
        let conn = n.conn;
        let Some(ctx) = self.conns.iter().find(|c| c.id == conn).map(|c| c.ctx_tx) else {
            return;
        };
        let m = Message::RouteRefresh(RouteRefresh::new(afi, safi, RefreshSubtype::Request));
        self.send_message(conn, &ctx, &m);
    }

    // ----- internals -----

    /// The connect-retry delay after `retry_count` failures: the configured first delay,
    /// doubled per further failure up to the maximum, times a uniform 0.75..=1.0.
    fn backoff(&mut self) -> Duration {
        let base = self.config.connect_retry.min(MAX_DELAY);
        let max = self.config.connect_retry_max.min(MAX_DELAY).max(base);
        let exp = self.retry_count.saturating_sub(1).min(20);
        let d = base.saturating_mul(1 << exp).min(max);
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(ns - ns / 4 + self.rng.below(ns / 4 + 1))
    }

    fn begin_connect(&mut self, now: Instant) {
        self.connecting = true;
        self.out.push_back(Out::Action(Action::Connect));
        self.connect_retry_deadline = Some(later(now, self.backoff()));
    }

    fn compute_state(&self) -> State {
        match self.conns.iter().map(|c| c.phase).max() {
            Some(Phase::Established) => State::Established,
            Some(Phase::OpenConfirm) => State::OpenConfirm,
            Some(Phase::OpenSent) => State::OpenSent,
            None if !self.running || self.held || self.idle_hold_deadline.is_some() => State::Idle,
            None if self.connecting => State::Connect,
            None => State::Active,
        }
    }

    fn update_state(&mut self, event: Event) {
        let to = self.compute_state();
        let from = self.state;
        if to != from {
            tracing::info!(
                local_as = self.config.local_as,
                peer_as = self.config.peer_as,
                %from,
                %to,
                ?event,
                "BGP state change"
            );
            self.state = to;
            self.out
                .push_back(Out::Action(Action::StateChanged { from, to, event }));
        } else {
            tracing::debug!(peer_as = self.config.peer_as, state = %to, ?event, "BGP event");
        }
    }

    fn push_send(&mut self, conn: ConnId, bytes: &[u8]) {
        if let Some(Out::Send(c, v)) = self.out.back_mut()
            && *c == conn
            && v.len() < 1 << 16
        {
            v.extend_from_slice(bytes);
            return;
        }
        self.out.push_back(Out::Send(conn, bytes.to_vec()));
    }

    fn send_message(&mut self, conn: ConnId, ctx: &Context, m: &Message) {
        let mut buf = Vec::new();
        if m.encode(ctx, &mut buf).is_ok() {
            if let Some(&t) = buf.get(18)
                && let Ok(kind) = MessageType::from_u8(t)
            {
                count(&mut self.sent, kind);
            }
            self.push_send(conn, &buf);
        }
    }

    /// The session left Established.
    fn went_down(&mut self, reason: DownReason) {
        tracing::warn!(peer_as = self.config.peer_as, %reason, "BGP session down");
        self.adv.session_down();
        self.rib_in = PrefixMap::default();
        self.negotiated = None;
        self.established_since = None;
        self.out.push_back(Out::Action(Action::Down { reason }));
    }

    /// Closes a connection, after sending `notification` if given. With no connection left,
    /// the session falls back to Active (`to_active`, a TCP failure before the OPEN exchange)
    /// with the connect-retry timer, or to Idle with the automatic restart, both after the
    /// backoff delay.
    fn drop_conn(
        &mut self,
        id: ConnId,
        notification: Option<Notification>,
        reason: DownReason,
        event: Event,
        to_active: bool,
        now: Instant,
    ) {
        let Some(i) = self.conns.iter().position(|c| c.id == id) else {
            return;
        };
        let c = self.conns.remove(i);
        if let Some(n) = &notification {
            self.send_message(id, &c.ctx_tx, &Message::Notification(n.clone()));
        }
        self.out.push_back(Out::Action(Action::Close { conn: id }));
        tracing::debug!(conn = id.0, ?event, %reason, "closing connection");
        if c.phase == Phase::Established {
            self.went_down(reason.clone());
        }
        self.last_error = Some(reason);
        if self.conns.is_empty() && self.running {
            self.retry_count = self.retry_count.saturating_add(1);
            let delay = self.backoff();
            if to_active {
                if !self.config.passive && !self.connecting {
                    self.connect_retry_deadline = Some(later(now, delay));
                }
            } else {
                self.connecting = false;
                self.connect_retry_deadline = None;
                self.idle_hold_deadline = Some(later(now, delay));
            }
        }
        self.update_state(event);
    }

    /// Frames and handles the messages in `data`; returns the octets used, or `None` when the
    /// connection was closed.
    fn process(&mut self, conn: ConnId, data: &[u8], now: Instant) -> Option<usize> {
        let mut at = 0;
        loop {
            let max = self
                .conns
                .iter()
                .find(|c| c.id == conn)?
                .ctx_rx
                .max_message_len();
            let rest = data.get(at..)?;
            match frame(rest, max) {
                Ok(None) => return Some(at),
                Ok(Some((_, len))) => {
                    if !self.handle_message(conn, &rest[..len], now) {
                        return None;
                    }
                    at += len;
                }
                Err(e) => {
                    let n =
                        Notification::from_error(&e).unwrap_or_else(|| fsm_error(Phase::OpenSent));
                    self.drop_conn(
                        conn,
                        Some(n.clone()),
                        DownReason::NotificationSent(n),
                        Event::BGPHeaderErr,
                        false,
                        now,
                    );
                    return None;
                }
            }
        }
    }

    /// Handles one framed message; false when the connection was closed.
    fn handle_message(&mut self, conn: ConnId, bytes: &[u8], now: Instant) -> bool {
        let Some(c) = self.conns.iter().find(|c| c.id == conn) else {
            return false;
        };
        let (phase, ctx) = (c.phase, c.ctx_rx);
        let kind = bytes.get(HEADER_LEN - 1).copied().unwrap_or(0);
        let msg = match MessageRef::parse(bytes, &ctx) {
            Ok(m) => m,
            Err(e) => {
                let event = match kind {
                    1 => Event::BGPOpenMsgErr,
                    2 => Event::UpdateMsgErr,
                    _ => Event::BGPHeaderErr,
                };
                if let Ok(k) = MessageType::from_u8(kind) {
                    count(&mut self.received, k);
                }
                let n =
                    Notification::from_message_error(&e, bytes).unwrap_or_else(|| fsm_error(phase));
                self.drop_conn(
                    conn,
                    Some(n.clone()),
                    DownReason::NotificationSent(n),
                    event,
                    false,
                    now,
                );
                return false;
            }
        };
        if let Ok(k) = MessageType::from_u8(kind) {
            count(&mut self.received, k);
        }
        match (msg, phase) {
            (MessageRef::Notification(n), _) => {
                let event = if (n.code, n.subcode) == (2, 1) {
                    Event::NotifMsgVerErr
                } else {
                    Event::NotifMsg
                };
                self.drop_conn(
                    conn,
                    None,
                    DownReason::NotificationReceived(Notification::from(&n)),
                    event,
                    false,
                    now,
                );
                false
            }
            (MessageRef::Open(o), Phase::OpenSent) => self.handle_open(conn, &o, now),
            (MessageRef::Keepalive, Phase::OpenConfirm) => {
                self.establish(conn, now);
                true
            }
            (MessageRef::Keepalive, Phase::Established) => {
                self.restart_hold(conn, now);
                true
            }
            (MessageRef::Update(u), Phase::Established) => {
                self.restart_hold(conn, now);
                self.handle_update(conn, &u, now)
            }
            (MessageRef::RouteRefresh(r), Phase::Established) => {
                self.restart_hold(conn, now);
                let ours = self.config.route_refresh;
                let family = match (r.afi, r.safi) {
                    (Afi::IPV4, Safi::UNICAST) => Some(false),
                    (Afi::IPV6, Safi::UNICAST) => Some(true),
                    _ => None,
                };
                if ours && r.subtype == RefreshSubtype::Request {
                    if let Some(v6) = family {
                        self.adv.refresh(v6);
                    }
                    self.out
                        .push_back(Out::Action(Action::RouteRefreshRequested {
                            afi: r.afi,
                            safi: r.safi,
                        }));
                }
                true
            }
            (_, phase) => {
                let n = fsm_error(phase);
                let event = match kind {
                    1 => Event::BGPOpen,
                    2 => Event::UpdateMsg,
                    4 => Event::KeepAliveMsg,
                    _ => Event::BGPHeaderErr,
                };
                self.drop_conn(
                    conn,
                    Some(n.clone()),
                    DownReason::NotificationSent(n),
                    event,
                    false,
                    now,
                );
                false
            }
        }
    }

    fn restart_hold(&mut self, conn: ConnId, now: Instant) {
        if let Some(c) = self.conns.iter_mut().find(|c| c.id == conn)
            && !c.hold.is_zero()
        {
            c.hold_deadline = Some(later(now, c.hold));
        }
    }

    /// Checks the peer's OPEN against our configuration; the NOTIFICATION to send if it fails.
    fn check_open(&self, o: &OpenMessage<'_>) -> Result<(bool, bool, bool), Notification> {
        let open_error = |subcode: u8, data: Vec<u8>| Notification {
            code: 2,
            subcode,
            data,
        };
        if o.asn() != self.config.peer_as {
            return Err(open_error(2, o.my_as.to_be_bytes().to_vec()));
        }
        if self.config.is_ibgp() && o.bgp_id == self.config.router_id {
            return Err(open_error(3, vec![]));
        }
        let caps: Vec<Capability> = o.capabilities().collect();
        let has_4oct = caps.iter().any(|c| matches!(c, Capability::FourOctetAs(_)));
        if self.config.local_as > 0xffff && !has_4oct {
            // We do not build AS4_PATH for 2-octet speakers.
            let mut data = Vec::new();
            let _ = Capability::FourOctetAs(self.config.local_as).encode(&mut data);
            return Err(open_error(7, data));
        }
        let mp: Vec<(Afi, Safi)> = caps
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol { afi, safi } => Some((*afi, *safi)),
                _ => None,
            })
            .collect();
        // RFC 4760 §8: a speaker without the capability does IPv4 unicast only.
        let v4 =
            self.config.ipv4_unicast && (mp.is_empty() || mp.contains(&(Afi::IPV4, Safi::UNICAST)));
        let v6 = self.config.ipv6_unicast && mp.contains(&(Afi::IPV6, Safi::UNICAST));
        if !v4 && !v6 {
            let mut data = Vec::new();
            for c in self.local_open.capabilities() {
                if matches!(c, Capability::Multiprotocol { .. }) {
                    let _ = c.encode(&mut data);
                }
            }
            return Err(open_error(7, data));
        }
        Ok((v4, v6, mp.contains(&(Afi::IPV4, Safi::UNICAST))))
    }

    fn handle_open(&mut self, conn: ConnId, o: &OpenMessage<'_>, now: Instant) -> bool {
        let (v4, v6, mp_v4) = match self.check_open(o) {
            Ok(f) => f,
            Err(n) => {
                self.drop_conn(
                    conn,
                    Some(n.clone()),
                    DownReason::NotificationSent(n),
                    Event::BGPOpenMsgErr,
                    false,
                    now,
                );
                return false;
            }
        };
        // Collision detection (RFC 4271 §6.8) against a connection whose OPEN we have.
        let Some(this_dir) = self
            .conns
            .iter()
            .find(|c| c.id == conn)
            .map(|c| c.direction)
        else {
            return false;
        };
        if let Some(other) = self
            .conns
            .iter()
            .find(|c| c.id != conn && c.phase >= Phase::OpenConfirm)
        {
            let other_id = other.id;
            let loser = if other.phase == Phase::Established {
                conn
            } else {
                // The connection opened by the speaker with the higher Identifier survives.
                let keep_ours = u32::from(self.config.router_id) > u32::from(o.bgp_id);
                let loser_dir = if keep_ours {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                };
                if this_dir == loser_dir {
                    conn
                } else {
                    other_id
                }
            };
            let n = cease(CeaseSubcode::ConnectionCollisionResolution);
            self.drop_conn(
                loser,
                Some(n.clone()),
                DownReason::NotificationSent(n),
                Event::OpenCollisionDump,
                false,
                now,
            );
            if loser == conn {
                return false;
            }
        }
        let open = Open::from(o);
        let ours = self.config.hold_time;
        let hold = ours.min(o.hold_time);
        let hold = if hold == 0 { 0 } else { hold.max(3) };
        let keepalive = match hold {
            0 => 0,
            h => self.config.keepalive.unwrap_or(h / 3).clamp(1, h / 3),
        };
        let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) else {
            return false;
        };
        // This speaker joins no confederation (it never writes AS_CONFED segments), so a
        // peer with another ASN is external.
        c.ctx_rx = Context::for_receiving(&self.local_open, &open, Confederation::Outside);
        c.ctx_tx = Context::for_sending(&self.local_open, &open, Confederation::Outside);
        c.peer_open = Some(open);
        c.phase = Phase::OpenConfirm;
        c.hold = Duration::from_secs(hold.into());
        c.keepalive = Duration::from_secs(keepalive.into());
        c.hold_deadline = (hold != 0).then(|| later(now, c.hold));
        c.keepalive_deadline = (keepalive != 0).then(|| later(now, c.keepalive));
        c.ipv4 = v4;
        c.ipv6 = v6;
        c.mp_ipv4 = mp_v4;
        let ctx = c.ctx_tx;
        self.send_message(conn, &ctx, &Message::Keepalive);
        self.update_state(Event::BGPOpen);
        true
    }

    fn establish(&mut self, conn: ConnId, now: Instant) {
        let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) else {
            return;
        };
        c.phase = Phase::Established;
        if !c.hold.is_zero() {
            c.hold_deadline = Some(later(now, c.hold));
        }
        let Some(peer) = &c.peer_open else {
            return;
        };
        let caps: Vec<Capability> = peer.capabilities().cloned().collect();
        let n = Negotiated {
            conn,
            direction: c.direction,
            local: c.local,
            remote: c.remote,
            peer_as: peer.asn(),
            peer_id: peer.bgp_id,
            hold_time: c.hold.as_secs() as u16,
            keepalive: c.keepalive.as_secs() as u16,
            four_octet_as: c.ctx_tx.four_octet_as,
            extended_message: c.ctx_tx.extended_message,
            route_refresh: caps.iter().any(|c| matches!(c, Capability::RouteRefresh)),
            ipv4_unicast: c.ipv4,
            ipv6_unicast: c.ipv6,
            peer_graceful_restart: caps.iter().find_map(|c| match c {
                Capability::GracefulRestart { flags, time, .. } => Some((*flags, *time)),
                _ => None,
            }),
            peer_capabilities: caps,
        };
        self.negotiated = Some(n.clone());
        // The Restart State bit belongs to the first session after our restart only.
        if let Some(gr) = &mut self.config.graceful_restart
            && gr.restarting
        {
            gr.restarting = false;
            self.local_open = local_open(&self.config);
        }
        self.established_since = Some(now);
        self.established_count += 1;
        self.retry_count = 0;
        // An outbound attempt still under way is no longer wanted: if it completes, it is
        // closed at once rather than colliding with this session.
        self.connecting = false;
        self.connect_retry_deadline = None;
        self.adv.session_up();
        self.update_state(Event::KeepAliveMsg);
        self.out
            .push_back(Out::Action(Action::Established(Box::new(n))));
    }

    fn handle_update(&mut self, conn: ConnId, u: &UpdateMessage<'_>, now: Instant) -> bool {
        if let Some((afi, safi)) = u.end_of_rib() {
            self.out
                .push_back(Out::Action(Action::EndOfRib { afi, safi }));
            return true;
        }
        let mut withdrawn = 0;
        for n in u.withdrawn_routes() {
            withdrawn += usize::from(self.rib_in.remove(&n.prefix).is_some());
        }
        if let Some(m) = u.mp_unreach()
            && m.safi == Safi::UNICAST
        {
            for n in m.withdrawn() {
                withdrawn += usize::from(self.rib_in.remove(&n.prefix).is_some());
            }
        }
        let mp = u.mp_reach().filter(|m| m.safi == Safi::UNICAST);
        let announced = u.nlri().chain(mp.iter().flat_map(|m| m.nlri()));
        let mut count_announced = 0;
        if u.is_treat_as_withdraw() {
            for n in announced {
                withdrawn += usize::from(self.rib_in.remove(&n.prefix).is_some());
            }
        } else {
            let attrs = Arc::new(received_attributes(u));
            for n in announced {
                self.rib_in.insert(n.prefix, attrs.clone());
                count_announced += 1;
            }
        }
        if self.rib_in.len() > self.config.max_received_prefixes {
            let mut n = cease(CeaseSubcode::MaximumPrefixesReached);
            // RFC 4486 §4: AFI, SAFI and the upper bound.
            n.data.extend_from_slice(&[0, 1, 1]);
            n.data.extend_from_slice(
                &u32::try_from(self.config.max_received_prefixes)
                    .unwrap_or(u32::MAX)
                    .to_be_bytes(),
            );
            self.drop_conn(
                conn,
                Some(n.clone()),
                DownReason::NotificationSent(n),
                Event::UpdateMsg,
                false,
                now,
            );
            return false;
        }
        if count_announced + withdrawn > 0 {
            self.out.push_back(Out::Action(Action::RoutesReceived {
                announced: count_announced,
                withdrawn,
            }));
        }
        true
    }

    fn flush_routes(&mut self) {
        if !self.adv.pending() {
            return;
        }
        let Some(c) = self.conns.iter().find(|c| c.phase == Phase::Established) else {
            return;
        };
        let local = c.local.ip().to_canonical();
        let env = Env {
            ctx: c.ctx_tx,
            ibgp: self.config.is_ibgp(),
            local_as: self.config.local_as,
            ipv4: c.ipv4,
            ipv6: c.ipv6,
            ipv4_over_mp: self.config.ipv4_over_mp && c.mp_ipv4,
            next_hop_v4: self.config.next_hop_v4.or(match local {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            }),
            next_hop_v6: self.config.next_hop_v6.or(match local {
                IpAddr::V6(a) if !is_link_local(&a) => Some(a),
                _ => None,
            }),
            link_local_v6: self.config.link_local_v6.or(match local {
                IpAddr::V6(a) if is_link_local(&a) => Some(a),
                _ => None,
            }),
        };
        let id = c.id;
        let mut buf = Vec::new();
        let f = self.adv.flush(&env, &mut buf);
        if !buf.is_empty() {
            self.sent.update += f.updates;
            tracing::debug!(
                peer_as = self.config.peer_as,
                updates = f.updates,
                announced = f.announced,
                withdrawn = f.withdrawn,
                "sending routes"
            );
            self.out.push_back(Out::Send(id, buf));
        }
    }
}

/// The OPEN a configuration sends.
fn local_open(config: &PeerConfig) -> Open {
    let mut caps = Vec::new();
    let mut families = Vec::new();
    if config.ipv4_unicast {
        families.push((Afi::IPV4, Safi::UNICAST));
    }
    if config.ipv6_unicast {
        families.push((Afi::IPV6, Safi::UNICAST));
    }
    for &(afi, safi) in &families {
        caps.push(Capability::Multiprotocol { afi, safi });
    }
    if config.route_refresh {
        caps.push(Capability::RouteRefresh);
    }
    if config.extended_message {
        caps.push(Capability::ExtendedMessage);
    }
    if let Some(gr) = config.graceful_restart {
        caps.push(Capability::GracefulRestart {
            flags: if gr.restarting { 0x8 } else { 0 },
            time: gr.restart_time.min(0x0fff),
            families: families
                .iter()
                .map(|&(afi, safi)| GracefulRestartFamily {
                    afi,
                    safi,
                    flags: if gr.forwarding_preserved { 0x80 } else { 0 },
                })
                .collect(),
        });
    }
    let hold = match config.hold_time {
        1 | 2 => 3,
        h => h,
    };
    Open::new(config.local_as, hold, config.router_id, caps)
}

/// The attributes of a received UPDATE worth observing.
fn received_attributes(u: &UpdateMessage<'_>) -> ReceivedAttributes {
    let mut r = ReceivedAttributes::default();
    for a in u.attributes() {
        match a.value() {
            AttributeValue::Origin(o) => r.origin = Some(o),
            AttributeValue::AsPath(p) => {
                r.as_path = p.segments().flat_map(|s| s.asns()).collect();
            }
            AttributeValue::NextHop(n) => r.next_hop = Some(IpAddr::V4(n)),
            AttributeValue::MultiExitDisc(m) => r.med = Some(m),
            AttributeValue::LocalPref(l) => r.local_pref = Some(l),
            AttributeValue::Communities(c) => r.communities = c.collect(),
            AttributeValue::LargeCommunities(c) => r.large_communities = c.collect(),
            AttributeValue::MpReach(m) => match m.next_hop() {
                Some(MpNextHop::Ipv4(a)) => r.next_hop = Some(IpAddr::V4(a)),
                Some(MpNextHop::Ipv6 { global, link_local }) => {
                    r.next_hop = Some(IpAddr::V6(global));
                    r.link_local_next_hop = link_local;
                }
                None => {}
            },
            _ => {}
        }
    }
    r
}
