#!/usr/bin/env python3
"""A Qwen3 Hugging Face folder (config.json + model.safetensors, as dllm_write_checkpoint writes it)
as a GGUF file that llama.cpp loads, holding the same weights, and the check that it does.

    qwen3_gguf.py HF_DIR OUT.gguf     writes OUT.gguf, then checks it against HF_DIR
    qwen3_gguf.py --check HF_DIR X.gguf   only the check

Every weight matrix is copied bit for bit in its own dtype (bf16, f16 or f32). The 1-D norm weights
are stored as f32, as llama.cpp's own converter stores them: the widening is exact, so they hold the
same values, not the same bytes. Qwen3 needs no q/k row permutation (llama.cpp applies the same
NEOX-style RoPE as transformers). The tokenizer is llama.cpp's "none" model with the vocabulary
size: enough for llama-bench, which feeds random token ids and never tokenizes text.

Needs numpy and the `gguf` package (PyPI). Exit status: 0 written and checked, 1 an error.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

# safetensors dtype -> numpy dtype of the raw elements (bf16 has none: its bits as uint16).
ST_DTYPES = {"BF16": np.uint16, "F16": np.float16, "F32": np.float32}
LAYER = "model.layers."
# HF name inside a layer -> GGUF name inside blk.N.
LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
TOP_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",  # untied models only
}


class Error(Exception):
    pass


def read_safetensors(path):
    """name -> (safetensors dtype, numpy array over the mapped file) of every tensor in `path`."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise Error(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
        (n,) = struct.unpack("<Q", head)
        try:
            header = json.loads(f.read(n))
        except ValueError as e:
            raise Error(f"{path}: the safetensors header is not JSON ({e})")
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        if dtype not in ST_DTYPES:
            raise Error(f"{path}: tensor {name} is {dtype}; only BF16, F16 and F32 are written to GGUF here")
        begin, end = info["data_offsets"]
        tensors[name] = (dtype, data[begin:end].view(ST_DTYPES[dtype]).reshape(info["shape"]))
    return tensors


def gguf_name(hf):
    """The GGUF name of an HF Qwen3 tensor."""
    if hf in TOP_NAMES:
        return TOP_NAMES[hf]
    if hf.startswith(LAYER):
        layer, _, rest = hf[len(LAYER):].partition(".")
        if rest in LAYER_NAMES:
            return f"blk.{layer}.{LAYER_NAMES[rest]}"
    raise Error(f"tensor {hf} has no GGUF name here (is this a Qwen3 checkpoint?)")


def load_config(hf_dir):
    path = os.path.join(hf_dir, "config.json")
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        raise Error(f"{path}: cannot read the model's config ({e})")
    if config.get("model_type") != "qwen3":
        raise Error(f"{path}: model_type is {config.get('model_type')!r}; this writer knows qwen3 only")
    return config


def widened(dtype, values):
    """The f32 values of bf16, f16 or f32 elements (exact)."""
    if dtype == "BF16":
        return (values.astype(np.uint32) << 16).view(np.float32)
    return values.astype(np.float32)


def write_gguf(hf_dir, out_path):
    """Writes OUT.gguf from the Qwen3 folder hf_dir (to OUT.gguf.tmp, renamed when complete)."""
    import gguf  # imported here: --help and the error paths need no gguf

    config = load_config(hf_dir)
    tensors = read_safetensors(os.path.join(hf_dir, "model.safetensors"))
    dtypes = {d for d, a in tensors.values() if a.ndim == 2}
    if len(dtypes) != 1:
        raise Error(f"{hf_dir}: the weight matrices mix dtypes {sorted(dtypes)}; one dtype is expected")
    (dtype,) = dtypes
    raw = {"BF16": gguf.GGMLQuantizationType.BF16, "F16": gguf.GGMLQuantizationType.F16,
           "F32": gguf.GGMLQuantizationType.F32}[dtype]
    file_type = {"BF16": gguf.LlamaFileType.MOSTLY_BF16, "F16": gguf.LlamaFileType.MOSTLY_F16,
                 "F32": gguf.LlamaFileType.ALL_F32}[dtype]
    head_dim = config.get("head_dim", config["hidden_size"] // config["num_attention_heads"])

    tmp = out_path + ".tmp"
    w = gguf.GGUFWriter(tmp, "qwen3")
    w.add_name(f"dllm-bench random weights ({os.path.basename(os.path.normpath(hf_dir))})")
    w.add_file_type(int(file_type))
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(config["hidden_size"])
    w.add_block_count(config["num_hidden_layers"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(config["num_attention_heads"])
    w.add_head_count_kv(config["num_key_value_heads"])
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(float(config["rope_theta"]))
    w.add_layer_norm_rms_eps(float(config["rms_norm_eps"]))
    w.add_vocab_size(config["vocab_size"])
    w.add_tokenizer_model("none")
    for name, (st_dtype, values) in tensors.items():
        # GGUF lists a tensor's dims innermost first: HF [out, in] becomes ne = [in, out] as llama.cpp expects.
        if values.ndim == 1:
            w.add_tensor(gguf_name(name), widened(st_dtype, values))
        else:
            w.add_tensor(gguf_name(name), values, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, out_path)


def check_same_bits(hf_dir, gguf_path):
    """Raises Error unless every tensor of hf_dir is in gguf_path with the same bits (matrices) or the
    same values (norms, f32 there). Returns (tensors, matrix bytes) compared."""
    import gguf

    tensors = read_safetensors(os.path.join(hf_dir, "model.safetensors"))
    reader = gguf.GGUFReader(gguf_path)
    by_name = {t.name: t for t in reader.tensors}
    matrix_bytes = 0
    for name, (st_dtype, values) in tensors.items():
        g = by_name.pop(gguf_name(name), None)
        if g is None:
            raise Error(f"{gguf_path}: tensor {gguf_name(name)} (from {name}) is missing")
        if [int(d) for d in reversed(g.shape)] != list(values.shape):
            raise Error(f"{gguf_path}: {g.name} has dims {list(g.shape)}, {name} has shape {list(values.shape)}")
        got = np.asarray(g.data)
        if values.ndim == 1:
            same = g.tensor_type == gguf.GGMLQuantizationType.F32 and np.array_equal(
                got.reshape(-1).view(np.uint32), widened(st_dtype, values).view(np.uint32))
        else:
            same = got.reshape(-1).view(np.uint8).tobytes() == values.reshape(-1).view(np.uint8).tobytes()
            matrix_bytes += values.nbytes
        if not same:
            raise Error(f"{gguf_path}: {g.name} does not hold the bits of {name} in {hf_dir}")
    if by_name:
        raise Error(f"{gguf_path}: tensors not in {hf_dir}: {sorted(by_name)[:5]}")
    return len(tensors), matrix_bytes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hf_dir")
    ap.add_argument("gguf")
    ap.add_argument("--check", action="store_true", help="only check an existing GGUF against the folder")
    a = ap.parse_args()
    try:
        if not a.check:
            write_gguf(a.hf_dir, a.gguf)
        n, nbytes = check_same_bits(a.hf_dir, a.gguf)
    except (Error, OSError, KeyError) as e:
        print(f"qwen3_gguf: error: {e}", file=sys.stderr)
        return 1
    print(f"{a.gguf}: {n} tensors, {nbytes / 1e6:.1f} MB of matrices bit for bit as in {a.hf_dir}, norms as f32")
    return 0


if __name__ == "__main__":
    sys.exit(main())
