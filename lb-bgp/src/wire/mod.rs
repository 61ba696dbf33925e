//! The BGP-4 wire format: bytes ⇄ messages.
//!
//! Two levels, as in smoltcp's `wire` module:
//!
//! - **Views** borrow the received bytes and check them once: [`MessageRef::parse`] gives an
//!   [`OpenMessage`], [`UpdateMessage`], [`NotificationMessage`], KEEPALIVE or
//!   [`RouteRefreshMessage`]. Parsing an UPDATE allocates nothing; its prefixes and attributes
//!   are iterators over the original bytes. The prefix fields are checked as they are read,
//!   so each is walked once: [`Prefixes`] yields `Result<Nlri, Error>`.
//! - **Owned** types ([`Message`], [`Open`], [`Update`], [`Notification`], [`RouteRefresh`])
//!   build messages and `encode` them. Each is made from its view with `From` (`TryFrom` for
//!   [`Message`] and [`Update`], which check the prefix fields whole).
//!
//! What the session negotiated (4-octet AS, ADD-PATH per family, Extended Message), and
//! whether the peer is external, is a [`Context`] passed to both directions.
//!
//! The contract: no function in this module panics on any input, and no length field causes an
//! allocation larger than the input it describes. Errors carry the NOTIFICATION to send and the
//! RFC 7606 [`ErrorAction`] (see [`Error`]).
//!
//! ```
//! use lb_bgp::wire::{Context, Message, MessageRef};
//!
//! let ctx = Context::default();
//! let mut bytes = Vec::new();
//! Message::Keepalive.encode(&ctx, &mut bytes)?;
//! let view = MessageRef::parse(&bytes, &ctx)?;
//! assert_eq!(Message::try_from(&view)?, Message::Keepalive);
//! # Ok::<(), lb_bgp::wire::Error>(())
//! ```

pub mod attribute;
pub mod capability;
mod error;
pub mod header;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod route_refresh;
pub mod update;

pub use attribute::{
    AsPath, AsPathRef, AsSegment, Attribute, AttributeData, AttributeFlags, AttributeType,
    AttributeValue, Community, ExtendedCommunity, LargeCommunity, MpNextHop, MpReach, MpUnreach,
    Origin, PathAttribute, SegmentType,
};
pub use capability::Capability;
pub use error::{Error, ErrorAction};
pub use header::{MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, MessageType, frame};
pub use nlri::{Nlri, PrefixList, PrefixListIter, Prefixes};
pub use notification::{CeaseSubcode, ErrorCode, Notification, NotificationMessage};
pub use open::{Open, OpenMessage};
pub use route_refresh::{RefreshSubtype, RouteRefresh, RouteRefreshMessage};
pub use update::{Update, UpdateMessage};

use header::{HEADER_LEN, write_header};

/// Address Family Identifier (IANA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Afi(pub u16);

impl Afi {
    /// IPv4 (1).
    pub const IPV4: Afi = Afi(1);
    /// IPv6 (2).
    pub const IPV6: Afi = Afi(2);
}

/// Subsequent Address Family Identifier (IANA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Safi(pub u8);

impl Safi {
    /// Unicast (1).
    pub const UNICAST: Safi = Safi(1);
    /// Multicast (2).
    pub const MULTICAST: Safi = Safi(2);
}

/// The families whose prefixes carry an ADD-PATH Path Identifier (RFC 7911): IPv4 and IPv6,
/// unicast and multicast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddPathFamilies(u8);

impl AddPathFamilies {
    fn bit(afi: Afi, safi: Safi) -> u8 {
        match (afi, safi) {
            (Afi::IPV4, Safi::UNICAST) => 1,
            (Afi::IPV4, Safi::MULTICAST) => 2,
            (Afi::IPV6, Safi::UNICAST) => 4,
            (Afi::IPV6, Safi::MULTICAST) => 8,
            _ => 0,
        }
    }

    /// Marks a family as carrying Path Identifiers (other families are ignored).
    pub fn insert(&mut self, afi: Afi, safi: Safi) {
        self.0 |= Self::bit(afi, safi);
    }

    /// Whether the family carries Path Identifiers.
    #[inline]
    pub fn contains(&self, afi: Afi, safi: Safi) -> bool {
        self.0 & Self::bit(afi, safi) != 0
    }
}

/// What the session negotiated, as far as the encoding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Context {
    /// Both sides sent the 4-octet AS capability: AS_PATH and AGGREGATOR carry 4-octet ASNs.
    pub four_octet_as: bool,
    /// Both sides sent the Extended Message capability: messages up to 65535 octets.
    pub extended_message: bool,
    /// Families whose prefixes carry a Path Identifier in this direction.
    pub add_path: AddPathFamilies,
    /// The peer is an external neighbour (eBGP, and not a member of our confederation). Enables
    /// the RFC 7606 rules that depend on it: LOCAL_PREF from an external neighbour is discarded
    /// (§7.5), and an AS_PATH with confederation segments from one is malformed (RFC 5065 §5,
    /// treat-as-withdraw). [`Context::for_receiving`] sets it from the two OPENs and the
    /// [`Confederation`] the caller states: the OPENs alone cannot tell a confederation peer
    /// (another member AS) from an external one.
    pub external: bool,
}

