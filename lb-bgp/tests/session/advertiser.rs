//! The route advertiser between two sessions: initial dump and End-of-RIB, diffs, packing,
//! iBGP / eBGP attributes, resend after re-establishment, route refresh, drain, next hops.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use lb_bgp::session::{GracefulRestart, Notice, Output, ReceivedAttributes, SessionConfig};
use lb_bgp::wire::{Afi, AttributeData, Community, LargeCommunity, Safi};
use lb_bgp::{Route, RouteAttributes};

use crate::harness::{A_ID, A_IP, B_ID, Pair, Side};

const NH6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);

fn v4(i: u32) -> IpNet {
    IpNet::new(IpAddr::V4(Ipv4Addr::from(0xc633_6400 + i)), 32).unwrap() // 198.51.100.0 + i
}

fn v6(i: u32) -> IpNet {
    let a = Ipv6Addr::from((0x2001_0db8_0064u128 << 80) + u128::from(i));
    IpNet::new(IpAddr::V6(a), 128).unwrap()
}

fn attrs() -> Arc<RouteAttributes> {
    Arc::new(RouteAttributes {
        communities: vec![Community::new(65001, 100)],
        large_communities: vec![LargeCommunity {
            global_admin: 65001,
            local1: 1,
            local2: 2,
        }],
        ..RouteAttributes::default()
    })
}

fn routes(n: u32, a: &Arc<RouteAttributes>) -> Vec<Route> {
    (0..n)
        .flat_map(|i| {
            [
                Route::with_attributes(v4(i), a.clone()),
                Route::with_attributes(v6(i), a.clone()),
            ]
        })
        .collect()
}

fn rib(p: &Pair, side: Side) -> BTreeMap<IpNet, ReceivedAttributes> {
    let s = match side {
        Side::A => &p.a,
        Side::B => &p.b,
    };
    s.received_routes().map(|(k, v)| (k, v.clone())).collect()
}

/// An eBGP pair where A has an IPv6 next hop for its IPv6 routes over the IPv4 session.
fn ebgp() -> Pair {
    let mut p = Pair::ebgp();
    let mut a = p.a.config().clone();
    a.next_hop_v6 = Some(NH6);
    p.a = lb_bgp::Session::new(a, 1, p.base);
    p
}

#[test]
fn initial_dump_packs_many_prefixes_and_ends_with_end_of_rib() {
    let mut p = ebgp();
    let a = attrs();
    p.a.set_routes(p.now, routes(1000, &a));
    p.start();
    assert!(p.established());
    let got = rib(&p, Side::B);
    assert_eq!(got.len(), 2000);
    let r4 = &got[&v4(7)];
    assert_eq!(r4.next_hop, Some(A_IP));
    assert_eq!(r4.as_path, vec![65001]);
    assert_eq!(r4.local_pref, None);
    assert_eq!(r4.origin, Some(lb_bgp::wire::Origin::Igp));
    assert_eq!(r4.communities, a.communities);
    assert_eq!(r4.large_communities, a.large_communities);
    let r6 = &got[&v6(7)];
    assert_eq!(r6.next_hop, Some(IpAddr::V6(NH6)));
    assert_eq!(r6.communities, a.communities);
    // One UPDATE per family (extended messages), then two End-of-RIB.
    assert_eq!(p.a.stats().messages_sent.update, 4);
    assert_eq!(p.a.stats().prefixes_sent, 2000);
    assert_eq!(p.b.stats().prefixes_received, 2000);
    let acts = p.actions(Side::B);
    let last_routes = acts
        .iter()
        .rposition(|a| matches!(a, Output::Notice(Notice::RoutesReceived { .. })))
        .unwrap();
    let eors: Vec<usize> = acts
        .iter()
        .enumerate()
        .filter(|(_, a)| matches!(a, Output::Notice(Notice::EndOfRib { .. })))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(eors.len(), 2);
    assert!(eors.iter().all(|&i| i > last_routes));
    assert!(acts.contains(&Output::Notice(Notice::EndOfRib {
        afi: Afi::IPV6,
        safi: Safi::UNICAST
    })));
}

