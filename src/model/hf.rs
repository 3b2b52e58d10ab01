//! Architectures from their Hugging Face `config.json`: [`HfConfig`] reads
//! the config of a Llama, Mistral, Qwen2, GPT-2 or BERT model and gives
//! the [`ParamSet`] that `transformers` (5.25.0) creates for it, every
//! parameter with its own [`Init`].
//!
//! Names, shapes and dtypes are the safetensors keys `save_pretrained`
//! writes for the class the config names (`architectures[0]`; the bare
//! model class when `architectures` is absent): tied weights are stored
//! once, as `transformers` stores them, so `from_pretrained` on the file
//! (with the config beside it) loads with no missing and no unexpected
//! keys. Each parameter's init is the architecture's `_init_weights`
//! (`PreTrainedModel._init_weights` in `modeling_utils.py`, with
//! `GPT2PreTrainedModel`'s and `BertPreTrainedModel`'s additions):
//! - `nn.Linear` and GPT-2's `Conv1D` weights, `nn.Embedding` weights:
//!   `normal(0, initializer_range)`; their biases zero;
//! - an embedding created with `padding_idx` (Llama, Mistral and Qwen2's
//!   `embed_tokens` when the config has a `pad_token_id`; BERT's
//!   `word_embeddings`, whose `pad_token_id` defaults to 0): that row zero
//!   ([`Init::NormalPadded`]);
//! - RMSNorm and LayerNorm weights one, LayerNorm biases zero;
//! - GPT-2's attention and MLP `c_proj.weight`:
//!   `normal(0, initializer_range / sqrt(2 * n_layer))`
//!   ([`Init::Gpt2Residual`]);
//! - BERT's LM-head `cls.predictions.bias`: zero.
//!
//! Fields absent from the config take the defaults of the architecture's
//! config class, as `transformers` does (e.g. `tie_word_embeddings` is
//! false for Llama, Mistral and Qwen2, true for GPT-2 and BERT; Mistral's
//! `num_key_value_heads` is 8, Qwen2's 32), the sizes included: a bare
//! `{"model_type": "gpt2"}` is GPT-2 small (124M), a bare Llama config is
//! Llama-7B-sized. `init --max-bytes` bounds what a config may ask for.
//!
//! ```
//! use weight_init::model::HfConfig;
//! let cfg = HfConfig::from_json(r#"{
//!     "architectures": ["LlamaForCausalLM"], "model_type": "llama",
//!     "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2,
//!     "num_attention_heads": 8, "num_key_value_heads": 2, "vocab_size": 500,
//!     "pad_token_id": 3, "torch_dtype": "bfloat16"
//! }"#, "config.json").unwrap();
//! let set = cfg.param_set().unwrap();
//! // Grouped-query attention: k_proj has 2 heads of 8.
//! assert_eq!(set.get("model.layers.0.self_attn.k_proj.weight").unwrap().shape, vec![16, 64]);
//! assert_eq!(set.get("lm_head.weight").unwrap().dtype, weight_init::DType::BF16);
//! // Fill on the CPU: the padding row of the embedding is zero.
//! let resolved = set.resolve(&Default::default()).unwrap();
//! let tensors = resolved.fill_cpu(0, None).unwrap();
//! let (_, embed) = tensors.iter().find(|(n, _)| n == "model.embed_tokens.weight").unwrap();
//! let row = 3 * 64 * 2; // row 3 of a bf16 [500, 64] table, in bytes
//! assert!(embed[row..row + 64 * 2].iter().all(|&b| b == 0));
//! assert!(embed[..row].iter().any(|&b| b != 0));
//! ```

use std::path::Path;

use serde_json::{Map, Value};

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::files;
use crate::scheme::{Gpt2Residual, Init, Layout, MeanStd, NormalPadded};

use super::{LayerKind, Param, ParamSet};

/// The most layers [`HfConfig::param_set_as`] builds (the largest
/// published configs have a few hundred).
///
/// ```
/// use weight_init::model::{HfConfig, MAX_HF_LAYERS};
/// let text = format!(r#"{{"model_type": "gpt2", "n_embd": 8, "n_head": 2, "vocab_size": 10,
///     "n_layer": {}}}"#, MAX_HF_LAYERS + 1);
/// assert!(HfConfig::from_json(&text, "inline").unwrap_err().to_string().contains("layers"));
/// ```
pub const MAX_HF_LAYERS: u64 = 10_000;

