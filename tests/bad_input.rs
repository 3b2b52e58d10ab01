//! Tier 5: bad input gets an error value, never a panic, and writes nothing.

use weight_init::{cpu, DType, Distribution, Error, Normal, TensorKey, TruncatedNormal, Uniform};

const SENTINEL: f32 = 12345.0;

#[test]
fn invalid_parameters() {
    let nan = f32::NAN;
    let inf = f32::INFINITY;
    for (lo, hi) in [
        (nan, 1.0),
        (0.0, nan),
        (-inf, 1.0),
        (0.0, inf),
        (1.0, 1.0),
        (2.0, 1.0),
    ] {
        assert!(
            matches!(Uniform::new(lo, hi), Err(Error::InvalidParameter { .. })),
            "uniform({lo}, {hi})"
        );
    }
    for (m, s) in [
        (nan, 1.0),
        (inf, 1.0),
        (0.0, 0.0),
        (0.0, -1.0),
        (0.0, nan),
        (0.0, inf),
    ] {
        assert!(
            matches!(Normal::new(m, s), Err(Error::InvalidParameter { .. })),
            "normal({m}, {s})"
        );
        assert!(
            TruncatedNormal::new(m, s, -1.0, 1.0).is_err(),
            "trunc({m}, {s})"
        );
        assert!(TruncatedNormal::with_std_bounds(m, s, -1.0, 1.0).is_err());
    }
    for (a, b) in [
        (1.0, 1.0),
        (1.0, -1.0),
        (nan, 1.0),
        (0.0, nan),
        (inf, inf),
        (-inf, -inf),
        (inf, 1.0),
    ] {
        assert!(
            TruncatedNormal::new(0.0, 1.0, a, b).is_err(),
            "trunc a={a} b={b}"
        );
        assert!(
            TruncatedNormal::with_std_bounds(0.0, 1.0, a, b).is_err(),
            "trunc std a={a} b={b}"
        );
    }
    assert!(Distribution::constant(nan).is_err());
    assert!(Distribution::constant(-inf).is_err());
    // The message names the parameter.
    let msg = Normal::new(0.0, -2.0).unwrap_err().to_string();
    assert!(msg.contains("std") && msg.contains("-2"), "{msg}");
}

fn fresh(n: usize) -> Vec<f32> {
    vec![SENTINEL; n]
}

#[test]
fn bad_ranges_and_lengths_write_nothing() {
    let d: Distribution = Normal::new(0.0, 1.0).unwrap().into();
    let key = TensorKey::new(1, 2, 100);
    // Past the end.
    let mut out = fresh(10);
    let e = cpu::fill_f32(&d, &key, 95..105, &mut out).unwrap_err();
    assert!(
        matches!(
            e,
            Error::RangeOutOfBounds {
                start: 95,
                end: 105,
                len: 100
            }
        ),
        "{e}"
    );
    assert!(out.iter().all(|&x| x == SENTINEL));
    // Inverted.
    #[allow(clippy::reversed_empty_ranges)]
    let e = cpu::fill_f32(&d, &key, 10..5, &mut out).unwrap_err();
    assert!(matches!(e, Error::RangeOutOfBounds { .. }));
    // Output of the wrong length, shorter and longer.
    for len in [9, 11] {
        let mut out = fresh(len);
        let e = cpu::fill_f32(&d, &key, 0..10, &mut out).unwrap_err();
        assert!(matches!(e, Error::OutputLength { expected: 10, .. }), "{e}");
        assert!(out.iter().all(|&x| x == SENTINEL));
    }
    // Bytes: the length counts bytes of the dtype.
    let mut bytes = vec![0xaau8; 19];
    let e = cpu::fill_bytes(&d, DType::F16, &key, 0..10, &mut bytes).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutputLength {
                expected: 20,
                got: 19,
                unit: "bytes"
            }
        ),
        "{e}"
    );
    assert!(bytes.iter().all(|&b| b == 0xaa));
    // fill_u16 with a 32-bit dtype.
    let mut h = vec![7u16; 10];
    assert!(cpu::fill_u16(&d, DType::F32, &key, 0..10, &mut h).is_err());
    assert!(h.iter().all(|&x| x == 7));
    // An empty range is fine and writes nothing.
    cpu::fill_f32(&d, &key, 100..100, &mut []).unwrap();
}