#[test]
fn without_extended_messages_updates_stay_under_4096_octets() {
    let mut p = ebgp();
    let mut a = p.a.config().clone();
    a.extended_message = false;
    p.a = lb_bgp::Session::new(a, 1, p.base);
    p.a.set_routes(p.now, routes(1000, &attrs()));
    p.start();
    assert_eq!(rib(&p, Side::B).len(), 2000);
    let sends: Vec<_> = p
        .actions(Side::A)
        .into_iter()
        .filter_map(|a| match a {
            Output::Send { bytes, .. } => Some(bytes),
            _ => None,
        })
        .collect();
    let mut sizes = Vec::new();
    for b in &sends {
        let mut rest = &b[..];
        while let Ok(Some((_, len))) = lb_bgp::wire::header::frame(rest, 65535) {
            sizes.push(len);
            rest = &rest[len..];
        }
    }
    assert!(sizes.iter().all(|&s| s <= 4096), "{sizes:?}");
    // 1000 × 5 octets of IPv4 and 1000 × 17 of IPv6: 2 + 5 UPDATEs, full but for the last.
    let updates = p.updates(Side::A);
    let counts: Vec<usize> = updates
        .iter()
        .map(|u| {
            u.nlri.len()
                + u.attributes
                    .iter()
                    .map(|a| match &a.data {
                        AttributeData::MpReach(m) => m.nlri.len(),
                        _ => 0,
                    })
                    .sum::<usize>()
        })
        .filter(|&n| n > 0)
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), 2000);
    // Full messages but for the last of each family: 806 + 194 IPv4, 4 × 236 + 56 IPv6.
    let mut sorted = counts.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![56, 194, 236, 236, 236, 236, 806], "{counts:?}");
}

#[test]
fn only_the_difference_is_sent() {
    let mut p = ebgp();
    let a = attrs();
    p.a.set_routes(p.now, routes(100, &a));
    p.start();
    p.clear_log();
    let updates = p.a.stats().messages_sent.update;
    // The same set again: nothing.
    p.a.set_routes(p.now, routes(100, &a));
    p.pump();
    assert_eq!(p.a.stats().messages_sent.update, updates);
    // Ten IPv4 routes change attributes: one UPDATE.
    let b = Arc::new(RouteAttributes {
        med: Some(5),
        ..RouteAttributes::default()
    });
    for i in 0..10 {
        p.a.announce(p.now, Route::with_attributes(v4(i), b.clone()));
    }
    p.pump();
    assert_eq!(p.a.stats().messages_sent.update, updates + 1);
    assert_eq!(p.received_counts(Side::B), (10, 0));
    let got = rib(&p, Side::B);
    assert_eq!(got[&v4(3)].med, Some(5));
    assert!(got[&v4(3)].communities.is_empty());
    assert_eq!(got[&v4(30)].communities, a.communities);
    // Five withdrawn in each family: one UPDATE per family.
    for i in 0..5 {
        p.a.withdraw(p.now, v4(50 + i));
        p.a.withdraw(p.now, v6(50 + i));
    }
    p.pump();
    assert_eq!(p.a.stats().messages_sent.update, updates + 3);
    assert_eq!(p.received_counts(Side::B), (10, 10));
    assert_eq!(rib(&p, Side::B).len(), 190);
    // Withdraw then re-announce before the next poll: nothing changes for the peer.
    p.a.withdraw(p.now, v4(1));
    p.a.announce(p.now, Route::with_attributes(v4(1), b.clone()));
    p.pump();
    assert_eq!(p.a.stats().messages_sent.update, updates + 3);
    // set_routes to a smaller set withdraws the rest.
    p.a.set_routes(p.now, routes(20, &a));
    p.pump();
    assert_eq!(rib(&p, Side::B).len(), 40);
    assert_eq!(p.a.stats().prefixes_sent, 40);
    assert_eq!(p.a.stats().prefixes_desired, 40);
    // Host bits are cleared.
    p.a.announce(p.now, Route::new("203.0.113.77/24".parse().unwrap()));
    p.pump();
    assert!(rib(&p, Side::B).contains_key(&"203.0.113.0/24".parse().unwrap()));
}

