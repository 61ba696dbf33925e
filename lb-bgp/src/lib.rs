//! # lb-bgp
//!
//! Zero-copy BGP wire codec, a sans-IO RFC 4271 session state machine, a thin tokio driver and a
//! route advertiser that sends only the difference between the desired and the advertised routes.
//!
//! This crate is not implemented yet: it holds no public items. Its scope is tracked by
//! issue 4 and 5 in the project's tracker.
