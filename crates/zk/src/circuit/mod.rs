//! The R1CS circuit of an integer program: what it enforces, what it costs, why it is sound.
//!
//! # Statement
//!
//! For one [`Program`] `P`, fixed when the circuit is built, the circuit is satisfiable exactly
//! for the public values `(x, y)` with `y = P.run(x)`, where `x` is an input already clamped into
//! the activation range `[−A, A − 1]`, `A = 2^(act_bits−1)` (the verifier clamps the caller's
//! input first, as [`Program::run`] does). The weights, biases, offsets and requantization
//! parameters are constants of the circuit, not variables: two programs that differ in one
//! weight have different circuits, hence different keys.
//!
//! The circuit is generic over the prime field `F`; it needs `F` to have more bits than
//! `max(64, widest decomposition) + 2` ([`Circuit::check_field`]), so no value below wraps
//! around the modulus. BN254's scalar field (254 bits) holds every valid program.
//!
//! # Public inputs
//!
//! After the constant one, one field element per input value, then one per output value, each
//! the integer `value + A`, in `[0, 2^act_bits)` ([`PublicLayout::encode`]). The offset makes
//! every public scalar a small non-negative integer, so the verifier's combination of public
//! inputs is a multi-scalar multiplication over `act_bits`-bit scalars instead of 254-bit ones.
//! Values are not packed several to a field element: packing would only be unique if the circuit
//! range-checked every input value (`act_bits` constraints each), and verification is dominated
//! by the pairings anyway (1.1 ms for the MLP's 74 public values, 1.5 ms for LeNet28's 794).
//! Because the input itself is public, a verifier that knows a hash of the caller's input (the
//! ledger knows the one the caller signed) checks the revealed input against it and passes the
//! same values to the verifier.
//!
//! # Values and linear layers
//!
//! Every tensor value is a variable plus a constant offset, or a constant: the input values are
//! the public variables minus `A`; a layer's outputs are witness variables (the public output
//! variables minus `A` for the output layer); an output whose bounds admit one value only is
//! that constant. An accumulator `acc = Σ w·x + b` of a dense, convolution, sum-pool, add or
//! offset layer is then a linear combination with the weights as coefficients: it costs no
//! constraint, and appears inside the constraints of its requantization. Layers the output does
//! not depend on are left out.
//!
//! # Bounds
//!
//! Before any input is seen, interval arithmetic bounds every value: the input by the
//! activation range; each accumulator by `Σ_i w_i·[lo_i, hi_i] + b` over its inputs' intervals
//! (the positive weights take the upper end, the negative the lower); then `t = acc·mul + r`
//! (`r = 2^(s−1)`, or 0 when the shift `s` is 0), the quotient `q = ⌊t / 2^s⌋` and the output
//! `clamp(q, lo, hi)`, which becomes the interval of the next layer's input. The bounds hold for
//! every input in the activation range and lie within the program's own overflow bound (see
//! "Overflow" in [`verity_quant::program`]), so every `t` fits `i64`. A ReLU layer's outputs
//! are in `[0, A − 1]`, so the layers after it get tighter bounds than the program's symmetric
//! ones, and the range checks below are sized by these bounds.
//!
//! # Requantization
//!
//! Each activation computes `y = clamp(q, lo, hi)` with `q = ⌊t / 2^s⌋`; `lo = 0` for ReLU
//! layers and `−A` otherwise, `hi = A − 1`, so `hi − lo + 1 = 2^w` with `w = act_bits − 1` for
//! ReLU and `act_bits` otherwise. Let `u = q − lo`, in `[u_min, u_max]` by the bounds. One of
//! four gadgets is chosen per activation:
//!
//! | gadget | when | decomposed value | constraints |
//! |---|---|---|---|
//! | exact | `0 ≤ u_min`, `u_max < 2^w`: never clamps | `t − q_min·2^s = 2^s·(y − q_min) + rem`, `m = bits(u_max − u_min)` upper bits | `s + m` |
//! | upper | `0 ≤ u_min`, `u_max ≥ 2^w` | `t − lo·2^s = 2^s·u + rem`, `n = bits(u_max)` upper bits | `s + n + 3` |
//! | lower | `u_min < 0`, `u_max < 2^w` | `t − (lo − 2^(n−1))·2^s = 2^s·(u + 2^(n−1)) + rem` | `s + n + 1` |
//! | both | `u_min < 0`, `u_max ≥ 2^w` | as lower | `s + n + 3` |
//!
//! (`s` counts as 1 when the shift is 0.) For lower and both, `n − 1 = max(w, bits(−u_min − 1))`,
//! and also `≥ bits(u_max)` for both: the upper bits are `u` in two's complement, so the top bit
//! is 1 exactly when `u ≥ 0`. Write `v` for the upper value, `l` for its low `w` bits, `h` for
//! the bits between `l` and the sign bit (all bits above `l` for upper), `σ` for the sign bit (1
//! for upper). The constraints are:
//!
//! * **bits**: every bit `b` satisfies `b·(b − 1) = 0`. The lowest remainder bit is not a
//!   variable but the linear combination `T − 2^s·v − Σ_{i≥1} 2^i·rem_i`, so its booleanity
//!   constraint also enforces the decomposition `T = 2^s·v + rem`; in the exact gadget, the
//!   lowest upper bit likewise carries `y − q_min = Σ 2^i·bit_i`. When the shift is 0, a linear
//!   constraint `T − v = 0` replaces the remainder.
//! * **upper and both**: with witnesses `in_range` and `inv`,
//!   `h·in_range = 0`, `h·inv = σ − in_range`, and
//!   `in_range·(l − (2^w − 1)) = y − lo − σ·(2^w − 1)`.
//!   If `σ = 0` (`q < lo`): the first two force `in_range = 0`, and `y = lo`. If `σ = 1` and
//!   `h = 0` (`q` in range): the second forces `in_range = 1`, and `y = lo + l = q`. If `σ = 1`
//!   and `h ≠ 0` (`q > hi`): the first forces `in_range = 0`, and `y = hi`.
//! * **lower**: `σ·l = y − lo`: `y = lo` when `q < lo`, else `y = lo + l = q`.
//!
//! # Soundness
//!
//! By induction over the layers, every variable a layer reads holds the executor's value: the
//! public inputs do (the verifier sets them), and if a layer's inputs do, its `T` is the
//! integer the executor computes, which the bounds place in `[0, 2^(s+n))`. Booleanity and the
//! decomposition constraint then admit exactly one assignment of the bits: the binary digits of
//! `T`, because `2^(s+n)` is far below the field's modulus, so the equation over the field is an
//! equation over the integers. The remainder's `s`-bit range check is what makes the floor
//! division unique: any other split of `T` would need a remainder outside `[0, 2^s)` or a
//! quotient outside its bit width. Given the bits, the case analysis above leaves exactly one
//! value for `y`, `clamp(q, lo, hi)`; `inv` is the only free witness and `y` does not depend on
//! it. So the output variables can only hold `P.run(x)`, and since clamping is applied in the
//! executor, the witness and the verifier alike, no input in or out of range makes an honest
//! prover fail.
//!
//! # Cost
//!
//! Linear layers are free; each activation costs its gadget's constraints above, and at most
//! `s + n + 2` witness variables. With the default compile options (8 weight and activation
//! fraction bits, 16-bit activations, so `s = 8`) a dense or convolution output with ReLU costs
//! `8 + n + 3` constraints, `n` = 16 to 18 bits depending on how far beyond the activation
//! range its accumulator can reach; a 2×2 average pool after ReLU never clamps and costs
//! `2 + 15`.
//! Measured: the digits MLP (64-64-10) 2,294 constraints, the digits CNN 27,264, LeNet28
//! 160,964.
//!
//! # Witness
//!
//! [`Circuit::witness`] computes every variable directly, without a constraint system, with
//! the executor's `i64` arithmetic, the activations of a layer in parallel;
//! [`Circuit::synthesizer`] emits the same variables in the same order for a
//! [`ConstraintSynthesizer`]. The tests check that the witness satisfies the constraints and
//! that its output equals [`Program::run`]'s.

