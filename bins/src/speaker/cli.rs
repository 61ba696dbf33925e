//! The `speaker` command line: upstream's flags and environment variables, plus the
//! standalone ones (`--manifests`, `--ml-join`, ...). [`main_with_args`] is the whole binary,
//! callable in-process (an example re-executes itself as a speaker through it).

use std::ffi::OsString;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Parser;

use crate::logging::{LogFormat, LogLevel};
use lb_l2::netlink::{InterfaceFilter, NamePattern};

use super::members::{MemberlistOptions, Profile};
use super::metrics::Metrics;
use super::run::{self, Mode, Options};
use super::world::HostOptions;
use crate::http::{self, State};

const SA_NAMESPACE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

fn duration(s: &str) -> Result<Duration, String> {
    lb_k8s::config::parse_go_duration(s)
        .ok_or_else(|| format!("{s:?} is not a duration such as 500ms or 2s"))
}

/// MetalLB speaker: announces the addresses of LoadBalancer Services by Layer 2 (ARP, NDP)
/// and BGP. Standalone mode (`--manifests DIR`) reads the metallb.io objects, Nodes and
/// Services from a folder of YAML manifests instead of the Kubernetes API.
#[derive(Debug, Parser)]
#[command(name = "speaker", version, about, args_override_self = true)]
struct Args {
    /// Standalone mode: the folder of manifests (re-read when a file changes). Without it the
    /// speaker reads the Kubernetes API (`KUBECONFIG` or the in-cluster service account).
    #[arg(long, env = "METALLB_MANIFESTS")]
    manifests: Option<PathBuf>,
    /// This node's name (the member name in memberlist; Nodes and EndpointSlices name it).
    #[arg(long = "node-name", env = "METALLB_NODE_NAME")]
    node_name: Option<String>,
    /// This pod's name (Kubernetes mode; accepted).
    #[arg(long = "pod-name", env = "METALLB_POD_NAME")]
    pod_name: Option<String>,
    /// The MetalLB namespace (Kubernetes mode; accepted).
    #[arg(long, env = "METALLB_NAMESPACE")]
    namespace: Option<String>,
    /// Deprecated upstream; accepted and ignored.
    #[arg(long, env = "METALLB_HOST")]
    host: Option<String>,
    /// Memberlist bind (and advertise) address; memberlist is on when it is set.
    #[arg(long = "ml-bindaddr", env = "METALLB_ML_BIND_ADDR")]
    ml_bindaddr: Option<IpAddr>,
    /// Memberlist port (UDP and TCP).
    #[arg(
        long = "ml-bindport",
        env = "METALLB_ML_BIND_PORT",
        default_value_t = 7946
    )]
    ml_bindport: u16,
    /// Pod labels of the speakers (Kubernetes mode; accepted).
    #[arg(long = "ml-labels", env = "METALLB_ML_LABELS")]
    ml_labels: Option<String>,
    /// Folder holding the memberlist secret in a file `secretkey` (MetalLB's key derivation).
    #[arg(long = "ml-secret-key-path", env = "METALLB_ML_SECRET_KEY_PATH")]
    ml_secret_key_path: Option<PathBuf>,
    /// Standalone: the other speakers' memberlist addresses, `IP` or `IP:PORT`, comma
    /// separated (the port defaults to `--ml-bindport`).
    #[arg(long = "ml-join", env = "METALLB_ML_JOIN", value_delimiter = ',')]
    ml_join: Vec<String>,
    /// Memberlist timings: `fast` (sub-second failure detection; every speaker must be ours)
    /// or `lan` (HashiCorp's LAN defaults, as MetalLB's speakers).
    #[arg(long = "ml-profile", value_enum, default_value_t = Profile::Fast)]
    ml_profile: Profile,
    /// Upstream's WAN timings file; not supported yet (warned and ignored).
    #[arg(long = "ml-wan-config")]
    ml_wan_config: Option<String>,
    /// Port of the metrics endpoint (0 = off).
    #[arg(long, default_value_t = 7472)]
    port: u16,
    /// Port of `/healthz` and `/readyz` (on 127.0.0.1).
    #[arg(long = "health-probe-port", default_value_t = 17472)]
    health_probe_port: u16,
    /// Log level.
    #[arg(long = "log-level", value_enum, default_value_t = LogLevel::Info)]
    log_level: LogLevel,
    /// Log format (ours; upstream always writes JSON).
    #[arg(long = "log-format", value_enum, default_value_t = LogFormat::Json)]
    log_format: LogFormat,
    /// Handle only Services of this loadBalancerClass (empty: Services without a class).
    #[arg(long = "lb-class", default_value = "")]
    lb_class: String,
    /// Announce from this node even if it carries the exclusion label.
    #[arg(long = "ignore-exclude-lb", default_value_t = false)]
    ignore_exclude_lb: bool,
    /// Layer 2 only on these interfaces (comma separated; `^prefix`, `^name$` or a substring).
    /// Default: every eligible interface but `veth*`, `cali*`, `lo`, `kube-ipvs*`.
    #[arg(long = "interfaces", value_delimiter = ',')]
    interfaces: Vec<String>,
    /// Upstream's Layer 2 interface exclusion file (`announcedInterfacesToExclude`); used
    /// when it exists, else the default exclusions apply.
    #[arg(
        long = "exclude-l2-config",
        default_value = "/etc/metallb/excludel2.yaml"
    )]
    exclude_l2_config: PathBuf,
    /// Accept BGP connections here (default: none; every session dials out, as upstream).
    #[arg(long = "bgp-listen")]
    bgp_listen: Option<SocketAddr>,
    /// How often the manifest folder is checked for changes (Go duration).
    #[arg(long = "reload-interval", default_value = "1s", value_parser = duration)]
    reload_interval: Duration,
    /// On SIGTERM, how long Layer 2 keeps answering after the memberlist leave.
    #[arg(long = "shutdown-handover", default_value = "1s", value_parser = duration)]
    shutdown_handover: Duration,
    /// On SIGTERM, how long routes stay advertised with GRACEFUL_SHUTDOWN before the
    /// withdrawal (RFC 8326).
    #[arg(long = "bgp-drain-delay", default_value = "1s", value_parser = duration)]
    bgp_drain_delay: Duration,
    /// Re-send the gratuitous ARP / unsolicited NA schedule for owned addresses this often
    /// (Go duration; off by default).
    #[arg(long = "gratuitous-refresh", value_parser = duration)]
    gratuitous_refresh: Option<Duration>,
    /// BGP implementation; `native`, `frr` and `frr-k8s` all mean this one.
    #[arg(long = "bgp-type", env = "METALLB_BGP_TYPE", default_value = "native")]
    bgp_type: String,
}

