//! Per-CPU readers for one interface: a `PACKET_FANOUT_CPU` group of AF_PACKET sockets, one
//! member per CPU, so each frame is read on the CPU that received it.
//!
//! A reply is fastest when the reader that handles a request runs on the CPU that received the
//! frame: waking a thread there is a local switch, while waking one on another, idle CPU costs
//! an inter-processor interrupt and the idle exit (tens of microseconds, most of the reply
//! time).

use std::io;
use std::sync::Arc;

use crate::sys::{self, BpfInsn, PacketSocket};

/// The sockets to read interface `ifindex` from, each with the CPU its reader should be pinned
/// to.
///
/// With several CPUs, `main` and one more socket per CPU (opened like `main`, for `ethertype`
/// behind `filter`) join a `PACKET_FANOUT_CPU` group, which hands each frame to the member
/// whose position is the receiving CPU, and member `i` is paired with CPU `i` if this thread
/// may run there. With one CPU, or if the allowed CPUs cannot be read, the answer is `main`
/// alone, unpinned. An `Err` means joining the group or opening a member failed: the caller
/// should then read `main` alone, unpinned (`main` may already be in the group; alone in it,
/// it still gets every frame).
pub fn cpu_readers(
    main: &Arc<PacketSocket>,
    ifindex: u32,
    ethertype: u16,
    filter: &[BpfInsn],
) -> io::Result<Vec<(Arc<PacketSocket>, Option<usize>)>> {
    let single = || vec![(main.clone(), None)];
    let Ok(cpus) = sys::allowed_cpus() else {
        return Ok(single());
    };
    let members = cpus.last().map_or(0, |c| c + 1).min(64);
    if members < 2 {
        return Ok(single());
    }
    // Group ids are per network namespace, and a group's members must share the interface and
    // the protocol: ARP and NDP sockets of one process on one interface need two groups. The
    // kernel picks an unused id; where it cannot (before Linux 4.3), derive one from the
    // process, the interface and the EtherType.
    let group = match main.create_cpu_fanout() {
        Ok(group) => group,
        Err(_) => {
            let group = derived_group(std::process::id(), ifindex, ethertype);
            main.join_cpu_fanout(group)?;
            group
        }
    };
    let mut out = vec![(main.clone(), None)];
    for _ in 1..members {
        let extra = PacketSocket::open(ifindex, ethertype, filter)?;
        extra.join_cpu_fanout(group)?;
        out.push((Arc::new(extra), None));
    }
    for (i, (_, cpu)) in out.iter_mut().enumerate() {
        *cpu = cpus.contains(&i).then_some(i);
    }
    Ok(out)
}

/// A fanout group id for the socket of process `pid` on `ifindex` for `ethertype`, used when
/// the kernel cannot pick one: distinct for the ARP and NDP sockets of one process on one
/// interface.
fn derived_group(pid: u32, ifindex: u32, ethertype: u16) -> u16 {
    (pid as u16) ^ (ifindex as u16).rotate_left(8) ^ ethertype.rotate_left(4)
}

#[cfg(test)]
mod tests {
    use super::derived_group;

    #[test]
    fn derived_groups_differ_by_protocol() {
        for (pid, ifindex) in [(1, 1), (4242, 2), (65_535, 300)] {
            assert_ne!(
                derived_group(pid, ifindex, 0x0806),
                derived_group(pid, ifindex, 0x86dd)
            );
            assert_ne!(
                derived_group(pid, ifindex, 0x0003),
                derived_group(pid, ifindex, 0x86dd)
            );
        }
    }
}
