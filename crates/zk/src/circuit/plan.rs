//! The shape of a program's circuit, fixed before any input is seen: value bounds by interval
//! analysis, the gadget chosen for each requantization, and where each variable lives.
//!
//! Both the constraint generator ([`super::synth`]) and the witness generator
//! ([`super::witness`]) read the variable layout from here, so they cannot disagree on it.

use rayon::prelude::*;
use verity_quant::Program;

use super::CircuitError;
use super::terms::visit;

/// Most constraints in one circuit (2^22). Groth16 setup holds about 1 KiB of curve points per
/// constraint, so larger circuits need more memory than a node should spend on one model.
pub const MAX_CONSTRAINTS: usize = 1 << 22;

/// Which clamps an activation can hit, given the bounds of its quotient `q`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `lo ≤ q ≤ hi` for every input: `y = q`.
    Exact,
    /// `q ≥ lo` always, `q > hi` possible.
    Upper,
    /// `q ≤ hi` always, `q < lo` possible.
    Lower,
    /// Both clamps possible.
    Both,
}

/// The requantization gadget of one activation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Act {
    pub kind: Kind,
    /// Bits of the upper part `q − base`: `n` in the module docs (`m` for [`Kind::Exact`]).
    pub bits: u32,
    /// `T = t − base·2^s` is the decomposed value; `base = q_min` for [`Kind::Exact`],
    /// `lo` for [`Kind::Upper`], `lo − 2^(n−1)` otherwise.
    pub base: i128,
}

impl Act {
    /// Number of witness variables of this activation (see the layout in the module docs).
    pub fn vars(&self, shift: u32, output: bool) -> usize {
        let rem = shift.saturating_sub(1) as usize;
        let y = usize::from(!output);
        rem + match self.kind {
            Kind::Exact if self.bits == 0 => 0,
            Kind::Exact => self.bits as usize - 1 + y,
            Kind::Upper | Kind::Both => self.bits as usize + 2 + y,
            Kind::Lower => self.bits as usize + y,
        }
    }

    /// Number of constraints of this activation.
    pub fn constraints(&self, shift: u32, output: bool) -> usize {
        let rem = shift.max(1) as usize;
        rem + match self.kind {
            Kind::Exact if self.bits == 0 => usize::from(output),
            Kind::Exact => self.bits as usize,
            Kind::Upper | Kind::Both => self.bits as usize + 3,
            Kind::Lower => self.bits as usize + 1,
        }
    }
}

/// One live layer.
pub(crate) struct LayerPlan {
    /// Index of the layer in the program.
    pub index: usize,
    pub mul: i64,
    pub shift: u32,
    /// `2^(shift−1)`, or 0 when `shift = 0`.
    pub rounding: i64,
    pub lo: i32,
    pub hi: i32,
    /// `hi − lo + 1 = 2^width_bits`.
    pub width_bits: u32,
    pub acts: Vec<Act>,
    /// Witness index of the first variable of each activation, then one past the last.
    pub var_start: Vec<usize>,
    /// Whether this layer's output is the program output (its `y` are public variables).
    pub output: bool,
}

/// Where a tensor value lives in the circuit: `value = variable + offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Public variable `1 + index` (index 0 is the constant one), encoding `value + 2^(act_bits−1)`.
    Public(usize),
    /// Witness variable.
    Witness(usize),
    /// A value fixed by the bounds.
    Constant(i64),
}

/// The circuit of one program.
pub(crate) struct Plan {
    pub act_bits: u32,
    pub input_len: usize,
    pub output_len: usize,
    pub output_tensor: usize,
    /// One entry per program layer; `None` for layers the output does not depend on.
    pub layers: Vec<Option<LayerPlan>>,
    pub num_witness: usize,
    pub num_constraints: usize,
    /// Largest `shift + bits` of any activation: the widest decomposition.
    pub max_bits: u32,
}

