//! The signal-propagation diagnostic on the GPU ([`crate::diagnose`]):
//! weights, input and output gradient filled on the device by the crate's
//! own fills, forward and backward through WGSL kernels, per-layer
//! statistics reduced on the device.
//!
//! Kernels: `shaders/matmul.wgsl` (64 x 64 tiles through workgroup memory),
//! `shaders/activation_forward.wgsl` and `shaders/activation_backward.wgsl`
//! (on `shaders/activation.wgsl`), `shaders/layer_stats.wgsl` (one
//! invocation per unit): the table [`SHADERS`], whose pipelines the
//! backend's engine builds on first use, as for its own kernels.

use crate::diagnose::lsuv::fit_layer;
use crate::diagnose::{
    combine_partials, lsuv_start, scale_weights, standard_normal, DiagnoseConfig, LayerStats, Lsuv,
    LsuvOptions, Report, Tensors, Trace, PARTIAL_WORDS,
};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::gpu::{record, split_grid, Bindings, GpuContext, Part, Shader};
use crate::scheme::{Init, Plan};

/// Side of the square output tile of `matmul.wgsl`.
const MATMUL_TILE: u64 = 64;
/// Invocations per workgroup of the elementwise kernels.
const ELEMENTWISE_GROUP: u64 = 256;
/// Invocations per workgroup of `layer_stats.wgsl`.
const STATS_GROUP: u64 = 64;

const ACTIVATION: Part = Part::File(
    "activation.wgsl",
    include_str!("../../shaders/activation.wgsl"),
);

