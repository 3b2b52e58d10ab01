//! Fault suite, issue 13 classes 5 to 8: sizes that overflow or cannot be
//! allocated, panics on the GPU side of a caller's mistake, unbounded work,
//! and messages that hide the cause. Each case asserts the exact outcome:
//! the exit code (never 101, a panic, or 134, an abort), a fragment of the
//! message, and that the command returns within seconds (and, where the
//! point is memory, under a `ulimit -v`).
//!
//! Nothing here touches a device node; every file is written under a
//! private temporary directory removed at the end of its case.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use weight_init::diagnose::{Activation, DiagnoseConfig};
use weight_init::model::{glob_match, Param, ParamSet, Rules, Shard, ShardMode, ARENA_ALIGN};
use weight_init::{cpu, DType, Distribution, Error, Init, Normal, TensorKey};

mod common;
use common::{run_cli, stderr, TempDir};

/// Runs the binary under `ulimit -v KIB` (address space), with `env`
/// added, and returns its output and wall time.
fn run_limited(kib: u64, args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(common::bin_path())
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let t = Instant::now();
    let out = cmd.output().expect("sh runs");
    let took = t.elapsed();
    eprintln!(
        "$ ulimit -v {kib}; weight-init {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, took)
}

/// Neither a panic (101) nor an abort (134, or killed by a signal).
fn no_crash(out: &Output) {
    let code = out.status.code();
    assert!(
        code.is_some() && code != Some(101) && code != Some(134),
        "crashed: {:?}",
        out.status
    );
    let err = stderr(out);
    assert!(!err.contains("panicked"), "a panic: {err}");
    assert!(!err.contains("memory allocation of"), "an abort: {err}");
}

/// Exit 2 with `fragments` in stderr, no crash.
fn refused(out: &Output, fragments: &[&str]) {
    no_crash(out);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    let err = stderr(out);
    for f in fragments {
        assert!(err.contains(f), "stderr lacks {f:?}: {err}");
    }
}

fn write_spec(dir: &Path, name: &str, shape: &str, init: &str) -> String {
    let p = dir.join(format!("{name}.json"));
    std::fs::write(
        &p,
        format!(
            r#"{{"params": [{{"name": "w", "shape": {shape}, "dtype": "f32", "init": "{init}"}}]}}"#
        ),
    )
    .unwrap();
    p.to_string_lossy().into_owned()
}

// ---------------------------------------------------------------- class 5

/// The issue's reproducer: a 2^20 x 2^20 structured tensor on the CPU. Past
/// `--max-bytes` it is refused up front; with the limit raised, the host
/// allocation fails as an error naming the tensor, not an abort. Under a
/// 4 GiB address-space limit, within seconds, and no temp file is left.
#[test]
fn huge_structured_init_is_an_error_not_an_abort() {
    let dir = TempDir::new("huge");
    for init in ["orthogonal", "eye", "sparse(sparsity=0.1)"] {
        let spec = write_spec(dir.path(), "spec", "[1048576, 1048576]", init);
        let out = dir.path().join("out.safetensors");
        let out = out.to_str().unwrap();
        let args = ["init", "--spec", &spec, "--out", out, "--device", "cpu"];
        let (o, took) = run_limited(4 << 20, &args, &[]);
        refused(&o, &["4398046511104 bytes", "--max-bytes"]);
        assert!(took < Duration::from_secs(20), "{took:?}");
        let mut raised = args.to_vec();
        raised.extend(["--max-bytes", "8TiB"]);
        let (o, took) = run_limited(4 << 20, &raised, &[]);
        refused(&o, &["parameter `w`", "could not be allocated"]);
        assert!(took < Duration::from_secs(20), "{took:?}");
        assert_eq!(dir.names(), ["spec.json"], "{init}: debris left");
    }
}

/// A byte count that overflows u64 names the tensor, not the output file.
#[test]
fn byte_count_overflow_names_the_tensor() {
    let dir = TempDir::new("overflow");
    let spec = write_spec(dir.path(), "spec", "[4611686018427387905]", "normal(0, 1)");
    let out = dir.path().join("out.safetensors");
    let o = run_cli(
        "init",
        &[
            "--spec",
            &spec,
            "--out",
            out.to_str().unwrap(),
            "--device",
            "cpu",
        ],
        &[],
    );
    refused(&o, &["parameter `w`", "overflow"]);
    assert!(!stderr(&o).contains("out.safetensors"), "{}", stderr(&o));
    assert_eq!(dir.names(), ["spec.json"]);
}

/// `cpu::fill_bytes` of F32 elements `0..2^62 + 1` into 4 bytes: the byte
/// count overflows, which is an error, not a pass.
#[test]
fn fill_bytes_refuses_an_overflowing_byte_count() {
    let dist: Distribution = Normal::new(0.0, 1.0).unwrap().into();
    let key = TensorKey::new(0, 0, u64::MAX);
    let mut out = [0u8; 4];
    for (dtype, n) in [
        (DType::F32, (1u64 << 62) + 1),
        (DType::BF16, (1u64 << 63) + 2),
    ] {
        let e = cpu::fill_bytes(&dist, dtype, &key, 0..n, &mut out).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("overflow"), "{e}");
    }
    assert_eq!(out, [0; 4], "nothing written");
    // Ranges that do not overflow still get the ordinary length error.
    let e = cpu::fill_bytes(&dist, DType::F32, &key, 0..2, &mut out).unwrap_err();
    assert!(matches!(e, Error::OutputLength { .. }), "{e}");
}

