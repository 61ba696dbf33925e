//! Allocator benches: the headline workloads of `lb-ipam`, each timed as a whole, beside a
//! plain first-fit allocator, the floor, on the workloads it can do:
//!
//! - allocate 1,000,000 services one by one from an IPv4 /12 (both);
//! - allocate 100,000 services from an IPv6 /64 and from a /48 (both);
//! - restore 100,000 existing assignments into a fresh allocator (both);
//! - allocate 65,536 services with sharing into a /16 where every address is already shared
//!   (lb-ipam only: the floor does not share).
//!
//! The floor ([`FirstFit`]) is what a plain implementation does: one `HashSet` of the addresses
//! in use, one `HashMap` from service to address, and a scan upward from the lowest address that
//! may be free (first fit, as upstream's allocator; the scan's start moves down only on
//! release). It knows nothing of ports, sharing, families or pool selectors. Before timing, each
//! workload checks that both hand out the same addresses.
//!
//! Criterion measures each row in turn; then each pair is timed interleaved ([`ROUNDS`] rounds,
//! one run of each in turn on fresh input), since this VM has slow spells of seconds that would
//! land on one row only. A line per pair prints the floor's time over lb-ipam's from both.
//!
//! Run with `cargo bench -p lb-benches --bench ipam`. `ipam_scaling` prints the per-allocation
//! cost at each fill level.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ipnet::IpNet;
use lb_benches::estimates::{self, median};
use lb_ipam::{Allocator, Family, FamilyRequest, PoolSpec, Pools, Port, Service, ServiceKey};

/// Rounds of the interleaved measurement, after one round of warm-up.
const ROUNDS: usize = 11;

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

/// One run of a workload: `work` on a fresh input from `setup`, timed; whatever `work` returns
/// is dropped after the clock stops, so tearing down a million-entry allocator is not counted.
type Run<'a> = Box<dyn FnMut() -> Duration + 'a>;

fn run<'a, S, R>(mut setup: impl FnMut() -> S + 'a, mut work: impl FnMut(S) -> R + 'a) -> Run<'a> {
    Box::new(move || {
        let input = setup();
        let start = Instant::now();
        let output = work(input);
        let t = start.elapsed();
        drop(black_box(output));
        t
    })
}

/// The floor: a plain first-fit allocator over one CIDR, one address per service.
struct FirstFit {
    first: u128,
    last: u128,
    v6: bool,
    /// No address below this one is free.
    low: u128,
    used: HashSet<u128>,
    held: HashMap<ServiceKey, IpAddr>,
}

fn to_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl FirstFit {
    fn new(cidr: &str) -> Self {
        let net: IpNet = cidr.parse().expect("a CIDR");
        let first = to_bits(net.network());
        FirstFit {
            first,
            last: to_bits(net.broadcast()),
            v6: matches!(net, IpNet::V6(_)),
            low: first,
            used: HashSet::new(),
            held: HashMap::new(),
        }
    }

    fn ip(&self, bits: u128) -> IpAddr {
        if self.v6 {
            IpAddr::V6(bits.into())
        } else {
            IpAddr::V4(u32::try_from(bits).expect("an IPv4 address").into())
        }
    }

    /// The service's address: the one it holds, else the lowest free one.
    fn allocate(&mut self, svc: &Service) -> Option<IpAddr> {
        if let Some(ip) = self.held.get(&svc.key) {
            return Some(*ip);
        }
        let mut a = self.low;
        while a <= self.last {
            if self.used.insert(a) {
                let ip = self.ip(a);
                self.held.insert(svc.key.clone(), ip);
                self.low = a + 1;
                return Some(ip);
            }
            a += 1;
        }
        None
    }

    /// Takes existing assignments (the first address of each) that lie in the pool and
    /// conflict with none taken before; returns how many were refused.
    fn restore(&mut self, services: Vec<(Service, Vec<IpAddr>)>) -> usize {
        let mut refused = 0;
        for (svc, ips) in services {
            let ok = ips.first().is_some_and(|&ip| {
                let bits = to_bits(ip);
                ip.is_ipv6() == self.v6
                    && (self.first..=self.last).contains(&bits)
                    && self.used.insert(bits)
            });
            if ok {
                self.held.insert(svc.key, ips[0]);
            } else {
                refused += 1;
            }
        }
        refused
    }
}

