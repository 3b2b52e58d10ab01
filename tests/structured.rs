//! Structured inits (orthogonal, eye, identity, dirac, sparse,
//! delta-orthogonal): orthogonality, the Haar distribution, determinism,
//! the structure each init promises, GPU against CPU on every adapter, and
//! bad input. (Their kernels are validated by naga in
//! `tests/shaders_validate.rs` with every other kernel.)
//!
//! Statistical tests use fixed seeds and significance 0.001: a correct
//! implementation fails one with probability 0.001 for some seed, and the
//! seeds here are fixed, so the outcome is the same on every run.
//!
//! The GPU tests run on every adapter found and fail, saying how to get
//! one, where there is none.

use weight_init::gpu::unstable::Kernel;
use weight_init::gpu::GpuContext;
use weight_init::scheme::{Init, Layout, Plan, ResolveOptions, Structured};
use weight_init::stats::{ks_one_sample, normal_cdf, Agreement};
use weight_init::structured::{
    fill_structured_cpu, orthogonal_column_axis, orthogonal_f32, orthogonal_f32_with_threads,
    orthogonal_f32_without_sign_fix, sparse_key, sparse_zero_outputs, structured_numel,
};
use weight_init::{cpu, DType, Error, Normal, TensorKey};

mod common;
use common::{storage_buffer, values, Adapter, CANARY};

/// Significance of every statistical test here.
const ALPHA: f64 = 0.001;
/// z with P(|Z| > z) = 0.001.
const Z_ALPHA: f64 = 3.2905;

const DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::BF16];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn plan(init: &str, shape: &[u64], layout: Layout) -> Structured {
    let init: Init = init.parse().unwrap();
    match init
        .resolve(shape, &ResolveOptions::default().with_layout(layout))
        .unwrap()
    {
        Plan::Structured(s) => s,
        p => panic!("{init} resolved to {p:?}"),
    }
}

fn key_for(s: &Structured, seed: u64, stream: u64) -> TensorKey {
    TensorKey::new(seed, stream, structured_numel(s).unwrap())
}

fn cpu_bytes(s: &Structured, dtype: DType, key: &TensorKey) -> Vec<u8> {
    let mut out = vec![0u8; key.numel as usize * dtype.size_bytes()];
    fill_structured_cpu(s, dtype, key, &mut out).unwrap();
    out
}

/// max |QᵀQ - gain² I| (rows >= cols) or max |QQᵀ - gain² I| (rows <
/// cols) of a row-major `[rows, cols]` matrix, accumulated in f64.
fn gram_error(q: &[f32], rows: usize, cols: usize, gain: f64) -> f64 {
    // Gram of the shorter side: k vectors of length len, as contiguous f64
    // rows (the columns of Q, or its rows).
    let (k, len) = (rows.min(cols), rows.max(cols));
    let vecs: Vec<Vec<f64>> = (0..k)
        .map(|v| {
            (0..len)
                .map(|t| {
                    let i = if rows >= cols {
                        t * cols + v
                    } else {
                        v * cols + t
                    };
                    q[i] as f64
                })
                .collect()
        })
        .collect();
    let g2 = gain * gain;
    let mut worst = 0.0f64;
    for i in 0..k {
        for j in i..k {
            let dot: f64 = vecs[i].iter().zip(&vecs[j]).map(|(a, b)| a * b).sum();
            let e = (dot - if i == j { g2 } else { 0.0 }).abs();
            worst = worst.max(e);
        }
    }
    worst
}

/// The Haar CDF of one entry of a uniformly random orthogonal 4 x 4 matrix
/// (a coordinate of a uniform point on the sphere S³): density
/// (2/π)√(1 - x²), so Q[0,0]² ~ Beta(1/2, 3/2).
fn haar4_entry_cdf(x: f64) -> f64 {
    let x = x.clamp(-1.0, 1.0);
    0.5 + (x * (1.0 - x * x).sqrt() + x.asin()) / std::f64::consts::PI
}

// ---------------------------------------------------------------------------
// 1. Orthogonality
// ---------------------------------------------------------------------------

#[test]
fn orthogonal_is_orthogonal_in_f32() {
    let cases: [(&str, &[u64], Layout); 8] = [
        ("orthogonal", &[64, 64], Layout::Torch),
        ("orthogonal", &[300, 100], Layout::Torch),
        ("orthogonal", &[100, 300], Layout::Torch),
        ("orthogonal", &[64, 32, 3, 3], Layout::Torch),
        ("orthogonal", &[1024, 1024], Layout::Torch),
        ("orthogonal(gain=2)", &[200, 50], Layout::Torch),
        ("orthogonal(gain=0.5)", &[3, 3, 16, 64], Layout::Jax),
        ("orthogonal", &[1, 7], Layout::Torch),
    ];
    for (init, shape, layout) in cases {
        let s = plan(init, shape, layout);
        let Structured::Orthogonal { gain, rows, cols } = s else {
            panic!()
        };
        let key = key_for(&s, 2024, 3);
        let q = values(&cpu_bytes(&s, DType::F32, &key), DType::F32);
        let err = gram_error(&q, rows as usize, cols as usize, gain);
        eprintln!("{init} {shape:?} ({layout}): [{rows}, {cols}] max |Gram - gain² I| = {err:.2e}");
        assert!(
            err <= 1e-5 * gain * gain.max(1.0),
            "{init} {shape:?}: {err:e}"
        );
    }
}

