//! The CPU backend: fills any element range of a tensor with exactly the
//! contract's values, on all cores.
//!
//! It is the test reference for the GPU backend and the fallback where no
//! adapter exists. Work is split into contiguous chunks, one per thread
//! (scoped threads); every element is a pure function of its index, so the
//! split never changes a value.

use core::ops::Range;

use crate::error::{Error, Result};
use crate::philox::{counter_of, key_of, philox4x32_10};
use crate::sample::{f32_to_bf16_bits, f32_to_f16_bits, DType, Distribution, Sampler, BATCH};

/// Which tensor an element belongs to: the generator seed, the tensor's
/// stream id and its element count.
///
/// ```
/// use weight_init::TensorKey;
/// let key = TensorKey::new(42, 7, 1024);
/// assert_eq!(key.numel, 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TensorKey {
    /// Generator seed (the Philox key).
    pub seed: u64,
    /// Tensor stream id (the high half of the Philox counter).
    pub stream: u64,
    /// Number of elements in the whole tensor.
    pub numel: u64,
}

impl TensorKey {
    /// A tensor of `numel` elements on `stream` under `seed`.
    pub fn new(seed: u64, stream: u64, numel: u64) -> Self {
        Self {
            seed,
            stream,
            numel,
        }
    }
}

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
        DType::F16 => {
            let (halves, _) = out.as_chunks_mut::<2>();
            fill_with(&sampler, key, range.start, halves, |x| {
                f32_to_f16_bits(x).to_le_bytes()
            });
        }
        DType::BF16 => {
            let (halves, _) = out.as_chunks_mut::<2>();
            fill_with(&sampler, key, range.start, halves, |x| {
                f32_to_bf16_bits(x).to_le_bytes()
            });
        }
    }
    Ok(())
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

/// The words of the 16 blocks from `first`, in element order.
#[inline(always)]
fn batch_words(first: u64, stream: u64, key: [u32; 2], words: &mut [u32; BATCH]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present, checked just above.
            unsafe { avx2::philox_batch(first, stream, key, words) };
            return;
        }
    }
    for j in 0..BATCH / 4 {
        let w = philox4x32_10(counter_of(first + j as u64, stream), key);
        words[4 * j..4 * j + 4].copy_from_slice(&w);
    }
}

/// Philox4x32-10 on eight blocks at once in AVX2 registers: the same
/// rounds as `philox::philox4x32_10`, one block per 32-bit lane.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::*;

    use crate::philox::{PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1};
    use crate::sample::BATCH;

    /// `(hi, lo)` halves of the eight 32x32 -> 64-bit products `a * m`.
    #[inline(always)]
    unsafe fn mulhilo8(a: __m256i, m: __m256i) -> (__m256i, __m256i) {
        let even = _mm256_mul_epu32(a, m);
        let odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), m);
        let lo = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
        let hi = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(even), odd);
        (hi, lo)
    }

    /// Eight blocks from `first`; writes their 32 words in element order.
    #[inline(always)]
    unsafe fn philox8(first: u64, stream: u64, key: [u32; 2], out: *mut __m256i) {
        let mut lo = [0u32; 8];
        let mut hi = [0u32; 8];
        for j in 0..8 {
            let b = first + j as u64;
            lo[j] = b as u32;
            hi[j] = (b >> 32) as u32;
        }
        let mut c0 = _mm256_loadu_si256(lo.as_ptr() as *const __m256i);
        let mut c1 = _mm256_loadu_si256(hi.as_ptr() as *const __m256i);
        let mut c2 = _mm256_set1_epi32(stream as u32 as i32);
        let mut c3 = _mm256_set1_epi32((stream >> 32) as u32 as i32);
        let m0 = _mm256_set1_epi32(PHILOX_M0 as i32);
        let m1 = _mm256_set1_epi32(PHILOX_M1 as i32);
        let (mut k0, mut k1) = key.into();
        for r in 0..10 {
            if r > 0 {
                k0 = k0.wrapping_add(PHILOX_W0);
                k1 = k1.wrapping_add(PHILOX_W1);
            }
            let (hi0, lo0) = mulhilo8(c0, m0);
            let (hi1, lo1) = mulhilo8(c2, m1);
            let kk0 = _mm256_set1_epi32(k0 as i32);
            let kk1 = _mm256_set1_epi32(k1 as i32);
            c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), kk0);
            c1 = lo1;
            c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), kk1);
            c3 = lo0;
        }
        // Transpose 4 words x 8 blocks into block-major order.
        let t0 = _mm256_unpacklo_epi32(c0, c1);
        let t1 = _mm256_unpackhi_epi32(c0, c1);
        let t2 = _mm256_unpacklo_epi32(c2, c3);
        let t3 = _mm256_unpackhi_epi32(c2, c3);
        let u0 = _mm256_unpacklo_epi64(t0, t2);
        let u1 = _mm256_unpackhi_epi64(t0, t2);
        let u2 = _mm256_unpacklo_epi64(t1, t3);
        let u3 = _mm256_unpackhi_epi64(t1, t3);
        _mm256_storeu_si256(out, _mm256_permute2x128_si256::<0x20>(u0, u1));
        _mm256_storeu_si256(out.add(1), _mm256_permute2x128_si256::<0x20>(u2, u3));
        _mm256_storeu_si256(out.add(2), _mm256_permute2x128_si256::<0x31>(u0, u1));
        _mm256_storeu_si256(out.add(3), _mm256_permute2x128_si256::<0x31>(u2, u3));
    }

    /// The 16 blocks of one batch.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn philox_batch(
        first: u64,
        stream: u64,
        key: [u32; 2],
        words: &mut [u32; BATCH],
    ) {
        let out = words.as_mut_ptr() as *mut __m256i;
        philox8(first, stream, key, out);
        philox8(first + 8, stream, key, out.add(4));
    }
}
