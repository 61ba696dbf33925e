//! Three nodes on loopback with the `fast()` preset: they join, one is killed (its driver
//! dropped without leaving, as a crash), and the other two report it dead.
//!
//! ```text
//! cargo run -p lb-memberlist --example three_nodes
//! ```
//!
//! `tests/example.rs` runs the same code as a test.

use std::time::{Duration, Instant};

use lb_memberlist::Error;
use lb_memberlist::driver::DriverConfig;
use lb_memberlist::{Config, Event, State};

/// Starts the three nodes, kills `c`, and returns how long each survivor took to report it
/// dead.
pub async fn run() -> Result<Vec<(String, Duration)>, Error> {
    let mut nodes = Vec::new();
    for name in ["a", "b", "c"] {
        // Port 0: the kernel picks a free port, announced as the node's address.
        let bind = "127.0.0.1:0".parse().expect("a socket address");
        let node =
            lb_memberlist::driver::spawn(DriverConfig::new(name, bind, Config::fast())).await?;
        println!("{name} listens on {}", node.advertise_addr());
        nodes.push(node);
    }
    let seed = nodes[0].advertise_addr();
    for node in &nodes[1..] {
        node.join(&[seed]).await?;
    }
    for node in &nodes {
        node.wait_for(Duration::from_secs(10), |ms| {
            ms.iter().filter(|m| m.state == State::Alive).count() == 3
        })
        .await;
    }
    println!("all three alive");

    // Each survivor watches its own change stream.
    let c = nodes.pop().expect("three nodes");
    let mut watchers = Vec::new();
    for node in &nodes {
        let mut events = node.events();
        let name = node.name().to_string();
        watchers.push(tokio::spawn(async move {
            while let Ok(ev) = events.recv().await {
                match ev {
                    Event::Suspect(m) => println!("{name}: {} is suspect", m.name),
                    Event::Dead(m) if m.name == "c" => return Some((name, Instant::now())),
                    _ => {}
                }
            }
            None
        }));
    }

    let killed = Instant::now();
    println!("killing c");
    drop(c);
    let mut detected = Vec::new();
    for w in watchers {
        if let Ok(Ok(Some((name, at)))) = tokio::time::timeout(Duration::from_secs(10), w).await {
            let after = at - killed;
            println!("{name}: c is dead ({after:?} after the kill)");
            detected.push((name, after));
        }
    }
    Ok(detected)
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Error> {
    let detected = run().await?;
    assert_eq!(detected.len(), 2, "both survivors report c dead");
    Ok(())
}
