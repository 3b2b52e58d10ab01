//! Batched fills: many tensors, or parts of them, written into one
//! destination buffer by a small number of dispatches that does not grow
//! with the number of tensors.
//!
//! Each item ([`BatchItem`]) is checked on the CPU, cut at the binding
//! windows into pieces, and described by a 128-byte descriptor (`Piece` in
//! `shaders/fill_batch.wgsl`) in a table that travels in a uniform buffer
//! (a workgroup reads one descriptor, at an index the same for all its
//! invocations: uniform data at a uniform index is loaded once for all of
//! them; on lavapipe the scaled Llama benchmark took 0.61 s with the table
//! in a uniform buffer against 2.5 s with it in a storage buffer).
//! A dispatch runs one kernel (a distribution kind: constant, uniform,
//! normal or truncated normal, and a view: range or columns) over the
//! pieces of one window. Each workgroup works on one piece (a piece's work
//! is padded to whole workgroups of 256 units), found by a binary search in
//! the running sum of workgroups per piece; each invocation takes a unit of
//! four consecutive positions, on a Philox block where the dtype allows.
//! The kernels copy the piece's parameters into a private `Params`
//! variable and call the same `sample_block`, `finish` and stores
//! (`shaders/kernel_io.wgsl`) as the structured kernels. A single-tensor
//! fill ([`GpuContext::record_fill`]) of a random kind is a one-item batch:
//! on lavapipe the batched kernels measured no slower than the former
//! single-tensor ones (faster where the range starts on a Philox block,
//! thanks to [`BatchView::Blocks`](super::unstable::BatchView::Blocks)); a constant keeps its own kernel
//! ([`single_constant_shader`](super::unstable::single_constant_shader)).

use std::ops::Range;

use super::fill::{FillParams, Window, POSITIONS_PER_INVOCATION, WORKGROUP_SIZE};
use super::shaders::{batch_shader_for, BatchDTypes, BatchView, Kernel};
use super::{record, slice, split_grid, usage_names, GpuContext};
use crate::dist::Distribution;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::philox::TensorKey;
use crate::sampler::Sampler;

/// `Piece.view` of a contiguous element range (`VIEW_RANGE` in
/// `shaders/fill_batch.wgsl`).
const VIEW_RANGE: u32 = 0;
/// `Piece.view` of a column block (`VIEW_COLUMNS` in
/// `shaders/fill_batch.wgsl`).
const VIEW_COLUMNS: u32 = 1;
/// Bytes of one descriptor: `Piece` in `shaders/fill_batch.wgsl`.
pub(crate) const PIECE_BYTES: u64 = 128;
/// Widest column block the kernel takes: the column arithmetic of a piece
/// (`col0 + position`) must stay below 2^32, and a window holds at most
/// 2^30 positions.
const MAX_COLUMNS: u64 = 1 << 31;

/// Which elements of a tensor a [`BatchItem`] fills, in destination order.
///
/// ```
/// use weight_init::gpu::ItemView;
/// // Rank 1 of 4 of a [6, 8] weight split by columns: 6 rows of 2 columns.
/// let view = ItemView::Columns { row_len: 8, cols: 2..4 };
/// assert_eq!(view.len(48).unwrap(), 12);
/// assert_eq!(ItemView::Range(10..20).len(48).unwrap(), 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemView {
    /// Tensor elements `range.start..range.end` (contiguous): destination
    /// element `l` is tensor element `range.start + l`.
    Range(Range<u64>),
    /// A column block of the tensor's 2-D row-major view `[rows, row_len]`
    /// (tensor-parallel column sharding): destination element `l`
    /// (`0 <= l < rows * w`) is tensor element
    /// `(l / w) * row_len + cols.start + l % w`, with `w = cols.end -
    /// cols.start`. `row_len` must divide the tensor's element count, and
    /// `w` is at most 2^31.
    Columns {
        /// Elements per row of the 2-D view.
        row_len: u64,
        /// The columns, `cols.end <= row_len`.
        cols: Range<u64>,
    },
}

