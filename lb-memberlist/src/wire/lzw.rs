//! Decompression of memberlist's `compress` messages: LZW as Go's `compress/lzw` writes it
//! with least-significant-bit-first code packing and 8-bit literals (GIF-style: clear code
//! 256, end code 257, codes widening from 9 to 12 bits, the table frozen once full).
//!
//! Only decompression: Go nodes accept uncompressed messages, so this crate never needs to
//! compress. The output is capped by the caller; the tables are fixed-size arrays, and no
//! input can make it index out of bounds or loop.

use crate::Error;

const CLEAR: u16 = 256;
const END: u16 = 257;
const INVALID: u16 = u16::MAX;
const MAX_WIDTH: u32 = 12;
const TABLE: usize = 1 << MAX_WIDTH;

/// Go's `maxDecompressedBytes`: the largest output memberlist accepts (40 MiB).
pub const MAX_DECOMPRESSED_BYTES: usize = 2 * 20 * 1024 * 1024;

/// Decompresses `input`, failing if the output would exceed `max_out` bytes.
pub fn decompress(input: &[u8], max_out: usize) -> Result<Vec<u8>, Error> {
    let bad = Error::Compression;
    let mut prefix = [0u16; TABLE];
    let mut suffix = [0u8; TABLE];
    let mut stack = [0u8; TABLE];
    let (mut width, mut hi, mut overflow, mut last) = (9u32, END, 1u16 << 9, INVALID);
    let (mut bits, mut nbits, mut pos) = (0u32, 0u32, 0usize);
    let mut out = Vec::new();
    loop {
        while nbits < width {
            // Go treats a stream that ends without the end code as an unexpected EOF.
            let b = *input.get(pos).ok_or(bad("truncated"))?;
            pos += 1;
            bits |= u32::from(b) << nbits;
            nbits += 8;
        }
        let code = (bits & ((1 << width) - 1)) as u16;
        bits >>= width;
        nbits -= width;
        if code < CLEAR {
            if out.len() >= max_out {
                return Err(Error::Limit("decompressed size"));
            }
            out.push(code as u8);
            if last != INVALID {
                suffix[usize::from(hi)] = code as u8;
                prefix[usize::from(hi)] = last;
            }
        } else if code == CLEAR {
            (width, hi, overflow, last) = (9, END, 1 << 9, INVALID);
            continue;
        } else if code == END {
            return Ok(out);
        } else if code <= hi {
            // Expand back to front into `stack[i..]`.
            let mut i = TABLE;
            let mut c = code;
            let mut push = |i: &mut usize, b: u8| -> Result<(), Error> {
                *i = i.checked_sub(1).ok_or(bad("code chain too long"))?;
                stack[*i] = b;
                Ok(())
            };
            if code == hi && last != INVALID {
                // KwKwK: the last expansion followed by its own first byte.
                c = last;
                let mut steps = 0;
                while c >= CLEAR {
                    c = prefix[usize::from(c)];
                    steps += 1;
                    if steps > TABLE {
                        return Err(bad("code chain loops"));
                    }
                }
                push(&mut i, c as u8)?;
                c = last;
            }
            while c >= CLEAR {
                push(&mut i, suffix[usize::from(c)])?;
                c = prefix[usize::from(c)];
            }
            push(&mut i, c as u8)?;
            if out.len() + (TABLE - i) > max_out {
                return Err(Error::Limit("decompressed size"));
            }
            out.extend_from_slice(&stack[i..]);
            if last != INVALID {
                suffix[usize::from(hi)] = c as u8;
                prefix[usize::from(hi)] = last;
            }
        } else {
            return Err(bad("invalid code"));
        }
        last = code;
        hi += 1;
        if hi >= overflow {
            if width == MAX_WIDTH {
                last = INVALID;
                hi -= 1;
            } else {
                width += 1;
                overflow = 1 << width;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Packs codes LSB-first with the widths a Go writer would use.
    fn pack(codes: &[(u16, u32)]) -> Vec<u8> {
        let (mut bits, mut n, mut out) = (0u64, 0u32, Vec::new());
        for &(c, w) in codes {
            bits |= u64::from(c) << n;
            n += w;
            while n >= 8 {
                out.push(bits as u8);
                bits >>= 8;
                n -= 8;
            }
        }
        if n > 0 {
            out.push(bits as u8);
        }
        out
    }

    #[test]
    fn literals_repeats_and_kwkwk() {
        // "abababa": a b 258(ab) 260(aba, the KwKwK case) end.
        let input = pack(&[(97, 9), (98, 9), (258, 9), (260, 9), (END, 9)]);
        assert_eq!(decompress(&input, 100).unwrap(), b"abababa");
        // Clear resets the table mid-stream.
        let input = pack(&[(97, 9), (CLEAR, 9), (98, 9), (END, 9)]);
        assert_eq!(decompress(&input, 100).unwrap(), b"ab");
    }

    #[test]
    fn bad_streams_are_errors() {
        assert!(decompress(&[], 100).is_err());
        assert!(decompress(&pack(&[(97, 9)]), 100).is_err()); // no end code
        assert!(decompress(&pack(&[(300, 9)]), 100).is_err()); // undefined code
        let input = pack(&[(97, 9), (98, 9), (258, 9), (260, 9), (END, 9)]);
        assert_eq!(
            decompress(&input, 6),
            Err(Error::Limit("decompressed size"))
        );
    }
}
