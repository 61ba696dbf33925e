//! Interface discovery over rtnetlink (not sysfs, which shows the wrong namespace after
//! `setns`): `RTM_GETLINK` and `RTM_GETADDR` dumps parsed in safe code, and the eligibility
//! rules MetalLB applies for ARP and for NDP, with its default exclusions.

use std::io;
use std::os::fd::OwnedFd;

use crate::error::{Error, Result};
use crate::ethernet::MacAddress;
use crate::sys;

const NLMSG_HDR_LEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const IFINFOMSG_LEN: usize = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const IFADDRMSG_LEN: usize = 8;
const IFA_ADDRESS: u16 = 1;
const AF_INET6: u8 = 10;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;

const IFF_UP: u32 = 0x1;
const IFF_BROADCAST: u32 = 0x2;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_NOARP: u32 = 0x80;

/// The netlink multicast group of link changes (`RTMGRP_LINK`), for
/// [`sys::netlink_listener`].
pub const RTMGRP_LINK: u32 = 0x1;
/// The netlink multicast group of IPv6 address changes (`RTMGRP_IPV6_IFADDR`).
pub const RTMGRP_IPV6_IFADDR: u32 = 0x100;

/// A network interface as the kernel describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Link-layer address, if it is a 6-byte one.
    pub mac: Option<MacAddress>,
    /// `IFF_*` flags.
    pub flags: u32,
    /// The bridge or bond this interface is enslaved to.
    pub master: Option<u32>,
}

impl Link {
    /// Administratively up.
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }
    /// Can broadcast (ARP needs it).
    pub fn is_broadcast(&self) -> bool {
        self.flags & IFF_BROADCAST != 0
    }
    /// Has the NOARP flag.
    pub fn is_noarp(&self) -> bool {
        self.flags & IFF_NOARP != 0
    }
    /// Is a loopback.
    pub fn is_loopback(&self) -> bool {
        self.flags & IFF_LOOPBACK != 0
    }
}

/// An interface-name pattern, in the subset of regular expressions MetalLB's defaults use:
/// `^prefix` (starts with), `^name$` (exactly), or a bare `name` (contains).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePattern {
    /// `^name$`.
    Exact(String),
    /// `^prefix`.
    Prefix(String),
    /// `name`.
    Contains(String),
}

impl NamePattern {
    /// Reads `^x`, `^x$` or `x`.
    pub fn parse(s: &str) -> NamePattern {
        match (s.strip_prefix('^'), s.ends_with('$')) {
            (Some(rest), true) => NamePattern::Exact(rest.trim_end_matches('$').to_string()),
            (Some(rest), false) => NamePattern::Prefix(rest.to_string()),
            (None, _) => NamePattern::Contains(s.to_string()),
        }
    }
    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NamePattern::Exact(x) => name == x,
            NamePattern::Prefix(x) => name.starts_with(x.as_str()),
            NamePattern::Contains(x) => name.contains(x.as_str()),
        }
    }
}

/// Which interfaces the driver uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceFilter {
    /// Names never used (default `^veth`, `^cali`, `^lo$`, `^kube-ipvs`).
    pub exclude: Vec<NamePattern>,
    /// If not empty, only these names are used, whatever `exclude` says.
    pub allow: Vec<NamePattern>,
}

impl Default for InterfaceFilter {
    fn default() -> Self {
        InterfaceFilter {
            exclude: ["^veth", "^cali", "^lo$", "^kube-ipvs"]
                .map(NamePattern::parse)
                .to_vec(),
            allow: Vec::new(),
        }
    }
}

impl InterfaceFilter {
    /// Only the named interfaces (exact names).
    pub fn only<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        InterfaceFilter {
            allow: names
                .into_iter()
                .map(|n| NamePattern::Exact(n.into()))
                .collect(),
            ..InterfaceFilter::default()
        }
    }
    /// Whether the name passes the allow-list or, without one, the exclusions.
    pub fn name_allowed(&self, name: &str) -> bool {
        if !self.allow.is_empty() {
            return self.allow.iter().any(|p| p.matches(name));
        }
        !self.exclude.iter().any(|p| p.matches(name))
    }
    /// MetalLB's ARP eligibility: name allowed, up, broadcast-capable, not NOARP, not enslaved
    /// to a bridge or bond, with an Ethernet address.
    pub fn arp_eligible(&self, link: &Link) -> bool {
        self.name_allowed(&link.name)
            && link.is_up()
            && link.is_broadcast()
            && !link.is_noarp()
            && link.master.is_none()
            && link.mac.is_some()
    }
    /// MetalLB's NDP eligibility: name allowed, up, not enslaved to a bridge or bond, with an
    /// Ethernet address and an IPv6 link-local address (`has_link_local`).
    pub fn ndp_eligible(&self, link: &Link, has_link_local: bool) -> bool {
        self.name_allowed(&link.name)
            && link.is_up()
            && !link.is_loopback()
            && link.master.is_none()
            && link.mac.is_some()
            && has_link_local
    }
}

