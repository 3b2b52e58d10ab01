//! Files: JSON parameter-set descriptions, safetensors headers in, and
//! streamed safetensors files out.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use safetensors::Dtype;
use serde::{Deserialize, Deserializer, Serialize};

use super::rules::init_text;
use super::{FillJob, LayerKind, Param, ParamSet, Preset, ResolvedSet, Rule, Rules, Shard};
use crate::cpu::Threads;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::files::{self, AtomicFile};
use crate::scheme::{Init, Layout};

/// Bytes generated per step while streaming an elementwise tensor to a
/// file: host memory holds one such chunk, not the tensor.
///
/// ```
/// use weight_init::model::WRITE_CHUNK_BYTES;
/// assert_eq!(WRITE_CHUNK_BYTES, 16 * 1024 * 1024);
/// assert_eq!(WRITE_CHUNK_BYTES % 4, 0); // whole f32, f16 and bf16 elements
/// ```
pub const WRITE_CHUNK_BYTES: usize = 16 << 20;

fn io_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: files::show(path),
        message: e.to_string(),
    }
}

fn json_error(what: &str, e: serde_json::Error) -> Error {
    Error::Json {
        what: what.to_string(),
        line: e.line(),
        column: e.column(),
        message: without_position(&e),
    }
}

fn de_dtype<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<DType, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

fn ser_dtype<S: serde::Serializer>(v: &DType, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(v.name())
}

fn default_dtype() -> DType {
    DType::F32
}

/// One parameter in a JSON description.
///
/// `{"name": "fc.weight", "shape": [64, 32], "dtype": "bf16",
/// "layout": "torch", "init": "kaiming_uniform(nonlinearity=relu)",
/// "kind": "linear", "stream": 7}`: only `name` and `shape` are required;
/// `dtype` defaults to `f32`, `layout` to `torch`.
///
/// ```
/// use weight_init::model::{ModelSpec, ParamSpec};
/// use weight_init::{DType, Init, Layout};
/// let spec = ModelSpec::from_json(r#"{"params": [{"name": "fc.weight", "shape": [64, 32], "init": "zeros"}]}"#, "inline").unwrap();
/// let p: &ParamSpec = &spec.params[0];
/// assert_eq!((p.dtype, p.layout, p.init.clone(), p.stream), (DType::F32, Layout::Torch, Some(Init::Zeros), None));
/// let unknown = r#"{"params": [{"name": "w", "shape": [1], "colour": "red"}]}"#;
/// assert!(ModelSpec::from_json(unknown, "inline").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// Unique name.
    pub name: String,
    /// Dimensions.
    pub shape: Vec<u64>,
    /// `f32`, `f16` or `bf16`.
    #[serde(
        default = "default_dtype",
        deserialize_with = "de_dtype",
        serialize_with = "ser_dtype"
    )]
    pub dtype: DType,
    /// `torch` or `jax`.
    #[serde(default)]
    pub layout: Layout,
    /// The scheme (text form or JSON object); absent: the rules decide.
    #[serde(
        default,
        with = "init_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub init: Option<Init>,
    /// Layer kind; absent: inferred from the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<LayerKind>,
    /// Stream id; absent: the name's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<u64>,
}

impl From<ParamSpec> for Param {
    fn from(s: ParamSpec) -> Param {
        Param {
            name: s.name,
            shape: s.shape,
            dtype: s.dtype,
            layout: s.layout,
            init: s.init,
            kind: s.kind,
            stream: s.stream,
        }
    }
}

/// A JSON parameter-set description: the parameters, optional rules and
/// preset, and an optional seed.
///
/// Rules are tried in order before the preset's; a parameter's own `init`
/// beats both.
///
/// ```
/// use weight_init::model::ModelSpec;
/// let spec = ModelSpec::from_json(r#"{
///   "seed": 42,
///   "preset": "gpt2(n_layers=2)",
///   "rules": [{"pattern": "*.attn.bias", "init": "zeros"}],
///   "params": [
///     {"name": "wte.weight", "shape": [100, 16], "dtype": "bf16"},
///     {"name": "h.0.attn.bias", "shape": [16]}
///   ]
/// }"#, "example").unwrap();
/// let set = spec.param_set().unwrap();
/// let resolved = set.resolve(&spec.rules(&set).unwrap()).unwrap();
/// assert_eq!(resolved.params()[0].init.to_string(), "normal(mean=0, std=0.02)");
///
/// let err = ModelSpec::from_json("{\"params\": [}", "bad.json").unwrap_err();
/// assert!(err.to_string().starts_with("bad.json: line 1, column"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Generator seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// A [`Preset`] in its text form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Rules, first match wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// The parameters, in order.
    pub params: Vec<ParamSpec>,
}

