//! The zero-copy views: attribute values, list views, AS paths, MP_REACH/MP_UNREACH and
//! [`PathAttribute`], all borrowed from the message.

use super::*;

/// ORIGIN values (RFC 4271 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Learned from an interior protocol (0).
    Igp,
    /// Learned through EGP (1).
    Egp,
    /// Learned some other way (2).
    Incomplete,
}

impl Origin {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Origin::Igp,
            1 => Origin::Egp,
            2 => Origin::Incomplete,
            _ => return None,
        })
    }
    pub(super) fn to_u8(self) -> u8 {
        match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        }
    }
}

/// AS_PATH segment types (RFC 4271 §4.3, RFC 5065 for the confederation ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentType {
    /// AS_SET (1).
    Set,
    /// AS_SEQUENCE (2).
    Sequence,
    /// AS_CONFED_SEQUENCE (3).
    ConfedSequence,
    /// AS_CONFED_SET (4).
    ConfedSet,
}

impl SegmentType {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => SegmentType::Set,
            2 => SegmentType::Sequence,
            3 => SegmentType::ConfedSequence,
            4 => SegmentType::ConfedSet,
            _ => return None,
        })
    }
    pub(super) fn to_u8(self) -> u8 {
        match self {
            SegmentType::Set => 1,
            SegmentType::Sequence => 2,
            SegmentType::ConfedSequence => 3,
            SegmentType::ConfedSet => 4,
        }
    }
    pub(super) fn is_confed(self) -> bool {
        matches!(self, SegmentType::ConfedSequence | SegmentType::ConfedSet)
    }
}

/// The reserved 2-octet AS number that stands for a 4-octet one (RFC 6793).
pub const AS_TRANS: u32 = 23456;

/// A COMMUNITIES value (RFC 1997): `asn:value` in one 32-bit number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Self = Community(0xFFFF_0000);
    /// ACCEPT_OWN (RFC 7611).
    pub const ACCEPT_OWN: Self = Community(0xFFFF_0001);
    /// LLGR_STALE (RFC 9494).
    pub const LLGR_STALE: Self = Community(0xFFFF_0006);
    /// NO_LLGR (RFC 9494).
    pub const NO_LLGR: Self = Community(0xFFFF_0007);
    /// BLACKHOLE (RFC 7999).
    pub const BLACKHOLE: Self = Community(0xFFFF_029A);
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Self = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Self = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Self = Community(0xFFFF_FF03);
    /// NOPEER (RFC 3765).
    pub const NOPEER: Self = Community(0xFFFF_FF04);

    /// `asn:value` built from its halves.
    pub fn new(asn: u16, value: u16) -> Self {
        Community(u32::from(asn) << 16 | u32::from(value))
    }

    /// The IANA name of a well-known community.
    pub fn well_known_name(self) -> Option<&'static str> {
        Some(match self {
            Self::GRACEFUL_SHUTDOWN => "GRACEFUL_SHUTDOWN",
            Self::ACCEPT_OWN => "ACCEPT_OWN",
            Self::LLGR_STALE => "LLGR_STALE",
            Self::NO_LLGR => "NO_LLGR",
            Self::BLACKHOLE => "BLACKHOLE",
            Self::NO_EXPORT => "NO_EXPORT",
            Self::NO_ADVERTISE => "NO_ADVERTISE",
            Self::NO_EXPORT_SUBCONFED => "NO_EXPORT_SUBCONFED",
            Self::NOPEER => "NOPEER",
            _ => return None,
        })
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.well_known_name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff),
        }
    }
}

/// An EXTENDED COMMUNITIES value (RFC 4360), kept as its eight octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtendedCommunity(pub [u8; 8]);

impl ExtendedCommunity {
    /// The type octet (high) and sub-type octet (low).
    pub fn kind(&self) -> (u8, u8) {
        (self.0[0], self.0[1])
    }
}

