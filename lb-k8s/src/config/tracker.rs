//! "Last good config" (spec §2.7): a new set of objects replaces the configuration only if it
//! assembles; otherwise the previous one stays and the tracker is stale.

use std::sync::Arc;

use super::{Config, Objects, Options, assemble};
use crate::Error;

/// What [`Tracker::update`] did.
#[derive(Debug)]
pub enum Update {
    /// The objects assemble to the configuration already in force.
    Unchanged,
    /// A new configuration is in force.
    Applied(Arc<Config>),
    /// The objects do not assemble; the previous configuration (if any) stays.
    Rejected(Error),
}

/// Holds the configuration in force and the two flags behind
/// `metallb_k8s_client_config_loaded_bool` and `metallb_k8s_client_config_stale_bool`.
#[derive(Debug, Default)]
pub struct Tracker {
    options: Options,
    current: Option<Arc<Config>>,
    stale: bool,
}

impl Tracker {
    /// A tracker with no configuration yet (both components ignore Services until one loads).
    pub fn new(options: Options) -> Self {
        Tracker {
            options,
            current: None,
            stale: false,
        }
    }

    /// Assembles `objects`; applies the result if it is valid and different.
    pub fn update(&mut self, objects: &Objects) -> Update {
        match assemble(objects, &self.options) {
            Err(e) => {
                self.stale = true;
                Update::Rejected(e)
            }
            Ok(config) => {
                self.stale = false;
                if self.current.as_deref() == Some(&config) {
                    return Update::Unchanged;
                }
                let config = Arc::new(config);
                self.current = Some(config.clone());
                Update::Applied(config)
            }
        }
    }

    /// The configuration in force.
    pub fn current(&self) -> Option<&Arc<Config>> {
        self.current.as_ref()
    }

    /// Whether a configuration was ever applied (never returns to `false`).
    pub fn loaded(&self) -> bool {
        self.current.is_some()
    }

    /// Whether the last update was rejected.
    pub fn stale(&self) -> bool {
        self.stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(yaml: &str) -> Objects {
        let mut o = Objects::default();
        o.parse_yaml(yaml, "test").expect("parses");
        o
    }

    #[test]
    fn keeps_the_last_good_config() {
        let good = objects(
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a}\nspec: {addresses: [192.0.2.0/24]}",
        );
        let bad = objects(
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a}\nspec: {addresses: [192.0.2.1]}",
        );
        let mut t = Tracker::default();
        assert!(!t.loaded());
        assert!(matches!(t.update(&bad), Update::Rejected(_)));
        assert!(t.stale() && !t.loaded() && t.current().is_none());
        assert!(matches!(t.update(&good), Update::Applied(_)));
        assert!(matches!(t.update(&good), Update::Unchanged));
        assert!(matches!(t.update(&bad), Update::Rejected(_)));
        assert!(t.stale() && t.loaded());
        assert_eq!(t.current().map(|c| c.pools.len()), Some(1));
        // All pools deleted is a valid configuration.
        assert!(matches!(t.update(&Objects::default()), Update::Applied(_)));
        assert!(!t.stale());
    }
}
