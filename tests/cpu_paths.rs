//! Every instruction-set path of the CPU backend (portable, AVX2, AVX-512)
//! gives the same bytes as the scalar reference (`Sampler::sample_block` on
//! `block_words`, rounded by `dtype::f32_to_*_bits`), for every distribution
//! and dtype, any start and length, and element indices up to 2^64.
//!
//! A path this CPU cannot run is not checked, and the test says so on
//! stderr; the paths it can run are still checked.

use weight_init::dtype::{f32_to_bf16_bits, f32_to_f16_bits};
use weight_init::philox::block_words;
use weight_init::unstable::{fill_bytes_on, kernel, CpuPath, DEEP_Y_SCREEN, STREAM_MIN_BYTES};
use weight_init::{
    DType, Distribution, Error, Normal, Sampler, TensorKey, TruncatedNormal, Uniform,
};

fn dists() -> Vec<Distribution> {
    // `Sampler::kind` tells which transform (and truncated-normal mode) each
    // case exercises; the pinned one is asserted in `the_pinned_case_is_pinned`.
    let trunc = |a: f32, b: f32| -> Distribution {
        TruncatedNormal::with_std_bounds(0.0, 1.0, a, b)
            .unwrap()
            .into()
    };
    vec![
        Uniform::new(-1.0, 1.0).unwrap().into(),
        Uniform::new(-0.3, 0.7).unwrap().into(),
        Normal::new(0.0, 1.0).unwrap().into(),
        Normal::new(0.1, 2.0).unwrap().into(),
        TruncatedNormal::new(0.0, 0.02, -0.04, 0.04).unwrap().into(),
        trunc(-2.0, 2.0),
        trunc(0.0, f32::INFINITY),
        trunc(f32::NEG_INFINITY, -0.5),
        trunc(-0.1, 3.0),
        // Deep tails: every word there is past the tail polynomials or
        // close to them.
        trunc(5.0, 7.0),
        trunc(-7.0, -5.0),
        trunc(30.0, f32::INFINITY),
        // The pinned mode: 1e5 std out, a point mass at the near bound.
        TruncatedNormal::new(0.0, 1e-6, 0.1, 0.2).unwrap().into(),
        Distribution::constant(-1.5).unwrap(),
    ]
}

/// Element `index` of `key` as `dtype`'s little-endian bytes, the scalar way.
fn reference(sampler: &Sampler, dtype: DType, key: &TensorKey, index: u64) -> Vec<u8> {
    let block = block_words(key.seed, key.stream, index / 4);
    let x = sampler.sample_block(block)[(index % 4) as usize];
    match dtype {
        DType::F32 => x.to_le_bytes().to_vec(),
        DType::F16 => f32_to_f16_bits(x).to_le_bytes().to_vec(),
        DType::BF16 => f32_to_bf16_bits(x).to_le_bytes().to_vec(),
        other => panic!("no reference for {other:?}"),
    }
}

/// Starts: block-aligned or not, and around the places where the block
/// counter's low word carries (block 2^32, index 2^34), near 2^40, 2^63
/// and the last index.
const STARTS: [u64; 11] = [
    0,
    1,
    2,
    3,
    5,
    4 * 33 + 2,
    (1 << 34) - 4 * 7 - 1,
    (1 << 40) - 6,
    (1 << 63) - 4 * 9 - 3,
    1 << 63,
    u64::MAX - 1500,
];

/// Lengths: empty, shorter than a block, around one and two batches of 64,
/// and longer runs that end mid-block.
const LENGTHS: [u64; 9] = [0, 1, 3, 63, 64, 65, 130, 257, 1001];

fn runnable() -> Vec<CpuPath> {
    let mut paths = Vec::new();
    for path in CpuPath::ALL {
        if path.is_available() {
            paths.push(path);
        } else {
            eprintln!("cpu_paths: path {path:?} NOT CHECKED: this CPU lacks its instructions");
        }
    }
    paths
}

