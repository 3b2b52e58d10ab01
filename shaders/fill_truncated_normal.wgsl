// fill_truncated_normal.wgsl: truncated normal samples (one pass, inverse
// CDF; Params.mode and m0..m2 carry the sampler's TruncMode).
// Built as mulhilo_*.wgsl + philox.wgsl + this file.

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

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, lid);
    if !owns_positions(g) {
        return;
    }
    // Positions 4g .. 4g + 3 are elements first .. first + 3.
    let first = element_index(4u * g);
    let lane = first.x & 3u;
    var v = sample_block(words_at(first));
    if lane != 0u {
        // The window starts mid-block (uniform across the dispatch): the four
        // elements span two blocks. The next block is taken from the wrapped
        // index of its lane 0, so a window whose index wraps past 2^64 still
        // lands on block 0.
        v = pick_lanes(lane, v, sample_block(words_at(add_u64(first, 4u - lane))));
    }
    store_positions(g, v);
}
