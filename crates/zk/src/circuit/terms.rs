//! The terms of one accumulator of a linear op, in the executor's order: the single place that
//! reads a layer's weights, so bounds, witness values and constraints all see the same sum.

use verity_quant::LinearOp;

/// Calls `term(weight, tensor, index)` for every product `weight × tensor[index]` of
/// accumulator `j` of `op` and returns the accumulator's constant term (bias or offset).
///
/// Convolution taps that fall on zero padding are skipped, as in the executor. `j` must be below
/// `op.output_len()`; the program was validated, so every index is in range.
pub(crate) fn visit(op: &LinearOp, j: usize, mut term: impl FnMut(i64, u32, usize)) -> i64 {
    match op {
        LinearOp::Dense(d) => {
            let n = d.in_len as usize;
            for (i, &w) in d.weights[j * n..(j + 1) * n].iter().enumerate() {
                term(w.into(), d.input, i);
            }
            d.bias[j]
        }
        LinearOp::Conv2d(c) => {
            let (out_h, out_w) = (c.out_height() as usize, c.out_width() as usize);
            let (o, pos) = (j / (out_h * out_w), j % (out_h * out_w));
            let (oy, ox) = ((pos / out_w) as i64, (pos % out_w) as i64);
            let (in_h, in_w) = (i64::from(c.in_height), i64::from(c.in_width));
            let (k_h, k_w) = (c.kernel_height as usize, c.kernel_width as usize);
            let kernel_len = c.in_channels as usize * k_h * k_w;
            let kernel = &c.weights[o * kernel_len..(o + 1) * kernel_len];
            let top = oy * i64::from(c.stride_height) - i64::from(c.pad_top);
            let left = ox * i64::from(c.stride_width) - i64::from(c.pad_left);
            for (channel, plane) in kernel.chunks_exact(k_h * k_w).enumerate() {
                let base = channel as i64 * in_h;
                for (i, kernel_row) in plane.chunks_exact(k_w).enumerate() {
                    let y = top + i as i64;
                    if !(0..in_h).contains(&y) {
                        continue;
                    }
                    for (jj, &w) in kernel_row.iter().enumerate() {
                        let x = left + jj as i64;
                        if (0..in_w).contains(&x) {
                            term(w.into(), c.input, ((base + y) * in_w + x) as usize);
                        }
                    }
                }
            }
            c.bias[o]
        }
        LinearOp::SumPool(p) => {
            let (out_h, out_w) = (p.out_height() as usize, p.out_width() as usize);
            let (channel, pos) = (j / (out_h * out_w), j % (out_h * out_w));
            let (oy, ox) = (pos / out_w, pos % out_w);
            let (in_h, in_w) = (p.in_height as usize, p.in_width as usize);
            let top = oy * p.stride_height as usize;
            let left = ox * p.stride_width as usize;
            for i in 0..p.kernel_height as usize {
                let row = (channel * in_h + top + i) * in_w + left;
                for jj in 0..p.kernel_width as usize {
                    term(1, p.input, row + jj);
                }
            }
            0
        }
        LinearOp::Add(a) => {
            term(1, a.a, j);
            term(1, a.b, j);
            0
        }
        LinearOp::Offset(o) => {
            term(1, o.input, j);
            o.offset[j]
        }
    }
}
