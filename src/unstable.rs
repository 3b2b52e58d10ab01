//! **Not covered by semver.** Internals exposed for the crate's own tests,
//! benchmarks and tools; anything here may change or disappear in any
//! release, patch releases included.
//!
//! - [`kernel`]: the CPU twin of `shaders/philox.wgsl`, function for
//!   function (the Philox rounds, `ln`, `sincos_turn`, Box–Muller, the
//!   probit polynomials, the truncated-normal transform, f16/bf16 rounding,
//!   the unfused `add`/`sub`/`mul`). Its user-facing parts are public
//!   elsewhere: the generator in [`crate::philox`], the rounding in
//!   [`crate::dtype`].
//! - [`probit_upper_tail`]: the tail inverse CDF composed from the kernel's
//!   pieces, for the accuracy tests.

/// The CPU twin of `shaders/philox.wgsl`: every public function and
/// constant of `src/kernel.rs` (see that file's header).
pub mod kernel {
    pub use crate::kernel::*;
}

use crate::kernel::{probit_tail_asymptotic, probit_tail_poly, tail_radius, TAIL_POLY_MAX_R};

/// `Q⁻¹(exp(-y))` for `y >= ln 2`: the `z >= 0` whose upper tail
/// probability `Q(z) = 1 - Φ(z)` is `exp(-y)`, composed from the kernel's
/// pieces exactly as `kernel::truncated_std_normal` composes them.
///
/// Taking `-ln Q` rather than `Q` keeps deep tails (Q far below f32's range)
/// exact in form. With `r = sqrt(y)`: polynomials in `r` up to `r = 5`
/// (`Q = 1.4e-11`, see `kernel::probit_tail_poly`), beyond that
/// `kernel::probit_tail_asymptotic`.
///
/// ```
/// use weight_init::unstable::probit_upper_tail;
/// // Q(1.959964) = 0.025: the two-sided 95% quantile.
/// let z = probit_upper_tail(-(0.025f32.ln()));
/// assert!((z - 1.959964).abs() < 1e-5);
/// ```
#[inline(always)]
#[must_use]
pub fn probit_upper_tail(y: f32) -> f32 {
    let r = tail_radius(y);
    if r <= TAIL_POLY_MAX_R {
        probit_tail_poly(r)
    } else {
        probit_tail_asymptotic(y)
    }
}

/// An instruction-set path of the CPU backend (`src/cpu.rs`, "Paths"):
/// every path gives the same bits; the fastest one this CPU has runs.
///
/// ```
/// use weight_init::unstable::CpuPath;
/// assert!(CpuPath::Portable.is_available()); // runs everywhere
/// assert_eq!(CpuPath::ALL[0], CpuPath::Portable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CpuPath {
    /// Plain Rust that the compiler vectorizes for the build's target
    /// (SSE2 on any x86-64): every CPU.
    Portable,
    /// Hand-written AVX2 Philox rounds and stores, the rest compiled with
    /// AVX2 enabled (x86-64 with AVX2).
    Avx2,
    /// Hand-written AVX-512 Philox rounds and stores, the rest compiled
    /// with AVX-512 F/BW/DQ/VL enabled (x86-64 with all four).
    Avx512,
}

impl CpuPath {
    /// Every path, the portable one first.
    ///
    /// ```
    /// use weight_init::unstable::CpuPath;
    /// assert_eq!(CpuPath::ALL.len(), 3);
    /// ```
    pub const ALL: [CpuPath; 3] = [CpuPath::Portable, CpuPath::Avx2, CpuPath::Avx512];

    /// Whether this CPU can run the path.
    ///
    /// ```
    /// use weight_init::unstable::CpuPath;
    /// let runnable: Vec<_> = CpuPath::ALL.into_iter().filter(|p| p.is_available()).collect();
    /// assert!(runnable.contains(&CpuPath::Portable));
    /// ```
    #[must_use]
    pub fn is_available(self) -> bool {
        self.available()
    }

