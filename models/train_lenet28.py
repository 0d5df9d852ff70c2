"""Train LeNet28, a LeNet-style CNN on 28x28 images, and write its ONNX file and test fixtures.

Data: scikit-learn's bundled digits set (1,797 grayscale 8x8 images, pixel values 0..16,
shipped inside the scikit-learn wheel, no download), split exactly like the digits models
(``train_test_split(test_size=0.2, random_state=0, stratify=y)``: 1,437 training and 360 test
images), each image upsampled to 28x28:

  1. value = pixel / 16, in [0, 1];
  2. bilinear resize 8x8 -> 28x28 with half-pixel centres (the source coordinate of output
     pixel i is (i + 0.5) * 8 / 28 - 0.5, clamped to [0, 7]; no antialiasing), applied as
     ``A @ image @ A.T`` with a fixed 28x8 interpolation matrix ``A``;
  3. stored as 8-bit grayscale: round(value * 255), like MNIST's bytes.

Model input = byte / 255. This is the 8x8 set seen at 28x28, not MNIST: the images are
smoother and the task is as easy as the 8x8 one, but the network has the size and the cost of
a LeNet on MNIST, which is what the zero-knowledge benchmarks need.

Model (ops Verity's integer compiler accepts; no MaxPool, no Softmax):
  input  ``image``  float32 [batch, 1, 28, 28], value = byte / 255 (0 = background, 1 = ink)
  Conv 1->6 5x5 (no padding) -> Relu -> AveragePool 2x2/2      [6, 12, 12]
  Conv 6->16 5x5 (no padding) -> Relu -> AveragePool 2x2/2     [16, 4, 4]
  Flatten -> Gemm 256->120 -> Relu -> Gemm 120->84 -> Relu -> Gemm 84->10
  output ``logits`` float32 [batch, 10], raw class scores

Gemm nodes use transB=1 with weights stored [out, in]; Conv weights are [out, in, 5, 5]. The
graph is opset 13, IR version 7, with weights as initializers.

Training: plain numpy, float64 (im2col convolutions, softmax cross-entropy, Adam with a cosine
learning-rate schedule, random shifts of up to 2 pixels), seed 0, single-threaded.

Fixtures (deterministic; committed):
  models/lenet/lenet28.onnx       the model
  models/lenet/test-split.json    the 360 test images as 28x28 bytes (0..255) and labels
  models/lenet/reference.json     onnxruntime float32 logits for every test image

Run with the project virtualenv: ``target/pyenv/bin/python models/train_lenet28.py``
(create it with ``scripts/pyenv.sh``).
"""

import os

# Single-threaded BLAS keeps floating-point reductions in a fixed order (reproducible
# weights). Must be set before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

