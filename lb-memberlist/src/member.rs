//! A member as the local node sees it, and how alive, suspect and dead messages change it:
//! memberlist's precedence rules on incarnation numbers (`state.go`: `aliveNode`,
//! `suspectNode`, `deadNode`, `refute`), as pure functions with no clock and no I/O.

use crate::wire::{Alive, Dead, NodeState, Suspect};

/// An IP address from its 4 or 16 wire bytes.
pub fn ip_from_bytes(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// The wire bytes of an IP address (4 for IPv4, 16 for IPv6).
pub fn ip_to_bytes(ip: std::net::IpAddr) -> Vec<u8> {
    match ip {
        std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
        std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// A member's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Answering probes, or recently said to.
    Alive,
    /// Failed a probe; dead unless it refutes before the suspicion times out.
    Suspect,
    /// Declared dead by another member.
    Dead,
    /// Announced its own departure (a dead message from itself).
    Left,
}

impl From<State> for NodeState {
    fn from(s: State) -> Self {
        match s {
            State::Alive => Self::Alive,
            State::Suspect => Self::Suspect,
            State::Dead => Self::Dead,
            State::Left => Self::Left,
        }
    }
}

/// What applying a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing: an old incarnation, an unknown member or state, or a repeat.
    Ignored,
    /// A member not known before, alive.
    Joined,
    /// The state changed; the message should be gossiped on.
    Changed {
        /// Before.
        from: State,
        /// After.
        to: State,
    },
    /// Same state, newer incarnation or new address/metadata; gossip it on.
    Updated,
    /// A further suspicion of an already suspected member, from `Suspect::from`: counts as an
    /// independent confirmation that shortens the suspicion.
    Confirmation,
    /// The message accused the local node: it keeps living with this new incarnation, which
    /// the caller broadcasts in an alive message.
    Refute {
        /// The local node's new incarnation.
        incarnation: u32,
    },
}

/// One member of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its unique name.
    pub name: String,
    /// IP address bytes (4 or 16).
    pub addr: Vec<u8>,
    /// Gossip port.
    pub port: u16,
    /// Delegate metadata.
    pub meta: Vec<u8>,
    /// pmin, pmax, pcur, dmin, dmax, dcur.
    pub vsn: Vec<u8>,
    /// The highest incarnation seen.
    pub incarnation: u32,
    /// Its state.
    pub state: State,
}

/// Whom a message applied to a [`Member`] is about, as the membership table knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// Another node.
    Peer,
    /// The local node: an accusation is refuted.
    Local,
    /// The local node while it leaves on purpose: its own dead message (the leave) is taken,
    /// not refuted.
    LocalLeaving,
}

impl Subject {
    fn is_local(self) -> bool {
        self != Subject::Peer
    }
}

impl Member {
    /// A member first learned of through an alive message.
    pub fn from_alive(a: &Alive) -> Self {
        Self {
            name: a.node.clone(),
            addr: a.addr.clone(),
            port: a.port,
            meta: a.meta.clone(),
            vsn: a.vsn.clone(),
            incarnation: a.incarnation,
            state: State::Alive,
        }
    }

    /// Its gossip address, when `addr` holds 4 or 16 bytes.
    pub fn socket_addr(&self) -> Option<std::net::SocketAddr> {
        ip_from_bytes(&self.addr).map(|ip| std::net::SocketAddr::new(ip, self.port))
    }

    /// The highest protocol version it understands (`Vsn[1]`, `PMax`); 0 when unknown.
    pub fn protocol_max(&self) -> u8 {
        self.vsn.get(1).copied().unwrap_or(0)
    }

    /// The alive message that announces this member as it is.
    pub fn to_alive(&self) -> Alive {
        Alive {
            addr: self.addr.clone(),
            incarnation: self.incarnation,
            meta: self.meta.clone(),
            node: self.name.clone(),
            port: self.port,
            vsn: self.vsn.clone(),
        }
    }

    fn refute(&mut self, accused: u32) -> Transition {
        self.incarnation = self.incarnation.max(accused).wrapping_add(1);
        self.state = State::Alive;
        Transition::Refute {
            incarnation: self.incarnation,
        }
    }

    fn set(&mut self, to: State) -> Transition {
        let from = self.state;
        self.state = to;
        if from == to {
            Transition::Updated
        } else {
            Transition::Changed { from, to }
        }
    }

    /// Applies an alive message about this member (`about`: whether it is us).
    ///
    /// A remote member takes only a strictly newer incarnation, which revives it whatever its
    /// state. About ourselves, an older incarnation is ignored, our own announcement echoed back
    /// is ignored, and anything else (someone announcing us with other data) is refuted.
    pub fn apply_alive(&mut self, a: &Alive, about: Subject) -> Transition {
        if about.is_local() {
            if a.incarnation < self.incarnation
                || (a.incarnation == self.incarnation && a.meta == self.meta && a.vsn == self.vsn)
            {
                return Transition::Ignored;
            }
            return self.refute(a.incarnation);
        }
        if a.incarnation <= self.incarnation {
            return Transition::Ignored;
        }
        self.incarnation = a.incarnation;
        self.addr.clone_from(&a.addr);
        self.port = a.port;
        self.meta.clone_from(&a.meta);
        self.vsn.clone_from(&a.vsn);
        self.set(State::Alive)
    }

