//! The replicated application behind consensus: executes finalized blocks with the ledger and
//! commits them to redb, feeds proposals from the mempool, and answers queries.

use crate::{equivocation::ConsensusEvidence, mempool::Mempool};
use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use commonware_codec::{Copying, Decode, Encode};
use commonware_cryptography::Digestible;
use std::{
    collections::HashSet,
    sync::{Arc, RwLock},
    time::Duration,
};
use tokio::sync::watch;
use verity_chain::{Application, Block, BlockLimits};
use verity_ledger::{
    Address, Genesis, Hash32, Keypair, Ledger, Params, Payload, SignedTransaction, Transaction,
    TxStatus,
    events::Subject,
    outcome::{commitment_from_bytes, commitment_to_bytes},
    state::{self, Account},
};
use verity_storage::{Applied, BlockCommit, EventRecord, Store};

/// The last executed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Height.
    pub height: u64,
    /// Digest.
    pub digest: Hash32,
    /// State root after it.
    pub state_root: Hash32,
    /// Its timestamp.
    pub time_ms: u64,
}

/// A monotonic clock: the time since a fixed origin.
pub type MonotonicClock = Arc<dyn Fn() -> Duration + Send + Sync>;

struct Inner {
    ledger: Ledger,
    key: Keypair,
    genesis: Genesis,
    store: Store,
    mempool: Mempool,
    /// The mempool's clock; `None` is the process's monotonic clock.
    clock: Option<MonotonicClock>,
    limits: BlockLimits,
    head: RwLock<Head>,
    heads: watch::Sender<Head>,
}

/// A validator's ledger application. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct ChainApp {
    inner: Arc<Inner>,
}

/// The index key under which receipts of `caller` are listed.
pub fn calls_by_caller_key(a: &Address) -> Vec<u8> {
    [b"cc".as_slice(), &a.0].concat()
}
/// The index key under which receipts served by `node` are listed.
pub fn calls_by_node_key(a: &Address) -> Vec<u8> {
    [b"cn".as_slice(), &a.0].concat()
}
/// The index key under which calls of `model` are listed.
pub fn calls_by_model_key(m: &Hash32) -> Vec<u8> {
    [b"cm".as_slice(), &m.0].concat()
}
/// The index key under which events of one kind are listed.
pub fn kind_key(kind: &str) -> Vec<u8> {
    [b"k".as_slice(), kind.as_bytes()].concat()
}

impl ChainApp {
    /// Open the application over `store`, writing the genesis state if the store is empty.
    /// `namespace` is the consensus namespace, from which the genesis block is derived and
    /// under which evidence of equivocation is checked; `key` is this validator's key, which
    /// signs its reports of equivocation.
    pub fn open(
        store: Store,
        genesis: Genesis,
        namespace: &[u8],
        limits: BlockLimits,
        key: Keypair,
    ) -> Result<Self> {
        Self::open_inner(store, genesis, namespace, limits, key, None)
    }

    /// [`ChainApp::open`] with the mempool reading `clock` (for example a simulation's virtual
    /// clock) instead of the process's monotonic clock.
    pub fn open_with_clock(
        store: Store,
        genesis: Genesis,
        namespace: &[u8],
        limits: BlockLimits,
        key: Keypair,
        clock: MonotonicClock,
    ) -> Result<Self> {
        Self::open_inner(store, genesis, namespace, limits, key, Some(clock))
    }

