// Matrix multiply for the signal-propagation diagnostic
// (src/diagnose/gpu.rs): C[M, N] = A[M, K] * op(B), all row-major f32, where
// op(B) = B^T with B stored [N, K] (trans_b = 1: the forward pass
// z = h W^T with W in PyTorch's [out, in] layout) or op(B) = B stored
// [K, N] (trans_b = 0: the backward pass g = delta W).
//
// Each invocation accumulates an 8 x 8 block of C in registers (64 f32
// accumulators, every load feeding 8 fused multiply-adds); an 8 x 8
// workgroup covers a 64 x 64 tile. Any M, N, K works: blocks at an edge
// clamp their load indices to the last row/column and skip the stores past
// the edge. (On software adapters such as lavapipe, where every buffer or
// workgroup-memory load is a per-lane gather, the number of loads per
// multiply-add decides the speed: hence register blocking rather than a
// workgroup-memory tiling with smaller blocks per invocation.)

struct Dims {
    m: u32,
    n: u32,
    k: u32,
    trans_b: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

// Rows and columns of C per invocation.
const R: u32 = 8u;
const C: u32 = 8u;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c0 = gid.x * C;
    let r0 = gid.y * R;
    if (c0 >= dims.n || r0 >= dims.m) {
        return;
    }
    var abase: array<u32, 8>;
    var bbase: array<u32, 8>;
    var bstep = dims.n;
    if (dims.trans_b == 1u) {
        bstep = 1u;
    }
    for (var i = 0u; i < R; i += 1u) {
        abase[i] = min(r0 + i, dims.m - 1u) * dims.k;
        let cc = min(c0 + i, dims.n - 1u);
        bbase[i] = select(cc, cc * dims.k, dims.trans_b == 1u);
    }
    var acc: array<f32, 64>;
    for (var i = 0u; i < 64u; i += 1u) {
        acc[i] = 0.0;
    }
    var koff = 0u;
    for (var k = 0u; k < dims.k; k += 1u) {
        var av: array<f32, 8>;
        var bv: array<f32, 8>;
        for (var i = 0u; i < R; i += 1u) {
            av[i] = a[abase[i] + k];
            bv[i] = b[bbase[i] + koff];
        }
        koff += bstep;
        for (var i = 0u; i < R; i += 1u) {
            for (var j = 0u; j < C; j += 1u) {
                acc[i * C + j] = fma(av[i], bv[j], acc[i * C + j]);
            }
        }
    }
    for (var i = 0u; i < R; i += 1u) {
        for (var j = 0u; j < C; j += 1u) {
            if (r0 + i < dims.m && c0 + j < dims.n) {
                c[(r0 + i) * dims.n + c0 + j] = acc[i * C + j];
            }
        }
    }
}
