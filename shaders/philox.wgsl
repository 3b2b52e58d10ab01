// philox.wgsl: the generator and the unit transforms shared by every fill
// kernel. The kernel interface (bindings, Params, indexing, stores) is in
// kernel_io.wgsl.
//
// This file is the line-for-line twin of `src/kernel.rs` (tests/twin.rs);
// keep them side by side. Every function below names the Rust function it
// mirrors. The same constants (same f32 literal text, parsed straight to f32
// thanks to the `f` suffix, so no double rounding through f64), and the same
// floating-point operations in the same order, so that the GPU reproduces
// the CPU bit for bit.
//
// Why the bits are the same on any conforming implementation: every f32
// operation here is one whose result WGSL fixes exactly: integer
// arithmetic, bit casts, compares, selects, and a single `+`, `-` or `*`
// (correctly rounded in WGSL). What a compiler may still do is rewrite
// expressions: SPIR-V (Vulkan) lets it contract a product and an add into a
// fused multiply-add, and GLSL, HLSL and fast-math Metal without `precise`
// also let it reassociate and refactor (seen on llvmpipe's GL driver: the
// four terms of an Estrin polynomial summed in another order). So every
// arithmetic result that feeds another arithmetic operation goes through
// `add`, `sub` or `mul`, which OR the result's bits with `p.fence`, a
// uniform the host always sets to 0. The next operation then takes an
// integer result that the compiler cannot know to equal the rounded value
// (a uniform's contents are not known when the pipeline is compiled), so
// it can neither fuse nor regroup across it: each operation is rounded on
// its own, in the written order, exactly as the CPU does. Exact operations
// (an exact integer times a power of two) are left bare: no rewrite can
// change their result.
//
// What is deliberately NOT used, and why:
// - WGSL `log`, `exp`, `sin`, `cos`: their WGSL accuracy (2^-11 absolute for
//   sin/cos) is far too coarse and varies by driver; the crate's own
//   polynomials are used instead.
// - WGSL `sqrt` and `/`: only accurate to 2.5 ULP; the crate's own
//   sqrt_f32 and recip_f32 iterations are used instead.
// - `fma`: may or may not be fused depending on the backend.
// - `min`, `max`, `clamp` on floats: their NaN behaviour is unspecified; the
//   compare-and-select forms below match Rust's exactly.
// - f64 and (in this file) u64: not available everywhere.
//
// Which files make up each module, in which order: the shader table in
// src/gpu/shaders.rs. Every module starts with one of
// mulhilo_{emulated,int64}.wgsl, which provides
// `mulhilo(a, b) -> vec2<u32>(hi, lo)`; `p.fence` (see `mul`) is a field of
// kernel_io.wgsl's `Params`.

// ---------------------------------------------------------------------------
// Philox4x32-10 (src/kernel.rs; the public generator is src/philox.rs)
// ---------------------------------------------------------------------------

// First round multiplier (Random123 PHILOX_M4x32_0). philox::PHILOX_M0.
const PHILOX_M0: u32 = 0xD2511F53u;
// Second round multiplier (Random123 PHILOX_M4x32_1). philox::PHILOX_M1.
const PHILOX_M1: u32 = 0xCD9E8D57u;
// First key increment, the golden ratio (Random123 PHILOX_W32_0). philox::PHILOX_W0.
const PHILOX_W0: u32 = 0x9E3779B9u;
// Second key increment, sqrt(3) - 1 (Random123 PHILOX_W32_1). philox::PHILOX_W1.
const PHILOX_W1: u32 = 0xBB67AE85u;

// One Philox round: two multiplies, a cross and the key XOR.
// Mirrors `philox::round` (renamed: `round` is a WGSL builtin).
fn philox_round(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    let p0 = mulhilo(PHILOX_M0, ctr.x); // (hi0, lo0)
    let p1 = mulhilo(PHILOX_M1, ctr.z); // (hi1, lo1)
    return vec4<u32>(p1.x ^ ctr.y ^ key.x, p1.y, p0.x ^ ctr.w ^ key.y, p0.y);
}

