"""Train the two digits classifiers and write their ONNX files and test fixtures.

Data: scikit-learn's bundled digits set (1,797 grayscale 8x8 images, pixel values 0..16,
no download), split with ``train_test_split(test_size=0.2, random_state=0, stratify=y)``
into 1,437 training and 360 test images.

Model convention (both models):
  input  ``image``  float32 [batch, 1, 8, 8], value = pixel / 16 (0 = background, 1 = ink)
  output ``logits`` float32 [batch, 10], raw class scores (no Softmax in the graph)

Models:
  models/digits/mlp.onnx  Flatten -> Gemm 64->64 -> Relu -> Gemm 64->10
                          (trained with scikit-learn's MLPClassifier)
  models/digits/cnn.onnx  Conv 1->8 3x3 pad 1 -> Relu -> AveragePool 2x2/2
                          -> Conv 8->16 3x3 pad 1 -> Relu -> AveragePool 2x2/2
                          -> Flatten -> Gemm 64->10
                          (trained in plain numpy: im2col convolutions, Adam)

Gemm nodes use transB=1 with weights stored [out, in]; Conv weights are [out, in, 3, 3].
Every graph is opset 13, IR version 7, with weights as initializers.

Fixtures (all deterministic; committed):
  models/digits/test-split.json      the 360 test images (integer pixels) and labels
  models/digits/reference.json       onnxruntime float32 logits for every test image
  models/digits/samples/digit-N.png  the first test image of each label, 32x32 grayscale
  models/digits/samples/labels.json  sample file name -> label
  models/digits/samples/values-3.json  model input of digit-3.png as a flat float list

Run with the project virtualenv: ``target/pyenv/bin/python models/train_digits.py``
(create it with ``scripts/pyenv.sh``). Training is single-threaded and seeded, so a
rerun on the same pinned packages reproduces the same files.
"""

import os

# Single-threaded BLAS keeps floating-point reductions in a fixed order (reproducible
# weights) and is no slower for matrices this small. Must be set before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import hashlib  # noqa: E402
import json  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "models" / "digits"
SAMPLES = OUT / "samples"

SCALE = 16  # pixel values are 0..16
OPSET = 13
IR_VERSION = 7  # the IR version that introduced opset 13
SPLIT = "train_test_split(test_size=0.2, random_state=0, stratify=y)"


# ---------------------------------------------------------------------------
# Data


def load_split():
    """Return (x_train, x_test, y_train, y_test) with integer pixels of shape [n, 64]."""
    digits = load_digits()
    x = digits.data.astype(np.int64)
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)


def to_input(pixels):
    """Integer pixels [n, 64] -> model input float32 [n, 1, 8, 8] in [0, 1]."""
    return (np.asarray(pixels, dtype=np.float32) / SCALE).reshape(-1, 1, 8, 8)


# ---------------------------------------------------------------------------
# MLP (scikit-learn)


def train_mlp(x_train, y_train):
    """Fit a 64-64-10 ReLU MLP; return float32 weights in ONNX Gemm (transB=1) layout."""
    clf = MLPClassifier(
        hidden_layer_sizes=(64,),
        activation="relu",
        random_state=0,
        max_iter=2000,
    )
    clf.fit(x_train / SCALE, y_train)
    w1, w2 = clf.coefs_
    b1, b2 = clf.intercepts_
    return {
        "fc1.weight": w1.T.astype(np.float32),  # [64, 64]
        "fc1.bias": b1.astype(np.float32),
        "fc2.weight": w2.T.astype(np.float32),  # [10, 64]
        "fc2.bias": b2.astype(np.float32),
    }, clf.n_iter_


# ---------------------------------------------------------------------------
# CNN (numpy)


