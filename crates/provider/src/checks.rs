//! The checks a call passes on its way to the model, in order. The first that fails answers,
//! and a refused call changes nothing: no queue entry, no charge, no served-ticket record.
//!
//! | # | code | status | refused when |
//! |---|---|---|---|
//! | 1 | `shutting_down` | 503 | the node is draining its queue before it stops |
//! | 2 | `body_too_large` | 413 | the body is over [`max_body_bytes`] |
//! | 3 | `malformed_body` | 400 | the body is not the JSON of an `InferRequest` |
//! | 4 | `caller_key_mismatch` | 400 | `caller_key`'s address is not the ticket's caller |
//! | 5 | `bad_ticket_signature` | 403 | the signature does not verify under `caller_key` in this chain's ticket namespace |
//! | 6 | `wrong_node` | 400 | the ticket names another node |
//! | 7 | `unknown_model` | 404 | this node does not serve the ticket's model |
//! | 8 | `mode_not_offered` | 400 | this node has no price for the ticket's mode |
//! | 9 | `price_cap_below_price` | 400 | the ticket's cap is below this node's price for the mode |
//! | 10 | `ticket_expired` | 400 | the expiry is before the node's clock |
//! | 11 | `ticket_expires_too_soon` | 400 | the expiry is less than 2 × batch interval + 5 s after the node's clock: too soon to be sure the receipt reaches the ledger in time |
//! | 12 | `ticket_lifetime_too_long` | 400 | the expiry is more than the ledger's `max_ticket_lifetime_ms` after the last block time seen (the ledger would refuse the receipt) |
//! | 13 | `bad_encoding`, `input_hash_mismatch` | 400 | the input's base64 does not decode; the input does not hash to the ticket's `input_hash` |
//! | 14 | `duplicate_ticket`, `nonce_used` | 409 | this node served this ticket, or another of the caller's tickets with the same nonce (the ledger pays one) |
//! | 15 | `insufficient_escrow` | 402 | the caller's escrow (read from the ledger, at most 1 s old) minus this node's queued charges to the caller is below the price |
//! | 16 | `overloaded` | 503 | every worker is busy and the waiting line is full |
//! | 17 | the model's input codes | 400, 422 | `wrong_shape`, `wrong_dtype`, `bad_encoding`, `input_too_large`, `image_too_large` (400); `non_finite_input`, `corrupt_image`, `non_finite_output` (422) |
//! | 18 | `model_failed`, other run failures | 500 | the node failed to run the model |
//! | 19 | `queue_full`, `storage_error` | 503, 500 | the receipt could not be queued durably; the output is withheld |
//!
//! Times are judged with the node's clock, except the lifetime limit, which the ledger judges
//! against block time. Checks 4–13 are pure functions of the request and a `Context`.

use crate::{
    error::CallError,
    queue::{PushError, QueueError, Served},
    state::ServedModel,
};
use axum::http::StatusCode;
use std::{collections::HashMap, sync::Arc};
use verity_api::InferRequest;
use verity_inference::{InferError, Limits, RunError};
use verity_ledger::{
    Address, Amount, CallId, ModePrice, ModelId, Namespaces, Ticket, TimeMs, crypto,
};

/// Fixed part of the least time a ticket must have left (on top of two batch intervals).
pub const SUBMISSION_MARGIN_MS: TimeMs = 5_000;

/// Largest request body: four bytes of JSON per input byte (a tensor's JSON numbers) plus room
/// for the ticket.
pub fn max_body_bytes(limits: &Limits) -> usize {
    limits
        .max_input_bytes
        .saturating_mul(4)
        .saturating_add(16 << 10)
}

/// What the pure checks judge against.
pub(crate) struct Context<'a> {
    /// This node.
    pub node: Address,
    /// The chain's id (for messages).
    pub chain_id: &'a str,
    /// The chain's signing namespaces.
    pub ns: &'a Namespaces,
    /// Models served.
    pub models: &'a HashMap<ModelId, Arc<ServedModel>>,
    /// The node's prices.
    pub prices: &'a [ModePrice],
    /// The node's clock.
    pub now_ms: TimeMs,
    /// Least time a ticket must have left.
    pub min_remaining_ms: TimeMs,
    /// Last block time seen.
    pub block_time_ms: TimeMs,
    /// The ledger's `max_ticket_lifetime_ms`.
    pub max_lifetime_ms: TimeMs,
}

