"""EZKL baseline: prove one inference of an ONNX model and measure what it costs.

For each model, with one input from its test split (``test-split.json`` beside the model):

    gen_settings (input and output public, weights fixed)
    -> calibrate_settings (default calibration on that input, target "resources")
    -> compile_circuit -> gen_srs (local, test-only SRS of the calibrated size)
    -> setup -> gen_witness -> prove -> verify

Each step runs in its own child process (this script with ``--step``), so its wall time and
its peak resident memory (``os.wait4``'s ``ru_maxrss``) are its own; the time is that of the
EZKL call alone (the interpreter's start and ``import ezkl`` are not counted), the peak RSS is
the whole child's. The SRS is generated
with ``ezkl.gen_srs`` (``get_srs`` downloads one) and kept in ``target/ezkl/srs/`` for
reuse; its time is reported separately (``srs_s``, 0 when it came from that cache).

Prints one JSON line per model to stdout:

    {"model", "prover": "ezkl", "logrows", "setup_s", "prove_s", "verify_ms", "proof_bytes",
     "peak_rss_mb", ...}

``proof_bytes`` is the length of the halo2 proof itself (the ``proof`` field of EZKL's proof
file, which also holds the public instances as JSON); ``peak_rss_mb`` is the largest peak RSS
of any step (MiB). Further fields: the other steps' times, the circuit's settings, the
witness's arg-max against the label, the machine's 1-minute load average before and after the
model's run (other processes slow EZKL down; it uses every core).

    scripts/pyenv.sh --zk       # target/pyenv-zk with the pinned ezkl
    target/pyenv-zk/bin/python scripts/ezkl_bench.py models/digits/mlp.onnx models/lenet/lenet28.onnx
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def log(msg):
    print(f"ezkl_bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Steps, each run in a child process


def run_step(step, work, srs):
    """Run one EZKL step on the files in `work`; return a dict of results (JSON-able)."""
    import ezkl

    names = ("settings.json", "input.json", "network.ezkl", "vk.key", "pk.key", "witness.json", "proof.json")
    f = {name: str(work / name) for name in names}
    model = str(work / "model.onnx")
    out = {}
    t = time.perf_counter()
    if step == "settings":
        args = ezkl.PyRunArgs()
        args.input_visibility = "public"
        args.output_visibility = "public"
        args.param_visibility = "fixed"
        args.variables = [(json.loads((work / "meta.json").read_text())["batch_param"], 1)]
        ok = ezkl.gen_settings(model, f["settings.json"], py_run_args=args)
    elif step == "calibrate":
        ok = ezkl.calibrate_settings(f["input.json"], model, f["settings.json"], "resources")
    elif step == "compile":
        ok = ezkl.compile_circuit(model, f["network.ezkl"], f["settings.json"])
    elif step == "srs":
        ok = ezkl.gen_srs(str(srs), json.loads(Path(f["settings.json"]).read_text())["run_args"]["logrows"])
        ok = True if ok is None else ok
    elif step == "setup":
        ok = ezkl.setup(f["network.ezkl"], f["vk.key"], f["pk.key"], str(srs))
    elif step == "witness":
        ok = ezkl.gen_witness(f["input.json"], f["network.ezkl"], f["witness.json"]) is not None
    elif step == "prove":
        ok = ezkl.prove(f["witness.json"], f["network.ezkl"], f["pk.key"], f["proof.json"], str(srs))
        ok = bool(ok)
    elif step == "verify":
        ok = ezkl.verify(f["proof.json"], f["settings.json"], f["vk.key"], str(srs))
    else:
        raise SystemExit(f"unknown step {step}")
    out["seconds"] = time.perf_counter() - t
    if ok is not True:
        raise SystemExit(f"ezkl step {step} returned {ok!r}")
    if step == "witness":
        witness = json.loads(Path(f["witness.json"]).read_text())
        logits = [float(v) for v in witness["pretty_elements"]["rescaled_outputs"][0]]
        out["argmax"] = max(range(len(logits)), key=logits.__getitem__)
    return out


def child(step, work, srs):
    """Run `step` in a fresh interpreter; return (its result dict, its peak RSS in MiB)."""
    cmd = [sys.executable, __file__, "--step", step, "--work", str(work), "--srs", str(srs)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed with exit code {proc.returncode}")
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    return result, usage.ru_maxrss / 1024  # Linux reports KiB


# ---------------------------------------------------------------------------
# One model


def model_input(model, index):
    """(flat input floats, label, batch dimension name) of test image `index` of the model."""
    import onnx

    split = json.loads((model.parent / "test-split.json").read_text())
    scale = float(split["scale"])
    values = [p / scale for p in split["pixels"][index]]
    graph = onnx.load(str(model), load_external_data=False).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    batch_param = dims[0].dim_param or "batch_size"
    return values, int(split["labels"][index]), batch_param


def bench(model, index, work_root, srs_dir, keep):
    name = model.stem
    work = work_root / name
    work.mkdir(parents=True, exist_ok=True)
    for stale in ("settings.json", "network.ezkl", "vk.key", "pk.key", "witness.json", "proof.json"):
        (work / stale).unlink(missing_ok=True)
    (work / "model.onnx").write_bytes(model.read_bytes())
    values, label, batch_param = model_input(model, index)
    (work / "input.json").write_text(json.dumps({"input_data": [values]}))
    (work / "meta.json").write_text(json.dumps({"batch_param": batch_param}))

    times, peaks = {}, {}
    load_before = os.getloadavg()[0]

    def step(s, srs=None):
        log(f"{name}: {s} ...")
        result, peak = child(s, work, srs or "")
        times[s], peaks[s] = result["seconds"], peak
        log(f"{name}: {s} {result['seconds']:.3f} s, peak RSS {peak:.0f} MiB")
        return result

    step("settings")
    step("calibrate")
    step("compile")
    settings = json.loads((work / "settings.json").read_text())
    logrows = int(settings["run_args"]["logrows"])
    srs_dir.mkdir(parents=True, exist_ok=True)
    srs = srs_dir / f"kzg{logrows}.srs"
    if srs.exists():
        log(f"{name}: SRS 2^{logrows} from {srs}")
        times["srs"] = 0.0
    else:
        tmp = srs.with_suffix(".srs.partial")
        step("srs", tmp)
        tmp.rename(srs)
    step("setup", srs)
    witness = step("witness", srs)
    step("prove", srs)
    step("verify", srs)

    proof = json.loads((work / "proof.json").read_text())
    raw = proof.get("proof")
    if isinstance(raw, str):
        proof_bytes = len(bytes.fromhex(raw.removeprefix("0x")))
    else:
        proof_bytes = len(raw)
    import ezkl

    row = {
        "model": str(model.relative_to(ROOT)) if model.is_relative_to(ROOT) else str(model),
        "prover": "ezkl",
        "logrows": logrows,
        "setup_s": round(times["setup"], 3),
        "prove_s": round(times["prove"], 3),
        "verify_ms": round(times["verify"] * 1000, 1),
        "proof_bytes": proof_bytes,
        "peak_rss_mb": round(max(peaks.values()), 1),
        "ezkl": ezkl.__version__,
        "input_index": index,
        "label": label,
        "argmax": witness.get("argmax"),
        "srs_s": round(times["srs"], 3),
        "calibrate_s": round(times["calibrate"], 3),
        "compile_s": round(times["compile"], 3),
        "witness_s": round(times["witness"], 3),
        "peak_rss_mb_by_step": {k: round(v, 1) for k, v in peaks.items()},
        "proof_file_bytes": (work / "proof.json").stat().st_size,
        "pk_bytes": (work / "pk.key").stat().st_size,
        "vk_bytes": (work / "vk.key").stat().st_size,
        "input_scale": settings["run_args"].get("input_scale"),
        "param_scale": settings["run_args"].get("param_scale"),
        "num_rows": settings.get("num_rows"),
        "nproc": os.cpu_count(),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    if not keep:
        for big in ("pk.key", "network.ezkl", "witness.json"):
            (work / big).unlink(missing_ok=True)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", type=Path, help="ONNX files, each with test-split.json beside it")
    ap.add_argument("--index", type=int, default=0, help="test image to prove (default 0)")
    ap.add_argument("--work", type=Path, default=ROOT / "target" / "ezkl", help="working directory")
    ap.add_argument("--srs-dir", type=Path, default=None, help="SRS cache (default WORK/srs)")
    ap.add_argument("--keep", action="store_true", help="keep the proving key, circuit and witness")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--srs", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.step:
        print(json.dumps(run_step(args.step, args.work, args.srs)))
        return
    if not args.models:
        ap.error("name at least one ONNX model")
    for model in args.models:
        srs_dir = (args.srs_dir or args.work / "srs").resolve()
        row = bench(model.resolve(), args.index, args.work.resolve(), srs_dir, args.keep)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
