//! Block execution: settlement of due calls, then each transaction in order.
//!
//! # Order within a block
//! 1. Calls accepted in earlier blocks are sampled for audit with this block's beacon, and
//!    expired audit and proof deadlines are acted on ([`crate::audit`]).
//! 2. Calls whose challenge window has closed by the block time settle, oldest first (at most
//!    [`MAX_SETTLEMENTS_PER_BLOCK`]; the rest wait for the next block).
//! 3. Transaction signatures are checked in one batch.
//! 4. Each transaction is *rejected* (no change at all) when it does not decode, its signature
//!    or nonce is wrong, it breaks a stateless limit, or the sender cannot pay the fee.
//!    Otherwise the fee goes to the treasury and the nonce advances; then the payload applies
//!    in full or, on error, not at all (*failed*).
//! 5. The clock advances to the block's height and time.
//!
//! Execution reads nothing but the state and the block, so every validator computes the same
//! changes, events, outcomes and root.

use crate::{
    StateRead, audit,
    crypto::{self, SignedMessage},
    equivocation::EquivocationVerifier,
    error::TxError,
    events::{Event, EventRecord},
    genesis::Genesis,
    handlers,
    outcome::{BlockOutput, CallVerdict, TxOutcome, TxStatus},
    params::Params,
    settlement,
    state::*,
    tx::{Namespaces, SignedTransaction},
    types::*,
};
use commonware_cryptography::lthash::LtHash;
use std::sync::Arc;

/// Most calls settled at the start of one block.
pub const MAX_SETTLEMENTS_PER_BLOCK: usize = 100_000;

/// How far ahead of the account nonce a transaction may wait in a mempool.
pub const MAX_NONCE_AHEAD: u64 = 64;

/// Why a block cannot be executed at all. Any of these means the caller fed blocks out of
/// order or to the wrong state: a bug or corruption outside the ledger, never a bad transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The state has no genesis.
    #[error("state has no genesis; initialise the data directory with `verity init`")]
    NoGenesis,
    /// Height is not the next one.
    #[error("block height {got} does not follow executed height {executed}")]
    HeightGap {
        /// Last executed.
        executed: u64,
        /// Offered.
        got: u64,
    },
    /// Time went backwards.
    #[error("block time {got} is before the previous block time {previous}")]
    TimeWentBack {
        /// Previous.
        previous: TimeMs,
        /// Offered.
        got: TimeMs,
    },
}

/// Everything execution needs to know about the transaction being applied.
pub(crate) struct Ctx<'a> {
    pub params: &'a Params,
    pub chain: &'a ChainInfo,
    pub ns: &'a Namespaces,
    pub equivocation: Option<&'a dyn EquivocationVerifier>,
    pub height: u64,
    pub time_ms: TimeMs,
    pub tx: Option<Hash32>,
}

impl Ctx<'_> {
    pub fn record(&self, event: Event) -> EventRecord {
        EventRecord {
            height: self.height,
            time_ms: self.time_ms,
            tx: self.tx,
            event,
        }
    }
}

/// The ledger of one chain.
#[derive(Clone)]
pub struct Ledger {
    ns: Namespaces,
    equivocation: Option<Arc<dyn EquivocationVerifier>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("ns", &self.ns)
            .field("verifies_equivocation", &self.equivocation.is_some())
            .finish()
    }
}

impl Ledger {
    /// The ledger of the chain named `chain_id`. It refuses evidence of equivocation, which it
    /// cannot check; validators use [`Ledger::with_equivocation_verifier`].
    pub fn new(chain_id: &str) -> Self {
        Self {
            ns: Namespaces::new(chain_id),
            equivocation: None,
        }
    }

    /// The ledger of the chain named `chain_id`, checking evidence of equivocation with
    /// `verifier` (see [`crate::equivocation`]).
    pub fn with_equivocation_verifier(
        chain_id: &str,
        verifier: Arc<dyn EquivocationVerifier>,
    ) -> Self {
        Self {
            ns: Namespaces::new(chain_id),
            equivocation: Some(verifier),
        }
    }

    /// The signing namespaces.
    pub fn namespaces(&self) -> &Namespaces {
        &self.ns
    }

