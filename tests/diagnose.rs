//! The signal-propagation diagnostic (`weight_init::diagnose`,
//! `GpuContext::diagnose`): the GPU kernels against the CPU reference, the
//! textbook claims at depth 50, and bad input.
//!
//! GPU tests use `GpuContext::new_default()` (lavapipe on a machine without
//! a GPU) and fail, saying how to install it, when there is no adapter.
//! Every run uses a fixed seed, so the claims below are deterministic
//! checks of one draw, not statistical tests with a false-failure rate.

use weight_init::diagnose::{cpu_tensors, reference, Activation, DiagnoseConfig, Report};
use weight_init::stats::{Agreement, Exactness};
use weight_init::{DType, Error, Init};

mod common;
use common::gpu as ctx;

const SEED: u64 = 0x5eed;

fn init(text: &str) -> Init {
    text.parse()
        .unwrap_or_else(|e| panic!("`{text}` parses: {e}"))
}

/// `|gpu - cpu| <= 1e-4 * max(|cpu|, rms)` for every element, `rms` the
/// CPU matrix's root mean square: 1e-4 relative for every value of at least
/// the matrix's typical size, and 1e-4 of that size below it. (A
/// per-element relative bound cannot hold near zero: an f32 dot product's
/// rounding error scales with the sum of its terms' magnitudes, about the
/// RMS, not with a small result of cancellation; on lavapipe a value at
/// 1e-3 of the RMS came out 2.3e-4 relative, 2.3e-7 of the RMS, away from
/// the f64-accumulated reference.) Returns the largest
/// `|gpu - cpu| / max(|cpu|, rms)` seen.
fn assert_close(what: &str, gpu: &[f32], cpu: &[f32]) -> f64 {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
    let rms = (cpu.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / cpu.len() as f64).sqrt();
    let floor = rms.max(f64::MIN_POSITIVE);
    let mut worst = 0.0f64;
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let rel = (g as f64 - c as f64).abs() / (c as f64).abs().max(floor);
        assert!(
            rel <= 1e-4,
            "{what}: element {i}: gpu {g} vs cpu {c} (relative {rel:.3e}, rms {rms:.3e})"
        );
        worst = worst.max(rel);
    }
    worst
}

/// Test 1: on a 4-layer width-64 network, for every activation, the GPU's
/// activations and gradients equal the CPU reference run on the very
/// tensors the GPU filled (read back), so only the matmul, activation and
/// statistics kernels are compared; and the GPU-filled tensors are the
/// CPU backend's, bit for bit (`Exactness::REQUIRED`, as for every fill).
#[test]
#[allow(clippy::needless_range_loop)] // l indexes four parallel arrays
fn gpu_matches_the_cpu_reference() {
    for act in Activation::ALL {
        // An odd batch (not a multiple of the 64-wide tile) exercises the
        // kernels' edges.
        let cfg = DiagnoseConfig::new(4, 64, 37, act, SEED).unwrap();
        let scheme = init("xavier_normal(gain=1.5)");
        let (report, tensors, trace) = ctx().diagnose_traced(&cfg, &scheme).unwrap();
        let (cpu_layers, cpu_trace) = reference(&cfg, &tensors).unwrap();
        let mut worst = 0.0f64;
        for l in 0..4 {
            worst = worst.max(assert_close(
                &format!("{act} h_{}", l + 1),
                &trace.activations[l],
                &cpu_trace.activations[l],
            ));
            worst = worst.max(assert_close(
                &format!("{act} g_{l}"),
                &trace.gradients[l],
                &cpu_trace.gradients[l],
            ));
            let (g, c) = (&report.layers[l], &cpu_layers[l]);
            assert_eq!(g.layer, l + 1);
            for (name, a, b) in [
                ("act_mean", g.act_mean, c.act_mean),
                ("act_std", g.act_std, c.act_std),
                ("grad_std", g.grad_std.unwrap(), c.grad_std.unwrap()),
            ] {
                let tol = 1e-4
                    * b.abs()
                        .max(if name == "act_mean" { c.act_std } else { 0.0 });
                assert!(
                    (a - b).abs() <= tol,
                    "{act} layer {}: {name} gpu {a} cpu {b}",
                    l + 1
                );
            }
            assert_eq!(g.dead_fraction, c.dead_fraction, "{act} layer {}", l + 1);
            assert!(!g.identical_units() && !c.identical_units());
        }
        eprintln!("{act}: largest relative difference {worst:.2e}");

        // The GPU filled what the CPU backend fills: same streams, same seed.
        let cpu = cpu_tensors(&cfg, &scheme).unwrap();
        for (what, g, c) in [
            ("input", &tensors.input, &cpu.input),
            ("output gradient", &tensors.output_grad, &cpu.output_grad),
        ]
        .into_iter()
        .chain(
            tensors
                .weights
                .iter()
                .zip(&cpu.weights)
                .map(|(g, c)| ("weights", g, c)),
        ) {
            // Every backend fills the same bits; on a difference the
            // largest distance is reported (in ULP of max(|value|, 1): std
            // is at most 1 here).
            assert_eq!(g.len(), c.len(), "{what}: lengths");
            let m = Agreement::of(g, c, 1.0, DType::F32);
            assert!(
                m.meets(Exactness::REQUIRED),
                "{what}: {:.4}% bit-exact, up to {} ULP",
                100.0 * m.exact_fraction(),
                m.max_ulp
            );
        }
    }
}

