//! Control packets captured from BIRD 2.0.12 and FRR 8.4.4 `bfdd` in the lab of
//! `tests/lab_interop.rs` (tcpdump on the daemon's eth0, `LB_BFD_CAPTURE=<dir>`), peering with
//! this crate's driver. Each is parsed field by field, emitted again octet for octet, its
//! authentication verified with the lab's password ("s3cret") and refused with another, and
//! a captured handshake drives a session Up.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use lb_bfd::session::{AuthConfig, Event, Session, SessionConfig};
use lb_bfd::wire::{Auth, AuthType, Diagnostic, Packet, Repr, State, auth};

/// BIRD 2.0.12, single hop IPv4 (192.0.2.2 -> 192.0.2.11:3784, TTL 255): Down, Your Discriminator 0, the 1 s idle rate, min rx 150 ms, multiplier 4.
const BIRD_DOWN_V4: [u8; 24] = [
    0x20, 0x40, 0x04, 0x18, 0x40, 0x67, 0xb5, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x42, 0x40,
    0x00, 0x02, 0x49, 0xf0, 0x00, 0x00, 0x00, 0x00,
];

/// BIRD 2.0.12, multihop IPv6 (2001:db8:2::2 -> 2001:db8:2::b:4784, hop limit 64 as sent, one router): Init.
const BIRD_INIT_V6_MULTIHOP: [u8; 24] = [
    0x20, 0x80, 0x04, 0x18, 0xb9, 0x4a, 0xea, 0x9f, 0x7e, 0x31, 0x6a, 0x76, 0x00, 0x0f, 0x42, 0x40,
    0x00, 0x02, 0x49, 0xf0, 0x00, 0x00, 0x00, 0x00,
];

/// BIRD 2.0.12, multihop IPv4 (198.51.100.2 -> 198.51.100.11:4784): Up with Final, tx 200 ms.
const BIRD_UP_FINAL_V4_MULTIHOP: [u8; 24] = [
    0x20, 0xd0, 0x04, 0x18, 0xb5, 0x7d, 0xf7, 0xf6, 0xa9, 0x08, 0xa7, 0xe1, 0x00, 0x03, 0x0d, 0x40,
    0x00, 0x02, 0x49, 0xf0, 0x00, 0x00, 0x00, 0x00,
];

/// BIRD 2.0.12, single hop IPv6 (2001:db8:1::2 -> 2001:db8:1::b:3784): Up with Poll.
const BIRD_UP_POLL_V6: [u8; 24] = [
    0x20, 0xe0, 0x04, 0x18, 0x6d, 0x64, 0x6d, 0x8a, 0xed, 0xa8, 0x04, 0x05, 0x00, 0x03, 0x0d, 0x40,
    0x00, 0x02, 0x49, 0xf0, 0x00, 0x00, 0x00, 0x00,
];

/// BIRD 2.0.12, single hop IPv4: Up, no flags.
const BIRD_UP_V4: [u8; 24] = [
    0x20, 0xc0, 0x04, 0x18, 0x40, 0x67, 0xb5, 0x02, 0xce, 0xb9, 0xb2, 0xf9, 0x00, 0x03, 0x0d, 0x40,
    0x00, 0x02, 0x49, 0xf0, 0x00, 0x00, 0x00, 0x00,
];

/// BIRD 2.0.12, single hop IPv4, `authentication simple; password "s3cret" { id 1; }`: Down after our AdminDown (diagnostic 3), Poll, Simple Password.
const BIRD_DOWN_DIAG3_SIMPLE: [u8; 33] = [
    0x23, 0x64, 0x03, 0x21, 0x09, 0xca, 0xd9, 0x1a, 0x50, 0x4e, 0x4d, 0x22, 0x00, 0x0f, 0x42, 0x40,
    0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x01, 0x09, 0x01, 0x73, 0x33, 0x63, 0x72, 0x65,
    0x74,
];

/// BIRD 2.0.12, single hop IPv4, `authentication keyed md5`, password "s3cret" id 1: Up.
const BIRD_UP_KEYED_MD5: [u8; 48] = [
    0x20, 0xc4, 0x03, 0x30, 0xd8, 0x55, 0x82, 0x60, 0xdb, 0xa3, 0xb5, 0x93, 0x00, 0x01, 0x86, 0xa0,
    0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x02, 0x18, 0x01, 0x00, 0x0f, 0xff, 0x7e, 0xc2,
    0x51, 0xcb, 0x28, 0xc2, 0xba, 0x61, 0x7c, 0x74, 0xdd, 0x63, 0x20, 0xbe, 0x7a, 0xe9, 0x86, 0xb2,
];

