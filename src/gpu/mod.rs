//! The wgpu backend: fills element ranges of device buffers with the
//! contract's values, bit for bit equal to [`crate::cpu`] for every
//! distribution and dtype (`docs/CONTRACT.md` says how the kernels keep any
//! conforming shader compiler from changing a result; tested on Mesa's
//! lavapipe and llvmpipe GL, no hardware GPU measured yet).
//!
//! A [`GpuContext`] wraps a `wgpu::Device` and `Queue` (the caller's, or one
//! it opens itself) and holds the compute pipelines, each built once, on
//! first use. A fill is either recorded into the caller's `CommandEncoder`
//! ([`GpuContext::record_fill`]: no submit, no blocking) or submitted by the
//! context ([`GpuContext::fill`]: waits and reports device errors).
//!
//! How a fill goes from an [`crate::Init`] to bytes: the scheme resolves to
//! distributions ([`crate::Sampler`]) or a structured plan; the fill is
//! checked and cut into binding windows (`fill.rs`, or `batch.rs` for many
//! items at once, or `structured.rs`); each window becomes a dispatch of a
//! pipeline of the shader table, recorded by the engine (`engine.rs`).
//!
//! - `shaders.rs`: the shader table (`SHADERS`): which
//!   files of `shaders/` make up each module and how it is specialised
//!   (`override` constants, a generated `const` prelude). Every module is
//!   `mulhilo_*.wgsl` + `philox.wgsl` (generator and transforms, the
//!   line-for-line twin of `src/kernel.rs`) +
//!   `kernel_io.wgsl` (the kernel interface) + the kernel's own files.
//! - `engine.rs`: the one pipeline builder (once per device, under one
//!   error scope, cached in the context), the one dispatch type and its
//!   recording, the grid split past the per-dimension workgroup limit, and
//!   device work under error scopes ([`GpuContext::submit_checked`],
//!   [`GpuContext::create_buffer_checked`]).
//! - `fill.rs`: binding windows and the kernels' uniform (`FillParams`).
//!   Buffers larger than the device's storage-binding limit are filled
//!   through windows aligned to `min_storage_buffer_offset_alignment`; the
//!   64-bit element index of each window's first position travels in a
//!   uniform, and grids past the per-dimension workgroup limit are split in
//!   two dimensions.
//! - `batch.rs`: batched fills ([`GpuContext::record_batch`],
//!   [`GpuContext::fill_batch`]) write many tensors, or parts of them, with
//!   a bounded number of dispatches, reading a descriptor table from a
//!   uniform buffer.
//! - `structured.rs`: structured inits ([`GpuContext::record_structured`],
//!   [`GpuContext::fill_structured`]) through the same windows and stores,
//!   host-prepared values ([`StructuredValues`],
//!   [`GpuContext::record_structured_values`]) and the one values path that
//!   writes host bytes at any legal offset.
//! - `jobs.rs`: lists of fill jobs ([`GpuContext::record_jobs`],
//!   [`RecordStats`]), the engine-facing form of the model API.
//!
//! # Alignment
//!
//! One rule for every entry point that places a tensor in a caller's buffer
//! ([`GpuContext::fill`], [`GpuContext::record_fill`],
//! [`GpuContext::record_batch`], [`GpuContext::record_structured`],
//! [`GpuContext::record_structured_values`], [`GpuContext::record_jobs`],
//! and the model's `record_gpu`, `record_gpu_into`, `record_gpu_split`,
//! `record_gpu_buffer`), checked by one function before anything is
//! recorded, as permissive as WebGPU allows:
//!
//! - **32-bit tensors** (f32) start at a byte offset that is a multiple
//!   of 4;
//! - **16-bit tensors** (f16, bf16) start at **any even** byte offset and
//!   hold any number of elements: a head or tail that shares a 4-byte word
//!   with other bytes is written by a read-modify-write of its half, and
//!   the other half of the word keeps its bits (two tensors that share a
//!   word are written by consecutive dispatches, never racing);
//! - **host bytes** (`FillJob::Upload`, prepared
//!   [`StructuredValues`]) follow their tensor's rule; an `Upload` job
//!   carries no dtype and takes any even offset and an even byte count.
//!   They are copied with `copy_buffer_to_buffer` where the run is whole
//!   words and the buffer has `COPY_DST`, else written by the values
//!   kernel (needs only `STORAGE`);
//! - **the buffer's end**: a tensor may end at the buffer's last byte when
//!   the buffer's size is a multiple of 4. When it is not (a 6-byte
//!   buffer of three bf16), the last, partial word cannot be written at
//!   all: WebGPU binds storage buffers only in whole 4-byte words (wgpu
//!   refuses a storage binding whose size is not a multiple of 4) and
//!   copies whole words too. A tensor that reaches into that word is
//!   refused, and the error says to round the buffer's size up to a
//!   multiple of 4.
//!
//! A break of the rule is [`crate::Error::Unaligned`], naming the argument
//! (`byte_offset`, `items[2].byte_offset`, `jobs[0].dst`; the model API
//! wraps it in [`crate::Error::Param`] with the tensor's name), its value
//! and the tensor: "byte_offset 3 of a bf16 tensor: 16-bit tensors need
//! an even offset". Nothing is written.
//!
//! # Blocking
//!
//! - **Never block** (engine-facing; safe on WebGPU/wasm):
//!   [`GpuContext::from_device`] (builds nothing: each pipeline is built
//!   on its first use), every `record_*` call ([`GpuContext::record_fill`],
//!   [`GpuContext::record_batch`], [`GpuContext::record_structured`],
//!   [`GpuContext::record_structured_values`], [`GpuContext::record_jobs`],
//!   the model's `record_gpu*`), and [`GpuContext::create_buffer_checked`].
//!   They push and pop error scopes and read the popped scope without
//!   waiting: on native wgpu its errors are known at once and returned;
//!   on WebGPU the answer is a promise that is not waited for, so a
//!   device error of a record call is not returned by it (the encoder is
//!   then invalid, and the caller's `finish`/submit fails; not tested on
//!   wasm).
//!   Record calls do no long host work either: the `Q` of orthogonal
//!   inits is the explicit step [`StructuredValues::compute`] (the one
//!   exception: an orthogonal `FillJob::Structured` handed to
//!   [`GpuContext::record_jobs`], see there).
//! - **Block** (tools, tests, native only): opening a device
//!   ([`GpuContext::new_default`], [`GpuContext::from_adapter`]), the calls
//!   that submit and wait ([`GpuContext::fill`],
//!   [`GpuContext::fill_batch`], [`GpuContext::fill_structured`],
//!   [`GpuContext::submit_checked`]), [`GpuContext::read_buffer`],
//!   [`GpuContext::diagnose`], and [`StructuredValues::compute`] (host
//!   work, no device).
//!
//! Buffers passed to a context must come from its own device: wgpu offers
//! no way to ask a buffer for its device, and its core looks objects up by
//! id, so a buffer of another instance's device can be taken for an
//! unrelated object of this one (the call then usually fails validation,
//! but that cannot be guaranteed).
//!
//! The signal-propagation diagnostic ([`GpuContext::diagnose`]) is an
//! application on top of this backend: it lives in [`crate::diagnose`] and
//! hands its own shader table ([`crate::diagnose::SHADERS`]) to the same
//! engine.

