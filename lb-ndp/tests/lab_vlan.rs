//! VLAN-tagged requests in the lab. A tagged ARP request or NS for the VIP that reaches the
//! parent interface is for a VLAN we do not announce on there: no reply (the kernel ignores such
//! frames for its own addresses too). Once the node has the VLAN's sub-interface, the request is
//! answered there, with the request's tags; a QinQ request only where both tags are terminated.
//!
//! The client builds the tagged frames by hand and sends them from an AF_PACKET socket on its
//! eth0 (veth keeps tags, the lab's bridge forwards them as they are); it reads the answers with
//! the tags the stack took out of the data put back (PACKET_AUXDATA).

use lb_lab::l2 as lab;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lab::{Lab, mac};
use lb_arp::{ArpFrameRepr, ArpKind, ArpRepr};
use lb_l2::sys::{BpfInsn, PacketSocket};
use lb_l2::{EtherType, EthernetRepr, MacAddress, ethernet::is_vlan_tpid};
use lb_ndp::driver::InterfaceFilter;
use lb_ndp::{NdiscRepr, NdpFrameRepr};

const VIP4: &str = "192.0.2.100";
const VIP6: &str = "2001:db8:1::100";

fn lab_mac(host: &str) -> MacAddress {
    mac(host).parse().expect("lab MAC")
}

/// `frame` with a tag (TPID 0x8100) for `vid` put in front of its EtherType.
fn push_tag(frame: &[u8], vid: u16) -> Vec<u8> {
    let mut out = frame[..12].to_vec();
    out.extend_from_slice(&[0x81, 0x00]);
    out.extend_from_slice(&vid.to_be_bytes());
    out.extend_from_slice(&frame[12..]);
    out
}

/// The VIDs of `frame`'s tags, outer first, and the untagged frame.
fn pop_tags(frame: &[u8]) -> (Vec<u16>, Vec<u8>) {
    let mut f = frame.to_vec();
    let mut vids = vec![];
    while f.len() >= 18 && is_vlan_tpid(u16::from_be_bytes([f[12], f[13]])) {
        vids.push(u16::from_be_bytes([f[14], f[15]]) & 0x0fff);
        f.drain(12..16);
    }
    (vids, f)
}

fn arp_request(tags: &[u16]) -> Vec<u8> {
    let client = lab_mac("client");
    let frame = ArpFrameRepr {
        ethernet: EthernetRepr::new(client, MacAddress::BROADCAST, EtherType::Arp),
        arp: ArpRepr::request(
            client,
            lab::ip4("client").parse().expect("ip"),
            VIP4.parse().expect("ip"),
        ),
    };
    let mut buf = [0u8; 60];
    let n = frame.emit(&mut buf).expect("fits");
    tags.iter()
        .rev()
        .fold(buf[..n.max(60)].to_vec(), |f, &vid| push_tag(&f, vid))
}

fn ns(tags: &[u16]) -> Vec<u8> {
    let vip: Ipv6Addr = VIP6.parse().expect("ip");
    let client = lab_mac("client");
    let frame = NdpFrameRepr {
        ethernet: EthernetRepr::new(client, lb_ndp::solicited_node_mac(vip), EtherType::Ipv6),
        src_addr: lab::ip6("client").parse().expect("ip"),
        dst_addr: lb_ndp::solicited_node(vip),
        message: NdiscRepr::NeighborSolicit {
            target_addr: vip,
            lladdr: Some(client),
        },
    };
    let mut buf = vec![0u8; frame.buffer_len()];
    frame.emit(&mut buf).expect("fits");
    tags.iter().rev().fold(buf, |f, &vid| push_tag(&f, vid))
}

/// Is `frame` (untagged) our answer to the client: an ARP reply or a solicited NA for the VIP?
fn is_answer(frame: &[u8]) -> bool {
    let client = lab_mac("client");
    if let Ok(f) = ArpFrameRepr::parse(frame) {
        return f.arp.kind() == ArpKind::Reply
            && f.arp.source_protocol_addr == VIP4.parse::<Ipv4Addr>().expect("ip")
            && f.arp.target_hardware_addr == client;
    }
    if let Ok(f) = NdpFrameRepr::parse(frame) {
        return matches!(f.message, NdiscRepr::NeighborAdvert { flags, target_addr, .. }
            if flags.solicited && target_addr == VIP6.parse::<Ipv6Addr>().expect("ip"));
    }
    false
}

