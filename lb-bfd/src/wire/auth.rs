//! The authentication section (RFC 5880 §4.2–§4.4) and its verification (§6.7).
//!
//! Simple Password (§4.2), Auth Len = 3 + password length (1 to 16 octets):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Auth Len    |  Auth Key ID  |  Password...  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                              ...                              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Keyed MD5 and Meticulous Keyed MD5 (§4.3, Auth Len 24; Auth Key/Digest 16 octets), Keyed
//! SHA1 and Meticulous Keyed SHA1 (§4.4, Auth Len 28; Auth Key/Hash 20 octets):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Auth Len    |  Auth Key ID  |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Auth Key/Digest (or Hash)...                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The digest covers the whole packet with the key (zero-padded to 16 or 20 octets) in place of
//! the digest ([`sign`], [`verify`]).

use md5::{Digest, Md5};
use sha1::Sha1;

use super::{HEADER_LEN, Packet};
use crate::Error;

/// Auth Len of a Keyed MD5 section.
pub const MD5_LEN: usize = 24;
/// Auth Len of a Keyed SHA1 section.
pub const SHA1_LEN: usize = 28;
/// Longest simple password.
pub const MAX_PASSWORD_LEN: usize = 16;

/// Auth Type (RFC 5880 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// 1 -- Simple Password.
    SimplePassword,
    /// 2 -- Keyed MD5.
    KeyedMd5,
    /// 3 -- Meticulous Keyed MD5.
    MeticulousKeyedMd5,
    /// 4 -- Keyed SHA1.
    KeyedSha1,
    /// 5 -- Meticulous Keyed SHA1.
    MeticulousKeyedSha1,
    /// 0 (Reserved) and 6-255.
    Unknown(u8),
}

impl From<u8> for AuthType {
    fn from(v: u8) -> Self {
        match v {
            1 => AuthType::SimplePassword,
            2 => AuthType::KeyedMd5,
            3 => AuthType::MeticulousKeyedMd5,
            4 => AuthType::KeyedSha1,
            5 => AuthType::MeticulousKeyedSha1,
            other => AuthType::Unknown(other),
        }
    }
}

impl From<AuthType> for u8 {
    fn from(t: AuthType) -> u8 {
        match t {
            AuthType::SimplePassword => 1,
            AuthType::KeyedMd5 => 2,
            AuthType::MeticulousKeyedMd5 => 3,
            AuthType::KeyedSha1 => 4,
            AuthType::MeticulousKeyedSha1 => 5,
            AuthType::Unknown(v) => v,
        }
    }
}

impl AuthType {
    /// Whether the type carries a sequence number that must grow with every packet.
    pub fn is_meticulous(self) -> bool {
        matches!(
            self,
            AuthType::MeticulousKeyedMd5 | AuthType::MeticulousKeyedSha1
        )
    }
}

/// A simple password of 1 to 16 octets, stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Password {
    bytes: [u8; MAX_PASSWORD_LEN],
    len: u8,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Password({} octets)", self.len)
    }
}

impl Password {
    /// A password of 1 to 16 octets.
    pub fn new(bytes: &[u8]) -> Result<Password, Error> {
        if bytes.is_empty() || bytes.len() > MAX_PASSWORD_LEN {
            return Err(Error::Config(format!(
                "a BFD simple password has 1 to 16 octets, not {}",
                bytes.len()
            )));
        }
        let mut p = Password {
            bytes: [0; MAX_PASSWORD_LEN],
            len: bytes.len() as u8,
        };
        p.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(p)
    }

