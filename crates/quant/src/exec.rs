//! The executor: integer-only evaluation of a validated program, one sample at a time, with the
//! semantics of [`crate::program`].
//!
//! Activations are `i32`, accumulators `i64`; there is no floating point. The loops use plain
//! `+` and `*`: validation has bounded every accumulator and every partial sum below `i64::MAX`
//! for all inputs in the clamp range, and the input is clamped first, so the arithmetic is exact.
//! Integer addition without overflow is associative, so the result does not depend on the order
//! of accumulation, on the CPU, on compiler flags, or on how many samples a caller batches.

use crate::program::{Conv2d, Dense, Layer, LinearOp, Offset, Program, SumPool};

/// Runs one sample; `x` has [`Program::input_len`] values.
pub(crate) fn run_sample(program: &Program, x: &[i32]) -> Vec<i32> {
    let (lo, hi) = program.act_range();
    let mut tensors: Vec<Vec<i32>> = Vec::with_capacity(program.layers().len() + 1);
    tensors.push(x.iter().map(|&v| v.clamp(lo, hi)).collect());
    for layer in program.layers() {
        let requant = Requant::new(layer, lo, hi);
        let out = match &layer.op {
            LinearOp::Dense(d) => dense(d, &tensors[d.input as usize], &requant),
            LinearOp::Conv2d(c) => conv2d(c, &tensors[c.input as usize], &requant),
            LinearOp::SumPool(p) => sum_pool(p, &tensors[p.input as usize], &requant),
            LinearOp::Add(a) => add(&tensors[a.a as usize], &tensors[a.b as usize], &requant),
            LinearOp::Offset(o) => offset(o, &tensors[o.input as usize], &requant),
        };
        tensors.push(out);
    }
    tensors.swap_remove(program.output_tensor() as usize)
}

/// `clamp((acc × mul + rounding) >> shift, lo, hi)` for one layer.
struct Requant {
    mul: i64,
    shift: u32,
    rounding: i64,
    lo: i64,
    hi: i64,
}

impl Requant {
    fn new(layer: &Layer, lo: i32, hi: i32) -> Self {
        Self {
            mul: layer.mul.into(),
            shift: layer.shift,
            rounding: if layer.shift > 0 {
                1 << (layer.shift - 1)
            } else {
                0
            },
            lo: if layer.relu { 0 } else { lo.into() },
            hi: hi.into(),
        }
    }

    fn apply(&self, acc: i64) -> i32 {
        // The clamp bounds are i32 values, so the cast is exact.
        ((acc * self.mul + self.rounding) >> self.shift).clamp(self.lo, self.hi) as i32
    }
}

fn dense(d: &Dense, x: &[i32], requant: &Requant) -> Vec<i32> {
    d.weights
        .chunks_exact(d.in_len as usize)
        .zip(&d.bias)
        .map(|(row, &bias)| {
            let acc = row
                .iter()
                .zip(x)
                .fold(bias, |acc, (&w, &v)| acc + i64::from(w) * i64::from(v));
            requant.apply(acc)
        })
        .collect()
}

fn conv2d(c: &Conv2d, x: &[i32], requant: &Requant) -> Vec<i32> {
    let (in_h, in_w) = (i64::from(c.in_height), i64::from(c.in_width));
    let (k_h, k_w) = (c.kernel_height as usize, c.kernel_width as usize);
    let kernel_len = c.in_channels as usize * k_h * k_w;
    let (out_h, out_w) = (c.out_height(), c.out_width());
    let mut out = Vec::with_capacity(c.out_channels as usize * (out_h * out_w) as usize);
    for (kernel, &bias) in c.weights.chunks_exact(kernel_len).zip(&c.bias) {
        for oy in 0..out_h as i64 {
            for ox in 0..out_w as i64 {
                let top = oy * i64::from(c.stride_height) - i64::from(c.pad_top);
                let left = ox * i64::from(c.stride_width) - i64::from(c.pad_left);
                let mut acc = bias;
                for (channel, plane) in kernel.chunks_exact(k_h * k_w).enumerate() {
                    let base = channel as i64 * in_h;
                    for (i, kernel_row) in plane.chunks_exact(k_w).enumerate() {
                        let y = top + i as i64;
                        if !(0..in_h).contains(&y) {
                            continue;
                        }
                        for (j, &w) in kernel_row.iter().enumerate() {
                            let x_pos = left + j as i64;
                            if (0..in_w).contains(&x_pos) {
                                let v = x[((base + y) * in_w + x_pos) as usize];
                                acc += i64::from(w) * i64::from(v);
                            }
                        }
                    }
                }
                out.push(requant.apply(acc));
            }
        }
    }
    out
}

fn sum_pool(p: &SumPool, x: &[i32], requant: &Requant) -> Vec<i32> {
    let (in_h, in_w) = (p.in_height as usize, p.in_width as usize);
    let (out_h, out_w) = (p.out_height() as usize, p.out_width() as usize);
    let mut out = Vec::with_capacity(p.channels as usize * out_h * out_w);
    for plane in x.chunks_exact(in_h * in_w) {
        for oy in 0..out_h {
            for ox in 0..out_w {
                let top = oy * p.stride_height as usize;
                let left = ox * p.stride_width as usize;
                let mut acc = 0i64;
                for row in plane[top * in_w..]
                    .chunks(in_w)
                    .take(p.kernel_height as usize)
                {
                    for &v in &row[left..left + p.kernel_width as usize] {
                        acc += i64::from(v);
                    }
                }
                out.push(requant.apply(acc));
            }
        }
    }
    out
}

fn add(a: &[i32], b: &[i32], requant: &Requant) -> Vec<i32> {
    a.iter()
        .zip(b)
        .map(|(&u, &v)| requant.apply(i64::from(u) + i64::from(v)))
        .collect()
}

fn offset(o: &Offset, x: &[i32], requant: &Requant) -> Vec<i32> {
    x.iter()
        .zip(&o.offset)
        .map(|(&v, &c)| requant.apply(i64::from(v) + c))
        .collect()
}
