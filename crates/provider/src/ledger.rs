//! The node's link to the ledger: a validator's JSON API through the blocking
//! [`verity_client::Client`], every request on a blocking thread.
//!
//! What the request path needs from the ledger is never fetched while a caller waits longer than
//! [`ESCROW_LOOKUP_TIMEOUT`]:
//! - the last block time, for the ticket-lifetime check, is refreshed by [`watch`] every
//!   [`STATUS_INTERVAL`], which also keeps [`Ledger::reachable`] current for `/health`;
//! - a caller's escrow is read on demand and cached for [`ESCROW_TTL`]; a lookup that fails or
//!   takes too long yields `None`, and the call is served without the escrow check (the ledger
//!   still refuses an unfunded call at submission).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use verity_client::{Client, ClientError};
use verity_ledger::{Address, Amount, TimeMs};

/// How often the watcher reads the chain status.
pub const STATUS_INTERVAL: Duration = Duration::from_millis(500);
/// How long a caller's escrow balance is reused.
pub const ESCROW_TTL: Duration = Duration::from_secs(1);
/// Longest a call waits for an escrow lookup.
pub const ESCROW_LOOKUP_TIMEOUT: Duration = Duration::from_secs(1);
/// Cached escrows beyond this many are dropped when stale.
const MAX_CACHED_ESCROWS: usize = 4_096;

/// The link and what it last learned.
pub(crate) struct Ledger {
    client: Client,
    block_time_ms: AtomicU64,
    reachable: AtomicBool,
    escrows: Mutex<HashMap<Address, (Instant, Amount)>>,
}

impl Ledger {
    /// A link through `client`, starting from a known block time.
    pub fn new(client: Client, block_time_ms: TimeMs) -> Self {
        Self {
            client,
            block_time_ms: AtomicU64::new(block_time_ms),
            reachable: AtomicBool::new(true),
            escrows: Mutex::new(HashMap::new()),
        }
    }

    /// The ledger's base URL.
    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// Run `f` with the client on a blocking thread; records whether the ledger answered.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Client) -> verity_client::Result<T> + Send + 'static,
    ) -> verity_client::Result<T> {
        let client = self.client.clone();
        let result = tokio::task::spawn_blocking(move || f(&client))
            .await
            .unwrap_or_else(|e| {
                Err(ClientError::Unreachable {
                    url: self.url().to_string(),
                    reason: e.to_string(),
                })
            });
        self.reachable.store(
            !matches!(result, Err(ClientError::Unreachable { .. })),
            Ordering::Release,
        );
        result
    }

    /// Time of the last block seen.
    pub fn block_time_ms(&self) -> TimeMs {
        self.block_time_ms.load(Ordering::Acquire)
    }

    /// Whether the last request reached the ledger.
    pub fn reachable(&self) -> bool {
        self.reachable.load(Ordering::Acquire)
    }

    /// Read the chain status once.
    pub async fn refresh(&self) {
        match self.call(|c| c.status()).await {
            Ok(status) => {
                self.block_time_ms
                    .fetch_max(status.block_time_ms, Ordering::AcqRel);
            }
            Err(e) => tracing::debug!(error = %e, "chain status unavailable"),
        }
    }

    /// `caller`'s escrow on the ledger, at most [`ESCROW_TTL`] old; `None` when the ledger
    /// cannot tell in time.
    pub async fn escrow(&self, caller: Address) -> Option<Amount> {
        if let Some((at, escrow)) = self.cached(&caller)
            && at.elapsed() < ESCROW_TTL
        {
            return Some(escrow);
        }
        let lookup = self.call(move |c| c.account(&caller));
        match tokio::time::timeout(ESCROW_LOOKUP_TIMEOUT, lookup).await {
            Ok(Ok(view)) => {
                let mut cache = self.escrows.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= MAX_CACHED_ESCROWS {
                    cache.retain(|_, (at, _)| at.elapsed() < ESCROW_TTL);
                }
                cache.insert(caller, (Instant::now(), view.account.escrow));
                Some(view.account.escrow)
            }
            Ok(Err(e)) => {
                tracing::warn!(%caller, error = %e, "escrow lookup failed; serving without the escrow check");
                None
            }
            Err(_) => {
                tracing::warn!(%caller, "escrow lookup timed out; serving without the escrow check");
                None
            }
        }
    }

    fn cached(&self, caller: &Address) -> Option<(Instant, Amount)> {
        self.escrows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(caller)
            .copied()
    }
}

/// Refresh the chain status every [`STATUS_INTERVAL`], forever.
pub(crate) async fn watch(ledger: Arc<Ledger>) {
    loop {
        tokio::time::sleep(STATUS_INTERVAL).await;
        ledger.refresh().await;
    }
}
