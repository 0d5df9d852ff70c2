//! The digits models on both paths against onnxruntime's reference outputs.

use verity_api::{CallInput, ExecPath, OutputValues};
use verity_inference::{Limits, LoadedModel, decode_image};
use verity_ledger::{DType, Mode, crypto::sha256};

use crate::fixtures::{MODELS, argmax, model, reference, samples, split};

/// Largest difference allowed between tract's and onnxruntime's float logits.
const FLOAT_TOLERANCE: f32 = 1e-4;

#[test]
fn a_loaded_model_is_shareable_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<LoadedModel>();
}

#[test]
fn models_are_named_by_the_hash_of_their_file_and_pin_the_batch() {
    for name in MODELS {
        let m = model(name);
        assert_eq!(hex(&m.id().0), reference(name).sha256, "{name}");
        let spec = m.input_spec();
        assert_eq!(spec.shape, vec![1, 1, 8, 8], "{name}");
        assert_eq!(spec.dtype, DType::F32);
        assert_eq!(m.output_shape(), &[1, 10], "{name}");
    }
}

#[test]
fn float_path_matches_onnxruntime_on_the_test_split() {
    let split = split();
    for name in MODELS {
        let m = model(name);
        let reference = reference(name);
        assert_eq!(reference.logits.len(), split.inputs.len());
        let mut correct = 0;
        let mut max_diff = 0f32;
        for ((x, label), want) in split
            .inputs
            .iter()
            .zip(&split.labels)
            .zip(&reference.logits)
        {
            let out = m.run(x, ExecPath::Float).unwrap();
            assert_eq!(out.path, ExecPath::Float);
            assert_eq!(out.shape, vec![1, 10]);
            let OutputValues::F32 { values } = &out.values else {
                panic!("float path returned {:?}", out.values)
            };
            assert_eq!(values.len(), want.len());
            for (a, b) in values.iter().zip(want) {
                max_diff = max_diff.max((a - b).abs());
            }
            correct += usize::from(argmax(values) == *label);
        }
        assert!(
            max_diff <= FLOAT_TOLERANCE,
            "{name}: max |tract - onnxruntime| = {max_diff}"
        );
        let want_correct = (reference.accuracy * split.labels.len() as f64).round() as usize;
        assert_eq!(correct, want_correct, "{name}: float accuracy");
        eprintln!(
            "{name}: float accuracy {correct}/{}, max diff {max_diff:e}",
            split.labels.len()
        );
    }
}

#[test]
fn integer_path_keeps_accuracy_within_one_point_of_float() {
    let split = split();
    let n = split.labels.len();
    for name in MODELS {
        let m = model(name);
        assert!(
            m.program().is_some(),
            "{name}: {:?}",
            m.integer_unavailable()
        );
        assert_eq!(m.integer_unavailable(), None);
        assert_eq!(m.serving_path(), ExecPath::Integer);
        assert_eq!(m.modes(), Mode::ALL.to_vec());
        let mut correct = [0usize; 2];
        for (x, label) in split.inputs.iter().zip(&split.labels) {
            for (i, path) in [ExecPath::Float, ExecPath::Integer].into_iter().enumerate() {
                let out = m.run(x, path).unwrap();
                assert_eq!(out.path, path);
                assert_eq!(out.shape, vec![1, 10]);
                correct[i] += usize::from(out.argmax() == Some(*label));
            }
        }
        let [float, integer] = correct.map(|c| 100.0 * c as f64 / n as f64);
        eprintln!("{name}: float {float:.2} %, integer {integer:.2} %");
        assert!(
            (float - integer).abs() <= 1.0,
            "{name}: float {float:.2} %, integer {integer:.2} %"
        );
    }
}

#[test]
fn integer_outputs_carry_the_program_scale_and_repeat_exactly() {
    let limits = Limits::default();
    for name in MODELS {
        let m = model(name);
        let program = m.program().unwrap();
        let input = CallInput::tensor(split().inputs[7].clone());
        let a = m.infer(&input, &limits).unwrap();
        let b = m.infer(&input, &limits).unwrap();
        assert_eq!(a.path, ExecPath::Integer);
        let OutputValues::I32 { values, frac_bits } = &a.values else {
            panic!("integer path returned {:?}", a.values)
        };
        assert_eq!(*frac_bits, program.out_frac_bits());
        assert_eq!(values.len(), 10);
        assert_eq!(a.hash(), b.hash(), "{name}");
        assert_eq!(a, b);
    }
}

#[test]
fn sample_images_are_classified_on_both_paths() {
    let limits = Limits::default();
    for (label, png) in samples() {
        let input = CallInput::image(&png);
        for name in MODELS {
            let m = model(name);
            let x = m.prepare(&input, &limits).unwrap();
            for path in [ExecPath::Float, ExecPath::Integer] {
                let out = m.run(&x, path).unwrap();
                assert_eq!(
                    out.argmax(),
                    Some(label),
                    "{name} {path:?} digit-{label}.png"
                );
            }
            assert_eq!(m.infer(&input, &limits).unwrap().argmax(), Some(label));
        }
    }
}

#[test]
fn image_decoding_recovers_the_pixels_and_is_bit_identical() {
    let limits = Limits::default();
    let split = split();
    for (label, png) in samples() {
        let x = decode_image(&png, &[1, 1, 8, 8], &limits).unwrap();
        // Each sample is a 4× nearest-neighbour enlargement of the first test image of its label
        // with values round(p·255/16); the area average of each 4×4 block gives them back.
        let first = split.labels.iter().position(|&l| l == label).unwrap();
        let want: Vec<f32> = split.pixels[first]
            .iter()
            .map(|&p| ((p * 255 * 2 + 16) / 32) as f32 / 255.0)
            .collect();
        assert_eq!(x, want, "digit-{label}.png");
    }
    // Golden hash of the tensor of digit-3.png at a size that does not divide 32 evenly (so
    // partial-pixel weights and rounding are exercised), and at the models' size.
    let png = &samples()[3].1;
    let bytes = |x: Vec<f32>| -> Vec<u8> { x.iter().flat_map(|v| v.to_le_bytes()).collect() };
    let odd = bytes(decode_image(png, &[1, 1, 7, 5], &limits).unwrap());
    let rgb = bytes(decode_image(png, &[1, 3, 8, 8], &limits).unwrap());
    let eight = bytes(decode_image(png, &[1, 1, 8, 8], &limits).unwrap());
    assert_eq!(rgb[..eight.len()], eight[..], "gray image: R plane = luma");
    assert_eq!(hex(&sha256(&[&odd]).0), GOLDEN_7X5);
    assert_eq!(hex(&sha256(&[&eight]).0), GOLDEN_8X8);
}

/// SHA-256 of the little-endian `f32` tensor of `digit-3.png` resized to 5 wide × 7 high. Both
/// golden hashes were checked against an independent reference that computes each area average
/// as an exact rational number (Python `fractions`) from the PNG's raw pixels.
const GOLDEN_7X5: &str = "f178d8c836f117c9c8da7bbecb32b140c27f35eb36bf509756d5c725420f0235";
/// SHA-256 of the little-endian `f32` tensor of `digit-3.png` at 8 × 8.
const GOLDEN_8X8: &str = "c8fa2df24eae8238be09863f2f23259ddc9518b3059669911b13a51bea0f3d53";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