/// An architecture [`HfConfig`] reads, by the config's `model_type`.
///
/// ```
/// use weight_init::model::HfArchitecture;
/// assert_eq!(HfArchitecture::Qwen2.model_type(), "qwen2");
/// assert_eq!(HfArchitecture::Gpt2.head_class(), "GPT2LMHeadModel");
/// assert_eq!(HfArchitecture::Bert.bare_class(), "BertModel");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HfArchitecture {
    /// `llama`: `LlamaForCausalLM`, `LlamaModel`.
    Llama,
    /// `mistral`: `MistralForCausalLM`, `MistralModel`.
    Mistral,
    /// `qwen2`: `Qwen2ForCausalLM`, `Qwen2Model` (q/k/v biases).
    Qwen2,
    /// `gpt2`: `GPT2LMHeadModel`, `GPT2Model`.
    Gpt2,
    /// `bert`: `BertForMaskedLM`, `BertModel` (with its pooler).
    Bert,
}

const ARCHITECTURES: [HfArchitecture; 5] = [
    HfArchitecture::Llama,
    HfArchitecture::Mistral,
    HfArchitecture::Qwen2,
    HfArchitecture::Gpt2,
    HfArchitecture::Bert,
];

impl HfArchitecture {
    /// The config's `model_type`.
    ///
    /// ```
    /// use weight_init::model::HfArchitecture;
    /// assert_eq!(HfArchitecture::Llama.model_type(), "llama");
    /// ```
    pub fn model_type(self) -> &'static str {
        match self {
            HfArchitecture::Llama => "llama",
            HfArchitecture::Mistral => "mistral",
            HfArchitecture::Qwen2 => "qwen2",
            HfArchitecture::Gpt2 => "gpt2",
            HfArchitecture::Bert => "bert",
        }
    }

    /// The class with the language-model head.
    ///
    /// ```
    /// use weight_init::model::HfArchitecture;
    /// assert_eq!(HfArchitecture::Bert.head_class(), "BertForMaskedLM");
    /// ```
    pub fn head_class(self) -> &'static str {
        match self {
            HfArchitecture::Llama => "LlamaForCausalLM",
            HfArchitecture::Mistral => "MistralForCausalLM",
            HfArchitecture::Qwen2 => "Qwen2ForCausalLM",
            HfArchitecture::Gpt2 => "GPT2LMHeadModel",
            HfArchitecture::Bert => "BertForMaskedLM",
        }
    }

    /// The bare model class (`AutoModel`'s choice).
    ///
    /// ```
    /// use weight_init::model::HfArchitecture;
    /// assert_eq!(HfArchitecture::Mistral.bare_class(), "MistralModel");
    /// ```
    pub fn bare_class(self) -> &'static str {
        match self {
            HfArchitecture::Llama => "LlamaModel",
            HfArchitecture::Mistral => "MistralModel",
            HfArchitecture::Qwen2 => "Qwen2Model",
            HfArchitecture::Gpt2 => "GPT2Model",
            HfArchitecture::Bert => "BertModel",
        }
    }
}

