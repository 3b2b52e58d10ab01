//! The shader table: every WGSL module the backend builds, which files under
//! `shaders/` make it up and in which order, its bindings and its
//! specialisation. This is the one place that says how a module is
//! composed; the WGSL files' headers point here.
//!
//! A module is the concatenation of its [`Part`]s. WGSL declarations at
//! module scope may come in any order, so a file uses what another file of
//! its module declares (`philox.wgsl`'s `mul` reads `p.fence`, whatever
//! declares `p`). Two ways to specialise a module, both here:
//! - a scalar is a WGSL `override` constant, set per pipeline
//!   ([`Shader::constants`], e.g. `ANY_LANE` of `fill_batch_range.wgsl`);
//! - a value that changes the source (an array size: the batched kernels'
//!   `TABLE_LEN`) is a generated `const` prelude ([`Part::TableLen`]) that
//!   the assembler prepends; the WGSL file does not declare it.
//!
//! The pieces every fill module shares: one of `mulhilo_int64.wgsl` and
//! `mulhilo_emulated.wgsl` ([`MulHiLo`]), `philox.wgsl` (the generator and
//! transforms, twin of [`crate::kernel`]) and
//! `kernel_io.wgsl` (the kernel interface: `Params`, the output binding,
//! indexing, `finish`, stores). Then:
//! - the structured kernels and the single-tensor constant fill
//!   ([`single_constant_shader`]) read their parameters from a uniform
//!   (`kernel_uniform.wgsl`);
//! - the batched kernels ([`batch_shader`]), which also serve single-tensor
//!   fills of the random kinds (a one-item batch), load them per piece into a private
//!   variable (`fill_batch.wgsl`), then take one view's entry point
//!   (`fill_batch_range.wgsl`, `fill_batch_columns.wgsl`) and one kind's
//!   `block_values` (`fill_batch_random.wgsl` on the kind's
//!   `fill_<kind>.wgsl`, or `fill_batch_constant.wgsl`).

use crate::sampler::{Sampler, SamplerKind};

/// How the kernels form the 64-bit product of two words. Both give the
/// same words; the emulated one runs everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MulHiLo {
    /// `shaders/mulhilo_int64.wgsl`: `u64` arithmetic (`SHADER_INT64`).
    Int64,
    /// `shaders/mulhilo_emulated.wgsl`: four 16x16-bit products.
    Emulated,
}

/// What an assembled module's text depends on besides the table: facts of
/// the device it is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModuleOptions {
    /// Which multiply [`Part::MulHiLo`] stands for.
    pub mulhilo: MulHiLo,
    /// The batched kernels' descriptor count ([`Part::TableLen`]): a
    /// multiple of 4, at most 512 (the uniform binding is `128 * table_len`
    /// bytes).
    pub table_len: u32,
}

/// One piece of an assembled module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `mulhilo_int64.wgsl` or `mulhilo_emulated.wgsl`, by
    /// [`ModuleOptions::mulhilo`].
    MulHiLo,
    /// The generated prelude `const TABLE_LEN: u32 = <n>u;`, `n` =
    /// [`ModuleOptions::table_len`].
    TableLen,
    /// A file under `shaders/`: its name and its text.
    File(&'static str, &'static str),
}

/// The bind-group layout a module's pipeline takes (binding 0 is always the
/// output, a read-write storage buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bindings {
    /// The fill parameters ([`FillParams`](super::unstable::FillParams)) in a uniform (1), the
    /// [`StructureParams`](super::unstable::StructureParams) uniform (2) and an auxiliary storage
    /// buffer (3).
    Structured,
    /// The batched fill: descriptor table (1), group ends (2) and the
    /// dispatch's uniform (3), see `src/gpu/batch.rs`.
    Batch,
    /// A single-tensor fill: the fill parameters ([`FillParams`](super::unstable::FillParams)) in
    /// a uniform (1).
    Fill,
    /// The layout wgpu derives from the module (the diagnostic's kernels).
    Auto,
}

