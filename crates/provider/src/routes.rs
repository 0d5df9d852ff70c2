//! The node's HTTP API.
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/infer` | an `InferResponse` for a JSON `InferRequest`; refusals in [`crate::checks`] |
//! | `GET /health` | [`Health`](crate::Health) as JSON |
//! | `GET /metrics` | the counters of [`crate::metrics`] in the Prometheus text format |
//! | `GET /v1/blobs/{id}` | the files of the models this node holds, for other nodes to fetch |
//!
//! Every error answer is an `ApiError` JSON body; unknown paths answer 404 `no_such_route`.
//!
//! A served call's receipt is signed and durably queued before the answer is sent: an answer
//! always carries a receipt the node will submit, and a call whose receipt could not be queued
//! is answered with an error and no output.

use crate::{
    checks::{self, Context},
    error::CallError,
    fault,
    metrics::OTHER_MODEL,
    queue::StoredInput,
    state::{ServedModel, Shared, now_ms},
    zk,
};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use std::{
    sync::{Arc, atomic::Ordering},
    time::Instant,
};
use verity_api::{InferRequest, InferResponse, OutputValues};
use verity_hub::BlobStore;
use verity_ledger::{Mode, PaidCall, Receipt};

/// The router of a running node.
pub(crate) fn router(node: Arc<Shared>, blobs: Arc<BlobStore>) -> Router {
    let body_limit = checks::max_body_bytes(&node.limits);
    Router::new()
        .route("/v1/infer", post(infer))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/proving", get(proving))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(node)
        .merge(verity_hub::router(blobs))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
}

/// Counts a call as in flight from the shutdown check until it is answered.
struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn infer(State(node): State<Arc<Shared>>, body: Result<Bytes, BytesRejection>) -> Response {
    let mut model = None;
    let result = serve(&node, body, &mut model).await;
    let label = model
        .as_ref()
        .map_or(OTHER_MODEL, |m: &Arc<ServedModel>| m.label.as_str());
    match result {
        Ok(answer) => {
            node.metrics.call(label, "ok");
            Json(answer).into_response()
        }
        Err(e) => {
            node.metrics.call(label, e.code);
            if e.status.is_server_error() {
                tracing::warn!(code = e.code, message = %e.message, "call failed");
            } else {
                tracing::debug!(code = e.code, message = %e.message, "call refused");
            }
            e.into_response()
        }
    }
}

/// The checks of [`crate::checks`] in order, the run, the receipt.
async fn serve(
    node: &Shared,
    body: Result<Bytes, BytesRejection>,
    served_model: &mut Option<Arc<ServedModel>>,
) -> Result<InferResponse, CallError> {
    node.in_flight.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight(node);
    if node.shutting_down.load(Ordering::SeqCst) {
        return Err(CallError::unavailable(
            "shutting_down",
            "this node is shutting down; send the call to another node",
        ));
    }
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            CallError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "the request body is over this node's limit of {} bytes; send a smaller input (at most {} bytes of tensor or image data)",
                    checks::max_body_bytes(&node.limits),
                    node.limits.max_input_bytes
                ),
            )
        } else {
            CallError::bad_request(
                "malformed_body",
                format!("the request body could not be read: {}", rejection.body_text()),
            )
        }
    })?;
    let request: InferRequest = serde_json::from_slice(&bytes).map_err(|e| {
        CallError::bad_request(
            "malformed_body",
            format!(
                "the body must be the JSON of an InferRequest {{ticket, ticket_signature, caller_key, input}}: {e}"
            ),
        )
    })?;
    let ctx = Context {
        node: node.address,
        chain_id: &node.chain_id,
        ns: &node.ns,
        models: &node.models,
        prices: &node.prices,
        now_ms: now_ms(),
        min_remaining_ms: node.min_ticket_remaining_ms,
        block_time_ms: node.ledger.block_time_ms(),
        max_lifetime_ms: node.params.max_ticket_lifetime_ms,
    };
    let checked = checks::ticket(&request, &ctx)?;
    *served_model = Some(checked.model.clone());
    let InferRequest {
        ticket,
        ticket_signature,
        input,
        ..
    } = request;
    if let Some(served) = node.queue.served(&checked.id, ticket.caller, ticket.nonce) {
        return Err(checks::already_served(served, &ticket, &checked.id));
    }
    if let Some(escrow) = node.ledger.escrow(ticket.caller).await {
        let queued = node.queue.pending_charges(&ticket.caller);
        checks::escrow(ticket.caller, escrow, queued, checked.price)?;
    }
    let call_mode = ticket.mode;
    if call_mode == Mode::Zk {
        checks::zk_servable(checked.model.zk.is_some(), &input)?;
    }
    if call_mode == Mode::Tee && node.enclave.is_none() {
        return Err(checks::tee_unavailable());
    }
    let admission = node
        .workers
        .admit()
        .ok_or_else(|| checks::overloaded(node.workers.size()))?;
    let model = checked.model.clone();
    let limits = node.limits;
    let image = match input.payload() {
        Ok(verity_api::InputPayload::Image(bytes)) => Some(bytes),
        _ => None,
    };
    let (output, elapsed) = node
        .workers
        .run(admission, move || {
            let start = Instant::now();
            let output = model
                .model
                .prepare(&input, &limits)
                .map_err(verity_inference::InferError::from)
                .and_then(|x| {
                    let out = model.model.run(&x, model.model.serving_path())?;
                    Ok((x, out))
                });
            (output, start.elapsed())
        })
        .await
        .map_err(|panic| {
            CallError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "model_failed",
                format!("the model crashed on this input ({panic}); the call was not charged"),
            )
        })?;
    node.metrics
        .infer_time(&checked.model.label, elapsed.as_secs_f64());
    let (tensor, mut output) = output.map_err(|e| checks::inference(&e))?;
    if fault::corrupts(node.corrupt_ppm, &checked.id) {
        fault::corrupt(&mut output);
    }
    let receipt = Receipt {
        ticket: checked.id,
        output_hash: output.hash(),
        price: checked.price,
        time_ms: now_ms(),
    };
    let signer = match call_mode {
        Mode::Tee => node
            .enclave
            .as_ref()
            .expect("tee calls are refused without an enclave"),
        _ => &node.key,
    };
    let receipt_signature = receipt.sign(signer, &node.ns);
    let call = PaidCall {
        ticket,
        ticket_signature,
        receipt: receipt.clone(),
        receipt_signature,
    };
    let stored = StoredInput {
        tensor: tensor.iter().flat_map(|v| v.to_le_bytes()).collect(),
        image,
    };
    let stored_tensor = stored.tensor.clone();
    if let Err(e) = node.queue.push(call.clone(), stored).await {
        return Err(checks::push(e, &call.ticket, &checked.id));
    }
    if let (Mode::Zk, Some((program, key)), OutputValues::I32 { values, .. }) =
        (call.ticket.mode, &checked.model.zk, &output.values)
    {
        let job = zk::Job {
            call: checked.id,
            program: program.clone(),
            key: key.clone(),
            tensor: stored_tensor,
            output: values.clone(),
        };
        if node
            .prover
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .is_err()
        {
            tracing::error!(call = %checked.id, "the prover thread has stopped; this zk call will not be proved");
        }
    }
    if node.queue.len() >= node.batch_limit {
        node.batch_ready.notify_one();
    }
    Ok(InferResponse {
        call_id: checked.id,
        node: node.address,
        label: output.argmax().map(|i| i as u32),
        output,
        receipt,
        receipt_signature,
        compute_us: elapsed.as_micros() as u64,
    })
}

async fn health(State(node): State<Arc<Shared>>) -> Response {
    Json(node.health()).into_response()
}

async fn metrics(State(node): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        node.metrics
            .render(node.queue.len(), node.proving.view().total_seconds),
    )
        .into_response()
}

async fn proving(State(node): State<Arc<Shared>>) -> Json<verity_api::ProvingView> {
    Json(node.proving.view())
}

async fn no_route() -> CallError {
    CallError::new(
        StatusCode::NOT_FOUND,
        "no_such_route",
        "no such route; a provider node serves POST /v1/infer, GET /health, GET /metrics, GET /v1/proving and GET /v1/blobs/{id}",
    )
}

async fn wrong_method() -> CallError {
    CallError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "wrong method for this route; calls are POST /v1/infer, everything else is GET",
    )
}
