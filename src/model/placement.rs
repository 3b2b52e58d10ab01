//! Placements as distributed engines name them: a device mesh and, per
//! mesh axis, `Shard(dim)` or `Replicate`, in the terms of PyTorch DTensor
//! (`torch.distributed.tensor`) and JAX `NamedSharding`.
//!
//! A rank's part of a tensor is the box that
//! `torch.distributed.tensor._utils.compute_local_shape_and_global_offset`
//! computes (torch 2.x):
//!
//! - the rank's coordinate is its row-major position in the mesh, as in
//!   `DeviceMesh("cuda", torch.arange(a * b).reshape(a, b))`;
//! - mesh axes are applied in order; `Shard(d)` on an axis of size `n`
//!   splits the *current* local extent `e` of dimension `d` as
//!   `torch.chunk` does: chunks of `c = ceil(e / n)`, coordinate `i`
//!   keeps `[min(i·c, e), min((i+1)·c, e))` of it, which may be empty
//!   (`Shard.local_shard_size_and_offset`); uneven sizes need no padding
//!   (FSDP2 shards this way). Two axes that shard the same dimension split
//!   it twice, the second within the first's piece;
//! - `Replicate` keeps the tensor whole along that axis.
//!
//! The rank's values are the elements of that box of the unsharded,
//! row-major tensor: [`local_runs`] lists them as element ranges, which
//! the fills (CPU and GPU, elementwise and structured schemes alike) write
//! compactly, so a rank's tensor is bit for bit the slice of the
//! unsharded init.
//!
//! JAX names the same layouts from the tensor's side: a
//! `NamedSharding(mesh, PartitionSpec(...))` gives, per tensor dimension,
//! the mesh axes that split it. On a mesh with axes `('dp', 'tp')`,
//! `P('dp', 'tp')` is `[Shard(0), Shard(1)]`, `P(None, 'tp')` is
//! `[Replicate(), Shard(1)]`, and `P(('dp', 'tp'))` (dimension 0 split over
//! both, `dp` major) is `[Shard(0), Shard(0)]`. Where the sizes divide
//! evenly the pieces are the same; for uneven sizes this module gives
//! `torch.chunk`'s pieces.
//!
//! # Megatron-style tensor parallelism
//!
//! - **Fused QKV.** Megatron-LM stores the fused query-key-value weight of
//!   a layer as `[heads · 3 · head_dim, hidden]` with each head's q, k and v
//!   rows adjacent (per-head interleaved). `Shard(0)` on a tensor-parallel
//!   axis whose size divides `heads` then gives each rank whole heads, with
//!   their q, k and v, exactly as Megatron's `ColumnParallelLinear` does.
//!   The Hugging Face layout concatenates all of q, then all of k, then all
//!   of v (`[3 · hidden, hidden]`, or separate `q_proj`/`k_proj`/`v_proj`):
//!   one `Shard(0)` over it gives rank 0 only queries, so write such
//!   weights as separate tensors (each with `Shard(0)`), or in the per-head
//!   layout. With grouped-query attention the same holds per key-value
//!   group. Because every element's value depends only on its index in the
//!   unsharded tensor, the values are those of the unsharded tensor in the
//!   layout the file names, whatever the split.
//! - **Vocabulary-parallel embeddings.** `[vocab, hidden]` with `Shard(0)`
//!   on the tensor-parallel axis (and `Shard(1)` for a row-parallel output
//!   projection stored `[hidden, vocab]`). An uneven vocabulary is split as
//!   `torch.chunk` splits it (the last ranks hold fewer rows, possibly
//!   none); Megatron instead pads the vocabulary to a multiple of
//!   `make_vocab_size_divisible_by · tp` rows first. To get Megatron's
//!   shards, give the padded shape (`vocab` rounded up) so every rank holds
//!   `padded / tp` rows; the padding rows are initialized like the others.
//!
//! ```
//! use weight_init::model::{local_runs, DeviceMesh, Placements};
//! let mesh: DeviceMesh = "2x2".parse().unwrap();
//! let p: Placements = "[Shard(0), Shard(1)]".parse().unwrap();
//! // Rank 3 = coordinate (1, 1) of a [5, 3] tensor: rows 3..5, column 2.
//! let (shape, runs) = local_runs(&[5, 3], &mesh, 3, &p).unwrap();
//! assert_eq!(shape, vec![2, 1]);
//! assert_eq!(runs, vec![11..12, 14..15]);
//! ```

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use super::glob_match;
use crate::error::{escape, Error, Result};
use crate::scheme::numel;

