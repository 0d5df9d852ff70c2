//! # verity-client
//!
//! A typed, blocking client for the Verity validator API: every endpoint of the OpenAPI
//! document, transaction submission, and waiting for inclusion and settlement. API errors come
//! back as [`ClientError::Api`] with the server's machine-readable code and sentence.

#![deny(missing_docs)]

mod gateway;
pub use gateway::{GatewayClient, sign_alternatives};

use serde::{Serialize, de::DeserializeOwned};
use std::time::{Duration, Instant};
use verity_api::*;
use verity_ledger::{
    Address, Hash32, Keypair, ModelId, Namespaces, Payload, SignedTransaction, Transaction,
    TxOutcome, TxStatus,
    state::{Call, CallStatus, Model, Node},
};

/// What went wrong talking to a validator.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The API answered with an error.
    #[error("{message} [{code}, HTTP {status}]")]
    Api {
        /// HTTP status.
        status: u16,
        /// Machine-readable code.
        code: String,
        /// Explanation.
        message: String,
    },
    /// No answer.
    #[error("cannot reach {url}: {reason}; is `verity devnet` running?")]
    Unreachable {
        /// Base URL.
        url: String,
        /// Cause.
        reason: String,
    },
    /// An answer that is not what the API documents.
    #[error("unexpected answer from {0}")]
    Decode(String),
    /// Waited too long.
    #[error("gave up waiting: {0}")]
    Timeout(String),
}

impl ClientError {
    /// The API error code, if the API answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Result of a client call.
pub type Result<T> = std::result::Result<T, ClientError>;

/// A client of one validator's API.
#[derive(Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

/// Which calls to list.
#[derive(Clone, Copy, Debug)]
pub enum CallFilter {
    /// Paid by this caller.
    Caller(Address),
    /// Served by this node.
    Node(Address),
    /// Of this model.
    Model(ModelId),
}

impl Client {
    /// A client of the API at `url` (e.g. `http://127.0.0.1:7070`).
    pub fn new(url: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self {
            base: url.trim_end_matches('/').to_string(),
            agent,
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn answer<T: DeserializeOwned>(
        &self,
        path: &str,
        r: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T> {
        let mut response = r.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| ClientError::Decode(format!("{path}: {e}")))?;
        if status >= 400 {
            let err: ApiError = serde_json::from_str(&text)
                .map_err(|_| ClientError::Decode(format!("{path}: HTTP {status}: {text}")))?;
            return Err(ClientError::Api {
                status,
                code: err.code,
                message: err.message,
            });
        }
        serde_json::from_str(&text).map_err(|e| ClientError::Decode(format!("{path}: {e}: {text}")))
    }

    /// GET `path` (with query) and decode the answer.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let r = self.agent.get(format!("{}{path}", self.base)).call();
        self.answer(path, r)
    }

    /// POST `body` as JSON to `path` and decode the answer.
    pub fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let r = self
            .agent
            .post(format!("{}{path}", self.base))
            .send_json(body);
        self.answer(path, r)
    }

    /// Chain status.
    pub fn status(&self) -> Result<Status> {
        self.get("/v1/status")
    }

    /// Protocol parameters.
    pub fn params(&self) -> Result<ParamsView> {
        self.get("/v1/params")
    }

    /// An account.
    pub fn account(&self, address: &Address) -> Result<AccountView> {
        self.get(&format!("/v1/accounts/{address}"))
    }

    /// Registered models.
    pub fn models(&self) -> Result<Vec<Model>> {
        self.get("/v1/models")
    }

    /// One model.
    pub fn model(&self, id: &ModelId) -> Result<Model> {
        self.get(&format!("/v1/models/{id}"))
    }

    /// A model's integer program, as stored on the ledger.
    pub fn program(&self, model: &ModelId) -> Result<verity_ledger::state::ProgramRecord> {
        self.get(&format!("/v1/models/{model}/program"))
    }

    /// Audits not yet closed.
    pub fn audits(&self) -> Result<Vec<verity_ledger::state::Audit>> {
        self.get("/v1/audits")
    }

    /// One audit with its revealed input.
    pub fn audit(&self, id: &Hash32) -> Result<verity_api::AuditView> {
        self.get(&format!("/v1/audits/{id}"))
    }

