//! `weight-init diagnose`: pushes a standard-normal batch through a deep MLP
//! initialized by each scheme and backpropagates a standard-normal output
//! gradient ([`weight_init::diagnose`]), on the GPU (or, with no adapter or
//! `--cpu-only`, through the single-threaded CPU reference, which is slow
//! at the default sizes).
//!
//! Output: per scheme, a table block (layer, activation mean and std,
//! gradient std, dead units, whether all units are identical) showing layer
//! 1, every k-th layer and the last (`--every k`; by default every layer up
//! to depth 20, else k = ceil(depth / 10)); or with `--json`, one JSON
//! object per (scheme, layer) with every layer, then a summary (common
//! fields: `src/cli/report.rs`). `--plot FILE.png` draws the
//! activation std against depth on a log scale, one line per scheme (a std
//! of exactly 0 is drawn at the chart's floor, and the caption says so).
//!
//! `--lsuv` adds one more block, LSUV (Mishkin & Matas 2016; the library's
//! `GpuContext::diagnose_lsuv`, or `lsuv_reference` on the CPU), named
//! `lsuv(tol=T, max_iter=N)`, after the schemes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use weight_init::diagnose::{
    cpu_tensors, lsuv_reference, reference, Activation, DiagnoseConfig, LsuvOptions, Report,
};
use weight_init::gpu::GpuContext;
use weight_init::Init;

use super::plot::{self, Series};
use super::report::{self, Common};
use super::{gpu_or_cpu, parse_schemes, CliError, CliResult};

/// The schemes `diagnose` runs when none is named: the comparison.
pub const DEFAULT_SCHEMES: &str = "kaiming_normal,xavier_normal,normal(std=0.01),zeros";

/// Arguments of `diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Number of layers: 1 to 100000. Every size is checked before any
    /// work: depth * (width^2 + 3 * batch * width) + 2 * batch * width
    /// (the values a run holds) must be at most 2^32 (16 GiB of f32).
    #[arg(long, default_value_t = 50)]
    pub depth: usize,
    /// Units per layer and input features (> 0; width^2 below 2^32).
    #[arg(long, default_value_t = 1024)]
    pub width: usize,
    /// Rows in the batch (> 0; batch * width below 2^32).
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Activation after every layer: linear, relu, leaky_relu, tanh,
    /// sigmoid, selu, gelu.
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// Schemes in the text form (`weight_init::Init`), resolved for a
    /// `[width, width]` weight (PyTorch layout); repeat the flag or separate
    /// with commas outside parentheses.
    #[arg(long)]
    pub scheme: Vec<String>,
    /// Generator seed (input, weights and output gradient).
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
    /// Draw activation std against depth (log scale) into this PNG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// One JSON object per (scheme, layer) on stdout instead of the table,
    /// then a summary (README, "JSON output").
    #[arg(long)]
    pub json: bool,
    /// Table rows: layer 1, every k-th layer and the last (default: every
    /// layer up to depth 20, else ceil(depth / 10)).
    #[arg(long)]
    pub every: Option<usize>,
    /// Skip the backward pass (gradient columns empty).
    #[arg(long)]
    pub forward_only: bool,
    /// Run the CPU reference even where an adapter exists (slow: one
    /// thread, f64 accumulation).
    #[arg(long)]
    pub cpu_only: bool,
    /// Also run LSUV (Mishkin & Matas 2016): an orthogonal start, each
    /// layer rescaled until its pre-activation variance on the batch is
    /// within --lsuv-tol of 1; shown after the schemes as
    /// `lsuv(tol=T, max_iter=N)`. With no --scheme, LSUV runs alone.
    #[arg(long)]
    pub lsuv: bool,
    /// LSUV's tolerance on |variance - 1|, in (0, 1) (the paper's 0.1).
    #[arg(long, default_value_t = LsuvOptions::PAPER_TOL, requires = "lsuv")]
    pub lsuv_tol: f64,
    /// LSUV's most forward passes per layer (1 to 1000).
    #[arg(long, default_value_t = 10, requires = "lsuv")]
    pub lsuv_max_iter: usize,
}

