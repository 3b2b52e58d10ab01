// fill_batch_constant.wgsl: `block_values` for the constant kernel of the
// batched fill: every element equals Params.offset, no generator involved
// (as fill_constant.wgsl).
// Built as mulhilo_*.wgsl + philox.wgsl + fill_batch.wgsl + this file.

fn block_values(index: vec2<u32>) -> vec4<f32> {
    return vec4<f32>(p.offset);
}
