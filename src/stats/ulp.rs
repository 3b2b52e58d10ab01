//! How two backends' values are compared: distances in ULP, the
//! exactness levels, and the measured [`Agreement`] of two fills.
//!
//! The contract requires every element to be the same bits on every
//! backend ([`Exactness::REQUIRED`]); where an adapter still differs that
//! is a defect, reported as the fraction of bit-identical elements and the
//! largest distance in ULP ([`Agreement`]), which the GPU tests and
//! `weight-init verify` print.

use crate::dtype::DType;
use crate::sampler::{Sampler, SamplerKind};

/// `|a - b|` in ULP of `dtype` at `max(|b|, |scale|)`: how the GPU backend's
/// distance from the CPU backend is measured. Against the scale (a
/// distribution's std) because `mean + std * z` near zero turns one ULP of
/// `std * z` into many ULP of a tiny result.
///
/// ```
/// use weight_init::{stats::scaled_ulp_distance, DType};
/// let one_ulp = 1.0 + f32::EPSILON;
/// assert_eq!(scaled_ulp_distance(one_ulp, 1.0, 0.5, DType::F32), 1.0);
/// // Near zero the scale sets the unit: 1e-9 apart is far below one ULP of 1.
/// assert!(scaled_ulp_distance(1e-9, 0.0, 1.0, DType::F32) < 0.01);
/// ```
#[must_use]
pub fn scaled_ulp_distance(a: f32, b: f32, scale: f32, dtype: DType) -> f64 {
    let m = b.abs().max(scale.abs()) as f64;
    (a as f64 - b as f64).abs() / dtype.ulp(m)
}

/// The scale GPU-to-CPU distances are measured against for the values of
/// a sampler ([`scaled_ulp_distance`]): the std of a normal or truncated
/// normal (`Sampler::scale`), the half-width of a uniform (also
/// `Sampler::scale`), `|value|` (or 1 for zero) of a constant.
///
/// ```
/// use weight_init::stats::ulp_scale;
/// use weight_init::{DType, Distribution, Normal, Sampler};
/// let s = Sampler::new(&Normal::new(3.0, 0.02).unwrap().into(), DType::F32).unwrap();
/// assert_eq!(ulp_scale(&s), 0.02);
/// let c = Sampler::new(&Distribution::constant(-4.0).unwrap(), DType::F32).unwrap();
/// assert_eq!(ulp_scale(&c), 4.0);
/// ```
#[must_use]
pub fn ulp_scale(sampler: &Sampler) -> f32 {
    match sampler.kind {
        SamplerKind::Constant if sampler.offset != 0.0 => sampler.offset.abs(),
        SamplerKind::Constant => 1.0,
        _ => sampler.scale.abs(),
    }
}

/// Distance between two elements' bits in representable values of `dtype`
/// (sign-magnitude bits made ordered; 16-bit elements in the low half):
/// 0 for the same bits (and for +0 and -0), 1 for neighbours.
///
/// ```
/// use weight_init::{stats::ordered_ulp_distance, DType};
/// let one = 1.0f32.to_bits();
/// assert_eq!(ordered_ulp_distance(one, one + 3, DType::F32), 3);
/// assert_eq!(ordered_ulp_distance(0x0001, 0x8001, DType::BF16), 2);
/// ```
#[must_use]
pub fn ordered_ulp_distance(a: u32, b: u32, dtype: DType) -> u64 {
    let sign = if dtype == DType::F32 {
        0x8000_0000u32
    } else {
        0x8000
    };
    let ordered = |x: u32| -> i64 {
        if x & sign != 0 {
            -((x & !sign) as i64)
        } else {
            x as i64
        }
    };
    ordered(a).abs_diff(ordered(b))
}

/// How closely one backend's elements match another's.
///
/// ```
/// use weight_init::stats::{Agreement, Exactness};
/// use weight_init::DType;
/// let same = Agreement::of(&[1.0, 2.0], &[1.0, 2.0], 1.0, DType::F32);
/// assert_eq!(same.level(), Exactness::BitExact);
/// assert_eq!(Exactness::REQUIRED, Exactness::BitExact);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Exactness {
    /// Every element the same bits.
    BitExact,
    /// Elements differ by at most this many ULP ([`scaled_ulp_distance`]);
    /// what a measured [`Agreement`] that is not bit-exact reaches.
    WithinUlp(f64),
}

impl Exactness {
    /// What the contract requires of every backend against the CPU
    /// backend, for every distribution, dtype and adapter: the same bits.
    ///
    /// ```
    /// use weight_init::stats::Exactness;
    /// assert_eq!(Exactness::REQUIRED, Exactness::BitExact);
    /// ```
    pub const REQUIRED: Exactness = Exactness::BitExact;
}

/// The measured agreement of a backend's values (`got`) with the CPU
/// backend's (`want`): how many elements have identical bits, and the
/// largest distance ([`scaled_ulp_distance`]) among those that differ, with
/// where it occurs. A NaN on either side of a difference counts as
/// infinitely far.
///
/// ```
/// use weight_init::stats::{Agreement, Exactness};
/// use weight_init::DType;
/// let want = [1.0f32, 2.0, 3.0, 4.0];
/// let got = [1.0f32, 2.0, 3.0 + 2.0 * f32::EPSILON, 4.0];
/// let a = Agreement::of(&got, &want, 1.0, DType::F32);
/// assert_eq!((a.n, a.identical, a.max_ulp, a.worst), (4, 3, 1.0, Some(2)));
/// assert_eq!(a.exact_fraction(), 0.75);
/// assert_eq!(a.level(), Exactness::WithinUlp(1.0));
/// assert!(!a.meets(Exactness::REQUIRED) && a.meets(Exactness::WithinUlp(1.0)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct Agreement {
    /// Elements compared.
    pub n: u64,
    /// Elements with identical bits.
    pub identical: u64,
    /// Largest distance in ULP of `max(|want|, scale)` where an element
    /// differs (0 when none does).
    pub max_ulp: f64,
    /// Position (counted over everything added) of the first element at
    /// `max_ulp`; `None` when every element is identical.
    pub worst: Option<u64>,
}

