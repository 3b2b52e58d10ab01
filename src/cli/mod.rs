//! The command-line interface: argument types, shared helpers, dispatch.

mod bench;
mod devices;
mod diagnose;
mod init;
mod inspect;
mod plot;
mod report;
pub mod signals;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use weight_init::gpu::GpuContext;
use weight_init::{DType, Distribution, Init, Plan, ResolveOptions};

/// A command's failure: one line for the user.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<weight_init::Error> for CliError {
    fn from(e: weight_init::Error) -> Self {
        CliError(e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError(e.to_string())
    }
}

/// What a command returns: an exit code, or an error to print.
pub type CliResult = Result<ExitCode, CliError>;

/// Reproducible neural-network weight initialization on the GPU (wgpu) and
/// CPU: counter-based Philox4x32-10 samples, bit-identical on the CPU and
/// the GPU (tested on Mesa's lavapipe and llvmpipe; `verify` checks yours).
#[derive(Debug, Parser)]
#[command(name = "weight-init", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every adapter wgpu finds, with the limits that matter for fills.
    Devices(DevicesArgs),
    /// Fill throughput per scheme and dtype on the adapter and the CPU,
    /// beside the adapter's plain write bandwidth.
    Bench(BenchArgs),
    /// Fill on the GPU and the CPU and check exactness and statistics;
    /// exits non-zero when a check fails.
    Verify(VerifyArgs),
    /// Per-tensor shape, dtype and statistics of a safetensors file, each
    /// tensor checked against its recorded scheme; exits 1 when one fails.
    Inspect(InspectArgs),
    /// Initialize a whole model (a JSON description, or a safetensors
    /// file's names and shapes) and write it to a safetensors file.
    Init(InitArgs),
    /// Signal propagation through a deep MLP per scheme: activation and
    /// gradient scales layer by layer, on the GPU.
    Diagnose(diagnose::DiagnoseArgs),
}

/// Options shared by the commands that fill.
#[derive(Debug, Clone, Args)]
pub struct FillOpts {
    /// Bytes per fill, e.g. `256MiB`, `8MiB`, `1GB`, `4096`; numel = size /
    /// dtype bytes elements. Fan-based schemes need numel to be a multiple
    /// of 1024, which every multiple of 4KiB gives in every dtype. At most
    /// 16GiB (refused before any work).
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub size: u64,
    /// Output dtypes, comma-separated: f32, f16, bf16.
    #[arg(long, default_value = "f32,bf16", value_delimiter = ',', value_parser = parse_dtype)]
    pub dtype: Vec<DType>,
    /// Schemes in the text form (`weight_init::Init`); repeat the flag or
    /// separate with commas outside parentheses. Resolved for a PyTorch
    /// layout weight `[numel / 1024, 1024]`: fan_in 1024, fan_out
    /// numel / 1024.
    ///
    /// Shape rule: numel = size / dtype bytes. Fan-based schemes (xavier_*,
    /// kaiming_*, lecun_*, variance_scaling, jax_*_normal, torch_default_*)
    /// need numel to be a multiple of 1024 and refuse any other size with
    /// an error (a multiple of 4KiB works in every dtype); the other
    /// schemes use no fans and fill numel elements whatever the size.
    #[arg(long, value_parser = parse_written_schemes)]
    pub scheme: Vec<Vec<Written>>,
    /// Generator seed.
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
    /// Use the CPU backend only, even where an adapter exists.
    #[arg(long)]
    pub cpu_only: bool,
}

/// The largest `--size` `bench` and `verify` fill (16 GiB): their work
/// grows with it, so it is refused up front past this.
pub const MAX_FILL_BYTES: u64 = 16 << 30;

/// The most `--repeats` `bench` times per row.
pub const MAX_REPEATS: u32 = 1000;

impl FillOpts {
    /// Refuses a `--size` past [`MAX_FILL_BYTES`] before any work.
    pub fn check_size(&self) -> Result<(), CliError> {
        if self.size > MAX_FILL_BYTES {
            return Err(CliError(format!(
                "--size {} bytes is past the limit of {MAX_FILL_BYTES} bytes (16GiB) per fill",
                self.size
            )));
        }
        Ok(())
    }

    /// The schemes asked for, or the default set.
    pub fn schemes(&self) -> Vec<Init> {
        self.written().into_iter().map(|w| w.init).collect()
    }

