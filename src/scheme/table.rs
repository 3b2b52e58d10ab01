//! The scheme table: every scheme's text name, its parameters with their
//! defaults, and its documentation row, stated once.
//!
//! Everything else is derived from it: [`Init::name`], the parser's
//! parameter names and defaults, [`SCHEME_NAMES`], [`SCHEME_ALIASES`],
//! [`AMBIGUOUS_NAMES`], the parameter structs' `Default` impls, the
//! unknown-name error, and the tables of `docs/SCHEMES.md` and the README
//! ([`scheme_tables_markdown`]; `tests/scheme_docs.rs` fails when they
//! differ).

use crate::error::Result;

use super::text::{fmt_num, Args};
use super::{
    Bounds, ClassPriorBias, Constant, Dirac, FanMode, Gain, Gpt2Residual, Init, JaxTruncatedNormal,
    Kaiming, LstmForgetBias, MeanStd, Nonlinearity, NormalPadded, PriorActivation,
    ScalingDistribution, Sparse, TruncNormal, VarianceScaling,
};

/// A parameter's default in the text form, JSON and `Default`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Dflt {
    /// No default: the argument must be given.
    Required,
    /// A number.
    Num(f64),
    /// A whole number.
    Whole(u64),
    /// A fan mode.
    Mode(FanMode),
    /// A nonlinearity.
    Nonlinearity(Nonlinearity),
    /// A variance-scaling distribution.
    Distribution(ScalingDistribution),
    /// A class-prior activation.
    Activation(PriorActivation),
}

impl Dflt {
    /// The default as the text form writes it; `None` when required.
    fn text(self) -> Option<String> {
        Some(match self {
            Dflt::Required => return None,
            Dflt::Num(x) => fmt_num(x),
            Dflt::Whole(n) => n.to_string(),
            Dflt::Mode(m) => m.name().into(),
            Dflt::Nonlinearity(n) => n.name().into(),
            Dflt::Distribution(d) => d.name().into(),
            Dflt::Activation(a) => a.name().into(),
        })
    }
}

/// One parameter: its name and default.
#[derive(Debug, Clone, Copy)]
pub(super) struct Param {
    pub(super) name: &'static str,
    pub(super) default: Dflt,
}

const fn p(name: &'static str, default: Dflt) -> Param {
    Param { name, default }
}

/// Which table of the documentation a scheme's row goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    /// Drawn element by element: the row says what it resolves to.
    Elementwise,
    /// Not elementwise: the row says the shape rule.
    Structured,
}

