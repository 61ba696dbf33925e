//! The sans-IO BFD session (RFC 5880 §6.8), asynchronous mode.
//!
//! A [`Session`] owns the state variables of §6.8.1 and nothing else: no clock, no socket,
//! no task. Every input takes the current time as its first argument:
//!
//! - [`Session::handle_packet`] with the octets of a received Control packet (§6.8.6);
//! - [`Session::handle_timeout`] when [`Session::poll_timeout`] has passed (detection time,
//!   §6.8.4);
//! - [`Session::admin_down`] / [`Session::admin_up`] (§6.8.16);
//! - [`Session::set_intervals`] to change the timers (§6.8.3, with a Poll Sequence);
//!
//! and after each the caller drains [`Session::poll_transmit`] (packets to send, §6.8.7) and
//! [`Session::poll_event`] (state changes).
//!
//! Rules carried out here:
//! - §6.8.6 reception: discriminator, authentication and sequence-number checks, the state
//!   table (Down → Init → Up, AdminDown and Down from the neighbour), Poll answered with Final;
//! - §6.8.7 transmission: the interval is the larger of bfd.DesiredMinTxInterval and
//!   bfd.RemoteMinRxInterval, less a jitter of 0–25 % (10–25 % when Detect Mult is 1), drawn
//!   from a seeded generator; no periodic packets while bfd.RemoteMinRxInterval is zero or the
//!   remote runs Demand mode; a passive session sends nothing until it has heard the peer;
//! - §6.8.3: bfd.DesiredMinTxInterval is at least one second while the session is not Up; a
//!   change of either interval starts a Poll Sequence; while Up, a larger transmit interval and
//!   a smaller receive interval take effect only when the Final arrives;
//! - §6.8.4: the detection time is the remote Detect Mult times the larger of our
//!   bfd.RequiredMinRxInterval and the remote's last Desired Min TX Interval; when it passes
//!   without a valid packet, an Init or Up session goes Down (diagnostic 1) and what was known
//!   of the remote is forgotten (bfd.RemoteDiscr 0).
//!
//! Demand mode is never requested and the echo function is not run (Required Min Echo RX
//! Interval is sent as zero). One liberty, taken by BIRD and FRR too: a packet goes out at once
//! on every state change and at the start of a Poll Sequence, not only on the periodic timer,
//! so a session comes Up within a round trip rather than within the one-second slow rate.

mod rng;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::Error;
use crate::wire::{Auth, AuthType, Diagnostic, MAX_LEN, Packet, Password, Repr, State, auth};

use rng::Rng;

/// bfd.DesiredMinTxInterval while the session is not Up (RFC 5880 §6.8.3: "not less than one
/// second").
pub const SLOW_TX: Duration = Duration::from_secs(1);

/// How a session authenticates its packets (RFC 5880 §6.7).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Simple Password, Keyed (Meticulous) MD5 or Keyed (Meticulous) SHA1.
    pub auth_type: AuthType,
    /// Auth Key ID, sent and expected.
    pub key_id: u8,
    /// The password (1–16 octets) or key (up to 16 octets for MD5, 20 for SHA1).
    pub key: Vec<u8>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("auth_type", &self.auth_type)
            .field("key_id", &self.key_id)
            .field("key", &format_args!("<{} octets>", self.key.len()))
            .finish()
    }
}

impl AuthConfig {
    fn validate(&self) -> Result<(), Error> {
        let max = match self.auth_type {
            AuthType::SimplePassword => 16,
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => 16,
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => 20,
            AuthType::Unknown(t) => return Err(Error::UnknownAuthType(t)),
        };
        if self.key.is_empty() || self.key.len() > max {
            return Err(Error::Config(format!(
                "a {:?} key has 1 to {max} octets, not {}",
                self.auth_type,
                self.key.len()
            )));
        }
        Ok(())
    }
}

/// The configuration of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// bfd.DesiredMinTxInterval once Up (1 µs to about 71 minutes).
    pub desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval (zero: do not send us periodic packets).
    pub required_min_rx: Duration,
    /// bfd.DetectMult (1–255).
    pub detect_mult: u8,
    /// Passive role: send nothing until the peer's first packet (RFC 5880 §6.1).
    pub passive: bool,
    /// Authentication, if any.
    pub auth: Option<AuthConfig>,
}

