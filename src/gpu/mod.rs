//! The wgpu backend: fills element ranges of device buffers with the
//! contract's values, bit for bit equal to [`crate::cpu`] for every
//! distribution and dtype (`docs/CONTRACT.md` says how the kernels keep any
//! conforming shader compiler from changing a result; tested on Mesa's
//! lavapipe and llvmpipe GL, no hardware GPU measured yet).
//!
//! A [`GpuContext`] wraps a `wgpu::Device` and `Queue` (the caller's, or one
//! it opens itself) and holds the compute pipelines, built once. A fill is
//! either recorded into the caller's `CommandEncoder`
//! ([`GpuContext::record_fill`]: no submit, no blocking) or submitted by the
//! context ([`GpuContext::fill`]: waits and reports device errors).
//!
//! Buffers larger than the device's storage-binding limit are filled through
//! binding windows aligned to `min_storage_buffer_offset_alignment`; the
//! 64-bit element index of each window's first position travels in a
//! uniform, and grids past the per-dimension workgroup limit are split in
//! two dimensions. Kernels are `shaders/fill_*.wgsl` on top of
//! `shaders/philox.wgsl`, the line-for-line twin of [`crate::philox`] and
//! [`crate::kernel`].
//!
//! Structured inits ([`GpuContext::record_structured`],
//! [`GpuContext::fill_structured`]) use the same windows and stores through
//! `shaders/fill_structured.wgsl` and `shaders/sparse_thresholds.wgsl`;
//! their pipelines are built on first use.
//!
//! Batched fills ([`GpuContext::record_batch`], [`GpuContext::fill_batch`])
//! write many tensors, or parts of them, with a bounded number of dispatches
//! through `shaders/fill_batch.wgsl`, reading a descriptor table from a
//! uniform buffer.
//!
//! Buffers passed to a context must come from its own device: wgpu offers
//! no way to ask a buffer for its device, and its core looks objects up by
//! id, so a buffer of another instance's device can be taken for an
//! unrelated object of this one (the call then usually fails validation,
//! but that cannot be guaranteed).
//!
//! The signal-propagation diagnostic ([`GpuContext::diagnose`], see
//! [`crate::diagnose`]) runs its matrix-multiply, activation and statistics
//! kernels on the same context; its pipelines are built on first use too.

mod batch;
mod diagnose;
mod fill;
mod shaders;
mod structured;

use std::collections::HashMap;

pub use batch::{BatchItem, BatchReport, ItemView};
pub use diagnose::{diagnose_shader_source, DIAGNOSE_SHADERS};
pub use fill::FillParams;
pub use shaders::{batch_shader_source, shader_source, BatchView, Kernel, MulHiLo};
pub use structured::StructureParams;

use crate::error::{Error, Result};

/// Limits a [`GpuContext`] applies on top of the device's own, so tests can
/// exercise window and grid splitting on small buffers.
///
/// ```
/// use weight_init::gpu::GpuOptions;
/// let opts = GpuOptions { max_window_bytes: Some(1 << 20), ..Default::default() };
/// assert_eq!(opts.max_workgroups_per_dimension, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// Largest storage binding (bytes) a fill uses; the device limit if
    /// `None` or larger. Rounded down to the offset alignment.
    pub max_window_bytes: Option<u64>,
    /// Largest workgroup count per grid dimension; the device limit if
    /// `None` or larger.
    pub max_workgroups_per_dimension: Option<u32>,
    /// Use the 16-bit-halves multiply even where the device has 64-bit
    /// integers (both give the same words; this lets tests compare them).
    pub force_emulated_mulhilo: bool,
}

