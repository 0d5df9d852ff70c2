//! Reading ONNX protobuf: the model, its single input and output, constant tensors and node
//! attributes. Only tract-onnx's generated protobuf types are used, not its inference.
//!
//! Every value read here comes from outside and is checked: element counts against the declared
//! dimensions, element types, attribute types. Nothing in this module panics on any input.

use std::collections::HashSet;

use tract_onnx::pb;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::{DataLocation, DataType};
use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
use tract_onnx::prelude::Framework;

use crate::error::CompileError;

/// Largest accepted ONNX model, in bytes.
pub const MAX_ONNX_BYTES: usize = 256 << 20;

/// Decodes the protobuf of an ONNX model.
pub(crate) fn read_model(bytes: &[u8]) -> Result<pb::ModelProto, CompileError> {
    if bytes.len() > MAX_ONNX_BYTES {
        return Err(CompileError::TooLarge {
            len: bytes.len(),
            max: MAX_ONNX_BYTES,
        });
    }
    tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| CompileError::Unreadable(format!("{e:#}")))
}

/// Values of a constant tensor.
#[derive(Debug)]
pub(crate) enum ConstData {
    /// 32-bit floats (weights, biases).
    F32(Vec<f32>),
    /// 64-bit integers (shapes).
    I64(Vec<i64>),
}

/// A constant tensor: an initializer or the value of a `Constant` node.
#[derive(Debug)]
pub(crate) struct Constant {
    /// Name of the tensor, for messages.
    pub name: String,
    /// Dimensions (empty for a scalar).
    pub dims: Vec<usize>,
    /// Row-major values; their count is the product of `dims`.
    pub data: ConstData,
}

impl Constant {
    /// The values, if they are f32.
    pub fn f32s(&self) -> Result<&[f32], CompileError> {
        match &self.data {
            ConstData::F32(v) => Ok(v),
            ConstData::I64(_) => Err(self.type_error("INT64")),
        }
    }

    /// The values, if they are i64.
    pub fn i64s(&self) -> Result<&[i64], CompileError> {
        match &self.data {
            ConstData::I64(v) => Ok(v),
            ConstData::F32(_) => Err(self.type_error("FLOAT")),
        }
    }

    fn type_error(&self, dtype: &str) -> CompileError {
        CompileError::UnsupportedType {
            name: self.name.clone(),
            dtype: dtype.into(),
        }
    }
}

/// Reads a tensor stored in the model: f32 or i64, inline (raw little-endian bytes or the typed
/// repeated field).
pub(crate) fn read_tensor(t: &pb::TensorProto) -> Result<Constant, CompileError> {
    let name = t.name.clone();
    if t.data_location == Some(DataLocation::External as i32) || !t.external_data.is_empty() {
        return Err(CompileError::Malformed(format!(
            "tensor '{name}' keeps its data in an external file: save the model with the weights embedded"
        )));
    }
    if t.segment.is_some() {
        return Err(CompileError::Malformed(format!(
            "tensor '{name}' is segmented: save the model unsegmented"
        )));
    }
    let dims = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            CompileError::Malformed(format!("tensor '{name}' has a negative dimension"))
        })?;
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| CompileError::Malformed(format!("tensor '{name}' has too many elements")))?;
    let length_error = |got: usize| {
        CompileError::Malformed(format!(
            "tensor '{name}' has {got} values but its dimensions {dims:?} call for {count}"
        ))
    };
    let data = if t.data_type == DataType::Float as i32 {
        let values = if t.raw_data.is_empty() {
            t.float_data.clone()
        } else {
            let chunks = t.raw_data.chunks_exact(4);
            if !chunks.remainder().is_empty() {
                return Err(length_error(t.raw_data.len() / 4));
            }
            chunks
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        if values.len() != count {
            return Err(length_error(values.len()));
        }
        ConstData::F32(values)
    } else if t.data_type == DataType::Int64 as i32 {
        let values = if t.raw_data.is_empty() {
            t.int64_data.clone()
        } else {
            let chunks = t.raw_data.chunks_exact(8);
            if !chunks.remainder().is_empty() {
                return Err(length_error(t.raw_data.len() / 8));
            }
            chunks
                .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .collect()
        };
        if values.len() != count {
            return Err(length_error(values.len()));
        }
        ConstData::I64(values)
    } else {
        return Err(CompileError::UnsupportedType {
            name,
            dtype: dtype_name(t.data_type),
        });
    };
    Ok(Constant { name, dims, data })
}

/// The ONNX name of an element type.
fn dtype_name(data_type: i32) -> String {
    DataType::try_from(data_type)
        .map_or_else(|_| format!("type {data_type}"), |t| t.as_str_name().into())
}

/// The model's single runtime input.
pub(crate) struct GraphInput {
    /// Name of the input.
    pub name: String,
    /// Per-sample shape: the declared shape without its leading batch dimension.
    pub shape: Vec<usize>,
}