impl Default for SessionConfig {
    /// FRR's and MetalLB's defaults: 300 ms, 300 ms, 3, active, no authentication.
    fn default() -> Self {
        SessionConfig {
            desired_min_tx: Duration::from_millis(300),
            required_min_rx: Duration::from_millis(300),
            detect_mult: 3,
            passive: false,
            auth: None,
        }
    }
}

impl SessionConfig {
    /// Checks the ranges: intervals that fit the 32-bit microsecond fields, a non-zero
    /// transmit interval and Detect Mult, and a key that fits its type.
    pub fn validate(&self) -> Result<(), Error> {
        let tx = micros(self.desired_min_tx)
            .ok_or_else(|| Error::Config("desired_min_tx does not fit 32 bits of µs".into()))?;
        if tx == 0 {
            return Err(Error::Config("desired_min_tx must not be zero".into()));
        }
        micros(self.required_min_rx)
            .ok_or_else(|| Error::Config("required_min_rx does not fit 32 bits of µs".into()))?;
        if self.detect_mult == 0 {
            return Err(Error::Config("detect_mult must not be zero".into()));
        }
        if let Some(a) = &self.auth {
            a.validate()?;
        }
        Ok(())
    }
}

fn auth_template(a: &AuthConfig) -> Result<Auth, Error> {
    let meticulous = a.auth_type.is_meticulous();
    Ok(match a.auth_type {
        AuthType::SimplePassword => Auth::SimplePassword {
            key_id: a.key_id,
            password: Password::new(&a.key)?,
        },
        AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => Auth::KeyedMd5 {
            meticulous,
            key_id: a.key_id,
            sequence: 0,
            digest: [0; 16],
        },
        AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => Auth::KeyedSha1 {
            meticulous,
            key_id: a.key_id,
            sequence: 0,
            hash: [0; 20],
        },
        AuthType::Unknown(t) => return Err(Error::UnknownAuthType(t)),
    })
}

fn micros(d: Duration) -> Option<u32> {
    u32::try_from(d.as_micros()).ok()
}

fn us(v: u32) -> Duration {
    Duration::from_micros(u64::from(v))
}

/// What a session reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// bfd.SessionState changed.
    StateChanged {
        /// The old state.
        from: State,
        /// The new state.
        to: State,
        /// bfd.LocalDiag: why.
        diagnostic: Diagnostic,
    },
}

/// A packet to send: the first [`Transmit::len`] octets of an inline buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    buf: [u8; MAX_LEN],
    len: usize,
}

impl std::fmt::Debug for Transmit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Transmit({:02x?})", self.as_bytes())
    }
}

impl Transmit {
    /// The packet's octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Its length.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.len
    }
}

/// Counters of one session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Control packets accepted.
    pub packets_in: u64,
    /// Control packets discarded (§6.8.6 checks and authentication).
    pub packets_discarded: u64,
    /// Control packets produced by [`Session::poll_transmit`].
    pub packets_out: u64,
    /// Transitions into Up.
    pub up_events: u64,
    /// Transitions from Up into Down.
    pub down_events: u64,
}

/// One BFD session: the §6.8.1 state variables and the timers.
#[derive(Debug, Clone)]
pub struct Session {
    config: SessionConfig,
    state: State,
    remote_state: State,
    local_discr: u32,
    remote_discr: u32,
    local_diag: Diagnostic,
    /// bfd.DesiredMinTxInterval as advertised (µs).
    desired_min_tx: u32,
    /// bfd.RequiredMinRxInterval as advertised (µs).
    required_min_rx: u32,
    /// The transmit interval in use: lags an increase while Up until the Final (µs).
    tx_in_use: u32,
    /// The receive interval used for the detection time: lags a reduction while Up (µs).
    rx_in_use: u32,
    remote_min_rx: u32,
    remote_desired_min_tx: u32,
    remote_detect_mult: u8,
    remote_demand: bool,
    poll_active: bool,
    /// The values the running Poll Sequence announces: (tx, rx).
    poll_values: (u32, u32),
    poll_pending: bool,
    final_pending: bool,
    send_now: bool,
    next_tx: Instant,
    last_tx: Option<Instant>,
    last_rx: Option<Instant>,
    detect_deadline: Option<Instant>,
    /// AdminDown packets still to send before going silent.
    admin_packets_left: u8,
    xmit_auth_seq: u32,
    rcv_auth_seq: u32,
    auth_seq_known: bool,
    /// The authentication section sent, its sequence number filled in per packet.
    auth_template: Option<Auth>,
    rng: Rng,
    events: VecDeque<Event>,
    stats: Stats,
}

