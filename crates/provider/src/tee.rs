//! Tee mode on the node: an enclave key, attested on the ledger, that signs tee-mode receipts.
//!
//! In production the key lives inside an AWS Nitro enclave and the attestation document comes
//! from its Nitro Secure Module. The devnet has no enclave hardware, so a node started with a
//! software enclave seed derives its enclave key from the seed and its address, has the
//! software enclave ([`verity_attestation::software`]) issue a document of the same format
//! (PCRs of the devnet "image", the enclave key, `user_data` = the node's address), and
//! registers it with `RegisterEnclave`. Only a devnet genesis trusts the software enclave's root.

use std::collections::BTreeMap;
use verity_attestation::software::{DocumentRequest, SoftwareEnclave};
use verity_ledger::{Address, HexBytes, Keypair, crypto::sha256, params};

/// Seed of the devnet's software enclave CA (public: devnet only).
pub const DEVNET_ENCLAVE_SEED: [u8; 32] = *b"verity devnet software enclave!!";

/// PCR0–2 of the devnet enclave image.
pub fn devnet_measurement() -> BTreeMap<u8, Vec<u8>> {
    (0u8..3)
        .map(|i| {
            (
                i,
                sha256(&[b"verity/devnet-enclave-image", &[i]]).0.repeat(2)[..48].to_vec(),
            )
        })
        .collect()
}

/// The trust policy a devnet genesis carries: the software enclave's root and the devnet image.
pub fn devnet_tee_params() -> params::TeeParams {
    let enclave =
        SoftwareEnclave::from_seed(&DEVNET_ENCLAVE_SEED).expect("the devnet enclave builds");
    params::TeeParams {
        roots: vec![HexBytes(enclave.root().der().to_vec())],
        allowlist: vec![
            devnet_measurement()
                .into_iter()
                .map(|(index, value)| params::Pcr {
                    index,
                    value: HexBytes(value),
                })
                .collect(),
        ],
        max_age_ms: verity_attestation::DEFAULT_MAX_AGE_MS,
    }
}

/// The enclave key of node `address` in the software enclave seeded `seed`.
pub fn enclave_key(seed: &[u8; 32], address: &Address) -> Keypair {
    Keypair::from_secret(sha256(&[b"verity/enclave-key", seed, &address.0]).0)
}

/// An attestation document for `key`, bound to `address`, made at `now_ms`.
pub fn attest(
    seed: &[u8; 32],
    key: &Keypair,
    address: &Address,
    now_ms: u64,
) -> Result<Vec<u8>, String> {
    let enclave = SoftwareEnclave::from_seed(seed).map_err(|e| e.to_string())?;
    enclave
        .issue(&DocumentRequest {
            module_id: String::new(),
            timestamp_ms: now_ms,
            pcrs: devnet_measurement(),
            public_key: Some(key.public().0.to_vec()),
            user_data: Some(address.0.to_vec()),
            nonce: None,
        })
        .map_err(|e| e.to_string())
}
