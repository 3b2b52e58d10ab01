//! The CPU backend: fills any element range of a tensor with exactly the
//! contract's values, on all cores.
//!
//! It is the test reference for the GPU backend and the fallback where no
//! adapter exists. Work is split into contiguous chunks, one per thread
//! (scoped threads); every element is a pure function of its index, so the
//! split never changes a value.

use core::ops::Range;

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
    let sampler = Sampler::new(dist, DType::F32)?;
    check_range(key, &range, out.len(), 1)?;
    fill_with(&sampler, key, range.start, out, |x| x);
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
/// ```
pub fn fill_u16(
    dist: &Distribution,
    dtype: DType,
    key: &TensorKey,
    range: Range<u64>,
    out: &mut [u16],
) -> Result<()> {
    let sampler = Sampler::new(dist, dtype)?;
    check_range(key, &range, out.len(), 1)?;
    match dtype {
        DType::F16 => fill_with(&sampler, key, range.start, out, f32_to_f16_bits),
        DType::BF16 => fill_with(&sampler, key, range.start, out, f32_to_bf16_bits),
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
    let sampler = Sampler::new(dist, dtype)?;
    check_range(key, &range, out.len(), dtype.size_bytes())?;
    match dtype {
        DType::F32 => {
            let (words, _) = out.as_chunks_mut::<4>();
            fill_with(&sampler, key, range.start, words, |x| x.to_le_bytes());
        }
        DType::F16 => fill_halves_le(&sampler, key, range.start, out, f32_to_f16_bits),
        DType::BF16 => fill_halves_le(&sampler, key, range.start, out, f32_to_bf16_bits),
    }
    Ok(())
}

/// [`fill_with`] into little-endian 16-bit elements, rounded by `round`.
fn fill_halves_le<R>(sampler: &Sampler, key: &TensorKey, start: u64, out: &mut [u8], round: R)
where
    R: Fn(f32) -> u16 + Sync,
{
    let (halves, _) = out.as_chunks_mut::<2>();
    fill_with(sampler, key, start, halves, |x| round(x).to_le_bytes());
}

/// Fills `out` with elements `start..start + out.len()` of `key`, converting
/// each f32 value with `conv`, on all cores. Range checks are the caller's.
pub(crate) fn fill_with<T, F>(
    sampler: &Sampler,
    key: &TensorKey,
    start: u64,
    out: &mut [T],
    conv: F,
) where
    T: Send,
    F: Fn(f32) -> T + Sync,
{
    let threads = cores().min(out.len() / MIN_ELEMENTS_PER_THREAD).max(1);
    if threads == 1 {
        fill_chunk(sampler, key, start, out, &conv);
        return;
    }
    // Chunk edges on block boundaries, so no block is computed twice.
    let per = (out.len().div_ceil(threads) + 3) & !3;
    std::thread::scope(|s| {
        let conv = &conv;
        let mut rest = out;
        let mut first = start;
        loop {
            let head_to_block = ((4 - (first % 4)) % 4) as usize;
            let take = (per + head_to_block).min(rest.len());
            let (chunk, tail) = rest.split_at_mut(take);
            if tail.is_empty() {
                // The last chunk on this thread: one spawn fewer per fill,
                // which a model of hundreds of small tensors pays per tensor.
                fill_chunk(sampler, key, first, chunk, conv);
                break;
            }
            let chunk_start = first;
            s.spawn(move || fill_chunk(sampler, key, chunk_start, chunk, conv));
            rest = tail;
            first += take as u64;
        }
    });
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
