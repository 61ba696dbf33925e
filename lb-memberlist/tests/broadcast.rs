//! Property tests of the broadcast queue: the byte budget holds, every message is sent exactly
//! `retransmit_limit` times unless replaced, and a replaced message is never sent again.

use std::collections::HashMap;

use lb_memberlist::BroadcastQueue;
use lb_memberlist::config::retransmit_limit;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Queue { node: u8, len: usize },
    Take { limit: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6, 1usize..300).prop_map(|(node, len)| Op::Queue { node, len }),
        (0usize..1500).prop_map(|limit| Op::Take { limit }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn budget_and_retransmit_limit(ops in proptest::collection::vec(op(), 0..200), members in 0usize..2000) {
        let limit_sends = retransmit_limit(4, members);
        let mut q = BroadcastQueue::new();
        let mut serial = 0u32;
        // message id → (times sent, still current)
        let mut sent: HashMap<u32, (usize, bool)> = HashMap::new();
        let mut current: HashMap<u8, u32> = HashMap::new();
        for op in ops {
            match op {
                Op::Queue { node, len } => {
                    serial += 1;
                    let mut msg = serial.to_be_bytes().to_vec();
                    msg.resize(len.max(4), node);
                    if let Some(old) = current.insert(node, serial)
                        && let Some(e) = sent.get_mut(&old) { e.1 = false; }
                    sent.insert(serial, (0, true));
                    q.queue(&node.to_string(), msg);
                }
                Op::Take { limit } => {
                    let got = q.take(2, limit, members, 4);
                    let bytes: usize = got.iter().map(|m| m.len() + 2).sum();
                    prop_assert!(bytes <= limit);
                    for m in got {
                        let id = u32::from_be_bytes([m[0], m[1], m[2], m[3]]);
                        let e = sent.get_mut(&id).expect("known message");
                        prop_assert!(e.1, "a replaced message was sent");
                        e.0 += 1;
                        prop_assert!(e.0 <= limit_sends.max(1));
                    }
                }
            }
        }
        // Drain: every current message ends with exactly the limit.
        for _ in 0..(limit_sends.max(1) * 10) {
            let _ = q.take(2, 10_000, members, 4).into_iter().map(|m| {
                let id = u32::from_be_bytes([m[0], m[1], m[2], m[3]]);
                if let Some(e) = sent.get_mut(&id) { e.0 += 1; }
            }).count();
        }
        prop_assert!(q.is_empty());
        for (_, (n, cur)) in sent {
            if cur {
                prop_assert_eq!(n, limit_sends.max(1));
            }
        }
    }
}
