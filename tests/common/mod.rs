//! Helpers shared by the integration tests (each test binary uses a part).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use weight_init::gpu::{GpuContext, GpuOptions};
#[cfg(feature = "model")]
use weight_init::model::{ResolvedSet, Shard, ShardMode};
use weight_init::stats::ordered_ulp_distance;
use weight_init::DType;

/// The path of the `weight-init` binary this test run built.
pub fn bin_path() -> &'static str {
    // `option_env!`: test binaries that do not run the CLI still build
    // without the `cli` feature.
    let Some(bin) = option_env!("CARGO_BIN_EXE_weight-init") else {
        panic!("the weight-init binary is not built: enable feature `cli`");
    };
    bin
}

/// A command for the `weight-init` binary, for cases [`run_cli`] does
/// not cover (stdin, no echo, a deadline, ...).
pub fn bin() -> Command {
    Command::new(bin_path())
}

/// A path `wi-TAG-PID-NANOS-N` in the system's temporary directory that no
/// other call returns (N counts the calls in this process, NANOS tells
/// runs apart); nothing is created there.
pub fn temp_path(tag: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!(
        "wi-{tag}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A new, empty directory at a [`temp_path`], left in place for a look
/// after the test ([`TempDir`] removes its own).
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = temp_path(tag);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A private directory ([`temp_dir`]), removed (with everything in it) on
/// drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory.
    pub fn new(tag: &str) -> Self {
        Self(temp_dir(tag))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `name` in the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// `name` in the directory, as a command-line argument.
    pub fn s(&self, name: &str) -> String {
        self.join(name).to_str().unwrap().to_string()
    }

    /// Every hidden temporary file (`.NAME.*.tmp*`) in the directory.
    pub fn temps(&self) -> Vec<String> {
        hidden_temps(&self.0)
    }

    /// The names in the directory, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The hidden temporary files (`.NAME.*.tmp*`, as the crate writes files)
/// in `dir`.
pub fn hidden_temps(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n.contains(".tmp"))
        .collect()
}

/// Runs `weight-init SUBCOMMAND ARGS...` with the extra environment
/// `env`, and echoes the command and its output to the test log.
pub fn run_cli(subcommand: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = bin();
    cmd.arg(subcommand).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the weight-init binary runs");
    eprintln!(
        "$ weight-init {subcommand} {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A command's standard output, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command's standard error, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// How to get an adapter: the failure message of every GPU test that finds
/// none (they fail, never pass silently).
pub const ADAPTER_HINT: &str = "These tests need a GPU adapter; on a machine without a GPU \
     install Mesa's software drivers: `apt-get install mesa-vulkan-drivers libegl1 libegl-mesa0 \
     libgl1-mesa-dri` (lavapipe through Vulkan, llvmpipe through GL)";

/// The byte GPU tests fill buffers with before a fill, to see what it
/// wrote and what it must leave untouched.
pub const CANARY: u8 = 0xA5;

/// The default adapter (`WGPU_BACKEND` and `WGPU_ADAPTER_NAME` honoured),
/// opened once per test binary.
pub fn gpu() -> &'static GpuContext {
    static CTX: OnceLock<GpuContext> = OnceLock::new();
    CTX.get_or_init(|| {
        let ctx = GpuContext::new_default()
            .unwrap_or_else(|e| panic!("no GPU adapter ({e}). {ADAPTER_HINT}"));
        if let Some(info) = ctx.adapter_info() {
            eprintln!("adapter: {} ({:?})", info.name, info.backend);
        }
        ctx
    })
}

/// Every Vulkan and GL adapter wgpu finds, each opened once per entry of
/// `options`: `(name, contexts)`. Panics with [`ADAPTER_HINT`] when none
/// opens.
pub fn all_adapters(options: &[GpuOptions]) -> Vec<(String, Vec<GpuContext>)> {
    let backends = wgpu::Backends::VULKAN | wgpu::Backends::GL;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle_from_env()
    });
    let mut out = Vec::new();
    for a in pollster::block_on(instance.enumerate_adapters(backends)) {
        let info = a.get_info();
        let name = format!("{} ({:?})", info.name, info.backend);
        match options
            .iter()
            .map(|o| GpuContext::from_adapter(&a, *o))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(ctxs) => {
                eprintln!(
                    "adapter: {name}, mulhilo {:?}, window {} MiB",
                    ctxs[0].mulhilo(),
                    ctxs[0].max_window_bytes() >> 20
                );
                out.push((name, ctxs));
            }
            Err(e) => eprintln!("adapter {name} could not be opened: {e}"),
        }
    }
    assert!(!out.is_empty(), "no GPU adapter found. {ADAPTER_HINT}");
    out
}

