//! The CPU twin of `shaders/philox.wgsl`: the generator and the unit
//! transforms, function for function, with the same names in the same
//! order, and nothing else.
//!
//! Keep this file and the shader side by side: every function below names
//! the WGSL function it mirrors, does the same f32 operations in the same
//! order with the same constants (same literal text), so the GPU gives
//! these exact bits (`docs/CONTRACT.md`). `tests/twin.rs` checks that the
//! two files declare the same functions and constants in the same order;
//! `tests/shaders_validate.rs` that the constants have the same values.
//! Where the languages differ, the Rust twin keeps its own signature and
//! says how the shader spells it: a Rust enum ([`TruncMode`]) travels to
//! the shader as a mode code and two `vec4`s, tuples come back as vectors,
//! and the one generic polynomial of earlier versions is written out once
//! per length, as WGSL (no const generics) must.
//!
//! Everything here uses only what a shader has and WGSL fixes exactly:
//! integer arithmetic, single f32 `+ - *`, bit casts, compares and
//! selects, fixed-length loops. No f64, no libm, no builtin `ln`/`sin`/`cos`
//! (WGSL allows 2^-11 absolute error for `sin`, far too coarse for the
//! contract), no `sqrt` or division (2.5 ULP in WGSL): the crate's own
//! routines instead, and every chained operation through [`add`], [`sub`]
//! and [`mul`], fenced in the shader.
//!
//! What is not here: the public generator API built on these rounds
//! (streams, [`crate::philox::TensorKey`], `rand_core`, the AVX2 rounds) is
//! [`crate::philox`]; output types and the widening of 16-bit values are
//! [`crate::dtype`]; distributions are [`crate::dist`]; the host-side f64
//! preparation of a distribution's parameters and the batched sampling
//! built from these transforms are [`crate::sampler`].
//!
//! The polynomials were fitted by `scripts/fit_coefficients.py` (weighted
//! least squares in the Chebyshev basis, iterated towards minimax) and are
//! checked against f64 by `tests/accuracy.rs`.

use crate::sampler::{TruncEnd, TruncMode};

// ---------------------------------------------------------------------------
// mulhilo (shaders/mulhilo_{int64,emulated}.wgsl, which the host prepends)
// ---------------------------------------------------------------------------

/// The full 64-bit product of two words, as `(hi, lo)`.
///
/// Mirrors `mulhilo` of `shaders/mulhilo_int64.wgsl` (one widening
/// multiply) and `shaders/mulhilo_emulated.wgsl` (exact 16-bit halves, for
/// adapters without 64-bit integers); the host prepends one of them to
/// `philox.wgsl`, and both give these words.
#[inline(always)]
#[must_use]
pub fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = (a as u64) * (b as u64);
    ((p >> 32) as u32, p as u32)
}

// ---------------------------------------------------------------------------
// Philox4x32-10
// ---------------------------------------------------------------------------

/// First round multiplier (Random123 `PHILOX_M4x32_0`).
pub const PHILOX_M0: u32 = 0xD251_1F53;
/// Second round multiplier (Random123 `PHILOX_M4x32_1`).
pub const PHILOX_M1: u32 = 0xCD9E_8D57;
/// First key increment, the golden ratio (Random123 `PHILOX_W32_0`).
pub const PHILOX_W0: u32 = 0x9E37_79B9;
/// Second key increment, sqrt(3) - 1 (Random123 `PHILOX_W32_1`).
pub const PHILOX_W1: u32 = 0xBB67_AE85;

/// One Philox round: two multiplies, a cross and the key XOR. Mirrors
/// `philox_round`.
#[inline(always)]
fn philox_round(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (hi0, lo0) = mulhilo(PHILOX_M0, ctr[0]);
    let (hi1, lo1) = mulhilo(PHILOX_M1, ctr[2]);
    [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0]
}

/// Philox4x32 with 10 rounds: four output words for a counter and a key:
/// the first round with the key as given, then nine rounds each after
/// bumping the key (wrapping u32 adds). Mirrors `philox4x32_10`.
///
/// ```
/// use weight_init::philox::philox4x32_10;
/// // Random123 kat_vectors, first line.
/// assert_eq!(
///     philox4x32_10([0; 4], [0; 2]),
///     [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
/// );
/// ```
#[inline(always)]
#[must_use]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = ctr;
    let mut k = key;
    c = philox_round(c, k);
    for _ in 1..10 {
        k = [k[0].wrapping_add(PHILOX_W0), k[1].wrapping_add(PHILOX_W1)];
        c = philox_round(c, k);
    }
    c
}

