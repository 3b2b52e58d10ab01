//! Tier 2: the crate's own `ln`, `sin`/`cos` and the samples built from them,
//! against f64 computations on the same inputs.
//!
//! Each test prints the largest error it saw (`cargo test --release --test
//! accuracy -- --nocapture`). Domains are covered exhaustively where that is
//! fast in a release build, otherwise by a stated dense subset plus every
//! input near the points where the algorithm switches branch.

use weight_init::sampler::{Sampler, SamplerKind, TruncMode};
use weight_init::stats::{ln_sf, neg_ln_sf_inverse};
use weight_init::unstable::kernel::{
    box_muller, ln, open_unit, recip_f32, sincos_turn, sqrt_f32, truncated_std_normal,
};
use weight_init::unstable::probit_upper_tail;
use weight_init::{DType, TruncatedNormal};

/// Runs `f` over `0..n` on all cores and returns the largest value it gave.
fn par_max(n: u64, f: impl Fn(u64) -> f64 + Sync) -> (f64, u64) {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()) as u64;
    let per = n.div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut best = (0.0f64, 0u64);
                    for i in t * per..((t + 1) * per).min(n) {
                        let e = f(i);
                        if e > best.0 {
                            best = (e, i);
                        }
                    }
                    best
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a })
    })
}

/// ln over every 61st positive normal f32 (35 million values, all
/// exponents, every mantissa residue class mod 61), plus every mantissa of
/// the exponents around 1. Error is absolute where |ln x| < 1, else relative.
#[test]
fn ln_matches_f64_over_positive_normals() {
    let first = f32::MIN_POSITIVE.to_bits() as u64;
    let last = f32::MAX.to_bits() as u64;
    let err = |bits: u64| {
        let x = f32::from_bits(bits as u32);
        let got = ln(x) as f64;
        let want = (x as f64).ln();
        (got - want).abs() / want.abs().max(1.0)
    };
    let (e1, at1) = par_max((last - first) / 61 + 1, |i| err(first + 61 * i));
    // Every f32 in [0.5, 2): where the result is small and the relative
    // accuracy of the reduction matters most.
    let lo = 0.5f32.to_bits() as u64;
    let (e2, at2) = par_max(2 << 23, |i| err(lo + i));
    println!(
        "ln: largest error {e1:.3e} (x = {:e}) strided, {e2:.3e} (x = {:e}) on [0.5, 2)",
        f32::from_bits((first + 61 * at1) as u32),
        f32::from_bits((lo + at2) as u32)
    );
    assert!(e1 <= 2.5e-7, "ln error {e1:e}");
    assert!(e2 <= 2.5e-7, "ln error {e2:e}");
}

/// The number of distinct values [`open_unit`] takes on words below
/// `2^bits`: every word below 2^23 is its own cell, and each further binade
/// (s = 1, 2, ... low bits dropped) holds 2^22 cells.
fn cell_count(bits: u32) -> u64 {
    (1 << 23) + (bits as u64 - 23) * (1 << 22)
}

/// A word of cell `i` (the lowest word of the cell), for `i < cell_count`.
fn cell_word(i: u64) -> u32 {
    if i < 1 << 23 {
        i as u32
    } else {
        let j = i - (1 << 23);
        let s = 1 + j / (1 << 22);
        let k = (1 << 22) + j % (1 << 22);
        (k << s) as u32
    }
}

