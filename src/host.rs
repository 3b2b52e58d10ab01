//! Host memory: fallible allocation and checked byte counts.
//!
//! Every host buffer whose length a caller controls (a tensor's bytes, a
//! orthogonal init's matrices, a diagnostic's activations) is allocated through
//! [`try_filled`], which asks the allocator with `Vec::try_reserve_exact`
//! and returns [`Error::TooLarge`] instead of aborting the process; every
//! byte count is computed with [`bytes_of`] / [`to_usize`], which refuse
//! to wrap.

use crate::error::{Error, Result};

/// A vector of `n` copies of `value`, or [`Error::TooLarge`] naming `what`
/// when `n` elements do not fit the address space or the allocator says
/// no.
pub(crate) fn try_filled<T: Clone>(n: u64, value: T, what: impl Fn() -> String) -> Result<Vec<T>> {
    let bytes = n.checked_mul(std::mem::size_of::<T>() as u64);
    let fail = |reason: String| Error::TooLarge {
        what: what(),
        reason,
    };
    let len = to_usize(n, &what)?;
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        fail(match bytes {
            Some(b) => format!("{b} bytes of host memory could not be allocated"),
            None => "its byte count overflows u64".into(),
        })
    })?;
    v.resize(len, value);
    Ok(v)
}

/// `numel * size` bytes, or [`Error::TooLarge`] naming `what` on overflow.
pub(crate) fn bytes_of(numel: u64, size: usize, what: impl Fn() -> String) -> Result<u64> {
    numel
        .checked_mul(size as u64)
        .ok_or_else(|| Error::TooLarge {
            what: what(),
            reason: format!("{numel} elements of {size} bytes overflow a 64-bit byte count"),
        })
}

/// `a + b`, or [`Error::TooLarge`] naming `what` on overflow.
#[cfg_attr(not(feature = "model"), allow(dead_code))]
pub(crate) fn add(a: u64, b: u64, what: impl Fn() -> String) -> Result<u64> {
    a.checked_add(b).ok_or_else(|| Error::TooLarge {
        what: what(),
        reason: format!("{a} + {b} bytes overflow a 64-bit byte offset"),
    })
}

/// `n` as a `usize`, or [`Error::TooLarge`] naming `what`.
pub(crate) fn to_usize(n: u64, what: impl Fn() -> String) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::TooLarge {
        what: what(),
        reason: format!("{n} does not fit this machine's address space"),
    })
}
