//! Layer 2 reply latency in the network-namespace lab, measured from wire timestamps at the
//! client: the time from the request leaving the client's eth0 to the reply arriving there, as
//! the kernel timestamps both frames (SO_TIMESTAMPNS on an AF_PACKET socket in the client's
//! namespace: the request when it is handed to the driver, the reply when it enters the stack).
//! No client process's clock or wake-up is in the figure, and everything our reader thread does
//! before sending is.
//!
//! For ARP (request → reply) and NDP (NS → NA): our responder answering for a VIP against the
//! node's kernel answering for its own address (in softirq context: the floor), requests
//! interleaved; with the driver's real-time readers on and off; idle, and with unrelated traffic
//! on the same bridge (a UDP flood between two other hosts, bounded in count and time). Prints
//! the medians and the ratio; the goal is at most 1.5x the kernel in every row.
//!
//! Needs root and `ip`; prints "skipped" without them.
//! Run with `cargo bench -p lb-benches --bench l2_lab`.

use std::net::{Ipv4Addr, Ipv6Addr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lb_arp::{ArpFrameRepr, ArpRepr};
use lb_l2::sys::{BpfInsn, PacketSocket};
use lb_l2::{EtherType, EthernetRepr, MacAddress};
use lb_lab::l2host::L2Host;
use lb_ndp::driver::InterfaceFilter;
use lb_ndp::{NdiscRepr, NdpFrameRepr};

const SAMPLES: usize = 400;
const VIP4: &str = "192.0.2.100";
const VIP6: &str = "2001:db8:1::100";
/// The flood stops after this many datagrams or this long, whichever comes first.
const FLOOD_MAX: u64 = 20_000_000;
const FLOOD_SECS: u64 = 60;

fn mac(i: u8) -> MacAddress {
    MacAddress([2, 0, 0, 0, 0, i])
}
fn ip4(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, i)
}
fn ip6(i: u8) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, u16::from(i))
}
const CLIENT: u8 = 10;
const NODE: u8 = 11;
const GEN1: u8 = 20;
const GEN2: u8 = 21;

struct Lab {
    net: lb_lab::Namespaces,
}

