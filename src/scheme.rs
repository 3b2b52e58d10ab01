//! Init schemes: fans, gains and layouts resolved to a concrete plan.
//!
//! A user names a scheme ([`Init`], from Rust, JSON or a short text form)
//! and a tensor shape; [`Init::resolve`] works out fan-in, fan-out and gain
//! and returns a [`Plan`]: which distribution with which parameters, or
//! which structured init with which validated facts. Backends (CPU and GPU)
//! consume the plan as it is, so no backend re-derives a formula.
//!
//! ```
//! use weight_init::scheme::{Init, Plan, ResolveOptions};
//! let init: Init = "kaiming_normal(mode=fan_out, nonlinearity=relu)".parse().unwrap();
//! // PyTorch layout [out, in, kh, kw]: fan_out = 64 * 3 * 3.
//! let plan = init.resolve(&[64, 3, 3, 3], &ResolveOptions::default()).unwrap();
//! let Plan::Sample(weight_init::Distribution::Normal(n)) = plan else { panic!() };
//! assert!((n.std() as f64 - (2.0f64 / 576.0).sqrt()).abs() < 1e-7);
//! ```
//!
//! The table below is `docs/SCHEMES.md` of the repository, the one source
//! of the README's scheme table.
//!
#![doc = include_str!("../docs/SCHEMES.md")]

use core::fmt;
use core::ops::Range;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::dist::{Distribution, Normal, TruncatedNormal, Uniform};
use crate::error::{Error, Result};

/// The standard deviation of a standard normal truncated to `[-2, 2]`.
///
/// JAX's and Keras's `variance_scaling(distribution="truncated_normal")`
/// divide the target std by it, so that the *truncated* samples have the
/// target variance `scale / n`.
///
/// ```
/// use weight_init::scheme::TRUNCATED_NORMAL_STD_CORRECTION as C;
/// assert!((C - 0.879_625_661).abs() < 1e-9);
/// ```
pub const TRUNCATED_NORMAL_STD_CORRECTION: f64 = 0.879_625_661_034_239_8;

/// PyTorch's default negative slope for `leaky_relu` in `calculate_gain`.
pub const LEAKY_RELU_DEFAULT_SLOPE: f64 = 0.01;

/// Softmax class priors must sum to 1 within this absolute tolerance.
pub const PRIOR_SUM_TOLERANCE: f64 = 1e-6;

const SQRT_3: f64 = 1.732_050_807_568_877_2;

// ---------------------------------------------------------------------------
// Shapes, layouts and fans
// ---------------------------------------------------------------------------

/// Where a weight tensor keeps its output and input channels.
///
/// - [`Layout::Torch`] (the default): `[out, in, *kernel]`, as
///   `torch.nn.Linear.weight` (`[out, in]`) and `torch.nn.Conv2d.weight`
///   (`[out, in / groups, kh, kw]`).
/// - [`Layout::Jax`]: `[*kernel, in, out]`, as Flax `Dense` kernels
///   (`[in, out]`), Flax/Keras conv kernels (`[kh, kw, in, out]`).
///
/// ```
/// use weight_init::scheme::{Fans, Layout};
/// let t = Fans::from_shape(&[256, 3, 3, 3], Layout::Torch, 1).unwrap();
/// let j = Fans::from_shape(&[3, 3, 3, 256], Layout::Jax, 1).unwrap();
/// assert_eq!(t, j);
/// assert_eq!("jax".parse::<Layout>().unwrap(), Layout::Jax);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// `[out, in, *kernel]` (PyTorch).
    #[default]
    Torch,
    /// `[*kernel, in, out]` (JAX, Flax, Keras).
    Jax,
}

impl Layout {
    /// `"torch"` or `"jax"`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Torch => "torch",
            Layout::Jax => "jax",
        }
    }

    /// `(out, in, kernel)` of a shape with at least 2 dimensions.
    fn split(self, shape: &[u64]) -> Option<(u64, u64, &[u64])> {
        let n = shape.len();
        if n < 2 {
            return None;
        }
        Some(match self {
            Layout::Torch => (shape[0], shape[1], &shape[2..]),
            Layout::Jax => (shape[n - 1], shape[n - 2], &shape[..n - 2]),
        })
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Layout {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "torch" => Ok(Layout::Torch),
            "jax" => Ok(Layout::Jax),
            _ => Err(choice_error(s, "a layout", &["torch", "jax"])),
        }
    }
}

/// The element count of a shape: the checked product of its dimensions.
///
/// A 0-D shape `[]` is a scalar (1 element). A zero-sized dimension or a
/// product past `u64` is an error: initializing an empty tensor is almost
/// always a bug upstream, and the error says where.
///
/// ```
/// use weight_init::scheme::numel;
/// assert_eq!(numel(&[256, 3, 3, 3]).unwrap(), 6912);
/// assert_eq!(numel(&[]).unwrap(), 1);
/// assert!(numel(&[4, 0]).is_err());
/// assert!(numel(&[u64::MAX, 2]).is_err());
/// ```
pub fn numel(shape: &[u64]) -> Result<u64> {
    if let Some(axis) = shape.iter().position(|&d| d == 0) {
        return Err(Error::InvalidShape {
            shape: shape.to_vec(),
            reason: format!("dimension {axis} is zero-sized; nothing to initialize"),
        });
    }
    shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::InvalidShape {
            shape: shape.to_vec(),
            reason: "the element count overflows u64".into(),
        })
}

/// Fan-in and fan-out of a weight: how many inputs feed one output unit and
/// how many outputs one input unit feeds.
///
/// From a shape (see [`Fans::from_shape`]) or given explicitly
/// ([`Fans::new`]), which is how a bias or any 0-D / 1-D tensor gets the
/// fans of the weight it belongs to.
///
/// ```
/// use weight_init::scheme::{FanMode, Fans, Layout};
/// let f = Fans::from_shape(&[64, 128], Layout::Torch, 1).unwrap();
/// assert_eq!((f.fan_in(), f.fan_out()), (128, 64));
/// assert_eq!(f.fan(FanMode::FanAvg), 96.0);
/// assert!(Fans::new(0, 1).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fans {
    fan_in: u64,
    fan_out: u64,
}

impl Fans {
    /// Explicit fans; both must be at least 1.
    pub fn new(fan_in: u64, fan_out: u64) -> Result<Self> {
        for (name, v) in [("fan_in", fan_in), ("fan_out", fan_out)] {
            if v == 0 {
                return Err(Error::InvalidParameter {
                    name,
                    value: 0.0,
                    reason: "must be at least 1",
                });
            }
        }
        Ok(Self { fan_in, fan_out })
    }

    /// Fans of a weight of `shape` in `layout`, as PyTorch's
    /// `torch.nn.init._calculate_fan_in_and_fan_out` (Torch layout) and
    /// JAX's `jax.nn.initializers` `_compute_fans(in_axis=-2, out_axis=-1)`
    /// (Jax layout): with `receptive = prod(kernel)`,
    /// `fan_in = in * receptive`, `fan_out = out / groups * receptive`.
    ///
    /// `groups`: the stored weight of a grouped convolution already holds
    /// `in / groups` input channels (PyTorch `[out, in / groups, *k]`, Flax
    /// `[*k, in / groups, out]`), so `fan_in` needs no correction; each
    /// input channel, though, feeds only `out / groups` outputs, so
    /// `fan_out` is divided by `groups`. With `groups = 1` the numbers are
    /// exactly PyTorch's and JAX's (which both ignore groups: PyTorch's
    /// `fan_out` of a grouped conv is `out * receptive`).
    ///
    /// Errors: fewer than 2 dimensions (as PyTorch; give fans explicitly
    /// instead), a zero-sized dimension, `groups = 0`, `out` not divisible
    /// by `groups`, a product past `u64`.
    ///
    /// ```
    /// use weight_init::scheme::{Fans, Layout};
    /// // A depthwise 3x3 conv, 32 channels: PyTorch weight [32, 1, 3, 3].
    /// let f = Fans::from_shape(&[32, 1, 3, 3], Layout::Torch, 32).unwrap();
    /// assert_eq!((f.fan_in(), f.fan_out()), (9, 9));
    /// assert!(Fans::from_shape(&[10], Layout::Torch, 1).is_err());
    /// ```
    pub fn from_shape(shape: &[u64], layout: Layout, groups: u64) -> Result<Self> {
        numel(shape)?;
        let (out, inp, kernel) = layout.split(shape).ok_or_else(|| Error::InvalidShape {
            shape: shape.to_vec(),
            reason: format!(
                "fans need at least 2 dimensions ({}), as PyTorch's \
                 _calculate_fan_in_and_fan_out; give the fans explicitly \
                 (ResolveOptions::with_fans) for a bias or a scalar",
                match layout {
                    Layout::Torch => "[out, in, *kernel]",
                    Layout::Jax => "[*kernel, in, out]",
                }
            ),
        })?;
        if groups == 0 {
            return Err(Error::InvalidParameter {
                name: "groups",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        if out % groups != 0 {
            return Err(Error::InvalidShape {
                shape: shape.to_vec(),
                reason: format!("{out} output channels are not divisible by groups = {groups}"),
            });
        }
        // numel() succeeded, so neither product can overflow; stay checked
        // anyway so that no input can reach a panic.
        let overflow = || Error::InvalidShape {
            shape: shape.to_vec(),
            reason: "a fan overflows u64".into(),
        };
        let receptive = kernel
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(overflow)?;
        let fan_in = inp.checked_mul(receptive).ok_or_else(overflow)?;
        let fan_out = (out / groups).checked_mul(receptive).ok_or_else(overflow)?;
        Self::new(fan_in, fan_out)
    }

    /// Fan-in.
    pub fn fan_in(&self) -> u64 {
        self.fan_in
    }

    /// Fan-out.
    pub fn fan_out(&self) -> u64 {
        self.fan_out
    }

    /// The fan a mode selects, as f64; `FanAvg` is `(fan_in + fan_out) / 2`
    /// (JAX/Keras `variance_scaling`).
    pub fn fan(&self, mode: FanMode) -> f64 {
        match mode {
            FanMode::FanIn => self.fan_in as f64,
            FanMode::FanOut => self.fan_out as f64,
            FanMode::FanAvg => (self.fan_in as f64 + self.fan_out as f64) / 2.0,
        }
    }
}

/// Which fan a scheme divides by.
///
/// `FanIn` keeps the variance of the forward activations, `FanOut` that of
/// the backward gradients (PyTorch's `mode`), `FanAvg` compromises (Glorot;
/// JAX/Keras `variance_scaling(mode="fan_avg")`). Kaiming takes only
/// `FanIn` or `FanOut`, as PyTorch.
///
/// ```
/// use weight_init::scheme::FanMode;
/// assert_eq!("fan_out".parse::<FanMode>().unwrap(), FanMode::FanOut);
/// assert_eq!(FanMode::FanAvg.to_string(), "fan_avg");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FanMode {
    /// Divide by fan-in.
    FanIn,
    /// Divide by fan-out.
    FanOut,
    /// Divide by `(fan_in + fan_out) / 2`.
    FanAvg,
}

impl FanMode {
    /// `"fan_in"`, `"fan_out"` or `"fan_avg"`.
    pub fn name(self) -> &'static str {
        match self {
            FanMode::FanIn => "fan_in",
            FanMode::FanOut => "fan_out",
            FanMode::FanAvg => "fan_avg",
        }
    }
}

impl fmt::Display for FanMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FanMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fan_in" => Ok(FanMode::FanIn),
            "fan_out" => Ok(FanMode::FanOut),
            "fan_avg" => Ok(FanMode::FanAvg),
            _ => Err(choice_error(
                s,
                "a fan mode",
                &["fan_in", "fan_out", "fan_avg"],
            )),
        }
    }
}

// ---------------------------------------------------------------------------
// Gains
// ---------------------------------------------------------------------------

