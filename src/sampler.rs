//! A distribution prepared for one output dtype ([`Sampler`]): the exact
//! numbers a backend needs, and the CPU's sampling of whole blocks and
//! batches built from the transforms of `src/kernel.rs` (the twin of
//! `shaders/philox.wgsl`).
//!
//! The host-side *parameter* preparation in [`Sampler::new`] uses f64 (the
//! truncated normal's tail probabilities in log form, through
//! [`crate::stats::ln_sf`]): it runs once per tensor on the CPU and its results travel
//! to the GPU as uniforms. Sampling itself uses only the kernel's f32
//! operations, so every backend gives the same bits.

use crate::dist::Distribution;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::{
    add, box_muller, mul, signed_unit, tail_radius, truncated_std_normal,
    truncated_std_normal_common, TAIL_POLY_MAX_R,
};
use crate::stats::ln_sf;

/// Largest |z| a Box–Muller sample can reach: sqrt(-2 ln(2^-33)) < 6.77.
///
/// ```
/// use weight_init::sampler::NORMAL_MAX_ABS_Z;
/// use weight_init::{cpu, Normal, TensorKey};
/// let mut w = vec![0.0f32; 4096];
/// let d = Normal::new(0.0, 1.0).unwrap().into();
/// cpu::fill_f32(&d, &TensorKey::new(1, 2, 4096), 0..4096, &mut w).unwrap();
/// assert!(w.iter().all(|z| z.abs() < NORMAL_MAX_ABS_Z));
/// ```
pub const NORMAL_MAX_ABS_Z: f32 = 6.77;
/// Beyond this many std the truncated normal is a point mass at the bound to
/// f32 precision (its spread 1/alpha is below a 2^-7 fraction of an ULP).
const TRUNC_PINNED_ALPHA: f64 = 65536.0;

// ---------------------------------------------------------------------------
// Host-side preparation (f64 allowed: runs once per tensor)
// ---------------------------------------------------------------------------

/// `ln Q(x)` for any `x` (`-inf` at `+inf`, 0 at `-inf`), in f64.
fn ln_upper_tail(x: f64) -> f64 {
    if x >= 0.0 {
        ln_sf(x)
    } else {
        // Q(x) = 1 - Q(-x), with Q(-x) < 1/2.
        libm::log1p(-0.5 * libm::erfc(-x * core::f64::consts::FRAC_1_SQRT_2))
    }
}

/// `Φ(x) - 1/2` in f64.
fn centred_cdf(x: f64) -> f64 {
    0.5 * libm::erf(x * core::f64::consts::FRAC_1_SQRT_2)
}

/// One end of a truncated normal's interval `[alpha, beta]` (std units),
/// seen from the inverse CDF when it counts probability from that end. The
/// upper end is mirrored (`z -> -z`) into a lower one, so both ends are
/// described by their *anchor*: `alpha` for the lower end, `-beta` for the
/// upper. With `W = Φ(beta) - Φ(alpha)` the interval's probability, a
/// sample at probability `v W` from the anchor satisfies
/// `Φ(z) = Φ(anchor) + v W` (mirrored z).
///
/// ```
/// use weight_init::sampler::{Sampler, SamplerKind, TruncMode};
/// use weight_init::{DType, TruncatedNormal};
/// // [0, inf) in std units: from the lower end, Φ(0) - 1/2 = 0.
/// let t = TruncatedNormal::new(0.0, 1.0, 0.0, f32::INFINITY).unwrap();
/// let s = Sampler::new(&t.into(), DType::F32).unwrap();
/// let SamplerKind::TruncatedNormal(TruncMode::Inverse { lower, .. }) = s.kind() else { panic!() };
/// // Half the mass lies on either side of the anchor: Φ(0) / W = Q(0) / W = 1.
/// assert_eq!(lower.h, 0.0);
/// assert!((lower.below - 1.0).abs() < 1e-6 && (lower.above - 1.0).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct TruncEnd {
    /// `Φ(anchor) - 1/2`: `d = h + v W` is `Φ(z) - 1/2`.
    pub h: f32,
    /// `Φ(anchor) / W`: `Φ(z) / W = below + v` (lower tail, `z < 0`).
    pub below: f32,
    /// `Q(anchor) / W`, at least 1: `Q(z) / W = above - v` (upper tail).
    pub above: f32,
}

