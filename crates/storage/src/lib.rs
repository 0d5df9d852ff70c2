//! The durable store of a Verity validator.
//!
//! # What it stores
//!
//! One [redb](https://docs.rs/redb) database file holds, for the chain applied so far:
//!
//! - the ledger's key-value **state** as of the last applied block (the head);
//! - every **block** (encoded), findable by height and by digest;
//! - the **state root** after every height;
//! - the **event log**: every event, numbered by a global sequence number from 0 in the order
//!   blocks and their events were applied, with a secondary **index** from caller-chosen keys
//!   (an account address, a call id, ...) to the events carrying them;
//! - every **transaction outcome**, by transaction hash;
//! - the **head** (height, digest, state root), the opaque **state-commitment blob** of the head
//!   block, the number of events, and the layout version.
//!
//! The crate knows nothing of the ledger's types: keys, values, blocks, events and outcomes are
//! opaque bytes. It implements [`verity_ledger::StateRead`] for [`Snapshot`].
//!
//! # Table layout
//!
//! | table           | key                          | value                                      |
//! |-----------------|------------------------------|--------------------------------------------|
//! | `meta`          | `&str` record name           | bytes: see below                           |
//! | `state`         | `&[u8]` state key            | `&[u8]` state value                        |
//! | `blocks`        | `u64` height                 | `&[u8]` encoded block                      |
//! | `block_heights` | `[u8; 32]` block digest      | `u64` height                               |
//! | `state_roots`   | `u64` height                 | `[u8; 32]` state root after that block     |
//! | `events`        | `u64` sequence number        | `&[u8]` encoded event                      |
//! | `event_index`   | `(&[u8], u64)` (key, seq.)   | `()`                                       |
//! | `txs`           | `[u8; 32]` transaction hash  | `&[u8]` encoded outcome                    |
//!
//! `meta` records: `schema_version` (`u32` big-endian, [`SCHEMA_VERSION`]), `head` (height `u64`
//! big-endian ‖ digest ‖ state root: 72 bytes, absent on an empty store), `commitment` (the
//! head block's blob), `event_count` (`u64` big-endian: the next sequence number). redb orders
//! the tuple keys of `event_index` by key, then sequence number, so the events of one key are
//! one contiguous range, walked in either direction.
//!
//! # Atomicity invariant
//!
//! [`Store::commit`] writes everything one block changes, in every table above, together with
//! the new head, in **one redb write transaction** committed durably before it returns `Ok`.
//! After a crash at any point the store therefore shows either the whole block applied (head at
//! its height) or none of it (head at the height before): state, blocks, roots, events, index
//! and outcomes always agree with the head. A block is accepted only at the head's height + 1
//! (0 on an empty store); a block at or below the head with the digest applied at that height
//! is reported as [`Applied::AlreadyApplied`] and writes nothing, so a block delivered twice
//! (for instance replayed after a restart) is applied once. Refused blocks write nothing.
//!
//! Reads are MVCC snapshots: each read call, and each [`Snapshot`] for its whole life, sees one
//! committed head, never a block half applied.
//!
//! # File-system assumptions
//!
//! - Durability is redb's: a commit writes the new B-tree pages and the inactive one of two
//!   checksummed commit slots, calls `fsync` (`sync_data`), flips the byte selecting the active
//!   slot and calls `fsync` again (two-phase commit). The store enables two-phase commit because
//!   blocks carry attacker-chosen bytes, for which redb's default single-`fsync` commit relies on
//!   a non-cryptographic checksum to detect a torn write. It also enables redb's quick repair,
//!   which records the allocator state at every commit, so that opening after a crash does not
//!   walk the whole file. The file system and disk must honour `fsync`; one that acknowledges
//!   writes it has not persisted (some network file systems, disks with volatile write caches
//!   that ignore flushes) can lose committed blocks.
//! - The file is locked while open, against other processes and against a second open in this
//!   one ([`StorageError::Locked`]). Locks on network file systems may not be enforced.
//! - An I/O error (disk full, failing disk) fails the operation, and a failed commit leaves the
//!   previous head in place. After an I/O error redb refuses further work until the store is
//!   reopened; a validator halts and restarts. [`Snapshot`]'s [`StateRead::get`](verity_ledger::StateRead::get)
//!   panics instead, since the ledger must not execute as if an unreadable key were absent.
//!
//! # Limits
//!
//! - An event page holds at most [`MAX_PAGE`] events; larger limits are clamped.
//! - redb stores values of up to 3 GiB, and key and value together of up to 3.75 GiB; larger
//!   ones fail the commit, which then writes nothing.
//! - Nothing is pruned: blocks, roots, events and outcomes are kept for the life of the file,
//!   and only the head's commitment blob is kept.
//! - redb caches up to 1 GiB of pages in memory (its default).

mod commit;
mod error;
mod events;
mod schema;
mod snapshot;
mod store;
#[cfg(test)]
mod tests;

pub use commit::{Applied, BlockCommit, EventRecord};
pub use error::StorageError;
pub use events::{Event, Order};
pub use schema::{Head, MAX_PAGE, SCHEMA_VERSION};
pub use snapshot::Snapshot;
pub use store::Store;