    /// The schemes asked for, or the default set, each with the text the
    /// user wrote for it (`gain=tanh` stays `gain=tanh` in plot titles).
    pub fn written(&self) -> Vec<Written> {
        let given: Vec<Written> = self.scheme.iter().flatten().cloned().collect();
        if given.is_empty() {
            DEFAULT_SCHEMES
                .iter()
                .map(|s| parse_written(s).expect("default scheme parses"))
                .collect()
        } else {
            given
        }
    }
}

/// A scheme and the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Written {
    /// The user's text, trimmed.
    pub text: String,
    /// The parsed scheme.
    pub init: Init,
}

fn parse_written(s: &str) -> Result<Written, String> {
    Ok(Written {
        text: s.trim().to_string(),
        init: parse_scheme(s)?,
    })
}

fn parse_written_schemes(s: &str) -> Result<Vec<Written>, String> {
    split_top_level(s).into_iter().map(parse_written).collect()
}

/// The schemes `bench` and `verify` run when none is named.
pub const DEFAULT_SCHEMES: [&str; 5] = [
    "uniform(-1, 1)",
    "normal(0, 1)",
    "trunc_normal(std=0.02, a=-0.04, b=0.04)",
    "kaiming_uniform(nonlinearity=relu)",
    "jax_he_normal",
];

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub fill: FillOpts,
    /// One JSON object per row on stdout instead of the table, then a
    /// summary (README, "JSON output").
    #[arg(long)]
    pub json: bool,
    /// Timed repeats per row (the median is reported): 1 to 1000.
    #[arg(long, default_value_t = 5)]
    pub repeats: u32,
    /// CPU rows and the host write-bandwidth baselines on at most N
    /// threads (N >= 1; default: every core this process may use).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub fill: FillOpts,
    /// Write a histogram of each row's verified values (the GPU's when the
    /// GPU was checked, in the dtype verified) over the exact density, as
    /// one PNG file per scheme and dtype into this directory (created if
    /// missing; its parent must exist).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Significance level of the KS and z-score checks.
    #[arg(long, default_value_t = 0.001)]
    pub alpha: f64,
    /// Test-only: multiply the expected std by this factor, so the checks
    /// can be seen to fail.
    #[arg(long, hide = true)]
    pub perturb_expected_std: Option<f64>,
    /// One JSON object per row on stdout, then a summary (README, "JSON
    /// output"); notes go to stderr.
    #[arg(long)]
    pub json: bool,
    /// Fail (exit 2) when no GPU adapter is found, instead of checking the
    /// CPU only.
    #[arg(long, conflicts_with = "cpu_only")]
    pub require_gpu: bool,
}

/// Arguments of `devices`.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// One JSON object per adapter on stdout, then a summary.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A safetensors file: a regular file (not a FIFO or device), whose
    /// header is at most 100 MB (the format's limit) and is checked whole
    /// against the format's rules before anything is read.
    pub file: PathBuf,
    /// A scheme to check every tensor against (its law for the tensor's
    /// shape), instead of the scheme `init` recorded for each tensor in the
    /// file's metadata (`weight_init.init.NAME`).
    #[arg(long, value_parser = parse_scheme)]
    pub scheme: Option<Init>,
    /// Layout of the tensors' shapes for fan computation: torch or jax.
    #[arg(long, default_value = "torch")]
    pub layout: weight_init::Layout,
    /// Significance level of each tensor's mean and std z-tests against
    /// its scheme (two-sided, per tensor).
    #[arg(long, default_value_t = 0.001)]
    pub alpha: f64,
    /// One JSON object per tensor on stdout, then a summary.
    #[arg(long)]
    pub json: bool,
}

