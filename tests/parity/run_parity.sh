#!/usr/bin/env bash
# ctest HfParity: writes random tiny llama/qwen2/qwen3/zaya checkpoints in f32 and bf16 with
# `dllm-bench export` (the engine's own safetensors writer and a generated tokenizer.json), checks
# that transformers' tokenizer reads the exported tokenizer as dllm-bench does, then compares dllm-bench's logits on them (and on the shipped
# models/tiny-tidar, when present) with Hugging Face transformers, also after a transformers
# re-save and against transformers run token by token through its cache; then the RoPE-scaled tiny
# llamas (llama3, linear, yarn) on a prompt long enough to pass their original context. hf_parity.py exits
# 77 (ctest skip) when torch/transformers are not installed.
# Usage: tests/parity/run_parity.sh BUILD_DIR
set -euo pipefail
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
build=$(cd "${1:?usage: run_parity.sh BUILD_DIR}" && pwd)
cd "$(dirname "$0")/../.."  # the repository root: short model names in the table

out="$build/parity"  # rewritten every run, so a stale checkpoint never survives a writer change
rm -rf "$out" && mkdir -p "$out"
write() {  # ARRAY PRESET...: writes each preset in f32 and bf16, appends the folders to ARRAY
  local -n into=$1
  shift
  for preset in "$@"; do
    for dtype in f32 bf16; do
      "$build/bin/dllm-bench" export --model "preset:$preset" --dtype "$dtype" --weights-seed 1 \
        --out "$out/$preset-$dtype" >/dev/null
      into+=("$out/$preset-$dtype")
    done
  done
}
models=() scaled=()
write models tiny tiny-llama tiny-qwen2 tiny-zaya tiny-zaya-sliding
if [[ -f models/tiny-tidar/config.json ]]; then models+=(models/tiny-tidar); fi
write scaled tiny-llama-rope-llama3 tiny-llama-rope-linear tiny-llama-rope-yarn tiny-llama-rope-yarn-mscale \
  tiny-llama-rope-dynamic

status=0
python3 tools/parity/export_parity.py --dllm-bench "$build/bin/dllm-bench" "$out"/*-f32 || status=$?
[[ ${status:-0} != 77 ]] || exit 77
parity() { python3 tools/parity/hf_parity.py --dllm-bench "$build/bin/dllm-bench" --resave --cached "$@"; }
parity --model "${models[@]}" || status=$?
[[ $status != 77 ]] || exit 77
# 200 positions (ids 56..255, bytes), far past the scaled presets' original context of 32.
parity --tokens "$(seq -s, 56 255)" --model "${scaled[@]}" || status=1
exit $status
