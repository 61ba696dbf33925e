//! The `speaker` binary in standalone mode, end to end ([`lb_lab::e2e`]): three hosts on one
//! segment each running it on the same manifest folder, a BIRD router peering with every host,
//! and a client. Layer 2 (IPv4 and IPv6, owner as the election names), BGP (ECMP in BIRD with
//! the advertisement's communities and LOCAL_PREF, node selectors), failover timed on the wire,
//! a rolling restart with SIGTERM, and manifest edits.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lb_bins::speaker::standalone::assign;
use lb_bins::speaker::world::{HostOptions, plan_host};
use lb_k8s::source::ManifestSource;
use lb_lab::e2e::{HOSTS, Lab, mac_of, summary};

const BASE: &str = "
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan}
spec:
  addresses: [192.0.2.192/27, '2001:db8:1::100/120']
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: lan}
spec:
  ipAddressPools: [lan]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: routed}
spec:
  addresses: [198.51.100.0/26, '2001:db8:2::/120']
  autoAssign: false
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: router-v4}
spec: {myASN: 64512, peerASN: 64512, peerAddress: 192.0.2.1}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: router-v6}
spec: {myASN: 64512, peerASN: 64512, peerAddress: '2001:db8:1::1'}
---
apiVersion: v1
kind: Node
metadata: {name: h1, labels: {rack: a}}
---
apiVersion: v1
kind: Node
metadata: {name: h2, labels: {rack: a}}
---
apiVersion: v1
kind: Node
metadata: {name: h3, labels: {rack: b}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: default, annotations: {metallb.io/address-pool: routed}}
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  ports: [{port: 8080}]
";

const DB: &str = "
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  type: LoadBalancer
  ports: [{port: 8080}]
";

const ADVERTISEMENT: &str = "
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: routed}
spec:
  ipAddressPools: [routed]
  localPref: 150
  communities: ['64512:100']
";

