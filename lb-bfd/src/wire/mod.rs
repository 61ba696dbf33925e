//! The BFD Control packet (RFC 5880 §4.1): a zero-copy view [`Packet`] and its owned form
//! [`Repr`].
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       My Discriminator                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Your Discriminator                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Desired Min TX Interval                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Required Min RX Interval                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Required Min Echo RX Interval                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! An optional Authentication Section MAY be present (A bit set):
//!
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Auth Len    |    Authentication Data...     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Intervals are in microseconds. The contract of [`Packet`]: after [`Packet::check_len`] (which
//! [`Packet::new_checked`] runs) no accessor panics. [`Repr::parse`] applies the packet-level
//! discard rules of RFC 5880 §6.8.6 (version, Length, Detect Mult, Multipoint, the
//! discriminators, the authentication section's shape); the session applies the rest.

pub mod auth;

use crate::Error;

pub use auth::{Auth, AuthType, Password};

/// Length of the mandatory section.
pub const HEADER_LEN: usize = 24;
/// Length of the longest packet this crate emits or accepts with authentication: the
/// mandatory section and a Keyed SHA1 section.
pub const MAX_LEN: usize = HEADER_LEN + auth::SHA1_LEN;
/// The only version (RFC 5880 §4.1).
pub const VERSION: u8 = 1;

mod field {
    use std::ops::Range;

    /// Version (3 bits) and Diagnostic (5 bits).
    pub const VERS_DIAG: usize = 0;
    /// State (2 bits) and the flags P F C A D M.
    pub const STA_FLAGS: usize = 1;
    pub const DETECT_MULT: usize = 2;
    pub const LENGTH: usize = 3;
    pub const MY_DISCR: Range<usize> = 4..8;
    pub const YOUR_DISCR: Range<usize> = 8..12;
    pub const DESIRED_MIN_TX: Range<usize> = 12..16;
    pub const REQUIRED_MIN_RX: Range<usize> = 16..20;
    pub const REQUIRED_MIN_ECHO_RX: Range<usize> = 20..24;
    pub const AUTH_TYPE: usize = 24;
    pub const AUTH_LEN: usize = 25;
    pub const AUTH_DATA: usize = 26;

    pub const FLAG_P: u8 = 0x20;
    pub const FLAG_F: u8 = 0x10;
    pub const FLAG_C: u8 = 0x08;
    pub const FLAG_A: u8 = 0x04;
    pub const FLAG_D: u8 = 0x02;
    pub const FLAG_M: u8 = 0x01;
}

/// The diagnostic code (RFC 5880 §4.1), the local system's reason for the last change of
/// session state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diagnostic {
    /// 0 -- No Diagnostic.
    None,
    /// 1 -- Control Detection Time Expired.
    ControlDetectionTimeExpired,
    /// 2 -- Echo Function Failed.
    EchoFunctionFailed,
    /// 3 -- Neighbor Signaled Session Down.
    NeighborSignaledSessionDown,
    /// 4 -- Forwarding Plane Reset.
    ForwardingPlaneReset,
    /// 5 -- Path Down.
    PathDown,
    /// 6 -- Concatenated Path Down.
    ConcatenatedPathDown,
    /// 7 -- Administratively Down.
    AdministrativelyDown,
    /// 8 -- Reverse Concatenated Path Down.
    ReverseConcatenatedPathDown,
    /// 9-31 -- Reserved for future use.
    Unknown(u8),
}

impl From<u8> for Diagnostic {
    fn from(v: u8) -> Self {
        match v & 0x1f {
            0 => Diagnostic::None,
            1 => Diagnostic::ControlDetectionTimeExpired,
            2 => Diagnostic::EchoFunctionFailed,
            3 => Diagnostic::NeighborSignaledSessionDown,
            4 => Diagnostic::ForwardingPlaneReset,
            5 => Diagnostic::PathDown,
            6 => Diagnostic::ConcatenatedPathDown,
            7 => Diagnostic::AdministrativelyDown,
            8 => Diagnostic::ReverseConcatenatedPathDown,
            other => Diagnostic::Unknown(other),
        }
    }
}

