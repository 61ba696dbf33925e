//! What every zero-copy view of this workspace's L2 codecs has in common (smoltcp's shape: a
//! struct over a buffer `T: AsRef<[u8]>`, checked once, then read with plain accessors):
//! [`wire_view!`](crate::wire_view) declares the struct and its constructors, [`need`] is
//! the one length check their `check_len` functions are made of, and [`room`] the one of
//! every `emit`.

use crate::{Error, Result};

/// A range of byte offsets of a fixed-size field.
pub type Field = core::ops::Range<usize>;
/// The offset at which a variable-length remainder starts.
pub type Rest = core::ops::RangeFrom<usize>;

/// Reads a big-endian `u16` at `range` (two bytes, checked by the caller's `check_len`).
#[inline]
pub fn read_u16(data: &[u8], range: Field) -> u16 {
    let b = &data[range];
    u16::from_be_bytes([b[0], b[1]])
}

/// `Ok` when a buffer of `got` bytes holds the `needed` ones, else [`Error::Truncated`].
#[inline]
pub const fn need(got: usize, needed: usize) -> Result<()> {
    if got < needed {
        Err(Error::Truncated { needed, got })
    } else {
        Ok(())
    }
}

/// `Ok` when a buffer of `got` bytes has room for the `needed` ones an `emit` writes, else
/// [`Error::BufferTooSmall`].
#[inline]
pub const fn room(got: usize, needed: usize) -> Result<()> {
    if got < needed {
        Err(Error::BufferTooSmall { needed, got })
    } else {
        Ok(())
    }
}

/// Declares a zero-copy view: `pub struct Name<T: AsRef<[u8]>>` over a private `buffer`, with
/// `new_unchecked`, `new_checked` (which runs the view's own `check_len(&self) -> Result<()>`,
/// to be written beside it) and `into_inner`. Accessors read `self.buffer`.
///
/// ```
/// lb_l2::wire_view! {
///     /// Two bytes, a length then that many more.
///     pub struct Tlv;
/// }
///
/// impl<T: AsRef<[u8]>> Tlv<T> {
///     /// Checks the buffer holds the header and the length it declares.
///     pub fn check_len(&self) -> lb_l2::Result<()> {
///         let got = self.buffer.as_ref().len();
///         lb_l2::view::need(got, 2)?;
///         lb_l2::view::need(got, 2 + usize::from(self.buffer.as_ref()[1]))
///     }
/// }
///
/// assert!(Tlv::new_checked(&[1u8, 1, 9][..]).is_ok());
/// assert!(Tlv::new_checked(&[1u8, 2, 9][..]).is_err());
/// ```
#[macro_export]
macro_rules! wire_view {
    ($(#[$meta:meta])* $vis:vis struct $name:ident;) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        $vis struct $name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// Wraps a buffer without checking it; accessors may panic unless
            /// [`Self::check_len`] passes.
            #[inline]
            pub const fn new_unchecked(buffer: T) -> $name<T> {
                $name { buffer }
            }
            /// Wraps a buffer after [`Self::check_len`].
            #[inline]
            pub fn new_checked(buffer: T) -> $crate::Result<$name<T>> {
                let view = Self::new_unchecked(buffer);
                view.check_len()?;
                Ok(view)
            }
            /// The underlying buffer.
            #[inline]
            pub fn into_inner(self) -> T {
                self.buffer
            }
        }
    };
}
