//! The practitioners' presets (`mup`, `deepnorm`, `olmo`, `t5`) against
//! their formulas, each on two widths: every parameter's resolved
//! distribution against the formula computed here from the paper or
//! source (not from the preset's code), then a CPU fill whose sample std
//! must lie within sampling error of it.
//!
//! Sampling error: for `n` samples of a normal with std `σ`, the sample
//! std has standard error `σ / sqrt(2n)` (Var(s²) = 2σ⁴/(n-1)); a
//! truncated normal has lower kurtosis, so the same bound is conservative
//! for it. Each tensor of at least `MIN_SAMPLED` elements is checked at
//! `Z` standard errors: two-sided alpha 6.8e-6 per tensor, about 1e-3 over
//! the ~150 tensors checked, seeds fixed.

use weight_init::model::{LayerKind, Param, ParamSet, Preset, ResolvedParam, ResolvedSet};
use weight_init::{DType, Distribution, Plan};

const Z: f64 = 4.5;
const MIN_SAMPLED: usize = 4096;
const SEED: u64 = 20_260_117;

/// What a parameter should be: a normal / truncated normal with this std
/// (the parent normal's) and bounds, or a constant.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Normal(f64),
    Trunc { std: f64, a: f64, b: f64 },
    Constant(f64),
}

fn p(name: &str, shape: &[u64]) -> Param {
    Param::new(name, shape.to_vec(), DType::F32)
}

fn close(got: f64, want: f64, what: &str) {
    // Resolving rounds the parameters to f32.
    assert!(
        (got - want).abs() <= 1e-6 * want.abs(),
        "{what}: resolved {got}, formula {want}"
    );
}

/// Checks every parameter's plan against `want(name, shape)`, then fills
/// the set on the CPU and checks the sample std of the large tensors.
/// Returns how many tensors were checked statistically.
fn check(set: &ParamSet, preset: &str, want: impl Fn(&str, &[u64]) -> Want) -> usize {
    let preset: Preset = preset.parse().unwrap();
    let rules = preset.rules(set).unwrap();
    let resolved: ResolvedSet = set.resolve(&rules).unwrap();
    let mut wants = Vec::new();
    for r in resolved.params() {
        let w = want(&r.name, &r.shape);
        check_plan(r, w);
        wants.push(w);
    }
    let tensors = resolved.fill_cpu(SEED, None).unwrap();
    let mut sampled = 0;
    for ((name, bytes), w) in tensors.iter().zip(&wants) {
        let x: Vec<f64> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
            .collect();
        match *w {
            Want::Constant(c) => assert!(x.iter().all(|&v| v == c), "{name}: not all {c}"),
            Want::Normal(std) => {
                sampled += check_sample_std(name, &x, std);
            }
            Want::Trunc { std, a, b } => {
                assert!(
                    x.iter().all(|&v| v >= a && v <= b),
                    "{name}: outside [{a}, {b}]"
                );
                sampled += check_sample_std(name, &x, truncated_std(std, a / std, b / std));
            }
        }
    }
    sampled
}

fn check_plan(r: &ResolvedParam, want: Want) {
    let name = &r.name;
    match (&r.plan, want) {
        (Plan::Sample(Distribution::Normal(n)), Want::Normal(std)) => {
            assert_eq!(n.mean(), 0.0, "{name}");
            close(n.std() as f64, std, name);
        }
        (Plan::Sample(Distribution::TruncatedNormal(t)), Want::Trunc { std, a, b }) => {
            assert_eq!(t.mean(), 0.0, "{name}");
            close(t.std() as f64, std, name);
            let (ga, gb) = t.bounds();
            close(ga, a, name);
            close(gb, b, name);
        }
        (Plan::Sample(Distribution::Constant(c)), Want::Constant(v)) => {
            assert_eq!(*c as f64, v, "{name}");
        }
        (plan, want) => panic!("{name}: resolved {plan:?}, wanted {want:?}"),
    }
}

/// 1 when checked, 0 when the tensor is too small to say much.
fn check_sample_std(name: &str, x: &[f64], std: f64) -> usize {
    if x.len() < MIN_SAMPLED {
        return 0;
    }
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let s = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let se = std / (2.0 * n).sqrt();
    assert!(
        (s - std).abs() < Z * se,
        "{name}: sample std {s}, expected {std} ± {Z}·{se}"
    );
    1
}

