//! The GPU backend's one alignment rule (the "Alignment" section of
//! `weight_init::gpu`), through every entry point, on every adapter found
//! (on a machine without a GPU: lavapipe through Vulkan and llvmpipe
//! through GL). 16-bit tensors at every even offset, f32 at every multiple
//! of 4, into canary-filled buffers: the tensor's bytes equal the CPU's and
//! every other byte keeps the canary; offsets that break the rule are
//! errors naming the offset and the tensor, and write nothing.
//!
//! These tests never pass silently: with no adapter they fail and say how to
//! install Mesa's software drivers.

use weight_init::gpu::{BatchItem, GpuContext, ItemView, StructuredValues};
use weight_init::model::{FillJob, Param, ParamSet, ResolvedSet, Rules};
use weight_init::{
    cpu, fill_structured_cpu, wgpu, DType, Distribution, Error, Init, Normal, Plan, ResolveOptions,
    TensorKey,
};

mod common;
use common::{Adapter, CANARY};

fn adapters() -> &'static [Adapter] {
    common::adapters(None)
}

/// Buffer size of every case: room for 5 f32 after byte 14, a multiple of 4.
const SIZE: u64 = 40;

/// The entry points, each placing one tensor of `n` elements of `dtype`
/// at `offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Entry {
    RecordFill,
    RecordBatch,
    JobsSample,
    /// Host bytes through `record_jobs`; `copy_dst`: whether the buffer has
    /// `COPY_DST` (else the values kernel writes every run).
    JobsUpload {
        copy_dst: bool,
    },
    /// A class-prior bias (host-computed values) through `record_gpu_into`.
    GpuIntoPrior,
    /// A sampled tensor through `record_gpu_into`.
    GpuIntoSample,
}

const ENTRIES: [Entry; 7] = [
    Entry::RecordFill,
    Entry::RecordBatch,
    Entry::JobsSample,
    Entry::JobsUpload { copy_dst: true },
    Entry::JobsUpload { copy_dst: false },
    Entry::GpuIntoPrior,
    Entry::GpuIntoSample,
];

fn normal() -> Distribution {
    Normal::new(0.0, 1.0).unwrap().into()
}

fn key(n: u64) -> TensorKey {
    TensorKey::new(77, 5, n)
}

fn cpu_bytes(dtype: DType, n: u64) -> Vec<u8> {
    let mut out = vec![0u8; n as usize * dtype.size_bytes()];
    cpu::fill_bytes(&normal(), dtype, &key(n), 0..n, &mut out).unwrap();
    out
}

/// A one-tensor model: `bias` of `[n]` with the given init.
fn model(dtype: DType, n: u64, init: &str) -> ResolvedSet {
    let init: Init = init.parse().unwrap();
    ParamSet::from_params([Param::new("bias", vec![n], dtype).with_init(init)])
        .unwrap()
        .resolve(&Rules::default())
        .unwrap()
}

const PRIOR: &str = "class_prior_bias(priors=[0.01], activation=sigmoid)";

/// A canary-filled buffer of [`SIZE`] bytes; `copy_dst` false leaves it
/// without `COPY_DST` (filled through a mapping at creation).
fn canary_buffer(ctx: &GpuContext, copy_dst: bool) -> wgpu::Buffer {
    let usage = wgpu::BufferUsages::STORAGE
        | wgpu::BufferUsages::COPY_SRC
        | if copy_dst {
            wgpu::BufferUsages::COPY_DST
        } else {
            wgpu::BufferUsages::empty()
        };
    let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("alignment test"),
        size: SIZE,
        usage,
        mapped_at_creation: true,
    });
    buf.slice(..)
        .get_mapped_range_mut()
        .expect("a mapping")
        .copy_from_slice(&[CANARY; SIZE as usize]);
    buf.unmap();
    buf
}

/// Records `entry` for `n` elements of `dtype` at `offset` of `buf` into a
/// new encoder, submits it whatever the result, and returns the result and
/// the CPU bytes the tensor must hold.
fn run(
    ctx: &GpuContext,
    buf: &wgpu::Buffer,
    entry: Entry,
    dtype: DType,
    n: u64,
    offset: u64,
) -> (Result<(), Error>, Vec<u8>) {
    let mut enc = ctx.device().create_command_encoder(&Default::default());
    let (r, want) = match entry {
        Entry::RecordFill => (
            ctx.record_fill(&mut enc, buf, offset, &normal(), dtype, &key(n), 0..n),
            cpu_bytes(dtype, n),
        ),
        Entry::RecordBatch => {
            let item = BatchItem {
                dist: normal(),
                dtype,
                key: key(n),
                view: ItemView::Range(0..n),
                byte_offset: offset,
            };
            (
                ctx.record_batch(&mut enc, buf, &[item]).map(|_| ()),
                cpu_bytes(dtype, n),
            )
        }
        Entry::JobsSample => {
            let (_, jobs) = model(dtype, n, "normal(0, 1)")
                .tensor_jobs(0, 3, None)
                .unwrap();
            let want = model(dtype, n, "normal(0, 1)").fill_cpu(3, None).unwrap();
            (
                ctx.record_jobs(&mut enc, buf, offset, &jobs).map(|_| ()),
                want[0].1.clone(),
            )
        }
        Entry::JobsUpload { .. } => {
            let bytes = cpu_bytes(dtype, n);
            let jobs = [FillJob::Upload {
                bytes: bytes.clone(),
                dst: 0,
            }];
            (
                ctx.record_jobs(&mut enc, buf, offset, &jobs).map(|_| ()),
                bytes,
            )
        }
        Entry::GpuIntoPrior | Entry::GpuIntoSample => {
            let init = if entry == Entry::GpuIntoPrior {
                PRIOR
            } else {
                "uniform(-1, 1)"
            };
            let m = model(dtype, n, init);
            let want = m.fill_cpu(11, None).unwrap();
            (
                m.record_gpu_into(ctx, &mut enc, &[(buf, offset)], 11, None)
                    .map(|_| ()),
                want[0].1.clone(),
            )
        }
    };
    ctx.queue().submit([enc.finish()]);
    (r, want)
}

