//! HashiCorp memberlist's wire format, protocol versions 2 to 5.
//!
//! A UDP packet, outermost first:
//!
//! ```text
//! [ 244 | len u8 | label ]          optional label header (label.go); never encrypted
//! [ vsn | nonce 12 | ciphertext+tag ]  when a keyring is set: see `crate::security`
//! [ 12 | crc32 be u32 ]             optional CRC header (to peers speaking protocol 5)
//! [ type u8 | msgpack body ]        one message, or
//! [ 7 | n u8 | n × len be u16 | parts ]  a compound of n messages
//! ```
//!
//! A TCP stream carries the optional label header, then either `[10 | len be u32 | envelope]`
//! when encrypted, or one message: push-pull (`6`, a header map, that many node-state maps,
//! then raw user state), a user message (`8`, a length map, raw bytes), a ping (`0`), or an
//! error (`13`); any of them possibly inside a `compress` message (`9`).
//!
//! [`Message::decode`] never panics and allocates no more than the input's length: every count
//! and length is checked against the bytes left before use.

pub mod lzw;
mod message;
pub(crate) mod msgpack;

pub use message::{
    Ack, Alive, Compress, Dead, ErrorResponse, IndirectPing, Nack, NodeState, Ping, PushNodeState,
    PushPullHeader, Suspect, UserMsgHeader,
};

use crate::Error;
use msgpack::{Reader, Writer};

/// How many messages one compound holds at most (its count is one byte).
pub const MAX_COMPOUND_PARTS: usize = 255;
/// How deep compound and CRC wrappers may nest inside one another before decoding gives up.
pub const MAX_NESTING: u32 = 4;
/// Go's cap on the node states in one push-pull (`maxPushStateNodes`).
pub const MAX_PUSH_STATE_NODES: u32 = 1024 * 1024;
/// Go's cap on push-pull bytes and user state (`maxPushStateBytes`).
pub const MAX_PUSH_STATE_BYTES: u32 = 20 * 1024 * 1024;
/// The longest label (`LabelMaxSize`).
pub const MAX_LABEL_LEN: usize = 255;
/// The first byte of a label header (`hasLabelMsg`).
pub const LABEL_HEADER: u8 = 244;

/// The message type byte (`messageType` in Go; the values are part of the protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 0: `pingMsg`.
    Ping,
    /// 1: `indirectPingMsg`.
    IndirectPing,
    /// 2: `ackRespMsg`.
    Ack,
    /// 3: `suspectMsg`.
    Suspect,
    /// 4: `aliveMsg`.
    Alive,
    /// 5: `deadMsg`.
    Dead,
    /// 6: `pushPullMsg`.
    PushPull,
    /// 7: `compoundMsg`.
    Compound,
    /// 8: `userMsg`.
    User,
    /// 9: `compressMsg`.
    Compress,
    /// 10: `encryptMsg` (streams only).
    Encrypt,
    /// 11: `nackRespMsg`.
    Nack,
    /// 12: `hasCrcMsg`.
    HasCrc,
    /// 13: `errMsg`.
    Err,
    /// 244: `hasLabelMsg`.
    HasLabel,
    /// Anything else.
    Unknown(u8),
}

impl From<u8> for MessageType {
    fn from(b: u8) -> Self {
        match b {
            0 => Self::Ping,
            1 => Self::IndirectPing,
            2 => Self::Ack,
            3 => Self::Suspect,
            4 => Self::Alive,
            5 => Self::Dead,
            6 => Self::PushPull,
            7 => Self::Compound,
            8 => Self::User,
            9 => Self::Compress,
            10 => Self::Encrypt,
            11 => Self::Nack,
            12 => Self::HasCrc,
            13 => Self::Err,
            244 => Self::HasLabel,
            b => Self::Unknown(b),
        }
    }
}

