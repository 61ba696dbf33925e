//! One session against scripted octets: OPEN checks, header errors, unexpected messages, UPDATE
//! errors, each answered with the right NOTIFICATION.

use std::time::Duration;

use lb_bgp::session::{DownReason, Event, Notice, Output, State};
use lb_bgp::wire::{
    Afi, Capability, Message, Notification, Open, RefreshSubtype, RouteRefresh, Safi,
};

use crate::harness::{A_ID, B_ID, Scripted, encode, peer_open};

fn open_bytes(o: &Open) -> Vec<u8> {
    encode(&Message::Open(o.clone()))
}

/// Feeds `bytes` to a fresh session in OpenSent and returns the NOTIFICATION it sent, checking
/// that it closed the connection and went Idle.
fn rejected(
    f: impl FnOnce(&mut lb_bgp::SessionConfig),
    bytes: &[u8],
) -> (Notification, Vec<Output>) {
    let mut s = Scripted::new(f);
    let acts = s.feed(bytes);
    let n = Scripted::notification(&acts).expect("a NOTIFICATION");
    assert!(Scripted::closes(&acts), "{acts:?}");
    assert_eq!(s.s.state(), State::Idle);
    assert_eq!(
        s.s.stats().last_error,
        Some(DownReason::NotificationSent(n.clone()))
    );
    (n, acts)
}

fn codes(n: &Notification) -> (u8, u8) {
    (n.code, n.subcode)
}

#[test]
fn open_with_bad_version() {
    let mut b = open_bytes(&peer_open());
    b[19] = 3;
    let (n, acts) = rejected(|_| {}, &b);
    assert_eq!(codes(&n), (2, 1));
    assert_eq!(n.data, vec![0, 4], "the largest version we support");
    assert!(acts.contains(&Output::Notice(Notice::StateChanged {
        from: State::OpenSent,
        to: State::Idle,
        event: Event::BGPOpenMsgErr
    })));
}

#[test]
fn open_with_bad_peer_as() {
    let mut o = peer_open();
    o = Open::new(65099, o.hold_time, o.bgp_id, vec![]);
    let (n, _) = rejected(|_| {}, &open_bytes(&o));
    assert_eq!(codes(&n), (2, 2));
    // A 4-octet AS that does not match either.
    let o = Open::new(4_200_000_000, 90, B_ID, vec![]);
    let (n, _) = rejected(|_| {}, &open_bytes(&o));
    assert_eq!(codes(&n), (2, 2));
}

#[test]
fn open_with_hold_time_one_or_two() {
    for h in [1u16, 2] {
        let mut b = open_bytes(&peer_open());
        b[22..24].copy_from_slice(&h.to_be_bytes());
        let (n, _) = rejected(|_| {}, &b);
        assert_eq!(codes(&n), (2, 6));
    }
}

#[test]
fn open_with_zero_identifier_or_our_own_on_ibgp() {
    let mut b = open_bytes(&peer_open());
    b[24..28].copy_from_slice(&[0, 0, 0, 0]);
    let (n, _) = rejected(|_| {}, &b);
    assert_eq!(codes(&n), (2, 3));
    let o = Open::new(65001, 90, A_ID, vec![]);
    let (n, _) = rejected(|c| c.peer_as = 65001, &open_bytes(&o));
    assert_eq!(codes(&n), (2, 3));
}

#[test]
fn open_without_a_common_family_is_unsupported_capability() {
    // The peer only does L2VPN EVPN (AFI 25, SAFI 70).
    let o = Open::new(
        65002,
        90,
        B_ID,
        vec![Capability::Multiprotocol {
            afi: Afi(25),
            safi: Safi(70),
        }],
    );
    let (n, _) = rejected(|_| {}, &open_bytes(&o));
    assert_eq!(codes(&n), (2, 7));
    // The data lists our multiprotocol capabilities.
    assert_eq!(n.data, vec![1, 4, 0, 1, 0, 1, 1, 4, 0, 2, 0, 1]);
}

#[test]
fn open_without_four_octet_as_when_we_need_it() {
    // A 2-octet-only peer (no capability 65) and our AS needs 4 octets.
    let mut o = Open::new(65002, 90, B_ID, vec![]);
    o.parameters = vec![vec![Capability::RouteRefresh]];
    let (n, _) = rejected(|c| c.local_as = 4_200_000_001, &open_bytes(&o));
    assert_eq!(codes(&n), (2, 7));
    assert_eq!(n.data, vec![65, 4, 0xfa, 0x56, 0xea, 0x01]);
}

