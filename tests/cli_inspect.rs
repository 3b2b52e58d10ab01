//! `weight-init inspect` on files written here with the `safetensors` crate.

use std::collections::HashMap;
use std::path::PathBuf;

use safetensors::tensor::TensorView;
use safetensors::Dtype;
use serde_json::Value;
use weight_init::{cpu, DType, Init, Plan, ResolveOptions, TensorKey};

mod common;
use common::run_cli;

/// `name` in a new, empty directory of its own.
fn temp_path(name: &str) -> PathBuf {
    common::temp_dir(name).join(name)
}

/// A file with a kaiming-normal f32 weight, a bf16 normal(0, 0.02) vector
/// and an integer tensor.
fn write_model(path: &std::path::Path) {
    let init: Init = "kaiming_normal(nonlinearity=relu)".parse().unwrap();
    let Plan::Sample(dist) = init
        .resolve(&[256, 128], &ResolveOptions::default())
        .unwrap()
    else {
        panic!("elementwise")
    };
    let mut w = vec![0u8; 256 * 128 * 4];
    cpu::fill_bytes(
        &dist,
        DType::F32,
        &TensorKey::new(1, 1, 256 * 128),
        0..256 * 128,
        &mut w,
    )
    .unwrap();
    let small: Init = "normal(0, 0.02)".parse().unwrap();
    let Plan::Sample(d2) = small.resolve(&[1000], &ResolveOptions::default()).unwrap() else {
        panic!("elementwise")
    };
    let mut b = vec![0u8; 1000 * 2];
    cpu::fill_bytes(
        &d2,
        DType::BF16,
        &TensorKey::new(1, 2, 1000),
        0..1000,
        &mut b,
    )
    .unwrap();
    let ids: Vec<u8> = [1i64, 2, 3, 4]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let mut tensors = HashMap::new();
    tensors.insert(
        "layer.weight".to_string(),
        TensorView::new(Dtype::F32, vec![256, 128], &w).unwrap(),
    );
    tensors.insert(
        "layer.bias".to_string(),
        TensorView::new(Dtype::BF16, vec![1000], &b).unwrap(),
    );
    tensors.insert(
        "ids".to_string(),
        TensorView::new(Dtype::I64, vec![4], &ids).unwrap(),
    );
    safetensors::serialize_to_file(tensors, None, path).unwrap();
}

