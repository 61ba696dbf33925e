//! The crate's one error type at its front door; the codec's own [`crate::wire::Error`] is one
//! of its variants.

use std::io;
use std::net::IpAddr;

/// The crate's error: a malformed message (from the codec), or the driver's system calls and
/// peer bookkeeping.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A message that does not decode or encode.
    #[error("wire: {0}")]
    Wire(#[from] crate::wire::Error),
    /// A system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What the driver was doing.
        context: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// No peer with this address.
    #[error("no peer {0}")]
    UnknownPeer(IpAddr),
    /// A peer with this address exists already.
    #[error("peer {0} exists already")]
    PeerExists(IpAddr),
    /// The MD5 password is longer than the kernel accepts (80 octets).
    #[error("TCP MD5 password longer than 80 octets")]
    PasswordTooLong,
}
