//! Frames captured from real tools in a two-namespace lab (veth pair: 02:00:00:00:00:0a /
//! 2001:db8:1::a "client", 02:00:00:00:00:0b / 2001:db8:1::b "node") with
//! `tcpdump -i eth0 -w cap.pcap 'arp or icmp6'` on the client side, Debian 12, kernel 6.18,
//! ndisc6 1.0.5. Hex as tcpdump wrote it, Ethernet header included.

use std::net::Ipv6Addr;

use lb_ndp::{MacAddress, NdiscRepr, NdpFrameRepr, NeighborFlags};

use lb_lab::hex;

const CLIENT: MacAddress = MacAddress([2, 0, 0, 0, 0, 0x0a]);
const NODE: MacAddress = MacAddress([2, 0, 0, 0, 0, 0x0b]);

/// `ndisc6 -1 -r 1 2001:db8:1::b eth0`: NS from the client's link-local address to the
/// solicited-node group, with a source link-layer option (and a flow label, which we ignore).
const NDISC6_NS: &str = "3333ff00000b02000000000a86dd600face800203afffe80000000000000000000fffe00000aff0200000000000000000001ff00000b87004c3a0000000020010db800010000000000000000000b010102000000000a";
/// The node's kernel answering it: S=1, O=1, target link-layer option.
const KERNEL_NA: &str = "02000000000a02000000000b86dd6000000000203aff20010db800010000000000000000000bfe80000000000000000000fffe00000a8800ba836000000020010db800010000000000000000000b020102000000000b";

/// The node's kernel running DAD for 2001:db8:1::b as it is added (`ip addr add`): source `::`,
/// the solicited-node group, and a Nonce option (type 14, RFC 7527) we do not know and skip.
const KERNEL_DAD_NS: &str = "3333ff00000b02000000000b86dd6000000000203aff00000000000000000000000000000000ff0200000000000000000001ff00000b8700b6820000000020010db800010000000000000000000b0e0119be04676a27";
/// The node's kernel announcing the new address after DAD (`ndisc_notify=1`): an unsolicited
/// NA to ff02::1 with Override=1, the same message our responder sends on takeover.
const KERNEL_UNSOLICITED_NA: &str = "33330000000102000000000b86dd6000000000203aff20010db800010000000000000000000bff0200000000000000000000000000018800f90a2000000020010db800010000000000000000000b020102000000000b";

fn ip(s: &str) -> Ipv6Addr {
    s.parse().expect("literal")
}

#[test]
fn ndisc6_solicitation() {
    let f = NdpFrameRepr::parse(&hex(NDISC6_NS)).expect("valid NS");
    assert_eq!(f.ethernet.src_addr, CLIENT);
    assert_eq!(f.src_addr, ip("fe80::ff:fe00:a"));
    assert_eq!(f.dst_addr, ip("ff02::1:ff00:b"));
    assert_eq!(
        f.message,
        NdiscRepr::NeighborSolicit {
            target_addr: ip("2001:db8:1::b"),
            lladdr: Some(CLIENT)
        }
    );
    // Our emit writes the same ICMPv6 bytes (checksum included); only the flow label differs.
    let mut buf = [0u8; 128];
    let n = f.emit(&mut buf).expect("emit");
    let orig = hex(NDISC6_NS);
    assert_eq!(&buf[54..n], &orig[54..]);
    assert_eq!(&buf[..15], &orig[..15]);
}

#[test]
fn kernel_advertisement() {
    let bytes = hex(KERNEL_NA);
    let f = NdpFrameRepr::parse(&bytes).expect("valid NA");
    assert_eq!(
        f.message,
        NdiscRepr::NeighborAdvert {
            flags: NeighborFlags {
                router: false,
                solicited: true,
                override_: true
            },
            target_addr: ip("2001:db8:1::b"),
            lladdr: Some(NODE),
        }
    );
    let mut buf = [0u8; 128];
    let n = f.emit(&mut buf).expect("emit");
    assert_eq!(&buf[..n], &bytes[..]);
}

#[test]
fn corrupting_the_captured_checksum_is_detected() {
    let mut bytes = hex(KERNEL_NA);
    bytes[56] ^= 1;
    assert!(matches!(
        NdpFrameRepr::parse(&bytes),
        Err(lb_ndp::Error::Checksum { .. })
    ));
}

/// Our answer to ndisc6's solicitation differs from the kernel's only in the flags: we send
/// Override=0 (MetalLB's choice for a VIP, so a real owner's entry is not overridden).
#[test]
fn our_answer_to_ndisc6() {
    let mut r = lb_l2::testing::responder::<lb_ndp::Ndp>(Default::default(), 1, NODE);
    let now = std::time::Instant::now();
    r.announce(now, 1, ip("2001:db8:1::b")).expect("announce");
    let ours = r.handle_frame(now, 1, &hex(NDISC6_NS)).expect("an NA");
    let ours = NdpFrameRepr::parse(ours.bytes()).expect("valid");
    let mut kernel = NdpFrameRepr::parse(&hex(KERNEL_NA)).expect("valid");
    if let NdiscRepr::NeighborAdvert { flags, .. } = &mut kernel.message {
        flags.override_ = false;
    }
    assert_eq!(ours, kernel);
}

#[test]
fn kernel_dad_solicitation_with_a_nonce_option() {
    let f = NdpFrameRepr::parse(&hex(KERNEL_DAD_NS)).expect("valid DAD NS");
    assert!(f.src_addr.is_unspecified());
    assert_eq!(f.dst_addr, ip("ff02::1:ff00:b"));
    assert_eq!(
        f.message,
        NdiscRepr::NeighborSolicit {
            target_addr: ip("2001:db8:1::b"),
            lladdr: None
        }
    );
}

#[test]
fn kernel_unsolicited_advertisement_matches_ours() {
    let bytes = hex(KERNEL_UNSOLICITED_NA);
    let f = NdpFrameRepr::parse(&bytes).expect("valid NA");
    assert_eq!(f.dst_addr, lb_ndp::ALL_NODES);
    // Our responder's takeover advertisement for the same address is byte for byte the
    // kernel's.
    let mut r = lb_l2::testing::responder::<lb_ndp::Ndp>(Default::default(), 1, NODE);
    let now = std::time::Instant::now();
    r.announce(now, 1, ip("2001:db8:1::b")).expect("announce");
    let ours = r.poll_transmit(now).expect("an unsolicited NA");
    assert_eq!(ours.bytes(), &bytes[..]);
}