mod batch;
mod engine;
mod fill;
pub(crate) mod jobs;
mod shaders;
mod structured;

pub use batch::{BatchItem, BatchReport, ItemView};
pub(crate) use engine::{record, slice, split_grid, Dispatch, Pipeline};
pub(crate) use fill::FillParams;
#[cfg(feature = "model")]
pub(crate) use fill::{check_target, tensor_of};
pub use jobs::RecordStats;
pub(crate) use shaders::{single_constant_shader, Bindings, ModuleOptions, MulHiLo, Part, Shader};
pub(crate) use structured::StructureParams;
pub use structured::{needs_host_values, StructuredValues};

/// The backend's internals, for the crate's own tests, benchmarks and
/// tools: the shader table, the kernels' uniforms, the multiply variants.
/// **Not covered by semver**: anything here may change or go in any
/// release. Engines need none of it.
///
/// ```
/// use weight_init::gpu::unstable::{FillParams, SHADERS};
/// assert_eq!(FillParams::SIZE, 96);
/// assert!(!SHADERS.is_empty());
/// ```
#[doc(hidden)]
pub mod unstable {
    pub use super::fill::FillParams;
    pub use super::shaders::{
        batch_shader, single_constant_shader, BatchView, Bindings, Kernel, ModuleOptions, MulHiLo,
        Part, Shader, SHADERS,
    };
    pub use super::structured::StructureParams;
}

