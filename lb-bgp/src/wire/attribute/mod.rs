//! Path attributes (RFC 4271 §4.3, §5) and the optional ones this codec understands:
//! COMMUNITIES (RFC 1997), ORIGINATOR_ID and CLUSTER_LIST (RFC 4456), MP_REACH_NLRI and
//! MP_UNREACH_NLRI (RFC 4760), EXTENDED_COMMUNITIES (RFC 4360), AS4_PATH and AS4_AGGREGATOR
//! (RFC 6793), LARGE_COMMUNITY (RFC 8092). Anything else is kept raw with its flags.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |O|T|P|E|  0    |  Type Code    | Length (1 octet, 2 if E = 1)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Value ...
//! +-+-+-+-+-+-+-+-+
//!   O optional, T transitive, P partial, E extended length
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::nlri::{PrefixList, Prefixes, Shape, shape};
use super::{Afi, Context, Error, Safi};

mod owned;
mod view;

pub use owned::*;
pub use view::*;

/// The attribute flags octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AttributeFlags(pub u8);

impl AttributeFlags {
    /// Optional (1) or well-known (0).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial: an optional transitive attribute some speaker on the path did not recognise.
    pub const PARTIAL: u8 = 0x20;
    /// The length field has two octets.
    pub const EXTENDED_LENGTH: u8 = 0x10;
    /// Well-known attributes: transitive, not optional.
    pub const WELL_KNOWN: Self = AttributeFlags(Self::TRANSITIVE);
    /// Optional non-transitive.
    pub const OPTIONAL_NON_TRANSITIVE: Self = AttributeFlags(Self::OPTIONAL);
    /// Optional transitive.
    pub const OPTIONAL_TRANSITIVE: Self = AttributeFlags(Self::OPTIONAL | Self::TRANSITIVE);

    /// The optional bit.
    pub fn optional(self) -> bool {
        self.0 & Self::OPTIONAL != 0
    }
    /// The transitive bit.
    pub fn transitive(self) -> bool {
        self.0 & Self::TRANSITIVE != 0
    }
    /// The partial bit.
    pub fn partial(self) -> bool {
        self.0 & Self::PARTIAL != 0
    }
    /// The extended length bit.
    pub fn extended_length(self) -> bool {
        self.0 & Self::EXTENDED_LENGTH != 0
    }
}

macro_rules! attribute_types {
    ($($(#[$doc:meta])* $name:ident = $code:expr, $flags:ident;)*) => {
        /// Attribute type codes (IANA "BGP Path Attributes").
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AttributeType {
            $($(#[$doc])* $name,)*
            /// A type code this codec does not interpret.
            Unknown(u8),
        }
        impl From<u8> for AttributeType {
            fn from(v: u8) -> Self {
                match v { $($code => AttributeType::$name,)* v => AttributeType::Unknown(v) }
            }
        }
        impl From<AttributeType> for u8 {
            fn from(v: AttributeType) -> u8 {
                match v { $(AttributeType::$name => $code,)* AttributeType::Unknown(v) => v }
            }
        }
        impl AttributeType {
            /// The optional and transitive bits the attribute's RFC prescribes, if known.
            pub fn expected_flags(self) -> Option<AttributeFlags> {
                match self { $(AttributeType::$name => Some(AttributeFlags::$flags),)* AttributeType::Unknown(_) => None }
            }
        }
    };
}

attribute_types! {
    /// ORIGIN (1), well-known mandatory.
    Origin = 1, WELL_KNOWN;
    /// AS_PATH (2), well-known mandatory.
    AsPath = 2, WELL_KNOWN;
    /// NEXT_HOP (3), well-known mandatory for IPv4 NLRI.
    NextHop = 3, WELL_KNOWN;
    /// MULTI_EXIT_DISC (4).
    MultiExitDisc = 4, OPTIONAL_NON_TRANSITIVE;
    /// LOCAL_PREF (5), well-known.
    LocalPref = 5, WELL_KNOWN;
    /// ATOMIC_AGGREGATE (6), well-known discretionary.
    AtomicAggregate = 6, WELL_KNOWN;
    /// AGGREGATOR (7).
    Aggregator = 7, OPTIONAL_TRANSITIVE;
    /// COMMUNITIES (8, RFC 1997).
    Communities = 8, OPTIONAL_TRANSITIVE;
    /// ORIGINATOR_ID (9, RFC 4456).
    OriginatorId = 9, OPTIONAL_NON_TRANSITIVE;
    /// CLUSTER_LIST (10, RFC 4456).
    ClusterList = 10, OPTIONAL_NON_TRANSITIVE;
    /// MP_REACH_NLRI (14, RFC 4760).
    MpReachNlri = 14, OPTIONAL_NON_TRANSITIVE;
    /// MP_UNREACH_NLRI (15, RFC 4760).
    MpUnreachNlri = 15, OPTIONAL_NON_TRANSITIVE;
    /// EXTENDED COMMUNITIES (16, RFC 4360).
    ExtendedCommunities = 16, OPTIONAL_TRANSITIVE;
    /// AS4_PATH (17, RFC 6793).
    As4Path = 17, OPTIONAL_TRANSITIVE;
    /// AS4_AGGREGATOR (18, RFC 6793).
    As4Aggregator = 18, OPTIONAL_TRANSITIVE;
    /// LARGE_COMMUNITY (32, RFC 8092).
    LargeCommunities = 32, OPTIONAL_TRANSITIVE;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn as4_merge_rfc6793() {
        // AS_PATH from an OLD speaker: 64500 AS_TRANS AS_TRANS; AS4_PATH: 4200000001 4200000002.
        let old = AsPath::sequence([64500, AS_TRANS, AS_TRANS]);
        let as4 = AsPath::sequence([4_200_000_001, 4_200_000_002]);
        assert_eq!(
            old.merge_as4(&as4),
            AsPath {
                segments: vec![
                    AsSegment {
                        kind: SegmentType::Sequence,
                        asns: vec![64500]
                    },
                    AsSegment {
                        kind: SegmentType::Sequence,
                        asns: vec![4_200_000_001, 4_200_000_002]
                    },
                ]
            }
        );
        // AS4_PATH longer than AS_PATH: ignored.
        let longer = AsPath::sequence([1, 2, 3, 4]);
        assert_eq!(old.merge_as4(&longer), old);
    }

    #[test]
    fn community_names() {
        assert_eq!(Community::NO_EXPORT.to_string(), "NO_EXPORT");
        assert_eq!(Community::new(64500, 100).to_string(), "64500:100");
    }
}
