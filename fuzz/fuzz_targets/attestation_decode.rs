//! Coverage-guided fuzzing of attestation-document handling: decoding and verifying arbitrary
//! bytes never panics and never accepts; and the same holds for a valid software-enclave
//! document with the input XOR-ed into it (which reaches the certificate and signature checks),
//! unless the input changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::{collections::BTreeMap, sync::OnceLock};
use verity_attestation::{
    Measurement, TrustPolicy, decode,
    software::{DocumentRequest, SoftwareEnclave},
    verify,
};

const NOW: u64 = 1_800_000_000_000;
const KEY: [u8; 32] = [7; 32];

fn fixture() -> &'static (TrustPolicy, Vec<u8>) {
    static FIXTURE: OnceLock<(TrustPolicy, Vec<u8>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let enclave = SoftwareEnclave::from_seed(&[3; 32]).expect("devnet enclave");
        let pcrs: BTreeMap<u8, Vec<u8>> = (0..4).map(|i| (i, vec![i + 1; 48])).collect();
        let document = enclave
            .issue(&DocumentRequest {
                timestamp_ms: NOW,
                pcrs,
                public_key: Some(KEY.to_vec()),
                user_data: Some(b"fuzz".to_vec()),
                nonce: Some(vec![0; 16]),
                ..Default::default()
            })
            .expect("document");
        let allowlist = vec![Measurement::new((0..3).map(|i| (i, [i + 1; 48])))];
        let policy = TrustPolicy::new(vec![enclave.root()], allowlist);
        assert!(verify(&document, &policy, &KEY, NOW).is_ok());
        (policy, document)
    })
}

fuzz_target!(|data: &[u8]| {
    let (policy, document) = fixture();

    let _ = decode(data);
    assert!(verify(data, policy, &KEY, NOW).is_err() || data == document.as_slice());

    // The valid document with `data` XOR-ed in from the offset its first two bytes name.
    if data.len() > 2 {
        let offset = usize::from(u16::from_le_bytes([data[0], data[1]])) % document.len();
        let mut changed = document.clone();
        for (byte, x) in changed[offset..].iter_mut().zip(&data[2..]) {
            *byte ^= x;
        }
        let _ = decode(&changed);
        let verdict = verify(&changed, policy, &KEY, NOW);
        assert_eq!(verdict.is_ok(), changed == *document, "{verdict:?}");
    }
});