    /// Registered nodes.
    pub fn nodes(&self) -> Result<Vec<Node>> {
        self.get("/v1/nodes")
    }

    /// One node.
    pub fn node(&self, address: &Address) -> Result<Node> {
        self.get(&format!("/v1/nodes/{address}"))
    }

    /// One call.
    pub fn call(&self, id: &Hash32) -> Result<Call> {
        self.get(&format!("/v1/calls/{id}"))
    }

    /// Calls matching `filter`, newest first.
    pub fn calls(&self, filter: CallFilter, limit: usize) -> Result<Page<Call>> {
        let q = match filter {
            CallFilter::Caller(a) => format!("caller={a}"),
            CallFilter::Node(a) => format!("node={a}"),
            CallFilter::Model(m) => format!("model={m}"),
        };
        self.get(&format!("/v1/calls?{q}&order=desc&limit={limit}"))
    }

    /// Events, newest first, optionally filtered by `query` (e.g. `account=verity1…`).
    pub fn events(&self, query: Option<&str>, limit: usize) -> Result<Page<EventView>> {
        let filter = query.map(|q| format!("{q}&")).unwrap_or_default();
        self.get(&format!("/v1/events?{filter}order=desc&limit={limit}"))
    }

    /// One block.
    pub fn block(&self, height: u64) -> Result<BlockView> {
        self.get(&format!("/v1/blocks/{height}"))
    }

    /// Latest blocks.
    pub fn blocks(&self, limit: usize) -> Result<Vec<BlockView>> {
        self.get(&format!("/v1/blocks?limit={limit}"))
    }

    /// A transaction's state.
    pub fn tx(&self, hash: &Hash32) -> Result<TxView> {
        self.get(&format!("/v1/txs/{hash}"))
    }

    /// Submit a signed transaction.
    pub fn submit(&self, tx: &SignedTransaction) -> Result<Submitted> {
        self.submit_raw(&tx.encode())
    }

    /// Submit already-encoded transaction bytes.
    pub fn submit_raw(&self, bytes: &[u8]) -> Result<Submitted> {
        self.post(
            "/v1/txs",
            &SubmitTx {
                tx: hex::encode(bytes),
            },
        )
    }

    /// Wait until the transaction is in a finalized block; its outcome.
    pub fn wait_tx(&self, hash: &Hash32, timeout: Duration) -> Result<TxOutcome> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.tx(hash)? {
                TxView::Included(outcome) => return Ok(outcome),
                TxView::Pending { .. } if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                TxView::Pending { .. } => {
                    return Err(ClientError::Timeout(format!(
                        "transaction {hash} still pending"
                    )));
                }
            }
        }
    }

    /// Sign `payload` with `key` (next nonce, required fee, this chain's namespace), submit it and
    /// wait for its block. A transaction that is rejected or fails is an
    /// [`ClientError::Api`] error carrying the ledger's code and message.
    pub fn execute(&self, key: &Keypair, payload: Payload, timeout: Duration) -> Result<TxOutcome> {
        let nonce = self.account(&key.address())?.next_nonce;
        let fee = self.params()?.params.required_fee(payload.call_count());
        let namespaces = Namespaces::new(&self.status()?.chain_id);
        let tx = Transaction {
            signer: key.public(),
            nonce,
            fee,
            payload,
        }
        .sign(key, &namespaces);
        let hash = self.submit(&tx)?.hash;
        let outcome = self.wait_tx(&hash, timeout)?;
        match &outcome.status {
            TxStatus::Applied => Ok(outcome),
            TxStatus::Failed { code, message } | TxStatus::Rejected { code, message } => {
                Err(ClientError::Api {
                    status: 422,
                    code: code.clone(),
                    message: format!("transaction {hash} did not apply: {message}"),
                })
            }
        }
    }

    /// Wait until the call has settled; the settled call.
    pub fn wait_settled(&self, id: &Hash32, timeout: Duration) -> Result<Call> {
        let deadline = Instant::now() + timeout;
        loop {
            let call = self.call(id)?;
            if matches!(call.status, CallStatus::Settled { .. }) {
                return Ok(call);
            }
            if Instant::now() >= deadline {
                return Err(ClientError::Timeout(format!("call {id} not settled yet")));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
