//! Rules (name glob, layer kind, rank -> scheme) and the presets built
//! from them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{LayerKind, ParamSet};
use crate::error::{Error, Result};
use crate::scheme::{Bounds, Constant, Gain, Gpt2Residual, Init, MeanStd, TruncNormal};

/// Whether `name` matches the glob `pattern`: `*` matches any run of
/// characters (dots and slashes included, so `*.bias` matches
/// `h.0.attn.c_attn.bias`), `?` exactly one character, everything else
/// itself. There are no character classes or escapes.
///
/// ```
/// use weight_init::model::glob_match;
/// assert!(glob_match("*.bias", "h.0.attn.c_attn.bias"));
/// assert!(glob_match("h.?.mlp.*", "h.3.mlp.c_fc.weight"));
/// assert!(!glob_match("h.?.mlp.*", "h.10.mlp.c_fc.weight"));
/// assert!(glob_match("*", ""));
/// ```
///
/// Time: linear in `pattern` and `name` for patterns without `?` (the
/// pieces between stars are found left to right, each with the standard
/// library's linear substring search, and a greedy leftmost match is the
/// right one for `*`); a piece holding `?` is matched naively, so at
/// worst `O(|pattern| · |name|)`. Never exponential: no backtracking.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if pieces.len() == 1 {
        return strip_piece_prefix(name, first) == Some("");
    }
    let Some(rest) = strip_piece_prefix(name, first) else {
        return false;
    };
    let Some(mut hay) = strip_piece_suffix(rest, last) else {
        return false;
    };
    for piece in &pieces[1..pieces.len() - 1] {
        match find_piece(hay, piece) {
            Some(end) => hay = &hay[end..],
            None => return false,
        }
    }
    true
}

/// `s` after a prefix matching `piece` (`?` matches any one character).
fn strip_piece_prefix<'a>(s: &'a str, piece: &str) -> Option<&'a str> {
    let mut chars = s.char_indices();
    for p in piece.chars() {
        let (_, c) = chars.next()?;
        if p != '?' && p != c {
            return None;
        }
    }
    Some(chars.as_str())
}

/// `s` before a suffix matching `piece`.
fn strip_piece_suffix<'a>(s: &'a str, piece: &str) -> Option<&'a str> {
    let mut chars = s.chars();
    for p in piece.chars().rev() {
        let c = chars.next_back()?;
        if p != '?' && p != c {
            return None;
        }
    }
    Some(chars.as_str())
}

/// The byte just past the leftmost match of `piece` in `hay`.
fn find_piece(hay: &str, piece: &str) -> Option<usize> {
    if !piece.contains('?') {
        return hay.find(piece).map(|i| i + piece.len());
    }
    hay.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(hay.len()))
        .find_map(|i| strip_piece_prefix(&hay[i..], piece).map(|r| hay.len() - r.len()))
}

/// A condition on a tensor's rank (number of dimensions), inclusive.
///
/// Text / JSON forms: `2` (exactly 2), `">=3"`, `"<=1"`.
///
/// ```
/// use weight_init::model::RankCond;
/// let c: RankCond = ">=3".parse().unwrap();
/// assert!(c.matches(4) && !c.matches(2));
/// assert!(RankCond::exactly(2).matches(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankCond {
    /// Smallest rank accepted.
    pub min: usize,
    /// Largest rank accepted.
    pub max: usize,
}

impl RankCond {
    /// Exactly `rank` dimensions.
    ///
    /// ```
    /// use weight_init::model::RankCond;
    /// let c = RankCond::exactly(2);
    /// assert_eq!((c.min, c.max), (2, 2));
    /// assert!(c.matches(2) && !c.matches(1) && !c.matches(3));
    /// ```
    pub fn exactly(rank: usize) -> Self {
        Self {
            min: rank,
            max: rank,
        }
    }
    /// At least `rank` dimensions.
    ///
    /// ```
    /// use weight_init::model::RankCond;
    /// let c = RankCond::at_least(3);
    /// assert!(c.matches(3) && c.matches(5) && !c.matches(2));
    /// assert_eq!(c, ">=3".parse().unwrap());
    /// ```
    pub fn at_least(rank: usize) -> Self {
        Self {
            min: rank,
            max: usize::MAX,
        }
    }
    /// At most `rank` dimensions.
    ///
    /// ```
    /// use weight_init::model::RankCond;
    /// let c = RankCond::at_most(1);
    /// assert!(c.matches(0) && c.matches(1) && !c.matches(2));
    /// ```
    pub fn at_most(rank: usize) -> Self {
        Self { min: 0, max: rank }
    }
    /// Whether `rank` satisfies the condition.
    ///
    /// ```
    /// use weight_init::model::RankCond;
    /// let c = RankCond { min: 2, max: 4 };
    /// assert!(c.matches(2) && c.matches(4));
    /// assert!(!c.matches(1) && !c.matches(5));
    /// ```
    pub fn matches(&self, rank: usize) -> bool {
        (self.min..=self.max).contains(&rank)
    }
}

impl FromStr for RankCond {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        let bad = || Error::InvalidChoice {
            name: "rank",
            value: s.to_string(),
            reason: "expected a rank `N`, `>=N` or `<=N`",
        };
        if let Some(r) = t.strip_prefix(">=") {
            Ok(Self::at_least(r.trim().parse().map_err(|_| bad())?))
        } else if let Some(r) = t.strip_prefix("<=") {
            Ok(Self::at_most(r.trim().parse().map_err(|_| bad())?))
        } else {
            Ok(Self::exactly(t.parse().map_err(|_| bad())?))
        }
    }
}

impl fmt::Display for RankCond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min)
        } else if self.max == usize::MAX {
            write!(f, ">={}", self.min)
        } else if self.min == 0 {
            write!(f, "<={}", self.max)
        } else {
            write!(f, ">={},<={}", self.min, self.max)
        }
    }
}

