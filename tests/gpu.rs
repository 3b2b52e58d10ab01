//! Tier 4 and 5 on the GPU: every adapter found (on a machine without a GPU:
//! lavapipe through Vulkan and llvmpipe through GL) against the CPU backend.
//!
//! These tests never pass silently: with no adapter they fail and say how to
//! install Mesa's software drivers.

use weight_init::gpu::unstable::MulHiLo;
use weight_init::gpu::{GpuContext, GpuOptions};
use weight_init::stats::Agreement;
use weight_init::{cpu, DType, Distribution, Error, Normal, TensorKey, TruncatedNormal, Uniform};

mod common;
use common::{storage_buffer, values, Adapter, CANARY};

fn adapters() -> &'static [Adapter] {
    common::adapters(None)
}

/// CPU bytes of elements `range` of `key`.
fn cpu_bytes(
    dist: &Distribution,
    dtype: DType,
    key: &TensorKey,
    range: std::ops::Range<u64>,
) -> Vec<u8> {
    let mut out = vec![0u8; (range.end - range.start) as usize * dtype.size_bytes()];
    cpu::fill_bytes(dist, dtype, key, range, &mut out).unwrap();
    out
}

/// Fills `range` of `key` at `byte_offset` of a canary-filled buffer on the
/// GPU; returns the whole buffer.
fn gpu_fill(
    ctx: &GpuContext,
    dist: &Distribution,
    dtype: DType,
    key: &TensorKey,
    range: std::ops::Range<u64>,
    byte_offset: u64,
    buf_size: u64,
) -> Vec<u8> {
    let buf = storage_buffer(ctx, buf_size, CANARY);
    ctx.fill(&buf, byte_offset, dist, dtype, key, range)
        .unwrap();
    ctx.read_buffer(&buf, 0, buf_size).unwrap()
}

const DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::BF16];

/// Where the contract says bit-exact: unit uniforms (they expose the top 24
/// bits of every word), symmetric uniforms (a single multiply), constants,
/// and the dtype rounding of all of them. Ranges start and end at odd
/// element positions and odd byte offsets (mid-word for 16-bit types);
/// everything outside the range keeps its canary bytes.
#[test]
fn bit_exact_where_the_contract_says_so() {
    let dists: [Distribution; 4] = [
        Uniform::new(0.0, 1.0).unwrap().into(),
        Uniform::new(-0.125, 0.125).unwrap().into(),
        Uniform::new(-3.0, 3.0).unwrap().into(),
        Distribution::constant(-0.3).unwrap(),
    ];
    for a in adapters() {
        for dist in &dists {
            for dtype in DTYPES {
                let size = dtype.size_bytes() as u64;
                for (start, end, offset_elems) in [
                    (3u64, 100_003u64, 1u64),
                    (0, 4096, 0),
                    (5, 6, 3),
                    (1_000_001, 1_262_147, 7),
                ] {
                    let key = TensorKey::new(0xfeed, 9, 2_000_000);
                    let byte_offset = offset_elems * size;
                    let n = end - start;
                    let buf_size = (byte_offset + n * size + 64).div_ceil(4) * 4;
                    let got =
                        gpu_fill(&a.ctx, dist, dtype, &key, start..end, byte_offset, buf_size);
                    let want = cpu_bytes(dist, dtype, &key, start..end);
                    let (lo, hi) = (byte_offset as usize, (byte_offset + n * size) as usize);
                    assert!(
                        got[..lo].iter().all(|&b| b == CANARY),
                        "{}: canary before {dist} {dtype}",
                        a.name
                    );
                    assert!(
                        got[hi..].iter().all(|&b| b == CANARY),
                        "{}: canary after {dist} {dtype}",
                        a.name
                    );
                    if got[lo..hi] != want[..] {
                        let g = values(&got[lo..hi], dtype);
                        let w = values(&want, dtype);
                        let i = g
                            .iter()
                            .zip(&w)
                            .position(|(x, y)| x.to_bits() != y.to_bits())
                            .unwrap();
                        panic!("{}: {dist} {dtype} {start}..{end}: element {} is {} on the GPU, {} on the CPU", a.name, start + i as u64, g[i], w[i]);
                    }
                }
            }
        }
        eprintln!("{}: bit-exact uniform, constant and rounding: ok", a.name);
    }
}