/// One row block of `diagnose`: a static scheme, or LSUV.
enum Run<'a> {
    Scheme(&'a Init),
    Lsuv(LsuvOptions),
}

impl Run<'_> {
    /// What the progress bar shows while the run is on.
    fn name(&self) -> String {
        match self {
            Run::Scheme(s) => s.to_string(),
            Run::Lsuv(o) => format!("lsuv(tol={}, max_iter={})", o.tol(), o.max_iter()),
        }
    }

    /// The run's report, on the GPU when there is one, else the CPU reference.
    fn report(&self, cfg: &DiagnoseConfig, gpu: Option<&GpuContext>) -> Result<Report, CliError> {
        Ok(match (self, gpu) {
            (Run::Scheme(s), Some(ctx)) => ctx.diagnose(cfg, s)?,
            (Run::Lsuv(o), Some(ctx)) => ctx.diagnose_lsuv(cfg, o)?.1,
            (Run::Scheme(s), None) => Report {
                scheme: s.to_string(),
                config: *cfg,
                layers: reference(cfg, &cpu_tensors(cfg, s)?)?.0,
            },
            (Run::Lsuv(o), None) => {
                let lsuv = lsuv_reference(cfg, o)?;
                Report {
                    scheme: lsuv.scheme(),
                    config: *cfg,
                    layers: reference(cfg, &lsuv.tensors(cfg)?)?.0,
                }
            }
        })
    }
}

