//! The fill kernels' cost in figures that do not depend on machine load,
//! driven by `scripts/kernel_instructions.sh`:
//!
//! - `kernel_instructions fill KIND DTYPE NUMEL REPEATS`: REPEATS
//!   single-tensor fills of NUMEL elements into one buffer (KIND: uniform,
//!   normal, trunc_normal, constant, with the parameters of the issue's
//!   bench), each submitted and waited for, nothing else. Under
//!   `valgrind --tool=callgrind`, the difference of the instruction counts
//!   of two runs that differ only in REPEATS, over the difference of the
//!   elements filled, is the kernel's x86 instructions per element on a CPU
//!   adapter (lavapipe, llvmpipe): setup, buffer creation and shader
//!   compilation cancel.
//! - `kernel_instructions spirv`: the static instruction count of the SPIR-V
//!   naga emits for every module of the shader table (overrides applied,
//!   unreachable code compacted away, emulated multiply, naga's default
//!   bounds-check policy).
//!
//! Run: `cargo run --release --example kernel_instructions -- spirv`.

use weight_init::gpu::unstable::{ModuleOptions, MulHiLo, SHADERS};
use weight_init::gpu::GpuContext;
use weight_init::{wgpu, DType, Distribution, Normal, TensorKey, TruncatedNormal, Uniform};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["fill", kind, dtype, numel, repeats] => {
            fill(kind, dtype.parse()?, numel.parse()?, repeats.parse()?)
        }
        ["spirv"] => spirv(),
        _ => Err("usage: kernel_instructions fill KIND DTYPE NUMEL REPEATS | spirv".into()),
    }
}

/// The bench schemes, by kernel.
fn distribution(kind: &str) -> Result<Distribution, Box<dyn std::error::Error>> {
    Ok(match kind {
        "uniform" => Uniform::new(-1.0, 1.0)?.into(),
        "normal" => Normal::new(0.0, 1.0)?.into(),
        "trunc_normal" => TruncatedNormal::new(0.0, 0.02, -0.04, 0.04)?.into(),
        "constant" => Distribution::Constant(0.5),
        _ => return Err(format!("unknown kernel {kind:?}").into()),
    })
}

fn fill(
    kind: &str,
    dtype: DType,
    numel: u64,
    repeats: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let dist = distribution(kind)?;
    let ctx = GpuContext::new_default()?;
    let buffer = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("kernel_instructions"),
        size: (numel * dtype.size_bytes() as u64).next_multiple_of(4),
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    for _ in 0..repeats {
        ctx.fill(
            &buffer,
            0,
            &dist,
            dtype,
            &TensorKey::new(24301, 0, numel),
            0..numel,
        )?;
    }
    Ok(())
}

fn spirv() -> Result<(), Box<dyn std::error::Error>> {
    let options = ModuleOptions {
        mulhilo: MulHiLo::Emulated,
        table_len: 512,
    };
    for shader in &SHADERS {
        let src = shader.source(options);
        let module = naga::front::wgsl::parse_str(&src).map_err(|e| e.emit_to_string(&src))?;
        let info = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)?;
        let constants = shader
            .constants
            .iter()
            .map(|&(k, v)| (k.to_string(), v))
            .collect();
        let (module, _) =
            naga::back::pipeline_constants::process_overrides(&module, &info, None, &constants)?;
        // Without what the entry point never reaches, so that modules with
        // and without override constants count alike.
        let mut module = module.into_owned();
        naga::compact::compact(&mut module, naga::compact::KeepUnused::No);
        let info = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)?;
        let words =
            naga::back::spv::write_vec(&module, &info, &naga::back::spv::Options::default(), None)?;
        // After the 5-word header, each instruction's first word holds its
        // word count in the high 16 bits.
        let (mut at, mut count) = (5, 0);
        while at < words.len() {
            at += (words[at] >> 16).max(1) as usize;
            count += 1;
        }
        println!("{:<32} {count}", shader.name);
    }
    Ok(())
}