def im2col(x, k=3, pad=1):
    """[n, c, h, w] -> columns [n, c*k*k, h*w] for a stride-1 'same' convolution."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((n, c, k, k, h, w), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i : i + h, j : j + w]
    return cols.reshape(n, c * k * k, h * w)


def col2im(cols, shape, k=3, pad=1):
    """Adjoint of im2col: scatter-add columns [n, c*k*k, h*w] back to [n, c, h, w]."""
    n, c, h, w = shape
    cols = cols.reshape(n, c, k, k, h, w)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            xp[:, :, i : i + h, j : j + w] += cols[:, :, i, j]
    return xp[:, :, pad : pad + h, pad : pad + w]


def conv_forward(x, w, b):
    n, _, h, wd = x.shape
    f = w.shape[0]
    cols = im2col(x)
    out = np.matmul(w.reshape(f, -1), cols) + b[None, :, None]
    return out.reshape(n, f, h, wd), cols


def conv_backward(dout, x_shape, cols, w):
    n, f, h, wd = dout.shape
    d = dout.reshape(n, f, h * wd)
    dw = np.einsum("nfp,nkp->fk", d, cols).reshape(w.shape)
    db = d.sum(axis=(0, 2))
    dcols = np.matmul(w.reshape(f, -1).T, d)
    return col2im(dcols, x_shape), dw, db


def avgpool_forward(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


def avgpool_backward(dout):
    return np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3) / 4.0


def cnn_forward(p, x, keep=False):
    """Forward pass; with keep=True also return the activations needed for backward."""
    z1, cols1 = conv_forward(x, p["conv1.weight"], p["conv1.bias"])
    a1 = np.maximum(z1, 0)
    p1 = avgpool_forward(a1)
    z2, cols2 = conv_forward(p1, p["conv2.weight"], p["conv2.bias"])
    a2 = np.maximum(z2, 0)
    p2 = avgpool_forward(a2)
    flat = p2.reshape(len(x), -1)  # ONNX Flatten order: c, h, w
    logits = flat @ p["fc.weight"].T + p["fc.bias"]
    if not keep:
        return logits
    return logits, (x, cols1, z1, p1, cols2, z2, flat)


def cnn_backward(p, cache, dlogits):
    x, cols1, z1, p1, cols2, z2, flat = cache
    g = {}
    g["fc.weight"] = dlogits.T @ flat
    g["fc.bias"] = dlogits.sum(axis=0)
    dp2 = (dlogits @ p["fc.weight"]).reshape(z2.shape[0], z2.shape[1], 2, 2)
    dz2 = avgpool_backward(dp2) * (z2 > 0)
    dp1, g["conv2.weight"], g["conv2.bias"] = conv_backward(dz2, p1.shape, cols2, p["conv2.weight"])
    dz1 = avgpool_backward(dp1) * (z1 > 0)
    _, g["conv1.weight"], g["conv1.bias"] = conv_backward(dz1, x.shape, cols1, p["conv1.weight"])
    return g


def shift_batch(x, rng):
    """Translate each image by -1, 0 or +1 pixel in each direction (zero fill)."""
    out = np.zeros_like(x)
    dys = rng.integers(-1, 2, size=len(x))
    dxs = rng.integers(-1, 2, size=len(x))
    for i, (dy, dx) in enumerate(zip(dys, dxs)):
        src = x[i, :, max(0, -dy) : 8 - max(0, dy), max(0, -dx) : 8 - max(0, dx)]
        out[i, :, max(0, dy) : 8 - max(0, -dy), max(0, dx) : 8 - max(0, -dx)] = src
    return out


def train_cnn(x_train, y_train, epochs=60, batch=32, lr=0.02, seed=0):
    """Train the CNN with Adam and a cosine learning-rate schedule; return float32 weights."""
    rng = np.random.default_rng(seed)

    def he(shape, fan_in):
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)

    p = {
        "conv1.weight": he((8, 1, 3, 3), 9),
        "conv1.bias": np.zeros(8),
        "conv2.weight": he((16, 8, 3, 3), 72),
        "conv2.bias": np.zeros(16),
        "fc.weight": he((10, 64), 64) * 0.5,
        "fc.bias": np.zeros(10),
    }
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    x = to_input(x_train).astype(np.float64)
    n = len(x)
    steps_per_epoch = (n + batch - 1) // batch
    total = epochs * steps_per_epoch
    step = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for s in range(0, n, batch):
            idx = order[s : s + batch]
            xb = shift_batch(x[idx], rng)
            yb = y_train[idx]
            logits, cache = cnn_forward(p, xb, keep=True)
            logits = logits - logits.max(axis=1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(axis=1, keepdims=True)
            prob[np.arange(len(idx)), yb] -= 1.0
            grads = cnn_backward(p, cache, prob / len(idx))
            step += 1
            rate = lr * 0.5 * (1.0 + np.cos(np.pi * (step - 1) / total))
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * grads[k]
                v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
                mh = m[k] / (1 - b1**step)
                vh = v[k] / (1 - b2**step)
                p[k] -= rate * mh / (np.sqrt(vh) + eps)
    return {k: val.astype(np.float32) for k, val in p.items()}


# ---------------------------------------------------------------------------
# ONNX export


def io_info():
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 8, 8])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])
    return image, logits


def make_model(name, doc, nodes, weights):
    image, logits = io_info()
    inits = [numpy_helper.from_array(w, name=k) for k, w in weights.items()]
    graph = helper.make_graph(nodes, name, [image], [logits], initializer=inits, doc_string=doc)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="verity models/train_digits.py",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def mlp_model(w):
    nodes = [
        helper.make_node("Flatten", ["image"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["fc1"], name="fc1", transB=1),
        helper.make_node("Relu", ["fc1"], ["relu1"], name="relu1"),
        helper.make_node("Gemm", ["relu1", "fc2.weight", "fc2.bias"], ["logits"], name="fc2", transB=1),
    ]
    doc = "Digits MLP: image [batch,1,8,8] = pixels/16 -> logits [batch,10]"
    return make_model("digits_mlp", doc, nodes, w)


def cnn_model(w):
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    pool = dict(kernel_shape=[2, 2], strides=[2, 2])
    nodes = [
        helper.make_node("Conv", ["image", "conv1.weight", "conv1.bias"], ["conv1"], name="conv1", **conv),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("AveragePool", ["relu1"], ["pool1"], name="pool1", **pool),
        helper.make_node("Conv", ["pool1", "conv2.weight", "conv2.bias"], ["conv2"], name="conv2", **conv),
        helper.make_node("Relu", ["conv2"], ["relu2"], name="relu2"),
        helper.make_node("AveragePool", ["relu2"], ["pool2"], name="pool2", **pool),
        helper.make_node("Flatten", ["pool2"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
    ]
    doc = "Digits CNN: image [batch,1,8,8] = pixels/16 -> logits [batch,10]"
    return make_model("digits_cnn", doc, nodes, w)


def run_onnxruntime(path, x):
    """Logits for every image, each run as its own batch of 1 on one thread."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    single = np.concatenate([sess.run(["logits"], {"image": x[i : i + 1]})[0] for i in range(len(x))])
    whole = sess.run(["logits"], {"image": x})[0]
    assert single.shape == (len(x), 10) and single.dtype == np.float32
    assert np.allclose(single, whole, atol=1e-4), "batch-1 and batched outputs disagree"
    return single


