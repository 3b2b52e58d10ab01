//! Tier 3: the samples follow their distributions.
//!
//! Every test uses a fixed seed. Kolmogorov–Smirnov tests use n = 10^6 and
//! reject at significance 0.001 (p < 0.001 fails), against the exact CDF
//! computed in f64 (`weight_init::stats::cdf`). Each case has its own stream:
//! inverse-CDF samplers are monotone in the word, so two cases on one stream
//! would share one KS statistic and not be independent checks.

use weight_init::stats::{cdf, ks_one_sample, ks_two_sample, Moments};
use weight_init::{cpu, DType, Distribution, Normal, TensorKey, TruncatedNormal, Uniform};

const SEED: u64 = 20_261_122;
const N: usize = 1_000_000;
const ALPHA: f64 = 0.001;

fn sample(dist: &Distribution, stream: u64, n: usize) -> Vec<f32> {
    let mut v = vec![0f32; n];
    cpu::fill_f32(
        dist,
        &TensorKey::new(SEED, stream, n as u64),
        0..n as u64,
        &mut v,
    )
    .unwrap();
    v
}

fn ks_case(name: &str, dist: Distribution, stream: u64) -> Vec<f32> {
    let xs = sample(&dist, stream, N);
    let r = ks_one_sample(&xs, |x| cdf(&dist, x));
    let m = Moments::of(&xs);
    println!(
        "{name:32} D = {:.5} p = {:.4}  mean {:+.5} std {:.5} [{}, {}]",
        r.d, r.p_value, m.mean, m.std, m.min, m.max
    );
    assert!(r.p_value >= ALPHA, "{name}: KS rejects at {ALPHA}: {r:?}");
    xs
}

#[test]
fn uniform_ks() {
    let xs = ks_case("uniform [0,1)", Uniform::new(0.0, 1.0).unwrap().into(), 1);
    assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
    let xs = ks_case("uniform [-3,5)", Uniform::new(-3.0, 5.0).unwrap().into(), 2);
    assert!(xs.iter().all(|&x| (-3.0..5.0).contains(&x)));
}

#[test]
fn normal_ks() {
    ks_case("normal(0,1)", Normal::new(0.0, 1.0).unwrap().into(), 3);
    ks_case("normal(2,0.5)", Normal::new(2.0, 0.5).unwrap().into(), 4);
}

#[test]
fn truncated_normal_ks_and_bounds() {
    let inf = f32::INFINITY;
    let cases: [(f32, f32); 9] = [
        (-2.0, 2.0),
        (0.0, inf),
        (-inf, -1.0),
        (2.0, 3.0),
        (5.0, 6.0),
        (-6.0, -5.0),
        (10.0, 11.0),
        (-0.001, 0.001),
        (30.0, 31.0),
    ];
    for (k, (lo, hi)) in cases.into_iter().enumerate() {
        let t = TruncatedNormal::with_std_bounds(0.0, 1.0, lo, hi).unwrap();
        let xs = ks_case(
            &format!("trunc std-units [{lo}, {hi}]"),
            t.into(),
            10 + k as u64,
        );
        let (a, b) = t.bounds();
        let bad = xs
            .iter()
            .filter(|&&x| (x as f64) < a || (x as f64) > b)
            .count();
        assert_eq!(bad, 0, "[{lo}, {hi}]: {bad} values outside");
    }
    // PyTorch's absolute-bound form.
    let t = TruncatedNormal::new(0.5, 0.02, 0.46, 0.54).unwrap();
    let xs = ks_case("trunc abs mean .5 std .02 [.46,.54]", t.into(), 30);
    assert!(xs.iter().all(|&x| (0.46..=0.54).contains(&x)));
}

/// Bounds hold after rounding to 16-bit dtypes too, including intervals
/// whose ends are not representable in the dtype.
#[test]
fn truncated_bounds_hold_in_16_bit() {
    for dtype in [DType::F16, DType::BF16] {
        // The last interval holds only a handful of values of each dtype.
        let narrow = if dtype == DType::F16 {
            (2.001, 2.013)
        } else {
            (2.001, 2.03)
        };
        for (m, s, a, b) in [
            (0.0, 0.02, -0.04, 0.04),
            (0.5, 0.02, 0.46, 0.54),
            (0.0, 1.0, narrow.0, narrow.1),
        ] {
            let t = TruncatedNormal::new(m, s, a, b).unwrap();
            let mut out = vec![0u16; 200_000];
            let key = TensorKey::new(SEED, 40, out.len() as u64);
            cpu::fill_u16(&t.into(), dtype, &key, 0..out.len() as u64, &mut out).unwrap();
            for &h in &out {
                let v = match dtype {
                    DType::F16 => weight_init::dtype::f16_bits_to_f32(h),
                    _ => weight_init::dtype::bf16_bits_to_f32(h),
                };
                assert!(v >= a && v <= b, "{dtype} [{a}, {b}]: {v}");
            }
        }
    }
}

