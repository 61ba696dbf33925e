//! # lb-ndp
//!
//! IPv6 Neighbor Discovery for Layer 2 announcement: a codec, a sans-IO responder core and (on
//! Linux) a tokio driver over AF_PACKET sockets.
//!
//! - [`wire`]: Ethernet II, the IPv6 header, ICMPv6 with its pseudo-header checksum, Neighbor
//!   Solicitation and Advertisement (R/S/O flags) with source/target link-layer address options
//!   (unknown options skipped by length), in the smoltcp style: zero-copy checked views plus
//!   owned representations with `parse`/`emit`/`buffer_len`. [`NdpFrameRepr::parse`] applies the
//!   RFC 4861 §7.1 validity checks. Parsing never panics, whatever the bytes.
//! - [`NdpResponder`]: given frames and the current time, decides what to answer (only announced
//!   addresses, from the receiving interface's MAC, Solicited=1 Override=0), when to send
//!   unsolicited advertisements (Override=1, to `ff02::1`) on a tunable [`AdvertSchedule`],
//!   which solicited-node groups to join, runs DAD-style probes and reports foreign hosts
//!   claiming our addresses ([`Event`]). Per-interface [`Counters`].
//!
//! ```
//! use lb_ndp::{EtherType, EthernetRepr, MacAddress, NdiscRepr, NdpFrameRepr, NeighborFlags};
//!
//! let mac: MacAddress = "02:00:00:00:00:0b".parse()?;
//! let vip = "2001:db8:1::100".parse()?;
//! let na = NdpFrameRepr {
//!     ethernet: EthernetRepr::new(mac, lb_ndp::ALL_NODES_MAC, EtherType::Ipv6),
//!     src_addr: vip,
//!     dst_addr: lb_ndp::ALL_NODES,
//!     message: NdiscRepr::NeighborAdvert {
//!         flags: NeighborFlags { override_: true, ..NeighborFlags::default() },
//!         target_addr: vip,
//!         lladdr: Some(mac),
//!     },
//! };
//! let mut buf = [0u8; 128];
//! let len = na.emit(&mut buf)?; // fills the ICMPv6 checksum
//! assert_eq!(len, 14 + 40 + 32);
//! assert_eq!(NdpFrameRepr::parse(&buf[..len])?, na);
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
    ALL_NODES, ALL_NODES_MAC, AdvertSchedule, Announced, Claim, Config, Counters, DEFEND_INTERVAL,
    Event, Interface, MAX_FRAME_LEN, Ndp, NdpResponder, ProbeConfig, ProbeOutcome, Transmit,
    Withdrawn,
};
pub use wire::{
    EtherType, EthernetFrame, EthernetRepr, Icmpv6Packet, Icmpv6Type, Ipv6Packet, Ipv6Repr,
    MacAddress, NdiscRepr, NdpFrameRepr, NeighborFlags, VlanTag, checksum, solicited_node,
    solicited_node_mac,
};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