/// Every entry point, every legal offset and length: the tensor's bytes
/// equal the CPU's and every other byte keeps the canary.
#[test]
fn every_legal_offset_through_every_entry_point() {
    for a in adapters() {
        let ctx = &a.ctx;
        let mut bad = Vec::new();
        for entry in ENTRIES {
            let copy_dst = entry != Entry::JobsUpload { copy_dst: false };
            for dtype in [DType::BF16, DType::F16, DType::F32] {
                let step = dtype.size_bytes() as u64;
                for offset in (0..=14).filter(|o| o % step == 0) {
                    for n in 1..=5u64 {
                        let buf = canary_buffer(ctx, copy_dst);
                        let (r, want) = run(ctx, &buf, entry, dtype, n, offset);
                        if let Err(e) = r {
                            bad.push(format!("{entry:?} {dtype} n={n} at {offset}: {e}"));
                            continue;
                        }
                        let got = ctx.read_buffer(&buf, 0, SIZE).unwrap();
                        let (lo, hi) = (offset as usize, offset as usize + want.len());
                        if got[lo..hi] != want[..] {
                            bad.push(format!(
                                "{entry:?} {dtype} n={n} at {offset}: {:?} != {want:?}",
                                &got[lo..hi]
                            ));
                        }
                        if got[..lo].iter().chain(&got[hi..]).any(|&b| b != CANARY) {
                            bad.push(format!(
                                "{entry:?} {dtype} n={n} at {offset}: wrote outside: {got:?}"
                            ));
                        }
                    }
                }
            }
        }
        assert!(bad.is_empty(), "{}:\n{}", a.name, bad.join("\n"));
    }
}

/// Odd offsets of 16-bit tensors and f32 offsets that are not multiples of
/// 4: errors that name the argument, the offset and the tensor, and nothing
/// is written.
#[test]
fn offsets_that_break_the_rule_are_errors_and_write_nothing() {
    for a in adapters() {
        let ctx = &a.ctx;
        for entry in ENTRIES {
            let copy_dst = entry != Entry::JobsUpload { copy_dst: false };
            for (dtype, offset) in [
                (DType::BF16, 1),
                (DType::BF16, 3),
                (DType::F16, 7),
                (DType::F32, 2),
                (DType::F32, 6),
                (DType::F32, 1),
            ] {
                // Upload jobs carry no dtype: even offsets are theirs to take.
                if matches!(entry, Entry::JobsUpload { .. }) && offset % 2 == 0 {
                    continue;
                }
                let buf = canary_buffer(ctx, copy_dst);
                let (r, _) = run(ctx, &buf, entry, dtype, 3, offset);
                let e = r.expect_err(&format!("{entry:?} {dtype} at {offset}"));
                let msg = e.to_string();
                let inner = match &e {
                    Error::Param { name, source } => {
                        assert_eq!(name, "bias", "{msg}");
                        &**source
                    }
                    e => e,
                };
                assert!(
                    matches!(inner, Error::Unaligned { offset: o, .. } if *o == offset),
                    "{}: {entry:?} {dtype} at {offset}: {e:?}",
                    a.name
                );
                assert!(msg.contains(&offset.to_string()), "{msg}");
                let tensor = match entry {
                    Entry::JobsUpload { .. } => "Upload".to_string(),
                    _ => dtype.name().to_string(),
                };
                assert!(msg.contains(&tensor), "{msg}");
                match entry {
                    Entry::RecordFill => assert!(msg.contains("byte_offset"), "{msg}"),
                    Entry::RecordBatch => assert!(msg.contains("items[0].byte_offset"), "{msg}"),
                    Entry::JobsSample | Entry::JobsUpload { .. } => {
                        assert!(msg.contains("jobs[0].dst"), "{msg}")
                    }
                    Entry::GpuIntoPrior | Entry::GpuIntoSample => {
                        assert!(msg.contains("parameter `bias`"), "{msg}")
                    }
                }
                let got = ctx.read_buffer(&buf, 0, SIZE).unwrap();
                assert!(
                    got.iter().all(|&b| b == CANARY),
                    "{}: {entry:?} {dtype} at {offset} wrote: {got:?}",
                    a.name
                );
            }
        }
        // The single-call message of the issue.
        let buf = canary_buffer(ctx, true);
        let mut enc = ctx.device().create_command_encoder(&Default::default());
        let e = ctx
            .record_fill(&mut enc, &buf, 3, &normal(), DType::BF16, &key(2), 0..2)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "byte_offset 3 of a bf16 tensor: 16-bit tensors need an even offset"
        );
        // Upload jobs of an odd byte count.
        let e = ctx
            .record_jobs(
                &mut enc,
                &buf,
                0,
                &[FillJob::Upload {
                    bytes: vec![1, 2, 3],
                    dst: 0,
                }],
            )
            .unwrap_err();
        assert!(matches!(e, Error::Unaligned { .. }), "{e}");
    }
}

