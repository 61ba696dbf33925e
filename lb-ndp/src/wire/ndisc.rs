//! Neighbor Solicitation and Neighbor Advertisement (RFC 4861 §4.3, §4.4) with the link-layer
//! address options (§4.6.1), and whole NDP frames validated as §7.1 requires.
//!
//! ```text
//! Neighbor Solicitation                      Neighbor Advertisement
//! +-------+-------+---------------+          +-------+-------+---------------+
//! | 135   | 0     |   Checksum    |          | 136   | 0     |   Checksum    |
//! +-------+-------+---------------+          +-+-+-+---------+---------------+
//! |           Reserved            |          |R|S|O|        Reserved         |
//! +-------------------------------+          +-+-+-+-------------------------+
//! |     Target Address (16)       |          |     Target Address (16)       |
//! +-------------------------------+          +-------------------------------+
//! | Options: Source LL addr ...   |          | Options: Target LL addr ...   |
//!
//! Option: | Type (1 = source, 2 = target) | Length (units of 8 octets) | value ...
//! ```

use core::fmt;
use lb_l2::view::room;
use std::net::Ipv6Addr;

use super::icmpv6::{self, Icmpv6Packet, Icmpv6Type};
use super::ipv6::{self, IPPROTO_ICMPV6, Ipv6Packet, Ipv6Repr, solicited_node};
use super::{EtherType, EthernetRepr, MacAddress};
use crate::error::{Error, Result};

const OPT_SOURCE_LLADDR: u8 = 1;
const OPT_TARGET_LLADDR: u8 = 2;
/// An Ethernet link-layer address option: type, length 1, six octets.
const LLADDR_OPT_LEN: usize = 8;
/// Type, code, checksum, flags/reserved, target.
const NDISC_LEN: usize = icmpv6::field::OPTIONS.start;

const FLAG_ROUTER: u32 = 0x8000_0000;
const FLAG_SOLICITED: u32 = 0x4000_0000;
const FLAG_OVERRIDE: u32 = 0x2000_0000;

/// The R, S and O flags of a Neighbor Advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NeighborFlags {
    /// R: the sender is a router.
    pub router: bool,
    /// S: sent in answer to a solicitation.
    pub solicited: bool,
    /// O: override an existing cache entry.
    pub override_: bool,
}

impl NeighborFlags {
    #[inline]
    fn from_bits(v: u32) -> Self {
        NeighborFlags {
            router: v & FLAG_ROUTER != 0,
            solicited: v & FLAG_SOLICITED != 0,
            override_: v & FLAG_OVERRIDE != 0,
        }
    }
    #[inline]
    fn bits(&self) -> u32 {
        (if self.router { FLAG_ROUTER } else { 0 })
            | (if self.solicited { FLAG_SOLICITED } else { 0 })
            | (if self.override_ { FLAG_OVERRIDE } else { 0 })
    }
}

/// An NS or NA message (the ICMPv6 part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NdiscRepr {
    /// Neighbor Solicitation.
    NeighborSolicit {
        /// The address being resolved.
        target_addr: Ipv6Addr,
        /// Source link-layer address option, if present.
        lladdr: Option<MacAddress>,
    },
    /// Neighbor Advertisement.
    NeighborAdvert {
        /// R/S/O.
        flags: NeighborFlags,
        /// The address advertised.
        target_addr: Ipv6Addr,
        /// Target link-layer address option, if present.
        lladdr: Option<MacAddress>,
    },
}

impl NdiscRepr {
    /// The target address.
    #[inline]
    pub fn target_addr(&self) -> Ipv6Addr {
        match *self {
            NdiscRepr::NeighborSolicit { target_addr, .. }
            | NdiscRepr::NeighborAdvert { target_addr, .. } => target_addr,
        }
    }
    /// The link-layer address option (source for NS, target for NA).
    #[inline]
    pub fn lladdr(&self) -> Option<MacAddress> {
        match *self {
            NdiscRepr::NeighborSolicit { lladdr, .. }
            | NdiscRepr::NeighborAdvert { lladdr, .. } => lladdr,
        }
    }

