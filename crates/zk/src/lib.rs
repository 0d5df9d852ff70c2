//! Zero-knowledge proofs that an output is a [`verity_quant::Program`] applied to an input.
//!
//! A verifiable call in zk mode is settled by a proof that `output = program.run(input)` for the
//! model's integer program, with the input and the output public. This crate has two halves:
//!
//! * [`circuit`], the front end: an R1CS circuit for one program, generic over the prime field,
//!   with the weights as circuit constants, so linear layers cost nothing and each activation
//!   costs its requantization's range checks and clamp (about `shift + act_bits + 3`
//!   constraints). It also computes the witness directly, with the executor's integer
//!   arithmetic. It knows nothing of any proof system.
//! * [`groth16`], the back end: Groth16 on BN254 (arkworks), keys per program generated from a
//!   seed, 128-byte proofs, verification with a prepared key.
//!
//! [`Backend`] is the interface a caller (a node, a ledger) needs; [`groth16::Groth16Bn254`]
//! implements it, and a transparent proof system over the same circuit could replace it.
//!
//! Invariants kept by this crate:
//!
//! * the output [`groth16::prove`] returns is [`verity_quant::Program::run`]'s for the same
//!   input, for every `i32` input (out-of-range values are clamped identically in the executor,
//!   the witness and the verifier), and proving never fails for a valid program and an input
//!   of the right length;
//! * [`groth16::verify`] accepts a proof only for the program of the key, the input (after
//!   clamping) and the output it was made for;
//! * the decoders of outside bytes ([`groth16::Proof::from_bytes`],
//!   [`groth16::VerifyingKey::from_bytes`]) accept only canonical encodings of valid curve
//!   points in the prime-order subgroups, refuse trailing bytes and oversized input, and never
//!   panic (fuzzed by `fuzz/fuzz_targets/zk_decode.rs`).

#![deny(missing_docs)]

pub mod circuit;
pub mod groth16;

use verity_quant::Program;

/// A proof system for integer programs: what a node needs to prove calls and a verifier to
/// check them. Implemented by [`groth16::Groth16Bn254`].
pub trait Backend {
    /// What proving needs for one program.
    type ProvingKey;
    /// What verifying needs for one program.
    type VerifyingKey;
    /// A proof.
    type Proof;
    /// Why setup failed.
    type SetupError: std::error::Error;
    /// Why proving failed.
    type ProveError: std::error::Error;
    /// Why a proof was not accepted.
    type VerifyError: std::error::Error;

    /// Generates the keys of `program`. `seed` determines every random choice of a back end
    /// with a trusted setup; a transparent back end ignores it.
    fn setup(
        program: &Program,
        seed: [u8; 32],
    ) -> Result<(Self::ProvingKey, Self::VerifyingKey), Self::SetupError>;

    /// Runs `program` on `input` and proves the output, which is returned with the proof.
    fn prove(
        pk: &Self::ProvingKey,
        program: &Program,
        input: &[i32],
    ) -> Result<(Vec<i32>, Self::Proof), Self::ProveError>;

    /// The proof's wire encoding.
    fn proof_bytes(proof: &Self::Proof) -> Vec<u8>;

    /// Checks that `proof` (wire encoding) shows `output = program.run(input)` for the program
    /// of `vk`.
    fn verify(
        vk: &Self::VerifyingKey,
        input: &[i32],
        output: &[i32],
        proof: &[u8],
    ) -> Result<(), Self::VerifyError>;
}
