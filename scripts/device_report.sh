#!/usr/bin/env bash
# The GPU report in one command, for a machine with a GPU (and possibly no
# Rust toolchain): every figure the README's GPU section needs, beside
# PyTorch's on the same device, in one run.
#
#   scripts/device_report.sh OUTDIR
#
# Build the binaries beforehand, where Rust is (they are run, not built):
#
#   cargo build --release --bin weight-init --example timings
#
# and carry target/release/weight-init and target/release/examples/timings
# to the GPU machine (or point WI_BIN / WI_TIMINGS at them). wgpu needs a
# Vulkan loader (libvulkan.so.1) there; where `ldconfig -p | grep libvulkan`
# prints nothing, unpack the loader's Debian package first (`dpkg -x
# libvulkan1_*.deb /; ldconfig`). PyTorch is optional: without it the torch
# rows are skipped and the report says so.
#
# What it runs, each step under its own time limit (the whole report is
# meant to take under 8 minutes on one GPU):
#   1. `weight-init devices`: the adapters wgpu finds.
#   2. `weight-init bench --json` for every elementwise scheme in f32, f16
#      and bf16 at WI_SIZE (1GiB), GPU and CPU rows, with the write-bandwidth
#      baselines (clear_buffer and the constant kernel; memset and the CPU
#      constant fill).
#   3. `scripts/compare_torch.py --no-weight-init --json`: torch.nn.init's
#      uniform_/normal_/trunc_normal_/kaiming_uniform_ at the same size, on
#      CUDA when torch sees it.
#   4. `timings model`: Llama-2-7B (WI_MODEL_SCALE 1 = full size, 13.5 GB
#      bf16) through the model API on the GPU, and `scripts/torch_model_init.py`.
#   5. `timings orthogonal`: WI_ORTHO_N (4096) f32 end to end, and
#      `scripts/torch_orthogonal.py` on the same device.
#   6. `weight-init diagnose --json` at width WI_DIAG_WIDTH (4096).
#   7. `scripts/report_table.py`: OUTDIR/report.md from the JSON lines.
#
# OUTDIR gets three files: report.jsonl (every JSON line, each tagged with
# "step"), report.md (the tables) and report.log (every command line, its
# exit status, time and stderr). A failing step is recorded and the report
# goes on; the exit status is non-zero when any step failed.
#
# Small sizes for a machine without a GPU (lavapipe), as CI's test does:
#   WI_SIZE=8MiB WI_MODEL_SCALE=64 WI_ORTHO_N=256 WI_DIAG_WIDTH=128 \
#     WI_DIAG_DEPTH=4 scripts/device_report.sh /tmp/report
set -u -o pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WI_BIN=${WI_BIN:-$ROOT/target/release/weight-init}
WI_TIMINGS=${WI_TIMINGS:-$ROOT/target/release/examples/timings}
PYTHON=${PYTHON:-python3}
SIZE=${WI_SIZE:-1GiB}
MODEL_SCALE=${WI_MODEL_SCALE:-1}
ORTHO_N=${WI_ORTHO_N:-4096}
DIAG_WIDTH=${WI_DIAG_WIDTH:-4096}
DIAG_DEPTH=${WI_DIAG_DEPTH:-50}
REPEATS=${WI_REPEATS:-3}
# Every elementwise scheme the text form names that a [numel / 1024, 1024]
# weight resolves (the bias-only recipes need a 1-D shape and reuse the
# uniform and constant kernels timed here).
SCHEMES=${WI_SCHEMES:-"zeros,ones,constant(0.5),uniform(-1, 1),normal(0, 1),\
trunc_normal(std=0.02, a=-0.04, b=0.04),jax_truncated_normal,xavier_uniform,xavier_normal,\
kaiming_uniform(nonlinearity=relu),kaiming_normal,lecun_uniform,lecun_normal_untruncated,\
variance_scaling(scale=1, mode=fan_in, distribution=truncated_normal),jax_glorot_normal,\
jax_he_normal,jax_lecun_normal,torch_default_weight,gpt2_residual(n_layers=12)"}