/// A device, its queue and the fill pipelines. `Send + Sync`: fills may be
/// recorded and submitted from several threads at once.
///
/// ```no_run
/// use weight_init::gpu::GpuContext;
/// use weight_init::{DType, Normal, TensorKey};
/// let ctx = GpuContext::new_default()?;
/// let n = 1 << 20;
/// let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
///     label: None,
///     size: 4 * n,
///     usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
///     mapped_at_creation: false,
/// });
/// let dist = Normal::new(0.0, 0.02)?.into();
/// ctx.fill(&buf, 0, &dist, DType::F32, &TensorKey::new(42, 0, n), 0..n)?;
/// let bytes = ctx.read_buffer(&buf, 0, 4 * n)?;
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug)]
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    layout: wgpu::BindGroupLayout,
    pipelines: HashMap<Kernel, wgpu::ComputePipeline>,
    mulhilo: MulHiLo,
    max_window_bytes: u64,
    max_workgroups: u32,
    offset_alignment: u64,
    info: Option<wgpu::AdapterInfo>,
    /// The structured kernels' pipelines, built on first use.
    structured: std::sync::OnceLock<Result<structured::Pipelines>>,
    /// The batched-fill pipelines, built on first use.
    batch: std::sync::OnceLock<Result<batch::Pipelines>>,
    /// The signal-propagation diagnostic's pipelines, built on first use.
    diagnose: std::sync::OnceLock<Result<diagnose::Pipelines>>,
}

