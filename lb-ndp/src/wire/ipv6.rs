//! The IPv6 fixed header (RFC 8200 §3). Extension headers are not parsed: Neighbor Discovery
//! messages carry none.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Traffic Class |           Flow Label                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Source Address (16 octets)                 |
//! |                 Destination Address (16 octets)               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use core::fmt;
use lb_l2::view::{need, room};
use std::net::Ipv6Addr;

use super::{Field, MacAddress, read_u16};
use crate::error::{Error, Result};

/// The protocol number of ICMPv6 (Next Header 58).
pub const IPPROTO_ICMPV6: u8 = 58;

mod field {
    use super::Field;
    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

#[inline]
fn addr(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(b);
    Ipv6Addr::from(a)
}

/// The solicited-node multicast address of `ip` (RFC 4291 §2.7.1): `ff02::1:ffXX:XXXX`.
#[inline]
pub fn solicited_node(ip: Ipv6Addr) -> Ipv6Addr {
    let o = ip.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// The Ethernet multicast address of an IPv6 multicast address (RFC 2464 §7):
/// `33:33` + its last four octets. For a solicited-node group: `33:33:ff:XX:XX:XX`.
#[inline]
pub fn solicited_node_mac(ip: Ipv6Addr) -> MacAddress {
    let o = solicited_node(ip).octets();
    MacAddress([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

lb_l2::wire_view! {
    /// A zero-copy view of an IPv6 packet.
    pub struct Ipv6Packet;
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Checks the buffer holds the header and the payload length it declares.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let got = self.buffer.as_ref().len();
        need(got, HEADER_LEN)?;
        need(got, HEADER_LEN + usize::from(self.payload_len()))
    }
    /// The version field (6 for IPv6).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }
    /// Payload length.
    #[inline]
    pub fn payload_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH)
    }
    /// Next header (58 for ICMPv6).
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NXT_HDR]
    }
    /// Hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }
    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::SRC_ADDR])
    }
    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::DST_ADDR])
    }
    /// The payload, `payload_len` bytes (link-layer padding excluded).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &self.buffer.as_ref()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Sets version 6, traffic class 0 and flow label 0.
    #[inline]
    pub fn set_version_6(&mut self) {
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&[0x60, 0, 0, 0]);
    }
    /// Sets the payload length.
    #[inline]
    pub fn set_payload_len(&mut self, v: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, v: u8) {
        self.buffer.as_mut()[field::NXT_HDR] = v;
    }
    /// Sets the hop limit.
    #[inline]
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = v;
    }
    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, v: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&v.octets());
    }
    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, v: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&v.octets());
    }
    /// The bytes after the fixed header, mutably (to the end of the buffer).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

/// The owned form of an IPv6 fixed header (traffic class and flow label are not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Next header.
    pub next_header: u8,
    /// Payload length.
    pub payload_len: u16,
    /// Hop limit.
    pub hop_limit: u8,
}

impl Ipv6Repr {
    /// A header for an ICMPv6 payload of `payload_len` bytes with hop limit 255, as Neighbor
    /// Discovery requires.
    #[inline]
    pub const fn icmpv6(src_addr: Ipv6Addr, dst_addr: Ipv6Addr, payload_len: u16) -> Self {
        Ipv6Repr {
            src_addr,
            dst_addr,
            next_header: IPPROTO_ICMPV6,
            payload_len,
            hop_limit: 255,
        }
    }
    /// Reads a checked packet; a version other than 6 is [`Error::Unsupported`].
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv6Packet<&T>) -> Result<Ipv6Repr> {
        packet.check_len()?;
        if packet.version() != 6 {
            return Err(Error::Unsupported("IP version is not 6"));
        }
        Ok(Ipv6Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: packet.payload_len(),
            hop_limit: packet.hop_limit(),
        })
    }
    /// 40 bytes.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }
    /// Writes the header; the buffer must hold at least `buffer_len()` bytes.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) -> Result<()> {
        room(packet.buffer.as_ref().len(), HEADER_LEN)?;
        packet.set_version_6();
        packet.set_payload_len(self.payload_len);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        Ok(())
    }
}

impl fmt::Display for Ipv6Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv6 {} > {} nxt={} hlim={} len={}",
            self.src_addr, self.dst_addr, self.next_header, self.hop_limit, self.payload_len
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Built by hand: 2001:db8:1::a > ff02::1:ff00:100, ICMPv6, hop limit 255, 2 payload bytes,
    // then one byte of link-layer padding.
    static PACKET: [u8; 43] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x01, 0x00, 0xaa, 0xbb, 0xcc,
    ];

    fn repr() -> Ipv6Repr {
        Ipv6Repr::icmpv6(
            "2001:db8:1::a".parse().unwrap(),
            "ff02::1:ff00:100".parse().unwrap(),
            2,
        )
    }

    #[test]
    fn deconstruct_parse_emit() {
        let p = Ipv6Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.payload(), &[0xaa, 0xbb]);
        assert_eq!(Ipv6Repr::parse(&p).unwrap(), repr());
        let mut out = [0xa5; 40];
        repr()
            .emit(&mut Ipv6Packet::new_unchecked(&mut out[..]))
            .unwrap();
        assert_eq!(&out[..], &PACKET[..40]);
    }

    #[test]
    fn lengths_and_version() {
        let check = |b: &[u8]| Ipv6Packet::new_checked(b).map(drop);
        lb_l2::testing::truncations(check, &PACKET, &[(39, 40), (41, 42)]);
        let mut v4 = PACKET;
        v4[0] = 0x45;
        let p = Ipv6Packet::new_checked(&v4[..]).unwrap();
        assert!(matches!(Ipv6Repr::parse(&p), Err(Error::Unsupported(_))));
    }

    #[test]
    fn solicited_node_addresses() {
        let ip: Ipv6Addr = "2001:db8:1::1:2345:6789".parse().unwrap();
        assert_eq!(
            solicited_node(ip),
            "ff02::1:ff45:6789".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            solicited_node_mac(ip),
            MacAddress([0x33, 0x33, 0xff, 0x45, 0x67, 0x89])
        );
    }
}