fn one_param(shape: Vec<u64>, init: &str) -> weight_init::model::ResolvedSet {
    ParamSet::from_params([
        Param::new("small", vec![4], DType::F32).with_init("zeros".parse().unwrap()),
        Param::new("huge", shape, DType::F32).with_init(init.parse().unwrap()),
    ])
    .unwrap()
    .resolve(&Rules::default())
    .unwrap()
}

/// A `[2^62]` f32 tensor (2^64 bytes) and a pair of `[2^61]` ones do not
/// wrap the arena layout: the error names the tensor.
#[test]
fn arena_layout_does_not_wrap() {
    let set = one_param(vec![1 << 62], "normal(0, 1)");
    for e in [
        set.arena_layout(None, ARENA_ALIGN).unwrap_err(),
        set.split_arena_layout(None, ARENA_ALIGN, 1 << 30)
            .unwrap_err(),
    ] {
        let msg = e.to_string();
        assert!(msg.contains("`huge`") && msg.contains("overflow"), "{msg}");
    }
    // Each fits u64 alone; together they pass it.
    let set = ParamSet::from_params([
        Param::new("a", vec![1 << 61], DType::F32).with_init("zeros".parse().unwrap()),
        Param::new("b", vec![1 << 61], DType::F32).with_init("zeros".parse().unwrap()),
    ])
    .unwrap()
    .resolve(&Rules::default())
    .unwrap();
    let e = set.arena_layout(None, ARENA_ALIGN).unwrap_err().to_string();
    assert!(e.contains("`b`") && e.contains("overflow"), "{e}");
}

/// Host allocations a shape sizes are fallible: a column shard of
/// `[2^40, 2]` (2^40 runs), an orthogonal 2^20 x 2^20, a whole
/// `[2^40]` eye on the CPU.
#[test]
fn host_allocations_are_fallible() {
    let shard = Shard::new(2, 0, ShardMode::Columns).unwrap();
    let e = shard.runs(&[1 << 40, 2]).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    let e = weight_init::orthogonal_f32(1.0, 1 << 20, 1 << 20, 0, 0).unwrap_err();
    assert!(e.to_string().contains("MAX_ORTHOGONAL_ELEMENTS"), "{e}");
    let set = one_param(vec![1 << 21, 1 << 21], "eye");
    let e = set.fill_param_cpu(1, 0, None).unwrap_err().to_string();
    assert!(e.contains("`huge`") && e.contains("too large"), "{e}");
}

// ---------------------------------------------------------------- class 6

