//! Structured inits on the CPU: orthogonal (Householder reflectors), eye and
//! identity, dirac, sparse and delta-orthogonal.
//!
//! [`fill_structured_cpu`] writes a whole tensor for a resolved
//! [`Structured`] plan, in the little-endian bytes of its dtype, with the
//! rounding of the CPU backend ([`crate::dtype::f32_to_f16_bits`],
//! [`crate::dtype::f32_to_bf16_bits`]). The GPU backend
//! (`GpuContext::record_structured`) computes eye, identity, dirac and
//! sparse on the device with the same rules, and uploads orthogonal and
//! delta-orthogonal from [`orthogonal_f32`].
//!
//! The rules, which make every value a function of `(seed, stream)`:
//!
//! - **Orthogonal** `[rows, cols]` (PyTorch `orthogonal_`): with
//!   `m = max(rows, cols)` and `n = min(rows, cols)`, `Q` (`m x n`) is the
//!   product of `n` Householder reflections of independent Gaussian vectors
//!   (Stewart 1980, "The efficient generation of random orthogonal matrices
//!   with an application to condition estimators", SIAM J. Numer. Anal.
//!   17(3); Mezzadri 2007, "How to generate random matrices from the
//!   classical compact groups", Notices AMS 54(5)). For `k < n`, `x_k` (length
//!   `m - k`) is elements `k·m + k .. (k + 1)·m` of the crate's `normal(0, 1)`
//!   stream for `(seed, stream)` (exactly `cpu::fill_f32(Normal(0, 1),
//!   TensorKey::new(seed, stream, m · n))` over that range): column `k` of the
//!   column-major `m x n` Gaussian from its diagonal down; the elements above
//!   the diagonal are not used. `H_k = diag(I_k, I - 2 u uᵀ / uᵀu)` with
//!   `u = x_k + s_k ‖x_k‖ e₀`, `s_k = sign(x_k[0])` (`+1` for zero), maps
//!   `x_k` to `-s_k ‖x_k‖ e₀`; `d_k = -s_k`. `Q = H₀ H₁ ⋯ H_{n-1} [I_n; 0]
//!   diag(d)` is distributed as the `Q` of the Householder QR of an `m x n`
//!   Gaussian matrix with its columns multiplied by `sign(diag(R))`, hence
//!   Haar, without computing `R` (half the flops of a QR and its `Q`). The result is
//!   `gain · Q` (`gain · Qᵀ` if `rows < cols`), computed in f32 (the
//!   reflectors' norms in f64), then rounded to the dtype. `Q` is built as
//!   LAPACK's `orgqr` builds it: blocks of [`ORTHOGONAL_BLOCK`] reflectors
//!   in compact WY form, applied last block first to panels of
//!   [`ORTHOGONAL_PANEL`] columns (faer's matrix products). The JAX
//!   convention (`column_axis = -1`) is the same matrix for the shape
//!   `[rest, shape[-1]]` ([`crate::Layout::Jax`]); other column axes:
//!   [`orthogonal_column_axis`].
//! - **Eye / identity** `[rows, cols]`: `gain` (rounded to the dtype) at
//!   `(i, i)` for `i < min(rows, cols)`, `+0` elsewhere.
//! - **Dirac** (PyTorch `dirac_(groups)`): with `opg = out / groups` and
//!   `m = min(opg, in)`, the weight from input `d` to output
//!   `g · opg + d` (`g < groups`, `d < m`) is 1 at the kernel's centre
//!   (`kernel[k] / 2` in each spatial dimension), every other weight `+0`.
//! - **Delta-orthogonal** (JAX `delta_orthogonal`): `M = orthogonal_f32(gain,
//!   in, out, seed, stream)` (`in <= out`, orthonormal rows) sits at the
//!   kernel's centre (`(kernel[k] - 1) / 2`): `W[centre][i][o] = M[i][o]`
//!   (JAX layout), `W[o][i][centre] = M[i][o]` (Torch layout); `+0` elsewhere.
//! - **Sparse** (PyTorch `sparse_(sparsity, std)`): a non-zero weight is
//!   the crate's `normal(0, std)` sample of its element index (exactly the
//!   CPU backend's normal fill at that index). Input `i` (a column of
//!   PyTorch's `[out, in]`, a row of JAX's `[in, out]`) has exactly
//!   `zeros_per_input = ceil(sparsity · outputs)` zero weights: the outputs
//!   `o` with the smallest pairs `(key(i, o), o)`, where `key(i, o)` is the
//!   Philox word [`sparse_key`]: lane `j % 4` of block
//!   `SPARSE_KEY_BLOCK_BASE + j / 4` of the tensor's `(seed, stream)`,
//!   `j = i · outputs + o`. Value blocks are below `2^62`, so a key never
//!   reuses a word of a value, and the zero set of each input is a uniformly
//!   random `zeros_per_input`-subset of its outputs (ties of 32-bit keys
//!   are broken by the output index). Unlike PyTorch's, it is reproducible.
//!
//! ```
//! use weight_init::{structured, DType, Init, Plan, ResolveOptions, TensorKey};
//! let Plan::Structured(s) = "orthogonal".parse::<Init>()?
//!     .resolve(&[64, 32], &ResolveOptions::default())? else { unreachable!() };
//! let mut bytes = vec![0u8; 64 * 32 * 4];
//! let done = structured::fill_structured_cpu(&s, DType::F32, &TensorKey::new(7, 1, 64 * 32), &mut bytes);
//! // `Q` is the `orthogonal` feature (on by default through `cli`);
//! // without it, orthogonal and delta-orthogonal are a clear error.
//! assert_eq!(done.is_ok(), cfg!(feature = "orthogonal"));
//! # Ok::<(), weight_init::Error>(())
//! ```
//!
//! Reproducibility of orthogonal: `Q` is computed once, on the CPU, so
//! every GPU adapter receives the same bits; repeated runs give the same
//! bits, and so does any number of threads: the reflectors and `T` factors
//! of each block, and each panel of `Q`, are computed whole by one thread
//! (faer with `Par::Seq`), in a split fixed by [`ORTHOGONAL_BLOCK`] and
//! [`ORTHOGONAL_PANEL`], never by the core count; the threads are scoped
//! threads that take the next task and end, with no spinning worker pool
//! (a test compares 1, 2 and 8 threads). The reflectors (norms and
//! divisions in IEEE f64) are the same bits everywhere; the matrix products
//! follow the SIMD kernels and cache-size blocking `faer` picks for the CPU
//! (AVX2+FMA, AVX-512, NEON, ...), so machines with different CPUs may
//! differ in the last bits of orthogonal values. Every other structured value keeps the
//! determinism contract as the elementwise fills do (eye, identity, dirac
//! and the sparse zero positions bit-exact everywhere; sparse values are
//! the normal fill's).