/// An adapter of [`adapters`].
pub struct Adapter {
    /// Name and backend, for messages.
    pub name: String,
    /// With default options.
    pub ctx: GpuContext,
    /// With the small binding window [`adapters`] was given, if any.
    pub small: Option<GpuContext>,
}

impl Adapter {
    /// The context with the small binding window, to split every fill into
    /// many bindings and grids.
    pub fn small(&self) -> &GpuContext {
        self.small
            .as_ref()
            .expect("adapters() was given a small window")
    }
}

/// Options for a context whose fills bind at most `window` bytes and use
/// at most 2 workgroups per grid dimension, so fills split into many
/// windows and 2-D grids.
pub fn small_window(window: u64) -> GpuOptions {
    GpuOptions::default()
        .with_max_window_bytes(window)
        .with_max_workgroups_per_dimension(2)
}

/// Every adapter of [`all_adapters`], opened with default options and,
/// given `small`, again with those options (on the same adapter object);
/// once per test binary, which passes the same `small` on every call.
pub fn adapters(small: Option<GpuOptions>) -> &'static [Adapter] {
    static ADAPTERS: OnceLock<(Option<GpuOptions>, Vec<Adapter>)> = OnceLock::new();
    let (opened, list) = ADAPTERS.get_or_init(|| {
        let options: Vec<GpuOptions> = [GpuOptions::default()].into_iter().chain(small).collect();
        let list = all_adapters(&options)
            .into_iter()
            .map(|(name, mut ctxs)| Adapter {
                name,
                small: (ctxs.len() > 1).then(|| ctxs.remove(1)),
                ctx: ctxs.remove(0),
            })
            .collect();
        (small, list)
    });
    assert_eq!(*opened, small, "one small window per test binary");
    list
}

/// The adapter of `ctx` found again through a new wgpu instance and opened
/// with `options`: a device that shares nothing with `ctx`'s (not even
/// GL's context lock).
pub fn reopen(ctx: &GpuContext, options: GpuOptions) -> GpuContext {
    let backends = wgpu::Backends::VULKAN | wgpu::Backends::GL;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle_from_env()
    });
    let adapter = pollster::block_on(instance.enumerate_adapters(backends))
        .into_iter()
        .find(|x| Some(&x.get_info()) == ctx.adapter_info())
        .expect("adapter is still there");
    GpuContext::from_adapter(&adapter, options).unwrap()
}

/// The default adapter (as [`gpu`] opens it) opened again with `options`.
pub fn default_adapter_with(options: GpuOptions) -> GpuContext {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(wgpu::util::initialize_adapter_from_env_or_default(
        &instance, None,
    ))
    .expect("the default adapter (see gpu())");
    GpuContext::from_adapter(&adapter, options).unwrap()
}

/// A STORAGE | COPY_SRC | COPY_DST buffer of `size` bytes on `ctx`'s
/// device, mapped at creation or not; its bytes as wgpu creates them.
pub fn new_storage_buffer(ctx: &GpuContext, size: u64, mapped: bool) -> wgpu::Buffer {
    ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("test"),
        size,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: mapped,
    })
}

