//! The crate's one error type.

/// Everything that can go wrong in this crate: decoding, encoding, configuring the responder and
/// (in the driver) the operating system. Never a panic.
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
    /// The frame is well formed but not something this crate handles (another EtherType, a
    /// hardware or protocol type other than Ethernet/IPv4, or two stacked VLAN tags).
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
    /// The responder does not know this interface.
    #[error("unknown interface index {0}")]
    UnknownInterface(u32),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// A system call failed (driver only).
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

/// The errors of lb-l2 (Ethernet codec, netlink discovery) become the variant of the same name and message.
impl From<lb_l2::Error> for Error {
    fn from(e: lb_l2::Error) -> Self {
        match e {
            lb_l2::Error::Truncated { needed, got } => Error::Truncated { needed, got },
            lb_l2::Error::Unsupported(what) => Error::Unsupported(what),
            lb_l2::Error::BufferTooSmall { needed, got } => Error::BufferTooSmall { needed, got },
            lb_l2::Error::InvalidConfig(what) => Error::InvalidConfig(what),
            lb_l2::Error::UnknownInterface(index) => Error::UnknownInterface(index),
            lb_l2::Error::Io { context, source } => Error::Io { context, source },
            // `lb_l2::Error` is `non_exhaustive`; a variant added there is still reported.
            _ => Error::Unsupported("Ethernet codec error"),
        }
    }
}