impl ItemView {
    /// How many elements the view holds of a tensor of `numel` elements;
    /// an error where it does not fit the tensor.
    ///
    /// ```
    /// use weight_init::gpu::ItemView;
    /// assert_eq!(ItemView::Columns { row_len: 4, cols: 1..3 }.len(8)?, 4);
    /// assert!(ItemView::Range(0..9).len(8).is_err());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn len(&self, numel: u64) -> Result<u64> {
        match self {
            ItemView::Range(r) => {
                if r.start > r.end || r.end > numel {
                    return Err(Error::RangeOutOfBounds {
                        start: r.start,
                        end: r.end,
                        len: numel,
                    });
                }
                Ok(r.end - r.start)
            }
            ItemView::Columns { row_len, cols } => {
                if *row_len == 0 || !numel.is_multiple_of(*row_len) {
                    return Err(Error::InvalidShape {
                        shape: vec![numel],
                        reason: format!(
                            "a row length of {row_len} does not divide the tensor's {numel} elements"
                        ),
                    });
                }
                if cols.start > cols.end || cols.end > *row_len {
                    return Err(Error::InvalidShape {
                        shape: vec![numel / row_len, *row_len],
                        reason: format!(
                            "columns {}..{} are not a block of a row of {row_len}",
                            cols.start, cols.end
                        ),
                    });
                }
                let w = cols.end - cols.start;
                if w > MAX_COLUMNS {
                    return Err(Error::InvalidShape {
                        shape: vec![numel / row_len, *row_len],
                        reason: format!(
                            "a column block of {w} columns is wider than the batched fill's 2^31; \
                             give each row as an ItemView::Range instead"
                        ),
                    });
                }
                Ok(numel / row_len * w)
            }
        }
    }
}

/// One tensor, or a part of one, to fill in a batch
/// ([`GpuContext::record_batch`]).
///
/// ```
/// use weight_init::gpu::{BatchItem, ItemView};
/// use weight_init::{DType, Normal, TensorKey};
/// // The first half of a 1024-element bf16 tensor, at byte 512.
/// let item = BatchItem {
///     dist: Normal::new(0.0, 0.02)?.into(),
///     dtype: DType::BF16,
///     key: TensorKey::new(42, 7, 1024),
///     view: ItemView::Range(0..512),
///     byte_offset: 512,
/// };
/// assert_eq!(item.byte_len()?, 1024);
/// # Ok::<(), weight_init::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItem {
    /// What to sample.
    pub dist: Distribution,
    /// Output element type.
    pub dtype: DType,
    /// Seed, stream and element count of the WHOLE tensor.
    pub key: TensorKey,
    /// Which of its elements, in destination order.
    pub view: ItemView,
    /// Where the first one goes in the destination buffer (a multiple of
    /// the dtype's size).
    pub byte_offset: u64,
}

impl BatchItem {
    /// Bytes the item writes: its view's length times the dtype's size.
    ///
    /// ```
    /// use weight_init::gpu::{BatchItem, ItemView};
    /// use weight_init::{DType, Distribution, TensorKey};
    /// let item = BatchItem {
    ///     dist: Distribution::constant(0.0)?,
    ///     dtype: DType::F16,
    ///     key: TensorKey::new(0, 0, 10),
    ///     view: ItemView::Range(2..5),
    ///     byte_offset: 6,
    /// };
    /// assert_eq!(item.byte_len()?, 6);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn byte_len(&self) -> Result<u64> {
        let n = self.view.len(self.key.numel)?;
        n.checked_mul(self.dtype.size_bytes() as u64)
            .ok_or(Error::BufferTooSmall {
                start: self.byte_offset,
                end: u64::MAX,
                size: 0,
            })
    }
}

