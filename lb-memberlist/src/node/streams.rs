//! Streams: the periodic push-pull over TCP-like streams, parsing and merging remote state.

use super::*;

impl Node {
    pub(super) fn new_stream_id(&mut self) -> StreamId {
        self.next_stream += 1;
        StreamId(self.next_stream)
    }

    pub(super) fn periodic_push_pull(&mut self, now: Instant) {
        let members = &self.members;
        let me = &self.name;
        let picked = self.rng.sample(&self.probe_list, 1, |n| {
            n != me && members.get(n).is_some_and(|m| m.state == State::Alive)
        });
        let Some(to) = picked
            .first()
            .and_then(|&i| self.members.get(&self.probe_list[i]))
            .and_then(Member::socket_addr)
        else {
            return;
        };
        self.start_push_pull(now, to, false);
    }

    pub(super) fn start_push_pull(&mut self, now: Instant, to: SocketAddr, join: bool) {
        let msg = self.push_pull_msg(join);
        let deadline = now + self.config.tcp_timeout;
        if self
            .open_stream(to, StreamKind::PushPull { join }, &msg, deadline)
            .is_none()
            && join
        {
            self.events.push_back(Event::JoinCompleted {
                seed: to,
                ok: false,
            });
        }
    }

    pub(super) fn push_pull_msg(&self, join: bool) -> Message {
        Message::PushPull(PushPull {
            join,
            nodes: self.members.to_push_states(),
            user_state: Vec::new(),
        })
    }

    /// Opens a stream and queues `msg` on it.
    pub(super) fn open_stream(
        &mut self,
        to: SocketAddr,
        kind: StreamKind,
        msg: &Message,
        deadline: Instant,
    ) -> Option<StreamId> {
        let bytes = self.stream_bytes(msg).ok()?;
        let id = self.new_stream_id();
        self.streams.insert(
            id,
            Stream {
                peer: to,
                kind,
                buf: Vec::new(),
                deadline,
            },
        );
        self.outputs
            .push_back(Output::StreamConnect { id, to, deadline });
        self.stats.stream_bytes_sent += bytes.len() as u64;
        self.outputs.push_back(Output::StreamSend { id, bytes });
        Some(id)
    }

    /// A message as written to a stream: encrypted when keyed, behind the label header.
    pub(super) fn stream_bytes(&mut self, msg: &Message) -> Result<Vec<u8>, Error> {
        let plain = msg.encode_stream()?;
        let nonce = self.nonce_if_keyed();
        let body = match &self.codec.keyring {
            Some(ring) => ring.seal_stream(&plain, &self.codec.label, nonce)?,
            None => plain,
        };
        wire::add_label(&self.codec.label, &body)
    }

    /// One whole message from a stream's bytes so far; `None` while more are needed.
    pub(super) fn parse_stream(&self, buf: &[u8]) -> Result<Option<Message>, Error> {
        let body = match wire::strip_label(buf) {
            Err(Error::Truncated) => return Ok(None),
            Err(e) => return Err(e),
            Ok((label, body)) => {
                if label != self.codec.label.as_slice() {
                    return Err(Error::LabelMismatch);
                }
                body
            }
        };
        if body.is_empty() {
            return Ok(None);
        }
        let plain;
        let msg_bytes = match &self.codec.keyring {
            Some(ring) => {
                let total = match Keyring::stream_len(body) {
                    None => return Ok(None),
                    Some(r) => r?,
                };
                if body.len() < total {
                    return Ok(None);
                }
                plain = ring.open_stream(&body[..total], &self.codec.label)?;
                &plain[..]
            }
            None => body,
        };
        let complete = self.codec.keyring.is_some();
        match Message::decode_stream(msg_bytes) {
            Err(Error::Truncated) if !complete => Ok(None),
            Err(e) => Err(e),
            Ok(Message::Compressed(c)) => {
                let inner = c.decompress(self.codec.max_decompressed)?;
                match Message::decode_stream(&inner)? {
                    Message::Compressed(_) => Err(Error::Limit("nesting")),
                    m => Ok(Some(m)),
                }
            }
            Ok(m) => Ok(Some(m)),
        }
    }

