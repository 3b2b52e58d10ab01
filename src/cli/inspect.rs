//! `weight-init inspect FILE.safetensors`: per-tensor shape, dtype and
//! statistics, and the std a scheme's formula expects for each shape.
//!
//! The header is read and checked whole by the library's one reader
//! (`weight_init::model::read_safetensors`: a regular file, a header
//! within the format's 100 MB limit, the format's rules), then each
//! tensor's bytes are streamed from the file in 8 MiB pieces, so a
//! checkpoint larger than memory can be inspected.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::process::ExitCode;

use safetensors::Dtype;
use weight_init::dtype::{bf16_bits_to_f32, f16_bits_to_f32};
use weight_init::files::{escape, show};
use weight_init::model::{read_safetensors, HeaderTensor};
use weight_init::stats::{Moments, RunningMoments};
use weight_init::{Plan, ResolveOptions};

use super::{CliError, CliResult, InspectArgs};
/// Bytes read per step while streaming a tensor.
const CHUNK: usize = 8 << 20;

/// Streaming moments of a tensor's finite values (`stats::RunningMoments`),
/// and a count of the others.
#[derive(Default)]
struct Running {
    finite: RunningMoments,
    non_finite: u64,
}

impl Running {
    fn push(&mut self, x: f64) {
        if x.is_finite() {
            self.finite.push(x);
        } else {
            self.non_finite += 1;
        }
    }

    /// Mean, std (n - 1), min and max of the finite values; with none, all 0.
    fn moments(&self) -> Moments {
        let m = self.finite.moments();
        if m.n == 0 {
            Moments {
                min: 0.0,
                max: 0.0,
                ..m
            }
        } else {
            m
        }
    }
}

/// Streams one tensor's values into the running statistics; `None` for
/// dtypes that are not floating point.
fn tensor_stats(
    file: &mut File,
    data_start: u64,
    info: &HeaderTensor,
) -> Result<Option<Running>, CliError> {
    let width = match info.dtype {
        Dtype::F32 => 4,
        Dtype::F16 | Dtype::BF16 => 2,
        Dtype::F64 => 8,
        _ => return Ok(None),
    };
    let (begin, end) = info.data_offsets;
    file.seek(SeekFrom::Start(data_start + begin as u64))?;
    let mut left = end - begin;
    let mut buf = vec![0u8; CHUNK.min(left.max(1))];
    let mut r = Running::default();
    while left > 0 {
        let take = left.min(CHUNK);
        let chunk = &mut buf[..take];
        file.read_exact(chunk)?;
        for c in chunk.chunks_exact(width) {
            let x = match info.dtype {
                Dtype::F32 => f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
                Dtype::F16 => f16_bits_to_f32(u16::from_le_bytes([c[0], c[1]])) as f64,
                Dtype::BF16 => bf16_bits_to_f32(u16::from_le_bytes([c[0], c[1]])) as f64,
                _ => f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
            };
            r.push(x);
        }
        left -= take;
    }
    Ok(Some(r))
}

/// The std the scheme's formula gives for a shape, or why there is none.
fn expected_std(args: &InspectArgs, shape: &[usize]) -> Result<f64, String> {
    let Some(init) = &args.scheme else {
        return Err(String::new());
    };
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    match init.resolve(&shape, &ResolveOptions::default().with_layout(args.layout)) {
        Ok(Plan::Sample(d)) => Ok(weight_init::stats::mean_std(&d).1),
        Ok(_) => Err("not elementwise".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Prints the table.
pub fn run(args: &InspectArgs) -> CliResult {
    let path = args.file.as_path();
    let (mut file, header) = read_safetensors(path)?;
    let (tensors, data_start) = (header.tensors, header.data_start);
    println!("{}: {} tensors", show(path), tensors.len());
    let with_scheme = args.scheme.is_some();
    print!(
        "{:<32} {:>5} {:>18} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "name", "dtype", "shape", "mean", "std", "min", "max", "non-finite"
    );
    if with_scheme {
        print!(" {:>12} {:>8}", "expected std", "std/exp");
    }
    println!();
    let bar = super::progress(tensors.len() as u64, "inspect");
    for info in &tensors {
        let name = escape(&info.name);
        let shape = format!("{:?}", info.shape);
        let dtype = format!("{:?}", info.dtype);
        match tensor_stats(&mut file, data_start, info)? {
            Some(r) => {
                let m = r.moments();
                print!(
                    "{:<32} {:>5} {:>18} {:>12.5e} {:>12.5e} {:>12.5e} {:>12.5e} {:>12}",
                    name, dtype, shape, m.mean, m.std, m.min, m.max, r.non_finite
                );
                if with_scheme {
                    match expected_std(args, &info.shape) {
                        Ok(e) if e > 0.0 => print!(" {:>12.5e} {:>8.4}", e, m.std / e),
                        Ok(e) => print!(" {:>12.5e} {:>8}", e, "-"),
                        Err(why) => print!(" {:>12} ({why})", "-"),
                    }
                }
                println!();
            }
            None => println!(
                "{name:<32} {dtype:>5} {shape:>18} (not a floating-point dtype: no statistics)"
            ),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(ExitCode::SUCCESS)
}