/// The generator key for a seed: `(lo32(seed), hi32(seed))`. Mirrors
/// `key_of` (where a u64 already travels as `vec2<u32>(lo, hi)`, so the
/// shader's is the identity).
///
/// ```
/// use weight_init::philox::key_of;
/// assert_eq!(key_of(0x1234_5678_9abc_def0), [0x9abc_def0, 0x1234_5678]);
/// ```
#[inline(always)]
#[must_use]
pub fn key_of(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// The counter for a block of a stream:
/// `(lo32(block), hi32(block), lo32(stream), hi32(stream))`. Mirrors
/// `counter_of`.
///
/// ```
/// use weight_init::philox::{block_words, counter_of, key_of, philox4x32_10};
/// assert_eq!(counter_of(1 << 32 | 5, 7), [5, 1, 7, 0]);
/// assert_eq!(philox4x32_10(counter_of(3, 9), key_of(42)), block_words(42, 9, 3));
/// ```
#[inline(always)]
#[must_use]
pub fn counter_of(block: u64, stream: u64) -> [u32; 4] {
    [
        block as u32,
        (block >> 32) as u32,
        stream as u32,
        (stream >> 32) as u32,
    ]
}

/// The four words of block `block` (elements `4 * block .. 4 * block + 4`)
/// of tensor stream `stream` under `seed`. Mirrors `block_words`.
///
/// ```
/// use weight_init::philox::{block_words, philox4x32_10};
/// assert_eq!(block_words(0, 0, 0), philox4x32_10([0; 4], [0; 2]));
/// ```
#[inline(always)]
#[must_use]
pub fn block_words(seed: u64, stream: u64, block: u64) -> [u32; 4] {
    philox4x32_10(counter_of(block, stream), key_of(seed))
}

// ---------------------------------------------------------------------------
// Coefficients (generated by scripts/fit_coefficients.py; do not edit by hand)
// ---------------------------------------------------------------------------

/// ln(1+t) = t * P(t), t in [sqrt(1/2)-1, sqrt(2)-1]
pub(crate) const LOG1P: [f32; 10] = [
    1.0,
    -0.49999988,
    0.33333325,
    -0.25001585,
    0.20001969,
    -0.16609013,
    0.1418184,
    -0.1324347,
    0.12904634,
    -0.07621064,
];
/// sin(x) = x * P(x^2), x in [0, pi/4]
pub(crate) const SIN: [f32; 5] = [1.0, -0.16666667, 0.008333329, -0.00019839179, 2.717153e-06];
/// cos(x) = P(x^2), x in [0, pi/4]
pub(crate) const COS: [f32; 5] = [1.0, -0.5, 0.041666616, -0.0013886619, 2.437993e-05];
/// Phi^-1(1/2 + d) = d * P(d^2), |d| <= 0.35
pub(crate) const PROBIT_CENTRAL: [f32; 10] = [
    2.5066283, 2.6249385, 5.77166, 15.75463, 42.67414, 273.69754, -1599.3263, 22827.947,
    -113790.46, 329705.75,
];
/// Q^-1(exp(-r^2)) = P(r - TAIL_NEAR_R0), r in [sqrt(ln 2), 2]
pub(crate) const PROBIT_TAIL_NEAR: [f32; 11] = [
    6.223468e-08,
    2.0869036,
    -0.48410228,
    0.39157775,
    -0.33968666,
    0.29773372,
    -0.24021626,
    0.15899397,
    -0.07630819,
    0.022781001,
    -0.0031180566,
];
/// sqrt(ln 2): where the upper tail probability is 1/2.
pub(crate) const TAIL_NEAR_R0: f32 = 0.83255464;
/// Q^-1(exp(-r^2)) = P(r - 2), r in [2, 5]
pub(crate) const PROBIT_TAIL_FAR: [f32; 11] = [
    2.08985,
    1.630634,
    -0.075174145,
    0.0279774,
    -0.010707118,
    0.003992052,
    -0.0013296945,
    0.00035554278,
    -6.7982546e-05,
    8.0181835e-06,
    -4.3141654e-07,
];

/// ln 2 split so that `e * LN2_HI` is exact for any f32 exponent `e`.
const LN2_HI: f32 = 0.693_145_75; // 0x3f317200: 16 significant bits
const LN2_LO: f32 = 1.428_606_8e-6; // ln 2 - LN2_HI
/// ln(2 pi), for the asymptotic tail.
const LN_2PI: f32 = 1.837_877_1;
/// pi / 4 / 2^29: one step of the 29-bit fraction of an octant.
const OCTANT_STEP: f32 = core::f32::consts::FRAC_PI_4 / 536_870_912.0;
/// 2^-24, an exact power of two.
pub(crate) const TWO_M24: f32 = 1.0 / 16_777_216.0;
/// Bit pattern of sqrt(2) as the mantissa threshold for the log reduction.
const SQRT2_MANTISSA: u32 = 0x3fb5_04f3;
/// Seed of the inverse square root iteration (the bits of an f32 whose
/// halved exponent approximates `x^-1/2`; largest relative error 3.4e-3).
const RSQRT_MAGIC: u32 = 0x5f37_5a86;
/// Seed of the reciprocal iteration (largest relative error about 12%).
const RECIP_MAGIC: u32 = 0x7ef3_11c3;
/// Largest `r = sqrt(-ln Q)` the tail polynomials cover.
pub const TAIL_POLY_MAX_R: f32 = 5.0;
/// Where the central polynomial hands over to the tail.
const CENTRAL_MAX_D: f32 = 0.35;

// ---------------------------------------------------------------------------
// Unfused arithmetic
// ---------------------------------------------------------------------------
//
// The shader's first function here, `fence(x)`, has no CPU twin: it ORs
// the bits of `x` with a uniform that is zero at run time, only to keep a
// shader compiler from contracting or regrouping, and Rust never does
// either (nor reassociates). So `mul`, `add` and `sub` below are the
// plain operators.
//
// Every f32 operation below is one whose result IEEE 754 and WGSL both fix:
// integer arithmetic, a single `+`, `-` or `*` (correctly rounded in WGSL),
// compares, selects and sign-bit flips. A shader compiler still has
// liberties the CPU does not take: SPIR-V lets it contract `a * b + c`
// into a fused multiply-add, and GLSL, HLSL and fast-math Metal also let
// it reassociate (`(a + b) + c` as `a + (b + c)`); WGSL leaves `sqrt`,
// division and the transcendental builtins inexact. So every arithmetic
// result that feeds another arithmetic operation goes through [`add`],
// [`sub`] or [`mul`], whose WGSL twins OR the result's bits with a uniform
// that is zero at run time (`Params.fence`): the next operation then takes
// an integer result no compiler can know to equal the rounded value, so it
// can neither fuse nor regroup across it. Exact operations (products by
// powers of two of exact integers) are left bare. Square roots and
// reciprocals are the crate's own iterations ([`sqrt_f32`],
// [`recip_f32`]), built from the same operations.

/// `a * b`, rounded once; fenced in the WGSL twin (see above). Mirrors
/// `mul`.
#[inline(always)]
#[must_use]
pub fn mul(a: f32, b: f32) -> f32 {
    a * b
}

/// `a + b`, rounded once; fenced in the WGSL twin. Mirrors `add`.
#[inline(always)]
#[must_use]
pub fn add(a: f32, b: f32) -> f32 {
    a + b
}

/// `a - b`, rounded once; fenced in the WGSL twin. Mirrors `sub`.
#[inline(always)]
#[must_use]
pub fn sub(a: f32, b: f32) -> f32 {
    a - b
}

/// Square root of a positive, finite, normal f32, within about one ULP.
///
/// Two Newton steps on `x^-1/2` from a bit-pattern seed, then
/// `s = x y` and one correction `s + (y / 2)(x - s²)`. Only `+ - *` and
/// integer operations, so it is the same bits on every backend (WGSL's
/// `sqrt` is only accurate to 2.5 ULP and may differ per adapter).
/// Mirrors `sqrt_f32`.
///
/// ```
/// use weight_init::unstable::kernel::sqrt_f32;
/// assert!((sqrt_f32(2.0) - 2f32.sqrt()).abs() <= f32::EPSILON * 2.0);
/// ```
#[inline(always)]
#[must_use]
pub fn sqrt_f32(x: f32) -> f32 {
    let half = mul(0.5, x);
    let mut y = f32::from_bits(RSQRT_MAGIC.wrapping_sub(x.to_bits() >> 1));
    y = mul(y, sub(1.5, mul(mul(half, y), y)));
    y = mul(y, sub(1.5, mul(mul(half, y), y)));
    let s = mul(x, y);
    add(s, mul(mul(0.5, y), sub(x, mul(s, s))))
}

/// `1 / x` for a positive, finite, normal f32 whose reciprocal is normal,
/// within about one ULP: four Newton steps `y (2 - x y)` from a bit-pattern
/// seed (WGSL's division is only accurate to 2.5 ULP). Mirrors `recip_f32`.
///
/// ```
/// use weight_init::unstable::kernel::recip_f32;
/// assert!((recip_f32(3.0) - 1.0 / 3.0).abs() <= f32::EPSILON);
/// ```
#[inline(always)]
#[must_use]
pub fn recip_f32(x: f32) -> f32 {
    let mut y = f32::from_bits(RECIP_MAGIC.wrapping_sub(x.to_bits()));
    y = mul(y, sub(2.0, mul(x, y)));
    y = mul(y, sub(2.0, mul(x, y)));
    y = mul(y, sub(2.0, mul(x, y)));
    mul(y, sub(2.0, mul(x, y)))
}

// ---------------------------------------------------------------------------
// Polynomial evaluation
// ---------------------------------------------------------------------------
//
// Estrin's scheme, lowest coefficient first in `c`: adjacent pairs are
// combined as `lo + hi * x`, then pairs of pairs with `x²`, and so on. It
// does the same number of operations as Horner's rule but its chains are
// short, so independent lanes keep the floating point units busy. One
// function per length used (5, 10, 11), as WGSL (no const generics) must,
// written out level by level (the compiler does not unroll a general loop,
// and a rolled loop stops vectorization); the shader runs the same steps in
// the same order, with the same association of every `+` and `*`.

/// Estrin's scheme for 5 coefficients (SIN, COS). Mirrors `poly5`.
#[inline(always)]
fn poly5(c: &[f32; 5], x: f32) -> f32 {
    let x2 = mul(x, x);
    let x4 = mul(x2, x2);
    let a = add(c[0], mul(c[1], x));
    let b = add(c[2], mul(c[3], x));
    add(add(a, mul(b, x2)), mul(c[4], x4))
}

/// Estrin's scheme for 10 coefficients (LOG1P, PROBIT_CENTRAL). Mirrors
/// `poly10`.
#[inline(always)]
fn poly10(c: &[f32; 10], x: f32) -> f32 {
    let x2 = mul(x, x);
    let x4 = mul(x2, x2);
    let x8 = mul(x4, x4);
    let a = add(c[0], mul(c[1], x));
    let b = add(c[2], mul(c[3], x));
    let d = add(c[4], mul(c[5], x));
    let e = add(c[6], mul(c[7], x));
    let f = add(c[8], mul(c[9], x));
    let top = f;
    add(
        add(add(a, mul(b, x2)), mul(add(d, mul(e, x2)), x4)),
        mul(top, x8),
    )
}

/// Estrin's scheme for 11 coefficients (PROBIT_TAIL_NEAR,
/// PROBIT_TAIL_FAR): the odd last coefficient is carried up with `x²`.
/// Mirrors `poly11`.
#[inline(always)]
fn poly11(c: &[f32; 11], x: f32) -> f32 {
    let x2 = mul(x, x);
    let x4 = mul(x2, x2);
    let x8 = mul(x4, x4);
    let a = add(c[0], mul(c[1], x));
    let b = add(c[2], mul(c[3], x));
    let d = add(c[4], mul(c[5], x));
    let e = add(c[6], mul(c[7], x));
    let f = add(c[8], mul(c[9], x));
    let top = add(f, mul(c[10], x2));
    add(
        add(add(a, mul(b, x2)), mul(add(d, mul(e, x2)), x4)),
        mul(top, x8),
    )
}

// ---------------------------------------------------------------------------
// Integer to float, unit values
// ---------------------------------------------------------------------------

/// A u32 as the nearest f32 (ties to even), with a single rounding.
///
/// Built from two exact 16-bit conversions and one correctly rounded add,
/// because WGSL lets `f32(u32)` pick either neighbour of an inexact value.
/// Mirrors `u32_to_f32`.
///
/// ```
/// use weight_init::unstable::kernel::u32_to_f32;
/// assert_eq!(u32_to_f32(u32::MAX), 4294967296.0);
/// assert_eq!(u32_to_f32(0x0100_0001), 16777216.0); // tie, to even
/// ```
#[inline(always)]
#[must_use]
pub fn u32_to_f32(x: u32) -> f32 {
    add(mul((x >> 16) as f32, 65536.0), (x & 0xffff) as f32)
}

/// The unit uniform of a word: its top 24 bits times 2^-24, exactly.
/// Lies in `[0, 1 - 2^-24]`. Mirrors `unit_uniform`.
///
/// ```
/// use weight_init::unstable::kernel::unit_uniform;
/// assert_eq!(unit_uniform(0), 0.0);
/// assert_eq!(unit_uniform(u32::MAX), 1.0 - 2f32.powi(-24));
/// ```
#[inline(always)]
#[must_use]
pub fn unit_uniform(w: u32) -> f32 {
    ((w >> 8) as f32) * TWO_M24
}

/// A word as an exact value in `[-1, 1 - 2^-23]`: `2 * unit_uniform(w) - 1`,
/// with the subtraction done in integers (exact). Mirrors `signed_unit`.
#[inline(always)]
#[must_use]
pub fn signed_unit(w: u32) -> f32 {
    ((((w >> 8) << 1) as i32 - 16_777_216) as f32) * TWO_M24
}

/// A word as an exact value in the open interval `(0, 1)`, with the full
/// 32 bits of resolution near 0.
///
/// The word stands for the point `(x + 1/2) / 2^32`; this is the midpoint of
/// the f32 cell that holds it: with `s = max(0, bitlen(x) - 23)` low bits
/// dropped,
///
/// `open_unit(x) = (2 floor(x / 2^s) + 1) * 2^(s - 33)`,
///
/// an odd integer below 2^24 times a power of two, so exactly an f32. It lies
/// in `[2^-33, 1 - 2^-24]`, never 0 or 1, grows with `x`, and equals
/// `(x + 1/2) / 2^32` for `x < 2^23`. Mirrors `open_unit`.
///
/// ```
/// use weight_init::unstable::kernel::open_unit;
/// assert_eq!(open_unit(0), 2f32.powi(-33));
/// assert_eq!(open_unit(3), 3.5 / 4294967296.0);
/// assert_eq!(open_unit(u32::MAX), 1.0 - 2f32.powi(-24));
/// assert_eq!(open_unit(0x8000_0000), 0.5 + 2f32.powi(-24));
/// ```
#[inline(always)]
#[must_use]
pub fn open_unit(x: u32) -> f32 {
    let lz = x.leading_zeros();
    // Mirrors the WGSL select: bits below the f32 resolution of x.
    let s = 9u32.saturating_sub(lz);
    let k = ((x >> s) << 1) | 1;
    (k as f32) * f32::from_bits((94 + s) << 23)
}

// ---------------------------------------------------------------------------
// The crate's log, sin and cos
// ---------------------------------------------------------------------------

/// ln(1 + t) for `t` in `[sqrt(1/2) - 1, sqrt(2) - 1]` by a degree-10
/// polynomial; accurate near `t = 0` in relative terms. Mirrors
/// `ln1p_reduced`.
#[inline(always)]
#[must_use]
pub fn ln1p_reduced(t: f32) -> f32 {
    mul(t, poly10(&LOG1P, t))
}

/// Natural logarithm of a positive, finite, normal f32.
///
/// Reduction: `x = 2^e * m` with `m` in `[sqrt(1/2), sqrt(2))`, then
/// `ln x = e ln 2 + ln1p(m - 1)`; `m - 1` is exact. Inputs outside the domain
/// (zero, subnormal, negative, infinite, NaN) give an unspecified finite
/// value; the samplers never pass them. Mirrors `ln`.
///
/// ```
/// use weight_init::unstable::kernel::ln;
/// assert_eq!(ln(1.0), 0.0);
/// assert!((ln(10.0) - 10f32.ln()).abs() < 1e-6);
/// ```
#[inline(always)]
#[must_use]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = (bits & 0x007f_ffff) | 0x3f80_0000;
    if m > SQRT2_MANTISSA {
        m -= 0x0080_0000;
        e += 1;
    }
    let t = sub(f32::from_bits(m), 1.0);
    let ef = e as f32;
    add(mul(ef, LN2_HI), add(ln1p_reduced(t), mul(ef, LN2_LO)))
}