    /// The password's octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// A parsed authentication section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Simple Password (§4.2).
    SimplePassword {
        /// Auth Key ID.
        key_id: u8,
        /// The password.
        password: Password,
    },
    /// Keyed MD5 or Meticulous Keyed MD5 (§4.3).
    KeyedMd5 {
        /// Meticulous (type 3) rather than plain (type 2).
        meticulous: bool,
        /// Auth Key ID.
        key_id: u8,
        /// Sequence Number.
        sequence: u32,
        /// Auth Key/Digest.
        digest: [u8; 16],
    },
    /// Keyed SHA1 or Meticulous Keyed SHA1 (§4.4).
    KeyedSha1 {
        /// Meticulous (type 5) rather than plain (type 4).
        meticulous: bool,
        /// Auth Key ID.
        key_id: u8,
        /// Sequence Number.
        sequence: u32,
        /// Auth Key/Hash.
        hash: [u8; 20],
    },
}

impl Auth {
    /// Parses a section of type `auth_type` whose Auth Len is `len` and whose data (after the
    /// two header octets) is `data` (`len - 2` octets).
    pub fn parse(auth_type: AuthType, len: u8, data: &[u8]) -> Result<Auth, Error> {
        let bad = Err(Error::BadAuthLength { auth_type, len });
        if usize::from(len) != data.len() + 2 {
            return bad;
        }
        let seq = |d: &[u8]| u32::from_be_bytes([d[2], d[3], d[4], d[5]]);
        match auth_type {
            AuthType::SimplePassword => {
                if !(4..=3 + MAX_PASSWORD_LEN).contains(&usize::from(len)) {
                    return bad;
                }
                Ok(Auth::SimplePassword {
                    key_id: data[0],
                    password: Password::new(&data[1..])?,
                })
            }
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => {
                if usize::from(len) != MD5_LEN {
                    return bad;
                }
                let mut digest = [0u8; 16];
                digest.copy_from_slice(&data[6..22]);
                Ok(Auth::KeyedMd5 {
                    meticulous: auth_type.is_meticulous(),
                    key_id: data[0],
                    sequence: seq(data),
                    digest,
                })
            }
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => {
                if usize::from(len) != SHA1_LEN {
                    return bad;
                }
                let mut hash = [0u8; 20];
                hash.copy_from_slice(&data[6..26]);
                Ok(Auth::KeyedSha1 {
                    meticulous: auth_type.is_meticulous(),
                    key_id: data[0],
                    sequence: seq(data),
                    hash,
                })
            }
            AuthType::Unknown(t) => Err(Error::UnknownAuthType(t)),
        }
    }

    /// The section's type.
    pub fn auth_type(&self) -> AuthType {
        match *self {
            Auth::SimplePassword { .. } => AuthType::SimplePassword,
            Auth::KeyedMd5 {
                meticulous: false, ..
            } => AuthType::KeyedMd5,
            Auth::KeyedMd5 { .. } => AuthType::MeticulousKeyedMd5,
            Auth::KeyedSha1 {
                meticulous: false, ..
            } => AuthType::KeyedSha1,
            Auth::KeyedSha1 { .. } => AuthType::MeticulousKeyedSha1,
        }
    }

    /// Auth Key ID.
    pub fn key_id(&self) -> u8 {
        match *self {
            Auth::SimplePassword { key_id, .. }
            | Auth::KeyedMd5 { key_id, .. }
            | Auth::KeyedSha1 { key_id, .. } => key_id,
        }
    }

    /// Sequence Number (none for a simple password).
    pub fn sequence(&self) -> Option<u32> {
        match *self {
            Auth::SimplePassword { .. } => None,
            Auth::KeyedMd5 { sequence, .. } | Auth::KeyedSha1 { sequence, .. } => Some(sequence),
        }
    }