/// A nonlinearity, for its recommended gain (PyTorch's
/// `torch.nn.init.calculate_gain` table).
///
/// | nonlinearity | gain |
/// |---|---|
/// | linear, conv1d/2d/3d, conv_transpose1d/2d/3d, sigmoid | 1 |
/// | tanh | 5/3 |
/// | relu | √2 |
/// | leaky_relu (slope a, default 0.01) | √(2 / (1 + a²)) |
/// | selu | 3/4 |
///
/// ```
/// use weight_init::scheme::Nonlinearity;
/// assert_eq!(Nonlinearity::Tanh.gain(), 5.0 / 3.0);
/// assert_eq!(Nonlinearity::Relu.gain(), 2f64.sqrt());
/// assert_eq!("conv_transpose2d".parse::<Nonlinearity>().unwrap(), Nonlinearity::ConvTranspose2d);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nonlinearity {
    /// Identity; gain 1.
    Linear,
    /// `conv1d`; gain 1.
    Conv1d,
    /// `conv2d`; gain 1.
    Conv2d,
    /// `conv3d`; gain 1.
    Conv3d,
    /// `conv_transpose1d`; gain 1.
    #[serde(rename = "conv_transpose1d")]
    ConvTranspose1d,
    /// `conv_transpose2d`; gain 1.
    #[serde(rename = "conv_transpose2d")]
    ConvTranspose2d,
    /// `conv_transpose3d`; gain 1.
    #[serde(rename = "conv_transpose3d")]
    ConvTranspose3d,
    /// Logistic sigmoid; gain 1.
    Sigmoid,
    /// tanh; gain 5/3.
    Tanh,
    /// ReLU; gain √2.
    Relu,
    /// Leaky ReLU with negative slope `a`; gain √(2 / (1 + a²)).
    LeakyRelu,
    /// SELU; gain 3/4 (PyTorch's value; for self-normalizing networks use
    /// LeCun normal, i.e. gain 1 with fan_in, instead).
    Selu,
}

impl Nonlinearity {
    /// Every nonlinearity, in PyTorch's table order.
    pub const ALL: [Nonlinearity; 12] = [
        Nonlinearity::Linear,
        Nonlinearity::Conv1d,
        Nonlinearity::Conv2d,
        Nonlinearity::Conv3d,
        Nonlinearity::ConvTranspose1d,
        Nonlinearity::ConvTranspose2d,
        Nonlinearity::ConvTranspose3d,
        Nonlinearity::Sigmoid,
        Nonlinearity::Tanh,
        Nonlinearity::Relu,
        Nonlinearity::LeakyRelu,
        Nonlinearity::Selu,
    ];

    /// PyTorch's name of the nonlinearity.
    pub fn name(self) -> &'static str {
        match self {
            Nonlinearity::Linear => "linear",
            Nonlinearity::Conv1d => "conv1d",
            Nonlinearity::Conv2d => "conv2d",
            Nonlinearity::Conv3d => "conv3d",
            Nonlinearity::ConvTranspose1d => "conv_transpose1d",
            Nonlinearity::ConvTranspose2d => "conv_transpose2d",
            Nonlinearity::ConvTranspose3d => "conv_transpose3d",
            Nonlinearity::Sigmoid => "sigmoid",
            Nonlinearity::Tanh => "tanh",
            Nonlinearity::Relu => "relu",
            Nonlinearity::LeakyRelu => "leaky_relu",
            Nonlinearity::Selu => "selu",
        }
    }

    /// The gain with PyTorch's default parameter: `calculate_gain(name)`
    /// (leaky_relu slope 0.01).
    ///
    /// ```
    /// use weight_init::scheme::Nonlinearity;
    /// assert_eq!(Nonlinearity::LeakyRelu.gain(), (2.0f64 / (1.0 + 0.01 * 0.01)).sqrt());
    /// ```
    pub fn gain(self) -> f64 {
        match self {
            Nonlinearity::Linear
            | Nonlinearity::Conv1d
            | Nonlinearity::Conv2d
            | Nonlinearity::Conv3d
            | Nonlinearity::ConvTranspose1d
            | Nonlinearity::ConvTranspose2d
            | Nonlinearity::ConvTranspose3d
            | Nonlinearity::Sigmoid => 1.0,
            Nonlinearity::Tanh => 5.0 / 3.0,
            Nonlinearity::Relu => core::f64::consts::SQRT_2,
            Nonlinearity::LeakyRelu => leaky_relu_gain(LEAKY_RELU_DEFAULT_SLOPE),
            Nonlinearity::Selu => 3.0 / 4.0,
        }
    }
}

fn leaky_relu_gain(slope: f64) -> f64 {
    (2.0 / (1.0 + slope * slope)).sqrt()
}

impl fmt::Display for Nonlinearity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Nonlinearity {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Nonlinearity::ALL
            .into_iter()
            .find(|n| n.name() == s)
            .ok_or_else(|| choice_error(s, "a nonlinearity", &NONLINEARITY_NAMES))
    }
}

const NONLINEARITY_NAMES: [&str; 12] = [
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
];

/// PyTorch's `torch.nn.init.calculate_gain(nonlinearity, param)`, exactly.
///
/// `param` is leaky_relu's negative slope (default 0.01 when `None`); the
/// other nonlinearities ignore it, as PyTorch does. A non-finite slope is
/// an error.
///
/// ```
/// use weight_init::scheme::{calculate_gain, Nonlinearity};
/// // nn.Linear's default init is kaiming_uniform_(a = sqrt(5)):
/// let g = calculate_gain(Nonlinearity::LeakyRelu, Some(5f64.sqrt())).unwrap();
/// assert!((g - (2.0f64 / 6.0).sqrt()).abs() < 1e-15);
/// assert_eq!(calculate_gain(Nonlinearity::Selu, None).unwrap(), 0.75);
/// ```
pub fn calculate_gain(nonlinearity: Nonlinearity, param: Option<f64>) -> Result<f64> {
    match (nonlinearity, param) {
        (Nonlinearity::LeakyRelu, Some(slope)) => {
            check_finite("negative_slope", slope)?;
            Ok(leaky_relu_gain(slope))
        }
        _ => Ok(nonlinearity.gain()),
    }
}

// ---------------------------------------------------------------------------
// Scheme parameters: small immutable values with fallible constructors
// ---------------------------------------------------------------------------

fn check_finite(name: &'static str, v: f64) -> Result<()> {
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

fn check_positive(name: &'static str, v: f64) -> Result<()> {
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

/// The value of `constant(value)`.
///
/// ```
/// use weight_init::scheme::Constant;
/// assert_eq!(Constant::new(0.5).unwrap().value(), 0.5);
/// assert!(Constant::new(f64::NAN).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constant {
    value: f64,
}

impl Constant {
    /// A finite constant.
    pub fn new(value: f64) -> Result<Self> {
        let c = Self { value };
        c.check()?;
        Ok(c)
    }
    fn check(&self) -> Result<()> {
        check_finite("value", self.value)
    }
    /// The value.
    pub fn value(&self) -> f64 {
        self.value
    }
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
    low: f64,
    high: f64,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            low: 0.0,
            high: 1.0,
        }
    }
}

impl Bounds {
    /// Uniform on `[low, high)`.
    pub fn new(low: f64, high: f64) -> Result<Self> {
        let b = Self { low, high };
        b.check()?;
        Ok(b)
    }
    fn check(&self) -> Result<()> {
        check_finite("low", self.low)?;
        check_finite("high", self.high)?;
        check_bounds("low", self.low, "high", self.high)
    }
    /// Lower bound (included).
    pub fn low(&self) -> f64 {
        self.low
    }
    /// Upper bound (excluded).
    pub fn high(&self) -> f64 {
        self.high
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
    mean: f64,
    std: f64,
}

impl Default for MeanStd {
    fn default() -> Self {
        Self {
            mean: 0.0,
            std: 1.0,
        }
    }
}

impl MeanStd {
    /// Normal(mean, std).
    pub fn new(mean: f64, std: f64) -> Result<Self> {
        let m = Self { mean, std };
        m.check()?;
        Ok(m)
    }
    fn check(&self) -> Result<()> {
        check_finite("mean", self.mean)?;
        check_positive("std", self.std)
    }
    /// The mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }
    /// The standard deviation.
    pub fn std(&self) -> f64 {
        self.std
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
    mean: f64,
    std: f64,
    #[serde(with = "json_f64")]
    a: f64,
    #[serde(with = "json_f64")]
    b: f64,
}

impl Default for TruncNormal {
    fn default() -> Self {
        Self {
            mean: 0.0,
            std: 1.0,
            a: -2.0,
            b: 2.0,
        }
    }
}

impl TruncNormal {
    /// Normal(mean, std) conditioned on the absolute interval `[a, b]`.
    pub fn new(mean: f64, std: f64, a: f64, b: f64) -> Result<Self> {
        let t = Self { mean, std, a, b };
        t.check()?;
        Ok(t)
    }
    fn check(&self) -> Result<()> {
        check_finite("mean", self.mean)?;
        check_positive("std", self.std)?;
        check_bounds("a", self.a, "b", self.b)
    }
    /// The mean of the parent normal.
    pub fn mean(&self) -> f64 {
        self.mean
    }
    /// The std of the parent normal.
    pub fn std(&self) -> f64 {
        self.std
    }
    /// Lower bound (absolute).
    pub fn a(&self) -> f64 {
        self.a
    }
    /// Upper bound (absolute).
    pub fn b(&self) -> f64 {
        self.b
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
    mean: f64,
    std: f64,
    #[serde(with = "json_f64")]
    lower: f64,
    #[serde(with = "json_f64")]
    upper: f64,
}

impl Default for JaxTruncatedNormal {
    fn default() -> Self {
        Self {
            mean: 0.0,
            std: 0.01,
            lower: -2.0,
            upper: 2.0,
        }
    }
}

impl JaxTruncatedNormal {
    /// Normal(mean, std) conditioned on `[mean + lower * std, mean + upper * std]`.
    pub fn new(mean: f64, std: f64, lower: f64, upper: f64) -> Result<Self> {
        let t = Self {
            mean,
            std,
            lower,
            upper,
        };
        t.check()?;
        Ok(t)
    }
    fn check(&self) -> Result<()> {
        check_finite("mean", self.mean)?;
        check_positive("std", self.std)?;
        check_bounds("lower", self.lower, "upper", self.upper)
    }
    /// The mean of the parent normal.
    pub fn mean(&self) -> f64 {
        self.mean
    }
    /// The std of the parent normal.
    pub fn std(&self) -> f64 {
        self.std
    }
    /// Lower bound, in std units.
    pub fn lower(&self) -> f64 {
        self.lower
    }
    /// Upper bound, in std units.
    pub fn upper(&self) -> f64 {
        self.upper
    }
}

/// A gain (scale factor) for Xavier, orthogonal, identity and
/// delta-orthogonal: finite and > 0. Default 1.
///
/// In the text form a gain may also be a nonlinearity's name, standing for
/// its [`Nonlinearity::gain`]: `xavier_uniform(gain=tanh)`.
///
/// ```
/// use weight_init::scheme::Gain;
/// assert_eq!(Gain::new(5.0 / 3.0).unwrap().gain(), 5.0 / 3.0);
/// assert!(Gain::new(0.0).is_err());
/// assert!(Gain::new(f64::INFINITY).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Gain {
    gain: f64,
}

impl Default for Gain {
    fn default() -> Self {
        Self { gain: 1.0 }
    }
}

impl Gain {
    /// A gain, finite and > 0.
    pub fn new(gain: f64) -> Result<Self> {
        let g = Self { gain };
        g.check()?;
        Ok(g)
    }
    fn check(&self) -> Result<()> {
        check_positive("gain", self.gain)
    }
    /// The gain.
    pub fn gain(&self) -> f64 {
        self.gain
    }
}

/// The parameters of Kaiming (He) init, as
/// `torch.nn.init.kaiming_uniform_(a, mode, nonlinearity)`: negative slope
/// `a` (used only by `leaky_relu`), `mode` fan_in or fan_out, and the
/// nonlinearity whose gain `calculate_gain(nonlinearity, a)` scales the
/// std. Defaults are PyTorch's: `a = 0`, `fan_in`, `leaky_relu` (gain √2).
///
/// ```
/// use weight_init::scheme::{FanMode, Kaiming, Nonlinearity};
/// let k = Kaiming::new(0.0, FanMode::FanOut, Nonlinearity::Relu).unwrap();
/// assert_eq!(k.gain(), 2f64.sqrt());
/// assert_eq!(Kaiming::default().gain(), 2f64.sqrt());
/// assert!(Kaiming::new(0.0, FanMode::FanAvg, Nonlinearity::Relu).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Kaiming {
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
}

impl Default for Kaiming {
    fn default() -> Self {
        Self {
            a: 0.0,
            mode: FanMode::FanIn,
            nonlinearity: Nonlinearity::LeakyRelu,
        }
    }
}

impl Kaiming {
    /// Kaiming parameters; `a` finite, `mode` not `FanAvg` (PyTorch accepts
    /// only fan_in and fan_out).
    pub fn new(a: f64, mode: FanMode, nonlinearity: Nonlinearity) -> Result<Self> {
        let k = Self {
            a,
            mode,
            nonlinearity,
        };
        k.check()?;
        Ok(k)
    }
    fn check(&self) -> Result<()> {
        check_finite("a", self.a)?;
        if self.mode == FanMode::FanAvg {
            return Err(Error::InvalidChoice {
                name: "mode",
                value: "fan_avg".into(),
                reason:
                    "kaiming takes fan_in or fan_out, as PyTorch; fan_avg is variance_scaling's",
            });
        }
        // A huge slope drives the gain to 0: reject it here, not at resolve.
        check_positive("a", self.gain()).map_err(|_| Error::InvalidParameter {
            name: "a",
            value: self.a,
            reason: "too large: the leaky_relu gain sqrt(2 / (1 + a^2)) underflows",
        })
    }
    /// The negative slope.
    pub fn a(&self) -> f64 {
        self.a
    }
    /// The fan mode.
    pub fn mode(&self) -> FanMode {
        self.mode
    }
    /// The nonlinearity.
    pub fn nonlinearity(&self) -> Nonlinearity {
        self.nonlinearity
    }
    /// `calculate_gain(nonlinearity, a)`.
    pub fn gain(&self) -> f64 {
        match self.nonlinearity {
            Nonlinearity::LeakyRelu => leaky_relu_gain(self.a),
            n => n.gain(),
        }
    }
}

/// The distribution of `variance_scaling`.
///
/// The text name `normal` is refused on purpose: JAX's `"normal"` is
/// untruncated, `tf.keras`'s `"normal"` means truncated.
///
/// ```
/// use weight_init::scheme::ScalingDistribution;
/// assert!("normal".parse::<ScalingDistribution>().is_err());
/// assert_eq!(
///     "untruncated_normal".parse::<ScalingDistribution>().unwrap(),
///     ScalingDistribution::UntruncatedNormal
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalingDistribution {
    /// Normal cut at ±2 std, std corrected by
    /// [`TRUNCATED_NORMAL_STD_CORRECTION`] so the truncated variance is the
    /// target.
    TruncatedNormal,
    /// Normal, not truncated (JAX's `"normal"`, Keras's `"untruncated_normal"`).
    UntruncatedNormal,
    /// Uniform on `±sqrt(3 * variance)`.
    Uniform,
}

impl ScalingDistribution {
    /// `"truncated_normal"`, `"untruncated_normal"` or `"uniform"`.
    pub fn name(self) -> &'static str {
        match self {
            ScalingDistribution::TruncatedNormal => "truncated_normal",
            ScalingDistribution::UntruncatedNormal => "untruncated_normal",
            ScalingDistribution::Uniform => "uniform",
        }
    }
}

