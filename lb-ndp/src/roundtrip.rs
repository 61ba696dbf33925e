//! Parse → emit → parse checks shared by the fuzz targets, the property tests and the corpus
//! replay. Each function accepts any bytes; it panics only if the codec disagrees with itself,
//! which is the bug the fuzzer looks for.

use lb_l2::testing::{Codec, FuzzTarget};

use crate::wire::{Icmpv6Packet, Ipv6Packet, Ipv6Repr, NdiscRepr, NdpFrameRepr};

/// Whole frames and their Ethernet header: what parses must emit and parse back to itself
/// (see [`lb_l2::testing::round_trip`]).
pub fn frame(data: &[u8]) {
    lb_l2::testing::round_trip(data, CODEC);
}

/// IPv6 packets and the NS/NA inside them, without the Ethernet header or the §7.1 checks.
pub fn packet(data: &[u8]) {
    let Ok(ip) = Ipv6Packet::new_checked(data) else {
        return;
    };
    if let Ok(repr) = Ipv6Repr::parse(&ip) {
        let mut buf = [0u8; 40];
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]))
            .expect("emit IPv6 header");
        let again = Ipv6Packet::new_unchecked(&buf[..]);
        assert_eq!(
            (again.src_addr(), again.dst_addr(), again.hop_limit()),
            (repr.src_addr, repr.dst_addr, repr.hop_limit)
        );
    }
    let Ok(icmp) = Icmpv6Packet::new_checked(ip.payload()) else {
        return;
    };
    let _ = icmp.verify_checksum(ip.src_addr(), ip.dst_addr());
    if let Ok(msg) = NdiscRepr::parse(&icmp) {
        let mut buf = [0u8; 32];
        let out = &mut buf[..msg.buffer_len()];
        msg.emit(&mut Icmpv6Packet::new_unchecked(&mut *out))
            .expect("emit NS/NA");
        let again = NdiscRepr::parse(&Icmpv6Packet::new_unchecked(&*out)).expect("re-parse NS/NA");
        assert_eq!(again, msg);
    }
}

/// [`NdpFrameRepr`]'s parse, emit and length, as the checks of [`lb_l2::testing`] take them.
pub const CODEC: Codec<NdpFrameRepr> = Codec {
    parse: NdpFrameRepr::parse,
    emit: NdpFrameRepr::emit,
    buffer_len: NdpFrameRepr::buffer_len,
};

/// This crate's cargo-fuzz targets (`fuzz/fuzz_targets/`) by name, with the check each runs;
/// the corpora replay as ordinary tests through them.
pub const FUZZ_TARGETS: [FuzzTarget; 3] = [
    ("ndp_frame", frame),
    ("ndp_packet", packet),
    ("ndp_responder", crate::script::run),
];