    /// The state at height 0.
    pub fn genesis(genesis: &Genesis) -> Result<BlockOutput, String> {
        genesis.validate()?;
        let empty = std::collections::BTreeMap::<Vec<u8>, Vec<u8>>::new();
        let mut ov = Overlay::new(&empty);
        for a in &genesis.accounts {
            ov.put(
                &account_key(&a.address),
                &Account {
                    balance: a.balance,
                    ..Account::default()
                },
            );
        }
        let chain = ChainInfo {
            chain_id: genesis.chain_id.clone(),
            total_supply: genesis.total_supply(),
            genesis_time_ms: genesis.genesis_time_ms,
            burned: 0,
            treasury: Address::of_label("treasury"),
            verifier_pool: Address::of_label("verifier-pool"),
        };
        let validators: Vec<Validator> = genesis
            .validators
            .iter()
            .map(|v| Validator {
                public_key: v.public_key,
                p2p: v.p2p.clone(),
                stake: v.stake,
                slashed: false,
            })
            .collect();
        ov.put(PARAMS_KEY, &genesis.params);
        ov.put(CHAIN_KEY, &chain);
        ov.put(
            CLOCK_KEY,
            &Clock {
                height: 0,
                time_ms: genesis.genesis_time_ms,
            },
        );
        ov.put(QUEUE_KEY, &QueueCursor::default());
        ov.put(MODELS_KEY, &Vec::<ModelId>::new());
        ov.put(NODES_KEY, &Vec::<Address>::new());
        ov.put(VALIDATORS_KEY, &validators);
        let mut commitment = LtHash::new();
        let changes = ov.finish(&mut commitment);
        Ok(BlockOutput {
            height: 0,
            changes,
            events: Vec::new(),
            outcomes: Vec::new(),
            state_root: state_root(&commitment),
            commitment,
        })
    }

    /// Execute the block at `height` with timestamp `time_ms` on `state`, whose commitment is
    /// `commitment`.
    pub fn execute_block<S: StateRead, B: AsRef<[u8]>>(
        &self,
        state: &S,
        commitment: &LtHash,
        height: u64,
        time_ms: TimeMs,
        txs: &[B],
    ) -> Result<BlockOutput, BlockError> {
        let mut ov = Overlay::new(state);
        let clock: Clock = ov.get(CLOCK_KEY).ok_or(BlockError::NoGenesis)?;
        if height != clock.height + 1 {
            return Err(BlockError::HeightGap {
                executed: clock.height,
                got: height,
            });
        }
        if time_ms < clock.time_ms {
            return Err(BlockError::TimeWentBack {
                previous: clock.time_ms,
                got: time_ms,
            });
        }
        let params: Params = ov.get(PARAMS_KEY).ok_or(BlockError::NoGenesis)?;
        let chain: ChainInfo = ov.get(CHAIN_KEY).ok_or(BlockError::NoGenesis)?;
        let mut ctx = Ctx {
            params: &params,
            chain: &chain,
            ns: &self.ns,
            equivocation: self.equivocation.as_deref(),
            height,
            time_ms,
            tx: None,
        };
        let mut events = Vec::new();
        let beacon = audit::beacon(&state_root(commitment), height);
        audit::begin_block(&mut ov, &ctx, &beacon, &mut events);
        settlement::settle_due(&mut ov, &ctx, &mut events);
        ov.release();

        let decoded: Vec<_> = txs
            .iter()
            .map(|b| SignedTransaction::decode(b.as_ref(), params.max_tx_bytes as usize))
            .collect();
        let signing: Vec<Option<Vec<u8>>> = decoded
            .iter()
            .map(|d| d.as_ref().ok().map(|t| t.tx.signing_bytes()))
            .collect();
        let messages: Vec<SignedMessage<'_>> = decoded
            .iter()
            .zip(&signing)
            .filter_map(|(d, s)| {
                let (t, s) = (d.as_ref().ok()?, s.as_ref()?);
                Some(SignedMessage {
                    namespace: &self.ns.tx,
                    message: s,
                    key: &t.tx.signer,
                    signature: &t.signature,
                })
            })
            .collect();
        let mut verdicts = crypto::verify_all(&messages).into_iter();

        let mut outcomes = Vec::with_capacity(txs.len());
        for (index, (raw, decoded)) in txs.iter().zip(decoded).enumerate() {
            let outcome = match decoded {
                Err(e) => TxOutcome {
                    hash: crypto::sha256(&[raw.as_ref()]),
                    height,
                    index: index as u32,
                    kind: None,
                    sender: None,
                    status: TxStatus::rejected(&TxError::Decode(e)),
                    fee_paid: 0,
                    calls: Vec::new(),
                },
                Ok(stx) => {
                    let sig_ok = verdicts.next().expect("one verdict per decoded tx");
                    ctx.tx = Some(stx.tx.hash());
                    apply_tx(&mut ov, &ctx, &stx, sig_ok, index as u32, &mut events).0
                }
            };
            outcomes.push(outcome);
        }

        ov.put(CLOCK_KEY, &Clock { height, time_ms });
        let mut commitment = commitment.clone();
        let changes = ov.finish(&mut commitment);
        Ok(BlockOutput {
            height,
            changes,
            events,
            outcomes,
            state_root: state_root(&commitment),
            commitment,
        })
    }

