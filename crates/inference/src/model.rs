//! A model loaded for serving ([`LoadedModel`]).

use std::{fmt, sync::Arc};

use tract_onnx::prelude::{
    DatumType, Framework, InferenceFact, InferenceModelExt, IntoRunnable, Tensor,
    TypedRunnableModel, tvec,
};
use verity_api::{CallInput, CallOutput, ExecPath, OutputValues};
use verity_ledger::{DType, InputSpec, Mode, ModelId, crypto::sha256};
use verity_quant::{CompileOptions, Program};

use crate::{InferError, InputError, Limits, LoadError, RunError, input, onnx};

/// A model loaded for serving: its id, its input and output shapes, its float plan and, when the
/// model compiles, its integer program.
///
/// # Loading
///
/// [`LoadedModel::load`] takes the ONNX file's bytes and
///
/// 1. names the model by the SHA-256 of those bytes (the [`ModelId`] the ledger registers);
/// 2. reads the declared input from the protobuf: exactly one graph input that is not an
///    initializer, a float32 tensor of rank 1 to [`crate::MAX_INPUT_RANK`] whose first dimension
///    is the batch (symbolic or 1) and whose other dimensions are fixed; the batch is pinned to
///    1, and the input holds at most [`crate::MAX_INPUT_VALUES`] values;
/// 3. builds the float plan with tract for exactly that input shape, keeping only the graph's
///    first output, which must be float32 of a fixed shape; and runs it once on zeros, so a
///    model tract cannot execute is refused here rather than on a caller's input;
/// 4. compiles the integer program with `verity-quant`. A model that does not compile is still
///    served, on the float path; the compiler's reason is kept
///    ([`LoadedModel::integer_unavailable`]).
///
/// # Paths and modes
///
/// The serving path is the integer program when there is one: its outputs are bit-identical on
/// every machine, so audits can re-execute a call and proofs can prove it, and every [`Mode`] is
/// offered. Without one, the float path serves in [`Mode::Signed`] only: float outputs vary
/// slightly across CPUs and runtimes, so a re-execution cannot be compared bit for bit.
///
/// # Invariants
///
/// A `LoadedModel` is immutable after loading, `Send + Sync`, and shared across request handlers
/// behind an `Arc`. Every output of [`LoadedModel::run`] has shape [`LoadedModel::output_shape`]
/// and, on the float path, only finite values.
pub struct LoadedModel {
    /// SHA-256 of the ONNX file.
    id: ModelId,
    /// Input shape with the batch pinned to 1.
    input_shape: Vec<u32>,
    /// Number of values `input_shape` holds.
    input_len: usize,
    /// Shape of the first graph output for one input.
    output_shape: Vec<u32>,
    /// Tract's optimized plan for `input_shape`.
    plan: Arc<TypedRunnableModel>,
    /// The integer program, or why there is none.
    integer: Result<Program, String>,
}

