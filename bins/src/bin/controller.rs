//! `controller`: MetalLB's controller (addresses for every `LoadBalancer` Service), with
//! upstream's flags and environment variables so upstream's Deployment works unchanged.

use std::net::{Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Parser, ValueEnum};
use lb_bins::controller::http::{self, State};
use lb_bins::controller::metrics::Metrics;
use lb_bins::controller::{shell, webhook};
use lb_bins::logging::{LogFormat, LogLevel};
use lb_k8s::source::Source;

/// `--webhook-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WebhookMode {
    Enabled,
    Disabled,
    Onlywebhook,
}

/// MetalLB controller: assigns addresses to LoadBalancer Services.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port of the metrics endpoint (0 = off).
    #[arg(long, default_value_t = 9120)]
    port: u16,
    /// The MetalLB namespace (default: the service account's namespace).
    #[arg(long, env = "METALLB_NAMESPACE")]
    namespace: Option<String>,
    /// Name of the memberlist secret.
    #[arg(long = "ml-secret-name", env = "METALLB_ML_SECRET_NAME")]
    ml_secret_name: Option<String>,
    /// Name of the controller Deployment.
    #[arg(long, env = "METALLB_DEPLOYMENT")]
    deployment: Option<String>,
    /// Log level.
    #[arg(long = "log-level", value_enum, default_value_t = LogLevel::Info)]
    log_level: LogLevel,
    /// Log format (ours; upstream always writes JSON).
    #[arg(long = "log-format", value_enum, default_value_t = LogFormat::Json)]
    log_format: LogFormat,
    /// Accepted for compatibility, ignored.
    #[arg(long = "pprof-bind-address")]
    pprof_bind_address: Option<String>,
    /// Port of `/healthz` and `/readyz`.
    #[arg(long = "health-probe-port", default_value_t = 17472)]
    health_probe_port: u16,
    /// Do not make the webhook certificate: read `tls.crt` and `tls.key` from `--cert-dir`
    /// (someone else, cert-manager say, makes them and publishes the caBundle).
    #[arg(long = "disable-cert-rotation", default_value_t = false)]
    disable_cert_rotation: bool,
    /// Folder of the webhook serving certificate (read with `--disable-cert-rotation`).
    #[arg(
        long = "cert-dir",
        default_value = "/tmp/k8s-webhook-server/serving-certs"
    )]
    cert_dir: PathBuf,
    /// Name of the webhook Service.
    #[arg(long = "cert-service-name", default_value = "metallb-webhook-service")]
    cert_service_name: String,
    /// Handle only Services of this loadBalancerClass (empty: Services without a class).
    #[arg(long = "lb-class", default_value = "")]
    lb_class: String,
    /// Webhook mode.
    #[arg(long = "webhook-mode", value_enum, default_value_t = WebhookMode::Enabled)]
    webhook_mode: WebhookMode,
    /// Port of the webhook server (TLS).
    #[arg(long = "webhook-port", default_value_t = 9443)]
    webhook_port: u16,
    /// The ValidatingWebhookConfiguration whose caBundle the controller writes.
    #[arg(
        long = "webhook-configuration",
        default_value = "metallb-webhook-configuration"
    )]
    webhook_configuration: String,
    /// Secret keeping the webhook certificate (`ca.crt`, `tls.crt`, `tls.key`), made when it
    /// is missing and reused across restarts.
    #[arg(long = "webhook-secret", default_value = "metallb-webhook-cert")]
    webhook_secret: String,
    /// This pod's name (owner of the ConfigurationState object).
    #[arg(long = "pod-name", env = "METALLB_POD_NAME")]
    pod_name: Option<String>,
    /// Serve webhooks over HTTP/2 too.
    #[arg(long = "webhook-http2", default_value_t = false)]
    webhook_http2: bool,
    /// Minimum TLS version.
    #[arg(long = "tls-min-version", default_value = "VersionTLS13")]
    tls_min_version: String,
    /// TLS cipher suites.
    #[arg(long = "tls-cipher-suites")]
    tls_cipher_suites: Option<String>,
    /// TLS curve preferences.
    #[arg(long = "tls-curve-preferences")]
    tls_curve_preferences: Option<String>,
    /// Folder of the metrics certificate.
    #[arg(long = "metrics-cert-dir")]
    metrics_cert_dir: Option<PathBuf>,
    /// BGP implementation (`native`, `frr`, `frr-k8s` or `lb`); only checked here.
    #[arg(long = "bgp-type", env = "METALLB_BGP_TYPE", default_value = "native")]
    bgp_type: String,
}

