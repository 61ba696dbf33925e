//! Parse → emit → parse checks shared by the fuzz targets, the property tests and the corpus
//! replay. Each function accepts any bytes; it panics only if the codec disagrees with itself,
//! which is the bug the fuzzer looks for.

use lb_l2::testing::{Codec, FuzzTarget};

use crate::wire::{ArpFrameRepr, ArpPacket, ArpRepr};

/// The owned frame's codec, for [`lb_l2::testing`]'s round-trip checks.
pub const CODEC: Codec<ArpFrameRepr> = Codec {
    parse: ArpFrameRepr::parse,
    emit: ArpFrameRepr::emit,
    buffer_len: ArpFrameRepr::buffer_len,
};

/// Whole frames: anything [`ArpFrameRepr::parse`] accepts must emit and parse back to itself
/// (see [`lb_l2::testing::round_trip`]).
pub fn frame(data: &[u8]) {
    lb_l2::testing::round_trip(data, CODEC);
}

/// ARP packets without the Ethernet header.
pub fn packet(data: &[u8]) {
    if let Ok(p) = ArpPacket::new_checked(data) {
        let _ = (
            p.source_hardware_addr(),
            p.target_protocol_addr(),
            p.operation(),
        );
        if let Ok(repr) = ArpRepr::parse(&p) {
            let mut buf = [0u8; 28];
            repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]))
                .expect("emit ARP");
            let again = ArpRepr::parse(&ArpPacket::new_unchecked(&buf[..])).expect("re-parse");
            assert_eq!(again, repr);
        }
    }
}

/// This crate's cargo-fuzz targets (`fuzz/fuzz_targets/`) by name, with the check each runs;
/// the corpora replay as ordinary tests through them.
pub const FUZZ_TARGETS: [FuzzTarget; 3] = [
    ("arp_frame", frame),
    ("arp_packet", packet),
    ("arp_responder", crate::script::run),
];
