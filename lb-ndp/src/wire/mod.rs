//! Wire formats: zero-copy checked views plus owned representations.
//!
//! Each protocol has two levels, in the style of smoltcp:
//!
//! - a **view** ([`EthernetFrame`], [`Ipv6Packet`], [`Icmpv6Packet`]) over any
//!   `T: AsRef<[u8]>` that reads (and, for `T: AsMut<[u8]>`, writes) fields in place.
//!   `new_checked` validates the length once; **after `new_checked` (or `check_len`) succeeds, no
//!   accessor panics**, whatever the bytes. `new_unchecked` is for emission into a buffer the
//!   caller sized with `buffer_len`.
//! - a **representation** ([`EthernetRepr`], [`Ipv6Repr`], [`NdiscRepr`], [`NdpFrameRepr`]) holding
//!   owned, semantic values, with `parse`, `emit` and `buffer_len`. `emit` never panics when the
//!   buffer is at least `buffer_len()` bytes.
//!
//! [`NdpFrameRepr::parse`] applies the validity checks of RFC 4861 §7.1 (hop limit 255, valid ICMPv6
//! checksum, code 0, length, target not multicast, option lengths, DAD source rules).

mod icmpv6;
mod ipv6;
mod ndisc;

pub use icmpv6::{Icmpv6Packet, Icmpv6Type, checksum};
pub use ipv6::{IPPROTO_ICMPV6, Ipv6Packet, Ipv6Repr, solicited_node, solicited_node_mac};
/// Ethernet II with at most one 802.1Q tag, shared with the other Layer 2 crate through `lb-l2`.
pub use lb_l2::ethernet;
pub use lb_l2::ethernet::{EtherType, EthernetFrame, EthernetRepr, MacAddress, VlanTag};
pub use ndisc::{NdiscRepr, NdpFrameRepr, NeighborFlags};

use lb_l2::view::{Field, Rest, read_u16};