/// How the text form builds a scheme from its arguments.
pub(super) type Build = fn(&Args<'_>) -> Result<Init>;

/// One canonical scheme: an [`Init`] variant.
pub(super) struct Scheme {
    /// The canonical text name (and JSON tag).
    pub(super) name: &'static str,
    /// Parameters in positional order, with their defaults.
    pub(super) params: &'static [Param],
    /// Whether it needs fans ([`Init::is_fan_based`]).
    pub(super) fan_based: bool,
    /// Builds it from parsed arguments.
    pub(super) build: Build,
    /// The documentation table it belongs to.
    pub(super) section: Section,
    /// "Resolves to" (elementwise) or "Shape rule" (structured).
    pub(super) what: &'static str,
    /// The activations or layers it suits.
    pub(super) suits: &'static str,
    /// The library functions it matches.
    pub(super) matches: &'static str,
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn find_param(params: &[Param], name: &str) -> Option<Dflt> {
    let mut i = 0;
    while i < params.len() {
        if str_eq(params[i].name, name) {
            return Some(params[i].default);
        }
        i += 1;
    }
    None
}

// The typed defaults, for the `Default` impls and serde's field defaults.
// Called in `const` items, so a wrong name or type fails to compile.
impl Scheme {
    const fn default_of(&self, name: &str) -> Dflt {
        match find_param(self.params, name) {
            Some(d) => d,
            None => panic!("no such parameter in the scheme table"),
        }
    }
    pub(super) const fn num(&self, name: &str) -> f64 {
        match self.default_of(name) {
            Dflt::Num(x) => x,
            _ => panic!("not a number default"),
        }
    }
    pub(super) const fn whole(&self, name: &str) -> u64 {
        match self.default_of(name) {
            Dflt::Whole(x) => x,
            _ => panic!("not a whole-number default"),
        }
    }
    pub(super) const fn mode(&self, name: &str) -> FanMode {
        match self.default_of(name) {
            Dflt::Mode(x) => x,
            _ => panic!("not a fan-mode default"),
        }
    }
    pub(super) const fn nonlinearity(&self, name: &str) -> Nonlinearity {
        match self.default_of(name) {
            Dflt::Nonlinearity(x) => x,
            _ => panic!("not a nonlinearity default"),
        }
    }
    pub(super) const fn distribution(&self, name: &str) -> ScalingDistribution {
        match self.default_of(name) {
            Dflt::Distribution(x) => x,
            _ => panic!("not a distribution default"),
        }
    }
    pub(super) const fn activation(&self, name: &str) -> PriorActivation {
        match self.default_of(name) {
            Dflt::Activation(x) => x,
            _ => panic!("not an activation default"),
        }
    }
}

/// Another text name for a canonical scheme, with its own defaults.
pub(super) struct Alias {
    /// The alias.
    pub(super) name: &'static str,
    /// The scheme it builds.
    pub(super) target: &'static Scheme,
    /// The target's parameters the alias takes, in positional order; the
    /// others are fixed.
    pub(super) takes: &'static [&'static str],
    /// Defaults that differ from the target's (taken or fixed).
    pub(super) defaults: &'static [Param],
    /// What it parses to, as [`SCHEME_ALIASES`] lists it (a test checks it
    /// against the rendering of `target`, `takes` and `defaults`).
    pub(super) parses_to: &'static str,
    /// A note for the documentation.
    pub(super) note: &'static str,
}

/// A name the text form refuses because libraries disagree on it.
pub(super) struct Ambiguous {
    /// The refused name.
    pub(super) name: &'static str,
    /// Why, in the parse error (`` `name` is ambiguous: {why} ``).
    pub(super) why: &'static str,
    /// What to write instead, in the documentation.
    pub(super) instead: &'static str,
}

/// A name as written in the text form: a scheme, or an alias of one.
#[derive(Clone, Copy)]
pub(super) struct Form {
    /// The name as written.
    pub(super) name: &'static str,
    /// The scheme it builds.
    pub(super) scheme: &'static Scheme,
    alias: Option<&'static Alias>,
}

impl Form {
    /// Finds a text name among the schemes and aliases.
    pub(super) fn find(name: &str) -> Option<Form> {
        let scheme = SCHEMES.iter().find(|s| s.name == name).map(|s| Form {
            name: s.name,
            scheme: s,
            alias: None,
        });
        scheme.or_else(|| {
            ALIASES.iter().find(|a| a.name == name).map(|a| Form {
                name: a.name,
                scheme: a.target,
                alias: Some(a),
            })
        })
    }

    /// Every text name the parser knows: the schemes, then the aliases.
    pub(super) fn names() -> impl Iterator<Item = &'static str> {
        SCHEMES
            .iter()
            .map(|s| s.name)
            .chain(ALIASES.iter().map(|a| a.name))
    }

    /// The parameters the text takes, in positional order.
    pub(super) fn takes(&self) -> Vec<&'static str> {
        match self.alias {
            Some(a) => a.takes.to_vec(),
            None => self.scheme.params.iter().map(|p| p.name).collect(),
        }
    }

    /// The default of a parameter of the target scheme.
    pub(super) fn default(&self, name: &str) -> Dflt {
        self.alias
            .and_then(|a| find_param(a.defaults, name))
            .or_else(|| find_param(self.scheme.params, name))
            .unwrap_or(Dflt::Required)
    }

    /// `name(p=default, q, ...)`: the taken parameters with their defaults.
    fn signature(&self) -> String {
        let params: Vec<String> = self
            .takes()
            .into_iter()
            .map(|name| match self.default(name).text() {
                Some(d) => format!("{name}={d}"),
                None => name.into(),
            })
            .collect();
        call(self.name, &params)
    }

    /// What an alias parses to: the target with the fixed parameters'
    /// values and the taken parameters' names.
    fn target_text(&self) -> String {
        let takes = self.takes();
        let params: Vec<String> = self
            .scheme
            .params
            .iter()
            .map(|p| match self.default(p.name).text() {
                Some(d) if !takes.contains(&p.name) => format!("{}={d}", p.name),
                _ => p.name.into(),
            })
            .collect();
        call(self.scheme.name, &params)
    }
}

fn call(name: &str, params: &[String]) -> String {
    if params.is_empty() {
        name.into()
    } else {
        format!("{name}({})", params.join(", "))
    }
}

// ---------------------------------------------------------------------------
// The schemes, in the order of the `Init` variants
// ---------------------------------------------------------------------------

const GAIN: &[Param] = &[p("gain", Dflt::Num(1.0))];
const KAIMING: &[Param] = &[
    p("a", Dflt::Num(0.0)),
    p("mode", Dflt::Mode(FanMode::FanIn)),
    p("nonlinearity", Dflt::Nonlinearity(Nonlinearity::LeakyRelu)),
];

fn gain(a: &Args<'_>) -> Result<Gain> {
    Gain::new(a.gain("gain")?)
}

fn kaiming(a: &Args<'_>) -> Result<Kaiming> {
    Kaiming::new(a.f64("a")?, a.choice("mode")?, a.choice("nonlinearity")?)
}