impl fmt::Display for ScalingDistribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ScalingDistribution {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "truncated_normal" => Ok(ScalingDistribution::TruncatedNormal),
            "untruncated_normal" => Ok(ScalingDistribution::UntruncatedNormal),
            "uniform" => Ok(ScalingDistribution::Uniform),
            "normal" => Err(Error::Parse {
                input: s.into(),
                position: 0,
                message: "`normal` is ambiguous: JAX's variance_scaling \"normal\" is \
                          untruncated, tf.keras's is truncated; write `truncated_normal` \
                          or `untruncated_normal`"
                    .into(),
            }),
            _ => Err(choice_error(
                s,
                "a distribution",
                &["truncated_normal", "untruncated_normal", "uniform"],
            )),
        }
    }
}

/// The parameters of `variance_scaling(scale, mode, distribution)`, as
/// `jax.nn.initializers.variance_scaling` and
/// `keras.initializers.VarianceScaling`. Defaults are Keras's: `scale = 1`,
/// `fan_in`, `truncated_normal`.
///
/// ```
/// use weight_init::scheme::{FanMode, ScalingDistribution, VarianceScaling};
/// let v = VarianceScaling::new(2.0, FanMode::FanIn, ScalingDistribution::Uniform).unwrap();
/// assert_eq!(v.scale(), 2.0);
/// assert!(VarianceScaling::new(0.0, FanMode::FanIn, ScalingDistribution::Uniform).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VarianceScaling {
    scale: f64,
    mode: FanMode,
    distribution: ScalingDistribution,
}

impl Default for VarianceScaling {
    fn default() -> Self {
        Self {
            scale: 1.0,
            mode: FanMode::FanIn,
            distribution: ScalingDistribution::TruncatedNormal,
        }
    }
}

impl VarianceScaling {
    /// Variance `scale / n`, `n` the fan `mode` selects; `scale` finite and > 0.
    pub fn new(scale: f64, mode: FanMode, distribution: ScalingDistribution) -> Result<Self> {
        let v = Self {
            scale,
            mode,
            distribution,
        };
        v.check()?;
        Ok(v)
    }
    fn check(&self) -> Result<()> {
        check_positive("scale", self.scale)
    }
    /// The variance scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }
    /// The fan mode.
    pub fn mode(&self) -> FanMode {
        self.mode
    }
    /// The distribution.
    pub fn distribution(&self) -> ScalingDistribution {
        self.distribution
    }
}

fn default_small_std() -> f64 {
    0.02
}

/// The parameters of `gpt2_residual(n_layers, std)`: the residual output
/// projections of a GPT-2 style transformer, std `std / sqrt(2 * n_layers)`
/// (two residual additions per block). `n_layers >= 1`; `std` defaults to
/// 0.02.
///
/// ```
/// use weight_init::scheme::Gpt2Residual;
/// let g = Gpt2Residual::new(12, 0.02).unwrap();
/// assert_eq!(g.n_layers(), 12);
/// assert!(Gpt2Residual::new(0, 0.02).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpt2Residual {
    n_layers: u64,
    #[serde(default = "default_small_std")]
    std: f64,
}

impl Gpt2Residual {
    /// Residual projections of a model with `n_layers` transformer blocks.
    pub fn new(n_layers: u64, std: f64) -> Result<Self> {
        let g = Self { n_layers, std };
        g.check()?;
        Ok(g)
    }
    fn check(&self) -> Result<()> {
        if self.n_layers == 0 {
            return Err(Error::InvalidParameter {
                name: "n_layers",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        check_positive("std", self.std)
    }
    /// Number of transformer blocks.
    pub fn n_layers(&self) -> u64 {
        self.n_layers
    }
    /// The base std (before the `1 / sqrt(2 * n_layers)` factor).
    pub fn std(&self) -> f64 {
        self.std
    }
}

/// The parameter of `lstm_forget_bias(forget)`: the constant on the forget
/// gate's slice of a gate-stacked LSTM bias. Default 1 (Jozefowicz et al.
/// 2015; Keras `unit_forget_bias=True`).
///
/// ```
/// use weight_init::scheme::LstmForgetBias;
/// assert_eq!(LstmForgetBias::default().forget(), 1.0);
/// assert!(LstmForgetBias::new(f64::NAN).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LstmForgetBias {
    forget: f64,
}

impl Default for LstmForgetBias {
    fn default() -> Self {
        Self { forget: 1.0 }
    }
}

impl LstmForgetBias {
    /// Forget-gate bias `forget` (finite).
    pub fn new(forget: f64) -> Result<Self> {
        let l = Self { forget };
        l.check()?;
        Ok(l)
    }
    fn check(&self) -> Result<()> {
        check_finite("forget", self.forget)
    }
    /// The forget-gate bias.
    pub fn forget(&self) -> f64 {
        self.forget
    }
}

/// The output activation a class-prior bias is for.
///
/// ```
/// use weight_init::scheme::PriorActivation;
/// assert_eq!("sigmoid".parse::<PriorActivation>().unwrap(), PriorActivation::Sigmoid);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorActivation {
    /// One softmax over the classes: `b_k = ln p_k` (priors sum to 1).
    #[default]
    Softmax,
    /// One sigmoid per class: `b_k = ln(p_k / (1 - p_k))`.
    Sigmoid,
}

impl PriorActivation {
    /// `"softmax"` or `"sigmoid"`.
    pub fn name(self) -> &'static str {
        match self {
            PriorActivation::Softmax => "softmax",
            PriorActivation::Sigmoid => "sigmoid",
        }
    }
}

impl fmt::Display for PriorActivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PriorActivation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "softmax" => Ok(PriorActivation::Softmax),
            "sigmoid" => Ok(PriorActivation::Sigmoid),
            _ => Err(choice_error(s, "an activation", &["softmax", "sigmoid"])),
        }
    }
}

/// The parameters of `class_prior_bias(priors, activation)`: an output
/// layer's bias set so that the initial predictions equal the class
/// frequencies, which removes the first iterations' "hockey stick" loss
/// (Karpathy, *A Recipe for Training Neural Networks*, 2019) and, for
/// sigmoid with a rare positive class, keeps early training stable (Lin et
/// al. 2017, RetinaNet, prior 0.01).
///
/// Every prior lies in `(0, 1)`; softmax priors sum to 1 within
/// [`PRIOR_SUM_TOLERANCE`]. With sigmoid a single prior is broadcast to
/// every element.
///
/// ```
/// use weight_init::scheme::{ClassPriorBias, PriorActivation};
/// assert!(ClassPriorBias::new(vec![0.9, 0.1], PriorActivation::Softmax).is_ok());
/// assert!(ClassPriorBias::new(vec![0.9, 0.2], PriorActivation::Softmax).is_err());
/// assert!(ClassPriorBias::new(vec![0.01], PriorActivation::Sigmoid).is_ok());
/// assert!(ClassPriorBias::new(vec![1.0], PriorActivation::Sigmoid).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassPriorBias {
    priors: Vec<f64>,
    #[serde(default)]
    activation: PriorActivation,
}

impl ClassPriorBias {
    /// Biases from class priors.
    pub fn new(priors: Vec<f64>, activation: PriorActivation) -> Result<Self> {
        let c = Self { priors, activation };
        c.check()?;
        Ok(c)
    }
    fn check(&self) -> Result<()> {
        if self.priors.is_empty() {
            return Err(Error::InvalidParameter {
                name: "priors",
                value: 0.0,
                reason: "needs at least one prior",
            });
        }
        for &p in &self.priors {
            if !(p > 0.0 && p < 1.0) {
                return Err(Error::InvalidParameter {
                    name: "priors",
                    value: p,
                    reason: "every prior must lie in (0, 1)",
                });
            }
        }
        if self.activation == PriorActivation::Softmax {
            let sum: f64 = self.priors.iter().sum();
            if (sum - 1.0).abs() > PRIOR_SUM_TOLERANCE {
                return Err(Error::InvalidParameter {
                    name: "priors",
                    value: sum,
                    reason: "softmax priors must sum to 1 (within 1e-6); this is their sum",
                });
            }
        }
        Ok(())
    }
    /// The class priors.
    pub fn priors(&self) -> &[f64] {
        &self.priors
    }
    /// The output activation.
    pub fn activation(&self) -> PriorActivation {
        self.activation
    }
    /// The bias of each prior: `ln p` (softmax) or `ln(p / (1 - p))`
    /// (sigmoid), in f64.
    ///
    /// ```
    /// use weight_init::scheme::{ClassPriorBias, PriorActivation};
    /// let c = ClassPriorBias::new(vec![0.5], PriorActivation::Sigmoid).unwrap();
    /// assert_eq!(c.biases(), vec![0.0]);
    /// ```
    pub fn biases(&self) -> Vec<f64> {
        self.priors
            .iter()
            .map(|&p| match self.activation {
                PriorActivation::Softmax => p.ln(),
                // ln(1 - p) through ln_1p keeps small priors exact.
                PriorActivation::Sigmoid => p.ln() - (-p).ln_1p(),
            })
            .collect()
    }
}

/// The parameter of `dirac(groups)`: how many groups the output channels
/// split into (`torch.nn.init.dirac_(groups)`), at least 1. Default 1.
///
/// ```
/// use weight_init::scheme::Dirac;
/// assert_eq!(Dirac::new(2).unwrap().groups(), 2);
/// assert!(Dirac::new(0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dirac {
    groups: u64,
}

impl Default for Dirac {
    fn default() -> Self {
        Self { groups: 1 }
    }
}

