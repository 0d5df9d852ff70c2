//! Events: one for every change of ownership or status, kept in an index for queries, the
//! explorer and operator earnings.

use crate::{
    state::{AuditVerdict, Split},
    types::*,
};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Something that happened to the state.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// A transaction fee went to the treasury.
    FeePaid {
        /// Payer.
        payer: Address,
        /// Base units.
        amount: Amount,
    },
    /// Tokens moved between accounts.
    Transferred {
        /// Sender.
        from: Address,
        /// Recipient.
        to: Address,
        /// Base units.
        amount: Amount,
    },
    /// A model was registered.
    ModelRegistered {
        /// Model.
        model: ModelId,
        /// Owner.
        owner: Address,
        /// Royalty.
        royalty_bps: Bps,
    },
    /// A model's royalty or modes changed.
    ModelUpdated {
        /// Model.
        model: ModelId,
        /// New royalty.
        royalty_bps: Bps,
        /// New modes.
        modes: Vec<Mode>,
    },
    /// A node was registered with a bonded stake.
    NodeRegistered {
        /// Node.
        node: Address,
        /// Bonded stake.
        stake: Amount,
    },
    /// Tokens were destroyed: a node's registration burn.
    RegistrationBurned {
        /// The node, whose balance paid it.
        node: Address,
        /// Base units burned.
        amount: Amount,
    },
    /// A node's description changed.
    NodeUpdated {
        /// Node.
        node: Address,
    },
    /// Stake was bonded.
    StakeBonded {
        /// Node.
        node: Address,
        /// Base units.
        amount: Amount,
    },
    /// Stake started unbonding.
    UnbondStarted {
        /// Node.
        node: Address,
        /// Base units.
        amount: Amount,
        /// When it can be withdrawn.
        release_ms: TimeMs,
    },
    /// Matured stake and escrow went back to the balance.
    Withdrawn {
        /// Account.
        account: Address,
        /// From unbonded stake.
        stake: Amount,
        /// From escrow.
        escrow: Amount,
    },
    /// Balance moved into escrow.
    EscrowDeposited {
        /// Account.
        account: Address,
        /// Base units.
        amount: Amount,
    },
    /// An escrow withdrawal was requested.
    EscrowWithdrawRequested {
        /// Account.
        account: Address,
        /// Base units.
        amount: Amount,
        /// When it can be withdrawn.
        release_ms: TimeMs,
    },
    /// A served call was paid from escrow into pending.
    CallAccepted {
        /// Call id.
        call: CallId,
        /// Payer.
        caller: Address,
        /// Server.
        node: Address,
        /// Model.
        model: ModelId,
        /// Mode.
        mode: Mode,
        /// Price.
        price: Amount,
        /// When it settles.
        settle_after_ms: TimeMs,
    },
    /// A call's price was split and paid out.
    CallSettled {
        /// Call id.
        call: CallId,
        /// Payer.
        caller: Address,
        /// Server (paid `split.node`).
        node: Address,
        /// Model.
        model: ModelId,
        /// Model owner (paid `split.royalty`).
        model_owner: Address,
        /// Mode.
        mode: Mode,
        /// Price.
        price: Amount,
        /// The division.
        split: Split,
        /// Why it was paid.
        evidence: Evidence,
    },
    /// A call's price went back to the caller's escrow because its node was at fault.
    CallRefunded {
        /// Call id.
        call: CallId,
        /// Payer, refunded.
        caller: Address,
        /// The node at fault.
        node: Address,
        /// Price refunded.
        price: Amount,
        /// The node's offence.
        offence: Offence,
    },
    /// An audit was opened: of a sampled call, or a known-answer check.
    AuditOpened {
        /// Audit id.
        audit: Hash32,
        /// The call whose input is re-executed.
        call: CallId,
        /// The node that must reveal the input; `None` when it is already revealed.
        node: Option<Address>,
        /// Model.
        model: ModelId,
    },
    /// A sampled call's input was revealed.
    InputRevealed {
        /// Audit id.
        audit: Hash32,
        /// The node.
        node: Address,
    },
    /// An audit was decided.
    AuditClosed {
        /// Audit id.
        audit: Hash32,
        /// The decision.
        verdict: AuditVerdict,
    },
    /// A zk-mode call's proof verified.
    ProofAccepted {
        /// Call id.
        call: CallId,
        /// The node.
        node: Address,
    },
    /// Stake was taken for an offence.
    Slashed {
        /// The offender.
        node: Address,
        /// The offence.
        offence: Offence,
        /// Stake taken.
        amount: Amount,
        /// The reporter paid from it, if any.
        reporter: Option<Address>,
        /// Paid to the reporter.
        to_reporter: Amount,
        /// Paid to the treasury.
        to_treasury: Amount,
        /// No calls accepted from the offender before this block time.
        jailed_until_ms: TimeMs,
    },
    /// An auditor was paid for a correct report.
    AuditorRewarded {
        /// The auditor.
        auditor: Address,
        /// Paid from the verifier pool.
        amount: Amount,
    },
    /// A node's enclave key was attested and registered.
    EnclaveRegistered {
        /// The node.
        node: Address,
        /// The key that signs its tee-mode receipts.
        enclave_key: PublicKeyBytes,
        /// Index of the allowlisted measurement it matched.
        measurement: u32,
    },
    /// A model's zk verifying key was stored.
    ZkKeySet {
        /// Model.
        model: ModelId,
        /// Hash of the key bytes.
        key: Hash32,
    },
    /// A model's integer program was stored.
    ProgramSet {
        /// Model.
        model: ModelId,
        /// Program hash.
        program: Hash32,
    },
    /// A validator's stake was slashed for equivocating in consensus.
    ValidatorSlashed {
        /// The validator's consensus key.
        validator: PublicKeyBytes,
        /// The consensus view it signed conflicting votes in.
        view: u64,
        /// Stake taken.
        amount: Amount,
        /// Who reported the evidence.
        reporter: Address,
        /// Paid to the reporter.
        to_reporter: Amount,
        /// Burned (the rest of `amount`).
        burned: Amount,
    },
}

