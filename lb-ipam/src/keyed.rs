//! A map from [`ServiceKey`] to a record, laid out so that adding a service to a million costs
//! about what adding one to a thousand does.
//!
//! The records sit densely, in insertion order, in one vector: a new one is appended next to the
//! previous. The index holds 8-byte slots (a record's position and 32 bits of its key's hash) in
//! open-addressed tables with linear probing, so a probe reads one cache line.
//!
//! Every allocation first asks whether its service already holds addresses, and for a new
//! service the answer is no. In one index over a million services that question is a read of a
//! random line in 16 MB, which is not in any cache: a trip to memory that costs more than the
//! whole rest of the allocation. So the index is in two parts, in the manner of a log-structured
//! store:
//!
//! - `recent`, a small table (a few kilobytes, always in cache) that takes every new record;
//! - `main`, the big table, which receives `recent`'s slots in bulk when `recent` is full. The
//!   bulk insert runs as a tight loop of independent probes that the processor overlaps, so its
//!   cost per record is a fraction of one memory round trip;
//! - `filter`, a blocked Bloom filter over `main`'s hashes at 2 bits per slot (512 KB for a
//!   million services, small enough to stay in a core's L2 cache), which answers "not in
//!   `main`" for most new keys with one cached read. A key it cannot rule out (2–15% of absent
//!   keys, depending on how full `main` is, and every key that is really there) is looked up in
//!   `main`.
//!
//! On the development machine this brings the cost of one more allocation with a million held
//! from 2.5–2.8x that with a thousand held to 1.2–1.6x (`ipam_scaling`'s *seq* column).
//!
//! Removal moves the last record into the hole and fixes that record's slot; slots are deleted
//! by shifting their cluster back (no tombstones). The filter cannot forget a removed hash, so
//! it is rebuilt from `main` once removals since the last rebuild reach half of `main`.

use std::hash::BuildHasher;

use rustc_hash::FxBuildHasher;

use crate::service::ServiceKey;

/// An empty slot. A real slot never equals it, since it stores a record's position plus one; so
/// a new table is zeroed memory, which the allocator gets from the kernel without writing it.
const EMPTY: u64 = 0;
/// Records `recent` takes before they move to `main`; its table has twice as many slots (16 KB).
const RECENT: usize = 1024;
/// The fewest slots `main` has once it holds anything.
const MIN_SLOTS: usize = 2 * RECENT;

fn hash_key(key: &ServiceKey) -> u32 {
    (FxBuildHasher.hash_one(key) >> 32) as u32
}

/// A slot: the high 32 bits are the key's hash, the low 32 the record's position plus one.
fn slot(hash: u32, at: usize) -> u64 {
    (u64::from(hash) << 32) | (at as u64 + 1)
}

fn slot_hash(s: u64) -> u32 {
    (s >> 32) as u32
}

fn slot_at(s: u64) -> usize {
    (s & 0xffff_ffff) as usize - 1
}

/// An open-addressed table of slots with linear probing, at most half full, its length a power
/// of two (or zero). It holds no keys: callers compare a candidate's key through its position.
#[derive(Debug, Clone)]
struct SlotTable {
    slots: Vec<u64>,
    /// `64 - log2(slots.len())`: a hash's home slot is the top bits of its Fibonacci hash.
    shift: u32,
    len: usize,
}

impl SlotTable {
    fn with_slots(n: usize) -> Self {
        debug_assert!(n == 0 || n.is_power_of_two());
        SlotTable {
            slots: vec![EMPTY; n],
            shift: 64 - n.max(1).trailing_zeros(),
            len: 0,
        }
    }

    /// Whether `n` records fit without passing half full.
    fn fits(&self, n: usize) -> bool {
        n.saturating_mul(2) <= self.slots.len()
    }

