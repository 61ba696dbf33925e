//! Address pools: the `IPAddressPool` spec as written in manifests, and its validated form.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::family::{Family, from_bits, is_buggy, to_bits};
use crate::selector::{LabelSelector, Labels, SelectorProblem};

/// The `spec` of a `metallb.io/v1beta1` `IPAddressPool`, field for field, so manifests
/// deserialize unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolSpec {
    /// CIDRs (`192.0.2.0/24`) and ranges (`192.0.2.10-192.0.2.20`), IPv4 and IPv6 mixed.
    pub addresses: Vec<String>,
    /// Whether automatic allocation may use the pool; `None` means `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_assign: Option<bool>,
    /// Skip IPv4 addresses ending in `.0` or `.255`.
    #[serde(default, rename = "avoidBuggyIPs")]
    pub avoid_buggy_ips: bool,
    /// Restricts the pool to some services and sets its priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_allocation: Option<ServiceAllocationSpec>,
}

/// `spec.serviceAllocation` of an `IPAddressPool`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAllocationSpec {
    /// Lower numbers are tried first; 0 (or unset, or negative) comes after every positive value.
    #[serde(default)]
    pub priority: i32,
    /// Namespaces whose services may use the pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Selectors over namespace labels; a matching namespace may use the pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_selectors: Vec<LabelSelector>,
    /// Selectors over service labels; the service must match at least one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_selectors: Vec<LabelSelector>,
}

/// One inclusive range of addresses of a single family, parsed from one `addresses` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRange {
    first: IpAddr,
    last: IpAddr,
}

impl AddressRange {
    /// A range from `first` to `last` inclusive. IPv4-mapped IPv6 addresses
    /// (`::ffff:192.0.2.1`) are taken as the IPv4 addresses they map, so a range or CIDR wholly
    /// in `::ffff:0:0/96` is an IPv4 range. Fails if the families differ, if `first > last`, or
    /// if an IPv6 range covers only part of the mapped space (its addresses would be IPv4 and
    /// IPv6 at once); the error names neither pool nor entry (see [`Pool::from_spec`]).
    pub fn new(first: IpAddr, last: IpAddr) -> Result<Self, RangeProblem> {
        let both_v6 = first.is_ipv6() && last.is_ipv6();
        let (first, last) = (first.to_canonical(), last.to_canonical());
        if Family::of(&first) != Family::of(&last) {
            return Err(if both_v6 {
                RangeProblem::PartlyIpv4Mapped
            } else {
                RangeProblem::MixedFamilies
            });
        }
        let (lo, hi) = (to_bits(&first), to_bits(&last));
        if lo > hi {
            return Err(RangeProblem::StartAfterEnd);
        }
        if Family::of(&first) == Family::V6 && lo <= MAPPED_LAST && hi >= MAPPED_FIRST {
            return Err(RangeProblem::PartlyIpv4Mapped);
        }
        Ok(AddressRange { first, last })
    }

    /// The reserved space this range reaches into, if any: loopback (`127.0.0.0/8`, `::1`)
    /// or multicast (`224.0.0.0/4`, `ff00::/8`). A pool may hold neither (see
    /// [`Pool::from_spec`]).
    pub fn reserved_overlap(&self) -> Option<RangeProblem> {
        let (lo, hi) = self.bits();
        let (loopback, multicast) = match self.family() {
            Family::V4 => ((0x7f00_0000, 0x7fff_ffff), (0xe000_0000, 0xefff_ffff)),
            Family::V6 => ((1, 1), (0xff00u128 << 112, u128::MAX)),
        };
        let meets = |(a, b): (u128, u128)| lo <= b && hi >= a;
        if meets(loopback) {
            Some(RangeProblem::Loopback)
        } else if meets(multicast) {
            Some(RangeProblem::Multicast)
        } else {
            None
        }
    }

    /// The first address.
    pub fn first(&self) -> IpAddr {
        self.first
    }

    /// The last address.
    pub fn last(&self) -> IpAddr {
        self.last
    }

    /// The family of every address in the range.
    pub fn family(&self) -> Family {
        Family::of(&self.first)
    }

