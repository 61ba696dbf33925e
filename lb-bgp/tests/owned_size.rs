//! The owned form of an UPDATE takes at most twice the octets of its message (issue 13):
//! `size_of::<Update>()` plus what it holds on the heap, for messages shaped like the ones the
//! codec bench uses, built by hand and decoded from the wire.

#![allow(clippy::unwrap_used)]

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use lb_bgp::wire::{
    Afi, AsPath, Attribute, AttributeData, Community, Context, LargeCommunity, MessageRef,
    MpNextHop, MpReach, MpUnreach, Nlri, Origin, PrefixList, Safi, Update,
};

fn v4(i: u32, len: u8) -> Nlri {
    let a = std::net::Ipv4Addr::from(0x0a00_0000 | (i << 8) | i);
    Nlri::new(IpNet::V4(Ipv4Net::new(a, len).unwrap()))
}

fn v6(i: u32, len: u8) -> Nlri {
    let a = std::net::Ipv6Addr::from((0x2001_0db8u128 << 96) | u128::from(i) << 64 | 1);
    Nlri::new(IpNet::V6(Ipv6Net::new(a, len).unwrap()))
}

fn attributes(v6: bool, hops: u32, communities: u16, large: bool) -> Vec<Attribute> {
    let mut a = vec![
        Attribute::new(AttributeData::Origin(Origin::Igp)),
        Attribute::new(AttributeData::AsPath(AsPath::sequence(
            (0..hops).map(|h| 64500 + h * 70_000),
        ))),
    ];
    if !v6 {
        a.push(Attribute::new(AttributeData::NextHop(
            "192.0.2.1".parse().unwrap(),
        )));
    }
    a.push(Attribute::new(AttributeData::MultiExitDisc(10)));
    a.push(Attribute::new(AttributeData::LocalPref(100)));
    if communities > 0 {
        a.push(Attribute::new(AttributeData::Communities(
            (0..communities).map(|c| Community::new(64500, c)).collect(),
        )));
    }
    if large {
        a.push(Attribute::new(AttributeData::LargeCommunities(vec![
            LargeCommunity {
                global_admin: 4_200_000_001,
                local1: 1,
                local2: 2,
            },
        ])));
    }
    a
}

fn announce(v6: bool, attrs: Vec<Attribute>, prefixes: Vec<Nlri>) -> Update {
    let mut u = Update {
        attributes: attrs,
        ..Update::default()
    };
    if v6 {
        u.attributes
            .push(Attribute::new(AttributeData::MpReach(Box::new(MpReach {
                afi: Afi::IPV6,
                safi: Safi::UNICAST,
                next_hop: MpNextHop::Ipv6 {
                    global: "2001:db8::1".parse().unwrap(),
                    link_local: None,
                },
                nlri: prefixes.into(),
            }))));
    } else {
        u.nlri = prefixes.into();
    }
    u
}

/// (name, message): the shapes of the codec bench, 100 prefixes each. A message of a few
/// prefixes does not keep to the bound: each typed attribute takes 48 octets where MED, say,
/// takes 7 on the wire, and the `Update` itself 88.
fn messages() -> Vec<(&'static str, Update)> {
    let table_v4 = [24, 24, 24, 24, 24, 24, 23, 22, 20, 32];
    let table_v6 = [48, 48, 48, 48, 48, 32, 44, 40, 36, 64];
    vec![
        (
            "100 IPv4 /32",
            announce(false, attributes(false, 3, 2, false), {
                (0..100).map(|i| v4(i, 32)).collect()
            }),
        ),
        (
            "100 IPv6 /128",
            announce(true, attributes(true, 3, 2, false), {
                (0..100).map(|i| v6(i, 128)).collect()
            }),
        ),
        (
            "100 IPv4 /32 withdrawn",
            Update {
                withdrawn: (0..100).map(|i| v4(i, 32)).collect(),
                ..Update::default()
            },
        ),
        (
            "100 IPv6 /128 withdrawn",
            Update {
                attributes: vec![Attribute::new(AttributeData::MpUnreach(MpUnreach {
                    afi: Afi::IPV6,
                    safi: Safi::UNICAST,
                    withdrawn: (0..100).map(|i| v6(i, 128)).collect(),
                }))],
                ..Update::default()
            },
        ),
        (
            "100 IPv4 /8 to /32",
            announce(false, attributes(false, 3, 2, false), {
                (0..100).map(|i| v4(i, 8 + (i % 25) as u8)).collect()
            }),
        ),
        (
            "100 IPv4, table lengths, long path, 10 communities, large community",
            announce(false, attributes(false, 10, 10, true), {
                (0..100).map(|i| v4(i, table_v4[i as usize % 10])).collect()
            }),
        ),
        (
            "100 IPv6, table lengths, long path, 10 communities, large community",
            announce(true, attributes(true, 10, 10, true), {
                (0..100).map(|i| v6(i, table_v6[i as usize % 10])).collect()
            }),
        ),
    ]
}

fn owned_size(u: &Update) -> usize {
    std::mem::size_of::<Update>() + u.heap_size()
}

#[test]
fn owned_update_is_at_most_twice_its_wire_size() {
    let ctx = Context::four_octet();
    for (name, built) in messages() {
        let mut wire = Vec::new();
        built.encode(&ctx, &mut wire).unwrap();
        let Ok(MessageRef::Update(view)) = MessageRef::parse(&wire, &ctx) else {
            panic!("{name}: does not decode")
        };
        let decoded = Update::try_from(&view).unwrap();
        // The encoder sets Extended Length where a value needs it; the rest is the same.
        let mut same = decoded.clone();
        for a in &mut same.attributes {
            a.flags.0 &= !lb_bgp::wire::AttributeFlags::EXTENDED_LENGTH;
        }
        assert!(same == built, "{name}: decodes to what was built");
        for (how, u) in [("built", &built), ("decoded", &decoded)] {
            let size = owned_size(u);
            println!(
                "{name} ({how}): {size} octets owned, {} on the wire",
                wire.len()
            );
            assert!(
                size <= 2 * wire.len(),
                "{name} ({how}): {size} octets owned for {} on the wire",
                wire.len()
            );
        }
    }
}

#[test]
fn prefix_lists_keep_one_family_and_one_path_id_mode() {
    let mut l = PrefixList::new();
    assert!(l.push(v4(1, 24)));
    assert!(!l.push(v6(1, 48)), "another family is not added");
    assert_eq!(l.len(), 1);
    // A Path Identifier turns the list into one with them; the earlier prefix gets 0.
    assert!(l.push(Nlri {
        path_id: Some(7),
        ..v4(2, 32)
    }));
    assert!(l.has_path_ids());
    let ids: Vec<_> = l.iter().map(|p| p.path_id).collect();
    assert_eq!(ids, [Some(0), Some(7)]);
    // And a prefix without one gets 0.
    assert!(l.push(v4(3, 16)));
    assert_eq!(l.iter().nth(2).unwrap().path_id, Some(0));
    assert_eq!(l.encoded_len(), 3 * 4 + (1 + 3) + (1 + 4) + (1 + 2));
    // An empty list equals any other empty list, whatever built it.
    let empty_v6: PrefixList = Vec::<Nlri>::new().into();
    assert_eq!(empty_v6, PrefixList::new());
    // Octets past the prefix length are not on the wire, so not kept.
    let l = PrefixList::from(vec![v4(1, 24)]);
    assert_eq!(
        l.iter().next().unwrap().prefix,
        "10.0.1.0/24".parse::<IpNet>().unwrap()
    );
    assert_eq!(format!("{l:?}"), format!("{:?}", l.to_vec()));
}