/// A buffer whose size is not a multiple of 4: a tensor that ends before
/// its last, partial word is filled; one that reaches into it is refused
/// with an error that says why and what to do (wgpu binds storage buffers
/// in whole words only).
#[test]
fn buffer_sizes_that_are_not_whole_words() {
    for a in adapters() {
        let ctx = &a.ctx;
        let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some("six bytes"),
            size: 6,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        // Three bf16 into 6 bytes.
        let mut enc = ctx.device().create_command_encoder(&Default::default());
        let e = ctx
            .record_fill(&mut enc, &buf, 0, &normal(), DType::BF16, &key(3), 0..3)
            .unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Unaligned { offset: 6, .. }), "{msg}");
        assert!(
            msg.contains("multiple of 4") && msg.contains("(8)"),
            "says why and what to do: {msg}"
        );
        // The same through the model.
        let m = model(DType::BF16, 3, "normal(0, 1)");
        let e = m
            .record_gpu_into(ctx, &mut enc, &[(&buf, 0)], 1, None)
            .unwrap_err();
        assert!(e.to_string().contains("multiple of 4"), "{e}");
        // Two bf16 at 0 end on a whole word: filled.
        ctx.record_fill(&mut enc, &buf, 0, &normal(), DType::BF16, &key(2), 0..2)
            .unwrap();
        ctx.queue().submit([enc.finish()]);
        assert_eq!(
            ctx.read_buffer(&buf, 0, 4).unwrap(),
            cpu_bytes(DType::BF16, 2)
        );
    }
}

fn orthogonal() -> (weight_init::Structured, TensorKey) {
    let plan = "orthogonal(gain=2)"
        .parse::<Init>()
        .unwrap()
        .resolve(&[24, 40], &ResolveOptions::default())
        .unwrap();
    let Plan::Structured(s) = plan else {
        panic!("{plan:?}")
    };
    (s, TensorKey::new(5, 9, 24 * 40))
}

/// An orthogonal fill recorded from prepared values equals the CPU's, at a
/// word-aligned offset (a copy) and at a mid-word one (the values kernel);
/// `record_structured` refuses the plan without values and writes nothing.
#[test]
fn structured_orthogonal_from_prepared_values() {
    let (s, key) = orthogonal();
    for a in adapters() {
        let ctx = &a.ctx;
        for (dtype, offset) in [(DType::F32, 4), (DType::BF16, 2), (DType::F16, 6)] {
            let values = StructuredValues::compute(&s, dtype, &key).unwrap();
            let mut want = vec![0u8; (key.numel as usize) * dtype.size_bytes()];
            fill_structured_cpu(&s, dtype, &key, &mut want).unwrap();
            assert_eq!(values.bytes(), &want[..]);
            let size = (offset + want.len() as u64 + 8).next_multiple_of(4);
            let buf = common::storage_buffer(ctx, size, CANARY);
            let mut enc = ctx.device().create_command_encoder(&Default::default());
            let e = ctx
                .record_structured(&mut enc, &buf, offset, &s, dtype, &key)
                .unwrap_err();
            assert!(e.to_string().contains("StructuredValues::compute"), "{e}");
            ctx.queue().submit([enc.finish()]);
            assert!(ctx
                .read_buffer(&buf, 0, size)
                .unwrap()
                .iter()
                .all(|&b| b == CANARY));
            let mut enc = ctx.device().create_command_encoder(&Default::default());
            ctx.record_structured_values(&mut enc, &buf, offset, &values)
                .unwrap();
            ctx.queue().submit([enc.finish()]);
            let got = ctx.read_buffer(&buf, 0, size).unwrap();
            let (lo, hi) = (offset as usize, offset as usize + want.len());
            assert_eq!(&got[lo..hi], &want[..], "{}: {dtype} at {offset}", a.name);
            assert!(
                got[..lo].iter().chain(&got[hi..]).all(|&b| b == CANARY),
                "{}: {dtype} at {offset} wrote outside",
                a.name
            );
            // fill_structured does both steps.
            let buf2 = common::storage_buffer(ctx, size, CANARY);
            ctx.fill_structured(&buf2, offset, &s, dtype, &key).unwrap();
            assert_eq!(ctx.read_buffer(&buf2, 0, size).unwrap(), got);
        }
    }
}
