//! The compiler: a float ONNX graph becomes an integer [`Program`].
//!
//! # Scales
//!
//! Every tensor of a compiled program has `act_frac_bits` fractional bits: the input, every
//! activation and the output. Weights have `weight_frac_bits`; a dense or convolution layer
//! accumulates at `act_frac_bits + weight_frac_bits`, its biases are quantized at that scale, and
//! its requantization shifts right by `weight_frac_bits`. Sum-pools, tensor sums and constant
//! offsets accumulate at `act_frac_bits` and shift by 0 (a sum-pool also divides by its window,
//! see [`crate::program`]). As all tensors share one scale, the operands of an `Add` always do.
//! Constants are rounded half away from zero, computed in `f64` where scaling an `f32` by a
//! power of two is exact, so compiling is deterministic too.
//!
//! # Lowering
//!
//! Nodes are read in graph order, which ONNX requires to be topological. A linear node (Gemm,
//! MatMul, Conv, AveragePool, Add) yields a *pending* value: its operands and float constants,
//! not yet a layer. A pending value becomes a layer when something needs its integers; before
//! that, its only consumer may fold into it:
//!
//! * `Relu` makes the layer's clamp start at 0;
//! * `Add` of a constant to a pending Gemm, MatMul or Conv is added to its bias (for Conv only
//!   when the constant is uniform over each output channel).
//!
//! Any other use turns the value into a layer first, without ReLU; a value with several uses
//! becomes one layer shared by all, so a `Relu` on it is a layer of its own (an offset of zeros
//! with ReLU). `Flatten`, `Reshape` and `Identity` only relabel a tensor; `Constant` defines a
//! constant.
//!
//! # Operators
//!
//! | ONNX | accepted form |
//! |------|---------------|
//! | Gemm | `[batch, K]` input, constant B (`transB` 0 or 1), optional constant C broadcasting to `[1, N]`, `alpha = beta = 1`, `transA = 0` |
//! | MatMul | `[batch, K]` input times a constant `[K, N]` matrix |
//! | Conv | 2-D, constant weights and bias, `group = 1`, dilations 1, any strides and explicit pads (`auto_pad` NOTSET or VALID) |
//! | AveragePool | 2-D, no padding, `ceil_mode = 0`, dilations 1 |
//! | Relu, Identity | any tensor |
//! | Add | tensor + constant (NumPy broadcasting into the tensor's shape), or two tensors of equal shape |
//! | Flatten | `axis = 1` |
//! | Reshape | constant target shape keeping the batch dimension first (`-1` and `0` allowed) |
//! | Constant | the `value` form |
//!
//! Everything else is refused, naming the operator, the node and the fix; so are non-f32
//! weights, a non-f32 input, and dynamic dimensions other than the leading batch dimension of the
//! single input.

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::CompileError;
use crate::onnx::{self, Attributes, Constant};
use crate::program::{
    Add, Conv2d, Dense, FORMAT_VERSION, Layer, LinearOp, MAX_ACT_BITS, MAX_FRAC_BITS,
    MAX_INPUT_RANK, MAX_TENSOR_LEN, MIN_ACT_BITS, Offset, Program, ProgramBody, SumPool,
    window_out,
};
use crate::quantize;

/// Precision of a compiled program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileOptions {
    /// Fractional bits of every weight: `w` becomes `round(w × 2^weight_frac_bits)`. Also the
    /// requantization shift of dense and convolution layers.
    pub weight_frac_bits: u32,
    /// Fractional bits of the input, every activation and the output.
    pub act_frac_bits: u32,
    /// Width of the signed clamp range of every activation, in
    /// [`MIN_ACT_BITS`]`..=`[`MAX_ACT_BITS`]. With `act_frac_bits` it fixes the representable
    /// range: `±2^(act_bits - 1 - act_frac_bits)`.
    pub act_bits: u32,
}

impl Default for CompileOptions {
    /// 8 fractional bits for weights and activations and 16-bit activations (range ±128): within
    /// a fraction of a point of float accuracy on the digits models.
    fn default() -> Self {
        Self {
            weight_frac_bits: 8,
            act_frac_bits: 8,
            act_bits: 16,
        }
    }
}

impl CompileOptions {
    fn check(&self) -> Result<(), CompileError> {
        if !(MIN_ACT_BITS..=MAX_ACT_BITS).contains(&self.act_bits) {
            return Err(CompileError::Options(format!(
                "act_bits = {} is outside {MIN_ACT_BITS}..={MAX_ACT_BITS}",
                self.act_bits
            )));
        }
        for (name, value) in [
            ("weight_frac_bits", self.weight_frac_bits),
            ("act_frac_bits", self.act_frac_bits),
        ] {
            if value > MAX_FRAC_BITS {
                return Err(CompileError::Options(format!(
                    "{name} = {value} is more than {MAX_FRAC_BITS}"
                )));
            }
        }
        Ok(())
    }
}

