//! lb-k8s: configuration assembly with 1,000 pools and 10,000 Services (the controller's
//! whole-configuration parse plus every Service's translation), and the speaker's `plan` for
//! 10,000 Services on 100 nodes.
//!
//! Floors, side by side in the same groups: lb-ipam's own pool parsing alone (what assembly
//! adds on top of it), and a naive election that sorts every candidate per Service by score and
//! SHA-256 as upstream's speaker does (what `plan` adds on top of the election).
//!
//! Run with `cargo bench -p lb-benches --bench k8s`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use k8s_openapi::api::core::v1::Service;
use lb_ipam::{Labels, PoolSpec, Pools, ServiceKey};
use lb_k8s::config::{Config, Objects, Options, assemble};
use lb_k8s::crd::{IPAddressPool, IPAddressPoolSpec, L2Advertisement, L2AdvertisementSpec};
use lb_k8s::plan::{Endpoint, Inputs, Membership, NodeState, ServiceState, election_key, plan};
use lb_k8s::service::translate;

fn cidr(i: usize) -> String {
    format!("10.{}.{}.0/24", i / 256, i % 256)
}

fn objects(pools: usize, services: usize) -> Objects {
    let mut o = Objects::default();
    for i in 0..pools {
        let spec = IPAddressPoolSpec {
            addresses: vec![cidr(i)],
            ..Default::default()
        };
        let mut p = IPAddressPool::new(&format!("pool-{i:04}"), spec);
        p.metadata.namespace = Some("metallb-system".into());
        o.pools.push(p);
    }
    o.l2_advertisements
        .push(L2Advertisement::new("all", L2AdvertisementSpec::default()));
    for i in 0..services {
        let v = serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": format!("svc-{i}"), "namespace": "bench",
                "annotations": {"metallb.io/address-pool": format!("pool-{:04}", i % pools)}},
            "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.1"], "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": format!("10.{}.{}.{}", (i % pools) / 256, (i % pools) % 256, 1 + i / pools)}]}}
        });
        o.services
            .push(serde_json::from_value::<Service>(v).expect("service"));
    }
    o
}

fn assemble_and_translate(o: &Objects) -> usize {
    let config = assemble(o, &Options::default()).expect("valid");
    let labels = Labels::new();
    let n = o
        .services
        .iter()
        .map(|s| translate(s, None, &labels))
        .filter(|t| matches!(t, lb_k8s::service::Translation::Request { .. }))
        .count();
    config.pools.len() + n
}

fn pools_only(specs: &[(String, PoolSpec)]) -> usize {
    Pools::from_specs(specs.iter().map(|(n, s)| (n.as_str(), s)))
        .expect("valid")
        .len()
}

fn cluster(
    services: usize,
    nodes: usize,
    config: &Config,
) -> (Vec<ServiceState>, BTreeMap<String, NodeState>) {
    let names: Vec<String> = (0..nodes).map(|i| format!("node-{i:03}")).collect();
    let node_map = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                NodeState {
                    name: n.clone(),
                    labels: Labels::new(),
                    network_unavailable: false,
                },
            )
        })
        .collect();
    let pools = config.pools.len();
    let svcs = (0..services)
        .map(|i| ServiceState {
            key: ServiceKey::new("bench", &format!("svc-{i}")),
            labels: Labels::new(),
            ips: vec![
                format!(
                    "10.{}.{}.{}",
                    (i % pools) / 256,
                    (i % pools) % 256,
                    1 + i / pools
                )
                .parse()
                .expect("ip"),
            ],
            local: false,
            shared: false,
            endpoints: vec![Endpoint {
                node: Some(names[i % nodes].clone()),
                serving: true,
                has_addresses: true,
            }],
        })
        .collect();
    (svcs, node_map)
}

/// Upstream's election, naively: per Service, sort every node by (score, SHA-256) and take the
/// first.
fn naive_election(services: &[ServiceState], nodes: &BTreeMap<String, NodeState>) -> usize {
    let mut mine = 0;
    for s in services {
        let ip: &IpAddr = &s.ips[0];
        let mut c: Vec<(&String, [u8; 32])> =
            nodes.keys().map(|n| (n, election_key(n, ip))).collect();
        c.sort_by_key(|a| a.1);
        if c[0].0 == "node-000" {
            mine += 1;
        }
    }
    mine
}

fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[runs / 2]
}

fn benches(c: &mut Criterion) {
    let o = objects(1_000, 10_000);
    let specs: Vec<(String, PoolSpec)> = (0..1_000)
        .map(|i| {
            (
                format!("pool-{i:04}"),
                PoolSpec {
                    addresses: vec![cidr(i)],
                    ..Default::default()
                },
            )
        })
        .collect();
    let mut g = c.benchmark_group("k8s_assembly");
    g.sample_size(10);
    g.bench_function("assemble_1000_pools_translate_10000_services", |b| {
        b.iter(|| black_box(assemble_and_translate(&o)))
    });
    g.bench_function("floor_lb_ipam_pools_only", |b| {
        b.iter(|| black_box(pools_only(&specs)))
    });
    g.finish();
    let a = median(
        || {
            black_box(assemble_and_translate(&o));
        },
        9,
    );
    let f = median(
        || {
            black_box(pools_only(&specs));
        },
        9,
    );
    println!(
        "k8s_assembly: median {a:?} vs floor {f:?}: ratio {:.2}x",
        a.as_secs_f64() / f.as_secs_f64()
    );

    let config = assemble(&o, &Options::default()).expect("valid");
    let (svcs, nodes) = cluster(10_000, 100, &config);
    let membership = Membership::Disabled;
    let run = || {
        plan(&Inputs {
            config: &config,
            services: &svcs,
            nodes: &nodes,
            membership: &membership,
            me: "node-000",
            ignore_exclude_lb: false,
        })
    };
    let mut g = c.benchmark_group("k8s_plan");
    g.sample_size(10);
    g.bench_function("plan_10000_services_100_nodes", |b| {
        b.iter(|| black_box(run()))
    });
    g.bench_function("floor_naive_sorted_election", |b| {
        b.iter(|| black_box(naive_election(&svcs, &nodes)))
    });
    g.finish();
    let p = median(|| drop(black_box(run())), 5);
    let n = median(
        || {
            black_box(naive_election(&svcs, &nodes));
        },
        5,
    );
    println!(
        "k8s_plan: median {p:?} vs naive election {n:?}: ratio {:.2}x",
        p.as_secs_f64() / n.as_secs_f64()
    );
}

criterion_group!(k8s, benches);
criterion_main!(k8s);
