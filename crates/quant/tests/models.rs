//! Compiling and running the small committed test graphs (`tests/data/*.onnx`, written by
//! `make_test_models.py`): agreement with onnxruntime's float outputs, the lowering of each
//! operator, refusals, and the program encoding.

mod common;

use common::{XorShift, test_model};
use serde_json::Value;
use verity_quant::{
    CompileError, CompileOptions, InvalidProgram, LinearOp, Program, ProgramDecodeError, RunError,
    compile,
};

/// Largest allowed |dequantized integer output − float output| on the small graphs. Each
/// rounding (weights at 2^-9, activations at 2^-9 with the default 8 fractional bits) moves a
/// value by at most 2^-9 ≈ 0.002; through two or three layers of at most 16 inputs with weights
/// of magnitude ≲ 1.5 the worst case stays below 0.06, and typical errors are far smaller.
const TOLERANCE: f32 = 0.06;

fn reference(model: &str) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let text = std::fs::read_to_string(common::data_path("reference.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let rows = |key: &str| -> Vec<Vec<f32>> {
        json[model][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect()
            })
            .collect()
    };
    (rows("inputs"), rows("outputs"))
}

fn compiled(model: &str) -> Program {
    compile(
        &test_model(&format!("{model}.onnx")),
        &CompileOptions::default(),
    )
    .unwrap()
}

/// Largest |dequantized output − float output| over the reference inputs.
fn max_error(model: &str) -> f32 {
    let program = compiled(model);
    let (inputs, outputs) = reference(model);
    assert!(!inputs.is_empty());
    let mut worst = 0.0f32;
    for (x, expected) in inputs.iter().zip(&outputs) {
        let y = program.dequantize_output(&program.run_f32(x).unwrap());
        assert_eq!(y.len(), expected.len());
        for (a, b) in y.iter().zip(expected) {
            worst = worst.max((a - b).abs());
        }
    }
    eprintln!("{model}: max |integer - float| = {worst}");
    worst
}

#[test]
fn mlp_matches_float_reference() {
    assert!(max_error("mlp_gemm") <= TOLERANCE);
}

#[test]
fn cnn_matches_float_reference() {
    assert!(max_error("cnn") <= TOLERANCE);
}

#[test]
fn residual_matches_float_reference() {
    assert!(max_error("residual") <= TOLERANCE);
}

fn kinds(program: &Program) -> Vec<(&'static str, bool)> {
    program
        .layers()
        .iter()
        .map(|layer| {
            let kind = match &layer.op {
                LinearOp::Dense(_) => "dense",
                LinearOp::Conv2d(_) => "conv",
                LinearOp::SumPool(_) => "sum-pool",
                LinearOp::Add(_) => "add",
                LinearOp::Offset(_) => "offset",
            };
            (kind, layer.relu)
        })
        .collect()
}

#[test]
fn lowering_fuses_relu_and_bias_and_shares_multi_use_values() {
    // Flatten and Identity vanish, Relu fuses, MatMul + Add becomes one dense layer.
    let mlp = compiled("mlp_gemm");
    assert_eq!(kinds(&mlp), [("dense", true), ("dense", false)]);
    assert_eq!(mlp.input_shape(), [1, 4, 4]);
    assert_eq!((mlp.input_len(), mlp.output_len()), (16, 5));

    // Divide by 3 with a reciprocal, by 4 with a shift; Reshape vanishes.
    let cnn = compiled("cnn");
    assert_eq!(
        kinds(&cnn),
        [
            ("conv", true),
            ("sum-pool", false),
            ("sum-pool", false),
            ("dense", false)
        ]
    );
    let layers = cnn.layers();
    assert_eq!(
        (layers[1].mul, layers[1].shift),
        ((1u64 << 20).div_ceil(3) as u32, 20)
    );
    assert_eq!((layers[2].mul, layers[2].shift), (1, 2));
    assert_eq!((layers[0].shift, layers[3].shift), (8, 8));

    // The pre-activation feeds both a Relu and the skip Add, so it is a layer of its own and the
    // Relu is a zero offset; the constant after the Add is an offset with the final ReLU.
    let residual = compiled("residual");
    assert_eq!(
        kinds(&residual),
        [
            ("dense", false),
            ("offset", true),
            ("dense", false),
            ("add", false),
            ("offset", true)
        ]
    );
}

#[test]
fn stats_count_layers_params_and_work() {
    let stats = compiled("mlp_gemm").stats();
    assert_eq!(stats.layers, 2);
    assert_eq!(stats.params, 8 * 16 + 8 + 8 * 5 + 5);
    assert_eq!(stats.macs, 8 * 16 + 8 * 5);
    assert_eq!(stats.activations, 8 + 5);
    assert_eq!(stats.shift_bits, (8 + 5) * 8);
    assert_eq!(stats.act_bits, 16);

    // Conv [4, 4, 6] from 2 channels and a 3×2 kernel; pools have no multiplies.
    let cnn = compiled("cnn").stats();
    assert_eq!(cnn.macs, 4 * 4 * 6 * 2 * 3 * 2 + 8 * 3);
    assert_eq!(cnn.activations, 96 + 32 + 8 + 3);
}