impl Dirac {
    /// Dirac with `groups` groups.
    pub fn new(groups: u64) -> Result<Self> {
        let d = Self { groups };
        d.check()?;
        Ok(d)
    }
    fn check(&self) -> Result<()> {
        if self.groups == 0 {
            return Err(Error::InvalidParameter {
                name: "groups",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        Ok(())
    }
    /// The number of groups.
    pub fn groups(&self) -> u64 {
        self.groups
    }
}

fn default_sparse_std() -> f64 {
    0.01
}

/// The parameters of `sparse(sparsity, std)`: the fraction of each
/// input's weights set to zero, in `[0, 1)`, and the std of the normal
/// non-zero weights (default 0.01), as `torch.nn.init.sparse_`.
///
/// ```
/// use weight_init::scheme::Sparse;
/// assert!(Sparse::new(0.9, 0.01).is_ok());
/// assert!(Sparse::new(1.0, 0.01).is_err());
/// assert!(Sparse::new(-0.1, 0.01).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sparse {
    sparsity: f64,
    #[serde(default = "default_sparse_std")]
    std: f64,
}

impl Sparse {
    /// Sparse init; `sparsity` in `[0, 1)`, `std` finite and > 0.
    pub fn new(sparsity: f64, std: f64) -> Result<Self> {
        let s = Self { sparsity, std };
        s.check()?;
        Ok(s)
    }
    fn check(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.sparsity) {
            return Err(Error::InvalidParameter {
                name: "sparsity",
                value: self.sparsity,
                reason: "must lie in [0, 1)",
            });
        }
        check_positive("std", self.std)
    }
    /// The fraction of zeros per input.
    pub fn sparsity(&self) -> f64 {
        self.sparsity
    }
    /// The std of the non-zero weights.
    pub fn std(&self) -> f64 {
        self.std
    }
}

// ---------------------------------------------------------------------------
// The Init enum
// ---------------------------------------------------------------------------

/// An init scheme: every scheme of `torch.nn.init`, JAX's
/// `jax.nn.initializers`, Keras's `keras.initializers`, PyTorch's default
/// layer inits and the practitioners' recipes.
///
/// Three ways to write one, all equivalent:
/// - Rust: `Init::KaimingNormal(Kaiming::new(0.0, FanMode::FanOut, Nonlinearity::Relu)?)`;
/// - text ([`FromStr`], [`Display`](fmt::Display)):
///   `kaiming_normal(mode=fan_out, nonlinearity=relu)`; positional and
///   keyword arguments, defaults as PyTorch/JAX; aliases such as
///   `glorot_uniform`; see the module's table;
/// - JSON (serde, internally tagged):
///   `{"scheme":"kaiming_normal","a":0.0,"mode":"fan_out","nonlinearity":"relu"}`;
///   missing fields take their defaults, unknown fields are refused.
///
/// Names that mean different things in different libraries are refused in
/// the text form (`glorot_normal`, `he_normal`, `lecun_normal`,
/// `truncated_normal`): the truncated JAX/Keras forms are `jax_*`, the
/// untruncated PyTorch forms `xavier_normal`, `kaiming_normal`,
/// `lecun_normal_untruncated`.
///
/// [`Init::resolve`] turns a scheme and a shape into a [`Plan`].
///
/// ```
/// use weight_init::scheme::{FanMode, Init, Kaiming, Nonlinearity};
/// let a: Init = "kaiming_normal(mode=fan_out, nonlinearity=relu)".parse().unwrap();
/// let b = Init::KaimingNormal(Kaiming::new(0.0, FanMode::FanOut, Nonlinearity::Relu).unwrap());
/// assert_eq!(a, b);
/// assert_eq!(a.to_string().parse::<Init>().unwrap(), a);
/// let json = serde_json::to_string(&a).unwrap();
/// assert_eq!(json, r#"{"scheme":"kaiming_normal","a":0.0,"mode":"fan_out","nonlinearity":"relu"}"#);
/// assert_eq!(serde_json::from_str::<Init>(&json).unwrap(), a);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(tag = "scheme", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Init {
    /// All zeros. Biases, norm-layer biases, and the last layer of a
    /// residual branch. `torch.nn.init.zeros_`,
    /// `jax.nn.initializers.zeros`, `keras.initializers.Zeros`.
    Zeros,
    /// All ones. Norm-layer weights (LayerNorm, BatchNorm).
    /// `torch.nn.init.ones_`, `jax.nn.initializers.ones`,
    /// `keras.initializers.Ones`.
    Ones,
    /// Every element `value`. `torch.nn.init.constant_`,
    /// `jax.nn.initializers.constant`, `keras.initializers.Constant`.
    Constant(Constant),
    /// `U[low, high)`, std `(high - low) / sqrt(12)`.
    /// `torch.nn.init.uniform_(a, b)`,
    /// `keras.initializers.RandomUniform(minval, maxval)`;
    /// `jax.nn.initializers.uniform(scale)` is `uniform(0, scale)`.
    Uniform(Bounds),
    /// `N(mean, std²)`. `torch.nn.init.normal_`,
    /// `keras.initializers.RandomNormal(mean, stddev)`;
    /// `jax.nn.initializers.normal(stddev)` is `normal(0, stddev)`.
    Normal(MeanStd),
    /// `N(mean, std²)` conditioned on the **absolute** interval `[a, b]`
    /// (default ±2). `torch.nn.init.trunc_normal_` (and timm's). See
    /// [`TruncNormal`] for PyTorch's ±2-absolute pitfall.
    TruncNormal(TruncNormal),
    /// `N(mean, std²)` conditioned on `[mean + lower·std, mean + upper·std]`
    /// (default ±2 std), no variance correction.
    /// `jax.nn.initializers.truncated_normal(stddev, lower, upper)`,
    /// `keras.initializers.TruncatedNormal(mean, stddev)`.
    JaxTruncatedNormal(JaxTruncatedNormal),
    /// Glorot/Xavier uniform: `U(±gain·sqrt(6 / (fan_in + fan_out)))`.
    /// Suits tanh and sigmoid (and linear). `torch.nn.init.xavier_uniform_`;
    /// with gain 1 equals `jax.nn.initializers.glorot_uniform` and
    /// `keras.initializers.GlorotUniform`.
    XavierUniform(Gain),
    /// Glorot/Xavier normal, untruncated:
    /// `N(0, gain²·2 / (fan_in + fan_out))`. Suits tanh and sigmoid.
    /// `torch.nn.init.xavier_normal_`. (JAX/Keras `glorot_normal` is
    /// truncated: [`Init::JaxGlorotNormal`].)
    XavierNormal(Gain),
    /// Kaiming/He uniform: `U(±gain·sqrt(3 / n))`, `n` the fan `mode`
    /// selects, `gain = calculate_gain(nonlinearity, a)`. Suits the ReLU
    /// family. `torch.nn.init.kaiming_uniform_`; with relu and fan_in equals
    /// `jax.nn.initializers.he_uniform`, `keras.initializers.HeUniform`.
    KaimingUniform(Kaiming),
    /// Kaiming/He normal, untruncated: `N(0, gain² / n)`. Suits the ReLU
    /// family. `torch.nn.init.kaiming_normal_`. (JAX/Keras `he_normal` is
    /// truncated: [`Init::JaxHeNormal`].)
    KaimingNormal(Kaiming),
    /// LeCun uniform: `U(±sqrt(3 / fan_in))`. Suits SELU and linear layers.
    /// `jax.nn.initializers.lecun_uniform`, `keras.initializers.LecunUniform`
    /// (= `torch.nn.init.kaiming_uniform_(nonlinearity='linear')`).
    LecunUniform,
    /// LeCun normal, untruncated: `N(0, 1 / fan_in)`. Suits SELU (PyTorch's
    /// advice for self-normalizing nets: `kaiming_normal_(nonlinearity=
    /// 'linear')`, which this equals; also `variance_scaling(1, "fan_in",
    /// "normal")` in JAX). JAX/Keras `lecun_normal` is truncated:
    /// [`Init::JaxLecunNormal`].
    LecunNormalUntruncated,
    /// Variance scaling: target variance `σ² = scale / n`, `n` = fan_in,
    /// fan_out or `(fan_in + fan_out) / 2`; truncated_normal:
    /// `N(0, (σ / 0.87962566103423978)²)` cut at ±2 of that std (so the
    /// truncated variance is `σ²`); untruncated_normal: `N(0, σ²)`; uniform:
    /// `U(±sqrt(3σ²))`. Any activation, by the choice of scale.
    /// `jax.nn.initializers.variance_scaling`,
    /// `keras.initializers.VarianceScaling`.
    VarianceScaling(VarianceScaling),
    /// `variance_scaling(1, fan_avg, truncated_normal)`. Suits tanh and
    /// sigmoid. `jax.nn.initializers.glorot_normal`,
    /// `keras.initializers.GlorotNormal`.
    JaxGlorotNormal,
    /// `variance_scaling(2, fan_in, truncated_normal)`. Suits ReLU.
    /// `jax.nn.initializers.he_normal`, `keras.initializers.HeNormal`.
    JaxHeNormal,
    /// `variance_scaling(1, fan_in, truncated_normal)`. Suits SELU.
    /// `jax.nn.initializers.lecun_normal`, `keras.initializers.LecunNormal`.
    JaxLecunNormal,
    /// PyTorch's default weight init of `nn.Linear` and `nn.Conv1d/2d/3d`:
    /// `kaiming_uniform_(a=sqrt(5))`, i.e. gain `sqrt(2 / 6)` and bound
    /// `U(±1 / sqrt(fan_in))`. For any activation, as PyTorch does.
    TorchDefaultWeight,
    /// PyTorch's default bias init of `nn.Linear` and `nn.Conv*d`:
    /// `U(±1 / sqrt(fan_in))`, `fan_in` **of the weight**: the bias's own
    /// shape does not carry it, so [`ResolveOptions::with_fans`] is
    /// required.
    TorchDefaultBias,
    /// GPT-2 style residual projections: `N(0, (std / sqrt(2·n_layers))²)`,
    /// std default 0.02 (Radford et al. 2019; nanoGPT's `c_proj.weight`).
    /// For the output projections of attention and MLP blocks in a residual
    /// stream.
    Gpt2Residual(Gpt2Residual),
    /// A gate-stacked LSTM bias `[4·hidden]`, gate order i, f, g, o as
    /// PyTorch (and Keras): the forget slice `[hidden, 2·hidden)` is the
    /// constant `forget` (default 1, Jozefowicz et al. 2015), the other
    /// gates keep PyTorch's LSTM default `U(±1 / sqrt(hidden))`. PyTorch
    /// adds `bias_ih` and `bias_hh`: apply it to one of them. (Keras's
    /// `unit_forget_bias` zeros the other gates instead.)
    LstmForgetBias(LstmForgetBias),
    /// Output bias from class priors: softmax `b_k = ln p_k`, sigmoid
    /// `b_k = ln(p_k / (1 - p_k))`. For the last layer of a classifier.
    ClassPriorBias(ClassPriorBias),
    /// A (semi-)orthogonal matrix times `gain`, the tensor flattened to
    /// `[shape[0], rest]` (PyTorch) or `[rest, shape[-1]]` (JAX). Suits
    /// recurrent weights and deep linear/tanh nets (Saxe et al. 2014).
    /// `torch.nn.init.orthogonal_(gain)`,
    /// `jax.nn.initializers.orthogonal(scale)`,
    /// `keras.initializers.Orthogonal(gain)`.
    Orthogonal(Gain),
    /// The 2-D identity (ones on the main diagonal, non-square allowed).
    /// For linear layers that start as the identity.
    /// `torch.nn.init.eye_`.
    Eye,
    /// `gain` times the 2-D identity. `keras.initializers.Identity(gain)`.
    Identity(Gain),
    /// A 3-5-D conv kernel that starts as the identity map (per group).
    /// For residual-free deep conv nets. `torch.nn.init.dirac_(groups)`.
    Dirac(Dirac),
    /// Each input's column of a 2-D weight gets `ceil(sparsity·outputs)`
    /// zeros, the rest `N(0, std²)` (Martens 2010).
    /// `torch.nn.init.sparse_(sparsity, std)`.
    Sparse(Sparse),
    /// A 3-5-D conv kernel, zero except an orthogonal `[in, out]` matrix
    /// (times `gain`) at the spatial centre; needs `in <= out`. For very
    /// deep tanh CNNs (Xiao et al. 2018).
    /// `jax.nn.initializers.delta_orthogonal(scale)`.
    DeltaOrthogonal(Gain),
}

impl Serialize for Init {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        Init::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for Init {
    /// The derived deserializer fills the parameters' private fields
    /// directly, so the constructors' checks run here.
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let init = Init::deserialize(d)?;
        init.check().map_err(serde::de::Error::custom)?;
        Ok(init)
    }
}

