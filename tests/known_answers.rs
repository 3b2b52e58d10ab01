//! Tier 1: known answers.
//!
//! The Philox vectors are Random123's `kat_vectors` for `philox4x32_10`
//! (<https://github.com/DEShawResearch/random123/blob/main/tests/kat_vectors>),
//! the same ones cuRAND's Philox4_32_10 reproduces. The golden values pin
//! the first elements of every distribution and dtype for one (seed,
//! stream): the contract says they never change. Each f32 golden value is
//! also checked against an independent f64 computation from the same words,
//! so the table cannot hold a wrong value that merely matches itself.

use weight_init::dtype::{bf16_bits_to_f32, f16_bits_to_f32};
use weight_init::philox::{block_words, element_word, philox4x32_10, Philox4x32};
use weight_init::stats::{ln_sf, neg_ln_sf_inverse, normal_cdf};
use weight_init::{cpu, DType, Distribution, Normal, TensorKey, TruncatedNormal, Uniform};

#[test]
fn random123_kat_vectors() {
    let cases: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        (
            [0, 0, 0, 0],
            [0, 0],
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
        ),
        (
            [0xffffffff; 4],
            [0xffffffff; 2],
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
        ),
        (
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
    ];
    for (ctr, key, want) in cases {
        assert_eq!(
            philox4x32_10(ctr, key),
            want,
            "ctr {ctr:08x?} key {key:08x?}"
        );
    }
}

/// The key/counter mapping of the contract, on the third vector: seed =
/// key words (lo, hi), block = counter words 0-1, stream = words 2-3.
#[test]
fn seed_stream_index_mapping() {
    let seed = 0x299f31d0_a4093822u64;
    let block = 0x85a308d3_243f6a88u64;
    let stream = 0x03707344_13198a2eu64;
    let want = [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1];
    assert_eq!(block_words(seed, stream, block), want);
    // Element indices are u64, so blocks stop at 2^62: check lanes on a
    // reachable block with the same low words.
    let block = block & ((1 << 62) - 1);
    let words = block_words(seed, stream, block);
    for lane in 0..4 {
        assert_eq!(
            element_word(seed, stream, block * 4 + lane),
            words[lane as usize]
        );
    }
    // The rand_core generator walks the same words, across a block edge.
    use rand_core::Rng;
    let mut rng = Philox4x32::at(seed, stream, block * 4 + 2);
    let next = block_words(seed, stream, block + 1);
    for w in [words[2], words[3], next[0], next[1]] {
        assert_eq!(rng.next_u32(), w);
    }
}

/// rand_distr samplers driven by the crate's generator work and see its
/// words in order.
#[test]
fn drives_rand_distr() {
    use rand_distr::Distribution as _;
    let mut rng = Philox4x32::new(3, 4);
    let n = rand_distr::StandardUniform.sample(&mut rng);
    let x: u32 = n;
    assert_eq!(x, element_word(3, 4, 0));
    let z: f64 = rand_distr::StandardNormal.sample(&mut rng);
    assert!(z.is_finite());
}

const SEED: u64 = 0x5EED_0000_0000_0001;
const STREAM: u64 = 7;

fn dists() -> Vec<(&'static str, Distribution)> {
    vec![
        ("uniform01", Uniform::new(0.0, 1.0).unwrap().into()),
        ("uniform_m3_5", Uniform::new(-3.0, 5.0).unwrap().into()),
        ("normal01", Normal::new(0.0, 1.0).unwrap().into()),
        ("normal2_05", Normal::new(2.0, 0.5).unwrap().into()),
        (
            "trunc_std_m2_2",
            TruncatedNormal::with_std_bounds(0.0, 1.0, -2.0, 2.0)
                .unwrap()
                .into(),
        ),
        (
            "trunc_std_5_6",
            TruncatedNormal::with_std_bounds(0.0, 1.0, 5.0, 6.0)
                .unwrap()
                .into(),
        ),
        (
            "trunc_abs",
            TruncatedNormal::new(0.5, 0.02, 0.46, 0.54).unwrap().into(),
        ),
        ("constant", Distribution::constant(0.1).unwrap()),
    ]
}

