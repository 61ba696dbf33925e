//! Interop of our speaker (`lb_bgp::driver` over the session core) with BIRD 2, FRR and GoBGP
//! in the network-namespace lab (`lab/mod.rs`): sessions over IPv4 and IPv6 in both roles,
//! 1,000 IPv4 and 1,000 IPv6 routes with their attributes, daemon restart, withdrawal, TCP MD5,
//! hold timer expiry against a frozen daemon, ECMP through BIRD with a client reaching both
//! speakers, and a drain with the GRACEFUL_SHUTDOWN community.
//!
//! Needs root, `ip` and the daemons; skips with a message without them, and fails instead
//! when `LB_LAB=required` (as `.ci/run` sets).
#![allow(clippy::unwrap_used)]

use lb_lab::bgp as lab;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use lab::{Daemon, DaemonConfig, Kind, Lab, Neighbor, Ours, ip, ip4, ip6};
use lb_bgp::session::{DownReason, State};

const ROUTER_AS: u32 = 64500;
const NODE_AS: u32 = 64512;
const N: usize = 1000;
const UP: Duration = Duration::from_secs(30);

fn lab_for(kind: Kind, tag: &str) -> Option<Lab> {
    let mut tools = kind.tools().to_vec();
    tools.push("tcpdump");
    Lab::up(&format!("{}{tag}", &kind.name()[..2]), &tools)
}

/// The four sessions, one per family and role:
/// node1 (iBGP): IPv4 we connect, IPv6 the daemon connects;
/// node2 (eBGP): IPv4 the daemon connects, IPv6 we connect.
fn four_sessions(lab: &Lab, kind: Kind) -> (Daemon, Ours, Ours) {
    let router = Daemon::start(
        lab,
        DaemonConfig::new(kind, "router", ROUTER_AS)
            .neighbor(Neighbor::new(ip4("node1"), ROUTER_AS).passive())
            .neighbor(Neighbor::new(ip6("node1"), ROUTER_AS))
            .neighbor(Neighbor::new(ip4("node2"), NODE_AS))
            .neighbor(Neighbor::new(ip6("node2"), NODE_AS).passive()),
    );
    let n1 = Ours::start(lab, "node1");
    n1.add(ip4("router"), ROUTER_AS, ROUTER_AS, false, 9, None);
    n1.add(ip6("router"), ROUTER_AS, ROUTER_AS, true, 9, None);
    let n2 = Ours::start(lab, "node2");
    n2.add(ip4("router"), NODE_AS, ROUTER_AS, true, 9, None);
    n2.add(ip6("router"), NODE_AS, ROUTER_AS, false, 9, None);
    (router, n1, n2)
}

fn all_established(router: &Daemon, n1: &Ours, n2: &Ours) {
    for (ours, host) in [(n1, "node1"), (n2, "node2")] {
        for v6 in [false, true] {
            router.wait_established(ip(host, v6), UP);
            ours.wait_established(ip("router", v6), UP);
        }
    }
}

/// Checks that the daemon holds exactly `prefixes` from `host` over the `v6` session, with our
/// attributes.
fn check_routes(router: &Daemon, host: &str, v6: bool, prefixes: &[IpNet], ibgp: bool) {
    let nh = ip(host, v6);
    let got: Vec<_> = router
        .routes()
        .into_iter()
        .filter(|r| r.next_hop == Some(nh) && r.prefix.addr().is_ipv6() == v6)
        .collect();
    let set: BTreeSet<IpNet> = got.iter().map(|r| r.prefix).collect();
    let want: BTreeSet<IpNet> = prefixes.iter().copied().collect();
    assert_eq!(
        set,
        want,
        "{} RIB from {host} (v6: {v6})",
        router.config.kind.name()
    );
    assert_eq!(got.len(), prefixes.len());
    for r in &got {
        assert!(r.communities.contains(&(64500, 100)), "{r:?}");
        assert!(r.large_communities.contains(&(64500, 1, 2)), "{r:?}");
        if ibgp {
            assert_eq!(r.local_pref, Some(200), "{r:?}");
        }
    }
}

