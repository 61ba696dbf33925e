//! Pools and the two advertisement kinds.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use lb_ipam::{AddressRange, Family, Labels, Pool, PoolSpec, Pools, ServiceAllocationSpec};

use super::community::{self, CommunityValue};
use super::selector::{any_matches, selectors, unique_names};
use super::{BgpAdvertisement, L2Advertisement, Options, name_of};
use crate::crd;
use crate::error::{Error, ObjectRef, Problem};

/// Pools in name order, and their labels.
pub(super) fn pools(
    list: &[&crd::IPAddressPool],
) -> Result<(Pools, BTreeMap<String, Labels>), Error> {
    let mut pools = Vec::with_capacity(list.len());
    let mut labels = BTreeMap::new();
    for p in list {
        let name = name_of(*p);
        let object = ObjectRef::new("IPAddressPool", name.clone());
        let service_allocation = match &p.spec.service_allocation {
            None => None,
            Some(sa) => Some(ServiceAllocationSpec {
                priority: i32::try_from(sa.priority).map_err(|_| {
                    Error::invalid(
                        &object,
                        "spec.serviceAllocation.priority",
                        Problem::OutOfRange {
                            value: sa.priority,
                            min: i32::MIN.into(),
                            max: i32::MAX.into(),
                        },
                    )
                })?,
                namespaces: sa.namespaces.clone(),
                namespace_selectors: selectors(
                    &object,
                    "spec.serviceAllocation.namespaceSelectors",
                    &sa.namespace_selectors,
                )?,
                service_selectors: selectors(
                    &object,
                    "spec.serviceAllocation.serviceSelectors",
                    &sa.service_selectors,
                )?,
            }),
        };
        let spec = PoolSpec {
            addresses: p.spec.addresses.clone(),
            auto_assign: p.spec.auto_assign,
            avoid_buggy_ips: p.spec.avoid_buggy_ips,
            service_allocation,
        };
        let pool = Pool::from_spec(&name, &spec).map_err(|source| Error::Pool {
            object: object.clone(),
            source,
        })?;
        pools.push(pool);
        labels.insert(name, p.metadata.labels.clone().unwrap_or_default());
    }
    let pools = Pools::new(pools).map_err(|source| {
        let name = match &source {
            lb_ipam::Error::Overlap { pool, .. } | lb_ipam::Error::DuplicatePool { pool } => {
                pool.clone()
            }
            _ => String::new(),
        };
        Error::Pool {
            object: ObjectRef::new("IPAddressPool", name),
            source,
        }
    })?;
    Ok((pools, labels))
}

/// The pools an advertisement applies to: names (unknown ones ignored) ∪ selector matches;
/// every pool when both are empty.
fn attached(
    object: &ObjectRef,
    names: &[String],
    pool_selectors: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector],
    pools: &Pools,
    pool_labels: &BTreeMap<String, Labels>,
) -> Result<BTreeSet<String>, Error> {
    unique_names(object, "spec.ipAddressPools", names)?;
    let sels = selectors(object, "spec.ipAddressPoolSelectors", pool_selectors)?;
    if names.is_empty() && sels.is_empty() {
        return Ok(pools.iter().map(|p| p.name().to_owned()).collect());
    }
    let mut out: BTreeSet<String> = names
        .iter()
        .filter(|n| pools.get(n).is_some())
        .cloned()
        .collect();
    if !sels.is_empty() {
        for (name, labels) in pool_labels {
            if sels.iter().any(|s| s.matches(labels)) {
                out.insert(name.clone());
            }
        }
    }
    Ok(out)
}

