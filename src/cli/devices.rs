//! `weight-init devices`.

use std::process::ExitCode;

use serde_json::json;

use super::report::{self, Backend, Common};
use super::{CliResult, DevicesArgs};

/// What `devices` prints when it finds no adapter.
const NO_ADAPTER: &str = "no GPU adapter found (fills run on the CPU backend); for a software one \
     install mesa-vulkan-drivers (lavapipe) or libegl-mesa0 + libgl1-mesa-dri (llvmpipe GL)";

/// Lists every adapter on every backend, with what matters for fills.
pub fn run(args: &DevicesArgs) -> CliResult {
    // A WGPU_* value that names nothing is the user's mistake to see, not
    // "no adapter found".
    weight_init::gpu::check_environment()?;
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    if args.json {
        return json_lines(&adapters);
    }
    if adapters.is_empty() {
        println!("{NO_ADAPTER}");
        return Ok(ExitCode::SUCCESS);
    }
    for (i, a) in adapters.iter().enumerate() {
        let info = a.get_info();
        let l = a.limits();
        let int64 = a.features().contains(wgpu::Features::SHADER_INT64);
        println!("[{i}] {}", info.name);
        println!(
            "    backend: {:?}, type: {:?}",
            info.backend, info.device_type
        );
        println!("    driver: {} {}", info.driver, info.driver_info);
        println!(
            "    max buffer: {} MiB, max storage binding: {} MiB, storage offset alignment: {} B",
            l.max_buffer_size >> 20,
            l.max_storage_buffer_binding_size >> 20,
            l.min_storage_buffer_offset_alignment
        );
        println!(
            "    workgroups per dimension: {}, SHADER_INT64: {}",
            l.max_compute_workgroups_per_dimension,
            if int64 {
                "yes"
            } else {
                "no (16-bit-halves multiply)"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--json`: one row per adapter (the table's fields), then a summary
/// with the count (and, with none, the hint the table prints).
fn json_lines(adapters: &[wgpu::Adapter]) -> CliResult {
    for (i, a) in adapters.iter().enumerate() {
        let info = a.get_info();
        let l = a.limits();
        let common = Common {
            command: "devices",
            backend: Backend::Gpu,
            adapter: Some(info.name.clone()),
            seed: None,
        };
        report::print(&common.row(json!({
            "index": i,
            "wgpu_backend": format!("{:?}", info.backend),
            "device_type": format!("{:?}", info.device_type),
            "driver": info.driver,
            "driver_info": info.driver_info,
            "max_buffer_bytes": l.max_buffer_size,
            "max_storage_binding_bytes": l.max_storage_buffer_binding_size,
            "storage_offset_alignment": l.min_storage_buffer_offset_alignment,
            "max_workgroups_per_dimension": l.max_compute_workgroups_per_dimension,
            "shader_int64": a.features().contains(wgpu::Features::SHADER_INT64),
        })))?;
    }
    // With no adapter every fill runs on the CPU backend.
    let common = match adapters.first() {
        Some(_) => Common {
            command: "devices",
            backend: Backend::Gpu,
            adapter: None,
            seed: None,
        },
        None => Common::cpu("devices", None),
    };
    report::print(&common.summary(json!({
        "adapters": adapters.len(),
        "note": adapters.is_empty().then_some(NO_ADAPTER),
    })))?;
    Ok(ExitCode::SUCCESS)
}
