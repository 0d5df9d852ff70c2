//! Groth16 proofs of integer programs: honest proofs verify and carry `Program::run`'s output;
//! a proof is rejected for any other model, input or output; malformed proofs and keys are
//! refused with a named error.

mod common;

use std::sync::OnceLock;

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ff::Field;
use ark_serialize::CanonicalSerialize;
use common::{all_ops_program, dense, digits_program, layer, program, test_inputs};
use proptest::prelude::*;
use verity_quant::Program;
use verity_zk::circuit::CircuitError;
use verity_zk::groth16::{
    self, PROOF_BYTES, Proof, ProofDecodeError, ProveError, ProvingKey, VerifyError, VerifyingKey,
    VerifyingKeyDecodeError,
};

struct Model {
    program: Program,
    pk: ProvingKey,
    vk: VerifyingKey,
}

fn model(name: &'static str) -> &'static Model {
    static MLP: OnceLock<Model> = OnceLock::new();
    static CNN: OnceLock<Model> = OnceLock::new();
    static ALL_OPS: OnceLock<Model> = OnceLock::new();
    let (cell, seed) = match name {
        "mlp" => (&MLP, [1; 32]),
        "cnn" => (&CNN, [2; 32]),
        _ => (&ALL_OPS, [3; 32]),
    };
    cell.get_or_init(|| {
        let program = match name {
            "mlp" | "cnn" => digits_program(name),
            _ => all_ops_program(),
        };
        let (pk, vk) = groth16::setup(&program, seed).unwrap();
        Model { program, pk, vk }
    })
}

/// Proves `input` with `m`, checks the output against `Program::run`, returns the proof bytes.
fn prove(m: &Model, input: &[i32]) -> (Vec<i32>, Vec<u8>) {
    let (output, proof) = groth16::prove(&m.pk, &m.program, input).unwrap();
    assert_eq!(output, m.program.run(input).unwrap(), "input {input:?}");
    let bytes = proof.to_bytes();
    assert_eq!(bytes.len(), PROOF_BYTES);
    (output, bytes)
}

fn rejected(result: Result<(), VerifyError>) {
    assert!(
        matches!(result, Err(VerifyError::Rejected)),
        "expected a rejection, got {result:?}"
    );
}

#[test]
fn mlp_proofs_verify_on_test_images() {
    let m = model("mlp");
    for input in test_inputs(&m.program, 3) {
        let (output, proof) = prove(m, &input);
        groth16::verify(&m.vk, &input, &output, &proof).unwrap();
    }
}

#[test]
fn extreme_inputs_are_clamped_as_the_executor_clamps_them() {
    let m = model("mlp");
    let (lo, hi) = m.program.act_range();
    let alternating: Vec<i32> = (0..64)
        .map(|i| if i % 2 == 0 { i32::MAX } else { i32::MIN })
        .collect();
    for input in [
        vec![i32::MAX; 64],
        vec![i32::MIN; 64],
        alternating,
        vec![lo; 64],
        vec![hi; 64],
    ] {
        let (output, proof) = prove(m, &input);
        groth16::verify(&m.vk, &input, &output, &proof).unwrap();
        // The verifier clamps the caller's input the same way.
        let clamped: Vec<i32> = input.iter().map(|&v| v.clamp(lo, hi)).collect();
        groth16::verify(&m.vk, &clamped, &output, &proof).unwrap();
    }
}

#[test]
fn every_op_and_clamp_verifies_on_a_hand_built_program() {
    let m = model("all_ops");
    for input in [
        vec![0; 16],
        vec![i32::MAX; 16],
        vec![i32::MIN; 16],
        (0..16).map(|i| i * 37 - 300).collect(),
    ] {
        let (output, proof) = prove(m, &input);
        groth16::verify(&m.vk, &input, &output, &proof).unwrap();
    }
}

#[test]
fn cnn_proof_verifies_and_keys_do_not_cross() {
    let (mlp, cnn) = (model("mlp"), model("cnn"));
    let input = test_inputs(&cnn.program, 1).remove(0);
    let (cnn_out, cnn_proof) = prove(cnn, &input);
    groth16::verify(&cnn.vk, &input, &cnn_out, &cnn_proof).unwrap();
    let (mlp_out, mlp_proof) = prove(mlp, &input);
    // Both take 64 values and return 10, so only the proof can tell the models apart.
    rejected(groth16::verify(&mlp.vk, &input, &cnn_out, &cnn_proof));
    rejected(groth16::verify(&cnn.vk, &input, &mlp_out, &mlp_proof));
    rejected(groth16::verify(&mlp.vk, &input, &mlp_out, &cnn_proof));
    assert_ne!(mlp.vk.hash(), cnn.vk.hash());
    assert_ne!(mlp.vk.program_hash(), cnn.vk.program_hash());
}

#[test]
fn a_program_with_one_weight_changed_is_another_statement() {
    let m = model("mlp");
    let mut json = serde_json::to_value(&m.program).unwrap();
    let w = &mut json["layers"][0]["op"]["Dense"]["weights"][5];
    *w = (w.as_i64().unwrap() + 1).into();
    let changed: Program = serde_json::from_value(json).unwrap();
    let input = test_inputs(&m.program, 1).remove(0);
    // The original key refuses to prove the changed program...
    let err = groth16::prove(&m.pk, &changed, &input).unwrap_err();
    assert!(matches!(err, ProveError::ProgramMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("set up a key for this program"),
        "{err}"
    );
    // ...and a proof from the changed program's own key does not verify under the original.
    let (pk, vk) = groth16::setup(&changed, [1; 32]).unwrap();
    let (output, proof) = groth16::prove(&pk, &changed, &input).unwrap();
    groth16::verify(&vk, &input, &output, &proof.to_bytes()).unwrap();
    rejected(groth16::verify(&m.vk, &input, &output, &proof.to_bytes()));
    assert_ne!(vk.program_hash(), m.vk.program_hash());
}

#[test]
fn tampered_output_and_other_inputs_are_rejected() {
    let m = model("mlp");
    let inputs = test_inputs(&m.program, 2);
    let (output, proof) = prove(m, &inputs[0]);
    for i in [0, 9] {
        let mut tampered = output.clone();
        tampered[i] += 1;
        rejected(groth16::verify(&m.vk, &inputs[0], &tampered, &proof));
    }
    rejected(groth16::verify(&m.vk, &inputs[1], &output, &proof));
    let mut one_pixel = inputs[0].clone();
    one_pixel[30] += 1;
    rejected(groth16::verify(&m.vk, &one_pixel, &output, &proof));
    // Statements that cannot be anyone's are refused before any pairing, with the reason.
    let (lo, _) = m.program.act_range();
    let mut out_of_range = output.clone();
    out_of_range[3] = lo - 1;
    let err = groth16::verify(&m.vk, &inputs[0], &out_of_range, &proof).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Statement(CircuitError::OutputRange { index: 3, .. })
        ),
        "{err}"
    );
    let err = groth16::verify(&m.vk, &inputs[0][..63], &output, &proof).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Statement(CircuitError::InputLength {
                got: 63,
                expected: 64
            })
        ),
        "{err}"
    );
}

