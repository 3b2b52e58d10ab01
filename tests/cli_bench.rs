//! `weight-init bench` end to end: the built binary, its JSON rows, its
//! CPU-only mode and its refusals of bad input.
//!
//! Sizes are 8 MiB with one timed repeat so the whole file stays well under
//! a minute on a 2-core machine with lavapipe. The GPU rows must really be
//! there: where no adapter exists the test fails and says how to get one.

use std::collections::BTreeSet;
use std::process::Output;

use serde_json::Value;
use weight_init::Init;

mod common;

/// `bench`'s default schemes (`DEFAULT_SCHEMES` in `src/cli/mod.rs`; the
/// binary's items are not importable, so keep the two lists in step).
const DEFAULT_SCHEMES: [&str; 5] = [
    "uniform(-1, 1)",
    "normal(0, 1)",
    "trunc_normal(std=0.02, a=-0.04, b=0.04)",
    "kaiming_uniform(nonlinearity=relu)",
    "jax_he_normal",
];

const SIZE_BYTES: u64 = 8 << 20;

fn weight_init(args: &[&str]) -> Output {
    common::run_cli(args[0], &args[1..], &[])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every stdout line parsed as one JSON object; nothing else allowed.
fn json_rows(out: &Output) -> Vec<Value> {
    // Rows, then one summary that counts them.
    let (rows, summary) = common::json_lines(&out.stdout, "bench");
    assert_eq!(
        summary["rows"].as_u64(),
        Some(rows.len() as u64),
        "{summary}"
    );
    rows
}

/// The canonical text (`Init`'s Display) of each default scheme, as the
/// rows name them.
fn default_scheme_names() -> BTreeSet<String> {
    DEFAULT_SCHEMES
        .iter()
        .map(|s| {
            s.parse::<Init>()
                .expect("default scheme parses")
                .to_string()
        })
        .collect()
}

fn fails_with_one_line(out: &Output, mentions: &[&str]) {
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "expected failure; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    // clap follows its error with a usage tip; everything else is the error.
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("For more information"))
        .collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {stderr}");
    assert!(
        lines[0].starts_with("error:"),
        "not an error line: {stderr}"
    );
    for m in mentions {
        assert!(
            lines[0].contains(m),
            "error line does not mention `{m}`: {stderr}"
        );
    }
    assert!(
        out.stdout.is_empty(),
        "stdout not empty: {}",
        text(&out.stdout)
    );
}

