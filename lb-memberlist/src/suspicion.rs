//! Lifeguard's suspicion timer (memberlist's `suspicion.go`), without a clock: time is an
//! argument and the deadline an output.
//!
//! A suspicion starts at its longest timeout and shrinks towards its shortest as independent
//! members confirm it, so a node that is really dead is declared so quickly while a lone
//! accuser (perhaps the one with the problem) has to wait long enough for a refutation.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::config::remaining_suspicion_time;

/// One suspicion of one member.
#[derive(Debug, Clone)]
pub struct Suspicion {
    start: Instant,
    min: Duration,
    max: Duration,
    expected: u32,
    confirmations: u32,
    /// Who has suspected so far, the first accuser included.
    seen: HashSet<String>,
}

impl Suspicion {
    /// A suspicion raised by `from` at `now`, expecting `expected` independent confirmations
    /// (see [`crate::Config::suspicion_confirmations`]) between `min` and `max`
    /// ([`crate::Config::suspicion_bounds`]). With none expected it lasts `min`.
    pub fn new(now: Instant, from: &str, expected: u32, min: Duration, max: Duration) -> Self {
        Self {
            start: now,
            min,
            max: max.max(min),
            expected,
            confirmations: 0,
            seen: HashSet::from([from.to_owned()]),
        }
    }

    /// Records a suspicion from `from`. Returns whether it was a new independent confirmation
    /// (then the deadline moved closer, and the suspect message is worth gossiping on). The
    /// first accuser, repeats and confirmations beyond the expected number do not count.
    pub fn confirm(&mut self, from: &str) -> bool {
        if self.confirmations >= self.expected || self.seen.contains(from) {
            return false;
        }
        self.seen.insert(from.to_owned());
        self.confirmations += 1;
        true
    }

    /// Independent confirmations so far.
    pub fn confirmations(&self) -> u32 {
        self.confirmations
    }

    /// When the suspect is to be declared dead.
    pub fn deadline(&self) -> Instant {
        let timeout = if self.expected == 0 {
            self.min
        } else {
            remaining_suspicion_time(
                self.confirmations,
                self.expected,
                Duration::ZERO,
                self.min,
                self.max,
            )
            .unwrap_or(Duration::ZERO)
        };
        self.start + timeout
    }

    /// Whether the deadline has passed at `now`.
    pub fn expired(&self, now: Instant) -> bool {
        now >= self.deadline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn lan_suspicion_in_a_ten_node_cluster() {
        let c = Config::lan();
        let (min, max) = c.suspicion_bounds(10);
        let k = c.suspicion_confirmations(10);
        assert_eq!((min, max, k), (S(4), S(24), 2));
        let t0 = Instant::now();
        let mut s = Suspicion::new(t0, "a", k, min, max);
        assert_eq!(s.deadline(), t0 + S(24));
        assert!(!s.confirm("a"), "the accuser does not confirm itself");
        assert!(s.confirm("b"));
        assert!(!s.confirm("b"), "repeats do not count");
        assert_eq!(s.deadline(), t0 + Duration::from_millis(11_381));
        assert!(s.confirm("c"));
        assert_eq!(s.deadline(), t0 + S(4));
        assert!(!s.confirm("d"), "beyond the expected number");
        assert_eq!(s.confirmations(), 2);
        assert!(!s.expired(t0 + Duration::from_millis(3_999)));
        assert!(s.expired(t0 + S(4)));
    }

    #[test]
    fn small_clusters_wait_the_minimum() {
        let c = Config::lan();
        let (min, max) = c.suspicion_bounds(3);
        let t0 = Instant::now();
        let mut s = Suspicion::new(t0, "a", c.suspicion_confirmations(3), min, max);
        assert_eq!(s.deadline(), t0 + S(4));
        assert!(!s.confirm("b"));
    }
}
