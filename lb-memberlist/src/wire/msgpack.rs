//! The subset of MessagePack that memberlist's Go encoder (`go-msgpack`'s `MsgpackHandle` with
//! its defaults) writes, and a tolerant reader for what any msgpack encoder may write.
//!
//! What the Go side writes, as seen in packets captured from serf 0.8.2 (see `tests/captured.rs`):
//! - structs as maps keyed by the Go field name (`fixmap`, `map16`);
//! - `string` and `[]byte` alike as the *old* msgpack raw type: `fixstr` up to 31 bytes, then
//!   `str16`/`str32` (never `str8` nor `bin*`, which need `WriteExt`);
//! - unsigned and non-negative integers in the shortest form (`fixint`, `uint8` … `uint64`);
//! - `bool` as `0xc2`/`0xc3`.
//!
//! The reader also accepts `str8`, `bin8/16/32`, signed integer forms, `nil` and arrays of small
//! integers for byte strings, and skips values of unknown keys, so that a newer encoder still
//! decodes. Every length is checked against the bytes left before anything is sliced or
//! allocated, and nesting in skipped values is bounded.

use crate::Error;

/// How deep [`Reader::skip`] follows nested maps and arrays before giving up.
const MAX_SKIP_DEPTH: u32 = 16;

/// A cursor over msgpack bytes. It never panics and never allocates.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    fn byte(&mut self) -> Result<u8, Error> {
        let b = *self.buf.get(self.pos).ok_or(Error::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn peek(&self) -> Result<u8, Error> {
        self.buf.get(self.pos).copied().ok_or(Error::Truncated)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).ok_or(Error::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(Error::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn be(&mut self, n: usize) -> Result<u64, Error> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// A map header; the count is checked against the bytes left (each entry takes two).
    pub(crate) fn map_len(&mut self) -> Result<usize, Error> {
        let b = self.byte()?;
        let n = match b {
            0x80..=0x8f => usize::from(b & 0x0f),
            0xde => self.be(2)? as usize,
            0xdf => usize::try_from(self.be(4)?).map_err(|_| Error::Truncated)?,
            _ => return Err(Error::Msgpack("expected a map")),
        };
        if n > self.rest().len() / 2 {
            return Err(Error::Truncated);
        }
        Ok(n)
    }

    fn array_len_after(&mut self, b: u8) -> Result<Option<usize>, Error> {
        let n = match b {
            0x90..=0x9f => usize::from(b & 0x0f),
            0xdc => self.be(2)? as usize,
            0xdd => usize::try_from(self.be(4)?).map_err(|_| Error::Truncated)?,
            _ => return Ok(None),
        };
        if n > self.rest().len() {
            return Err(Error::Truncated);
        }
        Ok(Some(n))
    }

    /// A string or byte string (raw, `str*` or `bin*`), borrowed from the input.
    pub(crate) fn raw(&mut self) -> Result<&'a [u8], Error> {
        let b = self.byte()?;
        let n = match b {
            0xa0..=0xbf => usize::from(b & 0x1f),
            0xd9 | 0xc4 => self.be(1)? as usize,
            0xda | 0xc5 => self.be(2)? as usize,
            0xdb | 0xc6 => usize::try_from(self.be(4)?).map_err(|_| Error::Truncated)?,
            _ => return Err(Error::Msgpack("expected a string")),
        };
        self.take(n)
    }

    /// A byte string; also accepts `nil` (empty) and an array of integers 0..=255.
    pub(crate) fn bytes(&mut self) -> Result<Vec<u8>, Error> {
        let b = self.peek()?;
        if b == 0xc0 {
            self.pos += 1;
            return Ok(Vec::new());
        }
        if matches!(b, 0x90..=0x9f | 0xdc | 0xdd) {
            self.pos += 1;
            let n = self.array_len_after(b)?.unwrap_or_default();
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let v = self.uint()?;
                out.push(u8::try_from(v).map_err(|_| Error::Msgpack("byte out of range"))?);
            }
            return Ok(out);
        }
        Ok(self.raw()?.to_vec())
    }

    /// A UTF-8 string; `nil` reads as empty.
    pub(crate) fn string(&mut self) -> Result<String, Error> {
        if self.peek()? == 0xc0 {
            self.pos += 1;
            return Ok(String::new());
        }
        let raw = self.raw()?;
        String::from_utf8(raw.to_vec()).map_err(|_| Error::Msgpack("string is not UTF-8"))
    }

    /// Any integer form, as a signed 64-bit value (`uint64` above `i64::MAX` is refused).
    pub(crate) fn int(&mut self) -> Result<i64, Error> {
        let b = self.byte()?;
        Ok(match b {
            0x00..=0x7f => i64::from(b),
            0xe0..=0xff => i64::from(b as i8),
            0xcc => self.be(1)? as i64,
            0xcd => self.be(2)? as i64,
            0xce => self.be(4)? as i64,
            0xcf => i64::try_from(self.be(8)?).map_err(|_| Error::Msgpack("integer overflow"))?,
            0xd0 => i64::from(self.be(1)? as u8 as i8),
            0xd1 => i64::from(self.be(2)? as u16 as i16),
            0xd2 => i64::from(self.be(4)? as u32 as i32),
            0xd3 => self.be(8)? as i64,
            0xc0 => 0,
            _ => return Err(Error::Msgpack("expected an integer")),
        })
    }

    /// Any integer form that is not negative.
    pub(crate) fn uint(&mut self) -> Result<u64, Error> {
        let b = self.peek()?;
        if b == 0xcf {
            self.pos += 1;
            return self.be(8);
        }
        u64::try_from(self.int()?).map_err(|_| Error::Msgpack("negative integer"))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        u32::try_from(self.uint()?).map_err(|_| Error::Msgpack("integer overflow"))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        u16::try_from(self.uint()?).map_err(|_| Error::Msgpack("integer overflow"))
    }

    pub(crate) fn bool(&mut self) -> Result<bool, Error> {
        match self.byte()? {
            0xc2 | 0xc0 => Ok(false),
            0xc3 => Ok(true),
            _ => Err(Error::Msgpack("expected a bool")),
        }
    }

    /// Skips one value of any type.
    pub(crate) fn skip(&mut self) -> Result<(), Error> {
        self.skip_depth(0)
    }

    fn skip_depth(&mut self, depth: u32) -> Result<(), Error> {
        if depth > MAX_SKIP_DEPTH {
            return Err(Error::Msgpack("nesting too deep"));
        }
        let b = self.peek()?;
        match b {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => {
                self.pos += 1;
            }
            0xcc | 0xd0 => {
                self.take(2)?;
            }
            0xcd | 0xd1 => {
                self.take(3)?;
            }
            0xce | 0xd2 | 0xca => {
                self.take(5)?;
            }
            0xcf | 0xd3 | 0xcb => {
                self.take(9)?;
            }
            0xa0..=0xbf | 0xd9..=0xdb | 0xc4..=0xc6 => {
                self.raw()?;
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                self.pos += 1;
                let n = self.array_len_after(b)?.unwrap_or_default();
                for _ in 0..n {
                    self.skip_depth(depth + 1)?;
                }
            }
            0x80..=0x8f | 0xde | 0xdf => {
                let n = self.map_len()?;
                for _ in 0..n {
                    self.skip_depth(depth + 1)?;
                    self.skip_depth(depth + 1)?;
                }
            }
            // fixext 1/2/4/8/16, ext 8/16/32
            0xd4 => {
                self.take(3)?;
            }
            0xd5 => {
                self.take(4)?;
            }
            0xd6 => {
                self.take(6)?;
            }
            0xd7 => {
                self.take(10)?;
            }
            0xd8 => {
                self.take(18)?;
            }
            0xc7..=0xc9 => {
                self.pos += 1;
                let n = self.be(usize::from(1u8 << (b - 0xc7)))?;
                let n = usize::try_from(n).map_err(|_| Error::Truncated)?;
                self.take(n.checked_add(1).ok_or(Error::Truncated)?)?;
            }
            0xc1 => return Err(Error::Msgpack("reserved byte 0xc1")),
        }
        Ok(())
    }
}

