//! The script fuzzer's interpreter: bytes read as a sequence of operations on a small
//! simulated cluster, some well-formed (join, leave, crash, pause, time passing, valid
//! messages with chosen names and incarnations), some garbled (raw datagrams and stream bytes
//! delivered straight to a node). Nothing may panic, and the cluster must keep running.
//!
//! It lives in the library so that `tests/fuzz_corpus.rs` replays the fuzzer's corpus with
//! `cargo test`; the fuzz target `memberlist_core` only calls [`run`].

use std::net::SocketAddr;
use std::time::Duration;

use crate::node::StreamId;
use crate::sim::{Sim, SimConfig};
use crate::wire::{
    Alive, Dead, IndirectPing, Message, NodeState, Ping, PushNodeState, PushPull, Suspect,
};
use crate::{Config, PacketCodec};

/// Nodes in the scripted cluster.
const NODES: usize = 3;
/// Operations read at most, so one input cannot run for long.
const MAX_OPS: usize = 256;

/// A cursor over the script's bytes; reads past the end give zeros.
struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn slice(&mut self, n: usize) -> &[u8] {
        let start = self.pos.min(self.data.len());
        let end = (self.pos + n).min(self.data.len());
        self.pos += n;
        &self.data[start..end]
    }

    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn name(&mut self) -> String {
        match self.u8() % 5 {
            4 => "stranger".into(),
            3 => String::new(),
            i => Sim::name(usize::from(i)),
        }
    }

    fn addr(&mut self) -> SocketAddr {
        match self.u8() % 4 {
            3 => SocketAddr::from(([192, 0, 2, 77], 7946)),
            i => Sim::addr(usize::from(i)),
        }
    }
}

fn ip_bytes(a: SocketAddr) -> Vec<u8> {
    crate::member::ip_to_bytes(a.ip())
}

/// A well-formed message built from the script.
fn message(b: &mut Bytes<'_>) -> Message {
    let (node, from) = (b.name(), b.name());
    let incarnation = u32::from(b.u8() % 8);
    let a = b.addr();
    match b.u8() % 9 {
        0 => Message::Ping(Ping {
            node,
            seq_no: b.u32(),
            source_addr: ip_bytes(a),
            source_node: from,
            source_port: a.port(),
        }),
        1 => Message::IndirectPing(IndirectPing {
            nack: b.u8() & 1 == 1,
            node,
            port: a.port(),
            seq_no: b.u32(),
            source_addr: ip_bytes(a),
            source_node: from,
            source_port: a.port(),
            target: ip_bytes(b.addr()),
        }),
        2 => Message::Ack(crate::wire::Ack {
            payload: Vec::new(),
            seq_no: u32::from(b.u8()),
        }),
        3 => Message::Nack(crate::wire::Nack {
            seq_no: u32::from(b.u8()),
        }),
        4 => Message::Suspect(Suspect {
            from,
            incarnation,
            node,
        }),
        5 => Message::Dead(Dead {
            from,
            incarnation,
            node,
        }),
        6 => Message::User(b.slice(8).to_vec()),
        _ => Message::Alive(Alive {
            addr: ip_bytes(a),
            incarnation,
            meta: b.slice(b.data.len() % 4).to_vec(),
            node,
            port: a.port(),
            vsn: vec![1, 5, b.u8() % 6, 0, 0, 0],
        }),
    }
}

fn push_pull(b: &mut Bytes<'_>) -> Message {
    let n = usize::from(b.u8() % 4);
    let nodes = (0..n)
        .map(|_| {
            let a = b.addr();
            PushNodeState {
                addr: ip_bytes(a),
                incarnation: u32::from(b.u8() % 8),
                meta: Vec::new(),
                name: b.name(),
                port: a.port(),
                state: NodeState::from(i64::from(b.u8() % 5)),
                vsn: vec![1, 5, 5, 0, 0, 0],
            }
        })
        .collect();
    Message::PushPull(PushPull {
        join: b.u8() & 1 == 1,
        nodes,
        user_state: b.slice(4).to_vec(),
    })
}

