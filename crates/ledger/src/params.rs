//! Protocol parameters. They are fixed in the genesis file, stored in the state at genesis, and
//! read from the state by every block, so what the API reports is what execution uses.

use crate::types::{Amount, Bps, TimeMs};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Every tunable number of the protocol.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Fee every transaction pays, in base units.
    pub base_fee: Amount,
    /// Additional fee per call in a receipt batch.
    pub fee_per_call: Amount,
    /// Share of each call's price paid to the protocol treasury.
    pub protocol_fee_bps: Bps,
    /// Share of each call's price paid to the verifier/auditor pool.
    pub verifier_fee_bps: Bps,
    /// Highest royalty a model may charge.
    pub max_royalty_bps: Bps,
    /// How long an accepted call stays pending before it settles.
    pub challenge_window_ms: TimeMs,
    /// How long unbonded stake stays locked (at least the challenge window, so a node cannot
    /// leave before its pending calls can be challenged).
    pub unbonding_period_ms: TimeMs,
    /// How long an escrow withdrawal waits (at least the longest ticket lifetime, so every
    /// ticket signed before the request can still be paid).
    pub escrow_unlock_ms: TimeMs,
    /// Longest allowed time between a receipt's inclusion and its ticket's expiry.
    pub max_ticket_lifetime_ms: TimeMs,
    /// Stake a node must keep bonded to have calls accepted.
    pub min_stake: Amount,
    /// Most calls in one receipt batch.
    pub max_calls_per_batch: u32,
    /// Largest encoded transaction.
    pub max_tx_bytes: u32,
    /// Most models one node may serve.
    pub max_models_per_node: u32,
    /// Longest endpoint URL, model name or GPU name.
    pub max_text_len: u32,
    /// Most dimensions in a model input shape.
    pub max_input_rank: u32,
}

impl Default for Params {
    /// The defaults of a new network: a token of 10^6 base units, fees far below a call's price.
    fn default() -> Self {
        Self {
            base_fee: 1_000,
            fee_per_call: 10,
            protocol_fee_bps: 500,
            verifier_fee_bps: 200,
            max_royalty_bps: 3_000,
            challenge_window_ms: 10_000,
            unbonding_period_ms: 60_000,
            escrow_unlock_ms: 120_000,
            max_ticket_lifetime_ms: 120_000,
            min_stake: 1_000_000_000,
            max_calls_per_batch: 4_096,
            max_tx_bytes: 2 * 1024 * 1024,
            max_models_per_node: 64,
            max_text_len: 256,
            max_input_rank: 6,
        }
    }
}

impl Params {
    /// Check the parameters are coherent; the message says which rule is broken.
    pub fn validate(&self) -> Result<(), String> {
        let shares = u32::from(self.protocol_fee_bps)
            + u32::from(self.verifier_fee_bps)
            + u32::from(self.max_royalty_bps);
        if shares > 10_000 {
            return Err(format!(
                "protocol_fee_bps + verifier_fee_bps + max_royalty_bps = {shares} exceeds 10000"
            ));
        }
        if self.unbonding_period_ms < self.challenge_window_ms {
            return Err("unbonding_period_ms must be at least challenge_window_ms".into());
        }
        if self.escrow_unlock_ms < self.max_ticket_lifetime_ms {
            return Err("escrow_unlock_ms must be at least max_ticket_lifetime_ms".into());
        }
        if self.max_calls_per_batch == 0 || self.max_tx_bytes < 1024 {
            return Err("max_calls_per_batch must be > 0 and max_tx_bytes >= 1024".into());
        }
        Ok(())
    }

    /// The fee a payload with `calls` receipts must pay at least.
    pub fn required_fee(&self, calls: usize) -> Amount {
        self.base_fee
            .saturating_add(self.fee_per_call.saturating_mul(calls as u64))
    }
}
