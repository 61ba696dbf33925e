//! The only `unsafe` code of lb-l2, lb-arp and lb-ndp: thin wrappers over the Linux system calls
//! their drivers need (AF_PACKET sockets, a classic BPF filter, packet fanout, packet multicast
//! membership, CPU affinity, `SCHED_FIFO`, netlink route sockets, `setns`). Nothing here knows a
//! protocol: the EtherType and the BPF program are parameters. Everything above this module is
//! safe Rust; every block below says why it is sound.

use std::fs::File;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// How long a blocking `recv` waits before returning, so reader threads can stop.
pub const RECV_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(100);

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy)]
pub struct BpfInsn {
    /// The opcode (class, size, mode / operation, source).
    pub code: u16,
    /// Jump offset if the condition holds.
    pub jt: u8,
    /// Jump offset if it does not.
    pub jf: u8,
    /// The generic field: a constant, an offset or a return value.
    pub k: u32,
}

impl BpfInsn {
    /// `ret #0xffff`: accept the frame (up to 65,535 bytes of it).
    pub const ACCEPT: BpfInsn = BpfInsn::new(0x06, 0, 0, 0xffff);
    /// `ret #0`: drop the frame.
    pub const DROP: BpfInsn = BpfInsn::new(0x06, 0, 0, 0);