/// Normal, truncated normal (every kind of interval, deep tails included)
/// and asymmetric uniforms: every element bit-identical to the CPU, in
/// every dtype. On a mismatch the fraction of identical elements and the
/// largest distance (in ULP of `max(|value|, scale)`) are reported, as the
/// contract asks of a defect.
#[test]
fn bit_exact_for_every_distribution() {
    let trunc = |a: f32, b: f32| -> Distribution {
        TruncatedNormal::with_std_bounds(0.0, 1.0, a, b)
            .unwrap()
            .into()
    };
    let dists: [(&str, f32, Distribution); 13] = [
        (
            "uniform[-0.3,0.7)",
            0.5,
            Uniform::new(-0.3, 0.7).unwrap().into(),
        ),
        ("normal(0,1)", 1.0, Normal::new(0.0, 1.0).unwrap().into()),
        (
            "normal(0.5,0.02)",
            0.02,
            Normal::new(0.5, 0.02).unwrap().into(),
        ),
        ("normal(0.5,2)", 2.0, Normal::new(0.5, 2.0).unwrap().into()),
        (
            "trunc(0,0.02,+-0.04)",
            0.02,
            TruncatedNormal::new(0.0, 0.02, -0.04, 0.04).unwrap().into(),
        ),
        (
            "trunc(0.1,0.5,-0.4,1.35)",
            0.5,
            TruncatedNormal::new(0.1, 0.5, -0.4, 1.35).unwrap().into(),
        ),
        ("trunc std [0,inf)", 1.0, trunc(0.0, f32::INFINITY)),
        (
            "trunc std (-inf,inf)",
            1.0,
            trunc(f32::NEG_INFINITY, f32::INFINITY),
        ),
        ("trunc std [-4,inf)", 1.0, trunc(-4.0, f32::INFINITY)),
        ("trunc std [10,11]", 1.0, trunc(10.0, 11.0)),
        ("trunc std [-31,-30]", 1.0, trunc(-31.0, -30.0)),
        ("trunc std [1,1.0001]", 1.0, trunc(1.0, 1.0001)),
        (
            "trunc(0,0.1) std [7e4,inf) (pinned)",
            0.1,
            TruncatedNormal::with_std_bounds(0.0, 0.1, 7e4, f32::INFINITY)
                .unwrap()
                .into(),
        ),
    ];
    let n = 1u64 << 18;
    let key = TensorKey::new(0xabc, 3, u64::MAX);
    // A stretch at the start and one near the top of the index range, where
    // every counter word is used.
    let starts = [7u64, u64::MAX - n - 5];
    for a in adapters() {
        for (name, scale, dist) in &dists {
            for dtype in DTYPES {
                for start in starts {
                    let size = dtype.size_bytes() as u64;
                    let range = start..start + n;
                    let got = gpu_fill(&a.ctx, dist, dtype, &key, range.clone(), 0, n * size);
                    let want = cpu_bytes(dist, dtype, &key, range);
                    if got == want {
                        continue;
                    }
                    let (g, w) = (values(&got, dtype), values(&want, dtype));
                    let m = Agreement::of(&g, &w, *scale, dtype);
                    let i = m.worst.unwrap_or(0) as usize;
                    panic!(
                        "{}: {name} {dtype} from {start}: {:.4}% bit-exact, largest distance {} ULP (element {}: gpu {} cpu {})",
                        a.name,
                        100.0 * m.exact_fraction(),
                        m.max_ulp,
                        start + i as u64,
                        g[i],
                        w[i]
                    );
                }
            }
        }
        eprintln!(
            "{}: {} distributions x 3 dtypes bit-exact",
            a.name,
            dists.len()
        );
    }
}

