// fill_batch.wgsl: the interface of the batched fill (src/gpu/batch.rs):
// many tensors, or parts of them, in one dispatch, each described by a
// `Piece` of a table in a uniform buffer.
//
// On kernel_io.wgsl (Params, stores) and philox.wgsl; the entry point is one
// view's (fill_batch_range.wgsl or fill_batch_columns.wgsl), which calls
// `block_values` from fill_batch_random.wgsl (on the kernel's own
// fill_<kind>.wgsl, which defines `sample_block`) or
// fill_batch_constant.wgsl. Every invocation copies its piece's `Params`
// into the private `p`, so that `finish`, `words_at`, `store_unit` and the
// kernels' `sample_block` run exactly as in the structured kernels, which
// read `p` from a uniform: the same code, the same values, bit for bit. A
// single-tensor fill of a random kind is a one-item batch (a constant has
// fill_constant.wgsl). The composition of each
// module: the shader table in src/gpu/shaders.rs.
//
// Work is counted in units of four consecutive window positions of one
// piece, 256 units (one workgroup) at a time: every workgroup works on ONE
// piece (a piece's units are padded to whole workgroups), found by a binary
// search in `group_ends`, the running sum of workgroups per piece. So the
// piece index is the same for the whole workgroup, and the table's loads
// (uniform buffers at a uniform index) are done once for all invocations
// (lavapipe, which runs 8 invocations per SIMD vector, then keeps `p` in
// scalars, as it does a uniform; a GPU in its scalar
// unit). The padding costs at most one partly idle workgroup per piece.
// lavapipe still runs an `if` body under a mask when no invocation takes
// it, so expensive code stays out of untaken branches: separate kernels
// per distribution and per view, and fill_batch_range.wgsl's ANY_LANE.
// A piece's units never hold another piece's positions, so no two
// invocations of a dispatch write one word, except where two 16-bit pieces
// share a word: the host puts those in different dispatches.

// Piece.view: a contiguous element range, or a column block of a 2-D view.
// Mirrors `VIEW_RANGE` and `VIEW_COLUMNS` in src/gpu/batch.rs.
const VIEW_RANGE: u32 = 0u;
const VIEW_COLUMNS: u32 = 1u;

// One piece: an item's positions inside one binding window (128 bytes;
// `PieceEntry` in src/gpu/batch.rs).
struct Piece {
    // The kernel parameters of the item, as for the structured kernels,
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
}

// The dispatch: which workgroups of the bound table it runs.
struct Batch {
    groups: u32,     // workgroups this dispatch runs
    group_base: u32, // first workgroup of the table it runs
    groups_x: u32,   // workgroups per row of the 2-D grid
    pieces: u32,     // entries in the bound table
}

// `TABLE_LEN`, the descriptors a dispatch binds at most, is not declared
// here: it sizes the arrays below, so it cannot be an `override`, and the
// host prepends `const TABLE_LEN: u32 = <n>u;` (its own table length, 512
// where uniform bindings reach 64 KiB) to the module (`Part::TableLen` in
// src/gpu/shaders.rs).

// The parameters of the invocation's piece, loaded by `unit_of`: the very
// variable that kernel_io.wgsl's functions and the kernels' sample_block
// read (a uniform in the structured kernels, kernel_uniform.wgsl).
var<private> p: Params;

// The table lives in uniform buffers, not storage: the piece index is the
// same for a whole workgroup, and implementations load uniform data at a
// uniform index once for all invocations (lavapipe, like a GPU's scalar
// unit), so `p` is as cheap as a uniform.
@group(0) @binding(1) var<uniform> pieces: array<Piece, TABLE_LEN>;
// Running sum of workgroups per piece, four to a vec4 (uniform arrays have
// a 16-byte stride).
@group(0) @binding(2) var<uniform> group_ends: array<vec4<u32>, TABLE_LEN / 4u>;
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

// Entry i of the running sum of workgroups per piece.
fn group_end(i: u32) -> u32 {
    return group_ends[i >> 2u][i & 3u];
}

// The piece that workgroup g belongs to: the first entry of group_ends
// above g.
fn find_piece(g: u32) -> u32 {
    var lo = 0u;
    var hi = batch.pieces;
    while lo < hi {
        let mid = (lo + hi) >> 1u;
        if group_end(mid) <= g {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return lo;
}

// The tensor element at window position q of a VIEW_COLUMNS piece:
// row_base + r * row_len + c, with (r, c) = divmod(col0 + q - pos_begin,
// cols). Garbage (but no fault) for a position outside the piece.
fn column_element(piece: Piece, q: u32) -> vec2<u32> {
    let d = piece.col0 + (q - p.pos_begin);
    let r = d / piece.cols;
    let c = d - r * piece.cols;
    return add_u64_u64(add_u64_u64(piece.row_base, mul_u64_u32(piece.row_len, r)), vec2<u32>(c, 0u));
}

// Unit `lid` of workgroup `wid` of the dispatch: finds the workgroup's
// piece (the same for the whole workgroup), loads its parameters into `p`
// and returns the piece and the unit's offset j (in positions) from
// q_start, or `false` in `.ok` for a workgroup past the dispatch's end.
struct Unit {
    ok: bool,
    piece: Piece,
    j: u32,
}

fn unit_of(wid: vec3<u32>, lid: u32) -> Unit {
    var unit: Unit;
    let w = wid.y * batch.groups_x + wid.x;
    if w >= batch.groups {
        unit.ok = false;
        return unit;
    }
    let g = batch.group_base + w;
    let i = find_piece(g);
    var begin = 0u;
    if i > 0u {
        begin = group_end(i - 1u);
    }
    unit.ok = true;
    unit.piece = pieces[i];
    unit.j = 4u * ((g - begin) * 256u + lid);
    p = unit.piece.params;
    return unit;
}
