//! A reference model of the store in plain `BTreeMap`s, a checker that compares a store with it
//! table by table and page by page, and a model-based property test.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use redb::ReadableDatabase;
use verity_ledger::StateRead;

use crate::schema::{EVENT_INDEX, STATE};
use crate::{Applied, BlockCommit, Event, EventRecord, Head, MAX_PAGE, Order, StorageError, Store};

/// A block with owned contents, to feed both the store and the model.
#[derive(Clone, Debug)]
pub(super) struct Block {
    pub height: u64,
    pub digest: [u8; 32],
    pub block: Vec<u8>,
    pub state_root: [u8; 32],
    pub commitment: Vec<u8>,
    pub changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    pub events: Vec<EventRecord>,
    pub txs: Vec<([u8; 32], Vec<u8>)>,
}

impl Block {
    /// A block at `height` with `body`; `salt` varies the digest, so two salts at one height
    /// are conflicting blocks.
    pub fn new(height: u64, salt: u8, body: Body) -> Self {
        let mut digest = [salt; 32];
        digest[..8].copy_from_slice(&height.to_be_bytes());
        let mut state_root = [0xAA; 32];
        state_root[..8].copy_from_slice(&height.to_le_bytes());
        state_root[8] = salt;
        Block {
            height,
            digest,
            block: [&height.to_be_bytes()[..], &body.block].concat(),
            state_root,
            commitment: [&[salt][..], &body.block].concat(),
            changes: body.changes,
            events: body.events,
            txs: body.txs,
        }
    }

    pub fn as_commit(&self) -> BlockCommit<'_> {
        BlockCommit {
            height: self.height,
            digest: self.digest,
            block: &self.block,
            state_root: self.state_root,
            commitment: &self.commitment,
            changes: &self.changes,
            events: &self.events,
            txs: &self.txs,
        }
    }
}

/// The height-independent contents of a generated block.
#[derive(Clone, Debug, Default)]
pub(super) struct Body {
    pub block: Vec<u8>,
    pub changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    pub events: Vec<EventRecord>,
    pub txs: Vec<([u8; 32], Vec<u8>)>,
}

/// What the store should hold after a sequence of committed blocks.
#[derive(Clone, Debug, Default)]
pub(super) struct Model {
    state: BTreeMap<Vec<u8>, Vec<u8>>,
    blocks: Vec<Block>,
    events: Vec<EventRecord>,
    txs: BTreeMap<[u8; 32], Vec<u8>>,
    /// Every state key ever written or deleted, to probe absent keys too.
    keys: BTreeSet<Vec<u8>>,
}

impl Model {
    pub fn apply(&mut self, block: &Block) {
        assert_eq!(
            block.height,
            self.blocks.len() as u64,
            "model fed out of order"
        );
        for (key, value) in &block.changes {
            self.keys.insert(key.clone());
            match value {
                Some(value) => self.state.insert(key.clone(), value.clone()),
                None => self.state.remove(key),
            };
        }
        self.events.extend(block.events.iter().cloned());
        self.txs.extend(block.txs.iter().cloned());
        self.blocks.push(block.clone());
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    pub fn head(&self) -> Option<Head> {
        self.blocks.last().map(|b| Head {
            height: b.height,
            digest: b.digest,
            state_root: b.state_root,
        })
    }

    pub fn next_height(&self) -> u64 {
        self.blocks.len() as u64
    }

    /// Every index key used, plus one never used.
    fn index_keys(&self) -> BTreeSet<Vec<u8>> {
        let mut keys: BTreeSet<Vec<u8>> = self
            .events
            .iter()
            .flat_map(|e| e.index_keys.iter().cloned())
            .collect();
        keys.insert(b"never-used".to_vec());
        keys
    }

    /// The index entries the store must hold: (key, sequence), each once.
    fn index_entries(&self) -> BTreeSet<(Vec<u8>, u64)> {
        self.events
            .iter()
            .enumerate()
            .flat_map(|(seq, e)| e.index_keys.iter().map(move |k| (k.clone(), seq as u64)))
            .collect()
    }

    /// Every event listed under `key` (all events for `None`) in `order`.
    fn listing(&self, key: Option<&[u8]>, order: Order) -> Vec<Event> {
        let listed = self
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| key.is_none_or(|k| e.index_keys.iter().any(|i| i == k)))
            .map(|(seq, e)| (seq as u64, e.bytes.clone()));
        match order {
            Order::Ascending => listed.collect(),
            Order::Descending => listed.rev().collect(),
        }
    }
}

