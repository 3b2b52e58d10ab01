// Per-column statistics of a row-major [rows, cols] matrix for the
// signal-propagation diagnostic; the host combines the columns in f64
// (`combine_partials` in src/diagnose/mod.rs). One invocation per column
// writes 4 words at out[out_offset + 4 c]:
//   0: the column's mean over the rows,
//   1: its sum of squared deviations from that mean (two passes, so a
//      large mean does not cancel the variance),
//   2: the number of rows where the value is not 0 (0: a dead unit),
//   3: max over rows of |x[r, c] - x[r, 0]| (0 for every column: all units
//      identical, the symmetry problem).

struct Shape {
    rows: u32,
    cols: u32,
    out_offset: u32,
    pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> shape: Shape;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    if (c >= shape.cols) {
        return;
    }
    var sum = 0.0;
    for (var r = 0u; r < shape.rows; r += 1u) {
        sum += x[r * shape.cols + c];
    }
    let mean = sum / f32(shape.rows);
    var m2 = 0.0;
    var nonzero = 0u;
    var spread = 0.0;
    for (var r = 0u; r < shape.rows; r += 1u) {
        let v = x[r * shape.cols + c];
        let d = v - mean;
        m2 = fma(d, d, m2);
        nonzero += select(0u, 1u, v != 0.0);
        spread = max(spread, abs(v - x[r * shape.cols]));
    }
    let o = shape.out_offset + 4u * c;
    out[o] = mean;
    out[o + 1u] = m2;
    out[o + 2u] = f32(nonzero);
    out[o + 3u] = spread;
}
