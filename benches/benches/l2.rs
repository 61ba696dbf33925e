//! Layer 2 benches: wire cost per frame (parse, emit) for ARP and NDP, and the responder's
//! decision cost per request with 10,000 announced addresses on the interface.
//!
//! Run with `cargo bench -p lb-benches --bench l2`. The lab comparison against the kernel's own
//! ARP replies is `lb-arp/tests/lab_arp.rs::lab_latency_against_the_kernel` (it needs root).

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

const ANNOUNCED: u32 = 10_000;

fn arp_request(target: Ipv4Addr) -> Vec<u8> {
    use lb_arp::{ArpFrameRepr, ArpRepr, EtherType, EthernetRepr, MacAddress};
    let client = MacAddress([2, 0, 0, 0, 0, 0x0a]);
    let frame = ArpFrameRepr {
        ethernet: EthernetRepr::new(client, MacAddress::BROADCAST, EtherType::Arp),
        arp: ArpRepr::request(client, Ipv4Addr::new(192, 0, 2, 10), target),
    };
    let mut buf = vec![0u8; 60];
    frame.emit(&mut buf).expect("emit");
    buf
}

fn ndp_solicit(target: Ipv6Addr) -> Vec<u8> {
    use lb_ndp::{EtherType, EthernetRepr, MacAddress, NdiscRepr, NdpFrameRepr};
    let client = MacAddress([2, 0, 0, 0, 0, 0x0a]);
    let frame = NdpFrameRepr {
        ethernet: EthernetRepr::new(client, lb_ndp::solicited_node_mac(target), EtherType::Ipv6),
        src_addr: "2001:db8:1::a".parse().expect("literal"),
        dst_addr: lb_ndp::solicited_node(target),
        message: NdiscRepr::NeighborSolicit {
            target_addr: target,
            lladdr: Some(client),
        },
    };
    let mut buf = vec![0u8; frame.buffer_len()];
    frame.emit(&mut buf).expect("emit");
    buf
}

fn v4(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0xc633_0000 + i) // 198.51.0.0 + i
}

fn v6(i: u32) -> Ipv6Addr {
    Ipv6Addr::from(0x2001_0db8_0100_0000_0000_0000_0000_0000u128 + u128::from(i))
}

fn wire(c: &mut Criterion) {
    let mut g = c.benchmark_group("wire");
    let req = arp_request(Ipv4Addr::new(192, 0, 2, 100));
    g.bench_function("arp parse request", |b| {
        b.iter(|| lb_arp::ArpFrameRepr::parse(black_box(&req)).expect("valid"))
    });
    let parsed = lb_arp::ArpFrameRepr::parse(&req).expect("valid");
    let reply = lb_arp::ArpFrameRepr {
        arp: lb_arp::ArpRepr::reply_to(&parsed.arp, lb_arp::MacAddress([2, 0, 0, 0, 0, 0x0b])),
        ..parsed
    };
    let mut out = [0u8; 64];
    g.bench_function("arp emit reply", |b| {
        b.iter(|| black_box(&reply).emit(&mut out).expect("fits"))
    });

    let ns = ndp_solicit("2001:db8:1::100".parse().expect("literal"));
    g.bench_function("ndp parse+validate NS (checksum)", |b| {
        b.iter(|| lb_ndp::NdpFrameRepr::parse(black_box(&ns)).expect("valid"))
    });
    let ns_frame = lb_ndp::NdpFrameRepr::parse(&ns).expect("valid");
    let mac = lb_ndp::MacAddress([2, 0, 0, 0, 0, 0x0b]);
    let na = lb_ndp::NdpFrameRepr {
        message: lb_ndp::NdiscRepr::NeighborAdvert {
            flags: lb_ndp::NeighborFlags {
                solicited: true,
                ..Default::default()
            },
            target_addr: ns_frame.message.target_addr(),
            lladdr: Some(mac),
        },
        ..ns_frame
    };
    let mut out = [0u8; 128];
    g.bench_function("ndp emit NA (checksum)", |b| {
        b.iter(|| black_box(&na).emit(&mut out).expect("fits"))
    });
    g.finish();
}

fn decision(c: &mut Criterion) {
    let mut g = c.benchmark_group("decision, 10k announced");
    let now = Instant::now();

    let mut arp = lb_arp::ArpResponder::new(lb_arp::Config::default());
    let mac = lb_arp::MacAddress([2, 0, 0, 0, 0, 0x0b]);
    arp.add_interface(lb_arp::Interface {
        index: 2,
        name: "eth0".into(),
        mac,
    });
    for i in 0..ANNOUNCED {
        arp.announce(now, 2, v4(i)).expect("announce");
    }
    while arp.poll_transmit(now + Duration::from_secs(10)).is_some() {}
    let hit = arp_request(v4(ANNOUNCED / 2));
    let miss = arp_request(Ipv4Addr::new(192, 0, 2, 250));
    g.bench_function("arp request, announced (reply built)", |b| {
        b.iter(|| arp.handle_frame(now, 2, black_box(&hit)).expect("reply"))
    });
    g.bench_function("arp request, not announced", |b| {
        b.iter(|| assert!(arp.handle_frame(now, 2, black_box(&miss)).is_none()))
    });

    let mut ndp = lb_ndp::NdpResponder::new(lb_ndp::Config::default());
    let mac = lb_ndp::MacAddress([2, 0, 0, 0, 0, 0x0b]);
    ndp.add_interface(lb_ndp::Interface {
        index: 2,
        name: "eth0".into(),
        mac,
    });
    for i in 0..ANNOUNCED {
        ndp.announce(now, 2, v6(i)).expect("announce");
    }
    while ndp.poll_transmit(now + Duration::from_secs(10)).is_some() {}
    let hit = ndp_solicit(v6(ANNOUNCED / 2));
    let miss = ndp_solicit("2001:db8:1::250".parse().expect("literal"));
    g.bench_function("ndp NS, announced (NA built)", |b| {
        b.iter(|| ndp.handle_frame(now, 2, black_box(&hit)).expect("reply"))
    });
    g.bench_function("ndp NS, not announced", |b| {
        b.iter(|| assert!(ndp.handle_frame(now, 2, black_box(&miss)).is_none()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = wire, decision
}
criterion_main!(benches);