#[test]
fn golden_program_hashes() {
    // Changing the compiler's output or the encoding changes these; update them deliberately.
    let hashes: Vec<String> = ["mlp_gemm", "cnn", "residual"]
        .iter()
        .map(|m| common::hex(&compiled(m).hash()))
        .collect();
    for (model, hash) in ["mlp_gemm", "cnn", "residual"].iter().zip(&hashes) {
        eprintln!("{model}: {hash}");
    }
    assert_eq!(hashes, GOLDEN_TINY_PROGRAMS);
}

const GOLDEN_TINY_PROGRAMS: [&str; 3] = [
    "dc4d43e02ba0739d7e82771b4fa4f2faa810554fe3bf32cf29cd3cf5a8ab1c1e",
    "762d6f06575af33f07ff1d2785110bab25f2136c3154debb69224583d7cbe722",
    "fc12f420078919205be8bf4e71271593d7d062ee826409871f3300f07d4c390c",
];

fn compile_error(file: &str) -> CompileError {
    compile(&test_model(file), &CompileOptions::default()).unwrap_err()
}

#[test]
fn unsupported_ops_are_refused_with_op_node_and_fix() {
    let softmax = compile_error("softmax.onnx");
    assert!(
        matches!(&softmax, CompileError::UnsupportedOp { op, node, .. } if op == "Softmax" && node == "final_softmax")
    );
    let message = softmax.to_string();
    assert!(
        message.contains("Softmax")
            && message.contains("final_softmax")
            && message.contains("logits"),
        "{message}"
    );

    let maxpool = compile_error("maxpool.onnx").to_string();
    assert!(
        maxpool.contains("MaxPool")
            && maxpool.contains("'pool'")
            && maxpool.contains("AveragePool"),
        "{maxpool}"
    );
}

#[test]
fn non_f32_weights_and_dynamic_shapes_are_refused() {
    let float64 = compile_error("float64.onnx");
    assert!(
        matches!(&float64, CompileError::UnsupportedType { name, dtype } if name == "w" && dtype == "DOUBLE")
    );
    assert!(float64.to_string().contains("float32"));

    let dynamic = compile_error("dynamic.onnx");
    assert!(
        matches!(&dynamic, CompileError::DynamicShape { name, axis: 1 } if name == "x"),
        "{dynamic}"
    );
}

#[test]
fn corrupt_onnx_bytes_are_errors() {
    assert!(matches!(
        compile(&[], &CompileOptions::default()),
        Err(CompileError::Malformed(_))
    ));
    let mut rng = XorShift(0x5eed);
    for len in [1, 7, 64, 1000, 10_000] {
        assert!(compile(&rng.bytes(len), &CompileOptions::default()).is_err());
    }
    let model = test_model("cnn.onnx");
    for len in (1..model.len()).step_by(7) {
        assert!(
            compile(&model[..len], &CompileOptions::default()).is_err(),
            "truncated to {len} bytes"
        );
    }
    let mut flipped = model.clone();
    for i in (0..model.len()).step_by(5) {
        flipped[i] ^= 0xa5;
        // Any outcome but a panic; a surviving model must still be a valid program.
        if let Ok(p) = compile(&flipped, &CompileOptions::default()) {
            Program::decode(&p.encode()).unwrap();
        }
        flipped[i] ^= 0xa5;
    }
}

#[test]
fn invalid_options_are_refused() {
    let model = test_model("mlp_gemm.onnx");
    for options in [
        CompileOptions {
            act_bits: 1,
            ..CompileOptions::default()
        },
        CompileOptions {
            act_bits: 25,
            ..CompileOptions::default()
        },
        CompileOptions {
            weight_frac_bits: 25,
            ..CompileOptions::default()
        },
        CompileOptions {
            act_frac_bits: 25,
            ..CompileOptions::default()
        },
    ] {
        assert!(
            matches!(compile(&model, &options), Err(CompileError::Options(_))),
            "{options:?}"
        );
    }
}

