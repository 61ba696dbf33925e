#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

pub mod codec;
#[cfg(target_os = "linux")]
pub mod driver;
mod error;
#[cfg(any(test, fuzzing, feature = "testing"))]
pub mod fuzzing;
pub mod session;
pub mod wire;

pub use codec::{BgpCodec, Frame};
pub use error::Error;
pub use session::{Output, Route, RouteAttributes, Session, SessionConfig};
