//! Equivocation evidence on a validator: the ledger's verifier for it, built from the chain's
//! consensus namespace and genesis validators, and the report a validator queues when its
//! consensus engine observes a conflicting vote pair.

use anyhow::{Result, anyhow};
use commonware_codec::{Copying, DecodeExt};
use commonware_cryptography::ed25519;
use verity_ledger::{Equivocation, EquivocationVerifier, Genesis, PublicKeyBytes};

/// Checks evidence with [`verity_chain::verify_equivocation`] against the genesis validators
/// under the chain's consensus namespace, as consensus signs votes.
pub struct ConsensusEvidence {
    namespace: Vec<u8>,
    participants: Vec<ed25519::PublicKey>,
}

impl ConsensusEvidence {
    /// The verifier of the chain of `genesis` whose consensus namespace is `namespace`; fails if
    /// a validator key is not an ed25519 key.
    pub fn new(namespace: &[u8], genesis: &Genesis) -> Result<Self> {
        let participants = genesis
            .validators
            .iter()
            .map(|v| {
                ed25519::PublicKey::decode(Copying(&v.public_key.0[..])).map_err(|e| {
                    anyhow!("validator key {} is not an ed25519 key: {e}", v.public_key)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            namespace: namespace.to_vec(),
            participants,
        })
    }
}

impl EquivocationVerifier for ConsensusEvidence {
    fn verify(&self, evidence: &[u8]) -> Result<Equivocation, String> {
        let found =
            verity_chain::verify_equivocation(&self.namespace, &self.participants, evidence)
                .map_err(|e| e.to_string())?;
        let key: [u8; 32] = found
            .offender
            .as_ref()
            .try_into()
            .expect("ed25519 public keys are 32 bytes");
        Ok(Equivocation {
            validator: PublicKeyBytes(key),
            view: found.view,
        })
    }
}
