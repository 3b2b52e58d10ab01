//! `weight-init init`: initialize a whole model (from a JSON description
//! or an existing safetensors file's header) and write it to a safetensors
//! file, on the GPU or the CPU, optionally one shard of it. A checkpoint's
//! tensors of other dtypes than F32, F16 and BF16 (I64 `position_ids`,
//! F64, ...) are copied into the output unchanged, or left out with
//! `--skip-non-float`; the report names them.
//!
//! On the GPU the set is laid out over buffers of at most `--gpu-buffer`
//! bytes (`ResolvedSet::split_arena_layout`); one device buffer is filled
//! for each in turn (one command encoder, one submit per buffer), and the
//! file is written tensor by tensor, each read back in pieces of at most
//! `WRITE_CHUNK_BYTES`. A model of one buffer is one submit, as before. On the CPU each tensor
//! is generated chunk by chunk straight into the file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use weight_init::cpu::Threads;
use weight_init::files;
use weight_init::gpu::GpuContext;
use weight_init::model::{
    read_checkpoint, safetensors_entries, write_safetensors_copying, write_safetensors_observed,
    HeaderTensor, HfConfig, ModelSpec, ParamSet, Passthrough, PlacementRules, Preset, ResolvedSet,
    Rule, Rules, Shard, WriteOptions, ARENA_ALIGN, WRITE_CHUNK_BYTES,
};

use super::{CliError, CliResult, InitArgs, InitDevice};

/// Runs `init`.
pub fn run(a: &InitArgs) -> CliResult {
    if let Some(config) = &a.hf_config {
        return run_hf(a, config);
    }
    run_to(a, &a.out, None)
}

