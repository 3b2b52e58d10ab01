//! Distributions: small immutable values with fallible constructors
//! ([`Uniform`], [`Normal`], [`TruncatedNormal`], and [`Distribution`], which
//! also holds a constant). How a distribution is sampled for a dtype is
//! [`crate::sampler::Sampler`].

use crate::error::{Error, Result};

// ---------------------------------------------------------------------------
// Parameter rules: the one home of the checks, for the f32 types below and
// for the f64 parameters of the schemes (`crate::scheme::{Bounds, MeanStd,
// TruncNormal, JaxTruncatedNormal}`, which keep the user's values until
// `Init::resolve` rounds them to these types). An f32 is checked as its
// exact f64 value, and an error carries the value as given.
// ---------------------------------------------------------------------------

/// The reason when [`Uniform::new`]'s `high` is not above `low`.
const UNIFORM_ORDER: &str = "must be greater than `low`";
/// The reason when [`TruncatedNormal`]'s `b` is not above `a`.
const TRUNCATED_ORDER: &str = "must be greater than `a` (and the interval non-empty)";
/// The reason when the upper bound of a scheme's f64 parameters (`high`,
/// `b`, `upper`) is not above the lower one.
pub(crate) const PARAMETER_ORDER: &str =
    "must be greater than the lower bound (and the interval non-empty)";

/// `v` is finite.
pub(crate) fn check_finite(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name,
            value: v,
            reason: "must be finite",
        })
    }
}

/// `v` is finite and > 0 (a std, a gain, a scale).
pub(crate) fn check_positive(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name,
            value: v,
            reason: "must be finite and > 0",
        })
    }
}

/// `v` is not NaN (a bound, which may be infinite).
pub(crate) fn check_not_nan(name: &'static str, v: f64) -> Result<()> {
    if v.is_nan() {
        Err(Error::InvalidParameter {
            name,
            value: v,
            reason: "must not be NaN",
        })
    } else {
        Ok(())
    }
}