impl ModelSpec {
    /// Parses a description; `what` names it in errors, which carry
    /// `serde_json`'s line and column.
    ///
    /// ```
    /// use weight_init::model::ModelSpec;
    /// let spec = ModelSpec::from_json(r#"{"seed": 3, "params": [{"name": "w", "shape": [2]}]}"#, "inline").unwrap();
    /// assert_eq!((spec.seed, spec.params.len()), (Some(3), 1));
    /// let err = ModelSpec::from_json("{\"seed\": 3}", "spec.json").unwrap_err();
    /// assert!(err.to_string().starts_with("spec.json: line 1"), "{err}");
    /// ```
    pub fn from_json(text: &str, what: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| json_error(what, e))
    }

    /// Reads and parses a description file: a regular file of at most
    /// [`files::MAX_SPEC_BYTES`], or standard input for `-`
    /// ([`files::read_text`]).
    ///
    /// ```
    /// use weight_init::model::ModelSpec;
    /// let path = std::env::temp_dir().join(format!("wi-doc-spec-{}.json", std::process::id()));
    /// std::fs::write(&path, r#"{"params": [{"name": "w", "shape": [4, 4], "dtype": "f16"}]}"#).unwrap();
    /// let spec = ModelSpec::from_file(&path);
    /// std::fs::remove_file(&path).unwrap();
    /// assert_eq!(spec.unwrap().params[0].dtype, weight_init::DType::F16);
    /// ```
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = files::read_text(path, files::MAX_SPEC_BYTES, "a JSON spec")?;
        Self::from_json(&text, &files::show(path))
    }

    /// The parameter set (errors on a repeated name).
    ///
    /// ```
    /// use weight_init::model::ModelSpec;
    /// let spec = ModelSpec::from_json(r#"{"params": [{"name": "w", "shape": [4, 2]}]}"#, "inline").unwrap();
    /// assert_eq!(spec.param_set().unwrap().get("w").unwrap().shape, vec![4, 2]);
    /// let twice = ModelSpec::from_json(r#"{"params": [{"name": "w", "shape": [1]}, {"name": "w", "shape": [2]}]}"#, "inline").unwrap();
    /// assert!(twice.param_set().is_err());
    /// ```
    pub fn param_set(&self) -> Result<ParamSet> {
        ParamSet::from_params(self.params.iter().cloned().map(Param::from))
    }

    /// The description's rules, then its preset's (for the parameters of
    /// `set`).
    ///
    /// ```
    /// use weight_init::model::ModelSpec;
    /// let spec = ModelSpec::from_json(r#"{"preset": "torch-defaults",
    ///   "rules": [{"pattern": "fc.bias", "init": "ones"}],
    ///   "params": [{"name": "fc.weight", "shape": [4, 2]}, {"name": "fc.bias", "shape": [4]}]}"#, "inline").unwrap();
    /// let set = spec.param_set().unwrap();
    /// let rules = spec.rules(&set).unwrap();
    /// assert_eq!(rules.find("fc.bias", None, 1).unwrap().name(), "ones"); // own rule before the preset's
    /// ```
    pub fn rules(&self, set: &ParamSet) -> Result<Rules> {
        let own = Rules::new(self.rules.clone());
        match &self.preset {
            Some(p) => Ok(own.then(p.parse::<Preset>()?.rules(set)?)),
            None => Ok(own),
        }
    }
}

fn not_safetensors(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::InvalidFile {
        path: files::show(path),
        reason: format!("not a valid safetensors file: {why}"),
    }
}

/// One tensor of a validated safetensors header.
///
/// ```
/// use weight_init::model::{read_safetensors, write_safetensors_with};
/// use weight_init::DType;
/// let path = std::env::temp_dir().join(format!("wi-doc-ht-{}.safetensors", std::process::id()));
/// let tensors = vec![("a".to_string(), DType::F32, vec![1]), ("b".to_string(), DType::BF16, vec![2, 3])];
/// write_safetensors_with(&path, &tensors, None, |i, emit| emit(&vec![0u8; [4, 12][i]][..])).unwrap();
/// let (_, header) = read_safetensors(&path).unwrap();
/// std::fs::remove_file(&path).unwrap();
/// let b = &header.tensors[1];
/// assert_eq!((b.name.as_str(), b.dtype, b.shape.clone(), b.data_offsets), ("b", safetensors::Dtype::BF16, vec![2, 3], (4, 16)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderTensor {
    /// Its name (any text; print it with [`files::escape`]).
    pub name: String,
    /// Its dtype, any the format knows.
    pub dtype: Dtype,
    /// Its dimensions.
    pub shape: Vec<usize>,
    /// `[begin, end)` of its bytes, relative to the start of the data.
    pub data_offsets: (usize, usize),
}

/// A safetensors header that [`read_safetensors`] has checked whole
/// against the format's rules.
///
/// ```
/// use std::collections::BTreeMap;
/// use weight_init::model::{read_safetensors, write_safetensors_with};
/// let path = std::env::temp_dir().join(format!("wi-doc-sh-{}.safetensors", std::process::id()));
/// let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
/// write_safetensors_with(&path, &[("w".into(), weight_init::DType::F32, vec![2])], Some(meta), |_, emit| emit(&[0u8; 8][..])).unwrap();
/// let (_, h) = read_safetensors(&path).unwrap();
/// assert_eq!(h.file_len, std::fs::metadata(&path).unwrap().len());
/// std::fs::remove_file(&path).unwrap();
/// assert_eq!((h.metadata, h.data_start + 8), (vec![("format".to_string(), "pt".to_string())], h.file_len));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetensorsHeader {
    /// The tensors, in the order of their data in the file.
    pub tensors: Vec<HeaderTensor>,
    /// `__metadata__`'s pairs, in the header's order (values are strings).
    pub metadata: Vec<(String, String)>,
    /// Where the data starts: 8 + the header length.
    pub data_start: u64,
    /// The file's length.
    pub file_len: u64,
}

/// A tensor's entry in the header, as the format defines it (serde's
/// derive refuses a repeated or unknown field).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    data_offsets: (usize, usize),
}

