//! ICMPv6 (RFC 4443) header and its checksum over the IPv6 pseudo-header (RFC 8200 §8.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Message Body                          |
//! ```

use lb_l2::view::need;
use std::net::Ipv6Addr;

use super::{Field, Rest, read_u16};
use crate::error::Result;

/// ICMPv6 message types this crate names. Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv6Type {
    /// 135.
    NeighborSolicit,
    /// 136.
    NeighborAdvert,
    /// Anything else.
    Unknown(u8),
}

impl From<u8> for Icmpv6Type {
    #[inline]
    fn from(v: u8) -> Self {
        match v {
            135 => Icmpv6Type::NeighborSolicit,
            136 => Icmpv6Type::NeighborAdvert,
            other => Icmpv6Type::Unknown(other),
        }
    }
}

impl From<Icmpv6Type> for u8 {
    #[inline]
    fn from(v: Icmpv6Type) -> u8 {
        match v {
            Icmpv6Type::NeighborSolicit => 135,
            Icmpv6Type::NeighborAdvert => 136,
            Icmpv6Type::Unknown(v) => v,
        }
    }
}

pub(super) mod field {
    use super::{Field, Rest};
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    /// NS/NA: flags (NA) or reserved (NS).
    pub const FLAGS: Field = 4..8;
    /// NS/NA: target address.
    pub const TARGET: Field = 8..24;
    /// NS/NA: options.
    pub const OPTIONS: Rest = 24..;
}

/// Length of the ICMPv6 header (type, code, checksum).
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// The Internet checksum of `message` (an ICMPv6 message) over the IPv6 pseudo-header for
/// `src` → `dst`, with the message's own checksum field taken as zero. Write the result into the
/// checksum field to send; a received message is valid when this equals the field.
#[inline]
pub fn checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |bytes: &[u8]| {
        let mut chunks = bytes.chunks_exact(2);
        for c in &mut chunks {
            sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u64::from(u16::from_be_bytes([*last, 0]));
        }
    };
    add(&src.octets());
    add(&dst.octets());
    // Upper-layer length (32 bits) and next header (zero-padded to 32 bits).
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    add(&len.to_be_bytes());
    add(&[0, 0, 0, super::IPPROTO_ICMPV6]);
    // The message with its checksum field (bytes 2..4) skipped, i.e. counted as zero.
    add(message.get(..field::CHECKSUM.start).unwrap_or(message));
    add(message.get(field::CHECKSUM.end..).unwrap_or(&[]));
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

lb_l2::wire_view! {
    /// A zero-copy view of an ICMPv6 message.
    pub struct Icmpv6Packet;
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Checks the buffer holds the 4-byte header, and the 24 bytes of an NS or NA (type, code,
    /// checksum, flags, target) when the type says so.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let got = self.buffer.as_ref().len();
        need(got, HEADER_LEN)?;
        match self.msg_type() {
            Icmpv6Type::NeighborSolicit | Icmpv6Type::NeighborAdvert => {
                need(got, field::OPTIONS.start)
            }
            _ => Ok(()),
        }
    }
    /// Length of the underlying buffer.
    #[inline]
    pub(super) fn buffer_len_of(&self) -> usize {
        self.buffer.as_ref().len()
    }
    /// Message type.
    #[inline]
    pub fn msg_type(&self) -> Icmpv6Type {
        self.buffer.as_ref()[field::TYPE].into()
    }
    /// Code.
    #[inline]
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }
    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }
    /// Whether the checksum field matches the message over the pseudo-header for `src` → `dst`.
    #[inline]
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        checksum(src, dst, self.buffer.as_ref()) == self.checksum()
    }
    /// NS/NA: the 32 bits after the checksum (NA flags; reserved in NS).
    #[inline]
    pub fn ndisc_flags(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::FLAGS];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    /// NS/NA: the target address.
    #[inline]
    pub fn target_addr(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::TARGET]);
        Ipv6Addr::from(a)
    }
    /// NS/NA: the options area.
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Sets the type.
    #[inline]
    pub fn set_msg_type(&mut self, v: Icmpv6Type) {
        self.buffer.as_mut()[field::TYPE] = v.into();
    }
    /// Sets the code.
    #[inline]
    pub fn set_code(&mut self, v: u8) {
        self.buffer.as_mut()[field::CODE] = v;
    }
    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }
    /// Computes and writes the checksum for `src` → `dst` (over the whole buffer).
    #[inline]
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        let c = checksum(src, dst, self.buffer.as_ref());
        self.set_checksum(c);
    }
    /// NS/NA: sets the flags word.
    #[inline]
    pub fn set_ndisc_flags(&mut self, v: u32) {
        self.buffer.as_mut()[field::FLAGS].copy_from_slice(&v.to_be_bytes());
    }
    /// NS/NA: sets the target.
    #[inline]
    pub fn set_target_addr(&mut self, v: Ipv6Addr) {
        self.buffer.as_mut()[field::TARGET].copy_from_slice(&v.octets());
    }
    /// NS/NA: the options area, mutably.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::OPTIONS]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_a_known_message() {
        // An Echo Request (type 128) from ::1 to ::1 with id 0 and seq 0, checked by summing the
        // pseudo-header by hand: 1 + 1 + 8 (length) + 58 + 0x8000 = 0x8044, so the checksum is
        // !0x8044 = 0x7fbb.
        let msg = [0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            checksum(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, &msg),
            0x7fbb
        );
        let mut filled = msg;
        let mut p = Icmpv6Packet::new_unchecked(&mut filled[..]);
        p.fill_checksum(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
        let p = Icmpv6Packet::new_checked(&filled[..]).unwrap();
        assert_eq!(p.checksum(), 0x7fbb);
        assert!(p.verify_checksum(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST));
        assert!(!p.verify_checksum(Ipv6Addr::UNSPECIFIED, Ipv6Addr::LOCALHOST));
    }

    #[test]
    fn odd_lengths_pad_with_zero() {
        let a = checksum(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, &[1, 2, 0, 0, 5]);
        let b = checksum(
            Ipv6Addr::LOCALHOST,
            Ipv6Addr::LOCALHOST,
            &[1, 2, 0, 0, 5, 0],
        );
        // Same words, but the pseudo-header length differs by one.
        assert_eq!(a.wrapping_sub(b), 1);
    }

    #[test]
    fn short_ndisc_messages_are_truncated() {
        assert!(Icmpv6Packet::new_checked(&[0x80, 0, 0][..]).is_err());
        assert!(Icmpv6Packet::new_checked(&[0x80, 0, 0, 0][..]).is_ok());
        let check = |b: &[u8]| Icmpv6Packet::new_checked(b).map(drop);
        lb_l2::testing::truncations(check, &[135u8; 23], &[(23, 24)]);
    }
}
