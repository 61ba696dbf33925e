//! The controller's validating webhooks against the lab's real kube-apiserver: the API server
//! calls them over TLS (the controller made the certificate and wrote its caBundle), an invalid
//! IPAddressPool is refused with the rule's message as `kubectl apply` shows it, a valid one
//! is admitted; a BGPPeer applied as `v1beta1` is stored and read back through the
//! conversion webhook; the certificate is kept in its Secret and served again after a restart.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::api::Api;
use lb_lab::kube::{ControlPlane, Process};

const NS: &str = "metallb-system";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn pool(name: &str, range: &str) -> String {
    format!(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: {name}, namespace: {NS}}}\nspec:\n  addresses: [{range}]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_pool_is_refused_by_the_webhook_with_the_rules_message() {
    let Some(cp) = ControlPlane::start() else {
        return;
    };
    lb_lab::cluster::apply_deploy(
        &cp,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy"),
    );
    let port = free_port();
    let kubeconfig = cp.kubeconfig().display().to_string();
    let spawn = |log: &str| {
        Process::spawn(
            Path::new(env!("CARGO_BIN_EXE_controller")),
            &[
                format!("--namespace={NS}"),
                "--webhook-mode=enabled".into(),
                format!("--webhook-port={port}"),
                "--port=0".into(),
                "--health-probe-port=0".into(),
                "--log-format=text".into(),
            ],
            &[("KUBECONFIG", &kubeconfig)],
            &cp.dir().join(log),
        )
        .unwrap()
    };
    let mut ctl = spawn("controller.log");
    // The lab's API server runs beside the controller on loopback: the webhook is reached by
    // URL (a cluster reaches it through the webhook Service).
    cp.apply_yaml(&format!(
        "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {{name: metallb-webhook-configuration}}
webhooks:
- name: ipaddresspoolvalidationwebhook.metallb.io
  clientConfig: {{url: 'https://127.0.0.1:{port}/validate-metallb-io-v1beta1-ipaddresspool'}}
  rules:
  - {{apiGroups: [metallb.io], apiVersions: [v1beta1], operations: [CREATE, UPDATE], resources: [ipaddresspools]}}
  failurePolicy: Fail
  sideEffects: None
  admissionReviewVersions: [v1]
"
    ))
    .unwrap();
    let client = cp.client().await;
    let configs: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let t0 = Instant::now();
    loop {
        let config = configs.get("metallb-webhook-configuration").await.unwrap();
        let bundle = config.webhooks.unwrap_or_default()[0]
            .client_config
            .ca_bundle
            .clone();
        if bundle.is_some_and(|b| String::from_utf8_lossy(&b.0).contains("BEGIN CERTIFICATE")) {
            break;
        }
        if let Some(why) = ctl.exited() {
            panic!("controller stopped: {why}\n{}", ctl.log_tail());
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no caBundle\n{}",
            ctl.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A valid pool is admitted (the API server may take a moment to use the new caBundle).
    let t0 = Instant::now();
    while let Err(e) = cp.apply_yaml(&pool("a", "192.0.2.0/28")) {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "valid pool refused: {e}\n{}",
            ctl.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Its view of the configuration includes `a` once the watch has it.
    let t0 = Instant::now();
    let refused = loop {
        match cp.apply_yaml(&pool("b", "192.0.2.8/29")) {
            Err(e) => break e,
            Ok(_) => {
                // Admitted before the controller saw `a`: take it back and try again.
                let _ = cp.kubectl(&["-n", NS, "delete", "ipaddresspool", "b"]);
                assert!(
                    t0.elapsed() < Duration::from_secs(30),
                    "overlapping pool admitted"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert!(refused.contains("denied the request"), "{refused}");
    assert!(refused.contains("overlap"), "{refused}");
    let out = cp.kubectl(&["-n", NS, "get", "ipaddresspool", "b"]);
    assert!(!out.status.success(), "b exists");
    eprintln!("refused as kubectl shows it: {}", refused.trim());

    // Conversion: the BGPPeer CRD converts through the controller's /convert, whose caBundle
    // the controller writes into the CRD.
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let patch = serde_json::json!({"spec": {"conversion": {"strategy": "Webhook", "webhook": {
        "conversionReviewVersions": ["v1"],
        "clientConfig": {"url": format!("https://127.0.0.1:{port}/convert")}}}}});
    crds.patch(
        "bgppeers.metallb.io",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&patch),
    )
    .await
    .unwrap();
    let peer = format!(
        "apiVersion: metallb.io/v1beta1\nkind: BGPPeer\nmetadata: {{name: r, namespace: {NS}}}\nspec: {{myASN: 64512, peerASN: 64500, peerAddress: 192.0.2.1}}\n"
    );
    let t0 = Instant::now();
    while let Err(e) = cp.apply_yaml(&peer) {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "v1beta1 BGPPeer refused: {e}\n{}",
            ctl.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for version in ["v1beta2", "v1beta1"] {
        let out = cp.kubectl(&[
            "-n",
            NS,
            "get",
            &format!("bgppeers.{version}.metallb.io"),
            "r",
            "-o",
            "json",
        ]);
        assert!(out.status.success(), "{out:?}");
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got["apiVersion"], format!("metallb.io/{version}"));
        assert_eq!(got["spec"]["peerAddress"], "192.0.2.1", "{got}");
        assert_eq!(got["spec"]["peerASN"], 64500, "{got}");
    }
    assert!(ctl.exited().is_none());

    // The certificate is kept in the Secret --webhook-secret names: after a kill -9 the next
    // controller serves the same one, and no caBundle changes.
    use k8s_openapi::api::core::v1::Secret;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let kept = secrets.get("metallb-webhook-cert").await.unwrap();
    let data = kept.data.clone().unwrap();
    let bundle = |c: &ValidatingWebhookConfiguration| {
        c.webhooks.clone().unwrap_or_default()[0]
            .client_config
            .ca_bundle
            .clone()
            .unwrap()
    };
    let before = bundle(&configs.get("metallb-webhook-configuration").await.unwrap());
    assert_eq!(data["ca.crt"], before, "the Secret's CA is the caBundle");
    assert!(String::from_utf8_lossy(&data["tls.key"].0).contains("PRIVATE KEY"));
    ctl.kill();
    let mut ctl = spawn("controller-2.log");
    // Served again (an overlapping pool refused by the new process) with the same caBundle.
    let t0 = Instant::now();
    loop {
        match cp.apply_yaml(&pool("c", "192.0.2.4/30")) {
            Err(e) if e.contains("overlap") => break,
            other => {
                if other.is_ok() {
                    let _ = cp.kubectl(&["-n", NS, "delete", "ipaddresspool", "c"]);
                }
                if let Some(why) = ctl.exited() {
                    panic!("controller stopped: {why}\n{}", ctl.log_tail());
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(60),
                    "the restarted controller does not judge: {other:?}\n{}",
                    ctl.log_tail()
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
    let after = bundle(&configs.get("metallb-webhook-configuration").await.unwrap());
    assert_eq!(before, after, "the caBundle changed across a restart");
    let again = secrets.get("metallb-webhook-cert").await.unwrap();
    assert_eq!(again.data.unwrap()["tls.crt"], data["tls.crt"]);
    assert!(
        ctl.log_tail()
            .contains("webhook certificate read from its Secret"),
        "{}",
        ctl.log_tail()
    );
}
