// h = act(z), elementwise (on activation.wgsl).

@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read_write> h: array<f32>;
@group(0) @binding(2) var<uniform> params: Elementwise;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = element_index(wg, lid, params.groups_x);
    if (i < params.n) {
        h[i] = activate(z[i], params.act);
    }
}