/// The same tensor on every adapter (Vulkan and GL on CI) is identical where
/// the contract says bit-exact.
#[test]
fn adapters_agree() {
    let all = adapters();
    let dist: Distribution = Uniform::new(-1.0, 1.0).unwrap().into();
    let key = TensorKey::new(5, 6, 300_000);
    let results: Vec<Vec<u8>> = all
        .iter()
        .map(|a| gpu_fill(&a.ctx, &dist, DType::BF16, &key, 11..300_000, 2, 600_000))
        .collect();
    for (a, r) in all.iter().zip(&results).skip(1) {
        assert!(r == &results[0], "{} differs from {}", a.name, all[0].name);
    }
    eprintln!("{} adapters agree", all.len());
}

/// Lowered window and grid limits split one fill into many bindings and
/// 2-D grids; the bytes equal the unsplit fill's.
#[test]
fn split_windows_and_grids_match() {
    for a in adapters() {
        for dtype in DTYPES {
            let dist: Distribution = Normal::new(0.0, 1.0).unwrap().into();
            let key = TensorKey::new(1, 2, 1 << 20);
            let size = dtype.size_bytes() as u64;
            let (start, end) = (13u64, 200_013u64);
            let buf_size = (2 * size + (end - start) * size + 256).div_ceil(4) * 4;
            let whole = gpu_fill(&a.ctx, &dist, dtype, &key, start..end, 2 * size, buf_size);
            // The same adapter with a 4 KiB window and 2x2 grids.
            let small = common::reopen(&a.ctx, common::small_window(4096));
            let split = gpu_fill(&small, &dist, dtype, &key, start..end, 2 * size, buf_size);
            assert!(whole == split, "{}: {dtype}: split fill differs", a.name);
        }
        eprintln!("{}: split fills match", a.name);
    }
}

/// The 64-bit and the 16-bit-halves multiply give identical words.
#[test]
fn int64_and_emulated_multiply_agree() {
    let mut compared = 0;
    for a in adapters() {
        if a.ctx.mulhilo() != MulHiLo::Int64 {
            eprintln!(
                "{}: no SHADER_INT64, only the emulated multiply runs here",
                a.name
            );
            continue;
        }
        let emulated = common::reopen(
            &a.ctx,
            GpuOptions::default().with_force_emulated_mulhilo(true),
        );
        assert_eq!(emulated.mulhilo(), MulHiLo::Emulated);
        let key = TensorKey::new(u64::MAX, u64::MAX - 1, 1 << 18);
        for dist in [
            Distribution::from(Uniform::new(0.0, 1.0).unwrap()),
            Normal::new(0.0, 1.0).unwrap().into(),
            TruncatedNormal::with_std_bounds(0.0, 1.0, -2.0, 2.0)
                .unwrap()
                .into(),
        ] {
            let x = gpu_fill(&a.ctx, &dist, DType::F32, &key, 0..1 << 18, 0, 1 << 20);
            let y = gpu_fill(&emulated, &dist, DType::F32, &key, 0..1 << 18, 0, 1 << 20);
            assert!(x == y, "{}: {dist}: int64 and emulated differ", a.name);
        }
        compared += 1;
    }
    eprintln!("int64 vs emulated compared on {compared} adapters");
}

