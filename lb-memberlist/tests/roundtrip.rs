//! Property tests: every message type survives encode → decode, in packets and streams, and
//! arbitrary bytes never make a decoder panic.

#![allow(clippy::unwrap_used)]

use lb_memberlist::Keyring;
use lb_memberlist::wire::{
    Ack, Alive, Compress, Dead, ErrorResponse, IndirectPing, Message, Nack, NodeState, Ping,
    PushNodeState, PushPull, Suspect,
};
use proptest::prelude::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn name() -> impl Strategy<Value = String> {
    // Short and long names, so fixstr and str16 both appear.
    prop_oneof!["[a-z0-9-]{0,12}", "[a-z]{30,40}"]
}

fn leaf() -> impl Strategy<Value = Message> {
    prop_oneof![
        (name(), any::<u32>(), bytes(17), name(), any::<u16>()).prop_map(
            |(node, seq_no, source_addr, source_node, source_port)| Message::Ping(Ping {
                node,
                seq_no,
                source_addr,
                source_node,
                source_port,
            })
        ),
        (
            any::<bool>(),
            name(),
            any::<u16>(),
            any::<u32>(),
            bytes(17),
            name(),
            any::<u16>(),
            bytes(17)
        )
            .prop_map(
                |(nack, node, port, seq_no, source_addr, source_node, source_port, target)| {
                    Message::IndirectPing(IndirectPing {
                        nack,
                        node,
                        port,
                        seq_no,
                        source_addr,
                        source_node,
                        source_port,
                        target,
                    })
                }
            ),
        (bytes(300), any::<u32>())
            .prop_map(|(payload, seq_no)| Message::Ack(Ack { payload, seq_no })),
        any::<u32>().prop_map(|seq_no| Message::Nack(Nack { seq_no })),
        name().prop_map(|error| Message::Error(ErrorResponse { error })),
        (name(), any::<u32>(), name()).prop_map(|(from, incarnation, node)| Message::Suspect(
            Suspect {
                from,
                incarnation,
                node
            }
        )),
        (name(), any::<u32>(), name()).prop_map(|(from, incarnation, node)| Message::Dead(Dead {
            from,
            incarnation,
            node
        })),
        (
            bytes(17),
            any::<u32>(),
            bytes(600),
            name(),
            any::<u16>(),
            bytes(7)
        )
            .prop_map(
                |(addr, incarnation, meta, node, port, vsn)| Message::Alive(Alive {
                    addr,
                    incarnation,
                    meta,
                    node,
                    port,
                    vsn,
                })
            ),
        (
            any::<bool>(),
            proptest::collection::vec(node_state(), 0..20),
            bytes(200)
        )
            .prop_map(|(join, nodes, user_state)| Message::PushPull(PushPull {
                join,
                nodes,
                user_state
            })),
        bytes(200).prop_map(Message::User),
        (0u32..3, bytes(200)).prop_map(|(algo, buf)| Message::Compressed(Compress { algo, buf })),
    ]
}

fn node_state() -> impl Strategy<Value = PushNodeState> {
    (
        bytes(17),
        any::<u32>(),
        bytes(40),
        name(),
        any::<u16>(),
        any::<i64>(),
        bytes(7),
    )
        .prop_map(
            |(addr, incarnation, meta, name, port, state, vsn)| PushNodeState {
                addr,
                incarnation,
                meta,
                name,
                port,
                state: NodeState::from(state),
                vsn,
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    leaf().prop_recursive(2, 40, 10, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..10).prop_map(Message::Compound),
            inner.prop_map(|m| Message::Checksummed(Box::new(m))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn packet_round_trip(msg in message()) {
        let bytes = msg.encode().unwrap();
        prop_assert_eq!(Message::decode(&bytes).unwrap(), msg);
    }

    #[test]
    fn stream_round_trip(msg in leaf()) {
        let bytes = msg.encode_stream().unwrap();
        prop_assert_eq!(Message::decode_stream(&bytes).unwrap(), msg);
    }

    #[test]
    fn sealed_round_trip(msg in message(), key in (0usize..3).prop_flat_map(|i| proptest::collection::vec(any::<u8>(), [16, 24, 32][i])), nonce in any::<[u8; 12]>(), label in bytes(8)) {
        let ring = Keyring::new(&key).unwrap();
        let plain = msg.encode().unwrap();
        let sealed = ring.seal_packet(&plain, &label, nonce).unwrap();
        prop_assert_eq!(ring.open_packet(&sealed, &label).unwrap(), plain.clone());
        let sealed = ring.seal_stream(&plain, &label, nonce).unwrap();
        prop_assert_eq!(ring.open_stream(&sealed, &label).unwrap(), plain);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in bytes(400)) {
        let _ = Message::decode(&data);
        let _ = Message::decode_stream(&data);
        let ring = Keyring::new(&[7; 16]).unwrap();
        let _ = ring.open_packet(&data, b"");
        let _ = ring.open_stream(&data, b"");
        let _ = lb_memberlist::wire::strip_label(&data);
    }
}
