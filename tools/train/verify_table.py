#!/usr/bin/env python3
"""Per-category table of `dllm-bench verify` records, in the layout of the model cards.

    tools/train/verify_table.py P3=out/verify-p3.json dense=out/verify-dense.json

Each record is the JSON `dllm-bench verify --prompts datasets/tasks/heldout.jsonl --seeds none
--out FILE` writes (greedy). Per category: greedy AR accuracy (the verify record's answer_correct),
generated tokens, TiDAR forwards including the prefill forward (tokens / the case's
tokens_per_forward), tokens per forward; then the lossless gate counts of each record.
"""
import json
import sys

CATEGORIES = ["copy", "reverse", "upper", "sort", "repeat", "lookup", "add"]


def per_category(record):
    cats = {}
    for c in record["cases"]:
        if c["mode"] != "greedy":
            continue
        cat = c["prompt_id"].rsplit("-", 1)[0]
        n = len(c["tidar_tokens"])
        row = cats.setdefault(cat, {"n": 0, "correct": 0, "tokens": 0, "forwards": 0})
        row["n"] += 1
        row["correct"] += bool(c["answer_correct"])
        row["tokens"] += n
        row["forwards"] += round(n / c["tokens_per_forward"])
    return cats


def main():
    runs = [arg.split("=", 1) for arg in sys.argv[1:]]
    records = {name: json.load(open(path)) for name, path in runs}
    tables = {name: per_category(r) for name, r in records.items()}
    first = tables[runs[0][0]]
    head = "| category | accuracy | tokens |"
    rule = "|---|---:|---:|"
    for name, _ in runs:
        head += f" forwards {name} | tokens/forward {name} |"
        rule += "---:|---:|"
    print(head)
    print(rule)
    order = [c for c in CATEGORIES if c in first] + sorted(set(first) - set(CATEGORIES))
    total = {"n": 0, "correct": 0, "tokens": 0}
    fw_total = {name: 0 for name, _ in runs}
    for cat in order:
        row = first[cat]
        line = f"| {cat} | {row['correct']}/{row['n']} | {row['tokens']} |"
        for name, _ in runs:
            r = tables[name][cat]
            line += f" {r['forwards']} | {r['tokens'] / r['forwards']:.2f} |"
            fw_total[name] += r["forwards"]
        for k in total:
            total[k] += row[k]
        print(line)
    line = (f"| **all** | **{total['correct']}/{total['n']} = {total['correct'] / total['n']:.3f}** "
            f"| {total['tokens']} |")
    for name, _ in runs:
        line += f" {fw_total[name]} | **{total['tokens'] / fw_total[name]:.2f}** |"
    print(line)
    print()
    for name, r in records.items():
        t = r["totals"]
        print(f"{name}: {t['exact_match']}/{t['cases']} exact, {t['near_tie']} near-tie, {t['bug']} bug; "
              f"tokens/forward {t['tokens_per_forward']:.3f}, tokens/step {t['tokens_per_step']:.3f}; "
              f"greedy accuracy {t['greedy_task_accuracy']['all']['accuracy']:.3f}")
        moe = [c["moe"] for c in r["cases"] if "moe" in c]
        if moe:
            fwd = [round(len(c["tidar_tokens"]) / c["tokens_per_forward"]) for c in r["cases"]]
            epl = sum(m["experts_per_layer_per_forward"] * f for m, f in zip(moe, fwd)) / sum(fwd)
            print(f"{name}: distinct experts touched per layer per forward (forward-weighted mean) {epl:.2f}")


if __name__ == "__main__":
    main()
