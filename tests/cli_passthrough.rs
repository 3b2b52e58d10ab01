//! `init --from-safetensors` on a checkpoint with non-float tensors (an
//! I64 `position_ids`, an F64 tensor): they are copied byte for byte, or
//! left out with `--skip-non-float`, never a reason to refuse the file;
//! the float tensors are initialized as the library initializes them.

mod common;

use std::path::Path;

use common::{run_cli, stdout, TempDir};
use safetensors::{Dtype, SafeTensors};
use weight_init::cpu::Threads;
use weight_init::model::{read_checkpoint, write_safetensors_opts, ParamSet, Preset, WriteOptions};
use weight_init::DType;

/// `(name, dtype, shape, data)` written by hand: header JSON, then data.
fn write_checkpoint(path: &Path, tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) {
    let mut entries = Vec::new();
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        entries.push(format!(
            "\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
            dims.join(","),
            data.len(),
            data.len() + bytes.len()
        ));
        data.extend_from_slice(bytes);
    }
    let header = format!(
        "{{\"__metadata__\":{{\"format\":\"pt\"}},{}}}",
        entries.join(",")
    );
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&data);
    std::fs::write(path, file).unwrap();
}

fn position_ids() -> Vec<u8> {
    (0..7i64).flat_map(|i| (i * 3 - 1).to_le_bytes()).collect()
}

fn doubles() -> Vec<u8> {
    [1.5f64, -2.25, 1e300]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect()
}

fn source(dir: &TempDir) -> std::path::PathBuf {
    let src = dir.join("ckpt.safetensors");
    write_checkpoint(
        &src,
        &[
            // Floats all 0x3f: initialized tensors cannot keep them.
            ("fc.weight", "F32", vec![8, 4], vec![0x3f; 128]),
            ("embeddings.position_ids", "I64", vec![1, 7], position_ids()),
            ("fc.bias", "F32", vec![8], vec![0x3f; 32]),
            ("ln.weight", "F16", vec![4], vec![0x3f; 8]),
            ("scale", "F64", vec![3], doubles()),
            ("mask", "BOOL", vec![5], vec![1, 0, 1, 1, 0]),
        ],
    );
    src
}

/// The file the library writes for `src` at `seed` with `dtype` forced
/// (the CLI with `--preset torch-defaults`), copying `src`'s non-float tensors
/// unless `skip`.
fn library_file(src: &Path, out: &Path, seed: u64, dtype: Option<DType>, skip: bool) -> Vec<u8> {
    let ckpt = read_checkpoint(src).unwrap();
    let mut set = ckpt.params;
    if let Some(d) = dtype {
        set = ParamSet::from_params(set.params().iter().cloned().map(|mut p| {
            p.dtype = d;
            p
        }))
        .unwrap();
    }
    let rules = "torch-defaults"
        .parse::<Preset>()
        .unwrap()
        .rules(&set)
        .unwrap();
    let r = set.resolve(&rules).unwrap();
    let opts = WriteOptions {
        threads: Threads::count(1).unwrap(),
        copy: (!skip).then_some(ckpt.passthrough),
    };
    write_safetensors_opts(out, &r, seed, None, &opts).unwrap();
    std::fs::read(out).unwrap()
}

fn init(src: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "--from-safetensors",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--device",
        "cpu",
        "--seed",
        "21",
        "--preset",
        "torch-defaults",
    ];
    args.extend_from_slice(extra);
    let o = run_cli("init", &args, &[]);
    assert!(o.status.success(), "init {extra:?} failed");
    stdout(&o)
}

fn check_copied(st: &SafeTensors) {
    let p = st.tensor("embeddings.position_ids").unwrap();
    assert_eq!(p.dtype(), Dtype::I64);
    assert_eq!(p.shape(), &[1, 7]);
    assert_eq!(p.data(), position_ids().as_slice());
    let s = st.tensor("scale").unwrap();
    assert_eq!(s.dtype(), Dtype::F64);
    assert_eq!(s.shape(), &[3]);
    assert_eq!(s.data(), doubles().as_slice());
    let m = st.tensor("mask").unwrap();
    assert_eq!(m.dtype(), Dtype::BOOL);
    assert_eq!(m.data(), &[1, 0, 1, 1, 0]);
}

#[test]
fn init_copies_non_float_tensors_and_initializes_the_floats() {
    let dir = TempDir::new("passthrough");
    let src = source(&dir);
    let out = dir.join("out.safetensors");
    let report = init(&src, &out, &[]);
    assert!(
        report.contains("copied 3 non-float tensors unchanged")
            && report.contains("embeddings.position_ids (I64 [1, 7])")
            && report.contains("scale (F64 [3])"),
        "{report}"
    );
    let bytes = std::fs::read(&out).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.len(), 6);
    check_copied(&st);
    let w = st.tensor("fc.weight").unwrap();
    assert_eq!((w.dtype(), w.shape()), (Dtype::F32, &[8usize, 4][..]));
    assert!(
        w.data().iter().any(|&b| b != 0x3f),
        "fc.weight kept the source's data"
    );
    assert_eq!(st.tensor("ln.weight").unwrap().dtype(), Dtype::F16);
    // The float tensors (and the whole file) are what the library writes
    // for the same seed, on one thread.
    let lib = library_file(&src, &dir.join("lib.safetensors"), 21, None, false);
    assert!(bytes == lib, "the CLI's file differs from the library's");
    // The source is unchanged.
    let src_bytes = std::fs::read(&src).unwrap();
    let src_st = SafeTensors::deserialize(&src_bytes).unwrap();
    assert_eq!(src_st.tensor("fc.weight").unwrap().data(), &[0x3f; 128][..]);
}