/// The bounds `lo < hi` of an interval: neither NaN, and the interval not
/// empty (not `[+inf, +inf]` nor `[-inf, -inf]`); else an error on `hi`
/// with `reason`.
pub(crate) fn check_interval(
    (lo_name, lo): (&'static str, f64),
    (hi_name, hi): (&'static str, f64),
    reason: &'static str,
) -> Result<()> {
    check_not_nan(lo_name, lo)?;
    check_not_nan(hi_name, hi)?;
    if lo >= hi || lo == f64::INFINITY || hi == f64::NEG_INFINITY {
        return Err(Error::InvalidParameter {
            name: hi_name,
            value: hi,
            reason,
        });
    }
    Ok(())
}

/// [`Uniform`]'s rules: `low` and `high` finite, `low < high`; `reason`
/// says what an unordered pair breaks.
pub(crate) fn check_uniform(low: f64, high: f64, reason: &'static str) -> Result<()> {
    check_finite("low", low)?;
    check_finite("high", high)?;
    check_interval(("low", low), ("high", high), reason)
}

/// [`Normal`]'s rules, also those of a [`TruncatedNormal`]'s parent normal:
/// `mean` finite, `std` finite and > 0.
pub(crate) fn check_mean_std(mean: f64, std: f64) -> Result<()> {
    check_finite("mean", mean)?;
    check_positive("std", std)
}

/// [`TruncatedNormal`]'s rules: the parent normal's ([`check_mean_std`])
/// and the interval's ([`check_interval`]), whether its bounds are absolute
/// or in std units.
pub(crate) fn check_truncated(
    mean: f64,
    std: f64,
    lo: (&'static str, f64),
    hi: (&'static str, f64),
    reason: &'static str,
) -> Result<()> {
    check_mean_std(mean, std)?;
    check_interval(lo, hi, reason)
}

/// Uniform on `[low, high)`.
///
/// Like `torch.nn.init.uniform_(a=low, b=high)` and
/// `jax.random.uniform(minval=low, maxval=high)`, but `high` is never
/// returned, in any dtype.
///
/// ```
/// use weight_init::Uniform;
/// let u = Uniform::new(-0.1, 0.1).unwrap();
/// assert_eq!((u.low(), u.high()), (-0.1, 0.1));
/// assert!(Uniform::new(1.0, 1.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uniform {
    low: f32,
    high: f32,
}

impl Uniform {
    /// Uniform on `[low, high)`; both finite, `low < high`.
    ///
    /// ```
    /// use weight_init::Uniform;
    /// assert!(Uniform::new(-1.0, 1.0).is_ok());
    /// // Empty, reversed or infinite intervals are errors, not panics.
    /// assert!(Uniform::new(1.0, -1.0).is_err());
    /// assert!(Uniform::new(0.0, f32::INFINITY).is_err());
    /// ```
    pub fn new(low: f32, high: f32) -> Result<Self> {
        check_uniform(low as f64, high as f64, UNIFORM_ORDER)?;
        Ok(Self { low, high })
    }
    /// Lower bound (included).
    ///
    /// ```
    /// use weight_init::Uniform;
    /// assert_eq!(Uniform::new(-0.5, 2.0).unwrap().low(), -0.5);
    /// ```
    #[must_use]
    pub fn low(&self) -> f32 {
        self.low
    }
    /// Upper bound (excluded).
    ///
    /// ```
    /// use weight_init::Uniform;
    /// assert_eq!(Uniform::new(-0.5, 2.0).unwrap().high(), 2.0);
    /// ```
    #[must_use]
    pub fn high(&self) -> f32 {
        self.high
    }
}

/// Normal with mean `mean` and standard deviation `std`, by the Box–Muller
/// transform (Box and Muller, Ann. Math. Statist. 29(2), 1958).
///
/// Like `torch.nn.init.normal_(mean, std)` and `jax.random.normal * std +
/// mean`. Tails reach about 6.7 std, as cuRAND's.
///
/// ```
/// use weight_init::Normal;
/// assert!(Normal::new(0.0, 0.02).is_ok());
/// assert!(Normal::new(0.0, 0.0).is_err());
/// assert!(Normal::new(f32::NAN, 1.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normal {
    mean: f32,
    std: f32,
}

impl Normal {
    /// Normal(mean, std); `mean` finite, `std` finite and positive.
    ///
    /// ```
    /// use weight_init::Normal;
    /// let n = Normal::new(1.0, 0.5).unwrap();
    /// assert_eq!((n.mean(), n.std()), (1.0, 0.5));
    /// assert!(Normal::new(0.0, -1.0).is_err());
    /// ```
    pub fn new(mean: f32, std: f32) -> Result<Self> {
        check_mean_std(mean as f64, std as f64)?;
        Ok(Self { mean, std })
    }
    /// The mean.
    ///
    /// ```
    /// use weight_init::Normal;
    /// assert_eq!(Normal::new(0.25, 1.0).unwrap().mean(), 0.25);
    /// ```
    #[must_use]
    pub fn mean(&self) -> f32 {
        self.mean
    }
    /// The standard deviation.
    ///
    /// ```
    /// use weight_init::Normal;
    /// assert_eq!(Normal::new(0.0, 0.02).unwrap().std(), 0.02);
    /// ```
    #[must_use]
    pub fn std(&self) -> f32 {
        self.std
    }
}

/// Normal(mean, std) conditioned on `[a, b]`, sampled in one pass by the
/// inverse CDF (no rejection loop), accurate in deep tails.
///
/// Two ways to give the bounds:
/// - [`TruncatedNormal::new`]: absolute bounds, like
///   `torch.nn.init.trunc_normal_(mean, std, a, b)` (PyTorch defaults
///   `a = -2, b = 2`);
/// - [`TruncatedNormal::with_std_bounds`]: bounds in standard deviations,
///   like `jax.random.truncated_normal(lower, upper) * std + mean` (JAX
///   defaults -2, 2).
///
/// Either bound may be infinite. Every sample lies in `[a, b]` after rounding
/// to the output dtype.
///
/// ```
/// use weight_init::TruncatedNormal;
/// let t = TruncatedNormal::new(0.0, 0.02, -0.04, 0.04).unwrap();
/// let j = TruncatedNormal::with_std_bounds(0.0, 0.02, -2.0, 2.0).unwrap();
/// assert_eq!(t.std_bounds(), (-2.0, 2.0));
/// // Bounds are kept in f64: mean + lower * std with the f32 std 0.02.
/// let (a, b) = j.bounds();
/// assert!((a + 0.04).abs() < 1e-9 && (b - 0.04).abs() < 1e-9);
/// assert!(TruncatedNormal::new(0.0, 1.0, 1.0, -1.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruncatedNormal {
    mean: f32,
    std: f32,
    a: f64,
    b: f64,
}

impl TruncatedNormal {
    /// Truncated normal with absolute bounds `a < b` (either may be infinite).
    ///
    /// ```
    /// use weight_init::TruncatedNormal;
    /// // PyTorch's trunc_normal_ defaults: a = -2, b = 2 (absolute, not std units).
    /// let t = TruncatedNormal::new(0.0, 0.5, -2.0, 2.0).unwrap();
    /// assert_eq!(t.std_bounds(), (-4.0, 4.0));
    /// // A one-sided interval is fine.
    /// assert!(TruncatedNormal::new(0.0, 1.0, 0.0, f32::INFINITY).is_ok());
    /// ```
    pub fn new(mean: f32, std: f32, a: f32, b: f32) -> Result<Self> {
        Self::from_abs(mean, std, a as f64, b as f64)
    }

    /// Truncated normal with bounds in standard deviations around the mean:
    /// `[mean + lower * std, mean + upper * std]`.
    ///
    /// ```
    /// use weight_init::TruncatedNormal;
    /// // JAX's truncated_normal(lower=-2, upper=2) scaled by std 0.5.
    /// let t = TruncatedNormal::with_std_bounds(0.0, 0.5, -2.0, 2.0).unwrap();
    /// assert_eq!(t.bounds(), (-1.0, 1.0));
    /// ```
    pub fn with_std_bounds(mean: f32, std: f32, lower: f32, upper: f32) -> Result<Self> {
        check_mean_std(mean as f64, std as f64)?;
        check_not_nan("lower", lower as f64)?;
        check_not_nan("upper", upper as f64)?;
        let (m, s) = (mean as f64, std as f64);
        Self::from_abs(mean, std, m + s * lower as f64, m + s * upper as f64)
    }

    fn from_abs(mean: f32, std: f32, a: f64, b: f64) -> Result<Self> {
        check_truncated(mean as f64, std as f64, ("a", a), ("b", b), TRUNCATED_ORDER)?;
        Ok(Self { mean, std, a, b })
    }

    /// The mean of the parent normal.
    ///
    /// ```
    /// use weight_init::TruncatedNormal;
    /// let t = TruncatedNormal::new(0.5, 1.0, 0.0, 1.0).unwrap();
    /// assert_eq!(t.mean(), 0.5); // the parent's mean, not the truncated one
    /// ```
    #[must_use]
    pub fn mean(&self) -> f32 {
        self.mean
    }
    /// The std of the parent normal.
    ///
    /// ```
    /// use weight_init::TruncatedNormal;
    /// let t = TruncatedNormal::new(0.0, 2.0, -1.0, 1.0).unwrap();
    /// assert_eq!(t.std(), 2.0); // the parent's std, not the truncated one
    /// ```
    #[must_use]
    pub fn std(&self) -> f32 {
        self.std
    }
    /// The absolute bounds `(a, b)`.
    ///
    /// ```
    /// use weight_init::TruncatedNormal;
    /// let t = TruncatedNormal::new(0.0, 1.0, -0.5, f32::INFINITY).unwrap();
    /// assert_eq!(t.bounds(), (-0.5, f64::INFINITY));
    /// ```
    #[must_use]
    pub fn bounds(&self) -> (f64, f64) {
        (self.a, self.b)
    }
    /// The bounds in standard deviations, `((a - mean) / std, (b - mean) / std)`.
    ///
    /// ```
    /// use weight_init::TruncatedNormal;
    /// let t = TruncatedNormal::new(1.0, 0.5, 0.0, 2.0).unwrap();
    /// assert_eq!(t.std_bounds(), (-2.0, 2.0));
    /// ```
    #[must_use]
    pub fn std_bounds(&self) -> (f64, f64) {
        let (m, s) = (self.mean as f64, self.std as f64);
        ((self.a - m) / s, (self.b - m) / s)
    }
}

/// A distribution an element can be drawn from (or a constant).
///
/// ```
/// use weight_init::{Distribution, Normal};
/// let d: Distribution = Normal::new(0.0, 1.0).unwrap().into();
/// assert!(matches!(d, Distribution::Normal(_)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Distribution {
    /// Every element equals the value; no generator involved.
    Constant(f32),
    /// See [`Uniform`].
    Uniform(Uniform),
    /// See [`Normal`].
    Normal(Normal),
    /// See [`TruncatedNormal`].
    TruncatedNormal(TruncatedNormal),
}

