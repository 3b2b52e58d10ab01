// structured.wgsl: what the structured kernels (fill_structured.wgsl,
// sparse_thresholds.wgsl) share: their extra bindings, the structure
// parameters, 64-bit index arithmetic, the eye/dirac lattice and the sparse
// zero-position keys. Mirrors src/structured.rs; the host side is
// src/gpu/structured.rs.
//
// The kernels also have kernel_io.wgsl's `out` (binding 0), `p: Params`
// (binding 1, kernel_uniform.wgsl: the window and dtype contract of every
// fill) and its indexing and store functions. Composition: the shader table in src/gpu/shaders.rs.

const MODE_VALUES: u32 = 0u;  // copy the dtype words of `aux` (orthogonal, delta-orthogonal)
const MODE_LATTICE: u32 = 1u; // p.offset on a lattice of elements, +0 elsewhere (eye, identity, dirac)
const MODE_SPARSE: u32 = 2u;  // normal(0, std) with per-input zeros (sparse)

const LAYOUT_TORCH: u32 = 0u; // sparse [outputs, inputs]
const LAYOUT_JAX: u32 = 1u;   // sparse [inputs, outputs]

// u64 values travel as vec2<u32>(lo, hi), as in philox.wgsl.
struct Structure {
    mode: u32,
    weight_layout: u32,
    _pad0: u32,
    _pad1: u32,
    // MODE_LATTICE: element base + x * x_stride + y * y_stride, x < x_count,
    // y < y_count, with (y_count - 1) * y_stride < x_stride:
    // a = base, b = x_stride, c = x_count, d = y_stride, e = y_count.
    // MODE_SPARSE and sparse_thresholds.wgsl: a.x = outputs, b.x = inputs,
    // c.x = zeros per input (all below 2^32); sparse_thresholds.wgsl only:
    // d.x, e.x = the first and one past the last input of this dispatch.
    a: vec2<u32>,
    b: vec2<u32>,
    c: vec2<u32>,
    d: vec2<u32>,
    e: vec2<u32>,
    _pad2: vec2<u32>,
}

@group(0) @binding(2) var<uniform> st: Structure;
// MODE_VALUES: the destination's words for this window, as they must end up.
// MODE_SPARSE: (threshold key, cut) per input, written by sparse_thresholds.
@group(0) @binding(3) var<storage, read_write> aux: array<u32>;

// ---------------------------------------------------------------------------
// 64-bit unsigned arithmetic on vec2<u32>(lo, hi)
// ---------------------------------------------------------------------------

fn lt_u64(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y < b.y || (a.y == b.y && a.x < b.x);
}

// a - b, wrapping mod 2^64.
fn sub_u64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

// The full product of two words, as a u64. mulhilo gives vec2(hi, lo).
fn mul_u32_u64(a: u32, b: u32) -> vec2<u32> {
    let p = mulhilo(a, b);
    return vec2<u32>(p.y, p.x);
}

struct DivMod {
    q: vec2<u32>,
    r: vec2<u32>,
}

// Quotient and remainder of x / d for d != 0: native for 32-bit operands,
// else binary long division over the significant bits of x.
fn divmod_u64(x: vec2<u32>, d: vec2<u32>) -> DivMod {
    if x.y == 0u && d.y == 0u {
        return DivMod(vec2<u32>(x.x / d.x, 0u), vec2<u32>(x.x % d.x, 0u));
    }
    if lt_u64(x, d) {
        return DivMod(vec2<u32>(0u, 0u), x);
    }
    var q = vec2<u32>(0u, 0u);
    var r = vec2<u32>(0u, 0u);
    let bits = select(32u - countLeadingZeros(x.x), 64u - countLeadingZeros(x.y), x.y != 0u);
    for (var k = bits; k > 0u; k--) {
        let i = k - 1u;
        var bit: u32;
        if i >= 32u {
            bit = (x.y >> (i - 32u)) & 1u;
        } else {
            bit = (x.x >> i) & 1u;
        }
        // r = 2 r + bit; r < d before, so 2 r + bit < 2^65: keep the carry.
        let carry = r.y >> 31u;
        r = vec2<u32>((r.x << 1u) | bit, (r.y << 1u) | (r.x >> 31u));
        q = vec2<u32>(q.x << 1u, (q.y << 1u) | (q.x >> 31u));
        if carry == 1u || !lt_u64(r, d) {
            r = sub_u64(r, d);
            q.x = q.x | 1u;
        }
    }
    return DivMod(q, r);
}

// ---------------------------------------------------------------------------
// Eye, identity, dirac: is element e on the lattice? Mirrors
// `structured::DiracLattice`.
// ---------------------------------------------------------------------------

fn lattice_hit(e: vec2<u32>) -> bool {
    if lt_u64(e, st.a) {
        return false;
    }
    let xr = divmod_u64(sub_u64(e, st.a), st.b);
    if !lt_u64(xr.q, st.c) {
        return false;
    }
    let yr = divmod_u64(xr.r, st.d);
    return yr.r.x == 0u && yr.r.y == 0u && lt_u64(yr.q, st.e);
}

// ---------------------------------------------------------------------------
// Sparse: the zero-position keys. Mirrors `structured::sparse_key`: lane
// j % 4 of Philox block SPARSE_KEY_BLOCK_BASE (2^63) + j / 4 of the tensor's
// stream, j = input * outputs + output.
// ---------------------------------------------------------------------------

fn sparse_key(input: u32, output: u32) -> u32 {
    let j = add_u64(mul_u32_u64(input, st.a.x), output);
    let b = block_of(j);
    let w = block_words(p.seed, p.stream, vec2<u32>(b.x, b.y | 0x80000000u));
    return w[j.x & 3u];
}