#[test]
fn open_without_capabilities_is_ipv4_unicast_with_two_octet_as() {
    let mut o = Open::new(65002, 90, B_ID, vec![]);
    o.parameters = vec![];
    let mut s = Scripted::new(|_| {});
    s.feed(&open_bytes(&o));
    s.feed(&encode(&Message::Keepalive));
    assert_eq!(s.s.state(), State::Established);
    let n = s.s.negotiated().unwrap();
    assert!(n.ipv4_unicast && !n.ipv6_unicast && !n.four_octet_as && !n.route_refresh);
}

#[test]
fn unknown_capabilities_and_parameters() {
    // Unknown capabilities are ignored (RFC 5492 §5).
    let mut o = peer_open();
    o.parameters[0].push(Capability::Unknown {
        code: 200,
        data: vec![1, 2, 3],
    });
    let mut s = Scripted::new(|_| {});
    let acts = s.feed(&open_bytes(&o));
    assert_eq!(s.s.state(), State::OpenConfirm);
    assert!(matches!(
        Scripted::sent_in(&acts).as_slice(),
        [Message::Keepalive]
    ));
    // An optional parameter other than Capabilities: Unsupported Optional Parameter.
    let mut b = open_bytes(&peer_open());
    b[29] = 1;
    let (n, _) = rejected(|_| {}, &b);
    assert_eq!(codes(&n), (2, 4));
}

#[test]
fn header_errors() {
    let mut b = encode(&Message::Keepalive);
    b[3] = 0;
    assert_eq!(codes(&rejected(|_| {}, &b).0), (1, 1));
    let mut b = encode(&Message::Keepalive);
    b[17] = 20;
    b.push(0);
    let (n, acts) = rejected(|_| {}, &b);
    assert_eq!(codes(&n), (1, 2));
    assert_eq!(n.data, vec![0, 20]);
    assert!(acts.contains(&Output::Notice(Notice::StateChanged {
        from: State::OpenSent,
        to: State::Idle,
        event: Event::BGPHeaderErr
    })));
    let mut b = encode(&Message::Keepalive);
    b[18] = 9;
    let (n, _) = rejected(|_| {}, &b);
    assert_eq!(codes(&n), (1, 3));
    assert_eq!(n.data, vec![9]);
}

#[test]
fn unexpected_messages_are_fsm_errors() {
    // KEEPALIVE in OpenSent.
    let (n, _) = rejected(|_| {}, &encode(&Message::Keepalive));
    assert_eq!(codes(&n), (5, 1));
    // UPDATE in OpenSent.
    let eor = lb_bgp::wire::Update::end_of_rib(Afi::IPV4, Safi::UNICAST);
    let (n, _) = rejected(|_| {}, &encode(&Message::Update(eor)));
    assert_eq!(codes(&n), (5, 1));
    // OPEN in OpenConfirm.
    let mut s = Scripted::new(|_| {});
    s.feed(&open_bytes(&peer_open()));
    let acts = s.feed(&open_bytes(&peer_open()));
    assert_eq!(codes(&Scripted::notification(&acts).unwrap()), (5, 2));
    // ROUTE-REFRESH in OpenConfirm.
    let mut s = Scripted::new(|_| {});
    s.feed(&open_bytes(&peer_open()));
    let rr = RouteRefresh::new(Afi::IPV4, Safi::UNICAST, RefreshSubtype::Request);
    let acts = s.feed(&encode(&Message::RouteRefresh(rr)));
    assert_eq!(codes(&Scripted::notification(&acts).unwrap()), (5, 2));
    // OPEN in Established.
    let mut s = established();
    let acts = s.feed(&open_bytes(&peer_open()));
    assert_eq!(codes(&Scripted::notification(&acts).unwrap()), (5, 3));
    assert!(acts.contains(&Output::Notice(Notice::StateChanged {
        from: State::Established,
        to: State::Idle,
        event: Event::BGPOpen
    })));
}

