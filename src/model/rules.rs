//! Rules (name glob, layer kind, rank -> scheme) and the presets built
//! from them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{LayerKind, ParamSet};
use crate::error::{Error, Result};
use crate::scheme::{Bounds, Gain, Gpt2Residual, Init, MeanStd};

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
/// `gpt2(n_layers=12, std=0.02)`, `keras-defaults` (`_` may replace `-`).
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
        const NAMES: &str =
            "expected torch-defaults, gpt2, gpt2(n_layers=N[, std=X]) or keras-defaults";
        match t.as_str() {
            "torch-defaults" => return Ok(Preset::TorchDefaults),
            "keras-defaults" => return Ok(Preset::KerasDefaults),
            "gpt2" => {
                return Ok(Preset::Gpt2 {
                    n_layers: None,
                    std: 0.02,
                })
            }
            _ => {}
        }
        let args = t
            .strip_prefix("gpt2(")
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| bad(NAMES))?;
        let (mut n_layers, mut std) = (None, 0.02);
        for arg in args.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let (k, v) = arg.split_once('=').ok_or_else(|| bad(NAMES))?;
            // `replace('_', "-")` above also touched the key.
            match k.trim() {
                "n-layers" => {
                    n_layers = Some(
                        v.trim()
                            .parse::<u64>()
                            .ok()
                            .filter(|&n| n > 0)
                            .ok_or_else(|| bad("n_layers must be a positive integer"))?,
                    )
                }
                "std" => {
                    std = v
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite() && *x > 0.0)
                        .ok_or_else(|| bad("std must be finite and > 0"))?
                }
                _ => return Err(bad("gpt2 takes n_layers and std")),
            }
        }
        Ok(Preset::Gpt2 { n_layers, std })
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
        }
    }
}

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
        }
        Ok(Rules::new(v))
    }
}
