//! Capabilities advertised in OPEN (RFC 5492), and the ones this codec understands:
//! multiprotocol (RFC 4760), route refresh (RFC 2918), extended next hop (RFC 8950), extended
//! message (RFC 8654), graceful restart (RFC 4724), 4-octet AS (RFC 6793), ADD-PATH (RFC 7911),
//! enhanced route refresh (RFC 7313), FQDN (draft-walton-bgp-hostname-capability). Others are
//! kept raw.
//!
//! ```text
//! +------------------------------+
//! | Capability Code (1 octet)    |
//! +------------------------------+
//! | Capability Length (1 octet)  |
//! +------------------------------+
//! | Capability Value (variable)  |
//! +------------------------------+
//! ```

use super::{Afi, Error, Safi};

/// One AFI/SAFI of the ADD-PATH capability (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddPathFamily {
    /// AFI.
    pub afi: Afi,
    /// SAFI.
    pub safi: Safi,
    /// 1 receive, 2 send, 3 both.
    pub send_receive: u8,
}

/// One AFI/SAFI of the graceful restart capability (RFC 4724 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GracefulRestartFamily {
    /// AFI.
    pub afi: Afi,
    /// SAFI.
    pub safi: Safi,
    /// Flags; 0x80 is Forwarding State preserved.
    pub flags: u8,
}

/// One entry of the extended next hop capability (RFC 8950 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtendedNextHopFamily {
    /// NLRI AFI.
    pub afi: Afi,
    /// NLRI SAFI (two octets on the wire).
    pub safi: u16,
    /// Next hop AFI.
    pub next_hop_afi: Afi,
}

/// A capability, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Multiprotocol extensions (1): one AFI/SAFI.
    Multiprotocol {
        /// AFI.
        afi: Afi,
        /// SAFI.
        safi: Safi,
    },
    /// Route refresh (2).
    RouteRefresh,
    /// Extended next hop encoding (5).
    ExtendedNextHop(Vec<ExtendedNextHopFamily>),
    /// Extended message (6).
    ExtendedMessage,
    /// Graceful restart (64).
    GracefulRestart {
        /// Restart flags (high 4 bits of the first two octets: R = 8, N = 4).
        flags: u8,
        /// Restart time in seconds (12 bits).
        time: u16,
        /// Per-family flags.
        families: Vec<GracefulRestartFamily>,
    },
    /// Support for 4-octet AS numbers (65), with the speaker's AS.
    FourOctetAs(u32),
    /// ADD-PATH (69).
    AddPath(Vec<AddPathFamily>),
    /// Enhanced route refresh (70).
    EnhancedRouteRefresh,
    /// FQDN (73): host and domain name, as octets.
    Fqdn {
        /// Host name.
        hostname: Vec<u8>,
        /// Domain name.
        domain: Vec<u8>,
    },
    /// A capability kept raw.
    Unknown {
        /// Capability code.
        code: u8,
        /// Value.
        data: Vec<u8>,
    },
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

