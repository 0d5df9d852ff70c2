//! A content-addressed directory of blobs.
//!
//! Invariants: the file `<dir>/<hex id>` holds bytes whose SHA-256 is `id`; a partially written
//! file never has that name (writes go to a temporary name and are renamed after an fsync); a
//! file that was corrupted on disk is reported as an error on read, never returned.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};
use verity_ledger::{Hash32, crypto::sha256};

/// A directory of files named by their SHA-256.
#[derive(Clone, Debug)]
pub struct BlobStore {
    dir: PathBuf,
}

impl BlobStore {
    /// Open (creating if needed) the store in `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the blob `id` lives (whether or not it is present).
    pub fn path(&self, id: &Hash32) -> PathBuf {
        self.dir.join(id.to_string())
    }

    /// Whether the blob is present.
    pub fn contains(&self, id: &Hash32) -> bool {
        self.path(id).is_file()
    }

    /// Store `bytes`; returns their id. Storing the same bytes twice is a no-op.
    pub fn put(&self, bytes: &[u8]) -> io::Result<Hash32> {
        let id = sha256(&[bytes]);
        let path = self.path(&id);
        if path.is_file() {
            return Ok(id);
        }
        let tmp = self.dir.join(format!(".{id}.partial"));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, &path)?;
        Ok(id)
    }

    /// The blob's bytes, `None` if absent. A file whose content does not hash to its name is an
    /// `InvalidData` error naming the file.
    pub fn get(&self, id: &Hash32) -> io::Result<Option<Vec<u8>>> {
        let path = self.path(id);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let actual = sha256(&[&bytes]);
        if actual != *id {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is corrupt: its content hashes to {actual}; delete it and fetch the model again",
                    path.display()
                ),
            ));
        }
        Ok(Some(bytes))
    }

    /// Ids of every blob present.
    pub fn list(&self) -> io::Result<Vec<Hash32>> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            if let Some(id) = name.to_str().and_then(|n| n.parse::<Hash32>().ok()) {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_round_trips_and_names_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let id = store.put(b"model bytes").unwrap();
        assert_eq!(id, sha256(&[b"model bytes"]));
        assert_eq!(store.put(b"model bytes").unwrap(), id);
        assert_eq!(store.get(&id).unwrap().unwrap(), b"model bytes");
        assert_eq!(store.list().unwrap(), vec![id]);
        assert!(store.get(&sha256(&[b"other"])).unwrap().is_none());
    }

    #[test]
    fn a_corrupted_file_is_an_error_not_data() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let id = store.put(b"model bytes").unwrap();
        fs::write(store.path(&id), b"tampered").unwrap();
        let err = store.get(&id).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
}
