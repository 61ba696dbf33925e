//! Network Layer Reachability Information: the prefix encoding shared by the NLRI and
//! Withdrawn Routes fields of UPDATE (RFC 4271 §4.3) and by MP_REACH_NLRI / MP_UNREACH_NLRI
//! (RFC 4760 §5), with the optional ADD-PATH Path Identifier (RFC 7911 §3).
//!
//! A received prefix field is checked as it is read, in one pass: [`Prefixes`] yields
//! `Result<Nlri, MalformedPrefix>`, and a malformed record (a length past the family's, a record
//! cut short) ends it with [`MalformedPrefix`], the Invalid Network Field of RFC 4271 §6.3 that
//! RFC 7606 §5.3 answers with a session reset. Fields whose prefixes all have one length are checked when the
//! message is parsed, at memory speed, and never yield an error. An owned [`PrefixList`] is
//! always well formed and iterates plain [`Nlri`]s.
//!
//! ```text
//! +--------------------------------+
//! | Path Identifier (4 octets)     |   only when ADD-PATH receive is negotiated for the family
//! +--------------------------------+
//! | Length (1 octet, in bits)      |
//! +--------------------------------+
//! | Prefix (ceil(Length/8) octets) |
//! +--------------------------------+
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::BufMut;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::Error;

/// One route: a prefix with its ADD-PATH Path Identifier, if the family carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nlri {
    /// RFC 7911 Path Identifier.
    pub path_id: Option<u32>,
    /// The prefix. Bits past the prefix length are kept as received, so re-encoding is exact.
    pub prefix: IpNet,
}

impl Nlri {
    /// A prefix without a Path Identifier.
    pub fn new(prefix: IpNet) -> Self {
        Nlri {
            path_id: None,
            prefix,
        }
    }

    /// Encoded length in octets.
    pub fn encoded_len(&self) -> usize {
        let id = if self.path_id.is_some() { 4 } else { 0 };
        id + 1 + usize::from(self.prefix.prefix_len()).div_ceil(8)
    }

    /// Appends the wire form to a `Vec` (the encoder's hot path): fixed-size copies of the
    /// whole address, then the unused tail is cut, so no length-dependent memcpy is called.
    #[inline]
    pub(crate) fn write(&self, dst: &mut Vec<u8>) {
        if let Some(id) = self.path_id {
            dst.extend_from_slice(&id.to_be_bytes());
        }
        let len = self.prefix.prefix_len();
        let n = usize::from(len).div_ceil(8);
        match self.prefix.addr() {
            IpAddr::V4(a) => {
                let o = a.octets();
                dst.extend_from_slice(&[len, o[0], o[1], o[2], o[3]]);
                dst.truncate(dst.len() - (4 - n));
            }
            IpAddr::V6(a) => {
                dst.push(len);
                dst.extend_from_slice(&a.octets());
                dst.truncate(dst.len() - (16 - n));
            }
        }
    }

    /// Appends the wire form. The Path Identifier is written when present.
    pub fn encode(&self, dst: &mut impl BufMut) {
        if let Some(id) = self.path_id {
            dst.put_u32(id);
        }
        let len = self.prefix.prefix_len();
        dst.put_u8(len);
        let n = usize::from(len).div_ceil(8);
        match self.prefix.addr() {
            IpAddr::V4(a) => dst.put_slice(&a.octets()[..n]),
            IpAddr::V6(a) => dst.put_slice(&a.octets()[..n]),
        }
    }
}

/// A received prefix field turned out malformed where [`Prefixes`] was reading it: a length
/// past the family's, or a record (or its Path Identifier) cut short. RFC 4271 §6.3 names it
/// Invalid Network Field, RFC 7606 §5.3 answers it with a session reset; it converts into
/// [`Error::InvalidNetworkField`], so `?` carries it where a wire [`Error`] is returned.
///
/// A type of its own, without data, so that `Result<Nlri, MalformedPrefix>` takes no more room
/// than an `Nlri` and a walk yields it as cheaply as a plain prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("invalid network field: a malformed prefix record")]
pub struct MalformedPrefix;

impl From<MalformedPrefix> for Error {
    fn from(_: MalformedPrefix) -> Self {
        Error::InvalidNetworkField
    }
}

