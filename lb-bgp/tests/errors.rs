//! One test per RFC 7606 rule and per NOTIFICATION (code, subcode) the decoder produces.
//! Inputs are built by hand from the RFC text; each asserts the error, its NOTIFICATION and its
//! action.

#![allow(clippy::unwrap_used)]

mod common;

use common::{MANDATORY, message, update};
use lb_bgp::wire::{
    AttributeFlags, AttributeType, AttributeValue, Context, Error, ErrorAction, MessageRef,
    Notification, UpdateMessage, frame,
};

fn ctx() -> Context {
    Context::four_octet()
}

/// Parses an UPDATE; returns the error that failed it, else the one its prefix fields end in
/// when read (a session reset, found where the session finds it), else the RFC 7606 error kept
/// beside it.
fn outcome(bytes: &[u8], ctx: &Context) -> Option<Error> {
    match MessageRef::parse(bytes, ctx) {
        Ok(MessageRef::Update(u)) => prefix_error(&u).or(u.attribute_error()),
        Ok(_) => None,
        Err(e) => Some(e),
    }
}

/// The first error the prefix fields of an UPDATE yield as they are read.
fn prefix_error(u: &UpdateMessage<'_>) -> Option<Error> {
    let reach = u.mp_reach();
    let unreach = u.mp_unreach();
    u.withdrawn_routes()
        .chain(u.nlri())
        .chain(reach.iter().flat_map(|m| m.nlri()))
        .chain(unreach.iter().flat_map(|m| m.withdrawn()))
        .find_map(Result::err)
        .map(Error::from)
}

fn attrs(extra: &[u8]) -> Vec<u8> {
    let mut a = MANDATORY.to_vec();
    a.extend_from_slice(extra);
    a
}

const NLRI: &[u8] = &[32, 198, 51, 100, 1];

fn check(bytes: &[u8], want: Error, notification: (u8, u8), action: ErrorAction) {
    let got = outcome(bytes, &ctx()).expect("an error");
    assert_eq!(got, want);
    assert_eq!(got.notification(), Some(notification), "{got}");
    assert_eq!(got.action(), action, "{got}");
}

// ---- RFC 4271 §6.1 message header errors: session reset.

#[test]
fn header_connection_not_synchronized() {
    let mut m = message(4, &[]);
    m[3] = 0;
    check(
        &m,
        Error::ConnectionNotSynchronized,
        (1, 1),
        ErrorAction::SessionReset,
    );
}

#[test]
fn header_bad_message_length() {
    let m = message(4, &[0]);
    check(
        &m,
        Error::BadMessageLength(20),
        (1, 2),
        ErrorAction::SessionReset,
    );
    let e = outcome(&m, &ctx()).unwrap();
    assert_eq!(Notification::from_error(&e).unwrap().data, vec![0, 20]);
    // Shorter than the type's minimum, and longer than 4096 without Extended Message.
    check(
        &message(3, &[6]),
        Error::BadMessageLength(20),
        (1, 2),
        ErrorAction::SessionReset,
    );
    let big = update(&[], &[], &vec![0; 4096]);
    assert_eq!(frame(&big, 4096), Err(Error::BadMessageLength(4096 + 23)));
    let ext = Context {
        extended_message: true,
        ..ctx()
    };
    assert!(frame(&big, ext.max_message_len()).unwrap().is_some());
}

#[test]
fn header_bad_message_type() {
    check(
        &message(6, &[]),
        Error::BadMessageType(6),
        (1, 3),
        ErrorAction::SessionReset,
    );
}

// ---- RFC 4271 §6.2 OPEN errors.

fn open(version: u8, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut b = vec![version, 0xfb, 0xf4];
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id);
    b.push(params.len() as u8);
    b.extend_from_slice(params);
    message(1, &b)
}

#[test]
fn open_unsupported_version() {
    let e = outcome(&open(3, 90, [192, 0, 2, 1], &[]), &ctx()).unwrap();
    assert_eq!(
        (e, e.notification()),
        (Error::UnsupportedVersion(3), Some((2, 1)))
    );
    assert_eq!(Notification::from_error(&e).unwrap().data, vec![0, 4]);
}

