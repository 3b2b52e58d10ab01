//! The CPU backend: fills any element range of a tensor with exactly the
//! contract's values, on all cores or on as many as [`Threads`] allows.
//!
//! It is the test reference for the GPU backend and the fallback where no
//! adapter exists. Work is split into contiguous chunks, one per thread
//! (scoped threads, or tasks on the caller's [`Pool`]); every element is a
//! pure function of its index, so the split never changes a value.
//!
//! # Paths: which code runs where
//!
//! Each chunk runs on one of three instruction-set paths, the fastest the
//! CPU has, detected at run time (`is_x86_feature_detected!`, cached). All
//! three give the same bits as the scalar reference (`Sampler::sample_block`
//! per block, then `dtype::f32_to_*_bits`): every vector operation rounds
//! as its scalar twin, nothing is contracted into a fused multiply-add
//! (LLVM never contracts `a * b + c` without fast-math flags, even where
//! the enabled features include FMA, as AVX-512 F does), and
//! `tests/cpu_paths.rs` compares every path this CPU can run, bit for bit.
//!
//! | path | where | what is hand-written |
//! |---|---|---|
//! | AVX-512 | x86-64 with AVX-512 F, BW, CD, DQ and VL (Skylake-SP and later Xeons, Ice Lake and later client cores, Zen 4 and later) | Philox on 16 blocks per `__m512i`; the transposing stores |
//! | AVX2 | other x86-64 with AVX2 (Haswell and later, Zen) | Philox on 8 blocks per `__m256i`; the transposing stores |
//! | portable | every other CPU (aarch64, older x86-64) | nothing: scalar Rust the compiler vectorizes for the build's target (SSE2 on x86-64, NEON on aarch64) |
//!
//! On every path a chunk goes in batches of 16 Philox blocks (64
//! elements), in structure-of-arrays order: the Philox rounds leave word
//! `i` of the 16 blocks in one vector, the transforms (`Sampler`'s batch
//! sampling, the dtype rounding) run as straight loops over those arrays,
//! which the compiler turns into whole vectors (each path compiles that
//! code under its own target features), and one transposing store per
//! batch puts the elements in order. Partial blocks at either end of a
//! chunk go one element at a time through the scalar reference.
//!
//! A chunk of at least 16 MiB on the AVX2 or AVX-512 path writes its
//! batches with non-temporal stores from the first 64-byte aligned block
//! on: such an output leaves the caches before anyone reads it, and a
//! plain store would first read every line from memory. Smaller fills
//! keep their output in the caches.
//!
//! `weight_init::unstable::fill_bytes_on` forces a path (the hook for
//! tests and benchmarks; no semver promise).

use core::ops::Range;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use crate::dist::Distribution;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::f32_to_bf16_bits;
use crate::philox::{
    batch_words_soa, counter_of, key_of, philox4x32_10, round_keys, RoundKeys, TensorKey,
};
use crate::sampler::{Sampler, SamplerKind, BATCH};
use crate::unstable::CpuPath;

/// Below this many elements a fill stays on the calling thread: splitting
/// smaller fills costs more in thread start-up than it saves. (On the
/// development VM a model of 291 tensors of ~90K elements filled 1.2x
/// faster with 2^15 here than with 2^16, which kept each on one thread.)
const MIN_ELEMENTS_PER_THREAD: usize = 1 << 15;

/// A thread pool of the caller's that the CPU backend runs its chunks on
/// ([`Threads::pool`]): an engine that owns its threads (a rayon pool, a
/// job system) keeps the fill on them instead of letting it spawn its own.
///
/// `run(tasks, task)` must call `task(i)` once for each `i` in
/// `0..tasks`, in any order, on any threads (the calling one included), and
/// return only when every call has returned. The values do not depend on
/// the order or the threads. A task the pool leaves out is run on the
/// calling thread after `run` returns, and a task called twice writes
/// nothing the second time, so a faulty pool costs time, never bits.
///
/// A rayon user implements it with
/// `pool.install(|| (0..tasks).into_par_iter().for_each(|i| task(i)))`
/// (rayon's `ThreadPool::install` and `par_iter`). The example below, which
/// needs no rayon, runs each task on a scoped thread of its own:
///
/// ```
/// use std::sync::Arc;
/// use weight_init::cpu::{self, Pool, Threads};
/// use weight_init::{Normal, TensorKey};
///
/// struct Scoped;
/// impl Pool for Scoped {
///     fn run(&self, tasks: usize, task: &(dyn Fn(usize) + Sync)) {
///         std::thread::scope(|s| {
///             for i in 0..tasks {
///                 s.spawn(move || task(i));
///             }
///         });
///     }
/// }
///
/// let key = TensorKey::new(7, 1, 100_000);
/// let dist = Normal::new(0.0, 1.0).unwrap().into();
/// let mut mine = vec![0.0f32; 100_000];
/// cpu::fill_f32_with(&dist, &key, 0..100_000, &mut mine, &Threads::pool(Arc::new(Scoped))).unwrap();
/// let mut all = vec![0.0f32; 100_000];
/// cpu::fill_f32(&dist, &key, 0..100_000, &mut all).unwrap();
/// assert_eq!(mine, all); // the same bits, whatever runs the chunks
/// ```
pub trait Pool: Sync {
    /// Calls `task(i)` once for each `i` in `0..tasks`, then returns.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    /// use weight_init::cpu::Pool;
    /// struct Inline; // every task on the calling thread, in order
    /// impl Pool for Inline {
    ///     fn run(&self, n: usize, task: &(dyn Fn(usize) + Sync)) { (0..n).for_each(task) }
    /// }
    /// let sum = AtomicUsize::new(0);
    /// Inline.run(4, &|i| { sum.fetch_add(i, Relaxed); });
    /// assert_eq!(sum.into_inner(), 0 + 1 + 2 + 3);
    /// ```
    fn run(&self, tasks: usize, task: &(dyn Fn(usize) + Sync));
}

