//! Transactions of the verification protocol: storing a model's integer program, revealing
//! sampled inputs and reporting audits. Each applies in full or not at all; every refusal names
//! the item and the reason.

use crate::{
    StateRead,
    audit::{self, decode_tensor},
    crypto,
    error::TxError,
    events::{Event, EventRecord},
    execute::Ctx,
    state::*,
    tx::{AuditReport, Reveal},
    types::*,
};
use verity_quant::Program;

/// `SetProgram`: the owner stores the model's integer program.
///
/// The program must decode (every invariant of the format holds), take as many values as the
/// model's input spec and give as many as `output_shape`. The ledger cannot compile ONNX, so it
/// trusts the owner that the program is the model's; nodes compile the ONNX file themselves and
/// serve a model only when their program's hash equals the one on the ledger.
pub(crate) fn set_program<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    sender: Address,
    model: &ModelId,
    bytes: &[u8],
    output_shape: &[u32],
    events: &mut Vec<EventRecord>,
) -> Result<(), TxError> {
    let mut m = crate::handlers::owned_model(ov, model, sender)?;
    let program = Program::decode(bytes).map_err(|e| TxError::InvalidProgram(e.to_string()))?;
    let input_len: u64 = m.input.shape.iter().map(|&d| u64::from(d)).product();
    if program.input_len() as u64 != input_len {
        return Err(TxError::InvalidProgram(format!(
            "the program takes {} values but the model's input shape {:?} has {input_len}",
            program.input_len(),
            m.input.shape
        )));
    }
    let output_len: u64 = output_shape.iter().map(|&d| u64::from(d)).product();
    if program.output_len() as u64 != output_len {
        return Err(TxError::InvalidProgram(format!(
            "the program gives {} values but output_shape {output_shape:?} has {output_len}",
            program.output_len()
        )));
    }
    let hash = Hash32(program.hash());
    ov.put(
        &program_key(model),
        &ProgramRecord {
            hash,
            bytes: HexBytes(bytes.to_vec()),
            output_shape: output_shape.to_vec(),
            macs: program.stats().macs,
        },
    );
    m.program = Some(hash);
    ov.put(&model_key(model), &m);
    events.push(ctx.record(Event::ProgramSet {
        model: *model,
        program: hash,
    }));
    Ok(())
}

/// `RevealInputs`: the audited node reveals the inputs of its sampled calls.
pub(crate) fn reveal_inputs<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    sender: Address,
    reveals: &[Reveal],
    events: &mut Vec<EventRecord>,
) -> Result<(), TxError> {
    for reveal in reveals {
        let mut audit: Audit = ov
            .get(&audit_key(&reveal.call))
            .ok_or(TxError::UnknownAudit(reveal.call))?;
        if audit.node != Some(sender) {
            return Err(TxError::NotPermitted(format!(
                "call {} was not served by {sender}; only the audited node reveals its input",
                reveal.call
            )));
        }
        if !matches!(audit.status, AuditStatus::AwaitingInput { .. }) {
            return Err(TxError::AuditState {
                audit: audit.id,
                expected: "awaiting its input",
            });
        }
        let call: Call = ov.get(&call_key(&audit.call)).expect("audited calls exist");
        let bad = |reason: String| TxError::BadReveal {
            call: call.id,
            reason,
        };
        let hash = match &reveal.image {
            Some(image) => crypto::image_input_hash(image),
            None => crypto::tensor_input_hash(&reveal.tensor),
        };
        if hash != call.input_hash {
            return Err(bad(format!(
                "the {} hashes to {hash}, but the ticket's input_hash is {}",
                if reveal.image.is_some() {
                    "image"
                } else {
                    "tensor"
                },
                call.input_hash
            )));
        }
        let model: Model = ov.get(&model_key(&call.model)).expect("calls have models");
        let len: u64 = model.input.shape.iter().map(|&d| u64::from(d)).product();
        if decode_tensor(&reveal.tensor, len as usize).is_none() {
            return Err(bad(format!(
                "the tensor must be {len} finite little-endian f32 values ({} bytes); got {} bytes",
                4 * len,
                reveal.tensor.len()
            )));
        }
        audit::revealed(ov, ctx, &mut audit, &reveal.tensor, events);
    }
    Ok(())
}

/// `ReportAudits`: a bonded, unjailed node reports re-executed output hashes.
pub(crate) fn report_audits<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    sender: Address,
    reports: &[AuditReport],
    events: &mut Vec<EventRecord>,
) -> Result<(), TxError> {
    let auditor: Node = ov
        .get(&node_key(&sender))
        .ok_or(TxError::UnknownNode(sender))?;
    if auditor.stake < ctx.params.min_stake {
        return Err(TxError::StakeBelowMinimum {
            got: auditor.stake,
            min: ctx.params.min_stake,
        });
    }
    if auditor.jailed_until_ms > ctx.time_ms {
        return Err(TxError::Jailed {
            node: sender,
            until_ms: auditor.jailed_until_ms,
        });
    }
    for report in reports {
        let mut audit: Audit = ov
            .get(&audit_key(&report.audit))
            .ok_or(TxError::UnknownAudit(report.audit))?;
        if !matches!(audit.status, AuditStatus::AwaitingReport { .. }) {
            return Err(TxError::AuditState {
                audit: audit.id,
                expected: "awaiting reports",
            });
        }
        if audit.node == Some(sender) {
            return Err(TxError::NotPermitted(format!(
                "{sender} served call {}; a node cannot audit its own call",
                audit.call
            )));
        }
        audit::reported(ov, ctx, &mut audit, sender, report.output_hash, events);
    }
    Ok(())
}

/// `RegisterEnclave`: a node registers its enclave key with an attestation document, verified
/// against the governance trust policy at the block time (see [`crate::params::TeeParams`]).
pub(crate) fn register_enclave<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    sender: Address,
    document: &[u8],
    events: &mut Vec<EventRecord>,
) -> Result<(), TxError> {
    let mut node: Node = ov
        .get(&node_key(&sender))
        .ok_or(TxError::UnknownNode(sender))?;
    let policy = ctx
        .params
        .tee
        .policy()
        .expect("genesis validated the parameters");
    let refused = |e: String| TxError::Attestation(e);
    let verified = verity_attestation::verify_document(document, &policy, ctx.time_ms)
        .map_err(|e| refused(e.to_string()))?;
    let key = verity_attestation::enclave_key(verified.document.public_key.as_deref())
        .map_err(|e| refused(e.to_string()))?;
    if verified.document.user_data.as_deref() != Some(sender.0.as_slice()) {
        return Err(refused(format!(
            "the document's user_data must be the node's 20-byte address {sender}, so that \
             another node cannot register this enclave; request a new document with it"
        )));
    }
    node.enclave_key = Some(PublicKeyBytes(key));
    ov.put(&node_key(&sender), &node);
    events.push(ctx.record(Event::EnclaveRegistered {
        node: sender,
        enclave_key: PublicKeyBytes(key),
        measurement: verified.measurement as u32,
    }));
    Ok(())
}