/// A LARGE_COMMUNITY value (RFC 8092).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LargeCommunity {
    /// Global Administrator (an ASN).
    pub global_admin: u32,
    /// Local Data Part 1.
    pub local1: u32,
    /// Local Data Part 2.
    pub local2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global_admin, self.local1, self.local2)
    }
}

/// AGGREGATOR / AS4_AGGREGATOR: the AS and BGP Identifier of the aggregating speaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregator {
    /// The AS number (2 or 4 octets on the wire).
    pub asn: u32,
    /// The aggregating speaker's BGP Identifier.
    pub address: Ipv4Addr,
}

/// A fixed-size item of a list attribute.
pub trait ListItem: Sized {
    /// Octets per item.
    const LEN: usize;
    /// Reads one item from exactly `LEN` octets.
    fn read(b: &[u8]) -> Option<Self>;
    /// Appends one item.
    fn write(&self, dst: &mut Vec<u8>);
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(*b.get(at..at + 4)?.first_chunk::<4>()?))
}

impl ListItem for Community {
    const LEN: usize = 4;
    fn read(b: &[u8]) -> Option<Self> {
        be32(b, 0).map(Community)
    }
    fn write(&self, dst: &mut Vec<u8>) {
        dst.extend_from_slice(&self.0.to_be_bytes());
    }
}
impl ListItem for ExtendedCommunity {
    const LEN: usize = 8;
    fn read(b: &[u8]) -> Option<Self> {
        b.first_chunk::<8>().map(|c| ExtendedCommunity(*c))
    }
    fn write(&self, dst: &mut Vec<u8>) {
        dst.extend_from_slice(&self.0);
    }
}
impl ListItem for LargeCommunity {
    const LEN: usize = 12;
    fn read(b: &[u8]) -> Option<Self> {
        Some(LargeCommunity {
            global_admin: be32(b, 0)?,
            local1: be32(b, 4)?,
            local2: be32(b, 8)?,
        })
    }
    fn write(&self, dst: &mut Vec<u8>) {
        dst.extend_from_slice(&self.global_admin.to_be_bytes());
        dst.extend_from_slice(&self.local1.to_be_bytes());
        dst.extend_from_slice(&self.local2.to_be_bytes());
    }
}
impl ListItem for Ipv4Addr {
    const LEN: usize = 4;
    fn read(b: &[u8]) -> Option<Self> {
        be32(b, 0).map(Ipv4Addr::from)
    }
    fn write(&self, dst: &mut Vec<u8>) {
        dst.extend_from_slice(&self.octets());
    }
}

/// A zero-copy iterator over a list attribute (COMMUNITIES, CLUSTER_LIST, ...).
#[derive(Debug, Clone)]
pub struct List<'a, T> {
    data: &'a [u8],
    _item: std::marker::PhantomData<T>,
}

impl<'a, T: ListItem> List<'a, T> {
    fn new(data: &'a [u8]) -> Self {
        List {
            data,
            _item: std::marker::PhantomData,
        }
    }
}

impl<T: ListItem> Iterator for List<'_, T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        let (item, rest) = self.data.split_at_checked(T::LEN)?;
        self.data = rest;
        T::read(item)
    }
}

/// A zero-copy AS_PATH or AS4_PATH.
///
/// ```text
/// +-----------------+----------------------+---------------------------------+
/// | type (1 octet)  | ASN count (1 octet)  | ASNs (2 or 4 octets each)       | ...
/// +-----------------+----------------------+---------------------------------+
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AsPathRef<'a> {
    data: &'a [u8],
    asn_len: usize,
}

/// One segment of an [`AsPathRef`].
#[derive(Debug, Clone, Copy)]
pub struct AsSegmentRef<'a> {
    /// The segment type.
    pub kind: SegmentType,
    data: &'a [u8],
    asn_len: usize,
}

