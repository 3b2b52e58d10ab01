//! Gains: [`Nonlinearity`] and PyTorch's [`calculate_gain`].

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use crate::dist::check_finite;

/// PyTorch's default negative slope for `leaky_relu` in `calculate_gain`.
///
/// ```
/// use weight_init::scheme::{calculate_gain, Nonlinearity, LEAKY_RELU_DEFAULT_SLOPE};
/// let gain = calculate_gain(Nonlinearity::LeakyRelu, None)?;
/// assert_eq!(gain, (2.0 / (1.0 + LEAKY_RELU_DEFAULT_SLOPE.powi(2))).sqrt());
/// # Ok::<(), weight_init::Error>(())
/// ```
pub const LEAKY_RELU_DEFAULT_SLOPE: f64 = 0.01;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
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
    #[cfg_attr(feature = "serde", serde(rename = "conv_transpose1d"))]
    ConvTranspose1d,
    /// `conv_transpose2d`; gain 1.
    #[cfg_attr(feature = "serde", serde(rename = "conv_transpose2d"))]
    ConvTranspose2d,
    /// `conv_transpose3d`; gain 1.
    #[cfg_attr(feature = "serde", serde(rename = "conv_transpose3d"))]
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
    ///
    /// ```
    /// use weight_init::scheme::Nonlinearity;
    /// assert_eq!(Nonlinearity::ALL[0], Nonlinearity::Linear);
    /// assert!(Nonlinearity::ALL.contains(&Nonlinearity::Selu));
    /// ```
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

    /// The gain with PyTorch's default parameter: `calculate_gain(name)`
    /// (leaky_relu slope 0.01).
    ///
    /// ```
    /// use weight_init::scheme::Nonlinearity;
    /// assert_eq!(Nonlinearity::LeakyRelu.gain(), (2.0f64 / (1.0 + 0.01 * 0.01)).sqrt());
    /// ```
    #[must_use]
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

pub(super) fn leaky_relu_gain(slope: f64) -> f64 {
    (2.0 / (1.0 + slope * slope)).sqrt()
}

named!(
    Nonlinearity,
    "a nonlinearity",
    [
        Linear => "linear",
        Conv1d => "conv1d",
        Conv2d => "conv2d",
        Conv3d => "conv3d",
        ConvTranspose1d => "conv_transpose1d",
        ConvTranspose2d => "conv_transpose2d",
        ConvTranspose3d => "conv_transpose3d",
        Sigmoid => "sigmoid",
        Tanh => "tanh",
        Relu => "relu",
        LeakyRelu => "leaky_relu",
        Selu => "selu",
    ]
);

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
