//! The f64 parameters of the plain distributions: [`Bounds`] (`uniform`),
//! [`MeanStd`] (`normal`), [`TruncNormal`] (`trunc_normal`) and
//! [`JaxTruncatedNormal`] (`jax_truncated_normal`).
//!
//! Each is a distribution of [`crate::dist`] with the user's values kept in
//! f64 until [`Init::resolve`](super::Init::resolve) rounds them once: what
//! each parameter means, and the rules it obeys, are stated and checked
//! there (the same check functions serve both). What is the scheme's own
//! lives here: the defaults (from the scheme table), the text and JSON
//! forms (infinite bounds included).

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::dist::{check_mean_std, check_truncated, check_uniform, PARAMETER_ORDER};
use crate::error::Result;

use super::table;

/// The parameters of `uniform(low, high)`: a [`Uniform`](crate::Uniform)
/// in f64. Default `[0, 1)`, as `torch.nn.init.uniform_`.
///
/// ```
/// use weight_init::scheme::Bounds;
/// let b = Bounds::new(-0.1, 0.1).unwrap();
/// assert_eq!((b.low(), b.high()), (-0.1, 0.1));
/// assert!(Bounds::new(1.0, 1.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct Bounds {
    pub(super) low: f64,
    pub(super) high: f64,
}

impl Default for Bounds {
    /// The defaults of `uniform` in the scheme table.
    fn default() -> Self {
        const DEFAULT: Bounds = Bounds {
            low: table::UNIFORM.num("low"),
            high: table::UNIFORM.num("high"),
        };
        DEFAULT
    }
}

parameters! {
    /// As [`Uniform::new`](crate::Uniform::new), in f64.
    ///
    /// ```
    /// use weight_init::scheme::Bounds;
    /// let p = Bounds::new(-0.5, 0.5).unwrap();
    /// assert_eq!((p.low(), p.high()), (-0.5, 0.5));
    /// assert!(Bounds::new(0.5, -0.5).is_err());
    /// ```
    Bounds {
        /// As [`Uniform::low`](crate::Uniform::low).
        ///
        /// ```
        /// use weight_init::scheme::Bounds;
        /// let p = Bounds::new(-0.5, 0.5).unwrap();
        /// assert_eq!(p.low(), -0.5);
        /// ```
        low: f64,
        /// As [`Uniform::high`](crate::Uniform::high).
        ///
        /// ```
        /// use weight_init::scheme::Bounds;
        /// let p = Bounds::new(-0.5, 0.5).unwrap();
        /// assert_eq!(p.high(), 0.5);
        /// ```
        high: f64,
    }
}

impl Bounds {
    pub(super) fn check(&self) -> Result<()> {
        check_uniform(self.low, self.high, PARAMETER_ORDER)
    }
}

/// The parameters of `normal(mean, std)`: a [`Normal`](crate::Normal) in
/// f64. Default `(0, 1)`, as `torch.nn.init.normal_`.
///
/// ```
/// use weight_init::scheme::MeanStd;
/// assert_eq!(MeanStd::new(0.0, 0.02).unwrap().std(), 0.02);
/// assert!(MeanStd::new(0.0, 0.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct MeanStd {
    pub(super) mean: f64,
    pub(super) std: f64,
}

impl Default for MeanStd {
    /// The defaults of `normal` in the scheme table.
    fn default() -> Self {
        const DEFAULT: MeanStd = MeanStd {
            mean: table::NORMAL.num("mean"),
            std: table::NORMAL.num("std"),
        };
        DEFAULT
    }
}

parameters! {
    /// As [`Normal::new`](crate::Normal::new), in f64.
    ///
    /// ```
    /// use weight_init::scheme::MeanStd;
    /// let p = MeanStd::new(0.0, 0.02).unwrap();
    /// assert_eq!((p.mean(), p.std()), (0.0, 0.02));
    /// assert!(MeanStd::new(0.0, -1.0).is_err());
    /// ```
    MeanStd {
        /// As [`Normal::mean`](crate::Normal::mean).
        ///
        /// ```
        /// use weight_init::scheme::MeanStd;
        /// let p = MeanStd::new(0.0, 0.02).unwrap();
        /// assert_eq!(p.mean(), 0.0);
        /// ```
        mean: f64,
        /// As [`Normal::std`](crate::Normal::std).
        ///
        /// ```
        /// use weight_init::scheme::MeanStd;
        /// let p = MeanStd::new(0.0, 0.02).unwrap();
        /// assert_eq!(p.std(), 0.02);
        /// ```
        std: f64,
    }
}

