//! lb-bgp's UPDATE codec against a plain walker and the crates.io BGP codecs, on the same bytes
//! (issues 4 and 13).
//!
//! Workloads, each 10,000 UPDATEs of 100 prefixes back to back in one buffer:
//! - `a-ipv4`: IPv4 /32 in NLRI with ORIGIN, AS_PATH of three 4-octet ASNs (one above 65535),
//!   NEXT_HOP, MED, LOCAL_PREF and two COMMUNITIES;
//! - `b-ipv6`: the same as IPv6 /128 in MP_REACH_NLRI;
//! - `c-withdraw`: 100 IPv4 /32 withdrawals per message;
//! - `d-mixed`: the attributes of `a-ipv4`, prefix lengths uniform over /8–/32;
//! - `e-table-v4` and `f-table-v6`: prefix lengths distributed as in the global tables, with
//!   varied AS paths and communities (see [`V4_TABLE`], [`V6_TABLE`] and [`table_update`]).
//!
//! Decoders: `plain walker` (the floor: a safe, bounds-checked walk written the obvious way,
//! doing the same output work as the lb-bgp row), lb-bgp, and the crates.io codecs. Every
//! decoder must report all 1,000,000 prefixes of a workload (checked before timing), so a lazy
//! decoder cannot skip work; decoders that parse attributes lazily are made to read the ones
//! the workload carries.
//!
//! Encoders: lb-bgp from freshly built [`Update`]s and from the [`Update`]s its own decoder
//! produced, zettabgp and rustbgpd-wire from their own decoded forms; each must write back the
//! workload's bytes exactly (checked before timing). holo-bgp is not on crates.io, so it is not
//! here.
//!
//! Criterion measures every row; at the end a table gives each median with its 95% interval
//! and the ratios, all computed from the medians of this run. Criterion measures the rows one
//! after another, and the VM this runs on has slow spells lasting seconds, which land on
//! whichever row is being measured; so every group is also timed interleaved (each round runs
//! one iteration of every row in turn, 21 rounds), and the goals table gives the ratios of
//! both, a goal being met when both reach it. Given a filter, only criterion runs.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use lb_benches::estimates::{self, median};
use lb_bgp::wire::nlri::MalformedPrefix;
use lb_bgp::wire::{
    Afi, AsPath, Attribute, AttributeData, AttributeValue, Community, Context, LargeCommunity,
    MessageRef, MpNextHop, MpReach, Nlri, Origin, Safi, SegmentType, Update, UpdateMessage, frame,
};

const MESSAGES: u32 = 10_000;
const PER_MESSAGE: u32 = 100;
const PREFIXES: usize = (PER_MESSAGE * MESSAGES) as usize;

// ---------------------------------------------------------------- workloads

/// splitmix64: a seeded generator, so every run builds the same workloads.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }
    /// True with probability `pct`%.
    fn pct(&mut self, pct: u32) -> bool {
        self.range(0, 99) < pct
    }
}

/// Prefix lengths of the IPv4 workload: (percent, shortest, longest), each band uniform.
/// The global IPv4 table (about 1M routes in 2025, per the CIDR report and RIPE RIS
/// snapshots) is about 60% /24, 10% each /23 and /22, 12% /16–/21 and well under 1% shorter;
/// longer than /24 is filtered there but common on internal feeds (this project announces
/// /32 service addresses), so 5% /25–/32 and 3% /8–/15 to exercise the short and long ends.
const V4_TABLE: [(u32, u8, u8); 6] = [
    (60, 24, 24),
    (10, 23, 23),
    (10, 22, 22),
    (12, 16, 21),
    (3, 8, 15),
    (5, 25, 32),
];

/// Prefix lengths of the IPv6 workload, as [`V4_TABLE`]. The global IPv6 table (about 230k
/// routes in 2025) is about half /48, then /32 (about 12%), /44, /40 and /36 and the other
/// lengths between /33 and /47, a few percent shorter than /32 and very few longer than /48.
const V6_TABLE: [(u32, u8, u8); 5] = [
    (55, 48, 48),
    (12, 32, 32),
    (18, 33, 47),
    (5, 16, 31),
    (10, 49, 64),
];

fn pick_len(rng: &mut Rng, table: &[(u32, u8, u8)]) -> u8 {
    let mut r = rng.range(0, 99);
    for &(pct, lo, hi) in table {
        if r < pct {
            return rng.range(u32::from(lo), u32::from(hi)) as u8;
        }
        r -= pct;
    }
    unreachable!("the bands add up to 100%")
}

/// A random unicast prefix (first octet 1 to 223 but 127: netgauze rejects the others).
fn rand_v4(rng: &mut Rng, len: u8) -> Nlri {
    let first = match rng.range(1, 222) {
        127 => 223,
        o => o,
    };
    let a = std::net::Ipv4Addr::from(first << 24 | (rng.next() as u32 & 0x00ff_ffff));
    Nlri::new(IpNet::V4(Ipv4Net::new(a, len).unwrap().trunc()))
}

fn rand_v6(rng: &mut Rng, len: u8) -> Nlri {
    let a = (0x2000u128 << 112) | (u128::from(rng.next()) << 64 >> 4) | u128::from(rng.next());
    let a = std::net::Ipv6Addr::from(a);
    Nlri::new(IpNet::V6(Ipv6Net::new(a, len).unwrap().trunc()))
}

