//! The crate's one error type.

use std::fmt;
use std::path::PathBuf;

/// Names a configuration object: its kind and `metadata.name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// `IPAddressPool`, `BGPPeer`, …
    pub kind: &'static str,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// The object `name` of `kind`.
    pub fn new(kind: &'static str, name: impl Into<String>) -> Self {
        ObjectRef {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.kind, self.name)
    }
}

/// Every way this crate can fail. Configuration errors name the object and the field.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of a configuration object breaks a rule of the specification.
    #[error("{object}: {field}: {problem}")]
    Invalid {
        /// The object.
        object: ObjectRef,
        /// The field, as a path in the object (`spec.aggregationLength`).
        field: String,
        /// The rule broken.
        problem: Problem,
    },
    /// An `IPAddressPool` (or the set of them) is invalid; lb-ipam's error names the pool and entry.
    #[error("{object}: spec.addresses or spec.serviceAllocation: {source}")]
    Pool {
        /// The pool (for overlaps, the later one in name order).
        object: ObjectRef,
        /// lb-ipam's verdict.
        #[source]
        source: lb_ipam::Error,
    },
    /// A manifest could not be read as YAML, or a document is not a known kind.
    #[error("{origin}: {message}")]
    Yaml {
        /// File and document number, or another description of where the text came from.
        origin: String,
        /// What went wrong.
        message: String,
    },
    /// A file or folder could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// The Kubernetes API failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// A source stopped for good (its background task ended).
    #[error("the configuration source has stopped")]
    SourceClosed,
}

impl Error {
    /// Whether the error comes from a reference that may resolve later (a BGPPeer's
    /// `bfdProfile` or `passwordSecret`, a community alias not defined yet). Webhooks blank
    /// those fields instead of refusing the object.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Invalid { problem, .. } if problem.is_transient())
    }

    pub(crate) fn invalid(object: &ObjectRef, field: impl Into<String>, problem: Problem) -> Self {
        Error::Invalid {
            object: object.clone(),
            field: field.into(),
            problem,
        }
    }
}

/// The rule a configuration field breaks (the specification's §1 tables).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Two objects of one kind have the same name.
    #[error("duplicate definition of {0:?}")]
    DuplicateName(String),
    /// A list repeats an entry.
    #[error("{0:?} is listed twice")]
    Repeated(String),
    /// A label selector is invalid.
    #[error("invalid label selector: {0}")]
    InvalidSelector(String),
    /// Two selectors of one list are the same.
    #[error("duplicate selector {0:?}")]
    DuplicateSelector(String),
    /// A value is outside its allowed range.
    #[error("{value} is out of range {min}..={max}")]
    OutOfRange {
        /// The value given.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// The aggregation length is shorter than a CIDR of a pool the advertisement applies to.
    #[error(
        "aggregation length {length} is shorter than /{min} of address entry {entry:?} of pool {pool:?}"
    )]
    AggregationTooShort {
        /// The advertisement's length for the family.
        length: u8,
        /// The pool.
        pool: String,
        /// The pool's entry.
        entry: String,
        /// The shortest prefix that entry summarises to.
        min: u8,
    },
    /// `serviceSelectors` with a non-default aggregation length.
    #[error("serviceSelectors can only be used with the default aggregation lengths (32, 128)")]
    SelectorsWithAggregation,
    /// Two advertisements of one pool have different LOCAL_PREF and nothing separates them.
    #[error(
        "local preference {local_pref} conflicts with {other_local_pref} of BGPAdvertisement {other:?} on pool {pool:?}"
    )]
    LocalPrefConflict {
        /// This advertisement's value.
        local_pref: u32,
        /// The other advertisement.
        other: String,
        /// Its value.
        other_local_pref: u32,
        /// The pool both apply to.
        pool: String,
    },
    /// A community string has the right shape but bad numbers.
    #[error("invalid community value {0:?}")]
    InvalidCommunity(String),
    /// A community string is neither a value nor a known alias (transient).
    #[error("{0:?} is neither a community value nor a defined alias")]
    UnknownCommunity(String),
    /// More communities than one advertisement may carry.
    #[error("{0} communities, at most 63 are allowed")]
    TooManyCommunities(usize),
    /// A required field is missing or zero.
    #[error("missing {0}")]
    Missing(&'static str),
    /// Two fields of which exactly one must be set.
    #[error("exactly one of {0} and {1} must be set")]
    ExactlyOne(&'static str, &'static str),
    /// Two fields that may not both be set.
    #[error("{0} and {1} cannot both be set")]
    Exclusive(&'static str, &'static str),
    /// Not an IP address (or not the family required).
    #[error("{0:?} is not a valid {1}")]
    InvalidAddress(String, &'static str),
    /// A malformed value.
    #[error("invalid value {0:?}: {1}")]
    InvalidValue(String, &'static str),
    /// A timer combination upstream rejects.
    #[error("{0}")]
    InvalidTimers(&'static str),
    /// `ebgpMultiHop` on an iBGP session.
    #[error("ebgpMultiHop cannot be set for an iBGP peer (peerASN == myASN)")]
    MultiHopOnIbgp,
    /// A referenced BFD profile does not exist (transient).
    #[error("BFD profile {0:?} does not exist")]
    UnknownBfdProfile(String),
    /// A referenced secret is missing (transient) or unusable.
    #[error("secret {0:?}: {1}")]
    Secret(String, &'static str),
    /// Two peers that select a common node have the same address, port and VRF.
    #[error("peer {other:?} has the same address, port and VRF and selects a common node")]
    DuplicatePeer {
        /// The earlier peer in name order.
        other: String,
    },
    /// A BFD profile with echo mode is used by a peer that receives IPv6 prefixes.
    #[error(
        "echo mode of BFD profile {profile:?} cannot be used for peer {peer:?}, which receives IPv6 prefixes"
    )]
    EchoWithIpv6 {
        /// The profile.
        profile: String,
        /// The peer.
        peer: String,
    },
    /// A feature this release does not implement.
    #[error("not supported: {0}")]
    Unsupported(&'static str),
}

impl Problem {
    /// See [`Error::is_transient`].
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Problem::UnknownCommunity(_) | Problem::UnknownBfdProfile(_)
        ) || matches!(self, Problem::Secret(_, why) if *why == SECRET_MISSING)
    }
}

pub(crate) const SECRET_MISSING: &str = "not found in the MetalLB namespace";
