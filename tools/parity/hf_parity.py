#!/usr/bin/env python3
"""Parity with Hugging Face transformers: the logits of `dllm-bench logits` against
AutoModelForCausalLM on the same checkpoint and the same token ids, every prompt position.

    tools/parity/hf_parity.py --model models/tiny-tidar [--model DIR ...] \
        [--dllm-bench build/bin/dllm-bench] [--tokens 256,72,105] [--resave] [--cached]

Both sides compute in float32: the engine upcasts bf16-stored weights to f32, so bf16
checkpoints are loaded into transformers as float32 too (an exact upcast), and the
comparison measures the arithmetic, not the storage. The error is
max |engine - hf| over all positions and the whole vocabulary, reported absolute and
relative to max |hf logit|; a checkpoint passes when the relative error is within the
tolerance of its storage dtype. --resave also writes each model back with transformers'
save_pretrained and runs the engine on that copy: checks that the engine reads
transformers 5's config.json (rope_parameters, dtype, layer_types, ...) and its safetensors.

Exit status: 0 all pass, 1 a failure or an error, 77 torch/transformers not importable
(ctest's SKIP_RETURN_CODE).
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

# Local folders only: never let a typo turn into a Hub download (CI has no network).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
try:
    import numpy as np
    import torch
    import transformers
    from transformers import AutoModelForCausalLM
except ImportError as e:  # reported by main() as a skip, after --help has had its chance
    MISSING = e
else:
    MISSING = None

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# <bos> followed by the bytes of a short sentence: 20 ids, valid for the byte vocabulary (264)
# and for any larger vocabulary.
DEFAULT_TOKENS = [256] + list(b"The quick brown fox")
# Measured worst relative error on the shipped and random tiny models: 1.3e-6 (f32 summation
# order, prompts up to 300 ids). The tolerance leaves 15x headroom yet stays ~10x below the
# smallest real mistake measured: rms_norm_eps 1e-5 instead of 1e-6 gives 1.8e-4 (a wrong
# rope_theta or a dropped bias gives 0.25 to 0.85). bf16 storage gets the same tolerance: after
# the exact upcast both sides run the same f32 computation.
DEFAULT_TOL = 2e-5


def storage_dtype(model_dir):
    """The dtype(s) of the checkpoint's tensors, read from the safetensors headers (no torch)."""
    dtypes = set()
    for name in sorted(os.listdir(model_dir)):
        if not name.endswith(".safetensors"):
            continue
        with open(os.path.join(model_dir, name), "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        dtypes |= {v["dtype"] for k, v in header.items() if k != "__metadata__"}
    return "+".join(sorted(d.lower() for d in dtypes)) or "none"


def engine_logits(exe, model_dir, tokens, tmp, token_by_token=False):
    out = os.path.join(tmp, "logits.npy")
    cmd = [exe, "logits", "--model", model_dir, "--tokens", ",".join(map(str, tokens)), "--out", out]
    cmd += ["--token-by-token"] if token_by_token else []
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({run.returncode}): {run.stderr.strip()}")
    return np.load(out)


def hf_model(model_dir):
    # dtype=float32 upcasts bf16 weights on load; eager attention is the plain softmax(QK^T)V.
    model, info = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
    # A tensor transformers expects but did not find would be silently random-initialised;
    # one it found but does not use (e.g. a bias the config does not enable) would be ignored.
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        if info.get(kind):
            raise RuntimeError(f"transformers reports {kind}: {sorted(info[kind])}")
    restore_buffers(model, model_dir)
    return model.eval()


def restore_buffers(model, model_dir):
    """Puts back the checkpoint's values of buffers that transformers re-initialises after loading:
    ZayaPreTrainedModel._init_weights sets the skip route's balancing bias to -1 over the loaded one
    (transformers 5.24), so the model would not be the checkpoint's."""
    from safetensors.torch import load_file
    buffers = dict(model.named_buffers())
    for name in sorted(os.listdir(model_dir)):
        if not name.endswith(".safetensors"):
            continue
        for key, value in load_file(os.path.join(model_dir, name)).items():
            if key in buffers:
                with torch.no_grad():
                    buffers[key].copy_(value.to(buffers[key].dtype))


def hf_logits(model, tokens):
    with torch.no_grad():
        out = model(torch.tensor([tokens], dtype=torch.long), use_cache=False)
    return out.logits[0].double().numpy()


def hf_logits_cached(model, tokens):
    """Token by token through transformers' cache (for zaya: its conv and value-shift state)."""
    rows, cache = [], transformers.DynamicCache(config=model.config)
    with torch.no_grad():
        for t in tokens:
            out = model(torch.tensor([[t]], dtype=torch.long), cache=cache, use_cache=True)
            rows.append(out.logits[0, -1].double().numpy())
    return np.stack(rows)


def row(exe, name, cls, model_dir, tokens, ref, tol_by_dtype, tmp, token_by_token=False):
    """One table row: (model, class, dtype, positions, max abs, max rel, result)."""
    dtype = storage_dtype(model_dir)
    tol = tol_by_dtype.get(dtype)
    if tol is None:
        return [name, cls, dtype, "-", "-", "-", f"FAIL (no tolerance for dtype {dtype})"]
    ours = engine_logits(exe, model_dir, tokens, tmp, token_by_token).astype(np.float64)
    if ours.shape != ref.shape:
        return [name, cls, dtype, "-", "-", "-", f"FAIL (shape {ours.shape} vs {ref.shape})"]
    max_abs = float(np.abs(ours - ref).max())
    max_rel = max_abs / float(np.abs(ref).max())
    result = "PASS" if max_rel <= tol else f"FAIL (tol {tol:.0e})"
    return [name, cls, dtype, str(ref.shape[0]), f"{max_abs:.3e}", f"{max_rel:.3e}", result]


def compare(exe, model_dir, tokens, tol_by_dtype, resave, cached):
    if not os.path.isfile(os.path.join(model_dir, "config.json")):
        raise RuntimeError("not a checkpoint folder (no config.json)")
    model = hf_model(model_dir)
    ref, cls = hf_logits(model, tokens), type(model).__name__
    name = min(model_dir, os.path.relpath(model_dir), key=len)
    with tempfile.TemporaryDirectory(prefix="hf_parity_") as tmp:
        rows = [row(exe, name, cls, model_dir, tokens, ref, tol_by_dtype, tmp)]
        if cached:
            # Both token by token through their caches: a dynamic RoPE turns each token by the length
            # of the call that computed it, so only this pairing is defined for it past its context.
            rows.append(row(exe, name + " (token by token)", cls, model_dir, tokens,
                            hf_logits_cached(model, tokens), tol_by_dtype, tmp, token_by_token=True))
        if resave:
            copy = os.path.join(tmp, "resaved")
            model.save_pretrained(copy)
            rows.append(row(exe, name + " (hf re-saved)", cls, copy, tokens, ref, tol_by_dtype, tmp))
    return rows


def print_table(rows):
    head = ["model", "class", "dtype", "positions", "max abs diff", "max rel diff", "result"]
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    for r in [head, ["-" * w for w in widths]] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), flush=True)


