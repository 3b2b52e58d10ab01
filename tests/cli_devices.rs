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