/// A scheme without parameters.
const fn plain(
    name: &'static str,
    fan_based: bool,
    build: Build,
    what: &'static str,
    suits: &'static str,
    matches: &'static str,
) -> Scheme {
    Scheme {
        name,
        params: &[],
        fan_based,
        build,
        section: Section::Elementwise,
        what,
        suits,
        matches,
    }
}

pub(super) const ZEROS: Scheme = plain(
    "zeros",
    false,
    |_| Ok(Init::Zeros),
    "constant 0",
    "biases, norm biases",
    "`torch.nn.init.zeros_`, `jax.nn.initializers.zeros`, `keras.initializers.Zeros`",
);
pub(super) const ONES: Scheme = plain(
    "ones",
    false,
    |_| Ok(Init::Ones),
    "constant 1",
    "norm weights",
    "`torch.nn.init.ones_`, `jax.nn.initializers.ones`, `keras.initializers.Ones`",
);
pub(super) const CONSTANT: Scheme = Scheme {
    name: "constant",
    params: &[p("value", Dflt::Required)],
    fan_based: false,
    build: |a| Ok(Init::Constant(Constant::new(a.f64("value")?)?)),
    section: Section::Elementwise,
    what: "constant `value`",
    suits: "",
    matches: "`torch.nn.init.constant_`, `jax.nn.initializers.constant`, \
              `keras.initializers.Constant`",
};
pub(super) const UNIFORM: Scheme = Scheme {
    name: "uniform",
    params: &[p("low", Dflt::Num(0.0)), p("high", Dflt::Num(1.0))],
    fan_based: false,
    build: |a| Ok(Init::Uniform(Bounds::new(a.f64("low")?, a.f64("high")?)?)),
    section: Section::Elementwise,
    what: "U[low, high)",
    suits: "",
    matches: "`torch.nn.init.uniform_(a, b)`, `keras.initializers.RandomUniform`; \
              `jax.nn.initializers.uniform(scale)` = `uniform(0, scale)`",
};
pub(super) const NORMAL: Scheme = Scheme {
    name: "normal",
    params: &[p("mean", Dflt::Num(0.0)), p("std", Dflt::Num(1.0))],
    fan_based: false,
    build: |a| Ok(Init::Normal(MeanStd::new(a.f64("mean")?, a.f64("std")?)?)),
    section: Section::Elementwise,
    what: "N(mean, std²)",
    suits: "",
    matches: "`torch.nn.init.normal_`, `keras.initializers.RandomNormal`; \
              `jax.nn.initializers.normal(stddev)` = `normal(0, stddev)`",
};
pub(super) const NORMAL_PADDED: Scheme = Scheme {
    name: "normal_padded",
    params: &[
        p("mean", Dflt::Num(0.0)),
        p("std", Dflt::Num(1.0)),
        p("padding_idx", Dflt::Required),
    ],
    fan_based: false,
    build: |a| {
        Ok(Init::NormalPadded(NormalPadded::new(
            a.f64("mean")?,
            a.f64("std")?,
            a.u64("padding_idx")?,
        )?))
    },
    section: Section::Elementwise,
    what: "2-D `[rows, dim]`: N(mean, std²), row `padding_idx` 0 (the other rows as `normal`)",
    suits: "embeddings with a padding token",
    matches: "`nn.Embedding(padding_idx)` under transformers' `_init_weights` \
              (`normal_`, then `zeros_(weight[padding_idx])`)",
};
pub(super) const TRUNC_NORMAL: Scheme = Scheme {
    name: "trunc_normal",
    params: &[
        p("mean", Dflt::Num(0.0)),
        p("std", Dflt::Num(1.0)),
        p("a", Dflt::Num(-2.0)),
        p("b", Dflt::Num(2.0)),
    ],
    fan_based: false,
    build: |a| {
        Ok(Init::TruncNormal(TruncNormal::new(
            a.f64("mean")?,
            a.f64("std")?,
            a.f64("a")?,
            a.f64("b")?,
        )?))
    },
    section: Section::Elementwise,
    what: "N(mean, std²) on **absolute** [a, b]",
    suits: "",
    matches: "`torch.nn.init.trunc_normal_` (timm). Note: `trunc_normal(std=0.02)` cuts at \
              ±100 std",
};
pub(super) const JAX_TRUNCATED_NORMAL: Scheme = Scheme {
    name: "jax_truncated_normal",
    params: &[
        p("mean", Dflt::Num(0.0)),
        p("std", Dflt::Num(0.01)),
        p("lower", Dflt::Num(-2.0)),
        p("upper", Dflt::Num(2.0)),
    ],
    fan_based: false,
    build: |a| {
        Ok(Init::JaxTruncatedNormal(JaxTruncatedNormal::new(
            a.f64("mean")?,
            a.f64("std")?,
            a.f64("lower")?,
            a.f64("upper")?,
        )?))
    },
    section: Section::Elementwise,
    what: "N(mean, std²) on [mean + lower·std, mean + upper·std], no variance correction",
    suits: "",
    matches: "`jax.nn.initializers.truncated_normal(stddev, lower, upper)`, \
              `keras.initializers.TruncatedNormal`",
};
pub(super) const XAVIER_UNIFORM: Scheme = Scheme {
    name: "xavier_uniform",
    params: GAIN,
    fan_based: true,
    build: |a| Ok(Init::XavierUniform(gain(a)?)),
    section: Section::Elementwise,
    what: "U(±gain·√(6 / (fan_in + fan_out)))",
    suits: "tanh, sigmoid",
    matches: "`torch.nn.init.xavier_uniform_`; gain 1: `jax.nn.initializers.glorot_uniform`, \
              `keras.initializers.GlorotUniform`",
};
pub(super) const XAVIER_NORMAL: Scheme = Scheme {
    name: "xavier_normal",
    params: GAIN,
    fan_based: true,
    build: |a| Ok(Init::XavierNormal(gain(a)?)),
    section: Section::Elementwise,
    what: "N(0, gain²·2 / (fan_in + fan_out)), untruncated",
    suits: "tanh, sigmoid",
    matches: "`torch.nn.init.xavier_normal_`",
};
pub(super) const KAIMING_UNIFORM: Scheme = Scheme {
    name: "kaiming_uniform",
    params: KAIMING,
    fan_based: true,
    build: |a| Ok(Init::KaimingUniform(kaiming(a)?)),
    section: Section::Elementwise,
    what: "U(±gain·√(3 / n)), gain = calculate_gain(nonlinearity, a)",
    suits: "ReLU family",
    matches: "`torch.nn.init.kaiming_uniform_`; relu, fan_in: `jax.nn.initializers.he_uniform`, \
              `keras.initializers.HeUniform`",
};
pub(super) const KAIMING_NORMAL: Scheme = Scheme {
    name: "kaiming_normal",
    params: KAIMING,
    fan_based: true,
    build: |a| Ok(Init::KaimingNormal(kaiming(a)?)),
    section: Section::Elementwise,
    what: "N(0, gain² / n), untruncated",
    suits: "ReLU family",
    matches: "`torch.nn.init.kaiming_normal_`",
};
pub(super) const LECUN_UNIFORM: Scheme = plain(
    "lecun_uniform",
    true,
    |_| Ok(Init::LecunUniform),
    "U(±√(3 / fan_in))",
    "SELU, linear",
    "`jax.nn.initializers.lecun_uniform`, `keras.initializers.LecunUniform`",
);
pub(super) const LECUN_NORMAL_UNTRUNCATED: Scheme = plain(
    "lecun_normal_untruncated",
    true,
    |_| Ok(Init::LecunNormalUntruncated),
    "N(0, 1 / fan_in)",
    "SELU",
    "`torch.nn.init.kaiming_normal_(nonlinearity='linear')` (PyTorch's SELU advice); JAX \
     `variance_scaling(1, \"fan_in\", \"normal\")`",
);
pub(super) const VARIANCE_SCALING: Scheme = Scheme {
    name: "variance_scaling",
    params: &[
        p("scale", Dflt::Num(1.0)),
        p("mode", Dflt::Mode(FanMode::FanIn)),
        p(
            "distribution",
            Dflt::Distribution(ScalingDistribution::TruncatedNormal),
        ),
    ],
    fan_based: true,
    build: |a| {
        Ok(Init::VarianceScaling(VarianceScaling::new(
            a.f64("scale")?,
            a.choice("mode")?,
            a.choice("distribution")?,
        )?))
    },
    section: Section::Elementwise,
    what: "σ² = scale / n; `truncated_normal`: N(0, (σ / 0.87962566103423978)²) cut at ±2 of \
           that std (truncated std = σ); `untruncated_normal`: N(0, σ²); `uniform`: U(±√(3σ²))",
    suits: "any, by scale",
    matches: "`jax.nn.initializers.variance_scaling`, `keras.initializers.VarianceScaling`",
};
pub(super) const JAX_GLOROT_NORMAL: Scheme = plain(
    "jax_glorot_normal",
    true,
    |_| Ok(Init::JaxGlorotNormal),
    "`variance_scaling(1, fan_avg, truncated_normal)`",
    "tanh, sigmoid",
    "`jax.nn.initializers.glorot_normal`, `keras.initializers.GlorotNormal`",
);
pub(super) const JAX_HE_NORMAL: Scheme = plain(
    "jax_he_normal",
    true,
    |_| Ok(Init::JaxHeNormal),
    "`variance_scaling(2, fan_in, truncated_normal)`",
    "ReLU",
    "`jax.nn.initializers.he_normal`, `keras.initializers.HeNormal`",
);
pub(super) const JAX_LECUN_NORMAL: Scheme = plain(
    "jax_lecun_normal",
    true,
    |_| Ok(Init::JaxLecunNormal),
    "`variance_scaling(1, fan_in, truncated_normal)`",
    "SELU",
    "`jax.nn.initializers.lecun_normal`, `keras.initializers.LecunNormal`",
);
pub(super) const TORCH_DEFAULT_WEIGHT: Scheme = plain(
    "torch_default_weight",
    true,
    |_| Ok(Init::TorchDefaultWeight),
    "U(±1 / √fan_in) = `kaiming_uniform(a=√5)`",
    "as PyTorch's defaults",
    "`nn.Linear`, `nn.Conv1d/2d/3d` `reset_parameters` (weight)",
);
pub(super) const TORCH_DEFAULT_BIAS: Scheme = plain(
    "torch_default_bias",
    true,
    |_| Ok(Init::TorchDefaultBias),
    "U(±1 / √fan_in), fan_in **of the weight** (explicit fans required)",
    "as PyTorch's defaults",
    "`nn.Linear`, `nn.Conv1d/2d/3d` `reset_parameters` (bias)",
);
pub(super) const GPT2_RESIDUAL: Scheme = Scheme {
    name: "gpt2_residual",
    params: &[p("n_layers", Dflt::Required), p("std", Dflt::Num(0.02))],
    fan_based: false,
    build: |a| {
        Ok(Init::Gpt2Residual(Gpt2Residual::new(
            a.u64("n_layers")?,
            a.f64("std")?,
        )?))
    },
    section: Section::Elementwise,
    what: "N(0, (std / √(2·n_layers))²)",
    suits: "residual output projections",
    matches: "GPT-2 (Radford et al. 2019), nanoGPT `c_proj.weight`",
};
pub(super) const LSTM_FORGET_BIAS: Scheme = Scheme {
    name: "lstm_forget_bias",
    params: &[p("forget", Dflt::Num(1.0))],
    fan_based: false,
    build: |a| Ok(Init::LstmForgetBias(LstmForgetBias::new(a.f64("forget")?)?)),
    section: Section::Elementwise,
    what: "1-D `[4·hidden]`, gates i, f, g, o: forget slice constant `forget`, others \
           U(±1 / √hidden)",
    suits: "LSTM bias",
    matches: "Jozefowicz et al. 2015; Keras `unit_forget_bias` (which zeros the other gates); \
              PyTorch `nn.LSTM` default for the others",
};
pub(super) const CLASS_PRIOR_BIAS: Scheme = Scheme {
    name: "class_prior_bias",
    params: &[
        p("priors", Dflt::Required),
        p("activation", Dflt::Activation(PriorActivation::Softmax)),
    ],
    fan_based: false,
    build: |a| {
        Ok(Init::ClassPriorBias(ClassPriorBias::new(
            a.list("priors")?,
            a.choice("activation")?,
        )?))
    },
    section: Section::Elementwise,
    what: "softmax: b_k = ln p_k (priors in (0, 1), sum 1); sigmoid: b_k = ln(p_k / (1 − p_k)), \
           one prior broadcasts",
    suits: "classifier output bias",
    matches: "Karpathy's recipe (2019); RetinaNet prior (Lin et al. 2017)",
};
pub(super) const ORTHOGONAL: Scheme = Scheme {
    name: "orthogonal",
    params: GAIN,
    fan_based: false,
    build: |a| Ok(Init::Orthogonal(gain(a)?)),
    section: Section::Structured,
    what: "≥ 2-D; matrix `[shape[0], rest]` (PyTorch) or `[rest, shape[-1]]` (JAX)",
    suits: "recurrent weights, deep linear/tanh nets",
    matches: "`torch.nn.init.orthogonal_`, `jax.nn.initializers.orthogonal(scale)`, \
              `keras.initializers.Orthogonal`",
};
pub(super) const EYE: Scheme = Scheme {
    section: Section::Structured,
    ..plain(
        "eye",
        false,
        |_| Ok(Init::Eye),
        "exactly 2-D",
        "identity-start linear layers",
        "`torch.nn.init.eye_`",
    )
};
pub(super) const IDENTITY: Scheme = Scheme {
    name: "identity",
    params: GAIN,
    fan_based: false,
    build: |a| Ok(Init::Identity(gain(a)?)),
    section: Section::Structured,
    what: "exactly 2-D",
    suits: "identity-start linear layers",
    matches: "`keras.initializers.Identity(gain)`",
};
pub(super) const DIRAC: Scheme = Scheme {
    name: "dirac",
    params: &[p("groups", Dflt::Whole(1))],
    fan_based: false,
    build: |a| Ok(Init::Dirac(Dirac::new(a.u64("groups")?)?)),
    section: Section::Structured,
    what: "3-5-D conv kernel, out channels divisible by `groups`",
    suits: "identity-start conv layers",
    matches: "`torch.nn.init.dirac_(groups)`",
};
pub(super) const SPARSE: Scheme = Scheme {
    name: "sparse",
    params: &[p("sparsity", Dflt::Required), p("std", Dflt::Num(0.01))],
    fan_based: false,
    build: |a| {
        Ok(Init::Sparse(Sparse::new(
            a.f64("sparsity")?,
            a.f64("std")?,
        )?))
    },
    section: Section::Structured,
    what: "exactly 2-D; `sparsity` in [0, 1); ceil(sparsity·out) zeros per input, rest \
           N(0, std²)",
    suits: "very deep / Hessian-free nets (Martens 2010)",
    matches: "`torch.nn.init.sparse_`",
};
pub(super) const DELTA_ORTHOGONAL: Scheme = Scheme {
    name: "delta_orthogonal",
    params: GAIN,
    fan_based: false,
    build: |a| Ok(Init::DeltaOrthogonal(gain(a)?)),
    section: Section::Structured,
    what: "3-5-D conv kernel, in ≤ out; orthogonal at the centre tap",
    suits: "very deep tanh CNNs (Xiao et al. 2018)",
    matches: "`jax.nn.initializers.delta_orthogonal(scale)`",
};

