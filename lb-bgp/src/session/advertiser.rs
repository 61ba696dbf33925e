//! The route advertiser: the desired routes, what the peer has (Adj-RIB-Out), and the UPDATE
//! packer that sends the difference.
//!
//! The diff visits each changed prefix once (or every prefix after a reconnect, a route
//! refresh or a drain step) and groups them by their shared [`RouteAttributes`] `Arc`; each
//! group's path attributes are encoded once and its prefixes are written straight into the
//! output buffer, as many per UPDATE as the negotiated maximum size allows.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Instant;

use ipnet::IpNet;
use rustc_hash::FxHashMap;

use super::hash::PrefixMap;

use super::route::{Route, RouteAttributes};
use crate::wire::header::{HEADER_LEN, MessageType, write_header};
use crate::wire::{Afi, Safi};
use crate::wire::{AsPath, Attribute, AttributeData, Community, Context, Nlri, Origin, Update};

/// What the peer has for a prefix.
#[derive(Debug, Clone)]
struct Sent {
    attributes: Arc<RouteAttributes>,
    drained: bool,
}

/// Where a drain stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drain {
    /// Normal advertisement.
    Off,
    /// Routes carry GRACEFUL_SHUTDOWN until the deadline, then are withdrawn.
    Draining(Instant),
    /// Every route withdrawn, until the drain is cancelled.
    Done,
}

/// The session facts the packer needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env {
    pub(crate) ctx: Context,
    pub(crate) ibgp: bool,
    pub(crate) local_as: u32,
    pub(crate) ipv4: bool,
    pub(crate) ipv6: bool,
    pub(crate) ipv4_over_mp: bool,
    pub(crate) next_hop_v4: Option<Ipv4Addr>,
    pub(crate) next_hop_v6: Option<Ipv6Addr>,
    pub(crate) link_local_v6: Option<Ipv6Addr>,
}

/// What one flush produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flushed {
    pub(crate) updates: u64,
    pub(crate) announced: usize,
    pub(crate) withdrawn: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Advertiser {
    desired: PrefixMap<Arc<RouteAttributes>>,
    sent: PrefixMap<Sent>,
    /// Prefixes changed since the last flush (may repeat), while `tracking`.
    dirty: Vec<IpNet>,
    /// Visit every prefix at the next flush.
    full: bool,
    /// Recording changes (the session is Established).
    tracking: bool,
    /// End-of-RIB owed after the next flush.
    eor_pending: bool,
    /// Families (IPv4, IPv6) to send again in full (ROUTE-REFRESH).
    refresh: [bool; 2],
    drain: Option<Drain>,
}

fn is_v6(p: &IpNet) -> bool {
    matches!(p, IpNet::V6(_))
}

impl Advertiser {
    pub(crate) fn desired_len(&self) -> usize {
        self.desired.len()
    }

    pub(crate) fn sent_len(&self) -> usize {
        self.sent.len()
    }