impl GpuContext {
    /// Opens the default adapter, honouring `WGPU_BACKEND`,
    /// `WGPU_ADAPTER_NAME` and `WGPU_POWER_PREF`, and requests the adapter's
    /// own limits and its `SHADER_INT64` feature where present.
    ///
    /// Fails with [`Error::NoAdapter`] (whose message says how to install a
    /// software adapter) when there is none, and with
    /// [`Error::Environment`] naming the variable and its value when
    /// `WGPU_BACKEND` names no backend wgpu knows, `WGPU_POWER_PREF` is
    /// not `low`, `high` or `none`, or `WGPU_ADAPTER_NAME` matches no
    /// adapter (wgpu's own helper panics there; this never does: a panic
    /// inside wgpu while opening the adapter is caught and returned as
    /// [`Error::Gpu`]).
    pub fn new_default() -> Result<Self> {
        check_environment()?;
        contain("opening the default adapter", || {
            let instance = wgpu::Instance::new(
                wgpu::InstanceDescriptor::new_without_display_handle_from_env(),
            );
            let adapter = match std::env::var("WGPU_ADAPTER_NAME") {
                Ok(want) => {
                    let adapters =
                        pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
                    let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
                    let lower = want.to_lowercase();
                    adapters
                        .into_iter()
                        .find(|a| a.get_info().name.to_lowercase().contains(&lower))
                        .ok_or_else(|| Error::Environment {
                            var: "WGPU_ADAPTER_NAME",
                            value: want.clone(),
                            reason: if names.is_empty() {
                                "no adapter at all was found to match it".into()
                            } else {
                                format!("matches none of the adapters found: {}", names.join(", "))
                            },
                        })?
                }
                Err(_) => {
                    pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                        power_preference: wgpu::PowerPreference::from_env().unwrap_or_default(),
                        compatible_surface: None,
                        ..Default::default()
                    }))
                    .map_err(|e| Error::NoAdapter {
                        reason: e.to_string(),
                    })?
                }
            };
            Self::from_adapter(&adapter, GpuOptions::default())
        })
    }

    /// Opens a device on `adapter` with its own limits and `SHADER_INT64`
    /// where present.
    pub fn from_adapter(adapter: &wgpu::Adapter, options: GpuOptions) -> Result<Self> {
        let required_features = adapter.features() & wgpu::Features::SHADER_INT64;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("weight-init"),
            required_features,
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| Error::NoAdapter {
            reason: format!("request_device failed: {}", one_line(&e)),
        })?;
        Self::with_info(device, queue, Some(adapter.get_info()), options)
    }

    /// Wraps the caller's device and queue (an engine's own). Builds the
    /// pipelines once; uses 64-bit integer multiplies if the device was
    /// created with `SHADER_INT64`.
    pub fn from_device(
        device: wgpu::Device,
        queue: wgpu::Queue,
        options: GpuOptions,
    ) -> Result<Self> {
        Self::with_info(device, queue, None, options)
    }

    fn with_info(
        device: wgpu::Device,
        queue: wgpu::Queue,
        info: Option<wgpu::AdapterInfo>,
        options: GpuOptions,
    ) -> Result<Self> {
        let limits = device.limits();
        let mulhilo = if device.features().contains(wgpu::Features::SHADER_INT64)
            && !options.force_emulated_mulhilo
        {
            MulHiLo::Int64
        } else {
            MulHiLo::Emulated
        };
        let offset_alignment = limits.min_storage_buffer_offset_alignment as u64;
        let device_window = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let max_window = options
            .max_window_bytes
            .map_or(device_window, |w| w.min(device_window));
        let max_window_bytes = max_window / offset_alignment * offset_alignment;
        if max_window_bytes == 0 {
            return Err(Error::Gpu {
                message: format!(
                    "storage binding limit {max_window} is below the offset alignment {offset_alignment}"
                ),
            });
        }
        let max_workgroups = options
            .max_workgroups_per_dimension
            .map_or(limits.max_compute_workgroups_per_dimension, |m| {
                m.min(limits.max_compute_workgroups_per_dimension)
            })
            .max(1);

        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("weight-init fill"),
            entries: &[storage_entry(0), uniform_entry(1, FillParams::SIZE)],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("weight-init fill"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let mut pipelines = HashMap::new();
        for kernel in Kernel::ALL {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(kernel.file_name()),
                source: wgpu::ShaderSource::Wgsl(shader_source(kernel, mulhilo).into()),
            });
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.file_name()),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
            pipelines.insert(kernel, pipeline);
        }
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu {
                message: format!("building the fill pipelines failed: {}", one_line(&e)),
            });
        }
        Ok(Self {
            device,
            queue,
            layout,
            pipelines,
            mulhilo,
            max_window_bytes,
            max_workgroups,
            offset_alignment,
            info,
            structured: std::sync::OnceLock::new(),
            batch: std::sync::OnceLock::new(),
            diagnose: std::sync::OnceLock::new(),
        })
    }

    /// The device.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// What the adapter says of itself; `None` for a caller's device
    /// ([`Self::from_device`]).
    pub fn adapter_info(&self) -> Option<&wgpu::AdapterInfo> {
        self.info.as_ref()
    }

    /// Which 32x32 -> 64-bit multiply the kernels use.
    pub fn mulhilo(&self) -> MulHiLo {
        self.mulhilo
    }

    /// Largest binding window, in bytes, a fill uses.
    pub fn max_window_bytes(&self) -> u64 {
        self.max_window_bytes
    }

    /// Runs `f`, which creates objects on the device (bind groups, uniform
    /// or staging buffers) from a caller's input, inside validation and
    /// out-of-memory error scopes, and returns the first device error as
    /// [`Error::Gpu`]: a caller's destroyed or foreign buffer never reaches
    /// wgpu's uncaptured-error handler, which panics by default. A panic
    /// inside `f` is caught the same way.
    pub(crate) fn scoped<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        let r = r.map_err(|p| Error::Gpu {
            message: format!("wgpu panicked while {what}: {}", panic_message(&*p)),
        })?;
        if let Some(e) = v.or(o) {
            return Err(Error::Gpu {
                message: format!("{what}: {}", one_line(&e)),
            });
        }
        r
    }

    /// Submits `encoder`'s work, waits for it and returns the first device
    /// error (validation or out of memory) raised while `record` ran or the
    /// work executed.
    pub fn submit_checked(
        &self,
        record: impl FnOnce(&mut wgpu::CommandEncoder) -> Result<()>,
    ) -> Result<()> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        // A panic inside wgpu (a caller's object it did not expect) is
        // caught so that the scopes are still popped and the caller gets an
        // error, never an unwinding thread.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("weight-init"),
                });
            let recorded = record(&mut encoder);
            let mut polled = Ok(());
            if recorded.is_ok() {
                let index = self.queue.submit([encoder.finish()]);
                polled = self
                    .device
                    .poll(wgpu::PollType::Wait {
                        submission_index: Some(index),
                        timeout: None,
                    })
                    .map(|_| ());
            }
            (recorded, polled)
        }));
        // The scopes first: when the submission was invalid (a destroyed or
        // mapped buffer), they hold the real cause, and the failed wait
        // only says that the submission never happened.
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        let (recorded, polled) = run.map_err(|p| Error::Gpu {
            message: format!(
                "wgpu panicked while recording or submitting: {}",
                panic_message(&*p)
            ),
        })?;
        recorded?;
        if let Some(e) = v.or(o) {
            return Err(Error::Gpu {
                message: one_line(&e),
            });
        }
        polled.map_err(|e| Error::Gpu {
            message: format!("waiting for the submitted work failed: {}", one_line(&e)),
        })
    }

    /// Fills elements `range` of tensor `key` into `buffer` starting at
    /// `byte_offset`, submits and waits. Element `range.start + i` lands at
    /// byte `byte_offset + i * dtype.size_bytes()`; nothing outside those
    /// bytes changes (16-bit halves that share a word with the range keep
    /// their bits).
    ///
    /// Errors: see [`Self::record_fill`], plus device errors caught by error
    /// scopes.
    pub fn fill(
        &self,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        dist: &crate::Distribution,
        dtype: crate::DType,
        key: &crate::TensorKey,
        range: std::ops::Range<u64>,
    ) -> Result<()> {
        self.submit_checked(|enc| {
            self.record_fill(enc, buffer, byte_offset, dist, dtype, key, range)
        })
    }

    /// Records the fill of [`Self::fill`] into the caller's `encoder`:
    /// nothing is submitted and nothing blocks. Bad input returns an error
    /// before anything is recorded: a buffer without `STORAGE` usage, a
    /// byte offset not a multiple of the element size, a range past the
    /// tensor, bytes past the buffer's end, parameters the dtype cannot
    /// represent.
    #[allow(clippy::too_many_arguments)]
    pub fn record_fill(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        dist: &crate::Distribution,
        dtype: crate::DType,
        key: &crate::TensorKey,
        range: std::ops::Range<u64>,
    ) -> Result<()> {
        let sampler = crate::Sampler::new(dist, dtype)?;
        let plan = fill::plan(
            buffer.size(),
            buffer.usage(),
            byte_offset,
            dtype,
            key,
            range,
            self.max_window_bytes,
            self.max_workgroups,
            self.offset_alignment,
        )?;
        let kernel = Kernel::for_sampler(&sampler);
        let pipeline = &self.pipelines[&kernel];
        let groups = self.scoped("binding the buffer", || {
            Ok(self.fill_bind_groups(buffer, &sampler, key, &plan))
        })?;
        if groups.is_empty() {
            return Ok(());
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("weight-init fill"),
            timestamp_writes: None,
        });
        pass.set_pipeline(pipeline);
        for (bind, grid) in &groups {
            pass.set_bind_group(0, bind, &[]);
            pass.dispatch_workgroups(grid[0], grid[1], 1);
        }
        Ok(())
    }

    /// One bind group (and params uniform) per window of a fill plan.
    fn fill_bind_groups(
        &self,
        buffer: &wgpu::Buffer,
        sampler: &crate::Sampler,
        key: &crate::TensorKey,
        plan: &[fill::Window],
    ) -> Vec<(wgpu::BindGroup, [u32; 2])> {
        plan.iter()
            .map(|w| {
                let params = FillParams::new(sampler, key, w);
                let uniform = wgpu::util::DeviceExt::create_buffer_init(
                    &self.device,
                    &wgpu::util::BufferInitDescriptor {
                        label: Some("weight-init params"),
                        contents: bytemuck::bytes_of(&params),
                        usage: wgpu::BufferUsages::UNIFORM,
                    },
                );
                let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("weight-init fill"),
                    layout: &self.layout,
                    entries: &[
                        wgpu::BindGroupEntry {
                            binding: 0,
                            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer,
                                offset: w.bind_offset,
                                size: wgpu::BufferSize::new(w.bind_size),
                            }),
                        },
                        wgpu::BindGroupEntry {
                            binding: 1,
                            resource: uniform.as_entire_binding(),
                        },
                    ],
                });
                (bind, w.grid)
            })
            .collect()
    }

    /// Copies `size` bytes at `offset` of `buffer` (which needs `COPY_SRC`)
    /// back to the host. For tests and tools; blocks.
    pub fn read_buffer(&self, buffer: &wgpu::Buffer, offset: u64, size: u64) -> Result<Vec<u8>> {
        if !buffer.usage().contains(wgpu::BufferUsages::COPY_SRC) {
            return Err(Error::BufferUsage {
                have: buffer.usage(),
                missing: "COPY_SRC",
            });
        }
        let end = offset.saturating_add(size);
        if end > buffer.size() {
            return Err(Error::BufferTooSmall {
                start: offset,
                end,
                size: buffer.size(),
            });
        }
        // Copies move whole 4-byte words: widen, then cut.
        let lo = offset / 4 * 4;
        let hi = end.div_ceil(4) * 4;
        if size == 0 {
            return Ok(Vec::new());
        }
        let staging = self.scoped("creating the readback buffer", || {
            Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("weight-init readback"),
                size: hi - lo,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }))
        })?;
        self.submit_checked(|enc| {
            enc.copy_buffer_to_buffer(buffer, lo, &staging, 0, hi - lo);
            Ok(())
        })?;
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu {
                message: one_line(&e),
            })?;
        rx.recv()
            .map_err(|e| Error::Gpu {
                message: one_line(&e),
            })?
            .map_err(|e| Error::Gpu {
                message: one_line(&e),
            })?;
        let data = slice.get_mapped_range().map_err(|e| Error::Gpu {
            message: one_line(&e),
        })?;
        let out = data[(offset - lo) as usize..(end - lo) as usize].to_vec();
        drop(data);
        staging.unmap();
        Ok(out)
    }
}