impl Agreement {
    /// Nothing compared yet.
    ///
    /// ```
    /// use weight_init::stats::{Agreement, Exactness};
    /// let a = Agreement::new();
    /// assert_eq!((a.n, a.exact_fraction(), a.level()), (0, 1.0, Exactness::BitExact));
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// `got` against `want`, element by element, distances against `scale`
    /// (for a sampler's values: [`ulp_scale`]).
    ///
    /// ```
    /// use weight_init::stats::Agreement;
    /// use weight_init::DType;
    /// let a = Agreement::of(&[1.0, 2.5], &[1.0, 2.0], 1.0, DType::BF16);
    /// assert_eq!((a.identical, a.worst), (1, Some(1)));
    /// assert_eq!(a.max_ulp, 32.0); // 0.5 apart, bf16's ULP at 2 is 2^-6
    /// ```
    #[must_use]
    pub fn of(got: &[f32], want: &[f32], scale: f32, dtype: DType) -> Self {
        let mut a = Self::new();
        a.add(got, want, scale, dtype);
        a
    }

    /// Adds the next elements (pairs up to the shorter slice).
    ///
    /// ```
    /// use weight_init::stats::Agreement;
    /// use weight_init::DType;
    /// let mut a = Agreement::new();
    /// a.add(&[1.0, 2.0], &[1.0, 2.0], 1.0, DType::F32);
    /// a.add(&[f32::NAN], &[3.0], 1.0, DType::F32); // NaN: infinitely far
    /// assert_eq!((a.n, a.identical, a.max_ulp, a.worst), (3, 2, f64::INFINITY, Some(2)));
    /// ```
    pub fn add(&mut self, got: &[f32], want: &[f32], scale: f32, dtype: DType) {
        for (&g, &w) in got.iter().zip(want) {
            if g.to_bits() == w.to_bits() {
                self.identical += 1;
            } else {
                // NaN never equals anything, so a NaN on either side
                // counts as infinitely far.
                let d = scaled_ulp_distance(g, w, scale, dtype);
                let d = if d.is_nan() { f64::INFINITY } else { d };
                if self.worst.is_none() || d > self.max_ulp {
                    self.max_ulp = d;
                    self.worst = Some(self.n);
                }
            }
            self.n += 1;
        }
    }

    /// Fraction of elements with identical bits (1 when none were compared).
    ///
    /// ```
    /// use weight_init::stats::Agreement;
    /// use weight_init::DType;
    /// let a = Agreement::of(&[1.0, 0.0, 0.0, 0.0], &[1.0; 4], 1.0, DType::F32);
    /// assert_eq!(a.exact_fraction(), 0.25);
    /// ```
    #[must_use]
    pub fn exact_fraction(&self) -> f64 {
        if self.n == 0 {
            1.0
        } else {
            self.identical as f64 / self.n as f64
        }
    }

    /// The level reached: [`Exactness::BitExact`] when every element is
    /// identical, else [`Exactness::WithinUlp`] of the largest distance.
    ///
    /// ```
    /// use weight_init::stats::{Agreement, Exactness};
    /// use weight_init::DType;
    /// let a = Agreement::of(&[1.0 + f32::EPSILON], &[1.0], 1.0, DType::F32);
    /// assert_eq!(a.level(), Exactness::WithinUlp(1.0));
    /// ```
    #[must_use]
    pub fn level(&self) -> Exactness {
        if self.identical == self.n {
            Exactness::BitExact
        } else {
            Exactness::WithinUlp(self.max_ulp)
        }
    }

    /// Whether the level reached is at least `required`.
    ///
    /// ```
    /// use weight_init::stats::{Agreement, Exactness};
    /// use weight_init::DType;
    /// let a = Agreement::of(&[1.0, 2.0], &[1.0, 2.0], 1.0, DType::F16);
    /// assert!(a.meets(Exactness::REQUIRED) && a.meets(Exactness::WithinUlp(0.0)));
    /// ```
    #[must_use]
    pub fn meets(&self, required: Exactness) -> bool {
        match (self.level(), required) {
            (Exactness::BitExact, _) => true,
            (Exactness::WithinUlp(_), Exactness::BitExact) => false,
            (Exactness::WithinUlp(got), Exactness::WithinUlp(bound)) => got <= bound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulp_distance_in_dtype_units() {
        assert_eq!(
            scaled_ulp_distance(1.0, 1.0 + f32::EPSILON, 1.0, DType::F32),
            1.0
        );
        assert_eq!(scaled_ulp_distance(1.0, 1.0078125, 1.0, DType::BF16), 1.0);
        // Near zero, measured against the scale.
        assert_eq!(scaled_ulp_distance(0.0, f32::EPSILON, 1.0, DType::F32), 1.0);
    }
}
