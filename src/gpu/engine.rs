//! The GPU engine: the one pipeline builder (a [`Shader`] of a table,
//! built once per device on first use under one error scope, cached in the
//! context), the one [`Dispatch`] and the one way to record a list of them,
//! the grid split past the per-dimension workgroup limit, and device work
//! under error scopes (checked buffer creation, checked submission).
//!
//! Every part of the backend (fills, batches, structured kernels) and the
//! diagnostic on top of it ([`crate::diagnose`]) records its work through
//! these: a fill is a list of [`Dispatch`]es built from pipelines of the
//! shader table ([`super::shaders`]).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::fill::{self, Window};
use super::shaders::{Bindings, ModuleOptions, Shader};
use super::{one_line, panic_message, GpuContext};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::philox::TensorKey;

/// The error of a popped error scope, without waiting for it: native wgpu
/// resolves the future at once (the errors of the scope are known when it
/// is popped), so this is the error; on WebGPU (a browser) it is a promise
/// that a record call must not block on (`pollster` would hang the page's
/// only thread), and is dropped: errors of that scope then go unreported
/// by this call (an encoder that recorded an invalid object is itself
/// invalid, so the caller's `finish`/submit fails instead; not tested on
/// wasm).
pub(crate) fn pop_now(
    future: impl std::future::Future<Output = Option<wgpu::Error>>,
) -> Option<wgpu::Error> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(e) => e,
        std::task::Poll::Pending => None,
    }
}

/// A built pipeline and the bind-group layout it takes.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    compute: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

/// One compute dispatch: a pipeline, its bind group and its grid.
#[derive(Debug)]
pub(crate) struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind: wgpu::BindGroup,
    grid: [u32; 2],
}

/// One grid of a split dispatch ([`split_grid`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grid {
    /// Index of its first workgroup among all of them.
    pub first: u64,
    /// Workgroups it runs (`<= size[0] * size[1]`).
    pub count: u64,
    /// Workgroups in x and y.
    pub size: [u32; 2],
}

/// Splits `workgroups` into grids of at most `max` workgroups per
/// dimension: one grid of `[min(n, max), ceil(n / x)]` per `max^2`
/// workgroups. The last row of a grid may run past `count`: the kernels
/// check their workgroup index against it.
pub(crate) fn split_grid(workgroups: u64, max: u32) -> Vec<Grid> {
    let max = max.max(1) as u64;
    let mut grids = Vec::new();
    let mut first = 0;
    while first < workgroups {
        let count = (workgroups - first).min(max * max);
        let x = count.min(max);
        grids.push(Grid {
            first,
            count,
            size: [x as u32, count.div_ceil(x) as u32],
        });
        first += count;
    }
    grids
}

/// Records `dispatches` in order into one compute pass of `encoder`.
pub(crate) fn record(encoder: &mut wgpu::CommandEncoder, label: &str, dispatches: &[Dispatch]) {
    if dispatches.is_empty() {
        return;
    }
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(label),
        timestamp_writes: None,
    });
    for d in dispatches {
        pass.set_pipeline(&d.pipeline);
        pass.set_bind_group(0, &d.bind, &[]);
        pass.dispatch_workgroups(d.grid[0], d.grid[1], 1);
    }
}

/// A binding of `size` bytes of `buffer` from `offset` (`None`: to its end).
pub(crate) fn slice(
    buffer: &wgpu::Buffer,
    offset: u64,
    size: Option<u64>,
) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer,
        offset,
        size: size.and_then(wgpu::BufferSize::new),
    })
}

/// The pipelines of one device, built on first use, and the layouts they
/// share.
#[derive(Debug, Default)]
pub(crate) struct Engine {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    layouts: HashMap<Bindings, (wgpu::BindGroupLayout, wgpu::PipelineLayout)>,
    pipelines: HashMap<&'static str, Pipeline>,
}