impl Serialize for RankCond {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if self.min == self.max {
            s.serialize_u64(self.min as u64)
        } else {
            s.serialize_str(&self.to_string())
        }
    }
}

impl<'de> Deserialize<'de> for RankCond {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(usize),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(RankCond::exactly(n)),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// One rule: parameters whose name matches `pattern` (see [`glob_match`]),
/// whose kind is `kind` (when given) and whose rank satisfies `rank` (when
/// given) get `init`.
///
/// JSON: `{"pattern": "*.c_proj.weight", "kind": "linear", "rank": 2,
/// "init": "normal(0, 0.02)"}`; `init` takes the scheme text form
/// ([`Init`]'s `FromStr`) or its JSON object form.
///
/// ```
/// use weight_init::model::{LayerKind, Rule};
/// let r = Rule::new("*.bias", "zeros".parse().unwrap()).with_kind(LayerKind::Linear);
/// assert!(r.matches("fc.bias", Some(LayerKind::Linear), 1));
/// assert!(!r.matches("fc.bias", Some(LayerKind::Norm), 1));
/// assert!(!r.matches("fc.weight", Some(LayerKind::Linear), 2));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Glob over the parameter name.
    #[serde(default = "star")]
    pub pattern: String,
    /// Only parameters of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<LayerKind>,
    /// Only parameters of this rank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<RankCond>,
    /// The scheme.
    #[serde(with = "init_text")]
    pub init: Init,
}

fn star() -> String {
    "*".into()
}

/// `Init` in JSON as its text form (`"normal(0, 0.02)"`), or its tagged
/// object form.
pub(crate) mod init_text {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Init, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Init, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Object(serde_json::Value),
        }
        match Raw::deserialize(d)? {
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
            Raw::Object(v) => serde_json::from_value(v).map_err(serde::de::Error::custom),
        }
    }

    /// For `Option<Init>` fields.
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            v: &Option<Init>,
            s: S,
        ) -> std::result::Result<S::Ok, S::Error> {
            match v {
                Some(i) => s.serialize_some(&i.to_string()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> std::result::Result<Option<Init>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(deserialize_with = "super::deserialize")] Init);
            Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
        }
    }
}

impl Rule {
    /// Parameters matching `pattern` get `init`.
    ///
    /// ```
    /// use weight_init::model::Rule;
    /// use weight_init::Init;
    /// let r = Rule::new("*.bias", Init::Zeros);
    /// assert_eq!((r.pattern.as_str(), r.kind, r.rank), ("*.bias", None, None));
    /// assert_eq!(r, "*.bias=zeros".parse::<Rule>().unwrap());
    /// ```
    pub fn new(pattern: impl Into<String>, init: Init) -> Self {
        Self {
            pattern: pattern.into(),
            kind: None,
            rank: None,
            init,
        }
    }
    /// Only for parameters of `kind`.
    ///
    /// ```
    /// use weight_init::model::{LayerKind, Rule};
    /// use weight_init::Init;
    /// let r = Rule::new("*", Init::Ones).with_kind(LayerKind::Norm);
    /// assert!(r.matches("ln_f.weight", Some(LayerKind::Norm), 1));
    /// assert!(!r.matches("fc.weight", Some(LayerKind::Linear), 2));
    /// ```
    pub fn with_kind(mut self, kind: LayerKind) -> Self {
        self.kind = Some(kind);
        self
    }
    /// Only for parameters whose rank satisfies `rank`.
    ///
    /// ```
    /// use weight_init::model::{RankCond, Rule};
    /// use weight_init::Init;
    /// let r = Rule::new("*.weight", Init::Zeros).with_rank(RankCond::at_least(3));
    /// assert!(r.matches("conv1.weight", None, 4));
    /// assert!(!r.matches("fc.weight", None, 2));
    /// ```
    pub fn with_rank(mut self, rank: RankCond) -> Self {
        self.rank = Some(rank);
        self
    }
    /// Whether the rule applies to a parameter.
    ///
    /// ```
    /// use weight_init::model::{LayerKind, Rule};
    /// use weight_init::Init;
    /// let r = Rule::new("h.*.c_proj.weight", Init::Zeros).with_kind(LayerKind::Linear);
    /// assert!(r.matches("h.0.c_proj.weight", Some(LayerKind::Linear), 2));
    /// assert!(!r.matches("h.0.c_proj.weight", None, 2));
    /// assert!(!r.matches("h.0.c_fc.weight", Some(LayerKind::Linear), 2));
    /// ```
    pub fn matches(&self, name: &str, kind: Option<LayerKind>, rank: usize) -> bool {
        self.kind.is_none_or(|k| Some(k) == kind)
            && self.rank.is_none_or(|r| r.matches(rank))
            && glob_match(&self.pattern, name)
    }
}

impl FromStr for Rule {
    type Err = Error;
    /// `PATTERN=INIT`, e.g. `*.bias=zeros` (the first `=` splits; a
    /// pattern cannot contain `=`).
    fn from_str(s: &str) -> Result<Self> {
        let (pattern, init) = s.split_once('=').ok_or_else(|| Error::InvalidChoice {
            name: "rule",
            value: s.to_string(),
            reason: "expected PATTERN=SCHEME, e.g. `*.bias=zeros`",
        })?;
        Ok(Rule::new(pattern.trim(), init.trim().parse()?))
    }
}