/// `(sin θ, cos θ)` for the angle `θ = 2π w / 2^32` of a word.
///
/// The octant (top 3 bits) is taken exactly in integers, so no argument
/// reduction error arises; within it a 29-bit offset from the nearer
/// multiple of π/2 goes through the degree-9 sine and degree-8 cosine
/// polynomials on `[0, π/4]`. Mirrors `sincos_turn`, which returns
/// `vec2(sin, cos)`.
///
/// ```
/// use weight_init::unstable::kernel::sincos_turn;
/// let (s, c) = sincos_turn(1 << 30); // a quarter turn
/// assert!((s - 1.0).abs() < 1e-7 && c.abs() < 1e-7);
/// ```
#[inline(always)]
#[must_use]
pub fn sincos_turn(w: u32) -> (f32, f32) {
    let octant = w >> 29;
    let low = w & 0x1fff_ffff;
    // Odd octants measure from the next multiple of pi/2, so x <= pi/4.
    let n = if octant & 1 == 1 {
        0x2000_0000 - low
    } else {
        low
    };
    let x = mul(u32_to_f32(n), OCTANT_STEP);
    let x2 = mul(x, x);
    let s = mul(x, poly5(&SIN, x2));
    let c = poly5(&COS, x2);
    // (sin, cos) of the angle within its quadrant, then rotated by the
    // quadrant: sign flips are exact, done on the sign bit.
    let odd = octant & 1 == 1;
    let (qs, qc) = (if odd { c } else { s }, if odd { s } else { c });
    let quadrant = octant >> 1;
    let swap = quadrant & 1 == 1;
    let sin = if swap { qc } else { qs };
    let cos = if swap { qs } else { qc };
    let sin_neg = (quadrant >> 1) << 31;
    let cos_neg = ((quadrant + 1) >> 1 & 1) << 31;
    (
        f32::from_bits(sin.to_bits() ^ sin_neg),
        f32::from_bits(cos.to_bits() ^ cos_neg),
    )
}