/// How many threads a CPU fill may use: all cores (the default), at most
/// a count, or the caller's [`Pool`]. The bits never depend on it: every
/// element is a pure function of its index, and chunks start on 4-element
/// block boundaries so no generator block is computed twice.
///
/// A fill of fewer than 2^15 elements per thread stays on the calling
/// thread (splitting it costs more than it saves), so a small fill may use
/// fewer threads than allowed, and does not call the pool at all when it
/// is one chunk. With a pool the fill is split into as many chunks as the
/// machine has cores (bounded by that minimum size); the pool decides how
/// many run at once.
///
/// The orthogonal scheme's host step ([`crate::structured`]) is bounded
/// separately: `Q` is built in fixed column panels
/// ([`crate::structured::ORTHOGONAL_PANEL`]) on scoped threads
/// ([`crate::structured::orthogonal_f32_with_threads`] takes the count),
/// so its bits never depend on the thread count; a model or tensor fill
/// runs it on every core, whatever its `Threads`. The other host work of structured schemes (orthogonal's Gaussian input,
/// sparse's normal fill) uses all cores too: a model fill bounded by
/// `Threads` ([`crate::model::ResolvedSet::fill_cpu_with`]) bounds its
/// elementwise tensors only.
///
/// ```
/// use weight_init::cpu::{self, Threads};
/// use weight_init::{DType, TensorKey, Uniform};
/// let dist = Uniform::new(-1.0, 1.0).unwrap().into();
/// let key = TensorKey::new(1, 2, 70_000);
/// let mut one = vec![0u8; 140_000];
/// cpu::fill_bytes_with(&dist, DType::BF16, &key, 0..70_000, &mut one, &Threads::count(1).unwrap()).unwrap();
/// let mut all = vec![0u8; 140_000];
/// cpu::fill_bytes_with(&dist, DType::BF16, &key, 0..70_000, &mut all, &Threads::all()).unwrap();
/// assert_eq!(one, all);
/// assert!(Threads::count(0).is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Threads(Mode);

#[derive(Clone, Default)]
enum Mode {
    #[default]
    All,
    Count(NonZeroUsize),
    Pool(Arc<dyn Pool>),
}

impl std::fmt::Debug for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::All => f.write_str("All"),
            Mode::Count(n) => f.debug_tuple("Count").field(n).finish(),
            Mode::Pool(_) => f.write_str("Pool(..)"),
        }
    }
}

impl Threads {
    /// Every core this process may use (`available_parallelism`): the
    /// default, and what [`fill_f32`], [`fill_u16`] and [`fill_bytes`] use.
    ///
    /// ```
    /// use weight_init::cpu::{self, Threads};
    /// use weight_init::{Normal, TensorKey};
    /// let dist = Normal::new(0.0, 1.0).unwrap().into();
    /// let key = TensorKey::new(3, 0, 8);
    /// let (mut a, mut b) = (vec![0.0f32; 8], vec![0.0f32; 8]);
    /// cpu::fill_f32_with(&dist, &key, 0..8, &mut a, &Threads::all()).unwrap();
    /// cpu::fill_f32(&dist, &key, 0..8, &mut b).unwrap();
    /// assert_eq!(a, b);
    /// ```
    pub fn all() -> Self {
        Threads(Mode::All)
    }

    /// At most `n` threads, the calling one included (`count(1)`: the
    /// calling thread only, nothing spawned). `n` may exceed the cores.
    ///
    /// Errors: `n == 0` ([`Error::InvalidParameter`]).
    ///
    /// ```
    /// use weight_init::cpu::Threads;
    /// use weight_init::Error;
    /// assert!(Threads::count(1).is_ok());
    /// assert!(Threads::count(1024).is_ok()); // more than the cores: fine
    /// assert!(matches!(Threads::count(0), Err(Error::InvalidParameter { .. })));
    /// ```
    pub fn count(n: usize) -> Result<Self> {
        NonZeroUsize::new(n)
            .map(|n| Threads(Mode::Count(n)))
            .ok_or(Error::InvalidParameter {
                name: "threads",
                value: 0.0,
                reason: "must be at least 1",
            })
    }

    /// The caller's pool runs the chunks (see [`Pool`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weight_init::{cpu::{self, Pool, Threads}, Distribution, TensorKey};
    /// struct Inline;
    /// impl Pool for Inline {
    ///     fn run(&self, n: usize, task: &(dyn Fn(usize) + Sync)) { (0..n).for_each(task) }
    /// }
    /// let (two, mut out) = (Distribution::constant(2.0).unwrap(), vec![0.0f32; 5]);
    /// let threads = Threads::pool(Arc::new(Inline));
    /// cpu::fill_f32_with(&two, &TensorKey::new(0, 0, 5), 0..5, &mut out, &threads).unwrap();
    /// assert_eq!(out, [2.0; 5]);
    /// ```
    pub fn pool(pool: Arc<dyn Pool>) -> Self {
        Threads(Mode::Pool(pool))
    }

    /// The most chunks a fill of `len` elements is split into.
    fn chunks(&self, len: usize) -> usize {
        let most = match &self.0 {
            Mode::All | Mode::Pool(_) => cores(),
            Mode::Count(n) => n.get(),
        };
        most.min(len / MIN_ELEMENTS_PER_THREAD).max(1)
    }

    /// How many parts work of `elements` elements is split into: as for
    /// one fill of that many elements.
    pub(crate) fn parts(&self, elements: u64) -> usize {
        self.chunks(usize::try_from(elements).unwrap_or(usize::MAX))
    }

