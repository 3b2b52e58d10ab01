//! Signal propagation through a deep MLP: does the scheme keep activation
//! and gradient scales constant with depth for the chosen activation?
//!
//! The network is the textbook experiment (Glorot & Bengio 2010; He et al.
//! 2015; Klambauer et al. 2017): `depth` fully connected layers of
//! `width` units, **no biases** (equivalently, biases initialized to zero,
//! which is what every scheme's companion bias init does),
//!
//! ```text
//! h_0 = X                       [batch, width], X ~ N(0, 1)
//! z_l = h_{l-1} W_l^T           W_l [width, width], PyTorch Linear layout [out, in]
//! h_l = act(z_l)                l = 1..depth
//! ```
//!
//! and backpropagates a standard-normal output gradient `g_depth ~ N(0, 1)`
//! (the gradient of the loss `sum(g_depth * h_depth)`):
//!
//! ```text
//! delta_l = g_l * act'(z_l)     gradient w.r.t. the pre-activation z_l
//! g_{l-1} = delta_l W_l         gradient w.r.t. the layer's input h_{l-1}
//! ```
//!
//! Every random tensor comes from the crate's own generator under one seed:
//! `X` on stream [`INPUT_STREAM`], `g_depth` on stream
//! [`OUTPUT_GRAD_STREAM`], and `W_l` is the scheme resolved for the shape
//! `[width, width]` ([`Init::resolve`], PyTorch layout, so
//! `fan_in = fan_out = width`) on stream `l`. Every scheme therefore sees the
//! same input, the same output gradient and, for schemes that differ only by
//! scale, the same weight directions.
//!
//! The GPU runs it ([`crate::gpu::GpuContext::diagnose`], in the `gpu`
//! submodule, on top of the backend: its kernels are a table of its own,
//! [`SHADERS`], built by the backend's engine); this module holds the pure
//! parts: the activations, the configuration, the per-layer statistics, and
//! a CPU reference of the same forward and backward pass ([`reference()`])
//! that the tests compare the GPU with.
//!
//! ```
//! use weight_init::diagnose::{reference, cpu_tensors, Activation, DiagnoseConfig};
//! use weight_init::Init;
//! let cfg = DiagnoseConfig::new(8, 64, 32, Activation::Relu, 7)?;
//! let init: Init = "kaiming_normal(nonlinearity=relu)".parse()?;
//! let (layers, _) = reference(&cfg, &cpu_tensors(&cfg, &init)?)?;
//! let ratio = layers[7].act_std / layers[0].act_std;
//! assert!(ratio > 0.3 && ratio < 3.0, "{ratio}");
//! # Ok::<(), weight_init::Error>(())
//! ```

use std::str::FromStr;

mod gpu;
mod lsuv;

pub use gpu::SHADERS;
pub use lsuv::{lsuv_reference, lsuv_start, scale_weights, Lsuv, LsuvLayer, LsuvOptions};

#[cfg(feature = "serde")]
use serde::Serialize;

use crate::cpu;
use crate::dist::{Distribution, Normal};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::philox::TensorKey;
use crate::scheme::{Init, Plan, ResolveOptions};
use crate::structured::fill_structured_cpu;

/// Stream of the input batch `X` (layer 0).
///
/// ```
/// use weight_init::diagnose::{Activation, DiagnoseConfig, INPUT_STREAM};
/// let cfg = DiagnoseConfig::new(2, 4, 3, Activation::Relu, 9)?;
/// assert_eq!(cfg.input_key().stream, INPUT_STREAM);
/// assert_eq!(INPUT_STREAM, 0);
/// # Ok::<(), weight_init::Error>(())
/// ```
pub const INPUT_STREAM: u64 = 0;

/// Stream of the output gradient `g_depth`: no layer's stream (layer `l`
/// uses stream `l`, and `depth` is far below `u64::MAX`).
///
/// ```
/// use weight_init::diagnose::{Activation, DiagnoseConfig, OUTPUT_GRAD_STREAM};
/// let cfg = DiagnoseConfig::new(2, 4, 3, Activation::Relu, 9)?;
/// assert_eq!(cfg.output_grad_key().stream, OUTPUT_GRAD_STREAM);
/// assert_ne!(DiagnoseConfig::weight_stream(cfg.depth()), OUTPUT_GRAD_STREAM);
/// # Ok::<(), weight_init::Error>(())
/// ```
pub const OUTPUT_GRAD_STREAM: u64 = u64::MAX;

/// Negative slope of `leaky_relu`: PyTorch's default
/// (`torch.nn.LeakyReLU(negative_slope=0.01)`), the one
/// [`calculate_gain`](crate::scheme::calculate_gain) assumes too.
pub use crate::scheme::LEAKY_RELU_DEFAULT_SLOPE as LEAKY_RELU_SLOPE;

