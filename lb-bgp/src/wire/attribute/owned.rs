//! The owned representation: [`Attribute`] and its [`AttributeData`], [`AsPath`], [`MpReach`]
//! and [`MpUnreach`], built from the views or by hand and emitted.

use super::*;

/// An AS_PATH or AS4_PATH segment, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsSegment {
    /// The segment type.
    pub kind: SegmentType,
    /// The AS numbers (at most 255).
    pub asns: Vec<u32>,
}

/// An AS_PATH or AS4_PATH, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AsPath {
    /// Segments in order.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn sequence(asns: impl IntoIterator<Item = u32>) -> Self {
        AsPath {
            segments: vec![AsSegment {
                kind: SegmentType::Sequence,
                asns: asns.into_iter().collect(),
            }],
        }
    }

    fn from_ref(r: &AsPathRef<'_>) -> Self {
        // Counted first, so that each vector is allocated once at its size.
        let mut segments = Vec::with_capacity(r.segments().count());
        segments.extend(r.segments().map(|s| {
            let mut asns = Vec::with_capacity(s.asns().count());
            asns.extend(s.asns());
            AsSegment { kind: s.kind, asns }
        }));
        AsPath { segments }
    }

    fn encoded_len(&self, w: usize) -> usize {
        self.segments.iter().map(|s| 2 + s.asns.len() * w).sum()
    }

    fn write(&self, dst: &mut Vec<u8>, w: usize) {
        for s in &self.segments {
            dst.push(s.kind.to_u8());
            dst.push(s.asns.len() as u8);
            for &a in &s.asns {
                if w == 4 {
                    dst.extend_from_slice(&a.to_be_bytes());
                } else {
                    let a = u16::try_from(a).unwrap_or(AS_TRANS as u16);
                    dst.extend_from_slice(&a.to_be_bytes());
                }
            }
        }
    }

    /// Path length for route selection (an AS_SET counts one, confederation segments none).
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.asns.len(),
                SegmentType::Set => 1,
                _ => 0,
            })
            .sum()
    }

    /// RFC 6793 §4.2.3: rebuilds the real path from the AS_PATH a 2-octet-only speaker sent
    /// (with AS_TRANS in place of 4-octet ASNs) and the AS4_PATH it passed on. When AS4_PATH is
    /// longer than AS_PATH it is ignored. Confederation segments of AS4_PATH are dropped.
    pub fn merge_as4(&self, as4_path: &AsPath) -> AsPath {
        let as4 = AsPath {
            segments: as4_path
                .segments
                .iter()
                .filter(|s| !s.kind.is_confed())
                .cloned()
                .collect(),
        };
        let (n, n4) = (self.path_len(), as4.path_len());
        if n < n4 {
            return self.clone();
        }
        let mut keep = n - n4;
        let mut out = Vec::new();
        for s in &self.segments {
            if keep == 0 {
                break;
            }
            match s.kind {
                SegmentType::Sequence => {
                    let take = keep.min(s.asns.len());
                    out.push(AsSegment {
                        kind: s.kind,
                        asns: s.asns[..take].to_vec(),
                    });
                    keep -= take;
                }
                SegmentType::Set => {
                    out.push(s.clone());
                    keep -= 1;
                }
                _ => out.push(s.clone()),
            }
        }
        out.extend(as4.segments);
        AsPath { segments: out }
    }
}

/// MP_REACH_NLRI for IPv4/IPv6 unicast or multicast, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpReach {
    /// AFI.
    pub afi: Afi,
    /// SAFI.
    pub safi: Safi,
    /// The next hop.
    pub next_hop: MpNextHop,
    /// The announced prefixes.
    pub nlri: PrefixList,
}

/// MP_UNREACH_NLRI for IPv4/IPv6 unicast or multicast, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpUnreach {
    /// AFI.
    pub afi: Afi,
    /// SAFI.
    pub safi: Safi,
    /// The withdrawn prefixes.
    pub withdrawn: PrefixList,
}