// Philox4x32 with 10 rounds: four output words for a counter and a key.
// Mirrors `philox::philox4x32_10`: the first round with the key as given,
// then nine rounds each after bumping the key (wrapping u32 adds).
fn philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = ctr;
    var k = key;
    c = philox_round(c, k);
    for (var i = 1u; i < 10u; i++) {
        k = vec2<u32>(k.x + PHILOX_W0, k.y + PHILOX_W1);
        c = philox_round(c, k);
    }
    return c;
}

// The generator key for a seed: (lo32(seed), hi32(seed)). Mirrors
// `philox::key_of`; u64 values travel as vec2<u32>(lo, hi), so this is the
// identity.
fn key_of(seed: vec2<u32>) -> vec2<u32> {
    return seed;
}

// The counter for a block of a stream:
// (lo32(block), hi32(block), lo32(stream), hi32(stream)). Mirrors
// `philox::counter_of` (u64 as vec2<u32>(lo, hi)).
fn counter_of(block: vec2<u32>, stream: vec2<u32>) -> vec4<u32> {
    return vec4<u32>(block.x, block.y, stream.x, stream.y);
}

// The four words of block `block` of stream `stream` under `seed`.
// Mirrors `philox::block_words`.
fn block_words(seed: vec2<u32>, stream: vec2<u32>, block: vec2<u32>) -> vec4<u32> {
    return philox4x32_10(counter_of(block, stream), key_of(seed));
}

// ---------------------------------------------------------------------------
// Coefficients (src/kernel.rs; generated by scripts/fit_coefficients.py).
// Copied with the same literal text; tests/shaders_validate.rs checks that
// naga parses them to the same f32 values as rustc.
// ---------------------------------------------------------------------------

// ln(1+t) = t * P(t), t in [sqrt(1/2)-1, sqrt(2)-1]
const LOG1P: array<f32, 10> = array<f32, 10>(
    1.0f,
    -0.49999988f,
    0.33333325f,
    -0.25001585f,
    0.20001969f,
    -0.16609013f,
    0.1418184f,
    -0.1324347f,
    0.12904634f,
    -0.07621064f,
);
// sin(x) = x * P(x^2), x in [0, pi/4]
const SIN: array<f32, 5> = array<f32, 5>(1.0f, -0.16666667f, 0.008333329f, -0.00019839179f, 2.717153e-06f);
// cos(x) = P(x^2), x in [0, pi/4]
const COS: array<f32, 5> = array<f32, 5>(1.0f, -0.5f, 0.041666616f, -0.0013886619f, 2.437993e-05f);
// Phi^-1(1/2 + d) = d * P(d^2), |d| <= 0.35
const PROBIT_CENTRAL: array<f32, 10> = array<f32, 10>(
    2.5066283f, 2.6249385f, 5.77166f, 15.75463f, 42.67414f, 273.69754f, -1599.3263f, 22827.947f,
    -113790.46f, 329705.75f,
);
// Q^-1(exp(-r^2)) = P(r - TAIL_NEAR_R0), r in [sqrt(ln 2), 2]
const PROBIT_TAIL_NEAR: array<f32, 11> = array<f32, 11>(
    6.223468e-08f,
    2.0869036f,
    -0.48410228f,
    0.39157775f,
    -0.33968666f,
    0.29773372f,
    -0.24021626f,
    0.15899397f,
    -0.07630819f,
    0.022781001f,
    -0.0031180566f,
);
// sqrt(ln 2): where the upper tail probability is 1/2.
const TAIL_NEAR_R0: f32 = 0.83255464f;
// Q^-1(exp(-r^2)) = P(r - 2), r in [2, 5]
const PROBIT_TAIL_FAR: array<f32, 11> = array<f32, 11>(
    2.08985f,
    1.630634f,
    -0.075174145f,
    0.0279774f,
    -0.010707118f,
    0.003992052f,
    -0.0013296945f,
    0.00035554278f,
    -6.7982546e-05f,
    8.0181835e-06f,
    -4.3141654e-07f,
);