#[test]
fn a_proof_for_another_output_length_is_refused() {
    // Two programs over the same 4 inputs, returning 2 and 3 values.
    let weights: Vec<i32> = (0..12).map(|i| i * 5 - 29).collect();
    let two = program(
        &[4],
        8,
        vec![layer(dense(0, 4, &weights[..8], &[1, 2]), 1, 2, false)],
        1,
    );
    let three = program(
        &[4],
        8,
        vec![layer(dense(0, 4, &weights, &[1, 2, 3]), 1, 2, false)],
        1,
    );
    let (pk2, vk2) = groth16::setup(&two, [5; 32]).unwrap();
    let (pk3, _) = groth16::setup(&three, [5; 32]).unwrap();
    let input = [10, -20, 30, -40];
    let (out3, proof3) = groth16::prove(&pk3, &three, &input).unwrap();
    let err = groth16::verify(&vk2, &input, &out3, &proof3.to_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Statement(CircuitError::OutputLength {
                got: 3,
                expected: 2
            })
        ),
        "{err}"
    );
    // The same first two values, under the two-output key: still not its proof.
    rejected(groth16::verify(
        &vk2,
        &input,
        &out3[..2],
        &proof3.to_bytes(),
    ));
    let (out2, proof2) = groth16::prove(&pk2, &two, &input).unwrap();
    assert_eq!(out2, &out3[..2]);
    groth16::verify(&vk2, &input, &out2, &proof2.to_bytes()).unwrap();
}

/// A compressed G1 encoding of an x coordinate that is on no point of the curve.
fn g1_x_off_curve() -> [u8; 32] {
    (1u64..)
        .map(Fq::from)
        .find(|x| (x.square() * x + Fq::from(3u64)).legendre().is_qnr())
        .map(|x| {
            let mut bytes = [0u8; 32];
            x.serialize_compressed(&mut bytes[..]).unwrap();
            bytes
        })
        .unwrap()
}

