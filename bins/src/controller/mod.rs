//! The `controller` binary's parts: the pure [`reconcile`] core, its Kubernetes [`shell`],
//! [`metrics`] and (re-exported from the crate root) the small [`http`] server for
//! `/metrics`, `/healthz` and `/readyz`.

pub use crate::http;
pub mod metrics;
pub mod reconcile;
pub mod shell;
pub mod webhook;
