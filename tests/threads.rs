//! CPU thread control: every `Threads` (a count, the caller's pool) gives
//! the bits of `Threads::all()`, at chunk edges and unaligned starts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use weight_init::cpu::{self, Pool, Threads};
#[cfg(feature = "model")]
use weight_init::model::{Param, ParamSet, Rules, WriteOptions};
use weight_init::{DType, Distribution, Error, Normal, TensorKey, TruncatedNormal, Uniform};

/// 3 * 2^15 + 7: three full chunks of the minimum size and a ragged end.
const N: u64 = 3 * (1 << 15) + 7;

/// Runs the tasks in reverse order, each on a thread of its own, and
/// counts the calls.
struct Reverse(AtomicUsize);

impl Pool for Reverse {
    fn run(&self, tasks: usize, task: &(dyn Fn(usize) + Sync)) {
        std::thread::scope(|s| {
            for i in (0..tasks).rev() {
                self.0.fetch_add(1, Ordering::Relaxed);
                s.spawn(move || task(i));
            }
        });
    }
}

/// Runs nothing: every chunk must then be run by the caller.
struct Lazy;

impl Pool for Lazy {
    fn run(&self, _: usize, _: &(dyn Fn(usize) + Sync)) {}
}

fn dists() -> Vec<(&'static str, Distribution)> {
    vec![
        ("uniform", Uniform::new(-0.5, 2.0).unwrap().into()),
        ("normal", Normal::new(0.1, 0.7).unwrap().into()),
        (
            "trunc_normal",
            TruncatedNormal::new(0.0, 1.0, -2.0, 2.0).unwrap().into(),
        ),
    ]
}

fn variants() -> Vec<(String, Threads)> {
    let mut v: Vec<(String, Threads)> = [1, 2, 3, 8]
        .into_iter()
        .map(|n| (format!("count({n})"), Threads::count(n).unwrap()))
        .collect();
    v.push((
        "reverse pool".into(),
        Threads::pool(Arc::new(Reverse(AtomicUsize::new(0)))),
    ));
    v.push(("lazy pool".into(), Threads::pool(Arc::new(Lazy))));
    v
}

fn bytes_of(
    dist: &Distribution,
    dtype: DType,
    range: std::ops::Range<u64>,
    t: &Threads,
) -> Vec<u8> {
    let key = TensorKey::new(0x5eed, 11, N);
    let mut out = vec![0xa5u8; (range.end - range.start) as usize * dtype.size_bytes()];
    cpu::fill_bytes_with(dist, dtype, &key, range, &mut out, t).unwrap();
    out
}

#[test]
fn fill_bytes_same_bits_for_every_thread_count_and_pool() {
    for (name, dist) in dists() {
        for dtype in [DType::F32, DType::F16, DType::BF16] {
            for range in [0..N, 5..N, 3..N - 2] {
                let all = bytes_of(&dist, dtype, range.clone(), &Threads::all());
                // The reference is the one-thread fill, which is itself
                // compared with the default.
                for (what, t) in variants() {
                    let got = bytes_of(&dist, dtype, range.clone(), &t);
                    assert!(
                        got == all,
                        "{name} {dtype} {range:?} with {what}: bytes differ from Threads::all()"
                    );
                }
            }
        }
    }
}

#[test]
fn fill_f32_and_u16_with_match_the_defaults() {
    let key = TensorKey::new(3, 4, N);
    for (name, dist) in dists() {
        let mut all = vec![0.0f32; (N - 5) as usize];
        cpu::fill_f32(&dist, &key, 5..N, &mut all).unwrap();
        for (what, t) in variants() {
            let mut got = vec![f32::NAN; (N - 5) as usize];
            cpu::fill_f32_with(&dist, &key, 5..N, &mut got, &t).unwrap();
            assert!(
                got.iter()
                    .map(|x| x.to_bits())
                    .eq(all.iter().map(|x| x.to_bits())),
                "{name} f32 with {what}"
            );
        }
        for dtype in [DType::F16, DType::BF16] {
            let mut all = vec![0u16; (N - 1) as usize];
            cpu::fill_u16(&dist, dtype, &key, 1..N, &mut all).unwrap();
            for (what, t) in variants() {
                let mut got = vec![0xffffu16; (N - 1) as usize];
                cpu::fill_u16_with(&dist, dtype, &key, 1..N, &mut got, &t).unwrap();
                assert_eq!(got, all, "{name} {dtype} with {what}");
            }
        }
    }
}