    /// Reads an NS or NA after its length is checked: code 0, target not multicast, every option
    /// of non-zero length and inside the message (RFC 4861 §7.1.1, §7.1.2). Unknown options are
    /// skipped by their length; a link-layer option for another link type is ignored. The
    /// checksum and the IPv6-level rules are checked by [`NdpFrameRepr::parse`].
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Icmpv6Packet<&T>) -> Result<NdiscRepr> {
        packet.check_len()?;
        let msg_type = packet.msg_type();
        if !matches!(
            msg_type,
            Icmpv6Type::NeighborSolicit | Icmpv6Type::NeighborAdvert
        ) {
            return Err(Error::Unsupported("ICMPv6 type is not NS or NA"));
        }
        if packet.code() != 0 {
            return Err(Error::Invalid("ICMPv6 code is not 0"));
        }
        let target_addr = packet.target_addr();
        if target_addr.is_multicast() {
            return Err(Error::Invalid("target address is multicast"));
        }
        let wanted = if msg_type == Icmpv6Type::NeighborSolicit {
            OPT_SOURCE_LLADDR
        } else {
            OPT_TARGET_LLADDR
        };
        let mut lladdr = None;
        let mut opts = packet.options();
        while !opts.is_empty() {
            let [ty, units, ..] = *opts else {
                return Err(Error::Invalid("truncated option"));
            };
            let len = usize::from(units) * 8;
            if len == 0 {
                return Err(Error::Invalid("option with length 0"));
            }
            let Some(opt) = opts.get(..len) else {
                return Err(Error::Invalid("option runs past the message"));
            };
            if ty == wanted && len == LLADDR_OPT_LEN {
                lladdr = MacAddress::from_bytes(&opt[2..]);
            }
            opts = &opts[len..];
        }
        Ok(match msg_type {
            Icmpv6Type::NeighborSolicit => NdiscRepr::NeighborSolicit {
                target_addr,
                lladdr,
            },
            _ => NdiscRepr::NeighborAdvert {
                flags: NeighborFlags::from_bits(packet.ndisc_flags()),
                target_addr,
                lladdr,
            },
        })
    }

    /// 24 bytes, plus 8 with a link-layer address option.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        let lladdr = match self {
            NdiscRepr::NeighborSolicit { lladdr, .. }
            | NdiscRepr::NeighborAdvert { lladdr, .. } => lladdr,
        };
        NDISC_LEN + if lladdr.is_some() { LLADDR_OPT_LEN } else { 0 }
    }

    /// Writes the message with a zero checksum (see [`Icmpv6Packet::fill_checksum`]); the
    /// buffer must hold at least `buffer_len()` bytes.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv6Packet<T>) -> Result<()> {
        room(packet.buffer_len_of(), self.buffer_len())?;
        let (ty, flags, opt) = match *self {
            NdiscRepr::NeighborSolicit { .. } => {
                (Icmpv6Type::NeighborSolicit, 0, OPT_SOURCE_LLADDR)
            }
            NdiscRepr::NeighborAdvert { flags, .. } => {
                (Icmpv6Type::NeighborAdvert, flags.bits(), OPT_TARGET_LLADDR)
            }
        };
        packet.set_msg_type(ty);
        packet.set_code(0);
        packet.set_checksum(0);
        packet.set_ndisc_flags(flags);
        packet.set_target_addr(self.target_addr());
        if let Some(mac) = self.lladdr() {
            let o = &mut packet.options_mut()[..LLADDR_OPT_LEN];
            o[0] = opt;
            o[1] = 1;
            o[2..].copy_from_slice(&mac.0);
        }
        Ok(())
    }
}

impl fmt::Display for NdiscRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NdiscRepr::NeighborSolicit {
                target_addr,
                lladdr,
            } => {
                write!(f, "NS who-has {target_addr}")?;
                if let Some(m) = lladdr {
                    write!(f, " (source lladdr {m})")?;
                }
                Ok(())
            }
            NdiscRepr::NeighborAdvert {
                flags,
                target_addr,
                lladdr,
            } => {
                write!(f, "NA {target_addr}")?;
                if let Some(m) = lladdr {
                    write!(f, " is-at {m}")?;
                }
                let NeighborFlags {
                    router,
                    solicited,
                    override_,
                } = *flags;
                write!(
                    f,
                    " [R={} S={} O={}]",
                    u8::from(router),
                    u8::from(solicited),
                    u8::from(override_)
                )
            }
        }
    }
}

