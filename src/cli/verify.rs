//! `weight-init verify`: fills every scheme in every dtype on the GPU and on
//! the CPU and checks, per (scheme, dtype):
//!
//! 1. GPU against CPU: bit-exact for every distribution and dtype, as the
//!    contract promises; the fraction of identical elements and the largest
//!    distance in ULP of `max(|cpu value|, scale)` are reported either way;
//! 2. the CPU samples' mean and std against the exact distribution's, as
//!    z-scores;
//! 3. a Kolmogorov–Smirnov test against the exact CDF;
//! 4. min and max against the distribution's bounds.
//!
//! It prints one table row per (scheme, dtype) (with `--json`, one JSON
//! object per row and a summary, `src/cli/report.rs`) and exits 1 when any
//! check fails. `--plot DIR` also writes a histogram per (scheme, dtype) of
//! the very values that were verified: the GPU's where the GPU was
//! checked, else the CPU's, decoded from the dtype verified. With
//! `--require-gpu` a run that finds no adapter is an error (exit 2)
//! instead of a CPU-only check.

use std::process::ExitCode;

use serde_json::json;
use weight_init::gpu::GpuContext;
use weight_init::sampler::NORMAL_MAX_ABS_Z;
use weight_init::stats::{self, Agreement, Exactness, KsResult};
use weight_init::{cpu, DType, Distribution, Init, Sampler, TensorKey};

use super::plot::{PlotDir, PlotText};
use super::report::{self, Common};
use super::{CliError, CliResult, VerifyArgs};

/// The KS test runs on at most this many samples (the tensor's first
/// elements): enough to see a CDF error of about 0.2%, and sorting more
/// costs time without telling more.
pub const KS_MAX_SAMPLES: u64 = 1_000_000;

/// Bytes per GPU fill and readback: large tensors are checked chunk by
/// chunk (fills of element ranges, which the contract makes identical to
/// one whole fill), so memory stays bounded whatever `--size` is.
const CHUNK_BYTES: u64 = 16 << 20;

