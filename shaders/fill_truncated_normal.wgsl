// fill_truncated_normal.wgsl: truncated normal samples (one pass, inverse
// CDF; Params.mode and m0..m2 carry the sampler's TruncMode).
// Built as mulhilo_*.wgsl + philox.wgsl + fill_random.wgsl + this file:
// the entry point in fill_random.wgsl calls the sample_block defined here.

// The four values of one Philox block:
// `finish(truncated_std_normal(mode, open_unit(w)))` per lane. Mirrors the
// `SamplerKind::TruncatedNormal` arm of `Sampler::sample_block`.
fn sample_block(w: vec4<u32>) -> vec4<f32> {
    let mode = p.mode;
    let m = trunc_params();
    return vec4<f32>(
        finish(truncated_std_normal(mode, m, open_unit(w.x))),
        finish(truncated_std_normal(mode, m, open_unit(w.y))),
        finish(truncated_std_normal(mode, m, open_unit(w.z))),
        finish(truncated_std_normal(mode, m, open_unit(w.w))),
    );
}
