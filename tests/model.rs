//! Whole-model init (`weight_init::model`): stream ids, rules and presets,
//! reproducibility under reordering, shards, the GPU arena path,
//! safetensors files, and bad input.

use std::collections::HashMap;
use std::path::Path;

use weight_init::model::{
    glob_match, infer_kind, read_safetensors_header, write_safetensors, write_safetensors_with,
    ArenaLayout, LayerKind, ModelSpec, Param, ParamSet, Preset, ResolvedSet, Rule, Rules, Shard,
    ShardMode, ARENA_ALIGN,
};
use weight_init::philox::name_stream;
use weight_init::stats::Moments;
use weight_init::{cpu, DType, Error, Init, Plan, TensorKey};

mod common;
use common::{gpu, temp_dir, values, CANARY};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn init(s: &str) -> Init {
    s.parse().unwrap()
}

fn dir_entries(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Runs the arena path on the GPU: one encoder, one submit; returns each
/// tensor's bytes, and the whole arena for canary checks.
fn gpu_fill(
    r: &ResolvedSet,
    seed: u64,
    shard: Option<&Shard>,
) -> (
    Vec<Vec<u8>>,
    Vec<u8>,
    ArenaLayout,
    weight_init::model::RecordStats,
) {
    let ctx = gpu();
    let layout = r.arena_layout(shard, ARENA_ALIGN).unwrap();
    let buffer = common::storage_buffer(ctx, layout.total_bytes, CANARY);
    let mut stats = None;
    ctx.submit_checked(|enc| {
        stats = Some(r.record_gpu(ctx, enc, &buffer, &layout, seed, shard)?);
        Ok(())
    })
    .unwrap();
    let arena = ctx.read_buffer(&buffer, 0, layout.total_bytes).unwrap();
    let tensors = layout
        .offsets
        .iter()
        .zip(&layout.sizes)
        .map(|(&o, &s)| arena[o as usize..(o + s) as usize].to_vec())
        .collect();
    (tensors, arena, layout, stats.unwrap())
}

/// Bytes of the arena outside every tensor are still the canary.
fn check_canaries(arena: &[u8], layout: &ArenaLayout) {
    let mut covered = vec![false; arena.len()];
    for (&o, &s) in layout.offsets.iter().zip(&layout.sizes) {
        for c in &mut covered[o as usize..(o + s) as usize] {
            *c = true;
        }
    }
    for (i, (&b, &c)) in arena.iter().zip(&covered).enumerate() {
        if !c {
            assert_eq!(b, CANARY, "arena byte {i} between tensors was written");
        }
    }
}

// ---------------------------------------------------------------------------
// Stream ids
// ---------------------------------------------------------------------------

/// FNV-1a 64, written from the published description
/// (http://www.isthe.com/chongo/tech/comp/fnv/).
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h = 14695981039346656037u64; // offset basis
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(1099511628211); // 2^40 + 2^8 + 0xb3
    }
    h
}

/// splitmix64's output function (Vigna, splitmix64.c).
fn splitmix64_mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

#[test]
fn name_stream_is_fnv1a_then_splitmix() {
    // Published FNV-1a 64 test vectors (the FNV test suite).
    assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
    assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    // splitmix64 seeded with 0: its first output is mix(0x9e3779b97f4a7c15).
    assert_eq!(splitmix64_mix(0x9e3779b97f4a7c15), 0xe220a8397b1dcdaf);
    for name in [
        "",
        "a",
        "foobar",
        "transformer.h.0.attn.c_attn.weight",
        "model.layers.31.mlp.down_proj.weight",
        "dense/kernel:0",
        "émbeddings.поз",
    ] {
        assert_eq!(
            name_stream(name),
            splitmix64_mix(fnv1a64(name.as_bytes())),
            "{name}"
        );
    }
    // Distinct over a model's worth of similar names.
    let mut seen = std::collections::HashSet::new();
    for l in 0..200 {
        for leaf in [
            "attn.c_attn.weight",
            "attn.c_attn.bias",
            "mlp.c_fc.weight",
            "ln_1.weight",
        ] {
            assert!(seen.insert(name_stream(&format!("h.{l}.{leaf}"))));
        }
    }
}

// ---------------------------------------------------------------------------
// Rules, kinds
// ---------------------------------------------------------------------------

#[test]
fn globs_and_rule_order() {
    assert!(glob_match("*", "anything.at.all"));
    assert!(glob_match("*.weight", "a.b.weight"));
    assert!(!glob_match("*.weight", "a.b.weight2"));
    assert!(glob_match("*c_proj.weight", "h.0.attn.c_proj.weight"));
    assert!(glob_match("a*b*c", "aXXbYYbZc"));
    assert!(!glob_match("a*b*c", "aXXbYYbZ"));
    assert!(glob_match("h.?.x", "h.7.x"));
    assert!(!glob_match("h.?.x", "h..x.x"));
    assert!(!glob_match("", "a"));
    assert!(glob_match("", ""));

    let rules = Rules::new(vec![
        Rule::new("*.bias", init("zeros")),
        Rule::new("*", init("ones")).with_kind(LayerKind::Norm),
        Rule::new("*", init("normal(0, 0.5)")).with_rank(">=3".parse().unwrap()),
        Rule::new("*", init("normal(0, 0.02)")),
    ]);
    let find = |n: &str, k, r| rules.find(n, k, r).unwrap().to_string();
    assert_eq!(find("ln.bias", Some(LayerKind::Norm), 1), "zeros"); // first wins
    assert_eq!(find("ln.weight", Some(LayerKind::Norm), 1), "ones");
    assert_eq!(
        find("c.weight", Some(LayerKind::Conv), 4),
        "normal(mean=0, std=0.5)"
    );
    assert_eq!(
        find("fc.weight", Some(LayerKind::Linear), 2),
        "normal(mean=0, std=0.02)"
    );
}

#[test]
fn kinds_from_names() {
    let set = ParamSet::from_params([
        Param::new("fc.weight", vec![8, 4], DType::F32),
        Param::new("fc.bias", vec![8], DType::F32),
        Param::new("emb.weight", vec![100, 8], DType::F32).with_kind(LayerKind::Embedding),
        Param::new("emb.bias", vec![8], DType::F32),
        Param::new("Dense_0/kernel", vec![4, 8], DType::F32),
        Param::new("Dense_0/bias", vec![8], DType::F32),
    ])
    .unwrap();
    let k = |n: &str, s: &[u64]| infer_kind(n, s, &set);
    use LayerKind::*;
    assert_eq!(k("fc.bias", &[8]), Some(Linear));
    assert_eq!(k("emb.bias", &[8]), Some(Embedding)); // the weight's explicit kind
    assert_eq!(k("Dense_0/bias", &[8]), Some(Linear));
    assert_eq!(k("h.0.ln_1.weight", &[768]), Some(Norm));
    assert_eq!(k("h.0.ln_1.bias", &[768]), Some(Norm));
    assert_eq!(k("transformer.ln_f.weight", &[768]), Some(Norm));
    assert_eq!(k("bert.embeddings.LayerNorm.weight", &[768]), Some(Norm));
    assert_eq!(
        k("bert.embeddings.word_embeddings.weight", &[30522, 768]),
        Some(Embedding)
    );
    assert_eq!(k("transformer.wpe.weight", &[1024, 768]), Some(Embedding));
    assert_eq!(
        k("model.embed_tokens.weight", &[32000, 4096]),
        Some(Embedding)
    );
    assert_eq!(k("model.norm.weight", &[4096]), Some(Norm));
    assert_eq!(k("layer1.0.bn1.weight", &[64]), Some(Norm));
    assert_eq!(k("LayerNorm_0/scale", &[64]), Some(Norm));
    assert_eq!(k("conv1.weight", &[64, 3, 7, 7]), Some(Conv));
    assert_eq!(k("lm_head.weight", &[50257, 768]), Some(Linear));
    assert_eq!(k("tok_emb.weight", &[50257, 768]), Some(Embedding));
    assert_eq!(k("member.weight", &[8, 8]), Some(Linear));
    assert_eq!(k("orphan.bias", &[8]), None);
    assert_eq!(k("logit_scale", &[]), None);
}

