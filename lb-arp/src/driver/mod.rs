//! The tokio driver (Linux): [`lb_l2::driver`] running the sans-IO [`ArpResponder`].
//!
//! ```text
//!   reader thread per CPU & interface ─▶ ┌──────────────────────┐ ──reply──▶ same socket
//!   (blocking recv, BPF: ARP only)       │ Mutex<ArpResponder>  │
//!   timer task (sleep_until deadline) ──▶│                      │ ──gratuitous/probes──▶ sockets
//!   Handle (announce/withdraw/probe) ──▶ └──────────────────────┘ ──Event──▶ broadcast (Handle::events)
//!   link watcher (netlink RTMGRP_LINK + periodic rescan) ── opens/closes sockets
//! ```
//!
//! Replies are sent from the reader thread that received the request, without a channel hop
//! or an event-loop wake-up: a plain thread blocked in `recv` is the shortest path from the
//! NIC to the reply (the lab measures it against the kernel's own ARP replies). Each CPU has its
//! own reader, pinned to it and (by default) at real-time priority, fed by a
//! `PACKET_FANOUT_CPU` group, so a request is handled on the CPU that received it without
//! waiting for a wake-up elsewhere. Timers, link changes and events run on the tokio runtime.
//!
//! What is ARP's here: the sockets' EtherType and BPF program (ARP frames only; a frame tagged
//! for a VLAN is served on that VLAN's sub-interface, not here), the interfaces MetalLB would use for ARP, and the calls into [`ArpResponder`].
//! [`Handle::announce`] sends the first gratuitous ARP at once; [`Handle::probe`] starts an
//! RFC 5227 probe whose outcome arrives as [`Event::ProbeDone`] per interface.

use std::path::Path;

use lb_l2::driver as l2;
use lb_l2::sys::BpfInsn;

pub use lb_l2::netlink::{InterfaceFilter, Link, NamePattern, links};

use crate::error::{Error, Result};
use crate::responder::{Arp, Config};

/// Classic BPF: accept ARP; drop everything else in the kernel. The socket is bound to
/// `ETH_P_ARP`, so the kernel hands it only frames whose protocol, after the stack took out an
/// outer VLAN tag, is ARP; the program checks the header anyway. A frame that was tagged
/// carries its tag in PACKET_AUXDATA and the core ignores it.
const ARP_FILTER: [BpfInsn; 4] = [
    insn(0x28, 0, 0, 12),     // ldh [12]              EtherType
    insn(0x15, 0, 1, 0x0806), // jeq ARP, else drop
    insn(0x06, 0, 0, 0xffff), // accept
    insn(0x06, 0, 0, 0),      // drop
];

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> BpfInsn {
    BpfInsn { code, jt, jf, k }
}

impl l2::Sockets for Arp {
    type Error = Error;

    const THREAD_PREFIX: &'static str = "arp-rx-";
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

/// A running driver: announce, withdraw, probe and inspect at run time. Cheap to clone.
pub type Handle = l2::Handle<Arp>;

/// Moves the calling thread into a network namespace (for example `/run/netns/NAME`): sockets
/// the driver opens afterwards on this thread, and the interfaces it discovers, are that
/// namespace's. Run a current-thread tokio runtime on that thread.
pub fn enter_netns(path: impl AsRef<Path>) -> Result<()> {
    Ok(l2::enter_netns(path)?)
}

/// Starts the driver on the current tokio runtime: discovers ARP-eligible interfaces, opens
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