    /// Whether `ip` lies in the range.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        Family::of(ip) == self.family()
            && (to_bits(&self.first)..=to_bits(&self.last)).contains(&to_bits(ip))
    }

    pub(crate) fn bits(&self) -> (u128, u128) {
        (to_bits(&self.first), to_bits(&self.last))
    }

    /// Number of addresses a pool hands out from the range: the unspecified address is not
    /// counted (so even `::/0` fits in a `u128`), nor, with `avoid_buggy`, IPv4 addresses
    /// ending in `.0`/`.255`.
    pub fn size(&self, avoid_buggy: bool) -> u128 {
        let space = IndexSpace::for_family(self.family(), avoid_buggy);
        match space.bounds(self) {
            Some((lo, hi)) => (hi - lo).saturating_add(1),
            None => 0,
        }
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// Why an `addresses` entry was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeProblem {
    /// Neither a CIDR nor a `start-end` range (a bare address falls here too).
    Syntax,
    /// A plain address with no `/mask`.
    BareAddress,
    /// The two ends of a range are of different families.
    MixedFamilies,
    /// The start of a range is after its end.
    StartAfterEnd,
    /// An IPv6 range covers part, not all, of the IPv4-mapped space `::ffff:0:0/96`.
    PartlyIpv4Mapped,
    /// The range reaches into loopback space (`127.0.0.0/8` or `::1`).
    Loopback,
    /// The range reaches into multicast space (`224.0.0.0/4` or `ff00::/8`).
    Multicast,
}

/// The IPv4-mapped IPv6 space, `::ffff:0:0/96`, as integers.
const MAPPED_FIRST: u128 = 0xffff_u128 << 32;
const MAPPED_LAST: u128 = MAPPED_FIRST | 0xffff_ffff;

impl fmt::Display for RangeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RangeProblem::Syntax => "not a CIDR or a start-end range",
            RangeProblem::BareAddress => "an address without a mask; write it as a /32 or /128",
            RangeProblem::MixedFamilies => "the range mixes IPv4 and IPv6",
            RangeProblem::StartAfterEnd => "the start of the range is after its end",
            RangeProblem::PartlyIpv4Mapped => {
                "the IPv6 range covers part of the IPv4-mapped space ::ffff:0:0/96; write IPv4 addresses as IPv4"
            }
            RangeProblem::Loopback => "the range reaches into loopback space (127.0.0.0/8 or ::1)",
            RangeProblem::Multicast => {
                "the range reaches into multicast space (224.0.0.0/4 or ff00::/8)"
            }
        })
    }
}

impl FromStr for AddressRange {
    type Err = RangeProblem;

    /// Parses a CIDR (host bits are cleared, as Go's `net.ParseCIDR` does) or a `start-end`
    /// range with optional whitespace around `-`.
    fn from_str(entry: &str) -> Result<Self, RangeProblem> {
        let entry = entry.trim();
        if let Some((a, b)) = entry.split_once('-') {
            let first = parse_ip(a.trim())?;
            let last = parse_ip(b.trim())?;
            return AddressRange::new(first, last);
        }
        if !entry.contains('/') {
            return Err(if parse_ip(entry).is_ok() {
                RangeProblem::BareAddress
            } else {
                RangeProblem::Syntax
            });
        }
        let net = IpNet::from_str(entry).map_err(|_| RangeProblem::Syntax)?;
        AddressRange::new(net.network(), net.broadcast())
    }
}

fn parse_ip(s: &str) -> Result<IpAddr, RangeProblem> {
    IpAddr::from_str(s).map_err(|_| RangeProblem::Syntax)
}

/// How a pool numbers the addresses of one family for its occupancy set: either the address
/// itself, or (IPv4 with `avoidBuggyIPs`) a dense index that skips `.0` and `.255`, so a run of
/// allocated addresses never breaks at a /24 boundary and "next free" stays O(log n).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexSpace {
    Plain,
    SkipBuggyV4,
}

impl IndexSpace {
    pub(crate) fn for_family(family: Family, avoid_buggy: bool) -> Self {
        if avoid_buggy && family == Family::V4 {
            IndexSpace::SkipBuggyV4
        } else {
            IndexSpace::Plain
        }
    }

