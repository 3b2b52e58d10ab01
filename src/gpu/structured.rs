//! Structured inits on the GPU: eye, identity, dirac and sparse computed on
//! the device; orthogonal and delta-orthogonal computed once on the CPU
//! ([`crate::structured::orthogonal_f32`]) and uploaded through the same
//! kind of kernel, so that every structured fill writes exactly the bytes
//! of [`crate::structured::fill_structured_cpu`], needs only `STORAGE`
//! usage, honours the binding windows and leaves the other half of a
//! shared 16-bit word untouched.
//!
//! Kernels: `shaders/fill_structured.wgsl` (per element, modes values /
//! lattice / sparse) and `shaders/sparse_thresholds.wgsl` (per input: the
//! zero threshold), both on `shaders/structured.wgsl`. Their pipeline
//! layout adds two bindings to the fill layout: the [`StructureParams`]
//! uniform (2) and an auxiliary storage buffer (3).

use wgpu::util::DeviceExt;

use super::fill::{self, FillParams, Window};
use super::shaders::Kernel;
use super::{record, slice, split_grid, Dispatch, GpuContext, Pipeline};
use crate::dist::{Distribution, Normal};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::philox::TensorKey;
use crate::sampler::Sampler;
use crate::scheme::{Layout, Structured};
use crate::structured::{
    constant_value, fill_structured_cpu, key_numel, structured_numel, DiracLattice,
};

/// The structured kernels' uniform: `Structure` in
/// `shaders/structured.wgsl` (64 bytes). u64 values are `(lo, hi)`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StructureParams {
    /// 0 values, 1 lattice, 2 sparse.
    pub mode: u32,
    /// Sparse: 0 torch `[outputs, inputs]`, 1 jax `[inputs, outputs]`.
    pub layout: u32,
    /// Padding.
    pub pad0: [u32; 2],
    /// Lattice: base, x_stride, x_count, y_stride, y_count; sparse:
    /// outputs, inputs, zeros per input, and for the threshold kernel the
    /// first and one past the last input of the dispatch.
    pub v: [[u32; 2]; 5],
    /// Padding.
    pub pad1: [u32; 2],
}

impl StructureParams {
    /// Size in bytes.
    pub const SIZE: u64 = std::mem::size_of::<StructureParams>() as u64;
}

const MODE_VALUES: u32 = 0;

/// How [`GpuContext::record_values`] wrote its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValuesPath {
    /// No bytes.
    Nothing,
    /// One `copy_buffer_to_buffer`.
    Copy,
    /// This many dispatches of the values kernel.
    Kernel(u64),
}
const MODE_LATTICE: u32 = 1;
const MODE_SPARSE: u32 = 2;

fn split(x: u64) -> [u32; 2] {
    [x as u32, (x >> 32) as u32]
}

/// Whether the structured plan `s` needs values computed on the host
/// (orthogonal's and delta-orthogonal's `Q`) before it can be recorded:
/// [`GpuContext::record_structured`] refuses such a plan, and
/// [`StructuredValues::compute`] prepares it for
/// [`GpuContext::record_structured_values`].
///
/// ```
/// use weight_init::gpu::needs_host_values;
/// use weight_init::{Init, Plan, ResolveOptions};
/// let plan = |text: &str| match text.parse::<Init>().unwrap()
///     .resolve(&[64, 64], &ResolveOptions::default()).unwrap()
/// {
///     Plan::Structured(s) => s,
///     other => panic!("{other:?}"),
/// };
/// assert!(needs_host_values(&plan("orthogonal")));
/// assert!(!needs_host_values(&plan("eye")));
/// ```
pub fn needs_host_values(s: &Structured) -> bool {
    matches!(
        s,
        Structured::Orthogonal { .. } | Structured::DeltaOrthogonal { .. }
    )
}

/// The refusal of a plan that needs host values by a record call.
fn needs_values(s: &Structured) -> Error {
    Error::InvalidChoice {
        name: "s",
        value: match s {
            Structured::DeltaOrthogonal { .. } => "delta_orthogonal".into(),
            _ => "orthogonal".into(),
        },
        reason: "record_structured computes no orthogonal Q inside a record call (up to seconds of CPU work); \
                 compute the values first with gpu::StructuredValues::compute and record them \
                 with GpuContext::record_structured_values (GpuContext::fill_structured does both)",
    }
}