    fn open_inner(
        store: Store,
        genesis: Genesis,
        namespace: &[u8],
        limits: BlockLimits,
        key: Keypair,
        clock: Option<MonotonicClock>,
    ) -> Result<Self> {
        let verifier = ConsensusEvidence::new(namespace, &genesis)?;
        let ledger = Ledger::with_equivocation_verifier(&genesis.chain_id, Arc::new(verifier));
        let genesis_out = Ledger::genesis(&genesis).map_err(anyhow::Error::msg)?;
        let genesis_block = Block::genesis(namespace, genesis_out.state_root.0);
        let genesis_digest = genesis_block.digest().0;
        match store.head()? {
            None => {
                let commitment = commitment_to_bytes(&genesis_out.commitment);
                store.commit(&BlockCommit {
                    height: 0,
                    digest: genesis_digest,
                    block: &genesis_block.encode(),
                    state_root: genesis_out.state_root.0,
                    commitment: &commitment,
                    changes: &genesis_out.changes,
                    events: &[],
                    txs: &[],
                })?;
            }
            Some(_) => {
                let stored = store.state_root(0)?.context("store has no genesis root")?;
                if stored != genesis_out.state_root.0 {
                    bail!(
                        "the ledger database belongs to another genesis (root {} vs {}); use the data directory it was created with",
                        hex::encode(stored),
                        genesis_out.state_root
                    );
                }
            }
        }
        let stored = store.head()?.context("store has a head after genesis")?;
        let time_ms = match stored.height {
            0 => genesis.genesis_time_ms,
            h => {
                decode_block(&store.block(h)?.context("head block stored")?, &limits)?.timestamp_ms
            }
        };
        let head = Head {
            height: stored.height,
            digest: Hash32(stored.digest),
            state_root: Hash32(stored.state_root),
            time_ms,
        };
        let (heads, _) = watch::channel(head);
        Ok(Self {
            inner: Arc::new(Inner {
                ledger,
                key,
                genesis,
                store,
                mempool: Mempool::default(),
                clock,
                limits,
                head: RwLock::new(head),
                heads,
            }),
        })
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.inner.ledger
    }
    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.inner.genesis
    }
    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    /// The mempool.
    pub fn mempool(&self) -> &Mempool {
        &self.inner.mempool
    }
    /// Block limits.
    pub fn limits(&self) -> &BlockLimits {
        &self.inner.limits
    }
    /// The last executed block.
    pub fn head(&self) -> Head {
        *self.inner.head.read().expect("head lock")
    }
    /// Notifications of each newly executed block.
    pub fn subscribe(&self) -> watch::Receiver<Head> {
        self.inner.heads.subscribe()
    }

    /// Sign a `ReportEquivocation` transaction carrying `evidence` with this validator's key
    /// and queue it, after the dry run `POST /v1/txs` makes; returns its hash. Fails with the
    /// reason the ledger would refuse it (bad evidence, already slashed, an account that
    /// cannot pay the fee…).
    pub fn report_equivocation_evidence(&self, evidence: Vec<u8>) -> Result<Hash32> {
        let inner = &self.inner;
        let sender = inner.key.address();
        let snapshot = inner.store.snapshot()?;
        let params: Params =
            state::read(&snapshot, state::PARAMS_KEY).context("state has no parameters")?;
        let account: Account =
            state::read(&snapshot, &state::account_key(&sender)).unwrap_or_default();
        let nonce = inner
            .mempool
            .next_nonce(&sender)
            .unwrap_or(0)
            .max(account.nonce);
        let payload = Payload::ReportEquivocation { evidence };
        let bytes = Transaction {
            signer: inner.key.public(),
            nonce,
            fee: params.required_fee(payload.call_count()),
            payload,
        }
        .sign(&inner.key, inner.ledger.namespaces())
        .encode();
        let preview = inner
            .ledger
            .check_tx(&snapshot, &bytes, now_ms())
            .map_err(|e| anyhow!("{e}"))?;
        drop(snapshot);
        inner
            .mempool
            .insert(preview.hash, Bytes::from(bytes), sender, nonce)?;
        Ok(preview.hash)
    }

    fn execute(&self, block: &Block, digest: [u8; 32]) -> Result<()> {
        let inner = &self.inner;
        let head = self.head();
        if block.height <= head.height {
            return Ok(());
        }
        if let Some(root) = inner.store.state_root(block.state_height)?
            && root != block.state_root
        {
            bail!(
                "block {} commits to state root {} at height {}, but this validator computed {}: execution diverged",
                block.height,
                hex::encode(block.state_root),
                block.state_height,
                hex::encode(root)
            );
        }
        let snapshot = inner.store.snapshot()?;
        let commitment = snapshot
            .commitment()
            .and_then(|b| commitment_from_bytes(&b))
            .context("store has no state commitment")?;
        let out = inner.ledger.execute_block(
            &snapshot,
            &commitment,
            block.height,
            block.timestamp_ms,
            &block.txs,
        )?;
        drop(snapshot);

        let events: Vec<EventRecord> = out
            .events
            .iter()
            .map(|e| EventRecord {
                bytes: borsh::to_vec(e).expect("encoding to memory cannot fail"),
                index_keys: index_keys(&e.event),
            })
            .collect();
        let mut seen = HashSet::new();
        let mut txs = Vec::with_capacity(out.outcomes.len());
        for o in &out.outcomes {
            // A rejected copy of a transaction never overwrites the record of the original.
            let first = seen.insert(o.hash);
            let duplicate = matches!(o.status, TxStatus::Rejected { .. })
                && (!first || inner.store.tx(&o.hash.0)?.is_some());
            if !duplicate {
                txs.push((o.hash.0, serde_json::to_vec(o)?));
            }
        }
        let commitment = commitment_to_bytes(&out.commitment);
        let applied = inner.store.commit(&BlockCommit {
            height: block.height,
            digest,
            block: &block.encode(),
            state_root: out.state_root.0,
            commitment: &commitment,
            changes: &out.changes,
            events: &events,
            txs: &txs,
        })?;
        if applied == Applied::AlreadyApplied {
            return Ok(());
        }

        inner.mempool.remove(out.outcomes.iter().map(|o| o.hash));
        let senders: HashSet<Address> = out.outcomes.iter().filter_map(|o| o.sender).collect();
        if !senders.is_empty() && !inner.mempool.is_empty() {
            let snapshot = inner.store.snapshot()?;
            inner.mempool.prune(|a| {
                if senders.contains(a) {
                    state::read::<Account>(&snapshot, &state::account_key(a)).map_or(0, |x| x.nonce)
                } else {
                    0
                }
            });
        }
        let new_head = Head {
            height: block.height,
            digest: Hash32(digest),
            state_root: out.state_root,
            time_ms: block.timestamp_ms,
        };
        *inner.head.write().expect("head lock") = new_head;
        inner.heads.send_replace(new_head);
        tracing::debug!(
            height = block.height,
            txs = block.txs.len(),
            "executed block"
        );
        Ok(())
    }
}