/// An Ethernet frame carrying an IPv6 NS or NA, validated as RFC 4861 §7.1 requires.
///
/// The IPv6 hop limit is always 255 (a frame with another is invalid and `emit` writes 255);
/// traffic class and flow label are zero on emit and ignored on parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NdpFrameRepr {
    /// The link-layer header.
    pub ethernet: EthernetRepr,
    /// IPv6 source.
    pub src_addr: Ipv6Addr,
    /// IPv6 destination.
    pub dst_addr: Ipv6Addr,
    /// The NS or NA.
    pub message: NdiscRepr,
}

impl NdpFrameRepr {
    /// Parses and validates a frame. Errors say why it must be discarded: not IPv6 NS/NA
    /// ([`Error::Unsupported`]), broken lengths ([`Error::Truncated`]), a bad checksum
    /// ([`Error::Checksum`]) or a §7.1 rule ([`Error::Invalid`]).
    // Not `#[inline]`: the views it reads are, so this is one function; inlined into a
    // caller as well (the responder's handle_frame), it made that caller slower.
    pub fn parse(bytes: &[u8]) -> Result<NdpFrameRepr> {
        let (ethernet, payload) = EthernetRepr::parse_carrying(bytes, EtherType::Ipv6)?;
        let ip = Ipv6Packet::new_checked(payload)?;
        let ip_repr = Ipv6Repr::parse(&ip)?;
        if ip_repr.next_header != IPPROTO_ICMPV6 {
            return Err(Error::Unsupported("IPv6 next header is not ICMPv6"));
        }
        let icmp = Icmpv6Packet::new_checked(ip.payload())?;
        if !matches!(
            icmp.msg_type(),
            Icmpv6Type::NeighborSolicit | Icmpv6Type::NeighborAdvert
        ) {
            return Err(Error::Unsupported("ICMPv6 type is not NS or NA"));
        }
        if ip_repr.hop_limit != 255 {
            return Err(Error::Invalid("hop limit is not 255"));
        }
        let computed = icmpv6::checksum(ip_repr.src_addr, ip_repr.dst_addr, ip.payload());
        if computed != icmp.checksum() {
            return Err(Error::Checksum {
                computed,
                found: icmp.checksum(),
            });
        }
        let message = NdiscRepr::parse(&icmp)?;
        match message {
            NdiscRepr::NeighborSolicit {
                target_addr,
                lladdr,
            } => {
                if ip_repr.src_addr.is_unspecified() {
                    if ip_repr.dst_addr != solicited_node(target_addr) {
                        return Err(Error::Invalid(
                            "DAD solicitation not sent to the solicited-node group",
                        ));
                    }
                    if lladdr.is_some() {
                        return Err(Error::Invalid(
                            "DAD solicitation with a source link-layer option",
                        ));
                    }
                }
            }
            NdiscRepr::NeighborAdvert { flags, .. } => {
                if ip_repr.dst_addr.is_multicast() && flags.solicited {
                    return Err(Error::Invalid(
                        "multicast advertisement with the solicited flag",
                    ));
                }
            }
        }
        Ok(NdpFrameRepr {
            ethernet,
            src_addr: ip_repr.src_addr,
            dst_addr: ip_repr.dst_addr,
            message,
        })
    }

    /// Ethernet header + 40 + the message.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        self.ethernet.buffer_len() + ipv6::HEADER_LEN + self.message.buffer_len()
    }

    /// Writes the frame (with its checksum) into the first `buffer_len()` bytes of `buf`;
    /// returns that length.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        let payload = self.ethernet.emit_carrying(buf, EtherType::Ipv6, len)?;
        let msg_len = self.message.buffer_len();
        // msg_len is at most 32: the cast cannot truncate.
        let ip_repr = Ipv6Repr::icmpv6(self.src_addr, self.dst_addr, msg_len as u16);
        let mut ip = Ipv6Packet::new_unchecked(payload);
        ip_repr.emit(&mut ip)?;
        let mut icmp = Icmpv6Packet::new_unchecked(&mut ip.payload_mut()[..msg_len]);
        self.message.emit(&mut icmp)?;
        icmp.fill_checksum(self.src_addr, self.dst_addr);
        Ok(len)
    }
}