/// A module of the table: how it is assembled and built.
#[derive(Debug)]
pub struct Shader {
    /// Unique name: the pipeline's label and cache key.
    pub name: &'static str,
    /// The parts, in order, in groups.
    pub parts: &'static [&'static [Part]],
    /// Its pipeline's bindings.
    pub bindings: Bindings,
    /// Values of the module's `override` constants for this pipeline.
    pub constants: &'static [(&'static str, f64)],
}

impl Shader {
    /// The module's WGSL source for a device with `options`.
    ///
    /// ```
    /// use weight_init::gpu::unstable::{Kernel, ModuleOptions, MulHiLo};
    /// let options = ModuleOptions { mulhilo: MulHiLo::Emulated, table_len: 128 };
    /// let src = Kernel::Normal.shader().source(options);
    /// assert!(src.contains("fn box_muller"));
    /// ```
    pub fn source(&self, options: ModuleOptions) -> String {
        self.parts
            .iter()
            .flat_map(|group| group.iter())
            .map(|part| match *part {
                Part::MulHiLo => match options.mulhilo {
                    MulHiLo::Int64 => include_str!("../../shaders/mulhilo_int64.wgsl").into(),
                    MulHiLo::Emulated => include_str!("../../shaders/mulhilo_emulated.wgsl").into(),
                },
                Part::TableLen => format!(
                    "// Generated by the host (src/gpu/shaders.rs, Part::TableLen).\n\
                     const TABLE_LEN: u32 = {}u;\n",
                    options.table_len
                ),
                Part::File(_, text) => text.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The names of the files under `shaders/` the module is built from, in
    /// order (the multiply and the generated prelude aside).
    pub fn files(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.parts
            .iter()
            .flat_map(|group| group.iter())
            .filter_map(|part| match part {
                Part::File(name, _) => Some(*name),
                _ => None,
            })
    }
}

/// A file of `shaders/` as a [`Part`].
macro_rules! wgsl {
    ($name:literal) => {
        Part::File($name, include_str!(concat!("../../shaders/", $name)))
    };
}

/// Generator, transforms and kernel interface: the start of every fill
/// module.
const BASE: &[Part] = &[Part::MulHiLo, wgsl!("philox.wgsl"), wgsl!("kernel_io.wgsl")];
/// The fill parameters in a uniform.
const UNIFORM: &[Part] = &[wgsl!("kernel_uniform.wgsl")];
/// The structured kernels' shared code and bindings.
const STRUCTURED: &[Part] = &[wgsl!("structured.wgsl")];
/// The batched kernels' interface (the table prelude first).
const BATCH: &[Part] = &[Part::TableLen, wgsl!("fill_batch.wgsl")];
const RANGE: &[Part] = &[wgsl!("fill_batch_range.wgsl")];
const COLUMNS: &[Part] = &[wgsl!("fill_batch_columns.wgsl")];
const BATCH_RANDOM: &[Part] = &[wgsl!("fill_batch_random.wgsl")];
const BATCH_CONSTANT: &[Part] = &[wgsl!("fill_batch_constant.wgsl")];
const UNIFORM_KIND: &[Part] = &[wgsl!("fill_uniform.wgsl")];
const NORMAL_KIND: &[Part] = &[wgsl!("fill_normal.wgsl")];
const TRUNCATED_KIND: &[Part] = &[wgsl!("fill_truncated_normal.wgsl")];
/// The batched modules' pipeline constants, by [`BatchView`] (`ANY_LANE`
/// of `fill_batch_range.wgsl`: `false` for [`BatchView::Blocks`]) and by
/// `BatchDTypes` (`DTYPES` of `kernel_io.wgsl`), in `BatchDTypes::ALL`
/// order within each view.
const BLOCKS_ANY: &[(&str, f64)] = &[("ANY_LANE", 0.0)];
const BLOCKS_F32: &[(&str, f64)] = &[("ANY_LANE", 0.0), ("DTYPES", 1.0)];
const BLOCKS_F16: &[(&str, f64)] = &[("ANY_LANE", 0.0), ("DTYPES", 2.0)];
const BLOCKS_BF16: &[(&str, f64)] = &[("ANY_LANE", 0.0), ("DTYPES", 3.0)];
const OTHER_ANY: &[(&str, f64)] = &[];
const OTHER_F32: &[(&str, f64)] = &[("DTYPES", 1.0)];
const OTHER_F16: &[(&str, f64)] = &[("DTYPES", 2.0)];
const OTHER_BF16: &[(&str, f64)] = &[("DTYPES", 3.0)];

const fn structured(name: &'static str, parts: &'static [&'static [Part]]) -> Shader {
    Shader {
        name,
        parts,
        bindings: Bindings::Structured,
        constants: &[],
    }
}

const fn batch(
    name: &'static str,
    parts: &'static [&'static [Part]],
    constants: &'static [(&'static str, f64)],
) -> Shader {
    Shader {
        name,
        parts,
        bindings: Bindings::Batch,
        constants,
    }
}

/// Every module of the backend: the structured kernels (in [`Kernel`]
/// order), then the batched kernels, for each kind of [`Kernel::ALL`] and
/// each [`BatchView`] (in [`BatchView::ALL`] order) one per output dtype
/// class (any, f32, f16, bf16: the `DTYPES` constant of `kernel_io.wgsl`),
/// then the single-tensor constant fill ([`single_constant_shader`]). A single-tensor fill of any
/// other kind is a one-item batch, so the batched modules serve it too.
#[rustfmt::skip]
pub static SHADERS: [Shader; 51] = [
    structured("fill_structured.wgsl", &[BASE, UNIFORM, STRUCTURED, NORMAL_KIND, &[wgsl!("fill_structured.wgsl")]]),
    structured("sparse_thresholds.wgsl", &[BASE, UNIFORM, STRUCTURED, &[wgsl!("sparse_thresholds.wgsl")]]),
    batch("batch blocks constant", &[BASE, BATCH, RANGE, BATCH_CONSTANT], BLOCKS_ANY),
    batch("batch blocks constant f32", &[BASE, BATCH, RANGE, BATCH_CONSTANT], BLOCKS_F32),
    batch("batch blocks constant f16", &[BASE, BATCH, RANGE, BATCH_CONSTANT], BLOCKS_F16),
    batch("batch blocks constant bf16", &[BASE, BATCH, RANGE, BATCH_CONSTANT], BLOCKS_BF16),
    batch("batch range constant", &[BASE, BATCH, RANGE, BATCH_CONSTANT], OTHER_ANY),
    batch("batch range constant f32", &[BASE, BATCH, RANGE, BATCH_CONSTANT], OTHER_F32),
    batch("batch range constant f16", &[BASE, BATCH, RANGE, BATCH_CONSTANT], OTHER_F16),
    batch("batch range constant bf16", &[BASE, BATCH, RANGE, BATCH_CONSTANT], OTHER_BF16),
    batch("batch columns constant", &[BASE, BATCH, COLUMNS, BATCH_CONSTANT], OTHER_ANY),
    batch("batch columns constant f32", &[BASE, BATCH, COLUMNS, BATCH_CONSTANT], OTHER_F32),
    batch("batch columns constant f16", &[BASE, BATCH, COLUMNS, BATCH_CONSTANT], OTHER_F16),
    batch("batch columns constant bf16", &[BASE, BATCH, COLUMNS, BATCH_CONSTANT], OTHER_BF16),
    batch("batch blocks uniform", &[BASE, BATCH, RANGE, BATCH_RANDOM, UNIFORM_KIND], BLOCKS_ANY),
    batch("batch blocks uniform f32", &[BASE, BATCH, RANGE, BATCH_RANDOM, UNIFORM_KIND], BLOCKS_F32),
    batch("batch blocks uniform f16", &[BASE, BATCH, RANGE, BATCH_RANDOM, UNIFORM_KIND], BLOCKS_F16),
    batch("batch blocks uniform bf16", &[BASE, BATCH, RANGE, BATCH_RANDOM, UNIFORM_KIND], BLOCKS_BF16),
    batch("batch range uniform", &[BASE, BATCH, RANGE, BATCH_RANDOM, UNIFORM_KIND], OTHER_ANY),
    batch("batch range uniform f32", &[BASE, BATCH, RANGE, BATCH_RANDOM, UNIFORM_KIND], OTHER_F32),
    batch("batch range uniform f16", &[BASE, BATCH, RANGE, BATCH_RANDOM, UNIFORM_KIND], OTHER_F16),
    batch("batch range uniform bf16", &[BASE, BATCH, RANGE, BATCH_RANDOM, UNIFORM_KIND], OTHER_BF16),
    batch("batch columns uniform", &[BASE, BATCH, COLUMNS, BATCH_RANDOM, UNIFORM_KIND], OTHER_ANY),
    batch("batch columns uniform f32", &[BASE, BATCH, COLUMNS, BATCH_RANDOM, UNIFORM_KIND], OTHER_F32),
    batch("batch columns uniform f16", &[BASE, BATCH, COLUMNS, BATCH_RANDOM, UNIFORM_KIND], OTHER_F16),
    batch("batch columns uniform bf16", &[BASE, BATCH, COLUMNS, BATCH_RANDOM, UNIFORM_KIND], OTHER_BF16),
    batch("batch blocks normal", &[BASE, BATCH, RANGE, BATCH_RANDOM, NORMAL_KIND], BLOCKS_ANY),
    batch("batch blocks normal f32", &[BASE, BATCH, RANGE, BATCH_RANDOM, NORMAL_KIND], BLOCKS_F32),
    batch("batch blocks normal f16", &[BASE, BATCH, RANGE, BATCH_RANDOM, NORMAL_KIND], BLOCKS_F16),
    batch("batch blocks normal bf16", &[BASE, BATCH, RANGE, BATCH_RANDOM, NORMAL_KIND], BLOCKS_BF16),
    batch("batch range normal", &[BASE, BATCH, RANGE, BATCH_RANDOM, NORMAL_KIND], OTHER_ANY),
    batch("batch range normal f32", &[BASE, BATCH, RANGE, BATCH_RANDOM, NORMAL_KIND], OTHER_F32),
    batch("batch range normal f16", &[BASE, BATCH, RANGE, BATCH_RANDOM, NORMAL_KIND], OTHER_F16),
    batch("batch range normal bf16", &[BASE, BATCH, RANGE, BATCH_RANDOM, NORMAL_KIND], OTHER_BF16),
    batch("batch columns normal", &[BASE, BATCH, COLUMNS, BATCH_RANDOM, NORMAL_KIND], OTHER_ANY),
    batch("batch columns normal f32", &[BASE, BATCH, COLUMNS, BATCH_RANDOM, NORMAL_KIND], OTHER_F32),
    batch("batch columns normal f16", &[BASE, BATCH, COLUMNS, BATCH_RANDOM, NORMAL_KIND], OTHER_F16),
    batch("batch columns normal bf16", &[BASE, BATCH, COLUMNS, BATCH_RANDOM, NORMAL_KIND], OTHER_BF16),
    batch("batch blocks truncated normal", &[BASE, BATCH, RANGE, BATCH_RANDOM, TRUNCATED_KIND], BLOCKS_ANY),
    batch("batch blocks truncated normal f32", &[BASE, BATCH, RANGE, BATCH_RANDOM, TRUNCATED_KIND], BLOCKS_F32),
    batch("batch blocks truncated normal f16", &[BASE, BATCH, RANGE, BATCH_RANDOM, TRUNCATED_KIND], BLOCKS_F16),
    batch("batch blocks truncated normal bf16", &[BASE, BATCH, RANGE, BATCH_RANDOM, TRUNCATED_KIND], BLOCKS_BF16),
    batch("batch range truncated normal", &[BASE, BATCH, RANGE, BATCH_RANDOM, TRUNCATED_KIND], OTHER_ANY),
    batch("batch range truncated normal f32", &[BASE, BATCH, RANGE, BATCH_RANDOM, TRUNCATED_KIND], OTHER_F32),
    batch("batch range truncated normal f16", &[BASE, BATCH, RANGE, BATCH_RANDOM, TRUNCATED_KIND], OTHER_F16),
    batch("batch range truncated normal bf16", &[BASE, BATCH, RANGE, BATCH_RANDOM, TRUNCATED_KIND], OTHER_BF16),
    batch("batch columns truncated normal", &[BASE, BATCH, COLUMNS, BATCH_RANDOM, TRUNCATED_KIND], OTHER_ANY),
    batch("batch columns truncated normal f32", &[BASE, BATCH, COLUMNS, BATCH_RANDOM, TRUNCATED_KIND], OTHER_F32),
    batch("batch columns truncated normal f16", &[BASE, BATCH, COLUMNS, BATCH_RANDOM, TRUNCATED_KIND], OTHER_F16),
    batch("batch columns truncated normal bf16", &[BASE, BATCH, COLUMNS, BATCH_RANDOM, TRUNCATED_KIND], OTHER_BF16),
    Shader { name: "fill_constant.wgsl", parts: &[BASE, UNIFORM, &[wgsl!("fill_constant.wgsl")]], bindings: Bindings::Fill, constants: &[] },
];

/// The module of a single-tensor constant fill (`fill_constant.wgsl`, the
/// parameters in a uniform), the one single-tensor fill that is not a
/// one-item batch. Measured on lavapipe (`weight-init bench --size 64MiB
/// --scheme zeros`, medians of interleaved runs): as a one-item batch a
/// zeros fill took 1.20-1.29x the time of this kernel, f32 and bf16, the
/// batch's piece lookup and private parameter copy weighing on a plain
/// store; the random kinds measured 0.59-0.92x as one-item batches.
///
/// ```
/// use weight_init::gpu::unstable::{single_constant_shader, ModuleOptions, MulHiLo};
/// let options = ModuleOptions { mulhilo: MulHiLo::Emulated, table_len: 128 };
/// assert!(single_constant_shader().source(options).contains("var<uniform> p: Params;"));
/// ```
pub fn single_constant_shader() -> &'static Shader {
    &SHADERS[FIRST_BATCH + Kernel::ALL.len() * BatchView::ALL.len() * BatchDTypes::ALL.len()]
}

