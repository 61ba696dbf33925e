//! What [`Session`](super::Session) tells its driver: the outputs, the connections they name
//! and why a session went down.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;

use super::{Event, State};
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
    /// We connected to the peer (after [`Output::Connect`]).
    Outbound,
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
/// [`Session::poll_output`](super::Session::poll_output) after every input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
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
    /// The peer asked for our routes again (we answer by ourselves).
    RouteRefreshRequested {
        /// AFI.
        afi: Afi,
        /// SAFI.
        safi: Safi,
    },
    /// Something happened to the session that the driver may report to its caller (the
    /// driver's [`PeerEvent`](crate::driver::PeerEvent) carries it as is).
    Notice(Notice),
}

impl From<Notice> for Output {
    fn from(n: Notice) -> Self {
        Output::Notice(n)
    }
}

/// What happened to a session, for the caller to know: state changes, the session coming up
/// and going down, routes received and the end of a drain. Carried by [`Output::Notice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
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
    /// [`PeerStats::last_error`](super::PeerStats::last_error) and in the `StateChanged`
    /// notices.)
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
    /// The drain's delay passed and every route was withdrawn.
    DrainComplete,
}
