//! Reads `IPAddressPool` and `Service` manifests (multi-document YAML), restores the services'
//! current addresses, allocates for the rest and prints the outcome and the pool counters.
//!
//! ```text
//! cargo run -p lb-ipam --example allocate                  # the bundled demo.yaml
//! cargo run -p lb-ipam --example allocate -- my-cluster.yaml
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;

use lb_ipam::{
    Allocator, Annotations, Family, FamilyRequest, Labels, PoolSpec, Pools, Port, Service,
    SharingKey, TrafficPolicy,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(tag = "kind")]
enum Object {
    IPAddressPool {
        metadata: Metadata,
        spec: PoolSpec,
    },
    Service {
        metadata: Metadata,
        spec: ServiceSpec,
        #[serde(default)]
        status: ServiceStatus,
    },
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ServiceSpec {
    #[serde(default)]
    ip_family_policy: Option<String>,
    #[serde(default, rename = "clusterIPs")]
    cluster_ips: Vec<IpAddr>,
    #[serde(default)]
    ports: Vec<ServicePort>,
    #[serde(default)]
    external_traffic_policy: Option<String>,
    #[serde(default)]
    selector: Labels,
    #[serde(default, rename = "loadBalancerIP")]
    load_balancer_ip: Option<String>,
}

#[derive(Deserialize)]
struct ServicePort {
    port: u16,
    #[serde(default)]
    protocol: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ServiceStatus {
    #[serde(default)]
    load_balancer: LoadBalancerStatus,
}

#[derive(Deserialize, Default)]
struct LoadBalancerStatus {
    #[serde(default)]
    ingress: Vec<Ingress>,
}

#[derive(Deserialize)]
struct Ingress {
    ip: IpAddr,
}

fn service(metadata: Metadata, spec: ServiceSpec) -> Result<Service, lb_ipam::Error> {
    let ann = Annotations::parse(&metadata.annotations, spec.load_balancer_ip.as_deref())?;
    let families: Vec<Family> = spec.cluster_ips.iter().map(Family::of).collect();
    let policy = TrafficPolicy::from_spec(spec.external_traffic_policy.as_deref());
    let mut svc = Service::new(&metadata.namespace, &metadata.name);
    svc.labels = metadata.labels;
    svc.families = FamilyRequest::from_policy(spec.ip_family_policy.as_deref(), &families)?;
    svc.ports = spec
        .ports
        .iter()
        .map(|p| {
            Ok(Port {
                protocol: p.protocol.parse()?,
                port: p.port,
            })
        })
        .collect::<Result<_, lb_ipam::Error>>()?;
    svc.sharing = SharingKey::new(
        &ann.sharing_key,
        &SharingKey::backend_key(policy, &spec.selector),
    );
    svc.pool = ann.pool;
    svc.requested = ann.requested;
    Ok(svc)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(path)?,
        None => include_str!("demo.yaml").to_owned(),
    };
    let objects: Vec<Object> = serde_saphyr::from_multiple(&text)?;
    let mut pool_specs = Vec::new();
    let mut services = Vec::new();
    for object in objects {
        match object {
            Object::IPAddressPool { metadata, spec } => pool_specs.push((metadata.name, spec)),
            Object::Service {
                metadata,
                spec,
                status,
            } => {
                let name = format!("{}/{}", metadata.namespace, metadata.name);
                match service(metadata, spec) {
                    Ok(svc) => {
                        let ips = status.load_balancer.ingress.iter().map(|i| i.ip).collect();
                        services.push((svc, ips));
                    }
                    Err(e) => println!("{name:<22} rejected: {e}"),
                }
            }
        }
    }
    let pools = Pools::from_specs(pool_specs.iter().map(|(n, s)| (n.as_str(), s)))?;
    let mut allocator = Allocator::with_pools(pools);
    println!("{:<22} {:<11} addresses", "service", "pool");
    for (key, result) in allocator.restore(services) {
        match result.outcome {
            Ok(a) => {
                let ips: Vec<String> = a.ips.iter().map(ToString::to_string).collect();
                println!("{:<22} {:<11} {}", key.as_str(), a.pool, ips.join(", "));
            }
            Err(e) => println!("{:<22} {:<11} failed: {e}", key.as_str(), "-"),
        }
    }
    println!(
        "\n{:<11} {:>6} {:>9} {:>10} {:>6} {:>9} {:>26}",
        "pool", "v4 use", "v4 free", "v4 total", "v6 use", "v6 free", "v6 total"
    );
    for pool in allocator.pools().iter() {
        if let Some(c) = allocator.counters(pool.name()) {
            println!(
                "{:<11} {:>6} {:>9} {:>10} {:>6} {:>9} {:>26}",
                pool.name(),
                c.v4.assigned,
                c.v4.available,
                c.v4.total,
                c.v6.assigned,
                if c.v6.available > 999_999_999 {
                    "many".to_string()
                } else {
                    c.v6.available.to_string()
                },
                c.v6.total
            );
        }
    }
    Ok(())
}
