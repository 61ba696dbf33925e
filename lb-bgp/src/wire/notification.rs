//! NOTIFICATION (RFC 4271 §4.5) with every error code and subcode IANA lists for BGP-4
//! (RFC 4271, 4486, 5492, 6608, 7313, 8538, 9234, 9384, 9687), and the shutdown communication
//! of RFC 8203 / RFC 9003.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::fmt;

use super::Error;
use super::header::{MessageType, write_header};

macro_rules! subcodes {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $var:ident = $v:expr, $text:expr;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $var,)*
            /// A subcode without a name here.
            Unknown(u8),
        }
        impl From<u8> for $name {
            fn from(v: u8) -> Self {
                match v { $($v => $name::$var,)* v => $name::Unknown(v) }
            }
        }
        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                match v { $($name::$var => $v,)* $name::Unknown(v) => v }
            }
        }
        impl $name {
            /// The IANA description.
            pub fn description(self) -> &'static str {
                match self { $($name::$var => $text,)* $name::Unknown(_) => "unknown subcode" }
            }
        }
    };
}

subcodes!(
    /// Message Header Error subcodes (code 1).
    HeaderSubcode {
        /// 0.
        Unspecific = 0, "Unspecific";
        /// 1.
        ConnectionNotSynchronized = 1, "Connection Not Synchronized";
        /// 2.
        BadMessageLength = 2, "Bad Message Length";
        /// 3.
        BadMessageType = 3, "Bad Message Type";
    }
);

subcodes!(
    /// OPEN Message Error subcodes (code 2).
    OpenSubcode {
        /// 0.
        Unspecific = 0, "Unspecific";
        /// 1.
        UnsupportedVersionNumber = 1, "Unsupported Version Number";
        /// 2.
        BadPeerAs = 2, "Bad Peer AS";
        /// 3.
        BadBgpIdentifier = 3, "Bad BGP Identifier";
        /// 4.
        UnsupportedOptionalParameter = 4, "Unsupported Optional Parameter";
        /// 5, deprecated (was Authentication Failure).
        Deprecated5 = 5, "Deprecated (Authentication Failure)";
        /// 6.
        UnacceptableHoldTime = 6, "Unacceptable Hold Time";
        /// 7 (RFC 5492).
        UnsupportedCapability = 7, "Unsupported Capability";
        /// 8, deprecated.
        Deprecated8 = 8, "Deprecated";
        /// 9, deprecated.
        Deprecated9 = 9, "Deprecated";
        /// 10, deprecated.
        Deprecated10 = 10, "Deprecated";
        /// 11 (RFC 9234).
        RoleMismatch = 11, "Role Mismatch";
    }
);

subcodes!(
    /// UPDATE Message Error subcodes (code 3).
    UpdateSubcode {
        /// 0.
        Unspecific = 0, "Unspecific";
        /// 1.
        MalformedAttributeList = 1, "Malformed Attribute List";
        /// 2.
        UnrecognizedWellKnownAttribute = 2, "Unrecognized Well-known Attribute";
        /// 3.
        MissingWellKnownAttribute = 3, "Missing Well-known Attribute";
        /// 4.
        AttributeFlagsError = 4, "Attribute Flags Error";
        /// 5.
        AttributeLengthError = 5, "Attribute Length Error";
        /// 6.
        InvalidOriginAttribute = 6, "Invalid ORIGIN Attribute";
        /// 7, deprecated (was AS Routing Loop).
        Deprecated7 = 7, "Deprecated (AS Routing Loop)";
        /// 8.
        InvalidNextHopAttribute = 8, "Invalid NEXT_HOP Attribute";
        /// 9.
        OptionalAttributeError = 9, "Optional Attribute Error";
        /// 10.
        InvalidNetworkField = 10, "Invalid Network Field";
        /// 11.
        MalformedAsPath = 11, "Malformed AS_PATH";
    }
);

subcodes!(
    /// Finite State Machine Error subcodes (code 5, RFC 6608).
    FsmSubcode {
        /// 0.
        Unspecified = 0, "Unspecified Error";
        /// 1.
        UnexpectedInOpenSent = 1, "Receive Unexpected Message in OpenSent State";
        /// 2.
        UnexpectedInOpenConfirm = 2, "Receive Unexpected Message in OpenConfirm State";
        /// 3.
        UnexpectedInEstablished = 3, "Receive Unexpected Message in Established State";
    }
);

