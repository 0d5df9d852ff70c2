//! LeNet28 (`models/lenet/lenet28.onnx`, a LeNet-style CNN on 28×28 images): it compiles to an
//! integer program whose accuracy on the whole 360-image test split is within 1 point of the
//! float model's (recorded by onnxruntime in `models/lenet/reference.json`), with the same
//! arg-max as the float model on at least 98 % of the images.

mod common;

use common::{argmax, hex, lenet_path};
use serde_json::Value;
use sha2::{Digest, Sha256};
use verity_quant::{CompileOptions, compile};

fn json(name: &str) -> Value {
    let path = lenet_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn floats(row: &Value, scale: f32) -> Vec<f32> {
    row.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32 / scale)
        .collect()
}

#[test]
fn integer_accuracy_is_within_one_point_of_float() {
    let bytes = std::fs::read(lenet_path("lenet28.onnx")).unwrap();
    let reference = json("reference.json");
    let reference = &reference["models"]["lenet28"];
    assert_eq!(
        hex(&Sha256::digest(&bytes)),
        reference["sha256"].as_str().unwrap(),
        "reference.json was produced from another lenet28.onnx"
    );
    let float_accuracy = reference["accuracy"].as_f64().unwrap();
    let float_logits: Vec<Vec<f32>> = reference["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| floats(row, 1.0))
        .collect();

    let split = json("test-split.json");
    assert_eq!(split["shape"], serde_json::json!([1, 1, 28, 28]));
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
        .map(|row| floats(row, scale))
        .collect();
    assert_eq!(
        (labels.len(), images.len(), float_logits.len()),
        (360, 360, 360)
    );

    let program = compile(&bytes, &CompileOptions::default()).unwrap();
    assert_eq!(program.input_len(), 28 * 28);
    let (mut correct, mut agree, mut worst) = (0, 0, 0.0f32);
    for ((image, &label), float) in images.iter().zip(&labels).zip(&float_logits) {
        let logits = program.dequantize_output(&program.run_f32(image).unwrap());
        assert_eq!(logits.len(), 10);
        correct += usize::from(argmax(&logits) == label);
        agree += usize::from(argmax(&logits) == argmax(float));
        for (a, b) in logits.iter().zip(float) {
            worst = worst.max((a - b).abs());
        }
    }
    let accuracy = correct as f64 / labels.len() as f64;
    let agreement = agree as f64 / labels.len() as f64;
    eprintln!(
        "lenet28: float accuracy {:.2} %, integer accuracy {:.2} % ({correct}/360), argmax agreement {:.2} %, logit error max {worst:.4}, program {}, {:?}",
        100.0 * float_accuracy,
        100.0 * accuracy,
        100.0 * agreement,
        hex(&program.hash()),
        program.stats()
    );
    assert!(
        (accuracy - float_accuracy).abs() <= 0.01,
        "integer accuracy {accuracy} vs float {float_accuracy}"
    );
    assert!(agreement >= 0.98, "argmax agreement {agreement}");
}
