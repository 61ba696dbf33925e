//! Timing and fan-out settings, the presets, and the formulas memberlist derives from them.
//!
//! Every formula is memberlist's (`util.go`, `suspicion.go`, `awareness.go`), so that a node
//! configured with [`Config::lan`] behaves, in time, like a Go node with `DefaultLANConfig()`.

use std::time::Duration;

/// Everything that shapes the protocol's timing. All fields are public: every timing is
/// configurable; the presets are starting points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The protocol version spoken (2–5); Go's default is 2, and it understands up to 5.
    pub protocol_version: u8,
    /// Time between probes of one member (`ProbeInterval`).
    pub probe_interval: Duration,
    /// Time to wait for a direct ack before trying indirect probes (`ProbeTimeout`).
    pub probe_timeout: Duration,
    /// Members asked to probe indirectly (`IndirectChecks`).
    pub indirect_checks: usize,
    /// Broadcasts are retransmitted `retransmit_mult × ⌈log10(N + 1)⌉` times (`RetransmitMult`).
    pub retransmit_mult: usize,
    /// Suspicion lasts at least `suspicion_mult × max(1, log10 N) × probe_interval`
    /// (`SuspicionMult`).
    pub suspicion_mult: u32,
    /// The longest suspicion is this many times the shortest (`SuspicionMaxTimeoutMult`).
    pub suspicion_max_timeout_mult: u32,
    /// Time between full state syncs over TCP, before scaling with N (`PushPullInterval`).
    pub push_pull_interval: Duration,
    /// Time between gossip rounds (`GossipInterval`).
    pub gossip_interval: Duration,
    /// Members gossiped to per round (`GossipNodes`).
    pub gossip_nodes: usize,
    /// How long dead members still receive gossip (`GossipToTheDeadTime`).
    pub gossip_to_the_dead_time: Duration,
    /// Deadline of a TCP exchange (`TCPTimeout`).
    pub tcp_timeout: Duration,
    /// Whether a failed UDP probe is retried over TCP (`!DisableTcpPings`).
    pub tcp_pings: bool,
    /// Probe interval and timeout are scaled by up to this factor as local health degrades
    /// (`AwarenessMaxMultiplier`).
    pub awareness_max_multiplier: u32,
    /// Largest UDP packet we build (`UDPBufferSize`).
    pub udp_buffer_size: usize,
}

impl Config {
    /// HashiCorp memberlist's `DefaultLANConfig()` values (the ones MetalLB uses).
    ///
    /// Detection of a crash then takes one probe (≤ 1 s, plus the 500 ms timeout) and a
    /// suspicion of `4 × max(1, log10 N)` seconds, shrinking towards that minimum from six
    /// times it as independent suspicions arrive: at least 4 s, and 4–24 s at N ≤ 10.
    pub fn lan() -> Self {
        Self {
            protocol_version: 2,
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_millis(500),
            indirect_checks: 3,
            retransmit_mult: 4,
            suspicion_mult: 4,
            suspicion_max_timeout_mult: 6,
            push_pull_interval: Duration::from_secs(30),
            gossip_interval: Duration::from_millis(200),
            gossip_nodes: 3,
            gossip_to_the_dead_time: Duration::from_secs(30),
            tcp_timeout: Duration::from_secs(10),
            tcp_pings: true,
            awareness_max_multiplier: 8,
            udp_buffer_size: 1400,
        }
    }