/// Every scheme, in the order of the [`Init`] variants.
pub(super) const SCHEMES: &[&Scheme] = &[
    &ZEROS,
    &ONES,
    &CONSTANT,
    &UNIFORM,
    &NORMAL,
    &NORMAL_PADDED,
    &TRUNC_NORMAL,
    &JAX_TRUNCATED_NORMAL,
    &XAVIER_UNIFORM,
    &XAVIER_NORMAL,
    &KAIMING_UNIFORM,
    &KAIMING_NORMAL,
    &LECUN_UNIFORM,
    &LECUN_NORMAL_UNTRUNCATED,
    &VARIANCE_SCALING,
    &JAX_GLOROT_NORMAL,
    &JAX_HE_NORMAL,
    &JAX_LECUN_NORMAL,
    &TORCH_DEFAULT_WEIGHT,
    &TORCH_DEFAULT_BIAS,
    &GPT2_RESIDUAL,
    &LSTM_FORGET_BIAS,
    &CLASS_PRIOR_BIAS,
    &ORTHOGONAL,
    &EYE,
    &IDENTITY,
    &DIRAC,
    &SPARSE,
    &DELTA_ORTHOGONAL,
];

/// An alias that takes no parameters and changes no default.
const fn same(name: &'static str, target: &'static Scheme, parses_to: &'static str) -> Alias {
    Alias {
        name,
        target,
        takes: &[],
        defaults: &[],
        parses_to,
        note: "",
    }
}

