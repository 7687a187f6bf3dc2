#!/usr/bin/env bash
# ctest PeerGgufSameBits: tools/peer/qwen3_gguf.py writes the tiny Qwen3 preset's random weights (bf16,
# f16, f32, from dllm_write_checkpoint) as GGUF files and checks each holds the bits of its HF folder;
# then the check must fail on a GGUF with one changed weight byte. Skips (77) when the gguf package is
# not importable (tools/peer-llamacpp installs it in .peer/venv, used when present; else python3).
# Usage: tests/peer/run_gguf_check.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: run_gguf_check.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
python=python3
[[ ! -x $root/.peer/venv/bin/python ]] || python=$root/.peer/venv/bin/python
"$python" -c "import gguf, numpy" 2>/dev/null ||
  { echo "skipped: the gguf package is not installed (pip install gguf, or run tools/peer-llamacpp)"; exit 77; }

out="$build/peer-gguf"  # rewritten every run
rm -rf "$out" && mkdir -p "$out"
for dtype in bf16 f16 f32; do
  "$build/bin/dllm_write_checkpoint" tiny "$dtype" 1 "$out/tiny-$dtype" >/dev/null
  "$python" "$root/tools/peer/qwen3_gguf.py" "$out/tiny-$dtype" "$out/tiny-$dtype.gguf"
done

# One byte of blk.1.ffn_down.weight changed: the check names the tensor and fails.
"$python" - "$out/tiny-bf16.gguf" <<'PY'
import sys, gguf
path = sys.argv[1]
t = next(t for t in gguf.GGUFReader(path).tensors if t.name == "blk.1.ffn_down.weight")
with open(path, "r+b") as f:
    f.seek(int(t.data_offset) + 7)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x01]))
PY
if "$python" "$root/tools/peer/qwen3_gguf.py" --check "$out/tiny-bf16" "$out/tiny-bf16.gguf" 2>"$out/err.txt"; then
  echo "FAIL: the check passed a GGUF with a changed byte"
  exit 1
fi
grep -q "blk.1.ffn_down.weight does not hold the bits" "$out/err.txt" ||
  { echo "FAIL: the check's error does not name the tensor:"; cat "$out/err.txt"; exit 1; }
echo "a changed byte is caught: $(cat "$out/err.txt")"
