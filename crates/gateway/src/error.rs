//! Errors: why the gateway cannot start ([`GatewayError`]) and how a request is refused
//! ([`Failure`]).
//!
//! Every refused request is answered with a 4xx/5xx status and an [`ApiError`] body: a stable
//! machine-readable `code` and a sentence saying what is wrong and how to fix it. 4xx means the
//! caller can fix the request; 5xx means the gateway, the ledger or every node failed.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use verity_api::ApiError;

/// Why the gateway could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A setting is unusable.
    #[error("invalid gateway configuration: {0}")]
    Config(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}; is another gateway running? pick another port")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The HTTP client for provider nodes could not be built.
    #[error("cannot build the HTTP client for provider nodes: {0}")]
    HttpClient(String),
    /// The HTTP server failed.
    #[error("the gateway's HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// An error answer: HTTP status plus [`ApiError`] body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// HTTP status.
    pub status: StatusCode,
    /// The body.
    pub error: ApiError,
}

impl Failure {
    /// A failure with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            error: ApiError {
                code: code.into(),
                message: message.into(),
            },
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 503 because the ledger has never been read (or the view is otherwise unavailable).
    pub fn ledger_unavailable(url: &str, reason: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ledger_unavailable",
            format!(
                "the gateway cannot read the ledger at {url} ({reason}); start a validator \
                 with `verity devnet` or point the gateway at one"
            ),
        )
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, Json(self.error)).into_response()
    }
}
