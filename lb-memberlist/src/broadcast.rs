//! The queue of piggybacked broadcasts (memberlist's `TransmitLimitedQueue`).
//!
//! Every alive, suspect and dead message the local node learns is queued here and piggybacked
//! on outgoing probes and gossip until it has been sent `retransmit_mult × ⌈log10(N + 1)⌉`
//! times, so dissemination takes O(log N) rounds whatever the cluster size. A newer message
//! about a node replaces the queued one. Packing prefers the least transmitted messages, then
//! the largest that fits, then the newest, as Go's ordering does.

use crate::config::retransmit_limit;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    /// The node the message is about: a newer message about it invalidates this one.
    node: String,
    msg: Vec<u8>,
    transmits: usize,
    id: u64,
}

impl Item {
    /// Go's btree order: fewer transmits, then longer message, then newer.
    fn key(&self) -> (usize, std::cmp::Reverse<usize>, std::cmp::Reverse<u64>) {
        (
            self.transmits,
            std::cmp::Reverse(self.msg.len()),
            std::cmp::Reverse(self.id),
        )
    }
}

/// Broadcasts waiting to be piggybacked, each with its transmit count.
#[derive(Debug, Clone, Default)]
pub struct BroadcastQueue {
    items: Vec<Item>,
    next_id: u64,
}

impl BroadcastQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues an encoded message about `node`, replacing any queued message about it.
    pub fn queue(&mut self, node: &str, msg: Vec<u8>) {
        self.items.retain(|i| i.node != node);
        self.next_id += 1;
        self.items.push(Item {
            node: node.to_owned(),
            msg,
            transmits: 0,
            id: self.next_id,
        });
    }

    /// Whether a message about `node` is still waiting to be sent (a leave waits for its own
    /// dead message to be gone).
    pub fn contains(&self, node: &str) -> bool {
        self.items.iter().any(|i| i.node == node)
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Takes the messages to piggyback on one packet with `limit` bytes free, counting
    /// `overhead` bytes per message (2 for a compound's length field), in a cluster of
    /// `members` nodes. Each message taken counts one transmit and is dropped once it reaches
    /// the retransmit limit.
    pub fn take(
        &mut self,
        overhead: usize,
        limit: usize,
        members: usize,
        retransmit_mult: usize,
    ) -> Vec<Vec<u8>> {
        let transmit_limit = retransmit_limit(retransmit_mult, members);
        // Walk the queue in Go's order and take every message that still fits: the budget only
        // shrinks, so a message skipped once never fits later.
        let mut order: Vec<usize> = (0..self.items.len()).collect();
        order.sort_unstable_by_key(|&i| self.items[i].key());
        let mut used = 0usize;
        let mut picked: Vec<usize> = Vec::new();
        for i in order {
            let Some(free) = limit.checked_sub(used + overhead).filter(|&f| f > 0) else {
                break;
            };
            if self.items[i].msg.len() <= free {
                used += overhead + self.items[i].msg.len();
                picked.push(i);
            }
        }
        let out = picked.iter().map(|&i| self.items[i].msg.clone()).collect();
        // Only what was sent counts a transmit and can reach the limit: with a limit of 0
        // (no members known), a message still goes out once, and unsent ones stay.
        let mut done = vec![false; self.items.len()];
        for &i in &picked {
            self.items[i].transmits += 1;
            done[i] = self.items[i].transmits >= transmit_limit;
        }
        let mut done = done.into_iter();
        self.items.retain(|_| !done.next().unwrap_or(false));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_message_replaces_the_old_one() {
        let mut q = BroadcastQueue::new();
        q.queue("a", vec![1]);
        q.queue("b", vec![2]);
        q.queue("a", vec![3]);
        assert_eq!(q.len(), 2);
        assert_eq!(q.take(2, 1400, 3, 4), vec![vec![3], vec![2]]);
    }

    #[test]
    fn retransmits_grow_with_log_n() {
        for (members, sends) in [(1, 4), (9, 4), (10, 8), (99, 8), (100, 12), (1000, 16)] {
            let mut q = BroadcastQueue::new();
            q.queue("a", vec![0; 10]);
            let mut n = 0;
            while !q.take(2, 1400, members, 4).is_empty() {
                n += 1;
            }
            assert_eq!(n, sends, "members = {members}");
        }
    }

    #[test]
    fn packing_order_and_budget() {
        let mut q = BroadcastQueue::new();
        q.queue("small", vec![1; 10]);
        q.queue("large", vec![2; 100]);
        q.queue("medium", vec![3; 50]);
        // Largest first while it fits: 100 + 2, then 50 + 2 would exceed 150, so 10 + 2.
        let got = q.take(2, 150, 3, 4);
        assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), vec![100, 10]);
        // The medium one has not been sent yet, so it goes first next time.
        let got = q.take(2, 60, 3, 4);
        assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), vec![50]);
        // Nothing fits in a tiny budget, and nothing is lost.
        assert!(q.take(2, 5, 3, 4).is_empty());
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn unsent_messages_survive_a_zero_limit() {
        let mut q = BroadcastQueue::new();
        q.queue("a", vec![1; 10]);
        q.queue("b", vec![2; 10]);
        assert!(q.take(2, 0, 0, 4).is_empty());
        assert_eq!(q.len(), 2);
        assert_eq!(q.take(2, 13, 0, 4).len(), 1);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn among_equals_the_newest_goes_first() {
        let mut q = BroadcastQueue::new();
        q.queue("a", vec![1; 10]);
        q.queue("b", vec![2; 10]);
        assert_eq!(q.take(2, 13, 3, 4), vec![vec![2; 10]]);
        assert_eq!(q.take(2, 13, 3, 4), vec![vec![1; 10]]);
    }
}
