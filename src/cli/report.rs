//! The `--json` output every command shares: JSON Lines on stdout, one
//! object per table row (`"kind": "row"`) and a last object with the run's
//! totals (`"kind": "summary"`). Every object carries the same common
//! fields, set here and nowhere else so that no command can drift:
//!
//! - `command`: the subcommand (`devices`, `bench`, `verify`, `inspect`,
//!   `init`, `diagnose`);
//! - `kind`: `row` or `summary`;
//! - `backend`: `gpu` or `cpu`, where the row's numbers come from;
//! - `adapter`: the GPU adapter's name, or `null` on the CPU;
//! - `seed`: the generator seed, or `null` where the command has none
//!   (`devices`; `inspect` of a file without `weight_init.seed`).
//!
//! A row's own fields never replace a common one (the common ones are
//! written last). Notes and progress go to stderr, so stdout is only
//! JSON lines.

use std::io::Write;

use serde_json::{Map, Value};
use weight_init::gpu::GpuContext;

use super::CliError;

/// Where a row's numbers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A wgpu adapter.
    Gpu,
    /// The CPU backend (or host code, for `inspect`).
    Cpu,
}

impl Backend {
    /// `gpu` or `cpu`, as the JSON writes it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Gpu => "gpu",
            Backend::Cpu => "cpu",
        }
    }
}

/// The common fields of one command's run.
#[derive(Debug, Clone)]
pub struct Common {
    /// The subcommand.
    pub command: &'static str,
    /// Where the numbers come from.
    pub backend: Backend,
    /// The adapter's name on the GPU.
    pub adapter: Option<String>,
    /// The generator seed, where the command has one.
    pub seed: Option<u64>,
}

impl Common {
    /// The GPU and its adapter's name when `ctx` is given, else the CPU.
    pub fn new(command: &'static str, ctx: Option<&GpuContext>, seed: Option<u64>) -> Self {
        match ctx {
            Some(ctx) => Self {
                command,
                backend: Backend::Gpu,
                adapter: ctx.adapter_info().map(|i| i.name.clone()),
                seed,
            },
            None => Self::cpu(command, seed),
        }
    }

    /// The CPU backend.
    pub fn cpu(command: &'static str, seed: Option<u64>) -> Self {
        Self {
            command,
            backend: Backend::Cpu,
            adapter: None,
            seed,
        }
    }

    /// A table row: `fields` (a JSON object) plus the common fields.
    pub fn row(&self, fields: Value) -> Value {
        self.record("row", fields)
    }

    /// The run's summary: `fields` plus the common fields.
    pub fn summary(&self, fields: Value) -> Value {
        self.record("summary", fields)
    }

    fn record(&self, kind: &str, fields: Value) -> Value {
        let mut m = match fields {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => {
                let mut m = Map::new();
                m.insert("value".into(), other);
                m
            }
        };
        m.insert("command".into(), self.command.into());
        m.insert("kind".into(), kind.into());
        m.insert("backend".into(), self.backend.name().into());
        m.insert(
            "adapter".into(),
            self.adapter.clone().map_or(Value::Null, Value::from),
        );
        m.insert("seed".into(), self.seed.map_or(Value::Null, Value::from));
        Value::Object(m)
    }
}

/// Writes one JSON object as one line on stdout.
pub fn print(value: &Value) -> Result<(), CliError> {
    let out = std::io::stdout();
    let mut out = out.lock();
    writeln!(out, "{value}")
        .and_then(|()| out.flush())
        .map_err(CliError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The fields every `--json` object carries.
    const COMMON_FIELDS: [&str; 5] = ["command", "kind", "backend", "adapter", "seed"];

    #[test]
    fn common_fields_win_and_are_always_present() {
        let c = Common {
            command: "verify",
            backend: Backend::Gpu,
            adapter: Some("llvmpipe".into()),
            seed: Some(7),
        };
        let row = c.row(json!({"seed": 99, "command": "other", "x": 1}));
        assert_eq!(row["seed"], 7);
        assert_eq!(row["command"], "verify");
        assert_eq!(row["kind"], "row");
        assert_eq!(row["x"], 1);
        let s = Common::cpu("devices", None).summary(Value::Null);
        for f in COMMON_FIELDS {
            assert!(s.get(f).is_some(), "{f} missing: {s}");
        }
        assert_eq!(
            (s["backend"].as_str(), s["adapter"].is_null()),
            (Some("cpu"), true)
        );
        assert!(s["seed"].is_null());
    }
}
