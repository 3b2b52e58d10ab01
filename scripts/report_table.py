"""The tables of scripts/device_report.sh, from its report.jsonl.

    python3 scripts/report_table.py OUTDIR/report.jsonl > OUTDIR/report.md

Every figure is copied from a JSON line of the same run (no figure is
computed here but ratios of two of them). GB/s are 10^9 bytes per second.
"""
import json
import sys
from collections import defaultdict

# compare_torch.py's case labels -> weight-init's canonical scheme text (the
# `scheme` of `bench --json` rows), for the side-by-side rows.
TORCH_TO_WI = {
    "uniform(-1, 1)": "uniform(low=-1, high=1)",
    "normal(0, 1)": "normal(mean=0, std=1)",
    "trunc_normal(std=0.02, a=-0.04, b=0.04)": "trunc_normal(mean=0, std=0.02, a=-0.04, b=0.04)",
    "kaiming_uniform(relu)": "kaiming_uniform(a=0, mode=fan_in, nonlinearity=relu)",
}


def g(x, digits=3):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def pct(x):
    return "-" if x is None else f"{100 * x:.3g}%"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(g(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    by_step = defaultdict(list)
    for r in rows:
        by_step[r.get("step")].append(r)
    print("# weight-init device report\n")

    status = [r for r in rows if "status" in r and "seconds" in r]
    print("## Steps\n")
    print(table(["step", "exit", "seconds"], [[r["step"], r["status"], r["seconds"]] for r in status]))
    adapters = [r["text"] for r in by_step["devices"] if "text" in r]
    if adapters:
        print("\n`weight-init devices`:\n\n```\n" + "\n".join(adapters) + "\n```")

    bench = [r for r in by_step["bench"] if "gbps" in r]
    base = {(r["backend"], r["scheme"][len("baseline:"):]): r
            for r in bench if r["scheme"].startswith("baseline:")}
    torch_rows = {(TORCH_TO_WI.get(r["scheme"], r["scheme"]), r["dtype"]): r
                  for r in by_step["torch_fill"] if "torch_gbps" in r}
    if bench:
        size = bench[0]["bytes"]
        print(f"\n## Fills, {size} bytes each (`weight-init bench --json`)\n")
        print("Baselines, same buffer / same bytes:\n")
        print(table(["backend", "baseline", "GB/s"],
                    [[b, n, r["gbps"]] for (b, n), r in sorted(base.items())]))
        const_gpu = base.get(("gpu", "constant"), {}).get("gbps")
        print()
        head = ["scheme", "dtype", "GPU GB/s", "of GPU write bw", "of constant kernel",
                "CPU GB/s", "of host write bw", "torch GB/s", "torch device", "ours/torch"]
        out = []
        for r in bench:
            if r["scheme"].startswith("baseline:") or r["backend"] != "gpu":
                continue
            cpu = next((c for c in bench if c["backend"] == "cpu" and c["scheme"] == r["scheme"]
                        and c["dtype"] == r["dtype"]), {})
            t = torch_rows.get((r["scheme"], r["dtype"]), {})
            cuda = "cuda" in t.get("torch_device", "").lower() or "nvidia" in t.get(
                "torch_device", "").lower()
            mine = r["gbps"] if cuda or not t else cpu.get("gbps")
            out.append([r["scheme"], r["dtype"], r["gbps"], pct(r.get("fraction_of_write_bandwidth")),
                        pct(ratio(r["gbps"], const_gpu)), cpu.get("gbps"),
                        pct(cpu.get("fraction_of_write_bandwidth")), t.get("torch_gbps"),
                        t.get("torch_device"), ratio(mine, t.get("torch_gbps"))])
        if not out:  # no adapter: CPU rows only
            for c in bench:
                if c["backend"] == "cpu" and not c["scheme"].startswith("baseline:"):
                    t = torch_rows.get((c["scheme"], c["dtype"]), {})
                    out.append([c["scheme"], c["dtype"], None, None, None, c["gbps"],
                                pct(c.get("fraction_of_write_bandwidth")), t.get("torch_gbps"),
                                t.get("torch_device"), ratio(c["gbps"], t.get("torch_gbps"))])
        print(table(head, out))
        print("\n`ours/torch` compares like with like: our GPU figure where torch ran on CUDA, "
              "our CPU figure where torch ran on the CPU.")

    model = [r for r in by_step["model"] + by_step["torch_model"] if "median_seconds" in r]
    if model:
        m = model[0]
        print(f"\n## Llama-2-7B / {m['scale']}: {m['tensors']} tensors, {m['bytes']} bytes bf16\n")
        ours = next((r for r in model if r.get("case") == "record_gpu_split"), {})
        print(table(["case", "backend", "median s", "GB/s", "vs ours"],
                    [[r["case"], r.get("device") or r.get("adapter") or r["backend"],
                      r["median_seconds"], r["gbps"],
                      ratio(r["median_seconds"], ours.get("median_seconds"))] for r in model]))

    ortho = [r for r in by_step["orthogonal"] + by_step["torch_orthogonal"] if "median_seconds" in r]
    if ortho:
        print("\n## Orthogonal, n x n f32, end to end\n")
        ours = next((r for r in ortho if r.get("case") == "fill_structured"), {})
        print(table(["case", "device", "n", "median s", "vs ours"],
                    [[r["case"], r.get("device") or r.get("adapter") or r["backend"], r["n"],
                      r["median_seconds"], ratio(r["median_seconds"], ours.get("median_seconds"))]
                     for r in ortho]))

    diag = [r for r in by_step["diagnose"] if "act_std" in r]
    if diag:
        last = {}
        for r in diag:
            last[r["scheme"]] = r
        w = diag[0]
        secs = next((r["seconds"] for r in status if r["step"] == "diagnose"), None)
        print(f"\n## diagnose: width {w['width']}, depth {w['depth']}, batch {w['batch']}, "
              f"{w['activation']} ({g(secs)} s for the step)\n")
        print(table(["scheme", "last layer act std", "grad std into layer 1"],
                    [[s, r["act_std"], next((x.get("grad_std") for x in diag
                                              if x["scheme"] == s and x["layer"] == 1), None)]
                     for s, r in last.items()]))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: report_table.py REPORT.jsonl")
    main(sys.argv[1])
