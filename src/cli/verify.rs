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
//! It prints one table row per (scheme, dtype) and exits 1 when any check
//! fails. `--plot DIR` also writes a histogram per scheme.

use std::f64::consts::{FRAC_1_SQRT_2, PI};
use std::process::ExitCode;

use weight_init::gpu::GpuContext;
use weight_init::sample::{bf16_bits_to_f32, f16_bits_to_f32, SamplerKind, NORMAL_MAX_ABS_Z};
use weight_init::stats::scaled_ulp_distance;
use weight_init::stats::{self, KsResult};
use weight_init::{cpu, DType, Distribution, Init, Sampler, TensorKey};

use super::plot::PlotDir;
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
    let schemes = opts.schemes();
    // Everything that can be refused is refused before any fill: bad
    // schemes, unrepresentable dtypes, an unusable plot directory.
    let cases = build_cases(&schemes, opts.size, &opts.dtype, opts.seed)?;
    // The plots draw f32 samples, whatever `--dtype` says.
    let mut plots = match &args.plot {
        Some(dir) => {
            let dists = schemes
                .iter()
                .map(|init| super::distribution_for(init, opts.size, DType::F32))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| CliError(format!("--plot (drawn from f32 samples): {e}")))?;
            Some((PlotDir::prepare(dir)?, dists))
        }
        None => None,
    };
    let gpu = super::gpu_or_cpu(opts.cpu_only);
    let z_crit = two_sided_normal_quantile(args.alpha);
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
    println!(
        "verify: {} bytes per tensor, seed {}, alpha {} (|z| bound {z_crit:.3}), GPU: {backend}",
        opts.size, opts.seed, args.alpha
    );
    for (stream, init) in schemes.iter().enumerate() {
        if let Some(c) = cases.iter().find(|c| c.stream == stream as u64) {
            println!("  stream {stream}: {init} -> {}", c.dist);
        }
    }

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

    print_table(&rows);
    print_notes(&rows, &limits, gpu.is_some(), &opts.dtype);

    if let Some((dir, dists)) = plots.as_mut() {
        write_plots(dir, &schemes, dists, opts.size, opts.seed)?;
    }

    let failed = rows.iter().filter(|r| !r.failures.is_empty()).count();
    if failed == 0 {
        println!("all {} rows passed", rows.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{failed} of {} rows failed", rows.len());
        Ok(ExitCode::from(1))
    }
}

/// One (scheme, dtype) to check, resolved.
struct Case {
    /// The scheme's canonical text.
    scheme: String,
    /// The scheme's position on the command line, used as its stream id.
    stream: u64,
    dtype: DType,
    key: TensorKey,
    dist: Distribution,
    sampler: Sampler,
}