fn io_err(context: &'static str) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Io { context, source }
}

fn request(msg_type: u16, family: u8, seq: u32) -> [u8; NLMSG_HDR_LEN + IFINFOMSG_LEN] {
    let mut m = [0u8; NLMSG_HDR_LEN + IFINFOMSG_LEN];
    let len = m.len() as u32;
    m[0..4].copy_from_slice(&len.to_ne_bytes());
    m[4..6].copy_from_slice(&msg_type.to_ne_bytes());
    m[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m[8..12].copy_from_slice(&seq.to_ne_bytes());
    m[16] = family;
    m
}

/// Runs a dump request and calls `each(msg_type, payload)` for every message until DONE.
pub(crate) fn dump(msg_type: u16, family: u8, mut each: impl FnMut(u16, &[u8])) -> Result<()> {
    let fd: OwnedFd = sys::netlink_request_socket().map_err(io_err("netlink socket"))?;
    sys::send(&fd, &request(msg_type, family, 1)).map_err(io_err("netlink send"))?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = sys::recv(&fd, &mut buf).map_err(io_err("netlink recv"))?;
        if n == 0 {
            return Ok(());
        }
        for (ty, payload) in messages(&buf[..n]) {
            match ty {
                NLMSG_DONE => return Ok(()),
                NLMSG_ERROR => {
                    let code = payload
                        .get(..4)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    if code != 0 {
                        return Err(Error::Io {
                            context: "netlink dump",
                            source: io::Error::from_raw_os_error(-code),
                        });
                    }
                }
                _ => each(ty, payload),
            }
        }
    }
}

/// Splits a netlink datagram into (type, payload) pairs; stops at the first malformed header.
pub(crate) fn messages(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let hdr = data.get(..NLMSG_HDR_LEN)?;
        let len = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize;
        let ty = u16::from_ne_bytes([hdr[4], hdr[5]]);
        if len < NLMSG_HDR_LEN || len > data.len() {
            data = &[];
            return None;
        }
        let payload = &data[NLMSG_HDR_LEN..len];
        data = data.get(align4(len)..).unwrap_or(&[]);
        Some((ty, payload))
    })
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Splits route attributes into (type, value) pairs; stops at the first malformed one.
pub(crate) fn attributes(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let hdr = data.get(..4)?;
        let len = usize::from(u16::from_ne_bytes([hdr[0], hdr[1]]));
        let ty = u16::from_ne_bytes([hdr[2], hdr[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            data = &[];
            return None;
        }
        let value = &data[4..len];
        data = data.get(align4(len)..).unwrap_or(&[]);
        Some((ty, value))
    })
}

/// Parses one `RTM_NEWLINK` payload.
pub(crate) fn parse_link(payload: &[u8]) -> Option<Link> {
    let ifi = payload.get(..IFINFOMSG_LEN)?;
    let index = u32::from_ne_bytes([ifi[4], ifi[5], ifi[6], ifi[7]]);
    let flags = u32::from_ne_bytes([ifi[8], ifi[9], ifi[10], ifi[11]]);
    let mut link = Link {
        index,
        name: String::new(),
        mac: None,
        flags,
        master: None,
    };
    for (ty, value) in attributes(&payload[IFINFOMSG_LEN..]) {
        match ty {
            IFLA_IFNAME => {
                let raw = value.split(|&b| b == 0).next().unwrap_or(&[]);
                link.name = String::from_utf8_lossy(raw).into_owned();
            }
            IFLA_ADDRESS if value.len() == 6 => link.mac = MacAddress::from_bytes(value),
            IFLA_MASTER if value.len() == 4 => {
                let m = u32::from_ne_bytes([value[0], value[1], value[2], value[3]]);
                link.master = (m != 0).then_some(m);
            }
            _ => {}
        }
    }
    Some(link)
}

/// Every interface of the calling thread's network namespace.
pub fn links() -> Result<Vec<Link>> {
    let mut out = Vec::new();
    dump(RTM_GETLINK, 0, |ty, payload| {
        if ty == RTM_NEWLINK {
            out.extend(parse_link(payload));
        }
    })?;
    Ok(out)
}