    /// Applies a suspect message about this member (`about`: whether it is us).
    ///
    /// Older incarnations are ignored; a suspected member collects confirmations; dead or left
    /// members cannot be suspected; we refute suspicion of ourselves.
    pub fn apply_suspect(&mut self, s: &Suspect, about: Subject) -> Transition {
        let local = about.is_local();
        if s.incarnation < self.incarnation {
            return Transition::Ignored;
        }
        match self.state {
            State::Suspect if !local => Transition::Confirmation,
            State::Dead | State::Left if !local => Transition::Ignored,
            _ if local => self.refute(s.incarnation),
            _ => {
                self.incarnation = s.incarnation;
                self.set(State::Suspect)
            }
        }
    }

    /// Applies a dead message about this member (`about`: whether it is us, and whether we are
    /// leaving on purpose, when our own dead message is not refuted).
    ///
    /// Older incarnations and members already dead or left are ignored. A dead message from the
    /// member itself is a leave.
    pub fn apply_dead(&mut self, d: &Dead, about: Subject) -> Transition {
        if d.incarnation < self.incarnation || matches!(self.state, State::Dead | State::Left) {
            return Transition::Ignored;
        }
        if about == Subject::Local {
            return self.refute(d.incarnation);
        }
        self.incarnation = d.incarnation;
        self.set(if d.from == d.node {
            State::Left
        } else {
            State::Dead
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(inc: u32) -> Alive {
        Alive {
            addr: vec![10, 0, 0, 2],
            incarnation: inc,
            meta: b"m".to_vec(),
            node: "b".into(),
            port: 7946,
            vsn: vec![1, 5, 2, 2, 5, 4],
        }
    }

    fn suspect(inc: u32) -> Suspect {
        Suspect {
            from: "c".into(),
            incarnation: inc,
            node: "b".into(),
        }
    }

    fn dead(inc: u32, from: &str) -> Dead {
        Dead {
            from: from.into(),
            incarnation: inc,
            node: "b".into(),
        }
    }

    #[test]
    fn remote_lifecycle() {
        let mut m = Member::from_alive(&alive(1));
        assert_eq!(m.apply_alive(&alive(1), Subject::Peer), Transition::Ignored);
        assert_eq!(
            m.apply_suspect(&suspect(0), Subject::Peer),
            Transition::Ignored
        );
        assert_eq!(
            m.apply_suspect(&suspect(1), Subject::Peer),
            Transition::Changed {
                from: State::Alive,
                to: State::Suspect
            }
        );
        assert_eq!(
            m.apply_suspect(&suspect(1), Subject::Peer),
            Transition::Confirmation
        );
        // The suspected node refuted with a higher incarnation.
        assert_eq!(
            m.apply_alive(&alive(2), Subject::Peer),
            Transition::Changed {
                from: State::Suspect,
                to: State::Alive
            }
        );
        assert_eq!(
            m.apply_dead(&dead(1, "c"), Subject::Peer),
            Transition::Ignored
        );
        assert_eq!(
            m.apply_dead(&dead(2, "c"), Subject::Peer),
            Transition::Changed {
                from: State::Alive,
                to: State::Dead
            }
        );
        assert_eq!(
            m.apply_suspect(&suspect(9), Subject::Peer),
            Transition::Ignored
        );
        assert_eq!(
            m.apply_dead(&dead(9, "b"), Subject::Peer),
            Transition::Ignored
        );
        // Rejoin with a newer incarnation.
        assert_eq!(
            m.apply_alive(&alive(3), Subject::Peer),
            Transition::Changed {
                from: State::Dead,
                to: State::Alive
            }
        );
    }

    #[test]
    fn leave_is_dead_from_itself() {
        let mut m = Member::from_alive(&alive(4));
        assert_eq!(
            m.apply_dead(&dead(4, "b"), Subject::Peer),
            Transition::Changed {
                from: State::Alive,
                to: State::Left
            }
        );
        assert_eq!(m.state, State::Left);
    }

    #[test]
    fn newer_alive_updates_metadata() {
        let mut m = Member::from_alive(&alive(1));
        let mut a = alive(2);
        a.meta = b"new".to_vec();
        assert_eq!(m.apply_alive(&a, Subject::Peer), Transition::Updated);
        assert_eq!(m.meta, b"new");
        assert_eq!(m.to_alive(), a);
    }

    #[test]
    fn the_local_node_refutes() {
        let mut me = Member::from_alive(&alive(5));
        // Our own announcement echoed back.
        assert_eq!(
            me.apply_alive(&alive(5), Subject::Local),
            Transition::Ignored
        );
        assert_eq!(
            me.apply_alive(&alive(4), Subject::Local),
            Transition::Ignored
        );
        assert_eq!(
            me.apply_suspect(&suspect(5), Subject::Local),
            Transition::Refute { incarnation: 6 }
        );
        // Accused at an incarnation above ours: jump past it.
        assert_eq!(
            me.apply_dead(&dead(9, "c"), Subject::Local),
            Transition::Refute { incarnation: 10 }
        );
        assert_eq!(me.state, State::Alive);
        // Someone announcing us with other metadata at our incarnation.
        let mut other = alive(10);
        other.meta = b"impostor".to_vec();
        assert_eq!(
            me.apply_alive(&other, Subject::Local),
            Transition::Refute { incarnation: 11 }
        );
        // A leave we asked for is not refuted.
        assert_eq!(
            me.apply_dead(&dead(11, "b"), Subject::LocalLeaving),
            Transition::Changed {
                from: State::Alive,
                to: State::Left
            }
        );
    }
}
