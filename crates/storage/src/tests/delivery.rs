//! Delivery rules (re-delivery, gaps, conflicts), opening rules, and page limits.

use std::collections::BTreeMap;

use super::model::{Block, Body, Model, assert_agrees};
use crate::schema::{META, META_SCHEMA};
use crate::{Applied, EventRecord, MAX_PAGE, Order, SCHEMA_VERSION, Snapshot, StorageError, Store};

fn body(tag: u8) -> Body {
    Body {
        block: vec![tag; 4],
        changes: BTreeMap::from([
            (vec![tag], Some(vec![tag; 3])),
            (b"shared".to_vec(), Some(vec![tag])),
            (vec![tag.wrapping_sub(1)], None),
        ]),
        events: vec![EventRecord {
            bytes: vec![tag; 2],
            index_keys: vec![b"account".to_vec(), vec![tag]],
        }],
        txs: vec![([tag; 32], vec![tag, 1])],
    }
}

fn store_with(blocks: u64) -> (tempfile::TempDir, Store, Model) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ledger.redb")).unwrap();
    let mut model = Model::default();
    for height in 0..blocks {
        let block = Block::new(height, 0, body(height as u8));
        assert_eq!(
            store.commit(&block.as_commit()).unwrap(),
            Applied::Committed
        );
        model.apply(&block);
    }
    (dir, store, model)
}

#[test]
fn a_redelivered_block_is_applied_once() {
    let (_dir, store, model) = store_with(3);
    for block in model.blocks() {
        assert_eq!(
            store.commit(&block.as_commit()).unwrap(),
            Applied::AlreadyApplied
        );
        assert_agrees(&store, &model);
    }
    // The digest identifies the block: a re-delivery is not re-read, whatever it carries.
    let mut altered = model.blocks()[2].clone();
    altered
        .changes
        .insert(b"new".to_vec(), Some(b"value".to_vec()));
    assert_eq!(
        store.commit(&altered.as_commit()).unwrap(),
        Applied::AlreadyApplied
    );
    assert_agrees(&store, &model);
}

#[test]
fn a_height_gap_is_refused_and_writes_nothing() {
    let (_dir, store, mut model) = store_with(0);
    let error = store
        .commit(&Block::new(1, 0, body(1)).as_commit())
        .unwrap_err();
    assert!(
        matches!(
            error,
            StorageError::HeightGap {
                height: 1,
                expected: 0
            }
        ),
        "{error}"
    );
    assert_agrees(&store, &model);

    let first = Block::new(0, 0, body(0));
    store.commit(&first.as_commit()).unwrap();
    model.apply(&first);
    for height in [2, 3, u64::MAX] {
        let error = store
            .commit(&Block::new(height, 0, body(9)).as_commit())
            .unwrap_err();
        assert!(
            matches!(error, StorageError::HeightGap { expected: 1, .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("deliver blocks in height order"),
            "{error}"
        );
        assert_agrees(&store, &model);
    }
}

#[test]
fn another_block_at_an_applied_height_is_a_conflict() {
    let (_dir, store, model) = store_with(2);
    let error = store
        .commit(&Block::new(1, 7, body(1)).as_commit())
        .unwrap_err();
    assert!(
        matches!(error, StorageError::Conflict { height: 1, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("resync"), "{error}");
    assert_agrees(&store, &model);
}

#[test]
fn a_second_open_of_one_path_is_locked() {
    let (dir, store, model) = store_with(1);
    let path = dir.path().join("ledger.redb");
    let error = Store::open(&path).unwrap_err();
    assert!(matches!(error, StorageError::Locked { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("is locked by another verity process")
            && message.contains(&path.display().to_string()),
        "{message}"
    );
    drop(store);
    assert_agrees(&Store::open(&path).unwrap(), &model);
}

#[test]
fn open_creates_missing_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/ledger.redb");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.head().unwrap(), None);
    assert_eq!(store.snapshot().unwrap().commitment(), None);
    assert!(path.exists());
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    std::fs::write(&path, vec![0x5A; 10_000]).unwrap();
    let error = Store::open(&path).unwrap_err();
    assert!(matches!(error, StorageError::Open { .. }), "{error}");
    assert!(error.to_string().contains("move it aside"), "{error}");
}

#[test]
fn another_schema_version_is_refused() {
    let (dir, store, _) = store_with(1);
    let txn = store.database().begin_write().unwrap();
    txn.open_table(META)
        .unwrap()
        .insert(META_SCHEMA, (SCHEMA_VERSION + 1).to_be_bytes().as_slice())
        .unwrap();
    txn.commit().unwrap();
    drop(store);
    let error = Store::open(&dir.path().join("ledger.redb")).unwrap_err();
    assert!(
        matches!(error, StorageError::SchemaVersion { found, expected: SCHEMA_VERSION, .. } if found == SCHEMA_VERSION + 1),
        "{error}"
    );
}

#[test]
fn pages_are_clamped_to_the_maximum() {
    let (_dir, store, _) = store_with(0);
    let events: Vec<EventRecord> = (0..MAX_PAGE as u32 + 5)
        .map(|i| EventRecord {
            bytes: i.to_be_bytes().to_vec(),
            index_keys: vec![b"all".to_vec()],
        })
        .collect();
    let block = Block::new(
        0,
        0,
        Body {
            events,
            ..Body::default()
        },
    );
    store.commit(&block.as_commit()).unwrap();
    for order in [Order::Ascending, Order::Descending] {
        assert_eq!(
            store.events(order, None, usize::MAX).unwrap().len(),
            MAX_PAGE
        );
        assert_eq!(
            store
                .events_by_index(b"all", order, None, usize::MAX)
                .unwrap()
                .len(),
            MAX_PAGE
        );
    }
    let newest = store.events(Order::Descending, None, 1).unwrap();
    assert_eq!(
        newest,
        vec![(
            MAX_PAGE as u64 + 4,
            (MAX_PAGE as u32 + 4).to_be_bytes().to_vec()
        )]
    );
}

#[test]
fn store_and_snapshot_can_cross_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Store>();
    shareable::<Snapshot>();
}
