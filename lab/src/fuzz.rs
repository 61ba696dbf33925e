//! Replaying the fuzz corpora as ordinary tests: every file under `fuzz/corpus/<target>` and
//! `fuzz/regressions/<target>` fed to the function the fuzz target runs.

use std::path::{Path, PathBuf};

/// The files of `target`'s corpus and regressions under the workspace's `fuzz/` folder, where
/// `manifest_dir` is a member crate's `CARGO_MANIFEST_DIR`; sorted.
pub fn corpus(manifest_dir: &str, target: &str) -> Vec<PathBuf> {
    let root = Path::new(manifest_dir).join("../fuzz");
    let mut files = Vec::new();
    for dir in [format!("corpus/{target}"), format!("regressions/{target}")] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            files.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_file()),
            );
        }
    }
    files.sort();
    files
}

/// A fuzz target's name and the function it runs.
pub type Target<'a> = (&'a str, fn(&[u8]));

/// Feeds every corpus file of each `(target, run)` to `run`; panics when a corpus is missing
/// (or `run` does).
pub fn replay(manifest_dir: &str, targets: &[Target<'_>]) {
    for (target, run) in targets {
        let files = corpus(manifest_dir, target);
        assert!(!files.is_empty(), "the {target} corpus is missing");
        for f in files {
            run(&std::fs::read(&f).expect("readable corpus file"));
        }
    }
}
