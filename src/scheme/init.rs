//! [`Init`]: the scheme enum, its name (from the scheme table), its checks
//! and the values of its canonical text form.

#[cfg(feature = "serde")]
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Result;

use super::table::{self as t, Scheme};
/// What [`Init`] needs of a scheme's parameters.
pub(super) trait Parameters {
    /// The constructor's checks (re-run after deserialization).
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    fn check(&self) -> Result<()>;
    /// The values in the scheme table's parameter order, as the text form
    /// writes them.
    fn values(&self) -> Vec<String>;
}

use super::{
    Bounds, ClassPriorBias, Constant, Dirac, Gain, Gpt2Residual, JaxTruncatedNormal, Kaiming,
    LstmForgetBias, MeanStd, NormalPadded, Sparse, TruncNormal, VarianceScaling,
};

/// An init scheme: every scheme of `torch.nn.init`, JAX's
/// `jax.nn.initializers`, Keras's `keras.initializers`, PyTorch's default
/// layer inits and the practitioners' recipes.
///
/// Three ways to write one, all equivalent:
/// - Rust: `Init::KaimingNormal(Kaiming::new(0.0, FanMode::FanOut, Nonlinearity::Relu)?)`;
/// - text ([`FromStr`](core::str::FromStr), [`Display`](core::fmt::Display)):
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
/// [`Init::resolve`] turns a scheme and a shape into a [`Plan`](super::Plan).
///
/// ```
/// use weight_init::scheme::{FanMode, Init, Kaiming, Nonlinearity};
/// let a: Init = "kaiming_normal(mode=fan_out, nonlinearity=relu)".parse().unwrap();
/// let b = Init::KaimingNormal(Kaiming::new(0.0, FanMode::FanOut, Nonlinearity::Relu).unwrap());
/// assert_eq!(a, b);
/// assert_eq!(a.to_string().parse::<Init>().unwrap(), a);
/// # #[cfg(feature = "serde")] {
/// // With the `serde` feature:
/// let json = serde_json::to_string(&a).unwrap();
/// assert_eq!(json, r#"{"scheme":"kaiming_normal","a":0.0,"mode":"fan_out","nonlinearity":"relu"}"#);
/// assert_eq!(serde_json::from_str::<Init>(&json).unwrap(), a);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(remote = "Self"))]
#[cfg_attr(feature = "serde", serde(tag = "scheme", rename_all = "snake_case"))]
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
    /// `N(mean, std²)` on a 2-D `[rows, dim]` table with row `padding_idx`
    /// zero; the other rows are exactly `normal(mean, std)`'s. An
    /// embedding with a padding token: `nn.Embedding(padding_idx=...)`
    /// after transformers' `_init_weights` (`normal_(weight)`, then
    /// `zeros_(weight[padding_idx])`).
    NormalPadded(NormalPadded),
    /// `N(mean, std²)` conditioned on the **absolute** interval `[a, b]`
    /// (default ±2). `torch.nn.init.trunc_normal_` (and timm's). See
    /// [`TruncNormal`] for PyTorch's ±2-absolute pitfall.
    TruncNormal(TruncNormal),
    /// `N(mean, std²)` conditioned on `[mean + lower·std, mean + upper·std]`
    /// (default ±2 std), no variance correction.
    /// `jax.nn.initializers.truncated_normal(stddev, lower, upper)`,
    /// `keras.initializers.TruncatedNormal(mean, stddev)`.
    JaxTruncatedNormal(JaxTruncatedNormal),
    /// Glorot/Xavier uniform: `U(±gain·sqrt(6 / (fan_in + fan_out)))`
    /// (Glorot and Bengio, AISTATS 2010, eq. 16). Suits tanh and sigmoid
    /// (and linear). `torch.nn.init.xavier_uniform_`;
    /// with gain 1 equals `jax.nn.initializers.glorot_uniform` and
    /// `keras.initializers.GlorotUniform`.
    XavierUniform(Gain),
    /// Glorot/Xavier normal, untruncated:
    /// `N(0, gain²·2 / (fan_in + fan_out))`. Suits tanh and sigmoid.
    /// `torch.nn.init.xavier_normal_`. (JAX/Keras `glorot_normal` is
    /// truncated: [`Init::JaxGlorotNormal`].)
    XavierNormal(Gain),
    /// Kaiming/He uniform: `U(±gain·sqrt(3 / n))` (He et al., "Delving
    /// Deep into Rectifiers", ICCV 2015), `n` the fan `mode` selects, `gain = calculate_gain(nonlinearity, a)`. Suits the ReLU
    /// family. `torch.nn.init.kaiming_uniform_`; with relu and fan_in equals
    /// `jax.nn.initializers.he_uniform`, `keras.initializers.HeUniform`.
    KaimingUniform(Kaiming),
    /// Kaiming/He normal, untruncated: `N(0, gain² / n)`. Suits the ReLU
    /// family. `torch.nn.init.kaiming_normal_`. (JAX/Keras `he_normal` is
    /// truncated: [`Init::JaxHeNormal`].)
    KaimingNormal(Kaiming),
    /// LeCun uniform: `U(±sqrt(3 / fan_in))` (LeCun et al., "Efficient
    /// BackProp", 1998). Suits SELU and linear layers.
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
    /// shape does not carry it, so [`ResolveOptions::with_fans`](super::ResolveOptions::with_fans) is
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

