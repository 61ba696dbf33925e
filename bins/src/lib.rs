//! # lb-bins
//!
//! Home of the `controller` and `speaker` binaries, which assemble the library crates
//! (`lb-ipam`, `lb-arp`, `lb-ndp`, `lb-bgp`, `lb-memberlist`, `lb-k8s`) behind a command line.
//!
//! No binary exists yet: the crate is an empty library so the workspace layout is stable.