/// The largest number of ranks a [`DeviceMesh`] may hold: 2^24, far past
/// any cluster, so that a typo (`2x40000000`) is an error, not a plan.
pub const MAX_MESH_RANKS: u64 = 1 << 24;

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidShard {
        reason: reason.into(),
    }
}

/// A 1-D or 2-D grid of ranks, as `torch.distributed.DeviceMesh` with
/// `mesh = torch.arange(n).reshape(shape)`: rank `r`'s coordinate is its
/// row-major position.
///
/// Text form: `8` or `2x4` (rows × columns).
///
/// ```
/// use weight_init::model::DeviceMesh;
/// let m: DeviceMesh = "2x4".parse().unwrap();
/// assert_eq!((m.shape(), m.size()), (&[2u64, 4][..], 8));
/// assert_eq!(m.coordinate(5).unwrap(), vec![1, 1]);
/// assert_eq!(m.to_string(), "2x4");
/// assert!("0x4".parse::<DeviceMesh>().is_err());
/// assert!("2x2x2".parse::<DeviceMesh>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceMesh {
    shape: Vec<u64>,
}

impl DeviceMesh {
    /// A mesh of the given axis sizes. Errors: no axis or more than two,
    /// an axis of size 0, more than [`MAX_MESH_RANKS`] ranks.
    ///
    /// ```
    /// use weight_init::model::DeviceMesh;
    /// assert_eq!(DeviceMesh::new(&[8]).unwrap().size(), 8);
    /// assert!(DeviceMesh::new(&[]).is_err());
    /// assert!(DeviceMesh::new(&[2, 0]).is_err());
    /// assert!(DeviceMesh::new(&[1 << 20, 1 << 20]).is_err());
    /// ```
    pub fn new(shape: &[u64]) -> Result<Self> {
        if shape.is_empty() || shape.len() > 2 {
            return Err(invalid(format!(
                "a device mesh has 1 or 2 axes (e.g. 8 or 2x4), not {}",
                shape.len()
            )));
        }
        if shape.contains(&0) {
            return Err(invalid(format!("mesh {shape:?} has an axis of size 0")));
        }
        let size = shape
            .iter()
            .try_fold(1u64, |a, &b| a.checked_mul(b))
            .filter(|&n| n <= MAX_MESH_RANKS);
        if size.is_none() {
            return Err(invalid(format!(
                "mesh {shape:?} has more than {MAX_MESH_RANKS} ranks"
            )));
        }
        Ok(Self {
            shape: shape.to_vec(),
        })
    }

    /// A mesh of these sizes without the checks of [`DeviceMesh::new`]:
    /// for the even split of [`super::Shard::new`], whose world size (at
    /// least 1) may be any `u64`.
    pub(crate) fn unchecked(shape: Vec<u64>) -> Self {
        Self { shape }
    }

    /// The axis sizes.
    ///
    /// ```
    /// use weight_init::model::DeviceMesh;
    /// assert_eq!(DeviceMesh::new(&[2, 3]).unwrap().shape(), &[2, 3]);
    /// ```
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// The number of ranks (the product of the axis sizes).
    ///
    /// ```
    /// use weight_init::model::DeviceMesh;
    /// assert_eq!(DeviceMesh::new(&[2, 3]).unwrap().size(), 6);
    /// ```
    pub fn size(&self) -> u64 {
        self.shape.iter().product()
    }

