// fill_truncated_normal.wgsl: truncated normal samples (one pass, inverse
// CDF from the nearer end; Params.mode, ta and tb carry the sampler's
// TruncMode).
// fill_batch_random.wgsl's `block_values` calls the
// sample_block defined here. Composition: the shader table in src/gpu/shaders.rs.

// The four values of one Philox block:
// `finish(truncated_std_normal(mode, w))` per lane. Mirrors the
// `SamplerKind::TruncatedNormal` arm of `Sampler::sample_block`.
fn sample_block(w: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(
        finish(truncated_std_normal(p.mode, p.ta, p.tb, w.x)),
        finish(truncated_std_normal(p.mode, p.ta, p.tb, w.y)),
        finish(truncated_std_normal(p.mode, p.ta, p.tb, w.z)),
        finish(truncated_std_normal(p.mode, p.ta, p.tb, w.w)),
    );
}
