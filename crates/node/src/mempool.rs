//! Transactions waiting to be proposed.
//!
//! Invariants: at most [`MAX_MEMPOOL_TXS`] transactions and [`MAX_MEMPOOL_BYTES`] bytes; each
//! hash at most once. A transaction handed to a proposal is not handed out again for
//! [`REPROPOSE_AFTER`] (the proposal usually finalizes first), and leaves when a finalized
//! block includes it or when its sender's nonce has passed it. Within one proposal, each
//! sender's transactions are ordered by nonce.
//!
//! Time is read from a monotonic clock: the process's own by default ([`Mempool::take`]), or
//! one the caller supplies ([`Mempool::take_at`]), so a simulation on a virtual clock holds
//! transactions back in virtual time and replays identically.

use bytes::Bytes;
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};
use verity_ledger::{Address, Hash32};

/// Most transactions waiting.
pub const MAX_MEMPOOL_TXS: usize = 50_000;
/// Most bytes waiting.
pub const MAX_MEMPOOL_BYTES: usize = 256 * 1024 * 1024;
/// How long a proposed transaction is held back from further proposals.
pub const REPROPOSE_AFTER: Duration = Duration::from_secs(10);

/// Why a transaction was not queued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MempoolError {
    /// No room.
    #[error("the mempool is full ({0} transactions waiting); retry in a few seconds")]
    Full(usize),
}

struct Entry {
    bytes: Bytes,
    sender: Address,
    nonce: u64,
    seq: u64,
    /// When it was last handed to a proposal, on the clock passed to [`Mempool::take_at`].
    proposed: Option<Duration>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Hash32, Entry>,
    order: BTreeMap<u64, Hash32>,
    next_seq: u64,
    bytes: usize,
}

/// The mempool.
#[derive(Default)]
pub struct Mempool {
    inner: Mutex<Inner>,
}

