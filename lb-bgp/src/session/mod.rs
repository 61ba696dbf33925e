//! The sans-IO BGP session: the RFC 4271 §8 state machine and the route advertiser.
//!
//! A [`Session`] owns no socket and reads no clock. The driver feeds it inputs — [`Session::start`],
//! [`Session::connected`], [`Session::received`] (raw stream octets), [`Session::closed`],
//! [`Session::handle_timeout`] — each with the current `Instant`, then drains
//! [`Session::poll_action`] (connect, send, close, state changes, routes received) and sleeps
//! until [`Session::next_deadline`].
//!
//! The caller declares the routes it wants the peer to have ([`Session::set_routes`],
//! [`Session::announce`], [`Session::withdraw`]); the session sends only the difference once
//! Established, packing many prefixes per UPDATE, with End-of-RIB after the initial dump and a
//! full resend whenever the session comes back.

mod config;
#[allow(dead_code)]
mod rng;
mod route;
mod types;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ipnet::IpNet;

pub use config::{GracefulRestart, PeerConfig};
pub use route::{ReceivedAttributes, Route, RouteAttributes};
pub use types::{
    Action, ConnId, Direction, DownReason, Event, MessageCounts, Negotiated, PeerStats, State,
};

use crate::wire::{Afi, Safi};

/// One BGP peer: the state machine, its connections, the routes to advertise and the routes
/// received.
#[derive(Debug)]
pub struct Session {
    config: PeerConfig,
    state: State,
}

impl Session {
    /// A session in Idle. `seed` fixes the connect-retry jitter.
    pub fn new(config: PeerConfig, seed: u64, now: Instant) -> Self {
        let _ = (seed, now);
        Session {
            config,
            state: State::Idle,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// ManualStart: connect (or, passive, wait for the peer).
    pub fn start(&mut self, now: Instant) {
        let _ = now;
    }

    /// ManualStop: send Cease / Administrative Shutdown with `message` (RFC 9003, may be
    /// empty) on every connection, close them, and stay Idle until [`Session::start`].
    pub fn stop(&mut self, now: Instant, message: &str) {
        let _ = (now, message);
    }

    /// A TCP connection is up: ours after [`Action::Connect`], or one the peer opened to our
    /// listener. `local` is our address on it (the default next hop).
    pub fn connected(
        &mut self,
        conn: ConnId,
        local: SocketAddr,
        remote: SocketAddr,
        direction: Direction,
        now: Instant,
    ) {
        let _ = (conn, local, remote, direction, now);
    }

    /// Our outbound connection attempt failed.
    pub fn connect_failed(&mut self, now: Instant) {
        let _ = now;
    }

    /// Octets read from a connection, in stream order, any split.
    pub fn received(&mut self, conn: ConnId, bytes: &[u8], now: Instant) {
        let _ = (conn, bytes, now);
    }

    /// The connection was closed by the peer or failed.
    pub fn closed(&mut self, conn: ConnId, now: Instant) {
        let _ = (conn, now);
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
    }

    /// The earliest time [`Session::handle_timeout`] has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        None
    }

    /// The next thing for the driver to do. UPDATEs for route changes are built here, so many
    /// [`Session::announce`] calls between two polls share UPDATEs.
    pub fn poll_action(&mut self) -> Option<Action> {
        None
    }

    /// What the OPENs agreed, while Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        None
    }

    /// Counters and state.
    pub fn stats(&self) -> PeerStats {
        PeerStats {
            state: self.state,
            established_since: None,
            established_count: 0,
            messages_sent: MessageCounts::default(),
            messages_received: MessageCounts::default(),
            prefixes_sent: 0,
            prefixes_received: 0,
            prefixes_desired: 0,
            connect_retry_count: 0,
            last_error: None,
        }
    }

    /// The routes the peer announced (Adj-RIB-In), for observation; cleared when the session
    /// goes down.
    pub fn received_routes(&self) -> impl Iterator<Item = (IpNet, &ReceivedAttributes)> {
        std::iter::empty()
    }

    /// Replaces the set of routes the peer should have.
    pub fn set_routes(&mut self, routes: impl IntoIterator<Item = Route>, now: Instant) {
        let _ = (routes.into_iter(), now);
    }

    /// Adds or changes one route.
    pub fn announce(&mut self, route: Route, now: Instant) {
        let _ = (route, now);
    }

    /// Removes one route.
    pub fn withdraw(&mut self, prefix: IpNet, now: Instant) {
        let _ = (prefix, now);
    }

    /// The routes the caller wants advertised.
    pub fn routes(&self) -> impl Iterator<Item = Route> + '_ {
        std::iter::empty()
    }

    /// Planned drain (RFC 8326): re-advertise every route with the GRACEFUL_SHUTDOWN community
    /// (and LOCAL_PREF 0 on iBGP), then withdraw them all once `delay` has passed
    /// ([`Action::DrainComplete`]). Routes stay withdrawn until [`Session::cancel_drain`].
    pub fn drain(&mut self, delay: Duration, now: Instant) {
        let _ = (delay, now);
    }

    /// Ends a drain: routes are advertised normally again.
    pub fn cancel_drain(&mut self, now: Instant) {
        let _ = now;
    }

    /// Whether a drain is under way or done (and not cancelled).
    pub fn is_draining(&self) -> bool {
        false
    }

    /// Asks the peer to send its routes of a family again (ROUTE-REFRESH), if it supports it.
    pub fn request_refresh(&mut self, afi: Afi, safi: Safi, now: Instant) {
        let _ = (afi, safi, now);
    }
}
