//! Range invariance: any sub-range, any split into threads, any output form
//! gives exactly the elements of the whole-tensor fill.

use weight_init::dtype::{f32_to_bf16_bits, f32_to_f16_bits};
use weight_init::philox::block_words;
use weight_init::{cpu, DType, Distribution, Normal, Sampler, TensorKey, TruncatedNormal, Uniform};

fn dists() -> Vec<Distribution> {
    vec![
        Uniform::new(-0.3, 0.7).unwrap().into(),
        Normal::new(0.1, 2.0).unwrap().into(),
        TruncatedNormal::new(0.0, 0.02, -0.04, 0.04).unwrap().into(),
        TruncatedNormal::with_std_bounds(0.0, 1.0, 3.0, 9.0)
            .unwrap()
            .into(),
        Distribution::constant(-1.5).unwrap(),
    ]
}

/// A fixed xorshift for choosing cut points.
struct Cuts(u64);
impl Cuts {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The whole tensor (large enough to use several threads) equals its
/// concatenated random pieces, which start and end anywhere: mid-block, and
/// mid-word for 16-bit types.
#[test]
fn pieces_concatenate_to_the_whole() {
    let n: u64 = 300_001;
    let key = TensorKey::new(77, 5, n);
    let mut cuts = Cuts(0x9e3779b97f4a7c15);
    for dist in dists() {
        let mut whole = vec![0f32; n as usize];
        cpu::fill_f32(&dist, &key, 0..n, &mut whole).unwrap();
        let mut whole16 = [vec![0u16; n as usize], vec![0u16; n as usize]];
        for (k, dt) in [DType::F16, DType::BF16].into_iter().enumerate() {
            cpu::fill_u16(&dist, dt, &key, 0..n, &mut whole16[k]).unwrap();
        }
        let mut points: Vec<u64> = (0..40).map(|_| cuts.next(n)).collect();
        points.extend([0, 1, 2, 3, 5, 64, 65, 131_072 + 3, n - 1, n]);
        points.sort();
        points.dedup();
        for w in points.windows(2) {
            let (s, e) = (w[0], w[1]);
            let mut part = vec![0f32; (e - s) as usize];
            cpu::fill_f32(&dist, &key, s..e, &mut part).unwrap();
            assert_eq!(part, whole[s as usize..e as usize], "{dist} f32 {s}..{e}");
            for (k, dt) in [DType::F16, DType::BF16].into_iter().enumerate() {
                let mut p16 = vec![0u16; (e - s) as usize];
                cpu::fill_u16(&dist, dt, &key, s..e, &mut p16).unwrap();
                assert_eq!(
                    p16,
                    whole16[k][s as usize..e as usize],
                    "{dist} {dt} {s}..{e}"
                );
                // Into bytes: little-endian words of the same values.
                let mut bytes = vec![0u8; 2 * (e - s) as usize];
                cpu::fill_bytes(&dist, dt, &key, s..e, &mut bytes).unwrap();
                let from_bytes: Vec<u16> = bytes
                    .chunks(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                assert_eq!(from_bytes, p16);
            }
        }
    }
}

/// The threaded, vectorized fill equals the plain per-block definition:
/// `Sampler::sample_block` on `block_words`, rounded per element.
#[test]
fn fill_equals_per_block_definition() {
    let n: u64 = 1 << 18;
    let (seed, stream) = (0xdead_beef_0000_0001, u64::MAX - 3);
    let key = TensorKey::new(seed, stream, n);
    for dist in dists() {
        for dtype in [DType::F32, DType::F16, DType::BF16] {
            let sampler = Sampler::new(&dist, dtype).unwrap();
            let mut bytes = vec![0u8; n as usize * dtype.size_bytes()];
            cpu::fill_bytes(&dist, dtype, &key, 0..n, &mut bytes).unwrap();
            for b in 0..n / 4 {
                let v = sampler.sample_block(block_words(seed, stream, b));
                for lane in 0..4 {
                    let i = (4 * b + lane) as usize;
                    let x = v[lane as usize];
                    let ok = match dtype {
                        DType::F32 => bytes[4 * i..4 * i + 4] == x.to_le_bytes(),
                        DType::F16 => bytes[2 * i..2 * i + 2] == f32_to_f16_bits(x).to_le_bytes(),
                        DType::BF16 => bytes[2 * i..2 * i + 2] == f32_to_bf16_bits(x).to_le_bytes(),
                        other => panic!("no reference rounding for {other}"),
                    };
                    assert!(ok, "{dist} {dtype} element {i}");
                }
            }
        }
    }
}

/// Element indices are 64-bit: a range far past 2^32 elements (no buffer of
/// that size needed) matches the per-block definition, and the block number
/// carries into the counter's high word.
#[test]
fn indices_past_2_pow_32() {
    let numel = 1u64 << 40;
    let key = TensorKey::new(1, 2, numel);
    let dist: Distribution = Normal::new(0.0, 1.0).unwrap().into();
    let sampler = Sampler::new(&dist, DType::F32).unwrap();
    let start = (1u64 << 34) + 3; // block 2^32: counter word 1 = 1
    let mut out = vec![0f32; 1000];
    cpu::fill_f32(&dist, &key, start..start + 1000, &mut out).unwrap();
    for (k, &x) in out.iter().enumerate() {
        let i = start + k as u64;
        assert_eq!(
            x,
            sampler.sample_block(block_words(1, 2, i / 4))[(i % 4) as usize]
        );
    }
    // And it differs from the same offset below 2^32 (no 32-bit wrap).
    let mut low = vec![0f32; 1000];
    cpu::fill_f32(&dist, &key, 3..1003, &mut low).unwrap();
    assert_ne!(out, low);
    // The very last elements of a 2^64 - 1 element tensor.
    let key = TensorKey::new(1, 2, u64::MAX);
    let mut tail = vec![0f32; 5];
    cpu::fill_f32(&dist, &key, u64::MAX - 5..u64::MAX, &mut tail).unwrap();
    assert!(tail.iter().all(|x| x.is_finite()));
}

/// Streams and seeds separate tensors.
#[test]
fn streams_and_seeds_differ() {
    let dist: Distribution = Uniform::new(0.0, 1.0).unwrap().into();
    let fill = |seed, stream| {
        let mut v = vec![0f32; 64];
        cpu::fill_f32(&dist, &TensorKey::new(seed, stream, 64), 0..64, &mut v).unwrap();
        v
    };
    assert_ne!(fill(1, 1), fill(1, 2));
    assert_ne!(fill(1, 1), fill(2, 1));
    assert_ne!(fill(1, 1 << 32), fill(1 << 32, 1));
    assert_eq!(fill(9, 9), fill(9, 9));
}
