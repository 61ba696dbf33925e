//! A dual-stack speaker is one process running the ARP and the NDP driver on the same
//! interfaces: each must get its own `PACKET_FANOUT` group, so both have one reader per CPU
//! (a shared group id made the second join fail with EINVAL and fall back to one unpinned
//! reader). In its own test binary, so no other test's driver threads are counted.

use lb_lab::l2 as lab;

use std::time::Duration;

use lab::Lab;

use lb_lab::net::threads_named as threads;

#[test]
fn arp_and_ndp_in_one_process_each_get_per_cpu_readers() {
    let Some(lab) = Lab::up("d1", &["arping", "ndisc6"]) else {
        return;
    };
    lab.accept_vip("node1", "192.0.2.100");
    lab.accept_vip("node1", "2001:db8:1::100");
    let path = lab.netns_path("node1");
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let driver = lb_lab::net::block_on_in_netns(path, || async move {
        use lb_lab::l2_scenarios::config;
        let a = lb_arp::driver::spawn(config::<lb_arp::Arp>())
            .await
            .expect("ARP driver");
        let n = lb_ndp::driver::spawn(config::<lb_ndp::Ndp>())
            .await
            .expect("NDP driver");
        a.announce("192.0.2.100".parse().expect("literal"))
            .expect("announce");
        n.announce("2001:db8:1::100".parse().expect("literal"))
            .expect("announce");
        tx.send(()).expect("ready");
        while stop_rx.try_recv().is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        a.shutdown().await;
        n.shutdown().await;
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("drivers up");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Threads name themselves once they run: give them a moment.
    let both = Lab::wait_for(Duration::from_secs(2), || {
        threads("arp-rx-") == cpus && threads("ndp-rx-") == cpus
    });
    let counts = (threads("arp-rx-"), threads("ndp-rx-"));
    // Both still answer.
    let arp_mac = lab.arping("client", "192.0.2.100");
    let ndp_mac = lab.ndisc6("client", "2001:db8:1::100");
    let _ = stop_tx.send(());
    driver.join().expect("driver thread");
    assert!(
        both,
        "reader threads (ARP, NDP) {counts:?}, want {cpus} each"
    );
    assert_eq!(arp_mac, Some(lab::mac("node1")));
    assert_eq!(ndp_mac, Some(lab::mac("node1")));
}