    /// Index of an address that belongs to the space (not buggy when skipping).
    pub(crate) fn index(self, bits: u128) -> u128 {
        match self {
            IndexSpace::Plain => bits,
            IndexSpace::SkipBuggyV4 => (bits >> 8) * 254 + (bits & 0xff) - 1,
        }
    }

    /// The address at `index`.
    pub(crate) fn address(self, family: Family, index: u128) -> IpAddr {
        match self {
            IndexSpace::Plain => from_bits(family, index),
            IndexSpace::SkipBuggyV4 => from_bits(family, ((index / 254) << 8) | (index % 254 + 1)),
        }
    }

    /// The first and last index of `range` in this space, or `None` if it holds no usable
    /// address.
    pub(crate) fn bounds(self, range: &AddressRange) -> Option<(u128, u128)> {
        let (lo, hi) = range.bits();
        match self {
            // The unspecified address (0.0.0.0, ::) is never handed out; being the lowest of
            // its family, it can only be the first address of a range.
            IndexSpace::Plain => (hi >= 1).then_some((lo.max(1), hi)),
            IndexSpace::SkipBuggyV4 => {
                let lo = match lo & 0xff {
                    0 => lo + 1,
                    255 => lo + 2,
                    _ => lo,
                };
                let hi = match hi & 0xff {
                    255 => hi - 1,
                    0 => hi.checked_sub(2)?,
                    _ => hi,
                };
                (lo <= hi && hi <= Family::V4.max_bits()).then(|| (self.index(lo), self.index(hi)))
            }
        }
    }
}

/// A validated `serviceAllocation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAllocation {
    /// Positive priority (lower first); `None` sorts after every priority.
    pub priority: Option<u32>,
    /// Namespaces allowed by name.
    pub namespaces: BTreeSet<String>,
    /// Namespaces allowed by their labels.
    pub namespace_selectors: Vec<LabelSelector>,
    /// Service label selectors, any of which must match.
    pub service_selectors: Vec<LabelSelector>,
}

impl ServiceAllocation {
    /// Whether a service in namespace `namespace` (whose labels are `namespace_labels`) with
    /// labels `service_labels` may use the pool.
    ///
    /// A `serviceAllocation` with neither namespaces nor selectors admits every service, as
    /// upstream does since v0.15.0. Namespace selectors are evaluated against the labels the
    /// caller passes rather than resolved once at configuration time, so a namespace that gains
    /// a label is admitted without a configuration reload.
    pub fn admits(
        &self,
        namespace: &str,
        namespace_labels: &Labels,
        service_labels: &Labels,
    ) -> bool {
        let ns_ok = (self.namespaces.is_empty() && self.namespace_selectors.is_empty())
            || self.namespaces.contains(namespace)
            || self
                .namespace_selectors
                .iter()
                .any(|s| s.matches(namespace_labels));
        let svc_ok = self.service_selectors.is_empty()
            || self
                .service_selectors
                .iter()
                .any(|s| s.matches(service_labels));
        ns_ok && svc_ok
    }
}

/// A validated address pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    name: String,
    ranges: Vec<(String, AddressRange)>,
    auto_assign: bool,
    avoid_buggy_ips: bool,
    service_allocation: Option<ServiceAllocation>,
}

