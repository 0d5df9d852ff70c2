//! # verity-provider
//!
//! The provider node daemon: it serves paid inference calls over HTTP, answers each with the
//! output and a signed receipt, and gets paid by submitting the receipts to the ledger in
//! batches.
//!
//! ## A call, as the node sees it
//! 1. `POST /v1/infer` carries a caller-signed ticket and the input. The checks of [`checks`]
//!    run in their documented order; the first failure answers with a stable code, and a refused
//!    call changes nothing.
//! 2. The model runs on a bounded pool of blocking threads ([`workers`]).
//! 3. The node signs a receipt (call id, output hash, its price for the mode, its clock) and
//!    commits the paid call to the durable queue ([`queue`]) **before** it answers.
//! 4. The batcher ([`batcher`]) submits queued calls as `SubmitReceipts` transactions and
//!    removes each call once the ledger has judged it.
//!
//! ## Start and stop
//! [`start`] checks the configuration, opens the queue, loads the models, registers or updates
//! the node on the ledger ([`startup`]), then serves. [`ProviderHandle::shutdown`] refuses new
//! calls (`shutting_down`), lets calls in flight finish, submits everything queued (at most
//! [`ProviderConfig::drain_timeout`]) and closes the queue. Dropping a [`ProviderHandle`]
//! without shutting down stops the node at once, as a crash would: queued receipts stay in
//! the queue and the next start with the same data directory submits them.
//!
//! ## Invariants
//! - Every answer carrying an output carries a receipt that is durably queued.
//! - A call leaves the queue only after the ledger judged it (accepted or refused), so a crash
//!   can cause a resubmission, which the ledger refuses as `duplicate`, but never a loss.
//! - The node submits one batch at a time, in account-nonce order.
//! - The node serves a ticket, and a caller's ticket nonce, at most once (remembered until a
//!   minute after the ticket's expiry), because the ledger pays each at most once.
//! - Everything a caller sends is bounded: body size, input bytes, image pixels, waiting calls,
//!   queued receipts.
//!
//! ## Routes
//! See [`routes`]: `POST /v1/infer`, `GET /health`, `GET /metrics` ([`metrics`]) and
//! `GET /v1/blobs/{id}`, which lets other nodes fetch the models this node holds.

#![deny(missing_docs)]

pub mod batcher;
pub mod checks;
pub mod config;
mod error;
pub mod fault;
mod ledger;
pub mod metrics;
pub mod proving;
pub mod queue;
pub mod routes;
pub mod startup;
mod state;
pub mod tee;
pub mod workers;
pub mod zk;

pub use config::ProviderConfig;
pub use error::ProviderError;
pub use metrics::ReceiptTotals;
pub use queue::QueueError;
pub use state::{Health, ModelHealth, Submission};
pub use verity_inference::Limits;

use crate::{
    batcher::Batcher,
    ledger::Ledger,
    metrics::Metrics,
    queue::ReceiptQueue,
    state::{ServedModel, Shared},
    workers::Workers,
};
use std::{
    collections::HashMap,
    future::Future,
    net::SocketAddr,
    sync::{Arc, Mutex, atomic::Ordering},
    time::Duration,
};
use tokio::{
    sync::{Notify, oneshot, watch},
    task::JoinHandle,
    time::Instant,
};
use verity_client::Client;
use verity_hub::BlobStore;
use verity_ledger::{Address, Namespaces};

/// Longest wait for the HTTP server to close its connections at shutdown.
const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// What a graceful shutdown achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShutdownSummary {
    /// What the ledger made of this node's receipts since it started.
    pub receipts: ReceiptTotals,
    /// Calls left in the queue (submitted at the next start); 0 when the drain completed.
    pub left_queued: usize,
}

/// The node's background tasks.
struct Tasks {
    server: JoinHandle<()>,
    stop_server: oneshot::Sender<()>,
    batcher: JoinHandle<()>,
    drain: watch::Sender<bool>,
    watcher: JoinHandle<()>,
}

/// A running provider node.
pub struct ProviderHandle {
    addr: SocketAddr,
    endpoint: String,
    node: Arc<Shared>,
    drain_timeout: Duration,
    tasks: Option<Tasks>,
}

impl ProviderHandle {
    /// The address the HTTP API is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint registered on the ledger.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The node's ledger address (its operator account, which signs receipts).
    pub fn address(&self) -> Address {
        self.node.address
    }

    /// What `GET /health` answers now.
    pub fn health(&self) -> Health {
        self.node.health()
    }