#[test]
fn ibgp_sends_local_pref_and_an_empty_as_path() {
    let mut p = Pair::ibgp();
    let mut a = p.a.config().clone();
    a.next_hop_v6 = Some(NH6);
    p.a = lb_bgp::Session::new(a, 1, p.base);
    let pref = Arc::new(RouteAttributes {
        local_pref: Some(200),
        ..RouteAttributes::default()
    });
    p.a.announce(p.now, Route::new(v4(1)));
    p.a.announce(p.now, Route::with_attributes(v4(2), pref.clone()));
    p.a.announce(p.now, Route::with_attributes(v6(2), pref));
    p.start();
    let got = rib(&p, Side::B);
    assert_eq!(got[&v4(1)].local_pref, Some(100));
    assert_eq!(got[&v4(2)].local_pref, Some(200));
    assert_eq!(got[&v6(2)].local_pref, Some(200));
    assert!(got[&v4(1)].as_path.is_empty());
    // eBGP: a LOCAL_PREF in the route's attributes is not sent.
    let mut p = ebgp();
    let pref = Arc::new(RouteAttributes {
        local_pref: Some(200),
        ..RouteAttributes::default()
    });
    p.a.announce(p.now, Route::with_attributes(v4(2), pref));
    p.start();
    assert_eq!(rib(&p, Side::B)[&v4(2)].local_pref, None);
    let has_local_pref = p.updates(Side::A).iter().any(|u| {
        u.attributes
            .iter()
            .any(|a| matches!(a.data, AttributeData::LocalPref(_)))
    });
    assert!(!has_local_pref);
}

#[test]
fn everything_is_resent_when_the_session_comes_back() {
    let mut p = ebgp();
    p.a.set_routes(p.now, routes(300, &attrs()));
    p.start();
    assert_eq!(rib(&p, Side::B).len(), 600);
    // Changes while down are kept.
    p.b.stop(p.now, "restart");
    p.pump();
    assert_eq!(rib(&p, Side::B).len(), 0);
    assert_eq!(p.a.stats().prefixes_sent, 0);
    p.a.withdraw(p.now, v4(0));
    p.a.announce(p.now, Route::new(v4(1000)));
    p.clear_log();
    p.b.start(p.now);
    p.run_for(Duration::from_secs(10));
    assert!(p.established());
    let got = rib(&p, Side::B);
    assert_eq!(got.len(), 600);
    assert!(!got.contains_key(&v4(0)) && got.contains_key(&v4(1000)));
    let eors = p
        .actions(Side::B)
        .iter()
        .filter(|a| matches!(a, Output::Notice(Notice::EndOfRib { .. })))
        .count();
    assert_eq!(eors, 2);
}

#[test]
fn route_refresh_is_answered_with_the_family_in_full() {
    let mut p = ebgp();
    p.a.set_routes(p.now, routes(50, &attrs()));
    p.start();
    p.clear_log();
    p.b.request_refresh(p.now, Afi::IPV6, Safi::UNICAST);
    p.pump();
    assert!(p.actions(Side::A).contains(&Output::RouteRefreshRequested {
        afi: Afi::IPV6,
        safi: Safi::UNICAST
    }));
    assert_eq!(p.received_counts(Side::B), (50, 0));
    assert_eq!(p.b.stats().messages_received.update, 2 + 2 + 1);
    assert_eq!(p.a.stats().messages_received.route_refresh, 1);
    // Without the capability configured, we neither advertise it nor answer.
    let mut p = ebgp();
    let mut a = p.a.config().clone();
    a.route_refresh = false;
    p.a = lb_bgp::Session::new(a, 1, p.base);
    p.a.set_routes(p.now, routes(5, &attrs()));
    p.start();
    assert!(!p.b.negotiated().unwrap().route_refresh);
    p.clear_log();
    p.b.request_refresh(p.now, Afi::IPV4, Safi::UNICAST);
    p.pump();
    assert!(p.log.is_empty());
}

