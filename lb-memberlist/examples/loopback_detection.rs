//! Failure detection over real sockets: N nodes of our driver on 127.0.0.1, one killed (its
//! driver dropped, as a crash), and the time until every survivor reports it dead. A cross-check
//! of the simulator's figures with the kernel, tokio and real clocks in the loop; the simulator
//! (`sim`) is where the many-seed figures come from.
//!
//! ```text
//! cargo run --release -p lb-memberlist --example loopback_detection [N ...] [--runs R] [--lan]
//! ```
//!
//! Prints one row per cluster size: detection time (first and last survivor, median and worst
//! over the runs), members wrongly marked dead after convergence, the bytes each node sends
//! per second while all are alive (median over the runs; a 2 s window, 3 s after everyone was
//! seen alive), and runs that never
//! converged to "everyone alive" before the kill (all nodes share one process and, here, a
//! busy two-core machine: a process starved for longer than the 25 ms probe timeout makes
//! false suspicions, whose refutations and gossip cost more CPU).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lb_memberlist::Error;
use lb_memberlist::driver::{Driver, DriverConfig};
use lb_memberlist::{Config, Event, State};

struct Run {
    /// Bytes sent (datagrams and streams) per node per second, all alive, before the kill.
    bytes_per_node: f64,
    first: Duration,
    last: Duration,
    false_dead: usize,
}

/// One run; `Ok(Err(why))` when the cluster never converged to all-alive before the kill.
async fn run_once(n: usize, config: &Config, victim: usize) -> Result<Result<Run, String>, Error> {
    let mut nodes = Vec::new();
    for i in 0..n {
        let bind = "127.0.0.1:0".parse().expect("a socket address");
        let o = DriverConfig::new(format!("n{i:03}"), bind, config.clone());
        nodes.push(lb_memberlist::driver::spawn(o).await?);
    }
    let seed = nodes[0].advertise_addr();
    for node in &nodes[1..] {
        node.join(&[seed]).await?;
    }
    for node in &nodes {
        let all = node
            .wait_for(Duration::from_secs(60), |ms| {
                ms.iter().filter(|m| m.state == State::Alive).count() == n
            })
            .await;
        if !all {
            let not_alive = node
                .members()
                .iter()
                .filter(|m| m.state != State::Alive)
                .count();
            return Ok(Err(format!(
                "{} never saw all {n} members alive ({not_alive} not alive after 60 s)",
                node.name()
            )));
        }
    }
    // Steady-state traffic: every node's bytes sent over a quiet window, once the joins'
    // gossip has died down.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let window = Duration::from_secs(2);
    let before = total_bytes(&nodes).await?;
    tokio::time::sleep(window).await;
    let bytes_per_node =
        (total_bytes(&nodes).await? - before) as f64 / window.as_secs_f64() / n as f64;
    let victim_name = nodes[victim].name().to_string();
    // Every survivor records when it declares the victim dead, and any other death.
    let wrong: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut watchers = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        if i == victim {
            continue;
        }
        let mut events = node.events();
        let victim_name = victim_name.clone();
        let wrong = wrong.clone();
        watchers.push(tokio::spawn(async move {
            while let Ok(ev) = events.recv().await {
                if let Event::Dead(m) = ev {
                    if m.name == victim_name {
                        return Some(Instant::now());
                    }
                    if let Ok(mut w) = wrong.lock() {
                        w.insert(m.name);
                    }
                }
            }
            None
        }));
    }
    let killed = Instant::now();
    drop(nodes.remove(victim));
    let mut times = Vec::new();
    for w in watchers {
        match tokio::time::timeout(Duration::from_secs(120), w).await {
            Ok(Ok(Some(at))) => times.push(at - killed),
            _ => panic!("a survivor never declared {victim_name} dead"),
        }
    }
    times.sort();
    let false_dead = wrong.lock().map(|w| w.len()).unwrap_or(0);
    Ok(Ok(Run {
        bytes_per_node,
        first: times[0],
        last: times[times.len() - 1],
        false_dead,
    }))
}

async fn total_bytes(nodes: &[Driver]) -> Result<u64, Error> {
    let mut total = 0;
    for node in nodes {
        let s = node.stats().await?;
        total += s.packet_bytes_sent + s.stream_bytes_sent;
    }
    Ok(total)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut sizes = Vec::new();
    let mut runs = 5;
    let mut lan = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|r| r.parse().ok()).unwrap_or(runs),
            "--lan" => lan = true,
            n => sizes.extend(n.parse::<usize>().ok()),
        }
    }
    if sizes.is_empty() {
        sizes = vec![5, 20, 50];
    }
    let (preset, config) = if lan {
        ("lan", Config::lan())
    } else {
        ("fast", Config::fast())
    };
    println!("preset {preset}, {runs} runs per size, loopback, real time");
    println!(
        "{:>5} | {:>14} | {:>14} | {:>14} | {:>14} | {:>10} | {:>11} | {:>13}",
        "N",
        "first median",
        "last median",
        "last worst",
        "first best",
        "false dead",
        "B/s/node",
        "no converge"
    );
    for &n in &sizes {
        let mut results = Vec::new();
        let mut stuck = 0;
        for r in 0..runs {
            match run_once(n, &config, 1 + r % (n - 1)).await? {
                Ok(run) => results.push(run),
                Err(why) => {
                    eprintln!("N = {n}, run {r}: {why}");
                    stuck += 1;
                }
            }
        }
        if results.is_empty() {
            println!(
                "{n:>5} | {:>14} | {:>14} | {:>14} | {:>14} | {:>10} | {:>11} | {stuck:>13}",
                "-", "-", "-", "-", "-", "-"
            );
            continue;
        }
        let firsts: Vec<Duration> = results.iter().map(|r| r.first).collect();
        let lasts: Vec<Duration> = results.iter().map(|r| r.last).collect();
        println!(
            "{:>5} | {:>14?} | {:>14?} | {:>14?} | {:>14?} | {:>10} | {:>11.0} | {:>13}",
            n,
            median(firsts.clone()),
            median(lasts.clone()),
            lasts.iter().max().copied().unwrap_or_default(),
            firsts.iter().min().copied().unwrap_or_default(),
            results.iter().map(|r| r.false_dead).sum::<usize>(),
            {
                let mut b: Vec<f64> = results.iter().map(|r| r.bytes_per_node).collect();
                b.sort_by(f64::total_cmp);
                b[b.len() / 2]
            },
            stuck,
        );
    }
    Ok(())
}
