//! Errors of loading a model, preparing an input and running a model.
//!
//! Every error has a stable machine-readable `code()` (what an API answer carries next to the
//! message) and a `Display` message that names the problem and how to fix it. Codes never change
//! meaning; messages may be reworded.

use thiserror::Error;

/// Why a model file cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoadError {
    /// The bytes are not an ONNX protobuf, or the protobuf has no graph.
    #[error("model file is not a valid ONNX model: {0}; export it again with opset ≥ 13")]
    InvalidOnnx(String),
    /// The file is ONNX, but tract cannot build, optimize or run its graph.
    #[error(
        "the float runtime cannot run this model: {0}; export it with standard ONNX operators (opset 13 to 18)"
    )]
    UnsupportedModel(String),
    /// The graph's input is not one float32 tensor of a supported shape.
    #[error("unsupported model input: {0}")]
    UnsupportedInput(String),
    /// The graph's first output is not a float32 tensor of a fixed shape.
    #[error("unsupported model output: {0}")]
    UnsupportedOutput(String),
}

impl LoadError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::InvalidOnnx(_) => "invalid_onnx",
            LoadError::UnsupportedModel(_) => "unsupported_model",
            LoadError::UnsupportedInput(_) => "unsupported_input",
            LoadError::UnsupportedOutput(_) => "unsupported_output",
        }
    }
}

/// Why an input was refused before running the model.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// The tensor has the wrong number of values for the model's input shape.
    #[error(
        "input has {got} values; the model takes {shape:?} = {want} values; send exactly {want} values, row-major"
    )]
    WrongShape {
        /// Values sent.
        got: usize,
        /// The model's input shape.
        shape: Vec<u32>,
        /// Values the shape holds.
        want: usize,
    },
    /// An image was sent to a model whose input is not an image tensor.
    #[error(
        "the model takes {shape:?}, not an image [1, C, H, W] with C = 1 (grayscale) or 3 (RGB); send a tensor instead"
    )]
    NotAnImageModel {
        /// The model's input shape.
        shape: Vec<u32>,
    },
    /// Tensor bytes that are not a whole number of `f32` values.
    #[error("tensor bytes have length {len}, not a multiple of 4; send little-endian f32 values")]
    WrongDtype {
        /// Length of the decoded bytes.
        len: usize,
    },
    /// The input is larger than this node accepts.
    #[error(
        "input is {len} bytes, more than the {max} bytes this node accepts; send a tensor of the model's input shape or a smaller image"
    )]
    TooLarge {
        /// Size of the input in bytes (an estimate from the base64 length when refused before decoding).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The base64 text does not decode.
    #[error("input base64 is invalid ({0}); send standard padded base64")]
    BadEncoding(String),
    /// A value is NaN or infinite.
    #[error("input value at index {index} is {value}; send finite numbers only")]
    NonFinite {
        /// Row-major index of the first non-finite value.
        index: usize,
        /// The value (`NaN`, `inf` or `-inf`).
        value: String,
    },
    /// The image is not a decodable PNG or JPEG file.
    #[error("image cannot be decoded: {0}; send a PNG or JPEG file")]
    CorruptImage(String),
    /// The image has more pixels than this node decodes.
    #[error(
        "image is {width}×{height} = {pixels} pixels, more than the {max} this node decodes; scale it down before sending"
    )]
    ImageTooLarge {
        /// Width from the image header.
        width: u32,
        /// Height from the image header.
        height: u32,
        /// `width × height`.
        pixels: u64,
        /// The limit.
        max: u64,
    },
}

impl InputError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            InputError::WrongShape { .. } | InputError::NotAnImageModel { .. } => "wrong_shape",
            InputError::WrongDtype { .. } => "wrong_dtype",
            InputError::TooLarge { .. } => "input_too_large",
            InputError::BadEncoding(_) => "bad_encoding",
            InputError::NonFinite { .. } => "non_finite_input",
            InputError::CorruptImage(_) => "corrupt_image",
            InputError::ImageTooLarge { .. } => "image_too_large",
        }
    }
}

/// Why running a prepared input failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RunError {
    /// The tensor passed to [`crate::LoadedModel::run`] does not have the input shape's length.
    #[error(
        "input has {got} values; the model takes {want}; prepare inputs with LoadedModel::prepare"
    )]
    WrongInputLength {
        /// Values passed.
        got: usize,
        /// Values the input shape holds.
        want: usize,
    },
    /// The float model produced NaN or an infinity.
    #[error(
        "the float model produced a non-finite value at output index {index}; the input is outside the range the model handles"
    )]
    NonFiniteOutput {
        /// Row-major index of the first non-finite output value.
        index: usize,
    },
    /// The integer path was requested for a model without an integer program.
    #[error(
        "this model has no integer program ({reason}); it is served on the float path, in signed mode only"
    )]
    PathUnavailable {
        /// Why the model has no integer program.
        reason: String,
    },
    /// The runtime failed.
    #[error("the model failed to run: {0}")]
    ModelFailed(String),
}

impl RunError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            RunError::WrongInputLength { .. } => "wrong_shape",
            RunError::NonFiniteOutput { .. } => "non_finite_output",
            RunError::PathUnavailable { .. } => "path_unavailable",
            RunError::ModelFailed(_) => "model_failed",
        }
    }
}

/// Why [`crate::LoadedModel::infer`] failed: the input was refused, or the run failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InferError {
    /// The input was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The run failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

impl InferError {
    /// Stable machine-readable code of the underlying error.
    pub fn code(&self) -> &'static str {
        match self {
            InferError::Input(e) => e.code(),
            InferError::Run(e) => e.code(),
        }
    }
}
