//! Constraint generation: allocates the variables of [`Plan`] in order and emits the constraints
//! of every requantization gadget (see the module docs of [`super`]).

use ark_ff::PrimeField;
use ark_relations::r1cs::{ConstraintSystemRef, LinearCombination, SynthesisError, Variable};
use verity_quant::Program;

use super::Witness;
use super::plan::{Act, Kind, LayerPlan, Plan, Slot};
use super::terms::visit;

/// A linear combination under construction: terms plus a constant.
struct Lc<F: PrimeField> {
    terms: Vec<(F, Variable)>,
    constant: F,
}

impl<F: PrimeField> Lc<F> {
    fn constant(c: F) -> Self {
        Self {
            terms: Vec::new(),
            constant: c,
        }
    }

    fn var(v: Variable) -> Self {
        Self {
            terms: vec![(F::one(), v)],
            constant: F::zero(),
        }
    }

    fn add_term(&mut self, coeff: F, v: Variable) -> &mut Self {
        self.terms.push((coeff, v));
        self
    }

    fn add_lc(&mut self, coeff: F, other: &Self) -> &mut Self {
        self.terms
            .extend(other.terms.iter().map(|&(c, v)| (coeff * c, v)));
        self.constant += coeff * other.constant;
        self
    }

    fn add_constant(&mut self, c: F) -> &mut Self {
        self.constant += c;
        self
    }

    fn build(&self) -> LinearCombination<F> {
        let mut terms = self.terms.clone();
        if !self.constant.is_zero() {
            terms.push((self.constant, Variable::One));
        }
        let mut lc = LinearCombination(terms);
        lc.compactify();
        lc
    }
}

struct Emitter<'a, F: PrimeField> {
    cs: ConstraintSystemRef<F>,
    plan: &'a Plan,
    /// `pow2[i] = 2^i`.
    pow2: Vec<F>,
}

