#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod codec;
pub mod fuzzing;
pub mod session;
pub mod wire;

pub use codec::{BgpCodec, Frame};
pub use session::{Action, PeerConfig, Route, RouteAttributes, Session};
