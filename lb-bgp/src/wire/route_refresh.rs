//! ROUTE-REFRESH (RFC 2918 §3) with the message subtypes of enhanced route refresh
//! (RFC 7313 §3.2: BoRR and EoRR).
//!
//! ```text
//!  0       7      15      23      31
//! +-------+-------+-------+-------+
//! |      AFI      |Subtype| SAFI  |
//! +-------+-------+-------+-------+
//! ```

use super::header::{HEADER_LEN, MessageType, write_header};
use super::{Afi, Error, Safi};

/// The Message Subtype octet (RFC 7313; "Reserved" in RFC 2918).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefreshSubtype {
    /// 0: a route refresh request.
    Request,
    /// 1: Beginning of Route Refresh.
    Begin,
    /// 2: End of Route Refresh.
    End,
    /// 3-255: reserved; RFC 7313 says to ignore such messages.
    Reserved(u8),
}

impl From<u8> for RefreshSubtype {
    fn from(v: u8) -> Self {
        match v {
            0 => RefreshSubtype::Request,
            1 => RefreshSubtype::Begin,
            2 => RefreshSubtype::End,
            v => RefreshSubtype::Reserved(v),
        }
    }
}

impl From<RefreshSubtype> for u8 {
    fn from(v: RefreshSubtype) -> u8 {
        match v {
            RefreshSubtype::Request => 0,
            RefreshSubtype::Begin => 1,
            RefreshSubtype::End => 2,
            RefreshSubtype::Reserved(v) => v,
        }
    }
}

/// A ROUTE-REFRESH. Octets after the SAFI (outbound route filter entries, RFC 5291) are kept
/// raw for a request; BoRR and EoRR must be exactly 4 octets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    /// AFI.
    pub afi: Afi,
    /// Message subtype.
    pub subtype: RefreshSubtype,
    /// SAFI.
    pub safi: Safi,
    /// Trailing octets (ORF entries) of a request.
    pub orf: Vec<u8>,
}

/// A ROUTE-REFRESH, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRefreshMessage<'a> {
    /// AFI.
    pub afi: Afi,
    /// Message subtype.
    pub subtype: RefreshSubtype,
    /// SAFI.
    pub safi: Safi,
    /// Trailing octets (ORF entries) of a request.
    pub orf: &'a [u8],
}

impl<'a> RouteRefreshMessage<'a> {
    /// Parses a body; a BoRR/EoRR with a length other than 23 is Invalid Message Length.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let len = (body.len() + HEADER_LEN) as u16;
        let (&[a, b, st, safi], orf) = body
            .split_first_chunk::<4>()
            .ok_or(Error::RouteRefreshLength(len))?;
        let subtype = RefreshSubtype::from(st);
        if subtype != RefreshSubtype::Request && !orf.is_empty() {
            return Err(Error::RouteRefreshLength(len));
        }
        Ok(RouteRefreshMessage {
            afi: Afi(u16::from_be_bytes([a, b])),
            subtype,
            safi: Safi(safi),
            orf,
        })
    }
}

impl From<&RouteRefreshMessage<'_>> for RouteRefresh {
    fn from(m: &RouteRefreshMessage<'_>) -> Self {
        RouteRefresh {
            afi: m.afi,
            subtype: m.subtype,
            safi: m.safi,
            orf: m.orf.to_vec(),
        }
    }
}

impl RouteRefresh {
    /// A request, BoRR or EoRR for a family.
    pub fn new(afi: Afi, safi: Safi, subtype: RefreshSubtype) -> Self {
        RouteRefresh {
            afi,
            subtype,
            safi,
            orf: Vec::new(),
        }
    }

    /// Appends the message.
    pub fn encode(&self, dst: &mut Vec<u8>) -> Result<(), Error> {
        let total = u16::try_from(HEADER_LEN + 4 + self.orf.len())
            .ok()
            .filter(|&n| usize::from(n) <= super::header::MAX_MESSAGE_LEN)
            .ok_or(Error::TooLarge)?;
        write_header(dst, MessageType::RouteRefresh, total);
        dst.extend_from_slice(&self.afi.0.to_be_bytes());
        dst.push(self.subtype.into());
        dst.push(self.safi.0);
        dst.extend_from_slice(&self.orf);
        Ok(())
    }
}