impl MeanStd {
    pub(super) fn check(&self) -> Result<()> {
        check_mean_std(self.mean, self.std)
    }
}

/// The parameters of `trunc_normal(mean, std, a, b)`: a
/// [`TruncatedNormal::new`](crate::TruncatedNormal::new) in f64, PyTorch's
/// `torch.nn.init.trunc_normal_`, bounds **absolute** (not in units of
/// std). Defaults `(0, 1, -2, 2)`.
///
/// Beware PyTorch's pitfall, kept here on purpose: `trunc_normal(std=0.02)`
/// cuts at ±2, i.e. ±100 std, which truncates nothing. For a cut at ±2 std
/// write `trunc_normal(std=0.02, a=-0.04, b=0.04)` or use
/// `jax_truncated_normal(std=0.02)`.
///
/// ```
/// use weight_init::scheme::TruncNormal;
/// let t = TruncNormal::new(0.0, 0.02, -0.04, 0.04).unwrap();
/// assert_eq!((t.a(), t.b()), (-0.04, 0.04));
/// assert!(TruncNormal::new(0.0, 1.0, 1.0, -1.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct TruncNormal {
    pub(super) mean: f64,
    pub(super) std: f64,
    #[cfg_attr(feature = "serde", serde(with = "super::json"))]
    pub(super) a: f64,
    #[cfg_attr(feature = "serde", serde(with = "super::json"))]
    pub(super) b: f64,
}

impl Default for TruncNormal {
    /// The defaults of `trunc_normal` in the scheme table.
    fn default() -> Self {
        const DEFAULT: TruncNormal = TruncNormal {
            mean: table::TRUNC_NORMAL.num("mean"),
            std: table::TRUNC_NORMAL.num("std"),
            a: table::TRUNC_NORMAL.num("a"),
            b: table::TRUNC_NORMAL.num("b"),
        };
        DEFAULT
    }
}

parameters! {
    /// As [`TruncatedNormal::new`](crate::TruncatedNormal::new), in f64.
    ///
    /// ```
    /// use weight_init::scheme::TruncNormal;
    /// let p = TruncNormal::new(0.0, 1.0, -2.0, 2.0).unwrap();
    /// assert_eq!((p.mean(), p.std(), p.a(), p.b()), (0.0, 1.0, -2.0, 2.0));
    /// assert!(TruncNormal::new(0.0, 1.0, 2.0, -2.0).is_err());
    /// ```
    TruncNormal {
        /// As [`TruncatedNormal::mean`](crate::TruncatedNormal::mean).
        ///
        /// ```
        /// use weight_init::scheme::TruncNormal;
        /// let p = TruncNormal::new(0.0, 1.0, -2.0, 2.0).unwrap();
        /// assert_eq!(p.mean(), 0.0);
        /// ```
        mean: f64,
        /// As [`TruncatedNormal::std`](crate::TruncatedNormal::std).
        ///
        /// ```
        /// use weight_init::scheme::TruncNormal;
        /// let p = TruncNormal::new(0.0, 1.0, -2.0, 2.0).unwrap();
        /// assert_eq!(p.std(), 1.0);
        /// ```
        std: f64,
        /// The lower of [`TruncatedNormal::bounds`](crate::TruncatedNormal::bounds).
        ///
        /// ```
        /// use weight_init::scheme::TruncNormal;
        /// let p = TruncNormal::new(0.0, 1.0, -2.0, 2.0).unwrap();
        /// assert_eq!(p.a(), -2.0);
        /// ```
        a: f64,
        /// The upper of [`TruncatedNormal::bounds`](crate::TruncatedNormal::bounds).
        ///
        /// ```
        /// use weight_init::scheme::TruncNormal;
        /// let p = TruncNormal::new(0.0, 1.0, -2.0, 2.0).unwrap();
        /// assert_eq!(p.b(), 2.0);
        /// ```
        b: f64,
    }
}

impl TruncNormal {
    pub(super) fn check(&self) -> Result<()> {
        let (a, b) = (("a", self.a), ("b", self.b));
        check_truncated(self.mean, self.std, a, b, PARAMETER_ORDER)
    }
}

