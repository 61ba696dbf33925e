//! The msgpack bodies of memberlist's messages, one owned struct per Go struct in
//! memberlist's `net.go`, with the Go field names as map keys.
//!
//! Keys are written in byte order of their names, as the serf 0.8.2 packets in
//! `tests/captured.rs` show Go's encoder doing (newer go-msgpack releases write declaration
//! order instead; neither side cares on decode, since a struct is a map). Fields marked
//! `omitempty` in Go are left out when zero. Unknown keys are skipped, missing keys read as zero,
//! as Go's decoder does.

use super::msgpack::{Reader, Writer};
use crate::Error;

/// One field type: how Go encodes it, how to read it, and whether it is Go's zero value.
pub(crate) trait Field: Sized {
    fn put(&self, w: &mut Writer);
    fn get(r: &mut Reader<'_>) -> Result<Self, Error>;
    fn is_zero(&self) -> bool;
}

impl Field for u32 {
    fn put(&self, w: &mut Writer) {
        w.uint(u64::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.u32()
    }
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl Field for u16 {
    fn put(&self, w: &mut Writer) {
        w.uint(u64::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.u16()
    }
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl Field for bool {
    fn put(&self, w: &mut Writer) {
        w.bool(*self);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.bool()
    }
    fn is_zero(&self) -> bool {
        !*self
    }
}

impl Field for String {
    fn put(&self, w: &mut Writer) {
        w.raw(self.as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.string()
    }
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

impl Field for Vec<u8> {
    fn put(&self, w: &mut Writer) {
        w.bytes(self);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.bytes()
    }
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

/// A node's state as pushed in a push-pull exchange (Go's `NodeStateType`, an `int`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NodeState {
    /// `StateAlive` (0).
    #[default]
    Alive,
    /// `StateSuspect` (1).
    Suspect,
    /// `StateDead` (2).
    Dead,
    /// `StateLeft` (3): dead by its own announcement.
    Left,
    /// Any other value, kept so that it round-trips.
    Unknown(i64),
}

impl From<i64> for NodeState {
    fn from(v: i64) -> Self {
        match v {
            0 => Self::Alive,
            1 => Self::Suspect,
            2 => Self::Dead,
            3 => Self::Left,
            v => Self::Unknown(v),
        }
    }
}

impl From<NodeState> for i64 {
    fn from(s: NodeState) -> Self {
        match s {
            NodeState::Alive => 0,
            NodeState::Suspect => 1,
            NodeState::Dead => 2,
            NodeState::Left => 3,
            NodeState::Unknown(v) => v,
        }
    }
}

impl Field for NodeState {
    fn put(&self, w: &mut Writer) {
        let v = i64::from(*self);
        match u64::try_from(v) {
            Ok(u) => w.uint(u),
            Err(_) => {
                w.buf.push(0xd3);
                w.buf.extend_from_slice(&v.to_be_bytes());
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(r.int()?.into())
    }
    fn is_zero(&self) -> bool {
        *self == Self::Alive
    }
}

/// Declares a Go struct: its Rust fields with their Go key, in the byte order of the keys,
/// and whether Go tags the field `omitempty`.
macro_rules! go_struct {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $key:literal $(, $omit:ident)? ; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            /// Appends the msgpack map, without the message type byte.
            pub(crate) fn write(&self, w: &mut Writer) {
                let mut n = 0usize;
                $( if !(go_struct!(@omit $($omit)?) && self.$field.is_zero()) { n += 1; } )*
                w.map_len(n);
                $(
                    if !(go_struct!(@omit $($omit)?) && self.$field.is_zero()) {
                        w.key($key);
                        self.$field.put(w);
                    }
                )*
            }

            /// Reads the msgpack map, without the message type byte.
            pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
                let mut out = Self::default();
                for _ in 0..r.map_len()? {
                    match r.raw()? {
                        $( k if k == $key.as_bytes() => out.$field = Field::get(r)?, )*
                        _ => r.skip()?,
                    }
                }
                Ok(out)
            }
        }
    };
    (@omit omitempty) => { true };
    (@omit) => { false };
}

go_struct! {
    /// `ping`: a direct probe. `node` lets the target check it is the intended recipient; the
    /// `source_*` fields (protocol 5, omitted when empty) say where to send the ack.
    Ping {
        /// `Node`: the name of the node probed.
        node: String = "Node";
        /// `SeqNo`: echoed in the ack.
        seq_no: u32 = "SeqNo";
        /// `SourceAddr`: the prober's IP address bytes (4 or 16).
        source_addr: Vec<u8> = "SourceAddr", omitempty;
        /// `SourceNode`: the prober's name.
        source_node: String = "SourceNode", omitempty;
        /// `SourcePort`: the prober's port.
        source_port: u16 = "SourcePort", omitempty;
    }
}

go_struct! {
    /// `indirectPingReq`: asks a member to probe `target` on the sender's behalf.
    IndirectPing {
        /// `Nack`: whether the sender wants a nack if the target stays silent (protocol 4+).
        nack: bool = "Nack";
        /// `Node`: the name of the node to probe.
        node: String = "Node";
        /// `Port`: the target's port.
        port: u16 = "Port";
        /// `SeqNo`: echoed in the ack or nack.
        seq_no: u32 = "SeqNo";
        /// `SourceAddr`: the original prober's address bytes.
        source_addr: Vec<u8> = "SourceAddr", omitempty;
        /// `SourceNode`: the original prober's name.
        source_node: String = "SourceNode", omitempty;
        /// `SourcePort`: the original prober's port.
        source_port: u16 = "SourcePort", omitempty;
        /// `Target`: the target's IP address bytes.
        target: Vec<u8> = "Target";
    }
}

go_struct! {
    /// `ackResp`: the answer to a ping; `payload` carries delegate data (serf: coordinates).
    Ack {
        /// `Payload`: opaque delegate bytes.
        payload: Vec<u8> = "Payload";
        /// `SeqNo`: the ping's sequence number.
        seq_no: u32 = "SeqNo";
    }
}

go_struct! {
    /// `nackResp`: an indirect probe was tried and the target did not answer.
    Nack {
        /// `SeqNo`: the indirect ping's sequence number.
        seq_no: u32 = "SeqNo";
    }
}

go_struct! {
    /// `errResp`: an error relayed from the remote end of a stream.
    ErrorResponse {
        /// `Error`: the message.
        error: String = "Error";
    }
}

go_struct! {
    /// `suspect`: `from` suspects `node` at `incarnation`.
    Suspect {
        /// `From`: who suspects.
        from: String = "From";
        /// `Incarnation`: the suspected incarnation.
        incarnation: u32 = "Incarnation";
        /// `Node`: who is suspected.
        node: String = "Node";
    }
}

go_struct! {
    /// `alive`: `node` is alive at `incarnation` (also how a node joins and refutes).
    Alive {
        /// `Addr`: IP address bytes (4 or 16).
        addr: Vec<u8> = "Addr";
        /// `Incarnation`: the node's incarnation number.
        incarnation: u32 = "Incarnation";
        /// `Meta`: delegate metadata (Go caps it at 512 bytes).
        meta: Vec<u8> = "Meta";
        /// `Node`: the node's name.
        node: String = "Node";
        /// `Port`: the node's gossip port.
        port: u16 = "Port";
        /// `Vsn`: pmin, pmax, pcur, dmin, dmax, dcur (a Go `[]uint8`, so a byte string).
        vsn: Vec<u8> = "Vsn";
    }
}

go_struct! {
    /// `dead`: `node` is dead at `incarnation`; a leave when `from == node`.
    Dead {
        /// `From`: who declares it.
        from: String = "From";
        /// `Incarnation`: the incarnation declared dead.
        incarnation: u32 = "Incarnation";
        /// `Node`: who is dead.
        node: String = "Node";
    }
}

go_struct! {
    /// `pushPullHeader`: how many node states and user-state bytes follow.
    PushPullHeader {
        /// `Join`: a join rather than periodic anti-entropy.
        join: bool = "Join";
        /// `Nodes`: the number of [`PushNodeState`] maps that follow.
        nodes: u32 = "Nodes";
        /// `UserStateLen`: the number of raw delegate bytes after the node states.
        user_state_len: u32 = "UserStateLen";
    }
}

go_struct! {
    /// `pushNodeState`: one member as the sender sees it.
    PushNodeState {
        /// `Addr`: IP address bytes.
        addr: Vec<u8> = "Addr";
        /// `Incarnation`: its incarnation.
        incarnation: u32 = "Incarnation";
        /// `Meta`: its metadata.
        meta: Vec<u8> = "Meta";
        /// `Name`: its name.
        name: String = "Name";
        /// `Port`: its port.
        port: u16 = "Port";
        /// `State`: alive, suspect, dead or left.
        state: NodeState = "State";
        /// `Vsn`: its six protocol/delegate version bytes.
        vsn: Vec<u8> = "Vsn";
    }
}

impl PushNodeState {
    /// The alive message this state stands for (a push-pull merges an alive member as one).
    pub fn alive(&self) -> Alive {
        Alive {
            addr: self.addr.clone(),
            incarnation: self.incarnation,
            meta: self.meta.clone(),
            node: self.name.clone(),
            port: self.port,
            vsn: self.vsn.clone(),
        }
    }
}

go_struct! {
    /// `userMsgHeader`: the length of a user message sent over a stream.
    UserMsgHeader {
        /// `UserMsgLen`: bytes that follow the header.
        user_msg_len: u32 = "UserMsgLen";
    }
}

go_struct! {
    /// `compress`: a payload compressed with `algo` (0 = LZW, LSB order, 8-bit literals).
    Compress {
        /// `Algo`: the compression algorithm.
        algo: u32 = "Algo";
        /// `Buf`: the compressed bytes.
        buf: Vec<u8> = "Buf";
    }
}
