//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in `weight-init`.
///
/// Bad input is always reported through this type, never by a panic, and a
/// call that returns an error has written nothing.
///
/// ```
/// use weight_init::{Error, Normal};
/// let err = Normal::new(0.0, -1.0).unwrap_err();
/// assert!(matches!(err, Error::InvalidParameter { .. }));
/// println!("{err}"); // "invalid parameter `std` = -1: must be finite and > 0"
/// ```
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A distribution or scheme parameter is out of its domain.
    #[error("invalid parameter `{name}` = {}: {reason}", Number(*value))]
    InvalidParameter {
        /// The parameter's name, as in the constructor's signature.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What the value must satisfy.
        reason: &'static str,
    },
    /// The requested element range is empty-inverted or runs past the tensor.
    #[error("element range {start}..{end} is invalid for a tensor of {len} elements")]
    RangeOutOfBounds {
        /// First element requested.
        start: u64,
        /// One past the last element requested.
        end: u64,
        /// The tensor's element count.
        len: u64,
    },
    /// The output slice does not hold exactly the requested elements.
    #[error("output holds {got} {unit}, but the range needs {expected}")]
    OutputLength {
        /// Length the range needs.
        expected: u64,
        /// Length of the slice that was passed.
        got: u64,
        /// `"elements"` or `"bytes"`.
        unit: &'static str,
    },
    /// A size or offset overflows, or a host allocation failed: `what`
    /// names the tensor (or the piece of work) and `reason` the number.
    #[error("{what} is too large: {reason}")]
    TooLarge {
        /// The tensor or piece of work, in the caller's words.
        what: String,
        /// The size that did not fit, and where.
        reason: String,
    },
    /// Two fill jobs bound for one buffer share bytes.
    #[error("two fill targets in one buffer overlap: {first} and {second}")]
    Overlap {
        /// The first job, its kind and bytes.
        first: String,
        /// The job that overlaps it.
        second: String,
    },
    /// The distribution's values cannot be represented in the output dtype.
    #[error("{what} cannot be represented in {dtype}: {reason}")]
    Unrepresentable {
        /// A short description of the distribution.
        what: String,
        /// The output dtype's name.
        dtype: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A tensor shape does not suit the requested scheme.
    #[error("invalid shape {shape:?}: {reason}")]
    InvalidShape {
        /// The shape as given.
        shape: Vec<u64>,
        /// What is wrong with it.
        reason: String,
    },
    /// A scheme's text form could not be parsed.
    #[error("cannot parse `{input}` at byte {position}: {message}")]
    Parse {
        /// The whole input text.
        input: String,
        /// Byte offset of the bad part.
        position: usize,
        /// What was expected there.
        message: String,
    },
    /// A named option (a fan mode, a distribution name, ...) that the
    /// scheme does not accept.
    #[error("invalid choice `{name}` = {value}: {reason}")]
    InvalidChoice {
        /// The parameter's name, as in the constructor's signature.
        name: &'static str,
        /// The offending choice, as text.
        value: String,
        /// What the parameter accepts.
        reason: &'static str,
    },
    /// No GPU adapter could be found or opened.
    #[error("no GPU adapter available: {reason}. On a machine without a GPU, install Mesa's software drivers (Debian/Ubuntu: `apt-get install mesa-vulkan-drivers` for lavapipe, `libegl-mesa0 libgl1-mesa-dri` for llvmpipe GL)")]
    NoAdapter {
        /// What the lookup said.
        reason: String,
    },
    /// An environment variable the GPU backend reads (`WGPU_BACKEND`,
    /// `WGPU_ADAPTER_NAME`, `WGPU_POWER_PREF`) has a value it cannot use.
    #[error("environment variable {var}={value:?}: {reason}")]
    Environment {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong, and what it accepts.
        reason: String,
    },
    /// A buffer lacks a usage the operation needs.
    #[error("buffer usage {have} lacks {missing}")]
    BufferUsage {
        /// The buffer's usages, as wgpu names them (`COPY_DST | MAP_READ`;
        /// `none` when it has none). Text, so that the error type carries
        /// no wgpu type and the crate's pure layers build without wgpu.
        have: String,
        /// The usage that is needed, e.g. `STORAGE`.
        missing: &'static str,
    },
    /// A byte offset is not aligned for the element type.
    #[error("byte offset {offset} is not a multiple of {align}")]
    Misaligned {
        /// The offset given.
        offset: u64,
        /// The alignment needed.
        align: u64,
    },
    /// The bytes a fill would write run past the end of the buffer.
    #[error("the fill needs bytes {start}..{end}, but the buffer has {size}")]
    BufferTooSmall {
        /// First byte written.
        start: u64,
        /// One past the last byte written.
        end: u64,
        /// The buffer's size.
        size: u64,
    },
    /// Two parameters of a set share a name.
    #[error("duplicate parameter name `{}`", escape(.name))]
    DuplicateParam {
        /// The repeated name.
        name: String,
    },
    /// Two parameters of a set have the same Philox stream, so they would
    /// get the same values (streams default to the name's
    /// [`crate::philox::name_stream`]; an explicit stream was reused).
    #[error("parameters `{}` and `{}` share Philox stream {stream:#018x}, so they would get the same values; give each its own stream (or leave the stream out: the default comes from the name)", escape(.first), escape(.second))]
    SharedStream {
        /// The parameter that had the stream first.
        first: String,
        /// The parameter given the same stream.
        second: String,
        /// The stream.
        stream: u64,
    },
    /// No rule (and no explicit scheme) says how to initialize a parameter.
    #[error("no rule matches parameter `{}` (shape {shape:?}, kind {kind}); add a rule or give it an `init`", escape(.name))]
    UnmatchedParam {
        /// The parameter's name.
        name: String,
        /// Its shape.
        shape: Vec<u64>,
        /// Its layer kind as given or inferred, or `none`.
        kind: String,
    },
    /// A parameter could not be resolved or filled; `source` says why.
    #[error("parameter `{}`: {source}", escape(.name))]
    Param {
        /// The parameter's name.
        name: String,
        /// What went wrong.
        source: Box<Error>,
    },
    /// A shard that does not fit the world or the tensor.
    #[error("invalid shard: {reason}")]
    InvalidShard {
        /// What is wrong.
        reason: String,
    },
    /// A JSON document could not be read; line and column are 1-based, as
    /// `serde_json` reports them.
    #[error("{what}: line {line}, column {column}: {message}")]
    Json {
        /// What was being read (a file name or a description).
        what: String,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A file is not what it should be (e.g. a malformed safetensors header).
    #[error("{path}: {reason}")]
    InvalidFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// A path names something other than a regular file (a device, a
    /// FIFO, a socket, a directory, or a link to one) where only a regular
    /// file may be read or replaced.
    #[error("{path} is {kind}, not a regular file (weight-init {action} regular files only)")]
    NotRegularFile {
        /// The path as the user gave it (escaped).
        path: String,
        /// What it is, e.g. `a character device`.
        kind: &'static str,
        /// `reads` or `writes and replaces`.
        action: &'static str,
    },
    /// An input is larger than the limit for its kind, checked before it
    /// is read.
    #[error("{path} is {size} bytes, larger than the {limit}-byte limit for {what}")]
    InputTooLarge {
        /// The path as the user gave it (escaped).
        path: String,
        /// What the input is, e.g. `a JSON spec`.
        what: &'static str,
        /// Its size (or the bytes read before the limit was passed).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A name that a file format reserves, used as a tensor name.
    #[error("`{}` is reserved by the {format} format and cannot name a parameter", escape(.name))]
    ReservedName {
        /// The name.
        name: String,
        /// The format, e.g. `safetensors`.
        format: &'static str,
    },
    /// Something needs a Cargo feature of this crate that the build left out.
    #[error("{what} needs weight-init's Cargo feature `{feature}`; enable it (`weight-init = {{ features = [\"{feature}\"] }}`)")]
    FeatureDisabled {
        /// What was asked for, e.g. `orthogonal init of shape [64, 64]`.
        what: String,
        /// The feature that provides it.
        feature: &'static str,
    },
    /// The device reported an error (validation, out of memory, lost device).
    #[error("GPU error: {message}")]
    Gpu {
        /// The device's message.
        message: String,
    },
    /// Where a tensor would sit in a GPU buffer breaks the backend's one
    /// alignment rule (the "Alignment" section of [`crate::gpu`]): e.g.
    /// "byte_offset 3 of a bf16 tensor: 16-bit tensors need an even
    /// offset".
    #[error("{argument} {offset} of {tensor}: {reason}")]
    Unaligned {
        /// The argument or field that is wrong, e.g. `byte_offset`,
        /// `items[2].byte_offset`, `jobs[0].dst`.
        argument: String,
        /// Its value (a byte offset, or for a tensor that ends in a partial
        /// last word, its end).
        offset: u64,
        /// What is placed there, e.g. "a bf16 tensor".
        tensor: String,
        /// What the rule asks for, and what to do.
        reason: String,
    },
}

/// `text` with every control character (and every bidirectional-text
/// override, which can reorder what a terminal shows) written as a Rust
/// escape: `\n`, `\t`, `\r`, `\u{1b}`. Other text, backslashes included,
/// is unchanged. Every error message that shows a user's name or path
/// goes through it.
///
/// ```
/// use weight_init::error::escape;
/// assert_eq!(escape("fc.weight"), "fc.weight");
/// assert_eq!(escape("a\tb\u{202e}"), "a\\tb\\u{202e}");
/// ```
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    let needs =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(needs) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A value as the user would write it: plain decimals for everyday
/// magnitudes, scientific notation for very small or large ones (`1e-46`,
/// not forty-six zeros).
struct Number(f64);

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = self.0.abs();
        if a == 0.0 || !a.is_finite() || (1e-5..1e16).contains(&a) {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{:e}", self.0)
        }
    }
}

/// Shorthand for `Result<T, weight_init::Error>`.
///
/// ```
/// use weight_init::{Normal, Result};
/// fn std_of(s: f32) -> Result<f32> {
///     Ok(Normal::new(0.0, s)?.std())
/// }
/// assert_eq!(std_of(0.5).unwrap(), 0.5);
/// assert!(std_of(-1.0).is_err());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;