/// A ticket that passed checks 4–13.
pub(crate) struct Checked {
    /// Its call id.
    pub id: CallId,
    /// The model to run.
    pub model: Arc<ServedModel>,
    /// This node's price for the call.
    pub price: Amount,
}

fn bad(code: &'static str, message: String) -> CallError {
    CallError::bad_request(code, message)
}

/// Checks 4–13 of the table above.
pub(crate) fn ticket(req: &InferRequest, ctx: &Context<'_>) -> Result<Checked, CallError> {
    let t = &req.ticket;
    let key_address = Address::of_key(&req.caller_key);
    if key_address != t.caller {
        return Err(bad(
            "caller_key_mismatch",
            format!(
                "caller_key {} belongs to {key_address}, but the ticket's caller is {}; send the public key of the account that signed the ticket",
                req.caller_key, t.caller
            ),
        ));
    }
    if !crypto::verify(
        &req.caller_key,
        &ctx.ns.ticket,
        &t.signing_bytes(),
        &req.ticket_signature,
    ) {
        return Err(CallError::new(
            StatusCode::FORBIDDEN,
            "bad_ticket_signature",
            format!(
                "the ticket signature does not verify under caller key {} on chain {}; sign the exact ticket with the caller's key and this chain's id",
                req.caller_key, ctx.chain_id
            ),
        ));
    }
    if t.node != ctx.node {
        return Err(bad(
            "wrong_node",
            format!(
                "the ticket is for node {}, but this is node {}; sign a ticket naming this node, or send it to its node",
                t.node, ctx.node
            ),
        ));
    }
    let Some(model) = ctx.models.get(&t.model) else {
        let mut served: Vec<String> = ctx.models.keys().map(|m| m.to_string()).collect();
        served.sort();
        return Err(CallError::new(
            StatusCode::NOT_FOUND,
            "unknown_model",
            format!(
                "this node does not serve model {}; it serves {}; send the call to a node serving the model",
                t.model,
                served.join(", ")
            ),
        ));
    };
    let Some(price) = ctx
        .prices
        .iter()
        .find(|p| p.mode == t.mode)
        .map(|p| p.price)
    else {
        let offered: Vec<String> = ctx.prices.iter().map(|p| p.mode.to_string()).collect();
        return Err(bad(
            "mode_not_offered",
            format!(
                "this node does not offer {} mode; it offers {}; sign the ticket for one of those",
                t.mode,
                offered.join(", ")
            ),
        ));
    };
    if t.price_cap < price {
        return Err(bad(
            "price_cap_below_price",
            format!(
                "the ticket's price cap {} is below this node's price {price} for {} mode; raise the cap to at least {price}",
                t.price_cap, t.mode
            ),
        ));
    }
    expiry(t, ctx)?;
    let input_hash = req
        .input
        .hash()
        .map_err(|reason| bad("bad_encoding", reason))?;
    if input_hash != t.input_hash {
        return Err(bad(
            "input_hash_mismatch",
            format!(
                "the input hashes to {input_hash}, but the ticket's input_hash is {}; sign the ticket over this exact input",
                t.input_hash
            ),
        ));
    }
    Ok(Checked {
        id: t.id(),
        model: model.clone(),
        price,
    })
}

/// Checks 10–12.
fn expiry(t: &Ticket, ctx: &Context<'_>) -> Result<(), CallError> {
    if t.expiry_ms < ctx.now_ms {
        return Err(bad(
            "ticket_expired",
            format!(
                "the ticket expired at {} and the node's clock reads {}; sign a new ticket with a later expiry",
                t.expiry_ms, ctx.now_ms
            ),
        ));
    }
    let earliest = ctx.now_ms.saturating_add(ctx.min_remaining_ms);
    if t.expiry_ms < earliest {
        return Err(bad(
            "ticket_expires_too_soon",
            format!(
                "the ticket expires at {}, {} ms from now; this node needs at least {} ms to get the receipt to the ledger; sign the ticket with an expiry of at least {earliest}",
                t.expiry_ms,
                t.expiry_ms - ctx.now_ms,
                ctx.min_remaining_ms
            ),
        ));
    }
    let latest = ctx.block_time_ms.saturating_add(ctx.max_lifetime_ms);
    if t.expiry_ms > latest {
        return Err(bad(
            "ticket_lifetime_too_long",
            format!(
                "the ticket expires at {}, more than the ledger's longest ticket lifetime of {} ms after the last block time {}; sign the ticket with an expiry of at most {latest}",
                t.expiry_ms, ctx.max_lifetime_ms, ctx.block_time_ms
            ),
        ));
    }
    Ok(())
}

