//! A whole ARP frame: Ethernet II header (optionally 802.1Q tagged) plus the ARP packet.

use core::fmt;

use super::{ArpPacket, ArpRepr, EtherType, EthernetRepr};
use crate::error::Result;

/// An Ethernet frame carrying Ethernet/IPv4 ARP, as read from or written to a packet socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpFrameRepr {
    /// The link-layer header.
    pub ethernet: EthernetRepr,
    /// The ARP packet.
    pub arp: ArpRepr,
}

impl ArpFrameRepr {
    /// Parses a frame; anything that is not (tagged or untagged) Ethernet/IPv4 ARP is an error.
    /// Trailing bytes (Ethernet padding to 60 bytes) are ignored.
    // Not `#[inline]`: the views it reads are, so this is one function; inlined into a
    // caller as well (the responder's handle_frame), it made that caller slower.
    pub fn parse(bytes: &[u8]) -> Result<ArpFrameRepr> {
        let (ethernet, payload) = EthernetRepr::parse_carrying(bytes, EtherType::Arp)?;
        let arp = ArpRepr::parse(&ArpPacket::new_checked(payload)?)?;
        Ok(ArpFrameRepr { ethernet, arp })
    }

    /// Header plus ARP packet: 42 bytes, 46 with a tag (no padding).
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        self.ethernet.buffer_len() + self.arp.buffer_len()
    }

    /// Writes the frame into the first `buffer_len()` bytes of `buf`; returns that length.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        let payload = self.ethernet.emit_carrying(buf, EtherType::Arp, len)?;
        self.arp.emit(&mut ArpPacket::new_unchecked(payload))?;
        Ok(len)
    }
}

impl fmt::Display for ArpFrameRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} > {}", self.ethernet.src_addr, self.ethernet.dst_addr)?;
        if let Some(tag) = self.ethernet.vlan {
            write!(f, " vlan {}", tag.vid)?;
        }
        write!(f, ": {}", self.arp)
    }
}
