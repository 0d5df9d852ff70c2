//! Forwarding one ticket to a provider node, and judging the answer.
//!
//! # Outcomes
//! The gateway `POST`s an [`InferRequest`] to `{endpoint}/v1/infer` and waits at most
//! `node_timeout` for the whole answer, read up to [`MAX_ANSWER_BYTES`]:
//!
//! | the node … | outcome |
//! |---|---|
//! | cannot be reached, times out, breaks the connection, answers 503 | [`Outcome::Failed`] `node_unavailable` |
//! | answers another 5xx, any non-4xx error status, a body over the limit, an unreadable 2xx body, or a 4xx without an error body | [`Outcome::Failed`] `node_error` |
//! | answers 4xx with an [`ApiError`] body | [`Outcome::Refused`]: the caller's ticket or input is at fault; passed to the caller as is |
//! | answers 2xx with an [`InferResponse`] | [`Outcome::Answered`], to be judged by [`check_answer`] |
//!
//! # Judging an answer
//! A node's answer is returned to the caller only if it is exactly what the ledger will pay
//! for (see [`check_answer`]): it names the ticket's call and node, the receipt names the
//! ticket, commits to the output returned, charges within the ticket's cap, and carries a
//! valid signature by the node's registered key under the chain's receipt namespace. Anything
//! else is `bad_receipt`, and the gateway moves on to the next ticket.

use crate::error::{Failure, GatewayError};
use axum::http::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use std::time::Duration;
use verity_api::{ApiError, InferRequest, InferResponse};
use verity_ledger::{Namespaces, PublicKeyBytes, Ticket, crypto};

/// Largest answer read from a node; a larger one is `node_error`.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// Code of an attempt whose node could not be reached, timed out or was overloaded.
pub const NODE_UNAVAILABLE: &str = "node_unavailable";
/// Code of an attempt whose node answered with a server error or an unreadable answer.
pub const NODE_ERROR: &str = "node_error";
/// Code of an attempt whose node answered with a receipt the ledger would not pay.
pub const BAD_RECEIPT: &str = "bad_receipt";

/// What came of forwarding one ticket.
#[derive(Debug)]
pub enum Outcome {
    /// The node answered (not yet judged).
    Answered(Box<InferResponse>),
    /// The node refused the call for a reason the caller must fix (4xx).
    Refused(Failure),
    /// The node failed; try another.
    Failed {
        /// [`NODE_UNAVAILABLE`] or [`NODE_ERROR`].
        code: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl Outcome {
    fn failed(code: &'static str, message: impl Into<String>) -> Self {
        Outcome::Failed {
            code,
            message: message.into(),
        }
    }
}

/// The HTTP client that talks to provider nodes (plain HTTP, no proxy).
pub struct Forwarder {
    http: reqwest::Client,
    timeout: Duration,
}

impl Forwarder {
    /// A client giving each node at most `timeout` to answer.
    pub fn new(timeout: Duration) -> Result<Self, GatewayError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| GatewayError::HttpClient(e.to_string()))?;
        Ok(Self { http, timeout })
    }

    /// Send `request` to the node at `endpoint` and classify its answer.
    pub async fn infer(&self, endpoint: &str, request: &InferRequest) -> Outcome {
        let url = format!("{}/v1/infer", endpoint.trim_end_matches('/'));
        let body = match serde_json::to_vec(request) {
            Ok(body) => body,
            Err(e) => return Outcome::failed(NODE_ERROR, format!("cannot encode request: {e}")),
        };
        let sent = self
            .http
            .post(&url)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Outcome::failed(NODE_UNAVAILABLE, self.describe(&url, &e)),
        };
        let status = response.status();
        let bytes = match read_limited(response).await {
            Ok(b) => b,
            Err(ReadError::TooLarge) => {
                return Outcome::failed(
                    NODE_ERROR,
                    format!("{url} answered more than {MAX_ANSWER_BYTES} bytes"),
                );
            }
            Err(ReadError::Http(e)) => {
                return Outcome::failed(NODE_UNAVAILABLE, self.describe(&url, &e));
            }
        };
        let node_said = || match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(e) => format!("{} ({})", e.message, e.code),
            Err(_) => String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
        };
        if status.is_success() {
            return match serde_json::from_slice::<InferResponse>(&bytes) {
                Ok(answer) => Outcome::Answered(Box::new(answer)),
                Err(e) => Outcome::failed(
                    NODE_ERROR,
                    format!("{url} answered an unreadable body: {e}"),
                ),
            };
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            return Outcome::failed(
                NODE_UNAVAILABLE,
                format!("{url} is unavailable (HTTP 503): {}", node_said()),
            );
        }
        if status.is_client_error()
            && let Ok(error) = serde_json::from_slice::<ApiError>(&bytes)
        {
            return Outcome::Refused(Failure { status, error });
        }
        Outcome::failed(
            NODE_ERROR,
            format!("{url} failed (HTTP {}): {}", status.as_u16(), node_said()),
        )
    }

    fn describe(&self, url: &str, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            format!("{url} did not answer within {:?}", self.timeout)
        } else if e.is_connect() {
            format!("cannot connect to {url}")
        } else {
            format!("{url}: {e}")
        }
    }
}

enum ReadError {
    TooLarge,
    Http(reqwest::Error),
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, ReadError> {
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_ANSWER_BYTES) {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Http)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether `answer` is a receipt the ledger would pay for `ticket`, signed by `node_key`: the
/// reason if not.
pub fn check_answer(
    answer: &InferResponse,
    ticket: &Ticket,
    node_key: &PublicKeyBytes,
    namespaces: &Namespaces,
) -> Result<(), String> {
    let id = ticket.id();
    let receipt = &answer.receipt;
    if answer.call_id != id || receipt.ticket != id {
        return Err(format!(
            "the answer is for call {} (receipt names {}), not this ticket's call {id}",
            answer.call_id, receipt.ticket
        ));
    }
    if answer.node != ticket.node {
        return Err(format!(
            "the answer claims to come from node {}, the ticket names {}",
            answer.node, ticket.node
        ));
    }
    let output_hash = answer.output.hash();
    if receipt.output_hash != output_hash {
        return Err(format!(
            "the receipt commits to output {}, but the output returned hashes to {output_hash}",
            receipt.output_hash
        ));
    }
    if receipt.price > ticket.price_cap {
        return Err(format!(
            "the receipt charges {}, above the ticket's cap of {}",
            receipt.price, ticket.price_cap
        ));
    }
    if !crypto::verify(
        node_key,
        &namespaces.receipt,
        &receipt.signing_bytes(),
        &answer.receipt_signature,
    ) {
        return Err("the receipt signature is not the node's registered key on this chain".into());
    }
    Ok(())
}
