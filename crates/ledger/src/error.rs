//! Why a transaction or a call is refused. Every error has a stable machine-readable code and a
//! sentence that names the problem and, where there is one, the fix.

use crate::types::*;
use serde::{Deserialize, Serialize};

/// Why a transaction was rejected (nothing changed) or failed (fee charged, nothing else).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// Bytes are not a transaction.
    #[error(transparent)]
    Decode(#[from] crate::tx::DecodeError),
    /// The signature does not verify.
    #[error(
        "signature does not verify for signer {signer} on this chain; sign the exact transaction bytes with the signer's key and this chain's id"
    )]
    InvalidSignature {
        /// Claimed signer.
        signer: Address,
    },
    /// Nonce out of order.
    #[error("nonce {got} is wrong for {account}: the next nonce is {expected}")]
    BadNonce {
        /// Sender.
        account: Address,
        /// Required.
        expected: u64,
        /// Given.
        got: u64,
    },
    /// Fee below the required fee.
    #[error("fee {offered} is below the required {required} for this transaction")]
    FeeTooLow {
        /// Required.
        required: Amount,
        /// Given.
        offered: Amount,
    },
    /// Not enough balance.
    #[error("insufficient balance in {account}: {needed} needed, {available} available")]
    InsufficientBalance {
        /// Account.
        account: Address,
        /// Needed.
        needed: Amount,
        /// Available.
        available: Amount,
    },
    /// Not enough escrow.
    #[error(
        "insufficient escrow in {account}: {needed} needed, {available} available; deposit with `verity tx escrow-deposit`"
    )]
    InsufficientEscrow {
        /// Account.
        account: Address,
        /// Needed.
        needed: Amount,
        /// Available.
        available: Amount,
    },
    /// A zero amount.
    #[error("amount must be greater than zero")]
    ZeroAmount,
    /// Amount arithmetic overflowed.
    #[error("amount overflows the 64-bit token range")]
    Overflow,
    /// No such model.
    #[error("model {0} is not registered; publish it with `verity tx register-model`")]
    UnknownModel(ModelId),
    /// Model id taken.
    #[error("model {0} is already registered; change it with `verity tx update-model`")]
    ModelExists(ModelId),
    /// Not the owner.
    #[error("only the model's owner {owner} can update it")]
    NotModelOwner {
        /// The owner.
        owner: Address,
    },
    /// Royalty too high.
    #[error("royalty {got} bps exceeds the protocol maximum of {max} bps")]
    RoyaltyTooHigh {
        /// Given.
        got: Bps,
        /// Limit.
        max: Bps,
    },
    /// Bad input spec.
    #[error("invalid input spec: {0}")]
    InvalidInputSpec(String),
    /// A list of modes or prices that is empty or repeats a mode.
    #[error("invalid mode list: {0}")]
    InvalidModes(String),
    /// A text field too long.
    #[error("{field} is {len} bytes, over the limit of {max}")]
    TextTooLong {
        /// Field.
        field: &'static str,
        /// Length.
        len: usize,
        /// Limit.
        max: u32,
    },
    /// Too many models for one node.
    #[error("a node may serve at most {max} models, {got} given")]
    TooManyModels {
        /// Given.
        got: usize,
        /// Limit.
        max: u32,
    },
    /// Node already registered.
    #[error("{0} is already a registered node; change it with `verity tx update-node`")]
    NodeExists(Address),
    /// No such node.
    #[error("{0} is not a registered node; register with `verity tx register-node`")]
    UnknownNode(Address),
    /// Stake below the minimum.
    #[error("stake {got} is below the minimum stake of {min}")]
    StakeBelowMinimum {
        /// Given or remaining.
        got: Amount,
        /// Required.
        min: Amount,
    },
    /// The registrant's balance cannot cover the stake plus the registration burn.
    #[error(
        "registering a node bonds {stake} and burns {burn} (the registration burn, not returned), \
         {needed} in all, but {account} has {available}; fund it with \
         `verity tx transfer --to {account} --amount {short}`"
    )]
    RegistrationUnfunded {
        /// The registrant.
        account: Address,
        /// Stake to bond.
        stake: Amount,
        /// The `registration_burn` parameter.
        burn: Amount,
        /// Stake plus burn.
        needed: Amount,
        /// Its balance (after the fee).
        available: Amount,
        /// What is missing.
        short: Amount,
    },
    /// A node declared no capacity.
    #[error(
        "hardware.capacity is 0; declare the calls per second the node sustains, at least 1 \
         (`--capacity` of `verity tx register-node`, `verity tx update-node` and `verity node run`)"
    )]
    ZeroCapacity,
    /// Unbonding more than bonded.
    #[error("cannot unbond {requested}: only {bonded} is bonded")]
    InsufficientStake {
        /// Requested.
        requested: Amount,
        /// Bonded.
        bonded: Amount,
    },
    /// Too many unbonding entries waiting.
    #[error("a node may have at most {max} unbondings waiting; withdraw matured ones first")]
    TooManyUnbonding {
        /// Limit.
        max: usize,
    },
    /// Nothing matured.
    #[error("nothing to withdraw yet: no unbonded stake or escrow release has matured")]
    NothingToWithdraw,
    /// Empty receipt batch.
    #[error("receipt batch is empty")]
    EmptyBatch,
    /// Receipt batch too large.
    #[error("receipt batch has {got} calls, over the limit of {max}; split it")]
    BatchTooLarge {
        /// Given.
        got: usize,
        /// Limit.
        max: u32,
    },
    /// Every call of a receipt batch was refused (reported before inclusion, so no fee is lost).
    #[error("no call in the batch can be accepted; first refusal: call {index}: {reason}")]
    NoAcceptableCall {
        /// Index of the first call.
        index: usize,
        /// Its refusal.
        reason: CallRefusal,
    },
    /// The node is jailed after an offence.
    #[error(
        "node {node} is jailed until block time {until_ms} after a confirmed offence; wait, then submit again"
    )]
    Jailed {
        /// The node.
        node: Address,
        /// End of the jail period.
        until_ms: TimeMs,
    },
    /// The integer program cannot be stored.
    #[error("integer program refused: {0}")]
    InvalidProgram(String),
    /// No such audit.
    #[error("no audit {0} on the ledger; list open audits with `verity audit list`")]
    UnknownAudit(Hash32),
    /// The audit is not in the state the transaction needs.
    #[error("audit {audit} is not {expected}; it may have closed or passed its deadline")]
    AuditState {
        /// The audit.
        audit: Hash32,
        /// What it needed to be.
        expected: &'static str,
    },
    /// The sender may not act on this audit.
    #[error("{0}")]
    NotPermitted(String),
    /// A revealed input does not match the call.
    #[error("revealed input for call {call} refused: {reason}")]
    BadReveal {
        /// The call.
        call: CallId,
        /// Why.
        reason: String,
    },
    /// A verifying key or proof submission was refused before verification.
    #[error("{0}")]
    Zk(String),
    /// An attestation document was refused.
    #[error("attestation refused: {0}")]
    Attestation(String),
    /// The ledger was built without an equivocation verifier.
    #[error(
        "this ledger cannot check equivocation evidence (it was built without the consensus verifier); submit it to a validator"
    )]
    EvidenceUnverifiable,
    /// Equivocation evidence does not verify.
    #[error("equivocation evidence refused: {0}")]
    InvalidEvidence(String),
    /// The evidence names a key that is not in the validator set.
    #[error("{0} is not a validator of this chain")]
    UnknownValidator(PublicKeyBytes),
    /// This equivocation was already slashed.
    #[error("the equivocation of validator {validator} in view {view} was already slashed")]
    DuplicateEvidence {
        /// The validator.
        validator: PublicKeyBytes,
        /// The view.
        view: u64,
    },
    /// Too many items in one transaction.
    #[error("{what}: {got} items; a transaction carries 1 to {max}, so split it or add one")]
    TooManyItems {
        /// What was listed.
        what: &'static str,
        /// Given.
        got: usize,
        /// Limit.
        max: usize,
    },
}

