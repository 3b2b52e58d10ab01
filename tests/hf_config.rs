//! Architectures from their Hugging Face config (`HfConfig`,
//! `init --hf-config`) against fixtures that `scripts/hf_fixtures.py`
//! generated with `transformers` (its version is in each
//! `tests/fixtures/hf/NAME.expected.json`): names, shapes and dtypes as
//! `save_pretrained` wrote them, each tensor's init as the architecture's
//! `_init_weights`, the filled values' statistics, the CLI's directory
//! output, `--dtype`, bad configs, and GPU = CPU bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use weight_init::model::{HfConfig, Param, ParamSet, Rules, ShardMode};
use weight_init::{DType, Init};

mod common;
use common::{assemble, bin, cpu_shard_parts, run_cli, stderr, values, TempDir};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf")
}

/// Every fixture's name (`NAME.config.json`), sorted.
fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.strip_suffix(".config.json").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

fn config_path(name: &str) -> PathBuf {
    fixtures().join(format!("{name}.config.json"))
}

/// What `transformers` saved for one tensor, and its init recipe.
#[derive(Debug)]
struct Expected {
    shape: Vec<u64>,
    dtype: DType,
    /// "normal", "zeros" or "ones".
    init: String,
    std: Option<f64>,
    padding_idx: Option<u64>,
}