/// Where the batched modules start in [`SHADERS`].
const FIRST_BATCH: usize = Kernel::STRUCTURED.len();

/// A fill kernel: a distribution kind (whose modules are the batched ones,
/// [`batch_shader`]) or a structured kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Constant, zeros, ones: no generator (`fill_batch_constant.wgsl`).
    Constant,
    /// `fill_uniform.wgsl`.
    Uniform,
    /// `fill_normal.wgsl`.
    Normal,
    /// `fill_truncated_normal.wgsl`.
    TruncatedNormal,
    /// `fill_structured.wgsl`: eye, identity, dirac, sparse values and
    /// uploaded orthogonal values (on `structured.wgsl`; not in [`Kernel::ALL`]).
    FillStructured,
    /// `sparse_thresholds.wgsl`: the per-input zero thresholds of sparse
    /// (on `structured.wgsl`; not in [`Kernel::ALL`]).
    SparseThresholds,
}

impl Kernel {
    /// The distribution kinds (their modules: [`batch_shader`]).
    pub const ALL: [Kernel; 4] = [
        Kernel::Constant,
        Kernel::Uniform,
        Kernel::Normal,
        Kernel::TruncatedNormal,
    ];

    /// The structured kernels, which take two more bindings (see
    /// `shaders/structured.wgsl`) and have their own pipeline layout.
    pub const STRUCTURED: [Kernel; 2] = [Kernel::FillStructured, Kernel::SparseThresholds];