impl Session {
    /// A session in state Down with discriminator `local_discriminator` (not zero, unique on
    /// this system) and jitter drawn from a generator seeded with `seed`. An active session's
    /// first packet is due at `now`.
    pub fn new(
        config: SessionConfig,
        local_discriminator: u32,
        seed: u64,
        now: Instant,
    ) -> Result<Session, Error> {
        config.validate()?;
        if local_discriminator == 0 {
            return Err(Error::Config(
                "the local discriminator must not be zero".into(),
            ));
        }
        let mut rng = Rng::new(seed);
        let required_min_rx = micros(config.required_min_rx).unwrap_or(u32::MAX);
        let slow = micros(SLOW_TX).unwrap_or(u32::MAX);
        let desired = micros(config.desired_min_tx).unwrap_or(u32::MAX).max(slow);
        Ok(Session {
            state: State::Down,
            remote_state: State::Down,
            local_discr: local_discriminator,
            remote_discr: 0,
            local_diag: Diagnostic::None,
            desired_min_tx: desired,
            required_min_rx,
            tx_in_use: desired,
            rx_in_use: required_min_rx,
            remote_min_rx: 1,
            remote_desired_min_tx: 0,
            remote_detect_mult: 0,
            remote_demand: false,
            poll_active: false,
            poll_values: (desired, required_min_rx),
            poll_pending: false,
            final_pending: false,
            send_now: false,
            next_tx: now,
            last_tx: None,
            last_rx: None,
            detect_deadline: None,
            admin_packets_left: 0,
            xmit_auth_seq: rng.next_u64() as u32,
            rcv_auth_seq: 0,
            auth_seq_known: false,
            auth_template: config.auth.as_ref().map(auth_template).transpose()?,
            rng,
            events: VecDeque::new(),
            stats: Stats::default(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// bfd.SessionState.
    pub fn state(&self) -> State {
        self.state
    }

    /// bfd.RemoteSessionState.
    pub fn remote_state(&self) -> State {
        self.remote_state
    }

    /// bfd.LocalDiag.
    pub fn diagnostic(&self) -> Diagnostic {
        self.local_diag
    }

    /// bfd.LocalDiscr.
    pub fn local_discriminator(&self) -> u32 {
        self.local_discr
    }

    /// bfd.RemoteDiscr (zero until the peer is heard, and again after a detection time of
    /// silence).
    pub fn remote_discriminator(&self) -> u32 {
        self.remote_discr
    }

    /// bfd.DesiredMinTxInterval as currently advertised (one second until Up).
    pub fn desired_min_tx(&self) -> Duration {
        us(self.desired_min_tx)
    }

    /// bfd.RequiredMinRxInterval as currently advertised.
    pub fn required_min_rx(&self) -> Duration {
        us(self.required_min_rx)
    }

    /// bfd.RemoteMinRxInterval: the peer's last Required Min RX Interval (1 µs until heard).
    pub fn remote_min_rx(&self) -> Duration {
        us(self.remote_min_rx)
    }

    /// The peer's last Desired Min TX Interval (zero until heard).
    pub fn remote_desired_min_tx(&self) -> Duration {
        us(self.remote_desired_min_tx)
    }

    /// The peer's last Detect Mult (zero until heard).
    pub fn remote_detect_mult(&self) -> u8 {
        self.remote_detect_mult
    }

    /// The negotiated transmit interval before jitter (§6.8.2, §6.8.7).
    pub fn tx_interval(&self) -> Duration {
        us(self.tx_in_use.max(self.remote_min_rx))
    }

    /// The detection time (§6.8.4), once the peer has been heard.
    pub fn detection_time(&self) -> Option<Duration> {
        (self.remote_detect_mult != 0).then(|| {
            us(self.rx_in_use.max(self.remote_desired_min_tx)) * u32::from(self.remote_detect_mult)
        })
    }

    /// Whether a Poll Sequence is running.
    pub fn poll_active(&self) -> bool {
        self.poll_active
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The next state change or other report, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] or [`Session::poll_transmit`] next has work: the next
    /// periodic packet or the end of the detection time. `None` when there is nothing to wait
    /// for (a passive session that has heard nothing, an AdminDown session gone silent).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let tx = (self.final_pending
            || (self.sending_allowed() && (self.send_now || self.periodic_allowed())))
        .then_some(self.next_tx);
        match (tx, self.detect_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires the detection timer if it has passed (§6.8.4). Periodic transmission is
    /// [`Session::poll_transmit`]'s business.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.detect_deadline.is_some_and(|d| now >= d) {
            self.detection_expired();
        }
    }

    /// Sets bfd.SessionState to AdminDown (diagnostic 7); the peer is told in the next
    /// packets (a Detect Mult's worth), then the session goes silent (§6.8.16).
    pub fn admin_down(&mut self, now: Instant) {
        if self.state == State::AdminDown {
            return;
        }
        self.admin_packets_left = self.config.detect_mult.max(self.remote_detect_mult);
        self.next_tx = self.next_tx.min(now);
        self.set_state(State::AdminDown, Diagnostic::AdministrativelyDown);
    }

    /// Leaves AdminDown for Down (diagnostic cleared); an active session starts sending.
    pub fn admin_up(&mut self, now: Instant) {
        if self.state != State::AdminDown {
            return;
        }
        self.admin_packets_left = 0;
        self.next_tx = self.next_tx.min(now);
        self.set_state(State::Down, Diagnostic::None);
    }

    /// Changes the configured intervals (§6.8.3). While Up a Poll Sequence announces them; a
    /// longer transmit interval and a shorter receive interval take effect when it ends.
    pub fn set_intervals(
        &mut self,
        now: Instant,
        desired_min_tx: Duration,
        required_min_rx: Duration,
    ) -> Result<(), Error> {
        let mut c = self.config.clone();
        c.desired_min_tx = desired_min_tx;
        c.required_min_rx = required_min_rx;
        c.validate()?;
        self.config = c;
        // The change itself is timeless; `now` keeps the API uniform.
        let _ = now;
        self.update_intervals();
        Ok(())
    }

    /// Handles a received Control packet (its UDP payload): the checks of §6.8.6 (a discarded
    /// packet is an `Err` and changes nothing) and then the state table.
    pub fn handle_packet(&mut self, now: Instant, bytes: &[u8]) -> Result<(), Error> {
        let result = Packet::new_checked(bytes)
            .and_then(|p| Repr::parse(&p))
            .and_then(|r| {
                self.check_packet(now, &r, Some(bytes))?;
                Ok(r)
            });
        match result {
            Ok(r) => {
                self.accept(now, &r);
                Ok(())
            }
            Err(e) => {
                self.stats.packets_discarded += 1;
                Err(e)
            }
        }
    }

    /// Handles a parsed packet (no authentication octets to check: a session with
    /// authentication configured discards it).
    pub fn handle_repr(&mut self, now: Instant, repr: &Repr) -> Result<(), Error> {
        match self.check_packet(now, repr, None) {
            Ok(()) => {
                self.accept(now, repr);
                Ok(())
            }
            Err(e) => {
                self.stats.packets_discarded += 1;
                Err(e)
            }
        }
    }

    /// The next packet to send at `now`, if one is due: a Final answering a Poll, a packet on
    /// a state change or Poll start, or the periodic packet (after which the next is
    /// scheduled with jitter).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if self.final_pending {
            self.final_pending = false;
            return Some(self.build(true));
        }
        if !self.sending_allowed() {
            // Passive and not heard yet, or AdminDown and silent: nothing owed either.
            self.send_now = false;
            return None;
        }
        let due = self.send_now || now >= self.next_tx;
        if !due {
            return None;
        }
        if !self.periodic_allowed() && !self.send_now {
            return None;
        }
        self.send_now = false;
        if self.state == State::AdminDown {
            self.admin_packets_left = self.admin_packets_left.saturating_sub(1);
        }
        self.next_tx = now + self.jittered_interval();
        self.last_tx = Some(now);
        Some(self.build(false))
    }