    fn home(&self, hash: u32) -> usize {
        // The stored hash is all the table has, so it can be rebuilt without re-hashing keys.
        (u64::from(hash).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot holding the record for `hash` that `is_it` accepts (given its position), or the
    /// empty slot where it would go (`usize::MAX` for a table with no slots).
    fn find(&self, hash: u32, mut is_it: impl FnMut(usize) -> bool) -> Result<usize, usize> {
        if self.slots.is_empty() {
            return Err(usize::MAX);
        }
        let mask = self.mask();
        let mut i = self.home(hash);
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                return Err(i);
            }
            if slot_hash(s) == hash && is_it(slot_at(s)) {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds a slot for a record known to be absent; the table must have room.
    fn insert_new(&mut self, s: u64) {
        let mask = self.mask();
        let mut i = self.home(slot_hash(s));
        while self.slots[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = s;
        self.len += 1;
    }

    /// Adds slots for records known to be absent; the table must have room. In a large table
    /// every home slot is a cache miss, and a plain insert loop waits for them one by one (each
    /// probe ends on a branch that depends on the loaded slot). So the slots go in batches: one
    /// pass only reads every home slot of the batch — independent loads, which the processor
    /// keeps in flight together — and a second pass inserts, finding the lines in cache.
    fn insert_batch(&mut self, batch: impl IntoIterator<Item = u64>, mut each: impl FnMut(u64)) {
        const BATCH: usize = 256;
        let mut buf = [EMPTY; BATCH];
        let mut n = 0;
        for s in batch {
            buf[n] = s;
            n += 1;
            if n == BATCH {
                self.insert_loaded(&buf, &mut each);
                n = 0;
            }
        }
        self.insert_loaded(&buf[..n], &mut each);
    }

    fn insert_loaded(&mut self, batch: &[u64], each: &mut impl FnMut(u64)) {
        let mut touched = 0;
        for &s in batch {
            touched |= self.slots[self.home(slot_hash(s))];
        }
        std::hint::black_box(touched);
        for &s in batch {
            self.insert_new(s);
            each(s);
        }
    }

    /// Empties slot `hole`, shifting later slots of its cluster back so that every probe still
    /// reaches its record without crossing an empty slot.
    fn delete(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut i = hole;
        loop {
            i = (i + 1) & mask;
            let s = self.slots[i];
            if s == EMPTY {
                break;
            }
            // The slot in `i` may move back into the hole unless its home lies in (hole, i].
            let home = self.home(slot_hash(s));
            if i.wrapping_sub(home) & mask >= i.wrapping_sub(hole) & mask {
                self.slots[hole] = s;
                hole = i;
            }
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
    }

    /// Points the slot of the record at `from` (with `hash`) at `to`. Returns false if this
    /// table has no such slot.
    fn repoint(&mut self, hash: u32, from: usize, to: usize) -> bool {
        match self.find(hash, |at| at == from) {
            Ok(i) => {
                self.slots[i] = slot(hash, to);
                true
            }
            Err(_) => false,
        }
    }

    fn occupied(&self) -> impl Iterator<Item = u64> + '_ {
        self.slots.iter().copied().filter(|&s| s != EMPTY)
    }

    fn clear(&mut self) {
        self.slots.fill(EMPTY);
        self.len = 0;
    }
}

/// One cache line of the filter.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(64))]
struct Block([u64; 8]);

/// A blocked Bloom filter of 32-bit hashes: each hash sets four bits in one 64-byte block, so
/// a query reads one cache line.
#[derive(Debug, Clone, Default)]
struct Filter {
    blocks: Vec<Block>,
    /// `64 - log2(blocks.len())`.
    shift: u32,
}

impl Filter {
    /// A filter of `n` blocks (a power of two, or zero for one that holds nothing).
    fn with_blocks(n: usize) -> Self {
        debug_assert!(n == 0 || n.is_power_of_two());
        Filter {
            blocks: vec![Block::default(); n],
            shift: 64 - n.max(1).trailing_zeros(),
        }
    }

    /// The block and the four bit positions (0..512) of `hash`: 64 bits mixed out of the 32
    /// (MurmurHash3's finaliser), the block from the top, the bits from the bottom 36.
    fn place(&self, hash: u32) -> (usize, [usize; 4]) {
        let mut h = u64::from(hash).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        let block = if self.shift == 64 {
            0
        } else {
            (h >> self.shift) as usize
        };
        let bit = |k: u32| ((h >> (9 * k)) & 511) as usize;
        (block, [bit(0), bit(1), bit(2), bit(3)])
    }

    /// A filter for a table of `slots` slots: 2 bits per slot, so 4 to 8 per record. Small
    /// enough to stay in a core's L2 cache up to about a million records, which matters more
    /// than its false positives (about 15% when `main` is half full, 2% when a quarter full):
    /// at twice the size it no longer stays cached and every query became a memory access.
    fn sized_for(slots: usize) -> Self {
        Filter::with_blocks(slots / 256)
    }

    fn add(&mut self, hash: u32) {
        if self.blocks.is_empty() {
            return;
        }
        let (b, bits) = self.place(hash);
        let words = &mut self.blocks[b].0;
        for bit in bits {
            words[bit / 64] |= 1 << (bit % 64);
        }
    }

    /// False only if `hash` was never added.
    fn may_contain(&self, hash: u32) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let (b, bits) = self.place(hash);
        let words = &self.blocks[b].0;
        bits.iter()
            .all(|&bit| words[bit / 64] & (1 << (bit % 64)) != 0)
    }
}

/// Which table holds a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Recent,
    Main,
}

/// A map from service to `V` (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct KeyedRecords<V> {
    entries: Vec<(ServiceKey, V, u32)>,
    recent: SlotTable,
    main: SlotTable,
    /// Holds the hash of every slot in `main` (and of some removed since it was built).
    filter: Filter,
    /// Slots removed from `main` since `filter` was built.
    stale: usize,
}

impl<V> Default for KeyedRecords<V> {
    fn default() -> Self {
        KeyedRecords {
            entries: Vec::new(),
            recent: SlotTable::with_slots(0),
            main: SlotTable::with_slots(0),
            filter: Filter::default(),
            stale: 0,
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
        let want = self.entries.len().saturating_add(additional);
        if !self.main.fits(want) {
            self.rebuild(want);
        }
    }

    /// Moves every record into a `main` with room for `records`, and rebuilds the filter.
    fn rebuild(&mut self, records: usize) {
        let slots = records
            .max(self.entries.len())
            .saturating_mul(2)
            .next_power_of_two()
            .max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.main, SlotTable::with_slots(slots));
        self.filter = Filter::sized_for(slots);
        // The slots carry the hashes: reading them is a sixth of reading the records.
        let filter = &mut self.filter;
        self.main
            .insert_batch(old.occupied().chain(self.recent.occupied()), |s| {
                filter.add(slot_hash(s))
            });
        self.recent.clear();
        self.stale = 0;
    }