/// Runs `diagnose`.
pub fn run(args: &DiagnoseArgs) -> CliResult {
    let activation: Activation = args.activation.parse()?;
    let mut cfg = DiagnoseConfig::new(args.depth, args.width, args.batch, activation, args.seed)?;
    if args.forward_only {
        cfg = cfg.forward_only();
    }
    let texts: Vec<&str> = if args.scheme.is_empty() && args.lsuv {
        vec![]
    } else if args.scheme.is_empty() {
        vec![DEFAULT_SCHEMES]
    } else {
        args.scheme.iter().map(String::as_str).collect()
    };
    let mut schemes: Vec<Init> = Vec::new();
    for t in texts {
        schemes.extend(parse_schemes(t).map_err(CliError)?);
    }
    if schemes.is_empty() && !args.lsuv {
        return Err(CliError("--scheme names no scheme".into()));
    }
    let mut runs: Vec<Run> = schemes.iter().map(Run::Scheme).collect();
    if args.lsuv {
        let options = LsuvOptions::new(args.lsuv_tol, args.lsuv_max_iter)
            .map_err(|e| CliError(format!("--lsuv-tol / --lsuv-max-iter: {e}")))?;
        runs.push(Run::Lsuv(options));
    }
    // Every scheme must resolve for the weight shape before anything runs.
    for s in &schemes {
        cfg.weight_plan(s)
            .map_err(|e| CliError(format!("scheme `{s}` for [{0}, {0}]: {e}", cfg.width())))?;
    }
    let every = match args.every {
        Some(0) => return Err(CliError("--every must be > 0".into())),
        Some(k) => k,
        None if cfg.depth() <= 20 => 1,
        None => cfg.depth().div_ceil(10),
    };
    if let Some(p) = &args.plot {
        plot::prepare_file(p)?;
    }
    let gpu = gpu_or_cpu(args.cpu_only);
    let common = Common::new("diagnose", gpu.as_ref(), Some(cfg.seed()));
    // One step per scheme, on stderr (hidden when it is not a terminal).
    let bar = super::progress(runs.len() as u64, "diagnose");
    let mut reports = Vec::new();
    for run in &runs {
        bar.set_message(run.name());
        let t = Instant::now();
        let report = run.report(&cfg, gpu.as_ref())?;
        let seconds = t.elapsed().as_secs_f64();
        if args.json {
            for l in &report.layers {
                let row = json!({
                    "scheme": report.scheme,
                    "activation": activation.name(),
                    "depth": cfg.depth(),
                    "width": cfg.width(),
                    "batch": cfg.batch(),
                    "seed": cfg.seed(),
                    "layer": l.layer,
                    "act_mean": l.act_mean,
                    "act_std": l.act_std,
                    "grad_mean": l.grad_mean,
                    "grad_std": l.grad_std,
                    "dead_fraction": l.dead_fraction,
                    "identical_units": l.identical_units(),
                });
                bar.suspend(|| report::print(&common.row(row)))?;
            }
        } else {
            bar.suspend(|| print!("{}", table(&report, every, seconds)));
        }
        bar.inc(1);
        reports.push(report);
    }
    bar.finish_and_clear();
    if args.json {
        report::print(&common.summary(json!({
            "schemes": reports.iter().map(|r| r.scheme.clone()).collect::<Vec<_>>(),
            "activation": activation.name(),
            "depth": cfg.depth(),
            "width": cfg.width(),
            "batch": cfg.batch(),
            "rows": reports.iter().map(|r| r.layers.len()).sum::<usize>(),
        })))?;
    }
    if let Some(p) = &args.plot {
        let series: Vec<Series> = reports
            .iter()
            .map(|r| Series {
                label: r.scheme.clone(),
                points: r
                    .layers
                    .iter()
                    .map(|l| (l.layer as f64, l.act_std))
                    .collect(),
            })
            .collect();
        let title = format!(
            "activation std, {activation}, width {}, batch {}",
            cfg.width(),
            cfg.batch()
        );
        let floor = plot::log_line_chart(p, &title, "layer", "activation std", &series)?;
        let zeros = reports
            .iter()
            .filter(|r| {
                r.layers
                    .iter()
                    .any(|l| !(l.act_std.is_finite() && l.act_std > 0.0))
            })
            .count();
        let note = if zeros > 0 {
            format!("; {zeros} scheme(s) reach std 0, drawn at the floor {floor:.1e}")
        } else {
            String::new()
        };
        eprintln!(
            "weight-init: plot {} ({} lines){note}",
            weight_init::files::show(p),
            series.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The layers a table shows: 1, every `every`-th, and the last.
pub fn shown_layers(depth: usize, every: usize) -> Vec<usize> {
    (1..=depth)
        .filter(|&l| l == 1 || l % every == 0 || l == depth)
        .collect()
}

/// One scheme's table block.
fn table(r: &Report, every: usize, seconds: f64) -> String {
    let c = &r.config;
    let mut out = format!(
        "scheme {}  (activation {}, depth {}, width {}, batch {}, seed {}; {seconds:.2} s)\n",
        r.scheme,
        c.activation(),
        c.depth(),
        c.width(),
        c.batch(),
        c.seed()
    );
    out.push_str(&format!(
        "{:>6} {:>12} {:>12} {:>12} {:>7} {:>9}\n",
        "layer", "act mean", "act std", "grad std", "dead %", "identical"
    ));
    for l in shown_layers(c.depth(), every) {
        let s = &r.layers[l - 1];
        let grad = s
            .grad_std
            .map_or_else(|| "-".to_string(), |g| format!("{g:.4e}"));
        out.push_str(&format!(
            "{:>6} {:>12.4e} {:>12.4e} {:>12} {:>7.1} {:>9}\n",
            s.layer,
            s.act_mean,
            s.act_std,
            grad,
            100.0 * s.dead_fraction,
            if s.identical_units() { "yes" } else { "no" }
        ));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_layers_keep_first_and_last() {
        assert_eq!(
            shown_layers(50, 5),
            vec![1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
        );
        assert_eq!(shown_layers(7, 3), vec![1, 3, 6, 7]);
        assert_eq!(shown_layers(3, 1), vec![1, 2, 3]);
    }
}
