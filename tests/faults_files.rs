//! The fault suite for files, paths, signals and malformed inputs (issue 13,
//! classes 1-4, and the messages that go with them): every case runs the
//! binary (or the library) the way a hostile user would and asserts the
//! exact outcome: exit code, a fragment of the one error line, no temporary
//! file left, the previous target intact, any node intact, bounded time.
//!
//! No real device node is opened or written: FIFOs, sockets and links to
//! them are made in a private temporary directory; `/dev/null` is only
//! named on the command line, and its metadata is read before and after to
//! show it is still a character device.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{hidden_temps, run_cli, stderr, stdout, TempDir};

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success(), "mkfifo {}", path.display());
}

const SPEC: &str = r#"{"seed": 7, "params": [
  {"name": "fc.weight", "shape": [16, 8], "init": "normal(0, 0.02)"},
  {"name": "fc.bias", "shape": [16], "init": "zeros"}
]}"#;

/// Starts `cmd` with its standard output and error captured.
fn spawn_piped(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs the binary with a deadline: a case that would block (a FIFO read)
/// fails the test instead of hanging it. The child is killed on timeout.
fn run_bounded(args: &[&str], secs: u64) -> Output {
    let mut child = spawn_piped(common::bin().args(args).stdin(Stdio::null()));
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            eprintln!(
                "$ weight-init {}\n--- stdout\n{}--- stderr\n{}",
                args.join(" "),
                stdout(&out),
                stderr(&out)
            );
            return out;
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "weight-init {} still running after {secs} s",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Exit status 2, exactly one `error:` line containing every fragment,
/// nothing on stdout, no panic.
fn assert_refused(out: &Output, fragments: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for f in fragments {
        assert!(lines[0].contains(f), "`{f}` not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(out).is_empty(), "{}", stdout(out));
}

fn init_cpu(spec: &str, out: &str) -> Vec<String> {
    ["--spec", spec, "--out", out, "--device", "cpu"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

// ---------------------------------------------------------------- class 1

#[test]
fn out_dev_null_is_refused_and_stays_a_device() {
    let d = TempDir::new("devnull");
    fs::write(d.join("s.json"), SPEC).unwrap();
    let before = fs::symlink_metadata("/dev/null").unwrap();
    assert!(before.file_type().is_char_device());
    let out = run_cli("init", &refs(&init_cpu(&d.s("s.json"), "/dev/null")), &[]);
    assert_refused(
        &out,
        &["/dev/null", "character device", "not a regular file"],
    );
    let after = fs::symlink_metadata("/dev/null").unwrap();
    assert!(after.file_type().is_char_device());
    assert_eq!(
        std::os::unix::fs::MetadataExt::rdev(&before),
        std::os::unix::fs::MetadataExt::rdev(&after)
    );
    // /dev/full the same way (named only; its metadata read, never
    // opened), and /dev/stdout, a link to the child's stdout (a pipe here).
    if fs::symlink_metadata("/dev/full").is_ok_and(|m| m.file_type().is_char_device()) {
        let out = run_cli("init", &refs(&init_cpu(&d.s("s.json"), "/dev/full")), &[]);
        assert_refused(&out, &["/dev/full", "character device"]);
        assert!(fs::symlink_metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device());
    }
    let out = run_cli("init", &refs(&init_cpu(&d.s("s.json"), "/dev/stdout")), &[]);
    assert_refused(&out, &["/dev/stdout", "not a regular file"]);
    // No temporary file was made beside them.
    let debris: Vec<String> = hidden_temps(Path::new("/dev"))
        .into_iter()
        .filter(|n| n.starts_with(".null.") || n.starts_with(".full.") || n.starts_with(".stdout."))
        .collect();
    assert!(debris.is_empty(), "{debris:?}");
}

#[test]
fn out_fifo_socket_directory_and_links_to_them_are_refused() {
    let d = TempDir::new("outnodes");
    fs::write(d.join("s.json"), SPEC).unwrap();
    mkfifo(&d.join("fifo"));
    let _listener = UnixListener::bind(d.join("sock")).unwrap();
    fs::create_dir(d.join("dir")).unwrap();
    symlink(d.join("fifo"), d.join("to-fifo")).unwrap();
    symlink(d.join("sock"), d.join("to-sock")).unwrap();
    symlink("/dev/null", d.join("to-devnull")).unwrap();
    let cases = [
        ("fifo", "FIFO"),
        ("sock", "socket"),
        ("dir", "directory"),
        ("to-fifo", "FIFO"),
        ("to-sock", "socket"),
        ("to-devnull", "character device"),
    ];
    for (name, kind) in cases {
        let before = fs::symlink_metadata(d.join(name)).unwrap().file_type();
        let mut args = vec!["init".to_string()];
        args.extend(init_cpu(&d.s("s.json"), &d.s(name)));
        let out = run_bounded(&refs(&args), 30);
        assert_refused(&out, &[name, kind, "not a regular file"]);
        let after = fs::symlink_metadata(d.join(name)).unwrap().file_type();
        assert_eq!(before, after, "{name} changed kind");
        assert!(d.temps().is_empty(), "{:?}", d.temps());
    }
    assert!(fs::symlink_metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn out_link_to_a_regular_file_is_written_through() {
    let d = TempDir::new("outlink");
    fs::write(d.join("s.json"), SPEC).unwrap();
    fs::write(d.join("real.safetensors"), b"old").unwrap();
    symlink(d.join("real.safetensors"), d.join("link.safetensors")).unwrap();
    let out = run_cli(
        "init",
        &refs(&init_cpu(&d.s("s.json"), &d.s("link.safetensors"))),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(fs::symlink_metadata(d.join("link.safetensors"))
        .unwrap()
        .file_type()
        .is_symlink());
    let bytes = fs::read(d.join("real.safetensors")).unwrap();
    assert!(safetensors::SafeTensors::deserialize(&bytes).is_ok());
    assert!(d.temps().is_empty());
}

#[test]
fn out_in_a_missing_directory_names_it_and_creates_nothing() {
    let d = TempDir::new("outmissing");
    fs::write(d.join("s.json"), SPEC).unwrap();
    let target = d.join("no").join("such").join("o.safetensors");
    let out = run_cli(
        "init",
        &refs(&init_cpu(&d.s("s.json"), target.to_str().unwrap())),
        &[],
    );
    assert_refused(&out, &["directory", "does not exist", &d.s("no/such")]);
    assert!(!d.join("no").exists());
}

#[test]
fn library_writer_refuses_non_regular_targets() {
    use weight_init::model::write_safetensors_with;
    let d = TempDir::new("libout");
    mkfifo(&d.join("fifo"));
    let tensors = vec![("w".to_string(), weight_init::DType::F32, vec![1])];
    let err = write_safetensors_with(&d.join("fifo"), &tensors, None, |_, emit| emit(&[0; 4]))
        .unwrap_err();
    assert!(
        matches!(err, weight_init::Error::NotRegularFile { .. }),
        "{err}"
    );
    assert!(fs::symlink_metadata(d.join("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert!(d.temps().is_empty());
}

// ---------------------------------------------------------------- class 2

/// A 1 GiB model: several seconds on the CPU, long enough to be
/// interrupted mid-write.
const BIG_SPEC: &str =
    r#"{"params": [{"name": "w", "shape": [65536, 4096], "init": "normal(0, 1)"}]}"#;

/// Starts a 1 GiB `init` over an existing target, waits until its
/// temporary file holds more than 32 MiB (mid-data), sends `signal`, and checks the exit status,
/// that no temporary file is left and that the old target is intact.
fn interrupt(signal: i32, expected: i32) {
    let d = TempDir::new(&format!("sig{signal}"));
    fs::write(d.join("big.json"), BIG_SPEC).unwrap();
    let target = d.join("model.safetensors");
    fs::write(&target, b"previous contents").unwrap();
    let mut child = spawn_piped(
        common::bin()
            .arg("init")
            .args(init_cpu(&d.s("big.json"), target.to_str().unwrap())),
    );
    let start = Instant::now();
    loop {
        let has_data = d
            .temps()
            .iter()
            .any(|n| fs::metadata(d.join(n)).is_ok_and(|m| m.len() > 32 << 20));
        if has_data {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "init ended before it could be interrupted"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary file appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let t = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(t.elapsed() < Duration::from_secs(20), "slow to stop");
    assert_eq!(out.status.code(), Some(expected), "{}", stderr(&out));
    assert!(d.temps().is_empty(), "left behind: {:?}", d.temps());
    assert_eq!(fs::read(&target).unwrap(), b"previous contents");
}

#[test]
fn sigint_and_sigterm_remove_the_temporary_file_and_keep_the_target() {
    interrupt(libc::SIGINT, 130);
    interrupt(libc::SIGTERM, 143);
}

#[test]
fn stale_temporary_files_never_block_a_run() {
    // A killed run in a container leaves `.NAME.PID.0.tmp`; the next run
    // may get the same PID. Pre-create that name for the PIDs the next
    // children will most likely get, then run: it must succeed and leave
    // the stale files alone.
    let d = TempDir::new("stale");
    fs::write(d.join("s.json"), SPEC).unwrap();
    let last: u32 = fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(std::process::id());
    let mut stale = 0;
    for pid in last + 1..last + 300 {
        for n in 0..3 {
            fs::write(d.join(&format!(".o.safetensors.{pid}.{n}.tmp")), b"stale").unwrap();
            stale += 1;
        }
    }
    let out = run_cli(
        "init",
        &refs(&init_cpu(&d.s("s.json"), &d.s("o.safetensors"))),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bytes = fs::read(d.join("o.safetensors")).unwrap();
    assert!(safetensors::SafeTensors::deserialize(&bytes).is_ok());
    assert_eq!(d.temps().len(), stale);
}

#[test]
fn a_write_error_names_out_removes_the_temporary_and_keeps_the_target() {
    // Disk full, in effect: a file-size limit of 64 KiB (SIGXFSZ ignored,
    // so the write fails with EFBIG) under a 1 MiB model.
    let d = TempDir::new("efbig");
    fs::write(
        d.join("s.json"),
        r#"{"params": [{"name": "w", "shape": [512, 512], "init": "uniform(-1, 1)"}]}"#,
    )
    .unwrap();
    let target = d.join("m.safetensors");
    fs::write(&target, b"keep me").unwrap();
    let bin = common::bin_path();
    let script = format!(
        "trap '' XFSZ; ulimit -f 64; exec '{bin}' init --spec '{}' --out '{}' --device cpu",
        d.s("s.json"),
        target.display()
    );
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(target.to_str().unwrap()), "{err}");
    assert!(err.contains("File too large"), "{err}");
    assert!(!err.contains(".tmp"), "names the temporary file: {err}");
    assert!(d.temps().is_empty(), "{:?}", d.temps());
    assert_eq!(fs::read(&target).unwrap(), b"keep me");
}

#[test]
fn library_producer_error_leaves_nothing() {
    use weight_init::model::write_safetensors_with;
    let d = TempDir::new("producer");
    let target = d.join("t.safetensors");
    fs::write(&target, b"old").unwrap();
    let tensors = vec![("w".to_string(), weight_init::DType::F32, vec![4])];
    // Two bytes short.
    let err =
        write_safetensors_with(&target, &tensors, None, |_, emit| emit(&[0; 14])).unwrap_err();
    assert!(
        matches!(err, weight_init::Error::OutputLength { .. }),
        "{err}"
    );
    assert_eq!(fs::read(&target).unwrap(), b"old");
    assert!(d.temps().is_empty());
}

// ---------------------------------------------------------------- class 3

#[test]
fn fifo_socket_and_directory_inputs_fail_fast() {
    let d = TempDir::new("innodes");
    fs::write(d.join("s.json"), SPEC).unwrap();
    mkfifo(&d.join("fifo"));
    let _listener = UnixListener::bind(d.join("sock")).unwrap();
    symlink(d.join("fifo"), d.join("to-fifo")).unwrap();
    fs::create_dir(d.join("dir")).unwrap();
    let out_path = d.s("o.safetensors");
    for (name, kind) in [
        ("fifo", "FIFO"),
        ("to-fifo", "FIFO"),
        ("sock", "cannot open"),
        ("dir", "directory"),
    ] {
        let p = d.s(name);
        let cmds: [Vec<&str>; 3] = [
            vec!["inspect", &p],
            vec![
                "init",
                "--from-safetensors",
                &p,
                "--out",
                &out_path,
                "--device",
                "cpu",
            ],
            vec!["init", "--spec", &p, "--out", &out_path, "--device", "cpu"],
        ];
        for args in cmds {
            let t = Instant::now();
            let out = run_bounded(&args, 20);
            assert!(t.elapsed() < Duration::from_secs(10), "{args:?}");
            assert_refused(&out, &[name, kind]);
            assert!(!d.join("o.safetensors").exists());
        }
    }
    assert!(fs::symlink_metadata(d.join("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn oversized_inputs_are_refused_before_reading() {
    let d = TempDir::new("big");
    // A sparse 64 MiB + 1 spec: refused by its size, not read.
    let f = fs::File::create(d.join("huge.json")).unwrap();
    f.set_len(weight_init::files::MAX_SPEC_BYTES + 1).unwrap();
    let out = run_bounded(
        &[
            "init",
            "--spec",
            &d.s("huge.json"),
            "--out",
            &d.s("o.st"),
            "--device",
            "cpu",
        ],
        20,
    );
    assert_refused(&out, &["huge.json", "limit", "67108864"]);
    // A safetensors header length past the format's 100 MB limit.
    let mut bytes = 200_000_000u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    fs::write(d.join("hdr.safetensors"), &bytes).unwrap();
    let f = fs::OpenOptions::new()
        .write(true)
        .open(d.join("hdr.safetensors"))
        .unwrap();
    f.set_len(300_000_000).unwrap();
    for args in [
        vec!["inspect".to_string(), d.s("hdr.safetensors")],
        vec![
            "init".to_string(),
            "--from-safetensors".into(),
            d.s("hdr.safetensors"),
            "--out".into(),
            d.s("o.st"),
        ],
    ] {
        let out = run_bounded(&refs(&args), 20);
        assert_refused(&out, &["header length 200000000", "limit"]);
    }
    assert!(!d.join("o.st").exists());
}

#[test]
fn spec_from_standard_input() {
    let d = TempDir::new("stdin");
    let mut child = common::bin()
        .args([
            "init",
            "--spec",
            "-",
            "--out",
            &d.s("o.st"),
            "--device",
            "cpu",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(SPEC.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(d.join("o.st").is_file());
}

// ---------------------------------------------------------------- class 4

/// A safetensors file: the 8-byte length, `header`, then `data` bytes.
fn st_file(dir: &TempDir, name: &str, header: &str, data: usize) -> String {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(std::iter::repeat_n(0u8, data));
    fs::write(dir.join(name), bytes).unwrap();
    dir.s(name)
}

fn t(name: &str, dtype: &str, shape: &str, a: usize, b: usize) -> String {
    format!(r#""{name}":{{"dtype":"{dtype}","shape":{shape},"data_offsets":[{a},{b}]}}"#)
}

#[test]
fn invalid_safetensors_are_refused_by_inspect_and_init() {
    let d = TempDir::new("invalid");
    let a = t("a", "F32", "[2]", 0, 8);
    let b = t("b", "F32", "[2]", 8, 16);
    let cases: Vec<(&str, String, usize, &str)> = vec![
        (
            "duplicate key",
            format!("{{{a},{a},{b}}}"),
            16,
            "duplicate key `a`",
        ),
        (
            "duplicate tensor, other range",
            format!("{{{a},{},{b}}}", t("a", "F32", "[2]", 8, 16)),
            16,
            "duplicate key `a`",
        ),
        (
            "overlap",
            format!("{{{a},{}}}", t("b", "F32", "[2]", 4, 12)),
            12,
            "overlap",
        ),
        (
            "shared range",
            format!("{{{a},{}}}", t("b", "F32", "[2]", 0, 8)),
            8,
            "overlap",
        ),
        (
            "gap",
            format!("{{{a},{}}}", t("b", "F32", "[2]", 12, 20)),
            20,
            "gap of 4",
        ),
        (
            "trailing bytes",
            format!("{{{a},{b}}}"),
            20,
            "4 trailing bytes",
        ),
        ("past the end", format!("{{{a},{b}}}"), 12, "past the end"),
        (
            "size mismatch",
            format!("{{{}}}", t("a", "F32", "[3]", 0, 8)),
            8,
            "do not hold",
        ),
        (
            "begin after end",
            format!("{{{}}}", t("a", "F32", "[0]", 8, 0)),
            8,
            "do not hold",
        ),
        (
            "non-string metadata",
            format!(r#"{{"__metadata__":{{"format":1}},{a}}}"#),
            8,
            "not a string",
        ),
        (
            "metadata not an object",
            format!(r#"{{"__metadata__":"pt",{a}}}"#),
            8,
            "__metadata__",
        ),
        (
            "duplicate metadata key",
            format!(r#"{{"__metadata__":{{"k":"1","k":"2"}},{a}}}"#),
            8,
            "duplicate key `k`",
        ),
        (
            "duplicate metadata",
            format!(r#"{{"__metadata__":{{}},"__metadata__":{{}},{a}}}"#),
            8,
            "duplicate key `__metadata__`",
        ),
        (
            "duplicate field",
            r#"{"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}"#.into(),
            8,
            "duplicate field",
        ),
        (
            "unknown field",
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}"#.into(),
            8,
            "unknown field",
        ),
        (
            "unknown dtype",
            format!("{{{}}}", t("a", "F99", "[2]", 0, 8)),
            8,
            "F99",
        ),
        ("not an object", "[1, 2]".into(), 0, "start with"),
        ("no JSON", "{oops".into(), 0, "header, line 1"),
        ("empty header", String::new(), 0, "start with"),
    ];
    for (what, header, data, fragment) in cases {
        let p = st_file(&d, "bad.safetensors", &header, data);
        let inspect = run_bounded(&["inspect", &p], 20);
        assert_refused(&inspect, &["bad.safetensors", fragment]);
        let init = run_bounded(
            &[
                "init",
                "--from-safetensors",
                &p,
                "--out",
                &d.s("o.st"),
                "--device",
                "cpu",
            ],
            20,
        );
        assert_refused(&init, &["bad.safetensors", fragment]);
        assert!(!d.join("o.st").exists(), "{what}");
        let lib = weight_init::model::read_safetensors(Path::new(&p));
        assert!(lib.is_err(), "{what}");
    }
}

#[test]
fn valid_edge_cases_are_accepted() {
    let d = TempDir::new("valid");
    // Zero-size tensors share an offset with their neighbours; header
    // padded with spaces; metadata strings.
    let header = format!(
        r#"{{"__metadata__":{{"format":"pt"}},{},{},{}}}   "#,
        t("a", "F32", "[2]", 0, 8),
        t("e", "F32", "[0, 3]", 8, 8),
        t("b", "BF16", "[2]", 8, 12)
    );
    let p = st_file(&d, "ok.safetensors", &header, 12);
    let out = run_cli("inspect", &[&p], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("3 tensors"), "{}", stdout(&out));
    let (_, h) = weight_init::model::read_safetensors(Path::new(&p)).unwrap();
    let names: Vec<&str> = h.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "e", "b"]);
    assert_eq!(h.metadata, [("format".to_string(), "pt".to_string())]);
}

#[test]
fn metadata_as_a_parameter_name_is_refused() {
    let d = TempDir::new("reserved");
    fs::write(
        d.join("s.json"),
        r#"{"params": [{"name": "__metadata__", "shape": [4], "init": "zeros"}]}"#,
    )
    .unwrap();
    let out = run_cli("init", &refs(&init_cpu(&d.s("s.json"), &d.s("o.st"))), &[]);
    assert_refused(
        &out,
        &["`__metadata__` is reserved by the safetensors format"],
    );
    assert!(!d.join("o.st").exists());
    assert!(d.temps().is_empty());
    let err = weight_init::model::ParamSet::from_params([weight_init::model::Param::new(
        "__metadata__",
        vec![4],
        weight_init::DType::F32,
    )])
    .unwrap_err();
    assert!(
        matches!(err, weight_init::Error::ReservedName { .. }),
        "{err}"
    );
}

#[test]
fn the_tools_own_files_round_trip() {
    let d = TempDir::new("roundtrip");
    fs::write(d.join("s.json"), SPEC).unwrap();
    let out = run_cli("init", &refs(&init_cpu(&d.s("s.json"), &d.s("a.st"))), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run_cli("inspect", &[&d.s("a.st")], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run_cli(
        "init",
        &[
            "--from-safetensors",
            &d.s("a.st"),
            "--rule",
            "*=zeros",
            "--out",
            &d.s("b.st"),
            "--device",
            "cpu",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

// ---------------------------------------------------------------- messages

#[test]
fn control_characters_in_names_and_paths_are_escaped() {
    let d = TempDir::new("escape");
    // A tensor name with an escape sequence and a newline.
    let name = "evil\\u001b[2J\\nname";
    let header = format!(r#"{{"{name}":{{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}}}"#);
    let p = st_file(&d, "esc.safetensors", &header, 4);
    let out = run_cli("inspect", &[&p], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("evil\\u{1b}[2J\\nname"), "{text}");
    // The same name twice: the error echoes it escaped, on one line.
    let header = format!(
        r#"{{"{name}":{{"dtype":"F32","shape":[1],"data_offsets":[0,4]}},"{name}":{{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}}}"#
    );
    let p = st_file(&d, "dup.safetensors", &header, 8);
    let out = run_cli("inspect", &[&p], &[]);
    assert_refused(&out, &["duplicate key `evil\\u{1b}[2J\\nname`"]);
    assert!(!stderr(&out).contains('\u{1b}'));
    // A path with a newline and an escape in it.
    let odd = d.join("new\nline\u{1b}[31m");
    let out = run_cli("inspect", &[odd.to_str().unwrap()], &[]);
    assert_refused(&out, &["new\\nline\\u{1b}[31m"]);
    // A spec with such a name, repeated.
    fs::write(
        d.join("s.json"),
        r#"{"params": [{"name": "x\u0007y", "shape": [1], "init": "zeros"},
                       {"name": "x\u0007y", "shape": [1], "init": "zeros"}]}"#,
    )
    .unwrap();
    let out = run_cli("init", &refs(&init_cpu(&d.s("s.json"), &d.s("o.st"))), &[]);
    assert_refused(&out, &["duplicate parameter name `x\\u{7}y`"]);
}

#[test]
fn json_errors_give_the_position_once() {
    let d = TempDir::new("json");
    fs::write(d.join("bad.json"), "{\"params\": [}").unwrap();
    let out = run_cli(
        "init",
        &refs(&init_cpu(&d.s("bad.json"), &d.s("o.st"))),
        &[],
    );
    assert_refused(&out, &["bad.json: line 1, column 13: expected value"]);
    let err = stderr(&out);
    assert_eq!(err.matches("line 1").count(), 1, "{err}");
    assert!(!err.contains(" at line "), "{err}");
}

/// A two-layer, width-8 `diagnose` on the CPU: the smallest run that plots.
const TINY_DIAGNOSE: [&str; 7] = ["--depth", "2", "--width", "8", "--batch", "4", "--cpu-only"];

#[test]
fn plots_create_no_missing_parent_directories() {
    let d = TempDir::new("plotdirs");
    let file = d.join("missing").join("p.png");
    let out = run_cli(
        "diagnose",
        &[&TINY_DIAGNOSE[..], &["--plot", file.to_str().unwrap()]].concat(),
        &[],
    );
    assert_refused(&out, &["does not exist", &d.s("missing")]);
    assert!(!d.join("missing").exists());
    let dir = d.join("missing2").join("plots");
    let out = run_cli(
        "verify",
        &[
            "--size",
            "64KiB",
            "--dtype",
            "f32",
            "--cpu-only",
            "--plot",
            dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_refused(&out, &["does not exist", &d.s("missing2")]);
    assert!(!d.join("missing2").exists());
    // A plot target that is a link to a FIFO is refused too.
    mkfifo(&d.join("fifo"));
    symlink(d.join("fifo"), d.join("p.png")).unwrap();
    let out = run_bounded(
        &[
            &["diagnose"],
            &TINY_DIAGNOSE[..],
            &["--plot", &d.s("p.png")],
        ]
        .concat(),
        30,
    );
    assert_refused(&out, &["FIFO", "not a regular file"]);
    assert!(d.temps().is_empty());
}

#[test]
fn a_font_that_is_a_fifo_does_not_hang_a_plot() {
    let d = TempDir::new("fontfifo");
    mkfifo(&d.join("font.ttf"));
    let mut child = spawn_piped(
        common::bin()
            .arg("diagnose")
            .args(TINY_DIAGNOSE)
            .args(["--plot", &d.s("p.png")])
            .env("WEIGHT_INIT_PLOT_FONT", d.join("font.ttf")),
    );
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("diagnose hung on a FIFO font");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("no plot font") && err.contains("FIFO"),
        "{err}"
    );
    assert!(d.join("p.png").is_file());
    assert!(d.temps().is_empty());
}
