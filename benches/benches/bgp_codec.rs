//! lb-bgp's UPDATE codec against the crates.io BGP codecs, on the same bytes (issue 4).
//!
//! Workloads, each 10,000 UPDATEs of 100 prefixes back to back in one buffer:
//! (a) IPv4 /32 in NLRI with ORIGIN, AS_PATH of three 4-octet ASNs (one above 65535), NEXT_HOP,
//!     MED, LOCAL_PREF and two COMMUNITIES; (b) the same as IPv6 /128 in MP_REACH_NLRI;
//! (c) 100 IPv4 /32 withdrawals per message.
//!
//! Every decoder must report all 1,000,000 prefixes of a workload (checked before timing), so a
//! lazy decoder cannot skip work; decoders that parse attributes lazily are made to read the
//! ones the workload carries. A summary table with messages per second and the ratio to the
//! best peer is printed first; criterion then measures the same functions.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use lb_bgp::wire::{
    Afi, AsPath, Attribute, AttributeData, AttributeValue, Community, Context, MessageRef,
    MpNextHop, MpReach, Nlri, Origin, Safi, Update, frame,
};

const MESSAGES: u32 = 10_000;
const PREFIXES: usize = 100 * MESSAGES as usize;

fn workload_update(i: u32, v6: bool) -> Update {
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
    let prefixes = (0..100u32).map(|k| {
        let n = i * 100 + k;
        if v6 {
            let a = std::net::Ipv6Addr::from((0x2001_0db8u128 << 96) | u128::from(n));
            Nlri::new(IpNet::V6(Ipv6Net::new(a, 128).unwrap()))
        } else {
            let a = std::net::Ipv4Addr::from(0x0a00_0000 | n);
            Nlri::new(IpNet::V4(Ipv4Net::new(a, 32).unwrap()))
        }
    });
    if v6 {
        let next_hop = MpNextHop::Ipv6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None,
        };
        attributes.push(Attribute::new(AttributeData::MpReach(MpReach {
            afi: Afi::IPV6,
            safi: Safi::UNICAST,
            next_hop,
            nlri: prefixes.collect(),
        })));
        Update {
            attributes,
            ..Update::default()
        }
    } else {
        Update {
            attributes,
            nlri: prefixes.collect(),
            ..Update::default()
        }
    }
}

