//! # lb-ipam
//!
//! Load-balancer IP address management with MetalLB's semantics, for any pool size.
//!
//! A controller gives each `LoadBalancer` service addresses from configured pools. This crate
//! holds the rules upstream MetalLB applies, and nothing Kubernetes-specific beyond the shape of
//! the inputs:
//!
//! - **Pools** ([`PoolSpec`] → [`Pool`] → [`Pools`]): CIDRs and `start-end` ranges, IPv4 and
//!   IPv6 mixed, no overlaps within or across pools; `autoAssign`; `avoidBuggyIPs`;
//!   `serviceAllocation` with priority, namespaces, namespace selectors and service selectors.
//! - **Requests** ([`Service`]): family policy ([`FamilyRequest`]), requested pool, requested
//!   addresses, sharing keys ([`SharingKey`]) and ports. [`Annotations::parse`] reads the
//!   `metallb.io/` annotations (and the deprecated `metallb.universe.tf/` ones).
//! - **Allocation** ([`Allocator`]): [`Allocator::converge`] is the whole per-service decision
//!   of upstream's controller; [`Allocator::allocate`], [`Allocator::allocate_from_pool`],
//!   [`Allocator::assign`] and [`Allocator::release`] are its parts;
//!   [`Allocator::restore`] rebuilds state after a restart; [`Allocator::set_pools`] applies a
//!   new configuration and reports the assignments it orphans; [`Allocator::counters`] gives
//!   exact per-pool counts.
//!
//! Addresses are handed out lowest-first within each range, ranges in spec order, as upstream
//! does, so results are reproducible. Where upstream is random (the order of generic pools, ties
//! between equal priorities) this crate uses configuration order.
//!
//! Unlike upstream, nothing here enumerates a pool: the next free address is found in
//! O(log n) of the number of assignments, an IPv6 /48 costs what an IPv4 /24 does, and counters
//! are exact `u128` values.
//!
//! ```
//! use lb_ipam::{Allocator, Pools, PoolSpec, Service};
//!
//! let spec = PoolSpec {
//!     addresses: vec!["192.0.2.0/30".into(), "2001:db8::/64".into()],
//!     ..PoolSpec::default()
//! };
//! let mut alloc = Allocator::with_pools(Pools::from_specs([("default", &spec)])?);
//! let web = Service::new("shop", "web");
//! let got = alloc.converge(&web, &[]).outcome?;
//! assert_eq!(got.ips, vec!["192.0.2.0".parse::<std::net::IpAddr>()?]);
//! assert_eq!(got.pool, "default");
//! assert_eq!(alloc.counters("default").map(|c| c.v4.available), Some(3));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod allocator;
mod error;
mod family;
mod keyed;
mod occupancy;
mod pool;
mod records;
#[cfg(any(test, fuzzing, feature = "testing"))]
pub mod script;
mod selector;
mod service;
mod table;

pub use allocator::{
    Allocator, Assignment, ClearReason, Convergence, FamilyCounters, Note, Orphan, PoolCounters,
};
pub use error::{Conflict, Error};
pub use family::{Family, is_buggy};
pub use pool::{
    AddressRange, Pool, PoolSpec, Pools, RangeProblem, ServiceAllocation, ServiceAllocationSpec,
};
pub use records::Ips;
pub use selector::{
    LabelSelector, LabelSelectorRequirement, Labels, Operator, SelectorError, SelectorProblem,
    labels_to_string,
};
pub use service::{
    Annotations, FamilyRequest, Port, Protocol, Service, ServiceKey, SharingKey, TrafficPolicy,
    annotations,
};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