/// Prefixes, owned, kept in their wire encoding (Path Identifier when present, length octet,
/// ceil(length/8) address octets, one after another), so that an owned UPDATE takes about the
/// room of its message and is encoded and decoded by copying octets.
///
/// Address octets past the prefix length are not on the wire and so are not kept: `10.0.1.1/24`
/// is pushed as `10.0.1.0/24` (bits past the length within its last octet are kept).
///
/// A list holds one address family and either every prefix with a Path Identifier or none,
/// as a field of an UPDATE does: the first prefix pushed decides both. A prefix without
/// Path Identifier pushed onto a list that has them gets Path Identifier 0; one with a Path
/// Identifier turns a list without them into one with them (the earlier prefixes get 0); a
/// prefix of the other family is not added (`push` returns `false`).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct PrefixList {
    /// The records, in wire encoding.
    bytes: Vec<u8>,
    /// IPv6 prefixes (false for an empty list).
    v6: bool,
    /// Each record starts with a Path Identifier (false for an empty list).
    add_path: bool,
}

impl PrefixList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of a field that was checked, or of another list's records.
    pub(crate) fn from_wire(bytes: &[u8], v6: bool, add_path: bool) -> Self {
        if bytes.is_empty() {
            return Self::default();
        }
        PrefixList {
            bytes: bytes.to_vec(),
            v6,
            add_path,
        }
    }

    /// A copy of the prefixes a borrowed field holds, from the first one not yet iterated;
    /// [`Error::InvalidNetworkField`] if the rest of the field is malformed.
    pub fn from_prefixes(p: &Prefixes<'_>) -> Result<Self, Error> {
        let max_bits = if p.is_ipv6() { 128 } else { 32 };
        check_prefixes(p.as_bytes(), max_bits, p.has_path_ids())?;
        Ok(Self::from_wire(p.as_bytes(), p.is_ipv6(), p.has_path_ids()))
    }

    /// Appends a prefix; `false` (and nothing added) if its family is not the list's.
    pub fn push(&mut self, n: Nlri) -> bool {
        let v6 = n.prefix.addr().is_ipv6();
        if self.bytes.is_empty() {
            self.v6 = v6;
            self.add_path = n.path_id.is_some();
        } else if v6 != self.v6 {
            return false;
        } else if n.path_id.is_some() && !self.add_path {
            let old = std::mem::take(self);
            self.v6 = old.v6;
            self.add_path = true;
            self.bytes.reserve(old.bytes.len() * 2);
            for p in old.iter() {
                self.write(Nlri {
                    path_id: Some(0),
                    ..p
                });
            }
        }
        self.write(n);
        true
    }

    fn write(&mut self, n: Nlri) {
        let n = Nlri {
            path_id: self.add_path.then_some(n.path_id.unwrap_or(0)),
            ..n
        };
        // Exactly the octets of the record (`write` overshoots and cuts back, which would
        // outgrow an exact reservation).
        n.encode(&mut self.bytes);
    }

    /// The prefixes, in order.
    pub fn iter(&self) -> PrefixListIter<'_> {
        PrefixListIter(Prefixes::new(&self.bytes, self.v6, self.add_path))
    }

    /// How many prefixes the list holds (counted).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The wire encoding of the prefixes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Octets of the wire encoding.
    pub fn encoded_len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the prefixes are IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.v6
    }

    /// Whether the prefixes carry Path Identifiers.
    pub fn has_path_ids(&self) -> bool {
        self.add_path
    }

    /// Octets the list holds on the heap.
    pub fn heap_size(&self) -> usize {
        self.bytes.capacity()
    }

    /// The prefixes as a `Vec`.
    pub fn to_vec(&self) -> Vec<Nlri> {
        self.iter().collect()
    }

    /// The records from octet `start` on: how many octets of them, whole prefixes, fit in
    /// `room` octets; at least one prefix when any is left.
    pub(crate) fn fit(&self, start: usize, room: usize) -> usize {
        let rest = self.bytes.get(start..).unwrap_or_default();
        let mut p = Prefixes::new(rest, self.v6, self.add_path);
        let mut used = 0;
        while let Some(Ok(_)) = p.next() {
            let next = rest.len() - p.as_bytes().len();
            if next > room && used > 0 {
                break;
            }
            used = next;
        }
        used
    }

    /// A list of the records in `range` (octet offsets that [`PrefixList::fit`] returned).
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> Self {
        Self::from_wire(
            self.bytes.get(range).unwrap_or_default(),
            self.v6,
            self.add_path,
        )
    }
}

