//! Whole-model and orthogonal timings as JSON lines, for
//! `scripts/device_report.sh` (which runs the release build of this example
//! on a GPU machine that may have no Rust toolchain).
//!
//! ```sh
//! cargo build --release --example timings
//! target/release/examples/timings model [--scale K] [--repeats R] [--cpu]
//! target/release/examples/timings orthogonal [--n N] [--repeats R]
//! ```
//!
//! - `model`: Llama-2-7B's 291 tensors in bf16 (hidden, MLP and vocab
//!   divided by `K`, default 1: the full 13.5 GB), normal(0, 0.02) weights
//!   and unit norms, through the model API (`ParamSet` + rules,
//!   `ResolvedSet::split_arena_layout` under the device's largest buffer,
//!   `record_gpu_split` into those buffers, one submit, waited for), beside `clear_buffer` over the same arena bytes (the device's
//!   write bandwidth). With `--cpu`, also the CPU backend into host memory
//!   allocated once (`fill_cpu_into`), as PyTorch's peer script
//!   (`scripts/torch_model_init.py`) fills tensors allocated once.
//! - `orthogonal`: an `N x N` f32 orthogonal tensor end to end on the GPU
//!   (`GpuContext::fill_structured`: the Gaussian, the host QR, the upload,
//!   waited for), and the host part alone (`structured::orthogonal_f32`).
//!
//! Every figure is the median of `R` runs (default 5) after one untimed
//! warm-up. GB/s are 10^9 bytes per second.

use std::time::Instant;

use serde_json::json;
use weight_init::gpu::GpuContext;
use weight_init::model::{Param, ParamSet, Rule, Rules, ARENA_ALIGN};
use weight_init::scheme::Structured;
use weight_init::structured::orthogonal_f32;
use weight_init::{DType, TensorKey};

#[path = "../benches/shared/llama.rs"]
mod llama;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const SEED: u64 = 0x11a3a;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    for line in run(&args)? {
        println!("{line}");
    }
    Ok(())
}

/// Runs the part `args` names; its JSON lines.
fn run(args: &[String]) -> Res<Vec<serde_json::Value>> {
    let (part, rest) = args.split_first().ok_or(USAGE)?;
    let mut opts = Opts {
        scale: 1,
        repeats: 5,
        n: 4096,
        cpu: false,
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let mut value = || -> Res<u64> {
            let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let v: u64 = v
                .parse()
                .map_err(|_| format!("{flag}: `{v}` is not a count"))?;
            if v == 0 {
                return Err(format!("{flag} must be at least 1").into());
            }
            Ok(v)
        };
        match flag.as_str() {
            "--scale" => opts.scale = value()?,
            "--repeats" => opts.repeats = value()?,
            "--n" => opts.n = value()?,
            "--cpu" => opts.cpu = true,
            other => return Err(format!("unknown option `{other}`; {USAGE}").into()),
        }
    }
    let part = match part.as_str() {
        "model" => model,
        "orthogonal" => orthogonal,
        other => return Err(format!("unknown part `{other}`; {USAGE}").into()),
    };
    let ctx = GpuContext::new_default()?;
    let adapter = ctx.adapter_info().map(|i| i.name.clone());
    part(&ctx, adapter, &opts)
}

const USAGE: &str = "usage: timings model [--scale K] [--repeats R] [--cpu] | \
                     timings orthogonal [--n N] [--repeats R]";

struct Opts {
    scale: u64,
    repeats: u64,
    n: u64,
    cpu: bool,
}

/// The median of `repeats` timed calls of `f` after one untimed one.
fn median(repeats: u64, mut f: impl FnMut() -> Res<()>) -> Res<f64> {
    f()?;
    let mut t = Vec::new();
    for _ in 0..repeats {
        let start = Instant::now();
        f()?;
        t.push(start.elapsed().as_secs_f64());
    }
    t.sort_by(f64::total_cmp);
    let n = t.len();
    Ok(if n % 2 == 1 {
        t[n / 2]
    } else {
        0.5 * (t[n / 2 - 1] + t[n / 2])
    })
}

