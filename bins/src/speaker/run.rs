//! The speaker's loop: snapshots and membership changes in, announcements out; and the
//! graceful stop.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use lb_ipam::ServiceKey;
use lb_k8s::config::{Config, Objects, Options as ConfigOptions, Tracker, Update};
use lb_k8s::plan::{Announcer, Plan};
use lb_k8s::source::{ManifestSource, Source};
use tokio::time::{Instant, sleep_until};

use super::Error;
use super::bgp::BgpAnnouncer;
use super::l2::L2Announcer;
use super::members::{MemberlistOptions, Members};
use super::metrics::{Announced, Metrics, PeerLabel};
use super::world::{HostOptions, plan_host};
use super::{standalone, status};
use crate::http::State;

/// Where the objects come from.
#[derive(Clone)]
pub enum Mode {
    /// Standalone: a folder of manifests; the addresses are computed here.
    Manifests(PathBuf),
    /// The Kubernetes API server: the controller assigns the addresses; this node's
    /// `ServiceL2Status` / `ServiceBGPStatus` objects are written.
    Kube {
        /// The client.
        client: kube::Client,
        /// The MetalLB namespace.
        namespace: String,
        /// This speaker's pod (owner of the status objects).
        pod_name: Option<String>,
        /// The speakers' pod labels, for memberlist discovery (`--ml-labels`).
        ml_labels: Option<String>,
    },
}

impl std::fmt::Debug for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::Manifests(dir) => f.debug_tuple("Manifests").field(dir).finish(),
            Mode::Kube {
                namespace,
                pod_name,
                ml_labels,
                ..
            } => f
                .debug_struct("Kube")
                .field("namespace", namespace)
                .field("pod_name", pod_name)
                .field("ml_labels", ml_labels)
                .finish(),
        }
    }
}

/// Everything [`run`] needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the objects come from.
    pub mode: Mode,
    /// This host, the load-balancer class, `--ignore-exclude-lb`.
    pub host: HostOptions,
    /// Memberlist, if on.
    pub memberlist: Option<MemberlistOptions>,
    /// The interfaces Layer 2 may use.
    pub interfaces: lb_l2::netlink::InterfaceFilter,
    /// An optional BGP listener.
    pub bgp_listen: Option<SocketAddr>,
    /// How often the folder is checked for changes.
    pub reload_interval: Duration,
    /// The longest the startup gate waits for the first join.
    pub join_gate: Duration,
    /// How often seeds that are not members are joined again.
    pub rejoin_interval: Duration,
    /// On a graceful stop, how long Layer 2 keeps answering after the leave was announced.
    pub handover: Duration,
    /// On a graceful stop, how long routes stay advertised with GRACEFUL_SHUTDOWN.
    pub bgp_drain: Duration,
    /// Re-send the gratuitous schedule for owned addresses this often (off: `None`).
    pub gratuitous_refresh: Option<Duration>,
}

/// One decision as the log shows it, to log only changes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    ips: Vec<IpAddr>,
    l2: Result<(), String>,
    owner: Option<String>,
    bgp_peers: BTreeSet<String>,
    l2_announced: bool,
    interfaces_missing: bool,
}

fn node_assigned(me: &str, protocol: &str) -> lb_k8s::service::Event {
    lb_k8s::service::Event::normal(
        lb_k8s::service::reason::NODE_ASSIGNED,
        format!("announcing from node {me:?} with protocol {protocol:?}"),
    )
}

struct Loop {
    options: Options,
    metrics: Arc<Metrics>,
    tracker: Tracker,
    good: Option<(Arc<Objects>, Arc<Config>)>,
    l2: L2Announcer,
    bgp: BgpAnnouncer,
    members: Option<Members>,
    gate_open: bool,
    shown: BTreeMap<ServiceKey, Shown>,
    last_live: Option<BTreeSet<String>>,
    statuses: Option<tokio::sync::watch::Sender<status::Wanted>>,
}

