//! The crate's one error type.

/// Everything that can go wrong decoding, encoding, sealing or opening memberlist traffic, and
/// running the driver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ends before a length, count or field it announces.
    #[error("truncated input")]
    Truncated,
    /// A msgpack value is not of the type the field needs, or is malformed.
    #[error("bad msgpack: {0}")]
    Msgpack(&'static str),
    /// A message type byte this crate does not know.
    #[error("unknown message type {0}")]
    UnknownType(u8),
    /// A stream message followed by bytes that belong to nothing.
    #[error("{0} trailing bytes after a stream message")]
    TrailingBytes(usize),
    /// A CRC header that does not match its message.
    #[error("CRC mismatch: header says {expected:#010x}, message has {got:#010x}")]
    Checksum {
        /// The value in the header.
        expected: u32,
        /// The value computed over the message.
        got: u32,
    },
    /// A count or length beyond one of memberlist's limits.
    #[error("{0} over the limit")]
    Limit(&'static str),
    /// A label header with an empty label (Go refuses it too).
    #[error("empty label header")]
    EmptyLabel,
    /// A packet whose label is not ours (or is missing, or present when we have none).
    #[error("packet label is not ours")]
    LabelMismatch,
    /// A label header where a message was expected: labels are removed first.
    #[error("label header inside a message")]
    UnexpectedLabel,
    /// An encrypted stream message handed to the plain decoder: open it with a keyring first.
    #[error("encrypted message: open it with a keyring first")]
    Encrypted,
    /// A key that is not 16, 24 or 32 bytes long.
    #[error("key size must be 16, 24 or 32 bytes, not {0}")]
    KeySize(usize),
    /// An encryption version byte other than 0 or 1.
    #[error("unsupported encryption version {0}")]
    EncryptionVersion(u8),
    /// No installed key opened the message (or it was tampered with).
    #[error("no installed key could decrypt the message")]
    Decrypt,
    /// A compressed payload that does not decompress.
    #[error("bad compressed payload: {0}")]
    Compression(&'static str),
    /// Removing the primary key, or using an empty keyring.
    #[error("keyring: {0}")]
    Keyring(&'static str),
    /// The driver's socket could not be bound or used.
    #[error("socket: {0}")]
    Io(#[from] IoError),
    /// The driver binds to an unspecified address (`0.0.0.0`) and has no advertise address.
    #[error("an advertise address is needed when binding to an unspecified address")]
    NoAdvertiseAddress,
    /// The driver could not join any seed within the configured attempts.
    #[error("could not join any of {seeds} seeds after {attempts} attempts")]
    JoinFailed {
        /// How many seeds were tried.
        seeds: usize,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The driver's node task has stopped (left, shut down, or panicked).
    #[error("the node has stopped")]
    Stopped,
    /// A key change was asked of a driver started without a keyring.
    #[error("the node was started without encryption")]
    NotEncrypted,
}

/// An I/O error of the driver, shared so that [`Error`] stays `Clone`, and compared by kind.
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct IoError(std::sync::Arc<std::io::Error>);

impl IoError {
    /// The error's kind.
    pub fn kind(&self) -> std::io::ErrorKind {
        self.0.kind()
    }
}

impl PartialEq for IoError {
    fn eq(&self, other: &Self) -> bool {
        self.kind() == other.kind()
    }
}

impl Eq for IoError {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(IoError(std::sync::Arc::new(e)))
    }
}