fn v6_next_hop() -> MpNextHop {
    MpNextHop::Ipv6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: None,
    }
}

/// An UPDATE with the fixed attributes of workloads a, b and d.
fn fixed_update(v6: bool, prefixes: Vec<Nlri>) -> Update {
    let mut attributes = vec![
        Attribute::new(AttributeData::Origin(Origin::Igp)),
        Attribute::new(AttributeData::AsPath(AsPath::sequence([
            64500,
            4_200_000_001,
            64501,
        ]))),
    ];
    if !v6 {
        attributes.push(Attribute::new(AttributeData::NextHop(
            "192.0.2.1".parse().unwrap(),
        )));
    }
    attributes.extend([
        Attribute::new(AttributeData::MultiExitDisc(10)),
        Attribute::new(AttributeData::LocalPref(100)),
        Attribute::new(AttributeData::Communities(vec![
            Community::new(64500, 1),
            Community::NO_EXPORT,
        ])),
    ]);
    finish(attributes, v6, prefixes)
}

fn finish(mut attributes: Vec<Attribute>, v6: bool, prefixes: Vec<Nlri>) -> Update {
    if v6 {
        attributes.push(Attribute::new(AttributeData::MpReach(Box::new(MpReach {
            afi: Afi::IPV6,
            safi: Safi::UNICAST,
            next_hop: v6_next_hop(),
            nlri: prefixes.into(),
        }))));
        Update {
            attributes,
            ..Update::default()
        }
    } else {
        Update {
            attributes,
            nlri: prefixes.into(),
            ..Update::default()
        }
    }
}

/// An UPDATE as a full-table feed carries: ORIGIN, an AS_PATH of 1 to 10 ASNs (one in five
/// above 65535), NEXT_HOP for IPv4, MED on half, 0 to 10 COMMUNITIES, LARGE_COMMUNITY (1 to 3)
/// on a quarter, then 100 prefixes with lengths from the table.
fn table_update(rng: &mut Rng, v6: bool) -> Update {
    let origin = [Origin::Igp, Origin::Egp, Origin::Incomplete][rng.range(0, 2) as usize];
    let hops = rng.range(1, 10);
    let path = AsPath::sequence((0..hops).map(|_| {
        if rng.pct(20) {
            rng.range(131_072, 4_199_999_999)
        } else {
            rng.range(1, 64_495)
        }
    }));
    let mut attributes = vec![
        Attribute::new(AttributeData::Origin(origin)),
        Attribute::new(AttributeData::AsPath(path)),
    ];
    if !v6 {
        let nh = std::net::Ipv4Addr::new(192, 0, 2, rng.range(1, 254) as u8);
        attributes.push(Attribute::new(AttributeData::NextHop(nh)));
    }
    if rng.pct(50) {
        attributes.push(Attribute::new(AttributeData::MultiExitDisc(
            rng.range(0, 1000),
        )));
    }
    let n = rng.range(0, 10);
    if n > 0 {
        let c = (0..n)
            .map(|_| Community::new(rng.range(1, 65_534) as u16, rng.range(0, 65_535) as u16))
            .collect();
        attributes.push(Attribute::new(AttributeData::Communities(c)));
    }
    if rng.pct(25) {
        let c = (0..rng.range(1, 3))
            .map(|_| LargeCommunity {
                global_admin: rng.range(131_072, 4_199_999_999),
                local1: rng.range(0, 1000),
                local2: rng.range(0, 1000),
            })
            .collect();
        attributes.push(Attribute::new(AttributeData::LargeCommunities(c)));
    }
    let table: &[(u32, u8, u8)] = if v6 { &V6_TABLE } else { &V4_TABLE };
    let prefixes = (0..PER_MESSAGE)
        .map(|_| {
            let len = pick_len(rng, table);
            if v6 {
                rand_v6(rng, len)
            } else {
                rand_v4(rng, len)
            }
        })
        .collect();
    finish(attributes, v6, prefixes)
}

const WORKLOADS: [&str; 6] = [
    "a-ipv4",
    "b-ipv6",
    "c-withdraw",
    "d-mixed",
    "e-table-v4",
    "f-table-v6",
];

fn workload(name: &str) -> Vec<Update> {
    let mut rng = Rng(0x5EED_0000 + name.len() as u64 + u64::from(name.as_bytes()[0]));
    (0..MESSAGES)
        .map(|i| {
            let host = |k: u32| i * PER_MESSAGE + k;
            match name {
                "a-ipv4" | "c-withdraw" => {
                    let p = (0..PER_MESSAGE)
                        .map(|k| {
                            let a = std::net::Ipv4Addr::from(0x0a00_0000 | host(k));
                            Nlri::new(IpNet::V4(Ipv4Net::new(a, 32).unwrap()))
                        })
                        .collect::<Vec<_>>();
                    if name == "a-ipv4" {
                        fixed_update(false, p)
                    } else {
                        Update {
                            withdrawn: p.into(),
                            ..Update::default()
                        }
                    }
                }
                "b-ipv6" => {
                    let p = (0..PER_MESSAGE)
                        .map(|k| {
                            let a = (0x2001_0db8u128 << 96) | u128::from(host(k));
                            let a = std::net::Ipv6Addr::from(a);
                            Nlri::new(IpNet::V6(Ipv6Net::new(a, 128).unwrap()))
                        })
                        .collect();
                    fixed_update(true, p)
                }
                "d-mixed" => {
                    let p = (0..PER_MESSAGE)
                        .map(|_| {
                            let len = rng.range(8, 32) as u8;
                            rand_v4(&mut rng, len)
                        })
                        .collect();
                    fixed_update(false, p)
                }
                "e-table-v4" => table_update(&mut rng, false),
                "f-table-v6" => table_update(&mut rng, true),
                _ => unreachable!("unknown workload {name}"),
            }
        })
        .collect()
}