/// Finds the single graph input that is not an initializer and reads its per-sample shape.
pub(crate) fn graph_input(graph: &pb::GraphProto) -> Result<GraphInput, CompileError> {
    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !initializers.contains(i.name.as_str()))
        .collect();
    let [input] = inputs.as_slice() else {
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        return Err(CompileError::Malformed(format!(
            "the model has {} runtime inputs {names:?}; the integer path takes exactly one",
            names.len()
        )));
    };
    let name = input.name.clone();
    let tensor = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(pb::type_proto::Value::TensorType(t)) => t,
        None => {
            return Err(CompileError::Malformed(format!(
                "input '{name}' is not a tensor"
            )));
        }
    };
    if tensor.elem_type != DataType::Float as i32 {
        return Err(CompileError::UnsupportedType {
            name,
            dtype: dtype_name(tensor.elem_type),
        });
    }
    let dims = tensor
        .shape
        .as_ref()
        .map(|s| s.dim.as_slice())
        .unwrap_or_default();
    if dims.len() < 2 {
        return Err(CompileError::Malformed(format!(
            "input '{name}' has rank {}; the integer path expects a batch dimension followed by the sample's dimensions",
            dims.len()
        )));
    }
    let shape = static_dims(&dims[1..]).map_err(|axis| CompileError::DynamicShape {
        name: name.clone(),
        axis: axis + 1,
    })?;
    Ok(GraphInput { name, shape })
}

/// The name of the model's single output, and its declared per-sample shape if fully static.
pub(crate) fn graph_output(
    graph: &pb::GraphProto,
) -> Result<(String, Option<Vec<usize>>), CompileError> {
    let [output] = graph.output.as_slice() else {
        return Err(CompileError::Malformed(format!(
            "the model has {} outputs; the integer path produces exactly one",
            graph.output.len()
        )));
    };
    let shape = match output.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(pb::type_proto::Value::TensorType(t)) => t
            .shape
            .as_ref()
            .and_then(|s| s.dim.get(1..))
            .and_then(|dims| static_dims(dims).ok()),
        None => None,
    };
    Ok((output.name.clone(), shape))
}

/// Sizes of dimensions that all have a positive value; otherwise the index of the first that
/// does not.
fn static_dims(dims: &[pb::tensor_shape_proto::Dimension]) -> Result<Vec<usize>, usize> {
    dims.iter()
        .enumerate()
        .map(|(axis, d)| match d.value {
            Some(Dim::DimValue(v)) if v > 0 => usize::try_from(v).map_err(|_| axis),
            _ => Err(axis),
        })
        .collect()
}

/// Typed access to a node's attributes, with the node named in every error.
pub(crate) struct Attributes<'a> {
    node: &'a pb::NodeProto,
    label: String,
}

impl<'a> Attributes<'a> {
    /// Wraps `node`, refusing any attribute not in `known`: an attribute the compiler does not
    /// interpret could change the operator's meaning.
    pub fn new(
        node: &'a pb::NodeProto,
        label: String,
        known: &[&str],
    ) -> Result<Self, CompileError> {
        if let Some(a) = node
            .attribute
            .iter()
            .find(|a| !known.contains(&a.name.as_str()))
        {
            return Err(CompileError::UnsupportedForm {
                op: node.op_type.clone(),
                node: label,
                detail: format!(
                    "attribute '{}' is not supported; the integer path knows {known:?}",
                    a.name
                ),
            });
        }
        Ok(Self { node, label })
    }

    fn get(
        &self,
        name: &str,
        expected: AttributeType,
    ) -> Result<Option<&'a pb::AttributeProto>, CompileError> {
        let Some(a) = self.node.attribute.iter().find(|a| a.name == name) else {
            return Ok(None);
        };
        if a.r#type != expected as i32 {
            return Err(CompileError::Malformed(format!(
                "attribute '{name}' of {} node '{}' should be {}",
                self.node.op_type,
                self.label,
                expected.as_str_name()
            )));
        }
        Ok(Some(a))
    }

    /// An integer attribute.
    pub fn int(&self, name: &str) -> Result<Option<i64>, CompileError> {
        Ok(self.get(name, AttributeType::Int)?.map(|a| a.i))
    }

    /// A float attribute.
    pub fn float(&self, name: &str) -> Result<Option<f32>, CompileError> {
        Ok(self.get(name, AttributeType::Float)?.map(|a| a.f))
    }

    /// A list-of-integers attribute.
    pub fn ints(&self, name: &str) -> Result<Option<&'a [i64]>, CompileError> {
        Ok(self
            .get(name, AttributeType::Ints)?
            .map(|a| a.ints.as_slice()))
    }

    /// A string attribute (lossily decoded as UTF-8).
    pub fn string(&self, name: &str) -> Result<Option<String>, CompileError> {
        Ok(self
            .get(name, AttributeType::String)?
            .map(|a| String::from_utf8_lossy(&a.s).into_owned()))
    }

    /// A tensor attribute.
    pub fn tensor(&self, name: &str) -> Result<Option<&'a pb::TensorProto>, CompileError> {
        Ok(self
            .get(name, AttributeType::Tensor)?
            .and_then(|a| a.t.as_ref()))
    }
}
