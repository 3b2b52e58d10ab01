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
//! The table below is `docs/SCHEMES.md` of the repository.
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
#![doc = include_str!("../../docs/SCHEMES.md")]

/// `new` (which runs `check`) and one getter per field, for a parameter
/// struct whose fields are all `Copy`.
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
                pub fn $field(&self) -> $t {
                    self.$field
                }
            )+
        }
    };
}

mod dist;
mod fans;
mod gain;
mod init;
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
    ClassPriorBias, Constant, Dirac, Gain, Gpt2Residual, Kaiming, LstmForgetBias, PriorActivation,
    ScalingDistribution, Sparse, VarianceScaling, PRIOR_SUM_TOLERANCE,
    TRUNCATED_NORMAL_STD_CORRECTION,
};
pub use resolve::{Plan, ResolveOptions, Structured};
pub use table::{scheme_tables_markdown, AMBIGUOUS_NAMES, SCHEME_ALIASES, SCHEME_NAMES};