// ln 2 split so that `e * LN2_HI` is exact for any f32 exponent `e`.
const LN2_HI: f32 = 0.69314575f; // 0x3f317200: 16 significant bits
const LN2_LO: f32 = 1.4286068e-6f; // ln 2 - LN2_HI
// ln(2 pi), for the asymptotic tail.
const LN_2PI: f32 = 1.8378771f;
// pi / 4 / 2^29: one step of the 29-bit fraction of an octant. The Rust
// constant is `core::f32::consts::FRAC_PI_4 / 536_870_912.0`: the f32 pi/4
// (0x3f490fdb) divided by a power of two, which is exact; naga folds this
// f32 const-expression in f32.
const OCTANT_STEP: f32 = 0.7853982f / 536870912.0f;
// 2^-24, an exact power of two.
const TWO_M24: f32 = 1.0f / 16777216.0f;
// Bit pattern of sqrt(2) as the mantissa threshold for the log reduction.
const SQRT2_MANTISSA: u32 = 0x3fb504f3u;
// Seed of the inverse square root iteration (kernel::RSQRT_MAGIC).
const RSQRT_MAGIC: u32 = 0x5f375a86u;
// Seed of the reciprocal iteration (kernel::RECIP_MAGIC).
const RECIP_MAGIC: u32 = 0x7ef311c3u;
// Largest r = sqrt(-ln Q) the tail polynomials cover.
const TAIL_POLY_MAX_R: f32 = 5.0f;
// Where the central polynomial hands over to the tail.
const CENTRAL_MAX_D: f32 = 0.35f;

// ---------------------------------------------------------------------------
// Unfused arithmetic (kernel.rs, "Unfused arithmetic")
// ---------------------------------------------------------------------------

// x with its bits ORed with p.fence (always 0, unknown to the compiler),
// see the top of this file.
fn fence(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) | p.fence);
}

// a * b, rounded once, fenced. Mirrors `kernel::mul`.
fn mul(a: f32, b: f32) -> f32 {
    return fence(a * b);
}

// a + b, rounded once, fenced. Mirrors `kernel::add`.
fn add(a: f32, b: f32) -> f32 {
    return fence(a + b);
}

// a - b, rounded once, fenced. Mirrors `kernel::sub`.
fn sub(a: f32, b: f32) -> f32 {
    return fence(a - b);
}

// Square root of a positive, finite, normal f32 within about one ULP: two
// Newton steps on x^-1/2 from a bit-pattern seed, then s = x y and one
// correction s + (y/2)(x - s^2). Mirrors `kernel::sqrt_f32`.
fn sqrt_f32(x: f32) -> f32 {
    let half = mul(0.5f, x);
    var y = bitcast<f32>(RSQRT_MAGIC - (bitcast<u32>(x) >> 1u));
    y = mul(y, sub(1.5f, mul(mul(half, y), y)));
    y = mul(y, sub(1.5f, mul(mul(half, y), y)));
    let s = mul(x, y);
    return add(s, mul(mul(0.5f, y), sub(x, mul(s, s))));
}

// 1 / x for a positive, finite, normal f32 with a normal reciprocal, within
// about one ULP: four Newton steps y (2 - x y) from a bit-pattern seed.
// Mirrors `kernel::recip_f32`.
fn recip_f32(x: f32) -> f32 {
    var y = bitcast<f32>(RECIP_MAGIC - bitcast<u32>(x));
    y = mul(y, sub(2.0f, mul(x, y)));
    y = mul(y, sub(2.0f, mul(x, y)));
    y = mul(y, sub(2.0f, mul(x, y)));
    return mul(y, sub(2.0f, mul(x, y)));
}

// ---------------------------------------------------------------------------
// Polynomial evaluation (kernel::poly5, poly10, poly11)
// ---------------------------------------------------------------------------
//
// Estrin's scheme, lowest coefficient first: adjacent pairs are combined as
// `lo + hi * x`, then pairs of pairs with x^2, and so on. WGSL has no const
// generics, so `poly::<N>` becomes one function per N used (5, 10, 11); each
// writes out exactly the branch of the Rust `match N` for that N, with the
// same association of every + and *.

