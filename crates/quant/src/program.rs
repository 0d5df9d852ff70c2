//! The integer program: its format, its semantics and its invariants.
//!
//! # Values
//!
//! A program computes on flat vectors of `i32` *activations*. Tensor 0 is the input; layer `i`
//! produces tensor `i + 1`; the output is one of these tensors. Multi-dimensional tensors are
//! stored row-major (channel, row, column), so reshapes and flattens are free and do not appear
//! in the program.
//!
//! Every activation lies in the clamp range `[-2^(act_bits-1), 2^(act_bits-1) - 1]`, or
//! `[0, 2^(act_bits-1) - 1]` when its layer applies ReLU. [`Program::run`] first clamps the input
//! into the full range, so this holds for any `i32` input.
//!
//! Every tensor has an implied fixed-point scale: the integer `v` stands for `v × 2^-frac`. The
//! input has `in_frac_bits`, the output `out_frac_bits`. The executor never uses scales; they are
//! how the compiler chose the constants, and how callers convert at the edges
//! ([`Program::quantize_input`], [`Program::dequantize_output`]).
//!
//! # Layers
//!
//! A [`Layer`] is a linear map into `i64` accumulators followed by one requantization per output
//! value:
//!
//! ```text
//! acc = op(inputs)                                   exact, see "Overflow"
//! y   = clamp((acc × mul + r) >> shift, lo, hi)      r = 2^(shift-1) if shift > 0, else 0
//! ```
//!
//! `>>` is the arithmetic shift (division by `2^shift` rounding toward −∞), so `y` is
//! `acc × mul / 2^shift` rounded half up (toward +∞), then clamped; `lo` is 0 for a ReLU layer.
//! The linear maps are [`Dense`], [`Conv2d`], [`SumPool`], [`Add`] and [`Offset`]; their
//! constants (weights, biases, offsets) are integers at the accumulator's scale.
//!
//! For a sum-pool over a window of `k` values the requantization also divides by `k`: for
//! `k = 2^m`, `mul = 1` and the shift grows by `m`; otherwise `mul = ceil(2^p / k)` and the shift
//! grows by `p = act_bits + 2·ceil(log2 k)`. With that `p` the result equals the sum divided by
//! `k` rounded half up, except when the sum is negative and the quotient is exactly a
//! half-integer (possible only for even `k`): then it is rounded down. (Proof: write
//! `mul = (2^p + e)/k` with `0 ≤ e < k`; the rounding error added to the exact quotient is
//! `S·e / (k·2^p)`, of magnitude below `1/(2k)`, the smallest distance between a non-half-integer
//! quotient `S/k` and a rounding boundary.)
//!
//! # Overflow
//!
//! Let `A = 2^(act_bits-1)`, which bounds `|x|` for every activation. [`Program::decode`] and
//! the compiler bound every accumulator in `i128` arithmetic:
//!
//! * Dense: `max_j (Σ_i |w_ji|·A + |b_j|)`;
//! * Conv2d: `max_o (Σ |w_o…|·A + |b_o|)` (zero padding only drops terms);
//! * SumPool: `kernel_height·kernel_width·A`;
//! * Add: `2A`; Offset: `A + max |c|`.
//!
//! Every partial sum of an accumulation is a sub-sum of the same terms, so the bound `B` covers
//! it too. A program is refused unless `B·mul + 2^(shift-1) ≤ i64::MAX`; then all arithmetic in
//! the executor is exact in `i64` for every input, and no value in an R1CS translation wraps
//! around a field modulus of more than 64 bits.
//!
//! # Encoding
//!
//! [`Program::encode`] is the borsh encoding of the fields in declaration order (integers little
//! endian, vectors prefixed by a `u32` length, enums by a `u8` tag, `bool` as 0 or 1). It is
//! canonical: a program has one encoding, and [`Program::hash`] is SHA-256 of it.
//! [`Program::decode`] accepts exactly the encodings of valid programs: it refuses oversized
//! input, trailing bytes, unknown versions and every broken invariant (operand lengths, constant
//! lengths, shift range, the accumulator bound, the size limits below), so a decoded program
//! cannot make the executor panic, overflow or run unboundedly long. Deserializing through serde
//! or borsh applies the same checks.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{InvalidProgram, ProgramDecodeError, RunError};
use crate::{exec, validate};

