//! GPU fill throughput on the default adapter (`WGPU_BACKEND`,
//! `WGPU_ADAPTER_NAME` choose it): 256 MiB per fill, submitted and waited
//! for, for each distribution in f32 and bf16, beside two baselines
//! measured in the same run on the same buffer: `clear_buffer` and the
//! constant kernel (a plain store of every word, no generator). Divide a
//! distribution's bytes/s by the baseline's for the fraction of write
//! bandwidth.
//!
//! Run: `cargo bench --bench gpu_fill`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weight_init::gpu::GpuContext;
use weight_init::{DType, Distribution, Normal, TensorKey, TruncatedNormal, Uniform};

const BYTES: u64 = 256 << 20;

fn bench(c: &mut Criterion) {
    let ctx = match GpuContext::new_default() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("gpu_fill: {e}");
            std::process::exit(1);
        }
    };
    if let Some(info) = ctx.adapter_info() {
        eprintln!(
            "adapter: {} ({:?}), multiply {:?}",
            info.name,
            info.backend,
            ctx.mulhilo()
        );
    }
    let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("bench"),
        size: BYTES,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut g = c.benchmark_group("gpu_fill_256MiB");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(BYTES));
    g.bench_function("baseline/clear_buffer", |b| {
        b.iter(|| {
            ctx.submit_checked(|enc| {
                enc.clear_buffer(&buf, 0, None);
                Ok(())
            })
            .unwrap()
        })
    });
    let cases: [(&str, Distribution); 4] = [
        ("baseline/constant", Distribution::constant(0.5).unwrap()),
        ("uniform", Uniform::new(-1.0, 1.0).unwrap().into()),
        ("normal", Normal::new(0.0, 1.0).unwrap().into()),
        (
            "trunc_normal(std=0.02,a=-0.04,b=0.04)",
            TruncatedNormal::new(0.0, 0.02, -0.04, 0.04).unwrap().into(),
        ),
    ];
    for dtype in [DType::F32, DType::BF16] {
        let n = BYTES / dtype.size_bytes() as u64;
        let key = TensorKey::new(0x5eed, 1, n);
        for (name, dist) in &cases {
            g.bench_function(format!("{name}/{dtype}"), |b| {
                b.iter(|| ctx.fill(&buf, 0, dist, dtype, &key, 0..n).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