/// SELU's `alpha` (Klambauer et al. 2017, eq. 2; `torch.nn.SELU`).
///
/// ```
/// use weight_init::diagnose::{Activation, SELU_ALPHA, SELU_LAMBDA};
/// // SELU saturates at -lambda * alpha for very negative inputs.
/// let low = Activation::Selu.apply(-50.0);
/// assert!((low + SELU_LAMBDA * SELU_ALPHA).abs() < 1e-12);
/// ```
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_284_817_042_991_671_7;

/// SELU's `lambda` (scale) (Klambauer et al. 2017, eq. 2; `torch.nn.SELU`).
///
/// ```
/// use weight_init::diagnose::{Activation, SELU_LAMBDA};
/// assert_eq!(Activation::Selu.apply(2.0), SELU_LAMBDA * 2.0);
/// assert_eq!(Activation::Selu.derivative(1.0), SELU_LAMBDA);
/// ```
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_493_419_334_985_294_6;

/// The activations the diagnostic runs.
///
/// ```
/// use weight_init::diagnose::Activation;
/// let a: Activation = "leaky_relu".parse()?;
/// assert_eq!(a, Activation::LeakyRelu);
/// assert_eq!(a.apply(-2.0), -0.02);
/// assert!("swish".parse::<Activation>().is_err());
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Activation {
    /// Identity.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x > 0`, else [`LEAKY_RELU_SLOPE`]` * x`.
    LeakyRelu,
    /// `tanh(x)`.
    Tanh,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `lambda * x` for `x > 0`, else `lambda * alpha * (exp(x) - 1)`
    /// ([`SELU_LAMBDA`], [`SELU_ALPHA`]).
    Selu,
    /// The exact-erf GELU of PyTorch's default `nn.GELU()`:
    /// `x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2))` (Hendrycks & Gimpel
    /// 2016), with `erf` evaluated by [`erf_as`] on the CPU and the GPU alike.
    Gelu,
}

/// The names [`Activation`] parses, in order.
///
/// ```
/// use weight_init::diagnose::{Activation, ACTIVATION_NAMES};
/// let names: Vec<&str> = Activation::ALL.iter().map(|a| a.name()).collect();
/// assert_eq!(names.join(", "), ACTIVATION_NAMES);
/// ```
pub const ACTIVATION_NAMES: &str = "linear, relu, leaky_relu, tanh, sigmoid, selu, gelu";

impl Activation {
    /// Every activation.
    ///
    /// ```
    /// use weight_init::diagnose::Activation;
    /// assert_eq!(Activation::ALL.len(), 7);
    /// for a in Activation::ALL {
    ///     assert_eq!(a.name().parse::<Activation>()?, a);
    /// }
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub const ALL: [Activation; 7] = [
        Activation::Linear,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Selu,
        Activation::Gelu,
    ];

