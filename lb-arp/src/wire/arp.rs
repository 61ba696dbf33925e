//! ARP (RFC 826) for Ethernet and IPv4, with the RFC 5227 probe/announcement forms.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      hardware type (HTYPE)    |      protocol type (PTYPE)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  HLEN         |  PLEN         |        operation (OPER)       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | sender hardware address (HLEN) | sender protocol address (PLEN)
//! | target hardware address (HLEN) | target protocol address (PLEN)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use core::fmt;
use lb_l2::view::{need, room};
use std::net::Ipv4Addr;

use super::{EtherType, Field, MacAddress, read_u16};
use crate::error::{Error, Result};

/// The ARP hardware type. Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HardwareType {
    /// 1, Ethernet.
    Ethernet,
    /// Anything else.
    Unknown(u16),
}

impl From<u16> for HardwareType {
    #[inline]
    fn from(v: u16) -> Self {
        if v == 1 {
            HardwareType::Ethernet
        } else {
            HardwareType::Unknown(v)
        }
    }
}

impl From<HardwareType> for u16 {
    #[inline]
    fn from(v: HardwareType) -> u16 {
        match v {
            HardwareType::Ethernet => 1,
            HardwareType::Unknown(v) => v,
        }
    }
}

/// The ARP operation. Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    /// 1.
    Request,
    /// 2.
    Reply,
    /// Anything else (RARP, InARP, ...).
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    #[inline]
    fn from(v: u16) -> Self {
        match v {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    #[inline]
    fn from(v: ArpOperation) -> u16 {
        match v {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(v) => v,
        }
    }
}

mod field {
    #![allow(non_snake_case)]
    use super::Field;

    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;

    #[inline]
    pub const fn SHA(hlen: u8, _plen: u8) -> Field {
        let start = OPER.end;
        start..(start + hlen as usize)
    }
    #[inline]
    pub const fn SPA(hlen: u8, plen: u8) -> Field {
        let start = SHA(hlen, plen).end;
        start..(start + plen as usize)
    }
    #[inline]
    pub const fn THA(hlen: u8, plen: u8) -> Field {
        let start = SPA(hlen, plen).end;
        start..(start + hlen as usize)
    }
    #[inline]
    pub const fn TPA(hlen: u8, plen: u8) -> Field {
        let start = THA(hlen, plen).end;
        start..(start + plen as usize)
    }
}

lb_l2::wire_view! {
    /// A zero-copy view of an ARP packet (any hardware and protocol type).
    pub struct ArpPacket;
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Checks the buffer holds the fixed header and the four addresses its lengths declare.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let got = self.buffer.as_ref().len();
        need(got, field::OPER.end)?;
        need(
            got,
            field::TPA(self.hardware_len(), self.protocol_len()).end,
        )
    }
    /// HTYPE.
    #[inline]
    pub fn hardware_type(&self) -> HardwareType {
        read_u16(self.buffer.as_ref(), field::HTYPE).into()
    }
    /// PTYPE (an EtherType).
    #[inline]
    pub fn protocol_type(&self) -> EtherType {
        read_u16(self.buffer.as_ref(), field::PTYPE).into()
    }
    /// HLEN.
    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }
    /// PLEN.
    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }
    /// OPER.
    #[inline]
    pub fn operation(&self) -> ArpOperation {
        read_u16(self.buffer.as_ref(), field::OPER).into()
    }
    /// Sender hardware address (HLEN bytes).
    #[inline]
    pub fn source_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::SHA(self.hardware_len(), self.protocol_len())]
    }
    /// Sender protocol address (PLEN bytes).
    #[inline]
    pub fn source_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::SPA(self.hardware_len(), self.protocol_len())]
    }
    /// Target hardware address (HLEN bytes).
    #[inline]
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::THA(self.hardware_len(), self.protocol_len())]
    }
    /// Target protocol address (PLEN bytes).
    #[inline]
    pub fn target_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::TPA(self.hardware_len(), self.protocol_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets HTYPE.
    #[inline]
    pub fn set_hardware_type(&mut self, v: HardwareType) {
        self.buffer.as_mut()[field::HTYPE].copy_from_slice(&u16::from(v).to_be_bytes());
    }
    /// Sets PTYPE.
    #[inline]
    pub fn set_protocol_type(&mut self, v: EtherType) {
        self.buffer.as_mut()[field::PTYPE].copy_from_slice(&u16::from(v).to_be_bytes());
    }
    /// Sets HLEN.
    #[inline]
    pub fn set_hardware_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::HLEN] = v;
    }
    /// Sets PLEN.
    #[inline]
    pub fn set_protocol_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::PLEN] = v;
    }
    /// Sets OPER.
    #[inline]
    pub fn set_operation(&mut self, v: ArpOperation) {
        self.buffer.as_mut()[field::OPER].copy_from_slice(&u16::from(v).to_be_bytes());
    }
    /// Sets the sender hardware address (`v` must be HLEN bytes).
    #[inline]
    pub fn set_source_hardware_addr(&mut self, v: &[u8]) {
        let r = field::SHA(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(v);
    }
    /// Sets the sender protocol address (`v` must be PLEN bytes).
    #[inline]
    pub fn set_source_protocol_addr(&mut self, v: &[u8]) {
        let r = field::SPA(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(v);
    }
    /// Sets the target hardware address (`v` must be HLEN bytes).
    #[inline]
    pub fn set_target_hardware_addr(&mut self, v: &[u8]) {
        let r = field::THA(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(v);
    }
    /// Sets the target protocol address (`v` must be PLEN bytes).
    #[inline]
    pub fn set_target_protocol_addr(&mut self, v: &[u8]) {
        let r = field::TPA(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(v);
    }
}

/// What an Ethernet/IPv4 ARP packet means, following RFC 826, RFC 5227 and RFC 5944 §4.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpKind {
    /// "Who has target? Tell sender."
    Request,
    /// "Target: sender is at this MAC."
    Reply,
    /// RFC 5227 probe: a request with sender IP 0.0.0.0.
    Probe,
    /// Gratuitous request (RFC 5227 announcement): sender IP = target IP.
    GratuitousRequest,
    /// Gratuitous reply: a reply with sender IP = target IP.
    GratuitousReply,
    /// An operation other than request or reply.
    Other,
}

/// The owned form of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ArpRepr {
    /// OPER.
    pub operation: ArpOperation,
    /// SHA.
    pub source_hardware_addr: MacAddress,
    /// SPA.
    pub source_protocol_addr: Ipv4Addr,
    /// THA.
    pub target_hardware_addr: MacAddress,
    /// TPA.
    pub target_protocol_addr: Ipv4Addr,
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const ETHERNET_IPV4_LEN: usize = field::TPA(6, 4).end;

#[inline]
fn ipv4(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

impl ArpRepr {
    /// "Who has `target_ip`? Tell `sender_ip` at `sender_mac`" (THA zero, as RFC 826 leaves it).
    #[inline]
    pub const fn request(sender_mac: MacAddress, sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Self {
        ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: sender_mac,
            source_protocol_addr: sender_ip,
            target_hardware_addr: MacAddress::ZERO,
            target_protocol_addr: target_ip,
        }
    }
    /// The answer to `request` saying that its target address is at `mac`.
    #[inline]
    pub const fn reply_to(request: &ArpRepr, mac: MacAddress) -> Self {
        ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: mac,
            source_protocol_addr: request.target_protocol_addr,
            target_hardware_addr: request.source_hardware_addr,
            target_protocol_addr: request.source_protocol_addr,
        }
    }
    /// Gratuitous ARP, request form (RFC 5227 §2.3 announcement): SPA = TPA = `ip`, THA zero.
    #[inline]
    pub const fn gratuitous_request(mac: MacAddress, ip: Ipv4Addr) -> Self {
        Self::request(mac, ip, ip)
    }
    /// Gratuitous ARP, reply form (RFC 5944 §4.6): SPA = TPA = `ip`, THA = `mac`.
    #[inline]
    pub const fn gratuitous_reply(mac: MacAddress, ip: Ipv4Addr) -> Self {
        ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: mac,
            source_protocol_addr: ip,
            target_hardware_addr: mac,
            target_protocol_addr: ip,
        }
    }
    /// RFC 5227 §2.1.1 probe: SPA 0.0.0.0, THA zero, TPA the address being probed.
    #[inline]
    pub const fn probe(mac: MacAddress, ip: Ipv4Addr) -> Self {
        Self::request(mac, Ipv4Addr::UNSPECIFIED, ip)
    }

    /// Classifies the packet.
    #[inline]
    pub fn kind(&self) -> ArpKind {
        let same = self.source_protocol_addr == self.target_protocol_addr;
        match self.operation {
            ArpOperation::Request if self.source_protocol_addr.is_unspecified() => ArpKind::Probe,
            ArpOperation::Request if same => ArpKind::GratuitousRequest,
            ArpOperation::Request => ArpKind::Request,
            ArpOperation::Reply if same => ArpKind::GratuitousReply,
            ArpOperation::Reply => ArpKind::Reply,
            ArpOperation::Unknown(_) => ArpKind::Other,
        }
    }

    /// Reads a checked packet. Anything but Ethernet (6-byte) / IPv4 (4-byte) is
    /// [`Error::Unsupported`].
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &ArpPacket<&T>) -> Result<ArpRepr> {
        packet.check_len()?;
        if packet.hardware_type() != HardwareType::Ethernet || packet.hardware_len() != 6 {
            return Err(Error::Unsupported("ARP hardware is not Ethernet"));
        }
        if packet.protocol_type() != EtherType::Ipv4 || packet.protocol_len() != 4 {
            return Err(Error::Unsupported("ARP protocol is not IPv4"));
        }
        let mac = |b: &[u8]| MacAddress::from_bytes(b).unwrap_or_default();
        Ok(ArpRepr {
            operation: packet.operation(),
            source_hardware_addr: mac(packet.source_hardware_addr()),
            source_protocol_addr: ipv4(packet.source_protocol_addr()),
            target_hardware_addr: mac(packet.target_hardware_addr()),
            target_protocol_addr: ipv4(packet.target_protocol_addr()),
        })
    }

    /// 28 bytes.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        ETHERNET_IPV4_LEN
    }

    /// Writes the packet; the buffer must hold at least `buffer_len()` bytes.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) -> Result<()> {
        room(packet.buffer.as_ref().len(), ETHERNET_IPV4_LEN)?;
        packet.set_hardware_type(HardwareType::Ethernet);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(&self.source_hardware_addr.0);
        packet.set_source_protocol_addr(&self.source_protocol_addr.octets());
        packet.set_target_hardware_addr(&self.target_hardware_addr.0);
        packet.set_target_protocol_addr(&self.target_protocol_addr.octets());
        Ok(())
    }
}

