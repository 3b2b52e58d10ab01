"""weight-init fill throughput beside torch.nn.init's, on tensors of the same size.

Times ``torch.nn.init.uniform_(-1, 1)``, ``normal_(0, 1)``,
``trunc_normal_(std=0.02, a=-0.04, b=0.04)`` and
``kaiming_uniform_(nonlinearity='relu')`` on a ``[numel / 1024, 1024]``
tensor (the shape ``weight-init bench`` resolves schemes for) of ``--size``
bytes in each ``--dtype``, on CUDA when available (else the CPU; force with
``--device``). Each figure is the median of ``--repeats`` timed calls after
one warm-up, with ``torch.cuda.synchronize()`` before and after each call on
CUDA so that the asynchronous kernel is inside the timing.

Unless ``--no-weight-init`` is given it also runs
``weight-init bench --json`` (the binary at ``--weight-init``) on the same
size, dtypes and the matching schemes, and prints both side by side. The
ratio is weight-init's GPU figure over torch's when torch ran on CUDA, and
weight-init's CPU figure over torch's when torch ran on the CPU: the same
kind of device on both sides. GB/s are 10^9 bytes per second.

Run from the repository root, with PyTorch installed (any virtual
environment; it is not a dependency of the crate):

    cargo build --release
    python3 scripts/compare_torch.py [--size 256MiB] [--dtype f32,bf16] \\
        [--repeats 5] [--device auto|cuda|cpu] [--threads N] \\
        [--weight-init target/release/weight-init] [--no-weight-init] [--json]

``--threads N`` sets torch's CPU threads and is passed on to
``weight-init bench --threads N``, so both CPU figures use the same threads.

Sizes take the units ``weight-init`` takes (B, KB, MB, GB, KiB, MiB, GiB);
like ``weight-init bench``, the byte count is rounded down to a multiple of
4 so every dtype holds whole elements.
"""

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

import torch

# (label, weight-init scheme text, torch call on a tensor). The weight-init
# texts are the schemes `weight-init bench` runs by default (minus
# jax_he_normal, which torch.nn.init has no one-call twin of).
CASES = [
    ("uniform(-1, 1)", "uniform(-1, 1)", lambda t: torch.nn.init.uniform_(t, -1.0, 1.0)),
    ("normal(0, 1)", "normal(0, 1)", lambda t: torch.nn.init.normal_(t, 0.0, 1.0)),
    (
        "trunc_normal(std=0.02, a=-0.04, b=0.04)",
        "trunc_normal(std=0.02, a=-0.04, b=0.04)",
        lambda t: torch.nn.init.trunc_normal_(t, std=0.02, a=-0.04, b=0.04),
    ),
    (
        "kaiming_uniform(relu)",
        "kaiming_uniform(nonlinearity=relu)",
        lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="relu"),
    ),
]

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
ELEMENT_BYTES = {"f32": 4, "f16": 2, "bf16": 2}
UNITS = {
    "": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9,
    "kib": 1 << 10, "k": 1 << 10, "mib": 1 << 20, "m": 1 << 20, "gib": 1 << 30, "g": 1 << 30,
}


def parse_size(text):
    """Bytes from e.g. `256MiB`, `8MB`, `4096` (as `weight-init` parses them)."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"`{text}` is not a size (e.g. 256MiB, 8MB, 4096)")
    size = int(float(m.group(1)) * UNITS[m.group(2).lower()])
    if size < 4:
        raise argparse.ArgumentTypeError(f"`{text}`: size must be at least 4 bytes")
    return size


def parse_dtypes(text):
    names = [d.strip().lower() for d in text.split(",") if d.strip()]
    for d in names:
        if d not in DTYPES:
            raise argparse.ArgumentTypeError(f"unknown dtype `{d}` (f32, f16, bf16)")
    return names


def shape_for(numel):
    """`weight-init`'s bench shape: [numel / 1024, 1024], else [numel, 1]."""
    if numel >= 1024 and numel % 1024 == 0:
        return (numel // 1024, 1024)
    return (numel, 1)


def time_torch(fn, tensor, repeats, cuda):
    """Median seconds of `fn(tensor)` over `repeats` calls after one warm-up."""
    fn(tensor)
    times = []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn(tensor)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_weight_init(path, size, dtypes, repeats, seed, threads):
    """`weight-init bench --json` rows for CASES, keyed by (case label, dtype, backend),
    each the row itself (gbps, fraction_of_write_bandwidth, ...), and the adapter name
    (None when it ran on the CPU only)."""
    cmd = [
        path, "bench", "--json", "--size", str(size), "--dtype", ",".join(dtypes),
        "--repeats", str(repeats), "--seed", str(seed),
    ]
    if threads:
        cmd += ["--threads", str(threads)]
    for _, scheme, _ in CASES:
        cmd += ["--scheme", scheme]
    print("running:", shlex.join(cmd), file=sys.stderr)
    # stderr passes through: weight-init's progress bar and any adapter note.
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"weight-init bench failed (exit {done.returncode})")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    # The last line is the run's summary (`"kind": "summary"`), not a row.
    rows = [r for r in rows if r.get("kind", "row") == "row"]
    # Rows come in scheme order; their `scheme` is weight-init's canonical
    # text, so map it back to CASES by first appearance.
    canonical = []
    for r in rows:
        if not r["scheme"].startswith("baseline:") and r["scheme"] not in canonical:
            canonical.append(r["scheme"])
    if len(canonical) != len(CASES):
        sys.exit(f"weight-init returned schemes {canonical}, expected {len(CASES)}")
    label_of = {c: case[0] for c, case in zip(canonical, CASES)}
    table = {}
    adapter = None
    for r in rows:
        if r["backend"] == "gpu":
            adapter = r["adapter"]
        if r["scheme"] in label_of:
            table[(label_of[r["scheme"]], r["dtype"], r["backend"])] = r
    return table, adapter


