//! The sans-IO BGP session: the RFC 4271 §8 state machine and the route advertiser.
//!
//! A [`Session`] owns no socket and reads no clock. The driver feeds it inputs — [`Session::start`],
//! [`Session::connected`], [`Session::received`] (raw stream octets), [`Session::closed`],
//! [`Session::handle_timeout`] — each with the current `Instant` as its first argument, then
//! drains [`Session::poll_output`] (connect, send, close, and [`Notice`]s such as state changes
//! and routes received) and sleeps until [`Session::poll_timeout`].
//!
//! The driver's side of the contract:
//!
//! - It names each TCP connection with a [`ConnId`] of its choosing and reports it with
//!   [`Session::connected`]: [`Direction::Outbound`] after an [`Output::Connect`] (one attempt at
//!   a time; a new `Connect` replaces an attempt still under way), [`Direction::Inbound`] for a
//!   connection its listener accepted from the peer's address. The session holds at most one
//!   connection per direction, two during collision detection (RFC 4271 §6.8).
//! - [`Output::Send`] octets are written in order; [`Output::Close`] closes after writing what
//!   was queued, and the session forgets the connection at once.
//! - A read error, EOF or reset is [`Session::closed`]; a failed connect is
//!   [`Session::connect_failed`].
//!
//! The caller declares the routes it wants the peer to have ([`Session::set_routes`],
//! [`Session::announce`], [`Session::withdraw`]); the session sends only the difference once
//! Established, packing many prefixes per UPDATE, with End-of-RIB after the initial dump and a
//! full resend whenever the session comes back. The UPDATEs are built in
//! [`Session::poll_output`], so route changes made between two polls share messages.
//!
//! Errors never panic: every malformed input gets its RFC reaction (a NOTIFICATION and a
//! close, or RFC 7606 treat-as-withdraw), and every table is bounded (received prefixes by
//! [`SessionConfig::max_received_prefixes`]).

mod advertiser;
mod advertising;
mod config;
mod fsm;
mod hash;
mod inputs;
mod internals;
mod observation;
mod output;
mod rng;
mod route;
mod stats;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ipnet::IpNet;

pub use config::{GracefulRestart, SessionConfig};
pub use fsm::{Event, State};
pub use output::{ConnId, Direction, DownReason, Negotiated, Notice, Output};
pub use route::{ReceivedAttributes, Route, RouteAttributes};
pub use stats::{MessageCounts, PeerStats};

use advertiser::{Advertiser, Drain, Env};
use hash::PrefixMap;
use rng::Rng;

use crate::wire::capability::GracefulRestartFamily;
use crate::wire::header::{HEADER_LEN, MessageType, frame};
use crate::wire::{
    Afi, AttributeValue, Capability, CeaseSubcode, Confederation, Context, Error, Message,
    MessageRef, MpNextHop, Notification, Open, OpenMessage, RefreshSubtype, RouteRefresh, Safi,
    UpdateMessage,
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

/// An output waiting for [`Session::poll_output`]; sends to the same connection are coalesced.
#[derive(Debug)]
enum Out {
    Send(ConnId, Vec<u8>),
    Output(Output),
    Notice(Notice),
}

/// The IPv4 and IPv6 unicast families a peer's OPEN agrees to ([`Session::check_open`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Families {
    /// IPv4 unicast is exchanged.
    ipv4: bool,
    /// IPv6 unicast is exchanged.
    ipv6: bool,
    /// The peer sent the multiprotocol capability for IPv4 unicast (so IPv4 may go in
    /// MP_REACH_NLRI).
    ipv4_over_mp: bool,
}

/// Where [`Session::drop_conn`] leaves a session that has no connection left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fallback {
    /// Active, with the connect-retry timer: a TCP failure before the OPEN exchange.
    Active,
    /// Idle, with the automatic restart.
    Idle,
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
    config: SessionConfig,
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

fn message_type(m: &Message) -> MessageType {
    match m {
        Message::Open(_) => MessageType::Open,
        Message::Update(_) => MessageType::Update,
        Message::Notification(_) => MessageType::Notification,
        Message::Keepalive => MessageType::Keepalive,
        Message::RouteRefresh(_) => MessageType::RouteRefresh,
    }
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
    pub fn new(config: SessionConfig, seed: u64, now: Instant) -> Self {
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
    pub fn config(&self) -> &SessionConfig {
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
}

/// The OPEN a configuration sends.
fn local_open(config: &SessionConfig) -> Open {
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