fn encode_all(updates: &[Update], out: &mut Vec<u8>) {
    let ctx = Context::four_octet();
    out.clear();
    for u in updates {
        u.encode(&ctx, out).unwrap();
    }
}

fn msg_len(buf: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([buf[16], buf[17]]))
}

/// Counts items, handing each to `black_box` so that none is optimised away.
trait Touch: Iterator + Sized {
    fn touch(self) -> usize {
        let mut n = 0;
        for x in self {
            black_box(x);
            n += 1;
        }
        n
    }
}

impl<I: Iterator> Touch for I {}

/// Folds one prefix into a checksum (the output work of the lb-bgp and walker rows).
#[inline]
fn fold(acc: u64, p: &Nlri) -> u64 {
    let addr = match p.prefix {
        IpNet::V4(v) => u64::from(u32::from(v.addr())),
        IpNet::V6(v) => u128::from(v.addr()) as u64 ^ (u128::from(v.addr()) >> 64) as u64,
    };
    acc.wrapping_add(addr ^ u64::from(p.prefix.prefix_len()) ^ u64::from(p.path_id.unwrap_or(0)))
}

/// Counts lb-bgp's prefixes, folding every address and length into a checksum that goes to
/// `black_box`, so each prefix is decoded without forcing the struct through memory; `None` at a
/// malformed field (lb-bgp checks each prefix as it reads it).
fn consume_checked(it: impl Iterator<Item = Result<Nlri, MalformedPrefix>>) -> Option<usize> {
    let (mut n, mut acc) = (0, 0u64);
    for p in it {
        acc = fold(acc, &p.ok()?);
        n += 1;
    }
    black_box(acc);
    Some(n)
}

// ---------------------------------------------------------------- the plain walker

/// The floor: UPDATEs walked the obvious way, every read bounds-checked (`get`), no unsafe,
/// no allocation; the same output work as [`lb_bgp`] (each prefix built as an [`Nlri`] and
/// folded, AS numbers and communities summed, other attribute values handed to `black_box`).
/// Returns `None` on malformed input.
mod walker {
    use super::{Nlri, black_box, fold};
    use ipnet::{IpNet, Ipv4Net, Ipv6Net};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn be16(d: &[u8], at: usize) -> Option<usize> {
        Some(usize::from(u16::from_be_bytes(
            *d.get(at..)?.first_chunk()?,
        )))
    }

    fn be32(d: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_be_bytes(*d.get(at..)?.first_chunk()?))
    }

    /// Walks a prefix field, returning how many prefixes it holds.
    fn prefixes(mut d: &[u8], v6: bool) -> Option<usize> {
        let (mut n, mut acc) = (0, 0u64);
        while let Some((&bits, rest)) = d.split_first() {
            let len = usize::from(bits).div_ceil(8);
            let addr = rest.get(..len)?;
            let prefix = if v6 {
                let mut o = [0u8; 16];
                o.get_mut(..len)?.copy_from_slice(addr);
                IpNet::V6(Ipv6Net::new(Ipv6Addr::from(o), bits).ok()?)
            } else {
                let mut o = [0u8; 4];
                o.get_mut(..len)?.copy_from_slice(addr);
                IpNet::V4(Ipv4Net::new(Ipv4Addr::from(o), bits).ok()?)
            };
            acc = fold(acc, &Nlri::new(prefix));
            n += 1;
            d = rest.get(len..)?;
        }
        black_box(acc);
        Some(n)
    }

    /// One UPDATE (header included); the number of prefixes in it.
    pub fn update(m: &[u8]) -> Option<usize> {
        if m.get(..16)? != [0xff; 16] || *m.get(18)? != 2 || be16(m, 16)? != m.len() {
            return None;
        }
        let body = m.get(19..)?;
        let w_len = be16(body, 0)?;
        let withdrawn = body.get(2..2 + w_len)?;
        let a_at = 2 + w_len;
        let a_len = be16(body, a_at)?;
        let mut attrs = body.get(a_at + 2..a_at + 2 + a_len)?;
        let nlri = body.get(a_at + 2 + a_len..)?;
        let mut n = prefixes(withdrawn, false)? + prefixes(nlri, false)?;
        while let Some(&[flags, t]) = attrs.first_chunk::<2>() {
            let (len, hdr) = if flags & 0x10 != 0 {
                (be16(attrs, 2)?, 4)
            } else {
                (usize::from(*attrs.get(2)?), 3)
            };
            let v = attrs.get(hdr..hdr + len)?;
            attrs = attrs.get(hdr + len..)?;
            match t {
                2 => {
                    let (mut sum, mut s) = (0u32, v);
                    while let Some(&[_, count]) = s.first_chunk::<2>() {
                        let asns = s.get(2..2 + 4 * usize::from(count))?;
                        for a in asns.chunks_exact(4) {
                            sum = sum.wrapping_add(be32(a, 0)?);
                        }
                        s = s.get(2 + asns.len()..)?;
                    }
                    black_box(sum);
                }
                8 => {
                    let c = v.chunks_exact(4);
                    if !c.remainder().is_empty() {
                        return None;
                    }
                    black_box(c.map(|c| be32(c, 0).unwrap_or(0)).sum::<u32>());
                }
                32 => {
                    let c = v.chunks_exact(12);
                    if !c.remainder().is_empty() {
                        return None;
                    }
                    black_box(c.map(|c| be32(c, 0).unwrap_or(0)).sum::<u32>());
                }
                14 => {
                    let afi = be16(v, 0)?;
                    let nh_len = usize::from(*v.get(3)?);
                    black_box(v.get(4..4 + nh_len)?);
                    n += prefixes(v.get(5 + nh_len..)?, afi == 2)?;
                }
                15 => n += prefixes(v.get(3..)?, be16(v, 0)? == 2)?,
                _ => {
                    black_box(v);
                }
            }
        }
        Some(n)
    }
}

