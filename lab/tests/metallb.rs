//! Upstream MetalLB's own controller, built from the Go module proxy by `lab/kube/build.sh`, run
//! against the lab's control plane: the anchor later benches race our binaries against.
#![cfg(all(target_os = "linux", feature = "kube"))]
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, PostParams};
use lb_lab::kube::{ControlPlane, Process};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_controller_assigns_an_address() {
    let Some(cp) = ControlPlane::start() else {
        return;
    };
    let (metallb, crds) = match (
        lb_lab::kube::metallb_binaries(),
        lb_lab::kube::metallb_crds(),
    ) {
        (Ok(m), Ok(c)) => (m, c),
        (Err(why), _) | (_, Err(why)) => return lb_lab::skip_or_fail(&why).unwrap_or(()),
    };
    cp.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: metallb-system}\n")
        .unwrap();
    for entry in std::fs::read_dir(&crds).unwrap() {
        let yaml = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        cp.apply_yaml(&yaml).unwrap();
    }
    assert!(
        cp.kubectl(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/ipaddresspools.metallb.io"
        ])
        .status
        .success()
    );
    cp.apply_yaml(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: lab, namespace: metallb-system}\nspec:\n  addresses: [192.0.2.100-192.0.2.110]\n",
    )
    .unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = cp.kubeconfig().display().to_string();
    let args = [
        "--namespace=metallb-system".to_string(),
        "--webhook-mode=disabled".to_string(),
        "--disable-cert-rotation".to_string(),
        format!("--port={port}"),
        "--log-level=info".to_string(),
    ];
    let mut controller = Process::spawn(
        &metallb.join("controller"),
        &args,
        &[
            ("KUBECONFIG", &kubeconfig),
            ("METALLB_NAMESPACE", "metallb-system"),
        ],
        &cp.dir().join("metallb-controller.log"),
    )
    .unwrap();

    let client = cp.client().await;
    let services: Api<Service> = Api::namespaced(client, "default");
    let svc: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "anchor"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
    }))
    .unwrap();
    services.create(&PostParams::default(), &svc).await.unwrap();
    let t0 = Instant::now();
    let ip = loop {
        let s = services.get("anchor").await.unwrap();
        let ip = s
            .status
            .and_then(|st| st.load_balancer)
            .and_then(|lb| lb.ingress)
            .and_then(|i| i.first().and_then(|i| i.ip.clone()));
        if let Some(ip) = ip {
            break ip;
        }
        if let Some(why) = controller.exited() {
            panic!(
                "MetalLB's controller stopped: {why}\n{}",
                controller.log_tail()
            );
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "MetalLB's controller assigned nothing in 90 s:\n{}",
            controller.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "upstream MetalLB {} assigned {ip} in {} ms",
        lb_lab::kube::METALLB_VERSION,
        t0.elapsed().as_millis()
    );
    assert_eq!(ip, "192.0.2.100");
}