/// The value of an owned [`Attribute`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AttributeData {
    Origin(Origin),
    AsPath(AsPath),
    NextHop(Ipv4Addr),
    MultiExitDisc(u32),
    LocalPref(u32),
    AtomicAggregate,
    Aggregator(Aggregator),
    Communities(Vec<Community>),
    OriginatorId(Ipv4Addr),
    ClusterList(Vec<Ipv4Addr>),
    /// Boxed: the largest value by far, kept out of line so that every attribute is small.
    MpReach(Box<MpReach>),
    MpUnreach(MpUnreach),
    ExtendedCommunities(Vec<ExtendedCommunity>),
    As4Path(AsPath),
    As4Aggregator(Aggregator),
    LargeCommunities(Vec<LargeCommunity>),
    /// An attribute kept raw: unknown types, and MP attributes of families this codec does not
    /// parse.
    Raw {
        type_code: u8,
        data: Vec<u8>,
    },
}

/// A path attribute, owned, for building UPDATEs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// Flags. The extended length bit is kept as given and set by the encoder when the value
    /// needs it.
    pub flags: AttributeFlags,
    /// The value.
    pub data: AttributeData,
}

fn list_len<T: ListItem>(v: &[T]) -> usize {
    v.len() * T::LEN
}

impl Attribute {
    /// An attribute with the flags its RFC prescribes (unknown types: optional transitive).
    pub fn new(data: AttributeData) -> Self {
        let flags = data
            .kind()
            .expected_flags()
            .unwrap_or(AttributeFlags::OPTIONAL_TRANSITIVE);
        Attribute { flags, data }
    }

    /// An unknown optional transitive attribute being passed on to another peer: the partial
    /// bit is set (RFC 4271 §5).
    pub fn pass_on(&self) -> Self {
        let mut a = self.clone();
        if a.flags.optional() && a.flags.transitive() && matches!(a.data, AttributeData::Raw { .. })
        {
            a.flags.0 |= AttributeFlags::PARTIAL;
        }
        a
    }

    /// Copies a borrowed attribute; [`Error::InvalidNetworkField`] if it is an
    /// MP_REACH_NLRI or MP_UNREACH_NLRI whose prefixes are malformed.
    pub fn from_ref(a: &PathAttribute<'_>) -> Result<Self, Error> {
        let raw = || AttributeData::Raw {
            type_code: a.type_code,
            data: a.value.to_vec(),
        };
        let data = match a.value() {
            AttributeValue::Origin(o) => AttributeData::Origin(o),
            AttributeValue::AsPath(p) => AttributeData::AsPath(AsPath::from_ref(&p)),
            AttributeValue::As4Path(p) => AttributeData::As4Path(AsPath::from_ref(&p)),
            AttributeValue::NextHop(n) => AttributeData::NextHop(n),
            AttributeValue::MultiExitDisc(n) => AttributeData::MultiExitDisc(n),
            AttributeValue::LocalPref(n) => AttributeData::LocalPref(n),
            AttributeValue::AtomicAggregate => AttributeData::AtomicAggregate,
            AttributeValue::Aggregator(g) => AttributeData::Aggregator(g),
            AttributeValue::As4Aggregator(g) => AttributeData::As4Aggregator(g),
            AttributeValue::Communities(l) => AttributeData::Communities(l.collect()),
            AttributeValue::OriginatorId(n) => AttributeData::OriginatorId(n),
            AttributeValue::ClusterList(l) => AttributeData::ClusterList(l.collect()),
            AttributeValue::ExtendedCommunities(l) => {
                AttributeData::ExtendedCommunities(l.collect())
            }
            AttributeValue::LargeCommunities(l) => AttributeData::LargeCommunities(l.collect()),
            AttributeValue::MpReach(m) => match m.next_hop() {
                Some(next_hop) if prefix_family(m.afi, m.safi).is_some() => {
                    AttributeData::MpReach(Box::new(MpReach {
                        afi: m.afi,
                        safi: m.safi,
                        next_hop,
                        nlri: PrefixList::from_prefixes(&m.nlri())?,
                    }))
                }
                _ => raw(),
            },
            AttributeValue::MpUnreach(m) if prefix_family(m.afi, m.safi).is_some() => {
                AttributeData::MpUnreach(MpUnreach {
                    afi: m.afi,
                    safi: m.safi,
                    withdrawn: PrefixList::from_prefixes(&m.withdrawn())?,
                })
            }
            AttributeValue::MpUnreach(_) | AttributeValue::Unknown(_) => raw(),
        };
        Ok(Attribute {
            flags: a.flags,
            data,
        })
    }

