//! The crate's error type: lb-l2's, which the Layer 2 crates share (lb-l2, lb-arp and lb-ndp
//! have one error enum between them, so an error crosses from the Ethernet codec, the
//! responder core or the driver unchanged).

pub use lb_l2::{Error, Result};