    /// Auth Len: the section's length in octets.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        match self {
            Auth::SimplePassword { password, .. } => 3 + password.as_bytes().len(),
            Auth::KeyedMd5 { .. } => MD5_LEN,
            Auth::KeyedSha1 { .. } => SHA1_LEN,
        }
    }

    /// Writes the section into `buf` ([`Auth::len`] octets).
    pub fn emit(&self, buf: &mut [u8]) {
        buf[0] = u8::from(self.auth_type());
        buf[1] = self.len() as u8;
        buf[2] = self.key_id();
        match self {
            Auth::SimplePassword { password, .. } => {
                buf[3..3 + password.as_bytes().len()].copy_from_slice(password.as_bytes());
            }
            Auth::KeyedMd5 {
                sequence, digest, ..
            } => {
                buf[3] = 0;
                buf[4..8].copy_from_slice(&sequence.to_be_bytes());
                buf[8..24].copy_from_slice(digest);
            }
            Auth::KeyedSha1 { sequence, hash, .. } => {
                buf[3] = 0;
                buf[4..8].copy_from_slice(&sequence.to_be_bytes());
                buf[8..28].copy_from_slice(hash);
            }
        }
    }
}

/// Equality in time independent of where the first difference is.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The digest or hash of `packet` (its Length octets, an MD5 or SHA1 section last) with `key`
/// zero-padded in place of the digest. `None` when the packet has no such section or the key
/// is longer than the digest.
fn keyed_digest(packet: &[u8], key: &[u8]) -> Option<([u8; 20], usize)> {
    let p = Packet::new_checked(packet).ok()?;
    let auth_type = p.auth_type()?;
    let (digest_len, sha) = match auth_type {
        AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => (16, false),
        AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => (20, true),
        _ => return None,
    };
    let len = usize::from(p.length());
    if key.len() > digest_len || len != HEADER_LEN + 8 + digest_len {
        return None;
    }
    let mut buf = [0u8; super::MAX_LEN];
    buf[..len].copy_from_slice(&packet[..len]);
    let start = HEADER_LEN + 8;
    buf[start..start + digest_len].fill(0);
    buf[start..start + key.len()].copy_from_slice(key);
    let mut out = [0u8; 20];
    if sha {
        out.copy_from_slice(&Sha1::digest(&buf[..len]));
    } else {
        out[..16].copy_from_slice(&Md5::digest(&buf[..len]));
    }
    Some((out, digest_len))
}

/// Fills in the digest of an emitted packet whose section is Keyed (Meticulous) MD5 or SHA1,
/// computed with `key` (RFC 5880 §6.7.3, §6.7.4). A packet with a simple password or no section
/// is left as it is. Errors when the key is longer than the digest (16 or 20 octets).
pub fn sign(packet: &mut [u8], key: &[u8]) -> Result<(), Error> {
    let Ok(p) = Packet::new_checked(&*packet) else {
        return Err(Error::Truncated);
    };
    match p.auth_type() {
        Some(
            AuthType::KeyedMd5
            | AuthType::MeticulousKeyedMd5
            | AuthType::KeyedSha1
            | AuthType::MeticulousKeyedSha1,
        ) => {}
        _ => return Ok(()),
    }
    let (digest, n) = keyed_digest(packet, key).ok_or(Error::Config(format!(
        "a BFD MD5 key has at most 16 octets and a SHA1 key at most 20, not {}",
        key.len()
    )))?;
    let start = HEADER_LEN + 8;
    packet[start..start + n].copy_from_slice(&digest[..n]);
    Ok(())
}

