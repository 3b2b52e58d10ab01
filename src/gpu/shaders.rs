//! The WGSL sources and how a pipeline's module is put together.

use crate::sampler::{Sampler, SamplerKind};

/// A fill kernel: one WGSL file under `shaders/`, one pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `fill_constant.wgsl`: no generator.
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
    /// Every kernel.
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

    /// The kernel's file name under `shaders/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Kernel::Constant => "fill_constant.wgsl",
            Kernel::Uniform => "fill_uniform.wgsl",
            Kernel::Normal => "fill_normal.wgsl",
            Kernel::TruncatedNormal => "fill_truncated_normal.wgsl",
            Kernel::FillStructured => "fill_structured.wgsl",
            Kernel::SparseThresholds => "sparse_thresholds.wgsl",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Kernel::Constant => include_str!("../../shaders/fill_constant.wgsl"),
            Kernel::Uniform => include_str!("../../shaders/fill_uniform.wgsl"),
            Kernel::Normal => include_str!("../../shaders/fill_normal.wgsl"),
            Kernel::TruncatedNormal => include_str!("../../shaders/fill_truncated_normal.wgsl"),
            Kernel::FillStructured => include_str!("../../shaders/fill_structured.wgsl"),
            Kernel::SparseThresholds => include_str!("../../shaders/sparse_thresholds.wgsl"),
        }
    }
}

/// How the kernels form the 64-bit product of two words. Both give the
/// same words; the emulated one runs everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MulHiLo {
    /// `shaders/mulhilo_int64.wgsl`: `u64` arithmetic (`SHADER_INT64`).
    Int64,
    /// `shaders/mulhilo_emulated.wgsl`: four 16x16-bit products.
    Emulated,
}

impl MulHiLo {
    fn source(self) -> &'static str {
        match self {
            MulHiLo::Int64 => include_str!("../../shaders/mulhilo_int64.wgsl"),
            MulHiLo::Emulated => include_str!("../../shaders/mulhilo_emulated.wgsl"),
        }
    }
}

/// The WGSL module of a kernel: the multiply, the shared generator and
/// transforms (`philox.wgsl`), the entry point shared by the random kernels
/// (`fill_random.wgsl`, not for the constant kernel; the structured kernels
/// take `structured.wgsl` instead), then the kernel.
///
/// ```
/// use weight_init::gpu::{shader_source, Kernel, MulHiLo};
/// let src = shader_source(Kernel::Normal, MulHiLo::Emulated);
/// assert!(src.contains("fn box_muller"));
/// ```
pub fn shader_source(kernel: Kernel, mulhilo: MulHiLo) -> String {
    let entry = match kernel {
        Kernel::Constant => "",
        Kernel::FillStructured | Kernel::SparseThresholds => {
            include_str!("../../shaders/structured.wgsl")
        }
        _ => include_str!("../../shaders/fill_random.wgsl"),
    };
    [
        mulhilo.source(),
        include_str!("../../shaders/philox.wgsl"),
        entry,
        kernel.source(),
    ]
    .join("\n")
}

/// The declaration of the single-tensor kernels' uniform in `philox.wgsl`,
/// which the batched kernels turn into a private variable (each invocation
/// loads its piece's parameters into it).
const PARAMS_UNIFORM: &str = "@group(0) @binding(1) var<uniform> p: Params;";

/// Which item view a batched-fill kernel (`src/gpu/batch.rs`) fills: its
/// entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchView {
    /// `fill_batch_range.wgsl` built for contiguous element ranges whose
    /// units all start on a Philox block (one block per four elements).
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

/// The declaration in `fill_batch_range.wgsl` that [`BatchView::Blocks`]
/// turns to `false`.
const ANY_LANE: &str = "const ANY_LANE: bool = true;";

/// The declaration of the batched kernels' descriptor count in
/// `fill_batch.wgsl`, which [`batch_shader_source`] replaces.
const TABLE_LEN: &str = "const TABLE_LEN: u32 = 512u;";

/// The WGSL module of a batched-fill kernel (`src/gpu/batch.rs`) for one of
/// the sampler kinds of [`Kernel::ALL`] and one item view, whose descriptor
/// tables hold `table_len` pieces (a multiple of 4; the uniform binding is
/// `128 * table_len` bytes); `None` for the structured kernels.
///
/// It is [`shader_source`]'s module with two changes: `philox.wgsl`'s
/// uniform `p` becomes a `var<private>` that every invocation fills from
/// its piece's descriptor (`fill_batch.wgsl`), and the entry point is the
/// view's (`fill_batch_range.wgsl`, `fill_batch_columns.wgsl`), which calls
/// `block_values` from `fill_batch_random.wgsl` (on the kernel's own
/// `sample_block`) or `fill_batch_constant.wgsl`. The generator, the
/// transforms, `finish` and the stores are the very same text as in the
/// single-tensor kernels.
///
/// ```
/// use weight_init::gpu::{batch_shader_source, BatchView, Kernel, MulHiLo};
/// let src = batch_shader_source(Kernel::Normal, BatchView::Range, MulHiLo::Emulated, 128).unwrap();
/// assert!(src.contains("var<private> p: Params;"));
/// assert!(src.contains("const TABLE_LEN: u32 = 128u;"));
/// let none = batch_shader_source(Kernel::FillStructured, BatchView::Range, MulHiLo::Emulated, 128);
/// assert!(none.is_none());
/// ```
pub fn batch_shader_source(
    kernel: Kernel,
    view: BatchView,
    mulhilo: MulHiLo,
    table_len: u32,
) -> Option<String> {
    let philox = include_str!("../../shaders/philox.wgsl");
    debug_assert!(philox.contains(PARAMS_UNIFORM));
    let philox = philox.replacen(PARAMS_UNIFORM, "var<private> p: Params;", 1);
    let range = include_str!("../../shaders/fill_batch_range.wgsl");
    let entry = match view {
        BatchView::Blocks => range.replacen(ANY_LANE, "const ANY_LANE: bool = false;", 1),
        BatchView::Range => range.to_string(),
        BatchView::Columns => include_str!("../../shaders/fill_batch_columns.wgsl").to_string(),
    };
    let values = match kernel {
        Kernel::Constant => include_str!("../../shaders/fill_batch_constant.wgsl"),
        Kernel::Uniform | Kernel::Normal | Kernel::TruncatedNormal => {
            include_str!("../../shaders/fill_batch_random.wgsl")
        }
        Kernel::FillStructured | Kernel::SparseThresholds => return None,
    };
    let sample = match kernel {
        Kernel::Constant => "",
        _ => kernel.source(),
    };
    Some(
        [
            mulhilo.source(),
            &philox,
            &include_str!("../../shaders/fill_batch.wgsl").replacen(
                TABLE_LEN,
                &format!("const TABLE_LEN: u32 = {table_len}u;"),
                1,
            ),
            &entry,
            values,
            sample,
        ]
        .join("\n"),
    )
}
