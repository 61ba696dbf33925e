//! Messages: what each received message does, relayed acks and the pings built for probes.

use super::*;

impl Node {
    pub(super) fn handle_message(&mut self, now: Instant, from: SocketAddr, msg: Message) {
        match msg {
            Message::Ping(p) => {
                if !p.node.is_empty() && p.node != self.name {
                    return;
                }
                let to = source(&p.source_addr, p.source_port).unwrap_or(from);
                let ack = Message::Ack(Ack {
                    payload: Vec::new(),
                    seq_no: p.seq_no,
                });
                let name = (!p.source_node.is_empty()).then_some(p.source_node.as_str());
                self.send_msg(now, to, name, &ack);
            }
            Message::IndirectPing(ind) => self.relay(now, from, ind),
            Message::Ack(a) => self.handle_ack(now, a.seq_no),
            Message::Nack(n) => {
                if let Some(p) = &mut self.probe
                    && p.seq_no == n.seq_no
                {
                    p.nacks += 1;
                }
            }
            Message::Alive(a) => self.apply_alive(now, &a),
            Message::Suspect(s) => self.apply_suspect(now, &s),
            Message::Dead(d) => self.apply_dead(now, &d),
            Message::User(u) => self.events.push_back(Event::User(u)),
            // Streams only, errors, or already flattened: nothing to do.
            Message::PushPull(_)
            | Message::Error(_)
            | Message::Compound(_)
            | Message::Checksummed(_)
            | Message::Compressed(_) => {}
        }
    }

    pub(super) fn handle_ack(&mut self, now: Instant, seq_no: u32) {
        if let Some(p) = &self.probe
            && p.seq_no == seq_no
        {
            self.probe = None;
            self.awareness.apply_delta(-1);
            return;
        }
        if let Some(i) = self.relays.iter().position(|r| r.local_seq == seq_no) {
            let r = self.relays.swap_remove(i);
            let ack = Message::Ack(Ack {
                payload: Vec::new(),
                seq_no: r.orig_seq,
            });
            self.send_msg(now, r.reply_to, Some(&r.reply_name), &ack);
        }
    }

    pub(super) fn relay(&mut self, now: Instant, from: SocketAddr, ind: IndirectPing) {
        let Some(ip) = ip_from_bytes(&ind.target) else {
            return;
        };
        let port = if ind.port == 0 {
            self.addr.port()
        } else {
            ind.port
        };
        let target = SocketAddr::new(ip, port);
        let local_seq = self.next_seq();
        let reply_to = source(&ind.source_addr, ind.source_port).unwrap_or(from);
        // Bound the relays a flood of requests can make us hold.
        if self.relays.len() >= 1024 {
            return;
        }
        self.relays.push(Relay {
            local_seq,
            orig_seq: ind.seq_no,
            reply_to,
            reply_name: ind.source_node.clone(),
            deadline: now + self.config.probe_timeout,
            nack: ind.nack,
        });
        let ping = self.ping_msg(&ind.node, local_seq);
        self.send_msg(now, target, Some(&ind.node), &ping);
    }

    pub(super) fn ping_msg(&self, node: &str, seq_no: u32) -> Message {
        Message::Ping(Ping {
            node: node.to_owned(),
            seq_no,
            source_addr: ip_to_bytes(self.addr.ip()),
            source_node: self.name.clone(),
            source_port: self.addr.port(),
        })
    }

    pub(super) fn next_seq(&mut self) -> u32 {
        self.seq_no = self.seq_no.wrapping_add(1);
        self.seq_no
    }
}