/// Every index key an event is listed under.
///
/// The two events written once per call carry only the keys their queries need, since index
/// entries are most of what a block commits: a call is listed under its id and under its
/// caller, node and model (`/v1/calls?…`); a settlement under its id, the node and the model
/// owner (who were paid) and its kind. Every other event is listed under every subject and its
/// kind.
fn index_keys(event: &verity_ledger::Event) -> Vec<Vec<u8>> {
    use verity_ledger::Event;
    let mut keys: Vec<Vec<u8>> = match event {
        Event::CallAccepted {
            call,
            caller,
            node,
            model,
            ..
        } => vec![
            Subject::Call(*call).index_key(),
            calls_by_caller_key(caller),
            calls_by_node_key(node),
            calls_by_model_key(model),
        ],
        Event::CallSettled {
            call,
            node,
            model_owner,
            ..
        } => vec![
            Subject::Call(*call).index_key(),
            Subject::Account(*node).index_key(),
            Subject::Account(*model_owner).index_key(),
            kind_key(event.kind()),
        ],
        _ => {
            let mut keys: Vec<Vec<u8>> = event.subjects().iter().map(Subject::index_key).collect();
            keys.push(kind_key(event.kind()));
            keys
        }
    };
    keys.sort();
    keys.dedup();
    keys
}

/// Decode a stored block.
pub fn decode_block(bytes: &[u8], limits: &BlockLimits) -> Result<Block> {
    Block::decode_cfg(Copying(bytes), limits).context("stored block does not decode")
}

impl Application for ChainApp {
    fn payload(&self, _height: u64, max_txs: usize, max_bytes: usize) -> Vec<Bytes> {
        match &self.inner.clock {
            Some(clock) => self.inner.mempool.take_at(max_txs, max_bytes, clock()),
            None => self.inner.mempool.take(max_txs, max_bytes),
        }
    }

    fn check_payload(&self, txs: &[Bytes]) -> bool {
        let max = self.inner.genesis.params.max_tx_bytes as usize;
        txs.iter()
            .all(|t| SignedTransaction::decode(t, max).is_ok())
    }

    fn last_applied(&self) -> (u64, [u8; 32]) {
        let head = self.head();
        (head.height, head.state_root.0)
    }

    fn state_root(&self, height: u64) -> Option<[u8; 32]> {
        self.inner
            .store
            .state_root(height)
            .unwrap_or_else(|e| panic!("cannot read the state root of height {height}: {e}"))
    }

    fn apply(&self, block: &Block, digest: [u8; 32]) -> Result<()> {
        self.execute(block, digest)
    }

    fn report_equivocation(&self, evidence: Bytes) {
        match self.report_equivocation_evidence(evidence.to_vec()) {
            Ok(tx) => tracing::warn!(%tx, "consensus saw a validator equivocate; reported it"),
            Err(error) => {
                tracing::warn!(%error, "consensus saw a validator equivocate; cannot report it")
            }
        }
    }
}

/// The wall clock in milliseconds, as dry runs of transactions use it.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
