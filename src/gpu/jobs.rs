//! Recording lists of fill jobs ([`FillJob`]: samples, host bytes,
//! structured tensors) into one buffer: the engine-facing entry point
//! [`GpuContext::record_jobs`], which the model API
//! ([`crate::model::ResolvedSet::record_gpu`] and its relatives) records
//! through. Every elementwise job goes into one
//! [`GpuContext::record_batch`]; host bytes go through the one values path
//! (a copy where the run is whole words and the buffer has `COPY_DST`, else
//! the values kernel); structured tensors through
//! [`GpuContext::record_structured`].

use super::fill::{check_target, tensor_of};
use super::structured::{needs_host_values, StructuredValues, ValuesPath};
use super::{BatchItem, GpuContext, ItemView};
use crate::error::{Error, Result};
use crate::sampler::Sampler;
use crate::structured::structured_numel;
use crate::tensor::{FillJob, PreparedTensor, TensorInit};

/// What [`GpuContext::record_jobs`] (and the model's `record_gpu*`
/// calls) recorded.
///
/// Every elementwise run of every tensor bound for one buffer goes into a
/// single [`GpuContext::record_batch`], whose dispatch count is bounded by
/// its distinct kernels x binding windows x 2 however many tensors there
/// are (see [`crate::gpu::BatchReport`]); each structured tensor adds one
/// or two dispatches, each run of host bytes a copy or a dispatch per
/// binding window.
///
/// ```
/// use weight_init::gpu::RecordStats;
/// let s = RecordStats::default();
/// assert_eq!((s.dispatches, s.uploads, s.upload_bytes), (0, 0, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordStats {
    /// Elementwise batch items (a tensor, a row-shard run, a column-shard
    /// block, or one gate of a segmented bias).
    pub batch_items: u64,
    /// Compute dispatches the batched elementwise fills recorded.
    pub dispatches: u64,
    /// Structured tensors recorded (`GpuContext::record_structured`, or
    /// their host values for orthogonal and delta-orthogonal).
    pub structured_calls: u64,
    /// `FillJob::Upload` jobs recorded (host-computed bytes), by copy or
    /// by the values kernel.
    pub uploads: u64,
    /// Bytes those jobs write.
    pub upload_bytes: u64,
    /// Runs of host bytes (uploads, and the values of orthogonal
    /// structured jobs) recorded as a `copy_buffer_to_buffer` (whole 4-byte
    /// words into a buffer with `COPY_DST`).
    pub upload_copies: u64,
    /// Dispatches of the values kernel (the other runs of host bytes).
    pub value_dispatches: u64,
}

impl RecordStats {
    #[cfg(feature = "model")]
    /// Adds `other`'s counts to these.
    pub(crate) fn add(&mut self, other: &RecordStats) {
        self.batch_items += other.batch_items;
        self.dispatches += other.dispatches;
        self.structured_calls += other.structured_calls;
        self.uploads += other.uploads;
        self.upload_bytes += other.upload_bytes;
        self.upload_copies += other.upload_copies;
        self.value_dispatches += other.value_dispatches;
    }

    /// Counts a run of host bytes written by `path`: an `Upload` job
    /// (`upload`), or the values of a structured tensor.
    fn values(&mut self, path: ValuesPath, bytes: u64, upload: bool) {
        match path {
            ValuesPath::Nothing => return,
            ValuesPath::Copy => self.upload_copies += 1,
            ValuesPath::Kernel(n) => self.value_dispatches += n,
        }
        if upload {
            self.uploads += 1;
            self.upload_bytes += bytes;
        }
    }
}

#[cfg(feature = "model")]
/// `job` with its `dst` moved `by` bytes further (saturating).
pub(crate) fn shifted(job: &FillJob, by: u64) -> FillJob {
    let mut j = job.clone();
    match &mut j {
        FillJob::Sample { dst, .. }
        | FillJob::Upload { dst, .. }
        | FillJob::Structured { dst, .. } => *dst = dst.saturating_add(by),
    }
    j
}

/// Two jobs bound for one buffer must not share a byte: targets that
/// overlap are refused before anything is recorded.
pub(crate) fn check_disjoint(jobs: &[FillJob], describe: impl Fn(usize) -> String) -> Result<()> {
    let mut spans: Vec<(u64, u64, usize)> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.dst(), j.dst().saturating_add(j.len_bytes()), i))
        .filter(|(a, b, _)| a < b)
        .collect();
    spans.sort_unstable();
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(Error::Overlap {
                first: describe(w[0].2),
                second: describe(w[1].2),
            });
        }
    }
    Ok(())
}

