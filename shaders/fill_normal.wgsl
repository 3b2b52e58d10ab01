// fill_normal.wgsl: normal samples (Box-Muller on lane pairs).
// fill_batch_random.wgsl's `block_values` (and fill_structured.wgsl) call the
// sample_block defined here. Composition: the shader table in src/gpu/shaders.rs.

// The four values of one Philox block: Box-Muller on lanes (0, 1) and (2, 3),
// the even lane taking the cosine branch. Mirrors the `SamplerKind::Normal`
// arm of `Sampler::sample_block`.
fn sample_block(w: vec4<u32>) -> vec4<f32> {
    let z01 = box_muller(w.x, w.y);
    let z23 = box_muller(w.z, w.w);
    return vec4<f32>(finish(z01.x), finish(z01.y), finish(z23.x), finish(z23.y));
}
