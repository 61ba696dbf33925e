//! # lb-k8s
//!
//! Types for the metallb.io custom resources, whole-configuration validation, reconcilers, and
//! configuration sources (the Kubernetes API server, or manifest files on a plain Linux host).
//!
//! This crate is not implemented yet: it holds no public items. Its scope is tracked by
//! a future issue in the project's tracker.
