//! One call per tensor: a named tensor, its shape and its scheme, filled on
//! the CPU or turned into fill jobs for a backend.
//!
//! A [`TensorInit`] is everything one tensor needs: its name, its shape, its
//! scheme (an [`Init`], or its text form; the schemes are listed on
//! [`Init`]), and optionally its dtype (f32 unless told), its Philox stream
//! (by default [`name_stream`] of the name, the same default as
//! [`Param::stream`](crate::model::Param::stream) in the model API, so the
//! two APIs give a tensor the same values), its layout and groups, and for a
//! bias the shape of its layer's weight ([`TensorInit::weight_shape`], which
//! `torch_default_bias` needs). One call then fills it:
//!
//! ```
//! use weight_init::{DType, TensorInit};
//! // PyTorch's nn.Linear default: kaiming_uniform(a=sqrt(5)).
//! let w = TensorInit::new("fc1.weight", &[256, 128], "torch_default_weight")?;
//! let values: Vec<f32> = w.to_vec_f32(/* seed */ 42)?;
//! assert_eq!(values.len(), 256 * 128);
//! // PyTorch's bound for nn.Linear(128, 256): 1/sqrt(128).
//! assert!(values.iter().all(|v| v.abs() < 1.0 / 128f32.sqrt()));
//!
//! // The bias beside it, in bf16, takes its bound from the weight's fan_in.
//! let b = TensorInit::new("fc1.bias", &[256], "torch_default_bias")?
//!     .weight_shape(&[256, 128])
//!     .dtype(DType::BF16);
//! let bytes = b.to_bytes(42)?;
//! assert_eq!(bytes.len(), 256 * 2);
//! # Ok::<(), weight_init::Error>(())
//! ```
//!
//! Every error names the tensor ([`Error::Param`]), and no input panics.
//!
//! For a GPU, or any backend of its own, an engine calls
//! [`TensorInit::prepare`]: the resolve and all host-side work (values
//! computed on the host, the `Q` of orthogonal inits) happen there, off the
//! recording thread if the engine likes, and the [`PreparedTensor`] holds
//! the [`FillJob`]s that write the tensor's bytes from byte 0.

use std::ops::Range;

use crate::cpu::{self, Threads};
use crate::dist::Distribution;
use crate::dtype::{bf16_bits_to_f32, f16_bits_to_f32, DType};
use crate::error::{Error, Result};
use crate::kernel::{f32_to_bf16_bits, f32_to_f16_bits};
use crate::philox::{name_stream, TensorKey};
use crate::scheme::{numel, Fans, Init, Layout, Plan, ResolveOptions, Structured};
use crate::structured::{fill_structured_cpu, structured_numel};

/// One piece of work that writes a contiguous run of output bytes.
///
/// The jobs of a tensor cover its (shard's) bytes in order, without gaps
/// or overlap; `dst` is a byte offset into the output (relative to the
/// tensor's start from [`PreparedTensor::jobs`] and
/// `ResolvedSet::tensor_jobs`, absolute in the arena from
/// `ResolvedSet::jobs`).
///
/// Building the jobs is the host-side step: every value that is computed
/// on the host is computed then, and travels as an [`FillJob::Upload`]:
/// class-prior values, orthogonal and delta-orthogonal tensors (their `Q`
/// is computed on the CPU while the jobs are built, so no recording call ever runs
/// one), and structured tensors that are sharded (computed whole, then
/// sliced). Eye, identity, dirac and sparse tensors stay
/// [`FillJob::Structured`]: a GPU backend computes them with its own
/// kernels, bit for bit the CPU's.
///
/// ```
/// use weight_init::{FillJob, TensorInit};
/// let prior = TensorInit::new("head.bias", &[2], "class_prior_bias(priors=[0.3, 0.7])")?;
/// assert!(matches!(prior.prepare(1)?.jobs(), [FillJob::Upload { dst: 0, .. }]));
/// # #[cfg(feature = "orthogonal")] {
/// let q = TensorInit::new("rnn.weight", &[4, 6], "orthogonal")?.prepare(1)?;
/// assert!(matches!(q.jobs(), [FillJob::Upload { dst: 0, .. }]));
/// # }
/// let eye = TensorInit::new("proj.weight", &[4, 6], "eye")?.prepare(1)?;
/// assert!(matches!(eye.jobs(), [FillJob::Structured { dst: 0, .. }]));
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FillJob {
    /// Elements `range` of tensor `key`, drawn from `dist`, written as
    /// `dtype` at `dst` (element `range.start + i` at
    /// `dst + i * dtype.size_bytes()`).
    Sample {
        /// The distribution.
        dist: Distribution,
        /// Output dtype.
        dtype: DType,
        /// Seed, stream and element count of the whole tensor.
        key: TensorKey,
        /// Elements of the whole tensor.
        range: Range<u64>,
        /// Output byte offset.
        dst: u64,
    },
    /// Bytes computed on the host (class-prior values, orthogonal and
    /// delta-orthogonal tensors, sharded structured inits), written at
    /// `dst`: an even byte count at an even offset (the GPU backend copies
    /// whole 4-byte words where it can and writes the rest with its values
    /// kernel, keeping the other half of a shared word; see
    /// `GpuContext::record_jobs`).
    Upload {
        /// Little-endian elements.
        bytes: Vec<u8>,
        /// Output byte offset.
        dst: u64,
    },
    /// A whole, unsharded structured tensor that a backend computes
    /// itself: eye, identity, dirac or sparse.
    Structured {
        /// The structured plan.
        plan: Structured,
        /// Output dtype.
        dtype: DType,
        /// Seed, stream and element count.
        key: TensorKey,
        /// Output byte offset.
        dst: u64,
    },
}

impl FillJob {
    /// The first output byte.
    ///
    /// ```
    /// use weight_init::TensorInit;
    /// let t = TensorInit::new("lstm.bias", &[8], "lstm_forget_bias")?.prepare(0)?;
    /// let starts: Vec<u64> = t.jobs().iter().map(|j| j.dst()).collect();
    /// assert_eq!(starts, [0, 8, 16, 24]); // one job per gate, 2 f32 each
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn dst(&self) -> u64 {
        match self {
            FillJob::Sample { dst, .. }
            | FillJob::Upload { dst, .. }
            | FillJob::Structured { dst, .. } => *dst,
        }
    }