    pub(crate) fn routes(&self) -> impl Iterator<Item = Route> + '_ {
        self.desired
            .iter()
            .map(|(p, a)| Route::with_attributes(*p, a.clone()))
    }

    fn touch(&mut self, p: IpNet) {
        if self.tracking && !self.full {
            self.dirty.push(p);
            // A caller churning one prefix must not grow the list without bound.
            if self.dirty.len() > 2 * (self.desired.len() + self.sent.len()) + 1024 {
                self.dirty.clear();
                self.full = true;
            }
        }
    }

    pub(crate) fn set_routes(&mut self, routes: impl IntoIterator<Item = Route>) {
        let mut next: PrefixMap<Arc<RouteAttributes>> = PrefixMap::default();
        let routes = routes.into_iter();
        next.reserve(routes.size_hint().0);
        for r in routes {
            next.insert(r.prefix.trunc(), r.attributes);
        }
        self.desired = next;
        if self.tracking {
            self.dirty.clear();
            self.full = true;
        }
    }

    pub(crate) fn announce(&mut self, route: Route) {
        let p = route.prefix.trunc();
        let old = self.desired.insert(p, route.attributes);
        let same = match (&old, self.desired.get(&p)) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => false,
        };
        if !same {
            self.touch(p);
        }
    }

    pub(crate) fn withdraw(&mut self, prefix: IpNet) {
        let p = prefix.trunc();
        if self.desired.remove(&p).is_some() {
            self.touch(p);
        }
    }

    /// The session became Established: the peer has nothing, send everything then End-of-RIB.
    pub(crate) fn session_up(&mut self) {
        self.sent.clear();
        self.dirty.clear();
        self.tracking = true;
        self.full = true;
        self.eor_pending = true;
        self.refresh = [false; 2];
    }

    /// The session went down: the peer forgot our routes.
    pub(crate) fn session_down(&mut self) {
        self.sent = PrefixMap::default();
        self.dirty = Vec::new();
        self.tracking = false;
        self.full = false;
        self.eor_pending = false;
        self.refresh = [false; 2];
    }

    /// The peer asked for a family again.
    pub(crate) fn refresh(&mut self, v6: bool) {
        if self.tracking {
            self.refresh[usize::from(v6)] = true;
        }
    }

    pub(crate) fn drain(&self) -> Drain {
        self.drain.unwrap_or(Drain::Off)
    }

    pub(crate) fn set_drain(&mut self, d: Drain) {
        self.drain = Some(d);
        if self.tracking {
            self.dirty.clear();
            self.full = true;
        }
    }

    /// Whether a flush would write something.
    pub(crate) fn pending(&self) -> bool {
        self.tracking
            && (self.full
                || !self.dirty.is_empty()
                || self.eor_pending
                || self.refresh != [false; 2])
    }

    /// Writes the UPDATEs that bring the peer to the desired routes into `out`.
    pub(crate) fn flush(&mut self, env: &Env, out: &mut Vec<u8>) -> Flushed {
        let mut result = Flushed::default();
        if !self.tracking {
            return result;
        }
        let drain = self.drain();
        let drained_now = matches!(drain, Drain::Draining(_));
        let candidates: Vec<IpNet> = if self.full {
            self.desired
                .keys()
                .chain(self.sent.keys())
                .copied()
                .collect()
        } else {
            std::mem::take(&mut self.dirty)
        };
        self.full = false;
        self.dirty.clear();

        let mut withdraw: [Vec<IpNet>; 2] = [Vec::new(), Vec::new()];
        // Groups keyed by the attributes' address, the drain flag and the family.
        let mut index: FxHashMap<(usize, bool, bool), usize> = FxHashMap::default();
        let mut groups: Vec<(Arc<RouteAttributes>, bool, bool, Vec<IpNet>)> = Vec::new();
        let mut add = |a: &Arc<RouteAttributes>, drained: bool, v6: bool, p: IpNet| {
            let key = (Arc::as_ptr(a) as usize, drained, v6);
            let i = *index.entry(key).or_insert_with(|| {
                groups.push((a.clone(), drained, v6, Vec::new()));
                groups.len() - 1
            });
            groups[i].3.push(p);
        };
        for p in candidates {
            let v6 = is_v6(&p);
            let family = if v6 { env.ipv6 } else { env.ipv4 };
            let want = if family && drain != Drain::Done {
                self.desired
                    .get(&p)
                    .filter(|a| next_hop(env, a, v6).is_some())
            } else {
                None
            };
            match (want, self.sent.get(&p)) {
                (None, None) => {}
                (None, Some(_)) => {
                    self.sent.remove(&p);
                    withdraw[usize::from(v6)].push(p);
                }
                (Some(a), Some(s))
                    if s.drained == drained_now
                        && (Arc::ptr_eq(a, &s.attributes) || **a == *s.attributes) => {}
                (Some(a), _) => {
                    let a = a.clone();
                    add(&a, drained_now, v6, p);
                    self.sent.insert(
                        p,
                        Sent {
                            attributes: a,
                            drained: drained_now,
                        },
                    );
                }
            }
        }
        for v6 in [false, true] {
            if std::mem::take(&mut self.refresh[usize::from(v6)]) {
                for (p, s) in &self.sent {
                    if is_v6(p) == v6 {
                        add(&s.attributes, s.drained, v6, *p);
                    }
                }
            }
        }
        let max = env.ctx.max_message_len();
        for (v6, list) in withdraw.iter().enumerate() {
            if list.is_empty() {
                continue;
            }
            result.withdrawn += list.len();
            result.updates += if v6 == 1 || env.ipv4_over_mp {
                let afi = if v6 == 1 { Afi::IPV6 } else { Afi::IPV4 };
                write_mp_unreach(out, max, afi, list)
            } else {
                write_withdrawn(out, max, list)
            };
        }
        let mut attrs = Vec::with_capacity(128);
        for (a, drained, v6, list) in &groups {
            let Some(nh) = next_hop(env, a, *v6) else {
                continue;
            };
            attrs.clear();
            encode_attributes(env, a, *drained, &nh, &mut attrs);
            result.announced += list.len();
            result.updates += if *v6 || env.ipv4_over_mp {
                let mut nh_bytes = [0u8; 32];
                let nh_len = match nh {
                    NextHop::V4(a) => {
                        nh_bytes[..4].copy_from_slice(&a.octets());
                        4
                    }
                    NextHop::V6(g, ll) => {
                        nh_bytes[..16].copy_from_slice(&g.octets());
                        match ll {
                            Some(ll) => {
                                nh_bytes[16..].copy_from_slice(&ll.octets());
                                32
                            }
                            None => 16,
                        }
                    }
                };
                let afi = if *v6 { Afi::IPV6 } else { Afi::IPV4 };
                write_mp_reach(out, max, &attrs, afi, &nh_bytes[..nh_len], list)
            } else {
                write_reach(out, max, &attrs, list)
            };
        }
        if std::mem::take(&mut self.eor_pending) {
            for (on, afi) in [(env.ipv4, Afi::IPV4), (env.ipv6, Afi::IPV6)] {
                if on
                    && Update::end_of_rib(afi, Safi::UNICAST)
                        .encode(&env.ctx, out)
                        .is_ok()
                {
                    result.updates += 1;
                }
            }
        }
        result
    }
}

