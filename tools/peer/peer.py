#!/usr/bin/env python3
"""llama.cpp and dllm-bench side by side on the same weights (docs/peer.md). Run through
tools/peer-llamacpp, which fetches and builds llama.cpp and passes --cache, --llama-bench and --sdist.

For each dtype: a preset's seeded random weights as an HF folder (build/bin/dllm_write_checkpoint)
and as a GGUF holding the same bits (qwen3_gguf.py, checked tensor by tensor). Then --rounds
interleaved rounds (the engine that goes first alternates), each engine with --threads threads at
batch 1, each measurement --repetitions times, the median kept:
  - llama.cpp: llama-bench -p 16,64 -n N: a pass of T prompt tokens from an empty cache (logits of the
    last only) and AR decode of N tokens;
  - dllm-bench: stepcost --context 0 --logits last --sizes 16,64 (the same passes) and generate
    --max-new-tokens N, greedy (AR decode, tokens/s after the first token).
The record (schema dllm-bench/peer, reports/peer.schema.json) holds every round's figure; `dllm-bench
report` renders it as the "peer" section, alone or beside a benchmark report (--report).
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qwen3_gguf  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The /proc/cpuinfo flags the kernels of either engine may use.
SIMD_FLAGS = ["avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
              "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"]


# llama-bench's flash_attn field.
FLASH_ATTN = {-1: "auto", 0: "off", 1: "on"}


class Error(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def run(cmd, threads=None, what=None):
    """stdout of cmd (a list); an Error with its stderr when it fails."""
    env = dict(os.environ)
    if threads is not None:
        env["DLLM_THREADS"] = str(threads)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        tail = "\n".join(p.stderr.strip().splitlines()[-15:])
        raise Error(f"{what or cmd[0]} failed (exit {p.returncode}): {' '.join(cmd)}\n{tail}")
    return p.stdout


def json_of(text, what):
    try:
        return json.loads(text)
    except ValueError as e:
        raise Error(f"{what}: its output is not JSON ({e}): {text[:300]}")


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def host():
    info = {}  # the first processor's /proc/cpuinfo lines
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    present = set(info.get("flags", "").split())
    return {"cpu": info.get("model name") or platform.processor() or "unknown",
            "flags": [x for x in SIMD_FLAGS if x in present], "logical_cpus": os.cpu_count() or 1,
            "kernel": f"{platform.system()} {platform.release()} {platform.machine()}"}


def load_average():
    """The 1-minute load average (0 where /proc/loadavg is missing)."""
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def git_version():
    def git(*args):
        return subprocess.run(["git", "-C", REPO, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout.strip()
    commit = git("rev-parse", "HEAD")
    if not commit:
        return "not a git checkout"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"git {commit[:12]}" + (" (dirty)" if dirty else "")


def weights(a, dtype):
    """The HF folder and the GGUF of one dtype, written when missing, checked to hold the same bits."""
    name = f"{a.shape}-{dtype}-seed{a.seed}"
    hf = os.path.join(a.cache, "models", name)
    gguf_path = os.path.join(a.cache, "models", name + ".gguf")
    st = os.path.join(hf, "model.safetensors")
    if not (os.path.exists(st) and os.path.exists(os.path.join(hf, "config.json"))):
        log(f"== writing {a.shape} random weights (seed {a.seed}, {dtype}) to {hf}")
        run([a.write_checkpoint, a.shape, dtype, str(a.seed), hf], what="dllm_write_checkpoint")
    if not os.path.exists(gguf_path) or os.path.getmtime(gguf_path) < os.path.getmtime(st):
        log(f"== writing the same weights as GGUF: {gguf_path}")
        qwen3_gguf.write_gguf(hf, gguf_path)
    n, nbytes = qwen3_gguf.check_same_bits(hf, gguf_path)
    log(f"   {n} tensors: {nbytes / 1e6:.0f} MB of matrices bit for bit the same in both files, norms f32 in the GGUF")
    return hf, gguf_path


def model_sizes(hf):
    """(parameters, layer parameters, LM head parameters, weight bytes) of an HF Qwen3 folder."""
    config = qwen3_gguf.load_config(hf)
    tensors = qwen3_gguf.read_safetensors(os.path.join(hf, "model.safetensors"))
    params = sum(v.size for _, v in tensors.values())
    layers = sum(v.size for k, (_, v) in tensors.items() if k.startswith(qwen3_gguf.LAYER))
    return params, layers, config["vocab_size"] * config["hidden_size"], sum(v.nbytes for _, v in tensors.values())


def llama_round(a, gguf_path):
    """llama-bench's tokens/s: {"decode": x, T: x for each pass}, each the median of its repetitions."""
    cmd = [a.llama_bench, "-m", gguf_path, "-t", str(a.threads), "-p", ",".join(map(str, a.passes)),
           "-n", str(a.decode_tokens), "-r", str(a.repetitions), "-o", "json", *shlex.split(a.llama_bench_args)]
    tests = json_of(run(cmd, what="llama-bench"), "llama-bench")
    out = {}
    for t in tests:
        rate = statistics.median(t["samples_ts"])
        if t["n_gen"] > 0 and t["n_prompt"] == 0:
            out["decode"] = rate
        elif t["n_prompt"] > 0 and t["n_gen"] == 0:
            out[t["n_prompt"]] = rate
    missing = [k for k in ["decode", *a.passes] if k not in out]
    if missing:
        raise Error(f"llama-bench gave no result for {missing}: {' '.join(cmd)}")
    return out, cmd, tests[0]


