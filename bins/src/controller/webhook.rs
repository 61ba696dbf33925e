//! The validating webhooks (spec §1.11): an AdmissionReview in, a verdict out, the candidate
//! object judged against the whole configuration (every kind, transient references blanked),
//! served over TLS with a self-made certificate whose PEM the controller writes into the
//! `ValidatingWebhookConfiguration`'s `caBundle`.
//!
//! [`admission`] is pure; [`serve`] is the thin TLS shell around it.

use std::sync::Arc;

use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use lb_k8s::config::{Object, Objects, Options, assemble};
use lb_k8s::source::Snapshot;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The largest request body accepted (an AdmissionReview carries one object, twice at most).
pub const MAX_BODY: usize = 3 << 20;

/// The kinds the webhooks judge, as AdmissionReview names them.
const KINDS: [&str; 6] = [
    "IPAddressPool",
    "L2Advertisement",
    "BGPAdvertisement",
    "BGPPeer",
    "Community",
    "BFDProfile",
];

fn same(a: &kube::core::ObjectMeta, name: &str, namespace: &str) -> bool {
    a.name.as_deref() == Some(name) && a.namespace.as_deref().unwrap_or(namespace) == namespace
}

/// `objects` with the object of `kind` called `name` in `namespace` removed.
fn without(mut objects: Objects, kind: &str, name: &str, namespace: &str) -> Objects {
    match kind {
        "IPAddressPool" => objects
            .pools
            .retain(|o| !same(&o.metadata, name, namespace)),
        "L2Advertisement" => objects
            .l2_advertisements
            .retain(|o| !same(&o.metadata, name, namespace)),
        "BGPAdvertisement" => objects
            .bgp_advertisements
            .retain(|o| !same(&o.metadata, name, namespace)),
        "BGPPeer" => objects
            .peers
            .retain(|o| !same(&o.metadata, name, namespace)),
        "Community" => objects
            .communities
            .retain(|o| !same(&o.metadata, name, namespace)),
        "BFDProfile" => objects
            .bfd_profiles
            .retain(|o| !same(&o.metadata, name, namespace)),
        _ => {}
    }
    objects
}

/// The verdict on one `admission.k8s.io/v1` AdmissionReview (`review`), judged against the
/// configuration objects the controller sees (`current`): the candidate replaces the object of
/// its kind, name and namespace (or, for DELETE, is removed) and the whole must assemble
/// (transient references blanked, as objects may be created in any order). Returns the
/// AdmissionReview response; a review that does not parse is refused with why.
pub fn admission(review: &Value, current: &Objects, namespace: &str) -> Value {
    let request = &review["request"];
    let uid = request["uid"].clone();
    let verdict = judge(request, current, namespace);
    let mut response = json!({ "uid": uid, "allowed": verdict.is_ok() });
    match verdict {
        Ok(warnings) if !warnings.is_empty() => response["warnings"] = json!(warnings),
        Ok(_) => {}
        Err(message) => {
            response["status"] = json!({ "code": 422, "reason": "Invalid", "message": message });
        }
    }
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": response,
    })
}

fn judge(request: &Value, current: &Objects, namespace: &str) -> Result<Vec<String>, String> {
    let kind = request["kind"]["kind"]
        .as_str()
        .ok_or("no kind in the request")?;
    if !KINDS.contains(&kind) {
        return Ok(Vec::new());
    }
    let operation = request["operation"].as_str().unwrap_or("");
    let name = request["name"].as_str().unwrap_or("");
    let ns = request["namespace"].as_str().unwrap_or(namespace);
    let mut candidate = without(current.clone(), kind, name, ns);
    if operation != "DELETE" {
        let object = request["object"].clone();
        match Object::from_value(object, "admission request") {
            Ok(Some(o)) => candidate.insert(o),
            Ok(None) => return Ok(Vec::new()),
            Err(e) => return Err(e.to_string()),
        }
    }
    let options = Options {
        namespace: Some(namespace.to_owned()),
        bfd: true,
        blank_transient: true,
    };
    assemble(&candidate, &options)
        .map(|c| c.warnings)
        .map_err(|e| e.to_string())
}