mod plan;
mod synth;
mod terms;
mod witness;

use ark_ff::PrimeField;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use verity_quant::Program;

pub use plan::MAX_CONSTRAINTS;
use plan::Plan;
pub use witness::Witness;

/// Why a program has no circuit, or a witness or public input cannot be formed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CircuitError {
    /// The circuit would be too large to set up.
    #[error(
        "the circuit passes {max} constraints at layer {layer}; prove a smaller model (fewer \
         activations) or compile it with a smaller act_bits"
    )]
    TooManyConstraints {
        /// Layer at which the count passed the limit.
        layer: usize,
        /// [`MAX_CONSTRAINTS`].
        max: usize,
    },
    /// The field cannot hold the circuit's range checks without wrapping around.
    #[error(
        "the circuit needs a field of more than {needed} bits and this one has {field_bits}; \
         use BN254 or another field of at least {needed} bits"
    )]
    FieldTooSmall {
        /// Bits the field's modulus must have.
        needed: u32,
        /// Bits of the field's modulus.
        field_bits: u32,
    },
    /// The input has the wrong number of values.
    #[error("the input has {got} values but the program takes {expected}; send one whole sample")]
    InputLength {
        /// Values given.
        got: usize,
        /// Values the program takes.
        expected: usize,
    },
    /// The output has the wrong number of values.
    #[error(
        "the output has {got} values but the program returns {expected}; check that the output \
         belongs to this model"
    )]
    OutputLength {
        /// Values given.
        got: usize,
        /// Values the program returns.
        expected: usize,
    },
    /// An output value no program with this activation range can return.
    #[error(
        "output value {value} at index {index} is outside the activation range [{lo}, {hi}], so \
         no run of the program returns it; check that the output belongs to this model"
    )]
    OutputRange {
        /// Index of the value.
        index: usize,
        /// The value.
        value: i32,
        /// Smallest activation.
        lo: i32,
        /// Largest activation.
        hi: i32,
    },
}

