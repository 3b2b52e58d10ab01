//! `weight-init inspect FILE.safetensors`: per-tensor shape, dtype and
//! statistics, and a check of each tensor against its scheme: the one
//! `init` recorded for it in the file's metadata (`weight_init.init.NAME`),
//! or `--scheme` for every tensor. The scheme is resolved for the tensor's
//! shape as `init` resolved it (fans from the shape in `--layout`; a
//! `torch_default_bias` takes fan_in from its layer's weight), and the
//! tensor's mean and std are z-tested against that law rounded to the
//! tensor's dtype; the command exits 1 when a tensor fails.
//!
//! The header is read and checked whole by the library's one reader
//! (`weight_init::model::read_safetensors`: a regular file, a header
//! within the format's 100 MB limit, the format's rules), then each
//! tensor's bytes are streamed from the file in 8 MiB pieces, so a
//! checkpoint larger than memory can be inspected.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::process::ExitCode;

use safetensors::Dtype;
use serde_json::json;
use weight_init::dtype::{bf16_bits_to_f32, f16_bits_to_f32};
use weight_init::files::{escape, show};
use weight_init::model::{read_safetensors, HeaderTensor, Param, ParamSet, Rules};
use weight_init::stats::{self, Moments, RunningMoments};
use weight_init::{DType, Distribution, Init, Layout, Plan, Sampler};

use super::report::{self, Common};
use super::{CliError, CliResult, InspectArgs};
/// Bytes read per step while streaming a tensor.
const CHUNK: usize = 8 << 20;

/// Streaming moments of a tensor's finite values (`stats::RunningMoments`),
/// and a count of the others.
#[derive(Default)]
struct Running {
    finite: RunningMoments,
    non_finite: u64,
}

impl Running {
    fn push(&mut self, x: f64) {
        if x.is_finite() {
            self.finite.push(x);
        } else {
            self.non_finite += 1;
        }
    }

    /// Mean, std (n - 1), min and max of the finite values; with none, all 0.
    fn moments(&self) -> Moments {
        let m = self.finite.moments();
        if m.n == 0 {
            Moments {
                min: 0.0,
                max: 0.0,
                ..m
            }
        } else {
            m
        }
    }
}

/// Streams one tensor's values into the running statistics; `None` for
/// dtypes that are not floating point.
fn tensor_stats(
    file: &mut File,
    data_start: u64,
    info: &HeaderTensor,
) -> Result<Option<Running>, CliError> {
    Ok(segment_stats(file, data_start, info, &[])?.map(|mut v| v.remove(0)))
}

/// As [`tensor_stats`], and besides the whole tensor's statistics one
/// per element range of `ranges` (disjoint, in order): the whole first,
/// then each range's.
fn segment_stats(
    file: &mut File,
    data_start: u64,
    info: &HeaderTensor,
    ranges: &[std::ops::Range<u64>],
) -> Result<Option<Vec<Running>>, CliError> {
    let width = match info.dtype {
        Dtype::F32 => 4,
        Dtype::F16 | Dtype::BF16 => 2,
        Dtype::F64 => 8,
        _ => return Ok(None),
    };
    let (begin, end) = info.data_offsets;
    file.seek(SeekFrom::Start(data_start + begin as u64))?;
    let mut left = end - begin;
    let mut buf = vec![0u8; CHUNK.min(left.max(1))];
    let mut all: Vec<Running> = (0..=ranges.len()).map(|_| Running::default()).collect();
    let (r, parts) = all.split_first_mut().expect("the whole tensor's entry");
    let (mut index, mut part) = (0u64, 0usize);
    while left > 0 {
        let take = left.min(CHUNK);
        let chunk = &mut buf[..take];
        file.read_exact(chunk)?;
        for c in chunk.chunks_exact(width) {
            let x = match info.dtype {
                Dtype::F32 => f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
                Dtype::F16 => f16_bits_to_f32(u16::from_le_bytes([c[0], c[1]])) as f64,
                Dtype::BF16 => bf16_bits_to_f32(u16::from_le_bytes([c[0], c[1]])) as f64,
                _ => f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
            };
            r.push(x);
            while part < ranges.len() && ranges[part].end <= index {
                part += 1;
            }
            if part < ranges.len() && ranges[part].contains(&index) {
                parts[part].push(x);
            }
            index += 1;
        }
        left -= take;
    }
    Ok(Some(all))
}

/// Where a tensor's scheme came from.
#[derive(Clone, Copy)]
enum Source {
    /// `--scheme`, for every tensor.
    Flag,
    /// The file's `weight_init.init.NAME`, as `init` recorded it.
    Metadata,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Flag => "--scheme",
            Source::Metadata => "metadata",
        }
    }
}

