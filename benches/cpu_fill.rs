//! CPU backend fill throughput: 64 Mi elements per fill on all cores, per
//! distribution and dtype; then each instruction-set path alone
//! (`unstable::fill_bytes_on`, one thread, 1 Mi elements, cached output),
//! so a path's own speed shows apart from memory bandwidth.
//!
//! Run: `cargo bench --bench cpu_fill`. Criterion reports bytes/s; compare
//! with `scripts/torch_cpu_init.py` run on the same machine, and the paths
//! with each other (the same bits, `tests/cpu_paths.rs`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weight_init::unstable::{fill_bytes_on, CpuPath};
use weight_init::{cpu, DType, Distribution, Normal, TensorKey, TruncatedNormal, Uniform};

const N: usize = 64 << 20;
const N_PATH: usize = 1 << 20;

fn cases() -> [(&'static str, Distribution); 3] {
    [
        ("uniform", Uniform::new(-1.0, 1.0).unwrap().into()),
        ("normal", Normal::new(0.0, 1.0).unwrap().into()),
        (
            "trunc_normal(std=0.02,a=-0.04,b=0.04)",
            TruncatedNormal::new(0.0, 0.02, -0.04, 0.04).unwrap().into(),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let key = TensorKey::new(0x5eed, 1, N as u64);
    let mut g = c.benchmark_group("cpu_fill_64Mi");
    g.sample_size(10);
    let mut out = vec![0u8; N * 4];
    for dtype in [DType::F32, DType::BF16, DType::F16] {
        let bytes = N * dtype.size_bytes();
        g.throughput(Throughput::Bytes(bytes as u64));
        for (name, dist) in &cases() {
            g.bench_function(format!("{name}/{}", dtype.name()), |b| {
                b.iter(|| {
                    cpu::fill_bytes(dist, dtype, &key, 0..N as u64, &mut out[..bytes]).unwrap()
                })
            });
        }
    }
    g.finish();

    let key = TensorKey::new(0x5eed, 1, N_PATH as u64);
    let mut g = c.benchmark_group("cpu_path_1Mi_one_thread");
    g.sample_size(10);
    let mut out = vec![0u8; N_PATH * 4];
    for path in CpuPath::ALL {
        if !path.is_available() {
            eprintln!("cpu_fill: path {path:?} not benchmarked: this CPU lacks its instructions");
            continue;
        }
        for dtype in [DType::F32, DType::BF16] {
            let bytes = N_PATH * dtype.size_bytes();
            g.throughput(Throughput::Bytes(bytes as u64));
            for (name, dist) in &cases() {
                g.bench_function(format!("{path:?}/{name}/{}", dtype.name()), |b| {
                    b.iter(|| {
                        fill_bytes_on(path, dist, dtype, &key, 0..N_PATH as u64, &mut out[..bytes])
                            .unwrap()
                    })
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
