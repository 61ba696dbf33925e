//! What the allocator needs to know about a service: identity, labels, ports, family policy,
//! sharing keys and explicit requests.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use crate::Error;
use crate::family::Family;
use crate::selector::{Labels, labels_to_string};

/// A service's identity, `namespace/name`. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceKey {
    full: Arc<str>,
    ns_len: usize,
}

impl ServiceKey {
    /// The key of service `name` in `namespace`.
    pub fn new(namespace: &str, name: &str) -> Self {
        let mut full = String::with_capacity(namespace.len() + 1 + name.len());
        full.push_str(namespace);
        full.push('/');
        full.push_str(name);
        ServiceKey {
            full: full.into(),
            ns_len: namespace.len(),
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.full[..self.ns_len]
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.full[self.ns_len + 1..]
    }

    /// `namespace/name`.
    pub fn as_str(&self) -> &str {
        &self.full
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.full)
    }
}

/// A transport protocol of a service port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (the Kubernetes default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        })
    }
}

impl FromStr for Protocol {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "TCP" | "" => Ok(Protocol::Tcp),
            "UDP" => Ok(Protocol::Udp),
            "SCTP" => Ok(Protocol::Sctp),
            other => Err(Error::InvalidProtocol(other.into())),
        }
    }
}

/// A service port as the allocator compares them (`spec.ports[].protocol` and `.port`).
/// Two services can share an address only if none of their ports are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Port {
    /// Protocol.
    pub protocol: Protocol,
    /// Port number.
    pub port: u16,
}

impl Port {
    /// A TCP port.
    pub fn tcp(port: u16) -> Self {
        Port {
            protocol: Protocol::Tcp,
            port,
        }
    }

    /// A UDP port.
    pub fn udp(port: u16) -> Self {
        Port {
            protocol: Protocol::Udp,
            port,
        }
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.protocol, self.port)
    }
}

/// Which families a service wants, derived from `spec.ipFamilyPolicy` and the families of its
/// cluster IPs (see [`FamilyRequest::from_policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FamilyRequest {
    /// One address of this family.
    Single(Family),
    /// Both families if one pool has both, else one address, `primary` first.
    PreferDual {
        /// The family tried alone first (`spec.ipFamilies[0]`).
        primary: Family,
    },
    /// One address of each family, from one pool.
    RequireDual,
}

impl FamilyRequest {
    /// Derives the request as the upstream controller does. `policy` is
    /// `spec.ipFamilyPolicy` (`None` means `SingleStack`); `cluster_families` are the families
    /// of `spec.clusterIPs` in order. A `PreferDualStack` service with a single cluster IP is
    /// single-stack.
    pub fn from_policy(policy: Option<&str>, cluster_families: &[Family]) -> Result<Self, Error> {
        let Some(&primary) = cluster_families.first() else {
            return Err(Error::NoClusterIps);
        };
        let dual = cluster_families.iter().any(|f| *f != primary);
        match policy.unwrap_or("SingleStack") {
            "SingleStack" => Ok(FamilyRequest::Single(primary)),
            "PreferDualStack" if dual => Ok(FamilyRequest::PreferDual { primary }),
            "PreferDualStack" => Ok(FamilyRequest::Single(primary)),
            "RequireDualStack" if dual => Ok(FamilyRequest::RequireDual),
            "RequireDualStack" => Err(Error::NotEnoughClusterIps),
            other => Err(Error::InvalidFamilyPolicy(other.into())),
        }
    }

    /// Whether `ips` (already checked to be at most one per family) has the families this
    /// request accepts for an existing assignment.
    pub(crate) fn accepts(self, ips: &[IpAddr]) -> bool {
        match (self, ips) {
            (FamilyRequest::Single(f), [ip]) => Family::of(ip) == f,
            (FamilyRequest::PreferDual { .. }, [_]) => true,
            (FamilyRequest::PreferDual { .. } | FamilyRequest::RequireDual, [a, b]) => {
                Family::of(a) != Family::of(b)
            }
            _ => false,
        }
    }
}

