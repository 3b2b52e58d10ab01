//! A training engine that owns its wgpu device, queue, buffers and command
//! encoder, and initializes its parameters through weight-init without
//! giving up control of submission: the whole GPT-2 body through the model
//! API (one batch per buffer), and a classification head of its own through
//! the one-call API, its host work done on another thread.
//!
//! Run: `cargo run --release --example engine` (any adapter; on a machine
//! without a GPU, Mesa's lavapipe: `apt-get install mesa-vulkan-drivers`).

use weight_init::gpu::GpuContext;
use weight_init::model::{Param, ParamSet, Preset};
use weight_init::wgpu; // the crate's own wgpu: the engine's types are its types
use weight_init::{DType, TensorInit};

const LAYERS: u64 = 4;
const WIDTH: u64 = 256;
const SEED: u64 = 2024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The engine's device and queue; weight-init never sees the instance.
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(wgpu::util::initialize_adapter_from_env_or_default(
        &instance, None,
    ))
    .map_err(|e| format!("no adapter ({e}); without a GPU: apt-get install mesa-vulkan-drivers"))?;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        required_features: adapter.features() & wgpu::Features::SHADER_INT64,
        required_limits: adapter.limits(),
        ..Default::default()
    }))?;
    let init = GpuContext::from_device(device.clone(), queue.clone(), Default::default())?;

    // The head's host work (resolving; for an orthogonal init, its QR) off
    // the recording thread.
    let head = std::thread::spawn(|| {
        TensorInit::new("head.weight", &[10, WIDTH], "orthogonal(gain=0.1)")?
            .dtype(DType::BF16)
            .prepare(SEED)
    });

    // The GPT-2 blocks, resolved by the gpt2 preset.
    let h = WIDTH;
    let set = ParamSet::from_params((0..LAYERS).flat_map(|l| {
        [
            ("ln_1.weight", vec![h]),
            ("attn.c_attn.weight", vec![3 * h, h]),
            ("attn.c_proj.weight", vec![h, h]),
            ("mlp.c_fc.weight", vec![4 * h, h]),
            ("mlp.c_proj.weight", vec![h, 4 * h]),
            ("mlp.c_proj.bias", vec![h]),
        ]
        .map(|(name, shape)| Param::new(format!("h.{l}.{name}"), shape, DType::BF16))
    }))?;
    let model = set.resolve(&"gpt2".parse::<Preset>()?.rules(&set)?)?;

    // The engine's one buffer: its own packing (256-byte aligned, so each
    // tensor can be bound alone), the head at the end.
    let mut offsets = Vec::new();
    let mut end = 0u64;
    for p in model.params() {
        offsets.push(end.next_multiple_of(256));
        end = offsets.last().unwrap() + 2 * p.shape.iter().product::<u64>();
    }
    let head = head.join().expect("the head's thread")?;
    let head_at = end.next_multiple_of(256);
    let weights = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("weights"),
        size: (head_at + head.byte_len()).next_multiple_of(4),
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });

    // The engine's encoder: its own work, then the init; one submit, when
    // the engine decides. Nothing here waits for the device.
    let mut encoder = device.create_command_encoder(&Default::default());
    encoder.clear_buffer(&weights, 0, None);
    let targets: Vec<_> = offsets.iter().map(|&at| (&weights, at)).collect();
    let stats = model.record_gpu_into(&init, &mut encoder, &targets, SEED, None)?;
    init.record_tensor(&mut encoder, &weights, head_at, &head)?;
    queue.submit([encoder.finish()]);
    println!(
        "{} tensors ({:.1} MB bf16): {} dispatches",
        model.params().len() + 1,
        (head_at + head.byte_len()) as f64 / 1e6,
        stats.dispatches
    );

    // The GPU wrote exactly the CPU's bytes.
    for (i, &at) in offsets.iter().enumerate().step_by(5) {
        let (_, cpu) = model.fill_param_cpu(i, SEED, None)?;
        assert_eq!(init.read_buffer(&weights, at, cpu.len() as u64)?, cpu);
    }
    let mut cpu = vec![0u8; head.byte_len() as usize];
    head.fill_bytes(&mut cpu)?;
    assert_eq!(init.read_buffer(&weights, head_at, head.byte_len())?, cpu);
    println!("GPU bytes equal the CPU's");
    Ok(())
}

// `cargo test` runs the example end to end (Cargo.toml: `test = true`).
