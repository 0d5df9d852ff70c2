//! The durable receipt queue: `<data dir>/receipts.redb`.
//!
//! # Guarantee
//! A call is answered only after its [`PaidCall`] (ticket, caller signature, receipt, node
//! signature) is committed to this file: the queue's `push` returns `Ok` only once redb's
//! commit has returned, which writes the pages, `fsync`s, flips the commit slot and `fsync`s
//! again (two-phase commit, because tickets carry caller-chosen bytes; quick repair, so opening
//! after a crash does not scan the file). So after a crash or power loss, every call this node
//! answered is either still queued here or was already removed after the ledger judged it, and
//! the next start submits what is queued. A call is removed only after the ledger's outcome for
//! the batch carrying it is known, so a call can be submitted twice (crash between the outcome
//! and the removal) but never lost; the ledger refuses the second submission as `duplicate`.
//!
//! # Tables
//! - `queue`: sequence number (`u64`, increasing in serving order) → borsh [`PaidCall`].
//! - `served`: call id → borsh `(caller, ticket nonce, expiry)` of every ticket served, kept
//!   until [`PRUNE_AFTER_MS`] after its expiry. A ticket or a `(caller, nonce)` pair found here is
//!   refused: the ledger pays each at most once, so serving it again would be unpaid work.
//!   Pruned tickets have expired, and an expired ticket is refused before this table is asked.
//! - `inputs`: call id → borsh [`StoredInput`], the model input of every served call, committed
//!   with the call and pruned with its `served` entry. The ledger samples a call for audit one
//!   block after accepting it, and accepts it at the latest at its ticket's expiry, so the input
//!   is still here when the node must reveal it (within the reveal window, well under
//!   [`PRUNE_AFTER_MS`] after the expiry).
//!
//! # Concurrency
//! One thread owns the database and performs every read and write, in arrival order. Pushes that
//! arrive while a commit runs are committed together in the next transaction (group commit), so
//! durability costs one commit per group, not per call, and a ticket pushed twice in one group
//! is refused the second time. The request path's questions (served before? queued charges of a
//! caller? queue length?) are answered from an in-memory mirror that the thread updates after
//! each commit; the thread checks the mirror again before committing, so a check that raced a
//! concurrent push is caught there.
//!
//! # Limits
//! At most [`MAX_QUEUED_CALLS`] calls wait; beyond that new calls are refused (the ledger has
//! been unreachable for long). A group commits at most [`MAX_GROUP`] pushes; a removal prunes at
//! most [`MAX_PRUNE`] served tickets.

use borsh::{BorshDeserialize, BorshSerialize};
use redb::{Builder, Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use std::{
    collections::{BTreeSet, HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, mpsc},
    thread::JoinHandle,
};
use tokio::sync::oneshot;
use verity_ledger::{Address, Amount, CallId, Hash32, PaidCall, TimeMs};

/// Most calls waiting for submission.
pub const MAX_QUEUED_CALLS: usize = 100_000;
/// Most pushes committed in one transaction.
pub const MAX_GROUP: usize = 1_024;
/// Most served tickets pruned by one removal.
pub const MAX_PRUNE: usize = 10_000;
/// A served ticket is forgotten this long after its expiry (a margin for clock adjustments).
pub const PRUNE_AFTER_MS: TimeMs = 60_000;

const QUEUE: TableDefinition<u64, &[u8]> = TableDefinition::new("queue");
const SERVED: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("served");
const INPUTS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("inputs");

/// The input of a served call, kept so the node can reveal it if the call is audited.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct StoredInput {
    /// The model input the node ran, as little-endian f32 values.
    pub tensor: Vec<u8>,
    /// The image the caller sent, when it sent one (its hash is the ticket's input hash).
    pub image: Option<Vec<u8>>,
}

