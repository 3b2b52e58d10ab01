//! The batched fill (`GpuContext::fill_batch`, `record_batch`) on the
//! default adapter: a bounded number of dispatches, every element equal bit
//! for bit to the single-tensor fill of the same element, column and row
//! shards that concatenate to the unsharded tensor, binding windows,
//! untouched bytes between items, and bad input.
//!
//! These tests never pass silently: with no adapter they fail and say how to
//! install Mesa's software drivers.

use weight_init::gpu::{BatchItem, BatchReport, GpuContext, ItemView};
use weight_init::stats::Agreement;
use weight_init::{cpu, DType, Distribution, Error, Normal, TensorKey, TruncatedNormal, Uniform};

mod common;
use common::gpu as ctx;
use common::{values, CANARY};

/// splitmix64: the tests' fixed-seed shapes and offsets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn buffer(ctx: &GpuContext, size: u64) -> wgpu::Buffer {
    common::storage_buffer(ctx, size, CANARY)
}

/// The items filled one by one with `record_fill` (Range views only) into
/// a canary buffer, all in one submission; the whole buffer's bytes.
fn single_fills(ctx: &GpuContext, size: u64, items: &[BatchItem]) -> Vec<u8> {
    let buf = buffer(ctx, size);
    ctx.submit_checked(|enc| {
        for it in items {
            let ItemView::Range(r) = &it.view else {
                panic!("single fills take ranges")
            };
            ctx.record_fill(
                enc,
                &buf,
                it.byte_offset,
                &it.dist,
                it.dtype,
                &it.key,
                r.clone(),
            )?;
        }
        Ok(())
    })
    .unwrap();
    ctx.read_buffer(&buf, 0, size).unwrap()
}

fn batch_fill(ctx: &GpuContext, size: u64, items: &[BatchItem]) -> (BatchReport, Vec<u8>) {
    let buf = buffer(ctx, size);
    let report = ctx.fill_batch(&buf, items).unwrap();
    (report, ctx.read_buffer(&buf, 0, size).unwrap())
}

/// The first byte where two buffers differ, described.
fn assert_same(what: &str, got: &[u8], want: &[u8]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!(
            "{what}: byte {i} is {:#04x}, expected {:#04x}",
            got[i], want[i]
        );
    }
}

const DISTS: usize = 5;

/// The (scale, distribution) of kind `k`: constant, symmetric uniform,
/// normal, truncated normal, asymmetric uniform.
fn dist(k: usize, salt: u64) -> (f32, Distribution) {
    let s = 1.0 + (salt % 7) as f32 / 8.0;
    match k {
        0 => (s, Distribution::constant(-0.3 * s).unwrap()),
        1 => (s, Uniform::new(-s, s).unwrap().into()),
        2 => (0.02 * s, Normal::new(0.0, 0.02 * s).unwrap().into()),
        3 => (
            s,
            TruncatedNormal::new(0.1, s, -1.5 * s, 2.0 * s)
                .unwrap()
                .into(),
        ),
        _ => (s, Uniform::new(-0.25, s).unwrap().into()),
    }
}

const DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::BF16];

