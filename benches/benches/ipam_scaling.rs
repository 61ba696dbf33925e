//! Per-allocation cost of `lb-ipam` as the number of assignments grows, printed as a table.
//!
//! For each fill level N (1k, 10k, 100k, 1M) and each pool (IPv4 /12, IPv6 /64, IPv6 /48), two
//! phases, each in a fresh process (so that every level grows into fresh memory and no phase
//! reuses the heap another freed), after a few allocations that warm the code:
//!
//! - **fill**: the criterion bench's workload at size N — N services, built beforehand,
//!   allocated one by one into an empty pool — total time divided by N;
//! - **seq**: then the cost of one more allocation when N are held, i.e. the time per
//!   allocation *at* N: 1,000 new services allocated one by one and timed, then released, 31
//!   times over; the median window;
//!
//! and, in the other process, N services allocated and a pseudo-random 10% of them released,
//! so the free space is fragmented, then
//!
//! - **first**: 10,000 further allocations, each filling the lowest hole as first-fit must. The
//!   holes' records were last touched while filling, so at 1M this includes the cache misses
//!   of coming back to them;
//! - **steady**: release those 10,000 and allocate them again, eleven times (churn in the same
//!   holes); the median round.
//!
//! Each figure is the median of five processes (the host of the development VM is noisy, and the
//! columns that wait on memory most, *first* and *steady*, vary most); `x1k` is the ratio to
//! the 1k level.
//! Run with `cargo bench -p lb-benches --bench ipam_scaling`.

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use lb_ipam::{Allocator, Family, FamilyRequest, PoolSpec, Pools, Port, Service};

const PROBES: usize = 10_000;
const LEVELS: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
const POOLS: [(&str, Family); 3] = [
    ("10.0.0.0/12", Family::V4),
    ("2001:db8::/64", Family::V6),
    ("2001:db8::/48", Family::V6),
];

/// An allocator with one pool, `cidr`, and nothing allocated.
fn empty_allocator(cidr: &str) -> Allocator {
    let spec = PoolSpec {
        addresses: vec![cidr.into()],
        ..PoolSpec::default()
    };
    Allocator::with_pools(Pools::from_specs([("bench", &spec)]).expect("valid pool"))
}

fn svc(i: usize, family: Family) -> Service {
    Service::new("bench", &format!("svc-{i}"))
        .with_families(FamilyRequest::Single(family))
        .with_ports([Port::tcp(80)])
}

/// Returns (fill, sequential): nanoseconds per allocation while allocating `n` services one by
/// one into an empty pool, then the median over `WINDOWS` windows of the next `NEXT`
/// allocations (each window's services are released after it, so every window starts from `n`).
fn sequential(cidr: &str, family: Family, n: usize) -> (f64, f64) {
    const NEXT: usize = 1_000;
    const WINDOWS: usize = 31;
    let first: Vec<Service> = (0..n).map(|i| svc(i, family)).collect();
    let mut a = empty_allocator(cidr);
    let start = Instant::now();
    allocate_all(&mut a, &first);
    let fill = start.elapsed().as_nanos() as f64 / n as f64;
    let mut windows = Vec::with_capacity(WINDOWS);
    for w in 0..WINDOWS {
        // Each window's requests are new services, built now, as a controller builds each
        // from the object it has just decoded: built before the fill, at a million they would
        // have left the cache, and every allocation would start with misses on its own request
        // that are not the allocator's.
        let next: Vec<Service> = (0..NEXT).map(|i| svc(n + w * NEXT + i, family)).collect();
        let start = Instant::now();
        allocate_all(&mut a, &next);
        windows.push(start.elapsed().as_nanos() as f64 / NEXT as f64);
        for s in &next {
            a.release(&s.key);
        }
    }
    (fill, median(windows))
}

/// Runs the allocator's code once on a handful of services, leaving the heap almost untouched.
fn warm_up(cidr: &str, family: Family) {
    let mut a = empty_allocator(cidr);
    let few: Vec<Service> = (0..64).map(|i| svc(i, family)).collect();
    allocate_all(&mut a, &few);
    for s in &few {
        a.release(&s.key);
    }
}

