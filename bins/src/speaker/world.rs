//! What one host should announce, from a folder's (or the API server's) objects, the
//! configuration in force and the membership view: the pure step between a source and the
//! announcers.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Service;
use lb_k8s::config::{Config, Objects};
use lb_k8s::plan::{self, Endpoint, Inputs, Membership, NodeState, Plan, ServiceState};
use lb_k8s::service::{endpoints_by_service, node_state, service_state};

/// How [`plan_host`] reads its inputs.
#[derive(Debug, Clone, Default)]
pub struct HostOptions {
    /// This host's node name.
    pub me: String,
    /// Only Services of this load-balancer class (`None`: Services without a class).
    pub lb_class: Option<String>,
    /// `--ignore-exclude-lb`.
    pub ignore_exclude_lb: bool,
    /// Standalone mode: a Service without EndpointSlices is served by every node, and nodes
    /// that are alive in memberlist but not in the objects count as unlabelled nodes.
    pub standalone: bool,
}

/// The Node map: every Node object, plus (standalone) this host and every live member as
/// unlabelled nodes when the objects do not list them.
pub fn nodes(
    objects: &Objects,
    options: &HostOptions,
    live: Option<&BTreeSet<String>>,
) -> BTreeMap<String, NodeState> {
    let mut nodes: BTreeMap<String, NodeState> = objects
        .nodes
        .iter()
        .map(node_state)
        .filter(|n| !n.name.is_empty())
        .map(|n| (n.name.clone(), n))
        .collect();
    if options.standalone {
        let extra = std::iter::once(&options.me).chain(live.into_iter().flatten());
        for name in extra {
            nodes.entry(name.clone()).or_insert_with(|| NodeState {
                name: name.clone(),
                ..NodeState::default()
            });
        }
    }
    nodes
}

/// The plan's view of every Service of ours in `services` (which carry their addresses in
/// `status`).
pub fn services(
    objects: &Objects,
    services: &[Service],
    options: &HostOptions,
    nodes: &BTreeMap<String, NodeState>,
) -> Vec<ServiceState> {
    let endpoints = endpoints_by_service(&objects.endpoint_slices);
    services
        .iter()
        .filter_map(|svc| service_state(svc, options.lb_class.as_deref(), &endpoints))
        .map(|mut s| {
            if options.standalone && !endpoints.contains_key(&s.key) {
                s.endpoints = nodes
                    .keys()
                    .map(|n| Endpoint {
                        node: Some(n.clone()),
                        serving: true,
                        has_addresses: true,
                    })
                    .collect();
            }
            s
        })
        .collect()
}

/// Plans this host's announcements. `live` is the membership view (`None`: memberlist off,
/// every node is a candidate).
pub fn plan_host(
    objects: &Objects,
    services_with_status: &[Service],
    config: &Config,
    live: Option<&BTreeSet<String>>,
    options: &HostOptions,
) -> Plan {
    let nodes = nodes(objects, options, live);
    let states = services(objects, services_with_status, options, &nodes);
    let membership = match live {
        Some(set) => Membership::Live(set.clone()),
        None => Membership::Disabled,
    };
    plan::plan(&Inputs {
        config,
        services: &states,
        nodes: &nodes,
        membership: &membership,
        me: &options.me,
        ignore_exclude_lb: options.ignore_exclude_lb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speaker::standalone::assign;
    use lb_k8s::config::{Options, assemble};

    const FOLDER: &str = "
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan}
spec:
  addresses: [192.0.2.192/27, '2001:db8:1::100/120']
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: lan}
spec:
  ipAddressPools: [lan]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  type: LoadBalancer
  ports: [{port: 5432}]
";

    fn hosts() -> BTreeSet<String> {
        ["h1", "h2", "h3"].iter().map(|s| s.to_string()).collect()
    }

    fn plan_for(me: &str, live: &BTreeSet<String>) -> Plan {
        let mut objects = Objects::default();
        objects.parse_yaml(FOLDER, "test").expect("parses");
        let config = assemble(&objects, &Options::default()).expect("valid");
        let assigned = assign(&objects, None);
        let options = HostOptions {
            me: me.into(),
            standalone: true,
            ..HostOptions::default()
        };
        plan_host(&objects, &assigned.services, &config, Some(live), &options)
    }

    #[test]
    fn exactly_one_live_host_announces_each_address_and_families_stay_together() {
        for live in [
            hosts(),
            ["h1", "h3"].iter().map(|s| s.to_string()).collect(),
        ] {
            let mut owners: BTreeMap<std::net::IpAddr, Vec<String>> = BTreeMap::new();
            for me in &live {
                for ip in plan_for(me, &live).desired.l2.keys() {
                    owners.entry(*ip).or_default().push(me.clone());
                }
            }
            assert_eq!(owners.len(), 3, "two v4 and one v6 address: {owners:?}");
            for (ip, who) in &owners {
                assert_eq!(who.len(), 1, "{ip} announced by {who:?}");
            }
            let web = plan_for("h1", &live).services[&lb_ipam::ServiceKey::new("default", "web")]
                .l2_owner
                .clone();
            let web_ips =
                &plan_for("h1", &live).services[&lb_ipam::ServiceKey::new("default", "web")].ips;
            assert_eq!(web_ips.len(), 2);
            for ip in web_ips {
                assert_eq!(owners[ip], vec![web.clone().expect("an owner")]);
            }
        }
    }

    #[test]
    fn a_host_alone_in_its_view_announces_everything_and_a_dead_one_nothing() {
        let alone: BTreeSet<String> = ["h2".to_string()].into();
        assert_eq!(plan_for("h2", &alone).desired.l2.len(), 3);
        let without_h2: BTreeSet<String> = ["h1".to_string(), "h3".to_string()].into();
        assert!(plan_for("h2", &without_h2).desired.l2.is_empty());
    }
}