/// Box–Muller on a lane pair: `(r cos θ, r sin θ)` with
/// `r = sqrt(-2 ln u)`, `u = open_unit(w0)` (all 32 bits of `w0`, exact, in
/// `[2^-33, 1 - 2^-24]`), and `θ = 2π w1 / 2^32`. The even lane takes the
/// cosine branch, the odd lane the sine branch. Mirrors `box_muller`
/// (a `vec2`).
///
/// `|z|` never exceeds [`crate::sampler::NORMAL_MAX_ABS_Z`]; no word gives
/// NaN or infinity.
///
/// ```
/// use weight_init::unstable::kernel::box_muller;
/// let (z0, z1) = box_muller(0x1234_5678, 0x9abc_def0);
/// assert!(z0.is_finite() && z1.is_finite());
/// ```
#[inline(always)]
#[must_use]
pub fn box_muller(w0: u32, w1: u32) -> (f32, f32) {
    let r = sqrt_f32(mul(-2.0, ln(open_unit(w0))));
    let (s, c) = sincos_turn(w1);
    (mul(r, c), mul(r, s))
}

// ---------------------------------------------------------------------------
// Inverse normal CDF pieces for the truncated normal
// ---------------------------------------------------------------------------

/// `Φ⁻¹(1/2 + d)` for `|d| <= 0.35` (a degree-19 odd polynomial). Mirrors
/// `probit_central`.
#[inline(always)]
#[must_use]
pub fn probit_central(d: f32) -> f32 {
    mul(d, poly10(&PROBIT_CENTRAL, mul(d, d)))
}

