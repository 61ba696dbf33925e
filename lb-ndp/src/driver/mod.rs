//! The tokio driver (Linux): [`lb_l2::driver`] running the sans-IO [`NdpResponder`].
//!
//! ```text
//!   reader thread per CPU & interface ─▶ ┌──────────────────────┐ ──reply──▶ same socket
//!   (blocking recv, BPF: NS/NA only)     │ Mutex<NdpResponder>  │
//!   timer task (sleep_until deadline) ──▶│                      │ ──unsolicited NA/probes──▶ sockets
//!   Handle (announce/withdraw/probe) ──▶ └──────────────────────┘ ──Event──▶ broadcast (Handle::events)
//!        └─ join/leave solicited-node groups (PACKET_ADD_MEMBERSHIP) on the sockets
//!   link watcher (netlink link + IPv6 address groups, periodic rescan) ── opens/closes sockets
//! ```
//!
//! Replies are sent from the reader thread that received the request, without a channel hop
//! or an event-loop wake-up: a plain thread blocked in `recv` is the shortest path from the
//! NIC to the reply. Each CPU has its own reader, pinned to it and (by default) at real-time
//! priority, fed by a `PACKET_FANOUT_CPU` group, so a request is handled on the CPU that
//! received it without waiting for a wake-up elsewhere. Timers, link changes and events run on
//! the tokio runtime.
//!
//! What is NDP's here: the sockets' BPF program (ICMPv6 NS and NA), the interfaces MetalLB
//! would use for NDP (which need a link-local address, so IPv6 address changes trigger a
//! rescan too), the solicited-node groups each announced address needs, and the calls into
//! [`NdpResponder`]. [`Handle::announce`] joins the address's solicited-node group and sends
//! the first unsolicited advertisement at once; [`Handle::probe`] starts a DAD-style probe
//! (RFC 4862) whose outcome arrives as [`Event::ProbeDone`] per interface.

use std::path::Path;

use lb_l2::driver as l2;
use lb_l2::sys::BpfInsn;

pub use lb_l2::netlink::{InterfaceFilter, Link, NamePattern, link_local_interfaces, links};

use crate::error::{Error, Result};
use crate::responder::{Config, Ndp};

/// Classic BPF: accept untagged IPv6 frames carrying ICMPv6 (no extension header) of type 135
/// (NS) or 136 (NA; the watcher and the probes need advertisements); drop everything else in
/// the kernel.
const NDP_FILTER: [BpfInsn; 9] = [
    insn(0x28, 0, 0, 12),     // ldh [12]              EtherType
    insn(0x15, 0, 6, 0x86dd), // jeq IPv6, else drop
    insn(0x30, 0, 0, 20),     // ldb [20]              IPv6 next header
    insn(0x15, 0, 4, 58),     // jeq ICMPv6, else drop
    insn(0x30, 0, 0, 54),     // ldb [54]              ICMPv6 type
    insn(0x15, 1, 0, 135),    // jeq NS -> accept
    insn(0x15, 0, 1, 136),    // jeq NA -> accept, else drop
    insn(0x06, 0, 0, 0xffff), // accept
    insn(0x06, 0, 0, 0),      // drop
];

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> BpfInsn {
    BpfInsn { code, jt, jf, k }
}

impl l2::Sockets for Ndp {
    type Error = Error;

    const THREAD_PREFIX: &'static str = "ndp-rx-";
    /// `ETH_P_IPV6`.
    const ETHERTYPE: u16 = 0x86dd;
    const FILTER: &'static [BpfInsn] = &NDP_FILTER;
    const NETLINK_GROUPS: u32 = lb_l2::netlink::RTMGRP_LINK | lb_l2::netlink::RTMGRP_IPV6_IFADDR;

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

/// A running driver: announce, withdraw, probe and inspect at run time. Cheap to clone.
pub type Handle = l2::Handle<Ndp>;

/// Moves the calling thread into a network namespace (for example `/run/netns/NAME`): sockets
/// the driver opens afterwards on this thread, and the interfaces it discovers, are that
/// namespace's. Run a current-thread tokio runtime on that thread.
pub fn enter_netns(path: impl AsRef<Path>) -> Result<()> {
    Ok(l2::enter_netns(path)?)
}

/// Starts the driver on the current tokio runtime: discovers NDP-eligible interfaces, opens
/// their sockets and spawns its tasks and reader threads (one per CPU and interface). Events
/// (conflicts, probe results) go to every [`Handle::events`] receiver. [`Handle::shutdown`] stops
/// everything; so does dropping the runtime (the reader threads notice within 100 ms).
///
/// Interfaces are discovered in the network namespace of the thread that runs the driver's
/// tasks: to serve another namespace, call [`enter_netns`] on a thread and run a
/// current-thread runtime there.
pub async fn spawn(config: DriverConfig) -> Result<Handle> {
    l2::spawn(config).await
}
