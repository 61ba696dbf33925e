//! # lb-arp
//!
//! ARP for Layer 2 announcement of IPv4 addresses: a codec, a sans-IO responder core and (on
//! Linux) a tokio driver over AF_PACKET sockets.
//!
//! - [`wire`]: Ethernet II (one 802.1Q tag on receive) and ARP for Ethernet/IPv4 in the
//!   smoltcp style: zero-copy checked views ([`EthernetFrame`], [`ArpPacket`]) and owned
//!   representations with `parse`/`emit`/`buffer_len` ([`EthernetRepr`], [`ArpRepr`],
//!   [`ArpFrameRepr`]). Parsing never panics, whatever the bytes.
//! - [`ArpResponder`]: given frames and the current time, decides what to answer (only announced
//!   addresses, from the receiving interface's MAC), when to send gratuitous ARP (request and
//!   reply forms, on a tunable [`GratuitousSchedule`]), runs RFC 5227 probes and reports foreign
//!   hosts claiming our addresses ([`Event`]). Per-interface [`Counters`].
//!
//! ```
//! use lb_arp::{ArpFrameRepr, ArpKind, ArpRepr, EtherType, EthernetRepr, MacAddress};
//!
//! let mac: MacAddress = "02:00:00:00:00:0b".parse()?;
//! let garp = ArpFrameRepr {
//!     ethernet: EthernetRepr::new(mac, MacAddress::BROADCAST, EtherType::Arp),
//!     arp: ArpRepr::gratuitous_reply(mac, "192.0.2.100".parse()?),
//! };
//! let mut buf = [0u8; 64];
//! let len = garp.emit(&mut buf)?;
//! assert_eq!(len, 42);
//! let back = ArpFrameRepr::parse(&buf[..len])?;
//! assert_eq!(back, garp);
//! assert_eq!(back.arp.kind(), ArpKind::GratuitousReply);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(target_os = "linux")]
pub mod driver;
mod error;
mod responder;
#[cfg(any(test, fuzzing, feature = "testing"))]
pub mod roundtrip;
#[cfg(any(test, fuzzing, feature = "testing"))]
pub mod script;
pub mod wire;

pub use error::{Error, Result};
pub use responder::{
    Announced, Arp, ArpResponder, Config, Counters, DEFEND_INTERVAL, Event, GratuitousSchedule,
    Interface, MAX_FRAME_LEN, ProbeConfig, ProbeOutcome, Transmit, Withdrawn,
};
pub use wire::{
    ArpFrameRepr, ArpKind, ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame,
    EthernetRepr, HardwareType, MacAddress, VlanTag,
};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