/// A lab on a fresh manifest folder holding `files`.
fn lab(tag: &str, files: &[(&str, &str)]) -> Option<(Lab, PathBuf)> {
    let dir = std::env::temp_dir().join(format!("lb-speaker-lab-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let manifests = dir.join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    for (name, text) in files {
        std::fs::write(manifests.join(name), text).unwrap();
    }
    let speaker = vec![env!("CARGO_BIN_EXE_speaker").to_string()];
    let lab = Lab::start(tag, &speaker, &dir)?;
    Some((lab, manifests))
}

fn start_all(lab: &mut Lab, manifests: &Path, extra: &[&str]) {
    for i in 0..HOSTS.len() {
        lab.start_speaker(i, manifests, extra);
    }
}

/// Per Service name, its addresses with the host the election names for each.
type Expected = BTreeMap<String, Vec<(IpAddr, Option<String>)>>;

/// Per Service, its addresses and (per address) the host the election names, computed from
/// the folder as every host does, with all three hosts alive.
fn expected(manifests: &Path) -> Expected {
    let objects = ManifestSource::load(manifests).unwrap();
    let config = lb_k8s::config::assemble(&objects, &Default::default()).unwrap();
    let services = assign(&objects, None).services;
    let live: BTreeSet<String> = HOSTS.iter().map(|h| h.to_string()).collect();
    let mut owner: BTreeMap<IpAddr, String> = BTreeMap::new();
    let mut out: Expected = BTreeMap::new();
    for h in HOSTS {
        let options = HostOptions {
            me: h.into(),
            standalone: true,
            ..HostOptions::default()
        };
        let plan = plan_host(&objects, &services, &config, Some(&live), &options);
        for ip in plan.desired.l2.keys() {
            assert!(
                owner.insert(*ip, h.to_string()).is_none(),
                "two owners for {ip}"
            );
        }
        for (key, d) in plan.services {
            out.insert(
                key.name().to_owned(),
                d.ips.iter().map(|ip| (*ip, None)).collect(),
            );
        }
    }
    for ips in out.values_mut() {
        for (ip, o) in ips.iter_mut() {
            *o = owner.get(ip).cloned();
        }
    }
    out
}

#[test]
fn layer2_v4_and_v6_one_owner_as_the_election_names() {
    let Some((mut lab, manifests)) = lab("s2", &[("base.yaml", BASE), ("db.yaml", DB)]) else {
        return;
    };
    start_all(&mut lab, &manifests, &[]);
    let want = expected(&manifests);
    for name in ["web", "db"] {
        let ips = &want[name];
        for (ip, owner) in ips {
            let owner = owner.clone().expect("an L2 owner");
            let got = lab.wait_served(*ip, name, |h| h == owner);
            assert_eq!(got, owner);
            let i = HOSTS.iter().position(|h| *h == owner).unwrap();
            assert_eq!(
                lab.l2_answers(*ip),
                vec![mac_of(i)],
                "{name} {ip}: only {owner} answers\n{}",
                lab.logs()
            );
        }
    }
    let web: BTreeSet<&Option<String>> = want["web"].iter().map(|(_, o)| o).collect();
    assert_eq!(want["web"].len(), 2, "web is dual-stack");
    assert_eq!(web.len(), 1, "both families of web on one host");
}

fn routes_from(lab: &Lab, ip: IpAddr) -> Vec<lb_lab::e2e::BirdRoute> {
    let prefix = if ip.is_ipv4() {
        format!("{ip}/32")
    } else {
        format!("{ip}/128")
    };
    lab.bird_routes()
        .into_iter()
        .filter(|r| r.prefix == prefix)
        .collect()
}

fn wait_routes(lab: &Lab, ip: IpAddr, protocols: &[&str]) -> Vec<lb_lab::e2e::BirdRoute> {
    let want: BTreeSet<String> = protocols.iter().map(|s| s.to_string()).collect();
    let t0 = Instant::now();
    loop {
        let routes = routes_from(lab, ip);
        let got: BTreeSet<String> = routes.iter().map(|r| r.protocol.clone()).collect();
        if got == want {
            return routes;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{ip}: BIRD has routes from {got:?}, expected {want:?}\n{}\n{}",
            lab.birdc(&["show", "protocols"]),
            lab.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn bgp_every_selected_host_with_the_advertisements_attributes() {
    let Some((mut lab, manifests)) = lab(
        "sb",
        &[
            ("base.yaml", BASE),
            ("db.yaml", DB),
            ("ad.yaml", ADVERTISEMENT),
        ],
    ) else {
        return;
    };
    start_all(&mut lab, &manifests, &[]);
    let want = expected(&manifests);
    for (ip, _) in &want["api"] {
        let v = if ip.is_ipv4() { "v4" } else { "v6" };
        let protocols: Vec<String> = HOSTS.iter().map(|h| format!("{h}{v}")).collect();
        let protocols: Vec<&str> = protocols.iter().map(String::as_str).collect();
        let routes = wait_routes(&lab, *ip, &protocols);
        for r in &routes {
            assert_eq!(r.local_pref, Some(150), "{r:?}");
            assert_eq!(r.communities, "(64512,100)", "{r:?}");
        }
        // ECMP in the router's kernel: one next hop per host.
        let table = lab.net.exec(
            "r",
            &[
                "ip",
                if ip.is_ipv4() { "-4" } else { "-6" },
                "route",
                "show",
                &ip.to_string(),
            ],
        );
        let text = String::from_utf8_lossy(&table.stdout);
        assert_eq!(text.matches("nexthop via").count(), 3, "{ip}: {text}");
        lab.wait_served(*ip, "api through the router", |_| true);
    }
    // Node selectors: the advertisement only from rack a; the IPv6 peer only on h3.
    let selective = ADVERTISEMENT.replace(
        "  localPref: 150",
        "  localPref: 150\n  nodeSelectors: [{matchLabels: {rack: a}}]",
    );
    std::fs::write(manifests.join("ad.yaml"), selective).unwrap();
    let v4 = want["api"].iter().find(|(ip, _)| ip.is_ipv4()).unwrap().0;
    wait_routes(&lab, v4, &["h1v4", "h2v4"]);
    let base = BASE.replace(
        "spec: {myASN: 64512, peerASN: 64512, peerAddress: '2001:db8:1::1'}",
        "spec: {myASN: 64512, peerASN: 64512, peerAddress: '2001:db8:1::1', nodeSelectors: [{matchLabels: {kubernetes.io/hostname: h3}}]}",
    );
    let base = base.replace(
        "metadata: {name: h3, labels: {rack: b}}",
        "metadata: {name: h3, labels: {rack: b, kubernetes.io/hostname: h3}}",
    );
    std::fs::write(manifests.join("base.yaml"), base).unwrap();
    std::fs::write(manifests.join("ad.yaml"), ADVERTISEMENT).unwrap();
    let v6 = want["api"].iter().find(|(ip, _)| ip.is_ipv6()).unwrap().0;
    wait_routes(&lab, v6, &["h3v6"]);
    let routes = wait_routes(&lab, v4, &["h1v4", "h2v4", "h3v4"]);
    eprintln!("{v4}: {routes:?}");
}

#[test]
fn failover_over_twenty_trials() {
    let Some((mut lab, manifests)) = lab("sf", &[("base.yaml", BASE), ("db.yaml", DB)]) else {
        return;
    };
    start_all(&mut lab, &manifests, &[]);
    let want = expected(&manifests);
    let ip = want["db"][0].0;
    // Every trial expects the revived owner to win its address back, so the first owner must
    // be the elected one, not a node that announced in the moment before the third joined.
    converged(&lab, "start", &Expected::new(), &want);
    let mut times = Vec::new();
    for trial in 0..20 {
        let (owner, again) = lb_lab::e2e::failover_trial(
            &mut lb_lab::e2e::Standalone {
                lab: &mut lab,
                manifests: &manifests,
                extra: &[],
            },
            ip,
        );
        let again = again.expect("served again");
        eprintln!("trial {trial}: {owner} died, served again after {again:?}");
        times.push(again);
    }
    assert_eq!(
        lab.l2_answers(ip).len(),
        1,
        "one owner at the end\n{}",
        lab.logs()
    );
    let (median, p95, max) = summary(times);
    eprintln!("failover (fast) over 20 trials: median {median:?}, p95 {p95:?}, max {max:?}");
}

#[test]
fn rolling_restart_with_sigterm_loses_no_layer2_request() {
    let Some((mut lab, manifests)) = lab(
        "sr",
        &[
            ("base.yaml", BASE),
            ("db.yaml", DB),
            ("ad.yaml", ADVERTISEMENT),
        ],
    ) else {
        return;
    };
    start_all(&mut lab, &manifests, &[]);
    let want = expected(&manifests);
    let l2 = want["web"][0].0;
    let bgp = want["api"][0].0;
    converged(&lab, "start", &Expected::new(), &want);
    wait_routes(&lab, bgp, &["h1v4", "h2v4", "h3v4"]);
    let loops = [lab.client_loop(l2), lab.client_loop(bgp)];
    let start = Instant::now();
    for (i, host) in HOSTS.iter().enumerate() {
        eprintln!("{:?}: SIGTERM {host}", start.elapsed());
        lab.terminate(i);
        eprintln!("{:?}: {host} stopped, restarting", start.elapsed());
        lab.start_speaker(i, &manifests, &[]);
        std::thread::sleep(Duration::from_secs(3));
    }
    for (probe, what) in loops.into_iter().zip(["layer2", "bgp"]) {
        let (record, failures) = probe.finish_with_failures();
        for (at, kind) in &failures {
            eprintln!("{what}: failed at {:?}: {kind:?}", at.duration_since(start));
        }
        eprintln!(
            "rolling restart, {what}: {} of {} requests failed",
            failures.len(),
            record.len()
        );
        // Layer 2 hands over with no unanswered moment: no request times out. A connection
        // open at the very instant the address moves (a restarted owner taking it back) is
        // reset by the other host, which has no such connection, as in any Layer 2 failover
        // (MetalLB's too): at most one such reset per restart. Through BGP, the router's ECMP
        // (hash-threshold) re-hashes when a host's path leaves and comes back: a connection in
        // flight at that instant can land on another host, which resets it. That is the
        // router's choice, not the speaker's, so it is reported, not asserted.
        if what == "layer2" {
            assert!(
                failures
                    .iter()
                    .all(|(_, kind)| *kind == std::io::ErrorKind::ConnectionReset)
                    && failures.len() <= HOSTS.len(),
                "{what}: requests lost during the rolling restart: {failures:?}\n{}",
                lab.logs()
            );
        }
    }
}

#[test]
fn manifest_edits_move_add_and_remove_and_a_broken_one_changes_nothing() {
    let Some((mut lab, manifests)) = lab("se", &[("base.yaml", BASE), ("db.yaml", DB)]) else {
        return;
    };
    start_all(&mut lab, &manifests, &[]);
    let before = expected(&manifests);
    let db = before["db"][0].0;
    lab.wait_served(db, "db", |_| true);

    // A broken edit: nothing changes, and it is reported.
    std::fs::write(manifests.join("broken.yaml"), "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: bad}\nspec:\n  addresses: [not-an-address]\n").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let t0 = Instant::now();
    while !(0..3).all(|i| lab.log(i).contains("configuration refused")) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the broken edit is not reported\n{}",
            lab.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(lab.served_by(db).is_some());
    assert_eq!(lab.l2_answers(db).len(), 1);
    std::fs::remove_file(manifests.join("broken.yaml")).unwrap();

    // Add a Service, remove one, move the pool: after each edit every address is answered by
    // the host the election names, and addresses no longer in use by nobody.
    let mut was = before;
    type Edit = Box<dyn Fn(&Path)>;
    let edits: [(&str, Edit); 3] = [
        (
            "add a Service",
            Box::new(|m: &Path| {
                std::fs::write(m.join("extra.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: extra, namespace: default}\nspec:\n  type: LoadBalancer\n  ports: [{port: 8080}]\n").unwrap();
            }),
        ),
        (
            "remove a Service",
            Box::new(|m: &Path| std::fs::remove_file(m.join("db.yaml")).unwrap()),
        ),
        (
            "move the pool",
            Box::new(|m: &Path| {
                let moved = BASE.replace(
                    "addresses: [192.0.2.192/27, '2001:db8:1::100/120']",
                    "addresses: [192.0.2.224/27, '2001:db8:1::100/120']",
                );
                std::fs::write(m.join("base.yaml"), moved).unwrap();
            }),
        ),
    ];
    for (what, edit) in edits {
        edit(&manifests);
        let now = expected(&manifests);
        converged(&lab, what, &was, &now);
        was = now;
    }
    assert!(
        was["web"]
            .iter()
            .any(|(ip, _)| ip.to_string().starts_with("192.0.2.2")),
        "{was:?}"
    );
}

/// After an edit from `was` to `now`: every IPv4 L2 address of `now` is served by its owner
/// and answered by it alone; every IPv4 address of `was` not in `now` is answered by nobody.
fn converged(lab: &Lab, what: &str, was: &Expected, now: &Expected) {
    let used: BTreeSet<IpAddr> = now.values().flatten().map(|(ip, _)| *ip).collect();
    for (ip, owner) in now.values().flatten() {
        if let (true, Some(owner)) = (ip.is_ipv4(), owner) {
            lab.wait_served(*ip, what, |h| h == owner);
            let i = HOSTS.iter().position(|h| h == owner).unwrap();
            let t0 = Instant::now();
            while lab.l2_answers(*ip) != vec![mac_of(i)] {
                assert!(
                    t0.elapsed() < Duration::from_secs(30),
                    "{what}: {ip} not answered by {owner} alone\n{}",
                    lab.logs()
                );
            }
        }
    }
    for (ip, _) in was.values().flatten() {
        if ip.is_ipv4() && !used.contains(ip) {
            let t0 = Instant::now();
            while !lab.l2_answers(*ip).is_empty() {
                assert!(
                    t0.elapsed() < Duration::from_secs(30),
                    "{what}: {ip} still answered\n{}",
                    lab.logs()
                );
            }
        }
    }
}

#[test]
fn an_advertisements_interfaces_limit_where_an_address_is_answered() {
    let limited = |iface: &str| {
        BASE.replace(
            "metadata: {name: lan}\nspec:\n  ipAddressPools: [lan]",
            &format!(
                "metadata: {{name: lan}}\nspec:\n  ipAddressPools: [lan]\n  interfaces: [{iface}]"
            ),
        )
    };
    let first = limited("eth0");
    assert_ne!(first, BASE, "the advertisement was limited");
    let Some((mut lab, manifests)) = lab("si", &[("base.yaml", &first), ("db.yaml", DB)]) else {
        return;
    };
    start_all(&mut lab, &manifests, &[]);
    let want = expected(&manifests);
    let (db, owner) = want["db"][0].clone();
    let owner = owner.unwrap();
    lab.wait_served(db, "limited to eth0", |h| h == owner);
    // An interface no host has: the winner cannot announce (announceFailed), nobody answers.
    std::fs::write(manifests.join("base.yaml"), limited("eth9")).unwrap();
    let t0 = Instant::now();
    while !lab.l2_answers(db).is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{db} still answered\n{}",
            lab.logs()
        );
    }
    let i = HOSTS.iter().position(|h| *h == owner).unwrap();
    assert!(lab.log(i).contains("announceFailed"), "{}", lab.logs());
    std::fs::write(manifests.join("base.yaml"), limited("eth0")).unwrap();
    lab.wait_served(db, "eth0 again", |h| h == owner);
}