/// Where `init` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InitDevice {
    /// The default GPU adapter (an error when there is none).
    Gpu,
    /// The CPU backend.
    Cpu,
}

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// A JSON parameter-set description (`weight_init::model::ModelSpec`):
    /// a regular file of at most 64 MiB, or `-` for standard input.
    #[arg(
        long,
        conflicts_with = "from_safetensors",
        required_unless_present_any = ["from_safetensors", "hf_config"]
    )]
    pub spec: Option<PathBuf>,
    /// Take names, shapes and dtypes from this safetensors file's header,
    /// to re-initialize a checkpoint. A regular file whose header is at
    /// most 100 MB (the format's limit), checked whole against the
    /// format's rules. Its F32, F16 and BF16 tensors are initialized; every
    /// other tensor (I64 `position_ids`, other integers, BOOL, F64, the F8
    /// formats, ...) is copied into the output byte for byte (same name,
    /// dtype, shape and data, after the initialized tensors, whole in every
    /// shard; `--dtype` does not apply to it), unless `--skip-non-float`. F64 is copied, not
    /// initialized: weight-init generates f32, f16 and bf16 only. Only the
    /// copied tensors' data is read from the file.
    #[arg(long)]
    pub from_safetensors: Option<PathBuf>,
    /// With `--from-safetensors`: leave the non-float tensors (every dtype
    /// other than F32, F16, BF16) out of the output instead of copying
    /// them. The report names them either way.
    #[arg(long, requires = "from_safetensors")]
    pub skip_non_float: bool,
    /// A preset: torch-defaults, gpt2[(n_layers=N)], keras-defaults, mup(base_width=B, width=W), deepnorm(layers=N), olmo, t5(d_model=D, d_kv=K, d_ff=F, num_heads=H).
    /// Replaces the spec's preset.
    #[arg(long)]
    pub preset: Option<String>,
    /// A rule `PATTERN=SCHEME` (e.g. `*.bias=zeros`); repeatable, tried in
    /// order before the spec's rules and the preset.
    #[arg(long)]
    pub rule: Vec<String>,
    /// Generator seed (default: the spec's, else 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write every initialized tensor in this dtype (f32, f16, bf16)
    /// instead of its own (tensors copied from `--from-safetensors` keep
    /// theirs).
    #[arg(long, value_parser = parse_dtype)]
    pub dtype: Option<DType>,
    /// Read every shape in this layout (torch or jax) instead of its own.
    #[arg(long)]
    pub layout: Option<weight_init::Layout>,
    /// The safetensors file to write: a new file or an existing regular
    /// file (a device, FIFO, socket or directory is refused; a link to a
    /// regular file is written through). Atomically: a hidden temporary
    /// file `.NAME.PID.N.tmp` in the same directory, synced and renamed at
    /// the end, removed on any error and on SIGINT/SIGTERM. With
    /// `--hf-config`, a directory (existing, or named with a trailing `/`)
    /// gets `model.safetensors` and a copy of the config.
    #[arg(long)]
    pub out: PathBuf,
    /// gpu or cpu (default: the GPU when an adapter exists, else the CPU).
    #[arg(long, value_enum)]
    pub device: Option<InitDevice>,
    /// Write one shard: rows (dimension 0) or cols (dimension 1).
    #[arg(long, value_parser = parse_shard_mode)]
    pub shard: Option<weight_init::model::ShardMode>,
    /// Number of shards.
    #[arg(long)]
    pub world: Option<u64>,
    /// This shard's index, 0-based.
    #[arg(long)]
    pub rank: Option<u64>,
    /// The largest model (or shard) `init` writes, in bytes, e.g. `64GiB`:
    /// a larger one is refused before any work. At most 1PiB.
    #[arg(long, default_value = "1TiB", value_parser = parse_size)]
    pub max_bytes: u64,
    /// GPU only: the largest device buffer to fill at once, e.g. `512MiB`
    /// (default: the device's max_buffer_size, at most 1GiB). A model
    /// larger than that is filled and written one buffer at a time, so
    /// device memory stays at one buffer whatever the model's size; a single
    /// tensor (or shard) larger than it is an error.
    #[arg(long, value_parser = parse_size)]
    pub gpu_buffer: Option<u64>,
    /// CPU only: fill on at most N threads (N >= 1; default: every core).
    /// The file's bytes are the same for every N. Structured schemes
    /// (orthogonal's `Q`) keep their own fixed panels. Refused with
    /// `--device gpu`; unused (and said so) when the GPU is picked by
    /// default.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// One JSON object per tensor written on stdout, then a summary.
    #[arg(long)]
    pub json: bool,
    /// Write one rank's shard on a device mesh, as PyTorch DTensor places
    /// it: `8` or `2x4` (at most 2 axes; the rank's coordinate is its
    /// row-major position). Goes with `--rank` and `--placement`, not with
    /// `--shard`/`--world`.
    #[arg(long, value_name = "MESH")]
    pub mesh: Option<String>,
    /// With `--mesh`: `PATTERN=PLACEMENTS`, one placement per mesh axis,
    /// e.g. `*.bias=[Replicate, Shard(0)]` or `*=[Shard(0), Shard(1)]`
    /// (`Shard(d)`/`S(d)` splits tensor dimension d as `torch.chunk`,
    /// uneven sizes included; negative d counts from the end;
    /// `Replicate()`/`R` keeps it whole). Repeatable; the first rule whose
    /// glob matches a tensor's name wins, and a tensor none matches is an
    /// error.
    #[arg(long, value_name = "PATTERN=PLACEMENTS")]
    pub placement: Vec<String>,
    /// A Hugging Face `config.json` (model_type llama, mistral, qwen2,
    /// gpt2 or bert): the parameters `transformers` creates for the class
    /// in `architectures` (the bare model when absent), each with that
    /// architecture's `_init_weights` recipe, in the config's dtype unless
    /// `--dtype`. When `--out` is an existing directory (or ends with
    /// `/`), writes `DIR/model.safetensors` and copies the config to
    /// `DIR/config.json`, so `from_pretrained(DIR)` loads it.
    #[arg(long, value_name = "CONFIG.json", conflicts_with_all = ["spec", "from_safetensors"])]
    pub hf_config: Option<PathBuf>,
}