/// What every "not supported" error lists.
fn supported() -> String {
    ARCHITECTURES
        .iter()
        .map(|a| {
            format!(
                "{} ({}, {})",
                a.model_type(),
                a.head_class(),
                a.bare_class()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Hugging Face `config.json` of a supported architecture, read into the
/// sizes and flags that decide the parameters (see the module docs for
/// the defaults).
///
/// ```
/// use weight_init::model::{HfArchitecture, HfConfig};
/// let cfg = HfConfig::from_json(
///     r#"{"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 100}"#,
///     "inline",
/// ).unwrap();
/// assert_eq!((cfg.architecture, cfg.class()), (HfArchitecture::Gpt2, "GPT2Model"));
/// assert_eq!(cfg.intermediate_size, 256); // n_inner absent: 4 * n_embd
/// assert!(HfConfig::from_json(r#"{"model_type": "t5"}"#, "inline").is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HfConfig {
    /// The `model_type`.
    pub architecture: HfArchitecture,
    /// Whether the class is the one with the language-model head
    /// ([`HfArchitecture::head_class`]) rather than the bare model.
    pub lm_head: bool,
    /// `vocab_size`.
    pub vocab_size: u64,
    /// `hidden_size` (GPT-2: `n_embd`).
    pub hidden_size: u64,
    /// `intermediate_size` (GPT-2: `n_inner`, else `4 * n_embd`).
    pub intermediate_size: u64,
    /// `num_hidden_layers` (GPT-2: `n_layer`).
    pub num_hidden_layers: u64,
    /// `num_attention_heads` (GPT-2: `n_head`).
    pub num_attention_heads: u64,
    /// `num_key_value_heads` (grouped-query attention; Llama, Mistral,
    /// Qwen2); the head count elsewhere.
    pub num_key_value_heads: u64,
    /// `head_dim`, else `hidden_size / num_attention_heads` (rounded down,
    /// as `transformers`).
    pub head_dim: u64,
    /// `max_position_embeddings` (GPT-2: `n_positions`): the rows of the
    /// learned position table of GPT-2 and BERT; unused by the others.
    pub max_position_embeddings: u64,
    /// BERT's `type_vocab_size`.
    pub type_vocab_size: u64,
    /// `initializer_range`: the std of the normal inits.
    pub initializer_range: f64,
    /// The row of the token embedding that is zero: `pad_token_id`
    /// (negative counts from the end, as `nn.Embedding`), on the
    /// architectures that create their embedding with `padding_idx`.
    pub padding_idx: Option<u64>,
    /// `tie_word_embeddings`: the head shares the token embedding and is
    /// not stored.
    pub tie_word_embeddings: bool,
    /// Llama's `attention_bias` (q, k, v and o projections); Qwen2 always
    /// has q/k/v biases, Mistral none.
    pub attention_bias: bool,
    /// Llama's `mlp_bias`.
    pub mlp_bias: bool,
    /// `dtype` (transformers 5) or `torch_dtype` (older files) as written;
    /// [`HfConfig::dtype`] reads it.
    pub config_dtype: Option<String>,
}

/// A config's JSON object, with the errors that name the file and the key.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    what: &'a str,
}

impl Fields<'_> {
    fn err(&self, reason: String) -> Error {
        Error::InvalidFile {
            path: self.what.to_string(),
            reason,
        }
    }

    /// The value of the first of `keys` present and not null.
    fn get<'k>(&self, keys: &[&'k str]) -> Option<(&'k str, &Value)> {
        keys.iter()
            .find_map(|k| self.obj.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
    }

    fn whole(&self, keys: &[&str]) -> Result<Option<u64>> {
        match self.get(keys) {
            None => Ok(None),
            Some((k, v)) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.err(format!("`{k}` must be a whole number >= 0, found {v}"))),
        }
    }

    /// A size that makes up shapes, at least 1: the config's, else the
    /// config class's `default`.
    fn size(&self, keys: &[&str], default: u64) -> Result<u64> {
        let n = self.whole(keys)?.unwrap_or(default);
        self.at_least_one(keys[0], n)
    }

    fn at_least_one(&self, key: &str, n: u64) -> Result<u64> {
        if n == 0 {
            return Err(self.err(format!("`{key}` must be at least 1")));
        }
        Ok(n)
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(&[key]) {
            None => Ok(default),
            Some((_, v)) => v
                .as_bool()
                .ok_or_else(|| self.err(format!("`{key}` must be true or false, found {v}"))),
        }
    }

    fn string(&self, key: &str) -> Result<Option<&str>> {
        match self.get(&[key]) {
            None => Ok(None),
            Some((_, v)) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| self.err(format!("`{key}` must be a string, found {v}"))),
        }
    }
}

impl HfConfig {
    /// Reads a `config.json` text; `what` names it in errors (a file name).
    ///
    /// Errors ([`Error::Json`] for malformed JSON, [`Error::InvalidFile`]
    /// otherwise, each naming the key): a `model_type` or `architectures[0]`
    /// that is not supported (the message lists what is), a missing size,
    /// a value of the wrong type, sizes that do not fit (heads not dividing
    /// the hidden size where `transformers` requires it, key/value heads
    /// not dividing the heads, a `pad_token_id` outside the vocabulary), a
    /// non-positive `initializer_range`, and cross-attention (not
    /// supported).
    ///
    /// ```
    /// use weight_init::model::HfConfig;
    /// let bert = HfConfig::from_json(r#"{"model_type": "bert", "architectures": ["BertForMaskedLM"],
    ///     "vocab_size": 500, "hidden_size": 64, "num_hidden_layers": 2,
    ///     "num_attention_heads": 4, "intermediate_size": 128}"#, "inline").unwrap();
    /// assert_eq!(bert.padding_idx, Some(0)); // BertConfig's pad_token_id default
    /// assert!(bert.tie_word_embeddings);
    /// // Absent sizes are the config class's (LlamaConfig: vocab 32000).
    /// let llama = HfConfig::from_json(r#"{"model_type": "llama", "hidden_size": 64}"#, "c.json").unwrap();
    /// assert_eq!((llama.vocab_size, llama.num_hidden_layers), (32000, 32));
    /// ```
    pub fn from_json(text: &str, what: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(text).map_err(|e| Error::Json {
            what: what.to_string(),
            line: e.line(),
            column: e.column(),
            message: super::io::without_position(&e),
        })?;
        let Some(obj) = value.as_object() else {
            return Err(Error::InvalidFile {
                path: what.to_string(),
                reason: "a config.json is a JSON object".into(),
            });
        };
        Self::from_fields(&Fields { obj, what })
    }

