//! memberlist's encryption: AES-GCM with a 12-byte nonce and a 16-byte tag, under a keyring.
//!
//! ```text
//! envelope: [ version u8 | nonce 12 | ciphertext | tag 16 ]
//!   version 1: no padding (what protocol 2+ sends)
//!   version 0: the plaintext was PKCS#7-padded to 16 bytes first (protocol 1; accepted)
//! packet:   envelope, additional data = the label (empty without one)
//! stream:   [ 10 | len be u32 | envelope ], additional data = those 5 bytes ‖ label
//! ```
//!
//! The key size picks AES-128, -192 or -256. Senders use the primary key; receivers try every
//! installed key. Nonces are an argument, so that the core stays deterministic: the driver
//! passes fresh random bytes for every message (never reuse one under the same key).

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes192;
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm, Nonce};

use crate::Error;
use crate::wire::{MAX_PUSH_STATE_BYTES, MessageType};

/// Length of the nonce.
pub const NONCE_LEN: usize = 12;
/// Length of the GCM tag.
pub const TAG_LEN: usize = 16;
/// Bytes a version-1 envelope adds to its plaintext (version, nonce, tag).
pub const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

type Aes192Gcm = AesGcm<Aes192, U12>;

/// One installed key with its cipher ready.
#[derive(Clone)]
struct Key {
    bytes: Vec<u8>,
    cipher: Cipher,
}

#[derive(Clone)]
enum Cipher {
    Aes128(Box<Aes128Gcm>),
    Aes192(Box<Aes192Gcm>),
    Aes256(Box<Aes256Gcm>),
}

impl Key {
    fn new(bytes: &[u8]) -> Result<Self, Error> {
        let bad = |_| Error::KeySize(bytes.len());
        let cipher = match bytes.len() {
            16 => Cipher::Aes128(Box::new(Aes128Gcm::new_from_slice(bytes).map_err(bad)?)),
            24 => Cipher::Aes192(Box::new(Aes192Gcm::new_from_slice(bytes).map_err(bad)?)),
            32 => Cipher::Aes256(Box::new(Aes256Gcm::new_from_slice(bytes).map_err(bad)?)),
            n => return Err(Error::KeySize(n)),
        };
        Ok(Self {
            bytes: bytes.to_vec(),
            cipher,
        })
    }

    fn seal(&self, nonce: &[u8; NONCE_LEN], msg: &[u8], aad: &[u8]) -> Result<Vec<u8>, Error> {
        let nonce = Nonce::from_slice(nonce);
        let payload = Payload { msg, aad };
        match &self.cipher {
            Cipher::Aes128(c) => c.encrypt(nonce, payload),
            Cipher::Aes192(c) => c.encrypt(nonce, payload),
            Cipher::Aes256(c) => c.encrypt(nonce, payload),
        }
        .map_err(|_| Error::Limit("plaintext"))
    }

    fn open(&self, nonce: &[u8], msg: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        let nonce = Nonce::from_slice(nonce);
        let payload = Payload { msg, aad };
        match &self.cipher {
            Cipher::Aes128(c) => c.decrypt(nonce, payload),
            Cipher::Aes192(c) => c.decrypt(nonce, payload),
            Cipher::Aes256(c) => c.decrypt(nonce, payload),
        }
        .ok()
    }
}