impl From<MessageType> for u8 {
    fn from(t: MessageType) -> Self {
        match t {
            MessageType::Ping => 0,
            MessageType::IndirectPing => 1,
            MessageType::Ack => 2,
            MessageType::Suspect => 3,
            MessageType::Alive => 4,
            MessageType::Dead => 5,
            MessageType::PushPull => 6,
            MessageType::Compound => 7,
            MessageType::User => 8,
            MessageType::Compress => 9,
            MessageType::Encrypt => 10,
            MessageType::Nack => 11,
            MessageType::HasCrc => 12,
            MessageType::Err => 13,
            MessageType::HasLabel => 244,
            MessageType::Unknown(b) => b,
        }
    }
}

impl Compress {
    /// The payload, decompressed (LZW is the only algorithm, `0`), at most `max_out` bytes;
    /// Go's own cap is [`lzw::MAX_DECOMPRESSED_BYTES`].
    pub fn decompress(&self, max_out: usize) -> Result<Vec<u8>, Error> {
        if self.algo != 0 {
            return Err(Error::Compression("unknown algorithm"));
        }
        lzw::decompress(&self.buf, max_out)
    }
}

/// A full push-pull exchange body: header, node states, user state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PushPull {
    /// A join rather than periodic anti-entropy.
    pub join: bool,
    /// Every member as the sender sees it.
    pub nodes: Vec<PushNodeState>,
    /// The delegate's opaque state (serf: its own msgpack).
    pub user_state: Vec<u8>,
}

/// One memberlist message with its type byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A direct (or, over TCP, fallback) probe.
    Ping(Ping),
    /// A request to probe on the sender's behalf.
    IndirectPing(IndirectPing),
    /// A probe's answer.
    Ack(Ack),
    /// An indirect probe that failed.
    Nack(Nack),
    /// A suspicion.
    Suspect(Suspect),
    /// An alive announcement.
    Alive(Alive),
    /// A death or leave announcement.
    Dead(Dead),
    /// A state exchange (streams).
    PushPull(PushPull),
    /// Opaque delegate bytes, passed through. In a packet the bytes simply follow the type
    /// byte; in a stream a [`UserMsgHeader`] gives their length.
    User(Vec<u8>),
    /// Several messages in one packet.
    Compound(Vec<Message>),
    /// A message behind a CRC-32 (IEEE) checksum of its bytes.
    Checksummed(Box<Message>),
    /// A compressed payload; [`Compress::decompress`] gives the message inside.
    Compressed(Compress),
    /// An error from the remote end of a stream.
    Error(ErrorResponse),
}

/// Where a message travels: the framing of user messages differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A UDP packet: the bytes end where the packet ends.
    Packet,
    /// A TCP stream: lengths come from headers, and trailing bytes are an error.
    Stream,
}

