//! The tokio driver with our own nodes only, on 127.0.0.1 with ports picked by the kernel:
//! join, failure detection after a crash (the handle dropped without leaving), graceful
//! leave, encryption and a wrong key. Timeouts are generous upper bounds, not measurements.

#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use lb_memberlist::driver::{Driver, DriverConfig, JoinRetry};
use lb_memberlist::{Config, Keyring, State};

const WAIT: Duration = Duration::from_secs(10);

fn options(name: &str, key: Option<[u8; 16]>) -> DriverConfig {
    let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut o = DriverConfig::new(name, bind, Config::fast());
    o.keyring = key.map(|k| Keyring::new(&k).unwrap());
    o
}

async fn cluster(names: &[&str], key: Option<[u8; 16]>) -> Vec<Driver> {
    let mut nodes = Vec::new();
    for name in names {
        nodes.push(
            lb_memberlist::driver::spawn(options(name, key))
                .await
                .unwrap(),
        );
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
    let d_addr = d.advertise_addr();
    d.shutdown().await;
    // Its sockets are closed: the port can be bound again at once.
    drop(std::net::UdpSocket::bind(d_addr).unwrap());
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
    let intruder = lb_memberlist::driver::spawn(o).await.unwrap();
    assert!(intruder.join(&[nodes[0].advertise_addr()]).await.is_err());
    tokio::time::sleep(Duration::from_millis(500)).await;
    for n in &nodes {
        assert!(n.member("intruder").is_none(), "{:?}", n.members());
    }
}

#[tokio::test]
async fn keys_rotate_on_a_running_cluster() {
    let (old, new) = ([7u8; 16], [9u8; 32]);
    let nodes = cluster(&["a", "b"], Some(old)).await;
    // memberlist's rotation: install everywhere, make primary everywhere, remove the old key.
    for n in &nodes {
        n.install_key(&new).await.unwrap();
    }
    for n in &nodes {
        n.use_key(&new).await.unwrap();
    }
    for n in &nodes {
        assert!(n.remove_key(&new).await.is_err(), "the primary stays");
        n.remove_key(&old).await.unwrap();
        assert!(n.use_key(&old).await.is_err(), "no longer installed");
    }
    // A node with only the new key joins; one with only the old key is kept out.
    let c = lb_memberlist::driver::spawn(options_key("c", &new))
        .await
        .unwrap();
    assert_eq!(c.join(&[nodes[0].advertise_addr()]).await.unwrap(), 1);
    for n in nodes.iter().chain([&c]) {
        assert!(
            n.wait_state("c", State::Alive, WAIT).await,
            "{:?}",
            n.members()
        );
        assert!(
            n.wait_state("b", State::Alive, WAIT).await,
            "{:?}",
            n.members()
        );
    }
    let mut o = options("stale", Some(old));
    o.join_retry = JoinRetry {
        attempts: 2,
        backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(50),
    };
    let stale = lb_memberlist::driver::spawn(o).await.unwrap();
    assert!(stale.join(&[nodes[0].advertise_addr()]).await.is_err());
    assert!(nodes[0].member("stale").is_none());
    // A node without encryption has no keyring to change.
    let plain = lb_memberlist::driver::spawn(options("plain", None))
        .await
        .unwrap();
    assert!(plain.install_key(&new).await.is_err());
}

fn options_key(name: &str, key: &[u8]) -> DriverConfig {
    let mut o = options(name, None);
    o.keyring = Some(Keyring::new(key).unwrap());
    o
}

/// A port free now (UDP and TCP) below the kernel's ephemeral range (32768 and up by default),
/// so that nothing binding port 0 meanwhile (the other tests) can take it.
fn free_port_outside_the_ephemeral_range() -> u16 {
    let start = 20_000 + u16::try_from(std::process::id() % 5_000).unwrap();
    (start..30_000)
        .find(|&p| {
            std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok()
                && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
        })
        .expect("a free port")
}

#[tokio::test]
async fn join_retries_until_a_seed_is_up() {
    let a = lb_memberlist::driver::spawn(options("a", None))
        .await
        .unwrap();
    // A seed that is not listening yet: bind it later on a known port.
    let port = free_port_outside_the_ephemeral_range();
    let seed: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let seeds = [seed];
    let join = a.join(&seeds);
    let later = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut o = options("b", None);
        o.bind = seed;
        lb_memberlist::driver::spawn(o).await.unwrap()
    };
    let (joined, b) = tokio::join!(join, later);
    assert_eq!(joined.unwrap(), 1);
    assert!(b.wait_state("a", State::Alive, WAIT).await);
}

