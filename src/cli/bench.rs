//! `weight-init bench`: fill throughput per scheme and dtype on the default
//! adapter and on the CPU backend, beside the adapter's plain write
//! bandwidth measured in the same run on the same buffer.
//!
//! What is timed, and why:
//! - GPU: [`GpuContext::fill`] into one `STORAGE | COPY_DST` buffer of the
//!   benchmark size, created once and reused by every row. `fill` submits
//!   and waits, so each sample is the wall time of one whole fill as a
//!   caller who blocks on it sees it (recording, submission, execution).
//! - CPU: [`cpu::fill_bytes_with`] into one preallocated byte vector of the
//!   same size, on every core or on `--threads N` (the backend's own
//!   threading).
//! - GPU write bandwidth: `clear_buffer` on that buffer, and the constant
//!   kernel (`Distribution::constant`, f32: a plain store of every word
//!   through the same fill path, no generator). Drivers implement
//!   `clear_buffer` very differently (a DMA engine, a memset, a compute
//!   shader), so neither alone is a fair ceiling; the larger of the two is
//!   the denominator of every GPU fraction, and the output names it.
//! - Host write bandwidth, for the CPU rows: `memset` (the standard
//!   library's `slice::fill` of the same bytes, split into the same number
//!   of chunks on the same number of threads as a CPU fill) and the CPU
//!   backend's constant fill (f32, the fill path without the generator).
//!   The larger is the denominator of every CPU row's fraction. A fill
//!   cannot beat a plain store of its bytes, so the fraction says how much
//!   of the machine's store bandwidth the generator and transforms leave.
//!
//! Every figure is the median of `--repeats` samples after one untimed
//! warm-up (which also pays for lazy buffer initialization and pipeline
//! first use). GB/s are 10^9 bytes per second.
//!
//! Sizes: the byte size is rounded down to a multiple of 4, so every dtype
//! fills whole elements and `clear_buffer` (which moves 4-byte words) sees
//! the same buffer; a note on stderr says so when that changes the size,
//! and the `bytes` column is always the size actually filled. A size past
//! the adapter's largest buffer is an error that names that limit. Schemes
//! are resolved for a `[numel / 1024, 1024]` weight (fan_in 1024); a
//! fan-based scheme refuses a size whose element count 1024 does not
//! divide (`shape_for` in `src/cli/mod.rs`).
//!
//! Bad input (zero repeats, zero threads, a structured scheme such as `orthogonal`, a
//! scheme whose parameters a dtype cannot represent) is refused before any
//! adapter is opened or any memory is allocated.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::{json, Value};
use weight_init::cpu::Threads;
use weight_init::gpu::unstable::MulHiLo;
use weight_init::gpu::GpuContext;
use weight_init::{cpu, DType, Distribution, Sampler, TensorKey};

use super::report::{Backend, Common};
use super::{distribution_for, gpu_or_cpu, progress, BenchArgs, CliError, CliResult};

/// Stream id of every benchmarked tensor; speed does not depend on it.
const STREAM: u64 = 0;

/// One benchmark row: a scheme resolved for a dtype.
struct Case {
    /// The scheme's canonical text (`Init`'s Display).
    scheme: String,
    dtype: DType,
    numel: u64,
    dist: Distribution,
}

/// A timing: the median of the repeats.
#[derive(Clone, Copy)]
struct Timing {
    median_seconds: f64,
    gbps: f64,
}

impl Timing {
    fn new(median_seconds: f64, bytes: u64) -> Self {
        // A fill too short for the clock would divide by zero; a nanosecond
        // floor keeps every figure finite (JSON has no infinity).
        let median_seconds = median_seconds.max(1e-9);
        Self {
            median_seconds,
            gbps: bytes as f64 / median_seconds / 1e9,
        }
    }
}