    /// The row-major coordinate of `rank`. Errors: `rank >= size()`.
    ///
    /// ```
    /// use weight_init::model::DeviceMesh;
    /// let m = DeviceMesh::new(&[2, 3]).unwrap();
    /// assert_eq!(m.coordinate(4).unwrap(), vec![1, 1]);
    /// assert!(m.coordinate(6).is_err());
    /// ```
    pub fn coordinate(&self, rank: u64) -> Result<Vec<u64>> {
        if rank >= self.size() {
            return Err(invalid(format!(
                "rank {rank} is out of range for mesh {self} ({} ranks)",
                self.size()
            )));
        }
        let mut rest = rank;
        let mut coord = vec![0; self.shape.len()];
        for (c, &n) in coord.iter_mut().zip(&self.shape).rev() {
            *c = rest % n;
            rest /= n;
        }
        Ok(coord)
    }
}

impl FromStr for DeviceMesh {
    type Err = Error;
    /// `N` or `AxB` (also `A×B`, `A,B`), sizes in decimal.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            invalid(format!(
                "cannot read mesh `{}`: expected N or AxB, e.g. 8 or 2x4",
                escape(s)
            ))
        };
        let sizes = s
            .trim()
            .split(['x', 'X', '×', ','])
            .map(|t| t.trim().parse::<u64>().map_err(|_| bad()))
            .collect::<Result<Vec<_>>>()?;
        Self::new(&sizes)
    }
}

impl fmt::Display for DeviceMesh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.shape.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("x"))
    }
}

/// How a tensor lies along one mesh axis, as DTensor's `Shard(dim)` and
/// `Replicate()` (`torch.distributed.tensor.placement_types`).
///
/// Text forms: `Shard(0)`, `Shard(dim=0)`, `S(0)`, `Shard(-1)` (counted
/// from the end, as PyTorch allows), `Replicate()`, `Replicate`, `R`.
/// `Partial` is refused: an init has no pending reduction.
///
/// ```
/// use weight_init::model::Placement;
/// assert_eq!("S(1)".parse::<Placement>().unwrap(), Placement::Shard(1));
/// assert_eq!("Shard(dim=-1)".parse::<Placement>().unwrap(), Placement::Shard(-1));
/// assert_eq!("R".parse::<Placement>().unwrap(), Placement::Replicate);
/// assert_eq!(Placement::Replicate.to_string(), "Replicate()");
/// assert!("Partial()".parse::<Placement>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// Split tensor dimension `dim` (negative: counted from the end) along
    /// the axis, as `torch.chunk` splits it.
    Shard(i64),
    /// Every rank along the axis holds the whole extent.
    Replicate,
}

impl Placement {
    /// This placement with a negative dimension resolved for a tensor of
    /// `ndim` dimensions. Errors: the dimension is outside `-ndim..ndim`
    /// (a 0-D tensor cannot be sharded).
    ///
    /// ```
    /// use weight_init::model::Placement;
    /// assert_eq!(Placement::Shard(-1).normalized(3).unwrap(), Placement::Shard(2));
    /// assert!(Placement::Shard(3).normalized(3).is_err());
    /// assert_eq!(Placement::Replicate.normalized(0).unwrap(), Placement::Replicate);
    /// ```
    pub fn normalized(self, ndim: usize) -> Result<Self> {
        match self {
            Placement::Replicate => Ok(self),
            Placement::Shard(d) => {
                let n = ndim as i64;
                if d >= n || d < -n {
                    return Err(invalid(format!(
                        "{self} is out of range for a {ndim}-D tensor (dimensions -{ndim}..{ndim})"
                    )));
                }
                Ok(Placement::Shard(if d < 0 { d + n } else { d }))
            }
        }
    }
}