/// Parses one `RTM_NEWADDR` payload: (interface index, IPv6 address) for IPv6 entries.
pub(crate) fn parse_ipv6_addr(payload: &[u8]) -> Option<(u32, std::net::Ipv6Addr)> {
    let ifa = payload.get(..IFADDRMSG_LEN)?;
    if ifa[0] != AF_INET6 {
        return None;
    }
    let index = u32::from_ne_bytes([ifa[4], ifa[5], ifa[6], ifa[7]]);
    attributes(&payload[IFADDRMSG_LEN..]).find_map(|(ty, value)| {
        let octets: [u8; 16] = value.try_into().ok()?;
        (ty == IFA_ADDRESS).then(|| (index, std::net::Ipv6Addr::from(octets)))
    })
}

/// The indexes of interfaces that have an IPv6 link-local (`fe80::/10`) address.
pub fn link_local_interfaces() -> Result<std::collections::BTreeSet<u32>> {
    let mut out = std::collections::BTreeSet::new();
    dump(RTM_GETADDR, AF_INET6, |ty, payload| {
        if ty == RTM_NEWADDR
            && let Some((index, addr)) = parse_ipv6_addr(payload)
            && addr.segments()[0] & 0xffc0 == 0xfe80
        {
            out.insert(index);
        }
    })?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let f = InterfaceFilter::default();
        assert!(!f.name_allowed("veth1234"));
        assert!(!f.name_allowed("lo"));
        assert!(f.name_allowed("lo0"));
        assert!(!f.name_allowed("kube-ipvs0"));
        assert!(f.name_allowed("eth0"));
        let only = InterfaceFilter::only(["veth7"]);
        assert!(only.name_allowed("veth7"));
        assert!(!only.name_allowed("eth0"));
        assert_eq!(
            NamePattern::parse("bond"),
            NamePattern::Contains("bond".into())
        );
    }

    #[test]
    fn parses_a_link_message() {
        // ifinfomsg for index 2, flags UP|BROADCAST, then IFLA_IFNAME "eth0", IFLA_ADDRESS,
        // IFLA_MASTER 5, and a truncated attribute that must be ignored.
        let mut m = vec![0u8; 16];
        m[4..8].copy_from_slice(&2u32.to_ne_bytes());
        m[8..12].copy_from_slice(&3u32.to_ne_bytes());
        let attr = |ty: u16, v: &[u8]| {
            let mut a = ((4 + v.len()) as u16).to_ne_bytes().to_vec();
            a.extend_from_slice(&ty.to_ne_bytes());
            a.extend_from_slice(v);
            while !a.len().is_multiple_of(4) {
                a.push(0);
            }
            a
        };
        m.extend(attr(IFLA_IFNAME, b"eth0\0"));
        m.extend(attr(IFLA_ADDRESS, &[2, 0, 0, 0, 0, 0x0b]));
        m.extend(attr(IFLA_MASTER, &5u32.to_ne_bytes()));
        m.extend([200, 0, 1, 0]);
        let link = parse_link(&m).unwrap();
        assert_eq!(link.name, "eth0");
        assert_eq!(link.mac, Some(MacAddress([2, 0, 0, 0, 0, 0x0b])));
        assert_eq!(link.master, Some(5));
        assert!(link.is_up() && link.is_broadcast());
        assert!(!InterfaceFilter::default().arp_eligible(&link), "enslaved");
        assert!(
            !InterfaceFilter::default().ndp_eligible(&link, true),
            "enslaved"
        );
        let free = Link {
            master: None,
            ..link
        };
        assert!(InterfaceFilter::default().ndp_eligible(&free, true));
        assert!(InterfaceFilter::default().arp_eligible(&free));
        assert!(
            !InterfaceFilter::default().ndp_eligible(&free, false),
            "no link-local"
        );
        assert!(parse_link(&m[..10]).is_none());
    }

    #[test]
    fn parses_an_ipv6_address_message() {
        let mut m = vec![AF_INET6, 64, 0, 253, 3, 0, 0, 0];
        m[4..8].copy_from_slice(&3u32.to_ne_bytes());
        m.extend(20u16.to_ne_bytes());
        m.extend(IFA_ADDRESS.to_ne_bytes());
        m.extend("fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        assert_eq!(parse_ipv6_addr(&m), Some((3, "fe80::1".parse().unwrap())));
        m[0] = 2;
        assert_eq!(parse_ipv6_addr(&m), None);
    }

    #[test]
    fn message_splitting_stops_at_garbage() {
        let mut d = vec![0u8; 20];
        d[0..4].copy_from_slice(&20u32.to_ne_bytes());
        d[4..6].copy_from_slice(&RTM_NEWLINK.to_ne_bytes());
        d.extend([255, 255, 0, 0]);
        let v: Vec<_> = messages(&d).collect();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].1.len(), 4);
    }
}
