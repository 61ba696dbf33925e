//! A session's counters, as a plain struct to export as metrics.

use std::time::Instant;

use super::{DownReason, State};

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
