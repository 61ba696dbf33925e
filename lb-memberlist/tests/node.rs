//! The core against scripted packets and streams: one `Node`, inputs written by hand, outputs
//! checked message by message.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lb_memberlist::wire::{
    Ack, Alive, IndirectPing, Message, Nack, NodeState, Ping, PushNodeState, PushPull, Suspect,
};
use lb_memberlist::{Config, Event, Node, NodeConfig, Output, PacketCodec, State};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const A: &str = "192.0.2.1:7946";
const B: &str = "192.0.2.2:7946";
const C: &str = "192.0.2.3:7946";

fn node(now: Instant) -> Node {
    let mut n = Node::new(Config::lan(), NodeConfig::new("a", addr(A)), now);
    drain(&mut n);
    n
}

fn alive(name: &str, a: &str, inc: u32) -> Alive {
    let a = addr(a);
    Alive {
        addr: match a.ip() {
            std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
            std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
        },
        incarnation: inc,
        meta: Vec::new(),
        node: name.into(),
        port: a.port(),
        vsn: vec![1, 5, 5, 0, 0, 0],
    }
}

fn packet(msgs: &[Message]) -> Vec<u8> {
    PacketCodec::new().seal(msgs, false, [0; 12]).unwrap()
}

fn drain(n: &mut Node) -> Vec<Output> {
    std::iter::from_fn(|| n.poll_output()).collect()
}

fn events(n: &mut Node) -> Vec<Event> {
    std::iter::from_fn(|| n.poll_event()).collect()
}

/// The datagrams among `outs`, opened.
fn packets(outs: &[Output]) -> Vec<(SocketAddr, Vec<Message>)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Packet { to, bytes } => Some((*to, PacketCodec::new().open(bytes).unwrap())),
            _ => None,
        })
        .collect()
}

fn ping(node: &str, seq: u32, from: &str, from_name: &str) -> Message {
    let f = addr(from);
    let std::net::IpAddr::V4(ip) = f.ip() else {
        panic!()
    };
    Message::Ping(Ping {
        node: node.into(),
        seq_no: seq,
        source_addr: ip.octets().to_vec(),
        source_node: from_name.into(),
        source_port: f.port(),
    })
}

#[test]
fn ping_is_acked_to_its_source() {
    let t0 = Instant::now();
    let mut a = node(t0);
    a.handle_packet(t0, addr("192.0.2.99:1"), &packet(&[ping("a", 7, B, "b")]))
        .unwrap();
    let out = packets(&drain(&mut a));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, addr(B), "answered to SourceAddr:SourcePort");
    assert_eq!(
        out[0].1[0],
        Message::Ack(Ack {
            payload: vec![],
            seq_no: 7
        })
    );
    // A ping for another node is not answered.
    a.handle_packet(t0, addr(B), &packet(&[ping("zz", 8, B, "b")]))
        .unwrap();
    assert!(drain(&mut a).is_empty());
    // Garbage is an error, not a panic, and changes nothing.
    assert!(a.handle_packet(t0, addr(B), &[7, 3, 0]).is_err());
    assert!(drain(&mut a).is_empty());
}

fn indirect(seq: u32, nack: bool) -> Message {
    Message::IndirectPing(IndirectPing {
        nack,
        node: "c".into(),
        port: 7946,
        seq_no: seq,
        source_addr: vec![192, 0, 2, 2],
        source_node: "b".into(),
        source_port: 7946,
        target: vec![192, 0, 2, 3],
    })
}

#[test]
fn indirect_ping_is_relayed_and_its_ack_forwarded() {
    let t0 = Instant::now();
    let mut a = node(t0);
    a.handle_packet(t0, addr(B), &packet(&[indirect(9, true)]))
        .unwrap();
    let out = packets(&drain(&mut a));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, addr(C));
    let Message::Ping(p) = &out[0].1[0] else {
        panic!("{out:?}")
    };
    assert_eq!(p.node, "c");
    assert_eq!(p.source_node, "a");
    // The target answers: the ack goes back to b with b's sequence number.
    let ack = Message::Ack(Ack {
        payload: vec![],
        seq_no: p.seq_no,
    });
    a.handle_packet(t0 + Duration::from_millis(1), addr(C), &packet(&[ack]))
        .unwrap();
    let out = packets(&drain(&mut a));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, addr(B));
    assert_eq!(
        out[0].1[0],
        Message::Ack(Ack {
            payload: vec![],
            seq_no: 9
        })
    );
    // No nack follows.
    a.handle_timeout(t0 + Duration::from_secs(1));
    assert!(
        packets(&drain(&mut a))
            .iter()
            .all(|(_, m)| !matches!(m[0], Message::Nack(_)))
    );
}

