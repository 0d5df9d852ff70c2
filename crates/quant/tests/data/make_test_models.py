"""Generate the small ONNX graphs and float reference outputs used by the verity-quant tests.

Run from anywhere with a Python that has numpy, onnx and onnxruntime:

    python crates/quant/tests/data/make_test_models.py

The outputs are committed; the Rust tests never run Python. Weights come from a fixed seed, so
re-running reproduces the same files (up to onnx serialisation details).
"""

import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = pathlib.Path(__file__).resolve().parent
OPSET = [helper.make_opsetid("", 17)]
IR_VERSION = 8
RNG = np.random.default_rng(20240611)


def weights(name, shape, scale):
    array = (RNG.standard_normal(shape) * scale).astype(np.float32)
    return numpy_helper.from_array(array, name)


def batch_input(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", *shape])


def save(model, file_name, check=True):
    if check:
        onnx.checker.check_model(model, full_check=True)
    onnx.save(model, HERE / file_name)


def mlp_gemm():
    """Flatten -> Gemm(transB) -> Relu -> Identity -> MatMul -> Add(bias)."""
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "w1", "b1"], ["h"], name="fc1", transB=1),
        helper.make_node("Relu", ["h"], ["r"], name="relu1"),
        helper.make_node("Identity", ["r"], ["r2"], name="identity"),
        helper.make_node("MatMul", ["r2", "w2"], ["m"], name="fc2"),
        helper.make_node("Add", ["m", "b2"], ["y"], name="fc2_bias"),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp_gemm",
        [batch_input("x", [1, 4, 4])],
        [batch_input("y", [5])],
        [
            weights("w1", [8, 16], 0.4),
            weights("b1", [8], 0.2),
            weights("w2", [8, 5], 0.5),
            weights("b2", [5], 0.2),
        ],
    )
    return helper.make_model(graph, opset_imports=OPSET, ir_version=IR_VERSION)


def cnn():
    """Conv (non-square kernel, stride, asymmetric pads) -> Relu -> AveragePool 1x3 (divide by 3)
    -> AveragePool 2x2 (shift) -> Reshape -> Gemm."""
    nodes = [
        helper.make_node(
            "Conv", ["x", "cw", "cb"], ["c"], name="conv",
            kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1],
        ),
        helper.make_node("Relu", ["c"], ["cr"], name="relu"),
        helper.make_node("AveragePool", ["cr"], ["p1"], name="pool3", kernel_shape=[1, 3], strides=[1, 3]),
        helper.make_node("AveragePool", ["p1"], ["p2"], name="pool2x2", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["p2", "shape"], ["flat"], name="reshape"),
        helper.make_node("Gemm", ["flat", "fw", "fb"], ["y"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [batch_input("x", [2, 7, 6])],
        [batch_input("y", [3])],
        [
            weights("cw", [4, 2, 3, 2], 0.5),
            weights("cb", [4], 0.2),
            numpy_helper.from_array(np.array([-1, 8], dtype=np.int64), "shape"),
            weights("fw", [8, 3], 0.6),
            weights("fb", [3], 0.2),
        ],
    )
    return helper.make_model(graph, opset_imports=OPSET, ir_version=IR_VERSION)


def residual():
    """A pre-activation used twice (so its Relu stands alone), an Add of two tensors,
    an Add of a constant that cannot fold into a bias, and a final Relu."""
    nodes = [
        helper.make_node("Gemm", ["x", "wa", "ba"], ["h"], name="fc_a", transB=1),
        helper.make_node("Relu", ["h"], ["r"], name="relu_a"),
        helper.make_node("Gemm", ["r", "wb", "bb"], ["s"], name="fc_b", transB=1),
        helper.make_node("Add", ["s", "h"], ["t"], name="skip"),
        helper.make_node("Add", ["t", "c"], ["u"], name="shift"),
        helper.make_node("Relu", ["u"], ["y"], name="relu_out"),
    ]
    graph = helper.make_graph(
        nodes,
        "residual",
        [batch_input("x", [6])],
        [batch_input("y", [6])],
        [
            weights("wa", [6, 6], 0.5),
            weights("ba", [6], 0.2),
            weights("wb", [6, 6], 0.5),
            weights("bb", [6], 0.2),
            weights("c", [6], 0.3),
        ],
    )
    return helper.make_model(graph, opset_imports=OPSET, ir_version=IR_VERSION)


def gemm_then(op_type, file_graph_name, **attrs):
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["h"], name="fc", transB=1),
        helper.make_node(op_type, ["h"], ["y"], name=f"final_{op_type.lower()}", **attrs),
    ]
    graph = helper.make_graph(
        nodes,
        file_graph_name,
        [batch_input("x", [4])],
        [batch_input("y", [3])],
        [weights("w", [3, 4], 0.5), weights("b", [3], 0.1)],
    )
    return helper.make_model(graph, opset_imports=OPSET, ir_version=IR_VERSION)


def maxpool():
    nodes = [
        helper.make_node("Conv", ["x", "cw"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("MaxPool", ["c"], ["y"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
    ]
    graph = helper.make_graph(
        nodes,
        "maxpool",
        [batch_input("x", [1, 4, 4])],
        [batch_input("y", [2, 2, 2])],
        [weights("cw", [2, 1, 3, 3], 0.5)],
    )
    return helper.make_model(graph, opset_imports=OPSET, ir_version=IR_VERSION)


def float64_weights():
    """Gemm whose weights are doubles (an invalid model for onnxruntime, written unchecked)."""
    w = numpy_helper.from_array(RNG.standard_normal([3, 4]), "w")
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(nodes, "float64", [batch_input("x", [4])], [batch_input("y", [3])], [w])
    return helper.make_model(graph, opset_imports=OPSET, ir_version=IR_VERSION)


def dynamic_features():
    """The feature dimension is symbolic: only the batch dimension may be."""
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    graph = helper.make_graph(
        nodes,
        "dynamic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "features"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "features"])],
    )
    return helper.make_model(graph, opset_imports=OPSET, ir_version=IR_VERSION)


def reference(model, shape, count):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    inputs = RNG.uniform(-1.0, 1.0, size=[count, *shape]).astype(np.float32)
    (outputs,) = session.run(None, {"x": inputs})
    return {
        "inputs": inputs.reshape(count, -1).tolist(),
        "outputs": outputs.reshape(count, -1).tolist(),
    }


def main():
    refs = {}
    for name, model, shape in [
        ("mlp_gemm", mlp_gemm(), [1, 4, 4]),
        ("cnn", cnn(), [2, 7, 6]),
        ("residual", residual(), [6]),
    ]:
        save(model, f"{name}.onnx")
        refs[name] = reference(model, shape, 16)
    save(gemm_then("Softmax", "softmax", axis=1), "softmax.onnx")
    save(maxpool(), "maxpool.onnx")
    save(float64_weights(), "float64.onnx", check=False)
    save(dynamic_features(), "dynamic.onnx")
    with open(HERE / "reference.json", "w") as f:
        json.dump(refs, f)
        f.write("\n")


if __name__ == "__main__":
    main()