    /// The text name (`leaky_relu`, ...), as parsed.
    ///
    /// ```
    /// use weight_init::diagnose::Activation;
    /// assert_eq!(Activation::LeakyRelu.name(), "leaky_relu");
    /// assert_eq!(Activation::Gelu.to_string(), Activation::Gelu.name());
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Selu => "selu",
            Activation::Gelu => "gelu",
        }
    }

    /// The code `shaders/activation.wgsl` switches on.
    pub(crate) fn code(self) -> u32 {
        self as u32
    }

    /// `act(x)` in f64.
    ///
    /// ```
    /// use weight_init::diagnose::Activation;
    /// assert_eq!(Activation::Relu.apply(-1.0), 0.0);
    /// assert!((Activation::Gelu.apply(1.0) - 0.841_344_746).abs() < 1e-6);
    /// ```
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Activation::Linear => x,
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu => {
                if x > 0.0 {
                    x
                } else {
                    LEAKY_RELU_SLOPE * x
                }
            }
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Selu => {
                if x > 0.0 {
                    SELU_LAMBDA * x
                } else {
                    SELU_LAMBDA * SELU_ALPHA * x.exp_m1()
                }
            }
            Activation::Gelu => x * phi_as(x),
        }
    }

    /// `act'(x)` in f64. At the kink of relu and leaky_relu (`x = 0`) it
    /// takes the left derivative, as PyTorch's autograd does (0 and the
    /// slope).
    ///
    /// ```
    /// use weight_init::diagnose::Activation;
    /// assert_eq!(Activation::Relu.derivative(0.0), 0.0);
    /// assert_eq!(Activation::Tanh.derivative(0.0), 1.0);
    /// ```
    pub fn derivative(self, x: f64) -> f64 {
        match self {
            Activation::Linear => 1.0,
            Activation::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu => {
                if x > 0.0 {
                    1.0
                } else {
                    LEAKY_RELU_SLOPE
                }
            }
            Activation::Tanh => {
                let t = x.tanh();
                1.0 - t * t
            }
            Activation::Sigmoid => {
                let s = 1.0 / (1.0 + (-x).exp());
                s * (1.0 - s)
            }
            Activation::Selu => {
                if x > 0.0 {
                    SELU_LAMBDA
                } else {
                    SELU_LAMBDA * SELU_ALPHA * x.exp()
                }
            }
            Activation::Gelu => {
                phi_as(x) + x * (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
            }
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        Activation::ALL
            .into_iter()
            .find(|a| a.name() == t)
            .ok_or_else(|| Error::InvalidChoice {
                name: "activation",
                value: s.to_string(),
                reason: "expected one of linear, relu, leaky_relu, tanh, sigmoid, selu, gelu",
            })
    }
}

/// `erf(x)` by Abramowitz & Stegun 7.1.26 (absolute error at most
/// 1.5e-7), the formula `shaders/activation.wgsl` evaluates too (WGSL has
/// no `erf`), so that GELU means the same function on both sides.
///
/// ```
/// use weight_init::diagnose::erf_as;
/// assert!((erf_as(0.5) - 0.520_499_877_8).abs() < 1.5e-7);
/// assert_eq!(erf_as(-1.0), -erf_as(1.0));
/// ```
pub fn erf_as(x: f64) -> f64 {
    const P: f64 = 0.327_591_1;
    const A: [f64; 5] = [
        0.254_829_592,
        -0.284_496_736,
        1.421_413_741,
        -1.453_152_027,
        1.061_405_429,
    ];
    let ax = x.abs();
    let t = 1.0 / (1.0 + P * ax);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let y = 1.0 - poly * (-ax * ax).exp();
    y.copysign(x)
}

/// The standard normal CDF through [`erf_as`].
fn phi_as(x: f64) -> f64 {
    0.5 * (1.0 + erf_as(x * std::f64::consts::FRAC_1_SQRT_2))
}

/// The network and batch: checked once, so the runs need not check again.
///
/// ```
/// use weight_init::diagnose::{Activation, DiagnoseConfig};
/// let cfg = DiagnoseConfig::new(50, 512, 256, Activation::Tanh, 0)?;
/// assert_eq!(cfg.depth(), 50);
/// assert!(DiagnoseConfig::new(0, 512, 256, Activation::Tanh, 0).is_err());
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct DiagnoseConfig {
    depth: usize,
    width: usize,
    batch: usize,
    activation: Activation,
    seed: u64,
    backward: bool,
}

impl DiagnoseConfig {
    /// The most layers a run may have.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let too_deep = DiagnoseConfig::MAX_DEPTH + 1;
    /// assert!(DiagnoseConfig::new(too_deep, 1, 1, Activation::Linear, 0).is_err());
    /// assert!(DiagnoseConfig::new(DiagnoseConfig::MAX_DEPTH, 1, 1, Activation::Linear, 0).is_ok());
    /// ```
    pub const MAX_DEPTH: usize = 100_000;

    /// The most f32 values a run may hold (16 GiB): the weights of every
    /// layer and, for the CPU reference, every layer's matrices.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// assert_eq!(DiagnoseConfig::MAX_ELEMENTS, 1 << 32);
    /// // 4 layers of 2^15 x 2^15 weights pass 2^32 values: refused, nothing allocated.
    /// assert!(DiagnoseConfig::new(4, 1 << 15, 1, Activation::Relu, 0).is_err());
    /// assert!(DiagnoseConfig::new(3, 1 << 15, 1, Activation::Relu, 0).is_ok());
    /// ```
    pub const MAX_ELEMENTS: u64 = 1 << 32;

    /// `depth` layers of `width` units, a batch of `batch` rows, `seed` for
    /// every random tensor. Errors with [`Error::InvalidParameter`] when a
    /// size is 0, when `batch * width` or `width * width` elements
    /// overflow `u32` indices (which the kernels use; the GPU's binding
    /// limit is checked by the GPU run), when `depth` passes
    /// [`Self::MAX_DEPTH`], or when the run would hold more than
    /// [`Self::MAX_ELEMENTS`] f32 values (`depth * (width^2 + 3 * batch *
    /// width) + 2 * batch * width`: the weights and, for the CPU
    /// reference, every layer's matrices). Both are checked before any
    /// memory is taken.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(3, 16, 8, Activation::Gelu, 42)?;
    /// assert_eq!((cfg.depth(), cfg.width(), cfg.batch()), (3, 16, 8));
    /// assert!(cfg.backward()); // backward pass on by default
    /// assert!(DiagnoseConfig::new(3, 16, 0, Activation::Gelu, 42).is_err());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn new(
        depth: usize,
        width: usize,
        batch: usize,
        activation: Activation,
        seed: u64,
    ) -> Result<Self> {
        for (name, v) in [("depth", depth), ("width", width), ("batch", batch)] {
            if v == 0 {
                return Err(Error::InvalidParameter {
                    name,
                    value: 0.0,
                    reason: "must be > 0",
                });
            }
        }
        let fits = |a: usize, b: usize| a.checked_mul(b).is_some_and(|n| n <= u32::MAX as usize);
        if !fits(batch, width) {
            return Err(Error::InvalidParameter {
                name: "batch",
                value: batch as f64,
                reason: "batch * width must be below 2^32 elements",
            });
        }
        if !fits(width, width) {
            return Err(Error::InvalidParameter {
                name: "width",
                value: width as f64,
                reason: "width * width must be below 2^32 elements",
            });
        }
        if depth > Self::MAX_DEPTH {
            return Err(Error::InvalidParameter {
                name: "depth",
                value: depth as f64,
                reason: "must be at most DiagnoseConfig::MAX_DEPTH (100000 layers)",
            });
        }
        let held = (width as u64)
            .checked_mul(width as u64)
            .and_then(|ww| {
                ww.checked_add(3u64.checked_mul(batch as u64)?.checked_mul(width as u64)?)
            })
            .and_then(|per| per.checked_mul(depth as u64))
            .and_then(|t| t.checked_add(2 * batch as u64 * width as u64));
        if held.is_none_or(|n| n > Self::MAX_ELEMENTS) {
            return Err(Error::InvalidParameter {
                name: "depth",
                value: depth as f64,
                reason:
                    "depth * (width^2 + 3 * batch * width) + 2 * batch * width must be at most \
                         DiagnoseConfig::MAX_ELEMENTS (2^32 f32 values, 16 GiB)",
            });
        }
        if depth as u64 >= OUTPUT_GRAD_STREAM {
            return Err(Error::InvalidParameter {
                name: "depth",
                value: depth as f64,
                reason: "too deep",
            });
        }
        Ok(Self {
            depth,
            width,
            batch,
            activation,
            seed,
            backward: true,
        })
    }

    /// The same run without the backward pass (half the work): the
    /// gradient statistics are then `None`.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(4, 8, 2, Activation::Relu, 0)?.forward_only();
    /// assert!(!cfg.backward());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn forward_only(self) -> Self {
        Self {
            backward: false,
            ..self
        }
    }

    /// Whether the run backpropagates the output gradient.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(2, 4, 2, Activation::Relu, 0)?;
    /// assert!(cfg.backward());
    /// assert!(!cfg.forward_only().backward());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn backward(&self) -> bool {
        self.backward
    }

    /// Number of layers.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(5, 32, 4, Activation::Tanh, 7)?;
    /// assert_eq!(cfg.depth(), 5);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Units per layer (and input features).
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(5, 32, 4, Activation::Tanh, 7)?;
    /// assert_eq!(cfg.width(), 32);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn width(&self) -> usize {
        self.width
    }

    /// Rows in the batch.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(5, 32, 4, Activation::Tanh, 7)?;
    /// assert_eq!(cfg.batch(), 4);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The activation after every layer.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(5, 32, 4, Activation::Tanh, 7)?;
    /// assert_eq!(cfg.activation(), Activation::Tanh);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The generator seed.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(5, 32, 4, Activation::Tanh, 7)?;
    /// assert_eq!(cfg.seed(), 7);
    /// assert_eq!(cfg.weight_key(1).seed, 7);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The stream of layer `l`'s weights (1-based): `l`.
    ///
    /// ```
    /// use weight_init::diagnose::DiagnoseConfig;
    /// assert_eq!(DiagnoseConfig::weight_stream(1), 1);
    /// assert_eq!(DiagnoseConfig::weight_stream(12), 12);
    /// ```
    pub fn weight_stream(layer: usize) -> u64 {
        layer as u64
    }

    /// Elements of one activation or gradient matrix, `batch * width`.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(5, 32, 4, Activation::Tanh, 7)?;
    /// assert_eq!(cfg.activation_numel(), 4 * 32);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn activation_numel(&self) -> u64 {
        (self.batch * self.width) as u64
    }

    /// Elements of one weight matrix, `width * width`.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(5, 32, 4, Activation::Tanh, 7)?;
    /// assert_eq!(cfg.weight_numel(), 32 * 32);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn weight_numel(&self) -> u64 {
        (self.width * self.width) as u64
    }

    /// The key of layer `layer`'s weights (1-based).
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(5, 32, 4, Activation::Tanh, 7)?;
    /// let key = cfg.weight_key(3);
    /// assert_eq!((key.seed, key.stream, key.numel), (7, 3, 32 * 32));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn weight_key(&self, layer: usize) -> TensorKey {
        TensorKey::new(self.seed, Self::weight_stream(layer), self.weight_numel())
    }

    /// The key of the input batch.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(5, 32, 4, Activation::Tanh, 7)?;
    /// let key = cfg.input_key();
    /// assert_eq!((key.seed, key.stream, key.numel), (7, 0, 4 * 32));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn input_key(&self) -> TensorKey {
        TensorKey::new(self.seed, INPUT_STREAM, self.activation_numel())
    }

    /// The key of the output gradient.
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(5, 32, 4, Activation::Tanh, 7)?;
    /// let key = cfg.output_grad_key();
    /// assert_eq!((key.stream, key.numel), (u64::MAX, 4 * 32));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn output_grad_key(&self) -> TensorKey {
        TensorKey::new(self.seed, OUTPUT_GRAD_STREAM, self.activation_numel())
    }

    /// The weight plan of every layer: `init` resolved for
    /// `[width, width]` (PyTorch layout).
    ///
    /// ```
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// use weight_init::{Distribution, Init, Plan};
    /// let cfg = DiagnoseConfig::new(2, 64, 4, Activation::Relu, 0)?;
    /// let init: Init = "kaiming_normal(nonlinearity=relu)".parse()?;
    /// let Plan::Sample(Distribution::Normal(n)) = cfg.weight_plan(&init)? else { panic!() };
    /// assert!((n.std() - (2.0f32 / 64.0).sqrt()).abs() < 1e-6); // gain sqrt 2, fan_in 64
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn weight_plan(&self, init: &Init) -> Result<Plan> {
        let w = self.width as u64;
        init.resolve(&[w, w], &ResolveOptions::default())
    }
}

