//! Statistics used by the tests and tools: moments, the exact CDFs of the
//! crate's distributions (in f64) and Kolmogorov–Smirnov tests.

use crate::dist::Distribution;
use crate::dtype::DType;

/// Mean, standard deviation (n - 1 denominator), minimum and maximum,
/// accumulated in f64.
///
/// ```
/// use weight_init::stats::Moments;
/// let m = Moments::of(&[1.0, 2.0, 3.0]);
/// assert_eq!(m.mean, 2.0);
/// assert_eq!(m.std, 1.0);
/// assert_eq!((m.min, m.max), (1.0, 3.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Number of samples.
    pub n: u64,
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub std: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
}

impl Moments {
    /// Moments of a slice of f32 samples (Welford's update).
    pub fn of(xs: &[f32]) -> Self {
        let (mut n, mut mean, mut m2) = (0u64, 0.0f64, 0.0f64);
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for &x in xs {
            let x = x as f64;
            n += 1;
            let d = x - mean;
            mean += d / n as f64;
            m2 += d * (x - mean);
            min = min.min(x);
            max = max.max(x);
        }
        let std = if n > 1 {
            (m2 / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Self {
            n,
            mean,
            std,
            min,
            max,
        }
    }
}

/// Standard normal CDF Φ(x) in f64.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * core::f64::consts::FRAC_1_SQRT_2)
}

/// Upper tail Q(x) = 1 - Φ(x) in f64, accurate in the tail.
pub fn normal_sf(x: f64) -> f64 {
    0.5 * libm::erfc(x * core::f64::consts::FRAC_1_SQRT_2)
}

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

/// ln Q(x) in f64, with the asymptotic series where Q underflows.
pub fn ln_sf(x: f64) -> f64 {
    if x < 25.0 {
        normal_sf(x).ln()
    } else if x == f64::INFINITY {
        f64::NEG_INFINITY
    } else {
        let iz = 1.0 / (x * x);
        let series = 1.0 - iz + 3.0 * iz * iz - 15.0 * iz * iz * iz + 105.0 * iz.powi(4);
        -0.5 * x * x - x.ln() - 0.5 * (2.0 * core::f64::consts::PI).ln() + series.ln()
    }
}

/// The `z` whose upper tail has `-ln Q(z) = y`, in f64, by bisection on
/// [`ln_sf`]: the reference inverse for the truncated normal's tails, slow
/// and accurate to the last bits of f64.
///
/// ```
/// use weight_init::stats::{neg_ln_sf_inverse, normal_sf};
/// let z = neg_ln_sf_inverse(-normal_sf(1.5).ln());
/// assert!((z - 1.5).abs() < 1e-12);
/// ```
pub fn neg_ln_sf_inverse(y: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0f64, 40.0f64.max((2.0 * y).sqrt() + 1.0));
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if -ln_sf(mid) < y {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Mean and standard deviation of a distribution, exactly (in f64).
///
/// The truncated normal uses the standard moments of a normal restricted to
/// `[alpha, beta]` (std units), with densities and tail masses divided in
/// log space so deep tails stay finite:
/// `mean = mu + sigma (phi(a) - phi(b)) / Z`,
/// `var = sigma^2 (1 + (a phi(a) - b phi(b)) / Z - ((phi(a) - phi(b)) / Z)^2)`.
///
/// ```
/// use weight_init::stats::mean_std;
/// use weight_init::{TruncatedNormal, Uniform};
/// let (m, s) = mean_std(&Uniform::new(-1.0, 1.0).unwrap().into());
/// assert!(m.abs() < 1e-12 && (s - 1.0 / 3f64.sqrt()).abs() < 1e-12);
/// let (_, s) = mean_std(&TruncatedNormal::with_std_bounds(0.0, 1.0, -2.0, 2.0).unwrap().into());
/// assert!((s - 0.8796256610342398).abs() < 1e-12);
/// ```
pub fn mean_std(dist: &Distribution) -> (f64, f64) {
    match dist {
        Distribution::Constant(v) => (*v as f64, 0.0),
        Distribution::Uniform(u) => {
            let (l, h) = (u.low() as f64, u.high() as f64);
            (0.5 * (l + h), (h - l) / 12f64.sqrt())
        }
        Distribution::Normal(n) => (n.mean() as f64, n.std() as f64),
        Distribution::TruncatedNormal(t) => {
            let (alpha, beta) = t.std_bounds();
            // Work on the side of the interval away from the mean, mirrored
            // to the upper tail, where Q carries the precision.
            let mirrored = alpha < 0.0 && beta <= 0.0;
            let (a, b) = if mirrored {
                (-beta, -alpha)
            } else {
                (alpha, beta)
            };
            let ln_phi = |x: f64| -0.5 * x * x - 0.5 * (2.0 * core::f64::consts::PI).ln();
            let (da, db, xa, xb);
            if a >= 0.0 {
                // Z = Q(a) (1 - Q(b)/Q(a)); phi(x)/Z = exp(ln phi(x) - ln Q(a)) / (1 - ...)
                let (qa, qb) = (ln_sf(a), ln_sf(b));
                let denom = -libm::expm1(qb - qa);
                da = (ln_phi(a) - qa).exp() / denom;
                db = if b.is_finite() {
                    (ln_phi(b) - qa).exp() / denom
                } else {
                    0.0
                };
            } else {
                let z = normal_cdf(b) - normal_cdf(a);
                da = if a.is_finite() {
                    ln_phi(a).exp() / z
                } else {
                    0.0
                };
                db = if b.is_finite() {
                    ln_phi(b).exp() / z
                } else {
                    0.0
                };
            }
            xa = if a.is_finite() { a * da } else { 0.0 };
            xb = if b.is_finite() { b * db } else { 0.0 };
            let m = da - db;
            let var = (1.0 + xa - xb - m * m).max(0.0);
            let (mu, sigma) = (t.mean() as f64, t.std() as f64);
            let m = if mirrored { -m } else { m };
            (mu + sigma * m, sigma * var.sqrt())
        }
    }
}

/// The result of a Kolmogorov–Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    /// The statistic D (largest CDF distance).
    pub d: f64,
    /// The asymptotic p-value (Kolmogorov distribution).
    pub p_value: f64,
}

/// One-sample KS test of `samples` against a continuous CDF. Sorts a copy.
///
/// ```
/// use weight_init::stats::ks_one_sample;
/// let xs: Vec<f32> = (0..1000).map(|i| (i as f32 + 0.5) / 1000.0).collect();
/// let r = ks_one_sample(&xs, |x| x.clamp(0.0, 1.0));
/// assert!(r.d < 0.001 && r.p_value > 0.99);
/// ```
pub fn ks_one_sample(samples: &[f32], cdf: impl Fn(f64) -> f64) -> KsResult {
    let mut xs: Vec<f64> = samples.iter().map(|&x| x as f64).collect();
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    let mut d = 0.0f64;
    let mut i = 0;
    // Ties (dtype rounding makes many) are handled as one step.
    while i < xs.len() {
        let x = xs[i];
        let mut j = i;
        while j < xs.len() && xs[j] == x {
            j += 1;
        }
        let f = cdf(x);
        if f.is_nan() {
            // A broken CDF must fail the test, not vanish in `max`.
            return KsResult {
                d: 1.0,
                p_value: 0.0,
            };
        }
        d = d
            .max((i as f64 / n - f).abs())
            .max((j as f64 / n - f).abs());
        i = j;
    }
    KsResult {
        d,
        p_value: kolmogorov_sf(d * n.sqrt()),
    }
}

/// Two-sample KS test. Sorts copies.
pub fn ks_two_sample(a: &[f32], b: &[f32]) -> KsResult {
    let mut x: Vec<f32> = a.to_vec();
    let mut y: Vec<f32> = b.to_vec();
    x.sort_by(f32::total_cmp);
    y.sort_by(f32::total_cmp);
    let (n, m) = (x.len(), y.len());
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    while i < n && j < m {
        let v = if x[i] <= y[j] { x[i] } else { y[j] };
        while i < n && x[i] == v {
            i += 1;
        }
        while j < m && y[j] == v {
            j += 1;
        }
        d = d.max((i as f64 / n as f64 - j as f64 / m as f64).abs());
    }
    let ne = (n * m) as f64 / (n + m) as f64;
    KsResult {
        d,
        p_value: kolmogorov_sf(d * ne.sqrt()),
    }
}

/// P(K > t) for the Kolmogorov distribution: 2 Σ (-1)^(k-1) exp(-2 k² t²).
pub fn kolmogorov_sf(t: f64) -> f64 {
    if t < 0.2 {
        return 1.0;
    }
    let mut s = 0.0;
    for k in 1..=100 {
        let k = k as f64;
        let term = (-2.0 * k * k * t * t).exp();
        s += if k as u64 % 2 == 1 { term } else { -term };
        if term < 1e-18 {
            break;
        }
    }
    (2.0 * s).clamp(0.0, 1.0)
}

/// `|a - b|` in ULP of `dtype` at `max(|b|, |scale|)`: how the GPU backend's
/// distance from the CPU backend is measured. Against the scale (a
/// distribution's std) because `mean + std * z` near zero turns one ULP of
/// `std * z` into many ULP of a tiny result.
///
/// ```
/// use weight_init::{stats::scaled_ulp_distance, DType};
/// let one_ulp = 1.0 + f32::EPSILON;
/// assert_eq!(scaled_ulp_distance(one_ulp, 1.0, 0.5, DType::F32), 1.0);
/// // Near zero the scale sets the unit: 1e-9 apart is far below one ULP of 1.
/// assert!(scaled_ulp_distance(1e-9, 0.0, 1.0, DType::F32) < 0.01);
/// ```
pub fn scaled_ulp_distance(a: f32, b: f32, scale: f32, dtype: DType) -> f64 {
    let m = b.abs().max(scale.abs()) as f64;
    (a as f64 - b as f64).abs() / dtype.ulp(m)
}
