//! Receipt batches: the node's claim to be paid for calls it served.
//!
//! Each call is judged on its own; a refused call does not affect the others. Checks, in order:
//! the receipt names this ticket; the ticket names the submitting node; the caller's key is
//! known; a tee-mode call's node has an attested enclave key; both signatures verify (a tee-mode
//! receipt under the enclave key, every other under the node's own key) (all signatures of the batch in one batch verification); the
//! ticket has not expired, does not outlive the protocol's ticket lifetime, and was answered
//! before expiry; the price is within the cap; the ticket was never used before, and no other
//! ticket of the same caller with the same nonce was (in state or earlier in this batch); the model exists and allows the mode; the node offers the model in
//! that mode; the caller's escrow covers the price.
//!
//! The nonce rule lets a caller sign *alternative* tickets for one logical call, one per candidate
//! node, so that a gateway can retry another node when one fails: at most one of them is ever
//! paid.
//!
//! An accepted call moves the price from the caller's escrow to the call record. A zk-mode call
//! then waits for its proof (`ProofDue`, until the proof window closes); any other call is
//! pending, joins the settlement queue and is sampled for audit at the next block
//! ([`crate::audit`]). A jailed node's batches are refused whole.

use crate::{
    StateRead,
    crypto::{self, SignedMessage},
    error::{CallRefusal, TxError},
    events::{Event, EventRecord},
    execute::Ctx,
    fifo,
    outcome::CallVerdict,
    state::*,
    tx::PaidCall,
    types::*,
};
use std::collections::{HashMap, HashSet};

/// Tickets accepted earlier in the batch being judged.
#[derive(Default)]
struct Used {
    calls: HashSet<CallId>,
    nonces: HashSet<(Address, u64)>,
}

