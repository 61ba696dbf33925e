//! The thin Kubernetes shell around [`Reconciler`]: snapshots in, status writes, events and
//! the `ConfigurationState` object out.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event as KubeEvent, EventSource, ObjectReference, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use lb_k8s::crd::ConfigurationState;
use tokio_util::task::AbortOnDropHandle;

use super::http::State;
use super::reconcile::{ConfigReport, Reconciler, ServiceEvent, Write};

/// The reporting component of events and the field manager of writes.
pub const COMPONENT: &str = "metallb-controller";

/// How many status writes are in flight at once.
const WRITE_CONCURRENCY: usize = 64;

/// How many events are being recorded at once.
const EVENT_CONCURRENCY: usize = 8;

/// How many events may wait to be recorded; beyond it they are dropped (and counted in the
/// log), as client-go's event broadcaster drops past its queue.
const EVENT_QUEUE: usize = 4096;

/// Runs the controller on the snapshots of `rx` (a `KubeSource` the caller keeps, which the
/// webhooks read too; see `lb_k8s::source::KubeSource`) until the process ends.
pub async fn run(
    client: Client,
    mut rx: tokio::sync::watch::Receiver<lb_k8s::source::Snapshot>,
    namespace: String,
    lb_class: Option<String>,
    pod_name: Option<String>,
    state: Arc<State>,
) {
    let mut reconciler = Reconciler::new(&namespace, lb_class);
    // Events are recorded by their own task, after the pass's status writes: the address is
    // what a user waits for, the event tells of it.
    let (events, queue) = tokio::sync::mpsc::channel::<ServiceEvent>(EVENT_QUEUE);
    let _recorder = AbortOnDropHandle::new(tokio::spawn(record_all(
        client.clone(),
        queue,
        pod_name.clone(),
    )));
    let mut dropped_events = 0u64;
    // The ConfigurationState object is written by its own task too (the latest report wins),
    // so the first status writes do not wait for it.
    let (config_tx, config_rx) = tokio::sync::watch::channel::<Option<ConfigReport>>(None);
    let _config_writer = AbortOnDropHandle::new(tokio::spawn(write_config_states(
        client.clone(),
        namespace.clone(),
        config_rx,
    )));
    let started = Instant::now();
    let mut retry: Option<tokio::time::Instant> = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        let sleep = async {
            match retry {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = rx.changed() => if r.is_err() { return },
            () = sleep => { retry = None; }
        }
        let snapshot = rx.borrow_and_update().clone();
        if snapshot.generation == 0 {
            continue;
        }
        let pass_started = Instant::now();
        if snapshot.generation == 1 {
            tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                services = snapshot.objects.services.len(),
                "first snapshot"
            );
        }
        let plan = reconciler.pass(&snapshot.objects);
        let planned_us = pass_started.elapsed().as_micros() as u64;
        state.metrics.updates.inc_by(plan.services as u64 + 1);
        if let Some(report) = &plan.config {
            config_tx.send_replace(Some(report.clone()));
        }
        state
            .metrics
            .config_loaded
            .set(i64::from(reconciler.config_loaded()));
        state
            .metrics
            .config_stale
            .set(i64::from(reconciler.config_stale()));
        let n_writes = plan.writes.len();
        let results: Vec<(Write, bool)> = futures::stream::iter(plan.writes)
            .map(|w| {
                let client = client.clone();
                async move {
                    let ok = write_status(&client, &w).await;
                    (w, ok)
                }
            })
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await;
        for ev in plan.events {
            if events.try_send(ev).is_err() {
                dropped_events += 1;
                if dropped_events.is_power_of_two() {
                    tracing::warn!(dropped = dropped_events, "event queue full, events dropped");
                }
            }
        }
        let mut failed = 0;
        for (w, ok) in &results {
            if *ok {
                reconciler.written(&w.key);
            } else {
                failed += 1;
                reconciler.write_failed(&w.key);
            }
        }
        if failed > 0 {
            state.metrics.update_errors.inc_by(failed);
            retry = Some(tokio::time::Instant::now() + backoff);
            backoff = (backoff * 2).min(Duration::from_secs(5));
        } else {
            backoff = Duration::from_millis(100);
        }
        let services_per_pool = |pool: &str| {
            reconciler
                .allocator()
                .assignments()
                .filter(|(_, a)| a.pool == pool)
                .count()
        };
        let pools: Vec<_> = reconciler
            .counters()
            .into_iter()
            .map(|(p, c)| {
                let n = services_per_pool(&p);
                (p, c, n)
            })
            .collect();
        state.metrics.set_pools(&pools);
        if reconciler.ready() && !state.ready.swap(true, Ordering::Relaxed) {
            tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                services = snapshot.objects.services.len(),
                "ready: every Service restored"
            );
        }
        tracing::debug!(
            generation = snapshot.generation,
            writes = n_writes,
            failed,
            planned_us,
            pass_ms = pass_started.elapsed().as_millis() as u64,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "pass done"
        );
    }
}