    /// How many output bytes the job writes.
    ///
    /// ```
    /// use weight_init::{DType, TensorInit};
    /// let t = TensorInit::new("w", &[3, 5], "normal(0, 1)")?.dtype(DType::F16).prepare(0)?;
    /// assert_eq!(t.jobs()[0].len_bytes(), 30);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn len_bytes(&self) -> u64 {
        match self {
            FillJob::Sample { dtype, range, .. } => range
                .end
                .saturating_sub(range.start)
                .saturating_mul(dtype.size_bytes() as u64),
            FillJob::Upload { bytes, .. } => bytes.len() as u64,
            FillJob::Structured { dtype, key, .. } => {
                key.numel.saturating_mul(dtype.size_bytes() as u64)
            }
        }
    }

    /// Moves the job `by` bytes further into the output.
    #[allow(dead_code)] // Used by the model API's arenas.
    pub(crate) fn shift(&mut self, by: u64) {
        match self {
            FillJob::Sample { dst, .. }
            | FillJob::Upload { dst, .. }
            | FillJob::Structured { dst, .. } => *dst = dst.saturating_add(by),
        }
    }

    /// Runs the job on the CPU into `out`, whose byte 0 is output byte
    /// `base` (so the job writes `out[dst - base ..][..len_bytes]`).
    pub(crate) fn run_cpu(&self, out: &mut [u8], base: u64, threads: &Threads) -> Result<()> {
        let lo = self
            .dst()
            .checked_sub(base)
            .ok_or(Error::RangeOutOfBounds {
                start: self.dst(),
                end: self.dst().saturating_add(self.len_bytes()),
                len: base,
            })?;
        let what = || format!("fill job at byte {}", self.dst());
        let hi = crate::host::add(lo, self.len_bytes(), what)?;
        let (lo, hi) = (
            crate::host::to_usize(lo, what)?,
            crate::host::to_usize(hi, what)?,
        );
        let Some(out) = out.get_mut(lo..hi) else {
            return Err(Error::OutputLength {
                expected: hi as u64,
                got: out.len() as u64,
                unit: "bytes",
            });
        };
        match self {
            FillJob::Sample {
                dist,
                dtype,
                key,
                range,
                ..
            } => cpu::fill_bytes_with(dist, *dtype, key, range.clone(), out, threads),
            FillJob::Upload { bytes, .. } => {
                out.copy_from_slice(bytes);
                Ok(())
            }
            FillJob::Structured {
                plan, dtype, key, ..
            } => fill_structured_cpu(plan, *dtype, key, out),
        }
    }
}

/// Runs `jobs` on the CPU into `out`, whose byte 0 is output byte 0.
///
/// The sampled jobs are run as one piece of work: their elements, in job
/// order, are cut into as many equal parts as `threads` gives one fill of
/// that many elements, and each part runs on one thread. A model of
/// hundreds of small tensors then starts its threads once, not once per
/// tensor, and no thread idles at the end of each tensor. The values do
/// not depend on the cut: every element is a pure function of its index.
/// Host bytes and structured jobs run first, one after another.
pub(crate) fn run_jobs_cpu(jobs: &[FillJob], out: &mut [u8], threads: &Threads) -> Result<()> {
    let mut sampled = Vec::new();
    for j in jobs {
        match j {
            FillJob::Sample { .. } => sampled.push(j),
            _ => j.run_cpu(out, 0, threads)?,
        }
    }
    sampled.sort_by_key(|j| j.dst());
    let overlap = sampled
        .windows(2)
        .any(|w| w[0].dst().saturating_add(w[0].len_bytes()) > w[1].dst());
    if sampled.len() < 2 || overlap {
        // Nothing to balance, or byte ranges that cannot be handed out as
        // disjoint slices (no job builder makes those): job by job.
        return sampled.iter().try_for_each(|j| j.run_cpu(out, 0, threads));
    }
    for j in &sampled {
        // The range checks of `run_cpu` and `cpu::fill_bytes`, before any
        // part is written.
        if let FillJob::Sample { key, range, .. } = j
            && (range.start > range.end || range.end > key.numel)
        {
            return Err(Error::RangeOutOfBounds {
                start: range.start,
                end: range.end,
                len: key.numel,
            });
        }
        let end = j.dst().checked_add(j.len_bytes());
        if end.is_none_or(|end| end > out.len() as u64) {
            return Err(Error::OutputLength {
                expected: end.unwrap_or(u64::MAX),
                got: out.len() as u64,
                unit: "bytes",
            });
        }
    }
    let total: u64 = sampled
        .iter()
        .map(|j| match j {
            FillJob::Sample { range, .. } => range.end - range.start,
            _ => 0,
        })
        .sum();
    let parts = threads.parts(total);
    if parts == 1 {
        return sampled.iter().try_for_each(|j| j.run_cpu(out, 0, threads));
    }
    // Each job's bytes as its own slice, in order.
    let mut slices = Vec::with_capacity(sampled.len());
    let (mut rest, mut at) = (out, 0u64);
    for j in &sampled {
        let (_, tail) = rest.split_at_mut((j.dst() - at) as usize);
        let (mine, tail) = tail.split_at_mut(j.len_bytes() as usize);
        slices.push(mine);
        rest = tail;
        at = j.dst() + j.len_bytes();
    }
    // Cut the elements into `parts` runs of about `per` elements, each cut
    // on a 4-element block boundary of its tensor where the job allows.
    let per = total.div_ceil(parts as u64);
    let mut work: Vec<Vec<Piece>> = (0..parts).map(|_| Vec::new()).collect();
    let (mut part, mut room) = (0usize, per);
    for (j, mut bytes) in sampled.into_iter().zip(slices) {
        let FillJob::Sample {
            dist,
            dtype,
            key,
            range,
            ..
        } = j
        else {
            unreachable!("only sampled jobs here")
        };
        let size = dtype.size_bytes() as u64;
        let mut start = range.start;
        while start < range.end {
            let mut take = (range.end - start).min(room);
            let end = start + take;
            if end < range.end && part + 1 < parts {
                // Round the cut down to a block boundary when that keeps
                // the piece non-empty.
                let cut = end & !3;
                if cut > start {
                    take = cut - start;
                }
            } else {
                take = range.end - start;
            }
            let (mine, tail) = bytes.split_at_mut((take * size) as usize);
            work[part].push(Piece {
                dist,
                dtype: *dtype,
                key,
                range: start..start + take,
                out: mine,
            });
            bytes = tail;
            start += take;
            room = room.saturating_sub(take);
            if room == 0 && part + 1 < parts {
                part += 1;
                room = per;
            }
        }
    }
    work.retain(|w| !w.is_empty());
    threads.run_parts(work, |pieces| {
        let one = Threads::count(1)?;
        pieces
            .into_iter()
            .try_for_each(|p| cpu::fill_bytes_with(p.dist, p.dtype, p.key, p.range, p.out, &one))
    })
}

/// Part of a sampled job that one thread fills.
struct Piece<'a> {
    dist: &'a Distribution,
    dtype: DType,
    key: &'a TensorKey,
    range: Range<u64>,
    out: &'a mut [u8],
}

