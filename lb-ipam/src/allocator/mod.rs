//! The allocator: MetalLB's allocation rules over data structures that never enumerate a pool.
//!
//! State, per address in use: the services on it and their common sharing key. Per pool and
//! family: a [`RunSet`] of occupied addresses (maximal runs, so the lowest free address costs
//! O(log r) in the number of runs), and a counter. Per sharing key: the ordered set of shared
//! addresses, with a cursor per port set that remembers below which address every shared
//! address is known to clash, so packing services onto shared addresses stays O(log n)
//! amortised instead of a scan from the start of the pool.

use std::collections::{BTreeSet, hash_map::Entry};
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::keyed::KeyedRecords;

use crate::Error;
use crate::error::Conflict;
use crate::family::Family;
use crate::occupancy::RunSet;
use crate::pool::{AddressRange, Pools};
use crate::records::{Ips, PortSet, Users};
use crate::service::{
    FamilyRequest, Port, Service, ServiceKey, SharingKey, check_at_most_one_per_family,
};
use crate::table::AddressTable;

mod internals;

use internals::{same_set, sharing_ok};

/// Addresses given to one service, and the pool they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The pool's name.
    pub pool: String,
    /// One address, or one per family (IPv4 first, as upstream writes them).
    pub ips: Ips,
}

/// One thing [`Allocator::converge`] did on the way, for logs and Kubernetes events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The current addresses were dropped (upstream event `ClearAssignment`).
    Cleared {
        /// The addresses dropped.
        ips: Vec<IpAddr>,
        /// Why.
        reason: ClearReason,
    },
    /// New addresses were assigned (upstream event `IPAllocated`, "Assigned IP").
    Allocated(Vec<IpAddr>),
    /// A `PreferDualStack` service got its second family (`IPAllocated`, "Assigned additional IP").
    AddedFamily(IpAddr),
    /// The second family could not be added (`AdditionalAssignFailed`); the first stays.
    AddFamilyFailed(Error),
}

/// Why [`Allocator::converge`] dropped a service's current addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClearReason {
    /// Their families no longer match the service's family request.
    FamilyChanged,
    /// The configuration no longer allows them (not in a pool, pool incompatible, or a sharing
    /// conflict).
    NotAllowed(Error),
    /// The service asks for a different pool.
    DifferentPoolRequested,
    /// The service asks for different addresses.
    DifferentIpsRequested,
}

/// The result of [`Allocator::converge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Convergence {
    /// The service's assignment, or why it has none (upstream event `AllocationFailed`).
    pub outcome: Result<Assignment, Error>,
    /// What happened on the way.
    pub notes: Vec<Note>,
}

/// A current assignment that the new configuration no longer allows (see
/// [`Allocator::set_pools`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// The service.
    pub service: ServiceKey,
    /// The addresses it held.
    pub ips: Vec<IpAddr>,
    /// The pool they came from.
    pub pool: String,
}

/// Address counts of one family in one pool. Exact, held in `u128` (no pool hands out the
/// unspecified address, so even the largest fits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FamilyCounters {
    /// Usable addresses (without `.0`/`.255` under `avoidBuggyIPs`).
    pub total: u128,
    /// Addresses held by at least one service.
    pub assigned: u128,
    /// `total - assigned`.
    pub available: u128,
}

/// Counters of one pool, the source of the `status` of an `IPAddressPool` and of the
/// `metallb_allocator_*` metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolCounters {
    /// IPv4.
    pub v4: FamilyCounters,
    /// IPv6.
    pub v6: FamilyCounters,
}

#[derive(Debug, Clone)]
struct Allocation {
    /// Index of the pool, as `u32` to keep the record at 64 bytes (a pool is hundreds of bytes,
    /// so 2^32 of them cannot exist).
    pool: u32,
    ips: Ips,
    ports: PortSet,
    sharing: Option<SharingKey>,
}

impl Allocation {
    fn pool(&self) -> usize {
        self.pool as usize
    }
}

#[derive(Debug, Clone)]
struct IpUse {
    sharing: Option<SharingKey>,
    users: Users,
}

