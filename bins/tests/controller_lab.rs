//! The `controller` binary against the lab's real control plane (kube-apiserver + etcd +
//! kube-controller-manager): allocation by annotation and spec field, sharing, dual-stack,
//! another class left alone, events, metrics over HTTP, last good config, and a kill -9
//! restart with many Services that moves no address.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Service};
use kube::api::{Api, ListParams, PostParams};
use lb_lab::kube::{ControlPlane, Process};
use serde_json::json as j;

const NS: &str = "metallb-system";

fn crd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn install(cp: &ControlPlane) {
    cp.apply_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NS}}}\n"
    ))
    .unwrap();
    for entry in std::fs::read_dir(crd_dir()).unwrap() {
        let yaml = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        cp.apply_yaml(&yaml).unwrap();
    }
    let out = cp.kubectl(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/ipaddresspools.metallb.io",
        "crd/configurationstates.metallb.io",
    ]);
    assert!(out.status.success(), "{out:?}");
}

struct Controller {
    process: Process,
    metrics: u16,
    health: u16,
}

fn start_controller(cp: &ControlPlane, tag: &str, extra: &[&str]) -> Controller {
    let (metrics, health) = (free_port(), free_port());
    let mut args = vec![
        format!("--namespace={NS}"),
        "--webhook-mode=disabled".into(),
        format!("--port={metrics}"),
        format!("--health-probe-port={health}"),
        "--pod-name=controller-test".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let kubeconfig = cp.kubeconfig().display().to_string();
    let process = Process::spawn(
        Path::new(env!("CARGO_BIN_EXE_controller")),
        &args,
        &[("KUBECONFIG", &kubeconfig)],
        &cp.dir().join(format!("controller-{tag}.log")),
    )
    .unwrap();
    Controller {
        process,
        metrics,
        health,
    }
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let code = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n")?.1.to_owned();
    Some((code, body))
}

fn service(name: &str, spec: serde_json::Value, annotations: serde_json::Value) -> Service {
    let mut spec = spec;
    spec["type"] = "LoadBalancer".into();
    if spec.get("ports").is_none() {
        spec["ports"] = j!([{"port": 80, "protocol": "TCP"}]);
    }
    serde_json::from_value(j!({
        "metadata": {"name": name, "annotations": annotations},
        "spec": spec,
    }))
    .unwrap()
}

fn ingress(s: &Service) -> Vec<String> {
    s.status
        .as_ref()
        .and_then(|st| st.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|i| i.iter().filter_map(|i| i.ip.clone()).collect())
        .unwrap_or_default()
}

async fn wait_ingress(
    api: &Api<Service>,
    name: &str,
    n: usize,
    ctl: &mut Controller,
) -> Vec<String> {
    let t0 = Instant::now();
    loop {
        let ips = ingress(&api.get(name).await.unwrap());
        if ips.len() >= n {
            return ips;
        }
        if let Some(why) = ctl.process.exited() {
            panic!("controller stopped: {why}\n{}", ctl.process.log_tail());
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{name}: no address in 60 s\n{}",
            ctl.process.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn events_of(client: &kube::Client, name: &str) -> Vec<(String, String)> {
    let api: Api<Event> = Api::namespaced(client.clone(), "default");
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(name))
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

async fn wait_event(client: &kube::Client, name: &str, reason: &str) -> Vec<(String, String)> {
    let t0 = Instant::now();
    loop {
        let ev = events_of(client, name).await;
        if ev.iter().any(|(r, _)| r == reason) {
            return ev;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{name}: no {reason} event: {ev:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `metric{pool="p"} value` lines of the exposition.
fn metric(body: &str, name: &str, pool: &str) -> Option<f64> {
    let prefix = format!("{name}{{pool=\"{pool}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

async fn config_state(cp: &ControlPlane) -> String {
    let out = cp.kubectl(&[
        "-n",
        NS,
        "get",
        "configurationstate",
        "controller",
        "-o",
        "jsonpath={.status.result}|{.status.errorSummary}",
    ]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_assigns_by_annotation_and_spec() {
    let Some(cp) = ControlPlane::start() else {
        return;
    };
    install(&cp);
    cp.apply_yaml(&format!(
        "apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {{name: default, namespace: {NS}}}
spec:
  addresses: [192.0.2.10-192.0.2.19, '2001:db8::10-2001:db8::19']
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {{name: special, namespace: {NS}}}
spec:
  addresses: [192.0.2.100-192.0.2.109]
  autoAssign: false
"
    ))
    .unwrap();
    let mut ctl = start_controller(&cp, "spec", &[]);
    let client = cp.client().await;
    let api: Api<Service> = Api::namespaced(client.clone(), "default");
    let pp = PostParams::default();

    let cases = [
        service("plain", j!({}), j!({})),
        service(
            "by-pool",
            j!({}),
            j!({"metallb.io/address-pool": "special"}),
        ),
        service(
            "by-pool-deprecated",
            j!({}),
            j!({"metallb.universe.tf/address-pool": "special"}),
        ),
        service(
            "by-annotation-ip",
            j!({}),
            j!({"metallb.io/loadBalancerIPs": "192.0.2.105"}),
        ),
        service("by-spec-ip", j!({"loadBalancerIP": "192.0.2.15"}), j!({})),
        service(
            "shared-a",
            j!({"ports": [{"port": 80, "protocol": "TCP"}]}),
            j!({"metallb.io/allow-shared-ip": "k", "metallb.io/loadBalancerIPs": "192.0.2.18"}),
        ),
        service(
            "shared-b",
            j!({"ports": [{"port": 443, "protocol": "TCP"}]}),
            j!({"metallb.io/allow-shared-ip": "k", "metallb.io/loadBalancerIPs": "192.0.2.18"}),
        ),
        service(
            "dual",
            j!({"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv4", "IPv6"]}),
            j!({}),
        ),
        service(
            "v6-only",
            j!({"ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv6"]}),
            j!({}),
        ),
        service(
            "other-class",
            j!({"loadBalancerClass": "example.com/other"}),
            j!({}),
        ),
    ];
    for s in &cases {
        api.create(&pp, s).await.unwrap();
    }
    let plain = wait_ingress(&api, "plain", 1, &mut ctl).await;
    let by_pool = wait_ingress(&api, "by-pool", 1, &mut ctl).await;
    let by_dep = wait_ingress(&api, "by-pool-deprecated", 1, &mut ctl).await;
    let by_ann = wait_ingress(&api, "by-annotation-ip", 1, &mut ctl).await;
    let by_spec = wait_ingress(&api, "by-spec-ip", 1, &mut ctl).await;
    let sa = wait_ingress(&api, "shared-a", 1, &mut ctl).await;
    let sb = wait_ingress(&api, "shared-b", 1, &mut ctl).await;
    let dual = wait_ingress(&api, "dual", 2, &mut ctl).await;
    let v6 = wait_ingress(&api, "v6-only", 1, &mut ctl).await;
    eprintln!(
        "plain {plain:?} by-pool {by_pool:?} deprecated {by_dep:?} ann {by_ann:?} spec {by_spec:?} shared {sa:?} {sb:?} dual {dual:?} v6 {v6:?}"
    );
    let in_range = |ip: &str, lo: u8, hi: u8| {
        let ip: std::net::Ipv4Addr = ip.parse().unwrap();
        let o = ip.octets();
        o[..3] == [192, 0, 2] && (lo..=hi).contains(&o[3])
    };
    assert!(in_range(&plain[0], 10, 19), "{plain:?}");
    assert!(in_range(&by_pool[0], 100, 109), "{by_pool:?}");
    assert!(in_range(&by_dep[0], 100, 109), "{by_dep:?}");
    assert_eq!(by_ann, ["192.0.2.105"]);
    assert_eq!(by_spec, ["192.0.2.15"]);
    assert_eq!(sa, ["192.0.2.18"]);
    assert_eq!(sb, ["192.0.2.18"]);
    assert_eq!(dual.len(), 2);
    assert!(in_range(&dual[0], 10, 19), "{dual:?}");
    assert!(dual[1].starts_with("2001:db8::1"), "{dual:?}");
    assert!(v6[0].starts_with("2001:db8::1"), "{v6:?}");
    // The pool annotation is written with the status.
    let got = api.get("by-pool").await.unwrap();
    assert_eq!(
        got.metadata
            .annotations
            .unwrap()
            .get("metallb.io/ip-allocated-from-pool")
            .map(String::as_str),
        Some("special")
    );
    // Another class: left alone.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(ingress(&api.get("other-class").await.unwrap()).is_empty());

    // Events with upstream's reasons.
    let ev = wait_event(&client, "plain", "IPAllocated").await;
    eprintln!("plain events: {ev:?}");
    wait_event(&client, "by-pool-deprecated", "deprecatedAnnotation").await;
    // A requested address held by a Service that does not share: AllocationFailed.
    api.create(
        &pp,
        &service(
            "conflict",
            j!({}),
            j!({"metallb.io/loadBalancerIPs": "192.0.2.15"}),
        ),
    )
    .await
    .unwrap();
    let ev = wait_event(&client, "conflict", "AllocationFailed").await;
    eprintln!("conflict events: {ev:?}");
    assert!(ingress(&api.get("conflict").await.unwrap()).is_empty());

    // Metrics over HTTP match the addresses the statuses show.
    let all = api.list(&ListParams::default()).await.unwrap().items;
    let mut in_use: BTreeMap<&str, std::collections::BTreeSet<String>> = BTreeMap::new();
    for s in &all {
        for ip in ingress(s) {
            let pool = if ip.contains(':') || in_range(&ip, 10, 19) {
                "default"
            } else {
                "special"
            };
            in_use.entry(pool).or_default().insert(ip);
        }
    }
    let t0 = Instant::now();
    loop {
        let (code, body) = http_get(ctl.metrics, "/metrics").unwrap();
        assert_eq!(code, 200);
        let got = |n: &str, p: &str| metric(&body, n, p);
        let want_default = in_use.get("default").map_or(0, |s| s.len()) as f64;
        let want_special = in_use.get("special").map_or(0, |s| s.len()) as f64;
        let ok = got("metallb_allocator_addresses_total", "default") == Some(20.0)
            && got("metallb_allocator_addresses_total", "special") == Some(10.0)
            && got("metallb_allocator_addresses_in_use_total", "default") == Some(want_default)
            && got("metallb_allocator_addresses_in_use_total", "special") == Some(want_special);
        if ok {
            eprintln!("metrics agree: default {want_default}, special {want_special} in use");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "metrics disagree with statuses {in_use:?}:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (code, _) = http_get(ctl.health, "/readyz").unwrap();
    assert_eq!(code, 200);
    let (code, _) = http_get(ctl.health, "/healthz").unwrap();
    assert_eq!(code, 200);

    // An invalid whole (overlapping pools; no webhook to stop it): last good config stays,
    // ConfigurationState says why.
    let t0 = Instant::now();
    while !config_state(&cp).await.starts_with("Valid") {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{}",
            config_state(&cp).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cp.apply_yaml(&format!(
        "apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {{name: overlapping, namespace: {NS}}}
spec:
  addresses: [192.0.2.12/32]
"
    ))
    .unwrap();
    let t0 = Instant::now();
    let state = loop {
        let s = config_state(&cp).await;
        if s.starts_with("Invalid") {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "{s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("ConfigurationState: {state}");
    api.create(&pp, &service("after-bad-config", j!({}), j!({})))
        .await
        .unwrap();
    let ips = wait_ingress(&api, "after-bad-config", 1, &mut ctl).await;
    assert!(in_range(&ips[0], 10, 19), "{ips:?}");
    assert_eq!(ingress(&api.get("plain").await.unwrap()), plain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_with_many_services_moves_nothing() {
    let Some(cp) = ControlPlane::start() else {
        return;
    };
    let n: usize = std::env::var("LB_CONTROLLER_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    install(&cp);
    cp.apply_yaml(&format!(
        "apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {{name: big, namespace: {NS}}}
spec:
  addresses: [192.0.2.0/24, '2001:db8:1::/112']
"
    ))
    .unwrap();
    let mut ctl = start_controller(&cp, "restart-1", &[]);
    let client = cp.client().await;
    let api: Api<Service> = Api::namespaced(client.clone(), "default");
    let t0 = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                // The lab's IPv4 service range has 126 cluster IPs: one Service in ten is
                // IPv4, the rest IPv6, so both families are restored.
                let spec = if i % 10 == 0 {
                    j!({})
                } else {
                    j!({"ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv6"]})
                };
                api.create(
                    &PostParams::default(),
                    &service(&format!("svc-{i:05}"), spec, j!({})),
                )
                .await
                .unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    eprintln!("{n} Services created in {:?}", t0.elapsed());
    let before = loop {
        let all = api.list(&ListParams::default()).await.unwrap().items;
        let got: BTreeMap<String, Vec<String>> = all
            .iter()
            .filter(|s| {
                s.metadata
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("svc-"))
            })
            .map(|s| (s.metadata.name.clone().unwrap(), ingress(s)))
            .collect();
        if got.len() == n && got.values().all(|v| v.len() == 1) {
            break got;
        }
        if let Some(why) = ctl.process.exited() {
            panic!("controller stopped: {why}\n{}", ctl.process.log_tail());
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "not all assigned: {} of {n}",
            got.values().filter(|v| !v.is_empty()).count()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    eprintln!(
        "{n} Services assigned {:?} after the first create",
        t0.elapsed()
    );
    let distinct: std::collections::BTreeSet<&String> = before.values().flatten().collect();
    assert_eq!(distinct.len(), n, "an address given twice");

    ctl.process.kill(); // SIGKILL
    let t1 = Instant::now();
    let mut ctl = start_controller(&cp, "restart-2", &[]);
    loop {
        if http_get(ctl.health, "/readyz").is_some_and(|(c, _)| c == 200) {
            break;
        }
        if let Some(why) = ctl.process.exited() {
            panic!("controller stopped: {why}\n{}", ctl.process.log_tail());
        }
        assert!(t1.elapsed() < Duration::from_secs(120), "not ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "restarted controller ready {:?} after start with {n} Services",
        t1.elapsed()
    );
    // Let it run a while, then check nothing moved.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = api.list(&ListParams::default()).await.unwrap().items;
    let after: BTreeMap<String, Vec<String>> = all
        .iter()
        .filter(|s| {
            s.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("svc-"))
        })
        .map(|s| (s.metadata.name.clone().unwrap(), ingress(s)))
        .collect();
    let moved: Vec<_> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(v))
        .collect();
    assert!(
        moved.is_empty(),
        "{} Services moved: {:?}",
        moved.len(),
        &moved[..moved.len().min(5)]
    );
    assert!(ctl.process.exited().is_none());
}

/// Every Service named `prefix…` with its ingress addresses.
async fn addresses_of(api: &Api<Service>, prefix: &str) -> BTreeMap<String, Vec<String>> {
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|s| {
            s.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with(prefix))
        })
        .map(|s| (s.metadata.name.clone().unwrap(), ingress(s)))
        .collect()
}

/// Waits until `ok` holds for the Services named `prefix…` (at most 120 s).
async fn wait_addresses(
    api: &Api<Service>,
    prefix: &str,
    ctl: &mut Controller,
    ok: impl Fn(&BTreeMap<String, Vec<String>>) -> bool,
) -> BTreeMap<String, Vec<String>> {
    let t0 = Instant::now();
    loop {
        let got = addresses_of(api, prefix).await;
        if ok(&got) {
            return got;
        }
        if let Some(why) = ctl.process.exited() {
            panic!("controller stopped: {why}\n{}", ctl.process.log_tail());
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "{got:?}\n{}",
            ctl.process.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn v4_in(ip: &str, lo: u8, hi: u8) -> bool {
    ip.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|a| a.octets()[..3] == [192, 0, 2] && (lo..=hi).contains(&a.octets()[3]))
}

/// A pool changed while the controller is down: on restart only the Services whose addresses
/// the change took away move; every other one keeps its address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_change_while_down_moves_only_what_it_concerns() {
    let Some(cp) = ControlPlane::start() else {
        return;
    };
    install(&cp);
    let pools = |b: &str| {
        format!(
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: a, namespace: {NS}}}\nspec:\n  addresses: [192.0.2.0/28]\n---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: b, namespace: {NS}}}\nspec:\n  addresses: [{b}]\n"
        )
    };
    cp.apply_yaml(&pools("192.0.2.16/28")).unwrap();
    let mut ctl = start_controller(&cp, "pool-1", &[]);
    let client = cp.client().await;
    let api: Api<Service> = Api::namespaced(client.clone(), "default");
    for pool in ["a", "b"] {
        for i in 0..10 {
            let ann = j!({"metallb.io/address-pool": pool});
            api.create(
                &PostParams::default(),
                &service(&format!("p{pool}-{i:02}"), j!({}), ann),
            )
            .await
            .unwrap();
        }
    }
    let all_one =
        |m: &BTreeMap<String, Vec<String>>| m.len() == 20 && m.values().all(|v| v.len() == 1);
    let before = wait_addresses(&api, "p", &mut ctl, all_one).await;
    ctl.process.kill(); // SIGKILL
    // Pool b shrinks to .16-.23 and gains .40-.47: what b held above .23 must move there.
    cp.apply_yaml(&pools("192.0.2.16/29, 192.0.2.40/29"))
        .unwrap();
    let mut ctl = start_controller(&cp, "pool-2", &[]);
    let settled = |m: &BTreeMap<String, Vec<String>>| {
        all_one(m)
            && m.iter()
                .filter(|(k, _)| k.starts_with("pb-"))
                .all(|(_, v)| v4_in(&v[0], 16, 23) || v4_in(&v[0], 40, 47))
    };
    let after = wait_addresses(&api, "p", &mut ctl, settled).await;
    let mut moved = Vec::new();
    for (name, was) in &before {
        let now = &after[name];
        let concerned = name.starts_with("pb-") && !v4_in(&was[0], 16, 23);
        if concerned {
            moved.push(name.clone());
            assert!(v4_in(&now[0], 40, 47), "{name}: {was:?} -> {now:?}");
        } else {
            assert_eq!(
                was, now,
                "{name} moved though the change did not concern it"
            );
        }
    }
    assert!(
        !moved.is_empty(),
        "the change took addresses away: {before:?}"
    );
    let distinct: std::collections::BTreeSet<&String> = after.values().flatten().collect();
    assert_eq!(distinct.len(), 20, "an address given twice: {after:?}");
    eprintln!(
        "pool changed while down: {} of 20 Services moved ({moved:?})",
        moved.len()
    );
}

/// kube-apiserver restarted while Services are being created: the controller resumes its
/// watches, and every Service ends with exactly one valid address, all distinct.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_disruption_ends_with_one_valid_address_each() {
    let Some(mut cp) = ControlPlane::start() else {
        return;
    };
    install(&cp);
    cp.apply_yaml(&format!(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: big, namespace: {NS}}}\nspec:\n  addresses: ['2001:db8:1::/112']\n"
    ))
    .unwrap();
    let mut ctl = start_controller(&cp, "disrupt", &[]);
    let client = cp.client().await;
    let api: Api<Service> = Api::namespaced(client.clone(), "default");
    let n = 300;
    let creator = {
        let api = api.clone();
        tokio::spawn(async move {
            for i in 0..n {
                let spec = j!({"ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv6"]});
                let svc = service(&format!("w-{i:04}"), spec, j!({}));
                // The API server goes away for a while: retry until the create lands (a create
                // that landed before the connection broke answers 409 on the retry).
                loop {
                    match api.create(&PostParams::default(), &svc).await {
                        Ok(_) => break,
                        Err(kube::Error::Api(e)) if e.code == 409 => break,
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            }
        })
    };
    // Restart the API server once a third of the Services exist.
    let t0 = Instant::now();
    while addresses_of(&api, "w-").await.len() < n / 3 {
        assert!(t0.elapsed() < Duration::from_secs(120), "creation stalled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cp.restart_apiserver();
    creator.await.unwrap();
    let done = |m: &BTreeMap<String, Vec<String>>| m.len() == n && m.values().all(|v| v.len() == 1);
    let got = wait_addresses(&api, "w-", &mut ctl, done).await;
    let distinct: std::collections::BTreeSet<&String> = got.values().flatten().collect();
    assert_eq!(distinct.len(), n, "an address given twice");
    for ip in &distinct {
        let a: std::net::Ipv6Addr = ip.parse().unwrap();
        assert_eq!(
            a.segments()[..7],
            [0x2001, 0xdb8, 1, 0, 0, 0, 0],
            "{a} outside the pool"
        );
    }
    assert!(ctl.process.exited().is_none(), "{}", ctl.process.log_tail());
    eprintln!("API server restarted under {n} creations: every Service has one valid address");
}
