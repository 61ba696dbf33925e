//! `BGPPeer`: `v1beta2` (served, storage) and the deprecated `v1beta1`, with the conversions
//! upstream's conversion webhook performs.

// kube's `printcolumn(type_ = ..)` repeats attribute names clippy takes for duplicates.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::api::core::v1::SecretReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::advertisement::NoStatus;
use super::pool::is_false;

/// The `spec` of a `BGPPeer` (`metallb.io/v1beta2`).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta2",
    kind = "BGPPeer",
    plural = "bgppeers",
    namespaced,
    status = "NoStatus",
    derive = "PartialEq",
    doc = "BGPPeer is the Schema for the peers API.",
    printcolumn(name = "Address", type_ = "string", json_path = ".spec.peerAddress"),
    printcolumn(name = "ASN", type_ = "string", json_path = ".spec.peerASN"),
    printcolumn(name = "BFD Profile", type_ = "string", json_path = ".spec.bfdProfile"),
    printcolumn(
        name = "Multi Hops",
        type_ = "string",
        json_path = ".spec.ebgpMultiHop"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct BGPPeerSpec {
    /// AS number to use for the local end of the session.
    #[serde(rename = "myASN")]
    #[schemars(range(min = 0, max = 4294967295u32))]
    pub my_asn: u32,
    /// AS number to expect from the remote end (or `dynamicASN`).
    #[serde(default, rename = "peerASN", skip_serializing_if = "is_zero")]
    #[schemars(range(min = 0, max = 4294967295u32))]
    pub peer_asn: u32,
    /// AS number the peer sees for us (FRR's `local-as N no-prepend replace-as`).
    #[serde(default, rename = "localASN", skip_serializing_if = "is_zero")]
    #[schemars(range(min = 1, max = 4294967295u32))]
    pub local_asn: u32,
    /// `internal` or `external`: learn the peer's AS, and require it equal to / different from ours.
    #[serde(
        default,
        rename = "dynamicASN",
        skip_serializing_if = "Option::is_none"
    )]
    pub dynamic_asn: Option<DynamicAsn>,
    /// Address to dial.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub peer_address: String,
    /// Interface for BGP unnumbered (rejected in this release).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface: String,
    /// Source address of the session.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source_address: String,
    /// Port to dial (CRD default 179).
    #[serde(default, skip_serializing_if = "is_zero16")]
    #[schemars(range(min = 1, max = 16384), extend("default" = 179))]
    pub peer_port: u16,
    /// Hold time, a Go duration (`90s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_time: Option<String>,
    /// Keepalive interval, a Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_time: Option<String>,
    /// Connect retry interval, whole seconds 1–65535.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "duration(self).getSeconds() >= 1 && duration(self).getSeconds() <= 65535", "message": "connect time should be between 1 seconds to 65535"},
        {"rule": "duration(self).getMilliseconds() % 1000 == 0", "message": "connect time should contain a whole number of seconds"}
    ]))]
    pub connect_time: Option<String>,
    /// BGP router ID (IPv4 text).
    #[serde(default, rename = "routerID", skip_serializing_if = "String::is_empty")]
    pub router_id: String,
    /// Nodes that open this session; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_selectors: Vec<LabelSelector>,
    /// TCP MD5 password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// A `kubernetes.io/basic-auth` secret holding the password under key `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<SecretReference>,
    /// Name of a `BFDProfile`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bfd_profile: String,
    /// Negotiate graceful restart (immutable).
    #[serde(default, skip_serializing_if = "is_false")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "self == oldSelf", "message": "EnableGracefulRestart cannot be changed after creation"}
    ]))]
    pub enable_graceful_restart: bool,
    /// The eBGP peer is more than one hop away.
    #[serde(default, rename = "ebgpMultiHop", skip_serializing_if = "is_false")]
    pub ebgp_multi_hop: bool,
    /// VRF to peer from (rejected in this release).
    #[serde(default, rename = "vrf", skip_serializing_if = "String::is_empty")]
    pub vrf: String,
    /// Deprecated, no effect.
    #[serde(default, rename = "disableMP", skip_serializing_if = "is_false")]
    #[schemars(extend("default" = false))]
    pub disable_mp: bool,
    /// Send both families' prefixes over this session.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schemars(extend("default" = false))]
    pub dual_stack_address_family: bool,
}

/// `spec.dynamicASN` of a `BGPPeer`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DynamicAsn {
    /// The peer's AS must equal ours (iBGP).
    #[serde(rename = "internal")]
    Internal,
    /// The peer's AS must differ from ours (eBGP).
    #[serde(rename = "external")]
    External,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero16(n: &u16) -> bool {
    *n == 0
}

/// The deprecated `metallb.io/v1beta1` `BGPPeer`.
pub mod v1beta1 {
    use std::collections::BTreeMap;

    use kube::CustomResource;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    use super::super::advertisement::NoStatus;
    use super::super::pool::is_false;

