//! Layer-sequential unit-variance init (LSUV; Mishkin & Matas 2016, "All
//! you need is a good init", arXiv 1511.06422, Algorithm 1) on the
//! diagnostic's network: the pure parts and the CPU reference; the GPU run
//! is [`crate::gpu::GpuContext::lsuv`].
//!
//! Algorithm 1, as run here: every layer starts from an orthonormal
//! `[width, width]` matrix (`orthogonal`, gain 1, on the layer's stream,
//! computed on the host as every `orthogonal` fill is). Then, layer by
//! layer from the first: forward the batch through the layers already
//! fixed, compute the
//! variance of the layer's **pre-activation output** `z_l = h_{l-1} W_l^T`
//! (the linear layer's output, as the paper measures it), and while
//! `|Var(z_l) - 1| >= tol` and fewer than `max_iter` forward passes were
//! made, scale `W_l` by `1 / sqrt(Var(z_l))` and measure again. The batch
//! is the diagnostic's input `X` (standard normal on
//! [`super::INPUT_STREAM`]).
//!
//! The result is one scale factor per layer applied to the orthogonal
//! start: a pure function of the configuration (seed, sizes, activation)
//! and the options, so the same seed gives the same scales. The variance
//! is the population variance over all `batch * width` entries of the f32
//! matrix `z_l`, in f64; a layer's weights are `f32(w * scale)` of the
//! start's f32 values `w`, the same on the CPU and the GPU.

#[cfg(feature = "serde")]
use serde::Serialize;

use super::{cpu_tensors, matrix_stats, DiagnoseConfig, Tensors};
use crate::error::{Error, Result};
use crate::scheme::{Gain, Init};

/// LSUV's stopping rule: `|Var - 1| < tol`, or `max_iter` forward passes
/// for the layer. The paper's `Tol_var` is 0.1 ([`Self::PAPER_TOL`]).
///
/// ```
/// use weight_init::diagnose::LsuvOptions;
/// let o = LsuvOptions::new(0.02, 5)?;
/// assert_eq!((o.tol(), o.max_iter()), (0.02, 5));
/// assert_eq!(LsuvOptions::default().tol(), LsuvOptions::PAPER_TOL);
/// assert!(LsuvOptions::new(0.0, 5).is_err());
/// assert!(LsuvOptions::new(0.1, 0).is_err());
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct LsuvOptions {
    tol: f64,
    max_iter: usize,
}

impl LsuvOptions {
    /// The paper's tolerance, `Tol_var = 0.1` (Mishkin & Matas 2016,
    /// Section 2).
    ///
    /// ```
    /// assert_eq!(weight_init::diagnose::LsuvOptions::PAPER_TOL, 0.1);
    /// ```
    pub const PAPER_TOL: f64 = 0.1;

    /// The most forward passes a layer may take.
    ///
    /// ```
    /// use weight_init::diagnose::LsuvOptions;
    /// assert!(LsuvOptions::new(0.1, LsuvOptions::MAX_ITER + 1).is_err());
    /// ```
    pub const MAX_ITER: usize = 1000;

    /// `tol` in `(0, 1)`, `max_iter` in `1..=`[`Self::MAX_ITER`];
    /// otherwise [`Error::InvalidParameter`].
    ///
    /// ```
    /// use weight_init::diagnose::LsuvOptions;
    /// assert!(LsuvOptions::new(0.05, 10).is_ok());
    /// assert!(LsuvOptions::new(1.0, 10).is_err());
    /// assert!(LsuvOptions::new(f64::NAN, 10).is_err());
    /// ```
    pub fn new(tol: f64, max_iter: usize) -> Result<Self> {
        if !(tol > 0.0 && tol < 1.0) {
            return Err(Error::InvalidParameter {
                name: "tol",
                value: tol,
                reason: "LSUV's variance tolerance must be in (0, 1)",
            });
        }
        if max_iter == 0 || max_iter > Self::MAX_ITER {
            return Err(Error::InvalidParameter {
                name: "max_iter",
                value: max_iter as f64,
                reason: "LSUV's forward passes per layer must be 1 to 1000",
            });
        }
        Ok(Self { tol, max_iter })
    }

    /// The tolerance on `|Var - 1|`.
    ///
    /// ```
    /// assert_eq!(weight_init::diagnose::LsuvOptions::new(0.2, 3)?.tol(), 0.2);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn tol(&self) -> f64 {
        self.tol
    }

    /// The most forward passes per layer.
    ///
    /// ```
    /// assert_eq!(weight_init::diagnose::LsuvOptions::new(0.2, 3)?.max_iter(), 3);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
}