/// BIRD 2.0.12, single hop IPv4, `authentication meticulous keyed md5`: Up.
const BIRD_UP_METICULOUS_MD5: [u8; 48] = [
    0x20, 0xc4, 0x03, 0x30, 0xa2, 0xd0, 0xd1, 0xef, 0x3f, 0xb6, 0xf1, 0x83, 0x00, 0x01, 0x86, 0xa0,
    0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x03, 0x18, 0x01, 0x00, 0x1e, 0xb1, 0x3a, 0x20,
    0x92, 0xe3, 0xfe, 0xdf, 0x4e, 0x85, 0xf5, 0xd9, 0x9a, 0x18, 0xb9, 0x93, 0xc3, 0xc0, 0x36, 0x1d,
];

/// BIRD 2.0.12, single hop IPv4, `authentication keyed sha1`: Up.
const BIRD_UP_KEYED_SHA1: [u8; 52] = [
    0x20, 0xc4, 0x03, 0x34, 0x74, 0xe1, 0xe2, 0x81, 0x2e, 0x84, 0xb1, 0xa9, 0x00, 0x01, 0x86, 0xa0,
    0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x04, 0x1c, 0x01, 0x00, 0x26, 0x49, 0x61, 0x0e,
    0xb9, 0x44, 0x31, 0xe2, 0x92, 0x2a, 0x79, 0x3d, 0x02, 0x1a, 0x8a, 0x11, 0xb5, 0xe8, 0x52, 0x45,
    0xc5, 0x47, 0xaa, 0x85,
];

/// BIRD 2.0.12, single hop IPv4, `authentication meticulous keyed sha1`: Up.
const BIRD_UP_METICULOUS_SHA1: [u8; 52] = [
    0x20, 0xc4, 0x03, 0x34, 0xca, 0xda, 0xbb, 0x4f, 0xe2, 0xc3, 0x2e, 0x50, 0x00, 0x01, 0x86, 0xa0,
    0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x05, 0x1c, 0x01, 0x00, 0xde, 0xb4, 0x4f, 0xe0,
    0xa4, 0xf7, 0x46, 0x16, 0x13, 0x55, 0x1c, 0x96, 0xa0, 0xf7, 0x6d, 0x9f, 0x36, 0x8b, 0xcd, 0x25,
    0x71, 0xb5, 0xd5, 0xe9,
];

/// FRR 8.4.4 bfdd, single hop IPv4 (192.0.2.2:49153 -> 192.0.2.11:3784, TTL 255): Init, tx and rx 1 s while not Up, Required Min Echo RX 50 ms.
const FRR_INIT_V4: [u8; 24] = [
    0x20, 0x80, 0x04, 0x18, 0x82, 0xe5, 0x9c, 0x6d, 0x39, 0x3f, 0x08, 0xa9, 0x00, 0x0f, 0x42, 0x40,
    0x00, 0x0f, 0x42, 0x40, 0x00, 0x00, 0xc3, 0x50,
];

/// FRR 8.4.4 bfdd, single hop IPv4: Up with Poll, tx 200 ms, rx 150 ms.
const FRR_UP_POLL_V4: [u8; 24] = [
    0x20, 0xe0, 0x04, 0x18, 0x82, 0xe5, 0x9c, 0x6d, 0x39, 0x3f, 0x08, 0xa9, 0x00, 0x03, 0x0d, 0x40,
    0x00, 0x02, 0x49, 0xf0, 0x00, 0x00, 0xc3, 0x50,
];

/// FRR 8.4.4 bfdd, multihop IPv6 (2001:db8:2::2:49152 -> 2001:db8:2::b:4784, hop limit 255 as sent): Up with Final.
const FRR_UP_FINAL_V6_MULTIHOP: [u8; 24] = [
    0x20, 0xd0, 0x04, 0x18, 0xcc, 0xe9, 0xc7, 0x8b, 0x9e, 0x1f, 0x9e, 0x34, 0x00, 0x03, 0x0d, 0x40,
    0x00, 0x02, 0x49, 0xf0, 0x00, 0x00, 0xc3, 0x50,
];

/// FRR 8.4.4 bfdd, multihop IPv4 (198.51.100.2:49152 -> 198.51.100.11:4784): Up.
const FRR_UP_V4_MULTIHOP: [u8; 24] = [
    0x20, 0xc0, 0x04, 0x18, 0xe1, 0x27, 0xeb, 0x09, 0x76, 0x04, 0xd9, 0xd0, 0x00, 0x03, 0x0d, 0x40,
    0x00, 0x02, 0x49, 0xf0, 0x00, 0x00, 0xc3, 0x50,
];
/// The header fields of a packet, in wire order.
#[derive(Debug, PartialEq, Eq)]
struct Fields {
    diag: Diagnostic,
    state: State,
    poll: bool,
    fin: bool,
    mult: u8,
    my: u32,
    your: u32,
    tx: u32,
    rx: u32,
    echo: u32,
}

