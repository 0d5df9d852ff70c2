//! The ledger's state: record types, the key layout, and the write overlay that executes a
//! block on top of committed state and maintains the state commitment.
//!
//! # Key layout
//! | key | value |
//! |---|---|
//! | `acct/` ‖ address (20 B) | [`Account`] |
//! | `model/` ‖ model id (32 B) | [`Model`] |
//! | `node/` ‖ address (20 B) | [`Node`] |
//! | `call/` ‖ call id (32 B) | [`Call`] |
//! | `queue/` ‖ sequence (8 B, big-endian) | call id awaiting settlement |
//! | `meta/params` | [`Params`](crate::Params) |
//! | `meta/chain` | [`ChainInfo`] |
//! | `meta/clock` | [`Clock`] |
//! | `meta/queue` | [`QueueCursor`] |
//! | `meta/models`, `meta/nodes` | registration-ordered lists of ids |
//! | `meta/validators` | the validator set: [`Validator`]s, in genesis order |
//! | `equivocation/` ‖ validator key (32 B) ‖ view (8 B, big-endian) | height at which that equivocation was slashed |
//! | `program/` ‖ model id | [`ProgramRecord`]: the model's integer program |
//! | `zkkey/` ‖ model id | the model's Groth16 verifying key bytes |
//! | `audit/` ‖ audit id (32 B) | [`Audit`] |
//! | `input/` ‖ call id | a sampled call's revealed input (little-endian f32) |
//! | `fifo/` ‖ name ‖ sequence | deadline queues (see [`crate::fifo`]) |
//! | `meta/fifo/` ‖ name | their cursors |
//! | `meta/open-audits` | ids of audits not yet closed, in opening order |
//! | `meta/known/` ‖ model id | recent audit-confirmed calls of the model, for known-answer checks |
//!
//! Values are borsh. A value that fails to decode means the store is corrupt; execution panics
//! rather than continue on wrong data.
//!
//! # State commitment
//! The state root is the checksum of an LtHash (a lattice-based homomorphic set hash, 2,048
//! bytes of state) over every `(key, value)` entry. Changing an entry subtracts its old hash and
//! adds its new one, so a block costs time proportional to what it changed, and two stores hold
//! the same entries exactly when their roots are equal, whatever history led there.

use crate::{StateRead, types::*};
use borsh::{BorshDeserialize, BorshSerialize};
use commonware_cryptography::lthash::LtHash;
use commonware_parallel::Strategy;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Prefix of account records.
pub const ACCOUNT_PREFIX: &[u8] = b"acct/";
/// Prefix of model records.
pub const MODEL_PREFIX: &[u8] = b"model/";
/// Prefix of node records.
pub const NODE_PREFIX: &[u8] = b"node/";
/// Prefix of call records.
pub const CALL_PREFIX: &[u8] = b"call/";
/// Prefix of used ticket nonces, one per paid call.
pub const TICKET_NONCE_PREFIX: &[u8] = b"tnonce/";
/// Prefix of the settlement queue.
pub const QUEUE_PREFIX: &[u8] = b"queue/";
/// Protocol parameters.
pub const PARAMS_KEY: &[u8] = b"meta/params";
/// Chain identity and supply.
pub const CHAIN_KEY: &[u8] = b"meta/chain";
/// Last executed block.
pub const CLOCK_KEY: &[u8] = b"meta/clock";
/// Settlement queue bounds.
pub const QUEUE_KEY: &[u8] = b"meta/queue";
/// Registered model ids.
pub const MODELS_KEY: &[u8] = b"meta/models";
/// Registered node addresses.
pub const NODES_KEY: &[u8] = b"meta/nodes";
/// Genesis validators.
pub const VALIDATORS_KEY: &[u8] = b"meta/validators";
/// Prefix of integer programs.
pub const PROGRAM_PREFIX: &[u8] = b"program/";
/// Prefix of zk verifying keys.
pub const ZK_KEY_PREFIX: &[u8] = b"zkkey/";
/// Prefix of audits.
pub const AUDIT_PREFIX: &[u8] = b"audit/";
/// Prefix of revealed inputs.
pub const INPUT_PREFIX: &[u8] = b"input/";
/// Open audits.
pub const OPEN_AUDITS_KEY: &[u8] = b"meta/open-audits";
/// Prefix of known-answer pools.
pub const KNOWN_PREFIX: &[u8] = b"meta/known/";
/// Prefix of slashed equivocations.
pub const EQUIVOCATION_PREFIX: &[u8] = b"equivocation/";