/// What [`GpuContext::record_batch`] recorded.
///
/// # How many dispatches
///
/// One per non-empty group (window, phase, kernel), where
/// - a window is a binding window of the destination (at most
///   [`GpuContext::max_window_bytes`], tiled from the first item's byte
///   rounded down to the offset alignment) holding at least one item byte;
/// - the phase is 0, or 1 for an item that shares a 32-bit word with the
///   item just before it in the buffer and uses the same kernel (16-bit
///   items at odd element offsets): the two are written by consecutive
///   dispatches instead of racing on the word;
/// - the kernel is the item's distribution kind and view kind (at most
///   4 x 2 = 8; a model of `Range` items uses at most 4). A dispatch of
///   ranges whose units all start on a Philox block (tensors filled from
///   element 0, and f32 items anywhere) runs a build of the range kernel
///   without the code for units that straddle two blocks
///   ([`BatchView::Blocks`](super::unstable::BatchView::Blocks)); that choice never adds a dispatch.
///
/// So `dispatches <= kernels x windows x phases` ([`BatchReport::bound`]),
/// with phases <= 2. A group takes more than one dispatch only when its
/// descriptors pass one table (a uniform binding: 512 descriptors of 128
/// bytes where uniform bindings reach 64 KiB, as on lavapipe, llvmpipe GL
/// and desktop GPUs) or its workgroups pass one grid (only with a lowered
/// [`super::GpuOptions::max_workgroups_per_dimension`]); the table is then
/// bound in chunks and the report counts every dispatch.
///
/// ```
/// use weight_init::gpu::BatchReport;
/// let mut r = BatchReport::default();
/// (r.dispatches, r.kernels, r.windows, r.phases, r.pieces) = (3, 2, 1, 2, 1000);
/// assert_eq!(r.bound(), 4);
/// assert!(r.dispatches as u64 <= r.bound());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BatchReport {
    /// Compute dispatches recorded.
    pub dispatches: u32,
    /// Distinct kernels (distribution kind and view kind) among the
    /// non-empty items.
    pub kernels: u32,
    /// Binding windows of the destination that hold item bytes.
    pub windows: u32,
    /// 2 where two 16-bit items of the same kernel share a 32-bit word,
    /// else 1 (0 for an empty batch).
    pub phases: u32,
    /// Descriptors written: one per item and window it touches.
    pub pieces: u64,
}

impl BatchReport {
    /// `kernels x windows x phases`: the dispatch count whenever every
    /// group's descriptors fit one table (512) and its workgroups one grid
    /// (see [`BatchReport`]).
    ///
    /// ```
    /// # use weight_init::gpu::BatchReport;
    /// assert_eq!(BatchReport::default().bound(), 0);
    /// ```
    pub fn bound(&self) -> u64 {
        self.kernels as u64 * self.windows as u64 * self.phases as u64
    }
}

/// A descriptor: `Piece` in `shaders/fill_batch.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
struct PieceEntry {
    params: FillParams,
    q_start: u32,
    view: u32,
    cols: u32,
    col0: u32,
    row_base: [u32; 2],
    row_len: [u32; 2],
}

const _: () = assert!(std::mem::size_of::<PieceEntry>() as u64 == PIECE_BYTES);

/// Bytes of a dispatch's uniform: `Batch` in `shaders/fill_batch.wgsl`.
pub(crate) const BATCH_UNIFORM_BYTES: u64 = std::mem::size_of::<BatchUniform>() as u64;

/// A dispatch's uniform: `Batch` in `shaders/fill_batch.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
struct BatchUniform {
    groups: u32,
    group_base: u32,
    groups_x: u32,
    pieces: u32,
}

/// One planned dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DispatchPlan {
    /// The kernel, view and dtypes of its module ([`batch_shader_for`]).
    pipeline: (Kernel, BatchView, BatchDTypes),
    bind_offset: u64,
    bind_size: u64,
    /// First descriptor of the bound table slice, and how many.
    table_start: u64,
    table_len: u64,
    uniform: BatchUniform,
    grid: [u32; 2],
}

/// Everything a batch records, worked out on the CPU.
#[derive(Debug)]
struct Plan {
    entries: Vec<PieceEntry>,
    group_ends: Vec<u32>,
    dispatches: Vec<DispatchPlan>,
    report: BatchReport,
}

/// The device limits a plan honours.
#[derive(Debug, Clone, Copy)]
struct Limits {
    buffer_size: u64,
    usage: wgpu::BufferUsages,
    max_window_bytes: u64,
    max_workgroups: u32,
    /// Storage binding offset alignment (the destination windows).
    alignment: u64,
    /// Uniform binding offset alignment (the descriptor tables).
    uniform_alignment: u64,
    /// Descriptors one dispatch binds: see [`table_len`].
    table_len: u64,
}

