//! The receipt batcher: gets the queue's calls paid.
//!
//! One task per node submits the oldest queued calls as one `SubmitReceipts` transaction:
//!
//! - **When**: every batch interval; at once when a full batch is queued; and back to back
//!   while draining for shutdown. At start it submits whatever the queue reloaded.
//! - **One batch at a time**, so the node's transactions go in nonce order. The account nonce is
//!   read from the ledger once and then counted locally; it is read again after a `bad_nonce`
//!   rejection (and the batch resubmitted at once), and after any failure that leaves unknown
//!   whether the ledger took the transaction.
//! - **Fee**: what the ledger requires for that many calls (`Params::required_fee`).
//! - **Size**: at most [`batch_limit`] calls; halved if the ledger still finds it too large.
//!
//! After submitting, it waits for the transaction's outcome (at most [`OUTCOME_TIMEOUT`]), then:
//!
//! | outcome | the calls | counted as |
//! |---|---|---|
//! | applied | each removed | `accepted` (and its price as earned), or the call's refusal code |
//! | rejected before inclusion because every call is refused | one call: removed; several: resubmitted one by one to learn each call's refusal | the refusal code |
//! | rejected, failed, timed out, ledger unreachable | kept, retried after a backoff doubling from the batch interval up to [`MAX_BACKOFF`] | nothing |
//!
//! A call is removed only once the ledger has judged it, so a crash between the outcome and the
//! removal makes the next start submit it again; the ledger then refuses it as `duplicate` and it
//! is dropped. No call is ever paid twice: the ledger accepts a ticket at most once.

use crate::{
    queue::{PRUNE_AFTER_MS, Queued},
    state::{Shared, Submission, now_ms},
};
use std::{collections::HashSet, sync::Arc, time::Duration};
use tokio::{sync::watch, time::Instant};
use verity_client::ClientError;
use verity_ledger::{
    Hash32, Mode, PaidCall, Params, Payload, Receipt, SignatureBytes, Ticket, Transaction,
    TxOutcome, TxStatus,
    state::AuditStatus,
    tx::{CallProof, Reveal},
};

/// Longest wait for a submitted batch's outcome.
pub const OUTCOME_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait between retries of a failed submission.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How often the node asks the ledger whether one of its calls was sampled for audit.
pub const AUDIT_POLL: Duration = Duration::from_secs(1);
/// Revealed call ids remembered (so a reveal is not sent twice while its block is pending).
const MAX_REMEMBERED_REVEALS: usize = 100_000;
/// Bytes of a transaction besides its calls, with room to spare.
const TX_OVERHEAD_BYTES: usize = 1_024;

/// Every code the ledger refuses a call of a batch with (`CallRefusal::code`).
pub const REFUSAL_CODES: [&str; 15] = [
    "bad_ticket_signature",
    "bad_receipt_signature",
    "unknown_caller",
    "receipt_mismatch",
    "wrong_node",
    "expired",
    "lifetime_too_long",
    "answered_after_expiry",
    "duplicate",
    "nonce_used",
    "price_above_cap",
    "unknown_model",
    "mode_not_supported",
    "not_offered",
    "insufficient_escrow",
];

/// Most calls per batch: the configured maximum, the ledger's `max_calls_per_batch`, and what
/// fits in its `max_tx_bytes`.
pub fn batch_limit(configured: usize, params: &Params) -> usize {
    let call_bytes = borsh::to_vec(&PaidCall {
        ticket: Ticket {
            caller: verity_ledger::Address([0; 20]),
            model: Hash32::default(),
            node: verity_ledger::Address([0; 20]),
            input_hash: Hash32::default(),
            mode: Mode::Signed,
            price_cap: 0,
            nonce: 0,
            expiry_ms: 0,
        },
        ticket_signature: SignatureBytes([0; 64]),
        receipt: Receipt {
            ticket: Hash32::default(),
            output_hash: Hash32::default(),
            price: 0,
            time_ms: 0,
        },
        receipt_signature: SignatureBytes([0; 64]),
    })
    .expect("encoding to memory cannot fail")
    .len();
    let by_size = (params.max_tx_bytes as usize).saturating_sub(TX_OVERHEAD_BYTES) / call_bytes;
    configured
        .min(params.max_calls_per_batch as usize)
        .min(by_size)
        .max(1)
}

