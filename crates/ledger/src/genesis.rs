//! The genesis file: chain id, start time, parameters, initial balances and the validator set.

use crate::{
    params::Params,
    types::{Address, Amount, PublicKeyBytes, TimeMs},
};
use serde::{Deserialize, Serialize};

/// An initial balance.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// Owner.
    pub address: Address,
    /// Base units.
    pub balance: Amount,
}

/// A member of the initial validator set.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// Consensus signing key.
    pub public_key: PublicKeyBytes,
    /// Peer-to-peer address other validators dial (`host:port`).
    pub p2p: String,
    /// Stake the validator bonds from genesis: part of the total supply, and what evidence of
    /// its equivocation slashes ([`crate::equivocation`]).
    #[serde(default)]
    pub stake: Amount,
}

/// Everything needed to start the chain; identical on every validator.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Name of the chain; part of every signing namespace.
    pub chain_id: String,
    /// Block time of the genesis state.
    pub genesis_time_ms: TimeMs,
    /// Protocol parameters.
    pub params: Params,
    /// Initial balances; with the validators' stakes, their sum is the total supply, forever.
    pub accounts: Vec<GenesisAccount>,
    /// Initial validators.
    pub validators: Vec<GenesisValidator>,
}

impl Genesis {
    /// The fixed total token supply: the initial balances and the validators' stakes.
    pub fn total_supply(&self) -> Amount {
        self.accounts.iter().map(|a| a.balance).sum::<Amount>()
            + self.validators.iter().map(|v| v.stake).sum::<Amount>()
    }

    /// Check the file is usable; the message names the problem.
    pub fn validate(&self) -> Result<(), String> {
        if self.chain_id.is_empty()
            || !self
                .chain_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err("chain_id must be non-empty ASCII letters, digits and '-'".into());
        }
        self.params.validate()?;
        let mut total: Amount = 0;
        for amount in self
            .accounts
            .iter()
            .map(|a| a.balance)
            .chain(self.validators.iter().map(|v| v.stake))
        {
            total = total
                .checked_add(amount)
                .ok_or("genesis balances and validator stakes overflow a 64-bit amount")?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for a in &self.accounts {
            if !seen.insert(a.address) {
                return Err(format!("account {} appears twice", a.address));
            }
        }
        if self.validators.is_empty() {
            return Err("at least one validator is required".into());
        }
        let mut keys = std::collections::BTreeSet::new();
        for v in &self.validators {
            if !keys.insert(v.public_key) {
                return Err(format!("validator {} appears twice", v.public_key));
            }
        }
        Ok(())
    }

    /// Parse and validate a genesis file's JSON text.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let genesis: Genesis =
            serde_json::from_str(text).map_err(|e| format!("genesis file is not valid: {e}"))?;
        genesis.validate()?;
        Ok(genesis)
    }
}
