//! Every refused input and model file, by error code.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use image::{ImageEncoder, codecs::png::PngEncoder};
use prost::Message;
use tract_onnx::pb::{
    self, tensor_proto::DataType, tensor_shape_proto::dimension::Value as Dim,
    type_proto::Value as Type,
};
use verity_api::{CallInput, ExecPath};
use verity_inference::{InferError, InputError, Limits, LoadError, LoadedModel, decode_image};
use verity_ledger::Mode;

use crate::fixtures::{digits_file, model, samples, split};

fn f32le(values: &[f32]) -> CallInput {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    CallInput::TensorF32le {
        base64: BASE64.encode(bytes),
    }
}

fn refused(input: &CallInput, limits: &Limits) -> InputError {
    let m = model("mlp");
    let err = m.prepare(input, limits).unwrap_err();
    // `infer` refuses the same way, under the same code.
    let InferError::Input(same) = m.infer(input, limits).unwrap_err() else {
        panic!("infer accepted what prepare refused")
    };
    assert_eq!(same, err);
    err
}

#[test]
fn wrong_shape_names_both_counts_and_the_shape() {
    let err = refused(&CallInput::tensor(vec![0.5; 63]), &Limits::default());
    assert_eq!(err.code(), "wrong_shape");
    let msg = err.to_string();
    assert!(msg.contains("input has 63 values"), "{msg}");
    assert!(msg.contains("[1, 1, 8, 8] = 64 values"), "{msg}");
    assert_eq!(
        refused(&f32le(&[0.5; 65]), &Limits::default()).code(),
        "wrong_shape"
    );
    assert_eq!(
        refused(&CallInput::tensor(vec![]), &Limits::default()).code(),
        "wrong_shape"
    );
}

#[test]
fn tensor_bytes_must_be_whole_f32_values() {
    let input = CallInput::TensorF32le {
        base64: BASE64.encode([0u8; 255]),
    };
    let err = refused(&input, &Limits::default());
    assert_eq!(err.code(), "wrong_dtype");
    assert!(err.to_string().contains("not a multiple of 4"), "{err}");
}

#[test]
fn oversize_inputs_are_refused_in_every_encoding() {
    let limits = Limits::default();
    let big = vec![0.0f32; limits.max_input_bytes / 4 + 1];
    assert_eq!(
        refused(&CallInput::tensor(big.clone()), &limits).code(),
        "input_too_large"
    );
    assert_eq!(refused(&f32le(&big), &limits).code(), "input_too_large");
    let mut png = samples()[0].1.clone();
    png.resize(limits.max_input_bytes + 1, 0);
    assert_eq!(
        refused(&CallInput::image(&png), &limits).code(),
        "input_too_large"
    );
    let tight = Limits {
        max_input_bytes: 255,
        ..limits
    };
    assert_eq!(
        refused(&CallInput::tensor(vec![0.0; 64]), &tight).code(),
        "input_too_large"
    );
}

#[test]
fn bad_base64_is_refused() {
    for input in [
        CallInput::TensorF32le {
            base64: "not base64!".into(),
        },
        CallInput::Image {
            base64: "iVBORw0KGgo=====".into(),
        },
    ] {
        let err = refused(&input, &Limits::default());
        assert_eq!(err.code(), "bad_encoding", "{err}");
    }
}

#[test]
fn nan_and_infinity_are_refused_naming_the_first_index() {
    let limits = Limits::default();
    let mut x = split().inputs[0].clone();
    x[17] = f32::NAN;
    x[30] = f32::INFINITY;
    for input in [f32le(&x), CallInput::tensor(x.clone())] {
        let err = refused(&input, &limits);
        assert_eq!(err.code(), "non_finite_input");
        assert!(err.to_string().contains("index 17 is NaN"), "{err}");
    }
    x[17] = 0.0;
    let err = refused(&f32le(&x), &limits);
    assert_eq!(err.code(), "non_finite_input");
    assert!(err.to_string().contains("index 30 is inf"), "{err}");
}