    /// The kernel that runs a sampler.
    pub fn for_sampler(s: &Sampler) -> Kernel {
        match s.kind {
            SamplerKind::Constant => Kernel::Constant,
            SamplerKind::Uniform => Kernel::Uniform,
            SamplerKind::Normal => Kernel::Normal,
            SamplerKind::TruncatedNormal(_) => Kernel::TruncatedNormal,
        }
    }

    /// The module that fills contiguous element ranges with this kernel:
    /// the batched range module of a distribution kind (a single-tensor
    /// fill is a one-item batch), the own module of a structured kernel.
    pub fn shader(self) -> &'static Shader {
        match self {
            Kernel::FillStructured => &SHADERS[0],
            Kernel::SparseThresholds => &SHADERS[1],
            _ => batch_shader(self, BatchView::Range).expect("a distribution kind"),
        }
    }

    /// The kernel's own file under `shaders/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Kernel::Constant => "fill_batch_constant.wgsl",
            Kernel::Uniform => "fill_uniform.wgsl",
            Kernel::Normal => "fill_normal.wgsl",
            Kernel::TruncatedNormal => "fill_truncated_normal.wgsl",
            Kernel::FillStructured => "fill_structured.wgsl",
            Kernel::SparseThresholds => "sparse_thresholds.wgsl",
        }
    }
}

