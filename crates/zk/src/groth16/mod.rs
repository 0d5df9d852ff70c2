//! Groth16 on BN254: keys per program, 128-byte proofs, verification in a few milliseconds.
//!
//! # Keys
//!
//! [`setup`] builds the [`Circuit`] of a program and runs Groth16's key generation (arkworks'
//! `ark-groth16`) with every random value drawn from a ChaCha20 stream seeded by the caller's
//! 32-byte seed, so the same program and seed give the same keys on every machine. The seed
//! determines the trapdoor (`α`, `β`, `γ`, `δ`, `τ`): whoever knows it can make a proof of any
//! output. Keys from a seed suit one operator proving for itself and tests; keys that others
//! rely on must come from a multi-party ceremony (see `docs/decisions/0007-zk-proof-system.md`).
//!
//! A [`VerifyingKey`] carries the program's hash ([`Program::hash`]), the input and output
//! lengths and the activation width (the [`PublicLayout`]), and the Groth16 verifying key,
//! prepared for pairing once when it is made or decoded. Its encoding
//! ([`VerifyingKey::to_bytes`]) is canonical and versioned; [`VerifyingKey::hash`] is its
//! SHA-256. A [`ProvingKey`] stays with the prover: the circuit, the Groth16 proving key and the
//! constraint matrices.
//!
//! # Proving
//!
//! [`prove`] computes the witness directly ([`Circuit::witness`], the executor's arithmetic),
//! then the Groth16 proof with fresh blinding factors. The proof is the one arkworks' reference
//! prover makes with the same reduction and randomness (checked in the tests); it is faster
//! because:
//!
//! * the QAP reduction (`CosetReduction`) is libsnark's over the smallest evaluation domain of
//!   size `2^k`, `3·2^k` or `9·2^k` (LeNet28's 161,759 rows take 196,608 points, not 262,144),
//!   with the `h` query in the Lagrange basis of the coset where the prover evaluates `h`: six
//!   FFTs per proof, not seven;
//! * the A, B and L queries are multiplied by the witness split by size: most values are bits
//!   (plain additions), the rest mostly activations (a bucket method over their few bits), a
//!   few inverses need full-size scalars;
//! * the `h` query's multi-scalar multiplication, the largest cost, keeps its buckets in affine
//!   coordinates and adds in batches sharing one inversion.
//!
//! Every step runs on rayon's pool (one thread per core). For LeNet28 the `h` MSM takes about
//! 60 % of the time, the constraint evaluation and FFTs 30 %, the other MSMs 9 %, the witness
//! under 1 %.
//!
//! # Proofs and verification
//!
//! A [`Proof`] is `A ‖ B ‖ C` compressed: 32 + 64 + 32 = 128 bytes. [`Proof::from_bytes`]
//! accepts exactly 128 bytes of canonical encodings of points on the curve and in the
//! prime-order subgroups. [`verify`] encodes the public inputs ([`PublicLayout::encode`]: the
//! input clamped, the output range-checked), combines them with the key's `γ_abc` points by a
//! bucket method over `act_bits`-bit scalars, and checks one multi-pairing against the
//! prepared key. Errors say what was wrong: the statement's shape, the proof's bytes, or
//! [`VerifyError::Rejected`] when the proof is well formed but not a proof of this statement.

mod domain;
mod msm;
mod pippenger;
mod prover;

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::AffineRepr;
use ark_groth16::{Groth16, PreparedVerifyingKey, prepare_verifying_key};
use ark_relations::r1cs::{
    ConstraintMatrices, ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_std::UniformRand;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use verity_quant::{MAX_ACT_BITS, MIN_ACT_BITS, Program};

use std::time::Instant;

use crate::circuit::{Circuit, CircuitError, PublicLayout};
pub use prover::ProveTimings;

/// Size of a compressed proof: A and C in G1 (32 bytes each), B in G2 (64 bytes).
pub const PROOF_BYTES: usize = 128;
/// Version of the verifying key encoding. Keys of other versions are refused.
pub const VERIFYING_KEY_VERSION: u32 = 1;
/// Most public values (input plus output) a verifying key may declare.
pub const MAX_PUBLIC_VALUES: usize = 1 << 20;
/// Bytes of a verifying key before its per-public-value points.
const VK_HEADER_BYTES: usize = 4 + 32 + 4 + 4 + 4 + G1_BYTES + 3 * G2_BYTES;
/// Largest accepted verifying key encoding.
pub const MAX_VERIFYING_KEY_BYTES: usize = VK_HEADER_BYTES + (1 + MAX_PUBLIC_VALUES) * G1_BYTES;
const G1_BYTES: usize = 32;
const G2_BYTES: usize = 64;

/// Why setup failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The program has no circuit.
    #[error(transparent)]
    Circuit(#[from] CircuitError),
    /// arkworks refused the circuit.
    #[error("Groth16 key generation failed: {0}; this is a bug in the circuit, please report it")]
    Backend(String),
}

/// Why a proof could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The proving key belongs to another program.
    #[error(
        "the proving key is for program {key} but the program given is {program}; set up a key \
         for this program"
    )]
    ProgramMismatch {
        /// Hash of the key's program, hex.
        key: String,
        /// Hash of the program given, hex.
        program: String,
    },
    /// The input does not fit the program.
    #[error(transparent)]
    Input(#[from] CircuitError),
    /// The proving key does not fit its own circuit.
    #[error("the proving key does not match its circuit; set up the key again")]
    Key,
}

