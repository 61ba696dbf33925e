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
    /// The frame is well formed but not something this crate handles (another EtherType, an
    /// IP version other than 6, a header other than ICMPv6 after IPv6, an ICMPv6 message other
    /// than NS/NA, or two stacked VLAN tags).
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// The packet breaks a validity rule of RFC 4861 §7.1 and must be silently discarded.
    #[error("invalid: {0}")]
    Invalid(&'static str),
    /// The ICMPv6 checksum does not match the pseudo-header and message.
    #[error("bad ICMPv6 checksum: computed {computed:#06x}, packet has {found:#06x}")]
    Checksum {
        /// What the checksum should be.
        computed: u16,
        /// What the packet carries.
        found: u16,
    },
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