/// A JSON object's pairs in order, refusing a repeated key (a `HashMap`
/// or `serde_json::Map` would keep one silently).
struct Pairs<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Pairs<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Visit<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Pairs<V>, A::Error> {
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(serde::de::Error::custom(format!(
                            "duplicate key `{}`",
                            files::escape(&key)
                        )));
                    }
                    let v = map.next_value::<V>()?;
                    out.push((key, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// The header's top level: `__metadata__` and the tensors.
enum Entry {
    Metadata(Vec<(String, serde_json::Value)>),
    Tensor(RawTensor),
}

/// The top-level object, keys checked for repeats, each value parsed by
/// what its key says it is.
struct Top(Vec<(String, Entry)>);

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Top;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object of tensors")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Top, A::Error> {
                use serde::de::Error as _;
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let shown = files::escape(&key).into_owned();
                    if !seen.insert(key.clone()) {
                        return Err(A::Error::custom(format!("duplicate key `{shown}`")));
                    }
                    let entry = if key == "__metadata__" {
                        let Pairs(pairs) = map
                            .next_value::<Pairs<serde_json::Value>>()
                            .map_err(|e| A::Error::custom(format!("`__metadata__`: {e}")))?;
                        Entry::Metadata(pairs)
                    } else {
                        Entry::Tensor(
                            map.next_value::<RawTensor>()
                                .map_err(|e| A::Error::custom(format!("tensor `{shown}`: {e}")))?,
                        )
                    };
                    out.push((key, entry));
                }
                Ok(Top(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// serde_json's message without the ` at line L column C` it appends
/// (callers print the position themselves, once).
pub(super) fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let tail = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&tail).unwrap_or(&text).to_string()
}

/// Opens a safetensors file and checks its header whole, with the
/// format's rules, before anything else is done with it: the one header
/// reader of the crate (`init --from-safetensors` and `inspect` use it).
/// The tensor data is never read. Returns the open file and the header.
///
/// Refused ([`Error::InvalidFile`], naming the path and, where there is
/// one, the tensor): something other than a regular file
/// ([`Error::NotRegularFile`]; a FIFO does not block); a file shorter than
/// 8 bytes; a header length past [`files::MAX_SAFETENSORS_HEADER`] or past
/// the file (checked before the header is read); a header that is not
/// UTF-8, does not start with `{` or is not a JSON object; a repeated key
/// (top level, in `__metadata__` or in a tensor's entry); `__metadata__`
/// that is not an object of strings; a tensor entry with other fields than
/// `dtype`, `shape` and `data_offsets`, or an unknown dtype; a byte range
/// whose length is not the shape's element count times the dtype's size;
/// ranges that overlap or share bytes, leave a gap, start past 0, run past
/// the end of the file, or leave trailing bytes after the data.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("wi-doc-rst-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("dup.safetensors");
/// let header = br#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
/// let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
/// bytes.extend_from_slice(header);
/// bytes.extend_from_slice(&[0; 4]);
/// std::fs::write(&path, &bytes).unwrap();
/// let err = weight_init::model::read_safetensors(&path).unwrap_err();
/// assert!(err.to_string().contains("duplicate key `a`"), "{err}");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn read_safetensors(path: &Path) -> Result<(File, SafetensorsHeader)> {
    let (mut file, len) = files::open_input(path, u64::MAX, "a safetensors file")?;
    if len < 8 {
        return Err(not_safetensors(
            path,
            "shorter than the 8-byte header length",
        ));
    }
    let mut n8 = [0u8; 8];
    file.read_exact(&mut n8).map_err(|e| io_error(path, e))?;
    let n = u64::from_le_bytes(n8);
    if n > files::MAX_SAFETENSORS_HEADER {
        return Err(not_safetensors(
            path,
            format!(
                "header length {n} is past the format's limit of {} bytes",
                files::MAX_SAFETENSORS_HEADER
            ),
        ));
    }
    if n > len - 8 {
        return Err(not_safetensors(
            path,
            format!("header length {n} does not fit a {len}-byte file"),
        ));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header)
        .map_err(|e| io_error(path, e))?;
    let text = std::str::from_utf8(&header)
        .map_err(|e| not_safetensors(path, format!("header is not UTF-8: {e}")))?;
    if !text.starts_with('{') {
        return Err(not_safetensors(path, "header does not start with `{`"));
    }
    let Top(entries) = serde_json::from_str(text).map_err(|e| {
        not_safetensors(
            path,
            format!(
                "header, line {}, column {}: {}",
                e.line(),
                e.column(),
                without_position(&e)
            ),
        )
    })?;
    let data_len = len - 8 - n;
    let mut metadata = Vec::new();
    let mut tensors = Vec::new();
    for (name, entry) in entries {
        let shown = files::escape(&name).into_owned();
        match entry {
            Entry::Metadata(pairs) => {
                for (k, v) in pairs {
                    match v {
                        serde_json::Value::String(v) => metadata.push((k, v)),
                        other => {
                            return Err(not_safetensors(
                                path,
                                format!(
                                    "`__metadata__` value of `{}` is {}, not a string",
                                    files::escape(&k),
                                    json_kind(&other)
                                ),
                            ))
                        }
                    }
                }
            }
            Entry::Tensor(t) => {
                let (begin, end) = t.data_offsets;
                let bits = t
                    .shape
                    .iter()
                    .try_fold(1usize, |a, &d| a.checked_mul(d))
                    .and_then(|numel| numel.checked_mul(t.dtype.bitsize()));
                let Some(bits) = bits.filter(|b| b % 8 == 0) else {
                    return Err(not_safetensors(
                        path,
                        format!(
                            "header: tensor `{shown}`: {:?} {:?} is not a whole number of bytes below 2^64",
                            t.dtype, t.shape
                        ),
                    ));
                };
                if begin > end || end - begin != bits / 8 {
                    return Err(not_safetensors(
                        path,
                        format!(
                            "header: tensor `{shown}`: data_offsets [{begin}, {end}] do not hold {:?} {:?} ({} bytes)",
                            t.dtype,
                            t.shape,
                            bits / 8
                        ),
                    ));
                }
                tensors.push(HeaderTensor {
                    name,
                    dtype: t.dtype,
                    shape: t.shape,
                    data_offsets: (begin, end),
                });
            }
        }
    }
    // The ranges must tile the data exactly: from 0, no overlap, no gap,
    // to the end of the file.
    tensors.sort_by_key(|t| t.data_offsets);
    let mut at = 0u64;
    let mut prev: Option<&HeaderTensor> = None;
    for t in &tensors {
        let (begin, end) = (t.data_offsets.0 as u64, t.data_offsets.1 as u64);
        let name = files::escape(&t.name);
        if begin < at {
            let p = prev.expect("only a range after another starts before `at`");
            return Err(not_safetensors(
                path,
                format!(
                    "tensor `{name}`'s bytes [{begin}, {end}) overlap tensor `{}`'s [{}, {})",
                    files::escape(&p.name),
                    p.data_offsets.0,
                    p.data_offsets.1
                ),
            ));
        }
        if begin > at {
            return Err(not_safetensors(
                path,
                format!(
                    "a gap of {} unused data bytes before tensor `{name}` ([{at}, {begin}))",
                    begin - at
                ),
            ));
        }
        if end > data_len {
            return Err(not_safetensors(
                path,
                format!(
                    "tensor `{name}`'s bytes [{begin}, {end}) run past the end of the data ({data_len} data bytes)"
                ),
            ));
        }
        at = end;
        prev = Some(t);
    }
    if at < data_len {
        return Err(not_safetensors(
            path,
            format!(
                "{} trailing bytes after the tensors' data (the tensors hold {at} of {data_len} data bytes)",
                data_len - at
            ),
        ));
    }
    Ok((
        file,
        SafetensorsHeader {
            tensors,
            metadata,
            data_start: 8 + n,
            file_len: len,
        },
    ))
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Reads only the header of a safetensors file ([`read_safetensors`]
/// checks it whole; the tensor data is never read) and returns a
/// parameter set with its tensors' names, shapes and dtypes, in file
/// order, every scheme left to the rules.
///
/// Errors: everything [`read_safetensors`] refuses, and a dtype other than
/// F32, F16 and BF16 (naming the tensor). To keep such tensors instead
/// (a checkpoint's I64 `position_ids`), use [`read_checkpoint`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("wi-doc-hdr-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("bad.safetensors");
/// std::fs::write(&path, b"\x05\0\0\0\0\0\0\0{oops").unwrap();
/// assert!(weight_init::model::read_safetensors_header(&path).is_err());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn read_safetensors_header(path: &Path) -> Result<ParamSet> {
    let (_, header) = read_safetensors(path)?;
    let mut set = ParamSet::new();
    for t in header.tensors {
        let dtype = match t.dtype {
            Dtype::F32 => DType::F32,
            Dtype::F16 => DType::F16,
            Dtype::BF16 => DType::BF16,
            other => {
                return Err(not_safetensors(
                    path,
                    format!(
                        "tensor `{}` has dtype {other:?}; weight-init writes F32, F16 and BF16",
                        files::escape(&t.name)
                    ),
                ))
            }
        };
        let shape = t.shape.iter().map(|&d| d as u64).collect();
        set.push(Param::new(t.name, shape, dtype))?;
    }
    Ok(set)
}

/// Tensors of a safetensors file that a writer copies byte for byte into
/// the file it writes ([`write_safetensors_copying`],
/// [`WriteOptions::copy`]): same name, dtype, shape and data, after the
/// written tensors. Their data is read from `path` while the file is
/// written, one [`WRITE_CHUNK_BYTES`] piece at a time, never whole.
///
/// `path`'s header is read and checked again when the copy starts: a file
/// whose data start, length or copied tensors' entries changed since is
/// refused ([`Error::InvalidFile`]) before the output is created.
///
/// ```
/// use std::path::PathBuf;
/// use weight_init::model::{HeaderTensor, Passthrough};
/// let ids = HeaderTensor { name: "position_ids".into(), dtype: safetensors::Dtype::I64, shape: vec![1, 2], data_offsets: (8, 24) };
/// let p = Passthrough { path: PathBuf::from("model.safetensors"), data_start: 64, file_len: 88, tensors: vec![ids] };
/// assert_eq!(p.bytes(), 16);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passthrough {
    /// The source file.
    pub path: PathBuf,
    /// Where its data starts ([`SafetensorsHeader::data_start`]).
    pub data_start: u64,
    /// Its length ([`SafetensorsHeader::file_len`]).
    pub file_len: u64,
    /// The tensors to copy, in the order they are written (any dtype the
    /// format knows; their `data_offsets` are the source's).
    pub tensors: Vec<HeaderTensor>,
}