// ---------------------------------------------------------------- decoders: buffer -> prefixes

fn plain_walker(buf: &[u8]) -> usize {
    let mut n = 0;
    let mut rest = buf;
    while let Some(len) = rest.get(16..18) {
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (m, r) = rest.split_at(len);
        rest = r;
        n += walker::update(m).expect("plain walker");
    }
    n
}

fn lb_bgp(buf: &[u8]) -> usize {
    let ctx = Context::four_octet();
    let mut n = 0;
    let mut rest = buf;
    while let Ok(Some((_, len))) = frame(rest, 4096) {
        let (m, r) = rest.split_at(len);
        rest = r;
        let Ok(MessageRef::Update(u)) = MessageRef::parse(m, &ctx) else {
            panic!("lb-bgp")
        };
        n += lb_bgp_update(&u).expect("lb-bgp");
    }
    n
}

/// One parsed UPDATE: the number of prefixes in it, `None` if a prefix field is malformed (found
/// as it is read, as the walker finds it).
fn lb_bgp_update(u: &UpdateMessage<'_>) -> Option<usize> {
    let mut n = consume_checked(u.withdrawn_routes())? + consume_checked(u.nlri())?;
    for a in u.attributes() {
        match a.value() {
            AttributeValue::AsPath(p) => {
                black_box(
                    p.segments()
                        .flat_map(|s| s.asns())
                        .fold(0u32, u32::wrapping_add),
                );
            }
            AttributeValue::Communities(c) => {
                black_box(c.map(|c| c.0).sum::<u32>());
            }
            AttributeValue::LargeCommunities(c) => {
                black_box(c.map(|c| c.global_admin).sum::<u32>());
            }
            AttributeValue::MpReach(r) => {
                black_box(r.next_hop());
                n += consume_checked(r.nlri())?;
            }
            AttributeValue::MpUnreach(r) => n += consume_checked(r.withdrawn())?,
            v => {
                black_box(v);
            }
        }
    }
    Some(n)
}

fn zettabgp_params() -> zettabgp::prelude::BgpSessionParams {
    use zettabgp::prelude::*;
    let mut params = BgpSessionParams::new(
        64500,
        90,
        BgpTransportMode::IPv4,
        std::net::Ipv4Addr::new(192, 0, 2, 1),
        vec![
            BgpCapability::SafiIPv4u,
            BgpCapability::SafiIPv6u,
            BgpCapability::CapASN32(64500),
        ],
    );
    params.fuzzy_pathid = false;
    params.has_as32bit = true;
    params
}

fn zettabgp_decode(
    params: &zettabgp::prelude::BgpSessionParams,
    m: &[u8],
) -> zettabgp::prelude::BgpUpdateMessage {
    use zettabgp::prelude::*;
    let (_, body) = params.decode_message_head(m).unwrap();
    let mut u = BgpUpdateMessage::new();
    u.decode_from(params, &m[19..19 + body]).unwrap();
    u
}

fn zettabgp(buf: &[u8]) -> usize {
    use zettabgp::prelude::*;
    let params = zettabgp_params();
    let mut n = 0;
    let mut rest = buf;
    while !rest.is_empty() {
        let (m, r) = rest.split_at(msg_len(rest));
        rest = r;
        let u = zettabgp_decode(&params, m);
        n += u.updates.len() + u.withdraws.len();
        for a in &u.attrs {
            match a {
                BgpAttrItem::MPUpdates(m) => n += m.addrs.len(),
                BgpAttrItem::MPWithdraws(m) => n += m.addrs.len(),
                _ => {}
            }
        }
        black_box(&u);
    }
    n
}

