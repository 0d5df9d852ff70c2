//! Coverage-guided fuzzing of the zero-knowledge decoders: arbitrary bytes given to
//! `Proof::from_bytes` and `VerifyingKey::from_bytes` never panic, and whatever decodes
//! re-encodes to the same bytes (both encodings are canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_zk::groth16::{Proof, VerifyingKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = Proof::from_bytes(data) {
        assert_eq!(proof.to_bytes(), data);
    }
    if let Ok(key) = VerifyingKey::from_bytes(data) {
        assert_eq!(key.to_bytes(), data);
    }
    // A proof-sized prefix, so the fuzzer reaches point decoding without finding the length.
    if data.len() >= 128 {
        let _ = Proof::from_bytes(&data[..128]);
    }
});
