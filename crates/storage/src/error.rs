//! The one error type of the crate. Every message names the problem and what the operator can do.

use std::path::PathBuf;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Another handle (another verity process, or this one) holds the database's lock.
    #[error(
        "database at {} is locked by another verity process (or already open in this one); stop it or use another --data-dir",
        path.display()
    )]
    Locked {
        /// The database file.
        path: PathBuf,
    },

    /// The directory that should hold the database could not be created.
    #[error(
        "cannot create the directory {} for the database: {source}; check its permissions or use another --data-dir",
        path.display()
    )]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },

    /// redb refused to open the file: unreadable, not a redb file, damaged, or of another format.
    #[error(
        "cannot open the database at {}: {source}; if the file is damaged or not a verity database, move it aside and resync into an empty --data-dir",
        path.display()
    )]
    Open {
        /// The database file.
        path: PathBuf,
        /// What redb said.
        source: redb::DatabaseError,
    },

    /// The file is a database of another layout version.
    #[error(
        "database at {} has schema version {found}, this build reads version {expected}; resync into an empty --data-dir or run a matching verity build",
        path.display()
    )]
    SchemaVersion {
        /// The database file.
        path: PathBuf,
        /// The version recorded in the file.
        found: u32,
        /// The version this build writes.
        expected: u32,
    },

    /// A record the store wrote does not decode: the file was altered or is damaged.
    #[error(
        "database at {} is corrupt: {what}; restore it from a backup or resync into an empty --data-dir",
        path.display()
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// Which record is malformed and how.
        what: String,
    },

    /// An I/O or consistency failure inside redb while reading or writing.
    #[error(
        "storage failure in {}: {source}; check the disk (free space, permissions, hardware), then restart the validator, which resumes from the last committed block",
        path.display()
    )]
    Backend {
        /// The database file.
        path: PathBuf,
        /// What redb said.
        source: redb::Error,
    },

    /// A block was delivered out of order; nothing was written.
    #[error(
        "block {height} cannot be applied: the store expects block {expected}; deliver blocks in height order"
    )]
    HeightGap {
        /// The delivered block's height.
        height: u64,
        /// The only height the store accepts next.
        expected: u64,
    },

    /// A block was delivered at an applied height but with another digest; nothing was written.
    #[error(
        "block {height} with digest {} conflicts with the applied block of that height; this node has forked from the delivered chain: halt and resync from a trusted peer",
        hex(digest)
    )]
    Conflict {
        /// The delivered block's height.
        height: u64,
        /// The delivered block's digest.
        digest: [u8; 32],
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A failure inside an operation, before the store attaches the database path to it.
#[derive(Debug)]
pub(crate) enum Fault {
    /// redb failed.
    Redb(redb::Error),
    /// A stored record does not decode.
    Corrupt(String),
    /// The operation was refused before anything was written.
    Refused(StorageError),
}

impl Fault {
    /// The public error, naming the database at `path`.
    pub(crate) fn at(self, path: &std::path::Path) -> StorageError {
        let path = path.to_path_buf();
        match self {
            Fault::Redb(source) => StorageError::Backend { path, source },
            Fault::Corrupt(what) => StorageError::Corrupt { path, what },
            Fault::Refused(error) => error,
        }
    }
}

macro_rules! redb_fault {
    ($($source:ty),*) => {$(
        impl From<$source> for Fault {
            fn from(error: $source) -> Self {
                Fault::Redb(error.into())
            }
        }
    )*};
}

redb_fault!(
    redb::Error,
    redb::StorageError,
    redb::TransactionError,
    redb::TableError,
    redb::CommitError
);