/// Compiles the bytes of a float ONNX model into an integer program.
pub fn compile(onnx: &[u8], options: &CompileOptions) -> Result<Program, CompileError> {
    options.check()?;
    let model = onnx::read_model(onnx)?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| CompileError::Malformed("the model has no graph".into()))?;
    let mut builder = Builder::new(options, graph)?;
    for (index, node) in graph.node.iter().enumerate() {
        builder.node(index, node)?;
    }
    builder.finish(graph)
}

/// An integer tensor of the program being built.
#[derive(Clone, Debug)]
struct Tensor {
    /// Index in the program (0 is the input).
    id: u32,
    /// Per-sample shape.
    shape: Vec<usize>,
}

impl Tensor {
    fn len(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A linear result not yet turned into a layer.
struct Pending {
    op: PendingOp,
    /// Per-sample output shape.
    shape: Vec<usize>,
}

/// The linear map of a pending value, with float constants.
enum PendingOp {
    Dense {
        input: Tensor,
        /// `out × in`, row-major.
        weights: Vec<f32>,
        bias: Vec<f32>,
        names: ConstNames,
    },
    Conv {
        input: Tensor,
        out_channels: usize,
        kernel: [usize; 2],
        strides: [usize; 2],
        /// Top, left, bottom, right.
        pads: [usize; 4],
        /// `[out, in, kernel_h, kernel_w]`, row-major.
        weights: Vec<f32>,
        bias: Vec<f32>,
        names: ConstNames,
    },
    SumPool {
        input: Tensor,
        kernel: [usize; 2],
        strides: [usize; 2],
        /// Requantization dividing by the window size.
        divisor: (u32, u32),
    },
    Add {
        a: Tensor,
        b: Tensor,
    },
    Offset {
        input: Tensor,
        offset: Vec<f32>,
        name: String,
    },
}

/// Names of the weight and bias tensors of a layer, for messages.
struct ConstNames {
    weights: String,
    bias: String,
}

/// What an ONNX tensor name stands for.
enum Value {
    Const(Rc<Constant>),
    Tensor(Tensor),
    Pending(Pending),
}

/// The node being lowered, for messages.
struct Ctx {
    op: String,
    label: String,
}

impl Ctx {
    fn form(&self, detail: impl Into<String>) -> CompileError {
        CompileError::UnsupportedForm {
            op: self.op.clone(),
            node: self.label.clone(),
            detail: detail.into(),
        }
    }
}

struct Builder<'a> {
    options: &'a CompileOptions,
    values: HashMap<String, Value>,
    /// How many node inputs and graph outputs name each tensor.
    uses: HashMap<String, usize>,
    layers: Vec<Layer>,
    input_shape: Vec<usize>,
}

impl<'a> Builder<'a> {
    fn new(
        options: &'a CompileOptions,
        graph: &tract_onnx::pb::GraphProto,
    ) -> Result<Self, CompileError> {
        if !graph.sparse_initializer.is_empty() {
            return Err(CompileError::Malformed(
                "sparse initializers are not supported: save dense weights".into(),
            ));
        }
        let mut values = HashMap::new();
        for t in &graph.initializer {
            let constant = onnx::read_tensor(t)?;
            values.insert(constant.name.clone(), Value::Const(Rc::new(constant)));
        }
        let input = onnx::graph_input(graph)?;
        if input.shape.len() > MAX_INPUT_RANK {
            return Err(CompileError::Malformed(format!(
                "input '{}' has {} dimensions per sample, more than {MAX_INPUT_RANK}",
                input.name,
                input.shape.len()
            )));
        }
        let shape = checked_shape(input.shape)?;
        values.insert(
            input.name,
            Value::Tensor(Tensor {
                id: 0,
                shape: shape.clone(),
            }),
        );
        let mut uses = HashMap::new();
        let names = graph
            .node
            .iter()
            .flat_map(|n| &n.input)
            .chain(graph.output.iter().map(|o| &o.name));
        for name in names.filter(|n| !n.is_empty()) {
            *uses.entry(name.clone()).or_insert(0) += 1;
        }
        Ok(Self {
            options,
            values,
            uses,
            layers: Vec::new(),
            input_shape: shape,
        })
    }

