// fill_truncated_normal.wgsl: truncated normal samples (one pass, inverse
// CDF from the nearer end; Params.mode, ta and tb carry the sampler's
// TruncMode).
// Built as mulhilo_*.wgsl + philox.wgsl + fill_random.wgsl + this file:
// the entry point in fill_random.wgsl calls the sample_block defined here.

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