/// Fails loudly unless lb-ipam and the floor hand `services` the same addresses from `cidr`.
fn same_addresses(cidr: &str, services: &[Service]) {
    let mut ours = allocator(cidr);
    let mut floor = FirstFit::new(cidr);
    for s in services {
        let a = ours.allocate(s).expect("room").ips.to_vec();
        let b = floor.allocate(s).expect("room");
        assert_eq!(
            a,
            [b],
            "{cidr}: lb-ipam and the floor differ for {:?}",
            s.key
        );
    }
}

/// A workload's rows: criterion measures each, then the pair is timed interleaved; returns the
/// summary line.
fn rows(c: &mut Criterion, name: &str, mut ours: Run<'_>, floor: Option<Run<'_>>) -> String {
    let group = format!("ipam/{name}");
    let mut g = c.benchmark_group(&group);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("lb-ipam", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| ours()).sum())
    });
    let Some(mut floor) = floor else {
        g.finish();
        return format!("{group}: lb-ipam only (the floor does not share)");
    };
    g.bench_function("floor", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| floor()).sum())
    });
    g.finish();
    // Rows a filter left out (or `--test`, which writes no estimates) are not interleaved.
    let (Some(o), Some(f)) = (median(&group, "lb-ipam"), median(&group, "floor")) else {
        return format!("{group}: not measured in this run");
    };
    let ms = |secs: f64| secs * 1e3;
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..=ROUNDS {
        // Alternate which runs first.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let t = if i == 0 { ours() } else { floor() };
            if round > 0 {
                times[i].push(t.as_secs_f64());
            }
        }
    }
    let [ours_mid, floor_mid] = times.map(|mut t| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    });
    format!(
        "{group}: lb-ipam {:.1} ms, floor {:.1} ms (criterion medians), floor / lb-ipam \
         {:.2}x; interleaved {:.1} / {:.1} ms, {:.2}x",
        ms(o.point),
        ms(f.point),
        f.point / o.point,
        ms(ours_mid),
        ms(floor_mid),
        floor_mid / ours_mid
    )
}

fn fill(c: &mut Criterion) {
    estimates::mark_start();
    let mut lines = Vec::new();

    let million = services(1_000_000, Family::V4);
    same_addresses("10.0.0.0/12", &million[..100_000]);
    lines.push(rows(
        c,
        "allocate_1M_ipv4_slash12",
        run(
            || allocator("10.0.0.0/12"),
            |mut a| {
                for s in &million {
                    black_box(a.allocate(s).expect("room"));
                }
                a
            },
        ),
        Some(run(
            || FirstFit::new("10.0.0.0/12"),
            |mut f| {
                for s in &million {
                    black_box(f.allocate(s).expect("room"));
                }
                f
            },
        )),
    ));
    drop(million);

    let v6 = services(100_000, Family::V6);
    for cidr in ["2001:db8::/64", "2001:db8::/48"] {
        same_addresses(cidr, &v6);
        let name = format!("allocate_100k_ipv6_slash{}", &cidr[cidr.len() - 2..]);
        lines.push(rows(
            c,
            &name,
            run(
                || allocator(cidr),
                |mut a| {
                    for s in &v6 {
                        black_box(a.allocate(s).expect("room"));
                    }
                    a
                },
            ),
            Some(run(
                || FirstFit::new(cidr),
                |mut f| {
                    for s in &v6 {
                        black_box(f.allocate(s).expect("room"));
                    }
                    f
                },
            )),
        ));
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
    lines.push(rows(
        c,
        "restore_100k",
        run(
            || (allocator("10.0.0.0/12"), snapshot.clone()),
            |(mut a, snap)| {
                let results = a.restore(snap);
                (a, results)
            },
        ),
        Some(run(
            || (FirstFit::new("10.0.0.0/12"), snapshot.clone()),
            |(mut f, snap)| {
                let refused = f.restore(snap);
                (f, refused)
            },
        )),
    ));

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
    lines.push(rows(
        c,
        "allocate_shared_64k_into_full_slash16",
        run(
            || full.clone(),
            |mut a| {
                for s in &joiners {
                    black_box(a.allocate(s).expect("a shareable address"));
                }
                a
            },
        ),
        None,
    ));

    println!();
    for l in lines {
        println!("{l}");
    }
}

criterion_group!(benches, fill);
criterion_main!(benches);