fn workload(name: &str) -> Vec<Update> {
    (0..MESSAGES)
        .map(|i| match name {
            "a-ipv4" => workload_update(i, false),
            "b-ipv6" => workload_update(i, true),
            _ => {
                let u = workload_update(i, false);
                Update {
                    withdrawn: u.nlri,
                    ..Update::default()
                }
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

/// Counts lb-bgp's prefixes, folding every address and length into a checksum that goes to
/// `black_box`, so each prefix is decoded without forcing the struct through memory.
fn consume(it: impl Iterator<Item = Nlri>) -> usize {
    let (mut n, mut acc) = (0, 0u64);
    for p in it {
        let addr = match p.prefix {
            IpNet::V4(v) => u64::from(u32::from(v.addr())),
            IpNet::V6(v) => u128::from(v.addr()) as u64 ^ (u128::from(v.addr()) >> 64) as u64,
        };
        acc = acc.wrapping_add(
            addr ^ u64::from(p.prefix.prefix_len()) ^ u64::from(p.path_id.unwrap_or(0)),
        );
        n += 1;
    }
    black_box(acc);
    n
}

// ---------------------------------------------------------------- decoders: buffer -> prefixes

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
        n += consume(u.withdrawn_routes());
        n += consume(u.nlri());
        for a in u.attributes() {
            match a.value() {
                AttributeValue::AsPath(p) => {
                    black_box(p.segments().flat_map(|s| s.asns()).sum::<u32>());
                }
                AttributeValue::Communities(c) => {
                    black_box(c.map(|c| c.0).sum::<u32>());
                }
                AttributeValue::MpReach(r) => {
                    black_box(r.next_hop());
                    n += consume(r.nlri());
                }
                v => {
                    black_box(v);
                }
            }
        }
    }
    n
}

fn zettabgp(buf: &[u8]) -> usize {
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
    let mut n = 0;
    let mut rest = buf;
    while !rest.is_empty() {
        let (_, body) = params.decode_message_head(rest).unwrap();
        let mut u = BgpUpdateMessage::new();
        u.decode_from(&params, &rest[19..19 + body]).unwrap();
        rest = &rest[19 + body..];
        n += u.updates.len() + u.withdraws.len();
        for a in &u.attrs {
            if let BgpAttrItem::MPUpdates(m) = a {
                n += m.addrs.len();
            }
        }
        black_box(&u);
    }
    n
}

fn rustbgpd(bytes: &Bytes) -> usize {
    let mut buf = bytes.clone();
    let mut n = 0;
    while !buf.is_empty() {
        let rustbgpd_wire::Message::Update(u) =
            rustbgpd_wire::decode_message(&mut buf, 4096).unwrap()
        else {
            panic!("rustbgpd")
        };
        let p = u.parse(true, false, &[]).unwrap();
        n += p.withdrawn.len() + p.announced.len();
        for a in &p.attributes {
            if let rustbgpd_wire::PathAttribute::MpReachNlri(m) = a {
                n += m.announced.len();
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

fn rustbgpd_encode(parsed: &[rustbgpd_wire::ParsedUpdate]) -> usize {
    parsed
        .iter()
        .map(|p| {
            let u = rustbgpd_wire::UpdateMessage::build(
                &p.announced,
                &p.withdrawn,
                &p.attributes,
                true,
                false,
                rustbgpd_wire::Ipv4UnicastMode::Body,
            );
            rustbgpd_wire::encode_message(&rustbgpd_wire::Message::Update(u))
                .unwrap()
                .len()
        })
        .sum()
}

type Decoder = (&'static str, Box<dyn Fn() -> usize>);

fn decoders(buf: &'static [u8], bytes: &'static Bytes) -> Vec<Decoder> {
    vec![
        ("lb-bgp", Box::new(move || lb_bgp(buf))),
        ("zettabgp 0.6", Box::new(move || zettabgp(buf))),
        ("rustbgpd-wire 0.27", Box::new(move || rustbgpd(bytes))),
        ("routecore 0.7", Box::new(move || routecore(buf))),
        ("netgauze-bgp-pkt 0.13", Box::new(move || netgauze(buf))),
        ("bgpkit-parser 0.23", Box::new(move || bgpkit(bytes))),
    ]
}

fn best_of(f: &dyn Fn() -> usize, runs: usize) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn print_row(work: &str, name: &str, d: Duration, best_peer: Option<Duration>) {
    let rate = f64::from(MESSAGES) / d.as_secs_f64();
    let ratio = best_peer.map_or(String::from("-"), |b| {
        format!("{:.2}x", b.as_secs_f64() / d.as_secs_f64())
    });
    println!(
        "| {work:<12} | {name:<22} | {:>9.0}k msgs/s | {ratio:>8} |",
        rate / 1000.0
    );
}

fn bench(c: &mut Criterion) {
    println!("| workload     | codec                  |     throughput    | lb-bgp vs best peer |");
    println!("|---|---|---|---|");
    for work in ["a-ipv4", "b-ipv6", "c-withdraw"] {
        let updates = workload(work);
        let mut buf = Vec::new();
        encode_all(&updates, &mut buf);
        let buf: &'static [u8] = Box::leak(buf.into_boxed_slice());
        let bytes: &'static Bytes = Box::leak(Box::new(Bytes::from_static(buf)));
        let decs = decoders(buf, bytes);
        let mut times = Vec::new();
        for (name, f) in &decs {
            assert_eq!(f(), PREFIXES, "{name} must see every prefix of {work}");
            times.push((*name, best_of(f.as_ref(), 7)));
        }
        let best_peer = times[1..].iter().map(|t| t.1).min();
        for (i, (name, d)) in times.iter().enumerate() {
            print_row(work, name, *d, if i == 0 { best_peer } else { None });
        }
        // Encode from the owned/structured form: lb-bgp's `Update`, rustbgpd-wire's
        // `ParsedUpdate` through `UpdateMessage::build` (its decoded `UpdateMessage` holds raw
        // sections, so encoding that would only copy bytes).
        if work == "a-ipv4" {
            let mut out = Vec::with_capacity(buf.len());
            let mut rb = bytes.clone();
            let mut msgs = Vec::new();
            while !rb.is_empty() {
                let rustbgpd_wire::Message::Update(u) =
                    rustbgpd_wire::decode_message(&mut rb, 4096).unwrap()
                else {
                    panic!("rustbgpd")
                };
                msgs.push(u.parse(true, false, &[]).unwrap());
            }
            assert_eq!(
                rustbgpd_encode(&msgs),
                buf.len(),
                "rustbgpd-wire re-encodes the same bytes"
            );
            let ours = best_of(
                &|| lb_bgp_encode(&updates, &mut Vec::with_capacity(buf.len())),
                7,
            );
            let theirs = best_of(&|| rustbgpd_encode(&msgs), 7);
            print_row("a-encode", "lb-bgp", ours, Some(theirs));
            print_row("a-encode", "rustbgpd-wire 0.27", theirs, None);
            let mut g = c.benchmark_group("bgp_encode/a-ipv4");
            g.throughput(Throughput::Elements(u64::from(MESSAGES)));
            g.sample_size(10)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(2));
            g.bench_function("lb-bgp", |b| b.iter(|| lb_bgp_encode(&updates, &mut out)));
            g.bench_function("rustbgpd-wire 0.27", |b| b.iter(|| rustbgpd_encode(&msgs)));
            g.finish();
        }
        let mut g = c.benchmark_group(format!("bgp_decode/{work}"));
        g.throughput(Throughput::Elements(u64::from(MESSAGES)));
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for (name, f) in &decs {
            g.bench_function(*name, |b| b.iter(f));
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