impl FromStr for Placement {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            invalid(format!(
                "cannot read placement `{}`: {why}",
                escape(s.trim())
            ))
        };
        let t = s.trim();
        let (head, arg) = match t.split_once('(') {
            Some((h, rest)) => {
                let inner = rest.strip_suffix(')').ok_or_else(|| bad("missing `)`"))?;
                (h.trim(), Some(inner.trim()))
            }
            None => (t, None),
        };
        match (head, arg) {
            ("Replicate" | "R", None | Some("")) => Ok(Placement::Replicate),
            ("Shard" | "S", Some(a)) => {
                let a = a
                    .strip_prefix("dim")
                    .map_or(a, |r| r.trim_start().strip_prefix('=').unwrap_or(r).trim());
                a.parse::<i64>()
                    .map(Placement::Shard)
                    .map_err(|_| bad("Shard needs an integer dimension, e.g. Shard(0)"))
            }
            ("Partial" | "P", _) => Err(bad(
                "Partial is a pending reduction, not a layout of initial values; use Shard(dim) \
                 or Replicate()",
            )),
            _ => Err(bad("expected Shard(dim), S(dim), Replicate() or R")),
        }
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::Shard(d) => write!(f, "Shard({d})"),
            Placement::Replicate => f.write_str("Replicate()"),
        }
    }
}

/// One [`Placement`] per mesh axis, in axis order, as DTensor's
/// `placements` argument.
///
/// Text forms: `[Shard(0), Replicate()]`, `(S(0), R)`, `S(0),R`, or one
/// placement alone for a 1-D mesh (`Shard(0)`). Displayed as
/// `[Shard(0), Replicate()]`.
///
/// ```
/// use weight_init::model::{Placement, Placements};
/// let p: Placements = "(S(0), R)".parse().unwrap();
/// assert_eq!(p.as_slice(), &[Placement::Shard(0), Placement::Replicate]);
/// assert_eq!(p.to_string(), "[Shard(0), Replicate()]");
/// assert!("[]".parse::<Placements>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Placements(Vec<Placement>);

impl Placements {
    /// Placements from a list, one per mesh axis. Errors: an empty list.
    ///
    /// ```
    /// use weight_init::model::{Placement, Placements};
    /// assert!(Placements::new(vec![Placement::Replicate]).is_ok());
    /// assert!(Placements::new(vec![]).is_err());
    /// ```
    pub fn new(placements: Vec<Placement>) -> Result<Self> {
        if placements.is_empty() {
            return Err(invalid("placements need one entry per mesh axis, not none"));
        }
        Ok(Self(placements))
    }

    /// The placements, mesh axis by mesh axis.
    ///
    /// ```
    /// use weight_init::model::{Placement, Placements};
    /// assert_eq!("R".parse::<Placements>().unwrap().as_slice(), &[Placement::Replicate]);
    /// ```
    pub fn as_slice(&self) -> &[Placement] {
        &self.0
    }

    /// The placements checked against `mesh` and a tensor of `ndim`
    /// dimensions, negative dimensions resolved. Errors: a count other than
    /// the mesh's axes; a dimension out of range.
    ///
    /// ```
    /// use weight_init::model::{DeviceMesh, Placements};
    /// let mesh = DeviceMesh::new(&[2, 4]).unwrap();
    /// let p: Placements = "[S(-1), R]".parse().unwrap();
    /// assert_eq!(p.normalized(&mesh, 2).unwrap().to_string(), "[Shard(1), Replicate()]");
    /// assert!(p.normalized(&mesh, 0).is_err());
    /// assert!("S(0)".parse::<Placements>().unwrap().normalized(&mesh, 2).is_err());
    /// ```
    pub fn normalized(&self, mesh: &DeviceMesh, ndim: usize) -> Result<Self> {
        if self.0.len() != mesh.shape().len() {
            return Err(invalid(format!(
                "{} placements {self} for the {}-axis mesh {mesh}: give one per mesh axis",
                self.0.len(),
                mesh.shape().len()
            )));
        }
        self.0
            .iter()
            .map(|p| p.normalized(ndim))
            .collect::<Result<Vec<_>>>()
            .map(Self)
    }
}

