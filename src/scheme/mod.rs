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
//! # Where things live
//!
//! - `table`: every scheme's name, parameters, defaults and documentation
//!   row, stated once; [`SCHEME_NAMES`], [`SCHEME_ALIASES`],
//!   [`AMBIGUOUS_NAMES`] and [`scheme_tables_markdown`] are derived from it;
//! - `fans`, `gain`: shapes, layouts, fans and gains;
//! - `dist`, `params`: the parameters of each scheme;
//! - `init`: [`Init`]; `resolve`: [`Init::resolve`] and its [`Plan`];
//! - `text`: the text form; `json`: the JSON form's helper.
//!
//! The text below is `docs/SCHEMES.md` of the repository, whose tables are
//! rendered from `table` (`UPDATE_DOCS=1 cargo test --test scheme_docs`).
//!
#![doc = include_str!("../../docs/SCHEMES.md")]

/// `new` (which runs `check`), one getter per field and the `Parameters`
/// impl (checks, text values in field order) for a parameter struct whose
/// fields are all `Copy`.
macro_rules! parameters {
    (
        $(#[$new_doc:meta])*
        $ty:ident {
            $( $(#[$get_doc:meta])* $field:ident: $t:ty, )+
        }
    ) => {
        impl $ty {
            $(#[$new_doc])*
            pub fn new($($field: $t),+) -> Result<Self> {
                let value = Self { $($field),+ };
                value.check()?;
                Ok(value)
            }
            $(
                $(#[$get_doc])*
                #[must_use]
                pub fn $field(&self) -> $t {
                    self.$field
                }
            )+
        }

        impl super::init::Parameters for $ty {
            fn check(&self) -> Result<()> {
                $ty::check(self)
            }
            fn values(&self) -> Vec<String> {
                vec![$(super::text::TextValue::text(&self.$field)),+]
            }
        }
    };
}

/// `name()`, `Display` and `FromStr` (whose error lists every name) for a
/// fieldless enum, from one list of its variants' text names; `refuse`
/// may turn a name away with its own error first.
macro_rules! named {
    (
        $ty:ident, $what:literal,
        [$($variant:ident => $name:literal),+ $(,)?]
        $(, refuse = $refuse:path)?
    ) => {
        impl $ty {
            /// Every text name, in order.
            pub(super) const NAMES: &'static [&'static str] = &[$($name),+];

            /// The text name, which `parse` reads back.
            ///
            /// ```
            #[doc = concat!("use weight_init::scheme::", stringify!($ty), ";")]
            #[doc = concat!("for v in [", $(stringify!($ty), "::", stringify!($variant), ", ",)+ "] {")]
            #[doc = concat!("    assert_eq!(v.name().parse::<", stringify!($ty), ">().unwrap(), v);")]
            #[doc = concat!("    assert_eq!(v.to_string(), v.name());")]
            /// }
            /// ```
            #[must_use]
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }

        impl core::fmt::Display for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl core::str::FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                $(if let Some(e) = $refuse(s) {
                    return Err(e);
                })?
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(super::text::choice_error(s, $what, Self::NAMES)),
                }
            }
        }
    };
}

mod dist;
mod fans;
mod gain;
mod init;
#[cfg(feature = "serde")]
mod json;
mod params;
mod resolve;
mod table;
mod text;

pub use dist::{Bounds, JaxTruncatedNormal, MeanStd, TruncNormal};
pub use fans::{numel, FanMode, Fans, Layout};
pub use gain::{calculate_gain, Nonlinearity, LEAKY_RELU_DEFAULT_SLOPE};
pub use init::Init;
pub use params::{
    ClassPriorBias, Constant, Dirac, Gain, Gpt2Residual, Kaiming, LstmForgetBias, NormalPadded,
    PriorActivation, ScalingDistribution, Sparse, VarianceScaling, PRIOR_SUM_TOLERANCE,
    TRUNCATED_NORMAL_STD_CORRECTION,
};
pub use resolve::{Plan, ResolveOptions, Structured};
pub use table::{scheme_tables_markdown, AMBIGUOUS_NAMES, SCHEME_ALIASES, SCHEME_NAMES};