/// A tensor of `shape` and `dtype` filled on the CPU by `jobs` (which
/// write its bytes from byte 0): its little-endian bytes.
#[allow(dead_code)] // Used by the model API.
pub(crate) fn jobs_to_bytes(
    shape: &[u64],
    dtype: DType,
    jobs: &[FillJob],
    threads: &Threads,
) -> Result<Vec<u8>> {
    let what = || format!("tensor of shape {shape:?} ({dtype})");
    let len = crate::host::bytes_of(numel(shape)?, dtype.size_bytes(), what)?;
    let mut out = crate::host::try_filled(len, 0u8, what)?;
    run_jobs_cpu(jobs, &mut out, threads)?;
    Ok(out)
}

/// `values` as little-endian `dtype` bytes (round to nearest even);
/// a value that overflows the dtype is an error.
fn value_bytes(values: impl Iterator<Item = f32>, dtype: DType) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for v in values {
        if !dtype.round(v).is_finite() {
            return Err(Error::Unrepresentable {
                what: format!("value {v}"),
                dtype: dtype.name(),
                reason: "it overflows to infinity",
            });
        }
        match dtype {
            DType::F32 => out.extend_from_slice(&v.to_le_bytes()),
            DType::F16 => out.extend_from_slice(&f32_to_f16_bits(v).to_le_bytes()),
            DType::BF16 => out.extend_from_slice(&f32_to_bf16_bits(v).to_le_bytes()),
        }
    }
    Ok(out)
}

/// One little-endian element of `dtype`, widened exactly to f32.
fn widen(dtype: DType, c: &[u8]) -> f32 {
    match dtype {
        DType::F32 => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
        DType::F16 => f16_bits_to_f32(u16::from_le_bytes([c[0], c[1]])),
        DType::BF16 => bf16_bits_to_f32(u16::from_le_bytes([c[0], c[1]])),
    }
}

/// Whether a structured plan is computed on the host (orthogonal's `Q`), not by a
/// backend's kernels.
fn host_structured(s: &Structured) -> bool {
    matches!(
        s,
        Structured::Orthogonal { .. } | Structured::DeltaOrthogonal { .. }
    )
}

/// The jobs that write elements `runs` of a tensor of `full_shape`
/// (resolved to `plan`, `key.numel` its element count) as `dtype`,
/// compactly from byte 0, in the order of `runs`.
///
/// Host-side values (class priors, orthogonal and delta-orthogonal, any
/// structured tensor when `runs` is not the whole tensor) are computed
/// here (see [`FillJob`]).
pub(crate) fn plan_jobs(
    plan: &Plan,
    full_shape: &[u64],
    dtype: DType,
    key: TensorKey,
    runs: Vec<Range<u64>>,
) -> Result<Vec<FillJob>> {
    let n = key.numel;
    let whole = runs.len() == 1 && runs[0] == (0..n);
    let size = dtype.size_bytes() as u64;
    let mut jobs = Vec::new();
    match plan {
        Plan::Sample(dist) => {
            let mut dst = 0;
            for r in runs {
                let len = r.end - r.start;
                jobs.push(FillJob::Sample {
                    dist: *dist,
                    dtype,
                    key,
                    range: r,
                    dst,
                });
                dst += len * size;
            }
        }
        Plan::Segments(segments) => {
            let mut dst = 0;
            for r in runs {
                for (seg, dist) in segments {
                    let (a, b) = (r.start.max(seg.start), r.end.min(seg.end));
                    if a < b {
                        jobs.push(FillJob::Sample {
                            dist: *dist,
                            dtype,
                            key,
                            range: a..b,
                            dst: dst + (a - r.start) * size,
                        });
                    }
                }
                dst += (r.end - r.start) * size;
            }
        }
        Plan::Values(values) => {
            let picked = runs
                .iter()
                .flat_map(|r| values[r.start as usize..r.end as usize].iter().copied());
            push_upload(&mut jobs, value_bytes(picked, dtype)?, dtype)?;
        }
        Plan::Structured(s) if whole && !host_structured(s) => jobs.push(FillJob::Structured {
            plan: s.clone(),
            dtype,
            key,
            dst: 0,
        }),
        Plan::Structured(s) => {
            // Not elementwise, or computed on the host: the whole tensor on the CPU (the
            // same on every rank), then the runs.
            let what = || format!("the host copy of shape {full_shape:?} ({dtype})");
            let full_len = crate::host::bytes_of(structured_numel(s)?, size as usize, what)?;
            let mut full = crate::host::try_filled(full_len, 0u8, what)?;
            fill_structured_cpu(s, dtype, &key, &mut full)?;
            let bytes = if whole {
                full
            } else {
                let mut bytes = Vec::new();
                for r in runs {
                    bytes.extend_from_slice(
                        &full[(r.start * size) as usize..(r.end * size) as usize],
                    );
                }
                bytes
            };
            push_upload(&mut jobs, bytes, dtype)?;
        }
    }
    Ok(jobs)
}

/// Pushes the upload of a tensor's host-computed `bytes` (from offset 0).
/// Copies move whole 4-byte words, so an odd count of 16-bit elements
/// sends its last element as a one-element constant fill instead (which
/// writes only its own half-word): nothing past the tensor is written.
fn push_upload(jobs: &mut Vec<FillJob>, mut bytes: Vec<u8>, dtype: DType) -> Result<()> {
    if bytes.len() % 4 == 2 {
        let at = bytes.len() - 2;
        let bits = u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let value = match dtype {
            DType::F16 => f16_bits_to_f32(bits),
            _ => bf16_bits_to_f32(bits),
        };
        bytes.truncate(at);
        jobs.push(FillJob::Upload { bytes, dst: 0 });
        // The value is exact in `dtype`, so the constant fill writes
        // these very bits.
        jobs.push(FillJob::Sample {
            dist: Distribution::constant(value)?,
            dtype,
            key: TensorKey::new(0, 0, 1),
            range: 0..1,
            dst: at as u64,
        });
    } else {
        jobs.push(FillJob::Upload { bytes, dst: 0 });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The one-call API
// ---------------------------------------------------------------------------

/// A scheme as [`TensorInit::new`] takes it: an [`Init`], or its text
/// form (parsed with [`Init`]'s `FromStr`).
///
/// ```
/// use weight_init::{Init, IntoInit};
/// let parsed = "normal(0, 0.02)".into_init()?;
/// assert_eq!(parsed.clone().into_init()?, parsed);
/// assert!("normal(0, -1)".into_init().is_err());
/// # Ok::<(), weight_init::Error>(())
/// ```
pub trait IntoInit {
    /// The scheme, or the parse error of its text.
    ///
    /// ```
    /// use weight_init::{Init, IntoInit};
    /// assert_eq!("zeros".into_init()?, Init::Zeros);
    /// assert_eq!(String::from("ones").into_init()?, Init::Ones);
    /// assert_eq!((&Init::Zeros).into_init()?, Init::Zeros);
    /// assert!("no_such_scheme".into_init().is_err());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    fn into_init(self) -> Result<Init>;
}

impl IntoInit for Init {
    fn into_init(self) -> Result<Init> {
        Ok(self)
    }
}

impl IntoInit for &Init {
    fn into_init(self) -> Result<Init> {
        Ok(self.clone())
    }
}

impl IntoInit for &str {
    fn into_init(self) -> Result<Init> {
        self.parse()
    }
}

impl IntoInit for String {
    fn into_init(self) -> Result<Init> {
        self.parse()
    }
}

impl IntoInit for &String {
    fn into_init(self) -> Result<Init> {
        self.parse()
    }
}

/// One named tensor and how to initialize it: the one-call API (see the
/// [module docs](self)).
///
/// Its values are a function of `(seed, stream, shape, dtype, scheme)`
/// only; the stream defaults to [`name_stream`] of the name, as in the
/// model API, so `TensorInit::new(name, ..)` and a
/// [`Param`](crate::model::Param) of the same name, shape, dtype and
/// scheme give the same bytes.
///
/// ```
/// use weight_init::{DType, TensorInit};
/// let emb = TensorInit::new("wte.weight", &[1000, 64], "normal(0, 0.02)")?.dtype(DType::BF16);
/// let mut bits = vec![0u16; 1000 * 64];
/// emb.fill_bits(7, &mut bits)?;
/// let values = emb.to_vec_f32(7)?;
/// assert_eq!(values[5].to_bits() >> 16, bits[5] as u32); // bf16 widened exactly
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TensorInit {
    name: String,
    shape: Vec<u64>,
    init: Init,
    dtype: DType,
    stream: Option<u64>,
    layout: Layout,
    groups: u64,
    weight_shape: Option<Vec<u64>>,
    fans: Option<Fans>,
    threads: Threads,
}

/// Equal when they give the same values: the CPU threads
/// ([`TensorInit::threads`]) never change a value, so they are not compared.
impl PartialEq for TensorInit {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.name,
            &self.shape,
            &self.init,
            self.dtype,
            self.stream,
            self.layout,
            self.groups,
            &self.weight_shape,
            &self.fans,
        ) == (
            &other.name,
            &other.shape,
            &other.init,
            other.dtype,
            other.stream,
            other.layout,
            other.groups,
            &other.weight_shape,
            &other.fans,
        )
    }
}

