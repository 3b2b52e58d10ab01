//! The one-call API (`weight_init::tensor`): every plan kind equals the
//! model API's bytes, the weight-dependent bias, explicit streams, the
//! output forms against each other, and errors that name the tensor.

use weight_init::dtype::{bf16_bits_to_f32, f16_bits_to_f32};
use weight_init::model::{Param, ParamSet, Rules};
use weight_init::philox::name_stream;
use weight_init::{cpu, DType, Error, FillJob, Init, Layout, Plan, TensorInit, TensorKey};

const DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::BF16];
const SEED: u64 = 0x5eed_1234;

/// The model API's bytes for a set of one parameter.
fn model_bytes(name: &str, shape: &[u64], dtype: DType, scheme: &str, layout: Layout) -> Vec<u8> {
    let p = Param::new(name, shape.to_vec(), dtype)
        .with_layout(layout)
        .with_init(scheme.parse::<Init>().unwrap());
    let set = ParamSet::from_params([p]).unwrap();
    let r = set.resolve(&Rules::default()).unwrap();
    let (got_shape, bytes) = r.fill_param_cpu(0, SEED, None).unwrap();
    assert_eq!(got_shape, shape);
    bytes
}

/// The one-call bytes, after checking the plan is of the expected kind.
fn one_call(
    name: &str,
    shape: &[u64],
    dtype: DType,
    scheme: &str,
    layout: Layout,
    kind: fn(&Plan) -> bool,
) -> Vec<u8> {
    let t = TensorInit::new(name, shape, scheme)
        .unwrap()
        .dtype(dtype)
        .layout(layout);
    let plan = t.plan().unwrap();
    assert!(kind(&plan), "{scheme}: unexpected plan {plan:?}");
    t.to_bytes(SEED).unwrap()
}

fn is_sample(p: &Plan) -> bool {
    matches!(p, Plan::Sample(_))
}
fn is_values(p: &Plan) -> bool {
    matches!(p, Plan::Values(_))
}
fn is_segments(p: &Plan) -> bool {
    matches!(p, Plan::Segments(_))
}
fn is_structured(p: &Plan) -> bool {
    matches!(p, Plan::Structured(_))
}

/// A tensor name, shape, scheme and layout, and the plan kind it resolves to.
type Case<'a> = (&'a str, &'a [u64], &'a str, Layout, fn(&Plan) -> bool);

/// Every case equals the model API's bytes in every dtype.
fn check_cases(cases: &[Case]) {
    for &(name, shape, scheme, layout, kind) in cases {
        for dtype in DTYPES {
            let ours = one_call(name, shape, dtype, scheme, layout, kind);
            let model = model_bytes(name, shape, dtype, scheme, layout);
            let n: u64 = shape.iter().product();
            assert_eq!(ours.len() as u64, n * dtype.size_bytes() as u64);
            assert!(ours == model, "{name} `{scheme}` {dtype}: bytes differ");
        }
    }
}

#[test]
fn sample_values_and_segments_equal_the_model_api() {
    check_cases(&[
        (
            "fc1.weight",
            &[64, 48],
            "kaiming_uniform(a=2.23606797749979)",
            Layout::Torch,
            is_sample,
        ),
        (
            "fc2.weight",
            &[33, 17],
            "trunc_normal(std=0.02)",
            Layout::Torch,
            is_sample,
        ),
        (
            "dense/kernel",
            &[17, 9],
            "jax_glorot_normal",
            Layout::Jax,
            is_sample,
        ),
        ("ln.weight", &[7], "ones", Layout::Torch, is_sample),
        // An odd count: a 16-bit upload's last element goes as a constant.
        (
            "head.bias",
            &[5],
            "class_prior_bias(priors=[0.1, 0.2, 0.3, 0.15, 0.25])",
            Layout::Torch,
            is_values,
        ),
        (
            "head2.bias",
            &[4],
            "class_prior_bias(priors=[0.01, 0.02, 0.5, 0.9], activation=sigmoid)",
            Layout::Torch,
            is_values,
        ),
        (
            "lstm.bias_ih",
            &[4 * 7],
            "lstm_forget_bias(forget=1)",
            Layout::Torch,
            is_segments,
        ),
    ]);
}

