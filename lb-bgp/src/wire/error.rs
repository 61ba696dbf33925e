//! Decode and encode errors, and what the session must do about each (RFC 4271 §6, RFC 7606).
//!
//! Every [`Error`] the decoder returns names the NOTIFICATION it corresponds to
//! ([`Error::notification`]) and the action RFC 7606 prescribes ([`Error::action`]). Only errors
//! whose action is [`ErrorAction::SessionReset`] make a parse function fail; the others are reported
//! beside a usable message (see [`UpdateMessage::attribute_error`](super::UpdateMessage::attribute_error)).

use super::attribute::AttributeType;
use super::header::MessageType;

/// What a BGP speaker does about a malformed message (RFC 7606 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorAction {
    /// Send the NOTIFICATION from [`Error::notification`] and close the session.
    SessionReset,
    /// Keep the session; every route of the UPDATE (NLRI and MP_REACH_NLRI) is withdrawn.
    TreatAsWithdraw,
    /// Keep the session and the routes; drop the offending attribute.
    AttributeDiscard,
    /// The error was found while encoding; nothing was sent.
    Local,
}

/// A malformed BGP message, or a message that cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The 16-octet marker is not all ones (Message Header Error / Connection Not Synchronized).
    #[error("message header marker is not all ones")]
    ConnectionNotSynchronized,
    /// The header's length field is out of range for the message type (Bad Message Length).
    #[error("bad message length {0}")]
    BadMessageLength(u16),
    /// The header's type field is not one this codec knows (Bad Message Type).
    #[error("bad message type {0}")]
    BadMessageType(u8),
    /// OPEN version is not 4 (OPEN Message Error / Unsupported Version Number).
    #[error("unsupported BGP version {0}")]
    UnsupportedVersion(u8),
    /// OPEN BGP Identifier is 0.0.0.0 (OPEN Message Error / Bad BGP Identifier).
    #[error("bad BGP identifier")]
    BadBgpIdentifier,
    /// OPEN hold time is 1 or 2 seconds (OPEN Message Error / Unacceptable Hold Time).
    #[error("unacceptable hold time {0}")]
    UnacceptableHoldTime(u16),
    /// OPEN optional parameter other than Capabilities (Unsupported Optional Parameter).
    #[error("unsupported optional parameter {0}")]
    UnsupportedOptionalParameter(u8),
    /// OPEN optional parameters or capabilities whose lengths do not add up
    /// (OPEN Message Error, unspecific subcode).
    #[error("malformed optional parameters")]
    MalformedOptionalParameters,
    /// UPDATE length fields do not add up, a fragment is left over in the path attributes,
    /// or MP_REACH_NLRI / MP_UNREACH_NLRI appears twice (Malformed Attribute List).
    #[error("malformed attribute list")]
    MalformedAttributeList,
    /// An attribute's length runs past the end of the path attributes field (RFC 7606 §4).
    #[error("path attribute {0} runs past the attributes field")]
    AttributeOverrun(u8),
    /// An attribute that is not MP_REACH/MP_UNREACH appears twice (RFC 7606 §3 g).
    #[error("duplicate path attribute {0}")]
    DuplicateAttribute(u8),
    /// A well-known attribute this codec does not recognise (Unrecognized Well-known Attribute).
    #[error("unrecognised well-known attribute {0}")]
    UnrecognizedWellKnownAttribute(u8),
    /// ORIGIN, AS_PATH or NEXT_HOP missing in an UPDATE carrying NLRI (Missing Well-known
    /// Attribute); the value is the missing type code.
    #[error("missing well-known attribute {0}")]
    MissingWellKnownAttribute(u8),
    /// Optional or transitive bit wrong for the attribute type (Attribute Flags Error).
    #[error("attribute flags 0x{flags:02x} wrong for attribute {type_code}")]
    AttributeFlags {
        /// Attribute type code.
        type_code: u8,
        /// The received flags octet.
        flags: u8,
    },
    /// The attribute's length is wrong for its type (Attribute Length Error).
    #[error("attribute {type_code} has bad length {len}")]
    AttributeLength {
        /// Attribute type code.
        type_code: u8,
        /// The received length.
        len: u16,
    },
    /// ORIGIN is not IGP, EGP or INCOMPLETE (Invalid ORIGIN Attribute).
    #[error("invalid ORIGIN {0}")]
    InvalidOrigin(u8),
    /// NEXT_HOP or MP_REACH_NLRI next hop is malformed (Invalid NEXT_HOP Attribute).
    #[error("invalid NEXT_HOP")]
    InvalidNextHop,
    /// An optional attribute's content is malformed (Optional Attribute Error).
    #[error("malformed optional attribute {0}")]
    OptionalAttribute(u8),
    /// The NLRI, withdrawn routes or MP NLRI field is syntactically wrong (Invalid Network Field).
    #[error("invalid network field")]
    InvalidNetworkField,
    /// AS_PATH or AS4_PATH segment type or length wrong (Malformed AS_PATH); the value is the
    /// attribute type code (2 or 17).
    #[error("malformed AS path in attribute {0}")]
    MalformedAsPath(u8),
    /// ROUTE-REFRESH with a length other than 23 octets for a BoRR/EoRR subtype
    /// (ROUTE-REFRESH Message Error / Invalid Message Length, RFC 7313).
    #[error("ROUTE-REFRESH message has invalid length {0}")]
    RouteRefreshLength(u16),
    /// LOCAL_PREF received from an external neighbour (RFC 7606 §7.5: attribute discard; RFC
    /// 4271 §5.1.5 ignores it, so no NOTIFICATION corresponds).
    #[error("LOCAL_PREF from an external neighbour")]
    LocalPrefFromExternal,
    /// The message would exceed the negotiated maximum size, or a field its length octet.
    #[error("message too large to encode")]
    TooLarge,
    /// The message has an address family this codec cannot encode.
    #[error("address family cannot be encoded here")]
    UnsupportedFamily,
}

