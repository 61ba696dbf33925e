//! The inputs and outputs of [`Session`](super::Session).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;

use crate::wire::{Afi, Capability, Notification, Safi};

/// Names one TCP connection of a session, chosen by the driver. A session holds at most two at
/// once (one each way, during collision detection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Who opened a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The peer connected to us (accepted on our listener).
    Inbound,
    /// We connected to the peer (after [`Action::Connect`]).
    Outbound,
}

/// The RFC 4271 §8.2.2 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Refusing connections; waiting for a start (or for the automatic restart after an error).
    Idle,
    /// Waiting for our outgoing TCP connection.
    Connect,
    /// Waiting for the peer to connect (passive, or between connect retries).
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Exchanging UPDATEs.
    Established,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        })
    }
}

/// The RFC 4271 §8.1 events this core acts on, named as in the RFC. Each
/// [`Action::StateChanged`] carries the event that caused it; each is traced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum Event {
    /// Event 1.
    ManualStart,
    /// Event 2.
    ManualStop,
    /// Event 3: the restart after an error, when the backoff delay has passed.
    AutomaticStart,
    /// Event 4.
    ManualStart_with_PassiveTcpEstablishment,
    /// Event 8: a stop from outside BGP, [`Session::hold_down`](super::Session::hold_down)
    /// (BFD says the peer is unreachable).
    AutomaticStop,
    /// Event 9.
    ConnectRetryTimer_Expires,
    /// Event 10.
    HoldTimer_Expires,
    /// Event 11.
    KeepaliveTimer_Expires,
    /// Event 14: an inbound connection was accepted.
    TcpConnection_Valid,
    /// Event 16: our outbound connection was established.
    Tcp_CR_Acked,
    /// Event 17: an inbound connection was established.
    TcpConnectionConfirmed,
    /// Event 18: the connection failed or was closed.
    TcpConnectionFails,
    /// Event 19: a valid OPEN.
    BGPOpen,
    /// Event 21: a message header error.
    BGPHeaderErr,
    /// Event 22: an OPEN error.
    BGPOpenMsgErr,
    /// Event 23: OPEN collision, this connection loses.
    OpenCollisionDump,
    /// Event 24: NOTIFICATION with Unsupported Version Number.
    NotifMsgVerErr,
    /// Event 25: NOTIFICATION.
    NotifMsg,
    /// Event 26.
    KeepAliveMsg,
    /// Event 27.
    UpdateMsg,
    /// Event 28: an UPDATE error that resets the session.
    UpdateMsgErr,
}

/// Why a session went down (or a connection attempt past TCP failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// [`Session::stop`](super::Session::stop): we sent Cease / Administrative Shutdown.
    AdminShutdown,
    /// The peer went silent for the hold time; we sent NOTIFICATION Hold Timer Expired.
    HoldTimerExpired,
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
    /// We found an error in the peer's messages (or its OPEN) and sent this NOTIFICATION.
    NotificationSent(Notification),
    /// The TCP connection closed or failed without a NOTIFICATION.
    ConnectionClosed,
}

impl std::fmt::Display for DownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DownReason::AdminShutdown => f.write_str("administrative shutdown"),
            DownReason::HoldTimerExpired => f.write_str("hold timer expired"),
            DownReason::NotificationReceived(n) => {
                write!(f, "NOTIFICATION received: {}", n.error_code())?;
                if let Some(m) = n.shutdown_communication() {
                    write!(f, " ({m:?})")?;
                }
                Ok(())
            }
            DownReason::NotificationSent(n) => write!(f, "NOTIFICATION sent: {}", n.error_code()),
            DownReason::ConnectionClosed => f.write_str("connection closed"),
        }
    }
}

