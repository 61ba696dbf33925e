//! Entry points for the cargo-fuzz targets in `fuzz/` and for the corpus replay in
//! `cargo test`. Each takes arbitrary bytes and panics only if the codec breaks a promise:
//! a panic inside the decoder, or a decode → encode → decode round trip that changes the
//! message.

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use crate::codec::BgpCodec;
use crate::wire::header::{HEADER_LEN, MARKER};
use crate::wire::{
    AddPathFamilies, Afi, Context, Message, MessageRef, NotificationMessage, OpenMessage,
    RouteRefreshMessage, Safi, UpdateMessage,
};

/// A fuzz target: its name (the directory of its corpus) and its function.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name of the cargo-fuzz target and of `fuzz/corpus/<name>`.
    pub name: &'static str,
    /// The function the target calls.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "bgp_framing",
        run: framing,
    },
    Target {
        name: "bgp_open",
        run: open,
    },
    Target {
        name: "bgp_update",
        run: update,
    },
    Target {
        name: "bgp_notification",
        run: notification,
    },
    Target {
        name: "bgp_route_refresh",
        run: route_refresh,
    },
    Target {
        name: "bgp_roundtrip",
        run: roundtrip,
    },
    Target {
        name: "bgp_session",
        run: session,
    },
];

/// A context from one octet: bit 0 4-octet AS, bit 1 Extended Message, bits 2-5 ADD-PATH for
/// IPv4/IPv6 unicast/multicast, bit 6 an external peer.
pub fn context(b: u8) -> Context {
    let mut add_path = AddPathFamilies::default();
    for (bit, afi, safi) in [
        (4, Afi::IPV4, Safi::UNICAST),
        (8, Afi::IPV4, Safi::MULTICAST),
        (16, Afi::IPV6, Safi::UNICAST),
        (32, Afi::IPV6, Safi::MULTICAST),
    ] {
        if b & bit != 0 {
            add_path.insert(afi, safi);
        }
    }
    Context {
        four_octet_as: b & 1 != 0,
        extended_message: b & 2 != 0,
        add_path,
        external: b & 64 != 0,
    }
}

fn split_ctx(data: &[u8]) -> (Context, &[u8]) {
    match data.split_first() {
        Some((&b, rest)) => (context(b), rest),
        None => (Context::default(), data),
    }
}

/// Feeds a byte stream to [`BgpCodec`] in chunks (the first octet sets the context, the second
/// the chunk size) and parses every frame.
pub fn framing(data: &[u8]) {
    let (ctx, data) = split_ctx(data);
    let (chunk, data) = match data.split_first() {
        Some((&c, rest)) => (usize::from(c).max(1), rest),
        None => return,
    };
    let mut codec = BgpCodec::new(ctx);
    let mut buf = BytesMut::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(f)) => {
                    let _ = f.parse(&ctx);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

/// Parses an OPEN body.
pub fn open(data: &[u8]) {
    if let Ok(o) = OpenMessage::parse(data) {
        let _ = o.capabilities().count();
        let _ = o.asn();
    }
}

/// Parses an UPDATE body (first octet: context) and walks everything in it.
pub fn update(data: &[u8]) {
    let (ctx, data) = split_ctx(data);
    if let Ok(u) = UpdateMessage::parse(data, &ctx) {
        // Each field is read once, checked as it goes; a malformed one ends in one error.
        let malformed = |p: crate::wire::Prefixes<'_>| {
            let all: Vec<_> = p.collect();
            let errors = all.iter().filter(|r| r.is_err()).count();
            assert!(errors <= 1, "a prefix field yields at most one error");
            assert!(errors == 0 || all.last().is_some_and(|r| r.is_err()));
            errors == 1
        };
        let v4 = malformed(u.withdrawn_routes()) | malformed(u.nlri());
        let mp = u.mp_reach().is_some_and(|m| malformed(m.nlri()))
            | u.mp_unreach().is_some_and(|m| malformed(m.withdrawn()));
        for a in u.attributes() {
            let _ = format!("{:?}", a.value());
        }
        let _ = u.end_of_rib();
        // The owned copy checks the fields whole: it fails exactly when an IPv4 field is
        // malformed, or an MP one it copies (one with a next hop it parses).
        let owned = crate::wire::Update::try_from(&u);
        if v4 {
            assert!(owned.is_err(), "a malformed IPv4 prefix field is copied");
        }
        if owned.is_err() {
            assert!(v4 || mp, "the copy fails on fields the iterators accept");
        }
    }
}

/// Parses a NOTIFICATION body.
pub fn notification(data: &[u8]) {
    if let Ok(n) = NotificationMessage::parse(data) {
        let _ = n.error_code().to_string();
        let _ = n.shutdown_communication();
    }
}

