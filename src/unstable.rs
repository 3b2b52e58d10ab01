//! **Not covered by semver.** Internals exposed for the crate's own tests,
//! benchmarks and tools; anything here may change or disappear in any
//! release, patch releases included.
//!
//! - [`kernel`]: the CPU twin of `shaders/philox.wgsl`, function for
//!   function (the Philox rounds, `ln`, `sincos_turn`, Box–Muller, the
//!   probit polynomials, the truncated-normal transform, f16/bf16 rounding,
//!   the unfused `add`/`sub`/`mul`). Its user-facing parts are public
//!   elsewhere: the generator in [`crate::philox`], the rounding in
//!   [`crate::dtype`].
//! - [`probit_upper_tail`]: the tail inverse CDF composed from the kernel's
//!   pieces, for the accuracy tests.

/// The CPU twin of `shaders/philox.wgsl`: every public function and
/// constant of `src/kernel.rs` (see that file's header).
pub mod kernel {
    pub use crate::kernel::*;
}

use crate::kernel::{probit_tail_asymptotic, probit_tail_poly, tail_radius, TAIL_POLY_MAX_R};

/// `Q⁻¹(exp(-y))` for `y >= ln 2`: the `z >= 0` whose upper tail
/// probability `Q(z) = 1 - Φ(z)` is `exp(-y)`, composed from the kernel's
/// pieces exactly as `kernel::truncated_std_normal` composes them.
///
/// Taking `-ln Q` rather than `Q` keeps deep tails (Q far below f32's range)
/// exact in form. With `r = sqrt(y)`: polynomials in `r` up to `r = 5`
/// (`Q = 1.4e-11`, see `kernel::probit_tail_poly`), beyond that
/// `kernel::probit_tail_asymptotic`.
///
/// ```
/// use weight_init::unstable::probit_upper_tail;
/// // Q(1.959964) = 0.025: the two-sided 95% quantile.
/// let z = probit_upper_tail(-(0.025f32.ln()));
/// assert!((z - 1.959964).abs() < 1e-5);
/// ```
#[inline(always)]
#[must_use]
pub fn probit_upper_tail(y: f32) -> f32 {
    let r = tail_radius(y);
    if r <= TAIL_POLY_MAX_R {
        probit_tail_poly(r)
    } else {
        probit_tail_asymptotic(y)
    }
}