/// Checks `jobs` (their `dst` relative to `byte_offset`) against `buffer`
/// without recording anything: the buffer's `STORAGE` usage, then each
/// job's own facts and the one alignment rule ([`check_target`]), its
/// argument named `what(i)` (e.g. `jobs[3].dst`).
pub(crate) fn validate_jobs(
    buffer: &wgpu::Buffer,
    byte_offset: u64,
    jobs: &[FillJob],
    what: impl Fn(usize) -> String,
) -> Result<()> {
    let usage = buffer.usage();
    if !usage.contains(wgpu::BufferUsages::STORAGE) {
        return Err(Error::BufferUsage {
            have: super::usage_names(usage),
            missing: "STORAGE",
        });
    }
    let size = buffer.size();
    for (i, j) in jobs.iter().enumerate() {
        let at = byte_offset
            .checked_add(j.dst())
            .ok_or(Error::BufferTooSmall {
                start: u64::MAX,
                end: u64::MAX,
                size,
            })?;
        match j {
            FillJob::Upload { bytes, .. } => {
                let len = bytes.len() as u64;
                let tensor = || "host bytes (an Upload job)".to_string();
                if !len.is_multiple_of(2) {
                    return Err(Error::Unaligned {
                        argument: format!("length of {}", what(i)),
                        offset: len,
                        tensor: tensor(),
                        reason: "host bytes are written in 16-bit halves at the least: give \
                                 an even number of bytes"
                            .into(),
                    });
                }
                check_target(|| what(i), tensor, 2, at, Some(len), size)?;
            }
            FillJob::Sample {
                dist,
                dtype,
                key,
                range,
                ..
            } => {
                Sampler::new(dist, *dtype)?;
                if range.start > range.end || range.end > key.numel {
                    return Err(Error::RangeOutOfBounds {
                        start: range.start,
                        end: range.end,
                        len: key.numel,
                    });
                }
                let unit = dtype.size_bytes() as u64;
                let len = (range.end - range.start).checked_mul(unit);
                check_target(|| what(i), || tensor_of(*dtype), unit, at, len, size)?;
            }
            FillJob::Structured {
                plan, dtype, key, ..
            } => {
                let n = structured_numel(plan)?;
                if n != key.numel {
                    return Err(Error::OutputLength {
                        expected: n,
                        got: key.numel,
                        unit: "elements",
                    });
                }
                let unit = dtype.size_bytes() as u64;
                check_target(
                    || what(i),
                    || tensor_of(*dtype),
                    unit,
                    at,
                    n.checked_mul(unit),
                    size,
                )?;
            }
        }
    }
    Ok(())
}

/// Records jobs that [`validate_jobs`] accepted: every elementwise job in
/// one [`GpuContext::record_batch`] (a bounded number of dispatches
/// whatever the job count), then structured tensors, then host bytes.
pub(crate) fn record_checked(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    buffer: &wgpu::Buffer,
    byte_offset: u64,
    jobs: &[FillJob],
) -> Result<RecordStats> {
    let mut stats = RecordStats::default();
    let items = batch_items(jobs, byte_offset);
    if !items.is_empty() {
        let report = ctx.record_batch(encoder, buffer, &items)?;
        stats.batch_items += items.len() as u64;
        stats.dispatches += report.dispatches as u64;
    }
    for j in jobs {
        match j {
            FillJob::Sample { .. } => {}
            FillJob::Structured {
                plan,
                dtype,
                key,
                dst,
            } => {
                if needs_host_values(plan) {
                    // The documented exception: a job list that carries an
                    // orthogonal plan gets its `Q` computed here (the model's job
                    // builder turns those into host bytes beforehand).
                    let values = StructuredValues::compute(plan, *dtype, key)?;
                    let path = ctx.scoped("recording structured values", || {
                        ctx.record_values(encoder, buffer, byte_offset + dst, values.bytes())
                    })?;
                    stats.values(path, values.bytes().len() as u64, false);
                } else {
                    ctx.record_structured(encoder, buffer, byte_offset + dst, plan, *dtype, key)?;
                }
                stats.structured_calls += 1;
            }
            FillJob::Upload { bytes, dst } => {
                let path = ctx.scoped("recording host bytes", || {
                    ctx.record_values(encoder, buffer, byte_offset + dst, bytes)
                })?;
                stats.values(path, bytes.len() as u64, true);
            }
        }
    }
    Ok(stats)
}

