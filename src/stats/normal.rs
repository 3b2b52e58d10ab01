//! The standard normal in f64: CDF, upper tail, its logarithm and inverses.

/// Standard normal CDF Φ(x) = erfc(-x / √2) / 2 in f64 (`scipy.stats.norm.cdf`).
///
/// ```
/// use weight_init::stats::normal_cdf;
/// assert_eq!(normal_cdf(0.0), 0.5);
/// assert!((normal_cdf(1.959964) - 0.975).abs() < 1e-7);
/// ```
#[must_use]
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * core::f64::consts::FRAC_1_SQRT_2)
}

/// Upper tail Q(x) = 1 - Φ(x) = erfc(x / √2) / 2 in f64, accurate in the
/// tail (`scipy.stats.norm.sf`).
///
/// ```
/// use weight_init::stats::{normal_cdf, normal_sf};
/// assert!((normal_sf(1.0) + normal_cdf(1.0) - 1.0).abs() < 1e-15);
/// // Far in the tail, where 1 - Φ(x) would round to 0.
/// assert!((normal_sf(10.0) - 7.619853e-24).abs() < 1e-29);
/// ```
#[must_use]
pub fn normal_sf(x: f64) -> f64 {
    0.5 * libm::erfc(x * core::f64::consts::FRAC_1_SQRT_2)
}

/// ln Q(x) in f64 (`scipy.stats.norm.logsf`), with the asymptotic series
/// where Q underflows.
///
/// The one implementation: the sampler's truncated-normal preparation
/// ([`crate::sampler::Sampler::new`]) takes its tail probabilities from it.
/// For `x >= 25` it is A&S 26.2.12, whose omitted term is below 1e-13
/// there.
///
/// ```
/// use weight_init::stats::{ln_sf, normal_sf};
/// assert!((ln_sf(2.0) - normal_sf(2.0).ln()).abs() < 1e-14);
/// // Q(40) underflows f64; its logarithm does not.
/// assert_eq!(normal_sf(40.0), 0.0);
/// assert!((ln_sf(40.0) + 804.608).abs() < 1e-3);
/// ```
#[must_use]
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
#[must_use]
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

/// The two-sided standard normal quantile: `q` with `2 Φ(-q) = alpha`, by
/// bisection on [`normal_cdf`] (3.2905 for alpha = 0.001).
///
/// ```
/// use weight_init::stats::two_sided_normal_quantile;
/// assert!((two_sided_normal_quantile(0.05) - 1.959964).abs() < 1e-5);
/// ```
#[must_use]
pub fn two_sided_normal_quantile(alpha: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if 2.0 * normal_cdf(-mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_matches_tables() {
        assert!((two_sided_normal_quantile(0.001) - 3.290527).abs() < 1e-5);
        assert!((two_sided_normal_quantile(0.05) - 1.959964).abs() < 1e-5);
    }
}