    /// Reads a `config.json` file: a regular file of at most
    /// [`files::MAX_SPEC_BYTES`] ([`files::read_text`]), then as
    /// [`HfConfig::from_json`].
    ///
    /// ```
    /// use weight_init::model::HfConfig;
    /// let path = std::env::temp_dir().join(format!("wi-doc-hf-{}.json", std::process::id()));
    /// std::fs::write(&path, r#"{"model_type": "qwen2", "vocab_size": 300, "hidden_size": 64,
    ///   "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 32}"#).unwrap();
    /// let cfg = HfConfig::from_file(&path);
    /// std::fs::remove_file(&path).unwrap();
    /// let cfg = cfg.unwrap();
    /// assert_eq!(cfg.num_key_value_heads, 32); // Qwen2Config's default
    /// assert_eq!(cfg.head_dim, 2); // hidden_size / num_attention_heads
    /// ```
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = files::read_text(path, files::MAX_SPEC_BYTES, "a config.json")?;
        Self::from_json(&text, &files::show(path))
    }

    fn from_fields(f: &Fields<'_>) -> Result<Self> {
        use HfArchitecture as A;
        let model_type = f
            .string("model_type")?
            .ok_or_else(|| f.err(format!("missing `model_type`; supported: {}", supported())))?;
        let arch = ARCHITECTURES
            .into_iter()
            .find(|a| a.model_type() == model_type)
            .ok_or_else(|| {
                f.err(format!(
                    "unsupported model_type `{}`; supported: {}",
                    files::escape(model_type),
                    supported()
                ))
            })?;
        let lm_head = match f.get(&["architectures"]) {
            None => false,
            Some((_, Value::Array(a))) if a.is_empty() => false,
            Some((_, Value::Array(a))) => match a[0].as_str() {
                Some(c) if c == arch.head_class() => true,
                Some(c) if c == arch.bare_class() => false,
                Some(c) => {
                    return Err(f.err(format!(
                        "unsupported architecture `{}` for model_type {model_type}; supported: \
                         {}, {} (or no `architectures`: the bare model)",
                        files::escape(c),
                        arch.head_class(),
                        arch.bare_class()
                    )))
                }
                None => {
                    return Err(f.err(format!(
                        "`architectures` must be a list of class names, found {}",
                        a[0]
                    )))
                }
            },
            Some((_, v)) => {
                return Err(f.err(format!(
                    "`architectures` must be a list of class names, found {v}"
                )))
            }
        };
        let gpt2 = arch == A::Gpt2;
        let hidden_keys: &[&str] = if gpt2 {
            &["n_embd", "hidden_size"]
        } else {
            &["hidden_size"]
        };
        let layer_keys: &[&str] = if gpt2 {
            &["n_layer", "num_hidden_layers"]
        } else {
            &["num_hidden_layers"]
        };
        let head_keys: &[&str] = if gpt2 {
            &["n_head", "num_attention_heads"]
        } else {
            &["num_attention_heads"]
        };
        // The config classes' defaults (LlamaConfig, MistralConfig,
        // Qwen2Config, GPT2Config, BertConfig in transformers 5.25.0):
        // vocab, hidden, layers, heads, intermediate.
        let (d_vocab, d_hidden, d_layers, d_heads, d_inter) = match arch {
            A::Llama => (32000, 4096, 32, 32, 11008),
            A::Mistral => (32000, 4096, 32, 32, 14336),
            A::Qwen2 => (151936, 4096, 32, 32, 22016),
            A::Gpt2 => (50257, 768, 12, 12, 0),
            A::Bert => (30522, 768, 12, 12, 3072),
        };
        let vocab_size = f.size(&["vocab_size"], d_vocab)?;
        let hidden_size = f.size(hidden_keys, d_hidden)?;
        let num_hidden_layers = f.size(layer_keys, d_layers)?;
        let num_attention_heads = f.size(head_keys, d_heads)?;
        let intermediate_size = if gpt2 {
            // GPT2MLP: `n_inner if n_inner is not None else 4 * hidden_size`.
            match f.whole(&["n_inner"])? {
                Some(n) => f.at_least_one("n_inner", n)?,
                None => hidden_size
                    .checked_mul(4)
                    .ok_or_else(|| f.err("`n_embd` is too large".into()))?,
            }
        } else {
            f.size(&["intermediate_size"], d_inter)?
        };
        // The config classes' defaults: LlamaConfig None (-> heads),
        // MistralConfig 8, Qwen2Config 32; an explicit null means the heads.
        let num_key_value_heads = match arch {
            A::Llama | A::Mistral | A::Qwen2 => {
                let default = match (arch, f.obj.contains_key("num_key_value_heads")) {
                    (A::Mistral, false) => 8,
                    (A::Qwen2, false) => 32,
                    _ => num_attention_heads,
                };
                let kv = f.whole(&["num_key_value_heads"])?.unwrap_or(default);
                f.at_least_one("num_key_value_heads", kv)?
            }
            A::Gpt2 | A::Bert => num_attention_heads,
        };
        if num_attention_heads % num_key_value_heads != 0 {
            return Err(f.err(format!(
                "num_attention_heads {num_attention_heads} is not a multiple of \
                 num_key_value_heads {num_key_value_heads}"
            )));
        }
        if matches!(arch, A::Llama | A::Gpt2 | A::Bert) && hidden_size % num_attention_heads != 0 {
            // LlamaConfig.validate_architecture, GPT2Attention and
            // BertSelfAttention raise ValueError here (even with Llama's
            // own head_dim); Mistral and Qwen2 round hidden / heads down.
            return Err(f.err(format!(
                "the hidden size {hidden_size} is not a multiple of the number of attention \
                 heads {num_attention_heads}"
            )));
        }
        let head_dim = match arch {
            A::Llama | A::Mistral | A::Qwen2 => f.whole(&["head_dim"])?,
            A::Gpt2 | A::Bert => None,
        }
        .unwrap_or(hidden_size / num_attention_heads);
        let head_dim = f.at_least_one("head_dim", head_dim)?;
        let (positions_keys, positions_default): (&[&str], u64) = match arch {
            A::Gpt2 => (&["n_positions", "max_position_embeddings"], 1024),
            A::Bert => (&["max_position_embeddings"], 512),
            A::Llama => (&["max_position_embeddings"], 2048),
            A::Mistral => (&["max_position_embeddings"], 131072),
            A::Qwen2 => (&["max_position_embeddings"], 32768),
        };
        let max_position_embeddings = f.whole(positions_keys)?.unwrap_or(positions_default);
        let max_position_embeddings = f.at_least_one(positions_keys[0], max_position_embeddings)?;
        let type_vocab_size = f.whole(&["type_vocab_size"])?.unwrap_or(2);
        let type_vocab_size = if arch == A::Bert {
            f.at_least_one("type_vocab_size", type_vocab_size)?
        } else {
            type_vocab_size
        };
        let initializer_range = match f.get(&["initializer_range"]) {
            None => 0.02,
            Some((_, v)) => v
                .as_f64()
                .ok_or_else(|| f.err(format!("`initializer_range` must be a number, found {v}")))?,
        };
        if !(initializer_range.is_finite() && initializer_range > 0.0) {
            return Err(f.err(format!(
                "`initializer_range` must be a finite number > 0, found {initializer_range}"
            )));
        }
        if arch == A::Llama && initializer_range > 1.0 {
            // LlamaConfig: `interval(min=0.0, max=1.0)`.
            return Err(f.err(format!(
                "`initializer_range` must be at most 1 for llama, found {initializer_range}"
            )));
        }
        // BertConfig's pad_token_id defaults to 0; the decoders' to None.
        // GPT-2 creates its embedding without padding_idx.
        let padding_idx = match arch {
            A::Gpt2 => None,
            _ => {
                let pad = match f.get(&["pad_token_id"]) {
                    None if arch == A::Bert && !f.obj.contains_key("pad_token_id") => Some(0),
                    None => None,
                    Some((_, v)) => Some(v.as_i64().ok_or_else(|| {
                        f.err(format!("`pad_token_id` must be a whole number, found {v}"))
                    })?),
                };
                match pad {
                    None => None,
                    // nn.Embedding: -vocab <= padding_idx < vocab; negative
                    // counts from the end.
                    Some(p) => {
                        let row = if p < 0 {
                            vocab_size.checked_sub(p.unsigned_abs())
                        } else {
                            Some(p as u64).filter(|&r| r < vocab_size)
                        };
                        Some(row.ok_or_else(|| {
                            f.err(format!(
                                "pad_token_id {p} is not a row of the {vocab_size}-token \
                                 embedding (nn.Embedding refuses it)"
                            ))
                        })?)
                    }
                }
            }
        };
        let tie_word_embeddings =
            f.flag("tie_word_embeddings", matches!(arch, A::Gpt2 | A::Bert))?;
        let attention_bias = arch == A::Llama && f.flag("attention_bias", false)?;
        let mlp_bias = arch == A::Llama && f.flag("mlp_bias", false)?;
        if matches!(arch, A::Gpt2 | A::Bert) && f.flag("add_cross_attention", false)? {
            return Err(f.err(
                "`add_cross_attention` is true: cross-attention layers are not supported".into(),
            ));
        }
        let config_dtype = match f.string("dtype")? {
            Some(d) => Some(d.to_string()),
            None => f.string("torch_dtype")?.map(str::to_string),
        };
        let cfg = HfConfig {
            architecture: arch,
            lm_head,
            vocab_size,
            hidden_size,
            intermediate_size,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            max_position_embeddings,
            type_vocab_size,
            initializer_range,
            padding_idx,
            tie_word_embeddings,
            attention_bias,
            mlp_bias,
            config_dtype,
        };
        // Every shape's element count must fit: build the set once.
        cfg.param_set_as(DType::F32)
            .map_err(|e| f.err(e.to_string()))?;
        Ok(cfg)
    }

    /// The `transformers` class the parameters are named after.
    ///
    /// ```
    /// use weight_init::model::HfConfig;
    /// let cfg = HfConfig::from_json(r#"{"model_type": "mistral", "architectures": ["MistralForCausalLM"],
    ///   "vocab_size": 100, "hidden_size": 64, "intermediate_size": 64,
    ///   "num_hidden_layers": 1, "num_attention_heads": 16}"#, "inline").unwrap();
    /// assert_eq!(cfg.class(), "MistralForCausalLM");
    /// assert_eq!(cfg.num_key_value_heads, 8); // MistralConfig's default
    /// ```
    pub fn class(&self) -> &'static str {
        if self.lm_head {
            self.architecture.head_class()
        } else {
            self.architecture.bare_class()
        }
    }

    /// The config's dtype (`dtype`, else `torch_dtype`): `float32`,
    /// `float16` or `bfloat16`; f32 when absent. Any other is an error
    /// ([`Error::InvalidChoice`]) saying so.
    ///
    /// ```
    /// use weight_init::model::HfConfig;
    /// use weight_init::DType;
    /// let text = |d: &str| format!(r#"{{"model_type": "gpt2", "n_embd": 8, "n_layer": 1,
    ///     "n_head": 2, "vocab_size": 10 {d}}}"#);
    /// let read = |d: &str| HfConfig::from_json(&text(d), "inline").unwrap().dtype();
    /// assert_eq!(read("").unwrap(), DType::F32);
    /// assert_eq!(read(r#", "torch_dtype": "float16""#).unwrap(), DType::F16);
    /// assert_eq!(read(r#", "dtype": "bfloat16", "torch_dtype": "float16""#).unwrap(), DType::BF16);
    /// assert!(read(r#", "dtype": "float64""#).is_err());
    /// ```
    pub fn dtype(&self) -> Result<DType> {
        match self.config_dtype.as_deref() {
            None | Some("float32") => Ok(DType::F32),
            Some("float16") => Ok(DType::F16),
            Some("bfloat16") => Ok(DType::BF16),
            Some(other) => Err(Error::InvalidChoice {
                name: "config dtype",
                value: files::escape(other).into_owned(),
                reason: "weight-init writes float32, float16 and bfloat16 (or give the \
                         output dtype explicitly, e.g. --dtype bf16)",
            }),
        }
    }

    /// The parameters in the config's dtype ([`HfConfig::dtype`]).
    ///
    /// ```
    /// use weight_init::model::HfConfig;
    /// let cfg = HfConfig::from_json(r#"{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
    ///   "n_embd": 8, "n_layer": 2, "n_head": 2, "vocab_size": 10, "n_positions": 16}"#, "inline").unwrap();
    /// let set = cfg.param_set().unwrap();
    /// assert!(set.get("lm_head.weight").is_none()); // tied to transformer.wte.weight
    /// assert_eq!(set.get("transformer.h.1.mlp.c_fc.weight").unwrap().shape, vec![8, 32]);
    /// assert_eq!(set.len(), 2 + 12 * 2 + 2);
    /// ```
    pub fn param_set(&self) -> Result<ParamSet> {
        self.param_set_as(self.dtype()?)
    }

    /// The parameters in `dtype`, in the order `named_parameters` gives
    /// them, each with its init, kind and (GPT-2's `Conv1D`, stored
    /// `[in, out]`) layout.
    ///
    /// ```
    /// use weight_init::model::HfConfig;
    /// use weight_init::{DType, Init};
    /// let cfg = HfConfig::from_json(r#"{"model_type": "bert", "vocab_size": 50, "hidden_size": 16,
    ///   "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}"#, "inline").unwrap();
    /// let set = cfg.param_set_as(DType::F16).unwrap();
    /// assert_eq!(set.params()[0].name, "embeddings.word_embeddings.weight");
    /// assert_eq!(set.params()[0].init, Some("normal_padded(0, 0.02, 0)".parse::<Init>().unwrap()));
    /// assert!(set.get("pooler.dense.weight").is_some()); // BertModel has the pooler
    /// ```
    pub fn param_set_as(&self, dtype: DType) -> Result<ParamSet> {
        // Each layer is a dozen tensors: bound the count before building
        // the names, so a hostile `num_hidden_layers` is an error, not an
        // allocation of billions of parameters.
        if self.num_hidden_layers > MAX_HF_LAYERS {
            return Err(Error::TooLarge {
                what: format!("a {} config", self.architecture.model_type()),
                reason: format!(
                    "{} layers, past the {MAX_HF_LAYERS} weight-init builds from a config",
                    self.num_hidden_layers
                ),
            });
        }
        let mut b = Builder {
            set: ParamSet::new(),
            dtype,
            std: self.initializer_range,
        };
        match self.architecture {
            HfArchitecture::Llama | HfArchitecture::Mistral | HfArchitecture::Qwen2 => {
                self.decoder(&mut b)?
            }
            HfArchitecture::Gpt2 => self.gpt2(&mut b)?,
            HfArchitecture::Bert => self.bert(&mut b)?,
        }
        Ok(b.set)
    }

    /// Llama, Mistral and Qwen2: one layout, their own biases.
    fn decoder(&self, b: &mut Builder) -> Result<()> {
        let p = if self.lm_head { "model." } else { "" };
        let (h, v) = (self.hidden_size, self.vocab_size);
        let q = mul(self.num_attention_heads, self.head_dim)?;
        let kv = mul(self.num_key_value_heads, self.head_dim)?;
        let qkv_bias = self.attention_bias || self.architecture == HfArchitecture::Qwen2;
        b.embedding(&format!("{p}embed_tokens.weight"), v, h, self.padding_idx)?;
        for i in 0..self.num_hidden_layers {
            let l = format!("{p}layers.{i}");
            b.linear(&format!("{l}.self_attn.q_proj"), q, h, qkv_bias)?;
            b.linear(&format!("{l}.self_attn.k_proj"), kv, h, qkv_bias)?;
            b.linear(&format!("{l}.self_attn.v_proj"), kv, h, qkv_bias)?;
            b.linear(&format!("{l}.self_attn.o_proj"), h, q, self.attention_bias)?;
            let m = self.intermediate_size;
            b.linear(&format!("{l}.mlp.gate_proj"), m, h, self.mlp_bias)?;
            b.linear(&format!("{l}.mlp.up_proj"), m, h, self.mlp_bias)?;
            b.linear(&format!("{l}.mlp.down_proj"), h, m, self.mlp_bias)?;
            b.norm(&format!("{l}.input_layernorm"), h, false)?;
            b.norm(&format!("{l}.post_attention_layernorm"), h, false)?;
        }
        b.norm(&format!("{p}norm"), h, false)?;
        if self.lm_head && !self.tie_word_embeddings {
            b.linear("lm_head", v, h, false)?;
        }
        Ok(())
    }

    fn gpt2(&self, b: &mut Builder) -> Result<()> {
        let p = if self.lm_head { "transformer." } else { "" };
        let (h, m) = (self.hidden_size, self.intermediate_size);
        let residual = Init::Gpt2Residual(Gpt2Residual::new(
            self.num_hidden_layers,
            self.initializer_range,
        )?);
        b.embedding(&format!("{p}wte.weight"), self.vocab_size, h, None)?;
        b.embedding(
            &format!("{p}wpe.weight"),
            self.max_position_embeddings,
            h,
            None,
        )?;
        for i in 0..self.num_hidden_layers {
            let l = format!("{p}h.{i}");
            b.norm(&format!("{l}.ln_1"), h, true)?;
            b.conv1d(&format!("{l}.attn.c_attn"), h, mul(3, h)?, None)?;
            b.conv1d(&format!("{l}.attn.c_proj"), h, h, Some(&residual))?;
            b.norm(&format!("{l}.ln_2"), h, true)?;
            b.conv1d(&format!("{l}.mlp.c_fc"), h, m, None)?;
            b.conv1d(&format!("{l}.mlp.c_proj"), m, h, Some(&residual))?;
        }
        b.norm(&format!("{p}ln_f"), h, true)?;
        if self.lm_head && !self.tie_word_embeddings {
            b.linear("lm_head", self.vocab_size, h, false)?;
        }
        Ok(())
    }

    fn bert(&self, b: &mut Builder) -> Result<()> {
        let p = if self.lm_head { "bert." } else { "" };
        let (h, m, v) = (self.hidden_size, self.intermediate_size, self.vocab_size);
        let e = format!("{p}embeddings");
        b.embedding(
            &format!("{e}.word_embeddings.weight"),
            v,
            h,
            self.padding_idx,
        )?;
        let positions = self.max_position_embeddings;
        b.embedding(
            &format!("{e}.position_embeddings.weight"),
            positions,
            h,
            None,
        )?;
        let types = self.type_vocab_size;
        b.embedding(&format!("{e}.token_type_embeddings.weight"), types, h, None)?;
        b.norm(&format!("{e}.LayerNorm"), h, true)?;
        for i in 0..self.num_hidden_layers {
            let l = format!("{p}encoder.layer.{i}");
            b.linear(&format!("{l}.attention.self.query"), h, h, true)?;
            b.linear(&format!("{l}.attention.self.key"), h, h, true)?;
            b.linear(&format!("{l}.attention.self.value"), h, h, true)?;
            b.linear(&format!("{l}.attention.output.dense"), h, h, true)?;
            b.norm(&format!("{l}.attention.output.LayerNorm"), h, true)?;
            b.linear(&format!("{l}.intermediate.dense"), m, h, true)?;
            b.linear(&format!("{l}.output.dense"), h, m, true)?;
            b.norm(&format!("{l}.output.LayerNorm"), h, true)?;
        }
        if self.lm_head {
            // BertForMaskedLM builds BertModel(add_pooling_layer=False).
            // BertLMPredictionHead.bias (zeroed by BertPreTrainedModel);
            // decoder.weight and decoder.bias are tied to the word
            // embeddings and to this bias, and stored only when untied.
            b.zeros("cls.predictions.bias", v, LayerKind::Linear)?;
            b.linear("cls.predictions.transform.dense", h, h, true)?;
            b.norm("cls.predictions.transform.LayerNorm", h, true)?;
            if !self.tie_word_embeddings {
                b.linear("cls.predictions.decoder", v, h, true)?;
            }
        } else {
            b.linear("pooler.dense", h, h, true)?;
        }
        Ok(())
    }
}

