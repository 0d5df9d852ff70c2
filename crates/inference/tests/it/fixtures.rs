//! The committed digits models, test split, onnxruntime reference outputs and sample images.

use std::{
    path::{Path, PathBuf},
    sync::LazyLock,
};

use serde::Deserialize;
use verity_inference::LoadedModel;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file under `models/digits`.
pub fn digits_file(name: &str) -> Vec<u8> {
    let path = root().join("models/digits").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The two digits models, by name.
pub const MODELS: [&str; 2] = ["mlp", "cnn"];

/// A digits model, loaded once per test binary.
pub fn model(name: &str) -> &'static LoadedModel {
    static MLP: LazyLock<LoadedModel> = LazyLock::new(|| load("mlp"));
    static CNN: LazyLock<LoadedModel> = LazyLock::new(|| load("cnn"));
    match name {
        "mlp" => &MLP,
        "cnn" => &CNN,
        _ => panic!("no model {name}"),
    }
}

fn load(name: &str) -> LoadedModel {
    LoadedModel::load(&digits_file(&format!("{name}.onnx"))).unwrap()
}

/// The test split: 360 inputs of 64 values (`pixels / 16`) and their labels.
pub struct Split {
    pub labels: Vec<usize>,
    pub inputs: Vec<Vec<f32>>,
    /// The integer pixels, 0..=16.
    pub pixels: Vec<Vec<u32>>,
}

pub fn split() -> &'static Split {
    static SPLIT: LazyLock<Split> = LazyLock::new(|| {
        #[derive(Deserialize)]
        struct File {
            labels: Vec<usize>,
            pixels: Vec<Vec<u32>>,
            scale: u32,
        }
        let file: File = serde_json::from_slice(&digits_file("test-split.json")).unwrap();
        let inputs = file
            .pixels
            .iter()
            .map(|p| p.iter().map(|&v| v as f32 / file.scale as f32).collect())
            .collect();
        Split {
            labels: file.labels,
            inputs,
            pixels: file.pixels,
        }
    });
    &SPLIT
}

/// onnxruntime's outputs for one model.
#[derive(Deserialize)]
pub struct Reference {
    pub sha256: String,
    pub accuracy: f64,
    pub logits: Vec<Vec<f32>>,
}

pub fn reference(name: &str) -> Reference {
    #[derive(Deserialize)]
    struct File {
        models: std::collections::BTreeMap<String, Reference>,
    }
    let mut file: File = serde_json::from_slice(&digits_file("reference.json")).unwrap();
    file.models.remove(name).unwrap()
}

/// The sample images: `(label, PNG bytes)` for digits 0 to 9.
pub fn samples() -> Vec<(usize, Vec<u8>)> {
    let labels: std::collections::BTreeMap<String, usize> =
        serde_json::from_slice(&digits_file("samples/labels.json")).unwrap();
    assert_eq!(labels.len(), 10);
    labels
        .into_iter()
        .map(|(file, label)| (label, digits_file(&format!("samples/{file}"))))
        .collect()
}

/// Index of the largest value (the first on ties).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}
