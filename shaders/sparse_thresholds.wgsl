// sparse_thresholds.wgsl: for each input of a sparse tensor (one workgroup
// each), the k-th smallest (key, output) pair among its outputs, k = zeros
// per input, as (threshold key, cut): output o is a zero exactly when
// key(o) < threshold, or key(o) == threshold and o < cut. These are the k
// outputs with the smallest (key, output) pairs, as
// `structured::sparse_zero_outputs` picks them. Written to aux[2 input],
// aux[2 input + 1] for fill_structured.wgsl.
// Composition: the shader table in src/gpu/shaders.rs.
//
// Radix selection on the 32-bit keys, one 8-bit digit per round, most
// significant first: each round counts the keys that match the digits fixed
// so far in a 256-bin histogram, and picks the bin that holds the k-th
// smallest. After four digits the threshold key
// is exact, with `need` of its copies to be zeros; only when fewer than all
// its copies are (two outputs share the threshold key) does one invocation
// walk the outputs in order to find the cut.

var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> sel_prefix: u32;
var<workgroup> sel_need: u32;
var<workgroup> sel_count: u32;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    // Inputs st.d.x .. st.e.x, one workgroup each, row by row of the grid.
    let input = st.d.x + wid.y * p.groups_x + wid.x;
    let outputs = st.a.x;
    let zeros = st.c.x;
    if input >= st.e.x {
        return;
    }
    if zeros == 0u {
        if lid == 0u {
            aux[2u * input] = 0u;
            aux[2u * input + 1u] = 0u;
        }
        return;
    }
    var prefix = 0u;
    var need = zeros;
    var count = 0u;
    for (var digit = 0u; digit < 4u; digit++) {
        let shift = 24u - 8u * digit;
        // The bits above this digit, fixed by the earlier digits
        // (none in digit 0: the mask shifts out).
        let fixed = 0xffffff00u << shift;
        atomicStore(&hist[lid], 0u);
        workgroupBarrier();
        for (var o = lid; o < outputs; o += 256u) {
            let w = sparse_key(input, o);
            if ((w ^ prefix) & fixed) == 0u {
                atomicAdd(&hist[(w >> shift) & 255u], 1u);
            }
        }
        workgroupBarrier();
        if lid == 0u {
            var below = 0u;
            for (var b = 0u; b < 256u; b++) {
                let h = atomicLoad(&hist[b]);
                if below + h >= need {
                    sel_prefix = prefix | (b << shift);
                    sel_need = need - below;
                    sel_count = h;
                    break;
                }
                below += h;
            }
        }
        prefix = workgroupUniformLoad(&sel_prefix);
        need = workgroupUniformLoad(&sel_need);
        count = workgroupUniformLoad(&sel_count);
    }
    if lid == 0u {
        // `count` outputs have the threshold key; the first `need` of them
        // (by output index) are zeros.
        var cut = outputs;
        if need < count {
            var seen = 0u;
            for (var o = 0u; o < outputs; o++) {
                if sparse_key(input, o) == prefix {
                    seen += 1u;
                    if seen == need {
                        cut = o + 1u;
                        break;
                    }
                }
            }
        }
        aux[2u * input] = prefix;
        aux[2u * input + 1u] = cut;
    }
}
