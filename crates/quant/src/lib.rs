//! Deterministic integer programs compiled from float ONNX models.
//!
//! A [`Program`] is what verifiable calls serve, what audits re-execute and what zero-knowledge
//! proofs prove, so it is built for one property: the same input gives the same output bits on
//! every machine, CPU feature set and batch size. [`compile()`] turns a float ONNX model (dense,
//! convolution, average-pool, ReLU and add layers) into integer weights and per-layer
//! requantizations; [`Program::run`] evaluates it with `i32` activations and `i64` accumulators
//! only, one sample at a time.
//!
//! * [`program`]: the format, its semantics (rounding, clamping), the overflow argument and
//!   the invariants every program satisfies (checked by a private `validate` module on compile
//!   and decode, and relied upon by the private `exec` module, the executor).
//! * [`compile`](mod@compile): which ONNX graphs are accepted and how they are lowered.
//!
//! Invariants kept by this crate:
//!
//! * no floating point in [`Program::run`] or [`Program::run_batch`];
//! * every `Program` value is valid: it was compiled or decoded, and both validate it, so the
//!   executor cannot panic or overflow on any input;
//! * [`Program::encode`] is canonical and [`Program::hash`] identifies a program.
//!
//! Input and output conversions: [`Program::quantize_input`] maps floats to integers at scale
//! `2^-in_frac_bits` (round half away from zero, clamp), and outputs are integers at scale
//! `2^-out_frac_bits` ([`Program::dequantize_output`]).

#![deny(missing_docs)]

#[cfg(feature = "onnx")]
pub mod compile;
mod error;
mod exec;
#[cfg(feature = "onnx")]
mod onnx;
pub mod program;
#[cfg(feature = "onnx")]
mod quantize;
mod validate;

#[cfg(feature = "onnx")]
pub use compile::{CompileOptions, compile};
#[cfg(feature = "onnx")]
pub use error::CompileError;
pub use error::{InvalidProgram, ProgramDecodeError, RunError};
#[cfg(feature = "onnx")]
pub use onnx::MAX_ONNX_BYTES;
pub use program::{
    Add, Conv2d, Dense, FORMAT_VERSION, Layer, LinearOp, MAX_ACT_BITS, MAX_FRAC_BITS, MAX_LAYERS,
    MAX_PROGRAM_BYTES, MAX_TENSOR_LEN, MAX_WORK, MIN_ACT_BITS, Offset, Program, ProgramStats,
    SumPool,
};