/// Every alias, in the order of [`SCHEME_ALIASES`].
pub(super) const ALIASES: &[Alias] = &[
    same("glorot_uniform", &XAVIER_UNIFORM, "xavier_uniform(gain=1)"),
    Alias {
        defaults: &[p("nonlinearity", Dflt::Nonlinearity(Nonlinearity::Relu))],
        ..same(
            "he_uniform",
            &KAIMING_UNIFORM,
            "kaiming_uniform(a=0, mode=fan_in, nonlinearity=relu)",
        )
    },
    same(
        "keras_glorot_normal",
        &JAX_GLOROT_NORMAL,
        "jax_glorot_normal",
    ),
    same("keras_he_normal", &JAX_HE_NORMAL, "jax_he_normal"),
    same("keras_lecun_normal", &JAX_LECUN_NORMAL, "jax_lecun_normal"),
    Alias {
        name: "keras_truncated_normal",
        target: &JAX_TRUNCATED_NORMAL,
        takes: &["mean", "std"],
        defaults: &[p("std", Dflt::Num(0.05))],
        parses_to: "jax_truncated_normal(mean, std, lower=-2, upper=2); \
                    parameters (mean=0, std=0.05)",
        note: "Keras's default std",
    },
    same(
        "torch_linear_weight",
        &TORCH_DEFAULT_WEIGHT,
        "torch_default_weight",
    ),
    same(
        "torch_conv_weight",
        &TORCH_DEFAULT_WEIGHT,
        "torch_default_weight",
    ),
    same(
        "torch_linear_bias",
        &TORCH_DEFAULT_BIAS,
        "torch_default_bias",
    ),
    same("torch_conv_bias", &TORCH_DEFAULT_BIAS, "torch_default_bias"),
    Alias {
        note: "`nn.Embedding`",
        ..same("torch_embedding", &NORMAL, "normal(mean=0, std=1)")
    },
    Alias {
        note: "`nn.LayerNorm`, `nn.BatchNorm*d`",
        ..same("torch_norm_weight", &ONES, "ones")
    },
    Alias {
        note: "`nn.LayerNorm`, `nn.BatchNorm*d`",
        ..same("torch_norm_bias", &ZEROS, "zeros")
    },
    Alias {
        name: "small_normal",
        target: &NORMAL,
        takes: &["std"],
        defaults: &[p("std", Dflt::Num(0.02))],
        parses_to: "normal(mean=0, std); parameter (std=0.02)",
        note: "transformer weights and embeddings: GPT-2, BERT",
    },
    Alias {
        name: "relu_bias",
        target: &CONSTANT,
        takes: &["value"],
        defaults: &[p("value", Dflt::Num(0.01))],
        parses_to: "constant(value); parameter (value=0.01)",
        note: "small positive ReLU bias, CS231n",
    },
];

