//! Reads a folder of manifests, assembles the configuration and prints this node's plan.
//!
//! ```text
//! cargo run -p lb-k8s --example plan -- lb-k8s/examples/manifests node-a
//! ```

use std::collections::BTreeMap;

use lb_k8s::config::{Options, assemble};
use lb_k8s::plan::{Inputs, Membership, plan};
use lb_k8s::service::{endpoints_by_service, node_state, service_state};
use lb_k8s::source::ManifestSource;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/manifests").into());
    let me = args.next().unwrap_or_else(|| "node-a".into());
    let objects = ManifestSource::load(dir.as_ref())?;
    let options = Options {
        bfd: true,
        ..Options::default()
    };
    let config = assemble(&objects, &options)?;
    let endpoints = endpoints_by_service(&objects.endpoint_slices);
    let services: Vec<_> = objects
        .services
        .iter()
        .filter_map(|s| service_state(s, None, &endpoints))
        .collect();
    let nodes: BTreeMap<_, _> = objects
        .nodes
        .iter()
        .map(|n| (n.metadata.name.clone().unwrap_or_default(), node_state(n)))
        .collect();
    let p = plan(&Inputs {
        config: &config,
        services: &services,
        nodes: &nodes,
        membership: &Membership::Disabled,
        me: &me,
        ignore_exclude_lb: false,
    });
    println!("plan of {me}");
    for (key, d) in &p.services {
        let l2 = match &d.l2 {
            Ok(i) => format!("announce on {i:?}"),
            Err(r) => r.as_str().to_owned(),
        };
        let bgp = match &d.bgp {
            Ok(()) => format!("advertise to {:?}", d.bgp_peers),
            Err(r) => r.as_str().to_owned(),
        };
        println!(
            "  {key:<16} pool {:<11} L2 owner {:<7} L2: {l2}; BGP: {bgp}",
            d.pool.as_deref().unwrap_or("-"),
            d.l2_owner.as_deref().unwrap_or("-")
        );
    }
    for (peer, routes) in &p.desired.routes {
        let r: Vec<String> = routes.iter().map(|r| r.prefix.to_string()).collect();
        println!("  routes to {peer:<14} {}", r.join(", "));
    }
    Ok(())
}