for b in "$WI_BIN" "$WI_TIMINGS"; do
    if [ ! -x "$b" ]; then
        echo "$0: $b not found or not executable: build it first with" \
            "\`cargo build --release --bin weight-init --example timings\`" \
            "(or set WI_BIN / WI_TIMINGS)" >&2
        exit 2
    fi
done
mkdir -p "$OUT" || exit 2
JSONL=$OUT/report.jsonl
LOG=$OUT/report.log
: >"$JSONL"
: >"$LOG"
FAILED=0

# step NAME LIMIT_SECONDS COMMAND...: runs COMMAND, tags each JSON line of
# its stdout with "step": NAME into report.jsonl, appends its stderr and
# exit status to report.log.
step() {
    local name=$1 limit=$2
    shift 2
    local start rc tmp
    tmp=$(mktemp)
    start=$(date +%s.%N)
    printf '\n== %s: %s\n' "$name" "$*" >>"$LOG"
    timeout --signal=INT --kill-after=10 "$limit" "$@" >"$tmp" 2>>"$LOG"
    rc=$?
    local secs
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    printf '== %s: exit %s after %s s\n' "$name" "$rc" "$secs" >>"$LOG"
    "$PYTHON" - "$name" "$tmp" "$rc" "$secs" >>"$JSONL" <<'PY'
import json, sys
name, path, rc, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
for line in open(path, errors="replace"):
    line = line.strip()
    if not line:
        continue
    try:
        row = json.loads(line)
    except ValueError:
        row = {"text": line}
    if not isinstance(row, dict):
        row = {"value": row}
    row["step"] = name
    print(json.dumps(row))
print(json.dumps({"step": name, "status": rc, "seconds": secs}))
PY
    rm -f "$tmp"
    if [ "$rc" -ne 0 ]; then
        FAILED=1
        echo "$0: step $name failed (exit $rc); see $LOG" >&2
    fi
}

{
    echo "weight-init device report, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
    if command -v nvidia-smi >/dev/null; then nvidia-smi -L; fi
    if ! ldconfig -p 2>/dev/null | grep -q libvulkan; then
        echo "note: no libvulkan in ldconfig's cache; wgpu may find no Vulkan adapter (see this script's header)"
    fi
} >>"$LOG" 2>&1

HAVE_TORCH=0
if "$PYTHON" -c 'import torch' 2>>"$LOG"; then
    HAVE_TORCH=1
else
    echo "note: PyTorch is not importable by $PYTHON; the torch rows are skipped" | tee -a "$LOG" >&2
    echo '{"step": "torch", "status": "skipped: PyTorch not importable"}' >>"$JSONL"
fi

step devices 60 "$WI_BIN" devices
step bench 240 "$WI_BIN" bench --json --size "$SIZE" --dtype f32,f16,bf16 \
    --repeats "$REPEATS" --scheme "$SCHEMES"
if [ $HAVE_TORCH = 1 ]; then
    step torch_fill 120 "$PYTHON" "$HERE/compare_torch.py" --no-weight-init --json \
        --size "$SIZE" --dtype f32,bf16 --repeats "$REPEATS"
fi
step model 120 "$WI_TIMINGS" model --scale "$MODEL_SCALE" --repeats "$REPEATS"
if [ $HAVE_TORCH = 1 ]; then
    step torch_model 90 "$PYTHON" "$HERE/torch_model_init.py" --scale "$MODEL_SCALE" \
        --repeats "$REPEATS" --threads "$(nproc)" --json
fi
step orthogonal 120 "$WI_TIMINGS" orthogonal --n "$ORTHO_N" --repeats "$REPEATS"
if [ $HAVE_TORCH = 1 ]; then
    step torch_orthogonal 90 "$PYTHON" "$HERE/torch_orthogonal.py" --sizes "$ORTHO_N" \
        --repeats "$REPEATS" --threads "$(nproc)" --device auto --json
fi
step diagnose 120 "$WI_BIN" diagnose --json --width "$DIAG_WIDTH" --depth "$DIAG_DEPTH" \
    --scheme "kaiming_normal(nonlinearity=relu),xavier_normal,orthogonal,normal(std=0.01)"

"$PYTHON" "$HERE/report_table.py" "$JSONL" >"$OUT/report.md" 2>>"$LOG" || FAILED=1
cat "$OUT/report.md"
exit $FAILED