#[cfg(feature = "orthogonal")]
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(feature = "orthogonal")]
use std::sync::{Mutex, PoisonError};

use crate::cpu;
use crate::dist::{check_positive, Distribution, Normal};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::{f32_to_bf16_bits, f32_to_f16_bits};
use crate::philox::{block_words, TensorKey, SPARSE_KEY_BLOCK_BASE};
use crate::sampler::Sampler;
use crate::scheme::{Layout, Structured};

/// The key that ranks output `output` of input `input` of a sparse tensor
/// with `outputs` outputs: lane `j % 4` of Philox block
/// `SPARSE_KEY_BLOCK_BASE + j / 4` of `(seed, stream)`, `j = input * outputs + output`
/// (wrapping). The zeros of input `input` are the outputs with the smallest
/// `(key, output)` pairs.
///
/// ```
/// use weight_init::philox::{block_words, SPARSE_KEY_BLOCK_BASE};
/// use weight_init::structured::sparse_key;
/// assert_eq!(sparse_key(1, 2, 10, 3, 5), block_words(1, 2, SPARSE_KEY_BLOCK_BASE + 35 / 4)[3]);
/// ```
#[must_use]
pub fn sparse_key(seed: u64, stream: u64, outputs: u64, input: u64, output: u64) -> u32 {
    let j = input.wrapping_mul(outputs).wrapping_add(output);
    block_words(seed, stream, SPARSE_KEY_BLOCK_BASE | (j / 4))[(j % 4) as usize]
}

/// The `zeros` outputs of input `input` whose weights are zero, in
/// increasing order: those with the smallest `(sparse_key, output)` pairs.
///
/// ```
/// use weight_init::structured::sparse_zero_outputs;
/// let z = sparse_zero_outputs(1, 2, 100, 7, 10).unwrap();
/// assert_eq!(z.len(), 10);
/// assert!(z.windows(2).all(|w| w[0] < w[1]) && z[9] < 100);
/// ```
pub fn sparse_zero_outputs(
    seed: u64,
    stream: u64,
    outputs: u64,
    input: u64,
    zeros: u64,
) -> Result<Vec<u64>> {
    if zeros > outputs {
        return Err(Error::InvalidParameter {
            name: "zeros_per_input",
            value: zeros as f64,
            reason: "must be at most the number of outputs",
        });
    }
    if zeros == 0 {
        return Ok(Vec::new());
    }
    let n = usize::try_from(outputs).map_err(|_| too_large(&[outputs]))?;
    let mut keys: Vec<(u32, u64)> = Vec::new();
    keys.try_reserve_exact(n).map_err(|_| Error::TooLarge {
        what: format!("sparse init with {outputs} outputs"),
        reason: format!(
            "{} bytes of host memory could not be allocated",
            n.saturating_mul(16)
        ),
    })?;
    let first = input.wrapping_mul(outputs);
    let mut o = 0u64;
    while o < outputs {
        // Keys of consecutive outputs are consecutive lanes: one block per 4.
        let j = first.wrapping_add(o);
        let words = block_words(seed, stream, SPARSE_KEY_BLOCK_BASE | (j / 4));
        let lane = (j % 4) as usize;
        let take = ((4 - lane) as u64).min(outputs - o);
        for t in 0..take {
            keys.push((words[lane + t as usize], o + t));
        }
        o += take;
    }
    let k = zeros as usize;
    if k < n {
        keys.select_nth_unstable(k - 1);
    }
    let mut zero: Vec<u64> = keys[..k].iter().map(|&(_, o)| o).collect();
    zero.sort_unstable();
    Ok(zero)
}

/// The element count of a structured plan, after checking its facts
/// (dimensions at least 1, groups dividing the output channels, 1 to 3
/// spatial dimensions, `in <= out` for delta-orthogonal, a finite positive
/// gain or std, at most `outputs` zeros per input); errors for a plan that
/// `Init::resolve` would not produce.
///
/// ```
/// use weight_init::{scheme::Structured, structured::structured_numel};
/// let s = Structured::Eye { gain: 1.0, rows: 3, cols: 5 };
/// assert_eq!(structured_numel(&s).unwrap(), 15);
/// assert!(structured_numel(&Structured::Eye { gain: 1.0, rows: 0, cols: 5 }).is_err());
/// ```
pub fn structured_numel(s: &Structured) -> Result<u64> {
    match s {
        Structured::Orthogonal { gain, rows, cols } | Structured::Eye { gain, rows, cols } => {
            check_positive("gain", *gain)?;
            checked_numel(&[*rows, *cols])
        }
        Structured::Dirac {
            groups,
            out_channels,
            in_channels,
            kernel,
            ..
        } => {
            if *groups == 0 {
                return Err(Error::InvalidParameter {
                    name: "groups",
                    value: 0.0,
                    reason: "must be at least 1",
                });
            }
            let n = conv_numel(*out_channels, *in_channels, kernel, "dirac")?;
            if out_channels % groups != 0 {
                return Err(Error::InvalidShape {
                    shape: conv_shape(*out_channels, *in_channels, kernel),
                    reason: format!(
                        "dirac: {out_channels} output channels are not divisible by groups = {groups}"
                    ),
                });
            }
            Ok(n)
        }
        Structured::DeltaOrthogonal {
            gain,
            out_channels,
            in_channels,
            kernel,
            ..
        } => {
            check_positive("gain", *gain)?;
            let n = conv_numel(*out_channels, *in_channels, kernel, "delta_orthogonal")?;
            if in_channels > out_channels {
                return Err(Error::InvalidShape {
                    shape: conv_shape(*out_channels, *in_channels, kernel),
                    reason: format!(
                        "delta_orthogonal needs in_channels <= out_channels, got {in_channels} > {out_channels}"
                    ),
                });
            }
            Ok(n)
        }
        Structured::Sparse {
            sparsity,
            std,
            outputs,
            inputs,
            zeros_per_input,
            ..
        } => {
            if !(0.0..1.0).contains(sparsity) {
                return Err(Error::InvalidParameter {
                    name: "sparsity",
                    value: *sparsity,
                    reason: "must lie in [0, 1)",
                });
            }
            check_positive("std", *std)?;
            let n = checked_numel(&[*outputs, *inputs])?;
            if zeros_per_input > outputs {
                return Err(Error::InvalidParameter {
                    name: "zeros_per_input",
                    value: *zeros_per_input as f64,
                    reason: "must be at most the number of outputs",
                });
            }
            Ok(n)
        }
    }
}