/// `r = sqrt(y)`, with `y` raised to at least `ln 2` (`Q <= 1/2`) by a
/// compare-and-select. `TAIL_NEAR_R0 * TAIL_NEAR_R0` is an f32 product in
/// both languages. Mirrors `tail_radius`.
#[inline(always)]
#[must_use]
pub fn tail_radius(y: f32) -> f32 {
    let floor = TAIL_NEAR_R0 * TAIL_NEAR_R0;
    sqrt_f32(if y > floor { y } else { floor })
}

/// `Q⁻¹(exp(-r²))` for `r` in `[sqrt(ln 2), 5]`: two degree-10 polynomials,
/// split at `r = 2`, evaluated branch-free so the CPU backend vectorizes it.
/// Mirrors `probit_tail_poly` (which writes the selection out per
/// coefficient: WGSL `select` does not take arrays).
#[inline(always)]
#[must_use]
pub fn probit_tail_poly(r: f32) -> f32 {
    // Coefficients selected per lane, then one evaluation: the same
    // operations as evaluating the chosen polynomial alone.
    let near = r <= 2.0;
    let x = if near {
        sub(r, TAIL_NEAR_R0)
    } else {
        sub(r, 2.0)
    };
    let c: [f32; 11] = core::array::from_fn(|i| {
        if near {
            PROBIT_TAIL_NEAR[i]
        } else {
            PROBIT_TAIL_FAR[i]
        }
    });
    poly11(&c, x)
}

