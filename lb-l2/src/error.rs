//! The crate's one error type.

/// Everything that can go wrong in this crate: decoding, encoding, parsing a MAC address and
/// (in `netlink`) the operating system. Never a panic.
///
/// The variants and their messages are the same as the matching variants of `lb_arp::Error` and
/// `lb_ndp::Error`, which convert from this type one to one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The buffer is shorter than the header (or the lengths it declares) need.
    #[error("truncated: {needed} bytes needed, {got} present")]
    Truncated {
        /// Bytes the header or its length fields require.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The frame is well formed but not something this crate handles (two stacked VLAN tags).
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// An emit buffer is smaller than `buffer_len()`.
    #[error("buffer too small: {needed} bytes needed, {got} available")]
    BufferTooSmall {
        /// Bytes `emit` writes.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// A configuration value (such as a MAC address in text) is malformed.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// The responder does not know this interface.
    #[error("unknown interface index {0}")]
    UnknownInterface(u32),
    /// A system call failed (`netlink` and the driver only).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