/// The BGPPeer conversion webhook: an `apiextensions.k8s.io/v1` ConversionReview in, every
/// object converted to `desiredAPIVersion` (`metallb.io/v1beta1` ⇄ `v1beta2`, with lb-k8s's
/// converters) out; a request that cannot be converted fails as a whole, with why.
pub fn conversion(review: &Value) -> Value {
    let request = &review["request"];
    let desired = request["desiredAPIVersion"].as_str().unwrap_or_default();
    let converted: Result<Vec<Value>, String> = match request["objects"].as_array() {
        Some(objects) => objects.iter().map(|o| convert_peer(o, desired)).collect(),
        None => Err("no objects in the request".into()),
    };
    let mut response = json!({ "uid": request["uid"].clone() });
    match converted {
        Ok(objects) => {
            response["result"] = json!({ "status": "Success" });
            response["convertedObjects"] = json!(objects);
        }
        Err(message) => response["result"] = json!({ "status": "Failure", "message": message }),
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "response": response,
    })
}

fn convert_peer(object: &Value, desired: &str) -> Result<Value, String> {
    use lb_k8s::crd::peer::{convert_v1beta1, convert_v1beta2, v1beta1};
    let from = object["apiVersion"].as_str().unwrap_or_default();
    let mut out = match (from, desired) {
        (a, b) if a == b => return Ok(object.clone()),
        ("metallb.io/v1beta1", "metallb.io/v1beta2") => {
            let old: v1beta1::BGPPeer =
                serde_json::from_value(object.clone()).map_err(|e| e.to_string())?;
            serde_json::to_value(convert_v1beta1(&old)).map_err(|e| e.to_string())?
        }
        ("metallb.io/v1beta2", "metallb.io/v1beta1") => {
            let new: lb_k8s::crd::BGPPeer =
                serde_json::from_value(object.clone()).map_err(|e| e.to_string())?;
            serde_json::to_value(convert_v1beta2(&new)).map_err(|e| e.to_string())?
        }
        _ => {
            return Err(format!(
                "cannot convert a BGPPeer from {from:?} to {desired:?}"
            ));
        }
    };
    out["apiVersion"] = json!(desired);
    out["kind"] = json!("BGPPeer");
    Ok(out)
}

/// The names the webhook certificate covers: the webhook Service's names (and loopback, for
/// labs).
fn names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
    ]
}

/// A new self-signed certificate for the webhook Service's names: (certificate PEM, private
/// key PEM). The certificate is its own CA, so its PEM is the `caBundle`.
pub fn new_certificate(service: &str, namespace: &str) -> Result<(String, String), String> {
    let key =
        rcgen::generate_simple_self_signed(names(service, namespace)).map_err(|e| e.to_string())?;
    Ok((key.cert.pem(), key.signing_key.serialize_pem()))
}

/// The rustls server configuration for a certificate and key in PEM; refused when the
/// certificate does not name `service` in `namespace` (a Secret made for another Service).
pub fn server_config(
    cert_pem: &str,
    key_pem: &str,
    service: &str,
    namespace: &str,
) -> Result<Arc<tokio_rustls::rustls::ServerConfig>, String> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("certificate: {e}"))?;
    let leaf = chain.first().ok_or("no certificate in the PEM")?;
    // A subjectAltName dNSName is the name's bytes as they are (IA5String) in the DER.
    let want = format!("{service}.{namespace}.svc");
    if !leaf
        .as_ref()
        .windows(want.len())
        .any(|w| w == want.as_bytes())
    {
        return Err(format!("the certificate does not name {want}"));
    }
    let private =
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| format!("key: {e}"))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

