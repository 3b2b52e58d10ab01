// mulhilo for adapters without 64-bit integers (no SHADER_INT64).
//
// Every module starts with exactly one of `mulhilo_emulated.wgsl` and
// `mulhilo_int64.wgsl` (src/gpu/shaders.rs, `Part::MulHiLo`); both define
// `mulhilo(a, b) -> vec2<u32>(hi, lo)`, the full 64-bit product of two words,
// and give identical words. Mirrors `kernel::mulhilo` in `src/kernel.rs`.
//
// Why 16-bit halves: WGSL core has no 64-bit integers and no `mul_hi`
// builtin. Each 16x16 product is below 2^32, so it is exact in a u32; the
// carries are collected in one middle sum, which stays below 3 * 2^16.

fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    // The four partial products, each exact.
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    // Bits 16..47 of the product, before the carry out of bit 31:
    // (ll >> 16) + low halves of the cross products, < 3 * 2^16.
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    let lo = (mid << 16u) | (ll & 0xffffu);
    // The true high word is < 2^32, so this sum cannot wrap.
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, lo);
}
