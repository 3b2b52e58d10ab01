//! The exact laws of the crate's distributions in f64: CDF, density,
//! moments, and the moments of the values a 16-bit dtype stores.

use super::{ln_sf, normal_cdf};
use crate::dist::Distribution;
use crate::dtype::{bf16_bits_to_f32, f16_bits_to_f32, DType};
use crate::sampler::Sampler;
use core::f64::consts::{FRAC_1_SQRT_2, PI};

/// The exact CDF of a distribution at `x`, in f64 (for KS tests).
///
/// Uniform is continuous on `[low, high)`; the truncated normal's CDF uses
/// tail probabilities on the side of the interval, so deep tails keep their
/// accuracy. Constants have a step CDF.
///
/// ```
/// use weight_init::{stats::cdf, Uniform};
/// let u = Uniform::new(0.0, 4.0).unwrap().into();
/// assert_eq!(cdf(&u, 1.0), 0.25);
/// ```
#[must_use]
pub fn cdf(dist: &Distribution, x: f64) -> f64 {
    match dist {
        Distribution::Constant(v) => {
            if x >= *v as f64 {
                1.0
            } else {
                0.0
            }
        }
        Distribution::Uniform(u) => {
            let (l, h) = (u.low() as f64, u.high() as f64);
            ((x - l) / (h - l)).clamp(0.0, 1.0)
        }
        Distribution::Normal(n) => normal_cdf((x - n.mean() as f64) / n.std() as f64),
        Distribution::TruncatedNormal(t) => {
            let (alpha, beta) = t.std_bounds();
            let z = (x - t.mean() as f64) / t.std() as f64;
            if z <= alpha {
                return 0.0;
            }
            if z >= beta {
                return 1.0;
            }
            if alpha >= 0.0 {
                // Upper tail: ratios of Q, computed in log space.
                let (qa, qz, qb) = (ln_sf(alpha), ln_sf(z), ln_sf(beta));
                (-libm::expm1(qz - qa)) / (-libm::expm1(qb - qa))
            } else if beta <= 0.0 {
                // Mirror: P(Z <= z) = Q(-z); F = (Q(-z) - Q(-alpha)) /
                // (Q(-beta) - Q(-alpha)), scaled by Q(-beta) so an infinite
                // alpha (Q = 0) stays finite.
                let (pa, pz, pb) = (ln_sf(-alpha), ln_sf(-z), ln_sf(-beta));
                let a_rel = (pa - pb).exp();
                ((pz - pb).exp() - a_rel) / (1.0 - a_rel)
            } else {
                let (fa, fz, fb) = (normal_cdf(alpha), normal_cdf(z), normal_cdf(beta));
                (fz - fa) / (fb - fa)
            }
        }
    }
}

/// The exact density of `dist` (for plots); `None` for a constant.
///
/// ```
/// use weight_init::{stats::density, Uniform};
/// let pdf = density(&Uniform::new(0.0, 4.0).unwrap().into()).unwrap();
/// assert_eq!((pdf(1.0), pdf(4.0)), (0.25, 0.0));
/// ```
#[must_use]
pub fn density(dist: &Distribution) -> Option<Box<dyn Fn(f64) -> f64>> {
    match *dist {
        Distribution::Uniform(u) => {
            let (l, h) = (u.low() as f64, u.high() as f64);
            Some(Box::new(
                move |x| if x >= l && x < h { 1.0 / (h - l) } else { 0.0 },
            ))
        }
        Distribution::Normal(n) => {
            let (m, s) = (n.mean() as f64, n.std() as f64);
            Some(Box::new(move |x| {
                let z = (x - m) / s;
                (-0.5 * z * z).exp() / ((2.0 * PI).sqrt() * s)
            }))
        }
        Distribution::TruncatedNormal(t) => {
            let (alpha, beta) = t.std_bounds();
            let z = StdTruncated::new(alpha, beta);
            let (m, s) = (t.mean() as f64, t.std() as f64);
            Some(Box::new(move |x| z.pdf((x - m) / s) / s))
        }
        Distribution::Constant(_) => None,
    }
}