#[allow(clippy::too_many_arguments)]
fn f(
    diag: u8,
    state: State,
    poll: bool,
    fin: bool,
    mult: u8,
    my: u32,
    your: u32,
    tx: u32,
    rx: u32,
    echo: u32,
) -> Fields {
    Fields {
        diag: Diagnostic::from(diag),
        state,
        poll,
        fin,
        mult,
        my,
        your,
        tx,
        rx,
        echo,
    }
}

/// Parses `bytes`, compares the header with `expected` through both the view and the
/// `Repr`, checks C, D and M are clear, and emits the `Repr` back to the same octets.
fn check(bytes: &[u8], expected: Fields) -> Repr {
    let p = Packet::new_checked(bytes).unwrap();
    assert_eq!(p.version(), 1);
    assert_eq!(usize::from(p.length()), bytes.len());
    assert!(!p.control_plane_independent() && !p.demand() && !p.multipoint());
    let from_view = Fields {
        diag: p.diagnostic(),
        state: p.state(),
        poll: p.poll(),
        fin: p.final_(),
        mult: p.detect_mult(),
        my: p.my_discriminator(),
        your: p.your_discriminator(),
        tx: p.desired_min_tx(),
        rx: p.required_min_rx(),
        echo: p.required_min_echo_rx(),
    };
    assert_eq!(from_view, expected);
    let r = Repr::parse(&p).unwrap();
    let from_repr = Fields {
        diag: r.diagnostic,
        state: r.state,
        poll: r.poll,
        fin: r.final_,
        mult: r.detect_mult,
        my: r.my_discriminator,
        your: r.your_discriminator,
        tx: r.desired_min_tx,
        rx: r.required_min_rx,
        echo: r.required_min_echo_rx,
    };
    assert_eq!(from_repr, expected);
    let (out, len) = r.to_bytes();
    assert_eq!(&out[..len], bytes, "emit differs from the capture");
    r
}

#[test]
fn bird_packets() {
    use State::*;
    let r = check(
        &BIRD_DOWN_V4,
        f(
            0, Down, false, false, 4, 0x4067b502, 0, 1_000_000, 150_000, 0,
        ),
    );
    assert_eq!(r.auth, None);
    check(
        &BIRD_INIT_V6_MULTIHOP,
        f(
            0, Init, false, false, 4, 0xb94aea9f, 0x7e316a76, 1_000_000, 150_000, 0,
        ),
    );
    check(
        &BIRD_UP_FINAL_V4_MULTIHOP,
        f(
            0, Up, false, true, 4, 0xb57df7f6, 0xa908a7e1, 200_000, 150_000, 0,
        ),
    );
    check(
        &BIRD_UP_POLL_V6,
        f(
            0, Up, true, false, 4, 0x6d646d8a, 0xeda80405, 200_000, 150_000, 0,
        ),
    );
    check(
        &BIRD_UP_V4,
        f(
            0, Up, false, false, 4, 0x4067b502, 0xceb9b2f9, 200_000, 150_000, 0,
        ),
    );
}

#[test]
fn frr_packets() {
    use State::*;
    check(
        &FRR_INIT_V4,
        f(
            0, Init, false, false, 4, 0x82e59c6d, 0x393f08a9, 1_000_000, 1_000_000, 50_000,
        ),
    );
    check(
        &FRR_UP_POLL_V4,
        f(
            0, Up, true, false, 4, 0x82e59c6d, 0x393f08a9, 200_000, 150_000, 50_000,
        ),
    );
    check(
        &FRR_UP_FINAL_V6_MULTIHOP,
        f(
            0, Up, false, true, 4, 0xcce9c78b, 0x9e1f9e34, 200_000, 150_000, 50_000,
        ),
    );
    check(
        &FRR_UP_V4_MULTIHOP,
        f(
            0, Up, false, false, 4, 0xe127eb09, 0x7604d9d0, 200_000, 150_000, 50_000,
        ),
    );
}

