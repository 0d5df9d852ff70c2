//! What a verifier trusts: root certificates, allowlisted measurements, freshness limits.

use crate::{AttestationError, chain, hex, sha256};
use std::collections::BTreeMap;
use x509_cert::der::pem;

/// The PEM file of the AWS Nitro Enclaves root certificate "G1", with its provenance.
const AWS_NITRO_ROOT_G1_PEM: &str = include_str!("../roots/aws-nitro-enclaves-root-g1.pem");

/// SHA-256 over the DER of the AWS Nitro Enclaves root "G1", as AWS publishes it.
pub const AWS_NITRO_ROOT_G1_SHA256: [u8; 32] = [
    0x64, 0x1a, 0x03, 0x21, 0xa3, 0xe2, 0x44, 0xef, 0xe4, 0x56, 0x46, 0x31, 0x95, 0xd6, 0x06, 0x31,
    0x7e, 0xd7, 0xcd, 0xcc, 0x3c, 0x17, 0x56, 0xe0, 0x98, 0x93, 0xf3, 0xc6, 0x8f, 0x79, 0xbb, 0x5b,
];

/// PCRs an allowlisted measurement must fix by default: PCR0 (enclave image file), PCR1 (Linux
/// kernel and bootstrap), PCR2 (application).
pub const DEFAULT_REQUIRED_PCRS: [u8; 3] = [0, 1, 2];

/// Default oldest document accepted: 10 minutes. A node requests the document from its
/// enclave right before it registers the key.
pub const DEFAULT_MAX_AGE_MS: u64 = 10 * 60 * 1000;

/// Default tolerance for a document dated after the ledger's time: 1 minute.
pub const DEFAULT_MAX_CLOCK_SKEW_MS: u64 = 60 * 1000;

/// A trusted root certificate, kept as its DER bytes. A document is trusted only if the first
/// certificate of its CA bundle is byte-for-byte one of these.
#[derive(Clone, PartialEq, Eq)]
pub struct RootCert {
    der: Vec<u8>,
    fingerprint: [u8; 32],
}

impl std::fmt::Debug for RootCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RootCert(sha256:{})", hex(&self.fingerprint))
    }
}

impl RootCert {
    /// A root from its DER encoding. It must be an X.509 v3 certificate with an ECDSA P-384
    /// key signed with ecdsa-with-SHA384 (what Nitro and the software enclave use).
    pub fn from_der(der: &[u8]) -> Result<Self, AttestationError> {
        chain::parse(der, "root certificate".into())?;
        Ok(Self {
            der: der.to_vec(),
            fingerprint: sha256(der),
        })
    }

    /// A root from PEM text; any text before the `-----BEGIN CERTIFICATE-----` line (such as a
    /// provenance note) is ignored.
    pub fn from_pem(text: &str) -> Result<Self, AttestationError> {
        let bad = |problem: String| AttestationError::Certificate {
            which: "root certificate".into(),
            problem,
        };
        let start = text
            .find("-----BEGIN CERTIFICATE-----")
            .ok_or_else(|| bad("has no -----BEGIN CERTIFICATE----- line".into()))?;
        let (label, der) = pem::decode_vec(&text.as_bytes()[start..])
            .map_err(|e| bad(format!("is not valid PEM: {e}")))?;
        if label != "CERTIFICATE" {
            return Err(bad(format!("is PEM labelled {label}, not CERTIFICATE")));
        }
        Self::from_der(&der)
    }

    /// The AWS Nitro Enclaves root certificate "G1" (CN=aws.nitro-enclaves), which anchors every
    /// attestation document made in the commercial AWS partition. Embedded from
    /// `roots/aws-nitro-enclaves-root-g1.pem`; its SHA-256 is [`AWS_NITRO_ROOT_G1_SHA256`].
    pub fn aws_nitro_g1() -> Self {
        Self::from_pem(AWS_NITRO_ROOT_G1_PEM)
            .expect("the embedded AWS Nitro root is a valid certificate (checked by the tests)")
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-256 over the DER encoding.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }
}

/// One allowlisted enclave measurement: PCR index → expected SHA-384 value.
///
/// A document matches when every PCR named here has exactly this value in the document. The
/// PCRs the policy requires ([`TrustPolicy::required_pcrs`]) must all be named, or the entry
/// matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Measurement {
    /// Index (0..32) → 48-byte PCR value.
    pub pcrs: BTreeMap<u8, [u8; 48]>,
}

impl Measurement {
    /// A measurement from `(index, value)` pairs.
    pub fn new(pcrs: impl IntoIterator<Item = (u8, [u8; 48])>) -> Self {
        Self {
            pcrs: pcrs.into_iter().collect(),
        }
    }

    /// Whether `pcrs` (a document's) matches, given the indices the policy requires.
    pub(crate) fn matches(&self, required: &[u8], pcrs: &BTreeMap<u8, Vec<u8>>) -> bool {
        required.iter().all(|i| self.pcrs.contains_key(i))
            && self
                .pcrs
                .iter()
                .all(|(i, v)| pcrs.get(i).is_some_and(|d| d.as_slice() == v.as_slice()))
    }
}

/// What a verifier trusts. On the ledger it is built from governance parameters; nothing in
/// it comes from the document being checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    /// Root certificates a chain may end in. Production: [`RootCert::aws_nitro_g1`] only; a
    /// devnet genesis: its software enclave's root only.
    pub roots: Vec<RootCert>,
    /// Allowlisted enclave measurements; a document must match one.
    pub allowlist: Vec<Measurement>,
    /// PCR indices every allowlisted measurement must fix and every document must carry.
    pub required_pcrs: Vec<u8>,
    /// Oldest document accepted, in ms before `now`.
    pub max_age_ms: u64,
    /// How far after `now` a document's timestamp may lie, in ms.
    pub max_clock_skew_ms: u64,
    /// Accept enclaves in debug mode (PCR0, PCR1 or PCR2 all zeros). Never in production: a
    /// debug enclave's memory is readable by its host.
    pub allow_debug: bool,
}

impl TrustPolicy {
    /// A policy trusting `roots` with the default limits: PCR0–2 required, 10 minutes maximum
    /// age, 1 minute clock skew, debug enclaves refused.
    pub fn new(roots: Vec<RootCert>, allowlist: Vec<Measurement>) -> Self {
        Self {
            roots,
            allowlist,
            required_pcrs: DEFAULT_REQUIRED_PCRS.to_vec(),
            max_age_ms: DEFAULT_MAX_AGE_MS,
            max_clock_skew_ms: DEFAULT_MAX_CLOCK_SKEW_MS,
            allow_debug: false,
        }
    }

    /// The production policy: the AWS Nitro root "G1" and the defaults of [`TrustPolicy::new`].
    pub fn aws_nitro(allowlist: Vec<Measurement>) -> Self {
        Self::new(vec![RootCert::aws_nitro_g1()], allowlist)
    }

    /// Refuse a policy that could not accept anything meaningful.
    pub(crate) fn check(&self) -> Result<(), AttestationError> {
        let bad = |s: &str| Err(AttestationError::Policy(s.into()));
        if self.roots.is_empty() {
            return bad("no trusted root certificate");
        }
        if self.required_pcrs.is_empty() {
            return bad("no required PCR; at least PCR0 must be fixed by the allowlist");
        }
        if self.required_pcrs.iter().any(|&i| i >= 32) {
            return bad("a required PCR index is not in 0..32");
        }
        Ok(())
    }
}