/// The parameters of `jax_truncated_normal(mean, std, lower, upper)`: a
/// [`TruncatedNormal::with_std_bounds`](crate::TruncatedNormal::with_std_bounds)
/// in f64, bounds in **units of std** around the mean, as
/// `jax.nn.initializers.truncated_normal(stddev, lower=-2, upper=2)` and
/// `keras.initializers.TruncatedNormal(mean, stddev)` (cut at ±2 std).
/// No variance correction: the samples' std is below `std`.
/// Defaults `(0, 0.01, -2, 2)` (JAX's `stddev = 1e-2`).
///
/// ```
/// use weight_init::scheme::JaxTruncatedNormal;
/// let t = JaxTruncatedNormal::new(0.0, 0.02, -2.0, 2.0).unwrap();
/// assert_eq!((t.lower(), t.upper()), (-2.0, 2.0));
/// assert!(JaxTruncatedNormal::new(0.0, -1.0, -2.0, 2.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct JaxTruncatedNormal {
    pub(super) mean: f64,
    pub(super) std: f64,
    #[cfg_attr(feature = "serde", serde(with = "super::json"))]
    pub(super) lower: f64,
    #[cfg_attr(feature = "serde", serde(with = "super::json"))]
    pub(super) upper: f64,
}

impl Default for JaxTruncatedNormal {
    /// The defaults of `jax_truncated_normal` in the scheme table.
    fn default() -> Self {
        const DEFAULT: JaxTruncatedNormal = JaxTruncatedNormal {
            mean: table::JAX_TRUNCATED_NORMAL.num("mean"),
            std: table::JAX_TRUNCATED_NORMAL.num("std"),
            lower: table::JAX_TRUNCATED_NORMAL.num("lower"),
            upper: table::JAX_TRUNCATED_NORMAL.num("upper"),
        };
        DEFAULT
    }
}

parameters! {
    /// As [`TruncatedNormal::with_std_bounds`](crate::TruncatedNormal::with_std_bounds),
    /// in f64.
    ///
    /// ```
    /// use weight_init::scheme::JaxTruncatedNormal;
    /// let p = JaxTruncatedNormal::new(0.0, 0.02, -2.0, 2.0).unwrap();
    /// assert_eq!((p.mean(), p.std(), p.lower(), p.upper()), (0.0, 0.02, -2.0, 2.0));
    /// assert!(JaxTruncatedNormal::new(0.0, -1.0, -2.0, 2.0).is_err());
    /// ```
    JaxTruncatedNormal {
        /// As [`TruncatedNormal::mean`](crate::TruncatedNormal::mean).
        ///
        /// ```
        /// use weight_init::scheme::JaxTruncatedNormal;
        /// let p = JaxTruncatedNormal::new(0.0, 0.02, -2.0, 2.0).unwrap();
        /// assert_eq!(p.mean(), 0.0);
        /// ```
        mean: f64,
        /// As [`TruncatedNormal::std`](crate::TruncatedNormal::std).
        ///
        /// ```
        /// use weight_init::scheme::JaxTruncatedNormal;
        /// let p = JaxTruncatedNormal::new(0.0, 0.02, -2.0, 2.0).unwrap();
        /// assert_eq!(p.std(), 0.02);
        /// ```
        std: f64,
        /// The lower of [`TruncatedNormal::std_bounds`](crate::TruncatedNormal::std_bounds).
        ///
        /// ```
        /// use weight_init::scheme::JaxTruncatedNormal;
        /// let p = JaxTruncatedNormal::new(0.0, 0.02, -2.0, 2.0).unwrap();
        /// assert_eq!(p.lower(), -2.0);
        /// ```
        lower: f64,
        /// The upper of [`TruncatedNormal::std_bounds`](crate::TruncatedNormal::std_bounds).
        ///
        /// ```
        /// use weight_init::scheme::JaxTruncatedNormal;
        /// let p = JaxTruncatedNormal::new(0.0, 0.02, -2.0, 2.0).unwrap();
        /// assert_eq!(p.upper(), 2.0);
        /// ```
        upper: f64,
    }
}

impl JaxTruncatedNormal {
    pub(super) fn check(&self) -> Result<()> {
        let (lower, upper) = (("lower", self.lower), ("upper", self.upper));
        check_truncated(self.mean, self.std, lower, upper, PARAMETER_ORDER)
    }
}