// Mirrors `kernel::poly5` (SIN, COS).
fn poly5(c: array<f32, 5>, x: f32) -> f32 {
    let x2 = mul(x, x);
    let x4 = mul(x2, x2);
    let a = add(c[0], mul(c[1], x));
    let b = add(c[2], mul(c[3], x));
    return add(add(a, mul(b, x2)), mul(c[4], x4));
}

// Mirrors `kernel::poly10` (LOG1P, PROBIT_CENTRAL).
fn poly10(c: array<f32, 10>, x: f32) -> f32 {
    let x2 = mul(x, x);
    let x4 = mul(x2, x2);
    let x8 = mul(x4, x4);
    let a = add(c[0], mul(c[1], x));
    let b = add(c[2], mul(c[3], x));
    let d = add(c[4], mul(c[5], x));
    let e = add(c[6], mul(c[7], x));
    let f = add(c[8], mul(c[9], x));
    let top = f;
    return add(add(add(a, mul(b, x2)), mul(add(d, mul(e, x2)), x4)), mul(top, x8));
}

// Mirrors `kernel::poly11` (PROBIT_TAIL_NEAR, PROBIT_TAIL_FAR):
// the odd last coefficient is carried up with x^2.
fn poly11(c: array<f32, 11>, x: f32) -> f32 {
    let x2 = mul(x, x);
    let x4 = mul(x2, x2);
    let x8 = mul(x4, x4);
    let a = add(c[0], mul(c[1], x));
    let b = add(c[2], mul(c[3], x));
    let d = add(c[4], mul(c[5], x));
    let e = add(c[6], mul(c[7], x));
    let f = add(c[8], mul(c[9], x));
    let top = add(f, mul(c[10], x2));
    return add(add(add(a, mul(b, x2)), mul(add(d, mul(e, x2)), x4)), mul(top, x8));
}

// ---------------------------------------------------------------------------
// Integer to float, unit values
// ---------------------------------------------------------------------------

// A u32 as the nearest f32 (ties to even), with a single rounding: two exact
// 16-bit conversions and one correctly rounded add, because WGSL lets
// `f32(u32)` pick either neighbour of an inexact value. Mirrors
// `kernel::u32_to_f32`.
fn u32_to_f32(x: u32) -> f32 {
    return add(mul(f32(x >> 16u), 65536.0f), f32(x & 0xffffu));
}

// The unit uniform of a word: its top 24 bits times 2^-24, exactly; in
// [0, 1 - 2^-24]. Mirrors `kernel::unit_uniform`.
fn unit_uniform(w: u32) -> f32 {
    return f32(w >> 8u) * TWO_M24;
}

// A word as an exact value in [-1, 1 - 2^-23]: 2 * unit_uniform(w) - 1, with
// the subtraction done in integers (exact). Mirrors `kernel::signed_unit`.
fn signed_unit(w: u32) -> f32 {
    return f32(i32((w >> 8u) << 1u) - 16777216) * TWO_M24;
}

// A word as an exact value in the open interval (0, 1): the midpoint of the
// f32 cell holding (x + 1/2) / 2^32. With s = max(0, bitlen(x) - 23) low
// bits dropped, (2 floor(x / 2^s) + 1) * 2^(s - 33): an odd integer below
// 2^24 (exact as f32) times a power of two. In [2^-33, 1 - 2^-24].
// Mirrors `kernel::open_unit`.
fn open_unit(x: u32) -> f32 {
    let lz = countLeadingZeros(x);
    let s = select(0u, 9u - lz, lz < 9u);
    let k = ((x >> s) << 1u) | 1u;
    return f32(k) * bitcast<f32>((94u + s) << 23u);
}

// ---------------------------------------------------------------------------
// The crate's log, sin and cos
// ---------------------------------------------------------------------------

// ln(1 + t) for t in [sqrt(1/2) - 1, sqrt(2) - 1] by a degree-10
// polynomial. Mirrors `kernel::ln1p_reduced`.
fn ln1p_reduced(t: f32) -> f32 {
    return mul(t, poly10(LOG1P, t));
}