/// The distribution of the input batch and of the output gradient.
///
/// ```
/// use weight_init::diagnose::standard_normal;
/// use weight_init::{Distribution, Normal};
/// assert_eq!(standard_normal(), Distribution::from(Normal::new(0.0, 1.0)?));
/// # Ok::<(), weight_init::Error>(())
/// ```
pub fn standard_normal() -> Distribution {
    Normal::new(0.0, 1.0)
        .expect("N(0, 1) is a valid normal")
        .into()
}

/// One layer's statistics. Means and standard deviations are over all
/// `batch * width` entries (population std, divided by the count).
///
/// ```
/// use weight_init::diagnose::{cpu_tensors, reference, Activation, DiagnoseConfig};
/// let cfg = DiagnoseConfig::new(3, 8, 4, Activation::Relu, 1)?.forward_only();
/// let (layers, _) = reference(&cfg, &cpu_tensors(&cfg, &"zeros".parse()?)?)?;
/// let last = &layers[2];
/// assert_eq!((last.layer, last.act_std, last.dead_fraction), (3, 0.0, 1.0));
/// assert_eq!(last.grad_std, None); // forward only
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct LayerStats {
    /// Layer number, 1-based.
    pub layer: usize,
    /// Mean of `h_l`.
    pub act_mean: f64,
    /// Standard deviation of `h_l`.
    pub act_std: f64,
    /// Mean of `g_{l-1}`, the gradient flowing out of layer `l` into its
    /// input (`delta_l W_l`; for layer 1 the gradient w.r.t. `X`); `None`
    /// for a forward-only run.
    pub grad_mean: Option<f64>,
    /// Standard deviation of `g_{l-1}` (see [`Self::grad_mean`]).
    pub grad_std: Option<f64>,
    /// Fraction of units whose activation is exactly 0 on every batch row:
    /// dead ReLU units. Computed for every activation; besides relu it is
    /// non-zero only where a whole column is exactly zero (a zeros scheme
    /// with linear/tanh/relu-family/gelu, or underflow).
    pub dead_fraction: f64,
    /// `max over rows and units of |h_l[row, unit] - h_l[row, 0]|`: 0 when
    /// every unit of the layer carries the identical value on every row
    /// (the symmetry problem of constant weights).
    pub max_unit_spread: f64,
}