fn parse_shard_mode(s: &str) -> Result<weight_init::model::ShardMode, String> {
    s.parse().map_err(|e: weight_init::Error| e.to_string())
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Devices(a) => devices::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Verify(a) => verify::run(&a),
        Command::Inspect(a) => inspect::run(&a),
        Command::Init(a) => init::run(&a),
        Command::Diagnose(a) => diagnose::run(&a),
    }
}

/// Parses a byte size: a number with an optional unit B, KB, MB, GB, TB
/// (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024),
/// case-insensitive; 4 bytes to 1 PiB.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (expected e.g. 256MiB, 8MB, 4096)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "tib" | "t" => 1 << 40,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "`{s}`: unknown unit `{other}` (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            ))
        }
    };
    let bytes = value * mult as f64;
    if !(bytes.is_finite() && bytes >= 4.0 && bytes <= (1u64 << 50) as f64) {
        return Err(format!("`{s}`: size must be between 4 bytes and 1 PiB"));
    }
    Ok(bytes as u64)
}

fn parse_dtype(s: &str) -> Result<DType, String> {
    s.trim().parse()
}

fn parse_scheme(s: &str) -> Result<Init, String> {
    s.parse::<Init>().map_err(|e| unknown_scheme_message(s, &e))
}

fn parse_schemes(s: &str) -> Result<Vec<Init>, String> {
    split_top_level(s).into_iter().map(parse_scheme).collect()
}

fn unknown_scheme_message(s: &str, e: &weight_init::Error) -> String {
    let mut msg = format!("bad scheme `{s}`: {e}");
    if !msg.contains("valid") {
        msg.push_str(&format!(
            "; valid schemes: {}",
            weight_init::scheme::SCHEME_NAMES.join(", ")
        ));
    }
    msg
}

/// Splits at commas that are not inside parentheses.
pub fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0i32, 0usize, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(s[start..].trim());
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// The columns of the weight `bench` and `verify` resolve schemes for:
/// its fan_in.
pub const FAN_IN: u64 = 1024;

/// The shape `bench` and `verify` resolve `init` for when they fill `size`
/// bytes of `dtype`, that is numel = `size / dtype bytes` elements.
///
/// The rule, for every size: where 1024 divides numel, a PyTorch-layout
/// weight `[numel / 1024, 1024]` (fan_in 1024, fan_out numel / 1024).
/// Elsewhere there is no such weight: a fan-based scheme
/// ([`Init::is_fan_based`]) is an error that names the size and this rule,
/// and any other scheme, which uses no fans, gets the flat `[numel]`.
pub fn shape_for(init: &Init, size: u64, dtype: DType) -> Result<Vec<u64>, CliError> {
    let numel = size / dtype.size_bytes() as u64;
    if numel >= FAN_IN && numel.is_multiple_of(FAN_IN) {
        Ok(vec![numel / FAN_IN, FAN_IN])
    } else if init.is_fan_based() {
        Err(CliError(format!(
            "--size {size} holds {numel} {dtype} elements, not a multiple of {FAN_IN}: `{init}` \
             needs fans, and bench and verify take them from a [numel / {FAN_IN}, {FAN_IN}] \
             weight (fan_in {FAN_IN}); use a --size that is a multiple of 4KiB"
        )))
    } else {
        Ok(vec![numel])
    }
}