/// Mean and standard deviation of a distribution, exactly (in f64): those
/// of [`exact_moments`].
///
/// ```
/// use weight_init::stats::mean_std;
/// use weight_init::{TruncatedNormal, Uniform};
/// let (m, s) = mean_std(&Uniform::new(-1.0, 1.0).unwrap().into());
/// assert!(m.abs() < 1e-12 && (s - 1.0 / 3f64.sqrt()).abs() < 1e-12);
/// let (_, s) = mean_std(&TruncatedNormal::with_std_bounds(0.0, 1.0, -2.0, 2.0).unwrap().into());
/// assert!((s - 0.8796256610342398).abs() < 1e-12);
/// ```
#[must_use]
pub fn mean_std(dist: &Distribution) -> (f64, f64) {
    let e = exact_moments(dist);
    (e.mean, e.std)
}

/// Mean, std and kurtosis (`mu4 / sigma^4`, 3 for a normal) of a
/// distribution: [`exact_moments`] for the continuous law,
/// [`rounded_moments`] for the values a 16-bit dtype stores.
///
/// ```
/// use weight_init::{stats::exact_moments, Uniform};
/// let e = exact_moments(&Uniform::new(0.0, 1.0).unwrap().into());
/// assert_eq!((e.mean, e.kurtosis), (0.5, Some(1.8)));
/// assert!((e.std - 12f64.sqrt().recip()).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ExactMoments {
    /// The mean.
    pub mean: f64,
    /// The standard deviation.
    pub std: f64,
    /// `None` where the closed form is not trustworthy (or there is none):
    /// the caller then uses the sample's own.
    pub kurtosis: Option<f64>,
}

/// Mean, std and kurtosis of the exact, continuous distribution, in f64.
///
/// The truncated normal uses the moments of a standard normal restricted
/// to `[alpha, beta]` (std units), taken about its mean by the recursion
/// of integration by parts, with the mass computed on the side of the
/// interval that keeps its digits, so deep tails stay finite and accurate.
/// The same quantities as `scipy.stats.truncnorm(alpha, beta).stats("mvk")`
/// (whose kurtosis is the excess, 3 less).
///
/// ```
/// use weight_init::{stats::exact_moments, Normal};
/// let e = exact_moments(&Normal::new(1.0, 2.0).unwrap().into());
/// assert_eq!((e.mean, e.std, e.kurtosis), (1.0, 2.0, Some(3.0)));
/// ```
#[must_use]
pub fn exact_moments(dist: &Distribution) -> ExactMoments {
    match dist {
        Distribution::Constant(v) => ExactMoments {
            mean: *v as f64,
            std: 0.0,
            kurtosis: None,
        },
        Distribution::Uniform(u) => {
            let (l, h) = (u.low() as f64, u.high() as f64);
            ExactMoments {
                mean: 0.5 * (l + h),
                std: (h - l) / 12f64.sqrt(),
                kurtosis: Some(1.8),
            }
        }
        Distribution::Normal(n) => ExactMoments {
            mean: n.mean() as f64,
            std: n.std() as f64,
            kurtosis: Some(3.0),
        },
        Distribution::TruncatedNormal(t) => {
            let (alpha, beta) = t.std_bounds();
            let z = StdTruncated::new(alpha, beta);
            let (mu, var, mu4) = z.central_moments();
            let kurt = mu4 / (var * var);
            let (m, s) = (t.mean() as f64, t.std() as f64);
            ExactMoments {
                mean: m + s * mu,
                std: s * var.sqrt(),
                // Deep one-sided tails cancel digits in mu4 (about
                // 8 log10(alpha) of them); an implausible result means the
                // closed form is past its precision.
                kurtosis: (kurt.is_finite() && (1.0..=100.0).contains(&kurt)).then_some(kurt),
            }
        }
    }
}