/// Why a proof does not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofDecodeError {
    /// Wrong length.
    #[error(
        "proof is {got} bytes; a Groth16 BN254 proof is {PROOF_BYTES} bytes compressed (A and C \
         in G1, 32 bytes each, B in G2, 64 bytes)"
    )]
    Length {
        /// Bytes given.
        got: usize,
    },
    /// A point does not decode.
    #[error(
        "proof point {point} is not a compressed {group} point of BN254 (bad flags, a coordinate \
         not below the field modulus, not on the curve, or not in the prime-order subgroup); \
         send the bytes the prover produced"
    )]
    Point {
        /// `"A"`, `"B"` or `"C"`.
        point: &'static str,
        /// `"G1"` or `"G2"`.
        group: &'static str,
    },
    /// The bytes decode but are not the canonical encoding of the points.
    #[error("proof is not in canonical compressed form; send the bytes the prover produced")]
    NonCanonical,
}

/// Why a verifying key does not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyingKeyDecodeError {
    /// Larger than any key.
    #[error(
        "verifying key is {len} bytes, more than the largest possible ({max}); this is not a \
         verifying key"
    )]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// [`MAX_VERIFYING_KEY_BYTES`].
        max: usize,
    },
    /// Shorter than its header says.
    #[error(
        "verifying key is truncated: {len} bytes where its header calls for {expected}; fetch \
         the whole key"
    )]
    Truncated {
        /// Bytes given.
        len: usize,
        /// Bytes the header calls for.
        expected: usize,
    },
    /// Bytes after the key.
    #[error("verifying key has {extra} bytes after its end ({expected} bytes); send the key alone")]
    TrailingBytes {
        /// Bytes after the key.
        extra: usize,
        /// Length of the key.
        expected: usize,
    },
    /// Unknown version.
    #[error(
        "verifying key version {got} is not supported (this build reads version \
         {VERIFYING_KEY_VERSION}); use a matching verity-zk"
    )]
    Version {
        /// Version found.
        got: u32,
    },
    /// A header field out of range.
    #[error("verifying key field {field} = {value} is out of range ({allowed})")]
    Header {
        /// Field name.
        field: &'static str,
        /// Value found.
        value: u64,
        /// The accepted range.
        allowed: &'static str,
    },
    /// A point does not decode.
    #[error(
        "verifying key point {point} is not a valid compressed point of BN254 (bad flags, a \
         coordinate not below the field modulus, not on the curve, not in the prime-order \
         subgroup, or the identity); the key is corrupt"
    )]
    Point {
        /// Which point.
        point: String,
    },
    /// The bytes decode but are not the canonical encoding.
    #[error("verifying key is not in canonical form; the key is corrupt")]
    NonCanonical,
}

/// Why a proof was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The input or output does not fit the key.
    #[error(transparent)]
    Statement(#[from] CircuitError),
    /// The proof bytes do not decode.
    #[error(transparent)]
    Proof(#[from] ProofDecodeError),
    /// The proof is well formed but does not show `output = program.run(input)`.
    #[error(
        "the proof does not verify: it was not made by this model's proving key for this input \
         and output"
    )]
    Rejected,
}

/// A Groth16 proof on BN254: 128 bytes compressed.
#[derive(Clone, Debug, PartialEq)]
pub struct Proof(ark_groth16::Proof<Bn254>);