/// An independent reference: `rand_distr`'s own samplers (driven by a
/// different generator stream) against ours, two-sample KS at 0.001.
#[test]
fn two_sample_ks_against_rand_distr() {
    use rand_distr::Distribution as _;
    let mut rng = weight_init::philox::Philox4x32::new(SEED ^ 0xabcdef, 99);
    let theirs: Vec<f32> = (0..N)
        .map(|_| rand_distr::StandardNormal.sample(&mut rng))
        .collect();
    let ours = sample(&Normal::new(0.0, 1.0).unwrap().into(), 50, N);
    let r = ks_two_sample(&ours, &theirs);
    println!(
        "two-sample normal vs rand_distr: D = {:.5} p = {:.4}",
        r.d, r.p_value
    );
    assert!(r.p_value >= ALPHA, "{r:?}");

    let u = rand_distr::Uniform::new(-3.0f32, 5.0).unwrap();
    let theirs: Vec<f32> = (0..N).map(|_| u.sample(&mut rng)).collect();
    let ours = sample(&Uniform::new(-3.0, 5.0).unwrap().into(), 51, N);
    let r = ks_two_sample(&ours, &theirs);
    println!(
        "two-sample uniform vs rand_distr: D = {:.5} p = {:.4}",
        r.d, r.p_value
    );
    assert!(r.p_value >= ALPHA, "{r:?}");
}

/// Poisson CDF P(X <= k) for mean `lambda`, summed in f64.
fn poisson_cdf(k: u64, lambda: f64) -> f64 {
    let mut term = (-lambda).exp();
    let mut sum = term;
    for i in 1..=k {
        term *= lambda / i as f64;
        sum += term;
    }
    sum
}

/// Over 2^28 standard normals the count beyond 5 sigma lies inside the
/// central 99.9% of its Poisson distribution, and the largest |z| exceeds
/// 5.8: a radius built from 24 bits would stop at sqrt(-2 ln 2^-24) = 5.77.
#[test]
fn normal_tails_reach_past_5_8_sigma() {
    let n: u64 = 1 << 28;
    let chunk = 1usize << 24;
    let dist: Distribution = Normal::new(0.0, 1.0).unwrap().into();
    let key = TensorKey::new(SEED, 60, n);
    let mut buf = vec![0f32; chunk];
    let (mut beyond5, mut max_abs) = (0u64, 0f32);
    for c in 0..(n / chunk as u64) {
        let start = c * chunk as u64;
        cpu::fill_f32(&dist, &key, start..start + chunk as u64, &mut buf).unwrap();
        for &z in &buf {
            beyond5 += (z.abs() > 5.0) as u64;
            max_abs = max_abs.max(z.abs());
        }
    }
    let p5 = 2.0 * weight_init::stats::normal_sf(5.0);
    let lambda = n as f64 * p5;
    let lo = (0..).find(|&k| poisson_cdf(k, lambda) >= 0.0005).unwrap();
    let hi = (0..).find(|&k| poisson_cdf(k, lambda) >= 0.9995).unwrap();
    println!("2^28 normals: {beyond5} beyond 5 sigma (expected {lambda:.1}, 99.9% range [{lo}, {hi}]), max |z| = {max_abs}");
    assert!(
        (lo..=hi).contains(&beyond5),
        "{beyond5} not in [{lo}, {hi}]"
    );
    assert!(max_abs > 5.8, "max |z| = {max_abs}");
    assert!(max_abs <= weight_init::sampler::NORMAL_MAX_ABS_Z);
}

/// `stats::mean_std` (the exact moments the tools compare against) agrees
/// with 10^6 samples of each distribution: mean within 5 standard errors,
/// std within 1%.
#[test]
fn exact_moments_match_samples() {
    let inf = f32::INFINITY;
    let cases: Vec<Distribution> = vec![
        Uniform::new(-3.0, 5.0).unwrap().into(),
        Normal::new(2.0, 0.5).unwrap().into(),
        TruncatedNormal::new(0.0, 0.02, -0.04, 0.04).unwrap().into(),
        TruncatedNormal::with_std_bounds(1.0, 2.0, 0.0, inf)
            .unwrap()
            .into(),
        TruncatedNormal::with_std_bounds(0.0, 1.0, -inf, -1.0)
            .unwrap()
            .into(),
        TruncatedNormal::with_std_bounds(0.0, 1.0, 10.0, 11.0)
            .unwrap()
            .into(),
        TruncatedNormal::with_std_bounds(0.0, 1.0, -6.0, -5.0)
            .unwrap()
            .into(),
        TruncatedNormal::with_std_bounds(0.0, 1.0, -0.5, 3.0)
            .unwrap()
            .into(),
    ];
    for (k, dist) in cases.iter().enumerate() {
        let (mu, sigma) = weight_init::stats::mean_std(dist);
        let xs = sample(dist, 70 + k as u64, N);
        let m = Moments::of(&xs);
        let se = sigma / (N as f64).sqrt();
        println!(
            "{dist}: exact mean {mu:.6} std {sigma:.6}; sample {:.6} {:.6}",
            m.mean, m.std
        );
        assert!(
            (m.mean - mu).abs() <= 5.0 * se,
            "{dist}: mean {} vs {mu}",
            m.mean
        );
        assert!(
            (m.std / sigma - 1.0).abs() <= 0.01,
            "{dist}: std {} vs {sigma}",
            m.std
        );
    }
}
