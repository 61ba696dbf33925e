//! Probing: the failure detector (choosing a target, direct and indirect probes, Lifeguard phases).

use super::*;

impl Node {
    pub(super) fn start_probe(&mut self, now: Instant) {
        let Some(target) = self.next_probe_target(now) else {
            return;
        };
        let Some(m) = self.members.get(&target).cloned() else {
            return;
        };
        let Some(to) = m.socket_addr() else {
            return;
        };
        self.stats.probes += 1;
        let seq_no = self.next_seq();
        let interval = self.awareness.scale(self.config.probe_interval);
        self.probe = Some(Probe {
            target: target.clone(),
            incarnation: m.incarnation,
            seq_no,
            direct_deadline: now + self.config.probe_timeout,
            deadline: now + interval,
            indirect_sent: false,
            expected_nacks: 0,
            nacks: 0,
            fallback: None,
            fallback_ok: false,
        });
        let ping = self.ping_msg(&target, seq_no);
        if m.state == State::Alive {
            self.send_msg(now, to, Some(&target), &ping);
        } else {
            // The buddy system: tell a suspect it is suspected, so it can refute at once.
            let s = Message::Suspect(Suspect {
                from: self.name.clone(),
                incarnation: m.incarnation,
                node: target.clone(),
            });
            if let (Ok(p), Ok(s)) = (ping.encode(), s.encode()) {
                self.send_parts(to, Some(&target), vec![p, s]);
            }
        }
    }

    /// The next member in the round-robin order that is neither us nor dead or left;
    /// reshuffles (and reaps members dead for longer than `gossip_to_the_dead_time`) at each
    /// wrap.
    pub(super) fn next_probe_target(&mut self, now: Instant) -> Option<String> {
        let mut checked = 0;
        loop {
            if checked > self.probe_list.len() {
                return None;
            }
            if self.probe_index >= self.probe_list.len() {
                self.reset_probe_list(now);
                self.probe_index = 0;
                checked += 1;
                continue;
            }
            let name = &self.probe_list[self.probe_index];
            self.probe_index += 1;
            checked += 1;
            if let Some(m) = self.members.get(name)
                && matches!(m.state, State::Alive | State::Suspect)
            {
                return Some(name.clone());
            }
        }
    }

    pub(super) fn reset_probe_list(&mut self, now: Instant) {
        let ttl = self.config.gossip_to_the_dead_time;
        let reap: Vec<String> = self
            .dead_since
            .iter()
            .filter(|(_, t)| now.saturating_duration_since(**t) > ttl)
            .map(|(n, _)| n.clone())
            .collect();
        if !reap.is_empty() {
            for n in &reap {
                self.dead_since.remove(n);
                self.members.remove(n);
            }
            let members = &self.members;
            self.probe_list.retain(|n| members.get(n).is_some());
        }
        self.rng.shuffle(&mut self.probe_list);
    }

    /// Moves the probe in progress through its phases: indirect probes after the direct
    /// timeout, a verdict at the deadline.
    pub(super) fn probe_phases(&mut self, now: Instant) {
        let Some(p) = &self.probe else { return };
        if !p.indirect_sent && p.direct_deadline <= now {
            self.indirect_probe(now);
        }
        let Some(p) = &self.probe else { return };
        if p.indirect_sent && p.deadline <= now {
            let Some(p) = self.probe.take() else { return };
            if let Some(id) = p.fallback {
                self.close_stream(id);
            }
            if p.fallback_ok {
                self.awareness.apply_delta(-1);
            } else {
                self.stats.failed_probes += 1;
                let delta = if p.expected_nacks > 0 {
                    p.expected_nacks.saturating_sub(p.nacks)
                } else {
                    1
                };
                self.awareness
                    .apply_delta(i32::try_from(delta).unwrap_or(i32::MAX));
                let s = Suspect {
                    from: self.name.clone(),
                    incarnation: p.incarnation,
                    node: p.target.clone(),
                };
                self.apply_suspect(now, &s);
            }
        }
    }

    pub(super) fn indirect_probe(&mut self, now: Instant) {
        let Some(p) = &mut self.probe else { return };
        p.indirect_sent = true;
        let (target, seq_no) = (p.target.clone(), p.seq_no);
        let Some(m) = self.members.get(&target).cloned() else {
            return;
        };
        let members = &self.members;
        let me = &self.name;
        let picked = self
            .rng
            .sample(&self.probe_list, self.config.indirect_checks, |n| {
                n != me && *n != target && members.get(n).is_some_and(|m| m.state == State::Alive)
            });
        let peers: Vec<Member> = picked
            .iter()
            .filter_map(|&i| self.members.get(&self.probe_list[i]).cloned())
            .collect();
        let mut expected = 0;
        for peer in &peers {
            let Some(to) = peer.socket_addr() else {
                continue;
            };
            let nack = peer.protocol_max() >= 4;
            expected += u32::from(nack);
            let ind = Message::IndirectPing(IndirectPing {
                nack,
                node: target.clone(),
                port: m.port,
                seq_no,
                source_addr: ip_to_bytes(self.addr.ip()),
                source_node: self.name.clone(),
                source_port: self.addr.port(),
                target: m.addr.clone(),
            });
            self.send_msg(now, to, Some(&peer.name), &ind);
        }
        // TCP fallback, in parallel, for members that understand it.
        let fallback = if self.config.tcp_pings && m.protocol_max() >= 3 {
            m.socket_addr().and_then(|to| {
                let deadline = self.probe.as_ref().map_or(now, |p| p.deadline);
                let ping = self.ping_msg(&target, seq_no);
                self.open_stream(to, StreamKind::Ping { seq_no }, &ping, deadline)
            })
        } else {
            None
        };
        if let Some(p) = &mut self.probe {
            p.expected_nacks = expected;
            p.fallback = fallback;
        }
    }
}