impl Default for LsuvOptions {
    /// The paper's tolerance 0.1 and at most 10 forward passes per layer.
    fn default() -> Self {
        Self {
            tol: Self::PAPER_TOL,
            max_iter: 10,
        }
    }
}

/// One layer's LSUV outcome.
///
/// ```
/// use weight_init::diagnose::LsuvLayer;
/// let l = LsuvLayer { layer: 1, scale: 1.2, variance: 1.01, iterations: 2, converged: true };
/// assert!(l.converged && (l.variance - 1.0).abs() < 0.1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct LsuvLayer {
    /// Layer number, 1-based.
    pub layer: usize,
    /// The factor applied to the orthogonal start.
    pub scale: f64,
    /// `Var(z_l)` at that scale (the last forward pass).
    pub variance: f64,
    /// Forward passes made (1 when the start already met the tolerance).
    pub iterations: usize,
    /// Whether `|variance - 1| < tol`.
    pub converged: bool,
}

/// LSUV's result: the options and one entry per layer.
///
/// ```
/// # #[cfg(feature = "orthogonal")] {
/// use weight_init::diagnose::{lsuv_reference, Activation, DiagnoseConfig, LsuvOptions};
/// let cfg = DiagnoseConfig::new(4, 32, 64, Activation::Tanh, 1)?;
/// let lsuv = lsuv_reference(&cfg, &LsuvOptions::default())?;
/// assert!(lsuv.layers.iter().all(|l| l.converged));
/// assert_eq!(lsuv.scheme(), "lsuv(tol=0.1, max_iter=10)");
/// # }
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Lsuv {
    /// The stopping rule used.
    pub options: LsuvOptions,
    /// Layers `1..=depth`.
    pub layers: Vec<LsuvLayer>,
}

impl Lsuv {
    /// The name `diagnose` reports the run under:
    /// `lsuv(tol=T, max_iter=N)`.
    ///
    /// ```
    /// use weight_init::diagnose::{Lsuv, LsuvOptions};
    /// let l = Lsuv { options: LsuvOptions::new(0.05, 4)?, layers: vec![] };
    /// assert_eq!(l.scheme(), "lsuv(tol=0.05, max_iter=4)");
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn scheme(&self) -> String {
        format!(
            "lsuv(tol={}, max_iter={})",
            self.options.tol, self.options.max_iter
        )
    }

    /// The network's tensors with LSUV's weights: [`lsuv_start`]'s with
    /// layer `l`'s weights scaled by its factor ([`scale_weights`]); run
    /// [`super::reference`] on them for the diagnostic's statistics.
    /// Errors as [`lsuv_start`], or [`Error::OutputLength`] when the
    /// result has another number of layers than `cfg`.
    ///
    /// ```
    /// # #[cfg(feature = "orthogonal")] {
    /// use weight_init::diagnose::{lsuv_reference, lsuv_start, Activation, DiagnoseConfig, LsuvOptions};
    /// let cfg = DiagnoseConfig::new(2, 16, 32, Activation::Relu, 3)?;
    /// let lsuv = lsuv_reference(&cfg, &LsuvOptions::default())?;
    /// let (start, scaled) = (lsuv_start(&cfg)?, lsuv.tensors(&cfg)?);
    /// let want = (start.weights[1][0] as f64 * lsuv.layers[1].scale) as f32;
    /// assert_eq!(scaled.weights[1][0], want);
    /// # }
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn tensors(&self, cfg: &DiagnoseConfig) -> Result<Tensors> {
        if self.layers.len() != cfg.depth() {
            return Err(Error::OutputLength {
                expected: cfg.depth() as u64,
                got: self.layers.len() as u64,
                unit: "layers",
            });
        }
        let mut t = lsuv_start(cfg)?;
        for (w, l) in t.weights.iter_mut().zip(&self.layers) {
            *w = scale_weights(w, l.scale);
        }
        Ok(t)
    }
}

/// LSUV's starting tensors: the input batch, the output gradient and
/// orthonormal weights (`orthogonal`, gain 1) on every layer's stream,
/// as [`cpu_tensors`] fills them.
///
/// ```
/// # #[cfg(feature = "orthogonal")] {
/// use weight_init::diagnose::{lsuv_start, Activation, DiagnoseConfig};
/// let cfg = DiagnoseConfig::new(1, 8, 4, Activation::Relu, 0)?;
/// let w = &lsuv_start(&cfg)?.weights[0];
/// let row0: f64 = w[..8].iter().map(|&v| (v as f64).powi(2)).sum();
/// assert!((row0 - 1.0).abs() < 1e-5); // unit rows
/// # }
/// # Ok::<(), weight_init::Error>(())
/// ```
pub fn lsuv_start(cfg: &DiagnoseConfig) -> Result<Tensors> {
    cpu_tensors(cfg, &Init::Orthogonal(Gain::new(1.0)?))
}