    /// Octets of the value when encoded with `ctx`.
    pub fn value_len(&self, ctx: &Context) -> usize {
        let w = if ctx.four_octet_as { 4 } else { 2 };
        match &self.data {
            AttributeData::Origin(_) => 1,
            AttributeData::AsPath(p) => p.encoded_len(w),
            AttributeData::As4Path(p) => p.encoded_len(4),
            AttributeData::NextHop(_)
            | AttributeData::MultiExitDisc(_)
            | AttributeData::LocalPref(_)
            | AttributeData::OriginatorId(_) => 4,
            AttributeData::AtomicAggregate => 0,
            AttributeData::Aggregator(_) => w + 4,
            AttributeData::As4Aggregator(_) => 8,
            AttributeData::Communities(l) => list_len(l),
            AttributeData::ClusterList(l) => list_len(l),
            AttributeData::ExtendedCommunities(l) => list_len(l),
            AttributeData::LargeCommunities(l) => list_len(l),
            AttributeData::MpReach(m) => 5 + m.next_hop.encoded_len() + m.nlri.encoded_len(),
            AttributeData::MpUnreach(m) => 3 + m.withdrawn.encoded_len(),
            AttributeData::Raw { data, .. } => data.len(),
        }
    }

    /// Octets of the whole attribute when encoded with `ctx`.
    pub fn encoded_len(&self, ctx: &Context) -> usize {
        let n = self.value_len(ctx);
        let ext = self.flags.extended_length() || n > 255;
        2 + if ext { 2 } else { 1 } + n
    }

    /// Appends the attribute. Fails with [`Error::TooLarge`] past 65535 octets of value.
    pub fn encode(&self, ctx: &Context, dst: &mut Vec<u8>) -> Result<(), Error> {
        let n = self.value_len(ctx);
        let len = u16::try_from(n).map_err(|_| Error::TooLarge)?;
        let mut flags = self.flags.0;
        if n > 255 {
            flags |= AttributeFlags::EXTENDED_LENGTH;
        }
        dst.push(flags);
        dst.push(self.data.type_code());
        if flags & AttributeFlags::EXTENDED_LENGTH != 0 {
            dst.extend_from_slice(&len.to_be_bytes());
        } else {
            dst.push(len as u8);
        }
        let w = if ctx.four_octet_as { 4 } else { 2 };
        match &self.data {
            AttributeData::Origin(o) => dst.push(o.to_u8()),
            AttributeData::AsPath(p) => p.write(dst, w),
            AttributeData::As4Path(p) => p.write(dst, 4),
            AttributeData::NextHop(a) | AttributeData::OriginatorId(a) => {
                dst.extend_from_slice(&a.octets())
            }
            AttributeData::MultiExitDisc(v) | AttributeData::LocalPref(v) => {
                dst.extend_from_slice(&v.to_be_bytes())
            }
            AttributeData::AtomicAggregate => {}
            AttributeData::Aggregator(g) => {
                if w == 4 {
                    dst.extend_from_slice(&g.asn.to_be_bytes());
                } else {
                    let a = u16::try_from(g.asn).unwrap_or(AS_TRANS as u16);
                    dst.extend_from_slice(&a.to_be_bytes());
                }
                dst.extend_from_slice(&g.address.octets());
            }
            AttributeData::As4Aggregator(g) => {
                dst.extend_from_slice(&g.asn.to_be_bytes());
                dst.extend_from_slice(&g.address.octets());
            }
            AttributeData::Communities(l) => l.iter().for_each(|c| c.write(dst)),
            AttributeData::ClusterList(l) => l.iter().for_each(|c| c.write(dst)),
            AttributeData::ExtendedCommunities(l) => l.iter().for_each(|c| c.write(dst)),
            AttributeData::LargeCommunities(l) => l.iter().for_each(|c| c.write(dst)),
            AttributeData::MpReach(m) => {
                dst.extend_from_slice(&m.afi.0.to_be_bytes());
                dst.push(m.safi.0);
                dst.push(m.next_hop.encoded_len() as u8);
                m.next_hop.write(dst);
                dst.push(0);
                dst.extend_from_slice(m.nlri.as_bytes());
            }
            AttributeData::MpUnreach(m) => {
                dst.extend_from_slice(&m.afi.0.to_be_bytes());
                dst.push(m.safi.0);
                dst.extend_from_slice(m.withdrawn.as_bytes());
            }
            AttributeData::Raw { data, .. } => dst.extend_from_slice(data),
        }
        Ok(())
    }
}

