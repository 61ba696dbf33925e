//! OPEN (RFC 4271 §4.2) with optional parameters in the original or the RFC 9072 extended
//! format, and capability negotiation into a [`Context`].
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+
//! |    Version    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     My Autonomous System      |   Hold Time   ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         BGP Identifier                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Opt Parm Len  |  Optional Parameters (type, length, value)... |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! RFC 9072: Opt Parm Len = 255 and a first parameter type of 255 announce a 2-octet
//! "Extended Opt. Parm. Length", and each parameter then has a 2-octet length.
//! ```

use std::net::Ipv4Addr;

use super::capability::Capability;
use super::header::{MessageType, write_header};
use super::{AddPathFamilies, Confederation, Context, Error, PeerKind};

/// Optional parameter type of Capabilities (RFC 5492).
const CAPABILITIES: u8 = 2;

/// A checked OPEN, borrowed from the message body.
#[derive(Debug, Clone, Copy)]
pub struct OpenMessage<'a> {
    /// My Autonomous System (AS_TRANS when the speaker's AS needs 4 octets).
    pub my_as: u16,
    /// Hold Time in seconds.
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    params: &'a [u8],
    extended: bool,
}

/// Iterator over (type, value) of optional parameters.
fn parameters(mut d: &[u8], extended: bool) -> impl Iterator<Item = Result<(u8, &[u8]), Error>> {
    std::iter::from_fn(move || {
        if d.is_empty() {
            return None;
        }
        let bad = Err(Error::MalformedOptionalParameters);
        let (t, len, rest) = if extended {
            let Some((&[t, a, b], rest)) = d.split_first_chunk::<3>() else {
                d = &[];
                return Some(bad);
            };
            (t, usize::from(u16::from_be_bytes([a, b])), rest)
        } else {
            let Some((&[t, l], rest)) = d.split_first_chunk::<2>() else {
                d = &[];
                return Some(bad);
            };
            (t, usize::from(l), rest)
        };
        let Some((v, rest)) = rest.split_at_checked(len) else {
            d = &[];
            return Some(bad);
        };
        d = rest;
        Some(Ok((t, v)))
    })
}

/// Iterator over (code, value) of the capabilities in one Capabilities parameter.
fn capabilities(mut d: &[u8]) -> impl Iterator<Item = Result<(u8, &[u8]), Error>> {
    std::iter::from_fn(move || {
        if d.is_empty() {
            return None;
        }
        let r = d.split_first_chunk::<2>().and_then(|(&[c, l], rest)| {
            rest.split_at_checked(usize::from(l))
                .map(|(v, r)| (c, v, r))
        });
        match r {
            Some((c, v, rest)) => {
                d = rest;
                Some(Ok((c, v)))
            }
            None => {
                d = &[];
                Some(Err(Error::MalformedOptionalParameters))
            }
        }
    })
}