/// Mean, std and kurtosis of `dist` as a 16-bit dtype stores it: rounded to
/// the nearest representable value and clamped to the sampler's `[lo, hi]`.
///
/// The formulas of [`exact_moments`] are for the continuous distribution;
/// rounding to bf16 (8 significant bits) shifts the std by a fair part of a
/// standard error at large n, and by many where the spacing is not small
/// against the std (bf16 around 10 has spacing 0.0625, a truncated normal
/// on [10, 11] std units has std 0.097). So `verify` holds its 16-bit rows
/// to the exact law of what is stored: every one of the dtype's finite values
/// in `[lo, hi]` gets the probability of the cell that rounds to it,
/// `F(upper midpoint) - F(lower midpoint)` with the exact CDF ([`cdf`]),
/// the end cells reaching to infinity because of the clamp. 65535 values
/// at most: milliseconds.
///
/// ```
/// use weight_init::stats::{exact_moments, rounded_moments};
/// use weight_init::{DType, Normal, Sampler};
/// let d = Normal::new(0.0, 1.0).unwrap().into();
/// let r = rounded_moments(&d, &Sampler::new(&d, DType::BF16).unwrap());
/// // bf16 rounding barely moves a unit normal's moments.
/// assert!(r.mean.abs() < 1e-6 && (r.std - exact_moments(&d).std).abs() < 1e-4);
/// ```
#[must_use]
pub fn rounded_moments(dist: &Distribution, sampler: &Sampler) -> ExactMoments {
    let to_f32 = |h: u16| match sampler.dtype {
        DType::F16 => f16_bits_to_f32(h),
        _ => bf16_bits_to_f32(h),
    };
    let (lo, hi) = (sampler.lo, sampler.hi);
    let mut values: Vec<f64> = (0..=u16::MAX)
        .filter(|&h| h != 0x8000) // -0 is the same value as +0
        .map(to_f32)
        .filter(|v| v.is_finite() && *v >= lo && *v <= hi)
        .map(f64::from)
        .collect();
    values.sort_by(f64::total_cmp);
    let mut probs = Vec::with_capacity(values.len());
    let mut below = 0.0;
    for i in 0..values.len() {
        let upto = match values.get(i + 1) {
            Some(next) => cdf(dist, 0.5 * (values[i] + next)),
            None => 1.0,
        };
        probs.push((upto - below).max(0.0));
        below = upto.max(below);
    }
    let mean: f64 = values.iter().zip(&probs).map(|(v, p)| v * p).sum();
    let (mut m2, mut m4) = (0.0, 0.0);
    for (v, p) in values.iter().zip(&probs) {
        let d2 = (v - mean) * (v - mean);
        m2 += p * d2;
        m4 += p * d2 * d2;
    }
    let kurt = m4 / (m2 * m2);
    ExactMoments {
        mean,
        std: m2.sqrt(),
        kurtosis: (kurt.is_finite() && kurt >= 1.0).then_some(kurt),
    }
}

/// The standard normal truncated to `[alpha, beta]` (std units; either may
/// be infinite).
struct StdTruncated {
    alpha: f64,
    beta: f64,
    /// `ln(Phi(beta) - Phi(alpha))`, computed on the side that keeps its
    /// digits, so tail intervals like `[10, 11]` stay accurate.
    ln_mass: f64,
}

impl StdTruncated {
    fn new(alpha: f64, beta: f64) -> Self {
        let tail = |a: f64, b: f64| {
            // P(a < Z < b) = Q(a) (1 - Q(b) / Q(a)) for a >= 0.
            let la = ln_sf(a);
            la + (-(ln_sf(b) - la).exp_m1()).ln()
        };
        let ln_mass = if alpha >= 0.0 {
            tail(alpha, beta)
        } else if beta <= 0.0 {
            tail(-beta, -alpha)
        } else {
            // Straddling the mean: erf(beta) and erf(alpha) have opposite
            // signs, so their difference cancels nothing.
            (0.5 * (libm::erf(beta * FRAC_1_SQRT_2) - libm::erf(alpha * FRAC_1_SQRT_2))).ln()
        };
        Self {
            alpha,
            beta,
            ln_mass,
        }
    }

    /// The truncated density at `z`: `phi(z) / (Phi(beta) - Phi(alpha))`
    /// inside the interval, 0 outside (and at infinite bounds).
    fn pdf(&self, z: f64) -> f64 {
        if z < self.alpha || z > self.beta || z.is_infinite() {
            return 0.0;
        }
        (-0.5 * z * z - 0.5 * (2.0 * PI).ln() - self.ln_mass).exp()
    }