impl Loop {
    fn take_snapshot(&mut self, objects: Arc<Objects>) {
        match self.tracker.update(&objects) {
            Update::Applied(config) => {
                tracing::info!(
                    pools = config.pools.len(),
                    peers = config.peers.len(),
                    "configuration loaded"
                );
                self.good = Some((objects, config));
            }
            Update::Unchanged => {
                if let Some((_, config)) = &self.good {
                    self.good = Some((objects, config.clone()));
                }
            }
            Update::Rejected(e) => {
                self.metrics.update_errors.inc();
                tracing::error!(error = %e, "configuration refused, keeping the last good one");
            }
        }
        self.metrics
            .config_loaded
            .set(i64::from(self.tracker.loaded()));
        self.metrics
            .config_stale
            .set(i64::from(self.tracker.stale()));
    }

    async fn reconcile(&mut self) -> bool {
        let Some((objects, config)) = self.good.clone() else {
            return false;
        };
        self.metrics.updates_processed.inc();
        let live = self.members.as_ref().map(Members::live);
        let membership_changed = live != self.last_live;
        if membership_changed && let Some(live) = &live {
            tracing::info!(members = ?live, "membership");
        }
        self.last_live = live.clone();
        let services = if self.options.host.standalone {
            let assigned = standalone::assign(&objects, self.options.host.lb_class.as_deref());
            for (service, warning, reason, message) in &assigned.events {
                if *warning {
                    tracing::warn!(%service, reason, message, "allocation");
                } else {
                    tracing::debug!(%service, reason, message, "allocation");
                }
            }
            assigned.services
        } else {
            objects.services.clone()
        };
        let mut plan = plan_host(
            &objects,
            &services,
            &config,
            live.as_ref(),
            &self.options.host,
        );
        for failed in plan.announce_failed(&self.l2.interface_names()) {
            tracing::warn!(service = %failed, "announceFailed: none of the advertisement's interfaces is on this host");
        }
        if self.gate_open {
            self.show(&plan, &objects);
        } else {
            plan.desired.l2.clear();
        }
        let before: BTreeSet<IpAddr> = self.l2.announced().keys().copied().collect();
        if let Err(e) = self.l2.apply(&plan.desired) {
            tracing::error!(error = %e, "layer2");
        }
        if membership_changed {
            // Upstream's schedule again for the addresses kept through a membership change.
            let kept: Vec<IpAddr> = before
                .into_iter()
                .filter(|ip| plan.desired.l2.contains_key(ip))
                .collect();
            self.l2.reannounce(&kept);
        }
        self.bgp.apply(&plan.desired, &config).await;
        self.set_announced(&plan);
        if let Some(tx) = &self.statuses
            && self.gate_open
        {
            tx.send_if_modified(|w| {
                let new = status::Wanted {
                    l2: plan.l2_statuses.clone(),
                    bgp: plan.bgp_statuses.clone(),
                };
                let changed = *w != new;
                *w = new;
                changed
            });
        }
        true
    }

