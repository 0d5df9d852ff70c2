#!/usr/bin/env bash
# Inference speed of the digits models: Verity's float path (tract) and integer path next to
# onnxruntime, on the same ONNX files and the same 360 test inputs, one thread each, in one run.
# Prints a Markdown table with ratios (onnxruntime = 1.00; above 1 is slower than onnxruntime).
#
#   scripts/bench_inference.sh            # needs the Python env: scripts/pyenv.sh makes it
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="$(scripts/pyenv.sh | tail -1)"
out="$(mktemp)"
cargo run --release -q -p verity-inference --example bench_inference >"$out"
for model in mlp cnn; do
  for batch in 1 32; do
    "$py" scripts/onnxruntime_bench.py --model "models/digits/$model.onnx" --batch "$batch" \
      --iters 3000 --threads 1 >>"$out"
  done
done
"$py" - "$out" <<'PY'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
for r in rows:
    r["model"] = os.path.splitext(os.path.basename(r["model"]))[0]
base = {(r["model"], r["batch"]): r for r in rows if r["runtime"] == "onnxruntime"}
print("| model | batch | runtime | median µs | p99 µs | inferences/s | median vs onnxruntime |")
print("|---|---|---|---|---|---|---|")
for r in sorted(rows, key=lambda r: (r["model"], r["batch"], r["runtime"])):
    b = base.get((r["model"], r["batch"]))
    ratio = f'{r["median_us"] / b["median_us"]:.2f}×' if b else "—"
    print(f'| {r["model"]} | {r["batch"]} | {r["runtime"]} | {r["median_us"]:.1f} | '
          f'{r["p99_us"]:.1f} | {r["per_sec"]:.0f} | {ratio} |')
PY