/// The portable path equals the scalar reference, and every other runnable
/// path equals the portable one, byte for byte.
#[test]
fn every_path_matches_the_reference() {
    let paths = runnable();
    assert_eq!(paths[0], CpuPath::Portable);
    let mut checked = 0u64;
    for (d, dist) in dists().iter().enumerate() {
        for dtype in [DType::F32, DType::F16, DType::BF16] {
            let sampler = Sampler::new(dist, dtype).unwrap();
            let key = TensorKey::new(0x5eed_0000 + d as u64, 0xabcd_ef01_2345_6789, u64::MAX);
            let size = dtype.size_bytes();
            for start in STARTS {
                for len in LENGTHS {
                    let range = start..start + len;
                    let mut portable = vec![0u8; len as usize * size];
                    fill_bytes_on(
                        CpuPath::Portable,
                        dist,
                        dtype,
                        &key,
                        range.clone(),
                        &mut portable,
                    )
                    .unwrap();
                    for (i, got) in portable.chunks(size).enumerate() {
                        let index = start + i as u64;
                        let want = reference(&sampler, dtype, &key, index);
                        assert_eq!(
                            got, want,
                            "portable vs reference: {dist} {dtype:?} element {index}"
                        );
                    }
                    for &path in &paths[1..] {
                        let mut out = vec![0xa5u8; portable.len()];
                        fill_bytes_on(path, dist, dtype, &key, range.clone(), &mut out).unwrap();
                        if out != portable {
                            let i = (0..portable.len())
                                .find(|&i| out[i] != portable[i])
                                .unwrap();
                            panic!(
                                "{path:?} vs portable: {dist} {dtype:?} {range:?}: first difference at element {}",
                                start + (i / size) as u64
                            );
                        }
                    }
                    checked += len;
                }
            }
        }
    }
    eprintln!(
        "cpu_paths: {checked} elements on {} path(s): {paths:?}",
        paths.len()
    );
}

/// A long run on one key: many batches in a row, each path against the
/// portable one.
#[test]
fn long_runs_match() {
    let paths = runnable();
    let n = 40_000u64;
    for dist in dists() {
        for dtype in [DType::F32, DType::F16, DType::BF16] {
            let key = TensorKey::new(99, 3, n);
            let mut portable = vec![0u8; n as usize * dtype.size_bytes()];
            fill_bytes_on(CpuPath::Portable, &dist, dtype, &key, 0..n, &mut portable).unwrap();
            // The usual (multi-threaded, fastest-path) fill agrees too.
            let mut usual = vec![0u8; portable.len()];
            weight_init::cpu::fill_bytes(&dist, dtype, &key, 0..n, &mut usual).unwrap();
            assert!(
                usual == portable,
                "cpu::fill_bytes vs portable: {dist} {dtype:?}"
            );
            for &path in &paths[1..] {
                let mut out = vec![0u8; portable.len()];
                fill_bytes_on(path, &dist, dtype, &key, 0..n, &mut out).unwrap();
                assert!(out == portable, "{path:?} vs portable: {dist} {dtype:?}");
            }
        }
    }
}

/// A path the CPU lacks is an error value, not a crash; bad ranges are
/// refused on every path.
#[test]
fn unavailable_paths_and_bad_input_are_errors() {
    let dist: Distribution = Uniform::new(0.0, 1.0).unwrap().into();
    let key = TensorKey::new(1, 1, 100);
    for path in CpuPath::ALL {
        let mut out = vec![0u8; 400];
        let r = fill_bytes_on(path, &dist, DType::F32, &key, 0..100, &mut out);
        if path.is_available() {
            assert!(r.is_ok(), "{path:?}: {r:?}");
            let mut short = vec![0u8; 399];
            let r = fill_bytes_on(path, &dist, DType::F32, &key, 0..100, &mut short);
            assert!(
                matches!(r, Err(Error::OutputLength { .. })),
                "{path:?}: {r:?}"
            );
            let r = fill_bytes_on(path, &dist, DType::F32, &key, 0..101, &mut out);
            assert!(
                matches!(r, Err(Error::RangeOutOfBounds { .. })),
                "{path:?}: {r:?}"
            );
        } else {
            assert!(
                matches!(r, Err(Error::InvalidChoice { name: "path", .. })),
                "{path:?}: {r:?}"
            );
        }
    }
}