/// Asserts two collections are equal, naming the first difference rather than printing both.
fn assert_same<T: PartialEq + std::fmt::Debug>(
    what: &str,
    actual: impl IntoIterator<Item = T>,
    expected: impl IntoIterator<Item = T>,
) {
    let (mut actual, mut expected) = (actual.into_iter(), expected.into_iter());
    for position in 0.. {
        match (actual.next(), expected.next()) {
            (None, None) => return,
            (a, e) if a == e => {}
            (a, e) => panic!("{what}, entry {position}: store has {a:?}, model has {e:?}"),
        }
    }
}

fn store_page(
    store: &Store,
    key: Option<&[u8]>,
    order: Order,
    after: Option<u64>,
    limit: usize,
) -> Vec<Event> {
    match key {
        Some(key) => store.events_by_index(key, order, after, limit),
        None => store.events(order, after, limit),
    }
    .expect("event page")
}

/// Asserts that `store` holds exactly what `model` says: every table, head, snapshot, and every
/// event page (both orders, global and by each index key, several cursors and limits, and a
/// full walk page by page).
pub(super) fn assert_agrees(store: &Store, model: &Model) {
    let head = model.head();
    assert_eq!(store.head().unwrap(), head, "head");

    let txn = store.database().begin_read().unwrap();
    let state: BTreeMap<Vec<u8>, Vec<u8>> = txn
        .open_table(STATE)
        .unwrap()
        .range::<&[u8]>(..)
        .unwrap()
        .map(|e| {
            let (k, v) = e.unwrap();
            (k.value().to_vec(), v.value().to_vec())
        })
        .collect();
    assert_same("state table", &state, &model.state);
    let index: BTreeSet<(Vec<u8>, u64)> = txn
        .open_table(EVENT_INDEX)
        .unwrap()
        .range::<(&[u8], u64)>(..)
        .unwrap()
        .map(|e| {
            let entry = e.unwrap().0;
            let (key, seq) = entry.value();
            (key.to_vec(), seq)
        })
        .collect();
    assert_same("event index table", &index, &model.index_entries());
    drop(txn);

    let snapshot = store.snapshot().unwrap();
    assert_eq!(snapshot.head(), head, "snapshot head");
    assert_eq!(
        snapshot.commitment(),
        model.blocks.last().map(|b| b.commitment.clone()),
        "snapshot commitment"
    );
    for key in model.keys.iter().chain([&b"never-written".to_vec()]) {
        assert_eq!(
            snapshot.get(key),
            model.state.get(key).cloned(),
            "state key {key:?}"
        );
    }

    for b in &model.blocks {
        assert_eq!(
            store.block(b.height).unwrap().as_ref(),
            Some(&b.block),
            "block {}",
            b.height
        );
        assert_eq!(
            store.state_root(b.height).unwrap(),
            Some(b.state_root),
            "root {}",
            b.height
        );
        assert_eq!(
            store.block_height(&b.digest).unwrap(),
            Some(b.height),
            "digest of {}",
            b.height
        );
    }
    let next = model.next_height();
    assert_eq!(store.block(next).unwrap(), None, "block past the head");
    assert_eq!(store.state_root(next).unwrap(), None, "root past the head");
    assert_eq!(
        store.block_height(&[0xEE; 32]).unwrap(),
        None,
        "unknown digest"
    );

    for (hash, outcome) in &model.txs {
        assert_eq!(
            store.tx(hash).unwrap().as_ref(),
            Some(outcome),
            "tx {hash:?}"
        );
    }
    assert_eq!(store.tx(&[0xEE; 32]).unwrap(), None, "unknown tx");

    let count = model.events.len() as u64;
    assert_eq!(store.event_count().unwrap(), count, "event count");
    let cursors = [
        None,
        Some(0),
        Some(count / 2),
        Some(count.saturating_sub(1)),
        Some(count),
        Some(u64::MAX),
    ];
    let index_keys = model.index_keys();
    let filters = std::iter::once(None).chain(index_keys.iter().map(|k| Some(k.as_slice())));
    for key in filters {
        for order in [Order::Ascending, Order::Descending] {
            let listed = model.listing(key, order);
            let expected = |after: Option<u64>, limit: usize| -> Vec<Event> {
                let past = |seq: u64| match (order, after) {
                    (_, None) => true,
                    (Order::Ascending, Some(after)) => seq > after,
                    (Order::Descending, Some(after)) => seq < after,
                };
                listed
                    .iter()
                    .filter(|(seq, _)| past(*seq))
                    .take(limit.min(MAX_PAGE))
                    .cloned()
                    .collect()
            };
            for after in cursors {
                for limit in [1, usize::MAX] {
                    assert_eq!(
                        store_page(store, key, order, after, limit),
                        expected(after, limit),
                        "page key={key:?} order={order:?} after={after:?} limit={limit}"
                    );
                }
            }
            assert_eq!(
                store_page(store, key, order, None, 0),
                Vec::new(),
                "empty page"
            );
            let size = (listed.len() / 8).max(3);
            let mut walked = Vec::new();
            let mut after = None;
            loop {
                let page = store_page(store, key, order, after, size);
                walked.extend(page.iter().cloned());
                match page.last() {
                    Some((seq, _)) if page.len() == size => after = Some(*seq),
                    _ => break,
                }
            }
            assert_eq!(walked, listed, "walk key={key:?} order={order:?}");
        }
    }
}