/// Sends `frame` from the client's eth0 and returns the tags of every answer that arrives
/// within 500 ms (one entry per answer, outer VID first).
fn ask(lab: &Lab, frame: Vec<u8>) -> Vec<Vec<u16>> {
    lb_lab::net::in_netns(lab.netns_path("client"), move || {
        let eth0 = lb_l2::netlink::links()
            .expect("links")
            .into_iter()
            .find(|l| l.name == "eth0")
            .expect("eth0");
        let accept = [BpfInsn {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0xffff,
        }];
        let sock = Arc::new(PacketSocket::open(eth0.index, 0x0003, &accept).expect("socket"));
        sock.send(&frame).expect("send");
        let mut answers = vec![];
        let end = Instant::now() + Duration::from_millis(500);
        let mut buf = [0u8; 2048];
        while Instant::now() < end {
            let Ok(got) = sock.recv(&mut buf[..2044]) else {
                continue;
            };
            if got.pkttype == 4 {
                continue; // our own request
            }
            let mut f = buf[..got.len].to_vec();
            if let Some((tpid, tci)) = got.vlan {
                let mut tag = tpid.to_be_bytes().to_vec();
                tag.extend_from_slice(&tci.to_be_bytes());
                f.splice(12..12, tag);
            }
            if f[6..12] != lab_mac("node1").0 {
                continue;
            }
            let (vids, untagged) = pop_tags(&f);
            if is_answer(&untagged) {
                answers.push(vids);
            }
        }
        answers
    })
    .join()
    .expect("client thread")
}

#[test]
fn tagged_requests_are_answered_only_on_their_vlan_with_their_tags() {
    let Some(lab) = Lab::up("v1", &[]) else {
        return;
    };
    lab.accept_vip("node1", VIP4);
    lab.accept_vip("node1", VIP6);
    let names = ["eth0", "eth0.100", "eth0.100.200"];
    let arp = lb_lab::l2host::L2Host::<lb_arp::Arp>::start(
        lab.netns_path("node1"),
        lb_arp::driver::DriverConfig {
            interfaces: InterfaceFilter::only(names),
            ..Default::default()
        },
    );
    let ndp = lb_lab::l2host::L2Host::<lb_ndp::Ndp>::start(
        lab.netns_path("node1"),
        lb_ndp::driver::DriverConfig {
            interfaces: InterfaceFilter::only(names),
            ..Default::default()
        },
    );
    arp.handle
        .announce(VIP4.parse().expect("ip"))
        .expect("announce");
    ndp.handle
        .announce(VIP6.parse().expect("ip"))
        .expect("announce");
    let none: Vec<Vec<u16>> = vec![];

    // Only eth0: untagged requests are answered untagged; tagged ones, not at all (they used
    // to get an untagged reply on the native LAN, or one with only the inner tag for QinQ).
    for (what, req) in [("ARP", arp_request as fn(&[u16]) -> Vec<u8>), ("NS", ns)] {
        assert_eq!(
            ask(&lab, req(&[])),
            vec![Vec::<u16>::new()],
            "{what} untagged"
        );
        assert_eq!(
            ask(&lab, req(&[100])),
            none,
            "{what} tagged 100 on the parent"
        );
        assert_eq!(
            ask(&lab, req(&[100, 200])),
            none,
            "{what} QinQ on the parent"
        );
    }

    // The node gets VLAN 100: a request tagged 100 is answered there, tagged 100.
    let ns1 = lab.ns("node1");
    let ip = |args: &[&str]| {
        let mut full = vec!["ip", "-n", ns1.as_str()];
        full.extend_from_slice(args);
        lb_lab::run_ok(&full);
    };
    let has = |n: usize| {
        Lab::wait_for(Duration::from_secs(5), || {
            arp.handle.interfaces().len() == n && ndp.handle.interfaces().len() == n
        })
    };
    let vlan = lb_lab::run(&[
        "ip", "-n", &ns1, "link", "add", "link", "eth0", "name", "eth0.100", "type", "vlan", "id",
        "100",
    ]);
    if !vlan.status.success() {
        // A kernel without 802.1Q devices (CONFIG_VLAN_8021Q): the parent's part above is the
        // one that matters; the core's unit tests cover the rest.
        eprintln!(
            "no VLAN sub-interfaces on this kernel ({}): sub-interface part skipped",
            String::from_utf8_lossy(&vlan.stderr).trim()
        );
        return;
    }
    ip(&["link", "set", "eth0.100", "up"]);
    assert!(has(2), "eth0.100 not picked up");
    for (what, req) in [("ARP", arp_request as fn(&[u16]) -> Vec<u8>), ("NS", ns)] {
        assert_eq!(ask(&lab, req(&[100])), vec![vec![100]], "{what} tagged 100");
        assert_eq!(
            ask(&lab, req(&[100, 200])),
            none,
            "{what} QinQ, inner VLAN not served"
        );
        assert_eq!(
            ask(&lab, req(&[])),
            vec![Vec::<u16>::new()],
            "{what} untagged"
        );
    }

    // And VLAN 200 inside 100: the QinQ request is answered with both tags.
    ip(&[
        "link",
        "add",
        "link",
        "eth0.100",
        "name",
        "eth0.100.200",
        "type",
        "vlan",
        "id",
        "200",
    ]);
    ip(&["link", "set", "eth0.100.200", "up"]);
    assert!(has(3), "eth0.100.200 not picked up");
    for (what, req) in [("ARP", arp_request as fn(&[u16]) -> Vec<u8>), ("NS", ns)] {
        assert_eq!(
            ask(&lab, req(&[100, 200])),
            vec![vec![100, 200]],
            "{what} QinQ"
        );
        assert_eq!(ask(&lab, req(&[200])), none, "{what} inner tag alone");
    }
}

