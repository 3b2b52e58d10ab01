//! Whole-model init: named parameter sets, rules, presets, shards, and
//! safetensors files.
//!
//! A [`ParamSet`] holds named tensors ([`Param`]: name, shape, dtype,
//! layout, optional scheme, layer kind and stream). [`Rules`] (or a
//! [`Preset`]) give every parameter without its own scheme one, the way
//! `model.apply(init_fn)` does in PyTorch; [`ParamSet::resolve`] turns the
//! set into plans ([`ResolvedSet`]), which the CPU fills
//! ([`ResolvedSet::fill_cpu`]), the GPU records into a caller's command
//! encoder ([`ResolvedSet::record_gpu`]; a model larger than one buffer
//! through [`ResolvedSet::split_arena_layout`] and
//! [`ResolvedSet::record_gpu_split`]), and [`write_safetensors`] streams
//! to a file. A [`Shard`] restricts all of these to one rank's part: an
//! even row/column split, or a device mesh with per-tensor DTensor
//! placements ([`DeviceMesh`], [`Placement`], [`PlacementRules`]; uneven
//! sizes split as `torch.chunk`; see [`placement`] for how Megatron-style
//! fused QKV and vocabulary-parallel embeddings are expressed).
//!
//! Reproducibility: every parameter draws from its own Philox stream,
//! by default [`name_stream`] of its name, so a parameter's values depend
//! only on `(seed, name, shape, dtype, scheme)`: not on the order of the
//! set, on which other parameters exist, on the backend's dispatch
//! structure, or on the shard that fills it.
//!
//! ```
//! use weight_init::model::{Param, ParamSet, Preset};
//! use weight_init::DType;
//! let mut set = ParamSet::new();
//! set.push(Param::new("fc.weight", vec![64, 32], DType::F32)).unwrap();
//! set.push(Param::new("fc.bias", vec![64], DType::F32)).unwrap();
//! let rules = "torch-defaults".parse::<Preset>().unwrap().rules(&set).unwrap();
//! let resolved = set.resolve(&rules).unwrap();
//! let tensors = resolved.fill_cpu(/* seed */ 7, None).unwrap();
//! assert_eq!(tensors[0].1.len(), 64 * 32 * 4);
//! // Bias bound 1/sqrt(fan_in of fc.weight) = 1/sqrt(32).
//! let b: Vec<f32> = tensors[1].1.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
//! assert!(b.iter().all(|x| x.abs() < 1.0 / 32f32.sqrt()));
//! ```

mod exec;
mod hf;
mod io;
pub mod placement;
mod rules;
mod shard;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::philox::name_stream;
use crate::scheme::{Fans, Init, Layout, Plan, ResolveOptions};

#[cfg(feature = "gpu")]
pub use crate::gpu::RecordStats;
pub use crate::tensor::FillJob;
pub use exec::{ArenaLayout, SplitArenaLayout, ARENA_ALIGN};
pub use hf::{HfArchitecture, HfConfig, MAX_HF_LAYERS};
pub use io::{
    read_checkpoint, read_safetensors, read_safetensors_header, safetensors_entries,
    write_safetensors, write_safetensors_copying, write_safetensors_opts, write_safetensors_with,
    Checkpoint, HeaderTensor, ModelSpec, ParamSpec, Passthrough, SafetensorsHeader, TensorEntry,
    WriteOptions, WRITE_CHUNK_BYTES,
};
// `init`'s progress bar on the CPU (src/cli/init.rs).
pub use io::write_safetensors_observed;
pub(crate) use placement::part_numel;
pub use placement::{
    local_runs, local_shape_and_offset, DeviceMesh, Placement, PlacementRule, PlacementRules,
    Placements, MAX_MESH_RANKS,
};
pub use rules::{
    glob_match, DeepNormLayers, Preset, RankCond, Rule, Rules, DEEPNORM_BETA, DEEPNORM_QK,
    MUP_INPUT, MUP_READOUT,
};
pub use shard::{Shard, ShardMode};