/// (name, f32 bits, f16 bits, bf16 bits) of elements 0..8.
type GoldenRow = (&'static str, [u32; 8], [u16; 8], [u16; 8]);

#[rustfmt::skip]
const GOLDEN: [GoldenRow; 8] = [
    ("uniform01", [0x3eb6c9b6, 0x3e686360, 0x3f6f4642, 0x3f35f4df, 0x3e9d42e8, 0x3f22ca87, 0x3ed85826, 0x3f4f57fb], [0x35b6, 0x3343, 0x3b7a, 0x39b0, 0x34ea, 0x3916, 0x36c3, 0x3a7b], [0x3eb7, 0x3e68, 0x3f6f, 0x3f36, 0x3e9d, 0x3f23, 0x3ed8, 0x3f4f]),
    ("uniform_m3_5", [0xbe1364a0, 0xbf979ca0, 0x408f4642, 0x402be9be, 0xbf0af460, 0x4005950e, 0x3ec2c130, 0x405eaff6], [0xb09b, 0xbcbd, 0x447a, 0x415f, 0xb858, 0x402d, 0x3616, 0x42f5], [0xbe13, 0xbf98, 0x408f, 0x402c, 0xbf0b, 0x4006, 0x3ec3, 0x405f]),
    ("normal01", [0x3e54302a, 0x3fb5ca26, 0xbdb7b4ff, 0xbeb6860d, 0xbf8138f7, 0xbf9442df, 0x3ef725b6, 0xbf9c3d13], [0x32a2, 0x3dae, 0xadbe, 0xb5b4, 0xbc0a, 0xbca2, 0x37b9, 0xbce2], [0x3e54, 0x3fb6, 0xbdb8, 0xbeb7, 0xbf81, 0xbf94, 0x3ef7, 0xbf9c]),
    ("normal2_05", [0x4006a181, 0x402d728a, 0x3ffa4258, 0x3fe92f3e, 0x3fbf6384, 0x3fb5de90, 0x400f725b, 0x3fb1e176], [0x4035, 0x416c, 0x3fd2, 0x3f49, 0x3dfb, 0x3daf, 0x407c, 0x3d8f], [0x4007, 0x402d, 0x3ffa, 0x3fe9, 0x3fbf, 0x3fb6, 0x400f, 0x3fb2]),
    ("trunc_std_m2_2", [0xbeb2badf, 0xbf355606, 0x3faf8ce2, 0x3f071d4b, 0xbef54f87, 0x3ea9873a, 0xbe3edb91, 0x3f53ab51], [0xb596, 0xb9ab, 0x3d7c, 0x3839, 0xb7aa, 0x354c, 0xb1f7, 0x3a9d], [0xbeb3, 0xbf35, 0x3fb0, 0x3f07, 0xbef5, 0x3eaa, 0xbe3f, 0x3f54]),
    ("trunc_std_5_6", [0x40a2b11e, 0x40a1931e, 0x40afce92, 0x40a770c1, 0x40a23d6d, 0x40a616aa, 0x40a3570b, 0x40a9ded1], [0x4516, 0x450d, 0x457e, 0x453c, 0x4512, 0x4531, 0x451b, 0x454f], [0x40a3, 0x40a2, 0x40b0, 0x40a7, 0x40a2, 0x40a6, 0x40a3, 0x40aa]),
    ("trunc_abs", [0x3efc6ce7, 0x3ef8bf1e, 0x3f0705a3, 0x3f02b3c9, 0x3efb1802, 0x3f01b1fe, 0x3efe1768, 0x3f043bbf], [0x37e3, 0x37c6, 0x3838, 0x3816, 0x37d9, 0x380e, 0x37f1, 0x3822], [0x3efc, 0x3ef9, 0x3f07, 0x3f03, 0x3efb, 0x3f02, 0x3efe, 0x3f04]),
    ("constant", [0x3dcccccd, 0x3dcccccd, 0x3dcccccd, 0x3dcccccd, 0x3dcccccd, 0x3dcccccd, 0x3dcccccd, 0x3dcccccd], [0x2e66, 0x2e66, 0x2e66, 0x2e66, 0x2e66, 0x2e66, 0x2e66, 0x2e66], [0x3dcd, 0x3dcd, 0x3dcd, 0x3dcd, 0x3dcd, 0x3dcd, 0x3dcd, 0x3dcd]),
];

#[test]
fn golden_first_values() {
    let key = TensorKey::new(SEED, STREAM, 8);
    for ((name, dist), (gname, f32s, f16s, bf16s)) in dists().into_iter().zip(GOLDEN) {
        assert_eq!(name, gname);
        let mut f = [0f32; 8];
        cpu::fill_f32(&dist, &key, 0..8, &mut f).unwrap();
        let mut h = [0u16; 8];
        cpu::fill_u16(&dist, DType::F16, &key, 0..8, &mut h).unwrap();
        let mut b = [0u16; 8];
        cpu::fill_u16(&dist, DType::BF16, &key, 0..8, &mut b).unwrap();
        assert_eq!(f.map(f32::to_bits), f32s, "{name} f32");
        assert_eq!(h, f16s, "{name} f16");
        assert_eq!(b, bf16s, "{name} bf16");
        // The 16-bit goldens are the f32 goldens rounded to nearest.
        for i in 0..8 {
            let x = f32::from_bits(f32s[i]) as f64;
            let hv = f16_bits_to_f32(f16s[i]) as f64;
            let bv = bf16_bits_to_f32(bf16s[i]) as f64;
            assert!(
                (hv - x).abs() <= x.abs() * 2f64.powi(-11) + 1e-7,
                "{name} f16 {i}"
            );
            assert!((bv - x).abs() <= x.abs() * 2f64.powi(-8), "{name} bf16 {i}");
        }
    }
}

/// The f32 goldens recomputed in f64 from the raw words.
#[test]
fn golden_values_match_f64_formulas() {
    let words: Vec<u32> = (0..8).map(|i| element_word(SEED, STREAM, i)).collect();
    let golden = |name: &str| -> Vec<f64> {
        let row = GOLDEN.iter().find(|g| g.0 == name).unwrap();
        row.1.iter().map(|&b| f32::from_bits(b) as f64).collect()
    };
    let top24 = |w: u32| (w >> 8) as f64 / 16777216.0;
    // Uniform: exact.
    for (i, g) in golden("uniform01").iter().enumerate() {
        assert_eq!(*g, top24(words[i]), "uniform01 {i}");
    }
    for (i, g) in golden("uniform_m3_5").iter().enumerate() {
        let want = -3.0 + 8.0 * top24(words[i]);
        assert!((g - want).abs() <= 1e-6, "uniform_m3_5 {i}: {g} vs {want}");
    }
    // The open unit value of a word: the midpoint of the f32 cell holding
    // (w + 1/2) / 2^32 (`kernel::open_unit`), written from its definition.
    let cell_mid = |w: u32| {
        let s = (32 - w.leading_zeros()).saturating_sub(23) as i32;
        (2.0 * (w >> s) as f64 + 1.0) * 2f64.powi(s - 33)
    };
    // Normal: Box–Muller in f64 on the lane pairs.
    for (name, mean, std) in [("normal01", 0.0, 1.0), ("normal2_05", 2.0, 0.5)] {
        for (i, g) in golden(name).iter().enumerate() {
            let pair = i & !1;
            let u = cell_mid(words[pair]);
            let t = words[pair + 1] as f64 / 4294967296.0 * 2.0 * std::f64::consts::PI;
            let r = (-2.0 * u.ln()).sqrt();
            let z = if i % 2 == 0 { r * t.cos() } else { r * t.sin() };
            let want = mean + std * z;
            assert!(
                (g - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name} {i}: {g} vs {want}"
            );
        }
    }
    // Truncated: inverse CDF in f64 at u = v (top bit 0) or 1 - v (top bit
    // 1), v the cell midpoint of the other 31 bits counted from that end.
    let open = |w: u32| {
        if w >> 31 == 0 {
            cell_mid(w)
        } else {
            1.0 - cell_mid(!w)
        }
    };
    for (name, mean, std, a, b) in [
        ("trunc_std_m2_2", 0.0, 1.0, -2.0, 2.0),
        ("trunc_std_5_6", 0.0, 1.0, 5.0, 6.0),
        (
            "trunc_abs",
            0.5,
            0.02,
            (0.46f32 as f64 - 0.5f32 as f64) / 0.02f32 as f64,
            (0.54f32 as f64 - 0.5f32 as f64) / 0.02f32 as f64,
        ),
    ] {
        let std = if name == "trunc_abs" {
            0.02f32 as f64
        } else {
            std
        };
        let mean = if name == "trunc_abs" {
            0.5f32 as f64
        } else {
            mean
        };
        for (i, g) in golden(name).iter().enumerate() {
            let u = open(words[i]);
            let z = if a >= 0.0 {
                // Q(z) = Q(a) - u (Q(a) - Q(b)), in log space.
                let (la, lb) = (ln_sf(a), ln_sf(b));
                let lq = la + (-u * -(lb - la).exp_m1()).ln_1p();
                neg_ln_sf_inverse(-lq)
            } else {
                let p = normal_cdf(a) + u * (normal_cdf(b) - normal_cdf(a));
                if p < 0.5 {
                    -neg_ln_sf_inverse(-p.ln())
                } else {
                    neg_ln_sf_inverse(-(1.0 - p).ln())
                }
            };
            let want = mean + std * z;
            assert!(
                (g - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name} {i}: {g} vs {want}"
            );
        }
    }
    assert!(golden("constant").iter().all(|&g| g == 0.1f32 as f64));
}

/// The reproducer of a bug the old 24-bit truncated-normal unit value had:
/// `trunc_normal(std=0.02)` (absolute bounds ±2, the timm/BERT idiom),
/// seed 2024, stream 1, 8576 elements. Element 8574's word rounded to u = 1
/// and gave 0.259 (12.95 std). Now no element may exceed the largest
/// quantile a word can reach, Φ⁻¹(1 - 2^-33) = 6.338 std (to within its
/// 1e-6 accuracy).
#[test]
fn trunc_normal_has_no_outliers_past_the_word_resolution() {
    let dist: Distribution = TruncatedNormal::new(0.0, 0.02, -2.0, 2.0).unwrap().into();
    let key = TensorKey::new(2024, 1, 8576);
    let mut v = vec![0f32; 8576];
    cpu::fill_f32(&dist, &key, 0..8576, &mut v).unwrap();
    let reach = neg_ln_sf_inverse(33.0 * std::f64::consts::LN_2) * 0.02 * (1.0 + 1e-6);
    let worst = v.iter().map(|x| x.abs() as f64).fold(0.0, f64::max);
    assert!(worst <= reach, "largest |value| {worst} past {reach}");
    // Element 8574's word is in the top 2^-24 of the range: now the
    // quantile of its own unit value u = 1 - v, v = (!w + 1/2) / 2^32 (!w is
    // below 2^23, so v is exact): Q(z) = v W with W = 1 - 2 Q(100) = 1.
    let w = element_word(2024, 1, 8574);
    assert!(w >> 8 == 0xff_ffff, "{w:#x}");
    let v8574 = ((!w) as f64 + 0.5) / 4294967296.0;
    let want = 0.02 * neg_ln_sf_inverse(-v8574.ln());
    let got = v[8574] as f64;
    assert!(
        (got - want).abs() <= 1e-6 * 0.02 * (want / 0.02).max(1.0),
        "{got} vs {want}"
    );
}
