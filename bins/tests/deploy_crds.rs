//! `deploy/crds/` holds exactly the CRDs lb-k8s's `crdgen` writes to `lb-k8s/config/crd/`.
#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn deploy_crds_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let generated = root.join("lb-k8s/config/crd");
    let deployed = root.join("deploy/crds");
    let names = |dir: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&generated), names(&deployed), "the same files");
    for name in names(&generated) {
        let a = std::fs::read_to_string(generated.join(&name)).unwrap();
        let b = std::fs::read_to_string(deployed.join(&name)).unwrap();
        assert!(
            a == b,
            "deploy/crds/{} is stale: cp lb-k8s/config/crd/*.yaml deploy/crds/",
            name.to_string_lossy()
        );
    }
}