    /// Logs what changed and (Kubernetes mode) records upstream's speaker events on the
    /// Services: `nodeAssigned` when this node starts announcing by a protocol (on ownership
    /// change only, not on every reconcile as upstream), `announceFailed` when it wins the
    /// election but has none of the advertisement's interfaces.
    fn show(&mut self, plan: &Plan, objects: &Objects) {
        let me = &self.options.host.me;
        let mut events: Vec<(ServiceKey, lb_k8s::service::Event)> = Vec::new();
        let mut now = BTreeMap::new();
        for (key, d) in &plan.services {
            let shown = Shown {
                ips: d.ips.clone(),
                l2: d.l2.as_ref().map(|_| ()).map_err(|r| r.as_str().to_owned()),
                owner: d.l2_owner.clone(),
                bgp_peers: d.bgp_peers.clone(),
                l2_announced: d.l2.is_ok() && !d.interfaces_missing,
                interfaces_missing: d.interfaces_missing,
            };
            let before = self.shown.get(key);
            let was_l2 = before.is_some_and(|b| b.l2_announced);
            let was_bgp = before.is_some_and(|b| !b.bgp_peers.is_empty());
            if shown.l2_announced && !was_l2 {
                events.push((key.clone(), node_assigned(me, "layer2")));
            }
            if !shown.bgp_peers.is_empty() && !was_bgp {
                events.push((key.clone(), node_assigned(me, "bgp")));
            }
            if d.interfaces_missing && !before.is_some_and(|b| b.interfaces_missing) {
                events.push((
                    key.clone(),
                    lb_k8s::service::Event::warning(
                        lb_k8s::service::reason::ANNOUNCE_FAILED,
                        format!("node {me:?} has none of the interfaces the L2Advertisement names"),
                    ),
                ));
            }
            if before != Some(&shown) {
                let ips: Vec<String> = d.ips.iter().map(ToString::to_string).collect();
                match (&d.l2, &d.pool) {
                    (Ok(_), _) => {
                        tracing::info!(service = %key, ips = ?ips, node = %me, "layer2: this node announces")
                    }
                    (Err(reason), Some(pool)) => {
                        tracing::info!(service = %key, ips = ?ips, pool, owner = ?d.l2_owner, reason = reason.as_str(), "layer2: not announced from this node")
                    }
                    (Err(reason), None) => {
                        tracing::info!(service = %key, reason = reason.as_str(), "not announced")
                    }
                }
                if !d.bgp_peers.is_empty() {
                    tracing::info!(service = %key, ips = ?ips, peers = ?d.bgp_peers, "bgp: advertised");
                }
            }
            now.insert(key.clone(), shown);
        }
        for key in self.shown.keys() {
            if !now.contains_key(key) {
                tracing::info!(service = %key, "service gone");
            }
        }
        self.shown = now;
        if let (
            Mode::Kube {
                client, pod_name, ..
            },
            false,
        ) = (&self.options.mode, events.is_empty())
        {
            for (key, event) in events {
                let uid = objects
                    .services
                    .iter()
                    .find(|s| {
                        s.metadata.namespace.as_deref() == Some(key.namespace())
                            && s.metadata.name.as_deref() == Some(key.name())
                    })
                    .and_then(|s| s.metadata.uid.clone());
                let ev = crate::controller::reconcile::ServiceEvent { key, uid, event };
                let (client, pod) = (client.clone(), pod_name.clone());
                tokio::spawn(async move {
                    crate::controller::shell::record(
                        &client,
                        &ev,
                        pod.as_deref(),
                        "metallb-speaker",
                    )
                    .await;
                });
            }
        }
    }

    fn set_announced(&self, plan: &Plan) {
        let me = &self.options.host.me;
        let mut series = Vec::new();
        for (key, d) in &plan.services {
            let mut push = |protocol: &str| {
                for ip in &d.ips {
                    series.push(Announced {
                        service: key.to_string(),
                        protocol: protocol.into(),
                        node: me.clone(),
                        ip: ip.to_string(),
                    });
                }
            };
            if d.l2.is_ok() && !d.interfaces_missing && self.gate_open {
                push("layer2");
            }
            if !d.bgp_peers.is_empty() {
                push("bgp");
            }
        }
        self.metrics.set_announced(series);
    }

    fn bgp_metrics(&self) {
        let speaker = self.bgp.speaker();
        for peer in self.bgp.sessions().values() {
            let port = if peer.port == 0 { 179 } else { peer.port };
            let label = PeerLabel {
                peer: SocketAddr::new(peer.address, port).to_string(),
            };
            let Ok(stats) = speaker.stats(peer.address) else {
                continue;
            };
            let up = stats.state == lb_bgp::session::State::Established;
            self.metrics
                .session_up
                .get_or_create(&label)
                .set(i64::from(up));
            let counter = self.metrics.updates.get_or_create(&label);
            let sent = stats.messages_sent.update;
            let seen = counter.get();
            if sent > seen {
                counter.inc_by(sent - seen);
            }
            let gauge = |g: &prometheus_client::metrics::family::Family<
                PeerLabel,
                prometheus_client::metrics::gauge::Gauge,
            >,
                         v: usize| {
                g.get_or_create(&label)
                    .set(i64::try_from(v).unwrap_or(i64::MAX));
            };
            gauge(&self.metrics.announced_prefixes, stats.prefixes_sent);
            gauge(&self.metrics.pending_prefixes, stats.prefixes_desired);
        }
    }
}