pub(super) fn l2(
    list: &[&crd::L2Advertisement],
    pools: &Pools,
    pool_labels: &BTreeMap<String, Labels>,
) -> Result<Vec<L2Advertisement>, Error> {
    let mut out = Vec::with_capacity(list.len());
    for ad in list {
        let name = name_of(*ad);
        let object = ObjectRef::new("L2Advertisement", name.clone());
        let spec = &ad.spec;
        let attached = attached(
            &object,
            &spec.ip_address_pools,
            &spec.ip_address_pool_selectors,
            pools,
            pool_labels,
        )?;
        let node_selectors = selectors(&object, "spec.nodeSelectors", &spec.node_selectors)?;
        let service_selectors =
            selectors(&object, "spec.serviceSelectors", &spec.service_selectors)?;
        let mut preferred_nodes = Vec::new();
        for (i, p) in spec.preferred_node_selectors.iter().enumerate() {
            let field = format!("spec.preferredNodeSelectors[{i}]");
            let weight = u32::try_from(p.weight)
                .ok()
                .filter(|w| (1..=100).contains(w))
                .ok_or_else(|| {
                    Error::invalid(
                        &object,
                        format!("{field}.weight"),
                        Problem::OutOfRange {
                            value: p.weight.into(),
                            min: 1,
                            max: 100,
                        },
                    )
                })?;
            let sel =
                super::selector::selector(&object, &format!("{field}.preference"), &p.preference)?;
            preferred_nodes.push((weight, sel));
        }
        out.push(L2Advertisement {
            name,
            pools: attached,
            node_selectors,
            interfaces: spec.interfaces.clone(),
            service_selectors,
            preferred_nodes,
        });
    }
    Ok(out)
}

pub(super) fn bgp(
    list: &[&crd::BGPAdvertisement],
    pools: &Pools,
    pool_labels: &BTreeMap<String, Labels>,
    aliases: &BTreeMap<String, CommunityValue>,
    nodes: &[(String, Labels)],
    options: &Options,
) -> Result<Vec<BgpAdvertisement>, Error> {
    let mut out: Vec<BgpAdvertisement> = Vec::with_capacity(list.len());
    let node_labels: Vec<&Labels> = nodes.iter().map(|(_, l)| l).collect();
    for ad in list {
        let name = name_of(*ad);
        let object = ObjectRef::new("BGPAdvertisement", name.clone());
        let spec = &ad.spec;
        let v4 = spec.aggregation_length.unwrap_or(32);
        let v6 = spec.aggregation_length_v6.unwrap_or(128);
        let range = |field: &str, value: i32, min: i64, max: i64| {
            u8::try_from(value)
                .ok()
                .filter(|v| (min..=max).contains(&i64::from(*v)))
                .ok_or_else(|| {
                    Error::invalid(
                        &object,
                        field,
                        Problem::OutOfRange {
                            value: value.into(),
                            min,
                            max,
                        },
                    )
                })
        };
        let aggregation_length = range("spec.aggregationLength", v4, 1, 32)?;
        let aggregation_length_v6 = range("spec.aggregationLengthV6", v6, 0, 128)?;
        let service_selectors =
            selectors(&object, "spec.serviceSelectors", &spec.service_selectors)?;
        if !service_selectors.is_empty()
            && (aggregation_length != 32 || aggregation_length_v6 != 128)
        {
            return Err(Error::invalid(
                &object,
                "spec.serviceSelectors",
                Problem::SelectorsWithAggregation,
            ));
        }
        unique_names(&object, "spec.communities", &spec.communities)?;
        let mut communities = Vec::with_capacity(spec.communities.len());
        for (i, c) in spec.communities.iter().enumerate() {
            let field = format!("spec.communities[{i}]");
            match community::resolve(&object, field, c, aliases) {
                Ok(v) => communities.push(v),
                Err(e) if options.blank_transient && e.is_transient() => {}
                Err(e) => return Err(e),
            }
        }
        communities.sort();
        communities.dedup();
        if communities.len() > 63 {
            return Err(Error::invalid(
                &object,
                "spec.communities",
                Problem::TooManyCommunities(communities.len()),
            ));
        }
        unique_names(&object, "spec.peers", &spec.peers)?;
        let node_selectors = selectors(&object, "spec.nodeSelectors", &spec.node_selectors)?;
        let attached = attached(
            &object,
            &spec.ip_address_pools,
            &spec.ip_address_pool_selectors,
            pools,
            pool_labels,
        )?;
        let this = BgpAdvertisement {
            name,
            pools: attached,
            aggregation_length,
            aggregation_length_v6,
            local_pref: spec.local_pref,
            communities,
            peers: spec.peers.clone(),
            node_selectors,
            service_selectors,
        };
        for pool_name in &this.pools {
            let Some(pool) = pools.get(pool_name) else {
                continue;
            };
            check_granularity(&object, &this, pool)?;
            for other in out.iter().filter(|o| o.pools.contains(pool_name)) {
                if !local_pref_compatible(&this, other, pool, &node_labels, true) {
                    return Err(Error::invalid(
                        &object,
                        "spec.localPref",
                        Problem::LocalPrefConflict {
                            local_pref: this.local_pref,
                            other: other.name.clone(),
                            other_local_pref: other.local_pref,
                            pool: pool_name.clone(),
                        },
                    ));
                }
            }
        }
        out.push(this);
    }
    Ok(out)
}