/// Every scheme's canonical text name ([`Init::name`]), in the order of the
/// [`Init`] variants.
pub const SCHEME_NAMES: &[&str] = &[
    "zeros",
    "ones",
    "constant",
    "uniform",
    "normal",
    "trunc_normal",
    "jax_truncated_normal",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "lecun_uniform",
    "lecun_normal_untruncated",
    "variance_scaling",
    "jax_glorot_normal",
    "jax_he_normal",
    "jax_lecun_normal",
    "torch_default_weight",
    "torch_default_bias",
    "gpt2_residual",
    "lstm_forget_bias",
    "class_prior_bias",
    "orthogonal",
    "eye",
    "identity",
    "dirac",
    "sparse",
    "delta_orthogonal",
];

/// Every alias the text form accepts, with what it parses to. Aliases
/// print back in the canonical form (`glorot_uniform` displays as
/// `xavier_uniform(gain=1)`).
pub const SCHEME_ALIASES: &[(&str, &str)] = &[
    ("glorot_uniform", "xavier_uniform(gain=1)"),
    (
        "he_uniform",
        "kaiming_uniform(a=0, mode=fan_in, nonlinearity=relu)",
    ),
    ("keras_glorot_normal", "jax_glorot_normal"),
    ("keras_he_normal", "jax_he_normal"),
    ("keras_lecun_normal", "jax_lecun_normal"),
    (
        "keras_truncated_normal",
        "jax_truncated_normal(mean, std, -2, 2); parameters (mean=0, std=0.05)",
    ),
    ("torch_linear_weight", "torch_default_weight"),
    ("torch_conv_weight", "torch_default_weight"),
    ("torch_linear_bias", "torch_default_bias"),
    ("torch_conv_bias", "torch_default_bias"),
    ("torch_embedding", "normal(mean=0, std=1)"),
    ("torch_norm_weight", "ones"),
    ("torch_norm_bias", "zeros"),
    ("small_normal", "normal(mean=0, std); parameter (std=0.02)"),
    ("relu_bias", "constant(value); parameter (value=0.01)"),
];

/// Names the text form refuses because libraries disagree on them, with
/// what to write instead.
pub const AMBIGUOUS_NAMES: &[(&str, &str)] = &[
    (
        "glorot_normal",
        "JAX/Keras glorot_normal is truncated (write `jax_glorot_normal`); \
         PyTorch's xavier_normal_ is not (write `xavier_normal`)",
    ),
    (
        "he_normal",
        "JAX/Keras he_normal is truncated (write `jax_he_normal`); PyTorch's \
         kaiming_normal_ is not (write `kaiming_normal(nonlinearity=relu)`)",
    ),
    (
        "lecun_normal",
        "JAX/Keras lecun_normal is truncated (write `jax_lecun_normal`); the \
         untruncated form is `lecun_normal_untruncated`",
    ),
    (
        "truncated_normal",
        "bounds in std units as JAX/Keras (write `jax_truncated_normal`) or \
         absolute as PyTorch's trunc_normal_ (write `trunc_normal`)?",
    ),
];

