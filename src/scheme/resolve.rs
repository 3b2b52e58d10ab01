//! Resolving a scheme for a shape: [`Init::resolve`], [`ResolveOptions`],
//! [`Plan`] and [`Structured`].

use core::ops::Range;

use crate::dist::{Distribution, Normal, TruncatedNormal, Uniform};
use crate::error::{Error, Result};

use super::gain::leaky_relu_gain;
use super::{
    numel, FanMode, Fans, Init, Layout, PriorActivation, ScalingDistribution,
    TRUNCATED_NORMAL_STD_CORRECTION,
};

const SQRT_3: f64 = 1.732_050_807_568_877_2;

impl Init {
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
            Init::NormalPadded(p) => padded_segments(
                shape,
                Normal::new(f32_of("mean", p.mean, false)?, f32_of("std", p.std, true)?)?.into(),
                p.padding_idx,
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
                let std = g.gain * (2.0 / (f.fan_in() as f64 + f.fan_out() as f64)).sqrt();
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
                let std = gain / (f.fan_in() as f64).sqrt();
                sample(symmetric_uniform(SQRT_3 * std)?)
            }
            Init::TorchDefaultBias => {
                let f = self.fans(shape, opts)?;
                sample(symmetric_uniform(1.0 / (f.fan_in() as f64).sqrt())?)
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

/// `normal_padded`: the rows before and after `padding_idx` drawn from
/// `normal` with their own element indices (so they equal `normal`'s
/// values), the padding row constant 0. Empty ranges are left out.
fn padded_segments(shape: &[u64], normal: Distribution, padding_idx: u64) -> Result<Plan> {
    let [rows, cols] = *shape else {
        return Err(dims_error(
            shape,
            "normal_padded",
            "exactly 2 dimensions [rows, dim]",
        ));
    };
    if padding_idx >= rows {
        return Err(Error::InvalidShape {
            shape: shape.to_vec(),
            reason: format!(
                "normal_padded: padding_idx {padding_idx} is not a row of a table of {rows} rows"
            ),
        });
    }
    // numel has checked rows * cols, so these products cannot overflow.
    let (start, end, len) = (padding_idx * cols, (padding_idx + 1) * cols, rows * cols);
    let segments = [
        (0..start, normal),
        (start..end, Distribution::constant(0.0)?),
        (end..len, normal),
    ];
    Ok(Plan::Segments(
        segments
            .into_iter()
            .filter(|(r, _)| !r.is_empty())
            .collect(),
    ))
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
    ///
    /// ```
    /// use weight_init::{Layout, ResolveOptions};
    /// let o = ResolveOptions::default().with_layout(Layout::Jax);
    /// assert_eq!((o.layout, o.groups), (Layout::Jax, 1));
    /// ```
    #[must_use]
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }
    /// With `groups` convolution groups.
    ///
    /// ```
    /// use weight_init::{Init, Plan, ResolveOptions};
    /// // Grouped conv: fan_out = out / groups * receptive (here 8 / 4 * 1 = 2).
    /// let opts = ResolveOptions::default().with_groups(4);
    /// let init: Init = "xavier_uniform".parse().unwrap();
    /// let Plan::Sample(d) = init.resolve(&[8, 2], &opts).unwrap() else { panic!() };
    /// let ungrouped = init.resolve(&[8, 2], &ResolveOptions::default()).unwrap();
    /// assert_ne!(Plan::Sample(d), ungrouped);
    /// ```
    #[must_use]
    pub fn with_groups(mut self, groups: u64) -> Self {
        self.groups = groups;
        self
    }
    /// With explicit fans.
    ///
    /// ```
    /// use weight_init::{Fans, Init, Plan, ResolveOptions};
    /// // A bias has no fans of its own: give the layer's.
    /// let opts = ResolveOptions::default().with_fans(Fans::new(512, 512).unwrap());
    /// let init: Init = "torch_linear_bias".parse().unwrap();
    /// assert!(matches!(init.resolve(&[512], &opts).unwrap(), Plan::Sample(_)));
    /// ```
    #[must_use]
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