// Natural logarithm of a positive, finite, normal f32: x = 2^e * m with m in
// [sqrt(1/2), sqrt(2)), ln x = e ln 2 + ln1p(m - 1); m - 1 is exact and
// e * LN2_HI is exact. Mirrors `kernel::ln`.
fn ln(x: f32) -> f32 {
    let bits = bitcast<u32>(x);
    var e = i32((bits >> 23u) & 0xffu) - 127;
    var m = (bits & 0x007fffffu) | 0x3f800000u;
    if m > SQRT2_MANTISSA {
        m -= 0x00800000u;
        e += 1;
    }
    let t = sub(bitcast<f32>(m), 1.0f);
    let ef = f32(e);
    return add(mul(ef, LN2_HI), add(ln1p_reduced(t), mul(ef, LN2_LO)));
}

// (sin, cos) of the angle 2 pi w / 2^32 of a word, as vec2(sin, cos).
// The octant (top 3 bits) is taken exactly in integers, so no argument
// reduction error arises; within it a 29-bit offset from the nearer multiple
// of pi/2 goes through the SIN and COS polynomials on [0, pi/4]. Sign flips
// are done on the sign bit (exact). Mirrors `kernel::sincos_turn`.
fn sincos_turn(w: u32) -> vec2<f32> {
    let octant = w >> 29u;
    let low = w & 0x1fffffffu;
    // Odd octants measure from the next multiple of pi/2, so x <= pi/4.
    let n = select(low, 0x20000000u - low, (octant & 1u) == 1u);
    let x = mul(u32_to_f32(n), OCTANT_STEP);
    let x2 = mul(x, x);
    let s = mul(x, poly5(SIN, x2));
    let c = poly5(COS, x2);
    // (sin, cos) within the quadrant, then rotated by the quadrant.
    let odd = (octant & 1u) == 1u;
    let qs = select(s, c, odd);
    let qc = select(c, s, odd);
    let quadrant = octant >> 1u;
    let swap = (quadrant & 1u) == 1u;
    let sin_q = select(qs, qc, swap);
    let cos_q = select(qc, qs, swap);
    let sin_neg = (quadrant >> 1u) << 31u;
    let cos_neg = (((quadrant + 1u) >> 1u) & 1u) << 31u;
    return vec2<f32>(
        bitcast<f32>(bitcast<u32>(sin_q) ^ sin_neg),
        bitcast<f32>(bitcast<u32>(cos_q) ^ cos_neg),
    );
}

// Box-Muller on a lane pair: vec2(r cos t, r sin t) with r = sqrt(-2 ln u),
// u = open_unit(w0) (all 32 bits of w0), and the angle from w1. The even
// lane takes the cosine branch (.x), the odd lane the sine branch (.y).
// Mirrors `kernel::box_muller`.
fn box_muller(w0: u32, w1: u32) -> vec2<f32> {
    let r = sqrt_f32(mul(-2.0f, ln(open_unit(w0))));
    let sc = sincos_turn(w1);
    return vec2<f32>(mul(r, sc.y), mul(r, sc.x));
}

// ---------------------------------------------------------------------------
// Inverse normal CDF pieces for the truncated normal
// ---------------------------------------------------------------------------

// Phi^-1(1/2 + d) for |d| <= 0.35 (a degree-19 odd polynomial). Mirrors
// `kernel::probit_central`.
fn probit_central(d: f32) -> f32 {
    return mul(d, poly10(PROBIT_CENTRAL, mul(d, d)));
}

// r = sqrt(y), with y raised to at least ln 2 (Q <= 1/2) by a
// compare-and-select. `TAIL_NEAR_R0 * TAIL_NEAR_R0` is an f32 product in
// both languages. Mirrors `kernel::tail_radius`.
fn tail_radius(y: f32) -> f32 {
    let floor = TAIL_NEAR_R0 * TAIL_NEAR_R0;
    return sqrt_f32(select(floor, y, y > floor));
}

