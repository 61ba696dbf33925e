//! MetalLB's `BFDProfile` (v1beta1) mapped one to one onto a session configuration.
//!
//! The fields keep MetalLB's names, units (milliseconds) and ranges; `None` is a field the
//! object leaves out, which takes FRR's default as MetalLB does (300 ms, 300 ms, 3, echo 50 ms,
//! echo off, active, minimum TTL 254). The echo fields are accepted and checked but not run:
//! this crate does not implement the echo function (FRR does not run it on multihop sessions
//! either). lb-k8s maps its CRD type onto this plain struct.
//!
//! ```
//! use lb_bfd::profile::BfdProfile;
//! use std::time::Duration;
//!
//! let p = BfdProfile { receive_interval: Some(100), detect_multiplier: Some(5), ..Default::default() };
//! let c = p.session_config().unwrap();
//! assert_eq!(c.required_min_rx, Duration::from_millis(100));
//! assert_eq!(c.desired_min_tx, Duration::from_millis(300));
//! assert_eq!(c.detect_mult, 5);
//! ```

use std::net::IpAddr;
use std::time::Duration;

use crate::Error;
use crate::session::SessionConfig;

/// The fields of a MetalLB `BFDProfile` spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BfdProfile {
    /// `receiveInterval`, ms (10–60000, default 300): our Required Min RX Interval.
    pub receive_interval: Option<u32>,
    /// `transmitInterval`, ms (10–60000, default 300): our Desired Min TX Interval.
    pub transmit_interval: Option<u32>,
    /// `detectMultiplier` (2–255, default 3).
    pub detect_multiplier: Option<u32>,
    /// `echoInterval`, ms (10–60000, default 50): accepted, not used.
    pub echo_interval: Option<u32>,
    /// `echoMode` (default false): accepted, not used.
    pub echo_mode: Option<bool>,
    /// `passiveMode` (default false): wait for the peer's first packet.
    pub passive_mode: Option<bool>,
    /// `minimumTtl` (1–254, default 254): multihop sessions only.
    pub minimum_ttl: Option<u32>,
}

/// Default `receiveInterval` and `transmitInterval`, ms.
pub const DEFAULT_INTERVAL_MS: u32 = 300;
/// Default `detectMultiplier`.
pub const DEFAULT_DETECT_MULTIPLIER: u32 = 3;
/// Default `echoInterval`, ms.
pub const DEFAULT_ECHO_INTERVAL_MS: u32 = 50;
/// Default `minimumTtl`.
pub const DEFAULT_MINIMUM_TTL: u32 = 254;

fn check(name: &str, v: Option<u32>, range: std::ops::RangeInclusive<u32>) -> Result<(), Error> {
    match v {
        Some(v) if !range.contains(&v) => Err(Error::Config(format!(
            "{name} {v} is outside {}..={}",
            range.start(),
            range.end()
        ))),
        _ => Ok(()),
    }
}

impl BfdProfile {
    /// Checks the CRD ranges (the speaker re-checks them, as MetalLB's parser does).
    pub fn validate(&self) -> Result<(), Error> {
        check("receiveInterval", self.receive_interval, 10..=60000)?;
        check("transmitInterval", self.transmit_interval, 10..=60000)?;
        check("detectMultiplier", self.detect_multiplier, 2..=255)?;
        check("echoInterval", self.echo_interval, 10..=60000)?;
        check("minimumTtl", self.minimum_ttl, 1..=254)?;
        Ok(())
    }

    /// The session configuration (no authentication: BFDProfile has none).
    pub fn session_config(&self) -> Result<SessionConfig, Error> {
        self.validate()?;
        let ms =
            |v: Option<u32>| Duration::from_millis(u64::from(v.unwrap_or(DEFAULT_INTERVAL_MS)));
        Ok(SessionConfig {
            desired_min_tx: ms(self.transmit_interval),
            required_min_rx: ms(self.receive_interval),
            detect_mult: self
                .detect_multiplier
                .unwrap_or(DEFAULT_DETECT_MULTIPLIER)
                .try_into()
                .map_err(|_| Error::Config("detectMultiplier above 255".into()))?,
            passive: self.passive_mode.unwrap_or(false),
            auth: None,
        })
    }

    /// `minimumTtl` with its default.
    pub fn minimum_ttl(&self) -> u8 {
        self.minimum_ttl
            .unwrap_or(DEFAULT_MINIMUM_TTL)
            .clamp(1, 254) as u8
    }

    /// The driver's settings for a BGP peer at `peer` using this profile: multihop (with
    /// `minimumTtl`) when the BGP session is eBGP multihop, single hop otherwise.
    #[cfg(target_os = "linux")]
    pub fn peer_settings(
        &self,
        peer: IpAddr,
        local: Option<IpAddr>,
        multihop: bool,
    ) -> Result<crate::driver::PeerConfig, Error> {
        let session = self.session_config()?;
        let mut s = if multihop {
            crate::driver::PeerConfig::multi_hop(peer, self.minimum_ttl(), session)
        } else {
            crate::driver::PeerConfig::single_hop(peer, session)
        };
        s.local = local;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_are_frrs() {
        let c = BfdProfile::default().session_config().unwrap();
        assert_eq!(c.desired_min_tx, Duration::from_millis(300));
        assert_eq!(c.required_min_rx, Duration::from_millis(300));
        assert_eq!(c.detect_mult, 3);
        assert!(!c.passive);
        assert_eq!(BfdProfile::default().minimum_ttl(), 254);
    }

    #[test]
    fn every_field_maps() {
        let p = BfdProfile {
            receive_interval: Some(10),
            transmit_interval: Some(60000),
            detect_multiplier: Some(255),
            echo_interval: Some(10),
            echo_mode: Some(true),
            passive_mode: Some(true),
            minimum_ttl: Some(1),
        };
        let c = p.session_config().unwrap();
        assert_eq!(c.required_min_rx, Duration::from_millis(10));
        assert_eq!(c.desired_min_tx, Duration::from_millis(60000));
        assert_eq!(c.detect_mult, 255);
        assert!(c.passive);
        assert_eq!(p.minimum_ttl(), 1);
        #[cfg(target_os = "linux")]
        {
            let s = p
                .peer_settings("192.0.2.1".parse().unwrap(), None, true)
                .unwrap();
            assert_eq!(s.hop, crate::driver::Hop::Multi { min_ttl: 1 });
            let s = p
                .peer_settings("192.0.2.1".parse().unwrap(), None, false)
                .unwrap();
            assert_eq!(s.hop, crate::driver::Hop::Single);
        }
    }

    #[test]
    fn ranges_are_checked() {
        for p in [
            BfdProfile {
                receive_interval: Some(9),
                ..Default::default()
            },
            BfdProfile {
                transmit_interval: Some(60001),
                ..Default::default()
            },
            BfdProfile {
                detect_multiplier: Some(1),
                ..Default::default()
            },
            BfdProfile {
                detect_multiplier: Some(256),
                ..Default::default()
            },
            BfdProfile {
                echo_interval: Some(5),
                ..Default::default()
            },
            BfdProfile {
                minimum_ttl: Some(255),
                ..Default::default()
            },
            BfdProfile {
                minimum_ttl: Some(0),
                ..Default::default()
            },
        ] {
            assert!(p.session_config().is_err(), "{p:?}");
        }
    }
}