impl LayerStats {
    /// Whether every unit of the layer is identical ([`Self::max_unit_spread`] is 0).
    ///
    /// ```
    /// use weight_init::diagnose::{cpu_tensors, reference, Activation, DiagnoseConfig};
    /// let cfg = DiagnoseConfig::new(2, 8, 4, Activation::Tanh, 1)?;
    /// let stats = |s: &str| -> weight_init::Result<_> { Ok(reference(&cfg, &cpu_tensors(&cfg, &s.parse()?)?)?.0) };
    /// assert!(stats("constant(0.5)")?[1].identical_units()); // the symmetry problem
    /// assert!(!stats("kaiming_normal")?[1].identical_units());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn identical_units(&self) -> bool {
        self.max_unit_spread == 0.0
    }
}

/// A scheme's run: its text form, the configuration and one entry per layer.
///
/// ```
/// use weight_init::diagnose::{cpu_tensors, reference, Activation, DiagnoseConfig, Report};
/// use weight_init::Init;
/// let (cfg, init) = (DiagnoseConfig::new(2, 4, 3, Activation::Tanh, 1)?, "xavier_uniform".parse::<Init>()?);
/// let (layers, _) = reference(&cfg, &cpu_tensors(&cfg, &init)?)?;
/// let report = Report { scheme: init.to_string(), config: cfg, layers };
/// assert_eq!(report.layers.len(), report.config.depth());
/// assert!(report.scheme.starts_with("xavier_uniform"), "{}", report.scheme);
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Report {
    /// The scheme in the text form ([`Init`]'s `Display`).
    pub scheme: String,
    /// The network and batch.
    pub config: DiagnoseConfig,
    /// Layers `1..=depth`.
    pub layers: Vec<LayerStats>,
}