impl Passthrough {
    /// The bytes the copied tensors hold.
    ///
    /// ```
    /// use weight_init::model::{HeaderTensor, Passthrough};
    /// let t = |name: &str, at: usize, end: usize| HeaderTensor { name: name.into(), dtype: safetensors::Dtype::U8, shape: vec![end - at], data_offsets: (at, end) };
    /// let p = Passthrough { path: "m.safetensors".into(), data_start: 16, file_len: 46, tensors: vec![t("a", 0, 10), t("b", 10, 30)] };
    /// assert_eq!(p.bytes(), 30);
    /// ```
    pub fn bytes(&self) -> u64 {
        self.tensors
            .iter()
            .map(|t| (t.data_offsets.1 - t.data_offsets.0) as u64)
            .sum()
    }
}

/// A checkpoint's header split for re-initialization ([`read_checkpoint`]):
/// the float tensors to initialize and the others to keep.
///
/// ```
/// use weight_init::model::{read_checkpoint, write_safetensors_with};
/// use weight_init::DType;
/// let path = std::env::temp_dir().join(format!("wi-doc-cp-{}.safetensors", std::process::id()));
/// write_safetensors_with(&path, &[("w".into(), DType::F16, vec![2])], None, |_, emit| emit(&[0u8; 4][..])).unwrap();
/// let ckpt = read_checkpoint(&path).unwrap();
/// std::fs::remove_file(&path).unwrap();
/// assert_eq!((ckpt.params.len(), ckpt.params.params()[0].dtype), (1, DType::F16));
/// assert!(ckpt.passthrough.tensors.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The F32, F16 and BF16 tensors, in the file's data order, every
    /// scheme left to the rules.
    pub params: ParamSet,
    /// Every other tensor (integers, BOOL, F64, the F8 and F4 formats, ...),
    /// in the file's data order: copy them with [`write_safetensors_copying`]
    /// or [`WriteOptions::copy`], or leave them out.
    pub passthrough: Passthrough,
}