    fn rebuild_filter(&mut self) {
        self.filter = Filter::sized_for(self.main.slots.len());
        for s in self.main.occupied() {
            self.filter.add(slot_hash(s));
        }
        self.stale = 0;
    }

    /// Moves `recent`'s slots into `main`.
    fn merge(&mut self) {
        if !self.main.fits(self.main.len + self.recent.len) {
            self.rebuild(self.entries.len());
            return;
        }
        let filter = &mut self.filter;
        self.main
            .insert_batch(self.recent.occupied(), |s| filter.add(slot_hash(s)));
        self.recent.clear();
    }

    /// Where the slot of `key` is (its table and index), and the position of its record.
    fn locate(&self, key: &ServiceKey, hash: u32) -> Option<(Table, usize, usize)> {
        let is_it = |at: usize| self.entries[at].0 == *key;
        let (t, i) = match self.recent.find(hash, is_it) {
            Ok(i) => (Table::Recent, i),
            Err(_) if !self.filter.may_contain(hash) => return None,
            Err(_) => (Table::Main, self.main.find(hash, is_it).ok()?),
        };
        let table = match t {
            Table::Recent => &self.recent,
            Table::Main => &self.main,
        };
        Some((t, i, slot_at(table.slots[i])))
    }

    pub(crate) fn get(&self, key: &ServiceKey) -> Option<&V> {
        let (_, _, at) = self.locate(key, hash_key(key))?;
        Some(&self.entries[at].1)
    }

    /// Stores `value` for `key`, returning the previous value.
    pub(crate) fn insert(&mut self, key: ServiceKey, value: V) -> Option<V> {
        let hash = hash_key(&key);
        if let Some((_, _, at)) = self.locate(&key, hash) {
            return Some(std::mem::replace(&mut self.entries[at].1, value));
        }
        // More than 2^32 - 1 services would need hundreds of gigabytes of records first.
        let at = self.entries.len();
        assert!(at < u32::MAX as usize, "fewer than 2^32 - 1 services");
        if self.recent.slots.is_empty() {
            self.recent = SlotTable::with_slots(2 * RECENT);
        }
        self.entries.push((key, value, hash));
        self.recent.insert_new(slot(hash, at));
        if self.recent.len == RECENT {
            self.merge();
        }
        None
    }