use crate::error::{Error, Result};

/// Limits a [`GpuContext`] applies on top of the device's own, so tests can
/// exercise window and grid splitting on small buffers. Built from
/// [`Default`] with the `with_*` methods (the struct may gain fields).
///
/// ```
/// use weight_init::gpu::GpuOptions;
/// let opts = GpuOptions::default().with_max_window_bytes(1 << 20);
/// assert_eq!(opts.max_window_bytes, Some(1 << 20));
/// assert_eq!(opts.max_workgroups_per_dimension, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
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

impl GpuOptions {
    /// Sets [`Self::max_window_bytes`].
    ///
    /// ```
    /// # use weight_init::gpu::GpuOptions;
    /// let o = GpuOptions::default().with_max_window_bytes(4096);
    /// assert_eq!(o.max_window_bytes, Some(4096));
    /// ```
    #[must_use]
    pub fn with_max_window_bytes(mut self, bytes: u64) -> Self {
        self.max_window_bytes = Some(bytes);
        self
    }

    /// Sets [`Self::max_workgroups_per_dimension`].
    ///
    /// ```
    /// # use weight_init::gpu::GpuOptions;
    /// let o = GpuOptions::default().with_max_workgroups_per_dimension(2);
    /// assert_eq!(o.max_workgroups_per_dimension, Some(2));
    /// ```
    #[must_use]
    pub fn with_max_workgroups_per_dimension(mut self, workgroups: u32) -> Self {
        self.max_workgroups_per_dimension = Some(workgroups);
        self
    }

    /// Sets [`Self::force_emulated_mulhilo`].
    ///
    /// ```
    /// # use weight_init::gpu::GpuOptions;
    /// let o = GpuOptions::default().with_force_emulated_mulhilo(true);
    /// assert!(o.force_emulated_mulhilo);
    /// ```
    #[must_use]
    pub fn with_force_emulated_mulhilo(mut self, force: bool) -> Self {
        self.force_emulated_mulhilo = force;
        self
    }
}

