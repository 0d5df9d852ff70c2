//! SPEC-PLACEHOLDER

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