/// The random tensors of a run, row-major f32.
///
/// ```
/// use weight_init::diagnose::{cpu_tensors, Activation, DiagnoseConfig};
/// let cfg = DiagnoseConfig::new(3, 4, 2, Activation::Relu, 5)?;
/// let t = cpu_tensors(&cfg, &"kaiming_uniform".parse()?)?;
/// assert_eq!((t.input.len(), t.output_grad.len()), (2 * 4, 2 * 4));
/// assert_eq!(t.weights.len(), 3);
/// assert!(t.weights.iter().all(|w| w.len() == 4 * 4));
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Tensors {
    /// `X`, `[batch, width]`.
    pub input: Vec<f32>,
    /// `W_1..W_depth`, each `[width, width]` (`[out, in]`).
    pub weights: Vec<Vec<f32>>,
    /// `g_depth`, `[batch, width]`.
    pub output_grad: Vec<f32>,
}

/// Everything a run computes, row-major f32, for tests on small sizes.
///
/// ```
/// use weight_init::diagnose::{cpu_tensors, reference, Activation, DiagnoseConfig};
/// let cfg = DiagnoseConfig::new(3, 4, 2, Activation::Relu, 5)?;
/// let (_, trace) = reference(&cfg, &cpu_tensors(&cfg, &"kaiming_normal".parse()?)?)?;
/// assert_eq!((trace.activations.len(), trace.gradients.len()), (3, 3));
/// assert!(trace.activations[0].iter().all(|&h| h >= 0.0)); // relu
/// let fwd = cfg.forward_only();
/// assert!(reference(&fwd, &cpu_tensors(&fwd, &"kaiming_normal".parse()?)?)?.1.gradients.is_empty());
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// `h_1..h_depth`, each `[batch, width]`.
    pub activations: Vec<Vec<f32>>,
    /// `g_0..g_{depth-1}`: entry `l - 1` is the gradient out of layer `l`
    /// (empty for a forward-only run).
    pub gradients: Vec<Vec<f32>>,
}

/// The tensors of a run filled by the crate's CPU backend: the same values
/// the GPU run fills, bit for bit (see `docs/CONTRACT.md`).
///
/// ```
/// use weight_init::diagnose::{cpu_tensors, standard_normal, Activation, DiagnoseConfig};
/// use weight_init::cpu;
/// let cfg = DiagnoseConfig::new(2, 4, 2, Activation::Relu, 5)?;
/// let t = cpu_tensors(&cfg, &"kaiming_normal".parse()?)?;
/// let mut x = vec![0.0f32; 8];
/// cpu::fill_f32(&standard_normal(), &cfg.input_key(), 0..8, &mut x)?;
/// assert_eq!(t.input, x); // X: standard normal on the input stream
/// # Ok::<(), weight_init::Error>(())
/// ```
pub fn cpu_tensors(cfg: &DiagnoseConfig, init: &Init) -> Result<Tensors> {
    let plan = cfg.weight_plan(init)?;
    let n = cfg.activation_numel();
    let what = || format!("a [batch, width] matrix of {n} values");
    let mut input = crate::host::try_filled(n, 0.0f32, what)?;
    let key = cfg.input_key();
    cpu::fill_f32(&standard_normal(), &key, 0..key.numel, &mut input)?;
    let mut output_grad = crate::host::try_filled(n, 0.0f32, what)?;
    let key = cfg.output_grad_key();
    cpu::fill_f32(&standard_normal(), &key, 0..key.numel, &mut output_grad)?;
    let weights = (1..=cfg.depth)
        .map(|l| fill_plan_cpu(&plan, &cfg.weight_key(l)))
        .collect::<Result<_>>()?;
    Ok(Tensors {
        input,
        weights,
        output_grad,
    })
}

