//! # lb-l2
//!
//! The protocol-independent Layer 2 pieces shared by `lb-arp` and `lb-ndp`.
//!
//! - [`ethernet`]: Ethernet II frames with at most one IEEE 802.1Q tag, in the smoltcp style: a
//!   zero-copy checked view ([`EthernetFrame`]) over any `T: AsRef<[u8]>` and an owned
//!   representation ([`EthernetRepr`]) with `parse` / `emit` / `buffer_len`. **After
//!   `new_checked` (or `check_len`) succeeds, no accessor panics**, whatever the bytes; `emit`
//!   never panics when the buffer is at least `buffer_len()` bytes. EtherTypes are an enum with
//!   an `Unknown(raw)` variant, so an unknown code point is kept, never an error by itself.
//!
//! - [`sys`] (Linux): the one `unsafe` module of lb-l2, lb-arp and lb-ndp — an AF_PACKET raw
//!   socket with a caller-supplied classic BPF filter, `PACKET_FANOUT_CPU`, link-layer multicast
//!   membership, CPU affinity, `SCHED_FIFO`, NETLINK_ROUTE sockets, `setns` and tokio
//!   registration; every block carries a `SAFETY:` comment. Protocol choices (EtherType, filter
//!   program, multicast groups) are the callers' parameters.
//! - [`netlink`] (Linux): interface discovery over rtnetlink (`RTM_GETLINK`, IPv6
//!   `RTM_GETADDR`), parsed in safe code, with MetalLB's interface-name rules and its ARP and NDP
//!   eligibility rules.
//! - [`fanout`] (Linux): one AF_PACKET socket per CPU in a `PACKET_FANOUT_CPU` group, each
//!   paired with the CPU its reader thread should be pinned to.
//! - [`responder`]: the sans-IO announcement core both protocols share
//!   ([`responder::Responder`]): per-interface state, the announcement schedule, probes,
//!   conflict windows and defences, counters and a bounded event queue, generic over a small
//!   [`responder::Protocol`] (the protocol's frames and how a received frame reads).
//! - [`driver`] (Linux): the tokio driver both protocols run, generic over the protocol and its
//!   [`driver::Sockets`] (EtherType, BPF program, eligible interfaces): reader threads per CPU,
//!   timers, interface discovery and rescans, multicast membership, and a `Handle` to announce,
//!   withdraw and probe.
//!
//! ```
//! use lb_l2::{EtherType, EthernetFrame, EthernetRepr, MacAddress, VlanTag};
//!
//! let src: MacAddress = "02:00:00:00:00:0a".parse()?;
//! let mut repr = EthernetRepr::new(src, MacAddress::BROADCAST, EtherType::Ipv6);
//! repr.vlan = Some(VlanTag { pcp: 0, dei: false, vid: 100 });
//! let mut buf = [0u8; 18];
//! repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]))?;
//! assert_eq!(repr.buffer_len(), 18);
//! assert_eq!(EthernetRepr::parse(&EthernetFrame::new_checked(&buf[..])?)?, repr);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(target_os = "linux")]
pub mod driver;
mod error;
pub mod ethernet;
#[cfg(target_os = "linux")]
pub mod fanout;
#[cfg(target_os = "linux")]
pub mod netlink;
pub mod responder;
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub mod sys;
#[cfg(any(test, fuzzing, feature = "testing"))]
pub mod testing;
pub mod view;

pub use error::{Error, Result};
pub use ethernet::{EtherType, EthernetFrame, EthernetRepr, MacAddress, VlanTag};

use view::{Field, Rest, read_u16};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