/// The kind of layer a parameter belongs to, for rules and presets.
///
/// Biases are not a kind: a bias has its layer's kind and is told apart by
/// its name (`*.bias`, `*beta`; see [`infer_kind`]).
///
/// ```
/// use weight_init::model::LayerKind;
/// assert_eq!("conv".parse::<LayerKind>().unwrap(), LayerKind::Conv);
/// assert_eq!(LayerKind::Norm.to_string(), "norm");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// A dense / fully connected layer (`nn.Linear`, Flax `Dense`).
    Linear,
    /// A convolution (`nn.Conv1d/2d/3d`), kernel rank >= 3.
    Conv,
    /// A lookup table (`nn.Embedding`, `wte`, `wpe`).
    Embedding,
    /// A normalization layer's scale or shift (LayerNorm, RMSNorm,
    /// BatchNorm, GroupNorm).
    Norm,
}

impl LayerKind {
    /// `"linear"`, `"conv"`, `"embedding"` or `"norm"`.
    ///
    /// ```
    /// use weight_init::model::LayerKind;
    /// assert_eq!(LayerKind::Embedding.name(), "embedding");
    /// assert_eq!(LayerKind::Linear.name().parse::<LayerKind>().unwrap(), LayerKind::Linear);
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            LayerKind::Linear => "linear",
            LayerKind::Conv => "conv",
            LayerKind::Embedding => "embedding",
            LayerKind::Norm => "norm",
        }
    }
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LayerKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "linear" => Ok(LayerKind::Linear),
            "conv" => Ok(LayerKind::Conv),
            "embedding" => Ok(LayerKind::Embedding),
            "norm" => Ok(LayerKind::Norm),
            _ => Err(Error::InvalidChoice {
                name: "kind",
                value: s.to_string(),
                reason: "expected linear, conv, embedding or norm",
            }),
        }
    }
}

/// One named tensor of a model.
///
/// ```
/// use weight_init::model::{LayerKind, Param};
/// use weight_init::{DType, Layout};
/// let p = Param::new("encoder.kernel", vec![128, 256], DType::BF16)
///     .with_layout(Layout::Jax)
///     .with_kind(LayerKind::Linear)
///     .with_init("glorot_uniform".parse().unwrap())
///     .with_stream(99);
/// assert_eq!(p.stream(), 99);
/// assert_eq!(Param::new("w", vec![2], DType::F32).stream(), weight_init::philox::name_stream("w"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Unique name within its set, e.g. `transformer.h.0.attn.c_attn.weight`.
    pub name: String,
    /// Dimensions, row-major.
    pub shape: Vec<u64>,
    /// Element type of the output.
    pub dtype: DType,
    /// Where the channels sit in the shape (for fans).
    pub layout: Layout,
    /// The scheme; `None` lets the rules decide.
    pub init: Option<Init>,
    /// The layer kind; `None` lets [`infer_kind`] decide.
    pub kind: Option<LayerKind>,
    /// The Philox stream; `None` means [`name_stream`] of the name.
    pub stream: Option<u64>,
}

impl Param {
    /// A parameter with PyTorch layout and everything else left to the
    /// rules and defaults.
    ///
    /// ```
    /// use weight_init::model::Param;
    /// use weight_init::{DType, Layout};
    /// let p = Param::new("fc.weight", vec![64, 32], DType::F32);
    /// assert_eq!((p.name.as_str(), p.shape.as_slice()), ("fc.weight", &[64u64, 32][..]));
    /// assert_eq!(p.layout, Layout::Torch);
    /// assert!(p.init.is_none() && p.kind.is_none() && p.stream.is_none());
    /// ```
    pub fn new(name: impl Into<String>, shape: Vec<u64>, dtype: DType) -> Self {
        Self {
            name: name.into(),
            shape,
            dtype,
            layout: Layout::Torch,
            init: None,
            kind: None,
            stream: None,
        }
    }
    /// With `layout`.
    ///
    /// ```
    /// use weight_init::model::Param;
    /// use weight_init::{DType, Layout};
    /// let p = Param::new("dense/kernel", vec![32, 64], DType::F32).with_layout(Layout::Jax);
    /// assert_eq!(p.layout, Layout::Jax);
    /// ```
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }
    /// With an explicit scheme (rules are not consulted).
    ///
    /// ```
    /// use weight_init::model::Param;
    /// use weight_init::{DType, Init};
    /// let p = Param::new("fc.bias", vec![64], DType::F32).with_init("zeros".parse().unwrap());
    /// assert_eq!(p.init, Some(Init::Zeros));
    /// ```
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = Some(init);
        self
    }
    /// With an explicit layer kind.
    ///
    /// ```
    /// use weight_init::model::{LayerKind, Param};
    /// use weight_init::DType;
    /// let p = Param::new("proj", vec![8, 8], DType::F32).with_kind(LayerKind::Conv);
    /// assert_eq!(p.kind, Some(LayerKind::Conv));
    /// ```
    pub fn with_kind(mut self, kind: LayerKind) -> Self {
        self.kind = Some(kind);
        self
    }
    /// With an explicit stream id.
    ///
    /// ```
    /// use weight_init::model::Param;
    /// use weight_init::DType;
    /// let p = Param::new("w", vec![4], DType::F32).with_stream(7);
    /// assert_eq!(p.stream, Some(7));
    /// assert_eq!(p.stream(), 7);
    /// ```
    pub fn with_stream(mut self, stream: u64) -> Self {
        self.stream = Some(stream);
        self
    }
    /// The stream the parameter draws from: the explicit one, else
    /// [`name_stream`] of the name.
    ///
    /// ```
    /// use weight_init::model::Param;
    /// use weight_init::philox::name_stream;
    /// use weight_init::DType;
    /// let p = Param::new("fc.weight", vec![4, 4], DType::F32);
    /// assert_eq!(p.stream(), name_stream("fc.weight"));
    /// assert_eq!(p.with_stream(3).stream(), 3);
    /// ```
    pub fn stream(&self) -> u64 {
        self.stream.unwrap_or_else(|| name_stream(&self.name))
    }
}