/// 1000 small random items (all four kernels, three dtypes, ranges inside
/// their tensors, 16-bit items at odd element offsets sharing words with
/// their neighbours, gaps) in one call: at most 8 dispatches, within the
/// documented bound; every byte equal to the single-tensor fills' (gaps
/// keep their canaries in both); every value the CPU's, within the ULP
/// bound (bit-exact for constants and symmetric uniforms).
#[test]
fn a_thousand_items_take_a_handful_of_dispatches_and_equal_single_fills() {
    let ctx = ctx();
    let mut rng = Rng(0x1000);
    let mut items = Vec::new();
    let mut scales = Vec::new();
    let mut at = 0u64;
    for i in 0..1000u64 {
        let dtype = DTYPES[rng.below(3) as usize];
        let size = dtype.size_bytes() as u64;
        let (scale, d) = dist(rng.below(DISTS as u64) as usize, i);
        let numel = 1 + rng.below(300);
        let start = rng.below(numel);
        let end = start + 1 + rng.below(numel - start);
        // A gap of 0 to 3 elements, then the dtype's alignment.
        at = (at + size * rng.below(4)).next_multiple_of(size);
        items.push(BatchItem {
            dist: d,
            dtype,
            key: TensorKey::new(0xba7c4, i * 7919, numel),
            view: ItemView::Range(start..end),
            byte_offset: at,
        });
        scales.push(scale);
        at += (end - start) * size;
    }
    let size = (at + 64).next_multiple_of(4);
    let (report, got) = batch_fill(ctx, size, &items);
    eprintln!("1000 items: {report:?}, bound {}", report.bound());
    assert_eq!(report.kernels, 4);
    assert_eq!(report.windows, 1);
    assert!(report.dispatches as u64 <= report.bound(), "{report:?}");
    assert!(report.dispatches <= 8, "{report:?}");
    let want = single_fills(ctx, size, &items);
    assert_same("batch vs single fills", &got, &want);

    let mut written = vec![false; size as usize];
    for (it, &scale) in items.iter().zip(&scales) {
        let ItemView::Range(r) = &it.view else {
            unreachable!()
        };
        let len = it.byte_len().unwrap() as usize;
        let at = it.byte_offset as usize;
        written[at..at + len].iter_mut().for_each(|w| *w = true);
        let mut cpu = vec![0u8; len];
        cpu::fill_bytes(&it.dist, it.dtype, &it.key, r.clone(), &mut cpu).unwrap();
        // Every distribution is bit-identical to the CPU; on a mismatch the
        // largest distance is reported before failing.
        if got[at..at + len] != cpu[..] {
            let (g, c) = (values(&got[at..at + len], it.dtype), values(&cpu, it.dtype));
            let worst = Agreement::of(&g, &c, scale, it.dtype).max_ulp;
            panic!(
                "{} {}: differs from the CPU, up to {worst} ULP",
                it.dist, it.dtype
            );
        }
    }
    for (i, w) in written.iter().enumerate() {
        if !w {
            assert_eq!(got[i], CANARY, "byte {i} outside every item changed");
        }
    }
}

/// A model arena: whole tensors (every dtype and kind) at 256-byte offsets,
/// whose units all start on a Philox block, so the batch runs the range
/// kernel built without the straddling-block code: byte for byte the
/// single fills.
#[test]
fn an_arena_of_whole_tensors_equals_single_fills() {
    let ctx = ctx();
    let mut rng = Rng(0xa7e4a);
    let mut items = Vec::new();
    let mut at = 0u64;
    for i in 0..200u64 {
        let dtype = DTYPES[rng.below(3) as usize];
        let numel = 1 + rng.below(3000);
        items.push(BatchItem {
            dist: dist(rng.below(DISTS as u64) as usize, i).1,
            dtype,
            key: TensorKey::new(0xa7e4a, i, numel),
            view: ItemView::Range(0..numel),
            byte_offset: at,
        });
        at = (at + numel * dtype.size_bytes() as u64).next_multiple_of(256);
    }
    let size = at + 256;
    let (report, got) = batch_fill(ctx, size, &items);
    eprintln!("arena of 200 tensors: {report:?}");
    assert_eq!(report.phases, 1);
    assert_eq!(report.dispatches as u64, report.bound());
    assert_same(
        "arena vs single fills",
        &got,
        &single_fills(ctx, size, &items),
    );
}

/// More items of one kernel than one descriptor table holds (512 where
/// uniform bindings reach 64 KiB): the table is bound in chunks, one
/// dispatch each, and the bytes are still the single fills'.
#[test]
fn descriptor_tables_past_one_binding_are_chunked() {
    let ctx = ctx();
    let n = 1200u64;
    let items: Vec<BatchItem> = (0..n)
        .map(|i| BatchItem {
            dist: Normal::new(0.0, 1.0).unwrap().into(),
            dtype: DType::F32,
            key: TensorKey::new(0xc4, i, 10),
            view: ItemView::Range(1..8),
            byte_offset: 32 * i,
        })
        .collect();
    let size = 32 * n;
    let (report, got) = batch_fill(ctx, size, &items);
    eprintln!("{n} items of one kernel: {report:?}");
    assert_eq!(report.bound(), 1);
    let per_table = (ctx.device().limits().max_uniform_buffer_binding_size / 128).clamp(4, 512);
    assert_eq!(report.dispatches as u64, n.div_ceil(per_table));
    assert_same(
        "chunked tables vs single fills",
        &got,
        &single_fills(ctx, size, &items),
    );
}

