//! Layer 2: who announces (§4.4) and on which interfaces (§4.5).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::election::election_key;
use super::{EXCLUDE_LABEL, Inputs, Interfaces, Membership, NodeState, Reason, ServiceState};
use crate::config::selector::any_matches;
use crate::config::{Config, L2Advertisement};

/// Per advertisement, the nodes in its node set and their preference scores; per pool, its
/// advertisements. Built once per plan.
pub(super) struct AdIndex<'a> {
    ads: Vec<AdNodes<'a>>,
    by_pool: BTreeMap<&'a str, Vec<usize>>,
}

struct AdNodes<'a> {
    ad: &'a L2Advertisement,
    /// Nodes (with a Node object) the ad's node selectors match, with their score.
    nodes: BTreeMap<&'a str, u32>,
}

impl<'a> AdIndex<'a> {
    pub(super) fn new(config: &'a Config, nodes: &'a BTreeMap<String, NodeState>) -> Self {
        let mut ads = Vec::with_capacity(config.l2_advertisements.len());
        let mut by_pool: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, ad) in config.l2_advertisements.iter().enumerate() {
            let nodes = nodes
                .iter()
                .filter(|(_, n)| any_matches(&ad.node_selectors, &n.labels))
                .map(|(name, n)| {
                    let score = ad
                        .preferred_nodes
                        .iter()
                        .filter(|(_, s)| s.matches(&n.labels))
                        .map(|(w, _)| *w)
                        .sum();
                    (name.as_str(), score)
                })
                .collect();
            for pool in &ad.pools {
                by_pool.entry(pool.as_str()).or_default().push(i);
            }
            ads.push(AdNodes { ad, nodes });
        }
        AdIndex { ads, by_pool }
    }
}

/// The election's winner (whoever it is) and this node's decision.
pub(super) fn decide(
    inputs: &Inputs<'_>,
    index: &AdIndex<'_>,
    svc: &ServiceState,
    pool: &str,
) -> (Option<String>, Result<Interfaces, Reason>) {
    if !svc.endpoints.iter().any(|e| e.serving) {
        return (None, Err(Reason::NotOwner));
    }
    let ads: Vec<&AdNodes<'_>> = index
        .by_pool
        .get(pool)
        .into_iter()
        .flatten()
        .map(|&i| &index.ads[i])
        .filter(|a| any_matches(&a.ad.service_selectors, &svc.labels))
        .collect();
    if svc.shared && ads.iter().any(|a| !a.ad.service_selectors.is_empty()) {
        return (None, Err(Reason::SharedIpWithServiceSelector));
    }
    let owner = winner(inputs, &ads, svc);
    let mine: Vec<&&AdNodes<'_>> = ads
        .iter()
        .filter(|a| a.nodes.contains_key(inputs.me))
        .collect();
    if mine.is_empty() {
        return (owner, Err(Reason::NoMatchingAdvertisement));
    }
    match &owner {
        Some(o) if o == inputs.me => {}
        _ => return (owner, Err(Reason::NotOwner)),
    }
    let interfaces = if mine.iter().any(|a| a.ad.interfaces.is_empty()) {
        Interfaces::All
    } else {
        Interfaces::Only(
            mine.iter()
                .flat_map(|a| a.ad.interfaces.iter().cloned())
                .collect::<BTreeSet<_>>(),
        )
    };
    (owner, Ok(interfaces))
}

fn winner(inputs: &Inputs<'_>, ads: &[&AdNodes<'_>], svc: &ServiceState) -> Option<String> {
    let first_ip = svc.ips.first()?;
    let local_nodes: Option<BTreeSet<&str>> = svc.local.then(|| {
        svc.endpoints
            .iter()
            .filter(|e| e.serving)
            .filter_map(|e| e.node.as_deref())
            .collect()
    });
    let eligible = |name: &str| -> Option<u32> {
        if let Some(n) = inputs.nodes.get(name) {
            if n.network_unavailable {
                return None;
            }
            if !inputs.ignore_exclude_lb && n.labels.contains_key(EXCLUDE_LABEL) {
                return None;
            }
        }
        if let Some(local) = &local_nodes
            && !local.contains(name)
        {
            return None;
        }
        let mut in_some = false;
        let mut score = 0u32;
        for a in ads {
            if let Some(s) = a.nodes.get(name) {
                in_some = true;
                score = score.saturating_add(*s);
            }
        }
        in_some.then_some(score)
    };
    let names: Vec<&str> = match inputs.membership {
        Membership::Disabled => inputs.nodes.keys().map(String::as_str).collect(),
        Membership::Live(members) => members.iter().map(String::as_str).collect(),
    };
    let mut best: Option<(Reverse<u32>, [u8; 32], &str)> = None;
    for name in names {
        if let Some(score) = eligible(name) {
            let key = (Reverse(score), election_key(name, first_ip));
            if best.as_ref().is_none_or(|(s, h, _)| key < (*s, *h)) {
                best = Some((key.0, key.1, name));
            }
        }
    }
    best.map(|(_, _, n)| n.to_owned())
}