/// Std of N(0, σ²) truncated to [ασ, βσ] (Johnson, Kotz & Balakrishnan,
/// vol. 1, 13.10).
fn truncated_std(sigma: f64, alpha: f64, beta: f64) -> f64 {
    let phi = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let cdf = |x: f64| 0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
    let z = cdf(beta) - cdf(alpha);
    let m = (phi(alpha) - phi(beta)) / z;
    let var = 1.0 + (alpha * phi(alpha) - beta * phi(beta)) / z - m * m;
    sigma * var.sqrt()
}

/// PyTorch's `xavier_normal_` std for a `[out, in]` weight.
fn xavier(gain: f64, shape: &[u64]) -> f64 {
    gain * (2.0 / (shape[0] + shape[1]) as f64).sqrt()
}

fn is_bias(name: &str) -> bool {
    name.ends_with(".bias")
}

// ---------------------------------------------------------------- muP

/// A GPT-2 shaped model of `d` units and two blocks.
fn gpt2_set(d: u64) -> ParamSet {
    let v = 1024;
    let mut ps = vec![
        p("transformer.wte.weight", &[v, d]),
        p("transformer.wpe.weight", &[128, d]),
    ];
    for l in 0..2 {
        let h = |s: &str| format!("transformer.h.{l}.{s}");
        ps.extend([
            p(&h("ln_1.weight"), &[d]),
            p(&h("ln_1.bias"), &[d]),
            p(&h("attn.c_attn.weight"), &[3 * d, d]),
            p(&h("attn.c_attn.bias"), &[3 * d]),
            p(&h("attn.c_proj.weight"), &[d, d]),
            p(&h("attn.c_proj.bias"), &[d]),
            p(&h("ln_2.weight"), &[d]),
            p(&h("ln_2.bias"), &[d]),
            p(&h("mlp.c_fc.weight"), &[4 * d, d]),
            p(&h("mlp.c_fc.bias"), &[4 * d]),
            p(&h("mlp.c_proj.weight"), &[d, 4 * d]),
            p(&h("mlp.c_proj.bias"), &[d]),
        ]);
    }
    ps.extend([
        p("transformer.ln_f.weight", &[d]),
        p("transformer.ln_f.bias", &[d]),
        p("lm_head.weight", &[v, d]),
    ]);
    ParamSet::from_params(ps).unwrap()
}

/// Tensor Programs V, Table 3 (μP, Adam): input weights and biases keep
/// the base init, hidden weights' variance / m, output weights' / m².
fn mup_want(name: &str, base_std: f64, m: f64, zero_readout: bool) -> Want {
    let ln = name.contains(".ln_");
    if is_bias(name) {
        Want::Constant(0.0)
    } else if ln {
        Want::Constant(1.0)
    } else if name == "lm_head.weight" {
        if zero_readout {
            Want::Constant(0.0)
        } else {
            Want::Normal((base_std * base_std / (m * m)).sqrt())
        }
    } else if name.contains("wte") || name.contains("wpe") {
        Want::Normal(base_std)
    } else {
        Want::Normal((base_std * base_std / m).sqrt())
    }
}

#[test]
fn mup_on_two_widths() {
    let mut sampled = 0;
    for (base, width, std, zero) in [(64, 128, 0.02, false), (64, 512, 0.05, true)] {
        let preset =
            format!("mup(base_width={base}, width={width}, std={std}, zero_readout={zero})");
        let m = width as f64 / base as f64;
        sampled += check(&gpt2_set(width), &preset, |n, _| mup_want(n, std, m, zero));
    }
    assert!(sampled >= 20, "{sampled}");
}

#[test]
fn mup_at_the_base_width_is_the_base_init() {
    let set = gpt2_set(64);
    check(&set, "mup(base_width=64, width=64)", |n, _| {
        mup_want(n, 0.02, 1.0, false)
    });
}

// ---------------------------------------------------------------- DeepNorm

