"""Time torch.nn.init on a CPU tensor of 64 Mi f32 elements, 2 threads.

The peer figure for `cargo bench --bench cpu_fill`: run both on the same
machine, in the same session, and compare medians.

    python3 scripts/torch_cpu_init.py [--threads 2] [--repeats 7]
"""
import argparse
import statistics
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeats", type=int, default=7)
p.add_argument("--elements", type=int, default=64 << 20)
p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
args = p.parse_args()
torch.set_num_threads(args.threads)
dtype = getattr(torch, args.dtype)
t = torch.empty(args.elements, dtype=dtype)
t.fill_(0)
nbytes = t.numel() * t.element_size()
cases = {
    "uniform_": lambda: torch.nn.init.uniform_(t, -1.0, 1.0),
    "normal_": lambda: torch.nn.init.normal_(t, 0.0, 1.0),
    "trunc_normal_(std=0.02,a=-0.04,b=0.04)": lambda: torch.nn.init.trunc_normal_(t, std=0.02, a=-0.04, b=0.04),
}
print(f"torch {torch.__version__}, {args.threads} threads, {args.elements} x {args.dtype}")
for name, fn in cases.items():
    fn()
    times = []
    for _ in range(args.repeats):
        s = time.perf_counter()
        fn()
        times.append(time.perf_counter() - s)
    med = statistics.median(times)
    print(f"{name:40s} median {med*1e3:9.1f} ms  {nbytes/med/1e9:6.3f} GB/s")