/// The structured and segment plans go through the crate's own GPU paths
/// too: orthogonal weights read back from the run are the CPU's bit for bit.
#[test]
fn structured_schemes_fill_through_the_crate() {
    let cfg = DiagnoseConfig::new(3, 48, 20, Activation::Tanh, SEED).unwrap();
    let scheme = init("orthogonal(gain=1)");
    let (_, tensors, trace) = ctx().diagnose_traced(&cfg, &scheme).unwrap();
    let cpu = cpu_tensors(&cfg, &scheme).unwrap();
    assert_eq!(tensors.weights, cpu.weights);
    let (_, cpu_trace) = reference(&cfg, &tensors).unwrap();
    for l in 0..3 {
        assert_close(
            "orthogonal h",
            &trace.activations[l],
            &cpu_trace.activations[l],
        );
    }
}

/// Ratio of the last layer's activation std to the first's.
fn std_ratio(r: &Report) -> f64 {
    let (first, last) = (r.layers[0].act_std, r.layers[r.layers.len() - 1].act_std);
    assert!(first > 0.0, "{}: first layer std is 0", r.scheme);
    last / first
}

fn deep(act: Activation, scheme: &str) -> Report {
    // Forward only: the claims are about activations, and the backward
    // kernels are compared with the reference above.
    let cfg = DiagnoseConfig::new(50, 512, 256, act, SEED)
        .unwrap()
        .forward_only();
    let t = std::time::Instant::now();
    let r = ctx().diagnose(&cfg, &init(scheme)).unwrap();
    let ratio = r.layers[49].act_std / r.layers[0].act_std;
    eprintln!(
        "{act} {scheme}: act std layer 1 {:.4e}, layer 50 {:.4e}, ratio {ratio:.4e}; dead \
         fraction layer 50 {:.3} ({:.1} s)",
        r.layers[0].act_std,
        r.layers[49].act_std,
        r.layers[49].dead_fraction,
        t.elapsed().as_secs_f64()
    );
    r
}