/// Version of the program format: encoding and semantics. Programs of other versions are refused.
pub const FORMAT_VERSION: u32 = 1;
/// Largest accepted program encoding, in bytes.
pub const MAX_PROGRAM_BYTES: usize = 32 << 20;
/// Most layers in a program.
pub const MAX_LAYERS: usize = 1024;
/// Most values in one tensor.
pub const MAX_TENSOR_LEN: u64 = 1 << 20;
/// Most values in all tensors of one sample together (the executor's working memory).
pub const MAX_TOTAL_VALUES: u64 = 1 << 22;
/// Most multiply-accumulates and additions per sample (the executor's work per sample).
pub const MAX_WORK: u64 = 1 << 28;
/// Most dimensions in the input shape.
pub const MAX_INPUT_RANK: usize = 8;
/// Smallest `act_bits`.
pub const MIN_ACT_BITS: u32 = 2;
/// Largest `act_bits`.
pub const MAX_ACT_BITS: u32 = 24;
/// Largest number of fractional bits of any scale.
pub const MAX_FRAC_BITS: u32 = 24;
/// Largest requantization shift.
pub const MAX_SHIFT: u32 = 62;

/// A deterministic integer program compiled from a float model. See the [module docs](self) for
/// the format. Every `Program` value satisfies all invariants: the only ways to obtain one are
/// [`compile()`](crate::compile()) and the decoders, which check them.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, Serialize)]
#[serde(transparent)]
pub struct Program(ProgramBody);

/// The fields of a program, before validation.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub(crate) struct ProgramBody {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// Per-sample input shape (no batch dimension), e.g. `[1, 8, 8]`.
    pub input_shape: Vec<u32>,
    /// Fractional bits of the input scale.
    pub in_frac_bits: u32,
    /// Fractional bits of the output scale.
    pub out_frac_bits: u32,
    /// Width of the signed clamp range of every activation.
    pub act_bits: u32,
    /// Layers in execution order; layer `i` produces tensor `i + 1`.
    pub layers: Vec<Layer>,
    /// Tensor returned as the output.
    pub output: u32,
}

/// One layer: a linear map into `i64` accumulators, then `clamp((acc × mul + r) >> shift)`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Layer {
    /// The linear map.
    pub op: LinearOp,
    /// Multiplier applied to the accumulator before the shift (1 except for sum-pools dividing
    /// by a window size that is not a power of two). At least 1.
    pub mul: u32,
    /// Right shift, with rounding half up. At most [`MAX_SHIFT`].
    pub shift: u32,
    /// Whether the clamp range starts at 0 instead of `-2^(act_bits-1)`.
    pub relu: bool,
}

/// The linear part of a layer.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum LinearOp {
    /// Fully connected.
    Dense(Dense),
    /// 2-D convolution.
    Conv2d(Conv2d),
    /// Window sums.
    SumPool(SumPool),
    /// Elementwise sum of two tensors.
    Add(Add),
    /// Elementwise sum of a tensor and a constant.
    Offset(Offset),
}

/// `acc[j] = bias[j] + Σ_i weights[j·in_len + i] · x[i]`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Dense {
    /// Input tensor.
    pub input: u32,
    /// Length of the input.
    pub in_len: u32,
    /// Length of the output.
    pub out_len: u32,
    /// `out_len × in_len` weights, row-major.
    pub weights: Vec<i32>,
    /// `out_len` biases at the accumulator scale.
    pub bias: Vec<i64>,
}

/// 2-D convolution with zero padding and no dilation, input `[in_channels, in_height, in_width]`:
///
/// ```text
/// acc[o, y, x] = bias[o] + Σ_{c, i, j} weights[o, c, i, j] · in[c, y·stride_height + i - pad_top,
///                                                                x·stride_width + j - pad_left]
/// ```
///
/// where out-of-range input positions contribute 0. The output is
/// `[out_channels, (in_height + pad_top + pad_bottom - kernel_height) / stride_height + 1,
/// (in_width + pad_left + pad_right - kernel_width) / stride_width + 1]`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Conv2d {
    /// Input tensor.
    pub input: u32,
    /// Input channels.
    pub in_channels: u32,
    /// Input rows.
    pub in_height: u32,
    /// Input columns.
    pub in_width: u32,
    /// Output channels.
    pub out_channels: u32,
    /// Kernel rows.
    pub kernel_height: u32,
    /// Kernel columns.
    pub kernel_width: u32,
    /// Vertical stride, at least 1.
    pub stride_height: u32,
    /// Horizontal stride, at least 1.
    pub stride_width: u32,
    /// Zero rows added above.
    pub pad_top: u32,
    /// Zero columns added on the left.
    pub pad_left: u32,
    /// Zero rows added below.
    pub pad_bottom: u32,
    /// Zero columns added on the right.
    pub pad_right: u32,
    /// `[out_channels, in_channels, kernel_height, kernel_width]` weights, row-major.
    pub weights: Vec<i32>,
    /// `out_channels` biases at the accumulator scale.
    pub bias: Vec<i64>,
}