/// An ordered list of rules; the first that matches a parameter wins.
///
/// ```
/// use weight_init::model::{Rule, Rules};
/// let rules = Rules::new(vec![
///     "*.bias=zeros".parse::<Rule>().unwrap(),
///     "*=normal(0, 0.02)".parse().unwrap(),
/// ]);
/// assert_eq!(rules.find("fc.bias", None, 1).unwrap().name(), "zeros");
/// assert_eq!(rules.find("fc.weight", None, 2).unwrap().name(), "normal");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// The rules in priority order.
    ///
    /// ```
    /// use weight_init::model::{Rule, Rules};
    /// let rules = Rules::new(vec!["*=zeros".parse::<Rule>().unwrap()]);
    /// assert_eq!(rules.rules().len(), 1);
    /// assert_eq!(rules.find("anything", None, 0).unwrap().name(), "zeros");
    /// ```
    pub fn new(rules: Vec<Rule>) -> Self {
        Self { rules }
    }
    /// The rules, in priority order.
    ///
    /// ```
    /// use weight_init::model::{Rule, Rules};
    /// let rules = Rules::new(vec!["*.bias=zeros".parse::<Rule>().unwrap(), "*=ones".parse().unwrap()]);
    /// let patterns: Vec<&str> = rules.rules().iter().map(|r| r.pattern.as_str()).collect();
    /// assert_eq!(patterns, ["*.bias", "*"]);
    /// ```
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
    /// These rules first, then `lower`'s.
    ///
    /// ```
    /// use weight_init::model::{Rule, Rules};
    /// let high = Rules::new(vec!["*.bias=zeros".parse::<Rule>().unwrap()]);
    /// let low = Rules::new(vec!["*=ones".parse::<Rule>().unwrap()]);
    /// let both = high.then(low);
    /// assert_eq!(both.find("fc.bias", None, 1).unwrap().name(), "zeros");
    /// assert_eq!(both.find("fc.weight", None, 2).unwrap().name(), "ones");
    /// ```
    pub fn then(mut self, lower: Rules) -> Self {
        self.rules.extend(lower.rules);
        self
    }
    /// The scheme of the first rule that matches.
    ///
    /// ```
    /// use weight_init::model::{Rule, Rules};
    /// use weight_init::Init;
    /// let rules = Rules::new(vec!["*.bias=zeros".parse::<Rule>().unwrap()]);
    /// assert_eq!(rules.find("fc.bias", None, 1), Some(&Init::Zeros));
    /// assert_eq!(rules.find("fc.weight", None, 2), None);
    /// ```
    pub fn find(&self, name: &str, kind: Option<LayerKind>, rank: usize) -> Option<&Init> {
        self.rules
            .iter()
            .find(|r| r.matches(name, kind, rank))
            .map(|r| &r.init)
    }
}

