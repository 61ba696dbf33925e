//! The `controller` binary's parts: the pure [`reconcile`] core, its Kubernetes [`shell`],
//! [`metrics`] and the small [`http`] server for `/metrics`, `/healthz` and `/readyz`.

pub mod http;
pub mod metrics;
pub mod reconcile;
pub mod shell;