    pub(crate) fn remove(&mut self, key: &ServiceKey) -> Option<V> {
        let hash = hash_key(key);
        let (t, i, at) = self.locate(key, hash)?;
        match t {
            Table::Recent => self.recent.delete(i),
            Table::Main => {
                self.main.delete(i);
                self.stale += 1;
            }
        }
        let last = self.entries.len() - 1;
        let (_, value, _) = self.entries.swap_remove(at);
        if at != last {
            // The last record moved into the hole: point its slot at its new place.
            let moved = self.entries[at].2;
            if !self.recent.repoint(moved, last, at) {
                let found = self.main.repoint(moved, last, at);
                debug_assert!(found, "every record has a slot");
            }
        }
        if self.stale > RECENT && self.stale * 2 > self.main.len {
            self.rebuild_filter();
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
impl<V> KeyedRecords<V> {
    /// Checks every structural invariant; panics with a description on the first broken one.
    fn check(&self) {
        assert!(self.recent.len < RECENT || self.recent.slots.is_empty());
        assert!(self.main.fits(self.main.len), "main is over half full");
        assert_eq!(self.recent.len + self.main.len, self.entries.len());
        for (name, t) in [("recent", &self.recent), ("main", &self.main)] {
            assert_eq!(t.occupied().count(), t.len, "{name} count");
            for (i, s) in t.slots.iter().enumerate() {
                if *s == EMPTY {
                    continue;
                }
                // No empty slot between a slot's home and the slot.
                let mut j = t.home(slot_hash(*s));
                while j != i {
                    assert_ne!(t.slots[j], EMPTY, "{name}: slot {i} unreachable");
                    j = (j + 1) & t.mask();
                }
                let (key, _, hash) = &self.entries[slot_at(*s)];
                assert_eq!(*hash, slot_hash(*s));
                assert_eq!(hash_key(key), *hash);
                if name == "main" {
                    assert!(self.filter.may_contain(*hash), "filter misses a main slot");
                }
            }
        }
        for (at, (key, _, hash)) in self.entries.iter().enumerate() {
            let is_it = |a: usize| a == at;
            let found =
                self.recent.find(*hash, is_it).is_ok() || self.main.find(*hash, is_it).is_ok();
            assert!(found, "record {at} ({key}) has no slot");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

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

    #[test]
    fn grows_merges_and_forgets_across_many_records() {
        let mut m = KeyedRecords::default();
        for i in 0..10 * RECENT + 17 {
            assert_eq!(m.insert(key(i), i), None);
        }
        m.check();
        assert!(m.main.len > 0 && m.recent.len < RECENT);
        for i in (0..10 * RECENT + 17).filter(|i| i % 4 != 0) {
            assert_eq!(m.remove(&key(i)), Some(i));
        }
        assert!(m.stale < 3 * 10 * RECENT / 4, "the filter was rebuilt");
        m.check();
        for i in 0..10 * RECENT + 17 {
            assert_eq!(m.get(&key(i)).copied(), (i % 4 == 0).then_some(i), "{i}");
        }
        m.reserve(50_000);
        m.check();
        assert!(m.main.fits(50_000 + m.len()));
        assert_eq!(m.get(&key(8)), Some(&8));
    }

    #[test]
    fn slot_table_deletes_across_the_wrap() {
        // Hashes whose homes are the last slots, so clusters wrap to the front.
        let mut t = SlotTable::with_slots(16);
        let hashes: Vec<u32> = (0..u32::MAX)
            .step_by(7919)
            .filter(|&h| t.home(h) >= 14)
            .take(6)
            .collect();
        for (at, &h) in hashes.iter().enumerate() {
            t.insert_new(slot(h, at));
        }
        assert!(t.slots[0] != EMPTY, "the cluster wraps");
        for (at, &h) in hashes.iter().enumerate().step_by(2) {
            let i = t.find(h, |a| a == at).expect("present");
            t.delete(i);
        }
        for (at, &h) in hashes.iter().enumerate() {
            assert_eq!(t.find(h, |a| a == at).is_ok(), at % 2 == 1, "{at}");
        }
        assert_eq!(t.len, 3);
    }

    proptest! {
        /// Slot tables under colliding hashes (few distinct values) and deletions.
        #[test]
        fn slot_table_matches_a_model(ops in proptest::collection::vec((any::<bool>(), 0u32..6, 0usize..12), 0..200)) {
            let mut t = SlotTable::with_slots(32);
            let mut model: HashMap<usize, u32> = HashMap::new();
            for (add, h, at) in ops {
                let hash = h.wrapping_mul(0x2545_f491);
                if add {
                    if let std::collections::hash_map::Entry::Vacant(e) = model.entry(at) {
                        e.insert(hash);
                        t.insert_new(slot(hash, at));
                    }
                } else if let Some(hash) = model.remove(&at) {
                    let i = t.find(hash, |a| a == at).expect("present");
                    t.delete(i);
                }
                prop_assert_eq!(t.len, model.len());
                for (&at, &hash) in &model {
                    prop_assert!(t.find(hash, |a| a == at).is_ok());
                }
            }
        }

        /// The map against a `HashMap`, over enough records to merge, grow and rebuild the
        /// filter.
        #[test]
        fn matches_a_hash_map(ops in proptest::collection::vec((0u8..3, 0usize..3000), 0..6000)) {
            let mut m = KeyedRecords::default();
            let mut model = HashMap::new();
            for (n, (op, k)) in ops.into_iter().enumerate() {
                match op {
                    0 | 1 => prop_assert_eq!(m.insert(key(k), n), model.insert(k, n)),
                    _ => prop_assert_eq!(m.remove(&key(k)), model.remove(&k)),
                }
            }
            m.check();
            prop_assert_eq!(m.len(), model.len());
            for k in 0..3000 {
                prop_assert_eq!(m.get(&key(k)), model.get(&k));
            }
        }
    }
}
