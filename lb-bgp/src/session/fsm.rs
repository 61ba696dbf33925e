//! The RFC 4271 §8 states and events of [`Session`](super::Session).

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
/// [`Notice::StateChanged`](super::Notice::StateChanged) carries the event that caused it; each is traced.
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
