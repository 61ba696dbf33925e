//! How long it takes, in the network-namespace lab, from "advertise these N prefixes" until
//! BIRD's RIB holds all N, for our speaker (`lb_bgp::driver`), GoBGP and FRR as senders to the
//! same BIRD 2 receiver, in one run. N = 10,000 and 100,000 IPv6 /128s in 2001:db8:100::/64
//! (documentation space has far fewer than 100,000 IPv4 prefixes, so both sizes use IPv6).
//!
//! - ours: `Speaker::set_routes` with N routes sharing one attribute set, from an Established
//!   session with nothing advertised yet.
//! - GoBGP: `gobgp mrt inject global` of an MRT TABLE_DUMP_V2 file written beforehand (one
//!   AddPathStream gRPC stream, the fastest way to load GoBGP found here; `gobgp global rib add` runs one process and one API
//!   call per prefix, and its rate is measured on 1,000 prefixes for comparison).
//! - FRR: `vtysh -f` of a file with N `network` statements, applied to a running bgpd with an
//!   Established session.
//!
//! The clock stops when `birdc show route count` (polled every 20 ms; one `birdc` run takes a
//! few ms) reports N routes, so times under about 50 ms are coarse. Every run starts with BIRD
//! empty (checked); after each run the routes are withdrawn (or the sender stopped) and BIRD is
//! back to zero.
//!
//! Needs root, `ip`, BIRD 2, FRR and GoBGP; prints "skipped" without them.
//! Run with `cargo bench -p lb-benches --bench bgp_lab`.

use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use lb_lab::bgp as lab;

use ipnet::IpNet;
use lab::{Daemon, DaemonConfig, Kind, Lab, Neighbor, Ours, ip6};

const ROUTER_AS: u32 = 64500;
const SENDER_AS: u32 = 64512;
const SIZES: [usize; 2] = [10_000, 100_000];

/// Every run starts from an empty BIRD.
fn assert_empty(bird: &Daemon) {
    assert_eq!(bird.route_count(), 0, "BIRD holds routes before the run");
}

