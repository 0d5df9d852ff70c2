//! Crash atomicity: a storage backend that simulates power loss.
//!
//! `CrashDisk` keeps two images of the file: what the OS shows (every write) and what is
//! durable (as of the last `sync_data`). From the N-th write-side operation on (write, set_len,
//! sync) every such operation fails, as if the process had stopped at that point. The file
//! after the crash is the durable image plus any subset of the writes not yet synced, since a
//! disk may persist unsynced writes in any order. A store opened on that file must show either
//! every effect of the interrupted block or none of them, and must accept the block again.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use redb::StorageBackend;

use super::model::{Block, Body, Model, assert_agrees};
use crate::{Applied, EventRecord, Store};

#[derive(Debug)]
enum Unsynced {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

#[derive(Debug, Default)]
struct Disk {
    /// What reads see.
    visible: Vec<u8>,
    /// What survives a crash for sure.
    durable: Vec<u8>,
    /// Writes since the last sync, in order.
    unsynced: Vec<Unsynced>,
    /// Write-side operations so far.
    operations: u64,
    /// Operations at and after this count fail.
    crash_at: Option<u64>,
}

impl Disk {
    fn operate(&mut self) -> io::Result<()> {
        self.operations += 1;
        match self.crash_at {
            Some(at) if self.operations > at => Err(io::Error::other("injected crash")),
            _ => Ok(()),
        }
    }
}

fn resize(bytes: &mut Vec<u8>, len: u64) {
    bytes.resize(usize::try_from(len).expect("test file fits in memory"), 0);
}

fn write_at(bytes: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let start = usize::try_from(offset).unwrap();
    if bytes.len() < start + data.len() {
        bytes.resize(start + data.len(), 0);
    }
    bytes[start..start + data.len()].copy_from_slice(data);
}

/// A shared handle on one simulated disk: the store owns one clone, the test keeps another.
#[derive(Clone, Debug, Default)]
struct CrashDisk(Arc<Mutex<Disk>>);

impl CrashDisk {
    fn with_image(image: Vec<u8>) -> Self {
        CrashDisk(Arc::new(Mutex::new(Disk {
            visible: image.clone(),
            durable: image,
            ..Disk::default()
        })))
    }

    fn disk(&self) -> std::sync::MutexGuard<'_, Disk> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lets `operations` more write-side operations succeed, then fails every one after.
    fn crash_after(&self, operations: u64) {
        let mut disk = self.disk();
        disk.crash_at = Some(disk.operations + operations);
    }

    fn operations(&self) -> u64 {
        self.disk().operations
    }

    fn unsynced(&self) -> usize {
        self.disk().unsynced.len()
    }

    /// The file as the OS shows it (after a clean shutdown, what is on disk).
    fn visible(&self) -> Vec<u8> {
        self.disk().visible.clone()
    }