#[test]
fn shapes_dtypes_and_statistics() {
    let path = temp_path("model.safetensors");
    write_model(&path);
    let out = run_cli(
        "inspect",
        &[
            path.to_str().unwrap(),
            "--scheme",
            "kaiming_normal(nonlinearity=relu)",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("3 tensors"));
    let row = |name: &str| -> Vec<String> {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    // name dtype shape... mean std min max non-finite expected ratio; the
    // shape prints as "[256, 128]", two tokens.
    let w = row("layer.weight");
    assert_eq!(w[1], "F32");
    assert_eq!(&w[2..4], ["[256,", "128]"]);
    let std: f64 = w[5].parse().unwrap();
    let expected: f64 = w[9].parse().unwrap();
    // kaiming_normal, relu, fan_in 128: sqrt(2 / 128) = 0.125. With 32768
    // samples the sample std is within 2% of it far beyond 5 standard errors.
    assert!((expected - 0.125).abs() < 1e-9, "{expected}");
    assert!((std / 0.125 - 1.0).abs() < 0.02, "{std}");
    let b = row("layer.bias");
    assert_eq!(b[1], "BF16");
    let bstd: f64 = b[4].parse().unwrap();
    assert!((bstd / 0.02 - 1.0).abs() < 0.1, "{bstd}");
    assert!(row("ids").join(" ").contains("not a floating-point dtype"));
}

#[test]
fn not_a_safetensors_file() {
    let path = temp_path("garbage.bin");
    std::fs::write(&path, b"\xff\xff\xff\xff\xff\xff\xff\x7fnot a header").unwrap();
    for file in [path.clone(), temp_path("does-not-exist.safetensors")] {
        let out = run_cli("inspect", &[file.to_str().unwrap()], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    // A JSON header whose offsets do not match the data.
    let bad = temp_path("bad-offsets.safetensors");
    let header = br#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,64]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0u8; 16]);
    std::fs::write(&bad, bytes).unwrap();
    let out = run_cli("inspect", &[bad.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        // One header reader for inspect and init (the library's), so one
        // wording: "not a valid safetensors file".
        !out.status.success() && stderr.contains("not a valid safetensors file"),
        "{stderr}"
    );
}

/// A spec with several schemes, a 1-D `torch_default_bias` among them.
const SPEC: &str = r#"{"seed": 7, "params": [
 {"name": "fc1.weight", "shape": [256, 128], "init": "kaiming_uniform(nonlinearity=relu)"},
 {"name": "fc1.bias", "shape": [256], "init": "torch_default_bias"},
 {"name": "fc2.weight", "shape": [64, 256], "dtype": "bf16", "init": "xavier_normal(gain=tanh)"},
 {"name": "fc2.bias", "shape": [64], "init": "zeros"},
 {"name": "emb.weight", "shape": [500, 64], "init": "trunc_normal(std=0.02, a=-0.04, b=0.04)"},
 {"name": "q.weight", "shape": [64, 64], "init": "orthogonal"}
]}"#;

/// `init --spec SPEC` on the CPU into a new directory; the file's path.
fn init_file(tag: &str) -> PathBuf {
    init_spec_file(tag, SPEC, &[])
}

/// `init --spec` of `spec` (JSON text) on the CPU, with `extra` arguments,
/// into `m.safetensors` of a new directory; the file's path.
fn init_spec_file(tag: &str, spec: &str, extra: &[&str]) -> PathBuf {
    let dir = common::temp_dir(tag);
    std::fs::write(dir.join("spec.json"), spec).unwrap();
    let out = dir.join("m.safetensors");
    let spec_path = dir.join("spec.json");
    let mut args = vec![
        "--spec",
        spec_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--device",
        "cpu",
    ];
    args.extend(extra);
    let o = run_cli("init", &args, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// The `--json` objects of `inspect FILE ARGS`, checked: common fields on
/// each, rows then a summary. Returns (rows, summary, exit code).
fn inspect_json(file: &std::path::Path, args: &[&str]) -> (Vec<Value>, Value, Option<i32>) {
    let mut all_args = vec![file.to_str().unwrap(), "--json"];
    all_args.extend(args);
    let out = run_cli("inspect", &all_args, &[]);
    let (rows, summary) = common::json_lines(&out.stdout, "inspect");
    for v in rows.iter().chain([&summary]) {
        assert_eq!(v["backend"], "cpu", "{v}");
    }
    assert_eq!(summary["tensors"].as_u64(), Some(rows.len() as u64));
    (rows, summary, out.status.code())
}

/// `inspect` on a file `init` wrote: each tensor checked against the
/// scheme recorded for it, the bias's fans taken from its weight, the
/// structured tensor named as not testable, the table and the JSON rows
/// agreeing, exit 0.
#[test]
fn checks_each_tensor_against_its_recorded_scheme() {
    let file = init_file("recorded");
    let out = run_cli("inspect", &[file.to_str().unwrap()], &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("6 tensors (seed 7)"), "{text}");
    assert!(text.contains("alpha 0.001"), "{text}");
    // No message names a Rust API.
    for api in ["Fans", "ResolveOptions", "with_fans", "Init::", "::"] {
        assert!(!text.contains(api), "`{api}` in: {text}");
    }
    let row = |name: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}: {text}"))
            .to_string()
    };
    for name in [
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
        "emb.weight",
    ] {
        assert!(row(name).contains(" PASS "), "{}", row(name));
    }
    assert!(row("q.weight").contains(" n/a "), "{}", row("q.weight"));
    // torch_default_bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in 128
    // from fc1.weight, std 1 / sqrt(3 * 128) (nn.Linear.reset_parameters).
    let (rows, summary, code) = inspect_json(&file, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(summary["seed"], 7);
    assert_eq!(
        (summary["tested"].as_u64(), summary["failed"].as_u64()),
        (Some(5), Some(0))
    );
    let bias = rows.iter().find(|r| r["name"] == "fc1.bias").unwrap();
    let want = 1.0 / (3.0f64 * 128.0).sqrt();
    let got = bias["expected_std"].as_f64().unwrap();
    assert!((got / want - 1.0).abs() < 1e-6, "{got} vs {want}");
    assert_eq!(bias["scheme_source"], "metadata");
    // kaiming_uniform(relu), fan_in 128: std sqrt(2 / 128).
    let w = rows.iter().find(|r| r["name"] == "fc1.weight").unwrap();
    assert!((w["expected_std"].as_f64().unwrap() - (2.0f64 / 128.0).sqrt()).abs() < 1e-7);
    // The table's cells are the JSON values as the table formats them.
    for r in &rows {
        let line = row(r["name"].as_str().unwrap());
        assert!(
            line.contains(&format!(" {} ", r["result"].as_str().unwrap())),
            "{line}"
        );
        assert!(
            line.contains(&format!("{:.5e}", r["std"].as_f64().unwrap())),
            "{line}"
        );
        if let Some(e) = r["expected_std"].as_f64() {
            assert!(line.contains(&format!("{e:.5e}")), "{line}");
        }
    }
}

/// One tensor scaled by 1.1 after `init` wrote it: its std is tens of
/// standard errors off (32768 samples: se ~ 0.4% of sigma), so it fails
/// at alpha 0.001 and the exit code is 1; the others still pass.
#[test]
fn a_tampered_tensor_fails() {
    let file = init_file("tampered");
    let mut bytes = std::fs::read(&file).unwrap();
    let (n, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let info = meta.info("fc1.weight").unwrap();
    assert_eq!(info.dtype, Dtype::F32);
    let start = 8 + n + info.data_offsets.0;
    for c in bytes[start..8 + n + info.data_offsets.1].chunks_exact_mut(4) {
        let x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]) * 1.1;
        c.copy_from_slice(&x.to_le_bytes());
    }
    std::fs::write(&file, &bytes).unwrap();
    let out = run_cli("inspect", &[file.to_str().unwrap()], &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let weight = text.lines().find(|l| l.starts_with("fc1.weight ")).unwrap();
    assert!(
        weight.contains(" FAIL ") && weight.contains("std z"),
        "{weight}"
    );
    assert!(text.contains("5 tensors tested, 1 failed"), "{text}");
    let (rows, summary, code) = inspect_json(&file, &[]);
    assert_eq!((code, summary["failed"].as_u64()), (Some(1), Some(1)));
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r["result"] == "FAIL")
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["fc1.weight"]);
}

/// `--scheme` overrides the recorded schemes for every tensor; a
/// fan-based scheme on a 1-D tensor is "n/a" with a plain reason.
#[test]
fn scheme_flag_overrides_the_metadata() {
    let file = init_file("override");
    let (rows, _, code) = inspect_json(&file, &["--scheme", "normal(0, 0.02)"]);
    assert_eq!(code, Some(1));
    assert!(rows.iter().all(|r| r["scheme_source"] == "--scheme"));
    let emb = rows.iter().find(|r| r["name"] == "emb.weight").unwrap();
    // 0.02 as the f32 parameter the scheme holds.
    assert_eq!(emb["expected_std"].as_f64(), Some(0.02f32 as f64));
    let (rows, _, _) = inspect_json(&file, &["--scheme", "kaiming_normal"]);
    let bias = rows.iter().find(|r| r["name"] == "fc2.bias").unwrap();
    assert_eq!(bias["result"], "n/a");
    let note = bias["note"].as_str().unwrap();
    assert!(
        note.contains("1-D tensor") && !note.contains("::"),
        "{note}"
    );
    // torch_default_bias for every tensor: the bias takes fan_in from its
    // weight (and passes); a weight has no weight beside it: n/a, saying so.
    let (rows, _, _) = inspect_json(&file, &["--scheme", "torch_default_bias"]);
    let bias = rows.iter().find(|r| r["name"] == "fc1.bias").unwrap();
    assert_eq!(bias["result"], "PASS", "{bias}");
    let w = rows.iter().find(|r| r["name"] == "emb.weight").unwrap();
    assert_eq!(w["result"], "n/a", "{w}");
    assert!(
        w["note"]
            .as_str()
            .unwrap()
            .contains("needs fans from its weight"),
        "{w}"
    );
}

/// A scheme with ranges of their own laws (`normal_padded`: the padding
/// row zero, the rest normal; `lstm_forget_bias`: the forget gate's slice
/// constant) is checked range by range: the file `init` wrote passes, and
/// a padding row made non-zero fails, naming its range.
#[test]
fn segments_are_checked_range_by_range() {
    let file = init_spec_file(
        "segments",
        r#"{"seed": 3, "params": [
            {"name": "emb.weight", "shape": [300, 64], "dtype": "bf16",
             "init": "normal_padded(0, 0.02, padding_idx=5)"},
            {"name": "lstm.bias_ih", "shape": [1024], "dtype": "f32",
             "init": "lstm_forget_bias(forget=1)"}
        ]}"#,
        &[],
    );
    let (rows, summary, code) = inspect_json(&file, &[]);
    assert_eq!(code, Some(0), "{rows:?}");
    assert_eq!(
        (summary["tested"].as_u64(), summary["failed"].as_u64()),
        (Some(2), Some(0))
    );
    // The table's law is the largest range's: normal(0, 0.02), its
    // moments after rounding to bf16 (within 1e-6 of 0.02).
    let emb = rows.iter().find(|r| r["name"] == "emb.weight").unwrap();
    assert!(
        (emb["expected_std"].as_f64().unwrap() - 0.02).abs() < 1e-6,
        "{emb}"
    );
    // Row 5 of the bf16 table set to 0.01 (0x3c24 is bf16 0.010009765625).
    let mut bytes = std::fs::read(&file).unwrap();
    let (n, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let info = meta.info("emb.weight").unwrap();
    let row = 8 + n + info.data_offsets.0 + 5 * 64 * 2;
    for c in bytes[row..row + 64 * 2].chunks_exact_mut(2) {
        c.copy_from_slice(&0x3c24u16.to_le_bytes());
    }
    std::fs::write(&file, &bytes).unwrap();
    let (rows, summary, code) = inspect_json(&file, &[]);
    assert_eq!((code, summary["failed"].as_u64()), (Some(1), Some(1)));
    let emb = rows.iter().find(|r| r["name"] == "emb.weight").unwrap();
    assert_eq!(emb["result"], "FAIL");
    let note = emb["note"].as_str().unwrap_or_default();
    assert!(note.contains("elements 320..384"), "{emb}");
}

/// A mesh shard records each tensor's unsharded shape, and `inspect`
/// takes a fan-based scheme's fans from it: rank 5 of a 2x4 mesh holding
/// a 128 x 128 block of a [256, 512] kaiming_normal(relu) weight expects
/// std sqrt(2 / 512), not the block's sqrt(2 / 128).
#[test]
fn mesh_shards_take_fans_from_the_unsharded_shape() {
    let file = init_spec_file(
        "mesh-fans",
        r#"{"seed": 3, "params": [
            {"name": "fc.weight", "shape": [256, 512], "dtype": "f32",
             "init": "kaiming_normal(nonlinearity=relu)"}
        ]}"#,
        &[
            "--mesh",
            "2x4",
            "--rank",
            "5",
            "--placement",
            "*=[Shard(0), Shard(1)]",
        ],
    );
    let (rows, _, code) = inspect_json(&file, &[]);
    assert_eq!(code, Some(0), "{rows:?}");
    let w = &rows[0];
    assert_eq!(w["shape"], serde_json::json!([128, 128]));
    assert_eq!(w["result"], "PASS", "{w}");
    let want = (2.0f64 / 512.0).sqrt();
    assert!(
        (w["expected_std"].as_f64().unwrap() / want - 1.0).abs() < 1e-6,
        "{w}"
    );
}

/// Output into a pipe whose reader is gone ends the process as `cat`
/// does (SIGPIPE), without a panic message.
#[test]
fn a_closed_stdout_is_no_panic() {
    let file = init_file("sigpipe");
    let mut child = common::bin()
        .args(["inspect", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}