/// [`new_storage_buffer`] with every byte `fill_byte` (a canary).
pub fn storage_buffer(ctx: &GpuContext, size: u64, fill_byte: u8) -> wgpu::Buffer {
    let buf = new_storage_buffer(ctx, size, false);
    ctx.queue()
        .write_buffer(&buf, 0, &vec![fill_byte; size as usize]);
    buf
}

/// A COPY_SRC | COPY_DST buffer without STORAGE usage, which every fill
/// must refuse.
pub fn non_storage_buffer(ctx: &GpuContext, size: u64) -> wgpu::Buffer {
    ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size,
        usage: wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Little-endian bytes of `dtype` as f32 values (exact widening).
pub fn values(bytes: &[u8], dtype: DType) -> Vec<f32> {
    dtype.decode_le(bytes).collect()
}

/// The chunks of a PNG file, checked: signature, every chunk's CRC, IHDR
/// first, IEND last, at least one IDAT. Returns (width, height).
pub fn check_png(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.len() > 1000,
        "{}: only {} bytes",
        path.display(),
        bytes.len()
    );
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{}: not a PNG",
        path.display()
    );
    let mut pos = 8;
    let mut kinds = Vec::new();
    let mut size = (0, 0);
    while pos < bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        let crc = u32::from_be_bytes(bytes[pos + 8 + len..pos + 12 + len].try_into().unwrap());
        assert_eq!(
            crc32(&bytes[pos + 4..pos + 8 + len]),
            crc,
            "{}: bad CRC",
            path.display()
        );
        if kind == b"IHDR" {
            size = (
                u32::from_be_bytes(data[0..4].try_into().unwrap()),
                u32::from_be_bytes(data[4..8].try_into().unwrap()),
            );
        }
        kinds.push(String::from_utf8_lossy(kind).into_owned());
        pos += 12 + len;
    }
    assert_eq!(pos, bytes.len(), "{}: trailing bytes", path.display());
    assert_eq!(kinds.first().map(String::as_str), Some("IHDR"));
    assert_eq!(kinds.last().map(String::as_str), Some("IEND"));
    assert!(kinds.iter().any(|k| k == "IDAT"));
    size
}

/// CRC-32 (IEEE, as PNG uses it), bit by bit.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `None` when `got == want` bit for bit; else a line naming the case
/// `what` with the count of differing elements and the largest distance in
/// ULP (or the two lengths, when they differ).
pub fn bit_difference(what: &str, dtype: DType, got: &[u8], want: &[u8]) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!(
            "{what}: {} bytes, expected {}",
            got.len(),
            want.len()
        ));
    }
    if got == want {
        return None;
    }
    let es = dtype.size_bytes();
    let word = |c: &[u8]| {
        if es == 4 {
            u32::from_le_bytes(c.try_into().unwrap())
        } else {
            u16::from_le_bytes(c.try_into().unwrap()) as u32
        }
    };
    let (mut differ, mut worst) = (0usize, 0u64);
    for (g, w) in got.chunks(es).zip(want.chunks(es)) {
        if g != w {
            differ += 1;
            worst = worst.max(ordered_ulp_distance(word(g), word(w), dtype));
        }
    }
    Some(format!(
        "{what} ({}): {differ} of {} elements differ, largest distance {worst} ULP",
        dtype.name(),
        got.len() / es
    ))
}

/// Fails when `bad` (lines from [`bit_difference`] and the like) is not
/// empty: each line printed as `MISMATCH ...`, then the count and `what`
/// (`"tensors differ from the CPU"`) with every line.
pub fn assert_no_mismatch(bad: &[String], what: &str) {
    for line in bad {
        eprintln!("MISMATCH {line}");
    }
    assert!(bad.is_empty(), "{} {what}:\n{}", bad.len(), bad.join("\n"));
}