fn mul(a: u64, b: u64) -> Result<u64> {
    a.checked_mul(b).ok_or_else(|| Error::TooLarge {
        what: "a dimension".into(),
        reason: format!("{a} * {b} does not fit in 64 bits"),
    })
}

/// Pushes the parameters of one module at a time.
struct Builder {
    set: ParamSet,
    dtype: DType,
    std: f64,
}

impl Builder {
    fn push(&mut self, p: Param) -> Result<()> {
        crate::scheme::numel(&p.shape)?;
        self.set.push(p)
    }

    fn normal(&self) -> Result<Init> {
        Ok(Init::Normal(MeanStd::new(0.0, self.std)?))
    }

    fn zeros(&mut self, name: &str, len: u64, kind: LayerKind) -> Result<()> {
        self.push(
            Param::new(name, vec![len], self.dtype)
                .with_kind(kind)
                .with_init(Init::Zeros),
        )
    }

    /// `nn.Embedding(rows, dim, padding_idx)`.
    fn embedding(&mut self, name: &str, rows: u64, dim: u64, pad: Option<u64>) -> Result<()> {
        let init = match pad {
            Some(row) => Init::NormalPadded(NormalPadded::new(0.0, self.std, row)?),
            None => self.normal()?,
        };
        self.push(
            Param::new(name, vec![rows, dim], self.dtype)
                .with_kind(LayerKind::Embedding)
                .with_init(init),
        )
    }