/// The truncated normal's batch screen: no `y` below `DEEP_Y_SCREEN` has a
/// tail radius past the polynomials' range (every f32 in [16, 24), and a
/// stride through [0, 16)), so skipping the exact test there changes no
/// value.
#[test]
fn deep_tail_screen_is_conservative() {
    let top = DEEP_Y_SCREEN.to_bits();
    let exhaustive_from = 16f32.to_bits();
    let check = |b: u32| {
        let y = f32::from_bits(b);
        assert!(
            kernel::tail_radius(y) <= kernel::TAIL_POLY_MAX_R,
            "y = {y}: tail radius {}",
            kernel::tail_radius(y)
        );
    };
    (exhaustive_from..top).for_each(check);
    (0..exhaustive_from).step_by(997).for_each(check);
}

/// The pinned case above really is sampled in the pinned mode.
#[test]
fn the_pinned_case_is_pinned() {
    use weight_init::sampler::{SamplerKind, TruncMode};
    let pinned = dists()
        .iter()
        .filter(|d| {
            let kind = Sampler::new(d, DType::F16).unwrap().kind();
            kind == SamplerKind::TruncatedNormal(TruncMode::Pinned)
        })
        .count();
    assert_eq!(pinned, 1);
}

/// The backend's branch-free f16 rounding equals the kernel's for every
/// f32 bit pattern (every 4099th in a debug build, where all 2^32 take
/// minutes; `cargo test --release` checks them all).
#[test]
fn branchless_f16_rounding_matches_the_kernel() {
    let step = if cfg!(debug_assertions) { 4099 } else { 1 };
    let bad = std::thread::scope(|s| {
        let parts: Vec<_> = (0..4u64)
            .map(|q| {
                s.spawn(move || {
                    let (lo, hi) = (q << 30, (q + 1) << 30);
                    (lo..hi)
                        .step_by(step)
                        .map(|b| f32::from_bits(b as u32))
                        .find(|&x| {
                            weight_init::unstable::f16_bits_branchless(x) != f32_to_f16_bits(x)
                        })
                })
            })
            .collect();
        parts.into_iter().find_map(|p| p.join().unwrap())
    });
    if let Some(x) = bad {
        panic!(
            "f16 rounding of {:#010x}: branch-free {:#06x}, kernel {:#06x}",
            x.to_bits(),
            weight_init::unstable::f16_bits_branchless(x),
            f32_to_f16_bits(x)
        );
    }
}

/// Fills past `STREAM_MIN_BYTES` take the non-temporal stores, from the
/// first 64-byte aligned block on: every path, at output addresses that
/// leave 0 to 15 blocks before that point, and at an odd address (no block
/// aligned: plain stores), gives the portable path's bytes.
#[test]
fn streaming_stores_match() {
    let paths = runnable();
    let dist: Distribution = Uniform::new(-1.0, 1.0).unwrap().into();
    for dtype in [DType::F32, DType::F16, DType::BF16] {
        let size = dtype.size_bytes();
        let n = (STREAM_MIN_BYTES / size + 4 * 37 + 3) as u64;
        let key = TensorKey::new(5, 6, n + 8);
        // Start mid-block too, so the leading partial block comes first.
        let range = 1..n + 1;
        let mut portable = vec![0u8; n as usize * size];
        fill_bytes_on(
            CpuPath::Portable,
            &dist,
            dtype,
            &key,
            range.clone(),
            &mut portable,
        )
        .unwrap();
        let mut buf = vec![0u8; portable.len() + 128];
        let base = buf.as_ptr() as usize;
        for &path in &paths {
            for offset in [0usize, 1, 2, 4, 8, 12, 16, 20, 28, 36, 52] {
                // The output starts `offset` bytes past a 64-byte boundary.
                let at = (64 - base % 64) % 64 + offset;
                let out = &mut buf[at..at + portable.len()];
                out.fill(0);
                fill_bytes_on(path, &dist, dtype, &key, range.clone(), out).unwrap();
                assert!(
                    out == portable,
                    "{path:?} {dtype:?}: output at offset {offset} mod 64"
                );
            }
        }
    }
}