#[test]
fn kernel_structured_equal_the_model_api() {
    check_cases(&[
        ("proj.weight", &[6, 9], "eye", Layout::Torch, is_structured),
        (
            "skip.weight",
            &[5, 5],
            "identity",
            Layout::Torch,
            is_structured,
        ),
        (
            "conv.weight",
            &[8, 4, 3, 3],
            "dirac",
            Layout::Torch,
            is_structured,
        ),
        (
            "conv_g.weight",
            &[8, 2, 3],
            "dirac(groups=2)",
            Layout::Torch,
            is_structured,
        ),
        (
            "sparse.weight",
            &[20, 11],
            "sparse(sparsity=0.3)",
            Layout::Torch,
            is_structured,
        ),
    ]);
    // These stay kernel work: the jobs hold the plan, not host bytes.
    for (shape, scheme) in [
        (&[6u64, 9][..], "eye"),
        (&[8, 4, 3, 3], "dirac"),
        (&[20, 11], "sparse(sparsity=0.3)"),
    ] {
        let p = TensorInit::new("w", shape, scheme)
            .unwrap()
            .prepare(SEED)
            .unwrap();
        assert!(
            matches!(p.jobs(), [FillJob::Structured { dst: 0, .. }]),
            "{scheme}: {:?}",
            p.jobs()
        );
    }
}

#[test]
#[cfg(feature = "orthogonal")]
fn orthogonal_equals_the_model_api() {
    check_cases(&[
        (
            "rnn.weight",
            &[6, 9],
            "orthogonal",
            Layout::Torch,
            is_structured,
        ),
        (
            "rnn.weight_hh",
            &[9, 6],
            "orthogonal(gain=2)",
            Layout::Torch,
            is_structured,
        ),
        // 15 elements: odd, for the 16-bit upload's last element.
        (
            "tall.kernel",
            &[3, 5],
            "orthogonal",
            Layout::Jax,
            is_structured,
        ),
    ]);
    // Host bytes at job-building time: an upload (plus the odd 16-bit
    // element as a constant), never a structured job.
    for dtype in DTYPES {
        let p = TensorInit::new("q", &[3, 5], "orthogonal")
            .unwrap()
            .dtype(dtype)
            .prepare(SEED)
            .unwrap();
        assert!(p
            .jobs()
            .iter()
            .all(|j| !matches!(j, FillJob::Structured { .. })));
        assert!(matches!(p.jobs()[0], FillJob::Upload { dst: 0, .. }));
        let covered: u64 = p.jobs().iter().map(|j| j.len_bytes()).sum();
        assert_eq!(covered, p.byte_len());
    }
}

#[test]
#[cfg(feature = "orthogonal")]
fn delta_orthogonal_equals_the_model_api() {
    check_cases(&[
        (
            "conv.weight",
            &[8, 4, 3, 3],
            "delta_orthogonal",
            Layout::Torch,
            is_structured,
        ),
        (
            "conv/kernel",
            &[3, 3, 5],
            "delta_orthogonal(gain=1.5)",
            Layout::Jax,
            is_structured,
        ),
    ]);
    let p = TensorInit::new("c", &[8, 4, 3, 3], "delta_orthogonal")
        .unwrap()
        .prepare(SEED)
        .unwrap();
    assert!(matches!(p.jobs(), [FillJob::Upload { dst: 0, .. }]));
}

#[test]
fn model_jobs_are_the_tensor_jobs() {
    // The model API's unsharded jobs are the one-call API's, and its
    // `FillJob` is the same type.
    let set = ParamSet::from_params([
        Param::new("a.weight", vec![6, 4], DType::BF16).with_init("orthogonal".parse().unwrap()),
        Param::new("b.weight", vec![6, 4], DType::F16).with_init("eye".parse().unwrap()),
        Param::new("c.bias", vec![12], DType::F32).with_init("lstm_forget_bias".parse().unwrap()),
    ])
    .unwrap();
    let r = set.resolve(&Rules::default()).unwrap();
    for (i, p) in set.params().iter().enumerate() {
        let (_, model): (_, Vec<weight_init::model::FillJob>) =
            r.tensor_jobs(i, SEED, None).unwrap();
        let ours = TensorInit::new(p.name.clone(), &p.shape, p.init.clone().unwrap())
            .unwrap()
            .dtype(p.dtype)
            .prepare(SEED)
            .unwrap();
        assert_eq!(ours.jobs(), &model[..], "{}", p.name);
    }
}