/// The bytes of a whole structured tensor computed on the host, ready to
/// be recorded with [`GpuContext::record_structured_values`]: the
/// explicit host step of orthogonal and delta-orthogonal (their `Q`), kept
/// out of every record call. Any structured plan can be prepared this way
/// (the bytes are [`crate::structured::fill_structured_cpu`]'s).
///
/// ```no_run
/// use weight_init::gpu::{GpuContext, StructuredValues};
/// use weight_init::{DType, Init, Plan, ResolveOptions, TensorKey};
/// use weight_init::wgpu;
/// let ctx = GpuContext::new_default()?;
/// let Plan::Structured(s) = "orthogonal".parse::<Init>()?
///     .resolve(&[256, 256], &ResolveOptions::default())?
/// else { unreachable!() };
/// let key = TensorKey::new(42, 0, 256 * 256);
/// // The host step (orthogonal's Q), e.g. on a worker thread, before recording.
/// let values = StructuredValues::compute(&s, DType::BF16, &key)?;
/// let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
///     label: None,
///     size: 2 + 2 * 256 * 256 + 2,
///     usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
///     mapped_at_creation: false,
/// });
/// let mut encoder = ctx.device().create_command_encoder(&Default::default());
/// // Any even offset for a 16-bit tensor (see the gpu module's "Alignment").
/// ctx.record_structured_values(&mut encoder, &buf, 2, &values)?;
/// ctx.queue().submit([encoder.finish()]);
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructuredValues {
    dtype: DType,
    numel: u64,
    bytes: Vec<u8>,
}

impl StructuredValues {
    /// Computes the whole tensor of `s` as `dtype` on the host (for
    /// orthogonal and delta-orthogonal, their `Q`: for a 4096 x 4096 matrix
    /// about 0.6 s on 2 cores). Blocks for that long; no device is involved.
    ///
    /// Errors: the plan's facts (see
    /// [`crate::structured::structured_numel`]), `key.numel` not the plan's
    /// element count, values the dtype cannot represent, a host allocation
    /// that fails.
    ///
    /// ```
    /// use weight_init::gpu::StructuredValues;
    /// use weight_init::{DType, Init, Plan, ResolveOptions, TensorKey};
    /// let Plan::Structured(s) = "orthogonal".parse::<Init>()?
    ///     .resolve(&[8, 4], &ResolveOptions::default())?
    /// else { unreachable!() };
    /// # #[cfg(feature = "orthogonal")] {
    /// // Orthogonal's Q is the `orthogonal` feature's.
    /// let v = StructuredValues::compute(&s, DType::F32, &TensorKey::new(1, 0, 32))?;
    /// assert_eq!((v.numel(), v.bytes().len()), (32, 128));
    /// # }
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn compute(s: &Structured, dtype: DType, key: &TensorKey) -> Result<Self> {
        let numel = key_numel(s, key)?;
        let what = || format!("structured tensor of {numel} {dtype} elements");
        let len = crate::host::bytes_of(numel, dtype.size_bytes(), what)?;
        let mut bytes = crate::host::try_filled(len, 0u8, what)?;
        fill_structured_cpu(s, dtype, key, &mut bytes)?;
        Ok(Self {
            dtype,
            numel,
            bytes,
        })
    }