/// Test 2: the textbook claims at depth 50, width 512, batch 256.
///
/// Scheme names: Kaiming is PyTorch's `kaiming_normal(nonlinearity=relu)`
/// (gain √2, fan_in; He et al. 2015); Xavier is PyTorch's `xavier_normal`,
/// with `gain=tanh` (5/3, `calculate_gain('tanh')`) or the default gain 1
/// (Glorot & Bengio 2010); LeCun normal is `lecun_normal_untruncated`,
/// N(0, 1/fan_in), the Gaussian of Klambauer et al. 2017 (the crate
/// refuses bare `lecun_normal` because JAX truncates it; `jax_lecun_normal`,
/// truncated with the same variance, is the other choice).
#[test]
fn textbook_claims_hold_at_depth_50() {
    let relu_kaiming = deep(Activation::Relu, "kaiming_normal(nonlinearity=relu)");
    let r = std_ratio(&relu_kaiming);
    assert!((0.5..=2.0).contains(&r), "relu + kaiming: ratio {r}");
    // Its units are not all identical: the symmetry check can fail.
    assert!(relu_kaiming.layers.iter().all(|l| !l.identical_units()));

    let r = std_ratio(&deep(Activation::Relu, "xavier_normal"));
    assert!(r <= 1e-2, "relu + xavier: ratio {r}");

    let r = std_ratio(&deep(Activation::Tanh, "xavier_normal(gain=tanh)"));
    assert!((0.5..=2.0).contains(&r), "tanh + xavier(5/3): ratio {r}");

    let r = std_ratio(&deep(Activation::Tanh, "xavier_normal"));
    assert!((0.05..=0.5).contains(&r), "tanh + xavier(1): ratio {r}");

    let r = std_ratio(&deep(Activation::Selu, "lecun_normal_untruncated"));
    assert!((0.5..=2.0).contains(&r), "selu + lecun normal: ratio {r}");

    let tiny = deep(Activation::Relu, "normal(std=0.01)");
    let r = std_ratio(&tiny);
    assert!(r <= 1e-6, "relu + normal(0.01): ratio {r}");

    let zeros = deep(Activation::Relu, "zeros");
    assert!(
        zeros.layers.iter().all(|l| l.identical_units()),
        "relu + zeros: some layer has units that differ"
    );
}

/// Constant non-zero weights show the symmetry problem too: every unit of
/// a layer carries the identical, non-zero value (a smaller net than the
/// claims', as the point does not depend on size).
#[test]
fn constant_weights_make_units_identical() {
    let cfg = DiagnoseConfig::new(6, 96, 40, Activation::Tanh, SEED).unwrap();
    let r = ctx().diagnose(&cfg, &init("constant(0.01)")).unwrap();
    assert!(r
        .layers
        .iter()
        .all(|l| l.identical_units() && l.act_std > 0.0));
    let r = ctx().diagnose(&cfg, &init("xavier_normal")).unwrap();
    assert!(r.layers.iter().all(|l| !l.identical_units()));
}

/// Test 4: bad input is a clear error, before anything runs.
#[test]
fn bad_input_is_an_error() {
    for (d, w, b, name) in [(0, 64, 8, "depth"), (4, 0, 8, "width"), (4, 64, 0, "batch")] {
        let err = DiagnoseConfig::new(d, w, b, Activation::Relu, 0).unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameter { name: n, .. } if n == name),
            "{err}"
        );
        assert!(err.to_string().contains(name), "{err}");
    }
    let err = "swish".parse::<Activation>().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("swish") && msg.contains("leaky_relu") && msg.contains("gelu"),
        "{msg}"
    );
    for a in Activation::ALL {
        assert_eq!(a.name().parse::<Activation>().unwrap(), a);
    }
    // batch * width past u32 indices.
    assert!(DiagnoseConfig::new(1, 1 << 16, 1 << 16, Activation::Relu, 0).is_err());
    // A 32768 x 32768 weight matrix (4 GiB) passes every device's storage
    // binding limit: an error, not a panic or an allocation.
    let cfg = DiagnoseConfig::new(2, 1 << 15, 1, Activation::Relu, 0).unwrap();
    let err = ctx().diagnose(&cfg, &init("zeros")).unwrap_err();
    assert!(matches!(err, Error::InvalidShape { .. }), "{err}");
    assert!(err.to_string().contains("storage binding limit"), "{err}");
    // A scheme that cannot be resolved for [width, width].
    let cfg = DiagnoseConfig::new(2, 8, 4, Activation::Relu, 0).unwrap();
    assert!(ctx().diagnose(&cfg, &init("dirac")).is_err());
    // Tensors of the wrong size for the reference.
    let mut t = cpu_tensors(&cfg, &init("zeros")).unwrap();
    t.weights.pop();
    assert!(matches!(
        reference(&cfg, &t),
        Err(Error::OutputLength { .. })
    ));
}
