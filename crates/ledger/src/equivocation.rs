//! Slashing validators that equivocate in consensus.
//!
//! # Evidence
//! A validator equivocates when it signs two votes of one consensus view that no honest
//! validator signs together (two notarize or two finalize votes for different blocks, or a
//! nullify and a finalize vote). The consensus engine reports such pairs; any account may put
//! one on chain with [`Payload::ReportEquivocation`](crate::Payload::ReportEquivocation).
//!
//! The ledger does not decode consensus messages: the evidence is opaque bytes, checked by the
//! [`EquivocationVerifier`] the [`Ledger`](crate::Ledger) was built with. Every validator of a
//! chain must use the same verifier, and it must be a pure function of the evidence (no clock,
//! no randomness it does not derive from the evidence), or validators fork.
//!
//! # Rules
//! - The evidence must verify and name a validator of the set in state; a ledger without a
//!   verifier refuses every report.
//! - Each `(validator, view)` is slashed once ([`equivocation_key`]); a second report of it
//!   fails, paying its fee.
//! - The validator loses `validator_slash_bps` of its current stake and is marked `slashed`.
//!   It stays in the consensus set, which is fixed at genesis.
//! - The reporter receives `equivocation_reporter_bps` of the slashed amount plus the base fee
//!   it paid for the report, at most the slashed amount; the rest is burned
//!   ([`ChainInfo::burned`]). The total supply is unchanged: stake moves to the reporter's
//!   balance and to the burned count.

use crate::{
    StateRead,
    error::TxError,
    events::{Event, EventRecord},
    execute::Ctx,
    handlers::{burn_tokens, credit},
    state::*,
    types::*,
};

/// Largest evidence a transaction may carry (two ed25519-signed votes take about 250 bytes).
pub const MAX_EVIDENCE_BYTES: usize = 4_096;

/// A verified equivocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// The consensus key of the validator that signed both votes.
    pub validator: PublicKeyBytes,
    /// The consensus view of both votes.
    pub view: u64,
}

/// Checks equivocation evidence. Must be deterministic: the same bytes give the same answer on
/// every validator of the chain.
pub trait EquivocationVerifier: Send + Sync {
    /// The equivocation `evidence` proves, or why it proves none.
    fn verify(&self, evidence: &[u8]) -> Result<Equivocation, String>;
}

/// Slash the validator that `evidence` shows equivocating and reward `reporter`.
pub(crate) fn slash<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    reporter: Address,
    evidence: &[u8],
    events: &mut Vec<EventRecord>,
) -> Result<(), TxError> {
    let verifier = ctx.equivocation.ok_or(TxError::EvidenceUnverifiable)?;
    let Equivocation { validator, view } = verifier
        .verify(evidence)
        .map_err(TxError::InvalidEvidence)?;
    let mut validators: Vec<Validator> = ov.get(VALIDATORS_KEY).expect("state has genesis");
    let offender = validators
        .iter_mut()
        .find(|v| v.public_key == validator)
        .ok_or(TxError::UnknownValidator(validator))?;
    let key = equivocation_key(&validator, view);
    if ov.contains(&key) {
        return Err(TxError::DuplicateEvidence { validator, view });
    }
    let params = ctx.params;
    let amount = share(offender.stake, params.validator_slash_bps);
    let to_reporter = share(amount, params.equivocation_reporter_bps)
        .saturating_add(params.base_fee)
        .min(amount);
    let burned = amount - to_reporter;
    offender.stake -= amount;
    offender.slashed = true;
    ov.put(VALIDATORS_KEY, &validators);
    ov.put(&key, &ctx.height);
    if to_reporter > 0 {
        credit(ov, &reporter, to_reporter)?;
    }
    if burned > 0 {
        burn_tokens(ov, burned)?;
    }
    events.push(ctx.record(Event::ValidatorSlashed {
        validator,
        view,
        amount,
        reporter,
        to_reporter,
        burned,
    }));
    Ok(())
}

/// `bps` basis points of `amount`, rounded down.
fn share(amount: Amount, bps: Bps) -> Amount {
    (u128::from(amount) * u128::from(bps) / u128::from(BPS_DENOMINATOR)) as Amount
}
