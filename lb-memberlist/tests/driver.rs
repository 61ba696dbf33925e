//! The tokio driver with our own nodes only, on 127.0.0.1 with ports picked by the kernel:
//! join, failure detection after a crash (the handle dropped without leaving), graceful
//! leave, encryption and a wrong key. Timeouts are generous upper bounds, not measurements.

#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use lb_memberlist::driver::{Driver, DriverOptions, JoinRetry};
use lb_memberlist::{Config, Keyring, State};

const WAIT: Duration = Duration::from_secs(10);

fn options(name: &str, key: Option<[u8; 16]>) -> DriverOptions {
    let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut o = DriverOptions::new(name, bind, Config::fast());
    o.keyring = key.map(|k| Keyring::new(&k).unwrap());
    o
}

async fn cluster(names: &[&str], key: Option<[u8; 16]>) -> Vec<Driver> {
    let mut nodes = Vec::new();
    for name in names {
        nodes.push(Driver::start(options(name, key)).await.unwrap());
    }
    let seed = nodes[0].advertise_addr();
    for n in &nodes[1..] {
        assert_eq!(n.join(&[seed]).await.unwrap(), 1);
    }
    for n in &nodes {
        let all = n
            .wait_for(WAIT, |ms| {
                ms.iter().filter(|m| m.state == State::Alive).count() == names.len()
            })
            .await;
        assert!(all, "{} sees {:?}", n.name(), n.members());
    }
    nodes
}

#[tokio::test]
async fn crash_is_detected_and_leave_is_a_leave() {
    let mut nodes = cluster(&["a", "b", "c", "d"], None).await;
    let d = nodes.pop().unwrap();
    drop(d);
    for n in &nodes {
        assert!(
            n.wait_state("d", State::Dead, WAIT).await,
            "{} sees {:?}",
            n.name(),
            n.members()
        );
    }
    let c = nodes.pop().unwrap();
    c.leave(Duration::from_secs(2)).await.unwrap();
    for n in &nodes {
        assert!(
            n.wait_state("c", State::Left, WAIT).await,
            "{} sees {:?}",
            n.name(),
            n.members()
        );
    }
}

#[tokio::test]
async fn encrypted_cluster_and_wrong_key() {
    let key = [7u8; 16];
    let nodes = cluster(&["a", "b"], Some(key)).await;
    let mut o = options("intruder", Some([8u8; 16]));
    o.join_retry = JoinRetry {
        attempts: 2,
        backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(50),
    };
    let intruder = Driver::start(o).await.unwrap();
    assert!(intruder.join(&[nodes[0].advertise_addr()]).await.is_err());
    tokio::time::sleep(Duration::from_millis(500)).await;
    for n in &nodes {
        assert!(n.member("intruder").is_none(), "{:?}", n.members());
    }
}

#[tokio::test]
async fn join_retries_until_a_seed_is_up() {
    let a = Driver::start(options("a", None)).await.unwrap();
    // A seed that is not listening yet: bind it later on a known port.
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let seed: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let seeds = [seed];
    let join = a.join(&seeds);
    let later = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut o = options("b", None);
        o.bind = seed;
        Driver::start(o).await.unwrap()
    };
    let (joined, b) = tokio::join!(join, later);
    assert_eq!(joined.unwrap(), 1);
    assert!(b.wait_state("a", State::Alive, WAIT).await);
}
