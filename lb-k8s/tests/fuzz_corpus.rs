//! Replays the cargo-fuzz corpus of `k8s_manifests` (and any regressions), so `cargo test`
//! covers what the fuzzer found.

use std::path::PathBuf;

fn corpus_files() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in ["corpus/k8s_manifests", "regressions/k8s_manifests"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            files.extend(entries.filter_map(Result::ok).map(|e| e.path()));
        }
    }
    files.sort();
    files
}

#[test]
fn fuzz_corpus_replays() {
    let files = corpus_files();
    assert!(!files.is_empty(), "the k8s_manifests corpus is missing");
    for f in files {
        let data = std::fs::read(&f).unwrap_or_default();
        let _ = lb_k8s::config::check_manifests(&String::from_utf8_lossy(&data));
    }
}
