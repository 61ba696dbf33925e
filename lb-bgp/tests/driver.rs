//! The tokio driver end to end over loopback, without root: two speakers in one process (one
//! listening on 127.0.0.1, one connecting from 127.0.0.2), a session, routes both ways through
//! the advertiser, TCP MD5, and an administrative shutdown.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use lb_bgp::driver::{PeerConfig, Speaker, SpeakerConfig};
use lb_bgp::session::{DownReason, Notice, State};
use lb_bgp::{Route, SessionConfig};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

async fn wait_state(speaker: &Speaker, peer: IpAddr, want: State) {
    let mut w = speaker.watch_stats(peer).unwrap();
    tokio::time::timeout(Duration::from_secs(10), w.wait_for(|s| s.state == want))
        .await
        .unwrap_or_else(|_| panic!("{peer} never reached {want}"))
        .unwrap();
}

/// A listening speaker on 127.0.0.1:<free port> and an active one on 127.0.0.2 peering with it.
async fn pair(password: (Option<&str>, Option<&str>)) -> (Speaker, Speaker, IpAddr, IpAddr) {
    let (a_ip, b_ip) = (ip("127.0.0.1"), ip("127.0.0.2"));
    let a = lb_bgp::driver::spawn(SpeakerConfig {
        listen: Some(SocketAddr::new(a_ip, 0)),
        ..SpeakerConfig::default()
    })
    .await
    .unwrap();
    let port = a.local_addr().unwrap().port();
    let b = lb_bgp::driver::spawn(SpeakerConfig {
        listen: None,
        ..SpeakerConfig::default()
    })
    .await
    .unwrap();
    let mut ca = SessionConfig::new(64500, 64512, "192.0.2.1".parse().unwrap());
    ca.passive = true;
    ca.hold_time = 9;
    let mut sa = PeerConfig::new(b_ip, ca);
    sa.md5_password = password.0.map(str::to_string);
    a.add_peer(sa).unwrap();
    let mut cb = SessionConfig::new(64512, 64500, "192.0.2.2".parse().unwrap());
    cb.hold_time = 9;
    cb.connect_retry = Duration::from_millis(200);
    cb.connect_retry_max = Duration::from_millis(400);
    // The session runs over IPv4: IPv6 routes need an IPv6 next hop of their own.
    cb.next_hop_v6 = Some("2001:db8:1::2".parse().unwrap());
    let mut sb = PeerConfig::new(a_ip, cb);
    sb.port = port;
    sb.source = Some(b_ip);
    sb.md5_password = password.1.map(str::to_string);
    b.add_peer(sb).unwrap();
    (a, b, a_ip, b_ip)
}

#[tokio::test]
async fn session_routes_and_shutdown_over_loopback() {
    let (a, b, a_ip, b_ip) = pair((None, None)).await;
    let mut events = a.events();
    wait_state(&a, b_ip, State::Established).await;
    wait_state(&b, a_ip, State::Established).await;

    let routes: Vec<Route> = (1..=500u32)
        .map(|i| Route::new(format!("2001:db8:100::{i:x}/128").parse().unwrap()))
        .chain((0..=255u32).map(|i| Route::new(format!("198.51.100.{i}/32").parse().unwrap())))
        .collect();
    b.set_routes(a_ip, routes).unwrap();
    let mut w = a.watch_stats(b_ip).unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        w.wait_for(|s| s.prefixes_received == 756),
    )
    .await
    .unwrap_or_else(|_| panic!("A received only {:?}", a.stats(b_ip)))
    .unwrap();
    assert_eq!(b.stats(a_ip).unwrap().prefixes_sent, 756);

    // The events A saw: state changes ending in Established, then routes.
    let mut established = false;
    while let Ok(e) = events.try_recv() {
        assert_eq!(e.peer, b_ip);
        if matches!(e.kind, Notice::Established(_)) {
            established = true;
        }
    }
    assert!(established);

    b.remove_peer(a_ip, "maintenance").await.unwrap();
    let mut w = a.watch_stats(b_ip).unwrap();
    let s = tokio::time::timeout(
        Duration::from_secs(10),
        w.wait_for(|s| s.state != State::Established),
    )
    .await
    .expect("A saw the session end")
    .unwrap()
    .clone();
    assert!(
        matches!(s.last_error, Some(DownReason::NotificationReceived(_))),
        "{s:?}"
    );
    assert_eq!(s.prefixes_received, 0);
    a.shutdown().await;
}

#[tokio::test]
async fn md5_passwords_must_match() {
    let (a, b, a_ip, b_ip) = pair((Some("s3cret"), Some("s3cret"))).await;
    wait_state(&a, b_ip, State::Established).await;
    wait_state(&b, a_ip, State::Established).await;
    a.shutdown().await;
    b.shutdown().await;

    let (a, b, a_ip, b_ip) = pair((Some("s3cret"), Some("wrong"))).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_ne!(a.stats(b_ip).unwrap().state, State::Established);
    assert_ne!(b.stats(a_ip).unwrap().state, State::Established);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn dropping_the_speaker_closes_the_listener_and_notifies_peers() {
    let (a, b, a_ip, b_ip) = pair((None, None)).await;
    wait_state(&a, b_ip, State::Established).await;
    let addr = a.local_addr().unwrap();
    drop(a);
    let mut w = b.watch_stats(a_ip).unwrap();
    let s = tokio::time::timeout(
        Duration::from_secs(10),
        w.wait_for(|s| s.state != State::Established),
    )
    .await
    .expect("B saw the session end")
    .unwrap()
    .clone();
    assert!(
        matches!(s.last_error, Some(DownReason::NotificationReceived(_))),
        "{s:?}"
    );
    // The listening socket is gone: a new listener can take the same address.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = lb_bgp::driver::spawn(SpeakerConfig {
        listen: Some(addr),
        ..SpeakerConfig::default()
    })
    .await;
    assert!(again.is_ok(), "{:?}", again.err());
    b.shutdown().await;
}

/// The BFD coupling through the driver: held down, B ends the session with Cease / BFD Down
/// and A loses B's routes; B stays away (A is passive, B would reconnect within 400 ms
/// otherwise); released, it comes back with its routes.
#[tokio::test]
async fn hold_down_and_release() {
    let (a, b, a_ip, b_ip) = pair((None, None)).await;
    wait_state(&a, b_ip, State::Established).await;
    b.set_routes(a_ip, [Route::new("198.51.100.7/32".parse().unwrap())])
        .unwrap();
    let mut w = a.watch_stats(b_ip).unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        w.wait_for(|s| s.prefixes_received == 1),
    )
    .await
    .unwrap()
    .unwrap();
    b.hold_down(a_ip).unwrap();
    let s = tokio::time::timeout(
        Duration::from_secs(10),
        w.wait_for(|s| s.state != State::Established),
    )
    .await
    .expect("A saw the session end")
    .unwrap()
    .clone();
    match &s.last_error {
        Some(DownReason::NotificationReceived(n)) => assert_eq!((n.code, n.subcode), (6, 10)),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.prefixes_received, 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(b.stats(a_ip).unwrap().state, State::Idle);
    assert_ne!(a.stats(b_ip).unwrap().state, State::Established);
    b.release(a_ip).unwrap();
    wait_state(&a, b_ip, State::Established).await;
    let mut w = a.watch_stats(b_ip).unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        w.wait_for(|s| s.prefixes_received == 1),
    )
    .await
    .unwrap()
    .unwrap();
    a.shutdown().await;
    b.shutdown().await;
}