impl Plan {
    pub fn new(program: &Program) -> Result<Self, CircuitError> {
        let act_bits = program.act_bits();
        let (act_lo, act_hi) = program.act_range();
        let layers = program.layers();
        let output_tensor = program.output_tensor() as usize;

        let mut live = vec![false; layers.len() + 1];
        live[output_tensor] = true;
        for (index, layer) in layers.iter().enumerate().rev() {
            if live[index + 1] {
                for t in layer.op.inputs() {
                    live[t as usize] = true;
                }
            }
        }

        let mut bounds: Vec<Vec<(i64, i64)>> = Vec::with_capacity(layers.len() + 1);
        bounds.push(vec![(act_lo.into(), act_hi.into()); program.input_len()]);
        let mut plans = Vec::with_capacity(layers.len());
        let mut num_witness = 0usize;
        let mut num_constraints = 0usize;
        let mut max_bits = 0u32;
        for (index, layer) in layers.iter().enumerate() {
            if !live[index + 1] {
                bounds.push(Vec::new());
                plans.push(None);
                continue;
            }
            let shift = layer.shift;
            let mul = i64::from(layer.mul);
            let rounding = if shift > 0 { 1i64 << (shift - 1) } else { 0 };
            let lo = if layer.relu { 0 } else { act_lo };
            let width_bits = if layer.relu { act_bits - 1 } else { act_bits };
            let output = index + 1 == output_tensor;
            let out_len = layer.op.output_len() as usize;
            let acts_and_bounds: Vec<(Act, (i64, i64))> = (0..out_len)
                .into_par_iter()
                .map(|j| {
                    let (mut acc_min, mut acc_max) = (0i128, 0i128);
                    let constant = visit(&layer.op, j, |w, t, i| {
                        let (lo, hi) = bounds[t as usize][i];
                        let (a, b) = (
                            i128::from(w) * i128::from(lo),
                            i128::from(w) * i128::from(hi),
                        );
                        acc_min += a.min(b);
                        acc_max += a.max(b);
                    });
                    let t_min =
                        (acc_min + i128::from(constant)) * i128::from(mul) + i128::from(rounding);
                    let t_max =
                        (acc_max + i128::from(constant)) * i128::from(mul) + i128::from(rounding);
                    let (q_min, q_max) = (t_min >> shift, t_max >> shift);
                    let act = choose(q_min, q_max, lo.into(), width_bits);
                    let clamp = |q: i128| q.clamp(lo.into(), act_hi.into()) as i64;
                    (act, (clamp(q_min), clamp(q_max)))
                })
                .collect();
            let mut acts = Vec::with_capacity(out_len);
            let mut out_bounds = Vec::with_capacity(out_len);
            let mut var_start = Vec::with_capacity(out_len + 1);
            for (act, b) in acts_and_bounds {
                var_start.push(num_witness);
                num_witness += act.vars(shift, output);
                num_constraints += act.constraints(shift, output);
                max_bits = max_bits.max(shift + act.bits);
                acts.push(act);
                out_bounds.push(b);
            }
            var_start.push(num_witness);
            if num_constraints > MAX_CONSTRAINTS {
                return Err(CircuitError::TooManyConstraints {
                    layer: index,
                    max: MAX_CONSTRAINTS,
                });
            }
            bounds.push(out_bounds);
            plans.push(Some(LayerPlan {
                index,
                mul,
                shift,
                rounding,
                lo,
                hi: act_hi,
                width_bits,
                acts,
                var_start,
                output,
            }));
        }
        let output_len = program.output_len();
        if output_tensor == 0 {
            // The output is the clamped input: one equality per value.
            num_constraints += output_len;
        }
        Ok(Self {
            act_bits,
            input_len: program.input_len(),
            output_len,
            output_tensor,
            layers: plans,
            num_witness,
            num_constraints,
            max_bits,
        })
    }

    /// `2^(act_bits−1)`: the offset of the public encoding, and `−lo` of the full range.
    pub fn half(&self) -> i64 {
        1i64 << (self.act_bits - 1)
    }

    /// Number of public variables, not counting the constant one.
    pub fn num_public(&self) -> usize {
        self.input_len + self.output_len
    }

    /// Where value `index` of `tensor` lives.
    pub fn slot(&self, tensor: usize, index: usize) -> Slot {
        if tensor == 0 {
            return Slot::Public(index);
        }
        let layer = self.layers[tensor - 1]
            .as_ref()
            .expect("live layers read live tensors only");
        if layer.output {
            return Slot::Public(self.input_len + index);
        }
        let act = &layer.acts[index];
        if act.kind == Kind::Exact && act.bits == 0 {
            Slot::Constant(act.base as i64)
        } else {
            // `y` is the activation's last variable.
            Slot::Witness(layer.var_start[index + 1] - 1)
        }
    }
}

/// Picks the gadget for quotient bounds `[q_min, q_max]`, clamp range `[lo, lo + 2^w − 1]`.
fn choose(q_min: i128, q_max: i128, lo: i128, w: u32) -> Act {
    let width = 1i128 << w;
    let (u_min, u_max) = (q_min - lo, q_max - lo);
    if u_min >= 0 && u_max < width {
        return Act {
            kind: Kind::Exact,
            bits: bit_len(u_max - u_min),
            base: q_min,
        };
    }
    if u_min >= 0 {
        return Act {
            kind: Kind::Upper,
            bits: bit_len(u_max),
            base: lo,
        };
    }
    // Two's complement of u over n bits: n − 1 ≥ w keeps the low w bits aligned with the clamp
    // range, 2^(n−1) ≥ −u_min and 2^(n−1) > u_max keep the sign in the top bit.
    let mut top = w.max(bit_len(-u_min - 1));
    let kind = if u_max < width {
        Kind::Lower
    } else {
        top = top.max(bit_len(u_max));
        Kind::Both
    };
    Act {
        kind,
        bits: top + 1,
        base: lo - (1i128 << top),
    }
}

/// Number of bits of a non-negative integer (0 for 0).
fn bit_len(x: i128) -> u32 {
    debug_assert!(x >= 0);
    128 - x.leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gadget_choice_follows_the_bounds() {
        // Never clamps: the exact width of the quotient's range.
        let a = choose(0, 255, 0, 15);
        assert_eq!((a.kind, a.bits, a.base), (Kind::Exact, 8, 0));
        let a = choose(7, 7, 0, 15);
        assert_eq!((a.kind, a.bits), (Kind::Exact, 0));
        // Only the upper clamp.
        let a = choose(0, 1 << 17, 0, 15);
        assert_eq!((a.kind, a.bits, a.base), (Kind::Upper, 18, 0));
        // Only the lower clamp: the sign bit above max(w, bits of the negative range).
        let a = choose(-5, 100, 0, 15);
        assert_eq!((a.kind, a.bits, a.base), (Kind::Lower, 16, -(1 << 15)));
        let a = choose(-(1 << 20), 100, 0, 15);
        assert_eq!((a.kind, a.bits), (Kind::Lower, 21));
        // Both.
        let a = choose(-(1 << 20), 1 << 18, -(1 << 15), 16);
        assert_eq!((a.kind, a.bits), (Kind::Both, 21));
        let a = choose(-(1 << 16), (1 << 16) - 1, 0, 15);
        assert_eq!((a.kind, a.bits, a.base), (Kind::Both, 17, -(1 << 16)));
    }
}
