//! # lb-k8s
//!
//! The MetalLB object model and the pure decisions built on it.
//!
//! - [`crd`]: the nine `metallb.io` kinds (`IPAddressPool`, `L2Advertisement`,
//!   `BGPAdvertisement`, `BGPPeer` v1beta1 and v1beta2, `BFDProfile`, `Community`,
//!   `ServiceL2Status`, `ServiceBGPStatus`, `ConfigurationState`) and their CRDs.
//! - [`config`]: every object → one validated [`config::Config`], or an [`Error`] naming the
//!   object and field.
//! - [`service`]: which Services are ours, and Service ⇄ lb-ipam request and result.
//! - [`plan`]: what this speaker should announce, by L2 and by BGP, and the status objects to
//!   write; no Kubernetes client, no async runtime.
//! - [`source`]: where objects come from: a folder of manifests or the Kubernetes API.

// Configuration errors name the object, the field and the rule; they are built once per
// rejected configuration, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod config;
pub mod crd;
mod error;
pub mod plan;
pub mod service;
pub mod source;

pub use error::{Error, ObjectRef, Problem};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