impl std::fmt::Debug for PrefixList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl FromIterator<Nlri> for PrefixList {
    /// Collects the prefixes; the list's allocation is then cut to its length.
    fn from_iter<I: IntoIterator<Item = Nlri>>(iter: I) -> Self {
        let mut l = PrefixList::new();
        l.extend(iter);
        l.bytes.shrink_to_fit();
        l
    }
}

impl Extend<Nlri> for PrefixList {
    fn extend<I: IntoIterator<Item = Nlri>>(&mut self, iter: I) {
        for n in iter {
            self.push(n);
        }
    }
}

impl From<Vec<Nlri>> for PrefixList {
    fn from(v: Vec<Nlri>) -> Self {
        Self::from(&v[..])
    }
}

impl From<&[Nlri]> for PrefixList {
    /// Allocates once, the octets the prefixes take (when they all share the first one's
    /// Path Identifier mode, as a field's do).
    fn from(v: &[Nlri]) -> Self {
        let mut l = PrefixList::new();
        l.bytes
            .reserve_exact(v.iter().map(Nlri::encoded_len).sum::<usize>());
        l.extend(v.iter().copied());
        l
    }
}

impl<'a> IntoIterator for &'a PrefixList {
    type Item = Nlri;
    type IntoIter = PrefixListIter<'a>;
    fn into_iter(self) -> PrefixListIter<'a> {
        self.iter()
    }
}

/// Iterator over the prefixes of a [`PrefixList`], which is always well formed.
#[derive(Debug, Clone)]
pub struct PrefixListIter<'a>(Prefixes<'a>);

impl Iterator for PrefixListIter<'_> {
    type Item = Nlri;

    #[inline]
    fn next(&mut self) -> Option<Nlri> {
        // A list holds only records that were checked or written by `Nlri::encode`.
        self.0.next()?.ok()
    }
}

/// How a prefix field is laid out, found by [`shape`] (or [`check_prefixes`]) and used by
/// [`Prefixes`] to walk it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Shape {
    /// Prefixes of several lengths, an empty field, or a malformed one: walked one length
    /// octet at a time, each record checked as it is read.
    #[default]
    Mixed,
    /// Every prefix has the same length and so takes this many octets (Path Identifier,
    /// length, address).
    Uniform(u8),
    /// Every prefix is an IPv4 /32 without Path Identifier: 5-octet records.
    Host4,
    /// Every prefix is an IPv6 /128 without Path Identifier: 17-octet records.
    Host6,
}

/// The layout of a received prefix field, found without walking it: a field whose prefixes
/// all have one length is checked whole here (at memory speed); any other is `Mixed`, checked
/// record by record as [`Prefixes`] reads it. `max_bits` is 32 or 128.
#[inline]
pub(crate) fn shape(data: &[u8], max_bits: u8, add_path: bool) -> Shape {
    uniform_shape(data, max_bits, add_path).unwrap_or_default()
}

/// Checks the syntax of a whole prefix field (RFC 4271 §6.3: Invalid Network Field) and
/// returns how it is laid out, for a copy into a [`PrefixList`]. `max_bits` is 32 or 128.
pub(crate) fn check_prefixes(data: &[u8], max_bits: u8, add_path: bool) -> Result<Shape, Error> {
    if let Some(shape) = uniform_shape(data, max_bits, add_path) {
        return Ok(shape);
    }
    // One pass with the offset as the only state carried from one prefix to the next (the
    // length check is folded into a flag, not a branch), so the walk costs one load and two
    // additions per prefix.
    let id_len = if add_path { 4 } else { 0 };
    let (mut at, mut bad) = (0usize, false);
    while let Some(&bits) = data.get(at + id_len) {
        bad |= bits > max_bits;
        at += id_len + 1 + usize::from(bits).div_ceil(8);
    }
    if bad || at != data.len() {
        return Err(Error::InvalidNetworkField);
    }
    Ok(Shape::Mixed)
}

