//! The allocator's internals: pool lookup, address search, records and the sharing rules.

use super::*;

impl Allocator {
    pub(super) fn pool_name_of(&self, key: &ServiceKey) -> Option<&str> {
        self.allocations
            .get(key)
            .map(|a| self.pools.at(a.pool()).name())
    }

    pub(super) fn to_assignment(&self, a: &Allocation) -> Assignment {
        Assignment {
            pool: self.pools.at(a.pool()).name().to_owned(),
            ips: a.ips,
        }
    }

    /// Why no single pool hands out all of `ips`: an address no pool ever hands out says so,
    /// else they are outside every pool or split across pools.
    pub(super) fn not_in_a_pool(&self, ips: &[IpAddr]) -> Error {
        for ip in ips {
            if ip.is_unspecified() {
                return Error::UnspecifiedAddress(*ip);
            }
            if let Some(pi) = self.pools.position_of(ip) {
                let pool = self.pools.at(pi);
                if pool.avoid_buggy_ips() && crate::family::is_buggy(ip) {
                    return Error::AvoidedBuggyIp {
                        ip: *ip,
                        pool: pool.name().into(),
                    };
                }
            }
        }
        Error::NotInAnyPool { ips: ips.to_vec() }
    }

    pub(super) fn check_admits(&self, pi: usize, svc: &Service) -> Result<(), Error> {
        let pool = self.pools.at(pi);
        if pool.admits(svc.key.namespace(), &svc.namespace_labels, &svc.labels) {
            Ok(())
        } else {
            Err(Error::PoolNotCompatible {
                pool: pool.name().into(),
            })
        }
    }

    /// Step 4 of converge (`allocateIPs`).
    pub(super) fn allocate_new(&mut self, svc: &Service) -> Result<Assignment, Error> {
        if !svc.requested.is_empty() {
            let requested: Vec<IpAddr> = svc.requested.iter().map(|ip| ip.to_canonical()).collect();
            check_at_most_one_per_family(&requested)?;
            let families_match = match svc.families {
                FamilyRequest::Single(f) => matches!(&*requested, [ip] if Family::of(ip) == f),
                FamilyRequest::PreferDual { .. } | FamilyRequest::RequireDual => {
                    requested.len() == 2
                }
            };
            if !families_match {
                return Err(Error::RequestedFamilyMismatch { ips: requested });
            }
            let assignment = self.assign(svc, &requested)?;
            if let Some(pool) = &svc.pool
                && assignment.pool != *pool
            {
                self.unassign(&svc.key);
                return Err(Error::RequestedIpsNotInPool {
                    ips: requested,
                    pool: pool.clone(),
                });
            }
            return Ok(assignment);
        }
        if let Some(pool) = &svc.pool {
            return self.allocate_from_pool(svc, pool);
        }
        self.allocate(svc)
    }

    /// `findBestPoolForService`: the first candidate that yields what the family request
    /// needs; for `PreferDualStack`, falls back to the first pool with only the primary family,
    /// then the first with only the other.
    pub(super) fn best_pool(
        &mut self,
        candidates: &[usize],
        svc: &Service,
        ports: &[Port],
    ) -> Option<(usize, Ips)> {
        let mut primary_only = None;
        let mut secondary_only = None;
        for &pi in candidates {
            let mut find = |f| self.find_in_pool(pi, f, &svc.key, ports, svc.sharing.as_ref());
            match svc.families {
                FamilyRequest::Single(f) => {
                    if let Some(ip) = find(f) {
                        return Some((pi, Ips::new(&[ip])));
                    }
                }
                FamilyRequest::RequireDual => {
                    if let (Some(a), Some(b)) = (find(Family::V4), find(Family::V6)) {
                        return Some((pi, Ips::new(&[a, b])));
                    }
                }
                FamilyRequest::PreferDual { primary } => {
                    let (v4, v6) = (find(Family::V4), find(Family::V6));
                    if let (Some(a), Some(b)) = (v4, v6) {
                        return Some((pi, Ips::new(&[a, b])));
                    }
                    let (p, s) = if primary == Family::V4 {
                        (v4, v6)
                    } else {
                        (v6, v4)
                    };
                    if let (Some(ip), None) = (p, &primary_only) {
                        primary_only = Some((pi, Ips::new(&[ip])));
                    }
                    if let (Some(ip), None) = (s, &secondary_only) {
                        secondary_only = Some((pi, Ips::new(&[ip])));
                    }
                }
            }
        }
        primary_only.or(secondary_only)
    }

