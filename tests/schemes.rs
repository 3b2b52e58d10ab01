//! Init schemes: resolved parameters against the published formulas,
//! sampled statistics, text/JSON round trips and bad input.

use weight_init::scheme::{
    calculate_gain, numel, ClassPriorBias, Fans, Gain, Init, Kaiming, Layout, Nonlinearity, Plan,
    PriorActivation, ResolveOptions, Sparse, Structured, AMBIGUOUS_NAMES, SCHEME_ALIASES,
    SCHEME_NAMES,
};
use weight_init::stats::{normal_cdf, Moments};
use weight_init::{cpu, Distribution, Error, FanMode, TensorKey};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn init(text: &str) -> Init {
    text.parse()
        .unwrap_or_else(|e| panic!("`{text}` should parse: {e}"))
}

fn torch() -> ResolveOptions {
    ResolveOptions::default()
}

fn jax() -> ResolveOptions {
    ResolveOptions::default().with_layout(Layout::Jax)
}

/// The test cases of the issue: shape, layout, and the fans written out by
/// hand from the layout rule (PyTorch `[out, in, *k]`, JAX `[*k, in, out]`).
struct Case {
    shape: &'static [u64],
    layout: Layout,
    fan_in: u64,
    fan_out: u64,
}

const CASES: [Case; 5] = [
    // A: nn.Linear(128, 64).weight
    Case {
        shape: &[64, 128],
        layout: Layout::Torch,
        fan_in: 128,
        fan_out: 64,
    },
    // B: nn.Conv2d(3, 256, 3).weight: fan_in = 3 * 9, fan_out = 256 * 9
    Case {
        shape: &[256, 3, 3, 3],
        layout: Layout::Torch,
        fan_in: 27,
        fan_out: 2304,
    },
    // C: the same conv as a Flax/Keras kernel [kh, kw, in, out]
    Case {
        shape: &[3, 3, 3, 256],
        layout: Layout::Jax,
        fan_in: 27,
        fan_out: 2304,
    },
    // D: [1000, 10] as PyTorch [out, in]
    Case {
        shape: &[1000, 10],
        layout: Layout::Torch,
        fan_in: 10,
        fan_out: 1000,
    },
    // E: [64, 128] as a Flax Dense kernel [in, out]
    Case {
        shape: &[64, 128],
        layout: Layout::Jax,
        fan_in: 64,
        fan_out: 128,
    },
];

fn opts(case: &Case) -> ResolveOptions {
    ResolveOptions::default().with_layout(case.layout)
}

/// f32 parameters against f64 formulas: the only difference allowed is the
/// final rounding to f32 (relative 2^-24) plus the last f64 bits of the
/// formula's evaluation order; 2^-22 leaves room for both and nothing else.
fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= want.abs() * 2f64.powi(-22)
}

