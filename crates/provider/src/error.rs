//! Errors: why a node cannot start ([`ProviderError`]) and why a call is refused
//! ([`CallError`]). Every one names the problem and, where there is one, the fix.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use std::{net::SocketAddr, path::PathBuf};
use verity_api::ApiError;
use verity_ledger::{Address, Amount, Hash32, Mode, ModelId};

/// Why a provider node could not start (or stop cleanly).
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// A setting is unusable on its own.
    #[error("invalid provider configuration: {0}")]
    Config(String),
    /// The ledger did not answer.
    #[error(
        "cannot reach the ledger at {url}: {reason}; start a validator (`verity devnet`) or point the node at one with --ledger-url"
    )]
    LedgerUnreachable {
        /// The ledger URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The ledger answered with an error.
    #[error("the ledger at {url} refused {what}: {reason}")]
    Ledger {
        /// The ledger URL.
        url: String,
        /// What was asked.
        what: String,
        /// Its answer.
        reason: String,
    },
    /// A model to serve is not on the ledger.
    #[error(
        "model {model} is not registered on the ledger; publish it first with `verity model publish <file.onnx>`, or remove it from the models this node serves"
    )]
    ModelNotRegistered {
        /// The model.
        model: ModelId,
    },
    /// The model file could not be found or fetched.
    #[error("cannot get the file of model {model}: {reason}")]
    ModelUnavailable {
        /// The model.
        model: ModelId,
        /// Every source's failure.
        reason: String,
    },
    /// The model file does not load.
    #[error("model {model} cannot be served: {reason} [{code}]")]
    ModelLoad {
        /// The model.
        model: ModelId,
        /// The loader's error code.
        code: &'static str,
        /// The loader's message.
        reason: String,
    },
    /// The file's input differs from what the ledger registered.
    #[error(
        "model {model} takes input {loaded}, but the ledger registers {registered}; republish the model with its real input spec"
    )]
    InputSpecMismatch {
        /// The model.
        model: ModelId,
        /// The file's input.
        loaded: String,
        /// The registered input.
        registered: String,
    },
    /// The node prices a mode that a model cannot be served in.
    #[error(
        "model {model} cannot be served in {mode} mode (it allows {allowed}); remove the price for {mode}, or serve this model from a node that does not offer {mode}"
    )]
    ModeNotAllowed {
        /// The model.
        model: ModelId,
        /// The mode priced.
        mode: Mode,
        /// The modes the model allows (on the ledger and as loaded).
        allowed: String,
    },
    /// The configured stake is below the ledger's minimum.
    #[error(
        "stake {stake} is below the ledger's minimum stake of {min}; configure a stake of at least {min}"
    )]
    StakeTooLow {
        /// Configured.
        stake: Amount,
        /// The ledger's minimum.
        min: Amount,
    },
    /// A registered node whose bonded stake fell below the minimum: its receipts would be refused.
    #[error(
        "node {address} has {stake} bonded, below the minimum stake of {min}; bond at least {short} more with `verity tx bond`"
    )]
    BondedStakeTooLow {
        /// The node.
        address: Address,
        /// Bonded.
        stake: Amount,
        /// The minimum.
        min: Amount,
        /// What is missing.
        short: Amount,
    },
    /// The account cannot pay for the stake, registration burn and fee of a registration.
    #[error(
        "account {address} has a balance of {available}, but registering needs {needed} (stake {stake} + registration burn {burn} + fee {fee}); fund it with `verity tx transfer --to {address} --amount {short}`"
    )]
    InsufficientBalance {
        /// The node's account.
        address: Address,
        /// Its balance.
        available: Amount,
        /// Stake plus burn plus fee.
        needed: Amount,
        /// The stake.
        stake: Amount,
        /// The ledger's `registration_burn`, destroyed at registration.
        burn: Amount,
        /// The fee.
        fee: Amount,
        /// What is missing.
        short: Amount,
    },
    /// A registration or update transaction did not apply.
    #[error("the ledger did not apply {kind} (tx {hash}): {message} [{code}]")]
    TxNotApplied {
        /// Kind of transaction.
        kind: &'static str,
        /// Its hash.
        hash: Hash32,
        /// The ledger's code.
        code: String,
        /// The ledger's message.
        message: String,
    },
    /// The data directory or blob store cannot be used.
    #[error("cannot use {path}: {reason}")]
    DataDir {
        /// The path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The receipt queue cannot be opened.
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    /// A startup step crashed.
    #[error("starting the node failed unexpectedly: {0}")]
    Internal(String),
    /// The listen address cannot be bound.
    #[error(
        "cannot listen on {addr}: {reason}; is another node running there? pick another listen address"
    )]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// What failed.
        reason: String,
    },
}

/// A refused call: HTTP status, stable code and message, answered as an [`ApiError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl CallError {
    /// A refusal with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 503 Service Unavailable.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
}

impl IntoResponse for CallError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ApiError {
                code: self.code.into(),
                message: self.message,
            }),
        )
            .into_response()
    }
}
