//! The f64 parameters of the plain distributions: [`Bounds`] (`uniform`),
//! [`MeanStd`] (`normal`), [`TruncNormal`] (`trunc_normal`) and
//! [`JaxTruncatedNormal`] (`jax_truncated_normal`).
//!
//! They mirror the f32 distribution types of `crate::dist`, with the
//! user's values kept in f64 until [`Init::resolve`](super::Init::resolve)
//! rounds them once; kept together so that they can be folded with the
//! sampler's family.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use super::params::{check_finite, check_positive};
use super::table;

fn check_bounds(lo_name: &'static str, lo: f64, hi_name: &'static str, hi: f64) -> Result<()> {
    for (name, v) in [(lo_name, lo), (hi_name, hi)] {
        if v.is_nan() {
            return Err(Error::InvalidParameter {
                name,
                value: v,
                reason: "must not be NaN",
            });
        }
    }
    if lo >= hi || lo == f64::INFINITY || hi == f64::NEG_INFINITY {
        return Err(Error::InvalidParameter {
            name: hi_name,
            value: hi,
            reason: "must be greater than the lower bound (and the interval non-empty)",
        });
    }
    Ok(())
}

/// The bounds of `uniform(low, high)`: `low < high`, both finite.
/// Default `[0, 1)`, as `torch.nn.init.uniform_`.
///
/// ```
/// use weight_init::scheme::Bounds;
/// let b = Bounds::new(-0.1, 0.1).unwrap();
/// assert_eq!((b.low(), b.high()), (-0.1, 0.1));
/// assert!(Bounds::new(1.0, 1.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
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
    /// Uniform on `[low, high)`.
    Bounds {
        /// Lower bound (included).
        low: f64,
        /// Upper bound (excluded).
        high: f64,
    }
}

impl Bounds {
    pub(super) fn check(&self) -> Result<()> {
        check_finite("low", self.low)?;
        check_finite("high", self.high)?;
        check_bounds("low", self.low, "high", self.high)
    }
}

/// The parameters of `normal(mean, std)`: mean finite, std finite and
/// positive. Default `(0, 1)`, as `torch.nn.init.normal_`.
///
/// ```
/// use weight_init::scheme::MeanStd;
/// assert_eq!(MeanStd::new(0.0, 0.02).unwrap().std(), 0.02);
/// assert!(MeanStd::new(0.0, 0.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
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
    /// Normal(mean, std).
    MeanStd {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std: f64,
    }
}

impl MeanStd {
    pub(super) fn check(&self) -> Result<()> {
        check_finite("mean", self.mean)?;
        check_positive("std", self.std)
    }
}

/// The parameters of `trunc_normal(mean, std, a, b)`: PyTorch's
/// `torch.nn.init.trunc_normal_`, bounds `a < b` **absolute** (not in
/// units of std; either may be infinite). Defaults `(0, 1, -2, 2)`.
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TruncNormal {
    pub(super) mean: f64,
    pub(super) std: f64,
    #[serde(with = "super::json")]
    pub(super) a: f64,
    #[serde(with = "super::json")]
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
    /// Normal(mean, std) conditioned on the absolute interval `[a, b]`.
    TruncNormal {
        /// The mean of the parent normal.
        mean: f64,
        /// The std of the parent normal.
        std: f64,
        /// Lower bound (absolute).
        a: f64,
        /// Upper bound (absolute).
        b: f64,
    }
}

impl TruncNormal {
    pub(super) fn check(&self) -> Result<()> {
        check_finite("mean", self.mean)?;
        check_positive("std", self.std)?;
        check_bounds("a", self.a, "b", self.b)
    }
}

/// The parameters of `jax_truncated_normal(mean, std, lower, upper)`:
/// bounds in **units of std** around the mean, as
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JaxTruncatedNormal {
    pub(super) mean: f64,
    pub(super) std: f64,
    #[serde(with = "super::json")]
    pub(super) lower: f64,
    #[serde(with = "super::json")]
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
    /// Normal(mean, std) conditioned on `[mean + lower * std, mean + upper * std]`.
    JaxTruncatedNormal {
        /// The mean of the parent normal.
        mean: f64,
        /// The std of the parent normal.
        std: f64,
        /// Lower bound, in std units.
        lower: f64,
        /// Upper bound, in std units.
        upper: f64,
    }
}

impl JaxTruncatedNormal {
    pub(super) fn check(&self) -> Result<()> {
        check_finite("mean", self.mean)?;
        check_positive("std", self.std)?;
        check_bounds("lower", self.lower, "upper", self.upper)
    }
}
