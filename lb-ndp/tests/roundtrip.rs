//! Property tests: every representation survives emit → parse, arbitrary bytes never panic the
//! parsers, and the cargo-fuzz corpora replay as ordinary tests.

use std::net::Ipv6Addr;

use lb_ndp::roundtrip::CODEC;
use lb_ndp::{
    EtherType, EthernetRepr, MacAddress, NdiscRepr, NdpFrameRepr, NeighborFlags, VlanTag,
    solicited_node,
};
use proptest::prelude::*;

fn mac() -> impl Strategy<Value = MacAddress> {
    any::<[u8; 6]>().prop_map(MacAddress)
}

fn unicast() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>()
        .prop_map(Ipv6Addr::from)
        .prop_filter("not multicast", |a| !a.is_multicast())
}

fn vlan() -> impl Strategy<Value = Option<VlanTag>> {
    proptest::option::of(
        (0u8..8, any::<bool>(), 0u16..4096).prop_map(|(pcp, dei, vid)| VlanTag { pcp, dei, vid }),
    )
}

/// Frames that satisfy RFC 4861 §7.1, so that parse must accept them.
fn valid_frame() -> impl Strategy<Value = NdpFrameRepr> {
    let ns = (
        unicast(),
        unicast(),
        proptest::option::of(mac()),
        any::<bool>(),
    )
        .prop_map(|(src, target, lladdr, dad)| {
            if dad {
                (
                    Ipv6Addr::UNSPECIFIED,
                    solicited_node(target),
                    NdiscRepr::NeighborSolicit {
                        target_addr: target,
                        lladdr: None,
                    },
                )
            } else {
                (
                    src,
                    solicited_node(target),
                    NdiscRepr::NeighborSolicit {
                        target_addr: target,
                        lladdr,
                    },
                )
            }
        });
    let na = (
        unicast(),
        unicast(),
        proptest::option::of(mac()),
        any::<[bool; 4]>(),
    )
        .prop_map(|(target, dst, lladdr, [r, s, o, multicast])| {
            let dst = if multicast {
                "ff02::1".parse().expect("literal")
            } else {
                dst
            };
            let flags = NeighborFlags {
                router: r,
                solicited: s && !multicast,
                override_: o,
            };
            (
                target,
                dst,
                NdiscRepr::NeighborAdvert {
                    flags,
                    target_addr: target,
                    lladdr,
                },
            )
        });
    (mac(), mac(), vlan(), prop_oneof![ns, na]).prop_map(|(src, dst, vlan, (s, d, message))| {
        let mut ethernet = EthernetRepr::new(src, dst, EtherType::Ipv6);
        ethernet.vlan = vlan;
        NdpFrameRepr {
            ethernet,
            src_addr: s,
            dst_addr: d,
            message,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn frames_round_trip(frame in valid_frame()) {
        lb_l2::testing::emits_and_parses_back(&frame, CODEC);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..140)) {
        for (_, check) in lb_ndp::roundtrip::FUZZ_TARGETS {
            check(&data);
        }
    }

    #[test]
    fn mutated_valid_frames_never_panic(frame in valid_frame(), at in 0usize..90, byte in any::<u8>(), cut in 0usize..91) {
        let checks = [lb_ndp::roundtrip::frame, lb_ndp::roundtrip::packet];
        lb_l2::testing::mutated_frames_never_panic(&frame, CODEC, (at, byte, cut), checks);
    }

    /// Random scripts of announce / withdraw / probe / frames / time keep the responder's
    /// promises (see `lb_ndp::script`).
    #[test]
    fn responder_scripts_keep_promises(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        lb_ndp::script::run(&data);
    }
}

#[test]
fn fuzz_corpora_replay() {
    lb_lab::fuzz::replay(env!("CARGO_MANIFEST_DIR"), &lb_ndp::roundtrip::FUZZ_TARGETS);
}