/// The public inputs of a circuit: how many values and how they are encoded as field elements.
/// This is all a verifier needs to know about the program besides its verifying key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicLayout {
    /// Width of the program's activation range.
    pub act_bits: u32,
    /// Values in one input.
    pub input_len: usize,
    /// Values in one output.
    pub output_len: usize,
}

impl PublicLayout {
    /// Number of public field elements, not counting the constant one.
    pub fn len(&self) -> usize {
        self.input_len + self.output_len
    }

    /// Whether there are no public field elements (never, for a valid program).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The activation range `[−2^(act_bits−1), 2^(act_bits−1) − 1]`.
    pub fn act_range(&self) -> (i32, i32) {
        let half = 1i32 << (self.act_bits - 1);
        (-half, half - 1)
    }

    /// The public inputs for `input` and `output` as integers: each input value clamped into the
    /// activation range (as the executor does), then each output value, every one plus
    /// `2^(act_bits−1)`, so each lies in `[0, 2^act_bits)`. The field element is that integer.
    pub fn encode(&self, input: &[i32], output: &[i32]) -> Result<Vec<u64>, CircuitError> {
        if input.len() != self.input_len {
            return Err(CircuitError::InputLength {
                got: input.len(),
                expected: self.input_len,
            });
        }
        if output.len() != self.output_len {
            return Err(CircuitError::OutputLength {
                got: output.len(),
                expected: self.output_len,
            });
        }
        let (lo, hi) = self.act_range();
        if let Some((index, &value)) = output
            .iter()
            .enumerate()
            .find(|&(_, v)| !(lo..=hi).contains(v))
        {
            return Err(CircuitError::OutputRange {
                index,
                value,
                lo,
                hi,
            });
        }
        let half = i64::from(hi) + 1;
        Ok(input
            .iter()
            .map(|&v| v.clamp(lo, hi))
            .chain(output.iter().copied())
            .map(|v| (i64::from(v) + half) as u64)
            .collect())
    }

    /// [`encode`](Self::encode) as field elements.
    pub fn public_inputs<F: PrimeField>(
        &self,
        input: &[i32],
        output: &[i32],
    ) -> Result<Vec<F>, CircuitError> {
        Ok(self
            .encode(input, output)?
            .into_iter()
            .map(F::from)
            .collect())
    }
}

/// What one layer of a program costs in its circuit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayerCost {
    /// Index of the layer in the program.
    pub layer: usize,
    /// Values the layer outputs.
    pub activations: usize,
    /// Constraints of the layer.
    pub constraints: usize,
    /// Activations whose bounds rule out both clamps.
    pub exact: usize,
    /// Activations that can hit only the upper clamp.
    pub upper: usize,
    /// Activations that can hit only the lower clamp.
    pub lower: usize,
    /// Activations that can hit both clamps.
    pub both: usize,
}

