//! The L2 election's ordering key (§4.4 step 10): SHA-256 of `node + "#" + ip`, with the
//! address written as Go's `net.IP.String()` writes it.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

/// Go's `net.IP.String()`: dotted quad for IPv4 and IPv4-mapped IPv6, RFC 5952 for the rest.
pub fn go_ip_string(ip: &IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => a.to_string(),
    }
}

/// The bytes candidates are sorted by (ascending) when their preference scores tie.
pub fn election_key(node: &str, ip: &IpAddr) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(node.as_bytes());
    h.update(b"#");
    h.update(go_ip_string(ip).as_bytes());
    h.finalize().into()
}