/// A tensor's check against its scheme.
enum Check {
    /// No scheme to check against.
    None,
    /// The scheme's law for this tensor is unknown here, and why.
    NotApplicable { scheme: String, why: String },
    /// Tested: the law's mean and std against the measured ones.
    Tested {
        scheme: String,
        expected_mean: f64,
        expected_std: f64,
        z_mean: Option<f64>,
        z_std: Option<f64>,
        pass: bool,
        why: Option<String>,
    },
}

impl Check {
    fn scheme(&self) -> Option<&str> {
        match self {
            Check::None => None,
            Check::NotApplicable { scheme, .. } | Check::Tested { scheme, .. } => Some(scheme),
        }
    }

    fn result(&self) -> Option<&'static str> {
        match self {
            Check::None => None,
            Check::NotApplicable { .. } => Some("n/a"),
            Check::Tested { pass: true, .. } => Some("PASS"),
            Check::Tested { pass: false, .. } => Some("FAIL"),
        }
    }
}

/// What `inspect` knows about the file's schemes: each float tensor as a
/// parameter (the file's names, shapes and dtypes, `--layout`), so that a
/// scheme resolves for a tensor exactly as `ParamSet::resolve` resolved it
/// when `init` wrote the file (a `torch_default_bias` takes its fan_in from
/// its layer's weight).
struct Schemes {
    params: Vec<Param>,
    /// `weight_init.shard`, when the file is one shard.
    shard: Option<String>,
    /// A mesh shard's `weight_init.global_shape.NAME`: the unsharded
    /// shapes, whose fans the schemes were resolved with.
    global: std::collections::HashMap<String, Vec<u64>>,
}

