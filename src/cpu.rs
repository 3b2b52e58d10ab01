//! The CPU backend: fills any element range of a tensor with exactly the
//! contract's values, on all cores or on as many as [`Threads`] allows.
//!
//! It is the test reference for the GPU backend and the fallback where no
//! adapter exists. Work is split into contiguous chunks, one per thread
//! (scoped threads, or tasks on the caller's [`Pool`]); every element is a
//! pure function of its index, so the split never changes a value.

use core::ops::Range;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use crate::dist::Distribution;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::{f32_to_bf16_bits, f32_to_f16_bits};
use crate::philox::{batch_words, counter_of, key_of, philox4x32_10, TensorKey};
use crate::sampler::{Sampler, BATCH};

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
/// The orthogonal scheme's QR ([`crate::structured`]) is bounded
/// separately: it runs on its own fixed degree of parallelism
/// (`QR_PARALLEL_DEGREE` in `structured.rs`, under `spindle`), because
/// the QR's rounding depends on how its work is split; a fixed split keeps
/// its bits the same on every machine, so it does not follow `Threads`.
/// The other host work of structured schemes (orthogonal's Gaussian input,
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
                // As in `fill_with`: a part run twice finds its cell empty,
                // one never run is run here afterwards.
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

fn check_range(key: &TensorKey, range: &Range<u64>, got: usize, unit_size: usize) -> Result<()> {
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
    fill_with(&sampler, key, range.start, out, |x| x, threads);
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
        DType::F16 => fill_with(&sampler, key, range.start, out, f32_to_f16_bits, threads),
        DType::BF16 => fill_with(&sampler, key, range.start, out, f32_to_bf16_bits, threads),
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
        DType::F32 => {
            let (words, _) = out.as_chunks_mut::<4>();
            fill_with(&sampler, key, start, words, |x| x.to_le_bytes(), threads);
        }
        DType::F16 => fill_halves_le(&sampler, key, start, out, f32_to_f16_bits, threads),
        DType::BF16 => fill_halves_le(&sampler, key, start, out, f32_to_bf16_bits, threads),
    }
    Ok(())
}

/// [`fill_with`] into little-endian 16-bit elements, rounded by `round`.
fn fill_halves_le<R>(
    sampler: &Sampler,
    key: &TensorKey,
    start: u64,
    out: &mut [u8],
    round: R,
    threads: &Threads,
) where
    R: Fn(f32) -> u16 + Sync,
{
    let (halves, _) = out.as_chunks_mut::<2>();
    fill_with(
        sampler,
        key,
        start,
        halves,
        |x| round(x).to_le_bytes(),
        threads,
    );
}

/// Fills `out` with elements `start..start + out.len()` of `key`, converting
/// each f32 value with `conv`, on the threads `threads` allows. Range
/// checks are the caller's.
pub(crate) fn fill_with<T, F>(
    sampler: &Sampler,
    key: &TensorKey,
    start: u64,
    out: &mut [T],
    conv: F,
    threads: &Threads,
) where
    T: Send,
    F: Fn(f32) -> T + Sync,
{
    let n = threads.chunks(out.len());
    if n == 1 {
        fill_chunk(sampler, key, start, out, &conv);
        return;
    }
    let conv = &conv;
    let mut chunks = split(start, out, n);
    match &threads.0 {
        Mode::Pool(pool) => {
            // Each task takes its chunk out of its cell: a task run twice
            // finds it empty, and one never run is run here afterwards.
            let cells: Vec<Mutex<Option<Chunk<T>>>> =
                chunks.into_iter().map(|c| Mutex::new(Some(c))).collect();
            let take = |i: usize| {
                cells
                    .get(i)
                    .and_then(|c| c.lock().unwrap_or_else(PoisonError::into_inner).take())
            };
            pool.run(cells.len(), &|i| {
                if let Some((first, chunk)) = take(i) {
                    fill_chunk(sampler, key, first, chunk, conv);
                }
            });
            for i in 0..cells.len() {
                if let Some((first, chunk)) = take(i) {
                    fill_chunk(sampler, key, first, chunk, conv);
                }
            }
        }
        Mode::All | Mode::Count(_) => {
            // The last chunk on this thread: one spawn fewer per fill,
            // which a model of hundreds of small tensors pays per tensor.
            let (last_start, last) = chunks.pop().expect("n > 1 chunks");
            std::thread::scope(|s| {
                for (first, chunk) in chunks {
                    s.spawn(move || fill_chunk(sampler, key, first, chunk, conv));
                }
                fill_chunk(sampler, key, last_start, last, conv);
            });
        }
    }
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

/// Single-threaded fill of a contiguous run. Allocation-free.
///
/// On x86-64 with AVX2 the same code is compiled a second time with AVX2
/// enabled and chosen at run time; AVX2 changes no value (no FMA is
/// enabled, and every vector operation rounds as its scalar twin).
fn fill_chunk<T, F>(sampler: &Sampler, key: &TensorKey, start: u64, out: &mut [T], conv: &F)
where
    F: Fn(f32) -> T,
{
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { fill_chunk_avx2(sampler, key, start, out, conv) };
            return;
        }
    }
    fill_chunk_portable(sampler, key, start, out, conv);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_chunk_avx2<T, F>(
    sampler: &Sampler,
    key: &TensorKey,
    start: u64,
    out: &mut [T],
    conv: &F,
) where
    F: Fn(f32) -> T,
{
    fill_chunk_portable(sampler, key, start, out, conv);
}

#[inline(always)]
fn fill_chunk_portable<T, F>(
    sampler: &Sampler,
    key: &TensorKey,
    start: u64,
    out: &mut [T],
    conv: &F,
) where
    F: Fn(f32) -> T,
{
    let k = key_of(key.seed);
    let block_of = |b: u64| sampler.sample_block(philox4x32_10(counter_of(b, key.stream), k));
    let mut i = 0usize;
    // Leading partial block.
    let lane0 = (start % 4) as usize;
    if lane0 != 0 {
        let v = block_of(start / 4);
        let lead = (4 - lane0).min(out.len());
        for (dst, &x) in out[..lead].iter_mut().zip(&v[lane0..]) {
            *dst = conv(x);
        }
        i = lead;
    }
    let mut block = (start + i as u64) / 4;
    // Batches of 16 whole blocks.
    let mut words = [0u32; BATCH];
    let mut vals = [0.0f32; BATCH];
    let batches = (out.len() - i) / BATCH;
    for dst in out[i..i + batches * BATCH].chunks_exact_mut(BATCH) {
        batch_words(block, key.stream, k, &mut words);
        sampler.sample_batch(&words, &mut vals);
        for (d, &x) in dst.iter_mut().zip(vals.iter()) {
            *d = conv(x);
        }
        block += (BATCH / 4) as u64;
    }
    i += batches * BATCH;
    // Remaining blocks, the last one possibly partial.
    for dst in out[i..].chunks_mut(4) {
        let v = block_of(block);
        for (d, &x) in dst.iter_mut().zip(v.iter()) {
            *d = conv(x);
        }
        block += 1;
    }
}