/// The two strings that decide whether services may share an address: the
/// `allow-shared-ip` annotation, and the backend key (`""` for `externalTrafficPolicy:
/// Cluster`, the selector string for `Local`). Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SharingKey(Arc<(String, String)>);

impl SharingKey {
    /// A sharing key, or `None` when `key` is empty (the service does not share).
    pub fn new(key: &str, backend: &str) -> Option<Self> {
        (!key.is_empty()).then(|| SharingKey(Arc::new((key.to_owned(), backend.to_owned()))))
    }

    /// The `allow-shared-ip` value (never empty).
    pub fn key(&self) -> &str {
        &self.0.0
    }

    /// The backend key.
    pub fn backend(&self) -> &str {
        &self.0.1
    }

    /// The backend key of a service: `""` for `Cluster`, the selector as `k=v,k=v` for
    /// `Local`.
    pub fn backend_key(policy: TrafficPolicy, selector: &Labels) -> String {
        match policy {
            TrafficPolicy::Local => labels_to_string(selector),
            TrafficPolicy::Cluster => String::new(),
        }
    }
}

/// A service's `spec.externalTrafficPolicy`: whether outside traffic may be sent to any node
/// (`Cluster`, Kubernetes' default) or only to nodes with a ready endpoint (`Local`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TrafficPolicy {
    /// `Cluster`.
    #[default]
    Cluster,
    /// `Local`.
    Local,
}

impl TrafficPolicy {
    /// The policy a Service's field asks for: `Local` when it reads `Local`, otherwise
    /// (absent included) `Cluster`, as Kubernetes defaults it.
    pub fn from_spec(value: Option<&str>) -> Self {
        match value {
            Some("Local") => TrafficPolicy::Local,
            _ => TrafficPolicy::Cluster,
        }
    }
}

/// Everything the allocator needs to know about one `LoadBalancer` service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// `namespace/name`.
    pub key: ServiceKey,
    /// The service's labels (for `serviceSelectors`).
    pub labels: Labels,
    /// The labels of the service's namespace (for `namespaceSelectors`).
    pub namespace_labels: Labels,
    /// Families wanted.
    pub families: FamilyRequest,
    /// Ports, compared when sharing an address.
    pub ports: Vec<Port>,
    /// Sharing key; `None` means the service never shares.
    pub sharing: Option<SharingKey>,
    /// The pool asked for with `metallb.io/address-pool`.
    pub pool: Option<String>,
    /// Addresses asked for with `metallb.io/loadBalancerIPs` or `spec.loadBalancerIP`.
    pub requested: Vec<IpAddr>,
}

impl Service {
    /// A single-stack IPv4 service with no labels, ports, sharing or requests; adjust the
    /// public fields from there.
    pub fn new(namespace: &str, name: &str) -> Self {
        Service {
            key: ServiceKey::new(namespace, name),
            labels: Labels::new(),
            namespace_labels: Labels::new(),
            families: FamilyRequest::Single(Family::V4),
            ports: Vec::new(),
            sharing: None,
            pool: None,
            requested: Vec::new(),
        }
    }

    /// Sets the family request.
    pub fn with_families(mut self, families: FamilyRequest) -> Self {
        self.families = families;
        self
    }

    /// Sets the ports.
    pub fn with_ports(mut self, ports: impl IntoIterator<Item = Port>) -> Self {
        self.ports = ports.into_iter().collect();
        self
    }

    /// Sets the sharing key (an empty `key` means no sharing).
    pub fn with_sharing(mut self, key: &str, backend: &str) -> Self {
        self.sharing = SharingKey::new(key, backend);
        self
    }

    /// Sets the requested pool.
    pub fn with_pool(mut self, pool: &str) -> Self {
        self.pool = Some(pool.into());
        self
    }

    /// Sets the requested addresses.
    pub fn with_requested(mut self, ips: impl IntoIterator<Item = IpAddr>) -> Self {
        self.requested = ips.into_iter().collect();
        self
    }

