//! `weight-init diagnose` end to end: the table and JSON rows, a valid PNG
//! plot with one line per scheme, and bad input as one clear error line
//! with a non-zero exit and no file written.
//!
//! Sizes are small (width 64, depth 8) so the file runs in seconds on
//! lavapipe; the textbook claims at depth 50 are tested in
//! `tests/diagnose.rs`. That the plot's lines are distinct is tested on
//! the drawn pixels in `src/cli/plot.rs` (`one_line_colour_per_series`).

use std::process::Output;

use serde_json::Value;

mod common;
use common::{check_png, run_cli, stderr, stdout, temp_path};

fn diagnose(args: &[&str]) -> Output {
    run_cli("diagnose", args, &[])
}

const SCHEMES: &str = "kaiming_normal,xavier_normal,normal(std=0.01),zeros";
const SMALL: [&str; 6] = ["--depth", "8", "--width", "64", "--batch", "32"];

/// The `--json` rows, checked: every line an object with the common fields
/// (README, "JSON output"), rows then one summary that counts them.
fn json_rows(text: &str) -> Vec<Value> {
    let (rows, summary) = common::json_lines(text.as_bytes(), "diagnose");
    assert_eq!(
        summary["rows"].as_u64(),
        Some(rows.len() as u64),
        "{summary}"
    );
    rows
}

/// The table's rows and the `--json` rows of the same run (CPU reference,
/// so both runs compute the same numbers): every table cell is the JSON
/// value as the table formats it.
#[test]
fn json_rows_match_the_table() {
    let mut args = SMALL.to_vec();
    args.extend([
        "--scheme",
        "kaiming_normal,zeros",
        "--cpu-only",
        "--every",
        "3",
    ]);
    let table = diagnose(&args);
    assert!(table.status.success(), "{}", stderr(&table));
    args.push("--json");
    let json = diagnose(&args);
    assert!(json.status.success(), "{}", stderr(&json));
    let rows = json_rows(&stdout(&json));
    // Every layer is a JSON row; the table shows layers 1, 3, 6 and 8.
    assert_eq!(rows.len(), 2 * 8);
    assert!(rows
        .iter()
        .all(|r| r["backend"] == "cpu" && r["adapter"].is_null()));
    assert!(rows.iter().all(|r| r["seed"] == 0x5eed));
    let text = stdout(&table);
    let mut shown = 0;
    for block in text.split("scheme ").skip(1) {
        let scheme = block.split("  (").next().unwrap();
        for line in block.lines().skip(2).filter(|l| !l.trim().is_empty()) {
            let cells: Vec<&str> = line.split_whitespace().collect();
            let layer: u64 = cells[0].parse().unwrap();
            let r = rows
                .iter()
                .find(|r| r["scheme"] == scheme && r["layer"] == layer)
                .unwrap_or_else(|| panic!("no JSON row for {scheme} layer {layer}"));
            assert_eq!(cells[1], format!("{:.4e}", r["act_mean"].as_f64().unwrap()));
            assert_eq!(cells[2], format!("{:.4e}", r["act_std"].as_f64().unwrap()));
            assert_eq!(cells[3], format!("{:.4e}", r["grad_std"].as_f64().unwrap()));
            let identical = if r["identical_units"] == true {
                "yes"
            } else {
                "no"
            };
            assert_eq!(cells[5], identical, "{line}");
            shown += 1;
        }
    }
    assert_eq!(shown, 2 * 4, "{text}");
}

#[test]
fn table_shows_every_scheme_and_layer() {
    let mut args = SMALL.to_vec();
    args.extend(["--scheme", SCHEMES]);
    let out = diagnose(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let blocks: Vec<&str> = text.lines().filter(|l| l.starts_with("scheme ")).collect();
    assert_eq!(blocks.len(), 4, "{text}");
    // Depth 8 <= 20: every layer is a row; rows start with the layer number.
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(rows.len(), 4 * 8, "{text}");
    // The zeros block: every layer identical, std 0.
    let zeros = text.split("scheme zeros").nth(1).expect("a zeros block");
    let zero_rows: Vec<&str> = zeros
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(zero_rows.len(), 8);
    assert!(zero_rows.iter().all(|r| r.ends_with("yes")), "{zeros}");
}

#[test]
fn json_rows_per_scheme_and_layer() {
    let mut args = SMALL.to_vec();
    args.extend(["--activation", "tanh", "--scheme", SCHEMES, "--json"]);
    let out = diagnose(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = json_rows(&stdout(&out));
    assert_eq!(rows.len(), 4 * 8);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["layer"], (i % 8 + 1) as u64, "{r}");
        assert_eq!(r["activation"], "tanh");
        assert!(r["act_std"].as_f64().unwrap() >= 0.0);
        assert!(r["grad_std"].as_f64().is_some(), "{r}");
    }
    let kaiming = &rows[..8];
    assert!(kaiming.iter().all(|r| r["identical_units"] == false));
    let zeros = &rows[24..];
    assert!(zeros
        .iter()
        .all(|r| r["scheme"] == "zeros" && r["identical_units"] == true));
    // Same seed, same numbers.
    let again = json_rows(&stdout(&diagnose(&args)));
    assert_eq!(rows, again);
}