impl Init {
    /// The canonical text name (one of [`SCHEME_NAMES`]).
    ///
    /// ```
    /// use weight_init::scheme::Init;
    /// assert_eq!("glorot_uniform".parse::<Init>().unwrap().name(), "xavier_uniform");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Init::Zeros => "zeros",
            Init::Ones => "ones",
            Init::Constant(_) => "constant",
            Init::Uniform(_) => "uniform",
            Init::Normal(_) => "normal",
            Init::TruncNormal(_) => "trunc_normal",
            Init::JaxTruncatedNormal(_) => "jax_truncated_normal",
            Init::XavierUniform(_) => "xavier_uniform",
            Init::XavierNormal(_) => "xavier_normal",
            Init::KaimingUniform(_) => "kaiming_uniform",
            Init::KaimingNormal(_) => "kaiming_normal",
            Init::LecunUniform => "lecun_uniform",
            Init::LecunNormalUntruncated => "lecun_normal_untruncated",
            Init::VarianceScaling(_) => "variance_scaling",
            Init::JaxGlorotNormal => "jax_glorot_normal",
            Init::JaxHeNormal => "jax_he_normal",
            Init::JaxLecunNormal => "jax_lecun_normal",
            Init::TorchDefaultWeight => "torch_default_weight",
            Init::TorchDefaultBias => "torch_default_bias",
            Init::Gpt2Residual(_) => "gpt2_residual",
            Init::LstmForgetBias(_) => "lstm_forget_bias",
            Init::ClassPriorBias(_) => "class_prior_bias",
            Init::Orthogonal(_) => "orthogonal",
            Init::Eye => "eye",
            Init::Identity(_) => "identity",
            Init::Dirac(_) => "dirac",
            Init::Sparse(_) => "sparse",
            Init::DeltaOrthogonal(_) => "delta_orthogonal",
        }
    }

    /// Whether the scheme needs fans (from a shape of at least 2
    /// dimensions, or given explicitly).
    ///
    /// ```
    /// use weight_init::scheme::Init;
    /// assert!("xavier_uniform".parse::<Init>().unwrap().is_fan_based());
    /// assert!(!"normal(0, 0.02)".parse::<Init>().unwrap().is_fan_based());
    /// ```
    pub fn is_fan_based(&self) -> bool {
        matches!(
            self,
            Init::XavierUniform(_)
                | Init::XavierNormal(_)
                | Init::KaimingUniform(_)
                | Init::KaimingNormal(_)
                | Init::LecunUniform
                | Init::LecunNormalUntruncated
                | Init::VarianceScaling(_)
                | Init::JaxGlorotNormal
                | Init::JaxHeNormal
                | Init::JaxLecunNormal
                | Init::TorchDefaultWeight
                | Init::TorchDefaultBias
        )
    }

    /// Re-runs the parameter checks (after deserialization).
    fn check(&self) -> Result<()> {
        match self {
            Init::Constant(p) => p.check(),
            Init::Uniform(p) => p.check(),
            Init::Normal(p) => p.check(),
            Init::TruncNormal(p) => p.check(),
            Init::JaxTruncatedNormal(p) => p.check(),
            Init::XavierUniform(p)
            | Init::XavierNormal(p)
            | Init::Orthogonal(p)
            | Init::Identity(p)
            | Init::DeltaOrthogonal(p) => p.check(),
            Init::KaimingUniform(p) | Init::KaimingNormal(p) => p.check(),
            Init::VarianceScaling(p) => p.check(),
            Init::Gpt2Residual(p) => p.check(),
            Init::LstmForgetBias(p) => p.check(),
            Init::ClassPriorBias(p) => p.check(),
            Init::Dirac(p) => p.check(),
            Init::Sparse(p) => p.check(),
            Init::Zeros
            | Init::Ones
            | Init::LecunUniform
            | Init::LecunNormalUntruncated
            | Init::JaxGlorotNormal
            | Init::JaxHeNormal
            | Init::JaxLecunNormal
            | Init::TorchDefaultWeight
            | Init::TorchDefaultBias
            | Init::Eye => Ok(()),
        }
    }

    /// The keyword arguments of the canonical text form, in order.
    fn params(&self) -> Vec<(&'static str, String)> {
        let n = fmt_num;
        match self {
            Init::Constant(p) => vec![("value", n(p.value))],
            Init::Uniform(p) => vec![("low", n(p.low)), ("high", n(p.high))],
            Init::Normal(p) => vec![("mean", n(p.mean)), ("std", n(p.std))],
            Init::TruncNormal(p) => vec![
                ("mean", n(p.mean)),
                ("std", n(p.std)),
                ("a", n(p.a)),
                ("b", n(p.b)),
            ],
            Init::JaxTruncatedNormal(p) => vec![
                ("mean", n(p.mean)),
                ("std", n(p.std)),
                ("lower", n(p.lower)),
                ("upper", n(p.upper)),
            ],
            Init::XavierUniform(p)
            | Init::XavierNormal(p)
            | Init::Orthogonal(p)
            | Init::Identity(p)
            | Init::DeltaOrthogonal(p) => vec![("gain", n(p.gain))],
            Init::KaimingUniform(p) | Init::KaimingNormal(p) => vec![
                ("a", n(p.a)),
                ("mode", p.mode.name().into()),
                ("nonlinearity", p.nonlinearity.name().into()),
            ],
            Init::VarianceScaling(p) => vec![
                ("scale", n(p.scale)),
                ("mode", p.mode.name().into()),
                ("distribution", p.distribution.name().into()),
            ],
            Init::Gpt2Residual(p) => {
                vec![("n_layers", p.n_layers.to_string()), ("std", n(p.std))]
            }
            Init::LstmForgetBias(p) => vec![("forget", n(p.forget))],
            Init::ClassPriorBias(p) => vec![
                (
                    "priors",
                    format!(
                        "[{}]",
                        p.priors
                            .iter()
                            .map(|&x| n(x))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
                ("activation", p.activation.name().into()),
            ],
            Init::Dirac(p) => vec![("groups", p.groups.to_string())],
            Init::Sparse(p) => vec![("sparsity", n(p.sparsity)), ("std", n(p.std))],
            Init::Zeros
            | Init::Ones
            | Init::LecunUniform
            | Init::LecunNormalUntruncated
            | Init::JaxGlorotNormal
            | Init::JaxHeNormal
            | Init::JaxLecunNormal
            | Init::TorchDefaultWeight
            | Init::TorchDefaultBias
            | Init::Eye => vec![],
        }
    }

    fn fans(&self, shape: &[u64], opts: &ResolveOptions) -> Result<Fans> {
        if let Some(f) = opts.fans {
            return Ok(f);
        }
        if *self == Init::TorchDefaultBias {
            return Err(Error::InvalidShape {
                shape: shape.to_vec(),
                reason: "torch_default_bias needs the fan_in of its layer's weight: \
                         give it with ResolveOptions::with_fans"
                    .into(),
            });
        }
        Fans::from_shape(shape, opts.layout, opts.groups).map_err(|e| match e {
            Error::InvalidShape { shape, reason } => Error::InvalidShape {
                shape,
                reason: format!("`{}`: {reason}", self.name()),
            },
            e => e,
        })
    }

    /// Resolves the scheme for a tensor of `shape` into the [`Plan`] the
    /// backends consume.
    ///
    /// Fans come from `opts.fans` when given, else from the shape in
    /// `opts.layout` with `opts.groups` ([`Fans::from_shape`]). Every
    /// formula is evaluated in f64 and the distribution's parameters
    /// rounded to f32 once.
    ///
    /// Errors (never panics): a zero-sized dimension or an element count
    /// past `u64` (any scheme); a fan-based scheme on a 0-D or 1-D shape
    /// without explicit fans; `torch_default_bias` without explicit fans;
    /// a parameter whose f32 rounding is out of the distribution's domain
    /// (e.g. a std below f32's range); the structured schemes' shape rules
    /// (see [`Structured`]); an LSTM bias that is not 1-D with a length
    /// multiple of 4; class priors whose count is not the element count.
    ///
    /// ```
    /// use weight_init::scheme::{Fans, Init, Plan, ResolveOptions};
    /// use weight_init::Distribution;
    /// let bias: Init = "torch_default_bias".parse().unwrap();
    /// // The bias of nn.Linear(in_features=100, out_features=10).
    /// let opts = ResolveOptions::default().with_fans(Fans::new(100, 10).unwrap());
    /// let Plan::Sample(Distribution::Uniform(u)) = bias.resolve(&[10], &opts).unwrap() else {
    ///     panic!()
    /// };
    /// assert_eq!((u.low(), u.high()), (-0.1, 0.1));
    /// assert!(bias.resolve(&[10], &ResolveOptions::default()).is_err());
    /// ```
    pub fn resolve(&self, shape: &[u64], opts: &ResolveOptions) -> Result<Plan> {
        let count = numel(shape)?;
        let sample = |d: Distribution| Ok(Plan::Sample(d));
        match self {
            Init::Zeros => sample(Distribution::constant(0.0)?),
            Init::Ones => sample(Distribution::constant(1.0)?),
            Init::Constant(p) => sample(Distribution::constant(f32_of("value", p.value, false)?)?),
            Init::Uniform(p) => sample(
                Uniform::new(f32_of("low", p.low, false)?, f32_of("high", p.high, false)?)?.into(),
            ),
            Init::Normal(p) => sample(
                Normal::new(f32_of("mean", p.mean, false)?, f32_of("std", p.std, true)?)?.into(),
            ),
            Init::TruncNormal(p) => sample(
                TruncatedNormal::new(
                    f32_of("mean", p.mean, false)?,
                    f32_of("std", p.std, true)?,
                    f32_of("a", p.a, false)?,
                    f32_of("b", p.b, false)?,
                )?
                .into(),
            ),
            Init::JaxTruncatedNormal(p) => sample(
                TruncatedNormal::with_std_bounds(
                    f32_of("mean", p.mean, false)?,
                    f32_of("std", p.std, true)?,
                    f32_of("lower", p.lower, false)?,
                    f32_of("upper", p.upper, false)?,
                )?
                .into(),
            ),
            Init::XavierUniform(g) | Init::XavierNormal(g) => {
                let f = self.fans(shape, opts)?;
                // torch: std = gain * sqrt(2 / (fan_in + fan_out)); a = sqrt(3) * std.
                let std = g.gain * (2.0 / (f.fan_in as f64 + f.fan_out as f64)).sqrt();
                sample(match self {
                    Init::XavierUniform(_) => symmetric_uniform(SQRT_3 * std)?,
                    _ => centered_normal(std)?,
                })
            }
            Init::KaimingUniform(k) | Init::KaimingNormal(k) => {
                let f = self.fans(shape, opts)?;
                // torch: std = gain / sqrt(fan); bound = sqrt(3) * std.
                let std = k.gain() / f.fan(k.mode).sqrt();
                sample(match self {
                    Init::KaimingUniform(_) => symmetric_uniform(SQRT_3 * std)?,
                    _ => centered_normal(std)?,
                })
            }
            Init::LecunUniform => {
                let f = self.fans(shape, opts)?;
                sample(variance_scaling(
                    1.0,
                    FanMode::FanIn,
                    ScalingDistribution::Uniform,
                    f,
                )?)
            }
            Init::LecunNormalUntruncated => {
                let f = self.fans(shape, opts)?;
                let d = ScalingDistribution::UntruncatedNormal;
                sample(variance_scaling(1.0, FanMode::FanIn, d, f)?)
            }
            Init::VarianceScaling(v) => {
                let f = self.fans(shape, opts)?;
                sample(variance_scaling(v.scale, v.mode, v.distribution, f)?)
            }
            Init::JaxGlorotNormal | Init::JaxHeNormal | Init::JaxLecunNormal => {
                let f = self.fans(shape, opts)?;
                let (scale, mode) = match self {
                    Init::JaxGlorotNormal => (1.0, FanMode::FanAvg),
                    Init::JaxHeNormal => (2.0, FanMode::FanIn),
                    _ => (1.0, FanMode::FanIn),
                };
                let d = ScalingDistribution::TruncatedNormal;
                sample(variance_scaling(scale, mode, d, f)?)
            }
            Init::TorchDefaultWeight => {
                let f = self.fans(shape, opts)?;
                // kaiming_uniform_(a=sqrt(5)), through the same formula as
                // torch so the f64 rounding is the same.
                let gain = leaky_relu_gain(5f64.sqrt());
                let std = gain / (f.fan_in as f64).sqrt();
                sample(symmetric_uniform(SQRT_3 * std)?)
            }
            Init::TorchDefaultBias => {
                let f = self.fans(shape, opts)?;
                sample(symmetric_uniform(1.0 / (f.fan_in as f64).sqrt())?)
            }
            Init::Gpt2Residual(g) => {
                sample(centered_normal(g.std / (2.0 * g.n_layers as f64).sqrt())?)
            }
            Init::LstmForgetBias(l) => lstm_segments(shape, l.forget),
            Init::ClassPriorBias(c) => {
                let biases = c.biases();
                if c.activation == PriorActivation::Sigmoid && biases.len() == 1 {
                    return sample(Distribution::constant(biases[0] as f32)?);
                }
                if biases.len() as u64 != count {
                    return Err(Error::InvalidShape {
                        shape: shape.to_vec(),
                        reason: format!(
                            "class_prior_bias has {} priors for a tensor of {count} elements",
                            biases.len()
                        ),
                    });
                }
                Ok(Plan::Values(biases.into_iter().map(|b| b as f32).collect()))
            }
            Init::Orthogonal(g) => {
                let (rows, cols) = match (opts.layout, shape) {
                    (Layout::Torch, [rows, _, ..]) => (*rows, count / rows),
                    (Layout::Jax, [.., _, cols]) => (count / cols, *cols),
                    _ => return Err(dims_error(shape, "orthogonal", "at least 2 dimensions")),
                };
                Ok(Plan::Structured(Structured::Orthogonal {
                    gain: g.gain,
                    rows,
                    cols,
                }))
            }
            Init::Eye | Init::Identity(_) => {
                let [rows, cols] = *shape else {
                    return Err(dims_error(shape, self.name(), "exactly 2 dimensions"));
                };
                let gain = match self {
                    Init::Identity(g) => g.gain,
                    _ => 1.0,
                };
                Ok(Plan::Structured(Structured::Eye { gain, rows, cols }))
            }
            Init::Dirac(d) => {
                let (out_channels, in_channels, kernel) = conv_split(shape, opts.layout, "dirac")?;
                if out_channels % d.groups != 0 {
                    return Err(Error::InvalidShape {
                        shape: shape.to_vec(),
                        reason: format!(
                            "dirac: {out_channels} output channels are not divisible by groups = {}",
                            d.groups
                        ),
                    });
                }
                Ok(Plan::Structured(Structured::Dirac {
                    groups: d.groups,
                    out_channels,
                    in_channels,
                    kernel,
                    layout: opts.layout,
                }))
            }
            Init::Sparse(s) => {
                let [_, _] = *shape else {
                    return Err(dims_error(shape, "sparse", "exactly 2 dimensions"));
                };
                let (outputs, inputs, _) = opts.layout.split(shape).unwrap_or((1, 1, &[]));
                // torch: num_zeros = int(math.ceil(sparsity * rows)), in f64.
                let zeros_per_input = (s.sparsity * outputs as f64).ceil() as u64;
                Ok(Plan::Structured(Structured::Sparse {
                    sparsity: s.sparsity,
                    std: s.std,
                    outputs,
                    inputs,
                    zeros_per_input: zeros_per_input.min(outputs),
                    layout: opts.layout,
                }))
            }
            Init::DeltaOrthogonal(g) => {
                let (out_channels, in_channels, kernel) =
                    conv_split(shape, opts.layout, "delta_orthogonal")?;
                if in_channels > out_channels {
                    return Err(Error::InvalidShape {
                        shape: shape.to_vec(),
                        reason: format!(
                            "delta_orthogonal needs in_channels <= out_channels (as JAX), \
                             got {in_channels} > {out_channels}"
                        ),
                    });
                }
                Ok(Plan::Structured(Structured::DeltaOrthogonal {
                    gain: g.gain,
                    out_channels,
                    in_channels,
                    kernel,
                    layout: opts.layout,
                }))
            }
        }
    }
}

fn symmetric_uniform(bound: f64) -> Result<Distribution> {
    let b = bound as f32;
    Ok(Uniform::new(-b, b)?.into())
}

fn centered_normal(std: f64) -> Result<Distribution> {
    Ok(Normal::new(0.0, f32_of("std", std, true)?)?.into())
}

/// JAX's `variance_scaling` body.
fn variance_scaling(
    scale: f64,
    mode: FanMode,
    distribution: ScalingDistribution,
    fans: Fans,
) -> Result<Distribution> {
    let variance = scale / fans.fan(mode);
    match distribution {
        ScalingDistribution::TruncatedNormal => {
            let std = variance.sqrt() / TRUNCATED_NORMAL_STD_CORRECTION;
            Ok(TruncatedNormal::with_std_bounds(0.0, f32_of("std", std, true)?, -2.0, 2.0)?.into())
        }
        ScalingDistribution::UntruncatedNormal => centered_normal(variance.sqrt()),
        ScalingDistribution::Uniform => symmetric_uniform((3.0 * variance).sqrt()),
    }
}

fn lstm_segments(shape: &[u64], forget: f64) -> Result<Plan> {
    let [len] = *shape else {
        return Err(dims_error(
            shape,
            "lstm_forget_bias",
            "exactly 1 dimension [4 * hidden]",
        ));
    };
    if len % 4 != 0 {
        return Err(Error::InvalidShape {
            shape: shape.to_vec(),
            reason: format!(
                "lstm_forget_bias: a gate-stacked bias has 4 * hidden elements (gates i, f, g, o); \
                 {len} is not a multiple of 4"
            ),
        });
    }
    let h = len / 4;
    // PyTorch's nn.LSTM.reset_parameters: U(-1/sqrt(hidden), 1/sqrt(hidden)).
    let other = symmetric_uniform(1.0 / (h as f64).sqrt())?;
    let forget = Distribution::constant(forget as f32)?;
    Ok(Plan::Segments(vec![
        (0..h, other),
        (h..2 * h, forget),
        (2 * h..3 * h, other),
        (3 * h..len, other),
    ]))
}

/// `(out, in, kernel)` of a 3-5-D conv kernel.
fn conv_split(shape: &[u64], layout: Layout, scheme: &str) -> Result<(u64, u64, Vec<u64>)> {
    if !(3..=5).contains(&shape.len()) {
        return Err(dims_error(
            shape,
            scheme,
            "3, 4 or 5 dimensions (a 1-3-D conv kernel)",
        ));
    }
    let (out, inp, kernel) = layout
        .split(shape)
        .ok_or_else(|| dims_error(shape, scheme, "3, 4 or 5 dimensions"))?;
    Ok((out, inp, kernel.to_vec()))
}

fn dims_error(shape: &[u64], scheme: &str, needs: &str) -> Error {
    Error::InvalidShape {
        shape: shape.to_vec(),
        reason: format!("`{scheme}` needs {needs}, got {}", shape.len()),
    }
}

/// How to read a shape when resolving: the layout, the convolution groups
/// and, where the shape does not carry them, explicit fans.
///
/// The default is PyTorch layout, 1 group, fans from the shape.
///
/// ```
/// use weight_init::scheme::{Fans, Layout, ResolveOptions};
/// let opts = ResolveOptions::default()
///     .with_layout(Layout::Jax)
///     .with_groups(2)
///     .with_fans(Fans::new(27, 2304).unwrap());
/// assert_eq!(opts.layout, Layout::Jax);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolveOptions {
    /// Where the channels are in the shape.
    pub layout: Layout,
    /// Convolution groups: divides `fan_out` (see [`Fans::from_shape`]).
    /// Ignored when `fans` is given; `dirac` takes its own `groups`.
    pub groups: u64,
    /// Fans to use instead of the shape's (biases, scalars, or a weight
    /// whose shape does not say them).
    pub fans: Option<Fans>,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        Self {
            layout: Layout::Torch,
            groups: 1,
            fans: None,
        }
    }
}

impl ResolveOptions {
    /// With `layout`.
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }
    /// With `groups` convolution groups.
    pub fn with_groups(mut self, groups: u64) -> Self {
        self.groups = groups;
        self
    }
    /// With explicit fans.
    pub fn with_fans(mut self, fans: Fans) -> Self {
        self.fans = Some(fans);
        self
    }
}

// ---------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------

/// What a backend does to fill a tensor: the output of [`Init::resolve`].
///
/// Element indices are the tensor's row-major flattening, as in the
/// determinism contract.
///
/// ```
/// use weight_init::scheme::{Init, Plan, ResolveOptions};
/// let plan = "lstm_forget_bias".parse::<Init>().unwrap()
///     .resolve(&[4 * 128], &ResolveOptions::default()).unwrap();
/// let Plan::Segments(segments) = plan else { panic!() };
/// assert_eq!(segments[1].0, 128..256); // the forget gate
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Plan {
    /// Every element drawn from (or equal to) one distribution.
    Sample(Distribution),
    /// Element `i` is `values[i]` (class-prior biases).
    Values(Vec<f32>),
    /// Disjoint element ranges that together cover the tensor, in order,
    /// each with its distribution; a random range keeps the tensor's
    /// indices (element `i` is drawn as element `i` of the whole tensor).
    Segments(Vec<(Range<u64>, Distribution)>),
    /// A structured init whose algorithm is not elementwise.
    Structured(Structured),
}

