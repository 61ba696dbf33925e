//! BFD, Bidirectional Forwarding Detection (RFC 5880), for single-hop (RFC 5881) and multihop
//! (RFC 5883) sessions over IPv4 and IPv6, in the workspace's layers:
//!
//! - [`wire`]: the Control packet codec with its authentication sections;
//! - [`session`]: the sans-IO session core (RFC 5880 §6.8), time passed in by the caller;
//! - `driver` (Linux): a tokio driver with the UDP sockets and timers;
//! - [`profile`]: MetalLB `BFDProfile` fields mapped to a session configuration.

#[cfg(target_os = "linux")]
pub mod driver;
mod error;
#[cfg(any(test, fuzzing, feature = "testing"))]
pub mod fuzzing;
pub mod profile;
pub mod session;
pub mod wire;

pub use error::Error;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
