//! Helpers shared by the integration tests (each test binary uses a part).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use weight_init::gpu::{GpuContext, GpuOptions};
use weight_init::model::ShardMode;
use weight_init::DType;

/// Runs `weight-init SUBCOMMAND ARGS...` with the extra environment
/// `env`, and echoes the command and its output to the test log.
pub fn run_cli(subcommand: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    // `option_env!`: test binaries that do not run the CLI still build
    // without the `cli` feature.
    let Some(bin) = option_env!("CARGO_BIN_EXE_weight-init") else {
        panic!("the weight-init binary is not built: enable feature `cli`");
    };
    let mut cmd = Command::new(bin);
    cmd.arg(subcommand).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the weight-init binary runs");
    eprintln!(
        "$ weight-init {subcommand} {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A command's standard output, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command's standard error, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// How to get an adapter: the failure message of every GPU test that finds
/// none (they fail, never pass silently).
pub const ADAPTER_HINT: &str = "These tests need a GPU adapter; on a machine without a GPU \
     install Mesa's software drivers: `apt-get install mesa-vulkan-drivers libegl1 libegl-mesa0 \
     libgl1-mesa-dri` (lavapipe through Vulkan, llvmpipe through GL)";

/// The default adapter (`WGPU_BACKEND` and `WGPU_ADAPTER_NAME` honoured),
/// opened once per test binary.
pub fn gpu() -> &'static GpuContext {
    static CTX: OnceLock<GpuContext> = OnceLock::new();
    CTX.get_or_init(|| {
        let ctx = GpuContext::new_default()
            .unwrap_or_else(|e| panic!("no GPU adapter ({e}). {ADAPTER_HINT}"));
        if let Some(info) = ctx.adapter_info() {
            eprintln!("adapter: {} ({:?})", info.name, info.backend);
        }
        ctx
    })
}

/// Every Vulkan and GL adapter wgpu finds, each opened once per entry of
/// `options`: `(name, contexts)`. Panics with [`ADAPTER_HINT`] when none
/// opens.
pub fn all_adapters(options: &[GpuOptions]) -> Vec<(String, Vec<GpuContext>)> {
    let backends = wgpu::Backends::VULKAN | wgpu::Backends::GL;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle_from_env()
    });
    let mut out = Vec::new();
    for a in pollster::block_on(instance.enumerate_adapters(backends)) {
        let info = a.get_info();
        let name = format!("{} ({:?})", info.name, info.backend);
        match options
            .iter()
            .map(|o| GpuContext::from_adapter(&a, *o))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(ctxs) => {
                eprintln!(
                    "adapter: {name}, mulhilo {:?}, window {} MiB",
                    ctxs[0].mulhilo(),
                    ctxs[0].max_window_bytes() >> 20
                );
                out.push((name, ctxs));
            }
            Err(e) => eprintln!("adapter {name} could not be opened: {e}"),
        }
    }
    assert!(!out.is_empty(), "no GPU adapter found. {ADAPTER_HINT}");
    out
}

/// The chunks of a PNG file, checked: signature, every chunk's CRC, IHDR
/// first, IEND last, at least one IDAT. Returns (width, height).
pub fn check_png(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.len() > 1000,
        "{}: only {} bytes",
        path.display(),
        bytes.len()
    );
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{}: not a PNG",
        path.display()
    );
    let mut pos = 8;
    let mut kinds = Vec::new();
    let mut size = (0, 0);
    while pos < bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        let crc = u32::from_be_bytes(bytes[pos + 8 + len..pos + 12 + len].try_into().unwrap());
        assert_eq!(
            crc32(&bytes[pos + 4..pos + 8 + len]),
            crc,
            "{}: bad CRC",
            path.display()
        );
        if kind == b"IHDR" {
            size = (
                u32::from_be_bytes(data[0..4].try_into().unwrap()),
                u32::from_be_bytes(data[4..8].try_into().unwrap()),
            );
        }
        kinds.push(String::from_utf8_lossy(kind).into_owned());
        pos += 12 + len;
    }
    assert_eq!(pos, bytes.len(), "{}: trailing bytes", path.display());
    assert_eq!(kinds.first().map(String::as_str), Some("IHDR"));
    assert_eq!(kinds.last().map(String::as_str), Some("IEND"));
    assert!(kinds.iter().any(|k| k == "IDAT"));
    size
}

/// CRC-32 (IEEE, as PNG uses it), bit by bit.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Distance between two elements' bits in representable values of `dtype`
/// (sign-magnitude bits made ordered; 16-bit elements in the low half).
pub fn ulp_distance(a: u32, b: u32, dtype: DType) -> u64 {
    let sign = if dtype == DType::F32 {
        0x8000_0000u32
    } else {
        0x8000
    };
    let ordered = |x: u32| -> i64 {
        if x & sign != 0 {
            -((x & !sign) as i64)
        } else {
            x as i64
        }
    };
    ordered(a).abs_diff(ordered(b))
}

/// `None` when `got == want` bit for bit; else a line naming the case
/// `what` with the count of differing elements and the largest distance in
/// ULP (or the two lengths, when they differ).
pub fn bit_difference(what: &str, dtype: DType, got: &[u8], want: &[u8]) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!(
            "{what}: {} bytes, expected {}",
            got.len(),
            want.len()
        ));
    }
    if got == want {
        return None;
    }
    let es = dtype.size_bytes();
    let word = |c: &[u8]| {
        if es == 4 {
            u32::from_le_bytes(c.try_into().unwrap())
        } else {
            u16::from_le_bytes(c.try_into().unwrap()) as u32
        }
    };
    let (mut differ, mut worst) = (0usize, 0u64);
    for (g, w) in got.chunks(es).zip(want.chunks(es)) {
        if g != w {
            differ += 1;
            worst = worst.max(ulp_distance(word(g), word(w), dtype));
        }
    }
    Some(format!(
        "{what} ({}): {differ} of {} elements differ, largest distance {worst} ULP",
        dtype.name(),
        got.len() / es
    ))
}

/// Puts rank shards of one tensor back together: row shards concatenate;
/// column shards interleave per row of the 2-D view `[shape[0], rest]`.
pub fn assemble(shape: &[u64], dtype: DType, mode: ShardMode, parts: &[Vec<u8>]) -> Vec<u8> {
    if mode == ShardMode::Rows || shape.len() < 2 {
        return parts.concat();
    }
    let row = (shape[1..].iter().product::<u64>() as usize) * dtype.size_bytes();
    let block = row / parts.len();
    let mut out = Vec::new();
    for i in 0..shape[0] as usize {
        for p in parts {
            out.extend_from_slice(&p[i * block..(i + 1) * block]);
        }
    }
    out
}