#[test]
fn json_rows_for_every_default_scheme_dtype_and_backend() {
    let out = weight_init(&["bench", "--json", "--size", "8MiB", "--repeats", "1"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "bench failed: {stderr}");
    assert!(
        !stderr.contains("CPU backend only"),
        "no GPU adapter found, so bench ran without GPU rows. This test needs one; on a machine \
         without a GPU install Mesa's software drivers: `apt-get install mesa-vulkan-drivers \
         libegl1 libegl-mesa0 libgl1-mesa-dri`. stderr: {stderr}"
    );
    let rows = json_rows(&out);

    let mut seen = BTreeSet::new();
    let mut baselines = Vec::new();
    for row in &rows {
        let scheme = row["scheme"].as_str().expect("scheme is a string");
        let backend = row["backend"].as_str().expect("backend is a string");
        let gbps = row["gbps"].as_f64().expect("gbps is a number");
        assert!(gbps > 0.0 && gbps.is_finite(), "gbps {gbps} in {row}");
        assert!(
            row["median_seconds"].as_f64().is_some_and(|s| s > 0.0),
            "{row}"
        );
        assert_eq!(row["bytes"].as_u64(), Some(SIZE_BYTES), "{row}");
        assert_eq!(row["repeats"].as_u64(), Some(1), "{row}");
        let fraction = row["fraction_of_write_bandwidth"]
            .as_f64()
            .expect("every row has a fraction");
        assert!(fraction > 0.0 && fraction.is_finite(), "{row}");
        match backend {
            "gpu" => {
                // A fill may beat the larger baseline only by timing noise.
                // (No such bound for the CPU: one repeat of an 8 MiB memset
                // on a loaded 2-core machine is mostly noise.)
                assert!(fraction <= 1.5, "fraction {fraction} in {row}");
                assert!(
                    row["adapter"].as_str().is_some_and(|a| !a.is_empty()),
                    "{row}"
                );
                assert!(row["threads"].is_null(), "{row}");
            }
            "cpu" => {
                assert!(row["adapter"].is_null(), "{row}");
                assert!(row["threads"].as_u64().is_some_and(|t| t >= 1), "{row}");
            }
            other => panic!("unknown backend {other}: {row}"),
        }
        if let Some(name) = scheme.strip_prefix("baseline:") {
            baselines.push((backend.to_string(), name.to_string(), fraction));
            continue;
        }
        // Every row's fraction is of its backend's larger baseline.
        let denominator = row["write_bandwidth_gbps"].as_f64().expect("denominator");
        assert!((gbps / denominator - fraction).abs() < 1e-9, "{row}");
        let dtype = row["dtype"].as_str().expect("dtype is a string");
        let new = seen.insert((scheme.to_string(), dtype.to_string(), backend.to_string()));
        assert!(new, "duplicate row {row}");
    }

    let mut expected = BTreeSet::new();
    for scheme in default_scheme_names() {
        for dtype in ["f32", "bf16"] {
            for backend in ["gpu", "cpu"] {
                expected.insert((scheme.clone(), dtype.to_string(), backend.to_string()));
            }
        }
    }
    assert_eq!(seen, expected);

    // Both baselines of each backend, and the larger of the two is that
    // backend's denominator (fraction 1).
    baselines.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let names: Vec<(&str, &str)> = baselines
        .iter()
        .map(|b| (b.0.as_str(), b.1.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("cpu", "constant"),
            ("cpu", "memset"),
            ("gpu", "clear_buffer"),
            ("gpu", "constant")
        ]
    );
    for backend in ["cpu", "gpu"] {
        let best = baselines
            .iter()
            .filter(|b| b.0 == backend)
            .map(|b| b.2)
            .fold(0.0, f64::max);
        assert_eq!(best, 1.0, "{backend}: {baselines:?}");
    }
}

#[test]
fn cpu_only_gives_only_cpu_rows() {
    let out = weight_init(&[
        "bench",
        "--json",
        "--size",
        "8MiB",
        "--repeats",
        "1",
        "--cpu-only",
        "--threads",
        "1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = json_rows(&out);
    // Two host baselines, then every default scheme in two dtypes.
    assert_eq!(rows.len(), 2 + DEFAULT_SCHEMES.len() * 2, "{rows:?}");
    for row in &rows {
        assert_eq!(row["backend"], "cpu", "{row}");
        assert_eq!(row["threads"].as_u64(), Some(1), "{row}");
        assert!(
            row["fraction_of_write_bandwidth"]
                .as_f64()
                .is_some_and(|f| f > 0.0),
            "{row}"
        );
        assert!(row["gbps"].as_f64().is_some_and(|g| g > 0.0), "{row}");
    }
    assert_eq!(rows[0]["scheme"], "baseline:memset");
    assert_eq!(rows[1]["scheme"], "baseline:constant");
}

#[test]
fn zero_threads_is_one_clear_error() {
    let out = weight_init(&["bench", "--cpu-only", "--threads", "0"]);
    fails_with_one_line(&out, &["--threads", "at least 1"]);
}

#[test]
fn table_names_adapter_baselines_and_rows() {
    let out = weight_init(&[
        "bench",
        "--size",
        "8MiB",
        "--repeats",
        "1",
        "--dtype",
        "f32",
        "--scheme",
        "uniform(-1, 1)",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("clear_buffer"), "{stdout}");
    assert!(stdout.contains("constant kernel"), "{stdout}");
    assert!(stdout.contains("memset"), "{stdout}");
    assert!(stdout.contains("CPU of bw"), "{stdout}");
    assert!(stdout.contains("GPU GB/s"), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("uniform(low=-1, high=1)"))
        .unwrap_or_else(|| panic!("no uniform row: {stdout}"));
    assert!(row.contains('%') && row.contains('x'), "{row}");
}

#[test]
fn size_not_a_multiple_of_the_dtype_is_rounded_down() {
    let out = weight_init(&[
        "bench",
        "--json",
        "--size",
        "4099",
        "--repeats",
        "1",
        "--cpu-only",
        "--dtype",
        "f32",
        "--scheme",
        "zeros",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("4096 bytes"),
        "{}",
        text(&out.stderr)
    );
    let rows = json_rows(&out);
    assert_eq!(rows.len(), 3, "two host baselines and one row: {rows:?}");
    assert!(rows.iter().all(|r| r["bytes"].as_u64() == Some(4096)));
}

#[test]
fn bad_size_is_one_clear_error() {
    let out = weight_init(&["bench", "--size", "lots"]);
    fails_with_one_line(&out, &["lots"]);
}

#[test]
fn unknown_scheme_is_one_clear_error() {
    let out = weight_init(&["bench", "--size", "8MiB", "--scheme", "no_such_scheme"]);
    fails_with_one_line(&out, &["no_such_scheme"]);
}

#[test]
fn structured_scheme_is_refused_before_any_work() {
    let out = weight_init(&["bench", "--size", "8MiB", "--scheme", "orthogonal"]);
    fails_with_one_line(&out, &["orthogonal", "elementwise"]);
}

#[test]
fn zero_repeats_is_refused() {
    let out = weight_init(&["bench", "--size", "8MiB", "--repeats", "0"]);
    fails_with_one_line(&out, &["--repeats"]);
}

#[test]
fn size_past_every_buffer_is_an_error_not_a_panic() {
    // 900000 GiB: past any adapter's buffer limit and any host's address
    // space, so the GPU refusal (or the host allocation) fails cleanly.
    let out = weight_init(&["bench", "--size", "900000GiB", "--scheme", "zeros"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Drivers may print their own `error:` lines (e.g. about
    // XDG_RUNTIME_DIR); ours is the one about the size.
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("error: ") && l.contains("--size")),
        "no error line about the size: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn fan_based_scheme_needs_a_size_1024_elements_divide() {
    // 1 MB = 250000 f32 elements: refused in one line before any work.
    let out = weight_init(&[
        "bench",
        "--size",
        "1MB",
        "--scheme",
        "kaiming_uniform(nonlinearity=relu)",
    ]);
    fails_with_one_line(
        &out,
        &[
            "--size 1000000",
            "250000 f32",
            "multiple of 1024",
            "fan_in 1024",
        ],
    );
    // A multiple of 4 KiB: 1024 f32 and 2048 bf16 elements, both shaped.
    let out = weight_init(&[
        "bench",
        "--json",
        "--size",
        "4KiB",
        "--repeats",
        "1",
        "--cpu-only",
        "--scheme",
        "kaiming_uniform(nonlinearity=relu)",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = json_rows(&out);
    let numels: Vec<u64> = rows
        .iter()
        .filter(|r| !r["scheme"].as_str().unwrap().starts_with("baseline:"))
        .map(|r| r["numel"].as_u64().unwrap())
        .collect();
    assert_eq!(numels, [1024, 2048], "{rows:?}");
    // A scheme without fans takes any size.
    let out = weight_init(&[
        "bench",
        "--json",
        "--size",
        "1MB",
        "--repeats",
        "1",
        "--cpu-only",
        "--dtype",
        "f32",
        "--scheme",
        "normal(0, 1)",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // After the two host baselines.
    assert_eq!(json_rows(&out)[2]["numel"].as_u64(), Some(250000));
}

/// The table and `--json` of the same `bench` run on the CPU name the
/// same rows (scheme, dtype, bytes), in the same order; timings differ
/// between runs, so only the rows' identity is compared. Every JSON
/// object carries the common fields ([`json_rows`]).
#[test]
fn json_rows_match_the_table() {
    let args = [
        "bench",
        "--size",
        "64KiB",
        "--repeats",
        "1",
        "--cpu-only",
        "--scheme",
        "zeros,uniform(-1, 1)",
    ];
    let table = weight_init(&args);
    assert!(table.status.success(), "{}", text(&table.stderr));
    let json = weight_init(&[&args[..], &["--json"]].concat());
    assert!(json.status.success(), "{}", text(&json.stderr));
    let rows: Vec<Value> = json_rows(&json)
        .into_iter()
        .filter(|r| !r["scheme"].as_str().unwrap().starts_with("baseline:"))
        .collect();
    assert!(rows
        .iter()
        .all(|r| r["backend"] == "cpu" && r["adapter"].is_null()));
    let table_rows: Vec<(String, String, u64)> = text(&table.stdout)
        .lines()
        .filter(|l| l.starts_with("zeros") || l.starts_with("uniform("))
        .map(|l| {
            let cells: Vec<&str> = l
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            (
                cells[0].to_string(),
                cells[1].to_string(),
                cells[2].parse().unwrap(),
            )
        })
        .collect();
    let json_cells: Vec<(String, String, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["scheme"].as_str().unwrap().to_string(),
                r["dtype"].as_str().unwrap().to_string(),
                r["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(table_rows.len(), 4, "{}", text(&table.stdout));
    assert_eq!(table_rows, json_cells);
}
