//! `weight-init devices`, and every command's behaviour with no adapter.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weight-init"))
}

/// On CI (no GPU, Mesa installed) this lists lavapipe through Vulkan.
#[test]
fn lists_adapters_with_their_limits() {
    let out = bin().arg("devices").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success());
    assert!(
        stdout.contains("backend: Vulkan"),
        "no Vulkan adapter listed; on a machine without a GPU install mesa-vulkan-drivers\n{stdout}"
    );
    for field in [
        "max storage binding",
        "workgroups per dimension",
        "SHADER_INT64",
    ] {
        assert!(stdout.contains(field), "missing `{field}`");
    }
}

/// With no adapter at all (a backend this machine does not have), each
/// command says so in one line and runs on the CPU backend.
#[test]
fn no_adapter_falls_back_to_the_cpu() {
    let out = bin()
        .arg("devices")
        .env("WGPU_BACKEND", "metal")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("no GPU adapter found"));

    let out = bin()
        .args([
            "bench",
            "--json",
            "--size",
            "1MiB",
            "--repeats",
            "1",
            "--dtype",
            "f32",
        ])
        .env("WGPU_BACKEND", "metal")
        .output()
        .unwrap();
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

    let out = bin()
        .args([
            "verify",
            "--size",
            "1MiB",
            "--dtype",
            "f32",
            "--scheme",
            "normal(0, 1)",
        ])
        .env("WGPU_BACKEND", "metal")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
