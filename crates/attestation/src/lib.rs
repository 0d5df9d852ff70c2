//! TEE attestation for Verity's `tee` verification mode.
//!
//! A provider node that serves calls in `tee` mode runs its model inside an AWS Nitro Enclave.
//! The enclave generates an ed25519 key pair (the *enclave key*), asks the Nitro Secure Module
//! (NSM) for an *attestation document* whose `public_key` is that key, and the node registers
//! the key on the ledger with the document. The ledger checks the document with [`verify`]
//! against a [`TrustPolicy`] built from governance parameters (trusted roots, allowlisted
//! measurements, freshness limits) at the block time; from then on, receipts signed by the
//! enclave key are accepted as `tee` receipts. [`verify`] is deterministic — no clock, no I/O,
//! no randomness; the time is an argument — so every validator reaches the same verdict.
//!
//! # The document
//!
//! An untagged (or CBOR tag 18) `COSE_Sign1` array (RFC 9052) `[protected, unprotected,
//! payload, signature]` where `protected` is the serialized map `{1: -35}` (alg ES384),
//! `signature` is the 96-byte ECDSA P-384 signature `r ‖ s` over the `Sig_structure`
//! `["Signature1", protected, h'', payload]` hashed with SHA-384, and `payload` is a CBOR map:
//!
//! | field | type | constraint |
//! |---|---|---|
//! | `module_id` | text | non-empty |
//! | `digest` | text | `"SHA384"` |
//! | `timestamp` | uint | > 0, ms since the Unix epoch |
//! | `pcrs` | map uint → bytes | 1..=32 entries, index 0..32, value 32, 48 or 64 bytes |
//! | `certificate` | bytes | DER X.509, 1..=1024 bytes: the signing (leaf) certificate |
//! | `cabundle` | array of bytes | 1..=8 DER certificates of 1..=1024 bytes, root first |
//! | `public_key` | bytes or null | optional, 1..=1024 bytes |
//! | `user_data` | bytes or null | optional, 0..=512 bytes |
//! | `nonce` | bytes or null | optional, 0..=512 bytes |
//!
//! These are AWS's constraints (`aws-nitro-enclaves-nsm-api`, `docs/attestation_process.md`),
//! except that null is accepted for the optional fields (the NSM emits it) and the CA bundle is
//! capped at 8 certificates (AWS sends 4). Any other field, a duplicate field or a non-text key
//! is refused.
//!
//! # The enclave key
//!
//! Verity keys are ed25519 public keys of 32 bytes (`verity_ledger::PublicKeyBytes`). The
//! enclave puts its receipt-signing key in `public_key` either as those 32 raw bytes or as the
//! 44-byte DER `SubjectPublicKeyInfo` of RFC 8410 (`302a300506032b6570032100` followed by the
//! 32 bytes); both name the same key. Any other length or prefix is refused
//! ([`AttestationError::KeyFormat`]).
//!
//! # What is checked, in order
//!
//! 0. The policy: at least one root, at least one required PCR, indices below 32.
//! 1. Size: at most [`MAX_DOCUMENT_BYTES`], before anything is decoded.
//! 2. Envelope: one CBOR item, no trailing bytes, optional tag 18, a 4-element `COSE_Sign1`;
//!    the protected header's algorithm is ES384 and it lists no critical parameters; the payload
//!    is inline and 1..=16384 bytes; the signature is 96 bytes.
//! 3. Payload: every field as in the table above, errors naming the field.
//! 4. Trust anchor: `cabundle[0]` is byte-for-byte one of the policy's roots
//!    ([`TrustPolicy::roots`]); anything else is [`AttestationError::UntrustedRoot`].
//! 5. Chain `certificate ← cabundle[n-1] ← … ← cabundle[0]`: every certificate is DER, X.509 v3,
//!    has an ECDSA P-384 key, is signed with ecdsa-with-SHA384 and has no critical extension
//!    other than basic constraints and key usage; every one, the root included, is valid at
//!    `now_ms`; every CA certificate has critical basic constraints with cA set, a path length
//!    constraint (if any) that the chain below it respects, and keyCertSign; the leaf is not a
//!    CA and has digitalSignature; each certificate names its parent's subject as issuer, and
//!    its signature verifies with its parent's key.
//! 6. Signature: the COSE signature verifies with the leaf certificate's key.
//! 7. Freshness: `timestamp` is at most [`TrustPolicy::max_clock_skew_ms`] after `now_ms` and at
//!    most [`TrustPolicy::max_age_ms`] before it.
//! 8. Measurement: unless [`TrustPolicy::allow_debug`], none of PCR0–2 is all zeros (a debug
//!    enclave); every PCR in [`TrustPolicy::required_pcrs`] (default 0, 1, 2: image, kernel,
//!    application) is present; and the PCRs match one [`Measurement`] of the allowlist.
//! 9. Key binding ([`verify`] only): `public_key` holds an ed25519 key equal to the key being
//!    registered.
//!
//! [`verify_document`] runs steps 0–8, [`verify`] all of them; [`decode`] runs 1–3 and trusts
//! nothing. The first failing check decides the [`AttestationError`].
//!
//! # What is trusted
//!
//! * The roots in the policy. Production trusts only [`RootCert::aws_nitro_g1`], the AWS Nitro
//!   Enclaves root "G1" embedded from `roots/aws-nitro-enclaves-root-g1.pem` (SHA-256
//!   [`AWS_NITRO_ROOT_G1_SHA256`]). A devnet genesis trusts only the root of its
//!   [`software::SoftwareEnclave`], which proves nothing about the code that runs.
//! * AWS: its PKI signs the documents, its hypervisor measures the enclave and holds the NSM
//!   keys. Trusting a Nitro attestation is trusting AWS and the physical security of its
//!   hosts.
//! * The allowlist: a measurement is only as good as the reproducible build that governance
//!   checked before listing it.
//!
//! # Known limits
//!
//! * No revocation: certificates carry CRL distribution points, but a deterministic ledger
//!   cannot fetch them. Nitro leaf certificates live for hours, intermediates for days to
//!   weeks, which bounds the exposure.
//! * Replay: a document is a bearer statement. Within `max_age_ms` it can be resubmitted, but it
//!   only ever attests the key inside it, whose private half never leaves the enclave.
//!   `user_data` and `nonce` are returned so that a caller can bind the document to more (for
//!   instance the registering account).
//! * Encoding is not unique: CBOR admits several encodings of one value and an ECDSA signature
//!   `(r, s)` also verifies as `(r, n − s)`, so the hash of a document does not identify it.
//!   Identify a registration by its enclave key.
//! * Cost: a real document needs five P-384 signature checks, about 8 ms in a release build
//!   on a two-core machine; the ledger should price the registering transaction accordingly.
//! * TEEs are not a hard guarantee. In October 2025 the TEE.fail attack (Georgia Tech, Purdue
//!   and others) put a DDR5 memory-bus interposer built for under $1,000 between CPU and
//!   memory; because the memory encryption of Intel SGX and TDX and of AMD SEV-SNP (ciphertext
//!   hiding included) is deterministic, it recovered ECDSA signing keys from inside the TEE,
//!   among them the attestation keys of SGX and TDX, and forged attestations with them. With
//!   such keys anyone can make documents for any measurement. Nitro's trust model differs (the
//!   Nitro hypervisor and AWS's own PKI rather than a CPU vendor key held in the TEE), but it
//!   too rests on hardware and an operator that a physically present attacker, or the
//!   operator itself, can subvert. This is why Verity still audits `tee` calls at a floor
//!   rate and keeps the node's stake at risk: an attestation lowers the audit rate, it does
//!   not replace audits.
//!
//! # Modules
//!
//! * [`software`]: the devnet software enclave, issuing documents of the same shape.

#![deny(missing_docs)]

mod chain;
mod document;
mod error;
mod policy;
pub mod software;
mod verify;

pub use document::{Document, decode};
pub use error::AttestationError;
pub use policy::{
    AWS_NITRO_ROOT_G1_SHA256, DEFAULT_MAX_AGE_MS, DEFAULT_MAX_CLOCK_SKEW_MS, DEFAULT_REQUIRED_PCRS,
    Measurement, RootCert, TrustPolicy,
};
pub use verify::{Attested, Verified, enclave_key, verify, verify_document};

/// Largest attestation document accepted, checked before any decoding. Real Nitro documents
/// are about 4.5 KiB.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024;

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