/// Descriptors one dispatch binds: as many 128-byte descriptors as a
/// uniform binding holds, at most 512 (64 KiB), a multiple of 4.
pub(crate) fn table_len(limits: &wgpu::Limits) -> u64 {
    (limits.max_uniform_buffer_binding_size / PIECE_BYTES).clamp(4, 512) / 4 * 4
}

/// A checked, non-empty item.
struct Checked {
    index: usize,
    sampler: Sampler,
    kernel: usize,
    size: u64,
    start: u64,
    end: u64,
    phase: u8,
}

/// Batched modules: one per sampler kernel and view.
const PIPELINES: usize = Kernel::ALL.len() * BatchView::ALL.len();

/// The index of the pipeline of `k` and `view`, in `0..PIPELINES`.
fn pipeline_index(k: Kernel, view: BatchView) -> usize {
    let k = Kernel::ALL
        .iter()
        .position(|&x| x == k)
        .expect("a sampler's kernel is one of Kernel::ALL");
    k * BatchView::ALL.len() + view as usize
}

/// The kernel and view of pipeline `i`.
fn pipeline_of(i: usize) -> (Kernel, BatchView) {
    (
        Kernel::ALL[i / BatchView::ALL.len()],
        BatchView::ALL[i % BatchView::ALL.len()],
    )
}

