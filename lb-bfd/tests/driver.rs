//! Two drivers in one process over loopback (IPv4 and IPv6), on ports of their own: sessions
//! come Up with the negotiated intervals, an AdminDown from one side brings the other Down
//! (diagnostic 3), and a side that vanishes is detected (diagnostic 1). Deadlines are generous
//! failure bounds, not measurements.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::Duration;

use lb_bfd::driver::{Bfd, BfdEvent, DriverConfig, PeerSettings};
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
    let a = Bfd::new(config(base)).await.unwrap();
    let b = Bfd::new(config(base + 10)).await.unwrap();
    let mut ea = a.subscribe();
    let mut eb = b.subscribe();
    let settings = |port: u16, s: SessionConfig| {
        let mut p = if multi {
            PeerSettings::multi_hop(ip, 254, s)
        } else {
            PeerSettings::single_hop(ip, s)
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
    b.set_admin_down(ip, true).unwrap();
    let e = wait_for(&mut ea, State::Down).await;
    assert_eq!(e.diagnostic, Diagnostic::NeighborSignaledSessionDown);
    b.set_admin_down(ip, false).unwrap();
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
