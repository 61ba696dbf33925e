#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod codec;
pub mod fuzzing;
pub mod wire;

pub use codec::{BgpCodec, Frame};
