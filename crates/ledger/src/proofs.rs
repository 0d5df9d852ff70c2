//! Zk mode on the ledger: verifying keys and proofs.
//!
//! # Keys
//! `SetZkKey` stores a model's Groth16 verifying key. The key names the hash of the integer
//! program it was set up for; it must equal the program on the ledger, so a key for another
//! program (another model, or a changed weight) is refused. Calls in zk mode are accepted only
//! once the key is stored.
//!
//! # Proofs
//! A zk-mode call is accepted as `ProofDue` and must have a valid proof before its deadline
//! (`zk.proof_window_ms` after acceptance). For each [`CallProof`] of `SubmitProofs`, in order:
//! 1. the call exists, was served by the signer, and still awaits a proof (a proof for a
//!    settled or refunded call, a replayed proof, is refused);
//! 2. the input bytes hash to the ticket's `input_hash` and are `input_len` finite f32 values;
//! 3. the output values hash, with the program's output shape and scale, to the receipt's
//!    `output_hash`;
//! 4. the proof verifies under the model's key with public values (quantized input, output).
//!
//! Steps 1–3 bind the proof to *this* call: failing them refuses the whole transaction (nothing
//! changes, the node may submit again before the deadline). Failing step 4 is an
//! [`Offence::InvalidProof`]: the caller is refunded and the node slashed, since the node proved
//! its own call's input and output and the proof does not hold. A valid proof settles the call at
//! once with [`Evidence::Proof`]; a call still without one at its deadline is refunded and the
//! node slashed for [`Offence::MissedProofDeadline`] (see [`crate::audit`], block start).

use crate::{
    StateRead,
    audit::decode_tensor,
    crypto,
    error::TxError,
    events::{Event, EventRecord},
    execute::Ctx,
    settlement::pay_out,
    slashing::{refund, slash},
    state::*,
    tx::CallProof,
    types::*,
};
use std::collections::HashMap;
use verity_quant::Program;
use verity_zk::groth16::{self, VerifyingKey};

/// `SetZkKey`: the owner stores the model's verifying key.
pub(crate) fn set_zk_key<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    sender: Address,
    model: &ModelId,
    bytes: &[u8],
    events: &mut Vec<EventRecord>,
) -> Result<(), TxError> {
    let mut m = crate::handlers::owned_model(ov, model, sender)?;
    let Some(program) = m.program else {
        return Err(TxError::Zk(format!(
            "model {model} has no integer program on the ledger; store it first (SetProgram)"
        )));
    };
    let key = VerifyingKey::from_bytes(bytes)
        .map_err(|e| TxError::Zk(format!("the verifying key does not decode: {e}")))?;
    if key.program_hash() != program.0 {
        return Err(TxError::Zk(format!(
            "the verifying key is for program {}, but model {model}'s program is {program}; \
             run the setup for this model's program",
            Hash32(key.program_hash())
        )));
    }
    let hash = Hash32(key.hash());
    ov.put_raw(&zk_key_key(model), Some(bytes.to_vec()));
    m.zk_key = Some(hash);
    ov.put(&model_key(model), &m);
    events.push(ctx.record(Event::ZkKeySet {
        model: *model,
        key: hash,
    }));
    Ok(())
}

/// What checking one model's proofs needs, decoded once per transaction.
struct Verifier {
    output_shape: Vec<u32>,
    program: Program,
    key: VerifyingKey,
}

impl Verifier {
    fn load<S: StateRead>(ov: &mut Overlay<'_, S>, model: &ModelId) -> Self {
        let record: ProgramRecord = ov
            .get(&program_key(model))
            .expect("zk calls are accepted only for models with a key, hence a program");
        let key = ov
            .get_raw(&zk_key_key(model))
            .expect("zk calls are accepted only for models with a key");
        Self {
            key: VerifyingKey::from_bytes(key).expect("stored keys were checked"),
            program: Program::decode(&record.bytes.0)
                .expect("stored programs were checked when stored"),
            output_shape: record.output_shape,
        }
    }
}

/// `SubmitProofs`: see the module documentation.
pub(crate) fn submit_proofs<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    sender: Address,
    proofs: &[CallProof],
    events: &mut Vec<EventRecord>,
) -> Result<(), TxError> {
    let mut verifiers: HashMap<ModelId, Verifier> = HashMap::new();
    for p in proofs {
        let refused = |reason: String| TxError::Zk(format!("proof of call {}: {reason}", p.call));
        let mut call: Call = ov
            .get(&call_key(&p.call))
            .ok_or_else(|| refused("no such call on the ledger".into()))?;
        if call.node != sender {
            return Err(refused(format!(
                "the call was served by {}, not {sender}",
                call.node
            )));
        }
        if !matches!(call.status, CallStatus::ProofDue { .. }) {
            return Err(refused(format!(
                "the call is not awaiting a proof (it is {:?})",
                call.status
            )));
        }
        let Verifier {
            output_shape,
            program,
            key,
        } = verifiers
            .entry(call.model)
            .or_insert_with(|| Verifier::load(ov, &call.model));
        let values = decode_tensor(&p.input, program.input_len()).ok_or_else(|| {
            refused(format!(
                "the input must be {} finite little-endian f32 values",
                program.input_len()
            ))
        })?;
        if crypto::tensor_input_hash(&p.input) != call.input_hash {
            return Err(refused(
                "the input does not hash to the ticket's input_hash".into(),
            ));
        }
        let output_hash =
            crypto::integer_output_hash(output_shape, program.out_frac_bits(), &p.output);
        if output_hash != call.output_hash {
            return Err(refused(
                "the output does not hash to the receipt's output_hash".into(),
            ));
        }
        let input = program
            .quantize_input(&values)
            .map_err(|e| refused(e.to_string()))?;
        match groth16::verify(key, &input, &p.output, &p.proof) {
            Ok(()) => {
                let tx = ctx.tx.unwrap_or_default();
                pay_out(ov, ctx, &mut call, Evidence::Proof { tx }, events);
                events.push(ctx.record(Event::ProofAccepted {
                    call: call.id,
                    node: sender,
                }));
            }
            Err(_) => {
                refund(ov, ctx, &mut call, Offence::InvalidProof, events);
                slash(ov, ctx, sender, Offence::InvalidProof, None, events);
            }
        }
    }
    Ok(())
}
