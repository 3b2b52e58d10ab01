//! Which part of each tensor a rank holds: the even row and column
//! splits of [`ShardMode`], or a device mesh with per-tensor placements
//! ([`super::placement`]); both computed by [`super::local_runs`].

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use super::placement::{local_runs, DeviceMesh, Placement, PlacementRules, Placements};
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

/// One rank's part of every tensor of a set: an even split by rows or
/// columns ([`Shard::new`]), or a device mesh with per-tensor placements
/// ([`Shard::mesh`]) as PyTorch DTensor names them.
///
/// The rank's values are exactly the corresponding slice of the unsharded
/// init: element `i` of a tensor is a function of `i` alone (the
/// determinism contract), so a shard fills the element indices it holds.
///
/// Rules of the even split (errors never panic):
/// - `world >= 1` and `rank < world`;
/// - the sharded dimension must be divisible by `world` (dimension 0 for
///   rows, dimension 1 for columns): uneven shards are an error naming the
///   tensor, never silently padded (a mesh shard divides unevenly, as
///   `torch.chunk`);
/// - a 0-D tensor counts as shape `[1]`;
/// - in column mode, 0-D and 1-D tensors (biases, norm scales) are split
///   as rows, i.e. their only dimension is divided. This keeps "each rank
///   holds `1/world` of every tensor" true for a whole model; an engine
///   that replicates biases should shard them with `world = 1`, or use a
///   mesh shard with `Replicate` for them.
///
/// The even split is the mesh `[world]` with `Shard(0)` (rows) or
/// `Shard(1)` (columns) for every tensor, once divisibility is checked.
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shard {
    world: u64,
    rank: u64,
    how: How,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum How {
    Even(ShardMode),
    Mesh {
        mesh: DeviceMesh,
        rules: PlacementRules,
    },
}

impl Shard {
    /// Rank `rank` of `world` ranks, every tensor split evenly by `mode`.
    /// Errors: `world == 0`, `rank >= world`.
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
        Ok(Self {
            world,
            rank,
            how: How::Even(mode),
        })
    }

    /// Rank `rank` (row-major in `mesh`) of a device mesh, each tensor
    /// placed by the first of `rules` that matches its name, as DTensor's
    /// `distribute_tensor(t, mesh, placements)` places it (uneven sizes as
    /// `torch.chunk` splits them; see [`super::local_shape_and_offset`]).
    /// Errors: `rank` outside the mesh. Placements that do not fit the mesh
    /// or a tensor, and tensors no rule matches, are errors of the fills
    /// and layouts, naming the tensor.
    ///
    /// ```
    /// use weight_init::model::{DeviceMesh, PlacementRules, Shard};
    /// let rules = PlacementRules::parse(["*.bias=[R, S(0)]", "*=[S(0), S(1)]"]).unwrap();
    /// let s = Shard::mesh("2x4".parse().unwrap(), 5, rules.clone()).unwrap();
    /// assert_eq!(s.coordinate(), vec![1, 1]);
    /// // A [7, 8] weight: rows 4..7 of the first axis, columns 2..4 of the second.
    /// assert_eq!(s.tensor_runs("fc.weight", &[7, 8]).unwrap(), (vec![3, 2], vec![34..36, 42..44, 50..52]));
    /// // A bias of 7: replicated on the first axis, chunk 1 of [2, 2, 2, 1].
    /// assert_eq!(s.tensor_runs("fc.bias", &[7]).unwrap(), (vec![2], vec![2..4]));
    /// assert!(Shard::mesh(DeviceMesh::new(&[2, 4]).unwrap(), 8, rules).is_err());
    /// ```
    pub fn mesh(mesh: DeviceMesh, rank: u64, rules: PlacementRules) -> Result<Self> {
        mesh.coordinate(rank)?;
        Ok(Self {
            world: mesh.size(),
            rank,
            how: How::Mesh { mesh, rules },
        })
    }

    /// Number of ranks (a mesh's: the product of its axes).
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
    /// Rows or columns for an even split; `None` for a mesh shard.
    ///
    /// ```
    /// use weight_init::model::{PlacementRules, Shard, ShardMode};
    /// assert_eq!(Shard::new(2, 0, ShardMode::Columns).unwrap().mode(), Some(ShardMode::Columns));
    /// let rules = PlacementRules::parse(["*=R"]).unwrap();
    /// assert_eq!(Shard::mesh("2".parse().unwrap(), 0, rules).unwrap().mode(), None);
    /// ```
    pub fn mode(&self) -> Option<ShardMode> {
        match self.how {
            How::Even(mode) => Some(mode),
            How::Mesh { .. } => None,
        }
    }

    /// The device mesh: a mesh shard's, or `[world]` for an even split.
    ///
    /// ```
    /// use weight_init::model::{Shard, ShardMode};
    /// assert_eq!(Shard::new(8, 3, ShardMode::Rows).unwrap().device_mesh().to_string(), "8");
    /// ```
    pub fn device_mesh(&self) -> DeviceMesh {
        match &self.how {
            How::Mesh { mesh, .. } => mesh.clone(),
            // `new` checked world >= 1; a mesh holds at most MAX_MESH_RANKS,
            // an even split any u64, so build it without the size check.
            How::Even(_) => DeviceMesh::unchecked(vec![self.world]),
        }
    }

    /// This rank's row-major coordinate in the mesh (`[rank]` for an even
    /// split).
    ///
    /// ```
    /// use weight_init::model::{PlacementRules, Shard};
    /// let rules = PlacementRules::parse(["*=R"]).unwrap();
    /// assert_eq!(Shard::mesh("2x3".parse().unwrap(), 5, rules).unwrap().coordinate(), vec![1, 2]);
    /// ```
    pub fn coordinate(&self) -> Vec<u64> {
        match &self.how {
            How::Mesh { mesh, .. } => mesh.coordinate(self.rank).unwrap_or_default(),
            How::Even(_) => vec![self.rank],
        }
    }

    /// The placements, one per mesh axis and negative dimensions resolved,
    /// of the tensor `name` of `shape`: a mesh shard's matching rule's, or
    /// `[Shard(0)]` / `[Shard(1)]` for an even split (`[Shard(0)]` for
    /// column splits of 0-D and 1-D tensors). Errors: no rule matches;
    /// placements that do not fit the mesh or the tensor.
    ///
    /// ```
    /// use weight_init::model::{PlacementRules, Shard, ShardMode};
    /// let cols = Shard::new(2, 0, ShardMode::Columns).unwrap();
    /// assert_eq!(cols.placements("w", &[4, 4]).unwrap().to_string(), "[Shard(1)]");
    /// let rules = PlacementRules::parse(["*=[R, S(-1)]"]).unwrap();
    /// let m = Shard::mesh("2x2".parse().unwrap(), 0, rules).unwrap();
    /// assert_eq!(m.placements("w", &[4, 4]).unwrap().to_string(), "[Replicate(), Shard(1)]");
    /// assert!(m.placements("w", &[]).is_err());
    /// ```
    pub fn placements(&self, name: &str, shape: &[u64]) -> Result<Placements> {
        match &self.how {
            How::Mesh { mesh, rules } => rules.find(name)?.normalized(mesh, shape.len()),
            How::Even(mode) => {
                let dim = if *mode == ShardMode::Columns && shape.len() >= 2 {
                    1
                } else {
                    0
                };
                Placements::new(vec![Placement::Shard(dim)])
            }
        }
    }

    /// The shard's shape and the element ranges of the whole tensor it
    /// holds, in the order they are stored (compactly, one after another),
    /// for an even split, which needs no tensor name.
    ///
    /// Errors: [`Error::InvalidShard`] when `world` does not divide the
    /// sharded dimension, or for a mesh shard (its placements are per
    /// tensor: use [`Shard::tensor_runs`]); the shape errors of [`numel`].
    ///
    /// ```
    /// use weight_init::model::{Shard, ShardMode};
    /// let s = Shard::new(2, 1, ShardMode::Rows).unwrap();
    /// assert_eq!(s.runs(&[4, 3]).unwrap(), (vec![2, 3], vec![6..12]));
    /// assert!(s.runs(&[5, 3]).is_err()); // 5 rows do not split in 2
    /// ```
    pub fn runs(&self, shape: &[u64]) -> Result<(Vec<u64>, Vec<Range<u64>>)> {
        match &self.how {
            How::Even(mode) => self.even_runs(*mode, shape),
            How::Mesh { .. } => Err(Error::InvalidShard {
                reason: "a mesh shard places each tensor by its name: use Shard::tensor_runs"
                    .into(),
            }),
        }
    }

    /// The shard's shape and element runs ([`Shard::runs`]) of the tensor
    /// `name` of `shape`: for a mesh shard, by its placements
    /// ([`Shard::placements`], [`super::local_runs`]); an empty part has a
    /// 0 in its shape and no runs.
    ///
    /// ```
    /// use weight_init::model::{PlacementRules, Shard};
    /// let rules = PlacementRules::parse(["*=S(0)"]).unwrap();
    /// let last = Shard::mesh("4".parse().unwrap(), 3, rules).unwrap();
    /// // torch.chunk of 5 in 4: 2, 2, 1 and nothing for rank 3.
    /// assert_eq!(last.tensor_runs("b", &[5]).unwrap(), (vec![0], vec![]));
    /// ```
    pub fn tensor_runs(&self, name: &str, shape: &[u64]) -> Result<(Vec<u64>, Vec<Range<u64>>)> {
        match &self.how {
            How::Even(mode) => self.even_runs(*mode, shape),
            How::Mesh { mesh, rules } => local_runs(shape, mesh, self.rank, rules.find(name)?),
        }
    }

    // A list of runs that may hold one run, not a range to collect.
    #[allow(clippy::single_range_in_vec_init)]
    fn even_runs(&self, mode: ShardMode, shape: &[u64]) -> Result<(Vec<u64>, Vec<Range<u64>>)> {
        let n = numel(shape)?;
        if self.world == 1 {
            return Ok((shape.to_vec(), vec![0..n]));
        }
        let shape: Vec<u64> = if shape.is_empty() {
            vec![1]
        } else {
            shape.to_vec()
        };
        let dim = if mode == ShardMode::Columns && shape.len() >= 2 {
            1
        } else {
            0
        };
        let (w, d) = (self.world, shape[dim]);
        if !d.is_multiple_of(w) {
            return Err(Error::InvalidShard {
                reason: format!(
                    "world size {w} does not divide dimension {dim} (= {d}) of shape \
                     {shape:?} ({mode} sharding needs even shards)"
                ),
            });
        }
        let mesh = DeviceMesh::unchecked(vec![w]);
        let placements = Placements::new(vec![Placement::Shard(dim as i64)])?;
        local_runs(&shape, &mesh, self.rank, &placements)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.how {
            How::Even(mode) => write!(f, "{mode} {}/{}", self.rank, self.world),
            How::Mesh { mesh, .. } => {
                let coord: Vec<String> = self.coordinate().iter().map(u64::to_string).collect();
                write!(f, "mesh {mesh} rank {} ({})", self.rank, coord.join(", "))
            }
        }
    }
}
