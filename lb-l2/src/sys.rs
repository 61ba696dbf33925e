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

    /// Joins (`join = true`) or leaves a link-layer multicast group on the bound interface.
    pub fn set_membership(&self, mac: [u8; 6], join: bool) -> io::Result<()> {
        // SAFETY: packet_mreq is plain old data; all-zero is a valid value.
        let mut mreq: libc::packet_mreq = unsafe { mem::zeroed() };
        mreq.mr_ifindex = self.ifindex as libc::c_int;
        mreq.mr_type = libc::PACKET_MR_MULTICAST as u16;
        mreq.mr_alen = 6;
        mreq.mr_address[..6].copy_from_slice(&mac);
        let opt = if join {
            libc::PACKET_ADD_MEMBERSHIP
        } else {
            libc::PACKET_DROP_MEMBERSHIP
        };
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

    /// Receives one frame; returns its length and the packet type (`PACKET_HOST`,
    /// `PACKET_BROADCAST`, `PACKET_OUTGOING`, ...).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, u8)> {
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
        let mut len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes; `addr`/`len` describe a
        // writable sockaddr_ll of the size given. The kernel writes no more than those sizes.
        let n = cvt_size(unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast::<libc::c_void>(),
                buf.len(),
                libc::MSG_TRUNC,
                (&raw mut addr).cast::<libc::sockaddr>(),
                &raw mut len,
            )
        })?;
        Ok((n.min(buf.len()), addr.sll_pkttype))
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

/// A NETLINK_ROUTE socket. `groups` subscribes to multicast notifications (0 for none);
/// `nonblocking` for use under an event loop.
pub fn netlink_socket(groups: u32, nonblocking: bool) -> io::Result<OwnedFd> {
    let mut ty = libc::SOCK_RAW | libc::SOCK_CLOEXEC;
    if nonblocking {
        ty |= libc::SOCK_NONBLOCK;
    }
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
