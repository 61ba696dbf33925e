//! The crate's one error type.

/// Everything that can go wrong in the Layer 2 crates (this one, lb-arp and lb-ndp, which
/// re-export it as their `Error`): decoding, encoding, configuring a responder and (in
/// `netlink` and the drivers) the operating system. Never a panic.
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
    /// The frame is well formed but not something these crates handle (two stacked VLAN tags,
    /// another EtherType, an ARP hardware or protocol type other than Ethernet/IPv4, an IP
    /// version other than 6, a header other than ICMPv6 after IPv6, an ICMPv6 message other
    /// than NS/NA).
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
    /// A configuration value (such as a MAC address in text, or a schedule) is malformed.
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