/// Parses a ROUTE-REFRESH body.
pub fn route_refresh(data: &[u8]) {
    let _ = RouteRefreshMessage::parse(data);
}

/// Decode → encode → decode: the first octet sets the context, the second the message type;
/// the rest is the body, framed with a correct header. Whatever decodes must encode, and
/// decode again to the same owned message.
pub fn roundtrip(data: &[u8]) {
    let (ctx, data) = split_ctx(data);
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let total = HEADER_LEN + body.len();
    if total > ctx.max_message_len() {
        return;
    }
    let mut bytes = Vec::with_capacity(total);
    bytes.extend_from_slice(&MARKER);
    bytes.extend_from_slice(&(total as u16).to_be_bytes());
    bytes.push(kind % 6);
    bytes.extend_from_slice(body);
    let Ok(view) = MessageRef::parse(&bytes, &ctx) else {
        return;
    };
    // A malformed prefix field is found here, as the session finds it when it reads the field.
    let Ok(owned) = Message::try_from(&view) else {
        return;
    };
    let mut again = Vec::new();
    if let Err(e) = owned.encode(&ctx, &mut again) {
        panic!("decoded message does not encode: {e}: {owned:?}");
    }
    let view2 = match MessageRef::parse(&again, &ctx) {
        Ok(v) => v,
        Err(e) => panic!("re-encoded message does not decode: {e}: {owned:?}"),
    };
    assert_eq!(
        Message::try_from(&view2).ok(),
        Some(owned),
        "decode → encode → decode changed the message"
    );
}

/// A cursor over fuzz input: every read past the end gives zeros.
struct Script<'a>(&'a [u8]);

impl Script<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The OPEN a scripted peer sends: AS, hold time and capabilities chosen by `b`.
fn script_open(peer_as: u32, b: u8, hold: u8) -> Vec<u8> {
    use crate::wire::{Capability, Open};
    let mut caps = Vec::new();
    if b & 1 != 0 {
        caps.push(Capability::Multiprotocol {
            afi: Afi::IPV4,
            safi: Safi::UNICAST,
        });
    }
    if b & 2 != 0 {
        caps.push(Capability::Multiprotocol {
            afi: Afi::IPV6,
            safi: Safi::UNICAST,
        });
    }
    if b & 4 != 0 {
        caps.push(Capability::RouteRefresh);
    }
    if b & 8 != 0 {
        caps.push(Capability::ExtendedMessage);
    }
    let mut open = Open::new(
        if b & 16 != 0 { peer_as ^ 1 } else { peer_as },
        u16::from(hold),
        std::net::Ipv4Addr::new(10, 0, 0, 2 + (b >> 7)),
        caps,
    );
    if b & 32 != 0 {
        // A 2-octet-only speaker.
        open.parameters.iter_mut().for_each(|p| {
            p.retain(|c| !matches!(c, Capability::FourOctetAs(_)));
        });
    }
    let mut v = Vec::new();
    let _ = open.encode(&mut v);
    v
}

/// An UPDATE of `n` prefixes from a scripted peer (IPv4 NLRI or IPv6 MP_REACH_NLRI), or a
/// withdrawal of them.
fn script_update(n: u8, v6: bool, withdraw: bool, seed: u32) -> Vec<u8> {
    use crate::wire::{AsPath, Attribute, AttributeData, MpReach, MpUnreach, Nlri, Origin, Update};
    use ipnet::IpNet;
    let prefixes: crate::wire::PrefixList = (0..u32::from(n))
        .map(|i| {
            let x = seed.wrapping_add(i);
            let p = if v6 {
                IpNet::new(
                    std::net::Ipv6Addr::from((0x2001_0db8u128 << 96) | u128::from(x)).into(),
                    128,
                )
            } else {
                IpNet::new(std::net::Ipv4Addr::from(x).into(), 32)
            };
            Nlri::new(p.unwrap_or_default())
        })
        .collect();
    let mut u = Update::default();
    if withdraw {
        if v6 {
            u.attributes
                .push(Attribute::new(AttributeData::MpUnreach(MpUnreach {
                    afi: Afi::IPV6,
                    safi: Safi::UNICAST,
                    withdrawn: prefixes,
                })));
        } else {
            u.withdrawn = prefixes;
        }
    } else {
        u.attributes
            .push(Attribute::new(AttributeData::Origin(Origin::Igp)));
        u.attributes
            .push(Attribute::new(AttributeData::AsPath(AsPath::sequence([
                65002,
            ]))));
        if v6 {
            u.attributes
                .push(Attribute::new(AttributeData::MpReach(Box::new(MpReach {
                    afi: Afi::IPV6,
                    safi: Safi::UNICAST,
                    next_hop: crate::wire::MpNextHop::Ipv6 {
                        global: std::net::Ipv6Addr::LOCALHOST,
                        link_local: None,
                    },
                    nlri: prefixes,
                }))));
        } else {
            u.attributes.push(Attribute::new(AttributeData::NextHop(
                std::net::Ipv4Addr::new(192, 0, 2, 2),
            )));
            u.nlri = prefixes;
        }
    }
    let mut v = Vec::new();
    let _ = u.encode_split(&Context::four_octet(), &mut v);
    v
}