/// `PacketSocket::recv` hands back the tag the stack took out of a frame (PACKET_AUXDATA): a
/// frame the client sends tagged 100 reaches node1's `ETH_P_ALL` socket with its data untagged
/// and `vlan == Some((0x8100, 100))`; a QinQ frame shows its outer tag there and the inner one
/// still in the data.
#[test]
fn auxdata_reports_the_stripped_tag() {
    let Some(lab) = Lab::up("v2", &[]) else {
        return;
    };
    let accept = [BpfInsn {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: 0xffff,
    }];
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = lb_lab::net::in_netns(lab.netns_path("node1"), move || {
        let eth0 = lb_l2::netlink::links()
            .expect("links")
            .into_iter()
            .find(|l| l.name == "eth0")
            .expect("eth0");
        let sock = PacketSocket::open(eth0.index, 0x0003, &accept).expect("socket");
        ready_tx.send(()).expect("ready");
        let mut seen = vec![];
        let end = Instant::now() + Duration::from_secs(2);
        let mut buf = [0u8; 2048];
        while Instant::now() < end && seen.len() < 2 {
            let Ok(got) = sock.recv(&mut buf) else {
                continue;
            };
            // The client's tagged ARP requests only (its own IPv6 start-up traffic, DAD and
            // MLD reports, is untagged and may arrive in between).
            if buf[6..12] == lab_mac("client").0 && got.len >= 18 && got.vlan.is_some() {
                let inner = u16::from_be_bytes([buf[12], buf[13]]);
                seen.push((got.vlan, inner));
            }
        }
        seen
    });
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("reader");
    for tags in [&[100u16][..], &[100, 200]] {
        let frame = arp_request(tags);
        lb_lab::net::in_netns(lab.netns_path("client"), move || {
            let eth0 = lb_l2::netlink::links()
                .expect("links")
                .into_iter()
                .find(|l| l.name == "eth0")
                .expect("eth0");
            let drop_all = [BpfInsn {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: 0,
            }];
            let sock = PacketSocket::open(eth0.index, 0x0003, &drop_all).expect("socket");
            sock.send(&frame).expect("send");
        })
        .join()
        .expect("client");
    }
    let seen = reader.join().expect("reader");
    assert_eq!(
        seen,
        vec![(Some((0x8100, 100)), 0x0806), (Some((0x8100, 100)), 0x8100),]
    );
}
