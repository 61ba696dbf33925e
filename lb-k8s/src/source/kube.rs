//! The Kubernetes API server as a source: one kube-rs reflector per kind, each a cache that
//! the watcher keeps current across watch restarts (a broken watch is resumed, a `410 Gone`
//! re-lists), and a task that publishes a [`Snapshot`] of every cache after changes.

use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::{Snapshot, Source};
use crate::config::Objects;
use crate::crd::{
    BFDProfile, BGPAdvertisement, BGPPeer, Community, IPAddressPool, L2Advertisement,
};

/// Reflectors over the `metallb.io` configuration objects and Secrets of the MetalLB
/// namespace, and over Services, EndpointSlices, Nodes and Namespaces of the whole cluster
/// (BGPPeers, Nodes and EndpointSlices as [`Kinds`] says). Dropping it stops every watch.
#[derive(Debug)]
pub struct KubeSource {
    rx: watch::Receiver<Snapshot>,
    tasks: Vec<JoinHandle<()>>,
}

/// How [`KubeSource`] reads one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// A watch keeps a cache current (needs `list` and `watch`).
    Watch,
    /// Listed at start, again after each change of a watched configuration kind (pools,
    /// advertisements, communities, BFD profiles, Secrets, Namespaces) and every
    /// [`RELIST`]; needs `list` only. Changes of this kind alone are seen within `RELIST`.
    List,
    /// Not read: the kind's list in every snapshot is empty.
    Skip,
}

/// The shortest pause between two snapshots (a burst of events lands in one).
const SNAPSHOT_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// The pause after a snapshot is at least this many times what building it cost.
const SNAPSHOT_DUTY: u32 = 10;

/// How often a [`Read::List`] kind is listed when nothing else prompts it.
pub const RELIST: std::time::Duration = std::time::Duration::from_secs(30);

/// Which kinds a [`KubeSource`] reads, and how. Pools, advertisements, communities, BFD
/// profiles, the namespace's Secrets, Namespaces and Services are always watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds {
    /// BGPPeers of the namespace.
    pub peers: Read,
    /// Nodes.
    pub nodes: Read,
    /// EndpointSlices.
    pub endpoint_slices: Read,
}

impl Kinds {
    /// Everything watched: what the speaker needs (and what its RBAC grants).
    pub const ALL: Kinds = Kinds {
        peers: Read::Watch,
        nodes: Read::Watch,
        endpoint_slices: Read::Watch,
    };
    /// What the controller needs, within upstream's controller RBAC: BGPPeers and Nodes may
    /// only be listed (they matter to the configuration's validation, not to allocation),
    /// EndpointSlices are not read.
    pub const CONTROLLER: Kinds = Kinds {
        peers: Read::List,
        nodes: Read::List,
        endpoint_slices: Read::Skip,
    };
}

/// A kind's objects, however they are read.
enum Held<K: Resource + 'static>
where
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    Watched(Store<K>),
    Listed(watch::Receiver<Option<Vec<K>>>),
    Skipped,
}

impl<K: Resource + Clone + 'static> Held<K>
where
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    async fn ready(&self) -> bool {
        match self {
            Held::Watched(s) => s.wait_until_ready().await.is_ok(),
            Held::Listed(rx) => {
                let mut rx = rx.clone();
                rx.wait_for(Option::is_some).await.is_ok()
            }
            Held::Skipped => true,
        }
    }

    fn all(&self) -> Vec<K> {
        match self {
            Held::Watched(s) => all(s),
            Held::Listed(rx) => rx.borrow().clone().unwrap_or_default(),
            Held::Skipped => Vec::new(),
        }
    }
}

/// Copies of every object of a store.
fn all<K: Clone + Resource>(s: &Store<K>) -> Vec<K>
where
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    s.state().iter().map(|o| (**o).clone()).collect()
}

/// Drops `o`'s managedFields: the API server's bookkeeping, which nobody here reads and which
/// is most of a small object's size (every snapshot copies every object).
fn forget_managed_fields<K: Resource>(o: &mut K) {
    o.meta_mut().managed_fields = None;
}