impl fmt::Display for ArpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            ArpKind::Request => write!(
                f,
                "ARP who-has {} tell {} ({})",
                self.target_protocol_addr, self.source_protocol_addr, self.source_hardware_addr
            ),
            ArpKind::Probe => write!(
                f,
                "ARP probe {} from {}",
                self.target_protocol_addr, self.source_hardware_addr
            ),
            _ => write!(
                f,
                "ARP {:?} {} is-at {} (to {} {})",
                self.kind(),
                self.source_protocol_addr,
                self.source_hardware_addr,
                self.target_protocol_addr,
                self.target_hardware_addr
            ),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Built by hand from RFC 826: "who has 192.0.2.100? tell 192.0.2.10 (02:00:00:00:00:0a)",
    // THA ff:ff:ff:ff:ff:ff as iputils arping fills it. Captured frames are in tests/captured.rs.
    static REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0xc0,
        0x00, 0x02, 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x64,
    ];

    fn client() -> MacAddress {
        MacAddress([2, 0, 0, 0, 0, 0x0a])
    }

    #[test]
    fn deconstruct() {
        let p = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(p.hardware_type(), HardwareType::Ethernet);
        assert_eq!(p.protocol_type(), EtherType::Ipv4);
        assert_eq!((p.hardware_len(), p.protocol_len()), (6, 4));
        assert_eq!(p.operation(), ArpOperation::Request);
        assert_eq!(p.source_hardware_addr(), &client().0);
        assert_eq!(p.source_protocol_addr(), &[192, 0, 2, 10]);
        assert_eq!(p.target_hardware_addr(), &[0xff; 6]);
        assert_eq!(p.target_protocol_addr(), &[192, 0, 2, 100]);
    }

    #[test]
    fn construct() {
        let mut out = [0xa5; 28];
        let mut p = ArpPacket::new_unchecked(&mut out[..]);
        p.set_hardware_type(HardwareType::Ethernet);
        p.set_protocol_type(EtherType::Ipv4);
        p.set_hardware_len(6);
        p.set_protocol_len(4);
        p.set_operation(ArpOperation::Request);
        p.set_source_hardware_addr(&client().0);
        p.set_source_protocol_addr(&[192, 0, 2, 10]);
        p.set_target_hardware_addr(&[0xff; 6]);
        p.set_target_protocol_addr(&[192, 0, 2, 100]);
        assert_eq!(&out[..], &REQUEST[..]);
    }

    fn repr() -> ArpRepr {
        ArpRepr {
            target_hardware_addr: MacAddress::BROADCAST,
            ..ArpRepr::request(
                client(),
                Ipv4Addr::new(192, 0, 2, 10),
                Ipv4Addr::new(192, 0, 2, 100),
            )
        }
    }

    #[test]
    fn parse() {
        let p = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(ArpRepr::parse(&p).unwrap(), repr());
        assert_eq!(repr().kind(), ArpKind::Request);
    }

    #[test]
    fn emit() {
        let mut out = [0xa5; 28];
        repr()
            .emit(&mut ArpPacket::new_unchecked(&mut out[..]))
            .unwrap();
        assert_eq!(&out[..], &REQUEST[..]);
    }

    #[test]
    fn kinds() {
        let vip = Ipv4Addr::new(192, 0, 2, 100);
        assert_eq!(
            ArpRepr::gratuitous_request(client(), vip).kind(),
            ArpKind::GratuitousRequest
        );
        assert_eq!(
            ArpRepr::gratuitous_reply(client(), vip).kind(),
            ArpKind::GratuitousReply
        );
        assert_eq!(ArpRepr::probe(client(), vip).kind(), ArpKind::Probe);
        let reply = ArpRepr::reply_to(&repr(), MacAddress([2, 0, 0, 0, 0, 0x0b]));
        assert_eq!(reply.kind(), ArpKind::Reply);
        assert_eq!(reply.source_protocol_addr, vip);
        assert_eq!(reply.target_hardware_addr, client());
        let other = ArpRepr {
            operation: ArpOperation::Unknown(3),
            ..repr()
        };
        assert_eq!(other.kind(), ArpKind::Other);
    }

    #[test]
    fn truncated_and_unsupported() {
        // HLEN 255 / PLEN 255 declares 8 + 2 * 510 bytes: a length error, not a panic.
        let mut big = REQUEST;
        big[4] = 0xff;
        big[5] = 0xff;
        let check = |b: &[u8]| ArpPacket::new_checked(b).map(drop);
        lb_l2::testing::truncations(check, &big, &[(28, 1028)]);
        lb_l2::testing::truncations(check, &REQUEST, &[(7, 8), (27, 28)]);
        let mut ipv6 = REQUEST;
        ipv6[2] = 0x86;
        ipv6[3] = 0xdd;
        let p = ArpPacket::new_checked(&ipv6[..]).unwrap();
        assert!(matches!(ArpRepr::parse(&p), Err(Error::Unsupported(_))));
    }
}