/// Reads only the header of a safetensors file ([`read_safetensors`]
/// checks it whole; the tensor data is not read) and splits its tensors:
/// F32, F16 and BF16 ones into a parameter set to initialize, every other
/// dtype into a [`Passthrough`] to copy unchanged (or leave out). What
/// `weight-init init --from-safetensors` uses: a Hugging Face checkpoint's
/// I64 `position_ids` is kept as it is, and an F64 tensor is copied, not
/// initialized (the crate generates f32, f16 and bf16 only).
///
/// Errors: everything [`read_safetensors`] refuses.
///
/// ```
/// use weight_init::model::{read_checkpoint, write_safetensors_opts, Rules, WriteOptions};
/// # let dir = std::env::temp_dir().join(format!("wi-doc-ckpt-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// // A checkpoint with an F32 weight and an I64 position_ids.
/// let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"position_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[8,24]}}"#;
/// let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
/// bytes.extend_from_slice(header);
/// bytes.extend_from_slice(&[0; 8]);
/// bytes.extend_from_slice(&0i64.to_le_bytes());
/// bytes.extend_from_slice(&1i64.to_le_bytes());
/// let src = dir.join("ckpt.safetensors");
/// std::fs::write(&src, &bytes).unwrap();
///
/// let ckpt = read_checkpoint(&src).unwrap();
/// assert_eq!(ckpt.params.params()[0].name, "w");
/// assert_eq!(ckpt.passthrough.tensors[0].name, "position_ids");
/// let rules = Rules::new(vec!["w=normal(0, 0.02)".parse().unwrap()]);
/// let set = ckpt.params.resolve(&rules).unwrap();
/// let out = dir.join("out.safetensors");
/// let opts = WriteOptions { copy: Some(ckpt.passthrough.clone()), ..Default::default() };
/// write_safetensors_opts(&out, &set, 1, None, &opts).unwrap();
/// let written = std::fs::read(&out).unwrap();
/// let st = safetensors::SafeTensors::deserialize(&written).unwrap();
/// assert_eq!(st.tensor("position_ids").unwrap().data(), &bytes[bytes.len() - 16..]);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn read_checkpoint(path: &Path) -> Result<Checkpoint> {
    let (_, header) = read_safetensors(path)?;
    let mut params = ParamSet::new();
    let mut others = Vec::new();
    for t in header.tensors {
        let dtype = match t.dtype {
            Dtype::F32 => DType::F32,
            Dtype::F16 => DType::F16,
            Dtype::BF16 => DType::BF16,
            _ => {
                others.push(t);
                continue;
            }
        };
        let shape = t.shape.iter().map(|&d| d as u64).collect();
        params.push(Param::new(t.name, shape, dtype))?;
    }
    Ok(Checkpoint {
        params,
        passthrough: Passthrough {
            path: path.to_path_buf(),
            data_start: header.data_start,
            file_len: header.file_len,
            tensors: others,
        },
    })
}

/// Opens `copy.path` again and checks that its header still says what
/// `copy` says: the same data start, length and copied entries.
fn open_passthrough(copy: &Passthrough) -> Result<File> {
    let path = &copy.path;
    let (file, header) = read_safetensors(path)?;
    let changed = |why: String| Error::InvalidFile {
        path: files::show(path),
        reason: format!("changed since its header was read: {why}"),
    };
    if header.data_start != copy.data_start || header.file_len != copy.file_len {
        return Err(changed(format!(
            "data start {} and length {} were {} and {}",
            header.data_start, header.file_len, copy.data_start, copy.file_len
        )));
    }
    for t in &copy.tensors {
        if !header.tensors.contains(t) {
            return Err(changed(format!(
                "tensor `{}` is not where it was",
                files::escape(&t.name)
            )));
        }
    }
    Ok(file)
}

/// The dtype's name in a safetensors header.
fn st_dtype_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "F32",
        DType::F16 => "F16",
        DType::BF16 => "BF16",
    }
}

/// The one safetensors header builder every writer goes through: the
/// header JSON, padded with spaces to a multiple of 8 bytes, and each
/// tensor's byte count.
///
/// The bytes are a pure function of `tensors` and `metadata`:
/// `{"__metadata__":{...},"NAME":{"dtype":..,"shape":[..],"data_offsets":[s,e]},...}`
/// with no whitespace; `__metadata__` first (left out when `metadata` is
/// `None`), its keys sorted by their UTF-8 bytes (a [`BTreeMap`]'s order);
/// then the tensors in the order given, with contiguous `data_offsets`
/// from 0. Strings are escaped by `serde_json`.
///
/// Errors: a repeated tensor name ([`Error::DuplicateParam`]), a tensor
/// named `__metadata__`, a byte count past `u64`, a header past 100 MB.
fn safetensors_header(
    path: &Path,
    tensors: &[TensorEntry],
    copied: &[HeaderTensor],
    metadata: Option<&BTreeMap<String, String>>,
) -> Result<(Vec<u8>, Vec<u64>)> {
    let json_str = |s: &str| serde_json::to_string(s).map_err(|e| io_error(path, e));
    let mut entries = Vec::with_capacity(tensors.len() + 1);
    if let Some(meta) = metadata {
        let pairs = meta
            .iter()
            .map(|(k, v)| Ok(format!("{}:{}", json_str(k)?, json_str(v)?)))
            .collect::<Result<Vec<_>>>()?;
        entries.push(format!("\"__metadata__\":{{{}}}", pairs.join(",")));
    }
    let mut names = HashSet::with_capacity(tensors.len());
    let mut sizes = Vec::with_capacity(tensors.len());
    let mut offset = 0u64;
    let generated = tensors.iter().map(|(name, dtype, shape)| {
        // An empty shard (a 0 in its shape) is a valid, empty tensor.
        let bytes = super::part_numel(shape)?
            .checked_mul(dtype.size_bytes() as u64)
            .ok_or_else(|| io_error(path, "the tensors hold more than 2^64 bytes"))?;
        Ok((name, json_str(st_dtype_name(*dtype))?, shape.clone(), bytes))
    });
    let kept = copied.iter().map(|t| {
        let dtype = serde_json::to_string(&t.dtype).map_err(|e| io_error(path, e))?;
        let shape = t.shape.iter().map(|&d| d as u64).collect();
        let bytes = (t.data_offsets.1 - t.data_offsets.0) as u64;
        Ok((&t.name, dtype, shape, bytes))
    });
    for entry in generated.chain(kept) {
        let (name, dtype, shape, bytes): (&String, String, Vec<u64>, u64) = entry?;
        if name == "__metadata__" {
            return Err(Error::ReservedName {
                name: name.clone(),
                format: "safetensors",
            });
        }
        if !names.insert(name.as_str()) {
            return Err(Error::DuplicateParam { name: name.clone() });
        }
        let end = offset
            .checked_add(bytes)
            .ok_or_else(|| io_error(path, "the tensors hold more than 2^64 bytes"))?;
        let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
        entries.push(format!(
            "{}:{{\"dtype\":{dtype},\"shape\":[{}],\"data_offsets\":[{offset},{end}]}}",
            json_str(name)?,
            dims.join(",")
        ));
        sizes.push(bytes);
        offset = end;
    }
    let header = format!("{{{}}}", entries.join(","));
    let mut header = header.into_bytes();
    header.resize(header.len().next_multiple_of(8), b' ');
    if header.len() as u64 > files::MAX_SAFETENSORS_HEADER {
        return Err(io_error(path, "safetensors header larger than 100 MB"));
    }
    Ok((header, sizes))
}