impl TensorInit {
    /// A tensor `name` of `shape` (row-major) initialized by `scheme`: an
    /// [`Init`] or its text form (see [`Init`] for the schemes). F32,
    /// stream [`name_stream`]`(name)`, PyTorch layout, one group, fans
    /// from the shape, until the builders say otherwise.
    ///
    /// Errors, naming the tensor ([`Error::Param`]): scheme text that does
    /// not parse; a zero-sized dimension or an element count past `u64`.
    /// (Whether the scheme suits the shape is checked by [`Self::plan`]
    /// and every fill.)
    ///
    /// ```
    /// use weight_init::{Error, Init, TensorInit};
    /// let a = TensorInit::new("w", &[8, 4], "xavier_uniform")?;
    /// let b = TensorInit::new("w", &[8, 4], "xavier_uniform".parse::<Init>()?)?;
    /// assert_eq!(a, b);
    /// let err = TensorInit::new("w", &[8, 4], "xavier_uniformm").unwrap_err();
    /// assert!(matches!(err, Error::Param { ref name, .. } if name == "w"));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn new(name: impl Into<String>, shape: &[u64], scheme: impl IntoInit) -> Result<Self> {
        let name = name.into();
        let named = |e| Error::Param {
            name: name.clone(),
            source: Box::new(e),
        };
        let init = scheme.into_init().map_err(named)?;
        numel(shape).map_err(named)?;
        Ok(Self {
            name,
            shape: shape.to_vec(),
            init,
            dtype: DType::F32,
            stream: None,
            layout: Layout::Torch,
            groups: 1,
            weight_shape: None,
            fans: None,
            threads: Threads::all(),
        })
    }

    /// With the CPU fills (`fill_*`, `to_*`) run on `threads` (every core by
    /// default): a count, or the caller's own pool. The values never depend
    /// on it.
    ///
    /// ```
    /// use weight_init::{cpu::Threads, TensorInit};
    /// let t = TensorInit::new("w", &[300, 400], "normal(0, 1)")?;
    /// let one = t.clone().threads(Threads::count(1)?);
    /// assert_eq!(one.to_vec_f32(3)?, t.to_vec_f32(3)?);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    #[must_use]
    pub fn threads(mut self, threads: Threads) -> Self {
        self.threads = threads;
        self
    }

    /// With output dtype `dtype` (f32 by default).
    ///
    /// ```
    /// use weight_init::{DType, TensorInit};
    /// let t = TensorInit::new("w", &[4], "ones")?.dtype(DType::F16);
    /// assert_eq!(t.to_bytes(0)?, [0x00, 0x3c].repeat(4));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    #[must_use]
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }

    /// With Philox stream `stream` instead of [`name_stream`] of the name.
    /// Two tensors on the same `(seed, stream)` draw the same values: give
    /// each tensor its own.
    ///
    /// ```
    /// use weight_init::{TensorInit};
    /// let a = TensorInit::new("a", &[16], "normal(0, 1)")?.stream(5);
    /// let b = TensorInit::new("b", &[16], "normal(0, 1)")?.stream(5);
    /// assert_eq!(a.to_vec_f32(1)?, b.to_vec_f32(1)?);
    /// assert_eq!(a.stream_id(), 5);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    #[must_use]
    pub fn stream(mut self, stream: u64) -> Self {
        self.stream = Some(stream);
        self
    }

    /// With `layout`: where the channels sit in the shape (and in
    /// [`Self::weight_shape`]'s), for fans and the structured schemes.
    ///
    /// ```
    /// use weight_init::{Layout, TensorInit};
    /// // Flax Dense kernel [in, out] = [100, 10]: fan_in 100.
    /// let k = TensorInit::new("dense/kernel", &[100, 10], "lecun_uniform")?.layout(Layout::Jax);
    /// let bound = (3.0f32 / 100.0).sqrt();
    /// assert!(k.to_vec_f32(3)?.iter().all(|v| v.abs() <= bound));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    #[must_use]
    pub fn layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// With `groups` convolution groups, which divide `fan_out` (see
    /// [`Fans::from_shape`]); 1 by default. `dirac` takes its own
    /// `groups` parameter.
    ///
    /// ```
    /// use weight_init::{Plan, TensorInit};
    /// // A depthwise 3x3 conv of 32 channels: fan_out 9 instead of 288.
    /// let t = TensorInit::new("dw.weight", &[32, 1, 3, 3], "xavier_uniform")?;
    /// let (Plan::Sample(one), Plan::Sample(depthwise)) = (t.plan()?, t.clone().groups(32).plan()?)
    /// else { unreachable!() };
    /// assert_ne!(one, depthwise);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    #[must_use]
    pub fn groups(mut self, groups: u64) -> Self {
        self.groups = groups;
        self
    }

    /// With the fans of a weight of `weight_shape` (in this tensor's
    /// [`Self::layout`] and [`Self::groups`]), for a tensor that belongs
    /// to that weight: `torch_default_bias` needs them (PyTorch takes a
    /// bias's bound from its layer's weight), exactly as the model API
    /// gives a bias the fans of the weight beside it. Any fan-based scheme
    /// uses them in place of the tensor's own shape; [`Self::fans`]
    /// overrides them.
    ///
    /// ```
    /// use weight_init::TensorInit;
    /// // nn.Conv2d(16, 32, 3)'s bias: fan_in = 16 * 3 * 3 = 144, bound 1/12.
    /// let b = TensorInit::new("conv.bias", &[32], "torch_default_bias")?
    ///     .weight_shape(&[32, 16, 3, 3]);
    /// assert!(b.to_vec_f32(1)?.iter().all(|v| v.abs() < 1.0 / 12.0));
    /// // Without the weight there is no fan_in: an error naming the bias.
    /// let alone = TensorInit::new("conv.bias", &[32], "torch_default_bias")?;
    /// assert!(alone.to_vec_f32(1).unwrap_err().to_string().contains("conv.bias"));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    #[must_use]
    pub fn weight_shape(mut self, weight_shape: &[u64]) -> Self {
        self.weight_shape = Some(weight_shape.to_vec());
        self
    }

    /// With explicit fans, in place of the shape's (or
    /// [`Self::weight_shape`]'s).
    ///
    /// ```
    /// use weight_init::{Fans, TensorInit};
    /// let b = TensorInit::new("fc.bias", &[10], "torch_default_bias")?.fans(Fans::new(100, 10)?);
    /// let w = TensorInit::new("fc.bias", &[10], "torch_default_bias")?.weight_shape(&[10, 100]);
    /// assert_eq!(b.to_bytes(9)?, w.to_bytes(9)?);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    #[must_use]
    pub fn fans(mut self, fans: Fans) -> Self {
        self.fans = Some(fans);
        self
    }

    /// The tensor's name.
    ///
    /// ```
    /// use weight_init::TensorInit;
    /// assert_eq!(TensorInit::new("h.0.mlp.weight", &[4, 4], "zeros")?.name(), "h.0.mlp.weight");
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tensor's shape.
    ///
    /// ```
    /// use weight_init::TensorInit;
    /// assert_eq!(TensorInit::new("w", &[4, 2], "zeros")?.shape(), &[4, 2]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// The scheme.
    ///
    /// ```
    /// use weight_init::TensorInit;
    /// assert_eq!(TensorInit::new("w", &[4, 2], "xavier_normal")?.init().name(), "xavier_normal");
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn init(&self) -> &Init {
        &self.init
    }

    /// The Philox stream the tensor draws from: the one given with
    /// [`Self::stream`], else [`name_stream`] of the name (the model API's
    /// default too).
    ///
    /// ```
    /// use weight_init::{philox::name_stream, TensorInit};
    /// let t = TensorInit::new("fc.weight", &[4, 4], "normal(0, 1)")?;
    /// assert_eq!(t.stream_id(), name_stream("fc.weight"));
    /// assert_eq!(t.stream(3).stream_id(), 3);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn stream_id(&self) -> u64 {
        self.stream.unwrap_or_else(|| name_stream(&self.name))
    }

    /// The element count.
    ///
    /// ```
    /// use weight_init::TensorInit;
    /// assert_eq!(TensorInit::new("w", &[3, 4, 5], "zeros")?.numel(), 60);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn numel(&self) -> u64 {
        // Checked by `new`.
        self.shape.iter().product()
    }

    /// `e` as an error of this tensor.
    fn named(&self, e: Error) -> Error {
        Error::Param {
            name: self.name.clone(),
            source: Box::new(e),
        }
    }

    /// The tensor's byte count (unnamed errors).
    fn byte_len(&self) -> Result<u64> {
        crate::host::bytes_of(self.numel(), self.dtype.size_bytes(), || {
            format!("a tensor of shape {:?} ({})", self.shape, self.dtype)
        })
    }

    /// The scheme resolved for the tensor's shape: what a backend does
    /// ([`Init::resolve`] with the layout, groups and fans given).
    ///
    /// Errors, naming the tensor: the scheme does not suit the shape (a
    /// fan-based scheme on a 1-D tensor without fans, `torch_default_bias`
    /// without [`Self::weight_shape`] or [`Self::fans`], a structured
    /// scheme's shape rules, ...); the weight shape has no fans.
    ///
    /// ```
    /// use weight_init::{Distribution, Plan, TensorInit};
    /// let t = TensorInit::new("fc.bias", &[10], "torch_default_bias")?.weight_shape(&[10, 100]);
    /// let Plan::Sample(Distribution::Uniform(u)) = t.plan()? else { unreachable!() };
    /// assert_eq!((u.low(), u.high()), (-0.1, 0.1));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn plan(&self) -> Result<Plan> {
        self.resolve().map_err(|e| self.named(e))
    }

    /// [`Self::plan`], unnamed errors.
    fn resolve(&self) -> Result<Plan> {
        let mut opts = ResolveOptions::default()
            .with_layout(self.layout)
            .with_groups(self.groups);
        if let Some(fans) = self.fans {
            opts = opts.with_fans(fans);
        } else if let Some(w) = &self.weight_shape {
            opts = opts.with_fans(Fans::from_shape(w, self.layout, self.groups)?);
        }
        self.init.resolve(&self.shape, &opts)
    }

    /// Resolves the scheme and builds the jobs that write the whole
    /// tensor from byte 0 under `seed`: the host-side step. Values
    /// computed on the host (class priors, and the `Q` of orthogonal and
    /// delta-orthogonal inits, which takes about a second for a large matrix)
    /// are computed here, so an engine can run this off its recording
    /// thread and record the jobs later (see [`FillJob`]).
    ///
    /// Errors, naming the tensor: those of [`Self::plan`]; a byte count
    /// past `u64`; host memory for host-computed values; a scheme the
    /// dtype cannot represent (e.g. a class-prior value past f16's range).
    ///
    /// ```
    /// use weight_init::{DType, TensorInit};
    /// let t = TensorInit::new("fc.weight", &[64, 32], "kaiming_normal")?.dtype(DType::BF16);
    /// let prepared = t.prepare(11)?;
    /// assert_eq!(prepared.byte_len(), 64 * 32 * 2);
    /// assert_eq!(prepared.jobs().len(), 1);
    /// let mut bytes = vec![0u8; 64 * 32 * 2];
    /// prepared.fill_bytes(&mut bytes)?;
    /// assert_eq!(bytes, t.to_bytes(11)?);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn prepare(&self, seed: u64) -> Result<PreparedTensor> {
        let build = || {
            let byte_len = self.byte_len()?;
            let plan = self.resolve()?;
            let n = self.numel();
            let key = TensorKey::new(seed, self.stream_id(), n);
            // A list of runs holding one run, not a range to collect.
            #[allow(clippy::single_range_in_vec_init)]
            let jobs = plan_jobs(&plan, &self.shape, self.dtype, key, vec![0..n])?;
            Ok(PreparedTensor {
                name: self.name.clone(),
                shape: self.shape.clone(),
                dtype: self.dtype,
                byte_len,
                jobs,
            })
        };
        build().map_err(|e| self.named(e))
    }

    /// Fills the tensor under `seed` into `out`: its little-endian bytes
    /// in its dtype, exactly [`Self::numel`] times the dtype's size.
    ///
    /// Errors, naming the tensor: `out` of another length
    /// ([`Error::OutputLength`], checked first); those of
    /// [`Self::prepare`]. Nothing is written on error.
    ///
    /// ```
    /// use weight_init::{DType, Error, TensorInit};
    /// let t = TensorInit::new("w", &[2, 3], "uniform(-1, 1)")?.dtype(DType::F16);
    /// let mut out = [0u8; 12];
    /// t.fill_bytes(5, &mut out)?;
    /// assert_eq!(out.to_vec(), t.to_bytes(5)?);
    /// let err = t.fill_bytes(5, &mut [0u8; 10]).unwrap_err();
    /// let Error::Param { name, source } = err else { unreachable!() };
    /// assert_eq!(name, "w");
    /// assert!(matches!(*source, Error::OutputLength { expected: 12, got: 10, .. }));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn fill_bytes(&self, seed: u64, out: &mut [u8]) -> Result<()> {
        self.check_len(out.len(), self.byte_len(), "bytes")?;
        self.prepare(seed)?.fill_bytes_with(out, &self.threads)
    }

    /// The tensor under `seed`: its little-endian bytes in its dtype.
    ///
    /// Errors, naming the tensor: those of [`Self::prepare`]; host memory
    /// for the bytes.
    ///
    /// ```
    /// use weight_init::{DType, TensorInit};
    /// let t = TensorInit::new("b", &[3], "constant(0.5)")?.dtype(DType::BF16);
    /// assert_eq!(t.to_bytes(0)?, [0x00, 0x3f, 0x00, 0x3f, 0x00, 0x3f]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn to_bytes(&self, seed: u64) -> Result<Vec<u8>> {
        let prepared = self.prepare(seed)?;
        let mut out = crate::host::try_filled(prepared.byte_len, 0u8, || {
            format!("a tensor of shape {:?} ({})", self.shape, self.dtype)
        })
        .map_err(|e| self.named(e))?;
        prepared.fill_bytes_with(&mut out, &self.threads)?;
        Ok(out)
    }

    /// `out.len() == expected` (`expected` an element count or its error),
    /// else [`Error::OutputLength`] naming the tensor.
    fn check_len(&self, got: usize, expected: Result<u64>, unit: &'static str) -> Result<()> {
        let expected = expected.map_err(|e| self.named(e))?;
        if got as u64 != expected {
            return Err(self.named(Error::OutputLength {
                expected,
                got: got as u64,
                unit,
            }));
        }
        Ok(())
    }

    /// Fills `out` with every element's little-endian bytes converted by
    /// `convert` (after checking `out` has one entry per element).
    fn fill_elements<T>(
        &self,
        seed: u64,
        out: &mut [T],
        convert: impl Fn(&[u8]) -> T,
    ) -> Result<()> {
        self.check_len(out.len(), Ok(self.numel()), "elements")?;
        let bytes = self.to_bytes(seed)?;
        let elements = bytes.chunks_exact(self.dtype.size_bytes());
        for (o, c) in out.iter_mut().zip(elements) {
            *o = convert(c);
        }
        Ok(())
    }

    /// Fills the tensor's values under `seed` into `out` ([`Self::numel`]
    /// elements), widened exactly to f32: the values themselves for an f32
    /// tensor, the f16 / bf16 values for a 16-bit one.
    ///
    /// Host memory: a copy of the tensor's bytes on the way.
    ///
    /// Errors, naming the tensor: `out` of another length
    /// ([`Error::OutputLength`], checked first); those of
    /// [`Self::to_bytes`].
    ///
    /// ```
    /// use weight_init::TensorInit;
    /// let t = TensorInit::new("w", &[32], "trunc_normal(std=0.02)")?;
    /// let mut out = [0.0f32; 32];
    /// t.fill_f32(1, &mut out)?;
    /// assert!(out.iter().all(|v| v.abs() <= 2.0)); // torch's default a = -2, b = 2
    /// assert!(t.fill_f32(1, &mut [0.0; 31]).is_err());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn fill_f32(&self, seed: u64, out: &mut [f32]) -> Result<()> {
        let dtype = self.dtype;
        self.fill_elements(seed, out, |c| widen(dtype, c))
    }

    /// The tensor's values under `seed`, widened exactly to f32 (see
    /// [`Self::fill_f32`]).
    ///
    /// ```
    /// use weight_init::TensorInit;
    /// let t = TensorInit::new("w", &[2, 2], "eye")?;
    /// assert_eq!(t.to_vec_f32(0)?, [1.0, 0.0, 0.0, 1.0]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn to_vec_f32(&self, seed: u64) -> Result<Vec<f32>> {
        let mut out = self.alloc(0.0f32)?;
        self.fill_f32(seed, &mut out)?;
        Ok(out)
    }

    /// Fills the tensor's values under `seed` into `out`, widened exactly
    /// to f64. Otherwise as [`Self::fill_f32`].
    ///
    /// ```
    /// use weight_init::TensorInit;
    /// let t = TensorInit::new("w", &[8], "normal(0, 1)")?;
    /// let mut wide = [0.0f64; 8];
    /// t.fill_f64(2, &mut wide)?;
    /// let narrow = t.to_vec_f32(2)?;
    /// assert!(wide.iter().zip(&narrow).all(|(w, n)| *w == *n as f64));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn fill_f64(&self, seed: u64, out: &mut [f64]) -> Result<()> {
        let dtype = self.dtype;
        self.fill_elements(seed, out, |c| widen(dtype, c) as f64)
    }

    /// The tensor's values under `seed`, widened exactly to f64.
    ///
    /// ```
    /// use weight_init::{DType, TensorInit};
    /// let t = TensorInit::new("w", &[3], "constant(0.1)")?.dtype(DType::BF16);
    /// // 0.1 rounded to bf16, widened exactly.
    /// assert_eq!(t.to_vec_f64(0)?, [0.10009765625; 3]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn to_vec_f64(&self, seed: u64) -> Result<Vec<f64>> {
        let mut out = self.alloc(0.0f64)?;
        self.fill_f64(seed, &mut out)?;
        Ok(out)
    }

    /// Fills the raw bits of a 16-bit (f16 or bf16) tensor under `seed`
    /// into `out`.
    ///
    /// Errors, naming the tensor: an f32 tensor
    /// ([`Error::Unrepresentable`]: use [`Self::fill_f32`]); `out` of
    /// another length; those of [`Self::to_bytes`].
    ///
    /// ```
    /// use weight_init::{DType, TensorInit};
    /// let t = TensorInit::new("ln.weight", &[4], "ones")?.dtype(DType::F16);
    /// let mut bits = [0u16; 4];
    /// t.fill_bits(0, &mut bits)?;
    /// assert_eq!(bits, [0x3c00; 4]);
    /// assert!(t.dtype(DType::F32).fill_bits(0, &mut bits).is_err());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn fill_bits(&self, seed: u64, out: &mut [u16]) -> Result<()> {
        self.check_16bit("fill_bits takes an f16 or bf16 tensor; use fill_f32")?;
        self.fill_elements(seed, out, |c| u16::from_le_bytes([c[0], c[1]]))
    }

    /// An error naming the tensor unless its dtype is 16-bit.
    fn check_16bit(&self, reason: &'static str) -> Result<()> {
        if self.dtype.size_bytes() == 2 {
            return Ok(());
        }
        Err(self.unrepresentable(reason))
    }

    /// [`Error::Unrepresentable`] for this tensor's dtype, naming it.
    fn unrepresentable(&self, reason: &'static str) -> Error {
        self.named(Error::Unrepresentable {
            what: format!("`{}`", self.init),
            dtype: self.dtype.name(),
            reason,
        })
    }

    /// A host vector of one element per tensor element.
    fn alloc<T: Clone>(&self, zero: T) -> Result<Vec<T>> {
        crate::host::try_filled(self.numel(), zero, || {
            format!("the values of a tensor of shape {:?}", self.shape)
        })
        .map_err(|e| self.named(e))
    }
}