/// Why the queue cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The file cannot be opened or created.
    #[error(
        "cannot open the receipt queue {path}: {reason}; if another provider node uses this data directory, stop it or pick another data directory"
    )]
    Open {
        /// The file.
        path: PathBuf,
        /// redb's error.
        reason: String,
    },
    /// A stored entry does not decode.
    #[error(
        "the receipt queue {path} holds an entry that does not decode ({reason}); move the file aside to start with an empty queue"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The decoding error.
        reason: String,
    },
    /// A read or commit failed.
    #[error("the receipt queue failed: {0}")]
    Storage(String),
    /// The queue was closed.
    #[error("the receipt queue is closed")]
    Closed,
}

/// Why a served call was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The ticket was served before.
    Duplicate,
    /// Another ticket of the caller with this nonce was served before.
    NonceUsed,
    /// [`MAX_QUEUED_CALLS`] calls are waiting.
    Full,
    /// The commit failed.
    Failed(QueueError),
}

/// What an earlier call already took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Served {
    /// This very ticket.
    Ticket,
    /// This caller's ticket nonce, with another ticket.
    Nonce,
}

/// A queued call and its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Queued {
    /// Sequence number.
    pub seq: u64,
    /// The call.
    pub call: PaidCall,
}

/// What the `served` table keeps of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
struct ServedRecord {
    caller: Address,
    nonce: u64,
    expiry_ms: TimeMs,
}

impl ServedRecord {
    fn of(call: &PaidCall) -> Self {
        Self {
            caller: call.ticket.caller,
            nonce: call.ticket.nonce,
            expiry_ms: call.ticket.expiry_ms,
        }
    }
}

/// The in-memory picture of the file, updated after each commit.
#[derive(Default)]
struct Mirror {
    queued: usize,
    charges: HashMap<Address, Amount>,
    served: HashMap<CallId, ServedRecord>,
    nonces: HashSet<(Address, u64)>,
    by_expiry: BTreeSet<(TimeMs, CallId)>,
}

impl Mirror {
    fn served(&self, id: &CallId, caller: Address, nonce: u64) -> Option<Served> {
        if self.served.contains_key(id) {
            Some(Served::Ticket)
        } else if self.nonces.contains(&(caller, nonce)) {
            Some(Served::Nonce)
        } else {
            None
        }
    }

    fn add_served(&mut self, id: CallId, record: ServedRecord) {
        self.nonces.insert((record.caller, record.nonce));
        self.by_expiry.insert((record.expiry_ms, id));
        self.served.insert(id, record);
    }

    fn add_queued(&mut self, call: &PaidCall) {
        self.queued += 1;
        *self.charges.entry(call.ticket.caller).or_default() += call.receipt.price;
    }

    fn remove_queued(&mut self, caller: Address, price: Amount) {
        self.queued -= 1;
        if let Some(charge) = self.charges.get_mut(&caller) {
            *charge = charge.saturating_sub(price);
            if *charge == 0 {
                self.charges.remove(&caller);
            }
        }
    }
}

type Reply<T> = oneshot::Sender<T>;

/// A call to queue, its input, and where to answer.
type Pending = (Box<(PaidCall, StoredInput)>, Reply<Result<(), PushError>>);

enum Op {
    Push(Pending),
    Input(CallId, Reply<Result<Option<StoredInput>, QueueError>>),
    Oldest(usize, Reply<Result<Vec<Queued>, QueueError>>),
    Remove(Vec<u64>, TimeMs, Reply<Result<(), QueueError>>),
    Close,
}

/// Handle to the queue; its thread owns the database.
pub(crate) struct ReceiptQueue {
    ops: mpsc::Sender<Op>,
    mirror: Arc<Mutex<Mirror>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn storage(e: impl Into<redb::Error>) -> QueueError {
    QueueError::Storage(e.into().to_string())
}

impl ReceiptQueue {
    /// Open (creating if needed) the queue at `path` and start its thread.
    pub fn open(path: &Path) -> Result<Self, QueueError> {
        Self::open_with(path, MAX_QUEUED_CALLS)
    }

