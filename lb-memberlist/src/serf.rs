//! What a memberlist node needs to sit in a cluster of HashiCorp Serf agents (Debian's `serf`,
//! 0.8.x), learnt by joining real agents (`tests/serf_interop.rs`).
//!
//! - **Delegate versions.** Serf's memberlist announces `Vsn = [1, 5, 2, 2, 5, 5]`: protocol
//!   min/max/current, then Serf's own protocol min/max/current. A push-pull is refused when a
//!   node's current delegate version falls outside every node's `[min, max]`
//!   (`Failed push/pull merge: Node 'x' delegate protocol version (0) is incompatible: [2, 0]`).
//!   A node announcing memberlist's default `0, 0, 0` (as MetalLB does) still gets listed,
//!   through its alive gossip, but every state exchange with it fails on the Serf side; a node
//!   joining Serf announces [`DELEGATE_VERSIONS`].
//! - **Meta.** Serf keeps a node's tags in its memberlist metadata: the byte `0xff` then a
//!   msgpack map of strings ([`tags_meta`]). Empty metadata is accepted too, as the pre-tags
//!   encoding: `serf members` then shows the tag `role=""`.
//! - **User state and user messages.** Serf sends its own messages (join and leave intents,
//!   events, queries) as memberlist user messages, and its Lamport clocks as push-pull user
//!   state. A node that ignores them, and sends an empty user state, is still listed: Serf only
//!   logs `Remote state is zero bytes`.
//! - **Leave.** Serf shows a member as `left`, rather than `failed`, only when a *leave
//!   intent* ([`leave_intent`], a user message) reached it before memberlist's own leave (a
//!   `dead` message from the node itself). The intent's Lamport time must be newer than the
//!   last intent Serf saw for that node: [`Clock`] follows Serf's clock from the push-pull
//!   user state and the intents it gossips.

use std::net::SocketAddr;
use std::time::Duration;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::driver::{Driver, DriverConfig, UserRelay};
use crate::wire::msgpack::{Reader, Writer};
use crate::{Config, Error};

/// Serf's delegate (Serf protocol) versions, min, max and current, as agents of protocol 5
/// announce them; the last three bytes of `Vsn`.
pub const DELEGATE_VERSIONS: [u8; 3] = [2, 5, 5];

/// The first byte of tag-encoded metadata (`tagMagicByte`).
pub const TAG_MAGIC: u8 = 0xff;

/// Driver options for a node that joins a Serf cluster: Serf's delegate versions and `tags`
/// as metadata, everything else as [`DriverConfig::new`] has it.
pub fn driver_options(
    name: impl Into<String>,
    bind: SocketAddr,
    config: Config,
    tags: &[(&str, &str)],
) -> DriverConfig {
    let mut o = DriverConfig::new(name, bind, config);
    o.delegate_versions = DELEGATE_VERSIONS;
    o.meta = tags_meta(tags);
    o.user_relay = Some(intent_relay());
    o
}

/// A [`UserRelay`] that passes on Serf's join and leave intents the first time they are seen
/// (newer than the last intent about the same node), as a Serf agent re-gossips them.
///
/// Without it an intent can stop at our node: an agent counts how often it has sent a
/// broadcast, not to whom, and piggybacks it on every packet, so with our node probing it
/// every 50 ms (`Config::fast()`) all its transmissions of a leave intent may go in acks to
/// us. The agent then leaves, and the others, which never got the intent, mark it `failed`.
pub fn intent_relay() -> UserRelay {
    let seen: Mutex<HashMap<String, u64>> = Mutex::new(HashMap::new());
    Arc::new(move |payload: &[u8]| {
        let (node, ltime) = match decode(payload) {
            Ok(SerfMessage::Leave { ltime, node } | SerfMessage::Join { ltime, node }) => {
                (node, ltime)
            }
            _ => return false,
        };
        let Ok(mut seen) = seen.lock() else {
            return false;
        };
        match seen.get(&node) {
            Some(&last) if last >= ltime => false,
            _ => {
                seen.insert(node, ltime);
                true
            }
        }
    })
}