# ---------------------------------------------------------------------------
# Fixture writers


def f32(value):
    """Shortest decimal that round-trips the float32 value, as a Python float."""
    return float(str(np.float32(value)))


def write_json_rows(path, head, rows_key, rows, tail=None):
    """Write a JSON object whose big array `rows_key` is printed one row per line."""
    parts = [json.dumps(k) + ": " + json.dumps(v) for k, v in head.items()]
    body = ",\n".join("    " + json.dumps(r, separators=(",", ":")) for r in rows)
    parts.append(json.dumps(rows_key) + ": [\n" + body + "\n  ]")
    for k, v in (tail or {}).items():
        parts.append(json.dumps(k) + ": " + json.dumps(v))
    path.write_text("{\n  " + ",\n  ".join(parts) + "\n}\n")


def write_reference(path, version, results):
    """reference.json: per model sha256, accuracy and logits, one image per line."""
    lines = ["{", f'  "onnxruntime": {json.dumps(version)},', '  "models": {']
    for mi, (name, r) in enumerate(results.items()):
        lines.append(f"    {json.dumps(name)}: {{")
        lines.append(f'      "sha256": {json.dumps(r["sha256"])},')
        lines.append(f'      "accuracy": {json.dumps(r["accuracy"])},')
        lines.append('      "logits": [')
        rows = [json.dumps([f32(v) for v in row], separators=(",", ":")) for row in r["logits"]]
        lines.append(",\n".join("        " + row for row in rows))
        lines.append("      ]")
        lines.append("    }" + ("," if mi + 1 < len(results) else ""))
    lines += ["  }", "}"]
    path.write_text("\n".join(lines) + "\n")