/// What the two OPENs agreed, known once the session is Established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The connection that won.
    pub conn: ConnId,
    /// Who opened it.
    pub direction: Direction,
    /// Our address on the connection.
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
    /// The peer's AS.
    pub peer_as: u32,
    /// The peer's BGP Identifier.
    pub peer_id: std::net::Ipv4Addr,
    /// Hold time in seconds (0: no hold timer and no keepalives).
    pub hold_time: u16,
    /// Keepalive interval in seconds (0 with hold time 0).
    pub keepalive: u16,
    /// Both sides support 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Both sides support Extended Message.
    pub extended_message: bool,
    /// The peer supports route refresh.
    pub route_refresh: bool,
    /// IPv4 unicast is exchanged.
    pub ipv4_unicast: bool,
    /// IPv6 unicast is exchanged.
    pub ipv6_unicast: bool,
    /// The peer's graceful restart capability: (restart flags, restart time).
    pub peer_graceful_restart: Option<(u8, u16)>,
    /// Every capability the peer sent.
    pub peer_capabilities: Vec<Capability>,
}

impl Negotiated {
    /// Our address on the connection.
    pub fn local_ip(&self) -> IpAddr {
        self.local.ip()
    }
}

/// Something the driver must do, or may want to know. Drain them with
/// [`Session::poll_action`](super::Session::poll_action) after every input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a TCP connection to the peer, then report [`Session::connected`](super::Session::connected)
    /// with [`Direction::Outbound`] or [`Session::connect_failed`](super::Session::connect_failed).
    /// A new `Connect` while an attempt is under way replaces it (abandon the old attempt).
    Connect,
    /// Write these octets to the connection, in order.
    Send {
        /// The connection.
        conn: ConnId,
        /// One or more whole BGP messages.
        bytes: Bytes,
    },
    /// Close the connection (after writing what was sent before). The session forgets it;
    /// there is no need to report [`Session::closed`](super::Session::closed) for it.
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// The session moved between RFC 4271 states.
    StateChanged {
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// The event that caused it.
        event: Event,
    },
    /// The session is Established.
    Established(Box<Negotiated>),
    /// The session left Established. (Failures before Established show in
    /// [`PeerStats::last_error`] and in the `StateChanged` events.)
    Down {
        /// Why.
        reason: DownReason,
    },
    /// The peer's UPDATEs changed the received routes
    /// ([`Session::received_routes`](super::Session::received_routes)).
    RoutesReceived {
        /// Prefixes announced (new or changed).
        announced: usize,
        /// Prefixes withdrawn (including treat-as-withdraw, RFC 7606).
        withdrawn: usize,
    },
    /// The peer sent End-of-RIB for a family.
    EndOfRib {
        /// AFI.
        afi: Afi,
        /// SAFI.
        safi: Safi,
    },
    /// The peer asked for our routes again (we answer by ourselves).
    RouteRefreshRequested {
        /// AFI.
        afi: Afi,
        /// SAFI.
        safi: Safi,
    },
    /// The drain's delay passed and every route was withdrawn.
    DrainComplete,
}

/// Messages counted by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounts {
    /// OPEN.
    pub open: u64,
    /// UPDATE.
    pub update: u64,
    /// NOTIFICATION.
    pub notification: u64,
    /// KEEPALIVE.
    pub keepalive: u64,
    /// ROUTE-REFRESH.
    pub route_refresh: u64,
}

impl MessageCounts {
    /// All messages.
    pub fn total(&self) -> u64 {
        self.open + self.update + self.notification + self.keepalive + self.route_refresh
    }
}

/// A peer's counters and state, as a plain struct to export as metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStats {
    /// Current state.
    pub state: State,
    /// When the session last became Established, while it is.
    pub established_since: Option<Instant>,
    /// How many times the session became Established.
    pub established_count: u64,
    /// Messages sent.
    pub messages_sent: MessageCounts,
    /// Messages received.
    pub messages_received: MessageCounts,
    /// Prefixes the peer currently has from us.
    pub prefixes_sent: usize,
    /// Prefixes we currently hold from the peer.
    pub prefixes_received: usize,
    /// Prefixes the caller wants advertised.
    pub prefixes_desired: usize,
    /// Consecutive connection failures (drives the connect-retry backoff).
    pub connect_retry_count: u32,
    /// Why the session last went down.
    pub last_error: Option<DownReason>,
}
