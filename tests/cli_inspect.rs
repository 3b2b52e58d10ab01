//! `weight-init inspect` on files written here with the `safetensors` crate.

use std::collections::HashMap;
use std::path::PathBuf;

use safetensors::tensor::TensorView;
use safetensors::Dtype;
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
