//! placeholder: the ledger state machine is being written; only `StateRead` is settled.

/// Read access to the committed key-value state the ledger executes against.
///
/// Implementations must be consistent snapshots: every read during one block's execution sees
/// the state as of the end of the previous block. A storage failure must not be reported as a
/// missing key; an implementation that cannot read panics, halting the validator, because
/// executing on wrong data would fork it from its peers.
pub trait StateRead {
    /// The value stored under `key`, or `None` when the key is absent.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
}