struct Stores {
    pools: Store<IPAddressPool>,
    l2: Store<L2Advertisement>,
    bgp: Store<BGPAdvertisement>,
    peers: Held<BGPPeer>,
    bfd: Store<BFDProfile>,
    communities: Store<Community>,
    secrets: Store<Secret>,
    namespaces: Store<Namespace>,
    nodes: Held<Node>,
    services: Store<Service>,
    slices: Held<EndpointSlice>,
}

impl Stores {
    async fn ready(&self) -> bool {
        self.pools.wait_until_ready().await.is_ok()
            && self.l2.wait_until_ready().await.is_ok()
            && self.bgp.wait_until_ready().await.is_ok()
            && self.peers.ready().await
            && self.bfd.wait_until_ready().await.is_ok()
            && self.communities.wait_until_ready().await.is_ok()
            && self.secrets.wait_until_ready().await.is_ok()
            && self.namespaces.wait_until_ready().await.is_ok()
            && self.nodes.ready().await
            && self.services.wait_until_ready().await.is_ok()
            && self.slices.ready().await
    }

    fn objects(&self) -> Objects {
        Objects {
            pools: all(&self.pools),
            l2_advertisements: all(&self.l2),
            bgp_advertisements: all(&self.bgp),
            peers: self.peers.all(),
            bfd_profiles: all(&self.bfd),
            communities: all(&self.communities),
            secrets: all(&self.secrets),
            namespaces: all(&self.namespaces),
            nodes: self.nodes.all(),
            services: all(&self.services),
            endpoint_slices: self.slices.all(),
        }
    }
}

impl KubeSource {
    /// Starts the watches on the current tokio runtime, every kind watched ([`Kinds::ALL`]).
    /// The first snapshot (generation 1) is published once every cache has listed its kind.
    pub fn start(client: Client, namespace: &str) -> KubeSource {
        KubeSource::start_with(client, namespace, Kinds::ALL)
    }

    /// Starts reading the kinds as `kinds` says, on the current tokio runtime. The first
    /// snapshot (generation 1) is published once every kind has been listed.
    pub fn start_with(client: Client, namespace: &str, kinds: Kinds) -> KubeSource {
        let changed = Arc::new(Notify::new());
        // Bumped by the watches of configuration kinds: listed kinds list again.
        let (config_tx, config_rx) = watch::channel(0u64);
        let config_tx = Arc::new(config_tx);
        let mut tasks = Vec::new();
        let ns = |c: &Client| c.clone();
        let cfg = Some(&config_tx);
        let stores = Stores {
            pools: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                cfg,
                &mut tasks,
            ),
            l2: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                cfg,
                &mut tasks,
            ),
            bgp: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                cfg,
                &mut tasks,
            ),
            peers: held(
                kinds.peers,
                Api::namespaced(ns(&client), namespace),
                &changed,
                &config_rx,
                &mut tasks,
            ),
            bfd: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                cfg,
                &mut tasks,
            ),
            communities: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                cfg,
                &mut tasks,
            ),
            secrets: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                cfg,
                &mut tasks,
            ),
            namespaces: watch_kind(Api::all(ns(&client)), &changed, cfg, &mut tasks),
            nodes: held(
                kinds.nodes,
                Api::all(ns(&client)),
                &changed,
                &config_rx,
                &mut tasks,
            ),
            services: watch_kind(Api::all(ns(&client)), &changed, None, &mut tasks),
            slices: held(
                kinds.endpoint_slices,
                Api::all(ns(&client)),
                &changed,
                &config_rx,
                &mut tasks,
            ),
        };
        let (tx, rx) = watch::channel(Snapshot::default());
        tasks.push(tokio::spawn(async move {
            if !stores.ready().await {
                return;
            }
            let mut generation = 0;
            loop {
                generation += 1;
                let built = std::time::Instant::now();
                let snapshot = Snapshot {
                    generation,
                    objects: Arc::new(stores.objects()),
                };
                let cost = built.elapsed();
                if tx.send(snapshot).is_err() {
                    return;
                }
                changed.notified().await;
                // Let a burst of events (a re-list) land before the next snapshot, and spend at
                // most a tenth of a core on snapshots: a snapshot copies every object, which
                // with 10,000 Services being written to would otherwise be most of the work.
                tokio::time::sleep(SNAPSHOT_PAUSE.max(cost * SNAPSHOT_DUTY)).await;
            }
        }));
        KubeSource { rx, tasks }
    }
}