/// `WGPU_ADAPTER_NAME` naming no adapter: every command that falls back
/// to the CPU does so with a one-line notice naming the variable; `init
/// --device gpu` fails with that message. No panic anywhere.
#[test]
fn unknown_adapter_name_falls_back_without_a_panic() {
    let env = [("WGPU_ADAPTER_NAME", "nonexistent")];
    let cases: [(&str, &[&str]); 3] = [
        (
            "bench",
            &[
                "--size",
                "64KiB",
                "--repeats",
                "1",
                "--scheme",
                "normal(0, 1)",
                "--dtype",
                "f32",
            ],
        ),
        (
            "verify",
            &[
                "--size",
                "64KiB",
                "--scheme",
                "normal(0, 1)",
                "--dtype",
                "f32",
            ],
        ),
        (
            "diagnose",
            &[
                "--depth", "2", "--width", "8", "--batch", "4", "--scheme", "zeros",
            ],
        ),
    ];
    for (cmd, args) in cases {
        let o = run_cli(cmd, args, &env);
        no_crash(&o);
        assert_eq!(o.status.code(), Some(0), "{cmd}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("WGPU_ADAPTER_NAME=\"nonexistent\"") && err.contains("CPU backend"),
            "{cmd}: {err}"
        );
    }
    let dir = TempDir::new("adapter");
    let spec = write_spec(dir.path(), "spec", "[8, 8]", "normal(0, 1)");
    let out = dir.path().join("m.safetensors");
    let out = out.to_str().unwrap();
    let o = run_cli("init", &["--spec", &spec, "--out", out], &env);
    no_crash(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("WGPU_ADAPTER_NAME"));
    std::fs::remove_file(out).unwrap();
    let o = run_cli(
        "init",
        &["--spec", &spec, "--out", out, "--device", "gpu"],
        &env,
    );
    refused(&o, &["WGPU_ADAPTER_NAME=\"nonexistent\"", "matches none"]);
    assert_eq!(dir.names(), ["spec.json"]);
}

/// A mapped or destroyed buffer passed to a fill, a structured fill, a
/// batch or a readback: an error with the real cause (the validation
/// error), not "Tried to wait using a submission index"; zero-sized
/// buffers and ranges: errors or no-ops, never panics.
#[test]
fn bad_buffers_report_the_real_cause() {
    let ctx = common::gpu();
    let dist: Distribution = Normal::new(0.0, 1.0).unwrap().into();
    let key = TensorKey::new(1, 2, 256);

    // A buffer of another device: an error, not a panic.
    let other = weight_init::gpu::GpuContext::new_default().unwrap();
    let foreign = common::new_storage_buffer(&other, 1024, false);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ctx.fill(&foreign, 0, &dist, DType::F32, &key, 0..256)
    }));
    // wgpu offers no way to ask a buffer's device, and its ids alias
    // across instances: the fill may fail on an unrelated object, so only
    // "no panic" is asserted here (see the report of issue 13).
    eprintln!("foreign buffer: {:?}", r.expect("no panic"));

    let mapped = common::new_storage_buffer(ctx, 1024, true);
    let e = ctx
        .fill(&mapped, 0, &dist, DType::F32, &key, 0..256)
        .unwrap_err()
        .to_string();
    assert!(!e.contains("submission index"), "{e}");
    assert!(e.contains("is still mapped") && !e.contains('\n'), "{e}");
    eprintln!("mapped buffer: {e}");

    let destroyed = common::new_storage_buffer(ctx, 1024, false);
    destroyed.destroy();
    let e = ctx
        .fill(&destroyed, 0, &dist, DType::F32, &key, 0..256)
        .unwrap_err()
        .to_string();
    assert!(!e.contains("submission index"), "{e}");
    assert!(e.contains("has been destroyed") && !e.contains('\n'), "{e}");
    eprintln!("destroyed buffer: {e}");
    // Recorded into the caller's encoder, outside any error scope of the
    // caller's: an error, not wgpu's uncaptured-error panic.
    let mut enc = ctx.device().create_command_encoder(&Default::default());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ctx.record_fill(&mut enc, &destroyed, 0, &dist, DType::F32, &key, 0..256)
    }));
    let e = r.expect("no panic").unwrap_err().to_string();
    assert!(e.contains("has been destroyed"), "{e}");
    let item = weight_init::gpu::BatchItem {
        dist,
        dtype: DType::F32,
        key,
        view: weight_init::gpu::ItemView::Range(0..256),
        byte_offset: 0,
    };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ctx.record_batch(&mut enc, &destroyed, std::slice::from_ref(&item))
    }));
    let e = r.expect("no panic").unwrap_err().to_string();
    assert!(e.contains("has been destroyed"), "{e}");
    let set = ParamSet::from_params([
        Param::new("w", vec![16, 16], DType::F32).with_init("normal(0, 1)".parse().unwrap()),
        Param::new("e", vec![16, 16], DType::F32).with_init("eye".parse().unwrap()),
    ])
    .unwrap()
    .resolve(&Rules::default())
    .unwrap();
    let big = common::new_storage_buffer(ctx, 4096, false);
    big.destroy();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        set.record_gpu_into(ctx, &mut enc, &[(&big, 0), (&big, 1024)], 0, None)
    }));
    let e = r.expect("no panic").unwrap_err().to_string();
    assert!(e.contains("has been destroyed"), "{e}");
    drop(enc);
    let e = ctx.read_buffer(&destroyed, 0, 16).unwrap_err().to_string();
    assert!(!e.contains("submission index"), "{e}");
    let eye: Init = "eye".parse().unwrap();
    let weight_init::Plan::Structured(s) = eye.resolve(&[16, 16], &Default::default()).unwrap()
    else {
        panic!("eye is structured")
    };
    let e = ctx
        .fill_structured(&destroyed, 0, &s, DType::F32, &key)
        .unwrap_err()
        .to_string();
    assert!(!e.contains("submission index"), "{e}");

    // The context still works afterwards.
    let good = common::new_storage_buffer(ctx, 1024, false);
    ctx.fill(&good, 0, &dist, DType::F32, &key, 0..256).unwrap();
    let mut want = vec![0u8; 1024];
    cpu::fill_bytes(&dist, DType::F32, &key, 0..256, &mut want).unwrap();
    assert_eq!(ctx.read_buffer(&good, 0, 1024).unwrap(), want);

    // Zero sizes.
    let empty = common::new_storage_buffer(ctx, 0, false);
    assert!(ctx.fill(&empty, 0, &dist, DType::F32, &key, 0..0).is_ok());
    let e = ctx
        .fill(&empty, 0, &dist, DType::F32, &key, 0..1)
        .unwrap_err();
    assert!(matches!(e, Error::BufferTooSmall { .. }), "{e}");
    assert_eq!(ctx.read_buffer(&good, 0, 0).unwrap(), Vec::<u8>::new());
    let e = ctx.read_buffer(&good, u64::MAX, 2).unwrap_err();
    assert!(matches!(e, Error::BufferTooSmall { .. }), "{e}");
    let e = ctx
        .fill(&good, u64::MAX - 3, &dist, DType::F32, &key, 0..256)
        .unwrap_err();
    assert!(matches!(e, Error::BufferTooSmall { .. }), "{e}");
}

