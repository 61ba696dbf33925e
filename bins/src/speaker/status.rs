//! Kubernetes mode: the `ServiceL2Status` / `ServiceBGPStatus` objects this node should have
//! (from [`lb_k8s::plan::Plan`]) written to the API server by a background task, so a slow or
//! absent API server never delays an announcement.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use lb_k8s::crd::{ServiceBGPStatus, ServiceL2Status};
use lb_k8s::plan::{StatusObject, status_labels};
use tokio::sync::watch;

/// The status objects wanted, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    /// `ServiceL2Status` contents.
    pub l2: Vec<StatusObject>,
    /// `ServiceBGPStatus` contents.
    pub bgp: Vec<StatusObject>,
}

/// Where the writer writes.
#[derive(Debug, Clone)]
pub struct Target {
    /// The MetalLB namespace.
    pub namespace: String,
    /// This node.
    pub node: String,
    /// The speaker's pod (owner of the objects), if known.
    pub owner: Option<OwnerReference>,
}

fn key(namespace: &str, name: &str) -> (String, String) {
    (namespace.to_owned(), name.to_owned())
}

/// A status kind: how to build it from a [`StatusObject`] and how to read its Service.
trait Kind:
    kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
    + Clone
    + std::fmt::Debug
    + serde::Serialize
    + serde::de::DeserializeOwned
{
    type Status: PartialEq + serde::Serialize;
    fn build(w: &StatusObject, namespace: &str) -> Self;
    fn status(&self) -> Option<&Self::Status>;
    fn service(status: &Self::Status) -> (String, String);
}

impl Kind for ServiceL2Status {
    type Status = lb_k8s::crd::ServiceL2StatusStatus;
    fn build(w: &StatusObject, namespace: &str) -> Self {
        w.to_l2_status(namespace)
    }
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn service(s: &Self::Status) -> (String, String) {
        key(&s.service_namespace, &s.service_name)
    }
}

impl Kind for ServiceBGPStatus {
    type Status = lb_k8s::crd::ServiceBGPStatusStatus;
    fn build(w: &StatusObject, namespace: &str) -> Self {
        w.to_bgp_status(namespace)
    }
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn service(s: &Self::Status) -> (String, String) {
        key(&s.service_namespace, &s.service_name)
    }
}

/// Makes this node's objects of kind `K` equal `wanted`: one per Service, created (then its
/// status written: `status` is a subresource), updated, or deleted.
async fn sync<K: Kind>(
    client: &Client,
    target: &Target,
    wanted: &[StatusObject],
) -> kube::Result<()> {
    let api: Api<K> = Api::namespaced(client.clone(), &target.namespace);
    let selector = format!("{}={}", status_labels::NODE, target.node);
    let existing = api.list(&ListParams::default().labels(&selector)).await?;
    let mut have: BTreeMap<(String, String), K> = BTreeMap::new();
    for o in existing {
        let duplicate = match o.status().map(K::service) {
            Some(k) if !have.contains_key(&k) => {
                have.insert(k, o.clone());
                false
            }
            _ => true,
        };
        if duplicate {
            api.delete(&o.name_any(), &DeleteParams::default()).await?;
        }
    }
    for w in wanted {
        let mut object = K::build(w, &target.namespace);
        object.meta_mut().owner_references = target.owner.clone().map(|o| vec![o]);
        let k = key(w.service.namespace(), w.service.name());
        let name = match have.remove(&k) {
            Some(old) if old.status() == object.status() => continue,
            Some(old) => old.name_any(),
            None => api
                .create(&PostParams::default(), &object)
                .await?
                .name_any(),
        };
        let patch = serde_json::json!({ "status": object.status() });
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    for (_, old) in have {
        api.delete(&old.name_any(), &DeleteParams::default())
            .await?;
    }
    Ok(())
}

/// Spawns the writer: every new [`Wanted`] on `rx` is written (objects created, updated or
/// deleted so this node's set equals it); a failed pass is retried with back-off.
pub fn spawn(client: Client, target: Target, mut rx: watch::Receiver<Wanted>) {
    tokio::spawn(async move {
        let mut backoff = std::time::Duration::from_millis(200);
        loop {
            let wanted = rx.borrow_and_update().clone();
            let result = async {
                sync::<ServiceL2Status>(&client, &target, &wanted.l2).await?;
                sync::<ServiceBGPStatus>(&client, &target, &wanted.bgp).await
            }
            .await;
            match result {
                Ok(()) => {
                    backoff = std::time::Duration::from_millis(200);
                    if rx.changed().await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "status objects not written; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
                }
            }
        }
    });
}

/// The owner reference to this speaker's pod (`namespace/pod_name`), if it can be read.
pub async fn pod_owner(client: &Client, namespace: &str, pod_name: &str) -> Option<OwnerReference> {
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), namespace);
    let pod = pods.get(pod_name).await.ok()?;
    Some(OwnerReference {
        api_version: "v1".into(),
        kind: "Pod".into(),
        name: pod.name_any(),
        uid: pod.uid()?,
        ..OwnerReference::default()
    })
}

/// The speakers' pod IPs (pods of `namespace` matching `labels`, running and with an IP),
/// for memberlist discovery.
pub async fn speaker_pod_ips(
    client: &Client,
    namespace: &str,
    labels: &str,
) -> kube::Result<Vec<std::net::IpAddr>> {
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods.list(&ListParams::default().labels(labels)).await?;
    Ok(list
        .into_iter()
        .filter_map(|p| p.status?.pod_ip?.parse().ok())
        .collect())
}