impl Lab {
    fn up(tag: &str) -> Option<Lab> {
        let prefix = format!("lbb{}{tag}", std::process::id());
        let hosts = ["client", "node1", "gen1", "gen2"];
        let net = match lb_lab::Namespaces::create(prefix, &hosts, &[]) {
            Ok(net) => net,
            Err(why) => {
                println!("lab unavailable ({why}): skipped");
                return None;
            }
        };
        net.switch();
        for (host, i) in [
            ("client", CLIENT),
            ("node1", NODE),
            ("gen1", GEN1),
            ("gen2", GEN2),
        ] {
            net.add_host(
                host,
                &mac(i).to_string(),
                &format!("{}/24", ip4(i)),
                &format!("{}/64", ip6(i)),
            );
        }
        let node = net.ns("node1");
        lb_lab::run_ok(&[
            "ip",
            "netns",
            "exec",
            &node,
            "sysctl",
            "-qw",
            "net.ipv4.conf.all.arp_ignore=1",
            "net.ipv4.conf.all.arp_announce=2",
        ]);
        for vip in [format!("{VIP4}/32"), format!("{VIP6}/128")] {
            let fam = if vip.contains(':') { "-6" } else { "-4" };
            lb_lab::run_ok(&[
                "ip", "-n", &node, fam, "route", "replace", "local", &vip, "dev", "lo",
            ]);
        }
        Some(Lab { net })
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Proto {
    Arp,
    Ndp,
}

fn request(proto: Proto, target_v4: Ipv4Addr, target_v6: Ipv6Addr) -> Vec<u8> {
    match proto {
        Proto::Arp => {
            let f = ArpFrameRepr {
                ethernet: EthernetRepr::new(mac(CLIENT), MacAddress::BROADCAST, EtherType::Arp),
                arp: ArpRepr::request(mac(CLIENT), ip4(CLIENT), target_v4),
            };
            let mut buf = [0u8; 60];
            let n = f.emit(&mut buf).expect("fits");
            buf[..n.max(60)].to_vec()
        }
        Proto::Ndp => {
            let f = NdpFrameRepr {
                ethernet: EthernetRepr::new(
                    mac(CLIENT),
                    lb_ndp::solicited_node_mac(target_v6),
                    EtherType::Ipv6,
                ),
                src_addr: ip6(CLIENT),
                dst_addr: lb_ndp::solicited_node(target_v6),
                message: NdiscRepr::NeighborSolicit {
                    target_addr: target_v6,
                    lladdr: Some(mac(CLIENT)),
                },
            };
            let mut buf = vec![0u8; f.buffer_len()];
            f.emit(&mut buf).expect("fits");
            buf
        }
    }
}

/// Is `frame` node1's answer to the client for `v4` / `v6`?
fn is_reply(proto: Proto, frame: &[u8], v4: Ipv4Addr, v6: Ipv6Addr) -> bool {
    if frame.get(6..12) != Some(&mac(NODE).0[..]) {
        return false;
    }
    match proto {
        Proto::Arp => ArpFrameRepr::parse(frame).is_ok_and(|f| {
            f.arp.source_protocol_addr == v4 && f.arp.target_hardware_addr == mac(CLIENT)
        }),
        Proto::Ndp => NdpFrameRepr::parse(frame).is_ok_and(|f| {
            matches!(f.message, NdiscRepr::NeighborAdvert { flags, target_addr, .. }
                if flags.solicited && target_addr == v6)
        }),
    }
}

/// Classic BPF for the capture socket: ARP, or IPv6 + ICMPv6 type 135/136.
const CAPTURE: [BpfInsn; 10] = [
    BpfInsn::new(0x28, 0, 0, 12),
    BpfInsn::new(0x15, 6, 0, 0x0806), // ARP -> accept
    BpfInsn::new(0x15, 0, 6, 0x86dd), // IPv6, else drop
    BpfInsn::new(0x30, 0, 0, 20),
    BpfInsn::new(0x15, 0, 4, 58), // ICMPv6, else drop
    BpfInsn::new(0x30, 0, 0, 54),
    BpfInsn::new(0x15, 1, 0, 135),
    BpfInsn::new(0x15, 0, 1, 136),
    BpfInsn::ACCEPT,
    BpfInsn::DROP,
];
const DROP_ALL: [BpfInsn; 1] = [BpfInsn::DROP];

/// One exchange: sends `req` and returns the wire time from the request's timestamp to the
/// reply's, if both are seen within 200 ms.
fn exchange(
    tx: &PacketSocket,
    cap: &PacketSocket,
    proto: Proto,
    req: &[u8],
    v4: Ipv4Addr,
    v6: Ipv6Addr,
) -> Option<f64> {
    let mut buf = [0u8; 2048];
    // Drain whatever is queued (gratuitous packets, earlier late replies).
    while cap.recv_nonblocking(&mut buf).is_some() {}
    tx.send(req).ok()?;
    let after_send = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    let (mut sent, mut got) = (None, None);
    let end = Instant::now() + Duration::from_millis(200);
    while Instant::now() < end && (sent.is_none() || got.is_none()) {
        let Ok(r) = cap.recv(&mut buf) else { continue };
        let frame = &buf[..r.len];
        if r.pkttype == 4 && frame == req {
            sent = r.timestamp;
        } else if r.pkttype != 4 && is_reply(proto, frame, v4, v6) {
            got = r.timestamp;
        }
    }
    let (s, g) = (sent?, got?);
    // A frame the kernel did not stamp on its way in is stamped when read: such a request
    // stamp is later than the send returned. Not a wire time; leave the sample out.
    if s > after_send {
        return None;
    }
    Some(g.checked_sub(s)?.as_secs_f64() * 1e6)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs `f` in the namespace at `path` on a new thread and waits for it.
fn in_ns<T: Send + 'static>(path: String, f: impl FnOnce() -> T + Send + 'static) -> T {
    lb_lab::net::in_netns(path, f)
        .join()
        .expect("namespace thread")
}

/// A UDP flood from gen1 to gen2 until `stop`, at most FLOOD_MAX datagrams and FLOOD_SECS.
fn flood(lab: &Lab, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    let sink = lab.net.netns_path("gen2");
    let stop2 = stop.clone();
    // A socket on gen2 that takes the datagrams (no ICMP port unreachable) and drops them.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    lb_lab::net::in_netns(sink, move || {
        let s = UdpSocket::bind((ip4(GEN2), 9000)).expect("bind gen2");
        s.set_read_timeout(Some(Duration::from_millis(100))).ok();
        ready_tx.send(()).ok();
        let mut buf = [0u8; 2048];
        while !stop2.load(Ordering::Relaxed) {
            let _ = s.recv(&mut buf);
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(5)).expect("sink");
    lb_lab::net::in_netns(lab.net.netns_path("gen1"), move || {
        let s = UdpSocket::bind((ip4(GEN1), 0)).expect("bind gen1");
        let payload = [0u8; 512];
        let end = Instant::now() + Duration::from_secs(FLOOD_SECS);
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) && n < FLOOD_MAX && Instant::now() < end {
            if s.send_to(&payload, (ip4(GEN2), 9000)).is_ok() {
                n += 1;
            }
        }
        n
    })
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // probed by `cargo test --benches`: nothing to list or test
    }
    // The kernel stamps frames on their way in only while some socket wants timestamps, and
    // it turns stamping on and off lazily (from a work queue) as such sockets come and go:
    // keep one open for the whole run, so every capture socket below finds it on.
    let Ok(_keep_stamping) = PacketSocket::open(1, 0x0003, &DROP_ALL) else {
        println!("no packet sockets (needs root): skipped");
        return;
    };
    let _ = _keep_stamping.enable_timestamps();
    std::thread::sleep(Duration::from_millis(200));
    println!(
        "wire time at the client, request on the wire to reply on the wire; median of {SAMPLES} each"
    );
    println!(
        "{:<5} {:<9} {:<9} {:>9} {:>10} {:>7}",
        "proto", "readers", "link", "ours us", "kernel us", "ratio"
    );
    for realtime in [true, false] {
        let Some(lab) = Lab::up(if realtime { "r" } else { "n" }) else {
            return;
        };
        let cfg = |names: [&str; 1]| InterfaceFilter::only(names);
        let arp = L2Host::<lb_arp::Arp>::start(
            lab.net.netns_path("node1"),
            lb_arp::driver::DriverConfig {
                interfaces: cfg(["eth0"]),
                realtime_readers: realtime,
                ..Default::default()
            },
        );
        let ndp = L2Host::<lb_ndp::Ndp>::start(
            lab.net.netns_path("node1"),
            lb_ndp::driver::DriverConfig {
                interfaces: cfg(["eth0"]),
                realtime_readers: realtime,
                ..Default::default()
            },
        );
        arp.handle
            .announce(VIP4.parse().expect("ip"))
            .expect("announce");
        ndp.handle
            .announce(VIP6.parse().expect("ip"))
            .expect("announce");
        // Let the gratuitous schedules end.
        std::thread::sleep(Duration::from_secs(6));
        for loaded in [false, true] {
            let stop = Arc::new(AtomicBool::new(false));
            let flooder = loaded.then(|| flood(&lab, stop.clone()));
            if loaded {
                std::thread::sleep(Duration::from_millis(300));
            }
            for proto in [Proto::Arp, Proto::Ndp] {
                let (ours, kernel) = in_ns(lab.net.netns_path("client"), move || {
                    let eth0 = lb_l2::netlink::links()
                        .expect("links")
                        .into_iter()
                        .find(|l| l.name == "eth0")
                        .expect("eth0");
                    let tx = PacketSocket::open(eth0.index, 0x0003, &DROP_ALL).expect("tx");
                    let cap = PacketSocket::open(eth0.index, 0x0003, &CAPTURE).expect("capture");
                    cap.enable_timestamps().expect("timestamps");
                    let vip = (VIP4.parse().expect("ip"), VIP6.parse().expect("ip"));
                    let own = (ip4(NODE), ip6(NODE));
                    let req_ours = request(proto, vip.0, vip.1);
                    let req_kernel = request(proto, own.0, own.1);
                    let (mut ours, mut kernel) = (vec![], vec![]);
                    for _ in 0..SAMPLES {
                        ours.extend(exchange(&tx, &cap, proto, &req_ours, vip.0, vip.1));
                        kernel.extend(exchange(&tx, &cap, proto, &req_kernel, own.0, own.1));
                    }
                    (ours, kernel)
                });
                let (n_ours, n_kernel) = (ours.len(), kernel.len());
                if std::env::var("L2_LAB_DEBUG").is_ok() {
                    let q = |v: &Vec<f64>| {
                        let mut v = v.clone();
                        v.sort_by(f64::total_cmp);
                        [0.0, 0.1, 0.5, 0.9, 1.0].map(|p| v[((v.len() - 1) as f64 * p) as usize])
                    };
                    eprintln!("ours {:?} kernel {:?}", q(&ours), q(&kernel));
                }
                let (o, k) = (median(ours), median(kernel));
                let flooded = if loaded { "udp flood" } else { "idle" };
                println!(
                    "{:<5} {:<9} {:<9} {o:>9.1} {k:>10.1} {:>6.2}x{}",
                    if proto == Proto::Arp { "ARP" } else { "NDP" },
                    if realtime { "real-time" } else { "normal" },
                    flooded,
                    o / k,
                    if n_ours < SAMPLES / 2 || n_kernel < SAMPLES / 2 {
                        format!("  (only {n_ours}/{n_kernel} answers)")
                    } else {
                        String::new()
                    }
                );
            }
            stop.store(true, Ordering::Relaxed);
            if let Some(f) = flooder {
                let sent = f.join().expect("flood");
                println!(
                    "{:<5} {:<9} {:<8} {:>50}",
                    "",
                    "",
                    "",
                    format!("udp datagrams sent: {sent}")
                );
            }
        }
        drop(arp);
        drop(ndp);
    }
}