impl Proof {
    /// The compressed encoding: A (G1), B (G2), C (G1), each in arkworks' canonical compressed
    /// form (x coordinate little endian, sign and infinity flags in the top bits).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PROOF_BYTES);
        self.0
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }

    /// Decodes [`to_bytes`](Self::to_bytes): exactly [`PROOF_BYTES`] bytes, every point on its
    /// curve and in the prime-order subgroup, in canonical form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofDecodeError> {
        if bytes.len() != PROOF_BYTES {
            return Err(ProofDecodeError::Length { got: bytes.len() });
        }
        let a = G1Affine::deserialize_compressed(&bytes[..32]).map_err(|_| {
            ProofDecodeError::Point {
                point: "A",
                group: "G1",
            }
        })?;
        let b = G2Affine::deserialize_compressed(&bytes[32..96]).map_err(|_| {
            ProofDecodeError::Point {
                point: "B",
                group: "G2",
            }
        })?;
        let c = G1Affine::deserialize_compressed(&bytes[96..]).map_err(|_| {
            ProofDecodeError::Point {
                point: "C",
                group: "G1",
            }
        })?;
        let proof = Self(ark_groth16::Proof { a, b, c });
        if proof.to_bytes() != bytes {
            return Err(ProofDecodeError::NonCanonical);
        }
        Ok(proof)
    }
}

/// What a verifier needs for one program: the Groth16 verifying key (prepared for pairing once,
/// when the key is made or decoded), the program's hash and its public input layout.
#[derive(Clone)]
pub struct VerifyingKey {
    program_hash: [u8; 32],
    layout: PublicLayout,
    prepared: PreparedVerifyingKey<Bn254>,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("program_hash", &hex(&self.program_hash))
            .field("layout", &self.layout)
            .field("hash", &hex(&self.hash()))
            .finish()
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.program_hash == other.program_hash
            && self.layout == other.layout
            && self.prepared.vk == other.prepared.vk
    }
}

impl Eq for VerifyingKey {}

impl VerifyingKey {
    fn new(
        program_hash: [u8; 32],
        layout: PublicLayout,
        vk: ark_groth16::VerifyingKey<Bn254>,
    ) -> Self {
        Self {
            program_hash,
            layout,
            prepared: prepare_verifying_key(&vk),
        }
    }

    /// [`Program::hash`] of the program this key verifies.
    pub fn program_hash(&self) -> [u8; 32] {
        self.program_hash
    }

    /// Values in one input.
    pub fn input_len(&self) -> usize {
        self.layout.input_len
    }

    /// Values in one output.
    pub fn output_len(&self) -> usize {
        self.layout.output_len
    }

    /// The public input layout (lengths and encoding).
    pub fn layout(&self) -> PublicLayout {
        self.layout
    }

    /// The canonical encoding, all integers little endian:
    ///
    /// ```text
    /// version u32 (= 1) | program hash [32] | act_bits u32 | input_len u32 | output_len u32
    /// | alpha G1 | beta G2 | gamma G2 | delta G2 | (1 + input_len + output_len) × G1
    /// ```
    ///
    /// Points are in arkworks' compressed form (G1 32 bytes, G2 64 bytes); the G1 list is the
    /// verifying key's `gamma_abc`, one point for the constant one and one per public value.
    pub fn to_bytes(&self) -> Vec<u8> {
        let vk = &self.prepared.vk;
        let mut out = Vec::with_capacity(VK_HEADER_BYTES + vk.gamma_abc_g1.len() * G1_BYTES);
        out.extend_from_slice(&VERIFYING_KEY_VERSION.to_le_bytes());
        out.extend_from_slice(&self.program_hash);
        out.extend_from_slice(&self.layout.act_bits.to_le_bytes());
        out.extend_from_slice(&(self.layout.input_len as u32).to_le_bytes());
        out.extend_from_slice(&(self.layout.output_len as u32).to_le_bytes());
        let written = "writing to a Vec cannot fail";
        vk.alpha_g1.serialize_compressed(&mut out).expect(written);
        for p in [&vk.beta_g2, &vk.gamma_g2, &vk.delta_g2] {
            p.serialize_compressed(&mut out).expect(written);
        }
        for p in &vk.gamma_abc_g1 {
            p.serialize_compressed(&mut out)
                .expect("writing to a Vec cannot fail");
        }
        out
    }

