//! Observation: the negotiated parameters, counters and received routes.

use super::*;

impl Session {
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
}