/// The fixture's class and tensors (name -> expected).
fn expected(name: &str) -> (String, BTreeMap<String, Expected>) {
    let path = fixtures().join(format!("{name}.expected.json"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(doc["transformers"].as_str().is_some(), "{name}: no version");
    let tensors = doc["tensors"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let dtype = match v["dtype"].as_str().unwrap() {
                "F32" => DType::F32,
                "F16" => DType::F16,
                "BF16" => DType::BF16,
                d => panic!("{name}: {k}: dtype {d}"),
            };
            let e = Expected {
                shape: v["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap())
                    .collect(),
                dtype,
                init: v["init"].as_str().unwrap().to_string(),
                std: v["std"].as_f64(),
                padding_idx: v["padding_idx"].as_u64(),
            };
            (k.clone(), e)
        })
        .collect();
    (doc["class"].as_str().unwrap().to_string(), tensors)
}

fn param_set(name: &str) -> (HfConfig, ParamSet) {
    let cfg = HfConfig::from_file(&config_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let set = cfg.param_set().unwrap_or_else(|e| panic!("{name}: {e}"));
    (cfg, set)
}

/// The std a parameter's own init draws with (`None` for constants).
fn init_std(p: &Param) -> Option<f64> {
    match p.init.as_ref().unwrap() {
        Init::Normal(m) => {
            assert_eq!(m.mean(), 0.0, "{}", p.name);
            Some(m.std())
        }
        Init::NormalPadded(m) => {
            assert_eq!(m.mean(), 0.0, "{}", p.name);
            Some(m.std())
        }
        Init::Gpt2Residual(g) => Some(g.std() / (2.0 * g.n_layers() as f64).sqrt()),
        Init::Zeros | Init::Ones => None,
        other => panic!("{}: unexpected init {other}", p.name),
    }
}

#[test]
fn there_are_two_fixtures_per_architecture() {
    let names = fixture_names();
    for arch in ["llama", "mistral", "qwen2", "gpt2", "bert"] {
        let n = names.iter().filter(|n| n.starts_with(arch)).count();
        assert!(n >= 2, "{arch}: {n} fixtures");
    }
}

#[test]
fn every_fixture_matches_transformers_name_for_name() {
    for name in fixture_names() {
        let (class, want) = expected(&name);
        let (cfg, set) = param_set(&name);
        assert_eq!(cfg.class(), class, "{name}");
        let got: Vec<&str> = set.params().iter().map(|p| p.name.as_str()).collect();
        let mut sorted = got.clone();
        sorted.sort_unstable();
        let want_names: Vec<&str> = want.keys().map(String::as_str).collect();
        assert_eq!(sorted, want_names, "{name}: names differ");
        for p in set.params() {
            let e = &want[&p.name];
            assert_eq!(p.shape, e.shape, "{name}: {} shape", p.name);
            assert_eq!(p.dtype, e.dtype, "{name}: {} dtype", p.name);
            let init = p.init.as_ref().unwrap();
            match e.init.as_str() {
                "zeros" => assert_eq!(*init, Init::Zeros, "{name}: {}", p.name),
                "ones" => assert_eq!(*init, Init::Ones, "{name}: {}", p.name),
                "normal" => {
                    let std = init_std(p).unwrap_or_else(|| panic!("{name}: {}", p.name));
                    let want_std = e.std.unwrap();
                    assert!(
                        (std / want_std - 1.0).abs() < 1e-12,
                        "{name}: {} std {std} vs {want_std}",
                        p.name
                    );
                    let pad = match init {
                        Init::NormalPadded(m) => Some(m.padding_idx()),
                        _ => None,
                    };
                    assert_eq!(pad, e.padding_idx, "{name}: {} padding row", p.name);
                }
                other => panic!("{name}: {}: init {other}", p.name),
            }
        }
    }
}

/// Two-sided 1e-6 quantile of the standard normal: every statistical
/// check below fails a correct implementation with probability at most
/// 1e-6 (per tensor and statistic; about 500 tensors, two statistics, so
/// below 1e-3 for the whole test, and the seed is fixed).
const Z: f64 = 4.891_638_5;

/// The sample std `s = sqrt(sum x^2 / n)` (the mean is known, 0) of `n`
/// draws of N(0, std^2): `n s^2 / std^2` is chi-square with `n` degrees of
/// freedom, whose cube root of `chi2 / n` is close to normal with mean
/// `1 - 2 / (9n)` and variance `2 / (9n)` (Wilson and Hilferty 1931).
/// Rounding to f16/bf16 changes the std by a relative ~1e-6, far inside.
fn check_std(what: &str, xs: &[f64], std: f64) {
    let n = xs.len() as f64;
    let ratio = xs.iter().map(|x| x * x).sum::<f64>() / n / (std * std);
    let v = 2.0 / (9.0 * n);
    let t = (ratio.cbrt() - (1.0 - v)) / v.sqrt();
    assert!(
        t.abs() < Z,
        "{what}: sample std {} vs {std} (Wilson-Hilferty z = {t:.2}, n = {n})",
        ratio.sqrt() * std
    );
    let mean = xs.iter().sum::<f64>() / n;
    let z = mean / (std / n.sqrt());
    assert!(z.abs() < Z, "{what}: sample mean {mean} (z = {z:.2})");
}

#[test]
fn every_fixture_fills_with_its_recipes_statistics() {
    for name in fixture_names() {
        let (_, want) = expected(&name);
        let (_, set) = param_set(&name);
        let resolved = set.resolve(&Rules::default()).unwrap();
        let tensors = resolved.fill_cpu(2024, None).unwrap();
        for (tensor, bytes) in &tensors {
            let e = &want[tensor];
            let x: Vec<f64> = values(bytes, e.dtype).into_iter().map(f64::from).collect();
            let what = format!("{name}: {tensor}");
            match e.init.as_str() {
                "zeros" => assert!(x.iter().all(|&v| v == 0.0), "{what}: not all zero"),
                "ones" => assert!(x.iter().all(|&v| v == 1.0), "{what}: not all one"),
                _ => {
                    let cols = e.shape[1..].iter().product::<u64>() as usize;
                    let rows: Vec<&[f64]> = x.chunks(cols).collect();
                    let mut kept = Vec::with_capacity(x.len());
                    for (i, row) in rows.iter().enumerate() {
                        if Some(i as u64) == e.padding_idx {
                            assert!(row.iter().all(|&v| v == 0.0), "{what}: padding row {i}");
                        } else {
                            assert!(row.iter().any(|&v| v != 0.0), "{what}: row {i} is zero");
                            kept.extend_from_slice(row);
                        }
                    }
                    check_std(&what, &kept, e.std.unwrap());
                }
            }
        }
    }
}

#[test]
fn normal_padded_is_normal_but_for_the_padding_row() {
    let normal =
        ParamSet::from_params([Param::new("emb", vec![10, 6], DType::BF16)
            .with_init("normal(0, 0.02)".parse().unwrap())])
        .unwrap();
    let padded: Init = "normal_padded(std=0.02, padding_idx=4)".parse().unwrap();
    let set = ParamSet::from_params([
        Param::new("emb", vec![10, 6], DType::BF16).with_init(padded.clone())
    ])
    .unwrap();
    let fill = |s: &ParamSet| {
        s.resolve(&Rules::default())
            .unwrap()
            .fill_cpu(7, None)
            .unwrap()
    };
    let (a, b) = (fill(&normal), fill(&set));
    let row = 6 * 2;
    assert_eq!(a[0].1[..4 * row], b[0].1[..4 * row]);
    assert_eq!(a[0].1[5 * row..], b[0].1[5 * row..]);
    assert!(b[0].1[4 * row..5 * row].iter().all(|&x| x == 0));
    assert!(a[0].1[4 * row..5 * row].iter().any(|&x| x != 0));
    // Shards put back together are the whole table: 2 row shards (the
    // padding row the last of rank 0), 3 column shards.
    let r = set.resolve(&Rules::default()).unwrap();
    for (world, mode) in [(2, ShardMode::Rows), (3, ShardMode::Columns)] {
        let parts = cpu_shard_parts(&r, 7, world, mode);
        assert_eq!(
            assemble(&[10, 6], DType::BF16, mode, &parts[0]),
            b[0].1,
            "{mode:?}"
        );
    }

    // Text and JSON forms.
    assert_eq!(
        padded.to_string(),
        "normal_padded(mean=0, std=0.02, padding_idx=4)"
    );
    assert_eq!(padded.to_string().parse::<Init>().unwrap(), padded);
    let json = serde_json::to_string(&padded).unwrap();
    assert_eq!(
        json,
        r#"{"scheme":"normal_padded","mean":0.0,"std":0.02,"padding_idx":4}"#
    );
    assert_eq!(serde_json::from_str::<Init>(&json).unwrap(), padded);
    let short: Init =
        serde_json::from_str(r#"{"scheme":"normal_padded","padding_idx":1}"#).unwrap();
    assert_eq!(short, "normal_padded(0, 1, 1)".parse().unwrap());
    // Bad parameters and shapes are errors.
    assert!("normal_padded".parse::<Init>().is_err()); // padding_idx required
    assert!("normal_padded(0, 0, 1)".parse::<Init>().is_err());
    assert!("normal_padded(0, 1, -1)".parse::<Init>().is_err());
    assert!(
        serde_json::from_str::<Init>(r#"{"scheme":"normal_padded","std":-1,"padding_idx":1}"#)
            .is_err()
    );
    let opts = weight_init::ResolveOptions::default();
    let err = padded.resolve(&[4, 6], &opts).unwrap_err().to_string();
    assert!(err.contains("padding_idx 4"), "{err}");
    assert!(padded.resolve(&[60], &opts).is_err());
    assert!(padded.resolve(&[10, 3, 2], &opts).is_err());
    // The first and the last row pad too (one segment left out).
    for pad in [0, 9] {
        let i: Init = format!("normal_padded(0, 1, {pad})").parse().unwrap();
        assert!(i.resolve(&[10, 6], &opts).is_ok());
    }
}

fn run(args: &[&str]) -> Output {
    run_cli("init", args, &[])
}

/// A file's tensors by name: shape, dtype, data.
type Tensors = BTreeMap<String, (Vec<u64>, DType, Vec<u8>)>;

/// A safetensors file's tensors and its `__metadata__`.
fn read_tensors(path: &Path) -> (Tensors, Value) {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let map = st
        .iter()
        .map(|(n, t)| {
            let dtype = match t.dtype() {
                safetensors::Dtype::F32 => DType::F32,
                safetensors::Dtype::F16 => DType::F16,
                safetensors::Dtype::BF16 => DType::BF16,
                d => panic!("{n}: {d:?}"),
            };
            let shape = t.shape().iter().map(|&d| d as u64).collect();
            (n.to_string(), (shape, dtype, t.data().to_vec()))
        })
        .collect();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (map, header["__metadata__"].clone())
}

#[test]
fn cli_writes_a_directory_that_from_pretrained_reads() {
    let dir = TempDir::new("hf-dir");
    let name = "qwen2_gqa";
    let cfg = config_path(name);
    let out = format!("{}/", dir.path().to_str().unwrap());
    let o = run(&[
        "--hf-config",
        cfg.to_str().unwrap(),
        "--out",
        &out,
        "--device",
        "cpu",
        "--seed",
        "5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(dir.names(), ["config.json", "model.safetensors"]);
    assert_eq!(
        std::fs::read(dir.join("config.json")).unwrap(),
        std::fs::read(&cfg).unwrap()
    );
    let (tensors, meta) = read_tensors(&dir.join("model.safetensors"));
    assert_eq!(meta["format"], "pt", "{meta}");
    // The library's values, name for name.
    let (_, set) = param_set(name);
    let lib = set
        .resolve(&Rules::default())
        .unwrap()
        .fill_cpu(5, None)
        .unwrap();
    assert_eq!(tensors.len(), lib.len());
    for (n, bytes) in &lib {
        let (shape, dtype, data) = &tensors[n];
        let p = set.get(n).unwrap();
        assert_eq!((shape, *dtype), (&p.shape, p.dtype), "{n}");
        assert!(data == bytes, "{n}: the file differs from the library");
    }

    // An existing directory without the slash; the config already there
    // is the same file: left alone.
    let again = run(&[
        "--hf-config",
        dir.join("config.json").to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
        "--device",
        "cpu",
        "--seed",
        "5",
    ]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(!common::stdout(&again).contains("copied"));
    assert_eq!(dir.names(), ["config.json", "model.safetensors"]);

    // A file path: the file only; a command-line rule replaces the recipe.
    let file = dir.join("sub.safetensors");
    let o = run(&[
        "--hf-config",
        cfg.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
        "--device",
        "cpu",
        "--rule",
        "lm_head.weight=ones",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        dir.names(),
        ["config.json", "model.safetensors", "sub.safetensors"]
    );
    let (tensors, _) = read_tensors(&file);
    let (_, dtype, data) = &tensors["lm_head.weight"];
    assert!(values(data, *dtype).iter().all(|&v| v == 1.0));
    let (_, dtype, data) = &tensors["model.layers.0.mlp.up_proj.weight"];
    assert!(values(data, *dtype).iter().any(|&v| v != 1.0));
}

#[test]
fn dtype_flag_overrides_the_config() {
    let dir = TempDir::new("hf-dtype");
    // llama_gqa says torch_dtype bfloat16.
    let cfg = config_path("llama_gqa");
    let out = dir.join("m.safetensors");
    let args = |dtype: Option<&str>| {
        let mut a = vec![
            "--hf-config".to_string(),
            cfg.to_str().unwrap().to_string(),
            "--out".into(),
            out.to_str().unwrap().to_string(),
            "--device".into(),
            "cpu".into(),
        ];
        if let Some(d) = dtype {
            a.extend(["--dtype".into(), d.into()]);
        }
        a
    };
    let call = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run(&refs)
    };
    assert!(call(args(None)).status.success());
    let (t, _) = read_tensors(&out);
    assert!(t.values().all(|(_, d, _)| *d == DType::BF16));
    assert!(call(args(Some("f16"))).status.success());
    let (t, _) = read_tensors(&out);
    assert!(t.values().all(|(_, d, _)| *d == DType::F16));

    // A dtype weight-init does not write: an error, unless --dtype.
    let f64_cfg = dir.join("f64.json");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("bfloat16", "float64");
    std::fs::write(&f64_cfg, text).unwrap();
    let out2 = dir.join("f64.safetensors");
    let base = [
        "--hf-config",
        f64_cfg.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--device",
        "cpu",
    ];
    let o = run(&base);
    let err = stderr(&o);
    assert!(!o.status.success() && err.contains("float64"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!out2.exists());
    let mut with = base.to_vec();
    with.extend(["--dtype", "f32"]);
    assert!(run(&with).status.success());
    let (t, _) = read_tensors(&out2);
    assert!(t.values().all(|(_, d, _)| *d == DType::F32));
}

#[test]
fn bad_configs_are_one_line_and_write_nothing() {
    let good: Value =
        serde_json::from_str(&std::fs::read_to_string(config_path("llama_gqa")).unwrap()).unwrap();
    let with = |key: &str, v: Option<Value>| {
        let mut c = good.clone();
        match v {
            Some(v) => c[key] = v,
            None => {
                c.as_object_mut().unwrap().remove(key);
            }
        }
        c.to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        (
            with("model_type", Some("t5".into())),
            "unsupported model_type `t5`; supported: llama",
        ),
        (with("model_type", None), "missing `model_type`"),
        (
            with(
                "architectures",
                Some(serde_json::json!(["LlamaForSequenceClassification"])),
            ),
            "unsupported architecture",
        ),
        (
            with(
                "architectures",
                Some(serde_json::json!(["GPT2LMHeadModel"])),
            ),
            "LlamaForCausalLM, LlamaModel",
        ),
        (
            with("architectures", Some("LlamaForCausalLM".into())),
            "`architectures` must be a list",
        ),
        (
            with("hidden_size", Some("64".into())),
            "`hidden_size` must be a whole number",
        ),
        (
            with("hidden_size", Some(serde_json::json!(64.5))),
            "`hidden_size` must be a whole number",
        ),
        (
            with("hidden_size", Some(66.into())),
            "hidden size 66 is not a multiple of the number of attention heads 8",
        ),
        (
            with("initializer_range", Some(serde_json::json!(1.5))),
            "`initializer_range` must be at most 1 for llama",
        ),
        (
            with("num_hidden_layers", Some(0.into())),
            "`num_hidden_layers` must be at least 1",
        ),
        (
            with("tie_word_embeddings", Some("yes".into())),
            "`tie_word_embeddings` must be true or false",
        ),
        (
            with("num_key_value_heads", Some(3.into())),
            "not a multiple of num_key_value_heads 3",
        ),
        (with("pad_token_id", Some(500.into())), "pad_token_id 500"),
        (
            with("num_hidden_layers", Some(1_000_000_000u64.into())),
            "1000000000 layers, past the 10000",
        ),
        (
            with("initializer_range", Some(0.into())),
            "`initializer_range` must be a finite number > 0",
        ),
        (
            with("torch_dtype", Some(16.into())),
            "`torch_dtype` must be a string",
        ),
        ("{\"model_type\": \"llama\",".into(), "line 1"),
        ("[1, 2]".into(), "a config.json is a JSON object"),
    ];
    for (text, says) in cases {
        let dir = TempDir::new("hf-bad");
        let cfg = dir.join("in.json");
        std::fs::write(&cfg, &text).unwrap();
        let out_dir = dir.join("out");
        std::fs::create_dir(&out_dir).unwrap();
        let o = bin()
            .args([
                "init",
                "--hf-config",
                cfg.to_str().unwrap(),
                "--out",
                out_dir.to_str().unwrap(),
                "--device",
                "cpu",
            ])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(!o.status.success(), "{text}: succeeded");
        assert_eq!(err.trim_end().lines().count(), 1, "{text}: {err}");
        assert!(err.contains(says), "{text}: `{err}` lacks `{says}`");
        assert_eq!(
            std::fs::read_dir(&out_dir).unwrap().count(),
            0,
            "{text}: wrote something"
        );
    }
    // --hf-config with --spec is refused by the parser; a missing
    // directory named with a slash too.
    let dir = TempDir::new("hf-bad-args");
    let cfg = config_path("gpt2_small");
    let o = run(&[
        "--hf-config",
        cfg.to_str().unwrap(),
        "--spec",
        "x.json",
        "--out",
        &dir.s("m.st"),
    ]);
    assert!(!o.status.success());
    let missing = format!("{}/", dir.s("nope"));
    let o = run(&[
        "--hf-config",
        cfg.to_str().unwrap(),
        "--out",
        &missing,
        "--device",
        "cpu",
    ]);
    let err = stderr(&o);
    assert!(
        !o.status.success() && err.contains("does not exist"),
        "{err}"
    );
    let o = run(&[
        "--hf-config",
        cfg.to_str().unwrap(),
        "--out",
        &dir.s("m.st"),
        "--preset",
        "gpt2",
    ]);
    let err = stderr(&o);
    assert!(
        !o.status.success() && err.contains("--preset does not go with --hf-config"),
        "{err}"
    );
    assert!(dir.names().is_empty());
}

/// The GPU writes the CPU's bytes for a bf16 Llama with GQA and a padding
/// row (normal, normal_padded, ones). With no adapter the GPU run fails,
/// and so does the test, with the command's message saying how to get one.
#[test]
fn gpu_and_cpu_write_the_same_bytes() {
    let dir = TempDir::new("hf-gpu");
    let cfg = config_path("llama_gqa");
    let write = |device: &str| {
        let out = dir.join(&format!("{device}.safetensors"));
        let o = run(&[
            "--hf-config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--device",
            device,
            "--seed",
            "11",
        ]);
        assert!(o.status.success(), "--device {device}: {}", stderr(&o));
        std::fs::read(out).unwrap()
    };
    let (cpu, gpu) = (write("cpu"), write("gpu"));
    assert!(cpu == gpu, "the GPU and the CPU wrote different files");
}

/// Sizes a config leaves out are its config class's, as in
/// `transformers`: checked by the published parameter counts of the
/// full-size defaults (GPT-2 small 124,439,808 without the tied head;
/// `bert-base` `BertModel` 109,482,240; Llama-2-7B 6,738,415,616).
#[test]
fn absent_sizes_are_the_config_class_defaults() {
    for (text, want) in [
        (
            r#"{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}"#,
            124_439_808u64,
        ),
        (r#"{"model_type": "bert"}"#, 109_482_240),
        (
            r#"{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}"#,
            6_738_415_616,
        ),
    ] {
        let cfg = HfConfig::from_json(text, "inline").unwrap();
        let set = cfg.param_set().unwrap();
        let total: u64 = set
            .params()
            .iter()
            .map(|p| p.shape.iter().product::<u64>())
            .sum();
        assert_eq!(total, want, "{text}");
    }
}
