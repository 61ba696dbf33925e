//! Where objects come from, behind one trait: [`ManifestSource`] (a folder of YAML files, for
//! plain Linux hosts and tests) and [`KubeSource`] (kube-rs reflectors against the API
//! server). Both publish [`Snapshot`]s of [`Objects`] on a `tokio::sync::watch` channel, so a
//! binary takes `impl Source` and does not care which it has.

mod kube;
mod manifest;

use std::sync::Arc;

use tokio::sync::watch;

pub use self::kube::{Kinds, KubeSource, RELIST, Read};
pub use manifest::{ManifestSource, ManifestWatch};

use crate::config::Objects;

/// One consistent view of every object a source holds.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Increases with every published snapshot; 0 before the first one.
    pub generation: u64,
    /// The objects.
    pub objects: Arc<Objects>,
}

/// A source of [`Snapshot`]s.
pub trait Source {
    /// A receiver of the snapshots; the current one is available at once (generation 0
    /// until the source has loaded everything once).
    fn subscribe(&self) -> watch::Receiver<Snapshot>;
}
