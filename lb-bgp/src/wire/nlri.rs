//! Network Layer Reachability Information: the prefix encoding shared by the NLRI and
//! Withdrawn Routes fields of UPDATE (RFC 4271 §4.3) and by MP_REACH_NLRI / MP_UNREACH_NLRI
//! (RFC 4760 §5), with the optional ADD-PATH Path Identifier (RFC 7911 §3).
//!
//! ```text
//! +--------------------------------+
//! | Path Identifier (4 octets)     |   only when ADD-PATH receive is negotiated for the family
//! +--------------------------------+
//! | Length (1 octet, in bits)      |
//! +--------------------------------+
//! | Prefix (ceil(Length/8) octets) |
//! +--------------------------------+
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::BufMut;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::Error;

/// One route: a prefix with its ADD-PATH Path Identifier, if the family carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nlri {
    /// RFC 7911 Path Identifier.
    pub path_id: Option<u32>,
    /// The prefix. Bits past the prefix length are kept as received, so re-encoding is exact.
    pub prefix: IpNet,
}

impl Nlri {
    /// A prefix without a Path Identifier.
    pub fn new(prefix: IpNet) -> Self {
        Nlri {
            path_id: None,
            prefix,
        }
    }

    /// Encoded length in octets.
    pub fn encoded_len(&self) -> usize {
        let id = if self.path_id.is_some() { 4 } else { 0 };
        id + 1 + usize::from(self.prefix.prefix_len()).div_ceil(8)
    }

    /// Appends the wire form. The Path Identifier is written when present.
    pub fn encode(&self, dst: &mut impl BufMut) {
        if let Some(id) = self.path_id {
            dst.put_u32(id);
        }
        let len = self.prefix.prefix_len();
        dst.put_u8(len);
        let n = usize::from(len).div_ceil(8);
        match self.prefix.addr() {
            IpAddr::V4(a) => dst.put_slice(&a.octets()[..n]),
            IpAddr::V6(a) => dst.put_slice(&a.octets()[..n]),
        }
    }
}

/// Checks the syntax of a prefix field (RFC 4271 §6.3: Invalid Network Field) and returns the
/// number of prefixes in it. `max_bits` is 32 or 128.
pub(crate) fn check_prefixes(
    mut data: &[u8],
    max_bits: u8,
    add_path: bool,
) -> Result<usize, Error> {
    let mut count = 0;
    let id_len = if add_path { 4 } else { 0 };
    while !data.is_empty() {
        let Some(&bits) = data.get(id_len) else {
            return Err(Error::InvalidNetworkField);
        };
        if bits > max_bits {
            return Err(Error::InvalidNetworkField);
        }
        let end = id_len + 1 + usize::from(bits).div_ceil(8);
        data = data.get(end..).ok_or(Error::InvalidNetworkField)?;
        count += 1;
    }
    Ok(count)
}

/// A zero-copy iterator over a prefix field. Built only over fields that passed
/// [`check_prefixes`]; it stops early (never panics) on anything else.
#[derive(Debug, Clone)]
pub struct Prefixes<'a> {
    data: &'a [u8],
    v6: bool,
    add_path: bool,
}

impl<'a> Prefixes<'a> {
    pub(crate) fn new(data: &'a [u8], v6: bool, add_path: bool) -> Self {
        Prefixes { data, v6, add_path }
    }

    /// An iterator that yields nothing.
    pub fn empty() -> Self {
        Prefixes {
            data: &[],
            v6: false,
            add_path: false,
        }
    }

    /// The raw octets not yet iterated.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// Whether the prefixes are IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.v6
    }
}

impl Iterator for Prefixes<'_> {
    type Item = Nlri;

    #[inline]
    fn next(&mut self) -> Option<Nlri> {
        let mut d = self.data;
        let path_id = if self.add_path {
            let (id, rest) = d.split_first_chunk::<4>()?;
            d = rest;
            Some(u32::from_be_bytes(*id))
        } else {
            None
        };
        let (&bits, rest) = d.split_first()?;
        let n = usize::from(bits).div_ceil(8);
        let Some((addr, rest)) = rest.split_at_checked(n) else {
            self.data = &[];
            return None;
        };
        self.data = rest;
        // Full-length prefixes (the common /32 and /128) copy without a length-dependent memcpy.
        let prefix = if self.v6 {
            let o = match addr.first_chunk::<16>() {
                Some(full) => *full,
                None => {
                    let mut o = [0u8; 16];
                    o.get_mut(..n)?.copy_from_slice(addr);
                    o
                }
            };
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(o), bits).ok()?)
        } else {
            let o = match addr.first_chunk::<4>() {
                Some(full) => *full,
                None => {
                    let mut o = [0u8; 4];
                    o.get_mut(..n)?.copy_from_slice(addr);
                    o
                }
            };
            IpNet::V4(Ipv4Net::new(Ipv4Addr::from(o), bits).ok()?)
        };
        Some(Nlri { path_id, prefix })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_encode() {
        let bytes = [24, 192, 0, 2, 32, 198, 51, 100, 7, 0];
        assert_eq!(check_prefixes(&bytes, 32, false), Ok(3));
        let got: Vec<_> = Prefixes::new(&bytes, false, false).collect();
        assert_eq!(got[0].prefix, "192.0.2.0/24".parse::<IpNet>().unwrap());
        assert_eq!(got[1].prefix, "198.51.100.7/32".parse::<IpNet>().unwrap());
        assert_eq!(got[2].prefix, "0.0.0.0/0".parse::<IpNet>().unwrap());
        let mut out = Vec::new();
        got.iter().for_each(|n| n.encode(&mut out));
        assert_eq!(out, bytes);
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(
            check_prefixes(&[33, 1, 2, 3, 4, 5], 32, false),
            Err(Error::InvalidNetworkField)
        );
        assert_eq!(
            check_prefixes(&[24, 1, 2], 32, false),
            Err(Error::InvalidNetworkField)
        );
        assert_eq!(
            check_prefixes(&[0, 0, 0], 32, true),
            Err(Error::InvalidNetworkField)
        );
        assert_eq!(check_prefixes(&[0, 0, 0, 1, 8, 10], 32, true), Ok(1));
    }
}