    /// The instruction with these four fields.
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> BpfInsn {
        BpfInsn { code, jt, jf, k }
    }
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_size(ret: libc::ssize_t) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// An AF_PACKET `SOCK_RAW` socket bound to one interface and one EtherType. Blocking, with a
/// receive timeout so that a reader thread can notice it should stop.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl PacketSocket {
    /// Opens the socket, attaches `filter` (a classic BPF program), then binds it to `ifindex`
    /// for frames of `ethertype` (in host order; `ETH_P_ALL` = 3 for every type). The socket
    /// is created with protocol 0, so it receives nothing before the filter is in place.
    pub fn open(ifindex: u32, ethertype: u16, filter: &[BpfInsn]) -> io::Result<PacketSocket> {
        // SAFETY: socket(2) takes no pointers; a non-negative result is a new descriptor that
        // nothing else owns, so OwnedFd may take it.
        let fd = unsafe {
            let raw = cvt(libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                0,
            ))?;
            OwnedFd::from_raw_fd(raw)
        };
        let sock = PacketSocket { fd, ifindex };
        sock.attach_filter(filter)?;
        sock.set_recv_timeout(RECV_TIMEOUT)?;
        // The NIC (or the stack, on receive) moves a frame's outer 802.1Q tag out of the data;
        // PACKET_AUXDATA hands it back with each frame.
        sock.set_int(libc::SOL_PACKET, libc::PACKET_AUXDATA, 1)?;
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = ethertype.to_be();
        addr.sll_ifindex = ifindex as libc::c_int;
        // SAFETY: `addr` is a valid sockaddr_ll that lives across the call, and the length
        // passed is its size.
        cvt(unsafe {
            libc::bind(
                sock.fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        Ok(sock)
    }

    fn set_int(&self, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
        // SAFETY: `value` is a c_int living across the call; the length is its size.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&raw const value).cast::<libc::c_void>(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    /// Asks the kernel to timestamp every received frame (SO_TIMESTAMPNS): the time it entered
    /// the stack (a received frame) or was handed to the driver (an outgoing frame seen by a
    /// packet tap), in [`Received::timestamp`]. For measurements.
    pub fn enable_timestamps(&self) -> io::Result<()> {
        self.set_int(libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)
    }

    /// Makes `recv` give up (with `WouldBlock`/`TimedOut`) after `timeout`.
    fn set_recv_timeout(&self, timeout: std::time::Duration) -> io::Result<()> {
        let tv = libc::timeval {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_usec: timeout.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: `tv` is a valid timeval living across the call; the length is its size.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const tv).cast::<libc::c_void>(),
                mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    /// Attaches a classic BPF program (SO_ATTACH_FILTER): frames it rejects never reach us.
    fn attach_filter(&self, program: &[BpfInsn]) -> io::Result<()> {
        let mut insns: Vec<libc::sock_filter> = program
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let prog = libc::sock_fprog {
            len: u16::try_from(insns.len())
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
            filter: insns.as_mut_ptr(),
        };
        // SAFETY: `prog` points at `insns`, which outlives the call (the kernel copies the
        // program); the option length is the size of sock_fprog.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&raw const prog).cast::<libc::c_void>(),
                mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    /// Joins a link-layer multicast group on the bound interface.
    pub fn join_multicast(&self, mac: [u8; 6]) -> io::Result<()> {
        self.multicast(mac, libc::PACKET_ADD_MEMBERSHIP)
    }

    /// Leaves a link-layer multicast group on the bound interface.
    pub fn leave_multicast(&self, mac: [u8; 6]) -> io::Result<()> {
        self.multicast(mac, libc::PACKET_DROP_MEMBERSHIP)
    }

    /// `PACKET_ADD_MEMBERSHIP` or `PACKET_DROP_MEMBERSHIP` of `mac`.
    fn multicast(&self, mac: [u8; 6], opt: libc::c_int) -> io::Result<()> {
        // SAFETY: packet_mreq is plain old data; all-zero is a valid value.
        let mut mreq: libc::packet_mreq = unsafe { mem::zeroed() };
        mreq.mr_ifindex = self.ifindex as libc::c_int;
        mreq.mr_type = libc::PACKET_MR_MULTICAST as u16;
        mreq.mr_alen = 6;
        mreq.mr_address[..6].copy_from_slice(&mac);
        // SAFETY: `mreq` is a valid packet_mreq living across the call; the length is its size.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                opt,
                (&raw const mreq).cast::<libc::c_void>(),
                mem::size_of::<libc::packet_mreq>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    /// Joins fanout group `group` in `PACKET_FANOUT_CPU` mode: each frame goes to the member
    /// socket whose position equals the CPU that received it (modulo the member count).
    pub fn join_cpu_fanout(&self, group: u16) -> io::Result<()> {
        self.set_fanout(u32::from(group) | (libc::PACKET_FANOUT_CPU << 16))
    }

    /// Creates a new `PACKET_FANOUT_CPU` group with an id the kernel picks among those unused
    /// in this network namespace (`PACKET_FANOUT_FLAG_UNIQUEID`, Linux 4.3), joins it and
    /// returns the id, for the other members' [`Self::join_cpu_fanout`].
    pub fn create_cpu_fanout(&self) -> io::Result<u16> {
        const PACKET_FANOUT_FLAG_UNIQUEID: u32 = 0x2000;
        self.set_fanout((libc::PACKET_FANOUT_CPU | PACKET_FANOUT_FLAG_UNIQUEID) << 16)?;
        let mut val: libc::c_int = 0;
        let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `val`/`len` describe a writable c_int of the size given, living across the
        // call.
        cvt(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_FANOUT,
                (&raw mut val).cast::<libc::c_void>(),
                &raw mut len,
            )
        })?;
        // The low 16 bits are the id; the type and flags are above.
        Ok((val as u32 & 0xffff) as u16)
    }

    fn set_fanout(&self, arg: u32) -> io::Result<()> {
        let arg = arg as libc::c_int;
        // SAFETY: `arg` is a c_int living across the call; the length passed is its size.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_FANOUT,
                (&raw const arg).cast::<libc::c_void>(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    /// Receives one frame into `buf`: its length (at most `buf.len()`), the packet type
    /// (`PACKET_HOST`, `PACKET_BROADCAST`, `PACKET_OUTGOING`, ...), the 802.1Q tag taken out of
    /// the data on receive, if any (from PACKET_AUXDATA), and the kernel's timestamp if
    /// [`Self::enable_timestamps`] was called.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        self.recv_with(buf, 0)
    }

    /// Like [`Self::recv`], but returns `None` at once when no frame is queued.
    pub fn recv_nonblocking(&self, buf: &mut [u8]) -> Option<Received> {
        self.recv_with(buf, libc::MSG_DONTWAIT).ok()
    }

    fn recv_with(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<Received> {
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
        // Room for a tpacket_auxdata and a timespec control message, u64-aligned.
        let mut control = [0u64; 16];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast::<libc::c_void>(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain old data; all-zero is a valid value.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_name = (&raw mut addr).cast::<libc::c_void>();
        msg.msg_namelen = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast::<libc::c_void>();
        msg.msg_controllen = mem::size_of_val(&control) as _;
        // SAFETY: every pointer in `msg` (address, one iovec over `buf`, control buffer) is
        // valid for writes of the length given next to it for the whole call; the kernel
        // writes no more than those lengths.
        let n = cvt_size(unsafe {
            libc::recvmsg(self.fd.as_raw_fd(), &raw mut msg, libc::MSG_TRUNC | flags)
        })?;
        let mut out = Received {
            len: n.min(buf.len()),
            pkttype: addr.sll_pkttype,
            vlan: None,
            timestamp: None,
        };
        // SAFETY: `msg` was filled by recvmsg: CMSG_FIRSTHDR/CMSG_NXTHDR walk the control
        // buffer within `msg_controllen`, which the kernel set to what it wrote (at most our
        // buffer's size), and return null past the end.
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&raw const msg) };
        while !cmsg.is_null() {
            // SAFETY: `cmsg` is non-null and points at a header inside the control buffer.
            let hdr = unsafe { &*cmsg };
            // SAFETY: CMSG_DATA points inside the same message; the payload is read unaligned,
            // only when the header's length says it holds the whole structure.
            let data = unsafe { libc::CMSG_DATA(cmsg) };
            let payload = hdr.cmsg_len as usize - (data as usize - cmsg as usize);
            if hdr.cmsg_level == libc::SOL_PACKET
                && hdr.cmsg_type == libc::PACKET_AUXDATA
                && payload >= mem::size_of::<libc::tpacket_auxdata>()
            {
                // SAFETY: checked just above that the payload holds a tpacket_auxdata.
                let aux: libc::tpacket_auxdata =
                    unsafe { std::ptr::read_unaligned(data.cast::<libc::tpacket_auxdata>()) };
                out.vlan = stripped_vlan(aux.tp_status, aux.tp_vlan_tci, aux.tp_vlan_tpid);
            } else if hdr.cmsg_level == libc::SOL_SOCKET
                && hdr.cmsg_type == libc::SCM_TIMESTAMPNS
                && payload >= mem::size_of::<libc::timespec>()
            {
                // SAFETY: checked just above that the payload holds a timespec.
                let ts: libc::timespec =
                    unsafe { std::ptr::read_unaligned(data.cast::<libc::timespec>()) };
                out.timestamp = Some(std::time::Duration::new(
                    ts.tv_sec as u64,
                    ts.tv_nsec as u32,
                ));
            }
            // SAFETY: as for CMSG_FIRSTHDR above.
            cmsg = unsafe { libc::CMSG_NXTHDR(&raw const msg, cmsg) };
        }
        Ok(out)
    }

    /// Sends one frame on the bound interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<usize> {
        // SAFETY: `frame` is valid for reads of `frame.len()` bytes for the whole call.
        cvt_size(unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast::<libc::c_void>(),
                frame.len(),
                0,
            )
        })
    }
}

/// One frame as [`PacketSocket::recv`] got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// The bytes written to the buffer.
    pub len: usize,
    /// The packet type (`PACKET_HOST` = 0, `PACKET_BROADCAST` = 1, ..., `PACKET_OUTGOING` = 4).
    pub pkttype: u8,
    /// The outer VLAN tag removed from the data on receive, as (TPID, TCI): the frame carried
    /// it on the wire, in front of what the buffer holds.
    pub vlan: Option<(u16, u16)>,
    /// When the kernel saw the frame (since the Unix epoch), with timestamps enabled.
    pub timestamp: Option<std::time::Duration>,
}

/// `tp_status` bit: `tp_vlan_tci` is valid (a tag was removed, even one whose TCI is 0).
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
/// `tp_status` bit: `tp_vlan_tpid` is valid.
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;

/// The tag PACKET_AUXDATA reports, as (TPID, TCI): present when the status says so or the TCI
/// is non-zero (as libpcap reads it; older kernels set no status bit); TPID 0x8100 unless the
/// kernel says otherwise.
pub fn stripped_vlan(status: u32, tci: u16, tpid: u16) -> Option<(u16, u16)> {
    if status & TP_STATUS_VLAN_VALID == 0 && tci == 0 {
        return None;
    }
    let tpid = if status & TP_STATUS_VLAN_TPID_VALID != 0 && tpid != 0 {
        tpid
    } else {
        0x8100
    };
    Some((tpid, tci))
}

/// The CPUs this thread may run on (sched_getaffinity), in ascending order.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: cpu_set_t is plain old data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    // SAFETY: `set` is a writable cpu_set_t of the size passed; pid 0 is the calling thread.
    cvt(unsafe { libc::sched_getaffinity(0, mem::size_of::<libc::cpu_set_t>(), &raw mut set) })?;
    let max = 8 * mem::size_of::<libc::cpu_set_t>();
    // SAFETY: CPU_ISSET only reads `set`, and every index is below CPU_SETSIZE.
    Ok((0..max)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect())
}