    /// Decodes [`to_bytes`](Self::to_bytes). Refuses more than [`MAX_VERIFYING_KEY_BYTES`], a
    /// length other than the header's, other versions, out-of-range header fields, points off
    /// the curve or outside the prime-order subgroup, the identity for alpha, beta, gamma or
    /// delta, and non-canonical encodings. The key is prepared for pairing here.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyingKeyDecodeError> {
        use VerifyingKeyDecodeError as E;
        if bytes.len() > MAX_VERIFYING_KEY_BYTES {
            return Err(E::TooLarge {
                len: bytes.len(),
                max: MAX_VERIFYING_KEY_BYTES,
            });
        }
        if bytes.len() < VK_HEADER_BYTES {
            return Err(E::Truncated {
                len: bytes.len(),
                expected: VK_HEADER_BYTES,
            });
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let version = u32_at(0);
        if version != VERIFYING_KEY_VERSION {
            return Err(E::Version { got: version });
        }
        let program_hash: [u8; 32] = bytes[4..36].try_into().expect("32 bytes");
        let act_bits = u32_at(36);
        if !(MIN_ACT_BITS..=MAX_ACT_BITS).contains(&act_bits) {
            return Err(E::Header {
                field: "act_bits",
                value: act_bits.into(),
                allowed: "2..=24",
            });
        }
        let input_len = u32_at(40) as usize;
        let output_len = u32_at(44) as usize;
        for (field, value) in [("input_len", input_len), ("output_len", output_len)] {
            if value == 0 || value > MAX_PUBLIC_VALUES {
                return Err(E::Header {
                    field,
                    value: value as u64,
                    allowed: "1..=2^20",
                });
            }
        }
        let public = input_len + output_len;
        if public > MAX_PUBLIC_VALUES {
            return Err(E::Header {
                field: "input_len + output_len",
                value: public as u64,
                allowed: "1..=2^20",
            });
        }
        let expected = VK_HEADER_BYTES + (1 + public) * G1_BYTES;
        if bytes.len() < expected {
            return Err(E::Truncated {
                len: bytes.len(),
                expected,
            });
        }
        if bytes.len() > expected {
            return Err(E::TrailingBytes {
                extra: bytes.len() - expected,
                expected,
            });
        }
        let alpha_g1 = G1Affine::deserialize_compressed(&bytes[48..48 + G1_BYTES])
            .ok()
            .filter(|p| !p.is_zero())
            .ok_or_else(|| E::Point {
                point: "alpha".into(),
            })?;
        let mut g2_points = [G2Affine::zero(); 3];
        for (k, name) in ["beta", "gamma", "delta"].into_iter().enumerate() {
            let start = 48 + G1_BYTES + k * G2_BYTES;
            g2_points[k] = G2Affine::deserialize_compressed(&bytes[start..start + G2_BYTES])
                .ok()
                .filter(|p| !p.is_zero())
                .ok_or_else(|| E::Point { point: name.into() })?;
        }
        let [beta_g2, gamma_g2, delta_g2] = g2_points;
        let mut at = VK_HEADER_BYTES;
        let mut gamma_abc_g1 = Vec::with_capacity(1 + public);
        for i in 0..=public {
            let p = G1Affine::deserialize_compressed(&bytes[at..at + G1_BYTES]).map_err(|_| {
                E::Point {
                    point: format!("gamma_abc[{i}]"),
                }
            })?;
            gamma_abc_g1.push(p);
            at += G1_BYTES;
        }
        let vk = ark_groth16::VerifyingKey {
            alpha_g1,
            beta_g2,
            gamma_g2,
            delta_g2,
            gamma_abc_g1,
        };
        let key = Self::new(
            program_hash,
            PublicLayout {
                act_bits,
                input_len,
                output_len,
            },
            vk,
        );
        if key.to_bytes() != bytes {
            return Err(E::NonCanonical);
        }
        Ok(key)
    }

    /// SHA-256 of [`to_bytes`](Self::to_bytes): the key's identity, e.g. on a ledger.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }
}

/// What a prover needs for one program: its circuit, the Groth16 proving key, the constraint
/// matrices, and the matching verifying key.
pub struct ProvingKey {
    circuit: Circuit,
    program_hash: [u8; 32],
    key: ark_groth16::ProvingKey<Bn254>,
    matrices: ConstraintMatrices<Fr>,
    verifying_key: VerifyingKey,
}

impl std::fmt::Debug for ProvingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvingKey")
            .field("program_hash", &hex(&self.program_hash))
            .field("constraints", &self.circuit.num_constraints())
            .finish()
    }
}

impl ProvingKey {
    /// The circuit the key proves.
    pub fn circuit(&self) -> &Circuit {
        &self.circuit
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying_key
    }

