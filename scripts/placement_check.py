#!/usr/bin/env python3
"""Cross-checks `weight-init init --mesh ... --placement ...` against PyTorch.

For a small model (uneven sizes, 1-D to 4-D, elementwise and structured
schemes) and several meshes and placement rules, writes the unsharded file
and every rank's file with the weight-init binary, then for every tensor
of every rank checks:

- its shape and global offset against
  `torch.distributed.tensor._utils._compute_local_shape_and_global_offset`
  (the plain-data form of `compute_local_shape_and_global_offset`, which
  DTensor uses for checkpoints; it needs no process group);
- its bytes against the unsharded tensor split mesh axis by mesh axis with
  `torch.chunk` (a rank past the last chunk holds an empty tensor), as
  `Shard._split_tensor` does;
- the placement and global shape the file's metadata records.

Usage: scripts/placement_check.py [--bin target/release/weight-init]
Prints one line per mesh and a summary; exits 1 on any mismatch.
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import torch
from torch.distributed.tensor._utils import _compute_local_shape_and_global_offset
from torch.distributed.tensor.placement_types import Replicate, Shard

SPEC = {
    "seed": 2026,
    "params": [
        {"name": "embed.weight", "shape": [11, 6], "init": "normal(0, 0.02)"},
        {"name": "qkv.weight", "shape": [9, 6], "dtype": "bf16", "init": "orthogonal"},
        {"name": "qkv.bias", "shape": [9], "dtype": "bf16", "init": "uniform(-0.1, 0.1)"},
        {"name": "conv.weight", "shape": [5, 3, 3], "init": "dirac"},
        {"name": "conv4.weight", "shape": [2, 3, 5, 3], "dtype": "f16", "init": "normal(0, 1)"},
        {"name": "norm.weight", "shape": [6], "init": "ones"},
    ],
}

# (mesh, rules): each rule PATTERN=PLACEMENTS as `--placement` takes it.
CASES = [
    ("1", ["*=S(0)"]),
    ("3", ["*.bias=R", "*=S(0)"]),
    ("4", ["*=S(-1)"]),
    ("8", ["norm.*=R", "*=S(0)"]),
    ("1x2", ["*=[R, S(0)]"]),
    ("2x2", ["*.bias=[S(0), S(0)]", "norm.*=[R, R]", "*=[S(0), S(1)]"]),
    ("2x3", ["*=[S(-1), S(0)]"]),
    ("2x4", ["*.bias=[Replicate, Shard(0)]", "*=[Shard(0), Shard(0)]"]),
    ("2x4", ["*.bias=[R, R]", "norm.*=[R, S(0)]", "*=[Shard(1), Replicate()]"]),
    ("2x4", ["conv4.*=[S(2), S(3)]", "norm.*=[S(0), S(-1)]", "*.weight=[S(1), S(0)]", "*=[S(0), S(-1)]"]),
]

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    """{name: tensor}, metadata: parsed by hand (8-byte length, JSON header)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n :]
    out = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        buf = bytearray(data[a:b])
        dtype = DTYPES[t["dtype"]]
        if b > a:
            v = torch.frombuffer(buf, dtype=dtype).reshape(t["shape"])
        else:
            v = torch.empty(t["shape"], dtype=dtype)
        out[name] = v
    return out, meta


def parse_placements(text, ndim):
    """The Python placements of weight-init's text form (only its forms)."""
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    out = []
    for item in [i.strip() for i in inner.split(",") if i.strip()]:
        if item.startswith(("R", "Replicate")):
            out.append(Replicate())
        else:
            d = int(item[item.index("(") + 1 : item.index(")")].replace("dim=", ""))
            out.append(Shard(d + ndim if d < 0 else d))
    return out


def glob_match(pattern, name):
    import fnmatch

    # weight-init's globs know only `*` and `?`, which fnmatch reads alike
    # (the patterns here have no `[`).
    return fnmatch.fnmatchcase(name, pattern)