/// Memberlist discovery in Kubernetes mode: the speaker pods' IPs become seeds, at start and
/// every minute (the joiner task joins those not yet members).
fn discover(members: Members, client: kube::Client, namespace: String, labels: String) {
    tokio::spawn(async move {
        let port = members.port();
        loop {
            match status::speaker_pod_ips(&client, &namespace, &labels).await {
                Ok(ips) => members.add_seeds(ips.into_iter().map(|ip| SocketAddr::new(ip, port))),
                Err(e) => tracing::warn!(error = %e, "memberlist: cannot list the speaker pods"),
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    });
}

/// How soon a first join that no seed answered is tried again (until the startup gate's
/// deadline).
const FIRST_JOIN_RETRY: Duration = Duration::from_millis(100);

/// Memberlist, started once the speaker has its first good configuration: the others hand
/// this host its addresses the moment they see it, so it must be able to announce them by
/// then (a speaker that joined first left them unanswered while it read its configuration,
/// or for good when that configuration was refused).
struct Gossip {
    members: Members,
    /// The first join finished: the startup gate opens (Layer 2 waits for it, or for
    /// `gate_deadline`, so a host that has not met the others yet does not win every
    /// election).
    joined: tokio::sync::oneshot::Receiver<()>,
    gate_deadline: Instant,
    /// Joins (Kubernetes mode: after the first list of the speaker pods), then rejoins the
    /// missing seeds every `rejoin_interval`.
    joiner: tokio::task::JoinHandle<()>,
}

impl Gossip {
    async fn start(config: MemberlistOptions, options: &Options) -> Result<Gossip, Error> {
        let members = Members::start(config).await?;
        let (gate_tx, joined) = tokio::sync::oneshot::channel::<()>();
        let m = members.clone();
        let interval = options.rejoin_interval;
        let gate = options.join_gate;
        let kube = match &options.mode {
            Mode::Kube {
                client,
                namespace,
                ml_labels: Some(labels),
                ..
            } => Some((client.clone(), namespace.clone(), labels.clone())),
            _ => None,
        };
        let deadline = Instant::now() + gate;
        let joiner = tokio::spawn(async move {
            if let Some((client, namespace, labels)) = kube {
                // The first list before the first join, so the startup gate waits for it.
                let first = status::speaker_pod_ips(&client, &namespace, &labels);
                if let Ok(Ok(ips)) = tokio::time::timeout(gate, first).await {
                    let port = m.port();
                    m.add_seeds(ips.into_iter().map(|ip| SocketAddr::new(ip, port)));
                }
                discover(m.clone(), client, namespace, labels);
            }
            // The others read their configuration too before they listen: until one answers
            // (or the gate's deadline), try again, so that speakers started together meet
            // before any of them announces alone.
            loop {
                match m.join_missing().await {
                    Ok(n) => {
                        tracing::info!(answered = n, "memberlist: joined");
                        break;
                    }
                    Err(e) if Instant::now() + FIRST_JOIN_RETRY < deadline => {
                        tracing::debug!(error = %e, "memberlist: first join, trying again");
                        tokio::time::sleep(FIRST_JOIN_RETRY).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "memberlist: first join failed");
                        break;
                    }
                }
            }
            let _ = gate_tx.send(());
            loop {
                tokio::time::sleep(interval).await;
                if let Err(e) = m.join_missing().await {
                    tracing::debug!(error = %e, "memberlist: rejoin");
                }
            }
        });
        Ok(Gossip {
            members,
            joined,
            gate_deadline: deadline,
            joiner,
        })
    }
}

/// Runs the speaker until `stop` completes, then stops gracefully: BGP routes drained
/// (RFC 8326 GRACEFUL_SHUTDOWN, then withdrawn), the memberlist leave announced so the next
/// owner takes the Layer 2 addresses over while this host still answers for them, then
/// everything closed. `state.ready` turns true once the first plan is applied.
pub async fn run(
    options: Options,
    state: Arc<State<Arc<Metrics>>>,
    stop: impl Future<Output = ()>,
) -> Result<(), Error> {
    let metrics = state.metrics.clone();
    let l2 = L2Announcer::start(options.interfaces.clone()).await?;
    let bgp = BgpAnnouncer::start(&options.host.me, options.bgp_listen).await?;
    let mut statuses = None;
    let source: Box<dyn Source + Send> = match &options.mode {
        Mode::Manifests(dir) => {
            Box::new(ManifestSource::new(dir.clone()).spawn(options.reload_interval))
        }
        Mode::Kube {
            client,
            namespace,
            pod_name,
            ml_labels: _,
        } => {
            let owner = match pod_name {
                Some(pod) => status::pod_owner(client, namespace, pod).await,
                None => None,
            };
            let (tx, rx) = tokio::sync::watch::channel(status::Wanted::default());
            status::spawn(
                client.clone(),
                status::Target {
                    namespace: namespace.clone(),
                    node: options.host.me.clone(),
                    owner,
                },
                rx,
            );
            statuses = Some(tx);
            Box::new(lb_k8s::source::KubeSource::start(client.clone(), namespace))
        }
    };
    let mut snapshots = source.subscribe();
    // Memberlist starts with the first good configuration (see `Gossip::start`).
    let mut ml_changes: Option<tokio::sync::watch::Receiver<u64>> = None;
    let mut joined: Option<tokio::sync::oneshot::Receiver<()>> = None;
    let mut gate_deadline = None;
    let mut joiner = None;
    let mut this = Loop {
        metrics,
        tracker: Tracker::new(ConfigOptions {
            bfd: true,
            ..ConfigOptions::default()
        }),
        good: None,
        l2,
        bgp,
        gate_open: options.memberlist.is_none(),
        members: None,
        shown: BTreeMap::new(),
        last_live: None,
        statuses,
        options,
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut refresh = this.options.gratuitous_refresh.map(|d| {
        let mut i = tokio::time::interval_at(Instant::now() + d, d);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    tokio::pin!(stop);
    loop {
        let mut dirty = false;
        tokio::select! {
            () = &mut stop => break,
            changed = snapshots.changed() => {
                if changed.is_err() {
                    break;
                }
                let snap = snapshots.borrow_and_update().clone();
                if snap.generation > 0 {
                    this.take_snapshot(snap.objects);
                    dirty = true;
                }
            }
            changed = async { ml_changes.as_mut()?.changed().await.ok() }, if ml_changes.is_some() => {
                if changed.is_none() {
                    ml_changes = None;
                }
                dirty = true;
            }
            _ = async { joined.as_mut()?.await.ok() }, if !this.gate_open && joined.is_some() => {
                joined = None;
                this.gate_open = true;
                dirty = true;
            }
            () = async {
                match gate_deadline {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            }, if !this.gate_open => {
                tracing::info!("memberlist: no answer yet; starting to announce");
                this.gate_open = true;
                dirty = true;
            }
            Some(_) = async {
                match refresh.as_mut() {
                    Some(r) => Some(r.tick().await),
                    None => None,
                }
            }, if refresh.is_some() => {
                this.l2.refresh();
            }
            _ = tick.tick() => this.bgp_metrics(),
        }
        if dirty && this.reconcile().await {
            if this.members.is_none()
                && let Some(o) = this.options.memberlist.clone()
            {
                let g = Gossip::start(o, &this.options).await?;
                ml_changes = Some(g.members.changes());
                joined = Some(g.joined);
                gate_deadline = Some(g.gate_deadline);
                joiner = Some(g.joiner);
                this.members = Some(g.members);
            }
            if this.gate_open {
                state.ready.store(true, Ordering::Relaxed);
            }
        }
    }

    // Graceful stop.
    tracing::info!("stopping: draining BGP, handing Layer 2 over");
    state.ready.store(false, Ordering::Relaxed);
    if let Some(j) = joiner {
        j.abort();
    }
    let drained = Instant::now() + this.options.bgp_drain;
    this.bgp.drain(this.options.bgp_drain);
    this.l2.hand_over();
    if let Some(m) = &this.members {
        m.leave(Duration::from_secs(1)).await;
        tokio::time::sleep(this.options.handover).await;
    }
    this.l2.shutdown().await;
    sleep_until(drained).await;
    this.bgp.shutdown().await;
    for peer in this.bgp.sessions().values() {
        this.metrics.remove_peer(&PeerLabel {
            peer: SocketAddr::new(peer.address, peer.port).to_string(),
        });
    }
    drop(source);
    tracing::info!("stopped");
    Ok(())
}
