//! Execution: a resolved set turned into per-tensor fill jobs, run on the
//! CPU or recorded into a caller's wgpu command encoder.

use std::ops::Range;

use super::{part_numel, ResolvedParam, ResolvedSet, Shard};
use crate::cpu::Threads;
use crate::error::{Error, Result};
#[cfg(feature = "gpu")]
use crate::gpu::jobs::{check_disjoint, record_checked, shifted, validate_jobs};
#[cfg(feature = "gpu")]
use crate::gpu::{check_target, tensor_of, GpuContext, RecordStats};
use crate::philox::TensorKey;
use crate::scheme::numel;
use crate::tensor::{jobs_to_bytes, plan_jobs, FillJob};

/// Default alignment of every tensor's byte offset in a GPU arena: 256,
/// the largest `min_storage_buffer_offset_alignment` WebGPU allows, so an
/// engine can bind any parameter on its own as a storage buffer on any
/// device. (The fills themselves need only 4.)
///
/// ```
/// use weight_init::model::{Param, ParamSet, Rules, ARENA_ALIGN};
/// use weight_init::DType;
/// let set = ParamSet::from_params([
///     Param::new("a", vec![1], DType::F16).with_init("zeros".parse().unwrap()),
///     Param::new("b", vec![1], DType::F16).with_init("zeros".parse().unwrap()),
/// ]).unwrap();
/// let layout = set.resolve(&Rules::default()).unwrap().arena_layout(None, ARENA_ALIGN).unwrap();
/// assert_eq!(layout.offsets, vec![0, ARENA_ALIGN]);
/// ```
pub const ARENA_ALIGN: u64 = 256;

/// The jobs of one tensor: its shard shape and the jobs writing its
/// compact bytes from offset 0 ([`plan_jobs`] for the shard's runs).
// A list of runs that happens to hold one run, not a range to collect.
#[allow(clippy::single_range_in_vec_init)]
pub(crate) fn param_jobs(
    p: &ResolvedParam,
    seed: u64,
    shard: Option<&Shard>,
) -> Result<(Vec<u64>, Vec<FillJob>)> {
    let n = numel(&p.shape)?;
    let (shape, runs) = match shard {
        Some(s) => s.tensor_runs(&p.name, &p.shape)?,
        None => (p.shape.clone(), vec![0..n]),
    };
    if runs.is_empty() {
        // An empty part (a mesh shard past the end of an uneven split)
        // writes nothing; a structured scheme is not computed for it.
        return Ok((shape, Vec::new()));
    }
    let key = TensorKey::new(seed, p.stream, n);
    Ok((shape, plan_jobs(&p.plan, &p.shape, p.dtype, key, runs)?))
}

/// Where each tensor of a set lives in one GPU buffer.
///
/// Tensor `i` occupies bytes `offsets[i] .. offsets[i] + sizes[i]`; every
/// offset is a multiple of `align` (at least 4, a power of two). Between
/// tensors are padding bytes that fills never write.
///
/// ```
/// use weight_init::model::{Param, ParamSet, Rules};
/// use weight_init::DType;
/// let set = ParamSet::from_params([
///     Param::new("a", vec![3], DType::BF16).with_init("zeros".parse().unwrap()),
///     Param::new("b", vec![5], DType::F32).with_init("ones".parse().unwrap()),
/// ]).unwrap();
/// let layout = set.resolve(&Rules::default()).unwrap().arena_layout(None, 256).unwrap();
/// assert_eq!(layout.offsets, vec![0, 256]);
/// assert_eq!(layout.sizes, vec![6, 20]);
/// assert_eq!(layout.total_bytes, 276);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArenaLayout {
    /// Byte offset of each tensor, in the set's order.
    pub offsets: Vec<u64>,
    /// Bytes of each tensor (its shard, when sharded).
    pub sizes: Vec<u64>,
    /// Shape of each tensor (its shard's, when sharded).
    pub shapes: Vec<Vec<u64>>,
    /// The buffer size the arena needs (at least 4).
    pub total_bytes: u64,
    /// The offsets' alignment.
    pub align: u64,
}

impl ArenaLayout {
    #[cfg(feature = "gpu")]
    /// A buffer for the arena with `STORAGE | COPY_DST | COPY_SRC` usage.
    ///
    /// Errors: the arena is larger than the device's `max_buffer_size`
    /// (spread the set over several buffers with
    /// [`ResolvedSet::split_arena_layout`] instead), or the device reports a
    /// validation or out-of-memory error (caught with error scopes, never a
    /// panic).
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::model::{Param, ParamSet, Rules, ARENA_ALIGN};
    /// use weight_init::DType;
    /// let ctx = GpuContext::new_default()?;
    /// let set = ParamSet::from_params([Param::new("w", vec![64, 32], DType::F32)
    ///     .with_init("normal(0, 0.02)".parse()?)])?;
    /// let layout = set.resolve(&Rules::default())?.arena_layout(None, ARENA_ALIGN)?;
    /// let buffer = layout.create_buffer(&ctx)?;
    /// assert_eq!(buffer.size(), layout.total_bytes);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn create_buffer(&self, ctx: &GpuContext) -> Result<wgpu::Buffer> {
        create_arena_buffer(ctx, self.total_bytes, "weight-init model arena").map_err(|e| match e {
            CreateError::TooLarge { bytes, max } => Error::Gpu {
                message: format!(
                    "the model needs a {bytes}-byte arena, but the device's largest buffer is \
                     {max} bytes: spread it over several buffers \
                     (ResolvedSet::split_arena_layout)"
                ),
            },
            CreateError::Failed(e) => e,
        })
    }
}

#[cfg(feature = "gpu")]
/// Why [`create_arena_buffer`] failed.
enum CreateError {
    /// More bytes than the device's `max_buffer_size`.
    TooLarge { bytes: u64, max: u64 },
    /// The device refused it.
    Failed(Error),
}

