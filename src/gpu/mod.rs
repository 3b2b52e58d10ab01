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
//! [`crate::sample`].
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
    /// software adapter) when there is none.
    pub fn new_default() -> Result<Self> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(wgpu::util::initialize_adapter_from_env_or_default(
            &instance, None,
        ))
        .map_err(|e| Error::NoAdapter {
            reason: e.to_string(),
        })?;
        Self::from_adapter(&adapter, GpuOptions::default())
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
            reason: format!("request_device failed: {e}"),
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
                message: format!("building the fill pipelines failed: {e}"),
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

    /// Submits `encoder`'s work, waits for it and returns the first device
    /// error (validation or out of memory) raised while `record` ran or the
    /// work executed.
    pub fn submit_checked(
        &self,
        record: impl FnOnce(&mut wgpu::CommandEncoder) -> Result<()>,
    ) -> Result<()> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("weight-init"),
            });
        let recorded = record(&mut encoder);
        if recorded.is_ok() {
            let index = self.queue.submit([encoder.finish()]);
            self.device
                .poll(wgpu::PollType::Wait {
                    submission_index: Some(index),
                    timeout: None,
                })
                .map_err(|e| Error::Gpu {
                    message: e.to_string(),
                })?;
        }
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        recorded?;
        match v.or(o) {
            Some(e) => Err(Error::Gpu {
                message: e.to_string(),
            }),
            None => Ok(()),
        }
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
        let groups: Vec<(wgpu::BindGroup, [u32; 2])> = plan
            .iter()
            .map(|w| {
                let params = FillParams::new(&sampler, key, w);
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
            .collect();
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
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("weight-init readback"),
            size: hi - lo,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
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
                message: e.to_string(),
            })?;
        rx.recv()
            .map_err(|e| Error::Gpu {
                message: e.to_string(),
            })?
            .map_err(|e| Error::Gpu {
                message: e.to_string(),
            })?;
        let data = slice.get_mapped_range().map_err(|e| Error::Gpu {
            message: e.to_string(),
        })?;
        let out = data[(offset - lo) as usize..(end - lo) as usize].to_vec();
        drop(data);
        staging.unmap();
        Ok(out)
    }
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
