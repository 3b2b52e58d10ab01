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

#[test]
fn plots_without_a_font_still_work() {
    let dir = temp_path("nofont");
    let out = plots_in(&dir, &[("WEIGHT_INIT_PLOT_FONT", "/nonexistent/font.ttf")]);
    let warnings: Vec<&str> = std::str::from_utf8(&out.stderr)
        .unwrap()
        .lines()
        .filter(|l| l.contains("font"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
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

    // The plots draw f32 samples: 2 KiB is 1024 bf16 elements but 512 f32
    // ones, refused before any fill and before the directory is made.
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
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("--plot") && err.contains("512 f32 elements"),
        "{err}"
    );
    assert!(rows(&stdout(&out)).is_empty());
    assert!(!dir.exists());

    // Schemes without fans fill any size.
    let out = verify(&["--size", "1MB", "--scheme", "uniform(-1, 1)", "--cpu-only"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains(" 250000 "), "{}", stdout(&out));
}
