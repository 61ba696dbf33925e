//! `controller_race`: N `LoadBalancer` Services exist (created while no controller runs), then a
//! controller starts; the time until every Service has an address. Contenders, each on a fresh
//! lab control plane: our `controller` (release build of `lb-bins`), upstream MetalLB v0.15.2's
//! controller (built by the lab), and the floor: a plain loop that lists the Services and
//! writes the same status (`PUT …/status`, 64 in flight) itself.
//!
//! `LB_RACE_SERVICES` (default 1000), `LB_RACE_SAMPLES` (default 1) and `LB_RACE_ONLY` (a
//! comma-separated subset of `floor,ours,metallb`) tune it; a contender not done within
//! 600 s + 0.1 s per Service gives no result. Needs root and the lab's Kubernetes binaries;
//! without them it prints why and exits.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Service};
use kube::api::{Api, ListParams, PostParams};
use lb_lab::kube::{ControlPlane, Process};

const NS: &str = "metallb-system";
const POOL: &str = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: race, namespace: metallb-system}\nspec:\n  addresses: ['2001:db8:1::/112', 192.0.2.0/24]\n";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Contender {
    Ours,
    MetalLb,
    Floor,
}

fn our_controller() -> PathBuf {
    // target/release/deps/controller_race-… → target/release/controller
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let bin = dir.join("controller");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .args(["build", "--release", "-p", "lb-bins", "--bin", "controller"])
        .status()
        .unwrap();
    assert!(st.success());
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn assigned(s: &Service) -> bool {
    s.status
        .as_ref()
        .and_then(|st| st.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .is_some_and(|i| !i.is_empty())
}

async fn run(who: Contender, n: usize, ours: &Path) -> Option<(Duration, u64, f64)> {
    let cp = ControlPlane::start()?;
    cp.apply_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NS}}}\n"
    ))
    .unwrap();
    let crds = match who {
        Contender::MetalLb => lb_lab::kube::metallb_crds().ok()?,
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds"),
    };
    for entry in std::fs::read_dir(&crds).unwrap() {
        cp.apply_yaml(&std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .unwrap();
    }
    let out = cp.kubectl(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/ipaddresspools.metallb.io",
    ]);
    assert!(out.status.success());
    cp.apply_yaml(POOL).unwrap();
    let client = cp.client().await;
    let api: Api<Service> = Api::namespaced(client.clone(), "default");
    futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                // The lab's IPv4 service range is small: IPv6 Services; and no node ports (the
                // default range holds 2,768).
                let svc: Service = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": format!("svc-{i:05}")},
                    "spec": {"type": "LoadBalancer", "ipFamilyPolicy": "SingleStack",
                             "ipFamilies": ["IPv6"], "allocateLoadBalancerNodePorts": false,
                             "ports": [{"port": 80, "protocol": "TCP"}]},
                }))
                .unwrap();
                api.create(&PostParams::default(), &svc).await.unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    let kubeconfig = cp.kubeconfig().display().to_string();
    let args = vec![
        format!("--namespace={NS}"),
        "--webhook-mode=disabled".to_string(),
        "--disable-cert-rotation".to_string(),
        format!("--port={}", free_port()),
        format!(
            "--log-level={}",
            std::env::var("LB_RACE_LOG").unwrap_or_else(|_| "error".into())
        ),
    ];
    // MetalLB v0.15's controller has no --health-probe-port.
    let mut ours_args = args.clone();
    ours_args.push(format!("--health-probe-port={}", free_port()));
    let t0 = Instant::now();
    let mut process = match who {
        Contender::Ours => Some(
            Process::spawn(
                ours,
                &ours_args,
                &[("KUBECONFIG", &kubeconfig)],
                &cp.dir().join("ours.log"),
            )
            .unwrap(),
        ),
        Contender::MetalLb => Some(
            Process::spawn(
                &lb_lab::kube::metallb_binaries().ok()?.join("controller"),
                &args,
                &[("KUBECONFIG", &kubeconfig), ("METALLB_NAMESPACE", NS)],
                &cp.dir().join("metallb.log"),
            )
            .unwrap(),
        ),
        Contender::Floor => {
            // The race's Services only (not the `kubernetes` ClusterIP Service).
            let list: Vec<Service> = api
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .filter(|s| {
                    s.spec.as_ref().and_then(|sp| sp.type_.as_deref()) == Some("LoadBalancer")
                })
                .collect();
            futures::stream::iter(list.into_iter().enumerate())
                .map(|(i, mut s)| {
                    let api = api.clone();
                    async move {
                        let ip = format!("2001:db8:1::{:x}", i);
                        let mut st = s.status.take().unwrap_or_default();
                        st.load_balancer = Some(LoadBalancerStatus {
                            ingress: Some(vec![LoadBalancerIngress {
                                ip: Some(ip),
                                ..LoadBalancerIngress::default()
                            }]),
                        });
                        s.status = Some(st);
                        s.metadata
                            .annotations
                            .get_or_insert_with(Default::default)
                            .insert("metallb.io/ip-allocated-from-pool".into(), "race".into());
                        let name = s.metadata.name.clone().unwrap();
                        api.replace_status(&name, &PostParams::default(), &s)
                            .await
                            .unwrap();
                    }
                })
                .buffer_unordered(64)
                .collect::<Vec<()>>()
                .await;
            None
        }
    };
    let mut peak_rss = 0;
    let mut cpu = 0.0;
    let limit = Duration::from_secs(600) + Duration::from_millis(100) * n as u32;
    loop {
        let list = api.list(&ListParams::default()).await.unwrap().items;
        if let Some(p) = process.as_ref().and_then(|p| p.pid()) {
            peak_rss = peak_rss.max(rss_kib(p));
        }
        if list.iter().filter(|s| assigned(s)).count() >= n {
            if let Some(p) = process.as_ref().and_then(|p| p.pid()) {
                cpu = cpu_seconds(p);
            }
            break;
        }
        if let Some(p) = process.as_mut()
            && let Some(why) = p.exited()
        {
            eprintln!("{who:?} stopped: {why}\n{}", p.log_tail());
            return None;
        }
        if t0.elapsed() > limit {
            eprintln!("{who:?}: not done in {} s", limit.as_secs());
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = t0.elapsed();
    if std::env::var("LB_RACE_LOG").is_ok() && who == Contender::Ours {
        let log = std::fs::read_to_string(cp.dir().join("ours.log")).unwrap_or_default();
        for line in log.lines().filter(|l| {
            [
                "starting",
                "first snapshot",
                "pass done",
                "ready",
                "\"listed\"",
            ]
            .iter()
            .any(|w| l.contains(w))
        }) {
            eprintln!("{line}");
        }
    }
    Some((took, peak_rss, cpu))
}

/// User + system CPU seconds the process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command's closing parenthesis; utime and stime are the 14th and 15th
    // fields of the line, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    if let Err(why) = lb_lab::kube::binaries() {
        eprintln!("controller_race: skipped: {why}");
        return;
    }
    let n: usize = std::env::var("LB_RACE_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let samples: usize = std::env::var("LB_RACE_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let ours = our_controller();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut results = Vec::new();
    let only = std::env::var("LB_RACE_ONLY")
        .unwrap_or_default()
        .to_lowercase();
    for who in [Contender::Floor, Contender::Ours, Contender::MetalLb] {
        let name = format!("{who:?}").to_lowercase();
        if !only.is_empty() && !only.split(',').any(|o| o.trim() == name) {
            continue;
        }
        let mut times = Vec::new();
        let mut rss = 0;
        let mut cpus = Vec::new();
        for _ in 0..samples {
            match rt.block_on(run(who, n, &ours)) {
                Some((t, r, c)) => {
                    times.push(t);
                    rss = rss.max(r);
                    cpus.push(c);
                }
                None => break,
            }
        }
        if times.is_empty() {
            println!("controller_race/{n}/{who:?}: no result");
            continue;
        }
        let m = median(&mut times);
        cpus.sort_by(f64::total_cmp);
        let cpu = cpus.get(cpus.len() / 2).copied().unwrap_or(0.0);
        println!(
            "controller_race/{n}/{who:?}: median {:.3} s over {} sample(s), peak RSS {} KiB, median CPU {:.2} s",
            m.as_secs_f64(),
            times.len(),
            rss,
            cpu
        );
        results.push((who, m));
    }
    let get = |w| {
        results
            .iter()
            .find(|(c, _)| *c == w)
            .map(|(_, m)| m.as_secs_f64())
    };
    if let (Some(o), Some(f)) = (get(Contender::Ours), get(Contender::Floor)) {
        println!("controller_race/{n}: ours / floor = {:.2}x", o / f);
    }
    if let (Some(o), Some(m)) = (get(Contender::Ours), get(Contender::MetalLb)) {
        println!("controller_race/{n}: MetalLB / ours = {:.2}x", m / o);
    }
}