/// A structured init with its validated parameters and the shape facts its
/// algorithm needs.
///
/// ```
/// use weight_init::scheme::{Init, Plan, ResolveOptions, Structured};
/// let plan = "orthogonal(gain=2)".parse::<Init>().unwrap()
///     .resolve(&[64, 32, 3], &ResolveOptions::default()).unwrap();
/// assert_eq!(plan, Plan::Structured(Structured::Orthogonal { gain: 2.0, rows: 64, cols: 96 }));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Structured {
    /// `gain` times a matrix `[rows, cols]` (the tensor's row-major
    /// flattening) with orthonormal rows (`rows <= cols`) or columns.
    /// PyTorch: `rows = shape[0]`; JAX (`column_axis=-1`):
    /// `cols = shape[-1]`.
    Orthogonal {
        /// Scale factor.
        gain: f64,
        /// Rows of the flattened matrix.
        rows: u64,
        /// Columns of the flattened matrix.
        cols: u64,
    },
    /// `gain` on the main diagonal of a 2-D `[rows, cols]` tensor, zero
    /// elsewhere (`eye` has gain 1).
    Eye {
        /// The diagonal value.
        gain: f64,
        /// First dimension.
        rows: u64,
        /// Second dimension.
        cols: u64,
    },
    /// For each group `g` and `i < min(out_channels / groups, in_channels)`,
    /// the weight linking output `g * out_channels / groups + i` to input
    /// `i` is 1 at the kernel's centre (`kernel[d] / 2` in each dimension,
    /// as PyTorch), all else 0.
    Dirac {
        /// Groups of output channels.
        groups: u64,
        /// Output channels.
        out_channels: u64,
        /// Input channels (per group, as stored).
        in_channels: u64,
        /// Spatial kernel dimensions (1 to 3 of them).
        kernel: Vec<u64>,
        /// Where the channels sit in the shape.
        layout: Layout,
    },
    /// For each of the `inputs` (a column of PyTorch's `[out, in]`, a row
    /// of JAX's `[in, out]`), `zeros_per_input` of its `outputs` weights
    /// are zero and the rest `N(0, std²)`.
    Sparse {
        /// The requested fraction of zeros.
        sparsity: f64,
        /// Std of the non-zero weights.
        std: f64,
        /// Output units.
        outputs: u64,
        /// Input units.
        inputs: u64,
        /// `ceil(sparsity * outputs)`, as PyTorch.
        zeros_per_input: u64,
        /// Where the channels sit in the shape.
        layout: Layout,
    },
    /// Zero everywhere except at the kernel's centre (`(kernel[d] - 1) / 2`
    /// in each dimension, as JAX), which holds `gain` times an orthogonal
    /// `in_channels x out_channels` matrix (`in_channels <= out_channels`).
    DeltaOrthogonal {
        /// Scale factor.
        gain: f64,
        /// Output channels.
        out_channels: u64,
        /// Input channels.
        in_channels: u64,
        /// Spatial kernel dimensions (1 to 3 of them).
        kernel: Vec<u64>,
        /// Where the channels sit in the shape.
        layout: Layout,
    },
}

// ---------------------------------------------------------------------------
// Text form
// ---------------------------------------------------------------------------

/// Shortest text that parses back to the same f64: integers without a
/// fraction, the rest in Rust's round-trip notation.
fn fmt_num(x: f64) -> String {
    if x.is_finite() && x == x.trunc() && x.abs() < 1e15 {
        format!("{x}")
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{x:?}")
    }
}

impl fmt::Display for Init {
    /// The canonical text form: the name, then every parameter as a
    /// keyword argument; parses back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        let params = self.params();
        if !params.is_empty() {
            f.write_str("(")?;
            for (i, (k, v)) in params.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k}={v}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

fn choice_error(s: &str, what: &str, valid: &[&str]) -> Error {
    Error::Parse {
        input: s.into(),
        position: 0,
        message: format!("`{s}` is not {what}; expected one of: {}", valid.join(", ")),
    }
}

#[derive(Debug, Clone)]
enum Value<'a> {
    Atom {
        text: &'a str,
        pos: usize,
    },
    List {
        items: Vec<(&'a str, usize)>,
        pos: usize,
    },
}

impl Value<'_> {
    fn pos(&self) -> usize {
        match self {
            Value::Atom { pos, .. } | Value::List { pos, .. } => *pos,
        }
    }
}

struct Arg<'a> {
    key: Option<(&'a str, usize)>,
    value: Value<'a>,
}

/// The parsed call: name, its position, arguments, position of `)` (or the
/// end of the input).
struct Call<'a> {
    name: &'a str,
    name_pos: usize,
    args: Vec<Arg<'a>>,
    close: usize,
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
}

const DELIMITERS: &[u8] = b"()[],=";

impl<'a> Lexer<'a> {
    fn err(&self, pos: usize, message: impl Into<String>) -> Error {
        Error::Parse {
            input: self.input.into(),
            position: pos,
            message: message.into(),
        }
    }
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.pos += 1;
            } else {
                break;
            }
        }
    }
    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    /// A run of characters up to whitespace or a delimiter.
    fn atom(&mut self) -> Option<(&'a str, usize)> {
        self.skip_ws();
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || DELIMITERS.contains(&c) {
                break;
            }
            // Whole UTF-8 characters, so the slice below stays valid.
            self.pos += self.input[self.pos..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
        }
        (self.pos > start).then(|| (&self.input[start..self.pos], start))
    }
    fn found(&self) -> String {
        match self.input[self.pos..].chars().next() {
            Some(c) => format!("found `{c}`"),
            None => "found the end of the input".into(),
        }
    }
    fn value(&mut self) -> Result<Value<'a>> {
        self.skip_ws();
        let pos = self.pos;
        if self.eat(b'[') {
            let mut items = Vec::new();
            loop {
                if self.eat(b']') {
                    break;
                }
                let item = self.atom().ok_or_else(|| {
                    self.err(
                        self.pos,
                        format!("expected a number or `]`, {}", self.found()),
                    )
                })?;
                items.push(item);
                if !self.eat(b',') {
                    if self.eat(b']') {
                        break;
                    }
                    return Err(
                        self.err(self.pos, format!("expected `,` or `]`, {}", self.found()))
                    );
                }
            }
            return Ok(Value::List { items, pos });
        }
        let (text, pos) = self
            .atom()
            .ok_or_else(|| self.err(self.pos, format!("expected a value, {}", self.found())))?;
        Ok(Value::Atom { text, pos })
    }
    fn call(&mut self) -> Result<Call<'a>> {
        let (name, name_pos) = self.atom().ok_or_else(|| {
            self.err(
                self.pos,
                format!("expected a scheme name, {}", self.found()),
            )
        })?;
        if !is_ident(name) {
            return Err(self.err(name_pos, format!("`{name}` is not a scheme name")));
        }
        let mut args = Vec::new();
        let mut close = self.input.len();
        if self.eat(b'(') {
            loop {
                self.skip_ws();
                if self.peek() == Some(b')') {
                    close = self.pos;
                    self.pos += 1;
                    break;
                }
                let value = self.value()?;
                let arg = if self.eat(b'=') {
                    let key = match value {
                        Value::Atom { text, pos } if is_ident(text) => (text, pos),
                        v => return Err(self.err(v.pos(), "expected a parameter name before `=")),
                    };
                    Arg {
                        key: Some(key),
                        value: self.value()?,
                    }
                } else {
                    Arg { key: None, value }
                };
                args.push(arg);
                if !self.eat(b',') {
                    self.skip_ws();
                    if self.peek() == Some(b')') {
                        continue;
                    }
                    return Err(
                        self.err(self.pos, format!("expected `,` or `)`, {}", self.found()))
                    );
                }
            }
        }
        self.skip_ws();
        if self.pos < self.input.len() {
            return Err(self.err(
                self.pos,
                format!("unexpected text after the scheme, {}", self.found()),
            ));
        }
        Ok(Call {
            name,
            name_pos,
            args,
            close,
        })
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The arguments of one call, bound to the scheme's parameter names.
struct Args<'a> {
    input: &'a str,
    scheme: &'a str,
    name_pos: usize,
    close: usize,
    params: &'static [&'static str],
    slots: Vec<Option<Value<'a>>>,
}

impl<'a> Args<'a> {
    fn err(&self, pos: usize, message: impl Into<String>) -> Error {
        Error::Parse {
            input: self.input.into(),
            position: pos,
            message: message.into(),
        }
    }
    fn get(&self, name: &str) -> Option<&Value<'a>> {
        let i = self.params.iter().position(|p| *p == name)?;
        self.slots[i].as_ref()
    }
    /// Where a parameter's value is, or the scheme name when it is absent.
    fn pos_of(&self, name: &str) -> usize {
        self.get(name).map_or(self.name_pos, Value::pos)
    }
    fn atom(&self, name: &str) -> Result<Option<(&'a str, usize)>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Atom { text, pos }) => Ok(Some((text, *pos))),
            Some(Value::List { pos, .. }) => {
                Err(self.err(*pos, format!("`{name}` takes a single value, not a list")))
            }
        }
    }
    fn missing(&self, name: &str) -> Error {
        self.err(
            self.close,
            format!(
                "`{}` needs the argument `{name}` (parameters: {})",
                self.scheme,
                self.params.join(", ")
            ),
        )
    }
    fn number(&self, name: &str, text: &str, pos: usize) -> Result<f64> {
        text.parse::<f64>()
            .map_err(|_| self.err(pos, format!("`{name}` must be a number, found `{text}`")))
    }
    fn f64_or(&self, name: &str, default: f64) -> Result<f64> {
        match self.atom(name)? {
            Some((text, pos)) => self.number(name, text, pos),
            None => Ok(default),
        }
    }
    fn f64_req(&self, name: &str) -> Result<f64> {
        let (text, pos) = self.atom(name)?.ok_or_else(|| self.missing(name))?;
        self.number(name, text, pos)
    }
    /// A number, or a nonlinearity's name standing for its gain.
    fn gain_or(&self, name: &str, default: f64) -> Result<f64> {
        match self.atom(name)? {
            None => Ok(default),
            Some((text, pos)) => text.parse::<f64>().or_else(|_| {
                text.parse::<Nonlinearity>()
                    .map(Nonlinearity::gain)
                    .map_err(|_| {
                        self.err(
                            pos,
                            format!(
                                "`{name}` must be a number or a nonlinearity ({}), found `{text}`",
                                NONLINEARITY_NAMES.join(", ")
                            ),
                        )
                    })
            }),
        }
    }
    fn u64_value(&self, name: &str, text: &str, pos: usize) -> Result<u64> {
        text.parse::<u64>().map_err(|_| {
            self.err(
                pos,
                format!("`{name}` must be a whole number >= 0, found `{text}`"),
            )
        })
    }
    fn u64_or(&self, name: &str, default: u64) -> Result<u64> {
        match self.atom(name)? {
            Some((text, pos)) => self.u64_value(name, text, pos),
            None => Ok(default),
        }
    }
    fn u64_req(&self, name: &str) -> Result<u64> {
        let (text, pos) = self.atom(name)?.ok_or_else(|| self.missing(name))?;
        self.u64_value(name, text, pos)
    }
    fn choice_or<T: FromStr<Err = Error>>(&self, name: &str, default: T) -> Result<T> {
        match self.atom(name)? {
            None => Ok(default),
            Some((text, pos)) => text.parse::<T>().map_err(|e| match e {
                Error::Parse { message, .. } => self.err(pos, message),
                e => e,
            }),
        }
    }
    fn list_req(&self, name: &str) -> Result<Vec<f64>> {
        match self.get(name) {
            None => Err(self.missing(name)),
            Some(Value::Atom { text, pos }) => Ok(vec![self.number(name, text, *pos)?]),
            Some(Value::List { items, .. }) => items
                .iter()
                .map(|(text, pos)| self.number(name, text, *pos))
                .collect(),
        }
    }
    /// A constructor's error, pointed at the argument it names.
    fn locate(&self, e: Error) -> Error {
        let (name, message) = match &e {
            Error::Parse { .. } => return e,
            Error::InvalidParameter { name, .. } | Error::InvalidChoice { name, .. } => {
                (*name, e.to_string())
            }
            _ => ("", e.to_string()),
        };
        self.err(self.pos_of(name), message)
    }
}

type Build = fn(&Args<'_>) -> Result<Init>;

/// One text name: its parameters in positional order and how to build it.
struct Spec {
    name: &'static str,
    params: &'static [&'static str],
    build: Build,
}

const GAIN: &[&str] = &["gain"];
const KAIMING: &[&str] = &["a", "mode", "nonlinearity"];

fn gain(a: &Args<'_>) -> Result<Gain> {
    Gain::new(a.gain_or("gain", 1.0)?)
}

fn kaiming(a: &Args<'_>, default_nl: Nonlinearity) -> Result<Kaiming> {
    Kaiming::new(
        a.f64_or("a", 0.0)?,
        a.choice_or("mode", FanMode::FanIn)?,
        a.choice_or("nonlinearity", default_nl)?,
    )
}

fn jax_truncated(a: &Args<'_>, default_std: f64) -> Result<Init> {
    Ok(Init::JaxTruncatedNormal(JaxTruncatedNormal::new(
        a.f64_or("mean", 0.0)?,
        a.f64_or("std", default_std)?,
        a.f64_or("lower", -2.0)?,
        a.f64_or("upper", 2.0)?,
    )?))
}

