//! CPU backend fill throughput: 64 Mi f32 elements per fill, all cores.
//!
//! Run: `cargo bench --bench cpu_fill`. Criterion reports bytes/s; compare
//! with `scripts/torch_cpu_init.py` run on the same machine.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weight_init::{cpu, DType, Distribution, Normal, TensorKey, TruncatedNormal, Uniform};

const N: usize = 64 << 20;

fn bench(c: &mut Criterion) {
    let cases: [(&str, Distribution); 3] = [
        ("uniform", Uniform::new(-1.0, 1.0).unwrap().into()),
        ("normal", Normal::new(0.0, 1.0).unwrap().into()),
        (
            "trunc_normal(std=0.02,a=-0.04,b=0.04)",
            TruncatedNormal::new(0.0, 0.02, -0.04, 0.04).unwrap().into(),
        ),
    ];
    let key = TensorKey::new(0x5eed, 1, N as u64);
    let mut g = c.benchmark_group("cpu_fill_64Mi");
    g.sample_size(10);
    g.throughput(Throughput::Bytes((N * 4) as u64));
    let mut out = vec![0.0f32; N];
    for (name, dist) in &cases {
        g.bench_function(format!("{name}/f32"), |b| {
            b.iter(|| cpu::fill_f32(dist, &key, 0..N as u64, &mut out).unwrap())
        });
    }
    let mut out16 = vec![0u16; N];
    g.throughput(Throughput::Bytes((N * 2) as u64));
    for (name, dist) in &cases {
        g.bench_function(format!("{name}/bf16"), |b| {
            b.iter(|| cpu::fill_u16(dist, DType::BF16, &key, 0..N as u64, &mut out16).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
