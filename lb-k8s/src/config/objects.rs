//! The set of objects a configuration is assembled from, whatever their source.

use k8s_openapi::api::core::v1::{Namespace, Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::Value;

use crate::Error;
use crate::crd::{
    BFDProfile, BGPAdvertisement, BGPPeer, Community, IPAddressPool, L2Advertisement,
    peer::{self, v1beta1},
};

/// Everything the controller and the speaker read: the `metallb.io` configuration objects, the
/// Secrets, Namespaces and Nodes that selectors and references need, and the Services and
/// EndpointSlices the decisions are about. Lists are in no particular order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Objects {
    /// `IPAddressPool`s.
    pub pools: Vec<IPAddressPool>,
    /// `L2Advertisement`s.
    pub l2_advertisements: Vec<L2Advertisement>,
    /// `BGPAdvertisement`s.
    pub bgp_advertisements: Vec<BGPAdvertisement>,
    /// `BGPPeer`s (`v1beta1` objects are converted on the way in).
    pub peers: Vec<BGPPeer>,
    /// `BFDProfile`s.
    pub bfd_profiles: Vec<BFDProfile>,
    /// `Community` objects.
    pub communities: Vec<Community>,
    /// Secrets (BGP passwords, the memberlist key).
    pub secrets: Vec<Secret>,
    /// Namespaces (their labels, for `namespaceSelectors`).
    pub namespaces: Vec<Namespace>,
    /// Nodes (labels and conditions).
    pub nodes: Vec<Node>,
    /// Services.
    pub services: Vec<Service>,
    /// EndpointSlices.
    pub endpoint_slices: Vec<EndpointSlice>,
}

/// One object of a kind [`Objects`] holds.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // short-lived: parsed, then moved into `Objects`
pub enum Object {
    /// An `IPAddressPool`.
    Pool(IPAddressPool),
    /// An `L2Advertisement`.
    L2Advertisement(L2Advertisement),
    /// A `BGPAdvertisement`.
    BgpAdvertisement(BGPAdvertisement),
    /// A `BGPPeer` (`v1beta2`, or converted from `v1beta1`).
    Peer(BGPPeer),
    /// A `BFDProfile`.
    BfdProfile(BFDProfile),
    /// A `Community`.
    Community(Community),
    /// A `Secret`.
    Secret(Secret),
    /// A `Namespace`.
    Namespace(Namespace),
    /// A `Node`.
    Node(Node),
    /// A `Service`.
    Service(Service),
    /// An `EndpointSlice`.
    EndpointSlice(EndpointSlice),
}

impl Object {
    /// Reads one object from its JSON form (as a YAML document deserializes), by `apiVersion`
    /// and `kind`. `Ok(None)` for kinds this crate does not read (a `Deployment` in the same
    /// folder), an error for a known kind that does not parse. A missing `spec` is `{}`, as the
    /// CRDs default it.
    pub fn from_value(mut value: Value, origin: &str) -> Result<Option<Object>, Error> {
        let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(api_version), Some(kind)) = (field(&value, "apiVersion"), field(&value, "kind"))
        else {
            return Err(Error::Yaml {
                origin: origin.into(),
                message: "a document without apiVersion or kind".into(),
            });
        };
        let bad = |e: serde_json::Error| Error::Yaml {
            origin: origin.into(),
            message: format!("{kind}: {e}"),
        };
        if api_version.starts_with("metallb.io/")
            && let Some(map) = value.as_object_mut()
        {
            map.entry("spec")
                .or_insert_with(|| Value::Object(Default::default()));
        }
        Ok(Some(match (api_version.as_str(), kind.as_str()) {
            ("metallb.io/v1beta1", "IPAddressPool") => {
                Object::Pool(serde_json::from_value(value).map_err(bad)?)
            }
            ("metallb.io/v1beta1", "L2Advertisement") => {
                Object::L2Advertisement(serde_json::from_value(value).map_err(bad)?)
            }
            ("metallb.io/v1beta1", "BGPAdvertisement") => {
                Object::BgpAdvertisement(serde_json::from_value(value).map_err(bad)?)
            }
            ("metallb.io/v1beta2", "BGPPeer") => {
                Object::Peer(serde_json::from_value(value).map_err(bad)?)
            }
            ("metallb.io/v1beta1", "BGPPeer") => {
                let old: v1beta1::BGPPeer = serde_json::from_value(value).map_err(bad)?;
                Object::Peer(peer::convert_v1beta1(&old))
            }
            ("metallb.io/v1beta1", "BFDProfile") => {
                Object::BfdProfile(serde_json::from_value(value).map_err(bad)?)
            }
            ("metallb.io/v1beta1", "Community") => {
                Object::Community(serde_json::from_value(value).map_err(bad)?)
            }
            ("v1", "Secret") => Object::Secret(serde_json::from_value(value).map_err(bad)?),
            ("v1", "Namespace") => Object::Namespace(serde_json::from_value(value).map_err(bad)?),
            ("v1", "Node") => Object::Node(serde_json::from_value(value).map_err(bad)?),
            ("v1", "Service") => Object::Service(serde_json::from_value(value).map_err(bad)?),
            ("discovery.k8s.io/v1", "EndpointSlice") => {
                Object::EndpointSlice(serde_json::from_value(value).map_err(bad)?)
            }
            _ => return Ok(None),
        }))
    }
}

impl Objects {
    /// Adds one object.
    pub fn insert(&mut self, object: Object) {
        match object {
            Object::Pool(o) => self.pools.push(o),
            Object::L2Advertisement(o) => self.l2_advertisements.push(o),
            Object::BgpAdvertisement(o) => self.bgp_advertisements.push(o),
            Object::Peer(o) => self.peers.push(o),
            Object::BfdProfile(o) => self.bfd_profiles.push(o),
            Object::Community(o) => self.communities.push(o),
            Object::Secret(o) => self.secrets.push(o),
            Object::Namespace(o) => self.namespaces.push(o),
            Object::Node(o) => self.nodes.push(o),
            Object::Service(o) => self.services.push(o),
            Object::EndpointSlice(o) => self.endpoint_slices.push(o),
        }
    }

    /// Reads every document of a multi-document YAML text. `origin` names the text in errors
    /// (a file name); documents are numbered from 1.
    pub fn parse_yaml(&mut self, text: &str, origin: &str) -> Result<(), Error> {
        let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| Error::Yaml {
            origin: origin.into(),
            message: e.to_string(),
        })?;
        for (i, doc) in docs.into_iter().enumerate() {
            if doc.is_null() {
                continue;
            }
            let here = format!("{origin}, document {}", i + 1);
            if let Some(o) = Object::from_value(doc, &here)? {
                self.insert(o);
            }
        }
        Ok(())
    }

    /// Number of objects of every kind.
    pub fn len(&self) -> usize {
        self.pools.len()
            + self.l2_advertisements.len()
            + self.bgp_advertisements.len()
            + self.peers.len()
            + self.bfd_profiles.len()
            + self.communities.len()
            + self.secrets.len()
            + self.namespaces.len()
            + self.nodes.len()
            + self.services.len()
            + self.endpoint_slices.len()
    }

    /// Whether there are no objects.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