/// `open_unit` over every cell of the 32-bit words: exact (the f64 value of
/// the documented formula, `(2 floor(x / 2^s) + 1) 2^(s-33)`), the same for
/// every word of the cell (checked at both ends of the cell), strictly
/// increasing from cell to cell, inside (0, 1), with the documented extremes.
#[test]
fn open_unit_is_the_exact_cell_midpoint() {
    let n = cell_count(32);
    let (bad, at) = par_max(n, |i| {
        let x = cell_word(i);
        let s = (32 - x.leading_zeros()).saturating_sub(23);
        let want = (2.0 * (x >> s) as f64 + 1.0) * 2f64.powi(s as i32 - 33);
        let last = x | ((1u32 << s) - 1);
        let u = open_unit(x);
        let next_ok = i + 1 == n || (open_unit(cell_word(i + 1)) > u);
        let ok = u as f64 == want && open_unit(last) == u && next_ok && u > 0.0 && u < 1.0;
        if ok {
            0.0
        } else {
            1.0
        }
    });
    assert_eq!(
        bad,
        0.0,
        "open_unit wrong at cell {at} (word {:#x})",
        cell_word(at)
    );
    assert_eq!(open_unit(0), 2f32.powi(-33));
    assert_eq!(open_unit(u32::MAX), 1.0 - 2f32.powi(-24));
}

/// The Box–Muller radius `sqrt(-2 ln u)`, `u = open_unit(w)`, against f64 on
/// the same u, over every one of its 46 million distinct unit values (both
/// ends included: u = 2^-33 gives the largest radius, 6.764; u = 1 - 2^-24
/// the smallest). Error scaled by max(1, r), the normal sample's bound.
#[test]
fn box_muller_radius_matches_f64_over_every_unit_value() {
    let radius = |w: u32| sqrt_f32(-2.0 * ln(open_unit(w)));
    let err = |w: u32| {
        let want = (-2.0 * (open_unit(w) as f64).ln()).sqrt();
        (radius(w) as f64 - want).abs() / want.max(1.0)
    };
    let (e, at) = par_max(cell_count(32), |i| err(cell_word(i)));
    let (r_max, r_min) = (radius(0), radius(u32::MAX));
    println!(
        "radius: largest scaled error {e:.3e} (word {:#x}) over every unit value; r in [{r_min:e}, {r_max}]",
        cell_word(at)
    );
    assert!(e <= 1e-6, "{e:e}");
    assert!((r_max as f64 - (66.0 * std::f64::consts::LN_2).sqrt()).abs() < 1e-6);
    assert!(r_max <= weight_init::sampler::NORMAL_MAX_ABS_Z);
    // -2 ln(1 - 2^-24) is 2^-23 to first order.
    assert!(r_min > 0.0 && (r_min as f64 - 2f64.powf(-11.5)).abs() < 1e-9);
}

/// The crate's square root and reciprocal over every 61st positive normal
/// f32 (for the reciprocal, those whose reciprocal is normal): within one
/// ULP of the correctly rounded result.
#[test]
fn sqrt_and_recip_within_one_ulp() {
    let ulps = |got: f32, want: f64| {
        let w = want as f32;
        (got.to_bits() as i64 - w.to_bits() as i64).unsigned_abs() as f64
    };
    let first = f32::MIN_POSITIVE.to_bits() as u64;
    let last = f32::MAX.to_bits() as u64;
    let (es, ats) = par_max((last - first) / 61 + 1, |i| {
        let x = f32::from_bits((first + 61 * i) as u32);
        ulps(sqrt_f32(x), (x as f64).sqrt())
    });
    let rlast = (1.0 / f32::MIN_POSITIVE as f64) as f32;
    let (er, atr) = par_max((rlast.to_bits() as u64 - first) / 61, |i| {
        let x = f32::from_bits((first + 61 * i) as u32);
        ulps(recip_f32(x), 1.0 / x as f64)
    });
    println!("sqrt_f32: {es} ULP (i = {ats}); recip_f32: {er} ULP (i = {atr})");
    assert!(es <= 1.0 && er <= 1.0, "sqrt {es} recip {er}");
}

