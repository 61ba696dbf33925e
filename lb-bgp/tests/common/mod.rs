//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

/// A whole UPDATE from its three fields.
pub fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let len = 19 + 4 + withdrawn.len() + attrs.len() + nlri.len();
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&(len as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&(withdrawn.len() as u16).to_be_bytes());
    m.extend_from_slice(withdrawn);
    m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    m.extend_from_slice(attrs);
    m.extend_from_slice(nlri);
    m
}

/// A whole message of any type from its body.
pub fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

/// ORIGIN IGP, AS_PATH [64500] (4-octet), NEXT_HOP 192.0.2.1: the mandatory attributes.
pub const MANDATORY: &[u8] = &[
    0x40, 1, 1, 0, //
    0x40, 2, 6, 2, 1, 0, 0, 0xfb, 0xf4, //
    0x40, 3, 4, 192, 0, 2, 1,
];

use lb_bgp::wire::{
    AsPath, Attribute, AttributeData, Community, Context, MpNextHop, MpReach, Nlri, Origin, Update,
};

/// The workload (a), one message: 100 IPv4 /32 in NLRI with ORIGIN, AS_PATH of three
/// 4-octet ASNs (one above 65535), NEXT_HOP, MED, LOCAL_PREF and two COMMUNITIES.
/// Workload (b) when `v6`: the same routes as IPv6 /128 in MP_REACH_NLRI.
pub fn workload_update(i: u32, v6: bool) -> Update {
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
            let a = std::net::Ipv6Addr::from(
                0x2001_0db8_0000_0000_0000_0000_0000_0000u128 | u128::from(n),
            );
            Nlri::new(ipnet::IpNet::V6(ipnet::Ipv6Net::new(a, 128).unwrap()))
        } else {
            let a = std::net::Ipv4Addr::from(0x0a00_0000 | n);
            Nlri::new(ipnet::IpNet::V4(ipnet::Ipv4Net::new(a, 32).unwrap()))
        }
    });
    if v6 {
        let next_hop = MpNextHop::Ipv6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None,
        };
        let nlri = prefixes.collect();
        attributes.push(Attribute::new(AttributeData::MpReach(Box::new(MpReach {
            afi: lb_bgp::wire::Afi::IPV6,
            safi: lb_bgp::wire::Safi::UNICAST,
            next_hop,
            nlri,
        }))));
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

/// Workload (c), one message: 100 IPv4 /32 withdrawals.
pub fn workload_withdraw(i: u32) -> Update {
    let mut u = workload_update(i, false);
    Update {
        withdrawn: std::mem::take(&mut u.nlri),
        ..Update::default()
    }
}

/// `count` messages back to back.
pub fn workload_buffer(count: u32, f: impl Fn(u32) -> Update) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        f(i).encode(&Context::four_octet(), &mut out).unwrap();
    }
    out
}
