// fill_random.wgsl: the entry point shared by the random kernels
// (fill_uniform, fill_normal, fill_truncated_normal). Each of those defines
// `sample_block(w: vec4<u32>) -> vec4<f32>`, the four values of one Philox
// block; this file maps invocations to buffer positions and Philox blocks.
// Built as mulhilo_*.wgsl + philox.wgsl + this file + the kernel's file.

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
