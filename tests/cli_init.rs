//! `weight-init init`: files that read back with the `safetensors` crate,
//! equal to the library's init; shards; re-init from a header; bad input
//! as one line on stderr and a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::Output;

use weight_init::model::{ModelSpec, Shard, ShardMode};

mod common;
use common::{bin, run_cli, stderr, temp_dir};

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `--spec SPEC --out OUT --device DEVICE`: `init`'s arguments for a spec.
fn spec_args<'a>(spec: &'a Path, out: &'a Path, device: &'a str) -> Vec<&'a str> {
    vec![
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--device",
        device,
    ]
}

/// `init --spec SPEC --out OUT --device DEVICE EXTRA...`, which must
/// succeed ([`ok`]).
fn init_spec(spec: &Path, out: &Path, device: &str, extra: &[&str]) -> Output {
    let mut args = vec!["init"];
    args.extend(spec_args(spec, out, device));
    args.extend(extra);
    ok(&args)
}

/// Runs a command that must fail with exactly one line on stderr
/// containing `says`.
fn fails(args: &[&str], says: &str) {
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: `{err}` lacks `{says}`");
}

/// Every elementwise scheme here is a symmetric uniform (a single multiply:
/// bit-exact on GPU and CPU by the contract), zeros/ones, or orthogonal
/// (computed on the CPU for both).
const SPEC: &str = r#"{
  "seed": 4242,
  "preset": "torch-defaults",
  "rules": [{"pattern": "*.qk.weight", "init": "orthogonal"}],
  "params": [
    {"name": "layers.0.fc1.weight", "shape": [96, 48]},
    {"name": "layers.0.fc1.bias", "shape": [96]},
    {"name": "layers.0.fc2.weight", "shape": [48, 96], "dtype": "bf16"},
    {"name": "layers.0.fc2.bias", "shape": [48], "dtype": "bf16"},
    {"name": "layers.0.norm.weight", "shape": [48], "dtype": "f16"},
    {"name": "layers.0.norm.bias", "shape": [48], "dtype": "f16"},
    {"name": "layers.0.conv.weight", "shape": [24, 48, 3]},
    {"name": "layers.0.qk.weight", "shape": [48, 48]}
  ]
}"#;

fn write_spec(dir: &Path) -> PathBuf {
    let p = dir.join("model.json");
    std::fs::write(&p, SPEC).unwrap();
    p
}

/// The library's CPU init of SPEC (optionally a shard): (name, shape, bytes).
fn library_init(shard: Option<&Shard>) -> Vec<(String, Vec<u64>, Vec<u8>)> {
    let spec = ModelSpec::from_json(SPEC, "spec").unwrap();
    let set = spec.param_set().unwrap();
    let r = set.resolve(&spec.rules(&set).unwrap()).unwrap();
    (0..r.params().len())
        .map(|i| {
            let (shape, bytes) = r.fill_param_cpu(i, spec.seed.unwrap(), shard).unwrap();
            (r.params()[i].name.clone(), shape, bytes)
        })
        .collect()
}

fn read_back(path: &Path) -> Vec<(String, Vec<u64>, safetensors::Dtype, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<_> = st
        .iter()
        .map(|(n, t)| {
            (
                n.to_string(),
                t.shape().iter().map(|&d| d as u64).collect(),
                t.dtype(),
                t.data().to_vec(),
            )
        })
        .collect();
    // File order is the set's order (by data offset).
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let order = meta.offset_keys();
    v.sort_by_key(|(n, ..)| order.iter().position(|o| o == n));
    v
}

fn assert_matches_library(path: &Path, shard: Option<&Shard>) {
    let got = read_back(path);
    let want = library_init(shard);
    assert_eq!(got.len(), want.len());
    let spec = ModelSpec::from_json(SPEC, "spec").unwrap();
    for ((name, shape, dtype, data), ((wname, wshape, wdata), p)) in
        got.iter().zip(want.iter().zip(&spec.params))
    {
        assert_eq!(name, wname);
        assert_eq!(shape, wshape, "{name}");
        let dt = match p.dtype {
            weight_init::DType::F32 => safetensors::Dtype::F32,
            weight_init::DType::F16 => safetensors::Dtype::F16,
            weight_init::DType::BF16 => safetensors::Dtype::BF16,
            other => panic!("no safetensors dtype for {other}"),
        };
        assert_eq!(*dtype, dt, "{name}");
        assert_eq!(data, wdata, "{name}");
    }
}