    /// Adds a label.
    pub fn with_label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// The MetalLB annotation names, in their preferred `metallb.io/` form.
pub mod annotations {
    /// Allocate from this pool.
    pub const ADDRESS_POOL: &str = "metallb.io/address-pool";
    /// Comma-separated addresses to assign (one, or one per family).
    pub const LOAD_BALANCER_IPS: &str = "metallb.io/loadBalancerIPs";
    /// The sharing key.
    pub const ALLOW_SHARED_IP: &str = "metallb.io/allow-shared-ip";
    /// Written by the controller: the pool an assignment came from.
    pub const IP_ALLOCATED_FROM_POOL: &str = "metallb.io/ip-allocated-from-pool";
    /// The deprecated prefix, still honoured on input.
    pub const DEPRECATED_PREFIX: &str = "metallb.universe.tf/";
}

/// The allocation-related annotations of a service, read with upstream's precedence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    /// `address-pool`.
    pub pool: Option<String>,
    /// `loadBalancerIPs`, or `spec.loadBalancerIP`, parsed.
    pub requested: Vec<IpAddr>,
    /// `allow-shared-ip` (empty if absent).
    pub sharing_key: String,
    /// Whether any deprecated `metallb.universe.tf/` annotation was present (upstream warns
    /// with a `deprecatedAnnotation` event).
    pub uses_deprecated: bool,
}