/// `Q⁻¹(exp(-y))` for `sqrt(y) > 5`: four fixed-point steps of the
/// asymptotic expansion `z² = 2y - ln 2π - 2 ln z + 2 ln(1 - z⁻² + 3 z⁻⁴ -
/// 15 z⁻⁶ + 105 z⁻⁸)` (Abramowitz & Stegun 26.2.12), from `z = sqrt(2y)`.
/// Mirrors `probit_tail_asymptotic`.
#[inline(always)]
#[must_use]
pub fn probit_tail_asymptotic(y: f32) -> f32 {
    let y2 = mul(2.0, y);
    let mut z = sqrt_f32(y2);
    for _ in 0..4 {
        let iz = recip_f32(mul(z, z));
        let series = mul(
            iz,
            add(-1.0, mul(iz, add(3.0, mul(iz, add(-15.0, mul(iz, 105.0)))))),
        );
        let sq = sub(sub(y2, LN_2PI), mul(2.0, ln(z)));
        z = sqrt_f32(add(sq, mul(2.0, ln1p_reduced(series))));
    }
    z
}

// ---------------------------------------------------------------------------
// Truncated normal
// ---------------------------------------------------------------------------
//
// The Rust twins take a [`TruncMode`] (see `crate::sampler`); WGSL has no
// enums, so the shader takes its mode code (`Params.mode`, one of the two
// constants below) and its parameters in two `vec4`s:
//   Inverse { width, neg_ln_width, lower, upper } -> TRUNC_INVERSE,
//     ta = (width, neg_ln_width, lower.h, upper.h),
//     tb = (lower.below, lower.above, upper.below, upper.above)
//   Pinned                                        -> TRUNC_PINNED
// Rust tuples `(z, y, sign)` come back from the shader as `vec3(z, y, sign)`.