/// Runs one script. Never panics on any input (that is what the fuzzer checks).
pub fn run(data: &[u8]) {
    let mut b = Bytes { data, pos: 0 };
    let config = if b.u8() & 1 == 0 {
        Config::fast()
    } else {
        Config::lan()
    };
    let mut sim = Sim::new(SimConfig {
        loss: f64::from(b.u8() % 4) * 0.1,
        seed: u64::from(b.u8()),
        ..SimConfig::default()
    });
    for _ in 0..NODES {
        sim.add_node(config.clone());
    }
    let mut streams: Vec<(usize, StreamId)> = Vec::new();
    for _ in 0..MAX_OPS {
        if b.done() {
            break;
        }
        let op = b.u8();
        let i = usize::from(b.u8()) % NODES;
        let now = sim.now();
        match op % 14 {
            0 => {
                let len = usize::from(b.u8());
                let raw = b.slice(len).to_vec();
                let from = b.addr();
                let _ = sim.node_mut(i).handle_packet(now, from, &raw);
            }
            1 | 2 => {
                let msgs: Vec<Message> = (0..=b.u8() % 3).map(|_| message(&mut b)).collect();
                let crc = b.u8() & 1 == 1;
                if let Ok(p) = PacketCodec::new().seal(&msgs, crc, [0; 12]) {
                    let from = b.addr();
                    let _ = sim.node_mut(i).handle_packet(now, from, &p);
                }
            }
            3 => {
                let from = b.addr();
                let id = sim.node_mut(i).handle_stream_open(now, from);
                streams.push((i, id));
            }
            4 => {
                if let Some(&(j, id)) = streams.get(usize::from(b.u8()) % streams.len().max(1)) {
                    let len = usize::from(b.u8());
                    let raw = b.slice(len).to_vec();
                    sim.node_mut(j).handle_stream_data(now, id, &raw);
                    sim.poke(j);
                }
            }
            5 => {
                if let Some(&(j, id)) = streams.get(usize::from(b.u8()) % streams.len().max(1)) {
                    let msg = if b.u8() & 1 == 0 {
                        push_pull(&mut b)
                    } else {
                        message(&mut b)
                    };
                    if let Ok(bytes) = msg.encode_stream() {
                        let cut = usize::from(b.u8()).min(bytes.len());
                        let (x, y) = bytes.split_at(cut);
                        sim.node_mut(j).handle_stream_data(now, id, x);
                        sim.node_mut(j).handle_stream_data(now, id, y);
                        sim.poke(j);
                    }
                }
            }
            6 => {
                if let Some(&(j, id)) = streams.get(usize::from(b.u8()) % streams.len().max(1)) {
                    sim.node_mut(j).handle_stream_closed(now, id);
                    sim.poke(j);
                }
            }
            7 => {
                let seed = Sim::addr(usize::from(b.u8()) % NODES);
                sim.join(i, seed);
            }
            8 => sim.leave(i),
            9 => match b.u8() % 4 {
                0 => sim.crash(i),
                1 => sim.pause(i),
                2 => sim.resume(i),
                _ => sim.restart(i, usize::from(b.u8()) % NODES),
            },
            10 => {
                let n = usize::from(b.u8() % 16);
                let meta = b.slice(n).to_vec();
                sim.node_mut(i).set_meta(now, meta);
            }
            11 => sim.partition(&[i]),
            12 => sim.heal(),
            _ => {
                let ms = u64::from(b.u8()) * 10;
                sim.run_for(Duration::from_millis(ms));
            }
        }
        sim.poke(i);
    }
    sim.run_for(Duration::from_secs(2));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_do_not_panic() {
        run(&[]);
        run(&[0, 0, 0, 7, 1, 0, 13, 0, 200, 8, 2, 13, 1, 255]);
        let mut rng = crate::Rng::new(9);
        for len in [16, 64, 256, 1024] {
            for _ in 0..20 {
                let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                run(&data);
            }
        }
    }
}