/// Drives a [`Session`](crate::session::Session) with a script of inputs (start, stop,
/// connections opening and failing, raw octets, well-formed peer messages, time passing, route
/// changes, drains) and checks after each step that nothing panicked, every octet the session
/// sent is a sequence of whole, well-framed messages, and its observable state is consistent.
pub fn session(data: &[u8]) {
    use crate::session::{ConnId, Direction, Output, Route, Session, SessionConfig, State};
    use crate::wire::header::frame;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use std::time::{Duration, Instant};

    let mut s = Script(data);
    let flags = s.byte();
    let ibgp = flags & 1 != 0;
    let mut config = SessionConfig::new(
        if flags & 2 != 0 { 4_200_000_001 } else { 65001 },
        if ibgp { 65001 } else { 65002 },
        Ipv4Addr::new(10, 0, 0, 1),
    );
    if ibgp {
        config.peer_as = config.local_as;
    }
    config.passive = flags & 4 != 0;
    config.hold_time = u16::from(s.byte());
    config.ipv4_over_mp = flags & 8 != 0;
    config.extended_message = flags & 16 != 0;
    config.max_received_prefixes = usize::from(s.byte()) * 4;
    if flags & 32 != 0 {
        config.graceful_restart = Some(crate::session::GracefulRestart::default());
    }
    if flags & 64 != 0 {
        config.next_hop_v6 = Some(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    }
    let peer_as = config.peer_as;
    let base = Instant::now();
    let mut now = base;
    let mut session = Session::new(config, u64::from(flags), now);
    let mut next_conn = 0u64;
    let mut conns: Vec<ConnId> = Vec::new();
    let mut last = Vec::new();
    let mut steps = 0;
    while !s.is_empty() && steps < 512 {
        steps += 1;
        let op = s.byte();
        let pick =
            |conns: &[ConnId], b: u8| conns.get(usize::from(b) % conns.len().max(1)).copied();
        match op % 20 {
            0 => session.start(now),
            1 => {
                let n = usize::from(s.byte() % 40);
                let text = String::from_utf8_lossy(s.bytes(n)).into_owned();
                session.stop(now, &text);
            }
            2 | 3 => {
                next_conn += 1;
                let id = ConnId(next_conn);
                let b = s.byte();
                let (local, remote): (IpAddr, IpAddr) = match b % 3 {
                    0 => (
                        Ipv4Addr::new(192, 0, 2, 1).into(),
                        Ipv4Addr::new(192, 0, 2, 2).into(),
                    ),
                    1 => (
                        "2001:db8::1".parse().unwrap_or(Ipv6Addr::LOCALHOST.into()),
                        Ipv6Addr::LOCALHOST.into(),
                    ),
                    _ => (
                        "fe80::1".parse().unwrap_or(Ipv6Addr::LOCALHOST.into()),
                        Ipv6Addr::LOCALHOST.into(),
                    ),
                };
                let dir = if op % 20 == 2 {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                };
                conns.push(id);
                session.connected(
                    now,
                    id,
                    SocketAddr::new(local, 179),
                    SocketAddr::new(remote, 40000),
                    dir,
                );
            }
            4 => session.connect_failed(now),
            5 => {
                let c = s.byte();
                let n = usize::from(s.byte());
                let bytes = s.bytes(n).to_vec();
                if let Some(c) = pick(&conns, c) {
                    session.received(now, c, &bytes);
                }
            }
            6 => {
                if let Some(c) = pick(&conns, s.byte()) {
                    session.closed(now, c);
                }
            }
            7 => {
                let b = s.byte();
                let d = if b & 0x80 != 0 {
                    Duration::from_secs(u64::from(b & 0x7f) * 10)
                } else {
                    Duration::from_millis(u64::from(b) * 100)
                };
                now += d;
                session.handle_timeout(now);
            }
            8..=12 => {
                let c = s.byte();
                let a = s.byte();
                let b = s.byte();
                let msg = match op % 20 {
                    8 => script_open(peer_as, a, b),
                    9 => {
                        let mut v = Vec::new();
                        let _ = Message::Keepalive.encode(&Context::default(), &mut v);
                        v
                    }
                    10 => script_update(b % 64, a & 1 != 0, a & 2 != 0, s.u32()),
                    11 => {
                        let r = crate::wire::RouteRefresh::new(
                            Afi(u16::from(a % 3)),
                            Safi(1),
                            crate::wire::RefreshSubtype::from(b % 3),
                        );
                        let mut v = Vec::new();
                        let _ = r.encode(&mut v);
                        v
                    }
                    _ => {
                        let n = crate::wire::Notification {
                            code: a % 9,
                            subcode: b % 12,
                            data: vec![],
                        };
                        let mut v = Vec::new();
                        let _ = n.encode(&mut v);
                        v
                    }
                };
                if let Some(c) = pick(&conns, c) {
                    session.received(now, c, &msg);
                }
                last = msg;
            }
            13 | 14 => {
                let v6 = s.byte() & 1 != 0;
                let x = s.u32();
                let len = s.byte();
                let prefix = if v6 {
                    ipnet::IpNet::new(
                        Ipv6Addr::from((0x2001_0db8u128 << 96) | u128::from(x)).into(),
                        len % 129,
                    )
                } else {
                    ipnet::IpNet::new(Ipv4Addr::from(x).into(), len % 33)
                };
                let Ok(prefix) = prefix else { continue };
                if op % 20 == 13 {
                    let b = s.byte();
                    let attrs = crate::session::RouteAttributes {
                        next_hop: (b & 1 != 0).then(|| Ipv4Addr::new(192, 0, 2, 9).into()),
                        communities: (0..b % 4)
                            .map(|i| crate::wire::Community(u32::from(i)))
                            .collect(),
                        local_pref: (b & 8 != 0).then_some(u32::from(b)),
                        med: (b & 16 != 0).then_some(7),
                        ..Default::default()
                    };
                    session.announce(
                        now,
                        Route::with_attributes(prefix, std::sync::Arc::new(attrs)),
                    );
                } else {
                    session.withdraw(now, prefix);
                }
            }
            15 => {
                let n = u32::from(s.byte()) * 8;
                let seed = s.u32();
                let routes = (0..n).filter_map(|i| {
                    ipnet::IpNet::new(Ipv4Addr::from(seed.wrapping_add(i)).into(), 32)
                        .ok()
                        .map(Route::new)
                });
                session.set_routes(now, routes);
            }
            16 => session.drain(now, Duration::from_secs(u64::from(s.byte()))),
            17 => session.cancel_drain(now),
            18 => session.request_refresh(now, Afi(u16::from(s.byte() % 3)), Safi::UNICAST),
            _ => {
                // The last scripted message with one octet changed.
                let c = s.byte();
                let at = usize::from(s.byte());
                let v = s.byte();
                let mut m = last.clone();
                if let Some(x) = m.get_mut(at) {
                    *x = v;
                }
                if let Some(c) = pick(&conns, c) {
                    session.received(now, c, &m);
                }
            }
        }
        while let Some(action) = session.poll_output() {
            match action {
                Output::Send { bytes, .. } => {
                    // UPDATEs are built while polling, with the session's current
                    // negotiation: they must decode cleanly with it.
                    let ctx = session.negotiated().map(|n| Context {
                        four_octet_as: n.four_octet_as,
                        extended_message: n.extended_message,
                        external: crate::wire::PeerKind::of(
                            session.config().local_as,
                            n.peer_as,
                            crate::wire::Confederation::Outside,
                        )
                        .is_external(),
                        ..Context::default()
                    });
                    let mut rest = &bytes[..];
                    while !rest.is_empty() {
                        match frame(rest, 65535) {
                            Ok(Some((kind, len))) => {
                                if let (crate::wire::MessageType::Update, Some(ctx)) = (kind, &ctx)
                                {
                                    match MessageRef::parse(&rest[..len], ctx) {
                                        Ok(MessageRef::Update(u)) => assert!(
                                            u.attribute_error().is_none(),
                                            "the session sent a faulty UPDATE: {:?}",
                                            u.attribute_error()
                                        ),
                                        other => panic!("the session sent a bad UPDATE: {other:?}"),
                                    }
                                }
                                rest = &rest[len..];
                            }
                            other => panic!("the session sent a broken message: {other:?}"),
                        }
                    }
                }
                Output::Close { conn } => conns.retain(|c| *c != conn),
                _ => {}
            }
        }
        let stats = session.stats();
        assert_eq!(stats.state, session.state());
        assert_eq!(
            session.state() == State::Established,
            session.negotiated().is_some()
        );
        if let Some(d) = session.poll_timeout() {
            assert!(d >= base);
        }
    }
}