fn routes_scenario(kind: Kind) {
    let Some(lab) = lab_for(kind, "r") else {
        return;
    };
    let (mut router, n1, n2) = four_sessions(&lab, kind);
    all_established(&router, &n1, &n2);

    let v4 = lab::v4_prefixes(N);
    let v6 = lab::v6_prefixes(N);
    let ibgp = lab::test_attributes(Some(200));
    let ebgp = lab::test_attributes(None);
    let announce = || {
        n1.speaker
            .set_routes(ip4("router"), lab::routes(&v4, &ibgp))
            .unwrap();
        n1.speaker
            .set_routes(ip6("router"), lab::routes(&v6, &ibgp))
            .unwrap();
        n2.speaker
            .set_routes(ip4("router"), lab::routes(&v4, &ebgp))
            .unwrap();
        n2.speaker
            .set_routes(ip6("router"), lab::routes(&v6, &ebgp))
            .unwrap();
    };
    announce();
    let what = format!("{} holds 4 x {N} routes", kind.name());
    lab::wait_until(&what, UP, || router.route_count(), |n| *n == 4 * N);
    for (host, ibgp) in [("node1", true), ("node2", false)] {
        check_routes(&router, host, false, &v4, ibgp);
        check_routes(&router, host, true, &v6, ibgp);
    }
    let s = n1.speaker.stats(ip4("router")).unwrap();
    assert_eq!(s.prefixes_sent, N, "{s:?}");
    assert!(s.messages_sent.update >= 1, "{s:?}");

    // The daemon restarts: the sessions come back and so do the routes.
    router.restart(&lab);
    all_established(&router, &n1, &n2);
    let what = format!(
        "{} holds 4 x {N} routes again after its restart",
        kind.name()
    );
    lab::wait_until(&what, UP, || router.route_count(), |n| *n == 4 * N);
    check_routes(&router, "node1", false, &v4, true);
    check_routes(&router, "node2", true, &v6, false);

    // Withdrawing everything empties the daemon's RIB.
    for (ours, v6) in [(&n1, false), (&n1, true), (&n2, false), (&n2, true)] {
        ours.speaker.set_routes(ip("router", v6), []).unwrap();
    }
    let what = format!("{} has no routes left", kind.name());
    lab::wait_until(&what, UP, || router.route_count(), |n| *n == 0);
    assert!(router.routes().is_empty());
}

#[test]
fn bird_sessions_routes_restart_withdraw() {
    routes_scenario(Kind::Bird);
}

#[test]
fn frr_sessions_routes_restart_withdraw() {
    routes_scenario(Kind::Frr);
}

#[test]
fn gobgp_sessions_routes_restart_withdraw() {
    routes_scenario(Kind::Gobgp);
}