    fn node(&mut self, index: usize, node: &tract_onnx::pb::NodeProto) -> Result<(), CompileError> {
        let label = if node.name.is_empty() {
            format!("#{index}")
        } else {
            node.name.clone()
        };
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return Err(CompileError::UnsupportedOp {
                op: format!("{}::{}", node.domain, node.op_type),
                node: label,
                fix: "only operators of the default ONNX domain are supported: export without custom or vendor operators"
                    .into(),
            });
        }
        let ctx = Ctx {
            op: node.op_type.clone(),
            label,
        };
        let (inputs, attributes): (std::ops::RangeInclusive<usize>, &[&str]) =
            match node.op_type.as_str() {
                "Gemm" => (2..=3, &["alpha", "beta", "transA", "transB"]),
                "MatMul" => (2..=2, &[]),
                "Conv" => (
                    2..=3,
                    &[
                        "auto_pad",
                        "dilations",
                        "group",
                        "kernel_shape",
                        "pads",
                        "strides",
                    ],
                ),
                "AveragePool" => (
                    1..=1,
                    &[
                        "auto_pad",
                        "ceil_mode",
                        "count_include_pad",
                        "dilations",
                        "kernel_shape",
                        "pads",
                        "strides",
                    ],
                ),
                "Relu" | "Identity" => (1..=1, &[]),
                "Add" => (2..=2, &[]),
                "Flatten" => (1..=1, &["axis"]),
                "Reshape" => (2..=2, &["allowzero"]),
                "Constant" => (0..=0, &["value"]),
                other => {
                    return Err(CompileError::UnsupportedOp {
                        op: other.into(),
                        node: ctx.label,
                        fix: unsupported_fix(other).into(),
                    });
                }
            };
        if !inputs.contains(&node.input.len()) {
            return Err(ctx.form(format!(
                "expected {inputs:?} inputs, found {}",
                node.input.len()
            )));
        }
        let [output] = node.output.as_slice() else {
            return Err(ctx.form(format!("expected one output, found {}", node.output.len())));
        };
        let attrs = Attributes::new(node, ctx.label.clone(), attributes)?;
        let input = |i: usize| {
            node.input
                .get(i)
                .map(String::as_str)
                .filter(|s| !s.is_empty())
        };
        let value = match node.op_type.as_str() {
            "Gemm" => self.gemm(&ctx, &attrs, &node.input[0], &node.input[1], input(2))?,
            "MatMul" => {
                let a = self.tensor(&node.input[0])?;
                let b = self.constant(&ctx, &node.input[1])?;
                self.dense(&ctx, a, &b, false, None)?
            }
            "Conv" => self.conv(&ctx, &attrs, &node.input[0], &node.input[1], input(2))?,
            "AveragePool" => self.average_pool(&ctx, &attrs, &node.input[0])?,
            "Relu" => self.relu(&node.input[0])?,
            "Identity" => self.identity(&node.input[0])?,
            "Add" => self.add(&ctx, &node.input[0], &node.input[1])?,
            "Flatten" => self.flatten(&ctx, &attrs, &node.input[0])?,
            "Reshape" => self.reshape(&ctx, &attrs, &node.input[0], &node.input[1])?,
            // "Constant": the first match refused every other operator.
            _ => self.constant_node(&ctx, &attrs, output)?,
        };
        if output.is_empty() || self.values.contains_key(output) {
            return Err(CompileError::Malformed(format!(
                "tensor '{output}' is defined twice or has no name"
            )));
        }
        self.values.insert(output.clone(), value);
        Ok(())
    }

    fn finish(mut self, graph: &tract_onnx::pb::GraphProto) -> Result<Program, CompileError> {
        let (name, declared) = onnx::graph_output(graph)?;
        let output = self.tensor(&name)?;
        if let Some(declared) = declared
            && declared.iter().product::<usize>() != output.len()
        {
            return Err(CompileError::Malformed(format!(
                "output '{name}' is declared with per-sample shape {declared:?} but the graph computes {:?}",
                output.shape
            )));
        }
        let body = ProgramBody {
            version: FORMAT_VERSION,
            input_shape: self
                .input_shape
                .iter()
                .map(|&d| to_u32(d))
                .collect::<Result<_, _>>()?,
            in_frac_bits: self.options.act_frac_bits,
            out_frac_bits: self.options.act_frac_bits,
            act_bits: self.options.act_bits,
            layers: self.layers,
            output: output.id,
        };
        Ok(Program::from_body(body)?)
    }

    /// The integer tensor named `name`, turning a pending value into a layer if needed.
    fn tensor(&mut self, name: &str) -> Result<Tensor, CompileError> {
        let value = self.values.remove(name).ok_or_else(|| undefined(name))?;
        let tensor = match value {
            Value::Tensor(t) => t,
            Value::Pending(p) => self.materialize(p, false)?,
            Value::Const(c) => {
                self.values.insert(name.into(), Value::Const(c));
                return Err(CompileError::Malformed(format!(
                    "'{name}' is a constant where a computed tensor is expected; constant folding is not supported: simplify the model first (e.g. with onnxsim)"
                )));
            }
        };
        self.values
            .insert(name.into(), Value::Tensor(tensor.clone()));
        Ok(tensor)
    }