#[test]
fn drain_marks_routes_then_withdraws_them_after_the_delay() {
    for ibgp in [false, true] {
        let mut p = if ibgp { Pair::ibgp() } else { Pair::ebgp() };
        let mut a = p.a.config().clone();
        a.next_hop_v6 = Some(NH6);
        p.a = lb_bgp::Session::new(a, 1, p.base);
        p.a.set_routes(p.now, routes(20, &attrs()));
        p.start();
        let t0 = p.t();
        p.a.drain(p.now, Duration::from_secs(60));
        assert!(p.a.is_draining());
        p.pump();
        let got = rib(&p, Side::B);
        assert_eq!(got.len(), 40);
        for r in got.values() {
            assert!(r.communities.contains(&Community::GRACEFUL_SHUTDOWN));
            assert!(r.communities.contains(&Community::new(65001, 100)));
            assert_eq!(r.local_pref, ibgp.then_some(0));
        }
        p.run_until(t0 + Duration::from_secs(59));
        assert_eq!(rib(&p, Side::B).len(), 40);
        p.run_until(t0 + Duration::from_secs(60));
        assert_eq!(rib(&p, Side::B).len(), 0);
        assert!(
            p.actions(Side::A)
                .contains(&Output::Notice(Notice::DrainComplete))
        );
        assert!(p.established());
        // New routes stay withdrawn while drained.
        p.a.announce(p.now, Route::new(v4(500)));
        p.pump();
        assert_eq!(rib(&p, Side::B).len(), 0);
        // Cancelled: routes come back without the community.
        p.a.cancel_drain(p.now);
        p.pump();
        let got = rib(&p, Side::B);
        assert_eq!(got.len(), 41);
        assert!(
            got.values()
                .all(|r| !r.communities.contains(&Community::GRACEFUL_SHUTDOWN))
        );
    }
}

#[test]
fn ipv6_session_next_hops_and_link_local() {
    let mut p = Pair::ebgp();
    let a6: IpAddr = "2001:db8::a".parse().unwrap();
    let b6: IpAddr = "2001:db8::b".parse().unwrap();
    p.addrs = (SocketAddr::new(a6, 40000), SocketAddr::new(b6, 179));
    let mut a = p.a.config().clone();
    a.link_local_v6 = Some("fe80::a".parse().unwrap());
    p.a = lb_bgp::Session::new(a, 1, p.base);
    p.a.set_routes(p.now, routes(10, &attrs()));
    p.start();
    let got = rib(&p, Side::B);
    // No IPv4 next hop on an IPv6 session: only the IPv6 routes go.
    assert_eq!(got.len(), 10);
    let r = &got[&v6(1)];
    assert_eq!(r.next_hop, Some(a6));
    assert_eq!(r.link_local_next_hop, Some("fe80::a".parse().unwrap()));
    assert_eq!(p.a.stats().prefixes_sent, 10);
    // A route with its own IPv4 next hop goes.
    let own = Arc::new(RouteAttributes {
        next_hop: Some("192.0.2.55".parse().unwrap()),
        ..RouteAttributes::default()
    });
    p.a.announce(p.now, Route::with_attributes(v4(99), own));
    p.pump();
    assert_eq!(
        rib(&p, Side::B)[&v4(99)].next_hop,
        Some("192.0.2.55".parse().unwrap())
    );
    // A session whose local address is link-local uses it beside a configured global.
    let mut p = Pair::ebgp();
    let ll: IpAddr = "fe80::a".parse().unwrap();
    p.addrs = (
        SocketAddr::new(ll, 40000),
        SocketAddr::new("fe80::b".parse().unwrap(), 179),
    );
    let mut a = p.a.config().clone();
    a.next_hop_v6 = Some(NH6);
    p.a = lb_bgp::Session::new(a, 1, p.base);
    p.a.announce(p.now, Route::new(v6(3)));
    p.start();
    let r = &rib(&p, Side::B)[&v6(3)];
    assert_eq!(r.next_hop, Some(IpAddr::V6(NH6)));
    assert_eq!(r.link_local_next_hop, Some("fe80::a".parse().unwrap()));
}

