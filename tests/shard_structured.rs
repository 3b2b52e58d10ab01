//! Sharded structured inits (issue 12, item 4): for every structured
//! scheme (orthogonal, eye, identity, dirac, sparse, delta-orthogonal),
//! PyTorch and JAX layouts, f32 / bf16 / f16, sharded by rows and by
//! columns with world sizes 1, 2, 3 and 4, the ranks' shards put back
//! together equal the unsharded tensor bit for bit: on the CPU
//! (`fill_cpu`), and on every GPU adapter (`record_gpu` per rank against
//! the unsharded `record_gpu`, and that against the CPU).
//!
//! Every mismatch is collected (with the count of differing elements and
//! the largest distance in ULP) and reported together before the test
//! fails.

use weight_init::gpu::{GpuContext, GpuOptions};
use weight_init::model::{Param, ParamSet, ResolvedSet, Rules, Shard, ShardMode};
use weight_init::{DType, Layout};

mod common;

const WORLDS: [u64; 4] = [1, 2, 3, 4];
/// Every structured scheme, dimensions 0 and 1 multiples of 12 = lcm(1, 2,
/// 3, 4) so that every world size divides both sharded dimensions.
fn structured_set() -> ParamSet {
    use DType::{BF16, F16, F32};
    use Layout::{Jax, Torch};
    let cases: &[(&str, &[u64], DType, Layout, &str)] = &[
        ("orth.weight", &[36, 24], F32, Torch, "orthogonal"),
        (
            "orth_wide.weight",
            &[24, 36],
            BF16,
            Torch,
            "orthogonal(gain=2)",
        ),
        ("orth_conv.weight", &[24, 12, 3], F16, Torch, "orthogonal"),
        (
            "orth_jax.kernel",
            &[12, 12, 36],
            F32,
            Jax,
            "orthogonal(gain=0.5)",
        ),
        ("eye.weight", &[36, 24], F32, Torch, "eye"),
        ("eye_wide.weight", &[24, 36], BF16, Torch, "eye"),
        (
            "identity.weight",
            &[24, 36],
            F32,
            Torch,
            "identity(gain=0.5)",
        ),
        (
            "identity_tall.weight",
            &[36, 24],
            F16,
            Torch,
            "identity(gain=3)",
        ),
        ("dirac.weight", &[24, 12, 3, 3], F32, Torch, "dirac"),
        (
            "dirac_g2.weight",
            &[24, 12, 3],
            BF16,
            Torch,
            "dirac(groups=2)",
        ),
        (
            "dirac_3d.weight",
            &[12, 12, 3, 3, 3],
            F16,
            Torch,
            "dirac(groups=3)",
        ),
        ("dirac_jax.kernel", &[12, 12, 24], F32, Jax, "dirac"),
        ("sparse.weight", &[36, 24], F32, Torch, "sparse(0.25)"),
        (
            "sparse_wide.weight",
            &[24, 36],
            BF16,
            Torch,
            "sparse(sparsity=0.5, std=0.02)",
        ),
        (
            "sparse_jax.kernel",
            &[24, 36],
            F16,
            Jax,
            "sparse(0.1, std=2)",
        ),
        (
            "delta.weight",
            &[24, 12, 3, 3],
            F32,
            Torch,
            "delta_orthogonal",
        ),
        (
            "delta_1d.weight",
            &[24, 24, 3],
            BF16,
            Torch,
            "delta_orthogonal(gain=1.5)",
        ),
        (
            "delta_jax.kernel",
            &[12, 12, 24],
            F16,
            Jax,
            "delta_orthogonal",
        ),
    ];
    ParamSet::from_params(cases.iter().map(|&(name, shape, dtype, layout, init)| {
        Param::new(name, shape.to_vec(), dtype)
            .with_layout(layout)
            .with_init(init.parse().unwrap())
    }))
    .unwrap()
}

fn report(bad: &[String]) {
    common::assert_no_mismatch(bad, "comparisons are not bit-identical");
}

/// The whole set (one rank's shard) recorded by `record_gpu` into a
/// canary-filled arena, one submit; each tensor's bytes. Padding bytes
/// that changed are pushed to `bad`.
fn gpu_fill(
    ctx: &GpuContext,
    r: &ResolvedSet,
    seed: u64,
    shard: Option<&Shard>,
    bad: &mut Vec<String>,
) -> Vec<Vec<u8>> {
    let (tensors, written) = common::gpu_arena_fill(ctx, r, seed, shard);
    if written > 0 {
        bad.push(format!(
            "shard {shard:?}: {written} padding bytes of the arena were written"
        ));
    }
    tensors
}

#[test]
fn structured_shards_concatenate_to_unsharded_cpu() {
    let r = structured_set().resolve(&Rules::default()).unwrap();
    let seed = 0x5A4D_2024;
    let whole = r.fill_cpu(seed, None).unwrap();
    let mut bad = Vec::new();
    let mut checked = 0;
    for world in WORLDS {
        for mode in [ShardMode::Rows, ShardMode::Columns] {
            let shards = common::cpu_shard_parts(&r, seed, world, mode);
            for (i, p) in r.params().iter().enumerate() {
                let parts = &shards[i];
                let got = common::assemble(&p.shape, p.dtype, mode, parts);
                let what = format!("cpu {} ({}) world {world} {mode}", p.name, p.init);
                bad.extend(common::bit_difference(&what, p.dtype, &got, &whole[i].1));
                checked += 1;
            }
        }
    }
    eprintln!("{checked} CPU comparisons");
    report(&bad);
}

#[test]
fn structured_shards_concatenate_to_unsharded_gpu() {
    let r = structured_set().resolve(&Rules::default()).unwrap();
    let seed = 0x5A4D_2025;
    let cpu_whole = r.fill_cpu(seed, None).unwrap();
    let mut bad = Vec::new();
    let mut checked = 0;
    for (adapter, ctxs) in common::all_adapters(&[GpuOptions::default()]) {
        let ctx = &ctxs[0];
        let whole = gpu_fill(ctx, &r, seed, None, &mut bad);
        // The unsharded GPU tensors (the structured kernels) against the CPU.
        for (i, p) in r.params().iter().enumerate() {
            let what = format!("{adapter}: gpu vs cpu {} ({})", p.name, p.init);
            bad.extend(common::bit_difference(
                &what,
                p.dtype,
                &whole[i],
                &cpu_whole[i].1,
            ));
            checked += 1;
        }
        for world in WORLDS {
            for mode in [ShardMode::Rows, ShardMode::Columns] {
                let ranks: Vec<Vec<Vec<u8>>> = (0..world)
                    .map(|rank| {
                        let s = Shard::new(world, rank, mode).unwrap();
                        gpu_fill(ctx, &r, seed, Some(&s), &mut bad)
                    })
                    .collect();
                for (i, p) in r.params().iter().enumerate() {
                    let parts: Vec<Vec<u8>> = ranks.iter().map(|t| t[i].clone()).collect();
                    let got = common::assemble(&p.shape, p.dtype, mode, &parts);
                    let what = format!(
                        "{adapter}: gpu shards vs gpu whole {} ({}) world {world} {mode}",
                        p.name, p.init
                    );
                    bad.extend(common::bit_difference(&what, p.dtype, &got, &whole[i]));
                    checked += 1;
                }
            }
        }
    }
    eprintln!("{checked} GPU comparisons");
    report(&bad);
}
