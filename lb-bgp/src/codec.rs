//! A tokio-util [`Decoder`]/[`Encoder`] that cuts a TCP byte stream into BGP messages.
//!
//! The decoder yields whole messages as [`Bytes`] without copying them (they are split off the
//! read buffer); parse each with [`MessageRef::parse`] and the same [`Context`].

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::wire::{Context, Error, Message, MessageRef, MessageType, frame};

/// One framed message: its type and all its octets, header included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The message type.
    pub kind: MessageType,
    /// The message, header included.
    pub bytes: Bytes,
}

impl Frame {
    /// Parses the message.
    pub fn parse(&self, ctx: &Context) -> Result<MessageRef<'_>, Error> {
        MessageRef::parse(&self.bytes, ctx)
    }
}

/// Errors of [`BgpCodec`]: a framing error or an I/O error of the transport.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The stream is not valid BGP; send the NOTIFICATION the error names and close.
    #[error(transparent)]
    Bgp(#[from] Error),
    /// The transport failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Frames BGP messages (RFC 4271 §4.1) up to the negotiated maximum size.
#[derive(Debug, Clone, Default)]
pub struct BgpCodec {
    /// The negotiated context; set `extended_message` once both OPENs carried it.
    pub ctx: Context,
    scratch: Vec<u8>,
}

impl BgpCodec {
    /// A codec for a session with this context.
    pub fn new(ctx: Context) -> Self {
        BgpCodec {
            ctx,
            scratch: Vec::new(),
        }
    }
}

impl Decoder for BgpCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        match frame(src, self.ctx.max_message_len())? {
            Some((kind, len)) => Ok(Some(Frame {
                kind,
                bytes: src.split_to(len).freeze(),
            })),
            None => {
                src.reserve(crate::wire::header::HEADER_LEN.saturating_sub(src.len()));
                Ok(None)
            }
        }
    }
}

impl Encoder<&Message> for BgpCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.scratch.clear();
        item.encode(&self.ctx, &mut self.scratch)?;
        dst.extend_from_slice(&self.scratch);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn frames_a_stream_in_pieces() {
        let mut codec = BgpCodec::new(Context::default());
        let mut out = BytesMut::new();
        codec.encode(&Message::Keepalive, &mut out).unwrap();
        codec.encode(&Message::Keepalive, &mut out).unwrap();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&out[..10]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.extend_from_slice(&out[10..]);
        let f = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(f.kind, MessageType::Keepalive);
        assert!(matches!(
            f.parse(&codec.ctx).unwrap(),
            MessageRef::Keepalive
        ));
        assert!(codec.decode(&mut buf).unwrap().is_some());
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.extend_from_slice(&[0u8; 19]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(CodecError::Bgp(Error::ConnectionNotSynchronized))
        ));
    }
}
