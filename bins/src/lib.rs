//! # lb-bins
//!
//! Home of the `controller` and `speaker` binaries, which assemble the library crates
//! (`lb-ipam`, `lb-arp`, `lb-ndp`, `lb-bgp`, `lb-memberlist`, `lb-k8s`) behind a command line.
//!
//! - [`controller`]: the parts of the `controller` binary (MetalLB's controller: addresses for
//!   every `LoadBalancer` Service).
//! - [`speaker`]: the parts of the `speaker` binary (MetalLB's speaker: announces those
//!   addresses by Layer 2 and BGP; standalone mode reads a manifest folder).
//! - [`http`]: the small server both use for `/metrics`, `/healthz` and `/readyz`; [`logging`]:
//!   their `--log-level` / `--log-format`; [`metrics`]: the series both export.

pub mod controller;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod speaker;