impl TxError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TxError::Decode(crate::tx::DecodeError::TooLarge { .. }) => "tx_too_large",
            TxError::Decode(crate::tx::DecodeError::Malformed(_)) => "malformed_tx",
            TxError::InvalidSignature { .. } => "invalid_signature",
            TxError::BadNonce { .. } => "bad_nonce",
            TxError::FeeTooLow { .. } => "fee_too_low",
            TxError::InsufficientBalance { .. } => "insufficient_balance",
            TxError::InsufficientEscrow { .. } => "insufficient_escrow",
            TxError::ZeroAmount => "zero_amount",
            TxError::Overflow => "overflow",
            TxError::UnknownModel(_) => "unknown_model",
            TxError::ModelExists(_) => "model_exists",
            TxError::NotModelOwner { .. } => "not_model_owner",
            TxError::RoyaltyTooHigh { .. } => "royalty_too_high",
            TxError::InvalidInputSpec(_) => "invalid_input_spec",
            TxError::InvalidModes(_) => "invalid_modes",
            TxError::TextTooLong { .. } => "text_too_long",
            TxError::TooManyModels { .. } => "too_many_models",
            TxError::NodeExists(_) => "node_exists",
            TxError::UnknownNode(_) => "unknown_node",
            TxError::StakeBelowMinimum { .. } => "stake_below_minimum",
            TxError::RegistrationUnfunded { .. } => "registration_unfunded",
            TxError::ZeroCapacity => "zero_capacity",
            TxError::InsufficientStake { .. } => "insufficient_stake",
            TxError::TooManyUnbonding { .. } => "too_many_unbonding",
            TxError::NothingToWithdraw => "nothing_to_withdraw",
            TxError::EmptyBatch => "empty_batch",
            TxError::BatchTooLarge { .. } => "batch_too_large",
            TxError::NoAcceptableCall { reason, .. } => reason.code(),
            TxError::Jailed { .. } => "jailed",
            TxError::InvalidProgram(_) => "invalid_program",
            TxError::UnknownAudit(_) => "unknown_audit",
            TxError::AuditState { .. } => "audit_state",
            TxError::NotPermitted(_) => "not_permitted",
            TxError::BadReveal { .. } => "bad_reveal",
            TxError::TooManyItems { .. } => "too_many_items",
            TxError::Attestation(_) => "attestation_refused",
            TxError::Zk(_) => "zk_refused",
            TxError::EvidenceUnverifiable => "evidence_unverifiable",
            TxError::InvalidEvidence(_) => "invalid_evidence",
            TxError::UnknownValidator(_) => "unknown_validator",
            TxError::DuplicateEvidence { .. } => "duplicate_evidence",
        }
    }
}

