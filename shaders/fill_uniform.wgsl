// fill_uniform.wgsl: uniform samples on [low, high).
// fill_batch_random.wgsl's `block_values` calls the
// sample_block defined here. Composition: the shader table in src/gpu/shaders.rs.

// The four values of one Philox block: `finish(signed_unit(w))` per lane.
// Mirrors the `SamplerKind::Uniform` arm of `Sampler::sample_block`.
fn sample_block(w: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(
        finish(signed_unit(w.x)),
        finish(signed_unit(w.y)),
        finish(signed_unit(w.z)),
        finish(signed_unit(w.w)),
    );
}