    /// Whether anything may be sent at all: not passive before the peer is heard, not
    /// AdminDown after the last notice.
    fn sending_allowed(&self) -> bool {
        if self.config.passive && self.remote_discr == 0 {
            return false;
        }
        !(self.state == State::AdminDown && self.admin_packets_left == 0)
    }

    /// Whether periodic packets go out (§6.8.7).
    fn periodic_allowed(&self) -> bool {
        if !self.sending_allowed() || self.remote_min_rx == 0 {
            return false;
        }
        let remote_demand =
            self.remote_demand && self.state == State::Up && self.remote_state == State::Up;
        !remote_demand || self.poll_active
    }

    fn jittered_interval(&mut self) -> Duration {
        let interval = u64::from(self.tx_in_use.max(self.remote_min_rx));
        // 75–100 % of the interval, or 75–90 % when bfd.DetectMult is 1 (§6.8.7).
        let low = interval * 3 / 4;
        let high = if self.config.detect_mult == 1 {
            interval * 9 / 10
        } else {
            interval
        };
        // At least 1 µs, so that a tiny interval never schedules a packet for `now` again.
        Duration::from_micros((low + self.rng.below(high - low + 1)).max(1))
    }

    fn build(&mut self, is_final: bool) -> Transmit {
        let auth = self.auth_template.map(|mut a| {
            self.xmit_auth_seq = self.xmit_auth_seq.wrapping_add(1);
            if let Auth::KeyedMd5 { sequence, .. } | Auth::KeyedSha1 { sequence, .. } = &mut a {
                *sequence = self.xmit_auth_seq;
            }
            a
        });
        let repr = Repr {
            diagnostic: self.local_diag,
            state: self.state,
            poll: self.poll_active && !is_final,
            final_: is_final,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.config.detect_mult,
            my_discriminator: self.local_discr,
            your_discriminator: self.remote_discr,
            desired_min_tx: self.desired_min_tx,
            required_min_rx: self.required_min_rx,
            required_min_echo_rx: 0,
            auth,
        };
        let (mut buf, len) = repr.to_bytes();
        if let Some(a) = &self.config.auth {
            // The key length was validated at construction, so signing cannot fail.
            let _ = auth::sign(&mut buf[..len], &a.key);
        }
        self.stats.packets_out += 1;
        Transmit { buf, len }
    }