impl LoadedModel {
    /// Load a model from its ONNX file's bytes, as described in the type's documentation.
    pub fn load(onnx: &[u8]) -> Result<Self, LoadError> {
        let id = sha256(&[onnx]);
        let framework = tract_onnx::onnx().with_ignore_value_info(true);
        let proto = framework
            .proto_model_for_read(&mut &onnx[..])
            .map_err(|e| LoadError::InvalidOnnx(format!("{e:#}")))?;
        let input_shape = onnx::input_shape(&proto)?;
        let input_len = input_shape.iter().map(|&d| d as usize).product();

        let refused =
            |e: tract_onnx::prelude::TractError| LoadError::UnsupportedModel(format!("{e:#}"));
        let mut model = framework.model_for_proto_model(&proto).map_err(refused)?;
        let dims: Vec<usize> = input_shape.iter().map(|&d| d as usize).collect();
        model
            .set_input_fact(0, InferenceFact::dt_shape(DatumType::F32, dims))
            .map_err(refused)?;
        let first = *model
            .output_outlets()
            .map_err(refused)?
            .first()
            .ok_or_else(|| LoadError::UnsupportedOutput("the graph has no output".into()))?;
        model.select_output_outlets(&[first]).map_err(refused)?;
        let typed = model.into_optimized().map_err(refused)?;

        let fact = typed.output_fact(0).map_err(refused)?;
        if fact.datum_type != DatumType::F32 {
            return Err(LoadError::UnsupportedOutput(format!(
                "the first output is {:?}, not float32; export the model with a float32 output",
                fact.datum_type
            )));
        }
        let output_shape = fact
            .shape
            .as_concrete()
            .and_then(|dims| {
                dims.iter()
                    .map(|&d| u32::try_from(d).ok())
                    .collect::<Option<Vec<u32>>>()
            })
            .ok_or_else(|| {
                LoadError::UnsupportedOutput(format!(
                    "the first output's shape {:?} is not fixed for a batch of 1",
                    fact.shape
                ))
            })?;
        let plan = typed.into_runnable().map_err(refused)?;

        let integer = compile_integer(onnx, &input_shape, &output_shape);
        let loaded = LoadedModel {
            id,
            input_shape,
            input_len,
            output_shape,
            plan,
            integer,
        };
        match loaded.run_float(&vec![0.0; input_len]) {
            Ok(_) | Err(RunError::NonFiniteOutput { .. }) => Ok(loaded),
            Err(e) => Err(LoadError::UnsupportedModel(e.to_string())),
        }
    }

    /// The model's id: the SHA-256 of its ONNX file.
    pub fn id(&self) -> ModelId {
        self.id
    }

    /// The input a call must supply: shape with the batch pinned to 1, e.g. `[1, 1, 8, 8]`,
    /// element type `f32`.
    pub fn input_spec(&self) -> InputSpec {
        InputSpec {
            shape: self.input_shape.clone(),
            dtype: DType::F32,
        }
    }

    /// Shape of every output, e.g. `[1, 10]`.
    pub fn output_shape(&self) -> &[u32] {
        &self.output_shape
    }

    /// The integer program, when the model compiled to one.
    pub fn program(&self) -> Option<&Program> {
        self.integer.as_ref().ok()
    }

    /// Why the model has no integer program (`None` when it has one).
    pub fn integer_unavailable(&self) -> Option<&str> {
        self.integer.as_ref().err().map(String::as_str)
    }

    /// The path calls are served on: the integer program if there is one, else the float plan.
    pub fn serving_path(&self) -> ExecPath {
        match self.integer {
            Ok(_) => ExecPath::Integer,
            Err(_) => ExecPath::Float,
        }
    }

    /// The modes this model can be served in: all of them on the integer path, only
    /// [`Mode::Signed`] on the float path.
    pub fn modes(&self) -> Vec<Mode> {
        match self.serving_path() {
            ExecPath::Integer => Mode::ALL.to_vec(),
            ExecPath::Float => vec![Mode::Signed],
        }
    }

    /// Decode and validate a caller's input into a tensor of [`LoadedModel::input_spec`].
    ///
    /// The input is adversarial. It is checked in this order:
    ///
    /// 1. size: at most [`Limits::max_input_bytes`], judged from the base64 text's length
    ///    before decoding and from the decoded bytes after (`input_too_large`);
    /// 2. encoding: standard padded base64 (`bad_encoding`);
    /// 3. element type: tensor bytes are a whole number of little-endian `f32` (`wrong_dtype`);
    /// 4. shape: as many values as the input shape holds (`wrong_shape`); an image is decoded
    ///    and resized to the input shape by [`crate::decode_image`];
    /// 5. values: all finite (`non_finite_input`, naming the first offending index).
    ///
    /// A returned tensor always has the input shape's length and only finite values.
    pub fn prepare(&self, input: &CallInput, limits: &Limits) -> Result<Vec<f32>, InputError> {
        input::prepare(input, &self.input_shape, limits)
    }