/// Ready-made rule lists reproducing libraries' default inits.
///
/// Text forms: `torch-defaults`, `gpt2`, `gpt2(n_layers=12)`,
/// `gpt2(n_layers=12, std=0.02)`, `keras-defaults`,
/// `mup(base_width=256, width=1024[, std=0.02][, zero_readout=false])`,
/// `deepnorm(layers=24[, arch=decoder|encoder])`,
/// `deepnorm(encoder_layers=6, decoder_layers=6)`, `olmo`, `olmo(std=0.02)`,
/// `t5(d_model=512, d_kv=64, d_ff=2048, num_heads=8[, factor=1.0])`
/// (`_` may replace `-`). Unknown or repeated arguments are errors.
///
/// - `torch-defaults`: PyTorch's `reset_parameters` of `nn.Linear` and
///   `nn.Conv*d` (torch/nn/modules/linear.py, conv.py): weights
///   `kaiming_uniform_(a=sqrt(5))` ([`Init::TorchDefaultWeight`]), biases
///   `U(±1/sqrt(fan_in))` with fan_in of the layer's weight
///   ([`Init::TorchDefaultBias`]); `nn.Embedding`: `normal_(0, 1)`
///   (sparse.py); `nn.LayerNorm`/`BatchNorm`/`GroupNorm` (normalization.py,
///   batchnorm.py): weight ones, bias zeros; BatchNorm's `running_mean`
///   zeros and `running_var` ones (every preset, and Keras's
///   `moving_mean`/`moving_variance` alike).
/// - `gpt2`: Hugging Face `GPT2PreTrainedModel._init_weights`
///   (transformers/models/gpt2/modeling_gpt2.py) and nanoGPT: Linear and
///   Embedding weights `normal(0, std)` (std = `initializer_range` = 0.02),
///   biases zeros, LayerNorm weight ones and bias zeros, and residual
///   projections `normal(0, std / sqrt(2 * n_layers))`
///   ([`Init::Gpt2Residual`]). Residual projections are the weights
///   matching `*c_proj.weight` (GPT-2's `attn.c_proj` and `mlp.c_proj`),
///   `*o_proj.weight` and `*down_proj.weight` (Llama naming). `n_layers`
///   is the preset's parameter; when omitted it is inferred as one more
///   than the largest all-digit name component among the parameters
///   (`h.11.mlp...` -> 12, `model.layers.31...` -> 32), and a set without
///   numbered layers is an error.
/// - `keras-defaults`: Keras 3 layer defaults (keras/src/layers/core/
///   dense.py, convolutional/base_conv.py, core/embedding.py,
///   normalization/layer_normalization.py): Dense/Conv kernels
///   `glorot_uniform`, biases zeros, Embedding `RandomUniform(-0.05, 0.05)`
///   (Keras's `"uniform"` initializer), norm gamma ones and beta zeros.
///
/// - `mup`: μP for Adam, Yang et al. 2022, "Tensor Programs V" (arXiv
///   2203.03466), Table 3 (μP, the initialization column for Adam), for a
///   model of `width` tuned at `base_width` with init std `std` (0.02)
///   for every weight of the base model. With the width multiplier
///   `m = width / base_width`: **input weights** keep the base init
///   `normal(0, std)` (variance Θ(1): their fan_in is the vocabulary);
///   **hidden weights** `normal(0, std / sqrt(m))` (variance ∝ 1/fan_in);
///   **output (readout) weights** `normal(0, std / m)` (variance ∝
///   1/fan_in²), or zeros with `zero_readout=true` (the paper's
///   Appendix D recommends a zero readout); biases zeros
///   (width-independent, zero in the base model); norm weights ones and
///   biases zeros. Which is which, in this
///   order, first match wins: biases (`*bias`) and norm parameters (kind
///   norm); output = names matching [`MUP_READOUT`] (`*lm_head*`,
///   `*readout*`, `*output_layer*`); input = kind embedding or names
///   matching [`MUP_INPUT`] (`*embed*`, `*wte.*`, `*wpe.*`); hidden =
///   every other linear or conv weight. A tied `lm_head` is no tensor
///   of its own: it is the embedding and keeps the input init (μP's
///   readout rule needs an untied head).
/// - `deepnorm`: DeepNet, Wang et al. 2022 (arXiv 2203.00555), Figure 2's
///   pseudocode and Table 1: `xavier_normal(gain=β)` for the FFN weights,
///   the value projection and the attention output projection (names
///   matching [`DEEPNORM_BETA`]: fairseq `fc1`/`fc2`/`v_proj`/`out_proj`,
///   Llama `o_proj`/`gate_proj`/`up_proj`/`down_proj`, GPT-2 `mlp.c_fc`
///   and `c_proj`, BERT `attention.self.value`, `intermediate.dense`,
///   `output.dense`), `xavier_normal(gain=1)` for the query and key
///   projections ([`DEEPNORM_QK`]). β is `(8N)^(-1/4)` for an N-layer
///   decoder-only or encoder-only model; for an encoder-decoder model
///   (`encoder_layers=N, decoder_layers=M`) the encoder's weights (names
///   containing `encoder`) take `0.87 (N^4 M)^(-1/16)` and the decoder's
///   (names containing `decoder`, checked first, so a decoder's
///   `encoder_attn` is the decoder's) `(12M)^(-1/4)`
///   ([`DeepNormLayers`]). DeepNorm's α (`(2N)^(1/4)`; `0.81 (N^4
///   M)^(1/16)` and `(3M)^(1/4)` encoder-decoder) multiplies the residual
///   in the forward pass, `x_{l+1} = LN(α x_l + G(x_l))`: it is no init,
///   and the model must apply it. The paper leaves the rest to the model;
///   here other linear and conv weights take `xavier_normal(gain=1)` (the
///   unscaled form of the same init) and rank-2 embeddings
///   `normal(0, dim^-1/2)` as fairseq's `Embedding()` (DeepNet's
///   codebase); biases zeros, norm weights ones. GPT-2's fused `c_attn`
///   (query, key and value in one tensor) takes gain 1 as a whole: its
///   value third is not β-scaled.
/// - `olmo`: OLMo, Groeneveld et al. 2024 (arXiv 2402.00838), the OLMo
///   codebase's `init_normal` with `init_cutoff_factor = 3`: every linear,
///   conv and embedding weight `trunc_normal(0, std, -3·std, 3·std)`
///   (PyTorch's `trunc_normal_`: `std` is the parent normal's, the bounds
///   absolute), biases zeros, norm weights ones.
/// - `t5`: `T5PreTrainedModel._init_weights` (transformers/models/t5/
///   modeling_t5.py), by T5's parameter names, with
///   `f = initializer_factor`: `shared`, `*embed_tokens` and an untied
///   `lm_head` `normal(0, f)`; `DenseReluDense` / gated `wi`, `wi_0`,
///   `wi_1` `normal(0, f·d_model^-1/2)` and `wo` `normal(0,
///   f·d_ff^-1/2)`; `SelfAttention` / `EncDecAttention` `q` `normal(0,
///   f·(d_model·d_kv)^-1/2)`, `k` and `v` `normal(0, f·d_model^-1/2)`, `o`
///   `normal(0, f·(num_heads·d_kv)^-1/2)`, `relative_attention_bias`
///   `normal(0, f·d_model^-1/2)`; every `layer_norm` weight (and
///   `final_layer_norm`) `constant(f)`; biases zeros. Other T5 heads
///   (`qa_outputs`, `classifier`) match no rule.
///
/// Biases are the names ending in `bias` (and norm `beta`s). `gpt2` and
/// `keras-defaults` zero every bias; `torch-defaults` needs the bias's
/// layer weight (its fan_in), so there a bias without a linear or conv
/// weight beside it matches no rule. A parameter no preset rule matches
/// (e.g. a 1-D tensor that is neither a bias nor a norm parameter) is an
/// error naming it.
///
/// ```
/// use weight_init::model::Preset;
/// assert_eq!("gpt2(n_layers=12)".parse::<Preset>().unwrap(), Preset::Gpt2 { n_layers: Some(12), std: 0.02 });
/// assert_eq!("keras_defaults".parse::<Preset>().unwrap(), Preset::KerasDefaults);
/// assert!("torch".parse::<Preset>().is_err());
/// let mup: Preset = "mup(base_width=256, width=1024)".parse().unwrap();
/// assert_eq!(mup, Preset::Mup { base_width: 256, width: 1024, std: 0.02, zero_readout: false });
/// assert_eq!(mup.to_string().parse::<Preset>().unwrap(), mup);
/// assert!("mup(width=1024)".parse::<Preset>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Preset {
    /// PyTorch's module defaults.
    TorchDefaults,
    /// GPT-2 / nanoGPT init.
    Gpt2 {
        /// Transformer blocks; `None` infers it from the names.
        n_layers: Option<u64>,
        /// Base std (0.02).
        std: f64,
    },
    /// Keras's layer defaults.
    KerasDefaults,
    /// muP for Adam (Yang et al. 2022, Tensor Programs V, Table 3).
    Mup {
        /// Width of the base (proxy) model the hyperparameters were tuned on.
        base_width: u64,
        /// Width of this model; the width multiplier is `width / base_width`.
        width: u64,
        /// The base model's init std (0.02).
        std: f64,
        /// Readout weights zero instead of `normal(0, std / m)`.
        zero_readout: bool,
    },
    /// DeepNet's DeepNorm init (Wang et al. 2022, Figure 2 and Table 1).
    DeepNorm(DeepNormLayers),
    /// OLMo's truncated normal at ±3 std (Groeneveld et al. 2024).
    Olmo {
        /// The std (0.02).
        std: f64,
    },
    /// T5's `T5PreTrainedModel._init_weights` (transformers).
    T5 {
        /// `config.d_model`.
        d_model: u64,
        /// `config.d_kv`.
        d_kv: u64,
        /// `config.d_ff`.
        d_ff: u64,
        /// `config.num_heads`.
        num_heads: u64,
        /// `config.initializer_factor` (1.0).
        factor: f64,
    },
}

