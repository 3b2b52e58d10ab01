//! The WGSL shaders parse and validate with naga, for every module of the
//! shader tables (each specialisation included) and both `mulhilo`
//! variants, and `shaders/philox.wgsl` carries exactly the constants of
//! `src/kernel.rs`.
//!
//! Needs no GPU: naga is the shader front end wgpu itself uses, so a shader
//! that fails here would fail at pipeline creation on every adapter.

use naga::valid::{Capabilities, ValidationFlags, Validator};
use naga::{Expression, Literal, Module};
use weight_init::gpu::unstable::{
    batch_shader, BatchView, Kernel, ModuleOptions, MulHiLo, Shader, SHADERS,
};

/// The two mulhilo variants and the naga capabilities each needs.
const MULHILO: [(MulHiLo, Capabilities); 2] = [
    (MulHiLo::Emulated, Capabilities::empty()),
    (MulHiLo::Int64, Capabilities::SHADER_INT64),
];

fn shader(name: &str) -> String {
    let path = format!("{}/shaders/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// What the modules are assembled for here: the largest batch table.
fn options(mulhilo: MulHiLo) -> ModuleOptions {
    ModuleOptions {
        mulhilo,
        table_len: 512,
    }
}

/// The source the host builds a pipeline from, exactly as it builds it.
fn pipeline_source(mulhilo: MulHiLo, kernel: Kernel) -> String {
    kernel.shader().source(options(mulhilo))
}

fn parse(label: &str, src: &str) -> Module {
    naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{label}: WGSL parse error\n{}", e.emit_to_string(src)))
}

#[test]
fn every_kernel_validates_with_both_mulhilo_variants() {
    let mut failures = Vec::new();
    for (mulhilo, extra) in MULHILO {
        // The elementwise fills and the structured kernels (eye, identity,
        // dirac, sparse, uploaded orthogonal values) alike.
        for kernel in Kernel::ALL.into_iter().chain(Kernel::STRUCTURED) {
            let label = format!("{mulhilo:?} + {}", kernel.file_name());
            let src = pipeline_source(mulhilo, kernel);
            let module = match naga::front::wgsl::parse_str(&src) {
                Ok(m) => m,
                Err(e) => {
                    failures.push(format!("{label}: parse error\n{}", e.emit_to_string(&src)));
                    continue;
                }
            };
            let caps = Capabilities::default() | extra;
            if let Err(e) = Validator::new(ValidationFlags::all(), caps).validate(&module) {
                failures.push(format!(
                    "{label}: validation error\n{}",
                    e.emit_to_string(&src)
                ));
                continue;
            }
            // The host/kernel contract: one compute entry point `main`, 256 wide.
            let eps: Vec<_> = module.entry_points.iter().collect();
            assert_eq!(eps.len(), 1, "{label}: expected exactly one entry point");
            assert_eq!(eps[0].name, "main", "{label}");
            assert_eq!(eps[0].stage, naga::ShaderStage::Compute, "{label}");
            assert_eq!(eps[0].workgroup_size, [256, 1, 1], "{label}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The emulated variant must not need 64-bit integers: it validates without
/// SHADER_INT64, and the int64 variant really needs it (so the capability
/// check is meaningful).
#[test]
fn int64_variant_needs_the_capability() {
    let src = pipeline_source(MulHiLo::Int64, Kernel::Uniform);
    let module = parse("int64", &src);
    assert!(
        Validator::new(ValidationFlags::all(), Capabilities::default())
            .validate(&module)
            .is_err(),
        "mulhilo_int64.wgsl validated without SHADER_INT64"
    );
}

// ---------------------------------------------------------------------------
// Constants: the same literal values in kernel.rs and philox.wgsl
// ---------------------------------------------------------------------------

/// The text after `const NAME:` up to the `;` that ends the declaration
/// (the first one after `=`: Rust array types contain a `;`), `None` if
/// absent. Works for `const`, `pub const` and `pub(crate) const` in both
/// languages.
fn const_decl<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("const {name}:");
    let start = text.find(&key)? + key.len();
    let rest = &text[start..];
    let eq = rest.find('=')?;
    let end = eq + rest[eq..].find(';')?;
    Some(&rest[..end])
}

/// A numeric literal of either language: `_` separators and a trailing `f`
/// (WGSL f32 suffix) removed.
fn clean_literal(s: &str) -> String {
    let s: String = s.trim().chars().filter(|&c| c != '_').collect();
    let s = s.strip_suffix('f').unwrap_or(&s);
    s.strip_suffix("u").unwrap_or(s).to_string()
}

fn parse_f32(s: &str, ctx: &str) -> f32 {
    let c = clean_literal(s);
    c.parse::<f32>()
        .unwrap_or_else(|e| panic!("{ctx}: `{s}` is not an f32 literal: {e}"))
}

/// The elements of an array constant: the text between the bracket (Rust
/// `[`, WGSL `(` of the constructor) after `=` and its closing partner.
fn array_values(text: &str, name: &str, lang: &str) -> Vec<f32> {
    let decl = const_decl(text, name).unwrap_or_else(|| panic!("{lang}: no const {name}"));
    let (_, init) = decl
        .split_once('=')
        .unwrap_or_else(|| panic!("{lang}: {name} has no initializer"));
    let (open, close) = if lang == "rust" {
        ('[', ']')
    } else {
        ('(', ')')
    };
    let a = init
        .find(open)
        .unwrap_or_else(|| panic!("{lang}: {name}: no `{open}`"));
    let b = init
        .rfind(close)
        .unwrap_or_else(|| panic!("{lang}: {name}: no `{close}`"));
    init[a + 1..b]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_f32(s, &format!("{lang} {name}")))
        .collect()
}

fn scalar_text<'a>(text: &'a str, name: &str, lang: &str) -> &'a str {
    let decl = const_decl(text, name).unwrap_or_else(|| panic!("{lang}: no const {name}"));
    decl.split_once('=').unwrap().1.trim()
}

const SAMPLE_RS: &str = include_str!("../src/kernel.rs");

const ARRAYS: [&str; 6] = [
    "LOG1P",
    "SIN",
    "COS",
    "PROBIT_CENTRAL",
    "PROBIT_TAIL_NEAR",
    "PROBIT_TAIL_FAR",
];

/// f32 scalar constants whose Rust initializer is a plain literal.
const F32_SCALARS: [&str; 6] = [
    "TAIL_NEAR_R0",
    "LN2_HI",
    "LN2_LO",
    "LN_2PI",
    "TAIL_POLY_MAX_R",
    "CENTRAL_MAX_D",
];

const U32_SCALARS: [&str; 3] = ["SQRT2_MANTISSA", "RSQRT_MAGIC", "RECIP_MAGIC"];

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Text-level check: every coefficient array and scalar of kernel.rs has a
/// twin in philox.wgsl whose literal parses to the same f32.
#[test]
fn coefficient_literals_match_sample_rs() {
    let wgsl = shader("philox.wgsl");
    for name in ARRAYS {
        let r = array_values(SAMPLE_RS, name, "rust");
        let w = array_values(&wgsl, name, "wgsl");
        assert!(!r.is_empty(), "{name}: empty in kernel.rs");
        assert_eq!(
            bits(&r),
            bits(&w),
            "{name}: kernel.rs {r:?} vs philox.wgsl {w:?}"
        );
    }
    for name in F32_SCALARS {
        let r = parse_f32(scalar_text(SAMPLE_RS, name, "rust"), name);
        let w = parse_f32(scalar_text(&wgsl, name, "wgsl"), name);
        assert_eq!(r.to_bits(), w.to_bits(), "{name}: {r} vs {w}");
    }
    for name in U32_SCALARS {
        let parse = |s: &str| {
            let c = clean_literal(s);
            let hex = c.strip_prefix("0x").or(c.strip_prefix("0X")).unwrap();
            u32::from_str_radix(hex, 16).unwrap()
        };
        let r = parse(scalar_text(SAMPLE_RS, name, "rust"));
        let w = parse(scalar_text(&wgsl, name, "wgsl"));
        assert_eq!(r, w, "{name}: {r:#x} vs {w:#x}");
    }
}

/// The value naga itself assigns to a module constant, as f32 components.
fn naga_f32s(module: &Module, name: &str) -> Vec<f32> {
    let (_, c) = module
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("naga module has no constant {name}"));
    let lit = |h: naga::Handle<Expression>| match module.global_expressions[h] {
        Expression::Literal(Literal::F32(v)) => v,
        ref e => panic!("{name}: component is not an f32 literal: {e:?}"),
    };
    match module.global_expressions[c.init] {
        Expression::Compose { ref components, .. } => components.iter().map(|&h| lit(h)).collect(),
        Expression::Literal(Literal::F32(v)) => vec![v],
        ref e => panic!("{name}: unexpected initializer {e:?}"),
    }
}

/// Value-level check through naga's own literal parsing and constant
/// folding: what the GPU receives equals what rustc made of kernel.rs (in
/// particular no literal went through f64 first).
#[test]
fn naga_constants_match_sample_rs() {
    let src = pipeline_source(MulHiLo::Emulated, Kernel::TruncatedNormal);
    let module = parse("constants", &src);
    for name in ARRAYS {
        let r = array_values(SAMPLE_RS, name, "rust");
        assert_eq!(bits(&r), bits(&naga_f32s(&module, name)), "{name}");
    }
    for name in F32_SCALARS {
        let r = parse_f32(scalar_text(SAMPLE_RS, name, "rust"), name);
        assert_eq!(vec![r.to_bits()], bits(&naga_f32s(&module, name)), "{name}");
    }
    // Constants that kernel.rs writes as expressions.
    let derived: [(&str, f32); 2] = [
        ("OCTANT_STEP", core::f32::consts::FRAC_PI_4 / 536_870_912.0),
        ("TWO_M24", 1.0 / 16_777_216.0),
    ];
    for (name, v) in derived {
        assert_eq!(vec![v.to_bits()], bits(&naga_f32s(&module, name)), "{name}");
    }
}

// ---------------------------------------------------------------------------
// mulhilo_emulated.wgsl, re-implemented operation for operation
// ---------------------------------------------------------------------------

/// `mulhilo` of shaders/mulhilo_emulated.wgsl, with WGSL's u32 semantics
/// (wrapping arithmetic; every step below is in fact overflow-free, which
/// the debug build's overflow checks confirm).
fn mulhilo_emulated(a: u32, b: u32) -> (u32, u32) {
    let a_lo = a & 0xffff;
    let a_hi = a >> 16;
    let b_lo = b & 0xffff;
    let b_hi = b >> 16;
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    let mid = (ll >> 16) + (lh & 0xffff) + (hl & 0xffff);
    let lo = (mid << 16) | (ll & 0xffff);
    let hi = hh + (lh >> 16) + (hl >> 16) + (mid >> 16);
    (hi, lo)
}

#[test]
fn emulated_mulhilo_formula_is_exact() {
    use weight_init::philox::{PHILOX_M0, PHILOX_M1};
    use weight_init::unstable::kernel::mulhilo;
    let edges = [
        0u32,
        1,
        2,
        0xffff,
        0x1_0000,
        0x1_0001,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_0000,
        0xfffe_ffff,
        u32::MAX - 1,
        u32::MAX,
        PHILOX_M0,
        PHILOX_M1,
    ];
    for &a in &edges {
        for &b in &edges {
            assert_eq!(mulhilo_emulated(a, b), mulhilo(a, b), "{a:#x} * {b:#x}");
        }
    }
    // splitmix64 pairs.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for _ in 0..1_000_000 {
        let r = next();
        let (a, b) = (r as u32, (r >> 32) as u32);
        assert_eq!(mulhilo_emulated(a, b), mulhilo(a, b), "{a:#x} * {b:#x}");
    }
}