#[test]
fn open_bad_bgp_identifier() {
    check(
        &open(4, 90, [0; 4], &[]),
        Error::BadBgpIdentifier,
        (2, 3),
        ErrorAction::SessionReset,
    );
}

#[test]
fn open_unsupported_optional_parameter() {
    check(
        &open(4, 90, [192, 0, 2, 1], &[1, 1, 0]),
        Error::UnsupportedOptionalParameter(1),
        (2, 4),
        ErrorAction::SessionReset,
    );
}

#[test]
fn open_unacceptable_hold_time() {
    check(
        &open(4, 2, [192, 0, 2, 1], &[]),
        Error::UnacceptableHoldTime(2),
        (2, 6),
        ErrorAction::SessionReset,
    );
    assert!(outcome(&open(4, 0, [192, 0, 2, 1], &[]), &ctx()).is_none());
    assert!(outcome(&open(4, 3, [192, 0, 2, 1], &[]), &ctx()).is_none());
}

#[test]
fn open_malformed_parameters() {
    // Parameter length runs past the field; capability length runs past the parameter;
    // a 4-octet AS capability of 3 octets.
    for p in [&[2, 9, 65, 4][..], &[2, 2, 65, 4], &[2, 5, 65, 3, 0, 0, 1]] {
        check(
            &open(4, 90, [192, 0, 2, 1], p),
            Error::MalformedOptionalParameters,
            (2, 0),
            ErrorAction::SessionReset,
        );
    }
    // RFC 9072 extended length that disagrees with the message.
    let mut b = vec![4, 0xfb, 0xf4, 0, 90, 192, 0, 2, 1, 255, 255, 0, 9, 2, 0, 0];
    let m = message(1, &b);
    check(
        &m,
        Error::MalformedOptionalParameters,
        (2, 0),
        ErrorAction::SessionReset,
    );
    b[12] = 3;
    assert!(outcome(&message(1, &b), &ctx()).is_none());
}

// ---- RFC 4271 §6.3 / RFC 7606 UPDATE errors.

#[test]
fn rfc4271_withdrawn_length_too_large_resets() {
    let mut m = update(&[], &attrs(&[]), NLRI);
    m[20] = 200;
    check(
        &m,
        Error::MalformedAttributeList,
        (3, 1),
        ErrorAction::SessionReset,
    );
}

#[test]
fn rfc4271_total_attribute_length_too_large_resets() {
    let mut m = update(&[], &attrs(&[]), &[]);
    m[22] = 0xff;
    check(
        &m,
        Error::MalformedAttributeList,
        (3, 1),
        ErrorAction::SessionReset,
    );
}

#[test]
fn rfc4271_invalid_network_field_resets() {
    check(
        &update(&[], &attrs(&[]), &[33, 1, 2, 3, 4, 5]),
        Error::InvalidNetworkField,
        (3, 10),
        ErrorAction::SessionReset,
    );
    check(
        &update(&[24, 10, 0], &[], &[]),
        Error::InvalidNetworkField,
        (3, 10),
        ErrorAction::SessionReset,
    );
}

#[test]
fn rfc7606_s4_attribute_overrun_is_treat_as_withdraw() {
    check(
        &update(&[], &attrs(&[0xc0, 8, 8, 0, 0, 0, 1]), NLRI),
        Error::AttributeOverrun(8),
        (3, 1),
        ErrorAction::TreatAsWithdraw,
    );
}

#[test]
fn rfc7606_s4_trailing_fragment_is_treat_as_withdraw() {
    check(
        &update(&[], &attrs(&[0xc0]), NLRI),
        Error::AttributeOverrun(0),
        (3, 1),
        ErrorAction::TreatAsWithdraw,
    );
    check(
        &update(&[], &attrs(&[0xd0, 8, 0]), NLRI),
        Error::AttributeOverrun(8),
        (3, 1),
        ErrorAction::TreatAsWithdraw,
    );
}

