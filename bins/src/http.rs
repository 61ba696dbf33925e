//! A minimal HTTP/1.1 server for `/metrics`, `/healthz` and `/readyz`, shared by both binaries:
//! one request per connection, headers bounded to 8 KiB.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::controller::metrics::Metrics;

/// Something with a Prometheus text exposition.
pub trait Exposition: Send + Sync + 'static {
    /// The text exposition.
    fn encode(&self) -> String;
}

impl<T: Exposition> Exposition for Arc<T> {
    fn encode(&self) -> String {
        T::encode(self)
    }
}

impl Exposition for Metrics {
    fn encode(&self) -> String {
        Metrics::encode(self)
    }
}

/// What the server answers from.
#[derive(Debug)]
pub struct State<M = Metrics> {
    /// The metrics.
    pub metrics: M,
    /// Whether `/readyz` answers 200.
    pub ready: AtomicBool,
}

/// The response to a request line's path: status line, content type, body.
pub fn respond<M: Exposition>(
    state: &State<M>,
    path: &str,
) -> (&'static str, &'static str, String) {
    let path = path.split('?').next().unwrap_or_default();
    match path {
        "/metrics" => (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            state.metrics.encode(),
        ),
        "/healthz" => ("200 OK", "text/plain", "ok".into()),
        "/readyz" if state.ready.load(Ordering::Relaxed) => ("200 OK", "text/plain", "ok".into()),
        "/readyz" => ("503 Service Unavailable", "text/plain", "not ready".into()),
        _ => ("404 Not Found", "text/plain", "not found".into()),
    }
}

async fn serve_one<M: Exposition>(
    state: Arc<State<M>>,
    mut stream: TcpStream,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        if buf.len() > 8192 {
            return Ok(());
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let mut parts = text.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, ctype, body) = if method == "GET" || method == "HEAD" {
        respond(&state, path)
    } else {
        ("405 Method Not Allowed", "text/plain", String::new())
    };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}

/// Serves on `listener` until the task is dropped.
pub async fn serve<M: Exposition>(listener: TcpListener, state: Arc<State<M>>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let state = state.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_one(state, stream).await {
                        tracing::debug!(error = %e, "http connection");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