// ---------------------------------------------------------------------------
// The batched-fill kernels (src/gpu/batch.rs, shaders/fill_batch*.wgsl)
// ---------------------------------------------------------------------------

const BATCH_RS: &str = include_str!("../src/gpu/batch.rs");

fn batch_module(mulhilo: MulHiLo, kernel: Kernel, view: BatchView) -> (String, String, Module) {
    let label = format!("batch {mulhilo:?} + {view:?} + {}", kernel.file_name());
    let src = batch_shader(kernel, view)
        .unwrap_or_else(|| panic!("{label}: no source"))
        .source(options(mulhilo));
    let module = parse(&label, &src);
    (label, src, module)
}

#[test]
fn batch_kernels_validate_with_both_mulhilo_variants() {
    for (mulhilo, extra) in MULHILO {
        for (kernel, view) in Kernel::ALL
            .into_iter()
            .flat_map(|k| BatchView::ALL.map(|v| (k, v)))
        {
            let (label, src, module) = batch_module(mulhilo, kernel, view);
            if let Err(e) = Validator::new(ValidationFlags::all(), Capabilities::default() | extra)
                .validate(&module)
            {
                panic!("{label}: validation error\n{}", e.emit_to_string(&src));
            }
            // The batched kernels load `p` per piece: private, never a uniform.
            assert!(src.contains("var<private> p: Params;"), "{label}");
            assert!(!src.contains("var<uniform> p: Params"), "{label}");
            let eps: Vec<_> = module.entry_points.iter().collect();
            assert_eq!(eps.len(), 1, "{label}: expected exactly one entry point");
            assert_eq!(eps[0].name, "main", "{label}");
            assert_eq!(eps[0].workgroup_size, [256, 1, 1], "{label}");
        }
    }
    for kernel in Kernel::STRUCTURED {
        assert!(batch_shader(kernel, BatchView::Range).is_none());
    }
}