/// Fills a whole tensor of the structured plan `s` into `out`, the
/// little-endian bytes of `dtype` (`structured_numel(s) * dtype.size_bytes()`
/// bytes). `key.seed` and `key.stream` pick the random draw (orthogonal,
/// delta-orthogonal, sparse); `key.numel` must be the plan's element count.
///
/// Errors (nothing is written): a plan whose facts do not hold (see
/// [`structured_numel`]), `key.numel` not the element count, `out` of the
/// wrong length, a gain or std the dtype cannot represent, a tensor too
/// large for this machine's address space.
///
/// ```
/// use weight_init::{structured, DType, Init, Plan, ResolveOptions, TensorKey};
/// let init: Init = "eye".parse()?;
/// let Plan::Structured(s) = init.resolve(&[2, 3], &ResolveOptions::default())? else { panic!() };
/// let mut out = vec![0u8; 2 * 3 * 2];
/// structured::fill_structured_cpu(&s, DType::BF16, &TensorKey::new(0, 0, 6), &mut out)?;
/// let v: Vec<f32> = DType::BF16.decode_le(&out).collect();
/// assert_eq!(v, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
/// # Ok::<(), weight_init::Error>(())
/// ```
pub fn fill_structured_cpu(
    s: &Structured,
    dtype: DType,
    key: &TensorKey,
    out: &mut [u8],
) -> Result<()> {
    let numel = check_key(s, key)?;
    let size = dtype.size_bytes();
    let expected = numel
        .checked_mul(size as u64)
        .ok_or_else(|| too_large(&[numel]))?;
    if out.len() as u64 != expected {
        return Err(Error::OutputLength {
            expected,
            got: out.len() as u64,
            unit: "bytes",
        });
    }
    match s {
        Structured::Orthogonal { gain, rows, cols } => {
            check_gain_fits(*gain, dtype)?;
            let q = ThinQ::new(*gain, *rows, *cols, key.seed, key.stream, true, all_cores())?;
            match dtype {
                DType::F32 => q.write_row_major(out.as_chunks_mut::<4>().0, |x| x.to_le_bytes()),
                DType::F16 => q.write_row_major(out.as_chunks_mut::<2>().0, |x| {
                    f32_to_f16_bits(x).to_le_bytes()
                }),
                DType::BF16 => q.write_row_major(out.as_chunks_mut::<2>().0, |x| {
                    f32_to_bf16_bits(x).to_le_bytes()
                }),
            }
        }
        Structured::Eye { gain, rows, cols } => {
            let v = constant_value(*gain, dtype)?;
            out.fill(0);
            let (rows, cols) = (*rows as usize, *cols as usize);
            for i in 0..rows.min(cols) {
                put(out, dtype, i * cols + i, v);
            }
        }
        Structured::Dirac {
            groups,
            out_channels,
            in_channels,
            kernel,
            layout,
        } => {
            out.fill(0);
            for e in dirac_nonzeros(*groups, *out_channels, *in_channels, kernel, *layout) {
                put(out, dtype, e as usize, 1.0);
            }
        }
        Structured::DeltaOrthogonal {
            gain,
            out_channels,
            in_channels,
            kernel,
            layout,
        } => {
            check_gain_fits(*gain, dtype)?;
            let (o_n, i_n) = (*out_channels, *in_channels);
            let m = orthogonal_impl(*gain, i_n, o_n, key.seed, key.stream, true, all_cores())?;
            out.fill(0);
            let centre = centre_offset(kernel, |k| (k - 1) / 2);
            let taps: u64 = kernel.iter().product();
            let (o_n, i_n) = (o_n as usize, i_n as usize);
            for i in 0..i_n {
                for o in 0..o_n {
                    let e = match layout {
                        Layout::Torch => (o * i_n + i) * taps as usize + centre as usize,
                        Layout::Jax => (centre as usize * i_n + i) * o_n + o,
                    };
                    put(out, dtype, e, m[i * o_n + o]);
                }
            }
        }
        Structured::Sparse {
            std,
            outputs,
            inputs,
            zeros_per_input,
            layout,
            ..
        } => {
            let normal: Distribution = Normal::new(0.0, *std as f32)?.into();
            cpu::fill_bytes(&normal, dtype, key, 0..numel, out)?;
            for i in 0..*inputs {
                for o in sparse_zero_outputs(key.seed, key.stream, *outputs, i, *zeros_per_input)? {
                    let e = match layout {
                        Layout::Torch => o * inputs + i,
                        Layout::Jax => i * outputs + o,
                    };
                    put(out, dtype, e as usize, 0.0);
                }
            }
        }
    }
    Ok(())
}

