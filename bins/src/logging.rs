//! Logging for both binaries: upstream's `--log-level` values and our `--log-format`.

/// `--log-level` (upstream's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    /// Everything (trace).
    All,
    /// Debug and above.
    Debug,
    /// Info and above.
    Info,
    /// Warnings and errors.
    Warn,
    /// Errors only.
    Error,
    /// Nothing.
    None,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line (upstream's format).
    Json,
    /// Human-readable text.
    Text,
}

/// Installs the global `tracing` subscriber (a second call, by an in-process caller, keeps the
/// first). The Kubernetes client's own crates log at `warn` and above.
pub fn init(level: LogLevel, format: LogFormat) {
    let level = match level {
        LogLevel::All => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
        LogLevel::None => "off",
    };
    let filter = tracing_subscriber::EnvFilter::new(format!(
        "{level},kube=warn,kube_runtime=warn,hyper=warn,tower=warn,rustls=warn"
    ));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
