//! A map from [`ServiceKey`] to a record, laid out so that a million entries stay cache-friendly.
//!
//! A plain hash map of `(ServiceKey, record)` keeps its buckets in one array of roughly twice as
//! many slots as entries; at a million services that is a couple of hundred megabytes, and each
//! new service writes one random bucket in it: a cache miss and a TLB miss per allocation. Here
//! the records sit densely, in insertion order, in a vector (a new one is appended next to the
//! previous), and the hash index holds only 8-byte slots (the record's position and 32 bits of
//! its key's hash). The index for a million services is about 18 MB and stays mostly in the last
//! level cache; looking up a key that is absent, which every allocation does first, reads only
//! the index, and a present key costs one extra read of its record. Removal moves the last record
//! into the hole and fixes that record's slot.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::service::ServiceKey;

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Position of the record in `entries`.
    at: u32,
    /// The high 32 bits of the key's hash.
    hash: u32,
}

/// Spreads the stored 32 hash bits over the 64 the index uses (bucket from the low bits,
/// control byte from the top seven), so the index can grow without re-hashing any key.
fn spread(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(hash)
}

fn hash_key(key: &ServiceKey) -> u32 {
    (FxBuildHasher.hash_one(key) >> 32) as u32
}

/// A map from service to `V` (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct KeyedRecords<V> {
    entries: Vec<(ServiceKey, V, u32)>,
    index: HashTable<Slot>,
}

impl<V> Default for KeyedRecords<V> {
    fn default() -> Self {
        KeyedRecords {
            entries: Vec::new(),
            index: HashTable::new(),
        }
    }
}

impl<V> KeyedRecords<V> {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
        self.index.reserve(additional, |s| spread(s.hash));
    }

    fn position(&self, key: &ServiceKey, hash: u32) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(spread(hash), |s| {
                s.hash == hash && entries[s.at as usize].0 == *key
            })
            .map(|s| s.at as usize)
    }

    pub(crate) fn get(&self, key: &ServiceKey) -> Option<&V> {
        let at = self.position(key, hash_key(key))?;
        Some(&self.entries[at].1)
    }

    /// Stores `value` for `key`, returning the previous value.
    pub(crate) fn insert(&mut self, key: ServiceKey, value: V) -> Option<V> {
        let hash = hash_key(&key);
        if let Some(at) = self.position(&key, hash) {
            return Some(std::mem::replace(&mut self.entries[at].1, value));
        }
        // More than 2^32 services would need hundreds of gigabytes of records first.
        let at = u32::try_from(self.entries.len()).expect("fewer than 2^32 services");
        self.entries.push((key, value, hash));
        self.index
            .insert_unique(spread(hash), Slot { at, hash }, |s| spread(s.hash));
        None
    }

    pub(crate) fn remove(&mut self, key: &ServiceKey) -> Option<V> {
        let hash = hash_key(key);
        let entries = &self.entries;
        let slot = self
            .index
            .find_entry(spread(hash), |s| {
                s.hash == hash && entries[s.at as usize].0 == *key
            })
            .ok()?;
        let at = slot.get().at;
        slot.remove();
        let last = self.entries.len() - 1;
        let (_, value, _) = self.entries.swap_remove(at as usize);
        if at as usize != last {
            // The last record moved into the hole: point its slot at its new place.
            let moved_hash = self.entries[at as usize].2;
            if let Some(s) = self
                .index
                .find_mut(spread(moved_hash), |s| s.at as usize == last)
            {
                s.at = at;
            }
        }
        Some(value)
    }

    /// Every entry, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&ServiceKey, &V)> + '_ {
        self.entries.iter().map(|(k, v, _)| (k, v))
    }
}

impl<V> IntoIterator for KeyedRecords<V> {
    type Item = (ServiceKey, V);
    type IntoIter = std::iter::Map<
        std::vec::IntoIter<(ServiceKey, V, u32)>,
        fn((ServiceKey, V, u32)) -> (ServiceKey, V),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter().map(|(k, v, _)| (k, v))
    }
}

impl<'a, V> IntoIterator for &'a KeyedRecords<V> {
    type Item = (&'a ServiceKey, &'a V);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (ServiceKey, V, u32)>,
        fn(&'a (ServiceKey, V, u32)) -> (&'a ServiceKey, &'a V),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v, _)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> ServiceKey {
        ServiceKey::new("ns", &format!("svc-{i}"))
    }

    #[test]
    fn insert_get_remove_keep_every_slot_right() {
        let mut m = KeyedRecords::default();
        for i in 0..1000 {
            assert_eq!(m.insert(key(i), i), None);
        }
        assert_eq!(m.insert(key(7), 70), Some(7));
        assert_eq!(m.len(), 1000);
        for i in (0..1000).step_by(3) {
            assert_eq!(m.remove(&key(i)), Some(if i == 7 { 70 } else { i }));
            assert_eq!(m.remove(&key(i)), None);
        }
        for i in 0..1000 {
            let want = if i % 3 == 0 {
                None
            } else if i == 7 {
                Some(70)
            } else {
                Some(i)
            };
            assert_eq!(m.get(&key(i)).copied(), want, "{i}");
        }
        assert_eq!(m.iter().count(), m.len());
        let mut all: Vec<usize> = m.into_iter().map(|(_, v)| v).collect();
        all.sort_unstable();
        assert_eq!(all.len(), 666);
    }
}
