//! Applying one block: every table written in the caller's single write transaction.

use std::collections::BTreeMap;

use redb::{ReadableTable, WriteTransaction};

use crate::error::{Fault, StorageError};
use crate::schema::{
    BLOCK_HEIGHTS, BLOCKS, EVENT_INDEX, EVENTS, Head, META, META_COMMITMENT, META_EVENT_COUNT,
    META_HEAD, STATE, STATE_ROOTS, TXS, read_event_count, read_head,
};

/// Everything one block changes in the store, applied atomically by [`Store::commit`](crate::Store::commit).
#[derive(Clone, Copy, Debug)]
pub struct BlockCommit<'a> {
    /// The block's height: 0 for the first block, then the head's height + 1.
    pub height: u64,
    /// The block's digest; [`Store::block_height`](crate::Store::block_height) finds the block by it.
    pub digest: [u8; 32],
    /// The encoded block.
    pub block: &'a [u8],
    /// The state root after applying the block.
    pub state_root: [u8; 32],
    /// The opaque incremental state-commitment blob after the block, returned by
    /// [`Snapshot::commitment`](crate::Snapshot::commitment). Only the latest one is kept.
    pub commitment: &'a [u8],
    /// State writes: `Some(value)` sets the key, `None` deletes it.
    pub changes: &'a BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// The block's events, in order; each gets the next global sequence number.
    pub events: &'a [EventRecord],
    /// Transaction outcomes by transaction hash; a hash seen before is overwritten.
    pub txs: &'a [([u8; 32], Vec<u8>)],
}

/// One event and the keys it can be listed by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventRecord {
    /// The encoded event.
    pub bytes: Vec<u8>,
    /// Keys (an account address, a call id, ...) under which
    /// [`Store::events_by_index`](crate::Store::events_by_index) lists the event. A key repeated
    /// within one event lists it once.
    pub index_keys: Vec<Vec<u8>>,
}

/// What [`Store::commit`](crate::Store::commit) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The block was written and is the new head.
    Committed,
    /// The block (same height and digest) was applied before; nothing was written.
    AlreadyApplied,
}

/// Writes `c` into `txn` if it is the next block. Refuses a gap or a conflicting re-delivery, and
/// reports a plain re-delivery, before writing anything.
pub(crate) fn apply(txn: &WriteTransaction, c: &BlockCommit) -> Result<Applied, Fault> {
    let mut meta = txn.open_table(META)?;
    let head = read_head(&meta)?;
    if let Some(head) = head
        && c.height <= head.height
    {
        let heights = txn.open_table(BLOCK_HEIGHTS)?;
        let applied = heights.get(c.digest)?.map(|height| height.value());
        return if applied == Some(c.height) {
            Ok(Applied::AlreadyApplied)
        } else {
            Err(Fault::Refused(StorageError::Conflict {
                height: c.height,
                digest: c.digest,
            }))
        };
    }
    let expected = head.map_or(0, |head| head.height + 1);
    if c.height != expected {
        return Err(Fault::Refused(StorageError::HeightGap {
            height: c.height,
            expected,
        }));
    }

    let mut state = txn.open_table(STATE)?;
    for (key, value) in c.changes {
        match value {
            Some(value) => state.insert(key.as_slice(), value.as_slice())?,
            None => state.remove(key.as_slice())?,
        };
    }

    txn.open_table(BLOCKS)?.insert(c.height, c.block)?;
    txn.open_table(BLOCK_HEIGHTS)?.insert(c.digest, c.height)?;
    txn.open_table(STATE_ROOTS)?
        .insert(c.height, c.state_root)?;

    let mut events = txn.open_table(EVENTS)?;
    let mut index = txn.open_table(EVENT_INDEX)?;
    let mut sequence = read_event_count(&meta)?;
    for event in c.events {
        events.insert(sequence, event.bytes.as_slice())?;
        for key in &event.index_keys {
            index.insert((key.as_slice(), sequence), ())?;
        }
        sequence += 1;
    }

    let mut txs = txn.open_table(TXS)?;
    for (hash, outcome) in c.txs {
        txs.insert(hash, outcome.as_slice())?;
    }

    let head = Head {
        height: c.height,
        digest: c.digest,
        state_root: c.state_root,
    };
    meta.insert(META_HEAD, head.encode().as_slice())?;
    meta.insert(META_COMMITMENT, c.commitment)?;
    meta.insert(META_EVENT_COUNT, sequence.to_be_bytes().as_slice())?;
    Ok(Applied::Committed)
}
