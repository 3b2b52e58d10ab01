// delta = g * act'(z), elementwise (on activation.wgsl).

@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> delta: array<f32>;
@group(0) @binding(3) var<uniform> params: Elementwise;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = element_index(wg, lid, params.groups_x);
    if (i < params.n) {
        delta[i] = g[i] * activate_grad(z[i], params.act);
    }
}