/// sin and cos of 2π w / 2^32 over every 257th word (16.7 million) and
/// every word within 4096 of each octant boundary; absolute error.
#[test]
fn sincos_matches_f64_over_words() {
    let err = |w: u32| {
        let (s, c) = sincos_turn(w);
        let t = w as f64 * (2.0 * std::f64::consts::PI / 4294967296.0);
        (s as f64 - t.sin()).abs().max((c as f64 - t.cos()).abs())
    };
    let (e1, at1) = par_max((1u64 << 32) / 257, |i| err((257 * i) as u32));
    let mut e2 = 0.0f64;
    for k in 0..8u32 {
        let b = k << 29;
        for d in 0..4096u32 {
            e2 = e2
                .max(err(b.wrapping_add(d)))
                .max(err(b.wrapping_sub(d + 1)));
        }
    }
    println!(
        "sincos: largest abs error {e1:.3e} (w = {:#x}) strided, {e2:.3e} near octant edges",
        257 * at1
    );
    assert!(e1 <= 1.5e-7 && e2 <= 1.5e-7, "{e1:e} {e2:e}");
}

/// The normal sample itself: |z32 - z64| <= 1e-6 * max(1, |z|) where z64 is
/// Box–Muller in f64 on the same two words, over 2^26 word pairs from a
/// splitmix sequence plus every extreme radius word.
#[test]
fn box_muller_matches_f64() {
    fn splitmix(mut x: u64) -> u64 {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }
    let err = |w0: u32, w1: u32| {
        let (z0, z1) = box_muller(w0, w1);
        let u = open_unit(w0) as f64;
        let r = (-2.0 * u.ln()).sqrt();
        let t = w1 as f64 * (2.0 * std::f64::consts::PI / 4294967296.0);
        let (c, s) = (r * t.cos(), r * t.sin());
        ((z0 as f64 - c).abs() / c.abs().max(1.0)).max((z1 as f64 - s).abs() / s.abs().max(1.0))
    };
    let (e1, at) = par_max(1 << 26, |i| {
        let x = splitmix(i);
        err(x as u32, (x >> 32) as u32)
    });
    let mut e2 = 0.0f64;
    for w0 in (0..4096u32).chain(u32::MAX - 4096..=u32::MAX) {
        for w1 in [0u32, 1 << 29, 3 << 29, 0x1234_5678, u32::MAX] {
            e2 = e2.max(err(w0, w1));
        }
    }
    println!(
        "box_muller: largest scaled error {e1:.3e} (pair {at}) random, {e2:.3e} extreme radii"
    );
    assert!(e1 <= 1e-6 && e2 <= 1e-6, "{e1:e} {e2:e}");
}

/// Q⁻¹(exp(-y)) over y from ln 2 to 5000 (z up to 100): relative error
/// (absolute below z = 1).
#[test]
fn probit_tail_matches_f64() {
    let mut worst = (0.0f64, 0.0f64);
    let mut y = std::f64::consts::LN_2;
    while y < 5000.0 {
        let yf = y as f32;
        let want = neg_ln_sf_inverse(yf as f64);
        let got = probit_upper_tail(yf) as f64;
        let e = (got - want).abs() / want.abs().max(1.0);
        if e > worst.0 {
            worst = (e, y);
        }
        y *= 1.0007;
    }
    println!(
        "probit_upper_tail: largest error {:.3e} at y = {}",
        worst.0, worst.1
    );
    assert!(worst.0 <= 5e-7, "{worst:?}");
}

/// The f64 reference for one end of a truncated normal on `[alpha, beta]`
/// (std units): the anchor (`alpha`, or `-beta` for the mirrored upper end)
/// and the logs of its tail masses and of the interval's mass `W`.
struct RefEnd {
    ln_phi_a: f64,
    ln_q_a: f64,
    ln_w: f64,
}

fn ln_width(alpha: f64, beta: f64) -> f64 {
    if alpha >= 0.0 {
        ln_sf(alpha) + (-(ln_sf(beta) - ln_sf(alpha)).exp_m1()).ln()
    } else if beta <= 0.0 {
        ln_sf(-beta) + (-(ln_sf(-alpha) - ln_sf(-beta)).exp_m1()).ln()
    } else {
        (-(ln_sf(-alpha).exp() + ln_sf(beta).exp())).ln_1p()
    }
}

impl RefEnd {
    fn new(anchor: f64, ln_w: f64) -> Self {
        RefEnd {
            ln_phi_a: ln_sf(-anchor),
            ln_q_a: ln_sf(anchor),
            ln_w,
        }
    }