    /// [`Program::hash`] of the program this key proves.
    pub fn program_hash(&self) -> [u8; 32] {
        self.program_hash
    }
}

/// Generates the Groth16 keys of `program`'s circuit, deterministically from `seed` (a ChaCha20
/// stream seeded with it supplies every random value). Whoever knows the seed can forge proofs
/// for this program: keep it secret, or use keys from a multi-party ceremony.
pub fn setup(program: &Program, seed: [u8; 32]) -> Result<(ProvingKey, VerifyingKey), SetupError> {
    let circuit = Circuit::new(program)?;
    circuit.check_field::<Fr>()?;
    let backend = |e: ark_relations::r1cs::SynthesisError| SetupError::Backend(e.to_string());
    let mut rng = ChaCha20Rng::from_seed(seed);
    let key = Groth16::<Bn254, prover::CosetReduction>::generate_random_parameters_with_reduction(
        circuit.synthesizer::<Fr>(None),
        &mut rng,
    )
    .map_err(backend)?;
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    circuit
        .synthesizer::<Fr>(None)
        .generate_constraints(cs.clone())
        .map_err(backend)?;
    cs.finalize();
    let matrices = cs
        .to_matrices()
        .ok_or_else(|| SetupError::Backend("no constraint matrices".into()))?;
    let program_hash = program.hash();
    let verifying_key = VerifyingKey::new(program_hash, circuit.public_layout(), key.vk.clone());
    let proving_key = ProvingKey {
        circuit,
        program_hash,
        key,
        matrices,
        verifying_key: verifying_key.clone(),
    };
    Ok((proving_key, verifying_key))
}

/// Runs `program` on `input` and proves the result: returns the output (equal to
/// [`Program::run`]'s) and a proof that it is the program's output for this input. The proof's
/// randomness comes from the operating system.
pub fn prove(
    pk: &ProvingKey,
    program: &Program,
    input: &[i32],
) -> Result<(Vec<i32>, Proof), ProveError> {
    prove_with_rng(pk, program, input, &mut rand::rngs::OsRng)
}

/// [`prove`] with the proof's randomness (the Groth16 blinding factors `r`, `s`) from `rng`.
pub fn prove_with_rng<R: rand::RngCore + rand::CryptoRng>(
    pk: &ProvingKey,
    program: &Program,
    input: &[i32],
    rng: &mut R,
) -> Result<(Vec<i32>, Proof), ProveError> {
    prove_timed(pk, program, input, rng, &mut ProveTimings::default())
}

/// [`prove_with_rng`] that also reports how long each phase took.
pub fn prove_timed<R: rand::RngCore + rand::CryptoRng>(
    pk: &ProvingKey,
    program: &Program,
    input: &[i32],
    rng: &mut R,
    timings: &mut ProveTimings,
) -> Result<(Vec<i32>, Proof), ProveError> {
    let program_hash = program.hash();
    if program_hash != pk.program_hash {
        return Err(ProveError::ProgramMismatch {
            key: hex(&pk.program_hash),
            program: hex(&program_hash),
        });
    }
    let start = Instant::now();
    let witness = pk.circuit.witness::<Fr>(input)?;
    timings.witness = start.elapsed();
    let mut z = Vec::with_capacity(1 + witness.public.len() + witness.witness.len());
    z.push(Fr::from(1u64));
    z.extend_from_slice(&witness.public);
    z.extend_from_slice(&witness.witness);
    if z.len() != pk.matrices.num_instance_variables + pk.matrices.num_witness_variables {
        return Err(ProveError::Key);
    }
    let (r, s) = (Fr::rand(rng), Fr::rand(rng));
    let proof = prover::prove(&pk.key, &pk.matrices, &z, r, s, timings).ok_or(ProveError::Key)?;
    Ok((witness.output, Proof(proof)))
}

/// Checks that `proof` shows `output = program.run(input)` for the program of `vk`. The input
/// is clamped into the activation range first, as [`Program::run`] does; the output must have
/// the program's length and lie in the activation range.
pub fn verify(
    vk: &VerifyingKey,
    input: &[i32],
    output: &[i32],
    proof: &[u8],
) -> Result<(), VerifyError> {
    let proof = Proof::from_bytes(proof)?;
    let values = vk.layout.encode(input, output)?;
    let prepared_inputs: G1Projective =
        msm::public_combination(&vk.prepared.vk.gamma_abc_g1, &values);
    match Groth16::<Bn254>::verify_proof_with_prepared_inputs(
        &vk.prepared,
        &proof.0,
        &prepared_inputs,
    ) {
        Ok(true) => Ok(()),
        _ => Err(VerifyError::Rejected),
    }
}