/// `gain` times a Haar-random matrix `[rows, cols]` (row-major) with
/// orthonormal rows (`rows <= cols`) or columns, PyTorch's
/// `orthogonal_`, drawn from the `normal(0, 1)` stream of `(seed, stream)`
/// (see the [module docs](self)).
///
/// ```
/// use weight_init::structured::orthogonal_f32;
/// let q = orthogonal_f32(1.0, 3, 5, 42, 0).unwrap();
/// // Rows are orthonormal.
/// let dot = |a: usize, b: usize| (0..5).map(|c| q[a * 5 + c] * q[b * 5 + c]).sum::<f32>();
/// assert!((dot(0, 0) - 1.0).abs() < 1e-5 && dot(0, 1).abs() < 1e-5);
/// assert!(orthogonal_f32(1.0, 0, 5, 42, 0).is_err());
/// ```
#[cfg(feature = "orthogonal")]
pub fn orthogonal_f32(gain: f64, rows: u64, cols: u64, seed: u64, stream: u64) -> Result<Vec<f32>> {
    orthogonal_impl(gain, rows, cols, seed, stream, true, all_cores())
}

/// [`orthogonal_f32`] on at most `threads` threads (the calling one
/// included; [`orthogonal_f32`] uses every core). The bits are the same for
/// every thread count: the work is split into fixed panels
/// ([`ORTHOGONAL_PANEL`]), each computed whole by one thread.
///
/// Errors: those of [`orthogonal_f32`], and `threads == 0`.
///
/// ```
/// use weight_init::structured::{orthogonal_f32, orthogonal_f32_with_threads};
/// let one = orthogonal_f32_with_threads(1.0, 300, 200, 42, 0, 1)?;
/// assert_eq!(one, orthogonal_f32_with_threads(1.0, 300, 200, 42, 0, 3)?);
/// assert_eq!(one, orthogonal_f32(1.0, 300, 200, 42, 0)?);
/// assert!(orthogonal_f32_with_threads(1.0, 3, 2, 42, 0, 0).is_err());
/// # Ok::<(), weight_init::Error>(())
/// ```
#[cfg(feature = "orthogonal")]
pub fn orthogonal_f32_with_threads(
    gain: f64,
    rows: u64,
    cols: u64,
    seed: u64,
    stream: u64,
    threads: usize,
) -> Result<Vec<f32>> {
    if threads == 0 {
        return Err(Error::InvalidParameter {
            name: "threads",
            value: 0.0,
            reason: "must be at least 1",
        });
    }
    orthogonal_impl(gain, rows, cols, seed, stream, true, threads)
}

/// [`orthogonal_f32`] without the sign fix (`H₀ ⋯ H_{n-1} [I_n; 0]`, before
/// its columns are multiplied by `d_k`, as a Householder QR returns `Q`), which
/// is **not** Haar-distributed. Only for the test that shows the sign fix is
/// needed.
///
/// ```
/// use weight_init::structured::{orthogonal_f32, orthogonal_f32_without_sign_fix};
/// let (a, b) = (orthogonal_f32(1.0, 4, 4, 3, 0)?, orthogonal_f32_without_sign_fix(1.0, 4, 4, 3, 0)?);
/// // The same columns up to sign.
/// assert!(a.iter().zip(&b).all(|(x, y)| (x.abs() - y.abs()).abs() < 1e-6));
/// # Ok::<(), weight_init::Error>(())
/// ```
#[doc(hidden)]
#[cfg(feature = "orthogonal")]
pub fn orthogonal_f32_without_sign_fix(
    gain: f64,
    rows: u64,
    cols: u64,
    seed: u64,
    stream: u64,
) -> Result<Vec<f32>> {
    orthogonal_impl(gain, rows, cols, seed, stream, false, all_cores())
}

/// The JAX convention `jax.nn.initializers.orthogonal(scale=gain,
/// column_axis)` for a tensor of `shape`: the matrix
/// `[numel / shape[column_axis], shape[column_axis]]` of
/// [`orthogonal_f32`], reshaped to `shape` without `column_axis` plus the
/// column axis last, which is then moved to `column_axis`. Returns the
/// tensor's values, row-major in `shape`. `column_axis` counts from the end
/// when negative (`-1` is the last axis, which is [`crate::Layout::Jax`]'s
/// orthogonal).
///
/// ```
/// use weight_init::structured::{orthogonal_column_axis, orthogonal_f32};
/// let a = orthogonal_column_axis(&[3, 3, 8, 16], -1, 1.0, 5, 9).unwrap();
/// assert_eq!(a, orthogonal_f32(1.0, 72, 16, 5, 9).unwrap());
/// let b = orthogonal_column_axis(&[16, 8], 0, 1.0, 5, 9).unwrap();
/// assert_eq!(b.len(), 128);
/// assert!(orthogonal_column_axis(&[16], 0, 1.0, 5, 9).is_err());
/// ```
#[cfg(feature = "orthogonal")]
pub fn orthogonal_column_axis(
    shape: &[u64],
    column_axis: isize,
    gain: f64,
    seed: u64,
    stream: u64,
) -> Result<Vec<f32>> {
    let nd = shape.len();
    let numel = checked_numel(shape)?;
    if nd < 2 {
        return Err(Error::InvalidShape {
            shape: shape.to_vec(),
            reason: format!("`orthogonal` needs at least 2 dimensions, got {nd}"),
        });
    }
    let axis = if column_axis < 0 {
        nd as isize + column_axis
    } else {
        column_axis
    };
    if !(0..nd as isize).contains(&axis) {
        return Err(Error::InvalidParameter {
            name: "column_axis",
            value: column_axis as f64,
            reason: "must name an axis of the shape",
        });
    }
    let axis = axis as usize;
    let n_cols = shape[axis];
    let m = orthogonal_f32(gain, numel / n_cols, n_cols, seed, stream)?;
    if axis == nd - 1 {
        return Ok(m);
    }
    // m is [before..., after..., n_cols]; the result is [before..., n_cols, after...].
    let after: u64 = shape[axis + 1..].iter().product();
    let before = numel / n_cols / after;
    let (after, before, n_cols) = (after as usize, before as usize, n_cols as usize);
    let mut out = crate::host::try_filled(m.len() as u64, 0.0f32, || shape_what(shape))?;
    for b in 0..before {
        for a in 0..after {
            for c in 0..n_cols {
                out[(b * n_cols + c) * after + a] = m[(b * after + a) * n_cols + c];
            }
        }
    }
    Ok(out)
}

