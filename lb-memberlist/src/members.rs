//! The membership table: every member the local node knows, itself included, and how gossip
//! and push-pull states change it (memberlist's `aliveNode`, `suspectNode`, `deadNode` and
//! `mergeState` over its node map).

use std::collections::BTreeMap;

use crate::member::{Member, State, Subject, Transition};
use crate::wire::{Alive, Dead, Message, NodeState, PushNodeState, Suspect};

/// Every known member by name, ordered by name so that iteration is deterministic.
#[derive(Debug, Clone)]
pub struct Members {
    local: String,
    members: BTreeMap<String, Member>,
    /// The local node is leaving on purpose ([`Members::set_leaving`]).
    leaving: bool,
}

impl Members {
    /// A table holding only the local node.
    pub fn new(local: Member) -> Self {
        let name = local.name.clone();
        Self {
            local: name.clone(),
            members: BTreeMap::from([(name, local)]),
            leaving: false,
        }
    }

    /// The local node is leaving on purpose: from now on its own dead message (the leave) is
    /// taken, not refuted.
    pub fn set_leaving(&mut self) {
        self.leaving = true;
    }

    /// Whether [`Members::set_leaving`] was called.
    pub fn is_leaving(&self) -> bool {
        self.leaving
    }

    /// Whom a message about `node` is about.
    fn subject(&self, node: &str) -> Subject {
        match (node == self.local, self.leaving) {
            (false, _) => Subject::Peer,
            (true, false) => Subject::Local,
            (true, true) => Subject::LocalLeaving,
        }
    }

    /// The local node.
    pub fn local(&self) -> Option<&Member> {
        self.members.get(&self.local)
    }

    /// A member by name.
    pub fn get(&self, name: &str) -> Option<&Member> {
        self.members.get(name)
    }

    /// All members, the dead and left included, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// How many members are known, whatever their state: memberlist's estimate of N.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the table is empty (never, while the local node is in it).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Applies an alive message. An unknown member joins.
    pub fn apply_alive(&mut self, a: &Alive) -> Transition {
        let about = self.subject(&a.node);
        match self.members.get_mut(&a.node) {
            Some(m) => m.apply_alive(a, about),
            None => {
                self.members.insert(a.node.clone(), Member::from_alive(a));
                Transition::Joined
            }
        }
    }

    /// Applies a suspect message; members we do not know are ignored.
    pub fn apply_suspect(&mut self, s: &Suspect) -> Transition {
        let about = self.subject(&s.node);
        self.members
            .get_mut(&s.node)
            .map_or(Transition::Ignored, |m| m.apply_suspect(s, about))
    }

    /// Applies a dead message; one about the local node is refuted unless it is leaving
    /// ([`Members::set_leaving`]).
    pub fn apply_dead(&mut self, d: &Dead) -> Transition {
        let about = self.subject(&d.node);
        self.members
            .get_mut(&d.node)
            .map_or(Transition::Ignored, |m| m.apply_dead(d, about))
    }

    /// Applies a membership message (alive, suspect or dead); others are not about membership
    /// and are ignored. Returns the member's name with what happened.
    pub fn apply(&mut self, msg: &Message) -> Option<(String, Transition)> {
        match msg {
            Message::Alive(a) => Some((a.node.clone(), self.apply_alive(a))),
            Message::Suspect(s) => Some((s.node.clone(), self.apply_suspect(s))),
            Message::Dead(d) => Some((d.node.clone(), self.apply_dead(d))),
            _ => None,
        }
    }

    /// Merges a remote push-pull state the way memberlist's `mergeState` does: alive as alive;
    /// left as a dead message from the node itself; dead and suspect only as suspicion from
    /// the local node (a remote view is not trusted to kill).
    pub fn merge(&mut self, remote: &[PushNodeState]) -> Vec<(String, Transition)> {
        let mut out = Vec::new();
        for n in remote {
            let t = match n.state {
                NodeState::Alive => self.apply_alive(&n.alive()),
                // Our own "left" is refuted unless we are leaving (then our state is already
                // left and it changes nothing), as Go's deadNode does.
                NodeState::Left => self.apply_dead(&Dead {
                    from: n.name.clone(),
                    incarnation: n.incarnation,
                    node: n.name.clone(),
                }),
                NodeState::Dead | NodeState::Suspect => self.apply_suspect(&Suspect {
                    from: self.local.clone(),
                    incarnation: n.incarnation,
                    node: n.name.clone(),
                }),
                NodeState::Unknown(_) => Transition::Ignored,
            };
            out.push((n.name.clone(), t));
        }
        out
    }

