//! # lb-ndp
//!
//! IPv6, ICMPv6, Neighbor Solicitation and Neighbor Advertisement codec with the RFC 4861
//! validity checks, and a responder that answers solicitations for announced IPv6 addresses and
//! sends unsolicited advertisements on takeover.
//!
//! This crate is not implemented yet: it holds no public items. Its scope is tracked by
//! issue 3 in the project's tracker.