/// Check 14: the answer for a ticket the queue remembers as served.
pub(crate) fn already_served(served: Served, t: &Ticket, id: &CallId) -> CallError {
    match served {
        Served::Ticket => CallError::new(
            StatusCode::CONFLICT,
            "duplicate_ticket",
            format!(
                "this node already served ticket {id}; a ticket pays for one call, so sign a new ticket with a fresh nonce"
            ),
        ),
        Served::Nonce => CallError::new(
            StatusCode::CONFLICT,
            "nonce_used",
            format!(
                "this node already served a ticket of {} with nonce {}; the ledger pays one ticket per nonce, so sign the ticket with a fresh nonce",
                t.caller, t.nonce
            ),
        ),
    }
}

/// Check 15: `escrow` on the ledger less `queued` charges must cover `price`.
pub(crate) fn escrow(
    caller: Address,
    escrow: Amount,
    queued: Amount,
    price: Amount,
) -> Result<(), CallError> {
    let available = escrow.saturating_sub(queued);
    if available < price {
        return Err(CallError::new(
            StatusCode::PAYMENT_REQUIRED,
            "insufficient_escrow",
            format!(
                "caller {caller} has {escrow} in escrow, of which {queued} is owed for calls this node served and has not submitted yet; this call costs {price}; deposit more with `verity tx escrow-deposit`"
            ),
        ));
    }
    Ok(())
}

/// Check 16.
pub(crate) fn overloaded(workers: usize) -> CallError {
    CallError::unavailable(
        "overloaded",
        format!(
            "all {workers} workers of this node are busy and its waiting line is full; retry shortly or send the call to another node"
        ),
    )
}

/// Checks 17–18: an inference error as an answer.
pub(crate) fn inference(e: &InferError) -> CallError {
    let status = match e {
        InferError::Input(input) => match input.code() {
            "non_finite_input" | "corrupt_image" => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        },
        InferError::Run(RunError::NonFiniteOutput { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
        InferError::Run(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    CallError::new(status, e.code(), e.to_string())
}

/// Check 19: why a served call could not be queued.
pub(crate) fn push(e: PushError, t: &Ticket, id: &CallId) -> CallError {
    match e {
        PushError::Duplicate => already_served(Served::Ticket, t, id),
        PushError::NonceUsed => already_served(Served::Nonce, t, id),
        PushError::Full => CallError::unavailable(
            "queue_full",
            format!(
                "this node has {} receipts waiting for the ledger and takes no more calls until they are submitted; retry later or use another node",
                crate::queue::MAX_QUEUED_CALLS
            ),
        ),
        PushError::Failed(QueueError::Closed) => CallError::unavailable(
            "shutting_down",
            "this node is shutting down; send the call to another node",
        ),
        PushError::Failed(e) => CallError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage_error",
            format!(
                "this node could not record the receipt ({e}); the call was not charged; retry or use another node"
            ),
        ),
    }
}

/// A zk-mode call needs a proving key for the model and a tensor input (an image's decoding is
/// outside the proved program, so its proof could not be bound to the ticket's input hash).
/// Refusing here is "cannot serve": no receipt, no charge, never slashed.
pub(crate) fn zk_servable(has_key: bool, input: &verity_api::CallInput) -> Result<(), CallError> {
    if !has_key {
        return Err(CallError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "zk_unavailable",
            "this node has no proving key for the model's zk mode; choose another mode or node"
                .to_string(),
        ));
    }
    if matches!(input, verity_api::CallInput::Image { .. }) {
        return Err(CallError::bad_request(
            "zk_needs_tensor",
            "zk mode proves the integer program on a tensor: send the decoded input values \
             (`verity call --input values.json`), not an image"
                .to_string(),
        ));
    }
    Ok(())
}

/// A tee-mode call on a node without an attested enclave key: "cannot serve".
pub(crate) fn tee_unavailable() -> CallError {
    CallError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "tee_unavailable",
        "this node has no attested enclave key; choose another mode or node".to_string(),
    )
}