    /// The §6.8.6 checks that need the session: discriminator and authentication.
    fn check_packet(&mut self, now: Instant, r: &Repr, bytes: Option<&[u8]>) -> Result<(), Error> {
        if r.your_discriminator != 0 && r.your_discriminator != self.local_discr {
            return Err(Error::AuthFailed("Your Discriminator is not ours"));
        }
        match (&self.config.auth, &r.auth) {
            (None, None) => Ok(()),
            (None, Some(_)) => Err(Error::AuthFailed("A bit set, no authentication configured")),
            (Some(_), None) => Err(Error::AuthFailed("A bit clear, authentication configured")),
            (Some(cfg), Some(a)) => {
                if a.auth_type() != cfg.auth_type {
                    return Err(Error::AuthFailed("authentication type differs"));
                }
                if a.key_id() != cfg.key_id {
                    return Err(Error::AuthFailed("unknown key ID"));
                }
                let bytes = bytes.ok_or(Error::AuthFailed("no octets to verify"))?;
                auth::verify(bytes, &cfg.key)?;
                if let Some(seq) = a.sequence() {
                    // bfd.AuthSeqKnown lapses after twice the detection time of silence.
                    if let (Some(last), Some(dt)) = (self.last_rx, self.detection_time())
                        && now.saturating_duration_since(last) > dt * 2
                    {
                        self.auth_seq_known = false;
                    }
                    if self.auth_seq_known {
                        let window = 3 * u32::from(r.detect_mult);
                        let ahead = seq.wrapping_sub(self.rcv_auth_seq);
                        let ok = if cfg.auth_type.is_meticulous() {
                            (1..=window).contains(&ahead)
                        } else {
                            ahead <= window
                        };
                        if !ok {
                            return Err(Error::AuthFailed("sequence number out of window"));
                        }
                    }
                    self.rcv_auth_seq = seq;
                    self.auth_seq_known = true;
                }
                Ok(())
            }
        }
    }

