//! `failover_race`: Layer 2 failover of the standalone speaker ([`lb_lab::e2e`]: three hosts
//! on one segment, a client), `--ml-profile fast` against `--ml-profile lan` (HashiCorp's LAN
//! timings, those of MetalLB's speakers), side by side in one run. `LB_RACE_TRIALS` times
//! (default 20) per profile: a client loop (a fresh TCP connection every 10 ms, 100 ms
//! timeout) runs, the host answering for the address dies (speaker SIGKILLed, link down), and
//! the time until the client is served again is read from the loop's record, on the wire.
//! Prints median, p95 and max and the ratio of medians. Needs root, `arping`, `ndisc6` and
//! BIRD; without them it prints why and exits. MetalLB's own speaker needs Kubernetes: it
//! races in `speaker_race`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lb_lab::e2e::{HOSTS, Lab, summary};

const MANIFESTS: &str = "
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan}
spec:
  addresses: [192.0.2.192/27]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: lan}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: LoadBalancer
  ports: [{port: 8080}]
";

fn release_speaker() -> PathBuf {
    // target/release/deps/failover_race-… → target/release/speaker
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .args(["build", "--release", "-p", "lb-bins", "--bin", "speaker"])
        .status()
        .unwrap();
    assert!(st.success());
    dir.join("speaker")
}

fn race(profile: &str, trials: usize, speaker: &Path) -> Option<Vec<Duration>> {
    let dir =
        std::env::temp_dir().join(format!("lb-failover-race-{profile}-{}", std::process::id()));
    let manifests = dir.join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::write(manifests.join("lab.yaml"), MANIFESTS).unwrap();
    let mut lab = Lab::start("fr", &[speaker.display().to_string()], &dir)?;
    let extra = ["--ml-profile", profile, "--log-level", "info"];
    for i in 0..HOSTS.len() {
        lab.start_speaker(i, &manifests, &extra);
    }
    let ip = "192.0.2.192".parse().unwrap();
    lab.wait_served(ip, "start", |_| true);
    let mut out = Vec::new();
    for trial in 0..trials {
        let (owner, again) = lb_lab::e2e::failover_trial(
            &mut lb_lab::e2e::Standalone {
                lab: &mut lab,
                manifests: &manifests,
                extra: &extra,
            },
            ip,
        );
        match again {
            Some(d) => {
                eprintln!("  {profile} trial {trial}: {owner} died, served again after {d:?}");
                out.push(d);
            }
            None => eprintln!("  {profile} trial {trial}: not served again"),
        }
    }
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
    Some(out)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("failover_race: bench");
        return;
    }
    let missing: Vec<&str> = ["ip", "arping", "ndisc6", "bird", "birdc"]
        .into_iter()
        .filter(|t| !lb_lab::has_tool(t))
        .collect();
    if !missing.is_empty() {
        eprintln!("failover_race skipped: missing {missing:?} (and root is needed)");
        return;
    }
    let trials: usize = std::env::var("LB_RACE_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let speaker = release_speaker();
    let mut rows = Vec::new();
    for profile in ["fast", "lan"] {
        match race(profile, trials, &speaker) {
            Some(v) if !v.is_empty() => rows.push((profile, v.len(), summary(v))),
            _ => eprintln!("{profile}: no result"),
        }
    }
    println!(
        "\nfailover_race: standalone L2 failover, client served again after the owner dies ({trials} trials each)"
    );
    println!(
        "{:<8} {:>4} {:>12} {:>12} {:>12}",
        "profile", "n", "median", "p95", "max"
    );
    for (profile, n, (median, p95, max)) in &rows {
        println!("{profile:<8} {n:>4} {median:>12.3?} {p95:>12.3?} {max:>12.3?}");
    }
    if let [(_, _, (fast, ..)), (_, _, (lan, ..))] = rows.as_slice() {
        println!(
            "ratio of medians lan / fast: {:.1}x",
            lan.as_secs_f64() / fast.as_secs_f64().max(1e-9)
        );
    }
}
