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
// Batches of blocks for the CPU backend (AVX2 or AVX-512 where the CPU has it)
// ---------------------------------------------------------------------------

/// Words per batch: 16 Philox blocks, one batch of
/// [`crate::sampler::BATCH`] elements.
pub(crate) const BATCH_WORDS: usize = 64;

/// Blocks per batch.
pub(crate) const BATCH_BLOCKS: usize = BATCH_WORDS / 4;

/// The key of each of the ten rounds, `(k0, k1)`: the seed's key, then
/// bumped by the Weyl increments (wrapping). Prepared once per chunk so
/// the vector rounds load each as a broadcast rather than redo the adds
/// per batch.
pub(crate) type RoundKeys = [[u32; 2]; 10];

/// The [`RoundKeys`] of `key`, as [`philox4x32_10`] steps them.
pub(crate) fn round_keys(key: [u32; 2]) -> RoundKeys {
    let mut k = key;
    core::array::from_fn(|r| {
        if r > 0 {
            k = [k[0].wrapping_add(PHILOX_W0), k[1].wrapping_add(PHILOX_W1)];
        }
        k
    })
}

/// The words of the 16 blocks from `first` in *structure-of-arrays* order:
/// word `i` of block `first + j` at `words[16 * i + j]`. That is the order
/// the vector rounds produce (one block per lane), and the one the
/// transforms want: every Box–Muller pair `(word 0, word 1)` of 16 blocks
/// lies in two whole vectors. Scalar rounds, for every CPU; the
/// `avx2` and `avx512` modules give the same words.
#[inline(always)]
pub(crate) fn batch_words_soa(
    first: u64,
    stream: u64,
    key: [u32; 2],
    words: &mut [u32; BATCH_WORDS],
) {
    for j in 0..BATCH_BLOCKS {
        let w = philox4x32_10(counter_of(first + j as u64, stream), key);
        for (i, &x) in w.iter().enumerate() {
            words[BATCH_BLOCKS * i + j] = x;
        }
    }
}

/// Philox4x32-10 on eight blocks at once in AVX2 registers: the same
/// rounds as [`philox4x32_10`], one block per 32-bit lane.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use core::arch::x86_64::*;

    use super::{RoundKeys, BATCH_BLOCKS, BATCH_WORDS, PHILOX_M0, PHILOX_M1};

    /// `(hi, lo)` halves of the eight 32x32 -> 64-bit products `a * m`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn mulhilo8(a: __m256i, m: __m256i) -> (__m256i, __m256i) {
        let even = _mm256_mul_epu32(a, m);
        let odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), m);
        let lo = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
        let hi = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(even), odd);
        (hi, lo)
    }

    /// The four words of the eight blocks from `first`, one vector per
    /// word index.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn philox8(first: u64, stream: u64, keys: &RoundKeys) -> [__m256i; 4] {
        let b = |j: i32| first.wrapping_add(j as u64);
        let lo = |j| b(j) as u32 as i32;
        let hi = |j| (b(j) >> 32) as u32 as i32;
        let mut c0 = _mm256_setr_epi32(lo(0), lo(1), lo(2), lo(3), lo(4), lo(5), lo(6), lo(7));
        let mut c1 = _mm256_setr_epi32(hi(0), hi(1), hi(2), hi(3), hi(4), hi(5), hi(6), hi(7));
        let mut c2 = _mm256_set1_epi32(stream as u32 as i32);
        let mut c3 = _mm256_set1_epi32((stream >> 32) as u32 as i32);
        let m0 = _mm256_set1_epi32(PHILOX_M0 as i32);
        let m1 = _mm256_set1_epi32(PHILOX_M1 as i32);
        for &[k0, k1] in keys {
            let (hi0, lo0) = mulhilo8(c0, m0);
            let (hi1, lo1) = mulhilo8(c2, m1);
            let kk0 = _mm256_set1_epi32(k0 as i32);
            let kk1 = _mm256_set1_epi32(k1 as i32);
            c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), kk0);
            c1 = lo1;
            c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), kk1);
            c3 = lo0;
        }
        [c0, c1, c2, c3]
    }

    /// [`super::batch_words_soa`] on two runs of eight blocks.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn batch_words_soa(
        first: u64,
        stream: u64,
        keys: &RoundKeys,
        words: &mut [u32; BATCH_WORDS],
    ) {
        for half in 0..2 {
            let c = philox8(first + 8 * half as u64, stream, keys);
            for (i, v) in c.into_iter().enumerate() {
                let at = BATCH_BLOCKS * i + 8 * half;
                // SAFETY: `at + 8 <= 64`: eight words inside `words`;
                // unaligned stores need no alignment.
                unsafe { _mm256_storeu_si256(words.as_mut_ptr().add(at).cast(), v) };
            }
        }
    }
}

