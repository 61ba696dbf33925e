//! The driver leaves nothing behind: after `Handle::shutdown` and the runtime's end, its
//! reader threads are gone. In its own test binary, so no other test's driver runs meanwhile.

use lb_lab::l2 as lab;

use std::time::Duration;

use lab::Lab;

/// Threads of this process named like the driver's reader threads.
fn reader_threads() -> usize {
    lb_lab::net::threads_named("arp-rx-")
}

#[test]
fn shutdown_ends_the_reader_threads() {
    let Some(lab) = Lab::up("s1", &[]) else {
        return;
    };
    let path = lab.netns_path("node1");
    let running = lb_lab::net::block_on_in_netns(path, || async {
        let config = lb_lab::l2_scenarios::config::<lb_arp::Arp>();
        let handle = lb_arp::driver::spawn(config).await.expect("driver starts");
        handle
            .announce("192.0.2.100".parse().expect("literal"))
            .expect("announce");
        // Threads name themselves once they run: give them a moment. There is one reader
        // per CPU (a PACKET_FANOUT_CPU group), or a single one where that is unavailable.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let running = Lab::wait_for(Duration::from_secs(2), || reader_threads() == cpus);
        handle.shutdown().await;
        running
    })
    .join()
    .expect("driver thread");
    assert!(running, "one reader thread per CPU for eth0 while running");
    assert!(
        Lab::wait_for(Duration::from_secs(2), || reader_threads() == 0),
        "{} reader threads left",
        reader_threads()
    );
}