    /// Run a prepared input on `path`.
    ///
    /// `x` must hold exactly the input shape's values; [`LoadedModel::prepare`] makes such
    /// tensors. The integer path quantizes `x` by the program's input scale (clamping values
    /// outside its range) and returns fixed-point values with the program's output fraction bits.
    pub fn run(&self, x: &[f32], path: ExecPath) -> Result<CallOutput, RunError> {
        match path {
            ExecPath::Float => self.run_float(x),
            ExecPath::Integer => self.run_integer(x),
        }
    }

    /// Prepare `input` and run it on the serving path.
    pub fn infer(&self, input: &CallInput, limits: &Limits) -> Result<CallOutput, InferError> {
        let x = self.prepare(input, limits)?;
        Ok(self.run(&x, self.serving_path())?)
    }

    /// Refuse a tensor of the wrong length.
    fn check_len(&self, x: &[f32]) -> Result<(), RunError> {
        if x.len() != self.input_len {
            return Err(RunError::WrongInputLength {
                got: x.len(),
                want: self.input_len,
            });
        }
        Ok(())
    }

    /// One run of the float plan.
    fn run_float(&self, x: &[f32]) -> Result<CallOutput, RunError> {
        self.check_len(x)?;
        let failed = |e: tract_onnx::prelude::TractError| RunError::ModelFailed(format!("{e:#}"));
        let dims: Vec<usize> = self.input_shape.iter().map(|&d| d as usize).collect();
        let tensor = Tensor::from_shape(&dims, x).map_err(failed)?;
        let outputs = self.plan.run(tvec![tensor.into()]).map_err(failed)?;
        let output = outputs
            .first()
            .ok_or_else(|| RunError::ModelFailed("the plan returned no output".into()))?;
        let values = output
            .try_as_plain_ram()
            .and_then(|view| view.as_slice::<f32>().map(<[f32]>::to_vec))
            .map_err(failed)?;
        let want: usize = self.output_shape.iter().map(|&d| d as usize).product();
        if values.len() != want {
            return Err(RunError::ModelFailed(format!(
                "the plan returned {} values for an output of shape {:?}",
                values.len(),
                self.output_shape
            )));
        }
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(RunError::NonFiniteOutput { index });
        }
        Ok(CallOutput {
            path: ExecPath::Float,
            shape: self.output_shape.clone(),
            values: OutputValues::F32 { values },
        })
    }

    /// One run of the integer program.
    fn run_integer(&self, x: &[f32]) -> Result<CallOutput, RunError> {
        let program = self
            .integer
            .as_ref()
            .map_err(|reason| RunError::PathUnavailable {
                reason: reason.clone(),
            })?;
        self.check_len(x)?;
        let values = program
            .run_f32(x)
            .map_err(|e| RunError::ModelFailed(e.to_string()))?;
        Ok(CallOutput {
            path: ExecPath::Integer,
            shape: self.output_shape.clone(),
            values: OutputValues::I32 {
                values,
                frac_bits: program.out_frac_bits(),
            },
        })
    }
}

/// Compile the integer program and check it takes and returns the float model's shapes.
fn compile_integer(
    onnx: &[u8],
    input_shape: &[u32],
    output_shape: &[u32],
) -> Result<Program, String> {
    let program =
        verity_quant::compile(onnx, &CompileOptions::default()).map_err(|e| e.to_string())?;
    if program.input_shape() != &input_shape[1..] {
        return Err(format!(
            "the integer program takes {:?} per input, the model {:?}",
            program.input_shape(),
            &input_shape[1..]
        ));
    }
    let outputs: usize = output_shape.iter().map(|&d| d as usize).product();
    if program.output_len() != outputs {
        return Err(format!(
            "the integer program returns {} values, the model {outputs}",
            program.output_len()
        ));
    }
    Ok(program)
}

impl fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedModel")
            .field("id", &self.id)
            .field("input_shape", &self.input_shape)
            .field("output_shape", &self.output_shape)
            .field("serving_path", &self.serving_path())
            .field("integer_unavailable", &self.integer_unavailable())
            .finish_non_exhaustive()
    }
}