    /// The (mirrored) z with Φ(z) = Φ(anchor) + v W, by Newton's method in
    /// f64 on ln Φ (z < 0) or ln Q (z >= 0), from `start`, until a step is
    /// below 1e-12 of max(1, |z|).
    fn inverse(&self, v: f64, start: f64) -> f64 {
        let ln_vw = v.ln() + self.ln_w;
        // ln(Φ(a) + vW) and ln(Q(a) - vW), each without cancellation.
        let hi = self.ln_phi_a.max(ln_vw);
        let ln_p = hi + ((self.ln_phi_a - hi).exp() + (ln_vw - hi).exp()).ln();
        let ln_q = self.ln_q_a + (-(ln_vw - self.ln_q_a).exp()).ln_1p();
        let ln_pdf = |z: f64| -0.5 * z * z - 0.5 * (2.0 * std::f64::consts::PI).ln();
        let mut z = start;
        for _ in 0..100 {
            let step = if z < 0.0 {
                // f(z) = ln Φ(z) - ln_p, f' = φ/Φ.
                let lf = ln_sf(-z);
                (lf - ln_p) / (ln_pdf(z) - lf).exp()
            } else {
                // f(z) = ln Q(z) - ln_q, f' = -φ/Q.
                let lq = ln_sf(z);
                -(lq - ln_q) / (ln_pdf(z) - lq).exp()
            };
            // Damped for far starts: never more than 1 std at once.
            z -= step.clamp(-1.0, 1.0);
            if step.abs() <= 1e-12 * z.abs().max(1.0) {
                break;
            }
        }
        z
    }
}

/// The inverse mode of a truncated standard normal on `[alpha, beta]`.
fn trunc_mode(alpha: f32, beta: f32) -> TruncMode {
    let t = TruncatedNormal::with_std_bounds(0.0, 1.0, alpha, beta).unwrap();
    match Sampler::new(&t.into(), DType::F32).unwrap().kind() {
        SamplerKind::TruncatedNormal(m) => m,
        k => panic!("{k:?}"),
    }
}

/// Largest scaled error |z - F⁻¹(u)| / max(1, |z|) of the truncated sample
/// on `[alpha, beta]` over the cells `i` with `pick(i)`, from both ends
/// (word `x` from the lower end, `!x` from the upper), against the f64
/// Newton reference on the same unit value.
fn trunc_error(alpha: f32, beta: f32, cells: u64, pick: impl Fn(u64) -> u64 + Sync) -> (f64, u32) {
    let mode = trunc_mode(alpha, beta);
    let (a, b) = (alpha as f64, beta as f64);
    let ln_w = ln_width(a, b);
    let ends = [RefEnd::new(a, ln_w), RefEnd::new(-b, ln_w)];
    let (e, at) = par_max(2 * cells, |i| {
        let upper = i & 1 == 1;
        let x = cell_word(pick(i >> 1));
        let w = if upper { !x } else { x };
        let got = truncated_std_normal(mode, w) as f64;
        let v = open_unit(x) as f64;
        let mirrored = if upper { -got } else { got };
        let want = ends[upper as usize].inverse(v, mirrored);
        let want = if upper { -want } else { want };
        (got - want).abs() / want.abs().max(1.0)
    });
    let x = cell_word(pick(at >> 1));
    (e, if at & 1 == 1 { !x } else { x })
}

/// Intervals (std units) of every kind: both ends finite around the mean,
/// half-lines, far tails (one side), intervals not holding the mean, very
/// narrow and very wide ones, and the deep tail where the asymptotic
/// formula takes over.
const INTERVALS: [(f32, f32); 23] = [
    (-2.0, 2.0),
    (f32::NEG_INFINITY, f32::INFINITY),
    (-1.0, 3.0),
    (-4.0, f32::INFINITY),
    (0.5, f32::INFINITY),
    (2.0, f32::INFINITY),
    (10.0, 11.0),
    (f32::NEG_INFINITY, -0.5),
    (0.5, 10.0),
    (-11.0, -10.0),
    (30.0, 31.0),
    (100.0, f32::INFINITY),
    (-1.0, 2.5), // jax_truncated_normal(0.1, 0.5, -1, 2.5)
    (-0.001, 0.001),
    (1.0, 1.0001),
    (5.0, 5.000_1),
    (-40.0, 40.0),
    (-3.0, -2.9),
    (1000.0, f32::INFINITY),
    (30000.0, 30001.0),
    (-50000.0, -49999.0),
    (-1e30, 1e30),
    (-1e-6, 5.0),
];

