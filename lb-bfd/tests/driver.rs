//! Two drivers in one process over loopback (IPv4 and IPv6), on ports of their own: sessions
//! come Up with the negotiated intervals, an AdminDown from one side brings the other Down
//! (diagnostic 3), and a side that vanishes is detected (diagnostic 1). Deadlines are generous
//! failure bounds, not measurements.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::Duration;

use lb_bfd::driver::{BfdEvent, DriverConfig, PeerConfig};
use lb_bfd::session::SessionConfig;
use lb_bfd::wire::{Diagnostic, State};
use tokio::sync::broadcast;

fn config(port: u16) -> DriverConfig {
    DriverConfig {
        single_hop_port: port,
        multi_hop_port: port + 1,
        event_capacity: 64,
    }
}

fn session(tx_ms: u64, rx_ms: u64, mult: u8) -> SessionConfig {
    SessionConfig {
        desired_min_tx: Duration::from_millis(tx_ms),
        required_min_rx: Duration::from_millis(rx_ms),
        detect_mult: mult,
        ..SessionConfig::default()
    }
}

async fn wait_for(events: &mut broadcast::Receiver<BfdEvent>, to: State) -> BfdEvent {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let e = events.recv().await.unwrap();
            if e.to == to {
                return e;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no transition to {to:?}"))
}

async fn pair(ip: IpAddr, base: u16, multi: bool) {
    let a = lb_bfd::driver::spawn(config(base)).await.unwrap();
    let b = lb_bfd::driver::spawn(config(base + 10)).await.unwrap();
    let mut ea = a.events();
    let mut eb = b.events();
    let settings = |port: u16, s: SessionConfig| {
        let mut p = if multi {
            PeerConfig::multi_hop(ip, 254, s)
        } else {
            PeerConfig::single_hop(ip, s)
        };
        p.remote_port = Some(port);
        p
    };
    a.add_peer(settings(base + 10 + u16::from(multi), session(50, 200, 3)))
        .await
        .unwrap();
    b.add_peer(settings(base + u16::from(multi), session(100, 80, 4)))
        .await
        .unwrap();
    wait_for(&mut ea, State::Up).await;
    wait_for(&mut eb, State::Up).await;
    // Let the Poll Sequences finish.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sa = a.status(ip).unwrap();
    let sb = b.status(ip).unwrap();
    assert_eq!(sa.tx_interval, Duration::from_millis(80));
    assert_eq!(sb.tx_interval, Duration::from_millis(200));
    assert_eq!(sa.detection_time, Some(Duration::from_millis(800)));
    assert_eq!(sb.detection_time, Some(Duration::from_millis(240)));
    // AdminDown on B: A goes Down, told by its neighbour.
    b.admin_down(ip).unwrap();
    let e = wait_for(&mut ea, State::Down).await;
    assert_eq!(e.diagnostic, Diagnostic::NeighborSignaledSessionDown);
    b.admin_up(ip).unwrap();
    wait_for(&mut ea, State::Up).await;
    // B vanishes without a word: A's detection time runs out.
    drop(eb);
    drop(b);
    let e = wait_for(&mut ea, State::Down).await;
    assert_eq!(e.diagnostic, Diagnostic::ControlDetectionTimeExpired);
    a.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
async fn loopback_v4_single_hop() {
    pair("127.0.0.1".parse().unwrap(), 41000, false).await;
}

#[tokio::test(flavor = "current_thread")]
async fn loopback_v6_single_hop() {
    pair("::1".parse().unwrap(), 41100, false).await;
}

#[tokio::test(flavor = "current_thread")]
async fn loopback_v4_multihop() {
    pair("127.0.0.1".parse().unwrap(), 41200, true).await;
}

#[tokio::test(flavor = "current_thread")]
async fn loopback_v6_multihop() {
    pair("::1".parse().unwrap(), 41300, true).await;
}

/// A Down packet from `from` with TTL `ttl` to `port`.
fn send_down(from: &str, ttl: u32, port: u16) {
    use lb_bfd::wire::{Diagnostic, Repr};
    let s = std::net::UdpSocket::bind((from, 0)).unwrap();
    s.set_ttl(ttl).unwrap();
    let r = Repr {
        diagnostic: Diagnostic::None,
        state: State::Down,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: 5,
        your_discriminator: 0,
        desired_min_tx: 1_000_000,
        required_min_rx: 1_000_000,
        required_min_echo_rx: 0,
        auth: None,
    };
    let (b, n) = r.to_bytes();
    s.send_to(&b[..n], ("127.0.0.1", port)).unwrap();
}

/// RFC 5881 §5: a single-hop packet must arrive with TTL 255; RFC 5883: a multihop packet
/// with at least the minimum TTL; and each kind only on its own port.
#[tokio::test(flavor = "current_thread")]
async fn ttl_and_port_are_checked() {
    let d = lb_bfd::driver::spawn(config(41400)).await.unwrap();
    let mut passive = session(100, 100, 3);
    passive.passive = true;
    let mut single = PeerConfig::single_hop("127.0.0.2".parse().unwrap(), passive.clone());
    single.remote_port = Some(41499);
    d.add_peer(single).await.unwrap();
    let mut multi = PeerConfig::multi_hop("127.0.0.3".parse().unwrap(), 250, passive);
    multi.remote_port = Some(41499);
    d.add_peer(multi).await.unwrap();
    let heard = |peer: &str| d.status(peer.parse().unwrap()).unwrap().stats.packets_in;
    let settle = || tokio::time::sleep(Duration::from_millis(200));

    send_down("127.0.0.2", 254, 41400);
    send_down("127.0.0.2", 255, 41401); // the multihop port
    settle().await;
    assert_eq!(heard("127.0.0.2"), 0);
    send_down("127.0.0.2", 255, 41400);
    settle().await;
    assert_eq!(heard("127.0.0.2"), 1);
    assert_eq!(
        d.status("127.0.0.2".parse().unwrap()).unwrap().state,
        State::Init
    );

    send_down("127.0.0.3", 249, 41401);
    send_down("127.0.0.3", 255, 41400); // the single-hop port
    settle().await;
    assert_eq!(heard("127.0.0.3"), 0);
    send_down("127.0.0.3", 250, 41401);
    settle().await;
    assert_eq!(heard("127.0.0.3"), 1);
    d.shutdown().await;
}