    /// The pending value named `name`, removed, if its only use is the current node.
    fn take_pending(&mut self, name: &str) -> Option<Pending> {
        if self.uses.get(name) != Some(&1)
            || !matches!(self.values.get(name), Some(Value::Pending(_)))
        {
            return None;
        }
        match self.values.remove(name) {
            Some(Value::Pending(p)) => Some(p),
            _ => None,
        }
    }

    /// The constant named `name`.
    fn constant(&self, ctx: &Ctx, name: &str) -> Result<Rc<Constant>, CompileError> {
        match self.values.get(name) {
            Some(Value::Const(c)) => Ok(c.clone()),
            Some(_) => Err(ctx.form(format!(
                "'{name}' is computed at run time; the integer path needs constant weights here"
            ))),
            None => Err(undefined(name)),
        }
    }

    /// Turns a pending value into a layer.
    fn materialize(&mut self, pending: Pending, relu: bool) -> Result<Tensor, CompileError> {
        let weight_frac = self.options.weight_frac_bits;
        let act_frac = self.options.act_frac_bits;
        let out_len = to_u32(pending.shape.iter().product())?;
        let (op, mul, shift) = match pending.op {
            PendingOp::Dense {
                input,
                weights,
                bias,
                names,
            } => {
                let dense = Dense {
                    input: input.id,
                    in_len: to_u32(input.len())?,
                    out_len,
                    weights: quantize::weights(&names.weights, &weights, weight_frac)?,
                    bias: quantize::constants(&names.bias, &bias, act_frac + weight_frac)?,
                };
                (LinearOp::Dense(dense), 1, weight_frac)
            }
            PendingOp::Conv {
                input,
                out_channels,
                kernel,
                strides,
                pads,
                weights,
                bias,
                names,
            } => {
                let conv = Conv2d {
                    input: input.id,
                    in_channels: to_u32(input.shape[0])?,
                    in_height: to_u32(input.shape[1])?,
                    in_width: to_u32(input.shape[2])?,
                    out_channels: to_u32(out_channels)?,
                    kernel_height: to_u32(kernel[0])?,
                    kernel_width: to_u32(kernel[1])?,
                    stride_height: to_u32(strides[0])?,
                    stride_width: to_u32(strides[1])?,
                    pad_top: to_u32(pads[0])?,
                    pad_left: to_u32(pads[1])?,
                    pad_bottom: to_u32(pads[2])?,
                    pad_right: to_u32(pads[3])?,
                    weights: quantize::weights(&names.weights, &weights, weight_frac)?,
                    bias: quantize::constants(&names.bias, &bias, act_frac + weight_frac)?,
                };
                (LinearOp::Conv2d(conv), 1, weight_frac)
            }
            PendingOp::SumPool {
                input,
                kernel,
                strides,
                divisor: (mul, shift),
            } => {
                let pool = SumPool {
                    input: input.id,
                    channels: to_u32(input.shape[0])?,
                    in_height: to_u32(input.shape[1])?,
                    in_width: to_u32(input.shape[2])?,
                    kernel_height: to_u32(kernel[0])?,
                    kernel_width: to_u32(kernel[1])?,
                    stride_height: to_u32(strides[0])?,
                    stride_width: to_u32(strides[1])?,
                };
                (LinearOp::SumPool(pool), mul, shift)
            }
            PendingOp::Add { a, b } => (
                LinearOp::Add(Add {
                    a: a.id,
                    b: b.id,
                    len: out_len,
                }),
                1,
                0,
            ),
            PendingOp::Offset {
                input,
                offset,
                name,
            } => {
                let offset = Offset {
                    input: input.id,
                    offset: quantize::constants(&name, &offset, act_frac)?,
                };
                (LinearOp::Offset(offset), 1, 0)
            }
        };
        self.layers.push(Layer {
            op,
            mul,
            shift,
            relu,
        });
        Ok(Tensor {
            id: to_u32(self.layers.len())?,
            shape: pending.shape,
        })
    }

    fn gemm(
        &mut self,
        ctx: &Ctx,
        attrs: &Attributes,
        a: &str,
        b: &str,
        c: Option<&str>,
    ) -> Result<Value, CompileError> {
        let alpha = attrs.float("alpha")?.unwrap_or(1.0);
        if alpha != 1.0 {
            return Err(ctx.form(format!(
                "alpha = {alpha} is not supported: fold the factor into the weights"
            )));
        }
        let beta = attrs.float("beta")?.unwrap_or(1.0);
        if c.is_some() && beta != 1.0 {
            return Err(ctx.form(format!(
                "beta = {beta} is not supported: fold the factor into the bias"
            )));
        }
        if attrs.int("transA")?.unwrap_or(0) != 0 {
            return Err(ctx.form("transA = 1 is not supported: the input must be [batch, K]"));
        }
        let trans_b = match attrs.int("transB")?.unwrap_or(0) {
            0 => false,
            1 => true,
            other => return Err(ctx.form(format!("transB = {other} is not 0 or 1"))),
        };
        let a = self.tensor(a)?;
        let b = self.constant(ctx, b)?;
        let c = c.map(|c| self.constant(ctx, c)).transpose()?;
        self.dense(ctx, a, &b, trans_b, c)
    }