/// Checks the environment variables wgpu reads (`WGPU_BACKEND`,
/// `WGPU_POWER_PREF`, `WGPU_ADAPTER_NAME`), which wgpu would silently
/// ignore (or, in its helper, panic on) when their value is wrong:
/// [`Error::Environment`] names the variable and the value.
/// [`GpuContext::new_default`] calls it first.
///
/// ```
/// // With none of them set (or set to usable values), nothing to say.
/// # if std::env::var_os("WGPU_BACKEND").is_none() && std::env::var_os("WGPU_POWER_PREF").is_none() {
/// weight_init::gpu::check_environment()?;
/// # }
/// # Ok::<(), weight_init::Error>(())
/// ```
pub fn check_environment() -> Result<()> {
    if let Some(v) = std::env::var_os("WGPU_BACKEND") {
        let value = v.to_string_lossy().into_owned();
        let known = [
            "vulkan", "vk", "dx12", "d3d12", "metal", "mtl", "opengl", "gles", "gl", "webgpu",
            "noop",
        ];
        let bad: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|b| !known.contains(&b.to_lowercase().as_str()))
            .collect();
        if !bad.is_empty() {
            return Err(Error::Environment {
                var: "WGPU_BACKEND",
                value: value.clone(),
                reason: format!(
                    "{} not a backend; expected a comma-separated list of vulkan, gl, metal, \
                     dx12 (or unset it to try them all)",
                    bad.iter()
                        .map(|b| format!("{b:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                        + if bad.len() == 1 { " is" } else { " are" }
                ),
            });
        }
    }
    if let Some(v) = std::env::var_os("WGPU_POWER_PREF") {
        let value = v.to_string_lossy().into_owned();
        if !["low", "high", "none"].contains(&value.to_lowercase().as_str()) {
            return Err(Error::Environment {
                var: "WGPU_POWER_PREF",
                value,
                reason: "expected low, high or none".into(),
            });
        }
    }
    if let Some(v) = std::env::var_os("WGPU_ADAPTER_NAME") {
        if v.to_str().is_none() {
            return Err(Error::Environment {
                var: "WGPU_ADAPTER_NAME",
                value: v.to_string_lossy().into_owned(),
                reason: "is not valid UTF-8".into(),
            });
        }
    }
    Ok(())
}

/// A wgpu error on one line: its "Caused by:" chain joined with ": ", so
/// the cause (e.g. "Buffer with 'w' label has been destroyed") is in the
/// one line the CLI prints.
pub(crate) fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Caused by:")
        .collect::<Vec<_>>()
        .join(": ")
}

/// Runs `f`, turning a panic inside it (inside wgpu, as a last resort)
/// into [`Error::Gpu`] saying what was being done.
fn contain<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        Err(Error::Gpu {
            message: format!("wgpu panicked while {what}: {}", panic_message(&*p)),
        })
    })
}

/// The text of a caught panic.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// A read-write storage buffer binding of a compute shader.
pub(crate) fn storage_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only: false },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A uniform buffer binding of a compute shader, at least `size` bytes.
pub(crate) fn uniform_entry(binding: u32, size: u64) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: wgpu::BufferSize::new(size),
        },
        count: None,
    }
}