/// A Llama-named decoder of `d` units, two blocks listed.
fn llama_set(d: u64) -> ParamSet {
    let (v, ff) = (1000, 3 * d);
    let mut ps = vec![p("model.embed_tokens.weight", &[v, d])];
    for l in 0..2 {
        let h = |s: &str| format!("model.layers.{l}.{s}");
        ps.extend([
            p(&h("input_layernorm.weight"), &[d]),
            p(&h("self_attn.q_proj.weight"), &[d, d]),
            p(&h("self_attn.k_proj.weight"), &[d / 2, d]),
            p(&h("self_attn.v_proj.weight"), &[d / 2, d]),
            p(&h("self_attn.o_proj.weight"), &[d, d]),
            p(&h("post_attention_layernorm.weight"), &[d]),
            p(&h("mlp.gate_proj.weight"), &[ff, d]),
            p(&h("mlp.up_proj.weight"), &[ff, d]),
            p(&h("mlp.down_proj.weight"), &[d, ff]),
        ]);
    }
    ps.extend([p("model.norm.weight", &[d]), p("lm_head.weight", &[v, d])]);
    ParamSet::from_params(ps).unwrap()
}

/// A fairseq-named encoder-decoder of `d` units, one block per stack.
fn fairseq_set(d: u64) -> ParamSet {
    let (v, ff) = (1000, 4 * d);
    let mut ps = Vec::new();
    for stack in ["encoder", "decoder"] {
        ps.push(p(&format!("{stack}.embed_tokens.weight"), &[v, d]));
        let attns: &[&str] = if stack == "encoder" {
            &["self_attn"]
        } else {
            &["self_attn", "encoder_attn"]
        };
        for a in attns {
            for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                ps.push(p(&format!("{stack}.layers.0.{a}.{proj}.weight"), &[d, d]));
                ps.push(p(&format!("{stack}.layers.0.{a}.{proj}.bias"), &[d]));
            }
            ps.push(p(&format!("{stack}.layers.0.{a}_layer_norm.weight"), &[d]));
            ps.push(p(&format!("{stack}.layers.0.{a}_layer_norm.bias"), &[d]));
        }
        ps.extend([
            p(&format!("{stack}.layers.0.fc1.weight"), &[ff, d]),
            p(&format!("{stack}.layers.0.fc1.bias"), &[ff]),
            p(&format!("{stack}.layers.0.fc2.weight"), &[d, ff]),
            p(&format!("{stack}.layers.0.fc2.bias"), &[d]),
            p(&format!("{stack}.layers.0.final_layer_norm.weight"), &[d]),
            p(&format!("{stack}.layers.0.final_layer_norm.bias"), &[d]),
        ]);
    }
    ps.push(p("decoder.output_projection.weight", &[v, d]));
    ParamSet::from_params(ps).unwrap()
}

/// DeepNet (arXiv 2203.00555), Figure 2 and Table 1.
fn deepnorm_want(name: &str, shape: &[u64], beta_enc: f64, beta_dec: f64) -> Want {
    let leaf = name.rsplit('.').nth(1).unwrap();
    if is_bias(name) {
        Want::Constant(0.0)
    } else if name.contains("norm") {
        Want::Constant(1.0)
    } else if name.contains("embed_tokens") {
        // fairseq's Embedding(): normal(0, dim^-1/2).
        Want::Normal(1.0 / (shape[1] as f64).sqrt())
    } else if [
        "v_proj",
        "out_proj",
        "o_proj",
        "fc1",
        "fc2",
        "gate_proj",
        "up_proj",
        "down_proj",
    ]
    .contains(&leaf)
    {
        let beta = if name.starts_with("encoder.") {
            beta_enc
        } else {
            beta_dec
        };
        Want::Normal(xavier(beta, shape))
    } else {
        // q_proj, k_proj and the heads: gain 1.
        Want::Normal(xavier(1.0, shape))
    }
}

#[test]
fn deepnorm_decoder_only_on_two_widths() {
    let mut sampled = 0;
    for (d, n) in [(128u64, 12u64), (512, 200)] {
        let beta = (8.0 * n as f64).powf(-0.25);
        let preset = format!("deepnorm(layers={n})");
        sampled += check(&llama_set(d), &preset, |name, s| {
            deepnorm_want(name, s, beta, beta)
        });
    }
    assert!(sampled >= 20, "{sampled}");
}