/// Neighbouring 16-bit items that share 32-bit words, with the same and
/// with different kernels, one-element items, items at odd and even
/// element offsets, f32 between them: byte for byte what the single fills
/// write, the canaries before, between and after untouched.
#[test]
fn shared_words_and_canaries() {
    let ctx = ctx();
    let normal: Distribution = Normal::new(0.0, 1.0).unwrap().into();
    let uniform: Distribution = Uniform::new(-1.0, 1.0).unwrap().into();
    let one = Distribution::constant(1.0).unwrap();
    // (dist, dtype, byte offset, range): contiguous runs and gaps.
    let layout: Vec<(&Distribution, DType, u64, std::ops::Range<u64>)> = vec![
        (&normal, DType::BF16, 2, 3..4),  // one element, high half of word 0
        (&normal, DType::BF16, 4, 0..5),  // bytes 4..14
        (&normal, DType::F16, 14, 9..10), // shares word 12 with the bf16
        (&normal, DType::BF16, 16, 1..2), // one element, low half of word 16
        (&uniform, DType::F16, 18, 0..3), // high half of word 16: other kernel
        (&one, DType::BF16, 26, 5..8),    // after a 2-byte gap
        (&normal, DType::F32, 32, 7..9),  // an f32 pair
        (&normal, DType::F16, 42, 2..3),  // gap, then one element
        (&normal, DType::F16, 44, 3..1003), // long run
        (&normal, DType::BF16, 2044, 0..1), // directly after it
        (&normal, DType::BF16, 2046, 1..2), // and another one in the same word
    ];
    let items: Vec<BatchItem> = layout
        .into_iter()
        .enumerate()
        .map(|(i, (d, dtype, byte_offset, r))| BatchItem {
            dist: *d,
            dtype,
            key: TensorKey::new(77, 1000 + i as u64, 2000),
            view: ItemView::Range(r),
            byte_offset,
        })
        .collect();
    let size = 2100;
    let (report, got) = batch_fill(ctx, size, &items);
    eprintln!("shared words: {report:?}");
    assert_eq!(report.phases, 2, "same-kernel items share words");
    assert!(report.dispatches as u64 <= report.bound());
    let want = single_fills(ctx, size, &items);
    assert_same("batch vs single fills", &got, &want);
    for gap in [0..2usize, 24..26, 40..42, 2048..2100] {
        assert!(
            got[gap.clone()].iter().all(|&b| b == CANARY),
            "canary {gap:?} changed"
        );
    }
}

