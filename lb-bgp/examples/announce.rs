//! Peers with one router and announces one prefix, printing session events; after `seconds`
//! (if given) it withdraws by shutting the session down with a NOTIFICATION.
//!
//! `cargo run -p lb-bgp --example announce -- <peer> <local AS> <peer AS> <prefix> <router id> [seconds]`
//! e.g. `... -- 192.0.2.1 64512 64500 198.51.100.7/32 192.0.2.11 60` (root: it listens on
//! port 179 too, so the router may connect either way).
use std::time::Duration;

use lb_bgp::driver::{PeerConfig, SpeakerConfig};
use lb_bgp::{Route, SessionConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [peer, local_as, peer_as, prefix, router_id, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: announce <peer> <local AS> <peer AS> <prefix> <router id> [seconds]".into(),
        );
    };
    let peer = peer.parse()?;
    let speaker = lb_bgp::driver::spawn(SpeakerConfig::default()).await?;
    let config = SessionConfig::new(local_as.parse()?, peer_as.parse()?, router_id.parse()?);
    speaker.add_peer(PeerConfig::new(peer, config))?;
    speaker.set_routes(peer, [Route::new(prefix.parse()?)])?;
    let seconds: u64 = rest.first().map_or(Ok(u64::MAX / 4), |s| s.parse())?;
    let mut events = speaker.events();
    let print = async {
        while let Ok(e) = events.recv().await {
            println!("{:?}", e.kind)
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(seconds), print).await;
    speaker.shutdown_with("announce example done").await;
    Ok(())
}
