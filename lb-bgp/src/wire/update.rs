//! UPDATE (RFC 4271 §4.3), with the error handling of RFC 7606 and End-of-RIB (RFC 4724 §2).
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```

use super::attribute::{
    AS_TRANS, AsPath, Attribute, AttributeData, AttributeFlags, MpReach, MpReachRef, MpUnreach,
    MpUnreachRef, PathAttribute, split_attribute,
};
use super::header::{HEADER_LEN, MessageType, write_header};
use super::nlri::{PrefixList, Prefixes, Shape, shape};
use super::{Afi, Context, Error, ErrorAction, Safi};

/// A set of attribute type codes, without allocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct TypeSet([u64; 4]);

impl TypeSet {
    #[inline]
    fn insert(&mut self, t: u8) -> bool {
        let (w, b) = (usize::from(t >> 6), 1u64 << (t & 63));
        let fresh = self.0[w] & b == 0;
        self.0[w] |= b;
        fresh
    }
    #[inline]
    fn contains(&self, t: u8) -> bool {
        self.0[usize::from(t >> 6)] & (1u64 << (t & 63)) != 0
    }
}

/// A checked UPDATE, borrowed from the message bytes (the body after the header).
///
/// [`UpdateMessage::parse`] walks the message once without allocating: it checks the three
/// length fields and every attribute. Errors RFC 7606 handles by session reset make it fail;
/// the others are kept in [`UpdateMessage::attribute_error`], and attributes that must be
/// discarded (malformed ones and repeats) are skipped by [`UpdateMessage::attributes`].
///
/// The prefix fields (withdrawn routes, NLRI and those of MP_REACH_NLRI / MP_UNREACH_NLRI) are
/// checked as they are read, so each is walked once: their iterators yield
/// `Err(`[`MalformedPrefix`](super::nlri::MalformedPrefix)`)` at a malformed record (it
/// converts into [`Error::InvalidNetworkField`]), which calls for a session reset (RFC 7606
/// §5.3). Converting to an owned [`Update`] checks them all.
#[derive(Debug, Clone)]
pub struct UpdateMessage<'a> {
    withdrawn: &'a [u8],
    attributes: &'a [u8],
    nlri: &'a [u8],
    ctx: Context,
    discard: TypeSet,
    error: Option<Error>,
    /// Values of MP_REACH_NLRI / MP_UNREACH_NLRI (checked); kept as slices so the view stays
    /// small to move around.
    mp_reach: Option<&'a [u8]>,
    mp_unreach: Option<&'a [u8]>,
    /// Layouts of the prefix fields, as their checks found them, so that iterating walks them
    /// without looking again: Withdrawn Routes, NLRI, and the prefixes of MP_REACH_NLRI and
    /// MP_UNREACH_NLRI.
    shapes: [Shape; 4],
}

fn split_u16_prefixed(d: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = d.split_first_chunk::<2>()?;
    rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))
}

impl<'a> UpdateMessage<'a> {
    /// Parses and checks an UPDATE body.
    pub fn parse(body: &'a [u8], ctx: &Context) -> Result<Self, Error> {
        let (withdrawn, rest) = split_u16_prefixed(body).ok_or(Error::MalformedAttributeList)?;
        let (attributes, nlri) = split_u16_prefixed(rest).ok_or(Error::MalformedAttributeList)?;
        let v4_add_path = ctx.add_path.contains(Afi::IPV4, Safi::UNICAST);
        let withdrawn_shape = shape(withdrawn, 32, v4_add_path);
        let nlri_shape = shape(nlri, 32, v4_add_path);
        let mut msg = UpdateMessage {
            withdrawn,
            attributes,
            nlri,
            ctx: *ctx,
            discard: TypeSet::default(),
            error: None,
            mp_reach: None,
            mp_unreach: None,
            shapes: [withdrawn_shape, nlri_shape, Shape::Mixed, Shape::Mixed],
        };
        let mut seen = TypeSet::default();
        let mut reach_nlri = false;
        let mut d = attributes;
        while !d.is_empty() {
            let (flags, t, value, rest) = match split_attribute(d) {
                Ok(a) => a,
                Err(t) => {
                    // RFC 7606 §4: an attribute runs past the field, or a fragment is left over.
                    msg.note(Error::AttributeOverrun(t));
                    break;
                }
            };
            d = rest;
            if !seen.insert(t) {
                if t == 14 || t == 15 {
                    return Err(Error::MalformedAttributeList);
                }
                msg.note(Error::DuplicateAttribute(t));
                continue;
            }
            let attr = PathAttribute {
                flags: AttributeFlags(flags),
                type_code: t,
                value,
                ctx: *ctx,
                checked: false,
                shape: None,
            };
            let shape = match attr.check_shape() {
                Ok(shape) => shape,
                Err(e) => {
                    if e.action() == ErrorAction::SessionReset {
                        return Err(e);
                    }
                    msg.discard.insert(t);
                    msg.note(e);
                    continue;
                }
            };
            match t {
                14 => {
                    reach_nlri = !MpReachRef::split(value, ctx)?.nlri_bytes().is_empty();
                    msg.mp_reach = Some(value);
                    msg.shapes[2] = shape.unwrap_or_default();
                }
                15 => {
                    msg.mp_unreach = Some(value);
                    msg.shapes[3] = shape.unwrap_or_default();
                }
                _ => {}
            }
        }
        // RFC 4271 §6.3 and RFC 7606 §3 d: mandatory attributes when routes are announced.
        let reach = !nlri.is_empty() || reach_nlri;
        if reach
            && msg
                .error
                .is_none_or(|e| e.action() != ErrorAction::TreatAsWithdraw)
        {
            let mut need = [1u8, 2, 0];
            if !nlri.is_empty() {
                need[2] = 3;
            }
            if let Some(&t) = need.iter().find(|&&t| t != 0 && !seen.contains(t)) {
                msg.note(Error::MissingWellKnownAttribute(t));
            }
        }
        Ok(msg)
    }

    fn note(&mut self, e: Error) {
        let stronger = match self.error {
            None => true,
            Some(old) => {
                old.action() != ErrorAction::TreatAsWithdraw
                    && e.action() == ErrorAction::TreatAsWithdraw
            }
        };
        if stronger {
            self.error = Some(e);
        }
    }

    /// The strongest RFC 7606 error found: one whose action is
    /// [`ErrorAction::TreatAsWithdraw`] if any (then every route this UPDATE announces must be
    /// handled as withdrawn), else the first [`ErrorAction::AttributeDiscard`] one.
    pub fn attribute_error(&self) -> Option<Error> {
        self.error
    }

    /// Whether RFC 7606 says to treat the announced routes as withdrawn.
    pub fn is_treat_as_withdraw(&self) -> bool {
        self.error
            .is_some_and(|e| e.action() == ErrorAction::TreatAsWithdraw)
    }

    /// The IPv4 Withdrawn Routes field, checked as it is read (see [`Prefixes`]).
    pub fn withdrawn_routes(&self) -> Prefixes<'a> {
        Prefixes::with_shape(
            self.withdrawn,
            false,
            self.ctx.add_path.contains(Afi::IPV4, Safi::UNICAST),
            self.shapes[0],
        )
    }

    /// The IPv4 NLRI field, checked as it is read (see [`Prefixes`]).
    pub fn nlri(&self) -> Prefixes<'a> {
        Prefixes::with_shape(
            self.nlri,
            false,
            self.ctx.add_path.contains(Afi::IPV4, Safi::UNICAST),
            self.shapes[1],
        )
    }

    /// The path attributes, without the ones RFC 7606 discards and without repeats.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            data: self.attributes,
            ctx: self.ctx,
            skip: self.discard,
            seen: TypeSet::default(),
            mp_shapes: [self.shapes[2], self.shapes[3]],
        }
    }

    /// The raw path attributes field.
    pub fn attributes_bytes(&self) -> &'a [u8] {
        self.attributes
    }

    /// MP_REACH_NLRI, if present and well formed.
    pub fn mp_reach(&self) -> Option<MpReachRef<'a>> {
        let m = MpReachRef::split(self.mp_reach?, &self.ctx).ok()?;
        Some(m.with_shape(self.shapes[2]))
    }

    /// MP_UNREACH_NLRI, if present and well formed.
    pub fn mp_unreach(&self) -> Option<MpUnreachRef<'a>> {
        let m = MpUnreachRef::split(self.mp_unreach?, &self.ctx).ok()?;
        Some(m.with_shape(self.shapes[3]))
    }

    /// The family whose End-of-RIB marker this is (RFC 4724 §2): an empty UPDATE for IPv4
    /// unicast, or one holding only an empty MP_UNREACH_NLRI.
    pub fn end_of_rib(&self) -> Option<(Afi, Safi)> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        if self.attributes.is_empty() {
            return Some((Afi::IPV4, Safi::UNICAST));
        }
        let mut it = self.attributes();
        let only = it.next()?;
        if it.next().is_some() || only.type_code != 15 {
            return None;
        }
        let m = self.mp_unreach()?;
        m.withdrawn_bytes().is_empty().then_some((m.afi, m.safi))
    }
}

/// Iterator over the path attributes of an [`UpdateMessage`].
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    data: &'a [u8],
    ctx: Context,
    skip: TypeSet,
    seen: TypeSet,
    /// Layouts of the MP_REACH_NLRI and MP_UNREACH_NLRI prefixes.
    mp_shapes: [Shape; 2],
}

impl<'a> Iterator for Attributes<'a> {
    type Item = PathAttribute<'a>;

    #[inline]
    fn next(&mut self) -> Option<PathAttribute<'a>> {
        loop {
            let (flags, t, value, rest) = split_attribute(self.data).ok()?;
            self.data = rest;
            if self.skip.contains(t) || !self.seen.insert(t) {
                continue;
            }
            return Some(PathAttribute {
                flags: AttributeFlags(flags),
                type_code: t,
                value,
                ctx: self.ctx,
                checked: true,
                shape: match t {
                    14 => Some(self.mp_shapes[0]),
                    15 => Some(self.mp_shapes[1]),
                    _ => None,
                },
            });
        }
    }
}

/// The first path attribute of `type_code` in an UPDATE body, whole (flags, type, length,
/// value): the data RFC 4271 §6.3 puts in the NOTIFICATION for an attribute error.
pub fn attribute_bytes(body: &[u8], type_code: u8) -> Option<&[u8]> {
    let (_, rest) = split_u16_prefixed(body)?;
    let (mut d, _) = split_u16_prefixed(rest)?;
    while let Ok((_, t, _, rest)) = split_attribute(d) {
        let whole = &d[..d.len() - rest.len()];
        if t == type_code {
            return Some(whole);
        }
        d = rest;
    }
    None
}

/// An UPDATE, owned, for building messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Update {
    /// IPv4 unicast Withdrawn Routes.
    pub withdrawn: PrefixList,
    /// Path attributes, in wire order.
    pub attributes: Vec<Attribute>,
    /// IPv4 unicast NLRI.
    pub nlri: PrefixList,
}

impl TryFrom<&UpdateMessage<'_>> for Update {
    type Error = Error;

    /// Copies the message, checking its prefix fields whole:
    /// [`Error::InvalidNetworkField`] if one is malformed.
    fn try_from(m: &UpdateMessage<'_>) -> Result<Self, Error> {
        // Counted first, so that the vector is allocated once and no larger than needed.
        let mut attributes = Vec::with_capacity(m.attributes().count());
        for a in m.attributes() {
            attributes.push(Attribute::from_ref(&a)?);
        }
        Ok(Update {
            withdrawn: PrefixList::from_prefixes(&m.withdrawn_routes())?,
            attributes,
            nlri: PrefixList::from_prefixes(&m.nlri())?,
        })
    }
}

impl Update {
    /// The End-of-RIB marker for a family (RFC 4724 §2).
    pub fn end_of_rib(afi: Afi, safi: Safi) -> Self {
        if (afi, safi) == (Afi::IPV4, Safi::UNICAST) {
            return Update::default();
        }
        Update {
            attributes: vec![Attribute::new(AttributeData::MpUnreach(MpUnreach {
                afi,
                safi,
                withdrawn: PrefixList::new(),
            }))],
            ..Update::default()
        }
    }

    /// The AS path to use for route selection (RFC 6793 §4.2.3). On a 4-octet session AS_PATH
    /// is the path and AS4_PATH is ignored. On a 2-octet session AS4_PATH is merged into AS_PATH
    /// unless AGGREGATOR names an AS other than AS_TRANS, in which case AS4_PATH (and
    /// AS4_AGGREGATOR) are ignored.
    pub fn effective_as_path(&self, ctx: &Context) -> Option<AsPath> {
        let find = |t: u8| {
            self.attributes
                .iter()
                .find(|a| a.data.type_code() == t)
                .map(|a| &a.data)
        };
        let Some(AttributeData::AsPath(path)) = find(2) else {
            return None;
        };
        if ctx.four_octet_as {
            return Some(path.clone());
        }
        if let Some(AttributeData::Aggregator(g)) = find(7)
            && g.asn != AS_TRANS
        {
            return Some(path.clone());
        }
        match find(17) {
            Some(AttributeData::As4Path(as4)) => Some(path.merge_as4(as4)),
            _ => Some(path.clone()),
        }
    }

    /// Octets of the message, header included.
    pub fn encoded_len(&self, ctx: &Context) -> usize {
        HEADER_LEN
            + 4
            + self.withdrawn.encoded_len()
            + self
                .attributes
                .iter()
                .map(|a| a.encoded_len(ctx))
                .sum::<usize>()
            + self.nlri.encoded_len()
    }

    /// Octets the message holds on the heap (the capacity of its vectors, attribute values
    /// included): with `size_of::<Update>()`, what an owned UPDATE costs.
    pub fn heap_size(&self) -> usize {
        self.withdrawn.heap_size()
            + self.nlri.heap_size()
            + self.attributes.capacity() * std::mem::size_of::<Attribute>()
            + self
                .attributes
                .iter()
                .map(|a| a.data.heap_size())
                .sum::<usize>()
    }

    /// Appends the message as one UPDATE; [`Error::TooLarge`] if it exceeds the negotiated
    /// maximum (see [`Update::encode_split`]).
    pub fn encode(&self, ctx: &Context, dst: &mut Vec<u8>) -> Result<(), Error> {
        write_update(
            dst,
            ctx,
            self.withdrawn.as_bytes(),
            self.attributes.iter(),
            self.nlri.as_bytes(),
        )
    }

    /// Appends the message as as few UPDATEs as the negotiated maximum allows, packing as many
    /// prefixes into each as fit: withdrawals first (IPv4 field, then each MP_UNREACH_NLRI), then
    /// announcements with the path attributes repeated (MP_REACH_NLRI prefixes, then IPv4 NLRI).
    /// Returns the number of messages written. Fails with [`Error::TooLarge`] when the path
    /// attributes alone do not fit.
    pub fn encode_split(&self, ctx: &Context, dst: &mut Vec<u8>) -> Result<usize, Error> {
        let max = ctx.max_message_len();
        if self.encoded_len(ctx) <= max {
            self.encode(ctx, dst)?;
            return Ok(1);
        }
        let mut count = 0;
        // Room for prefixes: the header, the two length fields, and for MP attributes their
        // header (flags, type, 2-octet length) plus fixed part.
        let room = max - HEADER_LEN - 4;
        let mut at = 0;
        while at < self.withdrawn.encoded_len() {
            let n = self.withdrawn.fit(at, room);
            let w = self
                .withdrawn
                .as_bytes()
                .get(at..at + n)
                .unwrap_or_default();
            write_update(dst, ctx, w, std::iter::empty(), &[])?;
            at += n;
            count += 1;
        }
        let mut reach_attrs = Vec::new();
        let mut mp_reach = None;
        for a in &self.attributes {
            match &a.data {
                AttributeData::MpUnreach(m) => {
                    let mut at = 0;
                    loop {
                        let n = m.withdrawn.fit(at, room - 7);
                        let chunk = MpUnreach {
                            afi: m.afi,
                            safi: m.safi,
                            withdrawn: m.withdrawn.slice(at..at + n),
                        };
                        let attr = Attribute {
                            flags: a.flags,
                            data: AttributeData::MpUnreach(chunk),
                        };
                        write_update(dst, ctx, &[], std::iter::once(&attr), &[])?;
                        count += 1;
                        at += n;
                        if at >= m.withdrawn.encoded_len() {
                            break;
                        }
                    }
                }
                AttributeData::MpReach(m) => mp_reach = Some((a.flags, m)),
                _ => reach_attrs.push(a),
            }
        }
        let fixed: usize = reach_attrs.iter().map(|a| a.encoded_len(ctx)).sum();
        if let Some((flags, m)) = mp_reach {
            let empty = MpReach {
                afi: m.afi,
                safi: m.safi,
                next_hop: m.next_hop,
                nlri: PrefixList::new(),
            };
            let overhead = fixed
                + Attribute {
                    flags,
                    data: AttributeData::MpReach(Box::new(empty)),
                }
                .value_len(ctx)
                + 4;
            let room = room.checked_sub(overhead).ok_or(Error::TooLarge)?;
            let mut at = 0;
            while at < m.nlri.encoded_len() {
                let n = m.nlri.fit(at, room);
                let chunk = MpReach {
                    afi: m.afi,
                    safi: m.safi,
                    next_hop: m.next_hop,
                    nlri: m.nlri.slice(at..at + n),
                };
                let attr = Attribute {
                    flags,
                    data: AttributeData::MpReach(Box::new(chunk)),
                };
                write_update(
                    dst,
                    ctx,
                    &[],
                    reach_attrs.iter().copied().chain(std::iter::once(&attr)),
                    &[],
                )?;
                count += 1;
                at += n;
            }
        }
        let room = room.checked_sub(fixed).ok_or(Error::TooLarge)?;
        let mut at = 0;
        let nlri = &self.nlri;
        while at < nlri.encoded_len() || (count == 0 && !reach_attrs.is_empty()) {
            let n = nlri.fit(at, room);
            let p = nlri.as_bytes().get(at..at + n).unwrap_or_default();
            write_update(dst, ctx, &[], reach_attrs.iter().copied(), p)?;
            count += 1;
            at += n;
        }
        Ok(count)
    }
}

fn write_update<'b>(
    dst: &mut Vec<u8>,
    ctx: &Context,
    withdrawn: &[u8],
    attributes: impl Iterator<Item = &'b Attribute>,
    nlri: &[u8],
) -> Result<(), Error> {
    let start = dst.len();
    write_header(dst, MessageType::Update, 0);
    let w_at = dst.len();
    dst.extend_from_slice(&[0, 0]);
    dst.extend_from_slice(withdrawn);
    let w_len = dst.len() - w_at - 2;
    let a_at = dst.len();
    dst.extend_from_slice(&[0, 0]);
    for a in attributes {
        a.encode(ctx, dst)?;
    }
    let a_len = dst.len() - a_at - 2;
    dst.extend_from_slice(nlri);
    let total = dst.len() - start;
    if total > ctx.max_message_len() {
        dst.truncate(start);
        return Err(Error::TooLarge);
    }
    dst[w_at..w_at + 2].copy_from_slice(&(w_len as u16).to_be_bytes());
    dst[a_at..a_at + 2].copy_from_slice(&(a_len as u16).to_be_bytes());
    dst[start + 16..start + 18].copy_from_slice(&(total as u16).to_be_bytes());
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::Nlri;
    use crate::wire::attribute::Aggregator;

    /// The layouts the check records (host routes, uniform lengths, mixed) walk exactly the
    /// prefixes the general walk finds, in the IPv4 fields and in the MP attributes, with and
    /// without ADD-PATH.
    #[test]
    fn recorded_layouts_walk_like_the_general_walk() {
        use crate::wire::AddPathFamilies;
        use crate::wire::attribute::{AttributeValue, MpNextHop, Origin};
        use ipnet::IpNet;
        let nets = |v: &[&str], id: bool| -> Vec<Nlri> {
            v.iter()
                .enumerate()
                .map(|(i, p)| Nlri {
                    path_id: id.then_some(i as u32 + 1),
                    prefix: p.parse::<IpNet>().unwrap(),
                })
                .collect()
        };
        let v4_fields = [
            vec!["10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32"],
            vec!["10.0.1.0/24", "10.0.2.0/24"],
            vec!["10.0.0.1/32", "10.1.0.0/16", "0.0.0.0/0"],
        ];
        let v6_fields = [
            vec!["2001:db8::1/128", "2001:db8::2/128"],
            vec!["2001:db8:1::/48", "2001:db8:2::/48"],
            vec!["2001:db8::1/128", "2001:db8:1::/64"],
        ];
        for add_path in [false, true] {
            let mut ctx = Context::four_octet();
            if add_path {
                let mut f = AddPathFamilies::default();
                f.insert(Afi::IPV4, Safi::UNICAST);
                f.insert(Afi::IPV6, Safi::UNICAST);
                ctx.add_path = f;
            }
            for (v4, v6) in v4_fields.iter().zip(&v6_fields) {
                let u = Update {
                    withdrawn: nets(v4, add_path).into(),
                    attributes: vec![
                        Attribute::new(AttributeData::Origin(Origin::Igp)),
                        Attribute::new(AttributeData::AsPath(AsPath::sequence([64500]))),
                        Attribute::new(AttributeData::NextHop("192.0.2.1".parse().unwrap())),
                        Attribute::new(AttributeData::MpReach(Box::new(MpReach {
                            afi: Afi::IPV6,
                            safi: Safi::UNICAST,
                            next_hop: MpNextHop::Ipv6 {
                                global: "2001:db8::1".parse().unwrap(),
                                link_local: None,
                            },
                            nlri: nets(v6, add_path).into(),
                        }))),
                        Attribute::new(AttributeData::MpUnreach(MpUnreach {
                            afi: Afi::IPV4,
                            safi: Safi::UNICAST,
                            withdrawn: nets(v4, add_path).into(),
                        })),
                    ],
                    nlri: nets(v4, add_path).into(),
                };
                let mut bytes = Vec::new();
                u.encode(&ctx, &mut bytes).unwrap();
                let m = UpdateMessage::parse(&bytes[HEADER_LEN..], &ctx).unwrap();
                assert_eq!(m.attribute_error(), None);
                let all = |p: Prefixes<'_>| p.collect::<Result<Vec<_>, _>>().unwrap();
                let walk = |p: Prefixes<'_>| {
                    all(Prefixes::with_shape(
                        p.as_bytes(),
                        p.is_ipv6(),
                        add_path,
                        Shape::Mixed,
                    ))
                };
                assert_eq!(all(m.withdrawn_routes()), nets(v4, add_path));
                assert_eq!(all(m.withdrawn_routes()), walk(m.withdrawn_routes()));
                assert_eq!(all(m.nlri()), walk(m.nlri()));
                let reach = m.mp_reach().unwrap();
                assert_eq!(all(reach.nlri()), nets(v6, add_path));
                assert_eq!(all(reach.nlri()), walk(reach.nlri()));
                let unreach = m.mp_unreach().unwrap();
                assert_eq!(all(unreach.withdrawn()), walk(unreach.withdrawn()));
                let mut seen = 0;
                for a in m.attributes() {
                    match a.value() {
                        AttributeValue::MpReach(r) => {
                            assert_eq!(all(r.nlri()), nets(v6, add_path));
                            seen += 1;
                        }
                        AttributeValue::MpUnreach(r) => {
                            assert_eq!(all(r.withdrawn()), nets(v4, add_path));
                            seen += 1;
                        }
                        _ => {}
                    }
                }
                assert_eq!(seen, 2);
            }
        }
    }

    #[test]
    fn rfc6793_merge_on_a_two_octet_session() {
        let two = Context::default();
        let mut u = Update {
            attributes: vec![
                Attribute::new(AttributeData::AsPath(AsPath::sequence([64500, AS_TRANS]))),
                Attribute::new(AttributeData::As4Path(AsPath::sequence([4_200_000_001]))),
            ],
            ..Update::default()
        };
        let merged = AsPath {
            segments: vec![
                crate::wire::AsSegment {
                    kind: crate::wire::SegmentType::Sequence,
                    asns: vec![64500],
                },
                crate::wire::AsSegment {
                    kind: crate::wire::SegmentType::Sequence,
                    asns: vec![4_200_000_001],
                },
            ],
        };
        assert_eq!(u.effective_as_path(&two), Some(merged));
        assert_eq!(
            u.effective_as_path(&Context::four_octet()),
            Some(AsPath::sequence([64500, AS_TRANS]))
        );
        // An AGGREGATOR with a real 2-octet AS: AS4_PATH is ignored.
        let g = Aggregator {
            asn: 64501,
            address: "192.0.2.1".parse().unwrap(),
        };
        u.attributes
            .push(Attribute::new(AttributeData::Aggregator(g)));
        assert_eq!(
            u.effective_as_path(&two),
            Some(AsPath::sequence([64500, AS_TRANS]))
        );
    }
}