impl Source for KubeSource {
    fn subscribe(&self) -> watch::Receiver<Snapshot> {
        self.rx.clone()
    }
}

impl Drop for KubeSource {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// `api`'s kind read as `read` says.
fn held<K>(
    read: Read,
    api: Api<K>,
    changed: &Arc<Notify>,
    config: &watch::Receiver<u64>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Held<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + std::hash::Hash + Eq + Clone,
{
    match read {
        Read::Watch => Held::Watched(watch_kind(api, changed, None, tasks)),
        Read::List => Held::Listed(list_kind(api, changed, config.clone(), tasks)),
        Read::Skip => Held::Skipped,
    }
}

/// What tells one listed object's state from another: namespace, name, resource version.
fn identity<K: Resource>(o: &K) -> (&Option<String>, &Option<String>, &Option<String>) {
    let m = o.meta();
    (&m.namespace, &m.name, &m.resource_version)
}

/// Lists `api`'s kind now, after each bump of `config` and every [`RELIST`]; a list that
/// differs from the last (by names and resource versions) wakes the snapshot task.
fn list_kind<K>(
    api: Api<K>,
    changed: &Arc<Notify>,
    mut config: watch::Receiver<u64>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> watch::Receiver<Option<Vec<K>>>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + std::hash::Hash + Eq + Clone,
{
    let (tx, rx) = watch::channel::<Option<Vec<K>>>(None);
    let changed = changed.clone();
    tasks.push(tokio::spawn(async move {
        let mut backoff = std::time::Duration::from_millis(200);
        loop {
            config.mark_unchanged();
            match api.list(&kube::api::ListParams::default()).await {
                Ok(list) => {
                    backoff = std::time::Duration::from_millis(200);
                    let mut new = list.items;
                    new.iter_mut().for_each(forget_managed_fields);
                    let differs = tx.borrow().as_ref().is_none_or(|old: &Vec<K>| {
                        !old.iter().map(identity).eq(new.iter().map(identity))
                    });
                    if differs {
                        tx.send_replace(Some(new));
                        changed.notify_one();
                    }
                    tokio::select! {
                        r = config.changed() => if r.is_err() { return },
                        () = tokio::time::sleep(RELIST) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(kind = %K::kind(&K::DynamicType::default()), error = %e, "list failed, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
                }
            }
        }
    }));
    rx
}

/// Watches `api`'s kind into a reflector store; each event wakes the snapshot task and, for
/// a configuration kind (`config` given), the listed kinds.
fn watch_kind<K>(
    api: Api<K>,
    changed: &Arc<Notify>,
    config: Option<&Arc<watch::Sender<u64>>>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + std::hash::Hash + Eq + Clone,
{
    let (reader, writer) = reflector::store();
    let changed = changed.clone();
    let config = config.cloned();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(forget_managed_fields)
        .reflect(writer);
    tasks.push(tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        let started = std::time::Instant::now();
        while let Some(event) = stream.next().await {
            match event {
                Ok(ev) => {
                    if matches!(ev, watcher::Event::InitDone) {
                        tracing::debug!(kind = %K::kind(&K::DynamicType::default()), elapsed_ms = started.elapsed().as_millis() as u64, "listed");
                    }
                    if let Some(c) = &config {
                        c.send_modify(|n| *n += 1);
                    }
                    changed.notify_one();
                }
                Err(e) => tracing::warn!(kind = %K::kind(&K::DynamicType::default()), error = %e, "watch failed, retrying"),
            }
        }
    }));
    reader
}
