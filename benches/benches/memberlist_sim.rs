//! Failure-detection figures of `lb-memberlist` from its simulator, printed as tables.
//!
//! For the `lan()` and `fast()` presets and N = 10, 100, 1000 members, each in a simulated LAN
//! (1 ms latency, 0.2 ms jitter), starting from a converged, quiet cluster:
//!
//! - **detection**: one member crashes after a warm-up; the time until every other member has
//!   marked it dead, median and p99 (nearest rank) over many seeds (the number is printed);
//! - **false positives**: a healthy cluster under 5%, 10% and 20% random datagram loss (TCP
//!   pays retransmission timeouts at the same rate) for one simulated hour where the bench's
//!   time allows, less where each cell says so (`fast()` at N = 100: 30 minutes at 10% loss,
//!   5 at 20%; N = 1000: 5 minutes for `lan()` at 20% loss, 5 minutes for `fast()`, 2 at 10%
//!   loss and 10 s at 20%, where the suspicion storm of 1000 members probing 20 times a
//!   second through 20% loss makes the simulation slow): how many members were ever marked
//!   dead by anyone, and how many such marks;
//! - **traffic**: bytes sent per member per second (datagrams and streams), without loss and
//!   at 5% loss.
//!
//! HashiCorp's formula, which `lan()` should match: a crash is noticed by the first probe of
//! the crashed member (all N − 1 members probe one member per `ProbeInterval`, so within about
//! one interval), which fails after the probe interval (`ProbeTimeout` then indirect and TCP
//! probes until the interval ends), then suspicion lasts between
//! `min = SuspicionMult × max(1, log10 N) × ProbeInterval` and
//! `max = SuspicionMaxTimeoutMult × min`, falling from max towards min as
//! `max − (max − min) × log(C + 1) / log(K + 1)` with C of K = SuspicionMult − 2 independent
//! confirmations; with many probers the confirmations arrive within a few intervals, so
//! detection ≈ ProbeInterval (first probe, on average less) + ProbeInterval (the failed probe)
//! + min (+ the time to collect K confirmations) + gossip of the dead message.
//!
//! Run with `cargo bench -p lb-benches --bench memberlist_sim`; `MEMBERLIST_SIM_QUICK=1`
//! shortens every run for a smoke test.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use lb_memberlist::sim::{Sim, SimConfig};
use lb_memberlist::{Config, Event};

fn quick() -> bool {
    std::env::var_os("MEMBERLIST_SIM_QUICK").is_some()
}

fn cluster(n: usize, config: &Config, seed: u64, loss: f64) -> Sim {
    let mut sim = Sim::new(SimConfig {
        seed,
        loss,
        ..SimConfig::default()
    });
    for _ in 0..n {
        sim.add_node(config.clone());
    }
    sim.converge();
    sim
}