// ---------------------------------------------------------------- class 7

/// The issue's reproducers and more: every user-sized piece of work is
/// refused before it starts, within a second or two and a small address
/// space, with the limit in the message.
#[test]
fn user_sized_work_is_refused_up_front() {
    let cases: [(&[&str], &str); 7] = [
        (
            &[
                "diagnose",
                "--depth",
                "100000000",
                "--width",
                "4",
                "--batch",
                "2",
                "--cpu-only",
            ],
            "MAX_DEPTH",
        ),
        (
            &[
                "diagnose",
                "--depth",
                "100000",
                "--width",
                "1024",
                "--batch",
                "2",
                "--cpu-only",
            ],
            "MAX_ELEMENTS",
        ),
        (
            &[
                "diagnose",
                "--depth",
                "2",
                "--width",
                "65536",
                "--batch",
                "65536",
                "--cpu-only",
            ],
            "2^32",
        ),
        (&["verify", "--size", "1000GiB", "--cpu-only"], "16GiB"),
        (&["bench", "--size", "1000GiB", "--cpu-only"], "16GiB"),
        (
            &[
                "bench",
                "--size",
                "4KiB",
                "--repeats",
                "4000000000",
                "--cpu-only",
            ],
            "1 to 1000",
        ),
        (
            &["bench", "--size", "4KiB", "--repeats", "0", "--cpu-only"],
            "1 to 1000",
        ),
    ];
    for (args, says) in cases {
        let (o, took) = run_limited(1 << 20, args, &[]);
        refused(&o, &[says]);
        assert!(took < Duration::from_secs(10), "{args:?}: {took:?}");
    }
}