/// The view codes and the descriptor's size in fill_batch.wgsl are those of
/// src/gpu/batch.rs (the size as naga lays the struct out).
#[test]
fn batch_constants_match_batch_rs() {
    let (_, _, module) = batch_module(MulHiLo::Emulated, Kernel::Normal, BatchView::Columns);
    let wgsl = shader("fill_batch.wgsl");
    for name in ["VIEW_RANGE", "VIEW_COLUMNS"] {
        let r = clean_literal(scalar_text(BATCH_RS, name, "rust"));
        let w = clean_literal(scalar_text(&wgsl, name, "wgsl"));
        assert_eq!(r, w, "{name}");
    }
    let rust_size: u32 = clean_literal(scalar_text(BATCH_RS, "PIECE_BYTES", "rust"))
        .parse()
        .unwrap();
    let mut layouter = naga::proc::Layouter::default();
    layouter.update(module.to_ctx()).unwrap();
    let size_of = |name: &str| {
        let (h, _) = module
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no struct {name}"));
        layouter[h].size
    };
    assert_eq!(size_of("Piece"), rust_size, "Piece");
    assert_eq!(size_of("Batch"), 16, "Batch");
    assert_eq!(
        size_of("Params") as u64,
        weight_init::gpu::unstable::FillParams::SIZE,
        "Params"
    );
}