#[test]
fn deepnorm_encoder_decoder_on_two_widths() {
    let mut sampled = 0;
    for (d, n, m) in [(64u64, 6u64, 6u64), (256, 100, 18)] {
        let (nf, mf) = (n as f64, m as f64);
        let beta_enc = 0.87 * (nf.powi(4) * mf).powf(-1.0 / 16.0);
        let beta_dec = (12.0 * mf).powf(-0.25);
        let preset = format!("deepnorm(encoder_layers={n}, decoder_layers={m})");
        sampled += check(&fairseq_set(d), &preset, |name, s| {
            deepnorm_want(name, s, beta_enc, beta_dec)
        });
    }
    assert!(sampled >= 10, "{sampled}");
}

#[test]
fn deepnorm_encoder_only_takes_the_same_beta() {
    let (enc, dec) = ("deepnorm(layers=18, arch=encoder)", "deepnorm(layers=18)");
    let set = llama_set(64);
    let find = |preset: &str| {
        let rules = preset.parse::<Preset>().unwrap().rules(&set).unwrap();
        rules
            .find(
                "model.layers.0.mlp.up_proj.weight",
                Some(LayerKind::Linear),
                2,
            )
            .unwrap()
            .to_string()
    };
    assert_eq!(find(enc), find(dec));
    // (8·18)^(-1/4) = 144^(-1/4) = 1/sqrt(12).
    let want = (1.0f64 / 12.0).sqrt();
    let Plan::Sample(Distribution::Normal(n)) = set
        .resolve(&enc.parse::<Preset>().unwrap().rules(&set).unwrap())
        .unwrap()
        .params()
        .iter()
        .find(|r| r.name == "model.layers.0.mlp.up_proj.weight")
        .unwrap()
        .plan
        .clone()
    else {
        panic!()
    };
    close(n.std() as f64, xavier(want, &[192, 64]), "up_proj");
}

// ---------------------------------------------------------------- OLMo

/// An OLMo-2-named decoder (Hugging Face `Olmo2ForCausalLM`) of `d` units.
fn olmo_set(d: u64) -> ParamSet {
    let (v, ff) = (1024, 4 * d);
    let mut ps = vec![p("model.embed_tokens.weight", &[v, d])];
    for l in 0..2 {
        let h = |s: &str| format!("model.layers.{l}.{s}");
        ps.extend([
            p(&h("self_attn.q_proj.weight"), &[d, d]),
            p(&h("self_attn.k_proj.weight"), &[d, d]),
            p(&h("self_attn.v_proj.weight"), &[d, d]),
            p(&h("self_attn.o_proj.weight"), &[d, d]),
            p(&h("self_attn.q_norm.weight"), &[d]),
            p(&h("self_attn.k_norm.weight"), &[d]),
            p(&h("post_attention_layernorm.weight"), &[d]),
            p(&h("mlp.gate_proj.weight"), &[ff, d]),
            p(&h("mlp.up_proj.weight"), &[ff, d]),
            p(&h("mlp.down_proj.weight"), &[d, ff]),
            p(&h("post_feedforward_layernorm.weight"), &[d]),
        ]);
    }
    ps.extend([
        p("model.norm.weight", &[d]),
        p("lm_head.weight", &[v, d]),
        p("lm_head.bias", &[v]),
    ]);
    ParamSet::from_params(ps).unwrap()
}

#[test]
fn olmo_on_two_widths() {
    let mut sampled = 0;
    for (d, preset, std) in [(128u64, "olmo", 0.02), (512, "olmo(std=0.006)", 0.006)] {
        sampled += check(&olmo_set(d), preset, |name, _| {
            if is_bias(name) {
                Want::Constant(0.0)
            } else if name.contains("norm") {
                Want::Constant(1.0)
            } else {
                // OLMo's init_normal: trunc_normal_(std, a=-3·std, b=3·std).
                Want::Trunc {
                    std,
                    a: -3.0 * std,
                    b: 3.0 * std,
                }
            }
        });
    }
    assert!(sampled >= 20, "{sampled}");
}