impl<'a> AsSegmentRef<'a> {
    /// The AS numbers in the segment.
    pub fn asns(&self) -> impl Iterator<Item = u32> + use<'a> {
        let w = self.asn_len;
        self.data.chunks_exact(w).map(move |c| {
            if w == 4 {
                be32(c, 0).unwrap_or(0)
            } else {
                u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
            }
        })
    }
}

impl<'a> AsPathRef<'a> {
    /// Segments in order.
    pub fn segments(&self) -> impl Iterator<Item = AsSegmentRef<'a>> + use<'a> {
        let mut d = self.data;
        let w = self.asn_len;
        std::iter::from_fn(move || {
            let (&[t, n], rest) = d.split_first_chunk::<2>()?;
            let (asns, rest) = rest.split_at_checked(usize::from(n) * w)?;
            d = rest;
            Some(AsSegmentRef {
                kind: SegmentType::from_u8(t)?,
                data: asns,
                asn_len: w,
            })
        })
    }

    /// The path length used by route selection: an AS_SET counts as one, confederation
    /// segments as nothing (RFC 4271 §9.1.2.2, RFC 5065 §5.3).
    pub fn path_len(&self) -> usize {
        self.segments()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.data.len() / s.asn_len,
                SegmentType::Set => 1,
                _ => 0,
            })
            .sum()
    }
}

fn check_as_path(mut d: &[u8], asn_len: usize) -> bool {
    while !d.is_empty() {
        let Some((&[t, n], rest)) = d.split_first_chunk::<2>() else {
            return false;
        };
        if SegmentType::from_u8(t).is_none() || n == 0 {
            return false;
        }
        match rest.get(usize::from(n) * asn_len..) {
            Some(r) => d = r,
            None => return false,
        }
    }
    true
}

/// Whether a well-formed AS path (see `check_as_path`) has an AS_CONFED_SEQUENCE or
/// AS_CONFED_SET segment.
fn has_confed_segment(mut d: &[u8], asn_len: usize) -> bool {
    while let Some((&[t, n], rest)) = d.split_first_chunk::<2>() {
        if t == 3 || t == 4 {
            return true;
        }
        match rest.get(usize::from(n) * asn_len..) {
            Some(r) => d = r,
            None => return false,
        }
    }
    false
}

/// The next hop of MP_REACH_NLRI (RFC 4760 §3, RFC 2545 §3 for IPv6 link-local, RFC 8950 for
/// IPv6 next hops of IPv4 routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MpNextHop {
    /// Four octets.
    Ipv4(Ipv4Addr),
    /// Sixteen octets, or thirty-two with the link-local address.
    Ipv6 {
        /// The global address.
        global: Ipv6Addr,
        /// The link-local address.
        link_local: Option<Ipv6Addr>,
    },
}

impl MpNextHop {
    /// Whether a next hop of `len` octets has a form [`MpNextHop::parse`] reads.
    fn is_valid_len(len: usize) -> bool {
        matches!(len, 4 | 16 | 32)
    }

    fn parse(b: &[u8]) -> Option<Self> {
        Some(match b.len() {
            4 => MpNextHop::Ipv4(Ipv4Addr::from(*b.first_chunk::<4>()?)),
            16 => MpNextHop::Ipv6 {
                global: Ipv6Addr::from(*b.first_chunk::<16>()?),
                link_local: None,
            },
            32 => MpNextHop::Ipv6 {
                global: Ipv6Addr::from(*b.first_chunk::<16>()?),
                link_local: Some(Ipv6Addr::from(*b.get(16..)?.first_chunk::<16>()?)),
            },
            _ => return None,
        })
    }
    pub(super) fn encoded_len(&self) -> usize {
        match self {
            MpNextHop::Ipv4(_) => 4,
            MpNextHop::Ipv6 {
                link_local: None, ..
            } => 16,
            MpNextHop::Ipv6 {
                link_local: Some(_),
                ..
            } => 32,
        }
    }
    pub(super) fn write(&self, dst: &mut Vec<u8>) {
        match self {
            MpNextHop::Ipv4(a) => dst.extend_from_slice(&a.octets()),
            MpNextHop::Ipv6 { global, link_local } => {
                dst.extend_from_slice(&global.octets());
                if let Some(ll) = link_local {
                    dst.extend_from_slice(&ll.octets());
                }
            }
        }
    }
}