def fmt(x):
    return "-" if x is None else f"{x:.3g}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=parse_size, default=parse_size("256MiB"),
                   help="bytes per fill (default 256MiB)")
    p.add_argument("--dtype", type=parse_dtypes, default=["f32", "bf16"],
                   help="comma-separated: f32, f16, bf16 (default f32,bf16)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per row (median)")
    p.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto",
                   help="torch's device; auto = cuda when available")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's own choice)")
    p.add_argument("--seed", type=int, default=0x5EED)
    p.add_argument("--weight-init", default=os.path.join("target", "release", "weight-init"),
                   help="path of the weight-init binary")
    p.add_argument("--no-weight-init", action="store_true",
                   help="time torch only")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per row on stdout instead of the table")
    args = p.parse_args()
    if args.repeats < 1:
        p.error("--repeats must be at least 1")

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda, but torch sees no CUDA device")
    cuda = device == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    size = args.size // 4 * 4
    if size != args.size:
        print(f"--size {args.size} is not a multiple of 4; using {size} bytes", file=sys.stderr)

    wi, adapter = {}, None
    if not args.no_weight_init:
        if not os.path.exists(args.weight_init):
            sys.exit(f"{args.weight_init} not found: run `cargo build --release`, "
                     "pass --weight-init PATH, or --no-weight-init")
        wi, adapter = run_weight_init(args.weight_init, size, args.dtype, args.repeats, args.seed,
                                      args.threads)

    where = torch.cuda.get_device_name() if cuda else f"CPU, {torch.get_num_threads()} threads"
    say = (lambda *a, **k: print(*a, file=sys.stderr, **k)) if args.json else print
    say(f"torch {torch.__version__} on {where}; {size} bytes per fill, "
        f"median of {args.repeats} after 1 warm-up")
    if not args.no_weight_init:
        say(f"weight-init GPU: {adapter or 'none (CPU rows only)'}")
    ratio_name = "wi GPU/torch" if cuda else "wi CPU/torch"
    head = (f"{'scheme':40s} {'dtype':5s} {'wi GPU GB/s':>11s} {'wi CPU GB/s':>11s} "
            f"{'CPU of bw':>9s} {'torch GB/s':>10s} {ratio_name:>12s}")
    say(head)
    for dtype in args.dtype:
        numel = size // ELEMENT_BYTES[dtype]
        t = torch.empty(shape_for(numel), dtype=DTYPES[dtype], device=device)
        t.zero_()  # touch every page before timing
        for label, _, fn in CASES:
            seconds = time_torch(fn, t, args.repeats, cuda)
            torch_gbps = size / seconds / 1e9
            gpu_row = wi.get((label, dtype, "gpu"))
            cpu_row = wi.get((label, dtype, "cpu"))
            wi_gpu = gpu_row and gpu_row["gbps"]
            wi_cpu = cpu_row and cpu_row["gbps"]
            cpu_frac = cpu_row and cpu_row.get("fraction_of_write_bandwidth")
            mine = wi_gpu if cuda else wi_cpu
            ratio = None if mine is None else mine / torch_gbps
            if args.json:
                print(json.dumps({
                    "command": "compare_torch", "scheme": label, "dtype": dtype, "bytes": size,
                    "torch": torch.__version__, "torch_device": where,
                    "torch_gbps": torch_gbps, "torch_median_seconds": seconds,
                    "weight_init_adapter": adapter,
                    "weight_init_gpu_gbps": wi_gpu, "weight_init_cpu_gbps": wi_cpu,
                    "weight_init_cpu_fraction_of_write_bandwidth": cpu_frac,
                    "ratio": ratio, "ratio_of": ratio_name,
                }), flush=True)
                continue
            frac = "-" if cpu_frac is None else f"{100 * cpu_frac:.3g}%"
            print(f"{label:40s} {dtype:5s} {fmt(wi_gpu):>11s} {fmt(wi_cpu):>11s} "
                  f"{frac:>9s} {fmt(torch_gbps):>10s} {fmt(ratio) + ('x' if ratio else ''):>12s}",
                  flush=True)
        del t
        if cuda:
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
