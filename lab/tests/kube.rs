//! The lab's real Kubernetes control plane, exercised the way the controller and speaker will use
//! it. Needs the binaries `lab/kube/build.sh` builds (Go and the Go module proxy); skips without
//! them unless `LB_LAB=required`.
#![cfg(all(target_os = "linux", feature = "kube"))]
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use lb_lab::kube::ControlPlane;

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.lab.example.invalid
spec:
  group: lab.example.invalid
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1, default: 3}
"#;

/// Polls `check` every 100 ms until it returns `Some`, for at most `limit`.
async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_end_to_end() {
    let Some(cp) = ControlPlane::start() else {
        return;
    };
    eprintln!(
        "control plane ready in {:.1} s, RSS {} MiB (etcd + kube-apiserver + kube-controller-manager)",
        cp.started_in().as_secs_f64(),
        cp.rss_bytes() / (1 << 20)
    );
    let pids = cp.pids();
    let ports = cp.ports();
    let client = cp.client().await;

    // A namespace of our own.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "lab-e2e"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();

    // A CRD and a custom resource, with the schema's default applied by the server.
    cp.apply_yaml(CRD).unwrap();
    assert!(
        cp.kubectl(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/widgets.lab.example.invalid"
        ])
        .status
        .success()
    );
    cp.apply_yaml("apiVersion: lab.example.invalid/v1\nkind: Widget\nmetadata: {name: w1, namespace: lab-e2e}\nspec: {}\n")
        .unwrap();
    let out = cp.kubectl(&[
        "get",
        "widget",
        "w1",
        "-n",
        "lab-e2e",
        "-o",
        "jsonpath={.spec.size}",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "3", "{out:?}");
    // The structural schema rejects what it forbids.
    let err = cp
        .apply_yaml("apiVersion: lab.example.invalid/v1\nkind: Widget\nmetadata: {name: w2, namespace: lab-e2e}\nspec: {size: 0}\n")
        .unwrap_err();
    assert!(err.contains("spec.size"), "{err}");

    // A dual-stack LoadBalancer Service gets cluster IPs from the documentation ranges.
    let services: Api<Service> = Api::namespaced(client.clone(), "lab-e2e");
    let svc: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {
            "type": "LoadBalancer",
            "ipFamilyPolicy": "RequireDualStack",
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
        },
    }))
    .unwrap();
    let svc = services.create(&PostParams::default(), &svc).await.unwrap();
    let cluster_ips = svc.spec.as_ref().unwrap().cluster_ips.clone().unwrap();
    assert_eq!(cluster_ips.len(), 2, "{cluster_ips:?}");
    assert!(cluster_ips[0].starts_with("198.51.100."), "{cluster_ips:?}");
    assert!(
        cluster_ips[1].starts_with("2001:db8:96::"),
        "{cluster_ips:?}"
    );

    // A watcher sees the status patch a controller would write.
    let mut events = watcher(
        services.clone(),
        watcher::Config::default().fields("metadata.name=web"),
    )
    .boxed();
    let status = serde_json::json!({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10", "ipMode": "VIP"}]}}});
    services
        .patch_status("web", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(ev) = events.next().await {
            let s = match ev.unwrap() {
                watcher::Event::Apply(s) | watcher::Event::InitApply(s) => s,
                _ => continue,
            };
            let ingress = s
                .status
                .and_then(|st| st.load_balancer)
                .and_then(|lb| lb.ingress);
            if ingress
                .unwrap_or_default()
                .iter()
                .any(|i| i.ip.as_deref() == Some("192.0.2.10"))
            {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    assert!(seen);

    // A Node and a ready Pod on it: kube-controller-manager publishes an EndpointSlice.
    let node_ip: IpAddr = "192.0.2.21".parse().unwrap();
    cp.create_node(&client, "node-a", &[node_ip], &[("rack", "r1")], true)
        .await
        .unwrap();
    cp.create_ready_pod(
        &client,
        "lab-e2e",
        "web-0",
        "node-a",
        &[("app", "web")],
        "198.51.100.200".parse().unwrap(),
    )
    .await
    .unwrap();
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "lab-e2e");
    let t0 = Instant::now();
    let slice = eventually(
        "an EndpointSlice naming node-a",
        Duration::from_secs(30),
        || {
            let slices = slices.clone();
            async move {
                let list = slices
                    .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
                    .await
                    .ok()?;
                list.items.into_iter().find(|s| {
                    s.endpoints.iter().flatten().any(|e| {
                        e.node_name.as_deref() == Some("node-a")
                            && e.conditions.as_ref().and_then(|c| c.ready) == Some(true)
                    })
                })
            }
        },
    )
    .await;
    eprintln!(
        "EndpointSlice {} published {} ms after the Pod was marked Ready",
        slice.metadata.name.unwrap_or_default(),
        t0.elapsed().as_millis()
    );

    // The built kubectl reads the written kubeconfig.
    let out = cp.kubectl(&["get", "svc", "-A"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("web") && text.contains("LoadBalancer") && text.contains("192.0.2.10"),
        "{text}"
    );

    // Deleting the namespace finishes: the namespace controller empties it (and the test plays
    // the kubelet's part for the Pod).
    namespaces
        .delete("lab-e2e", &DeleteParams::default())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while namespaces.get_opt("lab-e2e").await.unwrap().is_some() {
        if Instant::now() > deadline {
            let ns = cp.kubectl(&["get", "namespace", "lab-e2e", "-o", "yaml"]);
            panic!(
                "namespace lab-e2e not gone after 60 s:\n{}\n{}",
                String::from_utf8_lossy(&ns.stdout),
                cp.logs()
            );
        }
        // No kubelet runs: finish the Pods' graceful deletion as one would.
        cp.reap_terminating_pods(&client).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    drop(client);
    drop(cp);
    for pid in pids {
        assert!(
            !lb_lab::kube::process_alive(pid),
            "process {pid} outlived the control plane"
        );
    }
    for port in ports {
        assert!(
            !lb_lab::kube::port_in_use(port),
            "port {port} still listens"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_restart_keeps_data() {
    let Some(mut cp) = ControlPlane::start() else {
        return;
    };
    cp.apply_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep, namespace: default}\ndata: {a: b}\n")
        .unwrap();
    cp.restart_apiserver();
    let out = cp.kubectl(&["get", "configmap", "keep", "-o", "jsonpath={.data.a}"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "b", "{out:?}");
}
