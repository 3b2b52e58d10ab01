//! Whole-model init on the default adapter: the parameter set of a
//! Llama-2-7B decoder (32 layers, hidden 4096, MLP 11008, vocab 32000:
//! embed_tokens, per layer q/k/v/o [h, h], gate/up [mlp, h], down [h, mlp]
//! and two RMSNorm weights [h], the final norm, lm_head [vocab, h]) in bf16,
//! normal(0, 0.02) weights and constant-1 norms, each tensor at a 256-byte
//! aligned offset of an arena (split over several buffers where one would
//! pass the device's `max_buffer_size`).
//!
//! Timed, each submitted and waited for, in the same run:
//! - `model`: the whole-model API: a `model::ParamSet` of those names and
//!   shapes, rules `*norm.weight=ones` and `*=normal(0, 0.02)`, each
//!   parameter's stream the hash of its name, recorded by
//!   `ResolvedSet::record_gpu_into` into the arena buffers (one encoder):
//!   the figure;
//! - `model_cpu`: the same set on the crate's CPU backend
//!   (`ResolvedSet::fill_cpu_into` host memory allocated once, all cores),
//!   the like-for-like peer of PyTorch on the CPU;
//! - `batch`: the same bytes through `record_batch` directly (one encoder);
//! - `per_tensor`: the same tensors through one `record_fill` each (one
//!   encoder, one dispatch or more per tensor);
//! - `baseline/clear_buffer` and `baseline/constant_kernel`: the same bytes
//!   written by `clear_buffer` and by the constant kernel (`record_fill`
//!   of a constant over each arena buffer): the write-bandwidth baselines.
//!
//! At the end the medians, GB/s and the ratios to the baselines are
//! printed. On a machine without a GPU the model is scaled down:
//! `WEIGHT_INIT_BENCH_SCALE=k` divides hidden, MLP and vocab by `k` (keeping
//! 32 layers; default 16, about 53 MB, so lavapipe finishes in about a
//! minute); `WEIGHT_INIT_BENCH_SCALE=1` is the full 13.5 GB model. The peer
//! figure is `scripts/torch_model_init.py --scale k` on the same machine.
//!
//! Run: `cargo bench --bench gpu_batch`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weight_init::gpu::{BatchItem, GpuContext, ItemView};
use weight_init::model::{Param, ParamSet, ResolvedSet, Rule, Rules};
use weight_init::{DType, Distribution, Normal, TensorKey};

/// Tensor offsets in the arena are multiples of this (bytes).
const ALIGN: u64 = 256;

#[path = "shared/llama.rs"]
mod llama;
use llama::llama_shapes;

/// One arena buffer: its bytes in use and its items.
struct Arena {
    buffer: wgpu::Buffer,
    used: u64,
    items: Vec<BatchItem>,
}

fn arenas(ctx: &GpuContext, k: u64) -> Vec<Arena> {
    let max = ctx.device().limits().max_buffer_size / ALIGN * ALIGN;
    let weight: Distribution = Normal::new(0.0, 0.02).unwrap().into();
    let one = Distribution::constant(1.0).unwrap();
    let mut groups: Vec<(u64, Vec<BatchItem>)> = vec![(0, Vec::new())];
    for (i, (name, shape)) in llama_shapes(k).into_iter().enumerate() {
        let numel: u64 = shape.iter().product();
        let bytes = 2 * numel;
        assert!(bytes <= max, "{name} alone passes max_buffer_size {max}");
        let (used, _) = groups.last().unwrap();
        if used.next_multiple_of(ALIGN) + bytes > max {
            groups.push((0, Vec::new()));
        }
        let (used, items) = groups.last_mut().unwrap();
        let at = used.next_multiple_of(ALIGN);
        items.push(BatchItem {
            dist: if shape.len() == 1 { one } else { weight },
            dtype: DType::BF16,
            key: TensorKey::new(0x11a3a, i as u64, numel),
            view: ItemView::Range(0..numel),
            byte_offset: at,
        });
        *used = at + bytes;
    }
    groups
        .into_iter()
        .map(|(used, items)| Arena {
            buffer: ctx.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("arena"),
                size: used.next_multiple_of(ALIGN),
                // COPY_DST for the clear_buffer baseline.
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            used,
            items,
        })
        .collect()
}

