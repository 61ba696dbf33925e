//! The message header and framing (RFC 4271 §4.1, RFC 8654 for the larger maximum).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                           Marker (all ones)                   |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::Error;

/// Octets in the header.
pub const HEADER_LEN: usize = 19;
/// Largest message without the Extended Message capability (RFC 4271).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Largest message once Extended Message is negotiated (RFC 8654).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;
/// The marker: 16 octets of ones.
pub const MARKER: [u8; 16] = [0xff; 16];

pub(crate) mod field {
    use std::ops::Range;
    pub(crate) const MARKER: Range<usize> = 0..16;
    pub(crate) const LENGTH: Range<usize> = 16..18;
    pub(crate) const TYPE: usize = 18;
}

/// The type octet of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// OPEN (1).
    Open,
    /// UPDATE (2).
    Update,
    /// NOTIFICATION (3).
    Notification,
    /// KEEPALIVE (4).
    Keepalive,
    /// ROUTE-REFRESH (5, RFC 2918).
    RouteRefresh,
}

impl MessageType {
    /// Parses the type octet; any other value is Bad Message Type.
    pub fn from_u8(t: u8) -> Result<Self, Error> {
        Ok(match t {
            1 => MessageType::Open,
            2 => MessageType::Update,
            3 => MessageType::Notification,
            4 => MessageType::Keepalive,
            5 => MessageType::RouteRefresh,
            t => return Err(Error::BadMessageType(t)),
        })
    }

    /// The type octet.
    pub fn to_u8(self) -> u8 {
        match self {
            MessageType::Open => 1,
            MessageType::Update => 2,
            MessageType::Notification => 3,
            MessageType::Keepalive => 4,
            MessageType::RouteRefresh => 5,
        }
    }

    /// The length range RFC 4271 §6.1 (and RFC 2918 for ROUTE-REFRESH) allows for the type,
    /// header included, before the negotiated maximum applies.
    fn min_len(self) -> usize {
        match self {
            MessageType::Open => 29,
            MessageType::Update => 23,
            MessageType::Notification => 21,
            MessageType::Keepalive => 19,
            MessageType::RouteRefresh => 23,
        }
    }
}

/// Looks at the start of a byte stream. Returns `Ok(None)` until a whole message is there, then
/// its type and total length (header included). Checks the marker, the length against
/// `max_len` and the per-type minimum, and the type (RFC 4271 §6.1). Never reads past `buf`.
pub fn frame(buf: &[u8], max_len: usize) -> Result<Option<(MessageType, usize)>, Error> {
    let Some(head) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if head[field::MARKER] != MARKER {
        return Err(Error::ConnectionNotSynchronized);
    }
    let len = u16::from_be_bytes([head[field::LENGTH.start], head[field::LENGTH.start + 1]]);
    let kind = MessageType::from_u8(head[field::TYPE])?;
    let n = usize::from(len);
    if n < kind.min_len() || n > max_len || (kind == MessageType::Keepalive && n != HEADER_LEN) {
        return Err(Error::BadMessageLength(len));
    }
    if buf.len() < n {
        return Ok(None);
    }
    Ok(Some((kind, n)))
}

/// Writes a header for a message of `len` octets in total.
pub(crate) fn write_header(dst: &mut Vec<u8>, kind: MessageType, len: u16) {
    dst.extend_from_slice(&MARKER);
    dst.extend_from_slice(&len.to_be_bytes());
    dst.push(kind.to_u8());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEEPALIVE: [u8; 19] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0, 19, 4,
    ];

    #[test]
    fn framing() {
        assert_eq!(frame(&KEEPALIVE[..18], 4096), Ok(None));
        assert_eq!(
            frame(&KEEPALIVE, 4096),
            Ok(Some((MessageType::Keepalive, 19)))
        );
        let mut bad = KEEPALIVE;
        bad[0] = 0;
        assert_eq!(frame(&bad, 4096), Err(Error::ConnectionNotSynchronized));
        let mut bad = KEEPALIVE;
        bad[17] = 20;
        assert_eq!(frame(&bad, 4096), Err(Error::BadMessageLength(20)));
        let mut bad = KEEPALIVE;
        bad[18] = 9;
        assert_eq!(frame(&bad, 4096), Err(Error::BadMessageType(9)));
        let mut big = KEEPALIVE;
        big[16] = 0x10;
        big[17] = 1;
        big[18] = 2;
        assert_eq!(frame(&big, 4096), Err(Error::BadMessageLength(4097)));
        assert_eq!(frame(&big, 65535), Ok(None));
    }
}
