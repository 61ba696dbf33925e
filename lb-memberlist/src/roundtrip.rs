//! Decode → encode → decode checks shared by the fuzz targets, the property tests and the
//! corpus replay. Each function accepts any bytes; it panics only if the codec disagrees with
//! itself, which is the bug the fuzzer looks for.

use crate::Error;
use crate::security::Keyring;
use crate::wire::{self, Message};

fn check(msg: &Message, stream: bool) {
    let encoded = if stream {
        msg.encode_stream()
    } else {
        msg.encode()
    };
    let bytes = match encoded {
        Ok(b) => b,
        // Re-encoding uses Go's forms, which may be a few bytes longer than an exotic input
        // (a `str8` becomes `str16`), so a compound part near 64 KiB may no longer fit.
        Err(Error::Limit(_)) => return,
        Err(e) => panic!("decoded message does not encode: {e}"),
    };
    let again = if stream {
        Message::decode_stream(&bytes)
    } else {
        Message::decode(&bytes)
    }
    .expect("re-decode of an encoded message");
    assert_eq!(&again, msg);
}

/// Output cap for decompression under fuzzing.
const FUZZ_MAX_DECOMPRESSED: usize = 1 << 20;

/// One message, as a packet and as a stream (after an optional label header); a compressed
/// one is decompressed and checked in turn. The raw bytes are also fed to the LZW decoder.
pub fn message(data: &[u8]) {
    let _ = wire::lzw::decompress(data, FUZZ_MAX_DECOMPRESSED);
    let Ok((_label, data)) = wire::strip_label(data) else {
        return;
    };
    for stream in [false, true] {
        let decoded = if stream {
            Message::decode_stream(data)
        } else {
            Message::decode(data)
        };
        let Ok(msg) = decoded else { continue };
        check(&msg, stream);
        if let Message::Compressed(c) = &msg
            && let Ok(inner) = c.decompress(FUZZ_MAX_DECOMPRESSED)
        {
            assert!(inner.len() <= FUZZ_MAX_DECOMPRESSED);
            let again = if stream {
                Message::decode_stream(&inner)
            } else {
                Message::decode(&inner)
            };
            if let Ok(m) = again {
                check(&m, stream);
            }
        }
    }
}

/// A compound body (what follows the `7` byte): splitting, and the messages inside.
pub fn compound(data: &[u8]) {
    if let Ok((parts, _truncated)) = wire::split_compound(data) {
        assert!(parts.len() <= wire::MAX_COMPOUND_PARTS);
        let total: usize = parts.iter().map(|p| p.len()).sum();
        assert!(total + 2 * parts.len() < data.len());
        let rebuilt = wire::make_compound(&parts.iter().map(|p| p.to_vec()).collect::<Vec<_>>())
            .expect("parts that were split fit again");
        assert_eq!(
            wire::split_compound(&rebuilt[1..]).expect("re-split"),
            (parts, 0)
        );
    }
    let mut whole = Vec::with_capacity(data.len() + 1);
    whole.push(7);
    whole.extend_from_slice(data);
    if let Ok(msg) = Message::decode(&whole) {
        check(&msg, false);
    }
}

/// The encryption envelope: any bytes offered as a whole packet (plain and encrypted), as an
/// envelope or a stream to a keyring, and any bytes sealed then opened.
pub fn envelope(data: &[u8]) {
    let mut ring = Keyring::new(&[0x24; 16]).expect("16-byte key");
    ring.add(&[0x42; 32]).expect("32-byte key");
    let _ = crate::PacketCodec {
        max_decompressed: FUZZ_MAX_DECOMPRESSED,
        ..crate::PacketCodec::new()
    }
    .open(data);
    let _ = crate::PacketCodec {
        keyring: Some(ring.clone()),
        max_decompressed: FUZZ_MAX_DECOMPRESSED,
        ..crate::PacketCodec::new()
    }
    .open(data);
    if let Ok(plain) = ring.open_packet(data, b"") {
        message(&plain);
    }
    if let Ok(plain) = ring.open_stream(data, b"") {
        message(&plain);
    }
    let (label, msg) = data.split_at(
        data.len()
            .min(usize::from(data.first().copied().unwrap_or(0) % 8)),
    );
    let sealed = ring.seal_packet(msg, label, [1; 12]).expect("seal");
    assert_eq!(ring.open_packet(&sealed, label).expect("open sealed"), msg);
    let sealed = ring.seal_stream(msg, label, [2; 12]).expect("seal stream");
    assert_eq!(
        ring.open_stream(&sealed, label)
            .expect("open sealed stream"),
        msg
    );
}
