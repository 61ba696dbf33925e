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
/// namespace, and over Services, EndpointSlices, Nodes and Namespaces of the whole cluster.
/// Dropping it stops every watch.
#[derive(Debug)]
pub struct KubeSource {
    rx: watch::Receiver<Snapshot>,
    tasks: Vec<JoinHandle<()>>,
}

struct Stores {
    pools: Store<IPAddressPool>,
    l2: Store<L2Advertisement>,
    bgp: Store<BGPAdvertisement>,
    peers: Store<BGPPeer>,
    bfd: Store<BFDProfile>,
    communities: Store<Community>,
    secrets: Store<Secret>,
    namespaces: Store<Namespace>,
    nodes: Store<Node>,
    services: Store<Service>,
    slices: Store<EndpointSlice>,
}

impl Stores {
    async fn ready(&self) -> bool {
        self.pools.wait_until_ready().await.is_ok()
            && self.l2.wait_until_ready().await.is_ok()
            && self.bgp.wait_until_ready().await.is_ok()
            && self.peers.wait_until_ready().await.is_ok()
            && self.bfd.wait_until_ready().await.is_ok()
            && self.communities.wait_until_ready().await.is_ok()
            && self.secrets.wait_until_ready().await.is_ok()
            && self.namespaces.wait_until_ready().await.is_ok()
            && self.nodes.wait_until_ready().await.is_ok()
            && self.services.wait_until_ready().await.is_ok()
            && self.slices.wait_until_ready().await.is_ok()
    }

    fn objects(&self) -> Objects {
        fn all<K: Clone + Resource>(s: &Store<K>) -> Vec<K>
        where
            K::DynamicType: std::hash::Hash + Eq + Clone,
        {
            s.state().iter().map(|o| (**o).clone()).collect()
        }
        Objects {
            pools: all(&self.pools),
            l2_advertisements: all(&self.l2),
            bgp_advertisements: all(&self.bgp),
            peers: all(&self.peers),
            bfd_profiles: all(&self.bfd),
            communities: all(&self.communities),
            secrets: all(&self.secrets),
            namespaces: all(&self.namespaces),
            nodes: all(&self.nodes),
            services: all(&self.services),
            endpoint_slices: all(&self.slices),
        }
    }
}

impl KubeSource {
    /// Starts the watches on the current tokio runtime. The first snapshot (generation 1) is
    /// published once every cache has listed its kind.
    pub fn start(client: Client, namespace: &str) -> KubeSource {
        let changed = Arc::new(Notify::new());
        let mut tasks = Vec::new();
        let ns = |c: &Client| c.clone();
        let stores = Stores {
            pools: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                &mut tasks,
            ),
            l2: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                &mut tasks,
            ),
            bgp: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                &mut tasks,
            ),
            peers: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                &mut tasks,
            ),
            bfd: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                &mut tasks,
            ),
            communities: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                &mut tasks,
            ),
            secrets: watch_kind(
                Api::namespaced(ns(&client), namespace),
                &changed,
                &mut tasks,
            ),
            namespaces: watch_kind(Api::all(ns(&client)), &changed, &mut tasks),
            nodes: watch_kind(Api::all(ns(&client)), &changed, &mut tasks),
            services: watch_kind(Api::all(ns(&client)), &changed, &mut tasks),
            slices: watch_kind(Api::all(ns(&client)), &changed, &mut tasks),
        };
        let (tx, rx) = watch::channel(Snapshot::default());
        tasks.push(tokio::spawn(async move {
            if !stores.ready().await {
                return;
            }
            let mut generation = 0;
            loop {
                generation += 1;
                let snapshot = Snapshot {
                    generation,
                    objects: Arc::new(stores.objects()),
                };
                if tx.send(snapshot).is_err() {
                    return;
                }
                changed.notified().await;
                // Let a burst of events (a re-list) land before the next snapshot.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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

fn watch_kind<K>(api: Api<K>, changed: &Arc<Notify>, tasks: &mut Vec<JoinHandle<()>>) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + std::hash::Hash + Eq + Clone,
{
    let (reader, writer) = reflector::store();
    let changed = changed.clone();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer);
    tasks.push(tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(_) => changed.notify_one(),
                Err(e) => tracing::warn!(kind = %K::kind(&K::DynamicType::default()), error = %e, "watch failed, retrying"),
            }
        }
    }));
    reader
}