    /// The output dtype.
    ///
    /// ```
    /// # use weight_init::gpu::StructuredValues;
    /// # use weight_init::{DType, Init, Plan, ResolveOptions, TensorKey};
    /// # let Plan::Structured(s) = "eye".parse::<Init>()?
    /// #     .resolve(&[2, 2], &ResolveOptions::default())? else { unreachable!() };
    /// let v = StructuredValues::compute(&s, DType::F16, &TensorKey::new(1, 0, 4))?;
    /// assert_eq!(v.dtype(), DType::F16);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The element count.
    ///
    /// ```
    /// # use weight_init::gpu::StructuredValues;
    /// # use weight_init::{DType, Init, Plan, ResolveOptions, TensorKey};
    /// # let Plan::Structured(s) = "eye".parse::<Init>()?
    /// #     .resolve(&[2, 3], &ResolveOptions::default())? else { unreachable!() };
    /// let v = StructuredValues::compute(&s, DType::F16, &TensorKey::new(1, 0, 6))?;
    /// assert_eq!(v.numel(), 6);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn numel(&self) -> u64 {
        self.numel
    }

    /// The little-endian bytes, equal to
    /// [`crate::structured::fill_structured_cpu`]'s.
    ///
    /// ```
    /// # use weight_init::gpu::StructuredValues;
    /// # use weight_init::{DType, Init, Plan, ResolveOptions, TensorKey};
    /// # let Plan::Structured(s) = "eye".parse::<Init>()?
    /// #     .resolve(&[2, 2], &ResolveOptions::default())? else { unreachable!() };
    /// let v = StructuredValues::compute(&s, DType::F32, &TensorKey::new(1, 0, 4))?;
    /// assert_eq!(&v.bytes()[..4], &1.0f32.to_le_bytes());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl GpuContext {
    /// Fills the whole tensor of the structured plan `s` (from
    /// [`crate::Init::resolve`]) into `buffer` at `byte_offset`, submits and
    /// waits. The bytes equal [`crate::structured::fill_structured_cpu`]'s:
    /// bit for bit for eye, identity, dirac, orthogonal, delta-orthogonal and
    /// the zero positions of sparse; the non-zero sparse values are the
    /// normal fill's (within its stated ULP bound of the CPU).
    ///
    /// Orthogonal and delta-orthogonal do both steps here: the host values
    /// ([`StructuredValues::compute`], orthogonal's `Q`, after the buffer checks) and
    /// [`Self::record_structured_values`]. Blocks (see the gpu module's
    /// "Blocking").
    ///
    /// Errors: see [`Self::record_structured`], plus device errors caught by
    /// error scopes.
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::{DType, Init, Plan, ResolveOptions, TensorKey};
    /// use weight_init::wgpu;
    /// let ctx = GpuContext::new_default()?;
    /// let Plan::Structured(s) = "orthogonal".parse::<Init>()?
    ///     .resolve(&[64, 64], &ResolveOptions::default())?
    /// else { unreachable!() };
    /// let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
    ///     label: None,
    ///     size: 4 * 64 * 64,
    ///     usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    ///     mapped_at_creation: false,
    /// });
    /// ctx.fill_structured(&buf, 0, &s, DType::F32, &TensorKey::new(7, 0, 64 * 64))?;
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn fill_structured(
        &self,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        s: &Structured,
        dtype: DType,
        key: &TensorKey,
    ) -> Result<()> {
        if needs_host_values(s) {
            // The cheap checks before the host step.
            let numel = structured_numel(s)?;
            fill::check(
                buffer.size(),
                buffer.usage(),
                byte_offset,
                dtype,
                key,
                &(0..numel.min(key.numel)),
            )?;
            let values = StructuredValues::compute(s, dtype, key)?;
            return self.submit_checked(|enc| {
                self.record_structured_values(enc, buffer, byte_offset, &values)
            });
        }
        self.submit_checked(|enc| self.record_structured(enc, buffer, byte_offset, s, dtype, key))
    }

    /// Records the fill of [`Self::fill_structured`] into the caller's
    /// `encoder`; nothing is submitted and nothing waits for the device (see
    /// the gpu module's "Blocking").
    ///
    /// Eye, identity, dirac and sparse are computed by the kernels (sparse:
    /// one workgroup per input finds its zero threshold, then every element
    /// its value). Orthogonal and delta-orthogonal need their `Q` from the host
    /// ([`needs_host_values`]): this call refuses them, with an error that
    /// says what to do: compute them first with
    /// [`StructuredValues::compute`] and record them with
    /// [`Self::record_structured_values`].
    ///
    /// `byte_offset` follows the gpu module's one alignment rule
    /// ("Alignment": a multiple of 4 for f32, any even offset for f16 and
    /// bf16).
    ///
    /// Errors, before anything is recorded: the plan's facts (see
    /// [`crate::structured::structured_numel`]); `key.numel` not the plan's
    /// element count; a buffer without `STORAGE` usage; a `byte_offset`
    /// that breaks the alignment rule; bytes past the buffer's end; a plan
    /// that needs host values; a gain or std the dtype cannot represent; a
    /// sparse tensor with `2^32` or more outputs or inputs, or whose
    /// per-input thresholds (8 bytes an input) pass the device's storage
    /// binding limit.
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::{DType, Init, Plan, ResolveOptions, TensorKey};
    /// use weight_init::wgpu;
    /// let ctx = GpuContext::new_default()?;
    /// let Plan::Structured(eye) = "eye".parse::<Init>()?
    ///     .resolve(&[128, 128], &ResolveOptions::default())?
    /// else { unreachable!() };
    /// let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
    ///     label: None,
    ///     size: 2 * 128 * 128 + 4,
    ///     usage: wgpu::BufferUsages::STORAGE,
    ///     mapped_at_creation: false,
    /// });
    /// let mut encoder = ctx.device().create_command_encoder(&Default::default());
    /// ctx.record_structured(&mut encoder, &buf, 2, &eye, DType::BF16, &TensorKey::new(1, 0, 128 * 128))?;
    /// ctx.queue().submit([encoder.finish()]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn record_structured(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        s: &Structured,
        dtype: DType,
        key: &TensorKey,
    ) -> Result<()> {
        self.scoped("recording the structured fill", || {
            self.record_structured_unscoped(encoder, buffer, byte_offset, s, dtype, key)
        })
    }

    /// Records prepared host values ([`StructuredValues::compute`]) into
    /// `buffer` at `byte_offset`: nothing is computed, submitted or waited
    /// for. The bytes are copied with `copy_buffer_to_buffer` from a buffer
    /// created with them where `buffer` has `COPY_DST` and the run is whole
    /// 4-byte words, else written by the values kernel (which needs only
    /// `STORAGE` and keeps the other half of a shared 16-bit word).
    ///
    /// `byte_offset` follows the gpu module's alignment rule
    /// ("Alignment").
    ///
    /// Errors, before anything is recorded: a buffer without `STORAGE`; a
    /// `byte_offset` that breaks the rule; bytes past the buffer's end.
    ///
    /// ```no_run
    /// # use weight_init::gpu::{GpuContext, StructuredValues};
    /// # use weight_init::{DType, Init, Plan, ResolveOptions, TensorKey};
    /// # let ctx = GpuContext::new_default()?;
    /// # let Plan::Structured(s) = "orthogonal".parse::<Init>()?
    /// #     .resolve(&[16, 16], &ResolveOptions::default())? else { unreachable!() };
    /// # let buf = ctx.device().create_buffer(&weight_init::wgpu::BufferDescriptor {
    /// #     label: None, size: 1024, usage: weight_init::wgpu::BufferUsages::STORAGE,
    /// #     mapped_at_creation: false });
    /// let values = StructuredValues::compute(&s, DType::F16, &TensorKey::new(3, 0, 256))?;
    /// let mut encoder = ctx.device().create_command_encoder(&Default::default());
    /// ctx.record_structured_values(&mut encoder, &buf, 6, &values)?;
    /// ctx.queue().submit([encoder.finish()]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn record_structured_values(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        values: &StructuredValues,
    ) -> Result<()> {
        let usage = buffer.usage();
        if !usage.contains(wgpu::BufferUsages::STORAGE) {
            return Err(Error::BufferUsage {
                have: super::usage_names(usage),
                missing: "STORAGE",
            });
        }
        fill::check_target(
            || "byte_offset".into(),
            || fill::tensor_of(values.dtype),
            values.dtype.size_bytes() as u64,
            byte_offset,
            Some(values.bytes.len() as u64),
            buffer.size(),
        )?;
        self.scoped("recording structured values", || {
            self.record_values(encoder, buffer, byte_offset, &values.bytes)
                .map(|_| ())
        })
    }

    /// The one path of host-computed bytes into a buffer, used by
    /// [`Self::record_structured_values`] and by `FillJob::Upload` jobs
    /// ([`Self::record_jobs`]): `bytes` (an even count) at `byte_offset`
    /// (even), already checked against the alignment rule and the buffer.
    /// A `copy_buffer_to_buffer` from a buffer created with the bytes where
    /// `buffer` has `COPY_DST` and the run is whole 4-byte words; else the
    /// values kernel (`MODE_VALUES` of `fill_structured.wgsl`: 16-bit
    /// halves, the other half of a shared word untouched; needs only
    /// `STORAGE`). Never `Queue::write_buffer`, which would run before the
    /// encoder's commands at submit time. Returns how it went.
    pub(crate) fn record_values(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        bytes: &[u8],
    ) -> Result<ValuesPath> {
        let len = bytes.len() as u64;
        if len == 0 {
            return Ok(ValuesPath::Nothing);
        }
        let words = byte_offset.is_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT)
            && len.is_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        if words && buffer.usage().contains(wgpu::BufferUsages::COPY_DST) {
            let staging = self
                .device()
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("weight-init host values"),
                    contents: bytes,
                    usage: wgpu::BufferUsages::COPY_SRC,
                });
            encoder.copy_buffer_to_buffer(&staging, 0, buffer, byte_offset, len);
            return Ok(ValuesPath::Copy);
        }
        // The kernel: f32 words where the run is whole words, else 16-bit
        // halves (the kernel copies bits, it converts nothing).
        let dtype = if words { DType::F32 } else { DType::F16 };
        let n = len / dtype.size_bytes() as u64;
        let key = TensorKey::new(0, 0, n);
        let windows = self.windows(buffer, byte_offset, dtype, &key, 0..n)?;
        let (Some(first), Some(last)) = (windows.first(), windows.last()) else {
            return Ok(ValuesPath::Nothing);
        };
        // The values in a buffer laid out as the destination from the
        // first window's offset, so each window binds its own part.
        let base = first.bind_offset;
        let end = last.bind_offset + last.bind_size;
        let what = || format!("a staging copy of {len} host bytes");
        let mut mirror = crate::host::try_filled(end - base, 0u8, what)?;
        let at = crate::host::to_usize(byte_offset - base, what)?;
        mirror[at..at + bytes.len()].copy_from_slice(bytes);
        let aux = self
            .device()
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("weight-init host values"),
                contents: &mirror,
                usage: wgpu::BufferUsages::STORAGE,
            });
        let params = StructureParams {
            mode: MODE_VALUES,
            layout: 0,
            pad0: [0; 2],
            v: [[0; 2]; 5],
            pad1: [0; 2],
        };
        // Any sampler: only its dtype is used.
        let sampler = Sampler::new(&Distribution::constant(0.0)?, dtype)?;
        let pipeline = self.pipeline(Kernel::FillStructured.shader())?;
        let dispatches: Vec<Dispatch> = windows
            .iter()
            .map(|w| {
                self.structured_dispatch(
                    &pipeline,
                    slice(buffer, w.bind_offset, Some(w.bind_size)),
                    &FillParams::new(&sampler, &key, w),
                    &params,
                    slice(&aux, w.bind_offset - base, Some(w.bind_size)),
                    w.grid,
                )
            })
            .collect();
        record(encoder, "weight-init host values", &dispatches);
        Ok(ValuesPath::Kernel(dispatches.len() as u64))
    }

    fn record_structured_unscoped(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        s: &Structured,
        dtype: DType,
        key: &TensorKey,
    ) -> Result<()> {
        let numel = key_numel(s, key)?;
        let windows = self.windows(buffer, byte_offset, dtype, key, 0..numel)?;
        if windows.is_empty() {
            return Ok(());
        }
        let fill_pipeline = self.pipeline(Kernel::FillStructured.shader())?;
        let mut params = StructureParams {
            mode: MODE_LATTICE,
            layout: 0,
            pad0: [0; 2],
            v: [[0; 2]; 5],
            pad1: [0; 2],
        };
        let lattice =
            |l: DiracLattice| [l.base, l.x_stride, l.x_count, l.y_stride, l.y_count].map(split);
        let mut dispatches = Vec::new();
        // What binding 3 holds for the element windows, and the offset of the
        // first window within it (for a buffer that mirrors the windows).
        let (sampler, aux): (Sampler, wgpu::Buffer) = match s {
            Structured::Eye { gain, rows, cols } => {
                let value = constant_value(*gain, dtype)?;
                params.v = lattice(DiracLattice::eye(*rows, *cols));
                let sampler = Sampler::new(&Distribution::constant(value)?, dtype)?;
                (sampler, self.dummy.clone())
            }
            Structured::Dirac {
                groups,
                out_channels,
                in_channels,
                kernel,
                layout,
            } => {
                params.v = lattice(DiracLattice::new(
                    *groups,
                    *out_channels,
                    *in_channels,
                    kernel,
                    *layout,
                ));
                let sampler = Sampler::new(&Distribution::constant(1.0)?, dtype)?;
                (sampler, self.dummy.clone())
            }
            Structured::Sparse {
                std,
                outputs,
                inputs,
                zeros_per_input,
                layout,
                ..
            } => {
                let sampler = Sampler::new(&Normal::new(0.0, *std as f32)?.into(), dtype)?;
                if *outputs > u32::MAX as u64 || *inputs > u32::MAX as u64 {
                    return Err(Error::InvalidShape {
                        shape: vec![*outputs, *inputs],
                        reason: "sparse on the GPU takes fewer than 2^32 outputs and inputs; \
                                 use structured::fill_structured_cpu"
                            .into(),
                    });
                }
                let thr_bytes = 8 * *inputs;
                let limit = self.device().limits().max_storage_buffer_binding_size;
                if thr_bytes > limit {
                    return Err(Error::InvalidShape {
                        shape: vec![*outputs, *inputs],
                        reason: format!(
                            "sparse on the GPU keeps 8 bytes per input, {thr_bytes} bytes, \
                             past the device's storage binding limit of {limit}"
                        ),
                    });
                }
                params.mode = MODE_SPARSE;
                params.layout = match layout {
                    Layout::Torch => 0,
                    Layout::Jax => 1,
                };
                params.v[0] = split(*outputs);
                params.v[1] = split(*inputs);
                params.v[2] = split(*zeros_per_input);
                let thresholds = self.device().create_buffer(&wgpu::BufferDescriptor {
                    label: Some("weight-init sparse thresholds"),
                    size: thr_bytes,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                });
                // One workgroup per input, in 2-D grids of at most
                // max_workgroups² inputs each; v[3] is a grid's first input.
                let pipeline = self.pipeline(Kernel::SparseThresholds.shader())?;
                for grid in split_grid(*inputs, self.max_workgroups) {
                    let w = Window {
                        bind_offset: 0,
                        bind_size: 16,
                        pos_begin: 0,
                        pos_end: 0,
                        first_index: 0,
                        grid: grid.size,
                    };
                    let mut grid_params = params;
                    grid_params.v[3] = split(grid.first);
                    grid_params.v[4] = split(grid.first + grid.count);
                    dispatches.push(self.structured_dispatch(
                        &pipeline,
                        slice(&self.dummy, 0, None),
                        &FillParams::new(&sampler, key, &w),
                        &grid_params,
                        thresholds.as_entire_binding(),
                        grid.size,
                    ));
                }
                (sampler, thresholds)
            }
            Structured::Orthogonal { .. } | Structured::DeltaOrthogonal { .. } => {
                return Err(needs_values(s));
            }
        };
        for w in &windows {
            dispatches.push(self.structured_dispatch(
                &fill_pipeline,
                slice(buffer, w.bind_offset, Some(w.bind_size)),
                &FillParams::new(&sampler, key, w),
                &params,
                aux.as_entire_binding(),
                w.grid,
            ));
        }
        record(encoder, "weight-init structured", &dispatches);
        Ok(())
    }

    /// A dispatch of a structured kernel: the output, the fill and
    /// structure parameters, the auxiliary buffer.
    fn structured_dispatch(
        &self,
        pipeline: &Pipeline,
        out: wgpu::BindingResource<'_>,
        fill: &FillParams,
        structure: &StructureParams,
        aux: wgpu::BindingResource<'_>,
        grid: [u32; 2],
    ) -> Dispatch {
        let fill = self.uniform("weight-init params", bytemuck::bytes_of(fill));
        let structure = self.uniform("weight-init structure", bytemuck::bytes_of(structure));
        self.dispatch(
            pipeline,
            [
                out,
                fill.as_entire_binding(),
                structure.as_entire_binding(),
                aux,
            ],
            grid,
        )
    }
}