#[cfg(feature = "gpu")]
/// A `STORAGE | COPY_DST | COPY_SRC` buffer of `bytes`, device errors
/// caught with error scopes.
fn create_arena_buffer(
    ctx: &GpuContext,
    bytes: u64,
    label: &str,
) -> std::result::Result<wgpu::Buffer, CreateError> {
    let max = ctx.device().limits().max_buffer_size;
    if bytes > max {
        return Err(CreateError::TooLarge { bytes, max });
    }
    ctx.create_buffer_checked(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
    .map_err(CreateError::Failed)
}

/// Where each tensor of a set lives when the set is spread over several
/// GPU buffers, none larger than a limit (the device's `max_buffer_size`):
/// a model too large for one buffer, such as a full-size Llama-2-7B
/// (13.5 GB in bf16).
///
/// Tensors go into the buffers in the set's order, each at the next
/// offset that is a multiple of `align` (at least 4, a power of two), and
/// a new buffer starts where the next tensor would pass the limit: a
/// tensor never straddles two buffers, so an engine can bind any
/// parameter on its own. Tensor `i` occupies bytes `offsets[i] ..
/// offsets[i] + sizes[i]` of buffer `buffers[i]`; between tensors are
/// padding bytes that fills never write. When the whole set fits in one
/// buffer, the layout is [`ResolvedSet::arena_layout`]'s with every tensor
/// in buffer 0.
///
/// Made by [`ResolvedSet::split_arena_layout`]; buffers from
/// [`Self::create_buffers`] (or the engine's own), filled by
/// [`ResolvedSet::record_gpu_split`] (all at once) or
/// [`ResolvedSet::record_gpu_buffer`] (one buffer at a time).
///
/// ```
/// use weight_init::model::{Param, ParamSet, Rules};
/// use weight_init::DType;
/// let set = ParamSet::from_params([
///     Param::new("a", vec![100], DType::F32).with_init("ones".parse().unwrap()),
///     Param::new("b", vec![100], DType::F32).with_init("zeros".parse().unwrap()),
///     Param::new("c", vec![200], DType::F32).with_init("normal(0, 1)".parse().unwrap()),
/// ]).unwrap();
/// let r = set.resolve(&Rules::default()).unwrap();
/// // Buffers of at most 1024 bytes: `c` (800 bytes) does not fit after `b`.
/// let layout = r.split_arena_layout(None, 256, 1024).unwrap();
/// assert_eq!(layout.buffers, vec![0, 0, 1]);
/// assert_eq!(layout.offsets, vec![0, 512, 0]);
/// assert_eq!(layout.buffer_sizes, vec![912, 800]);
/// assert_eq!(layout.tensors_in(0), 0..2);
/// // A tensor larger than a buffer is an error naming it.
/// assert!(r.split_arena_layout(None, 256, 512).unwrap_err().to_string().contains("`c`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitArenaLayout {
    /// The buffer of each tensor, in the set's order (non-decreasing).
    pub buffers: Vec<usize>,
    /// Byte offset of each tensor in its buffer.
    pub offsets: Vec<u64>,
    /// Bytes of each tensor (its shard, when sharded).
    pub sizes: Vec<u64>,
    /// Shape of each tensor (its shard's, when sharded).
    pub shapes: Vec<Vec<u64>>,
    /// The size each buffer needs: at least 4, a multiple of 4, at most
    /// the limit the layout was made for. Every buffer holds at least one
    /// tensor (an empty set has one 4-byte buffer).
    pub buffer_sizes: Vec<u64>,
    /// The offsets' alignment.
    pub align: u64,
}

impl SplitArenaLayout {
    /// The tensors (indices in the set's order) that live in buffer
    /// `buffer`; empty past the last buffer.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet, Rules};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params((0..5).map(|i| {
    ///     Param::new(format!("w{i}"), vec![64], DType::F32).with_init("ones".parse().unwrap())
    /// })).unwrap();
    /// let r = set.resolve(&Rules::default()).unwrap();
    /// let layout = r.split_arena_layout(None, 256, 512).unwrap(); // two tensors a buffer
    /// assert_eq!(layout.buffer_sizes.len(), 3);
    /// assert_eq!(layout.tensors_in(1), 2..4);
    /// assert_eq!(layout.tensors_in(2), 4..5);
    /// ```
    pub fn tensors_in(&self, buffer: usize) -> Range<usize> {
        let start = self.buffers.partition_point(|&b| b < buffer);
        let end = self.buffers.partition_point(|&b| b <= buffer);
        start..end.max(start)
    }

    #[cfg(feature = "gpu")]
    /// One buffer per entry of [`Self::buffer_sizes`], each with
    /// `STORAGE | COPY_DST | COPY_SRC` usage.
    ///
    /// Errors: a buffer larger than the device's `max_buffer_size` (the
    /// layout was made for a larger limit), or the device reports a
    /// validation or out-of-memory error (caught with error scopes, never
    /// a panic); the buffers created before the failure are dropped.
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::model::{Param, ParamSet, Rules, ARENA_ALIGN};
    /// use weight_init::DType;
    /// let ctx = GpuContext::new_default()?;
    /// let set = ParamSet::from_params([Param::new("emb", vec![32000, 4096], DType::F32)
    ///     .with_init("normal(0, 0.02)".parse()?)])?;
    /// let r = set.resolve(&Rules::default())?;
    /// let max = ctx.device().limits().max_buffer_size;
    /// let buffers = r.split_arena_layout(None, ARENA_ALIGN, max)?.create_buffers(&ctx)?;
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn create_buffers(&self, ctx: &GpuContext) -> Result<Vec<wgpu::Buffer>> {
        let count = self.buffer_sizes.len();
        self.buffer_sizes
            .iter()
            .enumerate()
            .map(|(k, &bytes)| {
                create_split_buffer(
                    ctx,
                    bytes,
                    "weight-init model arena part",
                    &format!("arena buffer {k} of {count}"),
                )
            })
            .collect()
    }

