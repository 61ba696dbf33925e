//! Membership changes: alive, suspect and dead claims, their refutation, and the events and broadcasts they cause.

use super::*;

impl Node {
    pub(super) fn apply_alive(&mut self, now: Instant, a: &Alive) {
        let before = self.members.get(&a.node).cloned();
        let t = self.members.apply_alive(a);
        match t {
            Transition::Ignored | Transition::Confirmation => {}
            Transition::Joined => {
                // Insert at a random place in the probe order (Go swaps it with a random one).
                self.probe_list.push(a.node.clone());
                let n = self.probe_list.len();
                let j = self.rng.below(n);
                self.probe_list.swap(j, n - 1);
                self.broadcast(now, Message::Alive(a.clone()));
                self.emit(&a.node, Event::Joined);
            }
            Transition::Refute { .. } => self.refuted(now),
            Transition::Changed { from, .. } => {
                self.suspicions.remove(&a.node);
                self.dead_since.remove(&a.node);
                self.broadcast(now, Message::Alive(a.clone()));
                if from == State::Suspect {
                    self.emit(&a.node, Event::Alive);
                } else {
                    self.emit(&a.node, Event::Joined);
                }
            }
            Transition::Updated => {
                self.suspicions.remove(&a.node);
                self.broadcast(now, Message::Alive(a.clone()));
                let changed = before
                    .is_some_and(|b| b.meta != a.meta || b.addr != a.addr || b.port != a.port);
                if changed {
                    self.emit(&a.node, Event::Updated);
                }
            }
        }
    }

    /// An accusation of the local node at an incarnation it has already refuted: someone
    /// still believes it (often the buddy system's ping tells us so) and may have missed the
    /// refutation, so announce the current incarnation again. memberlist ignores these; we
    /// re-queue the alive message (which replaces any queued one, so this costs little) to
    /// keep a lone member that missed the refutation from declaring us dead.
    pub(super) fn stale_accusation(&mut self, now: Instant, node: &str, incarnation: u32) {
        if node == self.name && !self.members.is_leaving() && incarnation < self.local().incarnation
        {
            let a = self.local().to_alive();
            self.broadcast(now, Message::Alive(a));
        }
    }

    pub(super) fn apply_suspect(&mut self, now: Instant, s: &Suspect) {
        self.stale_accusation(now, &s.node, s.incarnation);
        match self.members.apply_suspect(s) {
            Transition::Changed {
                to: State::Suspect, ..
            } => {
                let n = self.members.len();
                let (min, max) = self.config.suspicion_bounds(n);
                let k = self.config.suspicion_confirmations(n);
                self.suspicions
                    .insert(s.node.clone(), Suspicion::new(now, &s.from, k, min, max));
                self.broadcast(now, Message::Suspect(s.clone()));
                self.emit(&s.node, Event::Suspect);
            }
            Transition::Confirmation => {
                if let Some(sus) = self.suspicions.get_mut(&s.node)
                    && sus.confirm(&s.from)
                {
                    self.broadcast(now, Message::Suspect(s.clone()));
                }
            }
            Transition::Refute { .. } => self.refuted(now),
            _ => {}
        }
    }

    pub(super) fn apply_dead(&mut self, now: Instant, d: &Dead) {
        self.stale_accusation(now, &d.node, d.incarnation);
        match self.members.apply_dead(d) {
            Transition::Changed { to, .. } => {
                self.suspicions.remove(&d.node);
                self.dead_since.insert(d.node.clone(), now);
                self.broadcast(now, Message::Dead(d.clone()));
                if to == State::Left {
                    self.emit(&d.node, Event::Left);
                } else {
                    self.emit(&d.node, Event::Dead);
                }
            }
            Transition::Refute { .. } => self.refuted(now),
            _ => {}
        }
    }

    /// The local node was accused and took a new incarnation: announce it.
    pub(super) fn refuted(&mut self, now: Instant) {
        self.stats.refutes += 1;
        self.awareness.apply_delta(1);
        let a = self.local().to_alive();
        self.broadcast(now, Message::Alive(a));
    }

    pub(super) fn emit(&mut self, name: &str, make: fn(Member) -> Event) {
        if let Some(m) = self.members.get(name) {
            let ev = make(m.clone());
            self.events.push_back(ev);
        }
    }

    pub(super) fn broadcast(&mut self, now: Instant, msg: Message) {
        let node = match &msg {
            Message::Alive(a) => a.node.clone(),
            Message::Suspect(s) => s.node.clone(),
            Message::Dead(d) => d.node.clone(),
            _ => return,
        };
        if let Ok(bytes) = msg.encode() {
            self.broadcasts.queue(&node, bytes);
            self.arm_gossip(now);
        }
    }

    /// Arms the gossip timer at the first tick at or after `at`.
    pub(super) fn arm_gossip(&mut self, at: Instant) {
        if self.next_gossip.is_some() || self.broadcasts.is_empty() {
            return;
        }
        let interval = self.config.gossip_interval.max(Duration::from_micros(1));
        let t = if at <= self.gossip_epoch {
            self.gossip_epoch
        } else {
            let since = (at - self.gossip_epoch).as_nanos();
            let step = interval.as_nanos();
            let k = since.div_ceil(step);
            self.gossip_epoch + Duration::from_nanos(u64::try_from(k * step).unwrap_or(u64::MAX))
        };
        self.next_gossip = Some(t);
    }
}
