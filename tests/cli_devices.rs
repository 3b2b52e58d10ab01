//! `weight-init devices`, and every command's behaviour with no adapter.

mod common;
use common::run_cli;

/// Every adapter listed with its limits, and at least one adapter: on a
/// fresh machine Mesa's GL driver (llvmpipe) is enough. Under `.ci/run`
/// (`CI` set), which installs lavapipe too, both Vulkan and GL must be there.
#[test]
fn lists_adapters_with_their_limits() {
    let out = run_cli("devices", &[], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success());
    let adapters: Vec<&str> = stdout
        .split("\n[")
        .filter(|b| b.contains("backend: "))
        .collect();
    assert!(
        !adapters.is_empty(),
        "no adapter listed; on a machine without a GPU install Mesa's drivers \
         (apt-get install mesa-vulkan-drivers libegl1 libegl-mesa0 libgl1-mesa-dri)\n{stdout}"
    );
    for block in &adapters {
        for field in [
            "max storage binding",
            "workgroups per dimension",
            "SHADER_INT64",
        ] {
            assert!(block.contains(field), "missing `{field}` in\n{block}");
        }
    }
    if std::env::var_os("CI").is_some() {
        for backend in ["backend: Vulkan", "backend: Gl"] {
            assert!(
                stdout.contains(backend),
                "CI installs lavapipe and llvmpipe, but `{backend}` is not listed\n{stdout}"
            );
        }
    }
}

/// With no adapter at all (a backend this machine does not have), each
/// command says so in one line and runs on the CPU backend.
#[test]
fn no_adapter_falls_back_to_the_cpu() {
    let out = run_cli("devices", &[], &[("WGPU_BACKEND", "metal")]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("no GPU adapter found"));

    let out = run_cli(
        "bench",
        &[
            "--json",
            "--size",
            "1MiB",
            "--repeats",
            "1",
            "--dtype",
            "f32",
        ],
        &[("WGPU_BACKEND", "metal")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("CPU backend"))
        .collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().count() >= 5);
    assert!(
        stdout.lines().all(|l| l.contains("\"backend\":\"cpu\"")),
        "{stdout}"
    );

    let out = run_cli(
        "verify",
        &[
            "--size",
            "1MiB",
            "--dtype",
            "f32",
            "--scheme",
            "normal(0, 1)",
        ],
        &[("WGPU_BACKEND", "metal")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `devices --json` parses line by line, every object carries the common
/// fields (README, "JSON output"), and its rows are the table's adapters,
/// in the table's order, with the table's limits.
#[test]
fn json_rows_match_the_table() {
    let table = run_cli("devices", &[], &[]);
    let json = run_cli("devices", &["--json"], &[]);
    assert!(table.status.success() && json.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    let (rows, summary) = common::json_lines(&json.stdout, "devices");
    for v in rows.iter().chain([&summary]) {
        assert!(v["seed"].is_null(), "{v}");
    }
    assert_eq!(summary["adapters"].as_u64(), Some(rows.len() as u64));
    // `[i] NAME` lines of the table.
    let names: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('['))
        .map(|l| l.split_once("] ").unwrap().1)
        .collect();
    assert!(!names.is_empty(), "no adapter listed: {text}");
    assert_eq!(names.len(), rows.len());
    for (i, (name, r)) in names.iter().zip(rows).enumerate() {
        assert_eq!(
            (r["kind"].as_str(), r["backend"].as_str()),
            (Some("row"), Some("gpu"))
        );
        assert_eq!(r["adapter"], *name);
        assert_eq!(r["index"], i);
        let block = text.split(&format!("[{i}] ")).nth(1).unwrap();
        let backend = format!("backend: {}, ", r["wgpu_backend"].as_str().unwrap());
        assert!(block.contains(&backend), "{backend} not in {block}");
        let max = format!(
            "max buffer: {} MiB",
            r["max_buffer_bytes"].as_u64().unwrap() >> 20
        );
        assert!(block.contains(&max), "{max} not in {block}");
    }

    // No adapter: no row, a CPU summary that says how to get one.
    let none = run_cli("devices", &["--json"], &[("WGPU_BACKEND", "metal")]);
    assert!(none.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&none.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let s = &lines[0];
    assert_eq!(
        (s["kind"].as_str(), s["backend"].as_str()),
        (Some("summary"), Some("cpu"))
    );
    assert_eq!(s["adapters"], 0);
    assert!(
        s["note"].as_str().unwrap().contains("mesa-vulkan-drivers"),
        "{s}"
    );
}