/// How a truncated normal is sampled; the parameters travel to the GPU as
/// they are.
///
/// ```
/// use weight_init::sampler::{Sampler, SamplerKind, TruncMode};
/// use weight_init::{DType, TruncatedNormal};
/// let mode = |a: f32, b: f32| {
///     let t = TruncatedNormal::with_std_bounds(0.0, 1.0, a, b).unwrap();
///     match Sampler::new(&t.into(), DType::F32).unwrap().kind() {
///         SamplerKind::TruncatedNormal(m) => m,
///         _ => unreachable!(),
///     }
/// };
/// assert!(matches!(mode(-2.0, 2.0), TruncMode::Inverse { .. }));
/// // 1e6 std out: a point mass at the near bound to f32 precision.
/// assert_eq!(mode(1e6, f32::INFINITY), TruncMode::Pinned);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum TruncMode {
    /// The inverse CDF, counted from the end of the interval nearer to the
    /// sample (see [`truncated_std_normal`]).
    Inverse {
        /// `W = Φ(beta) - Φ(alpha)`, rounded to f32 (may underflow to 0 in
        /// deep tails, where only the log form below is used).
        width: f32,
        /// `-ln W`.
        neg_ln_width: f32,
        /// The lower end, anchor `alpha`.
        lower: TruncEnd,
        /// The upper end mirrored, anchor `-beta`.
        upper: TruncEnd,
    },
    /// The interval is so deep in the tail that the distribution is a point
    /// mass at the near bound to f32 precision.
    Pinned,
}

impl TruncMode {
    /// The mode for `[alpha, beta]` in std units (`alpha < beta`, either
    /// infinite), prepared in f64 with every probability kept in log form
    /// until its ratio is taken, so deep tails neither underflow nor cancel.
    fn new(alpha: f64, beta: f64) -> Self {
        if alpha >= TRUNC_PINNED_ALPHA || beta <= -TRUNC_PINNED_ALPHA {
            return TruncMode::Pinned;
        }
        let lq = ln_upper_tail;
        let ln_width = if alpha >= 0.0 {
            lq(alpha) + (-libm::expm1(lq(beta) - lq(alpha))).ln()
        } else if beta <= 0.0 {
            lq(-beta) + (-libm::expm1(lq(-alpha) - lq(-beta))).ln()
        } else {
            libm::log1p(-(lq(-alpha).exp() + lq(beta).exp()))
        };
        let ratio = |ln_p: f64| ((ln_p - ln_width).exp()).min(f32::MAX as f64) as f32;
        let end = |anchor: f64| TruncEnd {
            h: centred_cdf(anchor) as f32,
            below: ratio(lq(-anchor)),
            above: ratio(lq(anchor)),
        };
        TruncMode::Inverse {
            width: ln_width.exp() as f32,
            neg_ln_width: -ln_width as f32,
            lower: end(alpha),
            upper: end(-beta),
        }
    }
}

/// A distribution prepared for one output dtype: the exact numbers a
/// backend needs to sample it, so no backend re-derives a formula.
///
/// ```
/// use weight_init::{DType, Distribution, Normal, Sampler};
/// let s = Sampler::new(&Normal::new(0.0, 1.0).unwrap().into(), DType::BF16).unwrap();
/// let v = s.sample_block([1, 2, 3, 4]);
/// assert!(v.iter().all(|x| x.is_finite()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampler {
    /// What is sampled.
    pub(crate) kind: SamplerKind,
    /// Output dtype.
    pub(crate) dtype: DType,
    /// Affine map: value = `offset + scale * x`, where `x` is the
    /// distribution's unit sample (signed unit for uniform, z for normals).
    pub(crate) offset: f32,
    /// See `offset`.
    pub(crate) scale: f32,
    /// Every value is clamped to `[lo, hi]`, both representable in `dtype`.
    pub(crate) lo: f32,
    /// See `lo`.
    pub(crate) hi: f32,
}