#[cfg(feature = "half")]
impl TensorInit {
    /// Fills a bf16 tensor's values under `seed` into `out` (feature
    /// `half`).
    ///
    /// Errors, naming the tensor: a dtype other than bf16
    /// ([`Error::Unrepresentable`]); otherwise as [`Self::fill_bits`].
    ///
    /// ```
    /// use weight_init::{DType, TensorInit};
    /// let t = TensorInit::new("w", &[4], "constant(0.5)")?.dtype(DType::BF16);
    /// let mut out = [half::bf16::ZERO; 4];
    /// t.fill_bf16(0, &mut out)?;
    /// assert_eq!(out, [half::bf16::from_f32(0.5); 4]);
    /// assert!(t.dtype(DType::F16).fill_bf16(0, &mut out).is_err());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn fill_bf16(&self, seed: u64, out: &mut [half::bf16]) -> Result<()> {
        if self.dtype != DType::BF16 {
            return Err(self.unrepresentable("fill_bf16 takes a bf16 tensor"));
        }
        self.fill_elements(seed, out, |c| {
            half::bf16::from_bits(u16::from_le_bytes([c[0], c[1]]))
        })
    }

    /// Fills an f16 tensor's values under `seed` into `out` (feature
    /// `half`).
    ///
    /// Errors, naming the tensor: a dtype other than f16
    /// ([`Error::Unrepresentable`]); otherwise as [`Self::fill_bits`].
    ///
    /// ```
    /// use weight_init::{DType, TensorInit};
    /// let t = TensorInit::new("w", &[4], "constant(0.5)")?.dtype(DType::F16);
    /// let mut out = [half::f16::ZERO; 4];
    /// t.fill_f16(0, &mut out)?;
    /// assert_eq!(out, [half::f16::from_f32(0.5); 4]);
    /// assert!(t.dtype(DType::BF16).fill_f16(0, &mut out).is_err());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn fill_f16(&self, seed: u64, out: &mut [half::f16]) -> Result<()> {
        if self.dtype != DType::F16 {
            return Err(self.unrepresentable("fill_f16 takes an f16 tensor"));
        }
        self.fill_elements(seed, out, |c| {
            half::f16::from_bits(u16::from_le_bytes([c[0], c[1]]))
        })
    }

    /// A bf16 tensor's values under `seed` (feature `half`); errors as
    /// [`Self::fill_bf16`].
    ///
    /// ```
    /// use weight_init::{DType, TensorInit};
    /// let t = TensorInit::new("w", &[2, 2], "eye")?.dtype(DType::BF16);
    /// let one = half::bf16::ONE;
    /// assert_eq!(t.to_vec_bf16(0)?, [one, half::bf16::ZERO, half::bf16::ZERO, one]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn to_vec_bf16(&self, seed: u64) -> Result<Vec<half::bf16>> {
        if self.dtype != DType::BF16 {
            return Err(self.unrepresentable("to_vec_bf16 takes a bf16 tensor"));
        }
        let mut out = self.alloc(half::bf16::ZERO)?;
        self.fill_bf16(seed, &mut out)?;
        Ok(out)
    }

    /// An f16 tensor's values under `seed` (feature `half`); errors as
    /// [`Self::fill_f16`].
    ///
    /// ```
    /// use weight_init::{DType, TensorInit};
    /// let t = TensorInit::new("w", &[3], "ones")?.dtype(DType::F16);
    /// assert_eq!(t.to_vec_f16(0)?, [half::f16::ONE; 3]);
    /// assert!(t.dtype(DType::F32).to_vec_f16(0).is_err());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn to_vec_f16(&self, seed: u64) -> Result<Vec<half::f16>> {
        if self.dtype != DType::F16 {
            return Err(self.unrepresentable("to_vec_f16 takes an f16 tensor"));
        }
        let mut out = self.alloc(half::f16::ZERO)?;
        self.fill_f16(seed, &mut out)?;
        Ok(out)
    }
}

