//! Helpers shared by the integration tests: the bundled models, their test split, and small
//! hand-built programs.

#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::{Value, json};
use verity_quant::{CompileOptions, Program, compile};

/// Path of a file under the workspace's `models/digits/`.
pub fn digits_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/digits")
        .join(name)
}

/// A bundled digits model (`"mlp"` or `"cnn"`) compiled with the default options.
pub fn digits_program(name: &str) -> Program {
    let path = digits_path(&format!("{name}.onnx"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    compile(&bytes, &CompileOptions::default()).unwrap()
}

/// The first `count` images of the digits test split as model inputs (pixel / scale), quantized
/// for `program`.
pub fn test_inputs(program: &Program, count: usize) -> Vec<Vec<i32>> {
    let text = std::fs::read_to_string(digits_path("test-split.json")).unwrap();
    let split: Value = serde_json::from_str(&text).unwrap();
    let scale = split["scale"].as_f64().unwrap();
    split["pixels"]
        .as_array()
        .unwrap()
        .iter()
        .take(count)
        .map(|row| {
            let x: Vec<f32> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|v| (v.as_f64().unwrap() / scale) as f32)
                .collect();
            program.quantize_input(&x).unwrap()
        })
        .collect()
}

/// A program from its fields (see `verity_quant::program`), validated by the decoder.
pub fn program(input_shape: &[u32], act_bits: u32, layers: Vec<Value>, output: u32) -> Program {
    serde_json::from_value(json!({
        "version": verity_quant::FORMAT_VERSION,
        "input_shape": input_shape,
        "in_frac_bits": 4,
        "out_frac_bits": 4,
        "act_bits": act_bits,
        "layers": layers,
        "output": output,
    }))
    .unwrap()
}

/// A layer from its op (`{"Dense": {...}}` etc.) and requantization.
pub fn layer(op: Value, mul: u32, shift: u32, relu: bool) -> Value {
    json!({ "op": op, "mul": mul, "shift": shift, "relu": relu })
}

/// `out × in` dense op reading `input`, weights and biases given.
pub fn dense(input: u32, in_len: u32, weights: &[i32], bias: &[i64]) -> Value {
    json!({ "Dense": {
        "input": input,
        "in_len": in_len,
        "out_len": bias.len(),
        "weights": weights,
        "bias": bias,
    }})
}

/// A small program of every op kind and every clamp case, 8-bit activations: a dense layer with
/// ReLU, a 3×3 convolution with padding and stride, a sum-pool whose window (3) is not a power
/// of two, an add of two tensors, an offset, and a dense layer without ReLU as the output.
pub fn all_ops_program() -> Program {
    let conv = json!({ "Conv2d": {
        "input": 0, "in_channels": 1, "in_height": 4, "in_width": 4, "out_channels": 2,
        "kernel_height": 3, "kernel_width": 3, "stride_height": 1, "stride_width": 2,
        "pad_top": 1, "pad_left": 1, "pad_bottom": 1, "pad_right": 0,
        "weights": [3, -5, 2, 7, 1, -1, 0, 4, -6, -2, 2, 9, -8, 1, 1, 3, 0, -3],
        "bias": [17, -40],
    }});
    // Conv output: 2 channels × 4 rows × 2 columns = 16 values (tensor 1).
    let pool = json!({ "SumPool": {
        "input": 1, "channels": 2, "in_height": 4, "in_width": 2,
        "kernel_height": 3, "kernel_width": 1, "stride_height": 1, "stride_width": 1,
    }});
    // Pool output: 2 × 2 × 2 = 8 values (tensor 2); mul = ceil(2^p / 3), p = 8 + 2·2.
    let dense1 = dense(
        0,
        16,
        &(0..16 * 8)
            .map(|i| (i * 37 % 23) - 11)
            .collect::<Vec<i32>>(),
        &[5, -3, 100, -200, 0, 7, 64, -64],
    );
    // tensor 3: 8 values
    let add = json!({ "Add": { "a": 2, "b": 3, "len": 8 } });
    // tensor 4
    let offset =
        json!({ "Offset": { "input": 4, "offset": [-300, 300, 0, 1, -1, 50, -50, 1000] } });
    // tensor 5
    let out = dense(
        5,
        8,
        &(0..8 * 5).map(|i| (i * 11 % 13) - 6).collect::<Vec<i32>>(),
        &[1, 2, 3, -4, 0],
    );
    program(
        &[1, 4, 4],
        8,
        vec![
            layer(conv, 1, 2, true),
            layer(pool, 1366, 12, false),
            layer(dense1, 1, 3, true),
            layer(add, 1, 0, false),
            layer(offset, 1, 0, true),
            layer(out, 3, 1, false),
        ],
        6,
    )
}
