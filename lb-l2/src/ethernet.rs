//! Ethernet II frames, with at most one IEEE 802.1Q tag.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 destination MAC (6 octets)                    |
//! +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                    source MAC (6 octets)                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  EtherType (0x8100 if tagged) | [PCP|DEI| VID ]  (if tagged)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | [inner EtherType] (if tagged) |  payload ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::view::{need, room};
use core::fmt;
use core::str::FromStr;

use crate::error::{Error, Result};
use crate::read_u16;

/// A 48-bit IEEE MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddress(pub [u8; 6]);

impl MacAddress {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: MacAddress = MacAddress([0xff; 6]);
    /// `00:00:00:00:00:00`, the "unknown" target hardware address of ARP requests.
    pub const ZERO: MacAddress = MacAddress([0; 6]);

    /// Builds an address from the first six bytes of `bytes`, `None` if there are fewer.
    #[inline]
    pub fn from_bytes(bytes: &[u8]) -> Option<MacAddress> {
        let b: [u8; 6] = bytes.get(..6)?.try_into().ok()?;
        Some(MacAddress(b))
    }
    /// The six octets.
    #[inline]
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }
    /// `ff:ff:ff:ff:ff:ff`.
    #[inline]
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }
    /// The group bit is set (broadcast included).
    #[inline]
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
    /// Neither multicast nor all zeros.
    #[inline]
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast() && *self != Self::ZERO
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddress {
    type Err = Error;
    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-` separators), hex digits in either case.
    #[inline]
    fn from_str(s: &str) -> Result<Self> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut out {
            let p = parts
                .next()
                .ok_or(Error::InvalidConfig("MAC address: too few octets"))?;
            if p.len() != 2 {
                return Err(Error::InvalidConfig(
                    "MAC address: octet is not two hex digits",
                ));
            }
            *byte = u8::from_str_radix(p, 16)
                .map_err(|_| Error::InvalidConfig("MAC address: not hexadecimal"))?;
        }
        if parts.next().is_some() {
            return Err(Error::InvalidConfig("MAC address: too many octets"));
        }
        Ok(MacAddress(out))
    }
}

/// An EtherType. Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    /// 0x0800.
    Ipv4,
    /// 0x0806.
    Arp,
    /// 0x8100, an IEEE 802.1Q tag follows.
    Vlan,
    /// 0x86DD.
    Ipv6,
    /// Anything else.
    Unknown(u16),
}

impl From<u16> for EtherType {
    #[inline]
    fn from(v: u16) -> Self {
        match v {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x8100 => EtherType::Vlan,
            0x86DD => EtherType::Ipv6,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    #[inline]
    fn from(v: EtherType) -> u16 {
        match v {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Vlan => 0x8100,
            EtherType::Ipv6 => 0x86DD,
            EtherType::Unknown(other) => other,
        }
    }
}

/// The tag control information of an IEEE 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// Priority code point (3 bits).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier (12 bits).
    pub vid: u16,
}

impl VlanTag {
    #[inline]
    fn from_tci(tci: u16) -> VlanTag {
        VlanTag {
            pcp: (tci >> 13) as u8,
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0fff,
        }
    }
    #[inline]
    fn tci(&self) -> u16 {
        (u16::from(self.pcp & 0x7) << 13) | (u16::from(self.dei) << 12) | (self.vid & 0x0fff)
    }
}

mod field {
    use crate::{Field, Rest};
    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: Rest = 14..;
    pub const TCI: Field = 14..16;
    pub const INNER_ETHERTYPE: Field = 16..18;
    pub const TAGGED_PAYLOAD: Rest = 18..;
}

/// Whether `ethertype` is a VLAN tag protocol identifier: 0x8100 (802.1Q), 0x88A8 (802.1ad)
/// or 0x9100 (pre-standard QinQ).
#[inline]
pub const fn is_vlan_tpid(ethertype: u16) -> bool {
    matches!(ethertype, 0x8100 | 0x88a8 | 0x9100)
}

/// Length of an untagged Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;
/// Length of a header with one 802.1Q tag.
pub const TAGGED_HEADER_LEN: usize = field::TAGGED_PAYLOAD.start;

crate::wire_view! {
    /// A zero-copy view of an Ethernet II frame.
    pub struct EthernetFrame;
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Checks the buffer holds the header, including the 802.1Q tag when the EtherType says so.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let got = self.buffer.as_ref().len();
        need(got, HEADER_LEN)?;
        if self.ethertype() == EtherType::Vlan {
            need(got, TAGGED_HEADER_LEN)?;
        }
        Ok(())
    }
    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> MacAddress {
        let d = self.buffer.as_ref();
        MacAddress([d[0], d[1], d[2], d[3], d[4], d[5]])
    }
    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> MacAddress {
        let d = &self.buffer.as_ref()[field::SOURCE];
        MacAddress([d[0], d[1], d[2], d[3], d[4], d[5]])
    }
    /// The outer EtherType (0x8100 for a tagged frame).
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        read_u16(self.buffer.as_ref(), field::ETHERTYPE).into()
    }
    /// Whether the outer EtherType is a VLAN tag protocol identifier (802.1Q 0x8100, 802.1ad
    /// 0x88A8, or the older QinQ 0x9100): the frame belongs to a VLAN, not to the untagged LAN.
    #[inline]
    pub fn is_vlan_tagged(&self) -> bool {
        is_vlan_tpid(read_u16(self.buffer.as_ref(), field::ETHERTYPE))
    }
    /// The 802.1Q tag, if the frame carries one.
    #[inline]
    pub fn vlan_tag(&self) -> Option<VlanTag> {
        (self.ethertype() == EtherType::Vlan)
            .then(|| VlanTag::from_tci(read_u16(self.buffer.as_ref(), field::TCI)))
    }
    /// The EtherType of the payload (the inner one for a tagged frame).
    #[inline]
    pub fn payload_ethertype(&self) -> EtherType {
        if self.ethertype() == EtherType::Vlan {
            read_u16(self.buffer.as_ref(), field::INNER_ETHERTYPE).into()
        } else {
            self.ethertype()
        }
    }
    /// Header length: 14, or 18 with a tag.
    #[inline]
    pub fn header_len(&self) -> usize {
        if self.ethertype() == EtherType::Vlan {
            TAGGED_HEADER_LEN
        } else {
            HEADER_LEN
        }
    }
    /// The payload after the header (and tag).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: MacAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }
    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: MacAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }
    /// Sets the outer EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, t: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(t).to_be_bytes());
    }
    /// Sets the tag and the inner EtherType (the outer one must be [`EtherType::Vlan`]).
    #[inline]
    pub fn set_vlan(&mut self, tag: VlanTag, inner: EtherType) {
        let b = self.buffer.as_mut();
        b[field::TCI].copy_from_slice(&tag.tci().to_be_bytes());
        b[field::INNER_ETHERTYPE].copy_from_slice(&u16::from(inner).to_be_bytes());
    }
    /// The payload, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let at = self.header_len();
        &mut self.buffer.as_mut()[at..]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for EthernetFrame<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EthernetII src={} dst={}",
            self.src_addr(),
            self.dst_addr()
        )?;
        if let Some(tag) = self.vlan_tag() {
            write!(f, " vlan={}", tag.vid)?;
        }
        write!(f, " type={:?}", self.payload_ethertype())
    }
}

/// The owned form of an Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct EthernetRepr {
    /// Source address.
    pub src_addr: MacAddress,
    /// Destination address.
    pub dst_addr: MacAddress,
    /// The payload's EtherType (never [`EtherType::Vlan`] after `parse`).
    pub ethertype: EtherType,
    /// The 802.1Q tag, if any.
    pub vlan: Option<VlanTag>,
}

impl EthernetRepr {
    /// An untagged header.
    #[inline]
    pub const fn new(src_addr: MacAddress, dst_addr: MacAddress, ethertype: EtherType) -> Self {
        EthernetRepr {
            src_addr,
            dst_addr,
            ethertype,
            vlan: None,
        }
    }
    /// The same header with the 802.1Q tag `vlan` (`None` for untagged). `EthernetRepr` is
    /// `non_exhaustive`, so other crates build a tagged header with `new(..).with_vlan(tag)`.
    #[inline]
    pub const fn with_vlan(self, vlan: Option<VlanTag>) -> Self {
        EthernetRepr { vlan, ..self }
    }
    /// Reads a checked frame. A second (stacked) tag is [`Error::Unsupported`].
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(frame: &EthernetFrame<&T>) -> Result<EthernetRepr> {
        frame.check_len()?;
        let ethertype = frame.payload_ethertype();
        if frame.vlan_tag().is_some() && ethertype == EtherType::Vlan {
            return Err(Error::Unsupported("stacked 802.1Q tags"));
        }
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype,
            vlan: frame.vlan_tag(),
        })
    }
    /// Reads the header of the frame `bytes` and returns it with the payload, when the
    /// frame carries `ethertype`; a frame of another protocol is [`Error::Unsupported`].
    #[inline]
    pub fn parse_carrying(bytes: &[u8], ethertype: EtherType) -> Result<(EthernetRepr, &[u8])> {
        let repr = EthernetRepr::parse(&EthernetFrame::new_checked(bytes)?)?;
        if repr.ethertype != ethertype {
            return Err(Error::Unsupported("another EtherType"));
        }
        // `parse` checked the header's length: the payload starts inside `bytes` (or at its
        // end, an empty payload the protocol's own check then refuses).
        Ok((repr, bytes.get(repr.buffer_len()..).unwrap_or_default()))
    }
    /// Header length: 14, or 18 with a tag.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        if self.vlan.is_some() {
            TAGGED_HEADER_LEN
        } else {
            HEADER_LEN
        }
    }
    /// Writes the header; the buffer must hold at least `buffer_len()` bytes.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) -> Result<()> {
        room(frame.buffer.as_ref().len(), self.buffer_len())?;
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        match self.vlan {
            Some(tag) => {
                frame.set_ethertype(EtherType::Vlan);
                frame.set_vlan(tag, self.ethertype);
            }
            None => frame.set_ethertype(self.ethertype),
        }
        Ok(())
    }

    /// Writes this header, carrying `ethertype`, into the first `len` bytes of `buf` (the
    /// whole frame) and returns the rest of those `len` bytes, where the payload goes.
    #[inline]
    pub fn emit_carrying<'b>(
        &self,
        buf: &'b mut [u8],
        ethertype: EtherType,
        len: usize,
    ) -> Result<&'b mut [u8]> {
        let got = buf.len();
        let (header, payload) = buf
            .get_mut(..len)
            .and_then(|frame| frame.split_at_mut_checked(self.buffer_len()))
            .ok_or(Error::BufferTooSmall { needed: len, got })?;
        EthernetRepr { ethertype, ..*self }.emit(&mut EthernetFrame::new_unchecked(header))?;
        Ok(payload)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Built by hand: an untagged broadcast header with EtherType ARP (any type works), then two
    // payload bytes.
    static UNTAGGED: [u8; 16] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x08, 0x06, 0xaa,
        0xbb,
    ];
    // The same with an 802.1Q tag: PCP 5, DEI 1, VID 100.
    static TAGGED: [u8; 19] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x81, 0x00, 0xb0,
        0x64, 0x08, 0x06, 0xcc,
    ];

    #[test]
    fn deconstruct_untagged() {
        let f = EthernetFrame::new_checked(&UNTAGGED[..]).unwrap();
        assert_eq!(f.dst_addr(), MacAddress::BROADCAST);
        assert_eq!(f.src_addr(), MacAddress([2, 0, 0, 0, 0, 0x0a]));
        assert_eq!(f.ethertype(), EtherType::Arp);
        assert_eq!(f.vlan_tag(), None);
        assert_eq!(f.payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn deconstruct_tagged() {
        let f = EthernetFrame::new_checked(&TAGGED[..]).unwrap();
        assert_eq!(f.ethertype(), EtherType::Vlan);
        assert_eq!(
            f.vlan_tag(),
            Some(VlanTag {
                pcp: 5,
                dei: true,
                vid: 100
            })
        );
        assert_eq!(f.payload_ethertype(), EtherType::Arp);
        assert_eq!(f.payload(), &[0xcc]);
        assert!(f.is_vlan_tagged());
        assert!(
            !EthernetFrame::new_checked(&UNTAGGED[..])
                .unwrap()
                .is_vlan_tagged()
        );
        let mut s_tag = TAGGED;
        s_tag[12] = 0x88;
        s_tag[13] = 0xa8;
        assert!(
            EthernetFrame::new_checked(&s_tag[..])
                .unwrap()
                .is_vlan_tagged()
        );
        assert_eq!(
            f.to_string(),
            "EthernetII src=02:00:00:00:00:0a dst=ff:ff:ff:ff:ff:ff vlan=100 type=Arp"
        );
    }

    #[test]
    fn parse_and_emit_both_forms() {
        for bytes in [&UNTAGGED[..], &TAGGED[..]] {
            let repr = EthernetRepr::parse(&EthernetFrame::new_checked(bytes).unwrap()).unwrap();
            let mut out = vec![0xa5; repr.buffer_len()];
            repr.emit(&mut EthernetFrame::new_unchecked(&mut out[..]))
                .unwrap();
            assert_eq!(&out[..], &bytes[..repr.buffer_len()]);
        }
    }

    #[test]
    fn short_and_stacked_frames_are_errors() {
        let check = |b: &[u8]| EthernetFrame::new_checked(b).map(drop);
        crate::testing::truncations(check, &UNTAGGED, &[(13, 14)]);
        crate::testing::truncations(check, &TAGGED, &[(17, 18)]);
        let mut qinq = TAGGED;
        qinq[16] = 0x81;
        qinq[17] = 0x00;
        let f = EthernetFrame::new_checked(&qinq[..]).unwrap();
        assert!(matches!(
            EthernetRepr::parse(&f),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn emit_into_short_buffer_is_an_error() {
        let repr = EthernetRepr::new(MacAddress::ZERO, MacAddress::BROADCAST, EtherType::Arp);
        let mut out = [0u8; 10];
        assert!(matches!(
            repr.emit(&mut EthernetFrame::new_unchecked(&mut out[..])),
            Err(Error::BufferTooSmall {
                needed: 14,
                got: 10
            })
        ));
    }

    #[test]
    fn mac_address_text() {
        let m: MacAddress = "02:00:00:00:00:0B".parse().unwrap();
        assert_eq!(m.to_string(), "02:00:00:00:00:0b");
        assert!(m.is_unicast());
        assert!(MacAddress::BROADCAST.is_multicast());
        assert!("02:00:00:00:00".parse::<MacAddress>().is_err());
        assert!("02:00:00:00:00:0b:0c".parse::<MacAddress>().is_err());
        assert!("02:00:00:00:00:zz".parse::<MacAddress>().is_err());
    }
}
