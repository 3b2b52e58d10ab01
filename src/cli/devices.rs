//! `weight-init devices`.

use std::process::ExitCode;

use super::CliResult;

/// Lists every adapter on every backend, with what matters for fills.
pub fn run() -> CliResult {
    // A WGPU_* value that names nothing is the user's mistake to see, not
    // "no adapter found".
    weight_init::gpu::check_environment()?;
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    if adapters.is_empty() {
        println!(
            "no GPU adapter found (fills run on the CPU backend); for a software one install \
             mesa-vulkan-drivers (lavapipe) or libegl-mesa0 + libgl1-mesa-dri (llvmpipe GL)"
        );
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