/// Checks every item (nothing is planned unless all are good) and plans
/// the pieces, descriptor table and dispatches.
fn plan(items: &[BatchItem], lim: Limits) -> Result<Plan> {
    if !lim.usage.contains(wgpu::BufferUsages::STORAGE) {
        return Err(Error::BufferUsage {
            have: usage_names(lim.usage),
            missing: "STORAGE",
        });
    }
    let mut checked = Vec::new();
    for (index, it) in items.iter().enumerate() {
        let sampler = Sampler::new(&it.dist, it.dtype)?;
        let size = it.dtype.size_bytes() as u64;
        let n = it.view.len(it.key.numel)?;
        let std::ops::Range { start, end } = super::fill::check_target(
            || format!("items[{index}].byte_offset"),
            || super::fill::tensor_of(it.dtype),
            size,
            it.byte_offset,
            n.checked_mul(size),
            lim.buffer_size,
        )?;
        if n == 0 {
            continue;
        }
        checked.push(Checked {
            index,
            sampler,
            kernel: pipeline_index(
                Kernel::for_sampler(&sampler),
                match it.view {
                    ItemView::Range(_) => BatchView::Range,
                    ItemView::Columns { .. } => BatchView::Columns,
                },
            ),
            size,
            start,
            end,
            phase: 0,
        });
    }
    checked.sort_by_key(|c| (c.start, c.index));
    for i in 1..checked.len() {
        let (a, b) = (&checked[i - 1], &checked[i]);
        if b.start < a.end {
            return Err(Error::InvalidChoice {
                name: "items",
                value: format!(
                    "item {} (bytes {}..{}) and item {} (bytes {}..{})",
                    a.index, a.start, a.end, b.index, b.start, b.end
                ),
                reason: "batch items must not overlap in the destination buffer",
            });
        }
        // Two pieces of one dispatch must not both read-modify-write a
        // word: alternate the phase along a run of items that share words.
        let shares_word = b.start < a.end.div_ceil(4) * 4;
        if shares_word && a.kernel == b.kernel {
            checked[i].phase = 1 - checked[i - 1].phase;
        }
    }
    let (Some(first), Some(_)) = (checked.first(), checked.last()) else {
        return Ok(Plan {
            entries: Vec::new(),
            group_ends: Vec::new(),
            dispatches: Vec::new(),
            report: BatchReport::default(),
        });
    };

    // Windows: tiled from the first item's byte, each at most `cap` bytes;
    // 2^31 keeps every position of a window inside a u32.
    let cap =
        (lim.max_window_bytes.min(1 << 31) / lim.alignment * lim.alignment).max(lim.alignment);
    let w0 = first.start / lim.alignment * lim.alignment;
    // (window, phase, kernel, entry, workgroups); the window's highest end
    // byte.
    let mut pieces: Vec<(u64, u8, usize, PieceEntry, u64)> = Vec::new();
    let mut window_end: std::collections::BTreeMap<u64, u64> = Default::default();
    for c in &checked {
        let it = &items[c.index];
        for k in (c.start - w0) / cap..=(c.end - 1 - w0) / cap {
            let ws = w0 + k * cap;
            let (ps, pe_byte) = (c.start.max(ws), c.end.min(ws + cap));
            let pb = ((ps - ws) / c.size) as u32;
            let pe = ((pe_byte - ws) / c.size) as u32;
            // Item-local index of position pb.
            let l0 = (ps - c.start) / c.size;
            let even = |q: u32| if c.size == 4 { q } else { q & !1 };
            let (q_start, first_index, view, cols, col0, row_base, row_len) = match &it.view {
                ItemView::Range(r) => {
                    let e = r.start + l0;
                    // Units start on a Philox block where the dtype allows
                    // (16-bit units must start on a word).
                    let q_start = even(pb.wrapping_sub((e & 3) as u32));
                    let back = pb.wrapping_sub(q_start) as u64;
                    (q_start, e.wrapping_sub(back), VIEW_RANGE, 0, 0, 0, 0)
                }
                ItemView::Columns { row_len, cols } => {
                    let w = cols.end - cols.start;
                    let row_base = (l0 / w) * row_len + cols.start;
                    (
                        even(pb),
                        0,
                        VIEW_COLUMNS,
                        w as u32,
                        (l0 % w) as u32,
                        row_base,
                        *row_len,
                    )
                }
            };
            let window = Window {
                bind_offset: ws,
                bind_size: 0,
                pos_begin: pb as u64,
                pos_end: pe as u64,
                first_index,
                grid: [0, 0],
            };
            let entry = PieceEntry {
                params: FillParams::new(&c.sampler, &it.key, &window),
                q_start,
                view,
                cols,
                col0,
                row_base: split(row_base),
                row_len: split(row_len),
            };
            let units = (pe.wrapping_sub(q_start) as u64).div_ceil(POSITIONS_PER_INVOCATION);
            pieces.push((k, c.phase, c.kernel, entry, units.div_ceil(WORKGROUP_SIZE)));
            let e = window_end.entry(k).or_insert(0);
            *e = (*e).max(pe_byte);
        }
    }
    // Stable: pieces stay in buffer order inside a group.
    pieces.sort_by_key(|p| (p.0, p.1, p.2));

    let table_cap = lim.table_len as usize;
    let entries_align = (lim.uniform_alignment / 4).max(1);
    let mut entries: Vec<PieceEntry> = Vec::new();
    let mut group_ends: Vec<u32> = Vec::new();
    let mut dispatches = Vec::new();
    let mut kernels_used = [false; PIPELINES];
    let mut phases = 1;
    let mut g = 0;
    while g < pieces.len() {
        let key = (pieces[g].0, pieces[g].1, pieces[g].2);
        let mut h = g;
        while h < pieces.len() && (pieces[h].0, pieces[h].1, pieces[h].2) == key {
            h += 1;
        }
        kernels_used[key.2] = true;
        if key.1 == 1 {
            phases = 2;
        }
        let ws = w0 + key.0 * cap;
        let bind_size = window_end[&key.0].div_ceil(4) * 4 - ws;
        let (kind, view) = pipeline_of(key.2);
        for chunk in pieces[g..h].chunks(table_cap) {
            // Range pieces whose units all start on a Philox block take the
            // kernel without the second block.
            let on_blocks = view == BatchView::Range
                && chunk.iter().all(|p| p.3.params.first_index[0] & 3 == 0);
            // And dispatches of one dtype take the module without the other
            // dtypes' stores (`DTYPES` of kernel_io.wgsl); neither choice
            // adds a dispatch.
            let dtypes = BatchDTypes::of(chunk.iter().map(|p| p.3.params.dtype));
            let view = if on_blocks { BatchView::Blocks } else { view };
            let pipeline = (kind, view, dtypes);
            let table_start = (entries.len() as u64).next_multiple_of(entries_align);
            entries.resize(table_start as usize, bytemuck::Zeroable::zeroed());
            group_ends.resize(table_start as usize, 0);
            let mut total = 0u64;
            for p in chunk {
                total += p.4;
                entries.push(p.3);
                group_ends.push(total as u32);
            }
            for grid in split_grid(total, lim.max_workgroups) {
                dispatches.push(DispatchPlan {
                    pipeline,
                    bind_offset: ws,
                    bind_size,
                    table_start,
                    table_len: chunk.len() as u64,
                    uniform: BatchUniform {
                        groups: grid.count as u32,
                        group_base: grid.first as u32,
                        groups_x: grid.size[0],
                        pieces: chunk.len() as u32,
                    },
                    grid: grid.size,
                });
            }
        }
        g = h;
    }
    // Every binding is a whole table: the last one needs its full length.
    if let Some(last) = dispatches.last() {
        let len = (last.table_start + lim.table_len) as usize;
        entries.resize(len, bytemuck::Zeroable::zeroed());
        group_ends.resize(len, 0);
    }
    let report = BatchReport {
        dispatches: dispatches.len() as u32,
        kernels: kernels_used.iter().filter(|&&u| u).count() as u32,
        windows: window_end.len() as u32,
        phases,
        pieces: pieces.len() as u64,
    };
    Ok(Plan {
        entries,
        group_ends,
        dispatches,
        report,
    })
}