    /// Tuned for sub-second detection on a LAN (median under 500 ms at 100 members in the
    /// simulator, no false positives at 5% loss; see `benches/results/memberlist_sim.txt`):
    ///
    /// - probes every **50 ms** with a **25 ms** timeout: a LAN round trip is well under a
    ///   millisecond, and the probe interval bounds how soon a crash is first noticed;
    /// - suspicion multiplier **3**, so the shortest suspicion is `3 × max(1, log10 N) × 50 ms`
    ///   (150 ms at 10 members, 300 ms at 100, 450 ms at 1000) and Lifeguard waits for
    ///   `3 − 2 = 1` independent confirmation before using it; up to **10×** longer (1.5–4.5 s)
    ///   for a lone accuser, which leaves a falsely suspected member time to refute;
    /// - gossip to **4** members every **20 ms**, so a suspicion, refutation or death
    ///   reaches everyone in a few tens of milliseconds; each broadcast is retransmitted
    ///   `6 × ⌈log10(N + 1)⌉` times (Go: 4) so that under heavy loss no member misses a
    ///   refutation and is left alone with an old suspicion;
    /// - push-pull every **30 s** (scaled above 32 members, as Go does), so that full-state
    ///   exchanges, whose size grows with N, keep per-member traffic nearly independent of N;
    /// - health awareness up to **4×**, TCP fallback pings with a 1 s stream timeout.
    ///
    /// Protocol 5 (CRC on packets to members that support it).
    pub fn fast() -> Self {
        Self {
            protocol_version: 5,
            probe_interval: Duration::from_millis(50),
            probe_timeout: Duration::from_millis(25),
            indirect_checks: 3,
            retransmit_mult: 6,
            suspicion_mult: 3,
            suspicion_max_timeout_mult: 10,
            push_pull_interval: Duration::from_secs(30),
            gossip_interval: Duration::from_millis(20),
            gossip_nodes: 4,
            gossip_to_the_dead_time: Duration::from_secs(10),
            tcp_timeout: Duration::from_secs(1),
            tcp_pings: true,
            awareness_max_multiplier: 4,
            udp_buffer_size: 1400,
        }
    }

    /// The shortest and longest suspicion for a cluster of `n` members (Go's `suspectNode`):
    /// the minimum is [`suspicion_timeout`], the maximum `suspicion_max_timeout_mult` times it.
    pub fn suspicion_bounds(&self, n: usize) -> (Duration, Duration) {
        let min = suspicion_timeout(self.suspicion_mult, n, self.probe_interval);
        (min, min * self.suspicion_max_timeout_mult)
    }

    /// Independent confirmations a suspicion waits for before reaching its minimum:
    /// `suspicion_mult − 2`, or 0 when the cluster is too small to provide them.
    pub fn suspicion_confirmations(&self, n: usize) -> u32 {
        let k = self.suspicion_mult.saturating_sub(2);
        if (n.saturating_sub(2) as u64) < u64::from(k) {
            0
        } else {
            k
        }
    }
}

/// `suspicion_mult × max(1, log10 n) × interval`, computed in milliseconds of scale as Go does
/// (`suspicionTimeout`).
pub fn suspicion_timeout(suspicion_mult: u32, n: usize, interval: Duration) -> Duration {
    let scale = (n.max(1) as f64).log10().max(1.0);
    let milli_scale = (scale * 1000.0) as u32;
    interval * suspicion_mult * milli_scale / 1000
}

/// `retransmit_mult × ⌈log10(n + 1)⌉` (`retransmitLimit`).
pub fn retransmit_limit(retransmit_mult: usize, n: usize) -> usize {
    retransmit_mult * ((n as f64 + 1.0).log10().ceil() as usize)
}

/// The push-pull interval scaled for `n` members: unchanged up to 32, then multiplied by
/// `⌈log2 n − log2 32⌉ + 1` (`pushPullScale`).
pub fn push_pull_scale(interval: Duration, n: usize) -> Duration {
    const THRESHOLD: usize = 32;
    if n <= THRESHOLD {
        return interval;
    }
    let mult = ((n as f64).log2() - (THRESHOLD as f64).log2()).ceil() + 1.0;
    interval * mult as u32
}

/// The time left in a suspicion that has `confirmations` of the `expected` independent
/// confirmations, `elapsed` after it started (`remainingSuspicionTime`): the timeout falls
/// from `max` towards `min` as `log(confirmations + 1) / log(expected + 1)`. `None` once it
/// has run out.
pub fn remaining_suspicion_time(
    confirmations: u32,
    expected: u32,
    elapsed: Duration,
    min: Duration,
    max: Duration,
) -> Option<Duration> {
    let timeout = if expected == 0 {
        min
    } else {
        let frac = (f64::from(confirmations) + 1.0).ln() / (f64::from(expected) + 1.0).ln();
        let raw = max.as_secs_f64() - frac * (max.as_secs_f64() - min.as_secs_f64());
        Duration::from_millis((1000.0 * raw).floor().max(0.0) as u64).max(min)
    };
    timeout.checked_sub(elapsed).filter(|d| !d.is_zero())
}