/// Named parameters in a fixed order, names unique.
///
/// ```
/// use weight_init::model::{Param, ParamSet};
/// use weight_init::{DType, Error};
/// let mut set = ParamSet::new();
/// set.push(Param::new("a", vec![4], DType::F32)).unwrap();
/// let err = set.push(Param::new("a", vec![8], DType::F32)).unwrap_err();
/// assert_eq!(err, Error::DuplicateParam { name: "a".into() });
/// assert_eq!(set.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamSet {
    params: Vec<Param>,
    index: HashMap<String, usize>,
    /// Each parameter's Philox stream: no two may share one.
    streams: HashMap<u64, usize>,
}

impl ParamSet {
    /// An empty set.
    ///
    /// ```
    /// use weight_init::model::ParamSet;
    /// let set = ParamSet::new();
    /// assert!(set.is_empty());
    /// assert_eq!(set.len(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A set of `params`, in order. Errors on the first repeated name.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([
    ///     Param::new("a", vec![2], DType::F32),
    ///     Param::new("b", vec![3], DType::F32),
    /// ]).unwrap();
    /// assert_eq!(set.params()[1].name, "b");
    /// assert!(ParamSet::from_params([Param::new("a", vec![2], DType::F32), Param::new("a", vec![2], DType::F32)]).is_err());
    /// ```
    pub fn from_params(params: impl IntoIterator<Item = Param>) -> Result<Self> {
        let mut set = Self::new();
        for p in params {
            set.push(p)?;
        }
        Ok(set)
    }

    /// Appends `param`; a name already in the set is an error (and the set
    /// is unchanged), and so is a Philox stream already in the set
    /// ([`Error::SharedStream`]: the two would get the same values).
    ///
    /// `__metadata__` is refused ([`Error::ReservedName`]): the safetensors
    /// format reserves it for the file's metadata, so no file could hold
    /// such a parameter.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet};
    /// use weight_init::DType;
    /// let mut set = ParamSet::new();
    /// set.push(Param::new("fc.weight", vec![4, 2], DType::F32)).unwrap();
    /// assert!(set.push(Param::new("__metadata__", vec![1], DType::F32)).is_err());
    /// set.push(Param::new("a", vec![2], DType::F32).with_stream(9)).unwrap();
    /// assert!(set.push(Param::new("b", vec![2], DType::F32).with_stream(9)).is_err());
    /// assert_eq!(set.len(), 2);
    /// ```
    pub fn push(&mut self, param: Param) -> Result<()> {
        if param.name == "__metadata__" {
            return Err(Error::ReservedName {
                name: param.name,
                format: "safetensors",
            });
        }
        if self.index.contains_key(&param.name) {
            return Err(Error::DuplicateParam { name: param.name });
        }
        // Two tensors on one (seed, stream) would draw the same values: an
        // explicit stream reused, or (astronomically unlikely) two names
        // whose name streams collide.
        let stream = param.stream();
        if let Some(&other) = self.streams.get(&stream) {
            return Err(Error::SharedStream {
                first: self.params[other].name.clone(),
                second: param.name,
                stream,
            });
        }
        self.streams.insert(stream, self.params.len());
        self.index.insert(param.name.clone(), self.params.len());
        self.params.push(param);
        Ok(())
    }