/// §1.3 rule 1: an aggregate never covers addresses outside the pool.
fn check_granularity(object: &ObjectRef, ad: &BgpAdvertisement, pool: &Pool) -> Result<(), Error> {
    for (entry, range) in pool.ranges() {
        let min = shortest_prefix(range);
        let (length, field) = match range.family() {
            Family::V4 => (ad.aggregation_length, "spec.aggregationLength"),
            Family::V6 => (ad.aggregation_length_v6, "spec.aggregationLengthV6"),
        };
        if length < min {
            return Err(Error::invalid(
                object,
                field,
                Problem::AggregationTooShort {
                    length,
                    pool: pool.name().to_owned(),
                    entry: entry.to_owned(),
                    min,
                },
            ));
        }
    }
    Ok(())
}

/// The shortest prefix length among the CIDRs `range` summarises to.
pub(crate) fn shortest_prefix(range: &AddressRange) -> u8 {
    let (width, lo, hi) = match (range.first(), range.last()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            (32u32, u128::from(u32::from(a)), u128::from(u32::from(b)))
        }
        (a, b) => (128, bits(a), bits(b)),
    };
    let mut best = width;
    let mut cur = lo;
    loop {
        // The largest aligned block starting at `cur` that ends at or before `hi`.
        let align = if cur == 0 {
            width
        } else {
            cur.trailing_zeros().min(width)
        };
        let size_log = align.min(fit_log(hi - cur));
        best = best.min(width - size_log);
        if size_log >= 128 {
            break;
        }
        let end = cur + ((1u128 << size_log) - 1);
        if end >= hi {
            break;
        }
        cur = end + 1;
    }
    // `best` is at most 128.
    u8::try_from(best).unwrap_or(u8::MAX)
}

/// floor(log2(span + 1)), with span = u128::MAX giving 128.
fn fit_log(span: u128) -> u32 {
    match span.checked_add(1) {
        None => 128,
        Some(n) => 127 - n.leading_zeros(),
    }
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// §1.3 rule 2. At assembly, advertisements with service selectors are skipped
/// (`skip_with_selectors`); the speaker re-checks them per Service.
pub(crate) fn local_pref_compatible(
    a: &BgpAdvertisement,
    b: &BgpAdvertisement,
    pool: &Pool,
    nodes: &[&Labels],
    skip_with_selectors: bool,
) -> bool {
    if a.local_pref == b.local_pref
        || (skip_with_selectors
            && (!a.service_selectors.is_empty() || !b.service_selectors.is_empty()))
    {
        return true;
    }
    let v4 = pool.has_family(Family::V4);
    let v6 = pool.has_family(Family::V6);
    let v4_differs = a.aggregation_length != b.aggregation_length;
    let v6_differs = a.aggregation_length_v6 != b.aggregation_length_v6;
    let lengths_differ = match (v4, v6) {
        (true, true) => v4_differs && v6_differs,
        (true, false) => v4_differs,
        (false, true) => v6_differs,
        (false, false) => false,
    };
    if lengths_differ {
        return true;
    }
    if !a.peers.is_empty() && !b.peers.is_empty() && !a.peers.iter().any(|p| b.peers.contains(p)) {
        return true;
    }
    !nodes
        .iter()
        .any(|l| any_matches(&a.node_selectors, l) && any_matches(&b.node_selectors, l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_prefixes() {
        let p = |s: &str| shortest_prefix(&s.parse::<AddressRange>().expect("range"));
        assert_eq!(p("192.0.2.0/24"), 24);
        assert_eq!(p("192.0.2.0/26"), 26);
        assert_eq!(p("192.0.2.1-192.0.2.6"), 31);
        assert_eq!(p("192.0.2.0-192.0.2.255"), 24);
        assert_eq!(p("192.0.2.7/32"), 32);
        assert_eq!(p("128.0.0.0/2"), 2);
        assert_eq!(p("2000::/3"), 3);
        assert_eq!(p("2001:db8::/64"), 64);
        assert_eq!(p("2001:db8::1-2001:db8::ff"), 121);
        assert_eq!(p("192.0.2.128-192.0.3.127"), 25);
    }
}