// Q^-1(exp(-r^2)) for r in [sqrt(ln 2), 5]: two degree-10 polynomials split
// at r = 2; coefficients selected per lane, then one evaluation (the same
// operations as evaluating the chosen polynomial alone). WGSL `select` does
// not take arrays, so the selection is written per coefficient. Mirrors
// `kernel::probit_tail_poly`.
fn probit_tail_poly(r: f32) -> f32 {
    let near = r <= 2.0f;
    let x = select(sub(r, 2.0f), sub(r, TAIL_NEAR_R0), near);
    let c = array<f32, 11>(
        select(PROBIT_TAIL_FAR[0], PROBIT_TAIL_NEAR[0], near),
        select(PROBIT_TAIL_FAR[1], PROBIT_TAIL_NEAR[1], near),
        select(PROBIT_TAIL_FAR[2], PROBIT_TAIL_NEAR[2], near),
        select(PROBIT_TAIL_FAR[3], PROBIT_TAIL_NEAR[3], near),
        select(PROBIT_TAIL_FAR[4], PROBIT_TAIL_NEAR[4], near),
        select(PROBIT_TAIL_FAR[5], PROBIT_TAIL_NEAR[5], near),
        select(PROBIT_TAIL_FAR[6], PROBIT_TAIL_NEAR[6], near),
        select(PROBIT_TAIL_FAR[7], PROBIT_TAIL_NEAR[7], near),
        select(PROBIT_TAIL_FAR[8], PROBIT_TAIL_NEAR[8], near),
        select(PROBIT_TAIL_FAR[9], PROBIT_TAIL_NEAR[9], near),
        select(PROBIT_TAIL_FAR[10], PROBIT_TAIL_NEAR[10], near),
    );
    return poly11(c, x);
}

// Q^-1(exp(-y)) for sqrt(y) > 5: four fixed-point steps of the asymptotic
// expansion z^2 = 2y - ln 2pi - 2 ln z + 2 ln(1 - z^-2 + 3 z^-4 - 15 z^-6 +
// 105 z^-8) (Abramowitz & Stegun 26.2.12), from z = sqrt(2y). Mirrors
// `kernel::probit_tail_asymptotic`.
fn probit_tail_asymptotic(y: f32) -> f32 {
    let y2 = mul(2.0f, y);
    var z = sqrt_f32(y2);
    for (var i = 0u; i < 4u; i++) {
        let iz = recip_f32(mul(z, z));
        let series = mul(iz, add(-1.0f, mul(iz, add(3.0f, mul(iz, add(-15.0f, mul(iz, 105.0f)))))));
        let sq = sub(sub(y2, LN_2PI), mul(2.0f, ln(z)));
        z = sqrt_f32(add(sq, mul(2.0f, ln1p_reduced(series))));
    }
    return z;
}

// ---------------------------------------------------------------------------
// Truncated normal (kernel.rs; the modes are sampler::TruncMode)
// ---------------------------------------------------------------------------
//
// WGSL has no enums: `TruncMode` travels as `mode` (Params.mode) and its
// parameters in two vec4s:
//   Inverse { width, neg_ln_width, lower, upper } -> mode 0,
//     ta = (width, neg_ln_width, lower.h, upper.h),
//     tb = (lower.below, lower.above, upper.below, upper.above)
//   Pinned                                        -> mode 1
// Functions returning Rust tuples `(z, y, sign)` return vec3(z, y, sign).

const TRUNC_INVERSE: u32 = 0u;
const TRUNC_PINNED: u32 = 1u;

// A truncated standard normal sample (std units) from a word, by the
// inverse CDF counted from the nearer end of the interval; the asymptotic
// formula for the rare deep-tail lanes whose tail radius exceeds
// TAIL_POLY_MAX_R. Mirrors `kernel::truncated_std_normal`.
fn truncated_std_normal(mode: u32, ta: vec4<f32>, tb: vec4<f32>, w: u32) -> f32 {
    let zys = truncated_std_normal_common(mode, ta, tb, w);
    if tail_radius(zys.y) > TAIL_POLY_MAX_R {
        return mul(zys.z, probit_tail_asymptotic(zys.y));
    } else {
        return zys.x;
    }
}

