//! Parse → emit → parse checks shared by the fuzz targets, the property tests and the corpus
//! replay. Each function accepts any bytes; it panics only if the codec disagrees with itself,
//! which is the bug the fuzzer looks for.

use crate::wire::{ArpFrameRepr, ArpPacket, ArpRepr, EthernetFrame, EthernetRepr};

/// Whole frames: anything [`ArpFrameRepr::parse`] accepts must emit and parse back to itself.
pub fn frame(data: &[u8]) {
    let _ = EthernetFrame::new_checked(data).map(|f| f.to_string());
    if let Ok(frame) = ArpFrameRepr::parse(data) {
        let mut buf = [0u8; crate::MAX_FRAME_LEN];
        let len = frame.emit(&mut buf).expect("emit into MAX_FRAME_LEN");
        assert_eq!(len, frame.buffer_len());
        let again = ArpFrameRepr::parse(&buf[..len]).expect("re-parse of emitted frame");
        assert_eq!(again, frame);
        let _ = frame.to_string();
    }
    if let Ok(f) = EthernetFrame::new_checked(data)
        && let Ok(repr) = EthernetRepr::parse(&f)
    {
        let mut buf = [0u8; 18];
        repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]))
            .expect("emit header");
        let again = EthernetRepr::parse(&EthernetFrame::new_unchecked(&buf[..repr.buffer_len()]))
            .expect("re-parse of emitted header");
        assert_eq!(again, repr);
    }
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