impl Message {
    /// Its type byte.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Ping(_) => MessageType::Ping,
            Self::IndirectPing(_) => MessageType::IndirectPing,
            Self::Ack(_) => MessageType::Ack,
            Self::Nack(_) => MessageType::Nack,
            Self::Suspect(_) => MessageType::Suspect,
            Self::Alive(_) => MessageType::Alive,
            Self::Dead(_) => MessageType::Dead,
            Self::PushPull(_) => MessageType::PushPull,
            Self::User(_) => MessageType::User,
            Self::Compound(_) => MessageType::Compound,
            Self::Checksummed(_) => MessageType::HasCrc,
            Self::Compressed(_) => MessageType::Compress,
            Self::Error(_) => MessageType::Err,
        }
    }

    /// Decodes one message from a UDP packet (label and encryption already removed).
    pub fn decode(buf: &[u8]) -> Result<Self, Error> {
        Self::decode_at(buf, Transport::Packet, 0)
    }

    /// Decodes one message read from a stream (label and encryption already removed).
    pub fn decode_stream(buf: &[u8]) -> Result<Self, Error> {
        Self::decode_at(buf, Transport::Stream, 0)
    }

    fn decode_at(buf: &[u8], transport: Transport, depth: u32) -> Result<Self, Error> {
        let (&ty, body) = buf.split_first().ok_or(Error::Truncated)?;
        let mut r = Reader::new(body);
        let msg = match MessageType::from(ty) {
            MessageType::Ping => Self::Ping(Ping::read(&mut r)?),
            MessageType::IndirectPing => Self::IndirectPing(IndirectPing::read(&mut r)?),
            MessageType::Ack => Self::Ack(Ack::read(&mut r)?),
            MessageType::Nack => Self::Nack(Nack::read(&mut r)?),
            MessageType::Suspect => Self::Suspect(Suspect::read(&mut r)?),
            MessageType::Alive => Self::Alive(Alive::read(&mut r)?),
            MessageType::Dead => Self::Dead(Dead::read(&mut r)?),
            MessageType::Err => Self::Error(ErrorResponse::read(&mut r)?),
            MessageType::Compress => Self::Compressed(Compress::read(&mut r)?),
            MessageType::PushPull => {
                let header = PushPullHeader::read(&mut r)?;
                if header.nodes > MAX_PUSH_STATE_NODES {
                    return Err(Error::Limit("push-pull node count"));
                }
                if header.user_state_len > MAX_PUSH_STATE_BYTES {
                    return Err(Error::Limit("push-pull user state"));
                }
                // No allocation from the header's count: each state takes at least one byte.
                if header.nodes as usize > r.rest().len() {
                    return Err(Error::Truncated);
                }
                let mut nodes = Vec::new();
                for _ in 0..header.nodes {
                    nodes.push(PushNodeState::read(&mut r)?);
                }
                let rest = r.rest();
                let n = header.user_state_len as usize;
                let user_state = rest.get(..n).ok_or(Error::Truncated)?.to_vec();
                r = Reader::new(rest.get(n..).unwrap_or_default());
                Self::PushPull(PushPull {
                    join: header.join,
                    nodes,
                    user_state,
                })
            }
            MessageType::User => match transport {
                Transport::Packet => return Ok(Self::User(body.to_vec())),
                Transport::Stream => {
                    let header = UserMsgHeader::read(&mut r)?;
                    let rest = r.rest();
                    let n = header.user_msg_len as usize;
                    let user = rest.get(..n).ok_or(Error::Truncated)?.to_vec();
                    r = Reader::new(rest.get(n..).unwrap_or_default());
                    Self::User(user)
                }
            },
            MessageType::Compound => {
                if depth >= MAX_NESTING {
                    return Err(Error::Limit("nesting"));
                }
                // Parts cut off by the end of the packet are dropped, as Go does.
                let (parts, _truncated) = split_compound(body)?;
                let mut msgs = Vec::with_capacity(parts.len());
                for part in parts {
                    msgs.push(Self::decode_at(part, transport, depth + 1)?);
                }
                return Ok(Self::Compound(msgs));
            }
            MessageType::HasCrc => {
                if depth >= MAX_NESTING {
                    return Err(Error::Limit("nesting"));
                }
                let inner = check_crc(buf)?;
                return Ok(Self::Checksummed(Box::new(Self::decode_at(
                    inner,
                    transport,
                    depth + 1,
                )?)));
            }
            MessageType::Encrypt => return Err(Error::Encrypted),
            MessageType::HasLabel => return Err(Error::UnexpectedLabel),
            MessageType::Unknown(b) => return Err(Error::UnknownType(b)),
        };
        if transport == Transport::Stream && !r.rest().is_empty() {
            return Err(Error::TrailingBytes(r.rest().len()));
        }
        Ok(msg)
    }

    /// Encodes for a UDP packet.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        self.encode_for(Transport::Packet)
    }

    /// Encodes for a stream.
    pub fn encode_stream(&self) -> Result<Vec<u8>, Error> {
        self.encode_for(Transport::Stream)
    }

    fn encode_for(&self, transport: Transport) -> Result<Vec<u8>, Error> {
        let mut w = Writer::default();
        w.buf.push(self.message_type().into());
        match self {
            Self::Ping(m) => m.write(&mut w),
            Self::IndirectPing(m) => m.write(&mut w),
            Self::Ack(m) => m.write(&mut w),
            Self::Nack(m) => m.write(&mut w),
            Self::Suspect(m) => m.write(&mut w),
            Self::Alive(m) => m.write(&mut w),
            Self::Dead(m) => m.write(&mut w),
            Self::Error(m) => m.write(&mut w),
            Self::Compressed(m) => m.write(&mut w),
            Self::PushPull(p) => {
                let header = PushPullHeader {
                    join: p.join,
                    nodes: u32::try_from(p.nodes.len())
                        .ok()
                        .filter(|&n| n <= MAX_PUSH_STATE_NODES)
                        .ok_or(Error::Limit("push-pull node count"))?,
                    user_state_len: u32::try_from(p.user_state.len())
                        .ok()
                        .filter(|&n| n <= MAX_PUSH_STATE_BYTES)
                        .ok_or(Error::Limit("push-pull user state"))?,
                };
                header.write(&mut w);
                for n in &p.nodes {
                    n.write(&mut w);
                }
                w.buf.extend_from_slice(&p.user_state);
            }
            Self::User(bytes) => {
                if transport == Transport::Stream {
                    let len =
                        u32::try_from(bytes.len()).map_err(|_| Error::Limit("user message"))?;
                    UserMsgHeader { user_msg_len: len }.write(&mut w);
                }
                w.buf.extend_from_slice(bytes);
            }
            Self::Compound(msgs) => {
                let parts = msgs
                    .iter()
                    .map(|m| m.encode_for(transport))
                    .collect::<Result<Vec<_>, _>>()?;
                return make_compound(&parts);
            }
            Self::Checksummed(inner) => return Ok(add_crc(&inner.encode_for(transport)?)),
        }
        Ok(w.buf)
    }
}

