//! The crate's one error type.

use std::io;

use crate::wire::{AuthType, State};

/// Everything that can go wrong in lb-bfd: a packet the RFC says to discard (with the rule it
/// broke), a configuration out of range, or a system call of the driver.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The buffer is shorter than the mandatory section (24 octets) or than the packet's Length
    /// field (RFC 5880 §6.8.6: "greater than the payload of the encapsulating protocol").
    #[error("truncated BFD packet")]
    Truncated,
    /// The Length field is below 24 (26 with the A bit), or disagrees with the authentication
    /// section's own length.
    #[error("bad BFD Length field {0}")]
    BadLength(u8),
    /// The version is not 1.
    #[error("unsupported BFD version {0}")]
    BadVersion(u8),
    /// Detect Mult is zero.
    #[error("Detect Mult is zero")]
    ZeroDetectMult,
    /// The Multipoint (M) bit is set.
    #[error("Multipoint bit set")]
    Multipoint,
    /// My Discriminator is zero.
    #[error("My Discriminator is zero")]
    ZeroMyDiscriminator,
    /// Your Discriminator is zero in a packet whose State is neither Down nor AdminDown.
    #[error("Your Discriminator is zero in state {0:?}")]
    ZeroYourDiscriminator(State),
    /// The authentication section's length does not fit its type.
    #[error("authentication section of type {auth_type:?} with length {len}")]
    BadAuthLength {
        /// The section's type.
        auth_type: AuthType,
        /// Its Auth Len field.
        len: u8,
    },
    /// An authentication type this crate does not know (0 or 6..=255).
    #[error("unknown authentication type {0}")]
    UnknownAuthType(u8),
    /// Authentication failed: the A bit disagrees with the session's configuration, or the
    /// type, key ID, password, digest or sequence number is wrong.
    #[error("authentication failed: {0}")]
    AuthFailed(&'static str),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// No session for this peer.
    #[error("no BFD session for {0}")]
    UnknownSession(std::net::IpAddr),
    /// A session for this peer exists already.
    #[error("a BFD session for {0} exists already")]
    SessionExists(std::net::IpAddr),
    /// The driver has shut down.
    #[error("the BFD driver has shut down")]
    Shutdown,
    /// A system call of the driver failed.
    #[error("{context}: {source}")]
    Io {
        /// What the driver was doing.
        context: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}
