//! Philox4x32-10, the counter-based generator behind every random element,
//! and the mapping from a tensor's elements to its words.
//!
//! The generator is the one of Salmon, Moraes, Dror and Shaw, "Parallel random
//! numbers: as easy as 1, 2, 3" (SC 2011), exactly as Random123's
//! `philox4x32_R(10, ...)` and cuRAND's `curand_Philox4x32_10` compute it.
//! Its rounds are defined in `src/kernel.rs` (the twin of
//! `shaders/philox.wgsl`) and re-exported here; this module adds what the shader does not need: the
//! element word, [`TensorKey`], name streams, the stream-space constants, a
//! `rand_core` generator, and the CPU backend's AVX2 rounds.
//!
//! The determinism contract maps an element to its words like this:
//! key = `(lo32(seed), hi32(seed))`, counter =
//! `(lo32(block), hi32(block), lo32(stream), hi32(stream))` with
//! `block = index / 4`; element `index` uses lane `index % 4` of that block.

use core::convert::Infallible;

pub use crate::kernel::{
    block_words, counter_of, key_of, philox4x32_10, PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1,
};

/// The random word of element `index` of tensor stream `stream`.
///
/// ```
/// use weight_init::philox::{block_words, element_word};
/// assert_eq!(element_word(7, 3, 10), block_words(7, 3, 2)[2]);
/// ```
#[inline]
#[must_use]
pub fn element_word(seed: u64, stream: u64, index: u64) -> u32 {
    block_words(seed, stream, index / 4)[(index % 4) as usize]
}

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
    ///
    /// ```
    /// use weight_init::TensorKey;
    /// let key = TensorKey::new(7, 3, 100);
    /// assert_eq!((key.seed, key.stream, key.numel), (7, 3, 100));
    /// ```
    #[must_use]
    pub fn new(seed: u64, stream: u64, numel: u64) -> Self {
        Self {
            seed,
            stream,
            numel,
        }
    }
}

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

/// The stable 64-bit stream id of a parameter named `name`: FNV-1a 64 of
/// the name's UTF-8 bytes, then the splitmix64 finalizer.
///
/// The algorithm, exactly (all arithmetic wrapping mod 2^64):
/// 1. FNV-1a 64 (Fowler–Noll–Vo, <http://www.isthe.com/chongo/tech/comp/fnv/>):
///    `h = 0xcbf29ce484222325`; for each byte `b`: `h ^= b; h *= 0x100000001b3`.
/// 2. splitmix64's output mix (Steele, Lea, Flood 2014; Vigna's
///    `splitmix64.c`): `z = h; z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
///    z = (z ^ (z >> 27)) * 0x94d049bb133111eb; z ^ (z >> 31)`.
///
/// FNV-1a alone spreads short, similar names (`h.0.mlp`, `h.1.mlp`) poorly
/// in the high bits; the finalizer is a bijection that avalanches every
/// input bit into every output bit, so distinct FNV values stay distinct.
///
/// Why this and not `std::hash`: `DefaultHasher`/`RandomState` are
/// randomly keyed per process and their algorithm may change between Rust
/// releases; a stream id must be the same on every machine, in every
/// process and in every version of this crate (and easy to reproduce in
/// Python or WGSL), so the function is spelled out here and fixed forever.
///
/// ```
/// use weight_init::philox::name_stream;
/// assert_eq!(name_stream("fc.weight"), name_stream("fc.weight"));
/// assert_ne!(name_stream("h.0.mlp.c_fc.weight"), name_stream("h.1.mlp.c_fc.weight"));
/// ```
#[must_use]
pub fn name_stream(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name.as_bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The first Philox block of the sparse zero-position keys:
/// [`crate::structured::sparse_key`] uses blocks
/// `SPARSE_KEY_BLOCK_BASE + j / 4` of the tensor's stream, which no element
/// value uses (values use blocks below `2^62`).
///
/// ```
/// use weight_init::philox::SPARSE_KEY_BLOCK_BASE;
/// // Far above the blocks any tensor's values use (below 2^62).
/// assert!(SPARSE_KEY_BLOCK_BASE >= 1 << 62);
/// ```
pub const SPARSE_KEY_BLOCK_BASE: u64 = 1 << 63;

/// Philox4x32-10 as a sequential `rand_core` generator, so that `rand` and
/// `rand_distr` distributions can be driven by the crate's generator.
///
/// It walks the blocks of one `(seed, stream)` in order and hands out their
/// words lane by lane, so its `next_u32` sequence is exactly
/// `element_word(seed, stream, 0), element_word(seed, stream, 1), ...`.
/// `next_u64` takes two consecutive words, low word first.
///
/// ```
/// use rand_core::{Rng, SeedableRng};
/// use weight_init::philox::{element_word, Philox4x32};
/// let mut rng = Philox4x32::new(42, 7);
/// assert_eq!(rng.next_u32(), element_word(42, 7, 0));
/// assert_eq!(rng.next_u32(), element_word(42, 7, 1));
/// // Seeding from bytes: seed (8 bytes LE) then stream (8 bytes LE).
/// let mut seed = [0u8; 16];
/// seed[..8].copy_from_slice(&42u64.to_le_bytes());
/// seed[8..].copy_from_slice(&7u64.to_le_bytes());
/// assert_eq!(Philox4x32::from_seed(seed).next_u32(), element_word(42, 7, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Philox4x32 {
    seed: u64,
    stream: u64,
    /// Next element index to hand out.
    index: u64,
    block: [u32; 4],
}