/// How many of [`INTERVALS`] (the first) go through every unit value: the
/// central polynomial, both tail polynomials and (`[10, 11]`) the asymptotic
/// formula.
const EXHAUSTIVE: usize = 7;

/// Every distinct unit value from each end (2 x 42 million per interval)
/// through the inverse CDF of the first intervals, against the f64
/// reference: |z - F⁻¹(u)| <= 1e-6 max(1, |z|). (That the values, clamped
/// and rounded, stay in [a, b] is `truncated_values_stay_inside_in_every_dtype`.)
#[test]
fn truncated_normal_exhaustive_over_unit_values() {
    let n = cell_count(31);
    for &(a, b) in &INTERVALS[..EXHAUSTIVE] {
        let (e, w) = trunc_error(a, b, n, |i| i);
        println!("truncated [{a}, {b}]: largest scaled error {e:.3e} (word {w:#010x}) over all {} unit values", 2 * n);
        assert!(e <= 1e-6, "[{a}, {b}]: {e:e} at word {w:#x}");
    }
}

/// The other intervals: every 7th unit value from each end, plus every
/// value within 2^16 cells of either end of the word range (the far tails
/// of each end and the values nearest the median).
#[test]
fn truncated_normal_strided_and_extremes() {
    let n = cell_count(31);
    for &(a, b) in &INTERVALS[EXHAUSTIVE..] {
        let (e1, w1) = trunc_error(a, b, n / 7, |i| 7 * i);
        let (e2, w2) = trunc_error(a, b, 1 << 17, |i| {
            if i < 1 << 16 {
                i
            } else {
                n - 1 - (i - (1 << 16))
            }
        });
        println!(
            "truncated [{a}, {b}]: largest scaled error {e1:.3e} (word {w1:#010x}) strided, {e2:.3e} (word {w2:#010x}) at the extremes"
        );
        assert!(
            e1 <= 1e-6 && e2 <= 1e-6,
            "[{a}, {b}]: {e1:e} at {w1:#x}, {e2:e} at {w2:#x}"
        );
    }
}

/// The extreme words give the extreme quantiles the word resolution allows,
/// never more: word 0 is F⁻¹(2^-33) and word 2^32 - 1 is F⁻¹(1 - 2^-33),
/// within the contract's error (the old 24-bit midpoint rounded the last
/// word to u = 1 and jumped to about 13 std on [-2, 2] in absolute units).
#[test]
fn truncated_normal_extreme_words() {
    for &(a, b) in &INTERVALS {
        let mode = trunc_mode(a, b);
        let ln_w = ln_width(a as f64, b as f64);
        let lo = truncated_std_normal(mode, 0) as f64;
        let hi = truncated_std_normal(mode, u32::MAX) as f64;
        let v = 2f64.powi(-33);
        let want_lo = RefEnd::new(a as f64, ln_w).inverse(v, lo);
        let want_hi = -RefEnd::new(-b as f64, ln_w).inverse(v, -hi);
        println!("[{a}, {b}]: word 0 -> {lo:.7}, word 2^32-1 -> {hi:.7}");
        for (got, want) in [(lo, want_lo), (hi, want_hi)] {
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "[{a}, {b}]: {got} vs {want}"
            );
        }
    }
    // The unbounded normal: the quantiles of u = 2^-33 and 1 - 2^-33.
    let mode = trunc_mode(f32::NEG_INFINITY, f32::INFINITY);
    let top = truncated_std_normal(mode, u32::MAX) as f64;
    let want = neg_ln_sf_inverse(33.0 * std::f64::consts::LN_2);
    assert!((top - want).abs() < 1e-5, "{top} vs {want}");
}

