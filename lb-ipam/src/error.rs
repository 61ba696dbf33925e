//! The crate's one error type.

use std::net::IpAddr;

use crate::family::Family;
use crate::pool::RangeProblem;
use crate::selector::SelectorProblem;
use crate::service::{Port, ServiceKey};

/// Every way configuration or allocation can fail. Each variant carries what a controller needs
/// to write a useful Kubernetes event; none is ever a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // ---- configuration ----
    /// A pool has no name.
    #[error("a pool has an empty name")]
    UnnamedPool,
    /// A pool lists no addresses.
    #[error("pool {pool:?} has no addresses")]
    NoAddresses {
        /// The pool.
        pool: String,
    },
    /// An `addresses` entry is not a valid CIDR or range.
    #[error("pool {pool:?}: address entry {entry:?} is invalid: {problem}")]
    InvalidAddresses {
        /// The pool.
        pool: String,
        /// The entry as written.
        entry: String,
        /// What is wrong with it.
        problem: RangeProblem,
    },
    /// Two entries share an address.
    #[error("pool {pool:?}: {entry:?} overlaps with {other_entry:?} of pool {other_pool:?}")]
    Overlap {
        /// The pool of the later entry.
        pool: String,
        /// The later entry.
        entry: String,
        /// The pool of the earlier entry (may be the same pool).
        other_pool: String,
        /// The earlier entry.
        other_entry: String,
    },
    /// Two pools have the same name.
    #[error("duplicate definition of pool {pool:?}")]
    DuplicatePool {
        /// The name.
        pool: String,
    },
    /// `serviceAllocation.namespaces` lists a namespace twice.
    #[error("pool {pool:?}: namespace {namespace:?} is listed twice in serviceAllocation")]
    DuplicateNamespace {
        /// The pool.
        pool: String,
        /// The namespace.
        namespace: String,
    },
    /// A label selector of `serviceAllocation` is invalid.
    #[error("pool {pool:?}: invalid serviceAllocation.{field}: {problem}")]
    InvalidSelector {
        /// The pool.
        pool: String,
        /// Path of the offending field under `serviceAllocation`, for example
        /// `serviceSelectors[0].matchExpressions[1].values[2]`.
        field: String,
        /// What is wrong.
        problem: SelectorProblem,
    },

    // ---- the service ----
    /// The service has no cluster IP, so its family is unknown.
    #[error("the service has no cluster IPs, its IP family is unknown")]
    NoClusterIps,
    /// `RequireDualStack` with fewer than two cluster IP families.
    #[error("the service requires dual stack but its cluster IPs are single-stack")]
    NotEnoughClusterIps,
    /// An unknown `ipFamilyPolicy`.
    #[error("unknown ipFamilyPolicy {0:?}")]
    InvalidFamilyPolicy(String),
    /// An unknown port protocol.
    #[error("unknown port protocol {0:?}")]
    InvalidProtocol(String),
    /// Both `loadBalancerIPs` and `spec.loadBalancerIP` are set.
    #[error("service can not have both metallb.io/loadBalancerIPs and spec.loadBalancerIP")]
    BothLoadBalancerIps,
    /// A requested address does not parse.
    #[error("invalid requested load-balancer IPs {0:?}")]
    InvalidRequestedIp(String),
    /// `spec.loadBalancerIP` is not one address (a list belongs in the `loadBalancerIPs`
    /// annotation).
    #[error("spec.loadBalancerIP {0:?} is not a single IP address")]
    InvalidSpecLoadBalancerIp(String),
    /// More than two addresses.
    #[error("more than two addresses ({0})")]
    TooManyAddresses(usize),
    /// Two addresses of one family.
    #[error("{0} and {1} have the same family")]
    SameFamily(IpAddr, IpAddr),
    /// The requested addresses' families do not match the service's.
    #[error("requested load-balancer IPs {ips:?} do not match the IP family of the service")]
    RequestedFamilyMismatch {
        /// The requested addresses.
        ips: Vec<IpAddr>,
    },

    // ---- allocation ----
    /// No pool is configured.
    #[error("no address pools are configured")]
    NoPools,
    /// The named pool does not exist.
    #[error("unknown pool {0:?}")]
    UnknownPool(String),
    /// The addresses are not all handed out by one pool.
    #[error("{ips:?} is not allowed in config")]
    NotInAnyPool {
        /// The addresses.
        ips: Vec<IpAddr>,
    },
    /// A requested address lies in a pool's range but ends in `.0` or `.255`, which the pool
    /// skips because it sets `avoidBuggyIPs`.
    #[error("{ip} ends in .0 or .255, which pool {pool:?} does not hand out (avoidBuggyIPs)")]
    AvoidedBuggyIp {
        /// The address.
        ip: IpAddr,
        /// The pool whose range holds it.
        pool: String,
    },
    /// A requested address is the unspecified address (`0.0.0.0` or `::`), which no pool hands
    /// out.
    #[error("{0} is the unspecified address, which no pool hands out")]
    UnspecifiedAddress(IpAddr),
    /// The pool's `serviceAllocation` does not admit the service.
    #[error("pool {pool:?} is not compatible with the service")]
    PoolNotCompatible {
        /// The pool.
        pool: String,
    },
    /// The requested addresses are not in the requested pool.
    #[error("requested load-balancer IPs {ips:?} are not in the requested pool {pool:?}")]
    RequestedIpsNotInPool {
        /// The addresses.
        ips: Vec<IpAddr>,
        /// The requested pool.
        pool: String,
    },
    /// The address is used by a service it cannot be shared with.
    #[error("{ip} is in use by {service}: {conflict}")]
    AddressInUse {
        /// The address.
        ip: IpAddr,
        /// A service holding it.
        service: ServiceKey,
        /// Why the two cannot share.
        conflict: Conflict,
    },
    /// No pool had a free or compatibly shared address for the service.
    #[error("no available IPs")]
    NoAvailableIps,
    /// The pool has no free or compatibly shared address of the family.
    #[error("no available {family} IPs in pool {pool:?}")]
    NoAvailableIpsInPool {
        /// The pool.
        pool: String,
        /// The family that ran out (for dual stack, the first one missing).
        family: Family,
    },
    /// An assignment cannot be extended to a second family (it is not single-stack, or the
    /// service does not prefer dual stack).
    #[error("the service's assignment cannot take an address of another family")]
    NoAdditionalFamily,
}

/// Why two services cannot share an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// The service holding the address does not allow sharing.
    #[error("the existing service does not allow sharing")]
    ExistingNotShared,
    /// The new service does not allow sharing.
    #[error("the new service does not allow sharing")]
    NewNotShared,
    /// The sharing keys differ.
    #[error("sharing key {new:?} does not match the existing sharing key {existing:?}")]
    KeyMismatch {
        /// The key of the services on the address.
        existing: String,
        /// The key of the new service.
        new: String,
    },
    /// The backend keys differ (different traffic policy, or `Local` with other selectors).
    #[error("backend key {new:?} does not match the existing backend key {existing:?}")]
    BackendMismatch {
        /// The backend key of the services on the address.
        existing: String,
        /// The backend key of the new service.
        new: String,
    },
    /// Both use this port.
    #[error("port {0} is already in use")]
    Port(Port),
}
