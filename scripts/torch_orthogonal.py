"""Time torch.nn.init.orthogonal_ on f32 n x n tensors (n = 1024, 2048,
4096), the peer figure for `cargo bench --bench orthogonal` and
`examples/timings.rs orthogonal`: run both on the same machine, in the same
session, and compare medians.

    python3 scripts/torch_orthogonal.py [--threads 2] [--repeats 10] [--busy 3] \
        [--device cpu|cuda|auto] [--json]

`--device` (default cpu) places the tensor; on CUDA each call is timed
between `torch.cuda.synchronize()` calls, so the QR's kernels are inside it.
`--json` prints one JSON object per size instead of text.

`--busy N` starts N busy-loop processes for the duration of the timing (an
oversubscribed machine: 3 busy loops on 2 cores is the issue's case) and
stops them afterwards, also on error or Ctrl-C. To load the Rust bench the
same way, use the shell loop in `benches/orthogonal.rs`'s docs.
"""
import argparse
import multiprocessing
import statistics
import time

import torch


def spin():
    while True:
        pass


p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeats", type=int, default=10)
p.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
p.add_argument("--busy", type=int, default=0, help="busy-loop processes to run meanwhile")
p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu")
p.add_argument("--json", action="store_true")
args = p.parse_args()
device = args.device
if device == "auto":
    device = "cuda" if torch.cuda.is_available() else "cpu"
if device == "cuda" and not torch.cuda.is_available():
    p.error("--device cuda, but torch sees no CUDA device")
cuda = device == "cuda"


def sync():
    if cuda:
        torch.cuda.synchronize()


torch.set_num_threads(args.threads)
busy = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
try:
    for b in busy:
        b.start()
    where = torch.cuda.get_device_name() if cuda else f"cpu, {args.threads} threads"
    if not args.json:
        print(
            f"torch {torch.__version__} on {where}, {args.repeats} repeats,"
            f" {args.busy} busy loops"
        )
    for n in args.sizes:
        t = torch.empty(n, n, dtype=torch.float32, device=device)
        torch.nn.init.orthogonal_(t)  # warm-up
        sync()
        times = []
        for _ in range(args.repeats):
            sync()
            s = time.perf_counter()
            torch.nn.init.orthogonal_(t)
            sync()
            times.append(time.perf_counter() - s)
        if args.json:
            import json

            print(json.dumps({
                "part": "orthogonal", "case": "torch orthogonal_", "backend": f"torch {device}",
                "device": where, "torch": torch.__version__, "n": n, "dtype": "f32",
                "repeats": args.repeats, "busy": args.busy,
                "median_seconds": statistics.median(times),
            }), flush=True)
            continue
        print(
            f"orthogonal_ {n}x{n}: median {statistics.median(times):.3f} s"
            f"  min {min(times):.3f} s  max {max(times):.3f} s"
        )
finally:
    for b in busy:
        b.terminate()
    for b in busy:
        b.join()