/// A point of the G2 curve outside the prime-order subgroup, compressed.
fn g2_off_subgroup() -> [u8; 64] {
    let point = (1u64..)
        .find_map(|i| G2Affine::get_point_from_x_unchecked(Fq2::new(Fq::from(i), Fq::ONE), true))
        .filter(|p| !p.is_in_correct_subgroup_assuming_on_curve())
        .unwrap();
    let mut bytes = [0u8; 64];
    point.serialize_compressed(&mut bytes[..]).unwrap();
    bytes
}

#[test]
fn malformed_proofs_are_refused_with_the_reason() {
    let m = model("mlp");
    let input = test_inputs(&m.program, 1).remove(0);
    let (output, proof) = prove(m, &input);
    assert_eq!(Proof::from_bytes(&proof).unwrap().to_bytes(), proof);

    let err = groth16::verify(&m.vk, &input, &output, &proof[..127]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "proof is 127 bytes; a Groth16 BN254 proof is 128 bytes compressed (A and C in G1, 32 \
         bytes each, B in G2, 64 bytes)"
    );
    for len in [0, 1, 64, 129, 256] {
        let mut bytes = proof.clone();
        bytes.resize(len, 0);
        assert_eq!(
            Proof::from_bytes(&bytes),
            Err(ProofDecodeError::Length { got: len })
        );
    }
    assert!(matches!(
        Proof::from_bytes(&[0xFF; 128]),
        Err(ProofDecodeError::Point { point: "A", .. })
    ));

    let mut off_curve = proof.clone();
    off_curve[..32].copy_from_slice(&g1_x_off_curve());
    assert_eq!(
        Proof::from_bytes(&off_curve),
        Err(ProofDecodeError::Point {
            point: "A",
            group: "G1"
        })
    );
    let mut off_curve = proof.clone();
    off_curve[96..].copy_from_slice(&g1_x_off_curve());
    assert_eq!(
        Proof::from_bytes(&off_curve),
        Err(ProofDecodeError::Point {
            point: "C",
            group: "G1"
        })
    );
    let mut off_subgroup = proof.clone();
    off_subgroup[32..96].copy_from_slice(&g2_off_subgroup());
    assert_eq!(
        Proof::from_bytes(&off_subgroup),
        Err(ProofDecodeError::Point {
            point: "B",
            group: "G2"
        })
    );

    // Random bytes: refused when decoding or, if they happen to decode, by the pairing check.
    let mut state = 0x2545F4914F6CDD1Du64;
    for _ in 0..20 {
        let bytes: Vec<u8> = (0..128)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assert!(groth16::verify(&m.vk, &input, &output, &bytes).is_err());
    }
    // Every single-bit flip of a valid proof is refused one way or the other.
    for bit in (0..128 * 8).step_by(61) {
        let mut flipped = proof.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        assert!(
            groth16::verify(&m.vk, &input, &output, &flipped).is_err(),
            "bit {bit}"
        );
    }
}