/// Through the sampler, with a mean and absolute bounds: the f32 value
/// `mean + std * z` against `mean + std * F⁻¹(u)` from the f64 reference,
/// the error in std units within 1e-6 max(1, |z|) plus the half ULP the
/// final f32 rounding of the value itself may add; every 97th unit value
/// from each end and every one within 2^12 of either end.
#[test]
fn truncated_sampler_with_mean_and_absolute_bounds() {
    let cases: [(f32, f32, f32, f32); 5] = [
        (0.5, 0.02, 0.46, 0.54),
        (0.0, 0.02, -2.0, 2.0),
        (0.1, 0.5, -0.4, 1.35),
        (-3.0, 0.25, -2.0, f32::INFINITY),
        (1.0, 2.0, f32::NEG_INFINITY, -3.0),
    ];
    let n = cell_count(31);
    for (mean, std, a, b) in cases {
        let t = TruncatedNormal::new(mean, std, a, b).unwrap();
        let s = Sampler::new(&t.into(), DType::F32).unwrap();
        let (alpha, beta) = t.std_bounds();
        let ln_w = ln_width(alpha, beta);
        let ends = [RefEnd::new(alpha, ln_w), RefEnd::new(-beta, ln_w)];
        let (m, sd) = (mean as f64, std as f64);
        let picks = n / 97 + (1 << 13);
        let (e, at) = par_max(2 * picks, |i| {
            let upper = i & 1 == 1;
            let j = i >> 1;
            let cell = if j < n / 97 {
                97 * j
            } else if j < n / 97 + (1 << 12) {
                j - n / 97
            } else {
                n - 1 - (j - n / 97 - (1 << 12))
            };
            let x = cell_word(cell);
            let w = if upper { !x } else { x };
            let got = s.sample_block([w; 4])[0] as f64;
            let z = (got - m) / sd;
            let start = if upper { -z } else { z };
            let zr = ends[upper as usize].inverse(open_unit(x) as f64, start);
            let zr = if upper { -zr } else { zr };
            let want = m + sd * zr;
            let half_ulp =
                (want as f32).abs().max(f32::MIN_POSITIVE) as f64 * f32::EPSILON as f64 / 2.0;
            let err = ((got - want).abs() - half_ulp).max(0.0) / sd;
            err / zr.abs().max(1.0)
        });
        println!("sampler trunc_normal(mean {mean}, std {std}, [{a}, {b}]): largest scaled error {e:.3e} (pick {at})");
        assert!(e <= 1e-6, "mean {mean} std {std} [{a}, {b}]: {e:e}");
    }
}

/// Every value lies in [a, b] after rounding to each dtype, for absolute
/// bounds near the tails: every cell from both ends, through the sampler.
#[test]
fn truncated_values_stay_inside_in_every_dtype() {
    let n = cell_count(31);
    let cases: [(f32, f32, f32, f32); 4] = [
        (0.0, 0.02, -0.04, 0.04),
        (0.0, 0.02, 0.01, 0.2),
        (0.1, 0.5, -0.4, 1.35),
        (1.0, 1.0, 1.5, f32::INFINITY),
    ];
    for (mean, std, a, b) in cases {
        let t = TruncatedNormal::new(mean, std, a, b).unwrap();
        for dtype in [DType::F32, DType::F16, DType::BF16] {
            let s = Sampler::new(&t.into(), dtype).unwrap();
            let (bad, at) = par_max(2 * n, |i| {
                let x = cell_word(i >> 1);
                let w = if i & 1 == 1 { !x } else { x };
                let v = dtype.round(s.sample_block([w, w, w, w])[0]);
                if v >= a && v <= b {
                    0.0
                } else {
                    1.0
                }
            });
            assert_eq!(bad, 0.0, "{dtype} [{a}, {b}]: outside at cell {at}");
        }
    }
}