#[derive(Debug, Clone, Default)]
struct PoolState {
    occupied: [RunSet; 2],
    assigned: [u128; 2],
}

/// Cursors kept per sharing key before they are reset: a hint cache, not state.
const MAX_CURSORS: usize = 64;

#[derive(Debug, Clone, Default)]
struct Group {
    ips: BTreeSet<IpAddr>,
    /// For a port set: per family, an address below which every shared address clashes.
    cursors: FxHashMap<Box<[Port]>, [Option<IpAddr>; 2]>,
}

impl Group {
    /// Some shared address at or above `ip` may have become usable: pull cursors back.
    fn lower(&mut self, ip: IpAddr) {
        let fi = Family::of(&ip).index();
        for c in self.cursors.values_mut() {
            if c[fi].is_some_and(|c| c > ip) {
                c[fi] = Some(ip);
            }
        }
    }
}

/// MetalLB's IP allocator. See the crate documentation for the rules it follows.
///
/// Costs, with n assignments: allocation, release and assignment are O(log n) whatever the pool
/// sizes (plus the number of candidate pools); [`Allocator::set_pools`] is O(n log n).
#[derive(Debug, Clone, Default)]
pub struct Allocator {
    pools: Pools,
    states: Vec<PoolState>,
    generic: Vec<usize>,
    any_pinned: bool,
    ips: AddressTable<IpUse>,
    allocations: KeyedRecords<Allocation>,
    groups: FxHashMap<SharingKey, Group>,
}

/// Whether a service already holds the addresses it is converged with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Not known: converging assigns them, which checks them.
    Unchecked,
    /// Assigned just before, exactly those addresses.
    Assigned,
}

impl Allocator {
    /// An allocator with no pools.
    pub fn new() -> Self {
        Self::default()
    }

    /// An allocator with `pools`.
    pub fn with_pools(pools: Pools) -> Self {
        let mut a = Self::new();
        a.set_pools(pools);
        a
    }

    /// The current pools.
    pub fn pools(&self) -> &Pools {
        &self.pools
    }

    /// Number of services holding addresses.
    pub fn len(&self) -> usize {
        self.allocations.len()
    }

    /// Whether no service holds an address.
    pub fn is_empty(&self) -> bool {
        self.allocations.is_empty()
    }

    /// Replaces the configuration. Assignments whose addresses are no longer all handed out by
    /// one pool are released and returned, sorted by service; the caller converges those
    /// services again (they get new addresses), and should converge every other service too,
    /// since a pool's `serviceAllocation` may have changed. Assignments whose addresses moved
    /// to another pool follow them.
    pub fn set_pools(&mut self, pools: Pools) -> Vec<Orphan> {
        let old_pools = std::mem::replace(&mut self.pools, pools);
        let allocations = std::mem::take(&mut self.allocations);
        self.ips.clear();
        self.groups.clear();
        self.states = vec![PoolState::default(); self.pools.len()];
        self.generic = (0..self.pools.len())
            .filter(|&i| {
                let p = self.pools.at(i);
                p.auto_assign() && p.service_allocation().is_none()
            })
            .collect();
        self.any_pinned = self.pools.iter().any(|p| p.service_allocation().is_some());
        let mut orphans = Vec::new();
        for (key, mut alloc) in allocations {
            match self.pools.position_for(&alloc.ips) {
                Some(pi) => {
                    alloc.pool = pi as u32;
                    self.commit(key, alloc);
                }
                None => orphans.push(Orphan {
                    service: key,
                    ips: alloc.ips.to_vec(),
                    pool: old_pools.at(alloc.pool()).name().to_owned(),
                }),
            }
        }
        orphans.sort_by(|a, b| a.service.cmp(&b.service));
        orphans
    }

    /// The assignment of `key`, if it holds addresses.
    pub fn assignment(&self, key: &ServiceKey) -> Option<Assignment> {
        self.allocations.get(key).map(|a| self.to_assignment(a))
    }

    /// The services holding `ip`.
    pub fn services_on(&self, ip: &IpAddr) -> &[ServiceKey] {
        self.ips.get(ip).map_or(&[], |u| &u.users)
    }

