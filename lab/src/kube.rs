//! A real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager,
//! built from the Go module proxy by `lab/kube/build.sh` (see `lab/README.md`).
//!
//! [`ControlPlane::start`] picks free loopback ports, writes a static token, a service-account
//! key and a kubeconfig into a fresh folder, starts the three processes, and returns once the
//! API server is ready, the default ServiceCIDR is usable and kube-controller-manager's
//! `serviceaccount` controller has acted (so its other controllers run too). Dropping it stops
//! every process it started and removes the folder, also when a test panics.
//!
//! kube-controller-manager runs the `endpointslice`, `endpointslicemirroring`, `namespace`,
//! `garbagecollector` and `serviceaccount` controllers: EndpointSlices come from Pods as in a real
//! cluster, namespaces finish deleting and owner references cascade. No kubelet or scheduler
//! runs: tests create Nodes and Pods themselves ([`ControlPlane::create_node`],
//! [`ControlPlane::create_ready_pod`]).
//!
//! Service ranges are documentation ranges, so no cluster IP can ever name a real host:
//! `198.51.100.0/25` and `2001:db8:96::/112` (dual-stack). Nothing is ever sent to them.

use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::process::Daemon;
pub use crate::process::Process;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};

/// The versions `lab/kube/build.sh` builds.
pub const KUBERNETES_VERSION: &str = "v1.37.2";
/// The etcd version `lab/kube/build.sh` builds.
pub const ETCD_VERSION: &str = "v3.7.3";
/// The upstream MetalLB version `lab/kube/build.sh` builds as an anchor.
pub const METALLB_VERSION: &str = "v0.15.2";
/// The IPv4 service range (a documentation range).
pub const SERVICE_RANGE_V4: &str = "198.51.100.0/25";
/// The IPv6 service range (a documentation range).
pub const SERVICE_RANGE_V6: &str = "2001:db8:96::/112";

/// The admin token in [`ControlPlane::kubeconfig`] (for deriving other identities).
pub const ADMIN_TOKEN: &str = "lb-lab-admin-token";
const TOKEN: &str = ADMIN_TOKEN;
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Finds the control-plane binaries: `$LB_KUBE_BIN` if set, otherwise whatever
/// `lab/kube/build.sh` prints (it builds only what its cache lacks).
pub fn binaries() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("LB_KUBE_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("kube/build.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed (the Kubernetes lab needs Go 1.26 and the Go module proxy): {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout.lines().last().unwrap_or_default().trim().to_string();
    if dir.is_empty() {
        return Err(format!("{} printed no folder", script.display()));
    }
    Ok(PathBuf::from(dir))
}

/// Upstream MetalLB's `controller` and `speaker` binaries, built beside the control plane's by
/// `lab/kube/build.sh` (in the sibling folder `metallb-<version>`).
pub fn metallb_binaries() -> Result<PathBuf, String> {
    let bin = binaries()?;
    let dir = bin
        .parent()
        .ok_or("the binaries' folder has no parent")?
        .join(format!("metallb-{METALLB_VERSION}"));
    for b in ["controller", "speaker"] {
        if !dir.join(b).is_file() {
            return Err(format!(
                "{} is missing: lab/kube/build.sh could not build upstream MetalLB",
                dir.join(b).display()
            ));
        }
    }
    Ok(dir)
}

/// Upstream MetalLB's CRDs (`config/crd/bases`) from the module the anchor was built from, as
/// the Go module cache holds them (never copied into this repository).
pub fn metallb_crds() -> Result<PathBuf, String> {
    let out = Command::new("go")
        .args(["env", "GOMODCACHE"])
        .output()
        .map_err(|e| format!("go env: {e}"))?;
    let cache = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let dir = Path::new(&cache)
        .join(format!("go.universe.tf/metallb@{METALLB_VERSION}"))
        .join("config/crd/bases");
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(format!("{} is missing", dir.display()))
    }
}

/// The API server's loopback port made reachable inside another network namespace (see
/// [`ControlPlane::expose_in`]); dropping it stops forwarding.
#[derive(Debug)]
pub struct Exposed {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Exposed {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Copies bytes both ways between two connected sockets until either side closes.
fn splice(a: std::net::TcpStream, b: std::net::TcpStream) {
    use std::io::{Read, Write};
    let pump = |mut from: std::net::TcpStream, mut to: std::net::TcpStream| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = to.shutdown(std::net::Shutdown::Write);
        })
    };
    if let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) {
        pump(a, b2);
        pump(b, a2);
    }
}