    #[cfg(feature = "gpu")]
    /// One buffer as large as the layout's largest, with the same usage as
    /// [`Self::create_buffers`]': for filling the layout's buffers one at a
    /// time with [`ResolvedSet::record_gpu_buffer`], so device memory stays
    /// at one buffer whatever the model's size. Errors as
    /// [`Self::create_buffers`].
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::model::{Param, ParamSet, Rules, ARENA_ALIGN};
    /// use weight_init::DType;
    /// let ctx = GpuContext::new_default()?;
    /// let set = ParamSet::from_params([Param::new("emb", vec![32000, 4096], DType::F32)
    ///     .with_init("normal(0, 0.02)".parse()?)])?;
    /// let r = set.resolve(&Rules::default())?;
    /// let layout = r.split_arena_layout(None, ARENA_ALIGN, 256 << 20)?;
    /// let reused = layout.create_reusable_buffer(&ctx)?;
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn create_reusable_buffer(&self, ctx: &GpuContext) -> Result<wgpu::Buffer> {
        let bytes = self.buffer_sizes.iter().copied().max().unwrap_or(4).max(4);
        create_split_buffer(
            ctx,
            bytes,
            "weight-init model arena (reused)",
            "the layout's largest buffer",
        )
    }
}

#[cfg(feature = "gpu")]
/// A buffer of a split layout ([`create_arena_buffer`]); `what` names it in
/// the error when the device's largest buffer is smaller.
fn create_split_buffer(
    ctx: &GpuContext,
    bytes: u64,
    label: &str,
    what: &str,
) -> Result<wgpu::Buffer> {
    create_arena_buffer(ctx, bytes, label).map_err(|e| match e {
        CreateError::TooLarge { bytes, max } => Error::Gpu {
            message: format!(
                "{what} needs {bytes} bytes, but the device's largest buffer is {max} bytes: \
                 make the layout with the device's max_buffer_size"
            ),
        },
        CreateError::Failed(e) => e,
    })
}

impl ResolvedSet {
    /// The shard's shape and the jobs of tensor `index`, writing its
    /// compact bytes from offset 0. Errors name the parameter.
    ///
    /// ```
    /// use weight_init::model::{FillJob, Param, ParamSet, Rules, Shard, ShardMode};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([Param::new("w", vec![4, 6], DType::F32)
    ///     .with_init("normal(0, 1)".parse().unwrap())]).unwrap();
    /// let r = set.resolve(&Rules::default()).unwrap();
    /// let cols = Shard::new(2, 1, ShardMode::Columns).unwrap();
    /// let (shape, jobs) = r.tensor_jobs(0, 9, Some(&cols)).unwrap();
    /// assert_eq!(shape, vec![4, 3]);
    /// assert_eq!(jobs.len(), 4); // one strided row piece per row
    /// assert!(matches!(&jobs[1], FillJob::Sample { range, dst: 12, .. } if *range == (9..12)));
    /// ```
    pub fn tensor_jobs(
        &self,
        index: usize,
        seed: u64,
        shard: Option<&Shard>,
    ) -> Result<(Vec<u64>, Vec<FillJob>)> {
        let p = self.params.get(index).ok_or(Error::RangeOutOfBounds {
            start: index as u64,
            end: index as u64 + 1,
            len: self.params.len() as u64,
        })?;
        param_jobs(p, seed, shard).map_err(|e| Error::Param {
            name: p.name.clone(),
            source: Box::new(e),
        })
    }

    /// The shard shape and byte size of every tensor, without filling.
    fn shard_shapes(&self, shard: Option<&Shard>) -> Result<Vec<(Vec<u64>, u64)>> {
        self.params
            .iter()
            .map(|p| {
                let named = |e| Error::Param {
                    name: p.name.clone(),
                    source: Box::new(e),
                };
                let shape = match shard {
                    Some(s) => s.tensor_runs(&p.name, &p.shape).map_err(named)?.0,
                    None => p.shape.clone(),
                };
                let n = part_numel(&shape).map_err(named)?;
                let bytes = crate::host::bytes_of(n, p.dtype.size_bytes(), || {
                    format!("shape {shape:?} of {}", p.dtype)
                })
                .map_err(named)?;
                Ok((shape, bytes))
            })
            .collect()
    }

    /// Each tensor's (shard's) place in one buffer, offsets aligned to
    /// `align` ([`ARENA_ALIGN`] is a good default). Errors: `align` not a
    /// power of two of at least 4; a shard that does not fit a tensor.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet, Rules, Shard, ShardMode};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([Param::new("w", vec![4, 3], DType::F32)
    ///     .with_init("ones".parse().unwrap())]).unwrap();
    /// let r = set.resolve(&Rules::default()).unwrap();
    /// let half = Shard::new(2, 0, ShardMode::Rows).unwrap();
    /// assert_eq!(r.arena_layout(Some(&half), 4).unwrap().shapes, vec![vec![2, 3]]);
    /// assert!(r.arena_layout(None, 3).is_err()); // not a power of two
    /// ```
    pub fn arena_layout(&self, shard: Option<&Shard>, align: u64) -> Result<ArenaLayout> {
        check_align(align)?;
        let (mut offsets, mut sizes, mut shapes) = (Vec::new(), Vec::new(), Vec::new());
        let mut end = 0u64;
        for (p, (shape, size)) in self.params.iter().zip(self.shard_shapes(shard)?) {
            // Whole 4-byte words per tensor: uploads copy words.
            let next = end
                .checked_next_multiple_of(align)
                .and_then(|at| Some((at, at.checked_add(size.checked_next_multiple_of(4)?)?)));
            let Some((at, next_end)) = next else {
                return Err(Error::Param {
                    name: p.name.clone(),
                    source: Box::new(Error::TooLarge {
                        what: format!("the arena holding this tensor ({size} bytes at byte {end})"),
                        reason: "its end overflows a 64-bit byte offset".into(),
                    }),
                });
            };
            offsets.push(at);
            sizes.push(size);
            shapes.push(shape);
            end = next_end;
        }
        Ok(ArenaLayout {
            offsets,
            sizes,
            shapes,
            total_bytes: end.max(4),
            align,
        })
    }

