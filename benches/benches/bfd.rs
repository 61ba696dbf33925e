//! lb-bfd: the Control packet codec per packet beside a naive implementation (the floor: a
//! struct filled with `from_be_bytes`, the same version/length checks, no authentication, no
//! RFC discard rules), and sessions held at 50 ms intervals.
//!
//! Sessions, two ways, both on one thread:
//! - `bfd_sessions/virtual`: 1,000 pairs of [`Session`]s (2,000 sessions) at 50 ms × 3 driven
//!   in virtual time, every packet emitted as octets by one side and parsed by the other: the
//!   CPU cost of the protocol work alone, per virtual second. Deterministic (seeded jitter), so
//!   "no false Down" here proves the timer arithmetic, not the machine.
//! - the soak after the criterion groups: two real drivers in one current-thread runtime (one
//!   core) over loopback, 1,000 sessions each way at 50 ms × 3 (detection 150 ms), held for
//!   `BFD_SOAK_SECS` (default 60; 0 skips) seconds of wall time, with the number of sessions
//!   that left Up and the CPU time used. This one depends on the machine: a scheduler stall
//!   longer than 150 ms on a shared host is a real false Down and is reported as such.

#![allow(clippy::unwrap_used)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use lb_bfd::session::{Session, SessionConfig};
use lb_bfd::wire::{Packet, Repr, State};

/// Captured from BIRD 2.0.12 and FRR 8.4.4 bfdd (see lb-bfd/tests/fixtures.rs).
const CAPTURED: [&str; 6] = [
    "204004184067b50200000000000f4240000249f000000000",
    "20800418b94aea9f7e316a76000f4240000249f000000000",
    "20d00418b57df7f6a908a7e100030d40000249f000000000",
    "20e004186d646d8aeda8040500030d40000249f000000000",
    "20c004184067b502ceb9b2f900030d40000249f000000000",
    "20c00418e127eb097604d9d000030d40000249f00000c350",
];

const BATCH: usize = 1024;

use lb_lab::hex;

/// The naive floor: fields into a struct, version and length checked, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Naive {
    diag: u8,
    state: u8,
    flags: u8,
    mult: u8,
    my: u32,
    your: u32,
    tx: u32,
    rx: u32,
    echo: u32,
}