    /// Runs `task` on each of `parts` on these threads (the caller's pool,
    /// or scoped threads with the last part on the calling thread); the
    /// first error, if any, once every part has run.
    pub(crate) fn run_parts<T: Send>(
        &self,
        parts: Vec<T>,
        task: impl Fn(T) -> Result<()> + Sync,
    ) -> Result<()> {
        let first_error = Mutex::new(None);
        let run = |part: T| {
            if let Err(e) = task(part) {
                first_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(e);
            }
        };
        let mut parts = parts;
        match (&self.0, parts.len()) {
            (_, 0) => {}
            (_, 1) => run(parts.pop().expect("one part")),
            (Mode::Pool(pool), n) => {
                // Each task takes its part out of its cell: a task run
                // twice finds it empty, and one never run is run here
                // afterwards (so a faulty pool costs time, never bits).
                let cells: Vec<Mutex<Option<T>>> =
                    parts.into_iter().map(|p| Mutex::new(Some(p))).collect();
                let take = |i: usize| {
                    cells
                        .get(i)
                        .and_then(|c| c.lock().unwrap_or_else(PoisonError::into_inner).take())
                };
                pool.run(n, &|i| {
                    if let Some(p) = take(i) {
                        run(p);
                    }
                });
                for i in 0..n {
                    if let Some(p) = take(i) {
                        run(p);
                    }
                }
            }
            (Mode::All | Mode::Count(_), _) => {
                // The last part on this thread: one spawn fewer per fill,
                // which a model of many small tensors pays per tensor.
                let last = parts.pop().expect("two or more parts");
                let run = &run;
                std::thread::scope(|s| {
                    for p in parts {
                        s.spawn(move || run(p));
                    }
                    run(last);
                });
            }
        }
        first_error
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .map_or(Ok(()), Err)
    }
}

pub(crate) fn check_range(
    key: &TensorKey,
    range: &Range<u64>,
    got: usize,
    unit_size: usize,
) -> Result<()> {
    if range.start > range.end || range.end > key.numel {
        return Err(Error::RangeOutOfBounds {
            start: range.start,
            end: range.end,
            len: key.numel,
        });
    }
    let n = range.end - range.start;
    let expected = crate::host::bytes_of(n, unit_size, || {
        format!(
            "element range {}..{} of tensor (seed {}, stream {})",
            range.start, range.end, key.seed, key.stream
        )
    })?;
    if got as u64 != expected {
        return Err(Error::OutputLength {
            expected,
            got: got as u64,
            unit: if unit_size == 1 { "elements" } else { "bytes" },
        });
    }
    Ok(())
}

/// Fills elements `range` of tensor `key` with f32 samples of `dist`.
/// `out[i]` receives element `range.start + i`.
///
/// ```
/// use weight_init::{cpu, Normal, TensorKey};
/// let key = TensorKey::new(0, 1, 10);
/// let dist = Normal::new(0.0, 1.0).unwrap().into();
/// let mut all = vec![0.0f32; 10];
/// cpu::fill_f32(&dist, &key, 0..10, &mut all).unwrap();
/// let mut part = vec![0.0f32; 3];
/// cpu::fill_f32(&dist, &key, 5..8, &mut part).unwrap();
/// assert_eq!(part, all[5..8]);
/// ```
pub fn fill_f32(
    dist: &Distribution,
    key: &TensorKey,
    range: Range<u64>,
    out: &mut [f32],
) -> Result<()> {
    fill_f32_with(dist, key, range, out, &Threads::all())
}

/// [`fill_f32`] on the threads `threads` allows: the same bits for every
/// [`Threads`].
///
/// ```
/// use weight_init::cpu::{self, Threads};
/// use weight_init::{TensorKey, Uniform};
/// let dist = Uniform::new(0.0, 1.0).unwrap().into();
/// let key = TensorKey::new(5, 1, 6);
/// let mut one = vec![0.0f32; 6];
/// cpu::fill_f32_with(&dist, &key, 0..6, &mut one, &Threads::count(1).unwrap()).unwrap();
/// assert!(one.iter().all(|x| (0.0..1.0).contains(x)));
/// let mut short = vec![0.0f32; 5]; // the range needs 6
/// assert!(cpu::fill_f32_with(&dist, &key, 0..6, &mut short, &Threads::all()).is_err());
/// ```
pub fn fill_f32_with(
    dist: &Distribution,
    key: &TensorKey,
    range: Range<u64>,
    out: &mut [f32],
    threads: &Threads,
) -> Result<()> {
    let sampler = Sampler::new(dist, DType::F32)?;
    check_range(key, &range, out.len(), 1)?;
    fill_with(&sampler, key, range.start, out, threads);
    Ok(())
}

/// Fills elements `range` of tensor `key` with 16-bit samples of `dist`
/// (`dtype` is [`DType::F16`] or [`DType::BF16`]), as raw bits.
///
/// ```
/// use weight_init::{cpu, DType, TensorKey, Uniform};
/// let mut out = vec![0u16; 4];
/// let dist = Uniform::new(-1.0, 1.0).unwrap().into();
/// cpu::fill_u16(&dist, DType::BF16, &TensorKey::new(1, 2, 4), 0..4, &mut out).unwrap();
/// assert!(out.iter().all(|&b| half_abs(b) <= 1.0));
/// # fn half_abs(b: u16) -> f32 { f32::from_bits((b as u32) << 16).abs() }
/// ```
pub fn fill_u16(
    dist: &Distribution,
    dtype: DType,
    key: &TensorKey,
    range: Range<u64>,
    out: &mut [u16],
) -> Result<()> {
    fill_u16_with(dist, dtype, key, range, out, &Threads::all())
}

/// [`fill_u16`] on the threads `threads` allows: the same bits for every
/// [`Threads`].
///
/// ```
/// use weight_init::cpu::{self, Threads};
/// use weight_init::{DType, Distribution, TensorKey};
/// let one = Distribution::constant(1.0).unwrap();
/// let (key, t) = (TensorKey::new(0, 0, 3), Threads::count(2).unwrap());
/// let mut out = vec![0u16; 3];
/// cpu::fill_u16_with(&one, DType::F16, &key, 0..3, &mut out, &t).unwrap();
/// assert_eq!(out, [0x3c00; 3]); // 1.0 in f16
/// assert!(cpu::fill_u16_with(&one, DType::F32, &key, 0..3, &mut out, &t).is_err());
/// ```
pub fn fill_u16_with(
    dist: &Distribution,
    dtype: DType,
    key: &TensorKey,
    range: Range<u64>,
    out: &mut [u16],
    threads: &Threads,
) -> Result<()> {
    let sampler = Sampler::new(dist, dtype)?;
    check_range(key, &range, out.len(), 1)?;
    match dtype {
        DType::F16 | DType::BF16 => fill_with(&sampler, key, range.start, out, threads),
        DType::F32 => {
            return Err(Error::Unrepresentable {
                what: dist.to_string(),
                dtype: "f32",
                reason: "fill_u16 takes a 16-bit dtype (f16 or bf16); use fill_f32",
            })
        }
    }
    Ok(())
}

