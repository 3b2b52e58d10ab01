//! Placements as PyTorch DTensor names them (issue 17): for every placement
//! of 1-D to 4-D tensors with uneven sizes on the meshes 1, 2, 3, 4, 8 and
//! 1x2, 2x2, 2x3, 2x4, every rank's tensor equals the slice of the
//! unsharded tensor that an independent reference computes from
//! `torch.chunk`'s definition, for elementwise, segmented (LSTM bias) and
//! structured (orthogonal, eye, sparse, dirac) schemes, on
//! the CPU; the ranks' pieces tile each tensor exactly once per replica;
//! on the GPU every placement of the 2x4 mesh on a 3-D and a 4-D tensor
//! gives the CPU's bytes. Also: the errors, empty parts in files, and the
//! text forms.

use weight_init::model::{
    local_runs, local_shape_and_offset, write_safetensors, DeviceMesh, Param, ParamSet, Placement,
    PlacementRule, PlacementRules, Placements, ResolvedSet, Rules, Shard,
};
use weight_init::{DType, Error};

mod common;

const SHAPES: [&[u64]; 5] = [&[7], &[12], &[5, 3], &[3, 5, 2], &[2, 3, 5, 3]];
const MESHES: [&[u64]; 9] = [
    &[1],
    &[2],
    &[3],
    &[4],
    &[8],
    &[1, 2],
    &[2, 2],
    &[2, 3],
    &[2, 4],
];

/// Every placement list for a tensor of `ndim` dimensions on a mesh of
/// `axes` axes: each axis `None` (Replicate) or `Some(d)` (Shard(d)).
fn all_placements(ndim: usize, axes: usize) -> Vec<Vec<Option<usize>>> {
    let one: Vec<Option<usize>> = std::iter::once(None).chain((0..ndim).map(Some)).collect();
    let mut out = vec![vec![]];
    for _ in 0..axes {
        out = out
            .into_iter()
            .flat_map(|p| {
                one.iter().map(move |&o| {
                    let mut q = p.clone();
                    q.push(o);
                    q
                })
            })
            .collect();
    }
    out
}