#[test]
fn unrepresentable_in_dtype() {
    let key = TensorKey::new(1, 2, 8);
    let mut h = vec![7u16; 8];
    // f16 tops out at 65504.
    for d in [
        Distribution::from(Uniform::new(-1e5, 1e5).unwrap()),
        Normal::new(0.0, 2e4).unwrap().into(),
        Distribution::constant(1e6).unwrap(),
        TruncatedNormal::new(0.0, 1e5, 0.0, f32::INFINITY)
            .unwrap()
            .into(),
        // No bf16 value in [2.001, 2.013] (bf16 spacing at 2 is 1/64).
        TruncatedNormal::new(2.0, 1.0, 2.001, 2.013).unwrap().into(),
    ] {
        let dt = if matches!(d, Distribution::TruncatedNormal(t) if t.bounds().0 > 2.0) {
            DType::BF16
        } else {
            DType::F16
        };
        let e = cpu::fill_u16(&d, dt, &key, 0..8, &mut h).unwrap_err();
        assert!(matches!(e, Error::Unrepresentable { .. }), "{d}: {e}");
        assert!(h.iter().all(|&x| x == 7));
    }
    // The same distributions are fine in f32.
    let mut f = vec![0f32; 8];
    cpu::fill_f32(&Uniform::new(-1e5, 1e5).unwrap().into(), &key, 0..8, &mut f).unwrap();
}

/// Uniform never returns `high`, in any dtype, even where rounding the f32
/// sample to the dtype would land on it.
#[test]
fn uniform_high_is_excluded_after_rounding() {
    let n = 1 << 20;
    let key = TensorKey::new(3, 4, n);
    let d: Distribution = Uniform::new(0.0, 1.0).unwrap().into();
    for dt in [DType::F16, DType::BF16] {
        let mut h = vec![0u16; n as usize];
        cpu::fill_u16(&d, dt, &key, 0..n, &mut h).unwrap();
        let one = if dt == DType::F16 { 0x3c00 } else { 0x3f80 };
        assert!(h.iter().all(|&x| x < one), "{dt}");
    }
}