/// A resolved next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NextHop {
    V4(Ipv4Addr),
    V6(Ipv6Addr, Option<Ipv6Addr>),
}

fn next_hop(env: &Env, a: &RouteAttributes, v6: bool) -> Option<NextHop> {
    if v6 {
        let global = match a.next_hop {
            Some(IpAddr::V6(g)) => Some(g),
            Some(IpAddr::V4(_)) => return None,
            None => env.next_hop_v6,
        };
        match (global, env.link_local_v6) {
            (Some(g), ll) => Some(NextHop::V6(g, ll.filter(|ll| *ll != g))),
            (None, Some(ll)) => Some(NextHop::V6(ll, None)),
            (None, None) => None,
        }
    } else {
        match a.next_hop {
            Some(IpAddr::V4(a)) => Some(NextHop::V4(a)),
            Some(IpAddr::V6(_)) => None,
            None => env.next_hop_v4.map(NextHop::V4),
        }
    }
}

/// The path attributes of a group, in type order, without MP_REACH_NLRI.
fn encode_attributes(
    env: &Env,
    a: &RouteAttributes,
    drained: bool,
    nh: &NextHop,
    out: &mut Vec<u8>,
) {
    let ctx = &env.ctx;
    let mut put = |data: AttributeData| {
        // Nothing here can exceed the sizes the encoder refuses: at most a few thousand
        // communities would, and those are cut below.
        let _ = Attribute::new(data).encode(ctx, out);
    };
    put(AttributeData::Origin(Origin::Igp));
    put(AttributeData::AsPath(if env.ibgp {
        AsPath { segments: vec![] }
    } else {
        AsPath::sequence([env.local_as])
    }));
    if let (NextHop::V4(n), false) = (nh, env.ipv4_over_mp) {
        put(AttributeData::NextHop(*n));
    }
    if let Some(med) = a.med {
        put(AttributeData::MultiExitDisc(med));
    }
    if env.ibgp {
        let lp = if drained {
            0
        } else {
            a.local_pref.unwrap_or(100)
        };
        put(AttributeData::LocalPref(lp));
    }
    // At most 16,000 communities: an attribute value holds 65535 octets.
    let mut communities: Vec<Community> = a.communities.iter().copied().take(16_000).collect();
    if drained && !communities.contains(&Community::GRACEFUL_SHUTDOWN) {
        communities.push(Community::GRACEFUL_SHUTDOWN);
    }
    if !communities.is_empty() {
        put(AttributeData::Communities(communities));
    }
    if !a.large_communities.is_empty() {
        put(AttributeData::LargeCommunities(
            a.large_communities.iter().copied().take(5_000).collect(),
        ));
    }
}

/// Starts an UPDATE; returns its start offset.
fn begin(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    write_header(out, MessageType::Update, 0);
    start
}