/// Key of a model's integer program.
pub fn program_key(m: &ModelId) -> Vec<u8> {
    key(PROGRAM_PREFIX, &m.0)
}
/// Key of a model's zk verifying key.
pub fn zk_key_key(m: &ModelId) -> Vec<u8> {
    key(ZK_KEY_PREFIX, &m.0)
}
/// Key of an audit.
pub fn audit_key(a: &Hash32) -> Vec<u8> {
    key(AUDIT_PREFIX, &a.0)
}
/// Key of a call's revealed input.
pub fn input_key(c: &CallId) -> Vec<u8> {
    key(INPUT_PREFIX, &c.0)
}
/// Key of a model's known-answer pool.
pub fn known_key(m: &ModelId) -> Vec<u8> {
    key(KNOWN_PREFIX, &m.0)
}
/// Key recording that `validator`'s equivocation in consensus view `view` was slashed.
pub fn equivocation_key(validator: &PublicKeyBytes, view: u64) -> Vec<u8> {
    let mut id = validator.0.to_vec();
    id.extend_from_slice(&view.to_be_bytes());
    key(EQUIVOCATION_PREFIX, &id)
}

/// Key of a record under `prefix` with id bytes `id`.
pub fn key(prefix: &[u8], id: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + id.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(id);
    k
}

/// Key of an account.
pub fn account_key(a: &Address) -> Vec<u8> {
    key(ACCOUNT_PREFIX, &a.0)
}
/// Key of a model.
pub fn model_key(m: &ModelId) -> Vec<u8> {
    key(MODEL_PREFIX, &m.0)
}
/// Key of a node.
pub fn node_key(a: &Address) -> Vec<u8> {
    key(NODE_PREFIX, &a.0)
}
/// Key of a call.
pub fn call_key(c: &CallId) -> Vec<u8> {
    key(CALL_PREFIX, &c.0)
}
/// Key recording that `caller` used ticket nonce `nonce`; the value is the call id paid.
pub fn ticket_nonce_key(caller: &Address, nonce: u64) -> Vec<u8> {
    let mut id = caller.0.to_vec();
    id.extend_from_slice(&nonce.to_be_bytes());
    key(TICKET_NONCE_PREFIX, &id)
}
/// Key of a settlement-queue slot.
pub fn queue_key(seq: u64) -> Vec<u8> {
    key(QUEUE_PREFIX, &seq.to_be_bytes())
}

/// A sum of tokens that becomes withdrawable at a block time.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Release {
    /// Base units.
    pub amount: Amount,
    /// Block time from which it can be withdrawn.
    pub at_ms: TimeMs,
}

/// An account: free balance, call escrow and replay protection.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Account {
    /// Known once the account has signed a transaction; needed to check its tickets.
    pub public_key: Option<PublicKeyBytes>,
    /// Number of transactions applied from this account.
    pub nonce: u64,
    /// Spendable balance.
    pub balance: Amount,
    /// Held for paying calls.
    pub escrow: Amount,
    /// A requested escrow withdrawal; the amount stays in escrow until withdrawn.
    pub escrow_release: Option<Release>,
    /// The account whose `Transfer` created this one; `None` for genesis accounts and accounts
    /// first credited by the protocol (fees, settlement). Set once, never changed: it is the
    /// only on-chain trace of who stands behind a new key (see [`crate::records::linked`]).
    pub funded_by: Option<Address>,
}

/// A registered model.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Model {
    /// Content hash of the ONNX file.
    pub id: ModelId,
    /// Display name.
    pub name: String,
    /// Receives the royalty.
    pub owner: Address,
    /// Royalty per call, in basis points of the price.
    pub royalty_bps: Bps,
    /// Accepted input.
    pub input: InputSpec,
    /// Modes it may be served under.
    pub modes: Vec<Mode>,
    /// Height of registration.
    pub registered_height: u64,
    /// Hash of its integer program, once the owner has set one; audits re-execute it.
    pub program: Option<Hash32>,
    /// Hash of its Groth16 verifying key, once set; zk-mode calls need it.
    pub zk_key: Option<Hash32>,
    /// Its paid calls, split by whether the caller is independent of both the model's owner
    /// and the serving node (see [`crate::records`]).
    pub record: ModelRecord,
}