/// Whether the codec parses the NLRI of this family (IPv4/IPv6 unicast and multicast).
pub(crate) fn prefix_family(afi: Afi, safi: Safi) -> Option<bool> {
    if safi != Safi::UNICAST && safi != Safi::MULTICAST {
        return None;
    }
    match afi {
        Afi::IPV4 => Some(false),
        Afi::IPV6 => Some(true),
        _ => None,
    }
}

/// A zero-copy MP_REACH_NLRI (RFC 4760 §3).
///
/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// | Subsequent Address Family Identifier (1 octet)          |
/// | Length of Next Hop Network Address (1 octet)            |
/// | Network Address of Next Hop (variable)                  |
/// | Reserved (1 octet)                                      |
/// | Network Layer Reachability Information (variable)       |
/// +---------------------------------------------------------+
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MpReachRef<'a> {
    /// AFI.
    pub afi: Afi,
    /// SAFI.
    pub safi: Safi,
    next_hop: &'a [u8],
    nlri: &'a [u8],
    add_path: bool,
    /// The layout of `nlri`, when its check found it.
    shape: Option<Shape>,
}

impl<'a> MpReachRef<'a> {
    fn parse(v: &'a [u8], ctx: &Context) -> Result<Self, Error> {
        let mut m = Self::split(v, ctx)?;
        if let Some(v6) = prefix_family(m.afi, m.safi) {
            if !MpNextHop::is_valid_len(m.next_hop.len()) {
                return Err(Error::OptionalAttribute(14));
            }
            m.shape = Some(shape(m.nlri, if v6 { 128 } else { 32 }, m.add_path));
        }
        Ok(m)
    }

    /// Splits an MP_REACH_NLRI value that [`PathAttribute::check`] accepted.
    pub(crate) fn split(v: &'a [u8], ctx: &Context) -> Result<Self, Error> {
        let bad = Error::OptionalAttribute(14);
        let (&[a0, a1, safi, nh_len], rest) = v.split_first_chunk::<4>().ok_or(bad)?;
        let (next_hop, rest) = rest.split_at_checked(usize::from(nh_len)).ok_or(bad)?;
        let (_reserved, nlri) = rest.split_first().ok_or(bad)?;
        let (afi, safi) = (Afi(u16::from_be_bytes([a0, a1])), Safi(safi));
        Ok(MpReachRef {
            afi,
            safi,
            next_hop,
            nlri,
            add_path: ctx.add_path.contains(afi, safi),
            shape: None,
        })
    }

    pub(crate) fn with_shape(self, shape: Shape) -> Self {
        MpReachRef {
            shape: Some(shape),
            ..self
        }
    }

    /// The next hop, for the families this codec parses.
    pub fn next_hop(&self) -> Option<MpNextHop> {
        MpNextHop::parse(self.next_hop)
    }

    /// The raw next hop octets.
    pub fn next_hop_bytes(&self) -> &'a [u8] {
        self.next_hop
    }

    /// The announced prefixes (empty for families this codec does not parse).
    pub fn nlri(&self) -> Prefixes<'a> {
        match (prefix_family(self.afi, self.safi), self.shape) {
            (Some(v6), Some(shape)) => Prefixes::with_shape(self.nlri, v6, self.add_path, shape),
            (Some(v6), None) => Prefixes::new(self.nlri, v6, self.add_path),
            (None, _) => Prefixes::empty(),
        }
    }

    /// The raw NLRI octets.
    pub fn nlri_bytes(&self) -> &'a [u8] {
        self.nlri
    }
}