#[test]
fn orthogonal_column_axis_follows_jax() {
    // column_axis = -1 is the JAX layout's orthogonal.
    let s = plan("orthogonal", &[3, 5, 40], Layout::Jax);
    let key = key_for(&s, 8, 9);
    let jax_layout = values(&cpu_bytes(&s, DType::F32, &key), DType::F32);
    assert_eq!(
        orthogonal_column_axis(&[3, 5, 40], -1, 1.0, 8, 9).unwrap(),
        jax_layout
    );
    // column_axis = 0 of [24, 4, 5]: for each column index c, the slice
    // t[c, :, :] flattened is column c of a [20, 24] matrix with orthonormal
    // rows (20 <= 24), i.e. the 24 slices span orthonormal rows.
    let t = orthogonal_column_axis(&[24, 4, 5], 0, 1.0, 8, 9).unwrap();
    let m: Vec<f32> = (0..20)
        .flat_map(|r| (0..24).map(move |c| (r, c)))
        .map(|(r, c)| t[c * 20 + r])
        .collect();
    assert!(gram_error(&m, 20, 24, 1.0) <= 1e-5);
    assert_eq!(m, orthogonal_f32(1.0, 20, 24, 8, 9).unwrap());
    assert!(orthogonal_column_axis(&[24, 4, 5], 3, 1.0, 8, 9).is_err());
    assert!(orthogonal_column_axis(&[24, 4, 5], -4, 1.0, 8, 9).is_err());
}

// ---------------------------------------------------------------------------
// 2. Haar distribution
// ---------------------------------------------------------------------------

struct HaarResult {
    diag_mean_t: f64,
    ks_p: f64,
}

fn haar_stats(draw: impl Fn(u64) -> Vec<f32>) -> HaarResult {
    let draws = 2000u64;
    let mut q00 = Vec::new();
    let mut diag_means = Vec::new();
    for stream in 0..draws {
        let q = draw(stream);
        q00.push(q[0]);
        diag_means.push((q[0] + q[5] + q[10] + q[15]) as f64 / 4.0);
    }
    // t statistic of the per-matrix diagonal means (independent draws).
    let n = draws as f64;
    let mean = diag_means.iter().sum::<f64>() / n;
    let var = diag_means.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    HaarResult {
        diag_mean_t: mean / (var / n).sqrt(),
        ks_p: ks_one_sample(&q00, haar4_entry_cdf).p_value,
    }
}

#[test]
fn orthogonal_is_haar_distributed_and_needs_the_sign_fix() {
    let fixed = haar_stats(|s| orthogonal_f32(1.0, 4, 4, 77, s).unwrap());
    eprintln!(
        "with the sign fix: diagonal mean t = {:.2}, KS p(Q[0,0]) = {:.3}",
        fixed.diag_mean_t, fixed.ks_p
    );
    assert!(fixed.diag_mean_t.abs() < Z_ALPHA, "diagonal mean is not 0");
    assert!(fixed.ks_p > ALPHA, "Q[0,0] is not Haar: p = {}", fixed.ks_p);

    // The same reflectors without multiplying Q's columns by d_k: the first
    // reflector maps x_0 to -sign(x_0[0]) |x_0| e_0, so Q[0,0] is never
    // positive, and the test must reject it.
    let raw = haar_stats(|s| orthogonal_f32_without_sign_fix(1.0, 4, 4, 77, s).unwrap());
    eprintln!(
        "without the sign fix: diagonal mean t = {:.2}, KS p(Q[0,0]) = {:.3e}",
        raw.diag_mean_t, raw.ks_p
    );
    assert!(
        raw.ks_p < ALPHA,
        "the unfixed QR passed the Haar KS test: p = {}",
        raw.ks_p
    );
}

// ---------------------------------------------------------------------------
// 3. Determinism (CPU side; the GPU side is in gpu_matches_cpu_bit_exact)
// ---------------------------------------------------------------------------

#[test]
fn same_seed_and_stream_give_the_same_tensor() {
    for (init, shape, layout) in [
        ("orthogonal", &[96u64, 40][..], Layout::Torch),
        ("orthogonal", &[40, 96], Layout::Jax),
        ("delta_orthogonal", &[16, 8, 3, 3], Layout::Torch),
        ("sparse(0.5, 0.1)", &[50, 30], Layout::Torch),
    ] {
        let s = plan(init, shape, layout);
        let a = cpu_bytes(&s, DType::F32, &key_for(&s, 5, 6));
        let b = cpu_bytes(&s, DType::F32, &key_for(&s, 5, 6));
        assert_eq!(a, b, "{init} {shape:?}: two runs differ");
        let c = cpu_bytes(&s, DType::F32, &key_for(&s, 5, 7));
        assert_ne!(
            a, c,
            "{init} {shape:?}: another stream gives the same tensor"
        );
        let d = cpu_bytes(&s, DType::F32, &key_for(&s, 4, 6));
        assert_ne!(a, d, "{init} {shape:?}: another seed gives the same tensor");
    }
    // The Gaussian is the crate's normal stream: orthogonal_f32 of a 1 x n
    // matrix is that stream's first row, normalized.
    let q = orthogonal_f32(1.0, 1, 8, 3, 4).unwrap();
    let mut g = vec![0.0f32; 8];
    let normal = Normal::new(0.0, 1.0).unwrap().into();
    cpu::fill_f32(&normal, &TensorKey::new(3, 4, 8), 0..8, &mut g).unwrap();
    let norm = g.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    for (a, b) in q.iter().zip(&g) {
        assert!(
            (*a as f64 - *b as f64 / norm).abs() < 1e-6,
            "{q:?} vs {g:?}"
        );
    }
}

