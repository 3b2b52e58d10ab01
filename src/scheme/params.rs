//! Scheme parameters: small immutable values with fallible constructors,
//! whose defaults come from the scheme table.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::dist::{check_finite, check_positive};
use crate::error::{Error, Result};

use super::gain::leaky_relu_gain;
use super::table::{self, AMBIGUOUS_DISTRIBUTION};
use super::text::TextValue;
use super::FanMode;
use super::Nonlinearity;

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

/// Softmax class priors must sum to 1 within this absolute tolerance.
///
/// ```
/// use weight_init::Init;
/// // Softmax priors that sum to 1 within the tolerance are accepted; 0.9 is not.
/// assert!("class_prior_bias(priors=[0.25, 0.75])".parse::<Init>().is_ok());
/// assert!("class_prior_bias(priors=[0.25, 0.65])".parse::<Init>().is_err());
/// ```
pub const PRIOR_SUM_TOLERANCE: f64 = 1e-6;

/// The value of `constant(value)`.
///
/// ```
/// use weight_init::scheme::Constant;
/// assert_eq!(Constant::new(0.5).unwrap().value(), 0.5);
/// assert!(Constant::new(f64::NAN).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Constant {
    pub(super) value: f64,
}

parameters! {
    /// A finite constant.
    ///
    /// ```
    /// use weight_init::scheme::Constant;
    /// let p = Constant::new(0.5).unwrap();
    /// assert_eq!(p.value(), 0.5);
    /// assert!(Constant::new(f64::NAN).is_err());
    /// ```
    Constant {
        /// The value.
        ///
        /// ```
        /// use weight_init::scheme::Constant;
        /// let p = Constant::new(0.5).unwrap();
        /// assert_eq!(p.value(), 0.5);
        /// ```
        value: f64,
    }
}