/// A running control plane; dropping it stops everything and removes its folder.
#[derive(Debug)]
pub struct ControlPlane {
    dir: PathBuf,
    bin: PathBuf,
    kubeconfig: PathBuf,
    api_port: u16,
    etcd_ports: [u16; 2],
    etcd: Daemon,
    apiserver: Daemon,
    kcm: Daemon,
    started_in: Duration,
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local_addr: {e}"))
}

/// Whether something listens on `127.0.0.1:port`.
pub fn port_in_use(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// Whether a process with this pid exists (and is not a zombie).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

impl ControlPlane {
    /// Starts a control plane, or returns `None` after printing why this machine cannot (a test
    /// failure under `LB_LAB=required`).
    pub fn start() -> Option<ControlPlane> {
        match ControlPlane::try_start() {
            Ok(cp) => Some(cp),
            Err(why) => crate::skip_or_fail(&why),
        }
    }

    /// Starts a control plane or says why it could not.
    pub fn try_start() -> Result<ControlPlane, String> {
        let t0 = Instant::now();
        let bin = binaries()?;
        for b in [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kubectl",
        ] {
            if !bin.join(b).is_file() {
                return Err(format!("{} is missing", bin.join(b).display()));
            }
        }
        if !crate::has_tool("openssl") {
            return Err("openssl is missing (it makes the service-account key)".into());
        }
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!(
            "lb-kube-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pki")).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut cp = ControlPlane::prepare(dir, bin)?;
        cp.etcd.spawn()?;
        cp.wait_etcd()?;
        cp.apiserver.spawn()?;
        cp.wait_apiserver()?;
        cp.kcm.spawn()?;
        cp.wait_kcm()?;
        cp.started_in = t0.elapsed();
        Ok(cp)
    }

    fn prepare(dir: PathBuf, bin: PathBuf) -> Result<ControlPlane, String> {
        let write = |name: &str, text: &str| {
            std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))
        };
        write(
            "tokens.csv",
            &format!("{TOKEN},lb-lab-admin,lb-lab-admin,\"system:masters\"\n"),
        )?;
        let key = dir.join("sa.key");
        let out = Command::new("openssl")
            .args([
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ])
            .arg(&key)
            .output()
            .map_err(|e| format!("openssl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "openssl: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let (api_port, etcd_client, etcd_peer) = (free_port()?, free_port()?, free_port()?);
        let kubeconfig = dir.join("kubeconfig");
        write(
            "kubeconfig",
            &format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: https://127.0.0.1:{api_port}\n    certificate-authority: {ca}\nusers:\n- name: lab-admin\n  user:\n    token: {TOKEN}\ncontexts:\n- name: lab\n  context:\n    cluster: lab\n    user: lab-admin\n    namespace: default\ncurrent-context: lab\n",
                ca = dir.join("pki/apiserver.crt").display()
            ),
        )?;
        let p = |s: &Path| s.display().to_string();
        let etcd_url = format!("http://127.0.0.1:{etcd_client}");
        let peer_url = format!("http://127.0.0.1:{etcd_peer}");
        let etcd = Daemon {
            name: "etcd",
            program: bin.join("etcd"),
            args: vec![
                "--name=lab".into(),
                format!("--data-dir={}", p(&dir.join("etcd"))),
                format!("--listen-client-urls={etcd_url}"),
                format!("--advertise-client-urls={etcd_url}"),
                format!("--listen-peer-urls={peer_url}"),
                format!("--initial-advertise-peer-urls={peer_url}"),
                format!("--initial-cluster=lab={peer_url}"),
                "--unsafe-no-fsync=true".into(),
                "--log-level=warn".into(),
            ],
            env: Vec::new(),
            log: dir.join("etcd.log"),
            child: None,
        };
        let apiserver = Daemon {
            name: "kube-apiserver",
            program: bin.join("kube-apiserver"),
            args: vec![
                format!("--etcd-servers={etcd_url}"),
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={api_port}"),
                "--advertise-address=127.0.0.1".into(),
                "--endpoint-reconciler-type=none".into(),
                format!("--cert-dir={}", p(&dir.join("pki"))),
                format!("--service-cluster-ip-range={SERVICE_RANGE_V4},{SERVICE_RANGE_V6}"),
                "--authorization-mode=RBAC".into(),
                format!("--token-auth-file={}", p(&dir.join("tokens.csv"))),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
                format!("--service-account-key-file={}", p(&key)),
                format!("--service-account-signing-key-file={}", p(&key)),
                "--disable-admission-plugins=ServiceAccount".into(),
                "--allow-privileged=true".into(),
                "--enable-priority-and-fairness=false".into(),
                "--max-requests-inflight=0".into(),
                "--max-mutating-requests-inflight=0".into(),
                "--v=0".into(),
            ],
            env: Vec::new(),
            log: dir.join("apiserver.log"),
            child: None,
        };
        let kcm = Daemon {
            name: "kube-controller-manager",
            program: bin.join("kube-controller-manager"),
            args: vec![
                format!("--kubeconfig={}", p(&kubeconfig)),
                "--leader-elect=false".into(),
                "--controllers=endpointslice,endpointslicemirroring,namespace,garbagecollector,serviceaccount".into(),
                "--secure-port=0".into(),
                "--concurrent-service-endpoint-syncs=10".into(),
                "--endpointslice-updates-batch-period=0s".into(),
                "--v=0".into(),
            ],
            env: Vec::new(),
            log: dir.join("kcm.log"),
            child: None,
        };
        Ok(ControlPlane {
            dir,
            bin,
            kubeconfig,
            api_port,
            etcd_ports: [etcd_client, etcd_peer],
            etcd,
            apiserver,
            kcm,
            started_in: Duration::ZERO,
        })
    }

    fn wait(
        &mut self,
        what: &str,
        which: fn(&mut ControlPlane) -> &mut Daemon,
        mut ready: impl FnMut(&ControlPlane) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if ready(self) {
                return Ok(());
            }
            let daemon = which(self);
            if let Some(why) = daemon.exited() {
                return Err(format!("{why} before {what}:\n{}", daemon.log_tail()));
            }
            if Instant::now() > deadline {
                let daemon = which(self);
                return Err(format!(
                    "timed out waiting for {what}:\n{}",
                    daemon.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_etcd(&mut self) -> Result<(), String> {
        let port = self.etcd_ports[0];
        self.wait("etcd to listen", |cp| &mut cp.etcd, |_| port_in_use(port))
    }

    fn wait_apiserver(&mut self) -> Result<(), String> {
        self.wait(
            "kube-apiserver to be ready",
            |cp| &mut cp.apiserver,
            |cp| cp.kubectl(&["get", "--raw", "/readyz"]).status.success(),
        )?;
        // The default ServiceCIDR is made by a controller inside kube-apiserver; Services
        // cannot get a cluster IP before it is Ready.
        self.wait(
            "the default ServiceCIDR",
            |cp| &mut cp.apiserver,
            |cp| {
                let out = cp.kubectl(&[
                    "get",
                    "servicecidr",
                    "kubernetes",
                    "-o",
                    "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                ]);
                out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "True"
            },
        )
    }

    fn wait_kcm(&mut self) -> Result<(), String> {
        // The serviceaccount controller makes `default` in every namespace: once it has, the
        // controller manager is running its controllers.
        self.wait(
            "kube-controller-manager's controllers",
            |cp| &mut cp.kcm,
            |cp| {
                cp.kubectl(&["get", "serviceaccount", "default", "-n", "default"])
                    .status
                    .success()
            },
        )
    }

    /// Runs the built kubectl with this plane's kubeconfig.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(self.bin.join("kubectl"))
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run kubectl: {e}"))
    }

    /// `kubectl apply -f -` with `yaml` on standard input; the error holds kubectl's message.
    pub fn apply_yaml(&self, yaml: &str) -> Result<String, String> {
        use std::io::Write;
        let mut child = Command::new(self.bin.join("kubectl"))
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .args(["apply", "--server-side", "--force-conflicts", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run kubectl: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(yaml.as_bytes())
                .map_err(|e| format!("kubectl stdin: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("kubectl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// A kube-rs client for this plane (as the admin user).
    pub async fn client(&self) -> kube::Client {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)
            .unwrap_or_else(|e| panic!("kubeconfig: {e}"));
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("kubeconfig: {e}"));
        kube::Client::try_from(config).unwrap_or_else(|e| panic!("client: {e}"))
    }

    /// The kubeconfig file (admin, static token).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// This plane's scratch folder (removed on drop): a place for a test's own logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder that holds the binaries.
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// Makes the API server reachable at the same URL from inside the network namespace at
    /// `netns_path` (for a process there, such as a speaker): a listener on `127.0.0.1:<port>`
    /// in that namespace whose connections are forwarded to the API server on this namespace's
    /// loopback. Traffic stays on the two loopbacks.
    pub fn expose_in(&self, netns_path: &str) -> Result<Exposed, String> {
        let port = self.api_port;
        let (tx, rx) = std::sync::mpsc::channel();
        let path = netns_path.to_owned();
        // The listener is created on a thread inside the namespace; sockets keep their
        // namespace, so the accepting thread below (in ours) can use it.
        std::thread::spawn(move || {
            let result = lb_l2::driver::enter_netns(&path)
                .map_err(|e| format!("setns {path}: {e}"))
                .and_then(|()| {
                    let _ = Command::new("ip")
                        .args(["link", "set", "lo", "up"])
                        .status();
                    TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("bind: {e}"))
                });
            let _ = tx.send(result);
        });
        let listener = rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|e| format!("expose: {e}"))??;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("nonblocking: {e}"))?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((inside, _)) => {
                        let _ = inside.set_nonblocking(false);
                        if let Ok(outside) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                            splice(inside, outside);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(Exposed {
            stop,
            thread: Some(thread),
        })
    }

    /// The API server's URL.
    pub fn server(&self) -> String {
        format!("https://127.0.0.1:{}", self.api_port)
    }

    /// The loopback ports this plane listens on (API server, etcd client, etcd peer).
    pub fn ports(&self) -> Vec<u16> {
        vec![self.api_port, self.etcd_ports[0], self.etcd_ports[1]]
    }

    /// The process ids of etcd, kube-apiserver and kube-controller-manager.
    pub fn pids(&self) -> Vec<u32> {
        [&self.etcd, &self.apiserver, &self.kcm]
            .iter()
            .filter_map(|d| d.pid())
            .collect()
    }

    /// How long [`ControlPlane::start`] took.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Resident memory of the three processes together, in bytes (from `/proc/<pid>/status`).
    pub fn rss_bytes(&self) -> u64 {
        self.pids()
            .iter()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
            .filter_map(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .sum::<u64>()
            * 1024
    }

    /// The last lines of each process's log, for a failing test to print.
    pub fn logs(&self) -> String {
        [&self.etcd, &self.apiserver, &self.kcm]
            .iter()
            .map(|d| format!("--- {} ---\n{}", d.name, d.log_tail()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Stops kube-apiserver (etcd and the controller manager keep running).
    pub fn stop_apiserver(&mut self) {
        self.apiserver.stop();
    }

    /// Starts kube-apiserver again on the same port and waits until it is ready.
    pub fn start_apiserver(&mut self) -> Result<(), String> {
        self.apiserver.spawn()?;
        self.wait_apiserver()
    }

    /// Stops kube-apiserver and starts it again; watches break and must resume.
    pub fn restart_apiserver(&mut self) {
        self.stop_apiserver();
        if let Err(why) = self.start_apiserver() {
            panic!("kube-apiserver did not come back: {why}");
        }
    }

    /// Creates a Node with `addresses` as InternalIPs and the given labels, and sets its
    /// `Ready` condition (no kubelet runs, so nothing else will).
    pub async fn create_node(
        &self,
        client: &kube::Client,
        name: &str,
        addresses: &[IpAddr],
        labels: &[(&str, &str)],
        ready: bool,
    ) -> Result<Node, kube::Error> {
        let nodes: Api<Node> = Api::all(client.clone());
        let mut label_map = serde_json::Map::new();
        label_map.insert("kubernetes.io/hostname".into(), name.into());
        for (k, v) in labels {
            label_map.insert((*k).into(), (*v).into());
        }
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": { "name": name, "labels": label_map },
        }))
        .map_err(kube::Error::SerdeError)?;
        nodes.create(&PostParams::default(), &node).await?;
        let addrs: Vec<_> = addresses
            .iter()
            .map(|a| serde_json::json!({ "type": "InternalIP", "address": a.to_string() }))
            .chain(std::iter::once(
                serde_json::json!({ "type": "Hostname", "address": name }),
            ))
            .collect();
        let status = serde_json::json!({ "status": {
            "addresses": addrs,
            "conditions": [{
                "type": "Ready",
                "status": if ready { "True" } else { "False" },
                "reason": "LabReady",
                "lastHeartbeatTime": now_rfc3339(),
                "lastTransitionTime": now_rfc3339(),
            }],
        }});
        nodes
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
    }

    /// Creates a Pod bound to `node` with `labels`, then marks it Running and Ready with `ip`
    /// (no kubelet runs, so the test plays its part).
    pub async fn create_ready_pod(
        &self,
        client: &kube::Client,
        namespace: &str,
        name: &str,
        node: &str,
        labels: &[(&str, &str)],
        ip: IpAddr,
    ) -> Result<Pod, kube::Error> {
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let mut label_map = serde_json::Map::new();
        for (k, v) in labels {
            label_map.insert((*k).into(), (*v).into());
        }
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": { "name": name, "labels": label_map },
            "spec": {
                "nodeName": node,
                "containers": [{
                    "name": "app",
                    "image": "registry.invalid/lb-lab/none:0",
                    "ports": [{ "containerPort": 8080, "protocol": "TCP" }],
                }],
            },
        }))
        .map_err(kube::Error::SerdeError)?;
        pods.create(&PostParams::default(), &pod).await?;
        self.set_pod_ready(client, namespace, name, ip, true).await
    }

    /// Sets a Pod's phase, IP and `Ready` condition as a kubelet would.
    pub async fn set_pod_ready(
        &self,
        client: &kube::Client,
        namespace: &str,
        name: &str,
        ip: IpAddr,
        ready: bool,
    ) -> Result<Pod, kube::Error> {
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let flag = if ready { "True" } else { "False" };
        let status = serde_json::json!({ "status": {
            "phase": "Running",
            "podIP": ip.to_string(),
            "podIPs": [{ "ip": ip.to_string() }],
            "startTime": now_rfc3339(),
            "conditions": [
                { "type": "PodScheduled", "status": "True", "lastTransitionTime": now_rfc3339() },
                { "type": "Initialized", "status": "True", "lastTransitionTime": now_rfc3339() },
                { "type": "ContainersReady", "status": flag, "lastTransitionTime": now_rfc3339() },
                { "type": "Ready", "status": flag, "lastTransitionTime": now_rfc3339() },
            ],
        }});
        pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
    }

    /// Plays the kubelet's part in deletion: every Pod that is terminating (it has a deletion
    /// timestamp) is removed at once, as a kubelet does once its containers stopped. Returns how
    /// many were removed. Without this a namespace holding Pods never finishes deleting.
    pub async fn reap_terminating_pods(&self, client: &kube::Client) -> Result<usize, kube::Error> {
        let pods: Api<Pod> = Api::all(client.clone());
        let mut reaped = 0;
        for pod in pods.list(&Default::default()).await? {
            if pod.metadata.deletion_timestamp.is_none() {
                continue;
            }
            let (Some(ns), Some(name)) = (pod.metadata.namespace, pod.metadata.name) else {
                continue;
            };
            let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
            let params = kube::api::DeleteParams::default().grace_period(0);
            match api.delete(&name, &params).await {
                Ok(_) => reaped += 1,
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(reaped)
    }

    /// Stops every process (controller manager, API server, etcd, in that order) and removes
    /// the folder. Called by `Drop`.
    pub fn stop(&mut self) {
        self.kcm.stop();
        self.apiserver.stop();
        self.etcd.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The current UTC time as RFC 3339 with whole seconds, as Kubernetes writes timestamps.
fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .round(k8s_openapi::jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_shape() {
        let t = super::now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z'));
    }
}
