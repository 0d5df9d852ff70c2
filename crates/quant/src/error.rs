//! Errors. Every message names the problem and, where the caller can act on it, the fix.

use thiserror::Error;

#[cfg(feature = "onnx")]
/// Why an ONNX model could not be compiled into an integer [`Program`](crate::Program).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CompileError {
    /// The bytes are not a readable ONNX protobuf.
    #[error(
        "not a readable ONNX model ({0}): pass the bytes of an .onnx file as written by an exporter"
    )]
    Unreadable(String),
    /// The model is larger than [`MAX_ONNX_BYTES`](crate::MAX_ONNX_BYTES).
    #[error("the ONNX model is {len} bytes, more than the limit of {max}: use a smaller model")]
    TooLarge {
        /// Size of the model.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The compile options are outside the supported ranges.
    #[error("invalid compile options: {0}")]
    Options(String),
    /// An operator that the integer path does not implement.
    #[error("{op} (node '{node}') is not supported in the integer path: {fix}")]
    UnsupportedOp {
        /// ONNX operator type, with its domain when it is not the default one.
        op: String,
        /// Name of the node (or its index when unnamed).
        node: String,
        /// What to change in the model.
        fix: String,
    },
    /// A supported operator used in a form the integer path does not implement.
    #[error("{op} (node '{node}'): {detail}")]
    UnsupportedForm {
        /// ONNX operator type.
        op: String,
        /// Name of the node (or its index when unnamed).
        node: String,
        /// What is unsupported and what to change.
        detail: String,
    },
    /// A constant tensor whose element type is not f32 where weights are expected.
    #[error(
        "tensor '{name}' holds {dtype} values; the integer path reads f32 weights (and i64 shapes): export the model in float32"
    )]
    UnsupportedType {
        /// Name of the tensor.
        name: String,
        /// ONNX element type name.
        dtype: String,
    },
    /// The model input has a dynamic dimension other than the leading batch dimension.
    #[error(
        "input '{name}' has a dynamic dimension at axis {axis}: only the batch dimension (axis 0) may be dynamic; export with fixed sizes"
    )]
    DynamicShape {
        /// Name of the model input.
        name: String,
        /// Axis of the dynamic dimension, counting the batch dimension as axis 0.
        axis: usize,
    },
    /// The graph is structurally invalid or inconsistent.
    #[error("malformed model: {0}")]
    Malformed(String),
    /// A weight does not fit the integer format at the requested precision.
    #[error(
        "tensor '{name}': a value ({value}) does not fit the integer format at {frac_bits} fractional bits: lower weight_frac_bits"
    )]
    WeightOutOfRange {
        /// Name of the tensor.
        name: String,
        /// The offending value.
        value: f32,
        /// Fractional bits it was quantized at.
        frac_bits: u32,
    },
    /// A weight is NaN or infinite.
    #[error("tensor '{name}' contains a non-finite value ({value}): fix the trained weights")]
    NonFiniteWeight {
        /// Name of the tensor.
        name: String,
        /// The offending value.
        value: f32,
    },
    /// The compiled program breaks an invariant of the format (for example an accumulator bound).
    #[error(transparent)]
    Invalid(#[from] InvalidProgram),
}

/// Why a [`Program`](crate::Program) could not be run on an input.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RunError {
    /// The input has the wrong number of values.
    #[error("input has {got} values, the model takes {expected} (shape {shape:?})")]
    InputLength {
        /// Number of values given.
        got: usize,
        /// Number of values the model takes.
        expected: usize,
        /// Per-sample input shape.
        shape: Vec<u32>,
    },
    /// A batch whose length is not `batch × input_len`.
    #[error(
        "a batch of {batch} samples takes {batch} × {per_sample} values, got {got}: pass samples row-major, one after another"
    )]
    BatchLength {
        /// Number of values given.
        got: usize,
        /// Number of samples claimed.
        batch: usize,
        /// Values per sample.
        per_sample: usize,
    },
    /// An input value is NaN or infinite.
    #[error("input value {index} is {value}: inputs must be finite numbers")]
    NonFinite {
        /// Index of the value in the sample.
        index: usize,
        /// The offending value.
        value: f32,
    },
}

/// Why bytes could not be decoded as a [`Program`](crate::Program).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProgramDecodeError {
    /// More bytes than [`MAX_PROGRAM_BYTES`](crate::MAX_PROGRAM_BYTES).
    #[error("program encoding is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the encoding.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a canonical borsh encoding of a program (truncated, trailing bytes, bad tags).
    #[error("not a program encoding ({0}): pass the exact bytes of Program::encode")]
    Malformed(String),
    /// A well-formed encoding of a program that breaks an invariant of the format.
    #[error(transparent)]
    Invalid(#[from] InvalidProgram),
}

/// An invariant of the program format that a program breaks. See [`crate::program`] for the
/// invariants; every decoded or compiled program is checked against all of them.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InvalidProgram {
    /// The program was written for another version of the format.
    #[error(
        "program format version {got}, this build reads version {expected}: use a matching verity-quant"
    )]
    Version {
        /// Version in the program.
        got: u32,
        /// Version this build implements.
        expected: u32,
    },
    /// A header parameter is out of range.
    #[error("{what} is {value}, outside the supported range {min}..={max}")]
    Parameter {
        /// Which parameter.
        what: &'static str,
        /// Its value.
        value: u64,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// A size exceeds one of the program limits.
    #[error("{what} is {value}, more than the limit of {max}")]
    Limit {
        /// What is too large.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// A layer reads a tensor that is not computed before it.
    #[error("layer {layer} reads tensor {tensor}, but only tensors 0..={last} exist before it")]
    TensorRef {
        /// Index of the layer.
        layer: usize,
        /// Referenced tensor.
        tensor: u32,
        /// Last tensor available.
        last: usize,
    },
    /// A layer's dimensions disagree with its operands or its constants.
    #[error("layer {layer}: {detail}")]
    Shape {
        /// Index of the layer.
        layer: usize,
        /// What disagrees.
        detail: String,
    },
    /// A layer's worst-case accumulator does not fit in i64.
    #[error(
        "layer {layer}: the accumulator can reach about 2^{bits}, which does not fit in i64: lower weight_frac_bits or act_bits"
    )]
    Overflow {
        /// Index of the layer.
        layer: usize,
        /// Bits of the worst-case magnitude.
        bits: u32,
    },
    /// The output names a tensor that does not exist.
    #[error("the output is tensor {output}, but the program has tensors 0..={last}")]
    Output {
        /// Referenced tensor.
        output: u32,
        /// Last tensor.
        last: usize,
    },
}
