//! Entry points for the cargo-fuzz targets in `fuzz/` and for the corpus replay in
//! `cargo test`. Each takes arbitrary bytes and panics only if the crate breaks a promise: a
//! panic in the codec or the session, or a parse → emit → parse round trip that changes the
//! packet.

use std::time::{Duration, Instant};

use crate::session::{Session, SessionConfig};
use crate::wire::{Packet, Repr, auth};

/// A fuzz target: its name (the directory of its corpus) and its function.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name of the cargo-fuzz target and of `fuzz/corpus/<name>`.
    pub name: &'static str,
    /// The function the target calls.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "bfd_packet",
        run: packet,
    },
    Target {
        name: "bfd_session",
        run: session,
    },
];

/// One packet: every accessor of the checked view, [`Repr::parse`], emit → parse round trip,
/// and authentication verification with a fixed key.
pub fn packet(data: &[u8]) {
    let Ok(p) = Packet::new_checked(data) else {
        return;
    };
    let _ = (
        p.version(),
        p.diagnostic(),
        p.state(),
        p.poll(),
        p.final_(),
        p.control_plane_independent(),
        p.demand(),
        p.multipoint(),
        p.detect_mult(),
        p.my_discriminator(),
        p.your_discriminator(),
        p.desired_min_tx(),
        p.required_min_rx(),
        p.required_min_echo_rx(),
        p.auth_type(),
        p.auth_data(),
    );
    let _ = auth::verify(data, b"fuzz");
    let Ok(r) = Repr::parse(&p) else {
        return;
    };
    let (buf, len) = r.to_bytes();
    let again = Repr::parse_bytes(&buf[..len]);
    assert_eq!(again.ok(), Some(r), "round trip changed the packet");
    // Octets past Length (allowed without authentication, as BIRD and FRR allow them) are
    // not emitted again.
    assert!(len <= usize::from(p.length()));
}

/// A session fed the input as a sequence of packets and time steps: each chunk starts with a
/// length octet `n`; `n == 0` advances time by the next octet × 10 ms and fires timers,
/// otherwise the next `n` octets are a packet. Outputs are drained after every step.
pub fn session(data: &[u8]) {
    let t0 = Instant::now();
    let mut now = t0;
    let config = SessionConfig {
        desired_min_tx: Duration::from_millis(50),
        required_min_rx: Duration::from_millis(50),
        ..SessionConfig::default()
    };
    let Ok(mut s) = Session::new(config, 7, u64::from(data.len() as u32), now) else {
        return;
    };
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        if n == 0 {
            let Some((&step, tail)) = tail.split_first() else {
                break;
            };
            now += Duration::from_millis(u64::from(step) * 10);
            s.handle_timeout(now);
            rest = tail;
        } else {
            let take = usize::from(n).min(tail.len());
            let _ = s.handle_packet(now, &tail[..take]);
            rest = &tail[take..];
        }
        while let Some(t) = s.poll_transmit(now) {
            assert!(Repr::parse_bytes(t.as_bytes()).is_ok());
        }
        while s.poll_event().is_some() {}
        s.handle_timeout(now);
        while s.poll_transmit(now).is_some() {}
        // Nothing left for `now`: a driver waiting for the deadline never spins.
        if let Some(d) = s.poll_timeout() {
            assert!(d > now, "poll_timeout {d:?} is not after now {now:?}");
        }
    }
}