/// A device, its queue and the fill pipelines. `Send + Sync`: fills may be
/// recorded and submitted from several threads at once.
///
/// ```no_run
/// use weight_init::gpu::GpuContext;
/// use weight_init::{DType, Normal, TensorKey};
/// use weight_init::wgpu;
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
    /// What the modules are assembled for (the multiply, the batch table).
    module_options: ModuleOptions,
    max_window_bytes: u64,
    max_workgroups: u32,
    offset_alignment: u64,
    info: Option<wgpu::AdapterInfo>,
    /// Every pipeline, built on first use.
    engine: engine::Engine,
    /// A 16-byte storage buffer, bound where a kernel does not use a
    /// storage binding.
    dummy: wgpu::Buffer,
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
    ///
    /// Blocks while the adapter and device open (see "Blocking" above).
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// let ctx = GpuContext::new_default()?;
    /// println!("{:?}", ctx.adapter_info().map(|i| &i.name));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
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
    /// where present. Blocks while the device opens.
    ///
    /// ```no_run
    /// use weight_init::gpu::{GpuContext, GpuOptions};
    /// use weight_init::wgpu;
    /// let instance = wgpu::Instance::new(
    ///     wgpu::InstanceDescriptor::new_without_display_handle_from_env(),
    /// );
    /// let adapter = pollster::block_on(instance.request_adapter(&Default::default()))
    ///     .expect("an adapter");
    /// let ctx = GpuContext::from_adapter(&adapter, GpuOptions::default())?;
    /// # Ok::<(), weight_init::Error>(())
    /// ```
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

    /// Wraps the caller's device and queue (an engine's own). Builds each
    /// pipeline once, on its first use; uses 64-bit integer multiplies if
    /// the device was created with `SHADER_INT64`.
    ///
    /// Never blocks (safe on WebGPU/wasm): it reads the device's limits and
    /// creates one 16-byte buffer; nothing is compiled and no error scope
    /// is awaited. A pipeline that fails to build is reported by the first
    /// record call that needs it. Errors: a storage binding limit below the
    /// offset alignment (a device no fill could use).
    ///
    /// ```no_run
    /// use weight_init::gpu::{GpuContext, GpuOptions};
    /// use weight_init::wgpu;
    /// # fn engine(device: wgpu::Device, queue: wgpu::Queue) -> weight_init::Result<()> {
    /// // The engine's own device and queue (cheap clones of handles).
    /// let ctx = GpuContext::from_device(device.clone(), queue.clone(), GpuOptions::default())?;
    /// let mut encoder = device.create_command_encoder(&Default::default());
    /// // ... ctx.record_fill(&mut encoder, ...), ctx.record_jobs(...), the engine's work ...
    /// queue.submit([encoder.finish()]);
    /// # let _ = ctx; Ok(()) }
    /// ```
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

        let dummy = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("weight-init dummy"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let module_options = ModuleOptions {
            mulhilo,
            table_len: batch::table_len(&limits) as u32,
        };
        Ok(Self {
            device,
            queue,
            module_options,
            max_window_bytes,
            max_workgroups,
            offset_alignment,
            info,
            engine: Default::default(),
            dummy,
        })
    }

    /// The device.
    ///
    /// ```no_run
    /// # let ctx = weight_init::gpu::GpuContext::new_default()?;
    /// let limit = ctx.device().limits().max_storage_buffer_binding_size;
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The queue.
    ///
    /// ```no_run
    /// # let ctx = weight_init::gpu::GpuContext::new_default()?;
    /// let encoder = ctx.device().create_command_encoder(&Default::default());
    /// ctx.queue().submit([encoder.finish()]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// What the adapter says of itself; `None` for a caller's device
    /// ([`Self::from_device`]).
    ///
    /// ```no_run
    /// # let ctx = weight_init::gpu::GpuContext::new_default()?;
    /// if let Some(info) = ctx.adapter_info() {
    ///     println!("{} ({:?})", info.name, info.backend);
    /// }
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn adapter_info(&self) -> Option<&wgpu::AdapterInfo> {
        self.info.as_ref()
    }

    /// Which 32x32 -> 64-bit multiply the kernels use (an internal, see
    /// [`unstable`]; not covered by semver).
    #[doc(hidden)]
    pub fn mulhilo(&self) -> MulHiLo {
        self.module_options.mulhilo
    }

    /// What this context's modules are assembled for: pass it to
    /// `unstable::Shader::source` to see the WGSL a pipeline is built from
    /// (an internal, not covered by semver).
    #[doc(hidden)]
    pub fn module_options(&self) -> ModuleOptions {
        self.module_options
    }

    /// Largest binding window, in bytes, a fill uses.
    ///
    /// ```no_run
    /// # let ctx = weight_init::gpu::GpuContext::new_default()?;
    /// assert!(ctx.max_window_bytes() <= ctx.device().limits().max_storage_buffer_binding_size);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn max_window_bytes(&self) -> u64 {
        self.max_window_bytes
    }

    /// Fills elements `range` of tensor `key` into `buffer` starting at
    /// `byte_offset`, submits and waits. Element `range.start + i` lands at
    /// byte `byte_offset + i * dtype.size_bytes()`; nothing outside those
    /// bytes changes (16-bit halves that share a word with the range keep
    /// their bits).
    ///
    /// Errors: see [`Self::record_fill`], plus device errors caught by error
    /// scopes. Blocks until the work is done.
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::{wgpu, DType, Normal, TensorKey};
    /// let ctx = GpuContext::new_default()?;
    /// let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
    ///     label: None,
    ///     size: 1024,
    ///     usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    ///     mapped_at_creation: false,
    /// });
    /// let dist = Normal::new(0.0, 1.0)?.into();
    /// ctx.fill(&buf, 0, &dist, DType::F32, &TensorKey::new(1, 0, 256), 0..256)?;
    /// # Ok::<(), weight_init::Error>(())
    /// ```
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
    /// nothing is submitted and nothing blocks (see "Blocking" in the
    /// module docs). `byte_offset` follows the module's one alignment rule
    /// ("Alignment": a multiple of 4 for f32, any even offset for f16 and
    /// bf16). Bad input returns an error before anything is recorded: a
    /// buffer without `STORAGE` usage, a range past the tensor, a
    /// `byte_offset` that breaks the rule ([`Error::Unaligned`], e.g.
    /// "byte_offset 3 of a bf16 tensor: 16-bit tensors need an even
    /// offset"), bytes past the buffer's end, parameters the dtype cannot
    /// represent.
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::{wgpu, DType, Normal, TensorKey};
    /// let ctx = GpuContext::new_default()?;
    /// let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
    ///     label: None,
    ///     size: 2 + 2 * 1000 + 2,
    ///     usage: wgpu::BufferUsages::STORAGE,
    ///     mapped_at_creation: false,
    /// });
    /// let dist = Normal::new(0.0, 0.02)?.into();
    /// let key = TensorKey::new(42, 3, 1000);
    /// let mut encoder = ctx.device().create_command_encoder(&Default::default());
    /// // A bf16 tensor at byte 2: the other half of the first word keeps its bits.
    /// ctx.record_fill(&mut encoder, &buf, 2, &dist, DType::BF16, &key, 0..1000)?;
    /// ctx.queue().submit([encoder.finish()]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
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
        // The single fill's checks, in their order (the batch checks the
        // same facts in another), then the fill is a one-item batch: the same
        // kernels, measured no slower than single-tensor kernels on lavapipe;
        // except a constant, whose plain store measured faster on its own
        // kernel (`single_constant_shader`).
        let sampler = crate::Sampler::new(dist, dtype)?;
        if sampler.kind == crate::sampler::SamplerKind::Constant {
            return self.scoped("recording the fill", || {
                self.record_constant(encoder, buffer, byte_offset, &sampler, key, range)
            });
        }
        fill::check(
            buffer.size(),
            buffer.usage(),
            byte_offset,
            dtype,
            key,
            &range,
        )?;
        let item = BatchItem {
            dist: *dist,
            dtype,
            key: *key,
            view: ItemView::Range(range),
            byte_offset,
        };
        self.record_batch(encoder, buffer, &[item]).map(|_| ())
    }

    /// A single-tensor constant fill: [`Self::record_fill`]'s windows, one
    /// dispatch of `fill_constant.wgsl` each.
    fn record_constant(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        sampler: &crate::Sampler,
        key: &crate::TensorKey,
        range: std::ops::Range<u64>,
    ) -> Result<()> {
        let windows = self.windows(buffer, byte_offset, sampler.dtype, key, range)?;
        if windows.is_empty() {
            return Ok(());
        }
        let pipeline = self.pipeline(single_constant_shader())?;
        let dispatches: Vec<Dispatch> = windows
            .iter()
            .map(|w| {
                let params = FillParams::new(sampler, key, w);
                let params = self.uniform("weight-init params", bytemuck::bytes_of(&params));
                self.dispatch(
                    &pipeline,
                    [
                        slice(buffer, w.bind_offset, Some(w.bind_size)),
                        params.as_entire_binding(),
                    ],
                    w.grid,
                )
            })
            .collect();
        record(encoder, "weight-init constant fill", &dispatches);
        Ok(())
    }

    /// Copies `size` bytes at `offset` of `buffer` (which needs `COPY_SRC`)
    /// back to the host. For tests and tools; blocks.
    ///
    /// ```no_run
    /// # use weight_init::{gpu::GpuContext, wgpu};
    /// # let ctx = GpuContext::new_default()?;
    /// # let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor { label: None, size: 16,
    /// #     usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC, mapped_at_creation: false });
    /// let bytes = ctx.read_buffer(&buf, 2, 6)?; // any byte range
    /// assert_eq!(bytes.len(), 6);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn read_buffer(&self, buffer: &wgpu::Buffer, offset: u64, size: u64) -> Result<Vec<u8>> {
        if !buffer.usage().contains(wgpu::BufferUsages::COPY_SRC) {
            return Err(Error::BufferUsage {
                have: usage_names(buffer.usage()),
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
        let staging = self.create_buffer_checked(&wgpu::BufferDescriptor {
            label: Some("weight-init readback"),
            size: hi - lo,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
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

/// A buffer's usages as wgpu names them (`COPY_DST | STORAGE`), or `none`:
/// the text [`Error::BufferUsage`] carries, so that the error type holds no
/// wgpu type.
pub(crate) fn usage_names(usage: wgpu::BufferUsages) -> String {
    let names: Vec<&str> = usage.iter_names().map(|(name, _)| name).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(" | ")
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
    if let Some(v) = std::env::var_os("WGPU_ADAPTER_NAME")
        && v.to_str().is_none()
    {
        return Err(Error::Environment {
            var: "WGPU_ADAPTER_NAME",
            value: v.to_string_lossy().into_owned(),
            reason: "is not valid UTF-8".into(),
        });
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