fn model(ctx: &GpuContext, adapter: Option<String>, o: &Opts) -> Res<Vec<serde_json::Value>> {
    let shapes = llama::llama_shapes(o.scale);
    let set = ParamSet::from_params(
        shapes
            .iter()
            .map(|(name, shape)| Param::new(name.clone(), shape.clone(), DType::BF16)),
    )?;
    let rules = Rules::new(vec![
        "*norm.weight=ones".parse::<Rule>()?,
        "*=normal(0, 0.02)".parse::<Rule>()?,
    ]);
    let resolved = set.resolve(&rules)?;
    let bytes: u64 = shapes
        .iter()
        .map(|(_, s)| 2 * s.iter().product::<u64>())
        .sum();
    // Arena buffers no larger than the device allows (one, where the
    // model fits), as an engine would lay them out.
    let max = ctx.device().limits().max_buffer_size;
    let split = resolved.split_arena_layout(None, ARENA_ALIGN, max)?;
    let buffers = split.create_buffers(ctx)?;

    let gpu = median(o.repeats, || {
        Ok(ctx.submit_checked(|enc| {
            resolved.record_gpu_split(ctx, enc, &buffers, &split, SEED, None)?;
            Ok(())
        })?)
    })?;
    let clear = median(o.repeats, || {
        Ok(ctx.submit_checked(|enc| {
            for b in &buffers {
                enc.clear_buffer(b, 0, None);
            }
            Ok(())
        })?)
    })?;
    let common = json!({
        "part": "model",
        "model": "llama-2-7b",
        "scale": o.scale,
        "tensors": shapes.len(),
        "dtype": "bf16",
        "bytes": bytes,
        "repeats": o.repeats,
    });
    let row = |what: &str, backend: &str, seconds: f64, extra: serde_json::Value| {
        let mut v = common.clone();
        let obj = v.as_object_mut().expect("object");
        obj.insert("case".into(), what.into());
        obj.insert("backend".into(), backend.into());
        obj.insert("median_seconds".into(), seconds.into());
        obj.insert("gbps".into(), (bytes as f64 / seconds / 1e9).into());
        if let serde_json::Value::Object(e) = extra {
            obj.extend(e);
        }
        v
    };
    let mut out = vec![
        row(
            "record_gpu_split",
            "gpu",
            gpu,
            json!({"adapter": adapter, "arena_buffers": buffers.len()}),
        ),
        row(
            "baseline:clear_buffer",
            "gpu",
            clear,
            json!({"adapter": adapter, "arena_buffers": buffers.len()}),
        ),
    ];
    if o.cpu {
        let layout = resolved.arena_layout(None, ARENA_ALIGN)?;
        let mut host = Vec::new();
        host.try_reserve_exact(layout.total_bytes as usize)?;
        host.resize(layout.total_bytes as usize, 0u8);
        let cpu = median(o.repeats, || {
            Ok(resolved.fill_cpu_into(SEED, None, &layout, &mut host)?)
        })?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        out.push(row(
            "fill_cpu_into",
            "cpu",
            cpu,
            json!({"threads": threads}),
        ));
    }
    Ok(out)
}

fn orthogonal(ctx: &GpuContext, adapter: Option<String>, o: &Opts) -> Res<Vec<serde_json::Value>> {
    let n = o.n;
    let s = Structured::Orthogonal {
        gain: 1.0,
        rows: n,
        cols: n,
    };
    let key = TensorKey::new(0x5eed, 1, n * n);
    let bytes = 4 * n * n;
    let buffer = ctx.create_buffer_checked(&wgpu::BufferDescriptor {
        label: Some("orthogonal"),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })?;
    let end_to_end = median(o.repeats, || {
        Ok(ctx.fill_structured(&buffer, 0, &s, DType::F32, &key)?)
    })?;
    let host = median(o.repeats, || {
        std::hint::black_box(orthogonal_f32(1.0, n, n, key.seed, key.stream)?);
        Ok(())
    })?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(vec![
        json!({"part": "orthogonal", "case": "fill_structured", "backend": "gpu",
               "adapter": adapter, "n": n, "dtype": "f32", "repeats": o.repeats,
               "median_seconds": end_to_end, "threads": threads}),
        json!({"part": "orthogonal", "case": "orthogonal_f32", "backend": "cpu",
               "n": n, "dtype": "f32", "repeats": o.repeats,
               "median_seconds": host, "threads": threads}),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    /// Both parts at small sizes: every row there, every time positive.
    /// Needs an adapter (lavapipe on a machine without a GPU).
    #[test]
    fn both_parts_run_small() {
        let rows = run(&args("model --scale 64 --repeats 1 --cpu")).unwrap();
        let cases: Vec<&str> = rows.iter().map(|r| r["case"].as_str().unwrap()).collect();
        assert_eq!(
            cases,
            ["record_gpu_split", "baseline:clear_buffer", "fill_cpu_into"]
        );
        for r in &rows {
            assert_eq!(r["tensors"], 291, "{r}");
            assert!(r["median_seconds"].as_f64().unwrap() > 0.0, "{r}");
        }
        let rows = run(&args("orthogonal --n 64 --repeats 1")).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r["n"] == 64));
    }

    #[test]
    fn bad_arguments_are_errors() {
        for bad in [
            "",
            "model --scale 0",
            "model --scale x",
            "model --repeats",
            "model --what",
            "spin",
        ] {
            assert!(run(&args(bad)).is_err(), "`{bad}` accepted");
        }
    }
}