impl FromStr for Placements {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        let inner = match (t.chars().next(), t.chars().last()) {
            (Some('['), Some(']')) | (Some('('), Some(')')) => &t[1..t.len() - 1],
            _ => t,
        };
        // Split on the commas between placements, not inside `Shard(...)`.
        let mut items = Vec::new();
        let (mut depth, mut start) = (0i32, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&inner[start..]);
        // A trailing comma, as in Python's one-element tuple `(Shard(0),)`.
        if items.len() > 1 && items.last().is_some_and(|l| l.trim().is_empty()) {
            items.pop();
        }
        if items.iter().all(|i| i.trim().is_empty()) {
            return Err(invalid(format!(
                "cannot read placements `{}`: expected e.g. [Shard(0), Replicate()]",
                escape(t)
            )));
        }
        Self::new(items.iter().map(|i| i.parse()).collect::<Result<_>>()?)
    }
}

impl fmt::Display for Placements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(Placement::to_string).collect();
        write!(f, "[{}]", parts.join(", "))
    }
}

/// `PATTERN=PLACEMENTS`: the tensors whose names match the glob
/// ([`glob_match`]) get these placements.
///
/// ```
/// use weight_init::model::PlacementRule;
/// let r: PlacementRule = "*.bias=[Replicate, Shard(0)]".parse().unwrap();
/// assert_eq!(r.pattern(), "*.bias");
/// assert_eq!(r.placements().to_string(), "[Replicate(), Shard(0)]");
/// assert!("*.bias".parse::<PlacementRule>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlacementRule {
    pattern: String,
    placements: Placements,
}

impl PlacementRule {
    /// A rule from its parts.
    ///
    /// ```
    /// use weight_init::model::PlacementRule;
    /// let r = PlacementRule::new("*", "S(0)".parse().unwrap());
    /// assert_eq!(r.to_string(), "*=[Shard(0)]");
    /// ```
    pub fn new(pattern: impl Into<String>, placements: Placements) -> Self {
        Self {
            pattern: pattern.into(),
            placements,
        }
    }

    /// The name glob.
    ///
    /// ```
    /// use weight_init::model::PlacementRule;
    /// assert_eq!("w=R".parse::<PlacementRule>().unwrap().pattern(), "w");
    /// ```
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The placements it gives.
    ///
    /// ```
    /// use weight_init::model::PlacementRule;
    /// assert_eq!("w=R".parse::<PlacementRule>().unwrap().placements().to_string(), "[Replicate()]");
    /// ```
    pub fn placements(&self) -> &Placements {
        &self.placements
    }
}

impl FromStr for PlacementRule {
    type Err = Error;
    /// The first `=` splits, so a pattern cannot contain `=`.
    fn from_str(s: &str) -> Result<Self> {
        let (pattern, placements) = s.split_once('=').ok_or_else(|| {
            invalid(format!(
                "cannot read placement rule `{}`: expected PATTERN=PLACEMENTS, e.g. \
                 `*.bias=[Replicate, Shard(0)]`",
                escape(s)
            ))
        })?;
        Ok(Self::new(pattern.trim(), placements.parse()?))
    }
}

impl fmt::Display for PlacementRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.pattern, self.placements)
    }
}

/// Placement rules in priority order: the first whose pattern matches a
/// tensor's name gives its placements; a tensor no rule matches is an
/// error naming it.
///
/// ```
/// use weight_init::model::PlacementRules;
/// let rules = PlacementRules::parse(["*.bias=R", "*=S(0)"]).unwrap();
/// assert_eq!(rules.find("fc.bias").unwrap().to_string(), "[Replicate()]");
/// assert_eq!(rules.find("fc.weight").unwrap().to_string(), "[Shard(0)]");
/// let only = PlacementRules::parse(["*.weight=S(0)"]).unwrap();
/// assert!(only.find("fc.bias").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlacementRules {
    rules: Vec<PlacementRule>,
}

impl PlacementRules {
    /// Rules from a list. Errors: an empty list (it would match nothing).
    ///
    /// ```
    /// use weight_init::model::{PlacementRule, PlacementRules};
    /// assert!(PlacementRules::new(vec!["*=R".parse::<PlacementRule>().unwrap()]).is_ok());
    /// assert!(PlacementRules::new(vec![]).is_err());
    /// ```
    pub fn new(rules: Vec<PlacementRule>) -> Result<Self> {
        if rules.is_empty() {
            return Err(invalid(
                "no placement rule: give at least one PATTERN=PLACEMENTS, e.g. `*=Shard(0)`",
            ));
        }
        Ok(Self { rules })
    }