/// The certificate kept in the Secret `secret` of `namespace` (keys `ca.crt`, `tls.crt`,
/// `tls.key`, as upstream's cert rotation keeps them), so a restarted controller serves the
/// same certificate and the caBundles stay as they are. A Secret that is missing, incomplete
/// or made for another Service gets a new certificate (created, or updated with its
/// resourceVersion; a concurrent writer's certificate is read back and used). Returns the
/// `caBundle` PEM and the server configuration.
pub async fn stored_certificate(
    client: &Client,
    namespace: &str,
    secret: &str,
    service: &str,
) -> Result<(String, Arc<tokio_rustls::rustls::ServerConfig>), String> {
    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::PostParams;
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut last = String::new();
    for _ in 0..5 {
        let existing = api.get_opt(secret).await.map_err(|e| e.to_string())?;
        if let Some(data) = existing.as_ref().and_then(|s| s.data.as_ref()) {
            let text = |k: &str| {
                data.get(k)
                    .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            };
            if let (Some(cert), Some(key)) = (text("tls.crt"), text("tls.key")) {
                match server_config(&cert, &key, service, namespace) {
                    Ok(config) => {
                        let ca = text("ca.crt").filter(|c| !c.is_empty()).unwrap_or(cert);
                        tracing::info!(secret, "webhook certificate read from its Secret");
                        return Ok((ca, config));
                    }
                    Err(e) => {
                        tracing::warn!(secret, error = %e, "webhook Secret unusable, making a new certificate");
                    }
                }
            }
        }
        let (cert, key) = new_certificate(service, namespace)?;
        let data: std::collections::BTreeMap<String, ByteString> =
            [("ca.crt", &cert), ("tls.crt", &cert), ("tls.key", &key)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), ByteString(v.clone().into_bytes())))
                .collect();
        let written = match existing {
            Some(mut s) => {
                s.data = Some(data);
                api.replace(secret, &PostParams::default(), &s).await
            }
            None => {
                let s = Secret {
                    metadata: kube::core::ObjectMeta {
                        name: Some(secret.to_owned()),
                        namespace: Some(namespace.to_owned()),
                        ..Default::default()
                    },
                    data: Some(data),
                    ..Secret::default()
                };
                api.create(&PostParams::default(), &s).await
            }
        };
        match written {
            Ok(_) => {
                tracing::info!(secret, "webhook certificate made and kept in its Secret");
                let config = server_config(&cert, &key, service, namespace)?;
                return Ok((cert, config));
            }
            // Someone else wrote it first: read theirs.
            Err(kube::Error::Api(e)) if e.code == 409 => last = e.message,
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!("the Secret {secret} kept changing: {last}"))
}

/// The certificate in `dir` (`tls.crt`, `tls.key`), for `--disable-cert-rotation`: someone
/// else (cert-manager, an operator) makes it and publishes the caBundle.
pub fn certificate_from_dir(
    dir: &std::path::Path,
    service: &str,
    namespace: &str,
) -> Result<Arc<tokio_rustls::rustls::ServerConfig>, String> {
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{}: {e}", dir.join(f).display()))
    };
    server_config(&read("tls.crt")?, &read("tls.key")?, service, namespace)
}

/// Writes `ca_pem` into every webhook of the ValidatingWebhookConfiguration `name`, and into
/// the conversion webhook of the `bgppeers.metallb.io` CRD when its strategy is `Webhook`;
/// retried every 5 s until both are in place (a configuration that does not exist yet is
/// waited for; a CRD without a conversion webhook is left alone).
pub async fn publish_ca(client: Client, name: String, ca_pem: String) {
    let bundle = k8s_openapi::ByteString(ca_pem.into_bytes());
    let mut announced = false;
    loop {
        // Both are checked again and again: the configuration or the CRD may be (re)applied
        // after the controller started.
        let hooks = validating_ca(&client, &name, &bundle).await;
        let crd = conversion_ca(&client, &bundle).await;
        if hooks && crd && !announced {
            tracing::info!(configuration = %name, "webhook caBundle in place");
        }
        announced = hooks && crd;
        let pause = if announced { 10 } else { 2 };
        tokio::time::sleep(std::time::Duration::from_secs(pause)).await;
    }
}

