//! The `speaker` binary's parts: MetalLB's speaker (announces the addresses of
//! `LoadBalancer` Services by Layer 2 and BGP), here first for hosts without Kubernetes.
//!
//! ```text
//!  ManifestSource ──Snapshot──▶ Tracker (last good config)
//!                                  │
//!       standalone::assign (addresses, as the controller would)
//!                                  │
//!  Members (memberlist) ──live──▶ world::plan_host ──Desired──▶ L2Announcer (lb-arp, lb-ndp)
//!                                                          └──▶ BgpAnnouncer (lb-bgp)
//! ```
//!
//! [`run`] is the loop; [`cli`] the command line, so an example or a test can run the speaker
//! in-process through [`cli::main_with_args`].

pub mod bgp;
pub mod cli;
pub mod exclude;
pub mod l2;
pub mod members;
pub mod metrics;
pub mod run;
pub mod standalone;
pub mod status;
pub mod world;

/// What can stop the speaker.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ARP or NDP driver failed (`lb_arp::Error` and `lb_ndp::Error` are one type).
    #[error("layer 2: {0}")]
    Layer2(#[from] lb_arp::Error),
    /// The BGP driver failed.
    #[error("BGP: {0}")]
    Bgp(#[from] lb_bgp::driver::Error),
    /// Memberlist failed.
    #[error("memberlist: {0}")]
    Memberlist(#[from] lb_memberlist::Error),
    /// The memberlist key was refused.
    #[error("memberlist key: {0}")]
    Key(#[source] lb_memberlist::Error),
    /// The configuration could not be read.
    #[error("{0}")]
    Config(#[from] lb_k8s::Error),
    /// A file or socket.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}
