#!/usr/bin/env python3
"""tools/gpu-check's summary: reads the raw JSON its steps wrote and writes one gpu-check.json, then
prints the table. Each part is read on its own, so a failed or missing step leaves the rest intact.

Usage: gpu-check-summary.py RAW_DIR OUT.json [STEP|RESULT|SECONDS ...]
       gpu-check-summary.py --no-skips GPU_TESTS.json   (exit 1 when a test was skipped)
"""
import glob
import json
import os
import subprocess
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def no_skips(path):
    r = load(path)
    if r is None:
        print(f"{path}: no GoogleTest JSON (the GPU tests did not finish)")
        return 1
    skipped = [f"{s['name']}.{t['name']}" for s in r["testsuites"] for t in s["testsuite"]
               if t.get("result") == "SKIPPED"]
    if skipped:
        print(f"{len(skipped)} GPU tests skipped on a GPU machine (each counts as a failure):", *skipped, sep="\n  ")
        return 1
    return 0


def stepcost_rows(raw):
    rows = []
    for p in sorted(glob.glob(os.path.join(raw, "stepcost-*.json"))):
        r = load(p)
        try:
            by_t = {c["tokens"]: c for c in r["curve"]}
            rows.append({"model": r["model"], "backend": r["backend"], "context": r["context"],
                         "layers": r["layers"], "t1_s": by_t[1]["seconds"], "t68_s": by_t[68]["seconds"],
                         "ratio_17": by_t[17]["ratio_to_t1"], "ratio_68": by_t[68]["ratio_to_t1"],
                         "weight_bytes_per_s_t1": by_t[1]["weight_bytes_per_s"]})
        except (TypeError, KeyError):
            rows.append({"file": os.path.basename(p), "error": "incomplete"})
    return rows


# The attention variant each GPU backend runs for llama3-8b (gpu::pick_attention), by pass size: a
# 68-token pass on gpu and gpu-vendor takes the f32 tiles on matrix units, an AR step (4 query rows a
# kv head) split_balanced; gpu-mma the bf16 tiles at both; gpu-invariant the f32 tiles with fixed key
# chunks at both.
ATTENTION_VARIANT = {68: {"gpu": "tiles-f32", "gpu-vendor": "tiles-f32", "gpu-invariant": "tiles-invariant",
                          "gpu-mma": "tiles"},
                     1: {"gpu": "split-balanced", "gpu-vendor": "split-balanced",
                         "gpu-invariant": "tiles-invariant", "gpu-mma": "tiles"}}


def attention_share(row, kernels, tokens):
    """Layers x the attention kernel's time at (tokens, the step's context) over the step's t(tokens)."""
    backend = row["backend"].removesuffix("-eager")
    cache = " bf16 cache" if backend == "gpu-mma" else ""  # gpu-mma's KV cache (Backend::kv_cache_dtype)
    shape = f"cache={row['context']} Hq=32 Hkv=8 Dh=128{cache}"
    variant = ATTENTION_VARIANT[tokens].get(backend)
    step = row["t1_s"] if tokens == 1 else row["t68_s"]
    for k in kernels:
        if k["kernel"] == "attention" and k["variant"] == variant and k["shape"] == shape and k["tokens"] == tokens:
            return row["layers"] * k["seconds"] / step
    return None


def run_rows(raw):
    rows = []
    for p in sorted(glob.glob(os.path.join(raw, "run-*.json"))):
        r = load(p)
        try:
            m = r["metrics"]
            rows.append({"model": r["model"], "strategy": r["strategy"]["name"], "tokens": len(r["tokens"]),
                         "forwards": m["forwards"], "tokens_per_forward": m["tokens_per_forward"],
                         "decode_tokens_per_s": m["decode_tokens_per_s"], "step_p50_s": m["step_latency_s"]["p50"]})
        except (TypeError, KeyError):
            rows.append({"file": os.path.basename(p), "error": "incomplete"})
    return rows


