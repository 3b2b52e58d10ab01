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
use crate::structured::{constant_value, fill_structured_cpu, structured_numel, DiracLattice};

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
const MODE_LATTICE: u32 = 1;
const MODE_SPARSE: u32 = 2;

fn split(x: u64) -> [u32; 2] {
    [x as u32, (x >> 32) as u32]
}

impl GpuContext {
    /// Fills the whole tensor of the structured plan `s` (from
    /// [`crate::Init::resolve`]) into `buffer` at `byte_offset`, submits and
    /// waits. The bytes equal [`crate::structured::fill_structured_cpu`]'s:
    /// bit for bit for eye, identity, dirac, orthogonal, delta-orthogonal and
    /// the zero positions of sparse; the non-zero sparse values are the
    /// normal fill's (within its stated ULP bound of the CPU).
    ///
    /// Errors: see [`Self::record_structured`], plus device errors caught by
    /// error scopes.
    pub fn fill_structured(
        &self,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        s: &Structured,
        dtype: DType,
        key: &TensorKey,
    ) -> Result<()> {
        self.submit_checked(|enc| self.record_structured(enc, buffer, byte_offset, s, dtype, key))
    }

    /// Records the fill of [`Self::fill_structured`] into the caller's
    /// `encoder`; nothing is submitted and nothing waits for the device.
    ///
    /// Eye, identity, dirac and sparse are computed by the kernels (sparse:
    /// one workgroup per input finds its zero threshold, then every element
    /// its value). Orthogonal and delta-orthogonal run their QR on the CPU
    /// here, in this call (for a 4096 x 4096 matrix, about 2 s on 2 cores),
    /// and the values travel in a buffer created with them: copied with
    /// `copy_buffer_to_buffer` where `buffer` has `COPY_DST` usage and the
    /// bytes are whole 4-byte words, else by the kernel (which needs only
    /// `STORAGE` and keeps the other half of a shared 16-bit word).
    ///
    /// Errors, before anything is recorded: the plan's facts (see
    /// [`crate::structured::structured_numel`]); `key.numel` not the plan's
    /// element count; a buffer without `STORAGE` usage; a byte offset not a
    /// multiple of the element size; bytes past the buffer's end; a gain or
    /// std the dtype cannot represent; a sparse tensor with `2^32` or more
    /// outputs or inputs, or whose per-input thresholds (8 bytes an input)
    /// pass the device's storage binding limit.
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

    fn record_structured_unscoped(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        s: &Structured,
        dtype: DType,
        key: &TensorKey,
    ) -> Result<()> {
        let numel = structured_numel(s)?;
        if key.numel != numel {
            return Err(Error::InvalidShape {
                shape: vec![key.numel],
                reason: format!(
                    "the tensor key says {} elements, but the structured init has {numel}",
                    key.numel
                ),
            });
        }
        let windows = fill::plan(
            buffer.size(),
            buffer.usage(),
            byte_offset,
            dtype,
            key,
            0..numel,
            self.max_window_bytes,
            self.max_workgroups,
            self.offset_alignment,
        )?;
        let (Some(first), Some(last)) = (windows.first(), windows.last()) else {
            return Ok(());
        };
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
        let (sampler, aux, aux_base): (Sampler, wgpu::Buffer, Option<u64>) = match s {
            Structured::Eye { gain, rows, cols } => {
                let value = constant_value(*gain, dtype)?;
                params.v = lattice(DiracLattice::eye(*rows, *cols));
                let sampler = Sampler::new(&Distribution::constant(value)?, dtype)?;
                (sampler, self.dummy.clone(), None)
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
                (sampler, self.dummy.clone(), None)
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
                (sampler, thresholds, None)
            }
            Structured::Orthogonal { .. } | Structured::DeltaOrthogonal { .. } => {
                let what = || format!("structured tensor of {numel} {dtype} elements");
                let len = crate::host::bytes_of(numel, dtype.size_bytes(), what)?;
                if buffer.usage().contains(wgpu::BufferUsages::COPY_DST)
                    && byte_offset.is_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT)
                    && len.is_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT)
                {
                    // Whole words: a plain copy from a buffer created with
                    // the values.
                    let mut bytes = crate::host::try_filled(len, 0u8, what)?;
                    fill_structured_cpu(s, dtype, key, &mut bytes)?;
                    let staging =
                        self.device()
                            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                                label: Some("weight-init structured values"),
                                contents: &bytes,
                                usage: wgpu::BufferUsages::COPY_SRC,
                            });
                    encoder.copy_buffer_to_buffer(&staging, 0, buffer, byte_offset, len);
                    return Ok(());
                }
                // Otherwise (16-bit halves at an end, or no COPY_DST): the
                // kernel copies, leaving the other half of a shared word.
                // The values in a buffer laid out as the destination from the
                // first window's offset, so each window binds its own part.
                let base = first.bind_offset;
                let end = last.bind_offset + last.bind_size;
                let mut mirror = crate::host::try_filled(end - base, 0u8, what)?;
                let at = crate::host::to_usize(byte_offset - base, what)?;
                let hi = crate::host::to_usize(len, what)? + at;
                fill_structured_cpu(s, dtype, key, &mut mirror[at..hi])?;
                let aux = self
                    .device()
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some("weight-init structured values"),
                        contents: &mirror,
                        usage: wgpu::BufferUsages::STORAGE,
                    });
                params.mode = MODE_VALUES;
                // Any sampler: only its dtype is used.
                let sampler = Sampler::new(&Distribution::constant(0.0)?, dtype)?;
                (sampler, aux, Some(base))
            }
        };
        for w in &windows {
            let aux_binding = match aux_base {
                Some(base) => slice(&aux, w.bind_offset - base, Some(w.bind_size)),
                None => aux.as_entire_binding(),
            };
            dispatches.push(self.structured_dispatch(
                &fill_pipeline,
                slice(buffer, w.bind_offset, Some(w.bind_size)),
                &FillParams::new(&sampler, key, w),
                &params,
                aux_binding,
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