/// A wrong MD5 password keeps all four sessions down (node1: we connect over IPv4, the daemon
/// connects to our dual-stack listener over IPv6; node2 the other way round, so the listener's
/// key for an IPv4 peer is the v4-mapped one); the right one brings them up.
fn md5_scenario(kind: Kind) {
    let Some(lab) = lab_for(kind, "m") else {
        return;
    };
    // (host, family, we connect)
    let sessions = [
        ("node1", false, true),
        ("node1", true, false),
        ("node2", false, false),
        ("node2", true, true),
    ];
    let mut config = DaemonConfig::new(kind, "router", ROUTER_AS);
    for (host, v6, we_connect) in sessions {
        let mut n = Neighbor::new(ip(host, v6), NODE_AS).password("s3cret");
        n.passive = we_connect;
        config = config.neighbor(n);
    }
    let router = Daemon::start(&lab, config);
    let ours = [Ours::start(&lab, "node1"), Ours::start(&lab, "node2")];
    let of = |host: &str| &ours[usize::from(host == "node2")];
    for (host, v6, we_connect) in sessions {
        of(host).add(
            ip("router", v6),
            NODE_AS,
            ROUTER_AS,
            !we_connect,
            9,
            Some("wrong"),
        );
    }
    // Long enough for several connect attempts each way (GoBGP retries every 5 s).
    let end = Instant::now() + Duration::from_secs(7);
    while Instant::now() < end {
        for (host, v6, _) in sessions {
            assert_ne!(
                of(host).state(ip("router", v6)),
                State::Established,
                "wrong password, yet up"
            );
            assert!(!router.established(ip(host, v6)), "wrong password, yet up");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    for (host, v6, we_connect) in sessions {
        of(host).remove(ip("router", v6));
        of(host).add(
            ip("router", v6),
            NODE_AS,
            ROUTER_AS,
            !we_connect,
            9,
            Some("s3cret"),
        );
    }
    for (host, v6, _) in sessions {
        router.wait_established(ip(host, v6), UP);
        of(host).wait_established(ip("router", v6), UP);
    }
}

#[test]
fn bird_md5() {
    md5_scenario(Kind::Bird);
}

#[test]
fn frr_md5() {
    md5_scenario(Kind::Frr);
}

#[test]
fn gobgp_md5() {
    md5_scenario(Kind::Gobgp);
}

/// SIGSTOP on the daemon: our hold timer (3 s) expires, we send NOTIFICATION 4/0 (seen on the
/// wire by a capture in the daemon's namespace, and in our stats) and report it; after SIGCONT
/// the session comes back. (BIRD and GoBGP read our NOTIFICATION after SIGCONT; FRR runs its
/// own expired hold timer first and never reads it, hence the capture.)
fn hold_scenario(kind: Kind) {
    let Some(lab) = lab_for(kind, "h") else {
        return;
    };
    let router = Daemon::start(
        &lab,
        DaemonConfig::new(kind, "router", ROUTER_AS)
            .neighbor(Neighbor::new(ip4("node1"), NODE_AS).passive()),
    );
    let n1 = Ours::start(&lab, "node1");
    let peer = ip4("router");
    n1.add(peer, NODE_AS, ROUTER_AS, false, 3, None);
    n1.wait_established(peer, UP);
    router.wait_established(ip4("node1"), UP);
    let mut capture = lab::Capture::start(&lab, "router", "hold", "tcp port 179");
    router.freeze();
    let stats = lab::wait_until(
        "our hold timer to expire",
        Duration::from_secs(15),
        || n1.speaker.stats(peer).unwrap(),
        |s| s.last_error == Some(DownReason::HoldTimerExpired),
    );
    assert!(stats.messages_sent.notification >= 1, "{stats:?}");
    assert_ne!(stats.state, State::Established);
    // Let the NOTIFICATION cross the LAN before the capture stops: the stats change when the
    // session decides, the driver writes a moment later, which on a loaded machine can be
    // longer than a fixed pause.
    lab::wait_for(Duration::from_secs(10), || {
        lab::pcap_has_notification(&capture.so_far(), 4, 0)
    });
    let pcap = capture.stop();
    assert!(
        lab::pcap_has_notification(&pcap, 4, 0),
        "no NOTIFICATION 4/0 (Hold Timer Expired) from us in the capture"
    );
    router.thaw();
    if kind == Kind::Bird {
        let seen = lab::wait_for(Duration::from_secs(10), || {
            router.log().contains("Received: Hold timer expired")
        });
        assert!(seen, "BIRD did not log our NOTIFICATION:\n{}", router.log());
    }
    n1.wait_established(peer, UP);
    router.wait_established(ip4("node1"), UP);
}

#[test]
fn bird_hold_timer_expiry() {
    hold_scenario(Kind::Bird);
}

#[test]
fn frr_hold_timer_expiry() {
    hold_scenario(Kind::Frr);
}

#[test]
fn gobgp_hold_timer_expiry() {
    hold_scenario(Kind::Gobgp);
}

/// Two speakers announce the same VIP: BIRD installs an ECMP route and the client reaches
/// both. Then one drains: BIRD shows its route with GRACEFUL_SHUTDOWN before the withdrawal,
/// and traffic goes to the other alone.
#[test]
fn bird_ecmp_and_drain() {
    let Some(lab) = lab_for(Kind::Bird, "e") else {
        return;
    };
    let mut config = DaemonConfig::new(Kind::Bird, "router", ROUTER_AS)
        .neighbor(Neighbor::new(ip4("node1"), NODE_AS).passive())
        .neighbor(Neighbor::new(ip4("node2"), NODE_AS).passive());
    config.kernel = true;
    let router = Daemon::start(&lab, config);
    let vip: IpAddr = "198.51.100.100".parse().unwrap();
    let prefix = IpNet::new(vip, 32).unwrap();
    let peer = ip4("router");
    let n1 = Ours::start(&lab, "node1");
    let n2 = Ours::start(&lab, "node2");
    for (ours, reply) in [(&n1, "node1"), (&n2, "node2")] {
        lab.add_vip(&ours.host, vip);
        lab::tcp_server(&lab, &ours.host, reply, 60);
        ours.add(peer, NODE_AS, ROUTER_AS, false, 9, None);
        ours.speaker
            .set_routes(peer, [lb_bgp::Route::new(prefix)])
            .unwrap();
    }
    lab::wait_until(
        "an ECMP route to the VIP in the router's kernel",
        UP,
        || lab.kernel_route("router", vip),
        |r| r.contains("via 192.0.2.11") && r.contains("via 192.0.2.12"),
    );
    let paths = router.rib().remove(&prefix).unwrap_or_default();
    let hops: BTreeSet<_> = paths.iter().filter_map(|r| r.next_hop).collect();
    assert_eq!(
        hops,
        BTreeSet::from([ip4("node1"), ip4("node2")]),
        "{paths:?}"
    );
    let mut seen = BTreeSet::new();
    for _ in 0..40 {
        if let Some(r) = lab::tcp_get(&lab, "client", vip) {
            seen.insert(r);
        }
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(
        seen,
        BTreeSet::from(["node1".to_string(), "node2".to_string()])
    );

    // Drain node1: its path first carries GRACEFUL_SHUTDOWN, then it goes away.
    n1.speaker.drain(peer, Duration::from_secs(3)).unwrap();
    let from_node1 = |router: &Daemon| {
        router
            .routes()
            .into_iter()
            .find(|r| r.prefix == prefix && r.next_hop == Some(ip4("node1")))
    };
    lab::wait_until(
        "node1's VIP route with GRACEFUL_SHUTDOWN in BIRD",
        UP,
        || from_node1(&router),
        |r| {
            r.as_ref()
                .is_some_and(|r| r.communities.contains(&(65535, 0)))
        },
    );
    lab::wait_until(
        "node1's VIP route withdrawn",
        UP,
        || from_node1(&router),
        Option::is_none,
    );
    lab::wait_until(
        "the kernel route to the VIP via node2 alone",
        UP,
        || lab.kernel_route("router", vip),
        |r| r.contains("via 192.0.2.12") && !r.contains("192.0.2.11"),
    );
    for _ in 0..5 {
        assert_eq!(lab::tcp_get(&lab, "client", vip).as_deref(), Some("node2"));
    }
}

/// Graceful restart (RFC 4724) with BIRD as the receiving speaker: our speaker advertises the
/// capability, then crashes (connections close, no NOTIFICATION). BIRD keeps our routes while we
/// are away; the restarted speaker (Restart State bit set) announces half of them, and at our
/// End-of-RIB BIRD flushes the stale other half.
#[test]
fn bird_graceful_restart() {
    let Some(lab) = lab_for(Kind::Bird, "g") else {
        return;
    };
    let router = Daemon::start(
        &lab,
        DaemonConfig::new(Kind::Bird, "router", ROUTER_AS)
            .neighbor(Neighbor::new(ip4("node1"), NODE_AS).passive()),
    );
    let peer = ip4("router");
    let config = |restarting: bool| {
        let mut c = lab::peer_config("node1", NODE_AS, ROUTER_AS, peer, 9);
        c.graceful_restart = Some(lb_bgp::session::GracefulRestart {
            restart_time: 60,
            restarting,
            forwarding_preserved: true,
        });
        c
    };
    let prefixes = lab::v4_prefixes(100);
    let attrs = lab::test_attributes(None);
    let n1 = Ours::start(&lab, "node1");
    n1.add_config(peer, config(false));
    n1.speaker
        .set_routes(peer, lab::routes(&prefixes, &attrs))
        .unwrap();
    lab::wait_until(
        "BIRD has our 100 routes",
        UP,
        || router.route_count(),
        |n| *n == 100,
    );

    n1.crash();
    lab::wait_until(
        "BIRD sees the session drop",
        UP,
        || router.state(ip4("node1")),
        |s| !s.eq_ignore_ascii_case("established"),
    );
    // Without graceful restart BIRD would drop the routes at once.
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        assert_eq!(
            router.route_count(),
            100,
            "BIRD flushed our routes during the restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let n1 = Ours::start(&lab, "node1");
    n1.add_config(peer, config(true));
    n1.speaker
        .set_routes(peer, lab::routes(&prefixes[..50], &attrs))
        .unwrap();
    n1.wait_established(peer, UP);
    lab::wait_until(
        "BIRD keeps the 50 re-announced routes and flushes the stale rest",
        UP,
        || router.route_count(),
        |n| *n == 50,
    );
    let have: BTreeSet<IpNet> = router.routes().iter().map(|r| r.prefix).collect();
    assert_eq!(have, prefixes[..50].iter().copied().collect());
}