impl Capability {
    /// Parses a capability value. Malformed values of known capabilities are OPEN Message
    /// Errors ([`Error::MalformedOptionalParameters`]).
    pub fn parse(code: u8, v: &[u8]) -> Result<Self, Error> {
        let bad = Error::MalformedOptionalParameters;
        Ok(match code {
            1 => {
                if v.len() != 4 {
                    return Err(bad);
                }
                Capability::Multiprotocol {
                    afi: Afi(u16_at(v, 0).ok_or(bad)?),
                    safi: Safi(v[3]),
                }
            }
            2 if v.is_empty() => Capability::RouteRefresh,
            6 if v.is_empty() => Capability::ExtendedMessage,
            70 if v.is_empty() => Capability::EnhancedRouteRefresh,
            2 | 6 | 70 => return Err(bad),
            5 => {
                if !v.len().is_multiple_of(6) {
                    return Err(bad);
                }
                Capability::ExtendedNextHop(
                    v.chunks_exact(6)
                        .map(|c| ExtendedNextHopFamily {
                            afi: Afi(u16::from_be_bytes([c[0], c[1]])),
                            safi: u16::from_be_bytes([c[2], c[3]]),
                            next_hop_afi: Afi(u16::from_be_bytes([c[4], c[5]])),
                        })
                        .collect(),
                )
            }
            64 => {
                let head = u16_at(v, 0).ok_or(bad)?;
                let rest = &v[2..];
                if !rest.len().is_multiple_of(4) {
                    return Err(bad);
                }
                Capability::GracefulRestart {
                    flags: (head >> 12) as u8,
                    time: head & 0x0fff,
                    families: rest
                        .chunks_exact(4)
                        .map(|c| GracefulRestartFamily {
                            afi: Afi(u16::from_be_bytes([c[0], c[1]])),
                            safi: Safi(c[2]),
                            flags: c[3],
                        })
                        .collect(),
                }
            }
            65 => {
                let a: [u8; 4] = v.try_into().map_err(|_| bad)?;
                Capability::FourOctetAs(u32::from_be_bytes(a))
            }
            69 => {
                if !v.len().is_multiple_of(4) {
                    return Err(bad);
                }
                Capability::AddPath(
                    v.chunks_exact(4)
                        .map(|c| AddPathFamily {
                            afi: Afi(u16::from_be_bytes([c[0], c[1]])),
                            safi: Safi(c[2]),
                            send_receive: c[3],
                        })
                        .collect(),
                )
            }
            73 => {
                let (&hl, rest) = v.split_first().ok_or(bad)?;
                let (host, rest) = rest.split_at_checked(usize::from(hl)).ok_or(bad)?;
                let (&dl, rest) = rest.split_first().ok_or(bad)?;
                if rest.len() != usize::from(dl) {
                    return Err(bad);
                }
                Capability::Fqdn {
                    hostname: host.to_vec(),
                    domain: rest.to_vec(),
                }
            }
            code => Capability::Unknown {
                code,
                data: v.to_vec(),
            },
        })
    }

    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol { .. } => 1,
            Capability::RouteRefresh => 2,
            Capability::ExtendedNextHop(_) => 5,
            Capability::ExtendedMessage => 6,
            Capability::GracefulRestart { .. } => 64,
            Capability::FourOctetAs(_) => 65,
            Capability::AddPath(_) => 69,
            Capability::EnhancedRouteRefresh => 70,
            Capability::Fqdn { .. } => 73,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Octets of the value.
    pub fn value_len(&self) -> usize {
        match self {
            Capability::Multiprotocol { .. } | Capability::FourOctetAs(_) => 4,
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh => 0,
            Capability::ExtendedNextHop(v) => 6 * v.len(),
            Capability::GracefulRestart { families, .. } => 2 + 4 * families.len(),
            Capability::AddPath(v) => 4 * v.len(),
            Capability::Fqdn { hostname, domain } => 2 + hostname.len() + domain.len(),
            Capability::Unknown { data, .. } => data.len(),
        }
    }

    /// Appends code, length and value. [`Error::TooLarge`] past 255 octets.
    pub fn encode(&self, dst: &mut Vec<u8>) -> Result<(), Error> {
        dst.push(self.code());
        dst.push(u8::try_from(self.value_len()).map_err(|_| Error::TooLarge)?);
        match self {
            Capability::Multiprotocol { afi, safi } => {
                dst.extend_from_slice(&afi.0.to_be_bytes());
                dst.extend_from_slice(&[0, safi.0]);
            }
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh => {}
            Capability::ExtendedNextHop(v) => {
                for f in v {
                    dst.extend_from_slice(&f.afi.0.to_be_bytes());
                    dst.extend_from_slice(&f.safi.to_be_bytes());
                    dst.extend_from_slice(&f.next_hop_afi.0.to_be_bytes());
                }
            }
            Capability::GracefulRestart {
                flags,
                time,
                families,
            } => {
                let head = (u16::from(*flags & 0x0f) << 12) | (*time & 0x0fff);
                dst.extend_from_slice(&head.to_be_bytes());
                for f in families {
                    dst.extend_from_slice(&f.afi.0.to_be_bytes());
                    dst.extend_from_slice(&[f.safi.0, f.flags]);
                }
            }
            Capability::FourOctetAs(asn) => dst.extend_from_slice(&asn.to_be_bytes()),
            Capability::AddPath(v) => {
                for f in v {
                    dst.extend_from_slice(&f.afi.0.to_be_bytes());
                    dst.extend_from_slice(&[f.safi.0, f.send_receive]);
                }
            }
            Capability::Fqdn { hostname, domain } => {
                dst.push(hostname.len() as u8);
                dst.extend_from_slice(hostname);
                dst.push(domain.len() as u8);
                dst.extend_from_slice(domain);
            }
            Capability::Unknown { data, .. } => dst.extend_from_slice(data),
        }
        Ok(())
    }
}