#[test]
fn ipv4_over_multiprotocol() {
    let mut p = ebgp();
    let mut a = p.a.config().clone();
    a.ipv4_over_mp = true;
    p.a = lb_bgp::Session::new(a, 1, p.base);
    p.a.set_routes(p.now, routes(100, &attrs()));
    p.start();
    assert_eq!(rib(&p, Side::B)[&v4(5)].next_hop, Some(A_IP));
    assert!(p.updates(Side::A).iter().all(|u| u.nlri.is_empty()));
    p.a.withdraw(p.now, v4(5));
    p.pump();
    assert!(!rib(&p, Side::B).contains_key(&v4(5)));
    assert!(p.updates(Side::A).iter().all(|u| u.withdrawn.is_empty()));
}

#[test]
fn only_negotiated_families_are_sent() {
    let mut p = ebgp();
    let mut b = p.b.config().clone();
    b.ipv6_unicast = false;
    p.b = lb_bgp::Session::new(b, 2, p.base);
    p.a.set_routes(p.now, routes(10, &attrs()));
    p.start();
    assert!(!p.a.negotiated().unwrap().ipv6_unicast);
    assert_eq!(rib(&p, Side::B).len(), 10);
    let eors = p
        .actions(Side::B)
        .iter()
        .filter(|a| matches!(a, Output::Notice(Notice::EndOfRib { .. })))
        .count();
    assert_eq!(eors, 1);
}

