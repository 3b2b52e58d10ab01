// kernel_io.wgsl: the kernel interface shared by every fill kernel (the
// host/kernel contract, see src/gpu/): the parameters of a fill (`Params`,
// `FillParams` in src/gpu/fill.rs), the output binding, the dtype codes, and
// the indexing, `finish` and store functions on top of philox.wgsl.
//
// `p: Params` is not declared here: a kernel that reads its parameters from
// a uniform composes kernel_uniform.wgsl, and the batched kernels declare a
// private `p` that each invocation loads from its piece (fill_batch.wgsl).
// philox.wgsl's `add`, `sub` and `mul` read `p.fence`. Which files make up
// each module: the shader table in src/gpu/shaders.rs.

struct Params {
    seed: vec2<u32>,        // (lo32(seed), hi32(seed)) = Philox key
    stream: vec2<u32>,      // (lo32(stream), hi32(stream)) = counter words 2, 3
    first_index: vec2<u32>, // u64 (lo, hi): element index of window position 0 (wrapping)
    pos_begin: u32,         // first window position (in elements of the dtype) to write
    pos_end: u32,           // one past the last window position to write
    groups_x: u32,          // workgroups per row of the 2-D grid
    dtype: u32,             // 0 = f32, 1 = f16, 2 = bf16
    mode: u32,              // truncated normal: 0 inverse, 1 pinned
    fence: u32,             // always 0: see `mul` (FillParams::fence)
    offset: f32,            // Sampler::offset
    scale: f32,             // Sampler::scale
    lo: f32,                // Sampler::lo (clamp)
    hi: f32,                // Sampler::hi (clamp)
    ta: vec4<f32>,          // TruncMode parameters, see truncated_std_normal
    tb: vec4<f32>,
}

// A window of the caller's buffer; its byte offset is a multiple of 256, so
// window position 0 is aligned to a whole word for every dtype.
@group(0) @binding(0) var<storage, read_write> out: array<u32>;

const DTYPE_F32: u32 = 0u;
const DTYPE_F16: u32 = 1u;
const DTYPE_BF16: u32 = 2u;

// Which dtype the pipeline's fills write: DTYPES_ANY (each fill's
// Params.dtype, chosen at run time), else DTYPES_F32, DTYPES_F16 or
// DTYPES_BF16 only (its DTYPE code + 1). A pipeline constant (`BatchDTypes`
// in src/gpu/shaders.rs): SIMD implementations (lavapipe) run every arm of
// store_unit's and half_bits' dtype branches under a mask for every unit,
// so a pipeline that writes one dtype has the others' arms removed at
// compile time.
override DTYPES: u32 = 0u;
const DTYPES_ANY: u32 = 0u;
const DTYPES_F32: u32 = 1u;
const DTYPES_F16: u32 = 2u;
const DTYPES_BF16: u32 = 3u;

// Whether the fill writes `dtype` (a DTYPE code): decided at compile time
// where the pipeline has DTYPES.
fn writes_dtype(dtype: u32) -> bool {
    return DTYPES == dtype + 1u || (DTYPES == DTYPES_ANY && p.dtype == dtype);
}

// `offset + scale * x`, clamped to [lo, hi]. When offset is zero this is a
// single multiply, which every backend rounds identically (so it is chosen
// by select even if the compiler fuses the other form). The clamps are
// Rust's compare-and-selects, in the same order. Mirrors `Sampler::finish`
// with `self` = the uniform `p`.
fn finish(x: f32) -> f32 {
    let v0 = select(add(p.offset, mul(p.scale, x)), mul(p.scale, x), p.offset == 0.0f);
    let v1 = select(v0, p.lo, v0 < p.lo);
    return select(v1, p.hi, v1 > p.hi);
}

// The invocation's index in the (possibly 2-D) grid of 256-wide workgroups.
// Invocation g owns window positions 4g .. 4g + 3.
fn invocation_index(wid: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * p.groups_x + wid.x) * 256u + lid;
}