impl<'a> OpenMessage<'a> {
    /// Parses and checks an OPEN body: version 4, hold time 0 or at least 3, a non-zero BGP
    /// Identifier, optional parameter lengths, only Capabilities parameters, and the value of
    /// every capability this codec knows.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let (head, rest) = body
            .split_first_chunk::<10>()
            .ok_or(Error::MalformedOptionalParameters)?;
        if head[0] != 4 {
            return Err(Error::UnsupportedVersion(head[0]));
        }
        let my_as = u16::from_be_bytes([head[1], head[2]]);
        let hold_time = u16::from_be_bytes([head[3], head[4]]);
        if hold_time == 1 || hold_time == 2 {
            return Err(Error::UnacceptableHoldTime(hold_time));
        }
        let bgp_id = Ipv4Addr::new(head[5], head[6], head[7], head[8]);
        if bgp_id.is_unspecified() {
            return Err(Error::BadBgpIdentifier);
        }
        let opt_len = head[9];
        let (params, extended) = if opt_len == 255 && rest.first() == Some(&255) {
            let (&[_, a, b], params) = rest
                .split_first_chunk::<3>()
                .ok_or(Error::MalformedOptionalParameters)?;
            if params.len() != usize::from(u16::from_be_bytes([a, b])) {
                return Err(Error::MalformedOptionalParameters);
            }
            (params, true)
        } else {
            if rest.len() != usize::from(opt_len) {
                return Err(Error::MalformedOptionalParameters);
            }
            (rest, false)
        };
        for p in parameters(params, extended) {
            let (t, v) = p?;
            if t != CAPABILITIES {
                return Err(Error::UnsupportedOptionalParameter(t));
            }
            for c in capabilities(v) {
                let (code, value) = c?;
                if matches!(code, 1 | 2 | 5 | 6 | 64 | 65 | 69 | 70 | 73) {
                    Capability::parse(code, value)?;
                }
            }
        }
        Ok(OpenMessage {
            my_as,
            hold_time,
            bgp_id,
            params,
            extended,
        })
    }

    /// Whether the optional parameters use the RFC 9072 extended format.
    pub fn extended_parameters(&self) -> bool {
        self.extended
    }

    /// Raw (code, value) of every capability, in order, across Capabilities parameters.
    pub fn raw_capabilities(&self) -> impl Iterator<Item = (u8, &'a [u8])> + use<'a> {
        parameters(self.params, self.extended)
            .filter_map(Result::ok)
            .flat_map(|(_, v)| capabilities(v).filter_map(Result::ok))
    }

    /// Every capability, parsed.
    pub fn capabilities(&self) -> impl Iterator<Item = Capability> + use<'a> {
        self.raw_capabilities()
            .filter_map(|(c, v)| Capability::parse(c, v).ok())
    }

    /// The speaker's AS: the 4-octet AS capability's value if present, else My Autonomous System.
    pub fn asn(&self) -> u32 {
        self.raw_capabilities()
            .find_map(|(c, v)| {
                (c == 65).then(|| <[u8; 4]>::try_from(v).ok().map(u32::from_be_bytes))
            })
            .flatten()
            .unwrap_or(u32::from(self.my_as))
    }
}

/// An OPEN, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Open {
    /// My Autonomous System (use [`super::attribute::AS_TRANS`] for 4-octet ASNs).
    pub my_as: u16,
    /// Hold Time in seconds.
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// One inner list per Capabilities optional parameter: some speakers put every capability
    /// in one parameter, others one per parameter.
    pub parameters: Vec<Vec<Capability>>,
    /// Use the RFC 9072 format even when the parameters would fit in 255 octets.
    pub extended_parameters: bool,
}

impl From<&OpenMessage<'_>> for Open {
    fn from(m: &OpenMessage<'_>) -> Self {
        Open {
            my_as: m.my_as,
            hold_time: m.hold_time,
            bgp_id: m.bgp_id,
            parameters: parameters(m.params, m.extended)
                .filter_map(Result::ok)
                .map(|(_, v)| {
                    capabilities(v)
                        .filter_map(Result::ok)
                        .filter_map(|(c, v)| Capability::parse(c, v).ok())
                        .collect()
                })
                .collect(),
            extended_parameters: m.extended,
        }
    }
}