/// A scripted session in Established.
pub fn established() -> Scripted {
    let mut s = Scripted::new(|_| {});
    s.feed(&open_bytes(&peer_open()));
    s.feed(&encode(&Message::Keepalive));
    assert_eq!(s.s.state(), State::Established);
    s
}

/// An UPDATE body from raw parts (header added).
fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = vec![0xff; 16];
    let len = 19 + 2 + withdrawn.len() + 2 + attrs.len() + nlri.len();
    b.extend_from_slice(&(len as u16).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&(withdrawn.len() as u16).to_be_bytes());
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    b
}

const ORIGIN: [u8; 4] = [0x40, 1, 1, 0];
const AS_PATH: [u8; 9] = [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xea];
const NEXT_HOP: [u8; 7] = [0x40, 3, 4, 192, 0, 2, 2];

fn attrs(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn updates_fill_the_received_table() {
    let mut s = established();
    let a = attrs(&[
        &ORIGIN,
        &AS_PATH,
        &NEXT_HOP,
        &[0xc0, 8, 4, 0xfd, 0xea, 0, 1],
    ]);
    let acts = s.feed(&update(&[], &a, &[32, 198, 51, 100, 1, 24, 198, 51, 101]));
    assert!(acts.contains(&Output::Notice(Notice::RoutesReceived {
        announced: 2,
        withdrawn: 0
    })));
    let mut got: Vec<_> = s.s.received_routes().map(|(p, a)| (p, a.clone())).collect();
    got.sort_by_key(|g| g.0);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0.to_string(), "198.51.100.1/32");
    assert_eq!(got[1].0.to_string(), "198.51.101.0/24");
    assert_eq!(got[0].1.as_path, vec![65002]);
    assert_eq!(got[0].1.next_hop, Some("192.0.2.2".parse().unwrap()));
    assert_eq!(
        got[0].1.communities,
        vec![lb_bgp::wire::Community::new(65002, 1)]
    );
    assert_eq!(s.s.stats().prefixes_received, 2);
    // Withdraw one.
    let acts = s.feed(&update(&[32, 198, 51, 100, 1], &[], &[]));
    assert!(acts.contains(&Output::Notice(Notice::RoutesReceived {
        announced: 0,
        withdrawn: 1
    })));
    assert_eq!(s.s.received_routes().count(), 1);
    // End-of-RIB.
    let acts = s.feed(&update(&[], &[], &[]));
    assert!(acts.contains(&Output::Notice(Notice::EndOfRib {
        afi: Afi::IPV4,
        safi: Safi::UNICAST
    })));
    // The hold timer restarts with each UPDATE.
    let mut s = established();
    for _ in 0..5 {
        s.advance(Duration::from_secs(60));
        s.feed(&update(&[], &[], &[]));
    }
    assert_eq!(s.s.state(), State::Established);
}

#[test]
fn treat_as_withdraw_keeps_the_session() {
    let mut s = established();
    let a = attrs(&[&ORIGIN, &AS_PATH, &NEXT_HOP]);
    s.feed(&update(&[], &a, &[32, 198, 51, 100, 1]));
    assert_eq!(s.s.received_routes().count(), 1);
    // ORIGIN 7 is invalid: treat-as-withdraw (RFC 7606 §7.1).
    let bad = attrs(&[&[0x40, 1, 1, 7], &AS_PATH, &NEXT_HOP]);
    let acts = s.feed(&update(&[], &bad, &[32, 198, 51, 100, 1]));
    assert!(Scripted::notification(&acts).is_none());
    assert_eq!(s.s.state(), State::Established);
    assert_eq!(s.s.received_routes().count(), 0);
    assert!(acts.contains(&Output::Notice(Notice::RoutesReceived {
        announced: 0,
        withdrawn: 1
    })));
    // Missing NEXT_HOP: treat-as-withdraw as well.
    let acts = s.feed(&update(
        &[],
        &attrs(&[&ORIGIN, &AS_PATH]),
        &[32, 198, 51, 100, 2],
    ));
    assert!(Scripted::notification(&acts).is_none());
    assert_eq!(s.s.received_routes().count(), 0);
}

