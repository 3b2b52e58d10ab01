//! Philox4x32-10, the counter-based generator behind every random element.
//!
//! The generator is the one of Salmon, Moraes, Dror and Shaw, "Parallel random
//! numbers: as easy as 1, 2, 3" (SC 2011), exactly as Random123's
//! `philox4x32_R(10, ...)` and cuRAND's `curand_Philox4x32_10` compute it.
//! `shaders/philox.wgsl` is its line-for-line twin.
//!
//! The determinism contract maps an element to its words like this:
//! key = `(lo32(seed), hi32(seed))`, counter =
//! `(lo32(block), hi32(block), lo32(stream), hi32(stream))` with
//! `block = index / 4`; element `index` uses lane `index % 4` of that block.

use core::convert::Infallible;

/// First round multiplier (Random123 `PHILOX_M4x32_0`).
pub const PHILOX_M0: u32 = 0xD251_1F53;
/// Second round multiplier (Random123 `PHILOX_M4x32_1`).
pub const PHILOX_M1: u32 = 0xCD9E_8D57;
/// First key increment, the golden ratio (Random123 `PHILOX_W32_0`).
pub const PHILOX_W0: u32 = 0x9E37_79B9;
/// Second key increment, sqrt(3) - 1 (Random123 `PHILOX_W32_1`).
pub const PHILOX_W1: u32 = 0xBB67_AE85;

/// The full 64-bit product of two words, as `(hi, lo)`.
///
/// The GPU twin has an exact 16-bit-halves version for adapters without
/// 64-bit integers; both give these words.
#[inline(always)]
pub fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = (a as u64) * (b as u64);
    ((p >> 32) as u32, p as u32)
}

/// One Philox round: two multiplies, a cross and the key XOR.
#[inline(always)]
fn round(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (hi0, lo0) = mulhilo(PHILOX_M0, ctr[0]);
    let (hi1, lo1) = mulhilo(PHILOX_M1, ctr[2]);
    [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0]
}

/// Philox4x32 with 10 rounds: four output words for a counter and a key.
///
/// ```
/// use weight_init::philox::philox4x32_10;
/// // Random123 kat_vectors, first line.
/// assert_eq!(
///     philox4x32_10([0; 4], [0; 2]),
///     [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
/// );
/// ```
#[inline(always)]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = ctr;
    let mut k = key;
    c = round(c, k);
    for _ in 1..10 {
        k = [k[0].wrapping_add(PHILOX_W0), k[1].wrapping_add(PHILOX_W1)];
        c = round(c, k);
    }
    c
}

/// The generator key for a seed: `(lo32(seed), hi32(seed))`.
#[inline(always)]
pub fn key_of(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// The counter for a block of a stream:
/// `(lo32(block), hi32(block), lo32(stream), hi32(stream))`.
#[inline(always)]
pub fn counter_of(block: u64, stream: u64) -> [u32; 4] {
    [
        block as u32,
        (block >> 32) as u32,
        stream as u32,
        (stream >> 32) as u32,
    ]
}

/// The four words of block `block` (elements `4 * block .. 4 * block + 4`)
/// of tensor stream `stream` under `seed`.
///
/// ```
/// use weight_init::philox::{block_words, philox4x32_10};
/// assert_eq!(block_words(0, 0, 0), philox4x32_10([0; 4], [0; 2]));
/// ```
#[inline(always)]
pub fn block_words(seed: u64, stream: u64, block: u64) -> [u32; 4] {
    philox4x32_10(counter_of(block, stream), key_of(seed))
}

/// The random word of element `index` of tensor stream `stream`.
///
/// ```
/// use weight_init::philox::{block_words, element_word};
/// assert_eq!(element_word(7, 3, 10), block_words(7, 3, 2)[2]);
/// ```
#[inline]
pub fn element_word(seed: u64, stream: u64, index: u64) -> u32 {
    block_words(seed, stream, index / 4)[(index % 4) as usize]
}

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
    pub fn at(seed: u64, stream: u64, index: u64) -> Self {
        Self {
            seed,
            stream,
            index,
            block: block_words(seed, stream, index / 4),
        }
    }

    /// The element index of the next word.
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