/// The layer counts of a [`Preset::DeepNorm`]: an N-layer decoder-only or
/// encoder-only model, or an encoder-decoder model with an N-layer encoder
/// and an M-layer decoder (DeepNet's Table 1 names them N and M).
///
/// ```
/// use weight_init::model::DeepNormLayers;
/// let d = DeepNormLayers::Decoder(12);
/// assert!((d.beta_decoder() - (8.0f64 * 12.0).powf(-0.25)).abs() < 1e-15);
/// let ed = DeepNormLayers::EncoderDecoder { encoder: 6, decoder: 6 };
/// assert!((ed.beta_encoder() - 0.87 * (6f64.powi(4) * 6.0).powf(-1.0 / 16.0)).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeepNormLayers {
    /// A decoder-only model of N layers.
    Decoder(u64),
    /// An encoder-only model of N layers.
    Encoder(u64),
    /// An encoder-decoder model.
    EncoderDecoder {
        /// N, the encoder's layers.
        encoder: u64,
        /// M, the decoder's layers.
        decoder: u64,
    },
}

impl DeepNormLayers {
    /// β of the encoder-side (or only) stack: `(8N)^(-1/4)` for an N-layer
    /// encoder-only or decoder-only model, `0.87 (N^4 M)^(-1/16)` for the
    /// encoder of an encoder-decoder model (DeepNet, Table 1).
    ///
    /// ```
    /// use weight_init::model::DeepNormLayers;
    /// assert_eq!(DeepNormLayers::Encoder(2).beta_encoder(), 0.5);
    /// ```
    pub fn beta_encoder(&self) -> f64 {
        match *self {
            DeepNormLayers::Decoder(n) | DeepNormLayers::Encoder(n) => (8.0 * n as f64).powf(-0.25),
            DeepNormLayers::EncoderDecoder { encoder, decoder } => {
                0.87 * ((encoder as f64).powi(4) * decoder as f64).powf(-1.0 / 16.0)
            }
        }
    }
    /// β of the decoder-side (or only) stack: `(8N)^(-1/4)` for an N-layer
    /// encoder-only or decoder-only model, `(12M)^(-1/4)` for the decoder
    /// of an encoder-decoder model (DeepNet, Table 1).
    ///
    /// ```
    /// use weight_init::model::DeepNormLayers;
    /// assert_eq!(DeepNormLayers::Decoder(2).beta_decoder(), 0.5);
    /// let ed = DeepNormLayers::EncoderDecoder { encoder: 3, decoder: 27 };
    /// assert!((ed.beta_decoder() - (12.0f64 * 27.0).powf(-0.25)).abs() < 1e-15);
    /// ```
    pub fn beta_decoder(&self) -> f64 {
        match *self {
            DeepNormLayers::EncoderDecoder { decoder, .. } => (12.0 * decoder as f64).powf(-0.25),
            _ => self.beta_encoder(),
        }
    }
}

