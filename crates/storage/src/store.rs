//! The store: opening the database, committing blocks and every read.

use std::path::{Path, PathBuf};

use redb::{Builder, Database, ReadTransaction, ReadableDatabase, WriteTransaction};

use crate::commit::{self, Applied, BlockCommit};
use crate::error::{Fault, StorageError};
use crate::events::{self, Event, Order};
use crate::schema::{
    BLOCK_HEIGHTS, BLOCKS, EVENT_INDEX, EVENTS, Head, META, META_COMMITMENT, META_SCHEMA,
    SCHEMA_VERSION, STATE, STATE_ROOTS, TXS, meta_bytes, read_event_count, read_head, read_schema,
};
use crate::snapshot::Snapshot;

/// The durable store of a validator. See the [crate documentation](crate) for what it keeps.
///
/// `Store` is `Send + Sync`; reads run concurrently with each other and with a commit, and
/// concurrent commits are serialized.
#[derive(Debug)]
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens the database file at `path`, creating it (and its directory) if missing.
    ///
    /// After a crash the open first recovers the last durable commit. Fails with
    /// [`StorageError::Locked`] while another handle has the file open.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StorageError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let db = Builder::new()
            .create(path)
            .map_err(|error| open_error(path, error))?;
        Self::init(db, path)
    }

    /// Opens a database on another storage backend; `label` names it in errors.
    #[cfg(test)]
    pub(crate) fn open_backend(
        backend: impl redb::StorageBackend,
        label: &Path,
    ) -> Result<Self, StorageError> {
        let db = Builder::new()
            .create_with_backend(backend)
            .map_err(|error| open_error(label, error))?;
        Self::init(db, label)
    }

    /// Creates the tables of a new database, or checks the layout version of an existing one.
    fn init(db: Database, path: &Path) -> Result<Self, StorageError> {
        let store = Store {
            db,
            path: path.to_path_buf(),
        };
        let txn = store.begin_write()?;
        let fresh = store.run(|| {
            let mut meta = txn.open_table(META)?;
            match read_schema(&meta)? {
                Some(found) if found != SCHEMA_VERSION => {
                    Err(Fault::Refused(StorageError::SchemaVersion {
                        path: path.to_path_buf(),
                        found,
                        expected: SCHEMA_VERSION,
                    }))
                }
                Some(_) => Ok(false),
                None => {
                    meta.insert(META_SCHEMA, SCHEMA_VERSION.to_be_bytes().as_slice())?;
                    Ok(true)
                }
            }
        })?;
        if fresh {
            store.run(|| {
                txn.open_table(STATE)?;
                txn.open_table(BLOCKS)?;
                txn.open_table(BLOCK_HEIGHTS)?;
                txn.open_table(STATE_ROOTS)?;
                txn.open_table(EVENTS)?;
                txn.open_table(EVENT_INDEX)?;
                txn.open_table(TXS)?;
                Ok(txn.commit()?)
            })?;
        }
        Ok(store)
    }

    /// Applies one block atomically: its state changes, the block, its digest and state root,
    /// its events and their index entries, its transaction outcomes, and the new head and
    /// commitment blob, in one durable redb commit. A crash at any point leaves all of it or none.
    ///
    /// `c.height` must be 0 on an empty store and the head's height + 1 otherwise
    /// ([`StorageError::HeightGap`]). A block at or below the head with the digest applied at its
    /// height is a re-delivery: [`Applied::AlreadyApplied`]; with another digest it is a
    /// [`StorageError::Conflict`]. In each of these cases nothing is written.
    pub fn commit(&self, c: &BlockCommit) -> Result<Applied, StorageError> {
        let txn = self.begin_write()?;
        self.run(|| {
            let applied = commit::apply(&txn, c)?;
            match applied {
                Applied::Committed => txn.commit()?,
                Applied::AlreadyApplied => txn.abort()?,
            }
            Ok(applied)
        })
    }

    /// The last applied block; `None` on an empty store.
    pub fn head(&self) -> Result<Option<Head>, StorageError> {
        self.read(|txn| read_head(&txn.open_table(META)?))
    }

    /// A consistent read view of the state as of the current head, for executing the next block.
    pub fn snapshot(&self) -> Result<Snapshot, StorageError> {
        self.read(|txn| {
            let meta = txn.open_table(META)?;
            Ok(Snapshot {
                state: txn.open_table(STATE)?,
                head: read_head(&meta)?,
                commitment: meta_bytes(&meta, META_COMMITMENT)?,
            })
        })
    }

    /// The state root after the block at `height`; `None` if no such block was applied.
    pub fn state_root(&self, height: u64) -> Result<Option<[u8; 32]>, StorageError> {
        self.read(|txn| {
            let roots = txn.open_table(STATE_ROOTS)?;
            Ok(roots.get(height)?.map(|root| root.value()))
        })
    }

    /// The encoded block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(|txn| {
            let blocks = txn.open_table(BLOCKS)?;
            Ok(blocks.get(height)?.map(|block| block.value().to_vec()))
        })
    }

    /// The height of the applied block with `digest`.
    pub fn block_height(&self, digest: &[u8; 32]) -> Result<Option<u64>, StorageError> {
        self.read(|txn| {
            let heights = txn.open_table(BLOCK_HEIGHTS)?;
            Ok(heights.get(digest)?.map(|height| height.value()))
        })
    }

    /// Up to `limit` events (at most [`MAX_PAGE`](crate::MAX_PAGE)) in `order`, strictly after the
    /// cursor `after` in that order: above it ascending, below it descending. `None` starts at the
    /// oldest (ascending) or newest (descending) event. The next page's cursor is the last
    /// sequence number of this one; a short page is the last.
    pub fn events(
        &self,
        order: Order,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Event>, StorageError> {
        self.read(|txn| events::page(txn, order, after, limit))
    }

    /// Like [`Store::events`], over the events that listed `key` among their index keys.
    pub fn events_by_index(
        &self,
        key: &[u8],
        order: Order,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Event>, StorageError> {
        self.read(|txn| events::page_by_index(txn, key, order, after, limit))
    }

    /// The encoded outcome of the transaction with `hash`.
    pub fn tx(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(|txn| {
            let txs = txn.open_table(TXS)?;
            Ok(txs.get(hash)?.map(|outcome| outcome.value().to_vec()))
        })
    }

    /// The number of events stored, which is also the sequence number the next event gets.
    pub fn event_count(&self) -> Result<u64, StorageError> {
        self.read(|txn| read_event_count(&txn.open_table(META)?))
    }

    /// A write transaction that commits durably in two phases and records the allocator state,
    /// so that recovery after a crash is quick (see the crate documentation).
    fn begin_write(&self) -> Result<WriteTransaction, StorageError> {
        let mut txn = self.run(|| Ok(self.db.begin_write()?))?;
        txn.set_two_phase_commit(true);
        txn.set_quick_repair(true);
        Ok(txn)
    }

    /// Runs `f` on a fresh read transaction.
    fn read<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, Fault>,
    ) -> Result<T, StorageError> {
        self.run(|| f(&self.db.begin_read()?))
    }

    /// The underlying database, for tests that inspect whole tables.
    #[cfg(test)]
    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    /// Runs `f`, naming this database in its error.
    fn run<T>(&self, f: impl FnOnce() -> Result<T, Fault>) -> Result<T, StorageError> {
        f().map_err(|fault| fault.at(&self.path))
    }
}

fn open_error(path: &Path, error: redb::DatabaseError) -> StorageError {
    let path = path.to_path_buf();
    match error {
        redb::DatabaseError::DatabaseAlreadyOpen => StorageError::Locked { path },
        source => StorageError::Open { path, source },
    }
}