/// When every prefix of a field has the same length (a speaker announcing /32s or /128s), each
/// takes the same number of octets and the field is an array: returns its shape. Sound
/// because a sequential walk visits exactly the offsets checked here; unlike that walk, the
/// check has no dependency from one prefix to the next, so it runs at memory speed.
#[inline]
fn uniform_shape(data: &[u8], max_bits: u8, add_path: bool) -> Option<Shape> {
    let id_len = if add_path { 4 } else { 0 };
    let bits = *data.get(id_len)?;
    if bits > max_bits {
        return None;
    }
    let stride = id_len + 1 + usize::from(bits).div_ceil(8);
    if !data.len().is_multiple_of(stride) {
        return None;
    }
    // Host routes get a loop with a constant stride and no early exit, which the compiler
    // unrolls; every length octet is still compared.
    let same = match (stride, add_path) {
        (5, false) => lengths_all::<5>(data, bits),
        (17, false) => lengths_all::<17>(data, bits),
        _ => data
            .chunks_exact(stride)
            .all(|c| c.get(id_len) == Some(&bits)),
    };
    if !same {
        return None;
    }
    Some(match (bits, add_path) {
        (32, false) if max_bits == 32 => Shape::Host4,
        (128, false) => Shape::Host6,
        // At most 4 + 1 + 16 octets.
        _ => Shape::Uniform(stride as u8),
    })
}

/// Whether the first octet of every `S`-octet record of `data` is `bits`.
#[inline]
fn lengths_all<const S: usize>(data: &[u8], bits: u8) -> bool {
    data.chunks_exact(S).fold(0u8, |acc, c| {
        acc | (c.first().copied().unwrap_or(!bits) ^ bits)
    }) == 0
}

/// A zero-copy iterator over a received prefix field, checking each record as it reads it:
/// `Ok` for each prefix, then, if the field is malformed, one `Err(`[`MalformedPrefix`]`)` where
/// the first bad record starts, and nothing after it.
///
/// RFC 7606 §5.3 answers a malformed prefix field with a session reset, which withdraws every
/// route of the peer, so the prefixes yielded before the error do no harm to a session that
/// resets on it (as [`crate::session`] does); to check a field before using any of it,
/// collect it into a `Result<Vec<_>, _>` or a [`PrefixList`] first.
///
/// ```
/// use lb_bgp::wire::{Context, Error, MessageRef, nlri::MalformedPrefix};
///
/// // An UPDATE whose NLRI field holds 192.0.2.0/24, then a length of 33 bits.
/// let mut msg = vec![0xff; 16];
/// msg.extend_from_slice(&[0, 33, 2, 0, 0, 0, 0, 24, 192, 0, 2, 33, 198, 51, 100, 7, 1]);
/// let Ok(MessageRef::Update(u)) = MessageRef::parse(&msg, &Context::default()) else {
///     panic!("the message's lengths are fine")
/// };
/// let mut nlri = u.nlri();
/// assert_eq!(nlri.next().unwrap()?.prefix.to_string(), "192.0.2.0/24");
/// assert_eq!(nlri.next(), Some(Err(MalformedPrefix)));
/// assert_eq!(nlri.next(), None);
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Prefixes<'a> {
    data: &'a [u8],
    /// Octets per prefix when they all have the same length, else 0.
    stride: usize,
    /// The family, Path Identifier setting and shape as bits of one octet ([`V6`],
    /// [`ADD_PATH`], [`HOST4`], [`HOST6`]): one register for a caller's loop to keep, where
    /// four flags got spilled and reloaded on every prefix. Tested one by one they cost
    /// well-predicted branches, where a `match` on a shape enum becomes an indirect jump.
    mode: u8,
}

/// [`Prefixes::mode`]: IPv6 prefixes.
const V6: u8 = 1;
/// [`Prefixes::mode`]: each record starts with a Path Identifier.
const ADD_PATH: u8 = 2;
/// [`Prefixes::mode`]: every prefix is an IPv4 /32 (5-octet records).
const HOST4: u8 = 4;
/// [`Prefixes::mode`]: every prefix is an IPv6 /128 (17-octet records).
const HOST6: u8 = 8;

impl<'a> Prefixes<'a> {
    /// Over a field whose layout is not known yet (looked at once here).
    pub(crate) fn new(data: &'a [u8], v6: bool, add_path: bool) -> Self {
        let shape = shape(data, if v6 { 128 } else { 32 }, add_path);
        Self::with_shape(data, v6, add_path, shape)
    }

    /// Over a field that [`shape`] or [`check_prefixes`] found to have `shape` with this
    /// family and Path Identifier setting.
    #[inline]
    pub(crate) fn with_shape(data: &'a [u8], v6: bool, add_path: bool, shape: Shape) -> Self {
        // A shape that does not fit the family falls back to the general walk.
        let shape = match shape {
            Shape::Host4 if v6 || add_path => Shape::Mixed,
            Shape::Host6 if !v6 || add_path => Shape::Mixed,
            s => s,
        };
        let mut mode = 0;
        if v6 {
            mode |= V6;
        }
        if add_path {
            mode |= ADD_PATH;
        }
        let stride = match shape {
            Shape::Uniform(stride) => usize::from(stride),
            Shape::Host4 => {
                mode |= HOST4;
                5
            }
            Shape::Host6 => {
                mode |= HOST6;
                17
            }
            Shape::Mixed => 0,
        };
        Prefixes { data, stride, mode }
    }

