//! BGP: sessions on this node, should-announce, routes and the per-session merge (§4.6).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use lb_ipam::ServiceKey;

use super::{EXCLUDE_LABEL, Inputs, NodeState, Reason, Route, ServiceState};
use crate::config::selector::any_matches;
use crate::config::{BgpAdvertisement, Config, Peer};

/// The peers whose node selectors match this node (empty selectors: every node).
pub(super) fn sessions(config: &Config, me: Option<&NodeState>) -> BTreeMap<String, Peer> {
    let empty = lb_ipam::Labels::new();
    let labels = me.map_or(&empty, |n| &n.labels);
    config
        .peers
        .iter()
        .filter(|p| {
            p.node_selectors.is_empty() || (me.is_some() && any_matches(&p.node_selectors, labels))
        })
        .map(|p| (p.name.clone(), p.clone()))
        .collect()
}

/// Whether this node advertises `svc`, and if so its routes, each with the ad's `peers`.
pub(super) fn decide(
    inputs: &Inputs<'_>,
    me: Option<&NodeState>,
    svc: &ServiceState,
    pool: &str,
) -> Result<Vec<(Vec<String>, Route)>, Reason> {
    let Some(me) = me else {
        return Err(Reason::NotOwner);
    };
    let mine: Vec<&BgpAdvertisement> = inputs
        .config
        .bgp_advertisements
        .iter()
        .filter(|a| a.pools.contains(pool) && any_matches(&a.node_selectors, &me.labels))
        .collect();
    if mine.is_empty() {
        return Err(Reason::NotOwner);
    }
    let ads: Vec<&BgpAdvertisement> = mine
        .into_iter()
        .filter(|a| any_matches(&a.service_selectors, &svc.labels))
        .collect();
    if ads.is_empty() {
        return Err(Reason::NoMatchingAdvertisement);
    }
    if let Some(pool) = inputs.config.pools.get(pool) {
        for (i, a) in ads.iter().enumerate() {
            for b in &ads[..i] {
                if a.local_pref != b.local_pref {
                    let labels: Vec<&lb_ipam::Labels> =
                        inputs.nodes.values().map(|n| &n.labels).collect();
                    if !crate::config::local_pref_compatible(a, b, pool, &labels, false) {
                        return Err(Reason::ConflictingAdvertisements);
                    }
                }
            }
        }
    }
    if me.network_unavailable {
        return Err(Reason::NodeNetworkUnavailable);
    }
    if !inputs.ignore_exclude_lb && me.labels.contains_key(EXCLUDE_LABEL) {
        return Err(Reason::NodeLabeledExcludeBalancers);
    }
    let usable = |e: &&super::Endpoint| e.serving && e.has_addresses;
    if svc.local
        && !svc
            .endpoints
            .iter()
            .filter(usable)
            .any(|e| e.node.as_deref() == Some(me.name.as_str()))
    {
        return Err(Reason::NoLocalEndpoints);
    }
    if !svc.endpoints.iter().any(|e| usable(&e)) {
        return Err(Reason::NoEndpoints);
    }
    let mut routes = Vec::with_capacity(svc.ips.len() * ads.len());
    for ip in &svc.ips {
        for ad in &ads {
            let len = match ip {
                IpAddr::V4(_) => ad.aggregation_length,
                IpAddr::V6(_) => ad.aggregation_length_v6,
            };
            let Ok(net) = IpNet::new(*ip, len) else {
                continue;
            };
            routes.push((
                ad.peers.clone(),
                Route {
                    prefix: net.trunc(),
                    local_pref: ad.local_pref,
                    communities: ad.communities.clone(),
                },
            ));
        }
    }
    Ok(routes)
}

/// Whether `peer`'s session carries `route` from an ad limited to `ad_peers`.
pub(super) fn session_takes(peer: &Peer, ad_peers: &[String], route: &Route) -> bool {
    (ad_peers.is_empty() || ad_peers.contains(&peer.name))
        && (peer.dual_stack
            || matches!(
                (route.prefix, peer.address),
                (IpNet::V4(_), IpAddr::V4(_)) | (IpNet::V6(_), IpAddr::V6(_))
            ))
}

/// Per session, routes with equal prefixes merged: communities unioned, LOCAL_PREF of the
/// first (in Service key order, then advertisement name order, so the result does not depend
/// on input order). Every session gets an entry, possibly empty.
pub(super) fn merge(
    mut pooled: Vec<(String, Route, ServiceKey)>,
    sessions: &BTreeMap<String, Peer>,
) -> BTreeMap<String, Vec<Route>> {
    pooled.sort_by(|a, b| (&a.0, &a.2).cmp(&(&b.0, &b.2)));
    let mut out: BTreeMap<String, BTreeMap<IpNet, Route>> = sessions
        .keys()
        .map(|k| (k.clone(), BTreeMap::new()))
        .collect();
    for (peer, route, _) in pooled {
        let routes = out.entry(peer).or_default();
        match routes.get_mut(&route.prefix) {
            None => {
                routes.insert(route.prefix, route);
            }
            Some(existing) => {
                existing.communities.extend(route.communities);
                existing.communities.sort();
                existing.communities.dedup();
            }
        }
    }
    out.into_iter()
        .map(|(k, v)| (k, v.into_values().collect()))
        .collect()
}
