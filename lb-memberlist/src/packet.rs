//! Whole UDP packets: the layers of [`crate::wire`] and [`crate::security`] put together in
//! the order memberlist's `ingestPacket` and `sendMsg` use.
//!
//! Receiving: remove the label header and require it to equal ours; decrypt with the keyring
//! when one is set (anything that does not open is dropped, Go's `GossipVerifyIncoming`);
//! check the CRC; then flatten compound and compressed messages into the plain messages they
//! carry. Sending: one message alone or several in a compound, a CRC header for peers that
//! speak protocol 5, encryption under the primary key, and the label header.

use crate::Error;
use crate::security::{Keyring, NONCE_LEN};
use crate::wire::{self, Message, lzw};

/// How deep compressed and compound messages may nest when flattening.
const MAX_FLATTEN_DEPTH: u32 = 4;

/// The settings that shape packets on the wire.
#[derive(Debug, Clone, Default)]
pub struct PacketCodec {
    /// The cluster label (`Label`): sent in a header and authenticated; empty for none.
    pub label: Vec<u8>,
    /// The keyring, when gossip is encrypted.
    pub keyring: Option<Keyring>,
    /// The largest decompressed payload accepted.
    pub max_decompressed: usize,
}

impl PacketCodec {
    /// Plain packets, no label, Go's decompression cap.
    pub fn new() -> Self {
        Self {
            label: Vec::new(),
            keyring: None,
            max_decompressed: lzw::MAX_DECOMPRESSED_BYTES,
        }
    }

    /// Opens a received packet into the plain messages it carries, in order.
    pub fn open(&self, packet: &[u8]) -> Result<Vec<Message>, Error> {
        let (label, rest) = wire::strip_label(packet)?;
        if label != self.label.as_slice() {
            return Err(Error::LabelMismatch);
        }
        let plain;
        let mut buf = rest;
        if let Some(ring) = &self.keyring {
            plain = ring.open_packet(rest, &self.label)?;
            buf = &plain;
        }
        let mut out = Vec::new();
        self.flatten(Message::decode(buf)?, 0, &mut out)?;
        Ok(out)
    }

    fn flatten(&self, msg: Message, depth: u32, out: &mut Vec<Message>) -> Result<(), Error> {
        if depth > MAX_FLATTEN_DEPTH {
            return Err(Error::Limit("nesting"));
        }
        match msg {
            Message::Compound(parts) => {
                for part in parts {
                    self.flatten(part, depth + 1, out)?;
                }
            }
            Message::Checksummed(inner) => self.flatten(*inner, depth + 1, out)?,
            Message::Compressed(c) => {
                let inner = c.decompress(self.max_decompressed)?;
                self.flatten(Message::decode(&inner)?, depth + 1, out)?;
            }
            other => out.push(other),
        }
        Ok(())
    }

    /// Builds one packet from `msgs` (at most 255): alone or as a compound, with a CRC header
    /// when `crc` (the peer speaks protocol 5), sealed with `nonce` when a keyring is set.
    pub fn seal(
        &self,
        msgs: &[Message],
        crc: bool,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, Error> {
        let mut body = match msgs {
            [] => return Err(Error::Limit("empty packet")),
            [one] => one.encode()?,
            many => wire::make_compound(
                &many
                    .iter()
                    .map(Message::encode)
                    .collect::<Result<Vec<_>, _>>()?,
            )?,
        };
        if crc {
            body = wire::add_crc(&body);
        }
        if let Some(ring) = &self.keyring {
            body = ring.seal_packet(&body, &self.label, nonce)?;
        }
        wire::add_label(&self.label, &body)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::{Dead, Nack, Ping};

    fn msgs() -> Vec<Message> {
        vec![
            Message::Ping(Ping {
                node: "b".into(),
                seq_no: 9,
                ..Ping::default()
            }),
            Message::Dead(Dead {
                from: "a".into(),
                incarnation: 2,
                node: "c".into(),
            }),
        ]
    }

    #[test]
    fn plain_round_trip() {
        let codec = PacketCodec::new();
        for crc in [false, true] {
            let p = codec.seal(&msgs(), crc, [0; 12]).unwrap();
            assert_eq!(p[0], if crc { 12 } else { 7 });
            assert_eq!(codec.open(&p).unwrap(), msgs());
        }
        let one = codec.seal(&msgs()[..1], false, [0; 12]).unwrap();
        assert_eq!(one[0], 0);
        assert!(codec.seal(&[], false, [0; 12]).is_err());
    }

    #[test]
    fn encrypted_and_labelled() {
        let mut codec = PacketCodec::new();
        codec.label = b"cluster-1".to_vec();
        codec.keyring = Some(Keyring::new(&[3; 32]).unwrap());
        let p = codec.seal(&msgs(), true, [5; 12]).unwrap();
        assert_eq!(&p[..11], b"\xf4\x09cluster-1");
        assert_eq!(p[11], 1, "envelope version");
        assert_eq!(codec.open(&p).unwrap(), msgs());

        // Another label, no label, or another key: dropped.
        let mut other = codec.clone();
        other.label = b"cluster-2".to_vec();
        assert_eq!(other.open(&p), Err(Error::LabelMismatch));
        other.label.clear();
        assert_eq!(other.open(&p), Err(Error::LabelMismatch));
        let mut other = codec.clone();
        other.keyring = Some(Keyring::new(&[4; 32]).unwrap());
        assert_eq!(other.open(&p), Err(Error::Decrypt));
        // A plain packet to an encrypting node is dropped too.
        let plain = PacketCodec {
            label: codec.label.clone(),
            ..PacketCodec::new()
        };
        let p = plain
            .seal(&[Message::Nack(Nack { seq_no: 1 })], false, [0; 12])
            .unwrap();
        assert!(codec.open(&p).is_err());
    }
}