impl Pool {
    /// Validates `spec` as the pool `name`. Every error names the pool, and the entry where
    /// there is one. An entry that reaches, wholly or partly, into loopback or multicast space
    /// is rejected ([`RangeProblem::Loopback`], [`RangeProblem::Multicast`]): no address there
    /// can serve a load balancer, so `::/0` or `0.0.0.0/0` is a mistake, not a pool. The
    /// unspecified address (`0.0.0.0`, `::`) is accepted in a range but never handed out.
    pub fn from_spec(name: &str, spec: &PoolSpec) -> Result<Pool, Error> {
        if name.is_empty() {
            return Err(Error::UnnamedPool);
        }
        if spec.addresses.is_empty() {
            return Err(Error::NoAddresses { pool: name.into() });
        }
        let mut ranges = Vec::with_capacity(spec.addresses.len());
        for entry in &spec.addresses {
            let range = AddressRange::from_str(entry)
                .and_then(|r| match r.reserved_overlap() {
                    Some(problem) => Err(problem),
                    None => Ok(r),
                })
                .map_err(|problem| Error::InvalidAddresses {
                    pool: name.into(),
                    entry: entry.clone(),
                    problem,
                })?;
            ranges.push((entry.clone(), range));
        }
        let service_allocation = match &spec.service_allocation {
            None => None,
            Some(sa) => Some(service_allocation(name, sa)?),
        };
        Ok(Pool {
            name: name.into(),
            ranges,
            auto_assign: spec.auto_assign.unwrap_or(true),
            avoid_buggy_ips: spec.avoid_buggy_ips,
            service_allocation,
        })
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ranges in spec order, each with the entry it came from.
    pub fn ranges(&self) -> impl Iterator<Item = (&str, &AddressRange)> {
        self.ranges.iter().map(|(e, r)| (e.as_str(), r))
    }

    /// Whether automatic allocation may use the pool.
    pub fn auto_assign(&self) -> bool {
        self.auto_assign
    }

    /// Whether IPv4 `.0` and `.255` addresses are skipped.
    pub fn avoid_buggy_ips(&self) -> bool {
        self.avoid_buggy_ips
    }

    /// The `serviceAllocation`, if any.
    pub fn service_allocation(&self) -> Option<&ServiceAllocation> {
        self.service_allocation.as_ref()
    }

    /// Whether `ip` is an address the pool hands out (inside a range, not the unspecified
    /// address, and not a skipped `.0`/`.255` when `avoidBuggyIPs` is set).
    pub fn contains(&self, ip: &IpAddr) -> bool {
        !ip.is_unspecified()
            && (!self.avoid_buggy_ips || !is_buggy(ip))
            && self.ranges.iter().any(|(_, r)| r.contains(ip))
    }

    /// Whether the pool has at least one range of `family`.
    pub fn has_family(&self, family: Family) -> bool {
        self.ranges.iter().any(|(_, r)| r.family() == family)
    }

    /// Number of usable addresses of `family`, saturating at `u128::MAX`.
    pub fn size(&self, family: Family) -> u128 {
        self.ranges
            .iter()
            .filter(|(_, r)| r.family() == family)
            .fold(0u128, |acc, (_, r)| {
                acc.saturating_add(r.size(self.avoid_buggy_ips))
            })
    }

    /// Whether a service may draw from the pool (always true without `serviceAllocation`).
    pub fn admits(
        &self,
        namespace: &str,
        namespace_labels: &Labels,
        service_labels: &Labels,
    ) -> bool {
        self.service_allocation
            .as_ref()
            .is_none_or(|sa| sa.admits(namespace, namespace_labels, service_labels))
    }

    pub(crate) fn index_space(&self, family: Family) -> IndexSpace {
        IndexSpace::for_family(family, self.avoid_buggy_ips)
    }

    /// The priority key used to order pinned pools: positive priorities ascending, then the rest.
    pub(crate) fn priority_key(&self) -> u64 {
        match self.service_allocation.as_ref().and_then(|sa| sa.priority) {
            Some(p) => u64::from(p),
            None => u64::MAX,
        }
    }
}

fn service_allocation(pool: &str, sa: &ServiceAllocationSpec) -> Result<ServiceAllocation, Error> {
    let mut namespaces = BTreeSet::new();
    for ns in &sa.namespaces {
        if !namespaces.insert(ns.clone()) {
            return Err(Error::DuplicateNamespace {
                pool: pool.into(),
                namespace: ns.clone(),
            });
        }
    }
    for (field, selectors) in [
        ("namespaceSelectors", &sa.namespace_selectors),
        ("serviceSelectors", &sa.service_selectors),
    ] {
        for (i, s) in selectors.iter().enumerate() {
            s.validate().map_err(|e| Error::InvalidSelector {
                pool: pool.into(),
                field: format!("{field}[{i}].{}", e.field),
                problem: e.problem,
            })?;
            if let Some(index) = selectors[..i].iter().position(|earlier| earlier.same_as(s)) {
                return Err(Error::InvalidSelector {
                    pool: pool.into(),
                    field: format!("{field}[{i}]"),
                    problem: SelectorProblem::DuplicateSelector { index },
                });
            }
        }
    }
    Ok(ServiceAllocation {
        priority: u32::try_from(sa.priority).ok().filter(|p| *p > 0),
        namespaces,
        namespace_selectors: sa.namespace_selectors.clone(),
        service_selectors: sa.service_selectors.clone(),
    })
}

/// A validated set of pools: unique names, and no address in two ranges (within a pool or
/// across pools). Keeps the order it was given, which is the order in which generic pools are
/// tried and the tie-break between pinned pools of equal priority.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pools {
    pools: Vec<Pool>,
    /// Every range as (family, first, last, pool index), sorted, for address lookups.
    index: Vec<(Family, u128, u128, usize)>,
}