impl FromStr for Preset {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().replace('_', "-");
        let bad = |reason: &'static str| Error::InvalidChoice {
            name: "preset",
            value: s.to_string(),
            reason,
        };
        const NAMES: &str = "expected torch-defaults, gpt2, gpt2(n_layers=N[, std=X]), \
                             keras-defaults, mup(base_width=B, width=W[, std=X][, zero_readout=B]), \
                             deepnorm(layers=N[, arch=decoder|encoder]), \
                             deepnorm(encoder_layers=N, decoder_layers=M), olmo, olmo(std=X) \
                             or t5(d_model=D, d_kv=K, d_ff=F, num_heads=H[, factor=X])";
        match t.as_str() {
            "torch-defaults" => return Ok(Preset::TorchDefaults),
            "keras-defaults" => return Ok(Preset::KerasDefaults),
            "gpt2" => {
                return Ok(Preset::Gpt2 {
                    n_layers: None,
                    std: 0.02,
                })
            }
            "olmo" => return Ok(Preset::Olmo { std: 0.02 }),
            _ => {}
        }
        let (name, args) = t
            .strip_suffix(')')
            .and_then(|r| r.split_once('('))
            .ok_or_else(|| bad(NAMES))?;
        // `replace('_', "-")` above also touched the keys and values.
        let mut args = PresetArgs::parse(args).ok_or_else(|| bad(NAMES))?;
        let positive_int = |v: &str, reason| {
            v.parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| bad(reason))
        };
        let positive = |v: &str, reason| {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| bad(reason))
        };
        let std_of = |args: &mut PresetArgs| {
            args.take("std")
                .map_or(Ok(0.02), |v| positive(&v, "std must be finite and > 0"))
        };
        let preset = match name.trim() {
            "gpt2" => {
                let n_layers = args
                    .take("n-layers")
                    .map(|v| positive_int(&v, "n_layers must be a positive integer"))
                    .transpose()?;
                let std = std_of(&mut args)?;
                args.done()
                    .map_err(|_| bad("gpt2 takes n_layers and std"))?;
                Preset::Gpt2 { n_layers, std }
            }
            "mup" => {
                let need = "mup needs base_width=B and width=W, positive integers";
                let base_width =
                    positive_int(&args.take("base-width").ok_or_else(|| bad(need))?, need)?;
                let width = positive_int(&args.take("width").ok_or_else(|| bad(need))?, need)?;
                let std = std_of(&mut args)?;
                let zero_readout = match args.take("zero-readout").as_deref() {
                    None | Some("false") => false,
                    Some("true") => true,
                    Some(_) => return Err(bad("zero_readout must be true or false")),
                };
                args.done()
                    .map_err(|_| bad("mup takes base_width, width, std and zero_readout"))?;
                Preset::Mup {
                    base_width,
                    width,
                    std,
                    zero_readout,
                }
            }
            "deepnorm" => {
                let need = "deepnorm needs layers=N, or encoder_layers=N and decoder_layers=M, \
                            positive integers";
                let layers = args.take("layers");
                let arch = args.take("arch");
                let enc = args.take("encoder-layers");
                let dec = args.take("decoder-layers");
                args.done().map_err(|_| {
                    bad("deepnorm takes layers and arch, or encoder_layers and decoder_layers")
                })?;
                let layers = match (layers, arch, enc, dec) {
                    (Some(n), arch, None, None) => {
                        let n = positive_int(&n, need)?;
                        match arch.as_deref() {
                            None | Some("decoder") => DeepNormLayers::Decoder(n),
                            Some("encoder") => DeepNormLayers::Encoder(n),
                            Some(_) => {
                                return Err(bad("deepnorm's arch must be decoder or encoder"))
                            }
                        }
                    }
                    (None, None, Some(e), Some(d)) => DeepNormLayers::EncoderDecoder {
                        encoder: positive_int(&e, need)?,
                        decoder: positive_int(&d, need)?,
                    },
                    (None, Some(_), Some(_), Some(_)) => {
                        return Err(bad("deepnorm's arch goes with layers=N, not with \
                                        encoder_layers and decoder_layers"))
                    }
                    _ => return Err(bad(need)),
                };
                Preset::DeepNorm(layers)
            }
            "olmo" => {
                let std = std_of(&mut args)?;
                args.done().map_err(|_| bad("olmo takes std"))?;
                Preset::Olmo { std }
            }
            "t5" => {
                let need = "t5 needs d_model, d_kv, d_ff and num_heads, positive integers";
                let mut int = |k: &str| -> Result<u64> {
                    positive_int(&args.take(k).ok_or_else(|| bad(need))?, need)
                };
                let (d_model, d_kv, d_ff, num_heads) = (
                    int("d-model")?,
                    int("d-kv")?,
                    int("d-ff")?,
                    int("num-heads")?,
                );
                let factor = args
                    .take("factor")
                    .map_or(Ok(1.0), |v| positive(&v, "factor must be finite and > 0"))?;
                args.done()
                    .map_err(|_| bad("t5 takes d_model, d_kv, d_ff, num_heads and factor"))?;
                Preset::T5 {
                    d_model,
                    d_kv,
                    d_ff,
                    num_heads,
                    factor,
                }
            }
            _ => return Err(bad(NAMES)),
        };
        Ok(preset)
    }
}

/// The `key=value` arguments of a preset's text form.
struct PresetArgs(Vec<(String, String)>);

impl PresetArgs {
    /// `None` when an argument is not one `key=value` (a missing comma
    /// leaves two `=`) or a key repeats.
    fn parse(args: &str) -> Option<Self> {
        let mut out: Vec<(String, String)> = Vec::new();
        for arg in args.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let (k, v) = arg.split_once('=')?;
            let k = k.trim().to_string();
            if v.contains('=') || out.iter().any(|(o, _)| *o == k) {
                return None;
            }
            out.push((k, v.trim().to_string()));
        }
        Some(Self(out))
    }
    fn take(&mut self, key: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }
    /// `Err` when an argument was not taken (unknown to the preset).
    fn done(&self) -> std::result::Result<(), ()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(())
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Preset::TorchDefaults => f.write_str("torch-defaults"),
            Preset::KerasDefaults => f.write_str("keras-defaults"),
            Preset::Gpt2 {
                n_layers: Some(n),
                std,
            } => write!(f, "gpt2(n_layers={n}, std={std})"),
            Preset::Gpt2 {
                n_layers: None,
                std,
            } => write!(f, "gpt2(std={std})"),
            Preset::Mup {
                base_width,
                width,
                std,
                zero_readout,
            } => write!(
                f,
                "mup(base_width={base_width}, width={width}, std={std}, zero_readout={zero_readout})"
            ),
            Preset::DeepNorm(DeepNormLayers::Decoder(n)) => {
                write!(f, "deepnorm(layers={n}, arch=decoder)")
            }
            Preset::DeepNorm(DeepNormLayers::Encoder(n)) => {
                write!(f, "deepnorm(layers={n}, arch=encoder)")
            }
            Preset::DeepNorm(DeepNormLayers::EncoderDecoder { encoder, decoder }) => write!(
                f,
                "deepnorm(encoder_layers={encoder}, decoder_layers={decoder})"
            ),
            Preset::Olmo { std } => write!(f, "olmo(std={std})"),
            Preset::T5 {
                d_model,
                d_kv,
                d_ff,
                num_heads,
                factor,
            } => write!(
                f,
                "t5(d_model={d_model}, d_kv={d_kv}, d_ff={d_ff}, num_heads={num_heads}, factor={factor})"
            ),
        }
    }
}

