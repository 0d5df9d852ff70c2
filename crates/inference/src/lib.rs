//! # verity-inference
//!
//! Runs models for provider nodes, auditors and tools: loads an ONNX file, validates callers'
//! inputs, and executes them on one of two paths.
//!
//! * The **integer path** runs the deterministic integer program `verity-quant` compiles from
//!   the float model. Its output is bit-identical on every machine, which is what makes a call
//!   auditable and provable: every [`verity_ledger::Mode`] is offered.
//! * The **float path** runs the ONNX model itself with tract, for models that do not compile to
//!   an integer program. Float outputs differ slightly across CPUs, so such a model is served in
//!   signed mode only.
//!
//! ```text
//! CallInput ──prepare──▶ Vec<f32> (input shape, finite) ──run(path)──▶ CallOutput
//!    tensor JSON | f32le base64 | PNG/JPEG base64
//! ```
//!
//! # Invariants
//!
//! * A model's id is the SHA-256 of its ONNX file; its input is one `f32` tensor whose batch
//!   dimension is pinned to 1 ([`LoadedModel::input_spec`]).
//! * Every caller-supplied byte is checked against [`Limits`] before it is decoded, and
//!   [`LoadedModel::prepare`] returns only tensors of the input shape with finite values.
//! * Image decoding ([`decode_image`]) is exact integer arithmetic up to one final division:
//!   the same file gives the same tensor everywhere, hence the same integer-path output.
//! * Every error carries a stable `code()` and a message naming the problem and the fix.

#![deny(missing_docs)]

mod error;
mod image;
mod input;
mod limits;
mod model;
mod onnx;
mod resize;

pub use error::{InferError, InputError, LoadError, RunError};
pub use image::decode_image;
pub use limits::{DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MAX_INPUT_BYTES, Limits};
pub use model::LoadedModel;
pub use onnx::{MAX_INPUT_RANK, MAX_INPUT_VALUES};