impl fmt::Display for NdpFrameRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} > {}: {} > {}: {}",
            self.ethernet.src_addr,
            self.ethernet.dst_addr,
            self.src_addr,
            self.dst_addr,
            self.message
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn client_mac() -> MacAddress {
        MacAddress([2, 0, 0, 0, 0, 0x0a])
    }
    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    // Built by hand from RFC 4861 §4.3 and checked with the checksum test below: an NS from
    // 2001:db8:1::a (02:00:00:00:00:0a) for 2001:db8:1::100, sent to its solicited-node group,
    // with a source link-layer address option. Captured frames are in tests/captured.rs.
    fn ns() -> NdpFrameRepr {
        NdpFrameRepr {
            ethernet: EthernetRepr::new(
                client_mac(),
                MacAddress([0x33, 0x33, 0xff, 0, 1, 0]),
                EtherType::Ipv6,
            ),
            src_addr: ip("2001:db8:1::a"),
            dst_addr: ip("ff02::1:ff00:100"),
            message: NdiscRepr::NeighborSolicit {
                target_addr: ip("2001:db8:1::100"),
                lladdr: Some(client_mac()),
            },
        }
    }

    #[test]
    fn ns_round_trip_and_layout() {
        let mut buf = [0u8; 100];
        let n = ns().emit(&mut buf).unwrap();
        assert_eq!(n, 14 + 40 + 32);
        assert_eq!(&buf[12..14], &[0x86, 0xdd]);
        assert_eq!(&buf[14 + 4..14 + 8], &[0, 32, 58, 255]);
        assert_eq!(buf[54], 135);
        assert_eq!(&buf[54 + 24..54 + 32], &[1, 1, 2, 0, 0, 0, 0, 0x0a]);
        assert_eq!(NdpFrameRepr::parse(&buf[..n]).unwrap(), ns());
        // Link-layer padding after the IPv6 payload is ignored.
        assert_eq!(NdpFrameRepr::parse(&buf[..]).unwrap(), ns());
        assert!(ns().to_string().contains("NS who-has 2001:db8:1::100"));
    }

    #[test]
    fn na_flags_round_trip() {
        for bits in 0..8u32 {
            let flags = NeighborFlags::from_bits(bits << 29);
            let na = NdpFrameRepr {
                message: NdiscRepr::NeighborAdvert {
                    flags,
                    target_addr: ip("2001:db8:1::100"),
                    lladdr: None,
                },
                dst_addr: ip("2001:db8:1::a"),
                ..ns()
            };
            let mut buf = [0u8; 100];
            let n = na.emit(&mut buf).unwrap();
            assert_eq!(n, 14 + 40 + 24);
            assert_eq!(buf[54 + 4] >> 5, bits as u8);
            assert_eq!(NdpFrameRepr::parse(&buf[..n]).unwrap(), na);
        }
    }

    fn emitted(f: &NdpFrameRepr) -> Vec<u8> {
        let mut buf = vec![0u8; f.buffer_len()];
        f.emit(&mut buf).unwrap();
        buf
    }

    /// Re-fills the ICMPv6 checksum of an untagged frame after a test edits it.
    fn refill(buf: &mut [u8]) {
        let ip = Ipv6Packet::new_checked(&buf[14..]).unwrap();
        let (src, dst, len) = (ip.src_addr(), ip.dst_addr(), usize::from(ip.payload_len()));
        Icmpv6Packet::new_unchecked(&mut buf[54..54 + len]).fill_checksum(src, dst);
    }

    #[test]
    fn validity_checks_of_rfc4861_7_1() {
        let good = emitted(&ns());
        let mut hop = good.clone();
        hop[14 + 7] = 64;
        assert!(matches!(
            NdpFrameRepr::parse(&hop),
            Err(Error::Invalid("hop limit is not 255"))
        ));

        let mut sum = good.clone();
        sum[54 + 2] ^= 0xff;
        assert!(matches!(
            NdpFrameRepr::parse(&sum),
            Err(Error::Checksum { .. })
        ));

        let mut code = good.clone();
        code[54 + 1] = 1;
        refill(&mut code);
        assert!(matches!(
            NdpFrameRepr::parse(&code),
            Err(Error::Invalid("ICMPv6 code is not 0"))
        ));

        let mut mcast = good.clone();
        mcast[54 + 8] = 0xff;
        refill(&mut mcast);
        assert!(matches!(
            NdpFrameRepr::parse(&mcast),
            Err(Error::Invalid("target address is multicast"))
        ));

        let mut zero_opt = good.clone();
        zero_opt[54 + 25] = 0;
        refill(&mut zero_opt);
        assert!(matches!(
            NdpFrameRepr::parse(&zero_opt),
            Err(Error::Invalid("option with length 0"))
        ));

        let mut long_opt = good.clone();
        long_opt[54 + 25] = 2;
        refill(&mut long_opt);
        assert!(matches!(
            NdpFrameRepr::parse(&long_opt),
            Err(Error::Invalid("option runs past the message"))
        ));

        // ICMP length below 24: the IPv6 payload length says 20.
        let mut short = good.clone();
        short[14 + 5] = 20;
        assert!(matches!(
            NdpFrameRepr::parse(&short),
            Err(Error::Truncated {
                needed: 24,
                got: 20
            })
        ));

        // DAD: unspecified source must go to the solicited-node group without an SLLA option.
        let dad = NdpFrameRepr {
            src_addr: Ipv6Addr::UNSPECIFIED,
            ..ns()
        };
        assert!(matches!(
            NdpFrameRepr::parse(&emitted(&dad)),
            Err(Error::Invalid(_))
        ));
        let dad_no_opt = NdpFrameRepr {
            message: NdiscRepr::NeighborSolicit {
                target_addr: ip("2001:db8:1::100"),
                lladdr: None,
            },
            ..dad
        };
        assert_eq!(
            NdpFrameRepr::parse(&emitted(&dad_no_opt)).unwrap(),
            dad_no_opt
        );
        let dad_wrong_dst = NdpFrameRepr {
            dst_addr: ip("ff02::1"),
            ..dad_no_opt
        };
        assert!(matches!(
            NdpFrameRepr::parse(&emitted(&dad_wrong_dst)),
            Err(Error::Invalid(_))
        ));

        // NA to a multicast destination must not have S set.
        let na = NdpFrameRepr {
            dst_addr: ip("ff02::1"),
            message: NdiscRepr::NeighborAdvert {
                flags: NeighborFlags {
                    solicited: true,
                    ..NeighborFlags::default()
                },
                target_addr: ip("2001:db8:1::100"),
                lladdr: Some(client_mac()),
            },
            ..ns()
        };
        assert!(matches!(
            NdpFrameRepr::parse(&emitted(&na)),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn unknown_options_are_skipped_by_length() {
        // NS + a 16-byte unknown option (type 14, nonce-like) + the SLLA option.
        let mut buf = emitted(&ns());
        let slla = buf[78..86].to_vec();
        buf.truncate(78);
        buf.extend_from_slice(&[14, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
        buf.extend_from_slice(&slla);
        buf[14 + 5] = 24 + 16 + 8;
        refill(&mut buf);
        assert_eq!(NdpFrameRepr::parse(&buf).unwrap(), ns());
    }

    #[test]
    fn not_ndp_is_unsupported() {
        let mut buf = emitted(&ns());
        buf[54] = 128; // echo request
        refill(&mut buf);
        assert!(matches!(
            NdpFrameRepr::parse(&buf),
            Err(Error::Unsupported(_))
        ));
        let mut udp = emitted(&ns());
        udp[14 + 6] = 17;
        assert!(matches!(
            NdpFrameRepr::parse(&udp),
            Err(Error::Unsupported(_))
        ));
    }
}