    /// The first address of `family` in pool `pi`, range by range in spec order, that is free
    /// or can be shared with `svc`.
    pub(super) fn find_in_pool(
        &mut self,
        pi: usize,
        family: Family,
        svc: &ServiceKey,
        ports: &[Port],
        sharing: Option<&SharingKey>,
    ) -> Option<IpAddr> {
        let pool = self.pools.at(pi);
        let space = pool.index_space(family);
        let occupied = &self.states[pi].occupied[family.index()];
        for (_, range) in pool.ranges() {
            if range.family() != family {
                continue;
            }
            let Some((lo, hi)) = space.bounds(range) else {
                continue;
            };
            let free = occupied
                .first_free(lo, hi)
                .map(|i| space.address(family, i));
            if let Some(sk) = sharing
                && let Some(group) = self.groups.get_mut(sk)
            {
                let found = find_shared(
                    group,
                    &self.ips,
                    &self.allocations,
                    svc,
                    ports,
                    sk,
                    range,
                    free,
                );
                if found.is_some() {
                    return found;
                }
            }
            if free.is_some() {
                return free;
            }
        }
        None
    }

    pub(super) fn commit_new(
        &mut self,
        svc: &Service,
        pool: usize,
        ips: Ips,
        ports: PortSet,
    ) -> Assignment {
        let assignment = Assignment {
            pool: self.pools.at(pool).name().to_owned(),
            ips,
        };
        self.unassign(&svc.key);
        self.commit(
            svc.key.clone(),
            Allocation {
                pool: pool as u32,
                ips,
                ports,
                sharing: svc.sharing.clone(),
            },
        );
        assignment
    }

    /// Records `alloc` for `key`, which must hold nothing, with no checks.
    pub(super) fn commit(&mut self, key: ServiceKey, alloc: Allocation) {
        for ip in alloc.ips.iter() {
            match self.ips.get_mut(ip) {
                Some(u) => u.users.push(key.clone()),
                None => {
                    self.ips.insert(
                        ip,
                        IpUse {
                            sharing: alloc.sharing.clone(),
                            users: Users::One(key.clone()),
                        },
                    );
                    let f = Family::of(ip);
                    let space = self.pools.at(alloc.pool()).index_space(f);
                    let st = &mut self.states[alloc.pool()];
                    st.occupied[f.index()].insert(space.index(crate::family::to_bits(ip)));
                    st.assigned[f.index()] += 1;
                    if let Some(sk) = &alloc.sharing {
                        let g = self.groups.entry(sk.clone()).or_default();
                        g.ips.insert(*ip);
                        g.lower(*ip);
                    }
                }
            }
        }
        self.allocations.insert(key, alloc);
    }

    pub(super) fn unassign(&mut self, key: &ServiceKey) -> Option<Allocation> {
        let alloc = self.allocations.remove(key)?;
        for ip in alloc.ips.iter() {
            let Some(u) = self.ips.get_mut(ip) else {
                continue;
            };
            if u.users.remove(key) {
                let Some(u) = self.ips.remove(ip) else {
                    continue;
                };
                let f = Family::of(ip);
                let space = self.pools.at(alloc.pool()).index_space(f);
                let st = &mut self.states[alloc.pool()];
                st.occupied[f.index()].remove(space.index(crate::family::to_bits(ip)));
                st.assigned[f.index()] -= 1;
                if let Some(sk) = u.sharing
                    && let Entry::Occupied(mut g) = self.groups.entry(sk)
                {
                    g.get_mut().ips.remove(ip);
                    if g.get().ips.is_empty() {
                        g.remove();
                    }
                }
            } else if let Some(sk) = &u.sharing {
                // Ports were freed on a shared address.
                if let Some(g) = self.groups.get_mut(sk) {
                    g.lower(*ip);
                }
            }
        }
        Some(alloc)
    }
}