/// A read-write storage buffer binding of a compute shader.
fn storage_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
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
fn uniform_entry(binding: u32, size: u64) -> wgpu::BindGroupLayoutEntry {
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

impl Bindings {
    /// The layout's entries; `None` for [`Bindings::Auto`].
    fn entries(self, options: ModuleOptions) -> Option<Vec<wgpu::BindGroupLayoutEntry>> {
        let table = options.table_len as u64;
        Some(match self {
            Bindings::Structured => vec![
                storage_entry(0),
                uniform_entry(1, super::FillParams::SIZE),
                uniform_entry(2, super::StructureParams::SIZE),
                storage_entry(3),
            ],
            Bindings::Batch => vec![
                storage_entry(0),
                uniform_entry(1, table * super::batch::PIECE_BYTES),
                uniform_entry(2, table * 4),
                uniform_entry(3, super::batch::BATCH_UNIFORM_BYTES),
            ],
            Bindings::Fill => vec![storage_entry(0), uniform_entry(1, super::FillParams::SIZE)],
            Bindings::Auto => return None,
        })
    }
}

impl GpuContext {
    /// The binding windows of elements `range` of `key`, as `dtype`, at
    /// `byte_offset` of `buffer` ([`fill::plan`] under this context's
    /// window, workgroup and offset-alignment limits).
    pub(crate) fn windows(
        &self,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        dtype: DType,
        key: &TensorKey,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<Window>> {
        fill::plan(
            buffer.size(),
            buffer.usage(),
            byte_offset,
            dtype,
            key,
            range,
            self.max_window_bytes,
            self.max_workgroups,
            self.offset_alignment,
        )
    }

    /// The pipeline of `shader` on this device: built on the first call
    /// (module, layout and pipeline under one validation scope), then
    /// taken from the context. A failed build is reported and not kept.
    pub(crate) fn pipeline(&self, shader: &'static Shader) -> Result<Pipeline> {
        let mut state = self
            .engine
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = state.pipelines.get(shader.name) {
            return Ok(p.clone());
        }
        let device = &self.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let layouts = shader.bindings.entries(self.module_options).map(|entries| {
            state
                .layouts
                .entry(shader.bindings)
                .or_insert_with(|| {
                    let label = Some("weight-init");
                    let layout =
                        device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                            label,
                            entries: &entries,
                        });
                    let pipeline_layout =
                        device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                            label,
                            bind_group_layouts: &[Some(&layout)],
                            immediate_size: 0,
                        });
                    (layout, pipeline_layout)
                })
                .clone()
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(shader.name),
            source: wgpu::ShaderSource::Wgsl(shader.source(self.module_options).into()),
        });
        let compute = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(shader.name),
            layout: layouts.as_ref().map(|l| &l.1),
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: shader.constants,
                ..Default::default()
            },
            cache: None,
        });
        let layout = match layouts {
            Some((layout, _)) => layout,
            None => compute.get_bind_group_layout(0),
        };
        if let Some(e) = pop_now(scope.pop()) {
            state.layouts.remove(&shader.bindings);
            return Err(Error::Gpu {
                message: format!(
                    "building the {} pipeline failed: {}",
                    shader.name,
                    one_line(&e)
                ),
            });
        }
        let pipeline = Pipeline { compute, layout };
        state.pipelines.insert(shader.name, pipeline.clone());
        Ok(pipeline)
    }

    /// A dispatch of `pipeline` over `grid`, with `resources` bound at
    /// bindings 0, 1, ... in order.
    pub(crate) fn dispatch<'a>(
        &self,
        pipeline: &Pipeline,
        resources: impl IntoIterator<Item = wgpu::BindingResource<'a>>,
        grid: [u32; 2],
    ) -> Dispatch {
        let entries: Vec<_> = resources
            .into_iter()
            .enumerate()
            .map(|(i, resource)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource,
            })
            .collect();
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("weight-init"),
            layout: &pipeline.layout,
            entries: &entries,
        });
        Dispatch {
            pipeline: pipeline.compute.clone(),
            bind,
            grid,
        }
    }

    /// A uniform buffer created with `contents`.
    pub(crate) fn uniform(&self, label: &str, contents: &[u8]) -> wgpu::Buffer {
        wgpu::util::DeviceExt::create_buffer_init(
            &self.device,
            &wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: wgpu::BufferUsages::UNIFORM,
            },
        )
    }

    /// Runs `f` inside out-of-memory and validation error scopes, catching
    /// a panic inside it (inside wgpu, as a last resort): the one place the
    /// backend pushes and pops these scopes. Returns `f`'s value and the
    /// first device error; a panic becomes [`Error::Gpu`] saying `what` was
    /// being done.
    ///
    /// With `wait` false (every record call) the popped scopes are read
    /// without waiting ([`pop_now`]); with `wait` true (calls that submit
    /// and wait anyway) they are awaited.
    fn under_scopes<T>(
        &self,
        what: &str,
        wait: bool,
        f: impl FnOnce() -> T,
    ) -> Result<(T, Option<wgpu::Error>)> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let (v, o) = if wait {
            (
                pollster::block_on(validation.pop()),
                pollster::block_on(oom.pop()),
            )
        } else {
            (pop_now(validation.pop()), pop_now(oom.pop()))
        };
        let r = r.map_err(|p| Error::Gpu {
            message: format!("wgpu panicked while {what}: {}", panic_message(&*p)),
        })?;
        Ok((r, v.or(o)))
    }

    /// Runs `f`, which creates objects on the device (bind groups, uniform
    /// or staging buffers) from a caller's input, inside validation and
    /// out-of-memory error scopes, and returns the first device error as
    /// [`Error::Gpu`]: a caller's destroyed or foreign buffer never reaches
    /// wgpu's uncaptured-error handler, which panics by default. A panic
    /// inside `f` is caught the same way.
    pub(crate) fn scoped<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let (r, e) = self.under_scopes(what, false, f)?;
        if let Some(e) = e {
            return Err(Error::Gpu {
                message: format!("{what}: {}", one_line(&e)),
            });
        }
        r
    }

    /// Creates a buffer, catching the device's errors (out of memory, a
    /// size past its limits) as [`Error::Gpu`] instead of wgpu's panicking
    /// default handler.
    /// The error's message is the device's, on one line. Does not block
    /// (see "Blocking" in the module docs).
    ///
    /// ```no_run
    /// # use weight_init::{gpu::GpuContext, wgpu};
    /// # let ctx = GpuContext::new_default()?;
    /// let buf = ctx.create_buffer_checked(&wgpu::BufferDescriptor {
    ///     label: Some("weights"),
    ///     size: 1 << 20,
    ///     usage: wgpu::BufferUsages::STORAGE,
    ///     mapped_at_creation: false,
    /// })?;
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn create_buffer_checked(&self, desc: &wgpu::BufferDescriptor<'_>) -> Result<wgpu::Buffer> {
        let (buffer, e) = self.under_scopes("creating a buffer", false, || {
            self.device.create_buffer(desc)
        })?;
        match e {
            Some(e) => Err(Error::Gpu {
                message: one_line(&e),
            }),
            None => Ok(buffer),
        }
    }

    /// Submits `encoder`'s work, waits for it and returns the first device
    /// error (validation or out of memory) raised while `record` ran or the
    /// work executed. Blocks until the work is done.
    ///
    /// ```no_run
    /// # use weight_init::{gpu::GpuContext, wgpu, DType, Normal, TensorKey};
    /// # let ctx = GpuContext::new_default()?;
    /// # let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor { label: None, size: 64,
    /// #     usage: wgpu::BufferUsages::STORAGE, mapped_at_creation: false });
    /// let dist = Normal::new(0.0, 1.0)?.into();
    /// ctx.submit_checked(|encoder| {
    ///     ctx.record_fill(encoder, &buf, 0, &dist, DType::F32, &TensorKey::new(1, 0, 16), 0..16)
    /// })?;
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn submit_checked(
        &self,
        record: impl FnOnce(&mut wgpu::CommandEncoder) -> Result<()>,
    ) -> Result<()> {
        let ((recorded, polled), e) = self.under_scopes("recording or submitting", true, || {
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
        })?;
        recorded?;
        // The scopes first: when the submission was invalid (a destroyed or
        // mapped buffer), they hold the real cause, and the failed wait
        // only says that the submission never happened.
        if let Some(e) = e {
            return Err(Error::Gpu {
                message: one_line(&e),
            });
        }
        polled.map_err(|e| Error::Gpu {
            message: format!("waiting for the submitted work failed: {}", one_line(&e)),
        })
    }
}