#[test]
fn dtype_does_not_change_copied_tensors() {
    let dir = TempDir::new("passthrough-dtype");
    let src = source(&dir);
    for dtype in ["f32", "bf16"] {
        let out = dir.join(&format!("out-{dtype}.safetensors"));
        init(&src, &out, &["--dtype", dtype]);
        let bytes = std::fs::read(&out).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        check_copied(&st);
        let want = if dtype == "f32" {
            Dtype::F32
        } else {
            Dtype::BF16
        };
        assert_eq!(st.tensor("ln.weight").unwrap().dtype(), want);
        assert_eq!(st.tensor("fc.weight").unwrap().dtype(), want);
        let d = dtype.parse::<DType>().unwrap();
        let lib = library_file(&src, &dir.join("lib.safetensors"), 21, Some(d), false);
        assert!(
            bytes == lib,
            "--dtype {dtype}: the CLI's file differs from the library's"
        );
    }
}

#[test]
fn skip_non_float_leaves_them_out_and_says_so() {
    let dir = TempDir::new("passthrough-skip");
    let src = source(&dir);
    let out = dir.join("out.safetensors");
    let report = init(&src, &out, &["--skip-non-float", "--dtype", "f32"]);
    assert!(
        report.contains("skipped 3 non-float tensors (--skip-non-float)")
            && report.contains("mask (BOOL [5])")
            && !report.contains("copied"),
        "{report}"
    );
    let bytes = std::fs::read(&out).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    assert_eq!(names, ["fc.bias", "fc.weight", "ln.weight"]);
    let lib = library_file(
        &src,
        &dir.join("lib.safetensors"),
        21,
        Some(DType::F32),
        true,
    );
    assert!(bytes == lib, "the CLI's file differs from the library's");
}

#[test]
fn threads_flag_gives_the_same_file() {
    let dir = TempDir::new("passthrough-threads");
    let src = source(&dir);
    let a = dir.join("a.safetensors");
    let b = dir.join("b.safetensors");
    init(&src, &a, &[]);
    let report = init(&src, &b, &["--threads", "3"]);
    assert!(report.contains("cpu, 3 threads"), "{report}");
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap());
    let o = run_cli(
        "init",
        &[
            "--from-safetensors",
            src.to_str().unwrap(),
            "--out",
            a.to_str().unwrap(),
            "--device",
            "cpu",
            "--threads",
            "0",
            "--preset",
            "torch-defaults",
        ],
        &[],
    );
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).contains("threads"),
        "{}",
        common::stderr(&o)
    );
}

#[test]
fn gpu_copies_them_too_and_refuses_threads() {
    let dir = TempDir::new("passthrough-gpu");
    let src = source(&dir);
    let cpu = dir.join("cpu.safetensors");
    init(&src, &cpu, &[]);
    let gpu = dir.join("gpu.safetensors");
    let args = |out: &Path, extra: &[&'static str]| {
        let mut v = vec![
            "--from-safetensors".to_string(),
            src.to_str().unwrap().to_string(),
            "--out".to_string(),
            out.to_str().unwrap().to_string(),
            "--device".to_string(),
            "gpu".to_string(),
            "--seed".to_string(),
            "21".to_string(),
            "--preset".to_string(),
            "torch-defaults".to_string(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let a = args(&gpu, &[]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let o = run_cli("init", &a, &[]);
    assert!(o.status.success(), "init --device gpu failed");
    assert!(stdout(&o).contains("copied 3 non-float tensors unchanged"));
    assert!(
        std::fs::read(&gpu).unwrap() == std::fs::read(&cpu).unwrap(),
        "the GPU's file differs from the CPU's"
    );
    let t = args(&dir.join("t.safetensors"), &["--threads", "2"]);
    let t: Vec<&str> = t.iter().map(String::as_str).collect();
    let o = run_cli("init", &t, &[]);
    assert!(!o.status.success());
    assert!(common::stderr(&o).contains("--threads"));
    assert!(!dir.join("t.safetensors").exists());
}

#[test]
fn a_source_changed_since_its_header_was_read_is_refused() {
    let dir = TempDir::new("passthrough-changed");
    let src = source(&dir);
    let ckpt = read_checkpoint(&src).unwrap();
    // The I64 tensor grows: its entry and the data start move.
    write_checkpoint(
        &src,
        &[
            ("fc.weight", "F32", vec![8, 4], vec![0x3f; 128]),
            ("embeddings.position_ids", "I64", vec![1, 8], vec![0; 64]),
        ],
    );
    let set = ckpt.params.clone();
    let rules = "torch-defaults"
        .parse::<Preset>()
        .unwrap()
        .rules(&set)
        .unwrap();
    let r = set.resolve(&rules).unwrap();
    let out = dir.join("out.safetensors");
    let opts = WriteOptions {
        copy: Some(ckpt.passthrough),
        ..Default::default()
    };
    let err = write_safetensors_opts(&out, &r, 1, None, &opts).unwrap_err();
    assert!(
        err.to_string()
            .contains("changed since its header was read"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn the_output_may_be_the_source() {
    let dir = TempDir::new("passthrough-inplace");
    let src = source(&dir);
    let want = std::fs::read(source(&TempDir::new("passthrough-inplace-ref"))).unwrap();
    assert_eq!(std::fs::read(&src).unwrap(), want);
    init(&src, &src, &[]);
    let bytes = std::fs::read(&src).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    check_copied(&st);
    assert!(st
        .tensor("fc.weight")
        .unwrap()
        .data()
        .iter()
        .any(|&b| b != 0x3f));
}