/// Writes msgpack the way memberlist's Go encoder does (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn map_len(&mut self, n: usize) {
        if n < 16 {
            self.buf.push(0x80 | n as u8);
        } else if let Ok(n) = u16::try_from(n) {
            self.buf.push(0xde);
            self.buf.extend_from_slice(&n.to_be_bytes());
        } else {
            self.buf.push(0xdf);
            self.buf.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }

    /// A raw string: `fixstr`, `str16` or `str32`, as the old msgpack spec Go speaks here.
    pub(crate) fn raw(&mut self, s: &[u8]) {
        if s.len() < 32 {
            self.buf.push(0xa0 | s.len() as u8);
        } else if let Ok(n) = u16::try_from(s.len()) {
            self.buf.push(0xda);
            self.buf.extend_from_slice(&n.to_be_bytes());
        } else {
            self.buf.push(0xdb);
            self.buf.extend_from_slice(&(s.len() as u32).to_be_bytes());
        }
        self.buf.extend_from_slice(s);
    }

    /// A byte slice as Go writes a `[]byte`: `nil` when empty (Go's zero value is a nil slice),
    /// a raw string otherwise.
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        if b.is_empty() {
            self.buf.push(0xc0);
        } else {
            self.raw(b);
        }
    }

    pub(crate) fn key(&mut self, k: &str) {
        self.raw(k.as_bytes());
    }

    pub(crate) fn uint(&mut self, v: u64) {
        if v < 0x80 {
            self.buf.push(v as u8);
        } else if let Ok(v) = u8::try_from(v) {
            self.buf.extend_from_slice(&[0xcc, v]);
        } else if let Ok(v) = u16::try_from(v) {
            self.buf.push(0xcd);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = u32::try_from(v) {
            self.buf.push(0xce);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else {
            self.buf.push(0xcf);
            self.buf.extend_from_slice(&v.to_be_bytes());
        }
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.buf.push(if v { 0xc3 } else { 0xc2 });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn integers_in_every_form() {
        for (bytes, v) in [
            (&[0x05][..], 5i64),
            (&[0xff], -1),
            (&[0xcc, 0xc8], 200),
            (&[0xcd, 0x1f, 0x0e], 7950),
            (&[0xce, 0, 1, 0, 0], 65536),
            (&[0xd0, 0x80], -128),
            (&[0xd1, 0x01, 0x00], 256),
            (&[0xd2, 0, 0, 1, 0], 256),
            (&[0xd3, 0, 0, 0, 0, 0, 0, 1, 0], 256),
        ] {
            assert_eq!(Reader::new(bytes).int().unwrap(), v, "{bytes:02x?}");
        }
        assert!(Reader::new(&[0xff]).uint().is_err());
        assert!(Reader::new(&[0xcd, 0x01]).int().is_err());
    }

    #[test]
    fn writer_uses_the_shortest_forms() {
        let mut w = Writer::default();
        w.uint(127);
        w.uint(128);
        w.uint(7950);
        w.raw(&[b'x'; 31]);
        assert_eq!(&w.buf[..6], &[0x7f, 0xcc, 0x80, 0xcd, 0x1f, 0x0e]);
        assert_eq!(w.buf[6], 0xbf);
        let mut w = Writer::default();
        w.raw(&[0; 32]);
        assert_eq!(&w.buf[..3], &[0xda, 0, 32]);
    }

    #[test]
    fn lengths_beyond_the_input_are_refused_before_allocating() {
        assert_eq!(
            Reader::new(&[0xdf, 0xff, 0xff, 0xff, 0xff]).map_len(),
            Err(Error::Truncated)
        );
        assert_eq!(
            Reader::new(&[0xdd, 0xff, 0xff, 0xff, 0xff]).bytes(),
            Err(Error::Truncated)
        );
        assert_eq!(
            Reader::new(&[0xdb, 0xff, 0xff, 0xff, 0xff]).raw(),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn skip_is_bounded() {
        let deep = [0x91u8; 64];
        assert!(Reader::new(&deep).skip().is_err());
        let mut r = Reader::new(&[0x82, 0xa1, b'a', 0x01, 0xa1, b'b', 0x92, 0xc3, 0xc0, 0x2a]);
        r.skip().unwrap();
        assert_eq!(r.int().unwrap(), 42);
    }
}