#[test]
fn corrupt_and_unsupported_images_are_refused() {
    let limits = Limits::default();
    let png = samples()[3].1.clone();
    // A PNG signature followed by noise (a fixed xorshift sequence).
    let mut noise = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    noise.extend((0..2000).map(|_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s as u8
    }));
    let mut jpeg_noise = noise.clone();
    jpeg_noise[..8].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F']);
    let cases: [(&str, Vec<u8>); 6] = [
        ("png noise", noise),
        ("jpeg noise", jpeg_noise),
        ("truncated png", png[..png.len() / 2].to_vec()),
        ("png signature only", png[..8].to_vec()),
        ("gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec()),
        ("empty", vec![]),
    ];
    for (what, bytes) in cases {
        let err = refused(&CallInput::image(&bytes), &limits);
        assert_eq!(err.code(), "corrupt_image", "{what}: {err}");
    }
}

#[test]
fn images_over_the_pixel_limit_are_refused_before_decoding() {
    let png = samples()[3].1.clone();
    let at = |max_image_pixels| Limits {
        max_image_pixels,
        ..Limits::default()
    };
    assert!(decode_image(&png, &[1, 1, 8, 8], &at(32 * 32)).is_ok());
    let err = decode_image(&png, &[1, 1, 8, 8], &at(32 * 32 - 1)).unwrap_err();
    assert_eq!(err.code(), "image_too_large");
    assert!(err.to_string().contains("32×32 = 1024 pixels"), "{err}");

    // A small file that claims 6000 × 3000 pixels (18 Mpx, over the default 16 Mpx).
    let mut bomb = Vec::new();
    PngEncoder::new(&mut bomb)
        .write_image(
            &vec![0u8; 6000 * 3000],
            6000,
            3000,
            image::ExtendedColorType::L8,
        )
        .unwrap();
    assert!(bomb.len() < Limits::default().max_input_bytes);
    let err = refused(&CallInput::image(&bomb), &Limits::default());
    assert_eq!(err.code(), "image_too_large");
}

#[test]
fn run_refuses_a_tensor_of_the_wrong_length() {
    let err = model("cnn").run(&[0.0; 65], ExecPath::Float).unwrap_err();
    assert_eq!(err.code(), "wrong_shape");
    let err = model("cnn").run(&[0.0; 63], ExecPath::Integer).unwrap_err();
    assert_eq!(err.code(), "wrong_shape");
}

#[test]
fn overflowing_float_outputs_are_refused() {
    // Finite inputs so large that the first layer's sums overflow to ±inf or NaN.
    let err = model("mlp")
        .run(&[f32::MAX; 64], ExecPath::Float)
        .unwrap_err();
    assert_eq!(err.code(), "non_finite_output", "{err}");
    assert!(err.to_string().contains("output index 0"), "{err}");
}

#[test]
fn invalid_model_files_are_refused() {
    let mlp = digits_file("mlp.onnx");
    let cases: [(&str, &[u8]); 4] = [
        ("garbage", b"this is not an onnx model, just text"),
        ("truncated", &mlp[..mlp.len() / 2]),
        ("empty", b""),
        ("png", &samples()[0].1),
    ];
    for (what, bytes) in cases {
        let err = LoadedModel::load(bytes).unwrap_err();
        assert_eq!(err.code(), "invalid_onnx", "{what}: {err}");
        assert!(err.to_string().contains("not a valid ONNX model"), "{err}");
    }
}

/// The MLP's protobuf, changed by `edit`, as file bytes.
fn edited_mlp(edit: impl FnOnce(&mut pb::GraphProto)) -> Vec<u8> {
    let mut proto = pb::ModelProto::decode(&digits_file("mlp.onnx")[..]).unwrap();
    edit(proto.graph.as_mut().unwrap());
    proto.encode_to_vec()
}

