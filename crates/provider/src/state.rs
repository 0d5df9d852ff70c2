//! What the HTTP handlers and the receipt batcher share while the node runs.

use crate::{ledger::Ledger, metrics::Metrics, queue::ReceiptQueue, workers::Workers};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize},
    },
    time::{SystemTime, UNIX_EPOCH},
};
use tokio::sync::Notify;
use verity_api::ExecPath;
use verity_inference::{Limits, LoadedModel};
use verity_ledger::{Address, Hash32, Keypair, ModePrice, ModelId, Namespaces, Params, TimeMs};

/// A model loaded for serving.
pub(crate) struct ServedModel {
    /// Its id.
    pub id: ModelId,
    /// Its id as a metrics label.
    pub label: String,
    /// The loaded model.
    pub model: LoadedModel,
    /// Its integer program and proving key, when this node can prove its zk-mode calls.
    pub zk: Option<(
        Arc<verity_quant::Program>,
        Arc<verity_zk::groth16::ProvingKey>,
    )>,
}

/// The outcome of the batcher's last attempt, as `/health` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// Node clock when the attempt finished.
    pub time_ms: TimeMs,
    /// The transaction, when one was sent.
    pub tx: Option<Hash32>,
    /// Calls accepted.
    pub accepted: usize,
    /// Calls refused.
    pub refused: usize,
    /// Why the attempt failed (the calls stay queued), if it did.
    pub error: Option<String>,
}

/// A model as `/health` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelHealth {
    /// The model.
    pub id: ModelId,
    /// The executor its calls run on.
    pub serving_path: ExecPath,
}

/// `GET /health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The node's address.
    pub node: Address,
    /// The chain.
    pub chain_id: String,
    /// Models loaded.
    pub models: Vec<ModelHealth>,
    /// Calls waiting for receipt submission.
    pub queue: usize,
    /// The batcher's last attempt.
    pub last_submission: Option<Submission>,
    /// Whether the last request to the ledger was answered.
    pub ledger_reachable: bool,
    /// Whether the node is draining and refusing calls.
    pub shutting_down: bool,
}

/// The running node's state.
pub(crate) struct Shared {
    /// Seconds spent proving, per day, durable.
    pub proving: Arc<crate::proving::ProvingLog>,
    /// Signs receipts and receipt batches.
    pub key: Keypair,
    /// `key`'s address.
    pub address: Address,
    /// The chain's id.
    pub chain_id: String,
    /// The chain's signing namespaces.
    pub ns: Namespaces,
    /// The chain's protocol parameters.
    pub params: Params,
    /// The models served.
    pub models: HashMap<ModelId, Arc<ServedModel>>,
    /// The node's price per mode.
    pub prices: Vec<ModePrice>,
    /// Input limits.
    pub limits: Limits,
    /// Outputs corrupted per million calls (fault injection; 0 normally).
    pub corrupt_ppm: u32,
    /// The attested enclave key that signs tee-mode receipts, when the node serves tee mode.
    pub enclave: Option<Keypair>,
    /// The prover thread's queue.
    pub prover: Mutex<std::sync::mpsc::Sender<crate::zk::Job>>,
    /// Proofs made, waiting for submission.
    pub proofs: crate::zk::Ready,
    /// Least time a ticket must have left before expiry to be served.
    pub min_ticket_remaining_ms: TimeMs,
    /// Most calls per receipt batch.
    pub batch_limit: usize,
    /// Served calls waiting for submission.
    pub queue: ReceiptQueue,
    /// The ledger link.
    pub ledger: Arc<Ledger>,
    /// The inference pool.
    pub workers: Workers,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Wakes the batcher when a full batch is queued.
    pub batch_ready: Notify,
    /// Set once shutdown starts: calls are refused from then on.
    pub shutting_down: AtomicBool,
    /// Calls past the shutdown check and not yet answered.
    pub in_flight: AtomicUsize,
    /// The batcher's last attempt.
    pub last_submission: Mutex<Option<Submission>>,
}

impl Shared {
    /// Record the batcher's last attempt.
    pub fn set_last_submission(&self, s: Submission) {
        *self
            .last_submission
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(s);
    }

    /// The `/health` answer.
    pub fn health(&self) -> Health {
        let mut models: Vec<ModelHealth> = self
            .models
            .values()
            .map(|m| ModelHealth {
                id: m.id,
                serving_path: m.model.serving_path(),
            })
            .collect();
        models.sort_by_key(|m| m.id);
        Health {
            node: self.address,
            chain_id: self.chain_id.clone(),
            models,
            queue: self.queue.len(),
            last_submission: self
                .last_submission
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            ledger_reachable: self.ledger.reachable(),
            shutting_down: self
                .shutting_down
                .load(std::sync::atomic::Ordering::Acquire),
        }
    }
}

/// The node's clock, in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> TimeMs {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as TimeMs)
}
