"""Time torch.nn.init.orthogonal_ on CPU f32 n x n tensors (n = 1024, 2048,
4096), the peer figure for `cargo bench --bench orthogonal`: run both on the
same machine, in the same session, and compare medians.

    /path/to/venv/bin/python scripts/torch_orthogonal.py [--threads 2] [--repeats 10]

PyTorch lives in a virtual environment outside the repository.
"""
import argparse
import statistics
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeats", type=int, default=10)
p.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
args = p.parse_args()
torch.set_num_threads(args.threads)
print(f"torch {torch.__version__}, {args.threads} threads, {args.repeats} repeats")
for n in args.sizes:
    t = torch.empty(n, n, dtype=torch.float32)
    torch.nn.init.orthogonal_(t)  # warm-up
    times = []
    for _ in range(args.repeats):
        s = time.perf_counter()
        torch.nn.init.orthogonal_(t)
        times.append(time.perf_counter() - s)
    print(
        f"orthogonal_ {n}x{n}: median {statistics.median(times):.3f} s"
        f"  min {min(times):.3f} s  max {max(times):.3f} s"
    )
