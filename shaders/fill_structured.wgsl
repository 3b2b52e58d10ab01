// fill_structured.wgsl: eye, identity, dirac and sparse computed per element,
// and orthogonal / delta-orthogonal values copied from `aux`, through the
// same windows, positions and stores as the random kernels (so 16-bit halves
// outside the range keep their bits). Mirrors `structured::fill_structured_cpu`.
// The sparse values are fill_normal.wgsl's `sample_block` (p is the normal
// sampler's: offset 0, scale std), composed into this module. Composition: the shader table in src/gpu/shaders.rs.

// Whether element e of a sparse tensor is one of its input's zeros: its
// (key, output) is below the input's (threshold, cut) from
// sparse_thresholds.wgsl.
fn sparse_zero(e: vec2<u32>) -> bool {
    var input: u32;
    var output: u32;
    if st.weight_layout == LAYOUT_TORCH {
        let qr = divmod_u64(e, vec2<u32>(st.b.x, 0u));
        output = qr.q.x;
        input = qr.r.x;
    } else {
        let qr = divmod_u64(e, vec2<u32>(st.a.x, 0u));
        input = qr.q.x;
        output = qr.r.x;
    }
    let w = sparse_key(input, output);
    let t = aux[2u * input];
    let cut = aux[2u * input + 1u];
    return w < t || (w == t && output < cut);
}

// MODE_VALUES: positions 4g .. 4g + 3 take the words (or 16-bit halves) of
// `aux`, which mirrors the window.
fn copy_positions(g: u32) {
    let q0 = 4u * g;
    if p.dtype == DTYPE_F32 {
        for (var k = 0u; k < 4u; k++) {
            if position_valid(q0 + k) {
                out[q0 + k] = aux[q0 + k];
            }
        }
    } else {
        for (var j = 0u; j < 2u; j++) {
            let word = 2u * g + j;
            store_half_pair(word, q0 + 2u * j, aux[word]);
        }
    }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, lid);
    if !owns_positions(g) {
        return;
    }
    if st.mode == MODE_VALUES {
        copy_positions(g);
        return;
    }
    // Positions 4g .. 4g + 3 are elements first .. first + 3.
    let first = element_index(4u * g);
    var v = vec4<f32>(0.0f, 0.0f, 0.0f, 0.0f);
    if st.mode == MODE_SPARSE {
        let lane = first.x & 3u;
        v = sample_block(words_at(first));
        if lane != 0u {
            v = pick_lanes(lane, v, sample_block(words_at(add_u64(first, 4u - lane))));
        }
    }
    for (var k = 0u; k < 4u; k++) {
        if !position_valid(4u * g + k) {
            continue;
        }
        let e = add_u64(first, k);
        if st.mode == MODE_SPARSE {
            if sparse_zero(e) {
                v[k] = 0.0f;
            }
        } else {
            v[k] = select(0.0f, p.offset, lattice_hit(e));
        }
    }
    store_unit(4u * g, v);
}
