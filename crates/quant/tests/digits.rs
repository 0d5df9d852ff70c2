//! The digits models (`models/digits/`): accuracy of the integer programs against the float
//! models, closeness of their logits to onnxruntime's, and bit-exact determinism pinned by golden
//! hashes, so a build for another CPU (`RUSTFLAGS="-C target-cpu=native"`) must reproduce them.

mod common;

use common::{argmax, digits_path, hash_i32s, hex};
use serde_json::Value;
use sha2::{Digest, Sha256};
use verity_quant::{CompileOptions, Program, compile};

/// Largest |dequantized integer logit − float logit| over the split. With the default 8
/// fractional bits each rounding moves a value by at most 2^-9; measured worst cases are 0.06
/// (MLP) and 0.11 (CNN) on logits of magnitude up to 30.
const MAX_LOGIT_ERROR: f32 = 0.25;
/// Largest mean |dequantized integer logit − float logit| (measured: 0.015 and 0.020).
const MEAN_LOGIT_ERROR: f32 = 0.05;

/// SHA-256 of each program's encoding, compiled with the default options.
const GOLDEN_PROGRAM: [(&str, &str); 2] = [
    (
        "mlp",
        "1a6bd507743c198b5272456e5c792bb2a6e66ebb6a7b2f6dc4e2fd673d187c08",
    ),
    (
        "cnn",
        "737d216e60acf56ff860802f7b27e6d01bdfd05a2ee0e4f5274c48588dc41270",
    ),
];
/// SHA-256 of the little-endian bytes of every integer logit of the split, in order.
const GOLDEN_OUTPUTS: [(&str, &str); 2] = [
    (
        "mlp",
        "2aaa2df9112046f9d839b36b4025ae5d1749e2fcc9d53ae8b68a9ad5ea021567",
    ),
    (
        "cnn",
        "bc926e2c568391e3716db349b77470a09092eaf7e212f29e9bf1de8fe72fb566",
    ),
];

struct Split {
    labels: Vec<usize>,
    /// Model inputs: pixels / scale.
    images: Vec<Vec<f32>>,
}

fn json(name: &str) -> Value {
    let path = digits_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn split() -> Split {
    let split = json("test-split.json");
    let scale = split["scale"].as_f64().unwrap() as f32;
    let labels: Vec<usize> = split["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let images: Vec<Vec<f32>> = split["pixels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32 / scale)
                .collect()
        })
        .collect();
    assert_eq!((labels.len(), images.len()), (360, 360));
    Split { labels, images }
}

/// The model's bytes, checked against the hash recorded with the float reference.
fn model(name: &str) -> Vec<u8> {
    let bytes = std::fs::read(digits_path(&format!("{name}.onnx"))).unwrap();
    let reference = json("reference.json");
    assert_eq!(
        hex(&Sha256::digest(&bytes)),
        reference["models"][name]["sha256"].as_str().unwrap(),
        "reference.json was produced from another {name}.onnx"
    );
    bytes
}

fn program(name: &str) -> Program {
    compile(&model(name), &CompileOptions::default()).unwrap()
}

/// Float accuracy and logits recorded by onnxruntime.
fn reference(name: &str) -> (f64, Vec<Vec<f32>>) {
    let reference = json("reference.json");
    let accuracy = reference["models"][name]["accuracy"].as_f64().unwrap();
    let logits = reference["models"][name]["logits"]
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
        .collect();
    (accuracy, logits)
}

fn check_accuracy_and_logits(name: &str) {
    let program = program(name);
    let split = split();
    let (float_accuracy, float_logits) = reference(name);
    let (mut correct, mut agree, mut worst, mut total_error, mut count) = (0, 0, 0.0f32, 0.0f32, 0);
    for ((image, &label), float) in split.images.iter().zip(&split.labels).zip(&float_logits) {
        let logits = program.dequantize_output(&program.run_f32(image).unwrap());
        assert_eq!(logits.len(), 10);
        correct += usize::from(argmax(&logits) == label);
        agree += usize::from(argmax(&logits) == argmax(float));
        for (a, b) in logits.iter().zip(float) {
            worst = worst.max((a - b).abs());
            total_error += (a - b).abs();
            count += 1;
        }
    }
    let accuracy = correct as f64 / split.labels.len() as f64;
    let agreement = agree as f64 / split.labels.len() as f64;
    let mean_error = total_error / count as f32;
    eprintln!(
        "{name}: float accuracy {:.2} %, integer accuracy {:.2} %, argmax agreement {:.2} %, logit error max {worst:.4} mean {mean_error:.4}, {:?}",
        100.0 * float_accuracy,
        100.0 * accuracy,
        100.0 * agreement,
        program.stats()
    );
    assert!(
        (accuracy - float_accuracy).abs() <= 0.01,
        "{name}: {accuracy} vs float {float_accuracy}"
    );
    assert!(agreement >= 0.98, "{name}: argmax agreement {agreement}");
    assert!(worst <= MAX_LOGIT_ERROR, "{name}: max logit error {worst}");
    assert!(
        mean_error <= MEAN_LOGIT_ERROR,
        "{name}: mean logit error {mean_error}"
    );
}

#[test]
fn mlp_accuracy_and_logits_match_float() {
    check_accuracy_and_logits("mlp");
}

#[test]
fn cnn_accuracy_and_logits_match_float() {
    check_accuracy_and_logits("cnn");
}

fn check_determinism(name: &str) {
    let program = program(name);
    let inputs: Vec<i32> = split()
        .images
        .iter()
        .flat_map(|x| program.quantize_input(x).unwrap())
        .collect();
    let one_by_one = program.run_batch(&inputs, 360).unwrap();
    let mut batched = Vec::new();
    for chunk in inputs.chunks(32 * program.input_len()) {
        batched.extend(
            program
                .run_batch(chunk, chunk.len() / program.input_len())
                .unwrap(),
        );
    }
    assert_eq!(one_by_one, batched);
    let singles: Vec<i32> = inputs
        .chunks(program.input_len())
        .flat_map(|x| program.run(x).unwrap())
        .collect();
    assert_eq!(one_by_one, singles);

    let program_hash = hex(&program.hash());
    let outputs_hash = hash_i32s(&one_by_one);
    eprintln!("{name}: program {program_hash}, outputs {outputs_hash}");
    let golden =
        |table: [(&str, &'static str); 2]| table.iter().find(|(m, _)| *m == name).unwrap().1;
    assert_eq!(program_hash, golden(GOLDEN_PROGRAM), "{name}: program hash");
    assert_eq!(outputs_hash, golden(GOLDEN_OUTPUTS), "{name}: outputs hash");
}

#[test]
fn mlp_outputs_are_bit_exact_and_batch_independent() {
    check_determinism("mlp");
}

#[test]
fn cnn_outputs_are_bit_exact_and_batch_independent() {
    check_determinism("cnn");
}