/// Checks a packet's authentication section against `key` (the password for Simple
/// Password): the password must be equal, the digest must be the one [`sign`] computes. Key
/// ID and sequence numbers are the session's business.
pub fn verify(packet: &[u8], key: &[u8]) -> Result<(), Error> {
    let p = Packet::new_checked(packet)?;
    let repr = super::Repr::parse(&p)?;
    match repr.auth {
        None => Err(Error::AuthFailed("no authentication section")),
        Some(Auth::SimplePassword { password, .. }) => {
            if ct_eq(password.as_bytes(), key) {
                Ok(())
            } else {
                Err(Error::AuthFailed("wrong password"))
            }
        }
        Some(Auth::KeyedMd5 { digest, .. }) => match keyed_digest(packet, key) {
            Some((d, 16)) if ct_eq(&d[..16], &digest) => Ok(()),
            _ => Err(Error::AuthFailed("wrong MD5 digest")),
        },
        Some(Auth::KeyedSha1 { hash, .. }) => match keyed_digest(packet, key) {
            Some((d, 20)) if ct_eq(&d, &hash) => Ok(()),
            _ => Err(Error::AuthFailed("wrong SHA1 hash")),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::{Diagnostic, Repr, State};
    use super::*;

    fn base(auth: Option<Auth>) -> Repr {
        Repr {
            diagnostic: Diagnostic::None,
            state: State::Down,
            poll: false,
            final_: false,
            control_plane_independent: false,
            demand: false,
            detect_mult: 3,
            my_discriminator: 1,
            your_discriminator: 0,
            desired_min_tx: 1_000_000,
            required_min_rx: 1_000_000,
            required_min_echo_rx: 0,
            auth,
        }
    }

    /// Down, A bit, Simple Password key ID 5, "secret".
    static SIMPLE: [u8; 33] = [
        0x20, 0x44, 0x03, 0x21, // vers 1 | Down, A | mult 3 | len 33
        0, 0, 0, 1, 0, 0, 0, 0, // my 1, your 0
        0x00, 0x0f, 0x42, 0x40, 0x00, 0x0f, 0x42, 0x40, 0, 0, 0, 0, // 1 s, 1 s, 0
        0x01, 0x09, 0x05, b's', b'e', b'c', b'r', b'e', b't', // type 1, len 9, key 5
    ];

    #[test]
    fn simple_password() {
        let r = Repr::parse_bytes(&SIMPLE).unwrap();
        let Some(Auth::SimplePassword { key_id, password }) = r.auth else {
            panic!("{r:?}")
        };
        assert_eq!(key_id, 5);
        assert_eq!(password.as_bytes(), b"secret");
        let p = Packet::new_checked(&SIMPLE[..]).unwrap();
        assert!(p.auth_present());
        assert_eq!(p.auth_type(), Some(AuthType::SimplePassword));
        assert_eq!(p.auth_len(), Some(9));
        assert_eq!(p.auth_data(), b"\x05secret");
        let (buf, len) = r.to_bytes();
        assert_eq!(&buf[..len], &SIMPLE[..]);
        verify(&SIMPLE, b"secret").unwrap();
        assert!(verify(&SIMPLE, b"secreT").is_err());
        assert!(verify(&SIMPLE, b"secre").is_err());
    }

    #[test]
    fn simple_password_lengths() {
        // Auth Len 3 (empty password) and 20 (17 octets) are not allowed.
        for bad in [3u8, 20] {
            let e = Auth::parse(
                AuthType::SimplePassword,
                bad,
                &[0u8; 18][..usize::from(bad) - 2],
            );
            assert!(matches!(e, Err(Error::BadAuthLength { .. })), "{bad}");
        }
        for good in 4u8..=19 {
            let a = Auth::parse(
                AuthType::SimplePassword,
                good,
                &[7u8; 18][..usize::from(good) - 2],
            )
            .unwrap();
            assert_eq!(a.len(), usize::from(good));
        }
    }

    fn keyed(auth: Auth, key: &[u8]) -> Vec<u8> {
        let r = base(Some(auth));
        let (mut buf, len) = r.to_bytes();
        sign(&mut buf[..len], key).unwrap();
        buf[..len].to_vec()
    }

    #[test]
    fn keyed_md5_and_meticulous() {
        for meticulous in [false, true] {
            let bytes = keyed(
                Auth::KeyedMd5 {
                    meticulous,
                    key_id: 9,
                    sequence: 0x0102_0304,
                    digest: [0; 16],
                },
                b"md5key",
            );
            assert_eq!(bytes.len(), 48);
            assert_eq!(bytes[3], 48);
            assert_eq!(bytes[24], if meticulous { 3 } else { 2 });
            assert_eq!(bytes[25], 24);
            assert_eq!(bytes[26], 9);
            assert_eq!(bytes[27], 0);
            assert_eq!(&bytes[28..32], &[1, 2, 3, 4]);
            verify(&bytes, b"md5key").unwrap();
            assert!(matches!(
                verify(&bytes, b"md5kez"),
                Err(Error::AuthFailed(_))
            ));
            let mut flipped = bytes.clone();
            flipped[14] ^= 1;
            assert!(verify(&flipped, b"md5key").is_err());
            let r = Repr::parse_bytes(&bytes).unwrap();
            assert_eq!(r.auth.unwrap().sequence(), Some(0x0102_0304));
            assert_eq!(r.auth.unwrap().key_id(), 9);
            let (out, len) = r.to_bytes();
            assert_eq!(&out[..len], &bytes[..]);
        }
    }

    #[test]
    fn keyed_sha1_and_meticulous() {
        for meticulous in [false, true] {
            let bytes = keyed(
                Auth::KeyedSha1 {
                    meticulous,
                    key_id: 1,
                    sequence: 7,
                    hash: [0; 20],
                },
                b"a-twenty-octet-key!!",
            );
            assert_eq!(bytes.len(), 52);
            assert_eq!(bytes[24], if meticulous { 5 } else { 4 });
            assert_eq!(bytes[25], 28);
            verify(&bytes, b"a-twenty-octet-key!!").unwrap();
            assert!(verify(&bytes, b"a-twenty-octet-key!").is_err());
            let r = Repr::parse_bytes(&bytes).unwrap();
            assert_eq!(
                r.auth.unwrap().auth_type(),
                if meticulous {
                    AuthType::MeticulousKeyedSha1
                } else {
                    AuthType::KeyedSha1
                }
            );
        }
    }

    /// The digest value is MD5 over the packet with the zero-padded key in the digest field,
    /// computed here independently of `sign`.
    #[test]
    fn md5_digest_is_the_rfc_construction() {
        let bytes = keyed(
            Auth::KeyedMd5 {
                meticulous: false,
                key_id: 1,
                sequence: 1,
                digest: [0; 16],
            },
            b"k",
        );
        let mut copy = bytes.clone();
        copy[32..48].fill(0);
        copy[32] = b'k';
        let d = Md5::digest(&copy);
        assert_eq!(&bytes[32..48], &d[..]);
    }

    #[test]
    fn bad_auth_sections() {
        // Unknown type 6, length 4.
        let mut b = [0u8; 28];
        b[..24].copy_from_slice(&SIMPLE[..24]);
        b[3] = 28;
        b[24] = 6;
        b[25] = 4;
        assert!(matches!(
            Repr::parse_bytes(&b),
            Err(Error::UnknownAuthType(6))
        ));
        // Reserved type 0.
        b[24] = 0;
        assert!(matches!(
            Repr::parse_bytes(&b),
            Err(Error::UnknownAuthType(0))
        ));
        // MD5 with Auth Len 20.
        b[24] = 2;
        b[25] = 4;
        assert!(matches!(
            Repr::parse_bytes(&b),
            Err(Error::BadAuthLength { .. })
        ));
        // Auth Len beyond Length.
        b[25] = 5;
        assert!(matches!(Repr::parse_bytes(&b), Err(Error::BadLength(28))));
        // Auth Len shorter than Length.
        b[24] = 1;
        b[25] = 3;
        assert!(matches!(Repr::parse_bytes(&b), Err(Error::BadLength(28))));
        // Auth Len 1.
        b[25] = 1;
        assert!(matches!(Repr::parse_bytes(&b), Err(Error::BadLength(28))));
    }

    #[test]
    fn sign_rejects_long_keys() {
        let r = base(Some(Auth::KeyedMd5 {
            meticulous: false,
            key_id: 1,
            sequence: 1,
            digest: [0; 16],
        }));
        let (mut buf, len) = r.to_bytes();
        assert!(sign(&mut buf[..len], &[1u8; 17]).is_err());
        sign(&mut buf[..len], &[1u8; 16]).unwrap();
    }
}