/// Fills elements `range` of tensor `key` into little-endian bytes of
/// `dtype`: `out` holds exactly `(range.end - range.start) * dtype.size_bytes()`
/// bytes.
///
/// ```
/// use weight_init::{cpu, DType, Distribution, TensorKey};
/// let mut out = vec![0u8; 8];
/// let one = Distribution::constant(1.0).unwrap();
/// cpu::fill_bytes(&one, DType::F16, &TensorKey::new(0, 0, 4), 0..4, &mut out).unwrap();
/// assert_eq!(out, [0x00, 0x3c, 0x00, 0x3c, 0x00, 0x3c, 0x00, 0x3c]);
/// ```
pub fn fill_bytes(
    dist: &Distribution,
    dtype: DType,
    key: &TensorKey,
    range: Range<u64>,
    out: &mut [u8],
) -> Result<()> {
    fill_bytes_with(dist, dtype, key, range, out, &Threads::all())
}

/// [`fill_bytes`] on the threads `threads` allows: the same bytes for
/// every [`Threads`].
///
/// ```
/// use weight_init::cpu::{self, Threads};
/// use weight_init::{DType, Distribution, TensorKey};
/// let half = Distribution::constant(0.5).unwrap();
/// let mut out = vec![0u8; 8]; // 2 f32 elements
/// let t = Threads::count(1).unwrap();
/// cpu::fill_bytes_with(&half, DType::F32, &TensorKey::new(0, 0, 2), 0..2, &mut out, &t).unwrap();
/// assert_eq!(out, [0.5f32.to_le_bytes(), 0.5f32.to_le_bytes()].concat());
/// ```
pub fn fill_bytes_with(
    dist: &Distribution,
    dtype: DType,
    key: &TensorKey,
    range: Range<u64>,
    out: &mut [u8],
    threads: &Threads,
) -> Result<()> {
    let sampler = Sampler::new(dist, dtype)?;
    check_range(key, &range, out.len(), dtype.size_bytes())?;
    let start = range.start;
    match dtype {
        DType::F32 => fill_with(&sampler, key, start, out.as_chunks_mut::<4>().0, threads),
        DType::F16 | DType::BF16 => {
            fill_with(&sampler, key, start, out.as_chunks_mut::<2>().0, threads);
        }
    }
    Ok(())
}

/// Fills `out` with elements `start..start + out.len()` of `key`, each
/// rounded to the sampler's dtype and stored as a `T`, on the threads
/// `threads` allows. Range checks are the caller's; `T` must be as wide as
/// the sampler's dtype (a caller's mistake here is a bug, caught at once).
pub(crate) fn fill_with<T: Elem>(
    sampler: &Sampler,
    key: &TensorKey,
    start: u64,
    out: &mut [T],
    threads: &Threads,
) {
    assert_eq!(T::BYTES, sampler.dtype().size_bytes(), "element width");
    let path = CpuPath::best();
    let n = threads.chunks(out.len());
    if n == 1 {
        fill_chunk(path, sampler, key, start, out);
        return;
    }
    let chunks = split(start, out, n);
    // Filling a chunk cannot fail: the checks ran before.
    let filled = threads.run_parts(chunks, |(first, chunk)| {
        fill_chunk(path, sampler, key, first, chunk);
        Ok(())
    });
    debug_assert!(filled.is_ok());
}

/// A chunk of a fill: its first element and its output.
type Chunk<'a, T> = (u64, &'a mut [T]);

/// `out` (elements `start..`) cut into at most `n` contiguous chunks of
/// about equal length, every edge between two chunks on a 4-element block
/// boundary so no block is computed twice: `(first element, chunk)`.
fn split<T>(start: u64, out: &mut [T], n: usize) -> Vec<Chunk<'_, T>> {
    let per = (out.len().div_ceil(n) + 3) & !3;
    let mut chunks = Vec::with_capacity(n + 1);
    let mut rest = out;
    let mut first = start;
    while !rest.is_empty() {
        let head_to_block = ((4 - (first % 4)) % 4) as usize;
        let take = (per + head_to_block).min(rest.len());
        let (chunk, tail) = rest.split_at_mut(take);
        chunks.push((first, chunk));
        rest = tail;
        first += take as u64;
    }
    chunks
}

/// The cores this process may use, asked once: `available_parallelism`
/// reads cgroup files on every call.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// An output element as a fill stores it: f32 or u16 bits, or their
/// little-endian bytes.
///
/// # Safety
///
/// An implementor is exactly `BYTES` bytes, with no padding, every bit
/// pattern a valid value, and `from_bits(b)` has the bytes of the low
/// `BYTES` bytes of `b` in little-endian order: the vector paths write
/// those bytes straight into the output.
pub(crate) unsafe trait Elem: Copy + Send {
    /// The element's width in bytes (4 for f32, 2 for f16 and bf16).
    const BYTES: usize;
    /// The element whose bits are the low `BYTES` bytes of `bits`.
    fn from_bits(bits: u32) -> Self;
}

// SAFETY: 4 bytes, no padding, any bits valid; from_bits keeps the bits.
unsafe impl Elem for f32 {
    const BYTES: usize = 4;
    #[inline(always)]
    fn from_bits(bits: u32) -> Self {
        f32::from_bits(bits)
    }
}

// SAFETY: 4 bytes, no padding, any bits valid; the little-endian bytes.
unsafe impl Elem for [u8; 4] {
    const BYTES: usize = 4;
    #[inline(always)]
    fn from_bits(bits: u32) -> Self {
        bits.to_le_bytes()
    }
}