/// The signal-propagation diagnostic's kernels (`src/diagnose/gpu.rs`)
/// validate as the host assembles them, each with one compute entry point
/// `main`, and need no optional capability.
#[test]
fn diagnose_kernels_validate() {
    use weight_init::diagnose::SHADERS as DIAGNOSE_SHADERS;
    let mut failures = Vec::new();
    for module in &DIAGNOSE_SHADERS {
        let name = module.name;
        let src = module.source(options(MulHiLo::Emulated));
        // Each file on disk is part of what the host builds.
        assert!(
            src.contains(shader(name).trim()),
            "{name}: not built from shaders/{name}"
        );
        let module = match naga::front::wgsl::parse_str(&src) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: parse error\n{}", e.emit_to_string(&src)));
                continue;
            }
        };
        if let Err(e) =
            Validator::new(ValidationFlags::all(), Capabilities::empty()).validate(&module)
        {
            failures.push(format!(
                "{name}: validation error\n{}",
                e.emit_to_string(&src)
            ));
            continue;
        }
        let eps: Vec<_> = module.entry_points.iter().collect();
        assert_eq!(eps.len(), 1, "{name}: expected exactly one entry point");
        assert_eq!(eps[0].name, "main", "{name}");
        assert_eq!(eps[0].stage, naga::ShaderStage::Compute, "{name}");
    }
    assert!(!DIAGNOSE_SHADERS.iter().any(|s| s.name == "philox.wgsl"));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every module of every table (the fills, the batched fills, the
/// diagnostic) validates with both multiplies, under each pipeline's own
/// `override` values (naga's own override processing, as wgpu does it when
/// it builds the pipeline); every file it names is in its source; and every
/// file under `shaders/` is part of some module.
#[test]
fn every_table_module_validates_with_its_specialisation() {
    let diagnose = &weight_init::diagnose::SHADERS;
    let all: Vec<&Shader> = SHADERS.iter().chain(diagnose).collect();
    let mut used = std::collections::BTreeSet::new();
    let mut names = std::collections::BTreeSet::new();
    for module in &all {
        assert!(
            names.insert(module.name),
            "{}: two modules of that name",
            module.name
        );
        for (mulhilo, extra) in MULHILO {
            let label = format!("{} ({mulhilo:?})", module.name);
            let src = module.source(options(mulhilo));
            for file in module.files() {
                assert!(src.contains(shader(file).trim()), "{label}: lacks {file}");
                used.insert(file);
            }
            let parsed = parse(&label, &src);
            let info = Validator::new(ValidationFlags::all(), Capabilities::default() | extra)
                .validate(&parsed)
                .unwrap_or_else(|e| {
                    panic!("{label}: validation error\n{}", e.emit_to_string(&src))
                });
            let mut constants = naga::back::PipelineConstants::default();
            for &(name, value) in module.constants {
                assert!(
                    parsed
                        .overrides
                        .iter()
                        .any(|(_, o)| o.name.as_deref() == Some(name)),
                    "{label}: no override {name}"
                );
                constants.insert(name.to_string(), value);
            }
            naga::back::pipeline_constants::process_overrides(
                &parsed,
                &info,
                Some((naga::ShaderStage::Compute, "main")),
                &constants,
            )
            .unwrap_or_else(|e| panic!("{label}: overrides: {e}"));
        }
    }
    used.insert("mulhilo_int64.wgsl");
    used.insert("mulhilo_emulated.wgsl");
    let dir = format!("{}/shaders", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".wgsl") {
            assert!(
                used.contains(name.as_str()),
                "shaders/{name} is in no module"
            );
        }
    }
}
