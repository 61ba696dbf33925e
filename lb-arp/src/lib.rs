//! # lb-arp
//!
//! Ethernet II and ARP codec (zero-copy views plus owned representations) and an
//! AF_PACKET responder that answers ARP requests for announced IPv4 addresses and sends
//! gratuitous ARP on takeover.
//!
//! This crate is not implemented yet: it holds no public items. Its scope is tracked by
//! issue 3 in the project's tracker.