/// Sums over windows without padding, input `[channels, in_height, in_width]`:
/// `acc[c, y, x] = Σ_{i, j} in[c, y·stride_height + i, x·stride_width + j]`. The output is
/// `[channels, (in_height - kernel_height) / stride_height + 1,
/// (in_width - kernel_width) / stride_width + 1]`. The division of an average pool is in the
/// layer's requantization.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SumPool {
    /// Input tensor.
    pub input: u32,
    /// Channels.
    pub channels: u32,
    /// Input rows.
    pub in_height: u32,
    /// Input columns.
    pub in_width: u32,
    /// Window rows.
    pub kernel_height: u32,
    /// Window columns.
    pub kernel_width: u32,
    /// Vertical stride, at least 1.
    pub stride_height: u32,
    /// Horizontal stride, at least 1.
    pub stride_width: u32,
}

/// `acc[i] = a[i] + b[i]` for two tensors of length `len` at the same scale.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Add {
    /// First tensor.
    pub a: u32,
    /// Second tensor.
    pub b: u32,
    /// Length of both tensors and of the output.
    pub len: u32,
}

/// `acc[i] = x[i] + offset[i]`, the offset at the input's scale. With an all-zero offset and
/// `relu` this is a standalone ReLU.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Offset {
    /// Input tensor.
    pub input: u32,
    /// One constant per value of the input.
    pub offset: Vec<i64>,
}

/// Sizes of a program, for cost estimates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramStats {
    /// Number of layers.
    pub layers: usize,
    /// Integer constants: weights, biases and offsets.
    pub params: u64,
    /// Multiply-accumulates per sample (convolutions counted over padded positions too).
    pub macs: u64,
    /// Requantized values per sample: the sum of the layers' output lengths.
    pub activations: u64,
    /// Sum over all activations of their layer's shift: the bits discarded by requantization,
    /// which an R1CS translation range-checks along with `act_bits` per activation.
    pub shift_bits: u64,
    /// Width of the activation clamp range.
    pub act_bits: u32,
}

impl Program {
    /// Checks every invariant of the format and wraps the fields.
    pub(crate) fn from_body(body: ProgramBody) -> Result<Self, InvalidProgram> {
        validate::validate(&body)?;
        Ok(Self(body))
    }

    /// Per-sample input shape, without the batch dimension, e.g. `[1, 8, 8]`.
    pub fn input_shape(&self) -> &[u32] {
        &self.0.input_shape
    }

    /// Number of values in one input sample.
    pub fn input_len(&self) -> usize {
        self.0.input_shape.iter().map(|&d| d as usize).product()
    }

    /// Number of values in one output sample.
    pub fn output_len(&self) -> usize {
        self.tensor_len(self.0.output)
    }

    /// Fractional bits of the input scale: the integer `v` stands for `v × 2^-in_frac_bits`.
    pub fn in_frac_bits(&self) -> u32 {
        self.0.in_frac_bits
    }

    /// Fractional bits of the output scale: the integer `v` stands for `v × 2^-out_frac_bits`.
    pub fn out_frac_bits(&self) -> u32 {
        self.0.out_frac_bits
    }

    /// Width of the signed clamp range of every activation.
    pub fn act_bits(&self) -> u32 {
        self.0.act_bits
    }

    /// The layers in execution order; layer `i` produces tensor `i + 1`.
    pub fn layers(&self) -> &[Layer] {
        &self.0.layers
    }

    /// Index of the tensor returned as the output (0 is the input).
    pub fn output_tensor(&self) -> u32 {
        self.0.output
    }

    /// Length of tensor `t`, which must exist.
    pub(crate) fn tensor_len(&self, t: u32) -> usize {
        match t.checked_sub(1) {
            None => self.input_len(),
            Some(layer) => self.0.layers[layer as usize].op.output_len() as usize,
        }
    }

    /// Smallest and largest activation: `[-2^(act_bits-1), 2^(act_bits-1) - 1]`.
    pub fn act_range(&self) -> (i32, i32) {
        act_range(self.0.act_bits)
    }

