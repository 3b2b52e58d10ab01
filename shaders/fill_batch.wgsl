// fill_batch.wgsl: the entry point of the batched fill (src/gpu/batch.rs):
// many tensors, or parts of them, in one dispatch, each described by a
// `Piece` of a table in a storage buffer.
//
// Built as mulhilo_*.wgsl + philox.wgsl (with its uniform `p` turned into a
// private variable, see `batch_shader_source`) + this file + one of
// fill_batch_random.wgsl (+ the kernel's fill_<kind>.wgsl, which defines
// `sample_block`) or fill_batch_constant.wgsl, which define
// `block_values`. Every invocation copies its piece's `Params` into `p`, so
// that `finish`, `words_at`, `half_bits`, `store_half_pair` and the
// kernels' `sample_block` run exactly as in the single-tensor kernels: the
// same code path, the same values, bit for bit.
//
// Work is counted in units of four consecutive window positions of one
// piece (a piece's units never hold another piece's positions, so no two
// invocations of a dispatch write one word, except where two 16-bit pieces
// share a word: the host puts those in different dispatches). Unit u of a
// dispatch belongs to the piece whose entry of `unit_ends` (the running
// sum of units per piece) is the first above u: a binary search.

// Piece.view: a contiguous element range, or a column block of a 2-D view.
// Mirrors `VIEW_RANGE` and `VIEW_COLUMNS` in src/gpu/batch.rs.
const VIEW_RANGE: u32 = 0u;
const VIEW_COLUMNS: u32 = 1u;

// One piece: an item's positions inside one binding window (128 bytes;
// `PieceEntry` in src/gpu/batch.rs).
struct Piece {
    // The kernel parameters of the item, as for the single-tensor kernels,
    // except first_index: the element index of window position q_start
    // (VIEW_RANGE only).
    params: Params,
    // Window position of the piece's first unit (wrapping: may lie before
    // pos_begin, even below position 0). For VIEW_RANGE it is chosen so that
    // units start on Philox blocks where the dtype allows; for 16-bit dtypes
    // it is even, so a unit's positions fill two whole words.
    q_start: u32,
    view: u32,
    // VIEW_COLUMNS: width of the column block (at most 2^31).
    cols: u32,
    // VIEW_COLUMNS: column, within the block, of position pos_begin.
    col0: u32,
    // VIEW_COLUMNS: tensor element index of (the row of pos_begin, the
    // block's first column), as u64 (lo, hi).
    row_base: vec2<u32>,
    // VIEW_COLUMNS: elements per row of the tensor's 2-D view, u64.
    row_len: vec2<u32>,
    _pad: vec4<u32>,
}

// The dispatch: which units of the bound table it runs.
struct Batch {
    units: u32,     // units this dispatch runs
    unit_base: u32, // first unit of the table it runs
    groups_x: u32,  // workgroups per row of the 2-D grid
    pieces: u32,    // entries in the bound table
}

@group(0) @binding(1) var<storage, read> pieces: array<Piece>;
@group(0) @binding(2) var<storage, read> unit_ends: array<u32>;
@group(0) @binding(3) var<uniform> batch: Batch;

// a + b for u64 values (lo, hi), wrapping mod 2^64.
fn add_u64_u64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < b.x));
}

// a * b for a u64 a = (lo, hi) and a u32 b, wrapping mod 2^64.
fn mul_u64_u32(a: vec2<u32>, b: u32) -> vec2<u32> {
    let lo = mulhilo(a.x, b); // (hi, lo)
    return vec2<u32>(lo.y, lo.x + a.y * b);
}

// The piece that unit u belongs to: the first entry of unit_ends above u.
fn find_piece(u: u32) -> u32 {
    var lo = 0u;
    var hi = batch.pieces;
    while lo < hi {
        let mid = (lo + hi) >> 1u;
        if unit_ends[mid] <= u {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return lo;
}

// The values of a unit of a VIEW_COLUMNS piece: position q holds element
// row_base + r * row_len + c, with (r, c) = divmod(col0 + q - pos_begin,
// cols). A unit may cross rows, so each valid position finds its own
// element; the Philox block of the previous position is reused while it
// lasts (one or two blocks per unit inside a row).
fn column_values(piece: Piece, q0: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0f);
    var block = vec2<u32>(0xffffffffu, 0xffffffffu); // no real block has this index
    var vals = vec4<f32>(0.0f);
    for (var k = 0u; k < 4u; k++) {
        let q = q0 + k;
        if !position_valid(q) {
            continue;
        }
        let d = piece.col0 + (q - p.pos_begin);
        let r = d / piece.cols;
        let c = d - r * piece.cols;
        let e = add_u64_u64(add_u64_u64(piece.row_base, mul_u64_u32(piece.row_len, r)), vec2<u32>(c, 0u));
        let b = block_of(e);
        if b.x != block.x || b.y != block.y {
            vals = block_values(e);
            block = b;
        }
        v[k] = vals[e.x & 3u];
    }
    return v;
}

// Writes the valid positions among q0 .. q0 + 3 in the output dtype. For
// 16-bit dtypes q0 is even, so the unit is two whole words, each stored by
// philox.wgsl's store_half_pair (the other half of a partly valid word
// keeps its bits).
fn store_unit(q0: u32, v: vec4<f32>) {
    if p.dtype == DTYPE_F32 {
        for (var k = 0u; k < 4u; k++) {
            if position_valid(q0 + k) {
                out[q0 + k] = bitcast<u32>(v[k]);
            }
        }
    } else {
        store_half_pair(q0 >> 1u, q0, half_bits(v.x), half_bits(v.y));
        store_half_pair((q0 + 2u) >> 1u, q0 + 2u, half_bits(v.z), half_bits(v.w));
    }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = (wid.y * batch.groups_x + wid.x) * 256u + lid;
    if t >= batch.units {
        return;
    }
    let u = batch.unit_base + t;
    let i = find_piece(u);
    var begin = 0u;
    if i > 0u {
        begin = unit_ends[i - 1u];
    }
    let piece = pieces[i];
    p = piece.params;
    let j = 4u * (u - begin);
    let q0 = piece.q_start + j;
    var v: vec4<f32>;
    if piece.view == VIEW_RANGE {
        // As fill_random.wgsl: positions q0 .. q0 + 3 are elements
        // first .. first + 3, from one Philox block or, where the unit does
        // not start on a block, two.
        let first = add_u64(p.first_index, j);
        let lane = first.x & 3u;
        v = block_values(first);
        if lane != 0u {
            v = pick_lanes(lane, v, block_values(add_u64(first, 4u - lane)));
        }
    } else {
        v = column_values(piece, q0);
    }
    store_unit(q0, v);
}
