#!/usr/bin/env bash
# Proving inference: EZKL (scripts/ezkl_bench.py) next to Verity's prover (the verity-zk
# crate's zk_bench example) on the same ONNX models, in one run. Prints a Markdown table with
# both side by side, the ratios EZKL / ours, the command line and the machine to stdout (for
# docs/benchmarks.md); progress goes to stderr.
#
#   scripts/zk_bench.sh                          # both provers, models/digits/mlp.onnx and models/lenet/lenet28.onnx
#   scripts/zk_bench.sh --ezkl-only              # only EZKL (sets up target/pyenv-zk)
#   scripts/zk_bench.sh --verity-only            # only ours
#   scripts/zk_bench.sh --ezkl-json docs/bench/ezkl.jsonl   # EZKL's recorded lines instead of a run
#   scripts/zk_bench.sh [options] MODEL.onnx...  # other models (each with test-split.json beside it)
#
# --ezkl-json FILE / --verity-json FILE read that side's JSON lines from FILE instead of running
# it (EZKL on the CNN takes minutes and gigabytes; run it once and reuse the lines). The lines
# of a run are kept in target/zk_bench/ezkl.jsonl and target/zk_bench/verity.jsonl.
# Each prover prints one JSON line per model:
#   EZKL:   {"model","prover":"ezkl","logrows","setup_s","prove_s","verify_ms","proof_bytes","peak_rss_mb",...}
#   Verity: {"model","constraints","setup_s","prove_s","verify_ms","proof_bytes","peak_rss_mb"}
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

command_line="scripts/zk_bench.sh${*:+ $*}"
run_ezkl=1
run_verity=1
ezkl_json=""
verity_json=""
models=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --ezkl-only) run_verity=0 ;;
        --verity-only) run_ezkl=0 ;;
        --ezkl-json) ezkl_json="$2"; shift ;;
        --verity-json) verity_json="$2"; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "zk_bench: unknown option $1" >&2; exit 2 ;;
        *) models+=("$1") ;;
    esac
    shift
done
if [[ ${#models[@]} -eq 0 ]]; then
    models=(models/digits/mlp.onnx models/lenet/lenet28.onnx)
fi

# The raw JSON lines of this run stay in target/zk_bench/ (reusable with --ezkl-json).
tmp="$root/target/zk_bench"
mkdir -p "$tmp"
: >"$tmp/ezkl.jsonl"
: >"$tmp/verity.jsonl"

if [[ $run_verity -eq 1 && -z "$verity_json" ]]; then
    # Build before EZKL's long run, so a build failure costs nothing.
    cargo build --release -q -p verity-zk --example zk_bench
fi
if [[ $run_ezkl -eq 1 ]]; then
    if [[ -n "$ezkl_json" ]]; then
        cp "$ezkl_json" "$tmp/ezkl.jsonl"
    else
        py="$(scripts/pyenv.sh --zk | tail -1)"
        "$py" scripts/ezkl_bench.py "${models[@]}" >"$tmp/ezkl.jsonl"
    fi
fi
if [[ $run_verity -eq 1 ]]; then
    if [[ -n "$verity_json" ]]; then
        cp "$verity_json" "$tmp/verity.jsonl"
    else
        cargo run --release -q -p verity-zk --example zk_bench -- "${models[@]}" >"$tmp/verity.jsonl"
    fi
fi

cpu="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"
mem_gib="$(awk '/^MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"

python3 - "$tmp/ezkl.jsonl" "$tmp/verity.jsonl" "$command_line" "$(nproc)" "${cpu:-unknown}" "$mem_gib" \
    "$(date -u +%Y-%m-%d)" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "$ezkl_json" "$verity_json" "${models[@]}" <<'PY'
import json
import os
import sys

ezkl_file, verity_file, command, nproc, cpu, mem_gib, date, commit, ezkl_src, verity_src = sys.argv[1:11]
wanted = sys.argv[11:]


def key(path):
    return os.path.splitext(os.path.basename(path))[0]


def rows(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            out[key(r["model"])] = r
    return out


ezkl, ours = rows(ezkl_file), rows(verity_file)
order = [key(m) for m in wanted]
order += [k for k in list(ezkl) + list(ours) if k not in order]
order = [k for k in order if k in ezkl or k in ours]


def num(v, digits):
    if v is None:
        return "—"
    if isinstance(v, int) or digits == 0:
        return f"{int(round(v)):,}"
    return f"{v:,.{digits}f}"


def mb(v):
    return num(v, 1 if v is not None and v < 100 else 0)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    r = a / b
    return f"{r:,.0f}×" if r >= 100 else f"{r:,.1f}×" if r >= 10 else f"{r:.2f}×"


print("| model | prover | circuit size | setup s | prove s | verify ms | proof bytes | peak RSS MB |")
print("|---|---|---|---|---|---|---|---|")
for k in order:
    e, o = ezkl.get(k), ours.get(k)
    if e:
        print(f"| {k} | EZKL {e.get('ezkl', '')} | 2^{e['logrows']} rows | {num(e['setup_s'], 2)} | "
              f"{num(e['prove_s'], 2)} | {num(e['verify_ms'], 1)} | {num(e['proof_bytes'], 0)} | "
              f"{mb(e['peak_rss_mb'])} |")
    if o:
        print(f"| {k} | Verity | {num(o['constraints'], 0)} constraints | {num(o['setup_s'], 2)} | "
              f"{num(o['prove_s'], 3)} | {num(o['verify_ms'], 2)} | {num(o['proof_bytes'], 0)} | "
              f"{mb(o['peak_rss_mb'])} |")
both = [k for k in order if k in ezkl and k in ours]
if both:
    print()
    print("| model | prove EZKL / ours | verify EZKL / ours | proof size EZKL / ours | peak memory EZKL / ours |")
    print("|---|---|---|---|---|")
    for k in both:
        e, o = ezkl[k], ours[k]
        print(f"| {k} | {ratio(e['prove_s'], o['prove_s'])} | {ratio(e['verify_ms'], o['verify_ms'])} | "
              f"{ratio(e['proof_bytes'], o['proof_bytes'])} | {ratio(e['peak_rss_mb'], o['peak_rss_mb'])} |")
print()
print(f"Command: `{command}`")
if ezkl_src:
    print(f"EZKL figures read from `{ezkl_src}` (recorded earlier), not measured in this run.")
if verity_src:
    print(f"Verity figures read from `{verity_src}`, not measured in this run.")
print(f"Machine: {nproc} cores ({cpu}), {mem_gib} GiB RAM; {date}, commit {commit}.")
loads = [f"{k} {ezkl[k]['load_avg_1m'][0]:.1f} → {ezkl[k]['load_avg_1m'][1]:.1f}" for k in order if "load_avg_1m" in ezkl.get(k, {})]
if loads:
    print(f"1-minute load average before → after each EZKL run: {', '.join(loads)}.")
PY