pub(crate) fn submit<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    submitter: Address,
    calls: &[PaidCall],
    events: &mut Vec<EventRecord>,
) -> Result<Vec<CallVerdict>, TxError> {
    let mut node: Node = ov
        .get(&node_key(&submitter))
        .ok_or(TxError::UnknownNode(submitter))?;
    if node.stake < ctx.params.min_stake {
        return Err(TxError::StakeBelowMinimum {
            got: node.stake,
            min: ctx.params.min_stake,
        });
    }
    if node.jailed_until_ms > ctx.time_ms {
        return Err(TxError::Jailed {
            node: submitter,
            until_ms: node.jailed_until_ms,
        });
    }
    let node_public = ov
        .get::<Account>(&account_key(&submitter))
        .and_then(|a| a.public_key)
        .expect("the submitter signed this transaction, so its key is recorded");

    let ids: Vec<CallId> = calls.iter().map(|c| c.ticket.id()).collect();
    let mut refused: Vec<Option<CallRefusal>> = vec![None; calls.len()];
    let mut caller_keys: HashMap<Address, Option<PublicKeyBytes>> = HashMap::new();
    let mut keys: Vec<Option<PublicKeyBytes>> = Vec::with_capacity(calls.len());
    for (i, call) in calls.iter().enumerate() {
        let caller = call.ticket.caller;
        let key = *caller_keys.entry(caller).or_insert_with(|| {
            ov.get::<Account>(&account_key(&caller))
                .and_then(|a| a.public_key)
        });
        keys.push(key);
        refused[i] = if call.receipt.ticket != ids[i] {
            Some(CallRefusal::ReceiptMismatch {
                ticket: ids[i],
                receipt_ticket: call.receipt.ticket,
            })
        } else if call.ticket.node != submitter {
            Some(CallRefusal::WrongNode {
                ticket_node: call.ticket.node,
                submitter,
            })
        } else if key.is_none() {
            Some(CallRefusal::UnknownCaller { caller })
        } else if call.ticket.mode == Mode::Tee && node.enclave_key.is_none() {
            Some(CallRefusal::NoEnclave)
        } else {
            None
        };
    }

    check_signatures(ctx, calls, &keys, &node_public, &node, &mut refused);

    let mut used = Used::default();
    let mut models: HashMap<ModelId, Option<Model>> = HashMap::new();
    let mut refereeable: HashMap<ModelId, bool> = HashMap::new();
    let mut cursor: QueueCursor = ov.get(QUEUE_KEY).unwrap_or_default();
    let mut verdicts = Vec::with_capacity(calls.len());
    for (i, call) in calls.iter().enumerate() {
        let verdict = match refused[i].take() {
            Some(r) => Err(r),
            None => {
                let model = models
                    .entry(call.ticket.model)
                    .or_insert_with(|| ov.get(&model_key(&call.ticket.model)));
                check_call(ctx, call, ids[i], &node, model.as_ref(), &used, ov)
            }
        };
        let verdict = verdict.and_then(|royalty_bps| {
            let caller_key = account_key(&call.ticket.caller);
            let mut caller: Account = ov.get(&caller_key).unwrap_or_default();
            if caller.escrow < call.receipt.price {
                return Err(CallRefusal::InsufficientEscrow {
                    caller: call.ticket.caller,
                    available: caller.escrow,
                    price: call.receipt.price,
                });
            }
            caller.escrow -= call.receipt.price;
            ov.put(&caller_key, &caller);
            Ok(royalty_bps)
        });
        match verdict {
            Ok(royalty_bps) => {
                let zk = call.ticket.mode == Mode::Zk;
                let (settle_after_ms, status) = if zk {
                    let deadline_ms = ctx.time_ms.saturating_add(ctx.params.zk.proof_window_ms);
                    (deadline_ms, CallStatus::ProofDue { deadline_ms })
                } else {
                    (
                        ctx.time_ms.saturating_add(ctx.params.challenge_window_ms),
                        CallStatus::Pending,
                    )
                };
                let audit_rate_ppm = if zk {
                    0
                } else {
                    let model = call.ticket.model;
                    let refereeable = *refereeable.entry(model).or_insert_with(|| {
                        ov.get::<ProgramRecord>(&program_key(&model))
                            .is_some_and(|p| p.macs <= ctx.params.audit.referee_max_macs)
                    });
                    audit_rate(ctx, refereeable, &node, call)
                };
                let record = Call {
                    id: ids[i],
                    caller: call.ticket.caller,
                    node: submitter,
                    model: call.ticket.model,
                    mode: call.ticket.mode,
                    input_hash: call.ticket.input_hash,
                    output_hash: call.receipt.output_hash,
                    price: call.receipt.price,
                    royalty_bps,
                    audit_rate_ppm,
                    receipt_time_ms: call.receipt.time_ms,
                    accepted_height: ctx.height,
                    settle_after_ms,
                    status,
                    split: None,
                };
                ov.put(&call_key(&ids[i]), &record);
                ov.put(
                    &ticket_nonce_key(&call.ticket.caller, call.ticket.nonce),
                    &ids[i],
                );
                if zk {
                    fifo::PROOFS.push(ov, settle_after_ms, ids[i]);
                } else {
                    ov.put(&queue_key(cursor.tail), &ids[i]);
                    cursor.tail += 1;
                    fifo::UNSAMPLED.push(ov, ctx.time_ms, ids[i]);
                }
                node.served += 1;
                used.calls.insert(ids[i]);
                used.nonces.insert((call.ticket.caller, call.ticket.nonce));
                events.push(ctx.record(Event::CallAccepted {
                    call: ids[i],
                    caller: record.caller,
                    node: submitter,
                    model: record.model,
                    mode: record.mode,
                    price: record.price,
                    settle_after_ms,
                }));
                verdicts.push(CallVerdict {
                    call: ids[i],
                    refused: None,
                });
            }
            Err(reason) => verdicts.push(CallVerdict {
                call: ids[i],
                refused: Some(reason),
            }),
        }
    }
    ov.put(QUEUE_KEY, &cursor);
    ov.put(&node_key(&submitter), &node);
    Ok(verdicts)
}

/// The audit rate of an accepted call (see [`crate::audit`]): 0 when the ledger could not
/// referee it (its model has no program, or one above the referee's size limit; looked up once
/// per model and batch, since programs can be megabytes).
fn audit_rate(ctx: &Ctx<'_>, refereeable: bool, node: &Node, call: &PaidCall) -> u32 {
    if !refereeable {
        return 0;
    }
    let slash = crate::slashing::slash_amount(&ctx.params.slashing, node, Offence::AuditMismatch);
    ctx.params.audit_rate_ppm(
        call.ticket.mode,
        call.receipt.price,
        slash,
        crate::audit::on_probation(node),
    )
}