    /// Converts a float sample to the input integers: each value `x` becomes
    /// `round(x × 2^in_frac_bits)`, rounded half away from zero, clamped to
    /// [`act_range`](Self::act_range). The scaling by a power of two is exact, so this is
    /// deterministic on every machine. NaN and infinities are refused.
    pub fn quantize_input(&self, x: &[f32]) -> Result<Vec<i32>, RunError> {
        self.check_input_len(x.len())?;
        let scale = f64::from(1u32 << self.0.in_frac_bits);
        let (lo, hi) = self.act_range();
        x.iter()
            .enumerate()
            .map(|(index, &value)| {
                if !value.is_finite() {
                    return Err(RunError::NonFinite { index, value });
                }
                let scaled = (f64::from(value) * scale).round();
                Ok(scaled.clamp(f64::from(lo), f64::from(hi)) as i32)
            })
            .collect()
    }

    /// Runs one sample of [`input_len`](Self::input_len) integers and returns
    /// [`output_len`](Self::output_len) integers at scale `2^-out_frac_bits`. Input values
    /// outside [`act_range`](Self::act_range) are clamped into it first.
    pub fn run(&self, x: &[i32]) -> Result<Vec<i32>, RunError> {
        self.check_input_len(x.len())?;
        Ok(exec::run_sample(self, x))
    }

    /// Runs `batch` samples stored one after another and returns their outputs one after
    /// another. Each sample goes through [`run`](Self::run)'s code path alone, so the result
    /// equals running them one by one.
    pub fn run_batch(&self, xs: &[i32], batch: usize) -> Result<Vec<i32>, RunError> {
        let per_sample = self.input_len();
        if batch.checked_mul(per_sample) != Some(xs.len()) {
            return Err(RunError::BatchLength {
                got: xs.len(),
                batch,
                per_sample,
            });
        }
        let mut out = Vec::new();
        for x in xs.chunks_exact(per_sample) {
            out.extend(exec::run_sample(self, x));
        }
        Ok(out)
    }

    /// [`quantize_input`](Self::quantize_input) followed by [`run`](Self::run).
    pub fn run_f32(&self, x: &[f32]) -> Result<Vec<i32>, RunError> {
        let q = self.quantize_input(x)?;
        Ok(exec::run_sample(self, &q))
    }

    /// Converts output integers to floats: `v × 2^-out_frac_bits` (exact, as activations have
    /// at most 24 bits).
    pub fn dequantize_output(&self, y: &[i32]) -> Vec<f32> {
        let scale = 1.0 / (1u32 << self.0.out_frac_bits) as f32;
        y.iter().map(|&v| v as f32 * scale).collect()
    }

    /// The canonical encoding (see the [module docs](self)).
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(&self.0).expect("writing to a Vec cannot fail")
    }

    /// Decodes and validates an encoding produced by [`encode`](Self::encode). Refuses more than
    /// [`MAX_PROGRAM_BYTES`], trailing bytes and any program that breaks an invariant.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProgramDecodeError> {
        if bytes.len() > MAX_PROGRAM_BYTES {
            return Err(ProgramDecodeError::TooLarge {
                len: bytes.len(),
                max: MAX_PROGRAM_BYTES,
            });
        }
        let body = borsh::from_slice::<ProgramBody>(bytes)
            .map_err(|e| ProgramDecodeError::Malformed(e.to_string()))?;
        Ok(Self::from_body(body)?)
    }

    /// SHA-256 of [`encode`](Self::encode): the program's identity.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.encode()).into()
    }

    /// Sizes of the program.
    pub fn stats(&self) -> ProgramStats {
        let mut stats = ProgramStats {
            layers: self.0.layers.len(),
            params: 0,
            macs: 0,
            activations: 0,
            shift_bits: 0,
            act_bits: self.0.act_bits,
        };
        for layer in &self.0.layers {
            let out_len = layer.op.output_len();
            stats.params += layer.op.params();
            stats.macs += layer.op.macs();
            stats.activations += out_len;
            stats.shift_bits += out_len * u64::from(layer.shift);
        }
        stats
    }

    fn check_input_len(&self, got: usize) -> Result<(), RunError> {
        let expected = self.input_len();
        if got != expected {
            return Err(RunError::InputLength {
                got,
                expected,
                shape: self.0.input_shape.clone(),
            });
        }
        Ok(())
    }
}

impl BorshDeserialize for Program {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        let body = ProgramBody::deserialize_reader(reader)?;
        Self::from_body(body).map_err(std::io::Error::other)
    }
}