impl Mempool {
    /// Queue a transaction; queuing one already present is a no-op.
    pub fn insert(
        &self,
        hash: Hash32,
        bytes: Bytes,
        sender: Address,
        nonce: u64,
    ) -> Result<(), MempoolError> {
        let mut inner = self.inner.lock().expect("mempool lock");
        if inner.entries.contains_key(&hash) {
            return Ok(());
        }
        if inner.entries.len() >= MAX_MEMPOOL_TXS || inner.bytes + bytes.len() > MAX_MEMPOOL_BYTES {
            return Err(MempoolError::Full(inner.entries.len()));
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.bytes += bytes.len();
        inner.order.insert(seq, hash);
        inner.entries.insert(
            hash,
            Entry {
                bytes,
                sender,
                nonce,
                seq,
                proposed: None,
            },
        );
        Ok(())
    }

    /// Up to `max_txs` transactions of at most `max_bytes` in total, oldest first, each
    /// sender's in nonce order; they are held back from the next proposals. Reads the process's
    /// monotonic clock.
    pub fn take(&self, max_txs: usize, max_bytes: usize) -> Vec<Bytes> {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        self.take_at(
            max_txs,
            max_bytes,
            ORIGIN.get_or_init(Instant::now).elapsed(),
        )
    }

    /// [`Mempool::take`] at time `now`, read from a monotonic clock that starts at any fixed
    /// origin; every call on one mempool must use the same clock.
    pub fn take_at(&self, max_txs: usize, max_bytes: usize, now: Duration) -> Vec<Bytes> {
        let mut inner = self.inner.lock().expect("mempool lock");
        let mut picked: Vec<Hash32> = Vec::new();
        let mut size = 0;
        for hash in inner.order.values() {
            if picked.len() >= max_txs {
                break;
            }
            let entry = &inner.entries[hash];
            if entry
                .proposed
                .is_some_and(|t| now.saturating_sub(t) < REPROPOSE_AFTER)
            {
                continue;
            }
            if size + entry.bytes.len() > max_bytes {
                continue;
            }
            size += entry.bytes.len();
            picked.push(*hash);
        }
        // Each sender's slots, in arrival order, refilled with its transactions in nonce order.
        let mut by_sender: BTreeMap<Address, Vec<usize>> = BTreeMap::new();
        for (i, h) in picked.iter().enumerate() {
            by_sender
                .entry(inner.entries[h].sender)
                .or_default()
                .push(i);
        }
        let mut ordered = picked.clone();
        for slots in by_sender.values() {
            let mut hashes: Vec<Hash32> = slots.iter().map(|&i| picked[i]).collect();
            hashes.sort_by_key(|h| inner.entries[h].nonce);
            for (&slot, h) in slots.iter().zip(hashes) {
                ordered[slot] = h;
            }
        }
        ordered
            .iter()
            .map(|h| {
                let entry = inner.entries.get_mut(h).expect("picked from entries");
                entry.proposed = Some(now);
                entry.bytes.clone()
            })
            .collect()
    }

    /// Drop the given transactions (included in a finalized block).
    pub fn remove(&self, hashes: impl IntoIterator<Item = Hash32>) {
        let mut inner = self.inner.lock().expect("mempool lock");
        for h in hashes {
            if let Some(e) = inner.entries.remove(&h) {
                inner.order.remove(&e.seq);
                inner.bytes -= e.bytes.len();
            }
        }
    }

    /// Drop every transaction whose nonce is below its sender's account nonce.
    pub fn prune(&self, account_nonce: impl Fn(&Address) -> u64) {
        let inner = self.inner.lock().expect("mempool lock");
        let stale: Vec<Hash32> = inner
            .entries
            .iter()
            .filter(|(_, e)| e.nonce < account_nonce(&e.sender))
            .map(|(h, _)| *h)
            .collect();
        drop(inner);
        self.remove(stale);
    }

    /// The nonce after the highest one `sender` has waiting, if any.
    pub fn next_nonce(&self, sender: &Address) -> Option<u64> {
        let inner = self.inner.lock().expect("mempool lock");
        inner
            .entries
            .values()
            .filter(|e| &e.sender == sender)
            .map(|e| e.nonce + 1)
            .max()
    }

    /// Whether `hash` is waiting.
    pub fn contains(&self, hash: &Hash32) -> bool {
        self.inner
            .lock()
            .expect("mempool lock")
            .entries
            .contains_key(hash)
    }

    /// Number of transactions waiting.
    pub fn len(&self) -> usize {
        self.inner.lock().expect("mempool lock").entries.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> Hash32 {
        Hash32([n; 32])
    }

    #[test]
    fn proposals_keep_nonce_order_and_do_not_repeat() {
        let pool = Mempool::default();
        let (a, b) = (Address([1; 20]), Address([2; 20]));
        pool.insert(h(1), Bytes::from_static(b"a6"), a, 6).unwrap();
        pool.insert(h(2), Bytes::from_static(b"b0"), b, 0).unwrap();
        pool.insert(h(3), Bytes::from_static(b"a5"), a, 5).unwrap();
        pool.insert(h(3), Bytes::from_static(b"a5"), a, 5).unwrap();
        assert_eq!(pool.len(), 3);
        let block = pool.take(10, 1 << 20);
        assert_eq!(
            block,
            vec![
                Bytes::from_static(b"a5"),
                Bytes::from_static(b"b0"),
                Bytes::from_static(b"a6")
            ]
        );
        assert!(
            pool.take(10, 1 << 20).is_empty(),
            "held back while the proposal is in flight"
        );
        assert_eq!(pool.next_nonce(&a), Some(7));
        pool.remove([h(2)]);
        pool.prune(|s| if *s == a { 6 } else { 0 });
        assert_eq!(pool.len(), 1);
        assert!(pool.contains(&h(1)));
    }

    #[test]
    fn held_back_proposals_return_after_the_delay_on_the_given_clock() {
        let pool = Mempool::default();
        pool.insert(h(1), Bytes::from_static(b"a0"), Address([1; 20]), 0)
            .unwrap();
        let t0 = Duration::from_secs(100);
        assert_eq!(pool.take_at(10, 1 << 20, t0).len(), 1);
        let almost = t0 + REPROPOSE_AFTER - Duration::from_millis(1);
        assert!(pool.take_at(10, 1 << 20, almost).is_empty());
        assert_eq!(pool.take_at(10, 1 << 20, t0 + REPROPOSE_AFTER).len(), 1);
    }

    #[test]
    fn limits_are_respected() {
        let pool = Mempool::default();
        for i in 0..5u8 {
            pool.insert(h(i), Bytes::from(vec![i; 100]), Address([i; 20]), 0)
                .unwrap();
        }
        assert_eq!(pool.take(2, 1 << 20).len(), 2);
        assert_eq!(pool.take(10, 250).len(), 2);
    }
}
