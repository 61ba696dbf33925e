//! Per-address records, stored in small pages of consecutive addresses.
//!
//! The allocator hands out addresses in ascending order, so the records it touches one after
//! another are neighbours. A hash map keyed by address scatters them: with a million entries
//! every access is a cache miss. Here a hash map finds a page of 32 consecutive addresses and
//! the record sits in the page, so runs of allocations stay within a page or move to the next
//! one, and the page directory is 32 times smaller than a per-address map. Pages are created on
//! first use and freed when their last record goes, so memory follows the number of records,
//! never the size of a pool.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::family::{Family, from_bits, to_bits};

const PAGE_BITS: u32 = 5;
const PAGE_SLOTS: usize = 1 << PAGE_BITS;

#[derive(Debug, Clone)]
struct Page<T> {
    slots: [Option<T>; PAGE_SLOTS],
    used: u32,
}

/// A map from address to `T`.
#[derive(Debug, Clone)]
pub(crate) struct AddressTable<T> {
    pages: FxHashMap<(bool, u128), Box<Page<T>>>,
    len: usize,
}

impl<T> Default for AddressTable<T> {
    fn default() -> Self {
        AddressTable {
            pages: FxHashMap::default(),
            len: 0,
        }
    }
}

fn locate(ip: &IpAddr) -> ((bool, u128), usize) {
    let bits = to_bits(ip);
    (
        (ip.is_ipv6(), bits >> PAGE_BITS),
        (bits as usize) & (PAGE_SLOTS - 1),
    )
}

impl<T> AddressTable<T> {
    pub(crate) fn get(&self, ip: &IpAddr) -> Option<&T> {
        let (page, slot) = locate(ip);
        self.pages.get(&page)?.slots[slot].as_ref()
    }

    pub(crate) fn get_mut(&mut self, ip: &IpAddr) -> Option<&mut T> {
        let (page, slot) = locate(ip);
        self.pages.get_mut(&page)?.slots[slot].as_mut()
    }

    /// Stores `value` for `ip`, returning the previous record.
    pub(crate) fn insert(&mut self, ip: &IpAddr, value: T) -> Option<T> {
        let (page, slot) = locate(ip);
        let page = self.pages.entry(page).or_insert_with(|| {
            Box::new(Page {
                slots: std::array::from_fn(|_| None),
                used: 0,
            })
        });
        let old = page.slots[slot].replace(value);
        if old.is_none() {
            page.used += 1;
            self.len += 1;
        }
        old
    }

    pub(crate) fn remove(&mut self, ip: &IpAddr) -> Option<T> {
        let (key, slot) = locate(ip);
        let page = self.pages.get_mut(&key)?;
        let old = page.slots[slot].take()?;
        page.used -= 1;
        self.len -= 1;
        if page.used == 0 {
            self.pages.remove(&key);
        }
        Some(old)
    }

    pub(crate) fn clear(&mut self) {
        self.pages.clear();
        self.len = 0;
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Every record, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (IpAddr, &T)> + '_ {
        self.pages.iter().flat_map(|(&(v6, page), p)| {
            let family = if v6 { Family::V6 } else { Family::V4 };
            p.slots.iter().enumerate().filter_map(move |(i, s)| {
                let bits = (page << PAGE_BITS) | i as u128;
                s.as_ref().map(|v| (from_bits(family, bits), v))
            })
        })
    }

    /// Every record.
    pub(crate) fn values(&self) -> impl Iterator<Item = &T> + '_ {
        self.pages.values().flat_map(|p| p.slots.iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_come_and_go() {
        let mut t = AddressTable::default();
        let a: IpAddr = "192.0.2.31".parse().expect("ip");
        let b: IpAddr = "192.0.2.32".parse().expect("ip");
        let c: IpAddr = "::c000:21f".parse().expect("ip"); // same bits as a, other family
        assert_eq!(t.insert(&a, 1), None);
        assert_eq!(t.insert(&b, 2), None);
        assert_eq!(t.insert(&c, 3), None);
        assert_eq!(t.insert(&a, 4), Some(1));
        assert_eq!((t.len(), t.pages.len()), (3, 3));
        assert_eq!(t.get(&a), Some(&4));
        assert_eq!(t.get(&c), Some(&3));
        *t.get_mut(&b).expect("b") += 10;
        let mut all: Vec<_> = t.iter().map(|(ip, v)| (ip, *v)).collect();
        all.sort();
        assert_eq!(all, vec![(a, 4), (b, 12), (c, 3)]);
        assert_eq!(t.remove(&a), Some(4));
        assert_eq!(t.remove(&a), None);
        assert_eq!((t.len(), t.pages.len()), (2, 2));
        assert_eq!(t.values().count(), 2);
        t.clear();
        assert_eq!(t.get(&b), None);
    }
}
