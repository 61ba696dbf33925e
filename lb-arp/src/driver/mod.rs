//! The tokio driver (Linux): [`lb_l2::driver`] running [`ArpResponder`](crate::ArpResponder)
//! (reader threads per CPU replying from the thread that received the request, a timer task,
//! a link watcher; see there).
//!
//! What is ARP's here: the sockets' EtherType and BPF program (ARP frames only, so the
//! interface gets no `ETH_P_ALL` tap; a frame tagged for a VLAN is served on that VLAN's
//! sub-interface, not here) and the interfaces MetalLB would use for ARP.
//! [`Handle::announce`] sends the first gratuitous ARP at once; [`Handle::probe`] starts an
//! RFC 5227 probe whose outcome arrives as `Event::ProbeDone` per interface.

use lb_l2::driver as l2;
pub use lb_l2::driver::enter_netns;
use lb_l2::sys::BpfInsn;

pub use lb_l2::netlink::{InterfaceFilter, Link, NamePattern, links};

use crate::error::{Error, Result};
use crate::responder::{Arp, Config};

/// Classic BPF: accept ARP; drop everything else in the kernel. The socket is bound to
/// `ETH_P_ARP`, so the kernel hands it only frames whose protocol, after the stack took out an
/// outer VLAN tag, is ARP; the program checks the header anyway. A frame that was tagged
/// carries its tag in PACKET_AUXDATA and the core ignores it.
const ARP_FILTER: [BpfInsn; 4] = [
    BpfInsn::new(0x28, 0, 0, 12),     // ldh [12]              EtherType
    BpfInsn::new(0x15, 0, 1, 0x0806), // jeq ARP, else drop
    BpfInsn::ACCEPT,
    BpfInsn::DROP,
];

impl l2::Sockets for Arp {
    type Error = Error;

    /// `ETH_P_ARP`: only ARP frames reach the sockets' filter, and the interface gets no
    /// `ETH_P_ALL` tap (which would see, and clone, every frame sent).
    const ETHERTYPE: u16 = 0x0806;
    const FILTER: &'static [BpfInsn] = &ARP_FILTER;
    const NETLINK_GROUPS: u32 = lb_l2::netlink::RTMGRP_LINK;

    fn eligible(filter: &InterfaceFilter) -> lb_l2::Result<Vec<Link>> {
        Ok(links()?
            .into_iter()
            .filter(|l| filter.arp_eligible(l))
            .collect())
    }
}

/// Driver settings (see [`lb_l2::driver::DriverConfig`]).
pub type DriverConfig = l2::DriverConfig<Config>;

/// A running driver (see [`lb_l2::driver::Handle`]).
pub type Handle = l2::Handle<Arp>;

/// Starts the driver on the current tokio runtime (see [`lb_l2::driver::spawn`]) on the
/// ARP-eligible interfaces.
pub async fn spawn(config: DriverConfig) -> Result<Handle> {
    l2::spawn(config).await
}
