//! Statistics used by the tests and tools: moments, the exact laws of the
//! crate's distributions (in f64), Kolmogorov–Smirnov tests, and how two
//! backends' values are compared (ULP measures and exactness levels).
//!
//! One implementation of each: the command-line tool (`verify`, `inspect`,
//! the plots) and the tests call these.
//!
//! - sample moments, whole ([`Moments::of`]),
//!   streamed ([`RunningMoments`]) or as sums about a known centre with the
//!   4th moment ([`CentredMoments`]);
//! - the standard normal ([`normal_cdf`], [`normal_sf`], [`ln_sf`] and
//!   inverses);
//! - exact laws ([`cdf`], [`density`], [`exact_moments`], [`mean_std`],
//!   [`rounded_moments`]);
//! - Kolmogorov–Smirnov ([`ks_one_sample`], [`ks_two_sample`]);
//! - ULP measures and exactness ([`scaled_ulp_distance`],
//!   [`ordered_ulp_distance`], [`Exactness`], [`Agreement`]).
//!
//! A fill checked against its exact law, as `verify` does:
//!
//! ```
//! use weight_init::stats::{cdf, exact_moments, ks_one_sample, Moments};
//! use weight_init::{cpu, Distribution, TensorKey, Uniform};
//! let d: Distribution = Uniform::new(-1.0, 1.0).unwrap().into();
//! let mut w = vec![0.0f32; 10_000];
//! cpu::fill_f32(&d, &TensorKey::new(3, 4, 10_000), 0..10_000, &mut w).unwrap();
//! assert!((Moments::of(&w).std - exact_moments(&d).std).abs() < 0.02);
//! assert!(ks_one_sample(&w, |x| cdf(&d, x)).p_value > 1e-4);
//! ```

mod exact;
mod ks;
mod moments;
mod normal;
mod ulp;

pub use exact::{cdf, density, exact_moments, mean_std, rounded_moments, ExactMoments};
pub use ks::{kolmogorov_sf, ks_one_sample, ks_two_sample, KsResult};
pub use moments::{CentredMoments, Moments, RunningMoments, SampleMoments};
pub use normal::{ln_sf, neg_ln_sf_inverse, normal_cdf, normal_sf, two_sided_normal_quantile};
pub use ulp::{ordered_ulp_distance, scaled_ulp_distance, ulp_scale, Agreement, Exactness};
