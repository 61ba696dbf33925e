//! Gossip: piggy-backed broadcasts, packet budgets and compound sends (encrypted when keyed).

use super::*;

impl Node {
    pub(super) fn gossip(&mut self, now: Instant) {
        let ttl = self.config.gossip_to_the_dead_time;
        let members = &self.members;
        let dead_since = &self.dead_since;
        let me = &self.name;
        let picked = self
            .rng
            .sample(&self.probe_list, self.config.gossip_nodes, |n| {
                if n == me {
                    return false;
                }
                match members.get(n).map(|m| m.state) {
                    Some(State::Alive | State::Suspect) => true,
                    Some(State::Dead) => dead_since
                        .get(n)
                        .is_none_or(|&t| now.saturating_duration_since(t) <= ttl),
                    _ => false,
                }
            });
        let targets: Vec<(String, SocketAddr)> = picked
            .iter()
            .filter_map(|&i| {
                let m = self.members.get(&self.probe_list[i])?;
                Some((m.name.clone(), m.socket_addr()?))
            })
            .collect();
        let avail = self
            .packet_budget()
            .saturating_sub(COMPOUND_HEADER_OVERHEAD);
        for (name, to) in targets {
            let n = self.members.len();
            let msgs =
                self.broadcasts
                    .take(COMPOUND_OVERHEAD, avail, n, self.config.retransmit_mult);
            if msgs.is_empty() {
                return;
            }
            self.send_parts(to, Some(&name), msgs);
        }
    }

    /// Bytes a packet's messages may take, after label and encryption.
    pub(super) fn packet_budget(&self) -> usize {
        let mut avail = self.config.udp_buffer_size;
        if !self.codec.label.is_empty() {
            avail = avail.saturating_sub(2 + self.codec.label.len());
        }
        if self.codec.keyring.is_some() {
            avail = avail.saturating_sub(OVERHEAD);
        }
        avail
    }

    /// Sends one message with as many broadcasts piggybacked as fit (Go's `sendMsg`).
    pub(super) fn send_msg(
        &mut self,
        now: Instant,
        to: SocketAddr,
        name: Option<&str>,
        msg: &Message,
    ) {
        let Ok(bytes) = msg.encode() else { return };
        let avail = self
            .packet_budget()
            .saturating_sub(bytes.len() + COMPOUND_HEADER_OVERHEAD + COMPOUND_OVERHEAD);
        let n = self.members.len();
        let mut parts = vec![bytes];
        parts.extend(self.broadcasts.take(
            COMPOUND_OVERHEAD,
            avail,
            n,
            self.config.retransmit_mult,
        ));
        let _ = now;
        self.send_parts(to, name, parts);
    }

    /// Sends encoded messages in one datagram: alone or compound, with a CRC for members
    /// speaking protocol 5, encrypted and labelled as configured.
    pub(super) fn send_parts(
        &mut self,
        to: SocketAddr,
        name: Option<&str>,
        mut parts: Vec<Vec<u8>>,
    ) {
        parts.truncate(wire::MAX_COMPOUND_PARTS);
        let body = if parts.len() == 1 {
            parts.pop().unwrap_or_default()
        } else {
            match wire::make_compound(&parts) {
                Ok(b) => b,
                Err(_) => return,
            }
        };
        let crc = name
            .and_then(|n| self.members.get(n))
            .is_some_and(|m| m.protocol_max() >= 5);
        let body = if crc { wire::add_crc(&body) } else { body };
        let nonce = self.nonce_if_keyed();
        let body = match &self.codec.keyring {
            Some(ring) => match ring.seal_packet(&body, &self.codec.label, nonce) {
                Ok(b) => b,
                Err(_) => return,
            },
            None => body,
        };
        let Ok(bytes) = wire::add_label(&self.codec.label, &body) else {
            return;
        };
        self.stats.packets_sent += 1;
        self.stats.packet_bytes_sent += bytes.len() as u64;
        self.outputs.push_back(Output::Packet { to, bytes });
    }

    pub(super) fn nonce_if_keyed(&mut self) -> [u8; NONCE_LEN] {
        if self.codec.keyring.is_none() {
            return [0; NONCE_LEN];
        }
        if self.nonce_counter == u32::MAX {
            // The invocation field is spent: a new fixed field, a fresh count.
            self.nonce_fixed = self.nonce_rng.next_u64();
            self.nonce_counter = 0;
        }
        self.nonce_counter += 1;
        let mut n = [0; NONCE_LEN];
        n[..8].copy_from_slice(&self.nonce_fixed.to_be_bytes());
        n[8..].copy_from_slice(&self.nonce_counter.to_be_bytes());
        n
    }
}
