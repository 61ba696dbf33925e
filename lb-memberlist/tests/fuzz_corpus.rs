//! Replays the cargo-fuzz corpora (and any regressions) of the memberlist targets, so that
//! `cargo test` covers every input the fuzzer kept.

use std::path::PathBuf;

fn files(target: &str) -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) {
            files.extend(
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_file()),
            );
        }
    }
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let files = files(target);
    assert!(!files.is_empty(), "the {target} corpus is missing");
    for f in files {
        let data = std::fs::read(&f).expect("readable corpus file");
        run(&data);
    }
}

#[test]
fn memberlist_message_corpus() {
    replay("memberlist_message", lb_memberlist::roundtrip::message);
}

#[test]
fn memberlist_compound_corpus() {
    replay("memberlist_compound", lb_memberlist::roundtrip::compound);
}

#[test]
fn memberlist_envelope_corpus() {
    replay("memberlist_envelope", lb_memberlist::roundtrip::envelope);
}

#[test]
fn memberlist_core_corpus() {
    replay("memberlist_core", lb_memberlist::script::run);
}