/// The transform a [`Sampler`] applies.
///
/// ```
/// use weight_init::sampler::{Sampler, SamplerKind};
/// use weight_init::{DType, Distribution, Normal};
/// let kind = |d: Distribution| Sampler::new(&d, DType::F32).unwrap().kind();
/// assert_eq!(kind(Distribution::constant(1.0).unwrap()), SamplerKind::Constant);
/// assert_eq!(kind(Normal::new(0.0, 1.0).unwrap().into()), SamplerKind::Normal);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum SamplerKind {
    /// The constant `offset` (already representable in the dtype).
    Constant,
    /// `offset + scale * signed_unit(w)`.
    Uniform,
    /// `offset + scale * z`, z from Box–Muller.
    Normal,
    /// `offset + scale * z`, z truncated-normal in std units.
    TruncatedNormal(TruncMode),
}

impl Sampler {
    /// Prepares `dist` for output in `dtype`.
    ///
    /// Fails with [`Error::Unrepresentable`] when the distribution's values
    /// would overflow the dtype, or when no value of the dtype lies inside a
    /// bounded distribution's interval.
    ///
    /// ```
    /// use weight_init::{DType, Normal, Sampler, Uniform};
    /// let u = Uniform::new(-1.0, 1.0).unwrap().into();
    /// assert!(Sampler::new(&u, DType::F16).is_ok());
    /// // A normal whose tails pass f16's largest value (65504) is refused.
    /// let wide = Normal::new(0.0, 20000.0).unwrap().into();
    /// assert!(Sampler::new(&wide, DType::F16).is_err());
    /// assert!(Sampler::new(&wide, DType::F32).is_ok());
    /// ```
    pub fn new(dist: &Distribution, dtype: DType) -> Result<Self> {
        let max = dtype.max_finite() as f64;
        let unrepresentable = |reason: &'static str| Error::Unrepresentable {
            what: dist.to_string(),
            dtype: dtype.name(),
            reason,
        };
        let interval = |lo: f64, hi: f64, hi_open: bool| -> Result<(f32, f32)> {
            let lo = lo.max(-max);
            let hi = hi.min(max);
            let l = dtype.ceil(lo);
            let h = if hi_open {
                dtype.below(hi)
            } else {
                dtype.floor(hi)
            };
            if l > h {
                Err(unrepresentable(
                    "no value of the dtype lies in the interval",
                ))
            } else {
                Ok((l, h))
            }
        };
        let overflow_check = |lo: f64, hi: f64| -> Result<()> {
            if lo < -max || hi > max {
                Err(unrepresentable("values exceed the dtype's finite range"))
            } else {
                Ok(())
            }
        };
        let z_max = NORMAL_MAX_ABS_Z as f64;
        match *dist {
            Distribution::Constant(v) => {
                overflow_check(v as f64, v as f64)?;
                let r = dtype.round(v);
                if !r.is_finite() {
                    return Err(unrepresentable("values exceed the dtype's finite range"));
                }
                Ok(Self::plain(SamplerKind::Constant, dtype, r, 0.0, r, r))
            }
            Distribution::Uniform(u) => {
                let (low, high) = (u.low() as f64, u.high() as f64);
                overflow_check(low, high)?;
                let (lo, hi) = interval(low, high, true)?;
                // Halves first, so that huge ranges do not overflow.
                let offset = u.low() * 0.5 + u.high() * 0.5;
                let scale = u.high() * 0.5 - u.low() * 0.5;
                Ok(Self::plain(
                    SamplerKind::Uniform,
                    dtype,
                    offset,
                    scale,
                    lo,
                    hi,
                ))
            }
            Distribution::Normal(n) => {
                let (m, s) = (n.mean() as f64, n.std() as f64);
                overflow_check(m - z_max * s, m + z_max * s)?;
                let (lo, hi) = (-dtype.max_finite(), dtype.max_finite());
                Ok(Self::plain(
                    SamplerKind::Normal,
                    dtype,
                    n.mean(),
                    n.std(),
                    lo,
                    hi,
                ))
            }
            Distribution::TruncatedNormal(t) => {
                let (m, s) = (t.mean() as f64, t.std() as f64);
                let (a, b) = t.bounds();
                let (alpha, beta) = t.std_bounds();
                // Reachable values: the interval, cut to where any tail sample
                // can land (one-sided tails reach about 6 std past the bound).
                // A sample lies at most sqrt(anchor² + 2 ln 2^33) < anchor + 7
                // std from the mean, counted from the nearer end.
                let reach_lo = if a.is_finite() {
                    a
                } else {
                    m - s * ((-beta).max(0.0) + 7.0)
                };
                let reach_hi = if b.is_finite() {
                    b
                } else {
                    m + s * (alpha.max(0.0) + 7.0)
                };
                overflow_check(reach_lo, reach_hi)?;
                let (lo, hi) = interval(a, b, false)?;
                let mode = TruncMode::new(alpha, beta);
                let offset = if mode == TruncMode::Pinned {
                    if alpha >= 0.0 {
                        lo
                    } else {
                        hi
                    }
                } else {
                    t.mean()
                };
                Ok(Self::plain(
                    SamplerKind::TruncatedNormal(mode),
                    dtype,
                    offset,
                    t.std(),
                    lo,
                    hi,
                ))
            }
        }
    }

    /// What is sampled: the transform and its prepared parameters.
    ///
    /// ```
    /// use weight_init::sampler::{Sampler, SamplerKind};
    /// use weight_init::{DType, Uniform};
    /// let s = Sampler::new(&Uniform::new(-1.0, 1.0).unwrap().into(), DType::F32).unwrap();
    /// assert_eq!(s.kind(), SamplerKind::Uniform);
    /// ```
    #[must_use]
    pub fn kind(&self) -> SamplerKind {
        self.kind
    }

    /// The output dtype the sampler was prepared for.
    ///
    /// ```
    /// use weight_init::{DType, Normal, Sampler};
    /// let s = Sampler::new(&Normal::new(0.0, 1.0).unwrap().into(), DType::F16).unwrap();
    /// assert_eq!(s.dtype(), DType::F16);
    /// ```
    #[must_use]
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The affine map's offset: each value is `offset + scale * x`, `x`
    /// the distribution's unit sample (signed unit for uniform, z for the
    /// normals). For a constant, the constant rounded to the dtype.
    ///
    /// ```
    /// use weight_init::{DType, Distribution, Sampler};
    /// let c = Distribution::constant(0.1).unwrap();
    /// let s = Sampler::new(&c, DType::BF16).unwrap();
    /// assert_eq!(s.offset(), DType::BF16.round(0.1));
    /// ```
    #[must_use]
    pub fn offset(&self) -> f32 {
        self.offset
    }

    /// The affine map's scale (see [`Sampler::offset`]): half the width of
    /// a uniform, the std of a normal.
    ///
    /// ```
    /// use weight_init::{DType, Sampler, Uniform};
    /// let s = Sampler::new(&Uniform::new(1.0, 3.0).unwrap().into(), DType::F32).unwrap();
    /// assert_eq!((s.offset(), s.scale()), (2.0, 1.0));
    /// ```
    #[must_use]
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// The smallest value the sampler gives, representable in the dtype
    /// (every value is clamped to [`lo`](Sampler::lo)..=[`hi`](Sampler::hi)).
    ///
    /// ```
    /// use weight_init::{DType, Sampler, TruncatedNormal};
    /// let t = TruncatedNormal::new(0.0, 1.0, -0.1, 0.1).unwrap();
    /// let s = Sampler::new(&t.into(), DType::BF16).unwrap();
    /// assert!(s.lo() >= -0.1 && s.lo() == DType::BF16.round(s.lo()));
    /// ```
    #[must_use]
    pub fn lo(&self) -> f32 {
        self.lo
    }

    /// The largest value the sampler gives, representable in the dtype. A
    /// uniform's `hi` lies below its `high`, which never occurs.
    ///
    /// ```
    /// use weight_init::{DType, Sampler, Uniform};
    /// let s = Sampler::new(&Uniform::new(0.0, 1.0).unwrap().into(), DType::BF16).unwrap();
    /// assert_eq!(s.hi(), 1.0 - 2f32.powi(-8));
    /// ```
    #[must_use]
    pub fn hi(&self) -> f32 {
        self.hi
    }

    fn plain(kind: SamplerKind, dtype: DType, offset: f32, scale: f32, lo: f32, hi: f32) -> Self {
        Self {
            kind,
            dtype,
            offset,
            scale,
            lo,
            hi,
        }
    }

    /// The f32 values (already clamped to the dtype-representable bounds, not
    /// yet rounded to the dtype) of the four lanes of one Philox block.
    ///
    /// ```
    /// use weight_init::philox::block_words;
    /// use weight_init::{cpu, DType, Sampler, TensorKey, Uniform};
    /// let d = Uniform::new(0.0, 1.0).unwrap().into();
    /// let s = Sampler::new(&d, DType::F32).unwrap();
    /// // Block 2 holds elements 8..12 of the tensor.
    /// let mut w = [0.0f32; 12];
    /// cpu::fill_f32(&d, &TensorKey::new(5, 1, 12), 0..12, &mut w).unwrap();
    /// assert_eq!(s.sample_block(block_words(5, 1, 2)), w[8..12]);
    /// ```
    #[inline(always)]
    #[must_use]
    pub fn sample_block(&self, w: [u32; 4]) -> [f32; 4] {
        match self.kind {
            SamplerKind::Constant => [self.offset; 4],
            SamplerKind::Uniform => w.map(|x| self.finish(signed_unit(x))),
            SamplerKind::Normal => {
                let (z0, z1) = box_muller(w[0], w[1]);
                let (z2, z3) = box_muller(w[2], w[3]);
                [
                    self.finish(z0),
                    self.finish(z1),
                    self.finish(z2),
                    self.finish(z3),
                ]
            }
            SamplerKind::TruncatedNormal(mode) => {
                w.map(|x| self.finish(truncated_std_normal(mode, x)))
            }
        }
    }

    /// `offset + scale * x`, clamped. When `offset` is zero this is a single
    /// multiply, which every backend rounds identically.
    #[inline(always)]
    fn finish(&self, x: f32) -> f32 {
        let v = if self.offset == 0.0 {
            mul(self.scale, x)
        } else {
            add(self.offset, mul(self.scale, x))
        };
        // Compare-and-select rather than f32::max/min: `v` is never NaN, and
        // this compiles to one vector instruction per bound.
        let v = if v < self.lo { self.lo } else { v };
        if v > self.hi {
            self.hi
        } else {
            v
        }
    }
}