/// `IP` or `IP:PORT` (`[v6]:port`), the port defaulting to `port`.
fn seed(s: &str, port: u16) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, port))
        .map_err(|_| format!("--ml-join: {s:?} is not IP or IP:PORT"))
}

fn memberlist(args: &Args, node: &str) -> Result<Option<MemberlistOptions>, String> {
    let Some(bind) = args.ml_bindaddr else {
        return Ok(None);
    };
    let key = match &args.ml_secret_key_path {
        None => None,
        Some(dir) => {
            let path = dir.join("secretkey");
            let secret = std::fs::read(&path)
                .map_err(|e| format!("memberlist secret {}: {e}", path.display()))?;
            if secret.is_empty() {
                tracing::warn!(path = %path.display(), "empty memberlist secret: gossip is not encrypted");
                None
            } else {
                Some(lb_memberlist::metallb_secret_key(&secret))
            }
        }
    };
    let seeds = args
        .ml_join
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| seed(s, args.ml_bindport))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(MemberlistOptions {
        name: node.to_owned(),
        bind: SocketAddr::new(bind, args.ml_bindport),
        seeds,
        key,
        profile: args.ml_profile,
    }))
}

async fn listen(addr: SocketAddr, state: Arc<State<Arc<Metrics>>>) -> std::io::Result<()> {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) if addr.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED) => {
            tracing::debug!(error = %e, "no IPv6: metrics on IPv4 only");
            tokio::net::TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], addr.port()))).await?
        }
        Err(e) => return Err(e),
    };
    tokio::spawn(http::serve(listener, state));
    Ok(())
}

