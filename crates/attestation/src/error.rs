//! Why an attestation document was refused.

use thiserror::Error;

/// Why [`verify`](crate::verify) or [`verify_document`](crate::verify_document) refused a
/// document (or a policy). Each message names the problem and what would fix it.
///
/// Variants are listed in the order the checks run (see the crate documentation); a document
/// with several problems is refused for the first one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AttestationError {
    /// The trust policy itself cannot be used.
    #[error("invalid trust policy: {0}; fix the governance parameters that build the policy")]
    Policy(String),

    /// The document is larger than [`MAX_DOCUMENT_BYTES`](crate::MAX_DOCUMENT_BYTES).
    #[error(
        "attestation document is {len} bytes, more than the {max} allowed; send the COSE_Sign1 \
         bytes the Nitro Secure Module returned, without wrapping or padding"
    )]
    TooLarge {
        /// Size of the document.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// The bytes are not one CBOR `COSE_Sign1` structure.
    #[error(
        "not a COSE_Sign1 attestation document: {0}; send the raw bytes the Nitro Secure Module \
         returned (CBOR, optionally with tag 18), not base64 or hex"
    )]
    Cose(String),

    /// The protected header names another algorithm than ES384, or none.
    #[error(
        "the document is signed with algorithm {found}, but Nitro attestation documents are \
         signed with ES384 (COSE algorithm -35); only ES384 documents are accepted"
    )]
    UnsupportedAlgorithm {
        /// What the protected header says (`none` when absent).
        found: String,
    },

    /// The protected header lists critical parameters, which this verifier does not process.
    #[error(
        "the protected header lists critical parameters ({0}); Nitro documents have none, so the \
         document was not produced by a Nitro Secure Module"
    )]
    CriticalHeader(String),

    /// A payload field is missing.
    #[error("the attestation document has no `{0}` field; it is mandatory")]
    MissingField(&'static str),

    /// A payload field has the wrong type, length or value.
    #[error("attestation document field `{field}` {problem}")]
    Field {
        /// Field name as in the document (`pcrs`, `cabundle`, …).
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },

    /// A certificate of the chain cannot be used.
    #[error("{which} in the attestation document {problem}")]
    Certificate {
        /// `certificate` (the leaf) or `cabundle[i]`.
        which: String,
        /// What is wrong with it.
        problem: String,
    },

    /// The first certificate of the CA bundle is not one of the policy's trusted roots.
    #[error(
        "the document's root certificate (SHA-256 {fingerprint}) is not a trusted root; add it \
         to the trust policy only if it is the AWS Nitro Enclaves root (or this network's \
         devnet root)"
    )]
    UntrustedRoot {
        /// SHA-256 of the offered root's DER, hex.
        fingerprint: String,
    },

    /// A certificate's validity period starts after `now`.
    #[error(
        "{which} is not valid before {not_before_ms} ms (now is {now_ms} ms); the document was \
         made with a certificate from the future, or the ledger time passed in is wrong"
    )]
    CertificateNotYetValid {
        /// Which certificate.
        which: String,
        /// Start of its validity, ms since the Unix epoch.
        not_before_ms: u64,
        /// The time the document was checked at.
        now_ms: u64,
    },

    /// A certificate's validity period ended before `now`.
    #[error(
        "{which} expired at {not_after_ms} ms (now is {now_ms} ms); Nitro certificates live \
         for hours, so request a fresh attestation document and register it at once"
    )]
    CertificateExpired {
        /// Which certificate.
        which: String,
        /// End of its validity, ms since the Unix epoch.
        not_after_ms: u64,
        /// The time the document was checked at.
        now_ms: u64,
    },

    /// The COSE signature does not verify with the leaf certificate's key.
    #[error(
        "the document's ES384 signature does not verify with its certificate's key: the \
         document was altered after signing or was not signed by that certificate"
    )]
    BadSignature,

    /// The document's timestamp lies after `now` by more than the allowed clock skew.
    #[error(
        "the document is dated {timestamp_ms} ms, after now ({now_ms} ms) plus the allowed skew; \
         check the enclave host's clock and the ledger time passed in"
    )]
    FromTheFuture {
        /// The document's timestamp.
        timestamp_ms: u64,
        /// The time the document was checked at.
        now_ms: u64,
    },

    /// The document is older than the policy's `max_age_ms`.
    #[error(
        "the document is {age_ms} ms old, older than the {max_age_ms} ms allowed; request a \
         fresh attestation document from the enclave and register it at once"
    )]
    TooOld {
        /// Its age at `now`.
        age_ms: u64,
        /// The policy's limit.
        max_age_ms: u64,
    },

    /// The enclave runs in debug mode (its image PCRs are zero).
    #[error(
        "PCR{index} is all zeros: the enclave runs in debug mode, where the host can read its \
         memory; start it without --debug-mode"
    )]
    DebugEnclave {
        /// The zero PCR.
        index: u8,
    },

    /// A PCR the policy requires is not in the document.
    #[error("the document has no PCR{0}, which the trust policy requires")]
    MissingPcr(u8),

    /// The required PCRs match no allowlisted measurement.
    #[error(
        "the enclave's measurement ({pcrs}) is not on the allowlist; build the enclave image \
         from an allowlisted release, or have governance add this measurement"
    )]
    MeasurementNotAllowed {
        /// The document's required PCRs, `index=hex` separated by spaces.
        pcrs: String,
    },

    /// The document carries no `public_key`.
    #[error(
        "the document has no public_key; the enclave must request its attestation document with \
         its ed25519 receipt key as public_key"
    )]
    MissingPublicKey,

    /// The `public_key` is not an ed25519 key in a form this verifier accepts.
    #[error(
        "the document's public_key is {len} bytes; expected an ed25519 key as 32 raw bytes or as \
         a 44-byte DER SubjectPublicKeyInfo"
    )]
    KeyFormat {
        /// Length of the field.
        len: usize,
    },

    /// The `public_key` is not the enclave key being registered.
    #[error(
        "the document attests key {found}, not the enclave key {expected} being registered; \
         register the key the enclave put in its attestation document"
    )]
    KeyMismatch {
        /// Key in the document, hex.
        found: String,
        /// Key claimed by the node, hex.
        expected: String,
    },
}