    /// Stop gracefully: refuse new calls, let calls in flight finish, submit every queued
    /// receipt (for at most the configured drain timeout), stop serving and close the queue.
    pub async fn shutdown(mut self) -> ShutdownSummary {
        let tasks = self.tasks.take().expect("tasks run until shutdown or drop");
        let deadline = Instant::now() + self.drain_timeout;
        let node = self.node.clone();
        node.shutting_down.store(true, Ordering::SeqCst);
        tracing::info!(
            queued = node.queue.len(),
            "shutting down: draining the receipt queue"
        );
        while node.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = tasks.drain.send(true);
        let mut batcher = tasks.batcher;
        if tokio::time::timeout_at(deadline, &mut batcher)
            .await
            .is_err()
        {
            batcher.abort();
            tracing::warn!(
                left = node.queue.len(),
                "drain timed out; the queued receipts are submitted at the next start"
            );
        }
        let _ = tasks.stop_server.send(());
        let mut server = tasks.server;
        if tokio::time::timeout(SERVER_STOP_TIMEOUT, &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
        tasks.watcher.abort();
        let left_queued = node.queue.len();
        let closing = node.clone();
        let _ = tokio::task::spawn_blocking(move || closing.queue.close()).await;
        let summary = ShutdownSummary {
            receipts: node.metrics.totals(),
            left_queued,
        };
        tracing::info!(?summary, "provider node stopped");
        summary
    }
}

impl Drop for ProviderHandle {
    /// Without [`ProviderHandle::shutdown`]: stop every task at once and close the queue,
    /// leaving queued receipts for the next start.
    fn drop(&mut self) {
        if let Some(tasks) = self.tasks.take() {
            tasks.server.abort();
            tasks.batcher.abort();
            tasks.watcher.abort();
            self.node.queue.close();
        }
    }
}

/// Start a provider node: check the configuration, open the receipt queue, load the models,
/// register or update the node on the ledger, then serve and submit receipts in the background.
pub async fn start(config: ProviderConfig) -> Result<ProviderHandle, ProviderError> {
    config.validate().map_err(ProviderError::Config)?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| ProviderError::DataDir {
        path: config.data_dir.clone(),
        reason: e.to_string(),
    })?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ProviderError::Listen {
            addr: config.listen,
            reason: e.to_string(),
        })?;
    let addr = listener.local_addr().map_err(|e| ProviderError::Listen {
        addr: config.listen,
        reason: e.to_string(),
    })?;
    let endpoint = config.endpoint(addr);
    let blobs =
        Arc::new(
            BlobStore::open(config.blobs_dir()).map_err(|e| ProviderError::DataDir {
                path: config.blobs_dir(),
                reason: e.to_string(),
            })?,
        );
    let queue_path = config.receipts_path();
    let queue = tokio::task::spawn_blocking(move || ReceiptQueue::open(&queue_path))
        .await
        .map_err(|e| ProviderError::Internal(e.to_string()))??;
    let proving_path = config.data_dir.join(proving::PROVING_DB);
    let proving = tokio::task::spawn_blocking(move || proving::ProvingLog::open(&proving_path))
        .await
        .map_err(|e| ProviderError::Internal(e.to_string()))??;
    let proving = Arc::new(proving);
    let client = Client::new(&config.ledger_url);
    let prepared = {
        let (config, endpoint, client, blobs) = (
            config.clone(),
            endpoint.clone(),
            client.clone(),
            blobs.clone(),
        );
        tokio::task::spawn_blocking(move || startup::prepare(&config, &endpoint, &client, &blobs))
            .await
            .map_err(|e| ProviderError::Internal(e.to_string()))??
    };
    let models: HashMap<_, _> = prepared
        .models
        .into_iter()
        .map(|m: ServedModel| (m.id, Arc::new(m)))
        .collect();
    let batch_limit = batcher::batch_limit(config.batch_max_calls, &prepared.params);
    let min_ticket_remaining_ms =
        2 * config.batch_interval.as_millis() as u64 + checks::SUBMISSION_MARGIN_MS;
    let metrics = Arc::new(Metrics::default());
    let proofs = zk::Ready::default();
    let prover = zk::start(proofs.clone(), metrics.clone(), proving.clone());
    let node = Arc::new(Shared {
        address: config.key.address(),
        ns: Namespaces::new(&prepared.chain_id),
        key: config.key,
        chain_id: prepared.chain_id,
        params: prepared.params,
        models,
        prices: config.prices,
        limits: config.limits,
        corrupt_ppm: config.corrupt_ppm,
        enclave: prepared.enclave,
        prover: Mutex::new(prover),
        proofs,
        min_ticket_remaining_ms,
        batch_limit,
        queue,
        proving,
        ledger: Arc::new(Ledger::new(client, prepared.block_time_ms)),
        workers: Workers::new(config.workers),
        metrics,
        batch_ready: Notify::new(),
        shutting_down: Default::default(),
        in_flight: Default::default(),
        last_submission: Mutex::new(None),
    });
    let (stop_server, stop) = oneshot::channel::<()>();
    let app = routes::router(node.clone(), blobs);
    let server = tokio::spawn(async move {
        let stopped = async {
            let _ = stop.await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(error = %e, "the HTTP server failed");
        }
    });
    let (drain, drain_rx) = watch::channel(false);
    let batcher = tokio::spawn(Batcher::new(node.clone(), config.batch_interval).run(drain_rx));
    let watcher = tokio::spawn(ledger::watch(node.ledger.clone()));
    tracing::info!(
        node = %node.address,
        %addr,
        %endpoint,
        chain = %node.chain_id,
        models = node.models.len(),
        queued = node.queue.len(),
        batch_limit,
        "provider node serving"
    );
    Ok(ProviderHandle {
        addr,
        endpoint,
        node,
        drain_timeout: config.drain_timeout,
        tasks: Some(Tasks {
            server,
            stop_server,
            batcher,
            drain,
            watcher,
        }),
    })
}

/// Run a provider node until `shutdown` completes, then stop it gracefully; for
/// `verity node run`.
pub async fn run(
    config: ProviderConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<ShutdownSummary, ProviderError> {
    let handle = start(config).await?;
    shutdown.await;
    Ok(handle.shutdown().await)
}