/// The R1CS circuit of one program: `output = program.run(input)` with the input and output
/// public. See the [module docs](self) for what it enforces and what it costs.
pub struct Circuit {
    program: Program,
    plan: Plan,
}

impl Circuit {
    /// Plans the circuit of `program`: bounds every value, picks each activation's gadget and
    /// lays out the variables. Refuses circuits of more than [`MAX_CONSTRAINTS`] constraints.
    pub fn new(program: &Program) -> Result<Self, CircuitError> {
        let plan = Plan::new(program)?;
        Ok(Self {
            program: program.clone(),
            plan,
        })
    }

    /// The program this circuit proves.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Number of constraints.
    pub fn num_constraints(&self) -> usize {
        self.plan.num_constraints
    }

    /// Number of witness (private) variables.
    pub fn num_witness_variables(&self) -> usize {
        self.plan.num_witness
    }

    /// The cost of every layer the output depends on, in program order.
    pub fn layer_costs(&self) -> Vec<LayerCost> {
        self.plan
            .layers
            .iter()
            .flatten()
            .map(|lp| {
                let mut cost = LayerCost {
                    layer: lp.index,
                    activations: lp.acts.len(),
                    ..LayerCost::default()
                };
                for act in &lp.acts {
                    cost.constraints += act.constraints(lp.shift, lp.output);
                    match act.kind {
                        plan::Kind::Exact => cost.exact += 1,
                        plan::Kind::Upper => cost.upper += 1,
                        plan::Kind::Lower => cost.lower += 1,
                        plan::Kind::Both => cost.both += 1,
                    }
                }
                cost
            })
            .collect()
    }

    /// The public inputs' layout.
    pub fn public_layout(&self) -> PublicLayout {
        PublicLayout {
            act_bits: self.plan.act_bits,
            input_len: self.plan.input_len,
            output_len: self.plan.output_len,
        }
    }

    /// Checks that field `F` is large enough: every bit decomposition of the circuit must stay
    /// below its modulus, and so must every accumulator.
    pub fn check_field<F: PrimeField>(&self) -> Result<(), CircuitError> {
        // Accumulators and `acc·mul + r` stay within i64 (the program's overflow bound); the
        // decompositions within `max_bits`. Two spare bits keep every difference of two such
        // values away from the modulus.
        let needed = self.plan.max_bits.max(64) + 2;
        if F::MODULUS_BIT_SIZE <= needed {
            return Err(CircuitError::FieldTooSmall {
                needed,
                field_bits: F::MODULUS_BIT_SIZE,
            });
        }
        Ok(())
    }

    /// Runs the program on `input` (clamped into the activation range first, as
    /// [`Program::run`] does) and returns every variable's value.
    pub fn witness<F: PrimeField>(&self, input: &[i32]) -> Result<Witness<F>, CircuitError> {
        self.check_field::<F>()?;
        if input.len() != self.plan.input_len {
            return Err(CircuitError::InputLength {
                got: input.len(),
                expected: self.plan.input_len,
            });
        }
        Ok(witness::assign(&self.program, &self.plan, input))
    }

    /// A [`ConstraintSynthesizer`] for this circuit: without a witness for setup (key
    /// generation), with one to check or prove an assignment.
    pub fn synthesizer<'a, F: PrimeField>(
        &'a self,
        witness: Option<&'a Witness<F>>,
    ) -> Synthesizer<'a, F> {
        Synthesizer {
            circuit: self,
            witness,
        }
    }
}

/// The constraint generator of a [`Circuit`], for any prime field of enough bits.
pub struct Synthesizer<'a, F> {
    circuit: &'a Circuit,
    witness: Option<&'a Witness<F>>,
}

impl<F: PrimeField> ConstraintSynthesizer<F> for Synthesizer<'_, F> {
    fn generate_constraints(self, cs: ConstraintSystemRef<F>) -> Result<(), SynthesisError> {
        self.circuit
            .check_field::<F>()
            .map_err(|_| SynthesisError::Unsatisfiable)?;
        synth::synthesize(&self.circuit.program, &self.circuit.plan, self.witness, cs)
    }
}
