//! A model larger than one GPU buffer (issue 12, item 7): a device opened
//! with `max_buffer_size` = 64 MiB refuses the one-buffer arena, and
//! `ResolvedSet::split_arena_layout` + `record_gpu_split` (every buffer at
//! once) or `record_gpu_buffer` (one reused buffer at a time) fill an
//! 88 MiB set bit for bit as the CPU backend does, padding untouched.

use weight_init::gpu::{GpuContext, GpuOptions};
use weight_init::model::{
    Param, ParamSet, ResolvedSet, Rules, Shard, ShardMode, SplitArenaLayout, ARENA_ALIGN,
};
use weight_init::{DType, Error};

mod common;
use common::{ADAPTER_HINT, CANARY};

const MIB: u64 = 1 << 20;
/// The limited device's `max_buffer_size`.
const MAX: u64 = 64 * MIB;
/// The default adapter (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME` honoured),
/// opened with its own limits except `max_buffer_size` (and the storage
/// binding size, which may not exceed it) lowered to `max`.
fn limited_gpu(max: u64) -> GpuContext {
    limited_gpu_on(max).0
}

/// [`limited_gpu`], and the adapter's name.
fn limited_gpu_on(max: u64) -> (GpuContext, String) {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(wgpu::util::initialize_adapter_from_env_or_default(
        &instance, None,
    ))
    .unwrap_or_else(|e| panic!("no GPU adapter ({e}). {ADAPTER_HINT}"));
    let info = adapter.get_info();
    let mut limits = adapter.limits();
    assert!(
        limits.max_buffer_size > max,
        "{}: max_buffer_size {} is not above the test's {max}",
        info.name,
        limits.max_buffer_size
    );
    limits.max_buffer_size = max;
    limits.max_storage_buffer_binding_size = limits.max_storage_buffer_binding_size.min(max);
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("weight-init test, 64 MiB buffers"),
        required_features: adapter.features() & wgpu::Features::SHADER_INT64,
        required_limits: limits,
        ..Default::default()
    }))
    .unwrap_or_else(|e| panic!("{}: request_device failed: {e}", info.name));
    eprintln!(
        "adapter: {} ({:?}), max_buffer_size {} MiB",
        info.name,
        info.backend,
        device.limits().max_buffer_size / MIB
    );
    let ctx = GpuContext::from_device(device, queue, GpuOptions::default()).unwrap();
    (ctx, info.name)
}

/// 88 MiB in 11 tensors, mixed dtypes and schemes. The first three fill
/// buffer 0 to exactly 64 MiB; the rest go to buffer 1.
fn big_set() -> ResolvedSet {
    let p = |name: &str, shape: Vec<u64>, dtype, init: &str| {
        Param::new(name, shape, dtype).with_init(init.parse().unwrap())
    };
    let set = ParamSet::from_params([
        p(
            "embed.weight",
            vec![8192, 1024],
            DType::BF16,
            "normal(0, 0.02)",
        ), // 16 MiB
        p(
            "mlp.up.weight",
            vec![4096, 2048],
            DType::F32,
            "kaiming_uniform",
        ), // 32 MiB
        p(
            "mlp.down.weight",
            vec![2048, 4096],
            DType::BF16,
            "trunc_normal(std=0.02, a=-0.04, b=0.04)",
        ), // 16 MiB
        p("attn.weight", vec![2048, 2048], DType::F32, "xavier_normal"), // 16 MiB
        p(
            "lm_head.weight",
            vec![2048, 2048],
            DType::F16,
            "uniform(-0.1, 0.1)",
        ), // 8 MiB
        p("norm.weight", vec![2048], DType::F32, "ones"),
        p("norm.bias", vec![2048], DType::F32, "zeros"),
        p("odd.bias", vec![1002], DType::BF16, "constant(0.375)"), // 501 a column shard
        p(
            "rnn.weight",
            vec![256, 256],
            DType::F32,
            "orthogonal(gain=2)",
        ),
        p("id.weight", vec![512, 256], DType::BF16, "eye"),
        p("conv.weight", vec![64, 32, 3, 3], DType::F16, "dirac"),
    ])
    .unwrap();
    set.resolve(&Rules::default()).unwrap()
}

