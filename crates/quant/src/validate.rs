//! Checks a program against every invariant of the format (see [`crate::program`]): header
//! ranges, size limits, operand references and lengths, constant lengths, requantization
//! parameters, and the accumulator bound that makes the executor's `i64` arithmetic exact.
//! Both the compiler and the decoders call [`validate`]; the executor relies on it and nothing
//! else.

use crate::error::InvalidProgram;
use crate::program::{
    Add, Conv2d, Dense, FORMAT_VERSION, LinearOp, MAX_ACT_BITS, MAX_FRAC_BITS, MAX_INPUT_RANK,
    MAX_LAYERS, MAX_SHIFT, MAX_TENSOR_LEN, MAX_TOTAL_VALUES, MAX_WORK, MIN_ACT_BITS, Offset,
    ProgramBody, SumPool, window_out,
};

/// Returns the first broken invariant of `body`, if any.
pub(crate) fn validate(body: &ProgramBody) -> Result<(), InvalidProgram> {
    if body.version != FORMAT_VERSION {
        return Err(InvalidProgram::Version {
            got: body.version,
            expected: FORMAT_VERSION,
        });
    }
    parameter(
        "act_bits",
        body.act_bits.into(),
        MIN_ACT_BITS.into(),
        MAX_ACT_BITS.into(),
    )?;
    parameter(
        "in_frac_bits",
        body.in_frac_bits.into(),
        0,
        MAX_FRAC_BITS.into(),
    )?;
    parameter(
        "out_frac_bits",
        body.out_frac_bits.into(),
        0,
        MAX_FRAC_BITS.into(),
    )?;
    parameter(
        "input rank",
        body.input_shape.len() as u64,
        1,
        MAX_INPUT_RANK as u64,
    )?;
    for &dim in &body.input_shape {
        parameter("input dimension", dim.into(), 1, MAX_TENSOR_LEN)?;
    }
    let input_len = product(&body.input_shape).unwrap_or(u64::MAX);
    limit("input length", input_len, MAX_TENSOR_LEN)?;
    limit("layer count", body.layers.len() as u64, MAX_LAYERS as u64)?;

    let act_max = 1i128 << (body.act_bits - 1);
    let mut lens = vec![input_len];
    let mut total_values = input_len;
    let mut work = 0u64;
    for (index, layer) in body.layers.iter().enumerate() {
        for tensor in layer.op.inputs() {
            if tensor as usize >= lens.len() {
                return Err(InvalidProgram::TensorRef {
                    layer: index,
                    tensor,
                    last: lens.len() - 1,
                });
            }
        }
        let acc_bound = match &layer.op {
            LinearOp::Dense(d) => dense(index, d, &lens, act_max)?,
            LinearOp::Conv2d(c) => conv2d(index, c, &lens, act_max)?,
            LinearOp::SumPool(p) => sum_pool(index, p, &lens, act_max)?,
            LinearOp::Add(a) => add(index, a, &lens, act_max)?,
            LinearOp::Offset(o) => offset(index, o, &lens, act_max)?,
        };
        let out_len = layer.op.output_len();
        if out_len == 0 {
            return Err(shape(index, "the output is empty".into()));
        }
        limit("tensor length", out_len, MAX_TENSOR_LEN)?;
        total_values += out_len;
        limit("values per sample", total_values, MAX_TOTAL_VALUES)?;
        work = work.saturating_add(layer.op.work());
        limit(
            "multiply-accumulates and additions per sample",
            work,
            MAX_WORK,
        )?;
        parameter(
            "requantization multiplier",
            layer.mul.into(),
            1,
            u32::MAX.into(),
        )?;
        parameter(
            "requantization shift",
            layer.shift.into(),
            0,
            MAX_SHIFT.into(),
        )?;
        let rounding = if layer.shift > 0 {
            1i128 << (layer.shift - 1)
        } else {
            0
        };
        let worst = acc_bound * i128::from(layer.mul) + rounding;
        if worst > i128::from(i64::MAX) {
            return Err(InvalidProgram::Overflow {
                layer: index,
                bits: 128 - worst.leading_zeros(),
            });
        }
        lens.push(out_len);
    }
    if body.output as usize >= lens.len() {
        return Err(InvalidProgram::Output {
            output: body.output,
            last: lens.len() - 1,
        });
    }
    Ok(())
}

/// Worst-case `|acc|` of a dense layer.
fn dense(index: usize, d: &Dense, lens: &[u64], act_max: i128) -> Result<i128, InvalidProgram> {
    operand(index, "input", lens[d.input as usize], d.in_len.into())?;
    constant(
        index,
        "weights",
        d.weights.len(),
        product(&[d.in_len, d.out_len]),
    )?;
    constant(index, "bias", d.bias.len(), Some(d.out_len.into()))?;
    Ok(max_row_bound(&d.weights, &d.bias, act_max))
}