fn split(x: u64) -> [u32; 2] {
    [x as u32, (x >> 32) as u32]
}

impl GpuContext {
    /// Fills every item into `buffer`, submits and waits: the batched
    /// [`Self::fill`]. Each element equals the one [`Self::fill`] writes for
    /// the same `(dist, dtype, key, element index)`; nothing outside the
    /// items' bytes changes.
    ///
    /// Errors: see [`Self::record_batch`], plus device errors caught by
    /// error scopes.
    ///
    /// ```no_run
    /// use weight_init::gpu::{BatchItem, GpuContext, ItemView};
    /// use weight_init::{DType, Distribution, Normal, TensorKey};
    /// use weight_init::wgpu;
    /// let ctx = GpuContext::new_default()?;
    /// let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
    ///     label: None,
    ///     size: 1 << 16,
    ///     usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    ///     mapped_at_creation: false,
    /// });
    /// // A [64, 128] bf16 weight and its [64] f32 bias of ones.
    /// let items = [
    ///     BatchItem {
    ///         dist: Normal::new(0.0, 0.02)?.into(),
    ///         dtype: DType::BF16,
    ///         key: TensorKey::new(42, 1, 64 * 128),
    ///         view: ItemView::Range(0..64 * 128),
    ///         byte_offset: 0,
    ///     },
    ///     BatchItem {
    ///         dist: Distribution::constant(1.0)?,
    ///         dtype: DType::F32,
    ///         key: TensorKey::new(42, 2, 64),
    ///         view: ItemView::Range(0..64),
    ///         byte_offset: 2 * 64 * 128,
    ///     },
    /// ];
    /// let report = ctx.fill_batch(&buf, &items)?;
    /// assert!(report.dispatches as u64 <= report.bound());
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn fill_batch(&self, buffer: &wgpu::Buffer, items: &[BatchItem]) -> Result<BatchReport> {
        let mut report = BatchReport::default();
        self.submit_checked(|enc| {
            report = self.record_batch(enc, buffer, items)?;
            Ok(())
        })?;
        Ok(report)
    }