#[test]
fn bird_authentication_sections() {
    use State::*;
    let r = check(
        &BIRD_DOWN_DIAG3_SIMPLE,
        f(
            3, Down, true, false, 3, 0x09cad91a, 0x504e4d22, 1_000_000, 100_000, 0,
        ),
    );
    let Some(Auth::SimplePassword { key_id, password }) = r.auth else {
        panic!("{:?}", r.auth)
    };
    assert_eq!((key_id, password.as_bytes()), (1, &b"s3cret"[..]));
    assert_eq!(r.diagnostic, Diagnostic::NeighborSignaledSessionDown);
    auth::verify(&BIRD_DOWN_DIAG3_SIMPLE, b"s3cret").unwrap();
    assert!(auth::verify(&BIRD_DOWN_DIAG3_SIMPLE, b"wrong").is_err());

    for (bytes, t, my, your, seq) in [
        (
            &BIRD_UP_KEYED_MD5[..],
            AuthType::KeyedMd5,
            0xd8558260,
            0xdba3b593,
            0x0fff7ec2,
        ),
        (
            &BIRD_UP_METICULOUS_MD5[..],
            AuthType::MeticulousKeyedMd5,
            0xa2d0d1ef,
            0x3fb6f183,
            0x1eb13a20,
        ),
        (
            &BIRD_UP_KEYED_SHA1[..],
            AuthType::KeyedSha1,
            0x74e1e281,
            0x2e84b1a9,
            0x2649610e,
        ),
        (
            &BIRD_UP_METICULOUS_SHA1[..],
            AuthType::MeticulousKeyedSha1,
            0xcadabb4f,
            0xe2c32e50,
            0xdeb44fe0,
        ),
    ] {
        let r = check(
            bytes,
            f(0, Up, false, false, 3, my, your, 100_000, 100_000, 0),
        );
        let a = r.auth.unwrap();
        assert_eq!(a.auth_type(), t);
        assert_eq!(a.key_id(), 1);
        assert_eq!(a.sequence(), Some(seq), "{t:?}");
        let p = Packet::new_checked(bytes).unwrap();
        assert_eq!(p.auth_type(), Some(t));
        assert_eq!(
            usize::from(p.auth_len().unwrap()),
            if matches!(t, AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5) {
                24
            } else {
                28
            }
        );
        auth::verify(bytes, b"s3cret").unwrap_or_else(|e| panic!("{t:?}: {e}"));
        assert!(auth::verify(bytes, b"s3creT").is_err(), "{t:?}");
        // Our signer computes BIRD's digest from the same packet.
        let mut again = bytes.to_vec();
        let n = again.len();
        again[n - 4..].fill(0);
        auth::sign(&mut again, b"s3cret").unwrap();
        assert_eq!(again, bytes, "{t:?}");
    }
}

/// BIRD's Down, then its Up with Poll, drive a session with the discriminator BIRD was talking
/// to: Init, then Up, and a Final goes back at once.
#[test]
fn captured_handshake_drives_a_session_up() {
    let t0 = Instant::now();
    let config = SessionConfig {
        desired_min_tx: Duration::from_millis(100),
        required_min_rx: Duration::from_millis(300),
        ..SessionConfig::default()
    };
    let mut s = Session::new(config, 0xceb9b2f9, 1, t0).unwrap();
    s.handle_packet(t0, &BIRD_DOWN_V4).unwrap();
    assert_eq!(s.state(), State::Init);
    s.handle_packet(t0, &BIRD_UP_V4).unwrap();
    assert_eq!(s.state(), State::Up);
    assert_eq!(s.detection_time(), Some(Duration::from_millis(1200)));
    let ev: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(ev.len(), 2);
    // FRR's Poll is answered with a Final (a session of FRR's discriminator pair).
    let mut s = Session::new(SessionConfig::default(), 0x393f08a9, 1, t0).unwrap();
    s.handle_packet(t0, &FRR_INIT_V4).unwrap();
    assert_eq!(s.state(), State::Up);
    s.handle_packet(t0, &FRR_UP_POLL_V4).unwrap();
    let out: Vec<Repr> = std::iter::from_fn(|| s.poll_transmit(t0))
        .map(|t| Repr::parse_bytes(t.as_bytes()).unwrap())
        .collect();
    assert!(out.iter().any(|r| r.final_ && !r.poll));
    // A keyed SHA1 session verifies BIRD's packet; a wrong key discards it.
    let keyed = |key: &[u8]| SessionConfig {
        auth: Some(AuthConfig {
            auth_type: AuthType::KeyedSha1,
            key_id: 1,
            key: key.to_vec(),
        }),
        ..SessionConfig::default()
    };
    let mut s = Session::new(keyed(b"s3cret"), 0x2e84b1a9, 1, t0).unwrap();
    s.handle_packet(t0, &BIRD_UP_KEYED_SHA1).unwrap();
    let mut s = Session::new(keyed(b"other"), 0x2e84b1a9, 1, t0).unwrap();
    assert!(s.handle_packet(t0, &BIRD_UP_KEYED_SHA1).is_err());
}