/// A zero-copy MP_UNREACH_NLRI (RFC 4760 §4): AFI (2), SAFI (1), withdrawn routes.
#[derive(Debug, Clone, Copy)]
pub struct MpUnreachRef<'a> {
    /// AFI.
    pub afi: Afi,
    /// SAFI.
    pub safi: Safi,
    withdrawn: &'a [u8],
    add_path: bool,
    /// The layout of `withdrawn`, when its check found it.
    shape: Option<Shape>,
}

impl<'a> MpUnreachRef<'a> {
    /// Splits an MP_UNREACH_NLRI value without checking its prefixes.
    pub(crate) fn split(v: &'a [u8], ctx: &Context) -> Result<Self, Error> {
        let (&[a0, a1, safi], withdrawn) = v
            .split_first_chunk::<3>()
            .ok_or(Error::OptionalAttribute(15))?;
        let (afi, safi) = (Afi(u16::from_be_bytes([a0, a1])), Safi(safi));
        Ok(MpUnreachRef {
            afi,
            safi,
            withdrawn,
            add_path: ctx.add_path.contains(afi, safi),
            shape: None,
        })
    }

    fn parse(v: &'a [u8], ctx: &Context) -> Result<Self, Error> {
        let mut m = Self::split(v, ctx)?;
        if let Some(v6) = prefix_family(m.afi, m.safi) {
            m.shape = Some(shape(m.withdrawn, if v6 { 128 } else { 32 }, m.add_path));
        }
        Ok(m)
    }

    pub(crate) fn with_shape(self, shape: Shape) -> Self {
        MpUnreachRef {
            shape: Some(shape),
            ..self
        }
    }

    /// The withdrawn prefixes (empty for families this codec does not parse).
    pub fn withdrawn(&self) -> Prefixes<'a> {
        match (prefix_family(self.afi, self.safi), self.shape) {
            (Some(v6), Some(shape)) => {
                Prefixes::with_shape(self.withdrawn, v6, self.add_path, shape)
            }
            (Some(v6), None) => Prefixes::new(self.withdrawn, v6, self.add_path),
            (None, _) => Prefixes::empty(),
        }
    }

    /// The raw withdrawn routes octets.
    pub fn withdrawn_bytes(&self) -> &'a [u8] {
        self.withdrawn
    }
}

/// A path attribute inside an UPDATE, borrowed from the message.
#[derive(Debug, Clone, Copy)]
pub struct PathAttribute<'a> {
    /// The flags octet as received.
    pub flags: AttributeFlags,
    /// The type code.
    pub type_code: u8,
    /// The value octets.
    pub value: &'a [u8],
    pub(crate) ctx: Context,
    /// Set when the UPDATE parser already ran [`PathAttribute::check`].
    pub(crate) checked: bool,
    /// For MP_REACH_NLRI / MP_UNREACH_NLRI, the layout of the prefixes the check found.
    pub(crate) shape: Option<Shape>,
}