/// Every refused name, in the order of [`AMBIGUOUS_NAMES`].
pub(super) const AMBIGUOUS: &[Ambiguous] = &[
    Ambiguous {
        name: "glorot_normal",
        why: "JAX/Keras glorot_normal is truncated (write `jax_glorot_normal`); \
              PyTorch's xavier_normal_ is not (write `xavier_normal`)",
        instead: "`jax_glorot_normal` (truncated, JAX/Keras) or `xavier_normal` \
                  (untruncated, PyTorch)",
    },
    Ambiguous {
        name: "he_normal",
        why: "JAX/Keras he_normal is truncated (write `jax_he_normal`); PyTorch's \
              kaiming_normal_ is not (write `kaiming_normal(nonlinearity=relu)`)",
        instead: "`jax_he_normal` (truncated, JAX/Keras) or \
                  `kaiming_normal(nonlinearity=relu)` (untruncated, PyTorch)",
    },
    Ambiguous {
        name: "lecun_normal",
        why: "JAX/Keras lecun_normal is truncated (write `jax_lecun_normal`); the \
              untruncated form is `lecun_normal_untruncated`",
        instead: "`jax_lecun_normal` (truncated, JAX/Keras) or `lecun_normal_untruncated`",
    },
    Ambiguous {
        name: "truncated_normal",
        why: "bounds in std units as JAX/Keras (write `jax_truncated_normal`) or \
              absolute as PyTorch's trunc_normal_ (write `trunc_normal`)?",
        instead: "`jax_truncated_normal` (bounds in std units) or `trunc_normal` \
                  (absolute bounds, PyTorch)",
    },
];