/// One crash: the time until every other member marks it dead, or `None` past `limit`.
fn detect(n: usize, config: &Config, seed: u64, limit: Duration) -> Option<Duration> {
    let mut sim = cluster(n, config, seed, 0.0);
    // Warm up: a few probe rounds' worth, with a seed-dependent phase.
    let warm = config.probe_interval * 3 + config.probe_interval * (seed % 7) as u32 / 7;
    sim.run_for(warm);
    let victim = (seed as usize * 7919) % n;
    let name = Sim::name(victim);
    let seen = Rc::new(RefCell::new(0usize));
    let last = Rc::new(RefCell::new(Duration::ZERO));
    {
        let (seen, last, name) = (seen.clone(), last.clone(), name.clone());
        sim.set_observer(move |t, i, ev| {
            if let Event::Dead(m) = ev
                && m.name == name
                && i != victim
            {
                *seen.borrow_mut() += 1;
                *last.borrow_mut() = t;
            }
        });
    }
    let t0 = sim.elapsed();
    sim.crash(victim);
    let seen2 = seen.clone();
    let done = sim.run_while_not(limit, move |_| *seen2.borrow() >= n - 1);
    done.then(|| *last.borrow() - t0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

struct Health {
    members_marked: usize,
    marks: usize,
    suspicions: usize,
    bytes_per_node_s: f64,
}

/// A healthy cluster under `loss` for `d`.
fn healthy(n: usize, config: &Config, seed: u64, loss: f64, d: Duration) -> Health {
    let mut sim = cluster(n, config, seed, 0.0);
    sim.run_for(Duration::from_secs(5));
    sim.set_loss(loss);
    let marked = Rc::new(RefCell::new((vec![false; n], 0usize, 0usize)));
    {
        let marked = marked.clone();
        sim.set_observer(move |_, _, ev| {
            let mut m = marked.borrow_mut();
            match ev {
                Event::Dead(who) => {
                    if let Some(i) = who
                        .name
                        .strip_prefix('n')
                        .and_then(|s| s.parse::<usize>().ok())
                        && i < n
                    {
                        m.0[i] = true;
                    }
                    m.1 += 1;
                }
                Event::Suspect(_) => m.2 += 1,
                _ => {}
            }
        });
    }
    sim.reset_counters();
    sim.run_for(d);
    let bytes: u64 = (0..n).map(|i| sim.bytes_sent(i)).sum();
    let m = marked.borrow();
    Health {
        members_marked: m.0.iter().filter(|&&x| x).count(),
        marks: m.1,
        suspicions: m.2,
        bytes_per_node_s: bytes as f64 / n as f64 / d.as_secs_f64(),
    }
}

fn fmt_ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

/// How long the false-positive runs last, by preset and size (an hour where it fits in the
/// bench's time; the table prints what ran).
fn health_duration(preset: &str, n: usize, loss: f64) -> Duration {
    if quick() {
        return Duration::from_secs(if n >= 1000 { 5 } else { 60 });
    }
    let pct = (loss * 100.0).round() as u32;
    Duration::from_secs(match (preset, n, pct) {
        ("fast", 100, 10) => 1800,
        ("fast", 100, 20) => 300,
        ("lan", 1000, 20) => 300,
        ("fast", 1000, 20) => 10,
        ("fast", 1000, 10) => 120,
        ("fast", 1000, _) => 300,
        _ => 3600,
    })
}

fn detection_seeds(n: usize) -> u64 {
    match (n, quick()) {
        (10, false) => 100,
        (100, false) => 50,
        (_, false) => 10,
        (10, true) => 20,
        (100, true) => 10,
        (_, true) => 2,
    }
}

enum Task {
    Detect(usize, usize),
    Health(usize, usize, f64),
}

enum Outcome {
    Detect { times: Vec<Duration>, missed: u64 },
    Health(Health, Duration),
}

fn run_task(task: &Task, presets: &[(&str, Config)]) -> Outcome {
    match *task {
        Task::Detect(p, n) => {
            let config = &presets[p].1;
            let limit = config.suspicion_bounds(n).1 * 2 + Duration::from_secs(10);
            let mut times = Vec::new();
            let mut missed = 0;
            for seed in 1..=detection_seeds(n) {
                match detect(n, config, seed, limit) {
                    Some(t) => times.push(t),
                    None => missed += 1,
                }
            }
            times.sort();
            Outcome::Detect { times, missed }
        }
        Task::Health(p, n, loss) => {
            let (name, config) = &presets[p];
            let d = if loss == 0.0 {
                health_duration(name, n, 0.05).min(Duration::from_secs(600))
            } else {
                health_duration(name, n, loss)
            };
            Outcome::Health(healthy(n, config, 7, loss, d), d)
        }
    }
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse. `MEMBERLIST_SIM_ONE=preset,n,loss,secs`
    // runs one healthy-cluster simulation and prints its wall time (for profiling);
    // `MEMBERLIST_SIM_THREADS` (default 2) sets how many simulations run at once.
    if let Ok(one) = std::env::var("MEMBERLIST_SIM_ONE") {
        let f: Vec<&str> = one.split(',').collect();
        let config = if f[0] == "lan" {
            Config::lan()
        } else {
            Config::fast()
        };
        let n = f.get(1).and_then(|x| x.parse().ok()).unwrap_or(100);
        let loss = f.get(2).and_then(|x| x.parse().ok()).unwrap_or(0.0);
        let secs = f.get(3).and_then(|x| x.parse().ok()).unwrap_or(60);
        let t = Instant::now();
        let h = healthy(n, &config, 7, loss, Duration::from_secs(secs));
        println!(
            "{one}: {} members / {} marks ({} suspicions), {:.0} B/s/member, wall {:?}",
            h.members_marked,
            h.marks,
            h.suspicions,
            h.bytes_per_node_s,
            t.elapsed()
        );
        return;
    }
    let threads: usize = std::env::var("MEMBERLIST_SIM_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let presets = [("lan", Config::lan()), ("fast", Config::fast())];
    let sizes = [10usize, 100, 1000];
    let losses = [0.0, 0.05, 0.10, 0.20];
    let wall = Instant::now();

    // Every simulation is independent: run them on a few threads, biggest first.
    let mut tasks = Vec::new();
    for &n in sizes.iter().rev() {
        for p in 0..presets.len() {
            for &loss in &losses {
                tasks.push(Task::Health(p, n, loss));
            }
            tasks.push(Task::Detect(p, n));
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<Outcome>>> =
        std::sync::Mutex::new((0..tasks.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(task) = tasks.get(i) else { break };
                    let out = run_task(task, &presets);
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(out);
                    }
                    eprintln!("task {i} done after {:.0?}", wall.elapsed());
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_default();
    let find = |want: &dyn Fn(&Task) -> bool| {
        tasks
            .iter()
            .position(want)
            .and_then(|i| results[i].as_ref())
    };

    println!("## Detection: a crashed member, until every other member marks it dead (ms)");
    println!();
    println!(
        "| preset | N | seeds | median | p99 | min | max | formula: 2 × interval + min suspicion (with no confirmations: 2 × interval + max) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (p, (pname, config)) in presets.iter().enumerate() {
        for &n in &sizes {
            let Some(Outcome::Detect { times, missed }) =
                find(&|t| matches!(t, Task::Detect(pp, nn) if *pp == p && *nn == n))
            else {
                continue;
            };
            let (min, max) = config.suspicion_bounds(n);
            println!(
                "| {pname} | {n} | {}{} | {} | {} | {} | {} | {} ({}) |",
                detection_seeds(n),
                if *missed > 0 {
                    format!(" ({missed} undetected)")
                } else {
                    String::new()
                },
                fmt_ms(percentile(times, 0.5)),
                fmt_ms(percentile(times, 0.99)),
                fmt_ms(times.first().copied().unwrap_or_default()),
                fmt_ms(times.last().copied().unwrap_or_default()),
                fmt_ms(config.probe_interval * 2 + min),
                fmt_ms(config.probe_interval * 2 + max),
            );
        }
    }

    println!();
    println!(
        "## Healthy clusters under loss: members ever marked dead by anyone / dead marks (suspicion events seen), simulated time; traffic"
    );
    println!();
    println!(
        "| preset | N | 5% loss | 10% loss | 20% loss | bytes/s/member, 0% loss | bytes/s/member, 5% loss |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (p, (pname, _)) in presets.iter().enumerate() {
        for &n in &sizes {
            let mut cells = Vec::new();
            let mut bytes = Vec::new();
            for &loss in &losses {
                let Some(Outcome::Health(h, d)) = find(
                    &|t| matches!(t, Task::Health(pp, nn, l) if *pp == p && *nn == n && *l == loss),
                ) else {
                    continue;
                };
                if loss == 0.0 || loss == 0.05 {
                    bytes.push(format!("{:.0} ({} s)", h.bytes_per_node_s, d.as_secs()));
                }
                if loss > 0.0 {
                    cells.push(format!(
                        "{} / {} ({}), {} s",
                        h.members_marked,
                        h.marks,
                        h.suspicions,
                        d.as_secs()
                    ));
                }
            }
            println!(
                "| {pname} | {n} | {} | {} |",
                cells.join(" | "),
                bytes.join(" | ")
            );
        }
    }
    println!();
    println!(
        "{} simulations on {threads} threads, wall time {:.0} s",
        tasks.len(),
        wall.elapsed().as_secs_f64()
    );
}