# Shared with the digits models: the split, the fixture writers, onnxruntime runs.
from train_digits import (  # noqa: E402
    SPLIT,
    load_split,
    log,
    run_onnxruntime,
    sha256,
    write_json_rows,
    write_reference,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "models" / "lenet"

SRC = 8  # source images are 8x8, pixels 0..16
SIZE = 28
SCALE = 255  # stored bytes 0..255
OPSET = 13
IR_VERSION = 7
KERNEL = 5
LAYERS = [  # name, shape
    ("conv1.weight", (6, 1, KERNEL, KERNEL)),
    ("conv1.bias", (6,)),
    ("conv2.weight", (16, 6, KERNEL, KERNEL)),
    ("conv2.bias", (16,)),
    ("fc1.weight", (120, 256)),
    ("fc1.bias", (120,)),
    ("fc2.weight", (84, 120)),
    ("fc2.bias", (84,)),
    ("fc3.weight", (10, 84)),
    ("fc3.bias", (10,)),
]


# ---------------------------------------------------------------------------
# Data


def bilinear_matrix(src, dst):
    """[dst, src] matrix of a 1-D bilinear resize with half-pixel centres, edges clamped."""
    a = np.zeros((dst, src))
    for i in range(dst):
        x = min(max((i + 0.5) * src / dst - 0.5, 0.0), src - 1.0)
        lo = int(np.floor(x))
        hi = min(lo + 1, src - 1)
        t = x - lo
        a[i, lo] += 1.0 - t
        a[i, hi] += t
    return a


def upsample(pixels):
    """Integer pixels [n, 64] (0..16) -> bytes [n, 28*28] (0..255)."""
    a = bilinear_matrix(SRC, SIZE)
    x = np.asarray(pixels, dtype=np.float64).reshape(-1, SRC, SRC) / 16.0
    big = np.einsum("ij,njk,lk->nil", a, x, a)
    return np.clip(np.round(big * SCALE), 0, SCALE).astype(np.int64).reshape(len(x), -1)


def to_input(data):
    """Bytes [n, 784] -> model input float32 [n, 1, 28, 28] in [0, 1]."""
    return (np.asarray(data, dtype=np.float32) / SCALE).reshape(-1, 1, SIZE, SIZE)


# ---------------------------------------------------------------------------
# Layers (numpy, float64)


def im2col(x, k):
    """[n, c, h, w] -> columns [n, c*k*k, oh*ow] for a stride-1 convolution without padding."""
    n, c, h, w = x.shape
    oh, ow = h - k + 1, w - k + 1
    cols = np.empty((n, c, k, k, oh, ow), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = x[:, :, i : i + oh, j : j + ow]
    return cols.reshape(n, c * k * k, oh * ow)


def col2im(cols, shape, k):
    """Adjoint of im2col: scatter-add columns back to [n, c, h, w]."""
    n, c, h, w = shape
    oh, ow = h - k + 1, w - k + 1
    cols = cols.reshape(n, c, k, k, oh, ow)
    x = np.zeros(shape, dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            x[:, :, i : i + oh, j : j + ow] += cols[:, :, i, j]
    return x


def conv_forward(x, w, b):
    n, _, h, wd = x.shape
    f, _, k, _ = w.shape
    cols = im2col(x, k)
    out = np.matmul(w.reshape(f, -1), cols) + b[None, :, None]
    return out.reshape(n, f, h - k + 1, wd - k + 1), cols


def conv_backward(dout, x_shape, cols, w, need_dx=True):
    n, f, oh, ow = dout.shape
    d = dout.reshape(n, f, oh * ow)
    d_flat = d.transpose(1, 0, 2).reshape(f, -1)  # [f, n*p]
    cols_flat = cols.transpose(0, 2, 1).reshape(-1, cols.shape[1])  # [n*p, k]
    dw = (d_flat @ cols_flat).reshape(w.shape)
    db = d.sum(axis=(0, 2))
    dx = col2im(np.matmul(w.reshape(f, -1).T, d), x_shape, w.shape[2]) if need_dx else None
    return dx, dw, db


def avgpool_forward(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


def avgpool_backward(dout):
    return np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3) / 4.0


def forward(p, x, keep=False):
    """Logits for x [n, 1, 28, 28]; with keep=True also the activations backward needs."""
    z1, cols1 = conv_forward(x, p["conv1.weight"], p["conv1.bias"])
    p1 = avgpool_forward(np.maximum(z1, 0))
    z2, cols2 = conv_forward(p1, p["conv2.weight"], p["conv2.bias"])
    p2 = avgpool_forward(np.maximum(z2, 0))
    flat = p2.reshape(len(x), -1)  # ONNX Flatten order: c, h, w
    z3 = flat @ p["fc1.weight"].T + p["fc1.bias"]
    a3 = np.maximum(z3, 0)
    z4 = a3 @ p["fc2.weight"].T + p["fc2.bias"]
    a4 = np.maximum(z4, 0)
    logits = a4 @ p["fc3.weight"].T + p["fc3.bias"]
    if not keep:
        return logits
    return logits, (x, cols1, z1, p1, cols2, z2, flat, z3, a3, z4, a4)


def backward(p, cache, dlogits):
    x, cols1, z1, p1, cols2, z2, flat, z3, a3, z4, a4 = cache
    g = {}
    g["fc3.weight"] = dlogits.T @ a4
    g["fc3.bias"] = dlogits.sum(axis=0)
    dz4 = (dlogits @ p["fc3.weight"]) * (z4 > 0)
    g["fc2.weight"] = dz4.T @ a3
    g["fc2.bias"] = dz4.sum(axis=0)
    dz3 = (dz4 @ p["fc2.weight"]) * (z3 > 0)
    g["fc1.weight"] = dz3.T @ flat
    g["fc1.bias"] = dz3.sum(axis=0)
    dp2 = (dz3 @ p["fc1.weight"]).reshape(z2.shape[0], z2.shape[1], z2.shape[2] // 2, z2.shape[3] // 2)
    dz2 = avgpool_backward(dp2) * (z2 > 0)
    dp1, g["conv2.weight"], g["conv2.bias"] = conv_backward(dz2, p1.shape, cols2, p["conv2.weight"])
    dz1 = avgpool_backward(dp1) * (z1 > 0)
    _, g["conv1.weight"], g["conv1.bias"] = conv_backward(
        dz1, x.shape, cols1, p["conv1.weight"], need_dx=False
    )
    return g


def shift_batch(x, rng, most=2):
    """Translate each image by up to `most` pixels in each direction (zero fill)."""
    out = np.zeros_like(x)
    dys = rng.integers(-most, most + 1, size=len(x))
    dxs = rng.integers(-most, most + 1, size=len(x))
    s = x.shape[-1]
    for i, (dy, dx) in enumerate(zip(dys, dxs)):
        src = x[i, :, max(0, -dy) : s - max(0, dy), max(0, -dx) : s - max(0, dx)]
        out[i, :, max(0, dy) : s - max(0, -dy), max(0, dx) : s - max(0, -dx)] = src
    return out


def train(x_train, y_train, epochs=30, batch=32, lr=0.002, seed=0):
    """Adam with a cosine learning-rate schedule; return float32 weights."""
    rng = np.random.default_rng(seed)
    p = {}
    for name, shape in LAYERS:
        if name.endswith(".bias"):
            p[name] = np.zeros(shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            p[name] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    x = to_input(x_train).astype(np.float64)
    n = len(x)
    total = epochs * ((n + batch - 1) // batch)
    step = 0
    for epoch in range(epochs):
        t = time.perf_counter()
        order = rng.permutation(n)
        loss = 0.0
        for s in range(0, n, batch):
            idx = order[s : s + batch]
            xb = shift_batch(x[idx], rng)
            yb = y_train[idx]
            logits, cache = forward(p, xb, keep=True)
            logits = logits - logits.max(axis=1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(axis=1, keepdims=True)
            loss -= np.log(prob[np.arange(len(idx)), yb]).sum()
            prob[np.arange(len(idx)), yb] -= 1.0
            grads = backward(p, cache, prob / len(idx))
            step += 1
            rate = lr * 0.5 * (1.0 + np.cos(np.pi * (step - 1) / total))
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * grads[k]
                v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
                mh = m[k] / (1 - b1**step)
                vh = v[k] / (1 - b2**step)
                p[k] -= rate * mh / (np.sqrt(vh) + eps)
        log(f"epoch {epoch + 1}/{epochs}: loss {loss / n:.4f} ({time.perf_counter() - t:.1f}s)")
    return {k: val.astype(np.float32) for k, val in p.items()}


# ---------------------------------------------------------------------------
# ONNX export


def lenet_model(w):
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, SIZE, SIZE])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])
    conv = dict(kernel_shape=[KERNEL, KERNEL], pads=[0, 0, 0, 0], strides=[1, 1])
    pool = dict(kernel_shape=[2, 2], strides=[2, 2])
    nodes = [
        helper.make_node("Conv", ["image", "conv1.weight", "conv1.bias"], ["conv1"], name="conv1", **conv),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("AveragePool", ["relu1"], ["pool1"], name="pool1", **pool),
        helper.make_node("Conv", ["pool1", "conv2.weight", "conv2.bias"], ["conv2"], name="conv2", **conv),
        helper.make_node("Relu", ["conv2"], ["relu2"], name="relu2"),
        helper.make_node("AveragePool", ["relu2"], ["pool2"], name="pool2", **pool),
        helper.make_node("Flatten", ["pool2"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["fc1"], name="fc1", transB=1),
        helper.make_node("Relu", ["fc1"], ["relu3"], name="relu3"),
        helper.make_node("Gemm", ["relu3", "fc2.weight", "fc2.bias"], ["fc2"], name="fc2", transB=1),
        helper.make_node("Relu", ["fc2"], ["relu4"], name="relu4"),
        helper.make_node("Gemm", ["relu4", "fc3.weight", "fc3.bias"], ["logits"], name="fc3", transB=1),
    ]
    doc = "LeNet28: image [batch,1,28,28] = bytes/255 (digits 8x8 upsampled) -> logits [batch,10]"
    inits = [numpy_helper.from_array(w[name], name=name) for name, _ in LAYERS]
    graph = helper.make_graph(nodes, "lenet28", [image], [logits], initializer=inits, doc_string=doc)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="verity models/train_lenet28.py",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


# ---------------------------------------------------------------------------


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    x_train8, x_test8, y_train, y_test = load_split()
    x_train, x_test = upsample(x_train8), upsample(x_test8)
    assert x_test.shape == (360, SIZE * SIZE)
    x = to_input(x_test)

    t = time.perf_counter()
    w = train(x_train, y_train)
    log(f"lenet28: trained in {time.perf_counter() - t:.1f}s")
    w64 = {k: v.astype(np.float64) for k, v in w.items()}
    numpy_acc = float(np.mean(forward(w64, x.astype(np.float64)).argmax(axis=1) == y_test))

    path = OUT / "lenet28.onnx"
    onnx.save(lenet_model(w), str(path))
    onnx.checker.check_model(str(path), full_check=True)
    logits = run_onnxruntime(path, x)
    acc = float(np.mean(logits.argmax(axis=1) == y_test))
    params = sum(int(v.size) for v in w.values())
    digest = sha256(path)
    log(
        f"lenet28: {path.relative_to(ROOT)} {path.stat().st_size} bytes, {params} parameters, "
        f"onnxruntime accuracy {acc:.4f} ({int(round(acc * 360))}/360, numpy {numpy_acc:.4f}), "
        f"sha256 {digest}"
    )

    write_json_rows(
        OUT / "test-split.json",
        {
            "description": "Test split of scikit-learn's digits set upsampled to 28x28: pixel/16, "
            "bilinear resize 8x8 -> 28x28 (half-pixel centres, edges clamped), rounded to bytes "
            "0..255 (0 = background, 255 = ink), row-major. Model input = bytes / scale as "
            "float32, shape [1, 1, 28, 28] per image.",
            "split": SPLIT,
            "shape": [1, 1, SIZE, SIZE],
            "scale": SCALE,
            "labels": [int(v) for v in y_test],
        },
        "pixels",
        [[int(v) for v in row] for row in x_test],
    )
    write_reference(
        OUT / "reference.json",
        ort.__version__,
        {"lenet28": {"sha256": digest, "accuracy": acc, "logits": logits}},
    )
    for rel in ("lenet28.onnx", "test-split.json", "reference.json"):
        print(OUT / rel)


if __name__ == "__main__":
    sys.exit(main())