// Whether invocation g owns any position below pos_end, i.e. 4g < pos_end,
// written without forming 4g (which could wrap for huge windows).
fn owns_positions(g: u32) -> bool {
    let groups = (p.pos_end >> 2u) + select(0u, 1u, (p.pos_end & 3u) != 0u);
    return g < groups;
}

// a + b for a u64 a = vec2(lo, hi), wrapping mod 2^64.
fn add_u64(a: vec2<u32>, b: u32) -> vec2<u32> {
    let lo = a.x + b;
    return vec2<u32>(lo, a.y + select(0u, 1u, lo < b));
}

// The element index of window position q: first_index + q (mod 2^64).
fn element_index(q: u32) -> vec2<u32> {
    return add_u64(p.first_index, q);
}

// The Philox block of an element index: index / 4 as a u64.
fn block_of(index: vec2<u32>) -> vec2<u32> {
    return vec2<u32>((index.x >> 2u) | (index.y << 30u), index.y >> 2u);
}

// The four words of the block holding element `index` of this dispatch's
// tensor (its lane is index % 4).
fn words_at(index: vec2<u32>) -> vec4<u32> {
    return block_words(p.seed, p.stream, block_of(index));
}

// The values of four consecutive elements starting at lane `lane` (1..3) of
// a block whose samples are v0, the rest taken from the next block's v1.
fn pick_lanes(lane: u32, v0: vec4<f32>, v1: vec4<f32>) -> vec4<f32> {
    let both = array<f32, 8>(v0.x, v0.y, v0.z, v0.w, v1.x, v1.y, v1.z, v1.w);
    return vec4<f32>(both[lane], both[lane + 1u], both[lane + 2u], both[lane + 3u]);
}

// Whether window position q is to be written.
fn position_valid(q: u32) -> bool {
    return p.pos_begin <= q && q < p.pos_end;
}

// An f32 value (already finished and clamped) as the bits of the output
// dtype, rounded exactly as the CPU backend does it.
fn half_bits(v: f32) -> u32 {
    if writes_dtype(DTYPE_BF16) {
        return f32_to_bf16_bits(v);
    } else {
        return f32_to_f16_bits(v);
    }
}

// Stores the word `bits`, two 16-bit elements (positions q, q + 1), at
// `word`: whole when both positions are valid; where one is, the other half
// keeps its old bits (read-modify-write); untouched when neither is.
// SIMD implementations (lavapipe) run every `if` body under a mask and
// every buffer access as a loop over the vector's lanes, taken or not, so
// this is one load (a boundary word's) and one store, where a chain of
// three stores and two loads was.
fn store_half_pair(word: u32, q: u32, bits: u32) {
    let keep = select(0u, 0x0000ffffu, !position_valid(q))
        | select(0u, 0xffff0000u, !position_valid(q + 1u));
    var old = 0u;
    if keep != 0u {
        old = out[word];
    }
    if keep != 0xffffffffu {
        out[word] = (bits & ~keep) | (old & keep);
    }
}

// Two 16-bit elements of the output dtype packed in one word, `lo` in the
// low half (the element at the even position).
fn half_pair(lo: f32, hi: f32) -> u32 {
    return half_bits(lo) | (half_bits(hi) << 16u);
}

// Writes the valid positions among q0 .. q0 + 3 (q0 a multiple of 4, or for
// the batched kernels' units of 16-bit dtypes, even) in the output dtype:
// f32 one word each; 16-bit two whole words, each stored by store_half_pair
// (the other half of a partly valid word keeps its bits).
fn store_unit(q0: u32, v: vec4<f32>) {
    if writes_dtype(DTYPE_F32) {
        for (var k = 0u; k < 4u; k++) {
            if position_valid(q0 + k) {
                out[q0 + k] = bitcast<u32>(v[k]);
            }
        }
    } else {
        store_half_pair(q0 >> 1u, q0, half_pair(v.x, v.y));
        store_half_pair((q0 + 2u) >> 1u, q0 + 2u, half_pair(v.z, v.w));
    }
}
