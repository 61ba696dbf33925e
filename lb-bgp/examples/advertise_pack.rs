//! How fast the sans-IO core turns a route table into UPDATEs, and how fast a second session
//! takes them in: two sessions over an in-memory pipe, N routes set at once, timed from
//! `set_routes` until the receiving session holds all N (no sockets; this is the CPU part of
//! "advertise N prefixes until the peer has them").
//!
//! `cargo run --release -p lb-bgp --example advertise_pack`

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use ipnet::IpNet;
use lb_bgp::session::{ConnId, Direction, Output, Route, RouteAttributes, Session, SessionConfig};
use lb_bgp::wire::{Community, LargeCommunity};

fn pump(a: &mut Session, b: &mut Session, now: Instant) -> (usize, u64) {
    let (addr_a, addr_b): (SocketAddr, SocketAddr) = (
        "192.0.2.1:40000".parse().expect("address"),
        "192.0.2.2:179".parse().expect("address"),
    );
    let mut octets = 0;
    loop {
        let mut quiet = true;
        while let Some(action) = a.poll_output() {
            quiet = false;
            match action {
                Output::Connect => {
                    a.connected(now, ConnId(1), addr_a, addr_b, Direction::Outbound);
                    b.connected(now, ConnId(1), addr_b, addr_a, Direction::Inbound);
                }
                Output::Send { conn, bytes } => {
                    octets += bytes.len();
                    b.received(now, conn, &bytes);
                }
                _ => {}
            }
        }
        while let Some(action) = b.poll_output() {
            quiet = false;
            if let Output::Send { conn, bytes } = action {
                a.received(now, conn, &bytes);
            }
        }
        if quiet {
            return (octets, a.stats().messages_sent.update);
        }
    }
}

fn main() {
    println!(
        "| routes | family | extended message | UPDATEs | octets | set_routes → peer has all | routes/s |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in [10_000u32, 100_000] {
        for v6 in [false, true] {
            for extended in [false, true] {
                let now = Instant::now();
                let mut ca = SessionConfig::new(65001, 65002, Ipv4Addr::new(10, 0, 0, 1));
                ca.extended_message = extended;
                ca.next_hop_v6 = Some(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
                let mut cb = SessionConfig::new(65002, 65001, Ipv4Addr::new(10, 0, 0, 2));
                cb.passive = true;
                let mut a = Session::new(ca, 1, now);
                let mut b = Session::new(cb, 2, now);
                a.start(now);
                b.start(now);
                pump(&mut a, &mut b, now);
                let before = a.stats().messages_sent.update;
                let attrs = Arc::new(RouteAttributes {
                    communities: vec![Community::new(65001, 1)],
                    large_communities: vec![LargeCommunity {
                        global_admin: 65001,
                        local1: 1,
                        local2: 1,
                    }],
                    ..RouteAttributes::default()
                });
                let routes: Vec<Route> = (0..n)
                    .map(|i| {
                        let p = if v6 {
                            let a = Ipv6Addr::from((0x2001_0db8u128 << 96) | u128::from(i));
                            IpNet::new(IpAddr::V6(a), 128)
                        } else {
                            IpNet::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)), 32)
                        };
                        Route::with_attributes(p.expect("prefix"), attrs.clone())
                    })
                    .collect();
                let t = Instant::now();
                a.set_routes(now, routes);
                let (octets, updates) = pump(&mut a, &mut b, now);
                let took = t.elapsed();
                assert_eq!(b.received_routes().count(), n as usize);
                println!(
                    "| {n} | {} | {extended} | {} | {octets} | {:.1} ms | {:.2} M |",
                    if v6 { "IPv6 /128" } else { "IPv4 /32" },
                    updates - before,
                    took.as_secs_f64() * 1e3,
                    f64::from(n) / took.as_secs_f64() / 1e6,
                );
            }
        }
    }
}
