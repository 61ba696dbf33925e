//! Inputs: start, stop and hold-down, connection events, received octets, timers, and the next deadline and action.

use super::*;

impl Session {
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
                .push_back(Out::Output(Output::Close { conn: c.id }));
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
                .push_back(Out::Output(Output::Close { conn: c.id }));
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

    /// A TCP connection is up: ours after [`Output::Connect`], or one the peer opened to our
    /// listener. `local` is our address on it (the default next hop). A connection the session
    /// does not want is answered with [`Output::Close`].
    pub fn connected(
        &mut self,
        now: Instant,
        conn: ConnId,
        local: SocketAddr,
        remote: SocketAddr,
        direction: Direction,
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
            self.out.push_back(Out::Output(Output::Close { conn }));
            return;
        }
        // A newer connection in the same direction replaces one that never got established
        // (the peer restarted, or our retry timer fired).
        if let Some(i) = self.conns.iter().position(|c| c.direction == direction) {
            let old = self.conns.remove(i);
            self.out
                .push_back(Out::Output(Output::Close { conn: old.id }));
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
    pub fn received(&mut self, now: Instant, conn: ConnId, bytes: &[u8]) {
        let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) else {
            return;
        };
        let mut buf = std::mem::take(&mut c.rx);
        if buf.is_empty() {
            if let Some(used) = self.process(now, conn, bytes) {
                buf.extend_from_slice(&bytes[used..]);
            }
        } else {
            buf.extend_from_slice(bytes);
            match self.process(now, conn, &buf) {
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
    pub fn closed(&mut self, now: Instant, conn: ConnId) {
        let Some(c) = self.conns.iter().find(|c| c.id == conn) else {
            return;
        };
        let fallback = if c.phase == Phase::OpenSent {
            Fallback::Active
        } else {
            Fallback::Idle
        };
        self.drop_conn(
            now,
            conn,
            None,
            DownReason::ConnectionClosed,
            Event::TcpConnectionFails,
            fallback,
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
                now,
                id,
                Some(n),
                DownReason::HoldTimerExpired,
                Event::HoldTimer_Expires,
                Fallback::Idle,
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
            self.out.push_back(Out::Notice(Notice::DrainComplete));
        }
    }

    /// The earliest time [`Session::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
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
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.out.is_empty() {
            self.flush_routes();
        }
        self.out.pop_front().map(|o| match o {
            Out::Send(conn, bytes) => Output::Send {
                conn,
                bytes: Bytes::from(bytes),
            },
            Out::Output(o) => o,
            Out::Notice(n) => Output::Notice(n),
        })
    }
}
