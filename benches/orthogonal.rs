//! Orthogonal init end to end, n x n f32 for n = 1024, 2048, 4096: the
//! Gaussian reflectors from the crate's normal stream and `Q` on the CPU
//! (Stewart's product of Householder reflections, `faer` products), the sign
//! fix and gain (`cpu`: `structured::orthogonal_f32`), and the same followed
//! by the upload into a device buffer (`STORAGE | COPY_DST`) through
//! `GpuContext::fill_structured`, submitted and waited for
//! (`into_gpu_buffer`; skipped with a note where no adapter opens). The peer
//! figure: `scripts/torch_orthogonal.py` (`torch.nn.init.orthogonal_` on the
//! CPU), run on the same machine in the same session.
//!
//! Run: `cargo bench --bench orthogonal`. Oversubscribed (the issue's case,
//! 3 busy loops on 2 cores), in bash:
//!
//! ```text
//! for i in 1 2 3; do (while :; do :; done) & done; busy=$(jobs -p)
//! cargo bench --bench orthogonal -- cpu; kill $busy
//! python3 scripts/torch_orthogonal.py --threads 2 --busy 3
//! ```

use criterion::{criterion_group, criterion_main, Criterion};
use weight_init::gpu::GpuContext;
use weight_init::scheme::Structured;
use weight_init::structured::orthogonal_f32;
use weight_init::{DType, TensorKey};

fn bench(c: &mut Criterion) {
    let ctx = match GpuContext::new_default() {
        Ok(ctx) => {
            if let Some(info) = ctx.adapter_info() {
                eprintln!("adapter: {} ({:?})", info.name, info.backend);
            }
            Some(ctx)
        }
        Err(e) => {
            eprintln!("orthogonal: {e}; timing the CPU part only (no into_gpu_buffer)");
            None
        }
    };
    let mut g = c.benchmark_group("orthogonal_f32");
    g.sample_size(10);
    for n in [1024u64, 2048, 4096] {
        let s = Structured::Orthogonal {
            gain: 1.0,
            rows: n,
            cols: n,
        };
        let key = TensorKey::new(0x5eed, 1, n * n);
        g.bench_function(format!("{n}x{n}/cpu"), |b| {
            b.iter(|| orthogonal_f32(1.0, n, n, 0x5eed, 1).unwrap())
        });
        if let Some(ctx) = &ctx {
            let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("bench"),
                size: n * n * 4,
                // An engine's weight buffer: the values are copied in.
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            g.bench_function(format!("{n}x{n}/into_gpu_buffer"), |b| {
                b.iter(|| ctx.fill_structured(&buf, 0, &s, DType::F32, &key).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
