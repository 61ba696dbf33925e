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
        let _ = u.withdrawn_routes().count() + u.nlri().count();
        for a in u.attributes() {
            let _ = format!("{:?}", a.value());
        }
        let _ = u.end_of_rib();
        let _ = crate::wire::Update::from(&u);
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
    let owned = Message::from(&view);
    let mut again = Vec::new();
    if let Err(e) = owned.encode(&ctx, &mut again) {
        panic!("decoded message does not encode: {e}: {owned:?}");
    }
    let view2 = match MessageRef::parse(&again, &ctx) {
        Ok(v) => v,
        Err(e) => panic!("re-encoded message does not decode: {e}: {owned:?}"),
    };
    assert_eq!(
        Message::from(&view2),
        owned,
        "decode → encode → decode changed the message"
    );
}
