//! The witness: every variable's value for one input, computed directly (not through a
//! constraint system) with the executor's integer arithmetic, one layer at a time and the
//! activations of a layer in parallel.

use ark_ff::PrimeField;
use rayon::prelude::*;

use super::plan::{Act, Kind, LayerPlan, Plan};
use super::terms::visit;

/// Values of the public and witness variables for one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness<F> {
    /// The program's output for the input: what [`verity_quant::Program::run`] returns.
    pub output: Vec<i32>,
    /// The public variables after the constant one (see [`super::PublicLayout::encode`]).
    pub public: Vec<F>,
    /// The witness variables, in the order the constraint generator allocates them.
    pub witness: Vec<F>,
}

/// Computes the witness of `plan` for `input` (already of the right length).
pub(crate) fn assign<F: PrimeField>(
    program: &verity_quant::Program,
    plan: &Plan,
    input: &[i32],
) -> Witness<F> {
    let (lo, hi) = program.act_range();
    let mut tensors: Vec<Vec<i32>> = Vec::with_capacity(plan.layers.len() + 1);
    tensors.push(input.iter().map(|&v| v.clamp(lo, hi)).collect());
    let mut witness = vec![F::zero(); plan.num_witness];
    let layers = program.layers();
    for layer_plan in &plan.layers {
        let Some(lp) = layer_plan else {
            tensors.push(Vec::new());
            continue;
        };
        let op = &layers[lp.index].op;
        let start = lp.var_start[0];
        let end = lp.var_start[lp.acts.len()];
        let mut rest = &mut witness[start..end];
        let mut slices = Vec::with_capacity(lp.acts.len());
        for pair in lp.var_start.windows(2) {
            let (head, tail) = rest.split_at_mut(pair[1] - pair[0]);
            slices.push(head);
            rest = tail;
        }
        let out: Vec<i32> = slices
            .into_par_iter()
            .zip(lp.acts.par_iter())
            .enumerate()
            .map(|(j, (vars, act))| {
                let mut acc = 0i64;
                let bias = visit(op, j, |w, t, i| {
                    acc += w * i64::from(tensors[t as usize][i])
                });
                requantize(lp, act, acc + bias, vars)
            })
            .collect();
        tensors.push(out);
    }
    let output = tensors[plan.output_tensor].clone();
    let public = encode_public(plan.half(), &tensors[0], &output);
    Witness {
        output,
        public,
        witness,
    }
}

/// The public variables after the constant one: each input value, then each output value, as
/// `value + 2^(act_bits−1)`.
pub(crate) fn encode_public<F: PrimeField>(half: i64, input: &[i32], output: &[i32]) -> Vec<F> {
    input
        .iter()
        .chain(output)
        .map(|&v| F::from(i64::from(v) + half))
        .collect()
}

/// Writes the variables of one activation with accumulator `acc` and returns its value `y`:
/// `clamp((acc·mul + r) >> shift, lo, hi)`, exactly as the executor computes it.
fn requantize<F: PrimeField>(lp: &LayerPlan, act: &Act, acc: i64, vars: &mut [F]) -> i32 {
    // Exact in i64: the program's accumulator bound guarantees it.
    let t = acc * lp.mul + lp.rounding;
    let q = t >> lp.shift;
    let y = q.clamp(lp.lo.into(), lp.hi.into());
    let rem = t - (q << lp.shift);
    let bit = |x: i128, i: u32| F::from(((x >> i) & 1) as u64);
    let mut k = 0;
    let mut push = |v: F| {
        vars[k] = v;
        k += 1;
    };
    for i in 1..lp.shift {
        push(bit(rem.into(), i));
    }
    let v = i128::from(q) - act.base;
    debug_assert!(
        v >= 0 && v >> act.bits == 0,
        "value outside its planned bounds"
    );
    match act.kind {
        Kind::Exact => {
            if act.bits > 0 {
                for i in 1..act.bits {
                    push(bit(v, i));
                }
                if !lp.output {
                    push(F::from(y));
                }
            }
        }
        Kind::Upper | Kind::Lower | Kind::Both => {
            for i in 0..act.bits {
                push(bit(v, i));
            }
            if act.kind != Kind::Lower {
                let (sign, high) = if act.kind == Kind::Upper {
                    (1, v >> lp.width_bits)
                } else {
                    let top = act.bits - 1;
                    ((v >> top) & 1, (v & ((1 << top) - 1)) >> lp.width_bits)
                };
                let in_range = i128::from(sign == 1 && high == 0);
                push(F::from(in_range));
                push(if sign - in_range == 1 {
                    F::from(high).inverse().expect("high part is not zero")
                } else {
                    F::zero()
                });
            }
            if !lp.output {
                push(F::from(y));
            }
        }
    }
    debug_assert_eq!(k, vars.len());
    y as i32
}
