//! The one-call API on the GPU: for every plan kind (sample, host values,
//! segments, kernel-structured, host-QR structured) and every dtype,
//! `TensorInit::prepare` + `GpuContext::record_tensor` at a byte offset
//! writes exactly the CPU's bytes (which `tests/tensor.rs` shows equal the
//! model API's), on every adapter found, and leaves every other byte of the
//! buffer as it was. Fails, with how to get an adapter, where none exists.

mod common;

use common::{adapters, CANARY};
use weight_init::gpu::GpuContext;
use weight_init::model::{Param, ParamSet, Rules};
use weight_init::wgpu;
use weight_init::{DType, Error, TensorInit};

const SEED: u64 = 0x00ca_11ed;

/// (name, shape, scheme): one of each plan kind.
const CASES: &[(&str, &[u64], &str)] = &[
    ("fc1.weight", &[64, 48], "torch_default_weight"),
    ("fc2.weight", &[33, 17], "trunc_normal(std=0.02)"),
    (
        "head.bias",
        &[5],
        "class_prior_bias(priors=[0.1, 0.2, 0.3, 0.15, 0.25])",
    ),
    ("lstm.bias_ih", &[4 * 7], "lstm_forget_bias(forget=1)"),
    ("proj.weight", &[6, 9], "eye"),
    ("conv.weight", &[8, 4, 3, 3], "dirac"),
    ("sparse.weight", &[20, 11], "sparse(sparsity=0.3)"),
    ("rnn.weight", &[16, 24], "orthogonal"),
    ("dconv.weight", &[8, 4, 3, 3], "delta_orthogonal"),
];

/// A buffer of `len` canary bytes that fills may write.
fn canary_buffer(ctx: &GpuContext, len: u64) -> wgpu::Buffer {
    let buffer = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("tensor_gpu canary"),
        size: len,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    ctx.queue()
        .write_buffer(&buffer, 0, &vec![CANARY; len as usize]);
    buffer
}

/// The model API's CPU bytes for the same tensor (name, so stream, and
/// seed), as a third witness beside the one-call CPU bytes.
fn model_bytes(name: &str, shape: &[u64], dtype: DType, scheme: &str) -> Vec<u8> {
    let set = ParamSet::from_params([
        Param::new(name, shape.to_vec(), dtype).with_init(scheme.parse().unwrap())
    ])
    .unwrap();
    let r = set.resolve(&Rules::default()).unwrap();
    r.fill_param_cpu(0, SEED, None).unwrap().1
}

#[test]
fn every_plan_kind_equals_the_cpu_and_the_model_api() {
    let mut bad = Vec::new();
    let mut checked = 0;
    for a in adapters(None) {
        let ctx = &a.ctx;
        for &(name, shape, scheme) in CASES {
            for dtype in [DType::F32, DType::F16, DType::BF16] {
                let t = TensorInit::new(name, shape, scheme).unwrap().dtype(dtype);
                let cpu = t.to_bytes(SEED).unwrap();
                assert_eq!(
                    cpu,
                    model_bytes(name, shape, dtype, scheme),
                    "{name} {dtype}"
                );
                let prepared = t.prepare(SEED).unwrap();
                // 16-bit tensors at an offset that is not a word boundary.
                let offset = if dtype == DType::F32 { 12 } else { 6 };
                let len = (offset + cpu.len() as u64 + 10).next_multiple_of(4);
                let buffer = canary_buffer(ctx, len);
                ctx.submit_checked(|enc| {
                    ctx.record_tensor(enc, &buffer, offset, &prepared)?;
                    Ok(())
                })
                .unwrap_or_else(|e| panic!("{}: {name} {dtype}: {e}", a.name));
                let got = ctx.read_buffer(&buffer, 0, len).unwrap();
                let (lo, hi) = (offset as usize, offset as usize + cpu.len());
                if got[lo..hi] != cpu[..] {
                    bad.push(format!(
                        "{}: {name} ({scheme}) {dtype}: values differ",
                        a.name
                    ));
                }
                let outside = got[..lo].iter().chain(&got[hi..]).filter(|&&b| b != CANARY);
                if outside.count() > 0 {
                    bad.push(format!(
                        "{}: {name} {dtype}: wrote outside the tensor",
                        a.name
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(checked >= CASES.len() * 3, "{checked} cases checked");
}

#[test]
fn record_tensor_errors_name_the_tensor_and_write_nothing() {
    for a in adapters(None) {
        let ctx = &a.ctx;
        let t = TensorInit::new("odd.weight", &[3], "normal(0, 1)")
            .unwrap()
            .dtype(DType::BF16)
            .prepare(SEED)
            .unwrap();
        let buffer = canary_buffer(ctx, 32);
        // An odd byte offset for a 16-bit tensor, and one past the end.
        for offset in [3u64, 28] {
            let err = ctx
                .submit_checked(|enc| {
                    ctx.record_tensor(enc, &buffer, offset, &t)?;
                    Ok(())
                })
                .unwrap_err();
            let Error::Param { name, .. } = &err else {
                panic!(
                    "{}: offset {offset}: {err:?} does not name the tensor",
                    a.name
                );
            };
            assert_eq!(name, "odd.weight");
            let got = ctx.read_buffer(&buffer, 0, 32).unwrap();
            assert!(
                got.iter().all(|&b| b == CANARY),
                "{}: offset {offset} wrote",
                a.name
            );
        }
    }
}