/// Checks every tensor of `r` in `arenas` (whole buffers read back)
/// against the CPU backend, and every padding byte against the canary;
/// returns the mismatch lines.
fn check(
    r: &ResolvedSet,
    layout: &SplitArenaLayout,
    arenas: &[Vec<u8>],
    seed: u64,
    shard: Option<&Shard>,
) -> Vec<String> {
    let mut bad = Vec::new();
    let mut covered: Vec<Vec<bool>> = arenas.iter().map(|a| vec![false; a.len()]).collect();
    for (i, p) in r.params().iter().enumerate() {
        let (b, at, len) = (
            layout.buffers[i],
            layout.offsets[i] as usize,
            layout.sizes[i] as usize,
        );
        let (shape, want) = r.fill_param_cpu(i, seed, shard).unwrap();
        assert_eq!(shape, layout.shapes[i], "{}", p.name);
        let got = &arenas[b][at..at + len];
        bad.extend(common::bit_difference(&p.name, p.dtype, got, &want));
        covered[b][at..at + len].iter_mut().for_each(|c| *c = true);
    }
    for (b, (arena, covered)) in arenas.iter().zip(&covered).enumerate() {
        let written = arena
            .iter()
            .zip(covered)
            .filter(|&(&x, &c)| !c && x != CANARY)
            .count();
        if written > 0 {
            bad.push(format!("buffer {b}: {written} padding bytes were written"));
        }
    }
    bad
}

fn canary_fill(ctx: &GpuContext, buffer: &wgpu::Buffer) {
    ctx.queue()
        .write_buffer(buffer, 0, &vec![CANARY; buffer.size() as usize]);
}

