//! `POST /v1/call`: serve one logical call from a list of alternative tickets.
//!
//! # Checking the request
//! Before any node is contacted, the request is refused with 400 when:
//! `no_tickets` (none), `too_many_tickets` (more than `2 · max_candidates`), `mixed_tickets`
//! (the tickets differ in caller, model, mode, nonce or input hash: alternatives of one call
//! share all five and differ only in node, cap and expiry), `caller_key_mismatch`
//! (`caller_key` is not the key of the tickets' caller), `invalid_input` (the input does not
//! decode), `input_hash_mismatch` (the input does not hash to the tickets' `input_hash`),
//! `bad_ticket_signature` (a ticket is not signed by `caller_key` under this chain's ticket
//! namespace); then `unknown_model` (404) and `mode_not_supported` (400) as for quotes.
//!
//! # Trying the tickets
//! Tickets are tried one at a time, in the caller's order. A ticket is skipped without
//! contacting its node when the registry view says the node cannot be paid for it
//! (`unknown_node`, `stake_below_minimum`, `not_offered`, `price_above_cap`). Otherwise the
//! node gets an `InferRequest` and its answer is classified by [`crate::forward`]:
//! - a node failure (`node_unavailable`, `node_error`) or an answer the ledger would not pay
//!   (`bad_receipt`) is recorded, puts the node in cooldown, and the next ticket is tried;
//! - a 4xx refusal is returned to the caller at once with the node's status and code: the
//!   ticket or input is at fault and another node would refuse it too;
//! - a checked answer ends the call: the caller gets the output and receipt, the itemized
//!   price, the attempts given up on, and the URL to follow settlement.
//!
//! When every ticket failed the answer is 502 `all_nodes_failed`, listing the attempts. No node
//! returned a receipt, so the caller is not charged. The one exception is a node that timed out
//! yet finished and submits its receipt anyway; because the alternatives share one nonce the
//! ledger pays at most one of them, so a caller never pays twice for one logical call.

use crate::{
    error::Failure,
    forward::{self, Outcome},
    metrics::CallResult,
    observe::Finish,
    pricing,
    registry::View,
    service::Gateway,
};
use axum::http::StatusCode;
use std::time::Instant;
use verity_api::{CallRequest, CallResponse, FailedAttempt, InferRequest, SignedTicket};
use verity_ledger::{Address, Mode, crypto, state::Model};

/// What came of trying one ticket.
enum Attempt {
    Served(Box<CallResponse>),
    Refused(Failure),
    Failed(FailedAttempt),
}

impl Gateway {
    /// Serve `request` (see the module documentation).
    pub async fn call(&self, request: CallRequest) -> Result<CallResponse, Failure> {
        let view = self.view().inspect_err(|_| {
            self.metrics.call(CallResult::Unavailable);
        })?;
        let model = validate(&request, self.config.max_tickets(), &view)
            .and_then(|()| {
                let ticket = &request.tickets[0].ticket;
                Self::model(&view, &ticket.model, ticket.mode)
            })
            .inspect_err(|f| {
                tracing::debug!(code = %f.error.code, "call refused: {}", f.error.message);
                self.metrics.call(CallResult::Invalid);
            })?;
        let mut failed: Vec<FailedAttempt> = Vec::new();
        for (i, signed) in request.tickets.iter().enumerate() {
            if i > 0 {
                self.metrics.retry();
            }
            match self.attempt(&view, model, &request, signed).await {
                Attempt::Served(mut response) => {
                    response.failed_attempts = failed;
                    tracing::info!(
                        call = %response.result.call_id,
                        node = %signed.ticket.node,
                        price = response.price.price,
                        failed_attempts = response.failed_attempts.len(),
                        "call served"
                    );
                    self.metrics.call(CallResult::Ok);
                    return Ok(*response);
                }
                Attempt::Refused(failure) => {
                    tracing::info!(
                        node = %signed.ticket.node,
                        code = %failure.error.code,
                        "node refused the call; passing its answer to the caller"
                    );
                    self.metrics.call(CallResult::Refused);
                    return Err(failure);
                }
                Attempt::Failed(attempt) => failed.push(attempt),
            }
        }
        self.metrics.call(CallResult::AllNodesFailed);
        let listed: Vec<String> = failed
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{}. {}: {} ({})", i + 1, a.node, a.code, a.message))
            .collect();
        tracing::warn!(attempts = failed.len(), "every node failed the call");
        Err(Failure::new(
            StatusCode::BAD_GATEWAY,
            "all_nodes_failed",
            format!(
                "no node served the call; you are charged nothing, since no node returned a \
                 receipt (the tickets share one nonce, so at most one is ever paid, even if a \
                 node that timed out answers late). Try again with tickets for other nodes \
                 from GET /v1/quote. Attempts: {}",
                listed.join("; ")
            ),
        ))
    }

