//! Parse → emit → parse checks shared by the fuzz targets, the property tests and the corpus
//! replay. Each function accepts any bytes; it panics only if the codec disagrees with itself,
//! which is the bug the fuzzer looks for.

use crate::wire::{Icmpv6Packet, Ipv6Packet, Ipv6Repr, NdiscRepr, NdpFrameRepr};

/// Whole frames: anything [`NdpFrameRepr::parse`] accepts must emit and parse back to itself.
pub fn frame(data: &[u8]) {
    if let Ok(frame) = NdpFrameRepr::parse(data) {
        let mut buf = [0u8; crate::MAX_FRAME_LEN];
        let len = frame.emit(&mut buf).expect("emit into MAX_FRAME_LEN");
        assert_eq!(len, frame.buffer_len());
        let again = NdpFrameRepr::parse(&buf[..len]).expect("re-parse of emitted frame");
        assert_eq!(again, frame);
        let _ = frame.to_string();
    }
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