impl From<Diagnostic> for u8 {
    fn from(d: Diagnostic) -> u8 {
        match d {
            Diagnostic::None => 0,
            Diagnostic::ControlDetectionTimeExpired => 1,
            Diagnostic::EchoFunctionFailed => 2,
            Diagnostic::NeighborSignaledSessionDown => 3,
            Diagnostic::ForwardingPlaneReset => 4,
            Diagnostic::PathDown => 5,
            Diagnostic::ConcatenatedPathDown => 6,
            Diagnostic::AdministrativelyDown => 7,
            Diagnostic::ReverseConcatenatedPathDown => 8,
            Diagnostic::Unknown(v) => v & 0x1f,
        }
    }
}

/// The session state as the sender sees it (RFC 5880 §4.1 "Sta").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// 0 -- AdminDown.
    AdminDown,
    /// 1 -- Down.
    Down,
    /// 2 -- Init.
    Init,
    /// 3 -- Up.
    Up,
}

impl From<u8> for State {
    fn from(v: u8) -> Self {
        match v & 0x3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }
}

impl From<State> for u8 {
    fn from(s: State) -> u8 {
        match s {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }
}

/// A read/write view of a BFD Control packet over a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// A view without any check; accessors may panic until [`Packet::check_len`] succeeds.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// A view after [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the mandatory section and the Length field's octets,
    /// that Length is at least 24, and, with the A bit, that the authentication section's
    /// header (2 octets) and its Auth Len octets fit inside Length. After success no accessor
    /// panics.
    pub fn check_len(&self) -> Result<(), Error> {
        let buf = self.buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = buf[field::LENGTH];
        if usize::from(len) < HEADER_LEN {
            return Err(Error::BadLength(len));
        }
        if usize::from(len) > buf.len() {
            return Err(Error::Truncated);
        }
        if buf[field::STA_FLAGS] & field::FLAG_A != 0 {
            if usize::from(len) < field::AUTH_DATA {
                return Err(Error::BadLength(len));
            }
            let auth_len = usize::from(buf[field::AUTH_LEN]);
            if auth_len < 2 || HEADER_LEN + auth_len > usize::from(len) {
                return Err(Error::BadLength(len));
            }
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u32_at(&self, r: std::ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[r];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    fn flag(&self, f: u8) -> bool {
        self.buffer.as_ref()[field::STA_FLAGS] & f != 0
    }

    /// Vers: the protocol version.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERS_DIAG] >> 5
    }

    /// Diag: the local system's reason for its last state change.
    pub fn diagnostic(&self) -> Diagnostic {
        Diagnostic::from(self.buffer.as_ref()[field::VERS_DIAG] & 0x1f)
    }

    /// Sta: the sender's session state.
    pub fn state(&self) -> State {
        State::from(self.buffer.as_ref()[field::STA_FLAGS] >> 6)
    }

    /// P: Poll.
    pub fn poll(&self) -> bool {
        self.flag(field::FLAG_P)
    }

    /// F: Final.
    pub fn final_(&self) -> bool {
        self.flag(field::FLAG_F)
    }

    /// C: Control Plane Independent.
    pub fn control_plane_independent(&self) -> bool {
        self.flag(field::FLAG_C)
    }

    /// A: Authentication Present.
    pub fn auth_present(&self) -> bool {
        self.flag(field::FLAG_A)
    }

    /// D: Demand.
    pub fn demand(&self) -> bool {
        self.flag(field::FLAG_D)
    }

    /// M: Multipoint (reserved, must be zero).
    pub fn multipoint(&self) -> bool {
        self.flag(field::FLAG_M)
    }

    /// Detect Mult.
    pub fn detect_mult(&self) -> u8 {
        self.buffer.as_ref()[field::DETECT_MULT]
    }

    /// Length: the packet's length in octets.
    pub fn length(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }

    /// My Discriminator.
    pub fn my_discriminator(&self) -> u32 {
        self.u32_at(field::MY_DISCR)
    }

    /// Your Discriminator.
    pub fn your_discriminator(&self) -> u32 {
        self.u32_at(field::YOUR_DISCR)
    }

    /// Desired Min TX Interval, in microseconds.
    pub fn desired_min_tx(&self) -> u32 {
        self.u32_at(field::DESIRED_MIN_TX)
    }

    /// Required Min RX Interval, in microseconds.
    pub fn required_min_rx(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_RX)
    }

    /// Required Min Echo RX Interval, in microseconds.
    pub fn required_min_echo_rx(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_ECHO_RX)
    }

