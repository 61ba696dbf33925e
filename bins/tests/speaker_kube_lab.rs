//! The `speaker` binary in Kubernetes mode against the lab's real control plane, with our
//! `controller`: three node namespaces on one segment (each with a speaker that reaches the API
//! server through a loopback forward), Nodes and ready Pods (kube-controller-manager makes the
//! EndpointSlices), and a client. `deploy/` is applied and the speakers run with its
//! ServiceAccount's token; they find each other through their pods' labels, as upstream's do. A Service gets an address from the controller, one node
//! answers for it and writes its `ServiceL2Status`; `externalTrafficPolicy: Local` follows the
//! Pod; the exclusion label moves the address; a dead node's address moves.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Service};
use kube::api::{Api, ListParams, Patch, PatchParams};
use lb_k8s::crd::ServiceL2Status;
use lb_lab::kube::{ControlPlane, Exposed, Process};
use lb_lab::{Namespaces, net, skip_or_fail};

const NS: &str = "metallb-system";
const HOSTS: [&str; 3] = ["h1", "h2", "h3"];

/// `kubectl apply -k deploy/` (CRDs, RBAC, the DaemonSet — never scheduled: the lab has no
/// kubelet), and a kubeconfig with the `speaker` ServiceAccount's token, so the speakers run
/// with exactly the permissions `deploy/` grants.
fn install(cp: &ControlPlane) -> PathBuf {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let out = cp.kubectl(&[
        "apply",
        "--server-side",
        "-k",
        &deploy.display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cp.kubectl(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/ipaddresspools.metallb.io",
        "crd/servicel2statuses.metallb.io",
    ]);
    assert!(out.status.success(), "{out:?}");
    let out = cp.kubectl(&["-n", NS, "create", "token", "speaker"]);
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let admin = std::fs::read_to_string(cp.kubeconfig()).unwrap();
    let sa = admin.replace("lb-lab-admin-token", &token);
    assert_ne!(sa, admin);
    let path = cp.dir().join("speaker-sa.kubeconfig");
    std::fs::write(&path, sa).unwrap();
    path
}

fn host_ip(i: usize) -> IpAddr {
    format!("192.0.2.{}", 11 + i).parse().unwrap()
}

struct Lab {
    cp: ControlPlane,
    speaker_kubeconfig: PathBuf,
    secret_dir: PathBuf,
    net: Namespaces,
    _exposed: Vec<Exposed>,
    controller: Process,
    speakers: Vec<Option<Process>>,
}

impl Lab {
    fn start_speaker(&mut self, i: usize) {
        self.start_speaker_with(i, &[]);
    }

    fn start_speaker_with(&mut self, i: usize, extra: &[&str]) {
        let host = HOSTS[i];
        let speaker = env!("CARGO_BIN_EXE_speaker");
        let args: Vec<String> = [
            "netns",
            "exec",
            &self.net.ns(host),
            speaker,
            "--node-name",
            host,
            "--namespace",
            NS,
            "--pod-name",
            &format!("speaker-{host}"),
            "--ml-bindaddr",
            &host_ip(i).to_string(),
            "--ml-labels",
            "app=metallb,component=speaker",
            "--ml-secret-key-path",
            &self.secret_dir.display().to_string(),
            "--port",
            "0",
            "--health-probe-port",
            "0",
            "--log-format",
            "text",
            "--log-level",
            "debug",
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
        let kubeconfig = self.speaker_kubeconfig.display().to_string();
        let log = self.cp.dir().join(format!("speaker-{host}.log"));
        self.speakers[i] = Some(
            Process::spawn(Path::new("ip"), &args, &[("KUBECONFIG", &kubeconfig)], &log).unwrap(),
        );
    }

    /// Starts upstream MetalLB's speaker on host `i`, with the same Secret, labels and
    /// ServiceAccount.
    fn start_metallb_speaker(&mut self, i: usize, metallb: &Path) {
        let host = HOSTS[i];
        let args: Vec<String> = [
            "netns",
            "exec",
            &self.net.ns(host),
            &metallb.join("speaker").display().to_string(),
            "--port=7472",
            "--log-level=info",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let kubeconfig = self.speaker_kubeconfig.display().to_string();
        let ip = host_ip(i).to_string();
        let pod = format!("speaker-{host}");
        let secret = self.secret_dir.display().to_string();
        let env = [
            ("KUBECONFIG", kubeconfig.as_str()),
            ("METALLB_NODE_NAME", host),
            ("METALLB_POD_NAME", pod.as_str()),
            ("METALLB_NAMESPACE", NS),
            ("METALLB_HOST", ip.as_str()),
            ("METALLB_ML_BIND_ADDR", ip.as_str()),
            ("METALLB_ML_LABELS", "app=metallb,component=speaker"),
            ("METALLB_ML_SECRET_KEY_PATH", secret.as_str()),
        ];
        let log = self.cp.dir().join(format!("metallb-speaker-{host}.log"));
        self.speakers[i] = Some(Process::spawn(Path::new("ip"), &args, &env, &log).unwrap());
    }

    /// SIGTERM to host `i`'s speaker; waits until it has exited.
    fn terminate(&mut self, i: usize) {
        if let Some(mut p) = self.speakers[i].take() {
            if let Some(pid) = p.pid() {
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
            let t0 = Instant::now();
            while p.exited().is_none() && t0.elapsed() < Duration::from_secs(15) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for h in HOSTS {
            let ours = self.cp.dir().join(format!("speaker-{h}.log"));
            let theirs = self.cp.dir().join(format!("metallb-speaker-{h}.log"));
            let log = std::fs::read_to_string(ours).unwrap_or_default()
                + &std::fs::read_to_string(theirs).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            out += &format!("--- speaker {h}\n");
            for l in tail.into_iter().rev() {
                out += l;
                out.push('\n');
            }
        }
        out + &format!("--- controller\n{}", self.controller.log_tail())
    }

    /// Which host serves `ip` to the client, if any.
    fn served_by(&self, ip: IpAddr) -> Option<String> {
        net::tcp_get(self.net.netns_path("c"), ip)
    }

    /// Waits until the client is served by a host satisfying `ok`.
    fn wait_served(&self, ip: IpAddr, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            if let Some(host) = self.served_by(ip)
                && ok(&host)
            {
                return host;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "{what}: {ip} not served as expected\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn mac_answers(&self, ip: IpAddr) -> Vec<String> {
        let out = self.net.exec(
            "c",
            &[
                "arping",
                "-c",
                "3",
                "-w",
                "3",
                "-I",
                "eth0",
                &ip.to_string(),
            ],
        );
        let mut macs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let (_, rest) = l.split_once(" from ")?;
                Some(rest.split_whitespace().next()?.to_lowercase())
            })
            .collect();
        macs.sort();
        macs.dedup();
        macs
    }
}

fn mac_of(i: usize) -> String {
    format!("02:00:00:00:00:{:02x}", 0x11 + i)
}

async fn ingress(api: &Api<Service>, name: &str) -> IpAddr {
    let t0 = Instant::now();
    loop {
        let svc = api.get(name).await.unwrap();
        let ip = svc
            .status
            .and_then(|s| s.load_balancer)
            .and_then(|lb| lb.ingress)
            .and_then(|i| i.into_iter().next())
            .and_then(|i| i.ip);
        if let Some(ip) = ip {
            return ip.parse().unwrap();
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "{name}: no address");
        tokio::time::sleep(Duration::from_millis(100)).await;
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

async fn wait_l2_status(client: &kube::Client, service: &str, node: &str, lab: &Lab) {
    let t0 = Instant::now();
    loop {
        if l2_status_nodes(client, service).await == vec![node.to_string()] {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "ServiceL2Status of {service}: {:?}, expected [{node}]\n{}",
            l2_status_nodes(client, service).await,
            lab.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for a `nodeAssigned` event on Service `name` with `message`.
async fn wait_event(client: &kube::Client, name: &str, message: &str, lab: &Lab) {
    let api: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), "default");
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

fn service_yaml(name: &str, app: &str, local: bool) -> String {
    let policy = if local { "Local" } else { "Cluster" };
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: {policy}\n  selector: {{app: {app}}}\n  ports: [{{port: 8080, protocol: TCP}}]\n"
    )
}

/// The lab up to the speakers (not started): namespaces, any-IP routes and TCP servers on the
/// hosts, `deploy/` applied, Nodes and speaker Pods, our controller, a pool with an L2
/// advertisement and a Service `web` with a ready Pod on every node. `None`: skipped.
async fn setup(tag: &str) -> Option<(Lab, kube::Client)> {
    let cp = ControlPlane::start()?;
    let prefix = format!("{tag}{}", std::process::id() % 100_000);
    let mut hosts: Vec<&str> = HOSTS.to_vec();
    hosts.push("c");
    let net = match Namespaces::create(prefix, &hosts, &["arping"]) {
        Ok(n) => n,
        Err(why) => return skip_or_fail(&why),
    };
    net.switch();
    for (i, h) in HOSTS.iter().enumerate() {
        net.add_host(
            h,
            &mac_of(i),
            &format!("{}/24", host_ip(i)),
            &format!("2001:db8:1::{}/64", 11 + i),
        );
        // The host takes the pool's addresses itself (as kube-proxy would) without answering
        // ARP for them: only the speaker answers.
        for cmd in [
            vec!["ip", "route", "add", "local", "192.0.2.192/27", "dev", "lo"],
            vec!["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"],
        ] {
            let out = net.exec(h, &cmd);
            assert!(out.status.success(), "{cmd:?}: {out:?}");
        }
        net::tcp_server(net.netns_path(h), false, ["h1", "h2", "h3"][i], 600);
    }
    net.add_host(
        "c",
        "02:00:00:00:00:99",
        "192.0.2.100/24",
        "2001:db8:1::100/64",
    );
    let speaker_kubeconfig = install(&cp);
    let secret_dir = cp.dir().join("memberlist");
    std::fs::create_dir_all(&secret_dir).unwrap();
    std::fs::write(secret_dir.join("secretkey"), "bGFiLW1lbWJlcmxpc3Qta2V5").unwrap();
    let exposed = HOSTS
        .iter()
        .map(|h| cp.expose_in(&net.netns_path(h)).unwrap())
        .collect();
    let client = cp.client().await;
    for (i, h) in HOSTS.iter().enumerate() {
        cp.create_node(&client, h, &[host_ip(i)], &[], true)
            .await
            .unwrap();
        // The speaker pods as the DaemonSet would make them (hostNetwork: the pod IP is the
        // node's): the speakers find each other through them (`--ml-labels`).
        let labels = [("app", "metallb"), ("component", "speaker")];
        cp.create_ready_pod(&client, NS, &format!("speaker-{h}"), h, &labels, host_ip(i))
            .await
            .unwrap();
    }
    let kubeconfig = cp.kubeconfig().display().to_string();
    let controller = Process::spawn(
        Path::new(env!("CARGO_BIN_EXE_controller")),
        &[
            format!("--namespace={NS}"),
            "--webhook-mode=disabled".into(),
            "--port=0".into(),
            "--health-probe-port=0".into(),
            "--log-format=text".into(),
        ],
        &[("KUBECONFIG", &kubeconfig)],
        &cp.dir().join("controller.log"),
    )
    .unwrap();
    let lab = Lab {
        cp,
        speaker_kubeconfig,
        secret_dir,
        net,
        _exposed: exposed,
        controller,
        speakers: vec![None, None, None],
    };
    lab.cp
        .apply_yaml(&format!(
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: lan, namespace: {NS}}}\nspec:\n  addresses: [192.0.2.192/27]\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {{name: lan, namespace: {NS}}}\nspec:\n  ipAddressPools: [lan]\n"
        ))
        .unwrap();

    // A Service with a ready Pod on every node: one node answers, and says so.
    for (i, h) in HOSTS.iter().enumerate() {
        lab.cp
            .create_ready_pod(
                &client,
                "default",
                &format!("web-{h}"),
                h,
                &[("app", "web")],
                host_ip(i),
            )
            .await
            .unwrap();
    }
    lab.cp
        .apply_yaml(&service_yaml("web", "web", false))
        .unwrap();
    Some((lab, client))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speakers_on_kubernetes_announce_what_the_controller_assigns() {
    let Some((mut lab, client)) = setup("sk").await else {
        return;
    };
    for i in 0..3 {
        lab.start_speaker(i);
    }
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let web = ingress(&services, "web").await;
    let owner = lab.wait_served(web, "web", |_| true);
    let i = HOSTS.iter().position(|h| *h == owner).unwrap();
    assert_eq!(
        lab.mac_answers(web),
        vec![mac_of(i)],
        "exactly the owner answers ARP"
    );
    wait_l2_status(&client, "web", &owner, &lab).await;
    wait_event(
        &client,
        "web",
        &format!("announcing from node \"{owner}\" with protocol \"layer2\""),
        &lab,
    )
    .await;

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
    let local = ingress(&services, "local").await;
    lab.wait_served(local, "Local policy", |h| h == "h3");
    wait_l2_status(&client, "local", "h3", &lab).await;

    // The exclusion label takes the owner of `web` out at once.
    let nodes: Api<Node> = Api::all(client.clone());
    let label = serde_json::json!({"metadata": {"labels": {
        "node.kubernetes.io/exclude-from-external-load-balancers": "true"}}});
    nodes
        .patch(&owner, &PatchParams::default(), &Patch::Merge(&label))
        .await
        .unwrap();
    let moved = lab.wait_served(web, "exclusion label", |h| h != owner);
    assert_eq!(lab.mac_answers(web).len(), 1);
    wait_l2_status(&client, "web", &moved, &lab).await;
    let unlabel = serde_json::json!({"metadata": {"labels": {
        "node.kubernetes.io/exclude-from-external-load-balancers": null}}});
    nodes
        .patch(&owner, &PatchParams::default(), &Patch::Merge(&unlabel))
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
    let owner = lab.wait_served(web, "network available again", |h| h == owner);

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
    let after = ingress(&services, "after").await;
    lab.wait_served(after, "after the API server restart", |_| true);

    // The owner dies (speaker killed, link down): another node takes over.
    let i = HOSTS.iter().position(|h| *h == owner).unwrap();
    let t0 = Instant::now();
    lab.speakers[i].as_mut().unwrap().kill();
    let out = lab.net.exec(&owner, &["ip", "link", "set", "eth0", "down"]);
    assert!(out.status.success());
    let next = lab.wait_served(web, "failover", |h| h != owner);
    eprintln!(
        "failover {owner} -> {next}: client served again after {:?}",
        t0.elapsed()
    );
    drop(lab);
}

/// A client loop: a fresh TCP connection to `ip:8080` every 10 ms (100 ms timeout) from the
/// client namespace until `stop`; returns (attempts, failures).
fn client_loop(
    netns_path: String,
    ip: IpAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<(u32, u32)> {
    net::in_netns(netns_path, move || {
        use std::io::Read;
        let (mut attempts, mut failures) = (0, 0);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            attempts += 1;
            let ok = std::net::TcpStream::connect_timeout(
                &(ip, 8080).into(),
                Duration::from_millis(100),
            )
            .and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_millis(200)))?;
                let mut out = String::new();
                s.read_to_string(&mut out)?;
                Ok(!out.is_empty())
            })
            .unwrap_or(false);
            if !ok {
                failures += 1;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (attempts, failures)
    })
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
    let Some((mut lab, client)) = setup("mg").await else {
        return;
    };
    for i in 0..3 {
        lab.start_metallb_speaker(i, &metallb);
    }
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let web = ingress(&services, "web").await;
    let first = lab.wait_served(web, "MetalLB's speakers", |_| true);
    // Let MetalLB's memberlist settle before the first replacement.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        lab.mac_answers(web).len(),
        1,
        "one MetalLB speaker answers\n{}",
        lab.logs()
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let looper = client_loop(lab.net.netns_path("c"), web, stop.clone());
    for i in 0..3 {
        lab.terminate(i);
        lab.start_speaker_with(i, &["--ml-profile", "lan"]);
        // Ours is in when its metrics say it has planned (it reads the same objects).
        tokio::time::sleep(Duration::from_secs(8)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (attempts, failures) = looper.join().unwrap();
    let last = lab.wait_served(web, "after the migration", |_| true);
    assert_eq!(
        lab.mac_answers(web).len(),
        1,
        "one of ours answers\n{}",
        lab.logs()
    );
    eprintln!(
        "migration MetalLB {} -> ours, one node at a time (first owner {first}, last {last}): {failures} of {attempts} client requests failed",
        lb_lab::kube::METALLB_VERSION
    );
}
