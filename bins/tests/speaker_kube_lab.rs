//! The `speaker` binary in Kubernetes mode against the lab's real control plane, with our
//! `controller` ([`lb_lab::cluster`]): three node namespaces, each speaker reaching the API
//! server through a loopback forward with the `speaker` ServiceAccount of `deploy/`, finding
//! the others through the speaker pods' labels. A Service gets an address from the controller,
//! one node answers for it, writes its `ServiceL2Status` and records `nodeAssigned`;
//! `externalTrafficPolicy: Local` follows the Pod; the exclusion label and `NetworkUnavailable`
//! move the address; announcements outlive the API server; a dead node's address moves; and
//! upstream MetalLB's speakers are replaced by ours one node at a time under a client loop.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams, Patch, PatchParams};
use lb_k8s::crd::ServiceL2Status;
use lb_lab::cluster::{Binaries, Cluster, HOSTS, NS, host_ip, mac_of, service_yaml};
use lb_lab::skip_or_fail;

fn binaries() -> Binaries {
    Binaries {
        speaker: env!("CARGO_BIN_EXE_speaker").into(),
        controller: env!("CARGO_BIN_EXE_controller").into(),
        deploy: Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy"),
    }
}

async fn l2_status_nodes(client: &kube::Client, service: &str) -> Vec<String> {
    let api: Api<ServiceL2Status> = Api::namespaced(client.clone(), NS);
    let mut nodes: Vec<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|o| o.status)
        .filter(|s| s.service_name == service)
        .map(|s| s.node)
        .collect();
    nodes.sort();
    nodes
}

