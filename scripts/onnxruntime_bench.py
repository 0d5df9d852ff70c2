"""Measure onnxruntime latency and throughput of a digits model on the committed test split.

Usage:
    target/pyenv/bin/python scripts/onnxruntime_bench.py --model models/digits/cnn.onnx \\
        --inputs models/digits/test-split.json --batch 1 --iters 2000 --threads 1

Each timed iteration is one ``session.run`` on a batch of ``--batch`` test images (taken in
order from the test split, wrapping around); the batches are built before timing starts and
a few untimed warm-up runs come first. Prints one JSON line:

    {"runtime": "onnxruntime", "version": ..., "model": ..., "batch": ...,
     "median_us": ..., "p99_us": ..., "per_sec": ...}

median_us and p99_us are the per-run latencies in microseconds (p99 by nearest rank);
per_sec is inferences (images) per second over the whole timed loop. It is meant to be run
side by side with the Rust benchmark on the same model and inputs.
"""

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

DEFAULT_INPUTS = Path(__file__).resolve().parent.parent / "models" / "digits" / "test-split.json"


def load_batches(path, batch, count):
    """`count` distinct-as-possible batches of `batch` images as float32 [batch, 1, 8, 8]."""
    split = json.loads(open(path).read())
    x = (np.asarray(split["pixels"], dtype=np.float32) / split["scale"]).reshape(-1, 1, 8, 8)
    n = len(x)
    distinct = min(count, max(1, n // math.gcd(n, batch)))
    out = []
    for b in range(distinct):
        idx = [(b * batch + i) % n for i in range(batch)]
        out.append(np.ascontiguousarray(x[idx]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="ONNX model file")
    ap.add_argument("--inputs", default=str(DEFAULT_INPUTS), help="test-split.json fixture")
    ap.add_argument("--batch", type=int, default=1, help="images per run (e.g. 1 or 32)")
    ap.add_argument("--iters", type=int, default=1000, help="timed runs")
    ap.add_argument("--threads", type=int, default=1, help="intra_op_num_threads")
    ap.add_argument("--warmup", type=int, default=20, help="untimed runs before timing")
    args = ap.parse_args()
    if args.batch < 1 or args.iters < 1 or args.threads < 1:
        ap.error("--batch, --iters and --threads must be positive")

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    in_name = sess.get_inputs()[0].name
    out_names = [o.name for o in sess.get_outputs()]

    batches = load_batches(args.inputs, args.batch, args.iters)
    for i in range(args.warmup):
        sess.run(out_names, {in_name: batches[i % len(batches)]})

    times = np.empty(args.iters, dtype=np.float64)
    clock = time.perf_counter_ns
    start = clock()
    for i in range(args.iters):
        feed = {in_name: batches[i % len(batches)]}
        t0 = clock()
        sess.run(out_names, feed)
        times[i] = clock() - t0
    total_s = (clock() - start) / 1e9

    times.sort()
    p99 = times[max(0, math.ceil(0.99 * len(times)) - 1)]
    print(
        json.dumps(
            {
                "runtime": "onnxruntime",
                "version": ort.__version__,
                "model": args.model,
                "batch": args.batch,
                "median_us": round(float(np.median(times)) / 1e3, 2),
                "p99_us": round(float(p99) / 1e3, 2),
                "per_sec": round(args.batch * args.iters / total_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