pub(super) fn same_set(a: &[IpAddr], b: &[IpAddr]) -> bool {
    a.len() == b.len() && a.iter().all(|ip| b.iter().any(|x| x.to_canonical() == *ip))
}

pub(super) fn sharing_ok(
    ips: &AddressTable<IpUse>,
    allocations: &KeyedRecords<Allocation>,
    svc: &ServiceKey,
    ports: &[Port],
    sharing: Option<&SharingKey>,
    ip: &IpAddr,
) -> Result<(), Error> {
    let Some(u) = ips.get(ip) else {
        return Ok(());
    };
    let mut others = u.users.iter().filter(|k| *k != svc);
    let conflict = match (u.sharing.as_ref(), sharing) {
        (None, _) => Some(Conflict::ExistingNotShared),
        (Some(_), None) => Some(Conflict::NewNotShared),
        (Some(e), Some(n)) if e.key() != n.key() => Some(Conflict::KeyMismatch {
            existing: e.key().to_owned(),
            new: n.key().to_owned(),
        }),
        (Some(e), Some(n)) if e.backend() != n.backend() => Some(Conflict::BackendMismatch {
            existing: e.backend().to_owned(),
            new: n.backend().to_owned(),
        }),
        _ => None,
    };
    if let Some(conflict) = conflict {
        // A sole holder may change its own sharing key in place.
        return match others.next() {
            Some(other) => Err(Error::AddressInUse {
                ip: *ip,
                service: other.clone(),
                conflict,
            }),
            None => Ok(()),
        };
    }
    for other in others {
        if let Some(a) = allocations.get(other)
            && let Some(p) = a.ports.iter().find(|p| ports.binary_search(p).is_ok())
        {
            return Err(Error::AddressInUse {
                ip: *ip,
                service: other.clone(),
                conflict: Conflict::Port(*p),
            });
        }
    }
    Ok(())
}

/// The first shared address of `group` inside `range` and below `free` that `svc` can join.
/// Uses and advances the group's cursor for `ports` when the scan starts at the cursor.
#[allow(clippy::too_many_arguments)]
pub(super) fn find_shared(
    group: &mut Group,
    ips: &AddressTable<IpUse>,
    allocations: &KeyedRecords<Allocation>,
    svc: &ServiceKey,
    ports: &[Port],
    sk: &SharingKey,
    range: &AddressRange,
    free: Option<IpAddr>,
) -> Option<IpAddr> {
    let family = range.family();
    let fi = family.index();
    let cursor = group.cursors.get(ports).and_then(|c| c[fi]);
    let (start, from_cursor) = match cursor {
        Some(c) if c > range.last() => return None,
        Some(c) if c >= range.first() => (c, true),
        _ => (range.first(), false),
    };
    let mut found = None;
    let mut stop = None;
    for ip in group.ips.range(start..=range.last()) {
        if free.is_some_and(|f| *ip >= f) {
            stop = free;
            break;
        }
        if sharing_ok(ips, allocations, svc, ports, Some(sk), ip).is_ok() {
            found = Some(*ip);
            break;
        }
    }
    if from_cursor || cursor.is_none() && start == range.first() {
        // Everything in [start, new cursor) clashes with `ports`. Without a cursor the scan
        // started at the range's first address, which only covers this range: keep such a
        // cursor only if nothing of the family lies below it in the group.
        let new = found.or(stop).or_else(|| next_after(range.last()));
        let below_is_covered = from_cursor
            || group
                .ips
                .range(..range.first())
                .next_back()
                .is_none_or(|ip| Family::of(ip) != family);
        if let (Some(new), true) = (new, below_is_covered) {
            if group.cursors.len() >= MAX_CURSORS && !group.cursors.contains_key(ports) {
                group.cursors.clear();
            }
            group.cursors.entry(ports.into()).or_default()[fi] = Some(new);
        }
    }
    found
}

/// The address after `ip` in its family, if any.
pub(super) fn next_after(ip: IpAddr) -> Option<IpAddr> {
    let f = Family::of(&ip);
    let bits = crate::family::to_bits(&ip);
    (bits < f.max_bits()).then(|| crate::family::from_bits(f, bits + 1))
}