#[test]
fn verifying_keys_round_trip_and_refuse_bad_bytes() {
    let m = model("mlp");
    let bytes = m.vk.to_bytes();
    assert_eq!(bytes.len(), 272 + 32 * (1 + 64 + 10));
    let decoded = VerifyingKey::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, m.vk);
    assert_eq!(decoded.hash(), m.vk.hash());
    assert_eq!((decoded.input_len(), decoded.output_len()), (64, 10));
    assert_eq!(decoded.program_hash(), m.program.hash());
    {
        use sha2::{Digest, Sha256};
        assert_eq!(m.vk.hash(), <[u8; 32]>::from(Sha256::digest(&bytes)));
    }
    // A decoded key verifies like the original.
    let input = test_inputs(&m.program, 1).remove(0);
    let (output, proof) = prove(m, &input);
    groth16::verify(&decoded, &input, &output, &proof).unwrap();

    for len in [0, 10, 271, 272, bytes.len() - 32, bytes.len() - 1] {
        let err = VerifyingKey::from_bytes(&bytes[..len]).unwrap_err();
        assert!(
            matches!(err, VerifyingKeyDecodeError::Truncated { .. }),
            "{len}: {err}"
        );
    }
    for extra in [1, 32] {
        let mut long = bytes.clone();
        long.extend(std::iter::repeat_n(0, extra));
        assert_eq!(
            VerifyingKey::from_bytes(&long),
            Err(VerifyingKeyDecodeError::TrailingBytes {
                extra,
                expected: bytes.len()
            })
        );
    }
    let huge = vec![0u8; groth16::MAX_VERIFYING_KEY_BYTES + 1];
    assert!(matches!(
        VerifyingKey::from_bytes(&huge),
        Err(VerifyingKeyDecodeError::TooLarge { .. })
    ));

    let with = |at: usize, new: &[u8]| {
        let mut b = bytes.clone();
        b[at..at + new.len()].copy_from_slice(new);
        VerifyingKey::from_bytes(&b)
    };
    assert_eq!(
        with(0, &2u32.to_le_bytes()),
        Err(VerifyingKeyDecodeError::Version { got: 2 })
    );
    assert!(matches!(
        with(36, &1u32.to_le_bytes()),
        Err(VerifyingKeyDecodeError::Header {
            field: "act_bits",
            ..
        })
    ));
    assert!(matches!(
        with(40, &0u32.to_le_bytes()),
        Err(VerifyingKeyDecodeError::Header {
            field: "input_len",
            ..
        })
    ));
    // A length that disagrees with the points present.
    assert!(matches!(
        with(44, &11u32.to_le_bytes()),
        Err(VerifyingKeyDecodeError::Truncated { .. })
    ));
    assert!(matches!(
        with(48, &g1_x_off_curve()),
        Err(VerifyingKeyDecodeError::Point { .. })
    ));
    assert!(matches!(
        with(48 + 32, &g2_off_subgroup()),
        Err(VerifyingKeyDecodeError::Point { .. })
    ));
    let last = bytes.len() - 32;
    assert!(matches!(
        with(last, &[0xFF; 32]),
        Err(VerifyingKeyDecodeError::Point { .. })
    ));
    // The identity as delta would let anything verify: refused.
    let mut identity = [0u8; 64];
    G2Affine::identity()
        .serialize_compressed(&mut identity[..])
        .unwrap();
    assert!(matches!(
        with(48 + 32 + 128, &identity),
        Err(VerifyingKeyDecodeError::Point { .. })
    ));
    // Garbage of the right length.
    let garbage: Vec<u8> = (0..bytes.len()).map(|i| (i * 131 + 7) as u8).collect();
    assert!(VerifyingKey::from_bytes(&garbage).is_err());
}

#[test]
fn proofs_of_a_program_do_not_verify_as_the_empty_proof() {
    let m = model("all_ops");
    let input = vec![5; 16];
    let output = m.program.run(&input).unwrap();
    let mut zero = Vec::new();
    let identity = G1Affine::identity();
    identity.serialize_compressed(&mut zero).unwrap();
    G2Affine::identity()
        .serialize_compressed(&mut zero)
        .unwrap();
    identity.serialize_compressed(&mut zero).unwrap();
    rejected(groth16::verify(&m.vk, &input, &output, &zero));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]

    /// Random inputs, in and far out of the activation range: the proved output is the
    /// executor's and the proof verifies.
    #[test]
    fn random_inputs_prove_run_and_verify(input in prop::collection::vec(
        prop_oneof![-200i32..200, any::<i32>()], 16)) {
        let m = model("all_ops");
        let (output, proof) = groth16::prove(&m.pk, &m.program, &input).unwrap();
        prop_assert_eq!(&output, &m.program.run(&input).unwrap());
        prop_assert!(groth16::verify(&m.vk, &input, &output, &proof.to_bytes()).is_ok());
    }
}

#[test]
fn wrong_input_lengths_are_named_and_the_backend_trait_works() {
    use verity_zk::Backend;
    use verity_zk::groth16::Groth16Bn254;

    fn round_trip<B: Backend>(program: &Program, input: &[i32]) -> Result<Vec<i32>, String> {
        let (pk, vk) = B::setup(program, [8; 32]).map_err(|e| e.to_string())?;
        let (output, proof) = B::prove(&pk, program, input).map_err(|e| e.to_string())?;
        B::verify(&vk, input, &output, &B::proof_bytes(&proof)).map_err(|e| e.to_string())?;
        Ok(output)
    }
    let small = program(
        &[2],
        6,
        vec![layer(dense(0, 2, &[3, -2], &[1]), 1, 1, true)],
        1,
    );
    assert_eq!(
        round_trip::<Groth16Bn254>(&small, &[7, 4]).unwrap(),
        small.run(&[7, 4]).unwrap()
    );
    let err = round_trip::<Groth16Bn254>(&small, &[7]).unwrap_err();
    assert_eq!(
        err,
        "the input has 1 values but the program takes 2; send one whole sample"
    );

    let m = model("all_ops");
    let err = groth16::prove(&m.pk, &m.program, &[0; 15]).unwrap_err();
    assert!(
        matches!(
            err,
            ProveError::Input(CircuitError::InputLength {
                got: 15,
                expected: 16
            })
        ),
        "{err}"
    );
}
