//! # lb-bins
//!
//! Home of the `controller` and `speaker` binaries, which assemble the library crates
//! (`lb-ipam`, `lb-arp`, `lb-ndp`, `lb-bgp`, `lb-memberlist`, `lb-k8s`) behind a command line.
//!
//! - [`controller`]: the parts of the `controller` binary (MetalLB's controller: addresses for
//!   every `LoadBalancer` Service).

pub mod controller;