#[test]
fn rfc7606_s3c_flags_error_uses_the_attribute_rule() {
    // ORIGIN marked optional: treat-as-withdraw.
    let a = [0xc0, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, 192, 0, 2, 1];
    check(
        &update(&[], &a, NLRI),
        Error::AttributeFlags {
            type_code: 1,
            flags: 0xc0,
        },
        (3, 4),
        ErrorAction::TreatAsWithdraw,
    );
    // AGGREGATOR marked well-known: attribute discard.
    check(
        &update(
            &[],
            &attrs(&[0x40, 7, 8, 0, 0, 0xfb, 0xf4, 192, 0, 2, 1]),
            NLRI,
        ),
        Error::AttributeFlags {
            type_code: 7,
            flags: 0x40,
        },
        (3, 4),
        ErrorAction::AttributeDiscard,
    );
}

#[test]
fn rfc7606_s3d_missing_well_known_is_treat_as_withdraw() {
    // No ORIGIN.
    let a = [0x40, 2, 0, 0x40, 3, 4, 192, 0, 2, 1];
    check(
        &update(&[], &a, NLRI),
        Error::MissingWellKnownAttribute(1),
        (3, 3),
        ErrorAction::TreatAsWithdraw,
    );
    // No NEXT_HOP with IPv4 NLRI.
    check(
        &update(&[], &MANDATORY[..13], NLRI),
        Error::MissingWellKnownAttribute(3),
        (3, 3),
        ErrorAction::TreatAsWithdraw,
    );
    // No NEXT_HOP needed when the routes are in MP_REACH_NLRI only (RFC 4760 §3).
    let mut mp = MANDATORY[..13].to_vec();
    mp.extend_from_slice(&[
        0x80, 14, 26, 0, 2, 1, 16, 0x20, 1, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 32,
        0x20, 1, 0x0d, 0xb8,
    ]);
    assert_eq!(outcome(&update(&[], &mp, &[]), &ctx()), None);
    // Withdrawals alone need no attributes.
    assert_eq!(outcome(&update(NLRI, &[], &[]), &ctx()), None);
}

