//! The committed CRDs are what the types generate, and the BGPPeer conversions keep what each
//! version can hold.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use lb_k8s::crd::{self, BGPPeerSpec, peer};

#[test]
fn committed_crds_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/crd");
    let defs = crd::definitions();
    assert_eq!(defs.len(), 9);
    let mut stale = Vec::new();
    for def in &defs {
        let path = dir.join(crd::file_name(def));
        let want = crd::to_yaml(def).unwrap();
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale CRDs {stale:?}: run `cargo run -p lb-k8s --bin crdgen` and commit the result"
    );
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        on_disk,
        defs.len(),
        "a file in config/crd that no type generates"
    );
}

#[test]
fn crds_have_upstream_names_versions_and_columns() {
    let defs = crd::definitions();
    let names: Vec<&str> = defs
        .iter()
        .map(|d| d.metadata.name.as_deref().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "bfdprofiles.metallb.io",
            "bgpadvertisements.metallb.io",
            "bgppeers.metallb.io",
            "communities.metallb.io",
            "configurationstates.metallb.io",
            "ipaddresspools.metallb.io",
            "l2advertisements.metallb.io",
            "servicebgpstatuses.metallb.io",
            "servicel2statuses.metallb.io",
        ]
    );
    let peers = &defs[2];
    let versions: Vec<(&str, bool, Option<bool>)> = peers
        .spec
        .versions
        .iter()
        .map(|v| (v.name.as_str(), v.storage, v.deprecated))
        .collect();
    assert!(versions.contains(&("v1beta2", true, None)));
    assert!(versions.contains(&("v1beta1", false, Some(true))));
    let pool = &defs[5];
    let cols: Vec<&str> = pool.spec.versions[0]
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(cols, ["Auto Assign", "Avoid Buggy IPs", "Addresses"]);
    for d in &defs {
        let schema = d.spec.versions[0].schema.as_ref().unwrap();
        let root = schema.open_api_v3_schema.as_ref().unwrap();
        let required = root.required.clone().unwrap_or_default();
        // `spec` is optional where none of its fields is required (BGPPeer: myASN;
        // IPAddressPool: addresses, whose spec upstream requires too).
        let optional = !required.contains(&"spec".to_string());
        let needs_spec = ["BGPPeer", "IPAddressPool"].contains(&d.spec.names.kind.as_str());
        assert_eq!(optional, !needs_spec, "{:?}", d.metadata.name);
    }
}

fn legacy() -> peer::v1beta1::BGPPeerSpec {
    peer::v1beta1::BGPPeerSpec {
        my_asn: 64500,
        peer_asn: 64501,
        peer_address: "192.0.2.1".into(),
        source_address: "192.0.2.2".into(),
        peer_port: 1179,
        hold_time: None,
        keepalive_time: None,
        router_id: "192.0.2.2".into(),
        node_selectors: vec![
            peer::v1beta1::NodeSelector {
                match_labels: [("rack".to_string(), "a".to_string())].into(),
                match_expressions: vec![peer::v1beta1::MatchExpression {
                    key: "zone".into(),
                    operator: "In".into(),
                    values: vec!["x".into(), "y".into()],
                }],
            },
            peer::v1beta1::NodeSelector::default(),
        ],
        password: "secret".into(),
        bfd_profile: "fast".into(),
        ebgp_multi_hop: true,
    }
}

#[test]
fn v1beta1_converts_up_as_upstream_does() {
    let new = peer::v1beta1_to_v1beta2(&legacy());
    assert_eq!(
        new.hold_time.as_deref(),
        Some("0s"),
        "always present after conversion"
    );
    assert_eq!(new.keepalive_time.as_deref(), Some("0s"));
    assert_eq!(
        new.node_selectors[0],
        LabelSelector {
            match_labels: Some([("rack".to_string(), "a".to_string())].into()),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "zone".into(),
                operator: "In".into(),
                values: Some(vec!["x".into(), "y".into()]),
            }]),
        }
    );
    assert_eq!(
        new.node_selectors[1],
        LabelSelector::default(),
        "empty becomes {{}}"
    );
    assert_eq!(new.peer_port, 1179);
    assert_eq!(new.bfd_profile, "fast");
    assert!(new.ebgp_multi_hop);
}

#[test]
fn conversion_round_trips() {
    let mut old = legacy();
    old.hold_time = Some("90s".into());
    old.keepalive_time = Some("30s".into());
    let back = peer::v1beta2_to_v1beta1(&peer::v1beta1_to_v1beta2(&old));
    assert_eq!(back, old);
    // v1beta2 → v1beta1 → v1beta2 loses exactly the v1beta2-only fields.
    let new = BGPPeerSpec {
        vrf: "red".into(),
        dual_stack_address_family: true,
        connect_time: Some("5s".into()),
        ..peer::v1beta1_to_v1beta2(&old)
    };
    let again = peer::v1beta1_to_v1beta2(&peer::v1beta2_to_v1beta1(&new));
    assert_eq!(
        again,
        BGPPeerSpec {
            vrf: String::new(),
            dual_stack_address_family: false,
            connect_time: None,
            ..new
        }
    );
}