def png_gray(path, img):
    """Write an 8-bit grayscale PNG (no Pillow needed): signature, IHDR, IDAT, IEND."""
    h, w = img.shape

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + bytes(img[r].astype(np.uint8).tolist()) for r in range(h))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(png)


def write_samples(x_test, y_test):
    SAMPLES.mkdir(parents=True, exist_ok=True)
    labels = {}
    for label in range(10):
        i = int(np.flatnonzero(y_test == label)[0])
        pix = x_test[i].reshape(8, 8)
        gray = np.round(pix * 255 / SCALE).astype(np.uint8)
        big = np.repeat(np.repeat(gray, 4, axis=0), 4, axis=1)  # nearest neighbour, 32x32
        name = f"digit-{label}.png"
        png_gray(SAMPLES / name, big)
        labels[name] = label
        if label == 3:
            values = [float(v) for v in to_input(x_test[i : i + 1]).ravel()]
            (SAMPLES / "values-3.json").write_text(json.dumps({"values": values}) + "\n")
    (SAMPLES / "labels.json").write_text(json.dumps(labels, indent=2) + "\n")


# ---------------------------------------------------------------------------


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    x_train, x_test, y_train, y_test = load_split()
    assert len(x_test) == 360
    x = to_input(x_test)

    t = time.perf_counter()
    mlp_w, mlp_iters = train_mlp(x_train, y_train)
    log(f"mlp: trained in {time.perf_counter() - t:.1f}s ({mlp_iters} iterations)")
    t = time.perf_counter()
    cnn_w = train_cnn(x_train, y_train)
    log(f"cnn: trained in {time.perf_counter() - t:.1f}s")

    results = {}
    for name, model, w in (("mlp", mlp_model(mlp_w), mlp_w), ("cnn", cnn_model(cnn_w), cnn_w)):
        path = OUT / f"{name}.onnx"
        onnx.save(model, str(path))
        onnx.checker.check_model(str(path), full_check=True)
        logits = run_onnxruntime(path, x)
        acc = float(np.mean(logits.argmax(axis=1) == y_test))
        params = sum(int(v.size) for v in w.values())
        results[name] = {"sha256": sha256(path), "accuracy": acc, "logits": logits}
        log(
            f"{name}: {path.relative_to(ROOT)} {path.stat().st_size} bytes, {params} parameters, "
            f"onnxruntime accuracy {acc:.4f} ({int(round(acc * 360))}/360), sha256 {results[name]['sha256']}"
        )

    write_json_rows(
        OUT / "test-split.json",
        {
            "description": "Test split of scikit-learn's digits set: 8x8 grayscale images, integer "
            "pixels 0..16 (0 = background, 16 = ink), row-major. Model input = pixels / scale as "
            "float32, shape [1, 1, 8, 8] per image.",
            "split": SPLIT,
            "shape": [1, 1, 8, 8],
            "scale": SCALE,
            "labels": [int(v) for v in y_test],
        },
        "pixels",
        [[int(v) for v in row] for row in x_test],
    )
    write_reference(OUT / "reference.json", ort.__version__, results)
    write_samples(x_test, y_test)
    for rel in ("test-split.json", "reference.json", "samples"):
        print(OUT / rel)


if __name__ == "__main__":
    main()