/// The same decoder as a resolved parameter set, and each parameter's
/// place in `arenas` (same order as `llama_shapes`).
fn model(k: u64, arenas: &[Arena]) -> (ResolvedSet, Vec<(&wgpu::Buffer, u64)>) {
    let set = ParamSet::from_params(
        llama_shapes(k)
            .into_iter()
            .map(|(name, shape)| Param::new(name, shape, DType::BF16)),
    )
    .unwrap();
    let rules = Rules::new(vec![
        "*norm.weight=ones".parse::<Rule>().unwrap(),
        "*=normal(0, 0.02)".parse::<Rule>().unwrap(),
    ]);
    let targets = arenas
        .iter()
        .flat_map(|a| a.items.iter().map(move |it| (&a.buffer, it.byte_offset)))
        .collect();
    (set.resolve(&rules).unwrap(), targets)
}

/// Per-iteration times of every case, for the medians printed at the end.
static TIMES: Mutex<Vec<(&'static str, Duration)>> = Mutex::new(Vec::new());

fn timed(name: &'static str, iters: u64, mut f: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let t = Instant::now();
        f();
        let d = t.elapsed();
        TIMES.lock().unwrap().push((name, d));
        total += d;
    }
    total
}

fn median(name: &str) -> f64 {
    let mut v: Vec<f64> = TIMES
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, d)| d.as_secs_f64())
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(c: &mut Criterion) {
    let ctx = match GpuContext::new_default() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("gpu_batch: {e}");
            std::process::exit(1);
        }
    };
    let k: u64 = std::env::var("WEIGHT_INIT_BENCH_SCALE")
        .ok()
        .map(|s| {
            s.parse()
                .expect("WEIGHT_INIT_BENCH_SCALE is a positive integer")
        })
        .unwrap_or(16);
    let arenas = arenas(&ctx, k);
    let tensors: usize = arenas.iter().map(|a| a.items.len()).sum();
    let bytes: u64 = arenas
        .iter()
        .flat_map(|a| &a.items)
        .map(|i| i.byte_len().unwrap())
        .sum();
    let info = ctx.adapter_info();
    eprintln!(
        "adapter: {} ({:?}); Llama-2-7B / {k}: {tensors} tensors, {:.1} MB bf16 in {} buffer(s)",
        info.map_or("caller's device".into(), |i| i.name.clone()),
        info.map(|i| i.backend),
        bytes as f64 / 1e6,
        arenas.len()
    );
    // The constant kernel over each arena buffer's used bytes, as one tensor.
    let constant = Distribution::constant(0.5).unwrap();

    let mut g = c.benchmark_group(format!("gpu_batch_llama7b_div{k}_bf16"));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Bytes(bytes));
    let (resolved, targets) = model(k, &arenas);
    let mut model_stats = None;
    g.bench_function("model", |b| {
        b.iter_custom(|iters| {
            timed("model", iters, || {
                ctx.submit_checked(|enc| {
                    model_stats =
                        Some(resolved.record_gpu_into(&ctx, enc, &targets, 0x11a3a, None)?);
                    Ok(())
                })
                .unwrap()
            })
        })
    });
    // Into host memory allocated once, as PyTorch's peer script fills
    // tensors allocated once.
    let host_layout = resolved.arena_layout(None, ALIGN).unwrap();
    let mut host = vec![0u8; host_layout.total_bytes as usize];
    g.bench_function("model_cpu", |b| {
        b.iter_custom(|iters| {
            timed("model_cpu", iters, || {
                resolved
                    .fill_cpu_into(0x11a3a, None, &host_layout, &mut host)
                    .unwrap();
            })
        })
    });
    g.bench_function("batch", |b| {
        b.iter_custom(|iters| {
            timed("batch", iters, || {
                ctx.submit_checked(|enc| {
                    for a in &arenas {
                        ctx.record_batch(enc, &a.buffer, &a.items)?;
                    }
                    Ok(())
                })
                .unwrap()
            })
        })
    });
    g.bench_function("per_tensor", |b| {
        b.iter_custom(|iters| {
            timed("per_tensor", iters, || {
                ctx.submit_checked(|enc| {
                    for a in &arenas {
                        for it in &a.items {
                            let ItemView::Range(r) = &it.view else {
                                unreachable!()
                            };
                            ctx.record_fill(
                                enc,
                                &a.buffer,
                                it.byte_offset,
                                &it.dist,
                                it.dtype,
                                &it.key,
                                r.clone(),
                            )?;
                        }
                    }
                    Ok(())
                })
                .unwrap()
            })
        })
    });
    g.bench_function("baseline/clear_buffer", |b| {
        b.iter_custom(|iters| {
            timed("clear_buffer", iters, || {
                ctx.submit_checked(|enc| {
                    for a in &arenas {
                        enc.clear_buffer(&a.buffer, 0, Some(a.used.next_multiple_of(4)));
                    }
                    Ok(())
                })
                .unwrap()
            })
        })
    });
    g.bench_function("baseline/constant_kernel", |b| {
        b.iter_custom(|iters| {
            timed("constant_kernel", iters, || {
                ctx.submit_checked(|enc| {
                    for a in &arenas {
                        let n = a.used / 2;
                        let key = TensorKey::new(0, 0, n);
                        ctx.record_fill(enc, &a.buffer, 0, &constant, DType::BF16, &key, 0..n)?;
                    }
                    Ok(())
                })
                .unwrap()
            })
        })
    });
    g.finish();

    let report = {
        let mut enc = ctx
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        let r: Vec<_> = arenas
            .iter()
            .map(|a| ctx.record_batch(&mut enc, &a.buffer, &a.items).unwrap())
            .collect();
        drop(enc);
        r
    };
    let gbs = |t: f64| bytes as f64 / t / 1e9;
    let (model, model_cpu, batch, per, clear, konst) = (
        median("model"),
        median("model_cpu"),
        median("batch"),
        median("per_tensor"),
        median("clear_buffer"),
        median("constant_kernel"),
    );
    eprintln!(
        "\nLlama-2-7B / {k}, bf16, {:.1} MB, medians:",
        bytes as f64 / 1e6
    );
    for (name, t) in [
        ("model (ParamSet, rules)", model),
        ("model on the CPU backend", model_cpu),
        ("batch", batch),
        ("per-tensor record_fill", per),
        ("clear_buffer (baseline)", clear),
        ("constant kernel (baseline)", konst),
    ] {
        eprintln!("  {name:28} {:10.2} ms  {:8.3} GB/s", t * 1e3, gbs(t));
    }
    eprintln!(
        "  batch dispatches: {:?} (bounds {:?}), per-tensor fills: {tensors}",
        report.iter().map(|r| r.dispatches).collect::<Vec<_>>(),
        report.iter().map(|r| r.bound()).collect::<Vec<_>>()
    );
    eprintln!("  model: {:?}", model_stats.unwrap());
    eprintln!(
        "  model time / clear_buffer time: {:.2}x; / constant kernel time: {:.2}x; \
         model / batch: {:.3}x",
        model / clear,
        model / konst,
        model / batch
    );
    eprintln!(
        "  batch time / clear_buffer time: {:.2}x; / constant kernel time: {:.2}x; \
         per-tensor / batch: {:.3}x",
        batch / clear,
        batch / konst,
        per / batch
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