/// The orthogonal values for any number of threads are the same bits as
/// with every core: the work is split into fixed panels whatever the
/// thread count (1, 2 and 8 here, on shapes of one and many panels and
/// blocks, tall and wide).
#[test]
fn orthogonal_bits_do_not_depend_on_the_thread_count() {
    for (r, c) in [(1024u64, 1024u64), (700, 300), (200, 900), (5, 3)] {
        let all = orthogonal_f32(1.0, r, c, 31, 4).unwrap();
        for threads in [1, 2, 8] {
            let q = orthogonal_f32_with_threads(1.0, r, c, 31, 4, threads).unwrap();
            assert!(
                q.iter()
                    .map(|x| x.to_bits())
                    .eq(all.iter().map(|x| x.to_bits())),
                "[{r}, {c}]: {threads} threads give other bits"
            );
        }
    }
    assert!(orthogonal_f32_with_threads(1.0, 4, 4, 31, 4, 0).is_err());
}

/// An independent f64 implementation of the module docs' rule: reflector
/// `k` from elements `k * m + k .. (k + 1) * m` of the normal stream,
/// `Q = H_0 ... H_{n-1} [I; 0] diag(d)`, `d_k = -sign(x_k[0])`, row-major
/// `gain * Q` (tall) or `gain * Qᵀ` (wide).
fn stewart_reference(gain: f64, rows: usize, cols: usize, seed: u64, stream: u64) -> Vec<f64> {
    let (m, n) = (rows.max(cols), rows.min(cols));
    let mut g = vec![0.0f32; m * n];
    let normal = Normal::new(0.0, 1.0).unwrap().into();
    let key = TensorKey::new(seed, stream, (m * n) as u64);
    cpu::fill_f32(&normal, &key, 0..key.numel, &mut g).unwrap();
    // q[r][c], row-major m x n, starts as [I; 0].
    let mut q: Vec<f64> = (0..m * n)
        .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
        .collect();
    let mut d = vec![0.0f64; n];
    for k in (0..n).rev() {
        let mut v: Vec<f64> = g[k * m + k..(k + 1) * m]
            .iter()
            .map(|&x| x as f64)
            .collect();
        let s = if v[0] >= 0.0 { 1.0 } else { -1.0 };
        v[0] += s * v.iter().map(|x| x * x).sum::<f64>().sqrt();
        d[k] = -s;
        let vv: f64 = v.iter().map(|x| x * x).sum();
        for c in 0..n {
            let dot: f64 = (k..m).map(|r| v[r - k] * q[r * n + c]).sum();
            for r in k..m {
                q[r * n + c] -= 2.0 * v[r - k] * dot / vv;
            }
        }
    }
    (0..rows * cols)
        .map(|i| {
            let (r, c) = if rows >= cols {
                (i / cols, i % cols)
            } else {
                (i % cols, i / cols)
            };
            gain * d[c] * q[r * n + c]
        })
        .collect()
}