#[test]
fn rfc7606_s3g_duplicate_attribute_is_discarded_keeping_the_first() {
    let m = update(
        &[],
        &attrs(&[0x80, 4, 4, 0, 0, 0, 1, 0x80, 4, 4, 0, 0, 0, 2]),
        NLRI,
    );
    check(
        &m,
        Error::DuplicateAttribute(4),
        (3, 1),
        ErrorAction::AttributeDiscard,
    );
    let MessageRef::Update(u) = MessageRef::parse(&m, &ctx()).unwrap() else {
        panic!()
    };
    let meds: Vec<_> = u
        .attributes()
        .filter_map(|a| match a.value() {
            AttributeValue::MultiExitDisc(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(meds, vec![1]);
}

#[test]
fn rfc7606_s3g_duplicate_mp_reach_resets() {
    let mp = [0x80, 15, 3, 0, 2, 1];
    let mut a = mp.to_vec();
    a.extend_from_slice(&mp);
    check(
        &update(&[], &a, &[]),
        Error::MalformedAttributeList,
        (3, 1),
        ErrorAction::SessionReset,
    );
}

#[test]
fn notification_data_for_attribute_errors() {
    let m = update(&[], &attrs(&[0xc0, 8, 3, 1, 2, 3]), NLRI);
    let body = &m[19..];
    assert_eq!(
        lb_bgp::wire::update::attribute_bytes(body, 8),
        Some(&[0xc0, 8, 3, 1, 2, 3][..])
    );
    assert_eq!(lb_bgp::wire::update::attribute_bytes(body, 99), None);
    let e = Error::MissingWellKnownAttribute(3);
    assert_eq!(Notification::from_error(&e).unwrap().data, vec![3]);
}

#[test]
fn rfc7606_s7_1_origin() {
    check(
        &update(&[], &[0x40, 1, 2, 0, 0], NLRI),
        Error::AttributeLength {
            type_code: 1,
            len: 2,
        },
        (3, 5),
        ErrorAction::TreatAsWithdraw,
    );
    let mut a = attrs(&[]);
    a[3] = 3;
    check(
        &update(&[], &a, NLRI),
        Error::InvalidOrigin(3),
        (3, 6),
        ErrorAction::TreatAsWithdraw,
    );
}

#[test]
fn rfc7606_s7_2_as_path() {
    // Unknown segment type, zero-length segment, length past the attribute.
    for seg in [[9u8, 1, 0, 0, 0, 1], [2, 0, 0, 0, 0, 1], [2, 2, 0, 0, 0, 1]] {
        let mut a = vec![0x40, 1, 1, 0, 0x40, 2, 6];
        a.extend_from_slice(&seg);
        a.extend_from_slice(&[0x40, 3, 4, 192, 0, 2, 1]);
        check(
            &update(&[], &a, NLRI),
            Error::MalformedAsPath(2),
            (3, 11),
            ErrorAction::TreatAsWithdraw,
        );
    }
    // The same bytes are a valid 2-octet path of three ASNs.
    let two = Context::default();
    let a = [
        0x40, 1, 1, 0, 0x40, 2, 8, 2, 3, 0, 1, 0, 2, 0, 3, 0x40, 3, 4, 192, 0, 2, 1,
    ];
    assert_eq!(outcome(&update(&[], &a, NLRI), &two), None);
}

#[test]
fn rfc7606_s7_3_next_hop() {
    let a = [0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 3, 192, 0, 2];
    check(
        &update(&[], &a, NLRI),
        Error::AttributeLength {
            type_code: 3,
            len: 3,
        },
        (3, 5),
        ErrorAction::TreatAsWithdraw,
    );
    let a = [0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, 224, 0, 0, 1];
    check(
        &update(&[], &a, NLRI),
        Error::InvalidNextHop,
        (3, 8),
        ErrorAction::TreatAsWithdraw,
    );
}

#[test]
fn rfc7606_s7_4_med_s7_5_local_pref_s7_9_originator_id() {
    for (t, f) in [(4u8, 0x80u8), (5, 0x40), (9, 0x80)] {
        check(
            &update(&[], &attrs(&[f, t, 2, 0, 1]), NLRI),
            Error::AttributeLength {
                type_code: t,
                len: 2,
            },
            (3, 5),
            ErrorAction::TreatAsWithdraw,
        );
    }
}

#[test]
fn rfc7606_s7_6_atomic_aggregate_is_discarded() {
    let m = update(&[], &attrs(&[0x40, 6, 1, 0]), NLRI);
    check(
        &m,
        Error::AttributeLength {
            type_code: 6,
            len: 1,
        },
        (3, 5),
        ErrorAction::AttributeDiscard,
    );
    let MessageRef::Update(u) = MessageRef::parse(&m, &ctx()).unwrap() else {
        panic!()
    };
    assert!(
        u.attributes()
            .all(|a| a.kind() != AttributeType::AtomicAggregate)
    );
    assert_eq!(u.nlri().count(), 1);
}

#[test]
fn rfc7606_s7_7_aggregator_is_discarded() {
    check(
        &update(&[], &attrs(&[0xc0, 7, 6, 0xfb, 0xf4, 192, 0, 2, 1]), NLRI),
        Error::AttributeLength {
            type_code: 7,
            len: 6,
        },
        (3, 5),
        ErrorAction::AttributeDiscard,
    );
}

#[test]
fn rfc7606_s7_8_communities_s7_10_cluster_list_s7_14_extended_rfc8092_large() {
    for (t, f, bad) in [
        (8u8, 0xc0u8, 3u8),
        (8, 0xc0, 0),
        (10, 0x80, 5),
        (16, 0xc0, 7),
        (32, 0xc0, 11),
    ] {
        let mut extra = vec![f, t, bad];
        extra.extend(std::iter::repeat_n(0, usize::from(bad)));
        check(
            &update(&[], &attrs(&extra), NLRI),
            Error::AttributeLength {
                type_code: t,
                len: u16::from(bad),
            },
            (3, 5),
            ErrorAction::TreatAsWithdraw,
        );
    }
}

#[test]
fn rfc7606_s7_11_mp_reach_errors_reset() {
    // Too short, next hop length of 5, NLRI syntax error.
    check(
        &update(&[], &attrs(&[0x80, 14, 2, 0, 2]), &[]),
        Error::OptionalAttribute(14),
        (3, 9),
        ErrorAction::SessionReset,
    );
    check(
        &update(
            &[],
            &attrs(&[0x80, 14, 10, 0, 2, 1, 5, 1, 2, 3, 4, 5, 0]),
            &[],
        ),
        Error::OptionalAttribute(14),
        (3, 9),
        ErrorAction::SessionReset,
    );
    check(
        &update(
            &[],
            &attrs(&[0x80, 14, 10, 0, 1, 1, 4, 192, 0, 2, 1, 0, 33]),
            &[],
        ),
        Error::InvalidNetworkField,
        (3, 10),
        ErrorAction::SessionReset,
    );
}

#[test]
fn rfc7606_s7_12_mp_unreach_errors_reset() {
    check(
        &update(&[], &[0x80, 15, 2, 0, 2], &[]),
        Error::OptionalAttribute(15),
        (3, 9),
        ErrorAction::SessionReset,
    );
    check(
        &update(&[], &[0x80, 15, 4, 0, 2, 1, 129], &[]),
        Error::InvalidNetworkField,
        (3, 10),
        ErrorAction::SessionReset,
    );
}

#[test]
fn rfc6793_s6_as4_path_and_as4_aggregator_are_discarded() {
    check(
        &update(&[], &attrs(&[0xc0, 17, 2, 2, 1]), NLRI),
        Error::MalformedAsPath(17),
        (3, 11),
        ErrorAction::AttributeDiscard,
    );
    check(
        &update(&[], &attrs(&[0xc0, 18, 6, 0, 1, 192, 0, 2, 1]), NLRI),
        Error::AttributeLength {
            type_code: 18,
            len: 6,
        },
        (3, 5),
        ErrorAction::AttributeDiscard,
    );
}

#[test]
fn rfc4271_unrecognized_well_known_resets() {
    check(
        &update(&[], &attrs(&[0x40, 99, 0]), NLRI),
        Error::UnrecognizedWellKnownAttribute(99),
        (3, 2),
        ErrorAction::SessionReset,
    );
}

#[test]
fn unknown_optional_attribute_is_kept_and_marked_partial_when_passed_on() {
    let m = update(&[], &attrs(&[0xc0, 99, 2, 7, 7]), NLRI);
    assert_eq!(outcome(&m, &ctx()), None);
    let MessageRef::Update(u) = MessageRef::parse(&m, &ctx()).unwrap() else {
        panic!()
    };
    let a = u.attributes().find(|a| a.type_code == 99).unwrap();
    let owned = lb_bgp::wire::Attribute::from_ref(&a).unwrap().pass_on();
    assert!(owned.flags.partial());
    assert_eq!(owned.flags.0 & !AttributeFlags::PARTIAL, 0xc0);
}

#[test]
fn treat_as_withdraw_wins_over_discard() {
    let m = update(&[], &attrs(&[0x40, 6, 1, 0, 0xc0, 8, 3, 0, 0, 0]), NLRI);
    let MessageRef::Update(u) = MessageRef::parse(&m, &ctx()).unwrap() else {
        panic!()
    };
    assert!(u.is_treat_as_withdraw());
    assert_eq!(
        u.attribute_error(),
        Some(Error::AttributeLength {
            type_code: 8,
            len: 3
        })
    );
}

#[test]
fn route_refresh_invalid_length() {
    check(
        &message(5, &[0, 1, 1, 1, 0]),
        Error::RouteRefreshLength(24),
        (7, 1),
        ErrorAction::SessionReset,
    );
    // A request may carry ORF entries (RFC 5291).
    assert!(outcome(&message(5, &[0, 1, 0, 1, 9]), &ctx()).is_none());
}

#[test]
fn every_named_notification_round_trips() {
    use lb_bgp::wire::ErrorCode;
    for code in 0..=9u8 {
        for sub in 0..=12u8 {
            let e = ErrorCode::new(code, sub);
            assert_eq!(e.to_pair(), (code, sub));
            assert!(!e.to_string().is_empty());
        }
    }
    let n = Notification::shutdown(
        lb_bgp::wire::CeaseSubcode::AdministrativeReset,
        &"é".repeat(200),
    );
    assert_eq!(n.data[0], 254);
    assert_eq!(n.shutdown_communication().map(str::len), Some(254));
}

fn external() -> Context {
    Context {
        external: true,
        ..ctx()
    }
}

#[test]
fn rfc7606_s7_5_local_pref_from_an_external_neighbour_is_discarded() {
    let m = update(&[], &attrs(&[0x40, 5, 4, 0, 0, 0, 200]), NLRI);
    // From an internal neighbour it is an ordinary attribute.
    assert_eq!(outcome(&m, &ctx()), None);
    let got = outcome(&m, &external()).expect("an error");
    assert_eq!(got, Error::LocalPrefFromExternal);
    assert_eq!(got.action(), ErrorAction::AttributeDiscard);
    assert_eq!(
        got.notification(),
        None,
        "RFC 4271 ignores it: nothing to report"
    );
    let ext = external();
    let MessageRef::Update(u) = MessageRef::parse(&m, &ext).unwrap() else {
        panic!()
    };
    assert!(
        u.attributes().all(|a| a.type_code != 5),
        "LOCAL_PREF is dropped"
    );
    assert_eq!(u.nlri().count(), 1, "the route stays");
    // Even a wrong length is only discarded when the neighbour is external.
    let short = update(&[], &attrs(&[0x40, 5, 2, 0, 1]), NLRI);
    assert_eq!(
        outcome(&short, &external()),
        Some(Error::LocalPrefFromExternal)
    );
}

#[test]
fn rfc5065_confederation_segments_from_an_external_neighbour_are_treat_as_withdraw() {
    // ORIGIN, AS_PATH [AS_CONFED_SEQUENCE 65001][AS_SEQUENCE 64500], NEXT_HOP.
    let a = [
        0x40, 1, 1, 0, //
        0x40, 2, 12, 3, 1, 0, 0, 0xfd, 0xe9, 2, 1, 0, 0, 0xfb, 0xf4, //
        0x40, 3, 4, 192, 0, 2, 1,
    ];
    let m = update(&[], &a, NLRI);
    assert_eq!(outcome(&m, &ctx()), None, "fine inside the confederation");
    let got = outcome(&m, &external()).expect("an error");
    assert_eq!(got, Error::MalformedAsPath(2));
    assert_eq!(got.notification(), Some((3, 11)));
    assert_eq!(got.action(), ErrorAction::TreatAsWithdraw);
    // A confed set (type 4) too; a plain path from the same neighbour is fine.
    let mut set = a;
    set[7] = 4;
    assert_eq!(
        outcome(&update(&[], &set, NLRI), &external()),
        Some(Error::MalformedAsPath(2))
    );
    assert_eq!(outcome(&update(&[], MANDATORY, NLRI), &external()), None);
}

// ---- confederation membership is an input (issue 13) ----

fn opens(local_as: u32, remote_as: u32) -> (lb_bgp::wire::Open, lb_bgp::wire::Open) {
    use lb_bgp::wire::Open;
    let id = std::net::Ipv4Addr::new(192, 0, 2, 1);
    (
        Open::new(local_as, 90, id, vec![]),
        Open::new(remote_as, 90, id, vec![]),
    )
}

#[test]
fn rfc5065_a_confederation_peer_is_not_external() {
    use lb_bgp::wire::{Confederation, PeerKind};
    // ORIGIN, AS_PATH [AS_CONFED_SEQUENCE 65001][AS_SEQUENCE 64500], NEXT_HOP, LOCAL_PREF 200:
    // what a member AS of our confederation sends.
    let a = [
        0x40, 1, 1, 0, //
        0x40, 2, 12, 3, 1, 0, 0, 0xfd, 0xe9, 2, 1, 0, 0, 0xfb, 0xf4, //
        0x40, 3, 4, 192, 0, 2, 1, //
        0x40, 5, 4, 0, 0, 0, 200,
    ];
    let m = update(&[], &a, NLRI);
    let (local, remote) = opens(65000, 65001);
    let member = Context::for_receiving(&local, &remote, Confederation::Member);
    assert!(member.four_octet_as);
    assert!(!member.external);
    assert_eq!(outcome(&m, &member), None, "routes and LOCAL_PREF kept");
    let MessageRef::Update(u) = MessageRef::parse(&m, &member).unwrap() else {
        panic!()
    };
    assert!(u.attributes().any(|a| a.type_code == 5));
    // The same OPENs from outside the confederation: external, as before.
    let outside = Context::for_receiving(&local, &remote, Confederation::Outside);
    assert!(outside.external);
    assert_eq!(outcome(&m, &outside), Some(Error::MalformedAsPath(2)));
    assert!(Context::for_sending(&local, &remote, Confederation::Outside).external);
    assert!(!Context::for_sending(&local, &remote, Confederation::Member).external);
    // The same AS is internal whatever the caller says.
    let (local, remote) = opens(65000, 65000);
    for c in [Confederation::Outside, Confederation::Member] {
        assert!(!Context::for_receiving(&local, &remote, c).external);
    }
    assert_eq!(
        PeerKind::of(65000, 65000, Confederation::Member),
        PeerKind::Internal
    );
    assert_eq!(
        PeerKind::of(65000, 65001, Confederation::Member),
        PeerKind::ConfederationExternal
    );
    assert_eq!(
        PeerKind::of(65000, 65001, Confederation::Outside),
        PeerKind::External
    );
    assert!(PeerKind::External.is_external());
    assert!(!PeerKind::ConfederationExternal.is_external());
}

// ---- RFC 4271 §6.3: the data of an attribute error is the attribute (issue 13) ----

#[test]
fn rfc4271_s6_3_attribute_errors_carry_the_attribute() {
    // Each: the attributes of the UPDATE, the error, and the erroneous attribute.
    let bad_origin: &[u8] = &[0x40, 1, 1, 7];
    let bad_origin_flags: &[u8] = &[0xc0, 1, 1, 0];
    let short_med: &[u8] = &[0x80, 4, 2, 0, 1];
    let bad_next_hop: &[u8] = &[0x40, 3, 4, 0, 0, 0, 0];
    let bad_path: &[u8] = &[0x40, 2, 6, 9, 1, 0, 0, 0xfd, 0xe9];
    let bad_communities: &[u8] = &[0xc0, 8, 3, 1, 2, 3];
    let as_path: &[u8] = &[0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9];
    let origin: &[u8] = &[0x40, 1, 1, 0];
    let next_hop: &[u8] = &[0x40, 3, 4, 192, 0, 2, 1];
    let mp_reach_flags: &[u8] = &[0x40, 14, 6, 0, 2, 1, 0, 0, 0];
    let cases: [(&[&[u8]], &[u8]); 7] = [
        (&[bad_origin, as_path, next_hop], bad_origin),
        (&[bad_origin_flags, as_path, next_hop], bad_origin_flags),
        (&[origin, as_path, next_hop, short_med], short_med),
        (&[origin, as_path, bad_next_hop], bad_next_hop),
        (&[origin, bad_path, next_hop], bad_path),
        (
            &[origin, as_path, next_hop, bad_communities],
            bad_communities,
        ),
        (&[mp_reach_flags], mp_reach_flags),
    ];
    for (parts, attribute) in cases {
        let nlri: &[u8] = if parts.len() == 1 { &[] } else { NLRI };
        let m = update(&[], &parts.concat(), nlri);
        let e = outcome(&m, &ctx()).expect("an error");
        assert_eq!(e.erroneous_attribute(), Some(attribute[1]), "{e}");
        assert_eq!(e.attribute_in(&m), Some(attribute), "{e}");
        let n = Notification::from_message_error(&e, &m).expect("a NOTIFICATION");
        assert_eq!((n.code, n.subcode), e.notification().unwrap(), "{e}");
        assert_eq!(n.data, attribute, "{e}");
    }
    // Errors of other kinds keep their own data (or none).
    let e = Error::MissingWellKnownAttribute(3);
    let m = update(&[], MANDATORY, NLRI);
    assert_eq!(e.erroneous_attribute(), None);
    assert_eq!(e.attribute_in(&m), None);
    assert_eq!(
        Notification::from_message_error(&e, &m).unwrap().data,
        vec![3]
    );
    assert_eq!(
        Notification::from_message_error(&Error::MalformedAttributeList, &m)
            .unwrap()
            .data,
        Vec::<u8>::new()
    );
}
