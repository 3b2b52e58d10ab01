//! A training engine that owns its wgpu device, queue, buffers and command
//! encoder, and initializes its model's parameters through weight-init
//! without giving up control of submission.
//!
//! The engine:
//! 1. opens its own adapter and device (weight-init never sees the
//!    instance);
//! 2. allocates one weight buffer per layer group (its own layout: here
//!    the attention, MLP and the rest of each block share a buffer);
//! 3. describes its parameters (GPT-2 names and shapes) and resolves them
//!    with the `gpt2` preset;
//! 4. records the init into *its* encoder, next to its own work (zeroing
//!    the Adam moment buffers), and submits once, when it chooses;
//! 5. reads back a few tensors and checks them against the CPU backend.
//!
//! Run: `cargo run --release --example engine` (any adapter; on a machine
//! without a GPU, Mesa's lavapipe: `apt-get install mesa-vulkan-drivers`).

use std::collections::BTreeMap;

use weight_init::gpu::{GpuContext, GpuOptions};
use weight_init::model::{Param, ParamSet, Preset};
// The crate's own wgpu, so the engine's device and buffers are its types.
use weight_init::wgpu;
use weight_init::DType;

/// A small GPT-2: 4 blocks of width 256, vocabulary 4096, context 256.
const LAYERS: u64 = 4;
const WIDTH: u64 = 256;
const VOCAB: u64 = 4096;
const CONTEXT: u64 = 256;
const SEED: u64 = 2024;