fn rustbgpd_parse(buf: &mut Bytes) -> rustbgpd_wire::ParsedUpdate {
    let rustbgpd_wire::Message::Update(u) = rustbgpd_wire::decode_message(buf, 4096).unwrap()
    else {
        panic!("rustbgpd")
    };
    u.parse(true, false, &[]).unwrap()
}

fn rustbgpd(bytes: &Bytes) -> usize {
    let mut buf = bytes.clone();
    let mut n = 0;
    while !buf.is_empty() {
        let p = rustbgpd_parse(&mut buf);
        n += p.withdrawn.len() + p.announced.len();
        for a in &p.attributes {
            match a {
                rustbgpd_wire::PathAttribute::MpReachNlri(m) => n += m.announced.len(),
                rustbgpd_wire::PathAttribute::MpUnreachNlri(m) => n += m.withdrawn.len(),
                _ => {}
            }
        }
        black_box(&p);
    }
    n
}

fn routecore(buf: &[u8]) -> usize {
    use routecore::bgp::message::update::SessionConfig;
    let cfg = SessionConfig::modern();
    let mut n = 0;
    let mut rest = buf;
    while !rest.is_empty() {
        let (m, r) = rest.split_at(msg_len(rest));
        rest = r;
        let u = routecore::bgp::message::UpdateMessage::from_octets(m, &cfg).unwrap();
        black_box(u.origin().unwrap());
        black_box(u.aspath().unwrap().map(|p| p.hops().count()));
        black_box(u.multi_exit_disc().unwrap());
        black_box(u.local_pref().unwrap());
        black_box(u.communities().unwrap().map(|c| c.count()));
        black_box(u.large_communities().unwrap().map(|c| c.count()));
        n += u.announcements().unwrap().map(Result::unwrap).touch();
        n += u.withdrawals().unwrap().map(Result::unwrap).touch();
    }
    n
}

fn netgauze(buf: &[u8]) -> usize {
    use netgauze_bgp_pkt::BgpMessage;
    use netgauze_bgp_pkt::path_attribute::{MpReach, PathAttributeValue};
    use netgauze_bgp_pkt::wire::deserializer::BgpParsingContext;
    use netgauze_parse_utils::reader::SliceReader;
    use netgauze_parse_utils::traits::ParseFromWithOneInput;
    let mut ctx = BgpParsingContext::default();
    let mut cur = SliceReader::new(buf);
    let mut n = 0;
    while !cur.is_empty() {
        let BgpMessage::Update(u) = BgpMessage::parse(&mut cur, &mut ctx).unwrap() else {
            panic!("netgauze")
        };
        n += u.withdraw_routes().len() + u.nlri().len();
        for a in u.path_attributes() {
            if let PathAttributeValue::MpReach(MpReach::Ipv6Unicast { nlri, .. }) = a.value() {
                n += nlri.len();
            }
        }
        black_box(&u);
    }
    n
}

fn bgpkit(bytes: &Bytes) -> usize {
    use bgpkit_parser::models::{AsnLength, BgpMessage};
    let mut n = 0;
    let mut rest = bytes.clone();
    while !rest.is_empty() {
        let mut m = rest.split_to(msg_len(&rest));
        let BgpMessage::Update(u) =
            bgpkit_parser::parser::bgp::parse_bgp_message(&mut m, false, &AsnLength::Bits32)
                .unwrap()
        else {
            panic!("bgpkit")
        };
        n += u.withdrawn_prefixes.len() + u.announced_prefixes.len();
        if let Some(r) = u.attributes.get_reachable_nlri() {
            n += r.prefixes.len();
        }
        black_box(&u);
    }
    n
}

// ---------------------------------------------------------------- encoders

fn lb_bgp_encode(updates: &[Update], out: &mut Vec<u8>) -> usize {
    encode_all(updates, out);
    out.len()
}

fn zettabgp_encode(
    params: &zettabgp::prelude::BgpSessionParams,
    msgs: &[zettabgp::prelude::BgpUpdateMessage],
    out: &mut Vec<u8>,
) -> usize {
    use zettabgp::prelude::*;
    out.clear();
    let mut buf = [0u8; 4096];
    for m in msgs {
        let len = m.encode_to(params, &mut buf[19..]).unwrap();
        let total = params
            .prepare_message_buf(&mut buf, BgpMessageType::Update, len)
            .unwrap();
        out.extend_from_slice(&buf[..total]);
    }
    out.len()
}

fn rustbgpd_encode(parsed: &[rustbgpd_wire::ParsedUpdate], out: &mut Vec<u8>) -> usize {
    out.clear();
    for p in parsed {
        let u = rustbgpd_wire::UpdateMessage::build(
            &p.announced,
            &p.withdrawn,
            &p.attributes,
            true,
            false,
            rustbgpd_wire::Ipv4UnicastMode::Body,
        );
        out.extend_from_slice(
            &rustbgpd_wire::encode_message(&rustbgpd_wire::Message::Update(u)).unwrap(),
        );
    }
    out.len()
}

// ---------------------------------------------------------------- running and reporting