    /// Dry-run `bytes` as the next block would at `time_ms`, for a mempool or an API: the
    /// error a transaction would be rejected or fail with, else its outcome. A nonce up to
    /// [`MAX_NONCE_AHEAD`] ahead is accepted (earlier transactions may still be queued). A
    /// receipt batch none of whose calls could be accepted is an error here, so a node learns
    /// why before paying a fee.
    pub fn check_tx<S: StateRead>(
        &self,
        state: &S,
        bytes: &[u8],
        time_ms: TimeMs,
    ) -> Result<TxOutcome, TxError> {
        let mut ov = Overlay::new(state);
        let params: Params = ov.get(PARAMS_KEY).expect("state has genesis");
        let chain: ChainInfo = ov.get(CHAIN_KEY).expect("state has genesis");
        let clock: Clock = ov.get(CLOCK_KEY).expect("state has genesis");
        let stx = SignedTransaction::decode(bytes, params.max_tx_bytes as usize)?;
        let sig_ok = stx.verify_signature(&self.ns);
        let sender = stx.tx.sender();
        let key = account_key(&sender);
        let mut account: Account = ov.get(&key).unwrap_or_default();
        if stx.tx.nonce > account.nonce && stx.tx.nonce - account.nonce <= MAX_NONCE_AHEAD {
            account.nonce = stx.tx.nonce;
            ov.put(&key, &account);
        }
        let ctx = Ctx {
            params: &params,
            chain: &chain,
            ns: &self.ns,
            equivocation: self.equivocation.as_deref(),
            height: clock.height + 1,
            time_ms: time_ms.max(clock.time_ms),
            tx: Some(stx.tx.hash()),
        };
        let (outcome, error) = apply_tx(&mut ov, &ctx, &stx, sig_ok, 0, &mut Vec::new());
        if let Some(e) = error {
            return Err(e);
        }
        if let Some((index, reason)) = first_refusal(&outcome.calls)
            && outcome.calls.iter().all(|c| c.refused.is_some())
        {
            return Err(TxError::NoAcceptableCall { index, reason });
        }
        Ok(outcome)
    }
}

fn first_refusal(calls: &[CallVerdict]) -> Option<(usize, crate::error::CallRefusal)> {
    calls
        .iter()
        .enumerate()
        .find_map(|(i, c)| c.refused.clone().map(|r| (i, r)))
}

/// Checks that reject a transaction without changing anything.
fn precheck<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    stx: &SignedTransaction,
    sig_ok: bool,
) -> Result<Account, TxError> {
    let tx = &stx.tx;
    let sender = tx.sender();
    if !sig_ok {
        return Err(TxError::InvalidSignature { signer: sender });
    }
    handlers::validate_stateless(&tx.payload, ctx.params)?;
    let account: Account = ov.get(&account_key(&sender)).unwrap_or_default();
    if tx.nonce != account.nonce {
        return Err(TxError::BadNonce {
            account: sender,
            expected: account.nonce,
            got: tx.nonce,
        });
    }
    let calls = tx.payload.call_count();
    let required = ctx.params.required_fee(calls);
    if tx.fee < required {
        return Err(TxError::FeeTooLow {
            required,
            offered: tx.fee,
        });
    }
    if account.balance < tx.fee {
        return Err(TxError::InsufficientBalance {
            account: sender,
            needed: tx.fee,
            available: account.balance,
        });
    }
    Ok(account)
}

fn apply_tx<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    stx: &SignedTransaction,
    sig_ok: bool,
    index: u32,
    events: &mut Vec<EventRecord>,
) -> (TxOutcome, Option<TxError>) {
    let tx = &stx.tx;
    let sender = tx.sender();
    let mut outcome = TxOutcome {
        hash: ctx.tx.unwrap_or_else(|| tx.hash()),
        height: ctx.height,
        index,
        kind: Some(tx.payload.kind().into()),
        sender: Some(sender),
        status: TxStatus::Applied,
        fee_paid: 0,
        calls: Vec::new(),
    };
    let mut account = match precheck(ov, ctx, stx, sig_ok) {
        Ok(a) => a,
        Err(e) => {
            outcome.status = TxStatus::rejected(&e);
            return (outcome, Some(e));
        }
    };
    account.balance -= tx.fee;
    account.nonce += 1;
    account.public_key = Some(tx.signer);
    ov.put(&account_key(&sender), &account);
    if tx.fee > 0 {
        handlers::credit(ov, &ctx.chain.treasury, tx.fee).expect("fee is part of the fixed supply");
        events.push(ctx.record(Event::FeePaid {
            payer: sender,
            amount: tx.fee,
        }));
    }
    outcome.fee_paid = tx.fee;
    ov.release();

    let checkpoint = ov.checkpoint();
    let first_event = events.len();
    let error = match handlers::apply_payload(ov, ctx, sender, &tx.payload, events) {
        Ok(calls) => {
            outcome.calls = calls;
            None
        }
        Err(e) => {
            ov.rollback(checkpoint);
            events.truncate(first_event);
            outcome.status = TxStatus::failed(&e);
            Some(e)
        }
    };
    ov.release();
    (outcome, error)
}