    /// Mean, variance and 4th central moment. With `J_k = E[(Z - c)^k]`,
    /// integration by parts (`phi' = -z phi`) gives the standard recursion
    /// `J_k = (k-1) J_{k-2} - c J_{k-1} + B_k`,
    /// `B_k = ((alpha-c)^{k-1} phi(alpha) - (beta-c)^{k-1} phi(beta)) / mass`;
    /// taken about the mean `c` (so `J_1 = 0`) it is the textbook
    /// `var = 1 + (alpha phi(alpha) - beta phi(beta)) / mass - mean^2` without
    /// the cancellation of raw moments in the tails.
    fn central_moments(&self) -> (f64, f64, f64) {
        let (ra, rb) = (self.pdf(self.alpha), self.pdf(self.beta));
        let mean = ra - rb;
        let b = |k: i32| {
            let term = |x: f64, r: f64| {
                if r == 0.0 {
                    0.0
                } else {
                    (x - mean).powi(k - 1) * r
                }
            };
            term(self.alpha, ra) - term(self.beta, rb)
        };
        let j2 = 1.0 + b(2);
        let j3 = -mean * j2 + b(3);
        let j4 = 3.0 * j2 - mean * j3 + b(4);
        (mean, j2, j4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_moments_match_known_values() {
        // [-2, 2]: std 0.87962566103423978 (the constant JAX divides by).
        let (m, v, mu4) = StdTruncated::new(-2.0, 2.0).central_moments();
        assert!(m.abs() < 1e-15);
        assert!((v.sqrt() - 0.879_625_661_034_239_8).abs() < 1e-12);
        // The untruncated limit: variance 1, kurtosis 3.
        let (m, v, mu4_full) =
            StdTruncated::new(f64::NEG_INFINITY, f64::INFINITY).central_moments();
        assert!(m.abs() < 1e-15 && (v - 1.0).abs() < 1e-12 && (mu4_full - 3.0).abs() < 1e-12);
        // Half-normal: mean sqrt(2/pi), variance 1 - 2/pi.
        let (m, v, _) = StdTruncated::new(0.0, f64::INFINITY).central_moments();
        assert!((m - (2.0 / PI).sqrt()).abs() < 1e-12);
        assert!((v - (1.0 - 2.0 / PI)).abs() < 1e-12);
        // Against a fine midpoint rule on [-2, 2] for the 4th moment.
        let z = StdTruncated::new(-2.0, 2.0);
        let k = 200_000;
        let h = 4.0 / k as f64;
        let num: f64 = (0..k)
            .map(|i| {
                let x = -2.0 + (i as f64 + 0.5) * h;
                x.powi(4) * z.pdf(x) * h
            })
            .sum();
        assert!((num - mu4).abs() < 1e-8, "{num} vs {mu4}");
        // A deep tail keeps its digits: [10, 11] has mean ~ 10.098.
        let (m, v, _) = StdTruncated::new(10.0, 11.0).central_moments();
        assert!((m - 10.098).abs() < 1e-3 && v > 0.0 && v < 0.011, "{m} {v}");
    }

    #[test]
    fn rounded_moments_follow_the_stored_values() {
        // bf16 barely moves a standard normal...
        let d: Distribution = crate::Normal::new(0.0, 1.0).unwrap().into();
        let r = rounded_moments(&d, &Sampler::new(&d, DType::BF16).unwrap());
        assert!(
            r.mean.abs() < 1e-9 && (r.std - 1.0).abs() < 1e-4,
            "{} {}",
            r.mean,
            r.std
        );
        assert!((r.kurtosis.unwrap() - 3.0).abs() < 1e-2);
        // ...but a truncated normal on [10, 11] std units sits on a grid of
        // spacing 0.0625 wider than its std (0.097).
        let t: Distribution = crate::TruncatedNormal::new(0.0, 1.0, 10.0, 11.0)
            .unwrap()
            .into();
        let cont = exact_moments(&t);
        let r = rounded_moments(&t, &Sampler::new(&t, DType::BF16).unwrap());
        assert!((r.std - cont.std).abs() > 1e-3, "{} {}", r.std, cont.std);
        let r16 = rounded_moments(&t, &Sampler::new(&t, DType::F16).unwrap());
        assert!((r16.std - cont.std).abs() < 1e-4 && (r16.mean - cont.mean).abs() < 1e-4);
    }
}
