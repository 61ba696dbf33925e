//! A counting global allocator proves that decoding an UPDATE on the hot path (framing,
//! checking, walking every attribute and every prefix) allocates nothing.

#![allow(clippy::unwrap_used)]

mod common;

use std::alloc::System;

use lb_bgp::wire::{AttributeValue, Context, MessageRef, frame};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Decodes every message in `buf`, touching every attribute value and prefix; returns
/// (messages, prefixes).
fn walk(buf: &[u8], ctx: &Context) -> (usize, usize) {
    let (mut msgs, mut prefixes) = (0, 0);
    let mut rest = buf;
    while let Some((_, len)) = frame(rest, ctx.max_message_len()).unwrap() {
        let (m, r) = rest.split_at(len);
        rest = r;
        let MessageRef::Update(u) = MessageRef::parse(m, ctx).unwrap() else {
            panic!()
        };
        assert!(u.attribute_error().is_none());
        msgs += 1;
        prefixes += u.withdrawn_routes().count() + u.nlri().count();
        for a in u.attributes() {
            match a.value() {
                AttributeValue::AsPath(p) => assert_eq!(p.path_len(), 3),
                AttributeValue::Communities(c) => assert_eq!(c.count(), 2),
                AttributeValue::MpReach(r) => {
                    assert!(r.next_hop().is_some());
                    prefixes += r.nlri().count();
                }
                AttributeValue::Unknown(_) => panic!("every attribute is typed"),
                _ => {}
            }
        }
    }
    (msgs, prefixes)
}

#[test]
fn decoding_allocates_nothing() {
    let ctx = Context::four_octet();
    let bufs = [
        common::workload_buffer(100, |i| common::workload_update(i, false)),
        common::workload_buffer(100, |i| common::workload_update(i, true)),
        common::workload_buffer(100, common::workload_withdraw),
    ];
    for buf in &bufs {
        let region = Region::new(GLOBAL);
        let (msgs, prefixes) = walk(buf, &ctx);
        let stats = region.change();
        assert_eq!((msgs, prefixes), (100, 10_000));
        assert_eq!(stats.allocations, 0, "{stats:?}");
        assert_eq!(stats.reallocations, 0, "{stats:?}");
    }
}
