//! `speaker_race`: Layer 2 failover on Kubernetes, our speaker against upstream MetalLB's, in
//! the same lab ([`lb_lab::cluster`]: real control plane, three node namespaces, our
//! controller). Per contender, a fresh cluster with three speakers; then, `LB_RACE_TRIALS`
//! times (default 20): a client loop (a fresh TCP connection every 10 ms, 100 ms timeout)
//! runs, the node answering for the Service dies (speaker SIGKILLed, link down), and the time
//! until the client is served again is read from the loop's record, on the wire; the node
//! comes back and the cluster settles before the next trial.
//!
//! Contenders: ours with `--ml-profile fast`, ours with `--ml-profile lan` (HashiCorp's LAN
//! timings, as MetalLB's), upstream MetalLB v0.15.2 (built by the lab). Prints median, p95 and
//! max per contender and the ratio of medians. Needs root and the lab's Kubernetes binaries;
//! without them it prints why and exits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lb_lab::cluster::{Binaries, Cluster, HOSTS, served_again_after};
use lb_lab::e2e::summary;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Contender {
    OursFast,
    OursLan,
    MetalLb,
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::OursFast => "ours (fast)",
            Contender::OursLan => "ours (lan)",
            Contender::MetalLb => "MetalLB v0.15.2",
        }
    }
}

fn release_bins() -> Binaries {
    // target/release/deps/speaker_race-… → target/release/
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .args(["build", "--release", "-p", "lb-bins", "--bins"])
        .status()
        .unwrap();
    assert!(st.success());
    Binaries {
        speaker: dir.join("speaker"),
        controller: dir.join("controller"),
        deploy: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy"),
    }
}

fn start(lab: &mut Cluster, who: Contender, i: usize, metallb: &Path) {
    match who {
        Contender::OursFast => lab.start_speaker(i, &["--log-level", "info"]),
        Contender::OursLan => lab.start_speaker(i, &["--ml-profile", "lan", "--log-level", "info"]),
        Contender::MetalLb => lab.start_metallb_speaker(i, metallb),
    }
}

async fn race(
    who: Contender,
    trials: usize,
    bins: &Binaries,
    metallb: &Path,
) -> Option<Vec<Duration>> {
    let mut lab = Cluster::start("sr", bins.clone()).await?;
    for i in 0..HOSTS.len() {
        start(&mut lab, who, i, metallb);
    }
    let web = lab.ingress("web").await;
    lab.wait_served(web, "start", |_| true);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut out = Vec::new();
    for trial in 0..trials {
        let owner = lab.wait_served(web, "before the trial", |_| true);
        let i = HOSTS.iter().position(|h| *h == owner).unwrap();
        let probe = lab.client_loop(web);
        std::thread::sleep(Duration::from_millis(200));
        lab.kill_host(i);
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs(60);
        while lab.served_by(web).is_none_or(|h| h == owner) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        let record = probe.finish();
        match served_again_after(&record, t0) {
            Some(d) => {
                eprintln!(
                    "  {} trial {trial}: {owner} died, served again after {d:?}",
                    who.name()
                );
                out.push(d);
            }
            None => eprintln!(
                "  {} trial {trial}: not served again within 60 s",
                who.name()
            ),
        }
        lab.revive_host(i);
        start(&mut lab, who, i, metallb);
        // Let the node rejoin and the cluster settle (one owner again).
        let t = Instant::now();
        while lab.mac_answers(web).len() != 1 && t.elapsed() < Duration::from_secs(60) {}
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    Some(out)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("speaker_race: bench");
        return;
    }
    let metallb = match lb_lab::kube::metallb_binaries() {
        Ok(m) => m,
        Err(why) => {
            eprintln!("speaker_race skipped: {why}");
            return;
        }
    };
    if lb_lab::kube::binaries().is_err() || !lb_lab::has_tool("arping") {
        eprintln!("speaker_race skipped: needs root, arping and the lab's Kubernetes binaries");
        return;
    }
    let trials: usize = std::env::var("LB_RACE_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let bins = release_bins();
    let mut rows = Vec::new();
    for who in [Contender::OursFast, Contender::OursLan, Contender::MetalLb] {
        match race(who, trials, &bins, &metallb).await {
            Some(v) if !v.is_empty() => rows.push((who, v.len(), summary(v))),
            _ => eprintln!("{}: no result", who.name()),
        }
    }
    println!(
        "\nspeaker_race: L2 failover on Kubernetes, client served again after the owner dies ({trials} trials each)"
    );
    println!(
        "{:<18} {:>6} {:>12} {:>12} {:>12}",
        "contender", "n", "median", "p95", "max"
    );
    for (who, n, (median, p95, max)) in &rows {
        println!(
            "{:<18} {:>6} {:>12.3?} {:>12.3?} {:>12.3?}",
            who.name(),
            n,
            median,
            p95,
            max
        );
    }
    let median = |c: Contender| rows.iter().find(|r| r.0 == c).map(|r| r.2.0);
    if let (Some(ours), Some(theirs)) = (median(Contender::OursFast), median(Contender::MetalLb)) {
        println!(
            "ratio of medians MetalLB / ours (fast): {:.1}x",
            theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9)
        );
    }
    if let (Some(ours), Some(theirs)) = (median(Contender::OursLan), median(Contender::MetalLb)) {
        println!(
            "ratio of medians MetalLB / ours (lan): {:.1}x",
            theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9)
        );
    }
}