#[cfg(feature = "serde")]
impl Serialize for Init {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        Init::serialize(self, s)
    }
}

#[cfg(feature = "serde")]
impl<'de> Deserialize<'de> for Init {
    /// The derived deserializer fills the parameters' private fields
    /// directly, so the constructors' checks run here.
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let init = Init::deserialize(d)?;
        init.check().map_err(serde::de::Error::custom)?;
        Ok(init)
    }
}

impl Init {
    /// The canonical text name (one of [`SCHEME_NAMES`](super::SCHEME_NAMES)).
    ///
    /// ```
    /// use weight_init::scheme::Init;
    /// assert_eq!("glorot_uniform".parse::<Init>().unwrap().name(), "xavier_uniform");
    /// ```
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.scheme().name
    }

    /// The scheme's entry in the scheme table.
    pub(super) fn scheme(&self) -> &'static Scheme {
        match self {
            Init::Zeros => &t::ZEROS,
            Init::Ones => &t::ONES,
            Init::Constant(_) => &t::CONSTANT,
            Init::Uniform(_) => &t::UNIFORM,
            Init::Normal(_) => &t::NORMAL,
            Init::NormalPadded(_) => &t::NORMAL_PADDED,
            Init::TruncNormal(_) => &t::TRUNC_NORMAL,
            Init::JaxTruncatedNormal(_) => &t::JAX_TRUNCATED_NORMAL,
            Init::XavierUniform(_) => &t::XAVIER_UNIFORM,
            Init::XavierNormal(_) => &t::XAVIER_NORMAL,
            Init::KaimingUniform(_) => &t::KAIMING_UNIFORM,
            Init::KaimingNormal(_) => &t::KAIMING_NORMAL,
            Init::LecunUniform => &t::LECUN_UNIFORM,
            Init::LecunNormalUntruncated => &t::LECUN_NORMAL_UNTRUNCATED,
            Init::VarianceScaling(_) => &t::VARIANCE_SCALING,
            Init::JaxGlorotNormal => &t::JAX_GLOROT_NORMAL,
            Init::JaxHeNormal => &t::JAX_HE_NORMAL,
            Init::JaxLecunNormal => &t::JAX_LECUN_NORMAL,
            Init::TorchDefaultWeight => &t::TORCH_DEFAULT_WEIGHT,
            Init::TorchDefaultBias => &t::TORCH_DEFAULT_BIAS,
            Init::Gpt2Residual(_) => &t::GPT2_RESIDUAL,
            Init::LstmForgetBias(_) => &t::LSTM_FORGET_BIAS,
            Init::ClassPriorBias(_) => &t::CLASS_PRIOR_BIAS,
            Init::Orthogonal(_) => &t::ORTHOGONAL,
            Init::Eye => &t::EYE,
            Init::Identity(_) => &t::IDENTITY,
            Init::Dirac(_) => &t::DIRAC,
            Init::Sparse(_) => &t::SPARSE,
            Init::DeltaOrthogonal(_) => &t::DELTA_ORTHOGONAL,
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
    #[must_use]
    pub fn is_fan_based(&self) -> bool {
        self.scheme().fan_based
    }

    /// The scheme's parameters, if it has any.
    fn parameters(&self) -> Option<&dyn Parameters> {
        let p: &dyn Parameters = match self {
            Init::Constant(p) => p,
            Init::Uniform(p) => p,
            Init::Normal(p) => p,
            Init::NormalPadded(p) => p,
            Init::TruncNormal(p) => p,
            Init::JaxTruncatedNormal(p) => p,
            Init::XavierUniform(p)
            | Init::XavierNormal(p)
            | Init::Orthogonal(p)
            | Init::Identity(p)
            | Init::DeltaOrthogonal(p) => p,
            Init::KaimingUniform(p) | Init::KaimingNormal(p) => p,
            Init::VarianceScaling(p) => p,
            Init::Gpt2Residual(p) => p,
            Init::LstmForgetBias(p) => p,
            Init::ClassPriorBias(p) => p,
            Init::Dirac(p) => p,
            Init::Sparse(p) => p,
            Init::Zeros
            | Init::Ones
            | Init::LecunUniform
            | Init::LecunNormalUntruncated
            | Init::JaxGlorotNormal
            | Init::JaxHeNormal
            | Init::JaxLecunNormal
            | Init::TorchDefaultWeight
            | Init::TorchDefaultBias
            | Init::Eye => return None,
        };
        Some(p)
    }

    /// Re-runs the parameter checks (after deserialization).
    #[cfg(feature = "serde")]
    fn check(&self) -> Result<()> {
        self.parameters().map_or(Ok(()), Parameters::check)
    }

    /// The keyword arguments of the canonical text form, in order: the
    /// names from the scheme table, the values from the parameters.
    pub(super) fn params(&self) -> Vec<(&'static str, String)> {
        let names = self.scheme().params.iter().map(|p| p.name);
        let values = self.parameters().map_or_else(Vec::new, Parameters::values);
        names.zip(values).collect()
    }
}
