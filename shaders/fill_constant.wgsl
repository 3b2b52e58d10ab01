// fill_constant.wgsl: a single-tensor constant fill (constant, zeros, ones;
// GpuContext::record_fill): every element equals Params.offset, already
// representable in the dtype (Sampler::new rounded it). No generator.
// The one fill kept apart from the batched kernels: the other kinds fill a
// single tensor as a one-item batch, which on lavapipe measured no slower
// (faster on whole Philox blocks), but for a plain store the batch's piece
// lookup measured 20-25% of the fill's time (src/gpu/shaders.rs).
// Mirrors the `SamplerKind::Constant` arm of `Sampler::sample_block`, as
// fill_batch_constant.wgsl does. Composition: the shader table in
// src/gpu/shaders.rs.

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, lid);
    if !owns_positions(g) {
        return;
    }
    store_unit(4u * g, vec4<f32>(p.offset));
}