#[test]
fn malformed_updates_reset_the_session() {
    // Attribute list lengths that do not add up: Malformed Attribute List (3/1).
    let mut s = established();
    let mut b = update(&[], &attrs(&[&ORIGIN]), &[]);
    b[21] = 0;
    b[22] = 9; // attributes length 9, but only 4 octets follow
    let acts = s.feed(&b);
    assert_eq!(codes(&Scripted::notification(&acts).unwrap()), (3, 1));
    assert!(acts.contains(&Output::Notice(Notice::StateChanged {
        from: State::Established,
        to: State::Idle,
        event: Event::UpdateMsgErr
    })));
    assert!(acts.iter().any(|a| matches!(
        a,
        Output::Notice(Notice::Down {
            reason: DownReason::NotificationSent(_)
        })
    )));
    // An invalid prefix length: Invalid Network Field (3/10).
    let mut s = established();
    let acts = s.feed(&update(
        &[],
        &attrs(&[&ORIGIN, &AS_PATH, &NEXT_HOP]),
        &[33, 1, 2, 3, 4, 5],
    ));
    assert_eq!(codes(&Scripted::notification(&acts).unwrap()), (3, 10));
}

/// A prefix field is checked as the session reads it: good prefixes before a malformed
/// record are read, then the session resets (RFC 7606 §5.3), which drops every route of the
/// peer, those just read included, and reports no routes received.
#[test]
fn a_field_malformed_after_good_prefixes_resets_and_drops_them() {
    let ok_attrs = attrs(&[&ORIGIN, &AS_PATH, &NEXT_HOP]);
    // NLRI: two good prefixes, then a length of 33 bits; withdrawn routes: one good, then a
    // record cut short; the same NLRI behind an attribute error (treat-as-withdraw would keep
    // the session, the malformed field does not).
    let bad_nlri = [24, 192, 0, 2, 16, 198, 51, 33, 1, 2, 3, 4, 5];
    let treat_as_withdraw = attrs(&[&[0x40, 1, 1, 7], &AS_PATH, &NEXT_HOP]);
    let cases = [
        update(&[], &ok_attrs, &bad_nlri),
        update(&[32, 198, 51, 100, 1, 24, 203, 0], &ok_attrs, &[]),
        update(&[], &treat_as_withdraw, &bad_nlri),
    ];
    for bad in cases {
        let mut s = established();
        s.feed(&update(&[], &ok_attrs, &[32, 198, 51, 100, 1]));
        assert_eq!(s.s.received_routes().count(), 1);
        let acts = s.feed(&bad);
        assert_eq!(codes(&Scripted::notification(&acts).unwrap()), (3, 10));
        assert!(acts.contains(&Output::Notice(Notice::StateChanged {
            from: State::Established,
            to: State::Idle,
            event: Event::UpdateMsgErr
        })));
        assert!(
            !acts
                .iter()
                .any(|a| matches!(a, Output::Notice(Notice::RoutesReceived { .. }))),
            "nothing is reported received from a malformed UPDATE"
        );
        assert_eq!(s.s.received_routes().count(), 0, "the reset drops them all");
    }
}

#[test]
fn messages_split_anywhere_are_reassembled() {
    let mut s = Scripted::new(|_| {});
    let mut all = open_bytes(&peer_open());
    all.extend(encode(&Message::Keepalive));
    for b in all.chunks(3) {
        s.feed(b);
    }
    assert_eq!(s.s.state(), State::Established);
    // Several messages in one read.
    let mut s = Scripted::new(|_| {});
    s.feed(&all);
    assert_eq!(s.s.state(), State::Established);
}

#[test]
fn notification_received_in_each_state() {
    let cease = encode(&Message::Notification(Notification::shutdown(
        lb_bgp::wire::CeaseSubcode::AdministrativeShutdown,
        "bye",
    )));
    // OpenSent.
    let mut s = Scripted::new(|_| {});
    let acts = s.feed(&cease);
    assert!(
        Scripted::notification(&acts).is_none(),
        "no NOTIFICATION answers one"
    );
    assert!(acts.contains(&Output::Notice(Notice::StateChanged {
        from: State::OpenSent,
        to: State::Idle,
        event: Event::NotifMsg
    })));
    // OpenSent, version error.
    let mut s = Scripted::new(|_| {});
    let ver = encode(&Message::Notification(Notification {
        code: 2,
        subcode: 1,
        data: vec![0, 4],
    }));
    let acts = s.feed(&ver);
    assert!(acts.contains(&Output::Notice(Notice::StateChanged {
        from: State::OpenSent,
        to: State::Idle,
        event: Event::NotifMsgVerErr
    })));
    // OpenConfirm.
    let mut s = Scripted::new(|_| {});
    s.feed(&open_bytes(&peer_open()));
    let acts = s.feed(&cease);
    assert!(acts.contains(&Output::Notice(Notice::StateChanged {
        from: State::OpenConfirm,
        to: State::Idle,
        event: Event::NotifMsg
    })));
    // Established.
    let mut s = established();
    let acts = s.feed(&cease);
    let down = acts.iter().find_map(|a| match a {
        Output::Notice(Notice::Down {
            reason: DownReason::NotificationReceived(n),
        }) => Some(n.clone()),
        _ => None,
    });
    assert_eq!(down.unwrap().shutdown_communication(), Some("bye"));
}