/// The installed keys, primary first (Go's `Keyring`).
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key bytes.
        f.debug_struct("Keyring")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Keyring {
    /// A keyring holding one key, which is primary. Keys are 16, 24 or 32 bytes.
    pub fn new(primary: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            keys: vec![Key::new(primary)?],
        })
    }

    /// Installs a key for decryption; a no-op if it is already installed.
    pub fn add(&mut self, key: &[u8]) -> Result<(), Error> {
        if !self.contains(key) {
            self.keys.push(Key::new(key)?);
        }
        Ok(())
    }

    /// Makes an installed key the primary (the one used to encrypt).
    pub fn use_key(&mut self, key: &[u8]) -> Result<(), Error> {
        let i = self
            .keys
            .iter()
            .position(|k| k.bytes == key)
            .ok_or(Error::Keyring("key not installed"))?;
        let k = self.keys.remove(i);
        self.keys.insert(0, k);
        Ok(())
    }

    /// Removes a key; the primary cannot be removed.
    pub fn remove(&mut self, key: &[u8]) -> Result<(), Error> {
        if self.primary() == key {
            return Err(Error::Keyring("cannot remove the primary key"));
        }
        self.keys.retain(|k| k.bytes != key);
        Ok(())
    }

    /// Whether `key` is installed.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.keys.iter().any(|k| k.bytes == key)
    }

    /// The primary key's bytes.
    pub fn primary(&self) -> &[u8] {
        self.keys.first().map(|k| &k.bytes[..]).unwrap_or_default()
    }

    /// All installed keys, primary first.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.keys.iter().map(|k| &k.bytes[..])
    }

    /// Seals a version-1 envelope under the primary key with `aad` as additional data.
    pub fn seal(&self, msg: &[u8], aad: &[u8], nonce: [u8; NONCE_LEN]) -> Result<Vec<u8>, Error> {
        let key = self.keys.first().ok_or(Error::Keyring("empty"))?;
        let mut out = Vec::with_capacity(OVERHEAD + msg.len());
        out.push(1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&key.seal(&nonce, msg, aad)?);
        Ok(out)
    }

    /// Opens an envelope (version 0 or 1) with whichever installed key fits.
    pub fn open(&self, envelope: &[u8], aad: &[u8]) -> Result<Vec<u8>, Error> {
        let (&vsn, rest) = envelope.split_first().ok_or(Error::Truncated)?;
        let min = match vsn {
            0 => OVERHEAD + 16,
            1 => OVERHEAD,
            v => return Err(Error::EncryptionVersion(v)),
        };
        if envelope.len() < min {
            return Err(Error::Truncated);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let plain = self
            .keys
            .iter()
            .find_map(|k| k.open(nonce, ciphertext, aad))
            .ok_or(Error::Decrypt)?;
        if vsn == 1 {
            return Ok(plain);
        }
        // Version 0: strip PKCS#7 padding, checking it (Go trusts the last byte).
        let pad = usize::from(*plain.last().ok_or(Error::Decrypt)?);
        if pad == 0 || pad > 16 || pad > plain.len() {
            return Err(Error::Decrypt);
        }
        Ok(plain[..plain.len() - pad].to_vec())
    }

    /// Seals a UDP packet's payload; the label (empty for none) is the additional data.
    pub fn seal_packet(
        &self,
        msg: &[u8],
        label: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, Error> {
        self.seal(msg, label, nonce)
    }

    /// Opens a UDP packet's payload (label header already removed).
    pub fn open_packet(&self, packet: &[u8], label: &[u8]) -> Result<Vec<u8>, Error> {
        self.open(packet, label)
    }

    /// Seals a stream message: `[10 | len u32 | envelope]`, authenticated with those first five
    /// bytes followed by the label.
    pub fn seal_stream(
        &self,
        msg: &[u8],
        label: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, Error> {
        let len = msg
            .len()
            .checked_add(OVERHEAD)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n <= MAX_PUSH_STATE_BYTES)
            .ok_or(Error::Limit("stream message"))?;
        let mut out = vec![MessageType::Encrypt.into()];
        out.extend_from_slice(&len.to_be_bytes());
        let mut aad = out.clone();
        aad.extend_from_slice(label);
        let envelope = self.seal(msg, &aad, nonce)?;
        out.extend_from_slice(&envelope);
        Ok(out)
    }

    /// The total length of an encrypted stream message from its first five bytes, so a driver
    /// knows how much to read; `None` if fewer than five bytes are given.
    pub fn stream_len(head: &[u8]) -> Option<Result<usize, Error>> {
        let head = head.get(..5)?;
        if head[0] != u8::from(MessageType::Encrypt) {
            return Some(Err(Error::UnknownType(head[0])));
        }
        let n = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
        if n > MAX_PUSH_STATE_BYTES {
            return Some(Err(Error::Limit("stream message")));
        }
        Some(Ok(5 + n as usize))
    }

    /// Opens a whole encrypted stream message (label header already removed).
    pub fn open_stream(&self, buf: &[u8], label: &[u8]) -> Result<Vec<u8>, Error> {
        let total = Self::stream_len(buf).ok_or(Error::Truncated)??;
        if buf.len() < total {
            return Err(Error::Truncated);
        }
        if buf.len() > total {
            return Err(Error::TrailingBytes(buf.len() - total));
        }
        let (head, envelope) = buf.split_at(5);
        let mut aad = head.to_vec();
        aad.extend_from_slice(label);
        self.open(envelope, &aad)
    }
}

/// SHA-256 of the empty string.
const SHA256_EMPTY: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The 32-byte AES-256 key MetalLB's speaker derives from its memberlist secret.
///
/// The speaker means to hash the secret but calls Go's `sha256.New().Sum(secret)`, which
/// *appends* the hash of nothing to `secret`; it then keeps the first 32 bytes. So the key is
/// `(secret ‖ sha256(""))[..32]`: for the controller's default 22-character secret, the 22
/// secret bytes followed by the first 10 bytes of `e3b0c442…`. `secret` is the file's content
/// as it is (the base64 text, not decoded). Mixed clusters need exactly these bytes.
pub fn metallb_secret_key(secret: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    for (dst, src) in key.iter_mut().zip(secret.iter().chain(SHA256_EMPTY.iter())) {
        *dst = *src;
    }
    key
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn metallb_quirk() {
        let secret = b"0123456789abcdefghijkl"; // 22 bytes, like the controller's default
        let key = metallb_secret_key(secret);
        assert_eq!(&key[..22], secret);
        assert_eq!(&key[22..], &SHA256_EMPTY[..10]);
        let long = [7u8; 40];
        assert_eq!(metallb_secret_key(&long), [7u8; 32]);
        assert_eq!(metallb_secret_key(b""), SHA256_EMPTY);
        Keyring::new(&key).unwrap();
    }

    #[test]
    fn key_sizes() {
        for n in [16, 24, 32] {
            let ring = Keyring::new(&vec![1; n]).unwrap();
            let s = ring.seal(b"hello", b"", [3; 12]).unwrap();
            assert_eq!(s.len(), OVERHEAD + 5);
            assert_eq!(ring.open(&s, b"").unwrap(), b"hello");
        }
        assert_eq!(Keyring::new(&[0; 15]).unwrap_err(), Error::KeySize(15));
    }

    #[test]
    fn every_key_is_tried_and_the_label_is_authenticated() {
        let old = Keyring::new(&[1; 16]).unwrap();
        let sealed = old.seal_packet(b"ping", b"dc1", [9; 12]).unwrap();
        let mut ring = Keyring::new(&[2; 32]).unwrap();
        assert_eq!(ring.open_packet(&sealed, b"dc1"), Err(Error::Decrypt));
        ring.add(&[1; 16]).unwrap();
        assert_eq!(ring.open_packet(&sealed, b"dc1").unwrap(), b"ping");
        assert_eq!(ring.open_packet(&sealed, b"dc2"), Err(Error::Decrypt));
        assert_eq!(
            ring.remove(&[2; 32]),
            Err(Error::Keyring("cannot remove the primary key"))
        );
        ring.use_key(&[1; 16]).unwrap();
        ring.remove(&[2; 32]).unwrap();
        assert_eq!(ring.keys().count(), 1);
    }

    #[test]
    fn stream_envelope() {
        let ring = Keyring::new(&[5; 16]).unwrap();
        let s = ring.seal_stream(b"push-pull", b"", [1; 12]).unwrap();
        assert_eq!(s[0], 10);
        assert_eq!(Keyring::stream_len(&s).unwrap().unwrap(), s.len());
        assert_eq!(ring.open_stream(&s, b"").unwrap(), b"push-pull");
        let mut bad = s.clone();
        bad[4] ^= 1; // the length is authenticated as well as framing
        assert!(ring.open_stream(&bad, b"").is_err());
    }

    #[test]
    fn short_and_odd_envelopes_are_refused() {
        let ring = Keyring::new(&[5; 16]).unwrap();
        assert_eq!(ring.open(&[], b""), Err(Error::Truncated));
        assert_eq!(ring.open(&[1; 28], b""), Err(Error::Truncated));
        assert_eq!(ring.open(&[0; 44], b""), Err(Error::Truncated));
        assert_eq!(ring.open(&[2; 40], b""), Err(Error::EncryptionVersion(2)));
    }

    #[test]
    fn version_zero_padding_is_checked() {
        let ring = Keyring::new(&[5; 16]).unwrap();
        let key = &ring.keys[0];
        // A well-formed version-0 envelope: "abc" + 13 bytes of 13.
        let mut padded = b"abc".to_vec();
        padded.extend_from_slice(&[13; 13]);
        let mut env = vec![0];
        env.extend_from_slice(&[4; 12]);
        env.extend_from_slice(&key.seal(&[4; 12], &padded, b"").unwrap());
        assert_eq!(ring.open(&env, b"").unwrap(), b"abc");
        // Padding byte 0 is refused rather than trusted.
        let mut env = vec![0];
        env.extend_from_slice(&[4; 12]);
        env.extend_from_slice(&key.seal(&[4; 12], &[0; 16], b"").unwrap());
        assert_eq!(ring.open(&env, b""), Err(Error::Decrypt));
    }
}