/// muP's readout (output) weights: `lm_head` (Hugging Face), `readout`
/// (`mup`'s `MuReadout`), `output_layer` (Megatron).
///
/// ```
/// use weight_init::model::{glob_match, MUP_READOUT};
/// assert!(MUP_READOUT.iter().any(|p| glob_match(p, "lm_head.weight")));
/// ```
pub const MUP_READOUT: [&str; 3] = ["*lm_head*", "*readout*", "*output_layer*"];

/// muP's input weights by name, besides every [`LayerKind::Embedding`]
/// parameter: `*embed*` (`embed_tokens`, `word_embeddings`), GPT-2's
/// `wte` and `wpe`.
///
/// ```
/// use weight_init::model::{glob_match, MUP_INPUT};
/// assert!(MUP_INPUT.iter().any(|p| glob_match(p, "transformer.wte.weight")));
/// assert!(MUP_INPUT.iter().any(|p| glob_match(p, "model.embed_tokens.weight")));
/// ```
pub const MUP_INPUT: [&str; 3] = ["*embed*", "*wte.*", "*wpe.*"];

/// DeepNorm's β-scaled weights (DeepNet, Figure 2: the FFN, the value
/// projection and the attention output projection), in fairseq / Llama /
/// GPT-2 / BERT naming.
///
/// ```
/// use weight_init::model::{glob_match, DEEPNORM_BETA};
/// assert!(DEEPNORM_BETA.iter().any(|p| glob_match(p, "layers.0.self_attn.v_proj.weight")));
/// assert!(!DEEPNORM_BETA.iter().any(|p| glob_match(p, "layers.0.self_attn.q_proj.weight")));
/// ```
pub const DEEPNORM_BETA: [&str; 13] = [
    "*fc1.weight",
    "*fc2.weight",
    "*v_proj.weight",
    "*out_proj.weight",
    "*o_proj.weight",
    "*gate_proj.weight",
    "*up_proj.weight",
    "*down_proj.weight",
    "*mlp.c_fc.weight",
    "*c_proj.weight",
    "*attention.self.value.weight",
    "*intermediate.dense.weight",
    "*output.dense.weight",
];

/// DeepNorm's query and key projections, `xavier_normal(gain=1)`.
///
/// ```
/// use weight_init::model::{glob_match, DEEPNORM_QK};
/// assert!(DEEPNORM_QK.iter().any(|p| glob_match(p, "layers.0.self_attn.k_proj.weight")));
/// ```
pub const DEEPNORM_QK: [&str; 4] = [
    "*q_proj.weight",
    "*k_proj.weight",
    "*attention.self.query.weight",
    "*attention.self.key.weight",
];

/// OLMo's `init_cutoff_factor`: truncation at ±3 std.
const OLMO_CUTOFF_FACTOR: f64 = 3.0;

/// One more than the largest all-digit component of any name (`h.11.attn`
/// -> 12), or `None` when no name has one.
pub(crate) fn infer_n_layers(set: &ParamSet) -> Option<u64> {
    set.params()
        .iter()
        .flat_map(|p| p.name.split(['.', '/']))
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|c| c.parse::<u64>().ok())
        .max()
        .map(|m| m + 1)
}

