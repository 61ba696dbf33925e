//! The metrics both binaries export under upstream's names: the `metallb_k8s_client_*`
//! family (spec §6), and the text exposition.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// `metallb_k8s_client_*`.
#[derive(Debug, Clone, Default)]
pub struct ClientMetrics {
    /// `metallb_k8s_client_updates_total`.
    pub updates: Counter,
    /// `metallb_k8s_client_update_errors_total`.
    pub update_errors: Counter,
    /// `metallb_k8s_client_config_loaded_bool`.
    pub config_loaded: Gauge,
    /// `metallb_k8s_client_config_stale_bool`.
    pub config_stale: Gauge,
}

impl ClientMetrics {
    /// Registers the four series in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = ClientMetrics::default();
        registry.register(
            "metallb_k8s_client_updates",
            "Number of k8s object updates that have been processed",
            m.updates.clone(),
        );
        registry.register(
            "metallb_k8s_client_update_errors",
            "Number of k8s object updates that failed for some reason",
            m.update_errors.clone(),
        );
        registry.register(
            "metallb_k8s_client_config_loaded_bool",
            "1 if the MetalLB configuration was successfully loaded at least once",
            m.config_loaded.clone(),
        );
        registry.register(
            "metallb_k8s_client_config_stale_bool",
            "1 if running on a stale configuration, because the latest config failed to load",
            m.config_stale.clone(),
        );
        m
    }
}

/// The text exposition of `registry`.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}