const SPECS: &[Spec] = &[
    Spec {
        name: "zeros",
        params: &[],
        build: |_| Ok(Init::Zeros),
    },
    Spec {
        name: "ones",
        params: &[],
        build: |_| Ok(Init::Ones),
    },
    Spec {
        name: "constant",
        params: &["value"],
        build: |a| Ok(Init::Constant(Constant::new(a.f64_req("value")?)?)),
    },
    Spec {
        name: "uniform",
        params: &["low", "high"],
        build: |a| {
            Ok(Init::Uniform(Bounds::new(
                a.f64_or("low", 0.0)?,
                a.f64_or("high", 1.0)?,
            )?))
        },
    },
    Spec {
        name: "normal",
        params: &["mean", "std"],
        build: |a| {
            Ok(Init::Normal(MeanStd::new(
                a.f64_or("mean", 0.0)?,
                a.f64_or("std", 1.0)?,
            )?))
        },
    },
    Spec {
        name: "trunc_normal",
        params: &["mean", "std", "a", "b"],
        build: |a| {
            Ok(Init::TruncNormal(TruncNormal::new(
                a.f64_or("mean", 0.0)?,
                a.f64_or("std", 1.0)?,
                a.f64_or("a", -2.0)?,
                a.f64_or("b", 2.0)?,
            )?))
        },
    },
    Spec {
        name: "jax_truncated_normal",
        params: &["mean", "std", "lower", "upper"],
        build: |a| jax_truncated(a, 0.01),
    },
    Spec {
        name: "xavier_uniform",
        params: GAIN,
        build: |a| Ok(Init::XavierUniform(gain(a)?)),
    },
    Spec {
        name: "xavier_normal",
        params: GAIN,
        build: |a| Ok(Init::XavierNormal(gain(a)?)),
    },
    Spec {
        name: "kaiming_uniform",
        params: KAIMING,
        build: |a| Ok(Init::KaimingUniform(kaiming(a, Nonlinearity::LeakyRelu)?)),
    },
    Spec {
        name: "kaiming_normal",
        params: KAIMING,
        build: |a| Ok(Init::KaimingNormal(kaiming(a, Nonlinearity::LeakyRelu)?)),
    },
    Spec {
        name: "lecun_uniform",
        params: &[],
        build: |_| Ok(Init::LecunUniform),
    },
    Spec {
        name: "lecun_normal_untruncated",
        params: &[],
        build: |_| Ok(Init::LecunNormalUntruncated),
    },
    Spec {
        name: "variance_scaling",
        params: &["scale", "mode", "distribution"],
        build: |a| {
            Ok(Init::VarianceScaling(VarianceScaling::new(
                a.f64_or("scale", 1.0)?,
                a.choice_or("mode", FanMode::FanIn)?,
                a.choice_or("distribution", ScalingDistribution::TruncatedNormal)?,
            )?))
        },
    },
    Spec {
        name: "jax_glorot_normal",
        params: &[],
        build: |_| Ok(Init::JaxGlorotNormal),
    },
    Spec {
        name: "jax_he_normal",
        params: &[],
        build: |_| Ok(Init::JaxHeNormal),
    },
    Spec {
        name: "jax_lecun_normal",
        params: &[],
        build: |_| Ok(Init::JaxLecunNormal),
    },
    Spec {
        name: "torch_default_weight",
        params: &[],
        build: |_| Ok(Init::TorchDefaultWeight),
    },
    Spec {
        name: "torch_default_bias",
        params: &[],
        build: |_| Ok(Init::TorchDefaultBias),
    },
    Spec {
        name: "gpt2_residual",
        params: &["n_layers", "std"],
        build: |a| {
            Ok(Init::Gpt2Residual(Gpt2Residual::new(
                a.u64_req("n_layers")?,
                a.f64_or("std", 0.02)?,
            )?))
        },
    },
    Spec {
        name: "lstm_forget_bias",
        params: &["forget"],
        build: |a| {
            Ok(Init::LstmForgetBias(LstmForgetBias::new(
                a.f64_or("forget", 1.0)?,
            )?))
        },
    },
    Spec {
        name: "class_prior_bias",
        params: &["priors", "activation"],
        build: |a| {
            Ok(Init::ClassPriorBias(ClassPriorBias::new(
                a.list_req("priors")?,
                a.choice_or("activation", PriorActivation::Softmax)?,
            )?))
        },
    },
    Spec {
        name: "orthogonal",
        params: GAIN,
        build: |a| Ok(Init::Orthogonal(gain(a)?)),
    },
    Spec {
        name: "eye",
        params: &[],
        build: |_| Ok(Init::Eye),
    },
    Spec {
        name: "identity",
        params: GAIN,
        build: |a| Ok(Init::Identity(gain(a)?)),
    },
    Spec {
        name: "dirac",
        params: &["groups"],
        build: |a| Ok(Init::Dirac(Dirac::new(a.u64_or("groups", 1)?)?)),
    },
    Spec {
        name: "sparse",
        params: &["sparsity", "std"],
        build: |a| {
            Ok(Init::Sparse(Sparse::new(
                a.f64_req("sparsity")?,
                a.f64_or("std", 0.01)?,
            )?))
        },
    },
    Spec {
        name: "delta_orthogonal",
        params: GAIN,
        build: |a| Ok(Init::DeltaOrthogonal(gain(a)?)),
    },
    // Aliases (SCHEME_ALIASES).
    Spec {
        name: "glorot_uniform",
        params: &[],
        build: |_| Ok(Init::XavierUniform(Gain::default())),
    },
    Spec {
        name: "he_uniform",
        params: &[],
        build: |a| Ok(Init::KaimingUniform(kaiming(a, Nonlinearity::Relu)?)),
    },
    Spec {
        name: "keras_glorot_normal",
        params: &[],
        build: |_| Ok(Init::JaxGlorotNormal),
    },
    Spec {
        name: "keras_he_normal",
        params: &[],
        build: |_| Ok(Init::JaxHeNormal),
    },
    Spec {
        name: "keras_lecun_normal",
        params: &[],
        build: |_| Ok(Init::JaxLecunNormal),
    },
    Spec {
        name: "keras_truncated_normal",
        params: &["mean", "std"],
        build: |a| jax_truncated(a, 0.05),
    },
    Spec {
        name: "torch_linear_weight",
        params: &[],
        build: |_| Ok(Init::TorchDefaultWeight),
    },
    Spec {
        name: "torch_conv_weight",
        params: &[],
        build: |_| Ok(Init::TorchDefaultWeight),
    },
    Spec {
        name: "torch_linear_bias",
        params: &[],
        build: |_| Ok(Init::TorchDefaultBias),
    },
    Spec {
        name: "torch_conv_bias",
        params: &[],
        build: |_| Ok(Init::TorchDefaultBias),
    },
    Spec {
        name: "torch_embedding",
        params: &[],
        build: |_| Ok(Init::Normal(MeanStd::default())),
    },
    Spec {
        name: "torch_norm_weight",
        params: &[],
        build: |_| Ok(Init::Ones),
    },
    Spec {
        name: "torch_norm_bias",
        params: &[],
        build: |_| Ok(Init::Zeros),
    },
    Spec {
        name: "small_normal",
        params: &["std"],
        build: |a| Ok(Init::Normal(MeanStd::new(0.0, a.f64_or("std", 0.02)?)?)),
    },
    Spec {
        name: "relu_bias",
        params: &["value"],
        build: |a| Ok(Init::Constant(Constant::new(a.f64_or("value", 0.01)?)?)),
    },
];

impl FromStr for Init {
    type Err = Error;

    /// Parses the text form: `name`, `name()` or `name(args)`, arguments
    /// positional (in the documented order) then keyword (`key=value`);
    /// values are numbers (`inf` allowed for truncation bounds), names
    /// (`fan_out`, `relu`) or lists (`[0.9, 0.1]`). Whitespace is free.
    ///
    /// Errors are [`Error::Parse`] with the byte position of the bad part:
    /// the unknown name (with the list of valid names), the bad value, the
    /// missing `)`, the out-of-domain argument.
    ///
    /// ```
    /// use weight_init::{scheme::Init, Error};
    /// let init: Init = "uniform(-0.1, 0.1)".parse().unwrap();
    /// assert_eq!(init.to_string(), "uniform(low=-0.1, high=0.1)");
    /// let Err(Error::Parse { position, .. }) = "kaiming_normal(mode=fan_up)".parse::<Init>() else {
    ///     panic!()
    /// };
    /// assert_eq!(position, 20);
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        let mut lexer = Lexer { input: s, pos: 0 };
        let call = lexer.call()?;
        let err = |pos, message: String| Error::Parse {
            input: s.into(),
            position: pos,
            message,
        };
        if let Some((_, why)) = AMBIGUOUS_NAMES.iter().find(|(n, _)| *n == call.name) {
            return Err(err(
                call.name_pos,
                format!("`{}` is ambiguous: {why}", call.name),
            ));
        }
        let Some(spec) = SPECS.iter().find(|spec| spec.name == call.name) else {
            let names: Vec<&str> = SPECS.iter().map(|spec| spec.name).collect();
            return Err(err(
                call.name_pos,
                format!(
                    "unknown scheme `{}`; valid names: {}",
                    call.name,
                    names.join(", ")
                ),
            ));
        };
        let mut slots: Vec<Option<Value<'_>>> = vec![None; spec.params.len()];
        let mut next = 0;
        let mut keyword_seen = false;
        for arg in call.args {
            let (index, pos) = match arg.key {
                None => {
                    if keyword_seen {
                        return Err(err(
                            arg.value.pos(),
                            "a positional argument cannot follow a keyword argument".into(),
                        ));
                    }
                    if next >= spec.params.len() {
                        return Err(err(
                            arg.value.pos(),
                            format!(
                                "`{}` takes {} argument(s){}",
                                spec.name,
                                spec.params.len(),
                                if spec.params.is_empty() {
                                    String::new()
                                } else {
                                    format!(" ({})", spec.params.join(", "))
                                }
                            ),
                        ));
                    }
                    next += 1;
                    (next - 1, arg.value.pos())
                }
                Some((key, pos)) => {
                    keyword_seen = true;
                    let Some(index) = spec.params.iter().position(|p| *p == key) else {
                        return Err(err(
                            pos,
                            format!(
                                "`{}` has no parameter `{key}`; parameters: {}",
                                spec.name,
                                if spec.params.is_empty() {
                                    "none".into()
                                } else {
                                    spec.params.join(", ")
                                }
                            ),
                        ));
                    };
                    (index, pos)
                }
            };
            if slots[index].is_some() {
                return Err(err(pos, format!("`{}` is given twice", spec.params[index])));
            }
            slots[index] = Some(arg.value);
        }
        let args = Args {
            input: s,
            scheme: spec.name,
            name_pos: call.name_pos,
            close: call.close,
            params: spec.params,
            slots,
        };
        (spec.build)(&args).map_err(|e| args.locate(e))
    }
}

// ---------------------------------------------------------------------------
// JSON: infinite bounds as "inf" / "-inf" (JSON has no infinity)
// ---------------------------------------------------------------------------

mod json_f64 {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else if *v < 0.0 {
            s.serialize_str("-inf")
        } else {
            s.serialize_str("nan")
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum NumOrText {
            Num(f64),
            Text(String),
        }
        match NumOrText::deserialize(d)? {
            NumOrText::Num(x) => Ok(x),
            NumOrText::Text(t) => match t.as_str() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                _ => Err(de::Error::custom(format!(
                    "expected a number, \"inf\" or \"-inf\", found \"{t}\""
                ))),
            },
        }
    }
}

/// `v` as the f32 the samplers take, or [`Error::InvalidParameter`] with
/// the user's own value (not its f32 rounding) where rounding changes its
/// meaning: a finite value past f32's range, or (`nonzero`) a positive
/// value that rounds to 0.
fn f32_of(name: &'static str, v: f64, nonzero: bool) -> Result<f32> {
    let x = v as f32;
    if v.is_finite() && x.is_infinite() {
        return Err(Error::InvalidParameter {
            name,
            value: v,
            reason: "lies outside f32's range (samples are computed in f32)",
        });
    }
    if nonzero && v != 0.0 && x == 0.0 {
        return Err(Error::InvalidParameter {
            name,
            value: v,
            reason: "rounds to 0 in f32 (samples are computed in f32; the smallest positive \
                     f32 is about 1.4e-45)",
        });
    }
    Ok(x)
}