subcodes!(
    /// Cease subcodes (code 6, RFC 4486, 8538, 9384).
    CeaseSubcode {
        /// 0.
        Unspecific = 0, "Unspecific";
        /// 1.
        MaximumPrefixesReached = 1, "Maximum Number of Prefixes Reached";
        /// 2 (may carry a shutdown communication).
        AdministrativeShutdown = 2, "Administrative Shutdown";
        /// 3.
        PeerDeconfigured = 3, "Peer De-configured";
        /// 4 (may carry a shutdown communication).
        AdministrativeReset = 4, "Administrative Reset";
        /// 5.
        ConnectionRejected = 5, "Connection Rejected";
        /// 6.
        OtherConfigurationChange = 6, "Other Configuration Change";
        /// 7.
        ConnectionCollisionResolution = 7, "Connection Collision Resolution";
        /// 8.
        OutOfResources = 8, "Out of Resources";
        /// 9 (RFC 8538).
        HardReset = 9, "Hard Reset";
        /// 10 (RFC 9384).
        BfdDown = 10, "BFD Down";
    }
);

subcodes!(
    /// ROUTE-REFRESH Message Error subcodes (code 7, RFC 7313).
    RouteRefreshSubcode {
        /// 0.
        Reserved = 0, "Reserved";
        /// 1.
        InvalidMessageLength = 1, "Invalid Message Length";
    }
);

/// A NOTIFICATION's error code with its named subcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 1.
    MessageHeader(HeaderSubcode),
    /// 2.
    Open(OpenSubcode),
    /// 3.
    Update(UpdateSubcode),
    /// 4 (subcode unused).
    HoldTimerExpired(u8),
    /// 5.
    Fsm(FsmSubcode),
    /// 6.
    Cease(CeaseSubcode),
    /// 7.
    RouteRefresh(RouteRefreshSubcode),
    /// 8 (RFC 9687, subcode unused).
    SendHoldTimerExpired(u8),
    /// Any other code.
    Unknown(u8, u8),
}

impl ErrorCode {
    /// Names a (code, subcode) pair.
    pub fn new(code: u8, sub: u8) -> Self {
        match code {
            1 => ErrorCode::MessageHeader(sub.into()),
            2 => ErrorCode::Open(sub.into()),
            3 => ErrorCode::Update(sub.into()),
            4 => ErrorCode::HoldTimerExpired(sub),
            5 => ErrorCode::Fsm(sub.into()),
            6 => ErrorCode::Cease(sub.into()),
            7 => ErrorCode::RouteRefresh(sub.into()),
            8 => ErrorCode::SendHoldTimerExpired(sub),
            c => ErrorCode::Unknown(c, sub),
        }
    }

    /// The (code, subcode) pair.
    pub fn to_pair(self) -> (u8, u8) {
        match self {
            ErrorCode::MessageHeader(s) => (1, s.into()),
            ErrorCode::Open(s) => (2, s.into()),
            ErrorCode::Update(s) => (3, s.into()),
            ErrorCode::HoldTimerExpired(s) => (4, s),
            ErrorCode::Fsm(s) => (5, s.into()),
            ErrorCode::Cease(s) => (6, s.into()),
            ErrorCode::RouteRefresh(s) => (7, s.into()),
            ErrorCode::SendHoldTimerExpired(s) => (8, s),
            ErrorCode::Unknown(c, s) => (c, s),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::MessageHeader(s) => write!(f, "Message Header Error / {}", s.description()),
            ErrorCode::Open(s) => write!(f, "OPEN Message Error / {}", s.description()),
            ErrorCode::Update(s) => write!(f, "UPDATE Message Error / {}", s.description()),
            ErrorCode::HoldTimerExpired(_) => f.write_str("Hold Timer Expired"),
            ErrorCode::Fsm(s) => write!(f, "Finite State Machine Error / {}", s.description()),
            ErrorCode::Cease(s) => write!(f, "Cease / {}", s.description()),
            ErrorCode::RouteRefresh(s) => {
                write!(f, "ROUTE-REFRESH Message Error / {}", s.description())
            }
            ErrorCode::SendHoldTimerExpired(_) => f.write_str("Send Hold Timer Expired"),
            ErrorCode::Unknown(c, s) => write!(f, "error code {c} subcode {s}"),
        }
    }
}

