// fill_batch_random.wgsl: `block_values` for the random kernels of the
// batched fill: the four values of the Philox block holding element
// `index` of the current piece's tensor, by the kernel's own sample_block
// (fill_uniform.wgsl, fill_normal.wgsl or fill_truncated_normal.wgsl), on
// the block's words (`words_at`).
// Composition: the shader table in src/gpu/shaders.rs.

fn block_values(index: vec2<u32>) -> vec4<f32> {
    return sample_block(words_at(index));
}
