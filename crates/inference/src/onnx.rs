//! The input a model file declares, read from its ONNX protobuf before any graph is built.
//!
//! A servable model has exactly one graph input that is not an initializer, and it is a float32
//! tensor of rank 1 to [`MAX_INPUT_RANK`] whose first dimension is the batch: symbolic (e.g.
//! `batch`, `N`) or 1. Every other dimension is a fixed positive number. The batch is pinned to
//! 1, giving the served input shape, which holds at most [`MAX_INPUT_VALUES`] values.

use std::collections::HashSet;

use tract_onnx::pb::{
    self, tensor_proto::DataType, tensor_shape_proto::dimension::Value as Dim,
    type_proto::Value as Type,
};

use crate::LoadError;

/// Most dimensions of a model input, batch included.
pub const MAX_INPUT_RANK: usize = 4;

/// Most values one model input holds (2^24, 64 MiB of `f32`).
pub const MAX_INPUT_VALUES: u64 = 16 << 20;

/// The served input shape of `proto` (batch pinned to 1), or why it cannot be served.
pub(crate) fn input_shape(proto: &pb::ModelProto) -> Result<Vec<u32>, LoadError> {
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| LoadError::InvalidOnnx("the file has no graph".into()))?;
    let constants: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !constants.contains(i.name.as_str()))
        .collect();
    let [input] = inputs[..] else {
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        return Err(unsupported(format!(
            "the graph has {} inputs {names:?}; a served model takes exactly one float32 tensor",
            inputs.len()
        )));
    };
    let name = &input.name;
    let Some(Type::TensorType(tensor)) = input.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(unsupported(format!(
            "input `{name}` is not a tensor; a served model takes one float32 tensor"
        )));
    };
    if tensor.elem_type != DataType::Float as i32 {
        let dtype = DataType::try_from(tensor.elem_type).map_or_else(
            |_| format!("type {}", tensor.elem_type),
            |t| format!("{t:?}"),
        );
        return Err(unsupported(format!(
            "input `{name}` is {dtype}, not float32; export the model with a float32 input \
             (do any casting inside the graph)"
        )));
    }
    let dims = tensor
        .shape
        .as_ref()
        .map(|s| &s.dim[..])
        .unwrap_or_default();
    if dims.is_empty() || dims.len() > MAX_INPUT_RANK {
        return Err(unsupported(format!(
            "input `{name}` has {} dimensions; a served input has 1 to {MAX_INPUT_RANK}, the \
             first being the batch; export it with a declared shape such as [batch, C, H, W]",
            dims.len()
        )));
    }
    let mut shape = Vec::with_capacity(dims.len());
    for (axis, dim) in dims.iter().enumerate() {
        let served = match (axis, &dim.value) {
            (0, Some(Dim::DimValue(1) | Dim::DimParam(_)) | None) => Some(1),
            (1.., Some(Dim::DimValue(v))) => u32::try_from(*v).ok().filter(|&v| v > 0),
            _ => None,
        };
        let Some(size) = served else {
            return Err(unsupported(format!(
                "input `{name}` has dimension {axis} = {}; the first dimension must be a \
                 symbolic batch or 1 and the others fixed positive sizes; export the model \
                 with a fixed input size",
                describe(&dim.value)
            )));
        };
        shape.push(size);
    }
    let values: u64 = shape.iter().map(|&d| u64::from(d)).product();
    if values > MAX_INPUT_VALUES {
        return Err(unsupported(format!(
            "input `{name}` of shape {shape:?} holds {values} values, more than the \
             {MAX_INPUT_VALUES} served"
        )));
    }
    Ok(shape)
}

/// An [`LoadError::UnsupportedInput`].
fn unsupported(reason: String) -> LoadError {
    LoadError::UnsupportedInput(reason)
}

/// A declared dimension as text.
fn describe(dim: &Option<Dim>) -> String {
    match dim {
        Some(Dim::DimValue(v)) => v.to_string(),
        Some(Dim::DimParam(p)) => format!("`{p}` (symbolic)"),
        None => "unknown".into(),
    }
}
