//! Frames captured from real tools in a two-namespace lab (veth pair: 02:00:00:00:00:0a /
//! 192.0.2.10 "client", 02:00:00:00:00:0b / 192.0.2.11 "node") with
//! `tcpdump -i eth0 -w cap.pcap 'arp or icmp6'` on the client side, Debian 12, kernel 6.18,
//! arping 2.23 (Habets). Hex as tcpdump wrote it, Ethernet header included.
//! The gratuitous reply was captured on the node side of the same kind of pair.

use std::net::Ipv4Addr;

use lb_arp::{ArpFrameRepr, ArpKind, ArpOperation, MacAddress};

use lb_lab::hex;

const CLIENT: MacAddress = MacAddress([2, 0, 0, 0, 0, 0x0a]);
const NODE: MacAddress = MacAddress([2, 0, 0, 0, 0, 0x0b]);

/// `arping -c 1 -i eth0 192.0.2.11`: the request, padded to 58 bytes by arping.
const ARPING_REQUEST: &str = "ffffffffffff02000000000a0806000108000604000102000000000ac000020a000000000000c000020b00000000000000000000000000000000";
/// The node's kernel answering it.
const KERNEL_REPLY: &str =
    "02000000000a02000000000b0806000108000604000202000000000bc000020b02000000000ac000020a";
/// `arping -U -S 192.0.2.10 192.0.2.10`: a gratuitous request; arping sets THA to broadcast.
const ARPING_GRATUITOUS: &str = "ffffffffffff02000000000a0806000108000604000102000000000ac000020affffffffffffc000020a00000000000000000000000000000000";
/// `arping -U -P -S 192.0.2.10 192.0.2.10`: a gratuitous reply; arping sets THA to broadcast
/// (we set it to our own MAC, as RFC 5944 §4.6 says; receivers ignore it).
const ARPING_GRATUITOUS_REPLY: &str = "ffffffffffff02000000000a0806000108000604000202000000000ac000020affffffffffffc000020a00000000000000000000000000000000";
/// `arping -0 192.0.2.11`: sender IP 0.0.0.0, an RFC 5227 probe.
const ARPING_PROBE: &str = "ffffffffffff02000000000a0806000108000604000102000000000a00000000000000000000c000020b00000000000000000000000000000000";
/// The node's kernel answering the probe: TPA 0.0.0.0.
const KERNEL_PROBE_REPLY: &str =
    "02000000000a02000000000b0806000108000604000202000000000bc000020b02000000000a00000000";

fn parse(s: &str) -> ArpFrameRepr {
    let bytes = hex(s);
    let frame = ArpFrameRepr::parse(&bytes).expect("captured frame parses");
    // Re-emitting gives the same bytes up to arping's padding.
    let mut buf = [0u8; 64];
    let n = frame.emit(&mut buf).expect("emit");
    assert_eq!(&buf[..n], &bytes[..n]);
    frame
}

#[test]
fn arping_request() {
    let f = parse(ARPING_REQUEST);
    assert_eq!(
        (f.ethernet.src_addr, f.ethernet.dst_addr),
        (CLIENT, MacAddress::BROADCAST)
    );
    assert_eq!(f.arp.kind(), ArpKind::Request);
    assert_eq!(f.arp.target_hardware_addr, MacAddress::ZERO);
    assert_eq!(f.arp.source_protocol_addr, Ipv4Addr::new(192, 0, 2, 10));
    assert_eq!(f.arp.target_protocol_addr, Ipv4Addr::new(192, 0, 2, 11));
}

#[test]
fn kernel_reply() {
    let f = parse(KERNEL_REPLY);
    assert_eq!(f.arp.operation, ArpOperation::Reply);
    assert_eq!(f.arp.kind(), ArpKind::Reply);
    assert_eq!(f.arp.source_hardware_addr, NODE);
    assert_eq!(f.ethernet.dst_addr, CLIENT);
}

#[test]
fn arping_gratuitous_and_probe() {
    let g = parse(ARPING_GRATUITOUS);
    assert_eq!(g.arp.kind(), ArpKind::GratuitousRequest);
    assert_eq!(g.arp.target_hardware_addr, MacAddress::BROADCAST);
    let gr = parse(ARPING_GRATUITOUS_REPLY);
    assert_eq!(gr.arp.kind(), ArpKind::GratuitousReply);
    assert_eq!(gr.ethernet.dst_addr, MacAddress::BROADCAST);
    let p = parse(ARPING_PROBE);
    assert_eq!(p.arp.kind(), ArpKind::Probe);
    let r = parse(KERNEL_PROBE_REPLY);
    assert_eq!(r.arp.target_protocol_addr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(r.arp.kind(), ArpKind::Reply);
}

/// Our reply to arping's request has the layout of the kernel's own reply (same fields, same
/// length), only the sender is our VIP.
#[test]
fn our_reply_matches_the_kernels_shape() {
    let mut r = lb_l2::testing::responder::<lb_arp::Arp>(Default::default(), 1, NODE);
    let now = std::time::Instant::now();
    r.announce(now, 1, Ipv4Addr::new(192, 0, 2, 11))
        .expect("announce");
    let reply = r
        .handle_frame(now, 1, &hex(ARPING_REQUEST))
        .expect("a reply");
    assert_eq!(reply.bytes(), &hex(KERNEL_REPLY)[..]);
}