/// What became of one submission.
enum Sent {
    /// Included in a block.
    Outcome(TxOutcome),
    /// Rejected before inclusion because the ledger would refuse every call; the first refusal.
    AllRefused(&'static str, String),
    /// Too large for the ledger.
    TooLarge,
    /// Not judged; the calls stay queued.
    Failed(Option<Hash32>, String),
}

/// The batcher task's state.
pub(crate) struct Batcher {
    node: Arc<Shared>,
    interval: Duration,
    limit: usize,
    nonce: Option<u64>,
    revealed: HashSet<Hash32>,
    /// zk-mode calls the ledger accepted whose proofs are not submitted yet.
    accepted: HashSet<Hash32>,
}

impl Batcher {
    /// A batcher for `node`, submitting at least every `interval`.
    pub fn new(node: Arc<Shared>, interval: Duration) -> Self {
        let limit = node.batch_limit;
        Self {
            node,
            interval,
            limit,
            nonce: None,
            revealed: HashSet::new(),
            accepted: HashSet::new(),
        }
    }

    /// Run until `drain` turns true and the queue is empty (or the sender is dropped). Between
    /// batches it checks every [`AUDIT_POLL`] whether the ledger sampled one of this node's
    /// calls for audit, and reveals the inputs (see [`Batcher::reveal_sampled`]).
    pub async fn run(mut self, mut drain: watch::Receiver<bool>) {
        let mut backoff = self.interval;
        let mut due = Instant::now();
        loop {
            if !*drain.borrow() {
                let wake = due.min(Instant::now() + AUDIT_POLL);
                tokio::select! {
                    _ = tokio::time::sleep_until(wake) => {}
                    _ = self.node.batch_ready.notified() => due = Instant::now(),
                    changed = drain.changed() => if changed.is_err() { return },
                }
            }
            self.reveal_sampled().await;
            self.submit_proofs().await;
            let draining = *drain.borrow();
            if !draining && Instant::now() < due {
                continue;
            }
            let delay;
            if self.round(draining).await {
                delay = self.interval;
                backoff = self.interval;
                if draining && self.node.queue.len() == 0 {
                    return;
                }
            } else {
                delay = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                if draining {
                    tokio::time::sleep(delay).await;
                }
            }
            due = Instant::now() + delay;
        }
    }

    /// Submit the proofs the prover made, for calls whose receipts the ledger has accepted (a
    /// proof of a call not on the ledger yet would be refused). A proof the ledger refuses is
    /// dropped: either the call was settled already or it is no longer awaiting a proof.
    async fn submit_proofs(&mut self) {
        let mut ready: Vec<CallProof> = {
            let mut proofs = self.node.proofs.lock().unwrap_or_else(|e| e.into_inner());
            let (now, later): (Vec<_>, Vec<_>) = proofs
                .drain(..)
                .partition(|p| self.accepted.contains(&p.call));
            *proofs = later;
            now
        };
        while !ready.is_empty() {
            let take = ready
                .len()
                .min(self.node.params.zk.max_proofs_per_tx as usize);
            let proofs: Vec<CallProof> = ready.drain(..take).collect();
            let calls: Vec<Hash32> = proofs.iter().map(|p| p.call).collect();
            match self.send(Payload::SubmitProofs { proofs }).await {
                Sent::Outcome(outcome) if outcome.status == TxStatus::Applied => {
                    tracing::info!(proofs = calls.len(), "zk proofs submitted");
                }
                Sent::Outcome(outcome) => {
                    tracing::warn!(status = ?outcome.status, "zk proofs not applied")
                }
                Sent::AllRefused(code, message) => {
                    tracing::warn!(code, %message, "zk proofs refused")
                }
                Sent::TooLarge => tracing::warn!("the zk proof transaction is too large"),
                Sent::Failed(_, reason) => tracing::warn!(%reason, "submitting zk proofs failed"),
            }
            for call in calls {
                self.accepted.remove(&call);
            }
        }
    }

    /// Reveal the stored inputs of this node's calls that the ledger sampled for audit. A call
    /// whose input is no longer stored cannot be revealed; the ledger will judge it silent.
    async fn reveal_sampled(&mut self) {
        let me = self.node.address;
        let Ok(audits) = self.node.ledger.call(|c| c.audits()).await else {
            return;
        };
        let waiting: Vec<Hash32> = audits
            .into_iter()
            .filter(|a| {
                a.node == Some(me)
                    && matches!(a.status, AuditStatus::AwaitingInput { .. })
                    && !self.revealed.contains(&a.call)
            })
            .map(|a| a.call)
            .collect();
        let mut reveals = Vec::with_capacity(waiting.len());
        for call in waiting {
            match self.node.queue.input(call).await {
                Ok(Some(input)) => reveals.push(Reveal {
                    call,
                    tensor: input.tensor,
                    image: input.image,
                }),
                Ok(None) => {
                    tracing::error!(%call, "a sampled call's input is no longer stored; it cannot be revealed")
                }
                Err(e) => tracing::error!(%call, error = %e, "cannot read a sampled call's input"),
            }
        }
        if reveals.is_empty() {
            return;
        }
        let calls: Vec<Hash32> = reveals.iter().map(|r| r.call).collect();
        match self.send(Payload::RevealInputs { reveals }).await {
            Sent::Outcome(outcome) if outcome.status == TxStatus::Applied => {
                tracing::info!(calls = calls.len(), "inputs of audited calls revealed");
                if self.revealed.len() > MAX_REMEMBERED_REVEALS {
                    self.revealed.clear();
                }
                self.revealed.extend(calls);
            }
            Sent::Outcome(outcome) => {
                tracing::warn!(status = ?outcome.status, "revealing audited inputs failed")
            }
            Sent::AllRefused(code, message) => {
                tracing::warn!(code, %message, "revealing audited inputs was refused")
            }
            Sent::TooLarge => tracing::warn!("the reveal transaction is too large"),
            Sent::Failed(_, reason) => tracing::warn!(%reason, "revealing audited inputs failed"),
        }
    }