    fn open_with(path: &Path, max_queued: usize) -> Result<Self, QueueError> {
        let open_error = |reason: String| QueueError::Open {
            path: path.to_path_buf(),
            reason,
        };
        let db = Builder::new()
            .create(path)
            .map_err(|e| open_error(e.to_string()))?;
        let mut txn = db.begin_write().map_err(|e| open_error(e.to_string()))?;
        txn.set_two_phase_commit(true);
        txn.set_quick_repair(true);
        txn.open_table(QUEUE)
            .map_err(|e| open_error(e.to_string()))?;
        txn.open_table(SERVED)
            .map_err(|e| open_error(e.to_string()))?;
        txn.open_table(INPUTS)
            .map_err(|e| open_error(e.to_string()))?;
        txn.commit().map_err(|e| open_error(e.to_string()))?;
        let (mirror, next_seq) = load(&db, path)?;
        let mirror = Arc::new(Mutex::new(mirror));
        let (ops, rx) = mpsc::channel();
        let actor = Actor {
            db,
            mirror: mirror.clone(),
            next_seq,
            max_queued,
        };
        let thread = std::thread::Builder::new()
            .name("verity-receipts".into())
            .spawn(move || actor.run(rx))
            .map_err(|e| open_error(e.to_string()))?;
        Ok(Self {
            ops,
            mirror,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Calls waiting for submission.
    pub fn len(&self) -> usize {
        lock(&self.mirror).queued
    }

    /// Sum of the prices of `caller`'s queued calls: charges the ledger does not know yet.
    pub fn pending_charges(&self, caller: &Address) -> Amount {
        lock(&self.mirror).charges.get(caller).copied().unwrap_or(0)
    }

    /// Whether this ticket, or another of the caller's with the same nonce, was served.
    pub fn served(&self, id: &CallId, caller: Address, nonce: u64) -> Option<Served> {
        lock(&self.mirror).served(id, caller, nonce)
    }

    /// Queue a served call with its input; `Ok` means both are durably committed.
    pub async fn push(&self, call: PaidCall, input: StoredInput) -> Result<(), PushError> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(Op::Push((Box::new((call, input)), reply)))
            .map_err(|_| PushError::Failed(QueueError::Closed))?;
        answer
            .await
            .unwrap_or(Err(PushError::Failed(QueueError::Closed)))
    }

    /// The stored input of served call `id`, if it is still kept.
    pub async fn input(&self, id: CallId) -> Result<Option<StoredInput>, QueueError> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(Op::Input(id, reply))
            .map_err(|_| QueueError::Closed)?;
        answer.await.unwrap_or(Err(QueueError::Closed))
    }

    /// The oldest `max` queued calls, oldest first.
    pub async fn oldest(&self, max: usize) -> Result<Vec<Queued>, QueueError> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(Op::Oldest(max, reply))
            .map_err(|_| QueueError::Closed)?;
        answer.await.unwrap_or(Err(QueueError::Closed))
    }

    /// Remove the calls at `seqs` (absent ones are ignored) and forget served tickets that
    /// expired before `prune_before_ms`, in one commit.
    pub async fn remove(&self, seqs: Vec<u64>, prune_before_ms: TimeMs) -> Result<(), QueueError> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(Op::Remove(seqs, prune_before_ms, reply))
            .map_err(|_| QueueError::Closed)?;
        answer.await.unwrap_or(Err(QueueError::Closed))
    }

