// fill_batch_range.wgsl: the batched fill's entry point for VIEW_RANGE
// pieces (contiguous element ranges). Composition: src/gpu/shaders.rs.

// Whether a piece of the dispatch may have units that do not start on a
// Philox block: a pipeline constant, `false` for dispatches whose pieces'
// units all start on one (BatchView::Blocks: tensors at element 0, f32
// anywhere), which removes the second block at compile time: SIMD
// implementations (lavapipe) run an `if` body under a mask even when no
// lane takes it, so the branch alone would cost a second block per unit.
override ANY_LANE: bool = true;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let unit = unit_of(wid, lid);
    if !unit.ok {
        return;
    }
    // Positions q0 .. q0 + 3 are elements
    // first .. first + 3, from one Philox block or, where the piece's units
    // do not start on a block, two. `lane` is the same for every unit of the
    // piece (j is a multiple of 4).
    let first = add_u64(p.first_index, unit.j);
    let lane = p.first_index.x & 3u;
    var v = block_values(first);
    if ANY_LANE && lane != 0u {
        v = pick_lanes(lane, v, block_values(add_u64(first, 4u - lane)));
    }
    store_unit(unit.piece.q_start + unit.j, v);
}