/// The documented rule, computed independently: every value within 1e-5 of
/// the f64 reference, for shapes of several blocks and panels both ways.
#[test]
fn orthogonal_follows_the_documented_reflectors() {
    for (rows, cols, gain) in [
        (200usize, 130usize, 1.0),
        (130, 200, 2.0),
        (7, 7, 1.0),
        (1, 5, 1.0),
    ] {
        let q = orthogonal_f32(gain, rows as u64, cols as u64, 12, 34).unwrap();
        let want = stewart_reference(gain, rows, cols, 12, 34);
        let worst = q
            .iter()
            .zip(&want)
            .map(|(&a, b)| (a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-5 * gain, "[{rows}, {cols}]: off by {worst:e}");
    }
}

/// The trace of a Haar-random orthogonal `n x n` matrix has the moments
/// of a standard normal up to order `n - 1` (Diaconis & Shahshahani 1994),
/// so for n = 130 it is N(0, 1) to far better than a KS test resolves.
/// The trace sums entries of every block of reflectors and every panel of
/// `Q`, so a block applied wrongly, or a missing sign fix, moves it.
#[test]
fn orthogonal_trace_is_standard_normal() {
    let n = 130u64;
    let trace = |q: &[f32]| {
        (0..n as usize)
            .map(|i| q[i * n as usize + i] as f64)
            .sum::<f64>() as f32
    };
    let fixed: Vec<f32> = (0..1000)
        .map(|stream| trace(&orthogonal_f32(1.0, n, n, 99, stream).unwrap()))
        .collect();
    let ks = ks_one_sample(&fixed, normal_cdf);
    eprintln!("trace of Q (n = {n}): KS p = {:.3}", ks.p_value);
    assert!(
        ks.p_value > ALPHA,
        "trace is not N(0, 1): p = {}",
        ks.p_value
    );
    let raw: Vec<f32> = (0..200)
        .map(|stream| trace(&orthogonal_f32_without_sign_fix(1.0, n, n, 99, stream).unwrap()))
        .collect();
    assert!(
        ks_one_sample(&raw, normal_cdf).p_value < ALPHA,
        "the trace without the sign fix passed"
    );
}

// ---------------------------------------------------------------------------
// 4. Structure: dirac convolves to the identity, delta-orthogonal, sparse
// ---------------------------------------------------------------------------

/// Where weight (output channel `o`, input channel `i`, tap `t`) of a
/// conv kernel with `out` x `inp` channels and `ntaps` taps lies:
/// `[out, in, taps...]` (Torch) or `[taps..., in, out]` (JAX).
fn conv_index(
    layout: Layout,
    out: usize,
    inp: usize,
    ntaps: usize,
    o: usize,
    i: usize,
    t: usize,
) -> usize {
    match layout {
        Layout::Torch => (o * inp + i) * ntaps + t,
        Layout::Jax => (t * inp + i) * out + o,
        other => panic!("no element order for {other}"),
    }
}

/// A direct grouped convolution (cross-correlation, zero padding, the
/// kernel's tap `centre` over the output position, stride 1, same size):
/// `y[o][p] = Σ_i Σ_t w[o][i][t] x[g·in + i][p + t - centre]`,
/// `g = o / (out / groups)`. Spatial positions and taps are flattened
/// row-major over `dims` / `kernel`. `w` is read through `weight(o, i, t)`.
#[allow(clippy::too_many_arguments)]
fn conv(
    x: &[f64],
    dims: &[usize],
    groups: usize,
    out: usize,
    inp: usize,
    kernel: &[usize],
    centre: &[usize],
    weight: impl Fn(usize, usize, usize) -> f64,
) -> Vec<f64> {
    let npos: usize = dims.iter().product();
    let ntaps: usize = kernel.iter().product();
    let unflat = |mut f: usize, shape: &[usize]| {
        let mut c = vec![0usize; shape.len()];
        for d in (0..shape.len()).rev() {
            c[d] = f % shape[d];
            f /= shape[d];
        }
        c
    };
    let opg = out / groups;
    let mut y = vec![0.0; out * npos];
    for o in 0..out {
        let g = o / opg;
        for p in 0..npos {
            let pc = unflat(p, dims);
            let mut acc = 0.0;
            for i in 0..inp {
                for t in 0..ntaps {
                    let tc = unflat(t, kernel);
                    // Source position p + t - centre, zero outside.
                    let mut src = 0usize;
                    let mut inside = true;
                    for d in 0..dims.len() {
                        let s = pc[d] as isize + tc[d] as isize - centre[d] as isize;
                        if s < 0 || s >= dims[d] as isize {
                            inside = false;
                            break;
                        }
                        src = src * dims[d] + s as usize;
                    }
                    if inside {
                        acc += weight(o, i, t) * x[(g * inp + i) * npos + src];
                    }
                }
            }
            y[o * npos + p] = acc;
        }
    }
    y
}

#[test]
fn dirac_convolution_returns_the_input_per_group() {
    // (init, shape, layout, spatial input dims)
    let cases: [(&str, &[u64], Layout, &[usize]); 6] = [
        ("dirac", &[4, 4, 3], Layout::Torch, &[9]),
        ("dirac(groups=2)", &[6, 3, 3, 3], Layout::Torch, &[5, 6]),
        (
            "dirac(groups=2)",
            &[4, 2, 3, 2, 3],
            Layout::Torch,
            &[4, 3, 5],
        ),
        ("dirac", &[4, 4, 2, 4], Layout::Torch, &[5, 5]),
        ("dirac(groups=3)", &[3, 3, 2, 6], Layout::Jax, &[4, 4]),
        ("dirac", &[5, 3, 3], Layout::Jax, &[7]),
    ];
    let normal = Normal::new(0.0, 1.0).unwrap().into();
    for (init, shape, layout, dims) in cases {
        let s = plan(init, shape, layout);
        let Structured::Dirac {
            groups,
            out_channels,
            in_channels,
            ref kernel,
            ..
        } = s
        else {
            panic!()
        };
        let (groups, out, inp) = (groups as usize, out_channels as usize, in_channels as usize);
        let kernel: Vec<usize> = kernel.iter().map(|&k| k as usize).collect();
        let ntaps: usize = kernel.iter().product();
        for dtype in DTYPES {
            let w = values(&cpu_bytes(&s, dtype, &key_for(&s, 1, 2)), dtype);
            let weight = |o: usize, i: usize, t: usize| -> f64 {
                w[conv_index(layout, out, inp, ntaps, o, i, t)] as f64
            };
            let npos: usize = dims.iter().product();
            let mut x32 = vec![0.0f32; groups * inp * npos];
            let n = x32.len() as u64;
            cpu::fill_f32(&normal, &TensorKey::new(9, 9, n), 0..n, &mut x32).unwrap();
            let x: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
            let centre: Vec<usize> = kernel.iter().map(|k| k / 2).collect();
            let y = conv(&x, dims, groups, out, inp, &kernel, &centre, weight);
            let opg = out / groups;
            for o in 0..out {
                let (g, d) = (o / opg, o % opg);
                for p in 0..npos {
                    let want = if d < inp {
                        x[(g * inp + d) * npos + p]
                    } else {
                        0.0
                    };
                    assert_eq!(
                        y[o * npos + p],
                        want,
                        "{init} {shape:?} {dtype}: out {o} at {p}"
                    );
                }
            }
        }
    }
}

#[test]
fn delta_orthogonal_has_an_orthogonal_centre_and_zero_elsewhere() {
    let cases: [(&str, &[u64], Layout); 4] = [
        ("delta_orthogonal", &[16, 8, 3], Layout::Torch),
        ("delta_orthogonal(gain=2)", &[12, 12, 3, 3], Layout::Torch),
        ("delta_orthogonal", &[4, 3, 3, 6, 10], Layout::Jax),
        ("delta_orthogonal", &[2, 4, 8, 8], Layout::Jax),
    ];
    for (init, shape, layout) in cases {
        let s = plan(init, shape, layout);
        let Structured::DeltaOrthogonal {
            gain,
            out_channels,
            in_channels,
            ref kernel,
            ..
        } = s
        else {
            panic!()
        };
        let (out, inp) = (out_channels as usize, in_channels as usize);
        let ntaps: usize = kernel.iter().product::<u64>() as usize;
        // JAX's centre: (k - 1) / 2 in each dimension.
        let centre = kernel.iter().fold(0u64, |a, &k| a * k + (k - 1) / 2) as usize;
        let w = values(&cpu_bytes(&s, DType::F32, &key_for(&s, 3, 1)), DType::F32);
        let at = |o: usize, i: usize, t: usize| w[conv_index(layout, out, inp, ntaps, o, i, t)];
        // Centre tap as M[i][o] (in x out, orthonormal rows scaled by gain).
        let m: Vec<f32> = (0..inp)
            .flat_map(|i| (0..out).map(move |o| (i, o)))
            .map(|(i, o)| at(o, i, centre))
            .collect();
        let err = gram_error(&m, inp, out, gain);
        assert!(err <= 1e-5, "{init} {shape:?}: {err:e}");
        assert_eq!(
            m,
            orthogonal_f32(gain, inp as u64, out as u64, 3, 1).unwrap()
        );
        for t in (0..ntaps).filter(|&t| t != centre) {
            for o in 0..out {
                for i in 0..inp {
                    assert_eq!(at(o, i, t).to_bits(), 0, "{init} {shape:?}: tap {t}");
                }
            }
        }
    }
}

/// The zero positions, and the values at the others, of a sparse tensor.
fn sparse_columns(s: &Structured, w: &[f32]) -> (Vec<Vec<u64>>, Vec<f32>) {
    let Structured::Sparse {
        outputs,
        inputs,
        layout,
        ..
    } = *s
    else {
        panic!()
    };
    let mut zeros = vec![Vec::new(); inputs as usize];
    let mut nonzero = Vec::new();
    for i in 0..inputs {
        for o in 0..outputs {
            let e = match layout {
                Layout::Torch => o * inputs + i,
                Layout::Jax => i * outputs + o,
                other => panic!("no element order for {other}"),
            };
            let v = w[e as usize];
            if v == 0.0 {
                assert_eq!(v.to_bits(), 0, "zeros are +0");
                zeros[i as usize].push(o);
            } else {
                nonzero.push(v);
            }
        }
    }
    (zeros, nonzero)
}

#[test]
fn sparse_has_exact_zero_counts_and_normal_values() {
    for (init, shape, layout) in [
        ("sparse(0.3, 0.02)", &[400u64, 300][..], Layout::Torch),
        ("sparse(0.9)", &[300, 200], Layout::Jax),
        ("sparse(0.1, 1)", &[7, 500], Layout::Torch),
        ("sparse(0)", &[20, 10], Layout::Torch),
    ] {
        let s = plan(init, shape, layout);
        let Structured::Sparse {
            sparsity,
            std,
            outputs,
            zeros_per_input,
            ..
        } = s
        else {
            panic!()
        };
        assert_eq!(zeros_per_input, (sparsity * outputs as f64).ceil() as u64);
        let key = key_for(&s, 10, 20);
        let w = values(&cpu_bytes(&s, DType::F32, &key), DType::F32);
        let (zeros, nonzero) = sparse_columns(&s, &w);
        for (i, z) in zeros.iter().enumerate() {
            assert_eq!(z.len() as u64, zeros_per_input, "{init}: input {i}");
            assert_eq!(
                *z,
                sparse_zero_outputs(10, 20, outputs, i as u64, zeros_per_input).unwrap()
            );
        }
        // Every non-zero value is the crate's normal(0, std) at its index.
        let mut normal = vec![0.0f32; key.numel as usize];
        let dist = Normal::new(0.0, std as f32).unwrap().into();
        cpu::fill_f32(&dist, &key, 0..key.numel, &mut normal).unwrap();
        for (e, &v) in w.iter().enumerate() {
            assert!(v == 0.0 || v == normal[e], "{init}: element {e}");
        }
        if nonzero.len() > 1000 {
            let ks = ks_one_sample(&nonzero, |x| normal_cdf(x / std));
            eprintln!(
                "{init} {shape:?}: KS p = {:.3} over {} values",
                ks.p_value,
                nonzero.len()
            );
            assert!(
                ks.p_value > ALPHA,
                "{init}: non-zeros are not normal(0, {std})"
            );
        }
    }
}

#[test]
fn sparse_zero_positions_are_uniform_over_outputs() {
    // 40 outputs, 10 zeros per input, 4000 inputs: each output is a zero in
    // Binomial(4000, 1/4) inputs. Chi-square over the 40 outputs (39 dof,
    // critical value at 0.001: 72.05).
    let s = plan("sparse(0.25, 1)", &[40, 4000], Layout::Torch);
    let w = values(&cpu_bytes(&s, DType::F32, &key_for(&s, 1, 1)), DType::F32);
    let (zeros, _) = sparse_columns(&s, &w);
    let mut count = [0u64; 40];
    for z in &zeros {
        for &o in z {
            count[o as usize] += 1;
        }
    }
    let expected = 4000.0 * 10.0 / 40.0;
    let chi2: f64 = count
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    eprintln!("sparse zero positions: chi-square = {chi2:.1} (39 dof, critical 72.05)");
    assert!(chi2 < 72.05, "zero positions are not uniform: {chi2}");
}

// ---------------------------------------------------------------------------
// 5. GPU against CPU, on every adapter
// ---------------------------------------------------------------------------

/// Tiny binding windows and 2-workgroup grid rows, to split every fill.
const SMALL_WINDOW: u64 = 1024;

fn adapters() -> &'static [Adapter] {
    common::adapters(Some(common::small_window(SMALL_WINDOW)))
}

