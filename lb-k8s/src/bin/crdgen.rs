//! Writes the CRDs of the `metallb.io` kinds to `lb-k8s/config/crd/` (or the folder given as
//! the first argument).
//!
//! ```text
//! cargo run -p lb-k8s --bin crdgen
//! ```

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/crd"));
    std::fs::create_dir_all(&dir)?;
    for crd in lb_k8s::crd::definitions() {
        let path = dir.join(lb_k8s::crd::file_name(&crd));
        std::fs::write(&path, lb_k8s::crd::to_yaml(&crd)?)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