    /// Submit batches while a full one is queued (or, when draining, while any call is); false
    /// when a submission failed.
    async fn round(&mut self, draining: bool) -> bool {
        loop {
            let batch = match self.node.queue.oldest(self.limit).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the receipt queue");
                    return false;
                }
            };
            if batch.is_empty() {
                return true;
            }
            if !self.submit(batch).await {
                return false;
            }
            let queued = self.node.queue.len();
            if queued == 0 || (queued < self.limit && !draining) {
                return true;
            }
        }
    }

    /// Submit one batch and act on the outcome; false when the calls stay queued.
    async fn submit(&mut self, batch: Vec<Queued>) -> bool {
        let calls: Vec<PaidCall> = batch.iter().map(|q| q.call.clone()).collect();
        match self.send(Payload::SubmitReceipts { calls }).await {
            Sent::Outcome(outcome) => match &outcome.status {
                TxStatus::Applied => self.judged(&batch, &outcome).await,
                TxStatus::Failed { code, message } | TxStatus::Rejected { code, message } => {
                    if matches!(outcome.status, TxStatus::Rejected { .. }) {
                        self.nonce = None;
                    }
                    self.failed(
                        Some(outcome.hash),
                        format!("the ledger did not apply the batch: {message} [{code}]"),
                    );
                    false
                }
            },
            Sent::AllRefused(code, message) if batch.len() == 1 => {
                tracing::warn!(call = %batch[0].call.ticket.id(), code, reason = %message, "the ledger refuses the call; dropping it");
                self.node.metrics.refused(code);
                let removed = self.remove(&batch).await;
                self.node.set_last_submission(Submission {
                    time_ms: now_ms(),
                    tx: None,
                    accepted: 0,
                    refused: 1,
                    error: None,
                });
                removed
            }
            Sent::AllRefused(code, _) => {
                tracing::info!(
                    calls = batch.len(),
                    first_refusal = code,
                    "the ledger refuses every call of the batch; resubmitting them one by one"
                );
                for call in batch {
                    if !Box::pin(self.submit(vec![call])).await {
                        return false;
                    }
                }
                true
            }
            Sent::TooLarge => {
                self.limit = (self.limit / 2).max(1);
                self.failed(
                    None,
                    format!(
                        "the batch is too large for the ledger; batches now carry at most {} calls",
                        self.limit
                    ),
                );
                false
            }
            Sent::Failed(tx, reason) => {
                self.failed(tx, reason);
                false
            }
        }
    }

    /// Sign and submit `payload`, then wait for the outcome.
    async fn send(&mut self, payload: Payload) -> Sent {
        let node = &self.node;
        let fee = node.params.required_fee(payload.call_count());
        for attempt in 0..2 {
            let nonce = match self.nonce {
                Some(n) => n,
                None => {
                    let address = node.address;
                    match node.ledger.call(move |c| c.account(&address)).await {
                        Ok(view) => view.next_nonce,
                        Err(e) => {
                            return Sent::Failed(
                                None,
                                format!("cannot read the node's nonce: {e}"),
                            );
                        }
                    }
                }
            };
            let tx = Transaction {
                signer: node.key.public(),
                nonce,
                fee,
                payload: payload.clone(),
            }
            .sign(&node.key, &node.ns);
            let hash = tx.tx.hash();
            match node.ledger.call(move |c| c.submit(&tx)).await {
                Ok(_) => {
                    self.nonce = Some(nonce + 1);
                    tracing::debug!(%hash, calls = payload.call_count(), nonce, "receipt batch submitted");
                    return match node
                        .ledger
                        .call(move |c| c.wait_tx(&hash, OUTCOME_TIMEOUT))
                        .await
                    {
                        Ok(outcome) => Sent::Outcome(outcome),
                        Err(e) => {
                            self.nonce = None;
                            Sent::Failed(Some(hash), format!("no outcome for the batch yet: {e}"))
                        }
                    };
                }
                Err(ClientError::Api { code, message, .. }) => {
                    if let Some(code) = REFUSAL_CODES.iter().find(|c| **c == code) {
                        return Sent::AllRefused(code, message);
                    }
                    self.nonce = None;
                    match code.as_str() {
                        "bad_nonce" if attempt == 0 => {
                            tracing::info!(%message, "nonce out of step with the ledger; reading it again");
                        }
                        "tx_too_large" | "batch_too_large" => return Sent::TooLarge,
                        _ => {
                            return Sent::Failed(
                                None,
                                format!("the ledger rejected the batch: {message} [{code}]"),
                            );
                        }
                    }
                }
                Err(e) => {
                    self.nonce = None;
                    return Sent::Failed(None, e.to_string());
                }
            }
        }
        Sent::Failed(None, "the nonce stayed out of step with the ledger".into())
    }

    /// Count and remove the calls of an applied batch.
    async fn judged(&mut self, batch: &[Queued], outcome: &TxOutcome) -> bool {
        let mut accepted = 0;
        let mut refused = 0;
        for (queued, verdict) in batch.iter().zip(&outcome.calls) {
            match &verdict.refused {
                None => {
                    accepted += 1;
                    self.node.metrics.accepted(queued.call.receipt.price);
                    if queued.call.ticket.mode == Mode::Zk {
                        self.accepted.insert(verdict.call);
                    }
                }
                Some(reason) => {
                    refused += 1;
                    self.node.metrics.refused(reason.code());
                    tracing::warn!(call = %verdict.call, code = reason.code(), %reason, "the ledger refused a call");
                }
            }
        }
        tracing::info!(tx = %outcome.hash, height = outcome.height, accepted, refused, "receipt batch judged");
        self.node.set_last_submission(Submission {
            time_ms: now_ms(),
            tx: Some(outcome.hash),
            accepted,
            refused,
            error: None,
        });
        self.remove(batch).await
    }

    async fn remove(&self, batch: &[Queued]) -> bool {
        let seqs = batch.iter().map(|q| q.seq).collect();
        let cutoff = now_ms().saturating_sub(PRUNE_AFTER_MS);
        match self.node.queue.remove(seqs, cutoff).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "cannot remove judged calls from the queue; they will be submitted again and refused as duplicates");
                false
            }
        }
    }

    fn failed(&self, tx: Option<Hash32>, reason: String) {
        tracing::warn!(queued = self.node.queue.len(), %reason, "receipt submission failed; will retry");
        self.node.set_last_submission(Submission {
            time_ms: now_ms(),
            tx,
            accepted: 0,
            refused: 0,
            error: Some(reason),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_ledger::{Address, CallRefusal};

    #[test]
    fn the_limit_respects_the_ledger() {
        let params = Params::default();
        assert_eq!(batch_limit(256, &params), 256);
        assert_eq!(batch_limit(100_000, &params), 4_096);
        let small = Params {
            max_tx_bytes: 64 * 1024,
            ..Params::default()
        };
        let limit = batch_limit(4_096, &small);
        assert!(limit > 100 && limit < 200, "{limit}");
        assert_eq!(batch_limit(0, &params), 1);
    }

    #[test]
    fn refusal_codes_are_the_ledgers() {
        let a = Address([1; 20]);
        let h = Hash32([2; 32]);
        let refusals = [
            CallRefusal::BadTicketSignature,
            CallRefusal::BadReceiptSignature,
            CallRefusal::UnknownCaller { caller: a },
            CallRefusal::ReceiptMismatch {
                ticket: h,
                receipt_ticket: h,
            },
            CallRefusal::WrongNode {
                ticket_node: a,
                submitter: a,
            },
            CallRefusal::Expired {
                expiry_ms: 0,
                now_ms: 0,
            },
            CallRefusal::LifetimeTooLong {
                expiry_ms: 0,
                now_ms: 0,
                max_ms: 0,
            },
            CallRefusal::AnsweredAfterExpiry {
                time_ms: 0,
                expiry_ms: 0,
            },
            CallRefusal::Duplicate { call: h },
            CallRefusal::NonceUsed {
                caller: a,
                nonce: 0,
            },
            CallRefusal::PriceAboveCap { price: 0, cap: 0 },
            CallRefusal::UnknownModel { model: h },
            CallRefusal::ModeNotSupported {
                model: h,
                mode: Mode::Signed,
            },
            CallRefusal::NotOffered {
                model: h,
                mode: Mode::Signed,
            },
            CallRefusal::InsufficientEscrow {
                caller: a,
                available: 0,
                price: 0,
            },
        ];
        let codes: Vec<&str> = refusals.iter().map(CallRefusal::code).collect();
        assert_eq!(codes, REFUSAL_CODES);
    }
}
