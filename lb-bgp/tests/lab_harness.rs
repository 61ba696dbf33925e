//! Checks the lab itself (`lab/mod.rs`) without our speaker: GoBGP announces routes with
//! communities to BIRD and to FRR, and the RIB parsers of all three daemons read them back.
//!
//! Needs root, `ip`, BIRD 2, FRR and GoBGP; skips without them unless `LB_LAB=required`.
#![allow(clippy::unwrap_used)]

use lb_lab::bgp as lab;

use std::time::Duration;

use lab::{Daemon, DaemonConfig, Kind, Lab, Neighbor, ip4, ip6};

#[test]
fn gobgp_to_bird_and_frr() {
    let Some(lab) = Lab::up("h", &["bird", "birdc", "vtysh", "gobgpd", "gobgp"]) else {
        return;
    };
    let bird = Daemon::start(
        &lab,
        DaemonConfig::new(Kind::Bird, "router", 64500)
            .neighbor(Neighbor::new(ip4("node1"), 64512).passive())
            .neighbor(Neighbor::new(ip6("node1"), 64512).passive()),
    );
    let frr = Daemon::start(
        &lab,
        DaemonConfig::new(Kind::Frr, "node2", 64512)
            .neighbor(Neighbor::new(ip4("node1"), 64512).passive()),
    );
    let gobgp = Daemon::start(
        &lab,
        DaemonConfig::new(Kind::Gobgp, "node1", 64512)
            .neighbor(Neighbor::new(ip4("router"), 64500))
            .neighbor(Neighbor::new(ip6("router"), 64500))
            .neighbor(Neighbor::new(ip4("node2"), 64512)),
    );
    let nh4 = ip4("node1").to_string();
    let nh6 = ip6("node1").to_string();
    gobgp
        .gobgp(&[
            "global",
            "rib",
            "-a",
            "ipv4",
            "add",
            "198.51.100.7/32",
            "origin",
            "igp",
            "nexthop",
            &nh4,
            "community",
            "64500:100,65535:0",
            "large-community",
            "64500:1:2",
        ])
        .expect("gobgp add v4");
    gobgp
        .gobgp(&[
            "global",
            "rib",
            "-a",
            "ipv6",
            "add",
            "2001:db8:100::7/128",
            "origin",
            "igp",
            "nexthop",
            &nh6,
            "community",
            "64500:200",
            "large-community",
            "64500:3:4",
        ])
        .expect("gobgp add v6");
    let own = gobgp.routes();
    assert_eq!(own.len(), 2, "{own:?}");
    assert!(
        own.iter()
            .any(|r| r.communities == [(64500, 100), (65535, 0)]),
        "{own:?}"
    );

    bird.wait_established(ip4("node1"), Duration::from_secs(20));
    bird.wait_established(ip6("node1"), Duration::from_secs(20));
    frr.wait_established(ip4("node1"), Duration::from_secs(20));
    lab::wait_until(
        "BIRD has both routes",
        Duration::from_secs(10),
        || bird.route_count(),
        |n| *n == 2,
    );
    let rib = bird.rib();
    let r4 = &rib[&"198.51.100.7/32".parse().unwrap()][0];
    assert_eq!(r4.next_hop, Some(ip4("node1")));
    assert_eq!(r4.communities, [(64500, 100), (65535, 0)]);
    assert_eq!(r4.large_communities, [(64500, 1, 2)]);
    let r6 = &rib[&"2001:db8:100::7/128".parse().unwrap()][0];
    assert_eq!(r6.next_hop, Some(ip6("node1")));
    assert_eq!(r6.communities, [(64500, 200)]);
    assert_eq!(r6.large_communities, [(64500, 3, 4)]);

    lab::wait_until(
        "FRR has the v4 route",
        Duration::from_secs(10),
        || frr.route_count(),
        |n| *n == 1,
    );
    let routes = frr.routes();
    assert_eq!(routes.len(), 1, "{routes:?}");
    assert_eq!(routes[0].next_hop, Some(ip4("node1")));
    assert_eq!(routes[0].communities, [(64500, 100), (65535, 0)]);
    assert_eq!(routes[0].large_communities, [(64500, 1, 2)]);
    assert_eq!(routes[0].local_pref, Some(100));
}