    pub(super) fn stream_message(&mut self, now: Instant, id: StreamId, msg: Message) {
        let Some(s) = self.streams.get(&id) else {
            return;
        };
        let (kind, peer) = (s.kind, s.peer);
        match (kind, msg) {
            (StreamKind::Inbound, Message::PushPull(p)) => {
                let reply = self.push_pull_msg(p.join);
                if let Ok(bytes) = self.stream_bytes(&reply) {
                    self.stats.stream_bytes_sent += bytes.len() as u64;
                    self.outputs.push_back(Output::StreamSend { id, bytes });
                }
                self.close_stream(id);
                self.merge(now, &p);
            }
            (StreamKind::Inbound, Message::Ping(p)) => {
                if p.node.is_empty() || p.node == self.name {
                    let ack = Message::Ack(Ack {
                        payload: Vec::new(),
                        seq_no: p.seq_no,
                    });
                    if let Ok(bytes) = self.stream_bytes(&ack) {
                        self.stats.stream_bytes_sent += bytes.len() as u64;
                        self.outputs.push_back(Output::StreamSend { id, bytes });
                    }
                }
                self.close_stream(id);
            }
            (StreamKind::Inbound, Message::User(u)) => {
                self.close_stream(id);
                self.events.push_back(Event::User(u));
            }
            (StreamKind::PushPull { join }, Message::PushPull(p)) => {
                self.close_stream(id);
                self.merge(now, &p);
                if join {
                    self.events.push_back(Event::JoinCompleted {
                        seed: peer,
                        ok: true,
                    });
                }
            }
            (StreamKind::Ping { seq_no }, Message::Ack(a)) => {
                self.close_stream(id);
                if a.seq_no == seq_no
                    && let Some(p) = &mut self.probe
                    && p.seq_no == seq_no
                {
                    p.fallback_ok = true;
                    p.fallback = None;
                }
            }
            _ => self.fail_stream(id, true),
        }
    }

    pub(super) fn merge(&mut self, now: Instant, p: &PushPull) {
        for n in &p.nodes {
            // Skip what we agree on, as Go does, so a push-pull costs little.
            if let Some(m) = self.members.get(&n.name)
                && n.name != self.name
                && wire::NodeState::from(m.state) == n.state
                && m.incarnation >= n.incarnation
            {
                continue;
            }
            match n.state {
                wire::NodeState::Alive => self.apply_alive(now, &n.alive()),
                wire::NodeState::Left => self.apply_dead(
                    now,
                    &Dead {
                        from: n.name.clone(),
                        incarnation: n.incarnation,
                        node: n.name.clone(),
                    },
                ),
                wire::NodeState::Dead | wire::NodeState::Suspect => self.apply_suspect(
                    now,
                    &Suspect {
                        from: self.name.clone(),
                        incarnation: n.incarnation,
                        node: n.name.clone(),
                    },
                ),
                wire::NodeState::Unknown(_) => {}
            }
        }
    }

    pub(super) fn close_stream(&mut self, id: StreamId) {
        if self.streams.remove(&id).is_some() {
            self.outputs.push_back(Output::StreamClose { id });
        }
    }

    /// A stream that ended before its exchange did; `close` says the driver still has it open.
    pub(super) fn fail_stream(&mut self, id: StreamId, close: bool) {
        let Some(s) = self.streams.remove(&id) else {
            return;
        };
        if close {
            self.outputs.push_back(Output::StreamClose { id });
        }
        match s.kind {
            StreamKind::PushPull { join: true } => self.events.push_back(Event::JoinCompleted {
                seed: s.peer,
                ok: false,
            }),
            StreamKind::Ping { .. } => {
                if let Some(p) = &mut self.probe
                    && p.fallback == Some(id)
                {
                    p.fallback = None;
                }
            }
            _ => {}
        }
    }
}