/// Runs `verify`.
pub fn run(args: &VerifyArgs) -> CliResult {
    let opts = &args.fill;
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(CliError(format!(
            "--alpha must lie in (0, 1), not {}",
            args.alpha
        )));
    }
    let std_factor = args.perturb_expected_std.unwrap_or(1.0);
    if !(std_factor.is_finite() && std_factor > 0.0) {
        return Err(CliError(format!(
            "--perturb-expected-std must be finite and > 0, not {std_factor}"
        )));
    }
    if opts.dtype.is_empty() {
        return Err(CliError("--dtype names no dtype".into()));
    }
    opts.check_size()?;
    let written = opts.written();
    // Everything that can be refused is refused before any fill: bad
    // schemes, unrepresentable dtypes, an unusable plot directory.
    let cases = build_cases(&written, opts.size, &opts.dtype, opts.seed)?;
    // The plots draw the samples each row verified, in its dtype.
    let mut plots = match &args.plot {
        Some(dir) => Some(PlotDir::prepare(dir)?),
        None => None,
    };
    let gpu = if args.require_gpu {
        Some(GpuContext::new_default().map_err(|e| {
            let e = e.to_string();
            // The library's error usually says how to get an adapter already.
            let hint = if e.contains("mesa-vulkan-drivers") {
                ""
            } else {
                "; on a machine without a GPU install Mesa's software Vulkan driver \
                 (lavapipe): `apt-get install mesa-vulkan-drivers`"
            };
            CliError(format!(
                "--require-gpu: no GPU adapter found ({e}){hint}; without --require-gpu, verify \
                 checks the CPU backend only"
            ))
        })?)
    } else {
        super::gpu_or_cpu(opts.cpu_only)
    };
    let common = Common::new("verify", gpu.as_ref(), Some(opts.seed));
    // With `--json`, stdout holds JSON lines only; what the table run
    // prints around the table goes to stderr.
    let say = |line: String| {
        if args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    let z_crit = stats::two_sided_normal_quantile(args.alpha);
    let limits = Limits {
        alpha: args.alpha,
        z_crit,
        std_factor,
    };

    let backend = match (&gpu, opts.cpu_only) {
        (Some(ctx), _) => ctx.adapter_info().map_or("GPU adapter".to_string(), |i| {
            format!("{} ({:?})", i.name, i.backend)
        }),
        (None, true) => "none (--cpu-only)".into(),
        (None, false) => "none found".into(),
    };
    say(format!(
        "verify: {} bytes per tensor, seed {}, alpha {} (|z| bound {z_crit:.3}), GPU: {backend}",
        opts.size, opts.seed, args.alpha
    ));
    for (stream, w) in written.iter().enumerate() {
        if let Some(c) = cases.iter().find(|c| c.stream == stream as u64) {
            say(format!("  stream {stream}: {} -> {}", w.init, c.dist));
        }
    }
    let plot_samples = if plots.is_some() { KS_MAX_SAMPLES } else { 0 };

    let chunk_elements = |dtype: DType| -> u64 {
        let mut bytes = CHUNK_BYTES;
        if let Some(ctx) = &gpu {
            bytes = bytes.min(ctx.device().limits().max_buffer_size);
        }
        (bytes / dtype.size_bytes() as u64 / 2 * 2).max(2)
    };
    let steps: u64 = cases
        .iter()
        .map(|c| c.key.numel.div_ceil(chunk_elements(c.dtype)) + 1)
        .sum();
    let bar = super::progress(steps, "verify");
    let mut rows = Vec::with_capacity(cases.len());
    for case in &cases {
        bar.set_message(format!("{} {}", case.scheme, case.dtype));
        let row = verify_case(
            case,
            gpu.as_ref(),
            chunk_elements(case.dtype),
            &limits,
            plot_samples,
            &bar,
        );
        match row {
            Ok(r) => rows.push(r),
            Err(e) => {
                bar.abandon();
                return Err(e);
            }
        }
    }
    bar.finish_and_clear();

    if args.json {
        for r in &rows {
            report::print(&common.row(json_row(r)))?;
        }
    } else {
        print_table(&rows);
    }
    for line in notes(&rows, &limits, gpu.is_some(), &opts.dtype) {
        say(line);
    }

    let mut plotted = Vec::new();
    if let Some(dir) = plots.as_mut() {
        let source = match &gpu {
            Some(ctx) => format!(
                "the GPU: {}",
                ctx.adapter_info()
                    .map_or("unnamed adapter".to_string(), |i| {
                        format!("{} ({:?})", i.name, i.backend)
                    })
            ),
            None => "the CPU backend".to_string(),
        };
        for (case, row) in cases.iter().zip(&mut rows) {
            let samples = std::mem::take(&mut row.samples);
            match write_plot(dir, case, &samples, &source)? {
                Some(path) => {
                    let from = format!("{} {} samples from {source}", samples.len(), case.dtype);
                    let file = weight_init::files::show(&path);
                    say(format!("plot: {file} ({from})"));
                    plotted.push(json!({"file": file, "samples": from}));
                }
                None => say(format!(
                    "plot: `{}` {} skipped: a constant has no density to draw",
                    case.text, case.dtype
                )),
            }
        }
        if !dir.has_text() {
            say("plot: drawn without text (the font could not be loaded; see above)".into());
        }
    }

    let failed = rows.iter().filter(|r| !r.failures.is_empty()).count();
    if args.json {
        report::print(&common.summary(json!({
            "rows": rows.len(),
            "failed": failed,
            "passed": failed == 0,
            "bytes": opts.size,
            "alpha": args.alpha,
            "z_bound": z_crit,
            "gpu_compared": gpu.is_some(),
            "plots": plotted,
        })))?;
    } else if failed == 0 {
        println!("all {} rows passed", rows.len());
    } else {
        println!("{failed} of {} rows failed", rows.len());
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One row as JSON: the table's columns, unformatted, and why it failed.
fn json_row(r: &Row) -> serde_json::Value {
    json!({
        "scheme": r.scheme,
        "scheme_text": r.text,
        "distribution": r.distribution,
        "dtype": r.dtype.name(),
        "n": r.n,
        "bit_exact_fraction": r.gpu.as_ref().map(|g| g.exact_fraction()),
        "max_ulp": r.gpu.as_ref().map(|g| g.max_ulp),
        "z_mean": r.z_mean,
        "z_std": r.z_std,
        "ks_d": r.ks.map(|(k, _)| k.d),
        "ks_p": r.ks.map(|(k, _)| k.p_value),
        "ks_n": r.ks.map(|(_, n)| n),
        "min": r.min,
        "max": r.max,
        "result": if r.failures.is_empty() { "PASS" } else { "FAIL" },
        "failures": r.failures,
    })
}

/// One (scheme, dtype) to check, resolved.
struct Case {
    /// The scheme's canonical text.
    scheme: String,
    /// The scheme as the user wrote it.
    text: String,
    /// The scheme's position on the command line, used as its stream id.
    stream: u64,
    dtype: DType,
    key: TensorKey,
    dist: Distribution,
    sampler: Sampler,
}

fn build_cases(
    schemes: &[super::Written],
    size: u64,
    dtypes: &[DType],
    seed: u64,
) -> Result<Vec<Case>, CliError> {
    let mut cases = Vec::new();
    for (stream, w) in schemes.iter().enumerate() {
        let init: &Init = &w.init;
        for &dtype in dtypes {
            let numel = size / dtype.size_bytes() as u64;
            if numel == 0 {
                return Err(CliError(format!("--size {size} holds no {dtype} element")));
            }
            let dist = super::distribution_for(init, size, dtype)?;
            let sampler = Sampler::new(&dist, dtype)
                .map_err(|e| CliError(format!("`{init}` in {dtype}: {e}")))?;
            cases.push(Case {
                scheme: init.to_string(),
                text: w.text.clone(),
                stream: stream as u64,
                dtype,
                key: TensorKey::new(seed, stream as u64, numel),
                dist,
                sampler,
            });
        }
    }
    Ok(cases)
}

/// Thresholds shared by every row.
struct Limits {
    alpha: f64,
    /// Two-sided standard normal quantile at `alpha`.
    z_crit: f64,
    /// `--perturb-expected-std` (1 when absent).
    std_factor: f64,
}

/// One table row: what was measured and which checks failed.
struct Row {
    scheme: String,
    /// The scheme as the user wrote it.
    text: String,
    /// The distribution it resolved to.
    distribution: String,
    dtype: DType,
    n: u64,
    /// How the GPU's values compare with the CPU's.
    gpu: Option<Agreement>,
    z_mean: Option<f64>,
    z_std: Option<f64>,
    ks: Option<(KsResult, u64)>,
    min: f64,
    max: f64,
    failures: Vec<String>,
    /// The first values verified (the GPU's where it was checked), for
    /// `--plot`; empty without it.
    samples: Vec<f32>,
}

fn verify_case(
    case: &Case,
    gpu: Option<&GpuContext>,
    chunk_elements: u64,
    limits: &Limits,
    plot_samples: u64,
    bar: &indicatif::ProgressBar,
) -> Result<Row, CliError> {
    let (dist, dtype, key) = (&case.dist, case.dtype, &case.key);
    let exact = match (dtype, dist) {
        (DType::F32, _) | (_, Distribution::Constant(_)) => stats::exact_moments(dist),
        _ => stats::rounded_moments(dist, &case.sampler),
    };
    let esize = dtype.size_bytes() as u64;
    let numel = key.numel;
    let chunk = chunk_elements.min(numel);
    let gpu_buffer = gpu
        .map(|ctx| storage_buffer(ctx, chunk * esize))
        .transpose()?;
    let scale = stats::ulp_scale(&case.sampler);

    let mut acc = stats::CentredMoments::new(exact.mean);
    let mut cpu_bytes = vec![0u8; (chunk * esize) as usize];
    let (mut cpu_vals, mut gpu_vals) = (Vec::new(), Vec::new());
    let mut agreement = Agreement::new();
    let keep = plot_samples.min(numel) as usize;
    let mut samples = Vec::with_capacity(keep);
    let mut start = 0;
    while start < numel {
        let end = (start + chunk).min(numel);
        let nb = ((end - start) * esize) as usize;
        cpu::fill_bytes(dist, dtype, key, start..end, &mut cpu_bytes[..nb])?;
        decode(&cpu_bytes[..nb], dtype, &mut cpu_vals);
        acc.add(&cpu_vals);
        if let (Some(ctx), Some(buf)) = (gpu, &gpu_buffer) {
            ctx.fill(buf, 0, dist, dtype, key, start..end)?;
            let got = ctx.read_buffer(buf, 0, nb as u64)?;
            decode(&got, dtype, &mut gpu_vals);
            agreement.add(&gpu_vals, &cpu_vals, scale, dtype);
        }
        // The plot shows what was verified: the GPU's values when the GPU
        // ran, in the dtype filled (decoded exactly to f32).
        let verified = if gpu.is_some() { &gpu_vals } else { &cpu_vals };
        let room = keep - samples.len();
        samples.extend_from_slice(&verified[..room.min(verified.len())]);
        bar.inc(1);
        start = end;
    }

    let mut failures = Vec::new();
    let gpu_match = gpu.map(|_| agreement);
    if let Some(m) = &gpu_match
        && !m.meets(Exactness::REQUIRED)
    {
        failures.push(format!(
                "GPU differs from CPU in {} of {numel} elements (up to {} ULP); the contract requires bit-exact values",
                numel - m.identical,
                m.max_ulp
            ));
    }

    let sample = acc.finish();
    let (mut z_mean, mut z_std) = (None, None);
    if let Distribution::Constant(_) = dist {
        // No spread to test against: every value must be the constant
        // rounded to the dtype, bit for bit.
        let v = case.sampler.offset() as f64;
        if sample.min != v || sample.max != v {
            failures.push(format!(
                "constant {v}: values range over [{}, {}]",
                sample.min, sample.max
            ));
        }
    } else {
        let sigma = exact.std * limits.std_factor;
        let n = sample.n as f64;
        let zm = (sample.mean - exact.mean) / (sigma / n.sqrt());
        z_mean = Some(zm);
        if zm.abs() > limits.z_crit || zm.is_nan() {
            failures.push(format!(
                "mean {:.6e} vs exact {:.6e}: z = {zm:.2}",
                sample.mean, exact.mean
            ));
        }
        if sample.n >= 2 {
            // Standard error of the sample std: sigma * sqrt((kurt - 1) /
            // (4n)) (delta method on the variance), with the exact
            // distribution's kurtosis (`stats::exact_moments`); the sample's own
            // 4th moment only where the closed form lost its digits.
            let kurt = exact.kurtosis.unwrap_or(sample.kurtosis);
            let se = sigma * ((kurt - 1.0) / (4.0 * n)).sqrt();
            let zs = (sample.std - sigma) / se;
            z_std = Some(zs);
            if zs.abs() > limits.z_crit || zs.is_nan() {
                failures.push(format!(
                    "std {:.6e} vs expected {sigma:.6e}: z = {zs:.2}",
                    sample.std
                ));
            }
        }
    }

    // KS on the f32 values of this very tensor (for 16-bit dtypes: its
    // values before rounding, since rounding to 8 or 11 significant bits
    // turns the CDF into a staircase the KS test sees at large n).
    let ks = if let Distribution::Constant(_) = dist {
        None
    } else {
        let m = numel.min(KS_MAX_SAMPLES);
        let mut xs = vec![0f32; m as usize];
        cpu::fill_f32(dist, key, 0..m, &mut xs)?;
        let r = stats::ks_one_sample(&xs, |x| stats::cdf(dist, x));
        if r.p_value < limits.alpha || r.p_value.is_nan() {
            failures.push(format!("KS D = {:.5}, p = {:.2e} < alpha", r.d, r.p_value));
        }
        Some((r, m))
    };
    bar.inc(1);

    if sample.nonfinite > 0 {
        failures.push(format!("{} values are NaN or infinite", sample.nonfinite));
    }
    if let Some(why) = bounds_violation(dist, dtype, sample.min, sample.max) {
        failures.push(why);
    }

    Ok(Row {
        scheme: case.scheme.clone(),
        text: case.text.clone(),
        distribution: case.dist.to_string(),
        dtype,
        n: numel,
        gpu: gpu_match,
        z_mean,
        z_std,
        ks,
        min: sample.min,
        max: sample.max,
        failures,
        samples,
    })
}

/// A buffer the GPU fills and the host reads back; creation errors (out of
/// memory) come back as values, not as wgpu's panicking default handler.
fn storage_buffer(ctx: &GpuContext, bytes: u64) -> Result<wgpu::Buffer, CliError> {
    ctx.create_buffer_checked(&wgpu::BufferDescriptor {
        label: Some("weight-init verify"),
        size: bytes.div_ceil(4) * 4,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
    .map_err(|e| CliError(format!("cannot create a {bytes}-byte GPU buffer: {e}")))
}

/// Little-endian bytes of `dtype` to f32 values (exact widening).
fn decode(bytes: &[u8], dtype: DType, out: &mut Vec<f32>) {
    out.clear();
    out.extend(dtype.decode_le(bytes));
}

/// Where the values of `dist` may lie, checked on min and max: a uniform
/// never returns `high` (also after rounding), a truncated normal stays in
/// `[a, b]`, a normal within `NORMAL_MAX_ABS_Z` std of its mean (plus one
/// ULP of the dtype at that distance, for the final roundings of
/// `mean + std * z`). Constants are checked exactly elsewhere.
fn bounds_violation(dist: &Distribution, dtype: DType, min: f64, max: f64) -> Option<String> {
    match dist {
        Distribution::Uniform(u) => {
            let (l, h) = (u.low() as f64, u.high() as f64);
            (min < l || max >= h)
                .then(|| format!("values [{min}, {max}] leave [{l}, {h}) (high must never occur)"))
        }
        Distribution::TruncatedNormal(t) => {
            let (a, b) = t.bounds();
            (min < a || max > b).then(|| format!("values [{min}, {max}] leave [{a}, {b}]"))
        }
        Distribution::Normal(n) => {
            let (m, s) = (n.mean() as f64, n.std() as f64);
            let reach = NORMAL_MAX_ABS_Z as f64 * s;
            let tol = dtype.ulp(m.abs() + reach);
            let far = (m - min).max(max - m);
            (far > reach + tol).then(|| {
                format!(
                    "values [{min}, {max}] reach {:.3} std from the mean (at most {NORMAL_MAX_ABS_Z})",
                    far / s
                )
            })
        }
        _ => None,
    }
}

/// A sample value for the table: every value is an f32 (or narrower), so
/// its shortest round-trip form shows exactly what was stored (a uniform's
/// largest f32 prints as 0.99999994, not as a rounded 1.000000); tiny
/// values in exponent form.
fn fmt_value(x: f64) -> String {
    let v = x as f32;
    if v != 0.0 && v.abs() < 1e-3 {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

fn fmt_p(p: f64) -> String {
    if p >= 1e-3 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

fn print_table(rows: &[Row]) {
    let header = [
        "scheme",
        "dtype",
        "n",
        "bit-exact",
        "max ULP",
        "mean z",
        "std z",
        "KS D",
        "KS p",
        "min",
        "max",
        "result",
    ];
    let dash = || "-".to_string();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.scheme.clone(),
                r.dtype.to_string(),
                r.n.to_string(),
                r.gpu
                    .as_ref()
                    // Truncated, not rounded: 100.000% only when every
                    // element is identical.
                    .map_or_else(dash, |g| {
                        format!("{:.3}%", (1e5 * g.exact_fraction()).floor() / 1e3)
                    }),
                r.gpu.as_ref().map_or_else(dash, |g| {
                    if g.max_ulp == g.max_ulp.round() {
                        format!("{:.0}", g.max_ulp)
                    } else {
                        format!("{:.2}", g.max_ulp)
                    }
                }),
                r.z_mean.map_or_else(dash, |z| format!("{z:+.2}")),
                r.z_std.map_or_else(dash, |z| format!("{z:+.2}")),
                r.ks.map_or_else(dash, |(k, _)| format!("{:.5}", k.d)),
                r.ks.map_or_else(dash, |(k, _)| fmt_p(k.p_value)),
                fmt_value(r.min),
                fmt_value(r.max),
                if r.failures.is_empty() {
                    "PASS"
                } else {
                    "FAIL"
                }
                .to_string(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |row: &[String]| {
        let parts: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, &w))| {
                // Text columns left-aligned, numbers right-aligned.
                if i < 2 || i == row.len() - 1 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    println!();
    line(&header.map(String::from));
    for row in &cells {
        line(row);
    }
    println!();
}

fn notes(rows: &[Row], limits: &Limits, have_gpu: bool, dtypes: &[DType]) -> Vec<String> {
    let mut out = Vec::new();
    if have_gpu {
        out.push(
            "GPU vs CPU: bit-exact required for every scheme and dtype; `max ULP` is the largest \
             distance (in ULP of max(|cpu value|, scale)) where an element differs."
                .into(),
        );
    } else {
        out.push("GPU vs CPU: skipped (no GPU adapter in use); CPU statistics only.".into());
    }
    out.push(format!(
        "mean z = (mean - mu) / (sigma / sqrt(n)); std z uses the standard error \
         sigma * sqrt((kurtosis - 1) / (4n)), kurtosis of the exact distribution; |z| <= {:.3} \
         (two-sided, alpha {}).",
        limits.z_crit, limits.alpha
    ));
    out.push(format!(
        "KS against the exact CDF on the first min(n, {KS_MAX_SAMPLES}) elements; fails when p < {}.",
        limits.alpha
    ));
    if dtypes.iter().any(|d| *d != DType::F32) {
        out.push(
            "16-bit rows: KS on the f32 values of the same tensor before rounding (rounding to \
             bf16's 8 or f16's 11 significant bits makes a staircase CDF that KS rejects at large n); \
             mean, std, min and max on the rounded values, against the exact law of the rounded \
             values (the distribution's CDF summed over each representable value's rounding cell)."
                .into(),
        );
    }
    if limits.std_factor != 1.0 {
        out.push(format!(
            "--perturb-expected-std {}: expected std multiplied by this factor.",
            limits.std_factor
        ));
    }
    for r in rows.iter().filter(|r| !r.failures.is_empty()) {
        out.push(format!(
            "FAIL {} {}: {}",
            r.scheme,
            r.dtype,
            r.failures.join("; ")
        ));
    }
    out
}

/// Draws one row's histogram of `samples` (the values it verified, from
/// `source`) over its exact density; `None` for a constant, which has no
/// density.
fn write_plot(
    dir: &mut PlotDir,
    case: &Case,
    samples: &[f32],
    source: &str,
) -> Result<Option<std::path::PathBuf>, CliError> {
    let Some(pdf) = stats::density(&case.dist) else {
        return Ok(None);
    };
    let decoded = if case.dtype == DType::F32 {
        String::new()
    } else {
        format!(", decoded from {}", case.dtype)
    };
    let text = PlotText {
        title: format!("{} in {}", case.text, case.dtype),
        subtitle: format!(
            "{} {} samples from {source}{decoded}",
            samples.len(),
            case.dtype
        ),
        density: format!("exact density of {}", case.dist),
        stem: format!("{} {}", case.text, case.dtype),
    };
    dir.histogram(&text, samples, &pdf).map(Some)
}