/// The engine's own parameter list: (name, shape, which buffer it lives in).
fn parameters() -> Vec<(String, Vec<u64>, &'static str)> {
    let (h, v) = (WIDTH, VOCAB);
    let mut p = vec![
        ("wte.weight".to_string(), vec![v, h], "embeddings"),
        ("wpe.weight".to_string(), vec![CONTEXT, h], "embeddings"),
    ];
    for l in 0..LAYERS {
        let b = |s: &str| format!("h.{l}.{s}");
        p.extend([
            (b("ln_1.weight"), vec![h], "other"),
            (b("ln_1.bias"), vec![h], "other"),
            (b("attn.c_attn.weight"), vec![3 * h, h], "attention"),
            (b("attn.c_attn.bias"), vec![3 * h], "attention"),
            (b("attn.c_proj.weight"), vec![h, h], "attention"),
            (b("attn.c_proj.bias"), vec![h], "attention"),
            (b("ln_2.weight"), vec![h], "other"),
            (b("ln_2.bias"), vec![h], "other"),
            (b("mlp.c_fc.weight"), vec![4 * h, h], "mlp"),
            (b("mlp.c_fc.bias"), vec![4 * h], "mlp"),
            (b("mlp.c_proj.weight"), vec![h, 4 * h], "mlp"),
            (b("mlp.c_proj.bias"), vec![h], "mlp"),
        ]);
    }
    p.push(("ln_f.weight".to_string(), vec![h], "other"));
    p.push(("ln_f.bias".to_string(), vec![h], "other"));
    p
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The engine's device and queue.
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(wgpu::util::initialize_adapter_from_env_or_default(
        &instance, None,
    ))
    .map_err(|e| {
        format!("no adapter ({e}); on a machine without a GPU: apt-get install mesa-vulkan-drivers")
    })?;
    println!("adapter: {}", adapter.get_info().name);
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("engine"),
        required_features: adapter.features() & wgpu::Features::SHADER_INT64,
        required_limits: adapter.limits(),
        ..Default::default()
    }))?;
    // weight-init works on the engine's device; it keeps its pipelines.
    let init = GpuContext::from_device(device.clone(), queue.clone(), GpuOptions::default())?;

    // 2. The engine's buffers: tensors packed at 256-byte offsets.
    let params = parameters();
    let mut sizes: BTreeMap<&str, u64> = BTreeMap::new();
    let mut places = Vec::new();
    for (_, shape, group) in &params {
        let at = sizes.entry(group).or_default();
        let offset = at.next_multiple_of(256);
        *at = offset + 2 * shape.iter().product::<u64>();
        places.push((*group, offset));
    }
    let buffers: BTreeMap<&str, wgpu::Buffer> = sizes
        .iter()
        .map(|(&group, &size)| {
            let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(group),
                size: size.next_multiple_of(256),
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST
                    | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            (group, buffer)
        })
        .collect();
    let total: u64 = sizes.values().sum();
    let elements: u64 = params.iter().map(|p| p.1.iter().product::<u64>()).sum();
    // Adam's first and second moments, f32 per parameter element.
    let adam_moments = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("adam m and v"),
        size: 2 * 4 * elements,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });

    // 3. The parameters, resolved by the gpt2 preset (normal 0.02, residual
    // projections 0.02 / sqrt(2 * layers), zero biases, unit norm scales).
    let set = ParamSet::from_params(
        params
            .iter()
            .map(|(name, shape, _)| Param::new(name.clone(), shape.clone(), DType::BF16)),
    )?;
    let model = set.resolve(
        &Preset::Gpt2 {
            n_layers: Some(LAYERS),
            std: 0.02,
        }
        .rules(&set)?,
    )?;

    // 4. One encoder, the engine's: its own work and the init, then one
    // submit when the engine decides.
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("engine step 0"),
    });
    encoder.clear_buffer(&adam_moments, 0, None);
    let targets: Vec<(&wgpu::Buffer, u64)> = places
        .iter()
        .map(|(group, offset)| (&buffers[group], *offset))
        .collect();
    let stats = model.record_gpu_into(&init, &mut encoder, &targets, SEED, None)?;
    println!(
        "{} parameters ({:.1} MB bf16) in {} buffers: {} batch items, {} dispatches",
        params.len(),
        total as f64 / 1e6,
        buffers.len(),
        stats.batch_items,
        stats.dispatches
    );
    queue.submit([encoder.finish()]);

    // 5. Check a few tensors against the CPU backend: bit for bit for the
    // constant and zero ones; normal samples may differ in the last bf16
    // place where the driver fuses a multiply-add.
    let mut worst = 0u32;
    for name in [
        "wte.weight",
        "h.0.attn.c_proj.weight",
        "h.3.ln_2.weight",
        "ln_f.bias",
    ] {
        let i = params.iter().position(|p| p.0 == name).unwrap();
        let (group, offset) = places[i];
        let (_, cpu) = model.fill_param_cpu(i, SEED, None)?;
        let gpu = init.read_buffer(&buffers[group], offset, cpu.len() as u64)?;
        let (mut sum_sq, mut n, mut ulps) = (0.0f64, 0u64, 0u32);
        for (g, c) in gpu.chunks_exact(2).zip(cpu.chunks_exact(2)) {
            let (g, c) = (
                u16::from_le_bytes([g[0], g[1]]),
                u16::from_le_bytes([c[0], c[1]]),
            );
            let value = f32::from_bits((g as u32) << 16) as f64;
            sum_sq += value * value;
            n += 1;
            ulps = ulps.max(ordered(g).abs_diff(ordered(c)));
        }
        worst = worst.max(ulps);
        println!(
            "  {name:24} rms {:.5}  GPU vs CPU: at most {ulps} bf16 ULP apart",
            (sum_sq / n as f64).sqrt()
        );
    }
    if worst > 1 {
        return Err(format!("GPU and CPU differ by {worst} bf16 ULP").into());
    }
    Ok(())
}

/// A bf16 pattern as an integer that counts representable values in order,
/// so that the difference of two is their distance in ULP.
fn ordered(bits: u16) -> i32 {
    if bits & 0x8000 != 0 {
        -((bits & 0x7fff) as i32)
    } else {
        bits as i32
    }
}

// `cargo test` runs the example end to end (Cargo.toml: `test = true`).
#[cfg(test)]
mod tests {
    #[test]
    fn engine_initializes_its_model() {
        super::main().unwrap();
    }
}