/// A resolved plan's f32 values on the CPU backend.
fn fill_plan_cpu(plan: &Plan, key: &TensorKey) -> Result<Vec<f32>> {
    let what = || format!("a weight matrix of {} values", key.numel);
    let n = crate::host::to_usize(key.numel, what)?;
    let mut out = crate::host::try_filled(key.numel, 0.0f32, what)?;
    match plan {
        Plan::Sample(d) => cpu::fill_f32(d, key, 0..key.numel, &mut out)?,
        Plan::Segments(segs) => {
            for (r, d) in segs {
                cpu::fill_f32(
                    d,
                    key,
                    r.clone(),
                    &mut out[r.start as usize..r.end as usize],
                )?;
            }
        }
        Plan::Values(v) => {
            if v.len() != n {
                return Err(Error::OutputLength {
                    expected: key.numel,
                    got: v.len() as u64,
                    unit: "elements",
                });
            }
            out.copy_from_slice(v);
        }
        Plan::Structured(s) => {
            let mut bytes = crate::host::try_filled(4 * key.numel, 0u8, what)?;
            fill_structured_cpu(s, DType::F32, key, &mut bytes)?;
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
    }
    Ok(out)
}

/// The CPU reference of the GPU run on `tensors`: the same forward and
/// backward pass, each dot product accumulated in f64 and every stored
/// matrix (`z_l`, `h_l`, `delta_l`, `g_{l-1}`) rounded to f32 as the GPU
/// stores it; activations in f64 ([`Activation::apply`]). Returns the
/// per-layer statistics (computed in f64 from the f32 matrices) and the
/// matrices. Cost is `2 * depth * batch * width^2` multiply-adds on one
/// thread: for small sizes.
///
/// Errors with [`Error::OutputLength`] when a tensor does not have the
/// configuration's size.
///
/// ```
/// use weight_init::diagnose::{cpu_tensors, reference, Activation, DiagnoseConfig};
/// let cfg = DiagnoseConfig::new(2, 4, 2, Activation::Linear, 5)?;
/// let mut t = cpu_tensors(&cfg, &"xavier_normal".parse()?)?;
/// let (layers, _) = reference(&cfg, &t)?;
/// assert_eq!(layers.len(), 2);
/// t.input.pop(); // one value short
/// assert!(reference(&cfg, &t).is_err());
/// # Ok::<(), weight_init::Error>(())
/// ```
pub fn reference(cfg: &DiagnoseConfig, tensors: &Tensors) -> Result<(Vec<LayerStats>, Trace)> {
    let (b, w) = (cfg.batch, cfg.width);
    let check = |len: usize, expected: usize| {
        if len == expected {
            Ok(())
        } else {
            Err(Error::OutputLength {
                expected: expected as u64,
                got: len as u64,
                unit: "elements",
            })
        }
    };
    check(tensors.input.len(), b * w)?;
    check(tensors.output_grad.len(), b * w)?;
    check(tensors.weights.len(), cfg.depth)?;
    for wt in &tensors.weights {
        check(wt.len(), w * w)?;
    }
    let act = cfg.activation;
    let mut zs = Vec::with_capacity(cfg.depth);
    let mut hs: Vec<Vec<f32>> = Vec::with_capacity(cfg.depth);
    for (l, wt) in tensors.weights.iter().enumerate() {
        let prev = if l == 0 { &tensors.input } else { &hs[l - 1] };
        let mut z = vec![0.0f32; b * w];
        for r in 0..b {
            let x = &prev[r * w..(r + 1) * w];
            for o in 0..w {
                let wr = &wt[o * w..(o + 1) * w];
                let s: f64 = x.iter().zip(wr).map(|(&a, &c)| a as f64 * c as f64).sum();
                z[r * w + o] = s as f32;
            }
        }
        hs.push(z.iter().map(|&v| act.apply(v as f64) as f32).collect());
        zs.push(z);
    }
    let mut gs: Vec<Vec<f32>> = Vec::new();
    if cfg.backward {
        gs = vec![Vec::new(); cfg.depth];
    }
    let mut g = tensors.output_grad.clone();
    for l in (0..gs.len()).rev() {
        let delta: Vec<f32> = g
            .iter()
            .zip(&zs[l])
            .map(|(&gv, &zv)| (gv as f64 * act.derivative(zv as f64)) as f32)
            .collect();
        let wt = &tensors.weights[l];
        let mut acc = vec![0.0f64; b * w];
        for r in 0..b {
            let d = &delta[r * w..(r + 1) * w];
            let out = &mut acc[r * w..(r + 1) * w];
            for (o, &dv) in d.iter().enumerate() {
                let wr = &wt[o * w..(o + 1) * w];
                for (a, &c) in out.iter_mut().zip(wr) {
                    *a += dv as f64 * c as f64;
                }
            }
        }
        g = acc.into_iter().map(|v| v as f32).collect();
        gs[l] = g.clone();
    }
    let layers = (0..cfg.depth)
        .map(|l| {
            let h = matrix_stats(&hs[l], b, w);
            let gr = gs.get(l).map(|g| matrix_stats(g, b, w));
            LayerStats::from_matrices(l + 1, h, gr)
        })
        .collect();
    Ok((
        layers,
        Trace {
            activations: hs,
            gradients: gs,
        },
    ))
}

impl LayerStats {
    /// Layer `layer`'s report from the statistics of its activations `h`
    /// and of the gradient `g` flowing into its input (none when forward
    /// only); shared by the GPU run and the CPU reference.
    pub(crate) fn from_matrices(layer: usize, h: MatrixStats, g: Option<MatrixStats>) -> Self {
        LayerStats {
            layer,
            act_mean: h.mean,
            act_std: h.std,
            grad_mean: g.map(|s| s.mean),
            grad_std: g.map(|s| s.std),
            dead_fraction: h.dead_fraction,
            max_unit_spread: h.max_unit_spread,
        }
    }
}

/// Statistics of one `[batch, width]` matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MatrixStats {
    pub mean: f64,
    pub std: f64,
    pub dead_fraction: f64,
    pub max_unit_spread: f64,
}