/// Elements per batch of [`Sampler::sample_batch`]: 16 Philox blocks.
///
/// ```
/// use weight_init::sampler::BATCH;
/// assert_eq!(BATCH, 16 * 4); // 16 blocks of 4 words, one element per word
/// ```
pub const BATCH: usize = crate::philox::BATCH_WORDS;

impl Sampler {
    /// The f32 values of 16 consecutive blocks at once (`w` holds their
    /// words in element order). Equal, bit for bit, to 16 calls of
    /// [`Sampler::sample_block`]; the words are regrouped by word index
    /// (the CPU backend's own order) so that every transform runs as a
    /// straight loop over whole vectors.
    ///
    /// ```
    /// use weight_init::sampler::BATCH;
    /// use weight_init::{DType, Normal, Sampler};
    /// let s = Sampler::new(&Normal::new(0.0, 1.0).unwrap().into(), DType::F32).unwrap();
    /// let w: [u32; BATCH] = core::array::from_fn(|i| (i as u32).wrapping_mul(0x9E37_79B9));
    /// let mut out = [0.0f32; BATCH];
    /// s.sample_batch(&w, &mut out);
    /// assert_eq!(out[4..8], s.sample_block([w[4], w[5], w[6], w[7]]));
    /// ```
    #[inline(always)]
    pub fn sample_batch(&self, w: &[u32; BATCH], out: &mut [f32; BATCH]) {
        let soa: [u32; BATCH] = core::array::from_fn(|k| w[4 * (k % QUARTER) + k / QUARTER]);
        let mut vals = [0.0f32; BATCH];
        self.sample_soa(&soa, &mut vals);
        *out = core::array::from_fn(|e| vals[QUARTER * (e % 4) + e / 4]);
    }