    /// `a × B + C` for a `[batch, K]` input and a constant matrix `B`: `[N, K]` when `trans_b`,
    /// else `[K, N]`.
    fn dense(
        &mut self,
        ctx: &Ctx,
        a: Tensor,
        b: &Constant,
        trans_b: bool,
        c: Option<Rc<Constant>>,
    ) -> Result<Value, CompileError> {
        let &[k] = a.shape.as_slice() else {
            return Err(ctx.form(format!(
                "the input has per-sample shape {:?}; {} takes [batch, K]: flatten it first",
                a.shape, ctx.op
            )));
        };
        let w = b.f32s()?;
        let (n, weights) = match (b.dims.as_slice(), trans_b) {
            (&[rows, cols], true) if cols == k => (rows, w.to_vec()),
            (&[rows, cols], false) if rows == k => (cols, transpose(w, rows, cols)),
            (dims, _) => {
                return Err(ctx.form(format!(
                    "weights '{}' have dims {dims:?}, which do not multiply an input of {k} values",
                    b.name
                )));
            }
        };
        let shape = checked_shape(vec![n])?;
        let (bias, bias_name) = match c {
            Some(c) => (broadcast(ctx, &c, &[1, n])?, c.name.clone()),
            None => (vec![0.0; n], format!("bias of node '{}'", ctx.label)),
        };
        let names = ConstNames {
            weights: b.name.clone(),
            bias: bias_name,
        };
        Ok(Value::Pending(Pending {
            op: PendingOp::Dense {
                input: a,
                weights,
                bias,
                names,
            },
            shape,
        }))
    }

    fn conv(
        &mut self,
        ctx: &Ctx,
        attrs: &Attributes,
        x: &str,
        w: &str,
        b: Option<&str>,
    ) -> Result<Value, CompileError> {
        let x = self.tensor(x)?;
        let w = self.constant(ctx, w)?;
        let b = b.map(|b| self.constant(ctx, b)).transpose()?;
        let &[channels, height, width] = x.shape.as_slice() else {
            return Err(ctx.form(format!(
                "the input has per-sample shape {:?}; only 2-D convolution of [batch, C, H, W] is supported",
                x.shape
            )));
        };
        let &[out_channels, in_channels, kernel_h, kernel_w] = w.dims.as_slice() else {
            return Err(ctx.form(format!(
                "weights '{}' have dims {:?}, expected [M, C, kH, kW]",
                w.name, w.dims
            )));
        };
        let group = attrs.int("group")?.unwrap_or(1);
        if group != 1 {
            return Err(ctx.form(format!(
                "group = {group} (grouped or depthwise convolution) is not supported: use group = 1"
            )));
        }
        if in_channels != channels {
            return Err(ctx.form(format!(
                "weights '{}' expect {in_channels} input channels, the input has {channels}",
                w.name
            )));
        }
        unit_dilations(ctx, attrs)?;
        if let Some(shape) = attrs.ints("kernel_shape")?
            && shape != [kernel_h as i64, kernel_w as i64]
        {
            return Err(ctx.form(format!(
                "kernel_shape {shape:?} disagrees with the weights' dims {:?}",
                w.dims
            )));
        }
        let kernel = [kernel_h, kernel_w];
        let strides = pair(ctx, attrs, "strides")?;
        let pads = pads(ctx, attrs)?;
        let out = window_shape(ctx, [height, width], kernel, strides, pads)?;
        let bias = match &b {
            Some(b) => broadcast(ctx, b, &[out_channels])?,
            None => vec![0.0; out_channels],
        };
        let names = ConstNames {
            weights: w.name.clone(),
            bias: b.map_or_else(
                || format!("bias of node '{}'", ctx.label),
                |b| b.name.clone(),
            ),
        };
        let op = PendingOp::Conv {
            input: x,
            out_channels,
            kernel,
            strides,
            pads,
            weights: w.f32s()?.to_vec(),
            bias,
            names,
        };
        Ok(Value::Pending(Pending {
            op,
            shape: checked_shape(vec![out_channels, out[0], out[1]])?,
        }))
    }