/// Element indices of the ones of a dirac tensor, in increasing order for
/// each group (PyTorch `dirac_`; centre `kernel[k] / 2`).
pub(crate) fn dirac_nonzeros(
    groups: u64,
    out_channels: u64,
    in_channels: u64,
    kernel: &[u64],
    layout: Layout,
) -> impl Iterator<Item = u64> + '_ {
    let lattice = DiracLattice::new(groups, out_channels, in_channels, kernel, layout);
    (0..lattice.x_count).flat_map(move |x| {
        (0..lattice.y_count)
            .map(move |y| lattice.base + x * lattice.x_stride + y * lattice.y_stride)
    })
}

/// The non-zero elements of eye and dirac as a lattice
/// `base + x * x_stride + y * y_stride`, `x < x_count`, `y < y_count`, with
/// `(y_count - 1) * y_stride < x_stride`, so that an element index
/// decomposes uniquely. The GPU kernel tests membership with this
/// decomposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DiracLattice {
    pub base: u64,
    pub x_stride: u64,
    pub x_count: u64,
    pub y_stride: u64,
    pub y_count: u64,
}

impl DiracLattice {
    /// Eye `[rows, cols]`: `i * (cols + 1)`, `i < min(rows, cols)`.
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub(crate) fn eye(rows: u64, cols: u64) -> Self {
        Self {
            base: 0,
            x_stride: cols + 1,
            x_count: rows.min(cols),
            y_stride: 1,
            y_count: 1,
        }
    }

    /// Dirac. Torch `[out, in, *k]`: element `((o * in + i) * taps + c)`
    /// with `o = g * opg + d`, `i = d`: `c + g * (opg * in * taps) + d * ((in + 1) * taps)`.
    /// JAX `[*k, in, out]`: `(c * in + i) * out + o`:
    /// `c * in * out + d * (out + 1) + g * opg`.
    /// (Callers have checked the shape, so nothing overflows.)
    pub(crate) fn new(
        groups: u64,
        out_channels: u64,
        in_channels: u64,
        kernel: &[u64],
        layout: Layout,
    ) -> Self {
        let opg = out_channels / groups;
        let m = opg.min(in_channels);
        let taps: u64 = kernel.iter().product();
        let c = centre_offset(kernel, |k| k / 2);
        match layout {
            Layout::Torch => Self {
                base: c,
                x_stride: opg * in_channels * taps,
                x_count: groups,
                y_stride: (in_channels + 1) * taps,
                y_count: m,
            },
            Layout::Jax => Self {
                base: c * in_channels * out_channels,
                x_stride: out_channels + 1,
                x_count: m,
                y_stride: opg,
                y_count: groups,
            },
        }
    }
}

/// Row-major flat index of the centre tap, `centre(k)` in each dimension.
fn centre_offset(kernel: &[u64], centre: impl Fn(u64) -> u64) -> u64 {
    kernel.iter().fold(0, |acc, &k| acc * k + centre(k))
}

fn orthogonal_impl(
    gain: f64,
    rows: u64,
    cols: u64,
    seed: u64,
    stream: u64,
    sign_fix: bool,
    threads: usize,
) -> Result<Vec<f32>> {
    let q = ThinQ::new(gain, rows, cols, seed, stream, sign_fix, threads)?;
    let mut out = crate::host::try_filled(q.q.len() as u64, 0.0f32, || shape_what(&[rows, cols]))?;
    q.write_row_major(&mut out, |x| x);
    Ok(out)
}

/// The threads the orthogonal init uses by default: every core this
/// process may use. The values never depend on it.
fn all_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |t| t.get())
}

/// The thin `Q = H₀ H₁ ⋯ H_{n-1} [I_n; 0]` (`m x n`, `m >= n`,
/// column-major) of Stewart's reflectors, and the factor of each column:
/// `gain · d_k`.
struct ThinQ {
    q: Vec<f32>,
    m: usize,
    n: usize,
    /// `rows < cols`: the result is `Qᵀ`.
    wide: bool,
    scale: Vec<f32>,
}

impl ThinQ {
    fn new(
        gain: f64,
        rows: u64,
        cols: u64,
        seed: u64,
        stream: u64,
        sign_fix: bool,
        threads: usize,
    ) -> Result<Self> {
        if cfg!(not(feature = "orthogonal")) {
            return Err(qr_disabled(&[rows, cols]));
        }
        check_positive("gain", gain)?;
        let numel = checked_numel(&[rows, cols])?;
        if numel > MAX_ORTHOGONAL_ELEMENTS {
            return Err(Error::TooLarge {
                what: shape_what(&[rows, cols]),
                reason: format!(
                    "{numel} elements, past the limit of {MAX_ORTHOGONAL_ELEMENTS} \
                     (MAX_ORTHOGONAL_ELEMENTS) for an orthogonal init on the host"
                ),
            });
        }
        usize::try_from(numel).map_err(|_| too_large(&[rows, cols]))?;
        let (rows, cols) = (rows as usize, cols as usize);
        let wide = rows < cols;
        let (m, n) = if wide { (cols, rows) } else { (rows, cols) };
        let (q, signs) = stewart_thin_q(m, n, seed, stream, threads)?;
        let gain = gain as f32;
        let scale = signs
            .iter()
            .map(|&d| if sign_fix && d < 0.0 { -gain } else { gain })
            .collect();
        Ok(Self {
            q,
            m,
            n,
            wide,
            scale,
        })
    }

    /// Writes `conv(gain · Q)` (or of `gain · Qᵀ`), row-major `[rows,
    /// cols]`, into `out`, on all cores.
    fn write_row_major<T: Send>(&self, out: &mut [T], conv: impl Fn(f32) -> T + Sync) {
        let (m, n) = (self.m, self.n);
        if self.wide {
            // Row j of Qᵀ is column j of Q: contiguous.
            par_rows(out, m, |j, row| {
                let s = self.scale[j];
                for (d, &x) in row.iter_mut().zip(&self.q[j * m..(j + 1) * m]) {
                    *d = conv(x * s);
                }
            });
        } else {
            // Column-major Q (m x n) is row-major n x m: transpose it.
            par_transpose(&self.q, n, m, out, |j, x| conv(x * self.scale[j]));
        }
    }
}

