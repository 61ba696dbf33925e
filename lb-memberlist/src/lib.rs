//! # lb-memberlist
//!
//! SWIM with the Lifeguard extensions as a sans-IO core, wire-compatible with HashiCorp
//! memberlist, plus a tokio driver over UDP and TCP.
//!
//! This crate is not implemented yet: it holds no public items. Its scope is tracked by
//! issue 6 in the project's tracker.