    /// The parameters, in order.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([Param::new("b", vec![1], DType::F32), Param::new("a", vec![1], DType::F32)]).unwrap();
    /// let names: Vec<&str> = set.params().iter().map(|p| p.name.as_str()).collect();
    /// assert_eq!(names, ["b", "a"]);
    /// ```
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The parameter named `name`.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([Param::new("fc.weight", vec![4, 2], DType::F32)]).unwrap();
    /// assert_eq!(set.get("fc.weight").unwrap().shape, vec![4, 2]);
    /// assert!(set.get("fc.bias").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.index.get(name).map(|&i| &self.params[i])
    }

    /// How many parameters.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([Param::new("a", vec![1], DType::F32), Param::new("b", vec![1], DType::F32)]).unwrap();
    /// assert_eq!(set.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether the set is empty.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet};
    /// use weight_init::DType;
    /// let mut set = ParamSet::new();
    /// assert!(set.is_empty());
    /// set.push(Param::new("a", vec![1], DType::F32)).unwrap();
    /// assert!(!set.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The kind of `param`: its own, else [`infer_kind`] in this set.
    ///
    /// ```
    /// use weight_init::model::{LayerKind, Param, ParamSet};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([Param::new("fc.weight", vec![4, 2], DType::F32)]).unwrap();
    /// assert_eq!(set.kind_of(&set.params()[0]), Some(LayerKind::Linear));
    /// let own = Param::new("fc.weight", vec![4, 2], DType::F32).with_kind(LayerKind::Embedding);
    /// assert_eq!(set.kind_of(&own), Some(LayerKind::Embedding));
    /// ```
    pub fn kind_of(&self, param: &Param) -> Option<LayerKind> {
        param
            .kind
            .or_else(|| infer_kind(&param.name, &param.shape, self))
    }

    /// Picks every parameter's scheme (its own, else the first matching
    /// rule) and resolves it for the parameter's shape and layout.
    ///
    /// `torch_default_bias` takes its fans from the sibling weight (the
    /// same name with `bias` replaced by `weight` or `kernel`), as PyTorch's
    /// `reset_parameters` takes the bias bound from the weight's fan_in.
    ///
    /// Errors: [`Error::UnmatchedParam`] for a parameter without a scheme
    /// that no rule matches; [`Error::Param`] (naming the parameter) when its
    /// scheme does not suit its shape, or a `torch_default_bias` has no
    /// sibling weight.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet, Rule, Rules};
    /// use weight_init::{DType, Error, Init};
    /// let set = ParamSet::from_params([Param::new("fc.weight", vec![4, 2], DType::F32)]).unwrap();
    /// let rules = Rules::new(vec!["*.weight=normal(0, 0.02)".parse::<Rule>().unwrap()]);
    /// assert_eq!(set.resolve(&rules).unwrap().params()[0].init, "normal(0, 0.02)".parse::<Init>().unwrap());
    /// let err = set.resolve(&Rules::default()).unwrap_err();
    /// assert!(matches!(err, Error::UnmatchedParam { .. }));
    /// ```
    pub fn resolve(&self, rules: &Rules) -> Result<ResolvedSet> {
        let mut out = Vec::with_capacity(self.params.len());
        for p in &self.params {
            let kind = self.kind_of(p);
            let init = match &p.init {
                Some(i) => i.clone(),
                None => rules
                    .find(&p.name, kind, p.shape.len())
                    .cloned()
                    .ok_or_else(|| Error::UnmatchedParam {
                        name: p.name.clone(),
                        shape: p.shape.clone(),
                        kind: kind.map_or("none", LayerKind::name).to_string(),
                    })?,
            };
            let named = |e: Error| Error::Param {
                name: p.name.clone(),
                source: Box::new(e),
            };
            let mut opts = ResolveOptions::default().with_layout(p.layout);
            if init == Init::TorchDefaultBias {
                let w = sibling_weight(&p.name, self).ok_or_else(|| {
                    named(Error::InvalidShape {
                        shape: p.shape.clone(),
                        reason: "torch_default_bias takes fan_in from its layer's weight, \
                                 but no sibling `weight`/`kernel` parameter exists"
                            .into(),
                    })
                })?;
                opts = opts.with_fans(Fans::from_shape(&w.shape, w.layout, 1).map_err(named)?);
            }
            let plan = init.resolve(&p.shape, &opts).map_err(named)?;
            out.push(ResolvedParam {
                name: p.name.clone(),
                shape: p.shape.clone(),
                dtype: p.dtype,
                layout: p.layout,
                stream: p.stream(),
                kind,
                init,
                plan,
            });
        }
        Ok(ResolvedSet { params: out })
    }
}

