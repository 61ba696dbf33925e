//! A small Kubernetes cluster for end-to-end speaker tests: the real control plane
//! ([`ControlPlane`]), three node namespaces `h1`..`h3` and a client `c` on one switch, the
//! API server reachable from every node namespace ([`ControlPlane::expose_in`]), `deploy/`
//! applied, Nodes and the speaker Pods a DaemonSet would make (host network: their IP is the
//! node's), a router `r` running BIRD (iBGP with every node, ECMP), a controller (whose memberlist Secret is written where the DaemonSet would mount
//! it), an L2 pool and a Service `web` with a ready Pod on every node.
//! Speakers — ours or upstream MetalLB's — are started, stopped and killed by the cluster.
//!
//! Every host takes the pool's addresses itself (an "any-IP" local route, as kube-proxy would)
//! without answering ARP for them (`arp_ignore=1`), and runs a TCP server on port 8080 that
//! answers with the host's name: only a speaker answers ARP, and a client can tell which host
//! it reached. Dropping the cluster stops every process and deletes the namespaces.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Service;
use kube::api::Api;

use crate::e2e::{self, BirdRoute};
use crate::kube::{ControlPlane, Exposed, Process};
use crate::{Namespaces, net, skip_or_fail};

/// The MetalLB namespace.
pub const NS: &str = "metallb-system";
/// The node names (and host namespaces).
pub const HOSTS: [&str; 3] = ["h1", "h2", "h3"];
/// The L2 pool (IPv4).
pub const POOL: &str = "192.0.2.192/27";
/// The L2 pool (IPv6).
pub const POOL6: &str = "2001:db8:1::100/120";
/// The BGP pool (`routed`, not auto-assigned: Services ask for it by annotation), advertised
/// to the router `192.0.2.1` (BGPPeer `router-v4`) with community `64512:100`.
pub const ROUTED: &str = "198.51.100.0/26";

pub use crate::e2e::{ClientLoop, host_ip, mac_of, served_again_after};

/// The binaries and manifests a cluster runs.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// Our `speaker`.
    pub speaker: PathBuf,
    /// Our `controller`.
    pub controller: PathBuf,
    /// The `deploy/` folder (applied with `kubectl apply -k`).
    pub deploy: PathBuf,
}