/// Verify every ticket and receipt signature not already refused, in one batch.
fn check_signatures(
    ctx: &Ctx<'_>,
    calls: &[PaidCall],
    keys: &[Option<PublicKeyBytes>],
    node_public: &PublicKeyBytes,
    node: &Node,
    refused: &mut [Option<CallRefusal>],
) {
    let live: Vec<usize> = (0..calls.len()).filter(|&i| refused[i].is_none()).collect();
    let ticket_bytes: Vec<Vec<u8>> = live
        .iter()
        .map(|&i| calls[i].ticket.signing_bytes())
        .collect();
    let receipt_bytes: Vec<Vec<u8>> = live
        .iter()
        .map(|&i| calls[i].receipt.signing_bytes())
        .collect();
    let mut messages = Vec::with_capacity(live.len() * 2);
    for (n, &i) in live.iter().enumerate() {
        messages.push(SignedMessage {
            namespace: &ctx.ns.ticket,
            message: &ticket_bytes[n],
            key: keys[i].as_ref().expect("unknown callers were refused"),
            signature: &calls[i].ticket_signature,
        });
        // Tee-mode receipts are signed inside the enclave, by its attested key.
        let receipt_key = match calls[i].ticket.mode {
            Mode::Tee => node
                .enclave_key
                .as_ref()
                .expect("refused above without one"),
            _ => node_public,
        };
        messages.push(SignedMessage {
            namespace: &ctx.ns.receipt,
            message: &receipt_bytes[n],
            key: receipt_key,
            signature: &calls[i].receipt_signature,
        });
    }
    let ok = crypto::verify_all(&messages);
    for (n, &i) in live.iter().enumerate() {
        if !ok[2 * n] {
            refused[i] = Some(CallRefusal::BadTicketSignature);
        } else if !ok[2 * n + 1] {
            refused[i] = Some(CallRefusal::BadReceiptSignature);
        }
    }
}

/// The state checks of one call; on success, the royalty rate it will settle at.
fn check_call<S: StateRead>(
    ctx: &Ctx<'_>,
    call: &PaidCall,
    id: CallId,
    node: &Node,
    model: Option<&Model>,
    used: &Used,
    ov: &mut Overlay<'_, S>,
) -> Result<Bps, CallRefusal> {
    let t = &call.ticket;
    let now = ctx.time_ms;
    if now > t.expiry_ms {
        return Err(CallRefusal::Expired {
            expiry_ms: t.expiry_ms,
            now_ms: now,
        });
    }
    if t.expiry_ms - now > ctx.params.max_ticket_lifetime_ms {
        return Err(CallRefusal::LifetimeTooLong {
            expiry_ms: t.expiry_ms,
            now_ms: now,
            max_ms: ctx.params.max_ticket_lifetime_ms,
        });
    }
    if call.receipt.time_ms > t.expiry_ms {
        return Err(CallRefusal::AnsweredAfterExpiry {
            time_ms: call.receipt.time_ms,
            expiry_ms: t.expiry_ms,
        });
    }
    if call.receipt.price > t.price_cap {
        return Err(CallRefusal::PriceAboveCap {
            price: call.receipt.price,
            cap: t.price_cap,
        });
    }
    if used.calls.contains(&id) || ov.contains(&call_key(&id)) {
        return Err(CallRefusal::Duplicate { call: id });
    }
    if used.nonces.contains(&(t.caller, t.nonce))
        || ov.contains(&ticket_nonce_key(&t.caller, t.nonce))
    {
        return Err(CallRefusal::NonceUsed {
            caller: t.caller,
            nonce: t.nonce,
        });
    }
    let model = model.ok_or(CallRefusal::UnknownModel { model: t.model })?;
    if !model.modes.contains(&t.mode) {
        return Err(CallRefusal::ModeNotSupported {
            model: t.model,
            mode: t.mode,
        });
    }
    if !node.models.contains(&t.model) || node.price(t.mode).is_none() {
        return Err(CallRefusal::NotOffered {
            model: t.model,
            mode: t.mode,
        });
    }
    if t.mode == Mode::Zk && model.zk_key.is_none() {
        return Err(CallRefusal::NoZkKey { model: t.model });
    }
    Ok(model.royalty_bps)
}