/// The `variance_scaling` distribution name the text form refuses.
pub(super) const AMBIGUOUS_DISTRIBUTION: Ambiguous = Ambiguous {
    name: "normal",
    why: "JAX's variance_scaling \"normal\" is untruncated, tf.keras's is truncated; \
          write `truncated_normal` or `untruncated_normal`",
    instead: "`truncated_normal` (tf.keras's `\"normal\"`) or `untruncated_normal` \
              (JAX's `\"normal\"`)",
};

/// Every scheme's canonical text name ([`Init::name`]), in the order of the
/// [`Init`] variants.
///
/// ```
/// use weight_init::scheme::SCHEME_NAMES;
/// assert!(SCHEME_NAMES.contains(&"kaiming_uniform") && SCHEME_NAMES.contains(&"orthogonal"));
/// let init: weight_init::Init = "kaiming_uniform".parse()?;
/// assert_eq!(SCHEME_NAMES.iter().position(|n| *n == init.name()).is_some(), true);
/// # Ok::<(), weight_init::Error>(())
/// ```
pub const SCHEME_NAMES: &[&str] = &{
    let mut names = [""; SCHEMES.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = SCHEMES[i].name;
        i += 1;
    }
    names
};

/// Every alias the text form accepts, with what it parses to. Aliases
/// print back in the canonical form (`glorot_uniform` displays as
/// `xavier_uniform(gain=1)`).
///
/// ```
/// use weight_init::scheme::SCHEME_ALIASES;
/// let (alias, _) = SCHEME_ALIASES.iter().find(|(a, _)| *a == "glorot_uniform").unwrap();
/// assert_eq!(alias.parse::<weight_init::Init>()?.name(), "xavier_uniform");
/// # Ok::<(), weight_init::Error>(())
/// ```
pub const SCHEME_ALIASES: &[(&str, &str)] = &{
    let mut aliases = [("", ""); ALIASES.len()];
    let mut i = 0;
    while i < aliases.len() {
        aliases[i] = (ALIASES[i].name, ALIASES[i].parses_to);
        i += 1;
    }
    aliases
};

/// Names the text form refuses because libraries disagree on them, with
/// what to write instead.
///
/// ```
/// use weight_init::scheme::AMBIGUOUS_NAMES;
/// for (name, instead) in AMBIGUOUS_NAMES {
///     assert!(name.parse::<weight_init::Init>().is_err(), "{name}: write {instead}");
/// }
/// ```
pub const AMBIGUOUS_NAMES: &[(&str, &str)] = &{
    let mut names = [("", ""); AMBIGUOUS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = (AMBIGUOUS[i].name, AMBIGUOUS[i].why);
        i += 1;
    }
    names
};

// ---------------------------------------------------------------------------
// The documentation tables
// ---------------------------------------------------------------------------