/// Whether the peer is a member of our BGP confederation (RFC 5065), which the OPENs cannot
/// show: a confederation peer's OPEN carries its member AS, which differs from ours as an
/// external peer's ASN does. An input of [`Context::for_receiving`] and
/// [`Context::for_sending`], so every caller says which it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Confederation {
    /// We are in no confederation, or the peer is outside ours: a peer with another ASN is
    /// external.
    Outside,
    /// The peer is in our confederation (another member AS, or ours): it is not external,
    /// and its AS_PATH may carry AS_CONFED segments.
    Member,
}

/// How a peer relates to this speaker, as [`Context::for_receiving`] decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerKind {
    /// The same AS (iBGP).
    Internal,
    /// Another AS outside our confederation (eBGP).
    External,
    /// Another member AS of our confederation (RFC 5065: eBGP on the wire, internal for
    /// LOCAL_PREF and AS_CONFED segments).
    ConfederationExternal,
}

impl PeerKind {
    /// The kind of a peer whose OPEN carries `remote_as`, seen from `local_as`.
    pub fn of(local_as: u32, remote_as: u32, confederation: Confederation) -> PeerKind {
        match (local_as == remote_as, confederation) {
            (true, _) => PeerKind::Internal,
            (false, Confederation::Outside) => PeerKind::External,
            (false, Confederation::Member) => PeerKind::ConfederationExternal,
        }
    }

    /// Whether RFC 7606's rules for external neighbours apply (only to [`PeerKind::External`]).
    pub fn is_external(self) -> bool {
        self == PeerKind::External
    }
}

impl Context {
    /// A context with 4-octet AS numbers, what every current implementation negotiates.
    pub fn four_octet() -> Self {
        Context {
            four_octet_as: true,
            ..Context::default()
        }
    }

    /// The largest message in this session.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }
}

/// A checked message borrowed from its bytes.
#[derive(Debug, Clone)]
pub enum MessageRef<'a> {
    /// OPEN.
    Open(OpenMessage<'a>),
    /// UPDATE.
    Update(UpdateMessage<'a>),
    /// NOTIFICATION.
    Notification(NotificationMessage<'a>),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefreshMessage<'a>),
}

impl<'a> MessageRef<'a> {
    /// Parses exactly one message, header included. OPEN is always read with the 4096-octet
    /// limit (RFC 8654 §3: the capability applies after the OPEN exchange).
    pub fn parse(bytes: &'a [u8], ctx: &Context) -> Result<Self, Error> {
        let max = ctx.max_message_len();
        let (kind, len) = match frame(bytes, max)? {
            Some(f) => f,
            None => {
                let n = bytes
                    .get(16..18)
                    .map_or(0, |l| u16::from_be_bytes([l[0], l[1]]));
                return Err(Error::BadMessageLength(n));
            }
        };
        if len != bytes.len() || (kind == MessageType::Open && len > MAX_MESSAGE_LEN) {
            return Err(Error::BadMessageLength(len as u16));
        }
        let body = &bytes[HEADER_LEN..];
        Ok(match kind {
            MessageType::Open => MessageRef::Open(OpenMessage::parse(body)?),
            MessageType::Update => MessageRef::Update(UpdateMessage::parse(body, ctx)?),
            MessageType::Notification => {
                MessageRef::Notification(NotificationMessage::parse(body)?)
            }
            MessageType::Keepalive => MessageRef::Keepalive,
            MessageType::RouteRefresh => {
                MessageRef::RouteRefresh(RouteRefreshMessage::parse(body)?)
            }
        })
    }
}

/// A message, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

impl TryFrom<&MessageRef<'_>> for Message {
    type Error = Error;

    /// Copies the message; [`Error::InvalidNetworkField`] if it is an UPDATE with a malformed
    /// prefix field (the one check [`MessageRef::parse`] leaves to the iterators).
    fn try_from(m: &MessageRef<'_>) -> Result<Self, Error> {
        Ok(match m {
            MessageRef::Open(o) => Message::Open(o.into()),
            MessageRef::Update(u) => Message::Update(u.try_into()?),
            MessageRef::Notification(n) => Message::Notification(n.into()),
            MessageRef::Keepalive => Message::Keepalive,
            MessageRef::RouteRefresh(r) => Message::RouteRefresh(r.into()),
        })
    }
}

impl Message {
    /// Appends the message as one BGP message. UPDATEs larger than the session allows fail
    /// with [`Error::TooLarge`]; use [`Update::encode_split`] to split them.
    pub fn encode(&self, ctx: &Context, dst: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            Message::Open(o) => o.encode(dst),
            Message::Update(u) => u.encode(ctx, dst),
            Message::Notification(n) => n.encode(dst),
            Message::Keepalive => {
                write_header(dst, MessageType::Keepalive, HEADER_LEN as u16);
                Ok(())
            }
            Message::RouteRefresh(r) => r.encode(dst),
        }
    }
}
