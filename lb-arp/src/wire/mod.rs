//! Wire formats: zero-copy checked views plus owned representations.
//!
//! Each protocol has two levels, in the style of smoltcp:
//!
//! - a **view** ([`EthernetFrame`], [`ArpPacket`]) over any `T: AsRef<[u8]>` that reads (and,
//!   for `T: AsMut<[u8]>`, writes) fields in place. `new_checked` validates the length once;
//!   **after `new_checked` (or `check_len`) succeeds, no accessor panics**, whatever the bytes.
//!   `new_unchecked` is for emission into a buffer the caller sized with `buffer_len`.
//! - a **representation** ([`EthernetRepr`], [`ArpRepr`], [`ArpFrameRepr`]) holding owned,
//!   semantic values, with `parse` (from a checked view), `emit` (into a view) and `buffer_len`.
//!   `emit` never panics when the buffer is at least `buffer_len()` bytes.
//!
//! Protocol numbers are enums with an `Unknown(raw)` variant, so an unknown code point is kept,
//! never an error by itself.

mod arp;
mod frame;

pub use arp::{ArpKind, ArpOperation, ArpPacket, ArpRepr, HardwareType};
pub use frame::ArpFrameRepr;
/// Ethernet II with at most one 802.1Q tag, shared with the other Layer 2 crate through `lb-l2`.
pub use lb_l2::ethernet;
pub use lb_l2::ethernet::{EtherType, EthernetFrame, EthernetRepr, MacAddress, VlanTag};

use lb_l2::view::{Field, read_u16};
