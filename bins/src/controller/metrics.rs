//! The controller's Prometheus metrics, named and labelled as upstream's (spec §6).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use lb_ipam::PoolCounters;

/// The `pool` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabel {
    /// The pool's name.
    pub pool: String,
}

type PoolGauge = Family<PoolLabel, Gauge<f64, AtomicU64>>;

/// Every metric the controller exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    total: PoolGauge,
    v4_total: PoolGauge,
    v6_total: PoolGauge,
    in_use: PoolGauge,
    v4_in_use: PoolGauge,
    v6_in_use: PoolGauge,
    services: PoolGauge,
    /// `metallb_k8s_client_updates_total`.
    pub updates: Counter,
    /// `metallb_k8s_client_update_errors_total`.
    pub update_errors: Counter,
    /// `metallb_k8s_client_config_loaded_bool`.
    pub config_loaded: Gauge,
    /// `metallb_k8s_client_config_stale_bool`.
    pub config_stale: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let mut gauge = |name: &str, help: &str| {
            let g = PoolGauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let total = gauge(
            "metallb_allocator_addresses_total",
            "Number of usable IP addresses, per pool",
        );
        let v4_total = gauge(
            "metallb_allocator_ipv4_addresses_total",
            "Number of usable IPv4 addresses, per pool",
        );
        let v6_total = gauge(
            "metallb_allocator_ipv6_addresses_total",
            "Number of usable IPv6 addresses, per pool",
        );
        let in_use = gauge(
            "metallb_allocator_addresses_in_use_total",
            "Number of IP addresses in use, per pool",
        );
        let v4_in_use = gauge(
            "metallb_allocator_ipv4_addresses_in_use_total",
            "Number of IPv4 addresses in use, per pool",
        );
        let v6_in_use = gauge(
            "metallb_allocator_ipv6_addresses_in_use_total",
            "Number of IPv6 addresses in use, per pool",
        );
        let services = gauge(
            "metallb_allocator_services_allocated_total",
            "Number of Services allocated, per pool",
        );
        let crate::metrics::ClientMetrics {
            updates,
            update_errors,
            config_loaded,
            config_stale,
        } = crate::metrics::ClientMetrics::register(&mut registry);
        Metrics {
            registry,
            total,
            v4_total,
            v6_total,
            in_use,
            v4_in_use,
            v6_in_use,
            services,
            updates,
            update_errors,
            config_loaded,
            config_stale,
        }
    }

    /// Sets the allocator gauges to `pools` (every configured pool, with its counters and
    /// Service count); series of pools no longer configured are removed.
    pub fn set_pools(&self, pools: &[(String, PoolCounters, usize)]) {
        let families = [
            &self.total,
            &self.v4_total,
            &self.v6_total,
            &self.in_use,
            &self.v4_in_use,
            &self.v6_in_use,
            &self.services,
        ];
        for f in families {
            f.clear();
        }
        // Counts are at most 2^128; f64 keeps their magnitude, as upstream's float gauges do.
        #[allow(clippy::cast_precision_loss)]
        for (name, c, n) in pools {
            let l = PoolLabel { pool: name.clone() };
            let sum = |a: u128, b: u128| a.saturating_add(b) as f64;
            self.total
                .get_or_create(&l)
                .set(sum(c.v4.total, c.v6.total));
            self.v4_total.get_or_create(&l).set(c.v4.total as f64);
            self.v6_total.get_or_create(&l).set(c.v6.total as f64);
            self.in_use
                .get_or_create(&l)
                .set(sum(c.v4.assigned, c.v6.assigned));
            self.v4_in_use.get_or_create(&l).set(c.v4.assigned as f64);
            self.v6_in_use.get_or_create(&l).set(c.v6.assigned as f64);
            self.services.get_or_create(&l).set(*n as f64);
        }
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        crate::metrics::encode(&self.registry)
    }
}
