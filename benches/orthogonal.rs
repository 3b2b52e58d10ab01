//! Orthogonal init end to end, n x n f32 for n = 1024, 2048, 4096: the
//! Gaussian from the crate's normal stream, the QR and Q on the CPU
//! (`faer`), the sign fix and gain, and the upload into a device buffer
//! (`STORAGE | COPY_DST`) through `GpuContext::fill_structured`, submitted
//! and waited for. Where no adapter opens, the CPU part alone
//! (`structured::orthogonal_f32`) is timed and a note says so. The peer figure: `scripts/torch_orthogonal.py`
//! (`torch.nn.init.orthogonal_` on the CPU), run on the same machine in the
//! same session.
//!
//! Run: `cargo bench --bench orthogonal`.

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
            eprintln!("orthogonal: {e}; timing the CPU part only");
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
        match &ctx {
            Some(ctx) => {
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
            None => {
                g.bench_function(format!("{n}x{n}/cpu_only"), |b| {
                    b.iter(|| orthogonal_f32(1.0, n, n, 0x5eed, 1).unwrap())
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