/// Two write-bandwidth baselines of one backend, by name; the larger is
/// the denominator of that backend's fractions.
struct Baselines([(&'static str, Timing); 2]);

impl Baselines {
    /// The larger baseline: its name and GB/s.
    fn best(&self) -> (&'static str, f64) {
        let [(a, ta), (b, tb)] = self.0;
        if ta.gbps >= tb.gbps {
            (a, ta.gbps)
        } else {
            (b, tb.gbps)
        }
    }
}

/// The adapter side of the run: the context, the one buffer every GPU row
/// fills, and the names the output gives the adapter.
struct Gpu {
    ctx: GpuContext,
    buffer: wgpu::Buffer,
    adapter: String,
    description: String,
}

/// Runs `bench` (see the module docs).
pub fn run(args: &BenchArgs) -> CliResult {
    match bench(args) {
        // A reader that stops early (`| head`) took all it wanted: not a
        // failure of the benchmark.
        Ok(()) | Err(Stop::PipeClosed) => Ok(ExitCode::SUCCESS),
        Err(Stop::Failed(e)) => Err(e),
    }
}

/// Why [`bench`] stopped before the end.
enum Stop {
    /// A real failure, reported to the user.
    Failed(CliError),
    /// Stdout was closed by its reader.
    PipeClosed,
}

impl From<CliError> for Stop {
    fn from(e: CliError) -> Self {
        Stop::Failed(e)
    }
}

impl From<weight_init::Error> for Stop {
    fn from(e: weight_init::Error) -> Self {
        Stop::Failed(e.into())
    }
}

/// The whole command; output goes to stdout as each row is measured.
fn bench(args: &BenchArgs) -> Result<(), Stop> {
    if !(1..=super::MAX_REPEATS).contains(&args.repeats) {
        return Err(CliError(format!(
            "--repeats must be 1 to {}, not {}",
            super::MAX_REPEATS,
            args.repeats
        ))
        .into());
    }
    args.fill.check_size()?;
    let requested = args.fill.size;
    let bytes = requested / 4 * 4;
    let dtypes = dedup(&args.fill.dtype);
    if dtypes.is_empty() {
        return Err(CliError("--dtype names no dtype".into()).into());
    }
    let cases = resolve_cases(args, bytes, &dtypes)?;
    let (threads, pool) = match args.threads {
        Some(n) => (
            n,
            Threads::count(n).map_err(|_| CliError("--threads must be at least 1".into()))?,
        ),
        None => (
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            Threads::all(),
        ),
    };
    if bytes != requested {
        eprintln!(
            "weight-init: --size {requested} bytes is not a multiple of 4; \
             benchmarking {bytes} bytes (whole elements of every dtype)"
        );
    }

    let gpu = match gpu_or_cpu(args.fill.cpu_only) {
        Some(ctx) => Some(open_gpu(ctx, bytes)?),
        None => None,
    };
    let host_len = usize::try_from(bytes).map_err(|_| {
        CliError(format!(
            "--size {bytes} bytes does not fit this machine's address space"
        ))
    })?;
    let mut host = Vec::new();
    host.try_reserve_exact(host_len).map_err(|_| {
        CliError(format!(
            "cannot allocate {bytes} bytes ({}) of host memory for the CPU fills; use a smaller --size",
            human_bytes(bytes)
        ))
    })?;
    host.resize(host_len, 0u8);

    let bar = progress(cases.len() as u64 + 1 + u64::from(gpu.is_some()), "bench");
    let repeats = args.repeats;

    let baselines = match &gpu {
        Some(g) => {
            bar.set_message("GPU write bandwidth baselines");
            let b = measure_baselines(g, bytes, args.fill.seed, repeats)?;
            bar.inc(1);
            Some(b)
        }
        None => None,
    };
    bar.set_message("host write bandwidth baselines");
    let host_baselines =
        measure_host_baselines(&mut host, threads, &pool, args.fill.seed, repeats)?;
    bar.inc(1);

    let out = std::io::stdout();
    let mut out = out.lock();
    let scheme_width = cases
        .iter()
        .map(|c| c.scheme.len())
        .max()
        .unwrap_or(6)
        .max("scheme".len());
    // The `--json` common fields (src/cli/report.rs) of GPU and CPU rows.
    let seed = Some(args.fill.seed);
    let cpu_common = Common::cpu("bench", seed);
    let gpu_common = gpu.as_ref().map(|g| Common {
        command: "bench",
        backend: Backend::Gpu,
        adapter: Some(g.adapter.clone()),
        seed,
    });
    let mut json_rows = 0u64;
    if args.json {
        let gpu_side = gpu_common.as_ref().zip(baselines.as_ref());
        let sides = gpu_side
            .map(|(c, b)| (c, Value::Null, b))
            .into_iter()
            .chain([(&cpu_common, Value::from(threads), &host_baselines)]);
        for (common, threads, b) in sides {
            let (best_name, best) = b.best();
            for (name, t) in b.0 {
                // The constant rows store f32 words; memset and
                // clear_buffer store bytes of no dtype.
                let dtype = (name == "constant").then_some(DType::F32);
                let row = common.row(json!({
                    "scheme": format!("baseline:{name}"),
                    "distribution": dtype.map(|_| Distribution::Constant(CONSTANT).to_string()),
                    "dtype": dtype.map(|d| d.name()),
                    "bytes": bytes,
                    "numel": dtype.map(|d| bytes / d.size_bytes() as u64),
                    "threads": threads,
                    "repeats": repeats,
                    "median_seconds": t.median_seconds,
                    "gbps": t.gbps,
                    "fraction_of_write_bandwidth": t.gbps / best,
                    "write_bandwidth_baseline": best_name,
                    "write_bandwidth_gbps": best,
                }));
                emit(&bar, &mut out, &row.to_string())?;
                json_rows += 1;
            }
        }
    } else {
        let header = header_lines(
            args,
            bytes,
            threads,
            gpu.as_ref(),
            baselines.as_ref(),
            &host_baselines,
        );
        emit(&bar, &mut out, &header)?;
        emit(
            &bar,
            &mut out,
            &format!(
                "{:<scheme_width$}  {:<5}  {:>11}  {:>9}  {:>10}  {:>9}  {:>10}  {:>8}",
                "scheme",
                "dtype",
                "bytes",
                "GPU GB/s",
                "GPU of bw",
                "CPU GB/s",
                "CPU of bw",
                "GPU/CPU"
            ),
        )?;
    }
    let (host_best_name, host_best) = host_baselines.best();

    for case in &cases {
        bar.set_message(format!("{} {}", case.scheme, case.dtype));
        let key = TensorKey::new(args.fill.seed, STREAM, case.numel);
        let gpu_timing = match &gpu {
            Some(g) => Some(median_of(repeats, || {
                g.ctx
                    .fill(&g.buffer, 0, &case.dist, case.dtype, &key, 0..case.numel)
            })?),
            None => None,
        }
        .map(|s| Timing::new(s, bytes));
        let cpu_timing = Timing::new(
            median_of(repeats, || {
                cpu::fill_bytes_with(
                    &case.dist,
                    case.dtype,
                    &key,
                    0..case.numel,
                    &mut host,
                    &pool,
                )
            })?,
            bytes,
        );
        let fraction = gpu_timing
            .zip(baselines.as_ref())
            .map(|(t, b)| t.gbps / b.best().1);
        let cpu_fraction = cpu_timing.gbps / host_best;
        if args.json {
            let common = |c: &Common| {
                c.row(json!({
                    "scheme": case.scheme,
                    "distribution": case.dist.to_string(),
                    "dtype": case.dtype.name(),
                    "bytes": bytes,
                    "numel": case.numel,
                    "repeats": repeats,
                }))
            };
            if let (Some(c), Some(t), Some(b)) = (&gpu_common, gpu_timing, &baselines) {
                let mut row = common(c);
                let (best_name, best) = b.best();
                extend(
                    &mut row,
                    json!({
                        "threads": Value::Null,
                        "median_seconds": t.median_seconds,
                        "gbps": t.gbps,
                        "fraction_of_write_bandwidth": fraction,
                        "write_bandwidth_baseline": best_name,
                        "write_bandwidth_gbps": best,
                    }),
                );
                emit(&bar, &mut out, &row.to_string())?;
                json_rows += 1;
            }
            let mut row = common(&cpu_common);
            extend(
                &mut row,
                json!({
                    "threads": threads,
                    "median_seconds": cpu_timing.median_seconds,
                    "gbps": cpu_timing.gbps,
                    "fraction_of_write_bandwidth": cpu_fraction,
                    "write_bandwidth_baseline": host_best_name,
                    "write_bandwidth_gbps": host_best,
                }),
            );
            emit(&bar, &mut out, &row.to_string())?;
            json_rows += 1;
        } else {
            let dash = || "-".to_string();
            emit(
                &bar,
                &mut out,
                &format!(
                    "{:<scheme_width$}  {:<5}  {:>11}  {:>9}  {:>10}  {:>9}  {:>10}  {:>8}",
                    case.scheme,
                    case.dtype.name(),
                    bytes,
                    gpu_timing.map_or_else(dash, |t| sig3(t.gbps)),
                    fraction.map_or_else(dash, |f| format!("{}%", sig3(100.0 * f))),
                    sig3(cpu_timing.gbps),
                    format!("{}%", sig3(100.0 * cpu_fraction)),
                    gpu_timing
                        .map_or_else(dash, |t| format!("{}x", sig3(t.gbps / cpu_timing.gbps))),
                ),
            )?;
        }
        bar.inc(1);
    }
    if args.json {
        let summary = gpu_common.as_ref().unwrap_or(&cpu_common).summary(json!({
            "rows": json_rows,
            "cases": cases.len(),
            "bytes": bytes,
            "repeats": repeats,
            "threads": threads,
        }));
        emit(&bar, &mut out, &summary.to_string())?;
    }
    bar.finish_and_clear();
    Ok(())
}

/// The value the constant-kernel baseline writes (any finite value would
/// do; it is not zero so that no driver can skip the work).
const CONSTANT: f32 = 0.5;

/// `dtypes` without repeats, in the order given.
fn dedup(dtypes: &[DType]) -> Vec<DType> {
    let mut out = Vec::new();
    for &d in dtypes {
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// Every (scheme, dtype) row, resolved and checked before any work: a
/// structured scheme, or parameters a dtype cannot hold, fail here.
fn resolve_cases(args: &BenchArgs, bytes: u64, dtypes: &[DType]) -> Result<Vec<Case>, CliError> {
    let mut cases = Vec::new();
    for init in args.fill.schemes() {
        for &dtype in dtypes {
            let numel = bytes / dtype.size_bytes() as u64;
            let dist = distribution_for(&init, bytes, dtype)?;
            Sampler::new(&dist, dtype)
                .map_err(|e| CliError(format!("`{init}` cannot be filled as {dtype}: {e}")))?;
            cases.push(Case {
                scheme: init.to_string(),
                dtype,
                numel,
                dist,
            });
        }
    }
    Ok(cases)
}

/// Checks the size against the adapter's limit and creates the one buffer
/// every GPU row fills, catching allocation errors as values.
fn open_gpu(ctx: GpuContext, bytes: u64) -> Result<Gpu, CliError> {
    let (adapter, description) = match ctx.adapter_info() {
        Some(info) => (
            info.name.clone(),
            format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type),
        ),
        None => ("unknown adapter".to_string(), "unknown adapter".to_string()),
    };
    let max = ctx.device().limits().max_buffer_size;
    if bytes > max {
        return Err(CliError(format!(
            "--size {bytes} bytes ({}) exceeds the largest buffer of {adapter}: {max} bytes ({}); \
             use a smaller --size, or --cpu-only",
            human_bytes(bytes),
            human_bytes(max)
        )));
    }
    let buffer = ctx
        .create_buffer_checked(&wgpu::BufferDescriptor {
            label: Some("weight-init bench"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
        .map_err(|e| {
            CliError(format!(
                "cannot create a {bytes}-byte buffer on {adapter}: {e}; use a smaller --size, or --cpu-only"
            ))
        })?;
    let description = format!(
        "{description}, {} multiply",
        match ctx.mulhilo() {
            MulHiLo::Int64 => "64-bit integer",
            MulHiLo::Emulated => "16-bit-halves",
        }
    );
    Ok(Gpu {
        ctx,
        buffer,
        adapter,
        description,
    })
}

/// The constant baselines' fill: [`CONSTANT`] as f32 over `bytes`
/// (distribution, key, element count).
fn constant_case(bytes: u64, seed: u64) -> Result<(Distribution, TensorKey, u64), CliError> {
    let numel = bytes / 4;
    let key = TensorKey::new(seed, STREAM, numel);
    Ok((Distribution::constant(CONSTANT)?, key, numel))
}

/// `clear_buffer` and the f32 constant kernel on the bench buffer.
fn measure_baselines(g: &Gpu, bytes: u64, seed: u64, repeats: u32) -> Result<Baselines, CliError> {
    let clear = median_of(repeats, || {
        g.ctx.submit_checked(|enc| {
            enc.clear_buffer(&g.buffer, 0, None);
            Ok(())
        })
    })?;
    let (constant, key, numel) = constant_case(bytes, seed)?;
    let constant = median_of(repeats, || {
        g.ctx
            .fill(&g.buffer, 0, &constant, DType::F32, &key, 0..numel)
    })?;
    Ok(Baselines([
        ("clear_buffer", Timing::new(clear, bytes)),
        ("constant", Timing::new(constant, bytes)),
    ]))
}

/// The host's write bandwidth on `host` with the CPU rows' threads:
/// `memset` (`slice::fill`, split into contiguous chunks on scoped
/// threads as a CPU fill splits its output) and the CPU backend's f32
/// constant fill on `pool`.
fn measure_host_baselines(
    host: &mut [u8],
    threads: usize,
    pool: &Threads,
    seed: u64,
    repeats: u32,
) -> Result<Baselines, CliError> {
    let bytes = host.len() as u64;
    // As many chunks as a CPU fill of these bytes in f32 makes: at most
    // `threads`, none smaller than the CPU backend's 2^15 elements (a
    // smaller one would time thread start-up, not stores). The last chunk
    // runs on the calling thread, as in a fill.
    let chunks = threads.min(host.len() / (4 << 15)).max(1);
    let per = host.len().div_ceil(chunks).max(1);
    // Not zero: no kernel or allocator trick can skip the stores of a
    // non-zero pattern.
    const PATTERN: u8 = 0xa5;
    let memset = median_of(repeats, || {
        let mut parts: Vec<&mut [u8]> = host.chunks_mut(per).collect();
        let last = parts.pop().expect("at least one chunk");
        std::thread::scope(|s| {
            for chunk in parts {
                s.spawn(move || chunk.fill(PATTERN));
            }
            last.fill(PATTERN);
        });
        std::hint::black_box(&mut *host);
        Ok(())
    })?;
    let (constant, key, numel) = constant_case(bytes, seed)?;
    let constant = median_of(repeats, || {
        cpu::fill_bytes_with(&constant, DType::F32, &key, 0..numel, host, pool)
    })?;
    Ok(Baselines([
        ("memset", Timing::new(memset, bytes)),
        ("constant", Timing::new(constant, bytes)),
    ]))
}

/// Runs `f` once untimed, then `repeats` times timed; the median seconds.
fn median_of(
    repeats: u32,
    mut f: impl FnMut() -> weight_init::Result<()>,
) -> Result<f64, CliError> {
    f()?;
    let mut samples = Vec::with_capacity(repeats as usize);
    for _ in 0..repeats {
        let start = Instant::now();
        f()?;
        samples.push(start.elapsed().as_secs_f64());
    }
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    Ok(if n % 2 == 1 {
        samples[n / 2]
    } else {
        0.5 * (samples[n / 2 - 1] + samples[n / 2])
    })
}

/// The table's header: what was run, on what, and the baselines.
fn header_lines(
    args: &BenchArgs,
    bytes: u64,
    threads: usize,
    gpu: Option<&Gpu>,
    baselines: Option<&Baselines>,
    host: &Baselines,
) -> String {
    let mut s = format!(
        "weight-init bench: {bytes} bytes ({}) per fill, median of {} after 1 warm-up, seed {}\n",
        human_bytes(bytes),
        args.repeats,
        args.fill.seed
    );
    match (gpu, baselines) {
        (Some(g), Some(b)) => {
            let (best, _) = b.best();
            s += &format!("GPU: {}\n", g.description);
            let [(_, clear), (_, constant)] = b.0;
            s += &format!(
                "GPU write bandwidth, same buffer: clear_buffer {} GB/s, constant kernel (f32) {} GB/s; \
                 GPU fractions are of {best}, the larger\n",
                sig3(clear.gbps),
                sig3(constant.gbps)
            );
        }
        _ => {
            let why = if args.fill.cpu_only {
                "--cpu-only"
            } else {
                "no adapter"
            };
            s += &format!("GPU: none ({why}); CPU rows only\n");
        }
    }
    let (best, _) = host.best();
    let [(_, memset), (_, constant)] = host.0;
    s += &format!("CPU: {threads} threads\n");
    s += &format!(
        "host write bandwidth, same bytes and threads: memset {} GB/s, constant fill (f32) {} GB/s; \
         CPU fractions are of {best}, the larger",
        sig3(memset.gbps),
        sig3(constant.gbps)
    );
    s
}

/// Writes one line to stdout without tearing a visible progress bar. A
/// closed pipe (`| head`) ends the run quietly instead of panicking as
/// `println!` would.
fn emit(bar: &indicatif::ProgressBar, out: &mut impl Write, line: &str) -> Result<(), Stop> {
    bar.suspend(|| writeln!(out, "{line}").and_then(|()| out.flush()))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => Stop::PipeClosed,
            _ => Stop::Failed(e.into()),
        })
}

/// Adds `extra`'s fields to the object `row`.
fn extend(row: &mut Value, extra: Value) {
    if let (Value::Object(r), Value::Object(e)) = (row, extra) {
        r.extend(e);
    }
}

/// Three significant digits, without exponent notation.
fn sig3(x: f64) -> String {
    if !x.is_finite() || x <= 0.0 {
        return format!("{x}");
    }
    let decimals = (2 - x.log10().floor() as i32).clamp(0, 9) as usize;
    format!("{x:.decimals$}")
}

/// Bytes in binary units (`64 MiB`, `1.5 GiB`) for messages.
fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if v == v.trunc() {
        format!("{v} {}", UNITS[unit])
    } else {
        format!("{v:.2} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_digits() {
        assert_eq!(sig3(27.23), "27.2");
        assert_eq!(sig3(0.01834), "0.0183");
        assert_eq!(sig3(5.98), "5.98");
        assert_eq!(sig3(123.4), "123");
    }

    #[test]
    fn binary_units() {
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes(3 << 29), "1.50 GiB");
        assert_eq!(human_bytes(10), "10 B");
    }
}
