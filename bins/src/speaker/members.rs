//! Memberlist among the speakers (lb-memberlist, wire-compatible with MetalLB's), the live
//! set the L2 election reads, and the startup gate.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lb_memberlist::driver::{Driver, DriverConfig};
use lb_memberlist::{Config, Keyring, State};
use tokio::sync::watch;

use super::Error;

/// Memberlist timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Sub-second failure detection (every speaker must be ours).
    Fast,
    /// HashiCorp's LAN defaults, as MetalLB's speakers use (mixed clusters).
    Lan,
}

/// How to run memberlist.
#[derive(Debug, Clone)]
pub struct MemberlistOptions {
    /// This node's name (the member name).
    pub name: String,
    /// Where to bind UDP and TCP (and what to advertise).
    pub bind: SocketAddr,
    /// The other speakers to join.
    pub seeds: Vec<SocketAddr>,
    /// The 32-byte key (MetalLB's derivation of the secret), or `None` for no encryption.
    pub key: Option<[u8; 32]>,
    /// The timings.
    pub profile: Profile,
}

/// A running memberlist node. Cheap to clone (the joiner task holds a clone).
#[derive(Clone)]
pub struct Members {
    driver: Arc<Driver>,
    seeds: Arc<Mutex<Vec<SocketAddr>>>,
}

impl std::fmt::Debug for Members {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Members")
            .field("name", &self.driver.name())
            .field("seeds", &self.seeds())
            .finish()
    }
}

impl Members {
    /// Starts the node (without joining).
    pub async fn start(options: MemberlistOptions) -> Result<Members, Error> {
        let config = match options.profile {
            Profile::Fast => Config::fast(),
            Profile::Lan => Config::lan(),
        };
        let mut driver_options = DriverConfig::new(options.name, options.bind, config);
        if let Some(key) = options.key {
            driver_options.keyring = Some(Keyring::new(&key).map_err(Error::Key)?);
        }
        let driver = lb_memberlist::driver::spawn(driver_options).await?;
        Ok(Members {
            driver: Arc::new(driver),
            seeds: Arc::new(Mutex::new(options.seeds)),
        })
    }

    /// Wakes up on every change of the membership view.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.driver.changes()
    }

    /// The live members (alive or suspect, as upstream's `Members()`).
    pub fn live(&self) -> BTreeSet<String> {
        self.driver
            .members()
            .into_iter()
            .filter(|m| matches!(m.state, State::Alive | State::Suspect))
            .map(|m| m.name)
            .collect()
    }

    /// Joins the seeds that are not live members yet (all of them on the first call). `Ok`
    /// with how many answered; an error when none did.
    pub async fn join_missing(&self) -> Result<usize, Error> {
        let live: BTreeSet<SocketAddr> = self
            .driver
            .members()
            .into_iter()
            .filter(|m| matches!(m.state, State::Alive | State::Suspect))
            .filter_map(|m| {
                let ip: std::net::IpAddr = match m.addr.len() {
                    4 => <[u8; 4]>::try_from(m.addr.as_slice()).ok()?.into(),
                    16 => <[u8; 16]>::try_from(m.addr.as_slice()).ok()?.into(),
                    _ => return None,
                };
                Some(SocketAddr::new(ip, m.port))
            })
            .collect();
        let missing: Vec<SocketAddr> = self
            .seeds()
            .iter()
            .filter(|s| !live.contains(s) && **s != self.driver.advertise_addr())
            .copied()
            .collect();
        if missing.is_empty() {
            return Ok(0);
        }
        Ok(self.driver.join(&missing).await?)
    }

    /// Whether there is anyone to join.
    pub fn has_seeds(&self) -> bool {
        self.seeds()
            .iter()
            .any(|s| *s != self.driver.advertise_addr())
    }

    /// The gossip port (seeds without a port use it).
    pub fn port(&self) -> u16 {
        self.driver.advertise_addr().port()
    }

    /// The seeds.
    pub fn seeds(&self) -> Vec<SocketAddr> {
        self.seeds.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Adds seeds (discovered speakers); known ones are ignored.
    pub fn add_seeds(&self, more: impl IntoIterator<Item = SocketAddr>) {
        let mut seeds = self.seeds.lock().unwrap_or_else(|p| p.into_inner());
        for s in more {
            if !seeds.contains(&s) {
                seeds.push(s);
            }
        }
    }

    /// Leaves gracefully: the others see `Left` at once; the node stops when the leave has
    /// been gossiped (or `timeout` passes).
    pub async fn leave(&self, timeout: Duration) {
        if let Err(e) = self.driver.leave(timeout).await {
            tracing::warn!(error = %e, "memberlist leave");
        }
    }
}