/// Records the events of `queue`, a few at a time, until the sender is gone.
async fn record_all(
    client: Client,
    mut queue: tokio::sync::mpsc::Receiver<ServiceEvent>,
    pod: Option<String>,
) {
    futures::stream::poll_fn(|cx| queue.poll_recv(cx))
        .for_each_concurrent(EVENT_CONCURRENCY, |ev| {
            let client = client.clone();
            let pod = pod.clone();
            async move { record(&client, &ev, pod.as_deref(), COMPONENT).await }
        })
        .await;
}

async fn write_status(client: &Client, w: &Write) -> bool {
    let api: Api<Service> = Api::namespaced(client.clone(), w.key.namespace());
    match api
        .replace_status(w.key.name(), &PostParams::default(), &w.object())
        .await
    {
        Ok(_) => {
            tracing::info!(service = %w.key, ingress = ?w.status.ingress.as_ref().map(|i| i.iter().filter_map(|i| i.ip.clone()).collect::<Vec<_>>()), "status written");
            true
        }
        Err(kube::Error::Api(e)) if e.code == 409 => {
            tracing::debug!(service = %w.key, "status write conflict, will retry");
            false
        }
        Err(kube::Error::Api(e)) if e.code == 404 => true,
        Err(e) => {
            tracing::warn!(service = %w.key, error = %e, "status write failed");
            false
        }
    }
}

/// Creates the memberlist Secret `name` (key `secretkey`: 128 random bytes, base64) in
/// `namespace` unless it exists, as upstream's controller does, so the speakers' DaemonSet can
/// mount it. An existing Secret is never changed.
pub async fn ensure_memberlist_secret(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<bool, String> {
    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::Secret;
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    if api
        .get_opt(name)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(false);
    }
    let mut raw = [0u8; 128];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(|e| e.to_string())?,
        &mut raw,
    )
    .map_err(|e| e.to_string())?;
    let key = base64(&raw);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        data: Some([("secretkey".to_string(), ByteString(key.into_bytes()))].into()),
        ..Secret::default()
    };
    match api.create(&kube::api::PostParams::default(), &secret).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Records `ev` on its Service as `component` (`metallb-controller` or `metallb-speaker`),
/// reported by `pod`.
pub(crate) async fn record(client: &Client, ev: &ServiceEvent, pod: Option<&str>, component: &str) {
    let api: Api<KubeEvent> = Api::namespaced(client.clone(), ev.key.namespace());
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let obj = KubeEvent {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}.", ev.key.name())),
            namespace: Some(ev.key.namespace().to_owned()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Service".into()),
            name: Some(ev.key.name().to_owned()),
            namespace: Some(ev.key.namespace().to_owned()),
            uid: ev.uid.clone(),
            ..ObjectReference::default()
        },
        reason: Some(ev.event.reason.to_owned()),
        message: Some(ev.event.message.clone()),
        type_: Some(ev.event.type_.as_str().to_owned()),
        source: Some(EventSource {
            component: Some(component.into()),
            host: None,
        }),
        reporting_component: Some(component.into()),
        reporting_instance: pod.map(str::to_owned),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        count: Some(1),
        ..KubeEvent::default()
    };
    if let Err(e) = api.create(&PostParams::default(), &obj).await {
        tracing::warn!(service = %ev.key, error = %e, "event not recorded");
    }
}

/// Writes each report `reports` carries (the latest when several came meanwhile).
async fn write_config_states(
    client: Client,
    namespace: String,
    mut reports: tokio::sync::watch::Receiver<Option<ConfigReport>>,
) {
    while reports.changed().await.is_ok() {
        let report = reports.borrow_and_update().clone();
        if let Some(report) = report {
            write_config_state(&client, &namespace, &report).await;
        }
    }
}

async fn write_config_state(client: &Client, namespace: &str, report: &ConfigReport) {
    let api: Api<ConfigurationState> = Api::namespaced(client.clone(), namespace);
    let object = serde_json::json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "ConfigurationState",
        "metadata": {
            "name": "controller",
            "labels": {"metallb.io/component-type": "controller"},
        },
        "spec": {},
    });
    let pp = PatchParams::apply(COMPONENT).force();
    if let Err(e) = api.patch("controller", &pp, &Patch::Apply(&object)).await {
        tracing::warn!(error = %e, "ConfigurationState not written");
        return;
    }
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let (result, summary, status, reason, message) = match report {
        ConfigReport::Valid => ("Valid", String::new(), "True", "Reconciled", String::new()),
        ConfigReport::Invalid(e) => {
            let m = format!("configuration error: {e}");
            ("Invalid", m.clone(), "False", "ConfigurationError", m)
        }
    };
    let status = serde_json::json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "ConfigurationState",
        "metadata": {"name": "controller"},
        "status": {
            "result": result,
            "errorSummary": summary,
            "conditions": [{
                "type": "poolReconcilerValid",
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": now,
            }],
        },
    });
    let pp = PatchParams::apply("poolReconciler").force();
    if let Err(e) = api
        .patch_status("controller", &pp, &Patch::Apply(&status))
        .await
    {
        tracing::warn!(error = %e, "ConfigurationState status not written");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (raw, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(raw.as_bytes()), want);
        }
    }
}