impl Schemes {
    fn new(tensors: &[HeaderTensor], metadata: &[(String, String)], layout: Layout) -> Self {
        let params = tensors
            .iter()
            .filter_map(|t| {
                let dtype = file_dtype(t.dtype)?;
                let shape = t.shape.iter().map(|&d| d as u64).collect();
                Some(
                    Param::new(t.name.clone(), shape, dtype)
                        .with_layout(layout)
                        .with_init(Init::Zeros),
                )
            })
            .collect();
        let shard = metadata
            .iter()
            .find(|(k, _)| k == "weight_init.shard")
            .map(|(_, v)| v.clone());
        let global = metadata
            .iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix("weight_init.global_shape.")?;
                let shape = serde_json::from_str::<Vec<u64>>(v).ok()?;
                Some((name.to_string(), shape))
            })
            .collect();
        Self {
            params,
            shard,
            global,
        }
    }

    /// The law of tensor `name` under `init` by element ranges (one range
    /// for most schemes; `normal_padded` and `lstm_forget_bias` have
    /// several), or why there is none here.
    fn resolve(
        &self,
        name: &str,
        init: &Init,
    ) -> Result<Vec<(std::ops::Range<u64>, Distribution)>, String> {
        let Some(at) = self.params.iter().position(|p| p.name == name) else {
            return Err("not a floating-point tensor".into());
        };
        // A mesh shard resolves with the unsharded shapes `init` used:
        // the fans, and a law that does not depend on the position, hold
        // for the part too.
        let whole = |p: &Param| match self.global.get(&p.name) {
            Some(g) => {
                let mut q = p.clone();
                q.shape = g.clone();
                q
            }
            None => p.clone(),
        };
        let this = whole(&self.params[at]);
        let shape = &this.shape;
        if init.is_fan_based() && !self.global.contains_key(name) {
            if let Some(s) = &self.shard {
                return Err(format!(
                    "this file is shard {s}: the fans of the unsharded tensor are not recorded"
                ));
            }
            if *init != Init::TorchDefaultBias && shape.len() < 2 {
                return Err(format!(
                    "`{init}` takes fans from a weight of 2 or more dimensions; a {}-D tensor \
                     has none",
                    shape.len()
                ));
            }
        }
        // The tensor alone, plus (for a bias that takes its fans from its
        // weight) the tensors of its module, the only ones `ParamSet::resolve`
        // looks at; they take `zeros`, which resolves for any shape, so
        // only this tensor's scheme can fail. (Not the whole file: that
        // would be quadratic in the tensor count.)
        let mut params = vec![this.clone().with_init(init.clone())];
        if *init == Init::TorchDefaultBias {
            let module = parent(name);
            params.extend(
                self.params
                    .iter()
                    .enumerate()
                    .filter(|&(i, p)| i != at && parent(&p.name) == module)
                    .map(|(_, p)| whole(p)),
            );
        }
        let set = ParamSet::from_params(params).map_err(|e| e.to_string())?;
        match set.resolve(&Rules::default()) {
            Ok(r) => match &r.params()[0].plan {
                Plan::Sample(d) => Ok(vec![(0..shape.iter().product(), *d)]),
                // Segments are ranges of the unsharded tensor.
                Plan::Segments(_) if self.shard.is_some() => Err(format!(
                    "`{init}` gives ranges of the unsharded tensor their own laws, and this \
                     file is one shard of it"
                )),
                Plan::Segments(v) => Ok(v.clone()),
                _ => Err(format!(
                    "`{init}` is not elementwise: its values have no per-element law to test"
                )),
            },
            Err(_) if *init == Init::TorchDefaultBias => Err(
                "needs fans from its weight: torch_default_bias takes fan_in from its layer's \
                 `weight` (or `kernel`), and this file has none beside it"
                    .into(),
            ),
            Err(weight_init::Error::Param { source, .. }) => Err(source.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The module of a parameter name: everything before its last `.` or `/`.
fn parent(name: &str) -> &str {
    name.rsplit_once(['.', '/']).map_or("", |(m, _)| m)
}

/// The crate's dtype of a file's floating-point tensor (F64 is read as
/// f64; its law is resolved as f32's).
fn file_dtype(d: Dtype) -> Option<DType> {
    match d {
        Dtype::F32 | Dtype::F64 => Some(DType::F32),
        Dtype::F16 => Some(DType::F16),
        Dtype::BF16 => Some(DType::BF16),
        _ => None,
    }
}

/// Checks each element range of a tensor against its own law (reading the
/// tensor once more, range by range); the tensor passes when every range
/// does. The row shows the largest range's law and z-scores, and names
/// the ranges that fail.
fn test_segments(
    file: &mut File,
    data_start: u64,
    info: &HeaderTensor,
    init: &Init,
    laws: &[(std::ops::Range<u64>, Distribution)],
    z_crit: f64,
) -> Result<Check, CliError> {
    let ranges: Vec<_> = laws.iter().map(|(r, _)| r.clone()).collect();
    let Some(stats) = segment_stats(file, data_start, info, &ranges)? else {
        return Ok(Check::NotApplicable {
            scheme: init.to_string(),
            why: "not a floating-point dtype".into(),
        });
    };
    let checks: Vec<Check> = laws
        .iter()
        .zip(&stats[1..])
        .map(|((_, d), r)| test_law(init.to_string(), d, info.dtype, r, z_crit))
        .collect();
    let failures: Vec<String> = laws
        .iter()
        .zip(&checks)
        .filter_map(|((range, d), c)| match c {
            Check::Tested {
                pass: false, why, ..
            } => Some(format!(
                "elements {}..{} ({d:?}): {}",
                range.start,
                range.end,
                why.as_deref().unwrap_or("failed")
            )),
            _ => None,
        })
        .collect();
    let largest = (0..laws.len())
        .max_by_key(|&i| laws[i].0.end - laws[i].0.start)
        .expect("at least one range");
    Ok(match checks.into_iter().nth(largest) {
        Some(Check::Tested {
            expected_mean,
            expected_std,
            z_mean,
            z_std,
            ..
        }) => Check::Tested {
            scheme: init.to_string(),
            expected_mean,
            expected_std,
            z_mean,
            z_std,
            pass: failures.is_empty(),
            why: (!failures.is_empty()).then(|| failures.join("; ")),
        },
        other => other.unwrap_or(Check::None),
    })
}

/// Checks one tensor's measured moments against `dist` rounded to its
/// dtype, with two-sided z-tests at `z_crit`.
fn test_law(scheme: String, dist: &Distribution, dtype: Dtype, r: &Running, z_crit: f64) -> Check {
    let m = r.moments();
    let sampler = file_dtype(dtype)
        .filter(|d| *d != DType::F32 || dtype == Dtype::F32)
        .map(|d| Sampler::new(dist, d));
    let exact = match (&sampler, dist) {
        (
            Some(Ok(s)),
            Distribution::Uniform(_) | Distribution::Normal(_) | Distribution::TruncatedNormal(_),
        ) if s.dtype() != DType::F32 => stats::rounded_moments(dist, s),
        _ => stats::exact_moments(dist),
    };
    let mut why = Vec::new();
    if r.non_finite > 0 {
        why.push(format!("{} values are NaN or infinite", r.non_finite));
    }
    let (mut z_mean, mut z_std) = (None, None);
    if let Distribution::Constant(_) = dist {
        // No spread: every value must be the constant in the dtype.
        let v = match &sampler {
            Some(Ok(s)) => s.offset() as f64,
            _ => exact.mean,
        };
        if m.n > 0 && (m.min != v || m.max != v) {
            why.push(format!(
                "constant {v}: values range over [{}, {}]",
                m.min, m.max
            ));
        }
    } else if m.n >= 2 {
        let n = m.n as f64;
        let sigma = exact.std;
        let zm = (m.mean - exact.mean) / (sigma / n.sqrt());
        // Standard error of the sample std, sigma * sqrt((kurt - 1) / (4n))
        // (delta method, as `verify`); where the closed-form kurtosis is not
        // trusted, 3 (a normal's), the largest of the laws filled here.
        let kurt = exact.kurtosis.unwrap_or(3.0);
        let zs = (m.std - sigma) / (sigma * ((kurt - 1.0) / (4.0 * n)).sqrt());
        if zm.abs() > z_crit || zm.is_nan() {
            why.push(format!("mean z = {zm:.2}"));
        }
        if zs.abs() > z_crit || zs.is_nan() {
            why.push(format!("std z = {zs:.2}"));
        }
        (z_mean, z_std) = (Some(zm), Some(zs));
    } else {
        return Check::NotApplicable {
            scheme,
            why: "fewer than 2 elements: no std to test".into(),
        };
    }
    Check::Tested {
        scheme,
        expected_mean: exact.mean,
        expected_std: exact.std,
        z_mean,
        z_std,
        pass: why.is_empty(),
        why: (!why.is_empty()).then(|| why.join("; ")),
    }
}

/// One tensor's output row.
struct Row {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    stats: Option<Running>,
    source: Option<Source>,
    check: Check,
}

/// Prints the table (or JSON lines); exits 1 when a tensor fails its
/// scheme's test.
pub fn run(args: &InspectArgs) -> CliResult {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(CliError(format!(
            "--alpha must lie in (0, 1), not {}",
            args.alpha
        )));
    }
    let path = args.file.as_path();
    let (mut file, header) = read_safetensors(path)?;
    let (tensors, data_start) = (&header.tensors, header.data_start);
    let recorded = |name: &str| {
        let key = format!("weight_init.init.{name}");
        header
            .metadata
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    };
    let seed = header
        .metadata
        .iter()
        .find(|(k, _)| k == "weight_init.seed")
        .and_then(|(_, v)| v.parse::<u64>().ok());
    let schemes = Schemes::new(tensors, &header.metadata, args.layout);
    let z_crit = stats::two_sided_normal_quantile(args.alpha);
    let bar = super::progress(tensors.len() as u64, "inspect");
    let mut rows = Vec::with_capacity(tensors.len());
    for info in tensors {
        let stats = tensor_stats(&mut file, data_start, info)?;
        let (source, scheme) = match (&args.scheme, recorded(&info.name)) {
            (Some(init), _) => (Some(Source::Flag), Some(Ok(init.clone()))),
            (None, Some(text)) => (
                Some(Source::Metadata),
                Some(text.parse::<Init>().map_err(|e| (text.to_string(), e))),
            ),
            (None, None) => (None, None),
        };
        let check = match (scheme, &stats) {
            (None, _) => Check::None,
            (Some(Err((text, e))), _) => Check::NotApplicable {
                scheme: text,
                why: format!("the recorded scheme does not parse: {e}"),
            },
            (Some(Ok(init)), None) => Check::NotApplicable {
                scheme: init.to_string(),
                why: "not a floating-point dtype".into(),
            },
            (Some(Ok(init)), Some(r)) => match schemes.resolve(&info.name, &init) {
                Ok(laws) if laws.len() == 1 => {
                    test_law(init.to_string(), &laws[0].1, info.dtype, r, z_crit)
                }
                Ok(laws) => test_segments(&mut file, data_start, info, &init, &laws, z_crit)?,
                Err(why) => Check::NotApplicable {
                    scheme: init.to_string(),
                    why,
                },
            },
        };
        rows.push(Row {
            name: info.name.clone(),
            dtype: info.dtype,
            shape: info.shape.clone(),
            stats,
            source,
            check,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let failed = rows
        .iter()
        .filter(|r| matches!(r.check, Check::Tested { pass: false, .. }))
        .count();
    let tested = rows
        .iter()
        .filter(|r| matches!(r.check, Check::Tested { .. }))
        .count();
    if args.json {
        let common = Common::cpu("inspect", seed);
        for r in &rows {
            report::print(&common.row(json_row(r)))?;
        }
        report::print(&common.summary(json!({
            "file": show(path),
            "tensors": rows.len(),
            "tested": tested,
            "failed": failed,
            "passed": failed == 0,
            "alpha": args.alpha,
            "z_bound": z_crit,
            "shard": schemes.shard,
        })))?;
    } else {
        print_table(path, &rows, seed, args.alpha, z_crit, tested, failed);
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn json_row(r: &Row) -> serde_json::Value {
    let m = r.stats.as_ref().map(Running::moments);
    let (expected_mean, expected_std, z_mean, z_std, note) = match &r.check {
        Check::Tested {
            expected_mean,
            expected_std,
            z_mean,
            z_std,
            why,
            ..
        } => (
            Some(*expected_mean),
            Some(*expected_std),
            *z_mean,
            *z_std,
            why.clone(),
        ),
        Check::NotApplicable { why, .. } => (None, None, None, None, Some(why.clone())),
        Check::None => (None, None, None, None, None),
    };
    json!({
        "name": r.name,
        "dtype": format!("{:?}", r.dtype),
        "shape": r.shape,
        "mean": m.map(|m| m.mean),
        "std": m.map(|m| m.std),
        "min": m.map(|m| m.min),
        "max": m.map(|m| m.max),
        "non_finite": r.stats.as_ref().map(|s| s.non_finite),
        "scheme": r.check.scheme(),
        "scheme_source": r.source.map(Source::name),
        "expected_mean": expected_mean,
        "expected_std": expected_std,
        "std_ratio": m.zip(expected_std).and_then(|(m, e)| (e > 0.0).then(|| m.std / e)),
        "z_mean": z_mean,
        "z_std": z_std,
        "result": r.check.result(),
        "note": note,
    })
}

fn print_table(
    path: &std::path::Path,
    rows: &[Row],
    seed: Option<u64>,
    alpha: f64,
    z_crit: f64,
    tested: usize,
    failed: usize,
) {
    println!(
        "{}: {} tensors{}",
        show(path),
        rows.len(),
        seed.map_or(String::new(), |s| format!(" (seed {s})"))
    );
    let with_scheme = rows.iter().any(|r| !matches!(r.check, Check::None));
    print!(
        "{:<32} {:>5} {:>18} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "name", "dtype", "shape", "mean", "std", "min", "max", "non-finite"
    );
    if with_scheme {
        print!(
            " {:>12} {:>8} {:>7} {:>7} {:>6}  scheme",
            "expected std", "std/exp", "mean z", "std z", "result"
        );
    }
    println!();
    for r in rows {
        let name = escape(&r.name);
        let shape = format!("{:?}", r.shape);
        let dtype = format!("{:?}", r.dtype);
        let Some(s) = &r.stats else {
            println!(
                "{name:<32} {dtype:>5} {shape:>18} (not a floating-point dtype: no statistics)"
            );
            continue;
        };
        let m = s.moments();
        print!(
            "{:<32} {:>5} {:>18} {:>12.5e} {:>12.5e} {:>12.5e} {:>12.5e} {:>12}",
            name, dtype, shape, m.mean, m.std, m.min, m.max, s.non_finite
        );
        let z = |z: &Option<f64>| z.map_or_else(|| "-".to_string(), |z| format!("{z:+.2}"));
        match &r.check {
            Check::None => {}
            Check::NotApplicable { scheme, why } => print!(
                " {:>12} {:>8} {:>7} {:>7} {:>6}  {} ({})",
                "n/a",
                "-",
                "-",
                "-",
                "n/a",
                escape(scheme),
                escape(why)
            ),
            Check::Tested {
                scheme,
                expected_std,
                z_mean,
                z_std,
                why,
                ..
            } => {
                let ratio = if *expected_std > 0.0 {
                    format!("{:.4}", m.std / expected_std)
                } else {
                    "-".into()
                };
                print!(
                    " {:>12.5e} {:>8} {:>7} {:>7} {:>6}  {}",
                    expected_std,
                    ratio,
                    z(z_mean),
                    z(z_std),
                    r.check.result().unwrap_or("-"),
                    escape(scheme)
                );
                if let Some(why) = why {
                    print!(" ({why})");
                }
            }
        }
        println!();
    }
    if with_scheme {
        println!(
            "each tensor's mean and std against its scheme's law (rounded to its dtype): \
             two-sided z-tests at alpha {alpha} per tensor (|z| <= {z_crit:.3}); std z uses \
             the standard error sigma * sqrt((kurtosis - 1) / (4n))"
        );
        println!(
            "{tested} tensors tested, {failed} failed, {} not testable (n/a)",
            rows.iter()
                .filter(|r| matches!(r.check, Check::NotApplicable { .. }))
                .count()
        );
    }
}