#[test]
fn torch_default_bias_takes_the_weight_shape() {
    // Torch layout, a linear and a conv; Jax layout, a dense kernel.
    type Layer<'a> = (&'a str, &'a str, &'a [u64], &'a [u64], Layout);
    let layers: [Layer; 3] = [
        ("fc.weight", "fc.bias", &[32, 20], &[32], Layout::Torch),
        (
            "conv.weight",
            "conv.bias",
            &[16, 3, 5, 5],
            &[16],
            Layout::Torch,
        ),
        ("dense/kernel", "dense/bias", &[20, 12], &[12], Layout::Jax),
    ];
    for (w_name, b_name, w_shape, b_shape, layout) in layers {
        for dtype in DTYPES {
            let set = ParamSet::from_params([
                Param::new(w_name, w_shape.to_vec(), dtype)
                    .with_layout(layout)
                    .with_init(Init::TorchDefaultWeight),
                Param::new(b_name, b_shape.to_vec(), dtype)
                    .with_layout(layout)
                    .with_init(Init::TorchDefaultBias),
            ])
            .unwrap();
            let r = set.resolve(&Rules::default()).unwrap();
            let model = r.fill_param_cpu(1, SEED, None).unwrap().1;
            let bias = TensorInit::new(b_name, b_shape, "torch_default_bias")
                .unwrap()
                .dtype(dtype)
                .layout(layout)
                .weight_shape(w_shape);
            assert!(bias.to_bytes(SEED).unwrap() == model, "{b_name} {dtype}");
            // The weight too, through its default stream.
            let weight = TensorInit::new(w_name, w_shape, Init::TorchDefaultWeight)
                .unwrap()
                .dtype(dtype)
                .layout(layout);
            assert!(weight.to_bytes(SEED).unwrap() == r.fill_param_cpu(0, SEED, None).unwrap().1);
        }
    }
}

#[test]
fn explicit_stream_is_the_tensor_key_fill() {
    let n = 1000u64;
    for (scheme, stream) in [
        ("normal(0, 0.02)", 0u64),
        ("kaiming_normal", 7),
        ("trunc_normal(std=1, a=-0.5, b=3)", u64::MAX),
    ] {
        let t = TensorInit::new("w", &[40, 25], scheme)
            .unwrap()
            .stream(stream);
        assert_eq!(t.stream_id(), stream);
        let Plan::Sample(dist) = t.plan().unwrap() else {
            panic!("{scheme}")
        };
        let mut expected = vec![0.0f32; n as usize];
        cpu::fill_f32(&dist, &TensorKey::new(SEED, stream, n), 0..n, &mut expected).unwrap();
        let got = t.to_vec_f32(SEED).unwrap();
        assert!(
            got.iter()
                .map(|v| v.to_bits())
                .eq(expected.iter().map(|v| v.to_bits())),
            "{scheme}"
        );
    }
    // The default stream is the name's, as for a model parameter.
    let t = TensorInit::new("fc.weight", &[4, 4], "normal(0, 1)").unwrap();
    assert_eq!(t.stream_id(), name_stream("fc.weight"));
    assert_eq!(
        t.stream_id(),
        Param::new("fc.weight", vec![4, 4], DType::F32).stream()
    );
    assert_eq!(
        t.to_bytes(SEED).unwrap(),
        t.clone()
            .stream(name_stream("fc.weight"))
            .to_bytes(SEED)
            .unwrap()
    );
}