/// Leaves a Serf cluster as an agent does, so that the others show the node `left` rather
/// than `failed`: a leave intent at Lamport time `ltime` (from a [`Clock`]) to every alive
/// member, a short pause so that it arrives first, then [`Driver::leave`].
pub async fn leave(driver: &Driver, ltime: u64, timeout: Duration) -> Result<(), Error> {
    driver
        .send_user(None, leave_intent(driver.name(), ltime))
        .await?;
    tokio::time::sleep(Duration::from_millis(100).min(timeout / 4)).await;
    driver.leave(timeout).await
}

/// Serf's message types: the first byte of a user message's payload (`messageType`).
pub mod message_type {
    /// `messageLeaveType`: a node intends to leave.
    pub const LEAVE: u8 = 0;
    /// `messageJoinType`: a node has joined, with its Lamport time.
    pub const JOIN: u8 = 1;
    /// `messagePushPullType`: the user state of a push-pull.
    pub const PUSH_PULL: u8 = 2;
    /// `messageUserEventType`: a user event.
    pub const USER_EVENT: u8 = 3;
    /// `messageQueryType`: a query.
    pub const QUERY: u8 = 4;
}

/// Metadata carrying Serf tags: `0xff` then a msgpack map of strings, in the given order.
///
/// ```
/// let meta = lb_memberlist::serf::tags_meta(&[("role", "lb")]);
/// assert_eq!(meta, b"\xff\x81\xa4role\xa2lb");
/// assert_eq!(lb_memberlist::serf::decode_tags(&meta).unwrap(), vec![("role".into(), "lb".into())]);
/// ```
pub fn tags_meta(tags: &[(&str, &str)]) -> Vec<u8> {
    let mut w = Writer::default();
    w.buf.push(TAG_MAGIC);
    w.map_len(tags.len());
    for (k, v) in tags {
        w.raw(k.as_bytes());
        w.raw(v.as_bytes());
    }
    w.buf
}

/// Serf's reading of a node's metadata: tags when it starts with [`TAG_MAGIC`], otherwise the
/// whole metadata is the value of a `role` tag (Serf's backwards-compatible reading).
pub fn decode_tags(meta: &[u8]) -> Result<Vec<(String, String)>, Error> {
    let Some((&TAG_MAGIC, body)) = meta.split_first() else {
        return Ok(vec![(
            "role".to_string(),
            String::from_utf8_lossy(meta).into_owned(),
        )]);
    };
    let mut r = Reader::new(body);
    let n = r.map_len()?;
    let mut out = Vec::new();
    for _ in 0..n {
        let k = r.string()?;
        let v = r.string()?;
        out.push((k, v));
    }
    Ok(out)
}

/// The payload of a Serf leave intent for `node` at Lamport time `ltime` (send it as a
/// memberlist user message before leaving).
pub fn leave_intent(node: &str, ltime: u64) -> Vec<u8> {
    let mut w = Writer::default();
    w.buf.push(message_type::LEAVE);
    w.map_len(3);
    w.key("LTime");
    w.uint(ltime);
    w.key("Node");
    w.raw(node.as_bytes());
    w.key("Prune");
    w.bool(false);
    w.buf
}

/// The payload of a Serf join intent for `node` at Lamport time `ltime`.
pub fn join_intent(node: &str, ltime: u64) -> Vec<u8> {
    let mut w = Writer::default();
    w.buf.push(message_type::JOIN);
    w.map_len(2);
    w.key("LTime");
    w.uint(ltime);
    w.key("Node");
    w.raw(node.as_bytes());
    w.buf
}

/// A Serf message as far as membership cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerfMessage {
    /// A leave intent.
    Leave {
        /// Lamport time.
        ltime: u64,
        /// Who leaves.
        node: String,
    },
    /// A join intent.
    Join {
        /// Lamport time.
        ltime: u64,
        /// Who joined.
        node: String,
    },
    /// Push-pull user state: the sender's member clock.
    PushPull {
        /// The sender's `LTime`.
        ltime: u64,
    },
    /// Anything else (events, queries, key management), by type byte.
    Other(u8),
}