const fn auto(name: &'static str, parts: &'static [&'static [Part]]) -> Shader {
    Shader {
        name,
        parts,
        bindings: Bindings::Auto,
        constants: &[],
    }
}

/// `activation.wgsl`'s `override` constants: the slope the CPU reference
/// uses too, stated once in [`crate::scheme::LEAKY_RELU_DEFAULT_SLOPE`].
const ACTIVATION_CONSTANTS: &[(&str, f64)] = &[("LEAKY_RELU_SLOPE", super::LEAKY_RELU_SLOPE)];

/// A module on `activation.wgsl`, which takes [`ACTIVATION_CONSTANTS`].
const fn activation(name: &'static str, parts: &'static [&'static [Part]]) -> Shader {
    Shader {
        constants: ACTIVATION_CONSTANTS,
        ..auto(name, parts)
    }
}

/// The diagnostic's kernels, as the pipelines are built from them
/// (bindings in the order of each file, layouts derived from the module):
/// `matmul.wgsl`, `activation_forward.wgsl`, `activation_backward.wgsl`
/// (both after their shared `activation.wgsl`), `layer_stats.wgsl`.
///
/// ```
/// use weight_init::diagnose::SHADERS;
/// let options = weight_init::gpu::unstable::ModuleOptions {
///     mulhilo: weight_init::gpu::unstable::MulHiLo::Emulated,
///     table_len: 512,
/// };
/// assert!(SHADERS[1].source(options).contains("fn activate"));
/// ```
pub static SHADERS: [Shader; 4] = [
    auto(
        "matmul.wgsl",
        &[&[Part::File(
            "matmul.wgsl",
            include_str!("../../shaders/matmul.wgsl"),
        )]],
    ),
    activation(
        "activation_forward.wgsl",
        &[&[
            ACTIVATION,
            Part::File(
                "activation_forward.wgsl",
                include_str!("../../shaders/activation_forward.wgsl"),
            ),
        ]],
    ),
    activation(
        "activation_backward.wgsl",
        &[&[
            ACTIVATION,
            Part::File(
                "activation_backward.wgsl",
                include_str!("../../shaders/activation_backward.wgsl"),
            ),
        ]],
    ),
    auto(
        "layer_stats.wgsl",
        &[&[Part::File(
            "layer_stats.wgsl",
            include_str!("../../shaders/layer_stats.wgsl"),
        )]],
    ),
];

impl GpuContext {
    /// Runs the signal-propagation diagnostic of [`crate::diagnose`] for
    /// the scheme `init` and returns its per-layer statistics.
    ///
    /// Device memory: `depth` weight matrices (`4 * width^2` bytes each,
    /// all kept for the backward pass), `depth` pre-activation matrices
    /// (`4 * batch * width` bytes each) and five more matrices of that size.
    ///
    /// Errors: the scheme's resolve errors for `[width, width]`; a weight
    /// (`4 * width^2` bytes) or activation (`4 * batch * width` bytes)
    /// matrix, or the statistics (`32 * depth * width` bytes, whose word
    /// offsets the kernel takes as `u32`), larger than
    /// the device's `max_storage_buffer_binding_size` (or
    /// `max_buffer_size`): [`Error::InvalidShape`], before anything runs
    /// (`weight-init devices` prints the limit; a device opened with
    /// `GpuContext::new_default` requests the adapter's own); grids past
    /// the device's workgroup limit; device errors (out of memory) caught by
    /// error scopes.
    ///
    /// ```no_run
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// use weight_init::gpu::GpuContext;
    /// let ctx = GpuContext::new_default()?;
    /// let cfg = DiagnoseConfig::new(50, 512, 256, Activation::Relu, 0)?;
    /// let report = ctx.diagnose(&cfg, &"kaiming_normal".parse()?)?;
    /// let (first, last) = (&report.layers[0], &report.layers[49]);
    /// println!("std ratio {}", last.act_std / first.act_std);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn diagnose(&self, cfg: &DiagnoseConfig, init: &Init) -> Result<Report> {
        let run = self.scoped("running the diagnostic", || {
            self.run_diagnose(cfg, Weights::Scheme(init), false)
        });
        Ok(run?.0)
    }

    /// [`Self::diagnose`], also reading back the filled tensors and every
    /// activation and gradient matrix (for tests on small sizes; keeps
    /// every matrix on the device).
    ///
    /// ```no_run
    /// use weight_init::diagnose::{Activation, DiagnoseConfig};
    /// use weight_init::gpu::GpuContext;
    /// let ctx = GpuContext::new_default()?;
    /// let cfg = DiagnoseConfig::new(3, 16, 8, Activation::Tanh, 0)?;
    /// let (report, _tensors, _trace) = ctx.diagnose_traced(&cfg, &"orthogonal".parse()?)?;
    /// assert_eq!(report.layers.len(), 3);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn diagnose_traced(
        &self,
        cfg: &DiagnoseConfig,
        init: &Init,
    ) -> Result<(Report, Tensors, Trace)> {
        let (report, traced) = self.scoped("running the diagnostic", || {
            self.run_diagnose(cfg, Weights::Scheme(init), true)
        })?;
        let (tensors, trace) = traced.expect("a traced run returns its matrices");
        Ok((report, tensors, trace))
    }

    /// LSUV (Mishkin & Matas 2016, Algorithm 1; see
    /// [`crate::diagnose::lsuv_reference`] for the procedure) on the
    /// device: each forward pass (`z_l = h_{l-1} W_l^T`, the variance of
    /// `z_l`, then `h_l = act(z_l)`) runs through the diagnostic's
    /// kernels; the host reads back the per-column partial statistics,
    /// picks the next scale, and uploads the layer's orthogonal start
    /// scaled by it ([`crate::diagnose::scale_weights`]; the orthogonal
    /// values are the host's, as for every `orthogonal` fill). One
    /// submission and read-back per forward pass.
    ///
    /// Errors: as [`Self::diagnose`], and those of
    /// [`crate::diagnose::lsuv_start`].
    ///
    /// ```no_run
    /// use weight_init::diagnose::{Activation, DiagnoseConfig, LsuvOptions};
    /// use weight_init::gpu::GpuContext;
    /// let ctx = GpuContext::new_default()?;
    /// let cfg = DiagnoseConfig::new(20, 128, 256, Activation::Relu, 0)?;
    /// let lsuv = ctx.lsuv(&cfg, &LsuvOptions::default())?;
    /// assert!(lsuv.layers.iter().all(|l| l.converged));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn lsuv(&self, cfg: &DiagnoseConfig, options: &LsuvOptions) -> Result<Lsuv> {
        self.scoped("running LSUV", || self.run_lsuv(cfg, options))
    }

    /// [`Self::lsuv`], then [`Self::diagnose`]'s run on LSUV's weights:
    /// the report `diagnose` shows beside the static schemes, under the
    /// scheme name [`Lsuv::scheme`].
    ///
    /// ```no_run
    /// use weight_init::diagnose::{Activation, DiagnoseConfig, LsuvOptions};
    /// use weight_init::gpu::GpuContext;
    /// let ctx = GpuContext::new_default()?;
    /// let cfg = DiagnoseConfig::new(50, 512, 256, Activation::Relu, 0)?;
    /// let (lsuv, report) = ctx.diagnose_lsuv(&cfg, &LsuvOptions::default())?;
    /// assert_eq!(report.scheme, lsuv.scheme());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn diagnose_lsuv(
        &self,
        cfg: &DiagnoseConfig,
        options: &LsuvOptions,
    ) -> Result<(Lsuv, Report)> {
        let lsuv = self.lsuv(cfg, options)?;
        let tensors = lsuv.tensors(cfg)?;
        let scheme = lsuv.scheme();
        let source = Weights::Values {
            scheme: &scheme,
            values: &tensors.weights,
        };
        let (report, _) = self.scoped("running the diagnostic", || {
            self.run_diagnose(cfg, source, false)
        })?;
        Ok((lsuv, report))
    }

    /// A device buffer of `elements` f32 words the diagnostic's kernels
    /// read and write, that the host can upload to and read back.
    fn diagnose_buffer(&self, label: &str, elements: u64) -> wgpu::Buffer {
        self.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: 4 * elements,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn run_lsuv(&self, cfg: &DiagnoseConfig, options: &LsuvOptions) -> Result<Lsuv> {
        let start = lsuv_start(cfg)?;
        let max_groups = self.diagnose_limits(cfg)?;
        let matmul_p = self.pipeline(&SHADERS[0])?;
        let forward_p = self.pipeline(&SHADERS[1])?;
        let stats_p = self.pipeline(&SHADERS[3])?;
        let (width, batch) = (cfg.width(), cfg.batch());
        let act_n = cfg.activation_numel();
        let buffer = |label: &str, elements: u64| self.diagnose_buffer(label, elements);
        let hs = [buffer("lsuv h", act_n), buffer("lsuv h", act_n)];
        let z = buffer("lsuv z", act_n);
        let weight = buffer("lsuv weight", cfg.weight_numel());
        let stats_words = (width * PARTIAL_WORDS) as u64;
        let stats = buffer("lsuv stats", stats_words);
        let uniform = |bytes: &[u8]| self.uniform("lsuv params", bytes);
        let grids = split_grid(act_n.div_ceil(ELEMENTWISE_GROUP), max_groups as u32);
        if grids.len() > 1 {
            return Err(Error::InvalidShape {
                shape: vec![cfg.depth() as u64, width as u64, batch as u64],
                reason: "the elementwise grid passes the device's workgroup limit".into(),
            });
        }
        let grid = grids.first().map_or([1, 1], |g| g.size);

        self.queue()
            .write_buffer(&hs[0], 0, bytemuck::cast_slice(&start.input));
        let mut layers = Vec::with_capacity(cfg.depth());
        for (l, w0) in start.weights.iter().enumerate() {
            let h_in = &hs[l % 2];
            let fitted = fit_layer(l + 1, options, |scale| {
                self.queue().write_buffer(
                    &weight,
                    0,
                    bytemuck::cast_slice(&scale_weights(w0, scale)),
                );
                let dims = [batch as u32, width as u32, width as u32, 1];
                let u = uniform(bytemuck::cast_slice(&dims));
                let mm_grid = [
                    (width as u64).div_ceil(MATMUL_TILE) as u32,
                    (batch as u64).div_ceil(MATMUL_TILE) as u32,
                ];
                let params = [batch as u32, width as u32, 0, 0];
                let su = uniform(bytemuck::cast_slice(&params));
                let dispatches = [
                    self.dispatch(
                        &matmul_p,
                        [h_in, &weight, &z, &u].map(|b| b.as_entire_binding()),
                        mm_grid,
                    ),
                    self.dispatch(
                        &stats_p,
                        [&z, &stats, &su].map(|b| b.as_entire_binding()),
                        [(width as u64).div_ceil(STATS_GROUP) as u32, 1],
                    ),
                ];
                self.submit_checked(|enc| {
                    record(enc, "lsuv forward", &dispatches);
                    Ok(())
                })?;
                let partials = self.read_f32(&stats, stats_words)?;
                Ok(combine_partials(&partials, batch).std.powi(2))
            })?;
            // z holds the last pass, at the kept scale.
            let params = [act_n as u32, cfg.activation().code(), grid[0], 0];
            let u = uniform(bytemuck::cast_slice(&params));
            let h_out = &hs[(l + 1) % 2];
            let forward = self.dispatch(
                &forward_p,
                [&z, h_out, &u].map(|b| b.as_entire_binding()),
                grid,
            );
            self.submit_checked(|enc| {
                record(enc, "lsuv activation", std::slice::from_ref(&forward));
                Ok(())
            })?;
            layers.push(fitted);
        }
        Ok(Lsuv {
            options: *options,
            layers,
        })
    }

    /// Checks every binding and grid of a run against the device's limits;
    /// returns the largest workgroup count per grid dimension.
    fn diagnose_limits(&self, cfg: &DiagnoseConfig) -> Result<u64> {
        let limits = self.device().limits();
        let binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let groups = limits.max_compute_workgroups_per_dimension as u64;
        let (b, w, d) = (cfg.batch() as u64, cfg.width() as u64, cfg.depth() as u64);
        let too_big = |what: &str, bytes: u64| {
            Error::InvalidShape {
            shape: vec![d, w, b],
            reason: format!(
                "{what} needs {bytes} bytes, past the device's storage binding limit of {binding} bytes"
            ),
        }
        };
        let act_bytes = 4 * b * w;
        if act_bytes > binding {
            return Err(too_big("a [batch, width] matrix", act_bytes));
        }
        let w_bytes = 4 * w * w;
        if w_bytes > binding {
            return Err(too_big("a [width, width] weight matrix", w_bytes));
        }
        let stats_words = d.saturating_mul(2 * w * PARTIAL_WORDS as u64);
        if stats_words > u32::MAX as u64 || 4 * stats_words > binding {
            return Err(too_big(
                "the per-layer statistics",
                stats_words.saturating_mul(4),
            ));
        }
        let grid = [
            w.div_ceil(MATMUL_TILE),
            b.div_ceil(MATMUL_TILE),
            w.div_ceil(STATS_GROUP),
        ];
        if grid.iter().any(|&g| g > groups) {
            return Err(Error::InvalidShape {
                shape: vec![d, w, b],
                reason: format!(
                    "the grid needs more than the device's {groups} workgroups per dimension"
                ),
            });
        }
        Ok(groups)
    }

    fn run_diagnose(
        &self,
        cfg: &DiagnoseConfig,
        source: Weights<'_>,
        traced: bool,
    ) -> Result<(Report, Option<(Tensors, Trace)>)> {
        let (plan, values, scheme) = match source {
            Weights::Scheme(init) => (Some(cfg.weight_plan(init)?), None, init.to_string()),
            Weights::Values { scheme, values } => {
                if values.len() != cfg.depth()
                    || values.iter().any(|v| v.len() as u64 != cfg.weight_numel())
                {
                    return Err(Error::OutputLength {
                        expected: cfg.depth() as u64 * cfg.weight_numel(),
                        got: values.iter().map(|v| v.len() as u64).sum(),
                        unit: "weights",
                    });
                }
                (None, Some(values), scheme.to_string())
            }
        };
        let max_groups = self.diagnose_limits(cfg)?;
        let matmul_p = self.pipeline(&SHADERS[0])?;
        let forward_p = self.pipeline(&SHADERS[1])?;
        let backward_p = self.pipeline(&SHADERS[2])?;
        let stats_p = self.pipeline(&SHADERS[3])?;
        let (depth, width, batch) = (cfg.depth(), cfg.width(), cfg.batch());
        let act_n = cfg.activation_numel();
        let buffer = |label: &str, elements: u64| self.diagnose_buffer(label, elements);
        let weights: Vec<_> = (0..depth)
            .map(|_| buffer("diagnose weight", cfg.weight_numel()))
            .collect();
        let zs: Vec<_> = (0..depth).map(|_| buffer("diagnose z", act_n)).collect();
        // h_0..h_depth and g_0..g_depth: all of them when traced, else two
        // of each used in turn (h_l and h_{l-1} never share a buffer).
        let kept = if traced { depth + 1 } else { 2 };
        let hs: Vec<_> = (0..kept).map(|_| buffer("diagnose h", act_n)).collect();
        let gs: Vec<_> = (0..kept).map(|_| buffer("diagnose g", act_n)).collect();
        let slot = |l: usize| if traced { l } else { l % 2 };
        let delta = buffer("diagnose delta", act_n);
        let stats_words = (depth * 2 * width * PARTIAL_WORDS) as u64;
        let stats = buffer("diagnose stats", stats_words);

        let uniform = |bytes: &[u8]| self.uniform("diagnose params", bytes);
        fn bind<'a>(buffers: &[&'a wgpu::Buffer]) -> Vec<wgpu::BindingResource<'a>> {
            buffers.iter().map(|b| b.as_entire_binding()).collect()
        }
        let matmul = |a: &wgpu::Buffer, b: &wgpu::Buffer, c: &wgpu::Buffer, trans_b: u32| {
            let dims = [batch as u32, width as u32, width as u32, trans_b];
            let u = uniform(bytemuck::cast_slice(&dims));
            let grid = [
                (width as u64).div_ceil(MATMUL_TILE) as u32,
                (batch as u64).div_ceil(MATMUL_TILE) as u32,
            ];
            self.dispatch(&matmul_p, bind(&[a, b, c, &u]), grid)
        };
        let grids = split_grid(act_n.div_ceil(ELEMENTWISE_GROUP), max_groups as u32);
        if grids.len() > 1 {
            return Err(Error::InvalidShape {
                shape: vec![depth as u64, width as u64, batch as u64],
                reason: "the elementwise grid passes the device's workgroup limit".into(),
            });
        }
        let grid = grids.first().map_or([1, 1], |g| g.size);
        let elementwise = |pipeline, buffers: &[&wgpu::Buffer]| {
            let params = [act_n as u32, cfg.activation().code(), grid[0], 0];
            let u = uniform(bytemuck::cast_slice(&params));
            let mut all = buffers.to_vec();
            all.push(&u);
            self.dispatch(pipeline, bind(&all), grid)
        };
        let layer_stats = |x: &wgpu::Buffer, layer: usize, which: usize| {
            let offset = ((layer * 2 + which) * width * PARTIAL_WORDS) as u32;
            let params = [batch as u32, width as u32, offset, 0];
            let u = uniform(bytemuck::cast_slice(&params));
            let grid = [(width as u64).div_ceil(STATS_GROUP) as u32, 1];
            self.dispatch(&stats_p, bind(&[x, &stats, &u]), grid)
        };

        let mut dispatches = Vec::with_capacity(6 * depth);
        for l in 1..=depth {
            let (w, z) = (&weights[l - 1], &zs[l - 1]);
            dispatches.push(matmul(&hs[slot(l - 1)], w, z, 1));
            dispatches.push(elementwise(&forward_p, &[z, &hs[slot(l)]]));
            dispatches.push(layer_stats(&hs[slot(l)], l - 1, 0));
        }
        let backward_layers = if cfg.backward() { depth } else { 0 };
        for l in (1..=backward_layers).rev() {
            let (w, z) = (&weights[l - 1], &zs[l - 1]);
            dispatches.push(elementwise(&backward_p, &[z, &gs[slot(l)], &delta]));
            dispatches.push(matmul(&delta, w, &gs[slot(l - 1)], 0));
            dispatches.push(layer_stats(&gs[slot(l - 1)], l - 1, 1));
        }

        self.submit_checked(|enc| {
            let normal = standard_normal();
            let key = cfg.input_key();
            self.record_fill(enc, &hs[0], 0, &normal, DType::F32, &key, 0..key.numel)?;
            let key = cfg.output_grad_key();
            let g_last = &gs[slot(depth)];
            self.record_fill(enc, g_last, 0, &normal, DType::F32, &key, 0..key.numel)?;
            for (l, w) in (1..=depth).zip(&weights) {
                if let Some(plan) = &plan {
                    self.record_plan(enc, w, plan, cfg, l)?;
                } else if let Some(values) = values {
                    self.queue()
                        .write_buffer(w, 0, bytemuck::cast_slice(&values[l - 1]));
                }
            }
            record(enc, "diagnose", &dispatches);
            Ok(())
        })?;

        let partials = self.read_f32(&stats, stats_words)?;
        let block = width * PARTIAL_WORDS;
        let layers = (0..depth)
            .map(|l| {
                let h = combine_partials(&partials[(2 * l) * block..(2 * l + 1) * block], batch);
                let g = cfg.backward().then(|| {
                    combine_partials(&partials[(2 * l + 1) * block..(2 * l + 2) * block], batch)
                });
                LayerStats::from_matrices(l + 1, h, g)
            })
            .collect();
        let report = Report {
            scheme,
            config: *cfg,
            layers,
        };
        if !traced {
            return Ok((report, None));
        }
        let tensors = Tensors {
            input: self.read_f32(&hs[0], act_n)?,
            weights: weights
                .iter()
                .map(|w| self.read_f32(w, cfg.weight_numel()))
                .collect::<Result<_>>()?,
            output_grad: self.read_f32(&gs[depth], act_n)?,
        };
        let trace = Trace {
            activations: hs[1..]
                .iter()
                .map(|h| self.read_f32(h, act_n))
                .collect::<Result<_>>()?,
            gradients: gs[..if cfg.backward() { depth } else { 0 }]
                .iter()
                .map(|g| self.read_f32(g, act_n))
                .collect::<Result<_>>()?,
        };
        Ok((report, Some((tensors, trace))))
    }

    /// Records layer `layer`'s weights: `plan` on the layer's stream.
    fn record_plan(
        &self,
        enc: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        plan: &Plan,
        cfg: &DiagnoseConfig,
        layer: usize,
    ) -> Result<()> {
        let key = cfg.weight_key(layer);
        match plan {
            Plan::Sample(d) => self.record_fill(enc, buffer, 0, d, DType::F32, &key, 0..key.numel),
            Plan::Segments(segs) => segs.iter().try_for_each(|(r, d)| {
                self.record_fill(enc, buffer, 4 * r.start, d, DType::F32, &key, r.clone())
            }),
            Plan::Values(v) => {
                if v.len() as u64 != key.numel {
                    return Err(Error::OutputLength {
                        expected: key.numel,
                        got: v.len() as u64,
                        unit: "elements",
                    });
                }
                self.queue()
                    .write_buffer(buffer, 0, bytemuck::cast_slice(v));
                Ok(())
            }
            // Orthogonal needs its QR on the host first: the explicit step.
            Plan::Structured(s) if crate::gpu::needs_host_values(s) => {
                let values = crate::gpu::StructuredValues::compute(s, DType::F32, &key)?;
                self.record_structured_values(enc, buffer, 0, &values)
            }
            Plan::Structured(s) => self.record_structured(enc, buffer, 0, s, DType::F32, &key),
        }
    }

    fn read_f32(&self, buffer: &wgpu::Buffer, elements: u64) -> Result<Vec<f32>> {
        let bytes = self.read_buffer(buffer, 0, 4 * elements)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// Where a diagnostic run's weights come from.
#[derive(Clone, Copy)]
enum Weights<'a> {
    /// A scheme, resolved and filled on each layer's stream.
    Scheme(&'a Init),
    /// Given values, one `[width, width]` matrix per layer, reported
    /// under `scheme`.
    Values {
        scheme: &'a str,
        values: &'a [Vec<f32>],
    },
}