/// A parameter with its scheme chosen and resolved.
///
/// ```
/// use weight_init::model::{LayerKind, Param, ParamSet, Rules};
/// use weight_init::{philox::name_stream, DType, Init};
/// let set = ParamSet::from_params([Param::new("fc.weight", vec![4, 2], DType::F32)
///     .with_init("ones".parse().unwrap())]).unwrap();
/// let r = set.resolve(&Rules::default()).unwrap();
/// let p = &r.params()[0];
/// assert_eq!((p.init.clone(), p.kind, p.stream), (Init::Ones, Some(LayerKind::Linear), name_stream("fc.weight")));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedParam {
    /// Name.
    pub name: String,
    /// Shape of the whole (unsharded) tensor.
    pub shape: Vec<u64>,
    /// Output dtype.
    pub dtype: DType,
    /// Layout the scheme was resolved in.
    pub layout: Layout,
    /// Philox stream.
    pub stream: u64,
    /// Layer kind (given or inferred).
    pub kind: Option<LayerKind>,
    /// The chosen scheme.
    pub init: Init,
    /// What the backends do.
    pub plan: Plan,
}

/// A parameter set with every scheme resolved: what the backends fill.
///
/// ```
/// use weight_init::model::{Param, ParamSet, Rules};
/// use weight_init::DType;
/// let set = ParamSet::from_params([Param::new("w", vec![2], DType::F32)
///     .with_init("ones".parse().unwrap())]).unwrap();
/// let tensors = set.resolve(&Rules::default()).unwrap().fill_cpu(0, None).unwrap();
/// assert_eq!(tensors, vec![("w".to_string(), [1.0f32.to_le_bytes(), 1.0f32.to_le_bytes()].concat())]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSet {
    params: Vec<ResolvedParam>,
}

impl ResolvedSet {
    /// The resolved parameters, in the set's order.
    ///
    /// ```
    /// use weight_init::model::{Param, ParamSet, Rules};
    /// use weight_init::DType;
    /// let set = ParamSet::from_params([Param::new("w", vec![3, 2], DType::BF16)
    ///     .with_init("zeros".parse().unwrap())]).unwrap();
    /// let r = set.resolve(&Rules::default()).unwrap();
    /// assert_eq!((r.params()[0].name.as_str(), r.params()[0].dtype), ("w", DType::BF16));
    /// ```
    pub fn params(&self) -> &[ResolvedParam] {
        &self.params
    }
}

/// `(module, leaf)` of a parameter name: the last component if it is a
/// parameter leaf (`weight`, `bias`, `kernel`, `scale`, `gamma`, `beta`,
/// `embedding`, `embeddings`), and the component before it.
fn split_name(name: &str) -> (String, String) {
    let parts: Vec<String> = name
        .split(['.', '/'])
        .map(|s| s.split(':').next().unwrap_or(s).to_ascii_lowercase())
        .collect();
    let last = parts.last().cloned().unwrap_or_default();
    const LEAVES: [&str; 8] = [
        "weight",
        "bias",
        "kernel",
        "scale",
        "gamma",
        "beta",
        "embedding",
        "embeddings",
    ];
    if LEAVES.contains(&last.as_str()) && parts.len() >= 2 {
        (parts[parts.len() - 2].clone(), last)
    } else if LEAVES.contains(&last.as_str()) {
        (String::new(), last)
    } else {
        (last.clone(), last)
    }
}