/// Philox4x32-10 on sixteen blocks at once in AVX-512 registers: the same
/// rounds as [`philox4x32_10`], one block per 32-bit lane.
///
/// Beside twice the lanes of AVX2, AVX-512 saves work per round: a masked
/// shuffle merges the high (or low) halves of the even and odd products in
/// one instruction where AVX2 needs a shift and a blend, and one ternary
/// logic instruction does each three-way XOR.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use core::arch::x86_64::*;

    use super::{RoundKeys, BATCH_BLOCKS, BATCH_WORDS, PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1};

    /// Swaps the two 32-bit halves of every 64-bit lane (`_MM_PERM_CDAB`).
    const SWAP_PAIRS: _MM_PERM_ENUM = 0b10_11_00_01;

    /// `(hi, lo)` halves of the sixteen 32x32 -> 64-bit products `a * m`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn mulhilo16(a: __m512i, m: __m512i) -> (__m512i, __m512i) {
        // Products of the even lanes and of the odd lanes, 64 bits each.
        let even = _mm512_mul_epu32(a, m);
        let odd = _mm512_mul_epu32(_mm512_srli_epi64::<32>(a), m);
        // Odd lanes of `lo` take the low half of their odd product (which
        // sits one lane down); even lanes of `hi` the high half of their
        // even product (one lane up).
        let lo = _mm512_mask_shuffle_epi32::<SWAP_PAIRS>(even, 0xaaaa, odd);
        let hi = _mm512_mask_shuffle_epi32::<SWAP_PAIRS>(odd, 0x5555, even);
        (hi, lo)
    }

    /// The four words of the sixteen blocks from `first`, one vector per
    /// word index.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn philox16(first: u64, stream: u64, keys: &RoundKeys) -> [__m512i; 4] {
        // The blocks' low words, and their high words carried past 2^32.
        let base = _mm512_set1_epi32(first as u32 as i32);
        let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let mut c0 = _mm512_add_epi32(base, iota);
        let carried = _mm512_cmplt_epu32_mask(c0, base);
        let high = _mm512_set1_epi32((first >> 32) as u32 as i32);
        let mut c1 = _mm512_mask_add_epi32(high, carried, high, _mm512_set1_epi32(1));
        let mut c2 = _mm512_set1_epi32(stream as u32 as i32);
        let mut c3 = _mm512_set1_epi32((stream >> 32) as u32 as i32);
        let m0 = _mm512_set1_epi32(PHILOX_M0 as i32);
        let m1 = _mm512_set1_epi32(PHILOX_M1 as i32);
        // The keys stepped here rather than loaded from `keys`: measured
        // faster on AVX-512 (the scalar adds overlap the vector rounds),
        // unlike AVX2, whose rounds take them from `keys`.
        let [mut k0, mut k1] = keys[0];
        for r in 0..10 {
            if r > 0 {
                k0 = k0.wrapping_add(PHILOX_W0);
                k1 = k1.wrapping_add(PHILOX_W1);
            }
            let (hi0, lo0) = mulhilo16(c0, m0);
            let (hi1, lo1) = mulhilo16(c2, m1);
            // 0x96: a ^ b ^ c.
            c0 = _mm512_ternarylogic_epi32::<0x96>(hi1, c1, _mm512_set1_epi32(k0 as i32));
            c1 = lo1;
            c2 = _mm512_ternarylogic_epi32::<0x96>(hi0, c3, _mm512_set1_epi32(k1 as i32));
            c3 = lo0;
        }
        [c0, c1, c2, c3]
    }

    /// [`super::batch_words_soa`] in one run of sixteen blocks.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn batch_words_soa(
        first: u64,
        stream: u64,
        keys: &RoundKeys,
        words: &mut [u32; BATCH_WORDS],
    ) {
        let c = philox16(first, stream, keys);
        for (i, v) in c.into_iter().enumerate() {
            // SAFETY: `16 * i + 16 <= 64`: sixteen words inside `words`;
            // unaligned stores need no alignment.
            unsafe { _mm512_storeu_si512(words.as_mut_ptr().add(BATCH_BLOCKS * i).cast(), v) };
        }
    }
}