/// Column (tensor-parallel) and row (FSDP) shards for world sizes 1, 2, 3,
/// 4 and 8, every rank of every world size in one batch, at odd element
/// offsets: un-strided on the CPU and concatenated, they equal the
/// unsharded single fill bit for bit.
#[test]
fn shards_concatenate_to_the_unsharded_tensor() {
    let ctx = ctx();
    let (rows, row_len) = (37u64, 72u64);
    let numel = rows * row_len;
    for dtype in DTYPES {
        let size = dtype.size_bytes() as u64;
        for (k, d) in [
            Distribution::from(Normal::new(0.0, 0.02).unwrap()),
            Uniform::new(-0.5, 0.5).unwrap().into(),
            TruncatedNormal::new(0.0, 1.0, -2.0, 2.0).unwrap().into(),
        ]
        .into_iter()
        .enumerate()
        {
            let key = TensorKey::new(0x5a4d, 40 + k as u64, numel);
            let whole_size = (numel * size + 8).next_multiple_of(4);
            let whole = single_fills(
                ctx,
                whole_size,
                &[BatchItem {
                    dist: d,
                    dtype,
                    key,
                    view: ItemView::Range(0..numel),
                    byte_offset: 0,
                }],
            );
            let whole = &whole[..(numel * size) as usize];
            // (world, rank, columns?, byte offset) of every shard.
            let mut items = Vec::new();
            let mut shards = Vec::new();
            let mut at = size; // one element in, so 16-bit shards start mid-word
            for world in [1u64, 2, 3, 4, 8] {
                for rank in 0..world {
                    for columns in [true, false] {
                        let view = if columns {
                            let w = row_len / world;
                            ItemView::Columns {
                                row_len,
                                cols: rank * w..(rank + 1) * w,
                            }
                        } else {
                            // Rows as even as possible: the first rows % world
                            // ranks take one more.
                            let r0 = rank * (rows / world) + rank.min(rows % world);
                            let r1 = r0 + rows / world + u64::from(rank < rows % world);
                            ItemView::Range(r0 * row_len..r1 * row_len)
                        };
                        let item = BatchItem {
                            dist: d,
                            dtype,
                            key,
                            view,
                            byte_offset: at,
                        };
                        at += item.byte_len().unwrap() + size;
                        shards.push((world, rank, columns, item.byte_offset));
                        items.push(item);
                    }
                }
            }
            let buf_size = (at + 8).next_multiple_of(4);
            let (report, got) = batch_fill(ctx, buf_size, &items);
            assert!(report.dispatches as u64 <= report.bound());
            for world in [1u64, 2, 3, 4, 8] {
                for columns in [true, false] {
                    let mut joined = vec![0u8; (numel * size) as usize];
                    let mut row_cursor = 0usize;
                    for &(_, rank, _, off) in
                        shards.iter().filter(|s| s.0 == world && s.2 == columns)
                    {
                        let at = off as usize;
                        if columns {
                            let w = (row_len / world) as usize;
                            let s = size as usize;
                            for r in 0..rows as usize {
                                let src = at + r * w * s;
                                let dst = (r * row_len as usize + rank as usize * w) * s;
                                joined[dst..dst + w * s].copy_from_slice(&got[src..src + w * s]);
                            }
                        } else {
                            let r0 = rank * (rows / world) + rank.min(rows % world);
                            let r1 = r0 + rows / world + u64::from(rank < rows % world);
                            let len = ((r1 - r0) * row_len * size) as usize;
                            joined[row_cursor..row_cursor + len]
                                .copy_from_slice(&got[at..at + len]);
                            row_cursor += len;
                        }
                    }
                    assert_same(
                        &format!("{dtype} {d} world {world} columns {columns}"),
                        &joined,
                        whole,
                    );
                }
            }
        }
    }
}

/// Element indices past 2^32 (and the 64-bit row arithmetic of column
/// views): a column block of a tensor of 2^33 + 2^31 elements in rows of
/// 2^31 + 3, against the single fill of each row's part.
#[test]
fn indices_past_two_to_the_32() {
    let ctx = ctx();
    let row_len = (1u64 << 31) + 3;
    let rows = 5u64;
    let key = TensorKey::new(9, 10, rows * row_len);
    let d: Distribution = Normal::new(0.0, 1.0).unwrap().into();
    for dtype in DTYPES {
        let size = dtype.size_bytes() as u64;
        let cols = row_len - 7..row_len - 1; // 6 columns, near each row's end
        let item = BatchItem {
            dist: d,
            dtype,
            key,
            view: ItemView::Columns {
                row_len,
                cols: cols.clone(),
            },
            byte_offset: size,
        };
        let per_row: Vec<BatchItem> = (0..rows)
            .map(|r| BatchItem {
                dist: d,
                dtype,
                key,
                view: ItemView::Range(r * row_len + cols.start..r * row_len + cols.end),
                byte_offset: size + r * 6 * size,
            })
            .collect();
        let buf_size = 256;
        let (_, got) = batch_fill(ctx, buf_size, std::slice::from_ref(&item));
        let want = single_fills(ctx, buf_size, &per_row);
        assert_same(&format!("{dtype} columns past 2^32"), &got, &want);
        // And the same rows as ranges in one batch.
        let (_, got) = batch_fill(ctx, buf_size, &per_row);
        assert_same(&format!("{dtype} ranges past 2^32"), &got, &want);
    }
}