/// Which item view a batched-fill kernel (`src/gpu/batch.rs`) fills: its
/// entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchView {
    /// `fill_batch_range.wgsl` built for contiguous element ranges whose
    /// units all start on a Philox block (one block per four elements):
    /// `ANY_LANE` = `false`.
    Blocks,
    /// `fill_batch_range.wgsl`: contiguous element ranges.
    Range,
    /// `fill_batch_columns.wgsl`: column blocks of a 2-D view.
    Columns,
}

impl BatchView {
    /// Every view.
    pub const ALL: [BatchView; 3] = [BatchView::Blocks, BatchView::Range, BatchView::Columns];
}

/// Which output dtypes a batched module serves: its `DTYPES` pipeline
/// constant (`kernel_io.wgsl`). SIMD implementations (lavapipe) run every
/// arm of the store's dtype branches under a mask for every unit, so a
/// dispatch whose pieces all have one dtype takes a module compiled with
/// the other dtypes' arms removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchDTypes {
    /// Any mix of dtypes, chosen per piece at run time (`DTYPES` = 0).
    Any,
    /// f32 pieces only (`DTYPES` = 1).
    F32,
    /// f16 pieces only (`DTYPES` = 2).
    F16,
    /// bf16 pieces only (`DTYPES` = 3).
    BF16,
}