/// A NOTIFICATION, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationMessage<'a> {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data.
    pub data: &'a [u8],
}

/// The shutdown communication in `data` for Cease / Administrative Shutdown or Reset: a length
/// octet and that many octets of UTF-8 (RFC 9003 §2; at most 128 in RFC 8203, 255 since).
fn shutdown_communication(code: u8, subcode: u8, data: &[u8]) -> Option<&str> {
    if code != 6 || !(subcode == 2 || subcode == 4) {
        return None;
    }
    let (&len, rest) = data.split_first()?;
    std::str::from_utf8(rest.get(..usize::from(len))?).ok()
}

impl<'a> NotificationMessage<'a> {
    /// Parses a NOTIFICATION body (at least code and subcode, which framing guarantees).
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let (&[code, subcode], data) =
            body.split_first_chunk::<2>()
                .ok_or(Error::BadMessageLength(
                    (body.len() + super::header::HEADER_LEN) as u16,
                ))?;
        Ok(NotificationMessage {
            code,
            subcode,
            data,
        })
    }

    /// The named code and subcode.
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::new(self.code, self.subcode)
    }

    /// The RFC 8203 / RFC 9003 shutdown communication, if the message carries a valid one.
    pub fn shutdown_communication(&self) -> Option<&'a str> {
        shutdown_communication(self.code, self.subcode, self.data)
    }
}

/// A NOTIFICATION, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data.
    pub data: Vec<u8>,
}

impl From<&NotificationMessage<'_>> for Notification {
    fn from(m: &NotificationMessage<'_>) -> Self {
        Notification {
            code: m.code,
            subcode: m.subcode,
            data: m.data.to_vec(),
        }
    }
}

impl Notification {
    /// A Cease with a shutdown communication (RFC 9003): `subcode` should be
    /// [`CeaseSubcode::AdministrativeShutdown`] or [`CeaseSubcode::AdministrativeReset`]. The
    /// text is cut at a character boundary to fit 255 octets.
    pub fn shutdown(subcode: CeaseSubcode, text: &str) -> Self {
        let mut end = text.len().min(255);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut data = Vec::with_capacity(end + 1);
        data.push(end as u8);
        data.extend_from_slice(&text.as_bytes()[..end]);
        Notification {
            code: 6,
            subcode: subcode.into(),
            data,
        }
    }

    /// The NOTIFICATION reporting a decode error, or `None` for local (encode) errors.
    pub fn from_error(e: &Error) -> Option<Self> {
        let (code, subcode) = e.notification()?;
        let (d, n) = e.notification_data();
        Some(Notification {
            code,
            subcode,
            data: d[..n].to_vec(),
        })
    }

    /// The NOTIFICATION reporting an error found in `message` (the whole message, header
    /// included): as [`Notification::from_error`], and for an attribute error the erroneous
    /// attribute as its data (RFC 4271 §6.3, see [`Error::attribute_in`]). `None` for local
    /// (encode) errors.
    pub fn from_message_error(e: &Error, message: &[u8]) -> Option<Self> {
        let mut n = Self::from_error(e)?;
        if let Some(attribute) = e.attribute_in(message) {
            n.data.extend_from_slice(attribute);
        }
        Some(n)
    }

    /// The named code and subcode.
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::new(self.code, self.subcode)
    }

    /// The shutdown communication, if any.
    pub fn shutdown_communication(&self) -> Option<&str> {
        shutdown_communication(self.code, self.subcode, &self.data)
    }

    /// Appends the message.
    pub fn encode(&self, dst: &mut Vec<u8>) -> Result<(), Error> {
        let total = u16::try_from(super::header::HEADER_LEN + 2 + self.data.len())
            .ok()
            .filter(|&n| usize::from(n) <= super::header::MAX_MESSAGE_LEN)
            .ok_or(Error::TooLarge)?;
        write_header(dst, MessageType::Notification, total);
        dst.push(self.code);
        dst.push(self.subcode);
        dst.extend_from_slice(&self.data);
        Ok(())
    }
}
