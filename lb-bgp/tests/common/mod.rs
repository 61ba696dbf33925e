//! Helpers shared by the integration tests.
#![allow(dead_code)]

/// Decodes a hex string (fixtures are kept as hex of the captured octets).
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex fixture"))
        .collect()
}

/// A whole UPDATE from its three fields.
pub fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let len = 19 + 4 + withdrawn.len() + attrs.len() + nlri.len();
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&(len as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&(withdrawn.len() as u16).to_be_bytes());
    m.extend_from_slice(withdrawn);
    m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    m.extend_from_slice(attrs);
    m.extend_from_slice(nlri);
    m
}

/// A whole message of any type from its body.
pub fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

/// ORIGIN IGP, AS_PATH [64500] (4-octet), NEXT_HOP 192.0.2.1: the mandatory attributes.
pub const MANDATORY: &[u8] = &[
    0x40, 1, 1, 0, //
    0x40, 2, 6, 2, 1, 0, 0, 0xfb, 0xf4, //
    0x40, 3, 4, 192, 0, 2, 1,
];
