// mulhilo for adapters with 64-bit integers (naga's SHADER_INT64 capability,
// wgpu's `Features::SHADER_INT64`).
//
// Every module starts with exactly one of `mulhilo_emulated.wgsl` and
// `mulhilo_int64.wgsl` (src/gpu/shaders.rs, `Part::MulHiLo`); both define
// `mulhilo(a, b) -> vec2<u32>(hi, lo)`, the full 64-bit product of two words,
// and give identical words. Mirrors `kernel::mulhilo` in `src/kernel.rs`
// literally: one widening multiply, then the two halves.

fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let prod = u64(a) * u64(b);
    return vec2<u32>(u32(prod >> 32u), u32(prod));
}