    async fn attempt(
        &self,
        view: &View,
        model: &Model,
        request: &CallRequest,
        signed: &SignedTicket,
    ) -> Attempt {
        let ticket = &signed.ticket;
        let skip = |code: &str, message: String| {
            tracing::debug!(node = %ticket.node, code, "ticket skipped: {message}");
            Attempt::Failed(FailedAttempt {
                node: ticket.node,
                code: code.into(),
                message,
            })
        };
        let Some(known) = view.nodes.get(&ticket.node) else {
            return skip(
                "unknown_node",
                format!(
                    "node {} is not registered on the ledger (as of height {})",
                    ticket.node, view.height
                ),
            );
        };
        let node = &known.node;
        if !view.is_bonded(node) {
            return skip(
                "stake_below_minimum",
                format!(
                    "node has {} bonded, below the minimum of {}; the ledger would not pay it",
                    node.stake, view.params.min_stake
                ),
            );
        }
        if !node.models.contains(&ticket.model) {
            return skip(
                "not_offered",
                format!("node does not serve model {}", ticket.model),
            );
        }
        let Some(listed) = node.price(ticket.mode) else {
            return skip(
                "not_offered",
                format!("node does not offer mode {}", ticket.mode),
            );
        };
        if listed > ticket.price_cap {
            return skip(
                "price_above_cap",
                format!(
                    "node charges {listed} in mode {}, above the ticket's cap of {}",
                    ticket.mode, ticket.price_cap
                ),
            );
        }
        // Tee-mode receipts are signed by the node's attested enclave key.
        let receipt_key = match ticket.mode {
            Mode::Tee => node.enclave_key,
            _ => known.public_key,
        };
        let Some(node_key) = receipt_key else {
            return skip(
                "unknown_node",
                "the ledger has no key for this node's receipts in this mode yet, so its \
                 receipt cannot be checked"
                    .into(),
            );
        };
        let infer = InferRequest {
            ticket: ticket.clone(),
            ticket_signature: signed.signature,
            caller_key: request.caller_key,
            input: request.input.clone(),
        };
        let started = Instant::now();
        let in_flight = self.routing.observations.start(ticket.node, ticket.caller);
        let outcome = self.forwarder.infer(&node.endpoint, &infer).await;
        let elapsed = started.elapsed();
        self.metrics.upstream_latency(elapsed);
        let (code, message) = match outcome {
            Outcome::Refused(failure) => {
                in_flight.finish(Finish::Refused);
                return Attempt::Refused(failure);
            }
            Outcome::Failed { code, message } => (code, message),
            Outcome::Answered(answer) => {
                match forward::check_answer(&answer, ticket, &node_key, &view.namespaces) {
                    Ok(()) => {
                        in_flight.finish(Finish::Answered(elapsed));
                        let price = pricing::breakdown(
                            answer.receipt.price,
                            node,
                            ticket.mode,
                            model.royalty_bps,
                            &view.params,
                        );
                        return Attempt::Served(Box::new(CallResponse {
                            status_url: format!("{}/v1/calls/{}", self.public_url, answer.call_id),
                            result: *answer,
                            price,
                            failed_attempts: Vec::new(),
                        }));
                    }
                    Err(reason) => (forward::BAD_RECEIPT, reason),
                }
            }
        };
        in_flight.finish(Finish::Failed);
        tracing::warn!(node = %ticket.node, code, "node failed a call: {message}");
        self.cooldowns.start(ticket.node);
        self.metrics.node_failure(ticket.node, code);
        Attempt::Failed(FailedAttempt {
            node: ticket.node,
            code: code.into(),
            message,
        })
    }
}

/// The request checks of the module documentation, up to the ticket signatures.
fn validate(request: &CallRequest, max_tickets: usize, view: &View) -> Result<(), Failure> {
    let Some(first) = request.tickets.first().map(|t| &t.ticket) else {
        return Err(Failure::bad_request(
            "no_tickets",
            "the call carries no tickets; sign one ticket per candidate node of \
             GET /v1/quote (same nonce for all) and send them in `tickets`",
        ));
    };
    if request.tickets.len() > max_tickets {
        return Err(Failure::bad_request(
            "too_many_tickets",
            format!(
                "the call carries {} tickets; this gateway tries at most {max_tickets}",
                request.tickets.len()
            ),
        ));
    }
    for (i, signed) in request.tickets.iter().enumerate().skip(1) {
        let t = &signed.ticket;
        let differs = [
            ("caller", t.caller != first.caller),
            ("model", t.model != first.model),
            ("mode", t.mode != first.mode),
            ("nonce", t.nonce != first.nonce),
            ("input_hash", t.input_hash != first.input_hash),
        ];
        if let Some((field, _)) = differs.iter().find(|(_, d)| *d) {
            return Err(Failure::bad_request(
                "mixed_tickets",
                format!(
                    "ticket {i} differs from ticket 0 in {field}; alternative tickets for one \
                     call share caller, model, mode, nonce and input hash and differ only in \
                     node (and cap or expiry)"
                ),
            ));
        }
    }
    let key_address = Address::of_key(&request.caller_key);
    if key_address != first.caller {
        return Err(Failure::bad_request(
            "caller_key_mismatch",
            format!(
                "caller_key belongs to {key_address}, but the tickets are from {}; send the \
                 public key of the account that signed the tickets",
                first.caller
            ),
        ));
    }
    let input_hash = request
        .input
        .hash()
        .map_err(|e| Failure::bad_request("invalid_input", e))?;
    if input_hash != first.input_hash {
        return Err(Failure::bad_request(
            "input_hash_mismatch",
            format!(
                "the input hashes to {input_hash}, but the tickets commit to {}; sign the \
                 tickets over this input's hash",
                first.input_hash
            ),
        ));
    }
    for (i, signed) in request.tickets.iter().enumerate() {
        if !crypto::verify(
            &request.caller_key,
            &view.namespaces.ticket,
            &signed.ticket.signing_bytes(),
            &signed.signature,
        ) {
            return Err(Failure::bad_request(
                "bad_ticket_signature",
                format!(
                    "ticket {i} is not signed by caller_key for chain {}; sign it with the \
                     caller's key under this chain's ticket namespace",
                    view.chain_id
                ),
            ));
        }
    }
    Ok(())
}