/// Decodes a Serf user message or push-pull user state (the first byte is the type).
pub fn decode(payload: &[u8]) -> Result<SerfMessage, Error> {
    let (&ty, body) = payload.split_first().ok_or(Error::Truncated)?;
    if !matches!(
        ty,
        message_type::LEAVE | message_type::JOIN | message_type::PUSH_PULL
    ) {
        return Ok(SerfMessage::Other(ty));
    }
    let mut r = Reader::new(body);
    let (mut ltime, mut node) = (0, String::new());
    for _ in 0..r.map_len()? {
        match r.raw()? {
            b"LTime" => ltime = r.uint()?,
            b"Node" => node = r.string()?,
            _ => r.skip()?,
        }
    }
    Ok(match ty {
        message_type::LEAVE => SerfMessage::Leave { ltime, node },
        message_type::JOIN => SerfMessage::Join { ltime, node },
        _ => SerfMessage::PushPull { ltime },
    })
}

/// Follows Serf's member Lamport clock from what Serf sends, so that our intents are newer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    seen: u64,
}

impl Clock {
    /// Takes note of a Serf user message or push-pull user state (anything else is ignored).
    pub fn witness(&mut self, payload: &[u8]) {
        if let Ok(
            SerfMessage::Leave { ltime, .. }
            | SerfMessage::Join { ltime, .. }
            | SerfMessage::PushPull { ltime },
        ) = decode(payload)
        {
            self.seen = self.seen.max(ltime);
        }
    }

    /// A Lamport time newer than everything witnessed, and advances the clock to it.
    pub fn tick(&mut self) -> u64 {
        self.seen += 1;
        self.seen
    }

    /// The newest time witnessed or issued.
    pub fn time(&self) -> u64 {
        self.seen
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The leave intent in `tests/captured.rs` (capture #30), as serf 0.8.2 wrote it.
    const CAPTURED_LEAVE: &[u8] = &[
        0x00, 0x83, 0xa5, 0x4c, 0x54, 0x69, 0x6d, 0x65, 0x02, 0xa4, 0x4e, 0x6f, 0x64, 0x65, 0xa1,
        0x62, 0xa5, 0x50, 0x72, 0x75, 0x6e, 0x65, 0xc2,
    ];
    /// The join intent in capture #3.
    const CAPTURED_JOIN: &[u8] = &[
        0x01, 0x82, 0xa5, 0x4c, 0x54, 0x69, 0x6d, 0x65, 0x01, 0xa4, 0x4e, 0x6f, 0x64, 0x65, 0xa1,
        0x62,
    ];

    #[test]
    fn intents_are_byte_for_byte_serfs() {
        assert_eq!(leave_intent("b", 2), CAPTURED_LEAVE);
        assert_eq!(join_intent("b", 1), CAPTURED_JOIN);
        assert_eq!(
            decode(CAPTURED_LEAVE).unwrap(),
            SerfMessage::Leave {
                ltime: 2,
                node: "b".into()
            }
        );
    }

    #[test]
    fn clock_moves_past_what_it_saw() {
        let mut c = Clock::default();
        c.witness(CAPTURED_JOIN);
        c.witness(CAPTURED_LEAVE);
        c.witness(&[3, 0xc1]);
        c.witness(&[]);
        assert_eq!(c.tick(), 3);
    }

    #[test]
    fn relay_passes_each_intent_once() {
        let relay = intent_relay();
        assert!(relay(CAPTURED_JOIN));
        assert!(!relay(CAPTURED_JOIN), "a repeat");
        assert!(relay(CAPTURED_LEAVE), "newer (LTime 2) than the join (1)");
        assert!(!relay(&join_intent("b", 2)), "not newer");
        assert!(relay(&join_intent("c", 1)), "another node");
        assert!(!relay(&[message_type::USER_EVENT, 0x80]));
        assert!(!relay(&[]));
    }

    #[test]
    fn tags() {
        assert_eq!(
            tags_meta(&[]),
            [0xff, 0x80],
            "what serf agents without tags send"
        );
        assert_eq!(
            decode_tags(b"").unwrap(),
            vec![("role".into(), String::new())]
        );
        assert!(decode_tags(&[0xff, 0x81]).is_err());
    }
}