/// One real fill of 512 MiB + 4 KiB, past lavapipe's 128 MiB binding
/// limit, checked against the CPU on 64 sampled stretches.
#[test]
fn fill_past_the_binding_limit() {
    let bytes: u64 = (512 << 20) + 4096;
    let mut ran = 0;
    for a in adapters() {
        let limits = a.ctx.device().limits();
        if limits.max_buffer_size < bytes {
            eprintln!(
                "{}: max_buffer_size {} < {bytes}, skipped here",
                a.name, limits.max_buffer_size
            );
            continue;
        }
        let n = bytes / 4;
        let key = TensorKey::new(77, 78, n + 1000);
        let dist: Distribution = Uniform::new(-2.0, 2.0).unwrap().into();
        let buf = storage_buffer(&a.ctx, bytes, 0);
        let t = std::time::Instant::now();
        a.ctx
            .fill(&buf, 0, &dist, DType::F32, &key, 1000..n + 1000)
            .unwrap();
        eprintln!(
            "{}: {} MiB filled in {:?} (window {} MiB)",
            a.name,
            bytes >> 20,
            t.elapsed(),
            a.ctx.max_window_bytes() >> 20
        );
        for k in 0..64u64 {
            let first = k * (n / 64) + (k * 7919) % 1000;
            let len = 1024.min(n - first);
            let got = a.ctx.read_buffer(&buf, first * 4, len * 4).unwrap();
            let want = cpu_bytes(&dist, DType::F32, &key, first + 1000..first + 1000 + len);
            assert!(got == want, "{}: stretch at element {first}", a.name);
        }
        ran += 1;
    }
    assert!(ran > 0, "no adapter could hold a 512 MiB buffer");
}

/// Fills from 4 threads at once through one context.
#[test]
fn concurrent_fills() {
    for a in adapters() {
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let ctx = &a.ctx;
                s.spawn(move || {
                    let dist: Distribution = Uniform::new(-0.5, 0.5).unwrap().into();
                    let key = TensorKey::new(100 + t, t, 100_000);
                    let got = gpu_fill(ctx, &dist, DType::F32, &key, 0..100_000, 0, 400_000);
                    assert!(
                        got == cpu_bytes(&dist, DType::F32, &key, 0..100_000),
                        "thread {t}"
                    );
                });
            }
        });
        eprintln!("{}: 4 concurrent fills match", a.name);
    }
}

/// Every bad input returns its error and leaves the buffer as it was.
#[test]
fn bad_input_is_an_error_and_writes_nothing() {
    for a in adapters() {
        let ctx = &a.ctx;
        let dist: Distribution = Normal::new(0.0, 1.0).unwrap().into();
        let key = TensorKey::new(1, 1, 1000);
        let buf = storage_buffer(ctx, 4096, 0x5A);
        let untouched = |buf: &wgpu::Buffer| {
            ctx.read_buffer(buf, 0, buf.size())
                .unwrap()
                .iter()
                .all(|&b| b == 0x5A)
        };
        let cases: Vec<(Result<(), Error>, &str)> = vec![
            (
                ctx.fill(&buf, 0, &dist, DType::F32, &key, 990..1001),
                "range past the tensor",
            ),
            (
                ctx.fill(&buf, 2, &dist, DType::F32, &key, 0..10),
                "misaligned offset",
            ),
            (
                ctx.fill(&buf, 1, &dist, DType::F16, &key, 0..10),
                "misaligned 16-bit offset",
            ),
            (
                ctx.fill(&buf, 4000, &dist, DType::F32, &key, 0..100),
                "past the buffer's end",
            ),
            (
                ctx.fill(
                    &buf,
                    0,
                    &Normal::new(0.0, 1e5).unwrap().into(),
                    DType::F16,
                    &key,
                    0..10,
                ),
                "unrepresentable in f16",
            ),
        ];
        for (r, what) in cases {
            let e = r.expect_err(what);
            eprintln!("{}: {what}: {e}", a.name);
        }
        assert!(untouched(&buf), "{}: a failed fill wrote", a.name);
        // A buffer without STORAGE usage.
        let plain = common::non_storage_buffer(ctx, 256);
        let e = ctx
            .fill(&plain, 0, &dist, DType::F32, &key, 0..10)
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::BufferUsage {
                    missing: "STORAGE",
                    ..
                }
            ),
            "{e}"
        );
    }
}

/// The context can be shared across threads.
#[test]
fn context_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<GpuContext>();
}