impl<F: PrimeField> Emitter<'_, F> {
    fn enforce(&self, a: &Lc<F>, b: &Lc<F>, c: &Lc<F>) -> Result<(), SynthesisError> {
        self.cs.enforce_constraint(a.build(), b.build(), c.build())
    }

    /// `b·(b − 1) = 0`.
    fn boolean(&self, b: &Lc<F>) -> Result<(), SynthesisError> {
        let mut minus_one = Lc::constant(-F::one());
        minus_one.add_lc(F::one(), b);
        self.enforce(b, &minus_one, &Lc::constant(F::zero()))
    }

    /// The tensor value at `slot` as a linear combination.
    fn value(&self, slot: Slot) -> Lc<F> {
        match slot {
            Slot::Public(i) => {
                let mut lc = Lc::var(Variable::Instance(1 + i));
                lc.add_constant(-F::from(self.plan.half()));
                lc
            }
            Slot::Witness(i) => Lc::var(Variable::Witness(i)),
            Slot::Constant(c) => Lc::constant(F::from(c)),
        }
    }

    fn activation(
        &self,
        program: &Program,
        lp: &LayerPlan,
        j: usize,
        act: &Act,
    ) -> Result<(), SynthesisError> {
        let op = &program.layers()[lp.index].op;
        let s = lp.shift;
        // T = (acc·mul + r) − base·2^s.
        let mul = i128::from(lp.mul);
        let mut t = Lc::constant(F::zero());
        let bias = visit(op, j, |w, tensor, i| {
            if w != 0 {
                let value = self.value(self.plan.slot(tensor as usize, i));
                t.add_lc(F::from(i128::from(w) * mul), &value);
            }
        });
        t.add_constant(F::from(i128::from(bias) * mul + i128::from(lp.rounding)));
        t.add_constant(-F::from(act.base) * self.pow2[s as usize]);

        let mut next = lp.var_start[j];
        let mut take = || {
            let v = Variable::Witness(next);
            next += 1;
            v
        };
        let rem: Vec<Variable> = (1..s).map(|_| take()).collect();
        let y_slot = if lp.output {
            Slot::Public(self.plan.input_len + j)
        } else if act.kind == Kind::Exact && act.bits == 0 {
            Slot::Constant(act.base as i64)
        } else {
            Slot::Witness(lp.var_start[j + 1] - 1)
        };
        let y = self.value(y_slot);

        // U: the value above the remainder, T = 2^s·U + rem.
        let upper = match act.kind {
            Kind::Exact => {
                let mut u = Lc::constant(-F::from(act.base));
                u.add_lc(F::one(), &y);
                if act.bits > 0 {
                    let bits: Vec<Variable> = (1..act.bits).map(|_| take()).collect();
                    let mut b0 = Lc::constant(F::zero());
                    b0.add_lc(F::one(), &u);
                    for (i, &b) in bits.iter().enumerate() {
                        b0.add_term(-self.pow2[i + 1], b);
                        self.boolean(&Lc::var(b))?;
                    }
                    self.boolean(&b0)?;
                } else if lp.output {
                    self.enforce(&u, &Lc::constant(F::one()), &Lc::constant(F::zero()))?;
                }
                u
            }
            Kind::Upper | Kind::Lower | Kind::Both => {
                let bits: Vec<Variable> = (0..act.bits).map(|_| take()).collect();
                let mut u = Lc::constant(F::zero());
                for (i, &b) in bits.iter().enumerate() {
                    u.add_term(self.pow2[i], b);
                    self.boolean(&Lc::var(b))?;
                }
                let w = lp.width_bits as usize;
                let mut l = Lc::constant(F::zero());
                for (i, &b) in bits[..w].iter().enumerate() {
                    l.add_term(self.pow2[i], b);
                }
                let sign = if act.kind == Kind::Upper {
                    Lc::constant(F::one())
                } else {
                    Lc::var(bits[act.bits as usize - 1])
                };
                let mut y_minus_lo = Lc::constant(-F::from(lp.lo));
                y_minus_lo.add_lc(F::one(), &y);
                if act.kind == Kind::Lower {
                    // y − lo = sign·l
                    self.enforce(&sign, &l, &y_minus_lo)?;
                } else {
                    let high_end = if act.kind == Kind::Upper {
                        act.bits as usize
                    } else {
                        act.bits as usize - 1
                    };
                    let mut high = Lc::constant(F::zero());
                    for (i, &b) in bits[w..high_end].iter().enumerate() {
                        high.add_term(self.pow2[i], b);
                    }
                    let in_range = Lc::var(take());
                    let inv = Lc::var(take());
                    let zero = Lc::constant(F::zero());
                    // high·in_range = 0
                    self.enforce(&high, &in_range, &zero)?;
                    // high·inv = sign − in_range
                    let mut over = Lc::constant(F::zero());
                    over.add_lc(F::one(), &sign).add_lc(-F::one(), &in_range);
                    self.enforce(&high, &inv, &over)?;
                    // in_range·(l − (W − 1)) = y − lo − sign·(W − 1)
                    let top = self.pow2[w] - F::one();
                    let mut l_minus_top = l;
                    l_minus_top.add_constant(-top);
                    let mut rhs = y_minus_lo;
                    rhs.add_lc(-top, &sign);
                    self.enforce(&in_range, &l_minus_top, &rhs)?;
                }
                u
            }
        };

        if s >= 1 {
            // bit 0 of the remainder carries T = 2^s·U + Σ 2^i·rem_i.
            let mut b0 = t;
            b0.add_lc(-self.pow2[s as usize], &upper);
            for (i, &b) in rem.iter().enumerate() {
                b0.add_term(-self.pow2[i + 1], b);
                self.boolean(&Lc::var(b))?;
            }
            self.boolean(&b0)?;
        } else {
            let mut diff = t;
            diff.add_lc(-F::one(), &upper);
            self.enforce(&diff, &Lc::constant(F::one()), &Lc::constant(F::zero()))?;
        }
        // The y variable, when there is one, is the last of the activation.
        if let Slot::Witness(_) = y_slot {
            next += 1;
        }
        debug_assert_eq!(next, lp.var_start[j + 1]);
        Ok(())
    }
}

/// Allocates every variable (with values from `witness` unless `cs` is in setup mode) and emits
/// every constraint of `plan`.
pub(crate) fn synthesize<F: PrimeField>(
    program: &Program,
    plan: &Plan,
    witness: Option<&Witness<F>>,
    cs: ConstraintSystemRef<F>,
) -> Result<(), SynthesisError> {
    for i in 0..plan.num_public() {
        cs.new_input_variable(|| {
            witness
                .map(|w| w.public[i])
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
    }
    for i in 0..plan.num_witness {
        cs.new_witness_variable(|| {
            witness
                .map(|w| w.witness[i])
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
    }
    let emitter = Emitter {
        cs: cs.clone(),
        plan,
        pow2: std::iter::successors(Some(F::one()), |p| Some(p.double()))
            .take(plan.max_bits as usize + 2)
            .collect(),
    };
    let before = cs.num_constraints();
    for lp in plan.layers.iter().flatten() {
        for (j, act) in lp.acts.iter().enumerate() {
            emitter.activation(program, lp, j, act)?;
        }
    }
    if plan.output_tensor == 0 {
        for i in 0..plan.output_len {
            let mut diff = Lc::var(Variable::Instance(1 + plan.input_len + i));
            diff.add_term(-F::one(), Variable::Instance(1 + i));
            emitter.enforce(&diff, &Lc::constant(F::one()), &Lc::constant(F::zero()))?;
        }
    }
    debug_assert_eq!(cs.num_constraints() - before, plan.num_constraints);
    Ok(())
}