/// A running cluster (see the module documentation).
pub struct Cluster {
    /// The control plane.
    pub cp: ControlPlane,
    /// The namespaces (`h1`..`h3`, `c`).
    pub net: Namespaces,
    /// A client of the API server (admin).
    pub client: kube::Client,
    bins: Binaries,
    speaker_kubeconfig: PathBuf,
    secret_dir: PathBuf,
    _exposed: Vec<Exposed>,
    controller: Process,
    _bird: Process,
    speakers: Vec<Option<Process>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("cp", &self.cp)
            .field("net", &self.net)
            .field("speakers", &self.speakers)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Builds the cluster (no speaker started yet). `tag` prefixes the namespace names (keep
    /// it short and unique per test). `None`: skipped (see [`skip_or_fail`]).
    pub async fn start(tag: &str, bins: Binaries) -> Option<Cluster> {
        let cp = ControlPlane::start()?;
        let prefix = format!("{tag}{}", std::process::id() % 100_000);
        let mut hosts: Vec<&str> = HOSTS.to_vec();
        hosts.extend(["r", "c"]);
        let net = match Namespaces::create(prefix, &hosts, &["arping", "ndisc6", "bird", "birdc"]) {
            Ok(n) => n,
            Err(why) => return skip_or_fail(&why),
        };
        net.switch();
        for i in 0..HOSTS.len() {
            let pools: Vec<&str> = e2e::L2_POOLS
                .iter()
                .chain(&e2e::BGP_POOLS)
                .copied()
                .collect();
            e2e::add_server_host(&net, i, &pools);
        }
        net.add_host(
            "c",
            "02:00:00:00:00:99",
            "192.0.2.100/24",
            "2001:db8:1::99/64",
        );
        e2e::add_router(&net);
        let bird = e2e::start_bird(&net, cp.dir());
        let speaker_kubeconfig = install(&cp, &bins.deploy);
        let exposed = HOSTS
            .iter()
            .map(|h| {
                cp.expose_in(&net.netns_path(h))
                    .expect("expose the API server")
            })
            .collect();
        let client = cp.client().await;
        for (i, h) in HOSTS.iter().enumerate() {
            cp.create_node(&client, h, &[host_ip(i)], &[], true)
                .await
                .expect("node");
            let labels = [("app", "metallb"), ("component", "speaker")];
            cp.create_ready_pod(&client, NS, &format!("speaker-{h}"), h, &labels, host_ip(i))
                .await
                .expect("speaker pod");
        }
        let kubeconfig = cp.kubeconfig().display().to_string();
        let controller = Process::spawn(
            &bins.controller,
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
        .expect("controller");
        // The memberlist Secret the controller creates, mounted as the DaemonSet would.
        let secret_dir = cp.dir().join("memberlist");
        std::fs::create_dir_all(&secret_dir).expect("secret dir");
        let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), NS);
        let t0 = Instant::now();
        let key = loop {
            let key = secrets
                .get_opt("memberlist")
                .await
                .ok()
                .flatten()
                .and_then(|s| s.data?.remove("secretkey"));
            if let Some(key) = key {
                break key.0;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "the controller made no memberlist Secret\n{}",
                controller.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        std::fs::write(secret_dir.join("secretkey"), key).expect("secret");
        cp.apply_yaml(&format!(
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: lan, namespace: {NS}}}\nspec:\n  addresses: [{POOL}, '{POOL6}']\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {{name: lan, namespace: {NS}}}\nspec:\n  ipAddressPools: [lan]\n---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: routed, namespace: {NS}}}\nspec:\n  addresses: [{ROUTED}]\n  autoAssign: false\n---\napiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {{name: router-v4, namespace: {NS}}}\nspec: {{myASN: 64512, peerASN: 64512, peerAddress: 192.0.2.1}}\n---\napiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {{name: routed, namespace: {NS}}}\nspec:\n  ipAddressPools: [routed]\n  communities: ['64512:100']\n"
        ))
        .expect("pool");
        for (i, h) in HOSTS.iter().enumerate() {
            cp.create_ready_pod(
                &client,
                "default",
                &format!("web-{h}"),
                h,
                &[("app", "web")],
                host_ip(i),
            )
            .await
            .expect("pod");
        }
        cp.apply_yaml(&service_yaml("web", "web", false))
            .expect("service");
        Some(Cluster {
            cp,
            net,
            client,
            bins,
            speaker_kubeconfig,
            secret_dir,
            _exposed: exposed,
            controller,
            _bird: bird,
            speakers: (0..HOSTS.len()).map(|_| None).collect(),
        })
    }

    /// Starts our speaker on node `i` with `extra` flags (memberlist through the speaker
    /// pods' labels, the Secret, the `speaker` ServiceAccount).
    pub fn start_speaker(&mut self, i: usize, extra: &[&str]) {
        let host = HOSTS[i];
        let mut args: Vec<String> = [
            "netns",
            "exec",
            &self.net.ns(host),
            &self.bins.speaker.display().to_string(),
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
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let kubeconfig = self.speaker_kubeconfig.display().to_string();
        let log = self.cp.dir().join(format!("speaker-{host}.log"));
        self.speakers[i] = Some(
            Process::spawn(Path::new("ip"), &args, &[("KUBECONFIG", &kubeconfig)], &log)
                .expect("speaker"),
        );
    }

    /// Starts upstream MetalLB's speaker (from `metallb`, the folder of
    /// [`crate::kube::metallb_binaries`]) on node `i`, with the same Secret, labels and
    /// ServiceAccount.
    pub fn start_metallb_speaker(&mut self, i: usize, metallb: &Path) {
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
        self.speakers[i] =
            Some(Process::spawn(Path::new("ip"), &args, &env, &log).expect("speaker"));
    }

    /// SIGTERM to node `i`'s speaker; waits (at most 15 s) until it has exited.
    pub fn terminate(&mut self, i: usize) {
        e2e::terminate(&mut self.speakers[i]);
    }

    /// Node `i` dies: its speaker is SIGKILLed and its link goes down.
    pub fn kill_host(&mut self, i: usize) {
        e2e::kill_host(&self.net, HOSTS[i], &mut self.speakers[i]);
    }

    /// Node `i`'s link comes back (start its speaker again separately).
    pub fn revive_host(&mut self, i: usize) {
        e2e::set_link(&self.net, HOSTS[i], "up");
    }

    /// The last lines of every speaker's and the controller's log.
    pub fn logs(&self) -> String {
        let read =
            |name: String| std::fs::read_to_string(self.cp.dir().join(name)).unwrap_or_default();
        let mut logs: Vec<(String, String)> = HOSTS
            .iter()
            .map(|h| {
                let text =
                    read(format!("speaker-{h}.log")) + &read(format!("metallb-speaker-{h}.log"));
                (format!("speaker {h}"), text)
            })
            .collect();
        logs.push(("controller".into(), self.controller.log_tail()));
        e2e::tails(&logs, 40)
    }

    /// Which host serves `ip:8080` to the client, if any.
    pub fn served_by(&self, ip: IpAddr) -> Option<String> {
        net::tcp_get(self.net.netns_path("c"), ip)
    }

    /// Waits (at most 60 s, else panics with the logs) until the client is served by a host
    /// satisfying `ok`; returns it.
    pub fn wait_served(&self, ip: IpAddr, what: &str, ok: impl Fn(&str) -> bool) -> String {
        e2e::wait_served(&self.net, ip, what, ok, || self.logs())
    }

    /// The MACs that answer ARP (IPv4) or NDP (IPv6) from the client for `ip`.
    pub fn mac_answers(&self, ip: IpAddr) -> Vec<String> {
        e2e::l2_answers(&self.net, ip)
    }

    /// Every route the router's BIRD holds.
    pub fn bird_routes(&self) -> Vec<BirdRoute> {
        e2e::parse_bird_routes(&e2e::birdc(self.cp.dir(), &["show", "route", "all"]))
    }

    /// The first ingress address of Service `default/name`, waiting (30 s) for it.
    pub async fn ingress(&self, name: &str) -> IpAddr {
        self.addresses(name, 1).await[0]
    }

    /// The ingress addresses of Service `default/name` once it has `n`, waiting (30 s).
    pub async fn addresses(&self, name: &str, n: usize) -> Vec<IpAddr> {
        let api: Api<Service> = Api::namespaced(self.client.clone(), "default");
        let t0 = Instant::now();
        loop {
            let ips: Vec<IpAddr> = api
                .get(name)
                .await
                .ok()
                .and_then(|s| s.status?.load_balancer?.ingress)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| i.ip?.parse().ok())
                .collect();
            if ips.len() >= n.max(1) {
                return ips;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "{name}: no address\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts a client loop against `ip:8080` (see [`ClientLoop`]).
    pub fn client_loop(&self, ip: IpAddr) -> ClientLoop {
        ClientLoop::start(self.net.netns_path("c"), ip)
    }
}

/// Our speakers on a cluster, with the flags revived ones get.
#[derive(Debug)]
pub struct Ours<'a> {
    /// The cluster.
    pub cluster: &'a mut Cluster,
    /// Extra speaker flags.
    pub extra: &'a [&'a str],
}