impl Event {
    /// The name of the event kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::FeePaid { .. } => "FeePaid",
            Event::Transferred { .. } => "Transferred",
            Event::ModelRegistered { .. } => "ModelRegistered",
            Event::ModelUpdated { .. } => "ModelUpdated",
            Event::NodeRegistered { .. } => "NodeRegistered",
            Event::RegistrationBurned { .. } => "RegistrationBurned",
            Event::NodeUpdated { .. } => "NodeUpdated",
            Event::StakeBonded { .. } => "StakeBonded",
            Event::UnbondStarted { .. } => "UnbondStarted",
            Event::Withdrawn { .. } => "Withdrawn",
            Event::EscrowDeposited { .. } => "EscrowDeposited",
            Event::EscrowWithdrawRequested { .. } => "EscrowWithdrawRequested",
            Event::CallAccepted { .. } => "CallAccepted",
            Event::CallSettled { .. } => "CallSettled",
            Event::CallRefunded { .. } => "CallRefunded",
            Event::AuditOpened { .. } => "AuditOpened",
            Event::InputRevealed { .. } => "InputRevealed",
            Event::AuditClosed { .. } => "AuditClosed",
            Event::ProofAccepted { .. } => "ProofAccepted",
            Event::Slashed { .. } => "Slashed",
            Event::AuditorRewarded { .. } => "AuditorRewarded",
            Event::ProgramSet { .. } => "ProgramSet",
            Event::ZkKeySet { .. } => "ZkKeySet",
            Event::EnclaveRegistered { .. } => "EnclaveRegistered",
            Event::ValidatorSlashed { .. } => "ValidatorSlashed",
        }
    }

    /// Every account, model and call the event concerns; the event is listed under each.
    pub fn subjects(&self) -> Vec<Subject> {
        use Subject::*;
        match self {
            Event::FeePaid { payer, .. } => vec![Account(*payer)],
            Event::Transferred { from, to, .. } => vec![Account(*from), Account(*to)],
            Event::ModelRegistered { model, owner, .. } => vec![Model(*model), Account(*owner)],
            Event::ModelUpdated { model, .. } => vec![Model(*model)],
            Event::NodeRegistered { node, .. }
            | Event::RegistrationBurned { node, .. }
            | Event::NodeUpdated { node }
            | Event::StakeBonded { node, .. }
            | Event::UnbondStarted { node, .. } => vec![Account(*node)],
            Event::Withdrawn { account, .. }
            | Event::EscrowDeposited { account, .. }
            | Event::EscrowWithdrawRequested { account, .. } => vec![Account(*account)],
            Event::CallAccepted {
                call,
                caller,
                node,
                model,
                ..
            } => vec![Call(*call), Account(*caller), Account(*node), Model(*model)],
            Event::CallSettled {
                call,
                caller,
                node,
                model,
                model_owner,
                ..
            } => {
                let mut s = vec![Call(*call), Account(*caller), Account(*node), Model(*model)];
                if model_owner != node && model_owner != caller {
                    s.push(Account(*model_owner));
                }
                s
            }
            Event::CallRefunded {
                call, caller, node, ..
            } => vec![Call(*call), Account(*caller), Account(*node)],
            Event::AuditOpened {
                call, node, model, ..
            } => {
                let mut s = vec![Call(*call), Model(*model)];
                s.extend(node.map(Account));
                s
            }
            Event::InputRevealed { audit, node } => vec![Call(*audit), Account(*node)],
            Event::AuditClosed { audit, .. } => vec![Call(*audit)],
            Event::ProofAccepted { call, node } => vec![Call(*call), Account(*node)],
            Event::Slashed { node, reporter, .. } => {
                let mut s = vec![Account(*node)];
                s.extend(reporter.map(Account));
                s
            }
            Event::AuditorRewarded { auditor, .. } => vec![Account(*auditor)],
            Event::ProgramSet { model, .. } | Event::ZkKeySet { model, .. } => vec![Model(*model)],
            Event::EnclaveRegistered { node, .. } => vec![Account(*node)],
            Event::ValidatorSlashed {
                validator,
                reporter,
                ..
            } => vec![Account(Address::of_key(validator)), Account(*reporter)],
        }
    }
}

/// Something events can be listed by.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Subject {
    /// An account (caller, node, owner…).
    Account(Address),
    /// A model.
    Model(ModelId),
    /// A call.
    Call(CallId),
}

impl Subject {
    /// The index key events are listed under.
    pub fn index_key(&self) -> Vec<u8> {
        match self {
            Subject::Account(a) => [b"a".as_slice(), &a.0].concat(),
            Subject::Model(m) => [b"m".as_slice(), &m.0].concat(),
            Subject::Call(c) => [b"c".as_slice(), &c.0].concat(),
        }
    }
}

/// An event with where it happened.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct EventRecord {
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time_ms: TimeMs,
    /// The transaction that caused it; `None` for settlement at block start.
    pub tx: Option<Hash32>,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}