    /// `nn.Linear(inp, out, bias)`: weight `[out, inp]`.
    fn linear(&mut self, module: &str, out: u64, inp: u64, bias: bool) -> Result<()> {
        let init = self.normal()?;
        self.push(
            Param::new(format!("{module}.weight"), vec![out, inp], self.dtype)
                .with_kind(LayerKind::Linear)
                .with_init(init),
        )?;
        if bias {
            self.zeros(&format!("{module}.bias"), out, LayerKind::Linear)?;
        }
        Ok(())
    }

    /// GPT-2's `Conv1D(nf=out, nx=inp)`: weight `[inp, out]` (so JAX
    /// layout for fans), bias `[out]`.
    fn conv1d(&mut self, module: &str, inp: u64, out: u64, init: Option<&Init>) -> Result<()> {
        let init = match init {
            Some(i) => i.clone(),
            None => self.normal()?,
        };
        self.push(
            Param::new(format!("{module}.weight"), vec![inp, out], self.dtype)
                .with_layout(Layout::Jax)
                .with_kind(LayerKind::Linear)
                .with_init(init),
        )?;
        self.zeros(&format!("{module}.bias"), out, LayerKind::Linear)
    }

    /// An RMSNorm (weight) or LayerNorm (weight and bias).
    fn norm(&mut self, module: &str, dim: u64, bias: bool) -> Result<()> {
        self.push(
            Param::new(format!("{module}.weight"), vec![dim], self.dtype)
                .with_kind(LayerKind::Norm)
                .with_init(Init::Ones),
        )?;
        if bias {
            self.zeros(&format!("{module}.bias"), dim, LayerKind::Norm)?;
        }
        Ok(())
    }
}