    /// Each tensor's (shard's) place in several buffers of at most
    /// `max_buffer_bytes` each (pass the device's
    /// `wgpu::Limits::max_buffer_size`), offsets aligned to `align`
    /// ([`ARENA_ALIGN`] is a good default): for a model too large for one
    /// buffer. See [`SplitArenaLayout`] for the packing; when everything
    /// fits in one buffer, buffer 0 has [`Self::arena_layout`]'s offsets.
    ///
    /// Errors: `align` not a power of two of at least 4;
    /// `max_buffer_bytes` below 4; a shard that does not fit a tensor; a
    /// tensor (its shard) larger than `max_buffer_bytes`, naming it (a
    /// tensor never spans two buffers: shard it, or use a device whose
    /// `max_buffer_size` holds it).
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet, Rules, ARENA_ALIGN};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([
    ///     Param::new("a", vec![3], DType::BF16).with_init("zeros".parse().unwrap()),
    ///     Param::new("b", vec![5], DType::F32).with_init("ones".parse().unwrap()),
    /// ]).unwrap();
    /// let r = set.resolve(&Rules::default()).unwrap();
    /// let one = r.arena_layout(None, ARENA_ALIGN).unwrap();
    /// let split = r.split_arena_layout(None, ARENA_ALIGN, 1 << 30).unwrap();
    /// assert_eq!((split.offsets, split.buffer_sizes), (one.offsets, vec![one.total_bytes]));
    /// let tight = r.split_arena_layout(None, ARENA_ALIGN, 20).unwrap();
    /// assert_eq!(tight.buffers, vec![0, 1]);
    /// assert_eq!(tight.buffer_sizes, vec![8, 20]);
    /// ```
    pub fn split_arena_layout(
        &self,
        shard: Option<&Shard>,
        align: u64,
        max_buffer_bytes: u64,
    ) -> Result<SplitArenaLayout> {
        check_align(align)?;
        // Buffers hold whole 4-byte words: uploads copy words.
        let cap = max_buffer_bytes / 4 * 4;
        if cap < 4 {
            return Err(Error::InvalidParameter {
                name: "max_buffer_bytes",
                value: max_buffer_bytes as f64,
                reason: "must be at least 4",
            });
        }
        let (mut buffers, mut offsets, mut sizes, mut shapes) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut buffer_sizes = vec![0u64];
        for (p, (shape, size)) in self.params.iter().zip(self.shard_shapes(shard)?) {
            let words = size.checked_next_multiple_of(4).unwrap_or(u64::MAX);
            if words > cap {
                return Err(Error::Param {
                    name: p.name.clone(),
                    source: Box::new(Error::InvalidShape {
                        shape,
                        reason: format!(
                            "{}its {size} bytes pass the largest buffer ({max_buffer_bytes} \
                             bytes), and a tensor never spans two buffers: shard it, or use a \
                             device whose max_buffer_size holds it",
                            if shard.is_some() { "(this shard) " } else { "" }
                        ),
                    }),
                });
            }
            let used = buffer_sizes.last_mut().expect("one buffer at least");
            let mut at = used.checked_next_multiple_of(align).unwrap_or(u64::MAX);
            if at.checked_add(words).is_none_or(|e| e > cap) {
                buffer_sizes.push(0);
                at = 0;
            }
            buffers.push(buffer_sizes.len() - 1);
            offsets.push(at);
            sizes.push(size);
            shapes.push(shape);
            *buffer_sizes.last_mut().expect("one buffer at least") = at + words;
        }
        for b in &mut buffer_sizes {
            *b = (*b).max(4);
        }
        Ok(SplitArenaLayout {
            buffers,
            offsets,
            sizes,
            shapes,
            buffer_sizes,
            align,
        })
    }

    /// Every tensor's fill jobs at its arena offset: the one step that
    /// turns the set into work for a backend.
    ///
    /// Host memory: the host-computed uploads (class priors, orthogonal
    /// and delta-orthogonal tensors, and sharded structured tensors, each
    /// computed whole and sliced) are all held until the jobs are dropped;
    /// every orthogonal `Q` is computed here (see [`FillJob`]).
    ///
    /// Errors: a layout not made (by [`Self::arena_layout`]) for this set
    /// and shard; a parameter's own errors, naming it.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet, Rules};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([
    ///     Param::new("a", vec![3], DType::F32).with_init("ones".parse().unwrap()),
    ///     Param::new("b", vec![5], DType::F32).with_init("normal(0, 1)".parse().unwrap()),
    /// ]).unwrap();
    /// let r = set.resolve(&Rules::default()).unwrap();
    /// let jobs = r.jobs(1, None, &r.arena_layout(None, 256).unwrap()).unwrap();
    /// assert_eq!(jobs.iter().map(|j| j.len_bytes()).sum::<u64>(), 3 * 4 + 5 * 4);
    /// assert!(jobs.iter().any(|j| j.dst() == 256));
    /// ```
    pub fn jobs(
        &self,
        seed: u64,
        shard: Option<&Shard>,
        layout: &ArenaLayout,
    ) -> Result<Vec<FillJob>> {
        if layout.offsets.len() != self.params.len() {
            return Err(Error::OutputLength {
                expected: self.params.len() as u64,
                got: layout.offsets.len() as u64,
                unit: "elements",
            });
        }
        let expected = self.arena_layout(shard, layout.align)?;
        if expected.sizes != layout.sizes {
            return Err(Error::InvalidShape {
                shape: layout.sizes.clone(),
                reason: "the arena layout was not made for this set and shard".into(),
            });
        }
        let mut all = Vec::new();
        for (i, &at) in layout.offsets.iter().enumerate() {
            let (_, jobs) = self.tensor_jobs(i, seed, shard)?;
            all.extend(jobs.into_iter().map(|mut j| {
                j.shift(at);
                j
            }));
        }
        Ok(all)
    }

    /// Tensor `index` (its shard, when sharded) filled on the CPU: its
    /// shape and little-endian bytes.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet, Rules, Shard, ShardMode};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([Param::new("w", vec![4, 6], DType::F32)
    ///     .with_init("normal(0, 0.02)".parse().unwrap())]).unwrap();
    /// let r = set.resolve(&Rules::default()).unwrap();
    /// let (shape, bytes) = r.fill_param_cpu(0, 3, None).unwrap();
    /// assert_eq!((shape, &bytes), (vec![4, 6], &r.fill_cpu(3, None).unwrap()[0].1));
    /// let rows = Shard::new(2, 1, ShardMode::Rows).unwrap();
    /// assert_eq!(r.fill_param_cpu(0, 3, Some(&rows)).unwrap().1, &bytes[48..]);
    /// ```
    pub fn fill_param_cpu(
        &self,
        index: usize,
        seed: u64,
        shard: Option<&Shard>,
    ) -> Result<(Vec<u64>, Vec<u8>)> {
        self.fill_param_cpu_with(index, seed, shard, &Threads::all())
    }

    /// [`Self::fill_param_cpu`] on the threads `threads` allows: the same
    /// bytes for every [`Threads`] (structured schemes keep their own
    /// parallelism, see [`Threads`]).
    ///
    /// ```
    /// use weight_init::cpu::Threads;
    /// use weight_init::model::{Param, ParamSet, Rules};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([Param::new("w", vec![300, 40], DType::BF16)
    ///     .with_init("uniform(-1, 1)".parse().unwrap())]).unwrap();
    /// let r = set.resolve(&Rules::default()).unwrap();
    /// let one = r.fill_param_cpu_with(0, 9, None, &Threads::count(1).unwrap()).unwrap();
    /// assert_eq!(one, r.fill_param_cpu(0, 9, None).unwrap());
    /// ```
    pub fn fill_param_cpu_with(
        &self,
        index: usize,
        seed: u64,
        shard: Option<&Shard>,
        threads: &Threads,
    ) -> Result<(Vec<u64>, Vec<u8>)> {
        let (shape, jobs) = self.tensor_jobs(index, seed, shard)?;
        if jobs.is_empty() {
            // An empty part of an uneven split.
            return Ok((shape, Vec::new()));
        }
        let p = &self.params[index];
        let out = jobs_to_bytes(&shape, p.dtype, &jobs, threads).map_err(|e| Error::Param {
            name: p.name.clone(),
            source: Box::new(e),
        })?;
        Ok((shape, out))
    }

    /// Every tensor (its shard, when sharded) filled on the CPU into the
    /// caller's host memory `out`, laid out as `layout` says (from
    /// [`Self::arena_layout`]): a staging buffer, a memory-mapped file, the
    /// host side of an engine's arena. Bytes between tensors are left as
    /// they were. Errors: `out` shorter than `layout.total_bytes`, a layout
    /// not made for this set and shard.
    ///
    /// The sampled tensors are one piece of work, cut into equal parts, one
    /// per thread: a model of hundreds of small tensors starts its threads
    /// once, not once per tensor. Host bytes and structured tensors are
    /// written first.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet, Rules};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([
    ///     Param::new("a", vec![3], DType::F32).with_init("ones".parse().unwrap()),
    ///     Param::new("b", vec![2], DType::BF16).with_init("zeros".parse().unwrap()),
    /// ]).unwrap();
    /// let r = set.resolve(&Rules::default()).unwrap();
    /// let layout = r.arena_layout(None, 16).unwrap();
    /// let mut host = vec![0xffu8; layout.total_bytes as usize];
    /// r.fill_cpu_into(1, None, &layout, &mut host).unwrap();
    /// assert_eq!(&host[..4], &1.0f32.to_le_bytes());
    /// assert_eq!(&host[16..20], &[0, 0, 0, 0]);
    /// assert_eq!(host[12], 0xff); // padding untouched
    /// ```
    pub fn fill_cpu_into(
        &self,
        seed: u64,
        shard: Option<&Shard>,
        layout: &ArenaLayout,
        out: &mut [u8],
    ) -> Result<()> {
        self.fill_cpu_into_with(seed, shard, layout, out, &Threads::all())
    }

    /// [`Self::fill_cpu_into`] on the threads `threads` allows: the same
    /// bytes for every [`Threads`].
    ///
    /// ```
    /// use weight_init::cpu::Threads;
    /// use weight_init::model::{Param, ParamSet, Rules};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([Param::new("w", vec![100, 30], DType::F32)
    ///     .with_init("normal(0, 1)".parse().unwrap())]).unwrap();
    /// let r = set.resolve(&Rules::default()).unwrap();
    /// let layout = r.arena_layout(None, 4).unwrap();
    /// let (mut a, mut b) = (vec![0u8; layout.total_bytes as usize], vec![0u8; layout.total_bytes as usize]);
    /// r.fill_cpu_into_with(2, None, &layout, &mut a, &Threads::count(1).unwrap()).unwrap();
    /// r.fill_cpu_into(2, None, &layout, &mut b).unwrap();
    /// assert_eq!(a, b);
    /// assert!(r.fill_cpu_into_with(2, None, &layout, &mut [0u8; 8], &Threads::all()).is_err()); // too short
    /// ```
    pub fn fill_cpu_into_with(
        &self,
        seed: u64,
        shard: Option<&Shard>,
        layout: &ArenaLayout,
        out: &mut [u8],
        threads: &Threads,
    ) -> Result<()> {
        if (out.len() as u64) < layout.total_bytes {
            return Err(Error::OutputLength {
                expected: layout.total_bytes,
                got: out.len() as u64,
                unit: "bytes",
            });
        }
        crate::tensor::run_jobs_cpu(&self.jobs(seed, shard, layout)?, out, threads)
    }

    /// Every tensor filled on the CPU, in the set's order: `(name, bytes)`
    /// (little-endian, the parameter's dtype, the shard's part when
    /// sharded). Holds the whole model in memory: for large models stream
    /// with [`super::write_safetensors`] or use [`Self::fill_param_cpu`].
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet, Rules};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([
    ///     Param::new("w", vec![2, 3], DType::F16).with_init("normal(0, 0.02)".parse().unwrap()),
    ///     Param::new("b", vec![2], DType::F32).with_init("zeros".parse().unwrap()),
    /// ]).unwrap();
    /// let out = set.resolve(&Rules::default()).unwrap().fill_cpu(1, None).unwrap();
    /// assert_eq!((out[0].0.as_str(), out[0].1.len()), ("w", 2 * 3 * 2));
    /// assert_eq!(out[1], ("b".to_string(), vec![0u8; 8]));
    /// ```
    pub fn fill_cpu(&self, seed: u64, shard: Option<&Shard>) -> Result<Vec<(String, Vec<u8>)>> {
        self.fill_cpu_with(seed, shard, &Threads::all())
    }

    /// [`Self::fill_cpu`] on the threads `threads` allows: the same bytes
    /// for every [`Threads`].
    ///
    /// ```
    /// use weight_init::cpu::Threads;
    /// use weight_init::model::{Param, ParamSet, Rules};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([Param::new("w", vec![300, 400], DType::F16)
    ///     .with_init("normal(0, 0.02)".parse().unwrap())]).unwrap();
    /// let r = set.resolve(&Rules::default()).unwrap();
    /// let one = r.fill_cpu_with(5, None, &Threads::count(1).unwrap()).unwrap();
    /// assert_eq!(one, r.fill_cpu(5, None).unwrap());
    /// ```
    pub fn fill_cpu_with(
        &self,
        seed: u64,
        shard: Option<&Shard>,
        threads: &Threads,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        (0..self.params.len())
            .map(|i| {
                Ok((
                    self.params[i].name.clone(),
                    self.fill_param_cpu_with(i, seed, shard, threads)?.1,
                ))
            })
            .collect()
    }

    #[cfg(feature = "gpu")]
    /// Records the fill of the whole set (each rank's shard, when sharded)
    /// into the caller's `encoder`, into `buffer` at `layout`'s offsets
    /// (from [`Self::arena_layout`]); nothing is submitted and nothing waits
    /// for the device.
    ///
    /// Elementwise tensors all go into one [`GpuContext::record_batch`] (a
    /// descriptor table: a handful of dispatches for any number of tensors,
    /// see [`RecordStats`]; a column shard is one strided item), unsharded
    /// eye, identity, dirac and sparse tensors
    /// through [`GpuContext::record_structured`], and host-computed bytes
    /// (class priors, orthogonal and delta-orthogonal tensors, whose `Q`
    /// is computed when the jobs are built, and sharded structured tensors) inside
    /// the same encoder: a `copy_buffer_to_buffer` from a buffer created
    /// with the bytes where the run is whole words and `buffer` has
    /// `COPY_DST`, else the values kernel (see [`GpuContext::record_jobs`],
    /// which this calls). (Not `Queue::write_buffer`: that would run at the
    /// next submit *before* every command buffer of that submit, out of
    /// order with the caller's commands, and would not be part of the
    /// encoder the caller controls.) Never blocks (the "Blocking" section
    /// of [`crate::gpu`]), but builds the jobs first, which is host work.
    ///
    /// The values equal [`Self::fill_cpu`]'s bit for bit, and a rank's
    /// values are exactly the slice of the unsharded GPU fill: a sharded
    /// structured tensor is computed on the CPU, and every GPU kernel
    /// (structured ones included) equals the CPU bit for bit.
    ///
    /// Errors, checked before anything is recorded (a tensor's error names
    /// it, [`Error::Param`]): `buffer` without `STORAGE`, the layout not
    /// this set's, an offset that breaks the alignment rule of
    /// [`crate::gpu`] (a layout edited by hand), a tensor past the buffer's end, a scheme the
    /// dtype cannot represent. A device-side failure inside a later call
    /// can leave earlier calls recorded; drop the encoder on error and
    /// nothing is written.
    ///
    /// A model larger than the device's `max_buffer_size` does not fit one
    /// arena ([`ArenaLayout::create_buffer`] refuses it): spread it over
    /// several buffers with [`Self::split_arena_layout`] and
    /// [`Self::record_gpu_split`].
    ///
    /// An engine that owns its device, queue and encoder:
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::model::{Param, ParamSet, Preset, ARENA_ALIGN};
    /// use weight_init::DType;
    /// use weight_init::wgpu;
    /// # fn engine(device: wgpu::Device, queue: wgpu::Queue) -> weight_init::Result<()> {
    /// let ctx = GpuContext::from_device(device.clone(), queue.clone(), Default::default())?;
    /// let set = ParamSet::from_params([
    ///     Param::new("fc.weight", vec![4096, 4096], DType::BF16),
    ///     Param::new("fc.bias", vec![4096], DType::BF16),
    /// ])?;
    /// let model = set.resolve(&Preset::TorchDefaults.rules(&set)?)?;
    /// let layout = model.arena_layout(None, ARENA_ALIGN)?;
    /// let params = layout.create_buffer(&ctx)?;
    /// let mut encoder = device.create_command_encoder(&Default::default());
    /// let stats = model.record_gpu(&ctx, &mut encoder, &params, &layout, /* seed */ 1, None)?;
    /// assert!(stats.dispatches <= 2); // kaiming_uniform and the bias uniform share a kernel
    /// // ... the engine records more work, and submits when it wants to.
    /// queue.submit([encoder.finish()]);
    /// # Ok(()) }
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn record_gpu(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        layout: &ArenaLayout,
        seed: u64,
        shard: Option<&Shard>,
    ) -> Result<RecordStats> {
        // The layout's own facts, then every tensor as a target at its
        // offset: checked by the one alignment rule, errors naming the
        // parameter.
        if layout.offsets.len() != self.params.len() {
            return Err(Error::OutputLength {
                expected: self.params.len() as u64,
                got: layout.offsets.len() as u64,
                unit: "elements",
            });
        }
        let sizes: Vec<u64> = self.shard_shapes(shard)?.into_iter().map(|s| s.1).collect();
        if sizes != layout.sizes {
            return Err(Error::InvalidShape {
                shape: layout.sizes.clone(),
                reason: "the arena layout was not made for this set and shard".into(),
            });
        }
        let targets: Vec<_> = (0..self.params.len())
            .map(|i| (i, buffer, layout.offsets[i]))
            .collect();
        self.record_targets(ctx, encoder, &targets, seed, shard)
    }

    #[cfg(feature = "gpu")]
    /// Records the fill of the whole set into the caller's own buffers:
    /// tensor `i` (its shard, when sharded) goes to `targets[i] = (buffer,
    /// byte offset)`, laid out compactly (row-major, little-endian). Each
    /// offset follows the one alignment rule of [`crate::gpu`] (section
    /// "Alignment": a multiple of 4 for f32 tensors, any even offset for
    /// f16 and bf16, host-computed values included), and each buffer needs
    /// `STORAGE` (`COPY_DST` only lets word-aligned host bytes go by copy);
    /// targets in one buffer must not overlap, and are filled by one batch
    /// (so the dispatch count grows with the number of distinct buffers,
    /// not of tensors). Otherwise as [`Self::record_gpu`]; every target is
    /// checked before anything is recorded, and an error names the
    /// parameter ([`Error::Param`]), e.g. "parameter `head.bias`: byte
    /// offset 3 of a bf16 tensor: 16-bit tensors need an even offset".
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::model::{Param, ParamSet, Rules};
    /// use weight_init::{wgpu, DType};
    /// # fn engine(ctx: &GpuContext, weights: &wgpu::Buffer, biases: &wgpu::Buffer)
    /// #     -> weight_init::Result<()> {
    /// let set = ParamSet::from_params([
    ///     Param::new("fc.weight", vec![64, 32], DType::BF16)
    ///         .with_init("normal(0, 0.02)".parse().unwrap()),
    ///     Param::new("fc.bias", vec![64], DType::BF16)
    ///         .with_init("class_prior_bias(priors=[0.01], activation=sigmoid)".parse().unwrap()),
    /// ])?;
    /// let model = set.resolve(&Rules::default())?;
    /// let mut encoder = ctx.device().create_command_encoder(&Default::default());
    /// // The engine's own buffers and offsets; a bf16 tensor at byte 6 is fine.
    /// model.record_gpu_into(ctx, &mut encoder, &[(weights, 0), (biases, 6)], /* seed */ 1, None)?;
    /// ctx.queue().submit([encoder.finish()]);
    /// # Ok(()) }
    /// ```
    pub fn record_gpu_into(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        targets: &[(&wgpu::Buffer, u64)],
        seed: u64,
        shard: Option<&Shard>,
    ) -> Result<RecordStats> {
        if targets.len() != self.params.len() {
            return Err(Error::OutputLength {
                expected: self.params.len() as u64,
                got: targets.len() as u64,
                unit: "elements",
            });
        }
        let targets: Vec<_> = targets
            .iter()
            .enumerate()
            .map(|(i, &(buffer, offset))| (i, buffer, offset))
            .collect();
        self.record_targets(ctx, encoder, &targets, seed, shard)
    }

    #[cfg(feature = "gpu")]
    /// Records the fill of the whole set (each rank's shard, when sharded)
    /// into the caller's `encoder`, tensor `i` into
    /// `buffers[layout.buffers[i]]` at `layout.offsets[i]`, for a set
    /// spread over several buffers by [`Self::split_arena_layout`] (a
    /// model larger than the device's `max_buffer_size`). One batch per
    /// buffer; otherwise as [`Self::record_gpu`]: nothing is submitted,
    /// nothing waits, the values are the same bytes as there (and as
    /// [`Self::fill_cpu`]'s, as far as the contract says), padding is
    /// never written, and every check runs before anything is recorded.
    ///
    /// Device memory: every buffer at once, the whole model. To hold one
    /// buffer at a time, see [`Self::record_gpu_buffer`].
    ///
    /// Errors: as [`Self::record_gpu`]; `buffers` not one per
    /// `layout.buffer_sizes` entry; the layout not made for this set and
    /// shard.
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::model::{Param, ParamSet, Rules, ARENA_ALIGN};
    /// use weight_init::DType;
    /// let ctx = GpuContext::new_default()?;
    /// let set = ParamSet::from_params((0..32).map(|l| {
    ///     Param::new(format!("layers.{l}.mlp.weight"), vec![11008, 4096], DType::BF16)
    ///         .with_init("normal(0, 0.02)".parse().unwrap())
    /// }))?; // 2.9 GB
    /// let model = set.resolve(&Rules::default())?;
    /// let max = ctx.device().limits().max_buffer_size;
    /// let layout = model.split_arena_layout(None, ARENA_ALIGN, max)?;
    /// let buffers = layout.create_buffers(&ctx)?;
    /// ctx.submit_checked(|encoder| {
    ///     model.record_gpu_split(&ctx, encoder, &buffers, &layout, /* seed */ 1, None)?;
    ///     Ok(())
    /// })?;
    /// // Tensor 5 is in buffers[layout.buffers[5]] at layout.offsets[5].
    /// let (b, at, len) = (layout.buffers[5], layout.offsets[5], layout.sizes[5]);
    /// let bytes = ctx.read_buffer(&buffers[b], at, len)?;
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn record_gpu_split(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        buffers: &[wgpu::Buffer],
        layout: &SplitArenaLayout,
        seed: u64,
        shard: Option<&Shard>,
    ) -> Result<RecordStats> {
        self.check_split_layout(layout, shard)?;
        if buffers.len() != layout.buffer_sizes.len() {
            return Err(Error::OutputLength {
                expected: layout.buffer_sizes.len() as u64,
                got: buffers.len() as u64,
                unit: "buffers",
            });
        }
        let targets: Vec<_> = (0..self.params.len())
            .map(|i| (i, &buffers[layout.buffers[i]], layout.offsets[i]))
            .collect();
        self.record_targets(ctx, encoder, &targets, seed, shard)
    }

    #[cfg(feature = "gpu")]
    /// Records the fill of only the tensors that `layout` puts in its
    /// buffer `index` ([`SplitArenaLayout::tensors_in`]) into `buffer`, at
    /// their offsets: a model larger than device memory, one buffer at a
    /// time (record, submit, read back or use, then the next index into
    /// the same buffer). Otherwise as [`Self::record_gpu_split`].
    ///
    /// Errors: as [`Self::record_gpu_split`]; `index` past the last buffer.
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::model::{Param, ParamSet, Rules, ARENA_ALIGN};
    /// use weight_init::DType;
    /// let ctx = GpuContext::new_default()?;
    /// let set = ParamSet::from_params((0..64).map(|l| {
    ///     Param::new(format!("layers.{l}.mlp.weight"), vec![11008, 4096], DType::BF16)
    ///         .with_init("normal(0, 0.02)".parse().unwrap())
    /// }))?; // 5.8 GB
    /// let model = set.resolve(&Rules::default())?;
    /// let layout = model.split_arena_layout(None, ARENA_ALIGN, 1 << 30)?; // 1 GiB at a time
    /// let buffer = layout.create_reusable_buffer(&ctx)?;
    /// for k in 0..layout.buffer_sizes.len() {
    ///     ctx.submit_checked(|enc| {
    ///         model.record_gpu_buffer(&ctx, enc, &buffer, &layout, k, 1, None)?;
    ///         Ok(())
    ///     })?;
    ///     for i in layout.tensors_in(k) {
    ///         let bytes = ctx.read_buffer(&buffer, layout.offsets[i], layout.sizes[i])?;
    ///         // ... write tensor i somewhere.
    ///     }
    /// }
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn record_gpu_buffer(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        layout: &SplitArenaLayout,
        index: usize,
        seed: u64,
        shard: Option<&Shard>,
    ) -> Result<RecordStats> {
        self.check_split_layout(layout, shard)?;
        if index >= layout.buffer_sizes.len() {
            return Err(Error::RangeOutOfBounds {
                start: index as u64,
                end: index as u64 + 1,
                len: layout.buffer_sizes.len() as u64,
            });
        }
        let targets: Vec<_> = layout
            .tensors_in(index)
            .map(|i| (i, buffer, layout.offsets[i]))
            .collect();
        self.record_targets(ctx, encoder, &targets, seed, shard)
    }

    #[cfg(feature = "gpu")]
    /// `layout` describes this set and shard: one entry per tensor, the
    /// shard's sizes, every tensor in a listed buffer, buffers in order. (Offsets, overlaps
    /// and buffer bounds are checked against the real buffers when
    /// recording.)
    fn check_split_layout(&self, layout: &SplitArenaLayout, shard: Option<&Shard>) -> Result<()> {
        let n = self.params.len();
        for len in [
            layout.buffers.len(),
            layout.offsets.len(),
            layout.sizes.len(),
        ] {
            if len != n {
                return Err(Error::OutputLength {
                    expected: n as u64,
                    got: len as u64,
                    unit: "elements",
                });
            }
        }
        let sizes: Vec<u64> = self.shard_shapes(shard)?.into_iter().map(|s| s.1).collect();
        let count = layout.buffer_sizes.len();
        let ordered = layout.buffers.windows(2).all(|w| w[0] <= w[1]);
        if sizes != layout.sizes || !ordered || layout.buffers.iter().any(|&b| b >= count) {
            return Err(Error::InvalidShape {
                shape: layout.sizes.clone(),
                reason: "the split arena layout was not made for this set and shard".into(),
            });
        }
        Ok(())
    }

    #[cfg(feature = "gpu")]
    /// Records tensors `(index, buffer, byte offset)` (see
    /// [`Self::record_gpu_into`]): every target checked first, then one
    /// batched fill per distinct buffer.
    fn record_targets(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        targets: &[(usize, &wgpu::Buffer, u64)],
        seed: u64,
        shard: Option<&Shard>,
    ) -> Result<RecordStats> {
        // Jobs grouped by buffer: one batched fill per buffer.
        let mut work: Vec<(&wgpu::Buffer, Vec<FillJob>, Vec<usize>)> = Vec::new();
        for &(i, buffer, offset) in targets {
            let p = &self.params[i];
            let in_param = |e: Error| Error::Param {
                name: p.name.clone(),
                source: Box::new(e),
            };
            let (shape, jobs) = self.tensor_jobs(i, seed, shard)?;
            // The tensor as a whole first (its dtype sets the rule), then
            // each job.
            let unit = p.dtype.size_bytes() as u64;
            let len = part_numel(&shape)?.checked_mul(unit);
            if !buffer.usage().contains(wgpu::BufferUsages::STORAGE) {
                return Err(in_param(Error::BufferUsage {
                    have: crate::gpu::usage_names(buffer.usage()),
                    missing: "STORAGE",
                }));
            }
            check_target(
                || "byte offset".into(),
                || tensor_of(p.dtype),
                unit,
                offset,
                len,
                buffer.size(),
            )
            .map_err(in_param)?;
            let jobs: Vec<FillJob> = jobs.iter().map(|j| shifted(j, offset)).collect();
            validate_jobs(buffer, 0, &jobs, |k| format!("byte offset (part {k})"))
                .map_err(in_param)?;
            let owners = vec![i; jobs.len()];
            match work.iter_mut().find(|(b, _, _)| *b == buffer) {
                Some((_, all, own)) => {
                    all.extend(jobs);
                    own.extend(owners);
                }
                None => work.push((buffer, jobs, owners)),
            }
        }
        for (_, jobs, owners) in &work {
            check_disjoint(jobs, |k| {
                let (i, j) = (owners[k], &jobs[k]);
                let (a, b) = (j.dst(), j.dst().saturating_add(j.len_bytes()));
                format!("parameter `{}` at bytes {a}..{b}", self.params[i].name)
            })?;
        }
        let mut total = RecordStats::default();
        for (buffer, jobs, _) in work {
            total.add(&record_checked(ctx, encoder, buffer, 0, &jobs)?);
        }
        Ok(total)
    }
}

/// `align` is a power of two, at least 4.
fn check_align(align: u64) -> Result<()> {
    if align < 4 || !align.is_power_of_two() {
        return Err(Error::InvalidParameter {
            name: "align",
            value: align as f64,
            reason: "must be a power of two, at least 4",
        });
    }
    Ok(())
}