#[test]
fn the_pool_runs_the_chunks() {
    let pool = Arc::new(Reverse(AtomicUsize::new(0)));
    let t = Threads::pool(pool.clone());
    let dist: Distribution = Normal::new(0.0, 1.0).unwrap().into();
    let key = TensorKey::new(1, 1, N);
    let mut out = vec![0.0f32; N as usize];
    cpu::fill_f32_with(&dist, &key, 0..N, &mut out, &t).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores > 1 {
        assert!(
            pool.0.load(Ordering::Relaxed) > 1,
            "a fill of {N} elements on {cores} cores should run tasks on the pool"
        );
    }
    // A small fill stays on the calling thread.
    let before = pool.0.load(Ordering::Relaxed);
    let mut small = vec![0.0f32; 100];
    cpu::fill_f32_with(&dist, &key, 0..100, &mut small, &t).unwrap();
    assert_eq!(pool.0.load(Ordering::Relaxed), before);
}

#[test]
fn zero_threads_is_an_error() {
    let err = Threads::count(0).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidParameter {
                name: "threads",
                ..
            }
        ),
        "{err:?}"
    );
}

#[cfg(feature = "model")]
fn model() -> weight_init::model::ResolvedSet {
    let set = ParamSet::from_params([
        Param::new("emb.weight", vec![257, 400], DType::BF16)
            .with_init("normal(0, 0.02)".parse().unwrap()),
        Param::new("fc.weight", vec![300, 331], DType::F32)
            .with_init("kaiming_uniform(nonlinearity=relu)".parse().unwrap()),
        Param::new("fc2.weight", vec![99, 1000], DType::F16)
            .with_init("trunc_normal(std=0.02)".parse().unwrap()),
        Param::new("fc.bias", vec![300], DType::F32).with_init("zeros".parse().unwrap()),
    ])
    .unwrap();
    set.resolve(&Rules::default()).unwrap()
}

#[test]
#[cfg(feature = "model")]
fn model_fill_cpu_with_matches_fill_cpu() {
    let r = model();
    let all = r.fill_cpu(9, None).unwrap();
    for n in [1, 3] {
        let t = Threads::count(n).unwrap();
        assert_eq!(r.fill_cpu_with(9, None, &t).unwrap(), all, "{n} threads");
        for (i, (_, bytes)) in all.iter().enumerate() {
            assert_eq!(
                &r.fill_param_cpu_with(i, 9, None, &t).unwrap().1,
                bytes,
                "tensor {i} at {n} threads"
            );
        }
        let layout = r.arena_layout(None, 16).unwrap();
        let mut a = vec![0u8; layout.total_bytes as usize];
        let mut b = vec![0u8; layout.total_bytes as usize];
        r.fill_cpu_into(9, None, &layout, &mut a).unwrap();
        r.fill_cpu_into_with(9, None, &layout, &mut b, &t).unwrap();
        assert!(a == b, "fill_cpu_into at {n} threads");
    }
    let pool = Threads::pool(Arc::new(Reverse(AtomicUsize::new(0))));
    assert_eq!(
        r.fill_cpu_with(9, None, &pool).unwrap(),
        all,
        "reverse pool"
    );
}

#[test]
#[cfg(feature = "model")]
fn write_safetensors_opts_same_file_for_every_thread_count() {
    let r = model();
    let dir = std::env::temp_dir().join(format!("wi-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("all.safetensors");
    weight_init::model::write_safetensors(&a, &r, 4, None).unwrap();
    for n in [1, 3] {
        let b = dir.join(format!("t{n}.safetensors"));
        let opts = WriteOptions {
            threads: Threads::count(n).unwrap(),
            ..Default::default()
        };
        weight_init::model::write_safetensors_opts(&b, &r, 4, None, &opts).unwrap();
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{n} threads"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