// ---------------------------------------------------------------------------
// Test 1: 1000 small parameters in one encoder equal each alone
// ---------------------------------------------------------------------------

fn thousand_params() -> ParamSet {
    let schemes = [
        "normal(0, 0.02)",
        "uniform(-0.5, 0.5)",
        "trunc_normal(std=0.02, a=-0.04, b=0.04)",
        "kaiming_uniform(nonlinearity=relu)",
        "xavier_normal",
        "zeros",
        "ones",
        "constant(0.25)",
    ];
    let dtypes = [DType::F32, DType::BF16, DType::F16];
    let mut set = ParamSet::new();
    for i in 0..1000u64 {
        let shape = match i % 4 {
            0 => vec![1 + i % 13, 3 + i % 7],
            1 => vec![2 + i % 5, 2, 3],
            2 => vec![4 + i % 3, 5],
            _ => vec![7, 1 + i % 9],
        };
        let mut p = Param::new(format!("block.{i}.w"), shape, dtypes[(i % 3) as usize])
            .with_init(init(schemes[(i % 8) as usize]));
        if i == 10 {
            p = Param::new("block.10.lstm.bias", vec![4 * 6], DType::F32)
                .with_init(init("lstm_forget_bias(forget=1)"));
        }
        if i == 11 {
            p = Param::new("block.11.head.bias", vec![3], DType::BF16)
                .with_init(init("class_prior_bias(priors=[0.5, 0.25, 0.25])"));
        }
        if i == 12 {
            p = Param::new("block.12.rnn.weight", vec![6, 9], DType::F32)
                .with_init(init("orthogonal"));
        }
        set.push(p).unwrap();
    }
    set
}

#[test]
fn thousand_params_gpu_equal_each_alone() {
    let set = thousand_params();
    let r = set.resolve(&Rules::default()).unwrap();
    let seed = 0xabcdef;
    let (tensors, arena, layout, stats) = gpu_fill(&r, seed, None);
    assert!(layout.offsets.iter().all(|o| o % ARENA_ALIGN == 0));
    check_canaries(&arena, &layout);
    // Every elementwise run (997 plain tensors + 4 LSTM gates + the odd
    // last bf16 element of the 3 class priors) in one batch: a handful of
    // dispatches (4 distribution kernels x 2 phases at most: the arena's
    // tensors never share a 32-bit word, so 1 phase), and two uploads: the
    // class prior and the orthogonal tensor (its QR runs when the jobs are
    // built, so no structured call is recorded).
    assert_eq!(stats.batch_items, 997 + 4 + 1);
    println!("1000 parameters: {stats:?}");
    assert!(stats.dispatches <= 4, "{stats:?}");
    assert_eq!(stats.structured_calls, 0);
    assert_eq!(stats.uploads, 2);

    let ctx = gpu();
    for (i, p) in r.params().iter().enumerate() {
        let n: u64 = p.shape.iter().product();
        let alone = match &p.plan {
            // Alone, through the GPU backend's own single-tensor call.
            Plan::Sample(dist) => {
                let bytes = n * p.dtype.size_bytes() as u64;
                let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
                    label: None,
                    size: bytes.next_multiple_of(4),
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                });
                let key = TensorKey::new(seed, name_stream(&p.name), n);
                ctx.fill(&buf, 0, dist, p.dtype, &key, 0..n).unwrap();
                ctx.read_buffer(&buf, 0, bytes).unwrap()
            }
            // Alone, as a set of one.
            _ => {
                let one = ParamSet::from_params([set.params()[i].clone()]).unwrap();
                let one = one.resolve(&Rules::default()).unwrap();
                gpu_fill(&one, seed, None).0.remove(0)
            }
        };
        assert_eq!(tensors[i], alone, "{}", p.name);
    }

    // The CPU path gives each alone too (cpu::fill_bytes with the name's
    // stream), bit for bit.
    let cpu_all = r.fill_cpu(seed, None).unwrap();
    for (p, (name, bytes)) in r.params().iter().zip(&cpu_all) {
        assert_eq!(&p.name, name);
        if let Plan::Sample(dist) = &p.plan {
            let n: u64 = p.shape.iter().product();
            let mut alone = vec![0u8; (n * p.dtype.size_bytes() as u64) as usize];
            let key = TensorKey::new(seed, name_stream(name), n);
            cpu::fill_bytes(dist, p.dtype, &key, 0..n, &mut alone).unwrap();
            assert_eq!(bytes, &alone, "{name}");
        }
    }
}

// ---------------------------------------------------------------------------
// Test 2: reordering or adding parameters changes no other parameter
// ---------------------------------------------------------------------------

#[test]
fn reorder_and_add_leave_others_bit_identical() {
    let base = [
        Param::new("a.weight", vec![32, 16], DType::F32),
        Param::new("a.bias", vec![32], DType::F32),
        Param::new("b.weight", vec![16, 32], DType::BF16),
        Param::new("b.bias", vec![16], DType::BF16),
        Param::new("norm.weight", vec![16], DType::F32),
        Param::new("rnn.weight", vec![16, 24], DType::F32).with_init(init("orthogonal")),
        Param::new("s.weight", vec![16, 24], DType::F32).with_init(init("sparse(0.5)")),
        Param::new("custom", vec![100], DType::F16)
            .with_init(init("normal(0, 1)"))
            .with_stream(5),
    ];
    let set1 = ParamSet::from_params(base.clone()).unwrap();
    let mut reordered: Vec<Param> = base.iter().rev().cloned().collect();
    reordered.insert(3, Param::new("new.weight", vec![64, 64], DType::F32));
    reordered.push(Param::new("new.bias", vec![64], DType::F32));
    let set2 = ParamSet::from_params(reordered).unwrap();
    let seed = 77;
    let fill = |set: &ParamSet| -> HashMap<String, Vec<u8>> {
        let rules = Preset::TorchDefaults.rules(set).unwrap();
        set.resolve(&rules)
            .unwrap()
            .fill_cpu(seed, None)
            .unwrap()
            .into_iter()
            .collect()
    };
    let (m1, m2) = (fill(&set1), fill(&set2));
    assert_eq!(m2.len(), m1.len() + 2);
    for (name, bytes) in &m1 {
        assert_eq!(&m2[name], bytes, "{name} changed");
    }
    // And GPU agrees with itself across the two sets.
    let gpu_map = |set: &ParamSet| -> HashMap<String, Vec<u8>> {
        let r = set
            .resolve(&Preset::TorchDefaults.rules(set).unwrap())
            .unwrap();
        let (t, ..) = gpu_fill(&r, seed, None);
        r.params().iter().map(|p| p.name.clone()).zip(t).collect()
    };
    let (g1, g2) = (gpu_map(&set1), gpu_map(&set2));
    for (name, bytes) in &g1 {
        assert_eq!(&g2[name], bytes, "{name} changed on the GPU");
    }
}