impl Pools {
    /// Validates the set.
    pub fn new(pools: Vec<Pool>) -> Result<Pools, Error> {
        let mut index = Vec::new();
        let mut entries = Vec::new();
        for (pi, p) in pools.iter().enumerate() {
            if pools[..pi].iter().any(|q| q.name == p.name) {
                return Err(Error::DuplicatePool {
                    pool: p.name.to_string(),
                });
            }
            for (ri, (_, r)) in p.ranges.iter().enumerate() {
                let (lo, hi) = r.bits();
                index.push((r.family(), lo, hi, pi));
                entries.push((r.family(), lo, hi, pi, ri));
            }
        }
        entries.sort_unstable();
        for w in entries.windows(2) {
            let (fa, _, hi_a, pa, ra) = w[0];
            let (fb, lo_b, _, pb, rb) = w[1];
            if fa == fb && lo_b <= hi_a {
                // Report against the later definition, as upstream does.
                let ((p1, r1), (p2, r2)) = if (pa, ra) > (pb, rb) {
                    ((pa, ra), (pb, rb))
                } else {
                    ((pb, rb), (pa, ra))
                };
                return Err(Error::Overlap {
                    pool: pools[p1].name.clone(),
                    entry: pools[p1].ranges[r1].0.clone(),
                    other_pool: pools[p2].name.clone(),
                    other_entry: pools[p2].ranges[r2].0.clone(),
                });
            }
        }
        index.sort_unstable();
        Ok(Pools { pools, index })
    }