/// Builds a compound message (`7`, count, big-endian u16 lengths, parts) from encoded messages.
pub fn make_compound(parts: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    if parts.len() > MAX_COMPOUND_PARTS {
        return Err(Error::Limit("compound parts"));
    }
    let total: usize = parts.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(2 + 2 * parts.len() + total);
    out.push(MessageType::Compound.into());
    out.push(parts.len() as u8);
    for p in parts {
        let len = u16::try_from(p.len()).map_err(|_| Error::Limit("compound part"))?;
        out.extend_from_slice(&len.to_be_bytes());
    }
    for p in parts {
        out.extend_from_slice(p);
    }
    Ok(out)
}

/// Splits a compound body (after the type byte) into its complete parts, and counts the parts
/// that the end of the body cut off. As in Go's memberlist, a body too short for its table of
/// lengths is an error, while parts missing from the data are only counted: Go logs them and
/// handles the complete ones.
pub fn split_compound(body: &[u8]) -> Result<(Vec<&[u8]>, usize), Error> {
    let (&n, rest) = body.split_first().ok_or(Error::Truncated)?;
    let n = usize::from(n);
    let lens = rest.get(..2 * n).ok_or(Error::Truncated)?;
    let mut data = rest.get(2 * n..).unwrap_or_default();
    let mut parts = Vec::with_capacity(n);
    for len in lens.chunks_exact(2) {
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if data.len() < len {
            let cut = n - parts.len();
            return Ok((parts, cut));
        }
        let (part, tail) = data.split_at(len);
        parts.push(part);
        data = tail;
    }
    Ok((parts, 0))
}

/// Prefixes `msg` with a CRC header: `12`, then the CRC-32 (IEEE) of `msg`, big-endian.
pub fn add_crc(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + msg.len());
    out.push(MessageType::HasCrc.into());
    out.extend_from_slice(&crc32(msg).to_be_bytes());
    out.extend_from_slice(msg);
    out
}

/// Checks a CRC-wrapped message (starting with its `12` byte) and returns what it covers.
pub fn check_crc(buf: &[u8]) -> Result<&[u8], Error> {
    if buf.len() < 5 {
        return Err(Error::Truncated);
    }
    let (head, msg) = buf.split_at(5);
    let expected = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    let got = crc32(msg);
    if got != expected {
        return Err(Error::Checksum { expected, got });
    }
    Ok(msg)
}

