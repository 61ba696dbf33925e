//! The medians criterion wrote for this run (`<group>/<function>/new/estimates.json`).
//!
//! Call [`mark_start`] before the first group runs: estimates written before it are from an
//! earlier run and are not read.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::SystemTime;

/// A criterion median and its 95% interval, in seconds per iteration.
#[derive(Debug, Clone, Copy)]
pub struct Median {
    /// The median's point estimate.
    pub point: f64,
    /// The interval's lower bound.
    pub lo: f64,
    /// The interval's upper bound.
    pub hi: f64,
}

static STARTED: OnceLock<SystemTime> = OnceLock::new();

/// Records when this run started (the first call counts).
pub fn mark_start() {
    STARTED.get_or_init(SystemTime::now);
}

/// Where criterion writes, in its own order: `$CRITERION_HOME`, `$CARGO_TARGET_DIR/criterion`,
/// else the target directory this bench binary was built in.
fn criterion_dir() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(h));
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(t).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.ancestors().nth(3)?.join("criterion"))
}

/// The median criterion measured in this run for `function` of `group`; `None` when the row
/// was not run (filtered out) or [`mark_start`] was not called.
pub fn median(group: &str, function: &str) -> Option<Median> {
    let safe = |s: &str| s.replace(['?', '"', '/', '\\', '*', '<', '>', ':', '|', '^'], "_");
    let path = criterion_dir()?
        .join(safe(group))
        .join(safe(function))
        .join("new/estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < *STARTED.get()? {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let m = &v["median"];
    let secs = |x: &serde_json::Value| x.as_f64().map(|x| x * 1e-9);
    Some(Median {
        point: secs(&m["point_estimate"])?,
        lo: secs(&m["confidence_interval"]["lower_bound"])?,
        hi: secs(&m["confidence_interval"]["upper_bound"])?,
    })
}
