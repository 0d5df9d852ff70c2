//! The verification procedure (see the crate documentation for the specification).

use crate::{
    AttestationError, TrustPolicy, chain,
    document::{Document, decode_signed},
    hex,
};
use p384::ecdsa::{Signature, signature::Verifier};
use std::collections::BTreeMap;

/// DER prefix of an ed25519 `SubjectPublicKeyInfo` (RFC 8410): SEQUENCE { SEQUENCE { OID
/// 1.3.101.112 }, BIT STRING (0 unused bits) }, followed by the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A document that passed every check of [`verify_document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The document's contents.
    pub document: Document,
    /// SHA-256 of the trusted root the chain ends in.
    pub root_fingerprint: [u8; 32],
    /// Index in [`TrustPolicy::allowlist`] of the first measurement the document matches.
    pub measurement: usize,
}

/// An enclave key whose attestation document passed every check of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attested {
    /// The ed25519 key the enclave signs receipts with (the document's `public_key`).
    pub enclave_key: [u8; 32],
    /// Issuing Nitro Secure Module.
    pub module_id: String,
    /// When the document was made, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Every PCR in the document, index → value.
    pub pcrs: BTreeMap<u8, Vec<u8>>,
    /// The document's `user_data`, signed with it.
    pub user_data: Option<Vec<u8>>,
    /// The document's `nonce`, signed with it.
    pub nonce: Option<Vec<u8>>,
    /// SHA-256 of the trusted root the chain ends in.
    pub root_fingerprint: [u8; 32],
    /// Index in [`TrustPolicy::allowlist`] of the first measurement the document matches.
    pub measurement: usize,
}

/// Verify an attestation document against `policy` at time `now_ms` (ms since the Unix epoch;
/// on the ledger, the block time), without looking at its `public_key`: steps 0–8 of the crate
/// documentation, in that order.
///
/// Deterministic: the result depends only on the arguments.
pub fn verify_document(
    document: &[u8],
    policy: &TrustPolicy,
    now_ms: u64,
) -> Result<Verified, AttestationError> {
    policy.check()?;
    let signed = decode_signed(document)?;
    let doc = signed.document;

    let (leaf_key, root_fingerprint) =
        chain::verify_chain(&doc.certificate, &doc.cabundle, &policy.roots, now_ms)?;

    let signature =
        Signature::from_slice(&signed.signature).map_err(|_| AttestationError::BadSignature)?;
    leaf_key
        .verify(&signed.to_be_signed, &signature)
        .map_err(|_| AttestationError::BadSignature)?;

    if doc.timestamp_ms > now_ms.saturating_add(policy.max_clock_skew_ms) {
        return Err(AttestationError::FromTheFuture {
            timestamp_ms: doc.timestamp_ms,
            now_ms,
        });
    }
    let age_ms = now_ms.saturating_sub(doc.timestamp_ms);
    if age_ms > policy.max_age_ms {
        return Err(AttestationError::TooOld {
            age_ms,
            max_age_ms: policy.max_age_ms,
        });
    }

    if !policy.allow_debug {
        for index in 0..3u8 {
            if doc
                .pcrs
                .get(&index)
                .is_some_and(|v| v.iter().all(|&b| b == 0))
            {
                return Err(AttestationError::DebugEnclave { index });
            }
        }
    }
    for &index in &policy.required_pcrs {
        if !doc.pcrs.contains_key(&index) {
            return Err(AttestationError::MissingPcr(index));
        }
    }
    let Some(measurement) = policy
        .allowlist
        .iter()
        .position(|m| m.matches(&policy.required_pcrs, &doc.pcrs))
    else {
        let pcrs = policy
            .required_pcrs
            .iter()
            .filter_map(|i| doc.pcrs.get(i).map(|v| format!("PCR{i}={}", hex(v))))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(AttestationError::MeasurementNotAllowed { pcrs });
    };

    Ok(Verified {
        document: doc,
        root_fingerprint,
        measurement,
    })
}

/// The ed25519 key in a document's `public_key`: 32 raw bytes, or the same key as a 44-byte DER
/// `SubjectPublicKeyInfo`.
pub fn enclave_key(public_key: Option<&[u8]>) -> Result<[u8; 32], AttestationError> {
    let key = public_key.ok_or(AttestationError::MissingPublicKey)?;
    let raw = match key.len() {
        32 => key,
        44 if key[..12] == ED25519_SPKI_PREFIX => &key[12..],
        len => return Err(AttestationError::KeyFormat { len }),
    };
    let mut out = [0u8; 32];
    out.copy_from_slice(raw);
    Ok(out)
}

/// Verify that `document` attests `expected_key` (the ed25519 enclave key a node registers)
/// under `policy` at time `now_ms`: every check of [`verify_document`], then step 9, the key
/// binding.
///
/// Deterministic: the result depends only on the arguments.
pub fn verify(
    document: &[u8],
    policy: &TrustPolicy,
    expected_key: &[u8; 32],
    now_ms: u64,
) -> Result<Attested, AttestationError> {
    let verified = verify_document(document, policy, now_ms)?;
    let key = enclave_key(verified.document.public_key.as_deref())?;
    if key != *expected_key {
        return Err(AttestationError::KeyMismatch {
            found: hex(&key),
            expected: hex(expected_key),
        });
    }
    let Verified {
        document,
        root_fingerprint,
        measurement,
    } = verified;
    Ok(Attested {
        enclave_key: key,
        module_id: document.module_id,
        timestamp_ms: document.timestamp_ms,
        pcrs: document.pcrs,
        user_data: document.user_data,
        nonce: document.nonce,
        root_fingerprint,
        measurement,
    })
}