    fn average_pool(
        &mut self,
        ctx: &Ctx,
        attrs: &Attributes,
        x: &str,
    ) -> Result<Value, CompileError> {
        let x = self.tensor(x)?;
        let &[channels, height, width] = x.shape.as_slice() else {
            return Err(ctx.form(format!(
                "the input has per-sample shape {:?}; only 2-D pooling of [batch, C, H, W] is supported",
                x.shape
            )));
        };
        let kernel = match attrs.ints("kernel_shape")? {
            Some(&[h, w]) if h > 0 && w > 0 => [h as usize, w as usize],
            other => {
                return Err(ctx.form(format!("kernel_shape {other:?} is not two positive sizes")));
            }
        };
        if pads(ctx, attrs)? != [0; 4] {
            return Err(ctx.form("padding is not supported: pool without padding (count_include_pad is then irrelevant)"));
        }
        if attrs.int("ceil_mode")?.unwrap_or(0) != 0 {
            return Err(ctx.form("ceil_mode = 1 is not supported: use ceil_mode = 0"));
        }
        unit_dilations(ctx, attrs)?;
        let strides = pair(ctx, attrs, "strides")?;
        let out = window_shape(ctx, [height, width], kernel, strides, [0; 4])?;
        let window = (kernel[0] as u64) * (kernel[1] as u64);
        let divisor = quantize::pool_divisor(window, self.options.act_bits).ok_or_else(|| {
            ctx.form(format!(
                "a window of {window} values cannot be divided exactly enough at act_bits = {}: use a smaller window",
                self.options.act_bits
            ))
        })?;
        let op = PendingOp::SumPool {
            input: x,
            kernel,
            strides,
            divisor,
        };
        Ok(Value::Pending(Pending {
            op,
            shape: checked_shape(vec![channels, out[0], out[1]])?,
        }))
    }

    fn relu(&mut self, x: &str) -> Result<Value, CompileError> {
        if let Some(p) = self.take_pending(x) {
            return Ok(Value::Tensor(self.materialize(p, true)?));
        }
        let input = self.tensor(x)?;
        let zeros = Pending {
            shape: input.shape.clone(),
            op: PendingOp::Offset {
                offset: vec![0.0; input.len()],
                input,
                name: x.into(),
            },
        };
        Ok(Value::Tensor(self.materialize(zeros, true)?))
    }

    fn identity(&mut self, x: &str) -> Result<Value, CompileError> {
        if let Some(p) = self.take_pending(x) {
            return Ok(Value::Pending(p));
        }
        match self.values.get(x) {
            Some(Value::Const(c)) => Ok(Value::Const(c.clone())),
            _ => Ok(Value::Tensor(self.tensor(x)?)),
        }
    }

    fn add(&mut self, ctx: &Ctx, a: &str, b: &str) -> Result<Value, CompileError> {
        let is_const = |name: &str| matches!(self.values.get(name), Some(Value::Const(_)));
        match (is_const(a), is_const(b)) {
            (true, true) => Err(ctx.form(
                "both operands are constants; constant folding is not supported: simplify the model first (e.g. with onnxsim)",
            )),
            (false, true) => self.add_constant(ctx, a, b),
            (true, false) => self.add_constant(ctx, b, a),
            (false, false) => {
                let a = self.tensor(a)?;
                let b = self.tensor(b)?;
                if a.shape != b.shape {
                    return Err(ctx.form(format!(
                        "operands have per-sample shapes {:?} and {:?}; two computed tensors must have equal shapes (no broadcasting)",
                        a.shape, b.shape
                    )));
                }
                let shape = a.shape.clone();
                Ok(Value::Pending(Pending { op: PendingOp::Add { a, b }, shape }))
            }
        }
    }

    /// `x + c`: folded into the bias of a pending Gemm, MatMul or Conv when possible, otherwise
    /// an offset.
    fn add_constant(&mut self, ctx: &Ctx, x: &str, c: &str) -> Result<Value, CompileError> {
        let c = self.constant(ctx, c)?;
        let input = match self.take_pending(x) {
            Some(mut pending) => {
                let offset = broadcast(ctx, &c, &batched(&pending.shape))?;
                match &mut pending.op {
                    PendingOp::Dense { bias, .. } => {
                        bias.iter_mut().zip(&offset).for_each(|(b, o)| *b += o);
                        return Ok(Value::Pending(pending));
                    }
                    PendingOp::Conv { bias, .. } => {
                        let plane = offset.len() / bias.len();
                        if offset
                            .chunks(plane)
                            .all(|channel| channel.iter().all(|&v| v == channel[0]))
                        {
                            bias.iter_mut()
                                .zip(offset.chunks(plane))
                                .for_each(|(b, o)| *b += o[0]);
                            return Ok(Value::Pending(pending));
                        }
                    }
                    _ => {}
                }
                self.materialize(pending, false)?
            }
            None => self.tensor(x)?,
        };
        let offset = broadcast(ctx, &c, &batched(&input.shape))?;
        let shape = input.shape.clone();
        Ok(Value::Pending(Pending {
            op: PendingOp::Offset {
                input,
                offset,
                name: c.name.clone(),
            },
            shape,
        }))
    }