/// The text form the library parses; every other list writes its last
/// Shard with a negative dimension, so `Shard(-k)` is covered too.
fn text(p: &[Option<usize>], ndim: usize, negative: bool) -> String {
    let parts: Vec<String> = p
        .iter()
        .map(|o| match o {
            None => "Replicate()".to_string(),
            Some(d) if negative => format!("S({})", *d as i64 - ndim as i64),
            Some(d) => format!("Shard({d})"),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// The reference: per dimension, the global indices a rank holds, from
/// `torch.chunk`'s definition (chunks of `ceil(len / n)` taken in order;
/// `torch.chunk` returns fewer than `n` chunks when they run out, and a
/// rank past the last chunk holds nothing), applied mesh axis by mesh axis
/// to the indices the previous axes left.
fn reference_indices(
    shape: &[u64],
    mesh: &[u64],
    coord: &[u64],
    p: &[Option<usize>],
) -> Vec<Vec<u64>> {
    let mut idx: Vec<Vec<u64>> = shape.iter().map(|&d| (0..d).collect()).collect();
    for ((o, &n), &c) in p.iter().zip(mesh).zip(coord) {
        if let Some(d) = *o {
            let list = &idx[d];
            let size = list.len().div_ceil(n as usize);
            let chunks: Vec<&[u64]> = if size == 0 {
                vec![]
            } else {
                list.chunks(size).collect()
            };
            idx[d] = chunks.get(c as usize).map_or(vec![], |s| s.to_vec());
        }
    }
    idx
}

/// The flat row-major indices of the cartesian product of `idx`.
fn flat(shape: &[u64], idx: &[Vec<u64>]) -> Vec<u64> {
    let mut out = vec![0u64];
    for (d, list) in idx.iter().enumerate() {
        out = out
            .iter()
            .flat_map(|&base| list.iter().map(move |&i| base * shape[d] + i))
            .collect();
    }
    if idx.iter().any(Vec::is_empty) {
        out.clear();
    }
    out
}

fn coord_of(mesh: &[u64], rank: u64) -> Vec<u64> {
    let mut c = vec![0; mesh.len()];
    let mut r = rank;
    for (ci, &n) in c.iter_mut().zip(mesh).rev() {
        *ci = r % n;
        r /= n;
    }
    c
}

/// The schemes each shape gets: elementwise in two dtypes, the
/// structured schemes its rank allows, and for a gate-stacked bias the
/// segmented LSTM one.
fn schemes(shape: &[u64]) -> Vec<(&'static str, DType)> {
    let ndim = shape.len();
    let mut v = vec![
        ("normal(0, 1)", DType::F32),
        ("uniform(-1, 1)", DType::BF16),
    ];
    if ndim == 1 && shape[0].is_multiple_of(4) {
        v.push(("lstm_forget_bias(forget=1)", DType::F16));
    }
    if ndim >= 2 {
        v.push(("orthogonal", DType::F32));
    }
    if ndim == 2 {
        v.push(("eye", DType::F16));
        v.push(("sparse(0.4)", DType::F32));
    }
    if ndim >= 3 {
        v.push(("dirac", DType::BF16));
    }
    v
}

/// One tensor of a case: its shape, scheme, dtype and placements.
struct Case {
    name: String,
    shape: Vec<u64>,
    dtype: DType,
    placements: Vec<Option<usize>>,
}

/// A set holding a tensor for every (shape, placement, scheme) of a mesh
/// of `axes` axes, and the rules placing each by its exact name.
fn cases(shapes: &[&[u64]], axes: usize) -> (ResolvedSet, PlacementRules, Vec<Case>) {
    let mut params = Vec::new();
    let mut rules = Vec::new();
    let mut out = Vec::new();
    for (si, shape) in shapes.iter().enumerate() {
        for (pi, p) in all_placements(shape.len(), axes).into_iter().enumerate() {
            for (ki, (scheme, dtype)) in schemes(shape).into_iter().enumerate() {
                let name = format!("s{si}.p{pi}.k{ki}.weight");
                params.push(
                    Param::new(name.clone(), shape.to_vec(), dtype)
                        .with_init(scheme.parse().unwrap()),
                );
                let t = text(&p, shape.len(), (pi + ki) % 2 == 1);
                rules.push(format!("{name}={t}").parse::<PlacementRule>().unwrap());
                out.push(Case {
                    name,
                    shape: shape.to_vec(),
                    dtype,
                    placements: p.clone(),
                });
            }
        }
    }
    let set = ParamSet::from_params(params).unwrap();
    let r = set.resolve(&Rules::default()).unwrap();
    (r, PlacementRules::new(rules).unwrap(), out)
}

/// The elements at `indices` of a tensor's bytes.
fn gather(bytes: &[u8], dtype: DType, indices: &[u64]) -> Vec<u8> {
    let es = dtype.size_bytes();
    indices
        .iter()
        .flat_map(|&i| {
            bytes[i as usize * es..(i as usize + 1) * es]
                .iter()
                .copied()
        })
        .collect()
}

#[test]
fn every_placement_is_the_reference_slice_on_the_cpu() {
    let seed = 0x1717;
    let mut bad = Vec::new();
    let mut checked = 0;
    for mesh_shape in MESHES {
        let mesh = DeviceMesh::new(mesh_shape).unwrap();
        let (r, rules, cases) = cases(&SHAPES, mesh_shape.len());
        let whole = r.fill_cpu(seed, None).unwrap();
        // Coverage of every element of every tensor, summed over ranks.
        let mut cover: Vec<Vec<u64>> = cases
            .iter()
            .map(|c| vec![0; c.shape.iter().product::<u64>() as usize])
            .collect();
        for rank in 0..mesh.size() {
            let shard = Shard::mesh(mesh.clone(), rank, rules.clone()).unwrap();
            let got = r.fill_cpu(seed, Some(&shard)).unwrap();
            let layout = r.arena_layout(Some(&shard), 4).unwrap();
            let coord = coord_of(mesh_shape, rank);
            for (i, c) in cases.iter().enumerate() {
                let idx = reference_indices(&c.shape, mesh_shape, &coord, &c.placements);
                let want_shape: Vec<u64> = idx.iter().map(|l| l.len() as u64).collect();
                let want_offset: Vec<u64> = idx
                    .iter()
                    .zip(&c.shape)
                    .map(|(l, &g)| l.first().copied().unwrap_or(g))
                    .collect();
                let flat_idx = flat(&c.shape, &idx);
                let want = gather(&whole[i].1, c.dtype, &flat_idx);
                let what = format!(
                    "mesh {mesh} rank {rank} {} {:?} {:?} ({})",
                    c.name,
                    c.shape,
                    c.placements,
                    r.params()[i].init
                );
                if layout.shapes[i] != want_shape {
                    bad.push(format!(
                        "{what}: shape {:?} != {want_shape:?}",
                        layout.shapes[i]
                    ));
                }
                let pl = shard.placements(&c.name, &c.shape).unwrap();
                let (s, o) = local_shape_and_offset(&c.shape, &mesh, rank, &pl).unwrap();
                if (&s, &o) != (&want_shape, &want_offset) {
                    bad.push(format!(
                        "{what}: local shape/offset {s:?}/{o:?} != {want_shape:?}/{want_offset:?}"
                    ));
                }
                bad.extend(common::bit_difference(&what, c.dtype, &got[i].1, &want));
                let (_, runs) = local_runs(&c.shape, &mesh, rank, &pl).unwrap();
                let from_runs: Vec<u64> = runs.into_iter().flatten().collect();
                if from_runs != flat_idx {
                    bad.push(format!(
                        "{what}: runs give other elements than the reference"
                    ));
                }
                for e in from_runs {
                    cover[i][e as usize] += 1;
                }
                checked += 1;
            }
        }
        for (c, cov) in cases.iter().zip(&cover) {
            // Every element once per replica: once per rank of the
            // replicated axes.
            let replicas: u64 = c
                .placements
                .iter()
                .zip(mesh_shape.iter())
                .filter(|(o, _)| o.is_none())
                .map(|(_, &n)| n)
                .product();
            if let Some(e) = cov.iter().position(|&k| k != replicas) {
                bad.push(format!(
                    "mesh {mesh} {} {:?}: element {e} held {} times, not {replicas}",
                    c.name, c.placements, cov[e]
                ));
            }
        }
    }
    eprintln!("{checked} rank tensors compared with the reference");
    assert!(checked > 5000, "only {checked} comparisons");
    common::assert_no_mismatch(&bad, "rank tensors differ from the reference slice");
}

/// One rank's part of every tensor recorded on the GPU
/// (`common::gpu_arena_fill`): each tensor's bytes, and whether the
/// arena's padding stayed untouched.
fn gpu_fill(r: &ResolvedSet, seed: u64, shard: &Shard) -> (Vec<Vec<u8>>, bool) {
    let (tensors, written) = common::gpu_arena_fill(common::gpu(), r, seed, Some(shard));
    (tensors, written == 0)
}

/// Every placement of every shape on every mesh: each rank's part recorded
/// on the GPU is the CPU's bytes (which the test above holds to the
/// reference slice), with the arena's padding untouched.
#[test]
fn every_placement_is_the_same_on_the_gpu() {
    let seed = 0x1718;
    let mut bad = Vec::new();
    let (mut checked, mut want_checked) = (0, 0);
    for mesh_shape in MESHES {
        let mesh = DeviceMesh::new(mesh_shape).unwrap();
        let (r, rules, cases) = cases(&SHAPES, mesh_shape.len());
        want_checked += mesh.size() as usize * cases.len();
        for rank in 0..mesh.size() {
            let shard = Shard::mesh(mesh.clone(), rank, rules.clone()).unwrap();
            let cpu = r.fill_cpu(seed, Some(&shard)).unwrap();
            let (gpu, clean) = gpu_fill(&r, seed, &shard);
            if !clean {
                bad.push(format!(
                    "mesh {mesh} rank {rank}: padding bytes of the arena were written"
                ));
            }
            for (i, c) in cases.iter().enumerate() {
                let what = format!(
                    "gpu vs cpu mesh {mesh} rank {rank} {} {:?} {:?} ({})",
                    c.name,
                    c.shape,
                    c.placements,
                    r.params()[i].init
                );
                bad.extend(common::bit_difference(&what, c.dtype, &gpu[i], &cpu[i].1));
                checked += 1;
            }
        }
    }
    eprintln!("{checked} GPU rank tensors compared with the CPU");
    assert_eq!(checked, want_checked);
    assert!(checked > 5000, "only {checked} comparisons");
    common::assert_no_mismatch(&bad, "GPU rank tensors differ from the CPU");
}

#[test]
fn empty_parts_are_written_as_empty_tensors() {
    // 5 rows in 4: 2, 2, 1, 0; rank 3 holds none of `w` and a [0, 3]
    // tensor of `o` (orthogonal, structured).
    let set = ParamSet::from_params([
        Param::new("w", vec![5], DType::BF16).with_init("normal(0, 1)".parse().unwrap()),
        Param::new("o", vec![5, 3], DType::F32).with_init("orthogonal".parse().unwrap()),
        Param::new("b", vec![3], DType::F16).with_init("ones".parse().unwrap()),
    ])
    .unwrap();
    let r = set.resolve(&Rules::default()).unwrap();
    let rules = PlacementRules::parse(["b=R", "*=S(0)"]).unwrap();
    let shard = Shard::mesh("4".parse().unwrap(), 3, rules).unwrap();
    let tensors = r.fill_cpu(9, Some(&shard)).unwrap();
    assert!(tensors[0].1.is_empty() && tensors[1].1.is_empty());
    assert_eq!(tensors[2].1.len(), 6);
    let path = common::temp_path("empty-part");
    write_safetensors(&path, &r, 9, Some(&shard)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("w").unwrap().shape(), &[0]);
    assert_eq!(st.tensor("o").unwrap().shape(), &[0, 3]);
    assert!(st.tensor("o").unwrap().data().is_empty());
    assert_eq!(st.tensor("b").unwrap().data(), &tensors[2].1[..]);
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(meta["weight_init.mesh"], "4");
    assert_eq!(meta["weight_init.rank"], "3");
    assert_eq!(meta["weight_init.coordinate"], "[3]");
    assert_eq!(meta["weight_init.placement.o"], "[Shard(0)]");
    assert_eq!(meta["weight_init.placement.b"], "[Replicate()]");
    assert_eq!(meta["weight_init.global_shape.o"], "[5, 3]");
    // The GPU records an empty part as nothing, and the other tensors as
    // the CPU does.
    let (gpu, clean) = gpu_fill(&r, 9, &shard);
    assert!(clean);
    assert_eq!(gpu[0].len() + gpu[1].len(), 0);
    assert_eq!(gpu[2], tensors[2].1);
}

#[test]
fn bad_specs_are_error_values() {
    let set = ParamSet::from_params([
        Param::new("w", vec![4, 4], DType::F32).with_init("zeros".parse().unwrap()),
        Param::new("s", vec![], DType::F32).with_init("ones".parse().unwrap()),
    ])
    .unwrap();
    let r = set.resolve(&Rules::default()).unwrap();
    let mesh = || DeviceMesh::new(&[2, 4]).unwrap();
    let shard = |rules: &[&str]| Shard::mesh(mesh(), 1, PlacementRules::parse(rules).unwrap());
    let layout_err = |rules: &[&str]| r.arena_layout(Some(&shard(rules).unwrap()), 4).unwrap_err();

    // A tensor dimension out of range, named with its tensor.
    let e = layout_err(&["*=[S(2), R]"]);
    assert!(
        matches!(&e, Error::Param { name, .. } if name == "w"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("Shard(2) is out of range for a 2-D tensor"),
        "{e}"
    );
    assert!(layout_err(&["*=[S(-3), R]"])
        .to_string()
        .contains("Shard(-3)"));
    // A 0-D tensor cannot be sharded, only replicated.
    let e = layout_err(&["w=[S(0), S(1)]", "*=[S(0), R]"]);
    assert!(
        matches!(&e, Error::Param { name, .. } if name == "s"),
        "{e}"
    );
    // Replicated, a 0-D tensor is whole on every rank, as unsharded.
    let both = shard(&["w=[S(0), S(1)]", "*=[R, R]"]).unwrap();
    assert!(r.arena_layout(Some(&both), 4).is_ok());
    let part = r.fill_cpu(3, Some(&both)).unwrap();
    assert_eq!(part[1].1, r.fill_cpu(3, None).unwrap()[1].1);
    assert_eq!(part[1].1.len(), 4);
    // One placement per mesh axis.
    let e = layout_err(&["*=S(0)"]);
    assert!(
        e.to_string()
            .contains("1 placements [Shard(0)] for the 2-axis mesh 2x4"),
        "{e}"
    );
    // No rule for a tensor.
    let e = layout_err(&["w=[R, R]"]);
    assert!(
        e.to_string()
            .contains("no placement rule matches tensor `s`"),
        "{e}"
    );
    // The rank and the mesh.
    let rules = PlacementRules::parse(["*=R"]).unwrap();
    assert!(matches!(
        Shard::mesh(mesh(), 8, rules),
        Err(Error::InvalidShard { .. })
    ));
    for bad in [
        "0",
        "2x0",
        "2x2x2",
        "",
        "x4",
        "2x",
        "-2",
        "1x99999999999",
        "2.5",
    ] {
        assert!(bad.parse::<DeviceMesh>().is_err(), "mesh {bad:?}");
    }
    assert!(DeviceMesh::new(&[1 << 12, 1 << 12]).is_ok());
    assert!(DeviceMesh::new(&[1 << 12, (1 << 12) + 1]).is_err());
    // Text forms.
    for bad in [
        "Shard",
        "Shard()",
        "Shard(x)",
        "Partial()",
        "Shard(0",
        "Rep",
        "[S(0),, R]",
        "",
    ] {
        assert!(bad.parse::<Placements>().is_err(), "placements {bad:?}");
    }
    assert!("*".parse::<PlacementRule>().is_err());
    assert!(PlacementRules::parse(Vec::<String>::new()).is_err());
    // The old even split's `runs` needs no name; a mesh shard's does.
    assert!(shard(&["*=[R, R]"]).unwrap().runs(&[4, 4]).is_err());
}

#[test]
fn text_forms_read_as_pytorch_writes_them() {
    use Placement::{Replicate as R, Shard as S};
    for (t, want) in [
        ("[Shard(dim=0), Replicate()]", vec![S(0), R]),
        ("(Shard(dim=1), Shard(dim=0))", vec![S(1), S(0)]),
        ("(Shard(dim=-1),)", vec![S(-1)]),
        ("S(0),R", vec![S(0), R]),
        (" [ R , S( 2 ) ] ", vec![R, S(2)]),
        ("Replicate", vec![R]),
    ] {
        assert_eq!(
            t.parse::<Placements>().unwrap().as_slice(),
            &want[..],
            "{t}"
        );
    }
    let m: DeviceMesh = " 2 x 4 ".parse().unwrap();
    assert_eq!(
        (m.shape(), m.to_string()),
        (&[2u64, 4][..], "2x4".to_string())
    );
    // Row-major coordinates, as torch.arange(8).reshape(2, 4).
    let coords: Vec<Vec<u64>> = (0..8).map(|r| m.coordinate(r).unwrap()).collect();
    assert_eq!(coords[3], vec![0, 3]);
    assert_eq!(coords[4], vec![1, 0]);
}

#[test]
fn the_even_split_is_the_mesh_split_it_names() {
    // ShardMode rows/cols on world w: the mesh [w] with Shard(0)/Shard(1).
    use weight_init::model::ShardMode;
    for (mode, dim) in [(ShardMode::Rows, 0), (ShardMode::Columns, 1)] {
        for world in [1u64, 2, 4] {
            let mesh = DeviceMesh::new(&[world]).unwrap();
            let p = Placements::new(vec![Placement::Shard(dim)]).unwrap();
            for rank in 0..world {
                let even = Shard::new(world, rank, mode).unwrap();
                for shape in [&[8u64, 4, 3][..], &[4, 8]] {
                    assert_eq!(
                        even.runs(shape).unwrap(),
                        local_runs(shape, &mesh, rank, &p).unwrap(),
                        "{mode} {world} {rank} {shape:?}"
                    );
                }
            }
        }
    }
}