def ours_round(a, hf):
    """dllm-bench's tokens/s in the same shape as llama_round's."""
    cmd = [a.dllm_bench, "stepcost", "--model", hf, "--backend", a.backend, "--sizes", ",".join(map(str, a.passes)),
           "--context", "0", "--logits", "last", "--repetitions", str(a.repetitions), "--json"]
    curve = json_of(run(cmd, a.threads, "dllm-bench stepcost"), "dllm-bench stepcost")["curve"]
    out = {c["tokens"]: c["tokens"] / c["seconds"] for c in curve}
    gen = [a.dllm_bench, "generate", "--model", hf, "--backend", a.backend, "--tokens", "1", "--max-new-tokens",
           str(a.decode_tokens), "--json"]
    rates = []
    for _ in range(a.repetitions):
        g = json_of(run(gen, a.threads, "dllm-bench generate"), "dllm-bench generate")
        m = g["metrics"]
        if m["generated_tokens"] < 2:
            raise Error(f"dllm-bench generate stopped after {m['generated_tokens']} token(s) ({g['stop_reason']}): "
                        "no decode rate; try another --seed")
        if m["generated_tokens"] < a.decode_tokens:
            log(f"   note: generate stopped at {m['generated_tokens']} tokens ({g['stop_reason']})")
        rates.append(m["decode_tokens_per_s"])
    out["decode"] = statistics.median(rates)
    return out, [cmd, gen]