    /// Parses and validates `(name, spec)` pairs in one step.
    pub fn from_specs<'a>(
        specs: impl IntoIterator<Item = (&'a str, &'a PoolSpec)>,
    ) -> Result<Pools, Error> {
        let pools = specs
            .into_iter()
            .map(|(name, spec)| Pool::from_spec(name, spec))
            .collect::<Result<Vec<_>, _>>()?;
        Pools::new(pools)
    }

    /// The pools, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &Pool> {
        self.pools.iter()
    }

    /// Number of pools.
    pub fn len(&self) -> usize {
        self.pools.len()
    }

    /// Whether there are no pools.
    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    /// The pool called `name`.
    pub fn get(&self, name: &str) -> Option<&Pool> {
        self.position(name).map(|i| &self.pools[i])
    }

    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.pools.iter().position(|p| p.name == name)
    }

    pub(crate) fn at(&self, i: usize) -> &Pool {
        &self.pools[i]
    }

    /// The index of the pool whose ranges contain `ip`, ignoring `avoidBuggyIPs`.
    pub(crate) fn position_of(&self, ip: &IpAddr) -> Option<usize> {
        let key = (Family::of(ip), to_bits(ip));
        let after = self.index.partition_point(|&(f, lo, _, _)| (f, lo) <= key);
        let &(f, _, hi, pi) = self.index[..after].last()?;
        (f == key.0 && key.1 <= hi).then_some(pi)
    }

    /// The pool that hands out every address in `ips` (MetalLB's `poolFor`): all must fall in
    /// the same pool and none may be a skipped `.0`/`.255`.
    pub fn pool_for(&self, ips: &[IpAddr]) -> Option<&Pool> {
        self.position_for(ips).map(|i| &self.pools[i])
    }

    pub(crate) fn position_for(&self, ips: &[IpAddr]) -> Option<usize> {
        let first = ips.first()?;
        let pi = self.position_of(first)?;
        let pool = &self.pools[pi];
        ips.iter()
            .all(|ip| self.position_of(ip) == Some(pi) && pool.contains(ip))
            .then_some(pi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(addresses: &[&str]) -> PoolSpec {
        PoolSpec {
            addresses: addresses.iter().map(|s| s.to_string()).collect(),
            ..PoolSpec::default()
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn parses_cidrs_and_ranges() {
        let r: AddressRange = "192.0.2.0/24".parse().expect("cidr");
        assert_eq!((r.first(), r.last()), (ip("192.0.2.0"), ip("192.0.2.255")));
        let r: AddressRange = "192.0.2.77/24".parse().expect("host bits");
        assert_eq!(r.first(), ip("192.0.2.0"));
        let r: AddressRange = "192.0.2.10 - 192.0.2.20".parse().expect("spaced range");
        assert_eq!((r.first(), r.last()), (ip("192.0.2.10"), ip("192.0.2.20")));
        let r: AddressRange = "2001:db8::1-2001:db8::ff".parse().expect("v6 range");
        assert_eq!(r.size(false), 255);
        let r: AddressRange = "2001:db8::/64".parse().expect("v6 cidr");
        assert_eq!(r.size(false), 1u128 << 64);
        let r: AddressRange = "8000::/1".parse().expect("half of v6");
        assert_eq!(r.size(false), 1u128 << 127);
        assert_eq!(
            "::/0".parse::<AddressRange>(),
            Err(RangeProblem::PartlyIpv4Mapped)
        );
        let r: AddressRange = "::/95".parse().expect("below the mapped space");
        assert_eq!(r.size(false), (1u128 << 33) - 1, "without ::");
        let r: AddressRange = "192.0.2.5/32".parse().expect("single");
        assert_eq!(r.size(false), 1);
    }

    #[test]
    fn rejects_bad_entries() {
        let cases = [
            ("192.0.2.1", RangeProblem::BareAddress),
            ("2001:db8::1", RangeProblem::BareAddress),
            ("192.0.2.20-192.0.2.10", RangeProblem::StartAfterEnd),
            ("192.0.2.1-2001:db8::1", RangeProblem::MixedFamilies),
            ("192.0.2.0/33", RangeProblem::Syntax),
            ("nonsense", RangeProblem::Syntax),
            ("", RangeProblem::Syntax),
            ("192.0.2.1-", RangeProblem::Syntax),
            ("-", RangeProblem::Syntax),
        ];
        for (entry, problem) in cases {
            assert_eq!(entry.parse::<AddressRange>(), Err(problem), "{entry}");
        }
        let err = Pool::from_spec("web", &spec(&["192.0.2.0/24", "192.0.2.9"])).expect_err("bare");
        assert_eq!(
            err.to_string(),
            "pool \"web\": address entry \"192.0.2.9\" is invalid: an address without a mask; write it as a /32 or /128"
        );
    }

    #[test]
    fn buggy_counting() {
        let r: AddressRange = "192.0.2.0/24".parse().expect("cidr");
        assert_eq!(r.size(true), 254);
        let r: AddressRange = "192.0.0.0/22".parse().expect("cidr");
        assert_eq!(r.size(true), 4 * 254);
        let r: AddressRange = "192.0.2.255-192.0.3.0".parse().expect("range");
        assert_eq!(r.size(true), 0);
        let r: AddressRange = "192.0.2.128/25".parse().expect("cidr");
        assert_eq!(r.size(true), 127);
        let r: AddressRange = "0.0.0.0/32".parse().expect("cidr");
        assert_eq!(r.size(true), 0);
        let r: AddressRange = "255.255.255.255/32".parse().expect("cidr");
        assert_eq!(r.size(true), 0);
        let r: AddressRange = "0.0.0.0/0".parse().expect("cidr");
        assert_eq!(r.size(true), (1u128 << 24) * 254);
        assert_eq!(r.size(false), (1u128 << 32) - 1, "without 0.0.0.0");
        let r: AddressRange = "2001:db8::/120".parse().expect("cidr");
        assert_eq!(r.size(true), 256, "no effect on IPv6");
    }

    #[test]
    fn skip_buggy_index_round_trips() {
        let s = IndexSpace::SkipBuggyV4;
        for bits in [1u128, 2, 254, 257, 510, 0xc000_02fe, 0xffff_fffe] {
            let a = from_bits(Family::V4, bits);
            assert!(!is_buggy(&a));
            assert_eq!(s.address(Family::V4, s.index(bits)), a);
        }
        assert_eq!(s.index(257), s.index(254) + 1, "x.x.1.1 follows x.x.0.254");
    }

    #[test]
    fn overlaps_are_named() {
        let a = Pool::from_spec("a", &spec(&["192.0.2.0/25"])).expect("a");
        let b =
            Pool::from_spec("b", &spec(&["2001:db8::/64", "192.0.2.100-192.0.2.200"])).expect("b");
        let err = Pools::new(vec![a.clone(), b]).expect_err("overlap");
        assert_eq!(
            err,
            Error::Overlap {
                pool: "b".into(),
                entry: "192.0.2.100-192.0.2.200".into(),
                other_pool: "a".into(),
                other_entry: "192.0.2.0/25".into(),
            }
        );
        let within =
            Pool::from_spec("c", &spec(&["198.51.100.0/24", "198.51.100.7/32"])).expect("c");
        assert!(
            matches!(Pools::new(vec![within]), Err(Error::Overlap { pool, other_pool, .. }) if pool == "c" && other_pool == "c")
        );
        let dup = Pools::new(vec![a.clone(), a]);
        assert_eq!(dup, Err(Error::DuplicatePool { pool: "a".into() }));
        // Adjacent is fine, and families never overlap each other.
        let x = Pool::from_spec("x", &spec(&["192.0.2.0/25", "2001:db8::/32"])).expect("x");
        let y = Pool::from_spec("y", &spec(&["192.0.2.128/25"])).expect("y");
        assert!(Pools::new(vec![x, y]).is_ok());
    }

    #[test]
    fn pool_lookup() {
        let mut s = spec(&["192.0.2.0/24"]);
        s.avoid_buggy_ips = true;
        let a = Pool::from_spec("a", &s).expect("a");
        let b = Pool::from_spec("b", &spec(&["198.51.100.0/24", "2001:db8::/64"])).expect("b");
        let pools = Pools::new(vec![a, b]).expect("pools");
        assert_eq!(
            pools.pool_for(&[ip("192.0.2.1")]).map(Pool::name),
            Some("a")
        );
        assert_eq!(
            pools.pool_for(&[ip("192.0.2.0")]),
            None,
            "buggy address skipped"
        );
        assert_eq!(
            pools
                .pool_for(&[ip("198.51.100.0"), ip("2001:db8::5")])
                .map(Pool::name),
            Some("b")
        );
        assert_eq!(
            pools.pool_for(&[ip("198.51.100.1"), ip("192.0.2.1")]),
            None,
            "two pools"
        );
        assert_eq!(pools.pool_for(&[ip("203.0.113.1")]), None);
        assert_eq!(pools.pool_for(&[]), None);
    }

    #[test]
    fn service_allocation_rules() {
        let mut s = spec(&["192.0.2.0/24"]);
        s.service_allocation = Some(ServiceAllocationSpec {
            priority: 0,
            namespaces: vec!["a".into(), "a".into()],
            ..Default::default()
        });
        assert_eq!(
            Pool::from_spec("p", &s),
            Err(Error::DuplicateNamespace {
                pool: "p".into(),
                namespace: "a".into()
            })
        );
        s.service_allocation = Some(ServiceAllocationSpec::default());
        let p = Pool::from_spec("p", &s).expect("empty serviceAllocation");
        assert!(
            p.admits("any", &Labels::new(), &Labels::new()),
            "matches everything"
        );
        assert_eq!(p.priority_key(), u64::MAX);
    }
}