/// A scheme resolved to the elementwise distribution these commands fill
/// into `size` bytes of `dtype` (shape: [`shape_for`]).
pub fn distribution_for(init: &Init, size: u64, dtype: DType) -> Result<Distribution, CliError> {
    match init.resolve(&shape_for(init, size, dtype)?, &ResolveOptions::default())? {
        Plan::Sample(d) => Ok(d),
        _ => Err(CliError(format!(
            "`{init}` is not an elementwise scheme; bench and verify handle elementwise schemes only"
        ))),
    }
}

/// The default adapter, or `None` with one line on stderr saying why and
/// that the CPU backend runs instead.
pub fn gpu_or_cpu(cpu_only: bool) -> Option<GpuContext> {
    if cpu_only {
        return None;
    }
    match GpuContext::new_default() {
        Ok(ctx) => Some(ctx),
        Err(e) => {
            eprintln!("weight-init: {e}; running on the CPU backend only");
            None
        }
    }
}

/// Points `XDG_RUNTIME_DIR` at a private directory when it is unset or
/// unusable, before the first adapter probe: Mesa's GL driver otherwise
/// prints "error: XDG_RUNTIME_DIR is invalid or not set in the
/// environment" on every probe, which reads like this tool's own error.
/// The directory is `$TMPDIR/weight-init-runtime-UID`, mode 0700, reused
/// by later runs (the CLI only: the library never changes the
/// environment).
pub fn private_runtime_dir() {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let Ok(me) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return;
    };
    let usable = |p: &std::path::Path| {
        std::fs::symlink_metadata(p)
            .is_ok_and(|m| m.is_dir() && m.uid() == me && m.permissions().mode() & 0o777 == 0o700)
    };
    if std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| usable(std::path::Path::new(&d))) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("weight-init-runtime-{me}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    if usable(&dir) {
        // SAFETY: `main` calls this first, before any other thread exists
        // (nothing else reads or writes the environment concurrently).
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
}

/// A progress bar on stderr for `len` steps (hidden when stderr is not a
/// terminal, e.g. in tests and pipes).
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}

/// A progress bar on stderr for `len` bytes, with the current item as
/// its message (hidden when stderr is not a terminal).
pub fn progress_bytes(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {bytes}/{total_bytes} {msg} ({elapsed}, eta {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("8MB"), Ok(8_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn shape_rule_holds_for_every_size() {
        let kaiming: Init = "kaiming_uniform(nonlinearity=relu)".parse().unwrap();
        let normal: Init = "normal(0, 1)".parse().unwrap();
        assert_eq!(
            shape_for(&kaiming, 1 << 20, DType::F32).unwrap(),
            [256, 1024]
        );
        assert_eq!(
            shape_for(&kaiming, 1 << 20, DType::BF16).unwrap(),
            [512, 1024]
        );
        assert_eq!(shape_for(&kaiming, 4096, DType::F32).unwrap(), [1, 1024]);
        // 1 MB: 250000 f32 elements, no [numel / 1024, 1024] weight.
        let e = shape_for(&kaiming, 1_000_000, DType::F32).unwrap_err().0;
        assert!(
            e.contains("--size 1000000") && e.contains("250000 f32") && e.contains("fan_in 1024"),
            "{e}"
        );
        assert!(shape_for(&kaiming, 2048, DType::F32).is_err());
        // Schemes without fans fill any size.
        assert_eq!(shape_for(&normal, 1_000_000, DType::F32).unwrap(), [250000]);
        assert_eq!(shape_for(&normal, 4, DType::F32).unwrap(), [1]);
        // The bound is the fan_in-1024 one: sqrt(6 / 1024).
        let Distribution::Uniform(u) = distribution_for(&kaiming, 1 << 20, DType::F32).unwrap()
        else {
            panic!("kaiming_uniform is uniform")
        };
        assert!(
            (u.high() as f64 - (6.0f64 / 1024.0).sqrt()).abs() < 1e-7,
            "{u:?}"
        );
    }

    #[test]
    fn top_level_commas() {
        assert_eq!(
            split_top_level("normal(0, 1),kaiming_normal(mode=fan_out, nonlinearity=relu), zeros"),
            vec![
                "normal(0, 1)",
                "kaiming_normal(mode=fan_out, nonlinearity=relu)",
                "zeros"
            ]
        );
    }
}