type Run = Box<dyn Fn() -> usize>;
type Encoder = (&'static str, Box<dyn FnMut() -> usize>);

fn decoders(buf: &'static [u8], bytes: &'static Bytes) -> Vec<(&'static str, Run)> {
    vec![
        ("plain walker", Box::new(move || plain_walker(buf))),
        ("lb-bgp", Box::new(move || lb_bgp(buf))),
        ("zettabgp 0.6", Box::new(move || zettabgp(buf))),
        ("rustbgpd-wire 0.27", Box::new(move || rustbgpd(bytes))),
        ("routecore 0.7", Box::new(move || routecore(buf))),
        ("netgauze-bgp-pkt 0.13", Box::new(move || netgauze(buf))),
        ("bgpkit-parser 0.23", Box::new(move || bgpkit(bytes))),
    ]
}

/// Encoders, each with the output it must reproduce checked once here.
fn encoders(updates: &'static [Update], buf: &'static [u8], bytes: &'static Bytes) -> Vec<Encoder> {
    let ctx = Context::four_octet();
    let decoded: &'static [Update] = Box::leak(
        split(buf)
            .map(|m| {
                let Ok(MessageRef::Update(u)) = MessageRef::parse(m, &ctx) else {
                    panic!("lb-bgp")
                };
                Update::try_from(&u).expect("lb-bgp")
            })
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let params: &'static _ = Box::leak(Box::new(zettabgp_params()));
    let zetta: Vec<_> = split(buf).map(|m| zettabgp_decode(params, m)).collect();
    let mut rb = bytes.clone();
    let mut rbgpd = Vec::new();
    while !rb.is_empty() {
        rbgpd.push(rustbgpd_parse(&mut rb));
    }
    let mut out = Vec::new();
    lb_bgp_encode(updates, &mut out);
    assert!(out == buf, "lb-bgp (built) writes the workload's bytes");
    lb_bgp_encode(decoded, &mut out);
    assert!(out == buf, "lb-bgp (decoded) writes the workload's bytes");
    zettabgp_encode(params, &zetta, &mut out);
    same(&out, buf, "zettabgp", true);
    rustbgpd_encode(&rbgpd, &mut out);
    same(&out, buf, "rustbgpd-wire", false);
    let v: Vec<Encoder> = vec![
        (
            "lb-bgp (built)",
            Box::new(move || lb_bgp_encode(updates, &mut out)),
        ),
        ("lb-bgp (decoded)", {
            let mut out = Vec::with_capacity(buf.len());
            Box::new(move || lb_bgp_encode(decoded, &mut out))
        }),
        ("zettabgp 0.6", {
            let mut out = Vec::with_capacity(buf.len());
            Box::new(move || zettabgp_encode(params, &zetta, &mut out))
        }),
        ("rustbgpd-wire 0.27", {
            let mut out = Vec::with_capacity(buf.len());
            Box::new(move || rustbgpd_encode(&rbgpd, &mut out))
        }),
    ];
    v
}

/// Checks that lb-bgp's prefix iterators give the prefixes a naive reading of the same octets
/// gives, value for value (the timed rows only count them).
fn same_prefixes(buf: &[u8]) {
    fn naive(mut d: &[u8], v6: bool) -> Vec<Nlri> {
        let mut out = Vec::new();
        while let Some((&bits, rest)) = d.split_first() {
            let n = usize::from(bits).div_ceil(8);
            let mut o = [0u8; 16];
            o[..n].copy_from_slice(&rest[..n]);
            let prefix = if v6 {
                IpNet::V6(Ipv6Net::new(std::net::Ipv6Addr::from(o), bits).unwrap())
            } else {
                let a = std::net::Ipv4Addr::new(o[0], o[1], o[2], o[3]);
                IpNet::V4(Ipv4Net::new(a, bits).unwrap())
            };
            out.push(Nlri::new(prefix));
            d = &rest[n..];
        }
        out
    }
    fn check(p: lb_bgp::wire::Prefixes<'_>) {
        let want = naive(p.as_bytes(), p.is_ipv6());
        let got: Vec<Nlri> = p.collect::<Result<_, _>>().unwrap();
        assert_eq!(got, want, "lb-bgp decodes the prefixes that were encoded");
    }
    let ctx = Context::four_octet();
    for m in split(buf) {
        let Ok(MessageRef::Update(v)) = MessageRef::parse(m, &ctx) else {
            panic!("lb-bgp")
        };
        check(v.withdrawn_routes());
        check(v.nlri());
        if let Some(r) = v.mp_reach() {
            check(r.nlri());
        }
    }
}

/// Checks that an encoder wrote the workload's messages: the same octets, or messages that
/// lb-bgp decodes to the same UPDATEs once the Extended Length flag and the order of
/// communities are ignored (zettabgp sets the flag on every variable-length attribute, which
/// RFC 4271 §4.3 allows, and reorders communities, which are a set). With `set_is_seq`,
/// AS_SET segments count as AS_SEQUENCE: zettabgp 0.6 writes each segment with the other
/// type's code (its `BgpASitem::encode_to`), a bug it is timed with all the same.
fn same(out: &[u8], buf: &[u8], name: &str, set_is_seq: bool) {
    if out == buf {
        return;
    }
    let ctx = Context::four_octet();
    let owned = |m: &[u8]| {
        let Ok(MessageRef::Update(u)) = MessageRef::parse(m, &ctx) else {
            panic!("{name}: lb-bgp cannot decode {m:?}")
        };
        let mut u = Update::try_from(&u).expect("lb-bgp");
        for a in &mut u.attributes {
            // zettabgp also sets Partial on LARGE_COMMUNITY.
            a.flags.0 &= if set_is_seq { 0xc0 } else { !0x10 };
            match &mut a.data {
                AttributeData::AsPath(p) => {
                    for s in &mut p.segments {
                        if set_is_seq && s.kind == SegmentType::Set {
                            s.kind = SegmentType::Sequence;
                        }
                    }
                }
                // A set (RFC 1997, RFC 8092): zettabgp keeps it in an order of its own.
                AttributeData::Communities(c) => c.sort_by_key(|c| c.0),
                AttributeData::LargeCommunities(c) => {
                    c.sort_by_key(|c| (c.global_admin, c.local1, c.local2))
                }
                _ => {}
            }
        }
        u
    };
    let mut n = 0;
    for (i, (a, b)) in split(out).zip(split(buf)).enumerate() {
        assert!(
            owned(a) == owned(b),
            "{name}: message {i} differs:\n{a:?}\n{b:?}"
        );
        n += 1;
    }
    assert_eq!(n, MESSAGES as usize, "{name}: message count");
    println!(
        "{name}: same UPDATEs as the workload, with flags of its own (set_is_seq: {set_is_seq})"
    );
}

fn split(mut buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if buf.is_empty() {
            return None;
        }
        let (m, r) = buf.split_at(msg_len(buf));
        buf = r;
        Some(m)
    })
}

