// fill_batch_columns.wgsl: the batched fill's entry point for VIEW_COLUMNS
// pieces (a column block of a 2-D view, strided in the tensor).
// Calls the kernel's `block_values`. Composition: the shader table in src/gpu/shaders.rs.

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let unit = unit_of(wid, lid);
    if !unit.ok {
        return;
    }
    let q0 = unit.piece.q_start + unit.j;
    // A unit may cross rows: each valid position finds its element, and one
    // Philox block (sample_block call) is computed per distinct block among
    // them (one or two inside a row, up to four for a narrow block), in a
    // loop around one call, so that a lane needing fewer blocks idles
    // instead of every lane running every case.
    var e: array<vec2<u32>, 4>;
    var todo = 0u;
    for (var k = 0u; k < 4u; k++) {
        if position_valid(q0 + k) {
            todo |= 1u << k;
        }
        e[k] = column_element(unit.piece, q0 + k);
    }
    var v = vec4<f32>(0.0f);
    while todo != 0u {
        // The first valid element not yet written.
        var first = e[3];
        for (var k = 3u; k > 0u; k--) {
            if (todo & (1u << (k - 1u))) != 0u {
                first = e[k - 1u];
            }
        }
        let vals = block_values(first);
        let b = block_of(first);
        for (var k = 0u; k < 4u; k++) {
            let bk = block_of(e[k]);
            if (todo & (1u << k)) != 0u && bk.x == b.x && bk.y == b.y {
                v[k] = vals[e[k].x & 3u];
                todo &= ~(1u << k);
            }
        }
    }
    store_unit(q0, v);
}