impl AttributeData {
    /// Octets the value holds on the heap (the capacity of its vectors).
    pub fn heap_size(&self) -> usize {
        fn cap<T>(v: &Vec<T>) -> usize {
            v.capacity() * std::mem::size_of::<T>()
        }
        match self {
            AttributeData::AsPath(p) | AttributeData::As4Path(p) => {
                cap(&p.segments) + p.segments.iter().map(|s| cap(&s.asns)).sum::<usize>()
            }
            AttributeData::Communities(l) => cap(l),
            AttributeData::ClusterList(l) => cap(l),
            AttributeData::ExtendedCommunities(l) => cap(l),
            AttributeData::LargeCommunities(l) => cap(l),
            AttributeData::MpReach(m) => std::mem::size_of::<MpReach>() + m.nlri.heap_size(),
            AttributeData::MpUnreach(m) => m.withdrawn.heap_size(),
            AttributeData::Raw { data, .. } => cap(data),
            AttributeData::Origin(_)
            | AttributeData::NextHop(_)
            | AttributeData::MultiExitDisc(_)
            | AttributeData::LocalPref(_)
            | AttributeData::AtomicAggregate
            | AttributeData::Aggregator(_)
            | AttributeData::OriginatorId(_)
            | AttributeData::As4Aggregator(_) => 0,
        }
    }

    /// The attribute type.
    pub fn kind(&self) -> AttributeType {
        AttributeType::from(self.type_code())
    }

    /// The type code.
    pub fn type_code(&self) -> u8 {
        match self {
            AttributeData::Origin(_) => 1,
            AttributeData::AsPath(_) => 2,
            AttributeData::NextHop(_) => 3,
            AttributeData::MultiExitDisc(_) => 4,
            AttributeData::LocalPref(_) => 5,
            AttributeData::AtomicAggregate => 6,
            AttributeData::Aggregator(_) => 7,
            AttributeData::Communities(_) => 8,
            AttributeData::OriginatorId(_) => 9,
            AttributeData::ClusterList(_) => 10,
            AttributeData::MpReach(_) => 14,
            AttributeData::MpUnreach(_) => 15,
            AttributeData::ExtendedCommunities(_) => 16,
            AttributeData::As4Path(_) => 17,
            AttributeData::As4Aggregator(_) => 18,
            AttributeData::LargeCommunities(_) => 32,
            AttributeData::Raw { type_code, .. } => *type_code,
        }
    }
}