impl From<Uniform> for Distribution {
    fn from(d: Uniform) -> Self {
        Distribution::Uniform(d)
    }
}
impl From<Normal> for Distribution {
    fn from(d: Normal) -> Self {
        Distribution::Normal(d)
    }
}
impl From<TruncatedNormal> for Distribution {
    fn from(d: TruncatedNormal) -> Self {
        Distribution::TruncatedNormal(d)
    }
}

impl Distribution {
    /// A constant; must be finite.
    ///
    /// ```
    /// use weight_init::Distribution;
    /// assert_eq!(Distribution::constant(0.5).unwrap(), Distribution::Constant(0.5));
    /// assert!(Distribution::constant(f32::NAN).is_err());
    /// ```
    pub fn constant(value: f32) -> Result<Self> {
        check_finite("value", value as f64)?;
        Ok(Distribution::Constant(value))
    }
}

impl core::fmt::Display for Distribution {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Distribution::Constant(v) => write!(f, "constant({v})"),
            Distribution::Uniform(u) => write!(f, "uniform({}, {})", u.low, u.high),
            Distribution::Normal(n) => write!(f, "normal(mean={}, std={})", n.mean, n.std),
            Distribution::TruncatedNormal(t) => write!(
                f,
                "trunc_normal(mean={}, std={}, a={}, b={})",
                t.mean, t.std, t.a, t.b
            ),
        }
    }
}