/// CRC-32/IEEE (the polynomial of Go's `crc32.ChecksumIEEE`), bitwise: packets are small.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc = (crc >> 8) ^ CRC_TABLE[usize::from((crc as u8) ^ b)];
    }
    !crc
}

/// The byte-at-a-time table of the reflected IEEE polynomial, built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut k = 0;
        while k < 8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
            k += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Prefixes a packet or stream with a label header (`244`, length, label). An empty label adds
/// nothing, as in Go.
pub fn add_label(label: &[u8], buf: &[u8]) -> Result<Vec<u8>, Error> {
    if label.is_empty() {
        return Ok(buf.to_vec());
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(Error::Limit("label"));
    }
    let mut out = Vec::with_capacity(2 + label.len() + buf.len());
    out.push(LABEL_HEADER);
    out.push(label.len() as u8);
    out.extend_from_slice(label);
    out.extend_from_slice(buf);
    Ok(out)
}

/// Splits off a label header if there is one: `(label, rest)`, the label empty when absent.
/// A present but empty label is an error, as in Go.
pub fn strip_label(buf: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    match buf {
        [LABEL_HEADER, 0, ..] => Err(Error::EmptyLabel),
        [LABEL_HEADER, n, rest @ ..] => {
            let n = usize::from(*n);
            if rest.len() < n {
                return Err(Error::Truncated);
            }
            Ok(rest.split_at(n))
        }
        [LABEL_HEADER] => Err(Error::Truncated),
        _ => Ok((&[], buf)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn type_bytes_match_go() {
        for b in 0..=255u8 {
            assert_eq!(u8::from(MessageType::from(b)), b);
        }
        assert_eq!(MessageType::from(12), MessageType::HasCrc);
        assert_eq!(MessageType::from(244), MessageType::HasLabel);
        assert_eq!(MessageType::from(14), MessageType::Unknown(14));
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn labels() {
        let l = add_label(b"dc1", &[0, 0x80]).unwrap();
        assert_eq!(l, [244, 3, b'd', b'c', b'1', 0, 0x80]);
        assert_eq!(strip_label(&l).unwrap(), (&b"dc1"[..], &[0u8, 0x80][..]));
        assert_eq!(strip_label(&[0]).unwrap(), (&[][..], &[0u8][..]));
        assert_eq!(strip_label(&[244, 0]), Err(Error::EmptyLabel));
        assert_eq!(strip_label(&[244, 5, 1]), Err(Error::Truncated));
        assert!(add_label(&[b'x'; 256], &[]).is_err());
    }

    #[test]
    fn compound_errors() {
        assert_eq!(split_compound(&[]), Err(Error::Truncated));
        assert_eq!(
            split_compound(&[2, 0, 1]),
            Err(Error::Truncated),
            "length table cut"
        );
        assert_eq!(split_compound(&[1, 0, 2, 0]), Ok((vec![], 1)));
        assert_eq!(split_compound(&[0]), Ok((vec![], 0)));
        // Like Go: the complete parts of a truncated compound are kept, the rest counted.
        let cut: &[u8] = &[3, 0, 1, 0, 2, 0, 1, 9, 8];
        assert_eq!(split_compound(cut), Ok((vec![&[9u8][..]], 2)));
    }

    #[test]
    fn nesting_is_bounded() {
        // A compound holding a compound holding … one ping.
        let mut m = Message::Nack(Nack { seq_no: 1 });
        for _ in 0..=MAX_NESTING {
            m = Message::Compound(vec![m]);
        }
        let bytes = m.encode().unwrap();
        assert_eq!(Message::decode(&bytes), Err(Error::Limit("nesting")));
    }

    #[test]
    fn push_pull_counts_are_checked_before_allocating() {
        // Header claims a million nodes in a 30-byte buffer.
        let mut w = Writer::default();
        w.buf.push(6);
        PushPullHeader {
            join: false,
            nodes: MAX_PUSH_STATE_NODES,
            user_state_len: 0,
        }
        .write(&mut w);
        assert_eq!(Message::decode_stream(&w.buf), Err(Error::Truncated));
    }
}