def summarise(raw, out, steps):
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    rec = {"commit": commit,
           "steps": [dict(zip(("name", "result", "seconds"), s.split("|"))) for s in steps],
           "kernels": load(os.path.join(raw, "kernels.json")),
           "stepcost": stepcost_rows(raw), "runs": run_rows(raw)}
    for r in rec["stepcost"]:
        if "error" not in r and "llama3-8b" in r["model"]:
            for tokens in (1, 68):
                r[f"attention_share_{tokens}"] = attention_share(r, (rec["kernels"] or {}).get("kernels", []), tokens)
    tests = load(os.path.join(raw, "gpu-tests.json"))
    if tests:
        rec["gpu_tests"] = {k: tests.get(k) for k in ("tests", "failures", "disabled", "errors")}
    with open(out, "w") as f:
        json.dump(rec, f, indent=2)

    print("\n== gpu-check summary, commit", commit[:12])
    for s in rec["steps"]:
        print(f"  {s['name']:<28} {s['result']:<28} {s['seconds']:>4} s")
    if rec.get("gpu_tests"):
        print("  gpu tests:", rec["gpu_tests"])
    k = rec["kernels"] or {}
    copy = k.get("copy_gbps", 0) * 1e9
    if k:
        print(f"  measured copy bandwidth {k.get('copy_gbps', 0):.0f} GB/s (datasheet {k.get('spec_gbps', 0):.0f} GB/s)")
        best, vendor = {}, {}
        for r in k.get("kernels", []):  # the fastest own variant of each kernel, shape and T; the vendor's
            key = (r["kernel"], r["shape"], r["tokens"])
            if r["tokens"] not in (1, 17, 68):
                continue
            if r["variant"] == "vendor":
                vendor[key] = r
            elif key not in best or r["seconds"] < best[key]["seconds"]:
                best[key] = r
        for key, r in best.items():
            of_copy = f"{100 * r['gbps'] * 1e9 / copy:5.1f}% of copy" if copy else ""
            v = vendor.get(key)
            # own / vendor: the vendor's time over ours (above 1: ours is faster)
            versus = f"  own/vendor {v['seconds'] / r['seconds']:5.2f} (cuBLASLt {v['seconds'] * 1e6:.1f} us)" if v else ""
            print(f"  {r['kernel']:<9} {r['variant']:<11} {r['shape']:<22} T={r['tokens']:<3} {r['seconds'] * 1e6:9.1f} us "
                  f"{r['gbps']:7.0f} GB/s {r['tflops']:6.2f} TFLOP/s {of_copy}{versus}")
    for r in rec["stepcost"]:
        if "error" in r:
            print(f"  stepcost {r['file']}: {r['error']}")
            continue
        frac = f"{100 * r['weight_bytes_per_s_t1'] / copy:5.1f}% of copy" if copy else ""
        attn = "".join(f"  attention {100 * r[f'attention_share_{t}']:5.1f}% of t({t})" for t in (1, 68)
                       if r.get(f"attention_share_{t}") is not None)
        print(f"  stepcost {os.path.basename(r['model']):<15} {r['backend']:<10} ctx {r['context']:<5} "
              f"t(1) {r['t1_s'] * 1e3:8.3f} ms  t(17)/t(1) {r['ratio_17']:5.2f}  t(68)/t(1) {r['ratio_68']:5.2f}  "
              f"T=1 weights {r['weight_bytes_per_s_t1'] / 1e9:7.0f} GB/s {frac}{attn}")
    for r in rec["runs"]:
        if "error" in r:
            print(f"  run {r['file']}: {r['error']}")
            continue
        print(f"  {os.path.basename(r['model']):<24} {r['strategy']:<6} {r['decode_tokens_per_s']:9.1f} tok/s "
              f"{r['tokens_per_forward']:5.2f} tok/fwd  p50 step {r['step_p50_s'] * 1e3:7.2f} ms")
    if not (k or rec["stepcost"] or rec["runs"]):
        print("  no measurements")
    print("JSON:", out)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--no-skips":
        sys.exit(no_skips(sys.argv[2]))
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    summarise(sys.argv[1], sys.argv[2], sys.argv[3:])