impl Constant {
    pub(super) fn check(&self) -> Result<()> {
        check_finite("value", self.value)
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
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct Gain {
    pub(super) gain: f64,
}

impl Default for Gain {
    /// The defaults of `xavier_uniform` in the scheme table.
    fn default() -> Self {
        const DEFAULT: Gain = Gain {
            gain: table::XAVIER_UNIFORM.num("gain"),
        };
        DEFAULT
    }
}

parameters! {
    /// A gain, finite and > 0.
    ///
    /// ```
    /// use weight_init::scheme::Gain;
    /// let p = Gain::new(2.0).unwrap();
    /// assert_eq!(p.gain(), 2.0);
    /// assert!(Gain::new(0.0).is_err());
    /// ```
    Gain {
        /// The gain.
        ///
        /// ```
        /// use weight_init::scheme::Gain;
        /// let p = Gain::new(2.0).unwrap();
        /// assert_eq!(p.gain(), 2.0);
        /// ```
        gain: f64,
    }
}

impl Gain {
    pub(super) fn check(&self) -> Result<()> {
        check_positive("gain", self.gain)
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
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct Kaiming {
    pub(super) a: f64,
    pub(super) mode: FanMode,
    pub(super) nonlinearity: Nonlinearity,
}

impl Default for Kaiming {
    /// The defaults of `kaiming_uniform` in the scheme table.
    fn default() -> Self {
        const DEFAULT: Kaiming = Kaiming {
            a: table::KAIMING_UNIFORM.num("a"),
            mode: table::KAIMING_UNIFORM.mode("mode"),
            nonlinearity: table::KAIMING_UNIFORM.nonlinearity("nonlinearity"),
        };
        DEFAULT
    }
}

parameters! {
    /// Kaiming parameters; `a` finite, `mode` not `FanAvg` (PyTorch accepts
    /// only fan_in and fan_out).
    ///
    /// ```
    /// use weight_init::scheme::{FanMode, Kaiming, Nonlinearity};
    /// let p = Kaiming::new(0.1, FanMode::FanOut, Nonlinearity::LeakyRelu).unwrap();
    /// assert_eq!((p.a(), p.mode(), p.nonlinearity()), (0.1, FanMode::FanOut, Nonlinearity::LeakyRelu));
    /// assert!(Kaiming::new(0.0, FanMode::FanAvg, Nonlinearity::Relu).is_err());
    /// ```
    Kaiming {
        /// The negative slope.
        ///
        /// ```
        /// use weight_init::scheme::{FanMode, Kaiming, Nonlinearity};
        /// let p = Kaiming::new(0.1, FanMode::FanOut, Nonlinearity::LeakyRelu).unwrap();
        /// assert_eq!(p.a(), 0.1);
        /// ```
        a: f64,
        /// The fan mode.
        ///
        /// ```
        /// use weight_init::scheme::{FanMode, Kaiming, Nonlinearity};
        /// let p = Kaiming::new(0.1, FanMode::FanOut, Nonlinearity::LeakyRelu).unwrap();
        /// assert_eq!(p.mode(), FanMode::FanOut);
        /// ```
        mode: FanMode,
        /// The nonlinearity.
        ///
        /// ```
        /// use weight_init::scheme::{FanMode, Kaiming, Nonlinearity};
        /// let p = Kaiming::new(0.1, FanMode::FanOut, Nonlinearity::LeakyRelu).unwrap();
        /// assert_eq!(p.nonlinearity(), Nonlinearity::LeakyRelu);
        /// ```
        nonlinearity: Nonlinearity,
    }
}

impl Kaiming {
    pub(super) fn check(&self) -> Result<()> {
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
    /// `calculate_gain(nonlinearity, a)`.
    ///
    /// ```
    /// use weight_init::scheme::{FanMode, Kaiming, Nonlinearity};
    /// let k = Kaiming::new(0.0, FanMode::FanIn, Nonlinearity::Relu).unwrap();
    /// assert_eq!(k.gain(), 2f64.sqrt()); // calculate_gain('relu')
    /// ```
    #[must_use]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
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

named!(
    ScalingDistribution,
    "a distribution",
    [
        TruncatedNormal => "truncated_normal",
        UntruncatedNormal => "untruncated_normal",
        Uniform => "uniform",
    ],
    refuse = ambiguous_distribution
);

/// JAX's and tf.keras's `"normal"` differ: refused with what to write.
fn ambiguous_distribution(s: &str) -> Option<Error> {
    (s == AMBIGUOUS_DISTRIBUTION.name).then(|| Error::Parse {
        input: s.into(),
        position: 0,
        message: format!("`{s}` is ambiguous: {}", AMBIGUOUS_DISTRIBUTION.why),
    })
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
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct VarianceScaling {
    pub(super) scale: f64,
    pub(super) mode: FanMode,
    pub(super) distribution: ScalingDistribution,
}

impl Default for VarianceScaling {
    /// The defaults of `variance_scaling` in the scheme table.
    fn default() -> Self {
        const DEFAULT: VarianceScaling = VarianceScaling {
            scale: table::VARIANCE_SCALING.num("scale"),
            mode: table::VARIANCE_SCALING.mode("mode"),
            distribution: table::VARIANCE_SCALING.distribution("distribution"),
        };
        DEFAULT
    }
}

parameters! {
    /// Variance `scale / n`, `n` the fan `mode` selects; `scale` finite and > 0.
    ///
    /// ```
    /// use weight_init::scheme::{FanMode, ScalingDistribution, VarianceScaling};
    /// let p = VarianceScaling::new(2.0, FanMode::FanIn, ScalingDistribution::Uniform).unwrap();
    /// assert_eq!((p.scale(), p.mode(), p.distribution()), (2.0, FanMode::FanIn, ScalingDistribution::Uniform));
    /// assert!(VarianceScaling::new(0.0, FanMode::FanIn, ScalingDistribution::Uniform).is_err());
    /// ```
    VarianceScaling {
        /// The variance scale.
        ///
        /// ```
        /// use weight_init::scheme::{FanMode, ScalingDistribution, VarianceScaling};
        /// let p = VarianceScaling::new(2.0, FanMode::FanIn, ScalingDistribution::Uniform).unwrap();
        /// assert_eq!(p.scale(), 2.0);
        /// ```
        scale: f64,
        /// The fan mode.
        ///
        /// ```
        /// use weight_init::scheme::{FanMode, ScalingDistribution, VarianceScaling};
        /// let p = VarianceScaling::new(2.0, FanMode::FanIn, ScalingDistribution::Uniform).unwrap();
        /// assert_eq!(p.mode(), FanMode::FanIn);
        /// ```
        mode: FanMode,
        /// The distribution.
        ///
        /// ```
        /// use weight_init::scheme::{FanMode, ScalingDistribution, VarianceScaling};
        /// let p = VarianceScaling::new(2.0, FanMode::FanIn, ScalingDistribution::Uniform).unwrap();
        /// assert_eq!(p.distribution(), ScalingDistribution::Uniform);
        /// ```
        distribution: ScalingDistribution,
    }
}

impl VarianceScaling {
    pub(super) fn check(&self) -> Result<()> {
        check_positive("scale", self.scale)
    }
}

#[cfg(feature = "serde")]
fn default_small_std() -> f64 {
    const STD: f64 = table::GPT2_RESIDUAL.num("std");
    STD
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
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Gpt2Residual {
    pub(super) n_layers: u64,
    #[cfg_attr(feature = "serde", serde(default = "default_small_std"))]
    pub(super) std: f64,
}

parameters! {
    /// Residual projections of a model with `n_layers` transformer blocks.
    ///
    /// ```
    /// use weight_init::scheme::Gpt2Residual;
    /// let p = Gpt2Residual::new(12, 0.02).unwrap();
    /// assert_eq!((p.n_layers(), p.std()), (12, 0.02));
    /// assert!(Gpt2Residual::new(0, 0.02).is_err());
    /// ```
    Gpt2Residual {
        /// Number of transformer blocks.
        ///
        /// ```
        /// use weight_init::scheme::Gpt2Residual;
        /// let p = Gpt2Residual::new(12, 0.02).unwrap();
        /// assert_eq!(p.n_layers(), 12);
        /// ```
        n_layers: u64,
        /// The base std (before the `1 / sqrt(2 * n_layers)` factor).
        ///
        /// ```
        /// use weight_init::scheme::Gpt2Residual;
        /// let p = Gpt2Residual::new(12, 0.02).unwrap();
        /// assert_eq!(p.std(), 0.02);
        /// ```
        std: f64,
    }
}

impl Gpt2Residual {
    pub(super) fn check(&self) -> Result<()> {
        if self.n_layers == 0 {
            return Err(Error::InvalidParameter {
                name: "n_layers",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        check_positive("std", self.std)
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
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct LstmForgetBias {
    pub(super) forget: f64,
}

impl Default for LstmForgetBias {
    /// The defaults of `lstm_forget_bias` in the scheme table.
    fn default() -> Self {
        const DEFAULT: LstmForgetBias = LstmForgetBias {
            forget: table::LSTM_FORGET_BIAS.num("forget"),
        };
        DEFAULT
    }
}

parameters! {
    /// Forget-gate bias `forget` (finite).
    ///
    /// ```
    /// use weight_init::scheme::LstmForgetBias;
    /// let p = LstmForgetBias::new(1.0).unwrap();
    /// assert_eq!(p.forget(), 1.0);
    /// assert!(LstmForgetBias::new(f64::INFINITY).is_err());
    /// ```
    LstmForgetBias {
        /// The forget-gate bias.
        ///
        /// ```
        /// use weight_init::scheme::LstmForgetBias;
        /// let p = LstmForgetBias::new(1.0).unwrap();
        /// assert_eq!(p.forget(), 1.0);
        /// ```
        forget: f64,
    }
}

impl LstmForgetBias {
    pub(super) fn check(&self) -> Result<()> {
        check_finite("forget", self.forget)
    }
}

#[cfg(feature = "serde")]
fn default_padded_mean() -> f64 {
    const MEAN: f64 = table::NORMAL_PADDED.num("mean");
    MEAN
}

#[cfg(feature = "serde")]
fn default_padded_std() -> f64 {
    const STD: f64 = table::NORMAL_PADDED.num("std");
    STD
}

/// The parameters of `normal_padded(mean, std, padding_idx)`: an embedding
/// table `[rows, dim]` drawn from `N(mean, std²)` with row `padding_idx`
/// zero, as `nn.Embedding(padding_idx=...)` after transformers'
/// `_init_weights` (`normal_(weight)`, then `zeros_(weight[padding_idx])`).
/// The other rows are bit-identical to `normal(mean, std)` on the same
/// tensor: each element keeps its own index. `mean` and `std` default to
/// 0 and 1 (`nn.Embedding`); `padding_idx` is required and is checked
/// against the shape when resolved.
///
/// ```
/// use weight_init::scheme::NormalPadded;
/// let p = NormalPadded::new(0.0, 0.02, 3).unwrap();
/// assert_eq!(p.padding_idx(), 3);
/// assert!(NormalPadded::new(0.0, 0.0, 3).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct NormalPadded {
    #[cfg_attr(feature = "serde", serde(default = "default_padded_mean"))]
    pub(super) mean: f64,
    #[cfg_attr(feature = "serde", serde(default = "default_padded_std"))]
    pub(super) std: f64,
    pub(super) padding_idx: u64,
}

parameters! {
    /// `N(mean, std²)` (as [`Normal::new`](crate::Normal::new), in f64)
    /// with row `padding_idx` zero.
    ///
    /// ```
    /// use weight_init::scheme::NormalPadded;
    /// let p = NormalPadded::new(0.0, 0.02, 0).unwrap();
    /// assert_eq!((p.mean(), p.std(), p.padding_idx()), (0.0, 0.02, 0));
    /// assert!(NormalPadded::new(f64::NAN, 0.02, 0).is_err());
    /// ```
    NormalPadded {
        /// The mean of the non-padding rows.
        ///
        /// ```
        /// use weight_init::scheme::NormalPadded;
        /// assert_eq!(NormalPadded::new(0.5, 0.02, 1).unwrap().mean(), 0.5);
        /// ```
        mean: f64,
        /// The std of the non-padding rows.
        ///
        /// ```
        /// use weight_init::scheme::NormalPadded;
        /// assert_eq!(NormalPadded::new(0.0, 0.02, 1).unwrap().std(), 0.02);
        /// ```
        std: f64,
        /// The row (dimension 0) set to zero.
        ///
        /// ```
        /// use weight_init::scheme::NormalPadded;
        /// assert_eq!(NormalPadded::new(0.0, 0.02, 7).unwrap().padding_idx(), 7);
        /// ```
        padding_idx: u64,
    }
}

impl NormalPadded {
    pub(super) fn check(&self) -> Result<()> {
        crate::dist::check_mean_std(self.mean, self.std)
    }
}

/// The output activation a class-prior bias is for.
///
/// ```
/// use weight_init::scheme::PriorActivation;
/// assert_eq!("sigmoid".parse::<PriorActivation>().unwrap(), PriorActivation::Sigmoid);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum PriorActivation {
    /// One softmax over the classes: `b_k = ln p_k` (priors sum to 1).
    Softmax,
    /// One sigmoid per class: `b_k = ln(p_k / (1 - p_k))`.
    Sigmoid,
}

impl Default for PriorActivation {
    /// The default of `class_prior_bias` in the scheme table (softmax).
    fn default() -> Self {
        const DEFAULT: PriorActivation = table::CLASS_PRIOR_BIAS.activation("activation");
        DEFAULT
    }
}

named!(
    PriorActivation,
    "an activation",
    [Softmax => "softmax", Sigmoid => "sigmoid"]
);

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
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ClassPriorBias {
    pub(super) priors: Vec<f64>,
    #[cfg_attr(feature = "serde", serde(default))]
    pub(super) activation: PriorActivation,
}

impl super::init::Parameters for ClassPriorBias {
    fn check(&self) -> Result<()> {
        ClassPriorBias::check(self)
    }
    fn values(&self) -> Vec<String> {
        vec![self.priors.text(), self.activation.text()]
    }
}

impl ClassPriorBias {
    /// Biases from class priors.
    ///
    /// ```
    /// use weight_init::scheme::{ClassPriorBias, PriorActivation};
    /// let c = ClassPriorBias::new(vec![0.25, 0.75], PriorActivation::Softmax).unwrap();
    /// assert_eq!(c.biases(), vec![0.25f64.ln(), 0.75f64.ln()]);
    /// assert!(ClassPriorBias::new(vec![], PriorActivation::Softmax).is_err());
    /// ```
    pub fn new(priors: Vec<f64>, activation: PriorActivation) -> Result<Self> {
        let c = Self { priors, activation };
        c.check()?;
        Ok(c)
    }
    pub(super) fn check(&self) -> Result<()> {
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
    ///
    /// ```
    /// use weight_init::scheme::{ClassPriorBias, PriorActivation};
    /// let c = ClassPriorBias::new(vec![0.01], PriorActivation::Sigmoid).unwrap();
    /// assert_eq!(c.priors(), [0.01]);
    /// ```
    #[must_use]
    pub fn priors(&self) -> &[f64] {
        &self.priors
    }
    /// The output activation.
    ///
    /// ```
    /// use weight_init::scheme::{ClassPriorBias, PriorActivation};
    /// let c = ClassPriorBias::new(vec![0.01], PriorActivation::Sigmoid).unwrap();
    /// assert_eq!(c.activation(), PriorActivation::Sigmoid);
    /// ```
    #[must_use]
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
    #[must_use]
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
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct Dirac {
    pub(super) groups: u64,
}

impl Default for Dirac {
    /// The defaults of `dirac` in the scheme table.
    fn default() -> Self {
        const DEFAULT: Dirac = Dirac {
            groups: table::DIRAC.whole("groups"),
        };
        DEFAULT
    }
}

parameters! {
    /// Dirac with `groups` groups.
    ///
    /// ```
    /// use weight_init::scheme::Dirac;
    /// let p = Dirac::new(2).unwrap();
    /// assert_eq!(p.groups(), 2);
    /// assert!(Dirac::new(0).is_err());
    /// ```
    Dirac {
        /// The number of groups.
        ///
        /// ```
        /// use weight_init::scheme::Dirac;
        /// let p = Dirac::new(2).unwrap();
        /// assert_eq!(p.groups(), 2);
        /// ```
        groups: u64,
    }
}

impl Dirac {
    pub(super) fn check(&self) -> Result<()> {
        if self.groups == 0 {
            return Err(Error::InvalidParameter {
                name: "groups",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        Ok(())
    }
}

#[cfg(feature = "serde")]
fn default_sparse_std() -> f64 {
    const STD: f64 = table::SPARSE.num("std");
    STD
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
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Sparse {
    pub(super) sparsity: f64,
    #[cfg_attr(feature = "serde", serde(default = "default_sparse_std"))]
    pub(super) std: f64,
}

parameters! {
    /// Sparse init; `sparsity` in `[0, 1)`, `std` finite and > 0.
    ///
    /// ```
    /// use weight_init::scheme::Sparse;
    /// let p = Sparse::new(0.1, 0.01).unwrap();
    /// assert_eq!((p.sparsity(), p.std()), (0.1, 0.01));
    /// assert!(Sparse::new(1.0, 0.01).is_err());
    /// ```
    Sparse {
        /// The fraction of zeros per input.
        ///
        /// ```
        /// use weight_init::scheme::Sparse;
        /// let p = Sparse::new(0.1, 0.01).unwrap();
        /// assert_eq!(p.sparsity(), 0.1);
        /// ```
        sparsity: f64,
        /// The std of the non-zero weights.
        ///
        /// ```
        /// use weight_init::scheme::Sparse;
        /// let p = Sparse::new(0.1, 0.01).unwrap();
        /// assert_eq!(p.std(), 0.01);
        /// ```
        std: f64,
    }
}

impl Sparse {
    pub(super) fn check(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.sparsity) {
            return Err(Error::InvalidParameter {
                name: "sparsity",
                value: self.sparsity,
                reason: "must lie in [0, 1)",
            });
        }
        check_positive("std", self.std)
    }
}