impl Open {
    /// An OPEN for `asn` carrying `capabilities` in one parameter; the 4-octet AS capability is
    /// added and My Autonomous System set to AS_TRANS when `asn` needs 4 octets.
    pub fn new(
        asn: u32,
        hold_time: u16,
        bgp_id: Ipv4Addr,
        mut capabilities: Vec<Capability>,
    ) -> Self {
        if !capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)))
        {
            capabilities.push(Capability::FourOctetAs(asn));
        }
        Open {
            my_as: u16::try_from(asn).unwrap_or(super::attribute::AS_TRANS as u16),
            hold_time,
            bgp_id,
            parameters: vec![capabilities],
            extended_parameters: false,
        }
    }

    /// Every capability, in order.
    pub fn capabilities(&self) -> impl Iterator<Item = &Capability> {
        self.parameters.iter().flatten()
    }

    fn has(&self, code: u8) -> bool {
        self.capabilities().any(|c| c.code() == code)
    }

    /// The speaker's AS: the 4-octet AS capability's value if present, else My Autonomous System.
    pub fn asn(&self) -> u32 {
        self.capabilities()
            .find_map(|c| match c {
                Capability::FourOctetAs(asn) => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    /// Appends the message.
    pub fn encode(&self, dst: &mut Vec<u8>) -> Result<(), Error> {
        let start = dst.len();
        write_header(dst, MessageType::Open, 0);
        dst.push(4);
        dst.extend_from_slice(&self.my_as.to_be_bytes());
        dst.extend_from_slice(&self.hold_time.to_be_bytes());
        dst.extend_from_slice(&self.bgp_id.octets());
        let params_len: usize = self
            .parameters
            .iter()
            .map(|p| 2 + p.iter().map(|c| 2 + c.value_len()).sum::<usize>())
            .sum();
        let extended = self.extended_parameters || params_len > 255;
        if extended {
            let n = params_len + self.parameters.len();
            dst.extend_from_slice(&[255, 255]);
            dst.extend_from_slice(&u16::try_from(n).map_err(|_| Error::TooLarge)?.to_be_bytes());
        } else {
            dst.push(params_len as u8);
        }
        for p in &self.parameters {
            dst.push(CAPABILITIES);
            let len: usize = p.iter().map(|c| 2 + c.value_len()).sum();
            if extended {
                dst.extend_from_slice(
                    &u16::try_from(len)
                        .map_err(|_| Error::TooLarge)?
                        .to_be_bytes(),
                );
            } else {
                dst.push(u8::try_from(len).map_err(|_| Error::TooLarge)?);
            }
            for c in p {
                c.encode(dst)?;
            }
        }
        let total = u16::try_from(dst.len() - start).map_err(|_| Error::TooLarge)?;
        if usize::from(total) > super::header::MAX_MESSAGE_LEN {
            dst.truncate(start);
            return Err(Error::TooLarge);
        }
        dst[start + 16..start + 18].copy_from_slice(&total.to_be_bytes());
        Ok(())
    }
}

impl Context {
    /// What this speaker must expect in messages from the peer, given both OPENs and whether
    /// the peer is in our confederation: 4-octet AS and Extended Message when both sent the
    /// capability, Path Identifiers for families where we asked to receive them and the peer
    /// offered to send them (RFC 7911 §5), and `external` when the peer's ASN differs from ours
    /// and it is not a [`Confederation::Member`] (see [`PeerKind::of`]).
    pub fn for_receiving(local: &Open, remote: &Open, confederation: Confederation) -> Self {
        Self::negotiate(local, remote, 1, 2, confederation)
    }

    /// What this speaker must write in messages to the peer (the mirror of
    /// [`Context::for_receiving`]).
    pub fn for_sending(local: &Open, remote: &Open, confederation: Confederation) -> Self {
        Self::negotiate(local, remote, 2, 1, confederation)
    }

    fn negotiate(
        local: &Open,
        remote: &Open,
        local_bit: u8,
        remote_bit: u8,
        confederation: Confederation,
    ) -> Self {
        let mut add_path = AddPathFamilies::default();
        let families = |o: &Open, bit: u8| {
            o.capabilities()
                .filter_map(|c| match c {
                    Capability::AddPath(v) => Some(v.clone()),
                    _ => None,
                })
                .flatten()
                .filter(move |f| f.send_receive & bit != 0)
                .collect::<Vec<_>>()
        };
        let theirs = families(remote, remote_bit);
        for f in families(local, local_bit) {
            if theirs.iter().any(|g| (g.afi, g.safi) == (f.afi, f.safi)) {
                add_path.insert(f.afi, f.safi);
            }
        }
        Context {
            four_octet_as: local.has(65) && remote.has(65),
            extended_message: local.has(6) && remote.has(6),
            add_path,
            external: PeerKind::of(local.asn(), remote.asn(), confederation).is_external(),
        }
    }
}
