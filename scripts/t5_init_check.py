"""Compare weight-init's `t5(...)` preset with transformers' own T5 init.

Builds `T5ForConditionalGeneration(config)` for one small config (its
`_init_weights` runs in the constructor), saves its parameters to a
safetensors file, re-initializes that file with

    weight-init init --from-safetensors T5.safetensors \
        --preset 't5(d_model=.., d_kv=.., d_ff=.., num_heads=.., factor=..)' --device cpu

and prints, per tensor, the std transformers' init gave, the std
weight-init's output has, and the std of the formula in
`T5PreTrainedModel._init_weights` (transformers/models/t5/modeling_t5.py).
A tensor of n elements is flagged when either sample std is more than
4.5 standard errors (sigma / sqrt(2n), the normal's) from the formula;
constants (layer norms) must match exactly. Exit status 1 when any tensor
is flagged or the names differ.

    cargo build --release
    python3 scripts/t5_init_check.py [--bin target/release/weight-init] [--gated]
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import T5Config, T5ForConditionalGeneration

p = argparse.ArgumentParser()
p.add_argument("--bin", default="target/release/weight-init")
p.add_argument("--gated", action="store_true", help="gated-gelu FFN (wi_0, wi_1), as T5 v1.1")
p.add_argument("--factor", type=float, default=1.0)
args = p.parse_args()

cfg = T5Config(
    vocab_size=512,
    d_model=128,
    d_kv=32,
    d_ff=512,
    num_heads=4,
    num_layers=2,
    num_decoder_layers=2,
    relative_attention_num_buckets=32,
    initializer_factor=args.factor,
    feed_forward_proj="gated-gelu" if args.gated else "relu",
    tie_word_embeddings=False,
)
torch.manual_seed(0)
model = T5ForConditionalGeneration(cfg)
theirs = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}

f = cfg.initializer_factor
dm, dkv, dff, h = cfg.d_model, cfg.d_kv, cfg.d_ff, cfg.num_heads


def formula(name):
    leaf = name.split(".")[-2]
    if leaf in ("layer_norm", "final_layer_norm"):
        return ("constant", f)
    if leaf in ("shared", "embed_tokens", "lm_head"):
        return ("normal", f * 1.0)
    if leaf in ("wi", "wi_0", "wi_1", "k", "v", "relative_attention_bias"):
        return ("normal", f * dm**-0.5)
    if leaf == "wo":
        return ("normal", f * dff**-0.5)
    if leaf == "q":
        return ("normal", f * (dm * dkv) ** -0.5)
    if leaf == "o":
        return ("normal", f * (h * dkv) ** -0.5)
    raise SystemExit(f"no formula for {name}")


preset = f"t5(d_model={dm}, d_kv={dkv}, d_ff={dff}, num_heads={h}, factor={f})"
with tempfile.TemporaryDirectory() as tmp:
    src, out = os.path.join(tmp, "t5.safetensors"), os.path.join(tmp, "wi.safetensors")
    save_file(theirs, src)
    cmd = [args.bin, "init", "--from-safetensors", src, "--preset", preset, "--device", "cpu", "--out", out]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    ours = load_file(out)

print(f"transformers {transformers.__version__}, torch {torch.__version__}")
print(f"config: d_model={dm} d_kv={dkv} d_ff={dff} num_heads={h} factor={f} "
      f"ffn={cfg.feed_forward_proj} layers=2+2, untied lm_head")
print(f"preset: {preset}")
tied = [k for k in ("encoder.embed_tokens", "decoder.embed_tokens", "lm_head")
        if getattr(model.get_submodule(k), "weight").data_ptr() == model.shared.weight.data_ptr()]
# The state dict lists tied tensors under every name; weight-init fills each
# name on its own stream, so they are equal in distribution, not in value.
print(f"tied to shared.weight in transformers' model: {', '.join(tied) or 'none'}")
bad = 0
if sorted(theirs) != sorted(ours):
    print("names differ:", sorted(set(theirs) ^ set(ours)))
    bad += 1
print(f"{'tensor':58} {'numel':>7} {'formula':>9} {'transformers':>12} {'weight-init':>11}  ok")
for name in sorted(theirs):
    kind, want = formula(name)
    t, o = theirs[name].double(), ours[name].double()
    n = t.numel()
    if kind == "constant":
        ok = bool((t == want).all() and (o == want).all())
        ts, os_ = t.mean().item(), o.mean().item()
    else:
        se = want / math.sqrt(2 * n)
        ts, os_ = t.std().item(), o.std().item()
        ok = abs(ts - want) < 4.5 * se and abs(os_ - want) < 4.5 * se
    bad += not ok
    label = f"{want:.6f}" if kind == "normal" else f"={want:g}"
    print(f"{name:58} {n:>7} {label:>9} {ts:>12.6f} {os_:>11.6f}  {'yes' if ok else 'NO'}")
print(f"{len(theirs)} tensors, {bad} flagged")
sys.exit(1 if bad else 0)