/// A STORAGE | COPY_SRC buffer with `extra` usages, every byte `fill_byte`.
fn buffer_with(
    ctx: &GpuContext,
    size: u64,
    fill_byte: u8,
    extra: wgpu::BufferUsages,
) -> wgpu::Buffer {
    use wgpu::util::DeviceExt;
    ctx.device()
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("test"),
            contents: &vec![fill_byte; size as usize],
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | extra,
        })
}

/// Fills `s` at `byte_offset` of a canary-filled buffer on the GPU; checks
/// the canaries around it and returns the tensor's bytes.
fn gpu_bytes(
    ctx: &GpuContext,
    s: &Structured,
    dtype: DType,
    key: &TensorKey,
    byte_offset: u64,
) -> Vec<u8> {
    gpu_bytes_with(
        ctx,
        s,
        dtype,
        key,
        byte_offset,
        wgpu::BufferUsages::COPY_DST,
    )
}

/// [`gpu_bytes`] into a buffer with usages STORAGE | COPY_SRC | `extra`
/// (orthogonal values are copied where the buffer has COPY_DST, written by
/// the kernel where not).
fn gpu_bytes_with(
    ctx: &GpuContext,
    s: &Structured,
    dtype: DType,
    key: &TensorKey,
    byte_offset: u64,
    extra: wgpu::BufferUsages,
) -> Vec<u8> {
    let len = key.numel * dtype.size_bytes() as u64;
    let size = (byte_offset + len + 6).div_ceil(4) * 4;
    let buf = buffer_with(ctx, size, CANARY, extra);
    ctx.fill_structured(&buf, byte_offset, s, dtype, key)
        .unwrap();
    let all = ctx.read_buffer(&buf, 0, size).unwrap();
    let (head, rest) = all.split_at(byte_offset as usize);
    let (body, tail) = rest.split_at(len as usize);
    assert!(
        head.iter().all(|&b| b == CANARY),
        "bytes before the tensor changed"
    );
    assert!(
        tail.iter().all(|&b| b == CANARY),
        "bytes after the tensor changed"
    );
    body.to_vec()
}