/// Reflectors per block of the compact WY form `H_{j0} ⋯ H_{j1-1} = I - V T⁻¹ Vᵀ`
/// (faer's convention) that builds `Q`. Fixed: `Q`'s rounding depends on it.
/// (CPU time of a 4096 x 4096 `Q` on one thread of the development VM's
/// AVX-512 Xeon: 32: 1.02 s, 48: 1.00 s, 64: 0.94 s, 96: 1.04 s, 128: 1.23 s.)
///
/// ```
/// assert_eq!(weight_init::structured::ORTHOGONAL_BLOCK, 64);
/// ```
pub const ORTHOGONAL_BLOCK: usize = 64;

/// Columns of `Q` per task: each panel of `Q` is built on its own, by one
/// thread, from the same reflector blocks, so the split of the work is
/// fixed and `Q`'s bits do not depend on how many threads run the panels.
/// Wide enough for efficient products (4096 x 4096 on one thread: 128:
/// 0.99 s, 256: 0.94 s, 512: 0.93 s of CPU time), narrow enough that a
/// 1024-column `Q` still has 4 panels to share.
///
/// ```
/// assert_eq!(weight_init::structured::ORTHOGONAL_PANEL, 256);
/// ```
pub const ORTHOGONAL_PANEL: usize = 256;

/// Stewart's thin `Q` (`m x n`, `m >= n`, column-major) and the signs
/// `d_k`: see the [module docs](self). Two passes of independent tasks on
/// `threads` scoped threads: the reflectors and `T` of each block, then the
/// panels of `Q`.
#[cfg(feature = "orthogonal")]
fn stewart_thin_q(
    m: usize,
    n: usize,
    seed: u64,
    stream: u64,
    threads: usize,
) -> Result<(Vec<f32>, Vec<f32>)> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::householder::{
        apply_block_householder_on_the_left_in_place_scratch,
        apply_block_householder_on_the_left_in_place_with_conj,
    };
    use faer::linalg::matmul::matmul;
    use faer::prelude::ReborrowMut;
    use faer::{Accum, Conj, MatMut, MatRef, Par};

    const B: usize = ORTHOGONAL_BLOCK;
    let what = || shape_what(&[m as u64, n as u64]);
    let mn = m as u64 * n as u64;
    let blocks = n.div_ceil(B);
    // V: column k holds v_k in rows k.. (v_k[0] = 1 on the diagonal, zeros
    // above it); T: one B x B column-major factor per block.
    let mut v = crate::host::try_filled(mn, 0.0f32, what)?;
    let mut t = crate::host::try_filled((blocks * B * B) as u64, 0.0f32, what)?;
    let mut signs = vec![0.0f32; n];
    let normal: Distribution = Normal::new(0.0, 1.0)?.into();
    let key = TensorKey::new(seed, stream, mn);
    {
        let cells: Vec<_> = v
            .chunks_mut(B * m)
            .zip(t.chunks_mut(B * B))
            .zip(signs.chunks_mut(B))
            .map(|((v, t), d)| Mutex::new(Some((v, t, d))))
            .collect();
        // Block 0 has the longest reflectors: first.
        run_tasks(blocks, threads, |j| {
            let Some((vb, tb, db)) = take(&cells[j]) else {
                return Ok(());
            };
            let j0 = j * B;
            let b = db.len();
            let mut tau = [0.0f32; B];
            // Short fills: on this task's thread.
            let one_thread = cpu::Threads::count(1)?;
            for (c, col) in vb.chunks_mut(m).enumerate() {
                let k = j0 + c;
                let range = (k * m + k) as u64..((k + 1) * m) as u64;
                cpu::fill_f32_with(&normal, &key, range, &mut col[k..], &one_thread)?;
                (tau[c], db[c]) = stewart_reflector(&mut col[k..]);
            }
            // T = the upper triangle of VᵀV with τ on its diagonal.
            let vj = MatRef::from_column_major_slice(vb, m, b).get(j0.., ..);
            let mut tj = MatMut::from_column_major_slice_mut(&mut tb[..b * b], b, b);
            matmul(
                tj.rb_mut(),
                Accum::Replace,
                vj.transpose(),
                vj,
                1.0f32,
                Par::Seq,
            );
            for (c, &x) in tau[..b].iter().enumerate() {
                tj[(c, c)] = x;
            }
            Ok(())
        })?;
    }
    let mut q = crate::host::try_filled(mn, 0.0f32, what)?;
    let panels = n.div_ceil(ORTHOGONAL_PANEL);
    let cells: Vec<_> = q
        .chunks_mut(ORTHOGONAL_PANEL * m)
        .map(|p| Mutex::new(Some(p)))
        .collect();
    let (v, t) = (&v, &t);
    // The last panel meets every block: the longest task first.
    run_tasks(panels, threads, |i| {
        let p = panels - 1 - i;
        let Some(qp) = take(&cells[p]) else {
            return Ok(());
        };
        let (c0, w) = (p * ORTHOGONAL_PANEL, qp.len() / m);
        for c in 0..w {
            qp[c * m + c0 + c] = 1.0;
        }
        let mut qp = MatMut::from_column_major_slice_mut(qp, m, w);
        let mut stack = MemBuffer::try_new(apply_block_householder_on_the_left_in_place_scratch::<
            f32,
        >(m, B, w))
        .map_err(|_| too_large(&[m as u64, n as u64]))?;
        let vm = MatRef::from_column_major_slice(v, m, n);
        // Block j changes rows j0.. of the columns j0.. only: the columns
        // before j0 are still identity columns, which its reflectors leave
        // alone (LAPACK's `orgqr` does the same).
        for j in (0..blocks).rev() {
            let (j0, j1) = (j * B, ((j + 1) * B).min(n));
            if j0 >= c0 + w {
                continue;
            }
            let b = j1 - j0;
            let tj = MatRef::from_column_major_slice(&t[j * B * B..j * B * B + b * b], b, b);
            apply_block_householder_on_the_left_in_place_with_conj(
                vm.get(j0.., j0..j1),
                tj,
                Conj::No,
                qp.rb_mut().get_mut(j0.., j0.saturating_sub(c0)..),
                Par::Seq,
                MemStack::new(&mut stack),
            );
        }
        Ok(())
    })?;
    Ok((q, signs))
}