impl Annotations {
    /// Reads `annotations` and `spec.loadBalancerIP`. The `metallb.io/` form wins over the
    /// deprecated `metallb.universe.tf/` form. Fails if both `loadBalancerIPs` and
    /// `spec.loadBalancerIP` are set, if an address does not parse, if more than two
    /// addresses or two of one family are given, or if `spec.loadBalancerIP` is anything but
    /// one address (upstream parses it with `net.ParseIP`, so a list is invalid there).
    pub fn parse(
        annotations: &BTreeMap<String, String>,
        spec_load_balancer_ip: Option<&str>,
    ) -> Result<Annotations, Error> {
        let value = |stable: &str| -> Option<&str> {
            let suffix = stable.trim_start_matches("metallb.io/");
            annotations
                .get(stable)
                .or_else(|| annotations.get(&format!("{}{suffix}", annotations::DEPRECATED_PREFIX)))
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        let uses_deprecated = annotations
            .keys()
            .any(|k| k.starts_with(annotations::DEPRECATED_PREFIX));
        let spec_ip = spec_load_balancer_ip.filter(|s| !s.is_empty());
        let requested = match (value(annotations::LOAD_BALANCER_IPS), spec_ip) {
            (Some(_), Some(_)) => return Err(Error::BothLoadBalancerIps),
            (Some(list), None) => parse_ip_list(list)?,
            (None, Some(one)) => vec![
                IpAddr::from_str(one.trim())
                    .map_err(|_| Error::InvalidSpecLoadBalancerIp(one.to_owned()))?
                    .to_canonical(),
            ],
            (None, None) => Vec::new(),
        };
        Ok(Annotations {
            pool: value(annotations::ADDRESS_POOL).map(str::to_owned),
            requested,
            sharing_key: value(annotations::ALLOW_SHARED_IP).unwrap_or("").to_owned(),
            uses_deprecated,
        })
    }
}

fn parse_ip_list(list: &str) -> Result<Vec<IpAddr>, Error> {
    let mut ips = Vec::new();
    for part in list.split(',') {
        let ip = IpAddr::from_str(part.trim())
            .map_err(|_| Error::InvalidRequestedIp(list.to_owned()))?
            .to_canonical();
        ips.push(ip);
    }
    check_at_most_one_per_family(&ips)?;
    Ok(ips)
}

/// At most two addresses, and two only if their families differ (MetalLB's `Assign` rule).
pub(crate) fn check_at_most_one_per_family(ips: &[IpAddr]) -> Result<(), Error> {
    match ips {
        [] | [_] => Ok(()),
        [a, b] if Family::of(a) != Family::of(b) => Ok(()),
        [a, b] => Err(Error::SameFamily(*a, *b)),
        _ => Err(Error::TooManyAddresses(ips.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn key_parts() {
        let k = ServiceKey::new("default", "web");
        assert_eq!(
            (k.namespace(), k.name(), k.as_str()),
            ("default", "web", "default/web")
        );
        let k = ServiceKey::new("", "bare");
        assert_eq!((k.namespace(), k.name()), ("", "bare"));
    }

    #[test]
    fn family_policies() {
        use Family::*;
        let f = FamilyRequest::from_policy;
        assert_eq!(f(None, &[V4]), Ok(FamilyRequest::Single(V4)));
        assert_eq!(
            f(Some("SingleStack"), &[V6, V4]),
            Ok(FamilyRequest::Single(V6))
        );
        assert_eq!(
            f(Some("PreferDualStack"), &[V6]),
            Ok(FamilyRequest::Single(V6))
        );
        assert_eq!(
            f(Some("PreferDualStack"), &[V6, V4]),
            Ok(FamilyRequest::PreferDual { primary: V6 })
        );
        assert_eq!(
            f(Some("RequireDualStack"), &[V4, V6]),
            Ok(FamilyRequest::RequireDual)
        );
        assert_eq!(
            f(Some("RequireDualStack"), &[V4]),
            Err(Error::NotEnoughClusterIps)
        );
        assert_eq!(f(None, &[]), Err(Error::NoClusterIps));
        assert!(matches!(
            f(Some("Whatever"), &[V4]),
            Err(Error::InvalidFamilyPolicy(_))
        ));
    }

    #[test]
    fn annotation_precedence() {
        let a = Annotations::parse(
            &ann(&[
                ("metallb.io/address-pool", "new"),
                ("metallb.universe.tf/address-pool", "old"),
                ("metallb.universe.tf/allow-shared-ip", "k"),
                ("metallb.io/loadBalancerIPs", "192.0.2.1, 2001:db8::1"),
            ]),
            None,
        )
        .expect("valid");
        assert_eq!(a.pool.as_deref(), Some("new"));
        assert_eq!(a.sharing_key, "k");
        assert!(a.uses_deprecated);
        assert_eq!(a.requested.len(), 2);
        let b = Annotations::parse(&ann(&[]), Some("192.0.2.7")).expect("spec ip");
        assert_eq!(
            b.requested,
            vec!["192.0.2.7".parse::<IpAddr>().expect("ip")]
        );
        assert!(!b.uses_deprecated);
    }

    #[test]
    fn annotation_errors() {
        let both = Annotations::parse(
            &ann(&[("metallb.io/loadBalancerIPs", "192.0.2.1")]),
            Some("192.0.2.2"),
        );
        assert_eq!(both, Err(Error::BothLoadBalancerIps));
        let bad = Annotations::parse(&ann(&[("metallb.io/loadBalancerIPs", "192.0.2.1,x")]), None);
        assert!(matches!(bad, Err(Error::InvalidRequestedIp(_))));
        let same = Annotations::parse(
            &ann(&[("metallb.io/loadBalancerIPs", "192.0.2.1,192.0.2.2")]),
            None,
        );
        assert!(matches!(same, Err(Error::SameFamily(..))));
        let three = Annotations::parse(
            &ann(&[(
                "metallb.io/loadBalancerIPs",
                "192.0.2.1,2001:db8::1,192.0.2.3",
            )]),
            None,
        );
        assert_eq!(three, Err(Error::TooManyAddresses(3)));
    }

    #[test]
    fn backend_keys() {
        let sel: Labels = [("app".to_string(), "web".to_string())]
            .into_iter()
            .collect();
        assert_eq!(SharingKey::backend_key(TrafficPolicy::Cluster, &sel), "");
        assert_eq!(
            SharingKey::backend_key(TrafficPolicy::Local, &sel),
            "app=web"
        );
        assert_eq!(
            TrafficPolicy::from_spec(Some("Local")),
            TrafficPolicy::Local
        );
        assert_eq!(
            TrafficPolicy::from_spec(Some("Cluster")),
            TrafficPolicy::Cluster
        );
        assert_eq!(TrafficPolicy::from_spec(None), TrafficPolicy::Cluster);
        assert_eq!(SharingKey::new("", "x"), None);
    }
}
