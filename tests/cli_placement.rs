//! `weight-init init --mesh ... --rank ... --placement ...` (issue 17):
//! each rank's file holds the library's slice of every tensor (the CPU and
//! the GPU write the same bytes), its metadata records the mesh, the rank,
//! its coordinate and each tensor's placement and global shape; bad specs
//! are one line on stderr, a non-zero exit and no file.

use std::path::Path;
use std::process::Output;

use weight_init::model::{DeviceMesh, ModelSpec, PlacementRules, Shard};

mod common;
use common::{bin, temp_dir};

const SPEC: &str = r#"{
  "seed": 17,
  "params": [
    {"name": "embed.weight", "shape": [11, 6], "init": "normal(0, 0.02)"},
    {"name": "qkv.weight", "shape": [9, 6], "init": "orthogonal"},
    {"name": "qkv.bias", "shape": [9], "dtype": "bf16", "init": "uniform(-0.1, 0.1)"},
    {"name": "norm.weight", "shape": [6], "dtype": "f16", "init": "ones"}
  ]
}"#;

const RULES: [&str; 3] = [
    "*.bias=[Replicate, Shard(0)]",
    "norm.*=[R, R]",
    "*=[Shard(0), Shard(-1)]",
];

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

/// `init --spec SPEC --out OUT --device DEVICE --mesh 2x4 --rank RANK` and
/// every rule as `--placement`.
fn init_rank(spec: &Path, out: &Path, device: &str, rank: u64) -> Output {
    let rank = rank.to_string();
    let mut args = vec![
        "init",
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--device",
        device,
        "--mesh",
        "2x4",
        "--rank",
        &rank,
    ];
    for r in RULES {
        args.extend(["--placement", r]);
    }
    run(&args)
}