async fn validating_ca(client: &Client, name: &str, bundle: &k8s_openapi::ByteString) -> bool {
    use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
    let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    match api.get_opt(name).await {
        Ok(Some(mut config)) => {
            let mut changed = false;
            for hook in config.webhooks.iter_mut().flatten() {
                if hook.client_config.ca_bundle.as_ref() != Some(bundle) {
                    hook.client_config.ca_bundle = Some(bundle.clone());
                    changed = true;
                }
            }
            if !changed {
                return true;
            }
            let patch = json!({ "webhooks": config.webhooks });
            if let Err(e) = api
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                tracing::warn!(configuration = %name, error = %e, "caBundle not written");
            }
            false
        }
        Ok(None) => false,
        Err(e) => {
            tracing::debug!(configuration = %name, error = %e, "webhook configuration");
            false
        }
    }
}

async fn conversion_ca(client: &Client, bundle: &k8s_openapi::ByteString) -> bool {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let Ok(Some(crd)) = api.get_opt("bgppeers.metallb.io").await else {
        return false;
    };
    let Some(conversion) = crd
        .spec
        .conversion
        .as_ref()
        .filter(|c| c.strategy == "Webhook")
    else {
        return true;
    };
    let has = conversion
        .webhook
        .as_ref()
        .and_then(|w| w.client_config.as_ref())
        .and_then(|c| c.ca_bundle.as_ref())
        == Some(bundle);
    if has {
        return true;
    }
    let patch =
        json!({"spec": {"conversion": {"webhook": {"clientConfig": {"caBundle": bundle}}}}});
    if let Err(e) = api
        .patch(
            "bgppeers.metallb.io",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        tracing::warn!(error = %e, "conversion caBundle not written");
    }
    false
}

