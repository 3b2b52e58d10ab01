//! `weight-init verify` end to end: the built binary on the real generator
//! passes, a perturbed expectation fails, plots are valid PNGs, a bad plot
//! directory is one clear error line, and `--cpu-only` works.
//!
//! Sizes are small (4 MiB and less) so the whole file stays well under a
//! minute and a half on a 2-core machine with lavapipe.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{check_png, run_cli, stderr, stdout, temp_path};

/// The schemes `verify` runs when none is named (`cli::DEFAULT_SCHEMES`,
/// which a test cannot import from the binary).
const DEFAULT_SCHEME_COUNT: usize = 5;

fn verify(args: &[&str]) -> Output {
    verify_env(args, &[])
}

fn verify_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    run_cli("verify", args, env)
}

/// Table rows: lines that end in PASS or FAIL.
fn rows(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.ends_with("PASS") || l.ends_with("FAIL"))
        .collect()
}

#[test]
fn default_schemes_pass_on_the_real_generator() {
    let out = verify(&["--size", "4MiB"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "verify failed:\n{text}");
    let rows = rows(&text);
    // Every default scheme in the default dtypes f32 and bf16.
    assert_eq!(rows.len(), 2 * DEFAULT_SCHEME_COUNT, "{text}");
    assert!(rows.iter().all(|r| r.ends_with("PASS")), "{text}");
    assert!(rows.iter().any(|r| r.contains(" bf16 ")), "{text}");
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn perturbed_expected_std_fails() {
    let out = verify(&["--size", "4MiB", "--perturb-expected-std", "1.05"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let rows = rows(&text);
    assert_eq!(rows.len(), 2 * DEFAULT_SCHEME_COUNT, "{text}");
    // A 5% std error is tens of standard errors at these sizes: every row
    // fails, and says why.
    assert!(rows.iter().all(|r| r.ends_with("FAIL")), "{text}");
    assert!(text.contains("FAIL ") && text.contains("std"), "{text}");
}

#[test]
fn cpu_only_works() {
    let out = verify(&["--size", "1MiB", "--cpu-only", "--dtype", "f32,f16,bf16"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(rows(&text).len(), 3 * DEFAULT_SCHEME_COUNT, "{text}");
    assert!(text.contains("GPU vs CPU: skipped"), "{text}");
}

/// Runs `verify --plot DIR` and checks one valid PNG per scheme and no
/// temporary file left behind.
fn plots_in(dir: &Path, env: &[(&str, &str)]) -> Output {
    let out = verify_env(
        &[
            "--size",
            "1MiB",
            "--dtype",
            "f32",
            "--cpu-only",
            "--plot",
            dir.to_str().unwrap(),
        ],
        env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), DEFAULT_SCHEME_COUNT, "{files:?}");
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(name.ends_with(".png") && !name.starts_with('.'), "{name}");
        assert!(
            name.trim_end_matches(".png")
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{name}"
        );
        let (w, h) = check_png(f);
        assert!(w >= 400 && h >= 300, "{name}: {w}x{h}");
        assert!(stdout(&out).contains(name), "{name} not reported");
    }
    std::fs::remove_dir_all(dir).unwrap();
    out
}

#[test]
fn plots_are_valid_pngs() {
    // The directory does not exist yet: verify creates it (only it: its
    // parent exists; a missing parent is an error, see tests/faults_files.rs).
    let dir = temp_path("plots").join("nested");
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    plots_in(&dir, &[]);
    let _ = std::fs::remove_dir(dir.parent().unwrap());
}

/// A `WEIGHT_INIT_PLOT_FONT` that cannot be read is one warning line, and
/// the built-in font draws the labels.
#[test]
fn a_bad_font_file_falls_back_to_the_built_in_font() {
    let dir = temp_path("nofont");
    let out = plots_in(&dir, &[("WEIGHT_INIT_PLOT_FONT", "/nonexistent/font.ttf")]);
    let warnings: Vec<&str> = std::str::from_utf8(&out.stderr)
        .unwrap()
        .lines()
        .filter(|l| l.contains("font"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("built-in DejaVu Sans"), "{warnings:?}");
    assert!(!stdout(&out).contains("without text"), "{}", stdout(&out));
}

/// A PNG's pixels as RGB triples, with its width.
fn pixels(path: &Path) -> (Vec<[u8; 3]>, usize) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", path.display());
    let px = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (px, info.width as usize)
}

/// Dark (text) pixels in rows `rows` of a plot.
fn dark_pixels(path: &Path, rows: std::ops::Range<usize>) -> usize {
    let (px, w) = pixels(path);
    px[rows.start * w..rows.end * w]
        .iter()
        .filter(|p| p.iter().all(|&c| c < 100))
        .count()
}

/// `verify --plot` draws the samples it verified: on the GPU (lavapipe
/// here) the GPU's, in the dtype verified (bf16), and says so; its file
/// name and title keep the scheme as written (`gain=tanh`); its labels
/// render with fontconfig seeing no font at all (the font is built in).
#[test]
fn plots_show_the_verified_samples_with_text_and_no_system_font() {
    let dir = common::TempDir::new("gpu-plot");
    // An empty fontconfig configuration: no font directory at all.
    std::fs::write(
        dir.join("fonts.conf"),
        "<?xml version=\"1.0\"?>\n<fontconfig></fontconfig>\n",
    )
    .unwrap();
    let plots = dir.join("plots");
    let out = verify_env(
        &[
            "--size",
            "64KiB",
            "--dtype",
            "bf16",
            "--scheme",
            "xavier_uniform(gain=tanh)",
            "--require-gpu",
            "--json",
            "--plot",
            plots.to_str().unwrap(),
        ],
        &[
            ("FONTCONFIG_FILE", dir.s("fonts.conf").as_str()),
            ("FONTCONFIG_PATH", dir.path().to_str().unwrap()),
            ("XDG_DATA_HOME", dir.path().to_str().unwrap()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let summary = lines.last().unwrap();
    let plotted = summary["plots"].as_array().unwrap();
    assert_eq!(plotted.len(), 1, "{summary}");
    let samples = plotted[0]["samples"].as_str().unwrap();
    // 64 KiB of bf16: 32768 samples, all of them (under KS_MAX_SAMPLES).
    assert!(
        samples.starts_with("32768 bf16 samples from the GPU: ")
            && samples.contains(summary["adapter"].as_str().unwrap()),
        "{summary}"
    );
    let file = PathBuf::from(plotted[0]["file"].as_str().unwrap());
    let name = file.file_name().unwrap().to_str().unwrap();
    assert_eq!(name, "xavier_uniform_gain_tanh__bf16.png");
    check_png(&file);
    // The header strip: title (rows 0..34), subtitle (34..58), the
    // legend's two rows (58..80, 80..108): text in each.
    for (rows, what) in [
        (0..34, "title"),
        (34..58, "subtitle"),
        (58..80, "samples' legend"),
        (80..108, "density's legend"),
    ] {
        let n = dark_pixels(&file, rows);
        assert!(n > 50, "{name}: only {n} text pixels in the {what}");
    }
    assert!(!stderr(&out).contains("font"), "{}", stderr(&out));
}

/// With no adapter, `--require-gpu` is an error that says so and how to
/// get one, before any fill; without the flag the same run checks the
/// CPU and passes.
#[test]
fn require_gpu_fails_without_an_adapter() {
    let no_adapter = [
        ("VK_ICD_FILENAMES", "/nonexistent"),
        ("WGPU_BACKEND", "vulkan"),
    ];
    let out = verify_env(&["--size", "4KiB", "--require-gpu"], &no_adapter);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {err}"));
    for part in [
        "--require-gpu",
        "no GPU adapter found",
        "apt-get install mesa-vulkan-drivers",
    ] {
        assert!(line.contains(part), "`{part}` not in: {line}");
    }
    assert!(rows(&stdout(&out)).is_empty(), "{}", stdout(&out));

    let out = verify_env(&["--size", "4KiB"], &no_adapter);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("GPU vs CPU: skipped"));

    // `--require-gpu` and `--cpu-only` contradict each other.
    let out = verify(&["--size", "4KiB", "--require-gpu", "--cpu-only"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// `verify --json`: JSON lines only on stdout, the common fields on every
/// object, one row per table row with the table's values, and a summary.
#[test]
fn json_rows_match_the_table() {
    let args = ["--size", "64KiB", "--cpu-only", "--dtype", "f32,bf16"];
    let table = verify(&args);
    assert_eq!(table.status.code(), Some(0), "{}", stdout(&table));
    let json = verify(&[&args[..], &["--json"]].concat());
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let (json_rows, summary) = common::json_lines(&json.stdout, "verify");
    for v in json_rows.iter().chain([&summary]) {
        assert_eq!(
            (v["backend"].as_str(), v["adapter"].is_null()),
            (Some("cpu"), true)
        );
        assert_eq!(v["seed"], 0x5eed);
    }
    assert_eq!(
        (summary["rows"].as_u64(), summary["failed"].as_u64()),
        (Some(10), Some(0))
    );
    let text = stdout(&table);
    let table_rows = rows(&text);
    assert_eq!(table_rows.len(), json_rows.len(), "{text}");
    // The notes went to stderr.
    assert!(stderr(&json).contains("GPU vs CPU: skipped"));
    let cell = |v: &serde_json::Value| v.as_f64().map_or("-".to_string(), |z| format!("{z:+.2}"));
    for (line, r) in table_rows.iter().zip(json_rows) {
        assert_eq!(r["kind"], "row");
        let cells: Vec<&str> = line
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let want = [
            r["scheme"].as_str().unwrap().to_string(),
            r["dtype"].as_str().unwrap().to_string(),
            r["n"].to_string(),
        ];
        assert_eq!(cells[..3], want, "{line}");
        // bit-exact and max ULP are `-` on the CPU; then mean z, std z.
        assert_eq!(cells[3..5], ["-", "-"], "{line}");
        assert_eq!(cells[5], cell(&r["z_mean"]), "{line}");
        assert_eq!(cells[6], cell(&r["z_std"]), "{line}");
        assert_eq!(
            cells[7],
            format!("{:.5}", r["ks_d"].as_f64().unwrap()),
            "{line}"
        );
        assert_eq!(
            *cells.last().unwrap(),
            r["result"].as_str().unwrap(),
            "{line}"
        );
    }
}

#[test]
fn unusable_plot_directory_is_one_error_line() {
    let file = temp_path("file");
    std::fs::write(&file, b"not a directory").unwrap();
    let under_file = file.join("plots");
    for dir in [Path::new("/proc/forbidden"), under_file.as_path()] {
        let out = verify(&[
            "--size",
            "4KiB",
            "--cpu-only",
            "--plot",
            dir.to_str().unwrap(),
        ]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(
            lines[0].starts_with("error:") && lines[0].contains("plot"),
            "{err}"
        );
        // Refused before any fill: no table was printed.
        assert!(rows(&stdout(&out)).is_empty());
    }
    std::fs::remove_file(&file).unwrap();
}

/// The shape rule (`--scheme`'s help): numel = size / dtype bytes elements
/// as a `[numel / 1024, 1024]` weight, fan_in 1024; a fan-based scheme
/// refuses a size whose element count 1024 does not divide, in one line
/// that names the size and the rule, before any fill.
#[test]
fn fan_based_schemes_get_fan_in_1024_or_one_clear_error() {
    const KAIMING: &str = "kaiming_uniform(nonlinearity=relu)";
    // 1 MB = 250000 f32 elements: no [numel / 1024, 1024] weight.
    let out = verify(&["--size", "1MB", "--scheme", KAIMING]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    for part in [
        "error: ",
        "--size 1000000",
        "250000 f32 elements",
        "multiple of 1024",
        "fan_in 1024",
        "`kaiming_uniform(",
    ] {
        assert!(lines[0].contains(part), "`{part}` not in: {err}");
    }
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));

    // 1 MiB: [256, 1024] in f32, [512, 1024] in bf16; the bound is
    // sqrt(6 / fan_in) = sqrt(6 / 1024), not the fan_in-1 sqrt(6).
    let out = verify(&["--size", "1MiB", "--scheme", KAIMING, "--cpu-only"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(rows(&text).len(), 2, "{text}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("stream 0:"))
        .unwrap_or_else(|| panic!("no stream line: {text}"));
    // `... -> uniform(LOW, HIGH)` (or `high=HIGH`): the last argument.
    let high: f64 = line
        .split("-> ")
        .nth(1)
        .and_then(|d| d.trim_end().strip_suffix(')'))
        .and_then(|d| d.rsplit(',').next())
        .map(|v| v.trim().trim_start_matches("high="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no bound in `{line}`"));
    let want = (6.0f64 / 1024.0).sqrt();
    assert!(
        (high - want).abs() < 1e-6,
        "bound {high}, want {want}: {line}"
    );

    // The plots draw the samples verified, in their dtype: 2 KiB is 1024
    // bf16 elements, a [1, 1024] weight, plotted as bf16.
    let dir = temp_path("plot-shape");
    let out = verify(&[
        "--size",
        "2KiB",
        "--dtype",
        "bf16",
        "--scheme",
        KAIMING,
        "--cpu-only",
        "--plot",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows(&stdout(&out)).len(), 1);
    assert!(
        stdout(&out).contains("(1024 bf16 samples from the CPU backend)"),
        "{}",
        stdout(&out)
    );
    let png = dir.join("kaiming_uniform_nonlinearity_relu__bf16.png");
    check_png(&png);
    std::fs::remove_dir_all(&dir).unwrap();

    // Schemes without fans fill any size.
    let out = verify(&["--size", "1MB", "--scheme", "uniform(-1, 1)", "--cpu-only"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains(" 250000 "), "{}", stdout(&out));
}