#[test]
fn every_rank_file_is_the_library_slice_with_its_placement() {
    let dir = temp_dir("cli-placement");
    let spec_path = dir.join("model.json");
    std::fs::write(&spec_path, SPEC).unwrap();
    let spec = ModelSpec::from_json(SPEC, "spec").unwrap();
    let set = spec.param_set().unwrap();
    let r = set.resolve(&spec.rules(&set).unwrap()).unwrap();
    let rules = PlacementRules::parse(RULES).unwrap();
    for rank in 0..8u64 {
        let mut files = Vec::new();
        for device in ["cpu", "gpu"] {
            let out = dir.join(format!("{device}-{rank}.safetensors"));
            let o = init_rank(&spec_path, &out, device, rank);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let said = String::from_utf8_lossy(&o.stdout);
            assert!(said.contains("shard mesh 2x4 rank"), "{said}");
            files.push(std::fs::read(&out).unwrap());
        }
        assert!(
            files[0] == files[1],
            "rank {rank}: the GPU file differs from the CPU's"
        );
        let st = safetensors::SafeTensors::deserialize(&files[0]).unwrap();
        let shard = Shard::mesh(DeviceMesh::new(&[2, 4]).unwrap(), rank, rules.clone()).unwrap();
        for (i, p) in r.params().iter().enumerate() {
            let (shape, bytes) = r.fill_param_cpu(i, 17, Some(&shard)).unwrap();
            let t = st.tensor(&p.name).unwrap();
            let got: Vec<u64> = t.shape().iter().map(|&d| d as u64).collect();
            assert_eq!(
                (got, t.data()),
                (shape, &bytes[..]),
                "rank {rank} {}",
                p.name
            );
        }
        let (_, meta) = safetensors::SafeTensors::read_metadata(&files[0]).unwrap();
        let meta = meta.metadata().clone().unwrap();
        let (row, col) = (rank / 4, rank % 4);
        let want = [
            ("weight_init.mesh", "2x4".to_string()),
            ("weight_init.rank", rank.to_string()),
            ("weight_init.coordinate", format!("[{row}, {col}]")),
            ("weight_init.seed", "17".to_string()),
            (
                "weight_init.placement.embed.weight",
                "[Shard(0), Shard(1)]".into(),
            ),
            (
                "weight_init.placement.qkv.weight",
                "[Shard(0), Shard(1)]".into(),
            ),
            (
                "weight_init.placement.qkv.bias",
                "[Replicate(), Shard(0)]".into(),
            ),
            (
                "weight_init.placement.norm.weight",
                "[Replicate(), Replicate()]".into(),
            ),
            ("weight_init.global_shape.embed.weight", "[11, 6]".into()),
            ("weight_init.global_shape.qkv.bias", "[9]".into()),
            ("weight_init.global_shape.norm.weight", "[6]".into()),
        ];
        for (k, v) in want {
            assert_eq!(meta.get(k), Some(&v), "rank {rank}: {k}");
        }
        // embed.weight [11, 6]: rows chunked 6 | 5, then columns 2 | 2 | 2 | 0.
        let embed = st.tensor("embed.weight").unwrap();
        let rows = if row == 0 { 6 } else { 5 };
        let cols = if col < 3 { 2 } else { 0 };
        assert_eq!(embed.shape(), &[rows, cols], "rank {rank}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_placement_specs_are_one_line_and_write_nothing() {
    let dir = temp_dir("cli-placement-bad");
    let spec_path = dir.join("model.json");
    std::fs::write(&spec_path, SPEC).unwrap();
    let out = dir.join("out.safetensors");
    let check = |extra: &[&str], says: &str| {
        let mut args = vec![
            "init",
            "--device",
            "cpu",
            "--spec",
            spec_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let o = run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{extra:?} succeeded");
        assert_eq!(err.trim_end().lines().count(), 1, "{extra:?}: {err}");
        assert!(err.contains(says), "{extra:?}: `{err}` lacks `{says}`");
        assert!(!out.exists(), "{extra:?} wrote a file");
        assert_eq!(common::hidden_temps(&dir), Vec::<String>::new());
    };
    check(
        &["--mesh", "2x0", "--rank", "0", "--placement", "*=[R, R]"],
        "axis of size 0",
    );
    check(
        &["--mesh", "2x2x2", "--rank", "0", "--placement", "*=R"],
        "1 or 2 axes",
    );
    check(
        &["--mesh", "2x4", "--rank", "8", "--placement", "*=[R, R]"],
        "rank 8 is out of range for mesh 2x4",
    );
    check(
        &["--mesh", "2x4", "--rank", "1", "--placement", "*=[S(2), R]"],
        "Shard(2) is out of range for a 2-D tensor",
    );
    check(
        &["--mesh", "2x4", "--rank", "1", "--placement", "*=S(0)"],
        "1 placements [Shard(0)] for the 2-axis mesh 2x4",
    );
    check(
        &[
            "--mesh",
            "2x4",
            "--rank",
            "1",
            "--placement",
            "*.weight=[S(0), R]",
        ],
        "no placement rule matches tensor `qkv.bias`",
    );
    check(
        &[
            "--mesh",
            "2x4",
            "--rank",
            "1",
            "--placement",
            "*=[Partial(), R]",
        ],
        "Partial is a pending reduction",
    );
    check(
        &["--mesh", "2x4", "--rank", "1", "--placement", "*"],
        "PATTERN=PLACEMENTS",
    );
    check(
        &["--mesh", "2x4", "--rank", "1"],
        "--mesh, --rank and --placement go together",
    );
    check(
        &["--placement", "*=R", "--rank", "0"],
        "--mesh, --rank and --placement go together",
    );
    check(
        &["--mesh", "2", "--placement", "*=R"],
        "--mesh, --rank and --placement go together",
    );
    check(
        &[
            "--shard",
            "rows",
            "--world",
            "2",
            "--rank",
            "0",
            "--mesh",
            "2",
            "--placement",
            "*=R",
        ],
        "two ways to shard",
    );
    check(&["--rank", "0"], "--shard, --world and --rank go together");
    std::fs::remove_dir_all(&dir).unwrap();
}
