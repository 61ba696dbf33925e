//! The main job, end to end, on one machine: `cargo run -p lb-bins --example demo` (as root).
//!
//! Builds a throwaway lab of network namespaces ([`lb_lab::e2e`]): three hosts on one segment,
//! each running the speaker on the same manifest folder (the embedded `demo/manifests.yaml`: a
//! dual-stack Layer 2 Service and a BGP Service), a BIRD router peering with every host, and a
//! client. Prints each Service's address and the host announcing it, a client's TCP connection
//! to each, the router's ECMP route, then kills the owner of one address and prints the
//! failover time measured by a client loop. Tears everything down at the end, on error and on
//! Ctrl-C. The speakers are this program re-executed (`demo speaker ...`), so nothing else
//! needs building.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use lb_bins::speaker::standalone::assign;
use lb_k8s::source::ManifestSource;
use lb_lab::e2e::{HOSTS, Lab};

const MANIFESTS: &str = include_str!("demo/manifests.yaml");
const TOOLS: [(&str, &str); 5] = [
    ("ip", "iproute2"),
    ("arping", "arping"),
    ("ndisc6", "ndisc6"),
    ("bird", "bird2"),
    ("birdc", "bird2"),
];

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Deletes the namespaces of this run (`demo<pid>-*`) and what runs in them: the Ctrl-C path,
/// where no destructor runs.
fn emergency_teardown(prefix: &str) {
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output();
    let Ok(list) = list else { return };
    for line in String::from_utf8_lossy(&list.stdout).lines() {
        let Some(ns) = line.split_whitespace().next() else {
            continue;
        };
        if !ns.starts_with(&format!("{prefix}-")) {
            continue;
        }
        if let Ok(pids) = std::process::Command::new("ip")
            .args(["netns", "pids", ns])
            .output()
        {
            for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", pid])
                    .status();
            }
        }
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", ns])
            .status();
    }
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "speaker") {
        return lb_bins::speaker::cli::main_with_args(args[1..].to_vec());
    }
    if !is_root() {
        eprintln!(
            "demo: needs root to create network namespaces: sudo -E cargo run -p lb-bins --example demo"
        );
        return ExitCode::FAILURE;
    }
    let missing: Vec<&str> = TOOLS
        .iter()
        .filter(|(tool, _)| !lb_lab::has_tool(tool))
        .map(|(_, package)| *package)
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "demo: missing tools; install them with: apt-get install -y {}",
            missing.join(" ")
        );
        return ExitCode::FAILURE;
    }
    let prefix = format!("demo{}", std::process::id() % 100_000);
    {
        let prefix = prefix.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    let _ = tokio::signal::ctrl_c().await;
                });
                eprintln!("\ninterrupted: tearing the lab down");
                emergency_teardown(&prefix);
                std::process::exit(130);
            }
        });
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("lb-demo-{}", std::process::id()));
    let manifests = dir.join("manifests");
    std::fs::create_dir_all(&manifests).map_err(|e| e.to_string())?;
    std::fs::write(manifests.join("demo.yaml"), MANIFESTS).map_err(|e| e.to_string())?;
    let result = demo(&dir, &manifests);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn demo(dir: &std::path::Path, manifests: &std::path::Path) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let speaker = [exe.display().to_string(), "speaker".to_string()];
    println!("building the lab: hosts h1 h2 h3, router r (BIRD, AS 64512), client c");
    let mut lab = Lab::start("demo", &speaker, dir).ok_or("the lab could not be built")?;
    for i in 0..HOSTS.len() {
        lab.start_speaker(i, manifests, &["--log-level", "info"]);
    }
    let objects = ManifestSource::load(manifests).map_err(|e| e.to_string())?;
    let services: BTreeMap<String, Vec<IpAddr>> = assign(&objects, None)
        .services
        .iter()
        .map(|s| {
            let name = format!(
                "{}/{}",
                s.metadata.namespace.as_deref().unwrap_or_default(),
                s.metadata.name.as_deref().unwrap_or_default()
            );
            (name, lb_k8s::service::ingress_ips(s).unwrap_or_default())
        })
        .collect();
    println!("\nevery host computed the same addresses from the manifests:");
    let mut owners = Vec::new();
    for (name, ips) in &services {
        for ip in ips {
            let host = lab.wait_served(*ip, name, |_| true);
            let how = if ip.to_string().starts_with("198.51.100.") {
                "BGP through the router"
            } else {
                "Layer 2"
            };
            if how == "Layer 2" {
                println!(
                    "  {name:<12} {ip:<18} announced by {host} (Layer 2); a client connected, {host} answered"
                );
            } else {
                println!(
                    "  {name:<12} {ip:<18} advertised by every host (BGP); a client connected through the router, {host} answered"
                );
            }
            owners.push((*ip, host, how));
        }
    }
    let routed: Vec<&(IpAddr, String, &str)> =
        owners.iter().filter(|o| o.2.starts_with("BGP")).collect();
    for (ip, _, _) in routed {
        let table = lab.net.exec("r", &["ip", "route", "show", &ip.to_string()]);
        println!(
            "\nthe router's route to {ip} (ECMP over every host):\n{}",
            String::from_utf8_lossy(&table.stdout).trim_end()
        );
    }
    let (ip, owner, _) = owners
        .iter()
        .find(|o| o.2 == "Layer 2" && o.0.is_ipv4())
        .ok_or("no Layer 2 address")?
        .clone();
    let i = HOSTS.iter().position(|h| *h == owner).unwrap_or(0);
    println!(
        "\nkilling {owner} (its speaker SIGKILLed, its link down) while a client connects to {ip} every 10 ms"
    );
    let probe = lab.client_loop(ip);
    std::thread::sleep(Duration::from_millis(300));
    lab.kill_host(i);
    let t0 = Instant::now();
    let next = lab.wait_served(ip, "failover", |h| h != owner);
    std::thread::sleep(Duration::from_millis(100));
    let record = probe.finish();
    match lb_lab::e2e::served_again_after(&record, t0) {
        Some(d) => println!(
            "failover: {ip} moved from {owner} to {next}; the client was served again after {} ms",
            d.as_millis()
        ),
        None => println!("failover: {ip} moved from {owner} to {next}"),
    }
    println!("\ntearing the lab down");
    drop(lab);
    Ok(())
}