/// Paid calls of a model, as evidence of demand. `independent_calls + linked_calls` is the
/// number of its calls ever paid out.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct ModelRecord {
    /// Paid calls whose caller is linked neither to the model's owner nor to the serving node.
    pub independent_calls: u64,
    /// Paid calls whose caller is linked to the owner or to the serving node.
    pub linked_calls: u64,
}

/// A node's verified service, as evidence of quality. Only the ledger writes it, from calls it
/// paid or refunded and audits it decided (see [`crate::records`]); the node's own traffic
/// (calls from its operator or accounts linked to it) counts as `linked_calls` and in no audit
/// count, so it cannot raise the node's standing.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct ServiceRecord {
    /// Paid calls whose caller is not linked to the operator.
    pub independent_calls: u64,
    /// Paid calls whose caller is linked to the operator.
    pub linked_calls: u64,
    /// Audits of independent callers' calls that confirmed the node's output.
    pub audits_passed: u64,
    /// Audits of independent callers' calls that found the node at fault (wrong output, or no
    /// input revealed in time).
    pub audits_failed: u64,
    /// Calls refunded for a fault of the node, whoever the caller: every refund is an offence
    /// the ledger confirmed, and only the node can commit one.
    pub refunded_calls: u64,
}

/// A model's integer program, as the ledger re-executes it when it referees an audit.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ProgramRecord {
    /// SHA-256 of `bytes` (the program's canonical encoding).
    pub hash: Hash32,
    /// The canonical encoding.
    pub bytes: HexBytes,
    /// Shape the output is served with (its product is the program's output length).
    pub output_shape: Vec<u32>,
    /// Multiply-accumulates per call.
    pub macs: u64,
}

/// A registered provider node; its address is its operator's account.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Node {
    /// The operator's account, which signs receipts and is paid.
    pub operator: Address,
    /// Inference API URL.
    pub endpoint: String,
    /// Declared hardware.
    pub hardware: HardwareProfile,
    /// Models served.
    pub models: Vec<ModelId>,
    /// Own price per mode.
    pub prices: Vec<ModePrice>,
    /// Bonded stake.
    pub stake: Amount,
    /// Stake on its way out.
    pub unbonding: Vec<Release>,
    /// Height of registration.
    pub registered_height: u64,
    /// Calls accepted from this node so far.
    pub served: u64,
    /// The node is on probation (audited at the probation rate) until `served` reaches this.
    pub probation_until: u64,
    /// Confirmed offences so far; each doubles the next slash.
    pub faults: u32,
    /// No receipts are accepted and no audits reported before this block time.
    pub jailed_until_ms: TimeMs,
    /// The attested enclave key that signs its tee-mode receipts, once registered.
    pub enclave_key: Option<PublicKeyBytes>,
    /// What it has served and how audits of it ended, counting only evidence independent of
    /// its operator.
    pub record: ServiceRecord,
}

impl Node {
    /// The node's price for `mode`, if it offers it.
    pub fn price(&self, mode: Mode) -> Option<Amount> {
        self.prices.iter().find(|p| p.mode == mode).map(|p| p.price)
    }
}

/// Where a call is in its life.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CallStatus {
    /// Paid from escrow, waiting for its challenge window to close.
    Pending,
    /// Sampled for audit; the price is held until the audit closes.
    Sampled,
    /// A zk-mode call waiting for its proof.
    ProofDue {
        /// Block time by which a valid proof must be accepted.
        deadline_ms: TimeMs,
    },
    /// Paid out to the four parties.
    Settled {
        /// Height of settlement.
        height: u64,
        /// Why it was paid.
        evidence: Evidence,
    },
    /// Returned to the caller's escrow because the node was found at fault.
    Refunded {
        /// Height of the refund.
        height: u64,
        /// The node's offence.
        offence: Offence,
    },
}

impl CallStatus {
    /// Whether the call's price is still held (neither paid out nor refunded).
    pub fn holds_price(&self) -> bool {
        matches!(
            self,
            CallStatus::Pending | CallStatus::Sampled | CallStatus::ProofDue { .. }
        )
    }
}

/// How a settled call's price was divided. The four parts always sum to the price.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Split {
    /// To the node operator.
    pub node: Amount,
    /// To the model owner.
    pub royalty: Amount,
    /// To the verifier/auditor pool.
    pub verifier: Amount,
    /// To the protocol treasury.
    pub protocol: Amount,
}