impl GpuContext {
    /// Records `jobs` into the caller's `encoder`, each job's `dst`
    /// counted from `byte_offset` of `buffer`: nothing is submitted and
    /// nothing waits for the device (see the gpu module's "Blocking").
    /// The engine-facing form of the model API: a tensor's jobs come from
    /// [`crate::model::ResolvedSet::tensor_jobs`] (its bytes from offset
    /// 0), a whole set's from [`crate::model::ResolvedSet::jobs`].
    ///
    /// - Every `FillJob::Sample` goes into one [`Self::record_batch`].
    /// - `FillJob::Upload` bytes (class priors, sharded structured
    ///   tensors) are written at any offset the alignment rule allows: by
    ///   a `copy_buffer_to_buffer` from a buffer created with them where
    ///   `buffer` has `COPY_DST` and the run is whole 4-byte words, else
    ///   by the values kernel (needs only `STORAGE`, keeps the other half
    ///   of a shared 16-bit word). Never `Queue::write_buffer`, which
    ///   would run at submit time before every command of the encoder.
    /// - `FillJob::Structured` goes through [`Self::record_structured`];
    ///   an orthogonal or delta-orthogonal one ([`super::needs_host_values`])
    ///   has its `Q` computed here, on the host, inside this call (the one
    ///   exception to "no host work in a record call", kept so that a job
    ///   list is always recordable; the model's job builder does not
    ///   produce such jobs: prepare them as `Upload` bytes, or use
    ///   [`super::StructuredValues`], to keep that host step out).
    ///
    /// Alignment: each job's absolute offset `byte_offset + dst` follows
    /// the gpu module's one rule ("Alignment"); `Upload` jobs carry no
    /// dtype and are written in 16-bit halves at the least, so they take
    /// any even offset and an even byte count.
    ///
    /// Errors, before anything is recorded: a buffer without `STORAGE`; a
    /// job whose offset breaks the rule (the error names `jobs[i].dst`) or
    /// whose bytes pass the buffer's end; a range past its tensor; a
    /// distribution its dtype cannot represent; a structured job whose key
    /// is not its plan's size; two jobs that share a byte.
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::{wgpu, DType, FillJob, TensorInit};
    /// let ctx = GpuContext::new_default()?;
    /// let bias = TensorInit::new("head.bias", &[5], "normal(0, 0.02)")?.dtype(DType::BF16);
    /// // The tensor's jobs, writing its bytes from offset 0.
    /// let mut jobs = bias.prepare(/* seed */ 1)?.jobs().to_vec();
    /// // Host bytes: two bf16 values (1.0, -2.0) right after it.
    /// jobs.push(FillJob::Upload { bytes: vec![0x80, 0x3f, 0x00, 0xc0], dst: 10 });
    /// let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
    ///     label: None,
    ///     size: 32,
    ///     usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    ///     mapped_at_creation: false,
    /// });
    /// let mut encoder = ctx.device().create_command_encoder(&Default::default());
    /// // At byte 6: bf16 tensors take any even offset.
    /// let stats = ctx.record_jobs(&mut encoder, &buf, 6, &jobs)?;
    /// assert_eq!(stats.uploads, 1);
    /// ctx.queue().submit([encoder.finish()]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn record_jobs(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        jobs: &[FillJob],
    ) -> Result<RecordStats> {
        let name = |i: usize| format!("jobs[{i}].dst");
        validate_jobs(buffer, byte_offset, jobs, name)?;
        check_disjoint(jobs, |i| {
            let j = &jobs[i];
            format!(
                "jobs[{i}] at bytes {}..{}",
                j.dst(),
                j.dst().saturating_add(j.len_bytes())
            )
        })?;
        record_checked(self, encoder, buffer, byte_offset, jobs)
    }

    /// Records the fill of one prepared tensor ([`TensorInit::prepare`])
    /// into the caller's `encoder`, its bytes (row-major, little-endian, in
    /// its dtype) at `byte_offset` of `buffer`: the one-call API's GPU half.
    /// Nothing is submitted and nothing blocks; the host work (resolving
    /// the scheme, host-computed values, the `Q` of orthogonal inits) was
    /// done by `prepare`, on whatever thread the engine chose. Every kind
    /// of plan is handled: sampled and segmented tensors by the batched
    /// kernels, eye/identity/dirac/sparse by the structured kernels, and
    /// host-computed bytes staged inside this encoder (see
    /// [`Self::record_jobs`], which this calls). The bytes equal
    /// [`PreparedTensor::fill_bytes`]'s on the CPU, bit for bit.
    ///
    /// Alignment is the module's one rule ("Alignment" in [`crate::gpu`]):
    /// an f32 tensor at a multiple of 4, an f16/bf16 tensor at any even
    /// offset. Errors, before anything is recorded, name the tensor
    /// ([`Error::Param`]): an offset the rule refuses, bytes past the
    /// buffer's end, a buffer without `STORAGE`.
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::{wgpu, DType, TensorInit};
    /// let ctx = GpuContext::new_default()?;
    /// let w = TensorInit::new("fc.weight", &[64, 32], "orthogonal")?
    ///     .dtype(DType::BF16)
    ///     .prepare(/* seed */ 7)?; // orthogonal's Q is computed here, on the host
    /// let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
    ///     label: None,
    ///     size: 8 + w.byte_len(),
    ///     usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    ///     mapped_at_creation: false,
    /// });
    /// let mut encoder = ctx.device().create_command_encoder(&Default::default());
    /// ctx.record_tensor(&mut encoder, &buf, 6, &w)?; // any even offset for bf16
    /// ctx.queue().submit([encoder.finish()]);
    /// let mut cpu = vec![0u8; w.byte_len() as usize];
    /// w.fill_bytes(&mut cpu)?;
    /// assert_eq!(ctx.read_buffer(&buf, 6, w.byte_len())?, cpu);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn record_tensor(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        tensor: &PreparedTensor,
    ) -> Result<RecordStats> {
        let named = |e| Error::Param {
            name: tensor.name().to_string(),
            source: Box::new(e),
        };
        let dtype = tensor.dtype();
        check_target(
            || "byte_offset".into(),
            || tensor_of(dtype),
            dtype.size_bytes() as u64,
            byte_offset,
            Some(tensor.byte_len()),
            buffer.size(),
        )
        .map_err(named)?;
        self.record_jobs(encoder, buffer, byte_offset, tensor.jobs())
            .map_err(named)
    }

    /// [`TensorInit::prepare`] then [`Self::record_tensor`], in one call:
    /// for small tensors, or an engine that does not mind the host work
    /// (for an orthogonal init, its `Q`) on its recording thread. Nothing is
    /// submitted and nothing waits for the device.
    ///
    /// ```no_run
    /// use weight_init::gpu::GpuContext;
    /// use weight_init::{wgpu, DType, TensorInit};
    /// let ctx = GpuContext::new_default()?;
    /// let bias = TensorInit::new("fc.bias", &[64], "torch_default_bias")?.weight_shape(&[64, 32]);
    /// let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
    ///     label: None,
    ///     size: 256,
    ///     usage: wgpu::BufferUsages::STORAGE,
    ///     mapped_at_creation: false,
    /// });
    /// let mut encoder = ctx.device().create_command_encoder(&Default::default());
    /// ctx.record_init(&mut encoder, &buf, 0, &bias, /* seed */ 7)?;
    /// ctx.queue().submit([encoder.finish()]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn record_init(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        tensor: &TensorInit,
        seed: u64,
    ) -> Result<RecordStats> {
        let prepared = tensor.prepare(seed)?;
        self.record_tensor(encoder, buffer, byte_offset, &prepared)
    }
}