    /// [`Sampler::sample_batch`] on words in structure-of-arrays order:
    /// word `i` of block `j` (element `4 j + i`) at `w[16 i + j]`, and its
    /// value at `out[16 i + j]`. The order the CPU backend's vector rounds
    /// produce: each Box–Muller pair of 16 blocks is two whole arrays of 16
    /// (`w[j]`, `w[16 + j]`), so no lane shuffles.
    #[inline(always)]
    pub(crate) fn sample_soa(&self, w: &[u32; BATCH], out: &mut [f32; BATCH]) {
        match self.kind {
            SamplerKind::Constant => *out = [self.offset; BATCH],
            SamplerKind::Uniform => {
                for i in 0..BATCH {
                    out[i] = self.finish(signed_unit(w[i]));
                }
            }
            SamplerKind::Normal => {
                // Pairs (word 0, word 1), then (word 2, word 3): each a
                // loop over whole arrays of 16.
                let (w, _) = w.as_chunks::<QUARTER>();
                let (o, _) = out.as_chunks_mut::<QUARTER>();
                let (o01, o23) = o.split_at_mut(2);
                self.normal_pairs(&w[0], &w[1], &mut o01[0..2]);
                self.normal_pairs(&w[2], &w[3], &mut o23[0..2]);
            }
            SamplerKind::TruncatedNormal(mode) => {
                let mut y = [0.0f32; BATCH];
                for i in 0..BATCH {
                    (out[i], y[i], _) = truncated_std_normal_common(mode, w[i]);
                }
                // The few lanes past the tail polynomials' range, redone
                // exactly as `truncated_std_normal` does them. A plain
                // compare screens the batch: below DEEP_Y_SCREEN the tail
                // radius is at most sqrt(24) < 4.9 (`sqrt_f32` is within
                // about one ULP), so no lane there can be deep; only a
                // batch with a larger `y` pays for the exact test.
                let screen = y.iter().fold(false, |acc, &y| acc | (y > DEEP_Y_SCREEN));
                if screen {
                    for i in 0..BATCH {
                        if tail_radius(y[i]) > TAIL_POLY_MAX_R {
                            out[i] = truncated_std_normal(mode, w[i]);
                        }
                    }
                }
                for v in out.iter_mut() {
                    *v = self.finish(*v);
                }
            }
        }
    }
}

impl Sampler {
    /// Box–Muller on 16 lane pairs: `out[0][j]`, `out[1][j]` from words
    /// `w0[j]`, `w1[j]`.
    #[inline(always)]
    fn normal_pairs(&self, w0: &[u32; QUARTER], w1: &[u32; QUARTER], out: &mut [[f32; QUARTER]]) {
        let (c, s) = out.split_at_mut(1);
        let (c, s) = (&mut c[0], &mut s[0]);
        for j in 0..QUARTER {
            let (z0, z1) = box_muller(w0[j], w1[j]);
            c[j] = self.finish(z0);
            s[j] = self.finish(z1);
        }
    }
}

/// Blocks per batch: one quarter of its words.
const QUARTER: usize = BATCH / 4;

/// Below this `y = -ln Q` no tail radius exceeds [`TAIL_POLY_MAX_R`]
/// (`sqrt(24) = 4.899`, two percent below 5: far more than the error of
/// `sqrt_f32`); `tests/cpu_paths.rs` checks the f32 values just below it.
pub(crate) const DEEP_Y_SCREEN: f32 = 24.0;