/// `init --hf-config`: the output path (a directory gets
/// `model.safetensors`), the config read whole before any work, the
/// model written, then the config copied beside it.
fn run_hf(a: &InitArgs, config: &Path) -> CliResult {
    if a.preset.is_some() {
        // A preset only reaches parameters without an init, and every
        // --hf-config parameter has its architecture's.
        return Err(CliError(
            "--preset does not go with --hf-config: the architecture's recipe gives every \
             init (replace some with --rule PATTERN=SCHEME)"
                .into(),
        ));
    }
    let dir = hf_output_dir(&a.out)?;
    let out = dir
        .as_ref()
        .map_or_else(|| a.out.clone(), |d| d.join("model.safetensors"));
    files::check_output(&out)?;
    let text = files::read_text(config, files::MAX_SPEC_BYTES, "a config.json")?;
    let cfg = HfConfig::from_json(&text, &files::show(config))?;
    // --dtype wins, so a config in a dtype weight-init does not write
    // (float64, say) still works with it.
    let dtype = match a.dtype {
        Some(d) => d,
        None => cfg.dtype()?,
    };
    let set = cfg.param_set_as(dtype)?;
    let code = run_to(a, &out, Some(set))?;
    if let Some(dir) = dir {
        let target = dir.join("config.json");
        let same = matches!(
            (std::fs::canonicalize(config), std::fs::canonicalize(&target)),
            (Ok(x), Ok(y)) if x == y
        );
        if !same {
            let mut f = files::AtomicFile::create(&target)?;
            f.write(text.as_bytes())?;
            f.commit()?;
            let line = format!(
                "copied {} to {} ({})",
                files::show(config),
                files::show(&target),
                cfg.class()
            );
            // `--json` keeps stdout to its JSON lines.
            if a.json {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        }
    }
    Ok(code)
}

/// The directory `--out` names for `--hf-config`: an existing directory,
/// or a path ending in `/` (which must exist); `None` for a file path.
fn hf_output_dir(out: &Path) -> Result<Option<PathBuf>, CliError> {
    let slash = out.as_os_str().to_string_lossy().ends_with('/');
    match std::fs::metadata(out) {
        Ok(m) if m.is_dir() => Ok(Some(out.to_path_buf())),
        Ok(_) if slash => Err(CliError(format!(
            "--out {}: not a directory",
            files::show(out)
        ))),
        Err(_) if slash => Err(CliError(format!(
            "--out {}: the directory does not exist (create it first)",
            files::show(out)
        ))),
        _ => Ok(None),
    }
}

/// Runs `init` writing to `out`, from `hf` (an `--hf-config` set) or from
/// `--spec` / `--from-safetensors`.
fn run_to(a: &InitArgs, out: &Path, hf: Option<ParamSet>) -> CliResult {
    // The output first: a target that is not a regular file (a device, a
    // FIFO, a socket, a directory, a link to one) or whose directory is
    // missing is refused before anything is read or computed.
    files::check_output(out)?;
    let from_hf = hf.is_some();
    let (mut set, spec, passthrough) = match (&a.spec, &a.from_safetensors, hf) {
        (Some(path), None, None) => {
            let spec = ModelSpec::from_file(path)?;
            (spec.param_set()?, Some(spec), None)
        }
        (None, Some(path), None) => {
            let ckpt = read_checkpoint(path)?;
            (ckpt.params, None, Some(ckpt.passthrough))
        }
        (None, None, Some(set)) => (set, None, None),
        _ => {
            return Err(CliError(
                "give exactly one of --spec FILE.json, --from-safetensors FILE and \
                 --hf-config config.json"
                    .into(),
            ))
        }
    };
    if let Some(dtype) = a.dtype {
        set = ParamSet::from_params(set.params().iter().cloned().map(|mut p| {
            p.dtype = dtype;
            p
        }))?;
    }
    if let Some(layout) = a.layout {
        set = ParamSet::from_params(set.params().iter().cloned().map(|mut p| {
            p.layout = layout;
            p
        }))?;
    }
    // Command-line rules first, then the spec's rules, then the preset
    // (the command line's, else the spec's).
    let cli_rules = a
        .rule
        .iter()
        .map(|r| r.parse::<Rule>())
        .collect::<Result<Vec<_>, _>>()?;
    let mut rules = Rules::new(cli_rules);
    if from_hf {
        // Every --hf-config parameter carries its recipe's init; a
        // command-line rule that matches one replaces it.
        let overridden = |p: &weight_init::model::Param| {
            rules.find(&p.name, set.kind_of(p), p.shape.len()).is_some()
        };
        set = ParamSet::from_params(set.params().iter().cloned().map(|mut p| {
            if overridden(&p) {
                p.init = None;
            }
            p
        }))?;
    }
    if let Some(spec) = &spec {
        rules = rules.then(Rules::new(spec.rules.clone()));
    }
    let preset = a
        .preset
        .clone()
        .or_else(|| spec.as_ref().and_then(|s| s.preset.clone()));
    if let Some(p) = preset {
        rules = rules.then(p.parse::<Preset>()?.rules(&set)?);
    }
    let seed = a
        .seed
        .or_else(|| spec.as_ref().and_then(|s| s.seed))
        .unwrap_or(0);
    let shard = shard_of(a)?;
    let resolved = set.resolve(&rules)?;
    // Check the shard against every tensor before touching the device or
    // the file system.
    let layout = resolved.arena_layout(shard.as_ref(), ARENA_ALIGN)?;
    // The non-float tensors of a checkpoint: copied, or named as skipped.
    let (copy, skipped) = match passthrough {
        Some(p) if a.skip_non_float => (None, p.tensors),
        Some(p) => (Some(p), Vec::new()),
        None => (None, Vec::new()),
    };
    let copied_bytes = copy.as_ref().map_or(0, |c| c.bytes());
    let total: u64 = layout
        .sizes
        .iter()
        .fold(copied_bytes, |t, &b| t.saturating_add(b));
    if total > a.max_bytes {
        return Err(CliError(format!(
            "the model (or shard) holds {total} bytes, past --max-bytes {} (raise it to write it)",
            a.max_bytes
        )));
    }
    let threads = match a.threads {
        Some(n) => Threads::count(n)?,
        None => Threads::all(),
    };
    let ctx = match a.device {
        Some(InitDevice::Cpu) => None,
        Some(InitDevice::Gpu) if a.threads.is_some() => {
            return Err(CliError(
                "--threads bounds the CPU backend; it does not go with --device gpu".into(),
            ))
        }
        Some(InitDevice::Gpu) => Some(GpuContext::new_default()?),
        None => super::gpu_or_cpu(false),
    };
    // Bytes written, tensor by tensor, on stderr (hidden when it is not a
    // terminal).
    let bar = super::progress_bytes(layout.sizes.iter().sum(), "init");
    let names: Vec<String> = resolved.params().iter().map(|p| p.name.clone()).collect();
    let mut shown = usize::MAX;
    let mut on_bytes = |i: usize, n: u64| {
        if i != shown {
            shown = i;
            if let Some(name) = names.get(i) {
                bar.set_message(files::escape(name).to_string());
            }
        }
        bar.inc(n);
    };
    let device = match &ctx {
        Some(ctx) => {
            write_from_gpu(
                ctx,
                &resolved,
                seed,
                shard.as_ref(),
                copy.as_ref(),
                a,
                out,
                &mut on_bytes,
            )?;
            let unused = if a.threads.is_some() {
                ", --threads unused"
            } else {
                ""
            };
            ctx.adapter_info()
                .map_or("gpu".to_string(), |i| format!("gpu ({})", i.name))
                + unused
        }
        None => {
            let opts = WriteOptions {
                threads,
                copy: copy.clone(),
            };
            write_safetensors_observed(out, &resolved, seed, shard.as_ref(), &opts, &mut on_bytes)?;
            match a.threads {
                Some(n) => format!("cpu, {n} threads"),
                None => "cpu".to_string(),
            }
        }
    };
    bar.finish_and_clear();
    let bytes: u64 = layout.sizes.iter().sum();
    if a.json {
        return json_report(
            ctx.as_ref(),
            &resolved,
            &layout.shapes,
            &layout.sizes,
            seed,
            shard.as_ref(),
            &device,
            copy.as_ref(),
            &skipped,
            out,
        );
    }
    println!(
        "wrote {} tensors, {} bytes, to {} (seed {seed}, {device}{})",
        resolved.params().len(),
        bytes,
        files::show(out),
        shard
            .as_ref()
            .map_or(String::new(), |s| format!(", shard {s}"))
    );
    if let Some(c) = copy.as_ref().filter(|c| !c.tensors.is_empty()) {
        println!(
            "copied {} non-float tensors unchanged, {copied_bytes} bytes: {}",
            c.tensors.len(),
            describe(&c.tensors)
        );
    }
    if !skipped.is_empty() {
        println!(
            "skipped {} non-float tensors (--skip-non-float): {}",
            skipped.len(),
            describe(&skipped)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The shard `--shard/--world/--rank` or `--mesh/--rank/--placement` name,
/// if any; mixing the two forms, or a form with a part missing, is an
/// error saying which flags go together.
fn shard_of(a: &InitArgs) -> Result<Option<Shard>, CliError> {
    let even = a.shard.is_some() || a.world.is_some();
    let mesh = a.mesh.is_some() || !a.placement.is_empty();
    if even && mesh {
        return Err(CliError(
            "--shard/--world and --mesh/--placement are two ways to shard: give one".into(),
        ));
    }
    if mesh {
        return match (&a.mesh, a.rank, a.placement.is_empty()) {
            (Some(m), Some(rank), false) => {
                let rules = PlacementRules::parse(&a.placement)?;
                Ok(Some(Shard::mesh(m.parse()?, rank, rules)?))
            }
            _ => Err(CliError(
                "--mesh, --rank and --placement go together (e.g. --mesh 2x4 --rank 5 \
                 --placement '*=[Shard(0), Replicate()]')"
                    .into(),
            )),
        };
    }
    match (a.shard, a.world, a.rank) {
        (None, None, None) => Ok(None),
        (Some(mode), Some(world), Some(rank)) => Ok(Some(Shard::new(world, rank, mode)?)),
        _ => Err(CliError(
            "--shard, --world and --rank go together (e.g. --shard rows --world 8 --rank 0), \
             or --mesh, --rank and --placement"
                .into(),
        )),
    }
}

/// `name (DTYPE [shape])`, comma-separated.
fn describe(tensors: &[HeaderTensor]) -> String {
    tensors
        .iter()
        .map(|t| format!("{} ({:?} {:?})", files::escape(&t.name), t.dtype, t.shape))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Records the whole set into one encoder, submits once, then streams each
/// tensor from the arena into the file.
#[allow(clippy::too_many_arguments)]
fn write_from_gpu(
    ctx: &GpuContext,
    resolved: &ResolvedSet,
    seed: u64,
    shard: Option<&Shard>,
    copy: Option<&Passthrough>,
    a: &InitArgs,
    out: &Path,
    on_bytes: &mut dyn FnMut(usize, u64),
) -> Result<(), CliError> {
    let device_max = ctx.device().limits().max_buffer_size;
    let cap = match a.gpu_buffer {
        Some(bytes) if bytes > device_max => {
            return Err(CliError(format!(
            "--gpu-buffer {bytes} is larger than the device's max_buffer_size ({device_max} bytes)"
        )))
        }
        Some(bytes) => bytes,
        None => device_max.min(DEFAULT_GPU_BUFFER),
    };
    // The arena split into buffers of at most `cap` bytes; one device buffer
    // of the largest size is filled for each in turn, as the file reaches
    // its first tensor, and read back tensor by tensor.
    let layout = resolved.split_arena_layout(shard, ARENA_ALIGN, cap)?;
    let buffer = layout.create_reusable_buffer(ctx)?;
    let (tensors, meta) = safetensors_entries(resolved, &layout.shapes, seed, shard);
    let mut filled = None;
    write_safetensors_copying(out, &tensors, Some(meta), copy, |i, emit| {
        let b = layout.buffers[i];
        if filled != Some(b) {
            ctx.submit_checked(|enc| {
                resolved
                    .record_gpu_buffer(ctx, enc, &buffer, &layout, b, seed, shard)
                    .map(|_| ())
            })?;
            filled = Some(b);
        }
        let (start, size) = (layout.offsets[i], layout.sizes[i]);
        let mut at = 0;
        while at < size {
            let n = (size - at).min(WRITE_CHUNK_BYTES as u64);
            emit(&ctx.read_buffer(&buffer, start + at, n)?)?;
            on_bytes(i, n);
            at += n;
        }
        Ok(())
    })?;
    Ok(())
}

/// The largest device buffer `init` fills at once unless `--gpu-buffer`
/// says otherwise (less where the device's max_buffer_size is smaller).
const DEFAULT_GPU_BUFFER: u64 = 1 << 30;

/// `--json`: one row per tensor written (initialized, then copied), then
/// a summary with the table's line (`src/cli/report.rs`).
#[allow(clippy::too_many_arguments)]
fn json_report(
    ctx: Option<&GpuContext>,
    resolved: &ResolvedSet,
    shapes: &[Vec<u64>],
    sizes: &[u64],
    seed: u64,
    shard: Option<&Shard>,
    device: &str,
    copy: Option<&Passthrough>,
    skipped: &[HeaderTensor],
    out: &Path,
) -> CliResult {
    use serde_json::json;

    use super::report::{self, Common};
    let common = Common::new("init", ctx, Some(seed));
    for ((p, shape), bytes) in resolved.params().iter().zip(shapes).zip(sizes) {
        report::print(&common.row(json!({
            "name": p.name,
            "dtype": p.dtype.name(),
            "shape": shape,
            "full_shape": p.shape,
            "scheme": p.init.to_string(),
            "stream": p.stream,
            "bytes": bytes,
            "action": "initialized",
        })))?;
    }
    let other = |t: &HeaderTensor, action: &str| {
        json!({
            "name": t.name,
            "dtype": format!("{:?}", t.dtype),
            "shape": t.shape,
            "full_shape": t.shape,
            "scheme": null,
            "stream": null,
            "bytes": t.data_offsets.1 - t.data_offsets.0,
            "action": action,
        })
    };
    for t in copy.map_or(&[][..], |c| &c.tensors[..]) {
        report::print(&common.row(other(t, "copied")))?;
    }
    for t in skipped {
        report::print(&common.row(other(t, "skipped")))?;
    }
    report::print(&common.summary(json!({
        "out": files::show(out),
        "tensors": resolved.params().len(),
        "bytes": sizes.iter().sum::<u64>(),
        "copied": copy.map_or(0, |c| c.tensors.len()),
        "copied_bytes": copy.map_or(0, |c| c.bytes()),
        "skipped": skipped.len(),
        "shard": shard.map(|s| s.to_string()),
        "device": device,
    })))?;
    Ok(ExitCode::SUCCESS)
}