#[test]
fn hold_timer_in_openconfirm() {
    let mut s = Scripted::new(|_| {});
    s.feed(&open_bytes(&peer_open()));
    // Keepalives go out every 30 s while we wait.
    let acts = s.advance(Duration::from_secs(30));
    assert!(matches!(
        Scripted::sent_in(&acts).as_slice(),
        [Message::Keepalive]
    ));
    s.advance(Duration::from_secs(59));
    assert_eq!(s.s.state(), State::OpenConfirm);
    let acts = s.advance(Duration::from_secs(1));
    assert_eq!(codes(&Scripted::notification(&acts).unwrap()), (4, 0));
    assert!(acts.contains(&Output::Notice(Notice::StateChanged {
        from: State::OpenConfirm,
        to: State::Idle,
        event: Event::HoldTimer_Expires
    })));
}

#[test]
fn too_many_prefixes_cease() {
    let mut s = Scripted::new(|c| c.max_received_prefixes = 2);
    s.feed(&open_bytes(&peer_open()));
    s.feed(&encode(&Message::Keepalive));
    let a = attrs(&[&ORIGIN, &AS_PATH, &NEXT_HOP]);
    let acts = s.feed(&update(
        &[],
        &a,
        &[32, 1, 1, 1, 1, 32, 1, 1, 1, 2, 32, 1, 1, 1, 3],
    ));
    assert_eq!(codes(&Scripted::notification(&acts).unwrap()), (6, 1));
    assert_eq!(s.s.received_routes().count(), 0);
}

#[test]
fn four_octet_as_goes_in_as_trans() {
    let s = Scripted::new(|c| c.local_as = 4_200_000_001);
    assert_eq!(s.s.local_open().my_as, 23456);
    assert_eq!(s.s.local_open().asn(), 4_200_000_001);
}

#[test]
fn ipv4_over_mp_falls_back_to_plain_nlri_without_the_peer_capability() {
    use lb_bgp::Route;
    let mut o = Open::new(65002, 90, B_ID, vec![]);
    o.parameters = vec![vec![Capability::FourOctetAs(65002)]];
    let mut s = Scripted::new(|c| c.ipv4_over_mp = true);
    s.s.announce(s.now, Route::new("198.51.100.1/32".parse().unwrap()));
    s.feed(&open_bytes(&o));
    let acts = s.feed(&encode(&Message::Keepalive));
    let updates: Vec<_> = Scripted::sent_in(&acts)
        .into_iter()
        .filter_map(|m| match m {
            Message::Update(u) => Some(u),
            _ => None,
        })
        .collect();
    assert_eq!(updates[0].nlri.len(), 1);
    assert!(
        updates[0]
            .attributes
            .iter()
            .all(|a| !matches!(a.data, lb_bgp::wire::AttributeData::MpReach(_)))
    );
}

#[test]
fn attribute_errors_carry_the_attribute() {
    // MP_REACH_NLRI with a bad flags octet (well-known transitive instead of optional): an
    // attribute flags error on an MP attribute resets the session (RFC 7606 §5.3), and the
    // NOTIFICATION data is the attribute.
    let mut s = established();
    let mp: [u8; 9] = [0x40, 14, 6, 0, 2, 1, 0, 0, 0];
    let acts = s.feed(&update(&[], &mp, &[]));
    let n = Scripted::notification(&acts).unwrap();
    assert_eq!(codes(&n), (3, 4));
    assert_eq!(n.data, mp.to_vec());
}
