//! Internals: connection handling, message processing, timers and sending.

use super::*;

impl Session {
    /// The connect-retry delay after `retry_count` failures: the configured first delay,
    /// doubled per further failure up to the maximum, times a uniform 0.75..=1.0.
    pub(super) fn backoff(&mut self) -> Duration {
        let base = self.config.connect_retry.min(MAX_DELAY);
        let max = self.config.connect_retry_max.min(MAX_DELAY).max(base);
        let exp = self.retry_count.saturating_sub(1).min(20);
        let d = base.saturating_mul(1 << exp).min(max);
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(ns - ns / 4 + self.rng.below(ns / 4 + 1))
    }

    pub(super) fn begin_connect(&mut self, now: Instant) {
        self.connecting = true;
        self.out.push_back(Out::Output(Output::Connect));
        self.connect_retry_deadline = Some(later(now, self.backoff()));
    }

    pub(super) fn compute_state(&self) -> State {
        match self.conns.iter().map(|c| c.phase).max() {
            Some(Phase::Established) => State::Established,
            Some(Phase::OpenConfirm) => State::OpenConfirm,
            Some(Phase::OpenSent) => State::OpenSent,
            None if !self.running || self.held || self.idle_hold_deadline.is_some() => State::Idle,
            None if self.connecting => State::Connect,
            None => State::Active,
        }
    }

