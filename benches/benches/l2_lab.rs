//! Layer 2 reply latency in the network-namespace lab: the client's `arping` round trip to a
//! VIP answered by `lb-arp`, against the round trip to an address the node's kernel owns (the
//! kernel answers in softirq context: the floor), in the same run; and how long `announce`
//! takes to put the first gratuitous ARP on the wire. Once with the driver's defaults (per-CPU
//! readers at real-time priority), once with `realtime_readers: false`.
//!
//! Needs root, `ip` and `arping` (Habets); prints "skipped" without them.
//! Run with `cargo bench -p lb-benches --bench l2_lab`.

use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "../../lb-arp/tests/lab/mod.rs"]
#[allow(missing_docs)]
mod lab;

use lab::{Lab, ip4};
use lb_arp::driver::{DriverConfig, InterfaceFilter};

const VIP: &str = "192.0.2.100";
const SAMPLES: usize = 60;

/// Starts the driver in `host`'s namespace, announces the VIP and returns the time `announce`
/// took, plus a sender that stops the driver.
fn start(lab: &Lab, host: &str, realtime: bool) -> (Duration, mpsc::Sender<()>) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let path = lab.netns_path(host);
    std::thread::spawn(move || {
        lb_lab::net::enter_netns(&path);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let config = DriverConfig {
                interfaces: InterfaceFilter::only(["eth0"]),
                realtime_readers: realtime,
                ..DriverConfig::default()
            };
            let (handle, _events) = lb_arp::driver::spawn(config).await.expect("driver starts");
            let t = Instant::now();
            handle
                .announce(VIP.parse().expect("literal"))
                .expect("announce");
            ready_tx.send(t.elapsed()).expect("ready");
            while stop_rx.try_recv().is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            handle.shutdown();
        });
    });
    let takeover = ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("driver ready");
    (takeover, stop_tx)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // probed by `cargo test --benches`: nothing to list or test
    }
    println!(
        "{:<28} {:>10} {:>10} {:>7} {:>12}",
        "driver", "ours us", "kernel us", "ratio", "takeover"
    );
    for realtime in [true, false] {
        let Some(lab) = Lab::up(if realtime { "b1" } else { "b2" }, &["arping"]) else {
            println!("lab unavailable (needs root, ip and arping): skipped");
            return;
        };
        lab.accept_vip("node1", VIP);
        let (takeover, stop) = start(&lab, "node1", realtime);
        let (mut ours, mut kernel) = (Vec::new(), Vec::new());
        for _ in 0..SAMPLES {
            ours.extend(lab.arping_rtt_us("client", VIP));
            kernel.extend(lab.arping_rtt_us("client", &ip4("node1")));
        }
        let _ = stop.send(());
        let (o, k) = (median(ours), median(kernel));
        let name = if realtime {
            "per-CPU readers, real-time"
        } else {
            "per-CPU readers, normal"
        };
        println!(
            "{name:<28} {o:>10.1} {k:>10.1} {:>6.2}x {:>10.1}us",
            o / k,
            takeover.as_secs_f64() * 1e6
        );
        std::thread::sleep(Duration::from_millis(200)); // let the driver stop before teardown
    }
}
