//! Events on Service objects, with upstream's reason strings (§2.6).

use std::net::IpAddr;

use lb_ipam::{ClearReason, Convergence, Note, ServiceKey};

/// The reason strings (API surface: users alert on them).
pub mod reason {
    /// New addresses assigned.
    pub const IP_ALLOCATED: &str = "IPAllocated";
    /// No address could be given.
    pub const ALLOCATION_FAILED: &str = "AllocationFailed";
    /// The held address is no longer allowed; it will be re-allocated.
    pub const CLEAR_ASSIGNMENT: &str = "ClearAssignment";
    /// Requested addresses are invalid while the Service holds addresses.
    pub const LOAD_BALANCER_FAILED: &str = "LoadBalancerFailed";
    /// The second family of a `PreferDualStack` Service failed.
    pub const ADDITIONAL_ASSIGN_FAILED: &str = "AdditionalAssignFailed";
    /// `RequireDualStack` with fewer than two cluster IPs (the space is upstream's).
    pub const NOT_ENOUGH_CLUSTER_IPS: &str = "not enough clusterips";
    /// The status holds addresses that do not parse.
    pub const NO_LB_IPS_FAMILY: &str = "nolbIPsIPFamily";
    /// The cluster IPs do not parse.
    pub const NO_CLUSTER_IPS_FAMILY: &str = "noclusterIPsIPFamily";
    /// An invariant broke.
    pub const INTERNAL_ERROR: &str = "InternalError";
    /// A `metallb.universe.tf/` annotation is present.
    pub const DEPRECATED_ANNOTATION: &str = "deprecatedAnnotation";
    /// The speaker announces the Service from this node.
    pub const NODE_ASSIGNED: &str = "nodeAssigned";
    /// The L2 winner has none of the advertisement's interfaces.
    pub const ANNOUNCE_FAILED: &str = "announceFailed";
}

/// `Normal` or `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Informational.
    Normal,
    /// Something the user should look at.
    Warning,
}

impl EventType {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// An event to record on a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `Normal` or `Warning`.
    pub type_: EventType,
    /// One of [`reason`].
    pub reason: &'static str,
    /// Human-readable text.
    pub message: String,
}

impl Event {
    /// A `Normal` event.
    pub fn normal(reason: &'static str, message: impl Into<String>) -> Self {
        Event {
            type_: EventType::Normal,
            reason,
            message: message.into(),
        }
    }

    /// A `Warning` event.
    pub fn warning(reason: &'static str, message: impl Into<String>) -> Self {
        Event {
            type_: EventType::Warning,
            reason,
            message: message.into(),
        }
    }
}

/// Go's `%q` of a list of addresses: `["192.0.2.1" "2001:db8::1"]`.
fn quoted(ips: &[IpAddr]) -> String {
    let inner: Vec<String> = ips
        .iter()
        .map(|ip| format!("{:?}", ip.to_string()))
        .collect();
    format!("[{}]", inner.join(" "))
}

/// The events one `Allocator::converge` call asks for. `deprecated` are the deprecated
/// annotation keys of the Service; they are reported only when `writing` (the controller is
/// about to write the Service), as upstream does.
pub fn convergence_events(
    key: &ServiceKey,
    convergence: &Convergence,
    deprecated: &[String],
    writing: bool,
) -> Vec<Event> {
    let mut out = Vec::new();
    for note in &convergence.notes {
        match note {
            Note::Cleared {
                ips,
                reason: ClearReason::NotAllowed(e),
            } => out.push(Event::normal(
                reason::CLEAR_ASSIGNMENT,
                format!(
                    "current IP {} not allowed by config, clearing: {e}",
                    quoted(ips)
                ),
            )),
            Note::Cleared { .. } => {}
            Note::Allocated(ips) => out.push(Event::normal(
                reason::IP_ALLOCATED,
                format!("Assigned IP {}", quoted(ips)),
            )),
            Note::AddedFamily(ip) => out.push(Event::normal(
                reason::IP_ALLOCATED,
                format!("Assigned additional IP {:?}", ip.to_string()),
            )),
            Note::AddFamilyFailed(e) => out.push(Event::normal(
                reason::ADDITIONAL_ASSIGN_FAILED,
                format!(
                    "Failed to allocate additional IP for {:?}: {e}",
                    key.as_str()
                ),
            )),
        }
    }
    match &convergence.outcome {
        Ok(_) => {}
        // Silent cases: logged only.
        Err(lb_ipam::Error::NoPools | lb_ipam::Error::NoClusterIps) => {}
        Err(e) => out.push(Event::warning(
            reason::ALLOCATION_FAILED,
            format!("Failed to allocate IP for {:?}: {e}", key.as_str()),
        )),
    }
    if writing {
        for k in deprecated {
            out.push(Event::warning(
                reason::DEPRECATED_ANNOTATION,
                format!("annotation {k:?} is deprecated, use the metallb.io/ prefix"),
            ));
        }
    }
    out
}
