#!/usr/bin/env bash
# ctest TokenizerParity: byte-level BPE tokenizers trained in the test with the GPT-2, Llama 3 and
# Qwen2 pipelines, `dllm-bench tokenize` against Hugging Face tokenizers id for id
# (tools/parity/tokenizer_parity.py; it exits 77, a ctest skip, when tokenizers is not installed).
# Usage: tests/parity/run_tokenizer_parity.sh BUILD_DIR
set -euo pipefail
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
build=$(cd "${1:?usage: run_tokenizer_parity.sh BUILD_DIR}" && pwd)
cd "$(dirname "$0")/../.."
exec python3 tools/parity/tokenizer_parity.py --dllm-bench "$build/bin/dllm-bench"