impl BatchDTypes {
    /// Every class, in the order of [`SHADERS`].
    pub const ALL: [BatchDTypes; 4] = [
        BatchDTypes::Any,
        BatchDTypes::F32,
        BatchDTypes::F16,
        BatchDTypes::BF16,
    ];

    /// The class of a dispatch whose pieces have these `Params.dtype`
    /// codes (0 f32, 1 f16, 2 bf16): the one dtype they share, else `Any`.
    pub(crate) fn of(mut codes: impl Iterator<Item = u32>) -> BatchDTypes {
        let Some(first) = codes.next() else {
            return BatchDTypes::Any;
        };
        if !codes.all(|c| c == first) {
            return BatchDTypes::Any;
        }
        match first {
            0 => BatchDTypes::F32,
            1 => BatchDTypes::F16,
            2 => BatchDTypes::BF16,
            _ => BatchDTypes::Any,
        }
    }
}

/// The batched module of one of the sampler kernels of [`Kernel::ALL`] and
/// one view, for any dtype; `None` for the structured kernels.
///
/// ```
/// use weight_init::gpu::unstable::{batch_shader, BatchView, Kernel, ModuleOptions, MulHiLo};
/// let options = ModuleOptions { mulhilo: MulHiLo::Emulated, table_len: 128 };
/// let src = batch_shader(Kernel::Normal, BatchView::Range).unwrap().source(options);
/// assert!(src.contains("var<private> p: Params;"));
/// assert!(src.contains("const TABLE_LEN: u32 = 128u;"));
/// assert!(batch_shader(Kernel::FillStructured, BatchView::Range).is_none());
/// ```
pub fn batch_shader(kernel: Kernel, view: BatchView) -> Option<&'static Shader> {
    batch_shader_for(kernel, view, BatchDTypes::Any)
}

/// [`batch_shader`] for the dispatches whose pieces' dtypes are all of
/// `dtypes`.
pub(crate) fn batch_shader_for(
    kernel: Kernel,
    view: BatchView,
    dtypes: BatchDTypes,
) -> Option<&'static Shader> {
    let k = Kernel::ALL.iter().position(|&x| x == kernel)?;
    let per_kind = BatchView::ALL.len() * BatchDTypes::ALL.len();
    Some(
        &SHADERS
            [FIRST_BATCH + k * per_kind + view as usize * BatchDTypes::ALL.len() + dtypes as usize],
    )
}