fn gpu_cases() -> Vec<(&'static str, &'static [u64], Layout)> {
    vec![
        ("eye", &[37, 53], Layout::Torch),
        ("eye", &[60, 6], Layout::Torch),
        ("identity(gain=2.5)", &[40, 30], Layout::Torch),
        ("dirac", &[4, 4, 5], Layout::Torch),
        ("dirac(groups=2)", &[6, 3, 3, 3], Layout::Torch),
        ("dirac(groups=2)", &[3, 3, 3, 2, 4], Layout::Jax),
        ("dirac(groups=4)", &[8, 2, 2, 4, 3], Layout::Torch),
        ("orthogonal", &[64, 32, 3, 3], Layout::Torch),
        ("orthogonal(gain=1.5)", &[50, 120], Layout::Jax),
        ("delta_orthogonal(gain=1.5)", &[8, 4, 3, 3], Layout::Torch),
        ("delta_orthogonal", &[3, 3, 4, 8], Layout::Jax),
        ("sparse(0.3, 0.02)", &[100, 77], Layout::Torch),
        ("sparse(0.9)", &[64, 300], Layout::Jax),
        ("sparse(0.5, 3)", &[1, 9], Layout::Torch),
    ]
}

/// Compares GPU bytes with CPU bytes: bit-exact for every structured
/// kind, sparse's normal values included; on a mismatch the largest ULP
/// distance is reported before failing.
fn compare(label: &str, s: &Structured, dtype: DType, gpu: &[u8], cpu: &[u8]) {
    if gpu == cpu {
        return;
    }
    let scale = match *s {
        Structured::Sparse { std, .. } => std as f32,
        _ => 1.0,
    };
    let (g, c) = (values(gpu, dtype), values(cpu, dtype));
    let worst = Agreement::of(&g, &c, scale, dtype).max_ulp;
    panic!("{label}: GPU bytes differ from the CPU's (up to {worst} ULP)");
}

#[test]
fn gpu_matches_cpu_bit_exact() {
    for a in adapters() {
        for (init, shape, layout) in gpu_cases() {
            let s = plan(init, shape, layout);
            let key = key_for(&s, 0xDEAD_BEEF_0123, 42);
            for dtype in DTYPES {
                let cpu = cpu_bytes(&s, dtype, &key);
                let size = dtype.size_bytes() as u64;
                // Aligned, one element in (mid-word for 16-bit dtypes), and
                // far in (past a window of the small context).
                // Buffers without COPY_DST take every value from the kernel.
                let copy = wgpu::BufferUsages::COPY_DST;
                let none = wgpu::BufferUsages::empty();
                for (ctx, offset, extra) in [
                    (&a.ctx, 0, copy),
                    (&a.ctx, size, copy),
                    (&a.ctx, 4, none),
                    (a.small(), 3 * size, copy),
                    (a.small(), 1000 + size, none),
                ] {
                    let label = format!(
                        "{}: {init} {shape:?} {layout} {dtype} at {offset} ({extra:?})",
                        a.name
                    );
                    let gpu = gpu_bytes_with(ctx, &s, dtype, &key, offset, extra);
                    compare(&label, &s, dtype, &gpu, &cpu);
                }
            }
        }
        eprintln!(
            "{}: eye, identity, dirac, orthogonal, delta-orthogonal and sparse bit-exact",
            a.name
        );
    }
}

#[test]
fn gpu_sparse_breaks_key_ties_as_the_cpu() {
    // A tensor [outputs, 1] whose one input has two outputs with the same
    // 32-bit key, and zeros_per_input chosen so that exactly one of the two
    // is a zero: the threshold kernel has to walk the outputs for the cut.
    let outputs = 100_000u64;
    let (stream, k) = (0..64u64)
        .find_map(|stream| {
            let mut keys: Vec<(u32, u64)> = (0..outputs)
                .map(|o| (sparse_key(5, stream, outputs, 0, o), o))
                .collect();
            keys.sort_unstable();
            let tie = keys.windows(2).position(|w| w[0].0 == w[1].0)?;
            Some((stream, tie as u64 + 1))
        })
        .expect("no stream with a key tie among 64");
    let s = Structured::Sparse {
        sparsity: 0.5,
        std: 1.0,
        outputs,
        inputs: 1,
        zeros_per_input: k,
        layout: Layout::Torch,
    };
    let key = TensorKey::new(5, stream, outputs);
    let cpu = cpu_bytes(&s, DType::BF16, &key);
    let (zeros, _) = sparse_columns(&s, &values(&cpu, DType::BF16));
    assert_eq!(zeros[0].len() as u64, k);
    for a in adapters() {
        let gpu = gpu_bytes(&a.ctx, &s, DType::BF16, &key, 0);
        compare(
            &format!("{}: sparse tie", a.name),
            &s,
            DType::BF16,
            &gpu,
            &cpu,
        );
    }
}

