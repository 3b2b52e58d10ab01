//! # weight-init
//!
//! Reproducible neural-network weight initialization. Every random element
//! is a pure function of `(seed, stream, index, distribution, dtype)`:
//! a counter-based Philox4x32-10 generator feeds exact, shader-friendly
//! transforms (uniform, Box–Muller normal, one-pass inverse-CDF truncated
//! normal) and integer round-to-nearest-even to f32, f16 or bf16. The same
//! value comes out whatever range, shard, thread, device or init order
//! fills it.
//!
#![cfg_attr(feature = "cli", doc = include_str!("../docs/LIBRARY.md"))]
//!
//! The contract (unit values, transforms, dtypes, why GPU and CPU give the
//! same bits) is `docs/CONTRACT.md` in the repository; the modules:
//! - [`philox`]: the generator's API, the (seed, stream, index) mapping,
//!   [`TensorKey`] and name streams;
//! - [`dtype`]: output element types, f32 to f16/bf16 rounding and
//!   widening back;
//! - [`dist`]: the distributions and their checked constructors;
//! - [`sampler`]: a distribution prepared for a dtype, sampled by blocks;
//! - [`cpu`]: the multi-threaded CPU backend;
//! - [`gpu`]: the wgpu backend, bit for bit equal to `cpu` (tested on Mesa's
//!   lavapipe and llvmpipe GL; no hardware GPU measured yet);
//! - [`scheme`]: init schemes resolved to sampling plans;
//! - [`stats`]: moments and Kolmogorov–Smirnov tests used by tests and tools;
//! - [`structured`]: orthogonal (Q on the CPU), eye, dirac, sparse,
//!   delta-orthogonal;
//! - [`tensor`]: one call per tensor ([`TensorInit`]: a name, a shape and a
//!   scheme, filled on the CPU or prepared as fill jobs for a backend);
//! - [`files`]: checked inputs, atomic outputs, escaped names (every
//!   file the crate reads or writes goes through it);
//! - [`model`]: whole-model init: named parameter sets, rules and presets,
//!   shards, safetensors files;
//! - [`diagnose`]: signal propagation through a deep MLP initialized by a
//!   scheme (activation and gradient scales per layer), on the GPU with a
//!   CPU reference.
//!
//! The CPU twin of `shaders/philox.wgsl` (`src/kernel.rs`: the Philox
//! rounds, `ln`, `sin`/`cos`, Box–Muller, the probit polynomials, ...) is
//! internal. Its functions are reachable for tests and benchmarks through
//! the hidden `unstable` module, which no semver promise covers.

#![warn(missing_docs)]

pub mod cpu;
#[cfg(feature = "gpu")]
pub mod diagnose;
pub mod dist;
pub mod dtype;
pub mod error;
#[cfg(feature = "model")]
pub mod files;
#[cfg(feature = "gpu")]
pub mod gpu;
mod host;
mod kernel;
#[cfg(feature = "model")]
pub mod model;
pub mod philox;
pub mod sampler;
pub mod scheme;
pub mod stats;
pub mod structured;
#[doc(hidden)]
pub mod unstable;

/// The wgpu this crate is built against (its `Device`, `Buffer` and
/// `CommandEncoder` are the ones [`gpu`] takes). Engines should use
/// `weight_init::wgpu` rather than their own `wgpu` dependency, to stay in
/// step with this crate's version.
#[cfg(feature = "gpu")]
pub use wgpu;
pub mod tensor;

pub use dist::{Distribution, Normal, TruncatedNormal, Uniform};
pub use dtype::DType;
pub use error::{Error, Result};
pub use philox::TensorKey;
pub use sampler::Sampler;
pub use scheme::{FanMode, Fans, Init, Layout, Nonlinearity, Plan, ResolveOptions, Structured};
pub use structured::fill_structured_cpu;
#[cfg(feature = "orthogonal")]
pub use structured::orthogonal_f32;
pub use tensor::{FillJob, IntoInit, PreparedTensor, TensorInit};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(all(doctest, feature = "cli"))]
pub struct ReadmeDoctests;
