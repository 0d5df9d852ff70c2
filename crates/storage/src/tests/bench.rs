//! The cost of one durable commit of a large block, on the real file system, and of snapshot reads.
//! Run: `cargo test --release -p verity-storage -- --ignored --nocapture commit_cost`.

use std::time::{Duration, Instant};

use super::model::Body;
use verity_ledger::StateRead;

use crate::{BlockCommit, EventRecord, Store};

const KEYS: usize = 10_000;
const EVENTS: usize = 1_000;
const BLOCKS: u64 = 10;

fn body(height: u64) -> Body {
    // Half the keys are overwritten every block, half are new: the state grows by 5,000 a block.
    let changes = (0..KEYS as u64)
        .map(|i| {
            let id = if i % 2 == 0 {
                i
            } else {
                KEYS as u64 * (height + 1) + i
            };
            let mut key = b"acct/".to_vec();
            key.extend_from_slice(&id.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
            key.resize(32, 0);
            (key, Some(vec![height as u8; 100]))
        })
        .collect();
    let events = (0..EVENTS)
        .map(|i| EventRecord {
            bytes: vec![i as u8; 200],
            index_keys: vec![
                format!("account-{}", i % 97).into_bytes(),
                format!("call-{height}-{i}").into_bytes(),
            ],
        })
        .collect();
    let txs = (0..EVENTS as u64)
        .map(|i| {
            let mut hash = [0; 32];
            hash[..8].copy_from_slice(&height.to_be_bytes());
            hash[8..16].copy_from_slice(&i.to_be_bytes());
            (hash, vec![1; 64])
        })
        .collect();
    Body {
        block: vec![3; 64 * 1024],
        changes,
        events,
        txs,
    }
}

#[test]
#[ignore = "measurement; run in release"]
fn commit_cost() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ledger.redb")).unwrap();
    let commitment = vec![7; 2048];
    let mut times = Vec::new();
    for height in 0..BLOCKS {
        let body = body(height);
        let c = BlockCommit {
            height,
            digest: [height as u8; 32],
            block: &body.block,
            state_root: [0; 32],
            commitment: &commitment,
            changes: &body.changes,
            events: &body.events,
            txs: &body.txs,
        };
        let start = Instant::now();
        store.commit(&c).unwrap();
        times.push(start.elapsed());
    }
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!("commit of {KEYS} keys + {EVENTS} events + {EVENTS} txs: {times:?}, mean {mean:?}");

    let start = Instant::now();
    for _ in 0..100 {
        store.snapshot().unwrap();
    }
    let opened = start.elapsed() / 100;
    let snapshot = store.snapshot().unwrap();
    let keys: Vec<Vec<u8>> = body(BLOCKS - 1).changes.into_keys().collect();
    let start = Instant::now();
    for key in &keys {
        assert!(snapshot.get(key).is_some());
    }
    let per_get = start.elapsed() / keys.len() as u32;
    println!("snapshot: opened in {opened:?}, {per_get:?} per get");
}