// ---------------------------------------------------------------- T5

struct T5 {
    d_model: u64,
    d_kv: u64,
    d_ff: u64,
    heads: u64,
    factor: f64,
    gated: bool,
}

impl T5 {
    /// The parameters `T5ForConditionalGeneration` saves (untied
    /// `lm_head`), two blocks per stack.
    fn set(&self) -> ParamSet {
        let (d, inner, v) = (self.d_model, self.heads * self.d_kv, 512);
        let mut ps = vec![p("shared.weight", &[v, d])];
        for stack in ["encoder", "decoder"] {
            ps.push(p(&format!("{stack}.embed_tokens.weight"), &[v, d]));
            for b in 0..2 {
                let mut attns = vec!["SelfAttention"];
                if stack == "decoder" {
                    attns.push("EncDecAttention");
                }
                for (i, a) in attns.iter().enumerate() {
                    let pre = format!("{stack}.block.{b}.layer.{i}");
                    for (leaf, shape) in [("q", [inner, d]), ("k", [inner, d]), ("v", [inner, d])] {
                        ps.push(p(&format!("{pre}.{a}.{leaf}.weight"), &shape));
                    }
                    ps.push(p(&format!("{pre}.{a}.o.weight"), &[d, inner]));
                    if b == 0 && *a == "SelfAttention" {
                        ps.push(p(
                            &format!("{pre}.{a}.relative_attention_bias.weight"),
                            &[32, self.heads],
                        ));
                    }
                    ps.push(p(&format!("{pre}.layer_norm.weight"), &[d]));
                }
                let pre = format!("{stack}.block.{b}.layer.{}", attns.len());
                let wis: &[&str] = if self.gated {
                    &["wi_0", "wi_1"]
                } else {
                    &["wi"]
                };
                for wi in wis {
                    ps.push(p(
                        &format!("{pre}.DenseReluDense.{wi}.weight"),
                        &[self.d_ff, d],
                    ));
                }
                ps.push(p(
                    &format!("{pre}.DenseReluDense.wo.weight"),
                    &[d, self.d_ff],
                ));
                ps.push(p(&format!("{pre}.layer_norm.weight"), &[d]));
            }
            ps.push(p(&format!("{stack}.final_layer_norm.weight"), &[d]));
        }
        ps.push(p("lm_head.weight", &[v, d]));
        ParamSet::from_params(ps).unwrap()
    }

    fn preset(&self) -> String {
        format!(
            "t5(d_model={}, d_kv={}, d_ff={}, num_heads={}, factor={})",
            self.d_model, self.d_kv, self.d_ff, self.heads, self.factor
        )
    }

    /// transformers' `T5PreTrainedModel._init_weights`.
    fn want(&self, name: &str) -> Want {
        let f = self.factor;
        let (dm, dkv, dff, h) = (
            self.d_model as f64,
            self.d_kv as f64,
            self.d_ff as f64,
            self.heads as f64,
        );
        let leaf = name.rsplit('.').nth(1).unwrap();
        match leaf {
            "layer_norm" | "final_layer_norm" => Want::Constant(f),
            "shared" | "embed_tokens" | "lm_head" => Want::Normal(f),
            "wi" | "wi_0" | "wi_1" | "k" | "v" | "relative_attention_bias" => {
                Want::Normal(f * dm.powf(-0.5))
            }
            "wo" => Want::Normal(f * dff.powf(-0.5)),
            "q" => Want::Normal(f * (dm * dkv).powf(-0.5)),
            "o" => Want::Normal(f * (h * dkv).powf(-0.5)),
            _ => panic!("{name}"),
        }
    }
}

#[test]
fn t5_on_two_widths() {
    let mut sampled = 0;
    for t5 in [
        T5 {
            d_model: 64,
            d_kv: 16,
            d_ff: 256,
            heads: 4,
            factor: 1.0,
            gated: false,
        },
        T5 {
            d_model: 256,
            d_kv: 32,
            d_ff: 640,
            heads: 6,
            factor: 0.5,
            gated: true,
        },
    ] {
        sampled += check(&t5.set(), &t5.preset(), |name, _| t5.want(name));
    }
    assert!(sampled >= 20, "{sampled}");
}