const SA_NAMESPACE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

async fn listen(port: u16, state: Arc<State>) -> Result<(), std::io::Error> {
    if port == 0 {
        return Ok(());
    }
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port))).await;
    let listener = match listener {
        Ok(l) => l,
        Err(_) => tokio::net::TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port))).await?,
    };
    tokio::spawn(http::serve(listener, state));
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    lb_bins::logging::init(args.log_level, args.log_format);
    if !matches!(args.bgp_type.as_str(), "native" | "frr" | "frr-k8s" | "lb") {
        tracing::error!(bgp_type = %args.bgp_type, "unknown METALLB_BGP_TYPE");
        return ExitCode::FAILURE;
    }
    let namespace = match args
        .namespace
        .clone()
        .or_else(|| std::fs::read_to_string(SA_NAMESPACE).ok())
    {
        Some(ns) if !ns.trim().is_empty() => ns.trim().to_owned(),
        _ => {
            tracing::error!("no namespace: pass --namespace or METALLB_NAMESPACE");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "no runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let state = Arc::new(State {
            metrics: Metrics::new(),
            ready: AtomicBool::new(false),
        });
        for port in [args.port, args.health_probe_port] {
            if let Err(e) = listen(port, state.clone()).await {
                tracing::error!(port, error = %e, "cannot listen");
                return ExitCode::FAILURE;
            }
        }
        let client = match kube::Client::try_default().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "no Kubernetes client");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(namespace = %namespace, lb_class = %args.lb_class, "controller starting");
        let lb_class = Some(args.lb_class.clone()).filter(|c| !c.is_empty());
        let source = lb_k8s::source::KubeSource::start_with(client.clone(), &namespace, lb_k8s::source::Kinds::CONTROLLER);
        // Beside the watches' first lists, not before them.
        let secret = args.ml_secret_name.clone().unwrap_or_else(|| "memberlist".into());
        tokio::spawn({
            let (client, namespace) = (client.clone(), namespace.clone());
            async move {
                match shell::ensure_memberlist_secret(&client, &namespace, &secret).await {
                    Ok(true) => tracing::info!(secret = %secret, "memberlist secret created"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(secret = %secret, error = %e, "memberlist secret not created"),
                }
            }
        });
        if args.webhook_mode != WebhookMode::Disabled {
            // With rotation disabled someone else provides the certificate (in --cert-dir)
            // and the caBundle; otherwise it is ours, kept in --webhook-secret.
            let cert = if args.disable_cert_rotation {
                webhook::certificate_from_dir(&args.cert_dir, &args.cert_service_name, &namespace)
                    .map(|tls| (None, tls))
            } else {
                webhook::stored_certificate(&client, &namespace, &args.webhook_secret, &args.cert_service_name)
                    .await
                    .map(|(ca, tls)| (Some(ca), tls))
            };
            let (ca, tls) = match cert {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "no webhook certificate");
                    return ExitCode::FAILURE;
                }
            };
            let addr = SocketAddr::from((Ipv6Addr::UNSPECIFIED, args.webhook_port));
            let listener = match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => l,
                Err(_) => match tokio::net::TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], args.webhook_port))).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(port = args.webhook_port, error = %e, "cannot listen for webhooks");
                        return ExitCode::FAILURE;
                    }
                },
            };
            tracing::info!(port = args.webhook_port, "serving the validating webhooks");
            tokio::spawn(webhook::serve(listener, tls, source.subscribe(), namespace.clone()));
            if let Some(ca) = ca {
                tokio::spawn(webhook::publish_ca(client.clone(), args.webhook_configuration.clone(), ca));
            }
        }
        if args.webhook_mode == WebhookMode::Onlywebhook {
            let _ = tokio::signal::ctrl_c().await;
            return ExitCode::SUCCESS;
        }
        tokio::select! {
            () = shell::run(client, source.subscribe(), namespace, lb_class, args.pod_name.clone(), state) => ExitCode::SUCCESS,
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted, exiting");
                ExitCode::SUCCESS
            }
        }
    })
}
