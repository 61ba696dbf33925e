//! Byte fixtures: real messages captured from BIRD 2, FRR and GoBGP, and messages built from
//! the RFCs' own descriptions. Each decodes, and re-encoding the owned form gives the same bytes.

#![allow(clippy::unwrap_used)]

#[path = "fixtures/captured.rs"]
mod captured;
mod common;

use std::collections::HashMap;

use common::{message, update};
use lb_bgp::wire::{
    Afi, AttributeValue, Community, Confederation, Context, Message, MessageRef, MpNextHop, Open,
    Safi, Update,
};
use lb_lab::hex;

fn roundtrip(bytes: &[u8], ctx: &Context) -> Message {
    let view = MessageRef::parse(bytes, ctx).unwrap_or_else(|e| panic!("{e}: {}", hexs(bytes)));
    if let MessageRef::Update(u) = &view {
        assert_eq!(u.attribute_error(), None, "{}", hexs(bytes));
    }
    let owned = Message::try_from(&view).unwrap_or_else(|e| panic!("{e}: {}", hexs(bytes)));
    let mut out = Vec::new();
    owned.encode(ctx, &mut out).unwrap();
    assert_eq!(hexs(&out), hexs(bytes), "re-encoding {owned:?}");
    owned
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every captured message of every session decodes with the context the two OPENs negotiate
/// and re-encodes to the same octets.
#[test]
fn captured_sessions_roundtrip() {
    let mut kinds = HashMap::new();
    for s in captured::SESSIONS {
        let mut opens = HashMap::new();
        for (from, h) in s.messages {
            if let Ok(MessageRef::Open(o)) = MessageRef::parse(&hex(h), &Context::default()) {
                opens.insert(*from, Open::from(&o));
            }
        }
        assert_eq!(opens.len(), 2, "{}", s.name);
        for (from, h) in s.messages {
            let sender = &opens[from];
            let receiver = opens
                .iter()
                .find(|(k, _)| *k != from)
                .map(|(_, o)| o)
                .unwrap();
            let ctx = Context::for_receiving(receiver, sender, Confederation::Outside);
            assert!(ctx.four_octet_as);
            let m = roundtrip(&hex(h), &ctx);
            *kinds.entry(std::mem::discriminant(&m)).or_insert(0) += 1;
        }
    }
    assert_eq!(
        kinds.len(),
        5,
        "OPEN, UPDATE, NOTIFICATION, KEEPALIVE and ROUTE-REFRESH captured"
    );
}

fn captured(from_prefix: &str, hex_prefix: &str) -> Vec<u8> {
    captured::SESSIONS
        .iter()
        .flat_map(|s| s.messages.iter())
        .find(|(f, h)| f.starts_with(from_prefix) && h.starts_with(hex_prefix))
        .map(|(_, h)| hex(h))
        .expect("fixture present")
}

#[test]
fn frr_open_capabilities() {
    // FRR 8.4.4 OPEN to BIRD over IPv4: one Capabilities parameter per capability.
    let bytes = captured("192.0.2.11:", "ffffffffffffffffffffffffffffffff0061");
    let MessageRef::Open(o) = MessageRef::parse(&bytes, &Context::default()).unwrap() else {
        panic!()
    };
    assert_eq!(o.asn(), 64511);
    assert_eq!(o.hold_time, 9);
    let codes: Vec<u8> = o.raw_capabilities().map(|(c, _)| c).collect();
    // MP, route refresh (new and old Cisco code 128), enhanced route refresh, 4-octet AS,
    // ADD-PATH, FQDN, graceful restart, long-lived graceful restart.
    for c in [1, 2, 128, 70, 65, 69, 73, 64, 71] {
        assert!(codes.contains(&c), "capability {c} in {codes:?}");
    }
    let fqdn = o.capabilities().find_map(|c| match c {
        lb_bgp::wire::Capability::Fqdn { hostname, .. } => Some(hostname),
        _ => None,
    });
    assert_eq!(fqdn.as_deref(), Some(&b"node1"[..]));
}

#[test]
fn frr_shutdown_communication() {
    // FRR 8.4.4: `neighbor 192.0.2.1 shutdown message lbbgp: frr maintenance`.
    let bytes = captured("192.0.2.11:", "ffffffffffffffffffffffffffffffff002c03");
    let MessageRef::Notification(n) = MessageRef::parse(&bytes, &Context::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        n.error_code().to_string(),
        "Cease / Administrative Shutdown"
    );
    assert_eq!(n.shutdown_communication(), Some("lbbgp: frr maintenance"));
}

/// BIRD 2.0.12 `disable frr6 "..."` and `restart gob4 "..."`; GoBGP 3.10.0
/// `gobgp neighbor ... disable --reason ...` (it sent no communication).
#[test]
fn bird_and_gobgp_notifications() {
    use lb_bgp::wire::notification::{CeaseSubcode, ErrorCode};
    let ctx = Context::default();
    let parse = |from: &str, prefix: &str| {
        let bytes = captured(from, prefix);
        let MessageRef::Notification(n) = MessageRef::parse(&bytes, &ctx).unwrap() else {
            panic!()
        };
        (
            n.error_code(),
            n.shutdown_communication().map(str::to_owned),
        )
    };
    assert_eq!(
        parse("2001:db8:1::1:", "ffffffffffffffffffffffffffffffff002d03"),
        (
            ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown),
            Some("lbbgp: bird maintenance".into())
        )
    );
    assert_eq!(
        parse("192.0.2.1:", "ffffffffffffffffffffffffffffffff002703"),
        (
            ErrorCode::Cease(CeaseSubcode::AdministrativeReset),
            Some("lbbgp: bird reset".into())
        )
    );
    assert_eq!(
        parse("2001:db8:1::12:", "ffffffffffffffffffffffffffffffff001503"),
        (ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown), None)
    );
}