    /// Records the fill of every item into `encoder` (nothing is submitted,
    /// nothing waits for the device) and reports how many compute
    /// dispatches that took: at most [`BatchReport::bound`] =
    /// `kernels x windows x phases`, however many items (see
    /// [`BatchReport`] for the exact count).
    ///
    /// Items may mix dtypes and distributions, sit at any offset the gpu
    /// module's one alignment rule allows ("Alignment": a multiple of 4 for
    /// f32, any even offset for f16 and bf16; 16-bit items may share a
    /// 32-bit word with a neighbour) and leave gaps, whose bytes keep their
    /// values.
    ///
    /// Errors, before anything is recorded: a buffer without `STORAGE`
    /// usage; an item whose byte offset breaks the rule
    /// ([`Error::Unaligned`] naming `items[i].byte_offset`), whose range
    /// passes its tensor, whose `Columns` row length does
    /// not divide the tensor or whose columns pass the row (or are wider
    /// than 2^31), whose bytes pass the buffer's end, or whose distribution
    /// the dtype cannot represent; two items whose bytes overlap.
    ///
    /// ```no_run
    /// use weight_init::gpu::{BatchItem, GpuContext, ItemView};
    /// use weight_init::{wgpu, DType, Normal, TensorKey};
    /// let ctx = GpuContext::new_default()?;
    /// let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
    ///     label: None,
    ///     size: 64,
    ///     usage: wgpu::BufferUsages::STORAGE,
    ///     mapped_at_creation: false,
    /// });
    /// // Three f16 tensors of 3 elements back to back from byte 2: they share words.
    /// let items: Vec<BatchItem> = (0..3)
    ///     .map(|i| BatchItem {
    ///         dist: Normal::new(0.0, 1.0).unwrap().into(),
    ///         dtype: DType::F16,
    ///         key: TensorKey::new(9, i, 3),
    ///         view: ItemView::Range(0..3),
    ///         byte_offset: 2 + 6 * i,
    ///     })
    ///     .collect();
    /// let mut encoder = ctx.device().create_command_encoder(&Default::default());
    /// let report = ctx.record_batch(&mut encoder, &buf, &items)?;
    /// assert!(report.dispatches as u64 <= report.bound());
    /// ctx.queue().submit([encoder.finish()]);
    /// # Ok::<(), weight_init::Error>(())
    /// ```
    pub fn record_batch(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        items: &[BatchItem],
    ) -> Result<BatchReport> {
        self.scoped("recording the batch", || {
            self.record_batch_unscoped(encoder, buffer, items)
        })
    }