/// Writes a safetensors file whose tensors' bytes come from `produce`,
/// one tensor at a time, in the order of `tensors` (`(name, dtype,
/// shape)`).
///
/// `produce(i, emit)` must pass tensor `i`'s little-endian bytes to `emit`
/// in order, in pieces of any size; exactly the tensor's byte count, or
/// the write fails.
///
/// The file is the same bytes for the same arguments and data, on every
/// run: the header is built by the crate's own code in a fixed order,
/// `__metadata__` first with its keys sorted (the [`BTreeMap`]'s order),
/// then the tensors in the order of `tensors`, each as
/// `{"dtype":..,"shape":[..],"data_offsets":[start,end]}`, no whitespace,
/// padded with spaces to a multiple of 8 bytes as the `safetensors` crate
/// pads it (which reads it back). Nothing else goes into it: no time,
/// host, path, process or device.
///
/// Errors: a repeated tensor name, a tensor named `__metadata__`, a header
/// past 100 MB (all before any file is created); I/O errors; a producer's
/// error or wrong byte count.
///
/// The file appears atomically ([`files::AtomicFile`]): everything goes to
/// a temporary file `.NAME.PID.N.tmp` created exclusively in the target's
/// directory, synced and renamed over `path` at the end, then the directory
/// is synced; on any error the temporary file is removed and `path` is
/// untouched. A `path` that exists and is not a regular file (a device, a
/// FIFO, a socket, a directory, or a link to one) is refused
/// ([`Error::NotRegularFile`]) before anything is written. A process
/// killed outright can leave the temporary file behind (never a partial
/// `path`); see [`files`].
///
/// ```
/// use weight_init::model::write_safetensors_with;
/// use weight_init::DType;
/// let path = std::env::temp_dir().join(format!("wi-doc-with-{}.safetensors", std::process::id()));
/// write_safetensors_with(&path, &[("w".into(), DType::F32, vec![2])], None, |_, emit| {
///     emit(&1f32.to_le_bytes()[..])?; // pieces of any size
///     emit(&2f32.to_le_bytes()[..])
/// }).unwrap();
/// let bytes = std::fs::read(&path).unwrap();
/// std::fs::remove_file(&path).unwrap();
/// assert_eq!(bytes[bytes.len() - 8..], [1f32.to_le_bytes(), 2f32.to_le_bytes()].concat());
/// ```
pub fn write_safetensors_with<F>(
    path: &Path,
    tensors: &[TensorEntry],
    metadata: Option<BTreeMap<String, String>>,
    produce: F,
) -> Result<()>
where
    F: FnMut(usize, &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()>,
{
    write_safetensors_copying(path, tensors, metadata, None, produce)
}

/// [`write_safetensors_with`], then `copy`'s tensors copied byte for byte
/// from their source file ([`Passthrough`]) after the produced ones: same
/// names, dtypes, shapes and data, in `copy.tensors`' order, read from the
/// source one [`WRITE_CHUNK_BYTES`] piece at a time. `None` copies
/// nothing. The source is checked again before the output is created; a
/// name in both `tensors` and `copy` is refused. The output may be the
/// source itself: it is written to a temporary file and renamed at the
/// end.
///
/// ```
/// use weight_init::model::{read_safetensors, write_safetensors_copying, write_safetensors_with, Passthrough};
/// use weight_init::DType;
/// let (src, out) = (std::env::temp_dir().join(format!("wi-doc-cs-{}.st", std::process::id())), std::env::temp_dir().join(format!("wi-doc-co-{}.st", std::process::id())));
/// write_safetensors_with(&src, &[("a".into(), DType::F32, vec![1]), ("b".into(), DType::F32, vec![1])], None, |i, emit| emit(&[i as u8; 4][..])).unwrap();
/// let (_, h) = read_safetensors(&src).unwrap();
/// let copy = Passthrough { path: src.clone(), data_start: h.data_start, file_len: h.file_len, tensors: h.tensors[1..].to_vec() };
/// write_safetensors_copying(&out, &[("c".into(), DType::F32, vec![1])], None, Some(&copy), |_, emit| emit(&[9u8; 4][..])).unwrap();
/// let bytes = std::fs::read(&out).unwrap();
/// (std::fs::remove_file(&src).unwrap(), std::fs::remove_file(&out).unwrap());
/// assert_eq!(safetensors::SafeTensors::deserialize(&bytes).unwrap().tensor("b").unwrap().data(), &[1u8; 4]);
/// ```
pub fn write_safetensors_copying<F>(
    path: &Path,
    tensors: &[TensorEntry],
    metadata: Option<BTreeMap<String, String>>,
    copy: Option<&Passthrough>,
    mut produce: F,
) -> Result<()>
where
    F: FnMut(usize, &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()>,
{
    let copied = copy.map_or(&[][..], |c| &c.tensors[..]);
    let (header, sizes) = safetensors_header(path, tensors, copied, metadata.as_ref())?;
    let mut source = match copy {
        Some(c) if !c.tensors.is_empty() => Some(open_passthrough(c)?),
        _ => None,
    };
    let mut out = AtomicFile::create(path)?;
    out.write(&(header.len() as u64).to_le_bytes())?;
    out.write(&header)?;
    for (i, &size) in sizes[..tensors.len()].iter().enumerate() {
        let mut written = 0u64;
        let mut emit = |b: &[u8]| -> Result<()> {
            written += b.len() as u64;
            if written > size {
                return Err(Error::OutputLength {
                    expected: size,
                    got: written,
                    unit: "bytes",
                });
            }
            out.write(b)
        };
        produce(i, &mut emit)?;
        if written != size {
            return Err(Error::OutputLength {
                expected: size,
                got: written,
                unit: "bytes",
            });
        }
    }
    if let (Some(c), Some(file)) = (copy, source.as_mut()) {
        let mut buf = Vec::new();
        for t in &c.tensors {
            let src = &c.path;
            let mut at = c.data_start + t.data_offsets.0 as u64;
            let end = c.data_start + t.data_offsets.1 as u64;
            file.seek(SeekFrom::Start(at))
                .map_err(|e| io_error(src, e))?;
            while at < end {
                let n = (end - at).min(WRITE_CHUNK_BYTES as u64) as usize;
                buf.resize(n, 0);
                file.read_exact(&mut buf).map_err(|e| io_error(src, e))?;
                out.write(&buf)?;
                at += n as u64;
            }
        }
    }
    out.commit()
}

/// A tensor of a safetensors file: name, dtype, shape.
///
/// ```
/// use weight_init::model::{safetensors_entries, Param, ParamSet, Rules, TensorEntry};
/// use weight_init::DType;
/// let set = ParamSet::from_params([Param::new("w", vec![4, 2], DType::BF16).with_init("zeros".parse().unwrap())]).unwrap();
/// let r = set.resolve(&Rules::default()).unwrap();
/// let (entries, _): (Vec<TensorEntry>, _) = safetensors_entries(&r, &[vec![4, 2]], 0, None);
/// assert_eq!(entries, vec![("w".to_string(), DType::BF16, vec![4, 2])]);
/// ```
pub type TensorEntry = (String, DType, Vec<u64>);

/// What [`write_safetensors`] writes for `set` besides the data: each
/// tensor's (name, dtype, shape of the shard when sharded), in the set's
/// order, and `__metadata__` (`format: pt`, the seed, the shard, each
/// tensor's scheme as `weight_init.init.NAME`; for a mesh shard
/// ([`Shard::mesh`]) also `weight_init.mesh`, `weight_init.rank`,
/// `weight_init.coordinate`, and per tensor `weight_init.placement.NAME`
/// and `weight_init.global_shape.NAME`). For writers that produce
/// the bytes elsewhere (a GPU arena) and stream them through
/// [`write_safetensors_with`], which writes the keys sorted.
///
/// `shapes` are the arena layout's (`ArenaLayout::shapes`, or the split
/// layout's). Nothing run-dependent: the same set, shapes, seed and shard give
/// the same entries on every run and backend.
///
/// ```
/// use weight_init::model::{safetensors_entries, Param, ParamSet, Rules, Shard, ShardMode};
/// use weight_init::DType;
/// let set = ParamSet::from_params([Param::new("w", vec![4, 2], DType::F32).with_init("zeros".parse().unwrap())]).unwrap();
/// let r = set.resolve(&Rules::default()).unwrap();
/// let shard = Shard::new(2, 0, ShardMode::Rows).unwrap();
/// let (entries, meta) = safetensors_entries(&r, &r.arena_layout(Some(&shard), 4).unwrap().shapes, 7, Some(&shard));
/// assert_eq!(entries[0].2, vec![2, 2]);
/// assert_eq!((meta["format"].as_str(), meta["weight_init.seed"].as_str(), meta["weight_init.init.w"].as_str()), ("pt", "7", "zeros"));
/// ```
pub fn safetensors_entries(
    set: &ResolvedSet,
    shapes: &[Vec<u64>],
    seed: u64,
    shard: Option<&Shard>,
) -> (Vec<TensorEntry>, BTreeMap<String, String>) {
    let tensors = set
        .params()
        .iter()
        .zip(shapes)
        .map(|(p, s)| (p.name.clone(), p.dtype, s.clone()))
        .collect();
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    meta.insert("weight_init.seed".to_string(), seed.to_string());
    if let Some(s) = shard {
        meta.insert("weight_init.shard".to_string(), s.to_string());
        placement_metadata(set, s, &mut meta);
    }
    for p in set.params() {
        meta.insert(format!("weight_init.init.{}", p.name), p.init.to_string());
    }
    (tensors, meta)
}

/// A mesh shard's keys in [`safetensors_entries`]' metadata:
/// `weight_init.mesh` (`2x4`), `weight_init.rank`, `weight_init.coordinate`
/// (`[1, 1]`) and per tensor `weight_init.placement.NAME`
/// (`[Shard(0), Replicate()]`, one per mesh axis, dimensions counted from
/// 0) and `weight_init.global_shape.NAME` (`[4096, 11008]`). Even
/// row/column splits keep their one `weight_init.shard` key. A tensor
/// whose placements do not resolve gets no key: the layout the shapes come
/// from has already refused it.
fn placement_metadata(set: &ResolvedSet, s: &Shard, meta: &mut BTreeMap<String, String>) {
    if s.mode().is_some() {
        return;
    }
    let list = |v: &[u64]| {
        let parts: Vec<String> = v.iter().map(u64::to_string).collect();
        format!("[{}]", parts.join(", "))
    };
    meta.insert("weight_init.mesh".into(), s.device_mesh().to_string());
    meta.insert("weight_init.rank".into(), s.rank().to_string());
    meta.insert("weight_init.coordinate".into(), list(&s.coordinate()));
    for p in set.params() {
        if let Ok(pl) = s.placements(&p.name, &p.shape) {
            meta.insert(format!("weight_init.placement.{}", p.name), pl.to_string());
        }
        meta.insert(
            format!("weight_init.global_shape.{}", p.name),
            list(&p.shape),
        );
    }
}

/// Initializes `set` on the CPU (each rank's part when `shard` is given)
/// and streams it into the safetensors file `path`, tensors in the set's
/// order, with `__metadata__` recording the seed, the shard and each
/// tensor's scheme.
///
/// Host memory: one [`WRITE_CHUNK_BYTES`] buffer for elementwise tensors
/// (they are generated chunk by chunk, straight into the file), plus the
/// largest single host-computed tensor (class priors; structured inits,
/// which are computed whole). A model larger than memory can be written.
///
/// Atomic: see [`write_safetensors_with`].
///
/// ```
/// use weight_init::model::{write_safetensors, Param, ParamSet, Rules};
/// use weight_init::DType;
/// let set = ParamSet::from_params([Param::new("w", vec![8, 4], DType::BF16)
///     .with_init("normal(0, 0.02)".parse().unwrap())]).unwrap();
/// let r = set.resolve(&Rules::default()).unwrap();
/// let path = std::env::temp_dir().join(format!("wi-doc-{}.safetensors", std::process::id()));
/// write_safetensors(&path, &r, 1, None).unwrap();
/// let bytes = std::fs::read(&path).unwrap();
/// let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
/// assert_eq!(st.tensor("w").unwrap().shape(), &[8, 4]);
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_safetensors(
    path: &Path,
    set: &ResolvedSet,
    seed: u64,
    shard: Option<&Shard>,
) -> Result<()> {
    write_safetensors_opts(path, set, seed, shard, &WriteOptions::default())
}

/// How [`write_safetensors_opts`] writes besides the set, seed and shard.
/// The default is [`write_safetensors`]'s: all cores, nothing copied.
///
/// ```
/// use weight_init::cpu::Threads;
/// use weight_init::model::WriteOptions;
/// let opts = WriteOptions { threads: Threads::count(2).unwrap(), ..Default::default() };
/// assert!(opts.copy.is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// The threads the CPU fills on ([`Threads`]); the file's bytes do not
    /// depend on it.
    pub threads: Threads,
    /// Tensors copied byte for byte from another safetensors file after
    /// the set's ([`Passthrough`], from [`read_checkpoint`]); `None`:
    /// none.
    pub copy: Option<Passthrough>,
}

/// [`write_safetensors`] with options: the CPU threads, and tensors copied
/// unchanged from a checkpoint ([`write_safetensors_copying`]). The file's
/// bytes are the same for every [`Threads`].
///
/// ```
/// use weight_init::cpu::Threads;
/// use weight_init::model::{write_safetensors, write_safetensors_opts, Param, ParamSet, Rules, WriteOptions};
/// use weight_init::DType;
/// let set = ParamSet::from_params([Param::new("w", vec![64, 16], DType::F32).with_init("normal(0, 1)".parse().unwrap())]).unwrap();
/// let r = set.resolve(&Rules::default()).unwrap();
/// let (a, b) = (std::env::temp_dir().join(format!("wi-doc-oa-{}.st", std::process::id())), std::env::temp_dir().join(format!("wi-doc-ob-{}.st", std::process::id())));
/// write_safetensors_opts(&a, &r, 5, None, &WriteOptions { threads: Threads::count(1).unwrap(), copy: None }).unwrap();
/// write_safetensors(&b, &r, 5, None).unwrap();
/// let same = std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap();
/// (std::fs::remove_file(&a).unwrap(), std::fs::remove_file(&b).unwrap());
/// assert!(same);
/// ```
pub fn write_safetensors_opts(
    path: &Path,
    set: &ResolvedSet,
    seed: u64,
    shard: Option<&Shard>,
    opts: &WriteOptions,
) -> Result<()> {
    write_safetensors_observed(path, set, seed, shard, opts, &mut |_, _| {})
}

/// [`write_safetensors_opts`] that also calls `progress(index, bytes)`
/// after each piece of the set's tensor `index` is written (`bytes`: that
/// piece's length), so a caller can draw a progress bar by tensor or by
/// byte. The file is the same bytes as [`write_safetensors_opts`] writes.
///
/// ```
/// use weight_init::model::{write_safetensors_observed, Param, ParamSet, Rules, WriteOptions};
/// use weight_init::DType;
/// let set = ParamSet::from_params([Param::new("w", vec![64, 16], DType::F32).with_init("normal(0, 1)".parse().unwrap())]).unwrap();
/// let r = set.resolve(&Rules::default()).unwrap();
/// let path = std::env::temp_dir().join(format!("wi-doc-obs-{}.st", std::process::id()));
/// let mut written = 0;
/// write_safetensors_observed(&path, &r, 5, None, &WriteOptions::default(), &mut |i, n| {
///     assert_eq!(i, 0);
///     written += n;
/// }).unwrap();
/// std::fs::remove_file(&path).unwrap();
/// assert_eq!(written, 64 * 16 * 4);
/// ```
pub fn write_safetensors_observed(
    path: &Path,
    set: &ResolvedSet,
    seed: u64,
    shard: Option<&Shard>,
    opts: &WriteOptions,
    progress: &mut dyn FnMut(usize, u64),
) -> Result<()> {
    let layout = set.arena_layout(shard, 4)?;
    let (tensors, meta) = safetensors_entries(set, &layout.shapes, seed, shard);
    let mut chunk = Vec::new();
    let copy = opts.copy.as_ref();
    write_safetensors_copying(path, &tensors, Some(meta), copy, |i, emit| {
        let mut counted = |bytes: &[u8]| {
            emit(bytes)?;
            progress(i, bytes.len() as u64);
            Ok(())
        };
        let (_, jobs) = set.tensor_jobs(i, seed, shard)?;
        for job in jobs {
            stream_job(&job, &mut chunk, &mut counted, &opts.threads).map_err(|e| match e {
                Error::TooLarge { .. } => Error::Param {
                    name: set.params()[i].name.clone(),
                    source: Box::new(e),
                },
                e => e,
            })?;
        }
        Ok(())
    })
}

/// Runs one job on the CPU, passing its bytes to `emit` in chunks.
fn stream_job(
    job: &FillJob,
    chunk: &mut Vec<u8>,
    emit: &mut dyn FnMut(&[u8]) -> Result<()>,
    threads: &Threads,
) -> Result<()> {
    if let FillJob::Sample {
        dist,
        dtype,
        key,
        range,
        ..
    } = job
    {
        let size = dtype.size_bytes() as u64;
        let step = (WRITE_CHUNK_BYTES as u64 / size).max(1);
        let mut start = range.start;
        while start < range.end {
            let end = range.end.min(start + step);
            chunk.resize(((end - start) * size) as usize, 0);
            crate::cpu::fill_bytes_with(dist, *dtype, key, start..end, chunk, threads)?;
            emit(chunk)?;
            start = end;
        }
        return Ok(());
    }
    let mut bytes = crate::host::try_filled(job.len_bytes(), 0u8, || {
        format!("its host copy ({} bytes)", job.len_bytes())
    })?;
    job.run_cpu(&mut bytes, job.dst(), threads)?;
    emit(&bytes)
}
