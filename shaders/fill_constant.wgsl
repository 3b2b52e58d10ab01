// fill_constant.wgsl: every element equals Params.offset (constant, zeros,
// ones). No generator involved: the value is already representable in the
// dtype (Sampler::new rounded it), and goes through the same store path as
// the random kernels. Mirrors the `SamplerKind::Constant` arm of
// `Sampler::sample_block`. Built as mulhilo_*.wgsl + philox.wgsl + this file
// (mulhilo and the generator are simply unused).

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, lid);
    if !owns_positions(g) {
        return;
    }
    store_positions(g, vec4<f32>(p.offset));
}