#[cfg(feature = "model")]
/// Puts rank shards of one tensor back together: row shards concatenate;
/// column shards interleave per row of the 2-D view `[shape[0], rest]`.
pub fn assemble(shape: &[u64], dtype: DType, mode: ShardMode, parts: &[Vec<u8>]) -> Vec<u8> {
    if mode == ShardMode::Rows || shape.len() < 2 {
        return parts.concat();
    }
    let row = (shape[1..].iter().product::<u64>() as usize) * dtype.size_bytes();
    let block = row / parts.len();
    let mut out = Vec::new();
    for i in 0..shape[0] as usize {
        for p in parts {
            out.extend_from_slice(&p[i * block..(i + 1) * block]);
        }
    }
    out
}

#[cfg(feature = "model")]
/// The CPU fill of `r` on each of `world` ranks sharded by `mode`,
/// regrouped per parameter: `[param][rank]`, each rank's bytes of that
/// parameter (for [`assemble`]).
pub fn cpu_shard_parts(
    r: &ResolvedSet,
    seed: u64,
    world: u64,
    mode: ShardMode,
) -> Vec<Vec<Vec<u8>>> {
    let ranks: Vec<Vec<(String, Vec<u8>)>> = (0..world)
        .map(|rank| {
            let s = Shard::new(world, rank, mode).unwrap();
            r.fill_cpu(seed, Some(&s)).unwrap()
        })
        .collect();
    (0..r.params().len())
        .map(|i| ranks.iter().map(|t| t[i].1.clone()).collect())
        .collect()
}

/// A command's `--json` output (README, "JSON output"): JSON Lines and
/// nothing else, every object carrying the common fields (`command`,
/// `kind`, `backend`, `adapter`, `seed`) with `command` the one run, rows
/// (`"kind": "row"`) then one summary (`"kind": "summary"`). Returns the
/// rows and the summary.
pub fn json_lines(stdout: &[u8], command: &str) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut all: Vec<serde_json::Value> = String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for v in &all {
        assert!(v.is_object(), "not an object: {v}");
        for f in ["command", "kind", "backend", "adapter", "seed"] {
            assert!(v.get(f).is_some(), "no `{f}`: {v}");
        }
        assert_eq!(v["command"], command, "{v}");
    }
    let summary = all.pop().expect("a summary line");
    assert_eq!(summary["kind"], "summary", "{summary}");
    assert!(
        all.iter().all(|r| r["kind"] == "row"),
        "a non-row before the summary"
    );
    (all, summary)
}

/// The whole set (one rank's part of each tensor when `shard` is given)
/// recorded by `record_gpu` into a [`CANARY`]-filled arena in one submit:
/// each tensor's bytes, and how many bytes outside every tensor (the
/// arena's padding) no longer hold the canary.
#[cfg(feature = "model")]
pub fn gpu_arena_fill(
    ctx: &GpuContext,
    r: &ResolvedSet,
    seed: u64,
    shard: Option<&Shard>,
) -> (Vec<Vec<u8>>, usize) {
    let layout = r.arena_layout(shard, 256).unwrap();
    let buffer = storage_buffer(ctx, layout.total_bytes, CANARY);
    ctx.submit_checked(|enc| {
        r.record_gpu(ctx, enc, &buffer, &layout, seed, shard)?;
        Ok(())
    })
    .unwrap();
    let arena = ctx.read_buffer(&buffer, 0, layout.total_bytes).unwrap();
    let mut covered = vec![false; arena.len()];
    let tensors = layout
        .offsets
        .iter()
        .zip(&layout.sizes)
        .map(|(&o, &s)| {
            let (o, s) = (o as usize, s as usize);
            covered[o..o + s].iter_mut().for_each(|c| *c = true);
            arena[o..o + s].to_vec()
        })
        .collect();
    let written = arena
        .iter()
        .zip(&covered)
        .filter(|&(&b, &c)| !c && b != CANARY)
        .count();
    (tensors, written)
}