    /// Finish the operations already sent, close the file and stop the thread. Blocks until
    /// then (at most one commit). Later operations fail with [`QueueError::Closed`].
    pub fn close(&self) {
        let _ = self.ops.send(Op::Close);
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ReceiptQueue {
    /// Closing is deterministic: once the handle is gone, so is the file lock.
    fn drop(&mut self) {
        self.close();
    }
}

/// Read the whole file into a mirror; also the next sequence number.
fn load(db: &Database, path: &Path) -> Result<(Mirror, u64), QueueError> {
    let corrupt = |reason: String| QueueError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let txn = db.begin_read().map_err(storage)?;
    let mut mirror = Mirror::default();
    let mut next_seq = 0;
    let queue = txn.open_table(QUEUE).map_err(storage)?;
    for entry in queue.iter().map_err(storage)? {
        let (seq, bytes) = entry.map_err(storage)?;
        let call = PaidCall::try_from_slice(bytes.value())
            .map_err(|e| corrupt(format!("queued call {}: {e}", seq.value())))?;
        mirror.add_queued(&call);
        next_seq = seq.value() + 1;
    }
    let served = txn.open_table(SERVED).map_err(storage)?;
    for entry in served.iter().map_err(storage)? {
        let (id, bytes) = entry.map_err(storage)?;
        let id = Hash32(*id.value());
        let record = ServedRecord::try_from_slice(bytes.value())
            .map_err(|e| corrupt(format!("served ticket {id}: {e}")))?;
        mirror.add_served(id, record);
    }
    Ok((mirror, next_seq))
}

/// The thread that owns the database.
struct Actor {
    db: Database,
    mirror: Arc<Mutex<Mirror>>,
    next_seq: u64,
    max_queued: usize,
}

impl Actor {
    fn run(mut self, rx: mpsc::Receiver<Op>) {
        let mut closing = false;
        while !closing {
            let Ok(first) = rx.recv() else { break };
            let mut ops = vec![first];
            while ops.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(op) => ops.push(op),
                    Err(_) => break,
                }
            }
            let mut pushes = Vec::new();
            let mut others = Vec::new();
            for op in ops {
                match op {
                    Op::Push(pending) => pushes.push(pending),
                    Op::Close => closing = true,
                    other => others.push(other),
                }
            }
            if !pushes.is_empty() {
                self.push_group(pushes);
            }
            for op in others {
                match op {
                    Op::Oldest(max, reply) => {
                        let _ = reply.send(self.oldest(max));
                    }
                    Op::Remove(seqs, cutoff, reply) => {
                        let _ = reply.send(self.remove(&seqs, cutoff));
                    }
                    Op::Input(id, reply) => {
                        let _ = reply.send(self.input(&id));
                    }
                    Op::Push(..) | Op::Close => unreachable!("sorted out above"),
                }
            }
        }
        if let Err(e) = self.db.close() {
            tracing::error!(error = %e, "closing the receipt queue failed");
        }
    }

    fn write(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), QueueError> {
        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_two_phase_commit(true);
        txn.set_quick_repair(true);
        f(&txn).map_err(|e| QueueError::Storage(e.to_string()))?;
        txn.commit().map_err(storage)
    }

    /// Judge each push against the mirror and the rest of the group, commit the accepted ones
    /// in one transaction, then answer each.
    fn push_group(&mut self, pushes: Vec<Pending>) {
        let mut verdicts = Vec::with_capacity(pushes.len());
        {
            let mirror = lock(&self.mirror);
            let mut ids = HashSet::new();
            let mut nonces = HashSet::new();
            let mut queued = mirror.queued;
            for (pending, _) in &pushes {
                let call = &pending.0;
                let id = call.ticket.id();
                let key = (call.ticket.caller, call.ticket.nonce);
                verdicts.push(if mirror.served.contains_key(&id) || !ids.insert(id) {
                    Err(PushError::Duplicate)
                } else if mirror.nonces.contains(&key) || !nonces.insert(key) {
                    Err(PushError::NonceUsed)
                } else if queued >= self.max_queued {
                    Err(PushError::Full)
                } else {
                    queued += 1;
                    Ok(id)
                });
            }
        }
        let first_seq = self.next_seq;
        let written = self.write(|txn| {
            let mut queue = txn.open_table(QUEUE)?;
            let mut served = txn.open_table(SERVED)?;
            let mut inputs = txn.open_table(INPUTS)?;
            let mut seq = first_seq;
            for ((pending, _), verdict) in pushes.iter().zip(&verdicts) {
                if let Ok(id) = verdict {
                    let (call, input) = &**pending;
                    let bytes = borsh::to_vec(call).expect("encoding to memory cannot fail");
                    queue.insert(seq, bytes.as_slice())?;
                    let record = borsh::to_vec(&ServedRecord::of(call))
                        .expect("encoding to memory cannot fail");
                    served.insert(&id.0, record.as_slice())?;
                    let input = borsh::to_vec(input).expect("encoding to memory cannot fail");
                    inputs.insert(&id.0, input.as_slice())?;
                    seq += 1;
                }
            }
            Ok(())
        });
        match &written {
            Ok(()) => {
                let mut mirror = lock(&self.mirror);
                for ((pending, _), verdict) in pushes.iter().zip(&verdicts) {
                    let call = &pending.0;
                    if let Ok(id) = verdict {
                        mirror.add_queued(call);
                        mirror.add_served(*id, ServedRecord::of(call));
                        self.next_seq += 1;
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, calls = pushes.len(), "committing served calls failed")
            }
        }
        for ((_, reply), verdict) in pushes.into_iter().zip(verdicts) {
            let answer = match (verdict, &written) {
                (Ok(_), Ok(())) => Ok(()),
                (Ok(_), Err(e)) => Err(PushError::Failed(e.clone())),
                (Err(refusal), _) => Err(refusal),
            };
            let _ = reply.send(answer);
        }
    }

    fn oldest(&self, max: usize) -> Result<Vec<Queued>, QueueError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let queue = txn.open_table(QUEUE).map_err(storage)?;
        let mut out = Vec::new();
        for entry in queue.iter().map_err(storage)?.take(max) {
            let (seq, bytes) = entry.map_err(storage)?;
            let call = PaidCall::try_from_slice(bytes.value()).map_err(|e| {
                QueueError::Storage(format!("queued call {} does not decode: {e}", seq.value()))
            })?;
            out.push(Queued {
                seq: seq.value(),
                call,
            });
        }
        Ok(out)
    }