    /// An iterator that yields nothing.
    pub fn empty() -> Self {
        Prefixes {
            data: &[],
            stride: 0,
            mode: 0,
        }
    }

    /// The raw octets not yet iterated.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// Whether the prefixes are IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.mode & V6 != 0
    }

    /// Whether each record carries a Path Identifier.
    fn has_path_ids(&self) -> bool {
        self.mode & ADD_PATH != 0
    }
}

/// The mask of an IPv4 address's first `n` octets, `n` from 0 to 4 (a load where the shift
/// needs a check of its width).
const MASK4: [u32; 5] = [0, 0xff00_0000, 0xffff_0000, 0xffff_ff00, u32::MAX];

/// The mask of an IPv6 address's first `n` octets, `n` from 0 to 16.
const MASK6: [u128; 17] = {
    let mut m = [0u128; 17];
    let mut n = 1;
    while n <= 16 {
        m[n] = u128::MAX << (128 - 8 * n);
        n += 1;
    }
    m
};

/// The item at a malformed record, on a path marked cold. Free of `self`: a call that took the
/// iterator would make its fields escape to memory, and the shape flags could then no longer
/// be hoisted out of the caller's loop.
#[cold]
fn malformed() -> Option<Result<Nlri, MalformedPrefix>> {
    Some(Err(MalformedPrefix))
}

impl Iterator for Prefixes<'_> {
    type Item = Result<Nlri, MalformedPrefix>;

    #[inline]
    fn next(&mut self) -> Option<Result<Nlri, MalformedPrefix>> {
        if self.mode & HOST6 != 0 {
            // Every length octet was checked to be 128: fixed records, constant length. The
            // address goes through `u128` so that it stays two 8-octet loads (built from the
            // octet array, it is assembled from pieces).
            let (record, rest) = self.data.split_first_chunk::<17>()?;
            self.data = rest;
            let addr = Ipv6Addr::from_bits(u128::from_be_bytes(*record.last_chunk::<16>()?));
            let net = Ipv6Net::new(addr, 128).ok()?;
            return Some(Ok(Nlri::new(IpNet::V6(net))));
        }
        if self.mode & HOST4 != 0 {
            // Every length octet was checked to be 32.
            let (&[_, a, b, c, d], rest) = self.data.split_first_chunk::<5>()?;
            self.data = rest;
            let net = Ipv4Net::new(Ipv4Addr::new(a, b, c, d), 32).ok()?;
            return Some(Ok(Nlri::new(IpNet::V4(net))));
        }
        let stride = self.stride;
        if stride != 0 {
            // All prefixes have one length, checked: step by the stride, no length-to-offset
            // chain.
            let (mut d, rest) = self.data.split_at_checked(stride)?;
            self.data = rest;
            let path_id = if self.has_path_ids() {
                let (id, r) = d.split_first_chunk::<4>()?;
                d = r;
                Some(u32::from_be_bytes(*id))
            } else {
                None
            };
            let (&bits, addr) = d.split_first()?;
            return Some(Ok(Nlri {
                path_id,
                prefix: to_prefix(self.is_ipv6(), bits, addr)?,
            }));
        }
        // The general walk, which checks each record as it reads it: the field is read once.
        let mut d = self.data;
        if d.is_empty() {
            return None;
        }
        // Every way a record can be malformed leaves this block, to one exit below.
        let record = 'record: {
            let path_id = if self.has_path_ids() {
                let Some((id, rest)) = d.split_first_chunk::<4>() else {
                    break 'record None;
                };
                d = rest;
                Some(u32::from_be_bytes(*id))
            } else {
                None
            };
            let Some((&bits, rest)) = d.split_first() else {
                break 'record None;
            };
            let n = usize::from(bits).div_ceil(8);
            let Some(next) = rest.get(n..) else {
                break 'record None;
            };
            // A whole address's worth of octets is there (all but the last prefixes of a field):
            // one load of the full width, the octets past the prefix masked off; no branch on the
            // length and no length-dependent copy. A length past the family's makes `new` fail.
            // Each prefix is built straight into its `IpNet` (an `Option` in between was kept in
            // memory, merged with the previous one).
            let prefix = if self.is_ipv6() {
                let a = match rest.first_chunk::<16>() {
                    Some(o) => {
                        // Past 16 octets the length is past 128 bits.
                        let Some(mask) = MASK6.get(n) else {
                            break 'record None;
                        };
                        u128::from_be_bytes(*o) & mask
                    }
                    None => u128::from_be_bytes(padded(rest, n)),
                };
                let Ok(net) = Ipv6Net::new(Ipv6Addr::from_bits(a), bits) else {
                    break 'record None;
                };
                IpNet::V6(net)
            } else {
                let a = match rest.first_chunk::<4>() {
                    Some(o) => {
                        // Past 4 octets the length is past 32 bits.
                        let Some(mask) = MASK4.get(n) else {
                            break 'record None;
                        };
                        u32::from_be_bytes(*o) & mask
                    }
                    None => u32::from_be_bytes(padded(rest, n)),
                };
                let Ok(net) = Ipv4Net::new(Ipv4Addr::from_bits(a), bits) else {
                    break 'record None;
                };
                IpNet::V4(net)
            };
            Some((Nlri { path_id, prefix }, next))
        };
        match record {
            Some((nlri, next)) => {
                self.data = next;
                Some(Ok(nlri))
            }
            None => {
                self.data = &[];
                malformed()
            }
        }
    }
}