/// The shader's mode code of [`TruncMode::Inverse`].
pub const TRUNC_INVERSE: u32 = 0;
/// The shader's mode code of [`TruncMode::Pinned`].
pub const TRUNC_PINNED: u32 = 1;

/// A truncated standard normal sample (std units) from a word `w`, by the
/// inverse CDF counted from the nearer end of the interval.
///
/// The top bit of `w` picks the end: 0 the lower end `alpha`, 1 the upper end
/// `beta`; the other 31 bits give the probability `v W` between that end and
/// the sample, `v = open_unit(w)` or `open_unit(!w)` (below 2^31, so
/// `v` is in `[2^-33, 1/2 - 2^-25]`, exact). In terms of one unit value,
/// the sample is `F⁻¹(u)` with `u = v` from the lower end and `u = 1 - v`
/// from the upper end. Counting from the nearer end keeps every tail
/// probability free of cancellation: near the far end of an interval,
/// `1 - u` would otherwise be lost to rounding. The asymptotic formula
/// serves the rare deep-tail words whose tail radius exceeds
/// [`TAIL_POLY_MAX_R`]. Mirrors `truncated_std_normal`.
///
/// With `d = h + v W` (`Φ(z) - 1/2` of the mirrored sample): the central
/// polynomial for `|d| <= 0.35`; beyond, `y = -ln(below + v)` (lower tail)
/// or `y = -ln(above - v)` (upper tail) plus `-ln W`, and `z = ±Q⁻¹(e^-y)`.
///
/// ```
/// use weight_init::unstable::kernel::truncated_std_normal;
/// use weight_init::sampler::{Sampler, SamplerKind};
/// use weight_init::{DType, TruncatedNormal};
/// let t = TruncatedNormal::with_std_bounds(0.0, 1.0, -2.0, 2.0).unwrap();
/// let s = Sampler::new(&t.into(), DType::F32).unwrap();
/// let SamplerKind::TruncatedNormal(mode) = s.kind() else { unreachable!() };
/// // The median: the last word counted from the lower end.
/// assert!(truncated_std_normal(mode, 0x7fff_ffff).abs() < 1e-6);
/// // Words w and !w mirror each other on a symmetric interval.
/// assert_eq!(truncated_std_normal(mode, 5), -truncated_std_normal(mode, !5));
/// ```
#[inline(always)]
#[must_use]
pub fn truncated_std_normal(mode: TruncMode, w: u32) -> f32 {
    let (z, y, sign) = truncated_std_normal_common(mode, w);
    if tail_radius(y) > TAIL_POLY_MAX_R {
        mul(sign, probit_tail_asymptotic(y))
    } else {
        z
    }
}

/// The truncated sample for every word whose tail radius `sqrt(y)` is at
/// most [`TAIL_POLY_MAX_R`], with that `y` (`-ln` of the tail probability,
/// 0 where the central polynomial applies) and the sign a tail sample
/// takes. Branch-free, so the CPU backend runs it on whole vectors and
/// fixes the rare deep-tail lanes afterwards with [`truncated_std_normal`].
/// Mirrors `truncated_std_normal_common` (mode `TRUNC_INVERSE` or
/// `TRUNC_PINNED`).
#[inline(always)]
pub(crate) fn truncated_std_normal_common(mode: TruncMode, w: u32) -> (f32, f32, f32) {
    match mode {
        TruncMode::Inverse {
            width,
            neg_ln_width,
            lower,
            upper,
        } => truncated_inverse(width, neg_ln_width, lower, upper, w),
        TruncMode::Pinned => (0.0, 0.0, 1.0),
    }
}

