//! Runs the README's example (`examples/three_nodes.rs`) as a test.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../examples/three_nodes.rs"]
mod three_nodes;

#[tokio::test]
async fn three_nodes_one_killed() {
    let detected = three_nodes::run().await.unwrap();
    let mut names: Vec<&str> = detected.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["a", "b"]);
}