    /// The `spec` of a `v1beta1` `BGPPeer`.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema,
    )]
    #[kube(
        group = "metallb.io",
        version = "v1beta1",
        kind = "BGPPeer",
        plural = "bgppeers",
        namespaced,
        status = "NoStatus",
        derive = "PartialEq",
        deprecated = "v1beta1 is deprecated, please use v1beta2",
        doc = "BGPPeer is the Schema for the peers API.",
        printcolumn(name = "Address", type_ = "string", json_path = ".spec.peerAddress"),
        printcolumn(name = "ASN", type_ = "string", json_path = ".spec.peerASN"),
        printcolumn(name = "BFD Profile", type_ = "string", json_path = ".spec.bfdProfile"),
        printcolumn(
            name = "Multi Hops",
            type_ = "string",
            json_path = ".spec.ebgpMultiHop"
        )
    )]
    #[serde(rename_all = "camelCase")]
    pub struct BGPPeerSpec {
        /// AS number for the local end.
        #[serde(rename = "myASN")]
        #[schemars(range(min = 0, max = 4294967295u32))]
        pub my_asn: u32,
        /// AS number of the peer.
        #[serde(rename = "peerASN")]
        #[schemars(range(min = 0, max = 4294967295u32))]
        pub peer_asn: u32,
        /// Address to dial.
        pub peer_address: String,
        /// Source address.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub source_address: String,
        /// Port to dial (0–16384, no default).
        #[serde(default, skip_serializing_if = "is_zero16")]
        #[schemars(range(min = 0, max = 16384))]
        pub peer_port: u16,
        /// Hold time (Go duration).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub hold_time: Option<String>,
        /// Keepalive interval (Go duration).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub keepalive_time: Option<String>,
        /// Router ID.
        #[serde(default, rename = "routerID", skip_serializing_if = "String::is_empty")]
        pub router_id: String,
        /// Legacy node selectors.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub node_selectors: Vec<NodeSelector>,
        /// TCP MD5 password.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub password: String,
        /// BFD profile name.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub bfd_profile: String,
        /// Multi-hop eBGP.
        #[serde(default, rename = "ebgpMultiHop", skip_serializing_if = "is_false")]
        pub ebgp_multi_hop: bool,
    }

    /// The legacy `v1beta1` node selector.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct NodeSelector {
        /// Labels that must be present with these values.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub match_labels: BTreeMap<String, String>,
        /// Set-based requirements.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub match_expressions: Vec<MatchExpression>,
    }

    /// One requirement of a legacy node selector.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
    pub struct MatchExpression {
        /// Label key.
        pub key: String,
        /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
        pub operator: String,
        /// Values (at least one in the schema).
        #[schemars(length(min = 1))]
        pub values: Vec<String>,
    }

    fn is_zero16(n: &u16) -> bool {
        *n == 0
    }
}

/// Converts a `v1beta1` spec to `v1beta2`, as upstream's conversion webhook does: common fields
/// copied, legacy selectors turned into `LabelSelector`s, and `holdTime`/`keepaliveTime`
/// always present (`"0s"` when the old object had none, which the assembly treats as unset).
pub fn v1beta1_to_v1beta2(old: &v1beta1::BGPPeerSpec) -> BGPPeerSpec {
    BGPPeerSpec {
        my_asn: old.my_asn,
        peer_asn: old.peer_asn,
        peer_address: old.peer_address.clone(),
        source_address: old.source_address.clone(),
        peer_port: old.peer_port,
        hold_time: Some(old.hold_time.clone().unwrap_or_else(|| "0s".into())),
        keepalive_time: Some(old.keepalive_time.clone().unwrap_or_else(|| "0s".into())),
        router_id: old.router_id.clone(),
        node_selectors: old.node_selectors.iter().map(legacy_to_selector).collect(),
        password: old.password.clone(),
        bfd_profile: old.bfd_profile.clone(),
        ebgp_multi_hop: old.ebgp_multi_hop,
        ..BGPPeerSpec::default()
    }
}

/// Converts a `v1beta2` spec to `v1beta1`, dropping every field `v1beta1` lacks (lossy).
pub fn v1beta2_to_v1beta1(new: &BGPPeerSpec) -> v1beta1::BGPPeerSpec {
    v1beta1::BGPPeerSpec {
        my_asn: new.my_asn,
        peer_asn: new.peer_asn,
        peer_address: new.peer_address.clone(),
        source_address: new.source_address.clone(),
        peer_port: new.peer_port,
        hold_time: new.hold_time.clone(),
        keepalive_time: new.keepalive_time.clone(),
        router_id: new.router_id.clone(),
        node_selectors: new.node_selectors.iter().map(selector_to_legacy).collect(),
        password: new.password.clone(),
        bfd_profile: new.bfd_profile.clone(),
        ebgp_multi_hop: new.ebgp_multi_hop,
    }
}

/// Converts a whole object (metadata kept, `apiVersion` changed).
pub fn convert_v1beta1(old: &v1beta1::BGPPeer) -> BGPPeer {
    BGPPeer {
        metadata: old.metadata.clone(),
        spec: v1beta1_to_v1beta2(&old.spec),
        status: old.status.clone(),
    }
}

/// Converts a whole object back to `v1beta1` (lossy).
pub fn convert_v1beta2(new: &BGPPeer) -> v1beta1::BGPPeer {
    v1beta1::BGPPeer {
        metadata: new.metadata.clone(),
        spec: v1beta2_to_v1beta1(&new.spec),
        status: new.status.clone(),
    }
}

fn legacy_to_selector(s: &v1beta1::NodeSelector) -> LabelSelector {
    LabelSelector {
        match_labels: (!s.match_labels.is_empty()).then(|| s.match_labels.clone()),
        match_expressions: (!s.match_expressions.is_empty()).then(|| {
            s.match_expressions
                .iter()
                .map(|e| LabelSelectorRequirement {
                    key: e.key.clone(),
                    operator: e.operator.clone(),
                    values: Some(e.values.clone()),
                })
                .collect()
        }),
    }
}

fn selector_to_legacy(s: &LabelSelector) -> v1beta1::NodeSelector {
    v1beta1::NodeSelector {
        match_labels: s.match_labels.clone().unwrap_or_default(),
        match_expressions: s
            .match_expressions
            .iter()
            .flatten()
            .map(|e| v1beta1::MatchExpression {
                key: e.key.clone(),
                operator: e.operator.clone(),
                values: e.values.clone().unwrap_or_default(),
            })
            .collect(),
    }
}