/// Small domains, so that blocks overwrite and delete each other's keys and share index keys.
/// Keys are runs of one byte, including the empty key and keys that prefix each other.
fn small_key(bytes: u8) -> impl Strategy<Value = Vec<u8>> {
    (0..bytes, 0usize..3).prop_map(|(b, n)| vec![b; n])
}

fn body() -> impl Strategy<Value = Body> {
    let changes = prop::collection::btree_map(
        small_key(8),
        prop::option::weighted(0.7, prop::collection::vec(any::<u8>(), 0..12)),
        0..8,
    );
    let event = (
        prop::collection::vec(any::<u8>(), 0..8),
        prop::collection::vec(small_key(4), 0..4),
    )
        .prop_map(|(bytes, index_keys)| EventRecord { bytes, index_keys });
    let tx = (
        (0u8..6).prop_map(|b| [b; 32]),
        prop::collection::vec(any::<u8>(), 0..8),
    );
    (
        prop::collection::vec(any::<u8>(), 0..16),
        changes,
        prop::collection::vec(event, 0..5),
        prop::collection::vec(tx, 0..3),
    )
        .prop_map(|(block, changes, events, txs)| Body {
            block,
            changes,
            events,
            txs,
        })
}

#[derive(Clone, Debug)]
enum Step {
    /// Commit the next block.
    Commit(Body),
    /// Deliver an applied block again (chosen by the index, modulo the applied count).
    Redeliver(usize),
    /// Deliver another block at an applied height.
    Conflict(usize),
    /// Deliver a block `gap` heights past the next one.
    Gap(u64, Body),
    /// Close the database and open it again.
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => body().prop_map(Step::Commit),
        1 => any::<usize>().prop_map(Step::Redeliver),
        1 => any::<usize>().prop_map(Step::Conflict),
        1 => (1u64..3, body()).prop_map(|(gap, body)| Step::Gap(gap, body)),
        1 => Just(Step::Reopen),
    ]
}

fn run_steps(steps: Vec<Step>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let mut store = Store::open(&path).unwrap();
    let mut model = Model::default();
    for step in steps {
        match step {
            Step::Commit(body) => {
                let block = Block::new(model.next_height(), 0, body);
                let before = store.snapshot().unwrap();
                let old = model.clone();
                assert_eq!(
                    store.commit(&block.as_commit()).unwrap(),
                    Applied::Committed
                );
                model.apply(&block);
                assert_eq!(
                    before.head(),
                    old.head(),
                    "a snapshot does not see later commits"
                );
                for key in block.changes.keys() {
                    assert_eq!(
                        before.get(key),
                        old.state.get(key).cloned(),
                        "old snapshot, key {key:?}"
                    );
                }
            }
            Step::Redeliver(pick) if !model.blocks.is_empty() => {
                let block = model.blocks[pick % model.blocks.len()].clone();
                assert_eq!(
                    store.commit(&block.as_commit()).unwrap(),
                    Applied::AlreadyApplied
                );
            }
            Step::Conflict(pick) if !model.blocks.is_empty() => {
                let applied = &model.blocks[pick % model.blocks.len()];
                let block = Block::new(applied.height, 1, Body::default());
                let error = store.commit(&block.as_commit()).unwrap_err();
                assert!(
                    matches!(error, StorageError::Conflict { height, .. } if height == applied.height),
                    "{error}"
                );
            }
            Step::Redeliver(_) | Step::Conflict(_) => {}
            Step::Gap(gap, body) => {
                let block = Block::new(model.next_height() + gap, 0, body);
                let error = store.commit(&block.as_commit()).unwrap_err();
                assert!(
                    matches!(error, StorageError::HeightGap { expected, .. } if expected == model.next_height()),
                    "{error}"
                );
            }
            Step::Reopen => {
                drop(store);
                store = Store::open(&path).unwrap();
            }
        }
        assert_agrees(&store, &model);
    }
    drop(store);
    assert_agrees(&Store::open(&path).unwrap(), &model);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_the_model(steps in prop::collection::vec(step(), 1..12)) {
        run_steps(steps);
    }
}