/// An accepted call.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Call {
    /// Hash of the ticket.
    pub id: CallId,
    /// Payer.
    pub caller: Address,
    /// Server.
    pub node: Address,
    /// Model run.
    pub model: ModelId,
    /// Verification mode.
    pub mode: Mode,
    /// Hash of the input.
    pub input_hash: Hash32,
    /// Hash of the output the node returned.
    pub output_hash: Hash32,
    /// Price charged.
    pub price: Amount,
    /// The model's royalty when the call was accepted; settlement pays this rate.
    pub royalty_bps: Bps,
    /// Chance, in parts per million, that the call is audited: fixed at acceptance from the
    /// node's stake, record and probation (0 for zk-mode calls and models without a program).
    pub audit_rate_ppm: u32,
    /// The node's answer time.
    pub receipt_time_ms: TimeMs,
    /// Height at which the receipt was accepted.
    pub accepted_height: u64,
    /// Block time from which the call settles (unless sampled for audit or in zk mode).
    pub settle_after_ms: TimeMs,
    /// Life-cycle state.
    pub status: CallStatus,
    /// Division of the price, once settled.
    pub split: Option<Split>,
}

/// One audit: of a sampled call, or a known-answer check that reuses a confirmed call's input.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Audit {
    /// The audit id: the call id for an audit of a call; derived from the beacon for a check.
    pub id: Hash32,
    /// The call whose input is re-executed.
    pub call: CallId,
    /// Its model.
    pub model: ModelId,
    /// The node under audit; `None` for a known-answer check.
    pub node: Option<Address>,
    /// The output hash under test.
    pub claimed: Hash32,
    /// Height at which it was opened.
    pub opened_height: u64,
    /// Where it stands.
    pub status: AuditStatus,
}

/// Where an audit stands.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AuditStatus {
    /// The node must reveal the call's input by the deadline.
    AwaitingInput {
        /// Reveal deadline (block time).
        deadline_ms: TimeMs,
    },
    /// The input is on the ledger; auditors report until the deadline, then the ledger referees.
    AwaitingReport {
        /// Report deadline (block time).
        deadline_ms: TimeMs,
    },
    /// Decided.
    Closed {
        /// Height of the decision.
        height: u64,
        /// The decision.
        verdict: AuditVerdict,
    },
}

/// How an audit ended.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum AuditVerdict {
    /// The re-executed output equals the claim; the call was paid.
    Confirmed {
        /// The auditor that reported it, or `None` when the ledger refereed at the deadline.
        auditor: Option<Address>,
    },
    /// The node was found at fault; the call was refunded.
    NodeFaulted {
        /// The offence.
        offence: Offence,
        /// The auditor whose report proved it, if any.
        auditor: Option<Address>,
    },
    /// A known-answer check: the auditor reported the right output.
    CheckPassed {
        /// The auditor.
        auditor: Address,
    },
    /// A known-answer check: the auditor reported a wrong output and was slashed.
    CheckFailed {
        /// The auditor.
        auditor: Address,
    },
    /// A known-answer check nobody reported before the deadline.
    CheckUnanswered,
}

/// Chain identity.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ChainInfo {
    /// Chain id.
    pub chain_id: String,
    /// Total supply at genesis, fixed: always equal to balances + escrow + prices held by
    /// calls + bonded and unbonding node stake + validator stake + `burned`.
    pub total_supply: Amount,
    /// Tokens destroyed so far (registration burns, the unrewarded part of equivocation
    /// slashes). It grows during a block: read it from the state, not from a copy taken at
    /// block start.
    pub burned: Amount,
    /// Genesis time.
    pub genesis_time_ms: TimeMs,
    /// The protocol treasury account.
    pub treasury: Address,
    /// The verifier/auditor pool account.
    pub verifier_pool: Address,
}

/// The last executed block.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Clock {
    /// Height.
    pub height: u64,
    /// Block time.
    pub time_ms: TimeMs,
}

/// Bounds of the settlement queue: slots `head..tail` hold pending calls in acceptance order.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct QueueCursor {
    /// Oldest occupied slot.
    pub head: u64,
    /// Next free slot.
    pub tail: u64,
}

/// A validator as recorded in state.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Validator {
    /// Consensus key.
    pub public_key: PublicKeyBytes,
    /// Peer address.
    pub p2p: String,
    /// Bonded stake: the genesis stake less what equivocation slashes took.
    pub stake: Amount,
    /// Whether evidence of its equivocation was ever slashed.
    pub slashed: bool,
}