/// The typed value of a [`PathAttribute`], still borrowed.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum AttributeValue<'a> {
    Origin(Origin),
    AsPath(AsPathRef<'a>),
    NextHop(Ipv4Addr),
    MultiExitDisc(u32),
    LocalPref(u32),
    AtomicAggregate,
    Aggregator(Aggregator),
    Communities(List<'a, Community>),
    OriginatorId(Ipv4Addr),
    ClusterList(List<'a, Ipv4Addr>),
    MpReach(MpReachRef<'a>),
    MpUnreach(MpUnreachRef<'a>),
    ExtendedCommunities(List<'a, ExtendedCommunity>),
    As4Path(AsPathRef<'a>),
    As4Aggregator(Aggregator),
    LargeCommunities(List<'a, LargeCommunity>),
    /// A type this codec keeps raw, or one whose value failed its check.
    Unknown(&'a [u8]),
}

fn aggregator(v: &[u8], four: bool) -> Option<Aggregator> {
    if four {
        Some(Aggregator {
            asn: be32(v, 0)?,
            address: Ipv4Addr::from(be32(v, 4)?),
        })
    } else {
        let asn = u32::from(u16::from_be_bytes(*v.first_chunk::<2>()?));
        Some(Aggregator {
            asn,
            address: Ipv4Addr::from(be32(v, 2)?),
        })
    }
}

impl<'a> PathAttribute<'a> {
    /// The attribute type.
    pub fn kind(&self) -> AttributeType {
        AttributeType::from(self.type_code)
    }

    /// Checks the attribute per its RFC (flags, length, content). The error's
    /// [`Error::action`] says what RFC 7606 makes of it. The prefixes of MP_REACH_NLRI and
    /// MP_UNREACH_NLRI are checked as their iterators read them (see [`Prefixes`]).
    pub fn check(&self) -> Result<(), Error> {
        self.check_shape().map(|_| ())
    }

    /// [`PathAttribute::check`], returning for MP_REACH_NLRI and MP_UNREACH_NLRI of the
    /// families this codec parses the layout of their prefixes.
    #[inline]
    pub(crate) fn check_shape(&self) -> Result<Option<Shape>, Error> {
        let t = self.type_code;
        let kind = self.kind();
        let Some(expected) = kind.expected_flags() else {
            return if self.flags.optional() {
                Ok(None)
            } else {
                Err(Error::UnrecognizedWellKnownAttribute(t))
            };
        };
        if self.flags.0 & 0xC0 != expected.0 {
            return Err(Error::AttributeFlags {
                type_code: t,
                flags: self.flags.0,
            });
        }
        let v = self.value;
        let len_err = Error::AttributeLength {
            type_code: t,
            len: v.len() as u16,
        };
        let len_is = |n: usize| if v.len() == n { Ok(()) } else { Err(len_err) };
        let multiple_of = |n: usize| {
            if !v.is_empty() && v.len().is_multiple_of(n) {
                Ok(())
            } else {
                Err(len_err)
            }
        };
        match kind {
            AttributeType::MpReachNlri => return Ok(MpReachRef::parse(v, &self.ctx)?.shape),
            AttributeType::MpUnreachNlri => return Ok(MpUnreachRef::parse(v, &self.ctx)?.shape),
            _ => {}
        }
        match kind {
            AttributeType::Origin => {
                len_is(1)?;
                if v[0] > 2 {
                    return Err(Error::InvalidOrigin(v[0]));
                }
                Ok(())
            }
            AttributeType::AsPath | AttributeType::As4Path => {
                let w = if kind == AttributeType::AsPath && !self.ctx.four_octet_as {
                    2
                } else {
                    4
                };
                // RFC 5065 §5: confederation segments from outside the confederation.
                let foreign_confed =
                    kind == AttributeType::AsPath && self.ctx.external && has_confed_segment(v, w);
                if check_as_path(v, w) && !foreign_confed {
                    Ok(())
                } else {
                    Err(Error::MalformedAsPath(t))
                }
            }
            AttributeType::NextHop => {
                len_is(4)?;
                // RFC 4271 §6.3: a NEXT_HOP that is syntactically wrong (RFC 7606 §7.3).
                let a = Ipv4Addr::new(v[0], v[1], v[2], v[3]);
                if a.is_unspecified() || a.is_multicast() || a.is_broadcast() {
                    return Err(Error::InvalidNextHop);
                }
                Ok(())
            }
            AttributeType::LocalPref if self.ctx.external => Err(Error::LocalPrefFromExternal),
            AttributeType::MultiExitDisc
            | AttributeType::LocalPref
            | AttributeType::OriginatorId => len_is(4),
            AttributeType::AtomicAggregate => len_is(0),
            AttributeType::Aggregator => len_is(if self.ctx.four_octet_as { 8 } else { 6 }),
            AttributeType::As4Aggregator => len_is(8),
            AttributeType::Communities | AttributeType::ClusterList => multiple_of(4),
            AttributeType::ExtendedCommunities => multiple_of(8),
            AttributeType::LargeCommunities => multiple_of(12),
            AttributeType::MpReachNlri
            | AttributeType::MpUnreachNlri
            | AttributeType::Unknown(_) => Ok(()),
        }
        .map(|()| None)
    }

    /// The typed value. Attributes that fail [`PathAttribute::check`] come back as
    /// [`AttributeValue::Unknown`].
    #[inline]
    pub fn value(&self) -> AttributeValue<'a> {
        self.typed().unwrap_or(AttributeValue::Unknown(self.value))
    }

    #[inline]
    fn typed(&self) -> Option<AttributeValue<'a>> {
        if !self.checked && self.check().is_err() {
            return None;
        }
        let v = self.value;
        let four = self.ctx.four_octet_as;
        Some(match self.kind() {
            AttributeType::Origin => AttributeValue::Origin(Origin::from_u8(*v.first()?)?),
            AttributeType::AsPath => AttributeValue::AsPath(AsPathRef {
                data: v,
                asn_len: if four { 4 } else { 2 },
            }),
            AttributeType::As4Path => AttributeValue::As4Path(AsPathRef {
                data: v,
                asn_len: 4,
            }),
            AttributeType::NextHop => AttributeValue::NextHop(Ipv4Addr::from(be32(v, 0)?)),
            AttributeType::MultiExitDisc => AttributeValue::MultiExitDisc(be32(v, 0)?),
            AttributeType::LocalPref => AttributeValue::LocalPref(be32(v, 0)?),
            AttributeType::AtomicAggregate => AttributeValue::AtomicAggregate,
            AttributeType::Aggregator => AttributeValue::Aggregator(aggregator(v, four)?),
            AttributeType::As4Aggregator => AttributeValue::As4Aggregator(aggregator(v, true)?),
            AttributeType::Communities => AttributeValue::Communities(List::new(v)),
            AttributeType::OriginatorId => {
                AttributeValue::OriginatorId(Ipv4Addr::from(be32(v, 0)?))
            }
            AttributeType::ClusterList => AttributeValue::ClusterList(List::new(v)),
            AttributeType::ExtendedCommunities => AttributeValue::ExtendedCommunities(List::new(v)),
            AttributeType::LargeCommunities => AttributeValue::LargeCommunities(List::new(v)),
            AttributeType::MpReachNlri => AttributeValue::MpReach(MpReachRef {
                shape: self.shape,
                ..MpReachRef::split(v, &self.ctx).ok()?
            }),
            AttributeType::MpUnreachNlri => AttributeValue::MpUnreach(MpUnreachRef {
                shape: self.shape,
                ..MpUnreachRef::split(v, &self.ctx).ok()?
            }),
            AttributeType::Unknown(_) => AttributeValue::Unknown(v),
        })
    }
}

/// (flags, type code, value, rest of the field).
pub(crate) type SplitAttribute<'a> = (u8, u8, &'a [u8], &'a [u8]);

/// Reads one attribute header at the start of `d`: (flags, type, value, rest).
/// `Err(type_code)` when the header or value runs past `d` (RFC 7606 §4).
#[inline]
pub(crate) fn split_attribute(d: &[u8]) -> Result<SplitAttribute<'_>, u8> {
    let (&[flags, t], rest) = d.split_first_chunk::<2>().ok_or(0u8)?;
    let (len, rest) = if flags & AttributeFlags::EXTENDED_LENGTH != 0 {
        let (l, r) = rest.split_first_chunk::<2>().ok_or(t)?;
        (usize::from(u16::from_be_bytes(*l)), r)
    } else {
        let (l, r) = rest.split_first().ok_or(t)?;
        (usize::from(*l), r)
    };
    let (value, rest) = rest.split_at_checked(len).ok_or(t)?;
    Ok((flags, t, value, rest))
}