fn build_cases(
    schemes: &[Init],
    size: u64,
    dtypes: &[DType],
    seed: u64,
) -> Result<Vec<Case>, CliError> {
    let mut cases = Vec::new();
    for (stream, init) in schemes.iter().enumerate() {
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

/// How the GPU's values compare with the CPU's.
struct GpuMatch {
    /// Fraction of elements with identical bits.
    exact_fraction: f64,
    /// Largest distance in ULP of `max(|cpu value|, scale)`.
    max_ulp: f64,
}

/// One table row: what was measured and which checks failed.
struct Row {
    scheme: String,
    dtype: DType,
    n: u64,
    gpu: Option<GpuMatch>,
    z_mean: Option<f64>,
    z_std: Option<f64>,
    ks: Option<(KsResult, u64)>,
    min: f64,
    max: f64,
    failures: Vec<String>,
}

fn verify_case(
    case: &Case,
    gpu: Option<&GpuContext>,
    chunk_elements: u64,
    limits: &Limits,
    bar: &indicatif::ProgressBar,
) -> Result<Row, CliError> {
    let (dist, dtype, key) = (&case.dist, case.dtype, &case.key);
    let exact = match (dtype, dist) {
        (DType::F32, _) | (_, Distribution::Constant(_)) => exact_moments(dist),
        _ => rounded_moments(dist, &case.sampler),
    };
    let esize = dtype.size_bytes() as u64;
    let numel = key.numel;
    let chunk = chunk_elements.min(numel);
    let gpu_buffer = gpu
        .map(|ctx| storage_buffer(ctx, chunk * esize))
        .transpose()?;
    let scale = ulp_scale(&case.sampler);

    let mut acc = Accumulator::new(exact.mean);
    let mut cpu_bytes = vec![0u8; (chunk * esize) as usize];
    let (mut cpu_vals, mut gpu_vals) = (Vec::new(), Vec::new());
    let (mut identical, mut max_ulp) = (0u64, 0f64);
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
            for (&g, &c) in gpu_vals.iter().zip(&cpu_vals) {
                if g.to_bits() == c.to_bits() {
                    identical += 1;
                } else {
                    // NaN never equals anything, so a NaN on either side
                    // counts as infinitely far.
                    let d = scaled_ulp_distance(g, c, scale, dtype);
                    max_ulp = if d.is_nan() {
                        f64::INFINITY
                    } else {
                        max_ulp.max(d)
                    };
                }
            }
        }
        bar.inc(1);
        start = end;
    }

    let mut failures = Vec::new();
    let gpu_match = gpu.map(|_| GpuMatch {
        exact_fraction: identical as f64 / numel as f64,
        max_ulp,
    });
    if let Some(m) = &gpu_match {
        if identical < numel {
            failures.push(format!(
                "GPU differs from CPU in {} of {numel} elements (up to {} ULP); the contract requires bit-exact values",
                numel - identical,
                m.max_ulp
            ));
        }
    }

    let sample = acc.finish();
    let (mut z_mean, mut z_std) = (None, None);
    if let Distribution::Constant(_) = dist {
        // No spread to test against: every value must be the constant
        // rounded to the dtype, bit for bit.
        let v = case.sampler.offset as f64;
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
            // distribution's kurtosis (`exact_moments`); the sample's own
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
        dtype,
        n: numel,
        gpu: gpu_match,
        z_mean,
        z_std,
        ks,
        min: sample.min,
        max: sample.max,
        failures,
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

/// The scale GPU-to-CPU distances are measured against: the std of a normal
/// or truncated normal (`Sampler::scale`), the half-width of a uniform (also
/// `Sampler::scale`), `|value|` (or 1 for zero) of a constant.
fn ulp_scale(sampler: &Sampler) -> f32 {
    match sampler.kind {
        SamplerKind::Constant if sampler.offset != 0.0 => sampler.offset.abs(),
        SamplerKind::Constant => 1.0,
        _ => sampler.scale.abs(),
    }
}

/// Little-endian bytes of `dtype` to f32 values (exact widening).
fn decode(bytes: &[u8], dtype: DType, out: &mut Vec<f32>) {
    out.clear();
    out.extend(dtype.decode_le(bytes));
}

/// Sample moments accumulated chunk by chunk. Sums are of deviations from
/// the exact mean (not `stats::Moments`' Welford update), so they stay
/// well conditioned over billions of values without a second pass, and
/// the 4th moment comes for free.
struct Accumulator {
    centre: f64,
    n: u64,
    s1: f64,
    s2: f64,
    s4: f64,
    min: f64,
    max: f64,
    nonfinite: u64,
}

/// What [`Accumulator::finish`] reports.
struct SampleMoments {
    n: u64,
    mean: f64,
    /// n - 1 denominator.
    std: f64,
    /// `m4 / m2^2` of the sample.
    kurtosis: f64,
    min: f64,
    max: f64,
    nonfinite: u64,
}

impl Accumulator {
    fn new(centre: f64) -> Self {
        Self {
            centre,
            n: 0,
            s1: 0.0,
            s2: 0.0,
            s4: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            nonfinite: 0,
        }
    }

    fn add(&mut self, xs: &[f32]) {
        // Per-chunk partial sums, then one add each: keeps the rounding
        // error of the totals near sqrt(chunks) rather than n ulps.
        let (mut s1, mut s2, mut s4) = (0.0f64, 0.0f64, 0.0f64);
        for &x in xs {
            let x = x as f64;
            if !x.is_finite() {
                self.nonfinite += 1;
                continue;
            }
            let d = x - self.centre;
            let d2 = d * d;
            s1 += d;
            s2 += d2;
            s4 += d2 * d2;
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.n += xs.len() as u64;
        self.s1 += s1;
        self.s2 += s2;
        self.s4 += s4;
    }

    fn finish(&self) -> SampleMoments {
        let n = (self.n - self.nonfinite) as f64;
        let mean_dev = self.s1 / n;
        let m2 = (self.s2 / n - mean_dev * mean_dev).max(0.0);
        let var = if n > 1.0 { m2 * n / (n - 1.0) } else { 0.0 };
        SampleMoments {
            n: self.n,
            mean: self.centre + mean_dev,
            std: var.sqrt(),
            kurtosis: (self.s4 / n) / (m2 * m2),
            min: self.min,
            max: self.max,
            nonfinite: self.nonfinite,
        }
    }
}

/// Mean, std and kurtosis (`mu4 / sigma^4`, 3 for a normal) of the exact,
/// continuous distribution.
struct Exact {
    mean: f64,
    std: f64,
    /// `None` where the closed form is not trustworthy (or there is none):
    /// the caller then uses the sample's own.
    kurtosis: Option<f64>,
}

fn exact_moments(dist: &Distribution) -> Exact {
    match dist {
        Distribution::Constant(v) => Exact {
            mean: *v as f64,
            std: 0.0,
            kurtosis: None,
        },
        Distribution::Uniform(u) => {
            let (l, h) = (u.low() as f64, u.high() as f64);
            Exact {
                mean: 0.5 * (l + h),
                std: (h - l) / 12f64.sqrt(),
                kurtosis: Some(1.8),
            }
        }
        Distribution::Normal(n) => Exact {
            mean: n.mean() as f64,
            std: n.std() as f64,
            kurtosis: Some(3.0),
        },
        Distribution::TruncatedNormal(t) => {
            let (alpha, beta) = t.std_bounds();
            let z = StdTruncated::new(alpha, beta);
            let (mu, var, mu4) = z.central_moments();
            let kurt = mu4 / (var * var);
            let (m, s) = (t.mean() as f64, t.std() as f64);
            Exact {
                mean: m + s * mu,
                std: s * var.sqrt(),
                // Deep one-sided tails cancel digits in mu4 (about
                // 8 log10(alpha) of them); an implausible result means the
                // closed form is past its precision.
                kurtosis: (kurt.is_finite() && (1.0..=100.0).contains(&kurt)).then_some(kurt),
            }
        }
        // `Distribution` is non-exhaustive: a kind this code has no formulas
        // for gets NaN expectations, so its row fails rather than passing
        // unchecked.
        _ => Exact {
            mean: f64::NAN,
            std: f64::NAN,
            kurtosis: None,
        },
    }
}

/// Mean, std and kurtosis of `dist` as a 16-bit dtype stores it: rounded to
/// the nearest representable value and clamped to the sampler's `[lo, hi]`.
///
/// The formulas of [`exact_moments`] are for the continuous distribution;
/// rounding to bf16 (8 significant bits) shifts the std by a fair part of a
/// standard error at large n, and by many where the spacing is not small
/// against the std (bf16 around 10 has spacing 0.0625, a truncated normal
/// on [10, 11] std units has std 0.097). So the 16-bit rows are held to
/// the exact law of what is stored: every one of the dtype's finite values
/// in `[lo, hi]` gets the probability of the cell that rounds to it,
/// `F(upper midpoint) - F(lower midpoint)` with the exact CDF (`stats::cdf`),
/// the end cells reaching to infinity because of the clamp. 65535 values
/// at most: milliseconds.
fn rounded_moments(dist: &Distribution, sampler: &Sampler) -> Exact {
    let to_f32 = |h: u16| match sampler.dtype {
        DType::F16 => f16_bits_to_f32(h),
        _ => bf16_bits_to_f32(h),
    };
    let (lo, hi) = (sampler.lo, sampler.hi);
    let mut values: Vec<f64> = (0..=u16::MAX)
        .filter(|&h| h != 0x8000) // -0 is the same value as +0
        .map(to_f32)
        .filter(|v| v.is_finite() && *v >= lo && *v <= hi)
        .map(f64::from)
        .collect();
    values.sort_by(f64::total_cmp);
    let mut probs = Vec::with_capacity(values.len());
    let mut below = 0.0;
    for i in 0..values.len() {
        let upto = match values.get(i + 1) {
            Some(next) => stats::cdf(dist, 0.5 * (values[i] + next)),
            None => 1.0,
        };
        probs.push((upto - below).max(0.0));
        below = upto.max(below);
    }
    let mean: f64 = values.iter().zip(&probs).map(|(v, p)| v * p).sum();
    let (mut m2, mut m4) = (0.0, 0.0);
    for (v, p) in values.iter().zip(&probs) {
        let d2 = (v - mean) * (v - mean);
        m2 += p * d2;
        m4 += p * d2 * d2;
    }
    let kurt = m4 / (m2 * m2);
    Exact {
        mean,
        std: m2.sqrt(),
        kurtosis: (kurt.is_finite() && kurt >= 1.0).then_some(kurt),
    }
}

/// The standard normal truncated to `[alpha, beta]` (std units; either may
/// be infinite).
struct StdTruncated {
    alpha: f64,
    beta: f64,
    /// `ln(Phi(beta) - Phi(alpha))`, computed on the side that keeps its
    /// digits, so tail intervals like `[10, 11]` stay accurate.
    ln_mass: f64,
}

impl StdTruncated {
    fn new(alpha: f64, beta: f64) -> Self {
        let tail = |a: f64, b: f64| {
            // P(a < Z < b) = Q(a) (1 - Q(b) / Q(a)) for a >= 0.
            let la = stats::ln_sf(a);
            la + (-(stats::ln_sf(b) - la).exp_m1()).ln()
        };
        let ln_mass = if alpha >= 0.0 {
            tail(alpha, beta)
        } else if beta <= 0.0 {
            tail(-beta, -alpha)
        } else {
            // Straddling the mean: erf(beta) and erf(alpha) have opposite
            // signs, so their difference cancels nothing.
            (0.5 * (libm::erf(beta * FRAC_1_SQRT_2) - libm::erf(alpha * FRAC_1_SQRT_2))).ln()
        };
        Self {
            alpha,
            beta,
            ln_mass,
        }
    }

    /// The truncated density at `z`: `phi(z) / (Phi(beta) - Phi(alpha))`
    /// inside the interval, 0 outside (and at infinite bounds).
    fn pdf(&self, z: f64) -> f64 {
        if z < self.alpha || z > self.beta || z.is_infinite() {
            return 0.0;
        }
        (-0.5 * z * z - 0.5 * (2.0 * PI).ln() - self.ln_mass).exp()
    }

    /// Mean, variance and 4th central moment. With `J_k = E[(Z - c)^k]`,
    /// integration by parts (`phi' = -z phi`) gives the standard recursion
    /// `J_k = (k-1) J_{k-2} - c J_{k-1} + B_k`,
    /// `B_k = ((alpha-c)^{k-1} phi(alpha) - (beta-c)^{k-1} phi(beta)) / mass`;
    /// taken about the mean `c` (so `J_1 = 0`) it is the textbook
    /// `var = 1 + (alpha phi(alpha) - beta phi(beta)) / mass - mean^2` without
    /// the cancellation of raw moments in the tails.
    fn central_moments(&self) -> (f64, f64, f64) {
        let (ra, rb) = (self.pdf(self.alpha), self.pdf(self.beta));
        let mean = ra - rb;
        let b = |k: i32| {
            let term = |x: f64, r: f64| {
                if r == 0.0 {
                    0.0
                } else {
                    (x - mean).powi(k - 1) * r
                }
            };
            term(self.alpha, ra) - term(self.beta, rb)
        };
        let j2 = 1.0 + b(2);
        let j3 = -mean * j2 + b(3);
        let j4 = 3.0 * j2 - mean * j3 + b(4);
        (mean, j2, j4)
    }
}

/// The exact density of `dist` (for the plots); `None` for a constant.
fn density(dist: &Distribution) -> Option<Box<dyn Fn(f64) -> f64>> {
    match *dist {
        Distribution::Uniform(u) => {
            let (l, h) = (u.low() as f64, u.high() as f64);
            Some(Box::new(
                move |x| if x >= l && x < h { 1.0 / (h - l) } else { 0.0 },
            ))
        }
        Distribution::Normal(n) => {
            let (m, s) = (n.mean() as f64, n.std() as f64);
            Some(Box::new(move |x| {
                let z = (x - m) / s;
                (-0.5 * z * z).exp() / ((2.0 * PI).sqrt() * s)
            }))
        }
        Distribution::TruncatedNormal(t) => {
            let (alpha, beta) = t.std_bounds();
            let z = StdTruncated::new(alpha, beta);
            let (m, s) = (t.mean() as f64, t.std() as f64);
            Some(Box::new(move |x| z.pdf((x - m) / s) / s))
        }
        _ => None,
    }
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

/// The two-sided standard normal quantile: `q` with `2 Phi(-q) = alpha`, by
/// bisection on `stats::normal_cdf` (3.2905 for alpha = 0.001).
fn two_sided_normal_quantile(alpha: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if 2.0 * stats::normal_cdf(-mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
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
                        format!("{:.3}%", (1e5 * g.exact_fraction).floor() / 1e3)
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

fn print_notes(rows: &[Row], limits: &Limits, have_gpu: bool, dtypes: &[DType]) {
    if have_gpu {
        println!(
            "GPU vs CPU: bit-exact required for every scheme and dtype; `max ULP` is the largest \
             distance (in ULP of max(|cpu value|, scale)) where an element differs."
        );
    } else {
        println!("GPU vs CPU: skipped (no GPU adapter in use); CPU statistics only.");
    }
    println!(
        "mean z = (mean - mu) / (sigma / sqrt(n)); std z uses the standard error \
         sigma * sqrt((kurtosis - 1) / (4n)), kurtosis of the exact distribution; |z| <= {:.3} \
         (two-sided, alpha {}).",
        limits.z_crit, limits.alpha
    );
    println!(
        "KS against the exact CDF on the first min(n, {KS_MAX_SAMPLES}) elements; fails when p < {}.",
        limits.alpha
    );
    if dtypes.iter().any(|d| *d != DType::F32) {
        println!(
            "16-bit rows: KS on the f32 values of the same tensor before rounding (rounding to \
             bf16's 8 or f16's 11 significant bits makes a staircase CDF that KS rejects at large n); \
             mean, std, min and max on the rounded values, against the exact law of the rounded \
             values (the distribution's CDF summed over each representable value's rounding cell)."
        );
    }
    if limits.std_factor != 1.0 {
        println!(
            "--perturb-expected-std {}: expected std multiplied by this factor.",
            limits.std_factor
        );
    }
    for r in rows.iter().filter(|r| !r.failures.is_empty()) {
        println!("FAIL {} {}: {}", r.scheme, r.dtype, r.failures.join("; "));
    }
}

/// One histogram per scheme of its f32 CPU samples (the first
/// `KS_MAX_SAMPLES` elements of the f32 tensor this `--size` gives) over the
/// exact density; `dists` are the schemes resolved for that tensor.
fn write_plots(
    dir: &mut PlotDir,
    schemes: &[Init],
    dists: &[Distribution],
    size: u64,
    seed: u64,
) -> Result<(), CliError> {
    let numel = (size / 4).max(1);
    for (stream, (init, dist)) in schemes.iter().zip(dists).enumerate() {
        let Some(pdf) = density(dist) else {
            println!("plot: `{init}` skipped: a constant has no density to draw");
            continue;
        };
        let m = numel.min(KS_MAX_SAMPLES);
        let mut xs = vec![0f32; m as usize];
        cpu::fill_f32(
            dist,
            &TensorKey::new(seed, stream as u64, numel),
            0..m,
            &mut xs,
        )?;
        let path = dir.histogram(&init.to_string(), &xs, &pdf)?;
        println!("plot: {}", weight_init::files::show(&path));
    }
    if !dir.has_text() {
        println!("plot: drawn without text (no font; see the warning above)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_matches_tables() {
        assert!((two_sided_normal_quantile(0.001) - 3.290527).abs() < 1e-5);
        assert!((two_sided_normal_quantile(0.05) - 1.959964).abs() < 1e-5);
    }

    #[test]
    fn truncated_moments_match_known_values() {
        // [-2, 2]: std 0.87962566103423978 (the constant JAX divides by).
        let (m, v, mu4) = StdTruncated::new(-2.0, 2.0).central_moments();
        assert!(m.abs() < 1e-15);
        assert!((v.sqrt() - 0.879_625_661_034_239_8).abs() < 1e-12);
        // The untruncated limit: variance 1, kurtosis 3.
        let (m, v, mu4_full) =
            StdTruncated::new(f64::NEG_INFINITY, f64::INFINITY).central_moments();
        assert!(m.abs() < 1e-15 && (v - 1.0).abs() < 1e-12 && (mu4_full - 3.0).abs() < 1e-12);
        // Half-normal: mean sqrt(2/pi), variance 1 - 2/pi.
        let (m, v, _) = StdTruncated::new(0.0, f64::INFINITY).central_moments();
        assert!((m - (2.0 / PI).sqrt()).abs() < 1e-12);
        assert!((v - (1.0 - 2.0 / PI)).abs() < 1e-12);
        // Against a fine midpoint rule on [-2, 2] for the 4th moment.
        let z = StdTruncated::new(-2.0, 2.0);
        let k = 200_000;
        let h = 4.0 / k as f64;
        let num: f64 = (0..k)
            .map(|i| {
                let x = -2.0 + (i as f64 + 0.5) * h;
                x.powi(4) * z.pdf(x) * h
            })
            .sum();
        assert!((num - mu4).abs() < 1e-8, "{num} vs {mu4}");
        // A deep tail keeps its digits: [10, 11] has mean ~ 10.098.
        let (m, v, _) = StdTruncated::new(10.0, 11.0).central_moments();
        assert!((m - 10.098).abs() < 1e-3 && v > 0.0 && v < 0.011, "{m} {v}");
    }

    #[test]
    fn rounded_moments_follow_the_stored_values() {
        // bf16 barely moves a standard normal...
        let d: Distribution = weight_init::Normal::new(0.0, 1.0).unwrap().into();
        let r = rounded_moments(&d, &Sampler::new(&d, DType::BF16).unwrap());
        assert!(
            r.mean.abs() < 1e-9 && (r.std - 1.0).abs() < 1e-4,
            "{} {}",
            r.mean,
            r.std
        );
        assert!((r.kurtosis.unwrap() - 3.0).abs() < 1e-2);
        // ...but a truncated normal on [10, 11] std units sits on a grid of
        // spacing 0.0625 wider than its std (0.097).
        let t: Distribution = weight_init::TruncatedNormal::new(0.0, 1.0, 10.0, 11.0)
            .unwrap()
            .into();
        let cont = exact_moments(&t);
        let r = rounded_moments(&t, &Sampler::new(&t, DType::BF16).unwrap());
        assert!((r.std - cont.std).abs() > 1e-3, "{} {}", r.std, cont.std);
        let r16 = rounded_moments(&t, &Sampler::new(&t, DType::F16).unwrap());
        assert!((r16.std - cont.std).abs() < 1e-4 && (r16.mean - cont.mean).abs() < 1e-4);
    }

    #[test]
    fn ulp_distance_in_dtype_units() {
        assert_eq!(
            scaled_ulp_distance(1.0, 1.0 + f32::EPSILON, 1.0, DType::F32),
            1.0
        );
        assert_eq!(scaled_ulp_distance(1.0, 1.0078125, 1.0, DType::BF16), 1.0);
        // Near zero, measured against the scale.
        assert_eq!(scaled_ulp_distance(0.0, f32::EPSILON, 1.0, DType::F32), 1.0);
    }
}