/// Decode a stored value of type `T`, or `None` when absent.
///
/// # Panics
/// When the stored bytes do not decode: the store is corrupt and execution must stop.
pub fn read<T: BorshDeserialize>(state: &impl StateRead, key: &[u8]) -> Option<T> {
    state.get(key).map(|bytes| decode_stored(key, &bytes))
}

fn decode_stored<T: BorshDeserialize>(key: &[u8], bytes: &[u8]) -> T {
    borsh::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "state corrupt: value under {:?} does not decode ({e})",
            String::from_utf8_lossy(key)
        )
    })
}

#[derive(Clone)]
struct Entry {
    original: Option<Vec<u8>>,
    current: Option<Vec<u8>>,
}

/// Pending writes over a committed state, read-through, with undo for failed transactions.
///
/// Invariant: for every key it has touched, `original` is the committed value and `current`
/// the value after the writes so far; untouched keys read from the base.
pub struct Overlay<'a, S: StateRead> {
    base: &'a S,
    entries: BTreeMap<Vec<u8>, Entry>,
    journal: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// The changes of one block: `None` deletes a key.
pub type ChangeSet = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

impl<'a, S: StateRead> Overlay<'a, S> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a S) -> Self {
        Self {
            base,
            entries: BTreeMap::new(),
            journal: Vec::new(),
        }
    }

    fn entry(&mut self, key: &[u8]) -> &mut Entry {
        if !self.entries.contains_key(key) {
            let original = self.base.get(key);
            self.entries.insert(
                key.to_vec(),
                Entry {
                    current: original.clone(),
                    original,
                },
            );
        }
        self.entries.get_mut(key).expect("inserted above")
    }

    /// The current value under `key`.
    pub fn get_raw(&mut self, key: &[u8]) -> Option<&[u8]> {
        self.entry(key).current.as_deref()
    }

    /// Decode the current value under `key`.
    pub fn get<T: BorshDeserialize>(&mut self, key: &[u8]) -> Option<T> {
        self.entry(key)
            .current
            .as_deref()
            .map(|b| decode_stored(key, b))
    }

    /// Whether `key` holds a value.
    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.entry(key).current.is_some()
    }

    /// Set or delete (`None`) the value under `key`.
    pub fn put_raw(&mut self, key: &[u8], value: Option<Vec<u8>>) {
        let entry = self.entry(key);
        let previous = std::mem::replace(&mut entry.current, value);
        self.journal.push((key.to_vec(), previous));
    }

    /// Store `value` under `key`.
    pub fn put<T: BorshSerialize>(&mut self, key: &[u8], value: &T) {
        let bytes = borsh::to_vec(value).expect("encoding to memory cannot fail");
        self.put_raw(key, Some(bytes));
    }

    /// Delete `key`.
    pub fn delete(&mut self, key: &[u8]) {
        self.put_raw(key, None);
    }

    /// A point to roll back to.
    pub fn checkpoint(&mut self) -> usize {
        self.journal.len()
    }

    /// Undo every write made since `checkpoint`.
    pub fn rollback(&mut self, checkpoint: usize) {
        while self.journal.len() > checkpoint {
            let (key, previous) = self.journal.pop().expect("length checked");
            self.entries
                .get_mut(&key)
                .expect("journaled keys have entries")
                .current = previous;
        }
    }

    /// Forget undo history (after a transaction is final within the block).
    pub fn release(&mut self) {
        self.journal.clear();
    }

    /// The net changes, folding each into `commitment`.
    ///
    /// Each changed entry subtracts the hash of its old value and adds the hash of its new one.
    /// LtHash arithmetic is commutative (lane-wise addition mod 2^16), so the hashing is spread
    /// over every core and the partial sums combined; the result equals the sequential fold.
    pub fn finish(self, commitment: &mut LtHash) -> ChangeSet {
        let mut changes = ChangeSet::new();
        let mut terms: Vec<(Vec<u8>, bool)> = Vec::new();
        for (key, entry) in self.entries {
            if entry.original == entry.current {
                continue;
            }
            if let Some(old) = &entry.original {
                terms.push((commitment_entry(&key, old), false));
            }
            if let Some(new) = &entry.current {
                terms.push((commitment_entry(&key, new), true));
            }
            changes.insert(key, entry.current);
        }
        let fold = |mut acc: LtHash, (bytes, add): &(Vec<u8>, bool)| {
            if *add {
                acc.add(bytes);
            } else {
                acc.subtract(bytes);
            }
            acc
        };
        let delta = match crate::crypto::parallel() {
            Some(pool) if terms.len() >= PARALLEL_TERMS => {
                pool.fold(&terms, LtHash::new, fold, |mut a, b| {
                    a.combine(&b);
                    a
                })
            }
            _ => terms.iter().fold(LtHash::new(), fold),
        };
        commitment.combine(&delta);
        changes
    }
}

