"""Time PyTorch initializing the parameter set of a Llama-2-7B decoder in bf16.

The peer figure for `cargo bench --bench gpu_batch`: the same shapes (32
layers; hidden 4096, MLP 11008, vocab 32000, each divided by --scale, as
WEIGHT_INIT_BENCH_SCALE does there): embed_tokens [vocab, h]; per layer
q/k/v/o [h, h], gate/up [mlp, h], down [h, mlp] with
torch.nn.init.normal_(w, 0, 0.02) and two RMSNorm weights [h] with
torch.nn.init.ones_; the final norm; lm_head [vocab, h]. Tensors are
allocated once (torch.empty); only the init calls are timed, on CUDA (with
synchronize) where available, else on the CPU. Prints the median of
--repeats runs and GB/s.

    python3 scripts/torch_model_init.py [--scale 16] [--repeats 7] [--threads 2] [--json]
"""
import argparse
import statistics
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--scale", type=int, default=16)
p.add_argument("--repeats", type=int, default=7)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
p.add_argument("--json", action="store_true", help="one JSON object on stdout instead of text")
args = p.parse_args()
torch.set_num_threads(args.threads)
k = args.scale
h, mlp, vocab = 4096 // k, 11008 // k, 32000 // k

shapes = [("model.embed_tokens.weight", (vocab, h))]
for layer in range(32):
    pre = f"model.layers.{layer}"
    for m in ["q_proj", "k_proj", "v_proj", "o_proj"]:
        shapes.append((f"{pre}.self_attn.{m}.weight", (h, h)))
    shapes.append((f"{pre}.mlp.gate_proj.weight", (mlp, h)))
    shapes.append((f"{pre}.mlp.up_proj.weight", (mlp, h)))
    shapes.append((f"{pre}.mlp.down_proj.weight", (h, mlp)))
    shapes.append((f"{pre}.input_layernorm.weight", (h,)))
    shapes.append((f"{pre}.post_attention_layernorm.weight", (h,)))
shapes.append(("model.norm.weight", (h,)))
shapes.append(("lm_head.weight", (vocab, h)))

dev = torch.device(args.device)
params = [torch.empty(s, dtype=torch.bfloat16, device=dev) for _, s in shapes]
nbytes = sum(t.numel() * t.element_size() for t in params)


def init():
    with torch.no_grad():
        for t in params:
            if t.dim() == 1:
                torch.nn.init.ones_(t)
            else:
                torch.nn.init.normal_(t, 0.0, 0.02)
    if dev.type == "cuda":
        torch.cuda.synchronize()


init()
times = []
for _ in range(args.repeats):
    s = time.perf_counter()
    init()
    times.append(time.perf_counter() - s)
med = statistics.median(times)
if args.json:
    import json

    where = torch.cuda.get_device_name() if dev.type == "cuda" else f"cpu, {args.threads} threads"
    print(json.dumps({
        "part": "model", "model": "llama-2-7b", "case": "torch normal_/ones_", "scale": k,
        "tensors": len(params), "dtype": "bf16", "bytes": nbytes, "backend": f"torch {dev.type}",
        "torch": torch.__version__, "device": where, "repeats": args.repeats,
        "median_seconds": med, "gbps": nbytes / med / 1e9,
    }))
    raise SystemExit(0)
print(
    f"torch {torch.__version__} on {dev} ({args.threads} threads): Llama-2-7B / {k}, "
    f"{len(params)} tensors, {nbytes / 1e6:.1f} MB bf16"
)
print(f"median {med * 1e3:.1f} ms over {args.repeats} runs, {nbytes / med / 1e9:.3f} GB/s")
