//! `ManifestSource`: a changed file is re-read, a broken one keeps the last good objects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use lb_k8s::source::{ManifestSource, Source};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("lb-k8s-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pool(name: &str, cidr: &str) -> String {
    format!(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: {name}}}\nspec: {{addresses: [{cidr}]}}\n"
    )
}

#[test]
fn reloads_on_change_and_keeps_the_last_good_set() {
    let dir = TempDir::new("reload");
    let file = dir.0.join("pools.yaml");
    std::fs::write(&file, pool("a", "192.0.2.0/24")).unwrap();
    std::fs::write(dir.0.join("notes.txt"), "not yaml: [").unwrap();
    let mut src = ManifestSource::new(&dir.0);
    let first = src.poll().unwrap().expect("first read");
    assert_eq!(first.pools.len(), 1);
    assert!(src.poll().unwrap().is_none(), "unchanged");

    // Two documents now (a different size, so the change is seen whatever the clock).
    std::fs::write(
        &file,
        format!(
            "{}---\n{}",
            pool("a", "192.0.2.0/24"),
            pool("b", "198.51.100.0/24")
        ),
    )
    .unwrap();
    let second = src.poll().unwrap().expect("changed");
    assert_eq!(second.pools.len(), 2);

    // A broken file: an error, and the last good set stays.
    std::fs::write(
        &file,
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: [oops",
    )
    .unwrap();
    assert!(src.poll().is_err());
    assert_eq!(src.last_good().unwrap().pools.len(), 2);
    assert!(
        src.poll().unwrap().is_none(),
        "the same broken state is reported once"
    );

    // A known kind that does not parse is an error too.
    std::fs::write(&file, "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: x}\nspec: {addresses: 5}\n").unwrap();
    assert!(src.poll().is_err());
    assert_eq!(src.last_good().unwrap().pools.len(), 2);

    // Fixed, and a new file added.
    std::fs::write(&file, pool("a", "192.0.2.0/25")).unwrap();
    std::fs::write(dir.0.join("more.yml"), pool("c", "203.0.113.0/24")).unwrap();
    let third = src.poll().unwrap().expect("fixed");
    assert_eq!(third.pools.len(), 2);
    assert_eq!(
        third.pools[0].spec.addresses,
        ["203.0.113.0/24"],
        "files in name order"
    );
}

#[test]
fn unknown_kinds_are_skipped_and_documents_may_be_empty() {
    let dir = TempDir::new("kinds");
    std::fs::write(
        dir.0.join("all.yaml"),
        format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: x}}\n---\n---\n{}",
            pool("a", "192.0.2.0/24")
        ),
    )
    .unwrap();
    let objects = ManifestSource::load(&dir.0).unwrap();
    assert_eq!(objects.len(), 1);
}

#[tokio::test]
async fn spawned_source_publishes_snapshots() {
    let dir = TempDir::new("spawn");
    let file = dir.0.join("pools.yaml");
    std::fs::write(&file, pool("a", "192.0.2.0/24")).unwrap();
    let watch = ManifestSource::new(&dir.0).spawn(Duration::from_millis(20));
    let mut rx = watch.subscribe();
    rx.wait_for(|s| s.generation == 1).await.unwrap();
    std::fs::write(
        &file,
        format!(
            "{}---\n{}",
            pool("a", "192.0.2.0/24"),
            pool("b", "198.51.100.0/24")
        ),
    )
    .unwrap();
    let snap = rx.wait_for(|s| s.generation == 2).await.unwrap().clone();
    assert_eq!(snap.objects.pools.len(), 2);
}