/// The elementwise jobs as batch items, at `byte_offset + dst`. A column
/// shard's per-row runs of one tensor (equal lengths, one row apart in the
/// tensor, back to back in the output, starting in row 0 and covering
/// every row) become a single strided `Columns` item, so that a
/// `[32000, 4096]` embedding's shard is one descriptor rather than 32000;
/// anything else stays a `Range` item.
pub(crate) fn batch_items(jobs: &[FillJob], byte_offset: u64) -> Vec<BatchItem> {
    let samples: Vec<_> = jobs
        .iter()
        .filter_map(|j| match j {
            FillJob::Sample {
                dist,
                dtype,
                key,
                range,
                dst,
            } if range.start < range.end => {
                Some((dist, *dtype, key, range.clone(), byte_offset + *dst))
            }
            _ => None,
        })
        .collect();
    let mut items = Vec::new();
    let mut i = 0;
    while i < samples.len() {
        let (dist, dtype, key, ref first, dst) = samples[i];
        let width = first.end - first.start;
        let size = dtype.size_bytes() as u64;
        // How many following runs continue the column block.
        let mut count = 1;
        if i + 1 < samples.len() {
            let stride = samples[i + 1].3.start.wrapping_sub(first.start);
            while let Some((d, t, k, r, o)) = samples.get(i + count) {
                let continues = *d == dist
                    && *t == dtype
                    && *k == key
                    && r.start == first.start + count as u64 * stride
                    && r.end - r.start == width
                    && *o == dst + count as u64 * width * size;
                if !continues {
                    break;
                }
                count += 1;
            }
            let whole_rows = stride > 0
                && first.start + width <= stride
                && width <= 1 << 31
                && key.numel % stride == 0
                && key.numel / stride == count as u64;
            if count > 1 && whole_rows {
                items.push(BatchItem {
                    dist: *dist,
                    dtype,
                    key: *key,
                    view: ItemView::Columns {
                        row_len: stride,
                        cols: first.start..first.start + width,
                    },
                    byte_offset: dst,
                });
                i += count;
                continue;
            }
        }
        items.push(BatchItem {
            dist: *dist,
            dtype,
            key: *key,
            view: ItemView::Range(first.clone()),
            byte_offset: dst,
        });
        i += 1;
    }
    items
}