    /// Auth Type, when the A bit is set.
    pub fn auth_type(&self) -> Option<AuthType> {
        self.auth_present()
            .then(|| AuthType::from(self.buffer.as_ref()[field::AUTH_TYPE]))
    }

    /// Auth Len, when the A bit is set.
    pub fn auth_len(&self) -> Option<u8> {
        self.auth_present()
            .then(|| self.buffer.as_ref()[field::AUTH_LEN])
    }

    /// The Authentication Data (after Auth Type and Auth Len); empty without the A bit.
    pub fn auth_data(&self) -> &[u8] {
        match self.auth_len() {
            Some(l) => &self.buffer.as_ref()[field::AUTH_DATA..HEADER_LEN + usize::from(l)],
            None => &[],
        }
    }

    /// The packet's octets (the first Length octets of the buffer).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize::from(self.length())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u32_at(&mut self, r: std::ops::Range<usize>, v: u32) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }

    fn set_flag(&mut self, f: u8, on: bool) {
        let b = &mut self.buffer.as_mut()[field::STA_FLAGS];
        if on {
            *b |= f;
        } else {
            *b &= !f;
        }
    }

    /// Sets Vers.
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::VERS_DIAG];
        *b = (*b & 0x1f) | (v << 5);
    }

    /// Sets Diag.
    pub fn set_diagnostic(&mut self, d: Diagnostic) {
        let b = &mut self.buffer.as_mut()[field::VERS_DIAG];
        *b = (*b & 0xe0) | u8::from(d);
    }

    /// Sets Sta.
    pub fn set_state(&mut self, s: State) {
        let b = &mut self.buffer.as_mut()[field::STA_FLAGS];
        *b = (*b & 0x3f) | (u8::from(s) << 6);
    }

    /// Sets P.
    pub fn set_poll(&mut self, on: bool) {
        self.set_flag(field::FLAG_P, on)
    }

    /// Sets F.
    pub fn set_final(&mut self, on: bool) {
        self.set_flag(field::FLAG_F, on)
    }

    /// Sets C.
    pub fn set_control_plane_independent(&mut self, on: bool) {
        self.set_flag(field::FLAG_C, on)
    }

    /// Sets A.
    pub fn set_auth_present(&mut self, on: bool) {
        self.set_flag(field::FLAG_A, on)
    }

    /// Sets D.
    pub fn set_demand(&mut self, on: bool) {
        self.set_flag(field::FLAG_D, on)
    }

    /// Sets M.
    pub fn set_multipoint(&mut self, on: bool) {
        self.set_flag(field::FLAG_M, on)
    }

    /// Sets Detect Mult.
    pub fn set_detect_mult(&mut self, v: u8) {
        self.buffer.as_mut()[field::DETECT_MULT] = v;
    }

    /// Sets Length.
    pub fn set_length(&mut self, v: u8) {
        self.buffer.as_mut()[field::LENGTH] = v;
    }

    /// Sets My Discriminator.
    pub fn set_my_discriminator(&mut self, v: u32) {
        self.set_u32_at(field::MY_DISCR, v)
    }

    /// Sets Your Discriminator.
    pub fn set_your_discriminator(&mut self, v: u32) {
        self.set_u32_at(field::YOUR_DISCR, v)
    }

    /// Sets Desired Min TX Interval (microseconds).
    pub fn set_desired_min_tx(&mut self, v: u32) {
        self.set_u32_at(field::DESIRED_MIN_TX, v)
    }

    /// Sets Required Min RX Interval (microseconds).
    pub fn set_required_min_rx(&mut self, v: u32) {
        self.set_u32_at(field::REQUIRED_MIN_RX, v)
    }

    /// Sets Required Min Echo RX Interval (microseconds).
    pub fn set_required_min_echo_rx(&mut self, v: u32) {
        self.set_u32_at(field::REQUIRED_MIN_ECHO_RX, v)
    }

    /// The whole buffer, for writing the authentication section.
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
}