/// Worst-case `|acc|` of a convolution.
fn conv2d(index: usize, c: &Conv2d, lens: &[u64], act_max: i128) -> Result<i128, InvalidProgram> {
    let in_len = product(&[c.in_channels, c.in_height, c.in_width]).unwrap_or(u64::MAX);
    operand(index, "input", lens[c.input as usize], in_len)?;
    if window_out(
        c.in_height,
        c.pad_top,
        c.pad_bottom,
        c.kernel_height,
        c.stride_height,
    )
    .is_none()
        || window_out(
            c.in_width,
            c.pad_left,
            c.pad_right,
            c.kernel_width,
            c.stride_width,
        )
        .is_none()
    {
        return Err(shape(
            index,
            "the kernel is empty, larger than the padded input, or has stride 0".into(),
        ));
    }
    let kernel = product(&[
        c.out_channels,
        c.in_channels,
        c.kernel_height,
        c.kernel_width,
    ]);
    constant(index, "weights", c.weights.len(), kernel)?;
    constant(index, "bias", c.bias.len(), Some(c.out_channels.into()))?;
    Ok(max_row_bound(&c.weights, &c.bias, act_max))
}

/// Worst-case `|acc|` of a sum-pool.
fn sum_pool(
    index: usize,
    p: &SumPool,
    lens: &[u64],
    act_max: i128,
) -> Result<i128, InvalidProgram> {
    let in_len = product(&[p.channels, p.in_height, p.in_width]).unwrap_or(u64::MAX);
    operand(index, "input", lens[p.input as usize], in_len)?;
    if window_out(p.in_height, 0, 0, p.kernel_height, p.stride_height).is_none()
        || window_out(p.in_width, 0, 0, p.kernel_width, p.stride_width).is_none()
    {
        return Err(shape(
            index,
            "the window is empty, larger than the input, or has stride 0".into(),
        ));
    }
    Ok(i128::from(p.kernel_height) * i128::from(p.kernel_width) * act_max)
}

/// Worst-case `|acc|` of a tensor sum.
fn add(index: usize, a: &Add, lens: &[u64], act_max: i128) -> Result<i128, InvalidProgram> {
    operand(index, "first operand", lens[a.a as usize], a.len.into())?;
    operand(index, "second operand", lens[a.b as usize], a.len.into())?;
    Ok(2 * act_max)
}

/// Worst-case `|acc|` of an offset.
fn offset(index: usize, o: &Offset, lens: &[u64], act_max: i128) -> Result<i128, InvalidProgram> {
    operand(
        index,
        "input",
        lens[o.input as usize],
        o.offset.len() as u64,
    )?;
    let max = o
        .offset
        .iter()
        .map(|c| i128::from(c.unsigned_abs()))
        .max()
        .unwrap_or(0);
    Ok(act_max + max)
}

/// `max_r (Σ |weights of row r| · act_max + |bias[r]|)` with one row per bias entry.
fn max_row_bound(weights: &[i32], bias: &[i64], act_max: i128) -> i128 {
    let row_len = weights.len() / bias.len().max(1);
    weights
        .chunks(row_len.max(1))
        .zip(bias)
        .map(|(row, b)| {
            let sum: i128 = row.iter().map(|w| i128::from(w.unsigned_abs())).sum();
            sum * act_max + i128::from(b.unsigned_abs())
        })
        .max()
        .unwrap_or(0)
}

/// Product of dimensions, `None` on overflow of `u64`.
fn product(dims: &[u32]) -> Option<u64> {
    dims.iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d.into()))
}

fn operand(index: usize, what: &str, got: u64, expected: u64) -> Result<(), InvalidProgram> {
    if got != expected {
        return Err(shape(
            index,
            format!("the {what} has {got} values but the layer expects {expected}"),
        ));
    }
    Ok(())
}

fn constant(
    index: usize,
    what: &str,
    got: usize,
    expected: Option<u64>,
) -> Result<(), InvalidProgram> {
    if expected != Some(got as u64) {
        let expected = expected.map_or_else(|| "an impossible number of".into(), |e| e.to_string());
        return Err(shape(
            index,
            format!("{what} has {got} values, the dimensions call for {expected}"),
        ));
    }
    Ok(())
}

fn shape(layer: usize, detail: String) -> InvalidProgram {
    InvalidProgram::Shape { layer, detail }
}

fn parameter(what: &'static str, value: u64, min: u64, max: u64) -> Result<(), InvalidProgram> {
    if value < min || value > max {
        return Err(InvalidProgram::Parameter {
            what,
            value,
            min,
            max,
        });
    }
    Ok(())
}

fn limit(what: &'static str, value: u64, max: u64) -> Result<(), InvalidProgram> {
    if value > max {
        return Err(InvalidProgram::Limit { what, value, max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{Layer, MAX_WORK};

    fn pool_program(size: u32, kernel: u32) -> ProgramBody {
        let pool = SumPool {
            input: 0,
            channels: 1,
            in_height: size,
            in_width: size,
            kernel_height: kernel,
            kernel_width: kernel,
            stride_height: 1,
            stride_width: 1,
        };
        ProgramBody {
            version: FORMAT_VERSION,
            input_shape: vec![1, size, size],
            in_frac_bits: 8,
            out_frac_bits: 8,
            act_bits: 16,
            layers: vec![Layer {
                op: LinearOp::SumPool(pool),
                mul: 1,
                shift: 0,
                relu: false,
            }],
            output: 1,
        }
    }

    #[test]
    fn work_per_sample_is_bounded() {
        assert_eq!(validate(&pool_program(64, 8)), Ok(()));
        // 513² outputs, each the sum of 512² values.
        let err = validate(&pool_program(1024, 512)).unwrap_err();
        assert!(
            matches!(err, InvalidProgram::Limit { max: MAX_WORK, .. }),
            "{err}"
        );
    }
}
