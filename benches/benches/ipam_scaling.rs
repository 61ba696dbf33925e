//! Per-allocation cost of `lb-ipam` as the number of assignments grows, printed as a table.
//!
//! For each fill level N (1k, 10k, 100k, 1M) and each pool (IPv4 /12, IPv6 /64, IPv6 /48):
//! allocate N services, release a pseudo-random 10% of them so the free space is fragmented,
//! then time 10,000 further allocations (each one fills the lowest hole, as first-fit must).
//! The last column is the ratio to the 1k level: flat means O(log n).
//!
//! Run with `cargo bench -p lb-benches --bench ipam_scaling`.

use std::hint::black_box;
use std::time::Instant;

use lb_ipam::{Allocator, Family, FamilyRequest, PoolSpec, Pools, Port, Service};

const PROBES: usize = 10_000;

fn svc(i: usize, family: Family) -> Service {
    Service::new("bench", &format!("svc-{i}"))
        .with_families(FamilyRequest::Single(family))
        .with_ports([Port::tcp(80)])
}

fn ns_per_allocation(cidr: &str, family: Family, n: usize) -> f64 {
    let spec = PoolSpec {
        addresses: vec![cidr.into()],
        ..PoolSpec::default()
    };
    let mut a = Allocator::with_pools(Pools::from_specs([("bench", &spec)]).expect("valid pool"));
    for i in 0..n {
        a.allocate(&svc(i, family)).expect("room");
    }
    // Release ~10% (a fixed pseudo-random choice) to fragment the pool.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x % 10 == 0 {
            a.release(&svc(i, family).key);
        }
    }
    let probes: Vec<Service> = (0..PROBES).map(|i| svc(n + i, family)).collect();
    let start = Instant::now();
    for s in &probes {
        black_box(a.allocate(s).expect("room"));
    }
    start.elapsed().as_nanos() as f64 / PROBES as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo test --benches` style probing: nothing to list.
        return;
    }
    println!(
        "{:<16} {:>10} {:>16} {:>10}",
        "pool", "assigned", "ns/allocation", "vs 1k"
    );
    for (cidr, family) in [
        ("10.0.0.0/12", Family::V4),
        ("2001:db8::/64", Family::V6),
        ("2001:db8::/48", Family::V6),
    ] {
        let mut base = None;
        for n in [1_000, 10_000, 100_000, 1_000_000] {
            let t = ns_per_allocation(cidr, family, n);
            let base = *base.get_or_insert(t);
            println!("{cidr:<16} {n:>10} {t:>16.1} {:>9.2}x", t / base);
        }
    }
}