#[test]
fn output_forms_agree() {
    for scheme in [
        "normal(0, 0.02)",
        "orthogonal",
        "class_prior_bias(priors=[0.1, 0.2, 0.3, 0.15, 0.25])",
    ] {
        let shape: &[u64] = if scheme.starts_with("class") {
            &[5]
        } else {
            &[9, 7]
        };
        for dtype in DTYPES {
            let t = TensorInit::new("w", shape, scheme).unwrap().dtype(dtype);
            let bytes = t.to_bytes(SEED).unwrap();
            let mut filled = vec![0xa5u8; bytes.len()];
            t.fill_bytes(SEED, &mut filled).unwrap();
            assert_eq!(filled, bytes);
            let prepared = t.prepare(SEED).unwrap();
            filled.fill(0);
            prepared.fill_bytes(&mut filled).unwrap();
            assert_eq!(filled, bytes);
            assert_eq!(prepared.byte_len(), bytes.len() as u64);
            assert_eq!(
                (prepared.name(), prepared.shape(), prepared.dtype()),
                ("w", shape, dtype)
            );

            let f32s = t.to_vec_f32(SEED).unwrap();
            let f64s = t.to_vec_f64(SEED).unwrap();
            let decoded: Vec<f32> = dtype.decode_le(&bytes).collect();
            assert_eq!(f32s.len(), decoded.len());
            assert!(f32s
                .iter()
                .zip(&decoded)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
            assert!(f64s.iter().zip(&f32s).all(|(a, b)| *a == *b as f64));
            let mut again = vec![0.0f32; f32s.len()];
            t.fill_f32(SEED, &mut again).unwrap();
            assert_eq!(again, f32s);
            let mut wide = vec![0.0f64; f32s.len()];
            t.fill_f64(SEED, &mut wide).unwrap();
            assert_eq!(wide, f64s);
            if dtype == DType::F32 {
                // Identity: the f32 values are the bytes themselves.
                let raw: Vec<u32> = bytes
                    .chunks(4)
                    .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                assert!(raw.iter().zip(&f32s).all(|(r, v)| *r == v.to_bits()));
            } else {
                let mut bits = vec![0u16; f32s.len()];
                t.fill_bits(SEED, &mut bits).unwrap();
                let raw: Vec<u16> = bytes
                    .chunks(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                assert_eq!(bits, raw);
                let widen = if dtype == DType::F16 {
                    f16_bits_to_f32
                } else {
                    bf16_bits_to_f32
                };
                assert!(bits
                    .iter()
                    .zip(&f32s)
                    .all(|(b, v)| widen(*b).to_bits() == v.to_bits()));
            }
        }
    }
}

#[cfg(feature = "half")]
#[test]
fn half_forms_agree() {
    let t = TensorInit::new("w", &[9, 7], "normal(0, 0.5)").unwrap();
    let bf = t.clone().dtype(DType::BF16);
    let mut bits = vec![0u16; 63];
    bf.fill_bits(SEED, &mut bits).unwrap();
    let typed = bf.to_vec_bf16(SEED).unwrap();
    assert!(typed.iter().zip(&bits).all(|(v, b)| v.to_bits() == *b));
    let mut filled = vec![half::bf16::ZERO; 63];
    bf.fill_bf16(SEED, &mut filled).unwrap();
    assert_eq!(filled, typed);

    let h = t.clone().dtype(DType::F16);
    h.fill_bits(SEED, &mut bits).unwrap();
    let typed = h.to_vec_f16(SEED).unwrap();
    assert!(typed.iter().zip(&bits).all(|(v, b)| v.to_bits() == *b));
    let mut filled = vec![half::f16::ZERO; 63];
    h.fill_f16(SEED, &mut filled).unwrap();
    assert_eq!(filled, typed);

    // Dtype mismatches and lengths are errors naming the tensor.
    for e in [
        t.to_vec_bf16(SEED).unwrap_err(),
        t.to_vec_f16(SEED).unwrap_err(),
        h.to_vec_bf16(SEED).unwrap_err(),
        bf.fill_f16(SEED, &mut filled).unwrap_err(),
        h.fill_f16(SEED, &mut filled[1..]).unwrap_err(),
    ] {
        assert!(
            matches!(&e, Error::Param { name, .. } if name == "w"),
            "{e}"
        );
    }
}

#[test]
fn names_and_seeds_pick_the_values() {
    let a = TensorInit::new("h.0.mlp.weight", &[16, 16], "normal(0, 1)").unwrap();
    let b = TensorInit::new("h.1.mlp.weight", &[16, 16], "normal(0, 1)").unwrap();
    assert_ne!(a.to_bytes(SEED).unwrap(), b.to_bytes(SEED).unwrap());
    assert_ne!(a.to_bytes(SEED).unwrap(), a.to_bytes(SEED + 1).unwrap());
    assert_eq!(a.to_bytes(SEED).unwrap(), a.clone().to_bytes(SEED).unwrap());
    // Orthogonal too: the stream feeds the QR.
    let qa = TensorInit::new("a", &[8, 8], "orthogonal").unwrap();
    let qb = TensorInit::new("b", &[8, 8], "orthogonal").unwrap();
    assert_ne!(qa.to_bytes(SEED).unwrap(), qb.to_bytes(SEED).unwrap());
}

/// `e` is `Error::Param` naming `name`; its source.
fn source_of(e: Error, name: &str) -> Error {
    match e {
        Error::Param { name: n, source } if n == name => *source,
        e => panic!("expected an error naming `{name}`, got {e:?}"),
    }
}

#[test]
fn errors_name_the_tensor() {
    // Bad text.
    let e = TensorInit::new("fc.weight", &[4, 4], "kaiming_unifrom").unwrap_err();
    assert!(e.to_string().contains("fc.weight"), "{e}");
    assert!(matches!(source_of(e, "fc.weight"), Error::Parse { .. }));
    let e = TensorInit::new("fc.weight", &[4, 4], "normal(0, -1)").unwrap_err();
    source_of(e, "fc.weight");

    // Wrong lengths, checked before any work.
    let t = TensorInit::new("w", &[3, 5], "orthogonal").unwrap();
    let e = t.fill_bytes(1, &mut [0u8; 59]).unwrap_err();
    assert!(matches!(
        source_of(e, "w"),
        Error::OutputLength {
            expected: 60,
            got: 59,
            unit: "bytes"
        }
    ));
    let e = t.fill_f32(1, &mut [0.0; 16]).unwrap_err();
    assert!(matches!(
        source_of(e, "w"),
        Error::OutputLength {
            expected: 15,
            got: 16,
            unit: "elements"
        }
    ));
    let e = t.fill_f64(1, &mut []).unwrap_err();
    assert!(matches!(source_of(e, "w"), Error::OutputLength { .. }));
    let e = t
        .prepare(1)
        .unwrap()
        .fill_bytes(&mut [0u8; 61])
        .unwrap_err();
    assert!(matches!(source_of(e, "w"), Error::OutputLength { .. }));
    let h = t.clone().dtype(DType::BF16);
    let e = h.fill_bits(1, &mut [0u16; 14]).unwrap_err();
    assert!(matches!(source_of(e, "w"), Error::OutputLength { .. }));

    // Bits of an f32 tensor.
    let e = t.fill_bits(1, &mut [0u16; 15]).unwrap_err();
    assert!(matches!(
        source_of(e, "w"),
        Error::Unrepresentable { dtype: "f32", .. }
    ));

    // Schemes that do not suit the shape.
    let e = TensorInit::new("b", &[8], "kaiming_uniform")
        .unwrap()
        .to_bytes(1)
        .unwrap_err();
    assert!(matches!(source_of(e, "b"), Error::InvalidShape { .. }));
    let e = TensorInit::new("fc.bias", &[8], "torch_default_bias")
        .unwrap()
        .plan()
        .unwrap_err();
    source_of(e, "fc.bias");
    let e = TensorInit::new("fc.bias", &[8], "torch_default_bias")
        .unwrap()
        .weight_shape(&[8])
        .to_vec_f32(1)
        .unwrap_err();
    source_of(e, "fc.bias");
    let e = TensorInit::new("w", &[4, 6], "orthogonal")
        .unwrap()
        .weight_shape(&[0, 3])
        .prepare(1);
    // Fans are not used by orthogonal, but the weight shape is checked.
    assert!(e.is_err());
    let e = TensorInit::new("p", &[2], "class_prior_bias(priors=[0.5, 0.25, 0.25])")
        .unwrap()
        .to_bytes(1)
        .unwrap_err();
    source_of(e, "p");

    // Zero-sized and huge shapes: errors, never a panic or an abort.
    let e = TensorInit::new("z", &[4, 0], "zeros").unwrap_err();
    assert!(matches!(source_of(e, "z"), Error::InvalidShape { .. }));
    let e = TensorInit::new("huge", &[u64::MAX, 2], "zeros").unwrap_err();
    assert!(matches!(source_of(e, "huge"), Error::InvalidShape { .. }));
    // 2^62 elements: the byte count overflows u64.
    let big = TensorInit::new("big", &[1 << 31, 1 << 31], "normal(0, 1)").unwrap();
    for e in [
        big.prepare(1).unwrap_err(),
        big.to_bytes(1).unwrap_err(),
        big.to_vec_f32(1).unwrap_err(),
        big.clone().dtype(DType::BF16).to_vec_f64(1).unwrap_err(),
    ] {
        assert!(matches!(source_of(e, "big"), Error::TooLarge { .. }));
    }
    // 2^60 elements: no host has the memory.
    let big = TensorInit::new("big", &[1 << 30, 1 << 30], "normal(0, 1)").unwrap();
    assert!(big.prepare(1).is_ok()); // jobs only, no values yet
    for e in [big.to_bytes(1).unwrap_err(), big.to_vec_f32(1).unwrap_err()] {
        assert!(matches!(source_of(e, "big"), Error::TooLarge { .. }));
    }
    for scheme in ["orthogonal", "eye", "class_prior_bias(priors=[0.5, 0.5])"] {
        let shape: &[u64] = if scheme.starts_with("class") {
            &[1 << 40]
        } else {
            &[1 << 24, 1 << 24]
        };
        let e = TensorInit::new("huge", shape, scheme)
            .unwrap()
            .to_bytes(1)
            .unwrap_err();
        source_of(e, "huge");
    }
}