/// Returns (first, steady) nanoseconds per allocation at fill level `n`.
fn measure(cidr: &str, family: Family, n: usize) -> (f64, f64) {
    // Requests are built first, so they lie together in memory the way the request a controller
    // is handling sits in cache; built after the fill they would be scattered over a fragmented
    // heap and each would start with a cache miss that is not the allocator's.
    let probes: Vec<Service> = (0..PROBES).map(|i| svc(n + i, family)).collect();
    let mut a = empty_allocator(cidr);
    for i in 0..n {
        a.allocate(&svc(i, family)).expect("room");
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x.is_multiple_of(10) {
            a.release(&svc(i, family).key);
        }
    }
    let start = Instant::now();
    allocate_all(&mut a, &probes);
    let first = start.elapsed().as_nanos() as f64 / PROBES as f64;
    let mut steady = Vec::with_capacity(11);
    for _ in 0..11 {
        for s in &probes {
            a.release(&s.key);
        }
        let start = Instant::now();
        allocate_all(&mut a, &probes);
        steady.push(start.elapsed().as_nanos() as f64 / PROBES as f64);
    }
    (first, median(steady))
}

/// The timed loop, kept out of line so `valgrind --tool=callgrind
/// --toggle-collect='*allocate_all*'` can count its instructions alone.
#[inline(never)]
fn allocate_all(a: &mut Allocator, probes: &[Service]) {
    for s in probes {
        black_box(a.allocate(s).expect("room"));
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, pool, n] = args.as_slice() {
        let (cidr, family) = POOLS[pool.parse::<usize>().expect("pool index")];
        let n = n.parse().expect("level");
        // Each phase runs in a new process, on a fresh heap, after a few allocations that warm
        // the code: every level then pays for the memory it grows into. Sharing a process,
        // small levels would reuse what the earlier phase freed while a million's large blocks
        // go back to the kernel and are faulted in anew.
        warm_up(cidr, family);
        match flag.as_str() {
            "--holes" => {
                let (first, steady) = measure(cidr, family, n);
                println!("{first} {steady}");
                return;
            }
            "--grow" => {
                let (fill, seq) = sequential(cidr, family, n);
                println!("{fill} {seq}");
                return;
            }
            _ => {}
        }
    }
    if args.iter().any(|a| a == "--list" || a == "--test") {
        return; // probed by `cargo test --benches`: nothing to list or test
    }
    let exe = std::env::current_exe().expect("own path");
    println!(
        "{:<16} {:>10} {:>10} {:>6} {:>10} {:>6} {:>10} {:>6} {:>10} {:>6}",
        "pool",
        "assigned",
        "first ns",
        "x1k",
        "steady ns",
        "x1k",
        "fill ns",
        "x1k",
        "seq ns",
        "x1k"
    );
    for (pi, (cidr, _)) in POOLS.iter().enumerate() {
        let mut base = None;
        for n in LEVELS {
            let (mut firsts, mut steadies, mut fills, mut seqs) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..3 {
                let run = |phase: &str| -> Vec<f64> {
                    let out = Command::new(&exe)
                        .args([phase, &pi.to_string(), &n.to_string()])
                        .output()
                        .expect("run a measurement");
                    String::from_utf8_lossy(&out.stdout)
                        .split_whitespace()
                        .map(|v| v.parse::<f64>().expect("number"))
                        .collect()
                };
                let (holes, grow) = (run("--holes"), run("--grow"));
                firsts.push(holes[0]);
                steadies.push(holes[1]);
                fills.push(grow[0]);
                seqs.push(grow[1]);
            }
            let (f, s, l, q) = (
                median(firsts),
                median(steadies),
                median(fills),
                median(seqs),
            );
            let (bf, bs, bl, bq) = *base.get_or_insert((f, s, l, q));
            println!(
                "{cidr:<16} {n:>10} {f:>10.1} {:>5.2}x {s:>10.1} {:>5.2}x {l:>10.1} {:>5.2}x {q:>10.1} {:>5.2}x",
                f / bf,
                s / bs,
                l / bl,
                q / bq
            );
        }
    }
}
