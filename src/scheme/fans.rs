//! Shapes, layouts and fans: [`Layout`], [`numel`], [`Fans`], [`FanMode`].

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Layout {
    /// `[out, in, *kernel]` (PyTorch).
    #[default]
    Torch,
    /// `[*kernel, in, out]` (JAX, Flax, Keras).
    Jax,
}

named!(Layout, "a layout", [Torch => "torch", Jax => "jax"]);

impl Layout {
    /// `(out, in, kernel)` of a shape with at least 2 dimensions.
    pub(super) fn split(self, shape: &[u64]) -> Option<(u64, u64, &[u64])> {
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
    ///
    /// ```
    /// use weight_init::Fans;
    /// let f = Fans::new(3, 5).unwrap();
    /// assert_eq!((f.fan_in(), f.fan_out()), (3, 5));
    /// assert!(Fans::new(3, 0).is_err());
    /// ```
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
    ///
    /// ```
    /// use weight_init::scheme::{Fans, Layout};
    /// // A 3x3 conv from 16 to 32 channels, PyTorch layout [out, in, kh, kw].
    /// let f = Fans::from_shape(&[32, 16, 3, 3], Layout::Torch, 1).unwrap();
    /// assert_eq!(f.fan_in(), 16 * 9);
    /// ```
    #[must_use]
    pub fn fan_in(&self) -> u64 {
        self.fan_in
    }

    /// Fan-out.
    ///
    /// ```
    /// use weight_init::scheme::{Fans, Layout};
    /// // The same conv in JAX/Flax layout [kh, kw, in, out].
    /// let f = Fans::from_shape(&[3, 3, 16, 32], Layout::Jax, 1).unwrap();
    /// assert_eq!(f.fan_out(), 32 * 9);
    /// ```
    #[must_use]
    pub fn fan_out(&self) -> u64 {
        self.fan_out
    }

    /// The fan a mode selects, as f64; `FanAvg` is `(fan_in + fan_out) / 2`
    /// (JAX/Keras `variance_scaling`).
    ///
    /// ```
    /// use weight_init::{FanMode, Fans};
    /// let f = Fans::new(100, 301).unwrap();
    /// assert_eq!(f.fan(FanMode::FanIn), 100.0);
    /// assert_eq!(f.fan(FanMode::FanAvg), 200.5);
    /// ```
    #[must_use]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum FanMode {
    /// Divide by fan-in.
    FanIn,
    /// Divide by fan-out.
    FanOut,
    /// Divide by `(fan_in + fan_out) / 2`.
    FanAvg,
}

named!(
    FanMode,
    "a fan mode",
    [FanIn => "fan_in", FanOut => "fan_out", FanAvg => "fan_avg"]
);
