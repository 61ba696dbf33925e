//! A set of integers stored as maximal runs, so that "lowest member-free value at or after x"
//! costs O(log r) in the number of runs r, however large the space is.

use std::collections::BTreeMap;

/// Disjoint, non-adjacent inclusive runs `start -> end` of occupied values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RunSet {
    runs: BTreeMap<u128, u128>,
}

impl RunSet {
    /// The run containing `x`, if any.
    fn run_of(&self, x: u128) -> Option<(u128, u128)> {
        let (&s, &e) = self.runs.range(..=x).next_back()?;
        (e >= x).then_some((s, e))
    }

    /// Whether `x` is occupied.
    pub(crate) fn contains(&self, x: u128) -> bool {
        self.run_of(x).is_some()
    }

    /// The lowest free value in `lo..=hi`, if any.
    pub(crate) fn first_free(&self, lo: u128, hi: u128) -> Option<u128> {
        if lo > hi {
            return None;
        }
        let candidate = match self.run_of(lo) {
            // Runs are maximal, so the value after a run is free.
            Some((_, e)) => e.checked_add(1)?,
            None => lo,
        };
        (candidate <= hi).then_some(candidate)
    }

    /// Marks `x` occupied. Returns false if it already was.
    pub(crate) fn insert(&mut self, x: u128) -> bool {
        // A run starting at x + 1 means x is free (runs never touch), so it can be taken first.
        let right_end = x.checked_add(1).and_then(|n| self.runs.remove(&n));
        if let Some((_, e)) = self.runs.range_mut(..=x).next_back() {
            if *e >= x {
                return false; // already occupied; nothing was removed in that case
            }
            if *e + 1 == x {
                *e = right_end.unwrap_or(x);
                return true;
            }
        }
        self.runs.insert(x, right_end.unwrap_or(x));
        true
    }

    /// Marks `x` free. Returns false if it was not occupied.
    pub(crate) fn remove(&mut self, x: u128) -> bool {
        let Some((&s, e)) = self.runs.range_mut(..=x).next_back() else {
            return false;
        };
        let end = *e;
        if end < x {
            return false;
        }
        if s == x {
            self.runs.remove(&s);
        } else {
            *e = x - 1;
        }
        if end > x {
            self.runs.insert(x + 1, end);
        }
        true
    }

    /// Number of runs (for tests and diagnostics).
    #[cfg(test)]
    pub(crate) fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// Iterates over every occupied value (for consistency checks on small sets).
    pub(crate) fn iter_runs(&self) -> impl Iterator<Item = (u128, u128)> + '_ {
        self.runs.iter().map(|(&s, &e)| (s, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn coalesces_and_splits() {
        let mut s = RunSet::default();
        assert_eq!(s.first_free(5, 10), Some(5));
        for x in [5, 7, 6] {
            assert!(s.insert(x));
        }
        assert!(!s.insert(6));
        assert_eq!(s.run_count(), 1);
        assert_eq!(s.first_free(5, 10), Some(8));
        assert_eq!(s.first_free(5, 7), None);
        assert!(s.remove(6));
        assert_eq!(s.run_count(), 2);
        assert_eq!(s.first_free(5, 10), Some(6));
        assert!(!s.remove(6));
    }

    #[test]
    fn edges_of_the_space() {
        let mut s = RunSet::default();
        assert!(s.insert(u128::MAX));
        assert!(s.insert(0));
        assert_eq!(s.first_free(u128::MAX, u128::MAX), None);
        assert_eq!(s.first_free(0, u128::MAX), Some(1));
        assert!(s.insert(u128::MAX - 1));
        assert_eq!(s.run_count(), 2);
        assert!(s.remove(u128::MAX));
        assert!(s.remove(0));
        assert_eq!(s.first_free(0, 0), Some(0));
    }

    proptest! {
        #[test]
        fn matches_a_plain_set(ops in proptest::collection::vec((any::<bool>(), 0u128..64), 0..200),
                               lo in 0u128..64, len in 0u128..64) {
            let mut s = RunSet::default();
            let mut model = BTreeSet::new();
            for (add, x) in ops {
                if add {
                    prop_assert_eq!(s.insert(x), model.insert(x));
                } else {
                    prop_assert_eq!(s.remove(x), model.remove(&x));
                }
            }
            let hi = lo + len;
            let expected = (lo..=hi).find(|x| !model.contains(x));
            prop_assert_eq!(s.first_free(lo, hi), expected);
            let flat: Vec<u128> = s.iter_runs().flat_map(|(a, b)| a..=b).collect();
            prop_assert_eq!(flat, model.into_iter().collect::<Vec<_>>());
            // Runs stay maximal: no two runs touch.
            let runs: Vec<_> = s.iter_runs().collect();
            for w in runs.windows(2) {
                prop_assert!(w[0].1 + 1 < w[1].0);
            }
        }
    }
}