/// The header row and the `|---|` rule under it.
fn header(out: &mut String, cells: &[&str]) {
    row(out, cells);
    out.push('|');
    out.push_str(&"---|".repeat(cells.len()));
    out.push('\n');
}

fn row(out: &mut String, cells: &[&str]) {
    out.push('|');
    for cell in cells {
        if cell.is_empty() {
            out.push_str(" |");
        } else {
            out.push(' ');
            out.push_str(cell);
            out.push_str(" |");
        }
    }
    out.push('\n');
}

/// The scheme tables of `docs/SCHEMES.md` and the README (elementwise,
/// structured, aliases, refused names), rendered from the scheme table
/// that the parser, [`Init::name`], [`SCHEME_NAMES`] and the parameters'
/// defaults come from.
///
/// `tests/scheme_docs.rs` checks that both files carry exactly this text
/// between their `generated` markers; `UPDATE_DOCS=1 cargo test --test
/// scheme_docs` rewrites them.
///
/// ```
/// let tables = weight_init::scheme::scheme_tables_markdown();
/// assert!(tables.contains("| `uniform(low=0, high=1)` | U[low, high) |"));
/// ```
pub fn scheme_tables_markdown() -> String {
    let mut out = String::new();
    for (section, heading, what) in [
        (Section::Elementwise, "Elementwise schemes", "Resolves to"),
        (
            Section::Structured,
            "Structured schemes (names, parameters and validation; algorithms in `structured`)",
            "Shape rule",
        ),
    ] {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("### {heading}\n\n"));
        header(
            &mut out,
            &[
                "Text name (parameters = defaults)",
                what,
                "Suits",
                "Matches",
            ],
        );
        for s in SCHEMES.iter().filter(|s| s.section == section) {
            let name = format!(
                "`{}`",
                Form::find(s.name).map_or_else(String::new, |f| f.signature())
            );
            row(&mut out, &[&name, s.what, s.suits, s.matches]);
        }
    }
    out.push_str("\n### Aliases\n\n");
    header(&mut out, &["Alias", "Parses to"]);
    for a in ALIASES {
        let Some(form) = Form::find(a.name) else {
            continue;
        };
        let mut to = format!("`{}`", form.target_text());
        if !a.note.is_empty() {
            to.push_str(&format!(" ({})", a.note));
        }
        row(&mut out, &[&format!("`{}`", form.signature()), &to]);
    }
    out.push_str("\n### Refused names (libraries disagree)\n\n");
    header(&mut out, &["Name", "Write instead"]);
    for a in AMBIGUOUS {
        row(&mut out, &[&format!("`{}`", a.name), a.instead]);
    }
    let d = &AMBIGUOUS_DISTRIBUTION;
    let written = format!("`{}(distribution={})`", VARIANCE_SCALING.name, d.name);
    row(&mut out, &[&written, d.instead]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An argument list for the schemes that have required parameters.
    fn example(name: &str) -> String {
        match name {
            "constant" => "constant(0.5)".into(),
            "gpt2_residual" => "gpt2_residual(2)".into(),
            "normal_padded" => "normal_padded(padding_idx=0)".into(),
            "class_prior_bias" => "class_prior_bias([0.5, 0.5])".into(),
            "sparse" => "sparse(0.5)".into(),
            _ => name.into(),
        }
    }

    #[test]
    fn the_table_is_in_variant_order_and_init_points_back_at_it() {
        for s in SCHEMES {
            let init: Init = example(s.name).parse().unwrap();
            assert_eq!(init.name(), s.name);
            assert_eq!(init.is_fan_based(), s.fan_based, "{}", s.name);
        }
        let mut names: Vec<&str> = Form::names().collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a text name is listed twice");
        for a in AMBIGUOUS {
            assert!(Form::find(a.name).is_none(), "{} is refused", a.name);
        }
    }

    #[test]
    fn every_default_has_the_type_its_parser_reads() {
        // Parsing every name with its defaults reads every default through
        // its typed getter: a mistyped default would fail as missing.
        for name in Form::names() {
            let form = Form::find(name).unwrap();
            let text = example(form.scheme.name);
            let text = if form.alias.is_some() {
                name.into()
            } else {
                text
            };
            text.parse::<Init>()
                .unwrap_or_else(|e| panic!("`{text}` with its defaults: {e}"));
        }
    }

    #[test]
    fn alias_descriptions_are_rendered_from_the_table() {
        for a in ALIASES {
            let form = Form::find(a.name).unwrap();
            let mut text = form.target_text();
            let takes: Vec<String> = a
                .takes
                .iter()
                .map(|t| format!("{t}={}", form.default(t).text().unwrap()))
                .collect();
            if !takes.is_empty() {
                let s = if takes.len() == 1 { "" } else { "s" };
                text.push_str(&format!("; parameter{s} ({})", takes.join(", ")));
            }
            assert_eq!(a.parses_to, text, "SCHEME_ALIASES entry of {}", a.name);
        }
    }
}