/// `f32(w * scale)` for every weight, the product in f64: how LSUV's scale
/// is applied, on the CPU and before the GPU's upload alike.
///
/// ```
/// use weight_init::diagnose::scale_weights;
/// assert_eq!(scale_weights(&[1.0, -0.5], 2.0), vec![2.0, -1.0]);
/// ```
pub fn scale_weights(w: &[f32], scale: f64) -> Vec<f32> {
    w.iter().map(|&v| (v as f64 * scale) as f32).collect()
}

/// One layer of Algorithm 1: `variance(scale)` runs the layer's forward
/// pass with its weights scaled by `scale` and returns `Var(z_l)`.
pub(crate) fn fit_layer(
    layer: usize,
    options: &LsuvOptions,
    mut variance: impl FnMut(f64) -> Result<f64>,
) -> Result<LsuvLayer> {
    let mut scale = 1.0f64;
    let mut iterations = 0;
    loop {
        let var = variance(scale)?;
        iterations += 1;
        let converged = (var - 1.0).abs() < options.tol;
        // A layer whose output is constant (variance 0) or overflowed
        // cannot be rescaled to unit variance: report it as it is.
        let stuck = !(var.is_finite() && var > 0.0);
        if converged || stuck || iterations == options.max_iter {
            return Ok(LsuvLayer {
                layer,
                scale,
                variance: var,
                iterations,
                converged,
            });
        }
        scale /= var.sqrt();
    }
}

/// LSUV on the CPU: the reference the GPU run
/// ([`crate::gpu::GpuContext::lsuv`]) is tested against. Each forward pass
/// computes `z_l` as [`super::reference`] does (dot products in f64,
/// stored as f32) and the activation in f64 ([`super::Activation::apply`]).
/// Cost: about `iterations * batch * width^2` multiply-adds per layer on
/// one thread.
///
/// Errors: those of [`lsuv_start`] (the `orthogonal` feature is needed for
/// the start).
///
/// ```
/// # #[cfg(feature = "orthogonal")] {
/// use weight_init::diagnose::{lsuv_reference, Activation, DiagnoseConfig, LsuvOptions};
/// let cfg = DiagnoseConfig::new(6, 32, 64, Activation::Relu, 9)?;
/// let lsuv = lsuv_reference(&cfg, &LsuvOptions::new(0.01, 10)?)?;
/// for l in &lsuv.layers {
///     assert!((l.variance - 1.0).abs() < 0.01, "{l:?}");
/// }
/// # }
/// # Ok::<(), weight_init::Error>(())
/// ```
pub fn lsuv_reference(cfg: &DiagnoseConfig, options: &LsuvOptions) -> Result<Lsuv> {
    let start = lsuv_start(cfg)?;
    let (b, w) = (cfg.batch(), cfg.width());
    let act = cfg.activation();
    let mut h = start.input;
    let mut layers = Vec::with_capacity(cfg.depth());
    for (l, w0) in start.weights.iter().enumerate() {
        let mut z = Vec::new();
        let fitted = fit_layer(l + 1, options, |scale| {
            z = forward_linear(&h, &scale_weights(w0, scale), b, w);
            Ok(matrix_stats(&z, b, w).std.powi(2))
        })?;
        h = z.iter().map(|&v| act.apply(v as f64) as f32).collect();
        layers.push(fitted);
    }
    Ok(Lsuv {
        options: *options,
        layers,
    })
}

/// `x W^T` for `x` `[rows, width]` and `W` `[width, width]`, in f64,
/// stored as f32 (as [`super::reference`]'s forward pass).
fn forward_linear(x: &[f32], wt: &[f32], rows: usize, width: usize) -> Vec<f32> {
    let mut z = vec![0.0f32; rows * width];
    for r in 0..rows {
        let xr = &x[r * width..(r + 1) * width];
        for o in 0..width {
            let wr = &wt[o * width..(o + 1) * width];
            let s: f64 = xr.iter().zip(wr).map(|(&a, &c)| a as f64 * c as f64).sum();
            z[r * width + o] = s as f32;
        }
    }
    z
}