// ---------------------------------------------------------------- parsing

#[test]
fn presets_round_trip_through_their_text() {
    for text in [
        "mup(base_width=256, width=1024)",
        "mup(base_width=256, width=1024, std=0.01, zero_readout=true)",
        "deepnorm(layers=24)",
        "deepnorm(layers=24, arch=encoder)",
        "deepnorm(encoder_layers=6, decoder_layers=12)",
        "olmo",
        "olmo(std=0.01)",
        "t5(d_model=512, d_kv=64, d_ff=2048, num_heads=8)",
        "t5(d_model=512, d_kv=64, d_ff=2048, num_heads=8, factor=0.5)",
    ] {
        let p: Preset = text.parse().unwrap();
        assert_eq!(p.to_string().parse::<Preset>().unwrap(), p, "{text}");
    }
    assert_eq!(
        "deepnorm(layers=24)".parse::<Preset>().unwrap(),
        "deepnorm(layers=24, arch=decoder)".parse().unwrap()
    );
    assert_eq!(
        "olmo".parse::<Preset>().unwrap(),
        "olmo(std=0.02)".parse().unwrap()
    );
}

#[test]
fn bad_preset_arguments_say_what_is_wrong() {
    for (text, says) in [
        ("mup(width=1024)", "mup needs base_width=B and width=W"),
        ("mup(base_width=0, width=1024)", "positive integers"),
        ("mup(base_width=64, width=1.5)", "positive integers"),
        (
            "mup(base_width=64, width=128, std=0)",
            "std must be finite and > 0",
        ),
        (
            "mup(base_width=64, width=128, zero_readout=yes)",
            "zero_readout must be true or false",
        ),
        (
            "mup(base_width=64, width=128, depth=3)",
            "mup takes base_width, width, std and zero_readout",
        ),
        (
            "mup(base_width=64, base_width=128, width=128)",
            "expected torch-defaults",
        ),
        ("deepnorm", "expected torch-defaults"),
        ("deepnorm()", "deepnorm needs layers=N"),
        ("deepnorm(layers=-3)", "positive integers"),
        (
            "deepnorm(layers=12, arch=seq2seq)",
            "arch must be decoder or encoder",
        ),
        (
            "deepnorm(layers=12, encoder_layers=6)",
            "deepnorm needs layers=N",
        ),
        ("deepnorm(encoder_layers=6)", "deepnorm needs layers=N"),
        (
            "deepnorm(encoder_layers=6, decoder_layers=6, arch=encoder)",
            "arch goes with layers=N",
        ),
        (
            "deepnorm(layers=12, heads=4)",
            "deepnorm takes layers and arch",
        ),
        ("olmo(std=-0.02)", "std must be finite and > 0"),
        ("olmo(cutoff=2)", "olmo takes std"),
        (
            "t5(d_model=512, d_kv=64, d_ff=2048)",
            "t5 needs d_model, d_kv, d_ff and num_heads",
        ),
        (
            "t5(d_model=512, d_kv=64, d_ff=2048, num_heads=8, factor=nan)",
            "factor must be finite and > 0",
        ),
        (
            "t5(d_model=512, d_kv=64, d_ff=2048, num_heads=8, vocab=10)",
            "t5 takes d_model",
        ),
        ("mup(base_width=64 width=128)", "expected torch-defaults"),
    ] {
        let err = text.parse::<Preset>().unwrap_err().to_string();
        assert!(err.contains(says), "{text}: {err}");
        assert!(
            err.contains(text),
            "{text}: the error names the input: {err}"
        );
    }
}

#[test]
fn a_t5_head_outside_the_recipe_is_an_error_naming_it() {
    let set = ParamSet::from_params([
        p("shared.weight", &[10, 8]),
        p("classification_head.out_proj.weight", &[3, 8]),
    ])
    .unwrap();
    let rules = "t5(d_model=8, d_kv=2, d_ff=16, num_heads=4)"
        .parse::<Preset>()
        .unwrap()
        .rules(&set)
        .unwrap();
    let err = set.resolve(&rules).unwrap_err().to_string();
    assert!(err.contains("classification_head.out_proj.weight"), "{err}");
}