impl Preset {
    /// The preset's rules for the parameters of `set` (`gpt2` reads
    /// `n_layers` from the names when not given).
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet, Preset};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([
    ///     Param::new("h.0.attn.c_proj.weight", vec![8, 8], DType::F32),
    ///     Param::new("h.5.attn.c_proj.weight", vec![8, 8], DType::F32),
    /// ]).unwrap();
    /// let rules = "gpt2".parse::<Preset>().unwrap().rules(&set).unwrap();
    /// let init = rules.find("h.0.attn.c_proj.weight", None, 2).unwrap();
    /// assert_eq!(init.to_string(), "gpt2_residual(n_layers=6, std=0.02)");
    /// ```
    pub fn rules(&self, set: &ParamSet) -> Result<Rules> {
        use LayerKind::*;
        let zeros = Init::Zeros;
        let ones = Init::Ones;
        let norm = |v: &mut Vec<Rule>| {
            // BatchNorm's running statistics, as `reset_running_stats()`
            // (PyTorch) and `moving_*_initializer` (Keras) set them.
            v.push(Rule::new("*running_mean", zeros.clone()));
            v.push(Rule::new("*running_var", ones.clone()));
            v.push(Rule::new("*moving_mean", zeros.clone()));
            v.push(Rule::new("*moving_variance", ones.clone()));
            v.push(Rule::new("*bias", zeros.clone()).with_kind(Norm));
            v.push(Rule::new("*beta", zeros.clone()).with_kind(Norm));
            v.push(Rule::new("*", ones.clone()).with_kind(Norm));
        };
        let mut v = Vec::new();
        match *self {
            Preset::TorchDefaults => {
                norm(&mut v);
                v.push(Rule::new("*", Init::Normal(MeanStd::new(0.0, 1.0)?)).with_kind(Embedding));
                for k in [Linear, Conv] {
                    v.push(Rule::new("*bias", Init::TorchDefaultBias).with_kind(k));
                    v.push(Rule::new("*", Init::TorchDefaultWeight).with_kind(k));
                }
            }
            Preset::Gpt2 { n_layers, std } => {
                let n_layers = match n_layers {
                    Some(n) => n,
                    None => infer_n_layers(set).ok_or_else(|| Error::InvalidChoice {
                        name: "preset",
                        value: self.to_string(),
                        reason: "gpt2 needs n_layers: no parameter name has a layer \
                                 index; write gpt2(n_layers=N)",
                    })?,
                };
                norm(&mut v);
                let residual = Init::Gpt2Residual(Gpt2Residual::new(n_layers, std)?);
                for pat in ["*c_proj.weight", "*o_proj.weight", "*down_proj.weight"] {
                    v.push(Rule::new(pat, residual.clone()));
                }
                // Every bias is zero, whatever its layer (HF zeroes the
                // biases of Linear and Conv1D alike).
                v.push(Rule::new("*bias", zeros.clone()));
                let normal = Init::Normal(MeanStd::new(0.0, std)?);
                for k in [Linear, Conv, Embedding] {
                    v.push(Rule::new("*", normal.clone()).with_kind(k));
                }
            }
            Preset::KerasDefaults => {
                norm(&mut v);
                v.push(
                    Rule::new("*", Init::Uniform(Bounds::new(-0.05, 0.05)?)).with_kind(Embedding),
                );
                // Keras's `bias_initializer="zeros"`, whatever the layer.
                v.push(Rule::new("*bias", zeros.clone()));
                for k in [Linear, Conv] {
                    v.push(Rule::new("*", Init::XavierUniform(Gain::new(1.0)?)).with_kind(k));
                }
            }
            Preset::Mup {
                base_width,
                width,
                std,
                zero_readout,
            } => {
                let m = width as f64 / base_width as f64;
                norm(&mut v);
                // Biases are width-independent in Table 3 and zero in the
                // base model.
                v.push(Rule::new("*bias", zeros.clone()));
                let readout = if zero_readout {
                    zeros.clone()
                } else {
                    Init::Normal(MeanStd::new(0.0, std / m)?)
                };
                for pat in MUP_READOUT {
                    v.push(Rule::new(pat, readout.clone()));
                }
                let input = Init::Normal(MeanStd::new(0.0, std)?);
                v.push(Rule::new("*", input.clone()).with_kind(Embedding));
                for pat in MUP_INPUT {
                    v.push(Rule::new(pat, input.clone()));
                }
                let hidden = Init::Normal(MeanStd::new(0.0, std / m.sqrt())?);
                for k in [Linear, Conv] {
                    v.push(Rule::new("*", hidden.clone()).with_kind(k));
                }
            }
            Preset::DeepNorm(layers) => {
                norm(&mut v);
                v.push(Rule::new("*bias", zeros.clone()));
                let xavier =
                    |gain: f64| -> Result<Init> { Ok(Init::XavierNormal(Gain::new(gain)?)) };
                if let DeepNormLayers::EncoderDecoder { .. } = layers {
                    // Decoder first: a decoder's cross-attention is named
                    // `encoder_attn` (fairseq) and must take the decoder's β.
                    for (stack, beta) in [
                        ("*decoder*", layers.beta_decoder()),
                        ("*encoder*", layers.beta_encoder()),
                    ] {
                        for pat in DEEPNORM_BETA {
                            v.push(Rule::new(format!("{stack}{}", &pat[1..]), xavier(beta)?));
                        }
                    }
                } else {
                    for pat in DEEPNORM_BETA {
                        v.push(Rule::new(pat, xavier(layers.beta_decoder())?));
                    }
                }
                for pat in DEEPNORM_QK {
                    v.push(Rule::new(pat, xavier(1.0)?));
                }
                // fairseq's `Embedding()` (the codebase DeepNet was built
                // in): normal(0, embedding_dim^-1/2), per parameter since
                // the std depends on its shape.
                for p in set.params() {
                    if set.kind_of(p) == Some(Embedding) && p.shape.len() == 2 {
                        let std = (p.shape[1] as f64).powf(-0.5);
                        v.push(Rule::new(
                            p.name.clone(),
                            Init::Normal(MeanStd::new(0.0, std)?),
                        ));
                    }
                }
                for k in [Linear, Conv] {
                    v.push(Rule::new("*", xavier(1.0)?).with_kind(k));
                }
            }
            Preset::Olmo { std } => {
                norm(&mut v);
                v.push(Rule::new("*bias", zeros.clone()));
                let cut = OLMO_CUTOFF_FACTOR * std;
                let trunc = Init::TruncNormal(TruncNormal::new(0.0, std, -cut, cut)?);
                for k in [Linear, Conv, Embedding] {
                    v.push(Rule::new("*", trunc.clone()).with_kind(k));
                }
            }
            Preset::T5 {
                d_model,
                d_kv,
                d_ff,
                num_heads,
                factor,
            } => {
                let normal =
                    |std: f64| -> Result<Init> { Ok(Init::Normal(MeanStd::new(0.0, std)?)) };
                let inv_sqrt = |n: u64| (n as f64).powf(-0.5);
                let d_model_std = factor * inv_sqrt(d_model);
                v.push(Rule::new(
                    "*layer_norm.weight",
                    Init::Constant(Constant::new(factor)?),
                ));
                for pat in ["shared.weight", "*embed_tokens.weight", "lm_head.weight"] {
                    v.push(Rule::new(pat, normal(factor)?));
                }
                v.push(Rule::new(
                    "*relative_attention_bias.weight",
                    normal(d_model_std)?,
                ));
                for pat in ["wi", "wi_0", "wi_1"] {
                    v.push(Rule::new(
                        format!("*Dense*.{pat}.weight"),
                        normal(d_model_std)?,
                    ));
                }
                v.push(Rule::new(
                    "*Dense*.wo.weight",
                    normal(factor * inv_sqrt(d_ff))?,
                ));
                let q = factor * (d_model as f64 * d_kv as f64).powf(-0.5);
                let o = factor * (num_heads as f64 * d_kv as f64).powf(-0.5);
                for (leaf, std) in [("q", q), ("k", d_model_std), ("v", d_model_std), ("o", o)] {
                    v.push(Rule::new(format!("*Attention.{leaf}.weight"), normal(std)?));
                }
                v.push(Rule::new("*bias", zeros.clone()));
            }
        }
        Ok(Rules::new(v))
    }
}