impl e2e::Hosts for Ours<'_> {
    fn served(&self, ip: IpAddr, what: &str, ok: &dyn Fn(&str) -> bool) -> String {
        self.cluster.wait_served(ip, what, ok)
    }
    fn probe(&self, ip: IpAddr) -> ClientLoop {
        self.cluster.client_loop(ip)
    }
    fn kill(&mut self, i: usize) {
        self.cluster.kill_host(i);
    }
    fn revive(&mut self, i: usize) {
        self.cluster.revive_host(i);
        self.cluster.start_speaker(i, self.extra);
    }
}

/// `kubectl apply --server-side -k <deploy>` on `cp`, then waits until the `metallb.io` CRDs
/// are established.
pub fn apply_deploy(cp: &ControlPlane, deploy: &Path) {
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
        "crd/configurationstates.metallb.io",
        "crd/servicel2statuses.metallb.io",
    ]);
    assert!(out.status.success(), "{out:?}");
}

/// A kubeconfig (written into the plane's folder) that authenticates as ServiceAccount
/// `account` of the MetalLB namespace, so a component runs with exactly what `deploy/` grants.
pub fn service_account_kubeconfig(cp: &ControlPlane, account: &str) -> PathBuf {
    let out = cp.kubectl(&["-n", NS, "create", "token", account]);
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let admin = std::fs::read_to_string(cp.kubeconfig()).expect("kubeconfig");
    let sa = admin.replace(crate::kube::ADMIN_TOKEN, &token);
    assert_ne!(sa, admin, "the admin token is in the kubeconfig");
    let path = cp.dir().join(format!("{account}-sa.kubeconfig"));
    std::fs::write(&path, sa).expect("kubeconfig");
    path
}

/// `deploy/` applied and the `speaker` ServiceAccount's kubeconfig.
fn install(cp: &ControlPlane, deploy: &Path) -> PathBuf {
    apply_deploy(cp, deploy);
    service_account_kubeconfig(cp, "speaker")
}

/// A LoadBalancer Service `default/name` on port 8080 selecting `app: <app>`.
pub fn service_yaml(name: &str, app: &str, local: bool) -> String {
    let policy = if local { "Local" } else { "Cluster" };
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: {policy}\n  selector: {{app: {app}}}\n  ports: [{{port: 8080, protocol: TCP}}]\n"
    )
}