/// Restricts the calling thread to CPU `cpu` (sched_setaffinity).
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= 8 * mem::size_of::<libc::cpu_set_t>() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: cpu_set_t is plain old data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE (checked above); CPU_SET writes inside `set`.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is the calling thread.
    cvt(unsafe { libc::sched_setaffinity(0, mem::size_of::<libc::cpu_set_t>(), &raw const set) })?;
    Ok(())
}

/// Gives the calling thread the lowest real-time priority (SCHED_FIFO 1), so that a frame's
/// arrival preempts ordinary work on its CPU at once. Needs CAP_SYS_NICE.
pub fn realtime_current_thread() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: `param` is a valid sched_param living across the call; pid 0 is this thread.
    cvt(unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &raw const param) })?;
    Ok(())
}

/// A blocking NETLINK_ROUTE socket for requests (dumps), subscribed to no notifications.
pub fn netlink_request_socket() -> io::Result<OwnedFd> {
    netlink_socket(0, 0)
}

/// A non-blocking NETLINK_ROUTE socket, for an event loop, subscribed to the multicast
/// notification `groups` (`RTMGRP_*` bits).
pub fn netlink_listener(groups: u32) -> io::Result<OwnedFd> {
    netlink_socket(groups, libc::SOCK_NONBLOCK)
}

