//! Evidence of equivocation comes from any sender's transaction: checking arbitrary bytes must
//! never panic, and whatever is accepted names a member of the validator set.
#![no_main]

use commonware_cryptography::{Signer, ed25519::PrivateKey, ed25519::PublicKey};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static VALIDATORS: LazyLock<Vec<PublicKey>> =
    LazyLock::new(|| (0..4).map(|i| PrivateKey::from_seed(i).public_key()).collect());

fuzz_target!(|data: &[u8]| {
    if let Ok(evidence) = verity_chain::verify_equivocation(b"fuzz", &VALIDATORS, data) {
        assert!(VALIDATORS.contains(&evidence.offender));
    }
});