    /// The path the CPU backend takes on this CPU: the fastest available.
    ///
    /// ```
    /// use weight_init::unstable::CpuPath;
    /// assert!(CpuPath::chosen().is_available());
    /// ```
    #[must_use]
    pub fn chosen() -> Self {
        Self::best()
    }
}

/// [`crate::cpu::fill_bytes`] on the calling thread only, on the path
/// `path` rather than the fastest one: the hook that lets tests compare
/// every path bit for bit.
///
/// Errors: those of [`crate::cpu::fill_bytes`], and
/// [`crate::Error::InvalidChoice`] (name `path`) when this CPU lacks the
/// path's instructions.
///
/// ```
/// use weight_init::unstable::{fill_bytes_on, CpuPath};
/// use weight_init::{cpu, DType, Normal, TensorKey};
/// let d = Normal::new(0.0, 1.0).unwrap().into();
/// let key = TensorKey::new(3, 4, 100);
/// let mut forced = vec![0u8; 200];
/// fill_bytes_on(CpuPath::Portable, &d, DType::BF16, &key, 0..100, &mut forced).unwrap();
/// let mut usual = vec![0u8; 200];
/// cpu::fill_bytes(&d, DType::BF16, &key, 0..100, &mut usual).unwrap();
/// assert_eq!(forced, usual);
/// ```
pub fn fill_bytes_on(
    path: CpuPath,
    dist: &crate::Distribution,
    dtype: crate::DType,
    key: &crate::TensorKey,
    range: core::ops::Range<u64>,
    out: &mut [u8],
) -> crate::Result<()> {
    let sampler = crate::Sampler::new(dist, dtype)?;
    crate::cpu::check_range(key, &range, out.len(), dtype.size_bytes())?;
    let start = range.start;
    match dtype {
        crate::DType::F32 => {
            crate::cpu::fill_chunk_on(path, &sampler, key, start, out.as_chunks_mut::<4>().0)
        }
        crate::DType::F16 | crate::DType::BF16 => {
            crate::cpu::fill_chunk_on(path, &sampler, key, start, out.as_chunks_mut::<2>().0)
        }
    }
}

/// Below this `y = -ln Q` the CPU backend's truncated normal skips the
/// exact deep-tail test of a batch (`src/sampler.rs`); exposed so that a
/// test can check that no `y` below it has a tail radius past
/// [`kernel::TAIL_POLY_MAX_R`].
///
/// ```
/// use weight_init::unstable::{kernel, DEEP_Y_SCREEN};
/// assert!(kernel::tail_radius(DEEP_Y_SCREEN) < kernel::TAIL_POLY_MAX_R);
/// ```
pub const DEEP_Y_SCREEN: f32 = crate::sampler::DEEP_Y_SCREEN;

/// The CPU backend's branch-free f32 to f16 rounding, which must equal
/// [`crate::dtype::f32_to_f16_bits`] for every input.
///
/// ```
/// use weight_init::dtype::f32_to_f16_bits;
/// use weight_init::unstable::f16_bits_branchless;
/// for x in [1.0f32, 65520.0, 2f32.powi(-24), -3e-6, f32::NAN] {
///     assert_eq!(f16_bits_branchless(x), f32_to_f16_bits(x));
/// }
/// ```
#[must_use]
pub fn f16_bits_branchless(x: f32) -> u16 {
    crate::cpu::f16_bits_branchless(x) as u16
}

/// From this many bytes per thread's chunk the CPU backend's vector paths
/// write with non-temporal stores (`src/cpu.rs`); exposed so that a test
/// can fill past it.
///
/// ```
/// use weight_init::unstable::STREAM_MIN_BYTES;
/// assert!(STREAM_MIN_BYTES >= 1 << 20);
/// ```
pub const STREAM_MIN_BYTES: usize = crate::cpu::STREAM_MIN_BYTES;