fn be(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn naive_parse(b: &[u8]) -> Option<Naive> {
    if b.len() < 24 || b[0] >> 5 != 1 || usize::from(b[3]) < 24 || usize::from(b[3]) > b.len() {
        return None;
    }
    Some(Naive {
        diag: b[0] & 0x1f,
        state: b[1] >> 6,
        flags: b[1] & 0x3f,
        mult: b[2],
        my: be(b, 4),
        your: be(b, 8),
        tx: be(b, 12),
        rx: be(b, 16),
        echo: be(b, 20),
    })
}

fn naive_emit(n: &Naive, out: &mut [u8; 24]) {
    out[0] = 0x20 | n.diag;
    out[1] = (n.state << 6) | n.flags;
    out[2] = n.mult;
    out[3] = 24;
    out[4..8].copy_from_slice(&n.my.to_be_bytes());
    out[8..12].copy_from_slice(&n.your.to_be_bytes());
    out[12..16].copy_from_slice(&n.tx.to_be_bytes());
    out[16..20].copy_from_slice(&n.rx.to_be_bytes());
    out[20..24].copy_from_slice(&n.echo.to_be_bytes());
}

fn median_of(f: &dyn Fn(), runs: usize) -> Duration {
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

fn ratio_line(what: &str, ours: &dyn Fn(), naive: &dyn Fn()) {
    // Warm both, then the median of many batches each.
    for _ in 0..200 {
        ours();
        naive();
    }
    let a = median_of(ours, 501);
    let b = median_of(naive, 501);
    let per = |d: Duration| d.as_nanos() as f64 / BATCH as f64;
    println!(
        "{what}: lb-bfd {:.1} ns/packet, naive {:.1} ns/packet, ratio of medians lb-bfd/naive {:.2}",
        per(a),
        per(b),
        a.as_secs_f64() / b.as_secs_f64()
    );
}

fn codec(c: &mut Criterion) {
    let packets: Vec<Vec<u8>> = CAPTURED.iter().map(|s| hex(s)).collect();
    let batch: Vec<&[u8]> = (0..BATCH)
        .map(|i| packets[i % packets.len()].as_slice())
        .collect();
    let reprs: Vec<Repr> = batch
        .iter()
        .map(|b| Repr::parse_bytes(b).unwrap())
        .collect();
    let naives: Vec<Naive> = batch.iter().map(|b| naive_parse(b).unwrap()).collect();
    for (r, b) in reprs.iter().zip(&batch) {
        let (out, len) = r.to_bytes();
        assert_eq!(&out[..len], *b);
    }

    let parse_ours = || {
        for b in &batch {
            black_box(Repr::parse(&Packet::new_checked(black_box(*b)).unwrap()).unwrap());
        }
    };
    let parse_naive = || {
        for b in &batch {
            black_box(naive_parse(black_box(b)).unwrap());
        }
    };
    let mut out = [0u8; 52];
    let emit_ours = || {
        let mut out = [0u8; 52];
        for r in &reprs {
            black_box(r).emit(&mut Packet::new_unchecked(&mut out[..]));
            black_box(&out);
        }
    };
    let emit_naive = || {
        let mut out = [0u8; 24];
        for n in &naives {
            naive_emit(black_box(n), &mut out);
            black_box(&out);
        }
    };
    ratio_line("parse", &parse_ours, &parse_naive);
    ratio_line("emit", &emit_ours, &emit_naive);

    let mut g = c.benchmark_group("bfd_parse");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("lb-bfd", |b| b.iter(parse_ours));
    g.bench_function("naive", |b| b.iter(parse_naive));
    g.finish();
    let mut g = c.benchmark_group("bfd_emit");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("lb-bfd", |b| {
        b.iter(|| {
            for r in &reprs {
                r.emit(&mut Packet::new_unchecked(&mut out[..]));
                black_box(&out);
            }
        })
    });
    g.bench_function("naive", |b| b.iter(emit_naive));
    g.finish();
}

/// 2 × `pairs` sessions at 50 ms × 3 wired back to back, advanced through virtual time.
struct Sim {
    sessions: Vec<Session>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    scheduled: Vec<Option<Instant>>,
    now: Instant,
    packets: u64,
}

impl Sim {
    fn new(pairs: usize) -> Sim {
        let now = Instant::now();
        let config = SessionConfig {
            desired_min_tx: Duration::from_millis(50),
            required_min_rx: Duration::from_millis(50),
            detect_mult: 3,
            ..SessionConfig::default()
        };
        let sessions: Vec<Session> = (0..2 * pairs)
            .map(|i| Session::new(config.clone(), i as u32 + 1, i as u64, now).unwrap())
            .collect();
        let mut sim = Sim {
            scheduled: vec![None; sessions.len()],
            sessions,
            timers: BinaryHeap::new(),
            now,
            packets: 0,
        };
        for i in 0..sim.sessions.len() {
            sim.flush(i);
        }
        sim
    }

    /// Runs `i`'s timers and delivers what it sends to its partner (`i ^ 1`) at once.
    fn flush(&mut self, i: usize) {
        let mut work = vec![i];
        while let Some(i) = work.pop() {
            let now = self.now;
            self.sessions[i].handle_timeout(now);
            while let Some(t) = self.sessions[i].poll_transmit(now) {
                self.packets += 1;
                let _ = self.sessions[i ^ 1].handle_packet(now, t.as_bytes());
                work.push(i ^ 1);
            }
            while self.sessions[i].poll_event().is_some() {}
            let next = self.sessions[i].poll_timeout();
            if next != self.scheduled[i] {
                self.scheduled[i] = next;
                if let Some(t) = next {
                    self.timers.push(Reverse((t, i)));
                }
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(&Reverse((t, i))) = self.timers.peek() {
            if t > end {
                break;
            }
            self.timers.pop();
            if self.scheduled[i] != Some(t) {
                continue; // superseded
            }
            self.scheduled[i] = None;
            self.now = t;
            self.flush(i);
        }
        self.now = end;
    }

    fn downs(&self) -> u64 {
        self.sessions.iter().map(|s| s.stats().down_events).sum()
    }

    fn all_up(&self) -> bool {
        self.sessions.iter().all(|s| s.state() == State::Up)
    }
}

fn sessions_virtual(c: &mut Criterion) {
    const PAIRS: usize = 1000;
    let mut sim = Sim::new(PAIRS);
    sim.run_for(Duration::from_secs(5));
    assert!(sim.all_up());
    let t = Instant::now();
    let p0 = sim.packets;
    sim.run_for(Duration::from_secs(60));
    let wall = t.elapsed();
    assert_eq!(sim.downs(), 0, "a false Down in virtual time");
    assert!(sim.all_up());
    println!(
        "virtual: {} sessions at 50 ms x 3 for 60 s of virtual time: 0 false Down, {} packets, {:?} of CPU ({:.1} % of one core in real time, {:.0} ns per packet)",
        2 * PAIRS,
        sim.packets - p0,
        wall,
        wall.as_secs_f64() / 60.0 * 100.0,
        wall.as_nanos() as f64 / (sim.packets - p0) as f64
    );
    let mut g = c.benchmark_group("bfd_sessions");
    g.sample_size(10);
    g.throughput(Throughput::Elements(2 * PAIRS as u64));
    g.bench_function("virtual/2000 sessions, 1 s", |b| {
        b.iter(|| sim.run_for(Duration::from_secs(1)))
    });
    g.finish();
    assert_eq!(sim.downs(), 0);
}

fn cpu_time() -> Duration {
    // utime and stime, fields 14 and 15 of /proc/self/stat, in clock ticks (100 Hz).
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit(')').next().unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn soak() {
    use lb_bfd::driver::{Bfd, DriverConfig, PeerConfig};
    let secs: u64 = std::env::var("BFD_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let n: usize = std::env::var("BFD_SOAK_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    if secs == 0 {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let (pa, pb) = (43784u16, 44784u16);
        let conf = |p: u16| DriverConfig {
            single_hop_port: p,
            multi_hop_port: p + 1,
            event_capacity: 8192,
        };
        let a = lb_bfd::driver::spawn(conf(pa)).await.unwrap();
        let b = lb_bfd::driver::spawn(conf(pb)).await.unwrap();
        let session = SessionConfig {
            desired_min_tx: Duration::from_millis(50),
            required_min_rx: Duration::from_millis(50),
            detect_mult: 3,
            ..SessionConfig::default()
        };
        let addr = |side: u8, i: usize| {
            IpAddr::V4(Ipv4Addr::new(127, side, (i / 250) as u8, (i % 250) as u8 + 1))
        };
        for i in 0..n {
            let mut s = PeerConfig::single_hop(addr(2, i), session.clone());
            s.local = Some(addr(1, i));
            s.remote_port = Some(pb);
            a.add_peer(s).await.unwrap();
            let mut s = PeerConfig::single_hop(addr(1, i), session.clone());
            s.local = Some(addr(2, i));
            s.remote_port = Some(pa);
            b.add_peer(s).await.unwrap();
        }
        let up = |d: &Bfd, side: u8| {
            (0..n)
                .filter(|&i| {
                    d.status(addr(side, i))
                        .is_ok_and(|s| s.state == State::Up)
                })
                .count()
        };
        let t = Instant::now();
        while up(&a, 2) + up(&b, 1) < 2 * n && t.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let came_up = up(&a, 2) + up(&b, 1);
        // Poll Sequences settle on 50 ms.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut ea = a.events();
        let mut eb = b.events();
        let cpu0 = cpu_time();
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let wall = t0.elapsed();
        let cpu = cpu_time() - cpu0;
        let mut downs = 0;
        while let Ok(e) = ea.try_recv() {
            downs += usize::from(e.from == State::Up);
        }
        while let Ok(e) = eb.try_recv() {
            downs += usize::from(e.from == State::Up);
        }
        let out: u64 = (0..n)
            .filter_map(|i| a.status(addr(2, i)).ok())
            .map(|s| s.stats.packets_out)
            .sum();
        println!(
            "soak: {} sessions ({n} each way) over loopback at 50 ms x 3, one thread: {came_up} came Up; \
             held {wall:?}: {downs} left Up (false Down), CPU {cpu:?} = {:.1} % of one core; side A sent {out} packets in all",
            2 * n,
            cpu.as_secs_f64() / wall.as_secs_f64() * 100.0
        );
        a.shutdown().await;
        b.shutdown().await;
    });
}

fn all(c: &mut Criterion) {
    codec(c);
    sessions_virtual(c);
}

criterion_group!(benches, all);

fn main() {
    benches();
    soak();
    Criterion::default().configure_from_args().final_summary();
}