/// A close-on-exec raw NETLINK_ROUTE socket with `flags` (`SOCK_*`) added, bound to `groups`.
fn netlink_socket(groups: u32, flags: libc::c_int) -> io::Result<OwnedFd> {
    let ty = libc::SOCK_RAW | libc::SOCK_CLOEXEC | flags;
    // SAFETY: socket(2) takes no pointers; a non-negative result is a new descriptor that
    // nothing else owns.
    let fd = unsafe {
        let raw = cvt(libc::socket(libc::AF_NETLINK, ty, libc::NETLINK_ROUTE))?;
        OwnedFd::from_raw_fd(raw)
    };
    // SAFETY: sockaddr_nl is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_nl = unsafe { mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as u16;
    addr.nl_groups = groups;
    // SAFETY: `addr` is a valid sockaddr_nl living across the call; the length is its size.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const addr).cast::<libc::sockaddr>(),
            mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    })?;
    Ok(fd)
}

/// `send(2)` on any socket.
pub fn send(fd: &OwnedFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: `data` is valid for reads of `data.len()` bytes for the whole call.
    cvt_size(unsafe {
        libc::send(
            fd.as_raw_fd(),
            data.as_ptr().cast::<libc::c_void>(),
            data.len(),
            0,
        )
    })
}

/// `recv(2)` on any socket.
pub fn recv(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call.
    let n = cvt_size(unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast::<libc::c_void>(),
            buf.len(),
            0,
        )
    })?;
    Ok(n.min(buf.len()))
}

/// Moves the calling thread into the network namespace `netns` (a file such as
/// `/run/netns/NAME`). Sockets opened afterwards on this thread belong to that namespace.
pub fn enter_netns(netns: &File) -> io::Result<()> {
    // SAFETY: setns(2) takes a descriptor we borrow for the call and a flag; no memory is
    // shared.
    cvt(unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) })?;
    Ok(())
}

/// Types whose descriptor is owned by the value and never changes while it lives. Sealed:
/// [`async_fd`]'s soundness rests on it, so only this module implements it (for `OwnedFd`).
pub trait OwnsFd: AsRawFd + sealed::Sealed {}
impl OwnsFd for OwnedFd {}

mod sealed {
    /// Keeps [`super::OwnsFd`] implemented only here.
    pub trait Sealed {}
    impl Sealed for std::os::fd::OwnedFd {}
}

/// Registers a socket with the tokio reactor. Must be called inside a runtime.
pub fn async_fd<T: OwnsFd>(inner: T) -> io::Result<tokio::io::unix::AsyncFd<T>> {
    // SAFETY: `T: OwnsFd` owns an open descriptor that stays open and unchanged until `inner`
    // is dropped, which the AsyncFd does after deregistering it.
    Ok(unsafe { tokio::io::unix::AsyncFd::register(inner) }?)
}

#[cfg(test)]
mod tests {
    use super::stripped_vlan;

    #[test]
    fn auxdata_vlan() {
        assert_eq!(stripped_vlan(0, 0, 0), None);
        assert_eq!(stripped_vlan(1, 0, 0), None, "TP_STATUS_USER only");
        assert_eq!(
            stripped_vlan(0x10, 0, 0),
            Some((0x8100, 0)),
            "VID 0, priority tag"
        );
        assert_eq!(stripped_vlan(0, 100, 0), Some((0x8100, 100)), "old kernels");
        assert_eq!(stripped_vlan(0x50, 100, 0x88a8), Some((0x88a8, 100)));
        assert_eq!(
            stripped_vlan(0x10, 100, 0x88a8),
            Some((0x8100, 100)),
            "TPID not valid"
        );
    }
}
