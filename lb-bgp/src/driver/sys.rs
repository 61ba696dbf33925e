//! The only `unsafe` code of the crate: the two Linux system calls the driver needs that the
//! standard library and socket2 do not wrap.
//!
//! - `setsockopt(TCP_MD5SIG)` (RFC 2385 TCP MD5 signatures): the kernel signs every segment to
//!   and checks every segment from one peer address with a shared key. On a listening socket a
//!   key is installed per peer address (connections accepted from that address inherit it); on
//!   a connecting socket it must be set before `connect`, so the SYN is signed.
//! - `setns(CLONE_NEWNET)`: moves the calling thread into a network namespace (tests and tools
//!   that run a speaker inside a lab namespace).
//!
//! Everything above this module is safe Rust; every block below says why it is sound.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The longest key the kernel accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub(crate) const MD5_MAX_KEY_LEN: usize = 80;

/// `struct tcp_md5sig` of `<linux/tcp.h>` (the libc crate does not define it).
#[repr(C)]
struct TcpMd5Sig {
    /// The peer address: a `sockaddr_in` or `sockaddr_in6` (v4-mapped for an IPv4 peer of an
    /// IPv6 socket).
    addr: libc::sockaddr_storage,
    /// `TCP_MD5SIG_FLAG_*`; only read with `TCP_MD5SIG_EXT`, zero here.
    flags: u8,
    /// Prefix length; only read with `TCP_MD5SIG_EXT`, zero here (one exact address).
    prefixlen: u8,
    /// Key length; 0 deletes the key for the address.
    keylen: u16,
    /// Interface index; only read with `TCP_MD5SIG_EXT`, zero here.
    ifindex: libc::c_int,
    /// The key.
    key: [u8; MD5_MAX_KEY_LEN],
}

/// Installs (non-empty `key`) or deletes (empty `key`) the TCP MD5 key for `peer` on the
/// socket `fd`, which is IPv6 when `socket_v6` (then an IPv4 `peer` is given v4-mapped, as
/// a dual-stack socket sees it).
pub(crate) fn set_tcp_md5(
    fd: BorrowedFd<'_>,
    socket_v6: bool,
    peer: IpAddr,
    key: &[u8],
) -> io::Result<()> {
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "TCP MD5 key longer than 80 octets",
        ));
    }
    // SAFETY: TcpMd5Sig is plain old data (integers and byte arrays); all-zero is valid.
    let mut sig: TcpMd5Sig = unsafe { mem::zeroed() };
    match (socket_v6, peer) {
        (false, IpAddr::V4(v4)) => {
            // SAFETY: sockaddr_storage is larger than and aligned at least as sockaddr_in,
            // and the pointer comes from a live, exclusively borrowed value.
            let sin = unsafe {
                &mut *(&mut sig.addr as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = u32::from(v4).to_be();
        }
        (false, IpAddr::V6(_)) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an IPv6 peer on an IPv4 socket",
            ));
        }
        (true, peer) => {
            let v6 = match peer {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe {
                &mut *(&mut sig.addr as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_addr.s6_addr = v6.octets();
        }
    }
    sig.keylen = key.len() as u16;
    sig.key[..key.len()].copy_from_slice(key);
    // SAFETY: `sig` is a valid tcp_md5sig that lives across the call, the length passed is its
    // size, and the kernel only reads it; `fd` is a socket borrowed for the call.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            (&sig as *const TcpMd5Sig).cast::<libc::c_void>(),
            mem::size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Moves the calling thread into the network namespace `netns` (a file such as
/// `/run/netns/NAME`). Sockets opened afterwards on this thread belong to that namespace.
pub(crate) fn enter_netns(netns: &std::fs::File) -> io::Result<()> {
    // SAFETY: setns(2) takes a descriptor we borrow for the call and a flag; no memory is
    // shared.
    let ret = unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_kernel() {
        // sockaddr_storage 128 + flags 1 + prefixlen 1 + keylen 2 + ifindex 4 + key 80.
        assert_eq!(mem::size_of::<TcpMd5Sig>(), 216);
    }

    #[test]
    fn keys_install_and_delete_on_both_families() {
        use std::os::fd::AsFd;
        let l4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let peer4: IpAddr = "192.0.2.1".parse().unwrap_or_else(|e| panic!("{e}"));
        set_tcp_md5(l4.as_fd(), false, peer4, b"secret").unwrap_or_else(|e| panic!("{e}"));
        set_tcp_md5(l4.as_fd(), false, peer4, b"").unwrap_or_else(|e| panic!("{e}"));
        assert!(set_tcp_md5(l4.as_fd(), false, peer4, &[0; 81]).is_err());
        if let Ok(l6) = std::net::TcpListener::bind("[::1]:0") {
            let peer6: IpAddr = "2001:db8::1".parse().unwrap_or_else(|e| panic!("{e}"));
            set_tcp_md5(l6.as_fd(), true, peer6, b"secret").unwrap_or_else(|e| panic!("{e}"));
            set_tcp_md5(l6.as_fd(), true, peer4, b"secret").unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