async fn handle<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    objects: watch::Receiver<Snapshot>,
    namespace: &str,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 16 * 1024 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let (status, body) = if length > MAX_BODY {
        ("413 Payload Too Large", String::new())
    } else {
        while buf.len() < head_end + length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let path = head.split_whitespace().nth(1).unwrap_or("");
        match serde_json::from_slice::<Value>(&buf[head_end..head_end + length]) {
            Ok(review) if path.starts_with("/validate-metallb-io-") => {
                let current = objects.borrow().objects.clone();
                (
                    "200 OK",
                    admission(&review, &current, namespace).to_string(),
                )
            }
            Ok(review) if path.starts_with("/convert") => {
                ("200 OK", conversion(&review).to_string())
            }
            Ok(_) => ("404 Not Found", String::new()),
            Err(_) => ("400 Bad Request", String::new()),
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Serves the webhooks over TLS on `listener` until the task is dropped, judging against the
/// latest snapshot of `objects`.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    objects: watch::Receiver<Snapshot>,
    namespace: String,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let (acceptor, objects, namespace) = (acceptor.clone(), objects.clone(), namespace.clone());
        tokio::spawn(async move {
            match acceptor.accept(tcp).await {
                Ok(tls) => {
                    if let Err(e) = handle(tls, objects, &namespace).await {
                        tracing::debug!(error = %e, "webhook connection");
                    }
                }
                Err(e) => tracing::debug!(error = %e, "webhook TLS handshake"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_certificate_is_served_only_for_its_service() {
        let (cert, key) =
            new_certificate("metallb-webhook-service", "metallb-system").expect("certificate");
        assert!(cert.contains("BEGIN CERTIFICATE"));
        assert!(key.contains("PRIVATE KEY"));
        assert!(server_config(&cert, &key, "metallb-webhook-service", "metallb-system").is_ok());
        let other = server_config(&cert, &key, "other-service", "metallb-system")
            .expect_err("other service");
        assert!(
            other.contains("other-service.metallb-system.svc"),
            "{other}"
        );
        assert!(
            server_config(
                &cert,
                "garbage",
                "metallb-webhook-service",
                "metallb-system"
            )
            .is_err()
        );
        assert!(server_config("", &key, "metallb-webhook-service", "metallb-system").is_err());
        let (_, other_key) =
            new_certificate("metallb-webhook-service", "metallb-system").expect("certificate");
        assert!(
            server_config(
                &cert,
                &other_key,
                "metallb-webhook-service",
                "metallb-system"
            )
            .is_err(),
            "a key that is not the certificate's"
        );
    }

    fn objects(yaml: &str) -> Objects {
        let mut o = Objects::default();
        o.parse_yaml(yaml, "test").expect("parses");
        o
    }

    fn review(operation: &str, object: Value) -> Value {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u-1", "kind": {"group": "metallb.io", "version": "v1beta1", "kind": object["kind"]},
            "operation": operation, "name": object["metadata"]["name"],
            "namespace": "metallb-system", "object": object}})
    }

    fn pool(name: &str, addresses: &[&str]) -> Value {
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
            "metadata": {"name": name, "namespace": "metallb-system"},
            "spec": {"addresses": addresses}})
    }

    const CURRENT: &str = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a, namespace: metallb-system}\nspec:\n  addresses: [192.0.2.0/28]\n";

    #[test]
    fn an_overlapping_pool_is_refused_with_the_rules_message() {
        let got = admission(
            &review("CREATE", pool("b", &["192.0.2.8/29"])),
            &objects(CURRENT),
            "metallb-system",
        );
        assert_eq!(got["response"]["uid"], "u-1");
        assert_eq!(got["response"]["allowed"], false);
        let message = got["response"]["status"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("overlap"), "{message}");
    }

    #[test]
    fn a_valid_pool_and_an_update_of_the_same_pool_are_admitted() {
        let current = objects(CURRENT);
        let ok = admission(
            &review("CREATE", pool("b", &["192.0.2.16/28"])),
            &current,
            "metallb-system",
        );
        assert_eq!(ok["response"]["allowed"], true, "{ok}");
        // Updating `a` replaces it: it does not overlap itself.
        let update = admission(
            &review("UPDATE", pool("a", &["192.0.2.0/27"])),
            &current,
            "metallb-system",
        );
        assert_eq!(update["response"]["allowed"], true, "{update}");
    }

    #[test]
    fn a_bad_address_or_a_broken_review_is_refused_never_a_panic() {
        let bad = admission(
            &review("CREATE", pool("b", &["not-an-address"])),
            &objects(CURRENT),
            "metallb-system",
        );
        assert_eq!(bad["response"]["allowed"], false);
        for junk in [
            json!(null),
            json!({"request": 7}),
            json!({"request": {"kind": {"kind": "IPAddressPool"}, "object": "x"}}),
        ] {
            let got = admission(&junk, &Objects::default(), "metallb-system");
            assert!(got["response"]["allowed"].is_boolean(), "{got}");
        }
    }

    #[test]
    fn bgppeers_convert_both_ways_and_junk_fails_the_request() {
        let old = json!({"apiVersion": "metallb.io/v1beta1", "kind": "BGPPeer",
            "metadata": {"name": "r", "namespace": "metallb-system", "uid": "x"},
            "spec": {"myASN": 64512, "peerASN": 64500, "peerAddress": "192.0.2.1"}});
        let review = |desired: &str, objects: Value| json!({"request": {"uid": "c-1", "desiredAPIVersion": desired, "objects": objects}});
        let up = conversion(&review("metallb.io/v1beta2", json!([old])));
        assert_eq!(up["response"]["uid"], "c-1");
        assert_eq!(up["response"]["result"]["status"], "Success", "{up}");
        let new = &up["response"]["convertedObjects"][0];
        assert_eq!(new["apiVersion"], "metallb.io/v1beta2");
        assert_eq!(new["metadata"]["uid"], "x");
        assert_eq!(new["spec"]["peerAddress"], "192.0.2.1");
        let down = conversion(&review("metallb.io/v1beta1", json!([new])));
        assert_eq!(
            down["response"]["convertedObjects"][0]["apiVersion"],
            "metallb.io/v1beta1"
        );
        assert_eq!(
            down["response"]["convertedObjects"][0]["spec"]["peerASN"],
            64500
        );
        let bad = conversion(&review("metallb.io/v9", json!([old])));
        assert_eq!(bad["response"]["result"]["status"], "Failure");
        assert_eq!(
            conversion(&json!(null))["response"]["result"]["status"],
            "Failure"
        );
    }

    #[test]
    fn other_kinds_are_admitted_untouched() {
        let other = json!({"request": {"uid": "u", "kind": {"kind": "Service"}, "operation": "CREATE", "object": {}}});
        assert_eq!(
            admission(&other, &Objects::default(), "metallb-system")["response"]["allowed"],
            true
        );
    }
}
