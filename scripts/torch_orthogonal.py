"""Time torch.nn.init.orthogonal_ on CPU f32 n x n tensors (n = 1024, 2048,
4096), the peer figure for `cargo bench --bench orthogonal`: run both on the
same machine, in the same session, and compare medians.

    python3 scripts/torch_orthogonal.py [--threads 2] [--repeats 10] [--busy 3]

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
args = p.parse_args()
torch.set_num_threads(args.threads)
busy = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
try:
    for b in busy:
        b.start()
    print(
        f"torch {torch.__version__}, {args.threads} threads, {args.repeats} repeats,"
        f" {args.busy} busy loops"
    )
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
finally:
    for b in busy:
        b.terminate()
    for b in busy:
        b.join()