#[test]
fn silent_target_gets_a_nack_sent_back() {
    let t0 = Instant::now();
    let mut a = node(t0);
    a.handle_packet(t0, addr(B), &packet(&[indirect(11, true)]))
        .unwrap();
    drain(&mut a);
    let due = t0 + Config::lan().probe_timeout;
    assert!(a.poll_timeout().unwrap() <= due);
    a.handle_timeout(due);
    let out = packets(&drain(&mut a));
    let nacks: Vec<_> = out
        .iter()
        .filter(|(to, m)| *to == addr(B) && m[0] == Message::Nack(Nack { seq_no: 11 }))
        .collect();
    assert_eq!(nacks.len(), 1, "{out:?}");
    // Without the nack flag (an old peer), nothing is sent back.
    a.handle_packet(due, addr(B), &packet(&[indirect(12, false)]))
        .unwrap();
    drain(&mut a);
    a.handle_timeout(due + Config::lan().probe_timeout);
    assert!(
        packets(&drain(&mut a))
            .iter()
            .all(|(_, m)| !matches!(m[0], Message::Nack(_)))
    );
}

#[test]
fn suspicion_of_self_is_refuted_with_a_higher_incarnation() {
    let t0 = Instant::now();
    let mut a = node(t0);
    a.handle_packet(t0, addr(B), &packet(&[Message::Alive(alive("b", B, 1))]))
        .unwrap();
    assert!(matches!(events(&mut a)[..], [Event::Joined(ref m)] if m.name == "b"));
    drain(&mut a);
    let accuse = Message::Suspect(Suspect {
        from: "b".into(),
        incarnation: 1,
        node: "a".into(),
    });
    // The buddy system: the suspect message rides on a ping.
    a.handle_packet(t0, addr(B), &packet(&[ping("a", 3, B, "b"), accuse]))
        .unwrap();
    assert_eq!(a.local().incarnation, 2);
    assert_eq!(a.local().state, State::Alive);
    assert_eq!(a.health_score(), 1, "a refutation costs health");
    // The ack carries the refutation.
    let out = packets(&drain(&mut a));
    let msgs = &out[0].1;
    assert_eq!(
        msgs[0],
        Message::Ack(Ack {
            payload: vec![],
            seq_no: 3
        })
    );
    assert!(
        msgs.iter()
            .any(|m| matches!(m, Message::Alive(al) if al.node == "a" && al.incarnation == 2)),
        "{msgs:?}"
    );
    // Death of ourselves too.
    let kill = Message::Dead(lb_memberlist::wire::Dead {
        from: "b".into(),
        incarnation: 5,
        node: "a".into(),
    });
    a.handle_packet(t0, addr(B), &packet(&[kill])).unwrap();
    assert_eq!(a.local().incarnation, 6);
}

#[test]
fn a_failed_probe_goes_indirect_then_tcp_then_suspects() {
    let t0 = Instant::now();
    let mut a = node(t0);
    a.learn_quietly(t0, [alive("b", B, 1), alive("c", C, 1)]);
    // Run timers until a ping goes out.
    let mut now;
    let (target, seq) = loop {
        now = a.poll_timeout().unwrap();
        a.handle_timeout(now);
        let pings: Vec<_> = packets(&drain(&mut a))
            .into_iter()
            .filter_map(|(to, m)| match &m[0] {
                Message::Ping(p) => Some((to, p.seq_no)),
                _ => None,
            })
            .collect();
        if let Some(&p) = pings.first() {
            break p;
        }
    };
    let other = if target == addr(B) { addr(C) } else { addr(B) };
    // No ack: after the probe timeout, an indirect ping through the other member and a TCP
    // ping to the target.
    now += Config::lan().probe_timeout;
    assert!(a.poll_timeout().unwrap() <= now);
    a.handle_timeout(now);
    let outs = drain(&mut a);
    let p = packets(&outs);
    assert!(
        p.iter().any(|(to, m)| *to == other
            && matches!(&m[0], Message::IndirectPing(i) if i.seq_no == seq && i.nack)),
        "{p:?}"
    );
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::StreamConnect { to, .. } if *to == target))
    );
    // Still nothing by the end of the probe interval: suspect.
    now += Config::lan().probe_interval;
    a.handle_timeout(now);
    let evs = events(&mut a);
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::Suspect(m) if m.socket_addr() == Some(target))),
        "{evs:?}"
    );
    assert_eq!(a.stats().failed_probes, 1);
    // The relay owed a nack and none came: Lifeguard takes it as a sign that we are the
    // problem (one missed nack, one point of health).
    assert_eq!(a.health_score(), 1);
}