/// Blocks changing at least this many entries hash them on every core.
const PARALLEL_TERMS: usize = 512;

/// The bytes an entry contributes to the state commitment: `len(key) as u32 LE ‖ key ‖ value`.
pub fn commitment_entry(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + key.len() + value.len());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    out
}

/// The state root of a commitment.
pub fn state_root(commitment: &LtHash) -> Hash32 {
    Hash32(commitment.checksum().0)
}

/// Every token `state` holds — balances, escrow, node stake and unbonding stake, prices held by
/// calls, validator stake — plus the tokens burned. Equals the genesis supply at every height
/// (the supply invariant); for tools and tests holding a whole state in memory.
pub fn held_supply(state: &std::collections::BTreeMap<Vec<u8>, Vec<u8>>) -> u128 {
    let chain: ChainInfo = read(state, CHAIN_KEY).expect("the state has chain info");
    let validators: Vec<Validator> = read(state, VALIDATORS_KEY).unwrap_or_default();
    let mut total =
        u128::from(chain.burned) + validators.iter().map(|v| u128::from(v.stake)).sum::<u128>();
    for (key, value) in state {
        if key.starts_with(ACCOUNT_PREFIX) {
            let a: Account = borsh::from_slice(value).expect("stored account decodes");
            total += u128::from(a.balance) + u128::from(a.escrow);
        } else if key.starts_with(NODE_PREFIX) {
            let n: Node = borsh::from_slice(value).expect("stored node decodes");
            total += u128::from(n.stake)
                + n.unbonding
                    .iter()
                    .map(|r| u128::from(r.amount))
                    .sum::<u128>();
        } else if key.starts_with(CALL_PREFIX) {
            let c: Call = borsh::from_slice(value).expect("stored call decodes");
            if c.status.holds_price() {
                total += u128::from(c.price);
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_restores_and_finish_reports_net_changes() {
        let mut base = BTreeMap::new();
        base.insert(b"a".to_vec(), b"1".to_vec());
        let mut ov = Overlay::new(&base);
        ov.put_raw(b"b", Some(b"2".to_vec()));
        ov.release();
        let cp = ov.checkpoint();
        ov.put_raw(b"a", None);
        ov.put_raw(b"c", Some(b"3".to_vec()));
        ov.rollback(cp);
        assert_eq!(ov.get_raw(b"a"), Some(&b"1"[..]));
        assert_eq!(ov.get_raw(b"c"), None);
        let mut h = LtHash::new();
        let changes = ov.finish(&mut h);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[&b"b".to_vec()], Some(b"2".to_vec()));
    }

    #[test]
    fn commitment_depends_on_content_not_history() {
        let base = BTreeMap::new();
        let mut h1 = LtHash::new();
        let mut ov = Overlay::new(&base);
        ov.put_raw(b"x", Some(b"1".to_vec()));
        ov.put_raw(b"y", Some(b"2".to_vec()));
        let c1 = ov.finish(&mut h1);

        let mut applied: BTreeMap<Vec<u8>, Vec<u8>> =
            c1.into_iter().map(|(k, v)| (k, v.unwrap())).collect();
        let mut ov = Overlay::new(&applied);
        ov.put_raw(b"y", Some(b"9".to_vec()));
        ov.put_raw(b"z", Some(b"3".to_vec()));
        let c2 = ov.finish(&mut h1);
        for (k, v) in c2 {
            applied.insert(k, v.unwrap());
        }

        let mut h2 = LtHash::new();
        let mut ov = Overlay::new(&base);
        ov.put_raw(b"z", Some(b"3".to_vec()));
        ov.put_raw(b"y", Some(b"9".to_vec()));
        ov.put_raw(b"x", Some(b"1".to_vec()));
        ov.finish(&mut h2);
        assert_eq!(state_root(&h1), state_root(&h2));

        let mut h3 = LtHash::new();
        let mut ov = Overlay::new(&base);
        ov.put_raw(b"z", Some(b"3".to_vec()));
        ov.put_raw(b"y", Some(b"2".to_vec()));
        ov.put_raw(b"x", Some(b"1".to_vec()));
        ov.finish(&mut h3);
        assert_ne!(state_root(&h1), state_root(&h3));
    }
}