/// [`TruncMode::Inverse`] on one word: the top bit picks the end (0 lower,
/// 1 upper mirrored), the other 31 bits the probability `v W` from it; see
/// [`truncated_std_normal`]. Mirrors `truncated_inverse` (whose `ta`, `tb`
/// carry `width`, `neg_ln_width` and the two ends).
#[inline(always)]
fn truncated_inverse(
    width: f32,
    neg_ln_width: f32,
    lower: TruncEnd,
    upper: TruncEnd,
    w: u32,
) -> (f32, f32, f32) {
    let from_upper = w >> 31 == 1;
    let end = if from_upper { upper } else { lower };
    let v = open_unit(if from_upper { !w } else { w });
    let d = add(end.h, mul(v, width));
    let below = d < 0.0;
    let t = if below {
        add(end.below, v)
    } else {
        sub(end.above, v)
    };
    let y = sub(neg_ln_width, ln(t));
    let tail = probit_tail_poly(tail_radius(y));
    let central = probit_central(d);
    // The sign of a tail sample: the side of the mean, flipped back for
    // the mirrored upper end.
    let sign = if below != from_upper { -1.0 } else { 1.0 };
    let in_centre = d.abs() <= CENTRAL_MAX_D;
    let z = if in_centre {
        if from_upper {
            -central
        } else {
            central
        }
    } else {
        mul(sign, tail)
    };
    (z, if in_centre { 0.0 } else { y }, sign)
}

// ---------------------------------------------------------------------------
// Output dtypes and rounding
// ---------------------------------------------------------------------------

/// f32 to bfloat16 bits, round-to-nearest-even in integer arithmetic.
/// NaN stays NaN (quiet); overflow goes to infinity, as IEEE rounding does.
/// Mirrors `f32_to_bf16_bits` (the shader's bits in the low half of a u32).
///
/// ```
/// use weight_init::dtype::f32_to_bf16_bits;
/// assert_eq!(f32_to_bf16_bits(1.0), 0x3f80);
/// assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3f80_8000)), 0x3f80); // tie, to even
/// assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3f81_8000)), 0x3f82); // tie, to even
/// ```
#[inline(always)]
#[must_use]
pub fn f32_to_bf16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    if b & 0x7fff_ffff > 0x7f80_0000 {
        return ((b >> 16) | 0x0040) as u16;
    }
    ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// f32 to IEEE binary16 bits, round-to-nearest-even in integer arithmetic,
/// subnormals included. NaN stays NaN (quiet); overflow goes to infinity.
/// Mirrors `f32_to_f16_bits` (the shader's bits in the low half of a u32).
///
/// ```
/// use weight_init::dtype::f32_to_f16_bits;
/// assert_eq!(f32_to_f16_bits(1.0), 0x3c00);
/// assert_eq!(f32_to_f16_bits(65520.0), 0x7c00); // tie between 65504 and 2^16: to even (inf)
/// assert_eq!(f32_to_f16_bits(2f32.powi(-24)), 0x0001); // smallest subnormal
/// ```
#[inline(always)]
#[must_use]
pub fn f32_to_f16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = (b >> 16) & 0x8000;
    let a = b & 0x7fff_ffff;
    let h = if a > 0x7f80_0000 {
        0x7e00
    } else if a >= 0x477f_f000 {
        0x7c00
    } else if a >= 0x3880_0000 {
        // Normal: rebias the exponent (127 -> 15) and round off 13 bits.
        let m = a - 0x3800_0000;
        (m + 0x0fff + ((m >> 13) & 1)) >> 13
    } else if a <= 0x3300_0000 {
        // At most 2^-25: rounds to zero (2^-25 itself is a tie, to even).
        0
    } else {
        // Subnormal: the significand shifted to units of 2^-24, rounded.
        // Here 102 <= e <= 112, so 14 <= shift <= 24.
        let e = a >> 23;
        let mant = (a & 0x007f_ffff) | 0x0080_0000;
        let shift = 126 - e;
        let q = mant >> shift;
        let rem = mant & ((1 << shift) - 1);
        let half = 1 << (shift - 1);
        q + (rem > half || (rem == half && q & 1 == 1)) as u32
    };
    (sign | h) as u16
}