#[test]
fn model_larger_than_one_buffer_matches_cpu() {
    let ctx = limited_gpu(MAX);
    let r = big_set();
    let seed = 0x005e_ed7b;

    // One arena would need more than the device's largest buffer.
    let one = r.arena_layout(None, ARENA_ALIGN).unwrap();
    assert!(one.total_bytes > MAX, "{}", one.total_bytes);
    let e = one.create_buffer(&ctx).unwrap_err();
    assert!(e.to_string().contains("split_arena_layout"), "{e}");

    let layout = r.split_arena_layout(None, ARENA_ALIGN, MAX).unwrap();
    assert_eq!(layout.buffer_sizes, vec![MAX, 24 * MIB + 579_584]);
    assert_eq!(layout.buffers, vec![0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert_eq!(layout.tensors_in(0), 0..3);
    for (&b, (&at, &size)) in layout
        .buffers
        .iter()
        .zip(layout.offsets.iter().zip(&layout.sizes))
    {
        assert_eq!(at % ARENA_ALIGN, 0);
        assert!(at + size <= layout.buffer_sizes[b]);
    }

    let buffers = layout.create_buffers(&ctx).unwrap();
    assert_eq!(buffers.len(), 2);
    for b in &buffers {
        canary_fill(&ctx, b);
    }
    // Bad input records nothing and errs.
    let mut enc = ctx.device().create_command_encoder(&Default::default());
    assert!(matches!(
        r.record_gpu_split(&ctx, &mut enc, &buffers[..1], &layout, seed, None),
        Err(Error::OutputLength {
            expected: 2,
            got: 1,
            unit: "buffers"
        })
    ));
    let cols = Shard::new(2, 0, ShardMode::Columns).unwrap();
    assert!(r
        .record_gpu_split(&ctx, &mut enc, &buffers, &layout, seed, Some(&cols))
        .is_err());
    drop(enc);

    let mut stats = None;
    ctx.submit_checked(|enc| {
        stats = Some(r.record_gpu_split(&ctx, enc, &buffers, &layout, seed, None)?);
        Ok(())
    })
    .unwrap();
    eprintln!("{:?}", stats.unwrap());
    let arenas: Vec<Vec<u8>> = buffers
        .iter()
        .map(|b| ctx.read_buffer(b, 0, b.size()).unwrap())
        .collect();
    let bad = check(&r, &layout, &arenas, seed, None);
    common::assert_no_mismatch(&bad, "tensors differ from the CPU");
}

/// The contract says a value never depends on how the output is split
/// into buffers: the split fill on the 64 MiB device is the same bytes as
/// one arena on the same adapter opened with its own limits (whatever the
/// CPU comparison above finds).
#[test]
fn split_equals_one_arena_on_the_same_adapter() {
    let (limited, name) = limited_gpu_on(MAX);
    let full = common::gpu();
    assert_eq!(Some(&name), full.adapter_info().map(|i| &i.name));
    let r = big_set();
    let seed = 0x005e_ed7b;
    let layout = r.split_arena_layout(None, ARENA_ALIGN, MAX).unwrap();
    let buffers = layout.create_buffers(&limited).unwrap();
    limited
        .submit_checked(|enc| {
            r.record_gpu_split(&limited, enc, &buffers, &layout, seed, None)?;
            Ok(())
        })
        .unwrap();
    let one = r.arena_layout(None, ARENA_ALIGN).unwrap();
    let arena = one.create_buffer(full).unwrap();
    full.submit_checked(|enc| {
        r.record_gpu(full, enc, &arena, &one, seed, None)?;
        Ok(())
    })
    .unwrap();
    let mut bad = Vec::new();
    for (i, p) in r.params().iter().enumerate() {
        let (b, at, len) = (layout.buffers[i], layout.offsets[i], layout.sizes[i]);
        let split = limited.read_buffer(&buffers[b], at, len).unwrap();
        let whole = full.read_buffer(&arena, one.offsets[i], len).unwrap();
        bad.extend(common::bit_difference(&p.name, p.dtype, &split, &whole));
    }
    assert!(bad.is_empty(), "split vs one arena:\n{}", bad.join("\n"));
}

#[test]
fn column_shard_one_reused_buffer_at_a_time_matches_cpu() {
    let ctx = limited_gpu(MAX);
    let r = big_set();
    let seed = 77;
    let shard = Shard::new(2, 1, ShardMode::Columns).unwrap();
    // 44 MiB: one device buffer would do; a 20 MiB limit splits it in 4
    // (embed | up | down, attn, lm_head: exactly 20 MiB | the small ones).
    let layout = r
        .split_arena_layout(Some(&shard), ARENA_ALIGN, 20 * MIB)
        .unwrap();
    assert_eq!(layout.buffers, vec![0, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3]);
    assert_eq!(layout.buffer_sizes[2], 20 * MIB);
    let largest = *layout.buffer_sizes.iter().max().unwrap();
    let buffer = common::new_storage_buffer(&ctx, largest, false);
    let mut arenas = Vec::new();
    for k in 0..layout.buffer_sizes.len() {
        canary_fill(&ctx, &buffer);
        ctx.submit_checked(|enc| {
            r.record_gpu_buffer(&ctx, enc, &buffer, &layout, k, seed, Some(&shard))?;
            Ok(())
        })
        .unwrap();
        arenas.push(ctx.read_buffer(&buffer, 0, layout.buffer_sizes[k]).unwrap());
    }
    let mut enc = ctx.device().create_command_encoder(&Default::default());
    assert!(matches!(
        r.record_gpu_buffer(&ctx, &mut enc, &buffer, &layout, 4, seed, Some(&shard)),
        Err(Error::RangeOutOfBounds {
            start: 4,
            len: 4,
            ..
        })
    ));
    let bad = check(&r, &layout, &arenas, seed, Some(&shard));
    common::assert_no_mismatch(&bad, "tensors differ from the CPU");
}

#[test]
fn split_layout_errors() {
    let r = big_set();
    // A tensor larger than a buffer: named, never split across buffers.
    let e = r
        .split_arena_layout(None, ARENA_ALIGN, 16 * MIB)
        .unwrap_err();
    assert!(
        matches!(&e, Error::Param { name, .. } if name == "mlp.up.weight"),
        "{e}"
    );
    assert!(e.to_string().contains("never spans two buffers"), "{e}");
    // Its column shard (16 MiB) fits exactly.
    let cols = Shard::new(2, 0, ShardMode::Columns).unwrap();
    let l = r
        .split_arena_layout(Some(&cols), ARENA_ALIGN, 16 * MIB)
        .unwrap();
    assert!(l.buffer_sizes.iter().all(|&b| b <= 16 * MIB));
    assert!(l.buffer_sizes.contains(&(16 * MIB)));
    assert!(r.split_arena_layout(None, 3, MAX).is_err());
    assert!(r.split_arena_layout(None, ARENA_ALIGN, 3).is_err());
    // A layout made for a larger limit than the device's.
    let ctx = limited_gpu(MAX);
    let wide = r.split_arena_layout(None, ARENA_ALIGN, 2 * MAX).unwrap();
    assert_eq!(wide.buffer_sizes.len(), 1);
    let e = wide.create_buffers(&ctx).unwrap_err();
    assert!(e.to_string().contains("max_buffer_size"), "{e}");
}