#[test]
fn input_checks() {
    let program = compiled("mlp_gemm");
    let err = program.run(&[0; 15]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input has 15 values, the model takes 16 (shape [1, 4, 4])"
    );
    assert!(matches!(
        program.quantize_input(&[0.0; 17]),
        Err(RunError::InputLength { got: 17, .. })
    ));

    let mut x = vec![0.25f32; 16];
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        x[3] = bad;
        assert!(matches!(
            program.quantize_input(&x),
            Err(RunError::NonFinite { index: 3, .. })
        ));
        assert!(program.run_f32(&x).is_err());
    }

    let err = program.run_batch(&[0; 16 * 3 - 1], 3).unwrap_err();
    assert!(matches!(
        err,
        RunError::BatchLength {
            got: 47,
            batch: 3,
            per_sample: 16
        }
    ));
    assert!(program.run_batch(&[0; 16], usize::MAX).is_err());
    assert_eq!(program.run_batch(&[], 0).unwrap(), Vec::<i32>::new());
}

#[test]
fn input_quantization_rounds_half_away_from_zero_and_clamps() {
    let program = compiled("mlp_gemm");
    assert_eq!(
        (program.in_frac_bits(), program.act_range()),
        (8, (-32768, 32767))
    );
    let mut x = vec![0.0f32; 16];
    x[..6].copy_from_slice(&[0.5 / 256.0, -0.5 / 256.0, 1.0, -1.25, 1e6, -1e6]);
    let q = program.quantize_input(&x).unwrap();
    assert_eq!(q[..6], [1, -1, 256, -320, 32767, -32768]);
    assert_eq!(
        program.dequantize_output(&[256, -384, 1]),
        [1.0, -1.5, 1.0 / 256.0]
    );
    assert_eq!(program.out_frac_bits(), 8);
}

#[test]
fn encoding_round_trips_and_is_strict() {
    let program = compiled("cnn");
    let bytes = program.encode();
    assert_eq!(Program::decode(&bytes).unwrap(), program);
    assert_eq!(borsh::from_slice::<Program>(&bytes).unwrap(), program);
    let json = serde_json::to_string(&program).unwrap();
    assert_eq!(serde_json::from_str::<Program>(&json).unwrap(), program);

    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(
        Program::decode(&trailing),
        Err(ProgramDecodeError::Malformed(_))
    ));
    for len in 0..bytes.len() {
        assert!(
            Program::decode(&bytes[..len]).is_err(),
            "truncated to {len}"
        );
    }
    let mut version = bytes.clone();
    version[0] = 2;
    assert!(matches!(
        Program::decode(&version),
        Err(ProgramDecodeError::Invalid(InvalidProgram::Version {
            got: 2,
            expected: 1
        }))
    ));
    assert!(matches!(
        Program::decode(&vec![0; verity_quant::MAX_PROGRAM_BYTES + 1]),
        Err(ProgramDecodeError::TooLarge { .. })
    ));
}

/// Edits the JSON form of a program and returns the message with which deserializing it fails.
fn tampered(program: &Program, edit: fn(&mut Value)) -> String {
    let mut json = serde_json::to_value(program).unwrap();
    edit(&mut json);
    match serde_json::from_value::<Program>(json) {
        Ok(_) => panic!("a tampered program was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tampered_programs_are_refused() {
    let program = compiled("mlp_gemm");
    let error = |edit: fn(&mut Value)| tampered(&program, edit);

    let msg = error(|j| {
        j["layers"][0]["op"]["Dense"]["weights"]
            .as_array_mut()
            .unwrap()
            .truncate(3)
    });
    assert!(msg.contains("weights has 3 values"), "{msg}");
    let msg = error(|j| j["layers"][1]["op"]["Dense"]["input"] = 5.into());
    assert!(msg.contains("reads tensor 5"), "{msg}");
    let msg = error(|j| j["layers"][0]["shift"] = 63.into());
    assert!(msg.contains("shift"), "{msg}");
    let msg = error(|j| j["layers"][0]["mul"] = 0.into());
    assert!(msg.contains("multiplier"), "{msg}");
    let msg = error(|j| j["layers"][0]["op"]["Dense"]["bias"][0] = (i64::MAX - 1).into());
    assert!(msg.contains("does not fit in i64"), "{msg}");
    let msg = error(|j| j["output"] = 3.into());
    assert!(msg.contains("output is tensor 3"), "{msg}");
    let msg = error(|j| j["act_bits"] = 32.into());
    assert!(msg.contains("act_bits"), "{msg}");
    let msg = error(|j| j["input_shape"] = serde_json::json!([1, 4, 5]));
    assert!(msg.contains("input has 20 values"), "{msg}");

    // The same holds for the canonical binary form: re-encode a tampered body by hand.
    let mut bytes = program.encode();
    let shape_at = 4 + 4; // version, then the length of input_shape
    bytes[shape_at + 8] = 5; // input_shape [1, 4, 4] -> [1, 4, 5]
    assert!(matches!(
        Program::decode(&bytes),
        Err(ProgramDecodeError::Invalid(InvalidProgram::Shape {
            layer: 0,
            ..
        }))
    ));
}
