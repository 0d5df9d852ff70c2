//! A consistent read view of the state, for executing a block.

use redb::ReadOnlyTable;
use verity_ledger::StateRead;

use crate::schema::Head;

/// The state, head and commitment blob as of one committed block, unaffected by later commits.
///
/// Holds a redb read transaction (through its open `state` table) for as long as it lives: keep
/// it for the duration of a block's execution, not indefinitely, since pages it references
/// cannot be reused by later commits while it exists.
pub struct Snapshot {
    pub(crate) state: ReadOnlyTable<&'static [u8], &'static [u8]>,
    pub(crate) head: Option<Head>,
    pub(crate) commitment: Option<Vec<u8>>,
}

impl Snapshot {
    /// The last applied block as of this snapshot; `None` on an empty store.
    pub fn head(&self) -> Option<Head> {
        self.head
    }

    /// The state-commitment blob of the head block; `None` on an empty store.
    pub fn commitment(&self) -> Option<Vec<u8>> {
        self.commitment.clone()
    }
}

impl StateRead for Snapshot {
    /// The value of `key` as of this snapshot.
    ///
    /// # Panics
    /// On a storage failure: the validator must halt rather than execute as if the key were absent.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.state.get(key) {
            Ok(value) => value.map(|value| value.value().to_vec()),
            Err(error) => panic!(
                "verity-storage: reading state key {key:02x?} failed: {error}; halting, since executing against unreadable state would diverge from the network"
            ),
        }
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}