    /// Rules parsed from their text forms (`PATTERN=PLACEMENTS` each).
    ///
    /// ```
    /// use weight_init::model::PlacementRules;
    /// assert_eq!(PlacementRules::parse(["*=[S(0), R]"]).unwrap().rules().len(), 1);
    /// assert!(PlacementRules::parse(["*=Diagonal"]).is_err());
    /// ```
    pub fn parse<S: AsRef<str>>(rules: impl IntoIterator<Item = S>) -> Result<Self> {
        Self::new(
            rules
                .into_iter()
                .map(|r| r.as_ref().parse())
                .collect::<Result<_>>()?,
        )
    }

    /// The rules in priority order.
    ///
    /// ```
    /// use weight_init::model::PlacementRules;
    /// let r = PlacementRules::parse(["a=R", "*=S(0)"]).unwrap();
    /// assert_eq!(r.rules()[1].pattern(), "*");
    /// ```
    pub fn rules(&self) -> &[PlacementRule] {
        &self.rules
    }

    /// The placements of the tensor `name`: the first matching rule's.
    /// Errors: no rule matches, naming the tensor.
    ///
    /// ```
    /// use weight_init::model::PlacementRules;
    /// let r = PlacementRules::parse(["*.weight=S(0)"]).unwrap();
    /// assert!(r.find("lm_head.weight").is_ok());
    /// assert!(r.find("lm_head.bias").unwrap_err().to_string().contains("lm_head.bias"));
    /// ```
    pub fn find(&self, name: &str) -> Result<&Placements> {
        self.rules
            .iter()
            .find(|r| glob_match(&r.pattern, name))
            .map(|r| &r.placements)
            .ok_or_else(|| {
                invalid(format!(
                    "no placement rule matches tensor `{}`; add one (e.g. `*=Replicate`)",
                    escape(name)
                ))
            })
    }
}

/// The local shape and global offset of `rank`'s part of a tensor of
/// `global_shape`, as
/// `torch.distributed.tensor._utils.compute_local_shape_and_global_offset`
/// returns them: mesh axes in order, each `Shard(d)` splitting the current
/// extent of `d` as `torch.chunk`. Where a rank's extent of a dimension is
/// empty its offset is that dimension's global size, as PyTorch reports it.
///
/// Errors: `rank` outside the mesh; placements that do not fit the mesh or
/// the tensor ([`Placements::normalized`]).
///
/// ```
/// use weight_init::model::{local_shape_and_offset, DeviceMesh, Placements};
/// let mesh = DeviceMesh::new(&[4]).unwrap();
/// let p: Placements = "S(0)".parse().unwrap();
/// // torch.chunk of 5 rows in 4: 2, 2, 1, 0.
/// let got: Vec<_> = (0..4).map(|r| local_shape_and_offset(&[5, 3], &mesh, r, &p).unwrap()).collect();
/// assert_eq!(got[2], (vec![1, 3], vec![4, 0]));
/// assert_eq!(got[3], (vec![0, 3], vec![5, 0]));
/// ```
pub fn local_shape_and_offset(
    global_shape: &[u64],
    mesh: &DeviceMesh,
    rank: u64,
    placements: &Placements,
) -> Result<(Vec<u64>, Vec<u64>)> {
    let coord = mesh.coordinate(rank)?;
    let placements = placements.normalized(mesh, global_shape.len())?;
    let mut start = vec![0u64; global_shape.len()];
    let mut len = global_shape.to_vec();
    for ((p, &n), &i) in placements.0.iter().zip(mesh.shape()).zip(&coord) {
        if let Placement::Shard(d) = *p {
            let d = d as usize;
            let e = len[d];
            let c = e.div_ceil(n);
            let (a, b) = (c.saturating_mul(i).min(e), c.saturating_mul(i + 1).min(e));
            start[d] += a;
            len[d] = b - a;
        }
    }
    let offset = start
        .iter()
        .zip(&len)
        .zip(global_shape)
        .map(|((&s, &l), &g)| if l == 0 && g > 0 { g } else { s })
        .collect();
    Ok((len, offset))
}