// vec3(z, y, sign): the truncated sample for every word whose tail radius
// sqrt(y) is at most TAIL_POLY_MAX_R, y (0 where the central polynomial
// applies) and the sign of a tail sample. Mirrors
// `kernel::truncated_std_normal_common`.
fn truncated_std_normal_common(mode: u32, ta: vec4<f32>, tb: vec4<f32>, w: u32) -> vec3<f32> {
    if mode == TRUNC_INVERSE {
        return truncated_inverse(ta, tb, w);
    } else {
        // TRUNC_PINNED
        return vec3<f32>(0.0f, 0.0f, 1.0f);
    }
}

// The inverse mode on one word: the top bit picks the end (0 lower, 1 upper
// mirrored), the other 31 bits the probability v W from it. With
// d = h + v W: the central polynomial for |d| <= CENTRAL_MAX_D, else
// y = -ln W - ln(below + v) (lower tail) or -ln W - ln(above - v) (upper
// tail) and z = +-Q^-1(e^-y). Mirrors `kernel::truncated_inverse`.
fn truncated_inverse(ta: vec4<f32>, tb: vec4<f32>, w: u32) -> vec3<f32> {
    let width = ta.x;
    let neg_ln_width = ta.y;
    let from_upper = (w >> 31u) == 1u;
    let h = select(ta.z, ta.w, from_upper);
    let below_g = select(tb.x, tb.z, from_upper);
    let above_g = select(tb.y, tb.w, from_upper);
    let v = open_unit(select(w, ~w, from_upper));
    let d = add(h, mul(v, width));
    let below = d < 0.0f;
    let y = sub(neg_ln_width, ln(select(sub(above_g, v), add(below_g, v), below)));
    let tail = probit_tail_poly(tail_radius(y));
    let central = probit_central(d);
    // The sign of a tail sample: the side of the mean, flipped back for the
    // mirrored upper end.
    let sign = select(1.0f, -1.0f, below != from_upper);
    let in_centre = abs(d) <= CENTRAL_MAX_D;
    let z = select(mul(sign, tail), select(central, -central, from_upper), in_centre);
    return vec3<f32>(z, select(y, 0.0f, in_centre), sign);
}

// ---------------------------------------------------------------------------
// Output dtypes and rounding
// ---------------------------------------------------------------------------

// f32 to bfloat16 bits (in the low 16 bits), round-to-nearest-even in
// integer arithmetic. NaN stays NaN (quiet); overflow goes to infinity.
// Mirrors `kernel::f32_to_bf16_bits`.
fn f32_to_bf16_bits(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    if (b & 0x7fffffffu) > 0x7f800000u {
        return (b >> 16u) | 0x0040u;
    }
    return (b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u;
}

// f32 to IEEE binary16 bits (in the low 16 bits), round-to-nearest-even in
// integer arithmetic, subnormals included. NaN stays NaN (quiet); overflow
// goes to infinity. Mirrors `kernel::f32_to_f16_bits`.
fn f32_to_f16_bits(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    let sign = (b >> 16u) & 0x8000u;
    let a = b & 0x7fffffffu;
    var h: u32;
    if a > 0x7f800000u {
        h = 0x7e00u;
    } else if a >= 0x477ff000u {
        h = 0x7c00u;
    } else if a >= 0x38800000u {
        // Normal: rebias the exponent (127 -> 15) and round off 13 bits.
        let m = a - 0x38000000u;
        h = (m + 0x0fffu + ((m >> 13u) & 1u)) >> 13u;
    } else if a <= 0x33000000u {
        // At most 2^-25: rounds to zero (2^-25 itself is a tie, to even).
        h = 0u;
    } else {
        // Subnormal: the significand shifted to units of 2^-24, rounded.
        // Here 102 <= e <= 112, so 14 <= shift <= 24.
        let e = a >> 23u;
        let mant = (a & 0x007fffffu) | 0x00800000u;
        let shift = 126u - e;
        let q = mant >> shift;
        let rem = mant & ((1u << shift) - 1u);
        let half = 1u << (shift - 1u);
        h = q + select(0u, 1u, rem > half || (rem == half && (q & 1u) == 1u));
    }
    return sign | h;
}