    /// Iterates over every assignment (in no particular order).
    pub fn assignments(&self) -> impl Iterator<Item = (&ServiceKey, Assignment)> + '_ {
        self.allocations
            .iter()
            .map(|(k, a)| (k, self.to_assignment(a)))
    }

    /// Counters of the pool `name`.
    pub fn counters(&self, name: &str) -> Option<PoolCounters> {
        let pi = self.pools.position(name)?;
        let pool = self.pools.at(pi);
        let st = &self.states[pi];
        let fam = |f: Family| {
            let total = pool.size(f);
            let assigned = st.assigned[f.index()];
            FamilyCounters {
                total,
                assigned,
                available: total.saturating_sub(assigned),
            }
        };
        Some(PoolCounters {
            v4: fam(Family::V4),
            v6: fam(Family::V6),
        })
    }

    /// Whether `svc` could hold `ip` next to the services already on it (MetalLB's
    /// `checkSharing`): the address is free, or every holder has the same sharing and backend
    /// keys and no port in common with `svc`. A sole holder that is `svc` itself may change its
    /// key. Does not check pools.
    pub fn check_sharing(&self, svc: &Service, ip: &IpAddr) -> Result<(), Error> {
        sharing_ok(
            &self.ips,
            &self.allocations,
            &svc.key,
            &PortSet::new(&svc.ports),
            svc.sharing.as_ref(),
            ip,
        )
    }

    /// Gives `svc` exactly `ips` (MetalLB's `Assign`): at most one address per family, all in
    /// one pool that admits the service, each shareable. Replaces any previous assignment of
    /// `svc`; on error the previous assignment is kept.
    pub fn assign(&mut self, svc: &Service, ips: &[IpAddr]) -> Result<Assignment, Error> {
        check_at_most_one_per_family(ips)?;
        let mut canonical = [IpAddr::from([0u8; 4]); 2];
        for (c, ip) in canonical.iter_mut().zip(ips) {
            *c = ip.to_canonical();
        }
        let ips = &canonical[..ips.len()];
        let pi = self
            .pools
            .position_for(ips)
            .ok_or_else(|| self.not_in_a_pool(ips))?;
        self.check_admits(pi, svc)?;
        let ports = PortSet::new(&svc.ports);
        for ip in ips {
            sharing_ok(
                &self.ips,
                &self.allocations,
                &svc.key,
                &ports,
                svc.sharing.as_ref(),
                ip,
            )?;
        }
        let ips = Ips::new(ips);
        if let Some(a) = self.allocations.get(&svc.key)
            && a.pool() == pi
            && a.ips == ips
            && a.sharing == svc.sharing
            && *a.ports == *ports
        {
            // Nothing changes (the common case when converging a service again).
            return Ok(self.to_assignment(a));
        }
        Ok(self.commit_new(svc, pi, ips, ports))
    }

    /// Releases the addresses of `key` (MetalLB's `Unassign`). Returns what it held.
    pub fn release(&mut self, key: &ServiceKey) -> Option<Assignment> {
        let alloc = self.unassign(key)?;
        Some(self.to_assignment(&alloc))
    }

    /// Allocates automatically (MetalLB's `Allocate`): a service that already holds addresses
    /// keeps them if they are still allowed; otherwise the pools pinned to it by
    /// `serviceAllocation` are tried by priority, then every generic auto-assign pool in
    /// configuration order. Within a pool, each range in spec order is searched first-fit for an
    /// address that is free or compatibly shared. Ignores `svc.pool` and `svc.requested`; see
    /// [`Allocator::converge`] for the whole decision.
    pub fn allocate(&mut self, svc: &Service) -> Result<Assignment, Error> {
        if let Some(existing) = self.allocations.get(&svc.key) {
            let ips = existing.ips.to_vec();
            return self.assign(svc, &ips);
        }
        let ports = PortSet::new(&svc.ports);
        if self.any_pinned {
            let mut pinned: Vec<usize> = (0..self.pools.len())
                .filter(|&i| {
                    let p = self.pools.at(i);
                    p.service_allocation().is_some()
                        && p.auto_assign()
                        && p.admits(svc.key.namespace(), &svc.namespace_labels, &svc.labels)
                })
                .collect();
            pinned.sort_by_key(|&i| self.pools.at(i).priority_key());
            if let Some((pi, ips)) = self.best_pool(&pinned, svc, &ports) {
                return Ok(self.commit_new(svc, pi, ips, ports));
            }
        }
        let generic = std::mem::take(&mut self.generic);
        let found = self.best_pool(&generic, svc, &ports);
        self.generic = generic;
        match found {
            Some((pi, ips)) => Ok(self.commit_new(svc, pi, ips, ports)),
            None => Err(Error::NoAvailableIps),
        }
    }

    /// Allocates from the pool `name` (the `address-pool` annotation), whether or not it is
    /// auto-assign, if its `serviceAllocation` admits the service. A service that already holds
    /// addresses keeps them if they are still allowed.
    pub fn allocate_from_pool(&mut self, svc: &Service, name: &str) -> Result<Assignment, Error> {
        if let Some(existing) = self.allocations.get(&svc.key) {
            let ips = existing.ips.to_vec();
            if !svc.families.accepts(&ips) {
                return Err(Error::RequestedFamilyMismatch { ips });
            }
            return self.assign(svc, &ips);
        }
        let pi = self
            .pools
            .position(name)
            .ok_or_else(|| Error::UnknownPool(name.into()))?;
        self.check_admits(pi, svc)?;
        let ports = PortSet::new(&svc.ports);
        let find = |a: &mut Self, f| a.find_in_pool(pi, f, &svc.key, &ports, svc.sharing.as_ref());
        let missing = |family| Error::NoAvailableIpsInPool {
            pool: name.into(),
            family,
        };
        let ips = match svc.families {
            FamilyRequest::Single(f) => Ips::new(&[find(self, f).ok_or_else(|| missing(f))?]),
            FamilyRequest::RequireDual => {
                let v4 = find(self, Family::V4).ok_or_else(|| missing(Family::V4))?;
                let v6 = find(self, Family::V6).ok_or_else(|| missing(Family::V6))?;
                Ips::new(&[v4, v6])
            }
            FamilyRequest::PreferDual { primary } => {
                match (find(self, Family::V4), find(self, Family::V6)) {
                    (Some(a), Some(b)) => Ips::new(&[a, b]),
                    (Some(a), None) | (None, Some(a)) => Ips::new(&[a]),
                    (None, None) => return Err(missing(primary)),
                }
            }
        };
        Ok(self.commit_new(svc, pi, ips, ports))
    }

    /// Adds an address of the missing family, from the same pool, to a `PreferDualStack`
    /// service that holds one address (MetalLB's `AllocateFromPoolForAdditionalFamily`).
    pub fn allocate_additional_family(&mut self, svc: &Service) -> Result<IpAddr, Error> {
        let Some(existing) = self.allocations.get(&svc.key) else {
            return Err(Error::NoAdditionalFamily);
        };
        let (&[held], FamilyRequest::PreferDual { .. }) = (&*existing.ips, svc.families) else {
            return Err(Error::NoAdditionalFamily);
        };
        let pi = existing.pool();
        let family = Family::of(&held).other();
        let ports = PortSet::new(&svc.ports);
        let ip = self
            .find_in_pool(pi, family, &svc.key, &ports, svc.sharing.as_ref())
            .ok_or_else(|| Error::NoAvailableIpsInPool {
                pool: self.pools.at(pi).name().into(),
                family,
            })?;
        let ips = if family == Family::V6 {
            [held, ip]
        } else {
            [ip, held]
        };
        self.assign(svc, &ips)?;
        Ok(ip)
    }

    /// Brings one service to its end state, as MetalLB's controller does for each
    /// `LoadBalancer` service: keep `current` (the addresses in its status) if still allowed,
    /// matching its family request, requested pool and requested addresses; add a second family
    /// for `PreferDualStack`; otherwise allocate, honouring requested addresses, then the
    /// requested pool, then automatic allocation. On failure the service holds nothing.
    pub fn converge(&mut self, svc: &Service, current: &[IpAddr]) -> Convergence {
        self.converge_held(svc, current, Held::Unchecked)
    }

    /// [`Allocator::converge`], told whether `svc` was just assigned `current`
    /// (`Held::Assigned`, by [`Allocator::restore`]): if it still holds exactly those
    /// addresses, assigning them again would succeed and change nothing, so it is skipped.
    fn converge_held(&mut self, svc: &Service, current: &[IpAddr], held: Held) -> Convergence {
        let mut notes = Vec::new();
        if self.pools.is_empty() {
            self.unassign(&svc.key);
            return Convergence {
                outcome: Err(Error::NoPools),
                notes,
            };
        }
        let mut current: Vec<IpAddr> = current.iter().map(|ip| ip.to_canonical()).collect();
        if current.is_empty() {
            // The status is the source of truth: no address there means start from scratch.
            self.unassign(&svc.key);
        }
        let mut clear = |a: &mut Self, current: &mut Vec<IpAddr>, reason| {
            a.unassign(&svc.key);
            notes.push(Note::Cleared {
                ips: std::mem::take(current),
                reason,
            });
        };
        if !current.is_empty()
            && (check_at_most_one_per_family(&current).is_err() || !svc.families.accepts(&current))
        {
            clear(self, &mut current, ClearReason::FamilyChanged);
        }
        let still_held = held == Held::Assigned
            && self
                .allocations
                .get(&svc.key)
                .is_some_and(|a| a.ips.iter().eq(current.iter()));
        if !current.is_empty()
            && !still_held
            && let Err(e) = self.assign(svc, &current)
        {
            clear(self, &mut current, ClearReason::NotAllowed(e));
        }
        if !current.is_empty()
            && let Some(pool) = &svc.pool
            && self.pool_name_of(&svc.key) != Some(pool.as_str())
        {
            clear(self, &mut current, ClearReason::DifferentPoolRequested);
        }
        if !current.is_empty() && !svc.requested.is_empty() && !same_set(&current, &svc.requested) {
            clear(self, &mut current, ClearReason::DifferentIpsRequested);
        }
        if current.len() == 1 && matches!(svc.families, FamilyRequest::PreferDual { .. }) {
            match self.allocate_additional_family(svc) {
                Ok(ip) => notes.push(Note::AddedFamily(ip)),
                Err(e) => notes.push(Note::AddFamilyFailed(e)),
            }
        }
        let outcome = if current.is_empty() {
            let r = self.allocate_new(svc);
            if let Ok(a) = &r {
                notes.push(Note::Allocated(a.ips.to_vec()));
            }
            r
        } else {
            self.allocations
                .get(&svc.key)
                .map(|a| self.to_assignment(a))
                .ok_or(Error::NoAvailableIps)
        };
        Convergence { outcome, notes }
    }

    /// Rebuilds state after a restart from each service's current addresses (its status).
    /// First every service that holds addresses gets them back (those holding the most first,
    /// as upstream orders them), with no new allocation in between, so neither a pending
    /// service nor a `PreferDualStack` service growing a second family can take an address
    /// another service already holds. Then every service is converged, so pending ones get
    /// addresses and invalid ones are cleared and reallocated. What the given services held
    /// before the call does not matter, so restoring the same state twice changes nothing.
    /// Results come in processing order.
    pub fn restore(
        &mut self,
        services: Vec<(Service, Vec<IpAddr>)>,
    ) -> Vec<(ServiceKey, Convergence)> {
        // The processing order, as a stable sort of positions: moving the services themselves
        // would cost more than the rest of a restore into an empty allocator.
        let mut order: Vec<usize> = (0..services.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(services[i].1.len()));
        // Whatever these services hold now is replaced by what the snapshot says, so the
        // result does not depend on the state before the call.
        if !self.allocations.is_empty() {
            for (svc, _) in &services {
                self.unassign(&svc.key);
            }
        }
        self.allocations.reserve(services.len());
        let held: Vec<Held> = order
            .iter()
            .map(|&i| {
                let (svc, ips) = &services[i];
                // A failure here is reported by the converge below, which tries again.
                if !ips.is_empty() && svc.families.accepts(ips) && self.assign(svc, ips).is_ok() {
                    Held::Assigned
                } else {
                    Held::Unchecked
                }
            })
            .collect();
        // An assignment made above stays valid: a later service that conflicts with it fails
        // instead of displacing it (only the same service listed twice moves it, which
        // `converge_held` notices).
        order
            .into_iter()
            .zip(held)
            .map(|(i, held)| {
                let (svc, ips) = &services[i];
                (svc.key.clone(), self.converge_held(svc, ips, held))
            })
            .collect()
    }

    /// Checks every internal invariant and returns the first violation. Meant for tests,
    /// fuzzing and debugging; O(n log n).
    pub fn check_consistency(&self) -> Result<(), String> {
        let mut recount = vec![[0u128; 2]; self.pools.len()];
        for (key, a) in &self.allocations {
            check_at_most_one_per_family(&a.ips).map_err(|e| format!("{key}: {e}"))?;
            if a.ips.is_empty() {
                return Err(format!("{key} holds no address"));
            }
            if self.pools.position_for(&a.ips) != Some(a.pool()) {
                return Err(format!("{key}: {:?} not handed out by its pool", a.ips));
            }
            for ip in a.ips.iter() {
                let u = self
                    .ips
                    .get(ip)
                    .ok_or(format!("{key}: {ip} not recorded"))?;
                if !u.users.contains(key) {
                    return Err(format!("{key}: not a user of {ip}"));
                }
                if u.sharing != a.sharing && u.users.len() > 1 {
                    return Err(format!("{key}: sharing key differs on shared {ip}"));
                }
            }
        }
        for (ip, u) in self.ips.iter() {
            let ip = &ip;
            let Some(first) = u.users.first() else {
                return Err(format!("{ip}: recorded with no user"));
            };
            let a0 = self
                .allocations
                .get(first)
                .ok_or(format!("{ip}: unknown user"))?;
            let pi = a0.pool();
            let f = Family::of(ip);
            recount[pi][f.index()] += 1;
            let space = self.pools.at(pi).index_space(f);
            if !self.states[pi].occupied[f.index()]
                .contains(space.index(crate::family::to_bits(ip)))
            {
                return Err(format!("{ip}: in use but not marked occupied"));
            }
            if u.users.len() > 1 {
                let Some(sk) = &u.sharing else {
                    return Err(format!("{ip}: shared without a sharing key"));
                };
                let mut seen = BTreeSet::new();
                for user in u.users.iter() {
                    let a = self
                        .allocations
                        .get(user)
                        .ok_or(format!("{ip}: unknown user"))?;
                    if a.sharing.as_ref() != Some(sk) {
                        return Err(format!("{ip}: {user} has another sharing key"));
                    }
                    for p in a.ports.iter() {
                        if !seen.insert(*p) {
                            return Err(format!("{ip}: port {p} used twice"));
                        }
                    }
                }
            }
            let in_group = u
                .sharing
                .as_ref()
                .and_then(|sk| self.groups.get(sk))
                .is_some_and(|g| g.ips.contains(ip));
            if in_group != u.sharing.is_some() {
                return Err(format!("{ip}: sharing index out of date"));
            }
        }
        for (pi, st) in self.states.iter().enumerate() {
            for f in [Family::V4, Family::V6] {
                let fi = f.index();
                let marked: u128 = st.occupied[fi].iter_runs().map(|(s, e)| e - s + 1).sum();
                if st.assigned[fi] != recount[pi][fi] || marked != recount[pi][fi] {
                    return Err(format!(
                        "pool {}: {f} counter {} / occupancy {marked} / recount {}",
                        self.pools.at(pi).name(),
                        st.assigned[fi],
                        recount[pi][fi]
                    ));
                }
            }
        }
        let grouped: usize = self.groups.values().map(|g| g.ips.len()).sum();
        let shared = self.ips.values().filter(|u| u.sharing.is_some()).count();
        if grouped != shared {
            return Err(format!(
                "sharing index has {grouped} addresses, {shared} expected"
            ));
        }
        Ok(())
    }
}