/// The limits are stated in `--help`.
#[test]
fn limits_are_in_help() {
    for (cmd, says) in [
        ("bench", "16GiB"),
        ("bench", "1 to 1000"),
        ("verify", "16GiB"),
        ("diagnose", "100000"),
        ("diagnose", "2^32"),
        ("init", "--max-bytes"),
    ] {
        let o = run_cli(cmd, &["--help"], &[]);
        assert!(o.status.success());
        let text = common::stdout(&o);
        assert!(text.contains(says), "{cmd} --help lacks {says:?}");
    }
}

/// The library's own limits, checked in the constructor.
#[test]
fn diagnose_config_limits() {
    assert!(DiagnoseConfig::new(100_000_000, 4, 2, Activation::Relu, 0).is_err());
    assert!(DiagnoseConfig::new(DiagnoseConfig::MAX_DEPTH + 1, 1, 1, Activation::Relu, 0).is_err());
    assert!(DiagnoseConfig::new(DiagnoseConfig::MAX_DEPTH, 1, 1, Activation::Relu, 0).is_ok());
    assert!(DiagnoseConfig::new(100_000, 1024, 2, Activation::Relu, 0).is_err());
    assert!(DiagnoseConfig::new(50, 1024, 256, Activation::Relu, 0).is_ok());
}

/// Work on user text is not super-linear: the glob matcher on
/// `*a*a*...*b` patterns (exponential for a backtracking matcher), the
/// scheme parser on deep nesting and long input, rules on long names.
#[test]
fn text_work_is_bounded() {
    let t = Instant::now();
    let pattern = "*a".repeat(5_000) + "b";
    let name = "a".repeat(20_000);
    assert!(!glob_match(&pattern, &name));
    assert!(glob_match(&("*a".repeat(5_000) + "*"), &name));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());

    // Long pieces and `?` pieces too.
    let t = Instant::now();
    let long = "ab".repeat(100_000);
    assert!(glob_match(&format!("*{}*", "ab".repeat(50_000)), &long));
    assert!(!glob_match(&format!("*{}c*", "ab".repeat(1_000)), &long));
    assert!(glob_match(&"*?b".repeat(10_000), &long));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());

    let t = Instant::now();
    for text in [
        "normal(".repeat(200_000),
        format!("normal(0, 1{})", " ".repeat(1_000_000)),
        format!("normal({})", "a=1,".repeat(200_000)),
        "(".repeat(500_000),
    ] {
        assert!(text.parse::<Init>().is_err() || text.starts_with("normal(0, 1"));
    }
    let rule = format!("{}=zeros", "*a".repeat(10_000));
    assert!(rule.parse::<weight_init::model::Rule>().is_ok());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

// ---------------------------------------------------------------- class 8

/// The smallest `bench`: one 4 KiB f32 zeros fill.
const TINY_BENCH: [&str; 8] = [
    "--size",
    "4KiB",
    "--repeats",
    "1",
    "--scheme",
    "zeros",
    "--dtype",
    "f32",
];

/// `WGPU_BACKEND=garbage` names the variable and the value, and does not
/// tell the user to install Mesa.
#[test]
fn bad_backend_names_the_value() {
    for value in ["garbage", "vulkan,bogus", ""] {
        let o = run_cli("bench", &TINY_BENCH, &[("WGPU_BACKEND", value)]);
        no_crash(&o);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&format!("WGPU_BACKEND={value:?}")), "{err}");
        assert!(!err.contains("apt-get"), "{err}");
    }
    let o = run_cli("devices", &[], &[("WGPU_BACKEND", "garbage")]);
    refused(&o, &["WGPU_BACKEND=\"garbage\"", "not a backend"]);
    assert!(!stderr(&o).contains("install"), "{}", stderr(&o));
    let o = run_cli("devices", &[], &[("WGPU_POWER_PREF", "fastest")]);
    refused(&o, &["WGPU_POWER_PREF=\"fastest\"", "low, high or none"]);
    let o = run_cli("init", &["--help"], &[("WGPU_POWER_PREF", "fastest")]);
    assert!(o.status.success());
}

