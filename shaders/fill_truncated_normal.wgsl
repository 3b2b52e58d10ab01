// fill_truncated_normal.wgsl: truncated normal samples (one pass, inverse
// CDF from the nearer end; Params.mode, ta and tb carry the sampler's
// TruncMode).
// fill_batch_random.wgsl's `block_values` calls the
// sample_block defined here. Composition: the shader table in src/gpu/shaders.rs.

// The four values of one Philox block:
// `finish(truncated_std_normal(mode, w))` per lane. Mirrors the
// `SamplerKind::TruncatedNormal` arm of `Sampler::sample_block`.
//
// Each lane's value is truncated_std_normal's, taken apart: its common part
// for all four lanes, then the deep-tail formula for the lanes that need it.
// Why not call truncated_std_normal per lane: SIMD implementations
// (lavapipe runs 8 invocations per vector) execute an `if` body under a mask
// whether or not a lane takes it, so four calls ran the asymptotic tail
// (four fixed-point steps, each a log, a reciprocal and two square roots)
// four times per block for every block, deep lanes or none. Here it runs
// once per trip of a loop that takes one deep lane per trip, and a loop
// stops when no lane of the vector has work left: one evaluation per block
// in the common case (no deep lane in the vector), more only where a block
// of the vector has two or more deep lanes. The same functions on the same
// operands, so the same bits.
fn sample_block(w: vec4<u32>) -> vec4<f32> {
    let c0 = truncated_std_normal_common(p.mode, p.ta, p.tb, w.x);
    let c1 = truncated_std_normal_common(p.mode, p.ta, p.tb, w.y);
    let c2 = truncated_std_normal_common(p.mode, p.ta, p.tb, w.z);
    let c3 = truncated_std_normal_common(p.mode, p.ta, p.tb, w.w);
    var z = vec4<f32>(c0.x, c1.x, c2.x, c3.x);
    let y = vec4<f32>(c0.y, c1.y, c2.y, c3.y);
    let sign = vec4<f32>(c0.z, c1.z, c2.z, c3.z);
    // Bit k: lane k takes the asymptotic formula (truncated_std_normal's test).
    var deep = select(0u, 1u, tail_radius(y.x) > TAIL_POLY_MAX_R)
        | select(0u, 2u, tail_radius(y.y) > TAIL_POLY_MAX_R)
        | select(0u, 4u, tail_radius(y.z) > TAIL_POLY_MAX_R)
        | select(0u, 8u, tail_radius(y.w) > TAIL_POLY_MAX_R);
    loop {
        // The lowest deep lane (lane 0 when none: its result is dropped).
        let k = select(0u, countTrailingZeros(deep), deep != 0u);
        let tail = mul(sign[k], probit_tail_asymptotic(y[k]));
        if deep != 0u {
            z[k] = tail;
            deep &= deep - 1u;
        }
        if deep == 0u {
            break;
        }
    }
    return vec4<f32>(finish(z.x), finish(z.y), finish(z.z), finish(z.w));
}
