//! Allocator benches: the headline workloads of `lb-ipam`, each timed as a whole.
//!
//! - allocate 1,000,000 services one by one from an IPv4 /12;
//! - allocate 100,000 services from an IPv6 /64 and from a /48;
//! - restore 100,000 existing assignments into a fresh allocator;
//! - allocate 65,536 services with sharing into a /16 where every address is already shared.
//!
//! Run with `cargo bench -p lb-benches --bench ipam`. `ipam_scaling` prints the per-allocation
//! cost at each fill level.

use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use lb_ipam::{Allocator, Family, FamilyRequest, PoolSpec, Pools, Port, Service};

fn allocator(cidr: &str) -> Allocator {
    let spec = PoolSpec {
        addresses: vec![cidr.into()],
        ..PoolSpec::default()
    };
    Allocator::with_pools(Pools::from_specs([("bench", &spec)]).expect("valid pool"))
}

fn services(n: usize, family: Family) -> Vec<Service> {
    (0..n)
        .map(|i| {
            Service::new("bench", &format!("svc-{i}"))
                .with_families(FamilyRequest::Single(family))
                .with_ports([Port::tcp(80)])
        })
        .collect()
}

/// Times `run` on a fresh input from `setup`, once per iteration. Whatever `run` returns is
/// dropped after the clock stops, so tearing down a million-entry allocator is not counted.
fn timed<S, R>(iters: u64, mut setup: impl FnMut() -> S, mut run: impl FnMut(S) -> R) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let input = setup();
        let start = Instant::now();
        let output = run(input);
        total += start.elapsed();
        drop(black_box(output));
    }
    total
}

fn fill(c: &mut Criterion) {
    let mut g = c.benchmark_group("ipam");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));

    let million = services(1_000_000, Family::V4);
    g.bench_function("allocate_1M_ipv4_slash12", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || allocator("10.0.0.0/12"),
                |mut a| {
                    for s in &million {
                        black_box(a.allocate(s).expect("room"));
                    }
                    a
                },
            )
        })
    });
    drop(million);

    let v6 = services(100_000, Family::V6);
    for cidr in ["2001:db8::/64", "2001:db8::/48"] {
        let name = format!("allocate_100k_ipv6_slash{}", &cidr[cidr.len() - 2..]);
        g.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || allocator(cidr),
                    |mut a| {
                        for s in &v6 {
                            black_box(a.allocate(s).expect("room"));
                        }
                        a
                    },
                )
            })
        });
    }

    let v4 = services(100_000, Family::V4);
    let mut source = allocator("10.0.0.0/12");
    let snapshot: Vec<(Service, Vec<IpAddr>)> = v4
        .iter()
        .map(|s| {
            let ips = source.allocate(s).expect("room").ips.to_vec();
            (s.clone(), ips)
        })
        .collect();
    g.bench_function("restore_100k", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || (allocator("10.0.0.0/12"), snapshot.clone()),
                |(mut a, snap)| {
                    let results = a.restore(snap);
                    (a, results)
                },
            )
        })
    });

    let holders: Vec<Service> = (0..65_536)
        .map(|i| {
            Service::new("bench", &format!("holder-{i}"))
                .with_sharing("shared", "")
                .with_ports([Port::tcp(80)])
        })
        .collect();
    let joiners: Vec<Service> = (0..65_536)
        .map(|i| {
            Service::new("bench", &format!("joiner-{i}"))
                .with_sharing("shared", "")
                .with_ports([Port::tcp(443)])
        })
        .collect();
    let mut full = allocator("10.0.0.0/16");
    for s in &holders {
        full.allocate(s).expect("room");
    }
    g.bench_function("allocate_shared_64k_into_full_slash16", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || full.clone(),
                |mut a| {
                    for s in &joiners {
                        black_box(a.allocate(s).expect("a shareable address"));
                    }
                    a
                },
            )
        })
    });
    g.finish();
}

criterion_group!(benches, fill);
criterion_main!(benches);
