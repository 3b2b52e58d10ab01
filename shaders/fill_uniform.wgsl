// fill_uniform.wgsl: uniform samples on [low, high).
// Built as mulhilo_*.wgsl + philox.wgsl + fill_random.wgsl + this file:
// the entry point in fill_random.wgsl calls the sample_block defined here.

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