fn sample_dist(plan: Plan) -> Distribution {
    match plan {
        Plan::Sample(d) => d,
        other => panic!("expected Plan::Sample, got {other:?}"),
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Symmetric uniform with this bound.
    U,
    /// Centred normal with this std.
    N,
    /// Centred normal with this parent std, cut at +-2 parent std.
    T,
}
use Kind::{N, T, U};

fn check_dist(what: &str, d: &Distribution, kind: Kind, want: f64) {
    match (kind, d) {
        (U, Distribution::Uniform(u)) => {
            assert!(
                close(u.high() as f64, want) && close(u.low() as f64, -want),
                "{what}: got U({}, {}), want U(+-{want})",
                u.low(),
                u.high()
            );
        }
        (N, Distribution::Normal(n)) => {
            assert_eq!(n.mean(), 0.0, "{what}");
            assert!(
                close(n.std() as f64, want),
                "{what}: got std {}, want {want}",
                n.std()
            );
        }
        (T, Distribution::TruncatedNormal(t)) => {
            assert_eq!(t.mean(), 0.0, "{what}");
            assert!(
                close(t.std() as f64, want),
                "{what}: got std {}, want {want}",
                t.std()
            );
            let (a, b) = t.std_bounds();
            assert!(
                (a + 2.0).abs() < 1e-12 && (b - 2.0).abs() < 1e-12,
                "{what}: cut {a}, {b}"
            );
        }
        _ => panic!("{what}: expected {kind:?}, got {d:?}"),
    }
}

// ---------------------------------------------------------------------------
// 1. Resolved distributions equal the published formulas
// ---------------------------------------------------------------------------

/// Fans as the layout rule gives them, before any scheme.
#[test]
fn fans_of_the_issue_shapes() {
    for case in &CASES {
        let f = Fans::from_shape(case.shape, case.layout, 1).unwrap();
        assert_eq!(
            (f.fan_in(), f.fan_out()),
            (case.fan_in, case.fan_out),
            "{:?}",
            case.shape
        );
    }
    // Grouped convolution: PyTorch stores [out, in / groups, k, k]; fan_in is
    // already per group, fan_out = out / groups * k * k.
    let f = Fans::from_shape(&[256, 8, 3, 3], Layout::Torch, 4).unwrap();
    assert_eq!((f.fan_in(), f.fan_out()), (8 * 9, 64 * 9));
    let f = Fans::from_shape(&[3, 3, 8, 256], Layout::Jax, 4).unwrap();
    assert_eq!((f.fan_in(), f.fan_out()), (8 * 9, 64 * 9));
    assert_eq!(
        Fans::from_shape(&[5, 7, 2, 3, 4], Layout::Torch, 1)
            .unwrap()
            .fan_in(),
        7 * 24
    );
}

/// Expected values computed from the published formulas (PyTorch's
/// `torch.nn.init`, JAX's `jax.nn.initializers`) with the fans of CASES
/// A..E, written out as numbers. `n` is the fan the mode selects.
#[rustfmt::skip]
const FAN_BASED: &[(&str, Kind, [f64; 5])] = &[
    // bound = gain * sqrt(6 / (fan_in + fan_out)), gain 1  (torch.nn.init.xavier_uniform_)
    ("xavier_uniform", U, [0.1767766952966369, 0.050734628943184104, 0.050734628943184104, 0.0770752493308062, 0.1767766952966369]),
    // the same: jax.nn.initializers.glorot_uniform = variance_scaling(1, fan_avg, uniform): sqrt(3 / ((fan_in + fan_out) / 2))
    ("glorot_uniform", U, [0.1767766952966369, 0.050734628943184104, 0.050734628943184104, 0.0770752493308062, 0.1767766952966369]),
    // bound = 5/3 * sqrt(6 / (fan_in + fan_out))  (gain = calculate_gain('tanh'))
    ("xavier_uniform(gain=tanh)", U, [0.2946278254943948, 0.08455771490530685, 0.08455771490530685, 0.128458748884677, 0.2946278254943948]),
    // std = gain * sqrt(2 / (fan_in + fan_out))  (torch.nn.init.xavier_normal_)
    ("xavier_normal", N, [0.10206207261596575, 0.02929165167758312, 0.02929165167758312, 0.04449941594899848, 0.10206207261596575]),
    // bound = gain * sqrt(3 / fan_in), gain = calculate_gain('leaky_relu', 0) = sqrt(2)  (torch.nn.init.kaiming_uniform_ defaults)
    ("kaiming_uniform", U, [0.21650635094610965, 0.4714045207910317, 0.4714045207910317, 0.7745966692414834, 0.3061862178478973]),
    // bound = sqrt(6 / fan_in)  (jax.nn.initializers.he_uniform = variance_scaling(2, fan_in, uniform))
    ("he_uniform", U, [0.21650635094610965, 0.4714045207910317, 0.4714045207910317, 0.7745966692414834, 0.30618621784789724]),
    // bound = sqrt(2 / (1 + 0.2^2)) * sqrt(3 / fan_out)  (kaiming_uniform_(a=0.2, mode='fan_out'))
    ("kaiming_uniform(a=0.2, mode=fan_out)", U, [0.30024028838453837, 0.05004004806408972, 0.05004004806408972, 0.07595545253127499, 0.21230194390211168]),
    // std = sqrt(2) / sqrt(fan_out)  (torch.nn.init.kaiming_normal_(mode='fan_out', nonlinearity='relu'))
    ("kaiming_normal(mode=fan_out, nonlinearity=relu)", N, [0.1767766952966369, 0.029462782549439483, 0.029462782549439483, 0.0447213595499958, 0.125]),
    // std = 5/3 / sqrt(fan_in)
    ("kaiming_normal(nonlinearity=tanh)", N, [0.1473139127471974, 0.3207501495497921, 0.3207501495497921, 0.5270462766947299, 0.20833333333333334]),
    // std = 3/4 / sqrt(fan_in)  (PyTorch's selu gain)
    ("kaiming_normal(nonlinearity=selu)", N, [0.06629126073623882, 0.14433756729740643, 0.14433756729740643, 0.23717082451262844, 0.09375]),
    // bound = sqrt(3 / fan_in)  (jax.nn.initializers.lecun_uniform)
    ("lecun_uniform", U, [0.15309310892394862, 0.3333333333333333, 0.3333333333333333, 0.5477225575051661, 0.21650635094610965]),
    // std = 1 / sqrt(fan_in)  (torch kaiming_normal_(nonlinearity='linear'))
    ("lecun_normal_untruncated", N, [0.08838834764831843, 0.19245008972987526, 0.19245008972987526, 0.31622776601683794, 0.125]),
    // parent std = sqrt(1 / fan_in) / 0.87962566103423978, cut at +-2 parent std  (keras VarianceScaling defaults)
    ("variance_scaling", T, [0.10048404857174567, 0.21878635225761572, 0.21878635225761572, 0.35950266121730234, 0.14210590429231956]),
    // bound = sqrt(3 * 2 / ((fan_in + fan_out) / 2))  (variance_scaling(2, 'fan_avg', 'uniform'))
    ("variance_scaling(2, fan_avg, uniform)", U, [0.25, 0.07174960033341753, 0.07174960033341753, 0.10900086292691394, 0.25]),
    // std = sqrt(0.5 / fan_out)  (variance_scaling(0.5, 'fan_out', 'normal') in JAX)
    ("variance_scaling(0.5, fan_out, untruncated_normal)", N, [0.08838834764831845, 0.01473139127471974, 0.01473139127471974, 0.022360679774997897, 0.0625]),
    // parent std = sqrt(1 / ((fan_in + fan_out) / 2)) / 0.87962566103423978  (jax.nn.initializers.glorot_normal)
    ("jax_glorot_normal", T, [0.11602898498432158, 0.03330013319886871, 0.03330013319886871, 0.050589037951299966, 0.11602898498432158]),
    // parent std = sqrt(2 / fan_in) / 0.87962566103423978  (jax.nn.initializers.he_normal)
    ("jax_he_normal", T, [0.14210590429231956, 0.3094106266248576, 0.3094106266248576, 0.508413539202729, 0.20096809714349134]),
    // parent std = sqrt(1 / fan_in) / 0.87962566103423978  (jax.nn.initializers.lecun_normal)
    ("jax_lecun_normal", T, [0.10048404857174567, 0.21878635225761572, 0.21878635225761572, 0.35950266121730234, 0.14210590429231956]),
    // bound = sqrt(3) * sqrt(2 / (1 + 5)) / sqrt(fan_in) = 1 / sqrt(fan_in)  (nn.Linear / nn.Conv2d weight: kaiming_uniform_(a=sqrt(5)))
    ("torch_default_weight", U, [0.08838834764831843, 0.19245008972987526, 0.19245008972987526, 0.31622776601683794, 0.125]),
];

#[test]
fn fan_based_schemes_match_published_formulas() {
    for (text, kind, wants) in FAN_BASED {
        let scheme = init(text);
        for (case, &want) in CASES.iter().zip(wants) {
            let what = format!("{text} on {:?} ({:?})", case.shape, case.layout);
            let d = sample_dist(scheme.resolve(case.shape, &opts(case)).unwrap());
            check_dist(&what, &d, *kind, want);
        }
    }
}

/// `torch_default_bias` on the bias `[out]` of each weight, with the
/// weight's fans: bound = 1 / sqrt(fan_in of the weight) (nn.Linear /
/// nn.Conv2d `reset_parameters`).
#[test]
fn torch_default_bias_uses_the_weight_fan_in() {
    #[rustfmt::skip]
    let wants = [0.08838834764831843, 0.19245008972987526, 0.19245008972987526, 0.31622776601683794, 0.125];
    let bias = init("torch_default_bias");
    for (case, want) in CASES.iter().zip(wants) {
        let fans = Fans::from_shape(case.shape, case.layout, 1).unwrap();
        let out = match case.layout {
            Layout::Torch => case.shape[0],
            Layout::Jax => case.shape[case.shape.len() - 1],
            other => panic!("no output axis for {other}"),
        };
        let plan = bias.resolve(&[out], &opts(case).with_fans(fans)).unwrap();
        check_dist("torch_default_bias", &sample_dist(plan), U, want);
    }
}

/// Schemes whose parameters do not depend on the shape: the same plan on
/// every case.
#[test]
fn shape_free_schemes_match_published_formulas() {
    let std_of_gpt2 = 0.004082482904638631; // 0.02 / sqrt(2 * 12)
    #[rustfmt::skip]
    let table: &[(&str, Distribution)] = &[
        ("zeros", Distribution::Constant(0.0)),                 // torch.nn.init.zeros_
        ("torch_norm_bias", Distribution::Constant(0.0)),       // nn.LayerNorm.bias
        ("ones", Distribution::Constant(1.0)),                  // torch.nn.init.ones_
        ("torch_norm_weight", Distribution::Constant(1.0)),     // nn.LayerNorm.weight
        ("constant(0.5)", Distribution::Constant(0.5)),         // torch.nn.init.constant_(0.5)
        ("relu_bias", Distribution::Constant(0.01)),            // ReLU bias 0.01
        ("uniform(-0.1, 0.1)", weight_init::Uniform::new(-0.1, 0.1).unwrap().into()),
        ("uniform", weight_init::Uniform::new(0.0, 1.0).unwrap().into()), // torch uniform_ defaults a=0, b=1
        ("normal(0, 0.02)", weight_init::Normal::new(0.0, 0.02).unwrap().into()),
        ("small_normal", weight_init::Normal::new(0.0, 0.02).unwrap().into()),
        ("torch_embedding", weight_init::Normal::new(0.0, 1.0).unwrap().into()), // nn.Embedding: N(0, 1)
        ("gpt2_residual(12)", weight_init::Normal::new(0.0, std_of_gpt2 as f32).unwrap().into()),
        // torch trunc_normal_(std=0.02): absolute bounds a=-2, b=2 (i.e. +-100 std)
        ("trunc_normal(std=0.02)", weight_init::TruncatedNormal::new(0.0, 0.02, -2.0, 2.0).unwrap().into()),
        ("trunc_normal(0, 0.02, -0.04, 0.04)", weight_init::TruncatedNormal::new(0.0, 0.02, -0.04, 0.04).unwrap().into()),
        // jax truncated_normal(stddev=0.02): bounds in std units, +-2 std
        ("jax_truncated_normal(std=0.02)", weight_init::TruncatedNormal::with_std_bounds(0.0, 0.02, -2.0, 2.0).unwrap().into()),
        // jax.nn.initializers.truncated_normal default stddev 1e-2
        ("jax_truncated_normal", weight_init::TruncatedNormal::with_std_bounds(0.0, 0.01, -2.0, 2.0).unwrap().into()),
        // keras.initializers.TruncatedNormal default stddev 0.05
        ("keras_truncated_normal", weight_init::TruncatedNormal::with_std_bounds(0.0, 0.05, -2.0, 2.0).unwrap().into()),
    ];
    for (text, want) in table {
        for case in &CASES {
            let d = sample_dist(init(text).resolve(case.shape, &opts(case)).unwrap());
            assert_eq!(&d, want, "{text} on {:?}", case.shape);
        }
    }
}

#[test]
fn gains_match_calculate_gain() {
    // torch.nn.init.calculate_gain's table.
    let one = [
        Nonlinearity::Linear,
        Nonlinearity::Conv1d,
        Nonlinearity::Conv2d,
        Nonlinearity::Conv3d,
        Nonlinearity::ConvTranspose1d,
        Nonlinearity::ConvTranspose2d,
        Nonlinearity::ConvTranspose3d,
        Nonlinearity::Sigmoid,
    ];
    for n in one {
        assert_eq!(n.gain(), 1.0, "{n}");
    }
    assert_eq!(Nonlinearity::Tanh.gain(), 5.0 / 3.0);
    assert_eq!(Nonlinearity::Relu.gain(), std::f64::consts::SQRT_2);
    assert_eq!(Nonlinearity::Selu.gain(), 0.75);
    // leaky_relu: sqrt(2 / (1 + 0.01^2)) by default.
    assert_eq!(Nonlinearity::LeakyRelu.gain(), 1.4141428569978354);
    assert_eq!(
        calculate_gain(Nonlinearity::LeakyRelu, None).unwrap(),
        1.4141428569978354
    );
    // leaky_relu(a = sqrt(5)): sqrt(2 / 6), nn.Linear's default.
    let g = calculate_gain(Nonlinearity::LeakyRelu, Some(5f64.sqrt())).unwrap();
    assert!((g - 0.5773502691896258).abs() < 1e-15);
    // The parameter only matters for leaky_relu, as in PyTorch.
    assert_eq!(
        calculate_gain(Nonlinearity::Relu, Some(0.3)).unwrap(),
        2f64.sqrt()
    );
    assert!(calculate_gain(Nonlinearity::LeakyRelu, Some(f64::NAN)).is_err());
    for n in Nonlinearity::ALL {
        assert_eq!(n.name().parse::<Nonlinearity>().unwrap(), n);
    }
}

/// Structured schemes: validated parameters and shape facts.
#[test]
fn structured_schemes_carry_shape_facts() {
    let s = |text: &str, case: &Case| match init(text).resolve(case.shape, &opts(case)) {
        Ok(Plan::Structured(s)) => Ok(s),
        Ok(other) => panic!("{text}: {other:?}"),
        Err(e) => Err(e),
    };
    // orthogonal: torch flattens to [shape[0], rest], JAX to [rest, shape[-1]].
    let orth = [(64, 128), (256, 27), (27, 256), (1000, 10), (64, 128)];
    for (case, (rows, cols)) in CASES.iter().zip(orth) {
        assert_eq!(
            s("orthogonal(gain=2)", case).unwrap(),
            Structured::Orthogonal {
                gain: 2.0,
                rows,
                cols
            }
        );
    }
    // eye / identity: 2-D only.
    for (i, case) in CASES.iter().enumerate() {
        let eye = s("eye", case);
        let id = s("identity(0.5)", case);
        if case.shape.len() == 2 {
            let (rows, cols) = (case.shape[0], case.shape[1]);
            assert_eq!(
                eye.unwrap(),
                Structured::Eye {
                    gain: 1.0,
                    rows,
                    cols
                }
            );
            assert_eq!(
                id.unwrap(),
                Structured::Eye {
                    gain: 0.5,
                    rows,
                    cols
                }
            );
        } else {
            assert!(matches!(eye, Err(Error::InvalidShape { .. })), "case {i}");
            assert!(matches!(id, Err(Error::InvalidShape { .. })), "case {i}");
        }
    }
    // dirac and delta_orthogonal: 3-5-D; out 256, in 3, kernel 3x3 in both layouts.
    for case in &CASES[1..3] {
        assert_eq!(
            s("dirac(groups=2)", case).unwrap(),
            Structured::Dirac {
                groups: 2,
                out_channels: 256,
                in_channels: 3,
                kernel: vec![3, 3],
                layout: case.layout
            }
        );
        assert_eq!(
            s("delta_orthogonal", case).unwrap(),
            Structured::DeltaOrthogonal {
                gain: 1.0,
                out_channels: 256,
                in_channels: 3,
                kernel: vec![3, 3],
                layout: case.layout
            }
        );
    }
    // sparse: 2-D; ceil(sparsity * outputs) zeros per input (torch.nn.init.sparse_).
    let a = s("sparse(0.1)", &CASES[0]).unwrap();
    assert_eq!(
        a,
        Structured::Sparse {
            sparsity: 0.1,
            std: 0.01,
            outputs: 64,
            inputs: 128,
            zeros_per_input: 7, // ceil(0.1 * 64) = ceil(6.4)
            layout: Layout::Torch
        }
    );
    let d = s("sparse(0.1)", &CASES[3]).unwrap();
    // ceil(0.1 * 1000) = 100 exactly, as Python's math.ceil(0.1 * 1000).
    assert!(matches!(
        d,
        Structured::Sparse {
            zeros_per_input: 100,
            outputs: 1000,
            inputs: 10,
            ..
        }
    ));
    let e = s("sparse(0.1)", &CASES[4]).unwrap();
    assert!(matches!(
        e,
        Structured::Sparse {
            zeros_per_input: 13,
            outputs: 128,
            inputs: 64,
            ..
        }
    ));
    assert!(s("sparse(0.1)", &CASES[1]).is_err());
}

#[test]
fn lstm_forget_bias_segments() {
    // hidden = 128: gates i, f, g, o; forget = 1, others U(+-1/sqrt(128)) (nn.LSTM default).
    let Plan::Segments(seg) = init("lstm_forget_bias").resolve(&[512], &torch()).unwrap() else {
        panic!()
    };
    let bound = 0.08838834764831843; // 1 / sqrt(128)
    let ranges: Vec<_> = seg.iter().map(|(r, _)| r.clone()).collect();
    assert_eq!(ranges, vec![0..128, 128..256, 256..384, 384..512]);
    assert_eq!(seg[1].1, Distribution::Constant(1.0));
    for i in [0, 2, 3] {
        check_dist("lstm other gate", &seg[i].1, U, bound);
    }
    let Plan::Segments(seg) = init("lstm_forget_bias(2.5)")
        .resolve(&[8], &torch())
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(seg[1], (2..4, Distribution::Constant(2.5)));
}

#[test]
fn class_prior_bias_values() {
    // softmax: b_k = ln p_k.
    let plan = init("class_prior_bias([0.7, 0.2, 0.1])")
        .resolve(&[3], &torch())
        .unwrap();
    let want = [
        -0.35667494393873245f64,
        -1.6094379124341003,
        -2.3025850929940455,
    ];
    let Plan::Values(v) = plan else { panic!() };
    for (g, w) in v.iter().zip(want) {
        assert!(close(*g as f64, w), "{g} vs {w}");
    }
    // sigmoid: b_k = ln(pi / (1 - pi)); RetinaNet's pi = 0.01 broadcasts.
    let plan = init("class_prior_bias(0.01, sigmoid)")
        .resolve(&[80], &torch())
        .unwrap();
    let Distribution::Constant(c) = sample_dist(plan) else {
        panic!()
    };
    assert!(close(c as f64, -4.59511985013459));
    let plan = init("class_prior_bias([0.5, 0.25], sigmoid)")
        .resolve(&[2], &torch())
        .unwrap();
    let Plan::Values(v) = plan else { panic!() };
    assert_eq!(v[0], 0.0);
    assert!(close(v[1] as f64, (1.0f64 / 3.0).ln()));
}

// ---------------------------------------------------------------------------
// 2. Sampled statistics on 10^6 elements
// ---------------------------------------------------------------------------

fn phi(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Std of N(0, std^2) conditioned on [alpha, beta] std units (finite):
/// Var = std^2 [1 + (alpha phi(alpha) - beta phi(beta)) / Z
///              - ((phi(alpha) - phi(beta)) / Z)^2],  Z = Phi(beta) - Phi(alpha).
fn truncated_std(std: f64, alpha: f64, beta: f64) -> f64 {
    let z = normal_cdf(beta) - normal_cdf(alpha);
    let (pa, pb) = (phi(alpha), phi(beta));
    let var = 1.0 + (alpha * pa - beta * pb) / z - ((pa - pb) / z).powi(2);
    std * var.sqrt()
}

/// What the formula says a scheme's samples look like.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// U(-bound, bound): std bound / sqrt(3), never reaching `bound`.
    Uniform(f64),
    /// N(0, std^2).
    Normal(f64),
    /// Truncated normal: std of the truncated distribution, absolute cut.
    Truncated { std: f64, cut: f64 },
    /// Every element equal.
    Constant(f64),
}

const N_SAMPLES: u64 = 1_000_000;

/// Fills `numel` elements of `dist` through the CPU backend.
fn fill(dist: &Distribution, stream: u64) -> Vec<f32> {
    let mut out = vec![0.0f32; N_SAMPLES as usize];
    let key = TensorKey::new(0x5eed_1234, stream, N_SAMPLES);
    cpu::fill_f32(dist, &key, 0..N_SAMPLES, &mut out).unwrap();
    out
}

/// Checks samples against the formula.
///
/// Tolerance reasoning. For n = 10^6 samples the standard error of the
/// sample std is sigma * sqrt((kurtosis - 1) / (4n)): 0.071% of sigma for a
/// normal (kurtosis 3), 0.045% for a uniform (1.8), less than the normal's
/// for a truncated normal. The 1% tolerance is therefore at least 14
/// standard errors: a correct sampler fails it with probability far below
/// 1e-40, while a wrong formula (a missing sqrt(3), the 0.8796 correction,
/// a swapped fan) is off by 5% or more. The mean is held to 6 standard
/// errors (sigma / sqrt(n)). Seeds are fixed, so the test is deterministic.
fn check_samples(what: &str, xs: &[f32], expect: Expect) {
    let m = Moments::of(xs);
    let se_mean = |s: f64| 6.0 * s / (xs.len() as f64).sqrt();
    let std_ok = |want: f64| (m.std - want).abs() <= 0.01 * want;
    match expect {
        Expect::Constant(c) => {
            assert!(xs.iter().all(|&x| x == c as f32), "{what}: not all {c}");
        }
        Expect::Uniform(bound) => {
            let want = bound / 3f64.sqrt();
            assert!(std_ok(want), "{what}: std {} vs {want}", m.std);
            assert!(m.mean.abs() <= se_mean(want), "{what}: mean {}", m.mean);
            // The bound itself (as f32) is never reached, never exceeded.
            let b = bound as f32 as f64;
            assert!(
                m.min >= -b && m.max < b,
                "{what}: range [{}, {}] vs +-{b}",
                m.min,
                m.max
            );
        }
        Expect::Normal(want) => {
            assert!(std_ok(want), "{what}: std {} vs {want}", m.std);
            assert!(m.mean.abs() <= se_mean(want), "{what}: mean {}", m.mean);
        }
        Expect::Truncated { std, cut } => {
            assert!(std_ok(std), "{what}: std {} vs {std}", m.std);
            assert!(m.mean.abs() <= se_mean(std), "{what}: mean {}", m.mean);
            let c = cut as f32 as f64;
            assert!(
                m.min >= -c && m.max <= c,
                "{what}: range [{}, {}] vs +-{c}",
                m.min,
                m.max
            );
        }
    }
}

/// The formula value of every elementwise scheme for given fans, computed
/// here from the published formulas, independently of `resolve`.
fn formula(text: &str, fi: f64, fo: f64) -> Expect {
    const C: f64 = 0.879_625_661_034_239_8; // std of N(0,1) cut at +-2
    let favg = (fi + fo) / 2.0;
    // JAX variance_scaling(truncated_normal): the parent std sigma / C, cut
    // at +-2 parent std, has truncated std sigma = sqrt(scale / n) by
    // construction; check that it does, then expect sigma.
    let vs_trunc = |scale: f64, n: f64| {
        let sigma = (scale / n).sqrt();
        let parent = sigma / C;
        assert!((truncated_std(parent, -2.0, 2.0) - sigma).abs() < 1e-12 * sigma);
        Expect::Truncated {
            std: sigma,
            cut: 2.0 * parent,
        }
    };
    match text {
        "zeros" => Expect::Constant(0.0),
        "ones" => Expect::Constant(1.0),
        "constant(0.5)" => Expect::Constant(0.5),
        "relu_bias" => Expect::Constant(0.01),
        "uniform(-0.1, 0.1)" => Expect::Uniform(0.1),
        "normal(0, 0.02)" | "small_normal" => Expect::Normal(0.02),
        "torch_embedding" => Expect::Normal(1.0),
        // torch trunc_normal_(std=0.5, a=-1, b=1): +-2 std cut.
        "trunc_normal(0, 0.5, -1, 1)" => Expect::Truncated {
            std: truncated_std(0.5, -2.0, 2.0),
            cut: 1.0,
        },
        // torch trunc_normal_(std=1, a=-0.5, b=1.5): asymmetric (mean not 0):
        // handled separately below.
        "jax_truncated_normal(std=0.02)" => Expect::Truncated {
            std: truncated_std(0.02, -2.0, 2.0),
            cut: 0.04,
        },
        "gpt2_residual(12)" => Expect::Normal(0.02 / 24f64.sqrt()),
        "xavier_uniform" => Expect::Uniform((6.0 / (fi + fo)).sqrt()),
        "xavier_normal" => Expect::Normal((2.0 / (fi + fo)).sqrt()),
        "xavier_normal(gain=tanh)" => Expect::Normal(5.0 / 3.0 * (2.0 / (fi + fo)).sqrt()),
        "kaiming_uniform" => Expect::Uniform(2f64.sqrt() * (3.0 / fi).sqrt()),
        "kaiming_uniform(a=0.2, mode=fan_out)" => {
            Expect::Uniform((2.0 / 1.04f64).sqrt() * (3.0 / fo).sqrt())
        }
        "kaiming_normal" => Expect::Normal(2f64.sqrt() / fi.sqrt()),
        "kaiming_normal(mode=fan_out, nonlinearity=relu)" => Expect::Normal((2.0 / fo).sqrt()),
        "lecun_uniform" => Expect::Uniform((3.0 / fi).sqrt()),
        "lecun_normal_untruncated" => Expect::Normal((1.0 / fi).sqrt()),
        "variance_scaling" => vs_trunc(1.0, fi),
        "variance_scaling(2, fan_avg, uniform)" => Expect::Uniform((6.0 / favg).sqrt()),
        "variance_scaling(0.5, fan_out, untruncated_normal)" => Expect::Normal((0.5 / fo).sqrt()),
        "variance_scaling(3, fan_out, truncated_normal)" => vs_trunc(3.0, fo),
        "jax_glorot_normal" => vs_trunc(1.0, favg),
        "jax_he_normal" => vs_trunc(2.0, fi),
        "jax_lecun_normal" => vs_trunc(1.0, fi),
        "torch_default_weight" => Expect::Uniform(1.0 / fi.sqrt()),
        other => panic!("no formula for {other}"),
    }
}

const SAMPLED: &[&str] = &[
    "zeros",
    "ones",
    "constant(0.5)",
    "relu_bias",
    "uniform(-0.1, 0.1)",
    "normal(0, 0.02)",
    "small_normal",
    "torch_embedding",
    "trunc_normal(0, 0.5, -1, 1)",
    "jax_truncated_normal(std=0.02)",
    "gpt2_residual(12)",
    "xavier_uniform",
    "xavier_normal",
    "xavier_normal(gain=tanh)",
    "kaiming_uniform",
    "kaiming_uniform(a=0.2, mode=fan_out)",
    "kaiming_normal",
    "kaiming_normal(mode=fan_out, nonlinearity=relu)",
    "lecun_uniform",
    "lecun_normal_untruncated",
    "variance_scaling",
    "variance_scaling(2, fan_avg, uniform)",
    "variance_scaling(0.5, fan_out, untruncated_normal)",
    "variance_scaling(3, fan_out, truncated_normal)",
    "jax_glorot_normal",
    "jax_he_normal",
    "jax_lecun_normal",
    "torch_default_weight",
];

#[test]
fn sampled_std_matches_formula() {
    // 10^6 elements each: PyTorch [2000, 500] (fan_in 500, fan_out 2000) and
    // JAX [5, 5, 100, 400] (fan_in 2500, fan_out 10000): fans differ, so a
    // swapped mode shows.
    let shapes: [(&[u64], ResolveOptions, f64, f64); 2] = [
        (&[2000, 500], torch(), 500.0, 2000.0),
        (&[5, 5, 100, 400], jax(), 2500.0, 10000.0),
    ];
    for (stream, text) in SAMPLED.iter().enumerate() {
        for (shape, opts, fi, fo) in &shapes {
            assert_eq!(numel(shape).unwrap(), N_SAMPLES);
            let d = sample_dist(init(text).resolve(shape, opts).unwrap());
            let xs = fill(&d, stream as u64);
            check_samples(
                &format!("{text} on {shape:?}"),
                &xs,
                formula(text, *fi, *fo),
            );
        }
    }
    // torch_default_bias: the bias of the [2000, 500] weight, fan_in 500.
    let opts = torch().with_fans(Fans::new(500, 2000).unwrap());
    let d = sample_dist(
        init("torch_default_bias")
            .resolve(&[N_SAMPLES], &opts)
            .unwrap(),
    );
    check_samples(
        "torch_default_bias",
        &fill(&d, 99),
        Expect::Uniform(1.0 / 500f64.sqrt()),
    );
}

#[test]
fn sampled_asymmetric_trunc_normal() {
    // torch trunc_normal_(mean=0.25, std=1, a=-0.5, b=1.5): alpha = -0.75,
    // beta = 1.25 std units; the truncated std comes from the formula, and
    // every sample lies in [a, b].
    let d = sample_dist(
        init("trunc_normal(0.25, 1, -0.5, 1.5)")
            .resolve(&[N_SAMPLES], &torch())
            .unwrap(),
    );
    let xs = fill(&d, 7);
    let m = Moments::of(&xs);
    let want = truncated_std(1.0, -0.75, 1.25);
    assert!(
        (m.std - want).abs() <= 0.01 * want,
        "std {} vs {want}",
        m.std
    );
    assert!(m.min >= -0.5 && m.max <= 1.5);
}

#[test]
fn sampled_lstm_bias_segments() {
    // hidden = 250000: 10^6 elements in four gates of 2.5e5 each. Uniform
    // gate std SE = 0.045% / sqrt(0.25) = 0.09%: 1% is 11 SE.
    let Plan::Segments(seg) = init("lstm_forget_bias")
        .resolve(&[N_SAMPLES], &torch())
        .unwrap()
    else {
        panic!()
    };
    let key = TensorKey::new(2024, 5, N_SAMPLES);
    let mut out = vec![f32::NAN; N_SAMPLES as usize];
    for (range, dist) in &seg {
        let slice = &mut out[range.start as usize..range.end as usize];
        cpu::fill_f32(dist, &key, range.clone(), slice).unwrap();
    }
    let h = 250_000usize;
    check_samples("lstm forget gate", &out[h..2 * h], Expect::Constant(1.0));
    for g in [0, 2, 3] {
        let what = format!("lstm gate {g}");
        check_samples(
            &what,
            &out[g * h..(g + 1) * h],
            Expect::Uniform(1.0 / 500.0),
        );
    }
}

// ---------------------------------------------------------------------------
// 3. Text form and JSON round trips
// ---------------------------------------------------------------------------

/// One text per scheme, with non-default parameters where it has any.
const ROUND_TRIP: &[&str] = &[
    "zeros",
    "ones",
    "constant(0.5)",
    "uniform(-0.1, 0.1)",
    "normal(0.5, 0.02)",
    "trunc_normal(std=0.02, a=-0.04, b=inf)",
    "jax_truncated_normal(0.1, 0.02, -1, 3)",
    "xavier_uniform(gain=tanh)",
    "xavier_normal(2)",
    "kaiming_uniform(a=0.2, mode=fan_out)",
    "kaiming_normal(mode=fan_out, nonlinearity=relu)",
    "lecun_uniform",
    "lecun_normal_untruncated",
    "variance_scaling(2, fan_avg, uniform)",
    "jax_glorot_normal",
    "jax_he_normal",
    "jax_lecun_normal",
    "torch_default_weight",
    "torch_default_bias",
    "gpt2_residual(12, std=0.01)",
    "normal_padded(0.5, 0.02, padding_idx=3)",
    "lstm_forget_bias(2)",
    "class_prior_bias([0.7, 0.2, 0.1])",
    "class_prior_bias(0.01, sigmoid)",
    "orthogonal(1.5)",
    "eye",
    "identity(0.5)",
    "dirac(groups=2)",
    "sparse(0.9, std=0.02)",
    "delta_orthogonal(gain=relu)",
];

#[test]
fn every_scheme_round_trips_through_text_and_json() {
    let mut covered: Vec<&str> = Vec::new();
    for text in ROUND_TRIP {
        let a = init(text);
        covered.push(a.name());
        // Text: Display parses back to the same value, and is a fixed point.
        let shown = a.to_string();
        let b: Init = shown.parse().unwrap_or_else(|e| panic!("{shown}: {e}"));
        assert_eq!(a, b, "{text} -> {shown}");
        assert_eq!(b.to_string(), shown);
        // JSON (feature `serde`): internally tagged with the canonical name.
        #[cfg(feature = "serde")]
        {
            let json = serde_json::to_string(&a).unwrap();
            assert!(
                json.starts_with(&format!("{{\"scheme\":\"{}\"", a.name())),
                "{json}"
            );
            let c: Init = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(a, c, "{json}");
        }
    }
    covered.sort_unstable();
    covered.dedup();
    let mut all = SCHEME_NAMES.to_vec();
    all.sort_unstable();
    assert_eq!(covered, all, "every scheme is round-tripped");
}

#[test]
fn defaults_and_aliases() {
    // PyTorch / JAX / Keras defaults.
    let pairs = [
        (
            "kaiming_normal",
            "kaiming_normal(a=0, mode=fan_in, nonlinearity=leaky_relu)",
        ),
        (
            "kaiming_uniform()",
            "kaiming_uniform(0, fan_in, leaky_relu)",
        ),
        ("trunc_normal", "trunc_normal(mean=0, std=1, a=-2, b=2)"),
        (
            "jax_truncated_normal",
            "jax_truncated_normal(0, 0.01, -2, 2)",
        ),
        (
            "variance_scaling",
            "variance_scaling(1, fan_in, truncated_normal)",
        ),
        ("xavier_uniform", "xavier_uniform(1)"),
        ("uniform", "uniform(0, 1)"),
        ("normal", "normal(0, 1)"),
        ("sparse(0.5)", "sparse(0.5, 0.01)"),
        ("gpt2_residual(n_layers=6)", "gpt2_residual(6, 0.02)"),
        (
            "class_prior_bias([0.5, 0.5])",
            "class_prior_bias([0.5, 0.5], softmax)",
        ),
        ("dirac", "dirac(1)"),
        ("lstm_forget_bias", "lstm_forget_bias(forget=1)"),
        // Whitespace is free.
        ("  normal ( 0 ,\t1 )  ", "normal(0, 1)"),
        (
            "class_prior_bias( [ 0.5 , 0.5 , ] )",
            "class_prior_bias([0.5, 0.5])",
        ),
    ];
    for (a, b) in pairs {
        assert_eq!(init(a), init(b), "{a} vs {b}");
    }
    // Every alias, and what it parses to.
    let aliases = [
        ("glorot_uniform", "xavier_uniform(gain=1)"),
        (
            "he_uniform",
            "kaiming_uniform(a=0, mode=fan_in, nonlinearity=relu)",
        ),
        ("keras_glorot_normal", "jax_glorot_normal"),
        ("keras_he_normal", "jax_he_normal"),
        ("keras_lecun_normal", "jax_lecun_normal"),
        ("keras_truncated_normal", "jax_truncated_normal(std=0.05)"),
        ("torch_linear_weight", "torch_default_weight"),
        ("torch_conv_weight", "torch_default_weight"),
        ("torch_linear_bias", "torch_default_bias"),
        ("torch_conv_bias", "torch_default_bias"),
        ("torch_embedding", "normal(0, 1)"),
        ("torch_norm_weight", "ones"),
        ("torch_norm_bias", "zeros"),
        ("small_normal", "normal(0, 0.02)"),
        ("relu_bias", "constant(0.01)"),
    ];
    assert_eq!(aliases.len(), SCHEME_ALIASES.len());
    for ((alias, target), (listed, _)) in aliases.iter().zip(SCHEME_ALIASES) {
        assert_eq!(alias, listed);
        assert_eq!(init(alias), init(target), "{alias}");
    }
    assert_eq!(init("small_normal(0.01)"), init("normal(0, 0.01)"));
    assert_eq!(
        init("keras_truncated_normal(0.5, 0.1)"),
        init("jax_truncated_normal(0.5, 0.1)")
    );
    assert_eq!(init("relu_bias(0.1)"), init("constant(0.1)"));
    // A gain may be a nonlinearity's name.
    assert_eq!(
        init("orthogonal(gain=relu)"),
        Init::Orthogonal(Gain::new(2f64.sqrt()).unwrap())
    );
    // Rust constructors agree with the text.
    assert_eq!(
        init("kaiming_uniform(a=0.2, mode=fan_out)"),
        Init::KaimingUniform(Kaiming::new(0.2, FanMode::FanOut, Nonlinearity::LeakyRelu).unwrap())
    );
}

#[test]
#[cfg(feature = "serde")]
fn json_form() {
    let j = |s: &str| serde_json::from_str::<Init>(s);
    assert_eq!(
        j(r#"{"scheme":"kaiming_normal","mode":"fan_out","nonlinearity":"relu"}"#).unwrap(),
        init("kaiming_normal(mode=fan_out, nonlinearity=relu)")
    );
    assert_eq!(j(r#"{"scheme":"zeros"}"#).unwrap(), Init::Zeros);
    assert_eq!(
        j(r#"{"scheme":"sparse","sparsity":0.5}"#).unwrap(),
        init("sparse(0.5)")
    );
    // Infinite bounds travel as "inf" / "-inf" (JSON has no infinity).
    let t = init("trunc_normal(a=-inf, b=inf)");
    let json = serde_json::to_string(&t).unwrap();
    assert!(
        json.contains(r#""a":"-inf""#) && json.contains(r#""b":"inf""#),
        "{json}"
    );
    assert_eq!(j(&json).unwrap(), t);
    // Bad JSON is refused, invalid parameters included.
    for bad in [
        r#"{"scheme":"xavier_uniform","gain":-1}"#,
        r#"{"scheme":"kaiming_normal","mode":"fan_avg"}"#,
        r#"{"scheme":"kaiming_normal","mdoe":"fan_out"}"#,
        r#"{"scheme":"variance_scaling","distribution":"normal"}"#,
        r#"{"scheme":"he_normal"}"#,
        r#"{"scheme":"sparse","sparsity":1.0}"#,
        r#"{"scheme":"sparse"}"#,
        r#"{"scheme":"class_prior_bias","priors":[0.5,0.6]}"#,
        r#"{"scheme":"gpt2_residual","n_layers":0}"#,
        r#"{"scheme":"trunc_normal","a":2,"b":-2}"#,
        r#"{"scheme":"dirac","groups":0}"#,
        r#"{"gain":1}"#,
    ] {
        assert!(j(bad).is_err(), "{bad} should be refused");
    }
}

/// A malformed text gets an `Error::Parse` whose position points at the
/// bad part.
#[test]
fn malformed_text_points_at_the_bad_part() {
    // (input, position, the text found there, a word of the message)
    let cases: &[(&str, usize, &str, &str)] = &[
        ("", 0, "", "scheme name"),
        (
            "xavier_unifrom(gain=1)",
            0,
            "xavier_unifrom",
            "xavier_uniform",
        ),
        (
            "kaiming_normal(mode=fan_sideways)",
            20,
            "fan_sideways",
            "fan_out",
        ),
        (
            "kaiming_normal(nonlinearity=gelu)",
            28,
            "gelu",
            "leaky_relu",
        ),
        (
            "kaiming_normal(mode=fan_avg)",
            20,
            "fan_avg",
            "fan_in or fan_out",
        ),
        ("uniform(-0.1, 0.1", 17, "", "`)`"),
        ("uniform(-0.1 0.1)", 13, "0.1)", "`,`"),
        ("uniform(0.1, -0.1)", 13, "-0.1", "greater"),
        ("normal(0, abc)", 10, "abc", "number"),
        ("normal(std=0.02, 0)", 17, "0)", "positional"),
        ("normal(mean=0, mean=1)", 15, "mean=1", "twice"),
        ("normal(0, 1, 2)", 13, "2)", "2 argument"),
        ("normal(sd=1)", 7, "sd", "mean, std"),
        ("normal(0, 1) extra", 13, "extra", "after"),
        ("normal(0, -1)", 10, "-1", "std"),
        ("xavier_uniform(gain=-1)", 20, "-1", "gain"),
        (
            "xavier_uniform(gain=sigmoidal)",
            20,
            "sigmoidal",
            "nonlinearity",
        ),
        ("he_normal", 0, "he_normal", "jax_he_normal"),
        ("glorot_normal", 0, "glorot_normal", "xavier_normal"),
        (
            "lecun_normal",
            0,
            "lecun_normal",
            "lecun_normal_untruncated",
        ),
        (
            "truncated_normal(std=0.02)",
            0,
            "truncated_normal",
            "trunc_normal",
        ),
        (
            "variance_scaling(distribution=normal)",
            30,
            "normal",
            "ambiguous",
        ),
        ("sparse()", 7, ")", "sparsity"),
        ("sparse(1.0)", 7, "1.0", "[0, 1)"),
        ("class_prior_bias([0.5, 0.6])", 17, "[0.5", "sum to 1"),
        ("class_prior_bias([0.5, x])", 23, "x]", "number"),
        ("class_prior_bias([0.5 0.5])", 22, "0.5]", "`]`"),
        ("gpt2_residual(1.5)", 14, "1.5", "whole number"),
        ("gpt2_residual()", 14, ")", "n_layers"),
        ("zeros(1)", 6, "1)", "0 argument"),
        ("orthogonal(gain=[1, 2])", 16, "[1", "single value"),
        ("normal(=1)", 7, "=1", "value"),
        ("normal(0.5=1)", 7, "0.5", "parameter name"),
        ("(1)", 0, "(1)", "scheme name"),
        ("12(1)", 0, "12", "not a scheme name"),
    ];
    for &(input, position, found, word) in cases {
        match input.parse::<Init>() {
            Err(Error::Parse {
                input: i,
                position: p,
                message,
            }) => {
                assert_eq!(i, input);
                assert_eq!(p, position, "`{input}`: {message}");
                assert!(input[p..].starts_with(found), "`{input}` at {p}: {message}");
                assert!(
                    message.contains(word),
                    "`{input}`: `{message}` lacks `{word}`"
                );
            }
            other => panic!("`{input}` should fail to parse, got {other:?}"),
        }
    }
    // An unknown name lists every valid name.
    let Err(Error::Parse { message, .. }) = "nope".parse::<Init>() else {
        panic!()
    };
    for name in SCHEME_NAMES
        .iter()
        .chain(SCHEME_ALIASES.iter().map(|(a, _)| a))
    {
        assert!(message.contains(name), "{name} missing from: {message}");
    }
}

#[test]
fn truncated_texts_never_panic() {
    // Every prefix of every valid text, and a few byte soups, parse or fail
    // cleanly.
    for text in ROUND_TRIP {
        for (i, _) in text.char_indices() {
            let _ = text[..i].parse::<Init>();
        }
    }
    for soup in [
        "((((",
        "normal(",
        "normal)",
        "[",
        "normal([[1]])",
        "é(1)",
        "normal(é)",
        ",",
        "=",
    ] {
        assert!(soup.parse::<Init>().is_err(), "{soup}");
    }
}

/// docs/SCHEMES.md is the single source of the README's scheme table: it
/// lists every name the parser knows.
#[test]
fn scheme_table_lists_every_name() {
    let table = include_str!("../docs/SCHEMES.md");
    let names = SCHEME_NAMES
        .iter()
        .chain(SCHEME_ALIASES.iter().map(|(a, _)| a))
        .chain(AMBIGUOUS_NAMES.iter().map(|(a, _)| a));
    for name in names {
        let ticked = format!("`{name}");
        assert!(table.contains(&ticked), "docs/SCHEMES.md lacks {ticked}`");
    }
}

// ---------------------------------------------------------------------------
// 4. Bad input: errors, never panics
// ---------------------------------------------------------------------------

fn is_shape_err<T: std::fmt::Debug>(r: Result<T, Error>) -> bool {
    matches!(r, Err(Error::InvalidShape { .. }))
}

const FAN_SCHEMES: &[&str] = &[
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "lecun_uniform",
    "lecun_normal_untruncated",
    "variance_scaling",
    "jax_glorot_normal",
    "jax_he_normal",
    "jax_lecun_normal",
    "torch_default_weight",
    "torch_default_bias",
];

#[test]
fn fan_based_schemes_need_two_dims_or_explicit_fans() {
    let fans = Fans::new(100, 10).unwrap();
    for text in FAN_SCHEMES {
        let s = init(text);
        assert!(s.is_fan_based());
        for shape in [&[][..], &[10][..]] {
            for o in [torch(), jax()] {
                assert!(is_shape_err(s.resolve(shape, &o)), "{text} on {shape:?}");
                assert!(
                    s.resolve(shape, &o.with_fans(fans)).is_ok(),
                    "{text} with fans"
                );
            }
        }
    }
    // The bias needs the weight's fans even on a 2-D shape.
    assert!(is_shape_err(
        init("torch_default_bias").resolve(&[10, 10], &torch())
    ));
    // Orthogonal needs 2 dims too.
    assert!(is_shape_err(init("orthogonal").resolve(&[10], &torch())));
    assert!(is_shape_err(init("orthogonal").resolve(&[], &jax())));
}

#[test]
fn zero_sized_or_overflowing_shapes_are_errors_for_every_scheme() {
    for text in ROUND_TRIP {
        let s = init(text);
        for shape in [&[0][..], &[10, 0][..], &[0, 3, 3, 3][..], &[3, 3, 0, 8][..]] {
            for o in [torch(), jax(), torch().with_fans(Fans::new(1, 1).unwrap())] {
                assert!(is_shape_err(s.resolve(shape, &o)), "{text} on {shape:?}");
            }
        }
        assert!(is_shape_err(s.resolve(&[u64::MAX, 3], &torch())), "{text}");
    }
    assert!(is_shape_err(Fans::from_shape(
        &[4, u64::MAX, u64::MAX],
        Layout::Torch,
        1
    )));
    assert!(Fans::new(0, 3).is_err());
}

#[test]
fn groups_must_divide_out_channels() {
    assert!(is_shape_err(Fans::from_shape(
        &[10, 4, 3, 3],
        Layout::Torch,
        3
    )));
    assert!(matches!(
        Fans::from_shape(&[10, 4, 3, 3], Layout::Torch, 0),
        Err(Error::InvalidParameter { name: "groups", .. })
    ));
    let r = init("kaiming_normal").resolve(&[10, 4, 3], &torch().with_groups(4));
    assert!(is_shape_err(r));
}

#[test]
fn bad_gains_are_errors() {
    for g in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(
            matches!(
                Gain::new(g),
                Err(Error::InvalidParameter { name: "gain", .. })
            ),
            "{g}"
        );
    }
    for text in [
        "xavier_uniform(gain=0)",
        "xavier_normal(-2)",
        "orthogonal(gain=-1)",
        "identity(gain=inf)",
        "delta_orthogonal(gain=nan)",
        "variance_scaling(scale=0)",
        "kaiming_normal(a=nan)",
        "kaiming_normal(a=1e300)", // gain sqrt(2 / (1 + a^2)) underflows to 0
    ] {
        assert!(
            matches!(text.parse::<Init>(), Err(Error::Parse { .. })),
            "{text}"
        );
    }
}

#[test]
fn bad_sparsity_is_an_error() {
    for s in [-0.1, 1.0, 1.5, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(
                Sparse::new(s, 0.01),
                Err(Error::InvalidParameter {
                    name: "sparsity",
                    ..
                })
            ),
            "{s}"
        );
    }
    assert!(Sparse::new(0.0, 0.01).is_ok());
    assert!(Sparse::new(0.5, 0.0).is_err());
    // sparse is 2-D only.
    assert!(is_shape_err(init("sparse(0.5)").resolve(&[10], &torch())));
    assert!(is_shape_err(
        init("sparse(0.5)").resolve(&[10, 3, 3], &torch())
    ));
}

#[test]
fn structured_shape_rules() {
    // dirac: 3-5-D only, out channels divisible by groups.
    let dirac = init("dirac");
    for shape in [&[4][..], &[4, 4][..], &[4, 4, 1, 1, 1, 1][..]] {
        assert!(is_shape_err(dirac.resolve(shape, &torch())), "{shape:?}");
    }
    for shape in [&[4, 4, 3][..], &[4, 4, 3, 3][..], &[4, 4, 3, 3, 3][..]] {
        assert!(dirac.resolve(shape, &torch()).is_ok(), "{shape:?}");
    }
    assert!(is_shape_err(
        init("dirac(3)").resolve(&[4, 4, 3, 3], &torch())
    ));
    assert!(is_shape_err(
        init("dirac(3)").resolve(&[3, 3, 4, 4], &jax())
    ));
    assert!(init("dirac(2)").resolve(&[3, 3, 4, 4], &jax()).is_ok());
    // eye / identity: 2-D only.
    for text in ["eye", "identity(2)"] {
        for shape in [&[][..], &[4][..], &[4, 4, 4][..]] {
            assert!(
                is_shape_err(init(text).resolve(shape, &torch())),
                "{text} {shape:?}"
            );
        }
    }
    // delta_orthogonal: 3-5-D and in <= out.
    let delta = init("delta_orthogonal");
    assert!(is_shape_err(delta.resolve(&[4, 4], &torch())));
    assert!(is_shape_err(delta.resolve(&[4, 8, 3, 3], &torch()))); // in 8 > out 4
    assert!(is_shape_err(delta.resolve(&[3, 3, 8, 4], &jax())));
    assert!(delta.resolve(&[8, 4, 3, 3], &torch()).is_ok());
}

#[test]
fn lstm_bias_length_must_be_a_multiple_of_4() {
    let l = init("lstm_forget_bias");
    for shape in [&[10][..], &[1][..], &[6][..]] {
        assert!(is_shape_err(l.resolve(shape, &torch())), "{shape:?}");
    }
    assert!(is_shape_err(l.resolve(&[4, 4], &torch())), "2-D");
    assert!(is_shape_err(l.resolve(&[], &torch())), "0-D");
    assert!(l.resolve(&[4], &torch()).is_ok());
}

#[test]
fn bad_priors_are_errors() {
    let softmax = PriorActivation::Softmax;
    let sigmoid = PriorActivation::Sigmoid;
    for p in [0.0, 1.0, 1.5, -0.1, f64::NAN] {
        assert!(ClassPriorBias::new(vec![p], sigmoid).is_err(), "{p}");
        assert!(ClassPriorBias::new(vec![p, 0.5], softmax).is_err(), "{p}");
    }
    assert!(ClassPriorBias::new(vec![], sigmoid).is_err());
    assert!(ClassPriorBias::new(vec![0.5, 0.4], softmax).is_err()); // sums to 0.9
    assert!(ClassPriorBias::new(vec![0.5, 0.6], softmax).is_err()); // sums to 1.1
    assert!(ClassPriorBias::new(vec![0.5, 0.4], sigmoid).is_ok()); // no sum rule
                                                                   // The prior count must match the tensor.
    assert!(is_shape_err(
        init("class_prior_bias([0.5, 0.5])").resolve(&[3], &torch())
    ));
}

#[test]
fn out_of_f32_range_parameters_are_errors() {
    // Valid in f64, but nothing representable in f32: resolve refuses.
    for text in ["constant(1e300)", "normal(0, 1e-300)", "uniform(0, 1e-300)"] {
        let r = init(text).resolve(&[4], &torch());
        assert!(
            matches!(r, Err(Error::InvalidParameter { .. })),
            "{text}: {r:?}"
        );
    }
}

/// Every scheme against odd shapes, layouts and groups: a value or an
/// error, never a panic.
#[test]
fn no_input_panics() {
    let shapes: &[&[u64]] = &[
        &[],
        &[1],
        &[0],
        &[1, 1],
        &[3, 1, 1, 1, 1, 1],
        &[u64::MAX],
        &[u64::MAX, 1],
        &[1 << 32, 1 << 32],
        &[1 << 32, 1 << 31, 1],
        &[7, 5, 3],
    ];
    for text in ROUND_TRIP {
        let s = init(text);
        for shape in shapes {
            for layout in [Layout::Torch, Layout::Jax] {
                for groups in [0, 1, 3] {
                    let o = ResolveOptions::default()
                        .with_layout(layout)
                        .with_groups(groups);
                    let _ = s.resolve(shape, &o);
                }
            }
        }
    }
}