async fn terminated() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = term => tracing::info!("SIGTERM"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted"),
    }
}

/// The `speaker` binary: parses `args` (the first is the program name), runs until SIGTERM
/// or SIGINT, stops gracefully. Exit 0 after a graceful stop, 1 on a startup error, 2 on a
/// usage error.
pub fn main_with_args(args: Vec<OsString>) -> ExitCode {
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    crate::logging::init(args.log_level, args.log_format);
    let fail = |why: &str| {
        tracing::error!("{why}");
        eprintln!("speaker: {why}");
        ExitCode::FAILURE
    };
    if !matches!(args.bgp_type.as_str(), "native" | "frr" | "frr-k8s" | "lb") {
        return fail(&format!("unknown METALLB_BGP_TYPE {:?}", args.bgp_type));
    }
    let Some(node) = args.node_name.clone().filter(|n| !n.is_empty()) else {
        return fail("--node-name (METALLB_NODE_NAME) is required");
    };
    let standalone = args.manifests.is_some();
    if args.ml_wan_config.is_some() {
        tracing::warn!("--ml-wan-config is not supported yet: using the chosen --ml-profile");
    }
    let memberlist = match memberlist(&args, &node) {
        Ok(m) => m,
        Err(why) => return fail(&why),
    };
    let interfaces = if args.interfaces.is_empty() {
        InterfaceFilter::default()
    } else {
        InterfaceFilter {
            allow: args
                .interfaces
                .iter()
                .map(|s| NamePattern::parse(s))
                .collect(),
            ..InterfaceFilter::default()
        }
    };
    let mut options = Options {
        mode: Mode::Manifests(args.manifests.clone().unwrap_or_default()),
        host: HostOptions {
            me: node.clone(),
            lb_class: Some(args.lb_class.clone()).filter(|c| !c.is_empty()),
            ignore_exclude_lb: args.ignore_exclude_lb,
            standalone,
        },
        memberlist,
        interfaces,
        bgp_listen: args.bgp_listen,
        reload_interval: args.reload_interval.max(Duration::from_millis(10)),
        join_gate: Duration::from_secs(2),
        rejoin_interval: Duration::from_secs(5),
        handover: args.shutdown_handover,
        bgp_drain: args.bgp_drain_delay,
        gratuitous_refresh: args.gratuitous_refresh.filter(|d| !d.is_zero()),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("no runtime: {e}")),
    };
    runtime.block_on(async move {
        let state = Arc::new(State {
            metrics: Arc::new(Metrics::new()),
            ready: AtomicBool::new(false),
        });
        let mut listeners = Vec::new();
        if args.port != 0 {
            listeners.push(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), args.port));
        }
        if args.health_probe_port != 0 {
            listeners.push(SocketAddr::from(([127, 0, 0, 1], args.health_probe_port)));
        }
        for addr in listeners {
            if let Err(e) = listen(addr, state.clone()).await {
                return fail(&format!("cannot listen on {addr}: {e}"));
            }
        }
        if !standalone {
            let namespace = match args
                .namespace
                .clone()
                .or_else(|| std::fs::read_to_string(SA_NAMESPACE).ok())
            {
                Some(ns) if !ns.trim().is_empty() => ns.trim().to_owned(),
                _ => return fail("no namespace: pass --namespace or METALLB_NAMESPACE (or --manifests DIR for standalone mode)"),
            };
            let client = match kube::Client::try_default().await {
                Ok(c) => c,
                Err(e) => return fail(&format!("no Kubernetes client ({e}); pass --manifests DIR for standalone mode")),
            };
            options.mode = Mode::Kube {
                client,
                namespace,
                pod_name: args.pod_name.clone(),
                ml_labels: args.ml_labels.clone().filter(|l| !l.is_empty()),
            };
        }
        tracing::info!(node = %node, mode = ?options.mode, "speaker starting");
        match run::run(options, state, terminated()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e.to_string()),
        }
    })
}