#[test]
fn graceful_restart_capability() {
    let mut p = ebgp();
    let mut a = p.a.config().clone();
    a.graceful_restart = Some(GracefulRestart {
        restart_time: 90,
        restarting: true,
        forwarding_preserved: true,
    });
    p.a = lb_bgp::Session::new(a, 1, p.base);
    p.start();
    let n = p.b.negotiated().unwrap();
    assert_eq!(n.peer_graceful_restart, Some((8, 90)));
    let fams = n
        .peer_capabilities
        .iter()
        .find_map(|c| match c {
            lb_bgp::wire::Capability::GracefulRestart { families, .. } => Some(families.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(fams.len(), 2);
    assert!(fams.iter().all(|f| f.flags == 0x80));
    // After our restart, End-of-RIB still closes the (empty) initial dump.
    assert_eq!(p.a.stats().messages_sent.update, 2);
    // The Restart State bit is for the first session after the restart only.
    p.b.stop(p.now, "");
    p.b.start(p.now);
    p.run_for(Duration::from_secs(10));
    assert!(p.established());
    assert_eq!(
        p.b.negotiated().unwrap().peer_graceful_restart,
        Some((0, 90))
    );
}

#[test]
fn four_octet_as_in_the_as_path() {
    let a = {
        let mut c = SessionConfig::new(4_200_000_001, 65002, A_ID);
        c.next_hop_v6 = Some(NH6);
        c
    };
    let mut b = SessionConfig::new(65002, 4_200_000_001, B_ID);
    b.passive = true;
    let mut p = Pair::new(a, b);
    p.a.announce(p.now, Route::new(v4(1)));
    p.start();
    assert_eq!(rib(&p, Side::B)[&v4(1)].as_path, vec![4_200_000_001]);
}

#[test]
fn per_route_next_hop_med_and_unsendable_routes() {
    let mut p = ebgp();
    let custom = Arc::new(RouteAttributes {
        next_hop: Some("192.0.2.99".parse().unwrap()),
        med: Some(42),
        ..RouteAttributes::default()
    });
    let wrong_family = Arc::new(RouteAttributes {
        next_hop: Some(IpAddr::V6(NH6)),
        ..RouteAttributes::default()
    });
    p.a.announce(p.now, Route::with_attributes(v4(1), custom));
    p.a.announce(p.now, Route::with_attributes(v4(2), wrong_family));
    p.start();
    let got = rib(&p, Side::B);
    assert_eq!(got[&v4(1)].next_hop, Some("192.0.2.99".parse().unwrap()));
    assert_eq!(got[&v4(1)].med, Some(42));
    assert!(!got.contains_key(&v4(2)));
    assert_eq!(p.a.stats().prefixes_sent, 1);
    assert_eq!(p.a.stats().prefixes_desired, 2);
}

#[test]
fn a_large_table_is_sent_in_full_updates() {
    let mut p = ebgp();
    let a = attrs();
    p.a.set_routes(p.now, routes(20_000, &a));
    p.start();
    assert_eq!(rib(&p, Side::B).len(), 40_000);
    // 20,000 × 5 + 20,000 × 17 octets in 65535-octet UPDATEs: 2 + 6, and 2 End-of-RIB.
    assert_eq!(p.a.stats().messages_sent.update, 10);
    assert_eq!(B_ID, p.a.negotiated().unwrap().peer_id);
}

mod model {
    //! The advertiser against a model: after any sequence of route changes, drains and
    //! reconnections, the peer holds exactly the desired routes with their attributes.

    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Announce(u8, bool, u8),
        Withdraw(u8, bool),
        SetRoutes(Vec<(u8, bool, u8)>),
        Flush,
        Bounce,
        Refresh(bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), any::<bool>(), 0u8..4).prop_map(|(p, v6, a)| Op::Announce(p, v6, a)),
            2 => (any::<u8>(), any::<bool>()).prop_map(|(p, v6)| Op::Withdraw(p, v6)),
            1 => proptest::collection::vec((any::<u8>(), any::<bool>(), 0u8..4), 0..64)
                .prop_map(Op::SetRoutes),
            3 => Just(Op::Flush),
            1 => Just(Op::Bounce),
            1 => any::<bool>().prop_map(Op::Refresh),
        ]
    }

    fn prefix(p: u8, ipv6: bool) -> IpNet {
        if ipv6 {
            v6(u32::from(p))
        } else {
            v4(u32::from(p))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn the_peer_converges_to_the_desired_routes(ops in proptest::collection::vec(op(), 1..40), small in any::<bool>()) {
            let shared: Vec<Arc<RouteAttributes>> = (0..4u32)
                .map(|i| Arc::new(RouteAttributes {
                    communities: vec![Community::new(65001, i as u16)],
                    med: (i % 2 == 1).then_some(i),
                    ..RouteAttributes::default()
                }))
                .collect();
            let mut p = ebgp();
            if small {
                let mut a = p.a.config().clone();
                a.extended_message = false;
                p.a = lb_bgp::Session::new(a, 1, p.base);
            }
            p.start();
            let mut model: BTreeMap<IpNet, u8> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Announce(x, v6, a) => {
                        p.a.announce(p.now, Route::with_attributes(prefix(x, v6), shared[usize::from(a)].clone()));
                        model.insert(prefix(x, v6), a);
                    }
                    Op::Withdraw(x, v6) => {
                        p.a.withdraw(p.now, prefix(x, v6));
                        model.remove(&prefix(x, v6));
                    }
                    Op::SetRoutes(list) => {
                        model = list.iter().map(|&(x, v6, a)| (prefix(x, v6), a)).collect();
                        p.a.set_routes(p.now, list.iter().map(|&(x, v6, a)| Route::with_attributes(prefix(x, v6), shared[usize::from(a)].clone())));
                    }
                    Op::Flush => p.pump(),
                    Op::Bounce => {
                        p.b.stop(p.now, "");
                        p.b.start(p.now);
                        p.run_for(Duration::from_secs(6));
                    }
                    Op::Refresh(v6) => {
                        let afi = if v6 { Afi::IPV6 } else { Afi::IPV4 };
                        p.b.request_refresh(p.now, afi, Safi::UNICAST);
                        p.pump();
                    }
                }
            }
            p.pump();
            prop_assert!(p.established());
            let got = rib(&p, Side::B);
            prop_assert_eq!(got.len(), model.len());
            for (prefix, a) in &model {
                let r = &got[prefix];
                prop_assert_eq!(&r.communities, &shared[usize::from(*a)].communities);
                prop_assert_eq!(r.med, shared[usize::from(*a)].med);
            }
            prop_assert_eq!(p.a.stats().prefixes_sent, model.len());
        }
    }
}