def probe(a):
    """This machine's limits and dllm-bench's CPU kernel path, from dllm-bench probe."""
    path = os.path.join(a.cache, "out", "probe.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cmd = [a.dllm_bench, "probe", "--out", path, "--bytes", str(512 << 20), "--repetitions", "3"]
    log("== dllm-bench probe (read bandwidth and peak FLOP/s, with " + str(a.threads) + " threads)")
    log("   " + run(cmd, a.threads, "dllm-bench probe").strip().splitlines()[-1])
    with open(path) as f:
        p = json.load(f)
    return {"read_bandwidth_bytes_per_s": p["read_bandwidth_bytes_per_s"],
            "peak_flops_per_s": p["peak_flops_per_s"]}, p["isa"]


def typed(cmd):
    """A command line as typed from the repository root."""
    return " ".join(os.path.relpath(c, REPO) if os.path.isabs(c) else c for c in cmd)


def write_atomic(path, text):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def table(record):
    rows = [("dtype", "measure", "llama.cpp tok/s", "dllm-bench tok/s", "ratio")]
    for r in record["results"]:
        items = [("AR decode", r["decode"])] + [(f"{p['tokens']}-token pass", p) for p in r["passes"]]
        for name, x in items:
            peer, ours = statistics.median(x["peer_tokens_per_s"]), statistics.median(x["ours_tokens_per_s"])
            rows.append((r["dtype"], name, f"{peer:.1f}", f"{ours:.1f}", f"{ours / peer:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                     for row in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Run it on a quiet machine: the figures are only as steady as the host.")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds, the median kept (default 3)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads of both engines (default nproc)")
    ap.add_argument("--dtypes", default="bf16,f16", help="weight dtypes, of bf16, f16, f32 (default bf16,f16)")
    ap.add_argument("--shape", default="qwen3-0.6b", help="a qwen3 preset of dllm-bench (default qwen3-0.6b)")
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of the random weights, as dllm-bench's --weights-seed (default 0)")
    ap.add_argument("--passes", default="16,64", help="prompt pass sizes T (default 16,64)")
    ap.add_argument("--decode-tokens", type=int, default=128, help="tokens per decode run (default 128)")
    ap.add_argument("--repetitions", type=int, default=3, help="per round and measurement, median kept (default 3)")
    ap.add_argument("--llama-bench-args", default="",
                    help="more llama-bench flags, e.g. '--poll 0' (threads sleep instead of spinning, for a busy "
                         "machine) or '-fa 1'; recorded with the command")
    ap.add_argument("--no-probe", action="store_true", help="skip dllm-bench probe (no fractions of the limits)")
    ap.add_argument("--out", default=os.path.join(REPO, "reports/out/peer.json"), help="the record (JSON)")
    ap.add_argument("--html", default=None, help="its HTML (default: --out with .html)")
    ap.add_argument("--report", action="append", default=[],
                    help="a dllm-bench bench report to render beside it in the HTML (repeatable)")
    ap.add_argument("--cache", default=os.path.join(REPO, ".peer"), help="weights and scratch (default .peer)")
    ap.add_argument("--llama-bench", required=True, help="llama.cpp's llama-bench binary")
    ap.add_argument("--sdist", required=True, help="the llama-cpp-python sdist it was built from")
    ap.add_argument("--dllm-bench", default=os.path.join(REPO, "build/bin/dllm-bench"), help="the dllm-bench binary")
    ap.add_argument("--backend", default="cpu",
                    help="dllm-bench's backend (default cpu; cpu-bf16 rounds linear's inputs to bf16 as llama.cpp does)")
    ap.add_argument("--write-checkpoint", default=os.path.join(REPO, "build/bin/dllm_write_checkpoint"),
                    help="the preset writer (tools/parity/write_checkpoint.cpp)")
    a = ap.parse_args()
    try:
        a.passes = [int(x) for x in a.passes.split(",")]
        dtypes = a.dtypes.split(",")
    except ValueError:
        ap.error(f"--passes must be a list of integers, got {a.passes!r}")
    if any(d not in ("bf16", "f16", "f32") for d in dtypes) or len(set(dtypes)) != len(dtypes):
        ap.error(f"--dtypes must list distinct dtypes of bf16, f16, f32, got {a.dtypes!r}")
    if a.rounds < 1 or a.threads < 1 or a.repetitions < 1 or a.decode_tokens < 2 or min(a.passes) < 1:
        ap.error("--rounds, --threads, --repetitions and every pass size must be at least 1, --decode-tokens 2")
    html = a.html or os.path.splitext(a.out)[0] + ".html"
    try:
        for tool in (a.llama_bench, a.dllm_bench, a.write_checkpoint):
            if not os.access(tool, os.X_OK):
                raise Error(f"{tool}: not an executable (tools/peer-llamacpp builds it)")
        for path in (*a.report, a.sdist):  # before minutes of measuring, not after
            if not os.path.isfile(path):
                raise Error(f"{path}: no such file")
        info = json_of(run([a.dllm_bench, "info", "--model", "preset:" + a.shape, "--json"], what="dllm-bench info"),
                       "dllm-bench info")
        if info["model_type"] != "qwen3":
            raise Error(f"--shape {a.shape} is a {info['model_type']} preset; the GGUF writer knows qwen3 only")
        files = {d: weights(a, d) for d in dtypes}
        load_start = load_max = load_average()
        if load_start >= 0.5:
            log(f"   note: the 1-minute load average is {load_start:.2f} before the run: other processes share the "
                "CPUs and both engines' figures will be noisy (llama.cpp's spinning threads suffer most)")
        limits, isa = probe(a) if not a.no_probe else (None, None)
        params, layer_params, head_params, _ = model_sizes(files[dtypes[0]][0])
        peer = {d: [] for d in dtypes}  # per round: {"decode": tokens/s, T: tokens/s}
        ours = {d: [] for d in dtypes}
        commands = {"peer": {}, "ours": {}}  # engine -> dtype -> what ran, as typed
        for r in range(a.rounds):
            for d in dtypes:
                hf, gguf_path = files[d]
                order = ["llama.cpp", "dllm-bench"] if r % 2 == 0 else ["dllm-bench", "llama.cpp"]
                for engine in order:
                    load_max = max(load_max, load_average())
                    log(f"== round {r + 1}/{a.rounds}, {d}: {engine} (load average {load_average():.2f})")
                    if engine == "llama.cpp":
                        res, cmd, llama_info = llama_round(a, gguf_path)
                        peer[d].append(res)
                        commands["peer"].setdefault(d, [typed(cmd)])
                    else:
                        res, cmds = ours_round(a, hf)
                        ours[d].append(res)
                        commands["ours"].setdefault(d, [f"DLLM_THREADS={a.threads} {typed(c)}" for c in cmds])
                    log("   " + ", ".join(f"{'decode' if k == 'decode' else f'pass {k}'} {v:.1f} tok/s"
                                          for k, v in res.items()))
        results = []
        for d in dtypes:
            def rates(key):
                return {"peer_tokens_per_s": [x[key] for x in peer[d]], "ours_tokens_per_s": [x[key] for x in ours[d]]}
            results.append({"dtype": d, "weight_bytes": model_sizes(files[d][0])[3], "decode": rates("decode"),
                            "passes": [{"tokens": t, **rates(t)} for t in a.passes]})
        record = {
            "schema": "dllm-bench/peer",
            "schema_version": 1,
            "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "host": {**host(), "load_average": {"start": load_start, "max": load_max}},
            "machine_limits": limits,
            "model": {"shape": a.shape, "parameters": params, "layer_parameters": layer_params,
                      "lm_head_parameters": head_params, "weights_seed": a.seed},
            "settings": {"threads": a.threads, "batch": 1, "rounds": a.rounds, "repetitions": a.repetitions,
                         "decode_tokens": a.decode_tokens},
            "peer": {"name": "llama.cpp",
                     "version": f"{llama_info.get('build_commit', 'unknown')}, vendored in "
                                f"{os.path.basename(a.sdist)} (PyPI, sha256 {sha256_of(a.sdist)[:16]})",
                     "build": f"CMake Release, GGML_NATIVE=ON, static; backends {llama_info.get('backends', '?')}, "
                              f"flash attention {FLASH_ATTN.get(llama_info.get('flash_attn'), '?')}, "
                              f"K/V cache {llama_info.get('type_k', '?')}",
                     "commands": [c for d in dtypes for c in commands["peer"][d]]},
            "ours": {"name": "dllm-bench", "version": git_version(),
                     "build": "CMake Release (tools/build)" + (f"; CPU kernel path {isa}" if isa else "") +
                              f"; backend {a.backend}",
                     "commands": [c for d in dtypes for c in commands["ours"][d]]},
            "results": results,
        }
        write_atomic(a.out, json.dumps(record, indent=1) + "\n")
        log(f"\n{table(record)}\n\nratio: dllm-bench / llama.cpp in tokens/s (above 1: dllm-bench is faster)")
        log(f"record: {a.out}")
        log(run([a.dllm_bench, "report", *a.report, a.out, "-o", html], what="dllm-bench report").strip())
    except (Error, qwen3_gguf.Error, OSError) as e:
        print(f"peer-llamacpp: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
