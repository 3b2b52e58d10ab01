#!/usr/bin/env bash
# The fill kernels' cost in figures that do not depend on machine load:
#  1. x86 instructions executed per element on a CPU Vulkan adapter (Mesa
#     lavapipe; WGPU_BACKEND=gl for llvmpipe), counted by valgrind's
#     callgrind, JIT-compiled shader code included: for each kernel and
#     dtype, (Ir(REPEATS_HI fills) - Ir(REPEATS_LO fills)) / (elements of
#     the extra fills), so process setup, device and buffer creation and
#     shader compilation cancel;
#  2. the static SPIR-V instruction count naga emits per module.
#
# Usage: scripts/kernel_instructions.sh [NUMEL]   (default 1048576)
# Env:   KI_BIN (default target/release/examples/kernel_instructions, built
#        here when absent), KERNELS, DTYPES (space-separated lists).
# Output: "kernel dtype instructions_per_element", then the SPIR-V table.
set -euo pipefail
cd "$(dirname "$0")/.."
numel=${1:-1048576}
bin=${KI_BIN:-target/release/examples/kernel_instructions}
if [[ ! -x $bin ]]; then
    cargo build --release --example kernel_instructions >&2
fi
kernels=${KERNELS:-uniform normal trunc_normal constant}
dtypes=${DTYPES:-f32 bf16}
lo=1
hi=3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# lavapipe runs the shader on its own threads; callgrind counts every
# thread, and one worker keeps the count from depending on the split.
export LP_NUM_THREADS=${LP_NUM_THREADS:-1}
ir() {
    # Total Ir of one run; --smc-check=all so JIT code is re-read when the
    # driver writes it.
    valgrind --tool=callgrind --smc-check=all --callgrind-out-file="$tmp/out" \
        "$bin" fill "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
    sed -n 's/^==[0-9]*== Collected : //p' "$tmp/err"
}
min() { if (($1 < $2)); then echo "$1"; else echo "$2"; fi; }
printf '%-14s %-5s %s\n' kernel dtype instructions_per_element
for k in $kernels; do
    for d in $dtypes; do
        # Compiling a pipeline only adds instructions, and the driver's
        # shader cache may miss in any run (an unmeasured warm-up run can
        # exit before its cache write lands), so each count is the smaller
        # of two runs.
        "$bin" fill "$k" "$d" 1024 1 >/dev/null 2>&1
        a=$(ir "$k" "$d" "$numel" "$lo")
        b=$(ir "$k" "$d" "$numel" "$hi")
        a=$(min "$a" "$(ir "$k" "$d" "$numel" "$lo")")
        b=$(min "$b" "$(ir "$k" "$d" "$numel" "$hi")")
        printf '%-14s %-5s %s\n' "$k" "$d" \
            "$(python3 -c "print(f'{($b - $a) / (($hi - $lo) * $numel):.2f}')")"
    done
done
echo
echo "static SPIR-V instructions per module (naga, emulated mulhilo)"
"$bin" spirv