// ---------------------------------------------------------------------------
// Test 3: concatenated shards equal the unsharded init
// ---------------------------------------------------------------------------

/// Dimensions 0 and 1 are multiples of 24 = lcm(1, 2, 3, 4, 8).
fn shard_set(with_sparse: bool) -> ParamSet {
    let mut v = vec![
        Param::new("fc.weight", vec![48, 24], DType::F32).with_init(init("normal(0, 0.02)")),
        Param::new("fc.bias", vec![48], DType::F32).with_init(init("uniform(-0.1, 0.1)")),
        Param::new("proj.weight", vec![24, 72], DType::BF16).with_init(init("xavier_uniform")),
        Param::new("conv.weight", vec![24, 48, 3], DType::F16)
            .with_init(init("kaiming_normal(nonlinearity=relu)")),
        Param::new("lstm.bias", vec![96], DType::BF16).with_init(init("lstm_forget_bias")),
        Param::new("head.bias", vec![24], DType::F32).with_init(init(&format!(
            "class_prior_bias(priors=[{}])",
            (1..=24)
                .map(|k| format!("{}", k as f64 / 300.0))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        Param::new("rnn.weight", vec![48, 24], DType::F32).with_init(init("orthogonal(gain=2)")),
        Param::new("rnn2.weight", vec![24, 24, 2], DType::BF16).with_init(init("orthogonal")),
        Param::new("id.weight", vec![24, 48], DType::F32).with_init(init("eye")),
        Param::new("trunc.weight", vec![24, 24], DType::BF16)
            .with_init(init("trunc_normal(std=1, a=-2, b=2)")),
    ];
    if with_sparse {
        v.push(Param::new("sp.weight", vec![48, 24], DType::F32).with_init(init("sparse(0.25)")));
    }
    ParamSet::from_params(v).unwrap()
}

#[test]
fn shards_concatenate_to_unsharded_cpu() {
    let set = shard_set(true);
    let r = set.resolve(&Rules::default()).unwrap();
    let seed = 2024;
    let whole = r.fill_cpu(seed, None).unwrap();
    for world in [1u64, 2, 3, 4, 8] {
        for mode in [ShardMode::Rows, ShardMode::Columns] {
            let shards = common::cpu_shard_parts(&r, seed, world, mode);
            for (i, p) in r.params().iter().enumerate() {
                let parts = &shards[i];
                assert!(parts
                    .iter()
                    .all(|x| x.len() == whole[i].1.len() / world as usize));
                let got = common::assemble(&p.shape, p.dtype, mode, parts);
                assert_eq!(got, whole[i].1, "{} world {world} {mode}", p.name);
            }
        }
    }
}

#[test]
fn shards_concatenate_to_unsharded_gpu() {
    // Sparse included: its GPU kernel equals the CPU, which computes
    // sharded structured tensors.
    let set = shard_set(true);
    let r = set.resolve(&Rules::default()).unwrap();
    let seed = 99;
    let (whole, arena, layout, _) = gpu_fill(&r, seed, None);
    check_canaries(&arena, &layout);
    for world in [1u64, 2, 3, 4, 8] {
        for mode in [ShardMode::Rows, ShardMode::Columns] {
            let ranks: Vec<Vec<Vec<u8>>> = (0..world)
                .map(|rank| {
                    let s = Shard::new(world, rank, mode).unwrap();
                    let (t, arena, layout, stats) = gpu_fill(&r, seed, Some(&s));
                    check_canaries(&arena, &layout);
                    // A column shard of an elementwise tensor is one strided
                    // batch item, not one item per row (which would be over
                    // 100 here): 4 such tensors, fc.bias, up to 4 LSTM gates,
                    // at most one odd 16-bit upload tail.
                    assert!(stats.batch_items <= 10, "world {world} {mode}: {stats:?}");
                    t
                })
                .collect();
            for (i, p) in r.params().iter().enumerate() {
                let parts: Vec<Vec<u8>> = ranks.iter().map(|t| t[i].clone()).collect();
                let got = common::assemble(&p.shape, p.dtype, mode, &parts);
                assert_eq!(got, whole[i], "{} world {world} {mode}", p.name);
            }
        }
    }
}

#[test]
#[allow(clippy::single_range_in_vec_init)] // lists of runs
fn shard_shapes_and_errors() {
    let s = Shard::new(4, 3, ShardMode::Columns).unwrap();
    let (shape, runs) = s.runs(&[2, 8, 3]).unwrap();
    assert_eq!(shape, vec![2, 2, 3]);
    assert_eq!(runs, vec![18..24, 42..48]);
    let (shape, runs) = Shard::new(4, 3, ShardMode::Rows)
        .unwrap()
        .runs(&[8, 3])
        .unwrap();
    assert_eq!((shape, runs), (vec![2, 3], vec![18..24]));
    // 1-D under column mode: split as rows.
    let (shape, runs) = s.runs(&[8]).unwrap();
    assert_eq!((shape, runs), (vec![2], vec![6..8]));

    assert!(matches!(
        Shard::new(0, 0, ShardMode::Rows),
        Err(Error::InvalidShard { .. })
    ));
    let e = Shard::new(8, 8, ShardMode::Rows).unwrap_err();
    assert!(
        e.to_string()
            .contains("rank 8 is out of range for world size 8"),
        "{e}"
    );
    // World 3 does not divide dimension 1 (= 20) or dimension 0 (= 10).
    let set = ParamSet::from_params([
        Param::new("w", vec![24, 20], DType::F32).with_init(init("zeros")),
        Param::new("v", vec![10], DType::F32).with_init(init("zeros")),
    ])
    .unwrap();
    let r = set.resolve(&Rules::default()).unwrap();
    let cols = Shard::new(3, 0, ShardMode::Columns).unwrap();
    let e = r.fill_cpu(0, Some(&cols)).unwrap_err();
    assert!(
        e.to_string().contains("parameter `w`")
            && e.to_string().contains("does not divide dimension 1"),
        "{e}"
    );
    let rows = Shard::new(3, 1, ShardMode::Rows).unwrap();
    let e = r.fill_cpu(0, Some(&rows)).unwrap_err();
    assert!(e.to_string().contains("parameter `v`"), "{e}");
    assert!(r.arena_layout(Some(&rows), ARENA_ALIGN).is_err());
    let dir = temp_dir("nodiv");
    let out = dir.join("x.safetensors");
    assert!(write_safetensors(&out, &r, 0, Some(&rows)).is_err());
    assert!(dir_entries(&dir).is_empty(), "left {:?}", dir_entries(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// Test 4: JSON -> safetensors -> read back; re-init from a header
// ---------------------------------------------------------------------------

const SPEC: &str = r#"{
  "seed": 31337,
  "preset": "gpt2",
  "rules": [{"pattern": "*.attn.c_attn.weight", "kind": "linear", "rank": 2, "init": "xavier_uniform"}],
  "params": [
    {"name": "transformer.wte.weight", "shape": [512, 64], "dtype": "bf16"},
    {"name": "transformer.wpe.weight", "shape": [128, 64], "dtype": "bf16"},
    {"name": "transformer.h.0.ln_1.weight", "shape": [64]},
    {"name": "transformer.h.0.ln_1.bias", "shape": [64]},
    {"name": "transformer.h.0.attn.c_attn.weight", "shape": [64, 192], "dtype": "f16", "layout": "jax"},
    {"name": "transformer.h.0.attn.c_attn.bias", "shape": [192]},
    {"name": "transformer.h.0.attn.c_proj.weight", "shape": [64, 64]},
    {"name": "transformer.h.1.mlp.c_proj.weight", "shape": [256, 64], "dtype": "bf16"},
    {"name": "rnn.weight", "shape": [32, 64], "init": "orthogonal", "stream": 12},
    {"name": "head.bias", "shape": [3], "init": {"scheme": "class_prior_bias", "priors": [0.2, 0.3, 0.5], "activation": "softmax"}},
    {"name": "big.weight", "shape": [4500, 1024], "init": "normal(0, 1)"}
  ]
}"#;

#[test]
fn json_to_safetensors_and_back() {
    let spec = ModelSpec::from_json(SPEC, "spec").unwrap();
    let set = spec.param_set().unwrap();
    let rules = spec.rules(&set).unwrap();
    let r = set.resolve(&rules).unwrap();
    // Rules first, then the preset (n_layers inferred: h.0, h.1 -> 2).
    let by_name: HashMap<&str, &Init> = r
        .params()
        .iter()
        .map(|p| (p.name.as_str(), &p.init))
        .collect();
    assert_eq!(
        by_name["transformer.h.0.attn.c_attn.weight"].name(),
        "xavier_uniform"
    );
    assert_eq!(
        by_name["transformer.h.0.attn.c_proj.weight"].to_string(),
        "gpt2_residual(n_layers=2, std=0.02)"
    );
    let seed = spec.seed.unwrap();
    let expected = r.fill_cpu(seed, None).unwrap();

    let dir = temp_dir("roundtrip");
    let path = dir.join("model.safetensors");
    write_safetensors(&path, &r, seed, None).unwrap();
    assert_eq!(dir_entries(&dir), vec!["model.safetensors"]);
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.len(), spec.params.len());
    for (p, (name, want)) in spec.params.iter().zip(&expected) {
        let t = st.tensor(name).unwrap();
        let shape: Vec<usize> = p.shape.iter().map(|&d| d as usize).collect();
        assert_eq!(t.shape(), &shape[..], "{name}");
        let dt = match p.dtype {
            DType::F32 => safetensors::Dtype::F32,
            DType::F16 => safetensors::Dtype::F16,
            DType::BF16 => safetensors::Dtype::BF16,
            other => panic!("no safetensors dtype for {other}"),
        };
        assert_eq!(t.dtype(), dt, "{name}");
        assert_eq!(t.data(), &want[..], "{name}");
    }
    // The big tensor (18 MB) passed the 16 MiB streaming chunk.
    const { assert!(4500 * 1024 * 4 > weight_init::model::WRITE_CHUNK_BYTES) };
    // Values sanity: the class priors are ln p.
    let head = values(st.tensor("head.bias").unwrap().data(), DType::F32);
    for (h, p) in head.iter().zip([0.2f32, 0.3, 0.5]) {
        assert!((h - p.ln()).abs() < 1e-6);
    }

    // Re-init from the header: names, shapes, dtypes in file order.
    let again = read_safetensors_header(&path).unwrap();
    assert_eq!(again.len(), set.len());
    for (a, b) in again.params().iter().zip(set.params()) {
        assert_eq!((&a.name, &a.shape, a.dtype), (&b.name, &b.shape, b.dtype));
    }
    // Same names, same rules (+ the explicit inits) -> same values.
    let again = ParamSet::from_params(again.params().iter().cloned().zip(set.params()).map(
        |(mut a, b)| {
            a.init = b.init.clone();
            a.layout = b.layout;
            a.stream = b.stream;
            a
        },
    ))
    .unwrap();
    let r2 = again.resolve(&rules).unwrap();
    assert_eq!(r2.fill_cpu(seed, None).unwrap(), expected);

    // A sharded file holds the shard shapes and bytes.
    let shard = Shard::new(2, 1, ShardMode::Rows).unwrap();
    let small: ParamSet = ParamSet::from_params(
        set.params()
            .iter()
            .filter(|p| p.name != "head.bias")
            .cloned(),
    )
    .unwrap();
    let rs = small.resolve(&rules).unwrap();
    let spath = dir.join("rank1.safetensors");
    write_safetensors(&spath, &rs, seed, Some(&shard)).unwrap();
    let bytes = std::fs::read(&spath).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let want = rs.fill_cpu(seed, Some(&shard)).unwrap();
    for (p, (name, w)) in rs.params().iter().zip(&want) {
        let t = st.tensor(name).unwrap();
        assert_eq!(t.shape()[0] as u64, p.shape[0] / 2, "{name}");
        assert_eq!(t.data(), &w[..], "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The header JSON of a safetensors file (its length prefix checked: a
/// multiple of 8, as the format's data alignment needs), and the header
/// with its space padding removed.
fn header_of(bytes: &[u8]) -> (String, String) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0, "header length {n} is not a multiple of 8");
    let text = std::str::from_utf8(&bytes[8..8 + n]).unwrap().to_string();
    let trimmed = text.trim_end_matches(' ').to_string();
    assert!(text.len() - trimmed.len() < 8, "more padding than needed");
    (text, trimmed)
}

#[test]
fn same_set_same_seed_same_bytes() {
    // Set order is not name order: tensors follow the set, metadata keys
    // are sorted.
    let set = ParamSet::from_params([
        Param::new("z.weight", vec![4, 4], DType::F32).with_init(init("normal(0, 0.02)")),
        Param::new("a.bias", vec![8], DType::BF16).with_init(init("zeros")),
        Param::new("m.\"odd\"\tname", vec![2, 3], DType::F16).with_init(init("uniform(-1, 1)")),
    ])
    .unwrap();
    let r = set.resolve(&Rules::default()).unwrap();
    let dir = temp_dir("same-bytes");
    let (one, two) = (dir.join("one.safetensors"), dir.join("two.safetensors"));
    write_safetensors(&one, &r, 1, None).unwrap();
    write_safetensors(&two, &r, 1, None).unwrap();
    let (a, b) = (std::fs::read(&one).unwrap(), std::fs::read(&two).unwrap());
    assert_eq!(a, b, "two writes of the same set and seed differ");

    // The documented header, exactly: `__metadata__` first with its keys
    // sorted, then the tensors in the set's order, no whitespace.
    let (_, header) = header_of(&a);
    let want = concat!(
        r#"{"__metadata__":{"format":"pt","#,
        r#""weight_init.init.a.bias":"zeros","#,
        r#""weight_init.init.m.\"odd\"\tname":"uniform(low=-1, high=1)","#,
        r#""weight_init.init.z.weight":"normal(mean=0, std=0.02)","#,
        r#""weight_init.seed":"1"},"#,
        r#""z.weight":{"dtype":"F32","shape":[4,4],"data_offsets":[0,64]},"#,
        r#""a.bias":{"dtype":"BF16","shape":[8],"data_offsets":[64,80]},"#,
        r#""m.\"odd\"\tname":{"dtype":"F16","shape":[2,3],"data_offsets":[80,92]}}"#,
    );
    assert_eq!(header, want);

    // The safetensors crate reads it back: names, shapes, dtypes, data,
    // metadata.
    let st = safetensors::SafeTensors::deserialize(&a).unwrap();
    let expected = r.fill_cpu(1, None).unwrap();
    for (name, bytes) in &expected {
        assert_eq!(st.tensor(name).unwrap().data(), &bytes[..], "{name}");
    }
    let (_, meta) = safetensors::SafeTensors::read_metadata(&a).unwrap();
    assert_eq!(
        meta.offset_keys(),
        ["z.weight", "a.bias", "m.\"odd\"\tname"]
    );
    let m = meta.metadata().as_ref().unwrap();
    assert_eq!(m.len(), 5);
    assert_eq!(m["weight_init.seed"], "1");
    assert_eq!(m["format"], "pt");

    // A shard's file too; and another seed changes only the seed entry and
    // the data.
    let rows = Shard::new(2, 0, ShardMode::Rows).unwrap();
    let small = ParamSet::from_params([
        Param::new("w", vec![6, 4], DType::F32).with_init(init("normal(0, 1)"))
    ])
    .unwrap();
    let rs = small.resolve(&Rules::default()).unwrap();
    write_safetensors(&one, &rs, 9, Some(&rows)).unwrap();
    write_safetensors(&two, &rs, 9, Some(&rows)).unwrap();
    let (a, b) = (std::fs::read(&one).unwrap(), std::fs::read(&two).unwrap());
    assert_eq!(a, b);
    let (_, header) = header_of(&a);
    assert_eq!(
        header,
        concat!(
            r#"{"__metadata__":{"format":"pt","weight_init.init.w":"normal(mean=0, std=1)","#,
            r#""weight_init.seed":"9","weight_init.shard":"rows 0/2"},"#,
            r#""w":{"dtype":"F32","shape":[3,4],"data_offsets":[0,48]}}"#
        )
    );
    assert_eq!(
        dir_entries(&dir),
        vec!["one.safetensors", "two.safetensors"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn write_with_builds_the_header_in_its_documented_order() {
    let dir = temp_dir("with-order");
    let path = dir.join("m.safetensors");
    let tensors = vec![
        ("b".to_string(), DType::F32, vec![3]),
        ("a".to_string(), DType::BF16, vec![1]),
    ];
    let data = |i: usize, emit: &mut dyn FnMut(&[u8]) -> weight_init::Result<()>| {
        emit(&vec![i as u8 + 1; [12, 2][i]])
    };
    // Metadata inserted in different orders: the same file.
    let keys = ["zeta", "alpha", "mid", "Upper", "_under"];
    let mut files = Vec::new();
    for rev in [false, true] {
        let mut meta = std::collections::BTreeMap::new();
        let mut ks = keys.to_vec();
        if rev {
            ks.reverse();
        }
        for k in ks {
            meta.insert(k.to_string(), format!("v-{k}"));
        }
        write_safetensors_with(&path, &tensors, Some(meta), data).unwrap();
        files.push(std::fs::read(&path).unwrap());
    }
    assert_eq!(files[0], files[1]);
    let (padded, header) = header_of(&files[0]);
    assert_eq!(
        header,
        concat!(
            r#"{"__metadata__":{"Upper":"v-Upper","_under":"v-_under","alpha":"v-alpha","#,
            r#""mid":"v-mid","zeta":"v-zeta"},"#,
            r#""b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"#,
            r#""a":{"dtype":"BF16","shape":[1],"data_offsets":[12,14]}}"#
        )
    );
    assert_eq!(files[0].len(), 8 + padded.len() + 14);
    let mut payload = vec![1u8; 12];
    payload.extend([2, 2]);
    assert_eq!(&files[0][8 + padded.len()..], &payload[..]);
    let st = safetensors::SafeTensors::deserialize(&files[0]).unwrap();
    assert_eq!(st.tensor("a").unwrap().data(), &[2, 2]);

    // No metadata: no `__metadata__` entry; an empty map: an empty one.
    write_safetensors_with(&path, &tensors, None, data).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(header_of(&bytes).1.starts_with(r#"{"b":{"#));
    safetensors::SafeTensors::deserialize(&bytes).unwrap();
    write_safetensors_with(&path, &tensors, Some(Default::default()), data).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(header_of(&bytes)
        .1
        .starts_with(r#"{"__metadata__":{},"b":{"#));
    safetensors::SafeTensors::deserialize(&bytes).unwrap();
    // No tensors at all.
    write_safetensors_with(&path, &[], None, data).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(header_of(&bytes).1, "{}");
    assert_eq!(
        safetensors::SafeTensors::deserialize(&bytes).unwrap().len(),
        0
    );

    // A repeated name, or one the format reserves: refused before any
    // file is created, and the old file stays.
    std::fs::remove_file(&path).unwrap();
    let dup = vec![
        ("a".to_string(), DType::F32, vec![1]),
        ("a".to_string(), DType::F32, vec![1]),
    ];
    let e = write_safetensors_with(&path, &dup, None, |_, emit| emit(&[0; 4])).unwrap_err();
    assert_eq!(e, Error::DuplicateParam { name: "a".into() });
    let reserved = vec![("__metadata__".to_string(), DType::F32, vec![1])];
    let e = write_safetensors_with(&path, &reserved, None, |_, emit| emit(&[0; 4])).unwrap_err();
    assert!(e.to_string().contains("`__metadata__` is reserved"), "{e}");
    assert!(dir_entries(&dir).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// Test 5: presets give the formula std per parameter
// ---------------------------------------------------------------------------

/// Checks every parameter's std against `want(name)` within 1%, and the
/// constant ones exactly. The parameters have >= 262144 elements, where the
/// sample std's relative standard error is at most sqrt(2 / 4n) = 0.14%
/// (normal; uniform: sqrt(0.8 / 4n) = 0.09%): a 1% miss is a > 7 sigma
/// event (two-sided p < 1e-12), so the test fails only on a wrong formula.
fn check_stds(
    r: &ResolvedSet,
    want: &dyn Fn(&str) -> Option<f64>,
    consts: &[(&str, f32)],
    skip: &[&str],
) {
    let all = r.fill_cpu(12345, None).unwrap();
    for (p, (name, bytes)) in r.params().iter().zip(&all) {
        if skip.contains(&name.as_str()) {
            continue;
        }
        let x = values(bytes, p.dtype);
        if let Some(&(_, c)) = consts.iter().find(|(n, _)| n == name) {
            assert!(x.iter().all(|&v| v == c), "{name} should be all {c}");
            continue;
        }
        let w = want(name).unwrap_or_else(|| panic!("no expected std for {name}"));
        assert!(x.len() >= 262144, "{name} too small for a 1% check");
        let Moments {
            mean: m, std: s, ..
        } = Moments::of(&x);
        assert!((s / w - 1.0).abs() < 0.01, "{name}: std {s}, formula {w}");
        assert!(
            m.abs() < 5.0 * w / (x.len() as f64).sqrt() + 1e-9,
            "{name}: mean {m}"
        );
    }
}

#[test]
fn torch_defaults_std() {
    let set = ParamSet::from_params([
        Param::new("fc.weight", vec![1024, 512], DType::F32),
        Param::new("fc.bias", vec![1024], DType::F32),
        Param::new("wide.weight", vec![262144, 9], DType::F32),
        Param::new("wide.bias", vec![262144], DType::F32),
        Param::new("conv.weight", vec![512, 64, 3, 3], DType::BF16),
        Param::new("emb.weight", vec![8192, 64], DType::F32),
        Param::new("ln.weight", vec![4096], DType::F32),
        Param::new("ln.bias", vec![4096], DType::F32),
    ])
    .unwrap();
    let r = set
        .resolve(&Preset::TorchDefaults.rules(&set).unwrap())
        .unwrap();
    // PyTorch: kaiming_uniform_(a=sqrt(5)) -> gain sqrt(2/(1+5)), bound
    // gain*sqrt(3/fan_in) = 1/sqrt(fan_in); bias U(+-1/sqrt(fan_in)).
    // Uniform(-b, b) has std b/sqrt(3).
    let u = |fan_in: f64| 1.0 / fan_in.sqrt() / 3f64.sqrt();
    let want = |n: &str| match n {
        "fc.weight" => Some(u(512.0)),
        "wide.weight" | "wide.bias" => Some(u(9.0)),
        "conv.weight" => Some(u(64.0 * 9.0)),
        "emb.weight" => Some(1.0),
        _ => None,
    };
    // fc.bias has 1024 elements, too few for a 1% std check: its bound
    // instead (all inside, and some near it).
    let b = values(&r.fill_param_cpu(1, 12345, None).unwrap().1, DType::F32);
    let bound = 1.0 / 512f32.sqrt();
    assert!(b.iter().all(|v| v.abs() < bound) && b.iter().any(|v| v.abs() > 0.9 * bound));
    check_stds(
        &r,
        &want,
        &[("ln.weight", 1.0), ("ln.bias", 0.0)],
        &["fc.bias"],
    );
}

#[test]
fn gpt2_std() {
    let mut params = vec![];
    for l in [0, 5] {
        for (part, shape, dtype) in [
            ("ln_1.weight", vec![768], DType::F32),
            ("ln_1.bias", vec![768], DType::F32),
            ("attn.c_attn.weight", vec![768, 2304], DType::F32),
            ("attn.c_attn.bias", vec![2304], DType::F32),
            ("attn.c_proj.weight", vec![768, 768], DType::BF16),
            ("mlp.c_proj.weight", vec![3072, 768], DType::F32),
        ] {
            params.push(Param::new(
                format!("transformer.h.{l}.{part}"),
                shape,
                dtype,
            ));
        }
    }
    for (name, shape) in [
        ("transformer.wte.weight", vec![4096, 768]),
        ("model.layers.1.self_attn.o_proj.weight", vec![1024, 1024]),
        ("model.layers.1.mlp.down_proj.weight", vec![1024, 1024]),
    ] {
        params.push(Param::new(name, shape, DType::F32));
    }
    let set = ParamSet::from_params(params).unwrap();
    // n_layers inferred: largest index 5 -> 6.
    let r = set
        .resolve(&"gpt2".parse::<Preset>().unwrap().rules(&set).unwrap())
        .unwrap();
    let resid = 0.02 / (2.0f64 * 6.0).sqrt();
    let want = |n: &str| {
        if n.ends_with("c_proj.weight")
            || n.ends_with("o_proj.weight")
            || n.ends_with("down_proj.weight")
        {
            Some(resid)
        } else if n.ends_with(".weight") {
            Some(0.02)
        } else {
            None
        }
    };
    let consts = [
        ("transformer.h.0.ln_1.weight", 1.0),
        ("transformer.h.0.ln_1.bias", 0.0),
        ("transformer.h.0.attn.c_attn.bias", 0.0),
        ("transformer.h.5.ln_1.weight", 1.0),
        ("transformer.h.5.ln_1.bias", 0.0),
        ("transformer.h.5.attn.c_attn.bias", 0.0),
    ];
    check_stds(&r, &want, &consts, &[]);
    // Explicit n_layers wins over the names.
    let r = set
        .resolve(
            &"gpt2(n_layers=48)"
                .parse::<Preset>()
                .unwrap()
                .rules(&set)
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        r.params()[4].init.to_string(),
        "gpt2_residual(n_layers=48, std=0.02)"
    );
}

#[test]
fn keras_defaults_std() {
    let set = ParamSet::from_params([
        Param::new("dense/kernel", vec![1024, 512], DType::F32)
            .with_layout(weight_init::Layout::Jax),
        Param::new("dense/bias", vec![512], DType::F32),
        Param::new("conv/kernel", vec![3, 3, 128, 256], DType::F32)
            .with_layout(weight_init::Layout::Jax),
        Param::new("conv/bias", vec![256], DType::F32),
        Param::new("embedding/embeddings", vec![8192, 64], DType::F32),
        Param::new("layer_norm/gamma", vec![512], DType::F32),
        Param::new("layer_norm/beta", vec![512], DType::F32),
    ])
    .unwrap();
    let r = set
        .resolve(&Preset::KerasDefaults.rules(&set).unwrap())
        .unwrap();
    // glorot_uniform: U(+-sqrt(6/(fan_in+fan_out))), std sqrt(2/(fan_in+fan_out)).
    let want = |n: &str| match n {
        "dense/kernel" => Some((2.0 / (1024.0 + 512.0f64)).sqrt()),
        "conv/kernel" => Some((2.0 / (9.0 * 128.0 + 9.0 * 256.0f64)).sqrt()),
        "embedding/embeddings" => Some(0.1 / 12f64.sqrt()),
        _ => None,
    };
    let consts = [
        ("dense/bias", 0.0),
        ("conv/bias", 0.0),
        ("layer_norm/gamma", 1.0),
        ("layer_norm/beta", 0.0),
    ];
    check_stds(&r, &want, &consts, &[]);
}

// ---------------------------------------------------------------------------
// Test 6: bad input
// ---------------------------------------------------------------------------

#[test]
fn duplicate_and_unmatched_names() {
    let e = ParamSet::from_params([
        Param::new("x", vec![2], DType::F32),
        Param::new("x", vec![3], DType::F32),
    ])
    .unwrap_err();
    assert_eq!(e, Error::DuplicateParam { name: "x".into() });
    let spec = r#"{"params": [{"name": "a", "shape": [2]}, {"name": "a", "shape": [2]}]}"#;
    let e = ModelSpec::from_json(spec, "s")
        .unwrap()
        .param_set()
        .unwrap_err();
    assert!(
        e.to_string().contains("duplicate parameter name `a`"),
        "{e}"
    );

    let set = ParamSet::from_params([
        Param::new("fc.weight", vec![4, 4], DType::F32),
        Param::new("mystery", vec![7], DType::F32),
    ])
    .unwrap();
    let e = set
        .resolve(&Preset::TorchDefaults.rules(&set).unwrap())
        .unwrap_err();
    assert!(
        matches!(&e, Error::UnmatchedParam { name, .. } if name == "mystery"),
        "{e}"
    );
    assert!(e.to_string().contains("`mystery`"), "{e}");
    // A bias without its weight cannot get torch's fan-in bound.
    let set = ParamSet::from_params([
        Param::new("fc.bias", vec![4], DType::F32).with_init(Init::TorchDefaultBias)
    ])
    .unwrap();
    let e = set.resolve(&Rules::default()).unwrap_err();
    assert!(e.to_string().contains("parameter `fc.bias`"), "{e}");
    // gpt2 without layer indices or n_layers.
    let set = ParamSet::from_params([Param::new("w", vec![4, 4], DType::F32)]).unwrap();
    assert!("gpt2".parse::<Preset>().unwrap().rules(&set).is_err());
    // A scheme that does not fit its shape names the parameter.
    let set = ParamSet::from_params([
        Param::new("v", vec![4], DType::F32).with_init(init("xavier_uniform"))
    ])
    .unwrap();
    let e = set.resolve(&Rules::default()).unwrap_err();
    assert!(e.to_string().starts_with("parameter `v`:"), "{e}");
}

#[test]
fn malformed_json_has_position() {
    for (text, line) in [
        ("{\"params\": [\n  {\"name\": \"a\", \"shape\": [2],}\n]}", 2),
        ("{\"params\": [{\"name\": \"a\", \"shape\": [2], \"dtype\": \"f64\"}]}", 1),
        ("{\"params\": [{\"name\": \"a\",\n \"shape\": [2], \"init\": \"bogus_init\"}]}", 2),
        ("{\"params\": [], \"unknown\": 1}", 1),
        ("{\"params\": [], \"rules\": [{\"pattern\": \"*\", \"rank\": \">=x\", \"init\": \"zeros\"}]}", 1),
        ("", 1),
    ] {
        let e = ModelSpec::from_json(text, "model.json").unwrap_err();
        match &e {
            Error::Json { what, line: l, column, .. } => {
                assert_eq!(what, "model.json");
                assert_eq!(*l, line, "{e}");
                assert!(*column >= 1 || text.is_empty(), "{e}");
            }
            other => panic!("expected a JSON error, got {other}"),
        }
    }
}

#[test]
fn malformed_safetensors_headers() {
    let dir = temp_dir("badhdr");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("short", b"\x01\x00".to_vec(), "shorter than"),
        (
            "toolong",
            [&1000u64.to_le_bytes()[..], b"{}"].concat(),
            "does not fit",
        ),
        (
            "notjson",
            [&4u64.to_le_bytes()[..], b"{abc"].concat(),
            "header",
        ),
        (
            "notutf8",
            [&2u64.to_le_bytes()[..], &[0xff, 0xfe][..]].concat(),
            "not a valid",
        ),
        (
            "offsets",
            {
                let h = br#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}}"#;
                [&(h.len() as u64).to_le_bytes()[..], &h[..], &[0u8; 8][..]].concat()
            },
            "header",
        ),
        (
            "truncated-data",
            {
                let h = br#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#;
                [&(h.len() as u64).to_le_bytes()[..], &h[..], &[0u8; 8][..]].concat()
            },
            "data bytes",
        ),
        (
            "int-dtype",
            {
                let h = br#"{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#;
                [&(h.len() as u64).to_le_bytes()[..], &h[..], &[0u8; 16][..]].concat()
            },
            "`ids` has dtype I64",
        ),
    ];
    for (name, bytes, says) in cases {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        let e = read_safetensors_header(&p).unwrap_err();
        assert!(matches!(e, Error::InvalidFile { .. }), "{name}: {e}");
        assert!(e.to_string().contains(says), "{name}: {e}");
    }
    assert!(matches!(
        read_safetensors_header(&dir.join("missing")),
        Err(Error::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unwritable_output_leaves_nothing() {
    let set = ParamSet::from_params([
        Param::new("w", vec![64, 64], DType::F32).with_init(init("normal(0, 1)"))
    ])
    .unwrap();
    let r = set.resolve(&Rules::default()).unwrap();
    let dir = temp_dir("unwritable");
    // A parent that does not exist, and a parent that is a file.
    let e = write_safetensors(&dir.join("no/such/dir/m.safetensors"), &r, 0, None).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    std::fs::write(dir.join("file"), b"x").unwrap();
    let e = write_safetensors(&dir.join("file/m.safetensors"), &r, 0, None).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    // The target is a directory: refused before anything is written
    // (`Error::NotRegularFile`; it used to fail only at the final rename).
    std::fs::create_dir(dir.join("taken")).unwrap();
    std::fs::write(dir.join("taken/inside"), b"keep").unwrap();
    let e = write_safetensors(&dir.join("taken"), &r, 0, None).unwrap_err();
    assert!(matches!(e, Error::NotRegularFile { .. }), "{e}");
    assert_eq!(dir_entries(&dir), vec!["file", "taken"]);
    // A producer failing mid-file: no file, no temporary left.
    let target = dir.join("mid.safetensors");
    let tensors = vec![
        ("a".to_string(), DType::F32, vec![4]),
        ("b".to_string(), DType::F32, vec![4]),
    ];
    let e = write_safetensors_with(&target, &tensors, None, |i, emit| {
        emit(&[0u8; 16])?;
        if i == 1 {
            return Err(Error::Gpu {
                message: "device lost".into(),
            });
        }
        Ok(())
    })
    .unwrap_err();
    assert_eq!(
        e,
        Error::Gpu {
            message: "device lost".into()
        }
    );
    // A producer that emits too few bytes.
    let e =
        write_safetensors_with(&target, &tensors, None, |_, emit| emit(&[0u8; 12])).unwrap_err();
    assert!(matches!(e, Error::OutputLength { .. }), "{e}");
    assert_eq!(dir_entries(&dir), vec!["file", "taken"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn gpu_bad_input_records_nothing() {
    let ctx = gpu();
    let set = shard_set(false);
    let r = set.resolve(&Rules::default()).unwrap();
    let layout = r.arena_layout(None, ARENA_ALIGN).unwrap();
    let mk = |size: u64, usage| {
        ctx.device().create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage,
            mapped_at_creation: false,
        })
    };
    use wgpu::BufferUsages as U;
    let cases = [
        (mk(layout.total_bytes, U::COPY_DST | U::COPY_SRC), "STORAGE"),
        // (A buffer without COPY_DST is fine: host bytes then go through
        // the values kernel, see tests/alignment.rs.)
        (
            mk(layout.total_bytes - 4, U::STORAGE | U::COPY_DST),
            "the fill needs bytes",
        ),
    ];
    for (buf, says) in cases {
        let mut enc = ctx.device().create_command_encoder(&Default::default());
        let e = r
            .record_gpu(ctx, &mut enc, &buf, &layout, 1, None)
            .unwrap_err();
        assert!(e.to_string().contains(says), "{e}");
    }
    // A layout made for another shard.
    let buf = layout.create_buffer(ctx).unwrap();
    let s = Shard::new(2, 0, ShardMode::Rows).unwrap();
    let mut enc = ctx.device().create_command_encoder(&Default::default());
    assert!(r
        .record_gpu(ctx, &mut enc, &buf, &layout, 1, Some(&s))
        .is_err());
    assert!(r.arena_layout(None, 6).is_err());
    assert!(r.arena_layout(None, 2).is_err());
}

#[test]
fn rule_text_form_and_presets_parse() {
    let r: Rule = "*.bias=zeros".parse().unwrap();
    assert_eq!(r, Rule::new("*.bias", Init::Zeros));
    assert!("no-equals".parse::<Rule>().is_err());
    assert!("*=not_a_scheme".parse::<Rule>().is_err());
    for bad in [
        "gpt2(n_layers=0)",
        "gpt2(std=-1)",
        "gpt2(depth=3)",
        "gpt3",
        "torch-default",
    ] {
        assert!(bad.parse::<Preset>().is_err(), "{bad}");
    }
    assert_eq!(
        "gpt2(n_layers=24, std=0.01)".parse::<Preset>().unwrap(),
        Preset::Gpt2 {
            n_layers: Some(24),
            std: 0.01
        }
    );
}

#[test]
fn gpu_into_callers_buffers() {
    use wgpu::util::DeviceExt;
    let ctx = gpu();
    let set = shard_set(true);
    let r = set.resolve(&Rules::default()).unwrap();
    let seed = 5;
    for shard in [None, Some(Shard::new(3, 2, ShardMode::Columns).unwrap())] {
        let (want, ..) = gpu_fill(&r, seed, shard.as_ref());
        // Each tensor in its own canary-filled buffer, 8 bytes in, 12 spare
        // bytes after it.
        let bufs: Vec<wgpu::Buffer> = want
            .iter()
            .map(|t| {
                ctx.device()
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: None,
                        contents: &vec![CANARY; t.len() + 20],
                        usage: wgpu::BufferUsages::STORAGE
                            | wgpu::BufferUsages::COPY_DST
                            | wgpu::BufferUsages::COPY_SRC,
                    })
            })
            .collect();
        let targets: Vec<(&wgpu::Buffer, u64)> = bufs.iter().map(|b| (b, 8)).collect();
        ctx.submit_checked(|enc| {
            r.record_gpu_into(ctx, enc, &targets, seed, shard.as_ref())
                .map(|_| ())
        })
        .unwrap();
        for ((b, w), p) in bufs.iter().zip(&want).zip(r.params()) {
            let got = ctx.read_buffer(b, 0, b.size()).unwrap();
            assert!(got[..8].iter().all(|&x| x == CANARY), "{}", p.name);
            assert_eq!(&got[8..8 + w.len()], &w[..], "{}", p.name);
            assert!(
                got[8 + w.len()..].iter().all(|&x| x == CANARY),
                "{}",
                p.name
            );
        }
        // Bad targets: a misaligned offset, too few targets, too small.
        let mut enc = ctx.device().create_command_encoder(&Default::default());
        let mut bad = targets.clone();
        bad[0].1 = 2;
        assert!(r
            .record_gpu_into(ctx, &mut enc, &bad, seed, shard.as_ref())
            .is_err());
        assert!(r
            .record_gpu_into(ctx, &mut enc, &targets[1..], seed, shard.as_ref())
            .is_err());
        let mut bad = targets.clone();
        bad[3].1 = 24;
        let e = r
            .record_gpu_into(ctx, &mut enc, &bad, seed, shard.as_ref())
            .unwrap_err();
        assert!(e.to_string().contains("parameter `conv.weight`"), "{e}");
    }
}

#[test]
fn fill_cpu_into_matches_fill_cpu_and_checks_its_input() {
    let set = shard_set(true);
    let r = set.resolve(&Rules::default()).unwrap();
    for shard in [None, Some(Shard::new(4, 1, ShardMode::Columns).unwrap())] {
        let layout = r.arena_layout(shard.as_ref(), ARENA_ALIGN).unwrap();
        let mut host = vec![CANARY; layout.total_bytes as usize];
        r.fill_cpu_into(5, shard.as_ref(), &layout, &mut host)
            .unwrap();
        check_canaries(&host, &layout);
        for ((_, want), (&o, &n)) in r
            .fill_cpu(5, shard.as_ref())
            .unwrap()
            .iter()
            .zip(layout.offsets.iter().zip(&layout.sizes))
        {
            assert_eq!(&host[o as usize..(o + n) as usize], &want[..]);
        }
    }
    let layout = r.arena_layout(None, ARENA_ALIGN).unwrap();
    let mut short = vec![0u8; layout.total_bytes as usize - 1];
    assert!(matches!(
        r.fill_cpu_into(5, None, &layout, &mut short),
        Err(Error::OutputLength { .. })
    ));
    let sharded = r
        .arena_layout(
            Some(&Shard::new(2, 0, ShardMode::Rows).unwrap()),
            ARENA_ALIGN,
        )
        .unwrap();
    let mut host = vec![0u8; layout.total_bytes as usize];
    assert!(r.fill_cpu_into(5, None, &sharded, &mut host).is_err());
}

/// Two parameters on one Philox stream would draw the same values: the set
/// refuses the second, naming both, and stays as it was.
#[test]
fn a_shared_stream_is_refused_naming_both() {
    let mut set =
        ParamSet::from_params([Param::new("a", vec![4], DType::F32).with_stream(7)]).unwrap();
    let err = set
        .push(Param::new("b", vec![4], DType::F32).with_stream(7))
        .unwrap_err();
    assert!(
        matches!(&err, Error::SharedStream { first, second, stream: 7 } if first == "a" && second == "b"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("`a` and `b` share Philox stream"),
        "{err}"
    );
    assert_eq!(set.len(), 1);
    // The name's stream, given explicitly to another parameter, is refused too.
    let named = weight_init::philox::name_stream("c");
    set.push(Param::new("c", vec![4], DType::F32)).unwrap();
    assert!(set
        .push(Param::new("d", vec![4], DType::F32).with_stream(named))
        .is_err());
    // Distinct names, default streams: accepted.
    set.push(Param::new("e", vec![4], DType::F32)).unwrap();
    assert_eq!(set.len(), 3);
}