#[test]
fn plot_is_a_valid_png_with_one_line_per_scheme() {
    let dir = temp_path("plot");
    let file = dir.join("nested").join("std.png");
    // The plot's directory must exist: diagnose creates no directories.
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    for (schemes, n) in [(SCHEMES, 4), ("kaiming_normal,xavier_normal", 2)] {
        let mut args = SMALL.to_vec();
        args.extend([
            "--scheme",
            schemes,
            "--json",
            "--plot",
            file.to_str().unwrap(),
        ]);
        let out = diagnose(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(check_png(&file), (900, 560));
        // One JSON series per scheme, and the plot reports one line each.
        let rows = json_rows(&stdout(&out));
        let mut names: Vec<String> = rows.iter().map(|r| r["scheme"].to_string()).collect();
        names.dedup();
        assert_eq!(names.len(), n);
        let err = stderr(&out);
        assert!(err.contains(&format!("({n} lines)")), "{err}");
        // zeros reaches std 0: the note says it is drawn at the floor.
        assert_eq!(
            err.contains("drawn at the floor"),
            schemes.contains("zeros"),
            "{err}"
        );
        // Nothing but the plot is left beside it (no temporary files).
        let entries: Vec<_> = std::fs::read_dir(file.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries, vec![std::ffi::OsString::from("std.png")]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Bad input: one `error:` line on stderr, exit code 2, nothing on stdout,
/// no file written.
#[test]
fn bad_input_is_one_error_line() {
    let dir = temp_path("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let blocker = dir.join("file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let plot = dir.join("p.png");
    let under_file = blocker.join("p.png");
    let jpg = dir.join("p.jpg");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--depth", "0"], "depth"),
        (vec!["--width", "0"], "width"),
        (vec!["--batch", "0"], "batch"),
        (vec!["--activation", "swish"], "leaky_relu"),
        (vec!["--scheme", "kaiming_normal,bogus(1)"], "bogus"),
        (vec!["--scheme", "dirac"], "dirac"),
        (vec!["--every", "0"], "every"),
        (vec!["--plot", under_file.to_str().unwrap()], "plot"),
        (vec!["--plot", "/proc/forbidden/p.png"], "plot"),
        (vec!["--plot", jpg.to_str().unwrap()], ".png"),
    ];
    for (extra, needle) in cases {
        let mut args = extra.clone();
        for (flag, value) in [("--depth", "2"), ("--width", "8"), ("--batch", "4")] {
            if !extra.contains(&flag) {
                args.extend([flag, value]);
            }
        }
        if !extra.contains(&"--plot") {
            args.extend(["--plot", plot.to_str().unwrap()]);
        }
        let out = diagnose(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{extra:?}: {err}");
        assert!(
            lines[0].starts_with("error:") && lines[0].contains(needle),
            "{extra:?}: {err}"
        );
        assert!(stdout(&out).is_empty(), "{extra:?}");
        assert!(!err.contains("panicked"));
        let entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries, vec![std::ffi::OsString::from("file")], "{extra:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--lsuv` adds LSUV's block after the schemes (alone when no scheme is
/// named), on the GPU and on the CPU reference alike; bad LSUV options are
/// one error line naming the flag.
#[test]
fn lsuv_is_a_block_beside_the_schemes() {
    for device in [None, Some("--cpu-only")] {
        let mut args = SMALL.to_vec();
        args.extend(["--scheme", "orthogonal", "--lsuv", "--lsuv-tol", "0.05"]);
        args.extend(device);
        let out = diagnose(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let blocks: Vec<&str> = text.lines().filter(|l| l.starts_with("scheme ")).collect();
        assert_eq!(blocks.len(), 2, "{text}");
        assert!(blocks[0].starts_with("scheme orthogonal"), "{text}");
        assert!(
            blocks[1].starts_with("scheme lsuv(tol=0.05, max_iter=10)"),
            "{text}"
        );
    }
    let mut args = SMALL.to_vec();
    args.extend(["--lsuv", "--json"]);
    let out = diagnose(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = json_rows(&stdout(&out));
    assert_eq!(rows.len(), 8);
    assert!(rows
        .iter()
        .all(|r| r["scheme"] == "lsuv(tol=0.1, max_iter=10)"));

    let mut args = SMALL.to_vec();
    args.extend(["--lsuv", "--lsuv-max-iter", "0"]);
    let out = diagnose(&args);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--lsuv-max-iter"), "{err}");
}