// SAFETY: 2 bytes, no padding, any bits valid; the low half.
unsafe impl Elem for u16 {
    const BYTES: usize = 2;
    #[inline(always)]
    fn from_bits(bits: u32) -> Self {
        bits as u16
    }
}

// SAFETY: 2 bytes, no padding, any bits valid; the low half's bytes.
unsafe impl Elem for [u8; 2] {
    const BYTES: usize = 2;
    #[inline(always)]
    fn from_bits(bits: u32) -> Self {
        (bits as u16).to_le_bytes()
    }
}

/// `x` rounded to `dtype`, as the element's bits (16-bit values in the
/// low half).
#[inline(always)]
fn round_bits(dtype: DType, x: f32) -> u32 {
    match dtype {
        DType::F32 => x.to_bits(),
        DType::F16 => f16_bits_branchless(x),
        DType::BF16 => f32_to_bf16_bits(x) as u32,
    }
}

/// [`crate::dtype::f32_to_f16_bits`] (round to nearest even, subnormals, overflow to
/// infinity, quiet NaN) without branches, so that a loop of it becomes a
/// few vector instructions per 16 lanes rather than one lane at a time.
/// The same bits for every input: `tests/cpu_paths.rs` compares all 2^32.
///
/// The normal range rounds in integers as the kernel does. The subnormal
/// range adds 0.5 in f32: the sum's ULP is 2^-24, the f16 subnormal step,
/// so the correctly rounded add (ties to even) is the f16 rounding, and the
/// sum's low bits are the f16 bits (after Fabian Giesen's
/// `float_to_half_fast3_rtne`).
#[inline(always)]
pub(crate) fn f16_bits_branchless(x: f32) -> u32 {
    let b = x.to_bits();
    let sign = (b >> 16) & 0x8000;
    let a = b & 0x7fff_ffff;
    // Rebias the exponent (127 -> 15) and round off 13 bits; a carry out
    // of the significand lands in the exponent, up to infinity (0x7c00)
    // from 65520 on, as the kernel's explicit threshold does.
    let normal = (a.wrapping_sub(0x3800_0000) + 0x0fff + ((a >> 13) & 1)) >> 13;
    let subnormal = (f32::from_bits(a) + 0.5)
        .to_bits()
        .wrapping_sub(0x3f00_0000);
    let h = if a < 0x3880_0000 { subnormal } else { normal };
    let h = if a >= 0x4780_0000 { 0x7c00 } else { h };
    let h = if a > 0x7f80_0000 { 0x7e00 } else { h };
    sign | h
}

impl CpuPath {
    /// The fastest path this CPU runs (detected once; `is_x86_feature_detected`
    /// caches its answer).
    pub(crate) fn best() -> Self {
        [CpuPath::Avx512, CpuPath::Avx2]
            .into_iter()
            .find(|p| p.available())
            .unwrap_or(CpuPath::Portable)
    }