/// A parsed BFD Control packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Diag.
    pub diagnostic: Diagnostic,
    /// Sta.
    pub state: State,
    /// P: Poll.
    pub poll: bool,
    /// F: Final.
    pub final_: bool,
    /// C: Control Plane Independent.
    pub control_plane_independent: bool,
    /// D: Demand.
    pub demand: bool,
    /// Detect Mult (not zero).
    pub detect_mult: u8,
    /// My Discriminator (not zero).
    pub my_discriminator: u32,
    /// Your Discriminator (zero only in Down and AdminDown).
    pub your_discriminator: u32,
    /// Desired Min TX Interval, microseconds.
    pub desired_min_tx: u32,
    /// Required Min RX Interval, microseconds.
    pub required_min_rx: u32,
    /// Required Min Echo RX Interval, microseconds.
    pub required_min_echo_rx: u32,
    /// The authentication section (the A bit).
    pub auth: Option<Auth>,
}

impl Repr {
    /// Parses a checked packet, applying the packet-level discard rules of RFC 5880 §6.8.6.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr, Error> {
        packet.check_len()?;
        let buf = packet.buffer.as_ref();
        // After check_len the mandatory section is there: read it from a fixed-size array.
        let h: &[u8; HEADER_LEN] = buf
            .get(..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(Error::Truncated)?;
        let u32_at = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let version = h[field::VERS_DIAG] >> 5;
        if version != VERSION {
            return Err(Error::BadVersion(version));
        }
        let flags = h[field::STA_FLAGS];
        let detect_mult = h[field::DETECT_MULT];
        if detect_mult == 0 {
            return Err(Error::ZeroDetectMult);
        }
        if flags & field::FLAG_M != 0 {
            return Err(Error::Multipoint);
        }
        let my_discriminator = u32_at(4);
        if my_discriminator == 0 {
            return Err(Error::ZeroMyDiscriminator);
        }
        let your_discriminator = u32_at(8);
        let state = State::from(flags >> 6);
        if your_discriminator == 0 && !matches!(state, State::Down | State::AdminDown) {
            return Err(Error::ZeroYourDiscriminator(state));
        }
        let auth = if flags & field::FLAG_A != 0 {
            let len = h[field::LENGTH];
            let auth_len = buf[field::AUTH_LEN];
            if usize::from(len) != HEADER_LEN + usize::from(auth_len) {
                return Err(Error::BadLength(len));
            }
            Some(Auth::parse(
                AuthType::from(buf[field::AUTH_TYPE]),
                auth_len,
                packet.auth_data(),
            )?)
        } else {
            None
        };
        Ok(Repr {
            diagnostic: Diagnostic::from(h[field::VERS_DIAG] & 0x1f),
            state,
            poll: flags & field::FLAG_P != 0,
            final_: flags & field::FLAG_F != 0,
            control_plane_independent: flags & field::FLAG_C != 0,
            demand: flags & field::FLAG_D != 0,
            detect_mult,
            my_discriminator,
            your_discriminator,
            desired_min_tx: u32_at(12),
            required_min_rx: u32_at(16),
            required_min_echo_rx: u32_at(20),
            auth,
        })
    }