def token_ids(text):
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of token ids: {text}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="extend", nargs="+", required=True, metavar="DIR",
                   help="checkpoint folder(s) with config.json and *.safetensors (repeatable)")
    p.add_argument("--dllm-bench", default=os.path.join(REPO, "build", "bin", "dllm-bench"),
                   help="the dllm-bench binary (default: build/bin/dllm-bench)")
    p.add_argument("--tokens", type=token_ids, default=DEFAULT_TOKENS,
                   help="comma-separated prompt ids (default: <bos> + bytes of a sentence, 20 ids)")
    p.add_argument("--tol-f32", type=float, default=DEFAULT_TOL,
                   help=f"max relative error for f32 checkpoints (default {DEFAULT_TOL:g})")
    p.add_argument("--tol-bf16", type=float, default=DEFAULT_TOL,
                   help=f"max relative error for bf16 checkpoints (default {DEFAULT_TOL:g})")
    p.add_argument("--resave", action="store_true",
                   help="also check the engine on each model re-saved by transformers")
    p.add_argument("--cached", action="store_true",
                   help="also compare with transformers run token by token through its cache")
    a = p.parse_args()
    tokens = a.tokens
    if MISSING is not None:
        print(f"skipped: torch/transformers not importable ({MISSING}); "
              "pip install torch transformers numpy safetensors")
        sys.exit(77)
    if not os.access(a.dllm_bench, os.X_OK):
        sys.exit(f"hf_parity: {a.dllm_bench} is not an executable (build first, or pass --dllm-bench)")
    transformers.utils.logging.disable_progress_bar()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, {len(tokens)} tokens")

    rows = []
    for model_dir in a.model:
        try:
            rows += compare(a.dllm_bench, model_dir, tokens, {"f32": a.tol_f32, "bf16": a.tol_bf16}, a.resave,
                            a.cached)
        except Exception as e:  # one broken checkpoint fails its row, not the whole table
            print(f"{model_dir}: error: {e}", file=sys.stderr)
            rows.append([model_dir, "-", "-", "-", "-", "-", "FAIL (error)"])
    print_table(rows)
    sys.exit(0 if all(r[-1] == "PASS" for r in rows) else 1)


if __name__ == "__main__":
    main()