/// Sets the header length of the message started at `start`.
fn finish(out: &mut [u8], start: usize) {
    let len = (out.len() - start) as u16;
    out[start + 16..start + 18].copy_from_slice(&len.to_be_bytes());
}

/// Sets the 2-octet length field at `at` to the octets written after it.
fn patch_len(out: &mut [u8], at: usize) {
    let v = (out.len() - at - 2) as u16;
    out[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Writes prefixes from `list` while they fit in `room` octets; returns how many.
fn put_prefixes(out: &mut Vec<u8>, list: &[IpNet], room: usize) -> usize {
    let mut used = 0;
    for (i, p) in list.iter().enumerate() {
        let n = Nlri::new(*p);
        let len = n.encoded_len();
        if used + len > room {
            return i;
        }
        used += len;
        n.write(out);
    }
    list.len()
}

/// IPv4 Withdrawn Routes, as many per UPDATE as fit.
fn write_withdrawn(out: &mut Vec<u8>, max: usize, mut list: &[IpNet]) -> u64 {
    let room = max - HEADER_LEN - 4;
    let mut count = 0;
    while !list.is_empty() {
        let start = begin(out);
        let at = out.len();
        out.extend_from_slice(&[0, 0]);
        let n = put_prefixes(out, list, room).max(1);
        patch_len(out, at);
        out.extend_from_slice(&[0, 0]);
        finish(out, start);
        list = &list[n.min(list.len())..];
        count += 1;
    }
    count
}

/// MP_UNREACH_NLRI withdrawals.
fn write_mp_unreach(out: &mut Vec<u8>, max: usize, afi: Afi, mut list: &[IpNet]) -> u64 {
    // Withdrawn length, attributes length, attribute header (extended length), AFI/SAFI.
    let room = max - HEADER_LEN - 4 - 4 - 3;
    let mut count = 0;
    while !list.is_empty() {
        let start = begin(out);
        out.extend_from_slice(&[0, 0]);
        let attrs_at = out.len();
        out.extend_from_slice(&[0, 0, 0x90, 15, 0, 0]);
        let value_at = out.len();
        out.extend_from_slice(&afi.0.to_be_bytes());
        out.push(Safi::UNICAST.0);
        let n = put_prefixes(out, list, room).max(1);
        patch_len(out, value_at - 2);
        patch_len(out, attrs_at);
        finish(out, start);
        list = &list[n.min(list.len())..];
        count += 1;
    }
    count
}

/// IPv4 NLRI with the group's attributes.
fn write_reach(out: &mut Vec<u8>, max: usize, attrs: &[u8], mut list: &[IpNet]) -> u64 {
    let Some(room) = max
        .checked_sub(HEADER_LEN + 4 + attrs.len())
        .filter(|r| *r >= 17)
    else {
        return 0;
    };
    let mut count = 0;
    while !list.is_empty() {
        let start = begin(out);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        out.extend_from_slice(attrs);
        let n = put_prefixes(out, list, room).max(1);
        finish(out, start);
        list = &list[n.min(list.len())..];
        count += 1;
    }
    count
}

/// MP_REACH_NLRI (after the group's attributes) for IPv6, or IPv4 over MP-BGP.
fn write_mp_reach(
    out: &mut Vec<u8>,
    max: usize,
    attrs: &[u8],
    afi: Afi,
    next_hop: &[u8],
    mut list: &[IpNet],
) -> u64 {
    let fixed = HEADER_LEN + 4 + attrs.len() + 4 + 3 + 1 + next_hop.len() + 1;
    let Some(room) = max.checked_sub(fixed).filter(|r| *r >= 17) else {
        return 0;
    };
    let mut count = 0;
    while !list.is_empty() {
        let start = begin(out);
        out.extend_from_slice(&[0, 0]);
        let attrs_at = out.len();
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(attrs);
        out.extend_from_slice(&[0x90, 14, 0, 0]);
        let value_at = out.len();
        out.extend_from_slice(&afi.0.to_be_bytes());
        out.push(Safi::UNICAST.0);
        out.push(next_hop.len() as u8);
        out.extend_from_slice(next_hop);
        out.push(0);
        let n = put_prefixes(out, list, room).max(1);
        patch_len(out, value_at - 2);
        patch_len(out, attrs_at);
        finish(out, start);
        list = &list[n.min(list.len())..];
        count += 1;
    }
    count
}