/// The (name, value, reason) of a parameter error, NaN compared as NaN.
fn parameter_error<T: core::fmt::Debug>(
    r: weight_init::Result<T>,
) -> (&'static str, f64, &'static str) {
    match r {
        Err(Error::InvalidParameter {
            name,
            value,
            reason,
        }) => (name, value, reason),
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

#[track_caller]
fn assert_parameter_error<T: core::fmt::Debug>(
    r: weight_init::Result<T>,
    want: (&'static str, f64, &'static str),
) {
    let got = parameter_error(r);
    assert_eq!((got.0, got.2), (want.0, want.2));
    assert!(
        got.1.to_bits() == want.1.to_bits() || (got.1.is_nan() && want.1.is_nan()),
        "value {} != {}",
        got.1,
        want.1
    );
}

/// Every rule of the distribution family, f32 (`weight_init::dist`) and f64
/// (`weight_init::scheme`), names the parameter, keeps the value as given
/// and says its reason: pinned so that one home for the checks keeps them.
#[test]
fn parameter_errors_name_value_and_reason() {
    use weight_init::scheme::{Bounds, JaxTruncatedNormal, MeanStd, TruncNormal};
    const FINITE: &str = "must be finite";
    const POSITIVE: &str = "must be finite and > 0";
    const NOT_NAN: &str = "must not be NaN";
    const ORDER_LOW: &str = "must be greater than `low`";
    const ORDER_A: &str = "must be greater than `a` (and the interval non-empty)";
    const ORDER_SCHEME: &str = "must be greater than the lower bound (and the interval non-empty)";
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    let (nan32, inf32) = (f32::NAN, f32::INFINITY);

    // f32 family.
    assert_parameter_error(Uniform::new(nan32, 1.0), ("low", nan, FINITE));
    assert_parameter_error(Uniform::new(0.0, inf32), ("high", inf, FINITE));
    assert_parameter_error(Uniform::new(1.0, 1.0), ("high", 1.0, ORDER_LOW));
    assert_parameter_error(Uniform::new(2.0, 0.5), ("high", 0.5, ORDER_LOW));
    assert_parameter_error(Normal::new(-inf32, 1.0), ("mean", -inf, FINITE));
    assert_parameter_error(Normal::new(0.0, 0.0), ("std", 0.0, POSITIVE));
    assert_parameter_error(Normal::new(0.0, inf32), ("std", inf, POSITIVE));
    assert_parameter_error(
        TruncatedNormal::new(nan32, 1.0, -1.0, 1.0),
        ("mean", nan, FINITE),
    );
    assert_parameter_error(
        TruncatedNormal::new(0.0, -1.0, -1.0, 1.0),
        ("std", -1.0, POSITIVE),
    );
    assert_parameter_error(
        TruncatedNormal::new(0.0, 1.0, nan32, 1.0),
        ("a", nan, NOT_NAN),
    );
    assert_parameter_error(
        TruncatedNormal::new(0.0, 1.0, -1.0, nan32),
        ("b", nan, NOT_NAN),
    );
    assert_parameter_error(
        TruncatedNormal::new(0.0, 1.0, 1.0, -1.0),
        ("b", -1.0, ORDER_A),
    );
    assert_parameter_error(
        TruncatedNormal::new(0.0, 1.0, inf32, inf32),
        ("b", inf, ORDER_A),
    );
    assert_parameter_error(
        TruncatedNormal::new(0.0, 1.0, -inf32, -inf32),
        ("b", -inf, ORDER_A),
    );
    assert_parameter_error(
        TruncatedNormal::with_std_bounds(0.0, 0.0, -2.0, 2.0),
        ("std", 0.0, POSITIVE),
    );
    assert_parameter_error(
        TruncatedNormal::with_std_bounds(0.0, 1.0, nan32, 2.0),
        ("lower", nan, NOT_NAN),
    );
    assert_parameter_error(
        TruncatedNormal::with_std_bounds(0.0, 1.0, -2.0, nan32),
        ("upper", nan, NOT_NAN),
    );
    assert_parameter_error(
        TruncatedNormal::with_std_bounds(1.0, 0.5, 2.0, -2.0),
        ("b", 0.0, ORDER_A),
    );
    assert_parameter_error(Distribution::constant(nan32), ("value", nan, FINITE));

    // f64 family (the schemes' parameters).
    assert_parameter_error(Bounds::new(-inf, 1.0), ("low", -inf, FINITE));
    assert_parameter_error(Bounds::new(0.0, nan), ("high", nan, FINITE));
    assert_parameter_error(Bounds::new(1.0, 1.0), ("high", 1.0, ORDER_SCHEME));
    assert_parameter_error(MeanStd::new(inf, 1.0), ("mean", inf, FINITE));
    assert_parameter_error(MeanStd::new(0.0, -0.5), ("std", -0.5, POSITIVE));
    assert_parameter_error(MeanStd::new(0.0, nan), ("std", nan, POSITIVE));
    assert_parameter_error(TruncNormal::new(nan, 1.0, -2.0, 2.0), ("mean", nan, FINITE));
    assert_parameter_error(
        TruncNormal::new(0.0, 0.0, -2.0, 2.0),
        ("std", 0.0, POSITIVE),
    );
    assert_parameter_error(TruncNormal::new(0.0, 1.0, nan, 2.0), ("a", nan, NOT_NAN));
    assert_parameter_error(TruncNormal::new(0.0, 1.0, -2.0, nan), ("b", nan, NOT_NAN));
    assert_parameter_error(
        TruncNormal::new(0.0, 1.0, 2.0, -2.0),
        ("b", -2.0, ORDER_SCHEME),
    );
    assert_parameter_error(
        TruncNormal::new(0.0, 1.0, inf, inf),
        ("b", inf, ORDER_SCHEME),
    );
    assert_parameter_error(
        JaxTruncatedNormal::new(0.0, -1.0, -2.0, 2.0),
        ("std", -1.0, POSITIVE),
    );
    assert_parameter_error(
        JaxTruncatedNormal::new(0.0, 1.0, nan, 2.0),
        ("lower", nan, NOT_NAN),
    );
    assert_parameter_error(
        JaxTruncatedNormal::new(0.0, 1.0, 2.0, -2.0),
        ("upper", -2.0, ORDER_SCHEME),
    );
    assert_parameter_error(
        JaxTruncatedNormal::new(0.0, 1.0, -inf, -inf),
        ("upper", -inf, ORDER_SCHEME),
    );
}
