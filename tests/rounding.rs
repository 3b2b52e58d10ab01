//! f32 -> f16 / bf16 rounding equals the `half` crate's round-to-nearest-even
//! on every boundary and tie case and on 10^6 random f32 values, subnormals
//! included.

use weight_init::dtype::{bf16_bits_to_f32, f16_bits_to_f32};
use weight_init::dtype::{f32_to_bf16_bits, f32_to_f16_bits};
use weight_init::DType;

fn check(x: f32) {
    let h = f32_to_f16_bits(x);
    let b = f32_to_bf16_bits(x);
    if x.is_nan() {
        assert!(
            f16_bits_to_f32(h).is_nan() && bf16_bits_to_f32(b).is_nan(),
            "{x}"
        );
        return;
    }
    assert_eq!(
        h,
        half::f16::from_f32(x).to_bits(),
        "f16 of {x:e} ({:#010x})",
        x.to_bits()
    );
    assert_eq!(
        b,
        half::bf16::from_f32(x).to_bits(),
        "bf16 of {x:e} ({:#010x})",
        x.to_bits()
    );
}

/// Every f16 and bf16 value, the exact midpoints between neighbours (ties),
/// and one f32 ULP either side of each midpoint.
#[test]
fn all_boundaries_and_ties() {
    let mut n = 0u64;
    for h in 0..=u16::MAX {
        // f16: the value, then around the midpoint to the next value up.
        let v = f16_bits_to_f32(h);
        if v.is_finite() {
            let next = f16_bits_to_f32(h.wrapping_add(1));
            let mid = ((v as f64 + next as f64) / 2.0) as f32; // exact in f32
            for x in [
                v,
                mid,
                f32::from_bits(mid.to_bits() - 1),
                f32::from_bits(mid.to_bits() + 1),
            ] {
                check(x);
                n += 1;
            }
        }
        // bf16: midpoints are the patterns with low half 0x8000.
        let hi = (h as u32) << 16;
        for low in [0u32, 0x7fff, 0x8000, 0x8001, 0xffff] {
            check(f32::from_bits(hi | low));
            n += 1;
        }
    }
    // The f16 overflow threshold and the zero/subnormal threshold.
    for x in [
        65504.0f32,
        65519.996,
        65520.0,
        65536.0,
        2f32.powi(-24),
        2f32.powi(-25),
        2f32.powi(-26),
        3.0 * 2f32.powi(-26),
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::INFINITY,
        f32::NAN,
        -0.0,
    ] {
        check(x);
        check(-x);
    }
    println!("{n} boundary and tie cases");
}

/// 10^6 random bit patterns (all exponents, so subnormals and huge values
/// too), from a fixed splitmix sequence.
#[test]
fn random_f32_values() {
    let mut s = 0x1234_5678_9abc_def0u64;
    for _ in 0..1_000_000 {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        check(f32::from_bits(z as u32));
        // Bias half the draws to the f16 range, where rounding is busiest.
        let near = (z >> 32) as u32 & 0x87ff_ffff | 0x3000_0000;
        check(f32::from_bits(near));
    }
}

#[test]
fn dtype_ceil_floor_below() {
    for dtype in [DType::F32, DType::F16, DType::BF16] {
        for x in [0.46f64, -0.04, 0.54, 1.0, 2.001, -3.7, 1e-6] {
            let c = dtype.ceil(x);
            let f = dtype.floor(x);
            let b = dtype.below(x);
            assert!(c as f64 >= x && dtype.round(c) == c, "{dtype} ceil {x}");
            assert!(f as f64 <= x && dtype.round(f) == f, "{dtype} floor {x}");
            assert!((b as f64) < x && dtype.round(b) == b, "{dtype} below {x}");
            // Minimal and maximal: ceil and floor are the same value or
            // neighbours in the dtype (all test points are one-signed).
            let bits = |v: f32| -> i64 {
                let b = match dtype {
                    DType::F32 => v.to_bits() as i64,
                    DType::F16 => f32_to_f16_bits(v) as i64,
                    DType::BF16 => f32_to_bf16_bits(v) as i64,
                    other => panic!("no bit pattern for {other}"),
                };
                if v < 0.0 {
                    -(b & 0x7fff_ffff & !(0x8000 * (dtype != DType::F32) as i64))
                } else {
                    b
                }
            };
            assert!((bits(c) - bits(f)).abs() <= 1, "{dtype} {x}: {f} {c}");
            assert!((bits(f) - bits(b)).abs() <= 1, "{dtype} {x}: {b} {f}");
        }
    }
}