async fn wait_l2_status(lab: &Cluster, service: &str, node: &str) {
    let t0 = Instant::now();
    loop {
        if l2_status_nodes(&lab.client, service).await == vec![node.to_string()] {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "ServiceL2Status of {service}: {:?}, expected [{node}]\n{}",
            l2_status_nodes(&lab.client, service).await,
            lab.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for a `nodeAssigned` event from the speaker on Service `name` with `message`.
async fn wait_event(lab: &Cluster, name: &str, message: &str) {
    let api: Api<k8s_openapi::api::core::v1::Event> =
        Api::namespaced(lab.client.clone(), "default");
    let t0 = Instant::now();
    loop {
        let found = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .into_iter()
            .any(|e| {
                e.involved_object.name.as_deref() == Some(name)
                    && e.reason.as_deref() == Some("nodeAssigned")
                    && e.message.as_deref() == Some(message)
                    && e.reporting_component.as_deref() == Some("metallb-speaker")
            });
        if found {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no event {message:?} on {name}\n{}",
            lab.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speakers_on_kubernetes_announce_what_the_controller_assigns() {
    let Some(mut lab) = Cluster::start("sk", binaries()).await else {
        return;
    };
    for i in 0..3 {
        lab.start_speaker(i, &[]);
    }
    let client = lab.client.clone();

    // A Service with a ready Pod on every node: one node answers, and says so.
    let web = lab.ingress("web").await;
    // The speakers meet one another within moments of starting; until all three have, the
    // owner may change. Then exactly the owner answers ARP.
    let t0 = Instant::now();
    let owner = loop {
        let owner = lab.wait_served(web, "web", |_| true);
        let i = HOSTS.iter().position(|h| *h == owner).unwrap();
        let answers = lab.mac_answers(web);
        if answers == vec![mac_of(i)] {
            break owner;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "served by {owner}, ARP answered by {answers:?}\n{}",
            lab.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    wait_l2_status(&lab, "web", &owner).await;
    let message = format!("announcing from node \"{owner}\" with protocol \"layer2\"");
    wait_event(&lab, "web", &message).await;

    // Dual-stack: both families from one node; IPv6 answered (NDP) by that node alone.
    lab.cp
        .apply_yaml("apiVersion: v1\nkind: Service\nmetadata: {name: web2, namespace: default}\nspec:\n  type: LoadBalancer\n  ipFamilyPolicy: RequireDualStack\n  selector: {app: web}\n  ports: [{port: 8080, protocol: TCP}]\n")
        .unwrap();
    let both = lab.addresses("web2", 2).await;
    let owners: Vec<String> = both
        .iter()
        .map(|ip| lab.wait_served(*ip, "web2", |_| true))
        .collect();
    assert_eq!(owners[0], owners[1], "{both:?}: both families on one node");
    let v6 = *both
        .iter()
        .find(|ip| ip.is_ipv6())
        .expect("an IPv6 address");
    let i = HOSTS.iter().position(|h| *h == owners[0]).unwrap();
    assert_eq!(
        lab.mac_answers(v6),
        vec![mac_of(i)],
        "only the owner answers NDP"
    );

    // BGP: every node advertises the routed Service to the router (ECMP), with the
    // advertisement's community; the client reaches it through the router; each node's
    // ServiceBGPStatus names the peer.
    lab.cp
        .apply_yaml("apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: default, annotations: {metallb.io/address-pool: routed}}\nspec:\n  type: LoadBalancer\n  selector: {app: web}\n  ports: [{port: 8080, protocol: TCP}]\n")
        .unwrap();
    let api = lab.ingress("api").await;
    let prefix = format!("{api}/32");
    let t0 = Instant::now();
    loop {
        let routes: Vec<_> = lab
            .bird_routes()
            .into_iter()
            .filter(|r| r.prefix == prefix)
            .collect();
        let from: std::collections::BTreeSet<&str> =
            routes.iter().map(|r| r.protocol.as_str()).collect();
        if from == ["h1v4", "h2v4", "h3v4"].into() {
            assert!(
                routes.iter().all(|r| r.communities == "(64512,100)"),
                "{routes:?}"
            );
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{prefix}: routes {routes:?}\n{}",
            lab.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    lab.wait_served(api, "api through the router", |_| true);
    let statuses: Api<lb_k8s::crd::ServiceBGPStatus> = Api::namespaced(client.clone(), NS);
    let t0 = Instant::now();
    loop {
        let mut seen: Vec<(String, Vec<String>)> = statuses
            .list(&ListParams::default())
            .await
            .unwrap()
            .into_iter()
            .filter_map(|o| o.status)
            .filter(|s| s.service_name == "api")
            .map(|s| (s.node, s.peers))
            .collect();
        seen.sort();
        let want: Vec<(String, Vec<String>)> = HOSTS
            .iter()
            .map(|h| (h.to_string(), vec!["router-v4".to_string()]))
            .collect();
        if seen == want {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "ServiceBGPStatus of api: {seen:?}\n{}",
            lab.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // externalTrafficPolicy: Local — only the node with the endpoint announces.
    lab.cp
        .create_ready_pod(
            &client,
            "default",
            "only-h3",
            "h3",
            &[("app", "only3")],
            host_ip(2),
        )
        .await
        .unwrap();
    lab.cp
        .apply_yaml(&service_yaml("local", "only3", true))
        .unwrap();
    let local = lab.ingress("local").await;
    lab.wait_served(local, "Local policy", |h| h == "h3");
    wait_l2_status(&lab, "local", "h3").await;
    // The Pod moves to h1: so does the announcement.
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), "default");
    let now = kube::api::DeleteParams {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    pods.delete("only-h3", &now).await.unwrap();
    lab.cp
        .create_ready_pod(
            &client,
            "default",
            "only-h1",
            "h1",
            &[("app", "only3")],
            host_ip(0),
        )
        .await
        .unwrap();
    lab.wait_served(local, "Local Pod moved", |h| h == "h1");
    wait_l2_status(&lab, "local", "h1").await;

    // The exclusion label takes the owner of `web` out at once.
    let nodes: Api<Node> = Api::all(client.clone());
    let label = |v: serde_json::Value| {
        serde_json::json!({"metadata": {"labels": {
            "node.kubernetes.io/exclude-from-external-load-balancers": v}}})
    };
    nodes
        .patch(
            &owner,
            &PatchParams::default(),
            &Patch::Merge(&label("true".into())),
        )
        .await
        .unwrap();
    let moved = lab.wait_served(web, "exclusion label", |h| h != owner);
    assert_eq!(lab.mac_answers(web).len(), 1);
    wait_l2_status(&lab, "web", &moved).await;
    nodes
        .patch(
            &owner,
            &PatchParams::default(),
            &Patch::Merge(&label(serde_json::Value::Null)),
        )
        .await
        .unwrap();
    let owner = lab.wait_served(web, "label removed", |h| h == owner);

    // NetworkUnavailable=True does the same.
    let unavailable = |status: &str| {
        serde_json::json!({"status": {"conditions": [{
            "type": "NetworkUnavailable", "status": status,
            "reason": "LabTest", "message": "set by the test",
            "lastTransitionTime": "2026-12-02T00:00:00Z"}]}})
    };
    nodes
        .patch_status(
            &owner,
            &PatchParams::default(),
            &Patch::Strategic(&unavailable("True")),
        )
        .await
        .unwrap();
    lab.wait_served(web, "NetworkUnavailable", |h| h != owner);
    nodes
        .patch_status(
            &owner,
            &PatchParams::default(),
            &Patch::Strategic(&unavailable("False")),
        )
        .await
        .unwrap();
    lab.wait_served(web, "network available again", |h| h == owner);

    // A rolling restart of the speakers (SIGTERM, as the DaemonSet does) loses no request.
    let probe = lab.client_loop(web);
    let t0 = Instant::now();
    let mut steps = Vec::new();
    for (i, host) in HOSTS.iter().enumerate() {
        steps.push((t0.elapsed(), format!("SIGTERM {host}")));
        lab.terminate(i);
        steps.push((t0.elapsed(), format!("start {host}")));
        lab.start_speaker(i, &[]);
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let (record, failures) = probe.finish_with_failures();
    let failures: Vec<(Duration, std::io::ErrorKind)> = failures
        .into_iter()
        .map(|(at, kind)| (at.saturating_duration_since(t0), kind))
        .collect();
    eprintln!(
        "rolling restart on Kubernetes ({web} first served by {owner}): {} of {} requests failed",
        failures.len(),
        record.len()
    );
    // No unanswered moment (no request times out); a connection open at the very instant the
    // address moves back to its restarted owner is reset by the other host, as in any Layer 2
    // failover: at most one per restart.
    assert!(
        failures
            .iter()
            .all(|(_, kind)| *kind == std::io::ErrorKind::ConnectionReset)
            && failures.len() <= HOSTS.len(),
        "failed at {failures:?}; steps {steps:?}\n{}",
        lab.logs()
    );
    let owner = lab.wait_served(web, "after the rolling restart", |_| true);

    // The API server goes away: announcements continue unchanged; when it is back, a new
    // Service is assigned and announced.
    lab.cp.stop_apiserver();
    for _ in 0..10 {
        assert_eq!(
            lab.served_by(web).as_deref(),
            Some(owner.as_str()),
            "{}",
            lab.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    lab.cp.start_apiserver().unwrap();
    lab.cp
        .apply_yaml(&service_yaml("after", "web", false))
        .unwrap();
    let after = lab.ingress("after").await;
    lab.wait_served(after, "after the API server restart", |_| true);

    // The owner dies (speaker killed, link down), 20 times: another node takes over.
    let mut times = Vec::new();
    for trial in 0..20 {
        let (owner, again) = lb_lab::e2e::failover_trial(
            &mut lb_lab::cluster::Ours {
                cluster: &mut lab,
                extra: &[],
            },
            web,
        );
        let again = again.expect("served again");
        eprintln!("trial {trial}: {owner} died, served again after {again:?}");
        times.push(again);
    }
    let (median, p95, max) = lb_lab::e2e::summary(times);
    eprintln!(
        "failover on Kubernetes (fast) over 20 trials: median {median:?}, p95 {p95:?}, max {max:?}"
    );
}

/// Migration: a cluster running upstream MetalLB's speakers (same memberlist Secret, same
/// labels, same ServiceAccount) has them replaced by ours one node at a time, with a client
/// loop running; the failed requests are reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metallb_speakers_are_replaced_one_node_at_a_time() {
    let metallb = match lb_lab::kube::metallb_binaries() {
        Ok(m) => m,
        Err(why) => return skip_or_fail(&why).unwrap_or(()),
    };
    let Some(mut lab) = Cluster::start("mg", binaries()).await else {
        return;
    };
    for i in 0..3 {
        lab.start_metallb_speaker(i, &metallb);
    }
    let web = lab.ingress("web").await;
    let first = lab.wait_served(web, "MetalLB's speakers", |_| true);
    // Let MetalLB's memberlist settle before the first replacement.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        lab.mac_answers(web).len(),
        1,
        "one MetalLB speaker answers\n{}",
        lab.logs()
    );
    let probe = lab.client_loop(web);
    for i in 0..3 {
        lab.terminate(i);
        lab.start_speaker(i, &["--ml-profile", "lan"]);
        tokio::time::sleep(Duration::from_secs(8)).await;
    }
    let record = probe.finish();
    let failures = record.iter().filter(|(_, got)| got.is_none()).count();
    let last = lab.wait_served(web, "after the migration", |_| true);
    assert_eq!(
        lab.mac_answers(web).len(),
        1,
        "one of ours answers\n{}",
        lab.logs()
    );
    eprintln!(
        "migration MetalLB {} -> ours, one node at a time (first owner {first}, last {last}): {failures} of {} client requests failed",
        lb_lab::kube::METALLB_VERSION,
        record.len()
    );
}
