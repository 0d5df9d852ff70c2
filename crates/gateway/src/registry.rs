//! The registry: the gateway's view of the ledger, refreshed in the background.
//!
//! # Refresh
//! Every `refresh_interval` the registry reads from one validator's API: the chain status
//! (chain id, height, last block time), the protocol parameters, every registered model and
//! node, and the public key of every node it has not seen before (from the node's account; a
//! node's registration is a transaction it signed, so its key is on the ledger). A key is kept
//! only if it hashes to the node's address, and kept for good, since an address has exactly one
//! key. A complete read replaces the [`View`] at once; a failed read keeps the last good view,
//! logs a warning (once per outage) and shows in `/health`. Requests never wait for the
//! ledger: they take the current view, which is at most one refresh old.
//!
//! # Eligibility
//! A node may be quoted for a call of `(model, mode)` when its bonded stake is at least
//! `min_stake` and it is not jailed (the ledger refuses receipts from other nodes), it lists the
//! model, and it has a price for the mode. Whether the model allows the mode is checked by the caller of
//! [`View::serving`].

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};
use tokio::sync::watch;
use verity_client::Client;
use verity_ledger::{
    Address, Amount, Mode, ModelId, Namespaces, Params, PublicKeyBytes, TimeMs,
    state::{Model, Node},
};

/// One consistent-enough picture of the ledger, as read by one refresh.
#[derive(Debug)]
pub struct View {
    /// Chain id.
    pub chain_id: String,
    /// The chain's signing namespaces (receipts are checked under `receipt`).
    pub namespaces: Namespaces,
    /// Protocol parameters.
    pub params: Params,
    /// Last executed height.
    pub height: u64,
    /// Time of that block; ticket expiries are judged against block time.
    pub chain_time_ms: TimeMs,
    /// Registered models by id.
    pub models: BTreeMap<ModelId, Model>,
    /// Registered nodes by address.
    pub nodes: BTreeMap<Address, KnownNode>,
}

/// A registered node and, once known, its receipt-signing key.
#[derive(Clone, Debug)]
pub struct KnownNode {
    /// The node as registered.
    pub node: Node,
    /// Its public key; `Some` only if `Address::of_key(key) == node.operator`.
    pub public_key: Option<PublicKeyBytes>,
}

impl View {
    /// Whether the ledger accepts `node`'s receipts: enough stake bonded, not jailed.
    pub fn is_bonded(&self, node: &Node) -> bool {
        node.stake >= self.params.min_stake && node.jailed_until_ms <= self.chain_time_ms
    }

    /// Every bonded node listing `model` with a price for `mode`, with that price, in address
    /// order.
    pub fn serving(
        &self,
        model: &ModelId,
        mode: Mode,
    ) -> impl Iterator<Item = (&KnownNode, Amount)> {
        self.nodes.values().filter_map(move |known| {
            let node = &known.node;
            if !self.is_bonded(node) || !node.models.contains(model) {
                return None;
            }
            node.price(mode).map(|price| (known, price))
        })
    }
}

/// How the last refreshes went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryHealth {
    /// Whether the last refresh succeeded.
    pub ledger_reachable: bool,
    /// Time since the last successful refresh, if any.
    pub last_refresh_age: Option<Duration>,
    /// Why the last refresh failed, if it did.
    pub last_error: Option<String>,
}

#[derive(Default)]
struct State {
    view: Option<Arc<View>>,
    last_success: Option<Instant>,
    last_error: Option<String>,
}

struct Shared {
    client: Client,
    state: RwLock<State>,
    keys: Mutex<HashMap<Address, PublicKeyBytes>>,
}

/// The shared, refreshed view of the ledger. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Registry {
    shared: Arc<Shared>,
}

impl Registry {
    /// A registry reading the validator behind `client`; empty until the first refresh.
    pub fn new(client: Client) -> Self {
        Self {
            shared: Arc::new(Shared {
                client,
                state: RwLock::new(State::default()),
                keys: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The ledger's URL.
    pub fn ledger_url(&self) -> &str {
        self.shared.client.url()
    }

    /// The current view, or `None` if the ledger was never read.
    pub fn view(&self) -> Option<Arc<View>> {
        self.read_state().view.clone()
    }

    /// How the refreshes are going.
    pub fn health(&self) -> RegistryHealth {
        let state = self.read_state();
        RegistryHealth {
            ledger_reachable: state.view.is_some() && state.last_error.is_none(),
            last_refresh_age: state.last_success.map(|t| t.elapsed()),
            last_error: state.last_error.clone(),
        }
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.shared.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Read the ledger once; on success the new view replaces the old one, on failure the old
    /// one stays. Returns whether it succeeded.
    pub async fn refresh(&self) -> bool {
        let shared = self.shared.clone();
        let fetched = tokio::task::spawn_blocking(move || shared.fetch())
            .await
            .unwrap_or_else(|e| Err(format!("the refresh task failed: {e}")));
        let mut state = self.shared.state.write().unwrap_or_else(|e| e.into_inner());
        match fetched {
            Ok(view) => {
                if state.last_error.is_some() {
                    tracing::info!(ledger = %self.ledger_url(), "ledger reachable again");
                }
                tracing::debug!(
                    height = view.height,
                    models = view.models.len(),
                    nodes = view.nodes.len(),
                    "registry refreshed"
                );
                state.view = Some(Arc::new(view));
                state.last_success = Some(Instant::now());
                state.last_error = None;
                true
            }
            Err(reason) => {
                if state.last_error.is_none() {
                    tracing::warn!(
                        ledger = %self.ledger_url(),
                        "registry refresh failed; serving the last good view: {reason}"
                    );
                }
                state.last_error = Some(reason);
                false
            }
        }
    }

    /// Refresh every `interval` until `stop` changes or its sender is dropped.
    pub async fn run(self, interval: Duration, mut stop: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    self.refresh().await;
                }
                _ = stop.changed() => return,
            }
        }
    }
}

impl Shared {
    /// One complete read of the ledger (blocking).
    fn fetch(&self) -> Result<View, String> {
        let text = |e: verity_client::ClientError| e.to_string();
        let status = self.client.status().map_err(text)?;
        let params = self.client.params().map_err(text)?;
        let models = self.client.models().map_err(text)?;
        let nodes = self.client.nodes().map_err(text)?;
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        for node in &nodes {
            if keys.contains_key(&node.operator) {
                continue;
            }
            let account = self.client.account(&node.operator).map_err(text)?;
            match account.account.public_key {
                Some(key) if Address::of_key(&key) == node.operator => {
                    keys.insert(node.operator, key);
                }
                _ => tracing::warn!(
                    node = %node.operator,
                    "the ledger has no valid public key for this node; its receipts cannot be checked"
                ),
            }
        }
        Ok(View {
            namespaces: Namespaces::new(&status.chain_id),
            chain_id: status.chain_id,
            params: params.params,
            height: status.height,
            chain_time_ms: status.block_time_ms,
            models: models.into_iter().map(|m| (m.id, m)).collect(),
            nodes: nodes
                .into_iter()
                .map(|node| {
                    let public_key = keys.get(&node.operator).copied();
                    (node.operator, KnownNode { node, public_key })
                })
                .collect(),
        })
    }
}