/// The first `n` octets of `octets`, zero-padded to an address's `N`: the end of a field, where
/// fewer than a whole address's octets are left. Copied one by one: a few octets, where a
/// length-dependent copy is a call.
#[inline]
fn padded<const N: usize>(octets: &[u8], n: usize) -> [u8; N] {
    let mut o = [0u8; N];
    for (d, s) in o.iter_mut().zip(octets.iter().take(n)) {
        *d = *s;
    }
    o
}

/// Builds a prefix from its length and its ceil(bits/8) address octets.
#[inline]
fn to_prefix(v6: bool, bits: u8, addr: &[u8]) -> Option<IpNet> {
    // Full-length prefixes (the common /32 and /128) are one fixed-size copy.
    if v6 {
        let o = match addr.first_chunk::<16>() {
            Some(full) => *full,
            None => padded(addr, addr.len()),
        };
        // Through `u128`: the consumer's own conversions then fold into two 8-octet loads.
        let addr = Ipv6Addr::from_bits(u128::from_be_bytes(o));
        Ipv6Net::new(addr, bits).ok().map(IpNet::V6)
    } else {
        let o = match addr.first_chunk::<4>() {
            Some(full) => *full,
            None => padded(addr, addr.len()),
        };
        Ipv4Net::new(Ipv4Addr::from(o), bits).ok().map(IpNet::V4)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_encode() {
        let bytes = [24, 192, 0, 2, 32, 198, 51, 100, 7, 0];
        assert_eq!(check_prefixes(&bytes, 32, false), Ok(Shape::Mixed));
        let got = all(Prefixes::new(&bytes, false, false));
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].prefix, "192.0.2.0/24".parse::<IpNet>().unwrap());
        assert_eq!(got[1].prefix, "198.51.100.7/32".parse::<IpNet>().unwrap());
        assert_eq!(got[2].prefix, "0.0.0.0/0".parse::<IpNet>().unwrap());
        let mut out = Vec::new();
        got.iter().for_each(|n| n.encode(&mut out));
        assert_eq!(out, bytes);
    }

    /// The prefixes of a well-formed field.
    fn all(p: Prefixes<'_>) -> Vec<Nlri> {
        p.collect::<Result<_, _>>().unwrap()
    }

    /// The walk of a field with every shape forced to the general one.
    fn walked(data: &[u8], v6: bool, add_path: bool) -> Vec<Nlri> {
        all(Prefixes::with_shape(data, v6, add_path, Shape::Mixed))
    }

    #[test]
    fn uniform_fields_take_the_fast_path_and_agree_with_the_walk() {
        let same = [32, 10, 0, 0, 1, 32, 10, 0, 0, 2, 32, 10, 0, 0, 3];
        assert_eq!(uniform_shape(&same, 32, false), Some(Shape::Host4));
        assert_eq!(check_prefixes(&same, 32, false), Ok(Shape::Host4));
        let fast = all(Prefixes::new(&same, false, false));
        assert_eq!(fast.len(), 3);
        assert_eq!(fast, walked(&same, false, false));
        // /32s in an IPv6 field are not IPv4 host routes.
        assert_eq!(uniform_shape(&same, 128, false), Some(Shape::Uniform(5)));
        let v6 = all(Prefixes::new(&same, true, false));
        assert_eq!(v6, walked(&same, true, false));
        assert_eq!(v6[0].prefix, "a00:1::/32".parse::<IpNet>().unwrap());
        // The same routes with Path Identifiers.
        let ids = [0, 0, 0, 7, 32, 10, 0, 0, 1, 0, 0, 0, 8, 32, 10, 0, 0, 2];
        assert_eq!(check_prefixes(&ids, 32, true), Ok(Shape::Uniform(9)));
        let fast = all(Prefixes::new(&ids, false, true));
        assert_eq!(fast[1].path_id, Some(8));
        assert_eq!(fast, walked(&ids, false, true));
        // /24s: uniform, not host routes.
        let nets = [24, 10, 0, 1, 24, 10, 0, 2];
        assert_eq!(check_prefixes(&nets, 32, false), Ok(Shape::Uniform(4)));
        let fast = all(Prefixes::new(&nets, false, false));
        assert_eq!(fast, walked(&nets, false, false));
        // IPv6 /128s.
        let mut hosts = Vec::new();
        for i in 0..3u8 {
            hosts.push(128);
            hosts.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, i]);
        }
        assert_eq!(check_prefixes(&hosts, 128, false), Ok(Shape::Host6));
        let fast = all(Prefixes::new(&hosts, true, false));
        assert_eq!(fast[2].prefix, "2001:db8::2/128".parse::<IpNet>().unwrap());
        assert_eq!(fast, walked(&hosts, true, false));
        // A shape that does not fit the family is ignored.
        let safe = all(Prefixes::with_shape(&hosts, true, false, Shape::Host4));
        assert_eq!(safe, fast);
        // One odd length in the middle: no fast path, and the walk finds the error.
        let odd = [32, 10, 0, 0, 1, 33, 10, 0, 0, 2, 0];
        assert_eq!(uniform_shape(&odd, 32, false), None);
        assert_eq!(
            check_prefixes(&odd, 32, false),
            Err(Error::InvalidNetworkField)
        );
        let odd = [32, 10, 0, 0, 1, 31, 10, 0, 0, 2];
        assert_eq!(uniform_shape(&odd, 32, false), None);
        assert_eq!(check_prefixes(&odd, 32, false), Ok(Shape::Mixed));
        let mixed = [32, 10, 0, 0, 1, 8, 10];
        assert_eq!(uniform_shape(&mixed, 32, false), None);
        assert_eq!(check_prefixes(&mixed, 32, false), Ok(Shape::Mixed));
        assert_eq!(Prefixes::new(&mixed, false, false).count(), 2);
    }

    /// The general walk loads a whole address and masks it when the field has room, and copies
    /// the octets when it does not (the last prefixes): both give the prefix the octets say,
    /// for every length, with bits past the length kept within the last octet.
    #[test]
    fn masked_loads_agree_with_octet_copies() {
        for v6 in [false, true] {
            let max: u8 = if v6 { 128 } else { 32 };
            let mut field = Vec::new();
            let mut want = Vec::new();
            for bits in 0..=max {
                let n = usize::from(bits).div_ceil(8);
                // Octets 0xa5, 0x5a, ... so that a wrong mask shows; the last octet keeps its
                // low bits past the prefix length.
                let octets: Vec<u8> = (0..n)
                    .map(|i| if i % 2 == 0 { 0xa5 } else { 0x5a })
                    .collect();
                field.push(bits);
                field.extend_from_slice(&octets);
                want.push(to_prefix(v6, bits, &octets).unwrap());
            }
            assert_eq!(check_prefixes(&field, max, false), Ok(Shape::Mixed));
            let got: Vec<_> = all(Prefixes::new(&field, v6, false))
                .into_iter()
                .map(|n| n.prefix)
                .collect();
            assert_eq!(got, want);
            // The same field read backwards: the long prefixes come last, near the end.
            let mut back = Vec::new();
            let mut want_back = Vec::new();
            for bits in (0..=max).rev() {
                let n = usize::from(bits).div_ceil(8);
                back.push(bits);
                back.extend(std::iter::repeat_n(0xff, n));
                want_back.push(to_prefix(v6, bits, &vec![0xff; n]).unwrap());
            }
            let got: Vec<_> = all(Prefixes::new(&back, v6, false))
                .into_iter()
                .map(|n| n.prefix)
                .collect();
            assert_eq!(got, want_back);
        }
        // A field with a length past the family's ends in an error, without panicking.
        let bad = [33, 1, 2, 3, 4, 5, 6, 7, 8];
        let malformed = [Err(MalformedPrefix)];
        assert_eq!(
            Prefixes::new(&bad, false, false).collect::<Vec<_>>(),
            malformed
        );
        let bad = [
            200, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
        ];
        assert_eq!(
            Prefixes::new(&bad, true, false).collect::<Vec<_>>(),
            malformed
        );
    }

    /// The error of a walk costs no room: an item is as large as a prefix.
    #[test]
    fn an_item_is_as_large_as_a_prefix() {
        assert_eq!(
            std::mem::size_of::<Result<Nlri, MalformedPrefix>>(),
            std::mem::size_of::<Nlri>()
        );
        assert_eq!(Error::from(MalformedPrefix), Error::InvalidNetworkField);
    }

    /// A mixed field is checked as it is read: the well-formed records come out, then one
    /// error where the first bad record starts, then nothing.
    #[test]
    fn the_walk_checks_each_record() {
        let err = Err(MalformedPrefix);
        let ok = |s: &str| Ok(Nlri::new(s.parse::<IpNet>().unwrap()));
        // A length past the family's after two good records.
        let field = [24, 192, 0, 2, 8, 10, 33, 1, 2, 3, 4, 5, 24, 192, 0, 2];
        let got: Vec<_> = Prefixes::new(&field, false, false).collect();
        assert_eq!(got, [ok("192.0.2.0/24"), ok("10.0.0.0/8"), err]);
        // The last record cut short, where the masked load has no room.
        let got: Vec<_> = Prefixes::new(&[16, 10, 1, 24, 192, 0], false, false).collect();
        assert_eq!(got, [ok("10.1.0.0/16"), err]);
        let got: Vec<_> = Prefixes::new(&[48, 0x20, 1, 0xd, 0xb8], true, false).collect();
        assert_eq!(got, [err]);
        // A Path Identifier cut short.
        let got: Vec<_> = Prefixes::new(&[0, 0, 0, 9, 8, 10, 0, 0], false, true).collect();
        assert_eq!(
            got,
            [
                Ok(Nlri {
                    path_id: Some(9),
                    prefix: "10.0.0.0/8".parse().unwrap()
                }),
                err
            ]
        );
        // The same fields copied whole into a list fail.
        let p = Prefixes::new(&field, false, false);
        assert_eq!(
            PrefixList::from_prefixes(&p),
            Err(Error::InvalidNetworkField)
        );
    }

    proptest::proptest! {
        /// On any octets, the one-pass walk and the whole-field check agree: the walk yields
        /// an error (once, last) exactly when the check fails, and the prefixes otherwise.
        #[test]
        fn walk_agrees_with_check(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            v6 in proptest::prelude::any::<bool>(),
            add_path in proptest::prelude::any::<bool>(),
        ) {
            let max = if v6 { 128 } else { 32 };
            let got: Vec<_> = Prefixes::new(&data, v6, add_path).collect();
            let errors = got.iter().filter(|r| r.is_err()).count();
            match check_prefixes(&data, max, add_path) {
                Ok(_) => proptest::prop_assert_eq!(errors, 0),
                Err(_) => {
                    proptest::prop_assert_eq!(errors, 1);
                    proptest::prop_assert!(got.last().is_some_and(|r| r.is_err()));
                }
            }
            let walked: Vec<_> = Prefixes::with_shape(&data, v6, add_path, Shape::Mixed).collect();
            proptest::prop_assert_eq!(got, walked);
        }
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(
            check_prefixes(&[33, 1, 2, 3, 4, 5], 32, false),
            Err(Error::InvalidNetworkField)
        );
        assert_eq!(
            check_prefixes(&[24, 1, 2], 32, false),
            Err(Error::InvalidNetworkField)
        );
        assert_eq!(
            check_prefixes(&[0, 0, 0], 32, true),
            Err(Error::InvalidNetworkField)
        );
        assert_eq!(
            check_prefixes(&[0, 0, 0, 1, 8, 10], 32, true),
            Ok(Shape::Uniform(6))
        );
        // A field of /32s cut short.
        assert_eq!(
            check_prefixes(&[32, 10, 0, 0, 1, 32, 10, 0, 0], 32, false),
            Err(Error::InvalidNetworkField)
        );
    }
}