fn configure(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.throughput(Throughput::Elements(u64::from(MESSAGES)));
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
}

/// Rounds of the interleaved measurement, after one round of warm-up.
const ROUNDS: usize = 21;

/// A row's times in the interleaved measurement, in seconds.
#[derive(Debug, Clone, Copy)]
struct Spread {
    median: f64,
    q1: f64,
    q3: f64,
}

/// A row to time in the interleaved measurement: its name and one iteration.
type Timed<'a> = (&'static str, Box<dyn FnMut() -> usize + 'a>);

/// Interleaved results: (group, function, times).
type Spreads = Vec<(String, &'static str, Spread)>;

/// Times every row of a group in turn, one iteration each, [`ROUNDS`] times (the order
/// rotated every round). Criterion measures one row after another, for seconds each, and this
/// VM has slow spells that last seconds (a row then reads up to twice its time, with a tight
/// interval); interleaved, a spell falls on every row alike, so the ratios of these medians do
/// not depend on which row was being measured when it came.
fn interleave(group: &str, mut runs: Vec<Timed<'_>>, spreads: &mut Spreads) {
    let k = runs.len();
    let mut times = vec![Vec::with_capacity(ROUNDS); k];
    for round in 0..=ROUNDS {
        for j in 0..k {
            let i = (round + j) % k;
            let start = Instant::now();
            black_box((runs[i].1)());
            let t = start.elapsed().as_secs_f64();
            if round > 0 {
                times[i].push(t);
            }
        }
    }
    for ((name, _), mut t) in runs.iter().zip(times) {
        t.sort_by(f64::total_cmp);
        let at = |q: usize| t[(t.len() - 1) * q / 4];
        let s = Spread {
            median: at(2),
            q1: at(1),
            q3: at(3),
        };
        spreads.push((group.to_string(), *name, s));
    }
}

/// Rows of the closing table: (group, workload, function).
type Rows = Vec<(String, &'static str, &'static str)>;

fn print_table(rows: &Rows, spreads: &Spreads) {
    println!();
    println!("## Criterion medians of this run (one iteration = 10,000 UPDATEs of 100 prefixes)");
    println!();
    println!(
        "| group | workload | codec | median [95% interval] | msgs/s (median) | lb-bgp ÷ this |"
    );
    println!("|---|---|---|---|---|---|");
    let mut goals = Vec::new();
    for (group, work, name) in rows {
        let Some(m) = median(group, name) else {
            continue;
        };
        let ours = if group.starts_with("bgp_decode") {
            "lb-bgp"
        } else {
            "lb-bgp (built)"
        };
        let ratio = |ours: &str| median(group, ours).map(|o| m.point / o.point);
        let r = if name.starts_with("lb-bgp") {
            String::from("-")
        } else {
            ratio(ours).map_or(String::from("?"), |r| format!("{r:.2}x"))
        };
        println!(
            "| {} | {work} | {name} | {:.3} ms [{:.3} {:.3}] | {:.2} M | {r} |",
            group.split('/').next().unwrap_or(""),
            m.point * 1e3,
            m.lo * 1e3,
            m.hi * 1e3,
            f64::from(MESSAGES) / m.point / 1e6,
        );
        goals.push((group.clone(), *work, *name, m.point));
    }
    if !spreads.is_empty() {
        println!();
        println!(
            "## Interleaved medians ({ROUNDS} rounds, each timing one iteration of every row of a group in turn)"
        );
        println!();
        println!("| group | workload | codec | median [quartiles] | lb-bgp ÷ this |");
        println!("|---|---|---|---|---|");
        for (group, name, sp) in spreads {
            let ours = if group.starts_with("bgp_decode") {
                "lb-bgp"
            } else {
                "lb-bgp (built)"
            };
            let r = match spreads.iter().find(|x| &x.0 == group && x.1 == ours) {
                Some(o) if !name.starts_with("lb-bgp") => format!("{:.2}x", sp.median / o.2.median),
                _ => String::from("-"),
            };
            let (kind, work) = group.split_once('/').unwrap_or((group, ""));
            println!(
                "| {kind} | {work} | {name} | {:.3} ms [{:.3} {:.3}] | {r} |",
                sp.median * 1e3,
                sp.q1 * 1e3,
                sp.q3 * 1e3,
            );
        }
    }
    println!();
    println!("## Goals (ratios of the criterion medians, and of the interleaved ones)");
    println!();
    println!("| workload | goal | criterion | interleaved | met |");
    println!("|---|---|---|---|---|");
    let mut workloads: Vec<(&str, &str)> = goals
        .iter()
        .map(|g| (g.0.as_str(), g.1))
        .collect::<Vec<_>>();
    workloads.dedup();
    for (group, work) in workloads {
        let of = |name: &str| {
            goals
                .iter()
                .find(|g| g.0 == group && g.2 == name)
                .map(|g| g.3)
        };
        let peers = goals
            .iter()
            .filter(|g| g.0 == group && !g.2.starts_with("lb-bgp") && g.2 != "plain walker")
            .map(|g| g.3)
            .fold(f64::INFINITY, f64::min);
        let spread = |name: &str| {
            spreads
                .iter()
                .find(|x| x.0 == group && x.1 == name)
                .map(|x| x.2.median)
        };
        let inter_peers = spreads
            .iter()
            .filter(|x| x.0 == group && !x.1.starts_with("lb-bgp") && x.1 != "plain walker")
            .map(|x| x.2.median)
            .fold(f64::INFINITY, f64::min);
        // A goal is met when both measurements reach it.
        let line = |goal: &str, ours: &str, other: &str, want: f64| {
            let (c_other, i_other) = match other {
                "" => (peers, inter_peers),
                w => (of(w).unwrap_or(f64::NAN), spread(w).unwrap_or(f64::NAN)),
            };
            let Some(c) = of(ours).map(|o| c_other / o).filter(|r| r.is_finite()) else {
                return;
            };
            let i = spread(ours).map(|o| i_other / o).filter(|r| r.is_finite());
            let met = if c >= want && i.is_none_or(|i| i >= want) {
                "yes"
            } else {
                "no"
            };
            let i = i.map_or(String::from("-"), |i| format!("{i:.2}x"));
            println!("| {work} | {goal} (want ≥ {want}x) | {c:.2}x | {i} | {met} |");
        };
        if group.starts_with("bgp_decode") {
            line("decode vs best crates.io", "lb-bgp", "", 3.0);
            line("decode vs plain walker", "lb-bgp", "plain walker", 1.0);
        } else {
            line("encode built vs best crates.io", "lb-bgp (built)", "", 2.0);
            line(
                "encode decoded vs best crates.io",
                "lb-bgp (decoded)",
                "",
                2.0,
            );
        }
    }
}

fn main() {
    estimates::mark_start();
    let mut c = Criterion::default().configure_from_args();
    let mut rows: Rows = Vec::new();
    let mut spreads: Spreads = Vec::new();
    // The interleaved measurement runs every row, so only when no filter picks some.
    let unfiltered = std::env::args().skip(1).all(|a| a.starts_with('-'));
    for work in WORKLOADS {
        let updates: &'static [Update] = Box::leak(workload(work).into_boxed_slice());
        let mut buf = Vec::new();
        encode_all(updates, &mut buf);
        let buf: &'static [u8] = Box::leak(buf.into_boxed_slice());
        let bytes: &'static Bytes = Box::leak(Box::new(Bytes::from_static(buf)));

        same_prefixes(buf);
        let decs = decoders(buf, bytes);
        for (name, f) in &decs {
            assert_eq!(f(), PREFIXES, "{name} must see every prefix of {work}");
        }
        let group = format!("bgp_decode/{work}");
        let mut g = c.benchmark_group(&group);
        configure(&mut g);
        for (name, f) in &decs {
            g.bench_function(*name, |b| b.iter(f));
            rows.push((group.clone(), work, name));
        }
        g.finish();
        if unfiltered {
            let runs = decs
                .iter()
                .map(|(n, f)| (*n, Box::new(f) as Box<dyn FnMut() -> usize>));
            interleave(&group, runs.collect(), &mut spreads);
        }

        let mut encs = encoders(updates, buf, bytes);
        let group = format!("bgp_encode/{work}");
        let mut g = c.benchmark_group(&group);
        configure(&mut g);
        for (name, f) in &mut encs {
            g.bench_function(*name, |b| b.iter(&mut *f));
            rows.push((group.clone(), work, name));
        }
        g.finish();
        if unfiltered {
            let runs = encs
                .iter_mut()
                .map(|(n, f)| (*n, Box::new(f) as Box<dyn FnMut() -> usize>));
            interleave(&group, runs.collect(), &mut spreads);
        }
    }
    c.final_summary();
    print_table(&rows, &spreads);
}
