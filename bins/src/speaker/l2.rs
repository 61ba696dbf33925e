//! The Layer 2 announcer: ARP (lb-arp) and NDP (lb-ndp) drivers made to match
//! [`Desired::l2`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use lb_k8s::plan::{Announcer, Desired, Interfaces};

use super::Error;

/// Both Layer 2 drivers of a host and what they announce.
#[derive(Debug)]
pub struct L2Announcer {
    arp: lb_arp::driver::Handle,
    ndp: Option<lb_ndp::driver::Handle>,
    announced: BTreeMap<IpAddr, Interfaces>,
}

impl L2Announcer {
    /// Starts the ARP driver and, where IPv6 works, the NDP driver, on the current runtime,
    /// on the interfaces `filter` allows. Conflict events are logged.
    ///
    /// Addresses are not defended (RFC 5227 §2.4 (b)): between speakers, a foreign claim is
    /// the next owner's gratuitous announcement during a handover, and answering it would send
    /// clients back to the old owner for a moment. Conflicts are still reported, as MetalLB
    /// (which never defends) does not.
    pub async fn start(filter: lb_l2::netlink::InterfaceFilter) -> Result<L2Announcer, Error> {
        let arp_config = lb_arp::driver::DriverConfig {
            interfaces: filter.clone(),
            responder: lb_arp::Config {
                defend_interval: None,
                ..lb_arp::Config::default()
            },
            ..Default::default()
        };
        let arp = lb_arp::driver::spawn(arp_config).await?;
        log_events(arp.events(), "ARP");
        let ndp_config = lb_ndp::driver::DriverConfig {
            interfaces: filter,
            responder: lb_ndp::Config {
                defend_interval: None,
                ..lb_ndp::Config::default()
            },
            ..Default::default()
        };
        let ndp = match lb_ndp::driver::spawn(ndp_config).await {
            Ok(ndp) => {
                log_events(ndp.events(), "NDP");
                Some(ndp)
            }
            Err(e) => {
                tracing::warn!(error = %e, "NDP driver not started: IPv6 addresses will not be announced");
                None
            }
        };
        Ok(L2Announcer {
            arp,
            ndp,
            announced: BTreeMap::new(),
        })
    }

    /// The names of the interfaces the drivers use (for [`lb_k8s::plan::Plan::announce_failed`]).
    pub fn interface_names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self
            .arp
            .interfaces()
            .into_iter()
            .map(|(i, _)| i.name)
            .collect();
        if let Some(ndp) = &self.ndp {
            names.extend(ndp.interfaces().into_iter().map(|(i, _)| i.name));
        }
        names
    }

    /// What is announced now.
    pub fn announced(&self) -> &BTreeMap<IpAddr, Interfaces> {
        &self.announced
    }

    fn announce(&self, ip: IpAddr) {
        let only = match self.announced.get(&ip) {
            Some(Interfaces::Only(names)) => Some(names.clone()),
            _ => None,
        };
        let result = match ip {
            IpAddr::V4(v4) => self.arp.announce_on(v4, only).map_err(Error::from),
            IpAddr::V6(v6) => match &self.ndp {
                Some(ndp) => ndp.announce_on(v6, only).map_err(Error::from),
                None => Ok(()),
            },
        };
        if let Err(e) = result {
            tracing::error!(%ip, error = %e, "announce failed");
        }
    }

    fn withdraw(&self, ip: IpAddr) {
        match ip {
            IpAddr::V4(v4) => {
                self.arp.withdraw(v4);
            }
            IpAddr::V6(v6) => {
                if let Some(ndp) = &self.ndp {
                    ndp.withdraw(v6);
                }
            }
        }
    }

    /// Sends the gratuitous schedule again for every address announced (on a membership
    /// change that keeps this host the owner, and on the optional periodic refresh).
    pub fn refresh(&self) {
        for ip in self.announced.keys() {
            self.announce(*ip);
        }
    }

    /// Sends the gratuitous schedule again for those of `ips` that are announced.
    pub fn reannounce(&self, ips: &[IpAddr]) {
        for ip in ips {
            if self.announced.contains_key(ip) {
                self.announce(*ip);
            }
        }
    }

    /// Ends the gratuitous schedules but keeps answering: this host is leaving and the next
    /// owner announces (see [`lb_l2::driver::Handle::hand_over`]).
    pub fn hand_over(&self) {
        self.arp.hand_over();
        if let Some(ndp) = &self.ndp {
            ndp.hand_over();
        }
    }

    /// Stops answering for everything.
    pub fn withdraw_all(&mut self) {
        for ip in std::mem::take(&mut self.announced).into_keys() {
            self.withdraw(ip);
        }
    }

    /// Stops both drivers.
    pub async fn shutdown(&mut self) {
        self.withdraw_all();
        self.arp.shutdown().await;
        if let Some(ndp) = &self.ndp {
            ndp.shutdown().await;
        }
    }
}

/// Logs a driver's events (conflicts) as warnings until it stops.
fn log_events<E: std::fmt::Debug + Clone + Send + 'static>(
    mut events: tokio::sync::broadcast::Receiver<E>,
    protocol: &'static str,
) {
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(e) => tracing::warn!(event = ?e, "{protocol}"),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, protocol, "events skipped");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

impl Announcer for L2Announcer {
    type Error = Error;

    /// Withdraws first, then announces what is new (a takeover sends its first gratuitous
    /// round at once) or moved to another interface set. An address restricted to some
    /// interfaces (`L2Advertisement.spec.interfaces`) is answered on those only.
    fn apply(&mut self, desired: &Desired) -> Result<(), Error> {
        let gone: Vec<IpAddr> = self
            .announced
            .keys()
            .filter(|ip| !desired.l2.contains_key(ip))
            .copied()
            .collect();
        for ip in gone {
            self.withdraw(ip);
            self.announced.remove(&ip);
            tracing::info!(%ip, "layer2: withdrawn");
        }
        for (ip, interfaces) in &desired.l2 {
            if self.announced.get(ip) != Some(interfaces) {
                self.announced.insert(*ip, interfaces.clone());
                self.announce(*ip);
                tracing::info!(%ip, ?interfaces, "layer2: announcing");
            }
        }
        Ok(())
    }
}
