//! Kolmogorov–Smirnov tests.

/// The result of a Kolmogorov–Smirnov test.
///
/// ```
/// use weight_init::stats::ks_two_sample;
/// let a: Vec<f32> = (0..20).map(|i| i as f32).collect();
/// let b: Vec<f32> = (20..40).map(|i| i as f32).collect();
/// let r = ks_two_sample(&a, &b);
/// assert_eq!(r.d, 1.0); // no overlap: the largest possible distance
/// assert!(r.p_value < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct KsResult {
    /// The statistic D (largest CDF distance).
    pub d: f64,
    /// The asymptotic p-value (Kolmogorov distribution).
    pub p_value: f64,
}

/// One-sample KS test of `samples` against a continuous CDF, as
/// `scipy.stats.kstest(samples, cdf, method="asymp")`. Sorts a copy.
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

/// Two-sample KS test, as `scipy.stats.ks_2samp(a, b, method="asymp")`
/// (effective size `n m / (n + m)`). Sorts copies.
///
/// ```
/// use weight_init::stats::ks_two_sample;
/// let a: Vec<f32> = (0..500).map(|i| i as f32).collect();
/// let b: Vec<f32> = (0..500).map(|i| i as f32 + 0.5).collect();
/// let r = ks_two_sample(&a, &b);
/// assert!(r.d < 0.0021 && r.p_value > 0.99); // one step of 1/500 at most
/// ```
#[must_use]
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

/// P(K > t) for the Kolmogorov distribution: 2 Σ (-1)^(k-1) exp(-2 k² t²)
/// (Kolmogorov 1933; `scipy.special.kolmogorov(t)`).
///
/// ```
/// use weight_init::stats::kolmogorov_sf;
/// // The 5% critical value of the Kolmogorov distribution is 1.3581.
/// assert!((kolmogorov_sf(1.3581) - 0.05).abs() < 1e-4);
/// assert_eq!(kolmogorov_sf(0.0), 1.0);
/// ```
#[must_use]
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