def chunk_slice(full, mesh, coord, placements):
    """The rank's piece: torch.chunk along each Shard's dim, axis by axis."""
    t = full
    for n, c, p in zip(mesh, coord, placements):
        if isinstance(p, Shard):
            chunks = torch.chunk(t, n, dim=p.dim) if t.shape[p.dim] > 0 else ()
            if c < len(chunks):
                t = chunks[c]
            else:
                t = t.narrow(p.dim, 0, 0)
    return t.contiguous()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/weight-init")
    args = ap.parse_args()
    print(f"torch {torch.__version__}")
    bad = 0
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "model.json")
        with open(spec, "w") as f:
            json.dump(SPEC, f)

        def init(out, extra):
            cmd = [args.bin, "init", "--device", "cpu", "--spec", spec, "--out", out] + extra
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed: {r.stderr}")

        whole_path = os.path.join(tmp, "whole.safetensors")
        init(whole_path, [])
        whole, _ = read_safetensors(whole_path)
        for mesh_text, rules in CASES:
            mesh = [int(x) for x in mesh_text.split("x")]
            size = 1
            for n in mesh:
                size *= n
            case_bad = 0
            empty = 0
            for rank in range(size):
                out = os.path.join(tmp, f"r{rank}.safetensors")
                extra = ["--mesh", mesh_text, "--rank", str(rank)]
                for r in rules:
                    extra += ["--placement", r]
                init(out, extra)
                got, meta = read_safetensors(out)
                coord = list(torch.arange(size).reshape(mesh).eq(rank).nonzero()[0].tolist())
                for p in SPEC["params"]:
                    name, shape = p["name"], p["shape"]
                    rule = next(r for r in rules if glob_match(r.split("=", 1)[0], name))
                    placements = parse_placements(rule.split("=", 1)[1], len(shape))
                    lshape, offset = _compute_local_shape_and_global_offset(
                        shape, mesh, coord, placements
                    )
                    want = chunk_slice(whole[name], mesh, coord, placements)
                    t = got[name]
                    recorded = parse_placements(meta[f"weight_init.placement.{name}"], len(shape))
                    problems = []
                    if list(t.shape) != list(lshape):
                        problems.append(f"shape {list(t.shape)} != torch {list(lshape)}")
                    if list(want.shape) != list(lshape):
                        problems.append(f"torch.chunk shape {list(want.shape)} != {list(lshape)}")
                    if t.numel() and t.view(-1).view(torch.uint8).tolist() != want.view(-1).view(torch.uint8).tolist():
                        problems.append("values differ from torch.chunk's slice")
                    if t.numel() and want.numel():
                        # The global offset locates the piece in the whole tensor.
                        piece = whole[name]
                        for d, (o, n) in enumerate(zip(offset, lshape)):
                            piece = piece.narrow(d, o, n)
                        if not torch.equal(piece.contiguous().view(-1).view(torch.uint8), t.view(-1).view(torch.uint8)):
                            problems.append(f"not the piece at torch's offset {offset}")
                    if recorded != placements:
                        problems.append(f"metadata placement {meta[f'weight_init.placement.{name}']}")
                    if meta.get(f"weight_init.global_shape.{name}") != str(shape):
                        problems.append("metadata global shape")
                    if meta.get("weight_init.mesh") != mesh_text or meta.get("weight_init.rank") != str(rank):
                        problems.append("metadata mesh/rank")
                    if t.numel() == 0:
                        empty += 1
                    checked += 1
                    for pr in problems:
                        case_bad += 1
                        print(f"  MISMATCH mesh {mesh_text} rank {rank} {name} {placements}: {pr}")
            bad += case_bad
            print(
                f"mesh {mesh_text:>3} rules {rules}: {size} ranks x {len(SPEC['params'])} tensors, "
                f"{empty} empty pieces, {'ok' if case_bad == 0 else f'{case_bad} MISMATCHES'}"
            )
    print(f"{checked} rank tensors checked against torch: {'all match' if bad == 0 else f'{bad} mismatches'}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