#[test]
fn gpu_structured_fill_records_into_the_callers_encoder() {
    for a in adapters() {
        let s = plan("orthogonal", &[48, 80], Layout::Torch);
        let key = key_for(&s, 1, 2);
        let buf = storage_buffer(&a.ctx, key.numel * 4, 0);
        let e = plan("eye", &[16, 16], Layout::Torch);
        let ekey = key_for(&e, 1, 2);
        let ebuf = storage_buffer(&a.ctx, ekey.numel * 2, 0);
        let mut encoder = a.ctx.device().create_command_encoder(&Default::default());
        // Orthogonal: the QR is an explicit host step before recording.
        let values = weight_init::gpu::StructuredValues::compute(&s, DType::F32, &key).unwrap();
        a.ctx
            .record_structured_values(&mut encoder, &buf, 0, &values)
            .unwrap();
        a.ctx
            .record_structured(&mut encoder, &ebuf, 0, &e, DType::F16, &ekey)
            .unwrap();
        a.ctx.queue().submit([encoder.finish()]);
        assert_eq!(
            a.ctx.read_buffer(&buf, 0, key.numel * 4).unwrap(),
            cpu_bytes(&s, DType::F32, &key)
        );
        assert_eq!(
            a.ctx.read_buffer(&ebuf, 0, ekey.numel * 2).unwrap(),
            cpu_bytes(&e, DType::F16, &ekey)
        );
    }
}

/// The 64-bit long division of structured.wgsl (used for element indices
/// past 2^32, which no test buffer reaches) against Rust's.
#[test]
fn gpu_u64_division_is_exact() {
    let entry = r#"
@compute @workgroup_size(64)
fn test_divmod(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= arrayLength(&aux) / 4u {
        return;
    }
    let r = divmod_u64(vec2<u32>(aux[4u * i], aux[4u * i + 1u]), vec2<u32>(aux[4u * i + 2u], aux[4u * i + 3u]));
    out[4u * i] = r.q.x;
    out[4u * i + 1u] = r.q.y;
    out[4u * i + 2u] = r.r.x;
    out[4u * i + 3u] = r.r.y;
}
"#;
    let mut cases: Vec<(u64, u64)> = vec![
        (u64::MAX, 1),
        (u64::MAX, u64::MAX),
        (u64::MAX - 1, u64::MAX),
        (u64::MAX, 3),
        (1 << 63, (1 << 32) + 1),
        (123_456_789_012_345, 4097),
        ((1 << 40) + 5, 1 << 40),
        (5, 1 << 40),
        (0x1_0000_0000, 0xffff_ffff),
        (0xffff_ffff, 7),
    ];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..500 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let d = (x.rotate_left(17) >> (i % 64)).max(1);
        cases.push((x >> (i % 23), d));
    }
    let input: Vec<u32> = cases
        .iter()
        .flat_map(|&(a, b)| [a as u32, (a >> 32) as u32, b as u32, (b >> 32) as u32])
        .collect();
    for a in adapters() {
        let device = a.ctx.device();
        let src = Kernel::FillStructured
            .shader()
            .source(a.ctx.module_options())
            + entry;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("divmod test"),
            source: wgpu::ShaderSource::Wgsl(src.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("divmod test"),
            layout: None,
            module: &module,
            entry_point: Some("test_divmod"),
            compilation_options: Default::default(),
            cache: None,
        });
        let bytes = 4 * input.len() as u64;
        let inp = storage_buffer(&a.ctx, bytes, 0);
        a.ctx
            .queue()
            .write_buffer(&inp, 0, bytemuck::cast_slice(&input));
        let out = storage_buffer(&a.ctx, bytes, 0);
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: out.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: inp.as_entire_binding(),
                },
            ],
        });
        a.ctx
            .submit_checked(|enc| {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &bind, &[]);
                pass.dispatch_workgroups((cases.len() as u32).div_ceil(64), 1, 1);
                Ok(())
            })
            .unwrap();
        let got = a.ctx.read_buffer(&out, 0, bytes).unwrap();
        let got: &[u32] = bytemuck::cast_slice(&got);
        for (i, &(x, d)) in cases.iter().enumerate() {
            let q = got[4 * i] as u64 | (got[4 * i + 1] as u64) << 32;
            let r = got[4 * i + 2] as u64 | (got[4 * i + 3] as u64) << 32;
            assert_eq!((q, r), (x / d, x % d), "{}: {x} / {d}", a.name);
        }
    }
}

// ---------------------------------------------------------------------------
// 6. Bad input
// ---------------------------------------------------------------------------