fn remote_state() -> PushPull {
    PushPull {
        join: true,
        nodes: vec![PushNodeState {
            addr: vec![192, 0, 2, 2],
            incarnation: 4,
            meta: b"meta-b".to_vec(),
            name: "b".into(),
            port: 7946,
            state: NodeState::Alive,
            vsn: vec![1, 5, 2, 2, 5, 4],
        }],
        // serf sends its own state; we carry none and tolerate theirs.
        user_state: b"serf-user-state".to_vec(),
    }
}

#[test]
fn push_pull_is_answered_over_an_inbound_stream() {
    let t0 = Instant::now();
    let mut a = node(t0);
    let id = a.handle_stream_open(t0, addr(B));
    let bytes = Message::PushPull(remote_state()).encode_stream().unwrap();
    // Framing: the message arrives in pieces; nothing happens until it is whole.
    let (x, y) = bytes.split_at(bytes.len() / 2);
    a.handle_stream_data(t0, id, x);
    assert!(drain(&mut a).is_empty());
    a.handle_stream_data(t0, id, y);
    let outs = drain(&mut a);
    let Output::StreamSend { id: sid, bytes } = &outs[0] else {
        panic!("{outs:?}")
    };
    assert_eq!(*sid, id);
    let Message::PushPull(ours) = Message::decode_stream(bytes).unwrap() else {
        panic!()
    };
    assert!(ours.join, "the answer mirrors the join flag");
    assert_eq!(
        ours.nodes.len(),
        1,
        "our state as it was before merging theirs"
    );
    assert_eq!(ours.nodes[0].name, "a");
    assert_eq!(outs[1], Output::StreamClose { id });
    let evs = events(&mut a);
    assert!(matches!(&evs[..], [Event::Joined(m)] if m.name == "b" && m.meta == b"meta-b"));
    assert_eq!(a.member("b").unwrap().incarnation, 4);
}

#[test]
fn join_pushes_our_state_and_merges_the_answer() {
    let t0 = Instant::now();
    let mut a = node(t0);
    a.join(t0, &[addr(B)]);
    let outs = drain(&mut a);
    let Output::StreamConnect { id, to, .. } = outs[0] else {
        panic!("{outs:?}")
    };
    assert_eq!(to, addr(B));
    let Output::StreamSend { bytes, .. } = &outs[1] else {
        panic!()
    };
    let Message::PushPull(p) = Message::decode_stream(bytes).unwrap() else {
        panic!()
    };
    assert!(p.join);
    let answer = Message::PushPull(remote_state()).encode_stream().unwrap();
    for b in answer.chunks(7) {
        a.handle_stream_data(t0, id, b);
    }
    assert_eq!(drain(&mut a), vec![Output::StreamClose { id }]);
    let evs = events(&mut a);
    assert!(matches!(&evs[0], Event::Joined(m) if m.name == "b"));
    assert_eq!(
        evs[1],
        Event::JoinCompleted {
            seed: addr(B),
            ok: true
        }
    );
    // A refused connection is a failed join.
    a.join(t0, &[addr(C)]);
    let Some(Output::StreamConnect { id, .. }) = a.poll_output() else {
        panic!()
    };
    a.handle_stream_closed(t0, id);
    assert_eq!(
        events(&mut a),
        vec![Event::JoinCompleted {
            seed: addr(C),
            ok: false
        }]
    );
}

#[test]
fn tcp_ping_is_acked_and_garbage_streams_are_closed() {
    let t0 = Instant::now();
    let mut a = node(t0);
    let id = a.handle_stream_open(t0, addr(B));
    a.handle_stream_data(t0, id, &ping("a", 5, B, "b").encode_stream().unwrap());
    let outs = drain(&mut a);
    let Output::StreamSend { bytes, .. } = &outs[0] else {
        panic!("{outs:?}")
    };
    assert_eq!(
        Message::decode_stream(bytes).unwrap(),
        Message::Ack(Ack {
            payload: vec![],
            seq_no: 5
        })
    );
    assert_eq!(outs[1], Output::StreamClose { id });
    let id = a.handle_stream_open(t0, addr(B));
    a.handle_stream_data(t0, id, &[0xff, 1, 2, 3]);
    assert_eq!(drain(&mut a), vec![Output::StreamClose { id }]);
    // A stream that never completes is closed at its deadline.
    let id = a.handle_stream_open(t0, addr(B));
    a.handle_stream_data(t0, id, &[6]);
    a.handle_timeout(t0 + Config::lan().tcp_timeout);
    assert!(drain(&mut a).contains(&Output::StreamClose { id }));
}

#[test]
fn user_messages_pass_through() {
    let t0 = Instant::now();
    let mut a = node(t0);
    a.handle_packet(t0, addr(B), &packet(&[Message::User(b"hello".to_vec())]))
        .unwrap();
    assert_eq!(events(&mut a), vec![Event::User(b"hello".to_vec())]);
}