/// Why one call of a receipt batch was refused; the rest of the batch still applies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CallRefusal {
    /// The ticket's signature does not verify against the caller's key.
    #[error("caller's ticket signature does not verify")]
    BadTicketSignature,
    /// The receipt's signature does not verify against the node's key.
    #[error("node's receipt signature does not verify")]
    BadReceiptSignature,
    /// The caller has never signed a transaction, so its key is unknown.
    #[error("caller {caller} has no key on the ledger; it must deposit escrow first")]
    UnknownCaller {
        /// Caller.
        caller: Address,
    },
    /// The receipt is for another ticket.
    #[error("receipt is for call {receipt_ticket}, not this ticket ({ticket})")]
    ReceiptMismatch {
        /// The ticket's id.
        ticket: CallId,
        /// What the receipt names.
        receipt_ticket: CallId,
    },
    /// The ticket names another node than the one submitting.
    #[error("ticket is for node {ticket_node}, but the batch was submitted by {submitter}")]
    WrongNode {
        /// Named in the ticket.
        ticket_node: Address,
        /// Submitter.
        submitter: Address,
    },
    /// Expired.
    #[error("ticket expired at {expiry_ms}, block time is {now_ms}")]
    Expired {
        /// Expiry.
        expiry_ms: TimeMs,
        /// Block time.
        now_ms: TimeMs,
    },
    /// Expiry further away than allowed.
    #[error("ticket expiry {expiry_ms} is more than {max_ms} ms after block time {now_ms}")]
    LifetimeTooLong {
        /// Expiry.
        expiry_ms: TimeMs,
        /// Block time.
        now_ms: TimeMs,
        /// Limit.
        max_ms: TimeMs,
    },
    /// Receipt dated after the ticket's expiry.
    #[error("receipt time {time_ms} is after the ticket's expiry {expiry_ms}")]
    AnsweredAfterExpiry {
        /// Receipt time.
        time_ms: TimeMs,
        /// Expiry.
        expiry_ms: TimeMs,
    },
    /// The ticket was already used.
    #[error("ticket {call} was already used")]
    Duplicate {
        /// Call id.
        call: CallId,
    },
    /// Another ticket of the caller with the same nonce was already paid (an alternative ticket
    /// for the same logical call, served by another node).
    #[error(
        "caller {caller} already paid a call with ticket nonce {nonce}; each logical call needs a fresh nonce"
    )]
    NonceUsed {
        /// The caller.
        caller: Address,
        /// The nonce.
        nonce: u64,
    },
    /// Charged more than the caller allowed.
    #[error("price {price} is above the ticket's cap {cap}")]
    PriceAboveCap {
        /// Charged.
        price: Amount,
        /// Cap.
        cap: Amount,
    },
    /// Unknown model.
    #[error("model {model} is not registered")]
    UnknownModel {
        /// Model.
        model: ModelId,
    },
    /// The model does not allow the mode.
    #[error("model {model} cannot be served in {mode} mode")]
    ModeNotSupported {
        /// Model.
        model: ModelId,
        /// Mode.
        mode: Mode,
    },
    /// The node does not serve the model or mode.
    #[error("node does not offer model {model} in {mode} mode")]
    NotOffered {
        /// Model.
        model: ModelId,
        /// Mode.
        mode: Mode,
    },
    /// A tee-mode call from a node with no attested enclave key.
    #[error(
        "node has no attested enclave key; register one with `verity node run --tee` before serving tee calls"
    )]
    NoEnclave,
    /// A zk-mode call of a model with no verifying key on the ledger.
    #[error(
        "model {model} has no zk verifying key on the ledger; its owner sets one with `verity model publish --zk`"
    )]
    NoZkKey {
        /// Model.
        model: ModelId,
    },
    /// The caller's escrow cannot cover the price.
    #[error("caller {caller} has {available} in escrow, {price} needed")]
    InsufficientEscrow {
        /// Caller.
        caller: Address,
        /// Escrow.
        available: Amount,
        /// Price.
        price: Amount,
    },
}

impl CallRefusal {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CallRefusal::BadTicketSignature => "bad_ticket_signature",
            CallRefusal::BadReceiptSignature => "bad_receipt_signature",
            CallRefusal::UnknownCaller { .. } => "unknown_caller",
            CallRefusal::ReceiptMismatch { .. } => "receipt_mismatch",
            CallRefusal::WrongNode { .. } => "wrong_node",
            CallRefusal::Expired { .. } => "expired",
            CallRefusal::LifetimeTooLong { .. } => "lifetime_too_long",
            CallRefusal::AnsweredAfterExpiry { .. } => "answered_after_expiry",
            CallRefusal::Duplicate { .. } => "duplicate",
            CallRefusal::NonceUsed { .. } => "nonce_used",
            CallRefusal::PriceAboveCap { .. } => "price_above_cap",
            CallRefusal::UnknownModel { .. } => "unknown_model",
            CallRefusal::ModeNotSupported { .. } => "mode_not_supported",
            CallRefusal::NotOffered { .. } => "not_offered",
            CallRefusal::InsufficientEscrow { .. } => "insufficient_escrow",
            CallRefusal::NoZkKey { .. } => "no_zk_key",
            CallRefusal::NoEnclave => "no_enclave",
        }
    }
}