    /// Whether this CPU has the path's instructions.
    pub(crate) fn available(self) -> bool {
        match self {
            CpuPath::Portable => true,
            #[cfg(target_arch = "x86_64")]
            CpuPath::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            CpuPath::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512cd")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

/// Single-threaded fill of a contiguous run on `path`, which must be
/// [`CpuPath::available`] (the caller checked). Allocation-free.
fn fill_chunk<T: Elem>(
    path: CpuPath,
    sampler: &Sampler,
    key: &TensorKey,
    start: u64,
    out: &mut [T],
) {
    match path {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller checked that the CPU has AVX-512 F/BW/DQ/VL.
        CpuPath::Avx512 => unsafe { fill_chunk_avx512(sampler, key, start, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller checked that the CPU has AVX2.
        CpuPath::Avx2 => unsafe { fill_chunk_avx2(sampler, key, start, out) },
        // SAFETY: the portable kernels need no CPU feature.
        _ => unsafe { fill_chunk_body::<Portable, T>(sampler, key, start, out) },
    }
}

/// [`fill_chunk`] on a path the caller names: the test hook behind
/// [`crate::unstable::fill_bytes_on`]. Fails with [`Error::InvalidChoice`]
/// when this CPU lacks the path's instructions.
pub(crate) fn fill_chunk_on<T: Elem>(
    path: CpuPath,
    sampler: &Sampler,
    key: &TensorKey,
    start: u64,
    out: &mut [T],
) -> Result<()> {
    if !path.available() {
        return Err(Error::InvalidChoice {
            name: "path",
            value: format!("{path:?}"),
            reason: "this CPU lacks the path's instructions",
        });
    }
    assert_eq!(T::BYTES, sampler.dtype().size_bytes(), "element width");
    fill_chunk(path, sampler, key, start, out);
    Ok(())
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_chunk_avx2<T: Elem>(sampler: &Sampler, key: &TensorKey, start: u64, out: &mut [T]) {
    // SAFETY: this function runs only where AVX2 is present.
    unsafe { fill_chunk_body::<Avx2, T>(sampler, key, start, out) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl")]
unsafe fn fill_chunk_avx512<T: Elem>(
    sampler: &Sampler,
    key: &TensorKey,
    start: u64,
    out: &mut [T],
) {
    // SAFETY: this function runs only where AVX-512 F/BW/DQ/VL are present.
    unsafe { fill_chunk_body::<Avx512, T>(sampler, key, start, out) }
}

/// One instruction set's batch kernels.
trait Kernels {
    /// The words of the 16 blocks from `first`, in structure-of-arrays
    /// order (`crate::philox::batch_words_soa`).
    ///
    /// # Safety
    ///
    /// The CPU has the path's instructions.
    unsafe fn words(first: u64, stream: u64, keys: &RoundKeys, words: &mut [u32; BATCH]);

    /// Stores 64 elements whose bits `bits` holds in structure-of-arrays
    /// order (element `4 j + i` at `bits[16 i + j]`; 16-bit elements in
    /// the low half) into `dst`, in element order.
    ///
    /// # Safety
    ///
    /// The CPU has the path's instructions.
    unsafe fn store<T: Elem>(bits: &[u32; BATCH], dst: &mut [T; BATCH]);

    /// Whether the path has [`Kernels::store_stream`].
    const STREAMS: bool = false;

    /// [`Kernels::store`] with non-temporal stores, which write whole
    /// cache lines without reading them first (no read-for-ownership) and
    /// do not keep them in the caches: for outputs far larger than the
    /// caches, where every line would be read from memory only to be
    /// overwritten. The caller issues a store fence after the last one.
    ///
    /// # Safety
    ///
    /// The CPU has the path's instructions, `Self::STREAMS` holds, and
    /// `dst` is 64-byte aligned.
    unsafe fn store_stream<T: Elem>(bits: &[u32; BATCH], dst: &mut [T; BATCH]) {
        // SAFETY: passed on from the caller.
        unsafe { Self::store(bits, dst) }
    }
}

/// Scalar code the compiler vectorizes as the target allows (SSE2 on any
/// x86-64): every CPU.
struct Portable;

impl Kernels for Portable {
    #[inline(always)]
    unsafe fn words(first: u64, stream: u64, keys: &RoundKeys, words: &mut [u32; BATCH]) {
        batch_words_soa(first, stream, keys[0], words);
    }

    #[inline(always)]
    unsafe fn store<T: Elem>(bits: &[u32; BATCH], dst: &mut [T; BATCH]) {
        for (e, d) in dst.iter_mut().enumerate() {
            *d = T::from_bits(bits[QUARTER * (e % 4) + e / 4]);
        }
    }
}

/// Blocks per batch: a quarter of its elements.
const QUARTER: usize = BATCH / 4;

/// From this many bytes per chunk a path with non-temporal stores uses
/// them ([`Kernels::store_stream`]): well past a core's L2 (1-4 MiB on
/// current x86), where the output would leave the cache before anyone
/// reads it anyway. Smaller fills (most tensors of a model) stay cached for
/// whoever reads them next.
pub(crate) const STREAM_MIN_BYTES: usize = 16 << 20;

#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Kernels for Avx2 {
    #[inline(always)]
    unsafe fn words(first: u64, stream: u64, keys: &RoundKeys, words: &mut [u32; BATCH]) {
        // SAFETY: the caller's contract: AVX2 is present.
        unsafe { crate::philox::avx2::batch_words_soa(first, stream, keys, words) }
    }

    #[inline(always)]
    unsafe fn store<T: Elem>(bits: &[u32; BATCH], dst: &mut [T; BATCH]) {
        // SAFETY: AVX2 is present (the caller's contract); `dst` is 64
        // elements of `T::BYTES` bytes, exactly what each store writes.
        unsafe {
            if T::BYTES == 4 {
                simd::avx2_store32::<false>(bits, dst.as_mut_ptr().cast());
            } else {
                simd::avx2_store16::<false>(bits, dst.as_mut_ptr().cast());
            }
        }
    }

    const STREAMS: bool = true;

    #[inline(always)]
    unsafe fn store_stream<T: Elem>(bits: &[u32; BATCH], dst: &mut [T; BATCH]) {
        // SAFETY: as in `store`, and `dst` is 64-byte aligned (the
        // caller's contract), as the non-temporal stores need.
        unsafe {
            if T::BYTES == 4 {
                simd::avx2_store32::<true>(bits, dst.as_mut_ptr().cast());
            } else {
                simd::avx2_store16::<true>(bits, dst.as_mut_ptr().cast());
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
struct Avx512;

#[cfg(target_arch = "x86_64")]
impl Kernels for Avx512 {
    #[inline(always)]
    unsafe fn words(first: u64, stream: u64, keys: &RoundKeys, words: &mut [u32; BATCH]) {
        // SAFETY: the caller's contract: AVX-512 F is present.
        unsafe { crate::philox::avx512::batch_words_soa(first, stream, keys, words) }
    }

    #[inline(always)]
    unsafe fn store<T: Elem>(bits: &[u32; BATCH], dst: &mut [T; BATCH]) {
        // SAFETY: AVX-512 F is present (the caller's contract); `dst` is 64
        // elements of `T::BYTES` bytes, exactly what each store writes.
        unsafe {
            if T::BYTES == 4 {
                simd::avx512_store32::<false>(bits, dst.as_mut_ptr().cast());
            } else {
                simd::avx512_store16::<false>(bits, dst.as_mut_ptr().cast());
            }
        }
    }

    const STREAMS: bool = true;

    #[inline(always)]
    unsafe fn store_stream<T: Elem>(bits: &[u32; BATCH], dst: &mut [T; BATCH]) {
        // SAFETY: as in `store`, and `dst` is 64-byte aligned (the
        // caller's contract), as the non-temporal stores need.
        unsafe {
            if T::BYTES == 4 {
                simd::avx512_store32::<true>(bits, dst.as_mut_ptr().cast());
            } else {
                simd::avx512_store16::<true>(bits, dst.as_mut_ptr().cast());
            }
        }
    }
}

/// The fill of one chunk on kernels `K`, the dtype made a constant of each
/// copy so no per-element match remains.
///
/// # Safety
///
/// The CPU has `K`'s instructions.
#[inline(always)]
unsafe fn fill_chunk_body<K: Kernels, T: Elem>(
    sampler: &Sampler,
    key: &TensorKey,
    start: u64,
    out: &mut [T],
) {
    // SAFETY: passed on from the caller.
    unsafe {
        match sampler.dtype() {
            DType::F32 => fill_chunk_dtype::<K, T>(sampler, key, start, out, DType::F32),
            DType::F16 => fill_chunk_dtype::<K, T>(sampler, key, start, out, DType::F16),
            DType::BF16 => fill_chunk_dtype::<K, T>(sampler, key, start, out, DType::BF16),
        }
    }
}

/// # Safety
///
/// The CPU has `K`'s instructions.
#[inline(always)]
unsafe fn fill_chunk_dtype<K: Kernels, T: Elem>(
    sampler: &Sampler,
    key: &TensorKey,
    start: u64,
    out: &mut [T],
    dtype: DType,
) {
    let k = key_of(key.seed);
    let block_of = |b: u64| sampler.sample_block(philox4x32_10(counter_of(b, key.stream), k));
    let put = |d: &mut T, x: f32| *d = T::from_bits(round_bits(dtype, x));
    // Leading partial block.
    let lane0 = (start % 4) as usize;
    let lead = if lane0 == 0 {
        0
    } else {
        let v = block_of(start / 4);
        let lead = (4 - lane0).min(out.len());
        for (d, &x) in out[..lead].iter_mut().zip(&v[lane0..]) {
            put(d, x);
        }
        lead
    };
    let mut block = (start + lead as u64) / 4;
    // A chunk far larger than the caches streams its batches
    // (`Kernels::store_stream`), from the first block whose address is
    // 64-byte aligned: up to 15 blocks go before it one by one. An output
    // that no block start aligns (bytes at an odd address) is stored as
    // usual.
    let bytes = out.len() * T::BYTES;
    let block_bytes = 4 * T::BYTES;
    let misaligned = out[lead..].as_ptr() as usize % 64;
    let stream = K::STREAMS && bytes >= STREAM_MIN_BYTES && misaligned.is_multiple_of(block_bytes);
    let mut head = lead;
    if stream {
        let blocks = (64 - misaligned) % 64 / block_bytes;
        for dst in out[lead..lead + 4 * blocks].as_chunks_mut::<4>().0 {
            let v = block_of(block);
            for (d, &x) in dst.iter_mut().zip(v.iter()) {
                put(d, x);
            }
            block += 1;
        }
        head += 4 * blocks;
    }
    // Batches of 16 whole blocks: words, values and bits all in
    // structure-of-arrays order, put in element order by the store.
    let (batches, rest) = out[head..].as_chunks_mut::<BATCH>();
    let random = sampler.kind() != SamplerKind::Constant;
    let keys = round_keys(k);
    let mut words = [0u32; BATCH];
    let mut vals = [0.0f32; BATCH];
    let mut bits = [0u32; BATCH];
    for dst in batches {
        if random {
            // SAFETY: the caller's contract.
            unsafe { K::words(block, key.stream, &keys, &mut words) };
        }
        sampler.sample_soa(&words, &mut vals);
        for (b, &x) in bits.iter_mut().zip(vals.iter()) {
            *b = round_bits(dtype, x);
        }
        if stream {
            // SAFETY: the caller's contract; K streams, and `dst` starts
            // 64-byte aligned (the first batch was aligned above, and each
            // is 128 or 256 bytes).
            unsafe { K::store_stream(&bits, dst) };
        } else {
            // SAFETY: the caller's contract.
            unsafe { K::store(&bits, dst) };
        }
        block += QUARTER as u64;
    }
    #[cfg(target_arch = "x86_64")]
    if stream {
        simd::store_fence();
    }
    // Remaining blocks, the last one possibly partial.
    for dst in rest.chunks_mut(4) {
        let v = block_of(block);
        for (d, &x) in dst.iter_mut().zip(v.iter()) {
            put(d, x);
        }
        block += 1;
    }
}

/// The vector stores: 64 elements from structure-of-arrays bits to element
/// order (a 4 x 16 transpose), as whole unaligned vectors.
#[cfg(target_arch = "x86_64")]
mod simd {
    use core::arch::x86_64::*;

    use super::{BATCH, QUARTER};

    /// One 32-byte store, non-temporal if `STREAM`.
    ///
    /// # Safety
    ///
    /// `dst` is valid for 32 bytes of writes, and 32-byte aligned if
    /// `STREAM`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store256<const STREAM: bool>(dst: *mut u8, v: __m256i) {
        // SAFETY: the caller's contract.
        unsafe {
            if STREAM {
                _mm256_stream_si256(dst.cast(), v);
            } else {
                _mm256_storeu_si256(dst.cast(), v);
            }
        }
    }

    /// One 64-byte store, non-temporal if `STREAM`.
    ///
    /// # Safety
    ///
    /// `dst` is valid for 64 bytes of writes, and 64-byte aligned if
    /// `STREAM`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn store512<const STREAM: bool>(dst: *mut u8, v: __m512i) {
        // SAFETY: the caller's contract.
        unsafe {
            if STREAM {
                _mm512_stream_si512(dst.cast(), v);
            } else {
                _mm512_storeu_si512(dst.cast(), v);
            }
        }
    }

    /// Orders the non-temporal stores before every later store, so that
    /// whoever the chunk is handed to (the thread that joins this one)
    /// sees them.
    #[inline]
    pub(super) fn store_fence() {
        // SAFETY: SSE, which every x86-64 CPU has.
        unsafe { _mm_sfence() };
    }

    /// 32-bit elements, 256 bytes at `dst`, as two runs of eight blocks.
    ///
    /// # Safety
    ///
    /// `dst` is valid for 256 bytes of writes, and 64-byte aligned if
    /// `STREAM` (non-temporal stores).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn avx2_store32<const STREAM: bool>(bits: &[u32; BATCH], dst: *mut u8) {
        for half in 0..2 {
            let c = |i: usize| {
                // SAFETY: words `16 i + 8 half ..+ 8` lie inside `bits`.
                unsafe { _mm256_loadu_si256(bits.as_ptr().add(QUARTER * i + 8 * half).cast()) }
            };
            let (c0, c1, c2, c3) = (c(0), c(1), c(2), c(3));
            // Within each 128-bit lane L: u_k is block 4 L + k, words 0..4.
            let t0 = _mm256_unpacklo_epi32(c0, c1);
            let t1 = _mm256_unpackhi_epi32(c0, c1);
            let t2 = _mm256_unpacklo_epi32(c2, c3);
            let t3 = _mm256_unpackhi_epi32(c2, c3);
            let u0 = _mm256_unpacklo_epi64(t0, t2);
            let u1 = _mm256_unpackhi_epi64(t0, t2);
            let u2 = _mm256_unpacklo_epi64(t1, t3);
            let u3 = _mm256_unpackhi_epi64(t1, t3);
            let out = [
                _mm256_permute2x128_si256::<0x20>(u0, u1),
                _mm256_permute2x128_si256::<0x20>(u2, u3),
                _mm256_permute2x128_si256::<0x31>(u0, u1),
                _mm256_permute2x128_si256::<0x31>(u2, u3),
            ];
            for (v, o) in out.into_iter().enumerate() {
                // SAFETY: bytes `128 half + 32 v ..+ 32` lie inside the
                // caller's 256.
                unsafe { store256::<STREAM>(dst.add(128 * half + 32 * v), o) };
            }
        }
    }

    /// 16-bit elements (low halves of `bits`), 128 bytes at `dst`.
    ///
    /// # Safety
    ///
    /// `dst` is valid for 128 bytes of writes, and 64-byte aligned if
    /// `STREAM` (non-temporal stores).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn avx2_store16<const STREAM: bool>(bits: &[u32; BATCH], dst: *mut u8) {
        for half in 0..2 {
            let c = |i: usize| {
                // SAFETY: words `16 i + 8 half ..+ 8` lie inside `bits`.
                unsafe { _mm256_loadu_si256(bits.as_ptr().add(QUARTER * i + 8 * half).cast()) }
            };
            // Elements 0 and 1, and 2 and 3, of each block in one word.
            let p01 = _mm256_or_si256(c(0), _mm256_slli_epi32::<16>(c(1)));
            let p23 = _mm256_or_si256(c(2), _mm256_slli_epi32::<16>(c(3)));
            // Within each 128-bit lane L: blocks 4 L, 4 L + 1 (lo) and
            // 4 L + 2, 4 L + 3 (hi).
            let lo = _mm256_unpacklo_epi32(p01, p23);
            let hi = _mm256_unpackhi_epi32(p01, p23);
            let out = [
                _mm256_permute2x128_si256::<0x20>(lo, hi),
                _mm256_permute2x128_si256::<0x31>(lo, hi),
            ];
            for (v, o) in out.into_iter().enumerate() {
                // SAFETY: bytes `64 half + 32 v ..+ 32` lie inside the
                // caller's 128.
                unsafe { store256::<STREAM>(dst.add(64 * half + 32 * v), o) };
            }
        }
    }

    /// 32-bit elements, 256 bytes at `dst`.
    ///
    /// # Safety
    ///
    /// `dst` is valid for 256 bytes of writes, and 64-byte aligned if
    /// `STREAM` (non-temporal stores).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512_store32<const STREAM: bool>(bits: &[u32; BATCH], dst: *mut u8) {
        let c = |i: usize| {
            // SAFETY: words `16 i ..+ 16` lie inside `bits`.
            unsafe { _mm512_loadu_si512(bits.as_ptr().add(QUARTER * i).cast()) }
        };
        let (c0, c1, c2, c3) = (c(0), c(1), c(2), c(3));
        // Within each 128-bit lane L: b_k is block 4 L + k, words 0..4.
        let t0 = _mm512_unpacklo_epi32(c0, c1);
        let t1 = _mm512_unpackhi_epi32(c0, c1);
        let t2 = _mm512_unpacklo_epi32(c2, c3);
        let t3 = _mm512_unpackhi_epi32(c2, c3);
        let b0 = _mm512_unpacklo_epi64(t0, t2);
        let b1 = _mm512_unpackhi_epi64(t0, t2);
        let b2 = _mm512_unpacklo_epi64(t1, t3);
        let b3 = _mm512_unpackhi_epi64(t1, t3);
        // Output vector L is lane L of b0, b1, b2, b3: a 4 x 4 transpose of
        // 128-bit lanes.
        let s0 = _mm512_shuffle_i32x4::<0b01_00_01_00>(b0, b1);
        let s1 = _mm512_shuffle_i32x4::<0b11_10_11_10>(b0, b1);
        let s2 = _mm512_shuffle_i32x4::<0b01_00_01_00>(b2, b3);
        let s3 = _mm512_shuffle_i32x4::<0b11_10_11_10>(b2, b3);
        let out = [
            _mm512_shuffle_i32x4::<0b10_00_10_00>(s0, s2),
            _mm512_shuffle_i32x4::<0b11_01_11_01>(s0, s2),
            _mm512_shuffle_i32x4::<0b10_00_10_00>(s1, s3),
            _mm512_shuffle_i32x4::<0b11_01_11_01>(s1, s3),
        ];
        for (v, o) in out.into_iter().enumerate() {
            // SAFETY: bytes `64 v ..+ 64` lie inside the caller's 256.
            unsafe { store512::<STREAM>(dst.add(64 * v), o) };
        }
    }

    /// 16-bit elements (low halves of `bits`), 128 bytes at `dst`.
    ///
    /// # Safety
    ///
    /// `dst` is valid for 128 bytes of writes, and 64-byte aligned if
    /// `STREAM` (non-temporal stores).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512_store16<const STREAM: bool>(bits: &[u32; BATCH], dst: *mut u8) {
        let c = |i: usize| {
            // SAFETY: words `16 i ..+ 16` lie inside `bits`.
            unsafe { _mm512_loadu_si512(bits.as_ptr().add(QUARTER * i).cast()) }
        };
        let p01 = _mm512_or_si512(c(0), _mm512_slli_epi32::<16>(c(1)));
        let p23 = _mm512_or_si512(c(2), _mm512_slli_epi32::<16>(c(3)));
        // Within each 128-bit lane L: blocks 4 L, 4 L + 1 (lo) and
        // 4 L + 2, 4 L + 3 (hi); output vector v holds lanes 2 v and
        // 2 v + 1 of both, interleaved (64-bit indices, 8+ for `hi`).
        let lo = _mm512_unpacklo_epi32(p01, p23);
        let hi = _mm512_unpackhi_epi32(p01, p23);
        let first = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
        let second = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
        let out = [
            _mm512_permutex2var_epi64(lo, first, hi),
            _mm512_permutex2var_epi64(lo, second, hi),
        ];
        for (v, o) in out.into_iter().enumerate() {
            // SAFETY: bytes `64 v ..+ 64` lie inside the caller's 128.
            unsafe { store512::<STREAM>(dst.add(64 * v), o) };
        }
    }
}
