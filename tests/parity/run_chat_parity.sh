#!/usr/bin/env bash
# ctest ChatParity: the chatml (Qwen3, Qwen2.5), Llama 3 and Gemma 3 chat templates on tokenizers
# trained in the test, `dllm-bench tokenize --chat` against transformers' apply_chat_template text
# and ids (tools/parity/chat_parity.py; it exits 77, a ctest skip, when transformers or tokenizers is
# not installed).
# Usage: tests/parity/run_chat_parity.sh BUILD_DIR
set -euo pipefail
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
build=$(cd "${1:?usage: run_chat_parity.sh BUILD_DIR}" && pwd)
cd "$(dirname "$0")/../.."
exec python3 tools/parity/chat_parity.py --dllm-bench "$build/bin/dllm-bench"