/// Groth16 on BN254 as a [`Backend`](crate::Backend): [`setup`], [`prove`], [`verify`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Groth16Bn254;

impl crate::Backend for Groth16Bn254 {
    type ProvingKey = ProvingKey;
    type VerifyingKey = VerifyingKey;
    type Proof = Proof;
    type SetupError = SetupError;
    type ProveError = ProveError;
    type VerifyError = VerifyError;

    fn setup(program: &Program, seed: [u8; 32]) -> Result<(ProvingKey, VerifyingKey), SetupError> {
        setup(program, seed)
    }

    fn prove(
        pk: &ProvingKey,
        program: &Program,
        input: &[i32],
    ) -> Result<(Vec<i32>, Proof), ProveError> {
        prove(pk, program, input)
    }

    fn proof_bytes(proof: &Proof) -> Vec<u8> {
        proof.to_bytes()
    }

    fn verify(
        vk: &VerifyingKey,
        input: &[i32],
        output: &[i32],
        proof: &[u8],
    ) -> Result<(), VerifyError> {
        verify(vk, input, output, proof)
    }
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_groth16::r1cs_to_qap::R1CSToQAP;

    fn tiny_program() -> Program {
        serde_json::from_value(serde_json::json!({
            "version": verity_quant::FORMAT_VERSION,
            "input_shape": [4],
            "in_frac_bits": 2,
            "out_frac_bits": 2,
            "act_bits": 8,
            "layers": [
                {"op": {"Dense": {"input": 0, "in_len": 4, "out_len": 3,
                    "weights": [5, -7, 3, 1, -2, 9, 4, -6, 8, 8, -3, 2], "bias": [10, -20, 0]}},
                 "mul": 1, "shift": 2, "relu": true},
                {"op": {"Dense": {"input": 1, "in_len": 3, "out_len": 2,
                    "weights": [3, -4, 5, -6, 7, 1], "bias": [1, 2]}},
                 "mul": 1, "shift": 1, "relu": false}
            ],
            "output": 2,
        }))
        .unwrap()
    }

    /// The prover's proof is the one arkworks' reference prover makes with the same reduction
    /// and randomness, the quotient is arkworks' interface's, and it verifies.
    #[test]
    fn prover_matches_arkworks_reference() {
        let program = tiny_program();
        let (pk, vk) = setup(&program, [9; 32]).unwrap();
        for input in [[3, -1, 100, -128], [i32::MAX, i32::MIN, 0, 7]] {
            let witness = pk.circuit.witness::<Fr>(&input).unwrap();
            let mut z = vec![Fr::from(1u64)];
            z.extend_from_slice(&witness.public);
            z.extend_from_slice(&witness.witness);
            let (r, s) = (Fr::from(123_456_789u64), Fr::from(987_654_321u64));
            let ours = prover::prove(
                &pk.key,
                &pk.matrices,
                &z,
                r,
                s,
                &mut ProveTimings::default(),
            )
            .unwrap();
            let reference = Groth16::<Bn254, prover::CosetReduction>::create_proof_with_reduction(
                pk.circuit.synthesizer(Some(&witness)),
                &pk.key,
                r,
                s,
            )
            .unwrap();
            assert_eq!(ours, reference);
            let h = prover::CosetReduction::witness_map_from_matrices::<
                Fr,
                ark_poly::GeneralEvaluationDomain<Fr>,
            >(
                &pk.matrices,
                pk.matrices.num_instance_variables,
                pk.matrices.num_constraints,
                &z,
            )
            .unwrap();
            assert_eq!(h.len(), pk.key.h_query.len());
            let proof = Proof(ours).to_bytes();
            verify(&vk, &input, &witness.output, &proof).unwrap();
        }
    }

    #[test]
    fn setup_is_deterministic_in_the_seed() {
        let program = tiny_program();
        let (_, a) = setup(&program, [1; 32]).unwrap();
        let (_, b) = setup(&program, [1; 32]).unwrap();
        let (_, c) = setup(&program, [2; 32]).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
        assert_ne!(a.to_bytes(), c.to_bytes());
        assert_eq!(VerifyingKey::from_bytes(&a.to_bytes()).unwrap(), a);
    }
}