fn input_type(graph: &mut pb::GraphProto) -> &mut pb::type_proto::Tensor {
    match graph.input[0]
        .r#type
        .as_mut()
        .unwrap()
        .value
        .as_mut()
        .unwrap()
    {
        Type::TensorType(t) => t,
    }
}

fn load_err(bytes: &[u8]) -> LoadError {
    LoadedModel::load(bytes).unwrap_err()
}

#[test]
fn an_unchanged_round_trip_of_the_mlp_loads() {
    // Guards the edits below: re-encoding alone changes nothing that matters.
    let m = LoadedModel::load(&edited_mlp(|_| {})).unwrap();
    assert_eq!(m.input_spec().shape, vec![1, 1, 8, 8]);
}

#[test]
fn models_without_exactly_one_f32_input_are_refused() {
    let two = edited_mlp(|g| {
        let mut extra = g.input[0].clone();
        extra.name = "extra".into();
        g.input.push(extra);
    });
    let err = load_err(&two);
    assert_eq!(err.code(), "unsupported_input");
    assert!(err.to_string().contains("2 inputs"), "{err}");

    let int = edited_mlp(|g| input_type(g).elem_type = DataType::Int64 as i32);
    let err = load_err(&int);
    assert_eq!(err.code(), "unsupported_input");
    assert!(err.to_string().contains("Int64"), "{err}");
}

#[test]
fn unsupported_input_shapes_are_refused() {
    fn dims(g: &mut pb::GraphProto) -> &mut Vec<pb::tensor_shape_proto::Dimension> {
        &mut input_type(g).shape.as_mut().unwrap().dim
    }
    let symbolic_height = edited_mlp(|g| dims(g)[2].value = Some(Dim::DimParam("h".into())));
    let fixed_batch = edited_mlp(|g| dims(g)[0].value = Some(Dim::DimValue(4)));
    let rank_five = edited_mlp(|g| {
        let d = dims(g);
        d.insert(1, d[1].clone());
    });
    let no_shape = edited_mlp(|g| input_type(g).shape = None);
    for (what, bytes) in [
        ("symbolic height", symbolic_height),
        ("fixed batch of 4", fixed_batch),
        ("five dimensions", rank_five),
        ("no shape", no_shape),
    ] {
        let err = load_err(&bytes);
        assert_eq!(err.code(), "unsupported_input", "{what}: {err}");
    }
}

#[test]
fn a_model_that_does_not_compile_is_served_on_the_float_path_in_signed_mode() {
    // The MLP with a Sigmoid after its logits: tract runs it, the integer compiler refuses it.
    let sigmoid = edited_mlp(|g| {
        let logits = g.output[0].name.clone();
        g.node.push(pb::NodeProto {
            op_type: "Sigmoid".into(),
            name: "squash".into(),
            input: vec![logits],
            output: vec!["probs".into()],
            ..Default::default()
        });
        g.output[0].name = "probs".into();
    });
    let m = LoadedModel::load(&sigmoid).unwrap();
    assert!(m.program().is_none());
    let reason = m.integer_unavailable().unwrap();
    assert!(!reason.is_empty());
    assert_eq!(m.serving_path(), ExecPath::Float);
    assert_eq!(m.modes(), vec![Mode::Signed]);

    let x = &split().inputs[0];
    let err = m.run(x, ExecPath::Integer).unwrap_err();
    assert_eq!(err.code(), "path_unavailable");
    assert!(err.to_string().contains(reason), "{err}");

    let out = m
        .infer(&CallInput::tensor(x.clone()), &Limits::default())
        .unwrap();
    assert_eq!(out.path, ExecPath::Float);
    let plain = model("mlp").run(x, ExecPath::Float).unwrap();
    assert_eq!(out.argmax(), plain.argmax());
    assert!(out.as_f32().iter().all(|p| (0.0..=1.0).contains(p)));
}
