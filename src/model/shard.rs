//! Which part of each tensor a rank holds.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::scheme::numel;

/// How a tensor is split among ranks.
///
/// ```
/// use weight_init::model::ShardMode;
/// assert_eq!("rows".parse::<ShardMode>().unwrap(), ShardMode::Rows);
/// assert_eq!("cols".parse::<ShardMode>().unwrap(), ShardMode::Columns);
/// assert_eq!(ShardMode::Columns.to_string(), "cols");
/// assert!("diagonal".parse::<ShardMode>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShardMode {
    /// Row (FSDP / ZeRO-3 style) sharding: rank `r` of `w` holds rows
    /// `[r·d0/w, (r+1)·d0/w)` of dimension 0, a contiguous element range.
    Rows,
    /// Column (tensor-parallel) sharding: of the 2-D view
    /// `[shape[0], numel/shape[0]]`, rank `r` holds the column block of
    /// dimension-1 indices `[r·d1/w, (r+1)·d1/w)` (with every trailing
    /// dimension of those indices), strided in memory and stored compactly.
    Columns,
}

impl FromStr for ShardMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "rows" | "row" => Ok(ShardMode::Rows),
            "cols" | "columns" | "col" => Ok(ShardMode::Columns),
            _ => Err(Error::InvalidChoice {
                name: "shard",
                value: s.to_string(),
                reason: "expected rows or cols",
            }),
        }
    }
}

impl fmt::Display for ShardMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShardMode::Rows => "rows",
            ShardMode::Columns => "cols",
        })
    }
}

/// One rank's part of every tensor of a set.
///
/// The rank's values are exactly the corresponding slice of the unsharded
/// init: element `i` of a tensor is a function of `i` alone (the
/// determinism contract), so a shard fills the element indices it holds.
///
/// Rules (errors never panic):
/// - `world >= 1` and `rank < world`;
/// - the sharded dimension must be divisible by `world` (dimension 0 for
///   rows, dimension 1 for columns): uneven shards are an error naming the
///   tensor, never silently padded;
/// - a 0-D tensor counts as shape `[1]`;
/// - in column mode, 0-D and 1-D tensors (biases, norm scales) are split
///   as rows, i.e. their only dimension is divided. This keeps "each rank
///   holds `1/world` of every tensor" true for a whole model; an engine
///   that replicates biases should shard them with `world = 1`.
///
/// Structured plans (orthogonal, eye, dirac, sparse, delta-orthogonal) are
/// not elementwise: a sharded fill computes the whole tensor on the CPU
/// (deterministic, identical on every rank) and keeps the rank's slice, so
/// the host briefly holds that one whole tensor.
///
/// ```
/// use weight_init::model::{Shard, ShardMode};
/// let s = Shard::new(4, 1, ShardMode::Columns).unwrap();
/// let (shape, runs) = s.runs(&[2, 8]).unwrap();
/// assert_eq!(shape, vec![2, 2]);
/// assert_eq!(runs, vec![2..4, 10..12]);
/// assert!(Shard::new(4, 4, ShardMode::Rows).is_err());
/// assert!(Shard::new(4, 0, ShardMode::Rows).unwrap().runs(&[6, 2]).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    world: u64,
    rank: u64,
    mode: ShardMode,
}

impl Shard {
    /// Rank `rank` of `world` ranks. Errors: `world == 0`, `rank >= world`.
    ///
    /// ```
    /// use weight_init::model::{Shard, ShardMode};
    /// assert!(Shard::new(8, 7, ShardMode::Rows).is_ok());
    /// assert!(Shard::new(0, 0, ShardMode::Rows).is_err());
    /// assert!(Shard::new(2, 2, ShardMode::Columns).is_err());
    /// ```
    pub fn new(world: u64, rank: u64, mode: ShardMode) -> Result<Self> {
        if world == 0 {
            return Err(Error::InvalidShard {
                reason: "world size must be at least 1".into(),
            });
        }
        if rank >= world {
            return Err(Error::InvalidShard {
                reason: format!("rank {rank} is out of range for world size {world}"),
            });
        }
        Ok(Self { world, rank, mode })
    }

    /// Number of ranks.
    ///
    /// ```
    /// use weight_init::model::{Shard, ShardMode};
    /// assert_eq!(Shard::new(8, 3, ShardMode::Rows).unwrap().world(), 8);
    /// ```
    pub fn world(&self) -> u64 {
        self.world
    }
    /// This rank.
    ///
    /// ```
    /// use weight_init::model::{Shard, ShardMode};
    /// assert_eq!(Shard::new(8, 3, ShardMode::Rows).unwrap().rank(), 3);
    /// ```
    pub fn rank(&self) -> u64 {
        self.rank
    }
    /// Rows or columns.
    ///
    /// ```
    /// use weight_init::model::{Shard, ShardMode};
    /// assert_eq!(Shard::new(2, 0, ShardMode::Columns).unwrap().mode(), ShardMode::Columns);
    /// ```
    pub fn mode(&self) -> ShardMode {
        self.mode
    }

    /// The shard's shape and the element ranges of the whole tensor it
    /// holds, in the order they are stored (compactly, one after another).
    ///
    /// Errors: [`Error::InvalidShard`] when `world` does not divide the
    /// sharded dimension; the shape errors of [`numel`].
    ///
    /// ```
    /// use weight_init::model::{Shard, ShardMode};
    /// let s = Shard::new(2, 1, ShardMode::Rows).unwrap();
    /// assert_eq!(s.runs(&[4, 3]).unwrap(), (vec![2, 3], vec![6..12]));
    /// assert!(s.runs(&[5, 3]).is_err()); // 5 rows do not split in 2
    /// ```
    // A list of runs that may hold one run, not a range to collect.
    #[allow(clippy::single_range_in_vec_init)]
    pub fn runs(&self, shape: &[u64]) -> Result<(Vec<u64>, Vec<Range<u64>>)> {
        let n = numel(shape)?;
        if self.world == 1 {
            return Ok((shape.to_vec(), vec![0..n]));
        }
        let shape: Vec<u64> = if shape.is_empty() {
            vec![1]
        } else {
            shape.to_vec()
        };
        let w = self.world;
        let r = self.rank;
        let divide = |dim: usize| -> Result<u64> {
            let d = shape[dim];
            if !d.is_multiple_of(w) {
                return Err(Error::InvalidShard {
                    reason: format!(
                        "world size {w} does not divide dimension {dim} (= {d}) of shape \
                         {shape:?} ({} sharding needs even shards)",
                        self.mode
                    ),
                });
            }
            Ok(d / w)
        };
        if self.mode == ShardMode::Rows || shape.len() < 2 {
            let per = divide(0)?;
            let inner = n / shape[0];
            let mut s = shape.clone();
            s[0] = per;
            return Ok((s, vec![r * per * inner..(r + 1) * per * inner]));
        }
        let per = divide(1)?;
        let inner: u64 = shape[2..].iter().product();
        let row = shape[1] * inner;
        let block = per * inner;
        // One run per row: a host allocation the shape sizes, so fallible.
        let mut runs = crate::host::try_filled(shape[0], 0..0, || {
            format!("the column shard of shape {shape:?} ({} runs)", shape[0])
        })?;
        for (i, run) in (0u64..).zip(runs.iter_mut()) {
            *run = i * row + r * block..i * row + (r + 1) * block;
        }
        let mut s = shape.clone();
        s[1] = per;
        Ok((s, runs))
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.mode, self.rank, self.world)
    }
}