    /// §6.8.6 after the checks.
    fn accept(&mut self, now: Instant, r: &Repr) {
        self.stats.packets_in += 1;
        let was_silent = !self.periodic_allowed();
        let old_interval = self.tx_interval();
        self.remote_discr = r.my_discriminator;
        self.remote_state = r.state;
        self.remote_demand = r.demand;
        self.remote_min_rx = r.required_min_rx;
        self.remote_desired_min_tx = r.desired_min_tx;
        self.remote_detect_mult = r.detect_mult;
        if r.final_ && self.poll_active {
            self.end_poll();
        }
        self.last_rx = Some(now);
        self.detect_deadline = self.detection_time().map(|d| now + d);
        if was_silent && self.periodic_allowed() {
            // A passive session heard its peer, or the peer allowed periodic packets again.
            self.next_tx = now;
        } else if self.tx_interval() != old_interval
            && let Some(last) = self.last_tx
        {
            // The peer changed its Required Min RX Interval: the next packet keeps to it.
            self.next_tx = last + self.jittered_interval();
        }
        if self.state == State::AdminDown {
            return;
        }
        if r.poll {
            self.final_pending = true;
        }
        if r.state == State::AdminDown {
            if self.state != State::Down {
                self.set_state(State::Down, Diagnostic::NeighborSignaledSessionDown);
            }
            return;
        }
        match (self.state, r.state) {
            (State::Down, State::Down) => self.set_state(State::Init, Diagnostic::None),
            (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                self.set_state(State::Up, Diagnostic::None)
            }
            (State::Up, State::Down) => {
                self.set_state(State::Down, Diagnostic::NeighborSignaledSessionDown)
            }
            _ => {}
        }
    }

    fn detection_expired(&mut self) {
        self.detect_deadline = None;
        self.remote_discr = 0;
        self.remote_state = State::Down;
        self.remote_min_rx = 1;
        self.remote_desired_min_tx = 0;
        self.remote_detect_mult = 0;
        self.remote_demand = false;
        self.auth_seq_known = false;
        self.poll_active = false;
        self.poll_pending = false;
        self.final_pending = false;
        if matches!(self.state, State::Init | State::Up) {
            self.set_state(State::Down, Diagnostic::ControlDetectionTimeExpired);
        }
    }

    fn set_state(&mut self, to: State, diagnostic: Diagnostic) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.local_diag = diagnostic;
        if to == State::Up {
            self.stats.up_events += 1;
        } else if from == State::Up {
            self.stats.down_events += 1;
        }
        self.events.push_back(Event::StateChanged {
            from,
            to,
            diagnostic,
        });
        self.send_now = true;
        self.update_intervals();
    }

    /// Recomputes bfd.DesiredMinTxInterval (slow until Up) and bfd.RequiredMinRxInterval
    /// from the configuration and starts a Poll Sequence when either changed (§6.8.3).
    fn update_intervals(&mut self) {
        let configured = micros(self.config.desired_min_tx).unwrap_or(u32::MAX);
        let slow = micros(SLOW_TX).unwrap_or(u32::MAX);
        let tx = if self.state == State::Up {
            configured
        } else {
            configured.max(slow)
        };
        let rx = micros(self.config.required_min_rx).unwrap_or(u32::MAX);
        if tx == self.desired_min_tx && rx == self.required_min_rx {
            return;
        }
        self.desired_min_tx = tx;
        self.required_min_rx = rx;
        // Immediate where safe: a shorter transmit interval, a longer receive interval, and
        // anything while not Up.
        let up = self.state == State::Up;
        if !(up && tx > self.tx_in_use) {
            self.tx_in_use = tx;
        }
        if !(up && rx < self.rx_in_use) {
            self.rx_in_use = rx;
        }
        if let (Some(last), Some(d)) = (self.last_rx, self.detection_time()) {
            self.detect_deadline = Some(last + d);
        }
        if self.remote_discr == 0 || self.state == State::AdminDown {
            // Nobody to answer a Poll: everything applies now.
            self.tx_in_use = tx;
            self.rx_in_use = rx;
            return;
        }
        if self.poll_active {
            self.poll_pending = true;
        } else {
            self.start_poll();
        }
    }

    fn start_poll(&mut self) {
        self.poll_active = true;
        self.poll_values = (self.desired_min_tx, self.required_min_rx);
        self.send_now = true;
    }

    fn end_poll(&mut self) {
        self.poll_active = false;
        // What the finished Poll announced is agreed now; a later change that was deferred
        // waits for the next Poll.
        let (tx, rx) = self.poll_values;
        self.tx_in_use = tx.min(self.desired_min_tx);
        self.rx_in_use = rx.max(self.required_min_rx);
        if let (Some(last), Some(d)) = (self.last_rx, self.detection_time()) {
            self.detect_deadline = Some(last + d);
        }
        if std::mem::take(&mut self.poll_pending) {
            let up = self.state == State::Up;
            if !(up && self.desired_min_tx > self.tx_in_use) {
                self.tx_in_use = self.desired_min_tx;
            }
            if !(up && self.required_min_rx < self.rx_in_use) {
                self.rx_in_use = self.required_min_rx;
            }
            self.start_poll();
        }
    }
}

#[cfg(test)]
mod tests;
