//! Property tests: every representation survives emit → parse, arbitrary bytes never panic the
//! parsers, and the cargo-fuzz corpora replay as ordinary tests.

use std::net::Ipv4Addr;

use lb_arp::roundtrip::CODEC;
use lb_arp::{ArpFrameRepr, ArpOperation, ArpRepr, EtherType, EthernetRepr, MacAddress, VlanTag};
use proptest::prelude::*;

fn mac() -> impl Strategy<Value = MacAddress> {
    any::<[u8; 6]>().prop_map(MacAddress)
}

fn operation() -> impl Strategy<Value = ArpOperation> {
    any::<u16>().prop_map(ArpOperation::from)
}

fn arp() -> impl Strategy<Value = ArpRepr> {
    (operation(), mac(), any::<u32>(), mac(), any::<u32>()).prop_map(|(op, sha, spa, tha, tpa)| {
        let base = ArpRepr::request(sha, Ipv4Addr::from(spa), Ipv4Addr::from(tpa));
        let mut repr = ArpRepr::gratuitous_reply(tha, Ipv4Addr::from(tpa));
        repr.operation = op;
        repr.source_hardware_addr = base.source_hardware_addr;
        repr.source_protocol_addr = base.source_protocol_addr;
        repr
    })
}

fn vlan() -> impl Strategy<Value = Option<VlanTag>> {
    proptest::option::of(
        (0u8..8, any::<bool>(), 0u16..4096).prop_map(|(pcp, dei, vid)| VlanTag { pcp, dei, vid }),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Random scripts of announce / withdraw / probe / frames / time keep the responder's
    /// promises (see `lb_arp::script`).
    #[test]
    fn responder_scripts_keep_promises(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        lb_arp::script::run(&data);
    }

    #[test]
    fn arp_frames_round_trip(src in mac(), dst in mac(), vlan in vlan(), arp in arp()) {
        let mut ethernet = EthernetRepr::new(src, dst, EtherType::Arp);
        ethernet.vlan = vlan;
        // Padding after the ARP packet is ignored.
        lb_l2::testing::emits_and_parses_back(&ArpFrameRepr { ethernet, arp }, CODEC);
    }

    #[test]
    fn mutated_valid_frames_never_panic(arp in arp(), at in 0usize..46, byte in any::<u8>(), cut in 0usize..47) {
        let ethernet = EthernetRepr::new(MacAddress::ZERO, MacAddress::BROADCAST, EtherType::Arp);
        let checks = [lb_arp::roundtrip::frame, lb_arp::roundtrip::packet];
        lb_l2::testing::mutated_frames_never_panic(&ArpFrameRepr { ethernet, arp }, CODEC, (at, byte, cut), checks);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..80)) {
        for (_, check) in lb_arp::roundtrip::FUZZ_TARGETS {
            check(&data);
        }
    }
}

#[test]
fn fuzz_corpora_replay() {
    lb_lab::fuzz::replay(env!("CARGO_MANIFEST_DIR"), &lb_arp::roundtrip::FUZZ_TARGETS);
}
