//! Against the lab's real control plane (kube-apiserver v1.37): our generated CRDs apply, the
//! example manifests go in and come back through our types without loss, and `KubeSource`
//! reflects creates, changes and deletes, also across a kube-apiserver restart. Skips without
//! the lab's binaries unless `LB_LAB=required`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use lb_k8s::config::{Objects, Options, assemble};
use lb_k8s::crd::{self, IPAddressPool, IPAddressPoolSpec, peer};
use lb_k8s::source::{Kinds, KubeSource, ManifestSource, Snapshot, Source};
use lb_lab::kube::ControlPlane;
use serde_json::Value;

const NS: &str = "metallb-system";

fn manifests() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/manifests")
}

/// Whether every field of `want` is in `got` with the same value (`got` may have more: the
/// apiserver's defaults).
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| contains(gv, v))),
        (Value::Array(g), Value::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(a, b)| contains(a, b))
        }
        _ => got == want,
    }
}

async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn pool_names(s: &Snapshot) -> Vec<String> {
    let mut v: Vec<String> = s
        .objects
        .pools
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crds_manifests_and_kube_source_against_a_real_apiserver() {
    let Some(mut cp) = ControlPlane::start() else {
        return;
    };
    // Our CRDs, as crdgen writes them.
    for def in crd::definitions() {
        cp.apply_yaml(&crd::to_yaml(&def).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", crd::file_name(&def)));
    }
    let out = cp.kubectl(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd",
        "--all",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    cp.apply_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NS}}}\n"
    ))
    .unwrap();

    // The metallb.io manifests of the example folder, unchanged (cluster objects aside: the
    // Services there carry cluster IPs outside this plane's service range).
    let dir = manifests();
    let mut files = Objects::default();
    for f in ["10-pools.yaml", "20-l2.yaml", "30-bgp.yaml"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        cp.apply_yaml(&text).unwrap_or_else(|e| panic!("{f}: {e}"));
        files.parse_yaml(&text, f).unwrap();
    }

    let client = cp.client().await;
    // Read back through our types: every field given is there, and the configuration
    // assembled from the apiserver equals the one assembled from the files.
    // A snapshot with 3 pools and `peers` BGPPeers, within `within`.
    let wait = async |rx: &mut tokio::sync::watch::Receiver<Snapshot>,
                      peers: usize,
                      within: Duration| {
        let deadline = Instant::now() + within;
        loop {
            let s = rx.borrow_and_update().clone();
            if s.generation > 0 && s.objects.peers.len() == peers && s.objects.pools.len() == 3 {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "no snapshot with {peers} peers (has {})",
                s.objects.peers.len()
            );
            let _ = tokio::time::timeout(Duration::from_secs(1), rx.changed()).await;
        }
    };
    let source = KubeSource::start(client.clone(), NS);
    let mut rx = source.subscribe();
    let snap = wait(&mut rx, 3, Duration::from_secs(60)).await;
    // The controller's reading: BGPPeers and Nodes listed (no watch), EndpointSlices not read;
    // a peer added later is listed again once a configuration kind changes.
    // Well inside RELIST (30 s): the pool change is what lists again.
    const LISTED: Duration = Duration::from_secs(20);
    let listed = KubeSource::start_with(client.clone(), NS, Kinds::CONTROLLER);
    let mut lrx = listed.subscribe();
    let first = wait(&mut lrx, 3, LISTED).await;
    assert!(first.objects.endpoint_slices.is_empty());
    cp.apply_yaml(&format!(
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {{name: late, namespace: {NS}}}\nspec: {{myASN: 64512, peerASN: 64501, peerAddress: 192.0.2.9}}\n"
    ))
    .unwrap();
    let out = cp.kubectl(&[
        "-n",
        NS,
        "annotate",
        "ipaddresspool",
        "--all",
        "touched=yes",
    ]);
    assert!(out.status.success(), "{out:?}");
    wait(&mut lrx, 4, LISTED).await;
    let out = cp.kubectl(&["-n", NS, "delete", "bgppeer", "late"]);
    assert!(out.status.success(), "{out:?}");
    let out = cp.kubectl(&["-n", NS, "annotate", "ipaddresspool", "--all", "touched-"]);
    assert!(out.status.success(), "{out:?}");
    wait(&mut lrx, 3, LISTED).await;
    drop(listed);

    let options = Options {
        namespace: Some(NS.into()),
        bfd: true,
        blank_transient: false,
    };
    let from_files = assemble(&files, &options).expect("files assemble");
    let from_api = assemble(&snap.objects, &options).expect("apiserver objects assemble");
    assert_eq!(from_api, from_files);
    macro_rules! same_fields {
        ($file:expr, $api:expr) => {
            for f in &$file {
                let name = f.metadata.name.clone();
                let a = $api
                    .iter()
                    .find(|a| a.metadata.name == name)
                    .expect("read back");
                let (fj, aj) = (
                    serde_json::to_value(&f.spec).unwrap(),
                    serde_json::to_value(&a.spec).unwrap(),
                );
                assert!(
                    contains(&aj, &fj),
                    "{name:?} lost fields:\nfile {fj}\napi  {aj}"
                );
            }
        };
    }
    same_fields!(files.pools, snap.objects.pools);
    same_fields!(files.l2_advertisements, snap.objects.l2_advertisements);
    same_fields!(files.bgp_advertisements, snap.objects.bgp_advertisements);
    same_fields!(files.bfd_profiles, snap.objects.bfd_profiles);
    same_fields!(files.communities, snap.objects.communities);
    let v2_only: Vec<_> = files
        .peers
        .iter()
        .filter(|p| p.metadata.name.as_deref() != Some("legacy-router"))
        .cloned()
        .collect();
    same_fields!(v2_only, snap.objects.peers);
    // The stored default that the CRD adds.
    let pool = snap
        .objects
        .pools
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("bgp-pool"))
        .unwrap();
    assert_eq!(pool.spec.auto_assign, Some(true));

    // The v1beta1 peer, read as v1beta1 and converted by our functions, both ways.
    let v1: Api<peer::v1beta1::BGPPeer> = Api::namespaced(client.clone(), NS);
    let legacy = v1.get("legacy-router").await.expect("served as v1beta1");
    assert_eq!(legacy.spec.peer_asn, 64502);
    let up = peer::convert_v1beta1(&legacy);
    assert_eq!(
        up.spec.hold_time.as_deref(),
        Some("0s"),
        "upstream's conversion output"
    );
    let mut back = peer::convert_v1beta2(&up).spec;
    back.hold_time = None;
    back.keepalive_time = None;
    assert_eq!(back, legacy.spec);
    let v2: Api<crd::BGPPeer> = Api::namespaced(client.clone(), NS);
    let stored = v2.get("legacy-router").await.expect("served as v1beta2");
    assert_eq!(stored.spec.node_selectors, up.spec.node_selectors);

    // KubeSource: create, change, delete.
    let pools: Api<IPAddressPool> = Api::namespaced(client.clone(), NS);
    let spec = |a: &str| IPAddressPoolSpec {
        addresses: vec![a.into()],
        ..Default::default()
    };
    pools
        .create(
            &PostParams::default(),
            &IPAddressPool::new("extra", spec("203.0.113.0/28")),
        )
        .await
        .unwrap();
    eventually("create", || {
        pool_names(&rx.borrow())
            .contains(&"extra".to_string())
            .then_some(())
    })
    .await;
    pools
        .patch(
            "extra",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"avoidBuggyIPs": true}})),
        )
        .await
        .unwrap();
    eventually("change", || {
        rx.borrow()
            .objects
            .pools
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some("extra") && p.spec.avoid_buggy_ips)
            .then_some(())
    })
    .await;

    // A watch broken by a restart resumes: what happens after it is seen, nothing is lost.
    cp.restart_apiserver();
    pools
        .create(
            &PostParams::default(),
            &IPAddressPool::new("after-restart", spec("203.0.113.16/28")),
        )
        .await
        .unwrap();
    pools
        .delete("extra", &DeleteParams::default())
        .await
        .unwrap();
    eventually("after restart", || {
        let names = pool_names(&rx.borrow());
        (names.contains(&"after-restart".to_string()) && !names.contains(&"extra".to_string()))
            .then_some(())
    })
    .await;
    let last = rx.borrow().clone();
    assert_eq!(
        pool_names(&last),
        ["after-restart", "bgp-pool", "first-pool", "production"]
    );
    assert_eq!(
        last.objects.peers.len(),
        3,
        "the other caches survived the restart"
    );
    drop(source);

    // ManifestSource over the same files gives the same configuration.
    let mut ms = ManifestSource::new(&dir);
    let objects = ms.poll().unwrap().unwrap();
    assert_eq!(
        assemble(&objects, &options).unwrap().pools,
        from_files.pools
    );
}
