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
use super::shaders::{shader_source, Kernel};
use super::{storage_entry, uniform_entry, GpuContext};
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

/// The structured pipelines of one device, built on first use.
#[derive(Debug)]
pub(crate) struct Pipelines {
    layout: wgpu::BindGroupLayout,
    fill: wgpu::ComputePipeline,
    thresholds: wgpu::ComputePipeline,
    /// Bound where a kernel does not use a storage binding.
    dummy: wgpu::Buffer,
}

impl Pipelines {
    pub(crate) fn new(ctx: &GpuContext) -> Result<Self> {
        let device = ctx.device();
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("weight-init structured"),
            entries: &[
                storage_entry(0),
                uniform_entry(1, FillParams::SIZE),
                uniform_entry(2, StructureParams::SIZE),
                storage_entry(3),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("weight-init structured"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let build = |kernel: Kernel| {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(kernel.file_name()),
                source: wgpu::ShaderSource::Wgsl(shader_source(kernel, ctx.mulhilo()).into()),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.file_name()),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let fill = build(Kernel::FillStructured);
        let thresholds = build(Kernel::SparseThresholds);
        let dummy = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("weight-init structured dummy"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu {
                message: format!(
                    "building the structured pipelines failed: {}",
                    super::one_line(&e)
                ),
            });
        }
        Ok(Self {
            layout,
            fill,
            thresholds,
            dummy,
        })
    }
}

/// One dispatch of a structured kernel.
struct Dispatch<'a> {
    pipeline: &'a wgpu::ComputePipeline,
    bind: wgpu::BindGroup,
    grid: [u32; 2],
}

impl GpuContext {
    fn structured_pipelines(&self) -> Result<&Pipelines> {
        self.structured
            .get_or_init(|| Pipelines::new(self))
            .as_ref()
            .map_err(Clone::clone)
    }

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
        let pipes = self.structured_pipelines()?;
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
                (sampler, pipes.dummy.clone(), None)
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
                (sampler, pipes.dummy.clone(), None)
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
                let max = self.max_workgroups as u64;
                let mut first_input = 0u64;
                while first_input < *inputs {
                    let n = (*inputs - first_input).min(max * max);
                    let x = n.min(max);
                    let grid = [x as u32, n.div_ceil(x) as u32];
                    let w = Window {
                        bind_offset: 0,
                        bind_size: 16,
                        pos_begin: 0,
                        pos_end: 0,
                        first_index: 0,
                        grid,
                    };
                    let mut grid_params = params;
                    grid_params.v[3] = split(first_input);
                    grid_params.v[4] = split(first_input + n);
                    let bind = self.structured_bind_group(
                        pipes,
                        wgpu::BufferBinding {
                            buffer: &pipes.dummy,
                            offset: 0,
                            size: None,
                        },
                        &FillParams::new(&sampler, key, &w),
                        &grid_params,
                        thresholds.as_entire_buffer_binding(),
                    );
                    dispatches.push(Dispatch {
                        pipeline: &pipes.thresholds,
                        bind,
                        grid,
                    });
                    first_input += n;
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
                Some(base) => wgpu::BufferBinding {
                    buffer: &aux,
                    offset: w.bind_offset - base,
                    size: wgpu::BufferSize::new(w.bind_size),
                },
                None => aux.as_entire_buffer_binding(),
            };
            let bind = self.structured_bind_group(
                pipes,
                wgpu::BufferBinding {
                    buffer,
                    offset: w.bind_offset,
                    size: wgpu::BufferSize::new(w.bind_size),
                },
                &FillParams::new(&sampler, key, w),
                &params,
                aux_binding,
            );
            dispatches.push(Dispatch {
                pipeline: &pipes.fill,
                bind,
                grid: w.grid,
            });
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("weight-init structured"),
            timestamp_writes: None,
        });
        for d in &dispatches {
            pass.set_pipeline(d.pipeline);
            pass.set_bind_group(0, &d.bind, &[]);
            pass.dispatch_workgroups(d.grid[0], d.grid[1], 1);
        }
        Ok(())
    }

    fn structured_bind_group(
        &self,
        pipes: &Pipelines,
        out: wgpu::BufferBinding<'_>,
        fill: &FillParams,
        structure: &StructureParams,
        aux: wgpu::BufferBinding<'_>,
    ) -> wgpu::BindGroup {
        let uniform = |label, contents: &[u8]| {
            self.device()
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents,
                    usage: wgpu::BufferUsages::UNIFORM,
                })
        };
        let fill = uniform("weight-init params", bytemuck::bytes_of(fill));
        let structure = uniform("weight-init structure", bytemuck::bytes_of(structure));
        self.device().create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("weight-init structured"),
            layout: &pipes.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(out),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: fill.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: structure.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::Buffer(aux),
                },
            ],
        })
    }
}
