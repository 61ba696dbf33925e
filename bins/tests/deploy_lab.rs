//! `deploy/` applied with `kubectl apply -k` to the lab's control plane, then the controller run
//! under its ServiceAccount's token: the RBAC is enough to allocate, record events and write
//! ConfigurationState, read BGPPeers and Nodes by listing only (upstream's controller RBAC has
//! no watch on them), and keep the webhook certificate in its Secret. (The lab has no kubelet,
//! so the Deployment's pod is never scheduled; the binary runs beside the plane with the same
//! identity.)
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, PostParams};
use lb_lab::kube::{ControlPlane, Process};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_applies_and_its_rbac_suffices() {
    let Some(cp) = ControlPlane::start() else {
        return;
    };
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    lb_lab::cluster::apply_deploy(&cp, &deploy);
    let out = cp.kubectl(&["-n", "metallb-system", "get", "deployment", "controller"]);
    assert!(out.status.success(), "{out:?}");
    cp.apply_yaml(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: lab, namespace: metallb-system}\nspec:\n  addresses: [192.0.2.100-192.0.2.110]\n",
    )
    .unwrap();
    cp.apply_yaml(
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r, namespace: metallb-system}\nspec: {myASN: 64512, peerASN: 64500, peerAddress: 192.0.2.1}\n",
    )
    .unwrap();
    let sa_path = lb_lab::cluster::service_account_kubeconfig(&cp, "controller");

    let port = |_: ()| {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let args = vec![
        "--namespace=metallb-system".to_string(),
        "--webhook-mode=enabled".into(),
        format!("--webhook-port={}", port(())),
        format!("--port={}", port(())),
        format!("--health-probe-port={}", port(())),
    ];
    let sa_path = sa_path.display().to_string();
    let mut ctl = Process::spawn(
        Path::new(env!("CARGO_BIN_EXE_controller")),
        &args,
        &[("KUBECONFIG", &sa_path)],
        &cp.dir().join("controller-sa.log"),
    )
    .unwrap();
    let api: Api<Service> = Api::namespaced(cp.client().await, "default");
    let svc: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
    }))
    .unwrap();
    api.create(&PostParams::default(), &svc).await.unwrap();
    let t0 = Instant::now();
    loop {
        let s = api.get("web").await.unwrap();
        let ip = s
            .status
            .and_then(|st| st.load_balancer)
            .and_then(|lb| lb.ingress)
            .and_then(|i| i.first().and_then(|i| i.ip.clone()));
        if let Some(ip) = ip {
            assert_eq!(ip, "192.0.2.100");
            break;
        }
        if let Some(why) = ctl.exited() {
            panic!("controller stopped: {why}\n{}", ctl.log_tail());
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no address under the deploy/ RBAC:\n{}",
            ctl.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t0 = Instant::now();
    loop {
        let out = cp.kubectl(&[
            "-n",
            "metallb-system",
            "get",
            "configurationstate",
            "controller",
            "-o",
            "jsonpath={.status.result}",
        ]);
        if out.stdout == b"Valid" {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "ConfigurationState not written under the deploy/ RBAC:\n{}",
            ctl.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = cp.kubectl(&[
        "-n",
        "metallb-system",
        "get",
        "secret",
        "metallb-webhook-cert",
        "-o",
        "jsonpath={.data.tls\\.crt}",
    ]);
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "no webhook certificate Secret: {out:?}\n{}",
        ctl.log_tail()
    );
    let log = ctl.log_tail();
    assert!(!log.contains("forbidden"), "{log}");
}