    /// Parses bytes: [`Packet::new_checked`] then [`Repr::parse`].
    pub fn parse_bytes(bytes: &[u8]) -> Result<Repr, Error> {
        Repr::parse(&Packet::new_checked(bytes)?)
    }

    /// The packet's length: 24 octets and the authentication section.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.auth.as_ref().map_or(0, Auth::len)
    }

    /// Writes the packet into the first [`Repr::buffer_len`] octets of `packet`'s buffer
    /// (which must be at least that long; the caller sizes it). A Keyed MD5 or SHA1 section is
    /// written as it is in the `Repr`; [`auth::sign`] fills in the digest.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let len = self.buffer_len();
        let buf = packet.buffer.as_mut();
        let mut h = [0u8; HEADER_LEN];
        h[field::VERS_DIAG] = (VERSION << 5) | u8::from(self.diagnostic);
        h[field::STA_FLAGS] = (u8::from(self.state) << 6)
            | if self.poll { field::FLAG_P } else { 0 }
            | if self.final_ { field::FLAG_F } else { 0 }
            | if self.control_plane_independent {
                field::FLAG_C
            } else {
                0
            }
            | if self.auth.is_some() {
                field::FLAG_A
            } else {
                0
            }
            | if self.demand { field::FLAG_D } else { 0 };
        h[field::DETECT_MULT] = self.detect_mult;
        // buffer_len is at most MAX_LEN (52), so it fits.
        h[field::LENGTH] = len as u8;
        h[4..8].copy_from_slice(&self.my_discriminator.to_be_bytes());
        h[8..12].copy_from_slice(&self.your_discriminator.to_be_bytes());
        h[12..16].copy_from_slice(&self.desired_min_tx.to_be_bytes());
        h[16..20].copy_from_slice(&self.required_min_rx.to_be_bytes());
        h[20..24].copy_from_slice(&self.required_min_echo_rx.to_be_bytes());
        buf[..HEADER_LEN].copy_from_slice(&h);
        if let Some(a) = &self.auth {
            a.emit(&mut buf[HEADER_LEN..len]);
        }
    }

    /// Emits into a new fixed-size buffer; the packet is its first [`Repr::buffer_len`] octets.
    pub fn to_bytes(&self) -> ([u8; MAX_LEN], usize) {
        let mut buf = [0u8; MAX_LEN];
        self.emit(&mut Packet::new_unchecked(&mut buf[..]));
        (buf, self.buffer_len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Up, P set, Detect Mult 3, My 0x11223344, Your 0x55667788, TX 300 ms, RX 300 ms,
    /// Echo 50 ms, no authentication.
    static UP_POLL: [u8; 24] = [
        0x20, 0xe0, 0x03, 0x18, // vers 1 diag 0 | Up, P | mult 3 | len 24
        0x11, 0x22, 0x33, 0x44, // my
        0x55, 0x66, 0x77, 0x88, // your
        0x00, 0x04, 0x93, 0xe0, // 300000
        0x00, 0x04, 0x93, 0xe0, // 300000
        0x00, 0x00, 0xc3, 0x50, // 50000
    ];

    fn with(byte: usize, value: u8) -> [u8; 24] {
        let mut b = UP_POLL;
        b[byte] = value;
        b
    }

    #[test]
    fn every_field() {
        let p = Packet::new_checked(&UP_POLL[..]).unwrap();
        assert_eq!(p.version(), 1);
        assert_eq!(p.diagnostic(), Diagnostic::None);
        assert_eq!(p.state(), State::Up);
        assert!(p.poll());
        assert!(!p.final_());
        assert!(!p.control_plane_independent());
        assert!(!p.auth_present());
        assert!(!p.demand());
        assert!(!p.multipoint());
        assert_eq!(p.detect_mult(), 3);
        assert_eq!(p.length(), 24);
        assert_eq!(p.my_discriminator(), 0x1122_3344);
        assert_eq!(p.your_discriminator(), 0x5566_7788);
        assert_eq!(p.desired_min_tx(), 300_000);
        assert_eq!(p.required_min_rx(), 300_000);
        assert_eq!(p.required_min_echo_rx(), 50_000);
        assert_eq!(p.auth_type(), None);
        assert_eq!(p.auth_data(), &[] as &[u8]);
        let r = Repr::parse(&p).unwrap();
        assert_eq!(
            r,
            Repr {
                diagnostic: Diagnostic::None,
                state: State::Up,
                poll: true,
                final_: false,
                control_plane_independent: false,
                demand: false,
                detect_mult: 3,
                my_discriminator: 0x1122_3344,
                your_discriminator: 0x5566_7788,
                desired_min_tx: 300_000,
                required_min_rx: 300_000,
                required_min_echo_rx: 50_000,
                auth: None,
            }
        );
        let (buf, len) = r.to_bytes();
        assert_eq!(&buf[..len], &UP_POLL[..]);
    }

    #[test]
    fn every_flag_alone() {
        // byte 1: Sta (2 bits) P F C A D M. Keep Sta = Up (0xc0).
        for (bit, name) in [
            (0x20u8, "P"),
            (0x10, "F"),
            (0x08, "C"),
            (0x02, "D"),
            (0x01, "M"),
        ] {
            let b = with(1, 0xc0 | bit);
            let p = Packet::new_checked(&b[..]).unwrap();
            assert_eq!(p.poll(), name == "P", "{name}");
            assert_eq!(p.final_(), name == "F", "{name}");
            assert_eq!(p.control_plane_independent(), name == "C", "{name}");
            assert_eq!(p.demand(), name == "D", "{name}");
            assert_eq!(p.multipoint(), name == "M", "{name}");
            assert!(!p.auth_present());
            let parsed = Repr::parse(&p);
            if name == "M" {
                assert!(matches!(parsed, Err(Error::Multipoint)));
                continue;
            }
            let r = parsed.unwrap();
            assert_eq!(r.poll, name == "P");
            assert_eq!(r.final_, name == "F");
            assert_eq!(r.control_plane_independent, name == "C");
            assert_eq!(r.demand, name == "D");
            let (out, len) = r.to_bytes();
            assert_eq!(&out[..len], &b[..], "{name}");
        }
        // The A bit alone (no room for a section) is a bad length.
        let b = with(1, 0xc4);
        assert!(matches!(
            Packet::new_checked(&b[..]),
            Err(Error::BadLength(24))
        ));
    }

    #[test]
    fn every_state() {
        for (v, s) in [
            (0x00u8, State::AdminDown),
            (0x40, State::Down),
            (0x80, State::Init),
            (0xc0, State::Up),
        ] {
            let b = with(1, v);
            let r = Repr::parse_bytes(&b).unwrap();
            assert_eq!(r.state, s);
            let (out, len) = r.to_bytes();
            assert_eq!(&out[..len], &b[..]);
        }
    }

    #[test]
    fn every_diagnostic() {
        for code in 0u8..32 {
            let b = with(0, 0x20 | code);
            let r = Repr::parse_bytes(&b).unwrap();
            assert_eq!(u8::from(r.diagnostic), code);
            let expected = match code {
                0 => Diagnostic::None,
                1 => Diagnostic::ControlDetectionTimeExpired,
                2 => Diagnostic::EchoFunctionFailed,
                3 => Diagnostic::NeighborSignaledSessionDown,
                4 => Diagnostic::ForwardingPlaneReset,
                5 => Diagnostic::PathDown,
                6 => Diagnostic::ConcatenatedPathDown,
                7 => Diagnostic::AdministrativelyDown,
                8 => Diagnostic::ReverseConcatenatedPathDown,
                n => Diagnostic::Unknown(n),
            };
            assert_eq!(r.diagnostic, expected);
            let (out, len) = r.to_bytes();
            assert_eq!(&out[..len], &b[..]);
        }
    }

    #[test]
    fn version_must_be_one() {
        for v in [0u8, 2, 7] {
            let b = with(0, v << 5);
            assert!(matches!(Repr::parse_bytes(&b), Err(Error::BadVersion(x)) if x == v));
        }
    }

    #[test]
    fn detect_mult_zero_is_discarded() {
        let b = with(2, 0);
        assert!(matches!(Repr::parse_bytes(&b), Err(Error::ZeroDetectMult)));
        let b = with(2, 255);
        assert_eq!(Repr::parse_bytes(&b).unwrap().detect_mult, 255);
    }

    #[test]
    fn length_rules() {
        // Shorter than the mandatory section.
        assert!(matches!(
            Packet::new_checked(&UP_POLL[..23]),
            Err(Error::Truncated)
        ));
        // Length below 24.
        let b = with(3, 23);
        assert!(matches!(
            Packet::new_checked(&b[..]),
            Err(Error::BadLength(23))
        ));
        // Length beyond the payload.
        let b = with(3, 25);
        assert!(matches!(Packet::new_checked(&b[..]), Err(Error::Truncated)));
        // Trailing octets beyond Length are ignored.
        let mut long = [0u8; 30];
        long[..24].copy_from_slice(&UP_POLL);
        let p = Packet::new_checked(&long[..]).unwrap();
        assert_eq!(p.as_bytes(), &UP_POLL[..]);
        assert!(Repr::parse(&p).is_ok());
    }

    #[test]
    fn discriminator_rules() {
        let mut b = UP_POLL;
        b[4..8].fill(0);
        assert!(matches!(
            Repr::parse_bytes(&b),
            Err(Error::ZeroMyDiscriminator)
        ));
        let mut b = UP_POLL;
        b[8..12].fill(0);
        assert!(matches!(
            Repr::parse_bytes(&b),
            Err(Error::ZeroYourDiscriminator(State::Up))
        ));
        b[1] = 0x80; // Init
        assert!(matches!(
            Repr::parse_bytes(&b),
            Err(Error::ZeroYourDiscriminator(State::Init))
        ));
        b[1] = 0x40; // Down: allowed
        assert_eq!(Repr::parse_bytes(&b).unwrap().your_discriminator, 0);
        b[1] = 0x00; // AdminDown: allowed
        assert_eq!(Repr::parse_bytes(&b).unwrap().state, State::AdminDown);
    }

    #[test]
    fn intervals_are_big_endian_microseconds() {
        let mut b = UP_POLL;
        b[12..16].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        b[16..20].copy_from_slice(&[0, 0, 0, 0]);
        b[20..24].copy_from_slice(&[0, 0x0f, 0x42, 0x40]);
        let r = Repr::parse_bytes(&b).unwrap();
        assert_eq!(r.desired_min_tx, u32::MAX);
        assert_eq!(r.required_min_rx, 0);
        assert_eq!(r.required_min_echo_rx, 1_000_000);
    }

    #[test]
    fn setters_touch_only_their_bits() {
        let mut b = [0u8; 24];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_version(1);
        p.set_diagnostic(Diagnostic::Unknown(31));
        assert_eq!(p.version(), 1);
        p.set_state(State::Up);
        p.set_multipoint(true);
        p.set_poll(true);
        p.set_poll(false);
        assert_eq!(p.state(), State::Up);
        assert!(p.multipoint());
        assert!(!p.poll());
        assert_eq!(b[0], 0x3f);
        assert_eq!(b[1], 0xc1);
    }
}