impl Philox4x32 {
    /// A generator positioned at element 0 of `stream` under `seed`.
    ///
    /// ```
    /// use rand_core::Rng;
    /// use weight_init::philox::{element_word, Philox4x32};
    /// let mut rng = Philox4x32::new(9, 1);
    /// assert_eq!(rng.position(), 0);
    /// assert_eq!(rng.next_u32(), element_word(9, 1, 0));
    /// ```
    #[must_use]
    pub fn new(seed: u64, stream: u64) -> Self {
        Self::at(seed, stream, 0)
    }

    /// A generator positioned at element `index` of `stream` under `seed`.
    ///
    /// ```
    /// use rand_core::Rng;
    /// use weight_init::philox::{element_word, Philox4x32};
    /// assert_eq!(Philox4x32::at(1, 2, 5).next_u32(), element_word(1, 2, 5));
    /// ```
    #[must_use]
    pub fn at(seed: u64, stream: u64, index: u64) -> Self {
        Self {
            seed,
            stream,
            index,
            block: block_words(seed, stream, index / 4),
        }
    }

    /// The element index of the next word.
    ///
    /// ```
    /// use rand_core::Rng;
    /// use weight_init::philox::Philox4x32;
    /// let mut rng = Philox4x32::at(1, 2, 10);
    /// rng.next_u64(); // two words
    /// assert_eq!(rng.position(), 12);
    /// ```
    #[must_use]
    pub fn position(&self) -> u64 {
        self.index
    }
}

impl rand_core::TryRng for Philox4x32 {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let lane = (self.index % 4) as usize;
        if lane == 0 && self.index != 0 {
            self.block = block_words(self.seed, self.stream, self.index / 4);
        }
        let w = self.block[lane];
        // The index space is 2^64 elements; wrapping back to block 0 after
        // 2^64 words is the generator's period, as in Random123.
        self.index = self.index.wrapping_add(1);
        if self.index == 0 {
            self.block = block_words(self.seed, self.stream, 0);
        }
        Ok(w)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let lo = self.try_next_u32()? as u64;
        let hi = self.try_next_u32()? as u64;
        Ok(lo | (hi << 32))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(4) {
            let w = self.try_next_u32()?.to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
}

impl rand_core::SeedableRng for Philox4x32 {
    /// Seed bytes: the seed (8 bytes, little-endian) then the stream (8 bytes).
    type Seed = [u8; 16];

    fn from_seed(seed: [u8; 16]) -> Self {
        let mut s = [0u8; 8];
        let mut t = [0u8; 8];
        s.copy_from_slice(&seed[..8]);
        t.copy_from_slice(&seed[8..]);
        Self::new(u64::from_le_bytes(s), u64::from_le_bytes(t))
    }

    fn seed_from_u64(state: u64) -> Self {
        Self::new(state, 0)
    }
}

// ---------------------------------------------------------------------------
// Batches of blocks for the CPU backend (AVX2 where the CPU has it)
// ---------------------------------------------------------------------------

/// Words per batch of [`batch_words`]: 16 Philox blocks, one batch of
/// [`crate::sampler::BATCH`] elements.
pub(crate) const BATCH_WORDS: usize = 64;

/// The words of the 16 blocks from `first`, in element order.
#[inline(always)]
pub(crate) fn batch_words(first: u64, stream: u64, key: [u32; 2], words: &mut [u32; BATCH_WORDS]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present, checked just above.
            unsafe { avx2::philox_batch(first, stream, key, words) };
            return;
        }
    }
    for j in 0..BATCH_WORDS / 4 {
        let w = philox4x32_10(counter_of(first + j as u64, stream), key);
        words[4 * j..4 * j + 4].copy_from_slice(&w);
    }
}

/// Philox4x32-10 on eight blocks at once in AVX2 registers: the same
/// rounds as [`philox4x32_10`], one block per 32-bit lane.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::*;

    use super::{BATCH_WORDS, PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1};

    /// `(hi, lo)` halves of the eight 32x32 -> 64-bit products `a * m`.
    #[inline(always)]
    unsafe fn mulhilo8(a: __m256i, m: __m256i) -> (__m256i, __m256i) {
        unsafe {
            let even = _mm256_mul_epu32(a, m);
            let odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), m);
            let lo = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
            let hi = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(even), odd);
            (hi, lo)
        }
    }

    /// Eight blocks from `first`; writes their 32 words in element order.
    #[inline(always)]
    unsafe fn philox8(first: u64, stream: u64, key: [u32; 2], out: *mut __m256i) {
        unsafe {
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
    }

    /// The 16 blocks of one batch.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn philox_batch(
        first: u64,
        stream: u64,
        key: [u32; 2],
        words: &mut [u32; BATCH_WORDS],
    ) {
        unsafe {
            let out = words.as_mut_ptr() as *mut __m256i;
            philox8(first, stream, key, out);
            philox8(first + 8, stream, key, out.add(4));
        }
    }
}
