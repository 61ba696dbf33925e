//! The speaker's Prometheus metrics, named and labelled as upstream's (spec §6).

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// `metallb_speaker_announced`'s labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct Announced {
    /// `namespace/name`.
    pub service: String,
    /// `layer2` or `bgp`.
    pub protocol: String,
    /// This node.
    pub node: String,
    /// The address.
    pub ip: String,
}

/// The `peer` label (`address:port`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabel {
    /// `address:port`.
    pub peer: String,
}

/// Every metric the speaker exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    announced: Family<Announced, Gauge>,
    announced_now: Mutex<Vec<Announced>>,
    /// `metallb_bgp_session_up`.
    pub session_up: Family<PeerLabel, Gauge>,
    /// `metallb_bgp_updates_total`.
    pub updates: Family<PeerLabel, Counter>,
    /// `metallb_bgp_announced_prefixes_total`.
    pub announced_prefixes: Family<PeerLabel, Gauge>,
    /// `metallb_bgp_pending_prefixes_total`.
    pub pending_prefixes: Family<PeerLabel, Gauge>,
    /// `metallb_k8s_client_updates_total`.
    pub updates_processed: Counter,
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
        let announced = Family::<Announced, Gauge>::default();
        registry.register(
            "metallb_speaker_announced",
            "Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged",
            announced.clone(),
        );
        let session_up = Family::<PeerLabel, Gauge>::default();
        registry.register(
            "metallb_bgp_session_up",
            "BGP session state (1 is up, 0 is down)",
            session_up.clone(),
        );
        let updates = Family::<PeerLabel, Counter>::default();
        registry.register(
            "metallb_bgp_updates",
            "Number of BGP UPDATE messages sent",
            updates.clone(),
        );
        let announced_prefixes = Family::<PeerLabel, Gauge>::default();
        registry.register(
            "metallb_bgp_announced_prefixes_total",
            "Number of prefixes currently being advertised on the BGP session",
            announced_prefixes.clone(),
        );
        let pending_prefixes = Family::<PeerLabel, Gauge>::default();
        registry.register(
            "metallb_bgp_pending_prefixes_total",
            "Number of prefixes that should be advertised on the BGP session",
            pending_prefixes.clone(),
        );
        let crate::metrics::ClientMetrics {
            updates: updates_processed,
            update_errors,
            config_loaded,
            config_stale,
        } = crate::metrics::ClientMetrics::register(&mut registry);
        Metrics {
            registry,
            announced,
            announced_now: Mutex::new(Vec::new()),
            session_up,
            updates,
            announced_prefixes,
            pending_prefixes,
            updates_processed,
            update_errors,
            config_loaded,
            config_stale,
        }
    }

    /// Replaces the `metallb_speaker_announced` series with `now` (withdrawn ones are
    /// deleted).
    pub fn set_announced(&self, mut now: Vec<Announced>) {
        now.sort();
        now.dedup();
        let mut before = self.announced_now.lock().unwrap_or_else(|p| p.into_inner());
        for old in before.iter() {
            if now.binary_search(old).is_err() {
                self.announced.remove(old);
            }
        }
        for new in &now {
            self.announced.get_or_create(new).set(1);
        }
        *before = now;
    }

    /// Removes a peer's BGP series (its session was removed).
    pub fn remove_peer(&self, peer: &PeerLabel) {
        self.session_up.remove(peer);
        self.updates.remove(peer);
        self.announced_prefixes.remove(peer);
        self.pending_prefixes.remove(peer);
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        crate::metrics::encode(&self.registry)
    }
}

impl crate::http::Exposition for Metrics {
    fn encode(&self) -> String {
        Metrics::encode(self)
    }
}