#[test]
fn bird_ipv6_update_has_link_local_next_hop_and_large_communities() {
    let ctx = Context::four_octet();
    let mut found = false;
    for s in captured::SESSIONS
        .iter()
        .filter(|s| s.name.contains("BIRD") && s.name.contains("2001"))
    {
        for (from, h) in s
            .messages
            .iter()
            .filter(|(f, _)| f.starts_with("2001:db8:1::1:"))
        {
            let bytes = hex(h);
            let Ok(MessageRef::Update(u)) = MessageRef::parse(&bytes, &ctx) else {
                continue;
            };
            let Some(mp) = u.mp_reach() else { continue };
            let Some(MpNextHop::Ipv6 {
                link_local: Some(ll),
                ..
            }) = mp.next_hop()
            else {
                continue;
            };
            assert!(ll.is_unicast_link_local(), "{from}");
            let large = u
                .attributes()
                .any(|a| matches!(a.value(), AttributeValue::LargeCommunities(_)));
            let comms: Vec<Community> = u
                .attributes()
                .filter_map(|a| match a.value() {
                    AttributeValue::Communities(c) => Some(c.collect::<Vec<_>>()),
                    _ => None,
                })
                .flatten()
                .collect();
            if large && comms.contains(&Community::new(64500, 200)) {
                found = true;
            }
        }
    }
    assert!(
        found,
        "BIRD's 2001:db8:100::10/128 with communities and large communities"
    );
}

/// Built from RFC 4724 §2: the IPv4 unicast End-of-RIB is an UPDATE with no withdrawn routes,
/// no attributes and no NLRI; for other families it carries only an empty MP_UNREACH_NLRI.
#[test]
fn end_of_rib_rfc4724() {
    let ctx = Context::four_octet();
    let v4 = update(&[], &[], &[]);
    let MessageRef::Update(u) = MessageRef::parse(&v4, &ctx).unwrap() else {
        panic!()
    };
    assert_eq!(u.end_of_rib(), Some((Afi::IPV4, Safi::UNICAST)));
    roundtrip(&v4, &ctx);
    let v6 = update(&[], &[0x80, 15, 3, 0, 2, 1], &[]);
    let MessageRef::Update(u) = MessageRef::parse(&v6, &ctx).unwrap() else {
        panic!()
    };
    assert_eq!(u.end_of_rib(), Some((Afi::IPV6, Safi::UNICAST)));
    let mut built = Vec::new();
    Update::end_of_rib(Afi::IPV6, Safi::UNICAST)
        .encode(&ctx, &mut built)
        .unwrap();
    assert_eq!(built, v6);
}

/// Built from RFC 4271 §4.4 (KEEPALIVE is a header only) and RFC 7313 §4 (BoRR/EoRR).
#[test]
fn keepalive_and_enhanced_route_refresh() {
    let ctx = Context::default();
    roundtrip(&message(4, &[]), &ctx);
    for subtype in [0, 1, 2] {
        roundtrip(&message(5, &[0, 2, subtype, 1]), &ctx);
    }
}

/// Built from RFC 9072 §2: an OPEN whose optional parameters use the extended length format.
#[test]
fn open_extended_optional_parameters_rfc9072() {
    let mut body = vec![4, 0xfb, 0xf4, 0, 90, 192, 0, 2, 1, 255, 255];
    let caps = [1, 4, 0, 1, 0, 1, 65, 4, 0, 0, 0xfb, 0xf4];
    body.extend_from_slice(&((3 + caps.len()) as u16).to_be_bytes());
    body.push(2);
    body.extend_from_slice(&(caps.len() as u16).to_be_bytes());
    body.extend_from_slice(&caps);
    let bytes = message(1, &body);
    let m = roundtrip(&bytes, &Context::default());
    let Message::Open(o) = m else { panic!() };
    assert!(o.extended_parameters);
    assert_eq!(o.capabilities().count(), 2);
}

/// An OPEN with more than 255 octets of capabilities switches to RFC 9072 by itself.
#[test]
fn open_switches_to_extended_parameters_when_needed() {
    use lb_bgp::wire::Capability;
    let caps = (0..60)
        .map(|i| Capability::Unknown {
            code: 200,
            data: vec![i; 3],
        })
        .collect();
    let open = Open::new(4_200_000_002, 90, "192.0.2.12".parse().unwrap(), caps);
    let mut bytes = Vec::new();
    open.encode(&mut bytes).unwrap();
    let MessageRef::Open(v) = MessageRef::parse(&bytes, &Context::default()).unwrap() else {
        panic!()
    };
    assert!(v.extended_parameters());
    assert_eq!(v.asn(), 4_200_000_002);
    assert_eq!(v.my_as, 23456);
}