/// A tensor resolved for a seed, with the jobs that write its bytes from
/// byte 0, every host-side value already computed (see
/// [`TensorInit::prepare`] and [`FillJob`]).
///
/// ```
/// use weight_init::{DType, FillJob, TensorInit};
/// let p = TensorInit::new("head.bias", &[3], "class_prior_bias(priors=[0.5, 0.25, 0.25])")?
///     .dtype(DType::F32)
///     .prepare(0)?;
/// assert_eq!((p.name(), p.shape(), p.dtype(), p.byte_len()), ("head.bias", &[3][..], DType::F32, 12));
/// assert!(matches!(p.jobs(), [FillJob::Upload { .. }])); // computed on the host
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedTensor {
    name: String,
    shape: Vec<u64>,
    dtype: DType,
    byte_len: u64,
    jobs: Vec<FillJob>,
}

impl PreparedTensor {
    /// The tensor's name.
    ///
    /// ```
    /// use weight_init::TensorInit;
    /// assert_eq!(TensorInit::new("w", &[2], "zeros")?.prepare(0)?.name(), "w");
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tensor's shape.
    ///
    /// ```
    /// use weight_init::TensorInit;
    /// assert_eq!(TensorInit::new("w", &[2, 5], "zeros")?.prepare(0)?.shape(), &[2, 5]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// The output dtype.
    ///
    /// ```
    /// use weight_init::{DType, TensorInit};
    /// let p = TensorInit::new("w", &[2], "zeros")?.dtype(DType::F16).prepare(0)?;
    /// assert_eq!(p.dtype(), DType::F16);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The tensor's size in bytes: what [`Self::fill_bytes`] writes and a
    /// backend's buffer must hold from the tensor's offset.
    ///
    /// ```
    /// use weight_init::{DType, TensorInit};
    /// let p = TensorInit::new("w", &[3, 3], "zeros")?.dtype(DType::BF16).prepare(0)?;
    /// assert_eq!(p.byte_len(), 18);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn byte_len(&self) -> u64 {
        self.byte_len
    }

    /// The jobs that write the tensor's bytes, from byte 0, in order,
    /// without gaps or overlap.
    ///
    /// ```
    /// use weight_init::{FillJob, TensorInit};
    /// let p = TensorInit::new("w", &[16, 8], "xavier_normal")?.prepare(3)?;
    /// let [FillJob::Sample { range, dst, key, .. }] = p.jobs() else { unreachable!() };
    /// assert_eq!((range.clone(), *dst, key.seed), (0..128, 0, 3));
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn jobs(&self) -> &[FillJob] {
        &self.jobs
    }

    /// Runs the jobs on the CPU into `out`: the tensor's little-endian
    /// bytes, exactly [`Self::byte_len`] of them.
    ///
    /// Errors, naming the tensor: `out` of another length
    /// ([`Error::OutputLength`]); nothing is written then.
    ///
    /// ```
    /// use weight_init::TensorInit;
    /// let t = TensorInit::new("w", &[6, 4], "sparse(sparsity=0.5)")?;
    /// let p = t.prepare(8)?;
    /// let mut out = vec![0u8; p.byte_len() as usize];
    /// p.fill_bytes(&mut out)?;
    /// assert_eq!(out, t.to_bytes(8)?);
    /// assert!(p.fill_bytes(&mut out[1..]).is_err());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn fill_bytes(&self, out: &mut [u8]) -> Result<()> {
        self.fill_bytes_with(out, &Threads::all())
    }

    /// [`Self::fill_bytes`] on `threads` (a count or the caller's pool); the
    /// bytes are the same.
    ///
    /// ```
    /// use weight_init::{cpu::Threads, TensorInit};
    /// let p = TensorInit::new("w", &[64, 64], "trunc_normal(std=0.02)")?.prepare(1)?;
    /// let (mut a, mut b) = (vec![0u8; 64 * 64 * 4], vec![0u8; 64 * 64 * 4]);
    /// p.fill_bytes(&mut a)?;
    /// p.fill_bytes_with(&mut b, &Threads::count(3)?)?;
    /// assert_eq!(a, b);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn fill_bytes_with(&self, out: &mut [u8], threads: &Threads) -> Result<()> {
        let named = |e| Error::Param {
            name: self.name.clone(),
            source: Box::new(e),
        };
        if out.len() as u64 != self.byte_len {
            return Err(named(Error::OutputLength {
                expected: self.byte_len,
                got: out.len() as u64,
                unit: "bytes",
            }));
        }
        run_jobs_cpu(&self.jobs, out, threads).map_err(named)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Jobs of several tensors at shifted, padded offsets: sizes that are
    /// not multiples of 4, every dtype, a sub-range, host bytes between.
    fn jobs() -> (Vec<FillJob>, usize) {
        let mut all = Vec::new();
        let mut at = 6u64; // even, not a word
        let specs: [(&str, &[u64], &str, DType); 4] = [
            ("a", &[301, 257], "normal(0, 0.02)", DType::BF16),
            ("b", &[70_001], "uniform(-1, 1)", DType::F32),
            (
                "c",
                &[5],
                "class_prior_bias(priors=[0.01], activation=sigmoid)",
                DType::F16,
            ),
            (
                "d",
                &[129, 1001],
                "trunc_normal(std=1, a=-2, b=2)",
                DType::F16,
            ),
        ];
        for (name, shape, scheme, dtype) in specs {
            let t = TensorInit::new(name, shape, scheme)
                .unwrap()
                .dtype(dtype)
                .prepare(9)
                .unwrap();
            for mut j in t.jobs().to_vec() {
                j.shift(at);
                all.push(j);
            }
            at += t.byte_len() + 10;
        }
        // A sub-range job of its own, placed last.
        all.push(FillJob::Sample {
            dist: crate::Normal::new(0.0, 1.0).unwrap().into(),
            dtype: DType::F32,
            key: TensorKey::new(4, 4, 1 << 20),
            range: 12_345..100_003,
            dst: at.next_multiple_of(4),
        });
        let end = at.next_multiple_of(4) + 4 * (100_003 - 12_345);
        (all, end as usize + 7)
    }

    struct Inline;
    impl cpu::Pool for Inline {
        fn run(&self, n: usize, task: &(dyn Fn(usize) + Sync)) {
            (0..n).rev().for_each(task)
        }
    }

    /// The balanced run writes exactly the bytes the jobs write one by
    /// one, for every way of running the parts, and nothing else.
    #[test]
    fn balanced_run_equals_job_by_job() {
        let (jobs, len) = jobs();
        let mut expected = vec![0xeeu8; len];
        for j in &jobs {
            j.run_cpu(&mut expected, 0, &Threads::count(1).unwrap())
                .unwrap();
        }
        for threads in [
            Threads::count(1).unwrap(),
            Threads::count(2).unwrap(),
            Threads::count(7).unwrap(),
            Threads::all(),
            Threads::pool(Arc::new(Inline)),
        ] {
            assert!(threads.parts(300_000) >= 1);
            let mut got = vec![0xeeu8; len];
            run_jobs_cpu(&jobs, &mut got, &threads).unwrap();
            assert!(got == expected, "{threads:?}");
        }
        // Seven threads do cut this work into several parts.
        assert!(Threads::count(7).unwrap().parts(300_000) > 1);
    }

    #[test]
    fn balanced_run_checks_every_job_first() {
        let (mut jobs, len) = jobs();
        let mut out = vec![0u8; len - 8]; // one byte short of the last job
        assert!(run_jobs_cpu(&jobs, &mut out, &Threads::count(4).unwrap()).is_err());
        if let Some(FillJob::Sample { range, .. }) = jobs.last_mut() {
            // Backwards on purpose: a range no fill accepts.
            *range = Range { start: 5, end: 3 };
        }
        let mut out = vec![0u8; len];
        assert!(matches!(
            run_jobs_cpu(&jobs, &mut out, &Threads::count(4).unwrap()),
            Err(Error::RangeOutOfBounds { .. })
        ));
    }
}
