//! The routes to advertise (desired state or one at a time), the RFC 8326 drain and route refresh requests.

use super::*;

impl Session {
    /// Replaces the set of routes the peer should have.
    pub fn set_routes(&mut self, now: Instant, routes: impl IntoIterator<Item = Route>) {
        let _ = now;
        self.adv.set_routes(routes);
    }

    /// Adds or changes one route.
    pub fn announce(&mut self, now: Instant, route: Route) {
        let _ = now;
        self.adv.announce(route);
    }

    /// Removes one route.
    pub fn withdraw(&mut self, now: Instant, prefix: IpNet) {
        let _ = now;
        self.adv.withdraw(prefix);
    }

    /// The routes the caller wants advertised.
    pub fn routes(&self) -> impl Iterator<Item = Route> + '_ {
        self.adv.routes()
    }

    /// Planned drain (RFC 8326): re-advertise every route with the GRACEFUL_SHUTDOWN community
    /// (and LOCAL_PREF 0 on iBGP), then withdraw them all once `delay` has passed
    /// ([`Notice::DrainComplete`]). Routes stay withdrawn until [`Session::cancel_drain`].
    pub fn drain(&mut self, now: Instant, delay: Duration) {
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
    pub fn request_refresh(&mut self, now: Instant, afi: Afi, safi: Safi) {
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
}