    fn input(&self, id: &CallId) -> Result<Option<StoredInput>, QueueError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let inputs = txn.open_table(INPUTS).map_err(storage)?;
        let Some(bytes) = inputs.get(&id.0).map_err(storage)? else {
            return Ok(None);
        };
        StoredInput::try_from_slice(bytes.value())
            .map(Some)
            .map_err(|e| {
                QueueError::Storage(format!("stored input of call {id} does not decode: {e}"))
            })
    }

    fn remove(&mut self, seqs: &[u64], prune_before_ms: TimeMs) -> Result<(), QueueError> {
        let expired: Vec<(TimeMs, CallId)> = lock(&self.mirror)
            .by_expiry
            .range(..(prune_before_ms, Hash32::default()))
            .take(MAX_PRUNE)
            .copied()
            .collect();
        let mut removed: Vec<(Address, Amount)> = Vec::new();
        self.write(|txn| {
            let mut queue = txn.open_table(QUEUE)?;
            for seq in seqs {
                if let Some(bytes) = queue.remove(seq)? {
                    let call = PaidCall::try_from_slice(bytes.value())
                        .map_err(|e| redb::Error::Corrupted(e.to_string()))?;
                    removed.push((call.ticket.caller, call.receipt.price));
                }
            }
            let mut served = txn.open_table(SERVED)?;
            let mut inputs = txn.open_table(INPUTS)?;
            for (_, id) in &expired {
                served.remove(&id.0)?;
                inputs.remove(&id.0)?;
            }
            Ok(())
        })?;
        let mut mirror = lock(&self.mirror);
        for (caller, price) in removed {
            mirror.remove_queued(caller, price);
        }
        for entry in expired {
            mirror.by_expiry.remove(&entry);
            if let Some(record) = mirror.served.remove(&entry.1) {
                mirror.nonces.remove(&(record.caller, record.nonce));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_ledger::{Keypair, Mode, Namespaces, Receipt, Ticket};

    fn input() -> StoredInput {
        StoredInput {
            tensor: vec![0; 256],
            image: None,
        }
    }

    fn call(caller_seed: u64, nonce: u64, expiry_ms: TimeMs, price: Amount) -> PaidCall {
        let caller = Keypair::from_seed(caller_seed);
        let node = Keypair::from_seed(99);
        let ns = Namespaces::new("queue-test");
        let ticket = Ticket {
            caller: caller.address(),
            model: Hash32([7; 32]),
            node: node.address(),
            input_hash: Hash32([nonce as u8; 32]),
            mode: Mode::Signed,
            price_cap: price,
            nonce,
            expiry_ms,
        };
        let receipt = Receipt {
            ticket: ticket.id(),
            output_hash: Hash32([1; 32]),
            price,
            time_ms: 1,
        };
        PaidCall {
            ticket_signature: ticket.sign(&caller, &ns),
            receipt_signature: receipt.sign(&node, &ns),
            ticket,
            receipt,
        }
    }

    #[tokio::test]
    async fn pushed_calls_survive_reopening_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("receipts.redb");
        let q = ReceiptQueue::open(&path).unwrap();
        let calls: Vec<_> = (0..3).map(|n| call(1, n, 10_000, 5)).collect();
        for c in &calls {
            q.push(c.clone(), input()).await.unwrap();
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.pending_charges(&calls[0].ticket.caller), 15);
        q.close();
        assert_eq!(q.oldest(10).await, Err(QueueError::Closed));

        let q = ReceiptQueue::open(&path).unwrap();
        assert_eq!(q.len(), 3);
        let oldest = q.oldest(2).await.unwrap();
        assert_eq!(
            oldest.iter().map(|c| &c.call).collect::<Vec<_>>(),
            vec![&calls[0], &calls[1]]
        );
        let c = &calls[2];
        assert_eq!(
            q.served(&c.ticket.id(), c.ticket.caller, c.ticket.nonce),
            Some(Served::Ticket)
        );
        // Inputs survive too, for revealing audited calls.
        assert_eq!(q.input(c.ticket.id()).await.unwrap(), Some(input()));
        assert_eq!(q.input(Hash32([3; 32])).await.unwrap(), None);
        q.remove(vec![oldest[0].seq, oldest[1].seq], 0)
            .await
            .unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q.pending_charges(&c.ticket.caller), 5);
        // Removed calls are still remembered as served.
        assert_eq!(
            q.push(calls[0].clone(), input()).await,
            Err(PushError::Duplicate)
        );
        q.close();
        let q = ReceiptQueue::open(&path).unwrap();
        assert_eq!(q.oldest(10).await.unwrap()[0].call, calls[2]);
        let next = call(2, 0, 10_000, 1);
        q.push(next.clone(), input()).await.unwrap();
        let seqs: Vec<u64> = q.oldest(10).await.unwrap().iter().map(|c| c.seq).collect();
        assert!(
            seqs[0] < seqs[1],
            "sequence numbers keep increasing: {seqs:?}"
        );
    }

    #[tokio::test]
    async fn duplicates_and_reused_nonces_are_refused_even_in_one_group() {
        let dir = tempfile::tempdir().unwrap();
        let q = Arc::new(ReceiptQueue::open(&dir.path().join("r.redb")).unwrap());
        let a = call(1, 7, 10_000, 5);
        let mut same_nonce = call(1, 7, 10_000, 5);
        same_nonce.ticket.input_hash = Hash32([42; 32]);
        let pushes = [a.clone(), a.clone(), same_nonce.clone()].map(|c| {
            let q = q.clone();
            tokio::spawn(async move { q.push(c, input()).await })
        });
        let mut results = Vec::new();
        for p in pushes {
            results.push(p.await.unwrap());
        }
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert_eq!(q.len(), 1);
        assert_eq!(
            q.served(&same_nonce.ticket.id(), a.ticket.caller, 7),
            Some(Served::Nonce)
        );
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_expired_tickets_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let q = ReceiptQueue::open_with(&dir.path().join("r.redb"), 2).unwrap();
        q.push(call(1, 0, 100, 1), input()).await.unwrap();
        q.push(call(1, 1, 5_000, 1), input()).await.unwrap();
        assert_eq!(
            q.push(call(1, 2, 100, 1), input()).await,
            Err(PushError::Full)
        );
        let queued = q.oldest(10).await.unwrap();
        q.remove(queued.iter().map(|c| c.seq).collect(), 1_000)
            .await
            .unwrap();
        assert_eq!(q.len(), 0);
        let early = call(1, 0, 100, 1);
        assert_eq!(q.served(&early.ticket.id(), early.ticket.caller, 0), None);
        let late = call(1, 1, 5_000, 1);
        assert_eq!(
            q.served(&late.ticket.id(), late.ticket.caller, 1),
            Some(Served::Ticket)
        );
    }
}