    pub(super) fn update_state(&mut self, event: Event) {
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
                .push_back(Out::Notice(Notice::StateChanged { from, to, event }));
        } else {
            tracing::debug!(peer_as = self.config.peer_as, state = %to, ?event, "BGP event");
        }
    }

    pub(super) fn push_send(&mut self, conn: ConnId, bytes: &[u8]) {
        if let Some(Out::Send(c, v)) = self.out.back_mut()
            && *c == conn
            && v.len() < 1 << 16
        {
            v.extend_from_slice(bytes);
            return;
        }
        self.out.push_back(Out::Send(conn, bytes.to_vec()));
    }

    pub(super) fn send_message(&mut self, conn: ConnId, ctx: &Context, m: &Message) {
        let mut buf = Vec::new();
        if m.encode(ctx, &mut buf).is_ok() {
            count(&mut self.sent, message_type(m));
            self.push_send(conn, &buf);
        }
    }

    /// The session left Established.
    pub(super) fn went_down(&mut self, reason: DownReason) {
        tracing::warn!(peer_as = self.config.peer_as, %reason, "BGP session down");
        self.adv.session_down();
        self.rib_in = PrefixMap::default();
        self.negotiated = None;
        self.established_since = None;
        self.out.push_back(Out::Notice(Notice::Down { reason }));
    }

    /// Sends `n` on connection `id`, closes it and falls back to Idle: the answer to a
    /// malformed or unexpected message, a collision lost or a limit passed.
    pub(super) fn notify_and_drop(
        &mut self,
        now: Instant,
        id: ConnId,
        n: Notification,
        event: Event,
    ) {
        self.drop_conn(
            now,
            id,
            Some(n.clone()),
            DownReason::NotificationSent(n),
            event,
            Fallback::Idle,
        );
    }

    /// Closes a connection, after sending `notification` if given. With no connection left,
    /// the session falls back to Active ([`Fallback::Active`], a TCP failure before the OPEN
    /// exchange) with the connect-retry timer, or to Idle ([`Fallback::Idle`]) with the
    /// automatic restart, both after the backoff delay.
    pub(super) fn drop_conn(
        &mut self,
        now: Instant,
        id: ConnId,
        notification: Option<Notification>,
        reason: DownReason,
        event: Event,
        fallback: Fallback,
    ) {
        let Some(i) = self.conns.iter().position(|c| c.id == id) else {
            return;
        };
        let c = self.conns.remove(i);
        if let Some(n) = &notification {
            self.send_message(id, &c.ctx_tx, &Message::Notification(n.clone()));
        }
        self.out.push_back(Out::Output(Output::Close { conn: id }));
        tracing::debug!(conn = id.0, ?event, %reason, "closing connection");
        if c.phase == Phase::Established {
            self.went_down(reason.clone());
        }
        self.last_error = Some(reason);
        if self.conns.is_empty() && self.running {
            self.retry_count = self.retry_count.saturating_add(1);
            let delay = self.backoff();
            if fallback == Fallback::Active {
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
    pub(super) fn process(&mut self, now: Instant, conn: ConnId, data: &[u8]) -> Option<usize> {
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
                    if !self.handle_message(now, conn, &rest[..len]) {
                        return None;
                    }
                    at += len;
                }
                Err(e) => {
                    let n =
                        Notification::from_error(&e).unwrap_or_else(|| fsm_error(Phase::OpenSent));
                    self.notify_and_drop(now, conn, n, Event::BGPHeaderErr);
                    return None;
                }
            }
        }
    }

    /// Handles one framed message; false when the connection was closed.
    pub(super) fn handle_message(&mut self, now: Instant, conn: ConnId, bytes: &[u8]) -> bool {
        let Some(c) = self.conns.iter().find(|c| c.id == conn) else {
            return false;
        };
        let (phase, ctx) = (c.phase, c.ctx_rx);
        let kind = bytes.get(HEADER_LEN - 1).copied().unwrap_or(0);
        if let Ok(k) = MessageType::from_u8(kind) {
            count(&mut self.received, k);
        }
        let msg = match MessageRef::parse(bytes, &ctx) {
            Ok(m) => m,
            Err(e) => {
                self.reject(now, conn, phase, bytes, &e);
                return false;
            }
        };
        match (msg, phase) {
            (MessageRef::Notification(n), _) => {
                let event = if (n.code, n.subcode) == (2, 1) {
                    Event::NotifMsgVerErr
                } else {
                    Event::NotifMsg
                };
                self.drop_conn(
                    now,
                    conn,
                    None,
                    DownReason::NotificationReceived(Notification::from(&n)),
                    event,
                    Fallback::Idle,
                );
                false
            }
            (MessageRef::Open(o), Phase::OpenSent) => self.handle_open(now, conn, &o),
            (MessageRef::Keepalive, Phase::OpenConfirm) => {
                self.establish(now, conn);
                true
            }
            (MessageRef::Keepalive, Phase::Established) => {
                self.restart_hold(now, conn);
                true
            }
            (MessageRef::Update(u), Phase::Established) => {
                self.restart_hold(now, conn);
                match self.handle_update(now, conn, &u) {
                    Ok(open) => open,
                    // A prefix field found malformed as it was read (RFC 7606 §5.3).
                    Err(e) => {
                        self.reject(now, conn, phase, bytes, &e);
                        false
                    }
                }
            }
            (MessageRef::RouteRefresh(r), Phase::Established) => {
                self.restart_hold(now, conn);
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
                        .push_back(Out::Output(Output::RouteRefreshRequested {
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
                self.notify_and_drop(now, conn, n, event);
                false
            }
        }
    }

    pub(super) fn restart_hold(&mut self, now: Instant, conn: ConnId) {
        if let Some(c) = self.conns.iter_mut().find(|c| c.id == conn)
            && !c.hold.is_zero()
        {
            c.hold_deadline = Some(later(now, c.hold));
        }
    }

    /// Checks the peer's OPEN against our configuration; the NOTIFICATION to send if it fails.
    pub(super) fn check_open(&self, o: &OpenMessage<'_>) -> Result<Families, Notification> {
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
        Ok(Families {
            ipv4: v4,
            ipv6: v6,
            ipv4_over_mp: mp.contains(&(Afi::IPV4, Safi::UNICAST)),
        })
    }

    pub(super) fn handle_open(&mut self, now: Instant, conn: ConnId, o: &OpenMessage<'_>) -> bool {
        let families = match self.check_open(o) {
            Ok(f) => f,
            Err(n) => {
                self.notify_and_drop(now, conn, n, Event::BGPOpenMsgErr);
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
            self.notify_and_drop(now, loser, n, Event::OpenCollisionDump);
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
        c.ipv4 = families.ipv4;
        c.ipv6 = families.ipv6;
        c.mp_ipv4 = families.ipv4_over_mp;
        let ctx = c.ctx_tx;
        self.send_message(conn, &ctx, &Message::Keepalive);
        self.update_state(Event::BGPOpen);
        true
    }

    pub(super) fn establish(&mut self, now: Instant, conn: ConnId) {
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
            .push_back(Out::Notice(Notice::Established(Box::new(n))));
    }

    /// Answers a message that is malformed with the NOTIFICATION its error calls for, and
    /// closes the connection.
    fn reject(&mut self, now: Instant, conn: ConnId, phase: Phase, bytes: &[u8], e: &Error) {
        let event = match bytes.get(HEADER_LEN - 1) {
            Some(1) => Event::BGPOpenMsgErr,
            Some(2) => Event::UpdateMsgErr,
            _ => Event::BGPHeaderErr,
        };
        let n = Notification::from_message_error(e, bytes).unwrap_or_else(|| fsm_error(phase));
        self.notify_and_drop(now, conn, n, event);
    }

    /// Applies an UPDATE to the routes received; `Ok(false)` when the connection was closed
    /// (too many prefixes), `Err` for a malformed prefix field, which the caller answers with
    /// a session reset (RFC 7606 §5.3) that also drops the routes applied before it was found.
    pub(super) fn handle_update(
        &mut self,
        now: Instant,
        conn: ConnId,
        u: &UpdateMessage<'_>,
    ) -> Result<bool, Error> {
        if let Some((afi, safi)) = u.end_of_rib() {
            self.out
                .push_back(Out::Notice(Notice::EndOfRib { afi, safi }));
            return Ok(true);
        }
        let mut withdrawn = 0;
        for n in u.withdrawn_routes() {
            withdrawn += usize::from(self.rib_in.remove(&n?.prefix).is_some());
        }
        if let Some(m) = u.mp_unreach()
            && m.safi == Safi::UNICAST
        {
            for n in m.withdrawn() {
                withdrawn += usize::from(self.rib_in.remove(&n?.prefix).is_some());
            }
        }
        let mp = u.mp_reach().filter(|m| m.safi == Safi::UNICAST);
        let announced = u.nlri().chain(mp.iter().flat_map(|m| m.nlri()));
        let mut count_announced = 0;
        if u.is_treat_as_withdraw() {
            for n in announced {
                withdrawn += usize::from(self.rib_in.remove(&n?.prefix).is_some());
            }
        } else {
            let attrs = Arc::new(received_attributes(u));
            for n in announced {
                self.rib_in.insert(n?.prefix, attrs.clone());
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
            self.notify_and_drop(now, conn, n, Event::UpdateMsg);
            return Ok(false);
        }
        if count_announced + withdrawn > 0 {
            self.out.push_back(Out::Notice(Notice::RoutesReceived {
                announced: count_announced,
                withdrawn,
            }));
        }
        Ok(true)
    }

    pub(super) fn flush_routes(&mut self) {
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