/// A context on the default adapter with a 4 KiB binding window and 2x2
/// grids, so a 256 KiB destination needs 64 windows, items cross windows,
/// descriptor tables are bound in chunks and grids split.
fn small_window_context() -> GpuContext {
    common::default_adapter_with(common::small_window(4096))
}

/// A destination past the (lowered) binding limit: the batch equals the
/// default context's single fills byte for byte.
#[test]
fn destination_past_the_binding_limit() {
    let ctx = ctx();
    let small = small_window_context();
    let mut rng = Rng(0x3);
    let mut items = Vec::new();
    let mut at = 2u64;
    let mut i = 0;
    while at < 250_000 {
        let dtype = DTYPES[rng.below(3) as usize];
        let size = dtype.size_bytes() as u64;
        // Mostly small items, some spanning several 4 KiB windows.
        let n = if i % 10 == 0 {
            1 + rng.below(20_000)
        } else {
            1 + rng.below(50)
        };
        let numel = n + rng.below(100);
        let start = rng.below(numel - n + 1);
        at = (at + size * rng.below(2)).next_multiple_of(size);
        if at + n * size > 250_000 {
            break;
        }
        items.push(BatchItem {
            dist: dist(rng.below(DISTS as u64) as usize, i).1,
            dtype,
            key: TensorKey::new(0xfeed, i, numel),
            view: ItemView::Range(start..start + n),
            byte_offset: at,
        });
        at += n * size;
        i += 1;
    }
    let size = 256 << 10;
    let (report, got) = batch_fill(&small, size, &items);
    eprintln!(
        "{} items over {} KiB, 4 KiB windows, 2x2 grids: {report:?}",
        items.len(),
        size >> 10
    );
    assert!(report.windows >= 32, "{report:?}");
    assert!(report.pieces > items.len() as u64, "items cross windows");
    let want = single_fills(ctx, size, &items);
    assert_same("small windows vs single fills", &got, &want);
    // The same batch on the default context, in one window.
    let (report, got) = batch_fill(ctx, size, &items);
    assert_eq!(report.windows, 1);
    assert!(report.dispatches as u64 <= report.bound());
    assert_same("default context vs single fills", &got, &want);
}

/// Recording into the caller's encoder: nothing runs until the caller
/// submits, and the batch can be recorded beside other work.
#[test]
fn record_batch_into_a_callers_encoder() {
    let ctx = ctx();
    let buf = buffer(ctx, 1024);
    let items = [BatchItem {
        dist: Uniform::new(-1.0, 1.0).unwrap().into(),
        dtype: DType::BF16,
        key: TensorKey::new(1, 2, 500),
        view: ItemView::Range(0..500),
        byte_offset: 6,
    }];
    let mut enc = ctx
        .device()
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    let report = ctx.record_batch(&mut enc, &buf, &items).unwrap();
    assert_eq!(report.dispatches, 1);
    assert!(
        ctx.read_buffer(&buf, 0, 1024)
            .unwrap()
            .iter()
            .all(|&b| b == CANARY),
        "nothing runs before submit"
    );
    ctx.queue().submit([enc.finish()]);
    let got = ctx.read_buffer(&buf, 0, 1024).unwrap();
    assert_same("recorded batch", &got, &single_fills(ctx, 1024, &items));
}

/// Which error a bad input must give.
type Check = fn(&Error) -> bool;