    /// This table as push-pull node states.
    pub fn to_push_states(&self) -> Vec<PushNodeState> {
        self.members
            .values()
            .map(|m| PushNodeState {
                addr: m.addr.clone(),
                incarnation: m.incarnation,
                meta: m.meta.clone(),
                name: m.name.clone(),
                port: m.port,
                state: m.state.into(),
                vsn: m.vsn.clone(),
            })
            .collect()
    }

    /// Forgets a member (memberlist reaps dead members once `GossipToTheDeadTime` has passed).
    /// The local node is never removed. Returns the member removed.
    pub fn remove(&mut self, name: &str) -> Option<Member> {
        if name == self.local {
            return None;
        }
        self.members.remove(name)
    }

    /// Members in `state`.
    pub fn count(&self, state: State) -> usize {
        self.members.values().filter(|m| m.state == state).count()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn alive(node: &str, inc: u32) -> Alive {
        Alive {
            addr: vec![10, 0, 0, 1],
            incarnation: inc,
            meta: Vec::new(),
            node: node.into(),
            port: 7946,
            vsn: vec![1, 5, 2, 2, 5, 4],
        }
    }

    fn table() -> Members {
        let mut t = Members::new(Member::from_alive(&alive("a", 1)));
        assert_eq!(t.apply_alive(&alive("b", 1)), Transition::Joined);
        assert_eq!(t.apply_alive(&alive("c", 1)), Transition::Joined);
        t
    }

    #[test]
    fn gossip_changes_the_table() {
        let mut t = table();
        assert_eq!(t.len(), 3);
        let s = Suspect {
            from: "c".into(),
            incarnation: 1,
            node: "b".into(),
        };
        assert_eq!(
            t.apply(&Message::Suspect(s)),
            Some((
                "b".into(),
                Transition::Changed {
                    from: State::Alive,
                    to: State::Suspect
                }
            ))
        );
        // Suspicion of ourselves is refuted.
        let me = Suspect {
            from: "c".into(),
            incarnation: 1,
            node: "a".into(),
        };
        assert_eq!(t.apply_suspect(&me), Transition::Refute { incarnation: 2 });
        assert_eq!(t.local().unwrap().incarnation, 2);
        // Unknown members cannot be suspected or killed.
        let ghost = Dead {
            from: "c".into(),
            incarnation: 9,
            node: "z".into(),
        };
        assert_eq!(t.apply_dead(&ghost), Transition::Ignored);
        assert_eq!(t.apply(&Message::User(vec![1])), None);
        assert_eq!((t.count(State::Alive), t.count(State::Suspect)), (2, 1));
    }

    #[test]
    fn push_pull_merge_does_not_kill() {
        let mut t = table();
        let mut remote = table().to_push_states();
        remote[1].state = NodeState::Dead; // b
        remote[2].state = NodeState::Left; // c
        remote.push(PushNodeState {
            name: "d".into(),
            incarnation: 3,
            ..remote[0].clone()
        });
        let got = t.merge(&remote);
        assert_eq!(got[0], ("a".into(), Transition::Ignored));
        assert_eq!(t.get("b").unwrap().state, State::Suspect);
        assert_eq!(t.get("c").unwrap().state, State::Left);
        assert_eq!(got[3], ("d".into(), Transition::Joined));
        // And our own table round-trips through push states.
        let states = t.to_push_states();
        assert_eq!(states.len(), 4);
        assert_eq!(states[2].state, NodeState::Left);
    }

    #[test]
    fn our_own_left_in_a_push_pull_is_refuted_unless_we_leave() {
        let mut remote = table().to_push_states();
        remote[0].state = NodeState::Left; // a, the local node
        let mut t = table();
        let got = t.merge(&remote);
        assert_eq!(got[0], ("a".into(), Transition::Refute { incarnation: 2 }));
        assert_eq!(t.local().unwrap().state, State::Alive);

        let mut t = table();
        t.set_leaving();
        let leave = Dead {
            from: "a".into(),
            incarnation: 1,
            node: "a".into(),
        };
        assert!(matches!(t.apply_dead(&leave), Transition::Changed { .. }));
        let got = t.merge(&remote);
        assert_eq!(got[0], ("a".into(), Transition::Ignored));
        assert_eq!(t.local().unwrap().state, State::Left);
        assert_eq!(t.local().unwrap().incarnation, 1);
    }
}