/// `rank`'s part of a tensor of `global_shape`: its local shape
/// ([`local_shape_and_offset`]) and the element ranges of the unsharded
/// row-major tensor it holds, in storage order (each run is a stretch of
/// contiguous elements; a box whose trailing dimensions are whole is one
/// run per leading index). An empty part has a 0 in its shape and no
/// runs.
///
/// Errors: those of [`local_shape_and_offset`]; the shape errors of
/// [`numel`]; a run list larger than host memory.
///
/// ```
/// use weight_init::model::{local_runs, DeviceMesh, Placements};
/// let mesh = DeviceMesh::new(&[2]).unwrap();
/// let cols: Placements = "S(1)".parse().unwrap();
/// assert_eq!(local_runs(&[2, 4], &mesh, 1, &cols).unwrap(), (vec![2, 2], vec![2..4, 6..8]));
/// let rows: Placements = "S(0)".parse().unwrap();
/// assert_eq!(local_runs(&[3, 4], &mesh, 1, &rows).unwrap(), (vec![1, 4], vec![8..12]));
/// let none = DeviceMesh::new(&[4]).unwrap();
/// assert_eq!(local_runs(&[3], &none, 3, &rows).unwrap(), (vec![0], vec![]));
/// ```
pub fn local_runs(
    global_shape: &[u64],
    mesh: &DeviceMesh,
    rank: u64,
    placements: &Placements,
) -> Result<(Vec<u64>, Vec<Range<u64>>)> {
    numel(global_shape)?;
    let (len, offset) = local_shape_and_offset(global_shape, mesh, rank, placements)?;
    Ok((len.clone(), box_runs(global_shape, &offset, &len)?))
}

/// The element count of a rank's part of a tensor: 0 where its shape
/// holds a 0 (an empty part of an uneven split), else [`numel`]'s.
pub(crate) fn part_numel(shape: &[u64]) -> Result<u64> {
    if shape.contains(&0) {
        return Ok(0);
    }
    numel(shape)
}

/// The element ranges of the box `offset .. offset + len` of a row-major
/// tensor of `shape`, in row-major order, contiguous stretches merged.
// A list of runs that may hold one run, not a range to collect.
#[allow(clippy::single_range_in_vec_init)]
pub(crate) fn box_runs(shape: &[u64], offset: &[u64], len: &[u64]) -> Result<Vec<Range<u64>>> {
    if len.contains(&0) {
        return Ok(Vec::new());
    }
    let nd = shape.len();
    // The trailing dimensions held whole, and the first partial one before
    // them, make one contiguous run per index of the dimensions before.
    let mut k = nd;
    while k > 0 && len[k - 1] == shape[k - 1] {
        k -= 1;
    }
    let inner: u64 = shape[k.min(nd)..].iter().product();
    if k == 0 {
        return Ok(vec![0..inner]);
    }
    let run = len[k - 1] * inner;
    let outer: u64 = len[..k - 1].iter().product();
    let mut runs = crate::host::try_filled(outer, 0..0, || {
        format!("the element runs of a {len:?} part of shape {shape:?} ({outer} runs)")
    })?;
    // Row-major strides of the whole tensor.
    let mut stride = vec![1u64; nd];
    for d in (0..nd.saturating_sub(1)).rev() {
        stride[d] = stride[d + 1] * shape[d + 1];
    }
    let mut idx = vec![0u64; k - 1];
    for r in runs.iter_mut() {
        let base: u64 = (0..k)
            .map(|d| (offset[d] + idx.get(d).copied().unwrap_or(0)) * stride[d])
            .sum();
        *r = base..base + run;
        for d in (0..k - 1).rev() {
            idx[d] += 1;
            if idx[d] < len[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(runs)
}