impl<'de> Deserialize<'de> for Program {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let body = <ProgramBody as Deserialize>::deserialize(deserializer)?;
        Self::from_body(body).map_err(serde::de::Error::custom)
    }
}

/// `[-2^(act_bits-1), 2^(act_bits-1) - 1]`.
pub(crate) fn act_range(act_bits: u32) -> (i32, i32) {
    let half = 1i32 << (act_bits - 1);
    (-half, half - 1)
}

/// Output size of a window sliding over `input` cells plus padding, or `None` when the window
/// does not fit or the stride is 0.
pub(crate) fn window_out(
    input: u32,
    pad_a: u32,
    pad_b: u32,
    kernel: u32,
    stride: u32,
) -> Option<u64> {
    let span =
        (u64::from(input) + u64::from(pad_a) + u64::from(pad_b)).checked_sub(u64::from(kernel))?;
    if kernel == 0 || stride == 0 {
        return None;
    }
    Some(span / u64::from(stride) + 1)
}

impl LinearOp {
    /// Tensors read by the op.
    pub fn inputs(&self) -> Vec<u32> {
        match self {
            Self::Dense(d) => vec![d.input],
            Self::Conv2d(c) => vec![c.input],
            Self::SumPool(p) => vec![p.input],
            Self::Add(a) => vec![a.a, a.b],
            Self::Offset(o) => vec![o.input],
        }
    }

    /// Number of output values (saturating; 0 for geometry that does not fit, which validation
    /// refuses).
    pub fn output_len(&self) -> u64 {
        match self {
            Self::Dense(d) => u64::from(d.out_len),
            Self::Conv2d(c) => u64::from(c.out_channels)
                .saturating_mul(c.out_height())
                .saturating_mul(c.out_width()),
            Self::SumPool(p) => u64::from(p.channels)
                .saturating_mul(p.out_height())
                .saturating_mul(p.out_width()),
            Self::Add(a) => u64::from(a.len),
            Self::Offset(o) => o.offset.len() as u64,
        }
    }

    /// Number of integer constants.
    pub fn params(&self) -> u64 {
        match self {
            Self::Dense(d) => (d.weights.len() + d.bias.len()) as u64,
            Self::Conv2d(c) => (c.weights.len() + c.bias.len()) as u64,
            Self::SumPool(_) | Self::Add(_) => 0,
            Self::Offset(o) => o.offset.len() as u64,
        }
    }

    /// Multiply-accumulates per sample (saturating).
    pub fn macs(&self) -> u64 {
        match self {
            Self::Dense(d) => u64::from(d.in_len).saturating_mul(u64::from(d.out_len)),
            Self::Conv2d(c) => self
                .output_len()
                .saturating_mul(u64::from(c.in_channels))
                .saturating_mul(u64::from(c.kernel_height))
                .saturating_mul(u64::from(c.kernel_width)),
            Self::SumPool(_) | Self::Add(_) | Self::Offset(_) => 0,
        }
    }

    /// Multiply-accumulates plus additions per sample (saturating): the executor's work.
    pub(crate) fn work(&self) -> u64 {
        let additions = match self {
            Self::SumPool(p) => u64::from(p.kernel_height) * u64::from(p.kernel_width),
            Self::Add(_) | Self::Offset(_) => 1,
            Self::Dense(_) | Self::Conv2d(_) => 0,
        };
        self.macs()
            .saturating_add(self.output_len().saturating_mul(additions))
    }
}

impl Conv2d {
    /// Output rows (0 when the kernel does not fit).
    pub fn out_height(&self) -> u64 {
        window_out(
            self.in_height,
            self.pad_top,
            self.pad_bottom,
            self.kernel_height,
            self.stride_height,
        )
        .unwrap_or(0)
    }

    /// Output columns (0 when the kernel does not fit).
    pub fn out_width(&self) -> u64 {
        window_out(
            self.in_width,
            self.pad_left,
            self.pad_right,
            self.kernel_width,
            self.stride_width,
        )
        .unwrap_or(0)
    }
}

impl SumPool {
    /// Output rows (0 when the window does not fit).
    pub fn out_height(&self) -> u64 {
        window_out(self.in_height, 0, 0, self.kernel_height, self.stride_height).unwrap_or(0)
    }

    /// Output columns (0 when the window does not fit).
    pub fn out_width(&self) -> u64 {
        window_out(self.in_width, 0, 0, self.kernel_width, self.stride_width).unwrap_or(0)
    }
}