    fn record_batch_unscoped(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        items: &[BatchItem],
    ) -> Result<BatchReport> {
        let plan = plan(
            items,
            Limits {
                buffer_size: buffer.size(),
                usage: buffer.usage(),
                max_window_bytes: self.max_window_bytes,
                max_workgroups: self.max_workgroups,
                alignment: self.offset_alignment,
                uniform_alignment: self.device.limits().min_uniform_buffer_offset_alignment as u64,
                table_len: table_len(&self.device.limits()),
            },
        )?;
        if plan.dispatches.is_empty() {
            return Ok(plan.report);
        }
        let table_len = self.module_options.table_len as u64;
        let mut pipelines = Vec::with_capacity(plan.dispatches.len());
        for d in &plan.dispatches {
            let (kernel, view, dtypes) = d.pipeline;
            let shader = batch_shader_for(kernel, view, dtypes).ok_or_else(|| Error::Gpu {
                message: format!("{} has no batched kernel", kernel.file_name()),
            })?;
            pipelines.push(self.pipeline(shader)?);
        }
        let table = self.uniform(
            "weight-init batch pieces",
            bytemuck::cast_slice(&plan.entries),
        );
        let ends = self.uniform(
            "weight-init batch group ends",
            bytemuck::cast_slice(&plan.group_ends),
        );
        let slot = (self.device.limits().min_uniform_buffer_offset_alignment as u64)
            .max(BATCH_UNIFORM_BYTES);
        let mut uniforms = vec![0u8; (slot * plan.dispatches.len() as u64) as usize];
        for (i, d) in plan.dispatches.iter().enumerate() {
            let at = i * slot as usize;
            uniforms[at..at + BATCH_UNIFORM_BYTES as usize]
                .copy_from_slice(bytemuck::bytes_of(&d.uniform));
        }
        let uniform = self.uniform("weight-init batch dispatches", &uniforms);
        let dispatches: Vec<_> = plan
            .dispatches
            .iter()
            .zip(&pipelines)
            .enumerate()
            .map(|(i, (d, pipeline))| {
                let bindings = [
                    slice(buffer, d.bind_offset, Some(d.bind_size)),
                    slice(
                        &table,
                        d.table_start * PIECE_BYTES,
                        Some(table_len * PIECE_BYTES),
                    ),
                    slice(&ends, d.table_start * 4, Some(table_len * 4)),
                    slice(&uniform, i as u64 * slot, Some(BATCH_UNIFORM_BYTES)),
                ];
                self.dispatch(pipeline, bindings, d.grid)
            })
            .collect();
        record(encoder, "weight-init batch", &dispatches);
        Ok(plan.report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Normal;

    fn limits(buffer_size: u64) -> Limits {
        Limits {
            buffer_size,
            usage: wgpu::BufferUsages::STORAGE,
            max_window_bytes: 1 << 20,
            max_workgroups: 65535,
            alignment: 256,
            uniform_alignment: 256,
            table_len: 512,
        }
    }

    fn item(dtype: DType, byte_offset: u64, n: u64) -> BatchItem {
        BatchItem {
            dist: Normal::new(0.0, 1.0).unwrap().into(),
            dtype,
            key: TensorKey::new(1, byte_offset, n + 5),
            view: ItemView::Range(5..n + 5),
            byte_offset,
        }
    }

    /// Every position of every item lies in exactly one unit of one piece,
    /// and units start where the shader expects them.
    #[test]
    fn units_cover_every_position_once() {
        let items = vec![
            item(DType::F32, 0, 1000),
            item(DType::BF16, 4000, 333),
            item(DType::F16, 4666, 1),
            item(DType::F16, 4668, 3000),
        ];
        // Small windows (items cut into pieces), then one window with
        // one-workgroup grids (groups split by units).
        for (max_window_bytes, max_workgroups) in [(1024, 2), (1 << 16, 1)] {
            let lim = Limits {
                max_window_bytes,
                max_workgroups,
                ..limits(1 << 16)
            };
            let p = plan(&items, lim).unwrap();
            let mut covered = std::collections::HashSet::new();
            for d in &p.dispatches {
                let table = d.table_start as usize..(d.table_start + d.table_len) as usize;
                let ends = &p.group_ends[table.clone()];
                let base = d.uniform.group_base;
                for g in base..base + d.uniform.groups {
                    let i = ends.partition_point(|&e| e <= g);
                    let begin = if i == 0 { 0 } else { ends[i - 1] };
                    let e = &p.entries[table.start + i];
                    let size = if e.params.dtype == 0 { 4 } else { 2 };
                    if size == 2 {
                        assert_eq!(e.q_start % 2, 0, "16-bit units start on a word");
                    }
                    for lid in 0..WORKGROUP_SIZE as u32 {
                        let unit = (g - begin) * WORKGROUP_SIZE as u32 + lid;
                        for k in 0..4 {
                            let q = e.q_start.wrapping_add(4 * unit + k);
                            if e.params.pos_begin <= q && q < e.params.pos_end {
                                let byte = d.bind_offset + q as u64 * size;
                                assert!(byte + size <= d.bind_offset + d.bind_size);
                                assert!(covered.insert(byte), "byte {byte} twice");
                            }
                        }
                    }
                }
            }
            let want: u64 = items
                .iter()
                .map(|i| i.byte_len().unwrap() / i.dtype.size_bytes() as u64)
                .sum();
            assert_eq!(covered.len() as u64, want);
            // The 1-element f16 at byte 4666 shares the word at 4664 with
            // the bf16 before it, and both are normal: two phases.
            assert_eq!(p.report.phases, 2);
            assert_eq!(p.report.kernels, 1);
            if max_workgroups == 1 {
                assert_eq!(p.report.windows, 1);
                assert!(
                    p.dispatches.len() as u64 > p.report.bound(),
                    "grids split groups"
                );
            } else {
                assert!(p.dispatches.len() as u64 <= p.report.bound());
            }
        }
    }

    #[test]
    fn table_chunks_are_aligned_and_bounded() {
        let items: Vec<_> = (0..100).map(|i| item(DType::F32, 64 * i, 16)).collect();
        let lim = Limits {
            max_window_bytes: 1024,
            table_len: 8,
            ..limits(1 << 16)
        };
        let p = plan(&items, lim).unwrap();
        for d in &p.dispatches {
            assert_eq!(d.table_start % 64, 0);
            assert!(d.table_len <= 8);
            assert!(p.entries.len() as u64 >= d.table_start + 8);
            assert!(d.bind_size <= 1024 && d.bind_offset % 256 == 0);
        }
        assert_eq!(p.report.windows, 7);
        // 16 pieces a window, 8 descriptors a table: 6 x 2 + 1.
        assert_eq!(p.report.dispatches, 13);
    }
}
