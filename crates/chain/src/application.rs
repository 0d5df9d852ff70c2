//! What consensus needs from the replicated application (the ledger).

use crate::block::Block;
use bytes::Bytes;

/// The replicated application behind consensus.
///
/// All methods are synchronous and are called from consensus tasks, so they must return quickly
/// (a mempool drain, a stateless check, a lookup). [`Application::apply`] may block on a durable
/// commit; it runs on its own task.
pub trait Application: Clone + Send + Sync + 'static {
    /// Transactions for a new block at `height`: at most `max_txs` of them and at most `max_bytes`
    /// in total. This is a mempool drain that keeps the transactions until they are applied, so a
    /// transaction may be returned again while the block that carries it is not yet applied; the
    /// executor must treat a repeated transaction as invalid (e.g. by nonce).
    fn payload(&self, height: u64, max_txs: usize, max_bytes: usize) -> Vec<Bytes>;

    /// Stateless check of a proposed block's transactions (decodable, sizes, signatures).
    /// `false` makes the block invalid, permanently, so it must be deterministic.
    fn check_payload(&self, txs: &[Bytes]) -> bool;

    /// Highest height executed and durably committed, and its state root (height 0 is the genesis
    /// state).
    fn last_applied(&self) -> (u64, [u8; 32]);

    /// State root after executing `height`, if that height has been executed.
    ///
    /// Verifiers wait (keeping their vote pending) while this is `None`, so the application must
    /// keep the roots of every executed height a new block may still commit to: at least from the
    /// `state_height` of the last applied block onwards.
    fn state_root(&self, height: u64) -> Option<[u8; 32]>;

    /// Execute and durably commit a finalized block whose digest is `digest`.
    ///
    /// Called in height order. Must be idempotent: a block at or below
    /// [`Application::last_applied`] is ignored. An `Err` is fatal: the validator stops.
    fn apply(&self, block: &Block, digest: [u8; 32]) -> anyhow::Result<()>;

    /// Consensus observed a validator sign two conflicting votes in one view; `evidence` is the
    /// commonware encoding of the fault activity, which [`crate::verify_equivocation`] checks.
    ///
    /// Called from the consensus task that reports activity, so it must return quickly (e.g.
    /// queue a transaction carrying the evidence). Consensus checks the votes' signatures only
    /// as far as it needs them, so the evidence may not verify. The default ignores it.
    fn report_equivocation(&self, _evidence: Bytes) {}
}