/// The statistics of a row-major `[rows, cols]` matrix, in f64.
pub(crate) fn matrix_stats(m: &[f32], rows: usize, cols: usize) -> MatrixStats {
    let n = (rows * cols) as f64;
    let mean = m.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = m.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let dead = (0..cols)
        .filter(|&c| (0..rows).all(|r| m[r * cols + c] == 0.0))
        .count();
    let spread = (0..rows)
        .flat_map(|r| {
            let row = &m[r * cols..(r + 1) * cols];
            row.iter().map(move |&v| (v as f64 - row[0] as f64).abs())
        })
        .fold(0.0f64, f64::max);
    MatrixStats {
        mean,
        std: var.sqrt(),
        dead_fraction: dead as f64 / cols as f64,
        max_unit_spread: spread,
    }
}

/// One column's partial statistics as `shaders/layer_stats.wgsl` writes
/// them: the column's mean over the rows, its sum of squared deviations
/// from that mean, the count of non-zero rows, and
/// `max_r |x[r, c] - x[r, 0]|`.
pub(crate) const PARTIAL_WORDS: usize = 4;

/// Combines per-column partials (`cols` groups of [`PARTIAL_WORDS`] f32)
/// into the matrix statistics, in f64: the total variance is the within-
/// column part plus the between-column part (Chan et al. 1979), which keeps
/// a large mean from cancelling the variance.
pub(crate) fn combine_partials(partials: &[f32], rows: usize) -> MatrixStats {
    let cols = partials.len() / PARTIAL_WORDS;
    let col = |c: usize| &partials[c * PARTIAL_WORDS..(c + 1) * PARTIAL_WORDS];
    let mean = (0..cols).map(|c| col(c)[0] as f64).sum::<f64>() / cols as f64;
    let m2: f64 = (0..cols)
        .map(|c| {
            let p = col(c);
            p[1] as f64 + rows as f64 * (p[0] as f64 - mean).powi(2)
        })
        .sum();
    let dead = (0..cols).filter(|&c| col(c)[2] == 0.0).count();
    let spread = (0..cols).map(|c| col(c)[3] as f64).fold(0.0f64, f64::max);
    MatrixStats {
        mean,
        std: (m2 / (rows * cols) as f64).sqrt(),
        dead_fraction: dead as f64 / cols as f64,
        max_unit_spread: spread,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        for a in Activation::ALL {
            for &x in &[-3.0, -0.7, -0.1, 0.2, 0.9, 2.5] {
                let h = 1e-6;
                let fd = (a.apply(x + h) - a.apply(x - h)) / (2.0 * h);
                assert!((fd - a.derivative(x)).abs() < 1e-6, "{a} at {x}");
            }
        }
    }

    #[test]
    fn erf_is_within_its_bound() {
        // erf values from A&S Table 7.1.
        for (x, e) in [
            (0.1, 0.112_462_916),
            (0.5, 0.520_499_878),
            (1.0, 0.842_700_793),
            (2.0, 0.995_322_265),
        ] {
            assert!((erf_as(x) - e).abs() < 1.5e-7 + 1e-9, "{x}");
        }
    }

    #[test]
    fn partials_combine_to_the_direct_statistics() {
        let (rows, cols) = (5, 3);
        let m: Vec<f32> = (0..15)
            .map(|i| ((i * 7) % 11) as f32 * 0.5 + 100.0)
            .collect();
        let mut partials = Vec::new();
        for c in 0..cols {
            let col: Vec<f64> = (0..rows).map(|r| m[r * cols + c] as f64).collect();
            let mean = col.iter().sum::<f64>() / rows as f64;
            let m2 = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
            let nz = col.iter().filter(|&&v| v != 0.0).count();
            let spread = (0..rows)
                .map(|r| (m[r * cols + c] - m[r * cols]).abs())
                .fold(0.0f32, f32::max);
            partials.extend([mean as f32, m2 as f32, nz as f32, spread]);
        }
        let a = combine_partials(&partials, rows);
        let b = matrix_stats(&m, rows, cols);
        assert!((a.mean - b.mean).abs() < 1e-9 * b.mean.abs());
        assert!((a.std - b.std).abs() < 1e-6 * b.std);
        assert_eq!(a.max_unit_spread, b.max_unit_spread);
        assert_eq!(a.dead_fraction, b.dead_fraction);
    }
}