    /// The file after power loss: the durable image plus the unsynced writes `survives` picks.
    fn after_crash(&self, survives: impl Fn(usize) -> bool) -> Vec<u8> {
        let disk = self.disk();
        let mut image = disk.durable.clone();
        for (_, op) in disk
            .unsynced
            .iter()
            .enumerate()
            .filter(|(i, _)| survives(*i))
        {
            match op {
                Unsynced::Write(offset, data) => write_at(&mut image, *offset, data),
                Unsynced::SetLen(len) => resize(&mut image, *len),
            }
        }
        image
    }
}

impl StorageBackend for CrashDisk {
    fn len(&self) -> io::Result<u64> {
        Ok(self.disk().visible.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let disk = self.disk();
        let start = usize::try_from(offset).unwrap();
        let bytes = disk
            .visible
            .get(start..start + out.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        out.copy_from_slice(bytes);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut disk = self.disk();
        disk.operate()?;
        resize(&mut disk.visible, len);
        disk.unsynced.push(Unsynced::SetLen(len));
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut disk = self.disk();
        disk.operate()?;
        disk.durable = disk.visible.clone();
        disk.unsynced.clear();
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut disk = self.disk();
        disk.operate()?;
        write_at(&mut disk.visible, offset, data);
        disk.unsynced.push(Unsynced::Write(offset, data.to_vec()));
        Ok(())
    }
}

fn open(disk: &CrashDisk) -> Store {
    Store::open_backend(disk.clone(), Path::new("<crash-disk>")).expect("open after crash")
}

/// A block spanning many pages: new keys, overwrites and deletes of earlier keys, events with
/// index keys, and transactions.
fn block(height: u64) -> Block {
    let n = 120 * (height + 1);
    let mut changes = BTreeMap::new();
    for i in 0..n {
        changes.insert(
            format!("key-{i:05}").into_bytes(),
            Some(vec![height as u8; 90]),
        );
    }
    for i in (0..n).step_by(7) {
        changes.insert(format!("key-{i:05}").into_bytes(), None);
    }
    let events = (0..15)
        .map(|i| EventRecord {
            bytes: vec![height as u8; 60 + i],
            index_keys: vec![
                format!("account-{}", i % 5).into_bytes(),
                vec![height as u8],
            ],
        })
        .collect();
    let txs = (0..20u8)
        .map(|i| ([i; 32], vec![height as u8; 50]))
        .collect();
    let body = Body {
        block: vec![height as u8; 3000],
        changes,
        events,
        txs,
    };
    Block::new(height, 0, body)
}

/// Which unsynced writes reach the disk before the power goes out.
const SURVIVAL_PATTERNS: [fn(usize) -> bool; 4] =
    [|_| false, |_| true, |i| i % 2 == 0, |i| i % 3 != 1];

#[test]
fn an_interrupted_commit_is_all_or_nothing() {
    let disk = CrashDisk::default();
    let mut before = Model::default();
    {
        let store = open(&disk);
        for height in 0..3 {
            let block = block(height);
            store.commit(&block.as_commit()).unwrap();
            before.apply(&block);
        }
    }
    let base = disk.visible();
    let target = block(3);
    let mut after = before.clone();
    after.apply(&target);

    // How many write-side operations an uninterrupted commit (and the close after it) takes.
    let clean = CrashDisk::with_image(base.clone());
    let operations = {
        let store = open(&clean);
        let start = clean.operations();
        store.commit(&target.as_commit()).unwrap();
        drop(store);
        clean.operations() - start
    };
    assert!(
        operations > 10,
        "the target block should span many writes, took {operations}"
    );

    let (mut rolled_back, mut applied) = (0, 0);
    for crash_after in 0..=operations {
        let disk = CrashDisk::with_image(base.clone());
        let store = open(&disk);
        disk.crash_after(crash_after);
        let result = store.commit(&target.as_commit());
        drop(store);
        let pending = disk.unsynced();
        for (pattern, survives) in SURVIVAL_PATTERNS.iter().enumerate() {
            let context = format!(
                "crash after {crash_after} of {operations} operations, {pending} unsynced, pattern {pattern}, commit {result:?}"
            );
            let recovered = CrashDisk::with_image(disk.after_crash(survives));
            let store = open(&recovered);
            let head = store.head().unwrap().map(|h| h.height);
            if head == Some(3) {
                applied += 1;
                assert_agrees(&store, &after);
                assert_eq!(
                    store.commit(&target.as_commit()).unwrap(),
                    Applied::AlreadyApplied,
                    "{context}"
                );
            } else {
                assert_eq!(head, Some(2), "{context}");
                assert!(
                    result.is_err(),
                    "a commit that returned Ok was lost: {context}"
                );
                rolled_back += 1;
                assert_agrees(&store, &before);
                assert_eq!(
                    store.commit(&target.as_commit()).unwrap(),
                    Applied::Committed,
                    "{context}"
                );
                assert_agrees(&store, &after);
            }
        }
    }
    assert!(
        rolled_back > 0 && applied > 0,
        "rolled back {rolled_back}, applied {applied}"
    );
}