#[test]
fn spec_to_file_on_cpu_and_gpu() {
    let dir = temp_dir("spec");
    let spec = write_spec(&dir);
    let cpu = dir.join("cpu.safetensors");
    let out = init_spec(&spec, &cpu, "cpu", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("wrote 8 tensors") && stdout.contains("seed 4242"),
        "{stdout}"
    );
    assert_matches_library(&cpu, None);

    let gpu = dir.join("gpu.safetensors");
    init_spec(&spec, &gpu, "gpu", &[]);
    assert_matches_library(&gpu, None);
    let mut left = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect::<Vec<_>>();
    left.sort();
    assert_eq!(left, ["cpu.safetensors", "gpu.safetensors", "model.json"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Several parameters in an order that is not name order, three dtypes,
/// and only schemes the contract makes bit-exact on every backend:
/// symmetric uniforms (a single multiply) and constants.
const EXACT_SPEC: &str = r#"{
  "seed": 1,
  "params": [
    {"name": "z.weight", "shape": [64, 32], "init": "uniform(-0.5, 0.5)"},
    {"name": "b.weight", "shape": [16, 8], "dtype": "bf16", "init": "kaiming_uniform(nonlinearity=relu)"},
    {"name": "a.bias", "shape": [64], "init": "zeros"},
    {"name": "n.weight", "shape": [32], "dtype": "f16", "init": "constant(0.25)"}
  ]
}"#;

/// Normal-family schemes, which the GPU does not yet promise to be
/// bit-identical to the CPU: only GPU run == GPU run is asserted for them.
const NORMAL_SPEC: &str = r#"{
  "seed": 1,
  "params": [
    {"name": "a", "shape": [4, 4], "init": "normal(std=0.02)"},
    {"name": "b", "shape": [8], "init": "zeros"},
    {"name": "c", "shape": [40, 24], "dtype": "bf16", "init": "trunc_normal(std=0.02, a=-0.04, b=0.04)"},
    {"name": "d", "shape": [24, 40], "dtype": "f16", "init": "xavier_normal"}
  ]
}"#;

/// Runs `init --spec SPEC --out OUT --device DEVICE` through the shared
/// helper and returns the file's bytes. With `--device gpu` and no
/// adapter the command fails, and so does the test, with the command's
/// own message (which says how to get one).
fn init_bytes(spec: &Path, out: &Path, device: &str) -> Vec<u8> {
    let o = run_cli("init", &spec_args(spec, out, device), &[]);
    assert!(o.status.success(), "init --device {device}: {}", stderr(&o));
    std::fs::read(out).unwrap()
}

#[test]
fn same_spec_and_seed_give_the_same_bytes() {
    let dir = temp_dir("same-bytes");
    std::fs::create_dir(dir.join("sub")).unwrap();
    let exact = dir.join("exact.json");
    std::fs::write(&exact, EXACT_SPEC).unwrap();
    let normal = dir.join("normal.json");
    std::fs::write(&normal, NORMAL_SPEC).unwrap();
    // Different output names and directories: the path is not in the file.
    let outs = |tag: &str| {
        (
            dir.join(format!("{tag}-1.st")),
            dir.join(format!("sub/{tag}-2.st")),
        )
    };

    // CPU, twice: the same bytes, for both specs.
    for (tag, spec) in [("cpu-exact", &exact), ("cpu-normal", &normal)] {
        let (one, two) = outs(tag);
        let (a, b) = (init_bytes(spec, &one, "cpu"), init_bytes(spec, &two, "cpu"));
        assert!(a == b, "{tag}: two CPU runs wrote different files");
    }
    let cpu_exact = std::fs::read(outs("cpu-exact").0).unwrap();
    // The header names nothing run-dependent.
    let n = u64::from_le_bytes(cpu_exact[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&cpu_exact[8..8 + n]).unwrap();
    assert!(
        header.starts_with(r#"{"__metadata__":{"format":"pt","#),
        "{header}"
    );
    let dir_text = dir.to_str().unwrap();
    for word in [
        dir_text, "exact-1", "cpu", "gpu", "pipe", "vulkan", "Vulkan",
    ] {
        assert!(!header.contains(word), "`{word}` in the header: {header}");
    }

    // GPU, twice: the same bytes, and the CPU's bytes, for every scheme
    // (normal-family and sparse values are bit-exact too).
    for (tag, spec) in [("gpu-exact", &exact), ("gpu-normal", &normal)] {
        let (one, two) = outs(tag);
        let (a, b) = (init_bytes(spec, &one, "gpu"), init_bytes(spec, &two, "gpu"));
        assert!(a == b, "{tag}: two GPU runs wrote different files");
    }
    for kind in ["exact", "normal"] {
        let cpu = std::fs::read(outs(&format!("cpu-{kind}")).0).unwrap();
        let gpu = std::fs::read(outs(&format!("gpu-{kind}")).0).unwrap();
        assert!(
            gpu == cpu,
            "{kind}: the GPU and the CPU wrote different files"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shards_on_both_devices() {
    let dir = temp_dir("shards");
    let spec = write_spec(&dir);
    for device in ["cpu", "gpu"] {
        for (mode, world) in [("rows", "3"), ("cols", "2")] {
            for rank in 0..world.parse::<u64>().unwrap() {
                let out = dir.join(format!("{device}-{mode}-{rank}.safetensors"));
                init_spec(
                    &spec,
                    &out,
                    device,
                    &[
                        "--shard",
                        mode,
                        "--world",
                        world,
                        "--rank",
                        &rank.to_string(),
                    ],
                );
                let m: ShardMode = mode.parse().unwrap();
                let s = Shard::new(world.parse().unwrap(), rank, m).unwrap();
                assert_matches_library(&out, Some(&s));
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reinit_from_safetensors_header() {
    let dir = temp_dir("reinit");
    let spec = write_spec(&dir);
    let first = dir.join("first.safetensors");
    init_spec(&spec, &first, "cpu", &[]);
    // Same names, the same rules and seed given on the command line: the
    // same tensors.
    // `init --from-safetensors FIRST --rule ... --preset PRESET EXTRA...
    // --out OUT --device cpu`.
    let reinit = |preset: &str, extra: &[&str], out: &Path| {
        let mut args = vec![
            "init",
            "--from-safetensors",
            first.to_str().unwrap(),
            "--rule",
            "*.qk.weight=orthogonal",
            "--preset",
            preset,
        ];
        args.extend(extra);
        args.extend(["--out", out.to_str().unwrap(), "--device", "cpu"]);
        ok(&args)
    };
    let again = dir.join("again.safetensors");
    reinit("torch-defaults", &["--seed", "4242"], &again);
    let (a, b) = (read_back(&first), read_back(&again));
    assert_eq!(a, b);
    // Another preset and dtype: the shapes and names stay, the values change.
    let other = dir.join("other.safetensors");
    reinit("keras-defaults", &["--dtype", "bf16"], &other);
    let c = read_back(&other);
    for (x, y) in a.iter().zip(&c) {
        assert_eq!((&x.0, &x.1), (&y.0, &y.1));
        assert_eq!(y.2, safetensors::Dtype::BF16);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_one_line_and_nonzero() {
    let dir = temp_dir("bad");
    let spec = write_spec(&dir);
    let s = spec.to_str().unwrap();
    let out = dir.join("out.safetensors");
    let o = out.to_str().unwrap();
    let base = |extra: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = ["init", "--device", "cpu", "--out", o]
            .iter()
            .map(|x| x.to_string())
            .collect();
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let with_spec = |text: &str, extra: &[&'static str]| -> Vec<String> {
        let p = dir.join("bad.json");
        std::fs::write(&p, text).unwrap();
        let mut v = base(extra);
        v.push("--spec".into());
        v.push(p.to_str().unwrap().into());
        v
    };
    let check = |v: Vec<String>, says: &str| {
        fails(&v.iter().map(String::as_str).collect::<Vec<_>>(), says);
    };

    check(
        with_spec("{\"params\": [\n {\"name\": \"a\" \"shape\": [2]}]}", &[]),
        "line 2, column",
    );
    check(
        with_spec(
            r#"{"params": [{"name": "a", "shape": [2], "init": "zeros"}, {"name": "a", "shape": [2], "init": "zeros"}]}"#,
            &[],
        ),
        "duplicate parameter name `a`",
    );
    check(
        with_spec(
            r#"{"preset": "torch-defaults", "params": [{"name": "mystery", "shape": [3]}]}"#,
            &[],
        ),
        "no rule matches parameter `mystery`",
    );
    let mut v = base(&["--shard", "rows", "--world", "4", "--rank", "4"]);
    v.extend(["--spec".to_string(), s.to_string()]);
    check(v, "rank 4 is out of range for world size 4");
    let mut v = base(&["--shard", "cols", "--world", "5", "--rank", "0"]);
    v.extend(["--spec".to_string(), s.to_string()]);
    check(v, "world size 5 does not divide dimension 1");
    let mut v = base(&["--shard", "rows", "--world", "2"]);
    v.extend(["--spec".to_string(), s.to_string()]);
    check(v, "--shard, --world and --rank go together");
    let mut v = base(&["--preset", "gpt3"]);
    v.extend(["--spec".to_string(), s.to_string()]);
    check(v, "gpt3");
    let bad_st = dir.join("bad.safetensors");
    std::fs::write(&bad_st, b"\x10\0\0\0\0\0\0\0{\"w\": 12345678}").unwrap();
    let mut v = base(&[]);
    v.extend([
        "--from-safetensors".to_string(),
        bad_st.to_str().unwrap().to_string(),
    ]);
    check(v, "not a valid safetensors file");
    let mut v = base(&[]);
    v.extend([
        "--spec".to_string(),
        dir.join("missing.json").to_str().unwrap().to_string(),
    ]);
    check(v, "missing.json");
    // An output path that cannot be written: nothing left behind.
    let before: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let bad_out = dir.join("model.json").join("x.safetensors");
    fails(
        &[
            "init",
            "--device",
            "cpu",
            "--spec",
            s,
            "--out",
            bad_out.to_str().unwrap(),
        ],
        "model.json",
    );
    let after: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before.len(), after.len());
    assert!(!out.exists());
    // Usage errors (clap) exit non-zero too.
    let o = run(&["init", "--out", o]);
    assert!(!o.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A model larger than `--gpu-buffer` is filled one device buffer at a time
/// and written whole: the same bytes as the CPU's file, with and without a
/// shard. A tensor larger than the buffer is a one-line error and no file.
#[test]
fn gpu_model_larger_than_one_buffer() {
    let dir = temp_dir("gpu-buffer");
    let spec = dir.join("big.json");
    // Five 64 KiB tensors (and small ones between): with 96 KiB buffers
    // they take several buffers, each holding one or two of them.
    std::fs::write(
        &spec,
        r#"{"seed": 3, "params": [
            {"name": "a.weight", "shape": [64, 256], "init": "normal(std=0.02)"},
            {"name": "a.bias", "shape": [64], "init": "uniform(-0.1, 0.1)"},
            {"name": "b.weight", "shape": [64, 256], "init": "trunc_normal(std=0.02)"},
            {"name": "c.weight", "shape": [128, 256], "dtype": "bf16", "init": "xavier_normal"},
            {"name": "d.weight", "shape": [32, 512], "init": "orthogonal"},
            {"name": "e.weight", "shape": [64, 256], "init": "sparse(0.5)"},
            {"name": "n.weight", "shape": [100], "dtype": "f16", "init": "ones"}
        ]}"#,
    )
    .unwrap();
    let cpu = init_bytes(&spec, &dir.join("cpu.st"), "cpu");
    let s = spec.to_str().unwrap();
    for shard in [
        None,
        Some(["--shard", "cols", "--world", "2", "--rank", "1"]),
    ] {
        let cpu = match shard {
            None => cpu.clone(),
            Some(sh) => {
                let out = dir.join("cpu-shard.st");
                let mut args = vec!["init", "--spec", s, "--out", out.to_str().unwrap()];
                args.extend(["--device", "cpu"]);
                args.extend(sh);
                ok(&args);
                std::fs::read(&out).unwrap()
            }
        };
        let out = dir.join("gpu.st");
        let mut args = vec!["init", "--spec", s, "--out", out.to_str().unwrap()];
        args.extend(["--device", "gpu", "--gpu-buffer", "96KiB"]);
        if let Some(sh) = shard {
            args.extend(sh);
        }
        ok(&args);
        let gpu = std::fs::read(&out).unwrap();
        assert!(
            gpu == cpu,
            "{shard:?}: the buffer-by-buffer GPU file differs from the CPU's"
        );
    }
    let out = dir.join("too-small.st");
    let o = run(&[
        "init",
        "--spec",
        s,
        "--out",
        out.to_str().unwrap(),
        "--device",
        "gpu",
        "--gpu-buffer",
        "32KiB",
    ]);
    // The driver may print its own lines first (Mesa's GL without
    // XDG_RUNTIME_DIR); the command's error is the last line.
    let err = String::from_utf8_lossy(&o.stderr);
    let last = err.trim_end().lines().last().unwrap_or("");
    assert!(
        !o.status.success(),
        "a tensor larger than --gpu-buffer was accepted"
    );
    assert!(
        last.contains("a.weight") && last.contains("32768 bytes"),
        "{err}"
    );
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `init --json` on the CPU and the GPU: JSON lines only on stdout, the
/// common fields on every object (README, "JSON output"), one row per
/// tensor in the spec's order with the bytes the file holds, and a summary
/// with the table run's totals; the file is the same bytes as without
/// `--json` (and on either device: the progress bar changes nothing).
#[test]
fn json_rows_match_the_file_and_the_table() {
    let dir = temp_dir("init-json");
    let spec = dir.join("spec.json");
    std::fs::write(
        &spec,
        r#"{"seed": 3, "params": [
          {"name": "a.weight", "shape": [64, 32], "init": "kaiming_uniform"},
          {"name": "a.bias", "shape": [64], "init": "torch_default_bias"},
          {"name": "b.weight", "shape": [16, 16], "dtype": "bf16", "init": "orthogonal"}
        ]}"#,
    )
    .unwrap();
    let plain = dir.join("plain.safetensors");
    let table = String::from_utf8_lossy(&init_spec(&spec, &plain, "cpu", &[]).stdout).into_owned();
    // "wrote 3 tensors, BYTES bytes, to ..."
    let table_bytes: u64 = table
        .split(", ")
        .nth(1)
        .and_then(|b| b.strip_suffix(" bytes"))
        .and_then(|b| b.parse().ok())
        .unwrap_or_else(|| panic!("no byte count: {table}"));
    let want = std::fs::read(&plain).unwrap();
    let st = safetensors::SafeTensors::deserialize(&want).unwrap();
    for device in ["cpu", "gpu"] {
        let out = dir.join(format!("{device}.safetensors"));
        let o = init_spec(&spec, &out, device, &["--json"]);
        assert_eq!(std::fs::read(&out).unwrap(), want, "{device}");
        let (rows, summary) = common::json_lines(&o.stdout, "init");
        for v in rows.iter().chain([&summary]) {
            assert_eq!(v["seed"].as_u64(), Some(3), "{v}");
            assert_eq!(v["backend"], device, "{v}");
            assert_eq!(v["adapter"].is_null(), device == "cpu", "{v}");
        }
        assert_eq!(summary["tensors"], 3);
        assert_eq!(summary["bytes"].as_u64(), Some(table_bytes));
        let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["a.weight", "a.bias", "b.weight"]);
        for r in &rows {
            let t = st.tensor(r["name"].as_str().unwrap()).unwrap();
            assert_eq!(r["bytes"].as_u64(), Some(t.data().len() as u64), "{r}");
            let shape: Vec<usize> = serde_json::from_value(r["shape"].clone()).unwrap();
            assert_eq!(shape, t.shape(), "{r}");
        }
        assert_eq!(rows[2]["dtype"], "bf16");
        assert_eq!(rows[1]["scheme"], "torch_default_bias");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