/// Whether `name` is a bias (leaf `bias` or `beta`), by the naming of
/// PyTorch (`*.bias`), Keras/Flax (`*/bias`) and norm layers (`beta`).
///
/// ```
/// use weight_init::model::is_bias_name;
/// assert!(is_bias_name("h.0.attn.c_attn.bias"));
/// assert!(is_bias_name("dense/bias:0"));
/// assert!(!is_bias_name("h.0.attn.c_attn.weight"));
/// ```
pub fn is_bias_name(name: &str) -> bool {
    let (_, leaf) = split_name(name);
    leaf == "bias" || leaf == "beta"
}

/// The sibling weight of a bias: `X.bias` -> `X.weight` or `X.kernel`.
fn sibling_weight<'a>(name: &str, set: &'a ParamSet) -> Option<&'a Param> {
    let (stem, sep) = match name.rfind(['.', '/']) {
        Some(i) => (&name[..i], &name[i..i + 1]),
        None => ("", ""),
    };
    ["weight", "kernel"]
        .iter()
        .find_map(|leaf| set.get(&format!("{stem}{sep}{leaf}")))
        .filter(|w| w.name != name)
}

/// The layer kind a parameter's name and shape suggest, following PyTorch,
/// Hugging Face and Flax/Keras naming. safetensors headers carry no layer
/// kinds, so this is how rules with a kind apply to a checkpoint.
///
/// The module is the name's component before the leaf (`h.0.ln_1.weight`
/// -> `ln_1`), lower-cased; names split at `.` and `/`, and a `:0` suffix
/// is dropped. In order:
/// 1. module contains `norm` (LayerNorm, RMSNorm, `input_layernorm`,
///    BatchNorm, GroupNorm), starts with `ln` (`ln_1`, `ln_f`) or `bn`, or
///    the leaf is `gamma`/`beta`/`scale` of a 1-D tensor: [`LayerKind::Norm`];
/// 2. one of the module's `_`-separated words starts with `emb`
///    (`embed_tokens`, `word_embeddings`, minGPT's `tok_emb`, `emb`), the
///    module is `wte`/`wpe` (GPT-2), or the leaf is `embedding`/`embeddings`:
///    [`LayerKind::Embedding`];
/// 3. rank >= 3: [`LayerKind::Conv`]; rank 2: [`LayerKind::Linear`];
/// 4. a bias (rank <= 1, leaf `bias`/`beta`): the kind of its sibling
///    weight in `set` (`X.bias` -> `X.weight` or `X.kernel`);
/// 5. otherwise none.
///
/// ```
/// use weight_init::model::{infer_kind, LayerKind, Param, ParamSet};
/// use weight_init::DType;
/// let set = ParamSet::from_params([
///     Param::new("conv1.weight", vec![64, 3, 7, 7], DType::F32),
///     Param::new("conv1.bias", vec![64], DType::F32),
/// ]).unwrap();
/// assert_eq!(infer_kind("conv1.bias", &[64], &set), Some(LayerKind::Conv));
/// assert_eq!(infer_kind("transformer.wte.weight", &[50257, 768], &set), Some(LayerKind::Embedding));
/// assert_eq!(infer_kind("model.layers.0.input_layernorm.weight", &[4096], &set), Some(LayerKind::Norm));
/// assert_eq!(infer_kind("h.0.attn.c_attn.weight", &[768, 2304], &set), Some(LayerKind::Linear));
/// assert_eq!(infer_kind("logit_scale", &[], &set), None);
/// ```
pub fn infer_kind(name: &str, shape: &[u64], set: &ParamSet) -> Option<LayerKind> {
    let (module, leaf) = split_name(name);
    let rank = shape.len();
    if module.contains("norm")
        || module.starts_with("ln")
        || module.starts_with("bn")
        || (rank <= 1 && matches!(leaf.as_str(), "gamma" | "beta" | "scale"))
    {
        return Some(LayerKind::Norm);
    }
    if module.split('_').any(|t| t.starts_with("emb"))
        || module == "wte"
        || module == "wpe"
        || leaf == "embedding"
        || leaf == "embeddings"
    {
        return Some(LayerKind::Embedding);
    }
    match rank {
        r if r >= 3 => Some(LayerKind::Conv),
        2 => Some(LayerKind::Linear),
        _ if leaf == "bias" || leaf == "beta" => {
            let w = sibling_weight(name, set)?;
            w.kind.or_else(|| {
                // The weight's own inference, without recursing into biases.
                if w.shape.len() <= 1 {
                    None
                } else {
                    infer_kind(&w.name, &w.shape, set)
                }
            })
        }
        _ => None,
    }
}