/// Without the `orthogonal` feature there is no `Q`: [`ThinQ::new`] has
/// already refused the request, so this is never reached.
#[cfg(not(feature = "orthogonal"))]
fn stewart_thin_q(
    m: usize,
    n: usize,
    _seed: u64,
    _stream: u64,
    _threads: usize,
) -> Result<(Vec<f32>, Vec<f32>)> {
    Err(qr_disabled(&[m as u64, n as u64]))
}

/// Turns the Gaussian `x` (length `L >= 1`) into Stewart's reflector in
/// faer's form `H = I - v vᵀ / τ` with `H x = β e₀`: writes `v` over `x`
/// (`v[0] = 1`) and returns `(τ, d)`, `d = sign(β)`. With `s = sign(x[0])`
/// (`+1` for zero) and `ν = ‖x‖`: `β = -s ν`, `v[1..] = x[1..] / (x[0] + s ν)`,
/// `τ = (1 + ‖v[1..]‖²) / 2` from the stored f32 `v` (so `H` is orthogonal
/// to the rounding of `τ`). Where `x[1..]` is zero, `v = e₀`, `τ = 1/2`,
/// `β = -x[0]` and `d = -s`. Norms and the division in f64 (IEEE, so these
/// bits are the same on every machine).
#[cfg(feature = "orthogonal")]
fn stewart_reflector(x: &mut [f32]) -> (f32, f32) {
    let x0 = x[0] as f64;
    let s = if x0 >= 0.0 { 1.0 } else { -1.0 };
    let tail = &mut x[1..];
    let tail_sq = sum_sq(tail);
    x[0] = 1.0;
    if tail_sq == 0.0 {
        return (0.5, -s as f32);
    }
    let h = x0 + s * (x0 * x0 + tail_sq).sqrt();
    let tail = &mut x[1..];
    for e in tail.iter_mut() {
        *e = (*e as f64 / h) as f32;
    }
    let tau = (1.0 + sum_sq(tail)) / 2.0;
    (tau as f32, -s as f32)
}

/// `Σ xᵢ²` in f64, in eight fixed interleaved partial sums (vectorizable,
/// and the same order on every machine).
#[cfg(feature = "orthogonal")]
fn sum_sq(x: &[f32]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &e) in acc.iter_mut().zip(c) {
            *a += e as f64 * e as f64;
        }
    }
    for (a, &e) in acc.iter_mut().zip(rest) {
        *a += e as f64 * e as f64;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Takes the item out of a task's cell (a task runs once; a poisoned cell
/// still gives its item).
#[cfg(feature = "orthogonal")]
fn take<T>(cell: &Mutex<Option<T>>) -> Option<T> {
    cell.lock().unwrap_or_else(PoisonError::into_inner).take()
}

/// Runs `task(0)`, `task(1)`, ... `task(tasks - 1)` on at most `threads`
/// scoped threads (the calling one included), each thread taking the next
/// index as it finishes one; returns the first error. Nothing spins: a
/// thread without work ends, so an oversubscribed machine loses no time
/// to idle workers.
#[cfg(feature = "orthogonal")]
fn run_tasks(
    tasks: usize,
    threads: usize,
    task: impl Fn(usize) -> Result<()> + Sync,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let error = Mutex::new(None);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= tasks {
            break;
        }
        if let Err(e) = task(i) {
            error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(e);
        }
    };
    let threads = threads.clamp(1, tasks.max(1));
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(work);
        }
        work();
    });
    match error.into_inner().unwrap_or_else(PoisonError::into_inner) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The error for an orthogonal init asked of a build without the
/// `orthogonal` feature.
#[cfg_attr(feature = "orthogonal", allow(dead_code))]
fn qr_disabled(shape: &[u64]) -> Error {
    Error::FeatureDisabled {
        what: format!("orthogonal init of shape {shape:?} (Householder reflectors on the host)"),
        feature: "orthogonal",
    }
}

/// Splits `out` into rows of `len` elements and calls `f(row index, row)`
/// for each, the rows shared among all cores in contiguous runs.
fn par_rows<T: Send>(out: &mut [T], len: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    let rows = out.len() / len.max(1);
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let threads = threads.min(out.len() / (1 << 16)).max(1);
    if threads == 1 || rows < 2 {
        for (i, row) in out.chunks_mut(len.max(1)).enumerate() {
            f(i, row);
        }
        return;
    }
    let per = rows.div_ceil(threads);
    std::thread::scope(|sc| {
        for (t, chunk) in out.chunks_mut(per * len).enumerate() {
            let f = &f;
            sc.spawn(move || {
                for (i, row) in chunk.chunks_mut(len).enumerate() {
                    f(t * per + i, row);
                }
            });
        }
    });
}

/// `dst[c * rows + r] = f(r, src[r * cols + c])`: `dst` (cols x rows,
/// row-major) from the transpose of `src` (rows x cols, row-major), in
/// cache-sized tiles, on all cores.
fn par_transpose<T: Send>(
    src: &[f32],
    rows: usize,
    cols: usize,
    dst: &mut [T],
    f: impl Fn(usize, f32) -> T + Sync,
) {
    const TILE: usize = 32;
    // Each task fills TILE whole rows of dst (columns of src).
    par_rows(dst, rows * TILE.min(cols), |band, out| {
        let c0 = band * TILE;
        let c1 = (c0 + TILE).min(cols);
        for r0 in (0..rows).step_by(TILE) {
            for c in c0..c1 {
                let row = &mut out[(c - c0) * rows..(c - c0 + 1) * rows];
                for r in r0..(r0 + TILE).min(rows) {
                    row[r] = f(r, src[r * cols + c]);
                }
            }
        }
    });
}