    fn flatten(&mut self, ctx: &Ctx, attrs: &Attributes, x: &str) -> Result<Value, CompileError> {
        let x = self.tensor(x)?;
        let rank = x.shape.len() as i64 + 1;
        let axis = attrs.int("axis")?.unwrap_or(1);
        if axis != 1 && axis != 1 - rank {
            return Err(ctx.form(format!(
                "axis = {axis} would merge or split the batch dimension: use axis = 1"
            )));
        }
        let len = x.len();
        Ok(Value::Tensor(Tensor {
            id: x.id,
            shape: vec![len],
        }))
    }

    fn reshape(
        &mut self,
        ctx: &Ctx,
        attrs: &Attributes,
        x: &str,
        shape: &str,
    ) -> Result<Value, CompileError> {
        let x = self.tensor(x)?;
        let target = self.constant(ctx, shape)?;
        let target = target.i64s()?;
        let allow_zero = attrs.int("allowzero")?.unwrap_or(0) != 0;
        let input = batched(&x.shape);
        let unsupported = || {
            ctx.form(format!(
                "target shape {target:?} does not fit an input of shape {input:?}"
            ))
        };
        let mut out = Vec::with_capacity(target.len());
        let mut inferred = None;
        for (axis, &d) in target.iter().enumerate() {
            match d {
                -1 if inferred.is_none() => {
                    inferred = Some(axis);
                    out.push(1);
                }
                0 if !allow_zero => out.push(*input.get(axis).ok_or_else(unsupported)?),
                d if d > 0 => out.push(usize::try_from(d).map_err(|_| unsupported())?),
                _ => return Err(unsupported()),
            }
        }
        let len = x.len();
        let known = out
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(unsupported)?;
        if let Some(axis) = inferred {
            if len % known != 0 {
                return Err(unsupported());
            }
            out[axis] = len / known;
        } else if known != len {
            return Err(unsupported());
        }
        if out.first() != Some(&1) {
            return Err(ctx.form(format!(
                "target shape {target:?} moves the batch dimension: keep it first (e.g. [-1, ...] or [0, ...])"
            )));
        }
        Ok(Value::Tensor(Tensor {
            id: x.id,
            shape: out[1..].to_vec(),
        }))
    }

    fn constant_node(
        &mut self,
        ctx: &Ctx,
        attrs: &Attributes,
        output: &str,
    ) -> Result<Value, CompileError> {
        let tensor = attrs
            .tensor("value")?
            .ok_or_else(|| ctx.form("only the 'value' form of Constant is supported"))?;
        let mut constant = onnx::read_tensor(tensor)?;
        constant.name = output.into();
        Ok(Value::Const(Rc::new(constant)))
    }
}

/// The fix suggested for an unsupported operator.
fn unsupported_fix(op: &str) -> &'static str {
    match op {
        "Softmax" | "LogSoftmax" => "export the model to output logits (the argmax is the same)",
        "MaxPool" | "GlobalMaxPool" => {
            "use AveragePool instead (sum-pooling is free in the integer path) and retrain"
        }
        "GlobalAveragePool" => "use AveragePool with a kernel covering the whole feature map",
        "Sigmoid" | "Tanh" | "LeakyRelu" | "PRelu" | "Elu" | "Selu" | "Gelu" | "HardSigmoid"
        | "HardSwish" | "Softplus" | "Clip" => "use Relu as the activation and retrain",
        "BatchNormalization" => {
            "fold BatchNormalization into the preceding Conv or Gemm before export (export in eval mode with constant folding, or run onnxsim)"
        }
        "Dropout" => "export in eval mode (model.eval()) so that Dropout disappears",
        "Shape" | "Gather" | "Concat" | "Unsqueeze" | "Squeeze" | "Slice" | "Cast" => {
            "this computes a shape at run time: use torch.flatten or a constant target shape so that the exporter emits Flatten or a constant Reshape"
        }
        "QuantizeLinear" | "DequantizeLinear" | "QLinearConv" | "QLinearMatMul"
        | "MatMulInteger" | "ConvInteger" => {
            "export the float model: verity-quant does its own integer quantization"
        }
        "Sub" | "Mul" | "Div" => {
            "fold constant arithmetic into the weights before export (normalize inputs outside the model)"
        }
        _ => {
            "re-export the model using only Gemm, MatMul, Conv, Relu, Add, AveragePool, Flatten, Reshape, Identity and Constant"
        }
    }
}

fn undefined(name: &str) -> CompileError {
    CompileError::Malformed(format!(
        "tensor '{name}' is used before it is defined: the graph must be topologically sorted"
    ))
}

fn to_u32(value: usize) -> Result<u32, CompileError> {
    u32::try_from(value)
        .map_err(|_| CompileError::Malformed(format!("size {value} does not fit in 32 bits")))
}