fn wait_count(bird: &Daemon, n: usize, timeout: Duration) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < timeout {
        if bird.route_count() == n {
            return Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// An MRT TABLE_DUMP_V2 file (RFC 6396): a PEER_INDEX_TABLE with one peer, then one
/// RIB_IPV6_UNICAST record per prefix (ORIGIN IGP, AS_PATH empty, MP_REACH_NLRI next hop).
fn write_mrt(path: &std::path::Path, prefixes: &[IpNet], next_hop: IpAddr) {
    let IpAddr::V6(nh) = next_hop else {
        panic!("IPv6 next hop")
    };
    let mut out = Vec::with_capacity(prefixes.len() * 64);
    let record = |subtype: u16, body: &[u8], out: &mut Vec<u8>| {
        out.extend_from_slice(&0u32.to_be_bytes()); // timestamp
        out.extend_from_slice(&13u16.to_be_bytes()); // TABLE_DUMP_V2
        out.extend_from_slice(&subtype.to_be_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(body);
    };
    // PEER_INDEX_TABLE: collector id, empty view name, one IPv6 / AS4 peer.
    let mut body = Vec::new();
    body.extend_from_slice(&[192, 0, 2, 12]);
    body.extend_from_slice(&0u16.to_be_bytes());
    body.extend_from_slice(&1u16.to_be_bytes());
    body.push(0b11);
    body.extend_from_slice(&[192, 0, 2, 12]);
    body.extend_from_slice(&nh.octets());
    body.extend_from_slice(&SENDER_AS.to_be_bytes());
    record(1, &body, &mut out);
    // GoBGP reads the full MP_REACH_NLRI form here (AFI, SAFI, next hop, reserved, no NLRI),
    // not RFC 6396's abbreviated one.
    let mut attrs = vec![0x40, 1, 1, 0, 0x40, 2, 0];
    attrs.extend_from_slice(&[0x80, 14, 21, 0, 2, 1, 16]);
    attrs.extend_from_slice(&nh.octets());
    attrs.push(0);
    // GoBGP 3.10 drops the last few hundred paths of an injection (the tail still in flight
    // when the client closes its AddPathStream), so the file ends with repeats of the first
    // prefix, which GoBGP already holds by then: they cost it a little time, change nothing.
    let pad = (prefixes.len() / 5).max(2000);
    let padded = prefixes
        .iter()
        .chain(std::iter::repeat_n(&prefixes[0], pad));
    for (seq, p) in padded.enumerate() {
        let IpNet::V6(p6) = p else {
            panic!("IPv6 prefixes")
        };
        body.clear();
        body.extend_from_slice(&(seq as u32).to_be_bytes());
        body.push(p6.prefix_len());
        let n = usize::from(p6.prefix_len()).div_ceil(8);
        body.extend_from_slice(&p6.network().octets()[..n]);
        body.extend_from_slice(&1u16.to_be_bytes()); // one entry
        body.extend_from_slice(&0u16.to_be_bytes()); // peer index
        body.extend_from_slice(&0u32.to_be_bytes()); // originated
        body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        body.extend_from_slice(&attrs);
        record(4, &body, &mut out);
    }
    std::fs::write(path, out).expect("write MRT");
}

fn run_ours(lab: &Lab, bird: &Daemon, prefixes: &[IpNet]) -> Option<Duration> {
    let ours = Ours::start(lab, "node1");
    let peer = ip6("router");
    ours.add(peer, SENDER_AS, ROUTER_AS, false, 90, None);
    ours.wait_established(peer, Duration::from_secs(30));
    bird.wait_established(ip6("node1"), Duration::from_secs(30));
    let attrs = lab::test_attributes(None);
    let routes = lab::routes(prefixes, &attrs);
    assert_empty(bird);
    let t = Instant::now();
    ours.speaker.set_routes(peer, routes).expect("set routes");
    let took = wait_count(bird, prefixes.len(), Duration::from_secs(300)).map(|_| t.elapsed());
    ours.speaker.set_routes(peer, []).expect("withdraw");
    wait_count(bird, 0, Duration::from_secs(300));
    took
}

fn gobgp_daemon(lab: &Lab) -> Daemon {
    let g = Daemon::start(
        lab,
        DaemonConfig::new(Kind::Gobgp, "node2", SENDER_AS)
            .neighbor(Neighbor::new(ip6("router"), ROUTER_AS)),
    );
    g.wait_established(ip6("router"), Duration::from_secs(30));
    g
}

fn run_gobgp_mrt(lab: &Lab, bird: &Daemon, gobgp: &Daemon, prefixes: &[IpNet]) -> Option<Duration> {
    bird.wait_established(ip6("node2"), Duration::from_secs(30));
    let file = lab.dir.join(format!("rib-{}.mrt", prefixes.len()));
    write_mrt(&file, prefixes, ip6("node2"));
    let f = file.to_str().expect("utf-8 path");
    assert_empty(bird);
    let t = Instant::now();
    let out = gobgp
        .gobgp(&["mrt", "inject", "global", "--no-ipv4", f])
        .expect("gobgp mrt inject");
    if let Some(line) = out.lines().next() {
        eprintln!("gobgp mrt inject: {line}");
        return None;
    }
    let took = wait_count(bird, prefixes.len(), Duration::from_secs(300)).map(|_| t.elapsed());
    if took.is_none() {
        eprintln!(
            "GoBGP holds {} of {} prefixes after mrt inject",
            gobgp.route_count(),
            prefixes.len()
        );
    }
    gobgp.gobgp(&["global", "rib", "-a", "ipv6", "del", "all"]);
    wait_count(bird, 0, Duration::from_secs(300));
    took
}

/// `gobgp global rib add` once per prefix: the rate (prefixes per second) on `prefixes`.
fn run_gobgp_cli(bird: &Daemon, gobgp: &Daemon, prefixes: &[IpNet]) -> Option<f64> {
    let nh = ip6("node2").to_string();
    let t = Instant::now();
    for p in prefixes {
        gobgp.gobgp(&[
            "global",
            "rib",
            "-a",
            "ipv6",
            "add",
            &p.to_string(),
            "origin",
            "igp",
            "nexthop",
            &nh,
        ])?;
    }
    let took = wait_count(bird, prefixes.len(), Duration::from_secs(300)).map(|_| t.elapsed());
    gobgp.gobgp(&["global", "rib", "-a", "ipv6", "del", "all"]);
    wait_count(bird, 0, Duration::from_secs(300));
    took.map(|d| prefixes.len() as f64 / d.as_secs_f64())
}

fn run_frr(lab: &Lab, bird: &Daemon, prefixes: &[IpNet]) -> Option<Duration> {
    let mut frr = Daemon::start(
        lab,
        DaemonConfig::new(Kind::Frr, "client", SENDER_AS)
            .neighbor(Neighbor::new(ip6("router"), ROUTER_AS)),
    );
    frr.wait_established(ip6("router"), Duration::from_secs(30));
    bird.wait_established(ip6("client"), Duration::from_secs(30));
    let file = frr.dir.join("networks.conf");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
        writeln!(f, "router bgp {SENDER_AS}\n address-family ipv6 unicast").expect("write");
        for p in prefixes {
            writeln!(f, "  network {p}").expect("write");
        }
        writeln!(f, " exit-address-family").expect("write");
    }
    let vty = frr.dir.to_str().expect("utf-8").to_string();
    let f = file.to_str().expect("utf-8").to_string();
    assert_empty(bird);
    let t = Instant::now();
    let status = std::process::Command::new("vtysh")
        .args(["--vty_socket", &vty, "-f", &f])
        .stdout(std::process::Stdio::null())
        .status();
    if !status.is_ok_and(|s| s.success()) {
        return None;
    }
    let took = wait_count(bird, prefixes.len(), Duration::from_secs(600)).map(|_| t.elapsed());
    frr.kill();
    wait_count(bird, 0, Duration::from_secs(300));
    took
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("timeout".to_string(), |d| format!("{:.3}", d.as_secs_f64()))
}

fn ratio(other: Option<Duration>, ours: Option<Duration>) -> String {
    match (other, ours) {
        (Some(o), Some(u)) => format!("{:.1}x", o.as_secs_f64() / u.as_secs_f64()),
        _ => "-".to_string(),
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Some(lab) = Lab::up(
        "bench",
        &[
            "bird",
            "birdc",
            "gobgpd",
            "gobgp",
            "vtysh",
            "/usr/lib/frr/bgpd",
        ],
    ) else {
        println!("bgp_lab: skipped (needs root and bird2, frr, gobgpd)");
        return;
    };
    let bird = Daemon::start(
        &lab,
        DaemonConfig::new(Kind::Bird, "router", ROUTER_AS)
            .neighbor(Neighbor::new(ip6("node1"), SENDER_AS).passive())
            .neighbor(Neighbor::new(ip6("node2"), SENDER_AS).passive())
            .neighbor(Neighbor::new(ip6("client"), SENDER_AS).passive()),
    );
    let gobgp = gobgp_daemon(&lab);
    let cli_rate = run_gobgp_cli(&bird, &gobgp, &lab::v6_prefixes(1000));
    println!(
        "gobgp global rib add, one process per prefix, 1,000 prefixes: {}",
        cli_rate.map_or("timeout".to_string(), |r| format!(
            "{r:.0} prefixes/s (100,000 would take about {:.0} s)",
            100_000.0 / r
        ))
    );
    println!();
    println!("BIRD 2.0.12 receiver; time from the advertise command until `show route count` = N");
    println!("N IPv6 /128s in 2001:db8:100::/64, eBGP, one session per sender");
    println!();
    println!(
        "| N | lb-bgp (s) | GoBGP mrt inject (s) | FRR vtysh network (s) | GoBGP / lb-bgp | FRR / lb-bgp |"
    );
    println!("|---|---|---|---|---|---|");
    for n in SIZES {
        let prefixes = lab::v6_prefixes(n);
        let ours = run_ours(&lab, &bird, &prefixes);
        eprintln!("N={n}: lb-bgp {}", secs(ours));
        let gob = run_gobgp_mrt(&lab, &bird, &gobgp, &prefixes);
        eprintln!("N={n}: GoBGP {}", secs(gob));
        let frr = run_frr(&lab, &bird, &prefixes);
        eprintln!("N={n}: FRR {}", secs(frr));
        println!(
            "| {n} | {} | {} | {} | {} | {} |",
            secs(ours),
            secs(gob),
            secs(frr),
            ratio(gob, ours),
            ratio(frr, ours)
        );
    }
}
