//! # lb-memberlist
//!
//! SWIM with the Lifeguard extensions, wire-compatible with HashiCorp memberlist.
//!
//! What exists so far:
//! - [`wire`]: every message memberlist protocol versions 2–5 exchange, as owned types with
//!   `decode`/`encode`, compound messages, CRC and label headers;
//! - [`security`]: the AES-GCM envelope, a [`Keyring`] that tries every key on receive, and
//!   MetalLB's secret-to-key derivation ([`metallb_secret_key`]).
//!
//! - [`config`]: every timing, the [`Config::lan`] (HashiCorp `DefaultLANConfig`) and
//!   [`Config::fast`] presets, and memberlist's formulas (suspicion bounds and its shrinking
//!   with confirmations, retransmit limit, push-pull scaling, health awareness);
//! - [`member`]: the incarnation rules by which alive, suspect and dead messages change a
//!   member, including refutation by the local node;
//! - [`members`]: the membership table, applying gossip and merging push-pull states;
//! - [`broadcast`]: the queue of piggybacked broadcasts, retransmitted `mult × ⌈log10(N + 1)⌉`
//!   times, newest message per node only, packed into a byte budget;
//! - [`packet`]: whole UDP packets — label check, decryption, CRC, and compound and compressed
//!   messages flattened — and the way back;
//! - [`rng`]: the seeded generator (probe order, random targets, timer stagger);
//! - [`suspicion`]: Lifeguard's suspicion timer, shrinking with independent confirmations;
//! - `roundtrip` (feature `testing`): the decode → encode → decode checks the fuzz targets run;
//! - [`node`]: the sans-IO SWIM + Lifeguard state machine, [`Node`]: received datagrams,
//!   stream bytes and timer expiries in (with the current time), [`Output`]s (datagrams,
//!   stream connect/send/close), [`Event`]s (joined, updated, suspect, alive, dead, left,
//!   user messages) and the next deadline out;
//! - [`sim`]: a deterministic simulator of many nodes with virtual time, latency, loss,
//!   partitions, crashes, pauses and restarts;
//! - `script` (feature `testing`): the script fuzzer's interpreter over a small simulated cluster;
//! - [`driver`]: the tokio driver (UDP + TCP sockets, timers, streams, join with retry, leave,
//!   the membership view and its change stream);
//! - [`serf`]: what a node needs to be a member of a HashiCorp Serf cluster (delegate
//!   versions, tag metadata, leave intents and their relay).
//!
//! ```
//! use lb_memberlist::wire::{Message, Ping};
//! use lb_memberlist::Keyring;
//!
//! let ping = Message::Ping(Ping { node: "b".into(), seq_no: 7, ..Ping::default() });
//! let bytes = ping.encode()?;
//! assert_eq!(Message::decode(&bytes)?, ping);
//!
//! let ring = Keyring::new(&[0x11; 16])?;
//! let sealed = ring.seal_packet(&bytes, b"", [0; 12])?;
//! assert_eq!(ring.open_packet(&sealed, b"")?, bytes);
//! # Ok::<(), lb_memberlist::Error>(())
//! ```

pub mod broadcast;
pub mod config;
pub mod driver;
mod error;
pub mod member;
pub mod members;
pub mod node;
pub mod packet;
pub mod rng;
#[cfg(any(test, fuzzing, feature = "testing"))]
pub mod roundtrip;
#[cfg(any(test, fuzzing, feature = "testing"))]
pub mod script;
pub mod security;
pub mod serf;
pub mod sim;
pub mod suspicion;
pub mod wire;

pub use broadcast::BroadcastQueue;
pub use config::{Awareness, Config};
pub use error::{Error, IoError};
pub use member::{Member, State, Subject, Transition};
pub use members::Members;
pub use node::{Event, Node, NodeConfig, Output, StreamId};
pub use packet::PacketCodec;
pub use rng::Rng;
pub use security::{Keyring, metallb_secret_key};
pub use suspicion::Suspicion;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