/// Mesa's "XDG_RUNTIME_DIR is invalid or not set" never reaches the
/// user: the CLI points the variable at a private directory first.
#[test]
fn no_xdg_runtime_dir_noise() {
    let mut cmd = common::bin();
    cmd.arg("bench")
        .args(TINY_BENCH)
        .env_remove("XDG_RUNTIME_DIR");
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("XDG_RUNTIME_DIR"), "{}", stderr(&o));
    let o = common::bin()
        .args(["devices"])
        .env("XDG_RUNTIME_DIR", "/nonexistent/dir")
        .output()
        .unwrap();
    no_crash(&o);
    assert!(!stderr(&o).contains("XDG_RUNTIME_DIR"), "{}", stderr(&o));
}

/// Values are shown as the user wrote them, not after rounding to f32.
#[test]
fn values_are_shown_as_written() {
    let e = "normal(0, 1e-46)"
        .parse::<Init>()
        .unwrap()
        .resolve(&[4, 4], &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`std` = 1e-46") && e.contains("rounds to 0"),
        "{e}"
    );
    let e = "uniform(-1e39, 1)"
        .parse::<Init>()
        .unwrap()
        .resolve(&[4], &Default::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("`low` = -1e39") && e.contains("f32"), "{e}");
    let o = run_cli(
        "verify",
        &[
            "--size",
            "4KiB",
            "--cpu-only",
            "--scheme",
            "normal(0, 1e-46)",
        ],
        &[],
    );
    refused(&o, &["1e-46"]);
    // Everyday values keep their plain form.
    let e = Normal::new(0.0, -1.0).unwrap_err().to_string();
    assert!(e.contains("`std` = -1:"), "{e}");
}

/// Overlapping targets in one buffer: the error says which tensors and
/// which bytes overlap, not "invalid shape [0, 30, 16, 28]".
#[test]
fn overlap_says_what_overlaps() {
    let ctx = common::gpu();
    let set = ParamSet::from_params([
        Param::new("first", vec![30], DType::BF16).with_init("zeros".parse().unwrap()),
        Param::new("second", vec![3], DType::F32).with_init("ones".parse().unwrap()),
    ])
    .unwrap()
    .resolve(&Rules::default())
    .unwrap();
    let buf = common::new_storage_buffer(ctx, 256, false);
    let mut enc = ctx.device().create_command_encoder(&Default::default());
    let e = set
        .record_gpu_into(ctx, &mut enc, &[(&buf, 0), (&buf, 16)], 0, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("overlap")
            && e.contains("`first`")
            && e.contains("`second`")
            && e.contains("16..28"),
        "{e}"
    );
    assert!(!e.contains("invalid shape"), "{e}");
}

/// A plain dynamic-programming glob, the reference for the fast one.
fn glob_reference(p: &[char], n: &[char]) -> bool {
    let mut m = vec![vec![false; n.len() + 1]; p.len() + 1];
    m[0][0] = true;
    for i in 1..=p.len() {
        for j in 0..=n.len() {
            m[i][j] = match p[i - 1] {
                '*' => m[i - 1][j] || (j > 0 && m[i][j - 1]),
                '?' => j > 0 && m[i - 1][j - 1],
                c => j > 0 && n[j - 1] == c && m[i - 1][j - 1],
            };
        }
    }
    m[p.len()][n.len()]
}

/// Every pattern over `a b ? *` up to 5 characters against every name
/// over `a b é` up to 5: the fast matcher agrees with the reference.
#[test]
fn glob_matches_the_reference() {
    fn all(alphabet: &[char], max: usize) -> Vec<Vec<char>> {
        let mut out = vec![Vec::new()];
        let mut level = vec![Vec::new()];
        for _ in 0..max {
            let mut next = Vec::new();
            for w in &level {
                for &c in alphabet {
                    let mut v: Vec<char> = w.clone();
                    v.push(c);
                    next.push(v);
                }
            }
            out.extend(next.iter().cloned());
            level = next;
        }
        out
    }
    let patterns = all(&['a', 'b', '?', '*'], 5);
    let names = all(&['a', 'b', '\u{e9}'], 5);
    for p in &patterns {
        let ps: String = p.iter().collect();
        for n in &names {
            let ns: String = n.iter().collect();
            assert_eq!(glob_match(&ps, &ns), glob_reference(p, n), "{ps:?} {ns:?}");
        }
    }
}