/// Lifeguard's local health awareness: a score in `0..max` that grows when our own probes go
/// unanswered and shrinks when they succeed; probe interval and timeout are multiplied by
/// `score + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Awareness {
    max: u32,
    score: u32,
}

impl Awareness {
    /// A healthy node (score 0) whose multiplier is capped at `max` (at least 1).
    pub fn new(max: u32) -> Self {
        Self {
            max: max.max(1),
            score: 0,
        }
    }

    /// Adds `delta` to the score, clamped to `0..max` (`ApplyDelta`).
    pub fn apply_delta(&mut self, delta: i32) {
        let score = i64::from(self.score) + i64::from(delta);
        self.score = score.clamp(0, i64::from(self.max - 1)) as u32;
    }

    /// The current score: 0 is healthy.
    pub fn score(&self) -> u32 {
        self.score
    }

    /// `timeout × (score + 1)` (`ScaleTimeout`).
    pub fn scale(&self, timeout: Duration) -> Duration {
        timeout * (self.score + 1)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn lan_suspicion_matches_go() {
        let c = Config::lan();
        // 4 × max(1, log10 N) × 1 s, and 6× that at most.
        assert_eq!(c.suspicion_bounds(3), (MS(4000), MS(24000)));
        assert_eq!(c.suspicion_bounds(10), (MS(4000), MS(24000)));
        assert_eq!(c.suspicion_bounds(100), (MS(8000), MS(48000)));
        assert_eq!(c.suspicion_bounds(1000), (MS(12000), MS(72000)));
        // log10(50) = 1.69897 → 1698 in Go's milli-scale.
        assert_eq!(c.suspicion_bounds(50).0, MS(6792));
        assert_eq!(c.suspicion_confirmations(3), 0);
        assert_eq!(c.suspicion_confirmations(4), 2);
    }

    #[test]
    fn retransmits_and_push_pull_scale() {
        assert_eq!(retransmit_limit(4, 0), 0);
        assert_eq!(retransmit_limit(4, 1), 4);
        assert_eq!(retransmit_limit(4, 9), 4);
        assert_eq!(retransmit_limit(4, 10), 8);
        assert_eq!(retransmit_limit(4, 1000), 16);
        let s = Duration::from_secs(30);
        assert_eq!(push_pull_scale(s, 32), s);
        assert_eq!(push_pull_scale(s, 33), s * 2);
        assert_eq!(push_pull_scale(s, 64), s * 2);
        assert_eq!(push_pull_scale(s, 65), s * 3);
        assert_eq!(push_pull_scale(s, 1000), s * 6);
    }

    #[test]
    fn suspicion_shrinks_with_confirmations() {
        let (min, max) = (MS(4000), MS(24000));
        assert_eq!(remaining_suspicion_time(0, 2, MS(0), min, max), Some(max));
        // log(2)/log(3) = 0.6309 → 24 − 0.6309 × 20 = 11.381 s
        assert_eq!(
            remaining_suspicion_time(1, 2, MS(0), min, max),
            Some(MS(11381))
        );
        assert_eq!(
            remaining_suspicion_time(2, 2, MS(1000), min, max),
            Some(MS(3000))
        );
        assert_eq!(remaining_suspicion_time(5, 2, MS(0), min, max), Some(min));
        assert_eq!(remaining_suspicion_time(2, 2, MS(4000), min, max), None);
        assert_eq!(
            remaining_suspicion_time(0, 0, MS(100), min, max),
            Some(MS(3900))
        );
    }

    #[test]
    fn awareness_is_clamped() {
        let mut a = Awareness::new(8);
        a.apply_delta(-1);
        assert_eq!(a.score(), 0);
        a.apply_delta(3);
        assert_eq!(a.scale(MS(500)), MS(2000));
        a.apply_delta(100);
        assert_eq!(a.score(), 7);
        assert_eq!(a.scale(MS(1000)), MS(8000));
    }

    #[test]
    fn fast_is_an_order_of_magnitude_quicker() {
        let (lan, fast) = (Config::lan(), Config::fast());
        for n in [10, 100, 1000] {
            let (l, f) = (lan.suspicion_bounds(n).0, fast.suspicion_bounds(n).0);
            assert!(f * 10 <= l, "n = {n}: {f:?} vs {l:?}");
        }
        assert!(fast.probe_timeout < fast.probe_interval);
    }
}
