//! # verity-api
//!
//! The request and response types of the validator's HTTP JSON API, shared by the server
//! (`verity-node`) and the clients (`verity-client`, the CLI), and the API's OpenAPI document,
//! served at [`OPENAPI_PATH`].
//!
//! Conventions: every path is under `/v1`; amounts are integers in base units; addresses are
//! `verity1…` bech32m strings; hashes and keys are lowercase hex; times are milliseconds since
//! the Unix epoch. Every error response has status 4xx/5xx and an [`ApiError`] body with a
//! stable machine-readable `code` and a sentence saying what is wrong and how to fix it.

#![deny(missing_docs)]

pub mod call;
pub mod exposure;
pub mod proving;
pub use call::*;
pub use exposure::{ExposureView, NodeExposureView};
pub use proving::{ProvingDay, ProvingView};

use serde::{Deserialize, Serialize};
use verity_ledger::{
    Address, Amount, EventRecord, Hash32, Params, TimeMs, TxOutcome,
    state::{Account, Node, Validator},
};

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

/// The OpenAPI 3.1 document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Largest page any list endpoint returns.
pub const MAX_PAGE: usize = 500;

/// An error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code, e.g. `invalid_signature`, `bad_nonce`, `not_found`.
    pub code: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// `GET /v1/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Chain id.
    pub chain_id: String,
    /// Last executed (finalized and committed) height.
    pub height: u64,
    /// State root after that height.
    pub state_root: Hash32,
    /// Digest of that block.
    pub block_digest: Hash32,
    /// Its timestamp.
    pub block_time_ms: TimeMs,
    /// Transactions waiting in this validator's mempool.
    pub mempool: usize,
    /// Size of the validator set.
    pub validators: usize,
    /// Version of the software.
    pub version: String,
}

/// `GET /v1/params`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamsView {
    /// Chain id.
    pub chain_id: String,
    /// Total supply at genesis, fixed.
    pub total_supply: Amount,
    /// Tokens burned since genesis (registration burns, the unrewarded part of equivocation
    /// slashes); `total_supply − burned` is in circulation.
    pub burned: Amount,
    /// Genesis time.
    pub genesis_time_ms: TimeMs,
    /// The protocol treasury account.
    pub treasury: Address,
    /// The verifier/auditor pool account.
    pub verifier_pool: Address,
    /// Protocol parameters, as execution uses them.
    pub params: Params,
    /// The validator set: each validator's key, peer address, remaining stake and whether it
    /// was ever slashed for equivocation.
    #[serde(default)]
    pub validators: Vec<Validator>,
}

/// `POST /v1/txs` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitTx {
    /// The borsh-encoded `SignedTransaction`, hex.
    pub tx: String,
}

/// `POST /v1/txs` answer: accepted into the mempool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// Transaction hash, to poll `GET /v1/txs/{hash}`.
    pub hash: Hash32,
    /// What the transaction would do if executed now (per-call verdicts for receipt batches).
    pub preview: TxOutcome,
}

/// `GET /v1/txs/{hash}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TxView {
    /// Waiting in the mempool.
    Pending {
        /// Hash.
        hash: Hash32,
    },
    /// Executed in a finalized block.
    Included(TxOutcome),
}

/// `GET /v1/accounts/{address}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// Address.
    pub address: Address,
    /// The account (all zero if it never received anything).
    #[serde(flatten)]
    pub account: Account,
    /// The nonce to sign the next transaction with (counts transactions still in the mempool).
    pub next_nonce: u64,
    /// Its provider node, if registered.
    pub node: Option<Node>,
}

/// A page of a list, oldest or newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// Items.
    pub items: Vec<T>,
    /// Pass as `after` (ascending) or `before` (descending) to get the next page.
    pub next: Option<u64>,
}

/// An event with its global sequence number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// Position in the event log.
    pub seq: u64,
    /// The event.
    #[serde(flatten)]
    pub record: EventRecord,
}

/// `GET /v1/blocks/{height}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    /// Height.
    pub height: u64,
    /// Digest.
    pub digest: Hash32,
    /// Parent digest.
    pub parent: Hash32,
    /// Proposer's timestamp.
    pub timestamp_ms: TimeMs,
    /// Height whose state root the block commits to.
    pub state_height: u64,
    /// That root, as carried in the block.
    pub state_root: Hash32,
    /// The state root after executing this block.
    pub executed_root: Hash32,
    /// Transaction hashes in order.
    pub txs: Vec<Hash32>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn openapi_document_is_valid_json_with_every_path() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for path in [
            "/v1/status",
            "/v1/txs",
            "/v1/calls/{id}",
            "/v1/events",
            super::OPENAPI_PATH,
        ] {
            assert!(doc["paths"][path].is_object(), "{path} undocumented");
        }
    }
}

/// `GET /v1/audits/{id}`: an audit and, once revealed, the input it re-executes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    /// The audit.
    pub audit: verity_ledger::state::Audit,
    /// The revealed model input (little-endian f32), once on the ledger.
    pub input: Option<verity_ledger::HexBytes>,
}
