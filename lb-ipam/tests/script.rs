//! Property tests over random operation scripts, and replay of the cargo-fuzz corpus so that
//! `cargo test` covers every input the fuzzer kept.

use std::path::PathBuf;

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Random sequences of add-pool / remove-pool (new configurations), allocate, release,
    /// assign and restore keep every invariant (see `lb_ipam::script`).
    #[test]
    fn random_scripts_keep_invariants(data in proptest::collection::vec(any::<u8>(), 0..800)) {
        lb_ipam::script::run(&data);
    }
}

fn corpus_files() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in ["corpus/ipam_script", "regressions/ipam_script"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
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

#[test]
fn fuzz_corpus_replays() {
    let files = corpus_files();
    assert!(!files.is_empty(), "the ipam_script corpus is missing");
    for f in files {
        let data = std::fs::read(&f).expect("readable corpus file");
        lb_ipam::script::run(&data);
    }
}