/// `shape` if it has between 1 and [`MAX_TENSOR_LEN`] values.
fn checked_shape(shape: Vec<usize>) -> Result<Vec<usize>, CompileError> {
    let len = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .unwrap_or(u64::MAX);
    if len == 0 {
        return Err(CompileError::Malformed(format!(
            "a tensor of shape {shape:?} is empty"
        )));
    }
    if len > MAX_TENSOR_LEN {
        return Err(crate::error::InvalidProgram::Limit {
            what: "tensor length",
            value: len,
            max: MAX_TENSOR_LEN,
        }
        .into());
    }
    Ok(shape)
}

/// The full shape of a per-sample shape, with a batch dimension of 1.
fn batched(shape: &[usize]) -> Vec<usize> {
    std::iter::once(1).chain(shape.iter().copied()).collect()
}

/// The `[cols, rows]` transpose of a row-major `[rows, cols]` matrix.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| m[r * cols + c]))
        .collect()
}

/// The f32 constant `c` expanded to `shape` by NumPy broadcasting; refused unless `c`
/// broadcasts to exactly `shape`.
fn broadcast(ctx: &Ctx, c: &Constant, shape: &[usize]) -> Result<Vec<f32>, CompileError> {
    let values = c.f32s()?;
    let error = || {
        ctx.form(format!(
            "constant '{}' of dims {:?} does not broadcast to {shape:?}",
            c.name, c.dims
        ))
    };
    let lead = shape.len().checked_sub(c.dims.len()).ok_or_else(error)?;
    let mut strides = vec![0; shape.len()];
    let mut stride = 1;
    for (i, &d) in c.dims.iter().enumerate().rev() {
        if d == shape[lead + i] {
            strides[lead + i] = stride;
        } else if d != 1 {
            return Err(error());
        }
        stride *= d;
    }
    let len: usize = shape.iter().product();
    Ok((0..len)
        .map(|flat| {
            let (mut rest, mut index) = (flat, 0);
            for (&dim, &stride) in shape.iter().zip(&strides).rev() {
                index += (rest % dim) * stride;
                rest /= dim;
            }
            values[index]
        })
        .collect())
}

/// A two-value attribute of positive sizes, 1 by default (strides).
fn pair(ctx: &Ctx, attrs: &Attributes, name: &str) -> Result<[usize; 2], CompileError> {
    match attrs.ints(name)? {
        None => Ok([1, 1]),
        Some(&[a, b]) if a > 0 && b > 0 => Ok([a as usize, b as usize]),
        Some(other) => Err(ctx.form(format!("{name} {other:?} is not two positive values"))),
    }
}

/// Explicit pads `[top, left, bottom, right]`, from `pads` and `auto_pad`.
fn pads(ctx: &Ctx, attrs: &Attributes) -> Result<[usize; 4], CompileError> {
    match attrs.string("auto_pad")?.as_deref().unwrap_or("NOTSET") {
        "NOTSET" => {}
        "VALID" => return Ok([0; 4]),
        other => {
            return Err(ctx.form(format!(
                "auto_pad = {other} is not supported: export with explicit pads"
            )));
        }
    }
    match attrs.ints("pads")? {
        None => Ok([0; 4]),
        Some(&[t, l, b, r])
            if [t, l, b, r]
                .iter()
                .all(|&p| (0..=i64::from(u32::MAX)).contains(&p)) =>
        {
            Ok([t as usize, l as usize, b as usize, r as usize])
        }
        Some(other) => Err(ctx.form(format!("pads {other:?} is not four non-negative values"))),
    }
}

fn unit_dilations(ctx: &Ctx, attrs: &Attributes) -> Result<(), CompileError> {
    match attrs.ints("dilations")? {
        Some(d) if d.iter().any(|&v| v != 1) => {
            Err(ctx.form(format!("dilations {d:?} are not supported: use 1")))
        }
        _ => Ok(()),
    }
}

/// Output rows and columns of a window over `[height, width]`.
fn window_shape(
    ctx: &Ctx,
    input: [usize; 2],
    kernel: [usize; 2],
    strides: [usize; 2],
    pads: [usize; 4],
) -> Result<[usize; 2], CompileError> {
    let dim = |axis: usize| {
        window_out(
            to_u32(input[axis])?,
            to_u32(pads[axis])?,
            to_u32(pads[axis + 2])?,
            to_u32(kernel[axis])?,
            to_u32(strides[axis])?,
        )
        .and_then(|d| usize::try_from(d).ok())
        .ok_or_else(|| {
            ctx.form(format!(
                "a {kernel:?} window does not fit the input {input:?} with pads {pads:?}"
            ))
        })
    };
    Ok([dim(0)?, dim(1)?])
}