/// The largest orthogonal (or delta-orthogonal) matrix the host takes:
/// 2^30 elements (4 GiB per f32 working copy, and the time grows with
/// the cube of the side). A larger one is refused before any allocation
/// with [`Error::TooLarge`].
///
/// ```
/// use weight_init::structured::MAX_ORTHOGONAL_ELEMENTS;
/// use weight_init::{Error, TensorInit};
/// assert_eq!(MAX_ORTHOGONAL_ELEMENTS, 1 << 30);
/// // 2^16 x 2^16 is past it: refused before any allocation, naming the tensor.
/// let t = TensorInit::new("huge", &[1 << 16, 1 << 16], "orthogonal")?;
/// assert!(matches!(t.prepare(0), Err(Error::Param { .. })));
/// # Ok::<(), weight_init::Error>(())
/// ```
pub const MAX_ORTHOGONAL_ELEMENTS: u64 = 1 << 30;

/// The plan's element count, which `key` must say too: every structured
/// fill (CPU, GPU kernels, host values for the GPU) checks it first.
pub(crate) fn key_numel(s: &Structured, key: &TensorKey) -> Result<u64> {
    let numel = structured_numel(s)?;
    if key.numel != numel {
        return Err(Error::InvalidShape {
            shape: vec![key.numel],
            reason: format!(
                "the tensor key says {} elements, but the structured init has {numel}",
                key.numel
            ),
        });
    }
    Ok(numel)
}

/// [`key_numel`], and the count fits host memory's `usize`.
fn check_key(s: &Structured, key: &TensorKey) -> Result<u64> {
    let numel = key_numel(s, key)?;
    if usize::try_from(numel).is_err() {
        return Err(too_large(&[numel]));
    }
    Ok(numel)
}

/// The dtype value of a gain: rounded as the constant fill rounds it;
/// errors if the dtype cannot hold it.
pub(crate) fn constant_value(gain: f64, dtype: DType) -> Result<f32> {
    check_positive("gain", gain)?;
    let s = Sampler::new(&Distribution::constant(gain as f32)?, dtype)?;
    Ok(s.offset)
}

/// Orthogonal values are at most `gain` in magnitude (plus rounding).
fn check_gain_fits(gain: f64, dtype: DType) -> Result<()> {
    if gain * 1.001 > dtype.max_finite() as f64 {
        return Err(Error::Unrepresentable {
            what: format!("orthogonal(gain={gain})"),
            dtype: dtype.name(),
            reason: "values exceed the dtype's finite range",
        });
    }
    Ok(())
}

fn checked_numel(shape: &[u64]) -> Result<u64> {
    crate::scheme::numel(shape)
}

fn conv_shape(out: u64, inp: u64, kernel: &[u64]) -> Vec<u64> {
    let mut s = vec![out, inp];
    s.extend_from_slice(kernel);
    s
}

fn conv_numel(out: u64, inp: u64, kernel: &[u64], scheme: &str) -> Result<u64> {
    let shape = conv_shape(out, inp, kernel);
    if !(1..=3).contains(&kernel.len()) {
        return Err(Error::InvalidShape {
            shape,
            reason: format!(
                "`{scheme}` needs 1 to 3 spatial dimensions, got {}",
                kernel.len()
            ),
        });
    }
    checked_numel(&shape)
}

/// How host-memory errors name a structured tensor.
fn shape_what(shape: &[u64]) -> String {
    format!("orthogonal init of shape {shape:?} (f32 working copies on the host)")
}

fn too_large(shape: &[u64]) -> Error {
    Error::InvalidShape {
        shape: shape.to_vec(),
        reason: "too large for this machine's memory".into(),
    }
}

/// Writes element `i` of value `v` as `dtype` into little-endian bytes.
#[inline]
fn put(out: &mut [u8], dtype: DType, i: usize, v: f32) {
    match dtype {
        DType::F32 => out[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes()),
        DType::F16 => out[2 * i..2 * i + 2].copy_from_slice(&f32_to_f16_bits(v).to_le_bytes()),
        DType::BF16 => out[2 * i..2 * i + 2].copy_from_slice(&f32_to_bf16_bits(v).to_le_bytes()),
    }
}

#[cfg(all(test, feature = "orthogonal"))]
mod tests {
    use super::*;

    #[test]
    fn stewart_reflector_maps_x_onto_beta_e0() {
        let x0 = [3.0f32, -1.0, 2.0, 0.5, -4.0, 1.5, 0.25, 2.0, -0.75, 1.0];
        for sign in [1.0f32, -1.0] {
            let mut v: Vec<f32> = x0
                .iter()
                .map(|&e| e * if e == 3.0 { sign } else { 1.0 })
                .collect();
            let x = v.clone();
            let (tau, d) = stewart_reflector(&mut v);
            assert_eq!(v[0], 1.0);
            // H x = x - v (vᵀx) / τ = β e₀, β = -sign(x₀) ‖x‖, d = sign(β).
            let dot: f64 = v.iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
            let hx: Vec<f64> = x
                .iter()
                .zip(&v)
                .map(|(&a, &b)| a as f64 - b as f64 * dot / tau as f64)
                .collect();
            let norm = x.iter().map(|&e| (e as f64).powi(2)).sum::<f64>().sqrt();
            assert!((hx[0] + sign as f64 * norm).abs() < 1e-5, "{hx:?}");
            assert!(hx[1..].iter().all(|e| e.abs() < 1e-5), "{hx:?}");
            assert_eq!(d, -sign);
        }
        // A zero tail: v = e₀, τ = 1/2 (H = diag(-1, 1, ...)), d = -sign(x₀).
        let mut v = [-2.0f32, 0.0, 0.0];
        assert_eq!(stewart_reflector(&mut v), (0.5, 1.0));
        assert_eq!(v, [1.0, 0.0, 0.0]);
        let mut v = [0.0f32];
        assert_eq!(stewart_reflector(&mut v), (0.5, -1.0));
    }

    #[test]
    fn run_tasks_runs_each_task_once_and_returns_the_error() {
        let seen: Vec<AtomicUsize> = (0..50).map(|_| AtomicUsize::new(0)).collect();
        run_tasks(50, 4, |i| {
            seen[i].fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap();
        assert!(seen.iter().all(|c| c.load(Ordering::Relaxed) == 1));
        let r = run_tasks(5, 2, |i| if i == 3 { Err(too_large(&[1])) } else { Ok(()) });
        assert!(r.is_err());
    }
}