/// The user messages `events` delivers within [`WAIT`], until `want` are all seen.
async fn user_messages(
    events: &mut tokio::sync::broadcast::Receiver<lb_memberlist::Event>,
    want: &[&[u8]],
) -> Vec<Vec<u8>> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut got = Vec::new();
    while !want.iter().all(|w| got.iter().any(|g: &Vec<u8>| g == w)) {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(lb_memberlist::Event::User(p))) => got.push(p),
            Ok(Ok(_)) => {}
            other => panic!("user messages missing: got {got:?}, then {other:?}"),
        }
    }
    got
}

#[tokio::test]
async fn user_messages_reach_the_others() {
    let nodes = cluster(&["a", "b", "c"], Some([9; 16])).await;
    let mut b_events = nodes[1].events();
    let mut c_events = nodes[2].events();
    assert_eq!(
        nodes[0].send_user(None, b"hello".to_vec()).await.unwrap(),
        2
    );
    assert_eq!(
        nodes[0]
            .send_user(Some("c"), b"only c".to_vec())
            .await
            .unwrap(),
        1
    );
    user_messages(&mut c_events, &[b"hello", b"only c"]).await;
    let b_got = user_messages(&mut b_events, &[b"hello"]).await;
    assert!(!b_got.iter().any(|p| p == b"only c"));
}

#[tokio::test]
async fn ipv6_loopback() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("skipping: no IPv6 loopback");
        return;
    }
    let bind: SocketAddr = "[::1]:0".parse().unwrap();
    let a = lb_memberlist::driver::spawn(DriverConfig::new("a", bind, Config::fast()))
        .await
        .unwrap();
    let b = lb_memberlist::driver::spawn(DriverConfig::new("b", bind, Config::fast()))
        .await
        .unwrap();
    b.join(&[a.advertise_addr()]).await.unwrap();
    assert!(a.wait_state("b", State::Alive, WAIT).await);
    assert_eq!(
        a.member("b").unwrap().socket_addr(),
        Some(b.advertise_addr())
    );
    drop(b);
    assert!(a.wait_state("b", State::Dead, WAIT).await);
}

#[tokio::test]
async fn unspecified_bind_needs_an_advertise_address() {
    let bind: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let err = lb_memberlist::driver::spawn(DriverConfig::new("a", bind, Config::fast()))
        .await
        .unwrap_err();
    assert!(matches!(err, lb_memberlist::Error::NoAdvertiseAddress));
    let mut o = DriverConfig::new("a", bind, Config::fast());
    o.advertise = Some("127.0.0.1:0".parse().unwrap());
    let a = lb_memberlist::driver::spawn(o).await.unwrap();
    assert_eq!(a.advertise_addr().port(), a.local_addr().port());
    let b = lb_memberlist::driver::spawn(options("b", None))
        .await
        .unwrap();
    b.join(&[a.advertise_addr()]).await.unwrap();
    assert!(b.wait_state("a", State::Alive, WAIT).await);
}

#[tokio::test]
async fn labels_separate_clusters() {
    let labelled = |name: &str, label: &[u8]| {
        let mut o = options(name, None);
        o.label = label.to_vec();
        o.join_retry = JoinRetry {
            attempts: 1,
            ..JoinRetry::default()
        };
        o
    };
    let a = lb_memberlist::driver::spawn(labelled("a", b"blue"))
        .await
        .unwrap();
    let b = lb_memberlist::driver::spawn(labelled("b", b"blue"))
        .await
        .unwrap();
    let c = lb_memberlist::driver::spawn(labelled("c", b"green"))
        .await
        .unwrap();
    b.join(&[a.advertise_addr()]).await.unwrap();
    assert!(a.wait_state("b", State::Alive, WAIT).await);
    assert!(c.join(&[a.advertise_addr()]).await.is_err());
    assert!(a.member("c").is_none() && c.member("a").is_none());
}