#[test]
fn bad_shapes_and_parameters_are_errors() {
    let opts = ResolveOptions::default();
    let resolve = |init: &str, shape: &[u64]| init.parse::<Init>().unwrap().resolve(shape, &opts);
    for (init, shape) in [
        ("orthogonal", &[10u64][..]),
        ("orthogonal", &[]),
        ("orthogonal", &[0, 5]),
        ("orthogonal", &[5, 0, 3]),
        ("eye", &[3]),
        ("eye", &[2, 3, 4]),
        ("identity", &[0, 3]),
        ("dirac", &[4, 4]),
        ("dirac", &[4, 4, 3, 3, 3, 3]),
        ("dirac(groups=3)", &[4, 2, 3, 3]),
        ("delta_orthogonal", &[4, 8, 3]),
        ("delta_orthogonal", &[8, 8]),
        ("sparse(0.5)", &[10]),
        ("sparse(0.5)", &[10, 10, 3]),
        ("sparse(0.5)", &[10, 0]),
    ] {
        let r = resolve(init, shape);
        assert!(
            matches!(r, Err(Error::InvalidShape { .. })),
            "{init} {shape:?}: {r:?}"
        );
    }
    for text in [
        "sparse(1.0)",
        "sparse(-0.1)",
        "sparse(0.5, 0)",
        "dirac(groups=0)",
        "orthogonal(gain=0)",
        "identity(gain=inf)",
    ] {
        assert!(text.parse::<Init>().is_err(), "{text} parsed");
    }
    // Plans built by hand are checked too.
    let bad = [
        Structured::Eye {
            gain: 1.0,
            rows: 0,
            cols: 4,
        },
        Structured::Orthogonal {
            gain: f64::NAN,
            rows: 4,
            cols: 4,
        },
        Structured::Dirac {
            groups: 0,
            out_channels: 4,
            in_channels: 4,
            kernel: vec![3],
            layout: Layout::Torch,
        },
        Structured::Dirac {
            groups: 1,
            out_channels: 4,
            in_channels: 4,
            kernel: vec![],
            layout: Layout::Torch,
        },
        Structured::DeltaOrthogonal {
            gain: 1.0,
            out_channels: 2,
            in_channels: 4,
            kernel: vec![3],
            layout: Layout::Jax,
        },
        Structured::Sparse {
            sparsity: 0.5,
            std: 1.0,
            outputs: 4,
            inputs: 4,
            zeros_per_input: 5,
            layout: Layout::Torch,
        },
        Structured::Sparse {
            sparsity: 0.5,
            std: -1.0,
            outputs: 4,
            inputs: 4,
            zeros_per_input: 2,
            layout: Layout::Torch,
        },
    ];
    for s in &bad {
        assert!(structured_numel(s).is_err(), "{s:?}");
        let mut out = vec![0u8; 64 * 4];
        assert!(fill_structured_cpu(s, DType::F32, &TensorKey::new(0, 0, 16), &mut out).is_err());
    }
    // Wrong key, wrong output length, a gain the dtype cannot hold: errors,
    // nothing written.
    let s = plan("identity(gain=1e6)", &[4, 4], Layout::Torch);
    let mut out = vec![7u8; 32];
    assert!(matches!(
        fill_structured_cpu(&s, DType::F16, &TensorKey::new(0, 0, 16), &mut out),
        Err(Error::Unrepresentable { .. })
    ));
    let s = plan("orthogonal(gain=1e5)", &[4, 4], Layout::Torch);
    assert!(matches!(
        fill_structured_cpu(&s, DType::F16, &TensorKey::new(0, 0, 16), &mut out),
        Err(Error::Unrepresentable { .. })
    ));
    let s = plan("eye", &[4, 4], Layout::Torch);
    assert!(fill_structured_cpu(&s, DType::F16, &TensorKey::new(0, 0, 15), &mut out).is_err());
    assert!(matches!(
        fill_structured_cpu(&s, DType::F32, &TensorKey::new(0, 0, 16), &mut out),
        Err(Error::OutputLength { .. })
    ));
    assert!(out.iter().all(|&b| b == 7), "a failed fill wrote");
    assert!(orthogonal_f32(1.0, 0, 4, 0, 0).is_err());
    assert!(orthogonal_f32(-1.0, 4, 4, 0, 0).is_err());
    assert!(sparse_zero_outputs(0, 0, 4, 0, 5).is_err());
}

#[test]
fn gpu_bad_input_is_an_error_and_writes_nothing() {
    for a in adapters() {
        let ctx = &a.ctx;
        let s = plan("eye", &[8, 8], Layout::Torch);
        let key = key_for(&s, 0, 0);
        // No STORAGE usage.
        let copy_only = ctx.device().create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 256,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        assert!(matches!(
            ctx.fill_structured(&copy_only, 0, &s, DType::F32, &key),
            Err(Error::BufferUsage { .. })
        ));
        let buf = storage_buffer(ctx, 512, CANARY);
        let cases: Vec<(Structured, DType, TensorKey, u64)> = vec![
            (s.clone(), DType::F32, key, 2),                      // misaligned
            (s.clone(), DType::F32, key, 300),                    // past the end
            (s.clone(), DType::F32, TensorKey::new(0, 0, 63), 0), // wrong numel
            (
                plan("identity(gain=1e6)", &[8, 8], Layout::Torch),
                DType::F16,
                key,
                0,
            ),
            (
                plan("orthogonal(gain=1e6)", &[8, 8], Layout::Torch),
                DType::F16,
                key,
                0,
            ),
            (
                Structured::Sparse {
                    sparsity: 0.5,
                    std: 1e30,
                    outputs: 8,
                    inputs: 8,
                    zeros_per_input: 4,
                    layout: Layout::Torch,
                },
                DType::F16,
                key,
                0,
            ),
            (
                Structured::Dirac {
                    groups: 3,
                    out_channels: 4,
                    in_channels: 4,
                    kernel: vec![4],
                    layout: Layout::Torch,
                },
                DType::F32,
                key,
                0,
            ),
        ];
        for (s, dtype, key, offset) in cases {
            let r = ctx.fill_structured(&buf, offset, &s, dtype, &key);
            assert!(r.is_err(), "{}: {s:?} at {offset}: {r:?}", a.name);
        }
        let all = ctx.read_buffer(&buf, 0, 512).unwrap();
        assert!(
            all.iter().all(|&b| b == CANARY),
            "{}: a failed fill wrote",
            a.name
        );
    }
}
