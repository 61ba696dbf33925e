//! The tokio driver (Linux): [`lb_l2::driver`] running [`NdpResponder`](crate::NdpResponder)
//! (see there for its threads and tasks).
//!
//! NDP's part: a BPF program keeping ICMPv6 NS and NA, the interfaces MetalLB would use for
//! NDP (they need a link-local address, so IPv6 address changes trigger a rescan too), and the
//! solicited-node group each announced address needs, joined with `PACKET_ADD_MEMBERSHIP`.
//! [`Handle::announce`] joins that group and sends the first unsolicited advertisement at
//! once; [`Handle::probe`] starts a DAD-style probe (RFC 4862) whose outcome arrives as
//! `Event::ProbeDone` per interface.

use lb_l2::driver as l2;
pub use lb_l2::driver::enter_netns;
use lb_l2::sys::BpfInsn;

pub use lb_l2::netlink::{InterfaceFilter, Link, NamePattern, link_local_interfaces, links};

use crate::error::{Error, Result};
use crate::responder::{Config, Ndp};

/// Classic BPF: accept untagged IPv6 frames carrying ICMPv6 (no extension header) of type 135
/// (NS) or 136 (NA; the watcher and the probes need advertisements); drop everything else in
/// the kernel.
const NDP_FILTER: [BpfInsn; 9] = [
    BpfInsn::new(0x28, 0, 0, 12),     // ldh [12]              EtherType
    BpfInsn::new(0x15, 0, 6, 0x86dd), // jeq IPv6, else drop
    BpfInsn::new(0x30, 0, 0, 20),     // ldb [20]              IPv6 next header
    BpfInsn::new(0x15, 0, 4, 58),     // jeq ICMPv6, else drop
    BpfInsn::new(0x30, 0, 0, 54),     // ldb [54]              ICMPv6 type
    BpfInsn::new(0x15, 1, 0, 135),    // jeq NS -> accept
    BpfInsn::new(0x15, 0, 1, 136),    // jeq NA -> accept, else drop
    BpfInsn::ACCEPT,
    BpfInsn::DROP,
];

impl l2::Sockets for Ndp {
    type Error = Error;

    /// Links, and IPv6 addresses: an interface serves NDP once it has a link-local address.
    const NETLINK_GROUPS: u32 = lb_l2::netlink::RTMGRP_LINK | lb_l2::netlink::RTMGRP_IPV6_IFADDR;
    /// `ETH_P_IPV6`.
    const ETHERTYPE: u16 = 0x86dd;
    const FILTER: &'static [BpfInsn] = &NDP_FILTER;

    fn eligible(filter: &InterfaceFilter) -> lb_l2::Result<Vec<Link>> {
        let link_local = link_local_interfaces()?;
        Ok(links()?
            .into_iter()
            .filter(|l| filter.ndp_eligible(l, link_local.contains(&l.index)))
            .collect())
    }
}

/// Driver settings (see [`lb_l2::driver::DriverConfig`]).
pub type DriverConfig = l2::DriverConfig<Config>;

/// A running driver (see [`lb_l2::driver::Handle`]).
pub type Handle = l2::Handle<Ndp>;

/// Starts the driver on the current tokio runtime (see [`lb_l2::driver::spawn`]) on the
/// NDP-eligible interfaces.
pub async fn spawn(config: DriverConfig) -> Result<Handle> {
    l2::spawn(config).await
}
