//! Tier 2: the crate's own `ln`, `sin`/`cos` and the samples built from them,
//! against f64 computations on the same inputs.
//!
//! Each test prints the largest error it saw (`cargo test --release --test
//! accuracy -- --nocapture`). Domains are covered exhaustively where that is
//! fast in a release build, otherwise by a stated dense subset plus every
//! input near the points where the algorithm switches branch.

use weight_init::sample::{
    box_muller, ln, ln_unit_open, probit_upper_tail, sincos_turn, truncated_std_normal, TruncMode,
};
use weight_init::stats::{neg_ln_sf_inverse, normal_cdf};

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

/// ln((w + 1/2) / 2^32), the Box–Muller radius input, over every 7th word
/// (614 million) and every word within 2^16 of each end and of the branch
/// switch. Absolute error where the result is below 1 in magnitude, else
/// relative.
#[test]
fn ln_unit_open_matches_f64_over_words() {
    let err = |w: u32| {
        let got = ln_unit_open(w) as f64;
        let want = ((w as f64 + 0.5) / 4294967296.0).ln();
        (got - want).abs() / want.abs().max(1.0)
    };
    let (e1, at1) = par_max((1u64 << 32) / 7, |i| err((7 * i) as u32));
    let mut e2 = 0.0f64;
    for base in [0u32, 0xff00_0000 - (1 << 16), 0u32.wrapping_sub(1 << 16)] {
        for k in 0..(1u32 << 17).min(u32::MAX - base) {
            e2 = e2.max(err(base + k));
        }
    }
    println!("ln_unit_open: largest error {e1:.3e} (w = {:#x}) strided, {e2:.3e} at the edges and the branch switch", 7 * at1);
    assert!(e1 <= 2.5e-7 && e2 <= 2.5e-7, "{e1:e} {e2:e}");
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
        let u = (w0 as f64 + 0.5) / 4294967296.0;
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

/// The central truncated sample against the f64 inverse CDF for [-2, 2]:
/// z = Φ⁻¹(Φ(-2) + u (Φ(2) - Φ(-2))).
#[test]
fn truncated_central_matches_f64() {
    let (a, b) = (-2.0f64, 2.0f64);
    let h_lo = normal_cdf(a) - 0.5;
    let mode = TruncMode::Central {
        h_lo: h_lo as f32,
        h_width: (normal_cdf(b) - normal_cdf(a)) as f32,
    };
    let mut worst = 0.0f64;
    for k in 0..(1u32 << 20) {
        let u = ((k << 4) | 8) as f32 / 16777216.0;
        let got = truncated_std_normal(mode, u) as f64;
        // Reference from the same f32 d, so only the transform's own error
        // is measured.
        let (hl, hw) = mode_h(mode);
        let d = (hl + u * hw) as f64;
        let want = if d <= 0.0 {
            -neg_ln_sf_inverse(-(0.5 + d).ln())
        } else {
            neg_ln_sf_inverse(-(0.5 - d).ln())
        };
        worst = worst.max((got - want).abs() / want.abs().max(1.0));
    }
    println!("truncated central [-2, 2]: largest error {worst:.3e}");
    assert!(worst <= 5e-7, "{worst:e}");
}

fn mode_h(mode: TruncMode) -> (f32, f32) {
    match mode {
        TruncMode::Central { h_lo, h_width } => (h_lo, h_width),
        _ => unreachable!(),
    }
}