/// RFC 7606 §7: what a malformed attribute of each type costs.
fn attribute_action(type_code: u8) -> ErrorAction {
    match AttributeType::from(type_code) {
        AttributeType::AtomicAggregate
        | AttributeType::Aggregator
        | AttributeType::As4Path
        | AttributeType::As4Aggregator => ErrorAction::AttributeDiscard,
        AttributeType::MpReachNlri | AttributeType::MpUnreachNlri => ErrorAction::SessionReset,
        _ => ErrorAction::TreatAsWithdraw,
    }
}

impl Error {
    /// The NOTIFICATION (code, subcode) that reports this error to the peer (RFC 4271 §4.5,
    /// RFC 7313 §5). [`Error::TooLarge`] and [`Error::UnsupportedFamily`] are local and give
    /// `None`, as does [`Error::LocalPrefFromExternal`], which RFC 4271 ignores rather than
    /// reports.
    pub fn notification(&self) -> Option<(u8, u8)> {
        use Error::*;
        Some(match self {
            ConnectionNotSynchronized => (1, 1),
            BadMessageLength(_) => (1, 2),
            BadMessageType(_) => (1, 3),
            UnsupportedVersion(_) => (2, 1),
            BadBgpIdentifier => (2, 3),
            UnsupportedOptionalParameter(_) => (2, 4),
            UnacceptableHoldTime(_) => (2, 6),
            MalformedOptionalParameters => (2, 0),
            MalformedAttributeList | AttributeOverrun(_) | DuplicateAttribute(_) => (3, 1),
            UnrecognizedWellKnownAttribute(_) => (3, 2),
            MissingWellKnownAttribute(_) => (3, 3),
            AttributeFlags { .. } => (3, 4),
            AttributeLength { .. } => (3, 5),
            InvalidOrigin(_) => (3, 6),
            InvalidNextHop => (3, 8),
            OptionalAttribute(_) => (3, 9),
            InvalidNetworkField => (3, 10),
            MalformedAsPath(_) => (3, 11),
            RouteRefreshLength(_) => (7, 1),
            TooLarge | UnsupportedFamily | LocalPrefFromExternal => return None,
        })
    }

    /// The data field of the NOTIFICATION, where RFC 4271 §6 defines one from a fixed-size
    /// value: the erroneous length (Bad Message Length), type (Bad Message Type) or the largest
    /// supported version (Unsupported Version Number) or the missing type code (Missing
    /// Well-known Attribute). Empty otherwise; for the attribute errors, whose data is the
    /// erroneous attribute, see [`Error::attribute_in`] and
    /// [`Notification::from_message_error`](super::Notification::from_message_error).
    pub fn notification_data(&self) -> ([u8; 2], usize) {
        match self {
            Error::BadMessageLength(n) | Error::RouteRefreshLength(n) => (n.to_be_bytes(), 2),
            Error::BadMessageType(t) => ([*t, 0], 1),
            Error::UnsupportedVersion(_) => ([0, 4], 2),
            Error::MissingWellKnownAttribute(t) => ([*t, 0], 1),
            _ => ([0, 0], 0),
        }
    }

    /// The type code of the erroneous attribute, for the errors whose NOTIFICATION data RFC
    /// 4271 §6.3 defines as that attribute (type, length and value): Unrecognized Well-known
    /// Attribute, Attribute Flags Error, Attribute Length Error, Invalid ORIGIN Attribute,
    /// Invalid NEXT_HOP Attribute, Optional Attribute Error and Malformed AS_PATH. `None` for
    /// every other error.
    pub fn erroneous_attribute(&self) -> Option<u8> {
        use Error::*;
        match self {
            UnrecognizedWellKnownAttribute(t)
            | AttributeFlags { type_code: t, .. }
            | AttributeLength { type_code: t, .. }
            | OptionalAttribute(t)
            | MalformedAsPath(t) => Some(*t),
            InvalidOrigin(_) => Some(AttributeType::Origin.into()),
            InvalidNextHop => Some(AttributeType::NextHop.into()),
            _ => None,
        }
    }

    /// The erroneous attribute, whole (flags, type, length, value), in `message`: the UPDATE
    /// this error was found in, header included. `None` for errors without one (see
    /// [`Error::erroneous_attribute`]), or when `message` is not an UPDATE holding it.
    pub fn attribute_in<'m>(&self, message: &'m [u8]) -> Option<&'m [u8]> {
        let t = self.erroneous_attribute()?;
        let kind = *message.get(super::header::HEADER_LEN - 1)?;
        if MessageType::from_u8(kind) != Ok(MessageType::Update) {
            return None;
        }
        let body = message.get(super::header::HEADER_LEN..)?;
        super::update::attribute_bytes(body, t)
    }

    /// What the session does about this error (RFC 7606).
    pub fn action(&self) -> ErrorAction {
        use Error::*;
        match self {
            AttributeOverrun(_)
            | MissingWellKnownAttribute(_)
            | InvalidOrigin(_)
            | InvalidNextHop => ErrorAction::TreatAsWithdraw,
            MalformedAsPath(t)
            | AttributeFlags { type_code: t, .. }
            | AttributeLength { type_code: t, .. }
            | OptionalAttribute(t) => attribute_action(*t),
            DuplicateAttribute(_) | LocalPrefFromExternal => ErrorAction::AttributeDiscard,
            TooLarge | UnsupportedFamily => ErrorAction::Local,
            _ => ErrorAction::SessionReset,
        }
    }
}
