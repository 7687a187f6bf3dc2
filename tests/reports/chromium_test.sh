#!/usr/bin/env bash
# ctest ReportInChromium: renders the HTML report of the checked-in fixtures (a benchmark report and a
# peer comparison) in headless Chromium, fails on any console error, checks every chart's SVG reached
# the rendered DOM with its marks, and saves a screenshot under the build directory. Skips (77) when
# Debian's chromium is not installed.
# Usage: tests/reports/chromium_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: chromium_test.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n "$browser" ]] || { echo "skipped: chromium is not installed (apt-get install chromium)"; exit 77; }

out="$build/report-test"
rm -rf "$out" && mkdir -p "$out"
"$build/bin/dllm-bench" report "$root/tests/reports/fixture-report.json" "$root/tests/reports/fixture-peer.json" \
  -o "$out/report.html"

flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-extensions --hide-scrollbars
       --user-data-dir="$out/profile" --enable-logging=stderr --v=0)
# The DOM after load and layout; console messages go to stderr as "CONSOLE(...)" lines.
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$out/report.html" >"$out/dom.html" 2>"$out/console.log" || {
  echo "chromium failed to load the report"; cat "$out/console.log"; exit 1; }
timeout 120 "$browser" "${flags[@]}" --window-size=1400,5200 --screenshot="$out/report.png" \
  "file://$out/report.html" >/dev/null 2>>"$out/console.log" || { echo "chromium failed to screenshot"; exit 1; }

python3 - "$out" <<'PY'
import re, struct, sys, zlib
out = sys.argv[1]
console = open(f"{out}/console.log", errors="replace").read()
errors = [l for l in console.splitlines() if "CONSOLE" in l and ("ERROR" in l or "Uncaught" in l)]
dom = open(f"{out}/dom.html", errors="replace").read()
charts = ["throughput", "speedup_vs_w", "quality_vs_w", "speed_vs_quality", "accepted_histogram", "slot_acceptance",
          "step_cost_cpu", "speedup_vs_batch", "tokens_vs_batch", "peer_ratio"]
problems = [f"console error: {e}" for e in errors]
for name in charts:
    m = re.search(r'<svg[^>]*data-chart="%s"[^>]*>(.*?)</svg>' % name, dom, re.S)
    if not m:
        problems.append(f"chart {name} is missing from the rendered DOM")
        continue
    marks = len(re.findall(r"<(rect|polyline|circle)\b", m.group(1)))
    if marks == 0:
        problems.append(f"chart {name} rendered no bars, lines or points")
    print(f"chart {name}: {marks} marks")

# The screenshot: a PNG of the requested size that is not blank (many distinct colours).
png = open(f"{out}/report.png", "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n", "screenshot is not a PNG"
width, height, depth, ctype = struct.unpack(">IIBB", png[16:26])
data, pos = b"", 8
while pos < len(png):
    n = struct.unpack(">I", png[pos:pos + 4])[0]
    if png[pos + 4:pos + 8] == b"IDAT":
        data += png[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(data)
channels = {2: 3, 6: 4}[ctype]
stride = width * channels + 1
colours = {raw[y * stride + 1 + x * channels:y * stride + 1 + x * channels + 3]
           for y in range(0, height, 7) for x in range(0, width, 7)}
print(f"screenshot {out}/report.png: {width}x{height}, {len(colours)} distinct sampled colours (filtered rows)")
if len(colours) < 20:
    problems.append("the screenshot looks blank")
for p in problems:
    print("FAIL:", p)
sys.exit(1 if problems else 0)
PY