/// Every bad input is an error, whatever good items come with it, and the
/// buffer keeps every byte.
#[test]
fn bad_input_is_an_error_and_writes_nothing() {
    let ctx = ctx();
    let buf = buffer(ctx, 4096);
    let normal: Distribution = Normal::new(0.0, 1.0).unwrap().into();
    let item = |dtype, byte_offset, numel, view| BatchItem {
        dist: normal,
        dtype,
        key: TensorKey::new(1, 1, numel),
        view,
        byte_offset,
    };
    let good = item(DType::F32, 0, 100, ItemView::Range(0..100));
    let cases: Vec<(&str, BatchItem, Check)> = vec![
        (
            "misaligned f32 offset",
            item(DType::F32, 1002, 10, ItemView::Range(0..10)),
            |e| {
                matches!(e, Error::Unaligned { offset: 1002, argument, .. }
                    if argument.starts_with("items[") && argument.ends_with("].byte_offset"))
            },
        ),
        (
            "misaligned 16-bit offset",
            item(DType::BF16, 1001, 10, ItemView::Range(0..10)),
            |e| {
                matches!(e, Error::Unaligned { offset: 1001, argument, .. }
                    if argument.starts_with("items[") && argument.ends_with("].byte_offset"))
            },
        ),
        (
            "overlapping the good item",
            item(DType::F16, 398, 10, ItemView::Range(0..10)),
            |e| matches!(e, Error::InvalidChoice { name: "items", .. }),
        ),
        (
            "range past the tensor",
            item(DType::F32, 1000, 10, ItemView::Range(5..11)),
            |e| {
                matches!(
                    e,
                    Error::RangeOutOfBounds {
                        start: 5,
                        end: 11,
                        len: 10
                    }
                )
            },
        ),
        (
            "inverted range",
            item(
                DType::F32,
                1000,
                10,
                ItemView::Range(std::ops::Range { start: 6, end: 5 }),
            ),
            |e| matches!(e, Error::RangeOutOfBounds { .. }),
        ),
        (
            "past the buffer's end",
            item(DType::F32, 4000, 100, ItemView::Range(0..100)),
            |e| {
                matches!(
                    e,
                    Error::BufferTooSmall {
                        end: 4400,
                        size: 4096,
                        ..
                    }
                )
            },
        ),
        (
            "row length not dividing the tensor",
            item(
                DType::F32,
                1000,
                100,
                ItemView::Columns {
                    row_len: 7,
                    cols: 0..1,
                },
            ),
            |e| matches!(e, Error::InvalidShape { .. }),
        ),
        (
            "row length zero",
            item(
                DType::F32,
                1000,
                100,
                ItemView::Columns {
                    row_len: 0,
                    cols: 0..0,
                },
            ),
            |e| matches!(e, Error::InvalidShape { .. }),
        ),
        (
            "columns past the row",
            item(
                DType::F32,
                1000,
                100,
                ItemView::Columns {
                    row_len: 10,
                    cols: 5..11,
                },
            ),
            |e| matches!(e, Error::InvalidShape { .. }),
        ),
        (
            "column block wider than 2^31",
            item(
                DType::F32,
                1000,
                1 << 33,
                ItemView::Columns {
                    row_len: 1 << 32,
                    cols: 0..(1 << 31) + 1,
                },
            ),
            |e| matches!(e, Error::InvalidShape { .. }),
        ),
        (
            "unrepresentable in f16",
            BatchItem {
                dist: Normal::new(0.0, 1e5).unwrap().into(),
                ..item(DType::F16, 1000, 10, ItemView::Range(0..10))
            },
            |e| matches!(e, Error::Unrepresentable { .. }),
        ),
    ];
    for (what, bad, ok) in cases {
        for items in [
            vec![good.clone(), bad.clone()],
            vec![bad.clone(), good.clone()],
        ] {
            let e = ctx.fill_batch(&buf, &items).expect_err(what);
            assert!(ok(&e), "{what}: {e}");
            eprintln!("{what}: {e}");
        }
    }
    assert!(
        ctx.read_buffer(&buf, 0, 4096)
            .unwrap()
            .iter()
            .all(|&b| b == CANARY),
        "a failed batch wrote"
    );
    // A buffer without STORAGE usage.
    let plain = common::non_storage_buffer(ctx, 1024);
    let e = ctx
        .fill_batch(&plain, std::slice::from_ref(&good))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::BufferUsage {
                missing: "STORAGE",
                ..
            }
        ),
        "{e}"
    );
    // An empty batch, and empty items, record nothing and succeed.
    assert_eq!(ctx.fill_batch(&buf, &[]).unwrap(), BatchReport::default());
    let empty = item(DType::F32, 0, 10, ItemView::Range(3..3));
    assert_eq!(ctx.fill_batch(&buf, &[empty]).unwrap().dispatches, 0);
}
